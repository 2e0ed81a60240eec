"""Plotly figures of the app, built from the frames of ``sim.dashboard.frames``.

One visual grammar across every chart: a small multiple (facet) per brand or state,
scenario by colour with a fixed order (the baseline first, in dark grey) and solid
lines, a band wherever replicates exist, scenario event windows shaded on time axes,
and axes in the unit of their metric (% for fractions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from sim.dashboard.format import (
    format_value,
    metric_info,
    plotly_hoverformat,
    plotly_tickformat,
)

#: Stages in greys and earth tones, far from every brand hue.
STAGE_COLOURS = {
    "unaware": "#d0d0d0", "aware": "#e8d5a3", "considering": "#c9a227", "lapsed": "#595959",
}  # fmt: skip
#: Scenario colours (Okabe-Ito, colour-blind safe); the baseline is always dark grey.
BASELINE_COLOUR = "#3b3b3b"
SCENARIO_PALETTE = ("#e69f00", "#0072b2", "#009e73", "#cc79a7", "#d55e00", "#56b4e9",
                    "#8c6d31", "#7b3294")  # fmt: skip


def scenario_colours(labels: Sequence[str], baseline: str) -> dict[str, str]:
    """A colour per scenario label: the baseline dark grey, the others in order."""
    out = {baseline: BASELINE_COLOUR}
    k = 0
    for label in labels:
        if label not in out:
            out[label] = SCENARIO_PALETTE[k % len(SCENARIO_PALETTE)]
            k += 1
    return out


def state_colour(state: str, colours: Mapping[str, str]) -> str:
    """Colour of a journey state: its brand's for 'customer: b', a stage tone otherwise."""
    if state.startswith("customer: "):
        return colours.get(state.split(": ", 1)[1], "#333333")
    return STAGE_COLOURS.get(state, "#999999")


