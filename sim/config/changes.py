"""What-ifs from today: ``scenario.changes`` applied at step 0, on top of the status quo.

A lever set in the market itself (``brands.incumbent.price=0.9``) acts during the burn-in
too: comparing it with the baseline compares two histories ("a world where the price
always was 0.9", a long-run steady state). A change listed in ``scenario.changes``

    scenario:
      changes:
        brands.incumbent.price: 0.9

acts from step 0 on the status quo every arm shares: "what happens if we cut the price
today?". Customers keep what they are used to (reference prices, expectations, ratings),
so they react to the change. Only keys the market's tables are built from may change
today (``CHANGEABLE``); the population, the network, the seed and the run's length are
the status quo's own.

A change may act on one group of customers only, ``scenario.target``:

    scenario:
      target: {region: north}  # or {segment: digital_natives}, or both (one cell)
      changes:
        brands.incumbent.price: 0.9

Everyone else keeps the status quo's tables (``JourneyModel._change_today``). A region has
its own brand tables, so every brand key but the service desk's (``REGION_KEYS``) may
change for a region; the kernels hold per segment only the exposure and service tables, so
only ad reach, service quality, first-contact resolution and friction (``SEGMENT_KEYS``)
may change for a segment; both: the keys both allow, on that cell.
"""

from __future__ import annotations

import fnmatch

from omegaconf import DictConfig, OmegaConf

from sim.config.errors import ConfigError

#: Keys a change at step 0 may set (everything the market's tables are built from).
CHANGEABLE = (
    "brands.*.price", "brands.*.margin", "brands.*.product_quality", "brands.*.equity",
    "brands.*.ad_reach.*", "brands.*.service_quality.*", "brands.*.first_contact_resolution.*",
    "brands.*.friction.*", "brands.*.service_capacity.*", "brands.*.service_spend",
    "brands.*.acquisition_cost",
    "wom.*", "service.*", "market.journey.*", "market.satisfaction.*", "market.choice.*",
    "market.churn.*", "market.spend.*", "market.category.*", "market.recommend.*",
)  # fmt: skip
#: Of those, keys that choose a rule (a different kernel): not a change of today.
FIXED = ("wom.rule", "service.rule")
#: Keys a change targeted at one region may set: the brand's tables a region holds of its own.
REGION_KEYS = (
    "brands.*.price", "brands.*.margin", "brands.*.product_quality", "brands.*.equity",
    "brands.*.ad_reach.*", "brands.*.service_quality.*", "brands.*.first_contact_resolution.*",
    "brands.*.friction.*", "brands.*.acquisition_cost",
)  # fmt: skip
#: Brand keys of the service desk: one queue and one invested quality per brand, market-wide.
DESK_KEYS = ("brands.*.service_capacity.*", "brands.*.service_spend")
#: Keys a change targeted at one segment may set: the tables the kernels hold per segment.
SEGMENT_KEYS = (
    "brands.*.ad_reach.*", "brands.*.service_quality.*", "brands.*.first_contact_resolution.*",
    "brands.*.friction.*",
)  # fmt: skip
#: What ``target_of`` gives when the changes act on everyone.
NO_TARGET = {"region": None, "segment": None}


def changes_of(cfg) -> dict:
    """The scenario's changes as a plain mapping (empty when there are none)."""
    changes = OmegaConf.select(cfg, "scenario.changes", default=None) if cfg else None
    if changes is None:
        return {}
    if isinstance(changes, DictConfig):
        return OmegaConf.to_container(changes, resolve=True)
    return dict(changes)


def target_of(cfg) -> dict:
    """The scenario's target as ``{"region": name or None, "segment": name or None}``."""
    target = OmegaConf.select(cfg, "scenario.target", default=None) if cfg else None
    if target is None:
        return dict(NO_TARGET)
    if isinstance(target, DictConfig):
        target = OmegaConf.to_container(target, resolve=True)
    return {"region": target.get("region"), "segment": target.get("segment")}


