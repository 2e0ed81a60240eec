"""Tests of the Streamlit app (app.py) with streamlit.testing.v1.AppTest, at small sizes.

The compare page is the default page of ``st.navigation``; the other pages are functions,
so they are run through a one-line script that imports ``app`` and calls the page.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from sim import dashboard as dash
from sim import load_config, simulate

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240
HEADLINE_LABELS = [label for _kpi, label, *_ in dash.HEADLINE_KPIS]


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with empty st.cache_data caches (they live as long as the process).

    Cache hits of runs made by an earlier comparison crash the app (see
    test_rerunning_a_comparison_reuses_cached_runs): tests other than that one must not
    depend on which runs earlier tests happened to cache.
    """
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def compare_app(customers: int = 1000, replicates: int = 2, steps: int = 60) -> AppTest:
    """The app on its default page (compare), run once, then set to a small market."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    at.sidebar.select_slider(key="customers").set_value(customers)
    at.sidebar.slider(key="replicates").set_value(replicates)
    at.sidebar.slider(key="steps").set_value(steps)
    return at


def page_app(page: str) -> AppTest:
    """A non-default page (a function of app.py under st.navigation), not run yet."""
    script = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import app; app.{page}()"
    return AppTest.from_string(script, default_timeout=TIMEOUT)


def metrics_shown(at: AppTest) -> dict[str, tuple[str, str]]:
    """Headline metrics as {label: (value, delta)}."""
    return {m.label: (m.value, m.delta) for m in at.metric}


def chart_specs(at: AppTest) -> list[dict]:
    """The Plotly figures on the page, as dicts (plotly_chart elements are opaque)."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def expected_headline(label_overrides, scenario, brand, customers=1000, replicates=2, steps=60):
    """The headline items computed without the app, from the same overrides."""
    runs = []
    for label, overrides in label_overrides:
        for seed in range(replicates):
            cfg = load_config(
                [*overrides, f"market.customers={customers}", f"sim.steps={steps}", f"seed={seed}"]
            )
            runs.append((label, seed, simulate(cfg).metrics))
    table = dash.comparison_table(runs, label_overrides[0][0])
    return dash.headline(table, scenario, brand)


# -- compare page -----------------------------------------------------------------------------
def test_compare_page_before_and_after_running():
    at = compare_app()
    at.run()
    assert not at.exception
    assert any("Run comparison" in i.value for i in at.info)
    assert len(at.metric) == 0
    assert at.multiselect(key="scenarios").value == ["chatbot_rollout"]

    at.button(key="run").click().run()
    assert not at.exception
    assert not at.error
    assert not at.info  # the prompt to run is gone
    assert at.selectbox(key="focus_scenario").options == ["chatbot_rollout"]
    assert at.selectbox(key="focus_brand").options == ["incumbent", "challenger", "budget"]
    shown = metrics_shown(at)
    assert list(shown) == HEADLINE_LABELS
    # every headline metric has a value and a delta against the baseline
    assert all(value and value != "n/a" and delta for value, delta in shown.values())
    assert shown["Retention"][0].endswith("%")
    # one chart per tab panel: retention, customers, share, revenue, cumulative profit,
    # CLV, NPS and the difference against the baseline
    specs = chart_specs(at)
    assert len(specs) == 8
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert "Cumulative profit" in titles and "Market share" in titles
    assert "Difference in customers against baseline" in titles
    # the export reproduces exactly this comparison
    code = "\n".join(c.value for c in at.code)
    assert "scenario=baseline,chatbot_rollout" in code
    assert "'seed=range(0,2)'" in code
    assert "market.customers=1000" in code and "sim.steps=60" in code
    comparison = at.session_state["comparison"]
    assert [(lab, seed) for lab, seed, _ in comparison["runs"]] == [
        ("baseline", 0), ("baseline", 1), ("chatbot_rollout", 0), ("chatbot_rollout", 1)
    ]  # fmt: skip
    assert all(f["metrics"]["step"].max() == 60 for _lab, _seed, f in comparison["runs"])


