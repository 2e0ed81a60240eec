"""Customers stored in order of their (region, segment) cell (``sim.engine.cells``).

The population is drawn at places along the network, then stored cell by cell; the network
is drawn between places and stored between storage indices. Nothing a model computes may
depend on the storage order but the random draws keyed by storage index: the ties, the
homophily and the traced customers' ids must be those of the places.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import load_config
from sim.engine.cells import cell_chunks, sort_by_cell
from sim.engine.network import build_network
from sim.engine.params import most_chunks
from sim.engine.state import build_market, place_customers

CELLS = ("segments=example", "regions=example")


def test_sort_by_cell_sorts_each_window_stably_and_gives_each_place_its_storage_index():
    rng = np.random.default_rng(1)
    n, window = 5000, 1024
    segment = rng.integers(0, 4, n).astype(np.uint8)
    region = rng.integers(0, 3, n).astype(np.uint8)
    cell = region.astype(np.int64) * 4 + segment
    seg, reg, storage = sort_by_cell(segment, region, 4, 12, window)
    assert np.array_equal(np.sort(storage), np.arange(n))  # a permutation
    assert np.array_equal(seg[storage], segment) and np.array_equal(reg[storage], region)
    places = np.arange(n)
    assert np.array_equal(storage // window, places // window)  # nobody leaves its window
    stored = reg.astype(np.int64) * 4 + seg
    for w in range(0, n, window):
        assert np.all(np.diff(stored[w : w + window]) >= 0)  # by cell within a window
        for k in range(12):  # within a cell, places keep their order
            mine = (cell == k) & (places // window == w // window)
            assert np.all(np.diff(storage[mine]) == 1)


def test_one_cell_and_sorted_customers_do_not_move():
    ones = np.zeros(100, dtype=np.uint8)
    assert sort_by_cell(ones, ones, 1, 1)[2] is None
    sorted_segments = np.repeat(np.arange(4, dtype=np.uint8), 25)
    assert sort_by_cell(sorted_segments, np.zeros(100, np.uint8), 4, 4)[2] is None


@pytest.mark.parametrize(("n", "cells"), [(5000, 12), (5000, 1), (4096, 1), (1, 3), (0, 2)])
def test_chunks_hold_one_cell_each_and_cover_everyone_in_order(n, cells):
    rng = np.random.default_rng(n + cells)
    segment = rng.integers(0, cells, n).astype(np.uint8)
    region = np.zeros(n, dtype=np.uint8)
    seg, reg, _ = sort_by_cell(segment, region, cells, cells, 1024)
    bounds, cell = cell_chunks(seg, reg, cells, cells, 256, 1024)
    assert bounds[0] == 0 and bounds[-1] == n and np.all(np.diff(bounds) > 0)
    assert np.all(np.diff(bounds) <= 256) and cell.size <= most_chunks(n, cells, 256, 1024)
    for j in range(cell.size):  # one cell each, never across a window
        assert np.all(seg[bounds[j] : bounds[j + 1]] == cell[j])
        assert bounds[j] // 1024 == (bounds[j + 1] - 1) // 1024
    if cells == 1:  # the chunks of 256 from 0: the work units of a market without cells
        assert np.array_equal(bounds, np.r_[np.arange(0, n, 256), n])


def test_chunks_refuse_customers_out_of_order_cells_out_of_range_and_odd_windows():
    segment = np.array([0, 1, 0], dtype=np.uint8)
    with pytest.raises(ValueError, match="not stored in order of cell"):
        cell_chunks(segment, np.zeros(3, np.uint8), 2, 2)
    with pytest.raises(ValueError, match="a cell is not below 2"):
        cell_chunks(np.array([0, 1, 2], dtype=np.uint8), np.zeros(3, np.uint8), 3, 2)
    with pytest.raises(ValueError, match="window=1000: must be a multiple of chunk=256"):
        cell_chunks(segment, np.zeros(3, np.uint8), 2, 2, 256, 1000)


def _ties(net, storage=None) -> set[tuple[int, int, bool]]:
    """Every entry (row, neighbour, strong), rows and neighbours mapped through storage."""
    rows = np.repeat(np.arange(net.n), np.diff(net.indptr))
    cols = net.indices.astype(np.int64)
    if storage is not None:
        rows, cols = storage[rows], storage[cols]
    return set(zip(rows.tolist(), cols.tolist(), net.strong_mask().tolist(), strict=True))


@pytest.mark.parametrize("kind", ["watts_strogatz", "erdos_renyi", "clustered", "barabasi_albert"])
def test_the_stored_network_is_the_network_of_places_relabelled(kind):
    n = 6000
    storage = np.random.default_rng(4).permutation(n).astype(np.int32)
    args = (kind, n, 8.0, 0.2)
    kw = {"seed": 3, "group_size": 11, "p_in": 0.6, "weak_ties": 4.0}
    by_place = build_network(*args, **kw)
    stored = build_network(*args, **kw, storage=storage)
    assert np.array_equal(np.diff(stored.indptr)[storage], np.diff(by_place.indptr))
    assert _ties(stored) == _ties(by_place, storage)


def test_the_stored_edge_list_is_the_file_relabelled(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("source,target,strong\n0,1,1\n1,2,0\n2,3,1\n3,0,0\n0,2,1\n")
    storage = np.array([2, 0, 3, 1], dtype=np.int32)
    by_place = build_network("edgelist", 4, path=str(path))
    stored = build_network("edgelist", 4, path=str(path), storage=storage)
    assert _ties(stored) == _ties(by_place, storage)


def test_a_model_stores_its_customers_by_cell_with_the_homophily_of_places():
    from sim.engine.model import JourneyModel

    n = 20_000
    cfg = load_config([f"market.customers={n}", *CELLS, "sim.steps=2", "seed=5"])
    model = JourneyModel(cfg)
    c, market = model.customers, model.market
    cell = c.region.astype(np.int64) * market.n_segments + c.segment
    bounds, chunk_cell = model._bounds, model._chunk_cell
    assert np.array_equal(np.repeat(chunk_cell, np.diff(bounds)), cell)  # chunks of one cell
    # the ties join the same customers as on the places: the same share within a segment
    segment, region, storage = place_customers(cfg, build_market(cfg), 5)
    places = build_network("watts_strogatz", n, 10.0, float(cfg.network.rewiring), seed=5)
    rows = np.repeat(np.arange(n), np.diff(model.network.indptr))
    stored = np.mean(c.segment[rows] == c.segment[model.network.indices])
    rows = np.repeat(np.arange(n), np.diff(places.indptr))
    placed = np.mean(segment[storage][rows] == segment[storage][places.indices])
    assert stored == placed and stored > 0.35  # above 0.30, random mixing of the shares
    assert _ties(model.network) == _ties(places, storage.astype(np.int64))


def test_traced_customers_are_named_by_their_place():
    from sim.engine.model import JourneyModel

    cfg = load_config(["market.customers=3000", *CELLS, "sim.steps=3", "sim.trace=40", "seed=2"])
    model = JourneyModel(cfg)
    storage = place_customers(cfg, model.market, 2)[2]
    tracer = model.tracer
    assert np.all(np.diff(tracer.ids) > 0)
    assert np.array_equal(storage[tracer.places], tracer.ids)
    model.run()
    named = set(tracer.frame()["customer"].to_list())
    assert named <= set(tracer.places.tolist()) and len(named) > 0
