"""Headline KPIs per brand from a run's metrics, and their terminal table."""

from __future__ import annotations

import polars as pl

KPI_COLUMNS = (
    "brand", "customers_start", "customers_end", "share_end", "acquired", "churned",
    "retention", "revenue", "profit", "clv", "nps_end", "cac",
)  # fmt: skip


def brand_kpis(metrics: pl.DataFrame) -> pl.DataFrame:
    """One row per brand of key performance indicators.

    Columns: start and end customers, final share, acquisitions, churn, retention (share of
    the customers it ever served still with it at the end: end / (start + acquired)), total
    revenue and profit, CLV, final NPS, and CAC (ad spend per customer acquired).
    """
    last = metrics["step"].max()
    first = metrics.filter(pl.col("step") == 0).select("brand", customers_start="customers")
    end = metrics.filter(pl.col("step") == last).select(
        "brand", customers_end="customers", share_end="share", clv="clv", nps_end="nps"
    )
    totals = (
        metrics.filter(pl.col("step") > 0)
        .group_by("brand", maintain_order=True)
        .agg(pl.col("acquired").sum(), pl.col("churned").sum(), pl.col("ad_spend").sum())
    )
    money = metrics.group_by("brand", maintain_order=True).agg(
        pl.col("revenue").sum(), pl.col("profit").sum()
    )
    out = first.join(end, on="brand").join(totals, on="brand", how="left").join(money, on="brand")
    served = pl.col("customers_start") + pl.col("acquired")
    # acquisition cost: ad spend per customer won (switchers included), over the run
    out = out.with_columns(
        pl.when(pl.col("acquired") > 0)
        .then(pl.col("ad_spend") / pl.col("acquired"))
        .otherwise(None)
        .alias("cac")
    )
    out = out.with_columns(
        pl.when(served > 0)
        .then(pl.col("customers_end") / served)
        .otherwise(None)
        .alias("retention")
    )
    return out.select(KPI_COLUMNS)


def print_kpis(metrics: pl.DataFrame, title: str = "journeysim: retention and revenue") -> None:
    """Print the KPI table to the terminal."""
    from rich.console import Console
    from rich.table import Table

    kpis = brand_kpis(metrics)
    table = Table(title=title)
    heads = ("brand", "customers", "share", "acquired", "churned", "retention", "revenue",
             "profit", "CLV", "NPS")  # fmt: skip
    for h in heads:
        table.add_column(h, justify="left" if h == "brand" else "right")

    def num(x, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    for r in kpis.iter_rows(named=True):
        table.add_row(
            r["brand"],
            f"{r['customers_start']:,} -> {r['customers_end']:,}",
            num(r["share_end"], ".1%"),
            f"{r['acquired']:,}",
            f"{r['churned']:,}",
            num(r["retention"], ".1%"),
            num(r["revenue"], ",.0f"),
            num(r["profit"], ",.0f"),
            num(r["clv"], ",.2f"),
            num(r["nps_end"], "+.1f"),
        )
    import sys

    Console(width=None if sys.stdout.isatty() else 140).print(table)
