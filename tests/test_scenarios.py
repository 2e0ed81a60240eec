"""The scenario library at small sizes: every scenario runs with sane metrics, and each
what-if moves the market in the direction a user expects against the baseline.

Comparisons use common random numbers (the same seed gives the same customers and draws
in every scenario), are pooled over a few seeds, and compare sums over the event's window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import run

from sim import load_config

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.stem for p in (ROOT / "conf" / "scenario").glob("*.yaml"))
N = 2000
STEPS = 120
SEEDS = (0, 1, 2, 3)


def _events(name: str):
    return list(load_config([f"scenario={name}"]).scenario.events)


def _steps_for(name: str) -> int:
    """STEPS, or longer when the scenario's events end later (pr_crisis runs to day 160)."""
    ends = [int(ev.end if ev.end is not None else ev.start) for ev in _events(name)]
    return max([STEPS, *ends])


def srun(*overrides: str, steps: int = STEPS, seed: int = 0):
    return run(f"market.customers={N}", f"sim.steps={steps}", f"seed={seed}", *overrides)


def window(result, brand: str, column: str, start: int, end: int):
    """Sum of a column for a brand over steps start <= t < end."""
    m = result.metrics.filter(
        (pl.col("brand") == brand) & (pl.col("step") >= start) & (pl.col("step") < end)
    )
    return m[column].sum()


def pooled(overrides, brand, column, start, end, steps=STEPS, seeds=SEEDS) -> list:
    return [window(srun(*overrides, steps=steps, seed=s), brand, column, start, end) for s in seeds]


def series(result, brand: str, column: str) -> np.ndarray:
    return result.metrics.filter(pl.col("brand") == brand).sort("step")[column].to_numpy()


