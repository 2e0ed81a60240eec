"""Networks and the initial customers: structure and tie strength of every kind, edge lists
from files, one-line errors, determinism whatever the thread count, and the moments of the
counter-based initial draws."""

from __future__ import annotations

import numba
import numpy as np
import polars as pl
import pytest
from omegaconf import OmegaConf

from sim import ConfigError, load_config
from sim.config.errors import ConfigWarning
from sim.engine import network as network_module
from sim.engine.network import KINDS, build_network, network_from_config
from sim.engine.rng import STREAM_NETWORK, customer_key, randint, stream_key
from sim.engine.state import _beta_quantiles, build_customers, build_market

BUILT = ["watts_strogatz", "erdos_renyi", "barabasi_albert", "clustered"]
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)


def ties(net) -> np.ndarray:
    """Rows (i, j, strong) of every CSR entry, sorted."""
    src = np.repeat(np.arange(net.n), np.diff(net.indptr))
    rows = np.stack([src, net.indices, net.strong_mask()]).T.astype(np.int64)
    return rows[np.lexsort(rows.T[::-1])]


def assert_undirected(net, simple: bool = True) -> None:
    """CSR shape, ids in range, no self-ties, each tie both ways with the same strength.

    ``simple``: no tie twice (a rewired Watts-Strogatz tie may repeat a lattice tie).
    """
    n, m = net.n, net.indices.size
    assert net.indptr.shape == (n + 1,) and net.indptr[0] == 0 and net.indptr[-1] == m
    assert np.all(np.diff(net.indptr) >= 0)
    assert net.indices.dtype == np.int32 and np.all((net.indices >= 0) & (net.indices < n))
    assert net.strong.dtype == np.uint8 and net.strong.size == (m + 7) // 8
    assert np.unpackbits(net.strong, bitorder="little")[m:].sum() == 0  # no stray bits
    forward = ties(net)
    assert not np.any(forward[:, 0] == forward[:, 1]), "self-tie"
    if simple:
        assert np.unique(forward[:, :2], axis=0).shape[0] == m, "a tie listed twice"
    backward = forward[:, [1, 0, 2]]
    assert np.array_equal(forward, backward[np.lexsort(backward.T[::-1])]), "not symmetric"


def clustered(n=2000, group=10, p_in=0.5, weak=3.0, seed=4):
    return build_network(
        "clustered", n, 10.0, 0.1, seed, group_size=group, p_in=p_in, weak_ties=weak
    )


# -- structure and tie strength -------------------------------------------------------------
@pytest.mark.parametrize("kind", BUILT)
def test_every_built_kind_is_an_undirected_graph(kind):
    net = build_network(kind, 1500, 8.0, 0.2, seed=2)
    assert_undirected(net, simple=kind != "watts_strogatz")


def test_watts_strogatz_rewired_ties_are_weak_and_lattice_ties_strong():
    n, half = 1000, 3
    net = build_network("watts_strogatz", n, 2.0 * half, 0.3, seed=6)
    rows = ties(net)
    gap = np.abs(rows[:, 0] - rows[:, 1])
    on_ring = np.minimum(gap, n - gap) <= half
    strong = rows[:, 2] == 1
    assert np.all(on_ring[strong])  # a strong tie is a lattice tie
    assert strong.mean() == pytest.approx(0.7, abs=0.03)  # the 70% not rewired
    assert not build_network("watts_strogatz", n, 6.0, 1.0, seed=6).strong_mask().any()


@pytest.mark.parametrize("kind", ["erdos_renyi", "barabasi_albert"])
def test_random_acquaintance_kinds_have_only_weak_ties(kind):
    net = build_network(kind, 800, 6.0, 0.1, seed=1)
    assert net.indices.size > 0 and not net.strong_mask().any()


def test_erdos_renyi_is_g_n_p():
    n, k = 4000, 6.0
    degrees = np.diff(build_network("erdos_renyi", n, k, 0.1, seed=3).indptr)
    assert degrees.mean() == pytest.approx(k, abs=4 * np.sqrt(2 * k / n))
    assert degrees.var() == pytest.approx(k * (1 - k / (n - 1)), rel=0.1)  # binomial


