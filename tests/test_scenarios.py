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


def _without_responses(name: str) -> list[str]:
    """Overrides clearing a scenario's response policies (they may act before any event,
    e.g. new_entrant's ad boosts when a share falls below a threshold)."""
    brands = load_config([f"scenario={name}"]).brands
    return [f"brands.{b}.responses=[]" for b, cfg in brands.items() if cfg.responses]


@pytest.mark.parametrize("name", CRN_CASES)
def test_scenario_equals_baseline_before_its_first_event(name):
    first = min(int(ev.start) for ev in _events(name))
    assert first > 0
    steps = _steps_for(name)
    base = srun(steps=steps)
    scen = srun(f"scenario={name}", *_without_responses(name), steps=steps)
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
    list_price = r.config.brands
    assert np.allclose(price[:10], list_price.budget.price)
    assert np.allclose(price[10:], 0.7 * list_price.budget.price)
    for rival in ("incumbent", "challenger"):  # rivals do not respond here
        assert np.allclose(series(r, rival, "price"), list_price[rival].price)


# A higher dissatisfaction hazard (mean propensity 0.0005 a day) here, so the programme's cut
# of the hazard shows clearly beside the other sources of churn.
LOYALTY_MARKET = ("market.traits.churn_propensity.beta=500",)


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


