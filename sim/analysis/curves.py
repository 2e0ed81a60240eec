"""Response curves of ``journeysim optimise``: each searched channel's spend moved alone.

Around the best strategy, each channel whose spend the search set is run at
``CURVE_MULTIPLIERS`` x its best spend, the rest as in the best, on the validation seeds
(paired by seed with the best's own runs); ``marginal_returns`` reads its average and
marginal return on spend from those runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from sim.analysis import budget, runs
from sim.analysis.strategy import Search

#: Spend levels of a channel's response curve, as multiples of its spend in the best strategy
#: (0.8 and 1.2 give the marginal return by a central difference).
CURVE_MULTIPLIERS = (0.0, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0)


@dataclass(frozen=True)
class Lever:
    """A brand's ad spend on one channel, as a response curve traces it.

    Attributes:
        brand: the brand.
        channel: the channel.
        key: the ad-reach key the spend sets.
        per_reach: spend per year of a unit of reach (``N * cost * steps_per_year``).
        spend: the spend per year the curve is centred on (the best strategy's, or a
            typical one when the best spends nothing there).
    """

    brand: str
    channel: str
    key: str
    per_reach: float
    spend: float


def curve_levers(market: runs.Market, search: Search, best: dict) -> list[Lever]:
    """The channels whose spend the search set: every budget's, and ad-reach keys of the space."""
    cfg = market.config
    out = []
    for b in search.budgets:
        typical = b.high / len(b.channels)
        for c in b.channels:
            spend = best[b.reach_key(c)] * b.per_reach[c]
            out.append(Lever(b.brand, c, b.reach_key(c), b.per_reach[c], spend or typical))
    for p in search.params:
        parts = p.key.split(".")
        if len(parts) == 4 and parts[0] == "brands" and parts[2] == "ad_reach":
            per_reach = budget.spend_per_reach(cfg, parts[3])
            if per_reach <= 0:
                continue
            reach = best[p.key] or 0.5 * (p.low + p.high)
            out.append(Lever(parts[1], parts[3], p.key, per_reach, reach * per_reach))
    return out


def response_curves(
    runner: runs.Runner,
    market: runs.Market,
    search: Search,
    best: dict,
    levers: list[Lever],
    kpi: str,
    seeds: list[int],
    best_runs: list[dict],
) -> pl.DataFrame:
    """Each lever's channel run at ``CURVE_MULTIPLIERS`` x its spend, the rest as in the best.

    One row per lever, level and seed: the spend per year and over the run (expected:
    reach x ``per_reach``), the KPI and the lever's brand's revenue, profit, customers and
    value. Seeds are the validation seeds (paired with the best strategy's runs). A level the
    config refuses (too much reach) has no row.
    """
    years = float(market.config.sim.steps) / float(market.config.sim.steps_per_year)
    plan = []
    for lever in levers:
        for m in CURVE_MULTIPLIERS:
            reach = lever.spend * m / lever.per_reach
            at_best = abs(reach - best[lever.key]) <= 1e-15 * max(1.0, reach)
            plan.append((lever, m, reach, at_best))
    tasks = [
        search.task({**best, lever.key: reach}, s)
        for lever, _, reach, at_best in plan
        if not at_best
        for s in seeds
    ]
    done = iter(runner.run(tasks))
    rows = []
    for lever, m, reach, at_best in plan:
        got = best_runs if at_best else [next(done) for _ in seeds]
        for seed, r in zip(seeds, got, strict=True):
            if isinstance(r, runs.Failed):
                continue
            b = lever.brand
            rows.append(
                {
                    "brand": b,
                    "channel": lever.channel,
                    "multiplier": m,
                    "spend_per_year": reach * lever.per_reach,
                    "spend": reach * lever.per_reach * years,
                    "seed": seed,
                    "kpi": r[kpi],
                    "revenue": r[f"revenue__{b}"],
                    "profit": r[f"profit__{b}"],
                    "customers": r[f"customers__{b}"],
                    "value": r[f"value__{b}"],
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def _paired_slope(curve: pl.DataFrame, column: str, low: float, high: float) -> tuple:
    """Mean (y(high) - y(low)) / (spend(high) - spend(low)) over seeds, with a 95% interval."""
    from sim.sweeps.summary import t_interval

    a = curve.filter(pl.col("multiplier") == low).sort("seed")
    b = curve.filter(pl.col("multiplier") == high).sort("seed")
    pair = a.join(b, on="seed", suffix="_hi")
    if pair.height == 0:
        return math.nan, math.nan, math.nan
    dx = pair["spend_hi"] - pair["spend"]
    if (dx <= 0).any():
        return math.nan, math.nan, math.nan
    return t_interval(((pair[f"{column}_hi"] - pair[column]) / dx).to_numpy())


def marginal_returns(curves: pl.DataFrame) -> pl.DataFrame:
    """Per channel: average and marginal return on its spend, paired by seed.

    Over the run's spend ``x`` of the channel at the best strategy (level 1):

    - average ROAS = (revenue(x) - revenue(0)) / x, the revenue each unit of spend brought;
    - marginal ROAS = (revenue(1.2x) - revenue(0.8x)) / (0.4x), what the next unit brings;
    - marginal KPI = the same central difference of the optimised KPI per unit of spend
      (for profit: > 0 means spend more there, < 0 spend less; at an optimal split under a
      fixed budget the channels' marginal KPIs are equal).
    Each with a 95% t-interval over the paired seeds.
    """
    rows = []
    for (brand, channel), curve in curves.group_by(["brand", "channel"], maintain_order=True):
        at_best = curve.filter(pl.col("multiplier") == 1.0)
        row = {
            "brand": brand,
            "channel": channel,
            "spend_per_year": at_best["spend_per_year"].mean(),
            "spend": at_best["spend"].mean(),
        }
        for name, column, low in (
            ("average_roas", "revenue", 0.0),
            ("marginal_roas", "revenue", 0.8),
            ("marginal_kpi", "kpi", 0.8),
            ("marginal_value", "value", 0.8),
        ):
            mean, lo, hi = _paired_slope(curve, column, low, 1.0 if low == 0.0 else 1.2)
            row.update({name: mean, f"{name}_low": lo, f"{name}_high": hi})
        rows.append(row)
    out = pl.DataFrame(rows, infer_schema_length=None)
    return out.with_columns(pl.col(pl.Float64).fill_nan(None))
