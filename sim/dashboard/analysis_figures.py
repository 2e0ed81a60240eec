"""The analyst-tools page's figures, in the app's palette and layout (``sim.dashboard.charts``).

Each figure is drawn from the same ``prepared`` table the page shows beside it
(``sim.dashboard.analysis``), so a chart and its table show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl

from sim.analysis.palette import brand_colours
from sim.analysis.plots import best_so_far
from sim.dashboard.analysis import (
    COLUMNS,
    NO_TOUCHPOINT,
    AnalysisResult,
    column_info,
    for_kpi,
    kpi_kind,
    kpi_name,
    prepared,
    result_kpis,
)
from sim.dashboard.charts import (
    BASELINE_COLOUR,
    alpha,
    band_figure,
    facet_grid,
    scenario_colours,
)
from sim.dashboard.format import (
    is_missing,
    metric_info,
    metric_title,
    plotly_hoverformat,
    plotly_tickformat,
    unit,
    with_unit,
)

# -- figures -----------------------------------------------------------------------------------
#: Light grey for what does not count: a path that did not convert, a trial off the constraints.
MUTED = alpha(BASELINE_COLOUR, 0.3)


def series_colours(names: Sequence[str], reference: str | None = None) -> dict[str, str]:
    """Colours of a chart's series, as Compare colours its scenarios.

    The reference (a baseline, the simulated truth) takes Compare's baseline dark grey,
    the other series the scenario palette in order.
    """
    key = reference if reference is not None else "\0"
    out = scenario_colours(list(names), key)
    if reference is None:
        del out[key]
    return out


def chart_style(
    fig: go.Figure,
    title: str,
    x_title: str,
    y_title: str,
    kind: str | None = None,
    *,
    legend: str = "",
    height: int | None = None,
    value_axis: str = "y",
) -> go.Figure:
    """The layout of Compare's charts: title at the left, legend below, axes in units.

    Args:
        fig: the figure (changed in place and returned).
        title: its title.
        x_title: the x axis title.
        y_title: the y axis title (with its unit).
        kind: the kind of the values axis: % ticks for fractions, separators else.
        legend: the legend's title.
        height: in pixels (default Plotly's).
        value_axis: the axis carrying the values ("x" for horizontal bars).
    """
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend={"title": {"text": legend}, "orientation": "h", "y": -0.2},
        margin={"t": 60, "l": 60, "r": 20, "b": 40},
    )
    if height is not None:
        fig.update_layout(height=height)
    if kind is not None:
        update = fig.update_xaxes if value_axis == "x" else fig.update_yaxes
        update(tickformat=plotly_tickformat(kind), hoverformat=plotly_hoverformat(kind))
    return fig


def fit_figure(result: AnalysisResult) -> go.Figure:
    """Observed points against the simulated mean, a panel per fitted column (brand colours).

    Drawn like Compare's curves (``band_figure``): the band runs from the lowest to the
    highest seed.
    """
    fit = prepared(result, "fit.parquet")
    columns = fit["column"].unique(maintain_order=True).to_list()
    titles = {c: metric_title(c) for c in columns}
    brands = fit["brand"].unique(maintain_order=True).to_list()
    colours = brand_colours(brands)
    band = fit.select(
        (pl.col("brand") + " simulated").alias("scenario"),
        "step",
        pl.col("column").replace_strict(titles).alias("panel"),
        pl.col("simulated").alias("mean"),
        "low",
        "high",
    )
    kinds = {metric_info(c).kind for c in columns}
    fig = band_figure(
        band,
        facet="panel",
        title="Observed vs simulated (band: lowest to highest seed)",
        y_title="",
        kind=kinds.pop() if len(kinds) == 1 else "number",
        colours={f"{b} simulated": colours[b] for b in brands},
        order=[f"{b} simulated" for b in brands],
        x_title="data step",
        facets=[titles[c] for c in columns],
    )
    for trace in fig.data:
        if trace.name and trace.name.endswith(" 95% band"):
            trace.name = trace.name.replace(" 95% band", " range over seeds")
    _, cols = facet_grid(len(columns))
    for k, column in enumerate(columns):
        r, c = k // cols + 1, k % cols + 1
        kind = metric_info(column).kind
        fig.update_yaxes(
            tickformat=plotly_tickformat(kind), hoverformat=plotly_hoverformat(kind), row=r, col=c
        )
        for brand in brands:
            part = fit.filter((pl.col("column") == column) & (pl.col("brand") == brand))
            if part.height == 0:
                continue
            part = part.sort("step")
            fig.add_trace(
                go.Scatter(
                    x=part["step"].to_list(),
                    y=part["observed"].to_list(),
                    mode="markers",
                    name=f"{brand} observed",
                    legendgroup=f"{brand} observed",
                    showlegend=k == 0,
                    marker={"color": colours[brand], "size": 7, "symbol": "circle-open"},
                ),
                row=r,
                col=c,
            )
    fig.update_layout(legend_title_text="")
    return fig


def loss_figure(result: AnalysisResult) -> go.Figure:
    """Each calibration trial's loss and the best so far (lower is better)."""
    trials = prepared(result, "trials.parquet")
    done = trials.filter(pl.col("loss").is_not_null() & pl.col("loss").is_finite()).sort("trial")
    losses = done["loss"].to_list()
    best = [min(losses[: k + 1]) for k in range(len(losses))]
    c = series_colours(["each trial", "best so far"])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=done["trial"].to_list(),
            y=losses,
            mode="markers",
            name="each trial",
            marker={"color": c["each trial"], "size": 7},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=done["trial"].to_list(),
            y=best,
            mode="lines",
            name="best so far",
            line={"color": c["best so far"], "shape": "hv", "width": 2},
        )
    )
    return chart_style(fig, "Calibration trials: loss", "trial", "Loss (lower is better)", "number")


