"""Run the command line in a fresh process, as a user would (shared by the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEBUG_VARS = ("HYDRA_FULL_ERROR", "JOURNEYSIM_DEBUG")
#: Subcommands: everything else is a run, given a short burn-in unless the test sets one.
SUBCOMMANDS = ("report", "scenarios", "facts", "calibrate", "sensitivity", "optimise",
               "journeys", "attribute", "cache", "compare")  # fmt: skip
#: The CLI tests check files, errors and sweeps, not the calibrated steady state.
TEST_BURN_IN = "sim.burn_in=20"


def cli(
    cwd: Path, *args: str, timeout: float = 240, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``python -m sim ARGS`` in ``cwd``, without the debug switches of this environment.

    A run (not a subcommand or an informational option) gets a short burn-in unless it sets
    ``sim.burn_in`` itself or uses an experiment preset (which sets its own).
    """
    base = {k: v for k, v in os.environ.items() if k not in DEBUG_VARS}
    is_run = (
        args
        and args[0] not in SUBCOMMANDS
        and not any(a.startswith(("--help", "-h", "--cfg", "--info", "--hydra-help")) for a in args)
    )
    own = any(a.lstrip("+~").startswith(("sim.burn_in", "experiment=")) for a in args)
    if is_run and not own:
        args = (*args, TEST_BURN_IN)
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
    )


def command_runs(command: str) -> list[tuple[str, ...]]:
    """The runs (each one's overrides, sorted) a ``journeysim compare`` command line makes."""
    import shlex

    from sim.cli.compare import planned_jobs

    args = shlex.split(command)
    assert args[:2] == ["journeysim", "compare"], command
    return sorted(tuple(sorted(job.overrides)) for job in planned_jobs(args[2:]))
