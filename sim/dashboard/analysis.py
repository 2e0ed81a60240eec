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
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl
import yaml

from sim.analysis.options import MANIFEST, TOOLS
from sim.dashboard.format import (
    ColumnSpec,
    format_delta,
    format_value,
    human_name,
    is_missing,
    kpi_info,
    metric_info,
    number_format,
    unit,
    with_unit,
)
from sim.dashboard.paths import resolve_under

#: The tables each tool writes, in the order the page shows them.
TABLES = {
    "calibrate": ("intervals.parquet", "fit.parquet", "trials.parquet"),
    "sensitivity": ("sensitivity.parquet", "interactions.parquet", "samples.parquet"),
    "optimise": (
        "gain.parquet",
        "marginal.parquet",
        "validation.parquet",
        "trials.parquet",
        "curves.parquet",
    ),
    "journeys": ("paths.csv", "mix.parquet"),
    "attribute": ("truth.parquet", "attribution.parquet", "paths.csv"),
}
#: Text files shown as they are.
TEXTS = ("best.yaml", "space.yaml")
TITLES = {
    "intervals.parquet": "What the data support, per key (intervals.parquet)",
    "fit.parquet": "Observed vs simulated (fit.parquet)",
    "trials.parquet": "Trials (trials.parquet)",
    "sensitivity.parquet": "Indices, ranked (sensitivity.parquet)",
    "interactions.parquet": "Pairs of keys, largest interaction first (interactions.parquet)",
    "samples.parquet": "Samples and their KPI (samples.parquet)",
    "gain.parquet": "Gain over the baseline on validation seeds (gain.parquet)",
    "validation.parquet": "Paired validation runs (validation.parquet)",
    "marginal.parquet": "Returns on each channel's ad spend at the best strategy "
    "(marginal.parquet)",
    "curves.parquet": "Response curves: each channel's spend moved alone (curves.parquet)",
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
            kpis = result_kpis(self)
            if len(kpis) <= 1:
                return f"Sensitivity of {kpi_name(m.get('kpi'))} ({method})"
            if len(kpis) > 3:
                return f"Sensitivity of {len(kpis)} KPIs ({method})"
            return f"Sensitivity of {'; '.join(kpi_name(k) for k in kpis)} ({method})"
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
    curves = {"marginal.parquet", "curves.parquet"}  # only when channels' spend was searched
    if tool == "optimise" and manifest.get("best") is None:  # no strategy met the constraints
        return {"gain.parquet", "validation.parquet"} | curves
    if tool == "optimise":
        return curves
    if tool == "calibrate" and "loss_noise" not in manifest:  # written before the intervals
        return {"intervals.parquet"}
    if tool == "sensitivity" and not manifest.get("second_order"):  # pairs only when asked
        return {"interactions.parquet"}
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


def manifest_kpis(manifest: Mapping) -> list[str]:
    """The KPIs a result's manifest names: ``kpis`` (sensitivity of many), else ``kpi``."""
    kpis = manifest.get("kpis")
    if isinstance(kpis, list) and kpis:
        return [str(k) for k in kpis]
    return [str(manifest["kpi"])] if manifest.get("kpi") else []


def result_kpis(result: AnalysisResult) -> list[str]:
    """The KPIs of a result, in order: its manifest's, else those of its indices' table."""
    kpis = manifest_kpis(result.manifest)
    table = result.tables.get("sensitivity.parquet")
    if not kpis and table is not None and "kpi" in table.columns:
        kpis = [str(k) for k in table["kpi"].unique(maintain_order=True).to_list()]
    return kpis


#: Tables with a row per KPI (a ``kpi`` column) when a sensitivity study has several.
PER_KPI = ("sensitivity.parquet", "interactions.parquet")


def for_kpi(result: AnalysisResult, kpi: str) -> AnalysisResult:
    """A sensitivity result of several KPIs cut to one: what it would be for that KPI alone.

    The tables keep that KPI's rows (the samples its column), the manifest names it only;
    problems found while drawing are still the whole result's.
    """
    others = [k for k in [*result_kpis(result), *(result.manifest.get("skipped") or {})]
              if k != kpi]  # fmt: skip
    tables = {}
    for name, table in result.tables.items():
        if name in PER_KPI and "kpi" in table.columns:
            table = table.filter(pl.col("kpi") == kpi)
        elif name == "samples.parquet":
            table = table.drop([c for c in others if c in table.columns])
        tables[name] = table
    manifest = {**result.manifest, "kpi": kpi, "kpis": [kpi]}
    manifest.pop("skipped", None)
    return replace(result, manifest=manifest, tables=tables)


def _kpi_kind_of(manifest: Mapping) -> str | None:
    """The kind of a result's KPI values: that of its KPIs, None when they differ."""
    kinds = {kpi_kind(k) for k in manifest_kpis(manifest)} or {kpi_kind(None)}
    return kinds.pop() if len(kinds) == 1 else None


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
EQUITY_HELP = (
    "Customers won net over the run, valued at a customer's projected CLV at its end: what "
    "a change does to the customer base beyond the run's profit."
)
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
    "interactions.parquet": {
        "param_a": Column("Key"),
        "param_b": Column("With key"),
        "S2": Column(
            "S2 (pair)",
            INDEX,
            help="Share of the KPI's variance due to the pair together, beyond each alone.",
            family="S2",
        ),
        "S2_conf": Column("S2 95% half-width", INDEX, family="S2"),
        "S2_low": Column("S2 95% low", INDEX, family="S2"),
        "S2_high": Column("S2 95% high", INDEX, family="S2"),
    },
    "intervals.parquet": {
        "best": Column("Best", "number"),
        "mean": Column("Mean within noise", "number"),
        "sd": Column("Sd within noise", "number"),
        "min": Column(
            "Lowest within noise",
            "number",
            help="The lowest value among the trials the data cannot tell from the best.",
        ),
        "max": Column("Highest within noise", "number"),
        "span": Column(
            "Span of its range",
            "percent",
            help="Highest - lowest within noise, as a share of the key's range.",
        ),
        "identified": Column("Identified", help="Whether the data pin the key down."),
        "top": Column("Trials within noise", "count"),
    },
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
        "customers_change": Column("Change in customers", "count", True, True, family="cust"),
        "customers_change_low": Column("Customers 95% low", "count", True, True, family="cust"),
        "customers_change_high": Column("Customers 95% high", "count", True, True, family="cust"),
        "equity_change": Column(
            "Change in customer equity", "money", True, True, EQUITY_HELP, family="equity"
        ),
        "equity_change_low": Column("Equity 95% low", "money", True, True, family="equity"),
        "equity_change_high": Column("Equity 95% high", "money", True, True, family="equity"),
        "ad_spend_change": Column("Change in ad spend", "money", True, True, family="spend"),
        "ad_spend_change_low": Column("Ad spend 95% low", "money", True, True, family="spend"),
        "ad_spend_change_high": Column("Ad spend 95% high", "money", True, True, family="spend"),
    },
    "validation.parquet": {
        "baseline": Column("Baseline", "kpi"),
        "best": Column("Best strategy", "kpi"),
        "gain": Column("Gain (best − baseline)", "kpi", True, True),
        "customers_change": Column("Change in customers", "count", True, True),
        "equity_change": Column("Change in customer equity", "money", True, True, EQUITY_HELP),
        "ad_spend_change": Column("Change in ad spend", "money", True, True),
    },
    "marginal.parquet": {
        "spend_per_year": Column("Spend a year", "money"),
        "spend": Column("Spend over the run", "money"),
        **{
            f"{name}{part}": Column(f"{label}{suffix}", "number", help=text, family=name)
            for name, label, text in (
                ("average_roas", "Average ROAS", "Revenue each unit of spend brought."),
                ("marginal_roas", "Marginal ROAS", "Revenue the next unit of spend brings."),
                ("marginal_kpi", "Marginal {kpi}", "The KPI per next unit of spend."),
                ("marginal_value", "Marginal profit + equity", "Per next unit of spend."),
            )
            for part, suffix in (("", ""), ("_low", ", 95% low"), ("_high", ", 95% high"))
        },
    },
    "curves.parquet": {
        "multiplier": Column("× best spend", "number"),
        "spend_per_year": Column("Spend a year", "money"),
        "spend": Column("Spend over the run", "money"),
        "kpi": Column("{kpi}", "kpi"),
        "revenue": Column("Revenue", "money"),
        "profit": Column("Profit", "money"),
        "customers": Column("Customers at end", "count"),
        "value": Column("Profit + equity change", "money"),
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
        "conversions": Column("Conversions, Markov", "number"),
        "first_touch": Column("Conversions, first touch", "number"),
        "last_touch": Column("Conversions, last touch", "number"),
        "linear": Column("Conversions, linear", "number"),
        "time_decay": Column(
            "Conversions, time decay",
            "number",
            help="A touch's weight halves with each touch before the last.",
        ),
        "position_based": Column(
            "Conversions, position based",
            "number",
            help="40% to the first touch, 40% to the last, 20% between.",
        ),
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
        kind = _kpi_kind_of(manifest)
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
        if "rank" in table.columns and "kpi" in table.columns:
            order = {k: j for j, k in enumerate(table["kpi"].unique(maintain_order=True))}
            by_kpi = pl.col("kpi").replace_strict(order, return_dtype=pl.Int64)
            table = table.sort(by_kpi, "rank", maintain_order=True)
        elif "rank" in table.columns:
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
HIDDEN = {"sensitivity.parquet": ("kpi", "method"), "interactions.parquet": ("kpi",)}


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


def _registered_kind(table: str, column: str) -> str | None:
    """The kind a table registers for a column, before it is resolved (``"kpi"``...)."""
    entry = COLUMNS.get(table, {}).get(column) or SHARED.get(column)
    return entry.kind if entry is not None else None


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
    hidden = HIDDEN.get(name, ())
    several = name in PER_KPI and "kpi" in table.columns and len(result_kpis(result)) > 1
    if several:  # which KPI each row is of: shown, first
        hidden = tuple(c for c in hidden if c != "kpi")
    shown = [c for c in table.columns if c not in hidden]
    if several:
        shown = ["kpi", *(c for c in shown if c != "kpi")]
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
        elif numeric and info.kind is None and _registered_kind(name, col) == "kpi":
            # KPIs of different kinds (a share and money): each value in its own KPI's unit
            kinds = [kpi_kind(k) for k in table["kpi"].to_list()]
            text = [format_value(v, kd, delta=info.delta) for v, kd in
                    zip(values.to_list(), kinds, strict=True)]  # fmt: skip
            if not info.signed:
                text = [t.removeprefix("+") for t in text]
            series.append(pl.Series(label, text, pl.Utf8))
        elif name == "fit.parquet" and col in COLUMNS[name] and numeric:
            kinds = [metric_info(str(c)).kind for c in table["column"].to_list()]
            text = [format_value(v, kd) for v, kd in zip(values.to_list(), kinds, strict=True)]
            series.append(pl.Series(label, text, pl.Utf8))
        else:
            series.append(_text(name, col, values).alias(label))
    return TableView(pl.DataFrame(series), formats)


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
        kpis = result_kpis(result)
        if len(kpis) > 3:
            why = "KPIs whose indices were computed from the same runs."
            out.append(Headline("KPIs", format_value(len(kpis), "count"), why))
        elif table is not None and table.height and "rank" in table.columns:
            for kpi in kpis if len(kpis) > 1 else [None]:
                part = table if kpi is None else for_kpi(result, kpi).tables["sensitivity.parquet"]
                if not part.height:
                    continue
                top = part.sort("rank").row(0, named=True)
                label = "Moves it most" if kpi is None else f"Moves {kpi_name(kpi)} most"
                out.append(Headline(label, str(top["param"]), "Rank 1 of the indices."))
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
            if gain.get("equity_change") is not None:
                out.append(
                    Headline(
                        "Change in customer equity",
                        format_delta(gain.get("equity_change"), gain.get("equity_change_low"),
                                     gain.get("equity_change_high"), "money"),
                        EQUITY_HELP,
                    )
                )  # fmt: skip
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
