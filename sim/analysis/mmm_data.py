"""Media-mix data of a ground-truth world: ``mmm.csv`` and the layouts MMM libraries read.

``mmm_frame`` builds one row per week and region from one run (the world's data, the first
replicate seed's plan run): ``week``, ``date_week`` (the Monday starting the week, from
``START_DATE``), ``region``, ``population`` (people in the market), per channel of the plan
``spend_<c>`` and ``impressions_<c>`` (the focal brand's), per brand ``acquisitions_<b>``,
``customers_<b>`` (at the week's end), ``revenue_<b>``, ``price_<b>`` (mean over the week),
and controls: ``competitor_spend_<b>`` (each other brand's ad spend) and ``event_<k>_<kind>``
(the share of the week's steps the scenario's k-th event is active).

With more than one region (``geo_frame``) the table has, per week, the market's row (region
``all``, as the engine's files; the same columns as a market of one region) and then one row
per region: ``population`` the region's people (counted from the run's draw of regions,
``region_populations``), spend and impressions of the focal brand's ads in the region, each
brand's KPIs and price there, the other brands' ad spend there, and an event's share 0 in a
region it does not name (an event naming a region counts in the ``all`` row as in any
other). The regions' rows sum to the ``all`` row (spend, impressions, acquisitions,
customers, revenue, competitor spend).

Adapters (no dependency on either library; the loading calls are in ``LOADING``):

- ``pymc_marketing_frame``: PyMC-Marketing's example layout: ``date_week``, ``y`` (the KPI),
  one spend column per channel named by the channel, the controls, ``t`` (0, 1, ...: a trend);
  the national sum (the ``all`` rows) with several regions, and ``pymc_marketing_geo_frame``
  the same with a ``geo`` column after ``date_week``, one row per week and region (the
  layout of PyMC-Marketing's multidimensional MMM, ``dims=("geo",)``).
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
#: The region label of the market's rows with more than one region.
ALL = "all"


def _safe(name: str) -> str:
    """A name as a column suffix: letters, digits and underscores."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def event_shares(
    events: list[dict], weeks: int, steps_per_week: int, region: str | None = None
) -> dict[str, list[float]]:
    """``event_<k>_<kind>`` -> per week the share of its steps in the event's window.

    In ``region`` (None: the market) an event that names another region has share 0.
    """
    out = {}
    for k, ev in enumerate(events):
        if region is not None and ev.get("region") not in (None, region):
            out[f"event_{k}_{_safe(str(ev['kind']))}"] = [0.0] * weeks
            continue
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
    region: str | None = None,
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
        region: the region of ``kpis`` and ``media`` (rows of one region; their ``region``
            column is not read) or None for the market's rows (labelled ``plan.regions[0]``
            with one region, ``all`` with more).
    """
    weeks = plan.weeks
    label = region or (plan.regions[0] if len(plan.regions) == 1 else ALL)
    cols: dict[str, list] = {
        "week": list(range(1, weeks + 1)),
        "date_week": [START_DATE + dt.timedelta(weeks=w) for w in range(weeks)],
        "region": [label] * weeks,
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
    cols |= event_shares(events, weeks, steps_per_week, region)
    return pl.DataFrame(cols)


def geo_frame(
    run: dict,
    plan: Plan,
    brands: list[str],
    populations: dict[str, int],
    events: list[dict],
    steps_per_week: int,
) -> pl.DataFrame:
    """The weekly table of a market of several regions: ``all`` then each region, per week.

    ``run`` is one run's extract (``truth.extract`` with ``regional``); ``populations`` the
    people of each region (their sum is the market's).
    """
    parts = [mmm_frame(run["kpis"], run["media"], plan, brands, sum(populations.values()),
                       events, steps_per_week)]  # fmt: skip
    for g in plan.regions:
        kpis = run["kpis_region"].filter(pl.col("region") == g)
        media = run["media_region"].filter(pl.col("region") == g)
        parts.append(mmm_frame(kpis, media, plan, brands, populations[g], events,
                               steps_per_week, g))  # fmt: skip
    order = {name: k for k, name in enumerate([ALL, *plan.regions])}
    frame = pl.concat(parts, how="vertical_relaxed")
    return frame.sort(pl.col("week"), pl.col("region").replace_strict(order, return_dtype=pl.Int64))


def national(frame: pl.DataFrame) -> pl.DataFrame:
    """The market's rows of an ``mmm_frame`` or ``geo_frame`` (all of a national one)."""
    regions = frame["region"].unique()
    return frame.filter(pl.col("region") == ALL) if len(regions) > 1 else frame


def regional(frame: pl.DataFrame) -> pl.DataFrame:
    """The regions' rows of a ``geo_frame`` (without the ``all`` rows)."""
    return frame.filter(pl.col("region") != ALL)


def region_populations(cfg, seed: int, regions: tuple[str, ...]) -> dict[str, int]:
    """People per region in the run of ``seed``: the engine's own draw of regions, counted.

    ``sim.engine.regions.draw_regions`` (read only) draws each customer's region from the
    seed alone (counter-based, independent of everything else), so the counts are those of
    every run on that seed.
    """
    import numpy as np

    from sim.engine.regions import build_regions, draw_regions

    names = list(cfg.brands)
    spec = build_regions(cfg, names, list(cfg.channels), np.zeros(len(names), dtype=np.int64))
    if list(spec.names) != list(regions):
        raise ValueError(f"regions {spec.names} of the config differ from the plan's {regions}")
    n = int(cfg.market.customers)
    region, _ = draw_regions(int(seed), n, spec, str(cfg.network.kind),
                             np.zeros(n, dtype=np.uint8))  # fmt: skip
    counts = np.bincount(region, minlength=len(regions))
    return {g: int(counts[k]) for k, g in enumerate(regions)}


def controls(frame: pl.DataFrame) -> list[str]:
    """The control columns of an ``mmm_frame``: competitor spend and events."""
    return [c for c in frame.columns if c.startswith(("competitor_spend_", "event_"))]


def pymc_marketing_frame(frame: pl.DataFrame, plan: Plan, kpi: str) -> pl.DataFrame:
    """PyMC-Marketing's layout: date_week, y, one spend column per channel, controls, t.

    The market's rows (the national sum with several regions).
    """
    frame = national(frame)
    return frame.select(
        pl.col("date_week"),
        pl.col(f"{kpi}_{plan.brand}").alias("y"),
        *[pl.col(f"spend_{c}").alias(c) for c in plan.channels],
        *controls(frame),
        pl.int_range(0, frame.height, dtype=pl.Int64).alias("t"),
    )


def pymc_marketing_geo_frame(frame: pl.DataFrame, plan: Plan, kpi: str) -> pl.DataFrame:
    """PyMC-Marketing's multidimensional layout: date_week, geo, y, spend per channel, ..., t.

    One row per week and region (the regions' rows of a ``geo_frame``); ``t`` is the week's
    index (0, 1, ...), the same in every region.
    """
    frame = regional(frame)
    return frame.select(
        pl.col("date_week"),
        pl.col("region").alias("geo"),
        pl.col(f"{kpi}_{plan.brand}").alias("y"),
        *[pl.col(f"spend_{c}").alias(c) for c in plan.channels],
        *controls(frame),
        (pl.col("week") - 1).cast(pl.Int64).alias("t"),
    )


def meridian_frame(frame: pl.DataFrame, plan: Plan, kpi: str) -> pl.DataFrame:
    """Meridian's CSV layout (national; ``geo`` and ``population`` with several regions).

    With several regions the rows are the regions' (Meridian's geo layout, one row per geo
    and week: ``geo``, ``time``, ``population`` first); Meridian sums geos itself.
    """
    geo = []
    if len(plan.regions) > 1:
        frame = regional(frame)
        geo = [pl.col("region").alias("geo")]
    pop = [pl.col("population")] if geo else []
    return frame.select(
        *geo,
        pl.col("date_week").alias("time"),
        *pop,
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
""" + (_geo_loading(chans, control_columns) if len(plan.regions) > 1 else "")


def _geo_loading(chans: list[str], control_columns: list[str]) -> str:
    """The loading calls' notes for a market of several regions."""
    return f"""
Regions: meridian.csv is Meridian's geo layout (one row per geo and week, with geo and
population columns; Meridian sums the geos itself). pymc_marketing.csv
is the national sum (one row per week: the mmm.csv rows of region "all"), which the MMM class
above reads as it is; pymc_marketing_geo.csv has one row per week and region with a geo
column, for PyMC-Marketing's multidimensional MMM (pymc_marketing.mmm.multidimensional, the
MMM class of 1.0):

    from pymc_marketing.mmm.multidimensional import MMM
    data = pd.read_csv("pymc_marketing_geo.csv", parse_dates=["date_week"])
    mmm = MMM(date_column="date_week", target_column="y", channel_columns={chans!r},
              control_columns={[*control_columns, "t"]!r}, dims=("geo",),
              adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation())
    mmm.fit(X=data.drop(columns="y"), y=data["y"])
"""
