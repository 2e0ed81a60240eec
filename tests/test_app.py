"""Tests of the Streamlit app (app.py, app_pages/) with streamlit.testing.v1.AppTest.

The app is one script with st.navigation over callable pages; AppTest's switch_page only
knows file pages, so ``goto`` selects a page by its URL path the way a browser does (the
page hash Streamlit derives from it). Markets are small (1,000 customers, 40 days).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from clitools import command_runs
from omegaconf import OmegaConf
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from sim import dashboard as dash
from sim import load_config

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240
SMALL = {"customers": "1000", "replicates": "2", "days": "40"}


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with empty caches (they live as long as the process)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def app(query: dict | None = None) -> AppTest:
    """The app as a browser opening it, with ``query`` as the URL's query string."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    return at


def goto(at: AppTest, url_path: str) -> AppTest:
    """Open another page (as clicking it in the sidebar does) and run."""
    at._page_hash = calc_hash(url_path)
    at.run()
    assert not at.exception, at.exception[0].message
    return at


def chart_specs(at: AppTest) -> list[dict]:
    """The Plotly figures on the page, as dicts (plotly_chart elements are opaque)."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def headline(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def form_values(at: AppTest) -> dict:
    return {
        "customers": at.select_slider(key="form_customers").value,
        "replicates": at.slider(key="form_replicates").value,
        "steps": at.slider(key="form_steps").value,
        "baseline": at.selectbox(key="form_baseline").value,
        "scenarios": at.multiselect(key="form_scenarios").value,
        "wom": at.slider(key="form_lever_wom.talk_rate").value,
        "overrides": at.text_input(key="form_overrides").value,
    }


def run_form(at: AppTest) -> AppTest:
    at.button(key="run").click().run()
    assert not at.exception, at.exception[0].message
    return at


# -- compare page ------------------------------------------------------------------------------
def test_first_visit_shows_the_defaults_and_the_url_holds_them():
    at = app().run()
    assert not at.exception
    assert any("Run comparison" in i.value for i in at.info)
    assert len(at.metric) == 0
    defaults = dash.Settings()
    assert form_values(at)["customers"] == defaults.customers
    assert form_values(at)["scenarios"] == list(defaults.scenarios)
    assert at.query_params == dash.to_query(defaults)  # no run=1: nothing ran


def test_a_comparison_is_what_the_form_url_and_command_say_and_survives_page_switches():
    at = app(SMALL).run()
    assert form_values(at)["customers"] == 1000  # the URL fills the form
    at.multiselect(key="form_scenarios").set_value(["chatbot_rollout", "price_war"])
    at.slider(key="form_lever_wom.talk_rate").set_value(0.3)
    at.text_input(key="form_overrides").input("brands.budget.margin=0.3")
    run_form(at)
    assert not at.error
    comp = at.session_state["comparison"]
    settings = at.session_state["settings"]
    assert comp.settings == settings
    assert comp.labels == ["baseline", "chatbot_rollout", "price_war", "levers"]
    # the URL holds exactly these settings, and says the comparison ran; the view widgets
    # hold theirs beside them (their keys)
    ours = {k: v for k, v in at.query_params.items() if k in {*dash.state.QUERY_KEYS, "run"}}
    assert ours == {**dash.to_query(settings), "run": "1"}
    assert set(at.query_params) - set(ours) <= {"focus_brand", "focus_scenario", "view_tab",
                                                "diff_metric", "any_metric", "level_intervals"}  # fmt: skip
    assert at.query_params["levers"] == "wom.talk_rate:0.3"
    # each run got the overrides it was planned with, and the config they resolve to
    cfg = load_config([])
    assert [j.overrides for j in comp.jobs] == [j.overrides for j in dash.plan(
        settings, dash.lever_specs(cfg), cfg)]  # fmt: skip
    levers_job = comp.jobs[-1]
    assert levers_job.overrides == ("scenario=baseline", "++scenario.name=levers",
                                    "++scenario.changes={wom.talk_rate: 0.3}",
                                    "brands.budget.margin=0.3", "market.customers=1000",
                                    "sim.steps=40", "seed=1")  # fmt: skip
    ran = OmegaConf.create(comp.configs[-1])
    assert ran == load_config(list(levers_job.overrides))
    # levers act from today (a change at step 0), typed overrides change the market itself
    assert ran.scenario.changes == {"wom.talk_rate": 0.3}
    assert (ran.brands.budget.margin, ran.market.customers) == (0.3, 1000)
    # the one command line shown runs exactly these jobs (and nothing typed is overridden)
    shown = [c.value for c in at.code]
    assert shown == list(comp.commands) and len(shown) == 1
    assert command_runs(shown[0]) == sorted(tuple(sorted(j.overrides)) for j in comp.jobs)
    # the headline: every KPI with a value and a delta; an interval that includes zero says so
    cards = headline(at)
    assert list(cards) == [dash.KPIS[k].label for k in dash.HEADLINE]
    assert all(value != "n/a" and delta for value, delta in cards.values())
    assert cards["Retention"][0].endswith("%") and " pp" in cards["Retention"][1]
    # an interval that includes zero: grey, no arrow; otherwise coloured with an arrow
    from streamlit.proto.Metric_pb2 import Metric

    for m in at.metric:
        if m.delta.endswith("(n.s.)"):
            assert (m.proto.color, m.proto.direction) == (Metric.GRAY, Metric.NONE), m.label
        else:
            assert m.proto.color in (Metric.GREEN, Metric.RED), m.label
            assert m.proto.direction in (Metric.UP, Metric.DOWN), m.label
    # tables: wide deltas (scenarios side by side), KPI levels (a column per KPI)
    deltas, levels = at.dataframe[0].value, at.dataframe[1].value
    assert list(deltas.columns) == ["KPI", "Brand", "baseline", *comp.others]
    assert len(levels) == 4 * 3 and "retention" in levels.columns

    # the headline's choices, then every page and back: nothing is lost or rerun
    at.selectbox(key="focus_brand").set_value("budget").run()
    at.selectbox(key="focus_scenario").set_value("levers").run()
    before = headline(at)
    journey = goto(at, "journey")
    assert len(chart_specs(journey)) == 3  # two Sankeys side by side and the stages
    sankey = chart_specs(journey)[0]
    assert sankey["data"][0]["type"] == "sankey"
    assert journey.selectbox(key="journey_scenario").options == [
        dash.option_label(o) for o in comp.others]  # fmt: skip
    goto(at, "sweeps")
    model = goto(at, "model")
    assert model.get("graphviz_chart")
    back = goto(at, "")
    assert back.session_state["comparison"] is comp  # not recomputed
    assert form_values(back) == {
        "customers": 1000, "replicates": 2, "steps": 40, "baseline": "baseline",
        "scenarios": ["chatbot_rollout", "price_war"], "wom": 0.3,
        "overrides": "brands.budget.margin=0.3",
    }  # fmt: skip
    assert back.selectbox(key="focus_brand").value == "budget"
    assert headline(back) == before
    ours = {k: v for k, v in back.query_params.items() if k in {*dash.state.QUERY_KEYS, "run"}}
    assert ours == {**dash.to_query(settings), "run": "1"}
    # the view is in the URL too: a shared link opens on the same brand and scenario
    assert (back.query_params["focus_brand"], back.query_params["focus_scenario"]) == (
        "budget",
        "Levers",
    )  # fmt: skip (Streamlit binds the label a widget shows)

    # the shared URL, opened in a new session, reproduces the same comparison; it carries
    # typed overrides (someone else's text), so it waits for a click on Run
    shared = app(dict(back.query_params)).run()
    assert not shared.exception and not shared.error
    assert "comparison" not in shared.session_state
    assert any("press Run" in i.value for i in shared.info)
    run_form(shared)
    again = shared.session_state["comparison"]
    assert [j.overrides for j in again.jobs] == [j.overrides for j in comp.jobs]
    assert again.configs == comp.configs
    assert again.table.equals(comp.table)
    assert form_values(shared) == form_values(back)


def test_the_same_settings_again_come_from_the_cache():
    at = run_form(app({**SMALL, "replicates": "1", "scenarios": "chatbot_rollout"}).run())
    first = at.session_state["comparison"]
    run_form(at)
    second = at.session_state["comparison"]
    assert second is not first and second.table.equals(first.table)
    assert not at.error


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("market.customers=50000", "Customers"),  # the form sets it: refused, not overridden
        ("sim.steps=100", "Days simulated"),
        ("seed=3", "Replicates"),
        ("wom.talk_rate=7", "wom.talk_rate"),  # out of range
        ("wom.talkrate=0.2", "wom.talkrate"),  # misspelt key
        ("brands.incumbent.price=cheap", "brands.incumbent.price"),  # wrong type
        ("+x._target_=os.system", "_target_"),  # nothing typed is executed
        ("brands.incumbent.price=${oc.env:PATH}", "oc.env"),  # the server's environment
        ("scenario.description=${oc.env:HOME}", "oc.env"),
        ("hydra.run.dir=/tmp/x", "Hydra settings"),  # the command line's, not the app's
        ("+hydra.callbacks.x=${oc.create:{a: 1}}", "Hydra settings"),
        ("network.path=/etc/hostname", "network.path"),  # a server file outside the roots
        ("a." + "b" * 3000 + "=1", "3,004 characters"),  # never the venv's path
        ("market.churn.reference=" + "9" * 5000, "characters"),
        ("brands.budget.margin=0." + "3" * 500, "500 digits"),  # not Python's own advice
        ("brands.incumbent.price=[", "not a valid override"),  # no parser class names
    ],
)
def test_refused_or_invalid_overrides_give_one_message_and_no_run(typed, named):
    import os
    import sys

    at = app({**SMALL, "replicates": "1"}).run()
    at.text_input(key="form_overrides").input(typed)
    run_form(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and named in errors[0], errors
    for secret in (os.environ.get("PATH"), os.environ.get("HOME"), sys.prefix):
        assert not secret or secret not in errors[0]
    for raw in ("Exception", "Error:", "set_int_max_str_digits", "hydra.cc"):
        assert raw not in errors[0]
    assert len(errors[0]) < 300 and "\n" not in errors[0]
    assert [t.value for t in at.toast] == [f"Not run: {errors[0]}"]  # in view when scrolled
    assert len(at.metric) == 0
    assert "comparison" not in at.session_state
    # the form keeps what was typed, so it can be corrected, and Run works again
    assert at.text_input(key="form_overrides").value == typed
    assert not at.button(key="run").disabled


def test_a_link_with_typed_overrides_waits_for_a_click():
    query = {**SMALL, "replicates": "1", "overrides": "wom.talk_rate=0.2", "run": "1"}
    at = app(query).run()
    assert not at.exception
    assert "comparison" not in at.session_state and len(at.metric) == 0
    assert any("press Run" in i.value and "wom.talk_rate=0.2" in i.value for i in at.info)
    run_form(at)  # the click runs it
    assert "comparison" in at.session_state


def test_a_link_naming_a_server_file_never_reads_it(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("topsecretfield,1\n")
    query = {
        **SMALL,
        "replicates": "1",
        "overrides": f"network.kind=edgelist network.path={secret}",
    }
    at = app(query).run()
    run_form(at)
    shown = " ".join(e.value for e in at.error) + " ".join(i.value for i in at.info)
    assert "topsecretfield" not in shown and "network.path" in shown
    assert "comparison" not in at.session_state


def test_a_moved_lever_owns_its_key():
    at = app({**SMALL, "replicates": "1", "levers": "wom.talk_rate:0.3"}).run()
    at.text_input(key="form_overrides").input("wom.talk_rate=0.2")
    run_form(at)
    (error,) = [e.value for e in at.error]
    assert "wom.talk_rate" in error and "Word-of-mouth strength" in error


def test_a_link_with_bad_values_opens_with_defaults_and_says_so():
    at = app({"customers": "lots", "scenarios": "ghost,pr_crisis"}).run()
    assert not at.exception
    assert any("left out" in i.value for i in at.info)
    assert form_values(at)["scenarios"] == ["pr_crisis"]
    assert form_values(at)["customers"] == dash.Settings().customers


# -- journey page --------------------------------------------------------------------------------
def test_journey_page_runs_the_comparison_when_asked_and_lines_up_two_sankeys():
    at = goto(app({**SMALL, "days": "80", "scenarios": "service_outage"}).run(), "journey")
    assert not at.get("plotly_chart")
    (button,) = [b for b in at.button if b.key == "journey_run"]
    assert "service_outage" in button.label
    button.click().run()
    assert not at.exception and not at.error
    comp = at.session_state["comparison"]
    specs = chart_specs(at)
    left, right = specs[0]["data"][0], specs[1]["data"][0]
    assert specs[0]["layout"]["title"]["text"].startswith("baseline:")
    assert specs[1]["layout"]["title"]["text"].startswith("service_outage:")
    strip = [lab.split(" · ")[0] for lab in left["node"]["label"]]
    assert strip == [lab.split(" · ")[0] for lab in right["node"]["label"]]  # same nodes
    # the window opens on the outage (day 60 of 80), not on 30 days before it
    assert at.slider(key="journey_window").value == (51, 80)
    flows = comp.flows.filter(pl.col("scenario") == "baseline")
    want = dash.sankey_data(flows, 51, 80, states=strip[: len(strip) // 2])
    assert left["link"]["value"] == pytest.approx(want["value"])
    # a later window with stays
    at.toggle(key="journey_stays").set_value(True)
    at.slider(key="journey_window").set_value((55, 80)).run()
    assert chart_specs(at)[0]["layout"]["title"]["text"].endswith("days 55-80")
    stages = chart_specs(at)[2]
    assert {t["name"] for t in stages["data"] if t.get("showlegend")} == {
        "baseline", "service_outage"}  # fmt: skip


# -- sweep explorer ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results root: a real small multirun, one with failed runs, and broken ones."""
    base = tmp_path_factory.mktemp("sweeps")
    root = base / "results"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "-m", "seed=0,1", "wom.talk_rate=0.05,0.2",
         "market.customers=1000", "sim.steps=20", f"hydra.sweep.dir={root}/sw"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = pl.read_parquet(root / "sw" / "summary.parquet")
    (root / "partial").mkdir()
    failed = pl.col("run") == "1"
    summary.with_columns(
        pl.when(failed).then(pl.lit("incomplete")).otherwise("status").alias("status"),
        pl.when(failed).then(pl.lit("1/metrics.parquet: cannot be read")).otherwise("problem")
        .alias("problem"),
    ).write_parquet(root / "partial" / "summary.parquet")  # fmt: skip
    (root / "allfailed").mkdir()
    summary.with_columns(pl.lit("incomplete").alias("status"),
                         pl.lit("not finished").alias("problem")).write_parquet(
        root / "allfailed" / "summary.parquet")  # fmt: skip
    (root / "bad").mkdir()
    (root / "bad" / "summary.parquet").write_bytes(b"this is not a parquet file \x00\xff" * 20)
    (root / "empty").mkdir()
    return root


