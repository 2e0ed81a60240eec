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


# -- many KPIs from one design ------------------------------------------------------------
def count_simulations(monkeypatch) -> list[int]:
    """Count the simulations run in this process (``--jobs 1``): one entry per run."""
    import sim.engine.runner as engine

    calls: list[int] = []
    real = engine.simulate

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "simulate", counted)
    return calls


#: A smaller market for the tests that run several designs (the identities are exact at any
#: size).
SMALL = ("market.customers=500", "sim.steps=15", "sim.burn_in=10", "engine.threads=1")


def study(folder, capsys, kpis: list[str], *args: str, space: str = SPACE, market=MARKET) -> str:
    """Run a sensitivity study of ``kpis`` (each its own ``--kpi``); its stdout."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "space.yaml").write_text(space)
    options = [a for k in kpis for a in ("--kpi", k)]
    code = main(["sensitivity", "--params", str(folder / "space.yaml"), *options,
                 "--out", str(folder / "out"), "--jobs", "1", *args, *market])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


@pytest.mark.parametrize(
    "args",
    [
        ("--method", "morris", "--n", "3", "--replicates", "2"),
        ("--method", "sobol", "--n", "2", "--second-order"),
    ],  # fmt: skip
    ids=["morris", "sobol"],
)
def test_two_kpis_from_one_design_equal_two_designs(tmp_path, capsys, monkeypatch, args):
    import yaml

    kpis = ["customers__challenger", "revenue__incumbent"]
    calls = count_simulations(monkeypatch)
    out = study(tmp_path / "both", capsys, [",".join(kpis)], *args, market=SMALL)
    both_runs = len(calls)
    singles = []
    for k, kpi in enumerate(kpis):
        study(tmp_path / f"one{k}", capsys, [kpi], *args, market=SMALL)
        singles.append(tmp_path / f"one{k}" / "out")
    assert len(calls) == 3 * both_runs  # each design costs the same: one design for both KPIs
    both = tmp_path / "both" / "out"
    samples = pl.read_parquet(both / "samples.parquet")
    assert both_runs == samples.height * (2 if "morris" in args else 1)  # samples x replicates
    table = pl.read_parquet(both / "sensitivity.parquet")
    assert table["kpi"].unique(maintain_order=True).to_list() == kpis
    for kpi, single in zip(kpis, singles, strict=True):
        alone = pl.read_parquet(single / "sensitivity.parquet")
        assert alone["kpi"].unique().to_list() == [kpi]
        assert table.filter(pl.col("kpi") == kpi).equals(alone)  # exactly, to the last bit
        alone_samples = pl.read_parquet(single / "samples.parquet")
        assert samples.select(alone_samples.columns).equals(alone_samples)
        if "--second-order" in args:
            pairs = pl.read_parquet(both / "interactions.parquet")
            assert pairs.filter(pl.col("kpi") == kpi).equals(
                pl.read_parquet(single / "interactions.parquet")
            )
        assert f"journeysim sensitivity of {kpi}" in out  # a printed block per KPI
    manifest = yaml.safe_load((both / "analysis.yaml").read_text())
    assert manifest["kpis"] == kpis and "kpi" not in manifest
    assert manifest["simulations"] == both_runs
    assert f"--kpi {','.join(kpis)} " in manifest["command"]
    assert all(line.split(":")[0] in kpis for line in manifest["warnings"])  # named per KPI
    html = (both / "sensitivity.html").read_text()
    assert all(f"Sensitivity of {kpi}" in html for kpi in kpis)  # a figure per KPI
    single = yaml.safe_load((singles[0] / "analysis.yaml").read_text())
    assert single["kpi"] == kpis[0] and single["kpis"] == [kpis[0]]
    assert f"--kpi {kpis[0]} " in single["command"]


def test_kpis_are_repeatable_comma_separated_or_all():
    from sim.analysis import runs
    from sim.analysis.sensitivity import parse_kpis

    brands = ["incumbent", "challenger"]
    given = ["revenue__incumbent, annual_churn__incumbent", "revenue__incumbent"]
    assert parse_kpis(given, brands) == ["revenue__incumbent", "annual_churn__incumbent"]
    every = parse_kpis(["share__challenger", "all"], brands)
    assert every[0] == "share__challenger" and sorted(every) == sorted(runs.kpi_names(brands))
    assert len(every) == len(set(every)) == 2 * len(runs.kpi_names(["x"]))


@pytest.mark.parametrize(
    "kpi, words",
    [
        ("revenue__incumbent,nope__incumbent", "--kpi nope__incumbent: not a KPI"),
        ("revenue__incumbent,", "an empty KPI name"),
    ],  # fmt: skip
)
def test_an_unknown_kpi_among_several_is_refused_before_any_run(
    tmp_path, capsys, monkeypatch, kpi, words
):
    calls = count_simulations(monkeypatch)
    (tmp_path / "space.yaml").write_text(SPACE)
    code = main(["sensitivity", "--params", str(tmp_path / "space.yaml"), "--kpi", kpi,
                 "--out", str(tmp_path / "out"), *MARKET])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and words in err
    assert not calls and not (tmp_path / "out").exists()


def test_a_kpi_no_parameter_moves_is_skipped_among_several(tmp_path, capsys):
    space = (
        "brands.challenger.margin: {low: 0.1, high: 0.5}\n"
        "finance.discount_rate: {low: 0.0001, high: 0.001}\n"
    )
    study(tmp_path, capsys, ["share__incumbent", "profit__challenger"], "--n", "2", space=space)
    # the warning went to stderr, read by study; the results say it too
    import yaml

    out = tmp_path / "out"
    manifest = yaml.safe_load((out / "analysis.yaml").read_text())
    assert manifest["kpis"] == ["profit__challenger"] and manifest["kpi"] == "profit__challenger"
    assert "depends on none of the parameters" in manifest["skipped"]["share__incumbent"]
    table = pl.read_parquet(out / "sensitivity.parquet")
    assert table["kpi"].unique().to_list() == ["profit__challenger"]
    margin = table.filter(pl.col("param") == "brands.challenger.margin").row(0, named=True)
    assert margin["rank"] == 1 and margin["mu_star"] > 0


def test_reliability_warnings_name_their_kpi():
    from sim.analysis.sensitivity import warnings_of

    def row(kpi, param, st, stc):
        return {"kpi": kpi, "param": param, "S1": st, "S1_conf": stc, "S1_low": st - stc,
                "S1_high": st + stc, "ST": st, "ST_conf": stc, "ST_low": st - stc,
                "ST_high": st + stc}  # fmt: skip

    table = pl.DataFrame([row("a__x", "p", 0.5, 0.05), row("b__x", "p", 0.5, 0.4)])
    pairs = pl.DataFrame({"kpi": ["a__x", "b__x"], "S2_conf": [0.5, 0.01]})
    lines = warnings_of(table, pairs, "sobol", 8, name=True)
    assert len(lines) == 2
    assert lines[0].startswith("a__x: pair indices (S2) have intervals up to +/-0.50")
    assert lines[1].startswith("b__x: total indices have intervals up to +/-0.40")
    assert warnings_of(table.head(1), None, "sobol", 8, name=False) == []


def test_sobol_intervals_of_seed_0_are_reproducible():
    """SALib takes a seed of 0 for none (NumPy's global state): seed 0 must still fix them."""
    import numpy as np

    from sim.analysis.sensitivity import analyse, design, interactions
    from sim.analysis.space import Param

    params = [Param(k, 0.0, 1.0) for k in ("x1", "x2")]
    unit = design(params, "sobol", 8, 4, seed=0, second_order=True)
    y = unit[:, 0] + unit[:, 1] ** 2
    tables = []
    for state in (1, 2):
        np.random.seed(state)  # noqa: NPY002 - the global state SALib would draw from
        tables.append((analyse(params, "sobol", unit, y, 4, 0, resamples=50, second_order=True),
                       interactions(params, y, 0, resamples=50)))  # fmt: skip
    assert tables[0][0].equals(tables[1][0]) and tables[0][1].equals(tables[1][1])
