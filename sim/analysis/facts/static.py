"""Static facts: regularities one run of the market shows without any lever moved.

Each fact is a small function of one run's results (``Result``: ``metrics``, ``stages``,
``retention``, ``channels``, ``tenure``, ``config``), declared in ``FACTS`` with its source and
target range, so adding a fact is adding a line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from sim.analysis.facts.core import Fact, measure_all, require, table

LTR_COLUMNS = tuple(f"ltr_{k}" for k in range(11))
NPS_GROUPS = ("promoters", "passives", "detractors")
CHURN_BY_GROUP = tuple(f"churned_{g}" for g in NPS_GROUPS)


def _years(result) -> float:
    return max(int(result.metrics["step"].max()), 1) / float(result.config.sim.steps_per_year)


def _per_brand(result, values: Callable[[pl.DataFrame], pl.DataFrame]) -> dict[str, float]:
    frame = values(result.metrics)
    return {b: (math.nan if v is None else float(v)) for b, v in frame.iter_rows()}


def share_drift(result) -> dict[str, float]:
    """Largest change of a brand's share between step 0 and the end, in points a year."""
    m = result.metrics
    first = m.filter(pl.col("step") == 0).sort("brand")["share"].to_numpy()
    last = m.filter(pl.col("step") == m["step"].max()).sort("brand")["share"].to_numpy()
    return {"": float(100 * np.max(np.abs(last - first)) / _years(result))}


def stage_drift(result) -> dict[str, float]:
    """Largest change of a journey stage's share of people, step 0 to the end, points a year."""
    s = result.stages.group_by("step", "stage").agg(pl.col("customers").sum())
    n = float(result.config.market.customers)
    last = int(s["step"].max())
    first = s.filter(pl.col("step") == 0).sort("stage")["customers"].to_numpy() / n
    end = s.filter(pl.col("step") == last).sort("stage")["customers"].to_numpy() / n
    return {"": float(100 * np.max(np.abs(end - first)) / _years(result))}


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
    """Projected CLV at the end over CAC (ads and acquisition costs per customer acquired)."""
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


def detractor_share(result) -> dict[str, float]:
    """Detractors (likelihood to recommend 0-6) as a share (%) of a brand's customers."""
    m = result.metrics.filter(pl.col("step") > 0)
    require(m, NPS_GROUPS, "promoters/passives/detractors")
    return _per_brand(
        result,
        lambda _: m.group_by("brand", maintain_order=True).agg(
            100
            * pl.col("detractors").sum()
            / (pl.col("promoters") + pl.col("passives") + pl.col("detractors")).sum()
        ),
    )


def top_ltr_share(result) -> dict[str, float]:
    """Share (%) of a brand's customers giving its most frequent likelihood-to-recommend score.

    From the counts per score ``ltr_0`` ... ``ltr_10`` (summed over the run's steps).
    """
    m = result.metrics.filter(pl.col("step") > 0)
    require(m, LTR_COLUMNS, "ltr_0..ltr_10")
    counts = m.group_by("brand", maintain_order=True).agg(pl.col(c).sum() for c in LTR_COLUMNS)
    out = {}
    for row in counts.iter_rows(named=True):
        scores = np.array([row[c] for c in LTR_COLUMNS], dtype=float)
        out[row["brand"]] = 100 * scores.max() / scores.sum() if scores.sum() else math.nan
    return out


def detractor_churn_ratio(result) -> dict[str, float]:
    """Churn rate of detractors over that of promoters (churned per customer-step of each group).

    From ``churned_detractors`` / ``detractors`` and ``churned_promoters`` / ``promoters``.
    """
    m = result.metrics.filter(pl.col("step") > 0)
    require(m, CHURN_BY_GROUP, "churned_promoters/passives/detractors")
    rates = m.group_by("brand", maintain_order=True).agg(
        (pl.col("churned_detractors").sum() / pl.col("detractors").sum()).alias("d"),
        (pl.col("churned_promoters").sum() / pl.col("promoters").sum()).alias("p"),
    )
    return {b: (d / p if p else math.nan) for b, d, p in rates.iter_rows()}


def _tenure_rule(cfg) -> str | None:
    uplift = float(cfg.market.spend.get("tenure_uplift", 0.0) or 0.0)
    if uplift <= 0:
        return None
    return f"configured rule: spend rises with tenure (market.spend.tenure_uplift={uplift:g})"


