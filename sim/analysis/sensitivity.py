"""``journeysim sensitivity --params SPACE.yaml --kpi KPI``: which levers move which KPIs.

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

One design serves many KPIs: ``--kpi`` is repeatable and takes comma-separated names, and
``--kpi all`` means every summary KPI of every brand. Each run's KPIs are all extracted at
once, and the indices are computed per KPI from the same runs, so they equal those of a
design run for that KPI alone (same seed), at the cost of one design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import images, options, runs
from sim.analysis.space import Param, load_space, space_yaml
from sim.config import ConfigError

METHODS = ("morris", "sobol")
DEFAULT_N = {"morris": 20, "sobol": 128}
OUTPUTS = ("sensitivity.parquet", "samples.parquet", "sensitivity.html", "space.yaml")
#: ``--kpi all``: every summary KPI of every brand.
ALL = "all"


def parse_kpis(given: Sequence[str], brands: Sequence[str]) -> list[str]:
    """The KPIs of ``--kpi`` options: each repeatable and comma-separated, ``all`` for every one.

    Returns:
        The KPI names in the order given (``all`` expanded in ``runs.kpi_names`` order),
        each once.

    Raises:
        ConfigError: an unknown or empty name, one line listing the valid ones.
    """
    out: list[str] = []
    for item in given:
        for name in (part.strip() for part in item.split(",")):
            if name == ALL:
                names = runs.kpi_names(brands)
            elif not name:
                raise ConfigError(f"--kpi {item!r}: an empty KPI name (names are separated by "
                                  "commas, without a trailing one)")  # fmt: skip
            else:
                try:
                    names = [runs.check_kpi(name, brands)]
                except ConfigError as exc:
                    raise ConfigError(f"{exc}; or {ALL} for every one") from None
            out += [n for n in names if n not in out]
    return out


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


def bootstrap_seed(seed: int) -> np.random.Generator:
    """The seed of SALib's Sobol' bootstrap: a generator, so that seed 0 is a seed too.

    ``SALib.analyze.sobol`` tests its seed for truth and draws from NumPy's global state
    when it is 0, which made the intervals of seed 0 differ from run to run. A generator
    made from any other seed draws exactly what that seed itself gives.
    """
    return np.random.default_rng(seed)


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
            seed=bootstrap_seed(seed),
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

    res = sobol.analyze(problem(params), y, calc_second_order=True, num_resamples=resamples,
                        conf_level=conf_level, seed=bootstrap_seed(seed))  # fmt: skip
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
    kpis: str | Sequence[str],
    replicates: int,
    jobs: int,
    progress=None,
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """Run every candidate of the design on the replicate seeds; its mean of each KPI.

    Every run is simulated once whatever the number of KPIs: all of them are read from it.

    Returns:
        The samples (one row per candidate: the values, then each KPI's mean) and each
        KPI's means (name -> one value per candidate; NaN where it is undefined).

    Raises:
        ConfigError: a candidate the config refuses.
    """
    names = [kpis] if isinstance(kpis, str) else list(kpis)
    seeds = runs.replicate_seeds(market.seed, replicates)
    values = [
        {p.key: p.from_unit(float(u)) for p, u in zip(params, row, strict=True)} for row in unit
    ]
    extract = partial(_kpis, names=tuple(names))
    tasks = [runs.Task(v, s, extract) for v in values for s in seeds]
    with runs.Runner(market, jobs, progress) as runner:
        results = runner.run(tasks)
    for k, r in enumerate(results):
        if isinstance(r, runs.Failed):
            raise ConfigError(f"sample {k // replicates}: {r.message}")
    means = np.asarray(results, dtype=float).reshape(len(values), replicates, len(names))
    means = means.mean(axis=1)
    ys = {name: means[:, j].copy() for j, name in enumerate(names)}
    samples = pl.DataFrame(
        {
            "sample": np.arange(len(values)),
            **{p.key: [v[p.key] for v in values] for p in params},
            **ys,
        }
    )
    return samples, ys


def unusable(kpi: str, y: np.ndarray, samples: pl.DataFrame, params: list[Param]) -> str | None:
    """Why no index of ``kpi`` can be computed from its sample means ``y`` (None: they can).

    A KPI undefined for some sample (e.g. CAC without acquisitions), or equal in all of
    them (its variance is zero).
    """
    bad = ~np.isfinite(y)
    if bad.any():
        row = samples.row(int(np.argmax(bad)), named=True)
        where = ", ".join(f"{p.key}={row[p.key]:.4g}" for p in params)
        return f"--kpi {kpi}: undefined in {int(bad.sum())} of {len(y)} samples (e.g. at {where})"
    if float(np.ptp(y)) == 0.0:
        return (f"--kpi {kpi}: equals {y[0]:.6g} in all {len(y)} samples: it depends on none of "
                "the parameters over these ranges")  # fmt: skip
    return None


def _kpis(result, names: tuple[str, ...]) -> tuple[float, ...]:
    values = runs.kpis(result)
    return tuple(values[name] for name in names)


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
    """``journeysim sensitivity --params SPACE.yaml --kpi KPI[,KPI...] [options] [overrides]``."""
    return options.run_command(lambda: _command(args))


def indices(
    params: list[Param],
    method: str,
    unit: np.ndarray,
    ys: dict[str, np.ndarray],
    levels: int,
    seed: int,
    resamples: int = 1000,
    second_order: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The indices of every KPI of ``ys`` (name -> its sample means), each KPI on its own.

    Returns:
        The indices (``analyse``'s columns, then kpi and method; ranks within each KPI) and,
        with ``second_order``, the pairs (``interactions``'s columns, then kpi), both in
        the order of ``ys``.
    """
    tables, pairs = [], []
    for kpi, y in ys.items():
        table = analyse(params, method, unit, y, levels, seed, resamples=resamples,
                        second_order=second_order)  # fmt: skip
        tables.append(table.with_columns(pl.lit(kpi).alias("kpi"), pl.lit(method).alias("method")))
        if second_order:
            pairs.append(interactions(params, y, seed, resamples=resamples)
                         .with_columns(pl.lit(kpi).alias("kpi")))  # fmt: skip
    return pl.concat(tables), (pl.concat(pairs) if second_order else None)


def warnings_of(
    table: pl.DataFrame, pairs: pl.DataFrame | None, method: str, n: int, name: bool
) -> list[str]:
    """The reliability warnings of every KPI's indices (``name``: each line names its KPI)."""
    out = []
    for (kpi,), part in table.group_by("kpi", maintain_order=True):
        lines = reliability_warnings(part, method, n)
        widest = None
        if pairs is not None:
            widest = pairs.filter(pl.col("kpi") == kpi)["S2_conf"].drop_nulls().max()
        if widest is not None and widest > WIDE_INTERVAL:
            lines.append(f"pair indices (S2) have intervals up to +/-{widest:.2f}: too wide "
                         f"to tell an interaction from noise; raise --n above {n}")  # fmt: skip
        out += [f"{kpi}: {line}" if name else line for line in lines]
    return out


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text
    from sim.sweeps.progress import step_progress

    p = options.parser("sensitivity", "Morris screening or Sobol indices of one or many KPIs.")
    p.add_argument("--params", required=True, metavar="SPACE.yaml", help="the parameter space")
    p.add_argument(
        "--kpi",
        required=True,
        action="append",
        metavar="KPI",
        help="a summary KPI, e.g. retention__incumbent; repeat it or separate names with "
        "commas for several from the same runs, 'all' for every KPI of every brand",
    )
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
    kpis = parse_kpis(ns.kpi, market.brands)
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
            ",".join(kpis),
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
        samples, ys = evaluate(market, params, unit, kpis, ns.replicates, jobs, advance)
    skipped = {k: why for k in kpis if (why := unusable(k, ys[k], samples, params)) is not None}
    if len(skipped) == len(kpis):  # nothing to analyse: refused, nothing written
        raise ConfigError(next(iter(skipped.values())))
    for why in skipped.values():
        options.say(f"warning: {why}; no indices for it")
    analysed = {k: y for k, y in ys.items() if k not in skipped}
    with options.library_warnings("SALib"):
        table, pairs = indices(params, ns.method, unit, analysed, ns.levels, market.seed,
                               ns.resamples, ns.second_order)  # fmt: skip
    unreliable = warnings_of(table, pairs, ns.method, n, name=len(kpis) > 1)
    for line in unreliable:
        options.say(f"warning: {line}")
    options.start_output(folder)
    write_text(space_yaml(params), folder / "space.yaml")
    write_parquet(samples, folder / "samples.parquet")
    write_parquet(table, folder / "sensitivity.parquet")
    if pairs is not None:
        write_parquet(pairs, folder / "interactions.parquet")
    figures = [plots.sensitivity_figure(table.filter(pl.col("kpi") == k), k, ns.method)
               for k in analysed]  # fmt: skip
    plots.save(figures, folder / "sensitivity.html")
    options.write_manifest(
        folder,
        "sensitivity",
        reproduce,
        **({"kpi": next(iter(analysed))} if len(analysed) == 1 else {}),
        kpis=list(analysed),
        **({"skipped": skipped} if skipped else {}),
        method=ns.method,
        n=n,
        samples=len(unit),
        simulations=len(unit) * ns.replicates,
        seed=market.seed,
        replicates=ns.replicates,
        warnings=unreliable,
        second_order=bool(ns.second_order),
    )
    for kpi in analysed:
        print_table(table.filter(pl.col("kpi") == kpi), kpi, ns.method)
        if pairs is None:
            continue
        top = pairs.filter(pl.col("kpi") == kpi).head(3).iter_rows(named=True)
        where = "" if len(analysed) == 1 else f" of {kpi}"
        print(f"largest interactions (S2){where}: " + "; ".join(
            f"{r['param_a']} x {r['param_b']} {r['S2']:.3g}" for r in top
            if r["S2"] is not None))  # fmt: skip
    written = [*OUTPUTS, *(["interactions.parquet"] if pairs is not None else [])]
    print(f"results in {folder}: " + ", ".join(images.with_images(written, folder)))
    return 0
