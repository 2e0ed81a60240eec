"""Figures of the analyst tools, built from their result tables (the CLI and the app share them).

Each function takes the frames a tool writes (``fit.parquet``, ``sensitivity.parquet``,
``trials.parquet``, ...) and returns a Plotly figure, so the app draws exactly what the
command line saved. ``save`` writes a figure as a self-contained HTML file (Plotly's
JavaScript inline: it opens offline), atomically, and a PNG and SVG of it beside it.
"""

from __future__ import annotations

import math
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from sim.analysis.palette import brand_colours

BAR = "#1f77b4"
SECOND = "#ff7f0e"


def save(figures: go.Figure | list[go.Figure], path: str | Path) -> Path:
    """Write figures into one self-contained HTML file, then a PNG and SVG of each.

    The HTML file comes first, atomically; Plotly's JavaScript is included once, inline, so
    it opens offline. Then ``sim.analysis.images.write_images`` draws each figure as
    ``<stem>.png`` and ``<stem>.svg`` beside it (``<stem>-2.png``, ... for the second figure
    and on) in a headless Chromium, each file atomically. Without a browser there are none,
    one line on stderr says why, and the HTML file stands; ``JOURNEYSIM_NO_IMAGES=1`` turns
    them off.

    Args:
        figures: one figure or several, in order.
        path: the HTML file.

    Returns:
        The HTML file's path.
    """
    from sim.analysis.images import write_images
    from sim.sweeps.io import write_text

    figs = figures if isinstance(figures, list) else [figures]
    body = "\n".join(
        f.to_html(include_plotlyjs=k == 0, full_html=False) for k, f in enumerate(figs)
    )
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
    html = f"{head}{body}\n</body></html>\n"
    path = Path(path)
    write_text(html, path)
    write_images(figs, path)
    return path


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def fit_figure(fit: pl.DataFrame, title: str = "Calibration: observed vs simulated") -> go.Figure:
    """One panel per fitted column: observed points, the simulated mean and its band.

    Args:
        fit: ``fit.parquet`` (step, brand, column, observed, simulated, low, high).
        title: the figure title.
    """
    columns = fit["column"].unique(maintain_order=True).to_list()
    brands = fit["brand"].unique(maintain_order=True).to_list()
    colours = brand_colours(brands)
    fig = make_subplots(
        rows=len(columns),
        cols=1,
        shared_xaxes=True,
        subplot_titles=columns,
        vertical_spacing=0.08 if len(columns) < 5 else 0.04,
    )
    for row, column in enumerate(columns, start=1):
        part = fit.filter(pl.col("column") == column)
        for brand in brands:
            b = part.filter(pl.col("brand") == brand).sort("step")
            if b.height == 0:
                continue
            colour = colours[brand]
            x = b["step"].to_list()
            fig.add_trace(
                go.Scatter(
                    x=x + x[::-1],
                    y=b["high"].to_list() + b["low"].to_list()[::-1],
                    fill="toself",
                    fillcolor=_rgba(colour, 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=brand,
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=b["simulated"].to_list(),
                    mode="lines",
                    line={"color": colour},
                    name=f"{brand} simulated",
                    legendgroup=brand,
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=b["observed"].to_list(),
                    mode="markers",
                    marker={"color": colour, "size": 5, "symbol": "circle-open"},
                    name=f"{brand} observed",
                    legendgroup=brand,
                    showlegend=row == 1,
                ),
                row=row,
                col=1,
            )
    fig.update_xaxes(title_text="step", row=len(columns), col=1)
    fig.update_layout(title=title, height=max(380, 260 * len(columns)), template="plotly_white")
    return fig


def loss_figure(trials: pl.DataFrame, value: str = "loss", title: str = "Trials") -> go.Figure:
    """Each trial's value and the best so far (lower is better)."""
    done = trials.filter(pl.col(value).is_not_null() & pl.col(value).is_finite()).sort("trial")
    y = done[value].to_list()
    best, running = [], math.inf
    for v in y:
        running = min(running, v)
        best.append(running)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=done["trial"].to_list(),
            y=y,
            mode="markers",
            name=value,
            marker={"color": BAR, "size": 6},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=done["trial"].to_list(),
            y=best,
            mode="lines",
            name="best so far",
            line={"color": SECOND, "shape": "hv"},
        )
    )
    fig.update_layout(title=title, xaxis_title="trial", yaxis_title=value, template="plotly_white")
    return fig