def alpha(hex_colour: str, opacity: float) -> str:
    """'#rrggbb' as 'rgba(r,g,b,opacity)'."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{opacity})"


# -- event windows -----------------------------------------------------------------------------
#: What a response policy is called on a chart (``scenarios/responses.py``).
RESPONSE_NAMES = {"match_price": "price matching", "ad_boost": "ad boost",
                  "service_investment": "service investment"}  # fmt: skip


@dataclass(frozen=True)
class Window:
    """A scenario event (or a rival's response) active on steps start <= t < end."""

    scenario: str
    kind: str
    brand: str
    start: int
    end: int
    open_ended: bool
    response: bool = False

    @property
    def text(self) -> str:
        """'service outage (incumbent), days 60-73', '... from day 30' or 'response: ...'."""
        name = RESPONSE_NAMES.get(self.kind, self.kind) if self.response else self.kind
        what = f"{name.replace('_', ' ')} ({self.brand})"
        if self.response:
            what = f"response: {what}"
        if self.open_ended:
            return f"{what} from day {self.start}"
        return f"{what}, days {self.start}-{self.end - 1}"


def event_windows(configs: Mapping[str, Mapping], steps: int) -> list[Window]:
    """The event windows of each scenario's resolved config (``scenario.events``).

    An event without ``end`` lasts to the end of the run; a window is clipped to the
    run (steps 0..steps). Scenarios without events add nothing.
    """
    out = []
    for label, cfg in configs.items():
        events = ((cfg or {}).get("scenario") or {}).get("events") or []
        for ev in events:
            start = int(ev.get("start") or 0)
            end = ev.get("end")
            open_ended = end is None or ev.get("kind") == "new_entrant"
            stop = steps + 1 if open_ended else min(int(end), steps + 1)
            if start > steps:
                continue
            out.append(Window(label, str(ev.get("kind")), str(ev.get("brand", "")), start,
                              stop, open_ended))  # fmt: skip
    return out


def _active_spans(active: Sequence[bool], steps: int, gap: int) -> list[tuple[int, int]]:
    """Runs of True in ``active`` (indexed by step) as (start, end), joined across short gaps."""
    spans: list[list[int]] = []
    for t, on in enumerate(active):
        if not on:
            continue
        if spans and t - spans[-1][1] <= gap:
            spans[-1][1] = t + 1
        else:
            spans.append([t, t + 1])
    return [(a, min(b, steps + 1)) for a, b in spans]


def _series(run: pl.DataFrame, brand: str, column: str, steps: int) -> list[float]:
    """One run's ``column`` of ``brand`` by step (NaN where missing)."""
    part = run.filter(pl.col("brand") == brand).sort("step")
    values = [math.nan] * (steps + 1)
    for t, v in zip(part["step"].to_list(), part[column].to_list(), strict=True):
        values[int(t)] = math.nan if v is None else float(v)
    return values


def policy_activity(policy: Mapping, brand: str, runs: pl.DataFrame, prices: Mapping[str, float]):
    """Per step, the share of replicates in which a response policy acted (its own rule).

    ``runs`` holds one label's metrics (columns seed, step, brand, price, share, nps);
    ``prices`` each brand's configured price. The rules are those of
    ``scenarios/responses.py``, read back from what was recorded: ``match_price`` acts at t
    when a rival's price at t - lag was below its configured price; ``ad_boost`` when the
    brand's share at t - 1 was below ``share_below``; ``service_investment`` when its NPS
    at t - 1 was below ``nps_below``.
    """
    kind = policy.get("kind")
    steps = int(runs["step"].max())
    seeds = runs["seed"].unique().sort().to_list()
    active = [0.0] * (steps + 1)
    for seed in seeds:
        run = runs.filter(pl.col("seed") == seed)

        if kind == "match_price":
            lag = int(policy.get("lag", 14))
            rivals = [r for r in (policy.get("rivals") or list(prices)) if r != brand]
            cut = [False] * (steps + 1)
            for r in rivals:
                if r not in prices:
                    continue
                p = _series(run, r, "price", steps)
                for t in range(lag, steps + 1):
                    cut[t] = cut[t] or p[t - lag] < prices[r] * (1 - 1e-9)
            on = cut
        elif kind in ("ad_boost", "service_investment"):
            column, key, default = (("share", "share_below", 0.2) if kind == "ad_boost"
                                    else ("nps", "nps_below", math.nan))  # fmt: skip
            limit = float(policy.get(key, default))
            v = _series(run, brand, column, steps)
            on = [False] + [v[t - 1] < limit for t in range(1, steps + 1)]
        else:
            continue
        for t in range(steps + 1):
            active[t] += on[t] / len(seeds)
    return active


def response_windows(
    configs: Mapping[str, Mapping], metrics: pl.DataFrame, steps: int, gap: int = 7
) -> list[Window]:
    """When the rivals' response policies acted, per scenario: windows like events'.

    A response acts on what the market did, not on a date: it is shaded where it acted
    in at least half of the replicates (``policy_activity``), spans less than ``gap``
    steps apart joined; a span reaching the run's end is open-ended.
    """
    out = []
    for label, cfg in configs.items():
        brands = (cfg or {}).get("brands") or {}
        prices = {b: float(v.get("price", 1.0)) for b, v in brands.items()}
        runs = metrics.filter(pl.col("scenario") == label)
        if runs.height == 0:
            continue
        for brand, spec in brands.items():
            for policy in spec.get("responses") or []:
                active = policy_activity(policy, brand, runs, prices)
                on = [a >= 0.5 for a in active]
                for start, end in _active_spans(on, steps, gap):
                    out.append(Window(label, str(policy.get("kind")), brand, start, end,
                                      end > steps, response=True))  # fmt: skip
    return out


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""
    h = hex_colour.lstrip("#")

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(h[k : k + 2], 16) / 255) for k in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two '#rrggbb' colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(hex_colour: str, background: str = "#ffffff", ratio: float = 4.5) -> str:
    """``hex_colour`` darkened (mixed with black) until text in it reaches ``ratio`` (WCAG AA)."""
    h = hex_colour.lstrip("#")
    rgb = [int(h[k : k + 2], 16) for k in (0, 2, 4)]
    colour = hex_colour
    for step in range(21):
        keep = 1 - step / 20
        colour = "#" + "".join(f"{round(c * keep):02x}" for c in rgb)
        if contrast_ratio(colour, background) >= ratio:
            break
    return colour