def test_barabasi_albert_is_the_sequential_process():
    """The chunked parallel build gives the graph of the one-at-a-time process."""
    n, m = 400, 3
    key = np.uint64(stream_key(8, 0, STREAM_NETWORK))
    ends = [x for a in range(m + 1) for b in range(a + 1, m + 1) for x in (a, b)]
    expected = {(a, b) for a, b in zip(ends[::2], ends[1::2], strict=True)}
    for v in range(m + 1, n):
        ck, slot, chosen = np.uint64(customer_key(key, v)), 0, []
        while len(chosen) < m:
            t = ends[randint(ck, slot, len(ends))]
            slot += 1
            if t not in chosen:
                chosen.append(t)
        for t in chosen:
            ends += [v, t]
            expected.add((t, v))
    old = network_module.BA_MIN_CHUNK
    network_module.BA_MIN_CHUNK = 2  # parallel chunks from the start
    try:
        net = build_network("barabasi_albert", n, 2.0 * m, 0.1, seed=8)
    finally:
        network_module.BA_MIN_CHUNK = old
    got = {(int(i), int(j)) for i, j, _ in ties(net) if i < j}
    assert got == expected


@pytest.mark.parametrize("group, p_in", [(10, 0.5), (40, 0.1)])  # a uniform per pair; skips
def test_clustered_strong_inside_groups_weak_across(group, p_in):
    n = 2000 + group // 2  # the last group is half full
    net = clustered(n, group, p_in=p_in, weak=3.0)
    assert_undirected(net)
    rows = ties(net)
    same_group = rows[:, 0] // group == rows[:, 1] // group
    assert np.array_equal(same_group, rows[:, 2] == 1)
    strong_degree = np.bincount(rows[same_group, 0], minlength=n)
    weak_degree = np.bincount(rows[~same_group, 0], minlength=n)
    assert strong_degree[:2000].mean() == pytest.approx((group - 1) * p_in, rel=0.06)
    assert strong_degree[2000:].max() <= group // 2 - 1
    assert weak_degree.mean() == pytest.approx(3.0, rel=0.05)  # weak_ties = mean weak degree


@pytest.mark.parametrize("weak", [0.0, 1.0, 2.5, 6.0])
def test_clustered_weak_ties_is_the_mean_weak_degree(weak):
    net = clustered(3000, 8, p_in=0.0, weak=weak)
    assert not net.strong_mask().any()
    assert net.mean_degree == pytest.approx(weak, abs=0.1)