@dataclass(frozen=True)
class Bars:
    """One series of the sensitivity figure, in the units of its table.

    Attributes:
        name: the index's human name.
        params: the parameters (x), ranked.
        values: the index per parameter.
        low: the low end of its 95% interval (None: no interval).
        high: the high end.
    """

    name: str
    params: list[str]
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None

    @property
    def minus(self) -> list[float] | None:
        """The lower arm of each error bar: value − low (never past zero for μ*)."""
        if self.low is None:
            return None
        return [
            0.0 if is_missing(v) or is_missing(lo) else v - lo
            for v, lo in zip(self.values, self.low, strict=True)
        ]

    @property
    def plus(self) -> list[float] | None:
        """The upper arm of each error bar: high − value."""
        if self.high is None:
            return None
        return [
            0.0 if is_missing(v) or is_missing(hi) else hi - v
            for v, hi in zip(self.values, self.high, strict=True)
        ]


def sensitivity_bars(result: AnalysisResult) -> list[Bars]:
    """The series of the sensitivity figure, from the table the page shows.

    Morris: μ* with its interval (clipped at zero, as in the table) and σ; Sobol: S1
    and ST with their intervals.
    """
    t = prepared(result, "sensitivity.parquet")
    params = [str(p) for p in t["param"].to_list()]
    if str(result.manifest.get("method")) == "morris" or "mu_star" in t.columns:
        series = (("mu_star", "mu_star_low", "mu_star_high"), ("sigma", None, None))
    else:
        series = (("S1", "S1_low", "S1_high"), ("ST", "ST_low", "ST_high"))
    out = []
    for col, lo, hi in series:
        if col not in t.columns:
            continue
        name = COLUMNS["sensitivity.parquet"][col].label
        interval = lo in t.columns and hi in t.columns
        out.append(
            Bars(
                name,
                params,
                t[col].to_list(),
                t[lo].to_list() if interval else None,
                t[hi].to_list() if interval else None,
            )
        )
    return out


