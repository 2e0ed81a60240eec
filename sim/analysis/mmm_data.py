"""Media-mix data of a ground-truth world: ``mmm.csv`` and the layouts MMM libraries read.

``mmm_frame`` builds one row per week and region from one run (the world's data, the first
replicate seed's plan run): ``week``, ``date_week`` (the Monday starting the week, from
``START_DATE``), ``region``, ``population`` (people in the market), per channel of the plan
``spend_<c>`` and ``impressions_<c>`` (the focal brand's), per brand ``acquisitions_<b>``,
``customers_<b>`` (at the week's end), ``revenue_<b>``, ``price_<b>`` (mean over the week),
and controls: ``competitor_spend_<b>`` (each other brand's ad spend) and ``event_<k>_<kind>``
(the share of the week's steps the scenario's k-th event is active).

Adapters (no dependency on either library; the loading calls are in ``LOADING``):

- ``pymc_marketing_frame``: PyMC-Marketing's example layout: ``date_week``, ``y`` (the KPI),
  one spend column per channel named by the channel, the controls, ``t`` (0, 1, ...: a trend).
- ``meridian_frame``: Meridian's national CSV layout (``national_media.csv``): ``time``,
  ``<c>_impression``, ``<c>_spend``, controls, ``conversions`` (the KPI), ``revenue_per_
  conversion`` (1 when the KPI is revenue); with more than one region also ``geo`` and
  ``population`` (Meridian's geo layout).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from sim.analysis.flighting import Plan

#: The Monday the first simulated week starts on (the dates are labels only).
START_DATE = dt.date(2024, 1, 1)


def _safe(name: str) -> str:
    """A name as a column suffix: letters, digits and underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def event_shares(events: list[dict], weeks: int, steps_per_week: int) -> dict[str, list[float]]:
    """``event_<k>_<kind>`` -> per week the share of its steps in the event's window."""
    out = {}
    for k, ev in enumerate(events):
        start = int(ev.get("start", 0) or 0)
        end = ev.get("end")
        col = f"event_{k}_{_safe(str(ev['kind']))}"
        shares = []
        for w in range(weeks):
            steps = range(w * steps_per_week + 1, (w + 1) * steps_per_week + 1)
            on = sum(1 for t in steps if t >= start and (end is None or t < int(end)))
            shares.append(on / steps_per_week)
        out[col] = shares
    return out


def mmm_frame(
    kpis: pl.DataFrame,
    media: pl.DataFrame,
    plan: Plan,
    brands: list[str],
    population: int,
    events: list[dict],
    steps_per_week: int,
) -> pl.DataFrame:
    """The wide weekly table of one run (see the module docstring).

    Args:
        kpis: ``truth.weekly_kpis`` of the run.
        media: ``truth.weekly_media`` of the run.
        plan: the flighting plan (focal brand, channels, regions).
        brands: the market's brands.
        population: people in the market.
        events: the scenario's own events (not the plan's), as plain mappings.
        steps_per_week: simulation steps per week.
    """
    weeks = plan.weeks
    cols: dict[str, list] = {
        "week": list(range(1, weeks + 1)),
        "date_week": [START_DATE + dt.timedelta(weeks=w) for w in range(weeks)],
        "region": [plan.regions[0]] * weeks,
        "population": [population] * weeks,
    }
    mine = media.filter(pl.col("brand") == plan.brand)
    for c in plan.channels:
        rows = mine.filter(pl.col("channel") == c).sort("week")
        cols[f"spend_{c}"] = rows["spend"].to_list()
        cols[f"impressions_{c}"] = rows["impressions"].to_list()
    for b in brands:
        rows = kpis.filter(pl.col("brand") == b).sort("week")
        for k in ("acquisitions", "customers", "revenue", "price"):
            cols[f"{k}_{b}"] = rows[k].to_list()
    for b in brands:
        if b != plan.brand:
            cols[f"competitor_spend_{b}"] = (
                kpis.filter(pl.col("brand") == b).sort("week")["ad_spend"].to_list()
            )
    cols |= event_shares(events, weeks, steps_per_week)
    return pl.DataFrame(cols)


def controls(frame: pl.DataFrame) -> list[str]:
    """The control columns of an ``mmm_frame``: competitor spend and events."""
    return [c for c in frame.columns if c.startswith(("competitor_spend_", "event_"))]


def pymc_marketing_frame(frame: pl.DataFrame, plan: Plan, kpi: str) -> pl.DataFrame:
    """PyMC-Marketing's layout: date_week, y, one spend column per channel, controls, t."""
    return frame.select(
        pl.col("date_week"),
        pl.col(f"{kpi}_{plan.brand}").alias("y"),
        *[pl.col(f"spend_{c}").alias(c) for c in plan.channels],
        *controls(frame),
        pl.int_range(0, frame.height, dtype=pl.Int64).alias("t"),
    )


def meridian_frame(frame: pl.DataFrame, plan: Plan, kpi: str) -> pl.DataFrame:
    """Meridian's CSV layout (national; ``geo`` and ``population`` with several regions)."""
    geo = [pl.col("region").alias("geo"), pl.col("population")] if len(plan.regions) > 1 else []
    return frame.select(
        *geo,
        pl.col("date_week").alias("time"),
        *[pl.col(f"impressions_{c}").alias(f"{c}_impression") for c in plan.channels],
        *[pl.col(f"spend_{c}").alias(f"{c}_spend") for c in plan.channels],
        *controls(frame),
        pl.col(f"{kpi}_{plan.brand}").alias("conversions"),
        pl.lit(1.0).alias("revenue_per_conversion"),
    )


def loading(plan: Plan, kpi: str, control_columns: list[str]) -> str:
    """The exact calls that load the adapters' files (for README.txt and the docs)."""
    chans = list(plan.channels)
    kpi_type = "revenue" if kpi == "revenue" else "non_revenue"
    return f"""\
PyMC-Marketing (pip install pymc-marketing; the MMM class of pymc_marketing.mmm, 0.8 or later):

    import pandas as pd
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation
    data = pd.read_csv("pymc_marketing.csv", parse_dates=["date_week"])
    mmm = MMM(date_column="date_week", channel_columns={chans!r},
              control_columns={[*control_columns, "t"]!r},
              adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation())
    mmm.fit(X=data.drop(columns="y"), y=data["y"])

Meridian (pip install google-meridian):

    from meridian.data import load
    coord_to_columns = load.CoordToColumns(
        time="time", kpi="conversions", revenue_per_kpi="revenue_per_conversion",
        controls={control_columns!r},
        media={[f"{c}_impression" for c in chans]!r},
        media_spend={[f"{c}_spend" for c in chans]!r})
    data = load.CsvDataLoader(
        csv_path="meridian.csv", kpi_type="{kpi_type}", coord_to_columns=coord_to_columns,
        media_to_channel={ {f"{c}_impression": c for c in chans}!r},
        media_spend_to_channel={ {f"{c}_spend": c for c in chans}!r}).load()

(With several regions meridian.csv also has geo and population: add geo="geo",
population="population" to CoordToColumns.) Controls that never vary (no events, a
competitor that never changes its spend) carry no information; drop them if a library
complains.
"""
