"""Model-level tests through the public API: accounting identities, bounds, determinism,
networks, directional behaviour and config validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import BASE, BRANDS, CHANNELS, brand_metrics, run, window_sum
from omegaconf import OmegaConf

from sim import ConfigError, load_config, simulate
from sim.engine.network import KINDS, build_network

N = 3000
STEPS = 60


# -- accounting identities ---------------------------------------------------------------
def test_result_shapes(baseline):
    m = baseline.metrics
    assert m.height == (STEPS + 1) * len(BRANDS)
    assert sorted(m["step"].unique().to_list()) == list(range(STEPS + 1))
    assert set(m["brand"].unique().to_list()) == set(BRANDS)
    assert baseline.flows["step"].min() == 1
    assert baseline.flows["step"].max() == STEPS


def test_customers_follow_acquired_minus_churned(baseline):
    for b in BRANDS:
        m = brand_metrics(baseline, b)
        customers = m["customers"].to_numpy()
        acquired = m["acquired"].to_numpy()
        churned = m["churned"].to_numpy()
        assert np.array_equal(customers[1:], customers[:-1] + acquired[1:] - churned[1:]), b
        assert acquired[0] == 0 and churned[0] == 0


def test_market_actually_moves(baseline):
    # guard against the identities holding trivially
    m = baseline.metrics
    assert m["acquired"].sum() > 30
    assert m["churned"].sum() > 30
    assert m["lapsed"].sum() > 0


def test_lapsed_are_churners_who_did_not_switch(baseline):
    m = baseline.metrics
    assert (m["lapsed"] <= m["churned"]).all()


def test_stages_sum_to_population(baseline):
    per_step = baseline.stages.group_by("step").agg(pl.col("customers").sum())
    assert per_step.height == STEPS + 1
    assert (per_step["customers"] == N).all()


def test_flows_sum_to_population(baseline):
    per_step = baseline.flows.group_by("step").agg(pl.col("customers").sum())
    assert per_step.height == STEPS
    assert (per_step["customers"] == N).all()


def _keyed(frame: pl.DataFrame, stage: str, brand: str, count: str = "customers") -> pl.DataFrame:
    return frame.select(
        "step",
        pl.col(stage).alias("stage"),
        pl.col(brand).fill_null("-").alias("brand"),
        pl.col(count).alias("n"),
    )


def test_flows_into_states_equal_stages(baseline):
    into = (
        _keyed(baseline.flows, "to_stage", "to_brand")
        .group_by("step", "stage", "brand")
        .agg(pl.col("n").sum())
    )
    stages = _keyed(baseline.stages.filter(pl.col("step") >= 1), "stage", "brand")
    joined = stages.join(into, on=["step", "stage", "brand"], how="left").fill_null(0)
    assert (joined["n"] == joined["n_right"]).all()
    assert joined["n"].sum() == into["n"].sum()  # no flow into a state missing from stages


def test_flows_out_of_states_equal_previous_stages(baseline):
    out = (
        _keyed(baseline.flows, "from_stage", "from_brand")
        .with_columns(pl.col("step") - 1)
        .group_by("step", "stage", "brand")
        .agg(pl.col("n").sum())
    )
    stages = _keyed(baseline.stages.filter(pl.col("step") < STEPS), "stage", "brand")
    joined = stages.join(out, on=["step", "stage", "brand"], how="left").fill_null(0)
    assert (joined["n"] == joined["n_right"]).all()


def test_customer_stage_matches_metrics(baseline):
    st = baseline.stages.filter(pl.col("stage") == "customer").select(
        "step", "brand", pl.col("customers").alias("staged")
    )
    joined = baseline.metrics.select("step", "brand", "customers").join(st, on=["step", "brand"])
    assert joined.height == baseline.metrics.height
    assert (joined["customers"] == joined["staged"]).all()
    assert baseline.stages.filter(pl.col("stage") != "customer")["brand"].null_count() == (
        baseline.stages.filter(pl.col("stage") != "customer").height
    )


def test_flows_between_brands_match_acquired_and_churned(baseline):
    f = baseline.flows
    moved = f.filter(
        ~(
            (pl.col("from_stage") == pl.col("to_stage"))
            & pl.col("from_brand").eq_missing(pl.col("to_brand"))
        )
    )
    left = (
        moved.filter(pl.col("from_stage") == "customer")
        .group_by("step", pl.col("from_brand").alias("brand"))
        .agg(pl.col("customers").sum().alias("left"))
    )
    joined_in = (
        moved.filter(pl.col("to_stage") == "customer")
        .group_by("step", pl.col("to_brand").alias("brand"))
        .agg(pl.col("customers").sum().alias("joined"))
    )
    m = (
        baseline.metrics.filter(pl.col("step") >= 1)
        .join(left, on=["step", "brand"], how="left")
        .join(joined_in, on=["step", "brand"], how="left")
        .fill_null(0)
    )
    assert (m["left"] == m["churned"]).all()
    assert (m["joined"] == m["acquired"]).all()


# -- bounds ---------------------------------------------------------------------------------
def test_share_bounds_and_sum(baseline):
    m = baseline.metrics
    assert ((m["share"] >= 0) & (m["share"] <= 1)).all()
    per_step = m.group_by("step").agg(pl.col("share").sum(), pl.col("customers").sum())
    with_customers = per_step.filter(pl.col("customers") > 0)
    assert with_customers.height == STEPS + 1
    assert np.allclose(with_customers["share"].to_numpy(), 1.0, atol=1e-12)
    total = m.group_by("step").agg(pl.col("customers").sum().alias("total"))
    check = m.join(total, on="step")
    assert np.allclose(check["share"], check["customers"] / check["total"])


def test_nps_satisfaction_and_counts_bounds(baseline):
    m = baseline.metrics
    nps = m["nps"].drop_nulls()
    assert ((nps >= -100) & (nps <= 100)).all()
    sat = m["satisfaction"].drop_nulls()
    assert ((sat >= 0) & (sat <= 1)).all()
    assert (m["promoters"] + m["passives"] + m["detractors"] == m["customers"]).all()
    recomputed = 100 * (m["promoters"] - m["detractors"]) / m["customers"]
    assert np.allclose(m["nps"].to_numpy(), recomputed.to_numpy())
    assert (m["aware"] <= N).all() and (m["customers"] <= m["aware"]).all()
    assert (m["failures"] <= m["contacts"]).all() and (m["recovered"] <= m["failures"]).all()


def test_nps_null_exactly_when_a_brand_has_no_customers():
    # a brand launched at step 10 has no customers before it
    r = run(*BASE, "sim.steps=20", "seed=2", "brands.budget.launch_step=10",
            "brands.budget.initial_share=0")  # fmt: skip
    m = r.metrics
    budget = brand_metrics(r, "budget")
    assert (budget.filter(pl.col("step") < 10)["customers"] == 0).all()
    assert (m["nps"].is_null() == (m["customers"] == 0)).all()
    assert (m["satisfaction"].is_null() == (m["customers"] == 0)).all()
    assert m["nps"].is_null().sum() >= 10
    per_step = m.group_by("step").agg(pl.col("share").sum())
    assert np.allclose(per_step["share"].to_numpy(), 1.0)


def test_shares_zero_when_nobody_is_a_customer():
    r = run(
        "market.customers=500", "sim.steps=5", "seed=1",
        *[f"brands.{b}.initial_share=0.0" for b in BRANDS],
        "market.journey.need_rate=0.0",
        *[f"channels.{c}.purchase=0.0" for c in CHANNELS],
    )  # fmt: skip
    m = r.metrics
    assert (m["customers"] == 0).all()
    assert (m["share"] == 0).all()
    assert m["nps"].null_count() == m.height


def test_revenue_and_discounting(baseline):
    m = baseline.metrics
    assert (m["revenue"] >= 0).all()
    # revenue per customer at least the price (the tenure uplift only adds)
    cfg = baseline.config
    service_cost = {c: ch.service_cost for c, ch in cfg.channels.items()}
    ch = baseline.channels
    for b in BRANDS:
        p, margin = cfg.brands[b].price, cfg.brands[b].margin
        bm = brand_metrics(baseline, b)
        per = bm["revenue"] / bm["customers"]
        assert (per >= p - 1e-9).all() and (per <= p * 1.45 + 1e-9).all()
        disc = np.cumsum(bm["revenue"].to_numpy() * 1.0002 ** -np.arange(STEPS + 1))
        assert np.allclose(bm["discounted_revenue"].to_numpy(), disc)
        assert np.allclose(
            bm["profit"].to_numpy(),
            (bm["revenue"] * margin - bm["ad_spend"] - bm["acquisition_cost"]
             - bm["service_cost"] - bm["programme_cost"]).to_numpy(),
        )  # fmt: skip
        # winning a customer costs the brand's acquisition cost beyond the ads
        won = bm["acquired"].to_numpy()
        assert won[1:].sum() > 0
        assert np.allclose(bm["acquisition_cost"].to_numpy(), won * cfg.brands[b].acquisition_cost)
        # service cost: each contact people answer costs its channel's service_cost
        contacts = (
            ch.filter(pl.col("brand") == b)
            .with_columns(cost=pl.col("service_contacts") * pl.col("channel").replace_strict(
                service_cost, default=0.0, return_dtype=pl.Float64))
            .group_by("step").agg(pl.col("cost").sum()).sort("step")
        )  # fmt: skip
        assert np.allclose(bm["service_cost"].to_numpy()[1:], contacts["cost"].to_numpy())


# -- determinism ----------------------------------------------------------------------------
def _same(a, b) -> bool:
    return a.metrics.equals(b.metrics) and a.stages.equals(b.stages) and a.flows.equals(b.flows)


def test_same_seed_is_bit_identical(baseline):
    again = simulate(load_config([*BASE, "seed=1"]))
    assert _same(baseline, again)


def test_step_records_keep_counts_and_sums_bit_for_bit():
    """The records store counts as integers, sums as float64, and read back every bit."""
    from sim.engine.step_records import StepRecords

    records = StepRecords(3, (2,), 4, sums=(1,))
    tally = np.array([[3.0, 0.1 + 0.2, 7.0, 5.0], [0.0, 1e-300, 1.0, 4.0]])
    records[1] = tally
    assert records.counts.dtype == np.int32  # half the bytes of float64
    assert np.array_equal(records[1], tally)
    assert np.array_equal(records[1:2], tally[None])
    assert not records[0].any() and not records[2].any()
    huge = tally.copy()
    huge[0, 3] = 2.0**31 + 5.0  # past int32: the counts widen, and stay exact
    records[2] = huge
    assert records.counts.dtype == np.int64
    assert np.array_equal(records[2], huge) and np.array_equal(records[1], tally)
    with pytest.raises(ValueError, match="fraction"):
        records[0] = np.full((2, 4), 0.5)


def test_large_arrays_are_mapped_unless_the_environment_says(monkeypatch):
    """glibc's mmap threshold is fixed once; a threshold set in the environment is kept."""
    import ctypes.util

    from sim.engine import allocator

    allocator.map_large_arrays.cache_clear()
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert allocator.map_large_arrays() is False
    allocator.map_large_arrays.cache_clear()
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    glibc = "libc.so" in (ctypes.util.find_library("c") or "")
    assert allocator.map_large_arrays() is glibc
    assert allocator.map_large_arrays() is glibc  # once: the cached answer