NOTE_FONT_SIZE = 12  # px: the smallest text on a chart
#: Axis, panel and legend titles: Streamlit's grey for them (#808495, 3.7:1) made WCAG AA.
MUTED_TEXT = readable("#808495")
#: Characters on a line of a title (16 px bold) and of a note (12 px) that fit a 390 px phone.
TITLE_CHARS = 44
NOTE_CHARS = 56
# Vertical layout in pixels: the figures are as wide as the page (a phone or a desktop), so
# the space of every text block is reserved in pixels, not in fractions of the height.
TITLE_LINE = 22
TOOLBAR = 28  # Plotly's toolbar: always shown on a touch screen, at the top right
TITLE_PAD = TOOLBAR + 6  # the title under the toolbar's row, never behind its icons
NOTE_LINE = 16
NOTE_GAP = 2
PANEL_TITLE = 26  # above a panel: its title (the notes stack above the first one)
X_AXIS = 58  # under the plot: tick labels and the x axis title
LEGEND_TITLE = 20
LEGEND_ROW = 20
LEGEND_WIDTH = 320  # a phone's legend row: entries wrap beyond it
MARGIN_LEFT = 60  # the y axis: its tick labels and title (Plotly widens it if they need)
WINDOW_LABEL_SHIFT = PANEL_TITLE  # pixels above the top panels (their titles sit below)


def wrap(text: str, width: int, *, balanced: bool = False) -> str:
    """``text`` in lines of at most ``width`` characters, broken at spaces with ``<br>``.

    Greedy by default (a note reads on); ``balanced`` makes the lines about as long as
    each other (a title in two halves, not a line and a word). A longer word stays whole.
    """
    words = text.split(" ")
    if balanced and len(text) > width:
        n = math.ceil(len(text) / width)
        width = max(math.ceil(len(text) / n), *(len(w) for w in words))
        while len(_lines(words, width)) > n:
            width += 1
    return "<br>".join(_lines(words, width))


def _lines(words: Sequence[str], width: int) -> list[str]:
    lines = [""]
    for word in words:
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append(word)
        else:
            lines[-1] = f"{lines[-1]} {word}" if lines[-1] else word
    return lines


def line_count(text: str) -> int:
    """Lines of a Plotly text (``<br>`` breaks them)."""
    return text.count("<br>") + 1


def legend_rows(names: Sequence[str], width: int = LEGEND_WIDTH) -> int:
    """Rows a horizontal legend of ``names`` takes on a phone (entries wrap at ``width`` px)."""
    rows, used = 1, 0
    for name in names:
        entry = 44 + 7 * len(name)  # the symbol, its gap and the text at 12 px (generous)
        if used and used + entry > width:
            rows, used = rows + 1, 0
        used += entry
    return rows


def text_style(fig: go.Figure) -> go.Figure:
    """Titles of axes, panels and the legend, and tick labels, in a WCAG AA grey on white.

    Streamlit's theme draws them in #808495 (3.7:1); a colour set here wins over it. Notes
    keep the colour they were given (``readable``).
    """
    axis = {"title_font_color": MUTED_TEXT, "tickfont_color": MUTED_TEXT}
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_layout(legend_title_font_color=MUTED_TEXT)
    for annotation in fig.layout.annotations:  # panel titles
        if annotation.font.color is None:
            annotation.font.color = MUTED_TEXT
    return fig


