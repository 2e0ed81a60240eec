"""Sweep summaries and reports: one row per run, then means and paired differences.

``summary.parquet`` (written at the end of every multirun by ``sim.sweeps.callbacks``) has one
row per run: ``run`` (its folder), ``status``, a column per swept key (always
``scenario`` and ``seed``), and per brand the KPIs in ``SUMMARY_KPIS`` named
``<kpi>__<brand>``.

``journeysim report SWEEP_DIR`` turns it into, per scenario and KPI, the mean over
replicates with a 95% t-interval, and the paired difference against the baseline
scenario (runs matched on every other swept key, e.g. the seed: common random numbers
make these differences sharp) with its own interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from sim.engine.kpi import brand_kpis
from sim.sweeps.io import check_complete, remove_stray_temporaries, write_parquet, write_text

SUMMARY_FILE = "summary.parquet"
REPORT_FILES = ("report.parquet", "report.csv")
#: KPIs per brand in the summary: final customers and share, retention, churn, money, NPS.
SUMMARY_KPIS = (
    "customers", "share", "retention", "churned", "churn_rate", "annual_churn", "acquired",
    "revenue", "profit", "clv", "profit_per_customer", "nps", "cac", "cost_to_keep",
    "marketing_share", "wom_share",
)  # fmt: skip


class ReportError(Exception):
    """A sweep folder or summary that cannot be reported on (message for the user)."""


def _parse_value(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def run_overrides(run_dir: Path) -> dict[str, object]:
    """The task overrides of one run (``.hydra/overrides.yaml``) as {key: value}."""
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    out = {}
    for line in yaml.safe_load(path.read_text()) or []:
        key, _, value = str(line).partition("=")
        out[key.lstrip("+~")] = _parse_value(value)
    return out


#: Joins a brand and a segment in a summary's KPI column: ``<kpi>__<brand>@<segment>``.
SEGMENT_SEP = "@"
#: Joins a brand and a region in a summary's KPI column: ``<kpi>__<brand>#<region>``.
REGION_SEP = "#"
#: The separator of each breakdown of ``report(..., by=...)``.
BY_SEP = {"segment": SEGMENT_SEP, "region": REGION_SEP}


def run_kpis(metrics: pl.DataFrame, steps_per_year: float = 365.0) -> dict[str, float | None]:
    """The KPIs of one run as {"<kpi>__<brand>": value} (definitions in ``sim.engine.kpi``).

    A segmented metrics file (a ``segment`` column) adds each segment's KPIs, computed the same
    way on its rows, as ``<kpi>__<brand>@<segment>`` (share: of the segment's customers); a
    regional one (a ``region`` column) each region's, as ``<kpi>__<brand>#<region>``.
    """
    from sim.engine.segment_spec import ALL_SEGMENTS

    names = {"customers": "customers_end", "share": "share_end", "nps": "nps_end"}
    out: dict[str, float | None] = {}
    parts = [("", metrics)]
    for column, sep in BY_SEP.items():
        if column in metrics.columns:
            parts += [
                (f"{sep}{name}", metrics.filter(pl.col(column) == name).drop(column))
                for name in metrics[column].unique(maintain_order=True).to_list()
                if name != ALL_SEGMENTS
            ]
    for suffix, rows in parts:
        for row in brand_kpis(rows, steps_per_year).iter_rows(named=True):
            for kpi in SUMMARY_KPIS:
                value = row[names.get(kpi, kpi)]
                out[f"{kpi}__{row['brand']}{suffix}"] = None if value is None else float(value)
    return out


def collect_runs(sweep_dir: str | Path, since: float | None = None) -> pl.DataFrame:
    """One row per run folder of a sweep (complete or not).

    A run is ``complete`` only if its files are all there, unchanged since they were
    written, and readable; otherwise it is ``incomplete`` and ``problem`` says why, naming
    the bad file. ``scenario`` is the scenario that ran: the name an override gives it
    (``++scenario.name=levers``), else the swept value when the sweep sets ``scenario=...``,
    else the run's ``scenario.name``. With ``since`` (a time
    stamp), only folders whose run was launched after it count.
    """
    sweep_dir = Path(sweep_dir)
    rows = []
    try:
        folders = sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
    except OSError as exc:
        raise ReportError(f"{sweep_dir}: cannot be read ({exc.strerror or exc})") from None
    if since is not None:
        launched = [p for p in folders if (p / ".hydra" / "overrides.yaml").is_file()]
        folders = [
            p for p in launched if (p / ".hydra" / "overrides.yaml").stat().st_mtime >= since
        ]
    for run_dir in folders:
        row: dict[str, object] = {"run": run_dir.name}
        try:
            row.update(run_overrides(run_dir))
        except (OSError, yaml.YAMLError):
            pass
        if "scenario.name" in row:  # a variant named on the command line (journeysim compare)
            row["scenario"] = str(row.pop("scenario.name"))
        remove_stray_temporaries(run_dir)
        problem = check_complete(run_dir)
        if problem is None:
            try:
                cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
                row.setdefault("scenario", cfg["scenario"]["name"])
                row.setdefault("seed", cfg["seed"])
                per_year = float((cfg.get("sim") or {}).get("steps_per_year", 365.0))
                row.update(run_kpis(pl.read_parquet(run_dir / "metrics.parquet"), per_year))
            except Exception:  # noqa: BLE001 - any unreadable file makes the run incomplete
                problem = f"{run_dir / 'metrics.parquet'}: cannot be read (damaged or incomplete)"
        row["status"] = "complete" if problem is None else "incomplete"
        row["problem"] = problem
        rows.append(row)
    if not rows:
        return pl.DataFrame()
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    columns = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if key in ("run", "status", "problem", "scenario"):
            columns[key] = pl.Series(key, [None if v is None else str(v) for v in values],
                                     dtype=pl.Utf8)  # fmt: skip
        elif kinds <= {int} or kinds <= {int, float}:
            columns[key] = pl.Series(key, values, dtype=pl.Float64 if float in kinds else pl.Int64)
        else:
            columns[key] = pl.Series(key, [None if v is None else str(v) for v in values])
    front = ["run", "status", "scenario", "seed"]
    order = [k for k in front if k in columns] + [k for k in keys if k not in front]
    order = [k for k in order if k != "problem"] + ["problem"]
    return pl.DataFrame([columns[k] for k in order])


def write_summary(sweep_dir: str | Path, since: float | None = None) -> pl.DataFrame:
    """Collect a sweep's runs (launched after ``since``) and write ``summary.parquet``."""
    frame = collect_runs(sweep_dir, since)
    if frame.height:
        write_parquet(frame, Path(sweep_dir) / SUMMARY_FILE)
    return frame


