"""Responses to levers, measured by paired runs, and drift over several years.

Every arm of an experiment runs the same seeds (common random numbers: same customers,
network, burn-in and per-step uniforms, ``docs/model.md`` section 5) and moves its lever from
step 0 with a scenario event appended to ``scenario.events`` (``start: 0``), so all arms share
the burn-in and differ only through the lever and its consequences. An arm is a key of
``ARMS``; a response is a ``Fact`` whose ``measure`` reads one seed's arms (``Arms``) and whose
``arms`` says which arms it needs, so only those are run.

Horizons: "1 year" reads the first ``sim.steps_per_year`` steps after the lever (customers at
the end of year 1, revenue summed over it); the long run reads the last of ``--years`` years
(customers at the end, revenue and spend of the last year: the effect of a sustained change).
Profit under a price change is recomputed with the unit cost held fixed (the config's price x
(1 - margin) per unit sold), since the run's ``profit`` keeps the margin share fixed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from sim.analysis.facts import static
from sim.analysis.facts.core import Fact, NotMeasured, measure_all, table

BASE = ("base",)
PRICE_STEP = 0.1  # elasticities from prices x (1 -/+ PRICE_STEP)
PRICE_GRID = (0.5, 0.7, 0.9, 1.0, 1.1, 1.5, 2.0)  # own-price multipliers of the profit curve
# Ad elasticities from budgets x (1 -/+ AD_STEP): an arc elasticity over the range budgets vary
# in the panels behind published estimates; with +/-10 % the paired revenue difference (0.3 %)
# was within noise (interval +/-0.02 on an elasticity of about 0.015).
AD_STEP = 0.5
AD_EXTREMES = (0.0, 2.0)  # budget multipliers of the profit check
# The profit check and the CACs run on a market this many times the given one (its own
# baseline, ``AD_BASE``): a 3-year profit moves by about 1 % when a budget is switched off, and
# at 20,000 customers its paired interval was +/-1.8 %.
AD_PROFIT_SCALE = 2
AD_BASE = ("ads_large",)
FRICTION_CUT = 0.5  # a churn-lowering lever: service friction on every channel halved
FAILURE_CUT = 0.5  # the other: failed service contacts halved, q' = 1 - FAILURE_CUT (1 - q)
REACH_RATIO = 2.0  # double jeopardy: each brand's reach is 1 / REACH_RATIO of the previous one
# Double jeopardy compares brands within one run (no pairing): its market is this many times
# the given one, so that a churn gap of half a point stands out from sampling noise.
JEOPARDY_SCALE = 6
#: Groups of responses (``--responses GROUP,...``).
GROUPS = ("price", "profit", "ads", "service", "jeopardy", "drift")


def arm_events(key: tuple) -> list[dict]:
    """The scenario events (from step 0 to the end) that make an arm."""
    kind = key[0]
    if kind == "price":
        change = round(key[2] - 1.0, 6)
        return [{"kind": "price_change", "brand": key[1], "change": change, "start": 0}]
    if kind == "ads":
        return [{"kind": "ad_burst", "brand": key[1], "multiplier": key[2], "start": 0}]
    if kind == "service":
        return [{"kind": "friction_reduction", "brand": key[1], "reduction": FRICTION_CUT,
                 "investment": 0.0, "start": 0}]  # fmt: skip
    return []


def identical_brands(cfg) -> None:
    """Make every brand a copy of the first, with ad reach in the ratio 4:2:1 (for 3 brands).

    Initial share and awareness are the brands' means; reach on every channel is the first
    brand's times ``REACH_RATIO ** -k`` for the k-th brand, rescaled so total reach is unchanged.
    Service keeps up with each brand's customers (no staffed capacity, ``service=capacity``):
    a desk staffed per 1,000 people would serve the largest brand's customers worst, and the
    brands would differ in service, not only in reach.
    """
    from omegaconf import OmegaConf

    names = list(cfg.brands)
    template = OmegaConf.to_container(cfg.brands[names[0]])
    weights = [REACH_RATIO**-k for k in range(len(names))]
    scale = len(names) / sum(weights)
    share = float(np.mean([cfg.brands[b].initial_share for b in names]))
    aware = float(np.mean([cfg.brands[b].initial_awareness for b in names]))
    for k, b in enumerate(names):
        brand = copy.deepcopy(template)
        brand["ad_reach"] = {c: v * weights[k] * scale for c, v in template["ad_reach"].items()}
        brand["initial_share"], brand["initial_awareness"] = share, aware
        brand["service_capacity"] = {}
        cfg.brands[b] = brand


def quality_changes(cfg, brand: str) -> dict[str, float]:
    """``scenario.changes`` that halve a brand's failed service contacts on every channel.

    Service quality q (P(a contact succeeds)) becomes ``1 - FAILURE_CUT (1 - q)`` from step 0:
    better service acting through the experience (fewer failures, fewer very bad touchpoints).
    """
    quality = cfg.brands[brand].service_quality
    return {
        f"brands.{brand}.service_quality.{c}": round(1.0 - FAILURE_CUT * (1.0 - float(q)), 9)
        for c, q in quality.items()
    }


def apply_arm(cfg, key: tuple) -> None:
    """Turn a baseline config into the arm ``key`` (in place)."""
    if key == ("jeopardy",):
        identical_brands(cfg)
        cfg.market.customers = int(cfg.market.customers) * JEOPARDY_SCALE
        return
    if key[0] == AD_BASE[0]:
        cfg.market.customers = int(cfg.market.customers) * AD_PROFIT_SCALE
        if len(key) > 1:
            cfg.scenario.events = [*list(cfg.scenario.events or []), *arm_events(("ads", *key[1:]))]
        return
    if key[0] == "quality":
        cfg.scenario.changes = {**dict(cfg.scenario.changes or {}), **quality_changes(cfg, key[1])}
        return
    events = arm_events(key)
    if events:
        cfg.scenario.events = [*list(cfg.scenario.events or []), *events]


@dataclass
class Arms:
    """One seed's runs, by arm key (``BASE`` is the market as given)."""

    results: dict

    def __getitem__(self, key: tuple):
        return self.results[key]

    @property
    def base(self):
        """The baseline run."""
        return self.results[BASE]

    @property
    def brands(self) -> list[str]:
        """The brands, in config order."""
        return list(self.base.config.brands)

    @property
    def spy(self) -> int:
        """Steps per year."""
        return int(self.base.config.sim.steps_per_year)

    @property
    def steps(self) -> int:
        """Recorded steps."""
        return int(self.base.metrics["step"].max())

    @property
    def years(self) -> int:
        """Whole years recorded."""
        return self.steps // self.spy

    def year(self, k: int) -> tuple[int, int]:
        """First and last step of year k (1-based)."""
        return (k - 1) * self.spy + 1, k * self.spy

    def long_year(self) -> int:
        """The last whole year; ``NotMeasured`` when the run is shorter than 2 years."""
        if self.years < 2:
            raise NotMeasured("needs runs of 2 years or more (--years)")
        return self.years


