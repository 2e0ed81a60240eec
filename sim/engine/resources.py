"""Memory and time a run needs, estimated from its config before anything is allocated.

The estimate (bytes) is the sum of

- customer state: N (46 + 4 B) (the columns of ``sim.engine.state.Customers``: one
  float32 attitude per brand, the rest one to four bytes per customer, the segment and the
  region one each),
  plus 12 N B for the running neighbour counts of the cascade and threshold rules (numba
  engine, stored network, messages that never fade);
- network: 8 (N + 1) + 4 M + ceil(M / 8) (CSR ``indptr``, ``indices`` and the tie-strength
  bitset, M = N k entries, k the mean degree as built: exact for the lattice and
  preferential-attachment kinds, expected for the random ones, twice the listed ties for an
  edge list; none for the complete network);
- building (``sim.engine.network``; the customers are drawn straight into their columns):
  4 N (in-degrees) + 16 blocks x buckets (histogram and cursors) + 6 bytes per tie sent
  to another customer's bucket (N k beta / 2 rewired lattice ties, N k / 2 random ties,
  N w / 2 weak ties of a clustered network, every tie of Barabasi-Albert and of an edge
  list), plus the rewiring bitset (N k / 16), the Barabasi-Albert target list (4 per tie),
  or an edge list's loading (40 per listed tie, or after loading 9 per tie and 8 N);
- per-step records: (T + 1) G (B (4 (A - A_s) + 8 A_s + 16 (C + 1)) + 4 S^2) per
  (region, segment) cell (accumulators, channel tallies and the flow matrix of S = B + 4
  states, the counts as 4-byte integers, the A_s sums as float64: ``StepRecords``) plus
  8 (T + 1) B 30 for the result frames;
- per-chunk tallies: (V + G) (B (A + 4 (C + 1)) + S^2) 8 for V = ceil(N / 2048) +
  ceil(N / 32768) (G - 1) chunks at most (``params.most_chunks``: each of one cell) and the
  cells' sums of a step,
  G the number of (region, segment) cells (``conf/segments/``, ``conf/regions/``);
  8 W G B H for the cells' cohort counts, H = min(T, 730) + 1 tenures, W the most Numba
  threads (``NUMBA_NUM_THREADS``, the cores by default; one array per thread, whatever the
  number of customers); with G > 1 also
  (T + 1) G 6 B 8 of the cells' money and prices and
  8 (T + 1) (segments + regions) B 60 for their rows of the metrics frame;
- the readable engine (``engine=mesa``) adds about 3 kB per customer (one Python object each);

with N customers, B brands, C channels, T steps, A = ``N_ACC`` accumulators (A_s = 8 of them
sums). Time is three parts, shown apart: the burn-in, N x ``sim.burn_in`` steps (none when
its status quo is in the snapshot cache, ``sim.engine.snapshot``); compiling the kernels
(about ``COMPILE_SECONDS``, once, when Numba's disk cache does not hold them); the recorded
steps, N T, plus the build (about 0.5 s per million customers and Numba thread). Steps are
timed at this machine's rate, measured by the last runs of at least a million customer-steps
(``record_rate``; before any, about 11 M customer-steps per second per Numba thread, 85 k for
Mesa).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sim.engine import params as P

STATE_BYTES_FIXED = 46  # per customer (voice twice), besides one float32 attitude per brand
IN_DEGREE_BYTES = 4  # int32 per customer while a network is built
SENT_TIE_BYTES = 6  # int32 owner + uint16 bucket-local target per tie sent to a bucket
EDGELIST_LOAD_BYTES = 40  # per listed tie while polars reads, orients and sorts the file
MESA_BYTES = 3000  # one mesa.Agent per customer
MAX_COHORT_TENURE = 730
NUMBA_RATE_PER_THREAD = 11e6  # customer-steps per second and thread (README, benchmark)
MESA_RATE = 85e3
BUILD_SECONDS_PER_CUSTOMER = 0.5e-6  # per Numba thread (market build, all kinds)


#: Seconds of CPU to compile every kernel on this machine (measured: 47 s on one core).
COMPILE_SECONDS = 45.0
#: Runs shorter than this many customer-steps do not update the measured rate (start-up).
MIN_RATE_SAMPLE = 1e6


def _rate_file() -> Path:
    from sim.engine.snapshot import cache_dir

    return cache_dir().parent / "rate.json"


def measured_rate(engine: str) -> float | None:
    """This machine's measured rate per thread (customer-steps/s), if a run recorded one."""
    import json

    try:
        value = json.loads(_rate_file().read_text()).get(engine)
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def record_rate(engine: str, customer_steps: float, seconds: float, threads: int) -> None:
    """Remember a run's rate per thread (a moving average), for honest estimates."""
    import json
    import tempfile

    if customer_steps < MIN_RATE_SAMPLE or seconds <= 0:
        return
    rate = customer_steps / seconds / max(1, threads)
    old = measured_rate(engine)
    new = rate if old is None else 0.5 * old + 0.5 * rate
    path = _rate_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[engine] = new
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as f:
            json.dump(data, f)
        os.replace(f.name, path)
    except (OSError, ValueError):
        pass  # an estimate is a convenience: never fail a run for it