def test_price_lever_adds_a_levers_scenario_with_the_right_kpis():
    at = compare_app()
    at.run()
    at.multiselect(key="scenarios").set_value([])
    at.slider(key="lever_incumbent_price").set_value(2.0)
    at.button(key="run").click().run()
    assert not at.exception
    assert at.selectbox(key="focus_scenario").options == ["levers"]
    assert at.selectbox(key="focus_brand").value == "incumbent"
    shown = metrics_shown(at)

    items = expected_headline(
        [("baseline", ["scenario=baseline"]),
         ("levers", ["scenario=baseline", "brands.incumbent.price=2.0"])],
        "levers", "incumbent",
    )  # fmt: skip
    expected = {i["label"]: i for i in items}
    assert list(shown) == list(expected)
    for label, (value, delta) in shown.items():
        item = expected[label]
        want = f"{item['value']:.1%}" if item["kpi"] == "retention" else dash.compact(item["value"])
        assert value == want, label
        assert delta == dash.format_delta(item), label
    # doubling the price lifts the incumbent's revenue clearly, and the delta says so
    revenue = expected["Revenue"]
    assert revenue["diff"] > 0 and revenue["significant"]
    assert shown["Revenue"][1].startswith("+")
    # and the levers scenario can be reproduced from the command line
    code = "\n".join(c.value for c in at.code)
    assert "brands.incumbent.price=2.0" in code


def _first_then_lever(at: AppTest, clear_between: bool) -> tuple[dict, AppTest]:
    at.multiselect(key="scenarios").set_value([])
    at.slider(key="lever_wom").set_value(0.3)
    at.button(key="run").click().run()
    assert not at.exception
    at.selectbox(key="focus_scenario").set_value("levers").run()
    before = metrics_shown(at)
    if clear_between:
        st.cache_data.clear()
    at.slider(key="lever_wom").set_value(0.5)  # stronger word of mouth
    at.button(key="run").click().run()
    return before, at


def test_moving_a_lever_and_rerunning_changes_the_levers_kpis():
    # Caches are emptied between the two runs to step around the replay bug of
    # test_rerunning_a_comparison_reuses_cached_runs; everything else is the user's path.
    before, at = _first_then_lever(compare_app(), clear_between=True)
    assert not at.exception
    assert at.selectbox(key="focus_scenario").value == "levers"
    after = metrics_shown(at)
    assert list(after) == HEADLINE_LABELS
    assert after != before
    # the baseline did not move: its values are the same before and after
    items = expected_headline(
        [("baseline", ["scenario=baseline"]),
         ("levers", ["scenario=baseline", "wom.talk_rate=0.5"])],
        "levers", "incumbent",
    )  # fmt: skip
    for item in items:
        assert after[item["label"]][1] == dash.format_delta(item)
    assert any(abs(i["diff"]) > 0 for i in items)


def test_rerunning_a_comparison_reuses_cached_runs():
    before, at = _first_then_lever(compare_app(), clear_between=False)
    assert not at.exception, at.exception[0].message
    assert metrics_shown(at) != before


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("wom.talk_rate=7", "wom.talk_rate"),  # out of range
        ("wom.talkrate=0.2", "wom.talkrate"),  # misspelt key
        ("brands.incumbent.price=cheap", "brands.incumbent.price"),  # wrong type
        ("+x._target_=os.system", "_target_"),  # nothing typed is executed
    ],
)
def test_invalid_extra_override_shows_an_error(extra, named):
    at = compare_app(replicates=1)
    at.run()
    at.text_input(key="lever_extra").input(extra)
    at.button(key="run").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert named in errors[0]
    assert len(at.metric) == 0
    assert "comparison" not in at.session_state


