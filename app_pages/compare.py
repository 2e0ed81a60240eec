"""Compare scenarios: the settings form, the run, and the comparison's tables and charts."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from sim import dashboard as dash

#: Metric columns charted in the fixed tabs (the others are in "Any metric").
TAB_METRICS = (
    ("Customers and share", ("customers", "share")),
    ("Revenue and profit", ("revenue", "cumulative_profit")),
    ("CLV and NPS", ("clv", "nps")),
)
GOOD, BAD = "background-color: #dff3e4", "background-color: #fbe1dd"


def page() -> None:
    """Pick a baseline and scenarios, run replicates, compare KPIs and curves."""
    st.title("Compare scenarios")
    st.caption(
        "What happens to retention and revenue if...? Each scenario runs with the same "
        "seeds as the baseline (common random numbers), so differences are sharp."
    )
    common.show_notice()
    with st.expander("What the scenarios do"):
        for name, description in common.scenario_library():
            st.markdown(f"**{name}**: {description}")
    settings_form()
    common.execute_pending_run()
    common.show_run_errors()
    comp = common.comparison()
    if comp is None:
        st.info("Choose scenarios (or move a lever) and press **Run comparison**.")
        return
    st.divider()
    stale = "" if common.shown_matches_settings() else " (the form above has newer settings)"
    st.markdown(f"**Results**: {comp.settings.describe()}{stale}")
    for note in comp.notes:  # e.g. an event that starts after the run's last day
        st.warning(note, icon=":material/warning:")
    headline_section(comp)
    deltas_section(comp)
    segments_section(comp)
    levels_section(comp)
    charts_section(comp)
    export_section(comp)


# -- the form -------------------------------------------------------------------------------------
FROM_TODAY = "from today (day 0)"
LONG_RUN = "as a long-run steady state"


def _form_defaults(s: dash.Settings, specs: list[dash.Lever]) -> dict:
    values = {
        "form_baseline": s.baseline,
        "form_scenarios": list(s.scenarios),
        "form_customers": s.customers,
        "form_replicates": s.replicates,
        "form_steps": s.steps,
        "form_overrides": " ".join(s.overrides),
        "form_long_run": LONG_RUN if s.long_run else FROM_TODAY,
        "form_segments": s.segments,
        "form_regions": s.regions,
        "form_target": s.target,
    }
    moved = s.lever_values
    for lever in specs:
        value = moved.get(lever.id, lever.default)
        values[f"form_lever_{lever.id}"] = int(value) if lever.kind == "rule" else float(value)
    return values


def _submit(specs: list[dash.Lever]) -> None:
    ss = st.session_state
    new = dash.settings_from_form(
        customers=ss["form_customers"],
        replicates=ss["form_replicates"],
        steps=ss["form_steps"],
        baseline=ss["form_baseline"],
        scenarios=ss["form_scenarios"],
        lever_values={lever.id: ss[f"form_lever_{lever.id}"] for lever in specs},
        specs=specs,
        overrides_text=ss["form_overrides"],
        long_run=ss["form_long_run"] == LONG_RUN,
        segments=ss.get("form_segments", "default"),
        regions=ss.get("form_regions", "default"),
        target=ss.get("form_target", ""),
    )
    ss["form_scenarios"] = list(new.scenarios)  # the baseline is not compared with itself
    common.request_run(new)


def settings_form() -> None:
    """The comparison's settings: nothing runs until **Run comparison** is pressed."""
    s = common.settings()
    specs = common.levers()
    names = [n for n, _ in common.scenario_library()]
    for key, value in _form_defaults(s, specs).items():
        if key not in st.session_state:  # a fresh session, or back from another page
            st.session_state[key] = value
    population_widgets()
    with st.form("comparison_form"):
        c1, c2 = st.columns([1, 2])
        c1.selectbox("Baseline", names, key="form_baseline", format_func=dash.option_label)
        c2.multiselect(
            "Scenarios to compare",
            names,
            key="form_scenarios",
            format_func=dash.option_label,
            help="Library scenarios (conf/scenario); the baseline is left out if chosen too.",
        )
        c3, c4, c5 = st.columns(3)
        c3.select_slider(
            "Customers",
            options=dash.MARKET_SIZES,
            key="form_customers",
            format_func=lambda v: f"{v:,}",
            help="Number of customer agents (market.customers).",
        )
        c4.slider(
            "Replicates (seeds)",
            1,
            dash.state.MAX_REPLICATES,
            key="form_replicates",
            help="Runs per scenario with seeds 0..R-1; the same seeds in every scenario.",
        )
        c5.slider(
            "Days simulated",
            dash.state.MIN_STEPS,
            dash.state.MAX_STEPS,
            key="form_steps",
            help="sim.steps: a step is a day.",
        )
        with st.expander(
            "Levers: change the market (adds a 'levers' scenario: the baseline with these changes)",
            expanded=bool(s.levers or s.overrides),
        ):
            st.radio(
                "Levers act",
                (FROM_TODAY, LONG_RUN),
                key="form_long_run",
                horizontal=True,
                help="From today: every arm starts from the same status quo and the levers "
                "change at day 0 (what happens if we change it now?). Long-run: the levers "
                "change the market itself, burn-in included, so the arms are two histories "
                "(which steady state is better?). Rules and the network always change the "
                "market itself.",
            )
            targets = dash.target_options(
                st.session_state.get("form_segments", "default"),
                st.session_state.get("form_regions", "default"),
            )
            common.valid_choice("form_target", targets, "")
            st.selectbox(
                "Levers act on",
                targets,
                key="form_target",
                format_func=dash.target_label,
                disabled=len(targets) == 1,
                help="Everyone, or one segment's or region's customers only (scenario.target: "
                "changes made today; prices, margins and quality can change for a region, ad "
                "reach, service and friction for a segment too). Choose segments or regions "
                "above to target one.",
            )
            lever_widgets(specs)
            st.text_input(
                "More overrides (space separated, validated like the command line)",
                key="form_overrides",
                placeholder="e.g. brands.budget.margin=0.3 network=erdos_renyi",
                help="Keys the form sets (customers, days, seed, scenario) and keys of moved "
                "levers are refused here: change them with their widget.",
            )
        st.form_submit_button(
            "Run comparison",
            type="primary",
            key="run",
            icon=":material/play_arrow:",
            disabled=common.running(),
            on_click=_submit,
            args=(specs,),
        )


