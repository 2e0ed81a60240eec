"""Benchmark: both engines on the same market, throughput, memory per customer, warm start.

    python experiments/benchmark.py                 # the figures recorded in README.md
    python experiments/benchmark.py --large 200000  # a quicker run on a small machine
    python experiments/benchmark.py --rules wom=cascade  # the large run under one rule only

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


def child(n: int, steps: int, extra: list[str]) -> None:
    """Run in a subprocess: build and run a large market, report time and peak memory."""
    import resource

    from sim import load_config
    from sim.engine.model import JourneyModel

    cfg = load_config(_overrides(1000, 2, "numba", extra))
    JourneyModel(cfg).run()  # compile (or load from the cache) outside the measurement
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cfg = load_config(_overrides(n, steps, "numba", extra))
    t0 = time.perf_counter()
    model = JourneyModel(cfg)
    t_build = time.perf_counter() - t0
    t1 = time.perf_counter()
    model.run()
    t_run = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "build_s": t_build, "run_s": t_run, "rate": n * steps / t_run,
        "bytes_per_customer": (peak - base) / n,
        "state_bytes": model.customers.nbytes / n, "network_bytes": model.network.nbytes / n,
    }))  # fmt: skip


def warm_start_seconds() -> float:
    """Wall time of a fresh process running a tiny market, kernels loaded from the disk cache."""
    code = (
        "from sim import load_config, simulate;"
        "simulate(load_config(['market.customers=1000','sim.steps=5']))"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return time.perf_counter() - t0


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
    args, rule = parser.parse_known_args()
    extra = [f"network={args.network}", "network.mean_degree=10", *rule]
    logging.getLogger("MESA").setLevel(logging.WARNING)
    if args.child:
        child(args.large, args.steps, extra)
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
    print(f"warm start (new process, cached kernels, tiny run): {warm_start_seconds():.2f} s")


if __name__ == "__main__":
    main()
