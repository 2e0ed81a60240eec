"""``journeysim facts``: does the market reproduce the stylised facts of real markets?

Runs the market (the defaults, or any overrides) over several seeds and measures each
fact on every run; prints one row per fact (and brand): the fact, its source, the target
range, the measured mean with a 95% t-interval over seeds, and pass or fail (the mean
inside the range). ``--out DIR`` writes the table as ``facts.parquet``.

Each fact is a small function of one run's results (``Result``), declared in ``FACTS``
with its source and target range, so adding a fact is adding a line.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from sim.cli.common import error

PER_BRAND = "per brand"


@dataclass(frozen=True)
class Fact:
    """A stylised fact: what is measured, from which source, and the range it should fall in."""

    name: str
    source: str
    low: float
    high: float
    measure: Callable[..., dict[str, float]]  # Result -> {label: value} (label: brand or "")
    unit: str = ""


def _years(result) -> float:
    return max(int(result.metrics["step"].max()), 1) / float(result.config.sim.steps_per_year)


def _per_brand(result, values: Callable[[pl.DataFrame], pl.DataFrame]) -> dict[str, float]:
    frame = values(result.metrics)
    return {b: (math.nan if v is None else float(v)) for b, v in frame.iter_rows()}


def share_drift(result) -> dict[str, float]:
    """Largest change of a brand's share between step 0 and the end, in percentage points."""
    m = result.metrics
    first = m.filter(pl.col("step") == 0).sort("brand")["share"].to_numpy()
    last = m.filter(pl.col("step") == m["step"].max()).sort("brand")["share"].to_numpy()
    return {"": float(100 * np.max(np.abs(last - first)))}


def stage_drift(result) -> dict[str, float]:
    """Largest change of a journey stage's share of people, step 0 to the end, in points."""
    s = result.stages.group_by("step", "stage").agg(pl.col("customers").sum())
    n = float(result.config.market.customers)
    last = int(s["step"].max())
    first = s.filter(pl.col("step") == 0).sort("stage")["customers"].to_numpy() / n
    end = s.filter(pl.col("step") == last).sort("stage")["customers"].to_numpy() / n
    return {"": float(100 * np.max(np.abs(end - first)))}


def smallest_pool(result) -> dict[str, float]:
    """Smallest share (%) of people in a non-customer stage, averaged over the run.

    The stages are unaware, aware, considering and lapsed: every pool persists.
    """
    s = result.stages.filter(pl.col("stage") != "customer")
    s = s.group_by("step", "stage").agg(pl.col("customers").sum())
    mean = s.group_by("stage").agg(pl.col("customers").mean())["customers"].to_numpy()
    return {"": float(100 * mean.min() / float(result.config.market.customers))}


def awareness(result) -> dict[str, float]:
    """Share (%) of people aware of each brand, averaged over the run."""
    n = float(result.config.market.customers)
    return _per_brand(
        result,
        lambda m: m.group_by("brand", maintain_order=True).agg(pl.col("aware").mean() / n * 100),
    )


def annual_churn(result) -> dict[str, float]:
    """Customers lost per year as a share (%) of the brand's mean customers."""
    years = _years(result)
    return _per_brand(
        result,
        lambda m: (
            m.filter(pl.col("step") > 0)
            .group_by("brand", maintain_order=True)
            .agg(100 * pl.col("churned").sum() / pl.col("customers").mean() / years)
        ),
    )


def nps(result) -> dict[str, float]:
    """Net promoter score of each brand, averaged over the run."""
    return _per_brand(
        result,
        lambda m: (
            m.filter(pl.col("step") > 0)
            .group_by("brand", maintain_order=True)
            .agg(pl.col("nps").mean())
        ),
    )


def best_experience_leads_nps(result) -> dict[str, float]:
    """NPS of the brand with the best experience minus the highest NPS of the others.

    Experience is product quality plus mean service quality; positive when the best
    experience scores highest.
    """
    cfg = result.config
    quality = {}
    for b, br in cfg.brands.items():
        service = np.mean(list(br.service_quality.values())) if br.service_quality else 0.0
        quality[b] = float(br.product_quality) + float(service)
    scores = nps(result)
    best = max(quality, key=quality.get)
    others = [v for b, v in scores.items() if b != best and not math.isnan(v)]
    return {"": scores[best] - max(others) if others else math.nan}


def marketing_share(result) -> dict[str, float]:
    """Ad spend as a share (%) of revenue."""
    return _per_brand(
        result,
        lambda m: m.group_by("brand", maintain_order=True).agg(
            100 * pl.col("ad_spend").sum() / pl.col("revenue").sum()
        ),
    )


def clv_to_cac(result) -> dict[str, float]:
    """Projected CLV at the end over CAC (ad spend per customer acquired)."""
    from sim.engine.kpi import brand_kpis

    k = brand_kpis(result.metrics, float(result.config.sim.steps_per_year))
    return {
        r["brand"]: (r["clv"] / r["cac"] if r["clv"] is not None and r["cac"] else math.nan)
        for r in k.iter_rows(named=True)
    }


