"""Benchmark: building a market (customers and network) per network kind and thread count.

    python experiments/build_benchmark.py --customers 100000000            # every kind
    python experiments/build_benchmark.py --customers 10000000 --kinds watts_strogatz \\
        --threads 1 2 --model

Prints figures; asserts nothing. Each build runs in a fresh subprocess (kernels compiled
or loaded beforehand, outside the timing), so its peak memory (max RSS) is its own. An
``edgelist`` build first writes an Erdos-Renyi graph of the same size to a parquet file
(``--edges-dir``), then times reading and building it. ``--model`` also times
``JourneyModel(cfg)`` (customers, network and the initial record passes) with no burn-in.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's sim, whatever the installed one
KINDS = ("watts_strogatz", "erdos_renyi", "barabasi_albert", "clustered", "edgelist")


def _overrides(n: int, kind: str, path: str | None) -> list[str]:
    extra = [f"network.path={path}"] if kind == "edgelist" else []
    return [f"market.customers={n}", f"network={kind}", "sim.burn_in=0", "sim.steps=1", *extra]


def child(n: int, kind: str, threads: int, path: str | None, model: bool) -> None:
    """In a subprocess: build once small (compile), then time the large build."""
    import resource

    import numba

    from sim import load_config
    from sim.engine.network import network_from_config
    from sim.engine.state import build_customers, build_market

    numba.set_num_threads(threads)
    warm = load_config(_overrides(1000, "watts_strogatz" if kind == "edgelist" else kind, None))
    build_customers(warm, build_market(warm), 0)
    network_from_config(warm.network, 1000, 0)
    cfg = load_config(_overrides(n, kind, path))
    market = build_market(cfg)
    t0, c0 = time.perf_counter(), time.process_time()
    customers = build_customers(cfg, market, 1)
    t1, c1 = time.perf_counter(), time.process_time()
    net = network_from_config(cfg.network, n, 1)
    t2, c2 = time.perf_counter(), time.process_time()
    out = {
        "customers_s": t1 - t0, "network_s": t2 - t1, "cpu_s": c2 - c0,
        "customers_cpu_s": c1 - c0, "mean_degree": net.mean_degree,
        "strong_share": float(net.strong_mask().mean()) if net.indices.size else 0.0,
        "state_bytes": customers.nbytes / n, "network_bytes": net.nbytes / n,
    }  # fmt: skip
    del customers, net
    if model:
        from sim.engine.model import JourneyModel

        JourneyModel(load_config(_overrides(1000, kind, None)))  # compile the kernels
        t3 = time.perf_counter()
        JourneyModel(cfg)
        out["model_s"] = time.perf_counter() - t3
    out["peak_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / n
    print(json.dumps(out))


def write_edge_list(n: int, folder: Path) -> Path:
    """An Erdos-Renyi graph of n customers, mean degree 10, as a parquet edge list."""
    import numpy as np
    import polars as pl

    from sim.engine.network import build_network

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"er_{n}.parquet"
    if not path.exists():
        net = build_network("erdos_renyi", n, 10.0, 0.1, 7)
        src = np.repeat(np.arange(n, dtype=np.int32), np.diff(net.indptr))
        keep = src < net.indices
        pl.DataFrame({"a": src[keep], "b": net.indices[keep]}).write_parquet(path)
    return path


def main() -> None:
    """Print build times per kind and thread count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument(
        "--model", action="store_true", help="also time JourneyModel(cfg) (not edgelist)"
    )
    parser.add_argument("--edges-dir", default=None, help="folder for the edge-list file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, threads, path = args.child
        child(args.customers, kind, int(threads), None if path == "-" else path, args.model)
        return
    n = args.customers
    folder = Path(args.edges_dir or tempfile.gettempdir())
    print(f"journeysim build benchmark: {n:,} customers, mean degree 10")
    for kind in args.kinds:
        if kind == "edgelist" and args.model:
            print("edgelist: --model needs sim.engine.model to pass network.path (skipped)")
            continue
        path = "-"
        if kind == "edgelist":
            t0 = time.perf_counter()
            path = str(write_edge_list(n, folder))
            print(f"  (edge list {path} ready in {time.perf_counter() - t0:.1f} s)")
        for threads in args.threads:
            command = [sys.executable, __file__, "--customers", str(n), "--child", kind,
                       str(threads), path, *(["--model"] if args.model else [])]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                print(f"{kind:16s} {threads} thread(s): failed: {done.stderr.strip()[-300:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            model = f", JourneyModel {r['model_s']:.1f} s" if "model_s" in r else ""
            print(
                f"{kind:16s} {threads} thread(s): customers {r['customers_s']:5.1f} s, network "
                f"{r['network_s']:5.1f} s, total {r['customers_s'] + r['network_s']:5.1f} s"
                f" (CPU {r['customers_cpu_s']:.1f} + {r['cpu_s'] - r['customers_cpu_s']:.1f} s)"
                f"{model}; degree {r['mean_degree']:.2f}, strong {r['strong_share']:.0%}; "
                f"peak {r['peak_bytes']:.0f} B/customer (state {r['state_bytes']:.0f}, "
                f"network {r['network_bytes']:.0f})"
            )


if __name__ == "__main__":
    main()
