"""Configuration: compose ``conf/`` with Hydra, resolve, and validate before any work.

A bad value raises :class:`ConfigError` whose message is one line naming the full
key, the value given and the allowed range, e.g.
``brands.challenger.service_quality.app=1.7: must be between 0 and 1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"
ENGINES = ("numba", "mesa")
TRAIT_DISTS = ("beta", "lognormal", "constant")
MAX_BRANDS = 8


class ConfigError(ValueError):
    """A config value outside its allowed range (the message is one line for the user)."""


def register_resolvers() -> None:
    """Register the config schema and OmegaConf resolvers (idempotent; before composing)."""
    from sim.schema import register_schemas

    register_schemas()
    OmegaConf.register_new_resolver("oneminus", lambda x: 1.0 - float(x), replace=True)
    OmegaConf.register_new_resolver("mul", lambda x, y: float(x) * float(y), replace=True)


def load_config(overrides: Iterable[str] = ()) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra's compose API, resolve it and validate it.

    Args:
        overrides: Hydra override strings, e.g. ``["market.customers=1000", "+experiment=bass"]``.

    Returns:
        The resolved config (without the ``hydra`` node).

    Raises:
        ConfigError: a value is out of range.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose(config_name="config", overrides=list(overrides))
    return finalise(cfg)


def finalise(cfg: DictConfig) -> DictConfig:
    """Resolve interpolations (dropping the ``hydra`` node) and validate."""
    register_resolvers()
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    out = OmegaConf.create(data)
    check_keys(out)
    validate(out)
    OmegaConf.set_readonly(out, False)
    return out


def check_keys(cfg: DictConfig) -> None:
    """Every key must be in the schema (``sim.schema``), even one added with ``+key=...``."""
    from omegaconf.errors import OmegaConfBaseException

    from sim.schema import Config

    try:
        OmegaConf.merge(OmegaConf.structured(Config), cfg)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        detail = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{key}: not a valid config key or type ({detail})") from None


# -- validation ------------------------------------------------------------------------
def _fail(key: str, value, rule: str) -> None:
    raise ConfigError(f"{key}={_show(value)}: {rule}")


def _show(value) -> str:
    if isinstance(value, (DictConfig, ListConfig)):
        return str(OmegaConf.to_container(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # typed float fields turn "2" into 2.0: echo what was typed
    return str(value)


def _number(key: str, value, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(key, value, "must be a number" + _range_text(lo, hi))
    if math.isnan(value):
        _fail(key, value, "must be a number" + _range_text(lo, hi))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            _fail(key, value, f"must be between {_fmt(lo)} and {_fmt(hi)}")
        if lo is not None:
            _fail(key, value, f"must be at least {_fmt(lo)}")
        _fail(key, value, f"must be at most {_fmt(hi)}")
    return float(value)


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" between {_fmt(lo)} and {_fmt(hi)}"
    if lo is not None:
        return f" of at least {_fmt(lo)}"
    return ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _integer(key: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        what = "must be a whole number"
        if lo is not None and hi is None:
            what += f" of at least {lo}"
        _fail(key, value, what)
    _number(key, value, lo, hi)
    return int(value)


def _prob(key: str, value) -> float:
    return _number(key, value, 0.0, 1.0)


def _choice(key: str, value, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        _fail(key, value, f"must be one of {', '.join(allowed)}")
    return value


def _channel_map(key: str, mapping, channels: list[str]) -> dict[str, float]:
    if mapping is None:
        return {}
    if not isinstance(mapping, DictConfig):
        _fail(key, mapping, f"must map channel names ({', '.join(channels)}) to numbers")
    out = {}
    for name, value in mapping.items():
        if name not in channels:
            _fail(f"{key}.{name}", value, f"unknown channel: must be one of {', '.join(channels)}")
        out[name] = _prob(f"{key}.{name}", value)
    return out


def _trait(key: str, spec, unit: bool = True) -> None:
    """A trait spec; ``unit``: its values are probabilities or 0-1 levels, else >= 0."""
    dist = _choice(f"{key}.dist", spec.get("dist", "beta"), TRAIT_DISTS)
    mean = spec.get("mean", 0.0)
    sd = spec.get("sd", 0.0) or 0.0
    a, b = spec.get("alpha"), spec.get("beta")
    if dist == "beta" and (a is not None or b is not None):
        if a is None or b is None:
            missing = "alpha" if a is None else "beta"
            _fail(f"{key}.{missing}", None, "must be given with the other Beta parameter")
        _number(f"{key}.alpha", a, 1e-9)
        _number(f"{key}.beta", b, 1e-9)
        return
    if dist == "lognormal":
        _number(f"{key}.mean", mean, 1e-9)
        _number(f"{key}.sd", sd, 0.0)
        return
    _number(f"{key}.sd", sd, 0.0)
    if dist == "constant" or sd == 0:
        if unit:
            _prob(f"{key}.mean", mean)
        else:
            _number(f"{key}.mean", mean, 0.0)
        return
    if dist == "beta":
        _prob(f"{key}.mean", mean)
        if sd > 0 and sd * sd >= mean * (1 - mean):
            _fail(
                f"{key}.sd",
                sd,
                f"must be below sqrt(mean (1 - mean)) = {math.sqrt(mean * (1 - mean)):.4g}",
            )
    else:
        _number(f"{key}.mean", mean)


def validate(cfg: DictConfig) -> None:
    """Check every value against its allowed range; raise ConfigError on the first bad one."""
    if _integer("seed", cfg.seed, 0) > 2**63 - 1:
        _fail("seed", cfg.seed, "must be at most 2^63 - 1")
    _choice("engine.name", cfg.engine.name, ENGINES)
    if cfg.engine.get("threads") is not None:
        _integer("engine.threads", cfg.engine.threads, 1)
    steps = _integer("sim.steps", cfg.sim.steps, 1)
    _number("sim.steps_per_year", cfg.sim.steps_per_year, 1e-9)
    _number("finance.discount_rate", cfg.finance.discount_rate, 0.0)

    m = cfg.market
    n = _integer("market.customers", m.customers, 2, 2_000_000_000)
    for name in ("price_sensitivity", "wom_activity", "expectation", "churn_propensity"):
        _trait(f"market.traits.{name}", m.traits[name], unit=name != "price_sensitivity")
    _prob("market.initial_consideration", m.initial_consideration)
    _prob("market.initial_satisfaction", m.initial_satisfaction)
    _number("market.initial_tenure_years", m.initial_tenure_years, 0.0)
    for k in ("need_rate", "consider_threshold", "usage_rate"):
        _prob(f"market.journey.{k}", m.journey[k])
    for k in ("met_level", "weight", "expectation_rate"):
        _prob(f"market.satisfaction.{k}", m.satisfaction[k])
    _number("market.satisfaction.sensitivity", m.satisfaction.sensitivity, 0.0)
    _number("market.satisfaction.negativity_bias", m.satisfaction.negativity_bias, 0.0)
    _number("market.satisfaction.forgiveness", m.satisfaction.forgiveness, 0.0)
    for k in ("beta_attitude", "beta_price", "beta_friction", "inertia"):
        _number(f"market.choice.{k}", m.choice[k], 0.0)
    _number("market.churn.sensitivity", m.churn.sensitivity, 0.0)
    _prob("market.churn.reference", m.churn.reference)
    _prob("market.churn.shock_threshold", m.churn.shock_threshold)
    _prob("market.churn.shock_switch", m.churn.shock_switch)
    _number("market.spend.tenure_uplift", m.spend.tenure_uplift, 0.0)
    _number("market.spend.cap_years", m.spend.cap_years, 0.0)

    channels = list(cfg.channels.keys())
    if not channels:
        _fail("channels", {}, "must name at least one channel")
    if len(channels) > 64:
        _fail("channels", len(channels), "must be at most 64 channels")
    for c in channels:
        ch = cfg.channels[c]
        _choice(f"channels.{c}.kind", ch.kind, ("paid", "earned", "owned"))
        for k in ("awareness", "consideration", "purchase", "service_share"):
            _prob(f"channels.{c}.{k}", ch[k])
        _number(f"channels.{c}.cost", ch.cost, 0.0)

    brands = list(cfg.brands.keys())
    if not 1 <= len(brands) <= MAX_BRANDS:
        _fail("brands", ", ".join(brands), f"must name between 1 and {MAX_BRANDS} brands")
    total_share = 0.0
    total_reach = 0.0
    for b in brands:
        br = cfg.brands[b]
        key = f"brands.{b}"
        _number(f"{key}.price", br.price, 0.0)
        for k in ("margin", "product_quality", "equity", "initial_awareness", "initial_share"):
            _prob(f"{key}.{k}", br[k])
        launch = _integer(f"{key}.launch_step", br.get("launch_step", 0), 0, steps)
        for k, ev in enumerate(cfg.scenario.get("events") or []):
            if ev.get("kind") == "new_entrant" and ev.get("brand") == b:
                launch = int(ev.get("start", 0) or 0)
                if launch > 0 and br.initial_share > 0:
                    _fail(
                        f"scenario.events[{k}].start", launch,
                        f"a new entrant launched after step 0 cannot have "
                        f"brands.{b}.initial_share={br.initial_share} (must be 0)",
                    )  # fmt: skip
        if launch == 0:
            total_share += br.initial_share
        total_reach += sum(_channel_map(f"{key}.ad_reach", br.ad_reach, channels).values())
        for k in ("service_quality", "first_contact_resolution", "friction"):
            _channel_map(f"{key}.{k}", br[k], channels)
    if total_share > 1.0 + 1e-9:
        _fail("brands.*.initial_share", round(total_share, 6), "must sum to at most 1")

    net = cfg.network
    from sim.network import KINDS

    kind = _choice("network.kind", net.kind, KINDS)
    _number("network.rewiring", net.rewiring, 0.0, 1.0)
    if kind != "complete":
        _number("network.mean_degree", net.mean_degree, 1.0, n - 1)
        if kind == "watts_strogatz" and n < 3:
            _fail("market.customers", n, "must be at least 3 for a watts_strogatz network")

    w = cfg.wom
    for k in ("talk_rate", "weight", "ad_weight", "ad_tone", "consideration"):
        _prob(f"wom.{k}", w[k])
    _number("wom.negativity_bias", w.negativity_bias, 0.0)
    s = cfg.service
    for k in ("contact_rate", "noise", "recovery_paradox", "failure_experience"):
        _prob(f"service.{k}", s[k])
    _number("service.cost_per_contact", s.cost_per_contact, 0.0)

    # Touchpoints compete within a step: their rates must leave room for "nothing happens".
    rates = total_reach + w.talk_rate + m.journey.usage_rate + s.contact_rate
    if rates > 1.0 + 1e-9:
        _fail(
            "wom.talk_rate",
            w.talk_rate,
            f"touchpoint rates per step (ad reach {total_reach:.3g} + talk {w.talk_rate} + usage "
            f"{m.journey.usage_rate} + service {s.contact_rate}) must sum to at most 1",
        )
    from scenarios.events import validate_events

    validate_events(cfg, brands, channels, steps)
    _validate_responses(cfg, brands)


def _validate_responses(cfg: DictConfig, brands: list[str]) -> None:
    from scenarios.responses import RESPONSE_KINDS

    for b in brands:
        for k, policy in enumerate(cfg.brands[b].get("responses") or []):
            key = f"brands.{b}.responses[{k}]"
            _choice(f"{key}.kind", policy.kind, RESPONSE_KINDS)
            for rival in policy.get("rivals") or []:
                others = [x for x in brands if x != b]
                if rival not in others:
                    _fail(f"{key}.rivals", rival, f"must be one of {', '.join(others)}")
            _integer(f"{key}.lag", policy.lag, 1)
            _prob(f"{key}.share_below", policy.share_below)
            _number(f"{key}.multiplier", policy.multiplier, 0.0, 100.0)
            _number(f"{key}.nps_below", policy.nps_below, -100.0, 100.0)
            _prob(f"{key}.quality_step", policy.quality_step)
            _prob(f"{key}.max_quality", policy.max_quality)
            _number(f"{key}.cost", policy.cost, 0.0)
