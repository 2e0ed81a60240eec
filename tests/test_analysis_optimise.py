"""journeysim optimise: the constrained best is found; constraints are parsed, never executed."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from sim.analysis.optimise import parse_constraint
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
    assert (
        parse_constraint("ad_spend__challenger / 0 < 1", VALID).violation(
            {"ad_spend__challenger": 2.0}
        )
        > 0
    )


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
    best = dict(o.split("=") for o in overrides)
    assert 1.0 <= float(best["brands.challenger.price"]) <= 1.1
    load_config(overrides)  # ready to pass back
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