def sweep_app(monkeypatch, root: Path, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("JOURNEYSIM_RESULTS_ROOT", str(root))
    return goto(app(query).run(), "sweeps")


def test_sweep_page_without_a_sweep(monkeypatch, tmp_path):
    at = sweep_app(monkeypatch, tmp_path)
    assert any("No sweep under the results root" in i.value for i in at.info)
    assert at.selectbox(key="sweep_choice").options == []
    assert not at.get("plotly_chart")


def test_a_listed_sweep_is_shown_at_once(monkeypatch, results):
    at = sweep_app(monkeypatch, results)
    choice = at.selectbox(key="sweep_choice")
    assert choice.options == ["allfailed", "bad", "partial", "sw"]
    assert choice.value == "bad"  # the newest summary written (by the fixture)
    assert [e.value for e in at.error][0].startswith("Cannot open this sweep")
    assert not any("No sweep" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("bad", "cannot be read"),  # garbage bytes in summary.parquet
        ("empty", "holds no runs"),
        ("missing", "no such sweep folder"),
        ("../..", "results root"),  # outside the root
        ("/etc", "results root"),
        ("x" * 300, "cannot be opened"),  # an over-long name: a message, not a traceback
        ("allfailed", "No complete runs in this sweep: all 4 runs failed"),
    ],
)
def test_unreadable_outside_or_failed_sweeps_give_a_message(monkeypatch, results, typed, message):
    # a typed folder (AppTest cannot type a new option: it comes as a shared link would)
    at = sweep_app(monkeypatch, results, {"sweep": typed})
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0], errors
    assert not at.get("plotly_chart") and not at.success
    assert at.selectbox(key="sweep_choice").value == typed  # what was typed is what is shown


