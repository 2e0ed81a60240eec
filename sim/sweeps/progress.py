"""Progress on stderr for long runs and sweeps: a bar on a terminal, a line now and then else."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Seconds between progress lines when stderr is not a terminal (a log file, a pipe).
LOG_EVERY = 15.0


@contextmanager
def step_progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(done)``; shows done/total, elapsed and time left on a terminal.

    Redirected (a log file, a batch job), it writes a plain line at most every ``LOG_EVERY``
    seconds and a last one at the end, so a long job shows it is alive; a job shorter than
    that writes nothing.
    """
    if not sys.stderr.isatty():
        with _log_lines(total, label) as advance:
            yield advance
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)


@contextmanager
def _log_lines(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """``advance(done)`` writing 'label: done/total, elapsed, about N s left' lines."""
    import time

    start = time.monotonic()
    state = {"last": start, "logged": False, "done": 0}

    def line(done: int) -> None:
        elapsed = time.monotonic() - start
        left = elapsed / done * (total - done) if 0 < done < total else 0.0
        tail = f", about {left:.0f} s left" if left else ""
        head = label if label.startswith("journeysim ") else f"journeysim: {label}"
        print(f"{head}: {done}/{total} after {elapsed:.0f} s{tail}", file=sys.stderr, flush=True)

    def advance(done: int) -> None:
        state["done"] = done
        now = time.monotonic()
        if now - state["last"] >= LOG_EVERY and done < total:
            line(done)
            state["last"], state["logged"] = now, True

    yield advance
    if state["logged"]:
        line(state["done"])
