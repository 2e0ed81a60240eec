"""Sweep summaries for the explorer: axes, filters, means, the best setting, failed runs.

A summary (``sim.sweeps.summary``) has one row per run: run, status, scenario, seed, the
swept keys, ``<kpi>__<brand>`` KPIs and problem. Means are over the complete runs of a
setting; the best setting is compared with every other by paired differences (runs
matched on the seed and every key that is averaged over), so "best" is only claimed when
the data say so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from sim.dashboard.format import kpi_info
from sim.sweeps.summary import (
    is_kpi_column,
    kpi_columns,
    paired_difference,
    swept_keys,
    t_interval,
)

AVERAGE = "(average over all)"


def complete_runs(summary: pl.DataFrame) -> pl.DataFrame:
    """Runs whose results are complete."""
    if "status" not in summary.columns:
        return summary.clear()
    return summary.filter(pl.col("status") == "complete")


def failed_runs(summary: pl.DataFrame) -> pl.DataFrame:
    """Runs that failed or did not finish: run, status, problem."""
    if "status" not in summary.columns:
        return pl.DataFrame(schema={"run": pl.Utf8, "status": pl.Utf8, "problem": pl.Utf8})
    bad = summary.filter(pl.col("status") != "complete")
    cols = [c for c in ("run", "status", "problem") if c in bad.columns]
    bad = bad.select(cols).with_columns(pl.col(c).cast(pl.Utf8) for c in cols)
    if "run" in cols:  # run folders are numbers: 2 before 10
        order = pl.col("run").cast(pl.Int64, strict=False)
        bad = bad.sort(order, pl.col("run"), nulls_last=True)
    return bad


def sweep_parameters(summary: pl.DataFrame) -> list[str]:
    """Swept keys with more than one value (candidates for the x and y axes)."""
    skip = {"run", "status", "scenario", "seed", "problem"}
    return [
        c for c in summary.columns
        if c not in skip and not is_kpi_column(summary, c) and summary[c].n_unique() > 1
    ]  # fmt: skip


def axis_choices(summary: pl.DataFrame) -> list[str]:
    """What the axes can show: the swept parameters, and the scenario if several ran."""
    params = sweep_parameters(summary)
    if "scenario" in summary.columns and summary["scenario"].drop_nulls().n_unique() > 1:
        params.append("scenario")
    return params


def sweep_kpis(summary: pl.DataFrame) -> list[str]:
    """KPI columns (``<kpi>__<brand>``, a KPI of ``SUMMARY_KPIS``) of a summary."""
    return kpi_columns(summary)


def is_categorical(summary: pl.DataFrame, key: str) -> bool:
    """Whether a swept key takes categories (strings, booleans) rather than numbers."""
    return not summary.schema[key].is_numeric()


def held_keys(summary: pl.DataFrame, axes: Sequence[str]) -> list[str]:
    """Swept keys other than the axes: each can be held at one value or averaged over."""
    return [k for k in axis_choices(summary) if k not in axes]


def hold(summary: pl.DataFrame, held: Mapping[str, object]) -> pl.DataFrame:
    """Runs with each key of ``held`` at its value (``AVERAGE``: all values kept)."""
    out = summary
    for key, value in held.items():
        if value == AVERAGE or key not in out.columns:
            continue
        # the values whose text the chooser showed (str of the Python value: True, 0.05)
        matches = [v for v in out[key].unique().to_list() if str(v) == str(value)]
        out = out.filter(pl.col(key).is_in(matches))
    return out


def averaged_over(summary: pl.DataFrame, axes: Sequence[str]) -> list[tuple[str, int]]:
    """(key, number of values) of everything one point of the chart averages over.

    That is the replicates (seed) and every swept key that is neither an axis nor held
    at one value (pass a summary already filtered by ``hold``).
    """
    done = complete_runs(summary)
    out = []
    for key in ("seed", *[k for k in axis_choices(done) if k not in axes]):
        if key in done.columns:
            n = done[key].n_unique()
            if n > 1 or key == "seed":
                out.append((key, n))
    return out


def sweep_view(
    summary: pl.DataFrame,
    kpi: str,
    x: str,
    y: str | None = None,
    scenarios: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, dict]:
    """Mean of ``kpi`` over replicates by x (and y), and the setting with the best mean.

    Returns (table, best): table has x (and y), mean, low, high, n; best is the row with
    the highest mean (the lowest for KPIs where lower is better), {} if none.
    """
    s = complete_runs(summary)
    if scenarios:
        s = s.filter(pl.col("scenario").is_in(list(scenarios)))
    keys = [x] if y is None or y == x else [x, y]
    rows = []
    for key, part in s.group_by(keys, maintain_order=True):
        mean, lo, hi = t_interval(part[kpi].cast(pl.Float64).fill_null(np.nan).to_numpy())
        rows.append({**dict(zip(keys, key, strict=True)), "mean": mean, "low": lo, "high": hi,
                     "n": int(part[kpi].is_not_null().sum())})  # fmt: skip
    if not rows:
        schema = {k: s.schema.get(k, pl.Utf8) for k in keys}
        schema.update(mean=pl.Float64, low=pl.Float64, high=pl.Float64, n=pl.Int64)
        return pl.DataFrame(schema=schema), {}
    table = pl.DataFrame(rows).sort(keys)
    lower_better = not kpi_info(kpi.split("__")[0]).higher_is_better
    valid = pl.col("mean").is_not_null() & pl.col("mean").is_not_nan()
    ordered = table.filter(valid).sort("mean", descending=not lower_better)
    best = ordered.row(0, named=True) if ordered.height else {}
    return table, best


def best_setting(summary: pl.DataFrame, kpi: str, keys: Sequence[str], level: float = 0.95) -> dict:
    """The setting (values of ``keys``) with the best mean, compared with every other.

    Each other setting is paired with the best run by run: same seed and same values of
    every other swept key (common random numbers); the differences of one seed are averaged
    over those other keys (they share the seed's random numbers), and the mean over seeds
    gets a t-interval (``sim.sweeps.summary.paired_difference``). A setting is *within
    noise* of the best if that interval cannot rule out that it is as good (or if fewer than
    two seeds pair).

    Returns:
        {"best": {keys..., "mean"}, "others": [{keys..., "diff", "low", "high",
        "pairs" (seeds), "tie"}], "ties": [those with tie], "averaged_over": [keys]} or {}
        when nothing has a value.
    """
    keys = list(keys)
    done = complete_runs(summary).filter(pl.col(kpi).is_not_null())
    if done.height == 0:
        return {}
    higher_better = kpi_info(kpi.split("__")[0]).higher_is_better
    means = (
        done.group_by(keys, maintain_order=True)
        .agg(pl.col(kpi).cast(pl.Float64).mean().alias("mean"))
        .filter(pl.col("mean").is_not_nan())
        # equal means: the first setting in key order, so the verdict does not depend on row order
        .sort(["mean", *keys], descending=[higher_better] + [False] * len(keys))
    )
    if means.height == 0:
        return {}
    best = means.row(0, named=True)
    pair_on = [k for k in swept_keys(done) if k not in keys and not is_kpi_column(done, k)]

    def runs_of(setting: Mapping) -> pl.DataFrame:
        out = done
        for k in keys:
            out = out.filter(pl.col(k).eq_missing(setting[k]))
        return out

    best_runs = runs_of(best)
    others = []
    averaged: list[str] = []
    for setting in means.iter_rows(named=True):
        if all(setting[k] == best[k] for k in keys):
            continue
        got = paired_difference(runs_of(setting), best_runs, kpi, pair_on, level)
        diff, lo, hi, n = got["diff"], got["low"], got["high"], got["pairs"]
        averaged = got["averaged_over"] or averaged
        if n < 2 or np.isnan(lo):
            tie = True
        else:
            # the setting minus the best: as good as the best is not ruled out
            tie = hi >= 0 if higher_better else lo <= 0
        others.append({**{k: setting[k] for k in keys}, "mean": setting["mean"], "diff": diff,
                       "low": lo, "high": hi, "pairs": n, "tie": bool(tie)})  # fmt: skip
    return {
        "best": {**{k: best[k] for k in keys}, "mean": best["mean"]},
        "others": others,
        "ties": [o for o in others if o["tie"]],
        "averaged_over": averaged,
    }


def pairing_note(verdict: Mapping) -> str:
    """How a verdict's differences were paired, in words (for the verdict's sentence)."""
    averaged = [str(k) for k in verdict.get("averaged_over") or []]  # keys, as typed
    over = f", each seed's differences averaged over {', '.join(averaged)}" if averaged else ""
    return f"paired by seed, the unit of common random numbers{over}; 95% intervals over seeds"
