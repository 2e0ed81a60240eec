"""``journeysim attribute PATHS.csv``: first-order Markov removal-effect attribution.

The paths file has columns ``path`` (channels joined by `` > ``), ``conversions`` and
``nulls`` (how many identical paths ended in a conversion, or did not). The chain's states
are ``(start)``, the channels, ``(conversion)`` and ``(null)``; each path adds its count to
the transitions start -> first channel -> ... -> last channel, and its conversions and nulls
to last channel -> (conversion) and -> (null) (an empty path goes from the start straight to
its outcome). Transition probabilities are the counts normalised per state.

The probability of reaching (conversion) from (start) is the absorption probability
``x = (I - Q)^-1 r`` (Q: transitions among start and channels, r: into conversion).
Removing a channel sends every transition into it to (null); its **removal effect** is the
relative drop ``1 - P(conversion | channel removed) / P(conversion)``. ``share`` is the
removal effects normalised to 1 and ``conversions`` the paths' conversions split by share.

``journeysim attribute --truth [overrides]`` puts the simulated ground truth beside it
(``sim.analysis.journeys``): the conversions lost when each channel's ads are switched off
(same seed: common random numbers) against the Markov removal effects of the same run's paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import options
from sim.config import ConfigError

SEPARATOR = " > "
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
OUTPUTS = ("attribution.parquet", "attribution.html")


def read_paths(path: str | Path) -> pl.DataFrame:
    """Read and check a paths file (CSV or parquet): path, conversions, nulls.

    Raises:
        ConfigError: missing file or column, negative or non-integer counts; one line.
    """
    from sim.analysis.options import read_table

    path = Path(path)
    frame = read_table(path, "paths", schema_overrides={"path": pl.Utf8})
    for col in ("path", "conversions", "nulls"):
        if col not in frame.columns:
            raise ConfigError(f"{path}: column {col!r} is missing (need path, conversions, nulls)")
    counts = []
    for col in ("conversions", "nulls"):
        try:
            values = frame[col].cast(pl.Float64, strict=True)
        except Exception:  # noqa: BLE001
            raise ConfigError(f"{path}: column {col!r} must hold whole numbers") from None
        bad = values.is_null() | (values < 0) | (values != values.floor()) | ~values.is_finite()
        if bad.any():
            k = int(bad.arg_max())
            raise ConfigError(f"{path}: row {k + 1}: {col} must be a whole number >= 0")
        counts.append(values.cast(pl.Int64).alias(col))
    out = pl.DataFrame([frame["path"].cast(pl.Utf8).fill_null("").alias("path"), *counts])
    if out.height == 0 or int(out["conversions"].sum()) == 0:
        raise ConfigError(f"{path}: holds no conversions: nothing to attribute")
    return out


def split(path: str) -> list[str]:
    """The channels of a path (`` > `` separated, blanks around names ignored)."""
    steps = [s.strip() for s in path.split(SEPARATOR.strip())] if path.strip() else []
    return [s for s in steps if s]


def transitions(paths: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """The states (start, channels in order of appearance, conversion, null) and counts.

    Returns ``states`` and the matrix ``counts[i, j]`` of transitions from state i to j.
    """
    channels: dict[str, int] = {}
    rows = []
    for path, conv, nulls in paths.select("path", "conversions", "nulls").iter_rows():
        steps = split(path)
        for s in steps:
            channels.setdefault(s, len(channels))
        rows.append((steps, conv, nulls))
    for reserved in (START, CONVERSION, NULL):
        if reserved in channels:
            raise ConfigError(f"a channel may not be named {reserved}")
    states = [START, *channels, CONVERSION, NULL]
    index = {s: k for k, s in enumerate(states)}
    n = len(states)
    counts = np.zeros((n, n))
    conv_i, null_i = index[CONVERSION], index[NULL]
    for steps, conv, nulls in rows:
        w = conv + nulls
        if w == 0:
            continue
        seq = [0] + [index[s] for s in steps]
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            counts[a, b] += w
        counts[seq[-1], conv_i] += conv
        counts[seq[-1], null_i] += nulls
    return states, counts


def conversion_probability(probs: np.ndarray, removed: int | None = None) -> float:
    """P(reaching conversion from start), with state ``removed`` sent to null.

    ``probs`` is the row-normalised transition matrix over start, channels, conversion,
    null (the last two absorbing).
    """
    n = probs.shape[0]
    t = n - 2  # transient states: start and the channels
    q = probs[:t, :t].copy()
    r = probs[:t, n - 2].copy()
    if removed is not None:
        q[removed, :] = 0.0  # entering the removed channel ends the journey without conversion
        r[removed] = 0.0
    x = np.linalg.solve(np.eye(t) - q, r)
    return float(x[0])


def markov_attribution(paths: pl.DataFrame) -> pl.DataFrame:
    """Removal effects, shares and attributed conversions per channel.

    Returns channel, removal_effect, share, conversions (most conversions first).
    """
    states, counts = transitions(paths)
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    base = conversion_probability(probs)
    channels = states[1:-2]
    if base <= 0 or not channels:
        raise ConfigError("the paths hold no conversion reached through a channel")
    effects = np.array(
        [1.0 - conversion_probability(probs, k + 1) / base for k in range(len(channels))]
    )
    effects = np.clip(effects, 0.0, 1.0)  # rounding of an exact 0 or 1
    total_effect = effects.sum()
    share = effects / total_effect if total_effect > 0 else np.zeros_like(effects)
    conversions = float(paths["conversions"].sum())
    return pl.DataFrame(
        {
            "channel": channels,
            "removal_effect": effects,
            "share": share,
            "conversions": share * conversions,
        }
    ).sort(["conversions", "channel"], descending=[True, False])


def print_attribution(table: pl.DataFrame, title: str) -> None:
    """The attribution table on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    t = Table(title=title)
    for head in ("channel", "removal effect", "share", "conversions"):
        t.add_column(head, justify="left" if head == "channel" else "right")
    for r in table.iter_rows(named=True):
        t.add_row(
            r["channel"],
            f"{r['removal_effect']:.4f}",
            f"{r['share']:.1%}",
            f"{r['conversions']:,.1f}",
        )
    console.print(t)


def command(args: list[str]) -> int:
    """``journeysim attribute PATHS.csv [--out DIR]`` or ``attribute --truth [overrides]``."""
    if "--truth" in args:
        from sim.analysis import journeys

        return options.run_command(
            lambda: journeys.truth_command([a for a in args if a != "--truth"])
        )
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.sweeps.io import write_parquet

    p = options.parser(
        "attribute",
        "Markov removal-effect attribution of a paths file (path, conversions, "
        "nulls); --truth [overrides] compares it with the simulated ground truth.",
        market=False,
        first=("paths", "paths file: CSV (or parquet) with path, conversions, nulls"),
    )
    ns = options.parse(p, args)
    paths = read_paths(ns.paths)
    table = markov_attribution(paths)
    folder = options.out_dir("attribute", ns.out)
    options.check_out(folder)
    options.start_output(folder)
    write_parquet(table, folder / "attribution.parquet")
    plots.save(plots.attribution_figure(table), folder / "attribution.html")
    reproduce = options.reproduce(
        "attribute", [str(Path(ns.paths).resolve()), "--out", str(folder)]
    )
    options.write_manifest(
        folder,
        "attribute",
        reproduce,
        paths=str(Path(ns.paths).resolve()),
        conversions=int(paths["conversions"].sum()),
    )
    print_attribution(table, f"journeysim attribute: Markov removal effects ({ns.paths})")
    print(f"results in {folder}: " + ", ".join(OUTPUTS))
    return 0
