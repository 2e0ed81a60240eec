"""``journeysim optimise --params SPACE.yaml --kpi KPI``: search a strategy for a KPI.

The space holds the levers of a strategy (e.g. a brand's ad reach per channel and its
service quality); everything else, the competitors' configured behaviour and response
policies included, comes from the overrides. ``--budget BRAND=TOTAL`` (or ``=LOW:HIGH``)
adds a brand's ad budget a year to split over its channels, every candidate spending
exactly its total, with ``--bounds BRAND.CHANNEL=LOW:HIGH`` per channel
(``sim.analysis.budget``). Optuna's TPE sampler (seeded with ``--seed``) proposes
``--batch`` candidates at a time; each candidate's objective is the KPI's mean over
``--replicates`` seeds, the same seeds for every candidate and for the baseline (the market
as configured): common random numbers.

Candidates are changes made today: ``scenario.changes`` at step 0 on the status quo every
candidate shares (its burn-in is simulated once per seed and cached), so the answer is "what
if we did this today?" over the recorded steps (``--horizon YEARS``). ``--long-run`` sets
them in the market itself instead: long-run steady states, each with its own history.
The KPI may be any summary KPI, a money total or customer equity: ``value__<brand>`` is
profit plus the change in customer equity (customers x projected CLV), so a strategy that
earns now by losing customers is not mistaken for a gain.

``--constraint EXPR`` (repeatable) keeps the search inside a budget or a floor, e.g.
``'ad_spend__challenger <= 2000'`` or ``'brands.challenger.ad_reach.tv +
brands.challenger.ad_reach.social <= 0.03'``: a comparison (<=, <, >=, >) of two
arithmetic expressions (+ - * / and parentheses) of numbers, KPIs (``<kpi>__<brand>``, also
``ad_spend``, ``service_cost`` and ``programme_cost`` totals over the run and the customer
equity KPIs) and the space's keys. It is parsed, never executed. Its violation (how far
the left side is past the right, 0 or less when met) is given to Optuna
(``Trial.set_constraint``), whose TPE sampler then prefers feasible candidates and, among
infeasible ones, the least violating.

The best feasible candidate is then run against the baseline on ``--validate V`` fresh
seeds (not used in the search, so the winner's luck in the search does not inflate its
gain); the gain is the mean paired difference best - baseline with a 95% t-interval, and
"no improvement found" unless that interval excludes 0. Beside it: the paired change in the
KPI's brand's customers, customer equity and ad spend. Last, each channel whose spend was
searched is moved alone to ``CURVE_MULTIPLIERS`` x its best spend on the validation seeds:
its response curve, and its average and marginal returns (``marginal_returns``).
"""

from __future__ import annotations

import ast
import fnmatch
import math
import operator
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from sim.analysis import budget, images, options, runs
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
)  # and with response curves: curves.parquet, marginal.parquet, curves.html
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


#: What else the best strategy changes for the KPI's brand (KPI -> validation column).
SIDE_EFFECTS = {
    "customers": "customers_change",
    "equity_change": "equity_change",
    "ad_spend": "ad_spend_change",
}


# -- the study -----------------------------------------------------------------------------
@dataclass
class Optimisation:
    """A finished search: the trials, the baseline and best candidate, the validation."""

    trials: pl.DataFrame
    baseline: dict[str, float]  # KPI means on the search seeds
    best: dict | None  # the best feasible trial's config values (space keys, ad reaches)
    best_trial: int | None
    best_kpis: dict[str, float] | None
    validation: pl.DataFrame | None  # seed, baseline, best, gain, ...
    gain: dict | None
    curves: pl.DataFrame | None = None  # per channel and spend level, per seed
    marginal: pl.DataFrame | None = None  # per channel: average and marginal returns


