"""Tests of the pure functions behind the app (sim/dashboard/), with known answers.

Most tests use small hand-made polars frames whose right answer can be worked out by
hand; the KPI-table and comparison tests use a few small real simulations.
"""

from __future__ import annotations

import io
import math
import os
import shlex
import zipfile

import plotly.graph_objects as go
import polars as pl
import pytest
from clitools import cli, command_runs
from omegaconf import OmegaConf

from sim import dashboard as dash
from sim import load_config, simulate
from sim.dashboard import format as fmt
from sim.dashboard import state

#: t_{0.975, 2}: the 95% two-sided quantile of Student's t with 2 degrees of freedom.
T975_DF2 = 4.302652729911275


@pytest.fixture(scope="module")
def cfg():
    return load_config([])


# -- colours -------------------------------------------------------------------------------
def test_known_brands_keep_their_colour_whatever_the_other_brands():
    alone = {b: dash.brand_colours([b])[b] for b in ("incumbent", "challenger", "budget", "newco")}
    for brands in (["incumbent", "challenger", "budget"], ["budget", "newco", "incumbent"],
                   ["acme", "zeta", "challenger", "budget", "incumbent"]):  # fmt: skip
        colours = dash.brand_colours(brands)
        for b in brands:
            if b in alone:
                assert colours[b] == alone[b], (b, brands)


def test_distinct_brands_get_distinct_colours_far_from_stage_tones():
    brands = ["acme", "incumbent", "zeta", "budget", "omega", "challenger", "newco", "brand"]
    colours = dash.brand_colours(brands)
    assert len(set(colours.values())) == len(brands)
    assert not set(colours.values()) & set(dash.STAGE_COLOURS.values())
    # 'aware' is no longer a blue next to the incumbent's blue
    assert dash.state_colour("aware", colours) != colours["incumbent"]
    assert dash.state_colour("customer: budget", colours) == colours["budget"]


def test_scenario_colours_baseline_grey_and_fixed_order():
    colours = dash.scenario_colours(["baseline", "a", "b"], "baseline")
    assert colours["baseline"] == dash.BASELINE_COLOUR
    assert len(set(colours.values())) == 3
    # the same scenarios in the same order get the same colours in every chart
    assert dash.scenario_colours(["baseline", "a", "b"], "baseline") == colours


# -- formatting: one helper for every number --------------------------------------------------
@pytest.mark.parametrize(
    ("value", "kind", "kwargs", "text"),
    [
        (0.686, "percent", {}, "68.6%"),
        (-0.00327, "percent", {"delta": True}, "-0.33 pp"),
        (0.0123, "percent", {"delta": True}, "+1.2 pp"),
        (30410.3, "money", {}, "30,410 cu"),
        (1_430_000.0, "money", {"compact": True}, "1.43M cu"),
        (12_345.0, "count", {}, "12,345"),
        (4.5, "count", {"delta": True}, "+4.5"),
        (4.0, "count", {"delta": True}, "+4"),
        (0.0, "count", {"delta": True}, "0"),
        (12.34, "points", {}, "+12.3"),
        (1.5, "points", {"delta": True}, "+1.5 pts"),
        (0.7213, "score", {}, "0.721"),
        (0.000123, "number", {}, "0.000123"),
        (None, "money", {}, "n/a"),
        (float("nan"), "count", {}, "n/a"),
        (30410.3, "money", {"with_units": False}, "30,410"),
    ],
)
def test_format_value(value, kind, kwargs, text):
    assert dash.format_value(value, kind, **kwargs) == text


def test_format_never_shows_scientific_notation():
    for x in (999.5, 999.7, -999.96, 999_600.0, 999_700_000.0, 3.041e4, 1e-7):
        for compact in (False, True):
            text = dash.format_value(x, "number", compact=compact)
            assert "e+" not in text and "e-" not in text, (x, text)
    assert dash.format_value(30410.0, "number") == "30,410"  # not 3.041e+04


def test_format_delta_marks_intervals_that_include_zero():
    assert dash.format_delta(-0.00327, -0.0043, -0.0023, "percent") == "-0.33 ± 0.10 pp"
    assert dash.format_delta(0.0003, -0.0006, 0.0012, "percent") == "+0.03 ± 0.09 pp (n.s.)"
    assert dash.format_delta(1234.0, 1000.0, 1500.0, "money") == "+1,234 ± 250 cu"
    assert dash.format_delta(5.0, None, None, "count") == "+5 (one replicate)"
    assert dash.format_delta(None, None, None, "count") == "n/a"


def test_format_interval_units_once():
    assert dash.format_interval(-0.0045, -0.002, "percent") == "[-0.45, -0.20] pp"
    assert dash.format_interval(0.84, 0.958, "percent", delta=False) == "[84.0%, 95.8%]"
    assert dash.format_interval(789.0, 967.0, "count", delta=False) == "[789, 967]"
    assert dash.format_interval(1.0, 2.0, "money", with_units=False) == "[+1.00, +2.00]"
    assert dash.format_interval(None, 1.0, "money") == "n/a"


def test_significance_and_compact():
    assert dash.significant(0.1, 0.2) is True
    assert dash.significant(-0.1, 0.2) is False
    assert dash.significant(None, 0.2) is None
    assert dash.compact(1_430_000.0) == "1.43M"
    assert dash.compact(-51_200.0, signed=True) == "-51.2k"
    assert dash.compact(None) == "n/a"


def test_human_names_and_units():
    assert dash.human_name("cumulative_profit") == "Cumulative profit"
    assert dash.human_name("customers__incumbent") == "Customers at end, incumbent"
    assert dash.human_name("wom.talk_rate") == "wom.talk_rate"  # keys stay typeable
    assert dash.metric_title("revenue") == "Revenue (cu per day)"
    assert dash.metric_title("share") == "Market share (%)"
    assert dash.metric_title("share", delta=True) == "Market share (pp)"
    assert dash.kpi_title("retention") == "Retention (%)"
    assert dash.kpi_title("nps") == "NPS at end (points)"
    assert dash.kpi_title("revenue") == f"Revenue ({dash.CURRENCY})"


def test_columns_the_engine_adds_later_get_a_name_and_a_kind():
    # issue 8 adds e.g. churn by source and cost columns: nothing is hard-coded to fail
    assert dash.metric_info("churned_service").kind == "count"
    assert dash.metric_info("churned_service").per == "per day"
    assert dash.metric_info("acquisition_cost").kind == "money"
    assert dash.metric_info("loyalty_share").kind == "percent"
    assert dash.metric_title("churned_service") == "Churned service (customers per day)"
    info = dash.kpi_info("churned_price")
    assert info.label == "Churned price" and not info.higher_is_better


def test_number_formats_for_column_config():
    assert fmt.number_format([30410.3, 200.1], "money") == "%,.0f"
    assert fmt.number_format([0.4, 0.3], "money") == "%,.3f"
    assert fmt.number_format([103.0, 48.0, 91.0], "count") == "%,.0f"
    assert fmt.number_format([0.5], "percent") == "%.1f%%"
    assert fmt.number_format([0.5], "percent", delta=True) == "%+.2f pp"
    spec = dash.column_spec("Retention (%)", "percent", [0.5])
    assert spec.scale == 100.0 and spec.label == "Retention (%)"


# -- bands ------------------------------------------------------------------------------------
def _frame(rows):
    return pl.DataFrame(
        rows, schema=["scenario", "seed", "step", "brand", "x"], orient="row"
    ).with_columns(pl.col("x").cast(pl.Float64))


