"""Run the command line in a fresh process, as a user would (shared by the CLI tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEBUG_VARS = ("HYDRA_FULL_ERROR", "JOURNEYSIM_DEBUG")


def cli(
    cwd: Path, *args: str, timeout: float = 240, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``python -m sim ARGS`` in ``cwd``, without the debug switches of this environment."""
    base = {k: v for k, v in os.environ.items() if k not in DEBUG_VARS}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
    )