@dataclass(frozen=True)
class Search:
    """What a trial sets: the space's keys and the budgets' splits, today or long-run.

    Attributes:
        params: the space's keys and ranges.
        budgets: the ad budgets to split (``sim.analysis.budget``).
        today: candidates are changes made at step 0 on the shared status quo
            (``scenario.changes``); else they set the market itself (long-run).
    """

    params: list[Param]
    budgets: list[budget.Budget]
    today: bool = True

    def distributions(self) -> dict:
        """Optuna's search dimensions."""
        return {**distributions(self.params), **budget.distributions(self.budgets)}

    def values(self, point: dict) -> tuple[dict, dict]:
        """The config values (key -> value) and spend columns of a search point."""
        values = {p.key: p.value(point[p.key]) for p in self.params}
        reach, spend = budget.values(self.budgets, point)
        return {**values, **reach}, spend

    def task(self, values: dict, seed: int) -> runs.Task:
        """A simulation of ``values`` (made today or in the market itself) on ``seed``."""
        return runs.Task(runs.today(values) if self.today else dict(values), seed, runs.kpis)

    @property
    def keys(self) -> list[str]:
        """Every config key a trial sets."""
        keys = [p.key for p in self.params]
        return keys + [b.reach_key(c) for b in self.budgets for c in b.channels]


def optimise(
    market: runs.Market,
    search: Search,
    kpi: str,
    maximise: bool,
    constraints: list[Constraint],
    trials: int,
    replicates: int,
    validate: int,
    jobs: int,
    batch: int,
    progress=None,
    curves: bool = False,
) -> Optimisation:
    """Search, validate the best feasible candidate against the baseline, trace its curves."""
    import optuna

    quiet_optuna()
    seeds = runs.replicate_seeds(market.seed, replicates)
    check_seeds = [market.seed + replicates + k for k in range(validate)]
    tpe = sampler(market.seed)
    study = optuna.create_study(direction="maximize" if maximise else "minimize", sampler=tpe)
    dists = search.distributions()
    rows = []
    failures = []
    with runs.Runner(market, jobs, progress) as runner:
        base_runs = runner.run([runs.Task({}, s, runs.kpis) for s in seeds])
        if any(isinstance(r, runs.Failed) for r in base_runs):
            raise ConfigError(next(r.message for r in base_runs if isinstance(r, runs.Failed)))
        baseline = runs.mean_kpis(base_runs)
        while len(rows) < trials:
            asked = [study.ask(dists) for _ in range(min(batch, trials - len(rows)))]
            points = [search.values(t.params) for t in asked]
            tasks = [search.task(values, s) for values, _ in points for s in seeds]
            results = runner.run(tasks)
            for k, trial in enumerate(asked):
                got = results[k * replicates : (k + 1) * replicates]
                values, spend = points[k]
                row = {"trial": trial.number, **values, **spend}
                failed = next((g for g in got if isinstance(g, runs.Failed)), None)
                means = None if failed else runs.mean_kpis(got)
                value = math.nan if means is None else means[kpi]
                if failed:
                    failures.append(failed.message)
                if not math.isfinite(value):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    row.update(state="fail", value=None, feasible=None)
                else:
                    env = {**means, **values}
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
        front += search.keys + [c for c in table.columns if c.startswith("spend.")]
        table = table.select(front + [c for c in table.columns if c not in front])
        ok = table.filter(pl.col("feasible").fill_null(False))
        if ok.height == 0:
            return Optimisation(table, baseline, None, None, None, None, None)
        best_row = ok.sort("value", descending=maximise).row(0, named=True)
        best = {key: best_row[key] for key in search.keys}
        tasks = [runs.Task({}, s, runs.kpis) for s in check_seeds]
        tasks += [search.task(best, s) for s in check_seeds]
        got = runner.run(tasks)
        if any(isinstance(r, runs.Failed) for r in got):
            raise ConfigError(next(r.message for r in got if isinstance(r, runs.Failed)))
        base_v, best_v = got[:validate], got[validate:]
        curve_table = marginal = None
        levers = curve_levers(market, search, best) if curves else []
        if levers:
            curve_table = response_curves(
                runner, market, search, best, levers, kpi, check_seeds, best_v
            )
            marginal = marginal_returns(curve_table, market)
    validation = pl.DataFrame(
        {
            "seed": check_seeds,
            "baseline": [r[kpi] for r in base_v],
            "best": [r[kpi] for r in best_v],
        }
    ).with_columns((pl.col("best") - pl.col("baseline")).alias("gain"))
    brand = kpi.rpartition("__")[2]
    for what, column in SIDE_EFFECTS.items():
        name = f"{what}__{brand}"
        validation = validation.with_columns(
            pl.Series(column, [b[name] - a[name] for a, b in zip(base_v, best_v, strict=True)])
        )
    for j, c in enumerate(constraints):
        validation = validation.with_columns(
            pl.Series(f"constraint_{j + 1}", [c.sides({**r, **best})[0] for r in best_v])
        )
    gain = gain_summary(kpi, maximise, baseline, best_row, validation)
    best_kpis = {k: best_row[k] for k in baseline}
    return Optimisation(
        table,
        baseline,
        best,
        int(best_row["trial"]),
        best_kpis,
        validation,
        gain,
        curve_table,
        marginal,
    )


