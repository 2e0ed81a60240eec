"""Tests of the pure functions behind the app (sim/dashboard.py), with known answers.

Most tests use small hand-made polars frames whose right answer can be worked out by
hand; the KPI-table tests use a few small real simulations.
"""

from __future__ import annotations

import math
import os
import shlex

import plotly.graph_objects as go
import polars as pl
import pytest
from omegaconf import OmegaConf

from sim import dashboard as dash
from sim import load_config, simulate

#: t_{0.975, 2}: the 95% two-sided quantile of Student's t with 2 degrees of freedom.
T975_DF2 = 4.302652729911275


# -- brand colours -----------------------------------------------------------------------
def test_known_brands_keep_their_colour_whatever_the_other_brands():
    alone = {b: dash.brand_colours([b])[b] for b in ("incumbent", "challenger", "budget", "newco")}
    mixes = (
        ["incumbent", "challenger", "budget"],
        ["budget", "newco", "incumbent", "challenger"],
        ["acme", "zeta", "challenger", "budget", "incumbent"],
        ["newco", "budget"],
    )
    for brands in mixes:
        colours = dash.brand_colours(brands)
        for b in brands:
            if b in alone:
                assert colours[b] == alone[b], (b, brands)
    # the same call twice gives the same answer (also for unknown brands)
    brands = ["incumbent", "acme", "budget", "zeta"]
    assert dash.brand_colours(brands) == dash.brand_colours(list(brands))


def test_distinct_brands_get_distinct_colours():
    # up to 8 brands (the config limit): known and unknown mixed, in any order
    brands = ["acme", "incumbent", "zeta", "budget", "omega", "challenger", "newco", "brand"]
    colours = dash.brand_colours(brands)
    assert set(colours) == set(brands)
    assert len(set(colours.values())) == len(brands)
    # repeated names are one brand
    twice = dash.brand_colours(["acme", "acme", "incumbent"])
    assert len(twice) == 2 and twice["acme"] != twice["incumbent"]


# -- replicate bands ---------------------------------------------------------------------
def _frame(rows):
    return pl.DataFrame(
        rows, schema=["scenario", "seed", "step", "brand", "x"], orient="row"
    ).with_columns(pl.col("x").cast(pl.Float64))


def test_replicate_band_is_mean_and_t_interval():
    # step 1: values 1, 2, 3 -> mean 2, sd 1, half-width t(0.975, 2) / sqrt(3)
    # step 2: values 10, 10, 10 -> no spread, zero width
    f = _frame(
        [("s", seed, 1, "a", v) for seed, v in enumerate([3.0, 1.0, 2.0])]
        + [("s", seed, 2, "a", 10.0) for seed in range(3)]
    )
    band = dash.replicate_band(f, "x").sort("step")
    half = T975_DF2 / math.sqrt(3)
    r1, r2 = band.row(0, named=True), band.row(1, named=True)
    assert r1["mean"] == pytest.approx(2.0)
    assert r1["low"] == pytest.approx(2.0 - half)
    assert r1["high"] == pytest.approx(2.0 + half)
    assert r1["n"] == 3
    assert r2["mean"] == r2["low"] == r2["high"] == pytest.approx(10.0)


def test_replicate_band_keeps_scenarios_and_brands_apart():
    f = _frame(
        [("s", 0, 1, "a", 1.0), ("s", 1, 1, "a", 3.0),
         ("s", 0, 1, "b", 100.0), ("s", 1, 1, "b", 300.0),
         ("t", 0, 1, "a", 7.0), ("t", 1, 1, "a", 7.0)]
    )  # fmt: skip
    band = dash.replicate_band(f, "x")
    means = {(r["scenario"], r["brand"]): r["mean"] for r in band.iter_rows(named=True)}
    assert means == {("s", "a"): 2.0, ("s", "b"): 200.0, ("t", "a"): 7.0}


def test_single_replicate_gives_zero_width_band():
    f = _frame([("s", 0, step, "a", 5.0 * step) for step in range(4)])
    band = dash.replicate_band(f, "x").sort("step")
    assert band["mean"].to_list() == [0.0, 5.0, 10.0, 15.0]
    assert band["low"].to_list() == band["mean"].to_list()
    assert band["high"].to_list() == band["mean"].to_list()
    assert band["n"].to_list() == [1, 1, 1, 1]


