"""KPI tables of a comparison: the report table, headline cards, wide deltas, levels.

The report table (``comparison_table``) is built exactly like ``journeysim report``: one
summary row per run, then ``sim.sweeps.summary.report`` gives per scenario, brand and KPI
the mean over replicates with its t-interval and the paired difference against the
baseline (same seeds: common random numbers) with its own interval. The other tables
are views of it, with every value formatted through ``sim.dashboard.format``.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sim.dashboard.format import (
    HEADLINE,
    KPIS,
    ColumnSpec,
    column_spec,
    format_delta,
    format_interval,
    format_value,
    is_missing,
    kpi_info,
    kpi_title,
    significant,
)
from sim.sweeps.summary import report, run_kpis


def comparison_table(
    runs: Sequence[tuple[str, int, pl.DataFrame]], baseline: str, level: float = 0.95
) -> pl.DataFrame:
    """KPIs per scenario and brand: mean with interval, paired difference against baseline.

    Built like a sweep report: one summary row per run, then ``sim.sweeps.summary.report``.
    Columns scenario, kpi, brand, runs, mean, ci_low, ci_high, pairs, diff, diff_low, diff_high.
    """
    rows = []
    for scenario, seed, metrics in runs:
        rows.append({"run": f"{scenario}/{seed}", "status": "complete", "scenario": scenario,
                     "seed": seed, **run_kpis(metrics)})  # fmt: skip
    return report(pl.DataFrame(rows), baseline=baseline, level=level)


#: The groups a comparison can be broken down by: Result frame of their metrics, per group kind.
BREAKDOWNS = {"segment": "segments", "region": "regions"}


def breakdown_table(
    runs: Sequence[tuple[str, int, pl.DataFrame, pl.DataFrame, pl.DataFrame]], baseline: str,
    by: str = "segment", level: float = 0.95,
) -> pl.DataFrame:  # fmt: skip
    """KPIs per scenario, brand and segment (or region), with paired differences.

    ``runs`` are (scenario, seed, metrics, metrics by segment, metrics by region); each run's
    KPIs are those of its metrics file (``sim.engine.metrics.metrics_file``), and the table is
    the sweep report's by segment or region (``report(..., by=by)``): the columns of
    ``comparison_table`` with ``segment`` (or ``region``) after ``brand``. Empty when the
    market has one group of that kind.
    """
    from sim.engine.metrics import metrics_file

    column = 3 if by == "segment" else 4
    if by not in BREAKDOWNS or not runs or any(run[column].is_empty() for run in runs):
        return pl.DataFrame()
    rows = [
        {"run": f"{scenario}/{seed}", "status": "complete", "scenario": scenario, "seed": seed,
         **run_kpis(metrics_file(metrics, by_segment, by_region))}
        for scenario, seed, metrics, by_segment, by_region in runs
    ]  # fmt: skip
    return report(pl.DataFrame(rows), baseline=baseline, level=level, by=by)


def breakdown(
    table: pl.DataFrame, kpi: str, brand: str, baseline: str, by: str = "segment"
) -> pl.DataFrame:
    """One KPI's difference against the baseline, by scenario and segment (or region).

    Columns scenario, ``by``, level (the baseline's mean in the group), mean, diff,
    diff_low, diff_high (the paired difference and its interval, from ``breakdown_table``);
    the baseline's own rows are left out, scenarios and groups keep the table's order.
    """
    columns = ["scenario", by, "level", "mean", "diff", "diff_low", "diff_high"]
    if table.is_empty() or by not in table.columns:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.Float64) | {
            "scenario": pl.Utf8, by: pl.Utf8})  # fmt: skip
    rows = table.filter((pl.col("kpi") == kpi) & (pl.col("brand") == brand))
    level = rows.filter(pl.col("scenario") == baseline).select(by, pl.col("mean").alias("level"))
    return (
        rows.filter(pl.col("scenario") != baseline)
        .join(level, on=by, how="left", maintain_order="left")
        .select(columns)
    )


def kpi_order(table: pl.DataFrame) -> list[str]:
    """KPIs of a table: the registered ones in their order, then any others."""
    present = table["kpi"].unique(maintain_order=True).to_list()
    return [k for k in KPIS if k in present] + [k for k in present if k not in KPIS]


def brand_order(table: pl.DataFrame) -> list[str]:
    """Brands of a table in order of appearance."""
    return table["brand"].unique(maintain_order=True).to_list()


def verdict(diff_low, diff_high, higher_is_better: bool) -> str:
    """'better', 'worse', 'n.s.' (interval includes zero) or '' (no interval)."""
    sig = significant(diff_low, diff_high)
    if sig is None:
        return ""
    if not sig:
        return "n.s."
    up = diff_low > 0
    return "better" if up == higher_is_better else "worse"


def headline(table: pl.DataFrame, scenario: str, brand: str, baseline: str) -> list[dict]:
    """Headline cards of one scenario for one brand, in ``HEADLINE`` order.

    Each card: kpi, label, kind, value, diff, diff_low, diff_high, higher_is_better,
    significant, verdict, and the texts value_text, delta_text (None for the baseline
    itself), help; delta_color is 'off' unless the interval excludes zero.
    """
    out = []
    part = table.filter((pl.col("scenario") == scenario) & (pl.col("brand") == brand))
    for kpi in HEADLINE:
        row = part.filter(pl.col("kpi") == kpi)
        if row.height == 0:
            continue
        r = row.row(0, named=True)
        info = kpi_info(kpi)
        is_base = scenario == baseline
        sig = significant(r["diff_low"], r["diff_high"])
        if is_base:
            delta_text = None
        elif is_missing(r["diff"]):  # e.g. an entrant the baseline does not have
            delta_text = f"not in {baseline}"
        else:
            delta_text = format_delta(
                r["diff"], r["diff_low"], r["diff_high"], info.kind, compact=True
            )
        if sig:
            colour = "normal" if info.higher_is_better else "inverse"
        else:
            colour = "off"
        help_text = (
            f"{info.label} of {brand}, {info.note}; mean of {r['runs']} replicates, "
            f"95% CI {format_interval(r['ci_low'], r['ci_high'], info.kind, delta=False)}."
        )
        if not is_base:
            help_text += (
                f" Difference vs {baseline} (paired by seed): "
                f"{format_value(r['diff'], info.kind, delta=True)}, 95% CI "
                f"{format_interval(r['diff_low'], r['diff_high'], info.kind)}"
                + ("" if sig else ": not significant (the interval includes zero)")
                + "."
            )
        out.append({
            "kpi": kpi, "label": info.label, "kind": info.kind, "value": r["mean"],
            "diff": r["diff"], "diff_low": r["diff_low"], "diff_high": r["diff_high"],
            "higher_is_better": info.higher_is_better, "significant": bool(sig),
            "verdict": verdict(r["diff_low"], r["diff_high"], info.higher_is_better),
            "value_text": format_value(r["mean"], info.kind, compact=True),
            "delta_text": delta_text, "delta_color": colour, "help": help_text,
        })  # fmt: skip
    return out


def wide_deltas(
    table: pl.DataFrame, baseline: str, kpis: Sequence[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Differences against the baseline, scenarios side by side, brands as rows.

    One row per KPI and brand: the KPI (with its unit), the brand, the baseline's level,
    then per scenario the paired difference with its 95% interval, e.g.
    '-0.33 pp [-0.42, -0.24]', marked 'n.s.' when the interval includes zero.

    Returns:
        (table, verdicts): ``verdicts`` has the same shape, each scenario cell 'better',
        'worse', 'n.s.' or '' (for colouring significant cells only).
    """
    scenarios = [s for s in table["scenario"].unique(maintain_order=True).to_list()
                 if s != baseline]  # fmt: skip
    kpis = [k for k in (kpis or kpi_order(table)) if k in set(table["kpi"].to_list())]
    brands = brand_order(table)
    index = {(r["scenario"], r["kpi"], r["brand"]): r for r in table.iter_rows(named=True)}
    rows, marks = [], []
    for kpi in kpis:
        info = kpi_info(kpi)
        for brand in brands:
            base = index.get((baseline, kpi, brand))
            # units in the KPI's label, except % levels beside pp differences
            pct = info.kind == "percent"
            level = format_value(base["mean"] if base else None, info.kind, with_units=pct)
            row = {"KPI": kpi_title(kpi), "Brand": brand, baseline: level}
            mark = {"KPI": "", "Brand": "", baseline: ""}
            for s in scenarios:
                r = index.get((s, kpi, brand))
                if r is None or is_missing(r["diff"]):
                    row[s], mark[s] = "n/a", ""
                    continue
                text = format_value(r["diff"], info.kind, delta=True, with_units=pct)
                interval = format_interval(
                    r["diff_low"], r["diff_high"], info.kind, with_units=False
                )
                v = verdict(r["diff_low"], r["diff_high"], info.higher_is_better)
                bracket = interval if interval != "n/a" else "(one replicate)"
                row[s] = f"{text} {bracket}" + (" n.s." if v == "n.s." else "")
                mark[s] = v
            no_base = base is None or is_missing(base["mean"])
            if no_base and all(row[s] == "n/a" for s in scenarios):
                continue  # a brand this KPI has nowhere (e.g. an entrant's retention)
            rows.append(row)
            marks.append(mark)
    columns = ["KPI", "Brand", baseline, *scenarios]
    if not rows:
        empty = pl.DataFrame(schema={c: pl.Utf8 for c in columns})
        return empty, empty
    return pl.DataFrame(rows).select(columns), pl.DataFrame(marks).select(columns)


def kpi_levels(table: pl.DataFrame, intervals: bool = False) -> tuple[pl.DataFrame, dict]:
    """KPI levels: one row per scenario and brand, one column per KPI (mean of replicates).

    Values are ready to show (percent kinds scaled to 0-100); the specs say how to
    format each column (unit in the label, help from the glossary). With ``intervals``,
    each KPI is followed by its 95% interval as text.

    Returns:
        (frame, specs): specs maps a numeric column to its ``ColumnSpec``.
    """
    kpis = kpi_order(table)
    wide = (
        table.select("scenario", "brand", "kpi", "mean")
        .pivot(on="kpi", index=["scenario", "brand"], values="mean")
        .select("scenario", "brand", *kpis)
    )
    specs: dict[str, ColumnSpec] = {}
    for kpi in kpis:
        info = kpi_info(kpi)
        spec = column_spec(kpi_title(kpi), info.kind, wide[kpi].to_list(),
                           help=f"{info.label}, {info.note}; mean over replicates.")  # fmt: skip
        specs[kpi] = spec
        wide = wide.with_columns(pl.col(kpi).cast(pl.Float64) * spec.scale)
    if intervals:
        index = {(r["scenario"], r["kpi"], r["brand"]): r for r in table.iter_rows(named=True)}
        ordered = ["scenario", "brand"]
        extra = {}
        for kpi in kpis:
            kind = kpi_info(kpi).kind
            col = f"{kpi} 95% CI"
            extra[col] = [
                format_interval(
                    index[(s, kpi, b)]["ci_low"], index[(s, kpi, b)]["ci_high"], kind,
                    delta=False, with_units=False,
                ) if (s, kpi, b) in index else "n/a"
                for s, b in wide.select("scenario", "brand").iter_rows()
            ]  # fmt: skip
            ordered += [kpi, col]
        wide = wide.with_columns(pl.Series(k, v) for k, v in extra.items()).select(ordered)
    return wide, specs


def table_height(rows: int, row_px: int = 35, max_rows: int = 30) -> int:
    """Pixel height of a dataframe showing ``rows`` rows without scrolling (up to a limit)."""
    return (min(rows, max_rows) + 1) * row_px + 3