# -- response curves -----------------------------------------------------------------------
#: Spend levels of a channel's response curve, as multiples of its spend in the best strategy
#: (0.8 and 1.2 give the marginal return by a central difference).
CURVE_MULTIPLIERS = (0.0, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0)


@dataclass(frozen=True)
class Lever:
    """A brand's ad spend on one channel, as a response curve traces it.

    Attributes:
        brand: the brand.
        channel: the channel.
        key: the ad-reach key the spend sets.
        per_reach: spend per year of a unit of reach (``N * cost * steps_per_year``).
        spend: the spend per year the curve is centred on (the best strategy's, or a
            typical one when the best spends nothing there).
    """

    brand: str
    channel: str
    key: str
    per_reach: float
    spend: float


def curve_levers(market: runs.Market, search: Search, best: dict) -> list[Lever]:
    """The channels whose spend the search set: every budget's, and ad-reach keys of the space."""
    cfg = market.config
    people = float(cfg.market.customers) * float(cfg.sim.steps_per_year)
    out = []
    for b in search.budgets:
        typical = b.high / len(b.channels)
        for c in b.channels:
            spend = best[b.reach_key(c)] * b.per_reach[c]
            out.append(Lever(b.brand, c, b.reach_key(c), b.per_reach[c], spend or typical))
    for p in search.params:
        parts = p.key.split(".")
        if len(parts) == 4 and parts[0] == "brands" and parts[2] == "ad_reach":
            per_reach = people * float(cfg.channels[parts[3]].cost)
            if per_reach <= 0:
                continue
            reach = best[p.key] or 0.5 * (p.low + p.high)
            out.append(Lever(parts[1], parts[3], p.key, per_reach, reach * per_reach))
    return out


