"""The app's analyst-tools page: open a result folder, see its plots, tables and command.

A calibration, sensitivity, optimisation, journeys or attribution result folder under the
results root is shown with the command line that reproduces it, formatted like Compare:
human names with units, Compare's number formats, palette and chart layout.

Widgets only: reading, labelling and drawing are the pure functions of
``sim.dashboard.analysis``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages import common
from sim import dashboard as dash
from sim.dashboard import analysis as an
from sim.dashboard import analysis_figures as figs


def page(results_root: str | Path | None = None) -> None:
    """Show one analysis result folder.

    Args:
        results_root: where results are read (default: the app's results root).
    """
    root = Path(results_root).resolve() if results_root is not None else an.results_root()
    st.title("Analyst tools")
    st.caption(
        "Results of `journeysim calibrate`, `sensitivity`, `optimise`, `journeys` and "
        f"`attribute` under the results root `{root}` (write them there with `--out`)."
    )
    choice = choose_folder(root)
    if choice is None:
        st.info(
            f"No analysis results under {root}. Run e.g. `journeysim sensitivity --params "
            f"space.yaml --kpi retention__incumbent --out {root}/sensitivity` first."
        )
        return
    try:
        result = an.load_result(root, choice)
    except ValueError as exc:
        st.error(str(exc))
        return
    show(result)


def choose_folder(root: Path) -> str | None:
    """A list of the results found, and a box to type any other folder (which wins).

    Returns:
        The folder to show (relative to ``root``), or None when there is none.
    """
    found = an.find_results(root)
    chosen = None
    if found:
        chosen = st.selectbox(
            f"Result to show ({len(found)} found under the results root, newest first)",
            found,
            key="analysis_folder",
        )
    typed = st.text_input(
        "Or type another result folder (relative to the results root)",
        key="analysis_path",
        placeholder="e.g. calibrate/2025-01-31/10-00-00",
        help="A folder holding analysis.yaml; when filled in, it is shown instead of the "
        "result chosen above.",
    )
    return typed or chosen


def show(result: an.AnalysisResult) -> None:
    """The result's headline, command, figures, tables and text files.

    A sensitivity study of several KPIs gets a KPI picker: all of them, or one.
    """
    kpis = an.result_kpis(result) if result.tool == "sensitivity" else []
    if len(kpis) > 1:
        every = "All KPIs"
        chosen = st.selectbox(
            "KPI",
            [every, *kpis],
            key="analysis_kpi",
            format_func=lambda k: k if k == every else an.kpi_name(k),
            help="The study computed every KPI's indices from the same runs.",
        )
        if chosen != every:
            result = an.for_kpi(result, chosen)
    st.subheader(result.title)
    items = an.headline(result)
    if items:
        for column, item in zip(st.columns(len(items)), items, strict=True):
            column.metric(item.label, item.value, help=item.help or None, border=True)
    st.markdown("Reproduce it with:")
    st.code(result.command, language="bash", wrap_lines=True)
    figures = figs.figures(result)
    for problem in result.problems:
        st.warning(problem, icon=":material/warning:")
    for k, fig in enumerate(figures):
        st.plotly_chart(fig, key=f"analysis_fig_{k}")
    for name in result.tables:
        view = an.table_view(result, name)
        st.markdown(f"**{an.TITLES.get(name, name)}**")
        st.dataframe(
            view.frame,
            hide_index=True,
            height=dash.table_height(view.frame.height),
            column_config=common.column_config(view.formats),
        )
    for name, text in result.texts.items():
        st.markdown(f"**{name}**")
        st.code(text, language="yaml")
