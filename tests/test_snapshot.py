"""The status-quo snapshot: bit-identical results with and without it, verified on load,
rebuilt when corrupt, computed once for parallel runs, keyed by what the burn-in reads."""

from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pytest
from clitools import cli, command_runs

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


# -- what-ifs from today --------------------------------------------------------------------------
def test_a_change_today_starts_from_the_shared_status_quo_and_a_long_run_one_does_not(store):
    import polars as pl

    base = simulate(load_config(BASE))
    today = simulate(load_config([*BASE, "+scenario.changes={brands.incumbent.price: 1.5}"]))
    long_run = simulate(load_config([*BASE, "brands.incumbent.price=1.5"]))

    def at(result, step):
        return result.metrics.filter(pl.col("step") == step).sort("brand")

    assert (
        at(today, 0)
        .select("customers", "satisfaction")
        .equals(at(base, 0).select("customers", "satisfaction"))
    )
    assert not at(long_run, 0)["customers"].equals(at(base, 0)["customers"])
    inc = pl.col("brand") == "incumbent"
    assert today.metrics.filter(inc & (pl.col("step") == 1))["price"][0] == 1.5
    assert base.metrics.filter(inc & (pl.col("step") == 1))["price"][0] != 1.5
    assert today.config.scenario.changes == {"brands.incumbent.price": 1.5}


@pytest.mark.parametrize(
    "change, words",
    [
        ("market.customers: 10", "cannot change at step 0"),
        ("network.kind: complete", "cannot change at step 0"),
        ("wom.rule: cascade", "cannot change at step 0"),
        ("brands.incumbent.price: -1", "scenario.changes.brands.incumbent.price=-1"),
        ("brands.ghost.price: 1", "no such key"),
    ],
)
def test_changes_that_cannot_act_today_are_one_line_errors(change, words):
    from sim import ConfigError

    with pytest.raises(ConfigError, match=words):
        load_config([*BASE, f"+scenario.changes={{{change}}}"])


def test_the_app_says_which_question_and_its_command_reproduces_either():
    from sim import dashboard as dash

    cfg = load_config([])
    specs = dash.lever_specs(cfg)
    lever = next(x for x in specs if x.keys and x.keys[0] == "wom.talk_rate")
    for long_run in (False, True):
        s = dash.Settings(customers=1000, replicates=2, steps=30, scenarios=(),
                          levers=((lever.id, 0.3),), long_run=long_run)  # fmt: skip
        jobs = dash.plan(s, specs, cfg)
        levers_job = jobs[-1].overrides
        if long_run:
            assert "wom.talk_rate=0.3" in levers_job
            assert "long-run" in s.describe()
        else:
            assert "++scenario.changes={wom.talk_rate: 0.3}" in levers_job
            assert "from today" in s.describe()
        (command,) = dash.reproduce_commands(s, specs, cfg)
        assert command_runs(command) == sorted(tuple(sorted(j.overrides)) for j in jobs)
        assert ("--long-run" in command) == long_run
        for job in jobs:
            load_config(list(job.overrides), trust="data")  # valid, and data from the app
        back, problems = dash.from_query(dash.to_query(s), ["baseline"], specs)
        assert back.long_run == long_run and not problems