def is_kpi_column(summary: pl.DataFrame, column: str) -> bool:
    """Whether a summary column is a KPI: ``<kpi>__<brand>``, kpi in ``SUMMARY_KPIS``, numbers.

    Not any name with ``__``: a swept key such as ``brands.a__b.price`` (a brand ``a__b``)
    holds one too.
    """
    kpi, sep, brand = column.partition("__")
    dtype = summary.schema[column]
    return bool(sep and brand and kpi in SUMMARY_KPIS and (dtype.is_numeric() or dtype == pl.Null))


def kpi_columns(summary: pl.DataFrame) -> list[str]:
    """The ``<kpi>__<brand>`` columns of a summary (``is_kpi_column``)."""
    return [c for c in summary.columns if is_kpi_column(summary, c)]


def swept_keys(summary: pl.DataFrame) -> list[str]:
    """The swept-key columns of a summary (everything but run, status, problem and KPIs)."""
    return [c for c in summary.columns
            if c not in ("run", "status", "problem") and not is_kpi_column(summary, c)]  # fmt: skip


def duplicate_runs(summary: pl.DataFrame) -> list[tuple[str, str]]:
    """(run, the run it repeats) of runs with the same overrides and seed as an earlier run.

    The simulation is deterministic given its config and seed: a repeat (``scenario=a,a``)
    is the same run again, not another replicate. Complete runs come first, so a repeat
    that failed never hides the one that finished.
    """
    keys = swept_keys(summary)
    if "run" not in summary.columns or not keys:
        return []
    complete = (pl.col("status") == "complete") if "status" in summary.columns else pl.lit(True)
    ordered = summary.with_columns(complete.alias("__complete")).sort(
        "__complete", descending=True, maintain_order=True
    )
    seen: dict[tuple, str] = {}
    repeats = []
    for row in ordered.select("run", *keys).iter_rows():
        signature = tuple(repr(v) for v in row[1:])
        if signature in seen:
            repeats.append((str(row[0]), seen[signature]))
        else:
            seen[signature] = str(row[0])
    return repeats