def test_threads_do_not_change_results():
    over = ["market.customers=5000", "sim.steps=30", "seed=4"]  # 3 chunks of customers
    one = simulate(load_config([*over, "engine.threads=1"]))
    two = simulate(load_config([*over, "engine.threads=2"]))
    assert _same(one, two)


def test_different_seeds_differ(baseline):
    other = run(*BASE, "seed=2")
    assert not baseline.metrics.equals(other.metrics)
    assert not baseline.flows.equals(other.flows)


# -- networks (structure in detail: tests/test_networks.py) --------------------------------
MODEL_KINDS = [k for k in KINDS if k != "edgelist"]  # an edge list needs a file: test_networks


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_network_kind_runs(kind):
    n, steps = 1000, 20
    r = run(f"market.customers={n}", f"sim.steps={steps}", "seed=3", f"network={kind}")
    assert r.config.network.kind == kind
    assert (r.stages.group_by("step").agg(pl.col("customers").sum())["customers"] == n).all()
    for b in BRANDS:
        m = brand_metrics(r, b)
        c = m["customers"].to_numpy()
        net = m["acquired"].to_numpy()[1:] - m["churned"].to_numpy()[1:]
        assert np.array_equal(c[1:], c[:-1] + net)
    assert r.metrics.filter(pl.col("step") == steps)["aware"].sum() > 0