def _rows(result, brand: str, first: int, last: int) -> pl.DataFrame:
    m = result.metrics
    return m.filter((pl.col("brand") == brand) & pl.col("step").is_between(first, last))


def total(result, brand: str, column: str, first: int, last: int) -> float:
    """Sum of a metrics column of ``brand`` over steps first..last."""
    return float(_rows(result, brand, first, last)[column].sum())


def at(result, brand: str, column: str, step: int) -> float:
    """A metrics column of ``brand`` at one step."""
    return float(_rows(result, brand, step, step)[column].item())


def profit(result, brand: str, first: int, last: int) -> float:
    """Profit over steps first..last with the unit cost held at the config's price x (1 - margin).

    Units sold are revenue / price; without a price change this is the run's ``profit``
    (after ads, acquisition, service and programme costs).
    """
    br = result.config.brands[brand]
    unit_cost = float(br.price) * (1.0 - float(br.margin))
    m = _rows(result, brand, first, last)
    units = m["revenue"] / m["price"]
    costs = m["service_cost"] + m["programme_cost"] + m["ad_spend"] + m["acquisition_cost"]
    return float((m["revenue"] - units * unit_cost - costs).sum())


def elasticity(y_up: float, y_down: float, x_up: float, x_down: float) -> float:
    """Arc elasticity in logs: (ln y_up - ln y_down) / (ln x_up - ln x_down)."""
    if min(y_up, y_down, x_up, x_down) <= 0 or x_up == x_down:
        return math.nan
    return (math.log(y_up) - math.log(y_down)) / (math.log(x_up) - math.log(x_down))