def drop_duplicate_runs(summary: pl.DataFrame) -> pl.DataFrame:
    """The summary without the runs that repeat another (``duplicate_runs``): each counts once."""
    repeats = [run for run, _ in duplicate_runs(summary)]
    return summary.filter(~pl.col("run").cast(pl.Utf8).is_in(repeats)) if repeats else summary


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of the mean: xbar -/+ t_{(1+level)/2, n-1} s / sqrt(n)."""
    from scipy import stats

    x = values[~np.isnan(values)]
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


#: The unit of common random numbers: runs that share a seed share random numbers, whatever
#: else differs between them (scenario, network, a swept key), so paired differences are
#: independent across seeds only.
PAIRING_UNIT = "seed"


def paired_difference(
    runs: pl.DataFrame,
    reference: pl.DataFrame,
    column: str,
    on: Sequence[str],
    level: float = 0.95,
) -> dict:
    """Mean paired difference ``runs - reference`` of ``column`` with its t-interval, by seed.

    Runs pair with the reference run of the same values of ``on`` (the seed and every other
    swept key, common random numbers). When ``on`` holds more than the seed, the differences
    of one seed (say, over scenarios) are averaged first: they share that seed's random
    numbers and are not independent, so the interval is a t-interval over seeds, and
    ``averaged_over`` names the keys averaged. Without a seed column every pair is a unit.

    Returns:
        {"diff", "low", "high", "pairs" (units: seeds, or pairs), "runs" (paired runs),
        "averaged_over"}; NaN where there is no pair (the interval needs two units).
    """
    on = list(on)
    empty = {"diff": math.nan, "low": math.nan, "high": math.nan, "pairs": 0, "runs": 0,
             "averaged_over": []}  # fmt: skip
    if not on or runs.height == 0 or reference.height == 0:
        return empty
    ref = reference.select(*on, pl.col(column).alias("__reference"))
    paired = runs.select(*on, column).join(ref, on=on, how="inner", nulls_equal=True)
    paired = paired.with_columns(
        (pl.col(column).cast(pl.Float64) - pl.col("__reference").cast(pl.Float64))
        .fill_nan(None)
        .alias("__diff")
    ).filter(pl.col("__diff").is_not_null())
    if paired.height == 0:
        return empty
    averaged = [k for k in on if k != PAIRING_UNIT and paired[k].n_unique() > 1]
    if PAIRING_UNIT in on and averaged:
        units = paired.group_by(PAIRING_UNIT).agg(pl.col("__diff").mean())["__diff"]
    else:
        units, averaged = paired["__diff"], []
    diff, low, high = t_interval(units.to_numpy().astype(np.float64), level)
    return {"diff": diff, "low": low, "high": high, "pairs": units.len(), "runs": paired.height,
            "averaged_over": averaged}  # fmt: skip


def load_summary(sweep_dir: str | Path) -> pl.DataFrame:
    """Read a sweep's summary (building it from the run folders if it is missing)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ReportError(f"{sweep_dir}: no such sweep folder")
    path = sweep_dir / SUMMARY_FILE
    try:
        summary = pl.read_parquet(path) if path.is_file() else collect_runs(sweep_dir)
    except Exception:  # a corrupt or partial parquet file
        raise ReportError(f"{path}: cannot be read (not a parquet file, or damaged)") from None
    if summary.height == 0 or "status" not in summary.columns:
        raise ReportError(f"{sweep_dir}: holds no runs (is it a multirun sweep folder?)")
    return summary


def bad_runs(summary: pl.DataFrame) -> list[tuple[str, str]]:
    """(run, problem) of runs whose results exist but cannot be trusted (corrupt, unreadable)."""
    if "problem" not in summary.columns:
        return []
    bad = summary.filter(
        pl.col("problem").is_not_null() & ~pl.col("problem").str.starts_with("not finished")
    )
    return [(str(r), str(p)) for r, p in bad.select("run", "problem").iter_rows()]


