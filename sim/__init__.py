"""journeysim engine: ``load_config`` composes and validates a market, ``simulate`` runs it.

Example:
    >>> from sim import load_config, simulate
    >>> cfg = load_config(["market.customers=2000", "sim.steps=30"])
    >>> result = simulate(cfg)
    >>> result.metrics.columns[:3]
    ['step', 'brand', 'aware']
"""

from sim.config import ConfigError, load_config
from sim.runner import Result, simulate

__all__ = ["ConfigError", "Result", "load_config", "simulate"]
