"""journeysim: ``load_config`` composes and validates a market, ``simulate`` runs it.

Example:
    >>> from sim import load_config, simulate
    >>> cfg = load_config(["market.customers=2000", "sim.steps=30"])
    >>> result = simulate(cfg)
    >>> result.metrics.columns[:3]
    ['step', 'brand', 'aware']

Packages: ``sim.config`` (composition, schema, validation, safety), ``sim.engine``
(state, networks, kernels, model, metrics), ``sim.sweeps`` (result files, summaries,
reports), ``sim.dashboard`` (the app's pure functions), ``sim.cli`` (the command line).
"""

from sim.config import ConfigError, load_config

__all__ = ["ConfigError", "Result", "load_config", "simulate"]


def __getattr__(name: str):
    # The engine (Numba) is imported on first use, so the command line and the config
    # checks start fast.
    if name in ("simulate", "Result"):
        from sim.engine.startup import engine_imports

        with engine_imports():  # imports only: see sim.engine.startup
            from sim.engine import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
