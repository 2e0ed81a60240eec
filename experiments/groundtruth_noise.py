"""How the ground truth's paired spread depends on the market's size (docs/analysis.md).

    python experiments/groundtruth_noise.py 10000 40000

For each size N: the incumbent's plan as configured (``constant``) and the same with tv's ads
removed (``ad_burst`` multiplier 0 from step 1), 52 weeks, seeds 0..7, two processes. Prints
per KPI of the incumbent over the year (acquisitions, revenue; customers at the end) the mean
paired contribution, its standard deviation over the seeds, and both per 1,000 customers: if
the spread per 1,000 customers stays put as N grows, more customers do not sharpen the truth
and only seeds do.
"""

from __future__ import annotations

import sys
import time
from functools import partial

import numpy as np
import polars as pl

from sim.analysis import flighting, runs
from sim.analysis import truth as T

SEEDS = list(range(8))


def total(got: dict, kpi: str) -> float:
    """The incumbent's KPI over the year (customers: at the end)."""
    d = got["kpis"].filter(pl.col("brand") == "incumbent")
    return float(d[kpi][-1] if kpi == "customers" else d[kpi].sum())


def main(sizes: list[int]) -> None:
    """Measure and print the spreads for each market size."""
    for n in sizes:
        market = runs.Market.compose([f"market.customers={n}", "sim.steps=364"], 0)
        plan = flighting.make_plan(market.config, "incumbent", "constant", 52, 7, ["tv"])
        off = {"scenario.events": flighting.events(plan.scaled("tv", 0.0), 7)}
        extract = partial(T.extract, steps_per_week=7)
        start = time.time()
        with runs.Runner(market, 2) as runner:
            got = runner.run([runs.Task({}, s, extract) for s in SEEDS]
                             + [runs.Task(off, s, extract) for s in SEEDS])  # fmt: skip
        base, without = got[: len(SEEDS)], got[len(SEEDS) :]
        for kpi in ("acquisitions", "revenue", "customers"):
            d = np.array(
                [total(a, kpi) - total(b, kpi) for a, b in zip(base, without, strict=True)]
            )
            sd = d.std(ddof=1)
            print(f"N={n} {kpi}: mean {d.mean():.1f}, sd over seeds {sd:.1f} "
                  f"({sd / abs(d.mean()):.0%}); per 1,000 customers mean "
                  f"{1000 * d.mean() / n:.2f}, sd {1000 * sd / n:.2f}")  # fmt: skip
        print(f"N={n}: {time.time() - start:.0f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 40_000])
