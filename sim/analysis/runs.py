"""The runner every analyst tool shares: one market composed once, many candidates in parallel.

A study composes the user's market (overrides) through Hydra once. A candidate is that
composed config with some keys set to new values and a seed: setting the keys on the
composed, still unresolved config and then resolving and validating it
(``sim.config.finalise``) gives exactly the config the same overrides would give on the
command line (interpolations such as ``${bass.p}`` follow), at a fraction of the cost
of composing again.

Candidates run in worker processes of one pool for the whole study (loky's reusable
executor, as joblib's loky backend uses; the pool is reused between batches, and compiled
kernels come from Numba's disk cache), one
Numba thread each, and results come back in the order the tasks were given: the same tasks
give the same results whatever the number of jobs. Replicates use the seeds
``seed, seed + 1, ...`` for every candidate (common random numbers), so differences between
candidates are sharp.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial

import polars as pl
from omegaconf import DictConfig, OmegaConf

from sim.config import ConfigError

#: Money totals over a run, per brand, besides the summary KPIs (for constraints).
TOTALS = ("ad_spend", "service_cost", "programme_cost")
#: Customer equity per brand: ``equity`` = customers x projected CLV at the end of the run,
#: ``equity_change`` = (customers at the end - at the start) x that CLV, what the change in the
#: customer base is worth; ``value`` = profit over the run + equity_change (what a strategy
#: earns now plus what it leaves in, or takes out of, the customer base).
EQUITY = ("equity", "equity_change", "value")


@dataclass
class Market:
    """The composed market every candidate starts from.

    Attributes:
        base: the composed config as a plain mapping, interpolations unresolved, without
            Hydra's own node.
        choices: Hydra's config-group choices (names a scenario that names itself nowhere).
        config: the resolved, validated config of the market as given.
        seed: the first replicate seed.
    """

    base: dict
    choices: dict | None
    config: DictConfig
    seed: int

    @classmethod
    def compose(cls, overrides: Sequence[str], seed: int | None = None) -> Market:
        """Compose and validate the market of ``overrides``; ``seed`` overrides ``seed=``.

        Raises:
            ConfigError: one line naming the key, the value and the rule broken.
        """
        from sim.config import composer, finalise

        with composer() as compose:
            cfg = compose(list(overrides))
        choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None)
        choices = OmegaConf.to_container(choices) if choices is not None else None
        base = OmegaConf.to_container(
            OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]), resolve=False
        )
        resolved = finalise(OmegaConf.create(base), choices=choices)
        # The scenario's label, fixed here, so candidates need no Hydra choices to get it.
        if isinstance(base.get("scenario"), dict):
            base["scenario"]["name"] = str(resolved.scenario.name)
        market = cls(base, choices, resolved, int(resolved.seed) if seed is None else int(seed))
        market.check_seed(market.seed)
        return market

    def candidate(
        self,
        values: Mapping[str, float] | None = None,
        seed: int | None = None,
        threads: int | None = None,
    ) -> DictConfig:
        """The resolved config with ``values`` set (key -> value), ``seed`` and Numba threads.

        Raises:
            ConfigError: a value or combination the config refuses.
        """
        return build_config(self.base, self.choices, dict(values or {}), seed, threads)

    def check_seed(self, seed: int) -> None:
        """Refuse a replicate seed out of range (one line)."""
        self.candidate(seed=seed)

    @property
    def brands(self) -> list[str]:
        """The market's brands, in config order."""
        return [str(b) for b in self.config.brands]

    def value(self, key: str):
        """A key's value in the market as given (None if it has none)."""
        return OmegaConf.select(self.config, key, default=None)


def unresolved(base: dict, values: dict, seed: int | None, threads: int | None) -> DictConfig:
    """The composed config with ``values`` set (key -> value), not yet resolved or checked."""
    cfg = OmegaConf.create(base)
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, merge=True, force_add=False)
    if seed is not None:
        cfg.seed = int(seed)
    if threads is not None:
        cfg.engine.threads = int(threads)
    return cfg


def build_config(
    base: dict, choices: dict | None, values: dict, seed: int | None, threads: int | None
) -> DictConfig:
    """Set ``values`` on the unresolved composed config, then resolve and validate it."""
    from sim.config import finalise

    return finalise(unresolved(base, values, seed, threads), choices=choices)


@dataclass(frozen=True)
class Task:
    """One simulation: a candidate's values and seed, and what to keep of its result.

    ``extract`` must be picklable (a module-level function or a ``functools.partial``).
    """

    values: dict
    seed: int
    extract: Callable


@dataclass(frozen=True)
class Failed:
    """A candidate the config refused (its values together break a rule)."""

    message: str


def _work(base: dict, threads: int | None, task: Task):
    """Worker side: set the values, simulate (which resolves and validates), extract.

    Config refusals come back as ``Failed``.
    """
    import logging

    from sim.config import ConfigWarning
    from sim.engine.runner import simulate

    logging.getLogger("MESA").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)  # shown once for the market already
        try:
            result = simulate(unresolved(base, task.values, task.seed, threads))
        except ConfigError as exc:
            return Failed(str(exc))
        return task.extract(result)