def _adjacency(net) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for i in range(net.n):
        for j in net.indices[net.indptr[i] : net.indptr[i + 1]]:
            counts[(i, int(j))] = counts.get((i, int(j)), 0) + 1
    return counts


@pytest.mark.parametrize("kind", ["erdos_renyi", "watts_strogatz", "barabasi_albert"])
@pytest.mark.parametrize("k", [4, 10])
def test_network_mean_degree_and_symmetry(kind, k):
    n = 2000
    net = build_network(kind, n, float(k), 0.1, seed=5)
    assert net.indptr.size == n + 1 and net.indptr[-1] == net.indices.size
    if kind == "erdos_renyi":  # G(n, p): the number of ties is binomial, sd sqrt(n k / 2)
        assert net.mean_degree == pytest.approx(k, rel=4 / np.sqrt(n * k / 2))
    else:  # k / 2 ties per customer (Barabasi-Albert: less m (m + 1) / 2 / n for the clique)
        assert net.mean_degree == pytest.approx(k, rel=0.02)
    assert np.all((net.indices >= 0) & (net.indices < n))
    adj = _adjacency(net)
    assert all(adj.get((j, i)) == c for (i, j), c in adj.items()), "adjacency is not symmetric"
    assert all(i != j for i, j in adj), "self loops"