#: Files whose code or constants a cached kernel can compile in (folders: every .py inside);
#: a change to any of them recompiles every kernel (``sim.engine.jit``).
KERNEL_SOURCES = ("sim/engine", "agents/rules.py")


def kernel_files() -> list[Path]:
    """Every file of ``KERNEL_SOURCES``, in a fixed order."""
    root = Path(__file__).resolve().parents[2]
    files: list[Path] = []
    for name in KERNEL_SOURCES:
        path = root / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def kernels_compiled() -> bool:
    """Whether Numba's disk cache holds kernels at least as new as every kernel source."""
    sources = kernel_files()
    newest = max(p.stat().st_mtime for p in sources)
    # a kernel cached on disk: inlined helpers are compiled into their callers' entries
    decorated = re.compile(r"^@(?!.*inline=\"always\").*cache=True", re.MULTILINE)
    for source in sources:
        if not decorated.search(source.read_text()):
            continue
        indexes = list((source.parent / "__pycache__").glob(f"{source.stem}.*.nbi"))
        if not indexes or max(i.stat().st_mtime for i in indexes) < newest:
            return False
    return True


@dataclass(frozen=True)
class Estimate:
    """Bytes and seconds one run needs (see the module docstring for the formula).

    ``seconds`` is the recorded steps and the build; ``burn_in_seconds`` and
    ``compile_seconds`` come before them (0 when cached).
    """

    state: int
    network: int
    build: int
    records: int
    seconds: float
    burn_in_seconds: float = 0.0
    compile_seconds: float = 0.0
    burn_in_cached: bool = False

    @property
    def total_seconds(self) -> float:
        """Wall seconds of the whole run: compile, burn-in, build and recorded steps."""
        return self.compile_seconds + self.burn_in_seconds + self.seconds

    @property
    def total(self) -> int:
        """Peak bytes of the run."""
        return self.state + self.network + self.build + self.records


def _edgelist_rows(cfg) -> int:
    """Ties listed in the edge-list file (0 if it cannot be read: validation says why)."""
    from sim.engine.edgelist import EdgeListError, summarise

    try:
        return summarise(str(cfg.network.path)).rows
    except (EdgeListError, OSError, TypeError):
        return 0


