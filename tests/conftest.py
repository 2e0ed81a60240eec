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

#: Tiny runs that compile the kernels of every network kind and of segments into Numba's disk
#: cache (sim/engine/__pycache__), which the test processes and their subprocesses share.
WARM_UP = (
    (),
    ("segments=example",),
    *((f"network={kind}",) for kind in ("erdos_renyi", "barabasi_albert", "clustered", "complete")),
)


def pytest_sessionstart(session):
    """Compile the kernels once, before any test, when Numba's disk cache is stale.

    A cold compile is about a minute of CPU, and every process that starts before the cache
    is written compiles for itself: at the start of a two-process run with a cold cache, the
    two test processes and each subprocess their first tests start (CLI runs, sweeps, joblib
    workers, Streamlit) all compiled the same kernels at once, some of them twice. Here the
    controlling process (or the only one) compiles them before the test processes start;
    the test processes themselves never do this.
    """
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist test process: its controller has warmed the cache
    from sim.engine.resources import kernels_compiled

    if kernels_compiled():
        return
    for extra in WARM_UP:
        simulate(load_config(["market.customers=300", "sim.steps=2", "sim.burn_in=2", *extra]))


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
