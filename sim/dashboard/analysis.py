"""Pure functions behind the app's analyst-tools page: find, read, label and draw results.

A result folder is one written by ``journeysim calibrate``, ``sensitivity``, ``optimise``,
``journeys`` or ``attribute``: it holds ``analysis.yaml`` (the tool and the command that
reproduces it) beside its tables. Only folders under the results root are opened (symlinks
out of it are refused), and a missing, partial or corrupt file gives a message, not a crash.

The page reads like Compare: every column, KPI and axis under its human name with its unit
(``sim.dashboard.format``: shares as percentages, money with thousands separators), and the
figures, rebuilt from the same tables as the command line's (``sim.analysis.plots``), in
the app's palette and layout (``sim.dashboard.charts``: brands in their fixed colours,
series in the scenario palette, a reference such as a baseline or the truth in dark grey).
A figure and its table show the same numbers: both are drawn from ``prepared`` tables.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import yaml

from sim.analysis.options import MANIFEST, TOOLS
from sim.dashboard.charts import (
    BASELINE_COLOUR,
    alpha,
    band_figure,
    brand_colours,
    facet_grid,
    scenario_colours,
)
from sim.dashboard.format import (
    ColumnSpec,
    format_delta,
    format_value,
    human_name,
    is_missing,
    kpi_info,
    metric_info,
    metric_title,
    number_format,
    plotly_hoverformat,
    plotly_tickformat,
    unit,
    with_unit,
)
from sim.dashboard.paths import resolve_under

#: The tables each tool writes, in the order the page shows them.
TABLES = {
    "calibrate": ("fit.parquet", "trials.parquet"),
    "sensitivity": ("sensitivity.parquet", "samples.parquet"),
    "optimise": ("gain.parquet", "validation.parquet", "trials.parquet"),
    "journeys": ("paths.csv", "mix.parquet"),
    "attribute": ("truth.parquet", "attribution.parquet", "paths.csv"),
}
#: Text files shown as they are.
TEXTS = ("best.yaml", "space.yaml")
TITLES = {
    "fit.parquet": "Observed vs simulated (fit.parquet)",
    "trials.parquet": "Trials (trials.parquet)",
    "sensitivity.parquet": "Indices, ranked (sensitivity.parquet)",
    "samples.parquet": "Samples and their KPI (samples.parquet)",
    "gain.parquet": "Gain over the baseline on validation seeds (gain.parquet)",
    "validation.parquet": "Paired validation runs (validation.parquet)",
    "paths.csv": "Paths (paths.csv)",
    "mix.parquet": "Weekly marketing mix (mix.parquet)",
    "truth.parquet": "Markov attribution vs the simulated truth (truth.parquet)",
    "attribution.parquet": "Markov removal effects (attribution.parquet)",
}


def results_root(argv: list[str] | None = None) -> Path:
    """The results root as the app sets it.

    ``--results-root``, else $JOURNEYSIM_RESULTS_ROOT, else ``multirun`` in the project.
    """
    from sim.config import ROOT

    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--results-root", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    root = args.results_root or os.environ.get("JOURNEYSIM_RESULTS_ROOT") or ROOT / "multirun"
    return Path(root).resolve()


def find_results(root: str | Path, limit: int = 200) -> list[str]:
    """Analysis result folders under ``root`` (relative paths, newest first).

    Folders whose ``analysis.yaml`` is a symlink out of the root, and unreadable ones, are
    left out.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        return []
    found: list[tuple[float, str]] = []
    try:
        for manifest in root_path.rglob(MANIFEST):
            try:
                resolve_under(root_path, manifest)
                folder = resolve_under(root_path, manifest.parent)
                found.append(
                    (manifest.stat().st_mtime, str(folder.relative_to(root_path.resolve())))
                )
            except (ValueError, OSError):
                continue
    except OSError:
        pass
    found.sort(key=lambda item: (-item[0], item[1]))
    return [f for _, f in found[:limit]]