def population_widgets() -> None:
    """Who the customers are and where they live, outside the form: the levers' targets follow."""
    c6, c7 = st.columns(2)
    c6.selectbox(
        "Segments",
        dash.segment_sets(),
        key="form_segments",
        help="Who the customers are, in every run (conf/segments): with more than one "
        "segment the results add the differences by segment.",
    )
    c7.selectbox(
        "Regions",
        dash.region_sets(),
        key="form_regions",
        help="Where the customers live, in every run (conf/regions: brands' presence, "
        "prices and ad budgets by region): with more than one region the results add "
        "the differences by region.",
    )


def lever_widgets(specs: list[dash.Lever]) -> None:
    """Sliders of the market-wide levers, then a tab per brand."""
    market = [lever for lever in specs if lever.group == "Market"]
    cols = st.columns(len(market))
    for col, lever in zip(cols, market, strict=True):
        _slider(col, lever)
    brands = list(dict.fromkeys(lever.group for lever in specs if lever.group != "Market"))
    for tab, brand in zip(st.tabs(brands), brands, strict=True):
        with tab:
            own = [lever for lever in specs if lever.group == brand]
            cols = st.columns(len(own))
            for col, lever in zip(cols, own, strict=True):
                _slider(col, lever)


def _slider(col, lever: dash.Lever) -> None:
    if lever.kind == "rule":
        col.selectbox(
            lever.label,
            range(len(lever.options)),
            format_func=lambda k: dash.option_label(lever.options[k]),
            key=f"form_lever_{lever.id}",
            help=f"{lever.id}=... (default {lever.options[int(lever.default)]}; "
            "see Explain the model)",
        )
        return
    help_text = (
        f"multiplies every brands.{lever.group}.ad_reach.* (default 1 = as configured)"
        if lever.kind == "ads"
        else f"{lever.keys[0]} (default {lever.default:g})"
    )
    col.slider(
        lever.label,
        lever.low,
        lever.high,
        step=lever.step,
        key=f"form_lever_{lever.id}",
        help=help_text,
    )


