"""``journeysim sensitivity --params SPACE.yaml --kpi KPI``: which levers move a KPI.

Two methods, both SALib's, on the parameters' ranges mapped to [0, 1] (on the log scale
for ``log: true`` keys), so indices compare across parameters in different units:

- ``--method morris`` (default): Morris elementary-effects screening, ``--n`` trajectories
  (default 20) of ``--levels`` levels (default 4): D + 1 candidates per trajectory. For each
  parameter: mu (mean effect, signed), mu* (mean absolute effect, with its bootstrap
  interval) and sigma (spread: interactions and non-linearity). Ranked by mu*.
- ``--method sobol``: Sobol' variance decomposition on Saltelli's scheme, ``--n`` base
  samples (default 128, a power of 2): N (D + 2) candidates. For each parameter: S1
  (first-order share of the KPI's variance) and ST (total, interactions included), with
  bootstrap intervals. Ranked by ST.

Each candidate's KPI is its mean over ``--replicates`` seeds, the same seeds for every
candidate (common random numbers), so a parameter the KPI does not depend on has effects
exactly zero, and ranks last.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import options, runs
from sim.analysis.space import Param, load_space, space_yaml
from sim.config import ConfigError

METHODS = ("morris", "sobol")
DEFAULT_N = {"morris": 20, "sobol": 128}
OUTPUTS = ("sensitivity.parquet", "samples.parquet", "sensitivity.html", "space.yaml")


def problem(params: list[Param]) -> dict:
    """SALib's problem: every parameter on [0, 1] (mapped to its range by ``Param.from_unit``)."""
    return {
        "num_vars": len(params),
        "names": [p.key for p in params],
        "bounds": [[0.0, 1.0]] * len(params),
    }


def design(
    params: list[Param], method: str, n: int, levels: int, seed: int, second_order: bool = False
) -> np.ndarray:
    """The sample of the unit cube SALib draws for ``method`` (one row per candidate).

    Sobol' with ``second_order``: N (2D + 2) candidates instead of N (D + 2).
    """
    if method == "morris":
        from SALib.sample import morris

        with options.library_warnings("SALib"):
            return morris.sample(problem(params), N=n, num_levels=levels, seed=seed)
    import warnings

    from SALib.sample import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the power-of-2 advice is given in one line instead
        return sobol.sample(problem(params), n, calc_second_order=second_order, seed=seed)


def analyse(
    params: list[Param],
    method: str,
    unit: np.ndarray,
    y: np.ndarray,
    levels: int,
    seed: int,
    conf_level: float = 0.95,
    resamples: int = 1000,
    second_order: bool = False,
) -> pl.DataFrame:
    """The indices of each parameter, their intervals and ranks (1: most influential).

    ``second_order``: the Sobol' design was drawn with the pairs (``design``).
    """
    prob = problem(params)
    names = [p.key for p in params]
    if method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(
            prob,
            unit,
            y,
            num_resamples=resamples,
            conf_level=conf_level,
            num_levels=levels,
            seed=seed,
        )
        mu_star = np.asarray(res["mu_star"], dtype=float)
        conf = np.asarray(res["mu_star_conf"], dtype=float)
        table = pl.DataFrame(
            {
                "param": names,
                "mu": np.asarray(res["mu"], dtype=float),
                "mu_star": mu_star,
                "mu_star_conf": conf,
                "mu_star_low": np.maximum(mu_star - conf, 0.0),
                "mu_star_high": mu_star + conf,
                "sigma": np.asarray(res["sigma"], dtype=float),
            }
        )
        key = "mu_star"
    else:
        from SALib.analyze import sobol

        res = sobol.analyze(
            prob,
            y,
            calc_second_order=second_order,
            num_resamples=resamples,
            conf_level=conf_level,
            seed=seed,
        )
        cols = {"param": names}
        for index in ("S1", "ST"):
            v = np.asarray(res[index], dtype=float)
            c = np.asarray(res[f"{index}_conf"], dtype=float)
            cols |= {index: v, f"{index}_conf": c, f"{index}_low": v - c, f"{index}_high": v + c}
        table = pl.DataFrame(cols)
        key = "ST"
    table = table.with_columns(pl.col(pl.Float64).fill_nan(None))
    order = table.with_row_index("__i").sort(
        [key, "__i"], descending=[True, False], nulls_last=True
    )
    ranks = order.with_columns(
        pl.col(key)
        .fill_null(-math.inf)
        .rank(method="min", descending=True)
        .cast(pl.Int64)
        .alias("rank")
    )
    return ranks.drop("__i")


