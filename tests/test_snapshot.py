"""The status-quo snapshot: bit-identical results with and without it, verified on load,
rebuilt when corrupt, computed once for parallel runs, keyed by what the burn-in reads."""

from __future__ import annotations

import multiprocessing as mp
import warnings

import pytest
from clitools import cli

from sim import load_config, simulate
from sim.config import ConfigWarning
from sim.engine import snapshot
from sim.engine.model import JourneyModel

BASE = ["market.customers=2000", "sim.steps=30", "sim.burn_in=60"]


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYSIM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("JOURNEYSIM_NO_CACHE", raising=False)
    return snapshot.SnapshotStore()


def _frames(result):
    return [result.metrics, result.channels, result.stages, result.flows, result.retention]


def test_results_are_identical_with_and_without_the_cache(store, monkeypatch):
    cfg = load_config([*BASE, "scenario=price_war"])
    cold = simulate(cfg)
    assert store.info().snapshots == 1
    warm = simulate(cfg)
    monkeypatch.setenv("JOURNEYSIM_NO_CACHE", "1")
    plain = simulate(cfg)
    for a, b, c in zip(_frames(cold), _frames(warm), _frames(plain), strict=True):
        assert a.equals(b) and a.equals(c)


def test_scenario_arms_share_one_snapshot_and_burn_in_keys_do_not(store):
    base = load_config(BASE)
    keys = {snapshot.burn_in_key(load_config([*BASE, f"scenario={s}"]))
            for s in ("baseline", "price_war", "pr_crisis", "service_outage")}  # fmt: skip
    assert keys == {snapshot.burn_in_key(base)}
    assert snapshot.burn_in_key(load_config([*BASE, "sim.steps=40", "sim.trace=5"])) in keys
    for change in ("seed=1", "sim.burn_in=61", "brands.incumbent.price=0.9",
                   "market.customers=2001", "network=erdos_renyi", "wom=cascade"):  # fmt: skip
        assert snapshot.burn_in_key(load_config([*BASE, change])) not in keys, change


def test_a_corrupt_or_truncated_snapshot_is_rebuilt_with_one_warning(store):
    cfg = load_config(BASE)
    first = simulate(cfg)
    key = snapshot.burn_in_key(cfg)
    path = store.path(key)
    for damage in (lambda b: b[: len(b) // 2], lambda b: b[:100] + b"x" + b[101:]):
        path.write_bytes(damage(path.read_bytes()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            again = simulate(cfg)
        said = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
        assert len(said) == 1 and "not usable" in said[0] and "\n" not in said[0]
        assert again.metrics.equals(first.metrics)
        assert store.load(key) is not None  # rebuilt and saved again


def test_a_missing_checksum_means_incomplete(store):
    cfg = load_config(BASE)
    simulate(cfg)
    key = snapshot.burn_in_key(cfg)
    (store.folder / f"{key}.sha256").unlink()
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert store.load(key) is None
    assert not store.path(key).exists()


def _status(args):
    folder, overrides = args
    import os

    os.environ["JOURNEYSIM_CACHE_DIR"] = folder
    from sim import load_config as load
    from sim.engine.model import JourneyModel as Model

    return Model(load(overrides)).status_quo


def test_two_processes_asking_for_one_snapshot_compute_it_once(store):
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        statuses = pool.map(_status, [(str(store.folder), BASE)] * 2)
    assert sorted(statuses) == ["cached", "from cache"]


def test_the_cache_keeps_under_its_cap_dropping_the_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNEYSIM_CACHE_DIR", str(tmp_path / "cache"))
    for seed in range(3):
        simulate(load_config([*BASE, f"seed={seed}"]))
    store = snapshot.SnapshotStore()
    size = max(s for _, s, _ in store.entries())
    small = snapshot.SnapshotStore(cap=2 * size + size // 2)
    newest = snapshot.burn_in_key(load_config([*BASE, "seed=0"]))
    small.load(newest)  # used last
    assert small.evict() == 1
    assert small.info().snapshots == 2 and small.path(newest).exists()


def test_no_cache_and_the_mesa_engine_simulate_the_burn_in(store, monkeypatch):
    cfg = load_config(BASE)
    assert JourneyModel(cfg).status_quo == "cached"
    assert JourneyModel(cfg).status_quo == "from cache"
    assert JourneyModel(load_config([*BASE, "engine=mesa"])).status_quo == "simulated"
    monkeypatch.setenv("JOURNEYSIM_NO_CACHE", "1")
    assert JourneyModel(cfg).status_quo == "simulated"
    assert JourneyModel(load_config([*BASE, "sim.burn_in=0"])).status_quo == "none"


def test_cache_command_informs_and_clears(tmp_path, store):
    simulate(load_config(BASE))
    env = {"JOURNEYSIM_CACHE_DIR": str(store.folder)}
    info = cli(tmp_path, "cache", "info", env=env)
    assert info.returncode == 0 and "snapshots: 1" in info.stdout
    cleared = cli(tmp_path, "cache", "clear", env=env)
    assert cleared.returncode == 0 and "removed 1 snapshot" in cleared.stdout
    assert store.info().snapshots == 0
    bad = cli(tmp_path, "cache", "wipe", env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