# -- results ---------------------------------------------------------------------------------------
@st.fragment
def headline_section(comp: dash.Comparison) -> None:
    """Headline cards of one brand and one scenario (redrawn alone when they change)."""
    st.subheader("Headline")
    c1, c2 = st.columns(2)
    common.valid_choice("focus_brand", comp.brands)
    brand = c1.selectbox("Brand", comp.brands, key="focus_brand", **common.VIEW)
    options = comp.others or [comp.baseline]
    common.valid_choice("focus_scenario", options)
    scenario = c2.selectbox(
        f"Scenario vs {comp.baseline}",
        options,
        key="focus_scenario",
        format_func=dash.option_label,
        **common.VIEW,
    )
    items = dash.headline(comp.table, scenario, brand, comp.baseline)
    if not items:
        st.info(f"{brand} has no customers in {scenario}.")
        return
    per_row = 3
    cols = []
    for _ in range(0, len(items), per_row):
        cols += st.columns(per_row)
    for col, item in zip(cols, items, strict=False):
        col.metric(
            item["label"],
            item["value_text"],
            item["delta_text"],
            delta_color=item["delta_color"],
            delta_arrow="auto" if item["significant"] else "off",
            help=item["help"],
            border=True,
        )
    st.caption(
        "Differences: scenario minus baseline, paired by seed, ± the 95% interval's "
        "half-width. Grey and marked n.s.: the interval includes zero."
    )


def deltas_section(comp: dash.Comparison) -> None:
    """Differences of every KPI, scenarios side by side, brands as rows."""
    common.heading("Differences against the baseline", "deltas")
    if not comp.others:
        st.info("Only the baseline ran: add a scenario or move a lever to see differences.")
        return
    table, verdicts = comp.deltas
    st.caption(
        f"Per KPI and brand: the level in {comp.baseline}, then each scenario's paired "
        "difference [95% interval]. Green: better for the brand, red: worse, n.s.: the "
        "interval includes zero. Percentages change in percentage points (pp)."
    )
    marks = verdicts.to_pandas()

    def colour(column):
        return [GOOD if v == "better" else BAD if v == "worse" else "" for v in marks[column.name]]

    styled = table.to_pandas().style.apply(colour, subset=comp.others)
    st.dataframe(
        styled,
        hide_index=True,
        height=dash.table_height(table.height),
        column_config={
            comp.baseline: st.column_config.TextColumn(f"{comp.baseline} (level)"),
            **{s: st.column_config.TextColumn(f"{s} − {comp.baseline}") for s in comp.others},
        },
    )


@st.fragment
def segments_section(comp: dash.Comparison) -> None:
    """Whose KPI moved: one KPI's difference against the baseline, segment or region by one."""
    kinds = comp.breakdowns
    if not kinds or not comp.others:
        return
    common.heading("Differences by segment and region", "segments")
    common.valid_choice("breakdown_by", kinds)
    by = (
        st.radio("By", kinds, key="breakdown_by", horizontal=True, **common.VIEW)
        if len(kinds) > 1
        else kinds[0]
    )
    names = comp.group_names(by)
    st.caption(
        f"The market's {by}s ({', '.join(names)}): the paired difference of one KPI against "
        f"the baseline in each {by}, with its 95% interval, as `journeysim report --by {by}` "
        "gives it."
    )
    table = comp.breakdown_tables[by]
    kpis = dash.tables.kpi_order(table)
    brands = dash.tables.brand_order(table)
    common.valid_choice("segment_kpi", kpis, "churn_rate")
    if "segment_kpi" not in st.session_state and "churn_rate" in kpis:
        st.session_state["segment_kpi"] = "churn_rate"  # whose churn: the question asked first
    common.valid_choice("segment_brand", brands)
    c1, c2 = st.columns(2)
    kpi = c1.selectbox("KPI", kpis, key="segment_kpi", format_func=dash.kpi_title, **common.VIEW)
    brand = c2.selectbox("Brand", brands, key="segment_brand", **common.VIEW)
    st.plotly_chart(comp.breakdown_figure(kpi, brand, by), key="chart_segments")
    frame = dash.breakdown(table, kpi, brand, comp.baseline, by)
    st.dataframe(frame, hide_index=True, height=dash.table_height(frame.height))


