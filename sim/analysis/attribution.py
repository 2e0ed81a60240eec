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
A journey converts either without ever meeting channel k or after meeting it, so
``P(conversion | k removed) = x_start - h_k x_k`` with ``h_k`` the probability of ever
reaching k, ``N[start, k] / N[k, k]`` (``N = (I - Q)^-1``): one inverse for every channel.

A paths file may hold at most ``MAX_CHANNELS`` distinct channels (the chain's matrices grow
with their square, its inverse with their cube) and counts up to ``MAX_COUNT`` each.

``journeysim attribute --truth [overrides]`` puts the simulated ground truth beside it
(``sim.analysis.journeys``): the conversions lost when each channel's ads are switched off
(same seed: common random numbers) against the Markov removal effects of the same run's paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import images, options
from sim.config import ConfigError
from sim.config.errors import printable

SEPARATOR = " > "
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
#: The row of conversions no touchpoint preceded (no channel, under any model, claims them).
NO_TOUCHPOINT = "(no touchpoint)"
OUTPUTS = ("attribution.parquet", "attribution.html")
#: The most distinct channels a paths file may hold: the transition matrix is
#: (channels + 3)^2 floats and its inverse takes (channels + 1)^3 steps (1,000: 8 MB, 0.1 s).
MAX_CHANNELS = 1_000
#: The largest count (conversions or nulls) of one row: far above any real data, and inside
#: the integers a float holds exactly (2^53, about 9e15) and 64-bit integers.
MAX_COUNT = 10**15
#: The largest total of a count column (conversions or nulls over all rows): inside 64-bit
#: integers (about 9.2e18).
MAX_TOTAL = 10**18


def read_paths(path: str | Path) -> pl.DataFrame:
    """Read and check a paths file (CSV or parquet): path, conversions, nulls.

    Raises:
        ConfigError: missing file or column, negative or non-integer counts, a count above
            ``MAX_COUNT`` (or a column's total above ``MAX_TOTAL``), more than
            ``MAX_CHANNELS`` distinct channels; one line.
    """
    from sim.analysis.options import read_table

    path = Path(path)
    frame = read_table(path, "paths", schema_overrides={"path": pl.Utf8})
    # ChannelAttribution's own layout (path, total_conversions, total_null), read as is
    layout = {"total_conversions": "conversions", "total_null": "nulls"}
    ours = {"conversions", "nulls"} & set(frame.columns)
    if all(c in frame.columns for c in layout) and not ours:
        frame = frame.rename(layout)
    for col in ("path", "conversions", "nulls"):
        if col not in frame.columns:
            need = "path, conversions, nulls; or path, total_conversions, total_null"
            raise ConfigError(f"{path}: column {col!r} is missing (need {need})")
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
        big = values > MAX_COUNT
        if big.any():
            k = int(big.arg_max())
            raise ConfigError(
                f"{path}: row {k + 1}: {col} {values[k]:.6g} is too large; a count may be at "
                f"most {MAX_COUNT:,} (10^15)"
            )
        if float(values.sum()) > MAX_TOTAL:
            raise ConfigError(
                f"{path}: column {col!r} sums to {float(values.sum()):.6g}; the counts of a "
                f"paths file may add up to at most 10^18"
            )
        counts.append(values.cast(pl.Int64).alias(col))
    out = pl.DataFrame([frame["path"].cast(pl.Utf8).fill_null("").alias("path"), *counts])
    if out.height == 0 or int(out["conversions"].sum()) == 0:
        raise ConfigError(f"{path}: holds no conversions: nothing to attribute")
    check_channels(out, str(path))
    return out