def test_network_is_a_pure_function_of_seed():
    a = build_network("watts_strogatz", 500, 6.0, 0.3, seed=1)
    b = build_network("watts_strogatz", 500, 6.0, 0.3, seed=1)
    c = build_network("watts_strogatz", 500, 6.0, 0.3, seed=2)
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.strong, b.strong)
    assert not np.array_equal(a.indices, c.indices)


@pytest.mark.parametrize("k", [2, 4, 10])
def test_network_watts_strogatz_without_rewiring_is_a_strong_ring_lattice(k):
    n = 101
    net = build_network("watts_strogatz", n, float(k), 0.0, seed=9)
    half = k // 2
    for i in range(n):
        nbrs = sorted(int(j) for j in net.indices[net.indptr[i] : net.indptr[i + 1]])
        expected = sorted({(i + s * d) % n for d in range(1, half + 1) for s in (1, -1)})
        assert nbrs == expected, i
    assert net.strong_mask().all()  # lattice ties are strong


def test_network_barabasi_albert_has_hubs():
    n = 3000
    ba = build_network("barabasi_albert", n, 6.0, 0.1, seed=5)
    er = build_network("erdos_renyi", n, 6.0, 0.1, seed=5)
    assert np.diff(ba.indptr).max() > 3 * np.diff(er.indptr).max()


def test_network_complete_stores_nothing():
    net = build_network("complete", 50, 10.0, 0.1, seed=0)
    assert net.complete and net.mean_degree == 49
    assert net.indices.size == 0 and net.strong.size == 0 and net.nbytes == 8


# -- directional behaviour ----------------------------------------------------------------
SEEDS = (0, 1, 2)
BETTER_SERVICE = [
    f"brands.incumbent.{table}.{c}=1.0"
    for table in ("service_quality", "first_contact_resolution")
    for c in ("store", "app", "service")
]


def _churn_per_customer(r, brand: str) -> tuple[int, int]:
    m = brand_metrics(r, brand).filter(pl.col("step") >= 1)
    return m["churned"].sum(), m["customers"].sum()


