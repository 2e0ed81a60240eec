"""Headline KPIs per brand from a run's metrics, and their terminal table.

Definitions (over the recorded steps 1..T of a run, per brand):

- retention: customers at the end / (customers at the start + acquired);
- churn_rate: churned / mean customers; annual_churn: churn_rate x steps_per_year / T;
- cac: (ad spend + acquisition costs) / acquired (what winning a customer costs, fully
  loaded: the ads and the onboarding, commission or welcome offer; switchers included);
- clv: projected customer lifetime value at the end (``agents.rules.projected_clv``);
  profit_per_customer: realised discounted profit per customer served;
- cost_to_keep: service and retention-programme cost per customer-year (what keeping a
  customer costs), beside cac (what winning one costs);
- marketing_share: ad spend / revenue; wom_share: acquisitions whose last touchpoint was
  word of mouth about the brand / acquired.
"""

from __future__ import annotations

import polars as pl

from sim.engine.segment_spec import brand_rows

KPI_COLUMNS = (
    "brand", "customers_start", "customers_end", "share_end", "acquired", "churned",
    "retention", "churn_rate", "annual_churn", "revenue", "profit", "clv",
    "profit_per_customer", "nps_end", "cac", "cost_to_keep", "marketing_share", "wom_share",
)  # fmt: skip


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def brand_kpis(metrics: pl.DataFrame, steps_per_year: float = 365.0) -> pl.DataFrame:
    """One row per brand of key performance indicators (see the module docstring).

    A segmented metrics file's brand totals are used (``segment_spec.brand_rows``).
    """
    metrics = brand_rows(metrics)
    last = metrics["step"].max()
    years = max(int(last or 0), 1) / steps_per_year
    first = metrics.filter(pl.col("step") == 0).select("brand", customers_start="customers")
    end = metrics.filter(pl.col("step") == last).select(
        "brand", customers_end="customers", share_end="share", clv="clv",
        profit_per_customer="profit_per_customer", nps_end="nps",
    )  # fmt: skip
    run = metrics.filter(pl.col("step") > 0) if last else metrics
    totals = run.group_by("brand", maintain_order=True).agg(
        pl.col("acquired").sum(),
        pl.col("acquired_wom").sum(),
        pl.col("churned").sum(),
        pl.col("ad_spend").sum(),
        (pl.col("acquisition_cost") if "acquisition_cost" in run.columns else pl.lit(0.0))
        .sum()
        .alias("acquisition_cost"),
        pl.col("service_cost").sum(),
        pl.col("programme_cost").sum(),
        pl.col("customers").mean().alias("mean_customers"),
        pl.col("revenue").sum().alias("run_revenue"),
    )
    money = metrics.group_by("brand", maintain_order=True).agg(
        pl.col("revenue").sum(), pl.col("profit").sum()
    )
    out = first.join(end, on="brand").join(totals, on="brand", how="left").join(money, on="brand")
    keep = pl.col("service_cost") + pl.col("programme_cost")
    out = out.with_columns(
        _ratio(pl.col("customers_end"), pl.col("customers_start") + pl.col("acquired")).alias(
            "retention"
        ),
        _ratio(pl.col("churned"), pl.col("mean_customers")).alias("churn_rate"),
        _ratio(pl.col("ad_spend") + pl.col("acquisition_cost"), pl.col("acquired")).alias("cac"),
        (_ratio(keep, pl.col("mean_customers")) / years).alias("cost_to_keep"),
        _ratio(pl.col("ad_spend"), pl.col("run_revenue")).alias("marketing_share"),
        _ratio(pl.col("acquired_wom"), pl.col("acquired")).alias("wom_share"),
    ).with_columns((pl.col("churn_rate") / years).alias("annual_churn"))
    return out.select(KPI_COLUMNS)


def print_kpis(metrics: pl.DataFrame, title: str = "journeysim: retention and revenue") -> None:
    """Print the KPI table to the terminal."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sim.config.errors import printable

    kpis = brand_kpis(metrics)
    table = Table(title=Text(printable(title)))  # names are text, never markup or escapes
    heads = ("brand", "customers", "share", "acquired", "churned", "retention", "revenue",
             "profit", "CLV", "CAC", "NPS")  # fmt: skip
    for h in heads:
        table.add_column(h, justify="left" if h == "brand" else "right")

    def num(x, fmt: str) -> str:
        return "-" if x is None else format(x, fmt)

    for r in kpis.iter_rows(named=True):
        table.add_row(
            Text(printable(r["brand"])),
            f"{r['customers_start']:,} -> {r['customers_end']:,}",
            num(r["share_end"], ".1%"),
            f"{r['acquired']:,}",
            f"{r['churned']:,}",
            num(r["retention"], ".1%"),
            num(r["revenue"], ",.0f"),
            num(r["profit"], ",.0f"),
            num(r["clv"], ",.0f"),
            num(r["cac"], ",.0f"),
            num(r["nps_end"], "+.1f"),
        )
    import sys

    Console(width=None if sys.stdout.isatty() else 140).print(table)