def frame(
    fig: go.Figure,
    title: str,
    *,
    plot: int,
    top: int = 0,
    legend: Sequence[str] = (),
    legend_title: str = "",
    x_axis: bool = True,
    legend_lines: int | None = None,
) -> go.Figure:
    """Title, legend, margins and height of ``fig`` in pixels that hold at 390 and 1400 px.

    ``legend_lines`` reserves that many legend rows instead of the estimate
    (``legend_rows``), e.g. one per entry where Plotly stacks them on a phone.

    The title sits at the top of the figure, under the toolbar's row and wrapped to a
    phone's width; ``top`` pixels of notes and panel titles under it, then ``plot`` pixels
    of plot, the x axis, and the legend at the bottom of the figure in rows reserved for a
    phone: it never covers an axis title, whatever the width.
    """
    title = wrap(title, TITLE_CHARS, balanced=True)
    lines = line_count(title)
    head = TITLE_PAD + TITLE_LINE * lines
    # Plotly centres the lines of a title on its anchor: pad a wrapped one down to the top
    pad = TITLE_PAD + TITLE_LINE * (lines - 1) // 2
    rows = (legend_lines or legend_rows(list(legend))) if legend else 0
    foot = (LEGEND_TITLE if legend_title else 0) + LEGEND_ROW * rows + (8 if rows else 0)
    bottom = (X_AXIS if x_axis else 10) + foot
    height = head + top + plot + bottom
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "y": 1, "yref": "container",
               "yanchor": "top", "pad": {"t": pad}},
        legend={"title": {"text": legend_title, "side": "top"}, "orientation": "h",
                "xref": "container", "x": 0, "xanchor": "left", "yref": "container",
                "y": foot / height, "yanchor": "top", "traceorder": "normal"},
        margin={"t": head + top, "l": MARGIN_LEFT, "r": 20, "b": bottom}, height=height,
        showlegend=bool(legend),
    )  # fmt: skip
    return text_style(fig)


def window_notes(windows: Sequence[Window]) -> list[tuple[str, list[Window]]]:
    """One note per scenario and span: windows with the same (scenario, start, end) share it."""
    groups: dict[tuple[str, int, int], list[Window]] = {}
    for w in windows:
        groups.setdefault((w.scenario, w.start, w.end), []).append(w)
    return [(key[0], group) for key, group in groups.items()]


def note_text(scenario: str, group: Sequence[Window]) -> str:
    """'shaded: outage: service outage (incumbent), days 60-73', wrapped to a phone's width."""
    mark = "dashed" if group[0].open_ended else "shaded"
    return wrap(f"{mark}: {scenario}: " + "; ".join(x.text for x in group), NOTE_CHARS)


def notes_height(windows: Sequence[Window]) -> int:
    """Pixels the notes of ``windows`` take, stacked above the panels (0 without windows)."""
    return sum(NOTE_LINE * line_count(note_text(*g)) + NOTE_GAP for g in window_notes(windows))


def add_windows(fig: go.Figure, windows: Sequence[Window], colours: Mapping[str, str]) -> None:
    """Mark each window on every time axis of ``fig``, with one note per window above.

    A window with an end is shaded; an open-ended one (to the run's end) is a dashed line at
    its start, so two of them never tint the whole chart. Windows of one scenario with the
    same span share a shade and a note. The notes start at the figure's left edge and are
    wrapped to a phone's width, stacked in pixels above the panel titles.
    """
    shift = WINDOW_LABEL_SHIFT + notes_height(windows)  # the first note on top
    for k, (scenario, group) in enumerate(window_notes(windows)):
        w = group[0]
        colour = colours.get(scenario, "#999999")
        if w.open_ended:
            fig.add_vline(x=w.start, line={"color": colour, "width": 1.5, "dash": "dash"},
                          layer="below", row="all", col="all")  # fmt: skip
        else:
            fig.add_vrect(
                x0=w.start, x1=w.end, fillcolor=alpha(colour, 0.12), line_width=0,
                layer="below", row="all", col="all",
            )  # fmt: skip
        text = note_text(scenario, group)
        shift -= NOTE_LINE * line_count(text) + NOTE_GAP
        # stacked above the panel titles, in pixels (paper units depend on the height)
        fig.add_annotation(
            x=0, xref="paper", xshift=4 - MARGIN_LEFT, yref="paper", y=1.0, yanchor="bottom",
            yshift=shift, text=text, showarrow=False, xanchor="left", align="left",
            font={"size": NOTE_FONT_SIZE, "color": readable(colour)}, name=f"window {k}",
        )  # fmt: skip


