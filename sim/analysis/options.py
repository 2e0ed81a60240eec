"""What the analyst commands share: options, one-line errors, the output folder, the manifest.

Every tool takes ordinary overrides for the market, ``--seed``, ``--replicates R``,
``--jobs J`` and ``--out DIR`` (default ``outputs/<tool>/<date>/<time>``), refuses bad
input with one line ``journeysim: error: ...`` and exit code 2 before any work, and
writes ``analysis.yaml`` (the tool, the command that reproduces the result, when) next
to its results, last, so a folder with it is complete.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from sim.config import ConfigError

MANIFEST = "analysis.yaml"
TOOLS = ("calibrate", "sensitivity", "optimise", "journeys", "attribute")


#: The largest table (paths, observed KPIs) an analyst tool reads.
MAX_TABLE_BYTES = 1_000_000_000


def read_table(path: Path, what: str, **csv_options):
    """Read a CSV or parquet table someone else may have made, as data.

    The file is size-checked before it is read, and a reader's failure is reported by
    its kind only: no message quotes the file's content beyond a column name.

    Raises:
        ConfigError: missing, too large, not CSV or parquet, or unreadable; one line.
    """
    import polars as pl

    from sim.engine.resources import available_memory, human_bytes

    if not path.is_file():
        raise ConfigError(f"{path}: no such {what} file")
    size = path.stat().st_size
    have = available_memory()
    limit = MAX_TABLE_BYTES if have is None else min(MAX_TABLE_BYTES, have // 4)
    if size > limit:
        raise ConfigError(
            f"{path}: {human_bytes(size)}; a {what} file may have at most {human_bytes(limit)}"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
        if suffix in (".csv", ".txt", ""):
            return pl.read_csv(path, infer_schema_length=None, **csv_options)
    except Exception:  # noqa: BLE001 - any reader failure is a bad file
        why = "damaged, or not CSV or parquet"
        raise ConfigError(f"{path}: cannot be read as a table ({why})") from None
    raise ConfigError(f"{path}: must be a .csv or .parquet file")


class UsageError(Exception):
    """A bad command line (message for the user, one line)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (raised, not printed with the usage)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        raise UsageError(f"{self.prog}: {message}")


def parser(
    tool: str,
    description: str,
    market: bool = True,
    first: tuple[str, str] | None = None,
    folder: str | None = None,
    replicates: int = 1,
) -> Parser:
    """A parser with the options every tool shares (the market's ones if ``market``).

    ``first`` is (name, help) of a positional argument before the overrides; ``folder`` the
    tool's name in its default output folder (default ``tool``, e.g. 'attribute' for
    'attribute --truth'); ``replicates`` the default of ``--replicates``.
    """
    p = Parser(prog=f"journeysim {tool}", description=description)
    if first is not None:
        p.add_argument(first[0], help=first[1])
    if market:
        p.add_argument(
            "overrides",
            nargs="*",
            metavar="OVERRIDE",
            help="Hydra overrides for the market, e.g. market.customers=20000 scenario=price_war",
        )
        p.add_argument(
            "--seed",
            type=int,
            default=None,
            help="first replicate seed (default: the config's seed)",
        )
        p.add_argument(
            "--replicates",
            type=int,
            default=replicates,
            metavar="R",
            help=f"seeds per candidate, the same for every candidate (default {replicates})",
        )
        add_jobs(p)
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"output folder (default outputs/{folder or tool}/<date>/<time>)",
    )
    return p


def add_jobs(p: argparse.ArgumentParser) -> None:
    """The ``--jobs J`` option every command that runs in parallel shares."""
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="J",
        help="parallel processes (default: all cores)",
    )


#: Most times one option may be given (``--constraint``, ``--budget``, ``--kpi``...): far
#: beyond any study, and argparse's time (quadratic in the repeats) stays well under a second.
MAX_REPEATS = 100