def test_clustered_extremes_complete_groups_or_isolated_groups():
    full = clustered(100, 10, p_in=1.0, weak=0.0)
    assert np.all(np.diff(full.indptr) == 9) and full.strong_mask().all()
    rows = ties(full)
    assert np.all(rows[:, 0] // 10 == rows[:, 1] // 10)


# -- determinism -----------------------------------------------------------------------------
def _build_all(kind: str, edge_file) -> tuple[np.ndarray, ...]:
    if kind == "edgelist":
        net = build_network("edgelist", 700, path=str(edge_file))
    elif kind == "clustered":
        net = clustered(3001, 20, p_in=0.15, weak=3.0, seed=11)
    else:
        net = build_network(kind, 3001, 8.0, 0.3, seed=11)
    return net.indptr, net.indices, net.strong


@pytest.fixture(scope="module")
def edge_file(tmp_path_factory):
    """A clustered graph of 700 customers written as CSV with a strong column."""
    net = clustered(700, 9, p_in=0.5, weak=4.0, seed=3)
    rows = ties(net)
    rows = rows[rows[:, 0] < rows[:, 1]]
    path = tmp_path_factory.mktemp("edges") / "graph.csv"
    pl.DataFrame({"from": rows[:, 1], "to": rows[:, 0], "strong": rows[:, 2]}).write_csv(path)
    return path


@pytest.mark.parametrize("kind", [*BUILT, "edgelist"])
def test_same_network_whatever_the_threads_and_block_sizes(kind, edge_file, monkeypatch):
    reference = _build_all(kind, edge_file)
    numba.set_num_threads(1)
    try:
        one_thread = _build_all(kind, edge_file)
    finally:
        numba.set_num_threads(THREADS)
    monkeypatch.setattr(network_module, "MIN_BLOCK", 16)  # many blocks and buckets
    monkeypatch.setattr(network_module, "BUCKET_BITS", 4)
    monkeypatch.setattr(network_module, "BA_MIN_CHUNK", 8)
    small_blocks = _build_all(kind, edge_file)
    for a, b, c in zip(reference, one_thread, small_blocks, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)


# -- edge lists ------------------------------------------------------------------------------
def test_edge_list_round_trip_keeps_every_tie_and_its_strength(edge_file, tmp_path):
    original = clustered(700, 9, p_in=0.5, weak=4.0, seed=3)
    loaded = build_network("edgelist", 700, path=str(edge_file))
    assert_undirected(loaded)
    assert np.array_equal(ties(loaded), ties(original))
    # written again without a header and with ids only, and as parquet: the same CSR
    rows = ties(loaded)
    rows = rows[rows[:, 0] < rows[:, 1]]
    plain = tmp_path / "plain.csv"
    plain.write_text("".join(f"{a},{b},{s}\n" for a, b, s in rows))
    table = tmp_path / "graph.parquet"
    pl.DataFrame({"a": rows[:, 0], "b": rows[:, 1], "strong": rows[:, 2]}).write_parquet(table)
    for path in (plain, table):
        again = build_network("edgelist", 700, path=str(path))
        assert np.array_equal(again.indptr, loaded.indptr)
        assert np.array_equal(again.indices, loaded.indices)
        assert np.array_equal(again.strong, loaded.strong)


def test_edge_list_drops_self_ties_and_repeats_with_a_warning(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("# a comment\n0\t1\n1\t0\n2\t2\n1\t2\n1\t2\n3\t0\n")
    with pytest.warns(ConfigWarning, match=r"dropped 1 self-ties and 2 repeated ties; 3 ties"):
        net = build_network("edgelist", 4, path=str(path))
    assert_undirected(net)
    assert net.strong_mask().all()  # no strong column: every tie strong
    assert [sorted(net.indices[net.indptr[i] : net.indptr[i + 1]]) for i in range(4)] == [
        [1, 3], [0, 2], [1], [0],
    ]  # fmt: skip


def test_a_tie_listed_twice_is_strong_if_either_listing_says_so(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("a,b,strong\n0,1,0\n1,0,1\n1,2,0\n")
    with pytest.warns(ConfigWarning):
        net = build_network("edgelist", 3, path=str(path))
    assert {(i, j): s for i, j, s in ties(net)} == {
        (0, 1): 1, (1, 0): 1, (1, 2): 0, (2, 1): 0,
    }  # fmt: skip


def test_edge_list_config_builds_through_network_from_config(edge_file):
    cfg = load_config(["network=edgelist", f"network.path={edge_file}", "market.customers=700"])
    net = network_from_config(cfg.network, 700, int(cfg.seed))
    assert net.kind == "edgelist" and net.n == 700 and net.indices.size > 0


def _write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "name, text, customers, rule",
    [
        ("g.csv", "0,1\n1,4999\n", 20000,
         "has 5000 customers (ids 0..4999), market.customers=20000: set market.customers=5000"),
        ("g.csv", "0,1,1,1\n", 2, "has 4 columns: an edge list has 2"),
        ("g.csv", "0\n1\n", 2, "has 1 column: an edge list has 2"),
        ("g.csv", "0,1\n1,x\n", 2, "has a value that is not a whole number"),
        ("g.csv", "0,1\n1,2.5\n", 3, "has a value that is not a whole number"),
        ("g.csv", "0,1\n-1,1\n", 2, "has a negative id (-1): customer ids count from 0"),
        ("g.csv", "a,b,weight\n0,1,3\n", 2, "a third column must be headed 'strong' (0 or 1)"),
        ("g.csv", "a,b,strong\n0,1,2\n", 2, "column 'strong' must be 0 or 1 on every row"),
        ("g.csv", "", 2, "has no ties (an empty file)"),
        ("g.parquet", "not parquet", 2, "cannot read it as parquet"),
    ],
)  # fmt: skip
def test_bad_edge_list_is_a_one_line_error_before_any_work(tmp_path, name, text, customers, rule):
    path = _write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_config(["network=edgelist", f"network.path={path}", f"market.customers={customers}"])
    message = str(info.value)
    assert message.startswith(f"network.path={path}: {rule}"), message
    assert "\n" not in message


def test_edge_list_without_a_path_or_with_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^network.path=None: a network=edgelist run needs"):
        load_config(["network=edgelist"])
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(ConfigError, match=r": no such file$"):
        load_config(["network=edgelist", f"network.path={missing}"])


# -- clustered config ------------------------------------------------------------------------
def test_clustered_config_reaches_the_builder():
    cfg = load_config(["network=clustered", "network.group_size=5", "network.p_in=1"])
    assert (cfg.network.kind, cfg.network.group_size, cfg.network.p_in) == ("clustered", 5, 1.0)
    net = network_from_config(OmegaConf.merge(cfg.network, {"weak_ties": 0}), 50, 0)
    assert np.all(np.diff(net.indptr) == 4)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["network.group_size=1"], "network.group_size=1: must be between 2 and 10000"),
        (["network.group_size=10001"], "network.group_size=10001: must be between 2 and 10000"),
        (["network.p_in=1.5"], "network.p_in=1.5: must be between 0 and 1"),
        (["network.weak_ties=-1"], "network.weak_ties=-1: must be between 0 and 1000"),
        (["network.weak_ties=1001"], "network.weak_ties=1001: must be between 0 and 1000"),
        (["market.customers=20", "network.group_size=11", "network.weak_ties=19"],
         "network.weak_ties=19: must be between 0 and 18"),
        (["market.customers=8", "network.weak_ties=1"],
         "network.weak_ties=1: must be 0: the 8 customers fit in one group of "
         "network.group_size=11"),
    ],
)  # fmt: skip
def test_bad_clustered_values_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(["network=clustered", *overrides])
    assert str(info.value) == message


