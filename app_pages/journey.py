"""The journey: moves between states, baseline and scenario side by side, and stage shares."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from sim import dashboard as dash


def page() -> None:
    """Sankeys of the baseline and a scenario over a window, and states over time."""
    st.title("The journey")
    st.caption(
        "Customers move between unaware, aware, considering, customer of each brand and "
        "lapsed, and back: not a funnel. Brands enter consideration at any stage."
    )
    common.show_notice()
    common.execute_pending_run()  # a shared link opened on this page
    common.show_run_errors()
    comp = common.comparison()
    if comp is None:
        s = common.settings()
        st.info("The journey of a comparison shows here once it has run.")
        st.button(
            f"Run the comparison now: {s.describe()}",
            key="journey_run",
            type="primary",
            icon=":material/play_arrow:",
            on_click=common.request_run,
            args=(s,),
        )
        return
    st.markdown(f"**Comparison**: {comp.settings.describe()}")
    last = int(comp.flows["step"].max()) if comp.flows.height else 1
    c1, c2, c3 = st.columns([1, 2, 1], vertical_alignment="bottom")
    options = comp.others or [comp.baseline]
    common.valid_choice("journey_scenario", options)
    other = c1.selectbox(
        f"Compare {comp.baseline} with",
        options,
        key="journey_scenario",
        format_func=dash.option_label,
        **common.VIEW,
    )
    window = st.session_state.get("journey_window")
    if not window or not (1 <= window[0] <= window[1] <= last):
        starts = [w.start for w in comp.windows if w.scenario == other]
        st.session_state["journey_window"] = dash.default_journey_window(starts, last)
    start, end = c2.slider("Days (window of moves)", 1, last, key="journey_window", **common.VIEW)
    stays = c3.toggle("Include customers who stayed", key="journey_stays", **common.VIEW)
    labels = [comp.baseline] if other == comp.baseline else [comp.baseline, other]
    figures = comp.sankeys(labels, start, end, include_stays=stays)
    if not any(f.data[0].link.value for f in figures):
        st.warning("No moves in this window.")
    else:
        for col, fig, label in zip(st.columns(len(figures)), figures, labels, strict=True):
            col.plotly_chart(fig, key=f"sankey_{label}")
        st.caption(
            "Customers per run (mean over replicates) moving between states over the "
            "window: left, the state before a move; right, after it. Labels give each "
            "state's customers moving. Stages in greys and golds, brands in their colours."
        )
    st.plotly_chart(comp.stage_figure(), key="chart_stages")
    st.caption(
        "Share of all customers in each state; bands: 95% intervals over the replicates; "
        "shaded: scenario events with an end; dashed: events and rivals' responses that last "
        "to the end of the run."
    )