@st.fragment
def levels_section(comp: dash.Comparison) -> None:
    """KPI levels: a row per scenario and brand, a column per KPI with its unit."""
    common.heading("KPI levels by scenario and brand", "levels")
    intervals = st.toggle("Show 95% intervals", key="level_intervals", **common.VIEW)
    frame, specs = dash.kpi_levels(comp.table, intervals=intervals)
    labels = {"scenario": "Scenario", "brand": "Brand"}
    labels.update({f"{k} 95% CI": f"{dash.kpi_title(k)} 95% CI" for k in specs})
    st.dataframe(
        frame,
        hide_index=True,
        height=dash.table_height(frame.height),
        column_config=common.column_config(specs, labels),
    )
    st.caption(
        f"Means over {dash.plural(comp.settings.replicates, 'replicate')}; totals over the "
        f"{comp.settings.steps} days, counts and shares at the end."
    )


def charts_section(comp: dash.Comparison) -> None:
    """Curves over time: a panel per brand, scenario by colour, bands and event windows."""
    st.subheader("Over time")
    st.caption(
        "A panel per brand; scenario by colour (the baseline dark grey), the same in every "
        "chart; bands: 95% intervals over the replicates; shaded: scenario events with an end; "
        "dashed: events and rivals' responses that last to the end of the run."
    )
    names = ["Retention", *[t for t, _ in TAB_METRICS], "Any metric", "Difference vs baseline"]
    tabs = st.tabs(names, key="view_tab", on_change="rerun", bind="query-params")
    with tabs[0]:
        fig, note = comp.retention_figure()
        if fig is None:
            st.info(note, icon=":material/info:")
        else:
            st.plotly_chart(fig, key="chart_retention")
            st.caption(note)
    for tab, (_title, columns) in zip(tabs[1 : 1 + len(TAB_METRICS)], TAB_METRICS, strict=True):
        with tab:
            for column in columns:
                if column in comp.metrics.columns:
                    st.plotly_chart(comp.metric_figure(column), key=f"chart_{column}")
    with tabs[-2]:
        any_metric(comp)
    with tabs[-1]:
        difference(comp)


@st.fragment
def any_metric(comp: dash.Comparison) -> None:
    """Any metric column the runs recorded (new engine columns appear here by themselves)."""
    columns = dash.metric_columns(comp.metrics)
    common.valid_choice("any_metric", columns)
    column = st.selectbox(
        "Metric", columns, key="any_metric", format_func=dash.metric_title, **common.VIEW
    )
    st.plotly_chart(comp.metric_figure(column), key="chart_any")


@st.fragment
def difference(comp: dash.Comparison) -> None:
    """Paired difference against the baseline over time, for a chosen metric."""
    if not comp.others:
        st.info("Only the baseline ran.")
        return
    columns = dash.metric_columns(comp.metrics)
    common.valid_choice("diff_metric", columns, "customers")
    if "diff_metric" not in st.session_state and "customers" in columns:
        st.session_state["diff_metric"] = "customers"
    column = st.selectbox(
        "Metric", columns, key="diff_metric", format_func=dash.metric_title, **common.VIEW
    )
    st.plotly_chart(comp.difference_figure(column), key="chart_difference")


def export_section(comp: dash.Comparison) -> None:
    """The command lines that run exactly these configs, and one zip of everything."""
    st.subheader("Reproduce and export")
    st.markdown(
        "This command runs exactly the configs above and prints the same table "
        "(`journeysim report <its folder>` prints it again):"
    )
    for command in comp.commands:
        st.code(command, language="bash", wrap_lines=True)
    with st.expander("The overrides of every run"):
        st.dataframe(
            {
                "run": [comp.run_name(j) for j in comp.jobs],
                "overrides": [" ".join(j.overrides) for j in comp.jobs],
            },
            hide_index=True,
        )
    st.download_button(
        "Download results, configs and commands (zip)",
        data=lambda: comp.zip,
        file_name="journeysim-comparison.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
        key="download_zip",
    )