def test_every_kind_is_known_to_validation():
    with pytest.raises(ConfigError) as info:
        load_config(["network.kind=star"])
    assert str(info.value) == f"network.kind=star: must be one of {', '.join(KINDS)}"


# -- initial customers -----------------------------------------------------------------------
COLUMNS = (
    "stage", "brand", "last_brand", "aware", "consider", "attitude", "satisfaction",
    "expectation", "tenure", "price_sensitivity", "wom_activity", "churn_propensity",
    "channel", "flags",
)  # fmt: skip


def _customers(n: int, *overrides: str, seed: int = 5):
    cfg = load_config([f"market.customers={n}", *overrides])
    return build_customers(cfg, build_market(cfg), seed)


def test_customers_are_the_same_whatever_the_threads():
    reference = _customers(5000)
    numba.set_num_threads(1)
    try:
        one_thread = _customers(5000)
    finally:
        numba.set_num_threads(THREADS)
    for name in COLUMNS:
        assert np.array_equal(getattr(reference, name), getattr(one_thread, name)), name


def _beta_sd(a: float, b: float) -> float:
    return float(np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))


def test_trait_draws_have_the_moments_of_their_distributions():
    n = 200_000
    c = _customers(
        n,
        "market.traits.wom_activity={dist: beta, mean: 0.5, sd: 0.2}",
        "market.traits.expectation={dist: beta, alpha: 0.2, beta: 0.3}",
        "market.traits.churn_propensity={dist: beta, alpha: 0.25, beta: 1800}",
        "market.traits.price_sensitivity={dist: lognormal, mean: 1.0, sd: 0.5}",
    )
    # Beta(2.625, 2.625) and Beta(0.25, 1800) by their quantile tables, Beta(0.2, 0.3) by
    # rejection (scipy does not invert its CDF to 1e-9)
    assert _beta_quantiles(2.625, 2.625) is not None and _beta_quantiles(0.25, 1800.0) is not None
    assert _beta_quantiles(0.2, 0.3) is None
    cases = [
        (c.wom_activity, 0.5, 0.2),
        # initial customers start at their brand's mean experience (section 5): the others
        (c.expectation[c.brand < 0], 0.4, _beta_sd(0.2, 0.3)),
        (c.churn_propensity, 0.25 / 1800.25, _beta_sd(0.25, 1800.0)),
        (c.price_sensitivity, 1.0, 0.5),
    ]
    for x, mean, sd in cases:
        x = x.astype(np.float64)
        assert x.mean() == pytest.approx(mean, abs=5 * sd / np.sqrt(x.size))
        assert x.std() == pytest.approx(sd, rel=0.03)