def check_channels(paths: pl.DataFrame, where: str = "the paths") -> None:
    """Refuse more than ``MAX_CHANNELS`` distinct channels (stops reading at the first extra).

    Args:
        paths: The paths table (a ``path`` column).
        where: What the message names (the file).

    Raises:
        ConfigError: too many channels; one line naming the file, the row and the cap.
    """
    seen: set[str] = set()
    for k, path in enumerate(paths["path"]):
        seen.update(split(path or ""))
        if len(seen) > MAX_CHANNELS:
            raise ConfigError(
                f"{where}: row {k + 1}: {len(seen):,} distinct channels by this row; a paths "
                f"file may hold at most {MAX_CHANNELS:,} (the Markov chain grows with their "
                "square)"
            )


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
    for reserved in (START, CONVERSION, NULL, NO_TOUCHPOINT):
        if reserved in channels:
            raise ConfigError(f"a channel may not be named {reserved}")
    if len(channels) > MAX_CHANNELS:
        raise ConfigError(
            f"the paths hold {len(channels):,} distinct channels; at most {MAX_CHANNELS:,}"
        )
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


def removal_effects(probs: np.ndarray) -> np.ndarray | None:
    """Every channel's removal effect from one inverse (None if nothing converts).

    ``P(conversion | k removed) = x_start - h_k x_k``: a journey that converts either never
    meets k or meets it (probability ``h_k = N[start, k] / N[k, k]``, N the fundamental
    matrix ``(I - Q)^-1``) and converts from there (``x_k``). The same numbers as
    ``conversion_probability(probs, k)`` for each k, in one O(n^3) step instead of n.

    Args:
        probs: The row-normalised transition matrix over start, channels, conversion, null.

    Returns:
        The removal effects of the channels (states 1..n-3), clipped to [0, 1]; None when
        the probability of converting is 0.
    """
    n = probs.shape[0]
    t = n - 2
    fundamental = np.linalg.inv(np.eye(t) - probs[:t, :t])
    x = fundamental @ probs[:t, n - 2]
    base = float(x[0])
    if base <= 0:
        return None
    diagonal = np.diag(fundamental)[1:]  # >= 1: a visit to k counts itself
    reach = fundamental[0, 1:] / diagonal
    without = base - reach * x[1:]
    return np.clip(1.0 - without / base, 0.0, 1.0)  # rounding of an exact 0 or 1


def markov_attribution(paths: pl.DataFrame) -> pl.DataFrame:
    """Removal effects, shares and attributed conversions per channel.

    Returns channel, removal_effect, share, conversions (most conversions first).
    """
    states, counts = transitions(paths)
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    channels = states[1:-2]
    effects = removal_effects(probs)
    if effects is None or not channels:
        raise ConfigError("the paths hold no conversion reached through a channel")
    total_effect = effects.sum()
    share = effects / total_effect if total_effect > 0 else np.zeros_like(effects)
    untouched = untouched_conversions(paths)
    touched = float(paths["conversions"].sum()) - untouched
    table = pl.DataFrame(
        {
            "channel": channels,
            "removal_effect": effects,
            "share": share,
            "conversions": share * touched,
        }
    ).sort(["conversions", "channel"], descending=[True, False])
    return _with_untouched(table, untouched)


def untouched_conversions(paths: pl.DataFrame) -> float:
    """Conversions of paths without any touchpoint: no channel can claim them."""
    empty = [not split(p) for p in paths["path"].to_list()]
    return float(paths.filter(pl.Series(empty, dtype=pl.Boolean))["conversions"].sum())


def _with_untouched(
    table: pl.DataFrame, untouched: float, columns: tuple[str, ...] = ("conversions",)
) -> pl.DataFrame:
    """``table`` with a last row for the conversions no touchpoint preceded, if any.

    Those conversions fill ``columns`` (the conversions credited); other values stay empty.
    """
    if untouched <= 0:
        return table
    row = {c: None for c in table.columns} | {"channel": NO_TOUCHPOINT}
    row |= dict.fromkeys(columns, untouched)
    return pl.concat([table, pl.DataFrame([row], schema=table.schema)])


#: The heuristic models beside Markov (columns of ``attribution.parquet``: conversions each
#: credits to a channel).
HEURISTICS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
#: time_decay: a touch's weight halves every this many touches before the conversion (paths
#: carry the order of touches, not their dates).
DECAY_HALF_LIFE = 1.0
#: position_based (U-shaped): the first and the last touch take this share each, the touches
#: between them share the rest (a path of two splits it in halves, of one takes it all).
POSITION_END_SHARE = 0.4


