"""The ground truth of a flighting plan: paired counterfactual runs and what they measure.

Every variant of the plan (``variants``) runs on the same replicate seeds ``s_1..s_R`` as the
plan itself (common random numbers: the same customers, network, cached status quo and
per-step uniforms), and differs from it only in the focal brand's ads on one channel. With
``y_v,s[w, b]`` a KPI of brand b in week w of variant v on seed s (acquisitions and revenue
summed over the week, customers at its end), and ``x_v,s[w, c]`` the brand's spend on c:

- **contribution** of channel c (``truth.parquet``): ``d_s[w, b] = y_base,s - y_off:c,s`` (the
  plan against the plan with c's spend removed in every week), reported as the mean over seeds
  with a 95 % t-interval (``sim.sweeps.summary.t_interval``) per week, and summed over weeks;
- **average ROAS** ``= sum_w d_s / sum_w x_base,s[w, c]`` per seed (revenue per unit of spend;
  ``acquisitions_per_spend`` likewise for acquisitions), mean and t-interval over seeds;
- **marginal ROAS** ``= (Y_base,s - Y_step:c,s) / (X_base,s - X_step:c,s)``, the plan against
  c's multipliers times ``1 - step`` (a backward difference: what the last ``step`` share of
  c's spend brought per unit), over the run;
- **response curve** (``curves.parquet``): c's whole plan times k for k in 0, 1 - step, 1 and
  the curve multipliers; totals over the run per k, and ``Y_k - Y_0`` paired;
- **carry-over** (``carryover.parquet``): c's multiplier raised by ``pulse`` in one week p;
  ``y_pulse:c,s[p + l] - y_base,s[p + l]`` for lags l = 0, 1, ... is how the pulse's effect
  spreads over the following weeks. ``carryover_weeks`` is the first lag by which the
  cumulative effect on acquisitions reaches 90 % of its total to the end of the run (None
  when the total is not above 0); revenue is a stock of customers, so its effect lasts as
  long as they stay;
- **halo and cannibalisation** (``cross_brand.parquet``): the contribution of the focal
  brand's channel to another brand's KPIs, ``y_base - y_off:c`` for that brand: above 0
  (the whole interval) a halo, below 0 cannibalisation (the ads took those customers from it);
- **additivity**: the contributions of the channels one by one against the contribution of
  all of them at once (``y_base - y_all_off``): their ratio is 1 where effects add up.

Regions (a market of several, ``regions=example``): every run also keeps its weekly KPIs and
media per region (the engine's region rows, which sum to the brand's), ``y_v,s[w, g, b]`` and
``x_v,s[w, g, c]``. The counterfactuals above remove a channel everywhere; their contribution
is then read per region too (``truth.parquet``'s region rows, ``truth_regions.parquet``: the
per-geo effect of the national plan, what a geo media-mix model estimates). A **geo lift**
(``geo_lift.parquet``, variants ``geo:c:g``) removes channel c in region g only, as a geo
experiment's holdout does: ``y_base,s[., g] - y_geo:c:g,s[., g]`` is its true lift in g, and
the same difference in the other regions its spillover (word of mouth, ratings and rivals'
responses cross regions; ads do not).

Why intervals matter: the truth is estimated from R seeds, so it has sampling error too.
Paired differences cancel part of it (common random numbers; docs/analysis.md says what the
engine's competing-rates draw leaves), and the interval half-width shrinks as ``1 / sqrt(R)``;
more customers narrow it for revenue, for acquisitions only up to about 10,000 (measured
there).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from sim.analysis.flighting import Plan

#: KPIs of every brand per week: flows summed over the week, stocks at its end.
KPIS = ("acquisitions", "revenue", "customers")
#: Cumulative share of a pulse's effect that defines how long it lasts.
CARRYOVER_SHARE = 0.9
#: The region label of the market's total rows with more than one region (as the engine's).
ALL = "all"


@dataclass(frozen=True)
class Variant:
    """One plan variant: a name (``base``, ``off:tv``, ``step:tv``, ...) and its plan."""

    name: str
    kind: str  # base, all_off, off, step, curve, pulse, geo
    channel: str | None
    factor: float | None
    plan: Plan
    region: str | None = None  # a geo lift's region


def variants(
    plan: Plan,
    step: float,
    curve: Sequence[float],
    pulse: float,
    pulse_week: int,
    geo_lift: bool = False,
) -> list[Variant]:
    """The plan and its counterfactuals, in the order they run (see the module docstring).

    With ``geo_lift`` (and more than one region) the geo lifts come last: per channel and
    region the plan with the channel removed in that region only.
    """
    out = [Variant("base", "base", None, 1.0, plan)]
    all_off = plan
    for c in plan.channels:
        all_off = all_off.scaled(c, 0.0)
    out.append(Variant("all_off", "all_off", None, 0.0, all_off))
    for c in plan.channels:
        out.append(Variant(f"off:{c}", "off", c, 0.0, plan.scaled(c, 0.0)))
        out.append(Variant(f"step:{c}", "step", c, 1.0 - step, plan.scaled(c, 1.0 - step)))
        for k in curve:
            out.append(Variant(f"curve:{c}:{k:g}", "curve", c, float(k), plan.scaled(c, k)))
        out.append(Variant(f"pulse:{c}", "pulse", c, pulse, plan.pulsed(c, pulse_week, pulse)))
    if geo_lift and len(plan.regions) > 1:
        for c in plan.channels:
            for g in plan.regions:
                out.append(Variant(f"geo:{c}:{g}", "geo", c, 0.0, plan.scaled_in(c, g, 0.0), g))
    return out


# -- what a worker keeps of a run --------------------------------------------------------
def week_column(steps_per_week: int) -> pl.Expr:
    """The week of a step: 1 for steps 1..S, 2 for S+1..2S, ... (S steps a week)."""
    return ((pl.col("step") - 1) // steps_per_week + 1).cast(pl.Int64).alias("week")


def weekly_kpis(metrics: pl.DataFrame, steps_per_week: int, by: tuple = ()) -> pl.DataFrame:
    """A run's KPIs per week and brand (brand rows; recorded steps only).

    Columns: week, brand, the ``by`` columns (``("region",)`` for the engine's region rows),
    acquisitions, revenue, ad_spend (sums over the week), customers (at its end), price
    (mean).
    """
    m = metrics
    if "segment" in m.columns:
        m = m.filter(pl.col("segment").is_null() | (pl.col("segment") == "all"))
    return (
        m.filter(pl.col("step") >= 1)
        .sort("step")
        .with_columns(week_column(steps_per_week))
        .group_by("week", "brand", *by, maintain_order=True)
        .agg(
            pl.col("acquired").sum().cast(pl.Float64).alias("acquisitions"),
            pl.col("revenue").sum().alias("revenue"),
            pl.col("customers").last().cast(pl.Float64).alias("customers"),
            pl.col("price").mean().alias("price"),
            pl.col("ad_spend").sum().alias("ad_spend"),
        )
        .sort("week", "brand", *by)
    )


def weekly_media(channels: pl.DataFrame, steps_per_week: int, by: tuple = ()) -> pl.DataFrame:
    """week, brand, the ``by`` columns, channel, spend, impressions summed per week."""
    c = channels
    if "segment" in c.columns:
        c = c.filter(pl.col("segment") == "all")
    return (
        c.filter(pl.col("step") >= 1)
        .with_columns(week_column(steps_per_week))
        .group_by("week", "brand", *by, "channel", maintain_order=True)
        .agg(pl.col("spend").sum(), pl.col("impressions").sum().cast(pl.Float64))
        .sort("week", "brand", *by, "channel")
    )


def extract(
    result,
    steps_per_week: int,
    paths_brand: str | None = None,
    paths: bool = False,
    regional: bool = False,
):
    """Worker side: a run's weekly KPIs and media (and its path counts if ``paths``).

    With ``regional`` also per region (``kpis_region``, ``media_region``: the engine's region
    rows, ``Result.regions`` and ``Result.region_frames["channels"]``).
    """
    out = {
        "kpis": weekly_kpis(result.metrics, steps_per_week),
        "media": weekly_media(result.channels, steps_per_week),
    }
    if regional:
        out["kpis_region"] = weekly_kpis(result.regions, steps_per_week, ("region",))
        out["media_region"] = weekly_media(
            result.region_frames["channels"], steps_per_week, ("region",)
        )
    if paths:
        from sim.analysis.journeys import aggregate_paths, customer_paths

        per_customer = customer_paths(result.touchpoints, paths_brand)
        out["paths"] = aggregate_paths(per_customer)
        out["traced"] = per_customer.height
    return out


# -- arrays ------------------------------------------------------------------------------
@dataclass
class Runs:
    """Every variant's weekly arrays over seeds.

    Attributes:
        y: variant name -> ``[R, W, B, K]`` KPIs (``KPIS`` order) per seed, week, brand.
        x: variant name -> ``[R, W, C]`` the focal brand's spend per channel of the plan.
        brands: the brands, in the arrays' order.
        channels: the plan's channels.
        yr: with more than one region, variant name -> ``[R, W, G, B, K]`` per region g.
        xr: likewise ``[R, W, G, C]``, the focal brand's spend per region.
        regions: the regions of ``yr`` and ``xr`` (empty with one region).
    """

    y: dict[str, np.ndarray]
    x: dict[str, np.ndarray]
    brands: list[str]
    channels: tuple[str, ...]
    yr: dict[str, np.ndarray] = field(default_factory=dict)
    xr: dict[str, np.ndarray] = field(default_factory=dict)
    regions: tuple[str, ...] = ()


def _grid(frame: pl.DataFrame, keys: dict[str, list[str]], values: list[str]) -> np.ndarray:
    """``frame``'s ``values`` as an array [W, *keys, V], rows ordered by week then ``keys``.

    Every (week, key...) combination must be present once (the engine writes every brand,
    region and channel each step).
    """
    order = [pl.col(k).replace_strict(names, list(range(len(names))), return_dtype=pl.Int64)
             .alias(f"_{k}") for k, names in keys.items()]  # fmt: skip
    f = frame.filter(*[pl.col(k).is_in(names) for k, names in keys.items()])
    f = f.with_columns(order).sort("week", *[f"_{k}" for k in keys])
    shape = [-1, *(len(n) for n in keys.values()), len(values)]
    return f.select(values).to_numpy().astype(float).reshape(shape)


def collect(got: dict[str, list[dict]], brands: list[str], plan: Plan) -> Runs:
    """Arrays from the workers' frames (``got``: variant name -> one extract per seed)."""
    y, x, yr, xr = {}, {}, {}, {}
    regional = len(plan.regions) > 1
    for name, per_seed in got.items():
        ys, xs = [], []
        for g in per_seed:
            k = g["kpis"]
            arr = np.stack(
                [
                    np.stack([k.filter(pl.col("brand") == b)[col].to_numpy() for b in brands], 1)
                    for col in KPIS
                ],
                -1,
            )
            ys.append(arr)
            m = g["media"].filter(pl.col("brand") == plan.brand)
            xs.append(
                np.stack(
                    [m.filter(pl.col("channel") == c)["spend"].to_numpy() for c in plan.channels], 1
                )  # fmt: skip
            )
        y[name], x[name] = np.asarray(ys, float), np.asarray(xs, float)
        if regional:
            regions = list(plan.regions)
            yr[name] = np.asarray([
                _grid(g["kpis_region"], {"region": regions, "brand": brands}, list(KPIS))
                for g in per_seed
            ])  # fmt: skip
            xr[name] = np.asarray([
                _grid(g["media_region"].filter(pl.col("brand") == plan.brand),
                      {"region": regions, "channel": list(plan.channels)}, ["spend"])[..., 0]
                for g in per_seed
            ])  # fmt: skip
    return Runs(y, x, brands, plan.channels, yr, xr, plan.regions if regional else ())


def interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval over seeds (NaN bounds with one seed)."""
    from sim.sweeps.summary import t_interval

    return t_interval(np.asarray(values, dtype=float))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)


def _none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


# -- tables ------------------------------------------------------------------------------
def contributions(r: Runs, plan: Plan) -> pl.DataFrame:
    """``truth.parquet``: per channel, week, region, brand and KPI the paired contribution.

    Columns: channel, week, region, brand, kpi, incremental (mean over seeds of
    ``y_base - y_off:c``), incremental_low, incremental_high, spend (the focal brand's spend on
    c that week in the plan, mean over seeds), replicates.

    With more than one region: per channel and week the market's rows (region ``all``) and
    then each region's, the same removal (c everywhere) read in the region's rows; the
    regions' rows sum to the ``all`` rows (the engine's region rows sum to the brand's).
    """
    rows = []
    base = r.y["base"]
    n_seeds = base.shape[0]
    national = ALL if r.regions else plan.regions[0]
    for ci, c in enumerate(r.channels):
        parts = [(national, base - r.y[f"off:{c}"], r.x["base"][:, :, ci].mean(0))]
        for gi, g in enumerate(r.regions):
            d = r.yr["base"][:, :, gi] - r.yr[f"off:{c}"][:, :, gi]
            parts.append((g, d, r.xr["base"][:, :, gi, ci].mean(0)))
        for w in range(base.shape[1]):
            for region, d, spend in parts:
                for bi, b in enumerate(r.brands):
                    for ki, k in enumerate(KPIS):
                        mean, lo, hi = interval(d[:, w, bi, ki])
                        rows.append((c, w + 1, region, b, k, mean, _none(lo), _none(hi),
                                     float(spend[w]), n_seeds))  # fmt: skip
    return pl.DataFrame(
        rows,
        schema={"channel": pl.String, "week": pl.Int64, "region": pl.String, "brand": pl.String,
                "kpi": pl.String, "incremental": pl.Float64, "incremental_low": pl.Float64,
                "incremental_high": pl.Float64, "spend": pl.Float64, "replicates": pl.Int64},
        orient="row",
    )  # fmt: skip


def _total(y: np.ndarray, bi: int, kpi: str) -> np.ndarray:
    """Per seed, a KPI over the run: a flow summed over weeks, a stock at the last week."""
    ki = KPIS.index(kpi)
    return y[:, -1, bi, ki] if kpi == "customers" else y[:, :, bi, ki].sum(1)


def carryover(r: Runs, plan: Plan, pulse_week: int) -> pl.DataFrame:
    """``carryover.parquet``: per channel and lag after the pulse, its paired effect.

    Columns: channel, lag, week, extra_spend, acquisitions, acquisitions_low/high, revenue,
    revenue_low/high, cumulative_share (of the acquisitions effect to the end of the run).
    """
    bi = r.brands.index(plan.brand)
    rows = []
    for ci, c in enumerate(r.channels):
        d = r.y[f"pulse:{c}"] - r.y["base"]
        dx = r.x[f"pulse:{c}"][:, :, ci] - r.x["base"][:, :, ci]
        acq = d[:, pulse_week - 1 :, bi, KPIS.index("acquisitions")]
        total = acq.mean(0).sum()
        cumulative = np.cumsum(acq.mean(0))
        for lag in range(acq.shape[1]):
            w = pulse_week + lag
            a, alo, ahi = interval(acq[:, lag])
            v, vlo, vhi = interval(d[:, w - 1, bi, KPIS.index("revenue")])
            share = float(cumulative[lag] / total) if total > 0 else None
            rows.append((c, lag, w, float(dx[:, w - 1].mean()), a, _none(alo), _none(ahi), v,
                         _none(vlo), _none(vhi), share))  # fmt: skip
    return pl.DataFrame(
        rows,
        schema={"channel": pl.String, "lag": pl.Int64, "week": pl.Int64,
                "extra_spend": pl.Float64, "acquisitions": pl.Float64,
                "acquisitions_low": pl.Float64, "acquisitions_high": pl.Float64,
                "revenue": pl.Float64, "revenue_low": pl.Float64, "revenue_high": pl.Float64,
                "cumulative_share": pl.Float64},
        orient="row",
    )  # fmt: skip


def carryover_weeks(table: pl.DataFrame, channel: str) -> int | None:
    """The first lag whose cumulative share of the pulse's acquisitions reaches 90 %."""
    rows = table.filter(pl.col("channel") == channel)
    hit = rows.filter(pl.col("cumulative_share") >= CARRYOVER_SHARE)
    return int(hit["lag"].min()) if hit.height else None


def channel_table(r: Runs, plan: Plan, step: float, carry: pl.DataFrame) -> pl.DataFrame:
    """``truth_channels.parquet``: per channel the totals, ROAS and marginal ROAS.

    Columns: channel, region, spend (the plan's over the run), contribution_<kpi> and its
    _low/_high for each KPI (the focal brand's; customers at the end of the run), roas,
    acquisitions_per_spend, marginal_roas, marginal_acquisitions_per_spend (each with
    _low/_high: see the module docstring), step, carryover_weeks, replicates.
    """
    bi = r.brands.index(plan.brand)
    rows = []
    for ci, c in enumerate(r.channels):
        row: dict = {"channel": c, "region": ALL if r.regions else plan.regions[0]}
        spend = r.x["base"][:, :, ci].sum(1)
        row["spend"] = float(spend.mean())
        for k in KPIS:
            d = _total(r.y["base"], bi, k) - _total(r.y[f"off:{c}"], bi, k)
            m, lo, hi = interval(d)
            row |= {f"contribution_{k}": m, f"contribution_{k}_low": _none(lo),
                    f"contribution_{k}_high": _none(hi)}  # fmt: skip
        dx_step = spend - r.x[f"step:{c}"][:, :, ci].sum(1)
        for name, k in (("roas", "revenue"), ("acquisitions_per_spend", "acquisitions")):
            d = _total(r.y["base"], bi, k) - _total(r.y[f"off:{c}"], bi, k)
            m, lo, hi = interval(_ratio(d, spend))
            row |= {name: m, f"{name}_low": _none(lo), f"{name}_high": _none(hi)}
            d = _total(r.y["base"], bi, k) - _total(r.y[f"step:{c}"], bi, k)
            m, lo, hi = interval(_ratio(d, dx_step))
            row |= {f"marginal_{name}": m, f"marginal_{name}_low": _none(lo),
                    f"marginal_{name}_high": _none(hi)}  # fmt: skip
        row["step"] = step
        row["carryover_weeks"] = carryover_weeks(carry, c)
        row["replicates"] = int(spend.size)
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def curves(r: Runs, plan: Plan, step: float, curve: Sequence[float]) -> pl.DataFrame:
    """``curves.parquet``: per channel and multiplier k of its plan, the totals over the run.

    Columns: channel, multiplier, spend (mean), acquisitions, revenue (the focal brand's, mean
    over seeds), incremental_acquisitions, incremental_revenue (``Y_k - Y_0`` paired, with
    _low/_high).
    """
    bi = r.brands.index(plan.brand)
    rows = []
    for ci, c in enumerate(r.channels):
        points = {0.0: f"off:{c}", 1.0 - step: f"step:{c}", 1.0: "base"}
        points |= {float(k): f"curve:{c}:{k:g}" for k in curve}
        for k in sorted(points):
            v = points[k]
            row = {"channel": c, "multiplier": k, "spend": float(r.x[v][:, :, ci].sum(1).mean())}
            for kpi in ("acquisitions", "revenue"):
                total = _total(r.y[v], bi, kpi)
                m, lo, hi = interval(total - _total(r.y[f"off:{c}"], bi, kpi))
                row |= {kpi: float(total.mean()), f"incremental_{kpi}": m,
                        f"incremental_{kpi}_low": _none(lo),
                        f"incremental_{kpi}_high": _none(hi)}  # fmt: skip
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def cross_brand(r: Runs, plan: Plan) -> pl.DataFrame:
    """``cross_brand.parquet``: the focal brand's channels' contributions to other brands.

    Columns: channel, brand, kpi, effect (``Y_base - Y_off:c`` of that brand, paired, over the
    run; customers at the end), effect_low, effect_high, kind: ``halo`` (the interval above 0),
    ``cannibalisation`` (below 0) or ``none`` (it includes 0, or one seed).
    """
    rows = []
    for c in r.channels:
        for bi, b in enumerate(r.brands):
            if b == plan.brand:
                continue
            for k in KPIS:
                m, lo, hi = interval(_total(r.y["base"], bi, k) - _total(r.y[f"off:{c}"], bi, k))
                kind = "none"
                if not math.isnan(lo) and lo > 0:
                    kind = "halo"
                elif not math.isnan(hi) and hi < 0:
                    kind = "cannibalisation"
                rows.append((c, b, k, m, _none(lo), _none(hi), kind))
    return pl.DataFrame(
        rows,
        schema={"channel": pl.String, "brand": pl.String, "kpi": pl.String,
                "effect": pl.Float64, "effect_low": pl.Float64, "effect_high": pl.Float64,
                "kind": pl.String},
        orient="row",
    )  # fmt: skip


def additivity(r: Runs, plan: Plan) -> dict[str, dict[str, float | None]]:
    """Per KPI: the channels' contributions one by one, all at once, and their ratio.

    ``sum_c (Y_base - Y_off:c)`` against ``Y_base - Y_all_off`` (means over seeds); the
    ratio's interval is the t-interval of the per-seed ratios.
    """
    bi = r.brands.index(plan.brand)
    out = {}
    for k in KPIS:
        base = _total(r.y["base"], bi, k)
        parts = sum(base - _total(r.y[f"off:{c}"], bi, k) for c in r.channels)
        together = base - _total(r.y["all_off"], bi, k)
        m, lo, hi = interval(_ratio(parts, together))
        out[k] = {"sum_of_channels": float(np.mean(parts)),
                  "all_channels": float(np.mean(together)),
                  "ratio": _none(m), "ratio_low": _none(lo), "ratio_high": _none(hi)}  # fmt: skip
    return out


def precision(channels: pl.DataFrame, kpi: str = "revenue") -> pl.DataFrame:
    """Per channel, the truth's relative half-width: (high - low) / 2 / |contribution|."""
    col = f"contribution_{kpi}"
    return channels.select(
        "channel",
        ((pl.col(f"{col}_high") - pl.col(f"{col}_low")) / 2 / pl.col(col).abs()).alias(
            "relative_half_width"
        ),
    )


# -- regions -----------------------------------------------------------------------------
def _total_region(y: np.ndarray, gi, bi: int, kpi: str) -> np.ndarray:
    """Per seed, a KPI over the run in region(s) ``gi`` of ``[R, W, G, B, K]`` (summed)."""
    ki = KPIS.index(kpi)
    part = y[:, -1, gi, bi, ki] if kpi == "customers" else y[:, :, gi, bi, ki].sum(1)
    return part.sum(-1) if part.ndim > 1 else part


def _effect(row: dict, name: str, values: np.ndarray) -> None:
    m, lo, hi = interval(values)
    row |= {name: m, f"{name}_low": _none(lo), f"{name}_high": _none(hi)}


def region_table(r: Runs, plan: Plan) -> pl.DataFrame:
    """``truth_regions.parquet``: per channel and region the national removal's effect there.

    The channel removed everywhere (``off:c``), read in region g's rows over the run (the
    focal brand's): columns channel, region, spend (the plan's in g), contribution_<kpi> with
    _low/_high, roas and acquisitions_per_spend (per seed: g's contribution / g's spend) with
    _low/_high, replicates. Empty with one region.
    """
    bi = r.brands.index(plan.brand)
    rows = []
    for ci, c in enumerate(r.channels):
        for gi, g in enumerate(r.regions):
            spend = r.xr["base"][:, :, gi, ci].sum(1)
            row: dict = {"channel": c, "region": g, "spend": float(spend.mean())}
            for k in KPIS:
                d = _total_region(r.yr["base"], gi, bi, k) - _total_region(
                    r.yr[f"off:{c}"], gi, bi, k
                )
                _effect(row, f"contribution_{k}", d)
            for name, k in (("roas", "revenue"), ("acquisitions_per_spend", "acquisitions")):
                d = _total_region(r.yr["base"], gi, bi, k) - _total_region(
                    r.yr[f"off:{c}"], gi, bi, k
                )
                _effect(row, name, _ratio(d, spend))
            row["replicates"] = int(spend.size)
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def geo_lift(r: Runs, plan: Plan) -> pl.DataFrame:
    """``geo_lift.parquet``: per channel and region g, the truth of a geo holdout in g.

    Variant ``geo:c:g`` removes c in g only; with ``y`` the focal brand's KPIs over the run,
    paired per seed: ``lift_<kpi>`` = ``y_base - y_geo`` in g (what a geo experiment
    estimates), ``spillover_<kpi>`` the same in the other regions, ``total_<kpi>`` in the
    market (each with _low/_high); ``spend_removed`` (g's spend on c in the plan minus the
    holdout's), ``lift_roas`` = lift_revenue / spend_removed and ``total_roas`` =
    total_revenue / spend_removed per seed (_low/_high), replicates. Empty without geo lifts.
    """
    bi = r.brands.index(plan.brand)
    rows = []
    for ci, c in enumerate(r.channels):
        for gi, g in enumerate(r.regions):
            v = f"geo:{c}:{g}"
            if v not in r.yr:
                continue
            others = [h for h in range(len(r.regions)) if h != gi]
            removed = r.xr["base"][:, :, gi, ci].sum(1) - r.xr[v][:, :, gi, ci].sum(1)
            row: dict = {"channel": c, "region": g, "spend_removed": float(removed.mean())}
            for k in KPIS:
                base, held = r.yr["base"], r.yr[v]
                _effect(
                    row,
                    f"lift_{k}",
                    _total_region(base, gi, bi, k) - _total_region(held, gi, bi, k),
                )
                _effect(
                    row,
                    f"spillover_{k}",
                    _total_region(base, others, bi, k) - _total_region(held, others, bi, k),
                )
                _effect(row, f"total_{k}", _total(r.y["base"], bi, k) - _total(r.y[v], bi, k))
            lift = _total_region(r.yr["base"], gi, bi, "revenue") - _total_region(
                r.yr[v], gi, bi, "revenue"
            )
            _effect(row, "lift_roas", _ratio(lift, removed))
            total = _total(r.y["base"], bi, "revenue") - _total(r.y[v], bi, "revenue")
            _effect(row, "total_roas", _ratio(total, removed))
            row["replicates"] = int(removed.size)
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)