def test_choosing_another_sweep_starts_its_view_afresh(monkeypatch, results):
    at = sweep_app(monkeypatch, results, {"sweep": "sw"})
    first = at.selectbox(key="sweep_kpi").value
    at.selectbox(key="sweep_kpi").set_value("retention__incumbent").run()
    assert at.selectbox(key="sweep_kpi").value == "retention__incumbent" != first
    at.selectbox(key="sweep_choice").set_value("partial").run()
    assert not at.exception and at.selectbox(key="sweep_choice").value == "partial"
    # the same KPIs exist there, but the previous sweep's choice does not carry over
    assert at.selectbox(key="sweep_kpi").value == first


def test_a_valid_sweep_charts_means_and_judges_the_best_by_paired_differences(monkeypatch, results):
    at = sweep_app(monkeypatch, results, {"sweep": "sw"})  # the URL names the sweep
    assert at.selectbox(key="sweep_choice").value == "sw"
    assert not at.error
    assert at.selectbox(key="sweep_x").options == ["wom.talk_rate"]  # constants left out
    assert at.selectbox(key="sweep_kpi").value == "customers__incumbent"
    assert any("averages over: seed (2 replicates)" in c.value for c in at.caption)
    summary = pl.read_parquet(results / "sw" / "summary.parquet")
    verdict = dash.best_setting(summary, "customers__incumbent", ["wom.talk_rate"])
    (message,) = [m.value for m in [*at.success, *at.info]]
    assert f"at wom.talk_rate = {verdict['best']['wom.talk_rate']}" in message
    assert ("clearly ahead" in message) == (not verdict["ties"])
    spec = chart_specs(at)[0]
    assert spec["layout"]["xaxis"]["type"] == "linear"
    # churn: the lowest mean is the best
    at.selectbox(key="sweep_kpi").set_value("churned__budget").run()
    lowest = summary.group_by("wom.talk_rate").agg(pl.col("churned__budget").mean()).sort(
        "churned__budget", "wom.talk_rate")["wom.talk_rate"][0]  # fmt: skip
    (message,) = [m.value for m in [*at.success, *at.info]]
    assert f"at wom.talk_rate = {lowest}" in message
    table = at.dataframe[0].value
    assert list(table.columns) == ["wom.talk_rate", "mean", "low", "high", "n"]


