"""Edge lists from files: a social graph from data, for ``network.kind: edgelist``.

The file is CSV (comma, tab or single-space separated, with or without a header, ``#``
comment lines skipped) or parquet (``.parquet``, ``.pq``). It holds two integer columns,
the customer ids (from 0) at the two ends of an undirected tie, and optionally a third,
``strong`` (1 for a strong tie, 0 for a weak one; without it every tie is strong). The
number of customers is the largest id + 1. Ties listed more than once (either way round)
count once, strong if any listing says so; self-ties are dropped.

This module only reads (with polars, in parallel); ``sim.engine.network`` builds the
CSR arrays. Errors are :class:`EdgeListError` with the rule only: the caller names the
key (``network.path=...: rule``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

PARQUET_SUFFIXES = (".parquet", ".pq")
MAX_ID = 2_000_000_000 - 1  # market.customers is at most 2e9 (sim.config.validate.MAX_CUSTOMERS)


class EdgeListError(ValueError):
    """A file that is not a usable edge list: the message is the rule, without the key.

    Messages never quote the file's content (a path may name any file the process can
    read): they say which rule a file breaks, with counts and types only.
    """


THIRD_COLUMN_RULE = "a third column must be headed 'strong' (0 or 1)"
#: Bytes of memory loading takes per listed tie (the README's memory estimate).
LOAD_BYTES_PER_TIE = 40
#: Bytes read from the start of a CSV file to estimate its number of ties from its size.
SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class EdgeListSummary:
    """What validation needs to know about an edge list, without building anything."""

    customers: int  # largest id + 1
    rows: int  # ties listed (self-ties and repeats included)
    has_strength: bool  # a third column ``strong``


@dataclass(frozen=True)
class EdgeList:
    """The ties of an edge list, each once, as (lo, hi) pairs with lo < hi, sorted."""

    customers: int
    lo: np.ndarray  # int32, sorted
    hi: np.ndarray  # int32, sorted within equal lo
    strong: np.ndarray | None  # uint8 0/1 per tie, None when the file has no column
    self_ties: int  # dropped
    repeats: int  # ties listed again (either way round), dropped


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _scan(path: str) -> tuple[pl.LazyFrame, bool]:
    """A lazy frame with columns ``a``, ``b`` (int64) and maybe ``strong``; has_strength."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise EdgeListError("no such file" if not p.exists() else "not a file")
    try:
        if p.suffix.lower() in PARQUET_SUFFIXES:
            return _scan_parquet(p)
        return _scan_csv(p)
    except OSError as exc:
        raise EdgeListError(f"cannot read it ({exc.strerror or type(exc).__name__})") from None


def _columns_rule(count: int) -> str:
    return (
        f"has {count} column{'s' if count != 1 else ''}: an edge list has 2 (the customer ids "
        f"at the two ends of a tie) or 3 (and strong, 0 or 1)"
    )


def _scan_parquet(p: Path) -> tuple[pl.LazyFrame, bool]:
    try:
        lf = pl.scan_parquet(p)
        schema = lf.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise EdgeListError(f"cannot read it as parquet ({_reason(exc)})") from None
    names = list(schema.names())
    if len(names) not in (2, 3):
        raise EdgeListError(_columns_rule(len(names)))
    if len(names) == 3 and names[2] != "strong":
        raise EdgeListError(THIRD_COLUMN_RULE)
    for name in names[:2]:
        if not schema[name].is_integer():
            raise EdgeListError(
                f"an id column holds {schema[name]}: customer ids must be whole numbers from 0"
            )
    if len(names) == 3 and not (schema[names[2]].is_integer() or schema[names[2]] == pl.Boolean):
        raise EdgeListError(f"column 'strong' is {schema[names[2]]}: must be 0 or 1")
    cols = [pl.col(names[0]).cast(pl.Int64).alias("a"), pl.col(names[1]).cast(pl.Int64).alias("b")]
    if len(names) == 3:
        cols.append(pl.col(names[2]).cast(pl.Int64).alias("strong"))
    return lf.select(cols), len(names) == 3


def _scan_csv(p: Path) -> tuple[pl.LazyFrame, bool]:
    line = None
    with p.open("rb") as f:
        for raw in f:
            text = raw.decode("utf-8-sig", "replace").strip()  # a byte-order mark is no header
            if text and not text.startswith("#"):
                line = text
                break
    if line is None:
        raise EdgeListError("has no ties (an empty file)")
    sep = next((s for s in (",", "\t", " ") if s in line), ",")
    fields = [x.strip() for x in line.split(sep)]
    if len(fields) not in (2, 3):
        raise EdgeListError(_columns_rule(len(fields)))
    header = not all(_is_int(x) for x in fields)
    if header and len(fields) == 3 and fields[2] != "strong":
        raise EdgeListError(THIRD_COLUMN_RULE)
    names = ["a", "b", "strong"][: len(fields)]
    lf = pl.scan_csv(
        p, has_header=header, separator=sep, comment_prefix="#", new_columns=names,
        schema_overrides={name: pl.Int64 for name in names},
    )  # fmt: skip
    # a blank line is read as a row of nulls: it is no tie
    lf = lf.filter(pl.any_horizontal(pl.col(name).is_not_null() for name in names))
    return lf, len(fields) == 3


def _reason(exc: Exception) -> str:
    """Why a file could not be read, without any of its content (only the error's kind)."""
    return type(exc).__name__