#: Above this half-width, a Sobol' index's interval says little: more base samples needed.
WIDE_INTERVAL = 0.2


def reliability_warnings(table: pl.DataFrame, method: str, n: int) -> list[str]:
    """Why the indices of ``table`` should not be trusted yet, one line each (none: trust them).

    Sobol' indices from too few base samples ``n`` misbehave in known ways: a first-order
    index above its total one, or below zero, beyond both intervals (impossible for the true
    indices), and intervals too wide to rank the parameters.
    """
    if method != "sobol":
        return []
    out = []
    more = f"raise --n above {n} (a power of 2, e.g. {2 * n})"
    for r in table.iter_rows(named=True):
        s1_low, st_high = r.get("S1_low"), r.get("ST_high")
        if s1_low is not None and st_high is not None and s1_low > st_high:
            out.append(f"{r['param']}: first-order index {r['S1']:.3g} exceeds its total "
                       f"{r['ST']:.3g} beyond both intervals: too few samples; {more}")  # fmt: skip
        for index in ("S1", "ST"):
            high = r.get(f"{index}_high")
            if high is not None and high < 0:
                out.append(f"{r['param']}: {index} {r[index]:.3g} is below 0 with its whole "
                           f"interval (an index is a share of variance): {more}")  # fmt: skip
    widest = table["ST_conf"].drop_nulls().max() if "ST_conf" in table.columns else None
    if widest is not None and widest > WIDE_INTERVAL:
        out.append(f"total indices have intervals up to +/-{widest:.2f}: too wide to rank the "
                   f"parameters; {more}")  # fmt: skip
    return out


def interactions(
    params: list[Param], y: np.ndarray, seed: int, conf_level: float = 0.95, resamples: int = 1000
) -> pl.DataFrame:
    """Second-order Sobol' indices S2 of every pair of keys, largest first.

    ``y`` holds the KPI of a design drawn with ``second_order`` (N (2D + 2) candidates).
    S2 is the share of the KPI's variance due to the pair together beyond each alone, with
    its bootstrap interval. Columns param_a, param_b, S2, S2_conf, S2_low, S2_high.
    """
    from SALib.analyze import sobol

    res = sobol.analyze(problem(params), y, calc_second_order=True,
                        num_resamples=resamples, conf_level=conf_level, seed=seed)  # fmt: skip
    rows = []
    for a in range(len(params)):
        for b in range(a + 1, len(params)):
            v, c = float(res["S2"][a, b]), float(res["S2_conf"][a, b])
            rows.append({"param_a": params[a].key, "param_b": params[b].key, "S2": v,
                         "S2_conf": c, "S2_low": v - c, "S2_high": v + c})  # fmt: skip
    table = pl.DataFrame(rows).with_columns(pl.col(pl.Float64).fill_nan(None))
    return table.sort("S2", descending=True, nulls_last=True)


