"""Pure functions behind the app's analyst-tools page: find, read and draw a tool's results.

A result folder is one written by ``journeysim calibrate``, ``sensitivity``, ``optimise``,
``journeys`` or ``attribute``: it holds ``analysis.yaml`` (the tool and the command that
reproduces it) beside its tables. Only folders under the results root are opened (symlinks
out of it are refused), and a missing, partial or corrupt file gives a message, not a crash.
The figures are those the command line saved, rebuilt from the tables by ``sim.analysis.plots``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import yaml

from sim.analysis import plots
from sim.analysis.options import MANIFEST, TOOLS
from sim.dashboard import resolve_under

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
        """A heading for the result."""
        m = self.manifest
        if self.tool == "calibrate":
            return f"Calibration: best loss {m.get('loss', float('nan')):.4g}"
        if self.tool == "sensitivity":
            return f"Sensitivity of {m.get('kpi')} ({m.get('method')})"
        if self.tool == "optimise":
            return f"Optimisation of {m.get('kpi')} ({m.get('direction', 'maximise')})"
        if self.tool == "journeys":
            return f"Journeys: {m.get('traced', 0):,} customers traced"
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
        except Exception as exc:  # noqa: BLE001 - a corrupt or partial file
            result.problems.append(f"{name}: cannot be read ({type(exc).__name__})")
    for name in TEXTS:
        path = folder / name
        if path.is_file():
            try:
                resolve_under(root, path)
                result.texts[name] = path.read_text()
            except (ValueError, OSError, UnicodeDecodeError):
                result.problems.append(f"{name}: cannot be read")
    return result


def figures(result: AnalysisResult) -> list[go.Figure]:
    """The tool's figures, rebuilt from its tables (those that could be read)."""
    t, m = result.tables, result.manifest
    out: list[go.Figure] = []
    try:
        if result.tool == "calibrate":
            if "fit.parquet" in t:
                out.append(plots.fit_figure(t["fit.parquet"]))
            if "trials.parquet" in t:
                out.append(plots.loss_figure(t["trials.parquet"], "loss", "Trials: loss"))
        elif result.tool == "sensitivity" and "sensitivity.parquet" in t:
            out.append(
                plots.sensitivity_figure(
                    t["sensitivity.parquet"], str(m.get("kpi")), str(m.get("method"))
                )
            )
        elif result.tool == "optimise" and "trials.parquet" in t:
            gain = m.get("gain") or {}
            out.append(
                plots.optimise_figure(
                    t["trials.parquet"],
                    str(m.get("kpi")),
                    gain.get("search_baseline"),
                    m.get("direction", "maximise") == "maximise",
                )
            )
        elif result.tool == "journeys":
            if "paths.csv" in t:
                out.append(plots.paths_figure(t["paths.csv"]))
            if "mix.parquet" in t:
                out.append(plots.mix_figure(t["mix.parquet"]))
        elif result.tool == "attribute":
            if "truth.parquet" in t:
                out.append(plots.truth_figure(t["truth.parquet"]))
            if "attribution.parquet" in t:
                out.append(plots.attribution_figure(t["attribution.parquet"]))
    except Exception as exc:  # noqa: BLE001 - a table with unexpected columns
        result.problems.append(f"a figure could not be drawn ({type(exc).__name__}: {exc})")
    return out


def headline(result: AnalysisResult) -> list[tuple[str, str]]:
    """A few (label, value) pairs summing the result up."""
    m = result.manifest
    out: list[tuple[str, str]] = []
    if result.tool == "calibrate":
        out.append(("best loss", f"{m.get('loss', float('nan')):.4g}"))
        for key, value in (m.get("best") or {}).items():
            out.append((key, f"{value:.4g}"))
    elif result.tool == "sensitivity":
        table = result.tables.get("sensitivity.parquet")
        if table is not None and table.height:
            top = table.sort("rank").row(0, named=True)
            out.append(("moves it most", str(top["param"])))
        out.append(("samples", str(m.get("samples", "-"))))
    elif result.tool == "optimise":
        gain = m.get("gain")
        if gain:
            lo, hi = gain.get("gain_low"), gain.get("gain_high")
            ci = f" [{lo:+.4g}, {hi:+.4g}]" if lo is not None and hi is not None else ""
            out.append((f"gain in {gain['kpi']}", f"{gain['gain']:+.4g}{ci}"))
            out.append(("baseline", f"{gain['baseline']:.4g}"))
            out.append(("best", f"{gain['best']:.4g}"))
        else:
            out.append(("best strategy", "none met the constraints"))
    elif result.tool == "journeys":
        out.append(("customers traced", f"{m.get('traced', 0):,}"))
        out.append(("converted", f"{m.get('conversions', 0):,}"))
        out.append(("distinct paths", f"{m.get('distinct_paths', 0):,}"))
    else:
        out.append(("conversions", f"{m.get('conversions', 0):,}"))
        if m.get("truth"):
            out.append(("mean |error| of removal effects", f"{m.get('mean_absolute_error'):.3f}"))
    return out
