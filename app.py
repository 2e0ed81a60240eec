"""journeysim app: compare what-if scenarios, see the journey, explore sweeps, learn the rules.

    streamlit run app.py                              # results root: ./multirun
    streamlit run app.py -- --results-root /data/sweeps

The app holds widgets and layout only: runs go through ``sim.load_config`` and
``sim.simulate`` (cached by their resolved config), and every table and chart is built
by the pure functions of ``sim.dashboard``. Nothing typed here is executed: values are
validated like the command line.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import polars as pl
import streamlit as st
from omegaconf import OmegaConf

from sim import dashboard as dash
from sim.config import ROOT, ConfigError, load_config

MARKET_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
SERVICE_CHANNELS = ("store", "app", "service")


# -- settings and cached work --
def results_root() -> Path:
    """The only folder under which sweep results may be opened."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--results-root", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:])
    root = args.results_root or os.environ.get("JOURNEYSIM_RESULTS_ROOT") or ROOT / "multirun"
    return Path(root).resolve()


@st.cache_data(show_spinner=False, max_entries=512)
def resolved_config(overrides: tuple[str, ...]) -> str:
    """The resolved config of a set of overrides, as YAML (raises ConfigError)."""
    return OmegaConf.to_yaml(load_config(list(overrides)))


@st.cache_data(show_spinner=False, max_entries=256)
def run_cached(config_yaml: str) -> dict[str, pl.DataFrame]:
    """Simulate one resolved config (cached by it: returning to a setting is instant).

    No Streamlit element is touched in here: st.cache_data replays such calls on a hit.
    """
    from sim import simulate

    result = simulate(OmegaConf.create(config_yaml))
    return {
        "metrics": result.metrics,
        "stages": result.stages,
        "flows": result.flows,
        "retention": result.retention,
    }


@st.cache_data(show_spinner=False)
def scenario_library() -> list[tuple[str, str]]:
    """(name, description) of the scenarios in conf/scenario."""
    from scenarios.library import list_scenarios

    return list_scenarios()


def base_config():
    """The default config (for lever defaults)."""
    return OmegaConf.create(resolved_config(()))


# -- sidebar: market size, replicates, steps --
def sidebar_settings() -> dict:
    """Market size, replicates and run length, shared by the pages."""
    st.sidebar.header("Market")
    customers = st.sidebar.select_slider(
        "Customers",
        options=MARKET_SIZES,
        value=20_000,
        key="customers",
        help="Number of customer agents (market.customers).",
    )
    replicates = st.sidebar.slider(
        "Replicates (seeds)",
        1,
        20,
        3,
        key="replicates",
        help="Runs per scenario with seeds 0..R-1; common random numbers across scenarios.",
    )
    steps = st.sidebar.slider("Days simulated", 30, 730, 365, step=5, key="steps")
    st.sidebar.caption(f"Results root for sweeps: `{results_root()}`")
    return {"customers": customers, "replicates": replicates, "steps": steps}