def report(
    summary: pl.DataFrame,
    baseline: str = "baseline",
    level: float = 0.95,
    reference: Mapping[str, object] | None = None,
    by: str | None = None,
) -> pl.DataFrame:
    """Per setting and KPI column: the mean and the paired difference against a reference.

    A setting is a scenario with the values of every other swept key but the seed (e.g.
    a price on a grid); its replicates are the seeds. Each mean comes with its t-interval;
    the difference pairs a run with the reference's run of the same seed (common random
    numbers) and, for keys the reference leaves free, the same values, with its own
    t-interval over seeds (``paired_difference``).

    The reference: the settings matching ``reference`` (key -> value, e.g.
    ``{"brands.incumbent.price": 1.0}``); else, when several scenarios ran, the baseline
    scenario (each setting pairs with the baseline at the same values of the other keys);
    else (a grid over one scenario) the first setting.

    Columns: the setting's keys, kpi, brand, runs (complete), incomplete (runs of the
    setting that did not finish or cannot be read), reference (True for the reference's
    rows), mean, ci_low, ci_high, pairs, diff, diff_low, diff_high. A setting whose runs
    all failed keeps its rows, with no values and its count of incomplete runs.

    ``by="segment"``: the KPIs of each segment of a segmented market instead of the brands'
    totals, with a ``segment`` column after ``brand`` (``run_kpis``); ``by="region"`` the
    same for each region of a regional market (a ``region`` column).

    Runs that repeat another's overrides and seed count once (``drop_duplicate_runs``).

    Raises:
        ReportError: no complete run, no baseline among several scenarios, or a
            reference that names an unknown key or matches no complete run.
    """
    summary = drop_duplicate_runs(summary)
    done = summary.filter(pl.col("status") == "complete")
    if done.height == 0:
        raise ReportError("no complete runs to report on")
    kpis = [c for c in kpi_columns(done) if _breakdown(c) == by]
    if by == "segment" and not kpis:
        raise ReportError("--by segment: these runs have one segment (run a segmented market, "
                          "e.g. segments=example)")  # fmt: skip
    if by == "region" and not kpis:
        raise ReportError("--by region: these runs have one region (run a regional market, "
                          "e.g. regions=example)")  # fmt: skip
    # Keys given on the command line but constant across runs name no setting.
    swept = [k for k in swept_keys(done) if k in ("scenario", "seed") or done[k].n_unique() > 1]
    # A key with one value per scenario is part of that scenario (the what-if's changes of
    # ``journeysim compare``): not a setting, and runs pair across it.
    swept = [k for k in swept if k in ("scenario", "seed") or not _set_by_scenario(done, k)]
    setting_keys = ["scenario"] + [k for k in swept if k not in ("scenario", "seed")]
    chosen = _reference(done, setting_keys, baseline, reference)
    pair_keys = [k for k in swept if k != "scenario" and k not in chosen]
    mask = [all(same_value(row[k], v) for k, v in chosen.items())
            for row in done.select(list(chosen)).iter_rows(named=True)]  # fmt: skip
    base = done.filter(pl.Series(mask, dtype=pl.Boolean))
    if base.height == 0:
        wanted = ", ".join(f"{k}={v}" for k, v in chosen.items())
        raise ReportError(f"the reference ({wanted}) has no complete runs")
    failed = _incomplete_counts(summary, setting_keys)
    rows = []
    for setting, runs in done.group_by(setting_keys, maintain_order=True):
        values = dict(zip(setting_keys, setting, strict=True))
        is_base = all(same_value(values[k], v) for k, v in chosen.items())
        bad = failed.pop(tuple(str(values[k]) for k in setting_keys), (None, 0))[1]
        for col in kpis:
            kpi, brand, where = _kpi_parts(col, by)
            mean, lo, hi = t_interval(runs[col].cast(pl.Float64).fill_null(np.nan).to_numpy())
            d = dlo = dhi = None
            n_pairs = 0
            if is_base:
                d = dlo = dhi = None if np.isnan(mean) else 0.0  # a brand it does not have
            elif pair_keys:
                got = paired_difference(runs, base, col, pair_keys, level)
                if got["pairs"]:
                    d, dlo, dhi, n_pairs = got["diff"], got["low"], got["high"], got["pairs"]
            rows.append({
                **values, "kpi": kpi, "brand": brand, **where, "runs": runs.height,
                "incomplete": bad,
                "reference": is_base, "mean": mean, "ci_low": lo, "ci_high": hi,
                "pairs": n_pairs, "diff": d, "diff_low": dlo, "diff_high": dhi,
            })  # fmt: skip
    for setting, bad in failed.values():  # every run of the setting failed: still counted
        values = dict(zip(setting_keys, setting, strict=True))
        for col in kpis:
            kpi, brand, where = _kpi_parts(col, by)
            rows.append({
                **values, "kpi": kpi, "brand": brand, **where, "runs": 0, "incomplete": bad,
                "reference": False, "mean": None, "ci_low": None, "ci_high": None,
                "pairs": 0, "diff": None, "diff_low": None, "diff_high": None,
            })  # fmt: skip
    table = pl.DataFrame(rows, infer_schema_length=None)
    return table.with_columns(pl.col(pl.Float64).fill_nan(None))


