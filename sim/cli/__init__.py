"""The command line: ``journeysim`` (also ``python -m sim``).

- ``journeysim [hydra overrides]``: run one market (``sim.cli.run``); ``-m`` for a sweep;
  ``--dry-run`` prints the resolved config and estimated memory and time instead.
- ``journeysim scenarios``: the scenario library.
- ``journeysim cache info|clear``: the cached status-quo snapshots (``--no-cache`` skips them).
- ``journeysim compare``: the app's comparison (scenarios and a what-if against a baseline,
  seed by seed) in one command, then its report.
- ``journeysim report SWEEP_DIR``: means, intervals and paired differences of a sweep.
- ``journeysim facts [overrides]``: the market against stylised facts of real markets.
- ``journeysim groundtruth [overrides] --weeks W --flighting PLAN``: media-mix data with the
  true effect of every channel (``--check MODEL.csv``: a model's estimates against it).

Each subcommand is a module with ``command(args) -> exit code``, registered in
``SUBCOMMANDS`` by its import path (imported only when used). Bad values stop before any
work with one line naming the key, the value and the allowed range; ``--debug`` shows
the full traceback instead.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

from sim.cli.common import one_line_warnings, set_debug

#: name -> "module:function" of each subcommand.
SUBCOMMANDS = {
    "scenarios": "sim.cli.scenarios:command",
    "cache": "sim.cli.cache:command",
    "report": "sim.cli.report:command",
    "compare": "sim.cli.compare:command",
    "facts": "sim.analysis.facts:command",
    "calibrate": "sim.analysis.calibrate:command",
    "sensitivity": "sim.analysis.sensitivity:command",
    "optimise": "sim.analysis.optimise:command",
    "journeys": "sim.analysis.journeys:command",
    "attribute": "sim.cli.attribute:command",
    "groundtruth": "sim.analysis.groundtruth:command",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m sim`` and ``journeysim``.

    Run as a program (``argv`` None), a closed pipe ends it quietly, as it ends ``ls``:
    ``journeysim --help | head -1`` prints one line, not a BrokenPipeError traceback (every
    result file is written atomically, so nothing half-written remains).
    """
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv[1:] if argv is None else argv)
    set_debug("--debug" in argv or os.environ.get("JOURNEYSIM_DEBUG") == "1")
    argv = [a for a in argv if a != "--debug"]
    one_line_warnings()
    if argv and argv[0] in SUBCOMMANDS:
        module, _, function = SUBCOMMANDS[argv[0]].partition(":")
        return getattr(importlib.import_module(module), function)(argv[1:])
    from sim.cli.run import command

    return command(argv)