def lever_overrides(cfg) -> list[str]:
    """Sliders for the key levers; returns overrides for the values moved from default."""
    out: list[str] = []
    with st.expander("Levers: adjust the market (a 'levers' scenario is added)", expanded=False):
        c1, c2 = st.columns(2)
        talk = c1.slider(
            "Word-of-mouth strength (talk rate per day)",
            0.0,
            0.5,
            float(cfg.wom.talk_rate),
            step=0.01,
            key="lever_wom",
            help="wom.talk_rate",
        )
        sens = c2.slider(
            "Churn sensitivity to satisfaction",
            0.0,
            15.0,
            float(cfg.market.churn.sensitivity),
            step=0.5,
            key="lever_churn",
            help="market.churn.sensitivity",
        )
        if talk != float(cfg.wom.talk_rate):
            out.append(f"wom.talk_rate={talk}")
        if sens != float(cfg.market.churn.sensitivity):
            out.append(f"market.churn.sensitivity={sens}")
        tabs = st.tabs(list(cfg.brands.keys()))
        for tab, brand in zip(tabs, cfg.brands.keys(), strict=True):
            br = cfg.brands[brand]
            with tab:
                a, b = st.columns(2)
                price = a.slider(
                    "Price per customer-day",
                    0.1,
                    3.0,
                    float(br.price),
                    step=0.05,
                    key=f"lever_{brand}_price",
                    help=f"brands.{brand}.price",
                )
                if price != float(br.price):
                    out.append(f"brands.{brand}.price={price}")
                ads = b.slider(
                    "Ad reach (x baseline)",
                    0.0,
                    3.0,
                    1.0,
                    step=0.1,
                    key=f"lever_{brand}_ads",
                    help=f"multiplies brands.{brand}.ad_reach.* on every channel",
                )
                if ads != 1.0:
                    for ch, reach in br.ad_reach.items():
                        if reach:
                            out.append(f"brands.{brand}.ad_reach.{ch}={round(reach * ads, 6)}")
                cols = st.columns(len(SERVICE_CHANNELS))
                for col, ch in zip(cols, SERVICE_CHANNELS, strict=True):
                    default = float(br.service_quality.get(ch, 0.0))
                    q = col.slider(
                        f"Service quality: {ch}",
                        0.0,
                        1.0,
                        default,
                        step=0.05,
                        key=f"lever_{brand}_sq_{ch}",
                        help=f"brands.{brand}.service_quality.{ch}",
                    )
                    if q != default:
                        out.append(f"brands.{brand}.service_quality.{ch}={q}")
        extra = st.text_input(
            "More overrides (space separated, validated like the command line)",
            key="lever_extra",
            placeholder="e.g. brands.budget.margin=0.3 network=erdos_renyi",
        )
        out += [x for x in extra.split() if x]
    return out


# -- page: compare scenarios --
def run_comparison(labels: list[tuple[str, list[str]]], settings: dict) -> dict | None:
    """Run every (label, overrides) for every seed, with a progress bar; None on bad input."""
    base = [f"market.customers={settings['customers']}", f"sim.steps={settings['steps']}"]
    jobs = [
        (label, seed, [*ov, *base, f"seed={seed}"])
        for label, ov in labels
        for seed in range(settings["replicates"])
    ]
    configs = []
    for label, seed, overrides in jobs:
        if any("_target_" in o for o in overrides):
            st.error("Overrides may not set `_target_`.")
            return None
        try:
            configs.append((label, seed, resolved_config(tuple(overrides))))
        except ConfigError as exc:
            st.error(f"Invalid value: {exc}")
            return None
        except Exception as exc:  # Hydra's composition errors (misspelt keys, bad syntax)
            st.error(f"Invalid override: {str(exc).splitlines()[0]}")
            return None
    bar = st.progress(0.0, text="Starting...")
    runs = []
    for k, (label, seed, config_yaml) in enumerate(configs):
        bar.progress(k / len(configs), text=f"Run {k + 1}/{len(configs)}: {label}, seed {seed}")
        runs.append((label, seed, run_cached(config_yaml)))
    bar.progress(1.0, text="Done")
    bar.empty()
    return {"runs": runs, "labels": [lab for lab, _ in labels]}


