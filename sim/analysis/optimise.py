"""``journeysim optimise --params SPACE.yaml --kpi KPI``: search a strategy for a KPI.

The space holds the levers of a strategy (e.g. a brand's ad reach per channel and its
service quality); everything else, the competitors' configured behaviour and response
policies included, comes from the overrides. Optuna's TPE sampler (seeded with ``--seed``)
proposes ``--batch`` candidates at a time; each candidate's objective is the KPI's mean over
``--replicates`` seeds, the same seeds for every candidate and for the baseline (the market
as configured): common random numbers.

``--constraint EXPR`` (repeatable) keeps the search inside a budget or a floor, e.g.
``'ad_spend__challenger <= 2000'`` or ``'brands.challenger.ad_reach.tv +
brands.challenger.ad_reach.social <= 0.03'``: a comparison (<=, <, >=, >) of two
arithmetic expressions (+ - * / and parentheses) of numbers, KPIs (``<kpi>__<brand>``, also
``ad_spend``, ``service_cost`` and ``programme_cost`` totals over the run) and the
space's keys. It is parsed, never executed. Its violation (how far the left side is past
the right, 0 or less when met) is given to Optuna (``Trial.set_constraint``), whose TPE sampler then
prefers feasible candidates and, among infeasible ones, the least violating.

The best feasible candidate is then run against the baseline on ``--validate V`` fresh
seeds (not used in the search, so the winner's luck in the search does not inflate its
gain); the gain is the mean paired difference best - baseline with a 95% t-interval.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from sim.analysis import options, runs
from sim.analysis.calibrate import distributions, quiet_optuna, sampler
from sim.analysis.space import Param, load_space, override, space_yaml
from sim.config import ConfigError

OUTPUTS = (
    "best.yaml",
    "trials.parquet",
    "gain.parquet",
    "validation.parquet",
    "optimise.html",
    "space.yaml",
)
BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
COMPARE = {ast.LtE: "<=", ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">"}


# -- constraints ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """A parsed ``--constraint``: ``left OP right``.

    Attributes:
        text: the expression as given.
        left: the left side's syntax tree.
        op: ``<=``, ``<``, ``>=`` or ``>``.
        right: the right side's syntax tree.
    """

    text: str
    left: ast.expr
    op: str
    right: ast.expr

    @property
    def names(self) -> list[str]:
        """The KPIs and keys the expression reads."""
        out: list[str] = []
        for side in (self.left, self.right):
            for name in _names(side):
                if name not in out:
                    out.append(name)
        return out

    def sides(self, env: dict[str, float]) -> tuple[float, float]:
        """The values of the two sides."""
        return _evaluate(self.left, env), _evaluate(self.right, env)

    def violation(self, env: dict[str, float]) -> float:
        """How far the constraint is broken (<= 0 when it is met)."""
        left, right = self.sides(env)
        return left - right if self.op in ("<=", "<") else right - left


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _names(node: ast.expr) -> list[str]:
    name = _dotted(node)
    if name is not None:
        return [name]
    if isinstance(node, ast.BinOp):
        return _names(node.left) + _names(node.right)
    if isinstance(node, ast.UnaryOp):
        return _names(node.operand)
    return []


def _evaluate(node: ast.expr, env: dict[str, float]) -> float:
    name = _dotted(node)
    if name is not None:
        return float(env[name])
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, env)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, env), _evaluate(node.right, env)
        if isinstance(node.op, ast.Div) and right == 0:
            return math.inf if left > 0 else (-math.inf if left < 0 else math.nan)
        return BINOPS[type(node.op)](left, right)
    raise TypeError(type(node).__name__)  # cannot happen: checked by _check


def _check(node: ast.expr, text: str) -> None:
    """Only numbers, names, dotted keys, + - * / and unary signs."""
    if _dotted(node) is not None:
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ConfigError(f"--constraint {text!r}: {node.value!r} is not a number")
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, text)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
        _check(node.left, text)
        _check(node.right, text)
        return
    raise ConfigError(
        f"--constraint {text!r}: only numbers, KPIs, keys, + - * / and parentheses are allowed"
    )


#: Longest constraint read: a budget rule over every channel of 8 brands fits well within it,
#: and the parser's time and memory stay bounded.
MAX_CONSTRAINT_CHARS = 500


def parse_constraint(text: str, valid: list[str]) -> Constraint:
    """Parse ``LEFT OP RIGHT`` and check its names against ``valid``.

    Raises:
        ConfigError: not one comparison, a construct other than arithmetic, or an unknown
            name (one line listing the valid names).
    """
    example = "e.g. 'ad_spend__challenger <= 2000'"
    if len(text) > MAX_CONSTRAINT_CHARS:
        raise ConfigError(f"--constraint {text[:40]!r}...: {len(text):,} characters (at most "
                          f"{MAX_CONSTRAINT_CHARS})")  # fmt: skip
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # nesting, huge numbers
        raise ConfigError(f"--constraint {text!r}: not an expression such as {example}") from None
    if not (isinstance(tree, ast.Compare) and len(tree.ops) == 1 and type(tree.ops[0]) in COMPARE):
        raise ConfigError(
            f"--constraint {text!r}: must be one comparison (<=, <, >=, >), {example}"
        )
    left, right = tree.left, tree.comparators[0]
    _check(left, text)
    _check(right, text)
    c = Constraint(text.strip(), left, COMPARE[type(tree.ops[0])], right)
    for name in c.names:
        if name not in valid:
            raise ConfigError(
                f"--constraint {text!r}: {name} is not a KPI or a key of the space; valid "
                f"names: {', '.join(valid)}"
            )
    if not c.names:
        raise ConfigError(f"--constraint {text!r}: compares numbers only")
    return c


# -- the study -----------------------------------------------------------------------------
@dataclass
class Optimisation:
    """A finished search: the trials, the baseline and best candidate, the validation."""

    trials: pl.DataFrame
    baseline: dict[str, float]  # KPI means on the search seeds
    best: dict | None  # the best feasible trial's values
    best_trial: int | None
    best_kpis: dict[str, float] | None
    validation: pl.DataFrame | None  # seed, baseline, best, gain
    gain: dict | None


def optimise(
    market: runs.Market,
    params: list[Param],
    kpi: str,
    maximise: bool,
    constraints: list[Constraint],
    trials: int,
    replicates: int,
    validate: int,
    jobs: int,
    batch: int,
    progress=None,
) -> Optimisation:
    """Search, then validate the best feasible candidate against the baseline."""
    import optuna

    quiet_optuna()
    seeds = runs.replicate_seeds(market.seed, replicates)
    check_seeds = [market.seed + replicates + k for k in range(validate)]
    tpe = sampler(market.seed)
    study = optuna.create_study(direction="maximize" if maximise else "minimize", sampler=tpe)
    dists = distributions(params)
    rows = []
    failures = []
    with runs.Runner(market, jobs, progress) as runner:
        base_runs = runner.run([runs.Task({}, s, runs.kpis) for s in seeds])
        if any(isinstance(r, runs.Failed) for r in base_runs):
            raise ConfigError(next(r.message for r in base_runs if isinstance(r, runs.Failed)))
        baseline = runs.mean_kpis(base_runs)
        while len(rows) < trials:
            asked = [study.ask(dists) for _ in range(min(batch, trials - len(rows)))]
            tasks = [runs.Task(dict(t.params), s, runs.kpis) for t in asked for s in seeds]
            results = runner.run(tasks)
            for k, trial in enumerate(asked):
                got = results[k * replicates : (k + 1) * replicates]
                row = {"trial": trial.number, **{p.key: trial.params[p.key] for p in params}}
                failed = next((g for g in got if isinstance(g, runs.Failed)), None)
                means = None if failed else runs.mean_kpis(got)
                value = math.nan if means is None else means[kpi]
                if failed:
                    failures.append(failed.message)
                if not math.isfinite(value):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    row.update(state="fail", value=None, feasible=None)
                else:
                    env = {**means, **trial.params}
                    violations = [c.violation(env) for c in constraints]
                    violations = [v if math.isfinite(v) else 1e300 for v in violations]
                    for j, v in enumerate(violations):
                        trial.set_constraint(f"constraint_{j + 1}", v)  # TPE reads these
                    study.tell(trial, value)
                    row.update(
                        state="complete", value=value, feasible=all(v <= 0 for v in violations)
                    )
                    row.update({f"violation_{j + 1}": v for j, v in enumerate(violations)})
                if means is not None:
                    row.update(means)
                rows.append(row)
        if failures:
            options.say(f"warning: {len(failures)} trial(s) failed: {failures[0]}")
        table = pl.DataFrame(rows, infer_schema_length=None)
        front = ["trial", "state", "value", "feasible"]
        front += [c for c in table.columns if c.startswith("violation_")]
        front += [p.key for p in params]
        table = table.select(front + [c for c in table.columns if c not in front])
        ok = table.filter(pl.col("feasible").fill_null(False))
        if ok.height == 0:
            return Optimisation(table, baseline, None, None, None, None, None)
        best_row = ok.sort("value", descending=maximise).row(0, named=True)
        best = {p.key: best_row[p.key] for p in params}
        tasks = [runs.Task({}, s, runs.kpis) for s in check_seeds]
        tasks += [runs.Task(best, s, runs.kpis) for s in check_seeds]
        got = runner.run(tasks)
    if any(isinstance(r, runs.Failed) for r in got):
        raise ConfigError(next(r.message for r in got if isinstance(r, runs.Failed)))
    base_v, best_v = got[:validate], got[validate:]
    validation = pl.DataFrame(
        {
            "seed": check_seeds,
            "baseline": [r[kpi] for r in base_v],
            "best": [r[kpi] for r in best_v],
        }
    ).with_columns((pl.col("best") - pl.col("baseline")).alias("gain"))
    for j, c in enumerate(constraints):
        validation = validation.with_columns(
            pl.Series(f"constraint_{j + 1}", [c.sides({**r, **best})[0] for r in best_v])
        )
    gain = gain_summary(kpi, maximise, baseline, best_row, validation)
    best_kpis = {k: best_row[k] for k in baseline}
    return Optimisation(table, baseline, best, int(best_row["trial"]), best_kpis, validation, gain)


def gain_summary(kpi, maximise, baseline, best_row, validation: pl.DataFrame) -> dict:
    """The gain on the validation seeds (mean paired difference, 95% t-interval)."""
    from sim.sweeps.summary import t_interval

    diff = validation["gain"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    mean, lo, hi = t_interval(diff)
    b_mean = float(validation["baseline"].mean())
    # an improvement only when the whole paired interval is on the better side of 0
    improved = not math.isnan(lo) and (lo > 0 if maximise else hi < 0)
    better_in_search = (best_row["value"] > baseline[kpi]) if maximise else (
        best_row["value"] < baseline[kpi])  # fmt: skip
    return {
        "kpi": kpi,
        "direction": "maximise" if maximise else "minimise",
        "trial": int(best_row["trial"]),
        "search_baseline": baseline[kpi],
        "search_best": best_row["value"],
        "baseline": b_mean,
        "best": float(validation["best"].mean()),
        "gain": mean,
        "gain_low": None if math.isnan(lo) else lo,
        "gain_high": None if math.isnan(hi) else hi,
        "relative_gain": mean / abs(b_mean) if b_mean else None,
        "seeds": validation.height,
        "improved": bool(improved),
        "better_in_search": bool(better_in_search),
    }


def verdict(gain: dict) -> str:
    """One line: an improvement over the baseline, or none found (and why)."""
    if gain.get("improved"):
        return "an improvement over the baseline: the gain's 95% interval excludes 0"
    why = "its 95% interval includes 0" if gain.get("gain_low") is not None else "one seed"
    if not gain.get("better_in_search"):
        why += "; it was not better than the baseline in the search either"
    return f"no improvement found over the baseline ({why}): keep the baseline"


# -- the command ---------------------------------------------------------------------------
def best_yaml(best: dict, params: list[Param], gain: dict, command: str) -> str:
    """``best.yaml``: the best strategy as a list of overrides."""
    lines = [override(p.key, p.value(best[p.key])) for p in params]
    head = (
        f"# journeysim optimise: the best strategy for {gain['kpi']} ({gain['direction']}), "
        f"trial {gain['trial']}: gain {gain['gain']:+.6g} over the baseline on "
        f"{gain['seeds']} validation seeds: {verdict(gain)}.\n"
        f"# Reproduce: {command}\n"
        f"# Pass back, e.g.: journeysim {' '.join(lines)}\n"
    )
    return head + yaml.safe_dump(lines, default_flow_style=False)


def print_result(
    opt: Optimisation,
    params: list[Param],
    market: runs.Market,
    constraints: list[Constraint],
    folder: Path,
) -> None:
    """The best strategy beside the baseline, the gain with its interval, the constraints."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    g = opt.gain
    what = "best strategy" if g.get("improved") else "best candidate, no improvement found"
    t = Table(title=f"journeysim optimise: {what} (trial {g['trial']}) for {g['kpi']}")
    t.add_column("parameter")
    t.add_column("baseline", justify="right")
    t.add_column("best", justify="right")
    for p in params:
        base = market.value(p.key)
        t.add_row(p.key, "-" if base is None else f"{base:.4g}", f"{opt.best[p.key]:.4g}")
    console.print(t)

    def f(x) -> str:
        return "-" if x is None else f"{x:,.4g}"

    print(
        f"{g['kpi']} ({g['direction']}): baseline {f(g['baseline'])}, best {f(g['best'])}, "
        f"gain {g['gain']:+,.4g} [95% CI {f(g['gain_low'])}, {f(g['gain_high'])}] "
        f"over {g['seeds']} validation seeds (paired); in the search: baseline "
        f"{f(g['search_baseline'])}, best {f(g['search_best'])}"
    )
    print(f"verdict: {verdict(g)}")
    for j, c in enumerate(constraints):
        col = opt.validation[f"constraint_{j + 1}"]
        print(
            f"constraint {c.text}: left side {col.mean():,.4g} on average over the "
            f"validation seeds (max {col.max():,.4g})"
        )
    print(f"results in {folder}: " + ", ".join(OUTPUTS))


