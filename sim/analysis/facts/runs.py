"""Runs for the facts: one market over seeds, or a response's arms over seeds.

The worker pool is loky's reusable executor, the same one the analyst tools use
(``sim.analysis.runs``): joblib's ``Parallel`` cannot reuse a pool it did not create, so
every run of the command goes through this one executor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl


@dataclass
class Light:
    """What a response needs from a run: its metrics and config (cheap to send back)."""

    metrics: pl.DataFrame
    config: object


def _simulate(config_yaml: str):
    from omegaconf import OmegaConf

    from sim import simulate

    return simulate(OmegaConf.create(config_yaml))


def _simulate_light(config_yaml: str) -> Light:
    result = _simulate(config_yaml)
    return Light(result.metrics, result.config)


def _run(worker: Callable, configs: list[str], jobs: int, progress=None) -> list:
    results = []
    if jobs <= 1:
        for k, text in enumerate(configs):
            results.append(worker(text))
            if progress:
                progress(k + 1)
        return results
    from joblib.externals.loky import get_reusable_executor

    pool = get_reusable_executor(max_workers=jobs, timeout=300)
    for k, result in enumerate(pool.map(worker, configs)):
        results.append(result)
        if progress:
            progress(k + 1)
    return results


def _config(overrides: Sequence[str], seed: int, jobs: int):
    from sim import load_config

    cfg = load_config([*overrides, f"seed={seed}"])
    if jobs > 1:
        cfg.engine.threads = 1
    return cfg


def run_seeds(overrides: Sequence[str], seeds: Sequence[int], jobs: int, progress=None) -> list:
    """Simulate the market of ``overrides`` once per seed (in ``jobs`` parallel processes)."""
    from omegaconf import OmegaConf

    configs = [OmegaConf.to_yaml(_config(overrides, s, jobs)) for s in seeds]
    return _run(_simulate, configs, min(jobs, len(configs)), progress)


def arm_configs(overrides: Sequence[str], arms: Sequence[tuple], seeds: Sequence[int], jobs: int):
    """The config (YAML) of every (seed, arm), seed-major; raises ``ConfigError`` if invalid."""
    from omegaconf import OmegaConf

    from sim.analysis.facts.responses import apply_arm
    from sim.config import finalise

    out = []
    for seed in seeds:
        base = _config(overrides, seed, jobs)
        for key in arms:
            cfg = base.copy()
            apply_arm(cfg, key)
            out.append(OmegaConf.to_yaml(finalise(cfg)))  # checks the arm before any work
    return out


def run_arms(
    overrides: Sequence[str], arms: Sequence[tuple], seeds: Sequence[int], jobs: int, progress=None
) -> list[dict]:
    """Simulate every arm on every seed: one ``{arm: Light}`` per seed (common random numbers)."""
    configs = arm_configs(overrides, arms, seeds, jobs)
    results = _run(_simulate_light, configs, min(jobs, len(configs)), progress)
    n = len(arms)
    return [dict(zip(arms, results[k * n : (k + 1) * n], strict=True)) for k in range(len(seeds))]