@dataclass
class AnalysisResult:
    """What the page shows of one result folder."""

    folder: Path
    tool: str
    command: str
    manifest: dict
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """A heading for the result, KPIs under their human names."""
        m = self.manifest
        if self.tool == "calibrate":
            return f"Calibration: best loss {format_value(m.get('loss'), 'number')}"
        if self.tool == "sensitivity":
            method = str(m.get("method", "")).capitalize()
            return f"Sensitivity of {kpi_name(m.get('kpi'))} ({method})"
        if self.tool == "optimise":
            return f"Optimisation of {kpi_name(m.get('kpi'))} ({m.get('direction', 'maximise')})"
        if self.tool == "journeys":
            return f"Journeys: {format_value(m.get('traced', 0), 'count')} customers traced"
        if m.get("truth"):
            return "Attribution vs the simulated truth"
        return "Markov attribution"


def optional(tool: str, manifest: dict) -> set[str]:
    """Tables a complete result of ``tool`` may lack (by its kind, as its manifest says)."""
    if tool == "attribute":
        return {"paths.csv", "truth.parquet"} if not manifest.get("truth") else set()
    if tool == "optimise" and manifest.get("best") is None:  # no strategy met the constraints
        return {"gain.parquet", "validation.parquet"}
    return set()


def _read_table(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, schema_overrides={"path": pl.Utf8})
    return pl.read_parquet(path)