def sensitivity_figure(table: pl.DataFrame, kpi: str, method: str) -> go.Figure:
    """Bars of the indices with their confidence intervals, most influential first.

    Morris: mu* (with its interval) and sigma; Sobol: S1 and ST (with their intervals).
    """
    t = table.sort("rank")
    params = t["param"].to_list()
    fig = go.Figure()
    if method == "morris":
        pairs = (("mu_star", "mu*", BAR, "mu_star_conf"), ("sigma", "sigma", SECOND, None))
        axis = f"elementary effect on {kpi} (per unit range)"
    else:
        pairs = (
            ("S1", "S1 (first order)", BAR, "S1_conf"),
            ("ST", "ST (total)", SECOND, "ST_conf"),
        )
        axis = f"share of the variance of {kpi}"
    for col, label, colour, conf in pairs:
        err = None
        if conf is not None:
            err = {"type": "data", "array": t[conf].fill_null(0.0).to_list(), "visible": True}
        fig.add_trace(
            go.Bar(x=params, y=t[col].to_list(), name=label, marker_color=colour, error_y=err)
        )
    fig.update_layout(
        title=f"Sensitivity of {kpi} ({method})",
        barmode="group",
        xaxis_title="parameter",
        yaxis_title=axis,
        template="plotly_white",
    )
    return fig


def optimise_figure(
    trials: pl.DataFrame, kpi: str, baseline: float | None, maximise: bool
) -> go.Figure:
    """Each trial's KPI (feasible and not), the best feasible so far and the baseline."""
    done = trials.filter(pl.col("value").is_not_null() & pl.col("value").is_finite()).sort("trial")
    feasible = done["feasible"].to_list() if "feasible" in done.columns else [True] * done.height
    x, y = done["trial"].to_list(), done["value"].to_list()
    fig = go.Figure()
    ok = [(a, b) for a, b, f in zip(x, y, feasible, strict=True) if f]
    bad = [(a, b) for a, b, f in zip(x, y, feasible, strict=True) if not f]
    if ok:
        fig.add_trace(
            go.Scatter(
                x=[a for a, _ in ok],
                y=[b for _, b in ok],
                mode="markers",
                name="feasible",
                marker={"color": BAR, "size": 6},
            )
        )
    if bad:
        fig.add_trace(
            go.Scatter(
                x=[a for a, _ in bad],
                y=[b for _, b in bad],
                mode="markers",
                name="breaks the constraint",
                marker={"color": "#c7c7c7", "size": 6, "symbol": "x"},
            )
        )
    bx, best = best_so_far(x, y, feasible, maximise)
    fig.add_trace(
        go.Scatter(
            x=bx,
            y=best,
            mode="lines",
            name="best feasible so far",
            line={"color": SECOND, "shape": "hv"},
        )
    )
    if baseline is not None and math.isfinite(baseline):
        fig.add_hline(
            y=baseline,
            line_dash="dash",
            line_color="#555",
            annotation_text="baseline",
            annotation_position="top left",
        )
    fig.update_layout(
        title=f"Optimising {kpi} ({'max' if maximise else 'min'}imise)",
        xaxis_title="trial",
        yaxis_title=kpi,
        template="plotly_white",
    )
    return fig