def test_better_service_improves_retention():
    churned = {"base": 0, "better": 0}
    exposure = {"base": 0, "better": 0}
    for seed in SEEDS:
        base = run(*BASE, f"seed={seed}")
        better = run(*BASE, f"seed={seed}", *BETTER_SERVICE)
        assert brand_metrics(better, "incumbent")["failures"].sum() == 0
        for name, r in (("base", base), ("better", better)):
            c, e = _churn_per_customer(r, "incumbent")
            churned[name] += c
            exposure[name] += e
        # same seed, paired: retention is better in every run
        c_better, e_better = _churn_per_customer(better, "incumbent")
        c_base, e_base = _churn_per_customer(base, "incumbent")
        assert c_better / e_better < c_base / e_base, seed
    base_rate = churned["base"] / exposure["base"]
    better_rate = churned["better"] / exposure["better"]
    assert better_rate < 0.95 * base_rate


def _retention_digest(frame: pl.DataFrame) -> str:
    """SHA-256 (16 hex digits) of a retention frame's values, independent of file formats."""
    import hashlib

    h = hashlib.sha256()
    h.update("\x1f".join(frame["brand"].to_list()).encode())
    for c in ("tenure", "cohort_size", "active"):
        h.update(frame[c].to_numpy().astype(np.int64).tobytes())
    h.update(frame["retention"].fill_null(-1.0).to_numpy().astype(np.float64).tobytes())
    return h.hexdigest()[:16]


@pytest.mark.parametrize(
    ("overrides", "digest"),
    [
        (("market.customers=3000", "sim.steps=60", "sim.burn_in=10", "seed=5"),
         "c352029ce7bf668d"),
        (("market.customers=300", "sim.steps=30", "sim.burn_in=0", "seed=5", "engine=mesa"),
         "ce13c64c966870cb"),
    ],
)  # fmt: skip
def test_one_cell_retention_is_as_before_per_cell_cohorts(overrides, digest, tmp_path):
    """A market of one segment and one region: retention.parquet's values as before cells.

    The digests are of the code before per-cell cohort counts (main at 041330f), both
    engines; the file holds the brand frame unchanged (no segment or region column).
    """
    from sim.sweeps.io import write_result

    r = run(*overrides)
    assert _retention_digest(r.retention) == digest
    assert "retention" not in r.segment_frames and "retention" not in r.region_frames
    write_result(r, tmp_path)
    assert pl.read_parquet(tmp_path / "retention.parquet").equals(r.retention)


def test_retention_is_active_over_cohort_size_of_the_runs_acquisitions(baseline):
    """S_b(k) = active_b(k) / sum_{s=1}^{T-k} acquired_b(s); tenure 0 is the whole cohort."""
    ret, m = baseline.retention, baseline.metrics.filter(pl.col("step") >= 1)
    steps = m["step"].max()
    for b in BRANDS:
        mine = ret.filter(pl.col("brand") == b).sort("tenure")
        acquired = m.filter(pl.col("brand") == b).sort("step")["acquired"].to_numpy()
        size = np.concatenate([[0], np.cumsum(acquired)])[steps - mine["tenure"].to_numpy()]
        assert (mine["cohort_size"].to_numpy() == size).all(), b
        assert mine["active"][0] == mine["cohort_size"][0]  # everyone acquired is seen once


def test_better_service_raises_satisfaction_and_nps():
    base = run(*BASE, "seed=0")
    better = run(*BASE, "seed=0", *BETTER_SERVICE)
    b = brand_metrics(base, "incumbent").filter(pl.col("step") == STEPS)
    g = brand_metrics(better, "incumbent").filter(pl.col("step") == STEPS)
    assert g["satisfaction"].item() > b["satisfaction"].item()
    assert g["customers"].item() > b["customers"].item()


UNKNOWN_BRANDS = [
    *[f"brands.{b}.initial_awareness=0.0" for b in BRANDS],
    *[f"brands.{b}.initial_share=0.05" for b in BRANDS],
    *[f"brands.{b}.ad_reach.{c}=0.0" for b in BRANDS for c in CHANNELS],
]
DIFFUSION = ("market.customers=3000", "sim.steps=40", "sim.burn_in=0",
             "market.journey.forget_rate=0", "market.category.turnover=0", *UNKNOWN_BRANDS)  # fmt: skip