def _matches(key: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def check_target(cfg) -> None:
    """A target names a known region and/or segment, with changes that may act on it alone.

    Raises:
        ConfigError: one line naming the key, the value and what is allowed: an unknown
            region or segment, a target without changes, or a changed key the target's
            customers do not hold tables of their own for.
    """
    from sim.config.validate import region_names, segment_names

    target = target_of(cfg)
    region, segment = target["region"], target["segment"]
    if region is None and segment is None:
        return
    for key, value, names in (("region", region, region_names(cfg)),
                              ("segment", segment, segment_names(cfg))):  # fmt: skip
        if value is not None and value not in names:
            raise ConfigError(f"scenario.target.{key}={value}: unknown {key}: must be one of "
                              f"{', '.join(names)}")  # fmt: skip
    who = ", ".join(f"{k}={v}" for k, v in target.items() if v is not None)
    changes = changes_of(cfg)
    if not changes:
        raise ConfigError(
            f"scenario.target={{{who}}}: a target needs scenario.changes (it says whose customers "
            "the changes made today act on; a change of the market itself, a long-run "
            "comparison, acts on everyone)"
        )
    for key in map(str, changes):
        if region is not None and not _matches(key, REGION_KEYS):
            why = (
                "a brand's service desk (one queue, one invested quality) serves the whole market"
                if _matches(key, DESK_KEYS)
                else "it is market-wide"
            )
            raise ConfigError(
                f"scenario.changes.{key}: cannot change for one region ({who}): {why}; "
                "a region may change brands' price, margin, product_quality, equity, "
                "acquisition_cost, ad_reach.*, service_quality.*, first_contact_resolution.*, "
                "friction.*"
            )
        if segment is not None and not _matches(key, SEGMENT_KEYS):
            raise ConfigError(
                f"scenario.changes.{key}: cannot change for one segment ({who}): the engine holds "
                "per segment only exposure and service tables; a segment may change brands' "
                "ad_reach.*, service_quality.*, first_contact_resolution.*, friction.*"
            )


def check_key(key: str) -> None:
    """A key a change at step 0 may set.

    Raises:
        ConfigError: naming the key and what may change.
    """
    if key in FIXED or not any(fnmatch.fnmatchcase(key, p) for p in CHANGEABLE):
        raise ConfigError(
            f"scenario.changes.{key}: cannot change at step 0 (the population, network, "
            "seed, rules and run length belong to the status quo); changeable: brands' "
            "prices, margins, quality, equity, ad reach, service and friction, and wom.*, "
            "service.*, market.journey/satisfaction/choice/churn/spend/category/recommend.* "
            "(set it in the market itself to compare long-run steady states)"
        )


def apply_changes(cfg: DictConfig) -> DictConfig:
    """The config as it is from step 0: the status quo's with the scenario's changes set.

    Raises:
        ConfigError: a key that cannot change today or does not exist.
    """
    from agents.rules import margin_at_price

    today = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    changes = changes_of(cfg)
    for key, value in changes.items():
        check_key(str(key))
        if OmegaConf.select(today, str(key), default="\0missing") == "\0missing":
            raise ConfigError(f"scenario.changes.{key}: no such key in the market")
        OmegaConf.update(today, str(key), value, merge=False)
    for name, brand in today.brands.items():
        # a price changed today moves revenue, not the unit cost (unless the margin changes too)
        if f"brands.{name}.price" in changes and f"brands.{name}.margin" not in changes:
            old = float(cfg.brands[name].price)
            brand.margin = float(margin_at_price(float(brand.margin), old, float(brand.price)))
    today.scenario.changes = {}
    if "target" in today.scenario:
        today.scenario.target = dict(NO_TARGET)
    return today


def check_changes(cfg: DictConfig) -> None:
    """Every change names a changeable key, the market it makes is valid, so is its target.

    Raises:
        ConfigError: one line naming ``scenario.changes.KEY``, the value and the rule.
    """
    from sim.config.compose import with_defaults
    from sim.config.validate import validate

    check_target(cfg)
    changes = changes_of(cfg)
    if not changes:
        return
    today = apply_changes(cfg)
    try:
        validate(with_defaults(OmegaConf.to_container(today)))
    except ConfigError as exc:
        text = str(exc)
        key = next((k for k in changes if text.startswith(str(k))), None)
        raise ConfigError(f"scenario.changes.{text}" if key else text) from None
