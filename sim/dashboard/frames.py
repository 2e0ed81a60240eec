"""Run frames to chart data: stacking replicates, bands, paired differences, journey flows.

Every function takes polars frames (as ``sim.simulate`` returns them, stacked with
``scenario`` and ``seed`` columns) and returns a frame or plain data; nothing here
draws. Bands are the mean over replicates (seeds) with a two-sided t-interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

STAGE_ORDER = ("unaware", "aware", "considering", "customer", "lapsed")
#: Columns of a metrics frame that are not metrics.
ID_COLUMNS = ("step", "brand", "scenario", "seed")


def stack_runs(runs: Sequence[tuple[str, int, pl.DataFrame]]) -> pl.DataFrame:
    """Concatenate (scenario, seed, frame) triples into one frame with those two columns."""
    parts = [
        f.with_columns(pl.lit(s).alias("scenario"), pl.lit(seed, pl.Int64).alias("seed"))
        for s, seed, f in runs
    ]
    return pl.concat(parts, how="diagonal_relaxed")


def with_cumulative_profit(metrics: pl.DataFrame) -> pl.DataFrame:
    """Add ``cumulative_profit``: profit summed over steps, per scenario, seed and brand."""
    keys = [k for k in ("scenario", "seed", "brand") if k in metrics.columns]
    return metrics.sort([*keys, "step"]).with_columns(
        pl.col("profit").cum_sum().over(keys).alias("cumulative_profit")
    )


def metric_columns(metrics: pl.DataFrame) -> list[str]:
    """The numeric metric columns a metrics frame has (whatever the engine records)."""
    return [c for c, dtype in metrics.schema.items() if c not in ID_COLUMNS and dtype.is_numeric()]


def replicate_band(
    frame: pl.DataFrame,
    column: str,
    level: float = 0.95,
    by: Sequence[str] = ("scenario", "step", "brand"),
) -> pl.DataFrame:
    """Mean over replicates (the rows of each ``by`` group) with a t-interval.

    Returns the ``by`` columns and mean, low, high, n (one replicate: low = high = mean).
    """
    from scipy import stats

    by = list(by)
    g = (
        frame.group_by(by, maintain_order=True)
        .agg(
            pl.col(column).mean().alias("mean"),
            pl.col(column).std(ddof=1).alias("sd"),
            pl.col(column).count().alias("n"),
        )
        .sort([b for b in by if b != "step"] + (["step"] if "step" in by else []))
    )
    n = g["n"].to_numpy().astype(float)
    sd = g["sd"].fill_null(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), 0.0)
        half = np.where(n > 1, tq * sd / np.sqrt(n), 0.0)
    mean = g["mean"].to_numpy()
    return g.with_columns(pl.Series("low", mean - half), pl.Series("high", mean + half)).select(
        *by, "mean", "low", "high", "n"
    )


def difference_band(
    frame: pl.DataFrame, column: str, baseline: str, level: float = 0.95
) -> pl.DataFrame:
    """Paired difference against ``baseline`` (same seed) per scenario, step and brand.

    Returns columns scenario, step, brand, mean, low, high, n (scenarios other than the baseline).
    """
    base = frame.filter(pl.col("scenario") == baseline).select(
        "seed", "step", "brand", pl.col(column).alias("__base")
    )
    other = frame.filter(pl.col("scenario") != baseline)
    if other.height == 0 or base.height == 0:
        return pl.DataFrame(
            schema={"scenario": pl.Utf8, "step": pl.Int32, "brand": pl.Utf8, "mean": pl.Float64,
                    "low": pl.Float64, "high": pl.Float64, "n": pl.UInt32}
        )  # fmt: skip
    paired = other.join(base, on=["seed", "step", "brand"], how="inner").with_columns(
        (pl.col(column) - pl.col("__base")).alias("__diff")
    )
    return replicate_band(paired, "__diff", level)


def retention_cut(
    retention: pl.DataFrame, min_cohort: int = 30, min_share: float = 0.0
) -> dict[str, int | None]:
    """Per brand, the last tenure whose cohort is still large enough to trust.

    A cohort curve's tail rests on the few customers acquired early enough to reach it.
    A tenure is kept while its cohort has at least ``min_cohort`` customers and at least
    ``min_share`` of the customers acquired over the run (the tenure-0 cohort). The cut is
    the same for every scenario and replicate (the smallest cohort decides), so curves
    stay comparable. None: no tenure qualifies.
    """
    out: dict[str, int | None] = {}
    frame = retention.filter(pl.col("retention").is_not_null())
    for brand in retention["brand"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("brand") == brand)
        smallest = part.group_by("tenure").agg(pl.col("cohort_size").min()).sort("tenure")
        first = smallest.filter(pl.col("tenure") == 0)["cohort_size"]
        needed = max(min_cohort, min_share * (first.item() if first.len() else 0))
        ok = smallest.filter(pl.col("cohort_size") >= needed)["tenure"].to_list()
        # keep the run of tenures from 0 up to the first one below the threshold
        last = None
        for expected, tenure in enumerate(ok):
            if tenure != expected:
                break
            last = tenure
        out[brand] = last
    return out


def retention_band(
    retention: pl.DataFrame, level: float = 0.95, min_cohort: int = 30, min_share: float = 0.0
) -> pl.DataFrame:
    """Cohort retention by tenure: mean over replicates with its interval (clipped to 0-1).

    Tenures past ``retention_cut`` are left out: a curve end resting on a handful of
    customers says nothing. Columns scenario, tenure, brand, mean, low, high, n.
    """
    cut = retention_cut(retention, min_cohort, min_share)
    keep = pl.lit(False)
    for brand, last in cut.items():
        if last is not None:
            keep = keep | ((pl.col("brand") == brand) & (pl.col("tenure") <= last))
    frame = retention.filter(pl.col("retention").is_not_null() & keep)
    band = replicate_band(frame, "retention", level, by=("scenario", "tenure", "brand"))
    return band.with_columns(pl.col("low").clip(0.0, 1.0), pl.col("high").clip(0.0, 1.0))


# -- journey -----------------------------------------------------------------------------------
def state_label(stage: str, brand: str | None) -> str:
    """A state's label: the stage, or 'customer: brand'."""
    return f"customer: {brand}" if stage == "customer" and brand else stage