def heuristic_weights(n: int, model: str) -> np.ndarray:
    """The shares of a conversion each of a path's ``n`` touches gets under ``model``.

    first_touch: 1 to the first; last_touch: 1 to the last; linear: 1/n each; time_decay:
    proportional to 2^(-(n - 1 - k) / DECAY_HALF_LIFE) for the k-th touch; position_based:
    POSITION_END_SHARE to the first and to the last, the rest split evenly between them.
    """
    w = np.zeros(n)
    if n == 0:
        return w
    if model == "first_touch":
        w[0] = 1.0
    elif model == "last_touch":
        w[-1] = 1.0
    elif model == "linear":
        w[:] = 1.0 / n
    elif model == "time_decay":
        w = 2.0 ** (-(n - 1 - np.arange(n)) / DECAY_HALF_LIFE)
        w /= w.sum()
    elif model == "position_based":
        if n <= 2:
            w[:] = 1.0 / n
        else:
            w[0] = w[-1] = POSITION_END_SHARE
            w[1:-1] = (1.0 - 2 * POSITION_END_SHARE) / (n - 2)
    else:
        raise ValueError(model)
    return w


def heuristic_attribution(paths: pl.DataFrame) -> pl.DataFrame:
    """Conversions each heuristic model credits to each channel (columns ``HEURISTICS``).

    A path's conversions are split over its touches by ``heuristic_weights``; a channel met
    twice in a path gets both shares. Conversions without a touchpoint stay apart (their row
    ``NO_TOUCHPOINT``), as under Markov.
    """
    credit: dict[str, dict[str, float]] = {}
    for path, conv in paths.select("path", "conversions").iter_rows():
        steps = split(path)
        if not steps or not conv:
            continue
        for model in HEURISTICS:
            for channel, w in zip(steps, heuristic_weights(len(steps), model), strict=True):
                row = credit.setdefault(channel, dict.fromkeys(HEURISTICS, 0.0))
                row[model] += w * conv
    table = pl.DataFrame(
        [{"channel": c, **v} for c, v in credit.items()],
        schema={"channel": pl.Utf8, **dict.fromkeys(HEURISTICS, pl.Float64)},
    )
    return _with_untouched(table, untouched_conversions(paths), HEURISTICS)


def attribution_table(paths: pl.DataFrame) -> pl.DataFrame:
    """Markov's removal effects and conversions beside every heuristic model's, per channel."""
    markov = markov_attribution(paths)
    heuristics = heuristic_attribution(paths)
    out = markov.join(heuristics, on="channel", how="left", nulls_equal=True)
    return out.with_columns(pl.col(list(HEURISTICS)).fill_null(0.0))


def print_attribution(table: pl.DataFrame, title: str) -> None:
    """The attribution table on stdout."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if Console().is_terminal else 140)
    t = Table(title=Text(printable(title)))  # names are text, never markup or escapes
    models = [m for m in HEURISTICS if m in table.columns]
    heads = ["channel", "removal effect", "share", "Markov", *(m.replace("_", " ") for m in models)]
    for head in heads:
        t.add_column(head, justify="left" if head == "channel" else "right")

    def f(x, form: str) -> str:
        return "-" if x is None else format(x, form)

    for r in table.iter_rows(named=True):
        t.add_row(
            Text(printable(r["channel"])), f(r["removal_effect"], ".4f"), f(r["share"], ".1%"),
            f(r["conversions"], ",.1f"), *(f(r[m], ",.1f") for m in models),
        )  # fmt: skip
    console.print(t)


def command(args: list[str]) -> int:
    """``journeysim attribute PATHS.csv [--out DIR]`` (``--truth``: ``sim.cli.attribute``)."""
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
    table = attribution_table(paths)
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
    print_attribution(table, f"journeysim attribute: Markov and heuristic models ({ns.paths})")
    print(printable(f"results in {folder}: " + ", ".join(images.with_images(OUTPUTS, folder))))
    return 0