def command(args: list[str]) -> int:
    """``journeysim optimise --params SPACE.yaml --kpi KPI [--maximise|--minimise] ...``."""
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text
    from sim.sweeps.progress import step_progress

    p = options.parser("optimise", "Search a strategy for a KPI, under constraints.")
    p.add_argument("--params", required=True, metavar="SPACE.yaml", help="the levers to search")
    p.add_argument("--kpi", required=True, help="the KPI, e.g. profit__challenger")
    way = p.add_mutually_exclusive_group()
    way.add_argument(
        "--maximise",
        "--maximize",
        dest="maximise",
        action="store_true",
        default=True,
        help="maximise the KPI (default)",
    )
    way.add_argument(
        "--minimise", "--minimize", dest="maximise", action="store_false", help="minimise the KPI"
    )
    p.add_argument("--trials", type=int, default=100, metavar="N", help="trials (default 100)")
    p.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="EXPR",
        help="e.g. 'ad_spend__challenger <= 2000' (repeatable)",
    )
    p.add_argument(
        "--validate",
        type=int,
        default=10,
        metavar="V",
        help="fresh seeds to measure the best strategy's gain on (default 10)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=8,
        metavar="B",
        help="trials proposed at once (default 8; part of the result, unlike --jobs)",
    )
    ns = options.parse(p, args)
    options.positive("--trials", ns.trials)
    options.positive("--batch", ns.batch)
    options.positive("--validate", ns.validate, 2)
    market = runs.Market.compose(ns.overrides, ns.seed)
    runs.check_kpi(ns.kpi, market.brands)
    params = load_space(ns.params, ns.overrides)
    valid = runs.kpi_names(market.brands, totals=True) + [q.key for q in params]
    constraints = [parse_constraint(c, valid) for c in ns.constraint]
    market.check_seed(market.seed + ns.replicates + ns.validate - 1)
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=jobs)
    folder = options.out_dir("optimise", ns.out)
    options.check_out(folder)
    cargs = [
        "--params",
        str(Path(ns.params).resolve()),
        "--kpi",
        ns.kpi,
        "--maximise" if ns.maximise else "--minimise",
        "--trials",
        str(ns.trials),
    ]
    for c in ns.constraint:
        cargs += ["--constraint", c]
    cargs += [
        "--validate",
        str(ns.validate),
        "--batch",
        str(ns.batch),
        "--seed",
        str(market.seed),
        "--replicates",
        str(ns.replicates),
        "--out",
        str(folder),
        *ns.overrides,
    ]
    reproduce = options.reproduce("optimise", cargs)
    total = (ns.trials + 1) * ns.replicates + 2 * ns.validate
    with step_progress(total, "journeysim optimise") as advance:
        opt = optimise(
            market,
            params,
            ns.kpi,
            ns.maximise,
            constraints,
            ns.trials,
            ns.replicates,
            ns.validate,
            jobs,
            ns.batch,
            advance,
        )
    options.start_output(folder)
    write_text(space_yaml(params), folder / "space.yaml")
    write_parquet(opt.trials, folder / "trials.parquet")
    baseline = opt.baseline[ns.kpi]
    plots.save(
        plots.optimise_figure(opt.trials, ns.kpi, baseline, ns.maximise), folder / "optimise.html"
    )
    if opt.best is None:
        options.write_manifest(
            folder, "optimise", reproduce, kpi=ns.kpi, best=None, constraints=ns.constraint
        )
        options.say(
            f"warning: no trial met the constraint(s) ({'; '.join(ns.constraint)}): no best "
            f"strategy; trials in {folder}"
        )
        return 0
    write_parquet(opt.validation, folder / "validation.parquet")
    write_parquet(pl.DataFrame([opt.gain]), folder / "gain.parquet")
    write_text(best_yaml(opt.best, params, opt.gain, reproduce), folder / "best.yaml")
    options.write_manifest(
        folder,
        "optimise",
        reproduce,
        kpi=ns.kpi,
        direction=opt.gain["direction"],
        best={q.key: q.value(opt.best[q.key]) for q in params},
        gain=opt.gain,
        constraints=ns.constraint,
        seed=market.seed,
        replicates=ns.replicates,
    )
    print_result(opt, params, market, constraints, folder)
    return 0
