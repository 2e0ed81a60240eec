"""``journeysim calibrate DATA --params SPACE.yaml``: fit parameters to observed time series.

The data are a tidy CSV or parquet file with columns ``step``, ``brand`` and any of
``customers``, ``share``, ``acquired``, ``churned``, ``revenue``, ``nps``; the columns
present are fitted, missing ones (and empty cells) are not. A data step is ``--period P``
simulation steps (default 1; ``--period 7`` for weekly data of a daily model): stocks
(customers, share, nps) are compared at the period's last step, flows (acquired, churned,
revenue) as totals over its P steps; step 0 is the initial state. The run lasts the
data's last step times P unless ``sim.steps`` is given.

The loss (``docs/analysis.md``) is the mean over fitted columns of the mean squared
standardised error, the simulated value being the mean over the replicates::

    loss = 1/|C| sum_c 1/n_c sum_i ((sim_ci - obs_ci) / s_c)^2

with s_c the model's own noise in column c: the standard deviation between seeds of the
simulated values, pooled over the column's observations, measured once before the search
on reference runs at the centre of the space (``--replicates`` seeds, at least 2). So each
column weighs by how precisely the model can match it (a share series counts as much as
noisy weekly churn counts), and a loss near 1 + 1/R means the data lie as close to the
fitted model as another seed of the model would.
Optuna's TPE sampler (seeded with ``--seed``) proposes ``--batch`` trials at a time,
run in parallel; every trial uses the same replicate seeds (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from sim.analysis import images, options, runs
from sim.analysis.space import Param, format_value, load_space, override, space_yaml
from sim.config import ConfigError

#: Columns that can be fitted, and which are flows (summed over a data period).
FIT_COLUMNS = ("customers", "share", "acquired", "churned", "revenue", "nps")
FLOWS = ("acquired", "churned", "revenue")
OUTPUTS = ("best.yaml", "intervals.parquet", "trials.parquet", "fit.parquet", "fit.html",
           "space.yaml")  # fmt: skip


# -- the data ------------------------------------------------------------------------------
def read_data(path: str | Path) -> pl.DataFrame:
    """Read and check observed series: step, brand and the fitted columns (Float64).

    Raises:
        ConfigError: unreadable file, missing step/brand, no fittable column, bad types,
            negative or non-integer steps, duplicate (step, brand) rows; one line.
    """
    from sim.analysis.options import read_table

    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ConfigError(f"{path}: must be a .csv or .parquet file")
    data = read_table(path, "data")
    missing = [c for c in ("step", "brand") if c not in data.columns]
    if missing:
        raise ConfigError(f"{path}: column {missing[0]!r} is missing (need step, brand)")
    fitted = [c for c in FIT_COLUMNS if c in data.columns]
    if not fitted:
        raise ConfigError(
            f"{path}: no column to fit; give any of {', '.join(FIT_COLUMNS)} beside step, brand"
        )
    ignored = [c for c in data.columns if c not in ("step", "brand", *FIT_COLUMNS)]
    if ignored:
        options.say(f"warning: {path}: columns not fitted: {', '.join(ignored)}")
    if data.height == 0:
        raise ConfigError(f"{path}: holds no rows")
    try:
        step = data["step"].cast(pl.Float64, strict=True)
    except Exception:  # noqa: BLE001
        raise ConfigError(f"{path}: step must be whole numbers") from None
    bad = step.is_null() | (step < 0) | (step != step.floor())
    if bad.any():
        k = int(bad.arg_max())
        raise ConfigError(f"{path}: row {k + 1}: step must be a whole number >= 0")
    cols = [step.cast(pl.Int64).alias("step"), data["brand"].cast(pl.Utf8).alias("brand")]
    for c in fitted:
        try:
            values = data[c].cast(pl.Float64, strict=True)
        except Exception:  # noqa: BLE001
            raise ConfigError(f"{path}: column {c!r} must hold numbers") from None
        finite = values.is_null() | values.is_finite()
        if not finite.all():
            k = int((~finite).arg_max())
            raise ConfigError(f"{path}: row {k + 1}: {c} must be a finite number")
        cols.append(values.alias(c))
    out = pl.DataFrame(cols)
    if out["brand"].is_null().any():
        raise ConfigError(
            f"{path}: row {int(out['brand'].is_null().arg_max()) + 1}: brand is empty"
        )
    dup = out.select("step", "brand").is_duplicated()
    if dup.any():
        k = int(dup.arg_max())
        raise ConfigError(f"{path}: row {k + 1}: the same step and brand appears more than once")
    out = out.filter(pl.any_horizontal(pl.col(fitted).is_not_null()))
    if out.height == 0:
        raise ConfigError(f"{path}: every value to fit is empty")
    return out.sort("brand", "step")


def observed_long(data: pl.DataFrame) -> pl.DataFrame:
    """The observations as step, brand, column, observed (empty cells left out)."""
    fitted = [c for c in FIT_COLUMNS if c in data.columns]
    return (
        data.unpivot(
            index=["step", "brand"], on=fitted, variable_name="column", value_name="observed"
        )
        .drop_nulls("observed")
        .sort("column", "brand", "step")
    )


def spread_scales(observed: pl.DataFrame) -> dict[str, float]:
    """Per column, a fallback scale: the observed values' standard deviation.

    Constant values: their mean absolute value; all zero: 1.
    """
    out = {}
    for (column,), part in observed.group_by("column", maintain_order=True):
        x = part["observed"].to_numpy()
        s = float(np.std(x))
        if s <= 1e-12 * max(1.0, float(np.mean(np.abs(x)))):
            s = float(np.mean(np.abs(x))) or 1.0
        out[column] = s
    return out


def noise_scales(observed: pl.DataFrame, sims: np.ndarray) -> dict[str, float]:
    """Per column, the model's own noise: the seed-to-seed spread of its simulated values.

    ``sims`` (S x n, S >= 2 seeds) are the reference runs' series aligned with
    ``observed``; the scale is the root of the variance over seeds, pooled over the
    column's observations. A column the seeds do not move (e.g. zeros) falls back to
    ``spread_scales``.
    """
    fallback = spread_scales(observed)
    var = sims.var(axis=0, ddof=1)
    cols = observed["column"].to_numpy()
    out = {}
    for c in observed["column"].unique(maintain_order=True).to_list():
        s = float(np.sqrt(np.nanmean(var[cols == c])))
        size = float(np.nanmean(np.abs(sims[:, cols == c]))) if sims.size else 0.0
        out[c] = s if np.isfinite(s) and s > 1e-9 * max(1.0, size) else fallback[c]
    return out


def per_period(metrics: pl.DataFrame, period: int, columns: list[str]) -> pl.DataFrame:
    """Simulated values per data step: stocks at the period's last step, flows summed.

    Returns step (the data step), brand and ``columns``.
    """
    m = metrics.with_columns(((pl.col("step") + period - 1) // period).alias("__p"))
    aggs = []
    for c in columns:
        if c in FLOWS:
            aggs.append(pl.col(c).sum())
        else:
            aggs.append(pl.col(c).sort_by("step").last())
    return (
        m.group_by("__p", "brand", maintain_order=True)
        .agg(aggs)
        .rename({"__p": "step"})
        .with_columns(pl.col("step").cast(pl.Int64))
    )


@dataclass
class Target:
    """What the simulated series are compared with, and how.

    Attributes:
        observed: step, brand, column, observed (long, ordered).
        period: simulation steps per data step.
        scale: per column, the scale of its errors (the model's noise, see ``noise_scales``).
    """

    observed: pl.DataFrame
    period: int
    scale: dict[str, float]

    @property
    def columns(self) -> list[str]:
        """The fitted columns."""
        return self.observed["column"].unique(maintain_order=True).to_list()

    def simulated(self, metrics: pl.DataFrame) -> np.ndarray:
        """One replicate's values aligned with ``observed`` (NaN where the run has none)."""
        wide = per_period(metrics, self.period, self.columns)
        long = wide.unpivot(
            index=["step", "brand"], on=self.columns, variable_name="column", value_name="simulated"
        )
        joined = self.observed.join(
            long, on=["column", "brand", "step"], how="left", maintain_order="left"
        )
        return joined["simulated"].cast(pl.Float64).fill_null(np.nan).to_numpy()

    def losses(self, sims: np.ndarray) -> tuple[float, dict[str, float]]:
        """The loss of replicate series ``sims`` (R x n) and its part per column."""
        mean = sims.mean(axis=0)
        obs = self.observed["observed"].to_numpy()
        cols = self.observed["column"].to_numpy()
        parts = {}
        for c in self.columns:
            mask = cols == c
            z = (mean[mask] - obs[mask]) / self.scale[c]
            parts[c] = float(np.mean(z * z))
        total = float(np.mean(list(parts.values())))
        return total, parts

    def fit_frame(self, sims: np.ndarray) -> pl.DataFrame:
        """Observed beside the simulated mean and its band (min and max over replicates)."""
        return self.observed.select("step", "brand", "column", "observed").with_columns(
            pl.Series("simulated", sims.mean(axis=0)),
            pl.Series("low", sims.min(axis=0)),
            pl.Series("high", sims.max(axis=0)),
            pl.lit(sims.shape[0], pl.Int64).alias("replicates"),
        )


def run_length(
    market: runs.Market, overrides: list[str], data: pl.DataFrame, period: int
) -> list[str]:
    """``sim.steps`` the data need (added unless given), checked against the market."""
    need = int(data["step"].max()) * period
    given = any(o.partition("=")[0].lstrip("+") == "sim.steps" for o in overrides)
    if given:
        steps = int(market.config.sim.steps)
        if steps < need:
            raise ConfigError(
                f"sim.steps={steps}: the data run to step {int(data['step'].max())} "
                f"(x --period {period} = {need} steps); give sim.steps >= {need} or leave it out"
            )
        return list(overrides)
    if need < 1:
        raise ConfigError("the data hold step 0 only: nothing to simulate")
    return [*overrides, f"sim.steps={need}"]


def check_brands(data: pl.DataFrame, brands: list[str], path: str) -> None:
    """Every brand of the data is a brand of the market."""
    for b in data["brand"].unique(maintain_order=True).to_list():
        if b not in brands:
            raise ConfigError(
                f"{path}: brand {b!r} is not in the market (brands: {', '.join(brands)})"
            )


# -- the study ---------------------------------------------------------------------------
def distributions(params: list[Param]) -> dict:
    """Optuna distributions of the space."""
    import optuna

    out = {}
    for p in params:
        if p.integer:
            out[p.key] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[p.key] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    return out


def quiet_optuna() -> None:
    """Optuna logs every trial at INFO and warns about experimental options: keep stderr clean."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def sampler(seed: int):
    """The TPE sampler of every study: seeded, multivariate, pending trials lied about.

    Constraints, when a study has them, are set on each trial (``Trial.set_constraint``).
    """
    import optuna

    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


@dataclass
class Calibration:
    """A finished calibration: the trials, the best trial's values and its fit."""

    trials: pl.DataFrame
    best: dict
    best_loss: float
    best_parts: dict
    fit: pl.DataFrame
    spread: pl.DataFrame
    loss_noise: float = 0.0  # sd of the best candidate's loss over fresh seed sets


#: Fresh seed sets the best candidate is run on to measure its loss's seed-to-seed noise.
NOISE_SETS = 4
#: Trials whose loss is within this many noise sds of the best are indistinguishable from it
#: (two noisy losses: 1.96 x sqrt(2)).
WITHIN_NOISE = 2.77
#: Trials within noise of the best spanning less than this share of a parameter's range (on
#: its sampling scale) show the data constrain it.
UNIDENTIFIED_SPAN = 0.5


def calibrate(
    market: runs.Market,
    params: list[Param],
    target: Target,
    trials: int,
    replicates: int,
    jobs: int,
    batch: int,
    progress=None,
) -> Calibration:
    """Run the study: ``trials`` candidates, ``batch`` at a time, each on ``replicates`` seeds."""
    import optuna

    quiet_optuna()
    seeds = runs.replicate_seeds(market.seed, replicates)
    study = optuna.create_study(direction="minimize", sampler=sampler(market.seed))
    dists = distributions(params)
    extract = _extract(target)
    rows, best_sims, failures = [], None, []
    with runs.Runner(market, jobs, progress) as runner:
        centre = {p.key: p.from_unit(0.5) for p in params}
        ref_seeds = runs.replicate_seeds(market.seed, max(2, replicates))
        ref = runner.run([runs.Task(centre, s, extract) for s in ref_seeds])
        failed = next((g for g in ref if isinstance(g, runs.Failed)), None)
        if failed is not None:
            raise ConfigError(f"the centre of the space: {failed.message}")
        target.scale = noise_scales(target.observed, np.vstack([target.simulated(g) for g in ref]))
        while len(rows) < trials:
            asked = [study.ask(dists) for _ in range(min(batch, trials - len(rows)))]
            tasks = [runs.Task(dict(t.params), s, extract) for t in asked for s in seeds]
            results = runner.run(tasks)
            for k, trial in enumerate(asked):
                got = results[k * replicates : (k + 1) * replicates]
                row = {"trial": trial.number, **{p.key: trial.params[p.key] for p in params}}
                failed = next((g for g in got if isinstance(g, runs.Failed)), None)
                if failed is None:
                    sims = np.vstack([target.simulated(g) for g in got])
                    loss, parts = target.losses(sims)
                else:
                    loss, parts = math.nan, {}
                    failures.append(failed.message)
                if not math.isfinite(loss):
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    row.update(state="fail", loss=None)
                else:
                    study.tell(trial, loss)
                    row.update(state="complete", loss=loss)
                    if best_sims is None or loss < best_sims[0]:
                        best_sims = (loss, parts, sims, dict(trial.params))
                row.update({f"loss_{c}": parts.get(c) for c in target.columns})
                rows.append(row)
    if failures:
        options.say(f"warning: {len(failures)} trial(s) failed: {failures[0]}")
    if best_sims is None:
        raise ConfigError(
            "no trial could be fitted: "
            + (failures[0] if failures else "the simulated series are undefined")
        )
    loss, parts, sims, best = best_sims
    table = trials_frame(rows, params, target.columns)
    noise = loss_noise(market, best, target, replicates, jobs, progress)
    within = spread(table, params, margin=WITHIN_NOISE * noise)
    return Calibration(table, best, loss, parts, target.fit_frame(sims), within, noise)


def loss_noise(market, best: dict, target: Target, replicates: int, jobs: int, progress) -> float:
    """The sd of the best candidate's loss over ``NOISE_SETS`` fresh sets of seeds.

    The loss of a candidate is a replicate mean: another set of seeds moves it, and trials
    closer to the best than that are not told apart by the data.
    """
    sets = [runs.replicate_seeds(market.seed + replicates * (j + 1), replicates)
            for j in range(NOISE_SETS)]  # fmt: skip
    extract = _extract(target)
    with runs.Runner(market, jobs, progress) as runner:
        got = runner.run([runs.Task(dict(best), s, extract) for seeds in sets for s in seeds])
    losses = []
    for j in range(NOISE_SETS):
        part = got[j * replicates : (j + 1) * replicates]
        if any(isinstance(g, runs.Failed) for g in part):
            continue
        losses.append(target.losses(np.vstack([target.simulated(g) for g in part]))[0])
    return float(np.std(losses, ddof=1)) if len(losses) > 1 else 0.0


def _extract(target: Target):
    from functools import partial

    return partial(runs.metric_columns, columns=tuple(target.columns))


def trials_frame(rows: list[dict], params: list[Param], columns: list[str]) -> pl.DataFrame:
    """The trials as a frame: trial, state, loss, loss per column, the parameters."""
    schema = {"trial": pl.Int64, "state": pl.Utf8, "loss": pl.Float64}
    schema |= {f"loss_{c}": pl.Float64 for c in columns}
    schema |= {p.key: (pl.Int64 if p.integer else pl.Float64) for p in params}
    return pl.DataFrame(rows, schema=schema, orient="row").select(list(schema))


def spread(trials: pl.DataFrame, params: list[Param], margin: float = 0.0) -> pl.DataFrame:
    """Each parameter over the trials the data cannot tell from the best.

    Those are the trials whose loss is within ``margin`` of the best (``WITHIN_NOISE``
    times the loss's seed noise). Returns param, best (the best trial's value), mean, sd,
    min and max over them (the interval the data support), ``span`` (max - min as a share of
    the parameter's range, on its sampling scale), ``identified`` (either the trials within
    noise span less than ``UNIDENTIFIED_SPAN`` of its range, or the loss rises away from the
    best, ``loss_rises_away``: either shows the data constrain it) and ``top`` (how many
    trials).
    """
    done = trials.filter(pl.col("state") == "complete").sort("loss")
    best_loss = float(done["loss"][0])
    top = done.filter(pl.col("loss") <= best_loss + margin)
    k = top.height
    rows = []
    for p in params:
        x = top[p.key].cast(pl.Float64)
        lo, hi = float(x.min()), float(x.max())
        span = p.to_unit(hi) - p.to_unit(lo)
        rows.append(
            {
                "param": p.key,
                "best": float(x[0]),
                "mean": float(x.mean()),
                "sd": float(x.std()) if k > 1 else 0.0,
                "min": lo,
                "max": hi,
                "span": span,
                "identified": span < UNIDENTIFIED_SPAN or loss_rises_away(done, p),
                "top": k,
            }
        )
    return pl.DataFrame(rows)


def loss_rises_away(done: pl.DataFrame, p: Param, alpha: float = 0.05) -> bool:
    """Whether the loss rises with a trial's distance from the best value of ``p``.

    Spearman's rank correlation of |u - u_best| (``p`` on its sampling scale) with the loss
    over every complete trial, one-sided at ``alpha``: for a parameter the data cannot see,
    trials far from the best fit as well as near ones.
    """
    from scipy import stats

    if done.height < 5:
        return True  # too few trials to tell: not flagged
    u = [p.to_unit(float(v)) for v in done[p.key].to_list()]
    distance = [abs(v - u[0]) for v in u]
    rho, pvalue = stats.spearmanr(distance, done["loss"].to_list())
    return bool(rho > 0 and pvalue / 2 < alpha)


def supported_digits(low: float, high: float, value: float) -> float:
    """``value`` rounded to the precision its interval [low, high] supports (2 digits of it)."""
    width = high - low
    if width <= 0 or not math.isfinite(width) or value == 0:
        return value
    decimals = max(0, 1 - math.floor(math.log10(width)))
    return round(value, decimals)


def unidentified_warnings(spread_table: pl.DataFrame) -> list[str]:
    """One line per parameter the data do not identify, naming its supported interval."""
    out = []
    for r in spread_table.iter_rows(named=True):
        if not r["identified"]:
            out.append(f"{r['param']}: not identified by these data: the loss does not rise "
                       f"away from the best, and trials from {r['min']:.4g} to {r['max']:.4g} "
                       f"({r['span']:.0%} of its range) fit within noise of it")  # fmt: skip
    return out


# -- the command ---------------------------------------------------------------------------
def best_yaml(
    best: dict, params: list[Param], loss: float, command: str, within: pl.DataFrame | None = None
) -> str:
    """``best.yaml``: the fitted values as a list of overrides, ready to pass back.

    With ``within`` (``spread``), each value is rounded to the precision its interval
    supports, and the intervals and any parameter the data do not identify are noted.
    """
    rows = {} if within is None else {r["param"]: r for r in within.iter_rows(named=True)}
    lines, notes = [], []
    for p in params:
        value = p.value(best[p.key])
        r = rows.get(p.key)
        if r is not None and not p.integer:
            value = p.value(supported_digits(r["min"], r["max"], float(value)))
        lines.append(override(p.key, value))
        if r is not None:
            what = "" if r["identified"] else ": NOT identified by these data"
            notes.append(f"# {p.key}: the data support {r['min']:.4g} to {r['max']:.4g}{what}\n")
    head = (
        f"# journeysim calibrate: the best fit (loss {loss:.6g}) as Hydra overrides.\n"
        f"# Reproduce: {command}\n"
        f"# Pass back, e.g.: journeysim {' '.join(lines)}\n"
        "# or from Python: load_config(yaml.safe_load(open('best.yaml')))\n" + "".join(notes)
    )
    return head + yaml.safe_dump(lines, default_flow_style=False)


def print_result(cal: Calibration, params: list[Param], folder: Path) -> None:
    """The best values with their spread over the best trials, and where the files are."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    top = int(cal.spread["top"][0])
    t = Table(
        title=f"journeysim calibrate: best loss {cal.best_loss:.4g} +/- {cal.loss_noise:.2g} "
        f"(seed noise); {top} trial(s) within noise of it"
    )
    for head in ("parameter", "best", "mean", "sd", "min", "max", "identified"):
        t.add_column(head, justify="left" if head == "parameter" else "right")
    for r in cal.spread.iter_rows(named=True):
        t.add_row(r["param"], *(f"{r[k]:.4g}" for k in ("best", "mean", "sd", "min", "max")),
                  "yes" if r["identified"] else "NO")  # fmt: skip
    console.print(t)
    for line in unidentified_warnings(cal.spread):
        options.say(f"warning: {line}")
    parts = ", ".join(f"{c} {v:.3g}" for c, v in cal.best_parts.items())
    print(f"loss per column: {parts}")
    best = " ".join(override(p.key, p.value(cal.best[p.key])) for p in params)
    print(f"best overrides: {best}")
    print(f"results in {folder}: " + ", ".join(images.with_images(OUTPUTS, folder)))


def command(args: list[str]) -> int:
    """``journeysim calibrate DATA --params SPACE.yaml [--trials N] [overrides]``."""
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text
    from sim.sweeps.progress import step_progress

    p = options.parser(
        "calibrate",
        "Fit parameters to observed per-brand time series.",
        first=(
            "data",
            "observed series: CSV or parquet with step, brand and any of " + ", ".join(FIT_COLUMNS),
        ),
    )
    p.add_argument("--params", required=True, metavar="SPACE.yaml", help="the parameter space")
    p.add_argument("--trials", type=int, default=100, metavar="N", help="trials (default 100)")
    p.add_argument(
        "--period",
        type=int,
        default=1,
        metavar="P",
        help="simulation steps per data step (default 1; 7: weekly data)",
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
    options.positive("--period", ns.period)
    options.positive("--batch", ns.batch)
    data_path = ns.data
    data = read_data(data_path)
    market = runs.Market.compose(ns.overrides, ns.seed)
    check_brands(data, market.brands, data_path)
    overrides = run_length(market, ns.overrides, data, ns.period)
    market = runs.Market.compose(overrides, ns.seed)
    params = load_space(ns.params, overrides)
    market.check_seed(market.seed + ns.replicates - 1)
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=min(jobs, ns.batch * ns.replicates))
    obs = observed_long(data)
    target = Target(obs, ns.period, spread_scales(obs))  # noise scales: set by calibrate
    folder = options.out_dir("calibrate", ns.out)
    options.check_out(folder)
    reproduce = options.reproduce(
        "calibrate",
        [
            str(Path(data_path).resolve()),
            "--params",
            str(Path(ns.params).resolve()),
            "--trials",
            str(ns.trials),
            "--period",
            str(ns.period),
            "--batch",
            str(ns.batch),
            "--seed",
            str(market.seed),
            "--replicates",
            str(ns.replicates),
            "--out",
            str(folder),
            *ns.overrides,
        ],
    )
    total = ns.trials * ns.replicates + max(2, ns.replicates) + NOISE_SETS * ns.replicates
    with step_progress(total, "journeysim calibrate") as advance:
        cal = calibrate(market, params, target, ns.trials, ns.replicates, jobs, ns.batch, advance)
    options.start_output(folder)
    write_text(space_yaml(params), folder / "space.yaml")
    write_parquet(cal.trials, folder / "trials.parquet")
    write_parquet(cal.fit, folder / "fit.parquet")
    from sim.analysis import plots

    figures = [plots.fit_figure(cal.fit), plots.loss_figure(cal.trials, "loss", "Trials: loss")]
    plots.save(figures, folder / "fit.html")
    write_text(best_yaml(cal.best, params, cal.best_loss, reproduce, cal.spread),
               folder / "best.yaml")  # fmt: skip
    write_parquet(cal.spread, folder / "intervals.parquet")
    options.write_manifest(
        folder,
        "calibrate",
        reproduce,
        loss=cal.best_loss,
        columns=target.columns,
        # each column's error scale: the model's noise between seeds (docs/analysis.md)
        scales={c: float(v) for c, v in target.scale.items()},
        loss_noise=cal.loss_noise,
        unidentified=[r["param"] for r in cal.spread.iter_rows(named=True) if not r["identified"]],
        best={p.key: p.value(cal.best[p.key]) for p in params},
        seed=market.seed,
        replicates=ns.replicates,
        trials=ns.trials,
    )
    print_result(cal, params, folder)
    return 0


__all__ = ["FIT_COLUMNS", "Target", "calibrate", "command", "format_value", "read_data"]