def test_beta_by_quantile_table_has_the_exact_quantiles():
    """Inversion of the table: sample quantiles, tails included, as scipy's, and bounded."""
    from scipy import stats

    n = 400_000
    c = _customers(n, "market.traits.churn_propensity={dist: beta, alpha: 0.25, beta: 1800}")
    x = np.sort(c.churn_propensity.astype(np.float64))
    exact = stats.beta(0.25, 1800.0)
    for q in (0.001, 0.1, 0.5, 0.9, 0.999):
        k = int(q * n)
        band = exact.ppf([q - 4 * np.sqrt(q * (1 - q) / n), q + 4 * np.sqrt(q * (1 - q) / n)])
        assert band[0] <= x[k] <= band[1], q
    assert x[-1] < exact.ppf(1 - 1e-12)  # the last cell's tail table, not a jump to 1


def test_initial_state_follows_the_initial_keys():
    n = 100_000
    c = _customers(
        n,
        "market.initial_tenure_years=2",
        "sim.steps_per_year=10",
        "market.satisfaction.disposition=0",
    )
    cfg = load_config([f"market.customers={n}"])
    shares = [cfg.brands[b].initial_share for b in cfg.brands]
    for b, share in enumerate(shares):
        assert np.mean(c.brand == b) == pytest.approx(share, abs=0.006)
    customers = c.brand >= 0
    assert c.tenure[customers].mean() == pytest.approx(19.5, rel=0.03)  # floor of Exp(mean 20)
    assert (c.tenure[~customers] == 0).all()
    assert np.all(c.consider[customers] & (1 << c.brand[customers].astype(np.int64)))
    assert c.satisfaction[customers].std() == pytest.approx(0.05, rel=0.05)


def test_initial_dispositions_and_expectations_are_drawn_from_their_stationary_laws():
    """Dispositions are normal with their sd; customers expect their brand's mean experience."""
    from sim.engine.state import build_market, mean_experiences

    n = 100_000
    c = _customers(n)
    cfg = load_config([f"market.customers={n}"])
    sd = cfg.market.satisfaction.disposition
    assert c.disposition.mean() == pytest.approx(0.0, abs=5 * sd / np.sqrt(n))
    assert c.disposition.std() == pytest.approx(sd, rel=0.02)
    expected = mean_experiences(build_market(cfg))
    customers = c.brand >= 0
    np.testing.assert_allclose(
        c.expectation[customers], expected[c.brand[customers]].astype(np.float32)
    )
    # the mean of clip(Q + logistic noise): below Q only by the clipped upper tail
    q = build_market(cfg).brand_params[:, 2]
    assert np.all(expected < q) and np.all(expected > q - 0.01)


def test_a_later_brand_leaves_every_other_initial_draw_unchanged():
    """Common random numbers: a new entrant (launched later) changes no other draw."""
    base = _customers(20_000)
    entrant = _customers(20_000, "scenario=new_entrant")
    assert entrant.attitude.shape[1] == base.attitude.shape[1] + 1
    for name in COLUMNS:
        a, b = getattr(base, name), getattr(entrant, name)
        assert np.array_equal(a, b[:, : a.shape[1]] if name == "attitude" else b), name


