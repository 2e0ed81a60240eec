"""Explain the model: each rule typeset, its symbols and config keys, a live curve, the docs."""

from __future__ import annotations

import polars as pl
import streamlit as st
from omegaconf import OmegaConf

from app_pages import common
from sim import dashboard as dash


def current_config():
    """The config of the current settings (levers and overrides applied), and a note."""
    s = common.settings()
    specs = common.levers()
    base = common.base_config()
    variant = dict(dash.variants(s, specs, base)).get(dash.LEVERS_LABEL)
    if not variant:
        return base, "Values are the defaults (no lever moved)."
    try:
        text = common.resolved_config((*variant, *dash.state.size_overrides(s)))
    except Exception as exc:  # noqa: BLE001 - a bad typed override: fall back, say why
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return base, f"Values are the defaults: the current overrides are invalid ({first})."
    return OmegaConf.create(text), "Curves start at the current settings (levers applied)."


def page() -> None:
    """Rules, the journey's states, and the KPI glossary."""
    st.title("Explain the model")
    st.markdown(
        "journeysim follows every customer through a digital journey. The rules below are "
        "the whole model: each is a small function in `agents/rules.py`, the same in both "
        "engines; `docs/model.md` gives the full description (ODD protocol), and each rule "
        "opens its section below."
    )
    cfg, note = current_config()
    tabs = st.tabs(["Rules", "The journey's states", "KPI glossary"])
    with tabs[0]:
        st.caption(note)
        sections = dash.doc_sections()
        st.caption(
            f"Word of mouth: **{cfg.wom.rule}** rule; service: **{cfg.service.rule}** rule "
            "(choose them with the levers on the Compare page, or wom=... service=...)."
        )
        for index, rule in enumerate(dash.explain.rules_for(cfg)):
            show_rule(rule, cfg, index, sections)
    with tabs[1]:
        states_diagram(cfg)
    with tabs[2]:
        common.show_glossary()


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = []
    for row in rows:
        cells = []
        for name, _ in columns:
            value = str(row.get(name, ""))
            if name == "symbol":
                value = f"${value}$" if value else ""
            elif name == "key":
                value = f"`{value}`"
            cells.append(value.replace("|", "\\|"))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def show_rule(rule: dash.Rule, cfg, index: int, sections: dict) -> None:
    """One rule: words, typeset equations, symbols with keys and values, curve, docs.

    The rule's section of docs/model.md opens first, then the sections that define some of
    its symbols (``Rule.see_also``).
    """
    with st.container(border=True):
        st.subheader(rule.name)
        st.write(rule.words)
        for equation in rule.equations:
            st.latex(equation)
        market, per_brand, brands = dash.symbol_rows(rule, cfg)
        common_cols = [("symbol", "Symbol"), ("meaning", "Meaning"), ("key", "Config key")]
        if market:
            st.markdown(_table(market, [*common_cols, ("value", "Value")]))
        if per_brand:
            st.markdown(_table(per_brand, [*common_cols, *[(b, f"{b}") for b in brands]]))
        left, _right = st.columns([3, 1])
        with left:
            rule_curve(rule, cfg, index)
        for number in (rule.section, *rule.see_also):
            title, body = sections.get(number, ("", ""))
            label = f"docs/model.md, section {number} {title}".strip()
            with st.expander(label if number == rule.section else f"See also {label}"):
                st.markdown(body or "This section is missing from docs/model.md.")
                st.caption(
                    f"On GitHub: docs/model.md#{dash.doc_anchor(number, title)}" if title else ""
                )


@st.fragment
def rule_curve(rule: dash.Rule, cfg, index: int) -> None:
    """The rule evaluated over a grid; its sliders redraw this curve only."""
    start = dash.curve_defaults(rule, cfg)
    values = {}
    if rule.params:
        cols = st.columns(len(rule.params))
        for col, p in zip(cols, rule.params, strict=True):
            values[p.name] = col.slider(
                p.label,
                p.low,
                p.high,
                min(max(float(start[p.name]), p.low), p.high),
                step=p.step,
                key=f"curve_{index}_{p.name}",
                help=f"starts at {p.key}",
            )
    st.plotly_chart(dash.rule_curve(rule, cfg, values), key=f"curve_{index}")


def states_diagram(cfg) -> None:
    """The journey as a state diagram, with daily moves when a comparison has run."""
    comp = common.comparison()
    brands = comp.brands if comp else list(cfg.brands.keys())
    colours = dash.brand_colours(brands)
    moves = None
    if comp is not None:
        base = comp.flows.filter(pl.col("scenario") == comp.baseline)
        moves = dash.daily_moves(base)
    st.graphviz_chart(dash.journey_dot(brands, colours, moves), width="stretch")
    legend = dash.explain.move_legend()

    def state(name: str) -> str:
        return name.replace("{brand}", "a brand").replace("{other}", "another brand")

    st.dataframe(
        {
            "move": [k for k, *_ in legend],
            "from": [state(src) for _, src, _, _ in legend],
            "to": [state(dst) for _, _, dst, _ in legend],
            "the rule behind it": [why for *_, why in legend],
        },
        hide_index=True,
    )
    if moves is not None:
        st.caption(
            f"Arrows: the move's number (its rule in the table) and the mean customers per day "
            f"making it "
            f"in {comp.baseline} ({comp.settings.describe()}); dashed: moves the data show "
            "that the diagram does not name."
        )
    else:
        st.caption(
            "Arrows: the move's number (its rule in the table). Run a comparison to see how "
            "many customers "
            "make each move per day."
        )
    st.markdown(
        "A customer is in exactly one state: **customer** of a brand if it has one; else "
        "**considering** if its consideration set is not empty; else **lapsed** if it was a "
        "customer before; else **aware** if it knows a brand; else **unaware** "
        "(`stage_of` in `agents/rules.py`, docs/model.md section 7.11)."
    )
