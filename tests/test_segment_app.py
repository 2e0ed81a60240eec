"""The app by segment and region (issue 19): the Compare form's populations, the differences.

The chart data are pure functions (``sim.dashboard.tables.breakdown_table``, ``breakdown``)
tested here on real runs; the page only lays them out.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from conftest import run

from sim import dashboard as dash
from sim import load_config
from sim.dashboard.state import Settings, from_query, plan, size_overrides, to_query
from sim.sweeps.plan import Job

NAMES = ["digital_natives", "mainstream", "traditional", "price_hunters"]
#: The app-outage what-if of tests/test_segment_events.py (the same runs: cached once).
MARKET = ("market.customers=8000", "sim.steps=60", "sim.burn_in=60", "segments=example")
APP_DOWN = ("scenario=service_outage", "scenario.events.0.channels=[app]",
            "scenario.events.0.severity=1.0", "scenario.events.0.start=5",
            "scenario.events.0.end=55")  # fmt: skip


def test_the_form_puts_every_run_in_the_chosen_segments():
    assert "example" in dash.segment_sets() and dash.segment_sets()[0] == "default"
    plain, segmented = Settings(), Settings(segments="example")
    assert not any(o.startswith("segments=") for o in size_overrides(plain))
    assert "segments" not in to_query(plain)  # old links stay as they were
    cfg = load_config([])
    jobs = plan(segmented, dash.lever_specs(cfg), cfg)
    assert jobs and all("segments=example" in job.overrides for job in jobs)
    assert "segments example" in segmented.describe()
    assert from_query(to_query(segmented), ["baseline"], [])[0].segments == "example"
    kept, problems = from_query({"segments": "nope"}, ["baseline"], [])
    assert kept.segments == "default" and problems == ["segments='nope' is not a segment config"]
    form = dash.settings_from_form(1000, 1, 30, "baseline", [], {}, [], "", segments="example")
    assert form.segments == "example"


def test_the_form_puts_every_run_in_the_chosen_regions():
    assert "example" in dash.region_sets() and dash.region_sets()[0] == "default"
    both = Settings(segments="example", regions="example")
    assert size_overrides(both)[-2:] == ["segments=example", "regions=example"]
    assert "regions" not in to_query(Settings())
    assert "segments example · regions example" in both.describe()
    back = from_query(to_query(both), ["baseline"], [])[0]
    assert (back.segments, back.regions) == ("example", "example")
    kept, problems = from_query({"regions": "atlantis"}, ["baseline"], [])
    assert kept.regions == "default" and problems == ["regions='atlantis' is not a region config"]
    cfg = load_config([])
    jobs = plan(Settings(regions="example"), dash.lever_specs(cfg), cfg)
    assert all("regions=example" in job.overrides for job in jobs)
    form = dash.settings_from_form(1000, 1, 30, "baseline", [], {}, [], "", regions="example")
    assert form.regions == "example"


def _runs():
    out = []
    for label, scenario in (("baseline", ("scenario=baseline",)), ("service_outage", APP_DOWN)):
        for seed in range(3):
            result = run(*MARKET, *scenario, f"seed={seed}")
            out.append((label, seed, {"metrics": result.metrics, "segments": result.segments,
                                      "regions": result.regions}))  # fmt: skip
    return out


def test_the_breakdown_by_segment_shows_whose_churn_the_app_outage_raised():
    runs = _runs()
    table = dash.breakdown_table(
        [(lab, s, f["metrics"], f["segments"], f["regions"]) for lab, s, f in runs], "baseline"
    )
    frame = dash.breakdown(table, "churn_rate", "incumbent", "baseline")
    assert frame.columns == ["scenario", "segment", "level", "mean", "diff", "diff_low",
                             "diff_high"]  # fmt: skip
    assert frame["scenario"].to_list() == ["service_outage"] * 4
    assert frame["segment"].to_list() == NAMES
    base = table.filter((pl.col("scenario") == "baseline") & (pl.col("kpi") == "churn_rate")
                        & (pl.col("brand") == "incumbent"))  # fmt: skip
    assert frame["level"].to_list() == base["mean"].to_list()
    digital, traditional = frame.row(0, named=True), frame.row(2, named=True)
    assert digital["diff_low"] > traditional["diff_high"]
    # the Comparison the page shows: the same table, a bar per segment with its interval
    settings = Settings(scenarios=("service_outage",), replicates=3, segments="example")
    jobs = [Job(lab, s) for lab, s, _ in runs]
    comp = dash.Comparison(settings, jobs, runs, [""] * len(runs), [])
    assert comp.group_names("segment") == NAMES and comp.breakdowns == ["segment"]
    assert comp.group_names("region") == []  # one region: no breakdown by region
    fig = comp.breakdown_figure("churn_rate", "incumbent")
    (bars,) = fig.data
    assert list(bars.x) == NAMES and bars.name == "service_outage"
    assert abs(bars.y[0] - 100 * digital["diff"]) < 1e-9  # percentage points
    assert abs(bars.error_y.arrayminus[0] - 100 * (digital["diff"] - digital["diff_low"])) < 1e-9


def test_one_segment_has_no_breakdown():
    result = run("market.customers=1000", "sim.steps=10", "sim.burn_in=5")
    runs = [("baseline", 0, {"metrics": result.metrics, "segments": result.segments,
                              "regions": result.regions})]  # fmt: skip
    comp = dash.Comparison(Settings(scenarios=()), [Job("baseline", 0)], runs, [""], [])
    assert comp.breakdowns == [] and comp.group_names("segment") == []
    assert all(t.is_empty() for t in comp.breakdown_tables.values())
    assert dash.breakdown(
        comp.breakdown_tables["region"], "churn_rate", "incumbent", "baseline", "region"
    ).is_empty()


def test_the_compare_page_breaks_a_comparison_down_by_segment_and_region():
    """A link choosing segments=example and regions=example: the form holds them, the runs
    use them, the page adds the differences by segment or region (a picker, KPI and brand
    pickers, a chart)."""
    import json
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    query = {"customers": "1000", "replicates": "2", "days": "80", "segments": "example",
             "regions": "example", "scenarios": "service_outage",
             "levers": "brands.incumbent.price:0.8", "target": "region:north"}  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "app.py"), default_timeout=240)
    at.query_params.update(query)
    at.run()
    assert at.selectbox(key="form_segments").value == "example"
    assert at.selectbox(key="form_regions").value == "example"
    at.button(key="run").click().run()
    assert not at.exception, at.exception[0].message
    comp = at.session_state["comparison"]
    assert comp.settings.segments == "example" and comp.group_names("segment") == NAMES
    assert comp.group_names("region") == ["north", "south", "west"]
    assert at.selectbox(key="form_target").value == "region:north"
    levers = [job for job in comp.jobs if job.label == "levers"]
    assert levers and all("scenario.target.region=north" in job.overrides for job in levers)
    # the incumbent's price cut for the north only: its north customers rise, the west's stay
    table = comp.breakdown_tables["region"]
    rows = table.filter((pl.col("scenario") == "levers") & (pl.col("kpi") == "customers")
                        & (pl.col("brand") == "incumbent"))  # fmt: skip
    north, west = (rows.filter(pl.col("region") == r).row(0, named=True) for r in ("north", "west"))
    assert north["diff"] > 0 and abs(west["diff"]) < north["diff"] / 4, (north, west)
    assert "Differences by segment and region" in [h.value for h in at.subheader]
    assert at.selectbox(key="segment_kpi").value == "churn_rate"
    at.selectbox(key="segment_brand").set_value("challenger").run()
    assert not at.exception
    titles = [json.loads(el.proto.spec)["layout"]["title"]["text"] for el in at.get("plotly_chart")]
    assert any(t.startswith("Churn rate of challenger: difference") for t in titles), titles
    at.radio(key="breakdown_by").set_value("region").run()
    assert not at.exception
    titles = [json.loads(el.proto.spec)["layout"]["title"]["text"] for el in at.get("plotly_chart")]
    assert any(t.endswith("by region (95% intervals)") for t in titles), titles
    st.cache_data.clear()


def test_levers_can_target_a_segment_or_a_region():
    from sim.dashboard.state import lever_changes, target_options

    assert target_options() == [""]  # one segment, one region: everyone only
    options = target_options("example", "example")
    assert options == ["", *(f"segment:{n}" for n in NAMES), "region:north", "region:south",
                       "region:west"]  # fmt: skip
    cfg = load_config([])
    specs = dash.lever_specs(cfg)
    price = next(lv for lv in specs if lv.keys == ("brands.incumbent.price",))
    north = Settings(regions="example", levers=((price.id, 0.9),), target="region:north")
    changes = lever_changes(north, specs, cfg)
    assert changes[-1] == "scenario.target.region=north" and len(changes) == 2
    assert "levers from today for region north" in north.describe()
    (levers,) = [overrides for label, overrides in dash.variants(north, specs, cfg)
                 if label == "levers"]  # fmt: skip
    assert "scenario.target.region=north" in levers
    assert lever_changes(replace(north, target=""), specs, cfg)[-1] != changes[-1]
    assert lever_changes(replace(north, levers=()), specs, cfg) == []  # no levers, no target
    back, problems = from_query(to_query(north), ["baseline", "chatbot_rollout"], specs)
    assert back.target == "region:north" and not problems
    kept, problems = from_query({"target": "region:atlantis", "regions": "example"},
                                ["baseline"], [])  # fmt: skip
    assert kept.target == "" and problems == [
        "target='region:atlantis' is not a segment or region of this market"]  # fmt: skip
    form = dash.settings_from_form(1000, 1, 30, "baseline", [], {}, [], "", regions="example",
                                   target="segment:mainstream")  # fmt: skip
    assert form.target == ""  # the segments chosen have no such segment