def _kpi_parts(col: str, by: str | None) -> tuple[str, str, dict[str, str]]:
    """(kpi, brand, {"segment" or "region": name} when reporting by one) of a KPI column."""
    kpi, _, brand = col.partition("__")
    if by is None:
        return kpi, brand, {}
    brand, _, name = brand.rpartition(BY_SEP[by])
    return kpi, brand, {by: name}


def _breakdown(col: str) -> str | None:
    """What a summary KPI column is about: "segment", "region" or None (a brand's total)."""
    brand = col.partition("__")[2]
    for by, sep in BY_SEP.items():
        if sep in brand:
            return by
    return None


def _reference(
    done: pl.DataFrame, setting_keys: list[str], baseline: str, given: Mapping | None
) -> dict[str, object]:
    """The reference setting as {key: value} (see ``report``)."""
    if given:
        unknown = [k for k in given if k not in setting_keys]
        if unknown:
            swept = ", ".join(setting_keys)
            raise ReportError(f"reference {unknown[0]}: not a swept key (swept: {swept})")
        return dict(given)
    scenarios = done["scenario"].unique(maintain_order=True).to_list()
    if len(scenarios) > 1 or len(setting_keys) == 1:
        if baseline not in scenarios:
            names = ", ".join(str(x) for x in scenarios)
            raise ReportError(
                f"baseline scenario {baseline!r} has no complete runs (scenarios: {names})"
            )
        return {"scenario": baseline}
    first = done.select(setting_keys).row(0, named=True)  # a grid over one scenario
    return first


def same_value(a: object, b: object) -> bool:
    """Whether two setting values are the same: as numbers if both are (1 and 1.0), else as text."""
    try:
        return float(a) == float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == str(b)


def _incomplete_counts(
    summary: pl.DataFrame, setting_keys: list[str]
) -> dict[tuple, tuple[tuple, int]]:
    """Runs that did not complete, per setting: {values as text: (values, count)}."""
    bad = summary.filter(pl.col("status") != "complete")
    keys = [k for k in setting_keys if k in bad.columns]
    if bad.height == 0 or len(keys) < len(setting_keys):
        return {}
    counts = bad.group_by(keys, maintain_order=True).len()
    return {
        tuple(str(v) for v in row[:-1]): (tuple(row[:-1]), int(row[-1]))
        for row in counts.iter_rows()
    }


def _set_by_scenario(runs: pl.DataFrame, key: str) -> bool:
    """True if every scenario's runs share one value of ``key``."""
    values = runs.select("scenario", pl.col(key).cast(pl.Utf8))
    return bool((values.group_by("scenario").agg(pl.col(key).n_unique())[key] <= 1).all())


def setting_columns(table: pl.DataFrame) -> list[str]:
    """The columns of a report that name a setting (scenario and other swept values)."""
    fixed = ("kpi", "brand", "segment", "region", "runs", "incomplete", "reference", "mean",
             "ci_low", "ci_high", "pairs", "diff", "diff_low", "diff_high")  # fmt: skip
    return [c for c in table.columns if c not in fixed]


def write_report(table: pl.DataFrame, sweep_dir: str | Path) -> list[Path]:
    """Write the report as parquet and CSV into the sweep folder (atomically)."""
    sweep_dir = Path(sweep_dir)
    write_parquet(table, sweep_dir / REPORT_FILES[0])
    write_text(table.write_csv(), sweep_dir / REPORT_FILES[1])
    return [sweep_dir / f for f in REPORT_FILES]


def reference_label(table: pl.DataFrame) -> str:
    """The reference setting of a report as text ('baseline', or 'price=1.0, network=ws')."""
    keys = setting_columns(table)
    ref = table.filter(pl.col("reference"))
    if ref.height == 0:
        return "the reference"
    row = ref.row(0, named=True)
    if len(keys) == 1:
        return str(row["scenario"])
    return ", ".join(f"{k}={row[k]}" for k in keys)