def state_order(label: str) -> tuple[int, str]:
    """Sort key of a state label: journey order, then the brand name."""
    stage = label.split(":")[0]
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else 9, label)


def _state_column(stage: str, brand: str, alias: str) -> pl.Expr:
    return (
        pl.when((pl.col(stage) == "customer") & pl.col(brand).is_not_null())
        .then(pl.lit("customer: ") + pl.col(brand))
        .otherwise(pl.col(stage))
        .alias(alias)
    )


def sankey_data(
    flows: pl.DataFrame,
    start: int,
    end: int,
    include_stays: bool = False,
    states: Sequence[str] | None = None,
) -> dict:
    """Nodes and links of a Sankey diagram of moves between states in steps start..end.

    Left nodes are states before a move, right nodes the states after it; flows are
    summed over the window and divided by the number of stacked runs (customers per
    run). With ``states``, both sides list exactly these states in this order (so two
    diagrams side by side line up); otherwise the states that occur, in journey order.

    Returns:
        {"states", "sides", "totals", "source", "target", "value"}: node i is state
        ``states_left + states_right`` [i] on side "before" or "after", ``totals`` its
        customers per run.
    """
    keys = [c for c in ("scenario", "seed") if c in flows.columns]
    runs = flows.select(keys).n_unique() if keys and flows.height else 1
    w = flows.filter((pl.col("step") >= start) & (pl.col("step") <= end))
    if not include_stays:
        same = (pl.col("from_stage") == pl.col("to_stage")) & (
            pl.col("from_brand").eq_missing(pl.col("to_brand"))
        )
        w = w.filter(~same)
    w = w.with_columns(
        _state_column("from_stage", "from_brand", "src"),
        _state_column("to_stage", "to_brand", "dst"),
    )
    agg = w.group_by(["src", "dst"]).agg(pl.col("customers").sum()).sort(["src", "dst"])
    if states is None:
        left = sorted(set(agg["src"].to_list()), key=state_order)
        right = sorted(set(agg["dst"].to_list()), key=state_order)
    else:
        left = right = list(states)
    index_left = {s: k for k, s in enumerate(left)}
    index_right = {s: len(left) + k for k, s in enumerate(right)}
    source, target, value = [], [], []
    totals = [0.0] * (len(left) + len(right))
    for src, dst, customers in agg.iter_rows():
        if src not in index_left or dst not in index_right:
            continue
        v = customers / max(runs, 1)
        source.append(index_left[src])
        target.append(index_right[dst])
        value.append(v)
        totals[index_left[src]] += v
        totals[index_right[dst]] += v
    return {
        "states": [*left, *right],
        "sides": ["before"] * len(left) + ["after"] * len(right),
        "totals": totals,
        "source": source,
        "target": target,
        "value": value,
    }


