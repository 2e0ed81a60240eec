"""What a segment config may hold, without the engine: names, limits and trait merging.

Imported by the config checks (``sim.config.validate``), which must not load Numba.
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

#: At most this many segments: a segment is one byte per customer, and every per-step
#: accumulator is kept per segment.
MAX_SEGMENTS = 16
#: The name of the one segment of a config that names none.
DEFAULT_NAME = "everyone"
#: The traits a segment can change (``market.traits``), in the order the state draws them.
TRAIT_NAMES = ("price_sensitivity", "wom_activity", "expectation", "churn_propensity",
               "wom_threshold")  # fmt: skip
#: Network kinds whose ties are local in customer order (a lattice, consecutive groups):
#: homophily places segments along that order. On the other kinds ties are random.
LOCAL_KINDS = ("watts_strogatz", "clustered")
#: Initial-draw family of the segment (see ``sim.engine.state``): slot 0 the segment, slot 1
#: whether the customer lives among its segment, slot 2 its place.
FAMILY_SEGMENT = 6


#: The ``segment`` of the rows of a segmented metrics.parquet that hold each brand's totals.
ALL_SEGMENTS = "all"


def segment_trait(market_spec, changes) -> dict:
    """A segment's trait spec: the market's, with the keys the segment gives replaced.

    Giving ``mean`` or ``sd`` without ``alpha`` and ``beta`` drops the market's Beta(alpha,
    beta), so the moment-matched Beta (or the lognormal) of the new mean and sd is drawn.
    """
    spec = dict(OmegaConf.to_container(market_spec) if isinstance(market_spec, DictConfig)
                else market_spec)  # fmt: skip
    changes = dict(changes or {})
    if ("mean" in changes or "sd" in changes) and not ("alpha" in changes or "beta" in changes):
        spec["alpha"] = spec["beta"] = None
    spec.update(changes)
    return spec


def brand_rows(metrics):
    """The per-brand rows of a metrics frame or file (the ``all`` rows of a segmented one).

    metrics.parquet of a market with segments or regions holds each brand's totals (segment
    and region ``all``) and each segment's and region's rows
    (``sim.engine.metrics.metrics_file``); without either it is returned as it is.
    """
    import polars as pl

    for column in ("segment", "region"):
        if column in metrics.columns:
            metrics = metrics.filter(pl.col(column) == ALL_SEGMENTS).drop(column)
    return metrics


def config_groups(cfg, group: str, default: str) -> dict:
    """A config's ``segments`` or ``regions`` groups as a plain mapping.

    One group named ``default``, holding everyone (share 1), when the config names none.
    """
    node = cfg.get(group) if isinstance(cfg, DictConfig) else None
    groups = node.get("groups") if node is not None else None
    if not groups:
        return {default: {"share": 1.0}}
    return OmegaConf.to_container(groups, resolve=True)