def compare_page() -> None:
    """Pick a baseline and scenarios, run replicates, compare KPIs and curves."""
    st.title("Compare scenarios")
    st.caption(
        "What happens to retention and revenue if...? Each scenario runs with the same "
        "seeds as the baseline (common random numbers), so differences are sharp."
    )
    settings = sidebar_settings()
    library = scenario_library()
    names = [n for n, _ in library]
    c1, c2 = st.columns([1, 2])
    baseline = c1.selectbox("Baseline", names, index=names.index("baseline"), key="baseline")
    chosen = c2.multiselect(
        "Scenarios to compare",
        [n for n in names if n != baseline],
        default=["chatbot_rollout"] if baseline != "chatbot_rollout" else [],
        key="scenarios",
    )
    with st.expander("What the scenarios do"):
        for n, d in library:
            st.markdown(f"**{n}**: {d}")
    levers = lever_overrides(base_config())
    labels = [(baseline, [f"scenario={baseline}"])]
    labels += [(s, [f"scenario={s}"]) for s in chosen]
    if levers:
        labels.append(("levers", [f"scenario={baseline}", *levers]))
    if st.button("Run comparison", type="primary", key="run"):
        result = run_comparison(labels, settings)
        if result is not None:
            result.update(
                baseline=baseline,
                levers=levers,
                settings=dict(settings),
                scenarios=[baseline, *chosen],
            )
            st.session_state["comparison"] = result
    comparison = st.session_state.get("comparison")
    if not comparison:
        st.info("Choose scenarios (or move a lever) and press **Run comparison**.")
        return
    show_comparison(comparison)


def show_comparison(comparison: dict) -> None:
    """KPI headline, table, charts and exports of a finished comparison."""
    runs, baseline = comparison["runs"], comparison["baseline"]
    metrics = dash.with_cumulative_profit(
        dash.stack_runs([(lab, seed, f["metrics"]) for lab, seed, f in runs])
    )
    retention = dash.stack_runs([(lab, seed, f["retention"]) for lab, seed, f in runs])
    brands: list[str] = []  # in order of appearance (an entrant only exists in its scenario)
    for _lab, _seed, frames in runs:
        brands += [
            b for b in frames["metrics"]["brand"].unique(maintain_order=True) if b not in brands
        ]
    colours = dash.brand_colours(brands)
    table = dash.comparison_table([(lab, seed, f["metrics"]) for lab, seed, f in runs], baseline)
    others = [lab for lab in comparison["labels"] if lab != baseline]

    st.subheader("Headline")
    c1, c2 = st.columns(2)
    focus = c1.selectbox("Brand", brands, key="focus_brand")
    target = c2.selectbox("Scenario vs baseline", others or [baseline], key="focus_scenario")
    items = dash.headline(table, target, focus)
    cols = st.columns(max(len(items), 1))
    for col, item in zip(cols, items, strict=False):
        value = item["value"]
        shown = f"{value:.1%}" if item["kpi"] == "retention" and value is not None else None
        delta = None if target == baseline else dash.format_delta(item)
        col.metric(
            item["label"],
            shown or dash.compact(value),
            delta,
            help=f"{item['unit']}; {target} vs {baseline}, mean over replicates. "
            + dash.format_interval(item),
        )
    st.subheader("KPIs by scenario and brand")
    st.dataframe(kpi_display(table), hide_index=True, width="stretch")

    tabs = st.tabs(
        [
            "Retention",
            "Customers and share",
            "Revenue and profit",
            "CLV and NPS",
            "Difference vs baseline",
        ]
    )
    with tabs[0]:
        band = dash.retention_band(retention)
        st.plotly_chart(
            dash.band_figure(
                band,
                "Cohort retention: share of an acquisition cohort still active",
                "share still active",
                colours,
                x_label="days since joining",
            ),
            width="stretch",
        )
    panels = (
        (("customers", "Customers"), ("share", "Market share")),
        (("revenue", "Revenue per day"), ("cumulative_profit", "Cumulative profit")),
        (("clv", "Customer lifetime value"), ("nps", "Net promoter score")),
    )
    for tab, charts in zip(tabs[1:4], panels, strict=True):
        with tab:
            for col, title in charts:
                band = dash.replicate_band(metrics, col)
                figure = dash.band_figure(band, title, dash.UNITS[col], colours)
                st.plotly_chart(figure, width="stretch")
    with tabs[4]:
        col = st.selectbox(
            "Metric",
            ["customers", "share", "revenue", "cumulative_profit", "nps", "churned"],
            key="diff_metric",
        )
        diff = dash.difference_band(metrics, col, baseline)
        st.plotly_chart(
            dash.band_figure(
                diff,
                f"Difference in {col} against {baseline}",
                f"difference in {dash.UNITS.get(col, col)}",
                colours,
            ),
            width="stretch",
        )

    st.subheader("Export")
    settings = comparison["settings"]
    base = [f"market.customers={settings['customers']}", f"sim.steps={settings['steps']}"]
    st.markdown(
        "Reproduce the library scenarios from the command line, then "
        "`journeysim report <sweep dir>`:"
    )
    st.code(dash.reproduce_command(comparison["scenarios"], settings["replicates"], base), "bash")
    if comparison["levers"]:
        st.markdown("and the levers scenario:")
        st.code(
            dash.reproduce_command(
                [baseline], settings["replicates"], [*base, *comparison["levers"]]
            ),
            "bash",
        )
    d1, d2, d3, d4 = st.columns(4)
    d1.download_button("KPI table (CSV)", table.write_csv(), "kpis.csv", "text/csv")
    d2.download_button("KPI table (parquet)", _parquet(table), "kpis.parquet")
    d3.download_button("Metrics (CSV)", metrics.write_csv(), "metrics.csv", "text/csv")
    d4.download_button("Metrics (parquet)", _parquet(metrics), "metrics.parquet")