def _up_down(kind: str, brand: str, step: float) -> tuple[tuple, tuple]:
    return (kind, brand, round(1.0 + step, 6)), (kind, brand, round(1.0 - step, 6))


def _price_customers(arms: Arms, step: int) -> dict[str, float]:
    out = {}
    for b in arms.brands:
        up, down = _up_down("price", b, PRICE_STEP)
        y_up, y_down = at(arms[up], b, "customers", step), at(arms[down], b, "customers", step)
        out[b] = elasticity(y_up, y_down, up[2], down[2])
    return out


def price_elasticity(arms: Arms) -> dict[str, float]:
    """Own-price elasticity of customers at the end of year 1 (prices x 1.1 and x 0.9)."""
    return _price_customers(arms, arms.spy)


def price_elasticity_long(arms: Arms) -> dict[str, float]:
    """Own-price elasticity of customers at the end of the last year."""
    return _price_customers(arms, arms.long_year() * arms.spy)


def price_elasticity_growth(arms: Arms) -> dict[str, float]:
    """|long-run elasticity| - |1-year elasticity|: above 0 when the long run responds more."""
    short, long = price_elasticity(arms), price_elasticity_long(arms)
    return {b: abs(long[b]) - abs(short[b]) for b in short}


def revenue_price_elasticity(arms: Arms) -> dict[str, float]:
    """Own-price elasticity of revenue over year 1."""
    first, last = arms.year(1)
    out = {}
    for b in arms.brands:
        up, down = _up_down("price", b, PRICE_STEP)
        y_up = total(arms[up], b, "revenue", first, last)
        y_down = total(arms[down], b, "revenue", first, last)
        out[b] = elasticity(y_up, y_down, up[2], down[2])
    return out


def profit_peak(arms: Arms) -> dict[str, float]:
    """Own-price multiplier of the largest profit over the run (``PRICE_GRID``).

    The peak is interpolated by a parabola in log price through the best grid point and its
    neighbours; at an end of the grid it is that end.
    """
    out = {}
    logs = np.log(PRICE_GRID)
    for b in arms.brands:
        p = np.array([
            profit(arms.base if g == 1.0 else arms[("price", b, g)], b, 1, arms.steps)
            for g in PRICE_GRID
        ])  # fmt: skip
        k = int(np.argmax(p))
        if k in (0, len(p) - 1):
            out[b] = PRICE_GRID[k]
            continue
        a, c, _ = np.polyfit(logs[k - 1 : k + 2], p[k - 1 : k + 2], 2)
        out[b] = float(np.exp(-c / (2 * a))) if a < 0 else PRICE_GRID[k]
    return out


def _profit_change(
    arms: Arms, lever: str, multiplier: float, baseline: tuple = BASE
) -> dict[str, float]:
    """Change (%) of each brand's profit over the run when its ``lever`` is x ``multiplier``.

    ``baseline`` is the arm it is paired with; ``lever`` the first item of the arms' keys.
    """
    out = {}
    for b in arms.brands:
        base = profit(arms[baseline], b, 1, arms.steps)
        arm = profit(arms[(lever, b, multiplier)], b, 1, arms.steps)
        out[b] = 100 * (arm - base) / abs(base) if base else math.nan
    return out


def profit_price_low(arms: Arms) -> dict[str, float]:
    """Change (%) of profit over the run at the lowest own price of the grid (x 0.5)."""
    return _profit_change(arms, "price", PRICE_GRID[0])


def profit_price_high(arms: Arms) -> dict[str, float]:
    """Change (%) of profit over the run at the highest own price of the grid (x 2)."""
    return _profit_change(arms, "price", PRICE_GRID[-1])