def test_chatbot_rollout_changes_incumbent_service_outcomes_after_day_30_only():
    start = 30
    cost_base = cost_bot = contacts_bot = bot_contacts = escalated = 0
    for seed in SEEDS:
        base, bot = srun(seed=seed), srun("scenario=chatbot_rollout", seed=seed)
        early = pl.col("step") < start
        assert base.metrics.filter(early).equals(bot.metrics.filter(early))
        late = (pl.col("step") >= start) & (pl.col("brand") == "incumbent")
        cols = ["contacts", "failures", "recovered"]
        assert (
            not base.metrics.filter(late).select(cols).equals(bot.metrics.filter(late).select(cols))
        )
        cost_base += window(base, "incumbent", "service_cost", start, STEPS + 1)
        cost_bot += window(bot, "incumbent", "service_cost", start, STEPS + 1)
        contacts_bot += window(bot, "incumbent", "contacts", start, STEPS + 1)
        bot_contacts += window(bot, "incumbent", "bot_contacts", start, STEPS + 1)
        escalated += window(bot, "incumbent", "escalated", start, STEPS + 1)
        assert window(base, "incumbent", "bot_contacts", 0, STEPS + 1) == 0
    # half the contacts meet the bot; it fails one in three and hands 80% of those to people
    assert bot_contacts == pytest.approx(0.5 * contacts_bot, rel=0.15)
    assert escalated == pytest.approx(0.35 * 0.8 * bot_contacts, rel=0.3)
    # at 0.3 a contact against 0.5 to 4 for people, service costs fall by a quarter or more
    assert cost_bot < 0.75 * cost_base, (cost_bot, cost_base)


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
    (each from its own list price, scenarios/responses.py) after their lag, not before."""
    (ev,) = _events("price_war")
    r = srun("scenario=price_war")
    cut_at, change = int(ev.start), float(ev.change)
    lag = int(r.config.brands.incumbent.responses[0].lag)
    own_price = {b: r.config.brands[b].price for b in r.config.brands}
    budget = series(r, "budget", "price")
    assert np.allclose(budget[:cut_at], own_price["budget"])
    assert np.allclose(budget[cut_at:], own_price["budget"] * (1 + change))
    for rival, own in (
        ("incumbent", own_price["incumbent"]),
        ("challenger", own_price["challenger"]),
    ):
        p = series(r, rival, "price")
        assert np.allclose(p[: cut_at + lag], own), rival
        assert np.allclose(p[cut_at + lag :], own * (1 + change)), rival
    # and the war costs the matchers revenue per customer once they follow
    base = srun()
    for rival in ("incumbent", "challenger"):
        matched = cut_at + lag
        assert _revenue_per_customer(r, rival, matched) < 0.85 * _revenue_per_customer(
            base, rival, matched
        )


AD_BOOST = "brands.challenger.responses=[{kind: ad_boost, share_below: 0.3, multiplier: 2.0}]"


def test_ad_boost_doubles_reach_exactly_while_share_is_below_threshold():
    from sim.engine.model import JourneyModel

    model = JourneyModel(
        load_config([f"market.customers={N}", "sim.steps=40", "sim.burn_in=30", AD_BOOST])
    )
    base_reach = model.market.ad_reach[1]
    for t in range(1, 41):
        tables = model.tables_at(t)  # reads the share of step t - 1
        share = model.recorder.share(t - 1)[1]
        expected = base_reach * (2.0 if share < 0.3 else 1.0)
        assert np.allclose(tables.ad_reach[1], expected), t
        model.step()
    # and doubled reach shows as more exposures bought, at the same cost per exposure
    base = srun(steps=40)
    boosted = srun("brands.challenger.responses=[{kind: ad_boost, share_below: 1.0, multiplier: 2.0}]",
                   steps=40)  # fmt: skip
    ratio = (
        series(boosted, "challenger", "ad_spend")[1:].sum()
        / series(base, "challenger", "ad_spend")[1:].sum()
    )
    assert 1.7 < ratio < 2.3


# -- the library's effects: each scenario's description states its direction ------------------
def _mean_in(result, brand: str, column: str, start: int, end: int) -> float:
    m = result.metrics.filter(
        (pl.col("brand") == brand) & (pl.col("step") >= start) & (pl.col("step") < end)
    )
    return float(m[column].mean())


def _paired(name: str, brand: str, column: str, start: int, end: int, how=_mean_in, steps=STEPS):
    """Scenario minus baseline of a column over a window, per seed (common random numbers)."""
    return np.array([
        how(srun(f"scenario={name}", steps=steps, seed=s), brand, column, start, end)
        - how(srun(steps=steps, seed=s), brand, column, start, end)
        for s in SEEDS
    ])  # fmt: skip


def test_outage_shows_in_the_incumbents_churn_and_nps_inside_the_window():
    churn = _paired("service_outage", "incumbent", "churned", 60, 74, how=window)
    nps = _paired("service_outage", "incumbent", "nps", 66, 80)
    assert churn.sum() > 0 and (churn >= 0).sum() >= 3, churn
    assert nps.mean() < 0, nps


def test_pr_crisis_lowers_the_incumbents_nps():
    nps = _paired("pr_crisis", "incumbent", "nps", 110, 160, steps=160)
    assert (nps < 0).all() and nps.mean() < -3, nps


def test_personalisation_raises_the_budget_brands_retention_at_a_cost():
    churned = _paired("personalisation", "budget", "churned", 30, STEPS + 1, how=window)
    nps = _paired("personalisation", "budget", "nps", 60, STEPS + 1)
    assert churned.sum() < 0 and nps.mean() > 0, (churned, nps)
    r = srun("scenario=personalisation")
    (ev,) = _events("personalisation")
    cost, customers = series(r, "budget", "programme_cost"), series(r, "budget", "customers")
    assert np.all(cost[:30] == 0.0)
    assert np.allclose(cost[30:], ev.cost_per_customer * customers[30:])


def test_a_price_cut_raises_the_cutters_share_until_rivals_match():
    (ev,) = _events("price_war")
    lag = int(load_config(["scenario=price_war"]).brands.incumbent.responses[0].lag)
    matched = int(ev.start) + lag
    gain = _paired("price_war", "budget", "share", matched - 5, matched)
    assert gain.mean() > 0 and (gain > 0).sum() >= 3, gain


def test_chatbot_cuts_the_incumbents_service_cost():
    cost = _paired("chatbot_rollout", "incumbent", "service_cost", 30, STEPS + 1, how=window)
    assert (cost < 0).all(), cost


def test_one_click_purchase_wins_the_challenger_customers_for_an_investment():
    gained = _paired("one_click_purchase", "challenger", "customers", STEPS, STEPS + 1)
    assert gained.mean() > 0, gained
    r = srun("scenario=one_click_purchase")
    (ev,) = _events("one_click_purchase")
    cost = series(r, "challenger", "programme_cost")
    assert cost[int(ev.start)] == pytest.approx(ev.investment * N)
    assert cost.sum() == pytest.approx(ev.investment * N)


def test_new_entrant_takes_customers_from_the_incumbents():
    lost = [
        _mean_in(run(*ENTRANT_MARKET, f"seed={s}", "scenario=new_entrant"), "incumbent",
                 "customers", 300, 366)
        - _mean_in(run(*ENTRANT_MARKET, f"seed={s}"), "incumbent", "customers", 300, 366)
        for s in SEEDS
    ]  # fmt: skip
    assert np.mean(lost) < 0, lost


ENTRANT_MARKET = ("market.customers=8000", "sim.steps=365")  # the entrant needs months


def test_viral_campaign_raises_the_challengers_awareness_in_its_window():
    aware = _paired("viral_campaign", "challenger", "aware", 40, 60)
    assert (aware > 0).all(), aware