def kpi_display(table: pl.DataFrame) -> pl.DataFrame:
    """The KPI table with intervals as text, for display."""

    def interval(lo, hi):
        return pl.format("[{}, {}]", lo.round_sig_figs(4), hi.round_sig_figs(4))

    return table.select(
        "scenario",
        "brand",
        "kpi",
        "runs",
        pl.col("mean").round_sig_figs(5),
        interval(pl.col("ci_low"), pl.col("ci_high")).alias("95% CI"),
        pl.col("diff").round_sig_figs(4).alias("diff vs baseline"),
        interval(pl.col("diff_low"), pl.col("diff_high")).alias("95% CI of diff"),
    )


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


# -- page: journey --
def journey_page() -> None:
    """Sankey of flows between stages and brands over a window, and stages over time."""
    st.title("The journey")
    st.caption(
        "Customers move between unaware, aware, considering, customer of each brand and "
        "lapsed, and back: not a funnel. Brands enter consideration at any stage."
    )
    settings = sidebar_settings()
    comparison = st.session_state.get("comparison")
    if comparison:
        labels = comparison["labels"]
        runs = comparison["runs"]
    else:
        st.info("Showing the baseline (one run). Run a comparison to see its scenarios here.")
        config_yaml = resolved_config(
            (f"market.customers={settings['customers']}", f"sim.steps={settings['steps']}")
        )
        with st.spinner("Simulating the baseline..."):
            runs = [("baseline", 0, run_cached(config_yaml))]
        labels = ["baseline"]
    label = st.selectbox("Scenario", labels, key="journey_scenario")
    chosen = [(lab, seed, f) for lab, seed, f in runs if lab == label]
    last = int(chosen[0][2]["metrics"]["step"].max())
    window = st.slider("Window (days)", 1, last, (1, min(last, 30)), key="journey_window")
    stays = st.checkbox("Include customers who stayed in their state", False, key="stays")
    flows = dash.stack_runs([(lab, seed, f["flows"]) for lab, seed, f in chosen])
    stages = dash.stack_runs([(lab, seed, f["stages"]) for lab, seed, f in chosen])
    brands = chosen[0][2]["metrics"]["brand"].unique(maintain_order=True).to_list()
    colours = dash.brand_colours(brands)
    data = dash.sankey_data(flows, window[0], window[1], include_stays=stays)
    if not data["value"]:
        st.warning("No moves in this window.")
    else:
        st.plotly_chart(
            dash.sankey_figure(
                data,
                colours,
                f"Moves between states, days {window[0]}-{window[1]} (customers per run)",
            ),
            width="stretch",
        )
    st.plotly_chart(
        dash.stage_figure(dash.stage_shares(stages), colours, "Where customers are, day by day"),
        width="stretch",
    )