# -- journey page --------------------------------------------------------------------------
def test_journey_page_shows_the_baseline():
    at = page_app("journey_page")
    # Sizes go in before the first run: the page simulates at once, at the sidebar's
    # defaults (20,000 customers for 365 days) otherwise.
    at.session_state["customers"] = 1000
    at.session_state["steps"] = 60
    at.run()
    assert not at.exception
    assert any("baseline" in i.value for i in at.info)
    assert at.selectbox(key="journey_scenario").options == ["baseline"]
    window = at.slider(key="journey_window")
    assert window.value == (1, 30) and window.max == 60
    sankey, stages = chart_specs(at)
    assert sankey["data"][0]["type"] == "sankey"
    assert sankey["layout"]["title"]["text"].startswith("Moves between states, days 1-30")
    # the Sankey is the baseline's moves over days 1-30, without stays
    flows = simulate(load_config(["market.customers=1000", "sim.steps=60"])).flows
    want = dash.sankey_data(flows, 1, 30)
    node, link = sankey["data"][0]["node"], sankey["data"][0]["link"]
    assert node["label"] == want["labels"]
    assert link["value"] == pytest.approx(want["value"])
    assert not any("before" in lab and "after" in lab for lab in node["label"])
    assert len(stages["data"]) == len(dash.STAGE_ORDER) - 1 + 3  # states: 4 stages + 3 brands
    # including stays adds links, and a later window changes the title
    at.checkbox(key="stays").check()
    at.slider(key="journey_window").set_value((40, 60)).run()
    assert not at.exception
    sankey = chart_specs(at)[0]
    assert sankey["layout"]["title"]["text"].startswith("Moves between states, days 40-60")
    want = dash.sankey_data(flows, 40, 60, include_stays=True)
    assert sankey["data"][0]["link"]["value"] == pytest.approx(want["value"])


def test_journey_page_shows_a_comparison_averaged_over_replicates():
    runs = []
    for label, extra in (("baseline", []), ("viral", ["wom.talk_rate=0.4"])):
        for seed in range(2):
            r = simulate(load_config([*extra, "market.customers=1000", "sim.steps=40",
                                      f"seed={seed}"]))  # fmt: skip
            frames = {"metrics": r.metrics, "stages": r.stages, "flows": r.flows,
                      "retention": r.retention}  # fmt: skip
            runs.append((label, seed, frames))
    at = page_app("journey_page")
    at.session_state["customers"] = 1000
    at.session_state["steps"] = 40
    at.session_state["comparison"] = {"runs": runs, "labels": ["baseline", "viral"]}
    at.run()
    assert not at.exception
    assert not at.info  # no "showing the baseline" note
    assert at.selectbox(key="journey_scenario").options == ["baseline", "viral"]
    at.selectbox(key="journey_scenario").set_value("viral").run()
    assert not at.exception
    flows = dash.stack_runs([(lab, s, f["flows"]) for lab, s, f in runs if lab == "viral"])
    want = dash.sankey_data(flows, 1, 30)
    link = chart_specs(at)[0]["data"][0]["link"]
    assert link["value"] == pytest.approx(want["value"])  # customers per run: mean of 2 seeds


# -- sweep explorer ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results root with a real small multirun (sw), a corrupt one and an empty folder."""
    base = tmp_path_factory.mktemp("sweeps")
    root = base / "results"
    done = subprocess.run(
        [sys.executable, "-m", "sim", "-m", "seed=0,1", "wom.talk_rate=0.05,0.2",
         "market.customers=1000", "sim.steps=20", f"hydra.sweep.dir={root}/sw"],
        cwd=base, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    (root / "bad").mkdir()
    (root / "bad" / "summary.parquet").write_bytes(b"this is not a parquet file \x00\xff" * 20)
    (root / "empty").mkdir()
    return root


def sweep_app(monkeypatch, root: Path) -> AppTest:
    monkeypatch.setenv("JOURNEYSIM_RESULTS_ROOT", str(root))
    at = page_app("sweep_page")
    at.run()
    assert not at.exception
    return at


def test_sweep_page_without_a_sweep(monkeypatch, tmp_path):
    at = sweep_app(monkeypatch, tmp_path)
    assert any("No sweep chosen" in i.value for i in at.info)
    assert at.selectbox(key="sweep_pick").options == ["(type a path)"]
    assert not at.get("plotly_chart")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("bad", "cannot be read"),  # garbage bytes in summary.parquet
        ("empty", "holds no runs"),
        ("missing", "no such sweep folder"),
        ("../..", "results root"),  # outside the root
        ("/etc", "results root"),
    ],
)
def test_sweep_page_unreadable_or_outside_paths_show_an_error(monkeypatch, results, typed, message):
    at = sweep_app(monkeypatch, results)
    at.text_input(key="sweep_path").input(typed).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and message in errors[0], errors
    assert not at.get("plotly_chart")
    assert not at.success