# -- faceted bands -----------------------------------------------------------------------------
FULL_WIDTH_PANELS = 3  # up to this many panels, one column: full width on a phone too
PANEL_HEIGHT = 200
PANEL_GAP = 48  # between rows: the next row's title, tick labels where a cell below is empty


def facet_grid(n: int, max_cols: int = 2) -> tuple[int, int]:
    """Rows and columns for ``n`` small multiples: one column up to three, else two.

    The figure is as wide as the screen, a phone's 390 px too: a third column leaves a
    panel too narrow for its title and ticks there.
    """
    n = max(n, 1)
    cols = 1 if n <= FULL_WIDTH_PANELS else max(1, min(max_cols, 2))
    return math.ceil(n / cols), cols


def band_figure(
    band: pl.DataFrame,
    *,
    facet: str,
    title: str,
    y_title: str,
    kind: str,
    colours: Mapping[str, str],
    order: Sequence[str],
    x: str = "step",
    x_title: str = "day",
    facets: Sequence[str] | None = None,
    windows: Sequence[Window] = (),
    zero_line: bool = False,
    max_cols: int = 2,
) -> go.Figure:
    """Small multiples (one per value of ``facet``), scenario by colour, with bands.

    Args:
        band: columns scenario, ``x``, ``facet``, mean, low, high (``replicate_band``).
        facet: the column to split panels on ("brand" or "state").
        title: the figure's title.
        y_title: the y axis title (with its unit).
        kind: the value kind: "percent" gives % axes.
        colours: colour per scenario (``scenario_colours``).
        order: scenarios in legend order (the baseline first).
        x: the time (or tenure) column.
        x_title: its axis title.
        facets: panels in this order (default: order of appearance).
        windows: event windows to shade (time axes only).
        zero_line: draw y = 0 (difference charts).
        max_cols: panels per row at most (``facet_grid``).
    """
    facets = list(facets or band[facet].unique(maintain_order=True).to_list())
    rows, cols = facet_grid(len(facets), max_cols)
    plot = PANEL_HEIGHT * rows + PANEL_GAP * (rows - 1)
    specs = [[{} if r * cols + c < max(len(facets), 1) else None for c in range(cols)]
             for r in range(rows)]  # fmt: skip
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=facets, shared_xaxes=True, specs=specs,
        horizontal_spacing=0.1, vertical_spacing=PANEL_GAP / plot if rows > 1 else 0,
    )  # fmt: skip
    present = set(band["scenario"].unique().to_list())
    scenarios = [s for s in order if s in present]
    for k, name in enumerate(facets):
        r, c = k // cols + 1, k % cols + 1
        for rank, scenario in enumerate(scenarios):
            part = band.filter((pl.col("scenario") == scenario) & (pl.col(facet) == name))
            if part.height == 0:
                continue
            part = part.sort(x)
            colour = colours.get(scenario, "#333333")
            xs = part[x].to_list()
            fig.add_trace(go.Scatter(
                x=xs + xs[::-1], y=part["high"].to_list() + part["low"].to_list()[::-1],
                fill="toself", fillcolor=alpha(colour, 0.12), line={"width": 0}, mode="lines",
                hoverinfo="skip", showlegend=False, legendgroup=scenario,
                name=f"{scenario} 95% band",
            ), row=r, col=c)  # fmt: skip
            fig.add_trace(go.Scatter(
                x=xs, y=part["mean"].to_list(), name=scenario, legendgroup=scenario,
                legendrank=rank + 1, showlegend=k == 0, mode="lines",
                line={"color": colour, "width": 2},
                hovertemplate=f"{scenario}<br>{x_title} %{{x}}<br>%{{y:{plotly_hoverformat(kind)}}}"
                "<extra></extra>",
            ), row=r, col=c)  # fmt: skip
    fig.update_yaxes(tickformat=plotly_tickformat(kind), hoverformat=plotly_hoverformat(kind))
    # the x axis under the last panel of each column, titled once; the y title once, midway
    for c in range(1, cols + 1):
        last = max(k // cols + 1 for k in range(len(facets) or 1) if k % cols + 1 == c)
        fig.update_xaxes(showticklabels=True, row=last, col=c)
    fig.update_xaxes(title_text=x_title, row=rows, col=1)
    fig.update_yaxes(title_text=y_title, row=(rows + 1) // 2, col=1)
    fig.update_annotations(font_size=14)  # the panel titles (the notes come after)
    if zero_line:
        fig.add_hline(y=0, line={"color": "#777777", "width": 1, "dash": "dot"},
                      row="all", col="all")  # fmt: skip
    if windows:
        add_windows(fig, windows, colours)
    frame(fig, title, plot=plot, top=PANEL_TITLE + notes_height(windows) + 6,
          legend=scenarios, legend_title="Scenario")  # fmt: skip
    fig.update_layout(hovermode="x unified")
    return fig


# -- journey -----------------------------------------------------------------------------------
def sankey_positions(data: dict, gap: float = 0.035) -> tuple[list[float], list[float]]:
    """Node positions of a two-column Sankey: states in journey order, labels apart.

    Each node's centre sits at its share of the column's customers; centres are then
    pushed at least ``gap`` apart (a tiny node's label no longer sits on its neighbour's)
    and the column squeezed back into (0, 1).
    """
    xs, ys = [0.0] * len(data["states"]), [0.5] * len(data["states"])
    for side, x in (("before", 0.001), ("after", 0.999)):
        nodes = [k for k, s in enumerate(data["sides"]) if s == side and data["totals"][k] > 0]
        total = sum(data["totals"][k] for k in nodes) or 1.0
        pad = 0.02
        usable = max(1.0 - pad * max(len(nodes) - 1, 0), 0.2)
        pos, centres = 0.0, []
        for k in nodes:
            h = data["totals"][k] / total * usable
            centres.append(pos + h / 2)
            pos += h + pad
        for j in range(1, len(centres)):
            centres[j] = max(centres[j], centres[j - 1] + gap)
        if centres:
            low, high = centres[0], centres[-1]
            lo_target, hi_target = max(0.02, min(low, 0.5)), min(0.98, max(high, 0.5))
            span = (high - low) or 1.0
            for j, k in enumerate(nodes):
                frac = (centres[j] - low) / span if high > low else 0.5
                ys[k] = lo_target + frac * (hi_target - lo_target)
                xs[k] = x
    return xs, ys


def sankey_figure(data: dict, colours: Mapping[str, str], title: str) -> go.Figure:
    """A Sankey of ``sankey_data``: labels with counts, stage tones and brand colours."""
    labels = [
        f"{state} · {format_value(total, 'count', compact=True)}"
        for state, total in zip(data["states"], data["totals"], strict=True)
    ]
    node_colours = [state_colour(s, colours) for s in data["states"]]
    link_colours = [alpha(node_colours[k], 0.4) for k in data["source"]]
    xs, ys = sankey_positions(data)
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "color": node_colours, "pad": 14, "thickness": 16,
                  "x": xs, "y": ys, "line": {"width": 0.5, "color": "#444444"},
                  "hovertemplate": "%{label}<extra></extra>"},
            link={"source": data["source"], "target": data["target"], "value": data["value"],
                  "color": link_colours,
                  "hovertemplate": "%{source.label} → %{target.label}: %{value:,.0f}"
                  "<extra></extra>"},
            textfont={"size": 12, "color": "#111111"},
        )
    )  # fmt: skip
    side = {"y": 1, "xref": "paper", "yref": "paper", "yanchor": "bottom", "yshift": 6,
            "showarrow": False, "font": {"size": NOTE_FONT_SIZE, "color": "#555555"}}  # fmt: skip
    fig.update_layout(annotations=[
        {**side, "x": 0, "xanchor": "left", "text": "before a move"},
        {**side, "x": 1, "xanchor": "right", "text": "after it"},
    ])  # fmt: skip
    # two title lines, wrapped or not: Sankeys side by side keep their nodes level
    blank = TITLE_LINE * (line_count(wrap(title, TITLE_CHARS)) == 1)
    frame(fig, title, plot=440, top=PANEL_TITLE + blank, x_axis=False)
    fig.update_layout(margin={"l": 10, "r": 10})
    return fig