def _quiet_worker() -> None:
    """Worker start-up: Ctrl-C is the parent's to handle (it stops the workers itself)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class Runner:
    """Runs tasks on ``jobs`` processes (in this process when ``jobs`` is 1), in order.

    Use as a context manager around a whole study: the worker pool (loky's reusable
    executor, as joblib uses) stays up between batches and between studies of one process.
    ``progress`` is called with the number of simulations done so far. On Ctrl-C or an
    error the workers are stopped at once.
    """

    market: Market
    jobs: int = 1
    progress: Callable[[int], None] | None = None
    done: int = 0
    _pool: object = field(default=None, repr=False)

    def __enter__(self) -> Runner:
        if self.jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            self._pool = get_reusable_executor(
                max_workers=self.jobs, timeout=300, initializer=_quiet_worker
            )
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self._pool is not None and kind is not None:
            self._pool.shutdown(wait=False, kill_workers=True)
        self._pool = None

    def run(self, tasks: Iterable[Task]) -> list:
        """Each task's extracted result (or ``Failed``), in the order given.

        Raises:
            ConfigError: a worker process died (e.g. out of memory).
        """
        tasks = list(tasks)
        out = []
        if self._pool is None:
            work = partial(_work, self.market.base, None)
            results = (work(t) for t in tasks)
        else:
            work = partial(_work, self.market.base, 1)
            futures = [self._pool.submit(work, t) for t in tasks]
            results = (f.result() for f in futures)
        try:
            for r in results:
                out.append(r)
                self.done += 1
                if self.progress is not None:
                    self.progress(self.done)
        except BrokenProcessPool as exc:
            raise ConfigError(
                f"a worker process died ({type(exc).__name__}: out of memory?): rerun with fewer "
                "--jobs or a smaller market"
            ) from None
        return out


def run_all(market: Market, tasks: Sequence[Task], jobs: int, label: str) -> list:
    """Every task's result in order, with progress lines under ``label``; one study's batch.

    Raises:
        ConfigError: the first run that failed, with its one-line message.
    """
    from sim.sweeps.progress import step_progress

    with step_progress(len(tasks), label) as advance:
        with Runner(market, jobs, advance) as runner:
            got = runner.run(tasks)
    failed = next((g for g in got if isinstance(g, Failed)), None)
    if failed is not None:
        raise ConfigError(failed.message)
    return got


def default_jobs() -> int:
    """Processes to use by default: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- what to keep of a result ------------------------------------------------------------
def kpis(result) -> dict[str, float]:
    """The summary KPIs per brand (``<kpi>__<brand>``) and money totals over the run.

    Undefined KPIs (e.g. CAC without acquisitions) are NaN.
    """
    from sim.sweeps.summary import run_kpis

    out = {k: (math.nan if v is None else float(v)) for k, v in run_kpis(result.metrics).items()}
    m = result.metrics.filter(pl.col("step") > 0)
    totals = m.group_by("brand", maintain_order=True).agg(
        [pl.col(c).sum() for c in TOTALS if c in m.columns]
    )
    for row in totals.iter_rows(named=True):
        for c in TOTALS:
            if c in row:
                out[f"{c}__{row['brand']}"] = float(row[c])
    out.update(customer_equity(result.metrics))
    return out


def customer_equity(metrics: pl.DataFrame) -> dict[str, float]:
    """Per brand ``equity``, ``equity_change`` and ``value`` (``EQUITY``).

    With ``n_t`` customers and ``clv_T`` the projected CLV of a customer at the end
    (``agents.rules.projected_clv``, from the margin and retention of the run)::

        equity = n_T clv_T,  equity_change = (n_T - n_0) clv_T,  value = profit + equity_change

    NaN where the CLV is undefined (a brand without customers).
    """
    last = metrics["step"].max()
    ends = metrics.filter(pl.col("step").is_in([0, last])).sort("step")
    profit = metrics.group_by("brand").agg(pl.col("profit").sum())
    profit = dict(zip(profit["brand"], profit["profit"], strict=True))
    out = {}
    for brand in metrics["brand"].unique(maintain_order=True).to_list():
        rows = ends.filter(pl.col("brand") == brand)
        start, end = rows["customers"][0], rows["customers"][-1]
        clv = rows["clv"][-1]
        clv = math.nan if clv is None else float(clv)
        out[f"equity__{brand}"] = end * clv
        out[f"equity_change__{brand}"] = (end - start) * clv
        out[f"value__{brand}"] = float(profit[brand]) + (end - start) * clv
    return out


def metric_columns(result, columns: tuple[str, ...]) -> pl.DataFrame:
    """The metrics frame cut to step, brand and ``columns``."""
    return result.metrics.select("step", "brand", *columns)


# -- KPI names ---------------------------------------------------------------------------
def kpi_names(brands: Sequence[str], totals: bool = False) -> list[str]:
    """The valid ``<kpi>__<brand>`` names (with the money totals if ``totals``)."""
    from sim.sweeps.summary import SUMMARY_KPIS

    kinds = list(SUMMARY_KPIS) + (list(TOTALS) + list(EQUITY) if totals else [])
    return [f"{k}__{b}" for b in brands for k in kinds]


def check_kpi(name: str, brands: Sequence[str], totals: bool = False) -> str:
    """``name`` if it is a KPI of this market, else a one-line ``ConfigError`` listing them.

    With ``totals``, the money totals and customer equity (``TOTALS``, ``EQUITY``) count.
    """
    valid = kpi_names(brands, totals)
    if name not in valid:
        raise ConfigError(
            f"--kpi {name}: not a KPI of this market; valid names: {', '.join(valid)}"
        )
    return name


def today(values: Mapping[str, float]) -> dict:
    """Candidate values as changes made at step 0 on the shared status quo.

    ``scenario.changes`` (``sim.config.changes``): the burn-in is the market's own, cached
    once per seed, and the candidate is "what if we did this today?".
    """
    return {"scenario.changes": dict(values)} if values else {}


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """The seeds of the replicates: ``seed, seed + 1, ...`` (shared by every candidate)."""
    return [seed + r for r in range(replicates)]


def mean_kpis(rows: Sequence[dict]) -> dict[str, float]:
    """The mean of each KPI over replicates (NaN if any replicate has it undefined)."""
    keys = rows[0].keys()
    return {k: math.fsum(r[k] for r in rows) / len(rows) for k in keys}