def load_result(root: str | Path, candidate: str | Path) -> AnalysisResult:
    """Read a result folder under ``root``.

    Raises:
        ValueError: the folder leaves the root, is not a result folder, or its manifest
            cannot be read (a message for the user). A missing or corrupt table is listed
            in ``problems`` instead.
    """
    folder = resolve_under(root, candidate)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ValueError(f"{candidate}: not an analysis result folder (no {MANIFEST})")
    resolve_under(root, manifest_path)
    try:
        manifest = yaml.safe_load(manifest_path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        raise ValueError(f"{candidate}/{MANIFEST}: cannot be read") from None
    if not isinstance(manifest, dict) or manifest.get("tool") not in TOOLS:
        raise ValueError(f"{candidate}/{MANIFEST}: not written by a journeysim analyst tool")
    result = AnalysisResult(
        folder, str(manifest["tool"]), str(manifest.get("command", "")), manifest
    )
    for name in TABLES[result.tool]:
        path = folder / name
        if not path.exists():
            if name not in optional(result.tool, manifest):
                result.problems.append(f"{name}: missing")
            continue
        try:
            resolve_under(root, path)
            result.tables[name] = _read_table(path)
        except ValueError as exc:
            result.problems.append(str(exc))
        except Exception:  # noqa: BLE001 - a corrupt or partial file
            result.problems.append(f"{name}: cannot be read (damaged, incomplete or not a table)")
    for name in TEXTS:
        path = folder / name
        if path.is_file():
            try:
                resolve_under(root, path)
                result.texts[name] = path.read_text()
            except (ValueError, OSError, UnicodeDecodeError):
                result.problems.append(f"{name}: cannot be read")
    return result


# -- names and kinds ---------------------------------------------------------------------------
def kpi_name(kpi: object) -> str:
    """The human name of a summary KPI ``<kpi>__<brand>``: 'Retention, incumbent'."""
    return human_name(str(kpi)) if kpi else "the KPI"


def kpi_kind(kpi: object) -> str:
    """The value kind of a summary KPI ``<kpi>__<brand>`` (or of a bare KPI name)."""
    if not kpi:
        return "number"
    return kpi_info(str(kpi).partition("__")[0]).kind


def fit_kind(manifest: Mapping) -> str | None:
    """The kind of a calibration's fitted values: that of its columns, None when they differ."""
    kinds = {metric_info(str(c)).kind for c in manifest.get("columns") or ()}
    return kinds.pop() if len(kinds) == 1 else None


#: Whole-number identifiers (trial, seed, step...): shown as they are, without separators.
INDEX = "index"


@dataclass(frozen=True)
class Column:
    """How one column of a result table reads on the page.

    Attributes:
        label: the header (``{kpi}`` stands for the result's KPI); the unit is added.
        kind: a kind of ``sim.dashboard.format``, ``INDEX``, or None for a text column.
            While registered, ``"kpi"`` (the result's KPI) and ``"fit"`` (the fitted
            columns) stand for the kind they resolve to.
        delta: the values are differences (percent kinds in percentage points).
        signed: show a sign (a difference that may go either way).
        help: the header's tooltip.
        per: part of the unit ("per day").
        family: columns of one family (an index, its interval's ends and half-width)
            share their number of decimals.
    """

    label: str
    kind: str | None = None
    delta: bool = False
    signed: bool = False
    help: str = ""
    per: str = ""
    family: str = ""


MU_HELP = (
    "Elementary effect: the change in {kpi} when one parameter moves across its whole "
    "range, the others held. μ* is the mean of its absolute values (how much the parameter "
    "matters), μ its signed mean, σ its spread (interactions or non-linearity)."
)
SOBOL_HELP = "Share of the variance of {kpi}: S1 the parameter alone, ST with its interactions."
LOSS_HELP = (
    "Mean squared error in units of the model's own noise: near 1 + 1/R, the data lie as "
    "close to the model as another seed would."
)

#: Columns found in several tables.
SHARED: dict[str, Column] = {
    "trial": Column("Trial", INDEX),
    "state": Column("State"),
    "seed": Column("Seed", INDEX),
    "step": Column("Data step", INDEX),
    "week": Column("Week", INDEX),
    "sample": Column("Sample", INDEX),
    "rank": Column("Rank", INDEX, help="1: the parameter that moves the KPI most."),
    "replicates": Column("Seeds", INDEX),
    "brand": Column("Brand"),
    "channel": Column("Channel"),
    "param": Column("Parameter"),
    "path": Column("Path", help="Touchpoints in order, up to the conversion."),
    "kpi": Column("KPI"),
    "method": Column("Method"),
    "direction": Column("Direction"),
    "feasible": Column("Meets the constraints"),
}

#: Columns of each table (before ``SHARED``).
COLUMNS: dict[str, dict[str, Column]] = {
    "fit.parquet": {
        "column": Column("Fitted column"),
        "observed": Column("Observed", "fit"),
        "simulated": Column("Simulated", "fit", help="Mean over the seeds."),
        "low": Column("Simulated, lowest seed", "fit"),
        "high": Column("Simulated, highest seed", "fit"),
    },
    "trials.parquet": {
        "loss": Column("Loss", "number", help=LOSS_HELP),
        "value": Column("Objective: {kpi}", "kpi", help="The KPI optimised, on the search seeds."),
    },
    "sensitivity.parquet": {
        "mu": Column("μ: mean effect", "kpi", True, True, MU_HELP, family="effect"),
        "mu_star": Column("μ*: mean absolute effect", "kpi", True, help=MU_HELP, family="effect"),
        "mu_star_conf": Column("μ* 95% half-width", "kpi", True, help=MU_HELP, family="effect"),
        "mu_star_low": Column("μ* 95% low", "kpi", True, help=MU_HELP, family="effect"),
        "mu_star_high": Column("μ* 95% high", "kpi", True, help=MU_HELP, family="effect"),
        "sigma": Column("σ: spread of the effects", "kpi", True, help=MU_HELP, family="effect"),
        "S1": Column("S1: first-order share of the variance", "percent", help=SOBOL_HELP),
        "S1_conf": Column("S1 95% half-width", "percent", True, help=SOBOL_HELP, family="sobol"),
        "S1_low": Column("S1 95% low", "percent", help=SOBOL_HELP),
        "S1_high": Column("S1 95% high", "percent", help=SOBOL_HELP),
        "ST": Column("ST: total share of the variance", "percent", help=SOBOL_HELP),
        "ST_conf": Column("ST 95% half-width", "percent", True, help=SOBOL_HELP, family="sobol"),
        "ST_low": Column("ST 95% low", "percent", help=SOBOL_HELP),
        "ST_high": Column("ST 95% high", "percent", help=SOBOL_HELP),
    },
    "gain.parquet": {
        "trial": Column("Best trial", INDEX),
        "search_baseline": Column("Baseline, search seeds", "kpi"),
        "search_best": Column("Best strategy, search seeds", "kpi"),
        "baseline": Column("Baseline, validation seeds", "kpi"),
        "best": Column("Best strategy, validation seeds", "kpi"),
        "gain": Column(
            "Gain (best − baseline)", "kpi", True, True, "Paired by seed.", family="gain"
        ),
        "gain_low": Column("Gain 95% low", "kpi", True, True, family="gain"),
        "gain_high": Column("Gain 95% high", "kpi", True, True, family="gain"),
        "relative_gain": Column("Relative gain", "percent", signed=True),
        "seeds": Column("Validation seeds", INDEX),
    },
    "validation.parquet": {
        "baseline": Column("Baseline", "kpi"),
        "best": Column("Best strategy", "kpi"),
        "gain": Column("Gain (best − baseline)", "kpi", True, True),
    },
    "paths.csv": {
        "conversions": Column(
            "Converted", "count", help="Customers who took the path and converted."
        ),
        "nulls": Column("Did not convert", "count", help="Customers who took it and did not."),
    },
    "mix.parquet": {
        "spend": Column("Ad spend", "money"),
        "impressions": Column("Impressions", "count"),
        "news": Column("Earned exposures (news)", "count"),
        "conversions": Column(
            "Conversions", "count", help="Acquisitions whose last touchpoint was this channel."
        ),
    },
    "truth.parquet": {
        "markov_removal_effect": Column("Markov removal effect", "percent"),
        "true_removal_effect": Column("True removal effect (ads off)", "percent"),
        "true_removal_effect_low": Column("True removal effect, 95% low", "percent"),
        "true_removal_effect_high": Column("True removal effect, 95% high", "percent"),
        "markov_lost": Column("Conversions lost, Markov", "number", family="lost"),
        "true_lost": Column("Conversions lost, truth (ads off)", "number", family="lost"),
        "markov_share": Column("Markov share", "percent"),
        "true_share": Column("True share", "percent"),
        "error": Column(
            "Error of the removal effect (Markov − truth)", "percent", True, True, family="error"
        ),
        "share_error": Column(
            "Error of the share (Markov − truth)", "percent", True, True, family="error"
        ),
    },
    "attribution.parquet": {
        "removal_effect": Column(
            "Removal effect", "percent", help="Share of conversions lost without the channel."
        ),
        "share": Column("Share of conversions", "percent", help="Removal effects normalised."),
        "conversions": Column("Conversions attributed", "number"),
    },
}


def _numbered(column: str, prefix: str, manifest: Mapping) -> tuple[int, str] | None:
    """(j, the constraint's text) of a column ``<prefix>_<j>`` (None: another column)."""
    head, _, tail = column.rpartition("_")
    if head != prefix or not tail.isdigit():
        return None
    texts = list(manifest.get("constraints") or ())
    j = int(tail)
    return j, str(texts[j - 1]) if 0 < j <= len(texts) else ""


def _unregistered(column: str, manifest: Mapping) -> Column:
    """A column no table registers: a summary KPI, a config key, a loss, a constraint..."""
    if column.startswith("loss_"):
        name = metric_info(column.removeprefix("loss_")).label
        return Column(f"Loss: {name}", "number", help=LOSS_HELP)
    for prefix, words, note in (
        ("violation", "Violation of constraint", "how far past its bound (≤ 0: met)"),
        ("constraint", "Left side of constraint", "its value with the best strategy"),
    ):
        numbered = _numbered(column, prefix, manifest)
        if numbered is not None:
            j, text = numbered
            return Column(f"{words} {j}", "number", help=f"{text}: {note}." if text else "")
    if "__" in column:  # a summary KPI <kpi>__<brand>
        return Column(human_name(column), kpi_kind(column), help=f"On the command line: {column}.")
    if "." in column:  # a config key: shown as typed
        return Column(column, "number")
    info = metric_info(column)
    return Column(info.label, info.kind, per=info.per)


def column_info(table: str, column: str, manifest: Mapping) -> Column:
    """How ``column`` of ``table`` reads: its human label with its unit, its kind, its help.

    Args:
        table: the file name (``sensitivity.parquet``...).
        column: the column's name in it.
        manifest: the result's ``analysis.yaml`` (its KPI, its constraints...).
    """
    entry = COLUMNS.get(table, {}).get(column) or SHARED.get(column)
    entry = entry or _unregistered(column, manifest)
    kind = entry.kind
    if kind == "kpi":
        kind = kpi_kind(manifest.get("kpi"))
    elif kind == "fit":
        kind = fit_kind(manifest)
    name = kpi_name(manifest.get("kpi"))
    label = entry.label.replace("{kpi}", name)
    if kind not in (None, INDEX):
        label = with_unit(label, unit(kind, entry.per, entry.delta))
    return replace(entry, label=label, kind=kind, help=entry.help.replace("{kpi}", name))


def column_format(column: Column, values: Sequence) -> ColumnSpec:
    """The display of a numeric column: Compare's formats, decimals from the data.

    Percent kinds are scaled to 0-100 (levels read '30.0%', differences '0.98 pp'),
    money and plain numbers get thousands separators; signs only on ``signed`` columns.
    """
    kind = column.kind or "number"
    scale = 100.0 if kind == "percent" else 1.0
    finite = [float(v) * scale for v in values if not is_missing(v)]
    if kind == INDEX:
        fmt = "%d"
    elif kind == "percent" and not column.delta:
        fmt = "%+.1f%%" if column.signed else "%.1f%%"
    elif kind == "percent":
        fmt = number_format(finite, "number", column.signed) + " pp"
    elif kind == "score":
        fmt = "%+.3f" if column.signed else "%.3f"
    elif kind == "points":
        fmt = "%+.1f"
    elif kind == "count" and not column.delta:
        fmt = number_format(finite, "count", column.signed)
    else:
        fmt = number_format(finite, "number", column.signed)
    return ColumnSpec(column.label, fmt, column.help, scale)


# -- tables ------------------------------------------------------------------------------------
def prepared(result: AnalysisResult, name: str) -> pl.DataFrame:
    """A table as the page shows and draws it (figures and tables use the same numbers).

    Sensitivity indices are ranked, and a Morris interval is clipped at zero (μ* is a
    mean of absolute values): its low end is max(μ* − half-width, 0).
    """
    table = result.tables[name]
    if name == "sensitivity.parquet":
        if "rank" in table.columns:
            table = table.sort("rank")
        if {"mu_star", "mu_star_conf"} <= set(table.columns):
            mu, conf = pl.col("mu_star"), pl.col("mu_star_conf").fill_null(0.0)
            table = table.with_columns(
                pl.max_horizontal(mu - conf, pl.lit(0.0)).alias("mu_star_low"),
                (mu + conf).alias("mu_star_high"),
            )
            order = [c for c in table.columns if c not in ("mu_star_low", "mu_star_high")]
            at = order.index("mu_star_conf") + 1
            table = table.select(order[:at] + ["mu_star_low", "mu_star_high"] + order[at:])
    return table


#: How a path without a touchpoint reads.
NO_TOUCHPOINT = "(no touchpoint)"
#: Columns left out of a table: they say what the heading says already.
HIDDEN = {"sensitivity.parquet": ("kpi", "method")}


def _text(table: str, column: str, series: pl.Series) -> pl.Series:
    """A text column as shown: KPIs and fitted columns by name, an empty path in words."""
    if column == "kpi":
        return series.cast(pl.Utf8).map_elements(kpi_name, return_dtype=pl.Utf8)
    if table == "fit.parquet" and column == "column":
        return series.cast(pl.Utf8).map_elements(
            lambda c: metric_info(c).label, return_dtype=pl.Utf8
        )
    if column == "path":
        return series.cast(pl.Utf8).fill_null("").replace("", NO_TOUCHPOINT)
    return series


@dataclass
class TableView:
    """A result table ready to show.

    Attributes:
        frame: human headers (units included), percent columns scaled to 0-100.
        formats: the ``ColumnSpec`` of each numeric column, by header.
    """

    frame: pl.DataFrame
    formats: dict[str, ColumnSpec]


def table_view(result: AnalysisResult, name: str, limit: int | None = 1000) -> TableView:
    """One of the result's tables with human headers and Compare's number formats.

    A calibration fitting columns of different kinds (a share and a count) shows its
    fitted values as text, each in its own column's unit.
    """
    table = prepared(result, name)
    if limit is not None:
        table = table.head(limit)
    m = result.manifest
    shown = [c for c in table.columns if c not in HIDDEN.get(name, ())]
    infos = {c: column_info(name, c, m) for c in shown}
    pooled: dict[str, list] = {}  # a family's values: one number of decimals for all
    for col, info in infos.items():
        if info.family and table[col].dtype.is_numeric():
            pooled.setdefault(info.family, []).extend(table[col].to_list())
    series: list[pl.Series] = []
    formats: dict[str, ColumnSpec] = {}
    for col in shown:
        info = infos[col]
        label, k = info.label, 2
        while label in formats or any(s.name == label for s in series):
            label, k = f"{info.label} ({k})", k + 1
        info = replace(info, label=label)
        values = table[col]
        numeric = values.dtype.is_numeric() or values.dtype == pl.Null
        if info.kind is not None and numeric:
            spec = column_format(info, pooled.get(info.family) or values.to_list())
            formats[label] = spec
            if spec.scale != 1.0 or values.dtype == pl.Null:
                values = values.cast(pl.Float64) * spec.scale
            series.append(values.alias(label))
        elif name == "fit.parquet" and col in COLUMNS[name] and numeric:
            kinds = [metric_info(str(c)).kind for c in table["column"].to_list()]
            text = [format_value(v, kd) for v, kd in zip(values.to_list(), kinds, strict=True)]
            series.append(pl.Series(label, text, pl.Utf8))
        else:
            series.append(_text(name, col, values).alias(label))
    return TableView(pl.DataFrame(series), formats)


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


def sensitivity_figure(result: AnalysisResult) -> go.Figure:
    """Bars of the indices with their 95% intervals, the most influential parameter first.

    The bars and their error arms are the numbers of the table (``sensitivity_bars``): a
    Morris μ* arm stops at zero. Morris effects of a percent KPI are in percentage points.
    """
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
    best, running, bx = [], None, []
    for a, b, f in zip(x, y, feasible, strict=True):
        if f and (running is None or (b > running if maximise else b < running)):
            running = b
        if running is not None:
            bx.append(a)
            best.append(running)
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


#: The figures of each tool: (the table it needs, the function that draws it).
FIGURES = {
    "calibrate": (("fit.parquet", fit_figure), ("trials.parquet", loss_figure)),
    "sensitivity": (("sensitivity.parquet", sensitivity_figure),),
    "optimise": (("trials.parquet", optimise_figure),),
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
            out.append(draw(result))
        except Exception:  # noqa: BLE001 - a table with unexpected columns
            why = "its table has other columns"
            result.problems.append(f"the {name} chart could not be drawn ({why})")
    return out


# -- headline ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Headline:
    """A headline card: a human label, its value with its unit, and what it means."""

    label: str
    value: str
    help: str = ""


def headline(result: AnalysisResult) -> list[Headline]:
    """A few cards summing the result up, formatted like Compare's."""
    m = result.manifest
    out: list[Headline] = []
    if result.tool == "calibrate":
        out.append(Headline("Best loss", format_value(m.get("loss"), "number"), LOSS_HELP))
        for key, value in (m.get("best") or {}).items():
            out.append(Headline(str(key), format_value(value, "number"), "Best fit."))
    elif result.tool == "sensitivity":
        table = result.tables.get("sensitivity.parquet")
        if table is not None and table.height and "rank" in table.columns:
            top = table.sort("rank").row(0, named=True)
            out.append(Headline("Moves it most", str(top["param"]), "Rank 1 of the indices."))
        out.append(Headline("Runs", format_value(m.get("samples"), "count"), "Parameter sets run."))
    elif result.tool == "optimise":
        gain = m.get("gain")
        kind = kpi_kind(m.get("kpi"))
        if gain:
            name = kpi_name(gain.get("kpi", m.get("kpi")))
            out.append(
                Headline(
                    f"Gain in {name}",
                    format_delta(gain.get("gain"), gain.get("gain_low"), gain.get("gain_high"),
                                 kind),
                    "Best strategy minus baseline on fresh validation seeds, paired by "
                    "seed, ± the 95% interval's half-width; n.s.: the interval includes zero.",
                )
            )  # fmt: skip
            out.append(
                Headline("Baseline", format_value(gain.get("baseline"), kind), "Validation seeds.")
            )
            out.append(
                Headline("Best strategy", format_value(gain.get("best"), kind), "Validation seeds.")
            )
        else:
            out.append(Headline("Best strategy", "none met the constraints"))
    elif result.tool == "journeys":
        out.append(Headline("Customers traced", format_value(m.get("traced", 0), "count")))
        out.append(Headline("Converted", format_value(m.get("conversions", 0), "count")))
        out.append(Headline("Distinct paths", format_value(m.get("distinct_paths", 0), "count")))
    else:
        out.append(Headline("Conversions", format_value(m.get("conversions", 0), "count")))
        if m.get("truth"):
            error = format_value(m.get("mean_absolute_error"), "percent", delta=True)
            out.append(
                Headline(
                    "Mean |error| of removal effects",
                    error.lstrip("+"),
                    "Markov minus the truth, in percentage points, averaged over channels.",
                )
            )
    return out