# -- sweeps ------------------------------------------------------------------------------------
def axis_values(values: Sequence) -> list[str]:
    """Category labels of swept values, in numeric order when they are numbers."""
    unique = list(dict.fromkeys(values))
    try:
        unique = sorted(unique, key=float)
    except (TypeError, ValueError):
        unique = sorted(unique, key=str)
    return [str(v) for v in unique]


def sweep_line_figure(
    table: pl.DataFrame,
    x: str,
    kpi_label: str,
    kind: str,
    *,
    categorical: bool,
    best: Mapping | None = None,
    ties: Sequence[Mapping] = (),
    colour: str = "#0072b2",
) -> go.Figure:
    """A KPI against one swept key: a line with a band (numeric key) or points (categories).

    The best setting is starred only when it is clearly best (``ties`` empty); settings
    within noise of it are ringed instead.
    """
    t = table.filter(pl.col("mean").is_not_null() & pl.col("mean").is_not_nan())
    if categorical:
        order = axis_values(t[x].to_list())
        t = t.with_columns(pl.col(x).cast(pl.Utf8).alias("__x"))
        t = t.sort(pl.col("__x").replace_strict(order, list(range(len(order))), default=0))
        xs = t["__x"].to_list()
    else:
        t = t.sort(x)
        xs = t[x].to_list()
    low = t["low"].fill_nan(None).fill_null(t["mean"])
    high = t["high"].fill_nan(None).fill_null(t["mean"])
    fig = go.Figure()
    hover = f"{x} = %{{x}}<br>{kpi_label}: %{{y:{plotly_hoverformat(kind)}}}<extra></extra>"
    if categorical:
        fig.add_trace(go.Scatter(
            x=xs, y=t["mean"].to_list(), mode="markers", name=kpi_label,
            marker={"size": 11, "color": colour},
            error_y={"type": "data", "symmetric": False,
                     "array": (high - t["mean"]).to_list(),
                     "arrayminus": (t["mean"] - low).to_list()},
            hovertemplate=hover,
        ))  # fmt: skip
    else:
        fig.add_trace(go.Scatter(
            x=xs + xs[::-1], y=high.to_list() + low.to_list()[::-1], fill="toself",
            fillcolor=alpha(colour, 0.18), line={"width": 0}, hoverinfo="skip", mode="lines",
            name="95% interval",
        ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=xs, y=t["mean"].to_list(), mode="lines+markers", name=kpi_label,
            line={"color": colour}, hovertemplate=hover,
        ))  # fmt: skip
    _mark_best(fig, best, ties, x, None, categorical)
    fig.update_layout(
        xaxis={"title": {"text": x}, "type": "category" if categorical else "linear",
               **({} if categorical else {"tickvals": xs})},  # ticks at swept values only
        yaxis={"title": {"text": kpi_label}, "tickformat": plotly_tickformat(kind)},
    )  # fmt: skip
    return frame(fig, f"{kpi_label} by {x}", plot=SWEEP_PLOT, top=10, legend=_names(fig))