# -- page: sweep explorer --
def sweep_page() -> None:
    """Open a sweep folder (summary.parquet) and chart a KPI against the swept parameters."""
    from sim.sweeps.summary import ReportError, load_summary

    st.title("Sweep explorer")
    root = results_root()
    st.caption(f"Sweeps written by `python -m sim -m ...` under the results root `{root}`.")
    found = dash.find_sweeps(root)
    c1, c2 = st.columns(2)
    picked = c1.selectbox("Sweeps found", ["(type a path)", *found], key="sweep_pick")
    typed = c2.text_input("...or a folder under the results root", key="sweep_path")
    candidate = typed.strip() or (picked if picked != "(type a path)" else "")
    if not candidate:
        st.info(
            "No sweep chosen. Run one, e.g. `python -m sim +experiment=sweep_price_grid "
            f"hydra.sweep.dir={root}/price_grid`."
        )
        return
    try:
        folder = dash.summary_under(root, candidate)
        summary = load_summary(folder)
    except (ValueError, ReportError) as exc:
        st.error(f"Cannot open this sweep: {exc}")
        return
    kpis = dash.sweep_kpis(summary)
    params = dash.sweep_parameters(summary)
    if not kpis:
        st.error("This summary has no KPI columns (no complete runs?).")
        return
    if not params:
        st.warning("Nothing was swept here but the seed/scenario: showing by scenario.")
        params = ["scenario"]
    c1, c2, c3 = st.columns(3)
    kpi = c1.selectbox("KPI", kpis, key="sweep_kpi")
    x = c2.selectbox("x", params, key="sweep_x")
    y = c3.selectbox("y (heatmap)", ["(none)", *[p for p in params if p != x]], key="sweep_y")
    scenarios = summary["scenario"].drop_nulls().unique(maintain_order=True).to_list()
    keep = st.multiselect("Scenarios", scenarios, default=scenarios, key="sweep_scenarios")
    table, best = dash.sweep_view(summary, kpi, x, None if y == "(none)" else y, keep)
    if table.height == 0:
        st.warning("No complete runs match.")
        return
    st.plotly_chart(
        dash.sweep_figure(table, best, kpi, x, None if y == "(none)" else y), width="stretch"
    )
    if best:
        where = ", ".join(f"{k} = {best[k]}" for k in (x, y) if k in best and k != "(none)")
        st.success(f"Best {kpi.replace('__', ' of ')}: {best['mean']:,.4g} at {where}")
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button("This table (CSV)", table.write_csv(), "sweep_view.csv", "text/csv")
    st.download_button("This table (parquet)", _parquet(table), "sweep_view.parquet")


# -- page: the model --
def model_page() -> None:
    """Each rule in plain words, with its equation and the parameters that control it."""
    st.title("Explain the model")
    st.markdown(
        "journeysim follows every customer through a digital journey. The rules below "
        "are the whole model; `docs/model.md` gives the full description (ODD protocol) "
        "and `agents/rules.py` the code, one small function per rule."
    )
    cfg = base_config()
    for rule in dash.RULES:
        with st.container(border=True):
            st.subheader(rule["name"])
            st.write(rule["words"])
            st.code(rule["equation"], language=None)
            values = ", ".join(f"`{k}` = {OmegaConf.select(cfg, k)}" for k in rule["keys"])
            st.caption(f"Parameters (defaults): {values}")


def main() -> None:
    """The app: pages via st.navigation."""
    st.set_page_config(page_title="journeysim", layout="wide")
    pages = [
        st.Page(
            compare_page, title="Compare scenarios", icon=":material/compare_arrows:", default=True
        ),
        st.Page(journey_page, title="Journey", icon=":material/route:"),
        st.Page(sweep_page, title="Sweep explorer", icon=":material/grid_on:"),
        st.Page(model_page, title="Explain the model", icon=":material/menu_book:"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