def test_replicate_band_is_mean_and_t_interval():
    f = _frame(
        [("s", seed, 1, "a", v) for seed, v in enumerate([3.0, 1.0, 2.0])]
        + [("s", seed, 2, "a", 10.0) for seed in range(3)]
    )
    band = dash.replicate_band(f, "x").sort("step")
    half = T975_DF2 / math.sqrt(3)
    r1, r2 = band.row(0, named=True), band.row(1, named=True)
    assert (r1["mean"], r1["low"], r1["high"], r1["n"]) == pytest.approx(
        (2.0, 2.0 - half, 2.0 + half, 3)
    )
    assert r2["mean"] == r2["low"] == r2["high"] == pytest.approx(10.0)


def test_replicate_band_keeps_groups_apart_and_one_replicate_has_no_width():
    f = _frame([("s", 0, 1, "a", 1.0), ("s", 1, 1, "a", 3.0), ("s", 0, 1, "b", 100.0),
                ("t", 0, 1, "a", 7.0)])  # fmt: skip
    band = dash.replicate_band(f, "x")
    means = {(r["scenario"], r["brand"]): r["mean"] for r in band.iter_rows(named=True)}
    assert means == {("s", "a"): 2.0, ("s", "b"): 100.0, ("t", "a"): 7.0}
    single = band.filter(pl.col("brand") == "b").row(0, named=True)
    assert single["low"] == single["high"] == single["mean"]


def test_difference_band_pairs_by_seed():
    base = [("base", seed, step, "a", 100.0 * seed + step) for seed in range(3) for step in (1, 2)]
    other = [("up", seed, step, "a", 100.0 * seed + step + seed + 1.0) for seed in (2, 0, 1)
             for step in (2, 1)]  # fmt: skip
    diff = dash.difference_band(_frame(other + base), "x", "base")
    assert diff["scenario"].unique().to_list() == ["up"]
    half = T975_DF2 / math.sqrt(3)
    for r in diff.iter_rows(named=True):  # differences 1, 2, 3 whatever the baseline level
        assert (r["mean"], r["low"], r["high"]) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    assert dash.difference_band(_frame(base), "x", "base").height == 0


def _retention(rows):
    return pl.DataFrame(
        rows, schema=["scenario", "seed", "brand", "tenure", "cohort_size", "retention"],
        orient="row",
    )  # fmt: skip


def test_retention_tail_is_cut_where_the_smallest_cohort_is_small():
    rows = []
    for scenario, sizes in (("s", (500, 400, 150, 80)), ("t", (500, 400, 90, 80))):
        for seed in range(3):
            for tenure, size in enumerate(sizes):
                rows.append((scenario, seed, "a", tenure, size, 1.0 - 0.1 * tenure - 0.05 * seed))
    ret = _retention(rows)
    # tenure 2 has 150 customers in s but 90 in t: the smaller decides, for both
    assert dash.retention_cut(ret, 100) == {"a": 1}
    assert dash.retention_cut(ret, 50) == {"a": 3}
    assert dash.retention_cut(ret, 50, min_share=0.5) == {"a": 1}  # 150 < 50% of 500
    assert dash.retention_cut(ret, 50, min_share=0.9) == {"a": 0}  # 400 < 90% of 500
    band = dash.retention_band(ret, min_cohort=100)
    assert sorted(set(band["tenure"])) == [0, 1]
    assert set(band["scenario"]) == {"s", "t"}
    r = band.filter((pl.col("scenario") == "s") & (pl.col("tenure") == 1)).row(0, named=True)
    assert r["mean"] == pytest.approx(0.85)
    assert 0.0 <= r["low"] <= r["mean"] <= r["high"] <= 1.0


def test_metric_columns_are_whatever_the_engine_records():
    m = pl.DataFrame({"step": [0], "brand": ["a"], "scenario": ["s"], "seed": [0],
                      "customers": [1], "churned_service": [2.0], "label": ["x"]})  # fmt: skip
    assert dash.metric_columns(m) == ["customers", "churned_service"]


def test_with_cumulative_profit_sums_per_scenario_seed_and_brand():
    rows = [(sc, seed, b, step, float((10 if sc == "t" else 1) * (seed + 1) * (step + 1)))
            for sc in ("s", "t") for seed in (0, 1) for b in ("a", "b") for step in (2, 0, 1)]  # fmt: skip
    m = pl.DataFrame(rows, schema=["scenario", "seed", "brand", "step", "profit"], orient="row")
    out = dash.with_cumulative_profit(m)
    for r in out.iter_rows(named=True):
        k = (10 if r["scenario"] == "t" else 1) * (r["seed"] + 1)
        assert r["cumulative_profit"] == pytest.approx(k * sum(s + 1 for s in range(r["step"] + 1)))


# -- journey ------------------------------------------------------------------------------------
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
    s = data["states"]
    return {(s[a], s[b]): v for a, b, v in zip(data["source"], data["target"], data["value"],
                                                strict=True)}  # fmt: skip


def test_sankey_data_sums_moves_over_the_window_without_stays():
    data = dash.sankey_data(_flows(), 1, 2)
    assert _links(data) == {
        ("aware", "considering"): 15, ("considering", "customer: a"): 4,
        ("customer: a", "customer: b"): 3, ("customer: a", "lapsed"): 2,
    }  # fmt: skip
    assert data["sides"] == ["before"] * 3 + ["after"] * 4
    assert data["states"][:3] == ["aware", "considering", "customer: a"]
    # node totals: what leaves a left node, what enters a right node
    totals = dict(zip([f"{s}/{d}" for s, d in zip(data["states"], data["sides"], strict=True)],
                      data["totals"], strict=True))  # fmt: skip
    assert totals["customer: a/before"] == 5 and totals["considering/after"] == 15


def test_sankey_data_stays_averaging_and_empty_windows():
    links = _links(dash.sankey_data(_flows(), 1, 2, include_stays=True))
    assert links[("aware", "aware")] == 50 and links[("customer: a", "customer: a")] == 30
    doubled = [(*r[:5], 3 * r[5]) for r in FLOWS]
    stacked = dash.stack_runs([("s", 0, _flows()), ("s", 1, _flows(doubled))])
    two = _links(dash.sankey_data(stacked, 1, 3))
    for k, v in _links(dash.sankey_data(_flows(), 1, 3)).items():
        assert two[k] == pytest.approx(2 * v), k  # the mean of v and 3v
    assert dash.sankey_data(_flows(), 50, 60)["value"] == []


def test_sankeys_side_by_side_share_their_states():
    other = _flows([(1, "aware", None, "lapsed", None, 7)])
    states = dash.flow_states(_flows(), other, start=1, end=2, include_stays=False,
                              brands=["b", "a"])  # fmt: skip
    assert states == ["aware", "considering", "customer: b", "customer: a", "lapsed"]
    for f in (_flows(), other):
        data = dash.sankey_data(f, 1, 2, states=states)
        assert data["states"] == states + states


def test_sankey_figure_labels_carry_counts_and_nodes_do_not_collide():
    data = dash.sankey_data(_flows(), 1, 2)
    colours = dash.brand_colours(["a", "b"])
    (sankey,) = dash.sankey_figure(data, colours, "Moves").data
    labels = list(sankey.node.label)
    assert labels[0] == "aware · 15" and "customer: a · 5" in labels
    k = data["states"].index("customer: a")
    assert sankey.node.color[k] == colours["a"]
    xs, ys = dash.sankey_positions(data)
    for side in ("before", "after"):
        col = sorted(y for y, s in zip(ys, data["sides"], strict=True) if s == side)
        assert all(0 < y < 1 for y in col)
        assert all(b - a >= 0.03 for a, b in zip(col, col[1:], strict=False))