# -- honest estimates -------------------------------------------------------------------------------
def test_the_estimate_shows_burn_in_compile_and_recorded_steps_apart(store, tmp_path):
    from sim.engine.resources import estimate, measured_rate

    cfg = load_config([*BASE, "market.customers=20000"])
    before = estimate(cfg)
    assert not before.burn_in_cached and before.burn_in_seconds > 0
    assert before.total_seconds == pytest.approx(
        before.compile_seconds + before.burn_in_seconds + before.seconds
    )
    simulate(cfg)  # 20,000 x 30 customer-steps: too few to update the measured rate
    after = estimate(cfg)
    assert after.burn_in_cached and after.burn_in_seconds == 0.0
    assert measured_rate("numba") is None
    simulate(load_config([*BASE, "market.customers=40000", "sim.steps=30"]))
    assert measured_rate("numba") > 0
    proc = cli(tmp_path, *BASE, "market.customers=20000", "--dry-run",
               env={"JOURNEYSIM_CACHE_DIR": str(store.folder)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if "estimated time" in x)
    assert "burn-in from cache" in line and "recorded steps" in line and "compile" in line


def test_a_price_change_moves_revenue_not_the_unit_cost():
    from agents.rules import margin_at_price
    from sim.config.changes import apply_changes

    assert margin_at_price(0.3, 1.0, 1.1) == pytest.approx(1 - 0.7 / 1.1)
    assert margin_at_price(0.3, 1.0, 0.5) == pytest.approx(-0.4)  # below the unit cost
    cfg = load_config(["+scenario.changes={brands.incumbent.price: 1.2}"])
    today = apply_changes(cfg)
    p0, m0 = cfg.brands.incumbent.price, cfg.brands.incumbent.margin
    assert today.brands.incumbent.price * (1 - today.brands.incumbent.margin) == pytest.approx(
        p0 * (1 - m0)
    )
    both = apply_changes(load_config(
        ["+scenario.changes={brands.incumbent.price: 1.2, brands.incumbent.margin: 0.5}"]))  # fmt: skip
    assert both.brands.incumbent.margin == 0.5  # a margin changed too is taken as given


def test_a_run_from_the_cache_does_not_draw_the_customers_it_restores(store, monkeypatch):
    from sim.engine import model as model_module

    cfg = load_config(BASE)
    first = JourneyModel(cfg)
    draws = []
    real = model_module.build_customers
    monkeypatch.setattr(model_module, "build_customers", lambda *a: draws.append(1) or real(*a))
    again = JourneyModel(cfg)
    assert (again.status_quo, draws) == ("from cache", [])
    assert (again.customers.satisfaction == first.customers.satisfaction).all()


def test_a_snapshot_that_does_not_fit_changes_nothing():
    import numpy as np

    class Holder:
        def __init__(self):
            self.a = np.zeros(3)
            self.b = np.zeros(2)

    holder = Holder()
    with pytest.raises(ValueError, match="another shape"):
        snapshot.restore({"h": holder}, {"h.a": np.ones(3), "h.b": np.ones(5)})
    assert not holder.a.any() and not holder.b.any()


def test_a_snapshot_of_another_layout_is_replaced_and_the_customers_are_drawn(store, monkeypatch):
    import numpy as np

    cfg = load_config(BASE)
    key = snapshot.burn_in_key(cfg)
    good = snapshot.capture(JourneyModel(cfg)._status_quo_state())
    store.save(key, {**good, "customers.tenure": np.zeros(7, dtype=np.uint16)})  # stale
    stale = simulate(cfg)
    monkeypatch.setenv("JOURNEYSIM_NO_CACHE", "1")
    plain = simulate(cfg)
    for a, b in zip(_frames(stale), _frames(plain), strict=True):
        assert a.equals(b)


def test_load_views_every_array_as_saved(store):
    arrays = {
        "a.stage": np.arange(7, dtype=np.int8),
        "a.flags": np.array([True, False, True]),
        "a.counts": np.arange(12, dtype=np.uint16).reshape(3, 4),
        "a.fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "a.empty": np.zeros((0, 3)),
        "b.value": np.array(2.5),
        "b.count": np.array(7),
    }
    store.save("k", arrays)
    loaded = store.load("k")
    assert loaded.keys() == arrays.keys()
    for name, value in arrays.items():
        got = loaded[name]
        assert got.dtype == value.dtype and got.shape == value.shape, name
        assert np.array_equal(got, value), name
        assert not got.flags.writeable  # views into the file's buffer, copied by restore


def test_a_snapshot_of_objects_is_not_loaded(store):
    store.save("k", {"a.names": np.array(["x", None], dtype=object)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.load("k") is None
    assert any("not usable" in str(w.message) for w in caught)