def network_entries(cfg) -> int:
    """Entries of ``indices`` (twice the ties) as the network will be built (0 if complete)."""
    net, n = cfg.network, int(cfg.market.customers)
    kind = str(net.kind)
    if kind == "complete":
        return 0
    if kind == "edgelist":
        return 2 * _edgelist_rows(cfg)
    if kind == "clustered":
        g = min(int(net.group_size), n)
        full, rest = divmod(n, g)
        pairs = full * g * (g - 1) // 2 + rest * (rest - 1) // 2
        return int(round(2 * pairs * float(net.p_in) + n * float(net.weak_ties)))
    k = float(net.mean_degree)
    if kind == "watts_strogatz":
        return 2 * n * min(max(1, round(k / 2.0)), (n - 1) // 2)
    if kind == "barabasi_albert":
        m = min(max(1, round(k / 2.0)), n - 1)
        return 2 * (m * (m + 1) // 2 + max(0, n - m - 1) * m)
    return int(round(n * min(k, n - 1)))


def mean_degree(cfg) -> float:
    """The network's mean degree as it will be built (0 for the complete network)."""
    return network_entries(cfg) / max(1, int(cfg.market.customers))


def network_bytes(cfg) -> int:
    """CSR arrays and tie-strength bitset of the built network (0 for the complete one)."""
    if str(cfg.network.kind) == "complete":
        return 0
    n, entries = int(cfg.market.customers), network_entries(cfg)
    return 8 * (n + 1) + 4 * entries + (entries + 7) // 8


def build_bytes(cfg) -> int:
    """Peak temporary bytes of building the network, besides its final arrays."""
    net, n = cfg.network, int(cfg.market.customers)
    kind = str(net.kind)
    if kind == "complete":
        return 0
    entries = network_entries(cfg)
    blocks = min(1024, max(1, -(-n // 65536)))
    buckets = max(1, -(-n // 65536))
    common = IN_DEGREE_BYTES * n + 16 * blocks * buckets
    if kind == "watts_strogatz":
        sent = entries / 2 * float(net.rewiring)
        return common + int(SENT_TIE_BYTES * sent) + entries // 16 + 1
    if kind == "erdos_renyi":
        return common + SENT_TIE_BYTES * entries // 2
    if kind == "clustered":
        return common + int(SENT_TIE_BYTES * n * float(net.weak_ties) / 2)
    if kind == "barabasi_albert":
        return common + (SENT_TIE_BYTES + 4) * entries // 2
    rows = entries // 2  # edgelist
    return max(EDGELIST_LOAD_BYTES * rows, common + (SENT_TIE_BYTES + 9) * rows + 8 * n)


def estimate(cfg, threads: int | None = None) -> Estimate:
    """Memory and time of one run of ``cfg`` (a resolved config), without allocating it."""
    n = int(cfg.market.customers)
    b = len(cfg.brands)
    t = int(cfg.sim.steps)
    state = n * (STATE_BYTES_FIXED + 4 * b)
    network = network_bytes(cfg)
    build = build_bytes(cfg)
    states = b + 4
    horizon = min(t, MAX_COHORT_TENURE) + 1
    segments = max(len((cfg.get("segments") or {}).get("groups") or {}), 1)
    regions = max(len((cfg.get("regions") or {}).get("groups") or {}), 1)
    g = segments * regions  # (region, segment) cells
    chunks = P.most_chunks(n, g)
    nc = len(cfg.channels)
    cell = b * (P.N_ACC + P.N_CHAN * (nc + 1)) + states * states
    sums = len(P.A_SUMS)  # the records keep every other tally as a 4-byte count
    kept = b * (4 * (P.N_ACC - sums) + 8 * sums + 4 * P.N_CHAN * (nc + 1)) + 4 * states * states
    records = (t + 1) * g * kept + 8 * (t + 1) * b * 30
    records += 8 * (chunks + g) * cell  # the chunks' tallies and the cells' sums of a step
    records += 8 * _most_threads() * g * b * horizon  # the cells' cohort counts
    if g > 1:
        records += 8 * (t + 1) * g * 6 * b  # the cells' money and prices
        records += 8 * (t + 1) * b * 60 * ((segments if segments > 1 else 0)
                                           + (regions if regions > 1 else 0))  # fmt: skip
    mesa = str(cfg.engine.name) == "mesa"
    state += heard_count_bytes(cfg, n, b, mesa)
    threads = threads or _threads(cfg)
    if mesa:
        state += MESA_BYTES * n
        rate = measured_rate("mesa") or MESA_RATE
    else:
        rate = (measured_rate("numba") or NUMBA_RATE_PER_THREAD) * threads
    seconds = n * t / rate + n * BUILD_SECONDS_PER_CUSTOMER / threads
    burn_in = int(cfg.sim.get("burn_in", 0) or 0)
    cached = burn_in > 0 and not mesa and _status_quo_cached(cfg)
    burn_in_seconds = 0.0 if cached else n * burn_in / rate
    compile_seconds = 0.0 if mesa or kernels_compiled() else COMPILE_SECONDS
    return Estimate(state, network, build, records, seconds, burn_in_seconds, compile_seconds,
                    cached)  # fmt: skip


def _status_quo_cached(cfg) -> bool:
    """Whether the snapshot cache holds this config's status quo."""
    from sim.engine import snapshot

    if not snapshot.enabled():
        return False
    try:
        return snapshot.SnapshotStore().path(snapshot.burn_in_key(cfg)).exists()
    except Exception:  # noqa: BLE001 - an estimate never fails a run
        return False


def heard_count_bytes(cfg, n: int, b: int, mesa: bool) -> int:
    """Running neighbour counts of the cascade and threshold rules: 12 B per customer and brand.

    uint16 per customer, voice code (3 per brand) and tie strength, kept by the numba engine
    on a stored network when messages never fade (``sim.engine.model``).
    """
    rule = str(cfg.wom.get("rule", "pairwise"))
    fades = float(cfg.wom.get("half_life", 0) or 0) > 0
    if mesa or rule == "pairwise" or fades or str(cfg.network.kind) == "complete":
        return 0
    return n * 3 * b * 2 * 2


def _most_threads() -> int:
    """Numba's most threads (``NUMBA_NUM_THREADS``, else the cores): per-thread arrays' count."""
    wanted = os.environ.get("NUMBA_NUM_THREADS")
    return max(1, int(wanted)) if wanted and wanted.isdigit() else (os.cpu_count() or 1)


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
    if s < 10:
        return f"{s:.1f} s"
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
