"""journeysim optimise: the constrained best is found; constraints are parsed, never executed."""

from __future__ import annotations

import math

import polars as pl
import pytest
import yaml

from sim.analysis.constraints import parse_constraint
from sim.cli import main
from sim.config import ConfigError, load_config

VALID = ["ad_spend__challenger", "profit__challenger", "brands.challenger.price"]


def test_constraints_are_arithmetic_comparisons():
    c = parse_constraint("ad_spend__challenger + 2 * brands.challenger.price <= 100", VALID)
    assert c.op == "<=" and c.names == ["ad_spend__challenger", "brands.challenger.price"]
    env = {"ad_spend__challenger": 90.0, "brands.challenger.price": 1.0}
    assert c.violation(env) == pytest.approx(-8.0)
    assert parse_constraint("profit__challenger >= -(3 - 1) * 10", VALID).violation(
        {"profit__challenger": -25.0}
    ) == pytest.approx(5.0)
    over_zero = parse_constraint("ad_spend__challenger / profit__challenger < 1", VALID)
    assert over_zero.violation({"ad_spend__challenger": 2.0, "profit__challenger": 0.0}) > 0


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("__import__('os').system('touch /tmp/x') <= 1", "only numbers, KPIs, keys"),
        ("ad_spend__challenger", "one comparison"),
        ("1 <= ad_spend__challenger <= 2", "one comparison"),
        ("ad_spend__challenger == 3", "one comparison"),
        ("ad_spend__budgett <= 3", "ad_spend__budgett is not a KPI or a key of the space"),
        ("ad_spend__challenger ** 2 <= 3", "only numbers"),
        ("(" * 300 + "ad_spend__challenger" + ")" * 300 + " <= 1", "at most 500"),
        ("(" * 210 + "1" + ")" * 210 + " <= ad_spend__challenger", "not an expression"),
        ("ad_spend__challenger <= 'a'", "is not a number"),
        ("ad_spend__challenger <=", "not an expression"),
        ("1 <= 2", "compares numbers only"),
    ],
)
def test_bad_constraints_are_one_line(text, words):
    with pytest.raises(ConfigError) as exc:
        parse_constraint(text, VALID)
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert "--constraint" in str(exc.value)