def test_difference_band_pairs_by_seed():
    # baseline values differ a lot between seeds; the other scenario is baseline + 5 for
    # the same seed. Rows are shuffled so that pairing by position would be wrong.
    base = [("base", seed, step, "a", 100.0 * seed + step) for seed in range(3) for step in (1, 2)]
    other = [("up", seed, step, "a", 100.0 * seed + step + 5.0) for seed in (2, 0, 1)
             for step in (2, 1)]  # fmt: skip
    diff = dash.difference_band(_frame(other + base), "x", "base")
    assert diff["scenario"].unique().to_list() == ["up"]
    assert diff.height == 2
    for r in diff.iter_rows(named=True):
        assert r["mean"] == pytest.approx(5.0)
        assert r["low"] == pytest.approx(5.0)
        assert r["high"] == pytest.approx(5.0)
        assert r["n"] == 3


def test_difference_band_interval_of_paired_differences():
    # differences 1, 2, 3 for seeds 0, 1, 2 on top of very different baselines
    base = [("base", seed, 1, "a", 1000.0 * seed) for seed in range(3)]
    other = [("up", seed, 1, "a", 1000.0 * seed + seed + 1.0) for seed in range(3)]
    r = dash.difference_band(_frame(base + other), "x", "base").row(0, named=True)
    half = T975_DF2 / math.sqrt(3)
    assert (r["mean"], r["low"], r["high"]) == pytest.approx((2.0, 2.0 - half, 2.0 + half))


def test_difference_band_without_other_scenarios_is_empty():
    base = [("base", seed, 1, "a", float(seed)) for seed in range(2)]
    assert dash.difference_band(_frame(base), "x", "base").height == 0


def test_retention_band_clipped_to_unit_interval_and_small_cohorts_left_out():
    rows = []
    for seed, values in enumerate(([1.0, 0.95, 0.9], [1.0, 1.0, 0.5], [1.0, 1.0, 0.7])):
        for tenure, v in enumerate(values):
            size = 100 if tenure < 2 else 10  # tenure 2 rests on 10 customers only
            rows.append(("s", seed, "a", tenure, size, v))
    ret = pl.DataFrame(
        rows, schema=["scenario", "seed", "brand", "tenure", "cohort_size", "retention"],
        orient="row",
    )  # fmt: skip
    band = dash.retention_band(ret).sort("tenure")
    assert band["tenure"].to_list() == [0, 1]
    r1 = band.row(1, named=True)
    assert r1["mean"] == pytest.approx((0.95 + 1.0 + 1.0) / 3)
    assert r1["high"] == 1.0  # the t-interval would pass 1: a share cannot
    assert 0.0 <= r1["low"] < r1["mean"]


# -- cumulative profit -------------------------------------------------------------------
def test_with_cumulative_profit_sums_per_scenario_seed_and_brand():
    rows = []
    for scenario in ("s", "t"):
        for seed in (0, 1):
            for brand in ("a", "b"):
                for step in (2, 0, 1):  # out of order on purpose
                    profit = (10 if scenario == "t" else 1) * (seed + 1) * (step + 1)
                    rows.append((scenario, seed, brand, step, float(profit)))
    m = pl.DataFrame(rows, schema=["scenario", "seed", "brand", "step", "profit"], orient="row")
    out = dash.with_cumulative_profit(m)
    assert out.height == m.height
    for r in out.iter_rows(named=True):
        k = (10 if r["scenario"] == "t" else 1) * (r["seed"] + 1)
        expected = k * sum(s + 1 for s in range(r["step"] + 1))
        assert r["cumulative_profit"] == pytest.approx(expected), r


# -- KPI table and headline from real small runs -------------------------------------------
SMALL = ["market.customers=1500", "sim.steps=40"]
BETTER_BUDGET = [
    f"brands.budget.service_quality.{ch}=1.0" for ch in ("store", "app", "service")
] + ["brands.budget.product_quality=0.8"]


@pytest.fixture(scope="module")
def small_runs():
    """(label, seed, Result) for baseline, 'same' (identical config) and 'better'."""
    runs = []
    for label, extra in (("baseline", []), ("same", []), ("better", BETTER_BUDGET)):
        for seed in range(3):
            runs.append((label, seed, simulate(load_config([*extra, *SMALL, f"seed={seed}"]))))
    return runs


@pytest.fixture(scope="module")
def small_table(small_runs):
    return dash.comparison_table([(lab, s, r.metrics) for lab, s, r in small_runs], "baseline")