def sensitivity_figure(result: AnalysisResult, kpi: str | None = None) -> go.Figure:
    """Bars of the indices with their 95% intervals, the most influential parameter first.

    The bars and their error arms are the numbers of the table (``sensitivity_bars``): a
    Morris μ* arm stops at zero. Morris effects of a percent KPI are in percentage points.
    A result of several KPIs is drawn for ``kpi`` (default: its first).
    """
    kpis = result_kpis(result)
    if kpi is not None or len(kpis) > 1:
        result = for_kpi(result, kpi if kpi is not None else kpis[0])
    m = result.manifest
    kpi = kpi_name(m.get("kpi"))
    bars = sensitivity_bars(result)
    morris = any(b.name.startswith("μ") for b in bars)
    effect_kind = kpi_kind(m.get("kpi"))
    scale = 100.0 if morris and effect_kind == "percent" else 1.0
    colours = series_colours([b.name for b in bars])
    fig = go.Figure()
    for b in bars:
        error = None
        if b.minus is not None and b.plus is not None:
            error = {
                "type": "data",
                "symmetric": False,
                "array": [x * scale for x in b.plus],
                "arrayminus": [x * scale for x in b.minus],
                "visible": True,
                "color": BASELINE_COLOUR,
            }
        fig.add_trace(
            go.Bar(
                x=b.params,
                y=[None if is_missing(v) else v * scale for v in b.values],
                name=b.name,
                marker_color=colours[b.name],
                error_y=error,
            )
        )
    if morris:
        y_title = with_unit(f"Effect on {kpi}", unit(effect_kind, "", delta=True))
        title = f"Sensitivity of {kpi} (Morris: a parameter moved across its range)"
        kind = "number"
    else:
        y_title = f"Share of the variance of {kpi} (%)"
        title = f"Sensitivity of {kpi} (Sobol)"
        kind = "percent"
    fig.update_layout(barmode="group")
    return chart_style(fig, title, "parameter", y_title, kind)


def sensitivity_figures(result: AnalysisResult) -> list[go.Figure]:
    """The sensitivity figure of each KPI of the result, in its order."""
    kpis = result_kpis(result)
    if len(kpis) <= 1:
        return [sensitivity_figure(result)]
    return [sensitivity_figure(result, kpi) for kpi in kpis]


def optimise_figure(result: AnalysisResult) -> go.Figure:
    """Each trial's KPI (meeting the constraints or not), the best so far, the baseline."""
    m = result.manifest
    kpi, kind = kpi_name(m.get("kpi")), kpi_kind(m.get("kpi"))
    maximise = m.get("direction", "maximise") == "maximise"
    trials = prepared(result, "trials.parquet")
    done = trials.filter(pl.col("value").is_not_null() & pl.col("value").is_finite()).sort("trial")
    feasible = (
        done["feasible"].fill_null(False).to_list()
        if "feasible" in done.columns
        else [True] * done.height
    )
    x, y = done["trial"].to_list(), done["value"].to_list()
    c = series_colours(["meets the constraints", "best so far"], reference="baseline")
    fig = go.Figure()
    for ok, name in ((True, "meets the constraints"), (False, "breaks a constraint")):
        pts = [(a, b) for a, b, f in zip(x, y, feasible, strict=True) if f == ok]
        if pts:
            fig.add_trace(
                go.Scatter(
                    x=[a for a, _ in pts],
                    y=[b for _, b in pts],
                    mode="markers",
                    name=name,
                    marker={
                        "color": c["meets the constraints"] if ok else MUTED,
                        "size": 7,
                        "symbol": "circle" if ok else "x",
                    },
                )
            )
    bx, best = best_so_far(x, y, feasible, maximise)
    fig.add_trace(
        go.Scatter(
            x=bx,
            y=best,
            mode="lines",
            name="best so far",
            line={"color": c["best so far"], "shape": "hv", "width": 2},
        )
    )
    baseline = (m.get("gain") or {}).get("search_baseline")
    if baseline is not None and math.isfinite(baseline):
        fig.add_hline(
            y=baseline,
            line={"color": c["baseline"], "dash": "dash", "width": 1.5},
            annotation_text="baseline",
            annotation_position="top left",
        )
    title = f"Optimising {kpi} ({'max' if maximise else 'min'}imise)"
    return chart_style(fig, title, "trial", with_unit(kpi, unit(kind)), kind)