def test_failed_runs_are_counted_and_listed(monkeypatch, results):
    at = sweep_app(monkeypatch, results)
    at.selectbox(key="sweep_choice").set_value("partial").run()  # picked from the list
    assert at.query_params["sweep"] == "partial"
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("1 of 4 runs failed or did not finish")
    failed = at.dataframe[0].value
    assert failed.to_dict("records") == [
        {"run": "1", "status": "incomplete", "problem": "1/metrics.parquet: cannot be read"}]  # fmt: skip
    assert at.get("plotly_chart")


def test_results_root_argument_wins_over_the_environment(monkeypatch, results, tmp_path):
    monkeypatch.setattr(sys, "argv", ["app.py", "--results-root", str(results)])
    at = sweep_app(monkeypatch, tmp_path)  # the environment names an empty folder
    assert "sw" in at.selectbox(key="sweep_choice").options
    assert any(str(results.resolve()) in c.value for c in at.caption)


# -- explain the model ---------------------------------------------------------------------------
def test_model_page_typesets_every_rule_ties_symbols_to_keys_and_draws_curves():
    at = goto(app().run(), "model")
    shown = dash.explain.rules_for(load_config([]))  # the default market's rules
    names = [s.value for s in at.subheader]
    assert names == [r.name for r in shown]
    latex = [x.value.strip("$\n") for x in at.latex]
    for rule in shown:
        for equation in rule.equations:
            assert equation in latex
    for term in dash.GLOSSARY:
        assert term.formula in latex
    tables = "\n".join(m.value for m in at.markdown)
    assert "`market.churn.sensitivity`" in tables and "| 5 |" in tables
    assert "| incumbent | challenger | budget |" in tables
    curves = chart_specs(at)
    assert len(curves) == len(shown)
    dot = at.get("graphviz_chart")[0].proto.spec
    assert '"customer: incumbent"' in dot and '[label="5"]' in dot
    # the moves' rules are in a table beside the diagram (not on the arrows)
    legend = [d for d in at.dataframe if "the rule behind it" in d.value.columns]
    assert legend and "purchase occasion (logit choice)" in list(
        legend[0].value["the rule behind it"]
    )
    # a rule's slider redraws its curve
    churn = [r.curve for r in shown].index("churn")
    y = curves[churn]["data"][0]["y"]
    at.slider(key=f"curve_{churn}_sensitivity").set_value(12.0).run()
    assert chart_specs(at)[churn]["data"][0]["y"] != y
    # every rule opens its section of docs/model.md
    titles = [e.label for e in at.expander]
    for rule in shown:
        assert any(f"section {rule.section} " in t for t in titles), rule.section


