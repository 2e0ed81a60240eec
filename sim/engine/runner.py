"""Run one simulation from a validated config and collect its results."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import polars as pl
from omegaconf import DictConfig

from sim.config import finalise
from sim.engine.model import JourneyModel


@dataclass
class Result:
    """What a run produces.

    Attributes:
        metrics: one row per (step, brand): aware, considering, customers, acquired,
            churned, share, revenue, profit, satisfaction, nps and more.
        stages: customers per (step, stage, brand); brand is set for the customer stage only.
        flows: customers moving from (stage, brand) to (stage, brand) in each step.
        retention: cohort retention by tenure per brand (brand, tenure, cohort_size,
            active, retention).
        channels: one row per (step, brand, channel): impressions, spend, news,
            conversions (last touchpoint), service contacts; word of mouth is the
            pseudo-channel ``word_of_mouth``.
        tenure: revenue per customer-step by tenure band and brand.
        touchpoints: every event of the ``sim.trace`` traced customers (step, customer,
            touch, brand, channel, stage); empty without a trace.
        config: the resolved config of the run.
        segments: with more than one segment (``conf/segments/``), one row per (step, brand,
            segment) with the columns of ``metrics`` (counts and money sum over segments to
            the brand's row); empty otherwise. metrics.parquet holds both
            (``sim.engine.metrics.metrics_file``).
        segment_frames: with more than one segment, ``channels``, ``tenure`` and ``stages`` of each
            segment (a ``segment`` column; each segment's rows in the order of the brand
            frame's); channels.parquet, tenure.parquet, stages.parquet and retention.parquet
            hold the rows (segment ``all``) each followed by its segments'
            (``sim.engine.metrics.segment_file``).
        regions, region_frames: the same by region, with more than one region
            (``conf/regions/``; a ``region`` column); the files hold the segments' rows, then
            the regions'.
    """

    metrics: pl.DataFrame
    stages: pl.DataFrame
    flows: pl.DataFrame
    retention: pl.DataFrame
    channels: pl.DataFrame
    tenure: pl.DataFrame
    touchpoints: pl.DataFrame
    config: DictConfig
    segments: pl.DataFrame = field(default_factory=pl.DataFrame)
    segment_frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    regions: pl.DataFrame = field(default_factory=pl.DataFrame)
    region_frames: dict[str, pl.DataFrame] = field(default_factory=dict)


#: Customers per thread when ``engine.threads`` is null: below this a second thread costs more
#: in start-up and waiting than it saves (measured: 4,000 to 64,000 customers run faster on
#: one thread than on two, and far faster when other processes share the cores).
CUSTOMERS_PER_THREAD = 50_000


def auto_threads(customers: int, limit: int) -> int:
    """Threads for a market of ``customers``: min(limit, max(1, customers // 50,000))."""
    return max(1, min(limit, int(customers) // CUSTOMERS_PER_THREAD))


def set_threads(threads: int | None, customers: int | None = None) -> None:
    """Use ``threads`` Numba threads; results do not depend on it.

    None picks one thread per 50,000 customers, up to every core (all cores when
    ``customers`` is not given).
    """
    limit = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        numba.set_num_threads(limit if customers is None else auto_threads(customers, limit))
    else:
        numba.set_num_threads(max(1, min(int(threads), limit)))


def simulate(cfg: DictConfig, progress: Callable[[int], None] | None = None) -> Result:
    """Simulate the market described by ``cfg`` for ``sim.steps`` steps.

    Args:
        cfg: a config from ``load_config`` (validated again here, so hand-edited ones are safe).
        progress: called with the step number after every step.

    Returns:
        The run's metrics, stages, flows, retention, channels, tenure and touchpoints as
        polars frames.
    """
    from sim.engine.resources import check_memory, record_rate

    cfg = finalise(cfg)
    check_memory(cfg)
    set_threads(cfg.engine.get("threads"), int(cfg.market.customers))
    model = JourneyModel(cfg)
    start = time.perf_counter()
    model.run(progress=progress)
    record_rate(model.engine, model.customers.n * model.n_steps, time.perf_counter() - start,
                numba.get_num_threads() if model.engine == "numba" else 1)  # fmt: skip
    rec = model.recorder
    horizon = float(cfg.finance.clv_horizon_years) * float(cfg.sim.steps_per_year)
    return Result(
        metrics=rec.metrics(model.market.discount_rate, horizon),
        stages=rec.stages(),
        flows=rec.flow_frame(),
        retention=rec.retention(model.cohort_counts()),
        channels=rec.channels(),
        tenure=rec.tenure(),
        touchpoints=model.tracer.frame(),
        config=cfg,  # finalise's own copy, which the run only reads
        segments=rec.segment_metrics(model.market.discount_rate, horizon),
        segment_frames=rec.segment_frames(cohort=model.cohort_cell_counts()),
        regions=rec.region_metrics(model.market.discount_rate, horizon),
        region_frames=rec.region_frames(model.cohort_cell_counts()),
    )