def keep_vs_win(result) -> dict[str, float]:
    """CAC over the cost of keeping a customer for a year (service and retention programmes)."""
    from sim.engine.kpi import brand_kpis

    k = brand_kpis(result.metrics, float(result.config.sim.steps_per_year))
    return {
        r["brand"]: (r["cac"] / r["cost_to_keep"] if r["cac"] and r["cost_to_keep"] else math.nan)
        for r in k.iter_rows(named=True)
    }


def retention_flattens(result) -> dict[str, float]:
    """Churn hazard of new customers in their first quarter of tenure over their third's.

    Cohorts acquired during the run, pooled over brands (the third quarter is the latest a
    one-year run measures on enough cohorts): above 1 when retention curves flatten.
    """
    r = result.retention.group_by("tenure").agg(pl.col("active").sum(), pl.col("cohort_size").sum())
    r = r.sort("tenure")
    quarter = int(float(result.config.sim.steps_per_year) / 4)
    survival = (r["active"] / r["cohort_size"]).to_numpy()
    if survival.size <= 3 * quarter or not np.isfinite(survival[: 3 * quarter + 1]).all():
        return {"": math.nan}

    def hazard(a: int, b: int) -> float:
        return 1.0 - survival[b] / survival[a] if survival[a] > 0 else math.nan

    late = hazard(2 * quarter, 3 * quarter)
    return {"": hazard(0, quarter) / late if late > 0 else math.nan}


def tenure_revenue(result) -> dict[str, float]:
    """Revenue per customer-step of customers with 3+ years of tenure over those in year 1."""
    t = result.tenure
    out = {}
    for b in t["brand"].unique(maintain_order=True).to_list():
        rows = {
            r["tenure"]: r["revenue_per_customer"]
            for r in t.filter(pl.col("brand") == b).iter_rows(named=True)
        }
        first, loyal = rows.get("0-1"), rows.get("3+")
        out[b] = loyal / first if first and loyal else math.nan
    return out


def wom_share(result) -> dict[str, float]:
    """Share (%) of attributable acquisitions whose last touchpoint was word of mouth.

    Attributable: the customer's last ad, news item or conversation was about the brand
    it chose.
    """
    m = result.metrics.filter(pl.col("step") > 0)
    attributed = result.channels["conversions"].sum()
    return {"": 100 * m["acquired_wom"].sum() / attributed if attributed else math.nan}


def churn_sources(result) -> dict[str, float]:
    """Share (%) of churn from each source (for the report; no target)."""
    m = result.metrics.filter(pl.col("step") > 0)
    total = m["churned"].sum()
    if not total:
        return {}
    return {
        source: 100 * m[f"churned_{source}"].sum() / total
        for source in ("hazard", "shock", "switch", "exit")
    }


FACTS: tuple[Fact, ...] = (
    Fact("stationary brand shares", "Ehrenberg; Goodhardt, Ehrenberg and Chatfield (1984)",
         0.0, 2.0, share_drift, "points"),
    Fact("stationary journey stages", "Ehrenberg (near-stationary established markets)",
         0.0, 3.0, stage_drift, "points"),
    Fact("every non-customer pool persists", "stationary funnel (unaware to lapsed)",
         1.0, 100.0, smallest_pool, "% of people"),
    Fact("brand awareness below saturation", "aided awareness of established brands",
         40.0, 97.0, awareness, "% of people"),
    Fact("annual churn", "subscription churn benchmarks: about 10-30% a year",
         10.0, 30.0, annual_churn, "% a year"),
    Fact("NPS range", "Reichheld (2003); industry NPS benchmarks (about -20 to +70)",
         -30.0, 60.0, nps),
    Fact("best experience has the highest NPS",
         "Reichheld (2003): leaders in experience score highest",
         0.0, math.inf, best_experience_leads_nps, "points"),
    Fact("marketing spend / revenue", "The CMO Survey; Gartner CMO spend surveys",
         1.0, 10.0, marketing_share, "%"),
    Fact("projected CLV / CAC", "subscription finance practice (about 3 healthy, < 1 loses money)",
         1.0, 10.0, clv_to_cac),
    Fact("winning a customer costs more than keeping one", "Gallo (2014), HBR (5-25x)",
         5.0, 25.0, keep_vs_win, "CAC / yearly cost to keep"),
    Fact("retention curves flatten with tenure", "Fader and Hardie (2007), shifted-beta-geometric",
         1.05, math.inf, retention_flattens, "hazard ratio, quarter 1 / quarter 3"),
    Fact("loyal customers spend more", "Reichheld and Sasser (1990), Zero Defections",
         1.0001, math.inf, tenure_revenue, "revenue ratio, 3+ years / year 1"),
    Fact("word of mouth's share of acquisitions", "Bughin, Doogan and Vetvik (2010), McKinsey",
         20.0, 50.0, wom_share, "%"),
)  # fmt: skip


def _t_interval(values: Sequence[float]) -> tuple[float, float, float]:
    from sim.sweeps.summary import t_interval

    return t_interval(np.asarray(values, dtype=float))