def _aware(r) -> np.ndarray:
    return r.metrics.group_by("step").agg(pl.col("aware").sum()).sort("step")["aware"].to_numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_stronger_word_of_mouth_spreads_awareness_faster(seed):
    weak = _aware(run(*DIFFUSION, f"seed={seed}", "wom.talk_rate=0.02"))
    strong = _aware(run(*DIFFUSION, f"seed={seed}", "wom.talk_rate=0.3"))
    assert weak[0] == strong[0]
    assert (strong[1:] > weak[1:]).all()
    for t in (10, 20, 40):
        assert strong[t] - strong[0] > 3 * (weak[t] - weak[0]), t


def test_no_ads_no_talk_means_no_new_awareness():
    aware = _aware(run(*DIFFUSION, "seed=0", "wom.talk_rate=0.0"))
    assert (aware == aware[0]).all()


OUTAGE = (
    "scenario.events=[{kind: service_outage, brand: incumbent, channels: [store, app, service],"
    " severity: 0.9, start: 20, end: 40}]"
)


def test_outage_gives_churn_spike_in_window():
    spike = 0
    for seed in SEEDS:
        base = run(*BASE, f"seed={seed}")
        out = run(*BASE, f"seed={seed}", OUTAGE)
        # before the window nothing differs (same random numbers, same tables)
        before = pl.col("step") < 20
        assert base.metrics.filter(before).equals(out.metrics.filter(before))
        b = window_sum(base, "incumbent", "churned", 20, 40)
        o = window_sum(out, "incumbent", "churned", 20, 40)
        assert o > b + 5, seed
        spike += o - b
        # the outage shows in service failures during the window only
        fail_in = window_sum(out, "incumbent", "failures", 20, 40)
        contacts_in = window_sum(out, "incumbent", "contacts", 20, 40)
        assert fail_in / contacts_in > 0.8
        fail_after = window_sum(out, "incumbent", "failures", 40, STEPS + 1)
        contacts_after = window_sum(out, "incumbent", "contacts", 40, STEPS + 1)
        assert fail_after / contacts_after < 0.4
    assert spike / len(SEEDS) > 10


def test_outage_churn_rate_in_window_above_own_pre_window_rate():
    out = run(*BASE, "seed=1", OUTAGE)
    m = brand_metrics(out, "incumbent")
    rate = lambda lo, hi: (  # noqa: E731
        window_sum(out, "incumbent", "churned", lo, hi)
        / m.filter((pl.col("step") >= lo) & (pl.col("step") < hi))["customers"].sum()
    )
    assert rate(20, 40) > 1.3 * rate(1, 20)


# -- config validation --------------------------------------------------------------------
@pytest.mark.parametrize(
    "override, message",
    [
        (
            "brands.challenger.service_quality.app=1.7",
            "brands.challenger.service_quality.app=1.7: must be between 0 and 1",
        ),
        ("market.customers=0", "market.customers=0: must be"),
        ("network.kind=foo", "network.kind=foo: must be one of complete, erdos_renyi"),
        ("network.rewiring=2", "network.rewiring=2: must be between 0 and 1"),
        ("network.rewiring=-0.1", "network.rewiring=-0.1: must be between 0 and 1"),
        ("sim.steps=0", "sim.steps=0: must be"),
        ("engine.name=spark", "engine.name=spark: must be one of numba, mesa"),
        ("brands.budget.first_contact_resolution.store=-0.5",
         "brands.budget.first_contact_resolution.store=-0.5: must be between 0 and 1"),
        ("wom.talk_rate=0.9", "wom.talk_rate=0.9: event rates per step sum to"),
        ("brands.incumbent.initial_share=0.9", "brands.*.initial_share="),
        ("brands.budget.acquisition_cost=-5",
         "brands.budget.acquisition_cost=-5: must be between 0 and"),
    ],
)  # fmt: skip
def test_bad_config_raises_config_error_naming_key(override, message):
    with pytest.raises(ConfigError) as info:
        load_config([override])
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_market_customers_zero_message():
    with pytest.raises(ConfigError, match=r"^market\.customers=0: must be between 2 and"):
        load_config(["market.customers=0"])