def test_comparison_table_means_are_the_run_kpis(small_runs, small_table):
    # the 'customers' KPI is the number of customers at the last step, averaged over seeds
    for brand in ("incumbent", "challenger", "budget"):
        finals = []
        for label, _seed, r in small_runs:
            if label == "baseline":
                m = r.metrics.filter(pl.col("brand") == brand)
                finals.append(m.filter(pl.col("step") == m["step"].max())["customers"].item())
        row = small_table.filter(
            (pl.col("scenario") == "baseline") & (pl.col("brand") == brand)
            & (pl.col("kpi") == "customers")
        ).row(0, named=True)  # fmt: skip
        assert row["mean"] == pytest.approx(sum(finals) / 3)
        assert row["runs"] == 3
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]


def test_identical_scenario_has_exactly_zero_difference(small_table):
    same = small_table.filter(pl.col("scenario") == "same")
    assert same.height == small_table.filter(pl.col("scenario") == "baseline").height > 0
    assert (same["pairs"] == 3).all()
    for col in ("diff", "diff_low", "diff_high"):
        values = same[col].drop_nulls()
        assert values.len() == same.height, col
        assert (values == 0.0).all(), col
    base = small_table.filter(pl.col("scenario") == "baseline").sort("kpi", "brand")
    assert same.sort("kpi", "brand")["mean"].to_list() == base["mean"].to_list()


def test_better_service_does_not_raise_churn(small_table):
    row = small_table.filter(
        (pl.col("scenario") == "better") & (pl.col("brand") == "budget")
        & (pl.col("kpi") == "churned")
    ).row(0, named=True)  # fmt: skip
    assert row["pairs"] == 3
    assert row["diff"] < 0
    assert row["diff_low"] < row["diff"] < row["diff_high"]


def test_headline_of_identical_scenario(small_table):
    items = dash.headline(small_table, "same", "budget")
    assert [i["kpi"] for i in items] == [k for k, *_ in dash.HEADLINE_KPIS]
    base = {i["kpi"]: i["value"] for i in dash.headline(small_table, "baseline", "budget")}
    for item in items:
        assert item["diff"] == item["diff_low"] == item["diff_high"] == 0.0
        assert item["significant"] is False
        assert item["value"] == base[item["kpi"]]
        assert item["higher_is_better"] is True
    retention = next(i for i in items if i["kpi"] == "retention")
    assert 0.0 < retention["value"] <= 1.0


def test_headline_flags_a_significant_difference(small_table):
    items = {i["kpi"]: i for i in dash.headline(small_table, "better", "budget")}
    for item in items.values():
        expected = item["diff_low"] > 0 or item["diff_high"] < 0
        assert item["significant"] is expected
    # perfect service lifts the budget brand's NPS clearly above the baseline's
    assert items["nps"]["diff"] > 0
    assert items["nps"]["significant"] is True
    # an unknown scenario or brand has no headline
    assert dash.headline(small_table, "nope", "budget") == []


# -- number formatting --------------------------------------------------------------------
def _item(diff, low, high):
    return {"diff": diff, "diff_low": low, "diff_high": high}


def test_format_delta_strings():
    assert dash.format_delta(_item(1234.0, 1000.0, 1500.0)) == "+1.23k ± 250"
    assert dash.format_delta(_item(-5100.0, -6100.0, -4100.0)) == "-5.1k ± 1k"
    assert dash.format_delta(_item(0.0, 0.0, 0.0)) == "+0 ± 0"
    assert dash.format_delta(_item(-0.0123, -0.02, -0.0046)) == "-0.0123 ± 0.0077"
    assert dash.format_delta(_item(2_500_000.0, 2_000_000.0, 3_000_000.0)) == "+2.5M ± 500k"
    # one replicate: no interval
    assert dash.format_delta(_item(5.0, None, None)) == "+5"
    assert dash.format_delta(_item(None, None, None)) == "n/a"
    assert dash.format_delta(_item(float("nan"), None, None)) == "n/a"


def test_format_interval_strings():
    assert dash.format_interval(_item(1234.0, 1000.0, 1500.0)) == (
        "95% CI of the difference: +1k to +1.5k"
    )
    assert "n/a" in dash.format_interval(_item(5.0, None, None))