def _ad_elasticity(arms: Arms, first: int, last: int, column: str = "revenue") -> dict[str, float]:
    out = {}
    for b in arms.brands:
        up, down = _up_down("ads", b, AD_STEP)
        up_run, down_run = arms[up], arms[down]
        out[b] = elasticity(
            total(up_run, b, column, first, last),
            total(down_run, b, column, first, last),
            total(up_run, b, "ad_spend", first, last),
            total(down_run, b, "ad_spend", first, last),
        )
    return out


def ad_elasticity_acquisitions(arms: Arms) -> dict[str, float]:
    """Elasticity of acquisitions (a flow, like the sales of most published studies) over year 1.

    Revenue is a stock of customers: it follows acquisitions with the customers' lifetime, so
    its first-year elasticity is a fraction of the long-run one (docs, "Responses to levers").
    """
    return _ad_elasticity(arms, *arms.year(1), column="acquired")


def ad_elasticity(arms: Arms) -> dict[str, float]:
    """Revenue elasticity to realised ad spend a year after the change: in year 1's last month.

    As the price facts read the customers at the end of year 1, this reads the revenue the
    change has reached within a year (budgets x (1 +/- AD_STEP) from step 0). Revenue is a stock
    of customers: summed over year 1 it averages the months before the extra customers were won
    (``ad_elasticity_year``, about half of this).
    """
    first, last = arms.year(1)
    return _ad_elasticity(arms, max(first, last - max(1, arms.spy // 12) + 1), last)


def ad_elasticity_year(arms: Arms) -> dict[str, float]:
    """Revenue elasticity to realised ad spend over the whole of year 1 (revenue summed)."""
    return _ad_elasticity(arms, *arms.year(1))


def ad_elasticity_long(arms: Arms) -> dict[str, float]:
    """Revenue elasticity to realised ad spend in the last year (a sustained change)."""
    return _ad_elasticity(arms, *arms.year(arms.long_year()))


def ad_elasticity_growth(arms: Arms) -> dict[str, float]:
    """Last-year minus within-a-year ad elasticity: above 0 when advertising's effect builds up."""
    short, long = ad_elasticity(arms), ad_elasticity_long(arms)
    return {b: long[b] - short[b] for b in short}


def ad_profit_none(arms: Arms) -> dict[str, float]:
    """Change (%) of profit over the run with no advertising (market x AD_PROFIT_SCALE)."""
    return _profit_change(arms, AD_BASE[0], AD_EXTREMES[0], AD_BASE)


def ad_profit_double(arms: Arms) -> dict[str, float]:
    """Change (%) of profit over the run with the ad budget doubled (market x AD_PROFIT_SCALE)."""
    return _profit_change(arms, AD_BASE[0], AD_EXTREMES[1], AD_BASE)


def _winning_cost(result, brand: str, first: int, last: int) -> float:
    """Ad spend and acquisition costs (onboarding, commission) of a brand over steps first..last."""
    return total(result, brand, "ad_spend", first, last) + total(
        result, brand, "acquisition_cost", first, last
    )


def incremental_cac(arms: Arms) -> dict[str, float]:
    """Extra cost of winning per extra customer over year 1: budget x 2 against the baseline.

    The cost is the ads and the acquisition costs of the customers they win (fully loaded CAC).

    Doubling the budget gives a change large enough to measure on a few seeds (x 1.1 against
    x 0.9 moves acquisitions by less than their noise at 20,000 customers).
    """
    first, last = arms.year(1)
    base = arms[AD_BASE]
    out = {}
    for b in arms.brands:
        arm = arms[(*AD_BASE, b, AD_EXTREMES[1])]
        spend = _winning_cost(arm, b, first, last) - _winning_cost(base, b, first, last)
        won = total(arm, b, "acquired", first, last) - total(base, b, "acquired", first, last)
        out[b] = spend / won if won > 0 else math.nan
    return out


def average_cac(arms: Arms) -> dict[str, float]:
    """Cost of winning (ads, acquisition costs) per customer acquired in year 1 of the baseline."""
    first, last = arms.year(1)
    base = arms[AD_BASE]
    out = {}
    for b in arms.brands:
        won = total(base, b, "acquired", first, last)
        out[b] = _winning_cost(base, b, first, last) / won if won else math.nan
    return out


def cac_ratio(arms: Arms) -> dict[str, float]:
    """Incremental CAC over average CAC: above 1 when returns to advertising diminish."""
    inc, avg = incremental_cac(arms), average_cac(arms)
    return {b: inc[b] / avg[b] if avg[b] else math.nan for b in inc}


def _annual_churn(result, brand: str, first: int, last: int, exits: bool = True) -> float:
    """Churned per year as a share (%) of mean customers (``exits``: with category exits)."""
    m = _rows(result, brand, first, last)
    years = (last - first + 1) / float(result.config.sim.steps_per_year)
    mean = m["customers"].mean()
    churned = m["churned"].sum() - (0 if exits else m["churned_exit"].sum())
    return 100 * churned / mean / years if mean else math.nan


def service_churn_change(arms: Arms) -> dict[str, float]:
    """Change of annual churn (points) over the run with service friction halved."""
    return {b: _churn_change(arms, ("service", b), b) for b in arms.brands}


def _churn_change(arms: Arms, key: tuple, b: str) -> float:
    return _annual_churn(arms[key], b, 1, arms.steps) - _annual_churn(arms.base, b, 1, arms.steps)


def _nps_change(arms: Arms, key: tuple, b: str) -> float:
    """Change of the mean NPS over the run (points)."""
    return (_rows(arms[key], b, 1, arms.steps)["nps"].mean()
            - _rows(arms.base, b, 1, arms.steps)["nps"].mean())  # fmt: skip


def _nps_per_churn(arms: Arms, kind: str) -> dict[str, float]:
    out = {}
    for b in arms.brands:
        churn = _churn_change(arms, (kind, b), b)
        out[b] = _nps_change(arms, (kind, b), b) / -churn if churn < 0 else math.nan
    return out


def service_nps_per_churn(arms: Arms) -> dict[str, float]:
    """NPS points gained per point of annual churn removed by halving service friction.

    Mean NPS over the run; undefined when the lever does not lower churn. Friction acts mostly
    through choice (7.8), so churn falls with little change of satisfaction.
    """
    return _nps_per_churn(arms, "service")


def quality_churn_change(arms: Arms) -> dict[str, float]:
    """Change of annual churn (points) over the run with failed service contacts halved."""
    return {b: _churn_change(arms, ("quality", b), b) for b in arms.brands}


def quality_nps_change(arms: Arms) -> dict[str, float]:
    """Change of the mean NPS (points) over the run with failed service contacts halved."""
    return {b: _nps_change(arms, ("quality", b), b) for b in arms.brands}


def quality_nps_per_churn(arms: Arms) -> dict[str, float]:
    """NPS points gained per point of annual churn removed by halving failed service contacts."""
    return _nps_per_churn(arms, "quality")


def _jeopardy(arms: Arms) -> tuple[dict, dict, str, str]:
    run = arms[("jeopardy",)]
    names = list(run.config.brands)
    big, small = names[0], names[-1]
    steps = int(run.metrics["step"].max())
    customers = {b: float(_rows(run, b, 1, steps)["customers"].mean()) for b in (big, small)}
    churn = {b: _annual_churn(run, b, 1, steps, exits=False) for b in (big, small)}
    return customers, churn, big, small


def jeopardy_customers(arms: Arms) -> dict[str, float]:
    """Identical brands but for ad reach (4:2:1): the smallest's customers over the largest's."""
    customers, _, big, small = _jeopardy(arms)
    return {"": customers[small] / customers[big] if customers[big] else math.nan}


def jeopardy_churn(arms: Arms) -> dict[str, float]:
    """Identical brands but for ad reach: annual churn of the smallest minus the largest (points).

    Churn without leaving the category (or the population), which does not depend on the brand.
    """
    _, churn, big, small = _jeopardy(arms)
    return {"": churn[small] - churn[big]}


def _price_arms(brands: Sequence[str]) -> list[tuple]:
    return [k for b in brands for k in _up_down("price", b, PRICE_STEP)]


def _grid_arms(brands: Sequence[str]) -> list[tuple]:
    return [("price", b, g) for b in brands for g in PRICE_GRID if g != 1.0]


def _ad_arms(brands: Sequence[str]) -> list[tuple]:
    return [k for b in brands for k in _up_down("ads", b, AD_STEP)]


def _ad_extreme_arms(brands: Sequence[str]) -> list[tuple]:
    return [AD_BASE, *((*AD_BASE, b, m) for b in brands for m in AD_EXTREMES)]


def _service_arms(brands: Sequence[str]) -> list[tuple]:
    return [("service", b) for b in brands]


def _quality_arms(brands: Sequence[str]) -> list[tuple]:
    return [("quality", b) for b in brands]


def _jeopardy_arms(brands: Sequence[str]) -> list[tuple]:
    return [("jeopardy",)]


INF = math.inf
BIJMOLT = "Bijmolt, van Heerde and Pieters (2005), JMR: mean -2.62"
SETHURAMAN = "Sethuraman, Tellis and Briesch (2011), JMR: 0.12 short, 0.24 long"
#: Responses by group (``GROUPS``).
RESPONSES: dict[str, tuple[Fact, ...]] = {
    "price": (
        Fact("own-price elasticity of customers, 1 year", BIJMOLT, -2.5, -0.5,
             price_elasticity, arms=_price_arms),
        Fact("own-price elasticity of customers, long run", BIJMOLT + " (long run larger)",
             -INF, INF, price_elasticity_long, arms=_price_arms),
        Fact("long-run price response larger than 1-year", BIJMOLT, 0.0, INF,
             price_elasticity_growth, "|long| - |1 year|", arms=_price_arms),
        Fact("own-price elasticity of revenue, 1 year", "1 + elasticity of volume",
             -INF, INF, revenue_price_elasticity, arms=_price_arms),
    ),
    "profit": (
        Fact("profit-maximising own price", "interior optimum near the current price",
             0.7, 1.5, profit_peak, "x current price", arms=_grid_arms),
        Fact("profit change at own price x 0.5", "unit cost held fixed", -INF, INF,
             profit_price_low, "% over the run", arms=_grid_arms),
        Fact("profit change at own price x 2", "unit cost held fixed", -INF, INF,
             profit_price_high, "% over the run", arms=_grid_arms),
    ),
    "ads": (
        Fact("ad-spend elasticity of revenue, within a year", SETHURAMAN, 0.02, 0.25,
             ad_elasticity, "revenue in month 12", arms=_ad_arms),
        Fact("ad-spend elasticity of revenue, year 1 summed", "a stock of customers: the "
             "year's mean reads about half the year-end effect (reported)", -INF, INF,
             ad_elasticity_year, arms=_ad_arms),
        Fact("ad-spend elasticity of revenue, last year", SETHURAMAN, -INF, INF,
             ad_elasticity_long, arms=_ad_arms),
        Fact("ad-spend elasticity of acquisitions, 1 year", "a flow, as the sales of most "
             "studies (reported)", -INF, INF, ad_elasticity_acquisitions, arms=_ad_arms),
        Fact("ad response larger in the long run", SETHURAMAN, 0.0, INF,
             ad_elasticity_growth, "long - 1 year", arms=_ad_arms),
        Fact("profit change with no advertising", "budgets near an interior optimum",
             -INF, 3.0, ad_profit_none, "% over the run", arms=_ad_extreme_arms),
        Fact("profit change with the ad budget doubled", "budgets near an interior optimum",
             -INF, 3.0, ad_profit_double, "% over the run", arms=_ad_extreme_arms),
        Fact("incremental CAC / average CAC", "diminishing returns to advertising",
             1.0, INF, cac_ratio, arms=_ad_extreme_arms),
        Fact("incremental CAC", "extra spend / extra acquisitions, budget x 2 vs x 1",
             -INF, INF, incremental_cac, "per customer, year 1", arms=_ad_extreme_arms),
        Fact("average CAC", "(ad spend + acquisition costs) / acquisitions", -INF, INF, average_cac,
             "per customer, year 1", arms=_ad_extreme_arms),
    ),
    "service": (
        Fact("churn change with service friction halved", "better service keeps customers",
             -INF, 0.0, service_churn_change, "points a year", arms=_service_arms),
        Fact("NPS gain per point of churn removed, friction halved",
             "friction acts mostly through choice (reported)", -INF, INF,
             service_nps_per_churn, "NPS points", arms=_service_arms),
        Fact("churn change with failed service contacts halved", "better service keeps customers",
             -INF, 0.0, quality_churn_change, "points a year", arms=_quality_arms),
        Fact("NPS change with failed service contacts halved",
             "Reichheld (2003): NPS tracks loyalty", 0.0, INF, quality_nps_change, "points",
             arms=_quality_arms),
        Fact("NPS gain per point of churn removed, failures halved",
             "Reichheld (2003): NPS tracks loyalty", 0.0, INF, quality_nps_per_churn,
             "NPS points", arms=_quality_arms),
    ),
    "jeopardy": (
        Fact("double jeopardy: customers, smallest-reach / largest-reach brand",
             "Ehrenberg, Goodhardt and Barwise (1990), JM", 0.0, 1.0, jeopardy_customers,
             "ratio", arms=_jeopardy_arms),
        Fact("double jeopardy: churn without exits, smallest-reach minus largest-reach",
             "Ehrenberg, Goodhardt and Barwise (1990), JM", 0.0, INF, jeopardy_churn,
             "points", arms=_jeopardy_arms),
    ),
    # the baseline arm alone: its trends and NPS facts (``BASELINE_FACTS``) are always measured
    "drift": (),
}  # fmt: skip


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y)
    return float(np.polyfit(x[ok], y[ok], 1)[0]) if ok.sum() >= 2 else math.nan


def share_trend(arms: Arms) -> dict[str, float]:
    """Trend of each brand's share (least squares, points a year) over the recorded steps."""
    m = arms.base.metrics
    out = {}
    for b in arms.brands:
        rows = m.filter(pl.col("brand") == b)
        out[b] = _slope(rows["step"].to_numpy() / arms.spy, 100 * rows["share"].to_numpy())
    return out


def nps_trend(arms: Arms) -> dict[str, float]:
    """Trend of each brand's NPS (least squares, points a year) over steps 1..T."""
    m = arms.base.metrics.filter(pl.col("step") > 0)
    out = {}
    for b in arms.brands:
        rows = m.filter(pl.col("brand") == b)
        out[b] = _slope(rows["step"].to_numpy() / arms.spy, rows["nps"].to_numpy().astype(float))
    return out


def churn_trend(arms: Arms) -> dict[str, float]:
    """Trend of each brand's annual churn (least squares over whole years, points a year)."""
    years = np.arange(1, max(arms.long_year(), 2) + 1, dtype=float)
    return {
        b: _slope(years, np.array([_annual_churn(arms.base, b, *arms.year(int(k))) for k in years]))
        for b in arms.brands
    }


EHRENBERG = "Ehrenberg (near-stationary established markets)"
#: Measured on the baseline arm of a response run (its ``--years``).
BASELINE_FACTS: tuple[Fact, ...] = (
    Fact("share trend", EHRENBERG, -1.0, 1.0, share_trend, "points a year"),
    Fact("NPS trend", EHRENBERG, -3.0, 3.0, nps_trend, "points a year"),
    Fact("annual churn trend", EHRENBERG, -2.0, 2.0, churn_trend, "points a year"),
    *(Fact(f.name, f.source, f.low, f.high, (lambda arms, f=f: f.measure(arms.base)), f.unit)
      for f in static.FACTS if f.measure in (static.detractor_share, static.top_ltr_share,
                                             static.detractor_churn_ratio)),
)  # fmt: skip


def selected(groups: Sequence[str]) -> tuple[Fact, ...]:
    """The responses of the given groups (``GROUPS``), in table order."""
    return tuple(f for g in GROUPS if g in groups for f in RESPONSES[g])


def arms_needed(responses: Sequence[Fact], brands: Sequence[str]) -> list[tuple]:
    """Every arm the responses need, the baseline first, without repeats."""
    keys = [BASE]
    for fact in responses:
        for key in fact.arms(brands):
            if key not in keys:
                keys.append(key)
    return keys


def measure_responses(per_seed: Sequence[Arms], responses: Sequence[Fact]) -> pl.DataFrame:
    """The responses table (section "responses"), then the baseline arm's trends and NPS facts."""
    rows = measure_all(responses, per_seed, "responses")
    rows += measure_all(BASELINE_FACTS, per_seed, "baseline")
    return table(rows)