def clear_differences(table: pl.DataFrame) -> pl.DataFrame:
    """Per KPI and brand, the settings furthest above and below the reference, if clear.

    Only a setting whose paired interval excludes zero is named (``highest``/``lowest``,
    with its difference and interval); with none, the KPI and brand are left out.
    """
    keys = setting_columns(table)
    sig = table.filter(
        ~pl.col("reference")
        & pl.col("diff_low").is_not_null()
        & ((pl.col("diff_low") > 0) | (pl.col("diff_high") < 0))
    )
    rows = []
    by = ["kpi", "brand", *(c for c in ("segment", "region") if c in table.columns)]
    for group, part in sig.group_by(by, maintain_order=True):
        out = dict(zip(by, group, strict=True))
        for side, pick in (("highest", part.sort("diff", descending=True)),
                           ("lowest", part.sort("diff"))):  # fmt: skip
            r = pick.row(0, named=True)
            if (side == "highest") == (r["diff"] > 0):
                out[side] = ", ".join(str(r[k]) for k in keys)
                out[f"{side}_diff"], out[f"{side}_low"], out[f"{side}_high"] = (
                    r["diff"], r["diff_low"], r["diff_high"])  # fmt: skip
        rows.append(out)
    return pl.DataFrame(rows, infer_schema_length=None)


def _who(row: Mapping) -> str:
    """The brand of a report row, with its segment or region when the report is by one."""
    where = row.get("segment") if row.get("segment") is not None else row.get("region")
    return f"{row['brand']} / {where}" if where is not None else str(row["brand"])


def print_report(table: pl.DataFrame, baseline: str, kpis: tuple[str, ...] | None = None) -> None:
    """Print the report: one table per setting (KPI rows by brand), then the clear winners.

    ``baseline`` is kept for callers; the reference is read from the table.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sim.config.errors import printable

    def fmt(x, signed: bool = False) -> str:
        if x is None:
            return "-"
        return f"{x:+,.4g}" if signed else f"{x:,.4g}"

    console = Console(width=None if Console().is_terminal else 140)
    keys = setting_columns(table)
    against = reference_label(table)
    if kpis:
        table = table.filter(pl.col("kpi").is_in(list(kpis)))
    for setting, part in table.group_by(keys, maintain_order=True):
        values = dict(zip(keys, setting, strict=True))
        is_ref = bool(part["reference"].any())
        runs, bad = part["runs"].max(), part["incomplete"].max()
        extra = ", ".join(f"{k}={v}" for k, v in values.items() if k != "scenario")
        title = f"{values['scenario']}" + (f" ({extra})" if extra else "") + f": {runs} runs"
        title += f", {bad} incomplete" if bad else ""
        title += " (the reference)" if is_ref else f", vs {against}"
        t = Table(title=Text(printable(title)))  # names are text, never markup or escapes
        for head in ("kpi", "brand", "mean", "95% CI", "diff vs reference", "95% CI of diff"):
            t.add_column(head, justify="left" if head in ("kpi", "brand") else "right")
        for r in part.iter_rows(named=True):
            t.add_row(
                Text(printable(r["kpi"])), Text(printable(_who(r))), fmt(r["mean"]),
                Text(f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"),
                fmt(r["diff"], True) if not is_ref else "",
                Text(f"[{fmt(r['diff_low'], True)}, {fmt(r['diff_high'], True)}]")
                if not is_ref else "",
            )  # fmt: skip
        console.print(t)
    clear = clear_differences(table)
    if clear.height == 0:
        console.print(Text(f"No setting differs clearly from {against} (every paired 95% "
                           "interval includes 0)."))  # fmt: skip
        return
    t = Table(title=Text(printable(f"Clear differences from {against} (paired by seed; the "
                                   "95% interval excludes 0)")))  # fmt: skip
    for head in ("kpi", "brand", "highest", "diff [95% CI]", "lowest", "diff [95% CI]"):
        t.add_column(head)
    for r in clear.iter_rows(named=True):
        cells = [Text(printable(r["kpi"])), Text(printable(_who(r)))]
        for side in ("highest", "lowest"):
            if r.get(side) is None:
                cells += ["-", ""]
            else:
                cells += [Text(printable(r[side])), Text(
                    f"{fmt(r[f'{side}_diff'], True)} [{fmt(r[f'{side}_low'], True)}, "
                    f"{fmt(r[f'{side}_high'], True)}]")]  # fmt: skip
        t.add_row(*cells)
    console.print(t)


__all__ = [
    "REPORT_FILES", "SUMMARY_FILE", "SUMMARY_KPIS", "ReportError", "collect_runs",
    "duplicate_runs", "load_summary", "report", "write_report", "write_summary",
]  # fmt: skip