def test_compact_numbers():
    assert dash.compact(244.5) == "244"  # 3 significant digits
    assert dash.compact(10_994.7) == "11k"
    assert dash.compact(-5_100.0) == "-5.1k"
    assert dash.compact(1_430_000.0) == "1.43M"
    assert dash.compact(2.5e9) == "2.5B"
    assert dash.compact(0.0123) == "0.0123"
    assert dash.compact(None) == "n/a"
    assert dash.compact(3.0, signed=True) == "+3"


def test_compact_never_shows_scientific_notation_at_rounding_boundaries():
    for x in (999.5, 999.7, -999.96, 999_600.0, 999_700_000.0):
        assert "e+" not in dash.compact(x), (x, dash.compact(x))


# -- journey: Sankey and stage shares --------------------------------------------------------
FLOW_COLUMNS = ["step", "from_stage", "from_brand", "to_stage", "to_brand", "customers"]
FLOWS = [
    (1, "aware", None, "considering", None, 10),
    (2, "aware", None, "considering", None, 5),
    (3, "aware", None, "considering", None, 100),  # outside the window 1..2
    (1, "considering", None, "customer", "a", 4),
    (2, "aware", None, "aware", None, 50),  # stayed
    (1, "customer", "a", "customer", "a", 30),  # stayed
    (1, "customer", "a", "customer", "b", 3),  # switched brand: a move
    (2, "customer", "a", "lapsed", None, 2),
]


def _flows(rows=FLOWS):
    return pl.DataFrame(
        rows, schema={"step": pl.Int32, "from_stage": pl.Utf8, "from_brand": pl.Utf8,
                      "to_stage": pl.Utf8, "to_brand": pl.Utf8, "customers": pl.Int64},
        orient="row",
    )  # fmt: skip


def _links(data):
    labels = data["labels"]
    assert len(data["source"]) == len(data["target"]) == len(data["value"])
    return {
        (labels[s], labels[t]): v
        for s, t, v in zip(data["source"], data["target"], data["value"], strict=True)
    }


def test_sankey_data_sums_moves_over_the_window_without_stays():
    data = dash.sankey_data(_flows(), 1, 2)
    assert _links(data) == {
        ("aware (before)", "considering (after)"): 15,
        ("considering (before)", "customer: a (after)"): 4,
        ("customer: a (before)", "customer: b (after)"): 3,
        ("customer: a (before)", "lapsed (after)"): 2,
    }
    # left nodes before right nodes, each in journey order
    assert data["labels"] == [
        "aware (before)", "considering (before)", "customer: a (before)",
        "considering (after)", "customer: a (after)", "customer: b (after)", "lapsed (after)",
    ]  # fmt: skip
    assert data["sides"] == ["before"] * 3 + ["after"] * 4
    # every source is a left node, every target a right node
    assert all(data["sides"][s] == "before" for s in data["source"])
    assert all(data["sides"][t] == "after" for t in data["target"])


def test_sankey_data_includes_stays_on_request():
    links = _links(dash.sankey_data(_flows(), 1, 2, include_stays=True))
    assert links[("aware (before)", "aware (after)")] == 50
    assert links[("customer: a (before)", "customer: a (after)")] == 30
    assert links[("aware (before)", "considering (after)")] == 15
    assert sum(links.values()) == 15 + 4 + 3 + 2 + 50 + 30


def test_sankey_data_averages_stacked_runs():
    one = _links(dash.sankey_data(_flows(), 1, 3))
    doubled = [(*r[:5], 3 * r[5]) for r in FLOWS]
    stacked = dash.stack_runs([("s", 0, _flows()), ("s", 1, _flows(doubled))])
    two = _links(dash.sankey_data(stacked, 1, 3))
    assert set(two) == set(one)
    for k, v in one.items():
        assert two[k] == pytest.approx((v + 3 * v) / 2), k


def test_sankey_data_divides_by_all_stacked_runs():
    moves = _flows([(1, "aware", None, "considering", None, 10)])
    stays_only = _flows([(1, "aware", None, "aware", None, 40)])
    stacked = dash.stack_runs([("s", 0, moves), ("s", 1, stays_only)])
    assert _links(dash.sankey_data(stacked, 1, 1)) == {
        ("aware (before)", "considering (after)"): 5.0
    }


def test_sankey_data_empty_window():
    data = dash.sankey_data(_flows(), 50, 60)
    assert data["value"] == [] and data["labels"] == []


