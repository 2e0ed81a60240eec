"""Customers stored by window and (region, segment) cell, and the kernels' chunks of one cell.

Customer i is in cell k = region_i S + segment_i (S segments). The population is drawn at
*places* along the network's order (``draw_segments`` and ``draw_regions`` place customers
by homophily, and the local ties of a network join nearby places), then stored window by
window, the customers of each window of ``WINDOW`` places in order of cell and, within a
cell, of place: the customer at place p is stored at ``storage[p]``, and the network is
drawn between places and written between storage indices (``sim.engine.network``).

So a window's customers of one cell are one run of the columns, and the step kernels work
in chunks of one cell each (``cell_chunks``): a chunk takes its cell's tables once and
tallies into one cell's accumulators, as a market of one cell does. A window is short, so a
customer's local ties (a lattice's, a group's) to other cells mostly stay within its window,
64 kB of the voice column that the core's own cache holds, as in a market of one cell. With
one cell, nothing moves.
"""

from __future__ import annotations

import numpy as np

from sim.engine.jit import njit
from sim.engine.params import CHUNK, WINDOW, most_chunks

__all__ = ["cell_chunks", "sort_by_cell"]


def _cells(segment: np.ndarray, region: np.ndarray, n_segments: int) -> np.ndarray:
    """k_i = region_i S + segment_i (int64)."""
    return region.astype(np.int64) * n_segments + segment.astype(np.int64)


def sort_by_cell(
    segment: np.ndarray, region: np.ndarray, n_segments: int, n_cells: int, window: int = WINDOW
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The customers' segments and regions in storage order, and the storage index of each place.

    Places p = w W .. (w + 1) W - 1 (window w, W = ``window``) are stored at the same indices,
    sorted by cell k_p, then by place (a stable sort by the key w K + k_p, K cells).

    Args:
        segment: uint8 segment of the customer at each place.
        region: uint8 region of the customer at each place.
        n_segments: S.
        n_cells: K.
        window: W.

    Returns:
        (segment, region, storage): the columns in storage order; ``storage[p]`` the
        storage index of the customer at place p, int32, or None when no customer moves.
    """
    key = _cells(segment, region, n_segments)
    key += np.arange(key.size, dtype=np.int64) // window * n_cells
    if key.size < 2 or bool(np.all(key[1:] >= key[:-1])):
        return segment, region, None
    order = np.argsort(key, kind="stable")  # order[j]: the place stored at index j
    del key
    storage = np.empty(order.size, dtype=np.int32)
    storage[order] = np.arange(order.size, dtype=np.int32)
    return segment[order], region[order], storage


@njit(cache=True)
def _chunks(segment, region, n_segments, n_cells, chunk, window, bounds, cell_of) -> int:
    """Fill bounds and cell_of (``cell_chunks``): the number of chunks, or -1 for a bad cell.

    A cell is bad when it is out of order within its window or not below ``n_cells``; else,
    with the window a multiple of the chunk, the chunks fit (``params.most_chunks``).
    """
    n = segment.size
    count = 0
    start = 0
    cell = previous = np.int64(0)
    for i in range(n + 1):
        if i < n:
            cell = np.int64(region[i]) * n_segments + np.int64(segment[i])
            if cell >= n_cells:
                return -1
        if i > 0 and (i == n or i % window == 0 or cell != previous or i - start == chunk):
            if i < n and i % window != 0 and cell < previous:
                return -1
            bounds[count] = start
            cell_of[count] = previous
            count += 1
            start = i
        if i < n:
            previous = cell
    bounds[count] = n
    return count


def cell_chunks(
    segment: np.ndarray, region: np.ndarray, n_segments: int, n_cells: int,
    chunk: int = CHUNK, window: int = WINDOW,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The kernels' work units: runs of one cell within a window, cut every ``chunk``.

    A chunk starts at each window, at each change of cell, and ``chunk`` customers after the
    chunk before in a run, so no chunk holds two cells. The chunks depend on the customers'
    cells only (the config and the seed), never on the threads, so float sums over them do
    not either; one cell's are the chunks of ``chunk`` customers from 0.

    Args:
        segment: uint8 segments in storage order (``sort_by_cell``).
        region: uint8 regions in storage order.
        n_segments: S.
        n_cells: K.
        chunk: customers per chunk at most.
        window: the storage order's window (``sort_by_cell``).

    Returns:
        (bounds, cell): chunk j holds customers bounds[j]..bounds[j + 1] - 1, all of cell
        cell[j] (int64 arrays).

    Raises:
        ValueError: when the customers are not stored in order of cell within each window (or
            a cell is not below ``n_cells``), or the window is not a multiple of the chunk.
    """
    if window % chunk != 0:
        raise ValueError(f"window={window}: must be a multiple of chunk={chunk}")
    most = most_chunks(segment.size, n_cells, chunk, window)
    bounds = np.zeros(most + 1, dtype=np.int64)
    cell = np.zeros(most, dtype=np.int64)
    count = _chunks(segment, region, np.int64(n_segments), np.int64(n_cells), chunk, window,
                    bounds, cell)  # fmt: skip
    if count < 0:
        raise ValueError(
            "customers are not stored in order of cell within windows, or a cell "
            f"is not below {n_cells} (sim.engine.cells)"
        )
    return bounds[: count + 1].copy(), cell[:count].copy()