def test_the_best_feasible_strategy_and_its_paired_gain(tmp_path, capsys):
    """Over six weeks a higher price earns more revenue (few customers leave so soon), but
    the constraint caps it at 1.1.

    The baseline price is 0.8, so the best strategy sits near the constraint's edge and its
    gain over the baseline is positive with an interval that excludes zero.
    """
    space = tmp_path / "space.yaml"
    space.write_text(
        "brands.challenger.price: {low: 0.5, high: 1.5}\n"
        "brands.challenger.margin: {low: 0.1, high: 0.5}\n"
    )
    out = tmp_path / "out"
    args = (
        "--kpi revenue__challenger --maximise --trials 12 --batch 4 --replicates 2 "
        "--validate 4 --jobs 1 market.customers=1500 sim.steps=40 brands.challenger.price=0.8 "
        "sim.burn_in=20 engine.threads=1"
    ).split()
    code = main(
        [
            "optimise",
            "--params",
            str(space),
            "--out",
            str(out),
            *args,
            "--constraint",
            "brands.challenger.price <= 1.1",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    overrides = yaml.safe_load((out / "best.yaml").read_text())
    assert overrides[0].startswith("++scenario.changes=")  # a change made today
    best = load_config(overrides).scenario.changes  # ready to pass back
    assert 1.0 <= float(best["brands.challenger.price"]) <= 1.1
    trials = pl.read_parquet(out / "trials.parquet")
    assert trials.height == 12
    assert {
        "trial",
        "state",
        "value",
        "feasible",
        "violation_1",
        "brands.challenger.price",
        "customers__challenger",
        "profit__challenger",
    } <= set(trials.columns)
    infeasible = trials.filter(~pl.col("feasible"))
    assert infeasible.height and (infeasible["brands.challenger.price"] > 1.1).all()
    assert trials["value"].max() > trials.filter(pl.col("feasible"))["value"].max()  # it binds
    gain = pl.read_parquet(out / "gain.parquet").row(0, named=True)
    assert gain["kpi"] == "revenue__challenger" and gain["seeds"] == 4
    assert gain["gain"] > 0 and gain["gain_low"] > 0  # paired on 4 fresh seeds
    validation = pl.read_parquet(out / "validation.parquet")
    assert validation["seed"].to_list() == [2, 3, 4, 5]  # after the search seeds 0 and 1
    assert (validation["gain"] == validation["best"] - validation["baseline"]).all()
    assert "gain +" in captured.out and "95% CI" in captured.out
    assert gain["improved"] and "verdict: an improvement over the baseline" in captured.out
    assert (out / "optimise.html").is_file()


def test_a_search_that_cannot_improve_says_so(tmp_path, capsys):
    """A key no KPI depends on (reviews are never read: read_rate 0): with common random
    numbers every candidate equals the baseline, so no improvement is claimed."""
    space = tmp_path / "space.yaml"
    space.write_text("wom.reviews.half_life: {low: 30, high: 300}\n")
    out = tmp_path / "out"
    args = ("--kpi revenue__challenger --maximise --trials 4 --batch 2 --replicates 1 "
            "--validate 3 --jobs 1 market.customers=800 sim.steps=20 sim.burn_in=10 "
            "engine.threads=1").split()  # fmt: skip
    code = main(["optimise", "--params", str(space), "--out", str(out), *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    gain = pl.read_parquet(out / "gain.parquet").row(0, named=True)
    assert gain["gain"] == 0.0 and not gain["improved"]
    assert "no improvement found over the baseline" in captured.out
    assert "no improvement found" in (out / "best.yaml").read_text()
    assert yaml.safe_load((out / "analysis.yaml").read_text())["gain"]["improved"] is False


def test_unknown_names_in_a_constraint_are_refused_before_any_work(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("brands.challenger.price: {low: 0.5, high: 1.2}\n")
    code = main(
        [
            "optimise",
            "--params",
            str(space),
            "--kpi",
            "profit__challenger",
            "--constraint",
            "spend <= 100",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "spend is not a KPI" in err and "ad_spend__challenger" in err
    assert not (tmp_path / "o").exists()


# -- budget questions ----------------------------------------------------------------------
def test_a_split_keeps_the_total_and_the_bounds():
    from sim.analysis.budget import project

    assert project([1, 1, 2], 100.0, [0, 0, 0], [100, 100, 100]) == [25.0, 25.0, 50.0]
    s = project([1, 0, 0], 100.0, [10, 20, 0], [60, 100, 100])
    assert sum(s) == 100.0 and s[0] == 60.0 and s[1] >= 20.0
    assert s == pytest.approx([60.0, 20.0, 20.0])  # the nearest point: both others moved alike
    assert project([0, 0], 10.0, [0, 0], [10, 10]) == [5.0, 5.0]  # no weights: equal shares


def test_customer_equity_values_the_change_in_customers_at_their_clv():
    from sim.analysis.runs import customer_equity

    metrics = pl.DataFrame(
        {
            "step": [0, 0, 1, 1, 2, 2],
            "brand": ["a", "b"] * 3,
            "customers": [100, 50, 105, 40, 110, 30],
            "clv": [None, None, 9.0, 8.0, 10.0, 7.0],
            "profit": [0.0, 0.0, 5.0, 3.0, 6.0, 2.0],
        }
    )
    got = customer_equity(metrics)
    assert got["equity__a"] == 1100.0 and got["equity_change__a"] == 100.0
    assert got["value__a"] == 111.0
    assert got["equity_change__b"] == -140.0 and got["value__b"] == -135.0


BUDGET_MARKET = ("--kpi value__challenger --trials 6 --batch 3 --replicates 1 --validate 2 "
                 "--jobs 1 market.customers=800 sim.steps=20 sim.burn_in=10 "
                 "engine.threads=1").split()  # fmt: skip


def test_a_fixed_budget_is_spent_exactly_and_traced_channel_by_channel(tmp_path, capsys):
    """Every candidate spends the budget, each channel within its bounds; the best is
    changed today; each channel's response curve and marginal return come with it."""
    out = tmp_path / "out"
    code = main(
        ["optimise", "--budget", "challenger=2000", "--bounds", "challenger.tv=200:800",
         "--bounds", "challenger.app=0:0", "--bounds", "challenger.search=0:0", "--out",
         str(out), *BUDGET_MARKET]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    trials = pl.read_parquet(out / "trials.parquet")
    spend = ["spend.challenger.tv", "spend.challenger.social"]
    assert set(spend) <= set(trials.columns) and "spend.challenger.app" not in trials.columns
    totals = trials.select(pl.sum_horizontal(spend)).to_series()
    assert (abs(totals - 2000.0) < 1e-9).all()  # an equality, not a penalty
    assert trials["spend.challenger.tv"].is_between(200.0, 800.0).all()
    cost_tv = 0.7  # channels.tv.cost: reach = spend / (N cost S)
    reach = trials["brands.challenger.ad_reach.tv"]
    assert (abs(reach * 800 * cost_tv * 365 - trials["spend.challenger.tv"]) < 1e-6).all()
    best = yaml.safe_load((out / "best.yaml").read_text())
    changes = load_config(best).scenario.changes
    assert set(changes) == {f"brands.challenger.ad_reach.{c}" for c in ("tv", "social")}
    curves = pl.read_parquet(out / "curves.parquet")
    assert curves.group_by("channel").len()["len"].to_list() == [14] * 2  # 7 levels x 2 seeds
    marginal = pl.read_parquet(out / "marginal.parquet")
    assert marginal["channel"].to_list() == ["tv", "social"]
    assert {"average_roas", "marginal_roas_low", "marginal_kpi_high"} <= set(marginal.columns)
    assert "returns on ad spend" in captured.out and "customer equity" in captured.out
    assert "challenger spend a year on tv" in captured.out


def test_a_budget_band_keeps_the_total_inside_it(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        ["optimise", "--budget", "challenger=1000:3000", "--no-curves", "--out", str(out),
         "--horizon", "0.05", *[a for a in BUDGET_MARKET if a != "sim.steps=20"]]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    trials = pl.read_parquet(out / "trials.parquet")
    spend = [c for c in trials.columns if c.startswith("spend.challenger.")]
    totals = trials.select(pl.sum_horizontal(spend)).to_series()
    assert totals.min() >= 1000.0 - 1e-9 and totals.max() <= 3000.0 + 1e-9
    assert totals.n_unique() > 1  # the total is searched too
    assert not (out / "curves.parquet").exists()
    manifest = yaml.safe_load((out / "analysis.yaml").read_text())
    assert "--horizon 0.05" in manifest["command"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--budget", "nobody=100"], "--budget nobody=100: must be BRAND=TOTAL"),
        (["--budget", "challenger=-5"], "must be a spend between 0 and 1e15"),
        (["--budget", "challenger=300:100"], "low 300 must not exceed high 100"),
        (["--budget", "challenger=1e999"], "must be a spend between 0 and 1e15"),
        (["--budget", "challenger=100", "--bounds", "challenger.moon=0:1"], "a channel (tv,"),
        (["--budget", "challenger=100", "--bounds", "challenger.tv=200:300"], "outside the budget"),
        (["--budget", "challenger=1e12"], "breaks a rule of the market"),
        (["--budget", "challenger=100", "--horizon", "0"], "--horizon 0: must be between"),
        (["--budget", "challenger=100", "--horizon", "1", "sim.steps=5"], "not both"),
        ([], "give --params SPACE.yaml, --budget, or both"),
        (
            [
                "--budget",
                "challenger=100",
                "--bounds",
                "challenger.tv=0:50",
                "--bounds",
                "challenger.tv=0:90",
            ],
            "challenger.tv has bounds already",
        ),  # fmt: skip
        (["--constraint", "profit__challenger >= 0"] * 101, "given more than 100 times"),
    ],
)
def test_bad_budget_questions_are_one_line_before_any_work(tmp_path, capsys, args, words):
    out = tmp_path / "o"
    code = main(["optimise", "--kpi", "profit__challenger", "--out", str(out), *args,
                 "market.customers=500"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert words in err
    assert not out.exists()


def test_a_key_that_cannot_change_today_asks_for_long_run(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("market.customers: {low: 500, high: 900}\n")
    code = main(["optimise", "--params", str(space), "--kpi", "profit__challenger",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "market.customers: cannot change today" in err and "--long-run" in err


def test_long_run_candidates_set_the_market_itself(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("brands.challenger.price: {low: 0.8, high: 1.2}\n")
    out = tmp_path / "out"
    code = main(["optimise", "--params", str(space), "--long-run", "--no-curves", "--out",
                 str(out), *BUDGET_MARKET])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best[0].startswith("brands.challenger.price=")
    assert "long-run: set in the market" in captured.out


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ad_spend__challenger <= " + "9" * 320, "a number beyond"),
        ("ad_spend__challenger <= 1e999", "a number beyond"),
        ("ad_spend__challenger <= 1 / 0", "divides by zero"),
        ("ad_spend__challenger <= 1 / (2 - 2)", "divides by zero"),
        (
            "ad_spend__challenger <= 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * "
            "1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * 1e15 * "
            "1e15 * 1e15 * 1e15",
            "beyond any float",
        ),  # fmt: skip
    ],
)
def test_numbers_no_float_holds_are_refused_when_parsed(text, words):
    with pytest.raises(ConfigError) as exc:
        parse_constraint(text, VALID)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_an_infinitely_met_constraint_stays_met():
    from sim.analysis.optimise import finite_violation

    c = parse_constraint("ad_spend__challenger / profit__challenger <= 3", [
        "ad_spend__challenger", "profit__challenger"])  # fmt: skip
    v = c.violation({"ad_spend__challenger": -5.0, "profit__challenger": 0.0})
    assert v == -math.inf and finite_violation(v) == -1e300 <= 0  # met, not broken
    assert finite_violation(math.nan) == 1e300


def test_a_brand_named_with_a_double_underscore_is_optimised(tmp_path, capsys):
    """``value__a__b`` is the value of brand ``a__b`` (a KPI name never holds ``__``)."""
    out = tmp_path / "out"
    code = main(["optimise", "--budget", "a__b=1000", "--kpi", "value__a__b", "--trials", "2",
                 "--batch", "2", "--replicates", "1", "--validate", "2", "--jobs", "1",
                 "--no-curves", "market.customers=600", "sim.steps=10", "sim.burn_in=5",
                 "+brands.a__b=${brands.budget}", "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "a__b also changes: customers at the end" in captured.out
    assert "customers_change" in pl.read_parquet(out / "validation.parquet").columns