def _stages(rows):
    return pl.DataFrame(rows, schema={"step": pl.Int32, "stage": pl.Utf8, "brand": pl.Utf8,
                                      "customers": pl.Int64}, orient="row")  # fmt: skip


def test_stage_shares_and_bands_fill_missing_states_with_zero():
    run0 = _stages([(0, "aware", None, 5), (0, "customer", "a", 5), (1, "aware", None, 2),
                    (1, "customer", "a", 6), (1, "customer", "b", 2)])  # fmt: skip
    run1 = _stages([(0, "aware", None, 30), (0, "customer", "a", 10), (1, "aware", None, 10),
                    (1, "customer", "a", 10), (1, "customer", "b", 20)])  # fmt: skip
    stacked = dash.stack_runs([("s", 0, run0), ("s", 1, run1)])
    shares = dash.stage_shares(stacked)
    assert shares.group_by("step").agg(pl.col("share").sum())["share"].to_list() == [1.0, 1.0]
    band = dash.stage_band(stacked)
    # customer: b is missing at step 0 in both runs: share 0 there, not left out
    row = band.filter((pl.col("step") == 0) & (pl.col("state") == "customer: b")).row(0, named=True)
    assert row["mean"] == 0.0 and row["n"] == 2
    row = band.filter((pl.col("step") == 1) & (pl.col("state") == "customer: b")).row(0, named=True)
    assert row["mean"] == pytest.approx((0.2 + 0.5) / 2)


# -- event windows and faceted figures ---------------------------------------------------------
def test_event_windows_from_scenario_configs():
    configs = {
        "baseline": {"scenario": {"events": []}},
        "outage": {"scenario": {"events": [
            {"kind": "service_outage", "brand": "incumbent", "start": 60, "end": 74}]}},
        "bot": {"scenario": {"events": [{"kind": "chatbot_rollout", "brand": "incumbent",
                                         "start": 30, "end": None}]}},
        "late": {"scenario": {"events": [{"kind": "price_change", "brand": "b", "start": 500}]}},
    }  # fmt: skip
    windows = dash.event_windows(configs, steps=100)
    assert [(w.scenario, w.start, w.end, w.open_ended) for w in windows] == [
        ("outage", 60, 74, False), ("bot", 30, 101, True)]  # fmt: skip
    assert windows[0].text == "service outage (incumbent), days 60-73"
    assert windows[1].text == "chatbot rollout (incumbent) from day 30"


def _policy_metrics(steps=10):
    # seed 0 and 1: the rival 'r' cuts its price on day 3; 'b' loses share below 0.2 on day 5
    rows = []
    for seed in (0, 1):
        for t in range(steps + 1):
            rows.append(
                {
                    "scenario": "war",
                    "seed": seed,
                    "step": t,
                    "brand": "r",
                    "price": 0.8 if t >= 3 else 1.0,
                    "share": 0.5,
                    "nps": 10.0,
                }
            )
            rows.append(
                {
                    "scenario": "war",
                    "seed": seed,
                    "step": t,
                    "brand": "b",
                    "price": 1.0,
                    "share": 0.1 if t >= 5 else 0.3,
                    "nps": 10.0,
                }
            )
    return pl.DataFrame(rows)


def test_the_journey_window_opens_on_the_first_event():
    assert dash.default_journey_window([60, 90], last=365) == (60, 89)
    assert dash.default_journey_window([], last=365) == (1, 30)
    assert dash.default_journey_window([0], last=365) == (1, 30)  # day 0 is the status quo
    assert dash.default_journey_window([60], last=70) == (41, 70)  # the event stays inside
    assert dash.default_journey_window([5], last=20) == (1, 20)


def test_response_windows_show_when_a_rivals_policy_acted():
    configs = {"war": {"brands": {
        "r": {"price": 1.0},
        "b": {"price": 1.0, "responses": [
            {"kind": "match_price", "rivals": ["r"], "lag": 2},
            {"kind": "ad_boost", "share_below": 0.2},
        ]},
    }}}  # fmt: skip
    windows = dash.response_windows(configs, _policy_metrics(), steps=10)
    spans = [(w.kind, w.brand, w.start, w.end, w.open_ended, w.response) for w in windows]
    # matching acts 2 days after the cut; the boost the day after the share fell below 0.2
    assert spans == [("match_price", "b", 5, 11, True, True), ("ad_boost", "b", 6, 11, True, True)]
    assert windows[0].text == "response: price matching (b) from day 5"


def test_window_notes_are_legible_and_open_ended_windows_do_not_tint_the_chart():
    colours = dash.scenario_colours(["baseline", "a", "b"], "baseline")
    windows = [dash.Window("a", "chatbot_rollout", "x", 0, 6, True),
               dash.Window("a", "price_change", "x", 0, 6, True),
               dash.Window("b", "service_outage", "x", 1, 3, False)]  # fmt: skip
    fig = dash.band_figure(_band(("baseline", "a", "b")), facet="brand", title="Share",
                           y_title="Share (%)", kind="percent", colours=colours,
                           order=["baseline", "a", "b"], windows=windows)  # fmt: skip
    # two open-ended events of one day: one dashed line per panel, no shade; the outage shaded
    kinds = [shape.type for shape in fig.layout.shapes]
    assert kinds.count("rect") == 2 and kinds.count("line") == 2
    notes = [a for a in fig.layout.annotations if (a.name or "").startswith("window")]
    assert len(notes) == 2 and "chatbot rollout (x) from day 0; price change" in notes[0].text
    for note in notes:  # WCAG AA text: at least 12 px, contrast 4.5:1 on white
        assert note.font.size >= 12
        assert dash.contrast_ratio(note.font.color, "#ffffff") >= 4.5
    assert fig.layout.title.yref == "container" and fig.layout.title.y == 1


def _band(scenarios=("baseline", "a"), brands=("x", "y")):
    rows = [(sc, seed, step, b, float(seed + step)) for sc in scenarios for b in brands
            for seed in range(2) for step in range(5)]  # fmt: skip
    return dash.replicate_band(_frame(rows), "x")


def test_band_figure_facets_by_brand_and_colours_by_scenario():
    colours = dash.scenario_colours(["baseline", "a"], "baseline")
    windows = [dash.Window("a", "service_outage", "x", 1, 3, False)]
    fig = dash.band_figure(_band(), facet="brand", title="Share", y_title="Share (%)",
                           kind="percent", colours=colours, order=["baseline", "a"],
                           windows=windows)  # fmt: skip
    assert isinstance(fig, go.Figure)
    assert [a.text for a in fig.layout.annotations][:2] == ["x", "y"]  # one panel per brand
    lines = [t for t in fig.data if t.mode == "lines" and t.fill is None]
    assert len(lines) == 4 and len(fig.data) == 8  # a band under every line
    # one legend entry per scenario, in the given order, coloured the same in every panel
    legend = [t.name for t in lines if t.showlegend]
    assert legend == ["baseline", "a"]
    for t in lines:
        assert t.line.color == colours[t.name]
        assert list(t.y) == pytest.approx([s + 0.5 for s in range(5)])
    assert fig.layout.yaxis.tickformat.endswith("%")  # a % axis for a fraction
    # the window is shaded on both panels and labelled once
    shaded = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(shaded) == 2 and {(s.x0, s.x1) for s in shaded} == {(1, 3)}
    assert sum("service outage" in (a.text or "") for a in fig.layout.annotations) == 1


