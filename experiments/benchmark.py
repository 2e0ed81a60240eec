"""Benchmark: both engines on the same market, throughput, memory per customer, warm start.

    python experiments/benchmark.py                 # the figures recorded in README.md
    python experiments/benchmark.py --large 200000  # a quicker run on a small machine
    python experiments/benchmark.py --rules wom=cascade  # the large run under one rule only
    python experiments/benchmark.py --comparison    # status-quo cache: cold, warm, off
    python experiments/benchmark.py --warm-start-only  # the warm start, median of 5

Prints figures; asserts nothing. Each large run happens in a fresh subprocess so
its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _overrides(n: int, steps: int, engine: str, extra: list[str]) -> list[str]:
    # no burn-in: the build and the run are timed apart (burn-in steps run at the same rate)
    return [f"market.customers={n}", f"sim.steps={steps}", f"engine={engine}", "sim.burn_in=0",
            *extra]  # fmt: skip


def time_engine(n: int, steps: int, engine: str, extra: list[str]) -> float:
    """Customer-steps per second of one run (the numba kernels compiled beforehand)."""
    from sim import load_config
    from sim.engine.model import JourneyModel
    from sim.engine.runner import set_threads

    cfg = load_config(_overrides(n, steps, engine, extra))
    set_threads(cfg.engine.threads, n)
    model = JourneyModel(cfg)
    t0 = time.perf_counter()
    model.run()
    return n * steps / (time.perf_counter() - t0)


def _resident_bytes() -> int:
    """Memory the process holds now (resident set), from /proc (0 where there is none)."""
    import os

    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _reset_peak() -> None:
    """Start the resident set's peak again from now (Linux's /proc/self/clear_refs; else not)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_bytes() -> int:
    """The resident set's peak since ``_reset_peak`` (VmHWM), else over the process's life."""
    import resource

    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(n: int, steps: int, extra: list[str]) -> None:
    """Run in a subprocess: build and run a large market, report time and peak memory."""
    from sim import load_config
    from sim.engine.model import JourneyModel

    cfg = load_config(_overrides(1000, 2, "numba", extra))
    JourneyModel(cfg).run()  # compile (or load from the cache) outside the measurement
    # memory now held, and the peak counted from here: compiling (or loading) the kernels can
    # peak above the whole run, and the memory it freed goes back to the system
    base = _resident_bytes()
    _reset_peak()
    cfg = load_config(_overrides(n, steps, "numba", extra))
    t0 = time.perf_counter()
    model = JourneyModel(cfg)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    model.run()
    t_run = time.perf_counter() - t1
    peak = max(_peak_bytes(), _resident_bytes())
    rec = model.recorder
    tallies = [model._acc, model._chan, model._flow, model._acc_cells, model._chan_cells,
               model._flow_cells, model._cohort_cells, rec.cell_acc, rec.cell_chan,
               rec.cell_flows, rec.cell_money, rec.cell_price]  # fmt: skip
    print(json.dumps({
        "build_s": t_build, "run_s": t_run, "rate": n * steps / t_run,
        "bytes_per_customer": (peak - base) / n,
        "state_bytes": model.customers.nbytes / n, "network_bytes": model.network.nbytes / n,
        "tally_bytes": sum(a.nbytes for a in tallies) / n,
    }))  # fmt: skip


WARM_START = (
    "from sim import load_config, simulate;"
    "simulate(load_config(['market.customers=1000','sim.steps=5']))"
)


def warm_start_seconds(runs: int = 5) -> list[float]:
    """Wall times of fresh processes running a tiny market, kernels loaded from the disk cache.

    The first run (which may compute the tiny market's status quo) is not counted.
    """
    times = []
    for k in range(runs + 1):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", WARM_START], check=True, cwd=ROOT)
        if k:
            times.append(time.perf_counter() - t0)
    return times


def print_warm_start(runs: int) -> None:
    """Print the warm start's median and range over ``runs`` new processes."""
    import os
    import statistics

    times = warm_start_seconds(runs)
    note = ""
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        note = " (PYTHONDONTWRITEBYTECODE set: every start compiles journeysim's modules)"
    print(f"warm start (new process, cached kernels, tiny run): median "
          f"{statistics.median(times):.2f} s, {min(times):.2f}-{max(times):.2f} s over "
          f"{runs} runs{note}")  # fmt: skip


COMPARISON_SCENARIOS = ("baseline", "price_war", "pr_crisis", "service_outage")