def parse(p: Parser, args: list[str]) -> argparse.Namespace:
    """Parse options and overrides in any order; check the shared ones.

    Raises:
        UsageError: an option repeated more than ``MAX_REPEATS`` times, or a bad shared
            option (one line).
    """
    counts: dict[str, int] = {}
    for arg in args:
        if arg.startswith("--"):
            name = arg.partition("=")[0]
            counts[name] = counts.get(name, 0) + 1
            if counts[name] > MAX_REPEATS:
                raise UsageError(f"{p.prog}: {name} given more than {MAX_REPEATS} times")
    ns = p.parse_intermixed_args(args)
    if getattr(ns, "replicates", 1) < 1:
        raise UsageError(f"--replicates {ns.replicates}: must be at least 1")
    check_jobs(getattr(ns, "jobs", None))
    if getattr(ns, "seed", None) is not None and ns.seed < 0:
        raise UsageError(f"--seed {ns.seed}: must be at least 0")
    for o in getattr(ns, "overrides", None) or []:
        if "=" not in o:
            raise UsageError(f"{o}: not an override such as market.customers=20000")
    return ns


def max_jobs() -> int:
    """The most parallel processes this machine is asked to run: 4 per CPU.

    Each run is CPU-bound: beyond that only memory and switching grow.
    """
    return 4 * (os.cpu_count() or 1)


def check_jobs(jobs: int | None) -> None:
    """Refuse ``--jobs`` below 1 or above ``max_jobs`` (one line)."""
    if jobs is None:
        return
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: must be at least 1")
    if jobs > max_jobs():
        raise UsageError(f"--jobs {jobs}: at most {max_jobs()} on this machine "
                         f"({os.cpu_count()} CPUs)")  # fmt: skip


def positive(name: str, value: int | None, minimum: int = 1) -> None:
    """Refuse an integer option below ``minimum`` (one line)."""
    if value is not None and value < minimum:
        raise UsageError(f"{name} {value}: must be at least {minimum}")


def out_dir(tool: str, given: str | None) -> Path:
    """The output folder: ``--out``, else ``outputs/<tool>/<date>/<time>`` here."""
    if given:
        return Path(given)
    now = dt.datetime.now()
    return Path("outputs") / tool / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S")


def check_out(folder: Path, need: int = 50_000_000) -> None:
    """The output folder can be created and written, with room (before any work)."""
    from sim.cli.run import check_writable

    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--out {folder}: is a file, not a folder")
    check_writable(folder, "--out", need)


def start_output(folder: Path) -> None:
    """Before the first result file: drop an earlier result's manifest from the folder.

    The manifest is written last, so until it is, the folder does not count as complete.
    """
    (folder / MANIFEST).unlink(missing_ok=True)


def reproduce(tool: str, args: list[str]) -> str:
    """The command line that reproduces a result, as a shell would take it."""
    return shlex.join(["journeysim", tool, *args])


def write_manifest(folder: Path, tool: str, command: str, **extra) -> None:
    """Write ``analysis.yaml`` (tool, command, when, and ``extra``) atomically, last."""
    from sim.sweeps.io import write_text

    record = {
        "tool": tool,
        "command": command,
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        **extra,
    }
    write_text(yaml.safe_dump(record, sort_keys=False), folder / MANIFEST)


def run_command(body: Callable[[], int]) -> int:
    """Run a tool's body: user errors become one line and exit code 2 (``--debug``: raise)."""
    from sim.cli import common
    from sim.cli.common import error

    try:
        return body()
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except (UsageError, ConfigError) as exc:
        if common.DEBUG:
            raise
        return error(str(exc))
    except KeyboardInterrupt:
        return error("interrupted; nothing was written")
    except OSError as exc:
        if common.DEBUG:
            raise
        where = exc.filename or ""
        return error(f"{where}: {exc.strerror or exc}" if where else str(exc))


def progress_label(tool: str) -> str:
    """The progress bar's label."""
    return f"journeysim {tool}"


@contextmanager
def library_warnings(library: str) -> Iterator[None]:
    """Show a library's warnings raised in the block as one line each (once)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    shown = set()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in shown:
            shown.add(text)
            say(f"warning: {library}: {text}")


def say(message: str) -> None:
    """A status line on stderr (results go to stdout)."""
    print(f"journeysim: {message}", file=sys.stderr)