def evaluate(
    market: runs.Market,
    params: list[Param],
    unit: np.ndarray,
    kpi: str,
    replicates: int,
    jobs: int,
    progress=None,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Run every candidate of the design on the replicate seeds; its mean KPI.

    Returns the samples (one row per candidate: the values, the KPI mean) and the KPI means.

    Raises:
        ConfigError: a candidate the config refuses, or a KPI undefined for some candidate.
    """
    seeds = runs.replicate_seeds(market.seed, replicates)
    values = [
        {p.key: p.from_unit(float(u)) for p, u in zip(params, row, strict=True)} for row in unit
    ]
    extract = partial(_kpi, name=kpi)
    tasks = [runs.Task(v, s, extract) for v in values for s in seeds]
    with runs.Runner(market, jobs, progress) as runner:
        results = runner.run(tasks)
    for k, r in enumerate(results):
        if isinstance(r, runs.Failed):
            raise ConfigError(f"sample {k // replicates}: {r.message}")
    y = np.asarray(results, dtype=float).reshape(len(values), replicates).mean(axis=1)
    bad = ~np.isfinite(y)
    if bad.any():
        k = int(np.argmax(bad))
        where = ", ".join(f"{key}={v:.4g}" for key, v in values[k].items())
        raise ConfigError(
            f"--kpi {kpi}: undefined in {int(bad.sum())} of {len(y)} samples (e.g. at {where})"
        )
    samples = pl.DataFrame(
        {
            "sample": np.arange(len(values)),
            **{p.key: [v[p.key] for v in values] for p in params},
            kpi: y,
        }
    )
    return samples, y


def _kpi(result, name: str) -> float:
    return runs.kpis(result)[name]


def print_table(table: pl.DataFrame, kpi: str, method: str) -> None:
    """The ranked table on stdout."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    t = Table(title=f"journeysim sensitivity of {kpi} ({method}; rank 1 moves it most)")
    if method == "morris":
        heads = (("mu*", "mu_star"), ("95% CI", None), ("mu", "mu"), ("sigma", "sigma"))
        lo, hi = "mu_star_low", "mu_star_high"
    else:
        heads = (("ST", "ST"), ("95% CI", None), ("S1", "S1"), ("S1 95% CI", "S1ci"))
        lo, hi = "ST_low", "ST_high"
    t.add_column("rank", justify="right")
    t.add_column("parameter")
    for head, _ in heads:
        t.add_column(head, justify="right")

    def f(x) -> str:
        return "-" if x is None else f"{x:.4g}"

    for r in table.sort("rank").iter_rows(named=True):
        cells = []
        for _, col in heads:
            if col is None:
                cells.append(f"[{f(r[lo])}, {f(r[hi])}]")
            elif col == "S1ci":
                cells.append(f"[{f(r['S1_low'])}, {f(r['S1_high'])}]")
            else:
                cells.append(f(r[col]))
        t.add_row(str(r["rank"]), r["param"], *cells)
    console.print(t)


def command(args: list[str]) -> int:
    """``journeysim sensitivity --params SPACE.yaml --kpi KPI [--method] [--n] [overrides]``."""
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text
    from sim.sweeps.progress import step_progress

    p = options.parser("sensitivity", "Morris screening or Sobol indices of a KPI.")
    p.add_argument("--params", required=True, metavar="SPACE.yaml", help="the parameter space")
    p.add_argument("--kpi", required=True, help="a summary KPI, e.g. retention__incumbent")
    p.add_argument("--method", choices=METHODS, default="morris", help="morris (default) or sobol")
    p.add_argument(
        "--n",
        type=int,
        default=None,
        metavar="N",
        help="Morris trajectories (default 20) or Sobol base samples (default 128)",
    )
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    p.add_argument("--second-order", action="store_true",
                   help="Sobol: also the indices of every pair (N (2D + 2) samples)")  # fmt: skip
    p.add_argument(
        "--resamples",
        type=int,
        default=1000,
        help="bootstrap resamples for the intervals (default 1000)",
    )
    ns = options.parse(p, args)
    n = ns.n if ns.n is not None else DEFAULT_N[ns.method]
    options.positive("--n", n, 2 if ns.method == "morris" else 1)
    options.positive("--levels", ns.levels, 2)
    if ns.levels % 2:
        raise options.UsageError(f"--levels {ns.levels}: Morris needs an even number of levels")
    options.positive("--resamples", ns.resamples, 10)
    if ns.method == "sobol" and n & (n - 1):
        options.say(
            f"warning: --n {n}: Sobol' sequences are balanced for powers of 2 "
            f"(e.g. {1 << n.bit_length()}); running with {n}"
        )
    market = runs.Market.compose(ns.overrides, ns.seed)
    runs.check_kpi(ns.kpi, market.brands)
    params = load_space(ns.params, ns.overrides)
    if ns.method == "sobol" and len(params) < 2:
        raise ConfigError(f"{ns.params}: Sobol indices need at least 2 parameters")
    if ns.second_order and ns.method != "sobol":
        raise options.UsageError("--second-order: only with --method sobol")
    market.check_seed(market.seed + ns.replicates - 1)
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=jobs)
    folder = options.out_dir("sensitivity", ns.out)
    options.check_out(folder)
    reproduce = options.reproduce(
        "sensitivity",
        [
            "--params",
            str(Path(ns.params).resolve()),
            "--kpi",
            ns.kpi,
            "--method",
            ns.method,
            "--n",
            str(n),
            "--levels",
            str(ns.levels),
            "--resamples",
            str(ns.resamples),
            *(["--second-order"] if ns.second_order else []),
            "--seed",
            str(market.seed),
            "--replicates",
            str(ns.replicates),
            "--out",
            str(folder),
            *ns.overrides,
        ],
    )
    unit = design(params, ns.method, n, ns.levels, market.seed, ns.second_order)
    with step_progress(len(unit) * ns.replicates, "journeysim sensitivity") as advance:
        samples, y = evaluate(market, params, unit, ns.kpi, ns.replicates, jobs, advance)
    if float(np.ptp(y)) == 0.0:
        raise ConfigError(
            f"--kpi {ns.kpi}: equals {y[0]:.6g} in all {len(y)} samples: it depends on none of "
            "the parameters over these ranges"
        )
    with options.library_warnings("SALib"):
        table = analyse(params, ns.method, unit, y, ns.levels, market.seed, resamples=ns.resamples,
                        second_order=ns.second_order)  # fmt: skip
        pairs = interactions(params, y, market.seed, resamples=ns.resamples) if (
            ns.second_order) else None  # fmt: skip
    table = table.with_columns(pl.lit(ns.kpi).alias("kpi"), pl.lit(ns.method).alias("method"))
    unreliable = reliability_warnings(table, ns.method, n)
    widest = pairs["S2_conf"].drop_nulls().max() if pairs is not None else None
    if widest is not None and widest > WIDE_INTERVAL:
        unreliable.append(f"pair indices (S2) have intervals up to +/-{widest:.2f}: too wide "
                          f"to tell an interaction from noise; raise --n above {n}")  # fmt: skip
    for line in unreliable:
        options.say(f"warning: {line}")
    options.start_output(folder)
    write_text(space_yaml(params), folder / "space.yaml")
    write_parquet(samples, folder / "samples.parquet")
    write_parquet(table, folder / "sensitivity.parquet")
    if pairs is not None:
        write_parquet(pairs, folder / "interactions.parquet")
    plots.save(plots.sensitivity_figure(table, ns.kpi, ns.method), folder / "sensitivity.html")
    options.write_manifest(
        folder,
        "sensitivity",
        reproduce,
        kpi=ns.kpi,
        method=ns.method,
        n=n,
        samples=len(unit),
        seed=market.seed,
        replicates=ns.replicates,
        warnings=unreliable,
        second_order=bool(ns.second_order),
    )
    print_table(table, ns.kpi, ns.method)
    if pairs is not None:
        print("largest interactions (S2): " + "; ".join(
            f"{r['param_a']} x {r['param_b']} {r['S2']:.3g}" for r in pairs.head(3).iter_rows(
                named=True) if r["S2"] is not None))  # fmt: skip
    written = [*OUTPUTS, *(["interactions.parquet"] if pairs is not None else [])]
    print(f"results in {folder}: " + ", ".join(written))
    return 0
