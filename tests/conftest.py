"""Shared fixtures: cached small simulations, so tests that look at the same run share it."""

from __future__ import annotations

import functools
import os
import tempfile

import polars as pl
import pytest
from hypothesis import settings

from sim import load_config, simulate

# Property tests explore the same values on every run, so CI is reproducible; a value a
# random run once found goes into the test as an @example.
settings.register_profile("journeysim", derandomize=True)

# Status-quo snapshots of the tests go to a folder of their own (shared by the two test
# processes and their subprocesses), never the user's cache.
os.environ.setdefault(
    "JOURNEYSIM_CACHE_DIR", os.path.join(tempfile.gettempdir(), "journeysim-test-snapshots")
)
settings.load_profile("journeysim")
# Static images need a headless browser (about 3 s to start in every test process and every
# subprocess): tests/test_plots_images.py turns them back on where they are tested.
os.environ.setdefault("JOURNEYSIM_NO_IMAGES", "1")

#: The small baseline market used across the model tests (a short burn-in: these tests check
#: mechanisms and identities; the calibrated steady state is checked by test_facts.py).
BASE = ("market.customers=3000", "sim.steps=60", "sim.burn_in=30")
BRANDS = ("incumbent", "challenger", "budget")
CHANNELS = ("tv", "social", "search", "reviews", "store", "app", "service")


@functools.cache
def _run(overrides: tuple[str, ...]):
    return simulate(load_config(list(overrides)))


def run(*overrides: str):
    """Simulate with Hydra overrides; identical override lists share one (cached) result."""
    return _run(tuple(overrides))


@pytest.fixture(scope="session")
def baseline():
    """The default three-brand market at N=3000 for 60 steps, seed 1."""
    return run(*BASE, "seed=1")


def brand_metrics(result, brand: str) -> pl.DataFrame:
    """Rows of one brand, ordered by step."""
    return result.metrics.filter(pl.col("brand") == brand).sort("step")


def window_sum(result, brand: str, column: str, start: int, end: int) -> int:
    """Sum of ``column`` for ``brand`` over steps start <= t < end."""
    m = result.metrics.filter(
        (pl.col("brand") == brand) & (pl.col("step") >= start) & (pl.col("step") < end)
    )
    return m[column].sum()