# -- every scenario runs and its metrics are sane ------------------------------------------------
def test_the_library_has_the_advertised_scenarios():
    expected = {"baseline", "service_outage", "price_war", "new_entrant", "chatbot_rollout",
                "loyalty_programme", "viral_campaign", "pr_crisis"}  # fmt: skip
    assert expected <= set(SCENARIOS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_runs_with_sane_metrics(name):
    steps = _steps_for(name)
    r = srun(f"scenario={name}", steps=steps)
    m = r.metrics
    brands = list(r.config.brands.keys())
    assert r.config.scenario.name == name
    assert m.height == (steps + 1) * len(brands)
    for b in brands:
        c, a, ch = series(r, b, "customers"), series(r, b, "acquired"), series(r, b, "churned")
        # flow identity: customers move only by acquisition and churn
        assert np.array_equal(c[1:], c[:-1] + a[1:] - ch[1:]), b
        assert (c >= 0).all() and (c <= N).all(), b
        assert (series(r, b, "lapsed") <= ch).all(), b
    assert ((m["share"] >= 0) & (m["share"] <= 1)).all()
    shares = m.group_by("step").agg(pl.col("share").sum(), pl.col("customers").sum())
    assert np.allclose(shares.filter(pl.col("customers") > 0)["share"].to_numpy(), 1.0)
    nps = m["nps"].drop_nulls()
    assert ((nps >= -100) & (nps <= 100)).all()
    sat = m["satisfaction"].drop_nulls()
    assert ((sat >= 0) & (sat <= 1)).all()
    assert (m["revenue"] >= 0).all() and (m["ad_spend"] >= 0).all()
    per_step = r.stages.group_by("step").agg(pl.col("customers").sum())
    assert (per_step["customers"] == N).all()
    assert m["acquired"].sum() > 0 and m["churned"].sum() > 0  # the market moves


# -- common random numbers: before the first event a scenario is the baseline exactly -------------
CRN_CASES = [s for s in SCENARIOS if s != "baseline"]


@pytest.mark.parametrize("name", CRN_CASES)
def test_scenario_equals_baseline_before_its_first_event(name):
    first = min(int(ev.start) for ev in _events(name))
    assert first > 0
    steps = _steps_for(name)
    base = srun(steps=steps)
    scen = srun(f"scenario={name}", steps=steps)
    brands = list(base.config.brands.keys())
    before = (pl.col("step") < first) & pl.col("brand").is_in(brands)
    a, b = base.metrics.filter(before), scen.metrics.filter(before)
    assert a.height == first * len(brands)
    assert a.equals(b)
    # and the scenario does change something from its first event on
    assert not base.metrics.filter(pl.col("brand").is_in(brands)).equals(
        scen.metrics.filter(pl.col("brand").is_in(brands))
    )


# -- effect signs --------------------------------------------------------------------------------
# More service contacts (about one a month per customer) make the outage's effect clear.
OUTAGE_MARKET = ("service.contact_rate=0.03",)


def test_service_outage_raises_incumbent_churn_in_its_window():
    (ev,) = _events("service_outage")
    assert (ev.brand, ev.start, ev.end) == ("incumbent", 60, 74)
    base = pooled(OUTAGE_MARKET, "incumbent", "churned", 60, 74)
    out = pooled((*OUTAGE_MARKET, "scenario=service_outage"), "incumbent", "churned", 60, 74)
    assert sum(out) > 1.3 * sum(base), (base, out)
    assert all(o >= b for o, b in zip(out, base, strict=True)), (base, out)
    # the outage shows as failed service contacts in its window
    r = srun(*OUTAGE_MARKET, "scenario=service_outage")
    inside = window(r, "incumbent", "failures", 60, 74) / window(r, "incumbent", "contacts", 60, 74)
    after = window(r, "incumbent", "failures", 74, STEPS + 1) / window(
        r, "incumbent", "contacts", 74, STEPS + 1
    )
    assert inside > 0.5 > 0.35 > after


PRICE_CUT = "scenario.events=[{kind: price_change, brand: budget, change: -0.3, start: 10}]"


def test_price_cut_raises_the_brands_acquisitions():
    base = pooled((), "budget", "acquired", 10, STEPS + 1)
    cut = pooled((PRICE_CUT,), "budget", "acquired", 10, STEPS + 1)
    assert sum(cut) > 1.08 * sum(base), (base, cut)
    r = srun(PRICE_CUT)
    price = series(r, "budget", "price")
    assert np.allclose(price[:10], 0.7) and np.allclose(price[10:], 0.49)
    for rival, p in (("incumbent", 1.0), ("challenger", 0.9)):  # rivals do not respond here
        assert np.allclose(series(r, rival, "price"), p)


# Churn independent of the brand chosen is 0.0006 a day (about 20% a year) here, so the
# programme's cut of the churn hazard shows beside switching at purchase occasions.
LOYALTY_MARKET = ("market.traits.churn_propensity.beta=2000",)


def test_loyalty_programme_lowers_the_brands_churn():
    (ev,) = _events("loyalty_programme")
    assert (ev.brand, ev.start) == ("incumbent", 30)
    base = pooled(LOYALTY_MARKET, "incumbent", "churned", 30, STEPS + 1)
    loyal = pooled((*LOYALTY_MARKET, "scenario=loyalty_programme"), "incumbent", "churned", 30,
                   STEPS + 1)  # fmt: skip
    assert sum(loyal) < 0.93 * sum(base), (base, loyal)
    # each member costs 0.01 a step from day 30, nothing before
    r = srun(*LOYALTY_MARKET, "scenario=loyalty_programme")
    cost, customers = series(r, "incumbent", "programme_cost"), series(r, "incumbent", "customers")
    assert np.all(cost[:30] == 0.0)
    assert np.allclose(cost[30:], 0.01 * customers[30:])
    for other in ("challenger", "budget"):
        assert np.all(series(r, other, "programme_cost") == 0.0)


def test_new_entrant_has_no_customers_before_launch_and_some_after():
    r = srun("scenario=new_entrant")
    assert "newco" in r.config.brands
    launch = 90
    m = r.metrics.filter(pl.col("brand") == "newco").sort("step")
    before = m.filter(pl.col("step") < launch)
    assert before.height == launch
    assert (before["customers"] == 0).all() and (before["acquired"] == 0).all()
    assert (before["aware"] == 0).all() and (before["ad_spend"] == 0).all()
    after = m.filter(pl.col("step") >= launch)
    assert after["acquired"].sum() > 0
    assert after["customers"][-1] > 0
    assert (after.filter(pl.col("step") > launch + 10)["customers"] > 0).all()


def test_chatbot_rollout_changes_incumbent_service_outcomes_after_day_30_only():
    start = 30
    fails_base = fails_bot = contacts_base = contacts_bot = 0
    for seed in SEEDS:
        base, bot = srun(seed=seed), srun("scenario=chatbot_rollout", seed=seed)
        early = pl.col("step") < start
        assert base.metrics.filter(early).equals(bot.metrics.filter(early))
        late = (pl.col("step") >= start) & (pl.col("brand") == "incumbent")
        cols = ["contacts", "failures", "recovered"]
        assert (
            not base.metrics.filter(late).select(cols).equals(bot.metrics.filter(late).select(cols))
        )
        fails_base += window(base, "incumbent", "failures", start, STEPS + 1)
        fails_bot += window(bot, "incumbent", "failures", start, STEPS + 1)
        contacts_base += window(base, "incumbent", "contacts", start, STEPS + 1)
        contacts_bot += window(bot, "incumbent", "contacts", start, STEPS + 1)
    # half the contacts go to a bot succeeding 80% of the time, better than the incumbent's
    # app (0.6) and call centre (0.7): fewer failures per contact
    assert contacts_bot > 1000
    assert fails_bot / contacts_bot < fails_base / contacts_base


PR_STEPS = 160  # the crisis runs from day 100 to day 160


def test_pr_crisis_lowers_incumbent_acquisitions_in_its_window():
    (ev,) = _events("pr_crisis")
    assert (ev.brand, ev.start, ev.end) == ("incumbent", 100, 160)
    base = pooled((), "incumbent", "acquired", 100, 160, steps=PR_STEPS)
    crisis = pooled(("scenario=pr_crisis",), "incumbent", "acquired", 100, 160, steps=PR_STEPS)
    assert sum(crisis) < sum(base), (base, crisis)


def test_pr_crisis_news_is_not_billed_as_the_incumbents_ad_spend():
    base = srun(steps=PR_STEPS)
    crisis = srun("scenario=pr_crisis", steps=PR_STEPS)
    assert np.allclose(
        series(crisis, "incumbent", "ad_spend"), series(base, "incumbent", "ad_spend")
    )


def test_wider_reach_of_bad_news_does_not_raise_acquisitions():
    no_reach = "scenario.events.0.reach=0.0"
    quiet = pooled(("scenario=pr_crisis", no_reach), "incumbent", "acquired", 100, 160,
                   steps=PR_STEPS)  # fmt: skip
    loud = pooled(("scenario=pr_crisis",), "incumbent", "acquired", 100, 160, steps=PR_STEPS)
    assert sum(loud) <= sum(quiet), (quiet, loud)


def _revenue_per_customer(result, brand: str, start: int) -> float:
    revenue = window(result, brand, "revenue", start, STEPS + 1)
    return revenue / window(result, brand, "customers", start, STEPS + 1)


def test_price_war_rivals_match_the_cut_after_the_lag():
    """The budget brand cuts 20% on day 30; the incumbent and the challenger follow the cut
    (each from its own list price, scenarios/responses.py) 14 steps later, not before."""
    (ev,) = _events("price_war")
    cut_at, lag, change = int(ev.start), 14, float(ev.change)
    r = srun("scenario=price_war")
    budget = series(r, "budget", "price")
    assert np.allclose(budget[:cut_at], 0.7) and np.allclose(budget[cut_at:], 0.7 * (1 + change))
    for rival, own in (("incumbent", 1.0), ("challenger", 0.9)):
        p = series(r, rival, "price")
        assert np.allclose(p[: cut_at + lag], own), rival
        assert np.allclose(p[cut_at + lag :], own * (1 + change)), rival
    # and the war costs the matchers revenue per customer once they follow
    base = srun()
    for rival in ("incumbent", "challenger"):
        assert _revenue_per_customer(r, rival, 50) < 0.85 * _revenue_per_customer(base, rival, 50)


AD_BOOST = "brands.challenger.responses=[{kind: ad_boost, share_below: 0.23, multiplier: 2.0}]"


def test_ad_boost_raises_ad_spend_exactly_while_share_is_below_threshold():
    base = srun(steps=60)
    r = srun(AD_BOOST, steps=60)
    spend_base = series(base, "challenger", "ad_spend")
    spend = series(r, "challenger", "ad_spend")
    share = series(r, "challenger", "share")
    below = share[:-1] < 0.23  # the policy reads the previous step's share
    assert below.any() and (~below).any()  # the run crosses the threshold
    assert np.allclose(spend[1:][below], 2.0 * spend_base[1:][below])
    assert np.allclose(spend[1:][~below], spend_base[1:][~below])
    assert spend[0] == pytest.approx(spend_base[0])
    # a brand above its threshold does not boost
    r2 = srun("brands.incumbent.responses=[{kind: ad_boost, share_below: 0.3}]", steps=60)
    assert np.allclose(series(r2, "incumbent", "ad_spend"), series(base, "incumbent", "ad_spend"))
