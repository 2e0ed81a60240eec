"""Hydra callbacks: the sweep summary and a progress bar for multiruns.

Registered in ``conf/config.yaml`` under ``hydra.callbacks``, so every multirun ends
with ``summary.parquet`` in its sweep folder: no separate step a user can forget.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from sim.sweeps.io import DONE


def merge_sweeps(task_overrides: list[str], preset_params=None) -> list[str]:
    """The command line's overrides plus the preset's ``hydra.sweeper.params``.

    A key given on the command line wins, as in Hydra's basic sweeper.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = list(task_overrides)
    given = {o.get_key_element() for o in OverridesParser.create().parse_overrides(overrides)}
    return overrides + [f"{k}={v}" for k, v in (preset_params or {}).items() if k not in given]


def count_runs(task_overrides: list[str], preset_params=None) -> int | None:
    """Number of runs a multirun expands to (None if unknown)."""
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        overrides = merge_sweeps(task_overrides, preset_params)
        parsed = OverridesParser.create().parse_overrides(overrides)
        sizes = [len(list(o.sweep_iterator())) if o.is_sweep_override() else 1 for o in parsed]
        return int(max(1, math.prod(sizes)))
    except Exception:
        return None


class _SweepProgress:
    """Runs done (DONE files in the sweep folder) against the total, on stderr."""

    def __init__(self, sweep_dir: Path, total: int | None):
        self.sweep_dir, self.total = sweep_dir, total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        if sys.stderr.isatty():
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        from sim.sweeps.progress import step_progress

        with step_progress(self.total or 0, "runs") as advance:
            while not self._stop.wait(0.5):
                done = sum(1 for _ in self.sweep_dir.glob(f"*/{DONE}"))
                advance(done)


#: Progress bars and start times of running multiruns, by sweep folder. Kept out of the
#: callback object, which launchers (joblib, Ray) pickle and send to their workers.
_PROGRESS: dict[str, _SweepProgress] = {}
_STARTED: dict[str, float] = {}


class SummaryCallback(Callback):
    """Shows sweep progress and writes ``summary.parquet`` when a multirun ends."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Start the progress bar (stderr, terminals only)."""
        sweep_dir = Path(config.hydra.sweep.dir)
        total = count_runs(list(config.hydra.overrides.task), config.hydra.sweeper.get("params"))
        progress = _SweepProgress(sweep_dir, total)
        _PROGRESS[str(sweep_dir)] = progress
        _STARTED[str(sweep_dir)] = time.time() - 1.0  # file times have coarse resolution
        progress.start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the sweep's summary (one row per run) and say where it is."""
        from sim.sweeps.summary import SUMMARY_FILE, write_summary

        sweep_dir = Path(config.hydra.sweep.dir)
        progress = _PROGRESS.pop(str(sweep_dir), None)
        if progress is not None:
            progress.stop()
        if not sweep_dir.is_dir():
            return
        # Only the runs of this multirun: Hydra rewrites each job's .hydra/ files when it
        # launches it, so folders left from an earlier sweep in the same place are out.
        frame = write_summary(sweep_dir, since=_STARTED.pop(str(sweep_dir), None))
        if frame.height:
            done = frame.filter(frame["status"] == "complete").height
            print(
                f"journeysim: {done}/{frame.height} runs complete; summary in "
                f"{sweep_dir / SUMMARY_FILE}; report with: journeysim report {sweep_dir}",
                file=sys.stderr,
            )


__all__ = ["SummaryCallback", "count_runs"]
