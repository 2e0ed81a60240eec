"""The app's analyst-tools page: open a result folder, see its plots, tables and command.

A calibration, sensitivity, optimisation, journeys or attribution result folder under the
results root is shown with the command line that reproduces it.

Widgets only: reading and drawing are the pure functions of ``sim.dashboard.analysis``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from sim.dashboard import analysis as an


def page(results_root: str | Path | None = None) -> None:
    """Show one analysis result folder (``results_root``: default the app's results root)."""
    root = Path(results_root).resolve() if results_root is not None else an.results_root()
    st.header("Analyst tools")
    st.caption(
        "Results of `journeysim calibrate`, `sensitivity`, `optimise`, `journeys` and "
        f"`attribute` under the results root `{root}` (write them there with `--out`)."
    )
    found = an.find_results(root)
    typed = st.text_input(
        "Result folder (relative to the results root)",
        key="analysis_path",
        placeholder="e.g. calibrate/2025-01-31/10-00-00",
    )
    if not found and not typed:
        st.info(
            f"No analysis results under {root}. Run e.g. `journeysim sensitivity --params "
            f"space.yaml --kpi retention__incumbent --out {root}/sensitivity` first."
        )
        return
    choice = typed or st.selectbox("Result folder", found, key="analysis_folder")
    try:
        result = an.load_result(root, choice)
    except ValueError as exc:
        st.error(str(exc))
        return
    st.subheader(result.title)
    st.markdown("Reproduce it with:")
    st.code(result.command, language="bash")
    items = an.headline(result)
    if items:
        for column, (label, value) in zip(st.columns(len(items)), items, strict=True):
            column.metric(label, value)
    figures = an.figures(result)
    for problem in result.problems:
        st.warning(problem)
    for k, fig in enumerate(figures):
        st.plotly_chart(fig, key=f"analysis_fig_{k}")
    for name, table in result.tables.items():
        st.markdown(f"**{an.TITLES.get(name, name)}**")
        st.dataframe(table.head(1000), hide_index=True)
    for name, text in result.texts.items():
        st.markdown(f"**{name}**")
        st.code(text, language="yaml")