def measure(results: Sequence) -> pl.DataFrame:
    """The facts table from runs of one market over several seeds."""
    rows = []
    for fact in FACTS:
        per_seed: dict[str, list[float]] = {}
        for result in results:
            for label, value in fact.measure(result).items():
                per_seed.setdefault(label, []).append(value)
        for label, values in per_seed.items():
            mean, lo, hi = _t_interval(values)
            ok = (not math.isnan(mean)) and fact.low <= mean <= fact.high
            rows.append({
                "fact": fact.name + (f" ({label})" if label else ""), "source": fact.source,
                "low": fact.low, "high": fact.high, "unit": fact.unit, "mean": mean,
                "ci_low": lo, "ci_high": hi, "seeds": len(values), "pass": ok,
            })  # fmt: skip
    return pl.DataFrame(rows).with_columns(pl.col(pl.Float64).fill_nan(None))


def sources(results: Sequence) -> pl.DataFrame:
    """Share of churn from each source, mean over seeds.

    Sources: the dissatisfaction hazard, very bad touchpoints, switching at purchase
    occasions, leaving the category (or the population).
    """
    rows = {}
    for result in results:
        for source, value in churn_sources(result).items():
            rows.setdefault(source, []).append(value)
    return pl.DataFrame({"source": list(rows), "share": [float(np.mean(v)) for v in rows.values()]})


def _simulate(config_yaml: str):
    from omegaconf import OmegaConf

    from sim import simulate

    return simulate(OmegaConf.create(config_yaml))


def run_seeds(overrides: Sequence[str], seeds: Sequence[int], jobs: int, progress=None) -> list:
    """Simulate the market of ``overrides`` once per seed (in parallel processes).

    The worker pool is loky's reusable executor, the same one the analyst tools use
    (``sim.analysis.runs``): joblib's ``Parallel`` cannot reuse a pool it did not create.
    """
    from joblib.externals.loky import get_reusable_executor
    from omegaconf import OmegaConf

    from sim import load_config

    configs = []
    for seed in seeds:
        cfg = load_config([*overrides, f"seed={seed}"])
        if jobs > 1:
            cfg.engine.threads = 1
        configs.append(OmegaConf.to_yaml(cfg))
    results = []
    if jobs <= 1:
        for k, text in enumerate(configs):
            results.append(_simulate(text))
            if progress:
                progress(k + 1)
        return results
    pool = get_reusable_executor(max_workers=jobs, timeout=300)
    for k, result in enumerate(pool.map(_simulate, configs)):
        results.append(result)
        if progress:
            progress(k + 1)
    return results


def print_facts(table: pl.DataFrame, churn: pl.DataFrame) -> None:
    """Print the facts table and the churn sources."""
    from rich.console import Console
    from rich.table import Table

    def fmt(x) -> str:
        return "-" if x is None else (f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}")

    t = Table(title="journeysim facts: the market against stylised facts of real markets")
    for head in ("fact", "source", "target", "measured (95% CI)", ""):
        t.add_column(head)
    for r in table.iter_rows(named=True):
        high = "" if math.isinf(r["high"]) else fmt(r["high"])
        target = f"{fmt(r['low'])} to {high}" if high else f"above {fmt(r['low'])}"
        measured = f"{fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}] {r['unit']}"
        t.add_row(r["fact"], r["source"], target, measured, "pass" if r["pass"] else "FAIL")
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(t)
    if churn.height:
        parts = ", ".join(f"{r['source']} {r['share']:.0f}%" for r in churn.iter_rows(named=True))
        console.print(f"churn by source (mean over seeds): {parts}")


def command(args: list[str]) -> int:
    """``journeysim facts [overrides] [--seeds S] [--jobs J] [--out DIR]``."""
    import os

    from sim.config import ConfigError
    from sim.sweeps.progress import step_progress

    parser = argparse.ArgumentParser(
        prog="journeysim facts",
        description="Run the market over several seeds and check it against stylised facts.",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the market")
    parser.add_argument("--seeds", type=int, default=5, help="replicates (seeds 0..S-1)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs")
    parser.add_argument("--out", default=None, help="folder to write facts.parquet into")
    ns = parser.parse_args(args)
    if ns.seeds < 2:
        return error(f"--seeds={ns.seeds}: must be at least 2 (for an interval)")
    if ns.jobs < 1:
        return error(f"--jobs={ns.jobs}: must be at least 1")
    try:
        with step_progress(ns.seeds, "runs") as advance:
            results = run_seeds(ns.overrides, range(ns.seeds), min(ns.jobs, ns.seeds), advance)
    except ConfigError as exc:
        return error(str(exc))
    table = measure(results)
    churn = sources(results)
    print_facts(table, churn)
    if ns.out:
        from sim.sweeps.io import write_parquet

        try:
            write_parquet(table, Path(ns.out) / "facts.parquet")
            write_parquet(churn, Path(ns.out) / "churn_sources.parquet")
        except OSError as exc:
            return error(f"--out {ns.out}: cannot write ({exc.strerror or exc})")
        print(f"journeysim: facts written to {Path(ns.out) / 'facts.parquet'}")
    return 0