def _stages(rows):
    return pl.DataFrame(
        rows, schema={"step": pl.Int32, "stage": pl.Utf8, "brand": pl.Utf8,
                      "customers": pl.Int64}, orient="row",
    )  # fmt: skip


def test_stage_shares_sum_to_one_and_average_runs():
    run0 = _stages(
        [
            (0, "aware", None, 5),
            (0, "customer", "a", 5),
            (0, "customer", "b", 0),
            (1, "aware", None, 2),
            (1, "customer", "a", 6),
            (1, "customer", "b", 2),
        ]
    )
    run1 = _stages(
        [
            (0, "aware", None, 30),
            (0, "customer", "a", 10),
            (0, "customer", "b", 0),
            (1, "aware", None, 10),
            (1, "customer", "a", 10),
            (1, "customer", "b", 20),
        ]
    )
    shares = dash.stage_shares(dash.stack_runs([("s", 0, run0), ("s", 1, run1)]))
    sums = shares.group_by("step").agg(pl.col("share").sum())
    assert sums["share"].to_list() == pytest.approx([1.0, 1.0])
    got = {(r["step"], r["state"]): r["share"] for r in shares.iter_rows(named=True)}
    assert got[(0, "customer: a")] == pytest.approx((0.5 + 0.25) / 2)
    assert got[(1, "customer: b")] == pytest.approx((0.2 + 0.5) / 2)
    assert got[(0, "aware")] == pytest.approx((0.5 + 0.75) / 2)


def test_stage_shares_of_a_real_run_sum_to_one(small_runs):
    _label, _seed, r = small_runs[0]
    shares = dash.stage_shares(r.stages)
    sums = shares.group_by("step").agg(pl.col("share").sum())
    assert sums.height == 41  # steps 0..40
    assert sums["share"].to_list() == pytest.approx([1.0] * 41)
    assert set(shares["state"]) >= {"aware", "customer: incumbent", "customer: budget"}


# -- sweeps ---------------------------------------------------------------------------------
def _summary():
    """A synthetic summary: p in (1, 2), q in ('x', 'y'), seeds 0..2, one incomplete run."""
    rows = []
    k = 0
    for p in (1, 2):
        for q in ("x", "y"):
            for seed in range(3):
                cust = 10.0 * p + (5.0 if q == "y" else 0.0) + seed  # seed adds 0, 1, 2
                churn = 100.0 - cust
                rows.append({"run": str(k), "status": "complete", "scenario": "baseline",
                             "seed": seed, "p": p, "q": q, "market.customers": 1000,
                             "customers__a": cust, "churned__a": churn})  # fmt: skip
                k += 1
    rows.append({"run": str(k), "status": "incomplete", "scenario": "baseline", "seed": 3,
                 "p": 2, "q": "y", "market.customers": 1000, "customers__a": None,
                 "churned__a": None})  # fmt: skip
    return pl.DataFrame(rows)


def test_sweep_parameters_and_kpis():
    s = _summary()
    assert dash.sweep_parameters(s) == ["p", "q"]  # not run/status/seed/scenario/constant/KPI
    assert dash.sweep_kpis(s) == ["customers__a", "churned__a"]
    # a swept scenario is still not a parameter (the app offers it separately)
    s2 = s.with_columns(pl.when(pl.col("seed") == 0).then(pl.lit("other")).otherwise(
        pl.col("scenario")).alias("scenario"))  # fmt: skip
    assert dash.sweep_parameters(s2) == ["p", "q"]


def test_sweep_view_means_and_best_over_one_parameter():
    table, best = dash.sweep_view(_summary(), "customers__a", "p")
    rows = {r["p"]: r for r in table.iter_rows(named=True)}
    # p = 1: q x gives 10, 11, 12, q y gives 15, 16, 17 -> mean 13.5, 6 complete runs
    assert rows[1]["mean"] == pytest.approx(13.5)
    assert rows[2]["mean"] == pytest.approx(23.5)
    assert rows[1]["n"] == rows[2]["n"] == 6  # the incomplete run is left out
    assert rows[1]["low"] < 13.5 < rows[1]["high"]
    assert best["p"] == 2 and best["mean"] == pytest.approx(23.5)


