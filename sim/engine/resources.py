"""Memory and time a run needs, estimated from its config before anything is allocated.

The estimate (bytes) is the sum of

- customer state: N (40 + 4 B) (the columns of ``sim.engine.state.Customers``: one
  float32 attitude per brand, the rest one to four bytes per customer);
- network: 8 (N + 1) + 4 N k (CSR ``indptr`` and ``indices``, k the mean degree; none for
  the complete network), plus 16 N k while a Barabasi-Albert network is built (its edge
  list) or 16 N for the degree counts of the other kinds;
- building: 40 N of temporary float64 draws while customers are initialised;
- per-step records: (T + 1) (B A + S^2) 8 (brand accumulators and the flow matrix of
  S = B + 4 states) plus 8 (T + 1) B 30 for the result frames;
- per-chunk arrays: ceil(N / 2048) (B A + S^2 + B H) 8, H = min(T, 730) + 1 cohort tenures;
- the readable engine (``engine=mesa``) adds about 3 kB per customer (one Python object each);

with N customers, B brands, T steps, A = 14 accumulators. Time is N T over the measured
rate of the engine (about 11 M customer-steps per second per Numba thread, 85 k for
the Mesa engine) plus about 1 s per million customers to build the market.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sim.engine import params as P

CHUNK = 2048  # = sim.engine.kernels.CHUNK (not imported: that would compile the kernels)
STATE_BYTES_FIXED = 40  # per customer (voice twice), besides one float32 attitude per brand
BUILD_BYTES = 40  # temporary draws per customer while the market is built
MESA_BYTES = 3000  # one mesa.Agent per customer
MAX_COHORT_TENURE = 730
NUMBA_RATE_PER_THREAD = 11e6  # customer-steps per second and thread (README, benchmark)
MESA_RATE = 85e3
BUILD_SECONDS_PER_CUSTOMER = 1e-6


@dataclass(frozen=True)
class Estimate:
    """Bytes and seconds one run needs (see the module docstring for the formula)."""

    state: int
    network: int
    build: int
    records: int
    seconds: float

    @property
    def total(self) -> int:
        """Peak bytes of the run."""
        return self.state + self.network + self.build + self.records


def mean_degree(cfg) -> float:
    """The network's mean degree as it will be built (0 for the complete network)."""
    net, n = cfg.network, int(cfg.market.customers)
    kind = str(net.kind)
    if kind == "complete":
        return 0.0
    k = float(net.mean_degree)
    if kind == "watts_strogatz":
        return 2.0 * min(max(1, round(k / 2.0)), (n - 1) // 2)
    if kind == "barabasi_albert":
        return 2.0 * min(max(1, round(k / 2.0)), n - 1)
    return k


def estimate(cfg, threads: int | None = None) -> Estimate:
    """Memory and time of one run of ``cfg`` (a resolved config), without allocating it."""
    n = int(cfg.market.customers)
    b = len(cfg.brands)
    t = int(cfg.sim.steps)
    k = mean_degree(cfg)
    kind = str(cfg.network.kind)
    state = n * (STATE_BYTES_FIXED + 4 * b)
    network = 0 if kind == "complete" else 8 * (n + 1) + int(4 * n * k)
    build_network = (
        0 if kind == "complete" else (16 * int(n * k) if kind == "barabasi_albert" else 16 * n)
    )
    build = max(BUILD_BYTES * n, build_network)
    states = b + 4
    horizon = min(t, MAX_COHORT_TENURE) + 1
    chunks = math.ceil(n / CHUNK)
    records = 8 * (t + 1) * (b * P.N_ACC + states * states) + 8 * (t + 1) * b * 30
    records += 8 * chunks * (b * P.N_ACC + states * states + b * horizon)
    mesa = str(cfg.engine.name) == "mesa"
    if mesa:
        state += MESA_BYTES * n
        rate = MESA_RATE
    else:
        rate = NUMBA_RATE_PER_THREAD * (threads or _threads(cfg))
    seconds = n * t / rate + n * BUILD_SECONDS_PER_CUSTOMER
    return Estimate(state, network, build, records, seconds)


def _threads(cfg) -> int:
    wanted = cfg.engine.get("threads")
    cores = os.cpu_count() or 1
    return max(1, min(int(wanted), cores) if wanted else cores)


def available_memory() -> int | None:
    """Bytes this process can still take: MemAvailable, or the cgroup's limit if lower."""
    found = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit != "max":
            room = int(limit) - used
            found = room if found is None else min(found, room)
    except (OSError, ValueError):
        pass
    return found


def human_bytes(x: float) -> str:
    """1234567 -> '1.2 MB' (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(x) < 1000 or unit == "TB":
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1000.0
    return f"{x:.1f} TB"


def human_seconds(s: float) -> str:
    """Seconds as '45 s', '12 min' or '3.5 h'."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def check_memory(cfg, concurrent: int = 1, headroom: float = 0.9) -> Estimate:
    """Refuse a run that cannot fit in memory, before anything is allocated.

    Args:
        cfg: a resolved config.
        concurrent: runs sharing the machine at once (parallel sweep jobs).
        headroom: share of the available memory a run may plan to use.

    Raises:
        ConfigError: one line with the estimate, what the machine has and the keys to change.
    """
    from sim.config.errors import ConfigError

    est = estimate(cfg)
    have = available_memory()
    need = est.total * max(1, concurrent)
    if have is not None and need > headroom * have:
        runs = f" for {concurrent} parallel runs" if concurrent > 1 else ""
        raise ConfigError(
            f"market.customers={int(cfg.market.customers)}: needs about {human_bytes(need)}"
            f"{runs} (state {human_bytes(est.state)}, network {human_bytes(est.network)}), "
            f"this machine has {human_bytes(have)} available: lower market.customers, "
            f"network.mean_degree or sim.steps"
            + (" or hydra.launcher.n_jobs" if concurrent > 1 else "")
        )
    return est
