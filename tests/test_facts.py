"""The default market against the stylised facts it is calibrated to (issue 8), at small N.

The full check is ``journeysim facts`` (20,000 customers, several seeds); here the cheap facts
run on a smaller market over a few seeds, with the default burn-in, so a change to a rule or
a default that breaks the calibration fails a test.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from clitools import cli

from sim.analysis import facts as F

SEEDS = range(3)
MARKET = ("market.customers=8000",)


@pytest.fixture(scope="module")
def results():
    return F.run_seeds(MARKET, SEEDS, jobs=2)


@pytest.fixture(scope="module")
def table(results):
    return F.measure(results)


def _mean(table: pl.DataFrame, fact: str) -> float:
    return table.filter(pl.col("fact") == fact)["mean"].item()


def test_every_fact_of_the_table_is_measured(table):
    assert table.height >= len(F.FACTS)
    assert table["mean"].null_count() == 0
    assert set(table.columns) >= {"fact", "source", "low", "high", "mean", "ci_low", "ci_high"}


@pytest.mark.parametrize(
    "fact",
    [
        "stationary brand shares", "stationary journey stages",
        "annual churn (incumbent)", "annual churn (challenger)", "annual churn (budget)",
        "NPS range (incumbent)", "NPS range (challenger)", "NPS range (budget)",
        "marketing spend / revenue (incumbent)", "marketing spend / revenue (challenger)",
        "marketing spend / revenue (budget)",
        "projected CLV / CAC (incumbent)", "projected CLV / CAC (challenger)",
        "projected CLV / CAC (budget)",
        "loyal customers spend more (incumbent)",
        "word of mouth's share of acquisitions",
    ],
)  # fmt: skip
def test_the_default_market_reproduces_the_fact(table, fact):
    row = table.filter(pl.col("fact") == fact).row(0, named=True)
    assert row["pass"], row


def test_the_best_experience_has_the_highest_nps(table):
    assert _mean(table, "best experience has the highest NPS") > 0


def test_churn_comes_from_every_source_and_usage_noise_does_not_dominate(results):
    shares = dict(F.sources(results).iter_rows())
    assert set(shares) == {"hazard", "shock", "switch", "exit"}
    assert all(v > 3 for v in shares.values()), shares
    assert shares["shock"] < 40, shares  # very bad touchpoints no longer drive half of churn
    assert math.isclose(sum(shares.values()), 100.0, rel_tol=1e-9)


def test_facts_command_prints_the_table_and_writes_parquet(tmp_path):
    proc = cli(tmp_path, "facts", "--seeds", "2", "--jobs", "2", "--out", "facts",
               "market.customers=2000", "sim.steps=60", "sim.burn_in=60")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "annual churn" in proc.stdout and "churn by source" in proc.stdout
    table = pl.read_parquet(tmp_path / "facts" / "facts.parquet")
    assert {"fact", "source", "low", "high", "mean", "ci_low", "ci_high", "pass"} <= set(
        table.columns
    )


def test_facts_command_refuses_bad_input_in_one_line(tmp_path):
    proc = cli(tmp_path, "facts", "--seeds", "1")
    assert proc.returncode == 2 and "--seeds=1" in proc.stderr
    proc = cli(tmp_path, "facts", "wom.talk_rate=2")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "journeysim: error: wom.talk_rate=2: must be between 0 and 1"
    ]