def test_sweep_view_two_parameters_and_lower_is_better_for_churn():
    table, best = dash.sweep_view(_summary(), "customers__a", "p", "q")
    assert table.height == 4
    means = {(r["p"], r["q"]): r["mean"] for r in table.iter_rows(named=True)}
    assert means == pytest.approx({(1, "x"): 11.0, (1, "y"): 16.0, (2, "x"): 21.0,
                                   (2, "y"): 26.0})  # fmt: skip
    assert (best["p"], best["q"]) == (2, "y")
    # churn: the lowest is best
    table, best = dash.sweep_view(_summary(), "churned__a", "p", "q")
    assert (best["p"], best["q"]) == (2, "y")
    assert best["mean"] == pytest.approx(74.0)
    table, best = dash.sweep_view(_summary(), "churned__a", "q")
    assert best["q"] == "y" and best["mean"] == pytest.approx(100.0 - 21.0)


def test_sweep_view_filters_scenarios():
    s = _summary().with_columns(
        pl.when(pl.col("p") == 2).then(pl.lit("other")).otherwise(pl.col("scenario"))
        .alias("scenario")
    )  # fmt: skip
    table, best = dash.sweep_view(s, "customers__a", "q", scenarios=["baseline"])
    assert {r["q"]: r["mean"] for r in table.iter_rows(named=True)} == pytest.approx(
        {"x": 11.0, "y": 16.0}
    )
    assert best["q"] == "y"


def test_sweep_view_best_ignores_settings_without_values():
    s = pl.DataFrame({
        "run": ["0", "1", "2", "3"], "status": ["complete"] * 4,
        "scenario": ["baseline", "baseline", "new_entrant", "new_entrant"], "seed": [0, 1, 0, 1],
        "customers__newco": [None, None, 50.0, 60.0],
    })  # fmt: skip
    _table, best = dash.sweep_view(s, "customers__newco", "scenario")
    assert best["scenario"] == "new_entrant"
    assert best["mean"] == pytest.approx(55.0)


# -- figures ------------------------------------------------------------------------------
def test_band_figure_two_traces_per_scenario_and_brand():
    rows = [(sc, seed, step, b, float(seed + step)) for sc in ("s", "t") for b in ("incumbent", "acme")
            for seed in range(2) for step in range(5)]  # fmt: skip
    band = dash.replicate_band(_frame(rows), "x")
    colours = dash.brand_colours(["incumbent", "acme"])
    fig = dash.band_figure(band, "Customers", "customers", colours)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 2 * 2 * 2
    assert fig.layout.title.text == "Customers"
    assert fig.layout.xaxis.title.text == "day"
    assert fig.layout.yaxis.title.text == "customers"
    lines = [t for t in fig.data if t.showlegend is not False]
    assert sorted(t.name for t in lines) == [
        "acme (s)",
        "acme (t)",
        "incumbent (s)",
        "incumbent (t)",
    ]
    for t in lines:
        assert t.line.color == colours[t.name.split(" ")[0]]
        assert list(t.y) == pytest.approx([s + 0.5 for s in range(5)])  # mean of seed 0, 1
    # retention bands are drawn against tenure
    fig = dash.band_figure(band.rename({"step": "tenure"}), "R", "share", colours, "days")
    assert fig.layout.xaxis.title.text == "days" and len(fig.data) == 8


def test_sankey_figure_nodes_are_the_labels():
    data = dash.sankey_data(_flows(), 1, 2)
    colours = dash.brand_colours(["a", "b"])
    fig = dash.sankey_figure(data, colours, "Moves")
    (sankey,) = fig.data
    assert list(sankey.node.label) == data["labels"]
    assert len(sankey.node.color) == len(data["labels"])
    assert list(sankey.link.value) == data["value"]
    assert fig.layout.title.text == "Moves"
    # customer nodes carry the brand colour
    k = data["labels"].index("customer: a (before)")
    assert sankey.node.color[k] == colours["a"]


def test_stage_figure_one_trace_per_state():
    stages = _stages([(0, "aware", None, 5), (0, "customer", "a", 5), (1, "aware", None, 4),
                      (1, "customer", "a", 6)])  # fmt: skip
    fig = dash.stage_figure(dash.stage_shares(stages), dash.brand_colours(["a"]), "Where")
    assert [t.name for t in fig.data] == ["aware", "customer: a"]
    assert fig.layout.title.text == "Where"
    assert fig.layout.xaxis.title.text == "day"
    assert fig.layout.yaxis.title.text == "share of all customers"


