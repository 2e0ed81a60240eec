"""journeysim sensitivity: a parameter the KPI cannot depend on gets zero and the last rank."""

from __future__ import annotations

import polars as pl
import pytest

from sim.cli import main

#: A KPI of customers cannot depend on the challenger's margin (money only), whereas its
#: price and word of mouth move it.
SPACE = (
    "brands.challenger.price: {low: 0.6, high: 1.2}\n"
    "brands.challenger.margin: {low: 0.1, high: 0.5}\n"
    "wom.talk_rate: {low: 0.02, high: 0.3}\n"
)
#: A short burn-in (these tests check the tools, not the steady state) and one Numba thread
#: (the tests share the cores with other work; results do not depend on it).
MARKET = ("market.customers=1500", "sim.steps=40", "sim.burn_in=20", "engine.threads=1")


def run(tmp_path, capsys, *args: str) -> pl.DataFrame:
    tmp_path.mkdir(exist_ok=True)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    out = tmp_path / "out"
    code = main(
        [
            "sensitivity",
            "--params",
            str(space),
            "--kpi",
            "customers__challenger",
            "--out",
            str(out),
            *args,
            *MARKET,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "brands.challenger.margin" in captured.out  # the ranked table is printed
    for name in ("sensitivity.parquet", "samples.parquet", "sensitivity.html", "analysis.yaml"):
        assert (out / name).is_file()
    return pl.read_parquet(out / "sensitivity.parquet")


def test_morris_screens_out_the_irrelevant_parameter(tmp_path, capsys):
    table = run(
        tmp_path, capsys, "--method", "morris", "--n", "3", "--replicates", "2", "--jobs", "1"
    )
    assert {
        "param",
        "mu",
        "mu_star",
        "mu_star_conf",
        "mu_star_low",
        "mu_star_high",
        "sigma",
        "rank",
    } <= set(table.columns)
    rows = {r["param"]: r for r in table.iter_rows(named=True)}
    margin, price = rows["brands.challenger.margin"], rows["brands.challenger.price"]
    assert margin["mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert margin["sigma"] == pytest.approx(0.0, abs=1e-9)
    assert margin["rank"] == table["rank"].max() == 3
    assert price["rank"] < 3 and price["mu"] < 0  # a higher price loses customers
    assert price["mu_star_low"] > 0  # clearly influential
    assert rows["wom.talk_rate"]["mu_star_low"] > 0


def test_sobol_gives_the_irrelevant_parameter_zero_indices(tmp_path, capsys):
    table = run(tmp_path, capsys, "--method", "sobol", "--n", "4", "--jobs", "2")
    assert {
        "param",
        "S1",
        "S1_conf",
        "S1_low",
        "S1_high",
        "ST",
        "ST_conf",
        "ST_low",
        "ST_high",
        "rank",
    } <= set(table.columns)
    rows = {r["param"]: r for r in table.iter_rows(named=True)}
    margin = rows["brands.challenger.margin"]
    assert margin["ST"] == pytest.approx(0.0, abs=1e-9)
    assert margin["S1"] == pytest.approx(0.0, abs=1e-9)
    assert margin["rank"] == 3
    assert rows["brands.challenger.price"]["ST"] > 0.2
    samples = pl.read_parquet(tmp_path / "out" / "samples.parquet")
    assert samples.height == 4 * (3 + 2)  # Saltelli: N (D + 2)


def test_results_do_not_depend_on_the_number_of_jobs(tmp_path, capsys):
    one = run(tmp_path / "a", capsys, "--n", "2", "--jobs", "1")
    two = run(tmp_path / "b", capsys, "--n", "2", "--jobs", "2")
    assert one.equals(two)


def test_a_kpi_no_parameter_moves_is_refused(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text(
        "brands.challenger.margin: {low: 0.1, high: 0.5}\n"
        "finance.discount_rate: {low: 0.0001, high: 0.001}\n"
    )
    code = main(
        [
            "sensitivity",
            "--params",
            str(space),
            "--kpi",
            "share__incumbent",
            "--n",
            "2",
            "--jobs",
            "1",
            "--out",
            str(tmp_path / "o"),
            *MARKET,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "share__incumbent" in err and "depends on none of the parameters" in err
    assert not (tmp_path / "o" / "sensitivity.parquet").exists()


def test_unreliable_sobol_indices_are_named_with_the_remedy():
    from sim.analysis.sensitivity import reliability_warnings

    def row(param, s1, s1c, st, stc):
        return {"param": param, "S1": s1, "S1_conf": s1c, "S1_low": s1 - s1c,
                "S1_high": s1 + s1c, "ST": st, "ST_conf": stc, "ST_low": st - stc,
                "ST_high": st + stc}  # fmt: skip

    good = pl.DataFrame([row("a", 0.6, 0.05, 0.7, 0.05), row("b", 0.0, 0.02, 0.01, 0.02)])
    assert reliability_warnings(good, "sobol", 512) == []
    bad = pl.DataFrame([row("a", 0.9, 0.05, 0.5, 0.1), row("b", -0.3, 0.1, 0.05, 0.3)])
    lines = reliability_warnings(bad, "sobol", 32)
    assert any(line.startswith("a: first-order index 0.9 exceeds its total 0.5") for line in lines)
    assert any(line.startswith("b: S1 -0.3 is below 0") for line in lines)
    assert any("intervals up to +/-0.30" in line for line in lines)
    assert all("raise --n above 32" in line for line in lines)
    assert reliability_warnings(bad, "morris", 32) == []


def test_second_order_indices_find_an_interaction():
    """y = x1 x2 + x3 on the unit cube: the pair (x1, x2) carries a sixth of the variance
    beyond each alone; x3 interacts with nothing."""
    import numpy as np

    from sim.analysis.sensitivity import design, interactions
    from sim.analysis.space import Param

    params = [Param(k, 0.0, 1.0) for k in ("x1", "x2", "x3")]
    unit = design(params, "sobol", 1024, 4, seed=3, second_order=True)
    assert unit.shape == (1024 * (2 * 3 + 2), 3)  # Saltelli with pairs: N (2D + 2)
    y = unit[:, 0] * unit[:, 1] + unit[:, 2]
    pairs = interactions(params, y, seed=3, resamples=200)
    top = pairs.row(0, named=True)
    assert (top["param_a"], top["param_b"]) == ("x1", "x2")
    # Var(x1 x2) = 7/144, its interaction part 1/144; Var(y) = 7/144 + 1/12 = 19/144
    assert top["S2"] == pytest.approx(1 / 19, abs=0.03)
    others = pairs.filter(pl.col("param_b") == "x3")
    assert np.all(np.abs(others["S2"].to_numpy()) < 0.03)


def test_second_order_needs_sobol(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("brands.challenger.price: {low: 0.5, high: 1.5}\n"
                     "brands.challenger.margin: {low: 0.1, high: 0.5}\n")  # fmt: skip
    code = main(["sensitivity", "--params", str(space), "--kpi", "revenue__challenger",
                 "--second-order", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2 and "--second-order: only with --method sobol" in capsys.readouterr().err