def test_bad_event_raises_config_error():
    with pytest.raises(ConfigError) as info:
        load_config(["scenario.events=[{kind: service_outage, brand: nobody, start: 1, end: 5}]"])
    assert str(info.value).startswith("scenario.events[0].brand=nobody: must be one of")
    with pytest.raises(ConfigError) as info:
        load_config(["sim.steps=10", "scenario.events=[{kind: meteor, brand: budget}]"])
    assert str(info.value).startswith("scenario.events[0].kind=meteor")


def test_simulate_revalidates_hand_edited_config():
    cfg = load_config(["market.customers=100", "sim.steps=2"])
    cfg.brands.challenger.service_quality.app = 1.7
    with pytest.raises(ConfigError, match=r"^brands\.challenger\.service_quality\.app=1\.7"):
        simulate(cfg)


def test_resolved_config_is_returned(baseline):
    cfg = baseline.config
    assert cfg.market.customers == N and cfg.sim.steps == STEPS and cfg.seed == 1
    assert "hydra" not in OmegaConf.to_container(cfg)


# -- scenario events --------------------------------------------------------------------------
FLAT_SPEND = ("market.customers=2000", "sim.steps=30", "seed=1", "market.spend.tenure_uplift=0.0",
              "sim.burn_in=0")  # fmt: skip
PRICES = {b: load_config([]).brands[b].price for b in BRANDS}


def _revenue_per_customer(r) -> pl.DataFrame:
    return r.metrics.with_columns((pl.col("revenue") / pl.col("customers")).alias("rpc"))


def test_price_change_event_scales_revenue_in_its_window_only():
    ev = "[{kind: price_change, brand: budget, change: 0.5, start: 10, end: 20}]"
    r = run(*FLAT_SPEND, f"scenario.events={ev}")
    m = _revenue_per_customer(r)
    for b, p in PRICES.items():
        bm = m.filter(pl.col("brand") == b)
        inside = (pl.col("step") >= 10) & (pl.col("step") < 20)
        expected_in = p * 1.5 if b == "budget" else p
        assert np.allclose(bm.filter(inside)["rpc"].to_numpy(), expected_in), b
        assert np.allclose(bm.filter(~inside)["rpc"].to_numpy(), p), b


def test_ad_spend_is_realised_exposures_times_cost(baseline):
    cfg = baseline.config
    cost = {c: ch.cost for c, ch in cfg.channels.items()}
    ch = baseline.channels.with_columns(
        cost=pl.col("impressions") * pl.col("channel").replace_strict(
            cost, default=0.0, return_dtype=pl.Float64)
    )  # fmt: skip
    for b in BRANDS:
        realised = ch.filter(pl.col("brand") == b).group_by("step").agg(pl.col("cost").sum())
        spend = brand_metrics(baseline, b)["ad_spend"].to_numpy()[1:]
        assert np.allclose(spend, realised.sort("step")["cost"].to_numpy()), b
        # on average, reach x cost x customers (the exposures are random)
        expected = N * sum(cfg.brands[b].ad_reach[c] * cost[c] for c in cost)
        assert abs(spend.mean() - expected) < 0.25 * expected, b


def test_brandless_price_change_is_rejected_or_applies_to_every_brand():
    over = [*FLAT_SPEND, "scenario.events=[{kind: price_change, change: 0.5, start: 10, end: 20}]"]
    try:
        cfg = load_config(over)
    except ConfigError as e:
        assert str(e).startswith("scenario.events[0].brand")
        return
    m = _revenue_per_customer(simulate(cfg))
    inside = m.filter((pl.col("step") >= 10) & (pl.col("step") < 20))
    for b, p in PRICES.items():
        assert np.allclose(inside.filter(pl.col("brand") == b)["rpc"].to_numpy(), p * 1.5), b