#: Markets of the segments-and-regions cost (``--cells``): the neutral ones behave exactly
#: as one cell (the same tallies), so their extra time is the cells' own overhead.
CELL_MARKETS = {
    "one cell": [],
    "4 neutral segments": [
        "segments.homophily=0.5",
        "++segments.groups={everyone: {share: 0.3}, b: {share: 0.4}, c: {share: 0.2}, "
        "d: {share: 0.1}}",
    ],
    "3 neutral regions": [
        "regions.homophily=0.7",
        "++regions.groups={everywhere: {share: 0.45}, b: {share: 0.35}, c: {share: 0.2}}",
    ],
    "segments=example": ["segments=example"],
    "regions=example": ["regions=example"],
    "both examples (12 cells)": ["segments=example", "regions=example"],
}


def print_cells(n: int, steps: int, network: str, rounds: int) -> None:
    """Time and memory of segments and regions against one cell, markets alternated."""
    import statistics

    runs: dict[str, list[dict]] = {name: [] for name in CELL_MARKETS}
    for _ in range(rounds):
        for name, extra in CELL_MARKETS.items():
            args = ["--child", "--large", str(n), "--steps", str(steps), "--network", network,
                    *extra]  # fmt: skip
            runs[name].append(_child_json(args, {}))
    one = runs["one cell"]
    base_s = statistics.median(r["run_s"] for r in one)
    base_b = statistics.median(r["bytes_per_customer"] for r in one)
    base_t = statistics.median(r["tally_bytes"] for r in one)
    print(f"segments and regions: N={n:,}, {steps} steps, {rounds} alternating rounds (medians)")
    for name, rows in runs.items():
        s = statistics.median(r["run_s"] for r in rows)
        b = statistics.median(r["bytes_per_customer"] for r in rows)
        t = statistics.median(r["tally_bytes"] for r in rows)
        print(f"  {name:26s} {s:6.2f} s {s / base_s:5.3f}x  peak {b:6.1f} B/customer "
              f"({b - base_b:+5.1f}: tallies and per-step records {t - base_t:+5.1f}, "
              f"the rest {b - base_b - (t - base_t):+5.1f})")  # fmt: skip


def comparison_child(burn_in: int, customers: int, steps: int) -> None:
    """Run in a subprocess: a 4-scenario x 3-seed comparison in one process, timed."""
    from sim import load_config, simulate

    simulate(load_config(["market.customers=1000", "sim.steps=2", "sim.burn_in=0"]))  # compile
    t0 = time.perf_counter()
    for scenario in COMPARISON_SCENARIOS:
        for seed in range(3):
            simulate(load_config([f"scenario={scenario}", f"seed={seed}",
                                  f"market.customers={customers}", f"sim.steps={steps}",
                                  f"sim.burn_in={burn_in}"]))  # fmt: skip
    print(json.dumps({"seconds": time.perf_counter() - t0}))


def snapshot_child(customers: int, steps: int) -> None:
    """Run in a subprocess: a year from a cached status quo, end to end; snapshot figures."""
    from sim import load_config, simulate
    from sim.engine import snapshot

    cfg = load_config([f"market.customers={customers}", f"sim.steps={steps}"])
    simulate(load_config(["market.customers=1000", "sim.steps=2", "sim.burn_in=0"]))  # compile
    t0 = time.perf_counter()
    simulate(load_config([f"market.customers={customers}", "sim.steps=1"]))  # makes the snapshot
    cold = time.perf_counter() - t0
    store = snapshot.SnapshotStore()
    key = snapshot.burn_in_key(cfg)
    t1 = time.perf_counter()
    store.load(key)
    load_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    simulate(cfg)
    warm = time.perf_counter() - t2
    print(json.dumps({"cold_s": cold, "load_s": load_s, "size": store.path(key).stat().st_size,
                      "run_s": warm, "rate": customers * steps / warm}))  # fmt: skip


def _child_json(args: list[str], env: dict) -> dict:
    import os

    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, **env})  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def comparison(customers: int, steps: int, big: list[int]) -> None:
    """Print the status-quo cache figures: comparison wall times as ratios, snapshot sizes."""
    import tempfile

    print(f"comparison: {len(COMPARISON_SCENARIOS)} scenarios x 3 seeds, N={customers:,}, "
          f"{steps} recorded days, one process")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        off = {"JOURNEYSIM_NO_CACHE": "1"}
        on = {"JOURNEYSIM_CACHE_DIR": folder}
        rows = {}
        for label, burn_in, env in (
            ("no cache, burn-in 365", 365, off),
            ("cold cache, burn-in 365", 365, on),
            ("warm cache, burn-in 365", 365, on),
            ("no cache, burn-in 730 (default)", 730, off),
            ("cold cache, burn-in 730 (default)", 730, on),
            ("warm cache, burn-in 730 (default)", 730, on),
            ("cold cache, burn-in 1460", 1460, on),
            ("warm cache, burn-in 1460", 1460, on),
        ):
            args = ["--comparison-child", "--burn-in", str(burn_in), "--small", str(customers),
                    "--steps", str(steps)]  # fmt: skip
            rows[label] = (burn_in, _child_json(args, env)["seconds"])
        # ratios: against no cache at the same burn-in (1460: against no cache at 365, the
        # target "a burn-in four times longer at most today's cost")
        before = {b: sec for label, (b, sec) in rows.items() if label.startswith("no cache")}
        for label, (burn_in, seconds) in rows.items():
            base = before.get(burn_in, before[365])
            print(f"  {label:36s} {seconds:7.1f} s  {seconds / base:5.2f}x")
        for n in big:
            with tempfile.TemporaryDirectory() as one:
                fig = _child_json(["--snapshot-child", "--large", str(n), "--steps", "365"],
                                  {"JOURNEYSIM_CACHE_DIR": one})  # fmt: skip
            print(f"  N={n:,}: snapshot {fig['size'] / 1e6:,.1f} MB, loaded in "
                  f"{fig['load_s']:.2f} s; a year from it {fig['run_s']:.1f} s end to end "
                  f"= {fig['rate'] / 1e6:.1f} M recorded customer-steps/s")  # fmt: skip