SWEEP_PLOT = 320  # pixels of a sweep chart's plot


def _names(fig: go.Figure) -> list[str]:
    """The legend's entries: names of the traces it shows."""
    return [t.name for t in fig.data if t.name and t.showlegend is not False]


def _outline_cells(fig, cells, xs, ys, name: str, colour: str, width: float, dash: str) -> None:
    """Outline heatmap cells (their values stay readable), with one legend entry."""
    for cx, cy in cells:
        j, i = xs.index(cx), ys.index(cy)
        line = {"color": colour, "width": width, "dash": dash}
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                      xref="x", yref="y", line=line)  # fmt: skip
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=name,
                             line={"color": colour, "width": width, "dash": dash}))  # fmt: skip


def _mark_best(fig, best, ties, x, y, categorical, cells=None) -> None:
    """Mark the best setting (a star) or the highest mean and its ties (rings).

    On a heatmap (``cells``: its x and y categories) the cells are outlined instead, so the
    value written in each stays readable.
    """
    if not best:
        return
    if cells is not None:
        xs, ys = cells
        top = [(str(best[x]), str(best[y]))]
        if ties:
            _outline_cells(fig, top, xs, ys, "highest mean (not clearly best)", "#222222", 3,
                           "solid")  # fmt: skip
            others = [(str(t[x]), str(t[y])) for t in ties]
            _outline_cells(fig, others, xs, ys, "within noise of it", "#555555", 2, "dot")
        else:
            _outline_cells(fig, top, xs, ys, "best (clearly)", "#b8860b", 4, "solid")
        return
    bx = str(best[x]) if categorical or y is not None else best[x]
    by = str(best[y]) if y is not None else best["mean"]
    if ties:
        fig.add_trace(go.Scatter(
            x=[bx], y=[by], mode="markers", name="highest mean (not clearly best)",
            marker={"size": 16, "symbol": "circle-open", "color": "#222222",
                    "line": {"width": 2}},
        ))  # fmt: skip
        tx = [str(t[x]) if categorical or y is not None else t[x] for t in ties]
        ty = [str(t[y]) if y is not None else t["mean"] for t in ties]
        fig.add_trace(go.Scatter(
            x=tx, y=ty, mode="markers", name="within noise of it",
            marker={"size": 14, "symbol": "circle-open", "color": "#888888",
                    "line": {"width": 2}},
        ))  # fmt: skip
    else:
        fig.add_trace(go.Scatter(
            x=[bx], y=[by], mode="markers", name="best (clearly)",
            marker={"size": 18, "symbol": "star", "color": "gold",
                    "line": {"width": 1, "color": "#444"}},
        ))  # fmt: skip


