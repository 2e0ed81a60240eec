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

import fnmatch
import math
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from sim.analysis import budget, images, options, runs
from sim.analysis.calibrate import quiet_optuna, sampler
from sim.analysis.constraints import Constraint, parse_constraint
from sim.analysis.curves import CURVE_MULTIPLIERS, curve_levers, marginal_returns, response_curves
from sim.analysis.space import load_space, override, space_yaml
from sim.analysis.strategy import Search
from sim.config import ConfigError

OUTPUTS = (
    "best.yaml",
    "trials.parquet",
    "gain.parquet",
    "validation.parquet",
    "optimise.html",
    "space.yaml",
)  # with response curves (sim.analysis.curves): curves.parquet, marginal.parquet, curves.html

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
                    violations = [finite_violation(v) for v in violations]
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
            marginal = marginal_returns(curve_table)
    validation = pl.DataFrame(
        {
            "seed": check_seeds,
            "baseline": [r[kpi] for r in base_v],
            "best": [r[kpi] for r in best_v],
        }
    ).with_columns((pl.col("best") - pl.col("baseline")).alias("gain"))
    brand = kpi.partition("__")[2]  # a brand may hold "__" (a__b); a KPI does not
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


def finite_violation(v: float) -> float:
    """A violation Optuna can rank: +/-inf (a KPI divided by 0) as +/-1e300, NaN as broken."""
    if math.isnan(v):
        return 1e300
    return max(-1e300, min(1e300, v))


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
    brand = g["kpi"].partition("__")[2]
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
        plots.save(plots.curves_figure(opt.curves, opt.marginal, ns.kpi), folder / "curves.html")
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