def test_levers_act_from_today_unless_asked_for_a_long_run_steady_state():
    at = app({**SMALL, "replicates": "1", "scenarios": ""}).run()
    assert at.radio(key="form_long_run").value.startswith("from today")
    at.slider(key="form_lever_wom.talk_rate").set_value(0.3)
    run_form(at)
    today = at.session_state["comparison"]
    assert "++scenario.changes={wom.talk_rate: 0.3}" in today.jobs[-1].overrides
    assert "levers from today" in at.session_state["settings"].describe()
    at.radio(key="form_long_run").set_value(at.radio(key="form_long_run").options[1])
    run_form(at)
    long_run = at.session_state["comparison"]
    assert "wom.talk_rate=0.3" in long_run.jobs[-1].overrides
    assert at.query_params["long_run"] == "1"

    # the two questions differ: a change made today starts from the baseline's status quo
    def step0(comp, label):
        m = comp.metrics
        return m.filter((m["step"] == 0) & (m["scenario"] == label)).sort("brand")["customers"]

    assert step0(today, "levers").equals(step0(today, "baseline"))
    assert not step0(long_run, "levers").equals(step0(long_run, "baseline"))


@pytest.mark.parametrize("typed", ["missing", "bad", "empty"])
def test_sweep_errors_never_show_a_server_path(monkeypatch, results, typed):
    at = sweep_app(monkeypatch, results, {"sweep": typed})
    (error,) = [e.value for e in at.error]
    assert str(results) not in error and str(results.resolve()) not in error
    assert "Error" not in error.split(":")[-1]  # no exception class name
    assert "\n" not in error