def journey_states(brands: Sequence[str]) -> list[str]:
    """Every state of the journey in order: stages, a customer state per brand, lapsed."""
    return ["unaware", "aware", "considering", *[f"customer: {b}" for b in brands], "lapsed"]


def flow_states(
    *flows: pl.DataFrame, start: int, end: int, include_stays: bool, brands: Sequence[str] = ()
) -> list[str]:
    """States that move in any of the frames over the window, in journey order.

    Customer states follow the order of ``brands`` (others after them, by name).
    """
    found: set[str] = set()
    for f in flows:
        d = sankey_data(f, start, end, include_stays)
        found.update(d["states"])
    ordered = [s for s in journey_states(brands) if s in found]
    return ordered + sorted(found - set(ordered), key=state_order)


def stage_shares_by_run(stages: pl.DataFrame) -> pl.DataFrame:
    """Share of all customers in each state per run and step.

    Columns: the run keys present (scenario, seed), step, state, share.
    """
    s = stages.with_columns(_state_column("stage", "brand", "state"))
    keys = [k for k in ("scenario", "seed") if k in s.columns]
    total = s.group_by([*keys, "step"]).agg(pl.col("customers").sum().alias("__n"))
    s = s.join(total, on=[*keys, "step"]).with_columns(
        (pl.col("customers") / pl.col("__n")).alias("share")
    )
    return s.select(*keys, "step", "state", "share")


def stage_shares(stages: pl.DataFrame) -> pl.DataFrame:
    """Share of customers in each state per step (mean over stacked runs)."""
    s = stage_shares_by_run(stages)
    return s.group_by(["step", "state"]).agg(pl.col("share").mean()).sort(["step", "state"])


def stage_band(stages: pl.DataFrame, level: float = 0.95) -> pl.DataFrame:
    """Share of customers per state with a band over replicates.

    Needs ``scenario`` and ``seed`` columns (stacked runs). A state missing from a run
    at some step (no customer there) counts as a share of 0 in that run.
    Columns scenario, step, state, mean, low, high, n.
    """
    s = stage_shares_by_run(stages)
    grid = (
        s.select("scenario", "seed", "step")
        .unique()
        .join(s.select("scenario", "state").unique(), on="scenario")
    )
    full = grid.join(s, on=["scenario", "seed", "step", "state"], how="left").with_columns(
        pl.col("share").fill_null(0.0)
    )
    band = replicate_band(full, "share", level, by=("scenario", "step", "state"))
    return band.with_columns(pl.col("low").clip(0.0, 1.0), pl.col("high").clip(0.0, 1.0))


def default_journey_window(starts: Sequence[int], last: int, width: int = 30) -> tuple[int, int]:
    """The journey page's first window of days: from the first event on, else from day 1.

    ``starts`` are the first days of the compared scenario's events (and responses); a
    window before every event would show a scenario that has not started yet.
    """
    first = min((int(t) for t in starts if 1 <= int(t) <= last), default=1)
    start = max(1, min(first, last - width + 1)) if last >= width else 1
    return start, min(last, start + width - 1)
