"""Selectable word-of-mouth and service rules (issue 9): exact presets, queueing, directions."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from clitools import cli
from conftest import run
from scipy import stats

from agents import rules
from sim import ConfigError, load_config, simulate

N_BIG = 20000
# The presets are classical models: every adopter praises, so no one's disposition (7.7)
# makes an adopter a passive (the presets in experiments/experiment should set it to 0 too).
PLAIN = "market.satisfaction.disposition=0"


def _adopted(result) -> np.ndarray:
    n = int(result.config.market.customers)
    return result.metrics.sort("step")["customers"].to_numpy() / n


# -- exact presets -----------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", [(0.01, 0.00005), (0.03, 0.00002)])
def test_cascade_follows_its_recursion_on_the_complete_network(a, b):
    r = run("+experiment=cascade", PLAIN, f"market.customers={N_BIG}", f"cascade.a={a}",
            f"cascade.strong={b}", f"cascade.weak={b}")  # fmt: skip
    f = _adopted(r)
    n = N_BIG
    predicted = f[:-1] + (1 - f[:-1]) * (1 - (1 - a) * (1 - b) ** ((n - 1) * f[:-1]))
    sd = np.sqrt(np.maximum(predicted * (1 - predicted), 1e-12) / n)
    assert np.all(np.abs(f[1:] - predicted) < 5 * sd + 1e-4)
    assert f[-1] > 0.9 and r.metrics["churned"].sum() == 0


@pytest.mark.parametrize("network", ["watts_strogatz", "erdos_renyi", "clustered", "complete"])
def test_cascade_without_word_of_mouth_is_exactly_geometric_on_any_network(network):
    a = 0.05
    steps = 20
    runs = [
        _adopted(run("+experiment=cascade", PLAIN, f"network={network}", "market.customers=4000",
                     f"cascade.a={a}", "cascade.strong=0", "cascade.weak=0", f"sim.steps={steps}",
                     f"seed={s}"))
        for s in range(3)
    ]  # fmt: skip
    f = np.mean(runs, axis=0)
    t = np.arange(steps + 1)
    expected = 1 - (1 - a) ** t
    assert np.all(np.abs(f - expected) < 4 * np.sqrt(expected * (1 - expected) / 12000) + 1e-9)


def _steps_to_half(f: np.ndarray) -> int:
    return int(np.argmax(f >= 0.5)) if f[-1] >= 0.5 else f.size


def test_weak_ties_speed_diffusion_on_a_clustered_network():
    """Goldenberg, Libai and Muller (2001): ties across groups carry the news to new groups."""
    common = ("+experiment=cascade", PLAIN, "network=clustered", "market.customers=6000",
              "cascade.a=0.002", "cascade.strong=0.1", "sim.steps=60")  # fmt: skip
    without = _adopted(run(*common, "cascade.weak=0"))
    weak = _adopted(run(*common, "cascade.weak=0.1"))
    assert _steps_to_half(weak) < 0.8 * _steps_to_half(without)
    assert np.all(weak[1:] >= without[1:] - 0.02)


def test_a_market_runs_on_an_edge_list(tmp_path):
    rng = np.random.default_rng(0)
    n = 2000
    ends = rng.integers(0, n, size=(8000, 2))
    ends = ends[ends[:, 0] != ends[:, 1]]
    ends[0] = (0, n - 1)  # the largest id is in the file
    ends = np.unique(np.sort(ends, axis=1), axis=0)  # no repeated ties (they warn)
    path = tmp_path / "graph.parquet"
    pl.DataFrame({"a": ends[:, 0], "b": ends[:, 1]}).write_parquet(path)
    r = run("+experiment=cascade", PLAIN, "network=edgelist", f"network.path={path}",
            f"market.customers={n}", "cascade.a=0.01", "cascade.strong=0.05", "sim.steps=40")  # fmt: skip
    f = _adopted(r)
    geometric = 1 - (1 - 0.01) ** np.arange(f.size)
    assert f[-1] > geometric[-1] + 0.1  # the ties of the file carry word of mouth
    with pytest.raises(ConfigError, match="set market.customers=2000"):
        load_config(["network=edgelist", f"network.path={path}", "market.customers=3000"])


@pytest.mark.parametrize("initial, tipped", [(0.1, False), (0.12, True)])
def test_threshold_follows_its_recursion_and_tips_with_the_initial_share(initial, tipped):
    mean, sd = 0.3, 0.1
    r = run("+experiment=threshold", PLAIN, f"market.customers={N_BIG}", f"threshold.initial={initial}",
            f"threshold.mean={mean}", f"threshold.sd={sd}")  # fmt: skip
    f = _adopted(r)
    k = mean * (1 - mean) / sd**2 - 1
    cdf = stats.beta(mean * k, (1 - mean) * k).cdf
    predicted = f[0] + (1 - f[0]) * cdf(f[:-1])
    assert np.all(np.abs(f[1:] - predicted) < 0.01)
    assert bool(f[-1] > 0.9) == tipped


def test_a_small_change_in_the_mean_threshold_tips_the_market():
    low = _adopted(run("+experiment=threshold", PLAIN, f"market.customers={N_BIG}",
                       "threshold.initial=0.1", "threshold.mean=0.27"))  # fmt: skip
    high = _adopted(run("+experiment=threshold", PLAIN, f"market.customers={N_BIG}",
                        "threshold.initial=0.1", "threshold.mean=0.3"))  # fmt: skip
    assert low[-1] > 0.9 > 0.3 > high[-1]


# -- queueing -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "servers, load, table",
    [(1, 0.5, 0.5), (2, 1.0, 1 / 3), (5, 3.0, 0.2362), (10, 8.0, 0.4092), (3, 3.5, 1.0)],
)
def test_erlang_c_matches_table_values(servers, load, table):
    assert rules.erlang_c(servers, load) == pytest.approx(table, abs=5e-4)


@pytest.mark.parametrize("servers, load", [(3, 2.2), (7, 5.5), (20, 17.0)])
def test_erlang_c_matches_its_closed_form(servers, load):
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    bottom = sum(load**k / math.factorial(k) for k in range(servers)) + top
    assert rules.erlang_c(servers, load) == pytest.approx(top / bottom, rel=1e-9)


# -- directions --------------------------------------------------------------------------------
MARKET = ("market.customers=4000", "sim.steps=120", "sim.burn_in=60")
OUTAGE = ("scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.9, "
          "start: 10, end: 60}]", "service.contact_rate=0.02")  # fmt: skip


def _end(result, brand: str, column: str) -> float:
    m = result.metrics.filter(pl.col("brand") == brand).sort("step")
    return float(m[column][-1])


def test_more_negativity_bias_makes_an_outage_cost_more_share():
    """With warnings rare before the outage (no dispositions), weighing them more costs share.

    With the default dispositions (7.7) a baseline detractor in every brand warns too, and the
    bias's differential effect on an outage is within the noise of this small market.
    """
    losses = {}
    for bias in (1.0, 4.0):
        loss = 0.0
        for seed in range(3):
            common = (*MARKET, PLAIN, f"seed={seed}", f"wom.negativity_bias={bias}")
            loss += _end(run(*common), "incumbent", "share") - _end(
                run(*common, *OUTAGE), "incumbent", "share"
            )
        losses[bias] = loss
    assert losses[4.0] > losses[1.0] > 0, losses


GROWTH = ("brands.challenger.product_quality=0.9", "brands.challenger.price=0.7",
          "service=capacity", "service.contact_rate=0.02", *MARKET)  # fmt: skip


def test_more_capacity_means_less_churn_under_fast_growth():
    churn = {}
    for capacity in (0.5, 20.0):
        caps = [f"brands.challenger.service_capacity.{c}={capacity}" for c in ("store", "app",
                                                                                "service")]  # fmt: skip
        total, waited = 0, 0
        for seed in range(3):
            r = run(*GROWTH, *caps, f"seed={seed}")
            m = r.metrics.filter((pl.col("brand") == "challenger") & (pl.col("step") > 0))
            total += m["churned"].sum() / m["customers"].mean()
            waited += m["waited"].sum()
        churn[capacity] = (total, waited)
    assert churn[0.5][0] > churn[20.0][0], churn
    assert churn[0.5][1] > churn[20.0][1], churn


def test_capacity_rule_reports_its_queue():
    r = run(*GROWTH, "brands.challenger.service_capacity.service=0.2", "seed=0")
    m = r.metrics.filter(pl.col("brand") == "challenger")
    assert m["waited"].sum() > 0 and m["abandoned"].sum() > 0
    assert m["mean_wait"].max() > 0 and (m["abandoned"] <= m["waited"]).all()
    assert (m["waited"] <= m["contacts"]).all()
    # staff are paid for their capacity whether they are busy or not
    assert (m.filter(pl.col("step") > 0)["service_cost"] > 0).all()


BOT = "scenario.events=[{{kind: chatbot_rollout, brand: incumbent, adoption: 0.8, quality: {q}, escalation: {e}, start: 5}}]"  # noqa: E501


def _incumbent_churn(*overrides) -> float:
    total = 0.0
    for seed in range(4):
        m = run(*MARKET, "service.contact_rate=0.03", f"seed={seed}", *overrides).metrics
        m = m.filter((pl.col("brand") == "incumbent") & (pl.col("step") > 0))
        total += m["churned"].sum() / m["customers"].mean()
    return total


def test_a_poor_bot_without_escalation_hurts_and_a_good_bot_with_escalation_helps():
    none = _incumbent_churn()
    poor = _incumbent_churn(BOT.format(q=0.3, e=0.0))
    good = _incumbent_churn(BOT.format(q=0.8, e=0.9))
    assert poor > none > good, (poor, none, good)


def test_escalated_contacts_reach_people():
    r = run(*MARKET, "service.contact_rate=0.03", BOT.format(q=0.5, e=1.0), "seed=1")
    m = r.metrics.filter(pl.col("brand") == "incumbent")
    assert m["escalated"].sum() > 0 and m["escalated"].sum() <= m["bot_contacts"].sum()


def test_investment_moves_quality_toward_what_spend_sustains():
    from sim.engine.model import JourneyModel

    cfg = load_config([*MARKET, "service=investment", "brands.incumbent.service_spend=0.08",
                       "brands.budget.service_spend=0.0", "service.lag=20"])  # fmt: skip
    model = JourneyModel(cfg)
    q0 = model.market.service_quality.copy()
    model.run(40)
    q = model.service.quality
    served = q0[0] > 0  # the channels with service (store, app, service)
    assert (q[0][served] > q0[0][served]).all() and (q[2][q0[2] > 0] < q0[2][q0[2] > 0]).all()
    target = rules.invested_quality(q0[0, 6], 0.08, cfg.service.spend_reference, 1.0)
    assert q[0, 6] == pytest.approx(target, abs=0.02)  # burn-in and 40 steps with lag 20: close
    m = simulate(cfg).metrics.filter(pl.col("brand") == "incumbent")
    assert m.filter(pl.col("step") > 0)["service_cost"].min() > 0.08 * m["customers"].min() - 1


def test_network_word_of_mouth_spreads_awareness_and_fading_slows_it():
    base = ("market.customers=4000", "sim.steps=40", "sim.burn_in=0",
            *[f"brands.{b}.initial_awareness=0" for b in ("incumbent", "challenger", "budget")],
            *[f"brands.{b}.ad_reach.{c}=0" for b in ("incumbent", "challenger", "budget")
              for c in ("tv", "social", "search", "store", "app")])  # fmt: skip

    def aware(*extra):
        r = run(*base, *extra)
        return r.metrics.filter(pl.col("step") == 40)["aware"].sum()

    silent = aware("wom=cascade", "wom.strong=0", "wom.weak=0", "market.journey.forget_rate=0")
    spread = aware(
        "wom=cascade", "wom.strong=0.05", "wom.weak=0.05", "market.journey.forget_rate=0"
    )
    faded = aware("wom=cascade", "wom.strong=0.05", "wom.weak=0.05", "wom.half_life=2",
                  "market.journey.forget_rate=0")  # fmt: skip
    assert spread > faded > silent


def test_a_bad_quarter_shows_in_the_rating_and_lingers():
    reviews = ("wom.reviews.read_rate=0.01", "wom.reviews.write=0.1", *MARKET[:1],
               "sim.steps=200", "sim.burn_in=100")  # fmt: skip
    outage = "scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.9, start: 20, end: 110}]"  # noqa: E501
    base = run(*reviews, "service.contact_rate=0.03", "seed=2")
    bad = run(*reviews, "service.contact_rate=0.03", outage, "seed=2")

    def rating(r, t):
        return r.metrics.filter((pl.col("brand") == "incumbent") & (pl.col("step") == t))[
            "rating"
        ].item()

    assert rating(bad, 110) < rating(base, 110) - 0.005  # the bad quarter shows
    assert rating(bad, 140) < rating(base, 140)  # and lingers a month after it ended
    assert base.metrics["reviews"].sum() > 0


def test_reviews_readers_are_counted_and_read_ratings_move_attitude():
    on = run(*MARKET, "wom.reviews.read_rate=0.05", "seed=0")
    assert on.channels.filter(pl.col("channel") == "reviews")["conversions"].sum() >= 0
    tp = run(*MARKET, "wom.reviews.read_rate=0.05", "sim.trace=200", "seed=0").touchpoints
    assert (tp["touch"] == "reviews").sum() > 0


# -- everywhere: config, sweeps, errors ----------------------------------------------------------
@pytest.mark.parametrize(
    "override, message",
    [("wom.rule=gossip", "wom.rule=gossip: must be one of pairwise, cascade, threshold"),
     ("service.rule=magic", "service.rule=magic: must be one of constant, capacity, investment"),
     ("wom.strong=1.5", "wom.strong=1.5: must be between 0 and 1"),
     ("service.handle_rate=0", "service.handle_rate=0: must be between"),
     ("+brands.incumbent.service_capacity.radio=3", "brands.incumbent.service_capacity.radio=3: unknown channel"),
     ("wom.half_life=-1", "wom.half_life=-1: must be between 0 and")],
)  # fmt: skip
def test_bad_rule_values_are_one_line_errors(override, message):
    with pytest.raises(ConfigError) as err:
        load_config([override])
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_sweep_compares_word_of_mouth_rules(tmp_path):
    proc = cli(tmp_path, "-m", "wom=pairwise,cascade,threshold", "service=constant,capacity",
               "market.customers=600", "sim.steps=10", "hydra.sweep.dir=sweep")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = pl.read_parquet(tmp_path / "sweep" / "summary.parquet")
    assert summary.height == 6 and (summary["status"] == "complete").all()
    assert set(summary["wom"].to_list()) == {"pairwise", "cascade", "threshold"}


@pytest.mark.parametrize(("servers", "load"), [(1, 0.5), (5, 3.0), (20, 15.0)])
def test_erlang_a_without_hang_ups_is_erlang_c(servers, load):
    p_wait, _, waited = rules.erlang_a(servers, load * 40.0, 40.0, 1e-9)
    assert p_wait == pytest.approx(rules.erlang_c(servers, load), rel=1e-6)
    assert waited == pytest.approx(1.0 / (servers * 40.0 - load * 40.0), rel=1e-6)


def test_erlang_a_answers_about_capacity_under_overload():
    # 20 agents answering 40 a step, 1,200 contacts: about 800 answered, the rest hang up
    p_wait, p_abandon, _ = rules.erlang_a(20, 1200.0, 40.0, 60.0)
    assert p_wait > 0.9
    assert p_wait * p_abandon == pytest.approx(1 - 800 / 1200, abs=0.02)


def test_the_burn_in_runs_the_service_queue():
    from sim.engine.model import JourneyModel

    cfg = load_config([*MARKET, "service=capacity", "service.contact_rate=0.02",
                       "service.market_people=null"])  # fmt: skip
    model = JourneyModel(cfg)
    assert model.service.wait_minutes.max() > 0  # yesterday's queue, not an empty one


def test_queues_are_sized_for_the_market_the_sample_stands_for():
    def waited(customers: int, people: str) -> float:
        r = run("service=capacity", f"market.customers={customers}", "sim.steps=60",
                "sim.burn_in=60", f"service.market_people={people}", "seed=0")  # fmt: skip
        m = r.metrics.filter(pl.col("step") > 0)
        return m["waited"].sum() / m["contacts"].sum()

    # one to one, queues depend on the sample's size (desks of one agent, idle or busy);
    # standing for a market of a million people, they are that market's, whatever the sample
    assert waited(8000, "null") > 3 * waited(2000, "null")
    assert waited(2000, "1000000") == pytest.approx(waited(8000, "1000000"), abs=0.05)


def test_a_channel_without_capacity_is_paid_per_contact():
    common = ("service=capacity", *MARKET, "seed=0")
    limited = run(*common).metrics.filter(pl.col("step") > 0)
    free_app = [f"~brands.{b}.service_capacity.app" for b in ("incumbent", "challenger", "budget")]
    unlimited = run(*common, *free_app).metrics.filter(pl.col("step") > 0)
    # the app's staff cost gives way to its contacts times its cost per contact (0.5)
    assert unlimited["service_cost"].sum() != limited["service_cost"].sum()
    assert unlimited["service_cost"].min() > 0