def test_sweep_figure_line_and_heatmap():
    table, best = dash.sweep_view(_summary(), "customers__a", "p")
    fig = dash.sweep_figure(table, best, "customers__a", "p", None)
    assert len(fig.data) == 2  # the line and the best marker
    assert fig.layout.title.text == "customers of a by p"
    assert fig.layout.xaxis.title.text == "p"
    assert fig.layout.yaxis.title.text == "customers of a"
    assert list(fig.data[1].x) == [2] and list(fig.data[1].y) == pytest.approx([23.5])
    table, best = dash.sweep_view(_summary(), "customers__a", "p", "q")
    fig = dash.sweep_figure(table, best, "customers__a", "p", "q")
    heat, star = fig.data
    assert heat.type == "heatmap"
    assert [list(row) for row in heat.z] == [[11.0, 21.0], [16.0, 26.0]]  # rows: q, cols: p
    assert (list(star.x), list(star.y)) == (["2"], ["y"])
    assert fig.layout.title.text == "customers of a by p and q"
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("p", "q")


# -- reproduction ----------------------------------------------------------------------------
def test_reproduce_command():
    cmd = dash.reproduce_command(
        ["baseline", "price_war"], 3, ["market.customers=1000", "brands.x.name=two words"]
    )
    assert shlex.split(cmd) == [
        "python", "-m", "sim", "-m", "scenario=baseline,price_war", "seed=range(0,3)",
        "market.customers=1000", "brands.x.name=two words",
    ]  # fmt: skip
    assert "scenario=baseline,price_war" in cmd
    assert "'seed=range(0,3)'" in cmd  # parentheses are quoted for the shell
    # nothing typed can break out of its argument
    cmd = dash.reproduce_command(["a"], 1, ["x=1; rm -rf /", "y=$(id)"])
    assert shlex.split(cmd)[-2:] == ["x=1; rm -rf /", "y=$(id)"]


def test_reproduce_command_seed_range_expands_to_the_replicates():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    args = shlex.split(dash.reproduce_command(["a", "b"], 4, []))
    parsed = OverridesParser.create().parse_overrides(args[4:])
    sweeps = {o.key_or_group: [str(v) for v in o.sweep_iterator()] for o in parsed}
    assert sweeps == {"scenario": ["a", "b"], "seed": ["0", "1", "2", "3"]}


# -- safe paths -------------------------------------------------------------------------------
def test_resolve_under_accepts_folders_under_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    assert dash.resolve_under(root, "a/b") == (root / "a" / "b").resolve()
    assert dash.resolve_under(root, "a/../a") == (root / "a").resolve()
    assert dash.resolve_under(root, str(root / "a")) == (root / "a").resolve()
    assert dash.resolve_under(root, ".") == root.resolve()


def test_resolve_under_rejects_paths_leaving_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "root2"  # shares the root's name as a prefix
    outside.mkdir()
    os.symlink(outside, root / "link")
    for bad in ("../x", "../root2", "a/../../root2", str(outside), "/etc", "link", "link/sub"):
        with pytest.raises(ValueError, match="results root"):
            dash.resolve_under(root, bad)


def test_find_sweeps_lists_folders_with_a_summary(tmp_path):
    root = tmp_path / "root"
    for sub in ("b/c", "a", "d"):
        (root / sub).mkdir(parents=True)
    (root / "a" / "summary.parquet").write_bytes(b"x")
    (root / "b" / "c" / "summary.parquet").write_bytes(b"x")
    (root / "d" / "other.parquet").write_bytes(b"x")
    assert dash.find_sweeps(root) == ["a", "b/c"]
    assert dash.find_sweeps(str(root)) == ["a", "b/c"]
    assert dash.find_sweeps(tmp_path / "missing") == []
    assert dash.find_sweeps(root, limit=1) == ["a"]


# -- the model page --------------------------------------------------------------------------
def test_rules_name_real_config_keys_and_have_equations():
    cfg = load_config([])
    assert len(dash.RULES) >= 5
    names = [r["name"] for r in dash.RULES]
    assert len(set(names)) == len(names)
    for rule in dash.RULES:
        assert rule["name"].strip() and rule["words"].strip()
        assert rule["equation"].strip(), rule["name"]
        assert rule["keys"], rule["name"]
        for key in rule["keys"]:
            value = OmegaConf.select(cfg, key, throw_on_missing=True)
            assert value is not None, (rule["name"], key)