def test_band_figure_legend_style_is_the_same_for_a_different_chart():
    colours = dash.scenario_colours(["baseline", "a", "b"], "baseline")
    one = dash.band_figure(_band(("baseline", "a", "b")), facet="brand", title="A", y_title="",
                           kind="count", colours=colours, order=["baseline", "a", "b"])  # fmt: skip
    two = dash.band_figure(_band(("b", "baseline")), facet="brand", title="B", y_title="",
                           kind="money", colours=colours, order=["baseline", "a", "b"],
                           zero_line=True)  # fmt: skip
    style = {t.name: (t.line.color, t.line.dash) for t in one.data if t.showlegend}
    for t in two.data:
        if t.showlegend:
            assert (t.line.color, t.line.dash) == style[t.name]
    assert [t.name for t in two.data if t.showlegend] == ["baseline", "b"]  # fixed order
    assert any(s.type == "line" and s.y0 == 0 for s in two.layout.shapes)


# -- KPI tables -------------------------------------------------------------------------------
def _report(rows):
    cols = ["scenario", "kpi", "brand", "runs", "mean", "ci_low", "ci_high", "pairs", "diff",
            "diff_low", "diff_high"]  # fmt: skip
    return pl.DataFrame(rows, schema=cols, orient="row")


REPORT = _report([
    ("base", "retention", "a", 3, 0.686, 0.68, 0.69, 0, 0.0, 0.0, 0.0),
    ("base", "retention", "b", 3, 0.5, 0.4, 0.6, 0, 0.0, 0.0, 0.0),
    ("base", "churned", "a", 3, 100.0, 90.0, 110.0, 0, 0.0, 0.0, 0.0),
    ("base", "churned", "b", 3, 50.0, 40.0, 60.0, 0, 0.0, 0.0, 0.0),
    ("s", "retention", "a", 3, 0.683, 0.67, 0.69, 3, -0.00327, -0.0042, -0.0023),
    ("s", "retention", "b", 3, 0.5, 0.4, 0.6, 3, 0.001, -0.002, 0.004),
    ("s", "churned", "a", 3, 90.0, 80.0, 100.0, 3, -10.0, -12.0, -8.0),
    ("s", "churned", "b", 3, 55.0, 45.0, 65.0, 3, 5.0, 4.0, 6.0),
])  # fmt: skip


def test_wide_deltas_scenarios_side_by_side_brands_as_rows():
    table, verdicts = dash.wide_deltas(REPORT, "base")
    assert table.columns == ["KPI", "Brand", "base", "s"]
    assert table["KPI"].to_list() == ["Retention (%)"] * 2 + ["Customers lost"] * 2
    assert table["Brand"].to_list() == ["a", "b", "a", "b"]
    assert table["base"].to_list()[:2] == ["68.6%", "50.0%"]
    assert table["s"].to_list() == [
        "-0.33 pp [-0.42, -0.23]", "+0.10 pp [-0.20, +0.40] n.s.", "-10 [-12, -8]",
        "+5 [+4, +6]",
    ]  # fmt: skip
    # fewer customers lost is better: the colour follows the KPI's direction
    assert verdicts["s"].to_list() == ["worse", "n.s.", "better", "worse"]


def test_headline_cards_grey_when_not_significant(small_table):
    items = {i["kpi"]: i for i in dash.headline(small_table, "better", "budget", "baseline")}
    assert list(items) == [k for k in dash.HEADLINE if k in items]
    for item in items.values():
        expected = item["diff_low"] > 0 or item["diff_high"] < 0
        assert item["significant"] is expected
        if expected:
            assert item["delta_color"] == "normal" and "(n.s.)" not in item["delta_text"]
        else:
            assert item["delta_color"] == "off" and item["delta_text"].endswith("(n.s.)")
    assert items["retention"]["value_text"].endswith("%")
    assert " pp" in items["retention"]["delta_text"]  # a % changes in percentage points
    assert items["revenue"]["value_text"].endswith(dash.CURRENCY)
    # perfect service lifts the budget brand's NPS clearly
    assert items["nps"]["diff"] > 0 and items["nps"]["significant"]
    # the baseline against itself has no delta; unknown brands have no cards
    assert all(i["delta_text"] is None for i in dash.headline(small_table, "baseline", "budget",
                                                             "baseline"))  # fmt: skip
    assert dash.headline(small_table, "nope", "budget", "baseline") == []


def test_kpi_levels_one_column_per_kpi_with_units(small_table):
    frame, specs = dash.kpi_levels(small_table)
    assert frame.columns[:2] == ["scenario", "brand"]
    assert frame.height == 3 * 3  # three scenarios, three brands
    assert specs["retention"].label == "Retention (%)" and specs["retention"].format == "%.1f%%"
    assert specs["revenue"].label == f"Revenue ({dash.CURRENCY})"
    raw = small_table.filter((pl.col("scenario") == "baseline") & (pl.col("brand") == "budget")
                             & (pl.col("kpi") == "retention"))["mean"].item()  # fmt: skip
    shown = frame.filter((pl.col("scenario") == "baseline") & (pl.col("brand") == "budget"))
    assert shown["retention"].item() == pytest.approx(100 * raw)  # shown as 0-100
    frame, _ = dash.kpi_levels(small_table, intervals=True)
    assert frame.columns.index("retention 95% CI") == frame.columns.index("retention") + 1
    assert frame["retention 95% CI"][0].startswith("[")


# -- KPI table from real small runs -----------------------------------------------------------
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
    for brand in ("incumbent", "budget"):
        finals = [r.metrics.filter((pl.col("brand") == brand) & (pl.col("step") == 40))
                  ["customers"].item() for lab, _s, r in small_runs if lab == "baseline"]  # fmt: skip
        row = small_table.filter((pl.col("scenario") == "baseline") & (pl.col("brand") == brand)
                                 & (pl.col("kpi") == "customers")).row(0, named=True)  # fmt: skip
        assert row["mean"] == pytest.approx(sum(finals) / 3) and row["runs"] == 3


def test_identical_scenario_has_exactly_zero_difference(small_table):
    same = small_table.filter(pl.col("scenario") == "same")
    assert (same["pairs"] == 3).all()
    assert (same["diff"].drop_nulls() == 0.0).all()
    table, verdicts = dash.wide_deltas(small_table, "baseline")
    assert set(verdicts["same"].to_list()) <= {"n.s.", ""}  # never coloured


def test_better_service_does_not_raise_churn(small_table):
    row = small_table.filter((pl.col("scenario") == "better") & (pl.col("brand") == "budget")
                             & (pl.col("kpi") == "churned")).row(0, named=True)  # fmt: skip
    assert row["diff"] < 0 and row["diff_low"] < row["diff"] < row["diff_high"]


# -- a whole comparison ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def comparison(cfg):
    specs = dash.lever_specs(cfg)
    settings = dash.Settings(customers=1000, replicates=2, steps=70,
                             scenarios=("service_outage",), levers=(("wom.talk_rate", 0.3),))  # fmt: skip
    jobs = dash.plan(settings, specs, cfg)
    runs, configs = [], []
    for job in jobs:
        c = load_config(list(job.overrides))
        r = simulate(c)
        configs.append(OmegaConf.to_yaml(c))
        runs.append((job.label, job.seed, {"metrics": r.metrics, "stages": r.stages,
                                           "flows": r.flows, "retention": r.retention}))  # fmt: skip
    return dash.Comparison(settings, jobs, runs, configs,
                           dash.reproduce_commands(settings, specs, cfg), 1.0)  # fmt: skip