def test_sweep_page_charts_a_valid_sweep_and_names_the_best_setting(monkeypatch, results):
    at = sweep_app(monkeypatch, results)
    assert at.selectbox(key="sweep_pick").options == ["(type a path)", "bad", "sw"]
    at.text_input(key="sweep_path").input("sw").run()
    assert not at.exception
    assert not at.error
    assert at.get("plotly_chart")
    assert at.selectbox(key="sweep_x").options == ["wom.talk_rate"]  # constants left out
    summary = pl.read_parquet(results / "sw" / "summary.parquet")
    assert summary.height == 4

    def best(kpi, lowest=False):
        means = (
            summary.group_by("wom.talk_rate")
            .agg(pl.col(kpi).mean())
            .sort(kpi, descending=not lowest)
        )
        return means.row(0, named=True)

    kpi = at.selectbox(key="sweep_kpi").value
    assert kpi == "customers__incumbent"
    b = best(kpi)
    (message,) = [s.value for s in at.success]
    assert message.startswith("Best customers of incumbent:")
    assert f"at wom.talk_rate = {b['wom.talk_rate']}" in message
    assert f"{b[kpi]:,.4g}" in message
    spec = chart_specs(at)[0]
    assert spec["layout"]["xaxis"]["title"]["text"] == "wom.talk_rate"
    assert sorted(spec["data"][0]["x"]) == [0.05, 0.2]

    # churn: the lowest mean is the best
    at.selectbox(key="sweep_kpi").set_value("churned__budget").run()
    assert not at.exception
    b = best("churned__budget", lowest=True)
    (message,) = [s.value for s in at.success]
    assert message.startswith("Best churned of budget:")
    assert f"at wom.talk_rate = {b['wom.talk_rate']}" in message


def test_sweep_page_opens_a_sweep_picked_from_the_list(monkeypatch, results):
    at = sweep_app(monkeypatch, results)
    at.selectbox(key="sweep_pick").set_value("sw").run()
    assert not at.exception and not at.error
    assert at.get("plotly_chart") and at.success


def test_results_root_argument_wins_over_the_environment(monkeypatch, results, tmp_path):
    monkeypatch.setattr(sys, "argv", ["app.py", "--results-root", str(results)])
    at = sweep_app(monkeypatch, tmp_path)  # the environment names an empty folder
    assert at.selectbox(key="sweep_pick").options == ["(type a path)", "bad", "sw"]
    assert str(results.resolve()) in at.caption[0].value


# -- model page -------------------------------------------------------------------------------
def test_model_page_shows_every_rule():
    at = page_app("model_page")
    at.run()
    assert not at.exception
    assert [s.value for s in at.subheader] == [r["name"] for r in dash.RULES]
    codes = [c.value for c in at.code]
    assert codes == [r["equation"] for r in dash.RULES]
    captions = [c.value for c in at.caption]
    assert len(captions) == len(dash.RULES)
    for rule, caption in zip(dash.RULES, captions, strict=True):
        for key in rule["keys"]:
            assert f"`{key}` = " in caption
        assert "None" not in caption
    assert "`wom.talk_rate` = 0.1" in captions[0]