def _collect(lf: pl.LazyFrame) -> pl.DataFrame:
    """Run a query on the file, turning a parse failure into a one-line rule."""
    try:
        return lf.collect()
    except pl.exceptions.ComputeError as exc:
        message = str(exc)
        if "column" in message and ("parse" in message or "could not" in message):
            raise EdgeListError(
                "has a value that is not a whole number: customer ids are integers from 0"
            ) from None
        if "more fields" in message or "fields" in message:
            raise EdgeListError(
                "has rows with more columns than the first: every row needs the same columns"
            ) from None
        raise EdgeListError(f"cannot read it ({_reason(exc)})") from None
    except pl.exceptions.SchemaError:
        raise EdgeListError(
            "has rows with more columns than the first: every row needs the same columns"
        ) from None
    except pl.exceptions.PolarsError as exc:
        raise EdgeListError(f"cannot read it ({_reason(exc)})") from None


def summarise(path: str) -> EdgeListSummary:
    """Check the file and count its customers (largest id + 1), reading it once.

    Raises:
        EdgeListError: a missing or unreadable file, the wrong number of columns,
            ids that are not whole numbers or are negative, a ``strong`` not 0 or 1.
    """
    p = Path(path).expanduser()
    try:
        stat = p.stat()
    except OSError:
        stat = None
    if stat is None:
        return _summarise(str(p), 0, 0)  # raises the missing-file rule
    check_size(p, stat.st_size)
    return _summarise(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


def estimated_ties(path: Path, size: int) -> int:
    """The number of ties a file lists, from its size, before it is read.

    Parquet says its row count in its footer; for CSV, the size over the mean length of
    the lines in its first ``SAMPLE_BYTES``.
    """
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - unreadable: the scan names the rule
            return 0
    try:
        with path.open("rb") as f:
            sample = f.read(SAMPLE_BYTES)
    except OSError:
        return 0
    lines = max(1, sample.count(b"\n"))
    return int(size / (len(sample) / lines)) if sample else 0


def check_size(path: Path, size: int) -> None:
    """Refuse a file whose ties could not be loaded in the memory this machine has.

    Raises:
        EdgeListError: the estimate, from the file's size alone, exceeds the memory
            available (loading takes ``LOAD_BYTES_PER_TIE`` bytes per listed tie).
    """
    from sim.engine.resources import available_memory, human_bytes

    have = available_memory()
    ties = estimated_ties(path, size)
    need = LOAD_BYTES_PER_TIE * ties
    if have is not None and need > have:
        raise EdgeListError(
            f"lists about {ties:,} ties ({human_bytes(size)}): loading them needs about "
            f"{human_bytes(need)} of memory, this machine has {human_bytes(have)} available"
        )


@functools.lru_cache(maxsize=8)
def _summarise(path: str, mtime_ns: int, size: int) -> EdgeListSummary:
    """``summarise`` for one version of a file (sweeps validate the same file many times)."""
    lf, has_strength = _scan(path)
    stats = [
        pl.len().alias("rows"),
        pl.min_horizontal(pl.col("a").min(), pl.col("b").min()).alias("low"),
        pl.max_horizontal(pl.col("a").max(), pl.col("b").max()).alias("high"),
        (pl.col("a").null_count() + pl.col("b").null_count()).alias("missing"),
    ]
    if has_strength:
        stats += [
            pl.col("strong").min().alias("s_low"),
            pl.col("strong").max().alias("s_high"),
            pl.col("strong").null_count().alias("s_missing"),
        ]
    row = _collect(lf.select(stats)).row(0, named=True)
    if row["rows"] == 0:
        raise EdgeListError("has no ties")
    if row["missing"]:
        raise EdgeListError(f"has {row['missing']} missing ids: every row needs two customer ids")
    if row["low"] < 0:
        raise EdgeListError(f"has a negative id ({row['low']}): customer ids count from 0")
    if row["high"] > MAX_ID:
        raise EdgeListError(f"has an id of {row['high']}: customer ids must be at most {MAX_ID}")
    if has_strength and (row["s_missing"] or row["s_low"] < 0 or row["s_high"] > 1):
        raise EdgeListError("column 'strong' must be 0 or 1 on every row")
    return EdgeListSummary(int(row["high"]) + 1, int(row["rows"]), has_strength)


def load(path: str) -> EdgeList:
    """Read the ties: each once as (lo, hi), lo < hi, sorted; self-ties and repeats dropped.

    Reading, the two orientations and the sort run in polars' threads; the result is
    sorted by (lo, hi), so it does not depend on their number.
    """
    summary = summarise(path)
    lf, has_strength = _scan(str(Path(path).expanduser()))
    # One int64 key per tie, lo * 2^32 + hi: a single-column sort (eager: polars' lazy
    # multi-column sort is several times slower) and repeats side by side.
    cols = [(pl.min_horizontal("a", "b") * (1 << 32) + pl.max_horizontal("a", "b")).alias("key")]
    if has_strength:
        cols.append(pl.col("strong").cast(pl.UInt8))
    frame = _collect(lf.filter(pl.col("a") != pl.col("b")).select(cols)).sort("key")
    key = frame["key"].to_numpy()
    strong = frame["strong"].to_numpy() if has_strength else None
    self_ties = summary.rows - frame.height
    del frame
    first = np.ones(key.size, dtype=bool)  # the first listing of each tie (they are sorted)
    np.not_equal(key[1:], key[:-1], out=first[1:])
    repeats = int(key.size - np.count_nonzero(first))
    if repeats:
        if strong is not None:
            strong = np.maximum.reduceat(strong, np.flatnonzero(first))  # strong if any says so
        key = key[first]
    lo = (key >> 32).astype(np.int32)
    hi = (key & 0xFFFFFFFF).astype(np.int32)
    return EdgeList(summary.customers, lo, hi, strong, self_ties, repeats)
