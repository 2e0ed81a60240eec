"""Social networks as CSR arrays, built fast for millions of customers.

A network is ``(indptr, indices)``: the neighbours of customer i are
``indices[indptr[i]:indptr[i + 1]]``. Edges are undirected (stored both ways).
Random choices come from the counter-based generator, so every graph is a pure
function of (seed, kind, size, parameters). Edge lists are generated twice (once
to count degrees, once to fill), which keeps peak memory at the CSR arrays alone.

The complete network is not stored: the kernels draw a conversation partner
uniformly from all other customers, the mean-field limit of the other kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from sim.engine.params import NETWORK_KINDS as KINDS
from sim.engine.rng import STREAM_NETWORK, customer_key, randint, stream_key, uniform


@dataclass(frozen=True)
class Network:
    """A social network in CSR form; ``complete`` networks store no arrays."""

    kind: str
    n: int
    indptr: np.ndarray  # int64, n + 1 (length 1 for the complete network)
    indices: np.ndarray  # int32, 2 * edges (empty for the complete network)
    #: bitset over the CSR entries: bit e set when ``indices[e]`` is a strong tie (empty:
    #: every tie weak, as on the complete network)
    strong: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint8))

    @property
    def complete(self) -> bool:
        """True for the mean-field network (everyone talks with everyone)."""
        return self.kind == "complete"

    @property
    def mean_degree(self) -> float:
        """Mean number of neighbours per customer."""
        if self.complete:
            return float(self.n - 1)
        return float(self.indices.size) / max(self.n, 1)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return int(self.indptr.nbytes + self.indices.nbytes)


@njit(cache=True)
def _er_edge(key: np.uint64, e: int, n: int) -> tuple[int, int]:
    """Edge e of G(n, m): two uniform endpoints, redrawn (slots 2, 3, ...) until distinct."""
    ck = customer_key(key, e)
    a = randint(ck, 0, n)
    b = randint(ck, 1, n)
    slot = 2
    while a == b:
        b = randint(ck, slot, n)
        slot += 1
    return a, b


@njit(cache=True)
def _ws_edge(key: np.uint64, i: int, j: int, half: int, n: int, rewiring: float) -> int:
    """Target of lattice edge (i, i + j).

    Rewired to a uniform non-self node with probability beta.
    """
    ck = customer_key(key, i * half + j)
    target = (i + j) % n
    if uniform(ck, 0) < rewiring:
        target = randint(ck, 1, n)
        slot = 2
        while target == i:
            target = randint(ck, slot, n)
            slot += 1
    return target


@njit(cache=True)
def _fill_csr(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of an undirected edge list, neighbours kept in edge order (deterministic)."""
    deg = np.zeros(n + 1, dtype=np.int64)
    for e in range(src.size):
        deg[src[e] + 1] += 1
        deg[dst[e] + 1] += 1
    indptr = np.cumsum(deg)
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[n], dtype=np.int32)
    for e in range(src.size):
        a = src[e]
        b = dst[e]
        indices[fill[a]] = b
        fill[a] += 1
        indices[fill[b]] = a
        fill[b] += 1
    return indptr, indices


@njit(cache=True)
def _erdos_renyi(n: int, edges: int, key: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """G(n, m) random graph with m = n k / 2 edges, built in two passes without an edge list."""
    deg = np.zeros(n + 1, dtype=np.int64)
    for e in range(edges):
        a, b = _er_edge(key, e, n)
        deg[a + 1] += 1
        deg[b + 1] += 1
    indptr = np.cumsum(deg)
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[n], dtype=np.int32)
    for e in range(edges):
        a, b = _er_edge(key, e, n)
        indices[fill[a]] = b
        fill[a] += 1
        indices[fill[b]] = a
        fill[b] += 1
    return indptr, indices


@njit(cache=True)
def _watts_strogatz(
    n: int, half: int, rewiring: float, key: np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """Watts-Strogatz small world.

    Ring lattice with k/2 neighbours a side, each edge rewired w.p. beta.
    """
    deg = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        for j in range(1, half + 1):
            t = _ws_edge(key, i, j, half, n, rewiring)
            deg[i + 1] += 1
            deg[t + 1] += 1
    indptr = np.cumsum(deg)
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[n], dtype=np.int32)
    for i in range(n):
        for j in range(1, half + 1):
            t = _ws_edge(key, i, j, half, n, rewiring)
            indices[fill[i]] = t
            fill[i] += 1
            indices[fill[t]] = i
            fill[t] += 1
    return indptr, indices


@njit(cache=True)
def _barabasi_albert(n: int, m: int, key: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """Barabasi-Albert preferential attachment.

    Each new node links to m distinct earlier nodes, drawn with probability proportional to
    degree (the repeated-endpoints list).
    """
    seed_nodes = m + 1
    total = seed_nodes * m // 2 + (n - seed_nodes) * m
    src = np.empty(total, dtype=np.int32)
    dst = np.empty(total, dtype=np.int32)
    ends = np.empty(2 * total, dtype=np.int32)
    e = 0
    for a in range(seed_nodes):  # a small clique to start from
        for b in range(a + 1, seed_nodes):
            src[e] = a
            dst[e] = b
            ends[2 * e] = a
            ends[2 * e + 1] = b
            e += 1
    chosen = np.empty(m, dtype=np.int32)
    for v in range(seed_nodes, n):
        ck = customer_key(key, v)
        slot = 0
        got = 0
        while got < m:
            t = ends[randint(ck, slot, 2 * e)]
            slot += 1
            dup = False
            for q in range(got):
                if chosen[q] == t:
                    dup = True
                    break
            if not dup:
                chosen[got] = t
                got += 1
        for q in range(m):
            src[e] = v
            dst[e] = chosen[q]
            ends[2 * e] = v
            ends[2 * e + 1] = chosen[q]
            e += 1
    return _fill_csr(n, src[:e], dst[:e])


def build_network(kind: str, n: int, mean_degree: float, rewiring: float, seed: int) -> Network:
    """Build a social network of n customers.

    Args:
        kind: one of ``complete``, ``erdos_renyi``, ``watts_strogatz``, ``barabasi_albert``.
        n: number of customers.
        mean_degree: mean number of neighbours k (rounded to an even number for the
            lattice and preferential-attachment kinds, which add k/2 edges per node).
        rewiring: Watts-Strogatz rewiring probability beta (0 gives a ring lattice).
        seed: run seed; the graph is a pure function of it and the other arguments.

    Returns:
        The network as CSR arrays.
    """
    key = np.uint64(stream_key(seed, 0, STREAM_NETWORK))
    if kind == "complete":
        return Network(kind, n, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32))
    if kind == "erdos_renyi":
        edges = int(round(n * mean_degree / 2.0))
        indptr, indices = _erdos_renyi(n, edges, key)
    elif kind == "watts_strogatz":
        half = max(1, int(round(mean_degree / 2.0)))
        indptr, indices = _watts_strogatz(n, min(half, (n - 1) // 2), float(rewiring), key)
    elif kind == "barabasi_albert":
        m = max(1, int(round(mean_degree / 2.0)))
        indptr, indices = _barabasi_albert(n, min(m, n - 1), key)
    else:
        raise ValueError(f"network.kind={kind}: must be one of {', '.join(KINDS)}")
    return Network(kind, n, indptr, indices)