def attribution_figure(table: pl.DataFrame, title: str = "Markov attribution") -> go.Figure:
    """Bars of the attributed share of conversions per channel."""
    t = table.sort("share", descending=True)
    fig = go.Figure(
        go.Bar(
            x=t["channel"].to_list(),
            y=t["share"].to_list(),
            marker_color=BAR,
            name="share of conversions",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="channel",
        yaxis_title="share (removal effects normalised)",
        template="plotly_white",
    )
    return fig


def truth_figure(table: pl.DataFrame) -> go.Figure:
    """Markov removal effects beside the simulated truth (with its interval), per channel."""
    t = table.sort("true_removal_effect", descending=True, nulls_last=True)
    channels = t["channel"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Bar(x=channels, y=t["markov_removal_effect"].to_list(), name="Markov", marker_color=BAR)
    )
    lo = t["true_removal_effect_low"].to_list()
    hi = t["true_removal_effect_high"].to_list()
    mid = t["true_removal_effect"].to_list()
    plus = [None if (h is None or m is None) else h - m for h, m in zip(hi, mid, strict=True)]
    minus = [None if (l_ is None or m is None) else m - l_ for l_, m in zip(lo, mid, strict=True)]
    fig.add_trace(
        go.Bar(
            x=channels,
            y=mid,
            name="truth: ads switched off",
            marker_color=SECOND,
            error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
        )
    )
    fig.update_layout(
        title="Attribution vs ground truth: share of conversions lost without the channel",
        barmode="group",
        xaxis_title="channel",
        yaxis_title="removal effect",
        template="plotly_white",
    )
    return fig


def mix_figure(mix: pl.DataFrame, value: str = "conversions") -> go.Figure:
    """Weekly ``value`` per brand and channel (the marketing-mix table), one line each."""
    fig = go.Figure()
    brands = mix["brand"].unique(maintain_order=True).to_list()
    colours = brand_colours(brands)
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    for brand in brands:
        part = mix.filter(pl.col("brand") == brand)
        for k, channel in enumerate(part["channel"].unique(maintain_order=True).to_list()):
            c = part.filter(pl.col("channel") == channel).sort("week")
            if c[value].sum() == 0:
                continue
            fig.add_trace(
                go.Scatter(
                    x=c["week"].to_list(),
                    y=c[value].to_list(),
                    mode="lines",
                    name=f"{brand} {channel}",
                    line={"color": colours[brand], "dash": dashes[k % 6]},
                )
            )
    fig.update_layout(
        title=f"Weekly {value} by brand and channel",
        xaxis_title="week",
        yaxis_title=value,
        template="plotly_white",
    )
    return fig


def paths_figure(paths: pl.DataFrame, top: int = 20) -> go.Figure:
    """The most frequent paths: customers who converted and who did not, stacked."""
    t = paths.head(top).reverse()
    names = [p if p else "(no touchpoint)" for p in t["path"].to_list()]
    names = [n if len(n) <= 70 else n[:67] + "..." for n in names]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=t["conversions"].to_list(),
            orientation="h",
            name="converted",
            marker_color=BAR,
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=t["nulls"].to_list(),
            orientation="h",
            name="did not convert",
            marker_color="#c7c7c7",
        )
    )
    fig.update_layout(
        title=f"The {min(top, paths.height)} most frequent paths",
        barmode="stack",
        xaxis_title="customers",
        height=max(400, 24 * min(top, paths.height) + 150),
        template="plotly_white",
        yaxis={"automargin": True},
    )
    return fig


def best_so_far(x, y, feasible, maximise: bool) -> tuple[list, list]:
    """The running best feasible value of an optimisation, from its first feasible trial.

    Returns the trials' x from there on and the best y found up to each of them.
    """
    best, running, bx = [], None, []
    for a, b, f in zip(x, y, feasible, strict=True):
        if f and (running is None or (b > running if maximise else b < running)):
            running = b
        if running is not None:
            bx.append(a)
            best.append(running)
    return bx, best


def curves_figure(curves: pl.DataFrame, marginal: pl.DataFrame, kpi: str):
    """One panel per brand and channel: the KPI and revenue against the channel's spend.

    Each point is the mean over the paired seeds with its 95% interval; the best strategy's
    spend is marked.
    """
    from sim.analysis.palette import PALETTE
    from sim.sweeps.summary import t_interval

    groups = list(curves.group_by(["brand", "channel"], maintain_order=True))
    fig = make_subplots(
        rows=1,
        cols=len(groups),
        subplot_titles=[f"{b} on {c}" for (b, c), _ in groups],
        shared_yaxes=False,
    )
    for k, ((brand, channel), g) in enumerate(groups):
        for j, (column, label) in enumerate((("kpi", kpi), ("revenue", f"revenue__{brand}"))):
            pts = []
            for _, level in g.group_by(["multiplier"], maintain_order=True):
                mean, lo, hi = t_interval(level[column].to_numpy())
                pts.append((level["spend_per_year"].mean(), mean, lo, hi))
            pts.sort()
            x = [p[0] for p in pts]
            y = [p[1] for p in pts]
            err = [p[3] - p[1] if not math.isnan(p[3]) else 0.0 for p in pts]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    error_y={"type": "data", "array": err, "visible": True},
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    line={"color": PALETTE[j % len(PALETTE)]},
                ),
                row=1,
                col=k + 1,
            )
        at = marginal.filter((pl.col("brand") == brand) & (pl.col("channel") == channel))
        if at.height:
            fig.add_vline(x=at["spend_per_year"][0], line_dash="dot", row=1, col=k + 1)
        fig.update_xaxes(title_text="spend a year", row=1, col=k + 1)
    fig.update_layout(
        title="Response curves: each channel's spend moved alone, the rest as in the best "
        "strategy (dotted: its spend there)",
        template="plotly_white",
    )
    return fig