def curve_band(result: AnalysisResult) -> pl.DataFrame:
    """The response curves as bands: the KPI's mean over the paired seeds, with its 95% interval.

    One row per brand-and-channel panel and spend level: columns scenario (the KPI),
    spend_per_year, panel ("brand: channel"), mean, low, high and multiplier.
    """
    from sim.sweeps.summary import t_interval

    kpi = kpi_name(result.manifest.get("kpi"))
    curves = prepared(result, "curves.parquet")
    rows = []
    keys = ["brand", "channel", "multiplier"]
    for (brand, channel, multiplier), level in curves.group_by(keys, maintain_order=True):
        mean, low, high = t_interval(level["kpi"].to_numpy())
        rows.append({
            "scenario": kpi,
            "spend_per_year": float(level["spend_per_year"].mean()),
            "panel": f"{brand}: {channel}",
            "mean": mean,
            "low": low if math.isfinite(low) else mean,
            "high": high if math.isfinite(high) else mean,
            "multiplier": multiplier,
        })  # fmt: skip
    band = pl.DataFrame(rows)
    order = {p: k for k, p in enumerate(band["panel"].unique(maintain_order=True))}
    return band.sort(pl.col("panel").replace_strict(order), "spend_per_year")


def curves_figure(result: AnalysisResult) -> go.Figure:
    """Each channel's response curve: the KPI against its spend a year, with its 95% band.

    One panel per brand and channel; the dotted line is the best strategy's spend there.
    """
    m = result.manifest
    kpi, kind = kpi_name(m.get("kpi")), kpi_kind(m.get("kpi"))
    band = curve_band(result)
    panels = band["panel"].unique(maintain_order=True).to_list()
    fig = band_figure(
        band.drop("multiplier"),
        facet="panel",
        title="Response curves: one channel's spend moved, the rest as in the best strategy",
        y_title=with_unit(kpi, unit(kind)),
        kind=kind,
        colours=series_colours([kpi]),
        order=[kpi],
        x="spend_per_year",
        x_title=with_unit("spend a year", unit("money")),
        facets=panels,
    )
    _, cols = facet_grid(len(panels))
    for k, panel in enumerate(panels):
        best = band.filter((pl.col("panel") == panel) & (pl.col("multiplier") == 1.0))
        if best.height:
            fig.add_vline(
                x=best["spend_per_year"][0],
                line={"dash": "dot", "color": BASELINE_COLOUR, "width": 1},
                row=k // cols + 1,
                col=k % cols + 1,
            )
    return fig