def test_comparison_frames_and_figures(comparison):
    assert comparison.labels == ["baseline", "service_outage", "levers"]
    assert comparison.others == ["service_outage", "levers"]
    assert comparison.brands == ["incumbent", "challenger", "budget"]
    assert [(w.scenario, w.start, w.end) for w in comparison.windows] == [
        ("service_outage", 60, 71)]  # days 60-70 of a 70-day run  # fmt: skip
    assert set(comparison.metrics["scenario"]) == set(comparison.labels)
    fig = comparison.metric_figure("share")
    assert fig.layout.yaxis.tickformat.endswith("%")
    assert [t.name for t in fig.data if t.showlegend] == comparison.labels
    assert any(s.type == "rect" and s.x0 == 60 for s in fig.layout.shapes)
    diff = comparison.difference_figure("customers")
    assert [t.name for t in diff.data if t.showlegend] == ["service_outage", "levers"]
    # a difference of shares is in percentage points, as its axis title says
    pp = comparison.difference_figure("share")
    titles = [a.title.text for a in pp.select_yaxes() if a.title.text]
    assert titles and all("pp" in t for t in titles)
    assert "%" not in pp.layout.yaxis.tickformat
    share_diff = comparison.metric_figure("share").data[1].y
    assert max(abs(v) for t in pp.data if t.fill is None for v in t.y) > 0.01  # x 100
    assert max(share_diff) <= 1
    # money axes never print an exponent (3.5e+5): thousands separators instead
    assert "g" not in comparison.metric_figure("cumulative_profit").layout.yaxis.tickformat
    fig, note = comparison.retention_figure(min_cohort=5)
    assert fig is not None and "fewer than 5 acquired customers, or under 10% of all" in note
    # too short a run for any cohort: no empty chart, a note saying why
    empty, why = comparison.retention_figure(min_cohort=10**9)
    assert empty is None and "No cohort retention curve" in why
    assert (dash.plural(1, "replicate"), dash.plural(3, "pair")) == ("1 replicate", "3 pairs")
    left, right = comparison.sankeys(["baseline", "service_outage"], 1, 30)
    assert list(left.data[0].node.label)[0].split(" · ")[0] == list(
        right.data[0].node.label)[0].split(" · ")[0]  # fmt: skip
    stages = comparison.stage_figure()
    assert stages.layout.annotations[0].text == "unaware"


def test_comparison_zip_holds_results_configs_and_the_command(comparison):
    z = zipfile.ZipFile(io.BytesIO(comparison.zip))
    names = set(z.namelist())
    for frame in ("kpis", "differences", "metrics", "stages", "flows", "retention"):
        assert f"results/{frame}.parquet" in names and f"results/{frame}.csv" in names
    assert {f"configs/{comparison.run_name(j)}.yaml" for j in comparison.jobs} <= names
    script = z.read("reproduce.sh").decode()
    for command in comparison.commands:
        assert command in script
    metrics = pl.read_parquet(io.BytesIO(z.read("results/metrics.parquet")))
    assert metrics.height == comparison.metrics.height
    config = OmegaConf.create(z.read("configs/levers_seed1.yaml").decode())
    # levers act from today by default: a change at step 0 on the shared status quo
    assert config.scenario.changes == {"wom.talk_rate": 0.3}
    assert config.seed == 1 and config.market.customers == 1000
    overrides = z.read("overrides.txt").decode()
    assert ("levers_seed1: scenario=baseline ++scenario.name=levers "
            "++scenario.changes={wom.talk_rate: 0.3}") in overrides  # fmt: skip


