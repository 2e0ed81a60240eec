"""Sweep explorer: a sweep folder's KPIs against its swept keys, with the best setting."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from sim import dashboard as dash

NONE = "(none)"


def page() -> None:
    """Open a sweep folder (summary.parquet) and chart a KPI against the swept keys."""
    st.title("Sweep explorer")
    root = common.results_root()
    st.caption(f"Sweeps written by `python -m sim -m ...` under the results root `{root}`.")
    try:
        explore(root)
    except Exception as exc:  # noqa: BLE001 - every problem is a message, never a traceback
        st.error(f"This sweep cannot be shown: {dash.screen_message(exc, root)}")


def choose_folder(root) -> str | None:
    """One chooser for the listed sweeps and a typed folder (typing adds an option).

    The choice lives in ``st.session_state[SWEEP]`` (and the URL); without one, the most
    recently written sweep is shown.
    """
    found = dash.find_sweeps(root)
    chosen = st.session_state.get(common.SWEEP)
    if chosen is None and found:
        chosen = dash.newest_sweep(root, found) or found[0]
        st.session_state[common.SWEEP] = chosen
    options = [*found, *([chosen] if chosen and chosen not in found else [])]
    if st.session_state.get("sweep_choice") != chosen:
        st.session_state["sweep_choice"] = chosen
    st.selectbox(
        f"Sweep folder ({len(found)} found under the results root, or type a folder)",
        options,
        key="sweep_choice",
        accept_new_options=True,
        placeholder="Choose a sweep, or type a folder under the results root",
        on_change=_remember_choice,
    )
    return chosen


def _remember_choice() -> None:
    st.session_state[common.SWEEP] = st.session_state["sweep_choice"]


#: Widgets of the sweep explorer whose options come from the sweep shown (prefixes).
SWEEP_VIEW_KEYS = ("sweep_kpi", "sweep_x", "sweep_y", "sweep_scenarios", "sweep_hold_")


def forget_views_of_another_sweep(chosen: str) -> None:
    """When another sweep is chosen, its view starts afresh (KPI, axes, filters, holds).

    The choices of the previous sweep may name keys the new one also has, and would then
    stay, describing a view of a sweep no longer shown. The first sweep of a session keeps
    what a shared link set.
    """
    shown = st.session_state.get("sweep_shown")
    if shown is not None and shown != chosen:
        for key in [k for k in st.session_state if str(k).startswith(SWEEP_VIEW_KEYS)]:
            del st.session_state[key]
    st.session_state["sweep_shown"] = chosen


def explore(root) -> None:
    """The page body (any error in it becomes one message)."""
    from sim.sweeps.summary import ReportError, load_summary

    candidate = choose_folder(root)
    if not candidate:
        st.info(
            "No sweep under the results root yet. Run one, e.g. `python -m sim "
            f"+experiment=sweep_price_grid hydra.sweep.dir={root}/price_grid`."
        )
        return
    forget_views_of_another_sweep(candidate)
    try:
        folder = dash.summary_under(root, candidate)
        summary = load_summary(folder)
    except (ValueError, ReportError) as exc:
        st.error(f"Cannot open this sweep: {dash.screen_message(exc, root)}")
        return
    done = dash.complete_runs(summary)
    failed = dash.failed_runs(summary)
    if done.height == 0:
        st.error(
            f"No complete runs in this sweep: all {summary.height} runs failed or did not "
            "finish (see below)."
        )
        st.dataframe(failed, hide_index=True)
        return
    if failed.height:
        st.warning(
            f"{failed.height} of {summary.height} runs failed or did not finish: they are "
            "left out of every mean below."
        )
        title = "The run left out" if failed.height == 1 else f"The {failed.height} runs left out"
        with st.expander(f"{title}, and why"):
            st.dataframe(failed, hide_index=True)
    kpis = dash.sweep_kpis(done)
    axes = dash.axis_choices(done)
    if not kpis:
        st.error("This summary has no KPI columns.")
        return
    if not axes:
        st.info("Nothing varies in this sweep but the seed: a single setting.")
        axes = ["scenario"]
    c1, c2, c3 = st.columns(3)
    common.valid_choice("sweep_kpi", kpis)
    kpi = c1.selectbox("KPI", kpis, key="sweep_kpi", format_func=dash.human_name, **common.VIEW)
    common.valid_choice("sweep_x", axes)
    x = c2.selectbox("x", axes, key="sweep_x", **common.VIEW)
    y_options = [NONE, *[a for a in axes if a != x]]
    common.valid_choice("sweep_y", y_options)
    y = c3.selectbox("y (heatmap)", y_options, key="sweep_y", **common.VIEW)
    y = None if y == NONE else y
    chosen_axes = [x] if y is None else [x, y]
    view = done
    if "scenario" not in chosen_axes and done["scenario"].n_unique() > 1:
        scenarios = done["scenario"].drop_nulls().unique(maintain_order=True).to_list()
        kept = st.session_state.get("sweep_scenarios")
        if kept is None or not set(kept) <= set(scenarios):
            st.session_state["sweep_scenarios"] = scenarios
        keep = st.multiselect("Scenarios", scenarios, key="sweep_scenarios", **common.VIEW)
        view = view.filter(view["scenario"].is_in(keep))
    held = {}
    others = [k for k in dash.held_keys(view, chosen_axes) if k != "scenario"]
    if others:
        cols = st.columns(4)
        for k, key in enumerate(others):
            options = [dash.AVERAGE, *dash.axis_values(view[key].to_list())]
            common.valid_choice(f"sweep_hold_{key}", options)
            held[key] = cols[k % len(cols)].selectbox(
                f"Hold {key} at", options, key=f"sweep_hold_{key}", **common.VIEW
            )
    view = dash.hold(view, held)
    if view.height == 0:
        st.warning("No complete runs match these choices.")
        return
    averaged = dash.averaged_over(view, chosen_axes)
    st.caption(
        "Each point averages over: "
        + ", ".join(
            f"{k} ({n} replicates)" if k == "seed" else f"{k} ({n} values)" for k, n in averaged
        )
        + ". Hold a key at one value above to stop averaging over it."
    )
    show_view(view, kpi, x, y)


def show_view(view, kpi: str, x: str, y: str | None) -> None:
    """The chart, the verdict on the best setting and the table of means."""
    label = dash.human_name(kpi)
    kind = dash.kpi_info(kpi.split("__")[0]).kind
    table, _best = dash.sweep_view(view, kpi, x, y)
    keys = [x] if y is None else [x, y]
    verdict = dash.best_setting(view, kpi, keys)
    best, ties = verdict.get("best"), verdict.get("ties", [])
    if table.height == 0 or not best:
        st.warning(f"No run has a value of {label} here.")
        return
    if y is None:
        fig = dash.sweep_line_figure(
            table, x, label, kind, categorical=dash.is_categorical(view, x), best=best, ties=ties
        )
    else:
        fig = dash.sweep_heatmap_figure(table, x, y, label, kind, best=best, ties=ties)
    st.plotly_chart(fig, key="sweep_chart")
    where = ", ".join(f"{k} = {best[k]}" for k in keys)
    value = dash.format_value(best["mean"], kind)
    if not ties:
        st.success(
            f"Best {label}: {value} at {where}, clearly ahead of every other setting "
            f"({dash.pairing_note(verdict)} exclude a tie)."
        )
    else:
        near = "; ".join(
            ", ".join(f"{k} = {t[k]}" for k in keys)
            + f" ({dash.format_value(t['diff'], kind, delta=True)} "
            f"{dash.format_interval(t['low'], t['high'], kind, with_units=False)}, "
            f"{dash.plural(t['pairs'], 'seed')})"
            for t in ties[:6]
        )
        more = f" and {len(ties) - 6} more" if len(ties) > 6 else ""
        st.info(
            f"Best mean {label}: {value} at {where}, but not clearly better than: "
            f"{near}{more} ({dash.pairing_note(verdict)}): more seeds would tell them apart."
        )
    common.heading("Means by setting", "sweep")
    spec = dash.column_spec(label, kind, table["mean"].to_list())
    shown = table.with_columns((table[c] * spec.scale).alias(c) for c in ("mean", "low", "high"))
    st.dataframe(
        shown,
        hide_index=True,
        height=dash.table_height(shown.height),
        column_config={
            "mean": st.column_config.NumberColumn(
                f"{label} (mean)", format=spec.format, help="Mean over the runs of the setting."
            ),
            "low": st.column_config.NumberColumn("95% CI low", format=spec.format),
            "high": st.column_config.NumberColumn("95% CI high", format=spec.format),
            "n": st.column_config.NumberColumn("runs", format="%d"),
        },
    )
    st.download_button(
        "This table (CSV)", table.write_csv(), "sweep_view.csv", "text/csv", on_click="ignore"
    )