def paths_figure(result: AnalysisResult, top: int = 20) -> go.Figure:
    """The most frequent paths: customers who converted and who did not, stacked."""
    paths = prepared(result, "paths.csv")
    t = paths.head(top).reverse()
    names = [p if p else NO_TOUCHPOINT for p in t["path"].fill_null("").to_list()]
    names = [n if len(n) <= 70 else n[:67] + "..." for n in names]
    c = series_colours(["converted"])
    fig = go.Figure()
    for col, name, colour in (
        ("conversions", "converted", c["converted"]),
        ("nulls", "did not convert", MUTED),
    ):
        fig.add_trace(
            go.Bar(
                y=names,
                x=t[col].to_list(),
                orientation="h",
                name=name,
                marker_color=colour,
                hovertemplate="%{y}<br>" + name + ": %{x:,.0f}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", yaxis={"automargin": True})
    shown = min(top, paths.height)
    return chart_style(
        fig,
        f"The {shown} most frequent paths",
        "customers",
        "",
        "count",
        height=max(400, 24 * shown + 150),
        value_axis="x",
    )


def mix_figure(result: AnalysisResult, value: str = "conversions") -> go.Figure:
    """Weekly ``value`` per brand and channel, the mean over the seeds.

    A brand keeps its colour, each of its channels a dash.
    """
    mix = prepared(result, "mix.parquet")
    info = column_info("mix.parquet", value, result.manifest)
    weekly = mix.group_by("week", "brand", "channel", maintain_order=True).agg(pl.col(value).mean())
    brands = weekly["brand"].unique(maintain_order=True).to_list()
    colours = brand_colours(brands)
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    fig = go.Figure()
    for brand in brands:
        part = weekly.filter(pl.col("brand") == brand)
        for k, channel in enumerate(part["channel"].unique(maintain_order=True).to_list()):
            line = part.filter(pl.col("channel") == channel).sort("week")
            if not line[value].sum():
                continue
            fig.add_trace(
                go.Scatter(
                    x=line["week"].to_list(),
                    y=line[value].to_list(),
                    mode="lines",
                    name=f"{brand} · {channel}",
                    line={"color": colours[brand], "dash": dashes[k % len(dashes)], "width": 2},
                )
            )
    words = info.label.split(" (")[0]
    return chart_style(
        fig,
        f"Weekly {words.lower()} by brand and channel",
        "week",
        f"{info.label} per week",
        info.kind,
        legend="brand · channel",
    )


def truth_figure(result: AnalysisResult) -> go.Figure:
    """Markov removal effects beside the simulated truth (dark grey, with its interval)."""
    t = prepared(result, "truth.parquet").sort(
        "true_removal_effect", descending=True, nulls_last=True
    )
    channels = t["channel"].to_list()
    c = series_colours(["Markov"], reference="truth: ads switched off")
    mid = t["true_removal_effect"].to_list()
    lo, hi = t["true_removal_effect_low"].to_list(), t["true_removal_effect_high"].to_list()
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=channels,
            y=t["markov_removal_effect"].to_list(),
            name="Markov",
            marker_color=c["Markov"],
        )
    )
    fig.add_trace(
        go.Bar(
            x=channels,
            y=mid,
            name="truth: ads switched off",
            marker_color=c["truth: ads switched off"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [None if is_missing(h) or is_missing(v) else h - v
                          for h, v in zip(hi, mid, strict=True)],
                "arrayminus": [None if is_missing(a) or is_missing(v) else v - a
                               for a, v in zip(lo, mid, strict=True)],
                "visible": True,
                "color": BASELINE_COLOUR,
            },
        )
    )  # fmt: skip
    fig.update_layout(barmode="group")
    return chart_style(
        fig,
        "Attribution vs the simulated truth: conversions lost without the channel",
        "channel",
        "Removal effect (%)",
        "percent",
    )


def attribution_figure(result: AnalysisResult) -> go.Figure:
    """Bars of each channel's attributed share of conversions."""
    t = prepared(result, "attribution.parquet").sort("share", descending=True)
    c = series_colours(["share of conversions"])
    fig = go.Figure(
        go.Bar(
            x=t["channel"].to_list(),
            y=t["share"].to_list(),
            name="share of conversions",
            marker_color=c["share of conversions"],
        )
    )
    return chart_style(fig, "Markov attribution", "channel", "Share of conversions (%)", "percent")


#: The figures of each tool: (the table it needs, the function that draws it or a list).
FIGURES = {
    "calibrate": (("fit.parquet", fit_figure), ("trials.parquet", loss_figure)),
    "sensitivity": (("sensitivity.parquet", sensitivity_figures),),
    "optimise": (("trials.parquet", optimise_figure), ("curves.parquet", curves_figure)),
    "journeys": (("paths.csv", paths_figure), ("mix.parquet", mix_figure)),
    "attribute": (("truth.parquet", truth_figure), ("attribution.parquet", attribution_figure)),
}


def figures(result: AnalysisResult) -> list[go.Figure]:
    """The tool's figures in the app's style, from its tables (those that could be read).

    A table with unexpected columns adds a message to ``result.problems``, not a crash.
    """
    out: list[go.Figure] = []
    for name, draw in FIGURES.get(result.tool, ()):
        if name not in result.tables:
            continue
        try:
            drawn = draw(result)
            out.extend(drawn if isinstance(drawn, list) else [drawn])
        except Exception:  # noqa: BLE001 - a table with unexpected columns
            why = "its table has other columns"
            result.problems.append(f"the {name} chart could not be drawn ({why})")
    return out