def main() -> None:
    """Print the benchmark figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", type=int, default=10_000, help="customers in the engine comparison"
    )
    parser.add_argument("--mesa-steps", type=int, default=10, help="steps of the comparison")
    parser.add_argument("--large", type=int, default=1_000_000, help="customers in the large run")
    parser.add_argument("--steps", type=int, default=365, help="steps of the large run")
    parser.add_argument("--network", default="watts_strogatz", help="network.kind")
    parser.add_argument(
        "--rules",
        default="wom=pairwise,wom=cascade,wom=threshold,service=capacity",
        help="comma-separated config-group choices: one large run (and line) per rule",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--comparison", action="store_true",
                        help="only the status-quo cache case (4 scenarios x 3 seeds)")  # fmt: skip
    parser.add_argument("--snapshot-sizes", default="1000000,10000000",
                        help="customers of the snapshot size and load figures")  # fmt: skip
    parser.add_argument("--comparison-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--snapshot-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--burn-in", type=int, default=365, help=argparse.SUPPRESS)
    parser.add_argument("--warm-starts", type=int, default=5,
                        help="new processes timed for the warm start (median printed)")  # fmt: skip
    parser.add_argument("--cells", type=int, default=0, metavar="ROUNDS",
                        help="only the segments-and-regions cost, markets alternated ROUNDS "
                        "times")  # fmt: skip
    parser.add_argument("--warm-start-only", action="store_true",
                        help="only the warm start figure")  # fmt: skip
    args, rule = parser.parse_known_args()
    if args.warm_start_only:
        print_warm_start(args.warm_starts)
        return
    if args.comparison_child:
        comparison_child(args.burn_in, args.small, args.steps)
        return
    if args.snapshot_child:
        snapshot_child(args.large, args.steps)
        return
    if args.comparison:
        sizes = [int(x) for x in args.snapshot_sizes.split(",") if x]
        comparison(20_000 if args.small == 10_000 else args.small, args.steps, sizes)
        return
    extra = [f"network={args.network}", "network.mean_degree=10", *rule]
    logging.getLogger("MESA").setLevel(logging.WARNING)
    if args.child:
        child(args.large, args.steps, extra)
        return
    if args.cells:
        print_cells(args.large, args.steps, args.network, args.cells)
        return

    import numba

    print(
        f"journeysim benchmark: {numba.config.NUMBA_NUM_THREADS} numba threads, "
        f"network={args.network}"
    )
    time_engine(1000, 2, "numba", extra)  # compile or load cached kernels
    numba_rate = time_engine(args.small, args.mesa_steps, "numba", extra)
    mesa_rate = time_engine(args.small, args.mesa_steps, "mesa", extra)
    print(f"N={args.small:,}, {args.mesa_steps} steps, same market in one process:")
    print(f"  numba engine: {numba_rate:14,.0f} customer-steps/s")
    print(f"  mesa engine:  {mesa_rate:14,.0f} customer-steps/s")
    print(f"  ratio numba/mesa: {numba_rate / mesa_rate:,.0f}x")

    for choice in [c.strip() for c in args.rules.split(",") if c.strip()]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--large", str(args.large), "--steps",
             str(args.steps), "--network", args.network, choice],
            check=True, capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        big = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"N={args.large:,}, {args.steps} steps (numba, {choice}):")
        print(f"  build {big['build_s']:.2f} s, run {big['run_s']:.2f} s")
        print(f"  {big['rate']:14,.0f} customer-steps/s")
        print(
            f"  peak memory {big['bytes_per_customer']:.0f} bytes/customer "
            f"(state {big['state_bytes']:.0f}, network {big['network_bytes']:.0f})"
        )
    print_warm_start(args.warm_starts)


if __name__ == "__main__":
    main()