def _experience_rule(cfg) -> str:
    quality = {}
    for b, br in cfg.brands.items():
        service = np.mean(list(br.service_quality.values())) if br.service_quality else 0.0
        quality[b] = float(br.product_quality) + float(service)
    order = " > ".join(sorted(quality, key=quality.get, reverse=True))
    return f"the best experience is read from config inputs (product + service quality: {order})"


FACTS: tuple[Fact, ...] = (
    Fact("stationary brand shares", "Ehrenberg; Goodhardt, Ehrenberg and Chatfield (1984)",
         0.0, 2.0, share_drift, "points a year"),
    Fact("stationary journey stages", "Ehrenberg (near-stationary established markets)",
         0.0, 3.0, stage_drift, "points a year"),
    Fact("every non-customer pool persists", "stationary funnel (unaware to lapsed)",
         1.0, 100.0, smallest_pool, "% of people"),
    Fact("brand awareness below saturation", "aided awareness of established brands",
         40.0, 97.0, awareness, "% of people"),
    Fact("annual churn", "subscription churn benchmarks: about 10-30% a year",
         10.0, 30.0, annual_churn, "% a year"),
    Fact("NPS range", "Reichheld (2003); industry NPS benchmarks (about -20 to +70)",
         -30.0, 60.0, nps),
    Fact("detractors' share of customers", "NPS 0-50 markets: detractors about 10-35% (judgement)",
         10.0, 35.0, detractor_share, "%"),
    Fact("no likelihood-to-recommend score dominates",
         "0-10 answers spread (judgement: < 40% on one score)",
         0.0, 40.0, top_ltr_share, "% giving the commonest score"),
    Fact("detractors churn more than promoters",
         "Reichheld (2003), HBR: detractors defect more (2x is a judgement)",
         2.0, math.inf, detractor_churn_ratio, "churn-rate ratio"),
    Fact("best experience has the highest NPS",
         "Reichheld (2003): leaders in experience score highest",
         0.0, math.inf, best_experience_leads_nps, "points", input_rule=_experience_rule),
    Fact("marketing spend / revenue", "The CMO Survey; Gartner CMO spend surveys",
         1.0, 10.0, marketing_share, "%"),
    Fact("projected CLV / CAC", "subscription finance practice (about 3 healthy, < 1 loses money)",
         1.0, 10.0, clv_to_cac),
    Fact("winning a customer costs more than keeping one", "Gallo (2014), HBR (5-25x)",
         5.0, 25.0, keep_vs_win, "CAC / yearly cost to keep"),
    Fact("retention curves flatten with tenure", "Fader and Hardie (2007), shifted-beta-geometric",
         1.05, math.inf, retention_flattens, "hazard ratio, quarter 1 / quarter 3"),
    Fact("loyal customers spend more", "Reichheld and Sasser (1990), Zero Defections",
         1.0001, math.inf, tenure_revenue, "revenue ratio, 3+ years / year 1",
         input_rule=_tenure_rule),
    Fact("word of mouth's share of acquisitions", "Bughin, Doogan and Vetvik (2010), McKinsey",
         20.0, 50.0, wom_share, "%"),
)  # fmt: skip


def measure(results: Sequence, facts: Sequence[Fact] = FACTS) -> pl.DataFrame:
    """The facts table from runs of one market over several seeds.

    Args:
        results: one run (``Result``) per seed.
        facts: the facts to measure (default ``FACTS``).

    Returns:
        One row per fact and label (``core.ROW_SCHEMA``): a fact that holds by a configured
        rule is in the section "inputs", the others in "facts".
    """
    config = results[0].config if results else None
    return table(measure_all(facts, results, "facts", config))


def sources(results: Sequence) -> pl.DataFrame:
    """Share of churn from each source, mean over seeds.

    Sources: the dissatisfaction hazard, very bad touchpoints, switching at purchase
    occasions, leaving the category (or the population).
    """
    rows: dict[str, list[float]] = {}
    for result in results:
        for source, value in churn_sources(result).items():
            rows.setdefault(source, []).append(value)
    return pl.DataFrame(
        {"source": list(rows), "share": [float(np.mean(v)) for v in rows.values()]},
        schema={"source": pl.Utf8, "share": pl.Float64},
    )
