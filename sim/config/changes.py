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


def changes_of(cfg) -> dict:
    """The scenario's changes as a plain mapping (empty when there are none)."""
    changes = OmegaConf.select(cfg, "scenario.changes", default=None) if cfg else None
    if changes is None:
        return {}
    if isinstance(changes, DictConfig):
        return OmegaConf.to_container(changes, resolve=True)
    return dict(changes)


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
    return today


def check_changes(cfg: DictConfig) -> None:
    """Every change names a changeable key, and the market it makes is valid.

    Raises:
        ConfigError: one line naming ``scenario.changes.KEY``, the value and the rule.
    """
    from sim.config.compose import with_defaults
    from sim.config.validate import validate

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