def test_the_reproduce_command_reports_the_apps_table(comparison, tmp_path):
    # one command, lever comparison included, whose report is the app's table
    (command,) = comparison.commands
    args = shlex.split(command)
    assert args[:2] == ["journeysim", "compare"]
    done = cli(tmp_path, *args[1:], "--out", "out", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    keys = ["scenario", "kpi", "brand"]
    reported = pl.read_parquet(tmp_path / "out" / "report.parquet").sort(keys)
    assert reported.equals(comparison.table.sort(keys))  # same runs, bit for bit
    again = cli(tmp_path, "report", "out")
    assert again.returncode == 0 and "levers" in again.stdout


# -- settings, runs, commands, URL -------------------------------------------------------------
def test_levers_are_generic_over_brands_and_only_moved_ones_count(cfg):
    specs = dash.lever_specs(cfg)
    ids = [lever.id for lever in specs]
    assert ids[:5] == ["wom", "service", "network", "wom.talk_rate", "market.churn.sensitivity"]
    for brand in cfg.brands:
        assert f"brands.{brand}.price" in ids and f"ads.{brand}" in ids
    for lever in specs:
        if lever.kind == "key":
            assert OmegaConf.select(cfg, lever.keys[0]) == pytest.approx(lever.default)
        if lever.kind == "rule":  # the configured rule is the default choice
            assert lever.options[int(lever.default)] == OmegaConf.select(cfg, lever.keys[1])
        assert lever.low <= lever.default <= lever.high
    moved = {"wom.talk_rate": 0.1, "ads.incumbent": 2.0, "brands.budget.price": 0.9, "wom": 1.0,
             "network": 3.0}  # fmt: skip
    overrides = dash.lever_overrides(moved, specs, cfg)
    assert "wom=cascade" in overrides  # a rule lever chooses a config-group option
    assert "network=clustered" in overrides
    assert "wom.talk_rate=0.1" not in overrides  # the default: not moved
    tv = 2 * cfg.brands.incumbent.ad_reach.tv
    assert f"brands.incumbent.ad_reach.tv={tv:g}" in overrides  # the default reach x 2
    assert not any("ad_reach.app" in o for o in overrides if "incumbent" in o)  # 0 stays 0
    assert "brands.budget.price=0.9" in overrides


def test_the_reproduce_commands_run_exactly_the_planned_jobs(cfg):
    specs = dash.lever_specs(cfg)
    s = dash.Settings(customers=2000, replicates=3, steps=90, baseline="price_war",
                      scenarios=("baseline", "pr_crisis"), levers=(("ads.budget", 1.5),),
                      overrides=("network=erdos_renyi", "brands.x.name=two words"))  # fmt: skip
    jobs = dash.plan(s, specs, cfg)
    assert len(jobs) == 4 * 3
    assert {j.label for j in jobs} == {"price_war", "baseline", "pr_crisis", "levers"}
    (command,) = dash.reproduce_commands(s, specs, cfg)
    assert command_runs(command) == sorted(tuple(sorted(j.overrides)) for j in jobs)
    # typed text is one shell argument: nothing can break out of it
    assert "brands.x.name=two words" in shlex.split(command)


def test_typed_overrides_may_not_set_keys_the_form_or_a_moved_lever_owns(cfg):
    specs = dash.lever_specs(cfg)
    s = dash.Settings(levers=(("wom.talk_rate", 0.3), ("ads.incumbent", 2.0)),
                      overrides=("market.customers=50000", "sim.steps=100", "seed=4",
                                 "wom.talk_rate=0.2", "brands.incumbent.ad_reach.tv=0.1",
                                 "+x._target_=os.system", "scenario=pr_crisis",
                                 "brands.budget.price=0.5", "~hydra.run"))  # fmt: skip
    problems = dash.conflicts(s, specs)
    assert len(problems) == 8
    assert "Customers" in problems[0] and "Days simulated" in problems[1]
    assert "Word-of-mouth strength" in problems[3] and "Ad reach" in problems[4]
    assert "_target_" in problems[5]
    # an unmoved lever's key may be typed
    assert not any("brands.budget.price" in p for p in problems)


def test_settings_round_trip_through_the_url(cfg):
    specs = dash.lever_specs(cfg)
    names = [n for n, _ in __import__("scenarios.library").library.list_scenarios()]
    s = dash.Settings(customers=2000, replicates=4, steps=200, baseline="baseline",
                      scenarios=("pr_crisis", "price_war"),
                      levers=(("brands.budget.price", 0.55), ("wom.talk_rate", 0.3)),
                      overrides=("network=erdos_renyi", "brands.budget.margin=0.3"))  # fmt: skip
    query = dash.to_query(s)
    assert all(isinstance(v, str) for v in query.values())
    back, problems = dash.from_query(query, names, specs)
    assert back == s and problems == []


def test_a_bad_url_gives_defaults_and_says_why(cfg):
    specs = dash.lever_specs(cfg)
    query = {"customers": "12345", "replicates": "99", "days": "x", "baseline": "nope",
             "scenarios": "pr_crisis,ghost", "levers": "wom.talk_rate:9,ghost:1,"}  # fmt: skip
    s, problems = dash.from_query(query, ["baseline", "pr_crisis"], specs)
    assert s.customers == 10_000  # the nearest offered size
    assert (s.replicates, s.steps, s.baseline) == (3, 365, "baseline")
    assert s.scenarios == ("pr_crisis",) and s.levers == ()
    assert len(problems) == 7


def test_settings_from_the_form(cfg):
    specs = dash.lever_specs(cfg)
    values = {lever.id: lever.default for lever in specs}
    values["brands.budget.price"] = 0.30000000000000004
    s = dash.settings_from_form(2000, 2, 60, "baseline", ["baseline", "pr_crisis"], values, specs,
                                "  network=erdos_renyi   a.b=1 ")  # fmt: skip
    assert s.scenarios == ("pr_crisis",)  # the baseline is not compared with itself
    assert s.levers == (("brands.budget.price", 0.3),)
    assert s.overrides == ("network=erdos_renyi", "a.b=1")
    assert s.describe() == (
        "baseline vs pr_crisis, levers · levers from today · 2,000 customers · 60 days · 2 replicates"
    )


def test_run_time_estimate_comes_from_this_machines_measured_speed():
    # a machine with a fixed cost of 0.2 s a run, 10 us a customer, 5 M customer-steps/s,
    # and 8 s to load the kernels: the calibration runs' times give it back
    true = state.Speed(rate=5e6, fixed=0.2, per_customer=1e-5, compile_seconds=8.0)
    seconds = [true.run_seconds(n, t) for n, t in state.CALIBRATION_RUNS]
    seconds[0] += 8.0  # the first run of a process loads the engine
    speed = dash.fit_speed(seconds)
    assert speed.rate == pytest.approx(5e6) and speed.fixed == pytest.approx(0.2)
    assert speed.per_customer == pytest.approx(1e-5) and speed.compile_seconds == pytest.approx(8)
    # 12 runs of 10,000 customers x 365 days, 3 status quos to reach (730 days each)
    runs, burn_ins = [(10_000, 365, 1)] * 12, [(10_000, 730, 1)] * 3
    expected = 12 * (0.2 + 0.1 + 0.73) + 3 * 1.46
    assert state.estimate_seconds(runs, burn_ins, speed) == pytest.approx(expected)
    assert speed.run_seconds(100_000, 365, threads=2) < speed.run_seconds(100_000, 365)
    text = state.progress_text(2, 6, "pr_crisis", 1, 120, 365, 95.0)
    assert text == "Run 3/6: pr_crisis, seed 1 · day 120/365 · about 2 min left"


# -- sweeps -------------------------------------------------------------------------------------
def _summary():
    """p in (1, 2), q in ('x', 'y'), seeds 0..2; one incomplete run."""
    rows, k = [], 0
    for p in (1, 2):
        for q in ("x", "y"):
            for seed in range(3):
                cust = 10.0 * p + (5.0 if q == "y" else 0.0) + seed
                rows.append({"run": str(k), "status": "complete", "scenario": "baseline",
                             "seed": seed, "p": p, "q": q, "market.customers": 1000,
                             "customers__a": cust, "churned__a": 100.0 - cust,
                             "problem": None})  # fmt: skip
                k += 1
    rows.append({"run": "12", "status": "incomplete", "scenario": "baseline", "seed": 3, "p": 2,
                 "q": "y", "market.customers": 1000, "customers__a": None, "churned__a": None,
                 "problem": "12/metrics.parquet: cannot be read"})  # fmt: skip
    return pl.DataFrame(rows)


def test_sweep_axes_kpis_and_failed_runs():
    s = _summary()
    assert dash.sweep_parameters(s) == ["p", "q"]
    assert dash.axis_choices(s) == ["p", "q"]  # one scenario: not an axis
    assert dash.sweep_kpis(s) == ["customers__a", "churned__a"]
    assert dash.is_categorical(s, "q") and not dash.is_categorical(s, "p")
    failed = dash.failed_runs(s)
    assert failed.to_dicts() == [{"run": "12", "status": "incomplete",
                                  "problem": "12/metrics.parquet: cannot be read"}]  # fmt: skip
    assert dash.complete_runs(s).height == 12


def test_sweep_view_means_and_averaging_made_explicit():
    s = _summary()
    table, best = dash.sweep_view(s, "customers__a", "p")
    rows = {r["p"]: r for r in table.iter_rows(named=True)}
    assert rows[1]["mean"] == pytest.approx(13.5) and rows[2]["mean"] == pytest.approx(23.5)
    assert rows[1]["n"] == rows[2]["n"] == 6
    assert best["p"] == 2
    assert dash.averaged_over(s, ["p"]) == [("seed", 3), ("q", 2)]
    held = dash.hold(s, {"q": "y"})
    assert dash.averaged_over(held, ["p"]) == [("seed", 3)]
    table, _ = dash.sweep_view(held, "customers__a", "p")
    assert table["mean"].to_list() == pytest.approx([16.0, 26.0])
    assert dash.hold(s, {"q": dash.AVERAGE}).height == s.height
    flags = pl.DataFrame({"flag": [True, False, True], "p": [0.05, 0.2, 0.2]})
    assert dash.hold(flags, {"flag": "True", "p": "0.2"}).height == 1  # as the chooser shows
    # churn: the lowest is best
    _, best = dash.sweep_view(s, "churned__a", "p", "q")
    assert (best["p"], best["q"]) == (2, "y")


def test_best_setting_is_claimed_only_when_paired_differences_say_so():
    s = _summary()
    # p=2 beats p=1 by exactly 10 in every pair (same seed and q): clearly best
    verdict = dash.best_setting(s, "customers__a", ["p"])
    assert verdict["best"] == {"p": 2, "mean": pytest.approx(23.5)}
    (other,) = verdict["others"]
    # 6 pairs (seed x q), averaged over q within each seed: 3 independent units
    assert other["diff"] == pytest.approx(-10.0) and other["pairs"] == 3
    assert verdict["ties"] == [] and verdict["averaged_over"] == ["q"]
    # noise: p=2 is ahead by a seed-dependent amount that straddles zero
    noisy = s.with_columns(
        pl.when(pl.col("p") == 2).then(pl.col("customers__a") - 10.0 + (pl.col("seed") - 1) * 3.0
                                       + 0.5).otherwise(pl.col("customers__a")).alias("customers__a")
    )  # fmt: skip
    verdict = dash.best_setting(noisy, "customers__a", ["p"])
    assert verdict["best"]["p"] == 2
    (tie,) = verdict["ties"]
    assert tie["p"] == 1 and tie["low"] < 0 < tie["high"]


def test_verdicts_pair_by_seed_when_scenarios_are_averaged():
    # two networks x two scenarios x three seeds; runs of one seed share random numbers, so
    # the two scenarios' differences of a seed are nearly equal: six pairs look decisive,
    # three seeds are not
    seed_gap = {0: 5.0, 1: 1.0, 2: 3.0}
    rows = []
    for network in ("er", "ws"):
        for scenario in ("baseline", "price_war"):
            for seed in range(3):
                gap = seed_gap[seed] + (0.1 if scenario == "price_war" else 0.0)
                rows.append({"run": f"{network}{scenario}{seed}", "status": "complete",
                             "scenario": scenario, "seed": seed, "network": network,
                             "customers__a": 100.0 + seed * 7 + (gap if network == "er" else 0),
                             "problem": None})  # fmt: skip
    s = pl.DataFrame(rows)
    verdict = dash.best_setting(s, "customers__a", ["network"])
    (other,) = verdict["others"]
    assert verdict["best"]["network"] == "er" and other["pairs"] == 3
    assert verdict["averaged_over"] == ["scenario"]
    assert other["low"] < 0 < other["high"] and verdict["ties"] == [other]  # not decisive
    # the naive reading, six independent pairs, would have called it (interval above 0)
    from sim.sweeps.summary import t_interval

    naive = pl.Series([-(seed_gap[k] + extra) for k in range(3) for extra in (0.0, 0.1)])
    _, low, high = t_interval(naive.to_numpy())
    assert high < 0


def test_sweep_figures_categorical_axes_and_cell_values():
    s = _summary()
    table, _ = dash.sweep_view(s, "customers__a", "q")
    verdict = dash.best_setting(s, "customers__a", ["q"])
    fig = dash.sweep_line_figure(table, "q", "Customers", "count", categorical=True,
                                 best=verdict["best"], ties=verdict["ties"])  # fmt: skip
    assert fig.layout.xaxis.type == "category"
    assert fig.data[0].mode == "markers"  # categories are not joined by a line
    assert [t.name for t in fig.data][-1] == "best (clearly)"
    table, _ = dash.sweep_view(s, "customers__a", "p")
    fig = dash.sweep_line_figure(table, "p", "Customers", "count", categorical=False)
    assert fig.layout.xaxis.type == "linear" and fig.data[1].mode == "lines+markers"
    table, _ = dash.sweep_view(s, "customers__a", "p", "q")
    verdict = dash.best_setting(s, "customers__a", ["p", "q"])
    fig = dash.sweep_heatmap_figure(table, "p", "q", "Customers", "count", best=verdict["best"])
    heat = fig.data[0]
    assert (fig.layout.xaxis.type, fig.layout.yaxis.type) == ("category", "category")
    assert list(heat.x) == ["1", "2"] and list(heat.y) == ["x", "y"]  # only swept values
    assert [list(r) for r in heat.z] == [[11.0, 21.0], [16.0, 26.0]]
    assert [list(r) for r in heat.text] == [["11", "21"], ["16", "26"]]
    assert heat.texttemplate == "%{text}"
    # the best cell is outlined, not covered by a marker: its value stays readable
    assert not any(t.mode == "markers" for t in fig.data[1:])
    (outline,) = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    best = verdict["best"]
    j, i = list(heat.x).index(str(best["p"])), list(heat.y).index(str(best["q"]))
    assert (outline.x0, outline.x1, outline.y0, outline.y1) == (j - 0.5, j + 0.5, i - 0.5, i + 0.5)
    assert dash.axis_values([10, 2, 1.5]) == ["1.5", "2", "10"]


# -- safe paths ---------------------------------------------------------------------------------
def test_resolve_under_accepts_folders_under_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    assert dash.resolve_under(root, "a/b") == (root / "a" / "b").resolve()
    assert dash.resolve_under(root, str(root / "a")) == (root / "a").resolve()
    assert dash.resolve_under(root, ".") == root.resolve()


def test_resolve_under_rejects_paths_leaving_the_root_and_odd_paths(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "root2"
    outside.mkdir()
    os.symlink(outside, root / "link")
    for bad in ("../x", "../root2", str(outside), "/etc", "link", "link/sub"):
        with pytest.raises(ValueError, match="results root"):
            dash.resolve_under(root, bad)
    with pytest.raises(ValueError, match="cannot be opened"):
        dash.resolve_under(root, "a" * 300)
    os.symlink(root / "loop", root / "loop")
    with pytest.raises(ValueError, match="loop|cannot be opened"):
        dash.summary_under(root, "loop")


def test_find_sweeps_and_the_newest(tmp_path):
    root = tmp_path / "root"
    for sub in ("b/c", "a", "d"):
        (root / sub).mkdir(parents=True)
    (root / "a" / "summary.parquet").write_bytes(b"x")
    (root / "b" / "c" / "summary.parquet").write_bytes(b"x")
    os.utime(root / "a" / "summary.parquet", (1, 1))
    assert dash.find_sweeps(root) == ["a", "b/c"]
    assert dash.find_sweeps(tmp_path / "missing") == []
    assert dash.newest_sweep(root, ["a", "b/c"]) == "b/c"
    assert dash.newest_sweep(root, []) is None


# -- explaining the model -----------------------------------------------------------------------
def test_every_rule_symbol_names_a_real_config_key(cfg):
    brands, channels = list(cfg.brands), list(cfg.channels)
    names = [r.name for r in dash.RULES]
    assert len(names) == len(set(names)) >= 8
    for rule in dash.RULES:
        assert rule.words.strip() and rule.equations
        for sym in rule.symbols:
            if sym.key is None:
                continue
            for key in dash.explain.expand_key(sym.key, brands, channels):
                value = OmegaConf.select(cfg, key)
                if "{channel}" in sym.key and value is None:
                    continue  # a channel a brand does not serve (e.g. service quality on tv)
                assert value is not None, (rule.name, key)
        for p in rule.params:
            assert OmegaConf.select(cfg, p.key) is not None, (rule.name, p.key)


def test_every_rule_has_its_docs_section(cfg):
    sections = dash.doc_sections()
    for rule in dash.RULES:
        title, body = sections[rule.section]
        assert title and body, rule.section
    assert dash.doc_anchor("7.9", "Churn and switching") == "79-churn-and-switching"
    assert dash.doc_anchor("7.2", "Ad (`see_ad`; news)") == "72-ad-see_ad-news"
    # lettered sections are sections of their own, and each rule links to its own
    by_name = {rule.name: rule.section for rule in dash.RULES}
    assert (by_name["Online reviews"], by_name["News"]) == ("7.3c", "7.2b")
    assert sections["7.3c"][0].startswith("Online reviews") and "7.3c" not in sections["7.3b"][1]
    # the news update is capped as in docs/model.md 7.2b
    news = next(r for r in dash.RULES if r.name == "News")
    assert "min(w_n" in sections["7.2b"][1] and all(r"\min(w_n" in e for e in news.equations)


def test_symbol_tables_give_every_brand_its_default(cfg):
    money = next(r for r in dash.RULES if r.name == "Money")
    market, per_brand, brands = dash.symbol_rows(money, cfg)
    assert brands == ["incumbent", "challenger", "budget"]
    price = next(r for r in per_brand if r["key"] == "brands.{brand}.price")
    expected = tuple(f"{cfg.brands[b].price:g}" for b in brands)
    assert (price["incumbent"], price["challenger"], price["budget"]) == expected
    assert {"key": "finance.discount_rate", "value": "0.0002"}.items() <= next(
        r for r in market if r["key"] == "finance.discount_rate").items()  # fmt: skip
    service = next(r for r in dash.RULES if r.name == "Service quality and recovery")
    _market, per_brand, _ = dash.symbol_rows(service, cfg)
    quality = next(r for r in per_brand if "service_quality" in r["key"])
    assert quality["incumbent"] == "store 0.9 · app 0.6 · service 0.7"


def test_rule_curves_follow_the_engine_rules_and_their_sliders(cfg):
    from agents import rules

    for rule in dash.RULES:
        fig = dash.rule_curve(rule, cfg)
        assert fig.data, rule.name
    # the explainer shows the chosen rules' equations
    names = {r.name for r in dash.explain.rules_for(cfg)}
    assert "Word of mouth" in names and "Word of mouth: independent cascade" not in names
    cascade = load_config(["wom=cascade", "service=capacity"])
    names = {r.name for r in dash.explain.rules_for(cascade)}
    assert {"Word of mouth: independent cascade", "Service capacity and queues"} <= names
    assert "Word of mouth" not in names
    churn = next(r for r in dash.RULES if r.curve == "churn")
    fig = dash.rule_curve(churn, cfg, {"sensitivity": 10.0})
    s, y = fig.data[0].x, fig.data[0].y
    trait = cfg.market.traits.churn_propensity
    propensity = trait.alpha / (trait.alpha + trait.beta)
    k = 36  # s = 0.36
    h = rules.churn_hazard(propensity, s[k], 10.0, cfg.market.churn.reference, 1.0)
    assert y[k] == pytest.approx(1 - (1 - h) ** 365)
    steeper, flatter = y[k], dash.rule_curve(churn, cfg, {"sensitivity": 2.0}).data[0].y[k]
    assert steeper > flatter
    service = next(r for r in dash.RULES if r.curve == "service")
    fig = dash.rule_curve(service, cfg, {"resolution": 0.5})
    success, recovered, failed = (list(t.y) for t in fig.data)
    assert success[20] == pytest.approx(0.5, abs=0.01)  # q = 0.5
    assert recovered[20] == pytest.approx(0.25, abs=0.01) and failed[20] == pytest.approx(0.25,
                                                                                          abs=0.01)  # fmt: skip


def test_glossary_defines_the_kpis_with_formulas():
    for name in ("Retention", "Churn rate", "CAC", "CLV", "NPS"):
        term = dash.glossary_term(name)
        assert term is not None and term.words and term.formula, name
    assert "projected" in dash.glossary_term("CLV").words.lower()
    assert "remaining lifetime" in dash.glossary_term("clv").words


def test_journey_state_diagram_has_every_state_and_move(cfg):
    brands = list(cfg.brands)
    dot = dash.journey_dot(brands, dash.brand_colours(brands))
    assert dot.startswith("digraph journey {") and dot.rstrip().endswith("}")
    for state_name in dash.journey_states(brands):
        assert f'"{state_name}" [fillcolor=' in dot
    # arrows carry the move's number; its rule is in the legend beside the diagram
    legend = {k: (src, dst, why) for k, src, dst, why in dash.explain.move_legend()}
    assert legend[5] == ("considering", "customer: {brand}", "purchase occasion (logit choice)")
    assert '"considering" -> "customer: budget" [label="5"]' in dot
    assert '"customer: incumbent" -> "customer: budget"' in dot
    assert '"customer: budget" -> "customer: budget"' not in dot
    assert "fontsize=18" in dot  # legible once scaled to the page
    moves = {("aware", "considering"): 12.34, ("lapsed", "aware"): 0.5, ("aware", "lapsed"): 0.01}
    dot = dash.journey_dot(brands, dash.brand_colours(brands), moves)
    assert '"aware" -> "considering" [label="3: 12/day"];' in dot
    assert '"unaware" -> "aware" [label="1: 0/day"];' in dot  # none seen
    # a back move does not pull the layout; a move seen but not named is dashed
    assert '"considering" -> "aware" [label="7: 0/day", constraint=false' in dot
    assert '"lapsed" -> "aware" [label="0.5/day", style=dashed, constraint=false];' in dot
    assert '"aware" -> "lapsed"' not in dot  # too rare to draw


def test_a_brand_only_a_scenario_has_no_difference_and_no_empty_rows():
    report = _report([
        ("base", "customers", "a", 2, 10.0, 9.0, 11.0, 0, 0.0, 0.0, 0.0),
        ("base", "customers", "newco", 2, None, None, None, 0, None, None, None),
        ("s", "customers", "a", 2, 12.0, 11.0, 13.0, 2, 2.0, 1.0, 3.0),
        ("s", "customers", "newco", 2, 5.0, 4.0, 6.0, 0, None, None, None),
    ])  # fmt: skip
    table, _ = dash.wide_deltas(report, "base")
    assert table.to_dicts() == [
        {"KPI": "Customers at end", "Brand": "a", "base": "10", "s": "+2 [+1, +3]"}]  # fmt: skip
    (card,) = dash.headline(report, "s", "newco", "base")
    assert card["value_text"] == "5" and card["delta_text"] == "not in base"
    assert card["delta_color"] == "off"


def test_the_pairing_note_says_what_was_averaged():
    assert dash.pairing_note({"averaged_over": ["scenario"]}) == (
        "paired by seed, the unit of common random numbers, each seed's differences averaged "
        "over scenario; 95% intervals over seeds"
    )
    assert "averaged" not in dash.pairing_note({"averaged_over": []})


def test_screen_messages_hide_the_servers_paths(tmp_path):
    root = tmp_path / "results"
    message = dash.screen_message(ValueError(f"{root}/sw: no such sweep folder\nmore"), root)
    assert message == "sw: no such sweep folder"
    assert dash.screen_message(f"{root.resolve()}: empty", root) == "the results root: empty"
    assert "Error" not in dash.screen_message(KeyError(), root)


def test_options_read_as_words_and_people_s_names():
    assert dash.option_label("chatbot_rollout") == "Chatbot rollout"
    assert dash.option_label("watts_strogatz") == "Watts-Strogatz"
    assert dash.option_label("erdos_renyi") == "Erdős-Rényi"


def test_a_brand_named_with_a_double_underscore_keeps_its_swept_key():
    from sim.dashboard import sweeps

    summary = pl.DataFrame(
        {
            "run": ["0", "1"],
            "seed": [0, 0],
            "brands.a__b.price": [0.6, 0.8],
            "profit__a__b": [10.0, 12.0],
        }
    )
    assert sweeps.sweep_parameters(summary) == ["brands.a__b.price"]
    assert sweeps.sweep_kpis(summary) == ["profit__a__b"]