# -- memory estimate -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [*BUILT, "edgelist"])
def test_memory_estimate_matches_the_built_network(kind, edge_file):
    from sim.engine.resources import build_bytes, network_bytes

    n = 700 if kind == "edgelist" else 20_000
    extra = [f"network.path={edge_file}"] if kind == "edgelist" else []
    cfg = load_config([f"market.customers={n}", f"network={kind}", *extra])
    net = network_from_config(cfg.network, n, int(cfg.seed))
    if kind in ("watts_strogatz", "barabasi_albert"):
        assert network_bytes(cfg) == net.nbytes  # exact
    elif kind == "edgelist":  # the ties as listed: an upper bound (repeats are dropped)
        assert net.nbytes <= network_bytes(cfg) <= 1.01 * net.nbytes
    else:
        assert network_bytes(cfg) == pytest.approx(net.nbytes, rel=0.02)
    assert build_bytes(cfg) >= 4 * n  # at least the in-degree counts


@pytest.mark.parametrize("kind", ["clustered", "edgelist"])
def test_the_model_runs_on_the_network_its_config_describes(kind, edge_file):
    from sim.engine.model import JourneyModel

    extra = [f"network.path={edge_file}"] if kind == "edgelist" else ["network.group_size=7"]
    cfg = load_config([f"network={kind}", "market.customers=700", "sim.burn_in=0", *extra])
    model = JourneyModel(cfg)
    expected = network_from_config(cfg.network, 700, int(cfg.seed))
    assert model.network.kind == kind
    assert np.array_equal(model.network.indices, expected.indices)
    assert np.array_equal(model.network.strong, expected.strong)


@pytest.mark.parametrize("rule", ["cascade", "threshold"])
def test_running_neighbour_counts_equal_a_fresh_count_after_every_step(rule):
    from sim.engine import kernels
    from sim.engine.model import JourneyModel

    cfg = load_config([f"wom={rule}", "network=clustered", "market.customers=3000",
                       "sim.burn_in=5", "sim.steps=10"])  # fmt: skip
    model = JourneyModel(cfg)
    net = model.network
    assert model._heard_counts.shape == (3000, 9, 2)
    from sim.engine.resources import heard_count_bytes

    assert heard_count_bytes(cfg, 3000, 3, mesa=False) == model._heard_counts.nbytes
    fresh = np.empty_like(model._heard_counts)
    for _ in range(10):
        model.step()
        kernels.count_heard(model.customers.voice, net.indptr, net.indices, net.strong, fresh)
        assert np.array_equal(model._heard_counts, fresh)
    strong, weak = fresh[..., 0].sum(), fresh[..., 1].sum()
    assert strong > 0 and weak > 0  # both kinds of tie speak
    # the update is the same whatever the number of listener ranges (threads)
    before, after = model.customers.voice.copy(), np.roll(model.customers.voice, 7)
    results = []
    for parts in (1, 2, 5):
        counts = fresh.copy()
        kernels.update_heard(before, after, net.indptr, net.indices, net.strong, counts, parts)
        results.append(counts)
    kernels.count_heard(after, net.indptr, net.indices, net.strong, fresh)
    assert all(np.array_equal(r, fresh) for r in results)
    faded = JourneyModel(load_config([f"wom={rule}", "wom.half_life=30", "market.customers=300"]))
    assert faded._heard_counts.shape[0] == 0  # fading messages: gathered every step


@pytest.mark.parametrize(
    "raw",
    [b"\xef\xbb\xbf0,1\n1,2\n2,3\n",  # Excel's "CSV UTF-8": a byte-order mark, no header
     b"0,1\n1,2\n\n2,3\n   \n",  # blank lines
     b"a,b\n0,1\n1,2\n2,3\n"],
)  # fmt: skip
def test_edge_list_quirks_of_real_files_keep_every_tie(tmp_path, raw):
    path = tmp_path / "g.csv"
    path.write_bytes(raw)
    net = build_network("edgelist", 4, path=str(path))
    assert sorted(map(tuple, ties(net)[:, :2].tolist())) == [
        (0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2),
    ]  # fmt: skip