def response_curves(
    runner: runs.Runner,
    market: runs.Market,
    search: Search,
    best: dict,
    levers: list[Lever],
    kpi: str,
    seeds: list[int],
    best_runs: list[dict],
) -> pl.DataFrame:
    """Each lever's channel run at ``CURVE_MULTIPLIERS`` x its spend, the rest as in the best.

    One row per lever, level and seed: the spend per year and over the run (expected:
    reach x ``per_reach``), the KPI and the lever's brand's revenue, profit, customers and
    value. Seeds are the validation seeds (paired with the best strategy's runs). A level the
    config refuses (too much reach) has no row.
    """
    years = float(market.config.sim.steps) / float(market.config.sim.steps_per_year)
    plan = []
    for lever in levers:
        for m in CURVE_MULTIPLIERS:
            reach = lever.spend * m / lever.per_reach
            at_best = abs(reach - best[lever.key]) <= 1e-15 * max(1.0, reach)
            plan.append((lever, m, reach, at_best))
    tasks = [
        search.task({**best, lever.key: reach}, s)
        for lever, _, reach, at_best in plan
        if not at_best
        for s in seeds
    ]
    done = iter(runner.run(tasks))
    rows = []
    for lever, m, reach, at_best in plan:
        got = best_runs if at_best else [next(done) for _ in seeds]
        for seed, r in zip(seeds, got, strict=True):
            if isinstance(r, runs.Failed):
                continue
            b = lever.brand
            rows.append(
                {
                    "brand": b,
                    "channel": lever.channel,
                    "multiplier": m,
                    "spend_per_year": reach * lever.per_reach,
                    "spend": reach * lever.per_reach * years,
                    "seed": seed,
                    "kpi": r[kpi],
                    "revenue": r[f"revenue__{b}"],
                    "profit": r[f"profit__{b}"],
                    "customers": r[f"customers__{b}"],
                    "value": r[f"value__{b}"],
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def _paired_slope(curve: pl.DataFrame, column: str, low: float, high: float) -> tuple:
    """Mean (y(high) - y(low)) / (spend(high) - spend(low)) over seeds, with a 95% interval."""
    from sim.sweeps.summary import t_interval

    a = curve.filter(pl.col("multiplier") == low).sort("seed")
    b = curve.filter(pl.col("multiplier") == high).sort("seed")
    pair = a.join(b, on="seed", suffix="_hi")
    if pair.height == 0:
        return math.nan, math.nan, math.nan
    dx = pair["spend_hi"] - pair["spend"]
    if (dx <= 0).any():
        return math.nan, math.nan, math.nan
    return t_interval(((pair[f"{column}_hi"] - pair[column]) / dx).to_numpy())


def marginal_returns(curves: pl.DataFrame, market: runs.Market) -> pl.DataFrame:
    """Per channel: average and marginal return on its spend, paired by seed.

    Over the run's spend ``x`` of the channel at the best strategy (level 1):

    - average ROAS = (revenue(x) - revenue(0)) / x, the revenue each unit of spend brought;
    - marginal ROAS = (revenue(1.2x) - revenue(0.8x)) / (0.4x), what the next unit brings;
    - marginal KPI = the same central difference of the optimised KPI per unit of spend
      (for profit: > 0 means spend more there, < 0 spend less; at an optimal split under a
      fixed budget the channels' marginal KPIs are equal).
    Each with a 95% t-interval over the paired seeds.
    """
    rows = []
    for (brand, channel), curve in curves.group_by(["brand", "channel"], maintain_order=True):
        at_best = curve.filter(pl.col("multiplier") == 1.0)
        row = {
            "brand": brand,
            "channel": channel,
            "spend_per_year": at_best["spend_per_year"].mean(),
            "spend": at_best["spend"].mean(),
        }
        for name, column, low in (
            ("average_roas", "revenue", 0.0),
            ("marginal_roas", "revenue", 0.8),
            ("marginal_kpi", "kpi", 0.8),
            ("marginal_value", "value", 0.8),
        ):
            mean, lo, hi = _paired_slope(curve, column, low, 1.0 if low == 0.0 else 1.2)
            row.update({name: mean, f"{name}_low": lo, f"{name}_high": hi})
        rows.append(row)
    out = pl.DataFrame(rows, infer_schema_length=None)
    return out.with_columns(pl.col(pl.Float64).fill_nan(None))


def gain_summary(kpi, maximise, baseline, best_row, validation: pl.DataFrame) -> dict:
    """The gain on the validation seeds (mean paired difference, 95% t-interval).

    Beside it, the paired changes in the KPI's brand's customers, customer equity and ad
    spend: a profit gain bought by losing customers shows as a loss of equity.
    """
    from sim.sweeps.summary import t_interval

    def interval(column: str) -> tuple[float, float | None, float | None]:
        diff = validation[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        mean, lo, hi = t_interval(diff)
        return mean, (None if math.isnan(lo) else lo), (None if math.isnan(hi) else hi)

    mean, lo, hi = interval("gain")
    b_mean = float(validation["baseline"].mean())
    # an improvement only when the whole paired interval is on the better side of 0
    improved = lo is not None and (lo > 0 if maximise else hi < 0)
    better_in_search = (best_row["value"] > baseline[kpi]) if maximise else (
        best_row["value"] < baseline[kpi])  # fmt: skip
    out = {
        "kpi": kpi,
        "direction": "maximise" if maximise else "minimise",
        "trial": int(best_row["trial"]),
        "search_baseline": baseline[kpi],
        "search_best": best_row["value"],
        "baseline": b_mean,
        "best": float(validation["best"].mean()),
        "gain": mean,
        "gain_low": lo,
        "gain_high": hi,
        "relative_gain": mean / abs(b_mean) if b_mean else None,
        "seeds": validation.height,
        "improved": bool(improved),
        "better_in_search": bool(better_in_search),
    }
    for column in SIDE_EFFECTS.values():
        if column in validation.columns:
            m, low, high = interval(column)
            out.update({column: m, f"{column}_low": low, f"{column}_high": high})
    return out


def verdict(gain: dict) -> str:
    """One line: an improvement over the baseline, or none found (and why)."""
    if gain.get("improved"):
        return "an improvement over the baseline: the gain's 95% interval excludes 0"
    why = "its 95% interval includes 0" if gain.get("gain_low") is not None else "one seed"
    if not gain.get("better_in_search"):
        why += "; it was not better than the baseline in the search either"
    return f"no improvement found over the baseline ({why}): keep the baseline"


# -- the command ---------------------------------------------------------------------------
def best_overrides(best: dict, search: Search) -> list[str]:
    """The best strategy as overrides: made today (``++scenario.changes={...}``) or long-run."""
    from sim.sweeps.plan import from_today

    integer = {p.key for p in search.params if p.integer}
    lines = [override(k, int(v) if k in integer else float(v)) for k, v in best.items()]
    return from_today(lines) if search.today else lines


def best_yaml(best: dict, search: Search, gain: dict, command: str) -> str:
    """``best.yaml``: the best strategy as a list of overrides."""
    lines = best_overrides(best, search)
    when = "made today on the status quo" if search.today else "set in the market (long-run)"
    head = (
        f"# journeysim optimise: the best strategy for {gain['kpi']} ({gain['direction']}), "
        f"trial {gain['trial']}, {when}: gain {gain['gain']:+.6g} over the baseline on "
        f"{gain['seeds']} validation seeds: {verdict(gain)}.\n"
        f"# Reproduce: {command}\n"
        f"# Pass back, e.g.: journeysim {' '.join(shlex.quote(x) for x in lines)}\n"
    )
    return head + yaml.safe_dump(lines, default_flow_style=False)


def _num(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.4g}"


def _interval(g: dict, name: str) -> str:
    return f"{g[name]:+,.4g} [95% CI {_num(g.get(f'{name}_low'))}, {_num(g.get(f'{name}_high'))}]"


def print_result(
    opt: Optimisation,
    search: Search,
    market: runs.Market,
    constraints: list[Constraint],
    folder: Path,
) -> None:
    """The best strategy beside the baseline, the gain with its interval, the constraints.

    Then what else it changes for the KPI's brand (customers, customer equity, ad spend) and,
    with response curves, each channel's average and marginal return.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from sim.config.errors import printable

    console = Console(width=None if Console().is_terminal else 140)
    g = opt.gain
    what = "best strategy" if g.get("improved") else "best candidate, no improvement found"
    when = "changes made today" if search.today else "long-run: set in the market"
    title = f"journeysim optimise: {what} (trial {g['trial']}) for {g['kpi']}, {when}"
    t = Table(title=Text(printable(title)))
    t.add_column("parameter")
    t.add_column("baseline", justify="right")
    t.add_column("best", justify="right")
    for key in search.keys:
        base = market.value(key)
        t.add_row(Text(printable(key)), _num(base), _num(opt.best[key]))
    for b in search.budgets:
        for c in b.channels:
            spend = opt.best[b.reach_key(c)] * b.per_reach[c]
            t.add_row(Text(printable(f"{b.brand} spend a year on {c}")), _num(b.current[c]),
                      _num(spend))  # fmt: skip
    console.print(t)
    print(
        f"{g['kpi']} ({g['direction']}): baseline {_num(g['baseline'])}, best "
        f"{_num(g['best'])}, gain {_interval(g, 'gain')} over {g['seeds']} validation seeds "
        f"(paired); in the search: baseline {_num(g['search_baseline'])}, best "
        f"{_num(g['search_best'])}"
    )
    print(f"verdict: {verdict(g)}")
    brand = g["kpi"].rpartition("__")[2]
    if "customers_change" in g:
        print(
            f"{brand} also changes: customers at the end {_interval(g, 'customers_change')}, "
            f"customer equity (customers x CLV) {_interval(g, 'equity_change')}, ad spend "
            f"{_interval(g, 'ad_spend_change')}"
        )
        kind = g["kpi"].partition("__")[0]
        loss = g["equity_change"]
        if kind not in ("value", "equity", "equity_change") and loss < 0 < g["gain"]:
            print(
                f"note: the gain comes with {_num(-loss)} less customer equity; "
                f"--kpi value__{brand} (profit + change in customer equity) counts both"
            )
    for j, c in enumerate(constraints):
        col = opt.validation[f"constraint_{j + 1}"]
        print(
            f"constraint {c.text}: left side {col.mean():,.4g} on average over the "
            f"validation seeds (max {col.max():,.4g})"
        )
    if opt.marginal is not None and opt.marginal.height:
        print_marginal(console, opt.marginal, g["kpi"])
    print(f"results in {folder}: " + ", ".join(images.with_images(outputs(opt), folder)))


def print_marginal(console, marginal: pl.DataFrame, kpi: str) -> None:
    """Each channel's spend and returns at the best strategy, with intervals."""
    from rich.table import Table
    from rich.text import Text

    from sim.config.errors import printable

    t = Table(title=f"returns on ad spend at the best strategy (per unit spent; {kpi} per unit)")
    for h in ("brand", "channel", "spend a year", "average ROAS", "marginal ROAS", "marginal KPI"):
        t.add_column(h, justify="left" if h in ("brand", "channel") else "right")

    def cell(r: dict, name: str) -> str:
        low, high = r[f"{name}_low"], r[f"{name}_high"]
        band = "" if low is None else f" [{_num(low)}, {_num(high)}]"
        return f"{_num(r[name])}{band}"

    for r in marginal.iter_rows(named=True):
        t.add_row(
            Text(printable(r["brand"])),
            Text(printable(r["channel"])),
            _num(r["spend_per_year"]),
            cell(r, "average_roas"),
            cell(r, "marginal_roas"),
            cell(r, "marginal_kpi"),
        )
    console.print(t)


def outputs(opt: Optimisation) -> list[str]:
    """The files a finished study writes."""
    extra = ["curves.parquet", "marginal.parquet", "curves.html"] if opt.curves is not None else []
    return list(OUTPUTS) + extra


def command(args: list[str]) -> int:
    """``journeysim optimise [--params SPACE.yaml] [--budget B=T] --kpi KPI ...``."""
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text
    from sim.sweeps.progress import step_progress

    p = options.parser(
        "optimise", "Search a strategy or an ad budget's split for a KPI, under constraints."
    )
    p.add_argument("--params", metavar="SPACE.yaml", help="the levers to search")
    p.add_argument(
        "--kpi", required=True, help="the KPI, e.g. profit__challenger or value__challenger"
    )
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
        "--budget",
        action="append",
        default=[],
        metavar="BRAND=TOTAL",
        help="a brand's ad budget a year, split over its channels: fixed (challenger=2000) or "
        "a band (challenger=1500:2500); repeatable",
    )
    p.add_argument(
        "--bounds",
        action="append",
        default=[],
        metavar="BRAND.CHANNEL=LOW:HIGH",
        help="a channel's spend a year within a --budget (0:0 leaves it out); repeatable",
    )
    p.add_argument(
        "--horizon",
        type=float,
        default=None,
        metavar="YEARS",
        help="years the KPI is measured over (sets sim.steps; default: the market's)",
    )
    p.add_argument(
        "--long-run",
        action="store_true",
        help="set candidates in the market itself (long-run steady states); by default they "
        "are changes made today on the shared status quo",
    )
    p.add_argument(
        "--no-curves",
        dest="curves",
        action="store_false",
        help="skip the response curves of the searched channels' spend",
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
    if ns.params is None and not ns.budget:
        raise options.UsageError("journeysim optimise: give --params SPACE.yaml, --budget, or both")
    overrides = horizon_overrides(ns.horizon, ns.overrides)
    market = runs.Market.compose(overrides, ns.seed)
    runs.check_kpi(ns.kpi, market.brands, totals=True)
    params = load_space(ns.params, overrides) if ns.params else []
    budgets = budget.parse_budgets(ns.budget, ns.bounds, market)
    search = Search(params, budgets, today=not ns.long_run)
    check_search(search, market)
    valid = runs.kpi_names(market.brands, totals=True) + search.keys
    constraints = [parse_constraint(c, valid) for c in ns.constraint]
    market.check_seed(market.seed + ns.replicates + ns.validate - 1)
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=jobs)
    folder = options.out_dir("optimise", ns.out)
    options.check_out(folder)
    cargs = ["--params", str(Path(ns.params).resolve())] if ns.params else []
    cargs += ["--kpi", ns.kpi, "--maximise" if ns.maximise else "--minimise"]
    cargs += ["--trials", str(ns.trials)]
    for c in ns.constraint:
        cargs += ["--constraint", c]
    for b in ns.budget:
        cargs += ["--budget", b]
    for b in ns.bounds:
        cargs += ["--bounds", b]
    if ns.horizon is not None:
        cargs += ["--horizon", format(ns.horizon, "g")]
    cargs += ["--long-run"] if ns.long_run else []
    cargs += [] if ns.curves else ["--no-curves"]
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
    n_levers = (
        len(search.keys) - len(params) + sum(1 for q in params if ".ad_reach." in q.key)
    )  # an upper bound of the channels the curves trace
    curve_runs = n_levers * len(CURVE_MULTIPLIERS) * ns.validate if ns.curves else 0
    total = (ns.trials + 1) * ns.replicates + 2 * ns.validate + curve_runs
    with step_progress(total, "journeysim optimise") as advance:
        opt = optimise(
            market,
            search,
            ns.kpi,
            ns.maximise,
            constraints,
            ns.trials,
            ns.replicates,
            ns.validate,
            jobs,
            ns.batch,
            advance,
            curves=ns.curves,
        )
    options.start_output(folder)
    write_text(space_yaml(params) if params else "{}\n", folder / "space.yaml")
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
    if opt.curves is not None:
        write_parquet(opt.curves, folder / "curves.parquet")
        write_parquet(opt.marginal, folder / "marginal.parquet")
        plots.save(curves_figure(opt.curves, opt.marginal, ns.kpi), folder / "curves.html")
    write_text(best_yaml(opt.best, search, opt.gain, reproduce), folder / "best.yaml")
    options.write_manifest(
        folder,
        "optimise",
        reproduce,
        kpi=ns.kpi,
        direction=opt.gain["direction"],
        when="today" if search.today else "long-run",
        best={k: float(v) for k, v in opt.best.items()},
        gain=opt.gain,
        constraints=ns.constraint,
        budgets=ns.budget,
        bounds=ns.bounds,
        seed=market.seed,
        replicates=ns.replicates,
    )
    print_result(opt, search, market, constraints, folder)
    return 0


def horizon_overrides(years: float | None, overrides: list[str]) -> list[str]:
    """The overrides with ``sim.steps`` set to ``years`` of steps (``--horizon``).

    Raises:
        ConfigError: a horizon out of range, or given beside a ``sim.steps`` override.
    """
    if years is None:
        return list(overrides)
    if not math.isfinite(years) or not 1 / 365 <= years <= 100:
        raise ConfigError(f"--horizon {years:g}: must be between a day (0.00274) and 100 years")
    if any(o.lstrip("+").startswith("sim.steps=") for o in overrides):
        raise ConfigError(f"--horizon {years:g}: give the horizon or sim.steps, not both")
    per_year = runs.Market.compose(list(overrides)).config.sim.steps_per_year
    return [*overrides, f"sim.steps={max(1, round(years * float(per_year)))}"]


def check_search(search: Search, market: runs.Market) -> None:
    """Refuse a search that cannot run before any work (one line).

    Made today, every key must be one a change at step 0 may set; a budget must fit the
    config's limits on ad reach.

    Raises:
        ConfigError: naming the key or the budget.
    """
    from sim.config.changes import CHANGEABLE, FIXED

    if search.today:
        for key in (p.key for p in search.params):
            if key in FIXED or not any(fnmatch.fnmatchcase(key, pat) for pat in CHANGEABLE):
                raise ConfigError(
                    f"{key}: cannot change today (the population, network, seed, rules and "
                    "run length belong to the status quo): add --long-run to compare "
                    "long-run steady states"
                )
    budget.check_reach(search.budgets, market)


def curves_figure(curves: pl.DataFrame, marginal: pl.DataFrame, kpi: str):
    """One panel per brand and channel: the KPI and revenue against the channel's spend.

    Each point is the mean over the paired seeds with its 95% interval; the best strategy's
    spend is marked.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from sim.analysis.palette import PALETTE
    from sim.sweeps.summary import t_interval

    groups = list(curves.group_by(["brand", "channel"], maintain_order=True))
    fig = make_subplots(
        rows=1,
        cols=len(groups),
        subplot_titles=[f"{b} on {c}" for (b, c), _ in groups],
        shared_yaxes=False,
    )
    for k, ((brand, channel), g) in enumerate(groups):
        for j, (column, label) in enumerate((("kpi", kpi), ("revenue", f"revenue__{brand}"))):
            pts = []
            for _, level in g.group_by(["multiplier"], maintain_order=True):
                mean, lo, hi = t_interval(level[column].to_numpy())
                pts.append((level["spend_per_year"].mean(), mean, lo, hi))
            pts.sort()
            x = [p[0] for p in pts]
            y = [p[1] for p in pts]
            err = [p[3] - p[1] if not math.isnan(p[3]) else 0.0 for p in pts]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    error_y={"type": "data", "array": err, "visible": True},
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    line={"color": PALETTE[j % len(PALETTE)]},
                ),
                row=1,
                col=k + 1,
            )
        at = marginal.filter((pl.col("brand") == brand) & (pl.col("channel") == channel))
        if at.height:
            fig.add_vline(x=at["spend_per_year"][0], line_dash="dot", row=1, col=k + 1)
        fig.update_xaxes(title_text="spend a year", row=1, col=k + 1)
    fig.update_layout(
        title="Response curves: each channel's spend moved alone, the rest as in the best "
        "strategy (dotted: its spend there)",
        template="plotly_white",
    )
    return fig