def sweep_heatmap_figure(
    table: pl.DataFrame,
    x: str,
    y: str,
    kpi_label: str,
    kind: str,
    *,
    best: Mapping | None = None,
    ties: Sequence[Mapping] = (),
) -> go.Figure:
    """A KPI over two swept keys: categorical axes, the value written in each cell."""
    xs = axis_values(table[x].to_list())
    ys = axis_values(table[y].to_list())
    z = [[None] * len(xs) for _ in ys]
    text = [[""] * len(xs) for _ in ys]
    for r in table.iter_rows(named=True):
        i, j = ys.index(str(r[y])), xs.index(str(r[x]))
        mean = r["mean"]
        if mean is None or (isinstance(mean, float) and math.isnan(mean)):
            continue
        z[i][j] = mean
        text[i][j] = format_value(mean, kind, compact=True)
    fig = go.Figure(go.Heatmap(
        x=xs, y=ys, z=z, text=text, texttemplate="%{text}", textfont={"size": 12},
        colorscale="Viridis", colorbar={"title": {"text": kpi_label, "side": "right",
                                                  "font": {"color": MUTED_TEXT}},
                                        "tickformat": plotly_tickformat(kind),
                                        "tickfont": {"color": MUTED_TEXT}, "thickness": 14},
        hovertemplate=f"{x} = %{{x}}<br>{y} = %{{y}}<br>{kpi_label}: %{{text}}<extra></extra>",
        xgap=2, ygap=2,
    ))  # fmt: skip
    _mark_best(fig, best, ties, x, y, True, cells=(xs, ys))
    fig.update_layout(
        xaxis={"title": {"text": x}, "type": "category"},
        yaxis={"title": {"text": y}, "type": "category"},
    )  # fmt: skip
    return frame(fig, f"{kpi_label} by {x} and {y}", plot=SWEEP_PLOT, top=10, legend=_names(fig))


def metric_kind(column: str) -> str:
    """The value kind of a metric column (for axes)."""
    return metric_info(column).kind