def test_brandless_outage_is_rejected_or_hits_every_brand_on_its_channels():
    ev = (
        "scenario.events=[{kind: service_outage, channels: [store, app, service],"
        " severity: 0.9, start: 10, end: 20}]"
    )
    try:
        cfg = load_config([*FLAT_SPEND, ev])
    except ConfigError as e:
        assert str(e).startswith("scenario.events[0].brand")
        return
    r = simulate(cfg)
    for b in BRANDS:
        assert window_sum(r, b, "failures", 10, 20) > 0.8 * window_sum(r, b, "contacts", 10, 20), b


def test_outage_on_unused_channels_changes_nothing():
    # nobody asks for service on tv or social, so an outage there has no effect
    base = run(*FLAT_SPEND)
    ev = (
        "scenario.events=[{kind: service_outage, brand: challenger, channels: [tv, social],"
        " severity: 0.9, start: 10, end: 20}]"
    )
    assert base.metrics.equals(run(*FLAT_SPEND, ev).metrics)


def test_event_missing_field_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^scenario\.events\[0\]\.change"):
        load_config(
            [
                "sim.steps=10",
                "scenario.events=[{kind: price_change, brand: budget, start: 1, end: 5}]",
            ]
        )


def test_event_severity_out_of_range_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^scenario\.events\[0\]\.severity=1\.5"):
        ev = "[{kind: service_outage, brand: budget, severity: 1.5, start: 1, end: 5}]"
        load_config(["sim.steps=10", f"scenario.events={ev}"])


def test_automatic_threads_follow_the_market_size():
    from sim.engine.runner import auto_threads

    assert auto_threads(3_000, 8) == 1  # small markets: one thread, no start-up cost
    assert auto_threads(120_000, 8) == 2
    assert auto_threads(10_000_000, 8) == 8  # never more than the cores


def test_the_attraction_of_alternatives_counts_known_rivals_not_only_considered_ones():
    """7.9c: P_alt runs over the rivals a customer is aware of (a switcher dropped its old
    brand from its set but still knows it); a customer who knows no rival has P_alt = 0."""
    from sim.engine.kernels import alternatives_of, globals_of
    from sim.engine.model import JourneyModel

    model = JourneyModel(load_config(["market.customers=50", "sim.steps=1", "sim.burn_in=0"]))
    c, bp = model.customers, model.market.brand_params
    g, friction = globals_of(model._g_values), model.tables_at(0).friction
    c.attitude[0, :] = 0.7
    c.consider[0] = 0  # considers nothing
    c.aware[0] = 0b001  # knows only its own brand (brand 0)
    alone = alternatives_of(0, 0, c.aware, c.attitude, c.price_sensitivity, c.channel, bp,
                            friction, g)  # fmt: skip
    c.aware[0] = 0b111  # knows both rivals, considers neither
    known = alternatives_of(0, 0, c.aware, c.attitude, c.price_sensitivity, c.channel, bp,
                            friction, g)  # fmt: skip
    assert alone == 0.0
    assert 0.0 < known < 1.0
    c.attitude[0, 1:] = 0.95  # rivals better liked: more attractive alternatives
    liked = alternatives_of(0, 0, c.aware, c.attitude, c.price_sensitivity, c.channel, bp,
                            friction, g)  # fmt: skip
    assert liked > known


def test_a_run_starts_numba_without_scipy_linalg_or_cffi():
    # sim.engine.startup: neither is imported for a run, what Numba would have found in them
    # is there when first asked for, and the collector is on again after the engine's imports
    import subprocess
    import sys

    code = """
import gc, sys
from sim import load_config, simulate
simulate(load_config(["market.customers=500", "sim.steps=3", "sim.burn_in=0"]))
print("scipy.linalg" in sys.modules, "cffi" in sys.modules, gc.isenabled(), gc.get_freeze_count() > 0)
from numba.core.typing import cffi_utils, typeof
from numba.np import arraymath
import cffi
print(arraymath._HAVE_BLAS, cffi_utils.SUPPORTED, str(typeof.typeof(cffi.FFI())))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split("\n")  # fmt: skip
    assert out[0] == "False False True True"
    assert out[1] == "True True ffi"
