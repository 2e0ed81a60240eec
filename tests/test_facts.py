"""``journeysim facts``: the static facts, paired responses, the interval rule and the CLI.

The full check is ``journeysim facts`` (20,000 customers, several seeds) and ``journeysim
facts --responses``; here the cheap facts run on a small market over two seeds (a guard on
the calibration: the mean inside the target), the responses are computed exactly on tiny
hand-made runs, and the command line runs on tiny markets.
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import polars as pl
import pytest
from clitools import cli
from omegaconf import OmegaConf

from sim.analysis import facts as F
from sim.analysis.facts import core, responses, static
from sim.analysis.facts.runs import Light

SEEDS = range(2)
MARKET = ("market.customers=5000",)


@pytest.fixture(scope="module")
def results():
    return F.run_seeds(MARKET, SEEDS, jobs=2)


@pytest.fixture(scope="module")
def table(results):
    return F.measure(results)


def _row(table: pl.DataFrame, fact: str) -> dict:
    return table.filter(pl.col("fact") == fact).row(0, named=True)


def test_every_fact_of_the_table_is_measured_or_says_why(table):
    assert table.height >= len(F.FACTS)
    assert set(table.columns) >= {"fact", "source", "low", "high", "mean", "ci_low", "ci_high",
                                  "status", "pass", "section", "note"}  # fmt: skip
    unmeasured = table.filter(pl.col("status") == "not measured")
    assert unmeasured["note"].str.contains("metrics have no").all()
    assert table.filter(pl.col("status") != "not measured")["mean"].null_count() == 0
    assert not unmeasured["pass"].any()


@pytest.mark.parametrize(
    "fact",
    [
        "stationary brand shares", "stationary journey stages",
        "annual churn (incumbent)", "annual churn (challenger)", "annual churn (budget)",
        "NPS range (incumbent)", "NPS range (challenger)", "NPS range (budget)",
        "marketing spend / revenue (incumbent)", "marketing spend / revenue (challenger)",
        "marketing spend / revenue (budget)",
        "projected CLV / CAC (incumbent)", "projected CLV / CAC (challenger)",
        "projected CLV / CAC (budget)",
        "word of mouth's share of acquisitions",
    ],
)  # fmt: skip
def test_the_default_market_keeps_the_fact_on_average(table, fact):
    """A cheap guard on the calibration (2 seeds at 5,000 customers): the mean in the target."""
    row = _row(table, fact)
    assert row["low"] <= row["mean"] <= row["high"], row


def test_configured_rules_are_inputs_not_passes(table):
    inputs = table.filter(pl.col("section") == "inputs")
    assert {"best experience has the highest NPS", "loyal customers spend more (incumbent)"} <= set(
        inputs["fact"]
    )
    assert (inputs["status"] == "input").all() and not inputs["pass"].any()
    assert "tenure_uplift=0.15" in _row(table, "loyal customers spend more (budget)")["note"]
    assert (
        "challenger > incumbent > budget"
        in _row(table, "best experience has the highest NPS")["note"]
    )
    assert _row(table, "best experience has the highest NPS")["mean"] > 0


def test_churn_comes_from_every_source_and_usage_noise_does_not_dominate(results):
    shares = dict(F.sources(results).iter_rows())
    assert set(shares) == {"hazard", "shock", "switch", "exit"}
    assert all(v > 3 for v in shares.values()), shares
    assert shares["shock"] < 40, shares
    assert math.isclose(sum(shares.values()), 100.0, rel_tol=1e-9)


# --- the interval rule ------------------------------------------------------------------------


def _fact(low, high, **kw) -> F.Fact:
    return F.Fact("f", "src", low, high, lambda values: values, **kw)


def test_a_fact_passes_only_when_its_whole_interval_is_in_range():
    # mean 2 lies in [0, 2.5], but the interval 2 -/+ 12.7 straddles both ends: FAIL
    [row] = core.fact_rows(_fact(0.0, 2.5), [{"": 1.0}, {"": 3.0}], "facts")
    assert row["mean"] == 2.0 and row["ci_low"] < 0 < 2.5 < row["ci_high"]
    assert row["status"] == "FAIL" and not row["pass"]
    [row] = core.fact_rows(_fact(0.0, 2.5), [{"": 1.99}, {"": 2.01}], "facts")
    assert row["status"] == "pass" and 0 <= row["ci_low"] and row["ci_high"] <= 2.5
    [row] = core.fact_rows(_fact(2.0, math.inf), [{"": 2.5}, {"": 2.5}], "facts")  # no spread
    assert row["pass"]
    assert not F.within(0.0, 1.0, math.nan, 0.5) and F.within(-math.inf, 3.0, -9.0, 3.0)


def test_undefined_values_and_reported_values_never_pass():
    [row] = core.fact_rows(_fact(0.0, 1.0), [{"": 0.5}, {"": math.nan}], "facts")
    assert row["status"] == "FAIL" and "1 of 2" in row["note"]
    [row] = core.fact_rows(_fact(-math.inf, math.inf), [{"": 1.0}, {"": 2.0}], "facts")
    assert row["status"] == "report" and not row["pass"]


def test_a_configured_rule_is_an_input_whatever_its_value():
    fact = _fact(0.0, 1.0, input_rule=lambda cfg: "configured rule: x")
    [row] = core.fact_rows(fact, [{"": 0.5}, {"": 0.5}], "facts", config=object())
    assert (row["section"], row["status"], row["pass"]) == ("inputs", "input", False)


# --- paired responses on tiny known runs ------------------------------------------------------

SPY = 4  # steps per year of the hand-made runs


def _run(brands: dict[str, dict], steps: int = 2 * SPY, price: float = 1.0, **brand_cfg):
    """A hand-made run: per brand, columns as constants or per-step sequences."""
    rows = []
    for b, cols in brands.items():
        for t in range(steps + 1):
            row = {"step": t, "brand": b, "price": price, "revenue": 0.0, "ad_spend": 0.0,
                   "service_cost": 0.0, "programme_cost": 0.0, "acquisition_cost": 0.0,
                   "customers": 100,
                   "acquired": 0, "churned": 0, "churned_exit": 0, "nps": 0.0, "share": 0.5}  # fmt: skip
            for k, v in cols.items():
                row[k] = v[t] if isinstance(v, list | tuple) else v
            rows.append(row)
    config = OmegaConf.create({
        "sim": {"steps_per_year": SPY},
        "brands": {b: {"price": 1.0, "margin": 0.4, **brand_cfg} for b in brands},
    })  # fmt: skip
    return Light(pl.DataFrame(rows), config)


def _customers_at_year_end(year1: int, year2: int) -> list[int]:
    return [100] * SPY + [year1] + [year1] * (SPY - 1) + [year2]


def test_price_elasticity_is_the_log_ratio_of_the_paired_arms():
    arms = responses.Arms({
        responses.BASE: _run({"a": {}}),
        ("price", "a", 1.1): _run({"a": {"customers": _customers_at_year_end(90, 80)}}),
        ("price", "a", 0.9): _run({"a": {"customers": _customers_at_year_end(110, 120)}}),
    })  # fmt: skip
    span = math.log(1.1) - math.log(0.9)
    short = (math.log(90) - math.log(110)) / span
    long = (math.log(80) - math.log(120)) / span
    assert responses.price_elasticity(arms)["a"] == pytest.approx(short, rel=1e-12)
    assert responses.price_elasticity_long(arms)["a"] == pytest.approx(long, rel=1e-12)
    assert responses.price_elasticity_growth(arms)["a"] == pytest.approx(abs(long) - abs(short))


def test_a_one_year_run_cannot_measure_the_long_run():
    arms = responses.Arms({responses.BASE: _run({"a": {}}, steps=SPY)})
    with pytest.raises(F.NotMeasured, match="2 years"):
        responses.price_elasticity_long(arms)


def test_ad_elasticity_and_incremental_cac_from_realised_spend():
    arms = responses.Arms({
        responses.BASE: _run({"a": {"revenue": 10.0, "ad_spend": 1.0, "acquired": 2}}),
        ("ads", "a", 1.5): _run({"a": {"revenue": 10.5, "ad_spend": 1.5, "acquired": 3}}),
        ("ads", "a", 0.5): _run({"a": {"revenue": 9.5, "ad_spend": 0.5, "acquired": 1}}),
        # the profit check and CACs pair the doubled budget with the larger market's baseline
        responses.AD_BASE: _run({"a": {"revenue": 10.0, "ad_spend": 1.0, "acquired": 2}}),
        (*responses.AD_BASE, "a", 2.0): _run({"a": {"revenue": 11.0, "ad_spend": 2.0,
                                                    "acquired": 3}}),
    })  # fmt: skip
    expected = (math.log(10.5) - math.log(9.5)) / (math.log(1.5) - math.log(0.5))
    assert responses.ad_elasticity(arms)["a"] == pytest.approx(expected, rel=1e-12)
    assert responses.ad_elasticity_year(arms)["a"] == pytest.approx(expected, rel=1e-12)
    # year 1 (4 steps), budget x 2 against x 1: extra spend 4 for 4 extra customers
    assert responses.incremental_cac(arms)["a"] == pytest.approx(1.0)
    assert responses.average_cac(arms)["a"] == pytest.approx(0.5)  # spend 4 for 8 customers
    assert responses.cac_ratio(arms)["a"] == pytest.approx(2.0)
    # acquisitions are a flow: their elasticity is read the same way
    flow = (math.log(3) - math.log(1)) / (math.log(1.5) - math.log(0.5))
    assert responses.ad_elasticity_acquisitions(arms)["a"] == pytest.approx(flow, rel=1e-12)


def test_ad_elasticity_within_a_year_reads_the_revenue_reached_at_year_end():
    # the up arm's revenue rises through year 1: only the last step (the year's last
    # month at SPY steps a year) counts within a year, the whole year when summed
    spy = SPY
    up = [10.0] * spy + [12.0] + [10.0] * spy
    arms = responses.Arms({
        responses.BASE: _run({"a": {"revenue": 10.0, "ad_spend": 1.0}}),
        ("ads", "a", 1.5): _run({"a": {"revenue": up, "ad_spend": 1.5}}),
        ("ads", "a", 0.5): _run({"a": {"revenue": 10.0, "ad_spend": 0.5}}),
    })  # fmt: skip
    spend = math.log(1.5) - math.log(0.5)
    assert responses.ad_elasticity(arms)["a"] == pytest.approx(math.log(1.2) / spend)
    summed = math.log((10.0 * (spy - 1) + 12.0) / (10.0 * spy)) / spend
    assert responses.ad_elasticity_year(arms)["a"] == pytest.approx(summed)


def test_cac_is_fully_loaded_with_acquisition_costs():
    # each customer won costs 0.5 beyond the ads: 8 customers cost 4 + 4 in year 1
    won = {"ad_spend": 1.0, "acquired": 2, "acquisition_cost": 1.0}
    arms = responses.Arms({
        responses.BASE: _run({"a": {}}),
        responses.AD_BASE: _run({"a": won}),
        (*responses.AD_BASE, "a", 2.0): _run({"a": {"ad_spend": 2.0, "acquired": 3,
                                                    "acquisition_cost": 1.5}}),
    })  # fmt: skip
    assert responses.average_cac(arms)["a"] == pytest.approx(1.0)
    # extra: ads 4 + acquisition 2 for 4 customers
    assert responses.incremental_cac(arms)["a"] == pytest.approx(1.5)
    # profit counts the acquisition cost: margin 0.4 on revenue 1 a step, less 1 + 1 a step
    run = _run({"a": {"revenue": 1.0, **won}}, steps=1)
    assert responses.profit(run, "a", 1, 1) == pytest.approx(0.4 - 1.0 - 1.0)


def test_failed_contacts_halved_is_a_change_made_today():
    cfg = OmegaConf.create({"brands": {"a": {"service_quality": {"store": 0.6, "app": 0.9}}},
                            "scenario": {"changes": {}}})  # fmt: skip
    assert responses.quality_changes(cfg, "a") == {
        "brands.a.service_quality.store": pytest.approx(0.8),
        "brands.a.service_quality.app": pytest.approx(0.95),
    }
    responses.apply_arm(cfg, ("quality", "a"))
    assert dict(cfg.scenario.changes)["brands.a.service_quality.store"] == pytest.approx(0.8)


def test_profit_holds_the_unit_cost_and_the_peak_is_interpolated():
    # unit cost 1.0 x (1 - 0.4) = 0.6 per unit sold; at price 2 a unit earns 1.4, not 0.8
    run = _run({"a": {"revenue": 2.0, "price": 2.0}}, steps=1)
    assert responses.profit(run, "a", 1, 1) == pytest.approx(2.0 - 0.6)
    # profit(g) = -(ln g)^2 per step around the grid: the parabola peaks at g = 1 exactly
    arms = {responses.BASE: None}
    for g in responses.PRICE_GRID:
        # revenue r at price g gives profit r - (r / g) * 0.6; choose r to make it -(ln g)^2
        target = -(math.log(g) ** 2)
        r = target / (1 - 0.6 / g)
        key = responses.BASE if g == 1.0 else ("price", "a", g)
        arms[key] = _run({"a": {"revenue": r, "price": g}}, steps=SPY)
    assert responses.profit_peak(responses.Arms(arms))["a"] == pytest.approx(1.0, abs=1e-9)


def test_service_lever_reports_nps_per_point_of_churn():
    base = _run({"a": {"churned": 1, "nps": 20.0}})  # 8 churned a year on 100: 8 points... x 2
    arm = _run({"a": {"churned": 0, "nps": 26.0}})
    arms = responses.Arms({responses.BASE: base, ("service", "a"): arm})
    churn = responses.service_churn_change(arms)["a"]
    assert churn == pytest.approx(-100 * 8 / 100 / 2)  # 8 churned in 2 years on 100
    assert responses.service_nps_per_churn(arms)["a"] == pytest.approx(6.0 / 4.0)
    arms = responses.Arms({responses.BASE: base, ("quality", "a"): arm})
    assert responses.quality_churn_change(arms)["a"] == pytest.approx(churn)
    assert responses.quality_nps_change(arms)["a"] == pytest.approx(6.0)
    assert responses.quality_nps_per_churn(arms)["a"] == pytest.approx(6.0 / 4.0)


def test_double_jeopardy_compares_the_smallest_and_largest_reach_brands():
    run = _run({"big": {"customers": 200, "churned": 3, "churned_exit": 1},
                "small": {"customers": 50, "churned": 1}})  # fmt: skip
    arms = responses.Arms({responses.BASE: run, ("jeopardy",): run})
    assert responses.jeopardy_customers(arms)[""] == pytest.approx(0.25)
    # churn without exits: big (3 - 1) x 8 / 200 / 2 years = 4 %, small 1 x 8 / 50 / 2 = 8 %
    assert responses.jeopardy_churn(arms)[""] == pytest.approx(4.0)


def test_the_identical_brands_market_differs_only_in_reach():
    from sim import load_config

    cfg = load_config(["market.customers=1000"])
    responses.identical_brands(cfg)
    brands = [OmegaConf.to_container(cfg.brands[b]) for b in cfg.brands]
    reach = [b.pop("ad_reach") for b in brands]
    assert brands[0] == brands[1] == brands[2]
    assert reach[0]["tv"] == pytest.approx(2 * reach[1]["tv"]) == pytest.approx(4 * reach[2]["tv"])
    # no staffed desk: under service=capacity the largest brand would be served worst
    assert brands[0]["service_capacity"] == {}


def test_arms_move_their_lever_from_step_0_on_the_shared_burn_in():
    from sim import load_config

    cfg = load_config(["market.customers=1000"])
    responses.apply_arm(cfg, ("price", "budget", 1.1))
    [event] = cfg.scenario.events
    assert (event.kind, event.brand, event.start, event.change) == (
        "price_change",
        "budget",
        0,
        0.1,
    )
    assert responses.arms_needed(responses.selected(["price"]), ["a"])[0] == responses.BASE


# --- "not measured" while the engine lacks the columns ----------------------------------------


NPS_MEASURES = (static.detractor_share, static.top_ltr_share, static.detractor_churn_ratio)


def test_nps_distribution_facts_are_not_measured_without_their_columns():
    bare = _run({"a": {"promoters": 50, "passives": 30, "detractors": 20}})
    nps_facts = [f for f in static.FACTS if f.measure in NPS_MEASURES]
    rows = core.measure_all(nps_facts, [bare, bare], "facts")
    status = {r["fact"].split(" (")[0]: r["status"] for r in rows}
    assert status["no likelihood-to-recommend score dominates"] == "not measured"
    assert status["detractors churn more than promoters"] == "not measured"
    assert status["detractors' share of customers"] == "pass"  # 20 %


def test_nps_distribution_facts_are_measured_once_the_columns_exist():
    counts = {f"ltr_{k}": 0 for k in range(11)} | {"ltr_8": 30, "ltr_9": 30, "ltr_10": 20,
                                                   "ltr_3": 20}  # fmt: skip
    run = _run({"a": {"promoters": 50, "passives": 30, "detractors": 20, **counts,
                      "churned_promoters": 1, "churned_passives": 1, "churned_detractors": 2}})  # fmt: skip
    assert static.top_ltr_share(run)["a"] == pytest.approx(30.0)
    assert static.detractor_churn_ratio(run)["a"] == pytest.approx((2 / 20) / (1 / 50))


# --- the command line -------------------------------------------------------------------------


def test_facts_command_prints_the_table_and_writes_parquet_and_markdown(tmp_path):
    proc = cli(tmp_path, "facts", "--seeds", "2", "--jobs", "1", "--out", "facts",
               "--years", "3", "market.customers=1000", "sim.steps_per_year=10",
               "sim.burn_in=20", "wom=threshold")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "annual churn" in proc.stdout and "churn by source" in proc.stdout
    assert "Inputs, not facts" in proc.stdout
    table = pl.read_parquet(tmp_path / "facts" / "facts.parquet")
    assert {"fact", "source", "low", "high", "mean", "ci_low", "ci_high", "pass", "status"} <= set(
        table.columns
    )
    text = (tmp_path / "facts" / "facts.md").read_text()
    assert "| Fact | Source | Target | Measured: mean [95 % CI] | |" in text
    assert "wom=threshold" in text.splitlines()[0]


def test_facts_responses_command_runs_paired_arms(tmp_path, capsys):
    code = F.command(["--responses", "--only", "price,jeopardy", "--years", "2", "--seeds", "2",
                      "--jobs", "1", "--markdown", str(tmp_path / "r.md"),
                      "market.customers=1000", "sim.steps_per_year=10", "sim.burn_in=10"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "own-price elasticity of customers, 1 year" in out
    assert "double jeopardy" in out and "NPS trend" in out
    assert (
        "ad-spend" not in out and "16 runs" in out
    )  # 2 seeds x (baseline, 6 price arms, jeopardy)
    assert "| share trend (budget) |" in (tmp_path / "r.md").read_text()


def test_facts_rules_prints_a_per_rule_table(capsys):
    code = F.command(["--rules", "--seeds", "2", "--jobs", "1", "--years", "1",
                      "market.customers=1000", "sim.steps_per_year=10", "sim.burn_in=10"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for rule in ("wom=cascade", "wom=threshold", "service=capacity", "service=investment"):
        assert f"{rule}: " in out  # its pass count


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1"], "--seeds=1: must be at least 2"),
        (["--jobs", "0"], "--jobs 0: must be at least 1"),
        (["--jobs", "100000"], "--jobs 100000: at most"),
        (["--only", "price"], "--only=price: only with --responses"),
        (["--years", "0"], "--years=0: must be at least 1"),
        (["sim.steps=30"], "sim.steps: set by --years"),
        (["--responses", "--only", "prices"], "--only=prices: unknown group 'prices'"),
        (["--responses", "--years", "0"], "--years=0: must be at least 1"),
        (["--responses", "sim.steps=30"], "sim.steps: set by --years"),
        (["--rules", "wom=cascade"], "wom=cascade: --rules sets wom="),
        (["--seeds", "x"], "argument --seeds: invalid int value"),
        (["wom.talk_rate=2"], "wom.talk_rate=2: must be between 0 and 1"),
    ],
)
def test_facts_command_refuses_bad_input_in_one_line(capsys, args, message):
    assert F.command(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("journeysim: error: ") and message in err[0], err


def test_elasticity_of_nothing_is_undefined():
    assert math.isnan(responses.elasticity(0.0, 1.0, 1.1, 0.9))
    assert np.isfinite(responses.elasticity(1.0, 1.0, 1.1, 0.9))


def test_static_facts_record_two_years_by_default_and_responses_three():
    C = importlib.import_module("sim.analysis.facts.command")

    static_years = C._options(C._parser().parse_args([]))[1]
    response_years = C._options(C._parser().parse_args(["--responses"]))[1]
    assert (static_years, response_years) == (2, 3)
    assert C._recorded(["sim.steps_per_year=10"], 2)[-1] == "sim.steps=20"


def test_ad_profit_arms_run_on_a_larger_market_with_its_own_baseline():
    from sim import load_config

    base = load_config(["market.customers=1000"])
    responses.apply_arm(base, responses.AD_BASE)
    assert base.market.customers == 1000 * responses.AD_PROFIT_SCALE
    assert not base.scenario.events  # the larger market as given: the arms' common baseline
    arm = load_config(["market.customers=1000"])
    responses.apply_arm(arm, (*responses.AD_BASE, "budget", 0.0))
    assert arm.market.customers == base.market.customers
    [event] = arm.scenario.events
    assert (event.kind, event.brand, event.start, event.multiplier) == (
        "ad_burst",
        "budget",
        0,
        0.0,
    )
