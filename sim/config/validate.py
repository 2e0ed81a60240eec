"""Validation: every value against its allowed range, before any work.

A bad value raises :class:`ConfigError` whose message is one line naming the full
key, the value given and the allowed range, e.g.
``brands.challenger.service_quality.app=1.7: must be between 0 and 1``. Every number
must be finite and bounded so that its use cannot overflow (``MAX_AMOUNT`` for money,
``MAX_WEIGHT`` for the weights of the rules' equations). Settings that run but not as
written (a rounded degree, an event after the end of the run) give a
:class:`ConfigWarning` instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from omegaconf import DictConfig, ListConfig, OmegaConf

from sim.config.errors import ConfigError, warn

ENGINES = ("numba", "mesa")
TRAIT_DISTS = ("beta", "lognormal", "constant")
MAX_BRANDS = 8
MAX_CHANNELS = 64
MAX_CUSTOMERS = 2_000_000_000
MAX_STEPS = 100_000
MAX_TENURE_STEPS = 65_535  # tenure is a saturating 16-bit counter
MAX_AMOUNT = 1e6  # prices and costs per customer-step or per contact
MAX_WEIGHT = 100.0  # sensitivities, biases and utility weights
MAX_SEED = 2**63 - 1
MIN_SD = 1e-6  # a smaller, non-zero trait sd would overflow the moment matching


def _fail(key: str, value, rule: str) -> None:
    raise ConfigError(f"{key}={_show(value)}: {rule}")


def _show(value) -> str:
    if isinstance(value, (DictConfig, ListConfig)):
        return str(OmegaConf.to_container(value))
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))  # typed float fields turn "2" into 2.0: echo what was typed
        return f"{value:g}"
    return str(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"between {_fmt(lo)} and {_fmt(hi)}"
    if lo is not None:
        return f"at least {_fmt(lo)}"
    if hi is not None:
        return f"at most {_fmt(hi)}"
    return "finite"


def _number(key: str, value, lo: float | None = None, hi: float | None = None) -> float:
    """A finite number in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(key, value, f"must be a number {_range_text(lo, hi)}")
    if not math.isfinite(value):
        _fail(key, value, f"must be a finite number {_range_text(lo, hi)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        _fail(key, value, f"must be {_range_text(lo, hi)}")
    return float(value)


def _integer(key: str, value, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(key, value, f"must be a whole number {_range_text(lo, hi)}")
    _number(key, value, lo, hi)
    return int(value)


def _prob(key: str, value) -> float:
    return _number(key, value, 0.0, 1.0)


def _weight(key: str, value) -> float:
    return _number(key, value, 0.0, MAX_WEIGHT)


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
        _number(f"{key}.alpha", a, 1e-6, 1e9)
        _number(f"{key}.beta", b, 1e-6, 1e9)
        return
    if dist == "lognormal":
        m = _number(f"{key}.mean", mean, 1e-6, MAX_WEIGHT)
        # sd / mean bounds the log-scale sd (sqrt(log(1 + (sd/mean)^2)) <= 3): no overflow
        _number(f"{key}.sd", sd, 0.0, 10.0 * m)
        if 0 < sd < MIN_SD:
            _fail(f"{key}.sd", sd, f"must be 0 or at least {MIN_SD:g}")
        return
    _number(f"{key}.sd", sd, 0.0, 1.0 if unit else MAX_WEIGHT)
    if 0 < sd < MIN_SD:
        _fail(f"{key}.sd", sd, f"must be 0 or at least {MIN_SD:g}")
    if dist == "constant" or sd == 0:
        if unit:
            _prob(f"{key}.mean", mean)
        else:
            _number(f"{key}.mean", mean, 0.0, MAX_WEIGHT)
        return
    if dist == "beta":
        _prob(f"{key}.mean", mean)
        if sd * sd >= mean * (1 - mean):
            _fail(
                f"{key}.sd",
                sd,
                f"must be below sqrt(mean (1 - mean)) = {math.sqrt(mean * (1 - mean)):.4g}",
            )


def validate(cfg: DictConfig) -> None:
    """Check every value against its allowed range; raise ConfigError on the first bad one."""
    _integer("seed", cfg.seed, 0, MAX_SEED)
    _choice("engine.name", cfg.engine.name, ENGINES)
    if cfg.engine.get("threads") is not None:
        _integer("engine.threads", cfg.engine.threads, 1, 4096)
    steps = _integer("sim.steps", cfg.sim.steps, 1, MAX_STEPS)
    per_year = _number("sim.steps_per_year", cfg.sim.steps_per_year, 1.0, 100_000.0)
    _integer("sim.burn_in", cfg.sim.burn_in, 0, MAX_STEPS)
    _number("finance.discount_rate", cfg.finance.discount_rate, 0.0, 1.0)
    _number("finance.clv_horizon_years", cfg.finance.clv_horizon_years, 0.0, 1000.0)

    m = cfg.market
    n = _integer("market.customers", m.customers, 2, MAX_CUSTOMERS)
    _integer("sim.trace", cfg.sim.trace, 0, min(n, 1_000_000))
    for name in ("price_sensitivity", "wom_activity", "expectation", "churn_propensity",
                 "wom_threshold"):  # fmt: skip
        _trait(f"market.traits.{name}", m.traits[name], unit=name != "price_sensitivity")
    _prob("market.initial_consideration", m.initial_consideration)
    _prob("market.initial_satisfaction", m.initial_satisfaction)
    top = MAX_TENURE_STEPS / per_year
    if _number("market.initial_tenure_years", m.initial_tenure_years, 0.0) > top:
        _fail(
            "market.initial_tenure_years", m.initial_tenure_years,
            f"must be between 0 and {top:.6g} ({MAX_TENURE_STEPS} steps of tenure at "
            f"sim.steps_per_year={_show(per_year)})",
        )  # fmt: skip
    for k in ("need_rate", "consider_threshold", "usage_rate", "forget_rate"):
        _prob(f"market.journey.{k}", m.journey[k])
    for k in ("entry_rate", "exit_rate", "turnover", "attention"):
        _prob(f"market.category.{k}", m.category[k])
    _prob("market.recommend.satisfaction_weight", m.recommend.satisfaction_weight)
    for k in ("met_level", "weight", "expectation_rate", "disposition"):
        _prob(f"market.satisfaction.{k}", m.satisfaction[k])
    for k in ("sensitivity", "negativity_bias", "forgiveness"):
        _weight(f"market.satisfaction.{k}", m.satisfaction[k])
    for k in ("beta_attitude", "beta_price", "beta_friction", "inertia"):
        _weight(f"market.choice.{k}", m.choice[k])
    _weight("market.churn.sensitivity", m.churn.sensitivity)
    _prob("market.churn.reference", m.churn.reference)
    _prob("market.churn.shock_threshold", m.churn.shock_threshold)
    _prob("market.churn.shock_switch", m.churn.shock_switch)
    _weight("market.churn.price_reevaluation", m.churn.price_reevaluation)
    _prob("market.churn.alternatives_weight", m.churn.alternatives_weight)
    _number("market.churn.alternatives_reference", m.churn.alternatives_reference, 0.01, 1.0)
    _number("market.churn.price_memory", m.churn.price_memory, 0.0, MAX_STEPS)
    _weight("market.spend.tenure_uplift", m.spend.tenure_uplift)
    _weight("market.spend.cap_years", m.spend.cap_years)

    channels = list(cfg.channels.keys())
    if not channels:
        _fail("channels", "{}", "must name at least one channel")
    if len(channels) > MAX_CHANNELS:
        _fail("channels", len(channels), f"must be at most {MAX_CHANNELS} channels")
    for c in channels:
        ch = cfg.channels[c]
        _choice(f"channels.{c}.kind", ch.kind, ("paid", "earned", "owned"))
        for k in ("awareness", "consideration", "purchase", "service_share"):
            _prob(f"channels.{c}.{k}", ch[k])
        _number(f"channels.{c}.cost", ch.cost, 0.0, MAX_AMOUNT)
        _number(f"channels.{c}.service_cost", ch.service_cost, 0.0, MAX_AMOUNT)

    brands = list(cfg.brands.keys())
    if not brands:
        _fail("brands", "{}", f"must name between 1 and {MAX_BRANDS} brands")
    if len(brands) > MAX_BRANDS:
        _fail("brands", ", ".join(brands), f"must name between 1 and {MAX_BRANDS} brands")
    total_share = 0.0
    total_reach = 0.0
    for b in brands:
        br = cfg.brands[b]
        key = f"brands.{b}"
        _number(f"{key}.price", br.price, 0.0, MAX_AMOUNT)
        _number(f"{key}.acquisition_cost", br.get("acquisition_cost", 0.0), 0.0, MAX_AMOUNT)
        for k in ("margin", "product_quality", "equity", "initial_awareness", "initial_share"):
            _prob(f"{key}.{k}", br[k])
        launch = _integer(f"{key}.launch_step", br.get("launch_step", 0), 0, steps)
        if launch > 0 and br.initial_share > 0:
            _fail(
                f"{key}.initial_share", br.initial_share,
                f"a brand launched after step 0 ({key}.launch_step={launch}) must have 0",
            )  # fmt: skip
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
        for name, value in (br.get("service_capacity") or {}).items():
            if name not in channels:
                _fail(f"{key}.service_capacity.{name}", value,
                      f"unknown channel: must be one of {', '.join(channels)}")  # fmt: skip
            _number(f"{key}.service_capacity.{name}", value, 0.0, MAX_AMOUNT)
        _number(f"{key}.service_spend", br.get("service_spend", 0.0), 0.0, MAX_AMOUNT)
    if total_share > 1.0 + 1e-9:
        _fail("brands.*.initial_share", round(total_share, 6), "must sum to at most 1")

    _validate_network(cfg.network, n)
    _validate_segments(cfg, channels)
    _validate_regions(cfg, brands, channels)

    w = cfg.wom
    for k in ("talk_rate", "weight", "ad_weight", "ad_tone", "consideration", "purchase",
              "news_weight"):  # fmt: skip
        _prob(f"wom.{k}", w[k])
    _weight("wom.negativity_bias", w.negativity_bias)
    _number("wom.grudge_half_life", w.grudge_half_life, 0.0, MAX_STEPS)
    from agents.rule_names import SERVICE_RULES, WOM_RULES

    _choice("wom.rule", w.rule, WOM_RULES)
    _prob("wom.strong", w.strong)
    _prob("wom.weak", w.weak)
    _number("wom.half_life", w.half_life, 0.0, MAX_STEPS)
    rv = w.reviews
    for k in ("read_rate", "write", "weight"):
        _prob(f"wom.reviews.{k}", rv[k])
    _weight("wom.reviews.extremity", rv.extremity)
    _number("wom.reviews.half_life", rv.half_life, 0.0, MAX_STEPS)
    if rv.read_rate > 0 and rv.channel not in channels:
        _fail("wom.reviews.channel", rv.channel,
              f"reviews are read on a channel: must be one of {', '.join(channels)}")  # fmt: skip
    s = cfg.service
    for k in ("contact_rate", "noise", "recovery_paradox", "failure_experience",
              "complaint_threshold", "complaint_rate", "complaint_contact",
              "wait_friction"):  # fmt: skip
        _prob(f"service.{k}", s[k])
    _choice("service.rule", s.rule, SERVICE_RULES)
    for k in ("handle_rate", "patience", "minutes_per_step", "spend_reference"):
        _number(f"service.{k}", s[k], 1e-6, MAX_AMOUNT)
    _number("service.lag", s.lag, 1.0, MAX_STEPS)
    _number("service.load_window", s.load_window, 1.0, MAX_STEPS)
    _number("service.occupancy", s.occupancy, 0.01, 1.0)
    if s.get("market_people") is not None:
        _number("service.market_people", s.market_people, 1.0, MAX_AMOUNT)
    _weight("service.spend_elasticity", s.spend_elasticity)

    # Events compete within a step: their rates must leave room for "nothing happens".
    nb = len(brands)
    need_key = (
        "market.category.exit_rate"
        if m.category.exit_rate > m.category.entry_rate
        else "market.category.entry_rate"
    )
    parts = {
        "brands.*.ad_reach": total_reach,
        "wom.talk_rate": w.talk_rate,
        "market.journey.usage_rate": m.journey.usage_rate,
        "service.contact_rate": s.contact_rate,
        "service.complaint_contact": s.complaint_contact,
        "market.journey.forget_rate": m.journey.forget_rate * nb,
        "market.category.turnover": m.category.turnover,
        # one of the two per person: entry out of the market, exit in it
        need_key: max(m.category.entry_rate, m.category.exit_rate),
        "wom.reviews.read_rate": w.reviews.read_rate,
    }
    total = sum(parts.values())
    if total > 1.0 + 1e-9:
        top = max(parts, key=parts.get)
        shown = {"brands.*.ad_reach": round(total_reach, 6)}.get(top, _top_value(cfg, top))
        terms = " + ".join(f"{k} {v:.3g}" for k, v in parts.items() if v > 0)
        _fail(top, shown, f"event rates per step sum to {total:.3g} ({terms}): must be at most 1")
    validate_events(cfg, brands, channels, steps)
    _validate_responses(cfg, brands, steps)


def _top_value(cfg: DictConfig, key: str):
    return OmegaConf.select(cfg, key)


MAX_GROUP_SIZE = 10_000
MAX_WEAK_TIES = 1_000


def _validate_network(net: DictConfig, n: int) -> None:
    from sim.engine.network_kinds import KINDS

    kind = _choice("network.kind", net.kind, KINDS)
    _number("network.rewiring", net.rewiring, 0.0, 1.0)
    if net.get("path") is not None and kind != "edgelist":
        warn(f"network.path={net.path}: only network.kind=edgelist reads it; this run does not")
    if kind == "clustered":
        _validate_clustered(net, n)
    if kind == "edgelist":
        _validate_edgelist(net, n)
    if kind in ("complete", "clustered", "edgelist"):
        return
    degree = _number("network.mean_degree", net.mean_degree, 1.0, min(n - 1, 100_000))
    if kind == "watts_strogatz" and n < 3:
        _fail("market.customers", n, "must be at least 3 for a watts_strogatz network")
    if kind in ("watts_strogatz", "barabasi_albert"):
        half = max(1, int(round(degree / 2.0)))
        if kind == "watts_strogatz":
            half = min(half, (n - 1) // 2)
        else:
            half = min(half, n - 1)
        if 2 * half != degree:
            warn(
                f"network.mean_degree={_show(degree)}: a {kind} network adds k/2 ties per "
                f"customer, so its mean degree is {2 * half}"
            )


def _validate_clustered(net: DictConfig, n: int) -> None:
    """Groups of 2..10000; p_in a probability; weak ties that fit outside a group.

    A customer starts up to ceil(weak_ties / 2) weak ties to distinct customers outside
    its group, so weak_ties is at most 2 (N - group_size).
    """
    group = _integer("network.group_size", net.group_size, 2, MAX_GROUP_SIZE)
    _prob("network.p_in", net.p_in)
    room = 2 * max(0, n - min(group, n))
    weak = net.weak_ties
    if room == 0 and isinstance(weak, (int, float)) and weak > 0:
        _fail(
            "network.weak_ties", weak,
            f"must be 0: the {n} customers fit in one group of network.group_size={group}",
        )  # fmt: skip
    _number("network.weak_ties", weak, 0.0, min(MAX_WEAK_TIES, room))


def _validate_edgelist(net: DictConfig, n: int) -> None:
    """The file exists, reads as an edge list, and its customers are market.customers."""
    from sim.engine.edgelist import EdgeListError, summarise

    path = net.get("path")
    if path is None or str(path).strip() == "":
        _fail("network.path", path, "a network=edgelist run needs the CSV or parquet file of ties")
    try:
        summary = summarise(str(path))
    except EdgeListError as exc:
        _fail("network.path", path, str(exc))
    if summary.customers != n:
        _fail(
            "network.path", path,
            f"has {summary.customers} customers (ids 0..{summary.customers - 1}), "
            f"market.customers={n}: set market.customers={summary.customers}",
        )  # fmt: skip


SEGMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
SEGMENT_KEYS = ("share", "traits", "attention", "service")
TRAIT_KEYS = ("dist", "mean", "sd", "alpha", "beta")
SHARE_TOLERANCE = 1e-6  # segment shares must sum to 1 within this


def _named_groups(node, kind: str, most: int, fields: str, reserved: str):
    """The ``groups`` of ``segments`` or ``regions`` (``kind``), their names checked.

    A mapping of at most ``most`` groups whose names are 1-40 letters, digits or _ (starting
    with a letter), unique ignoring case, and not ``reserved`` (the brand totals' label).
    """
    where = f"{kind}s.groups"
    groups = node.get("groups") if node.get("groups") is not None else {}
    if not isinstance(groups, (DictConfig, dict)):
        _fail(where, groups, f"must map {kind} names to {fields}")
    names = list(groups.keys())
    if len(names) > most:
        _fail(where, ", ".join(names), f"must name at most {most} {kind}s")
    seen: dict[str, str] = {}
    for name in names:
        key = f"{where}.{name}"
        if not isinstance(name, str) or not SEGMENT_NAME.fullmatch(name):
            _fail(key, groups[name], f"{kind} name must be 1-40 letters, digits or _, "
                  "starting with a letter")  # fmt: skip
        if name.lower() == reserved:
            _fail(key, groups[name], f"'{reserved}' is reserved for the brand totals")
        if name.lower() in seen:
            _fail(key, groups[name], f"{kind} names must be unique (ignoring case): "
                  f"{seen[name.lower()]} is already one")  # fmt: skip
        seen[name.lower()] = name
    return groups


def _validate_segments(cfg: DictConfig, channels: list[str]) -> None:
    """Segments (``conf/segments/``): names, shares summing to 1, traits, channels, homophily.

    A segment's trait is the market's with the keys it gives replaced
    (``sim.engine.segments.segment_trait``); the result is checked as a trait.
    """
    from sim.engine.segment_spec import (
        ALL_SEGMENTS,
        LOCAL_KINDS,
        MAX_SEGMENTS,
        TRAIT_NAMES,
        segment_trait,
    )  # fmt: skip

    seg = cfg.get("segments")
    if seg is None:
        return
    homophily = _prob("segments.homophily", seg.get("homophily", 0.0))
    groups = _named_groups(seg, "segment", MAX_SEGMENTS, "{share, traits, ...}", ALL_SEGMENTS)
    names = list(groups.keys())
    total = 0.0
    for name in names:
        key = f"segments.groups.{name}"
        g = groups[name]
        if not isinstance(g, DictConfig):
            _fail(key, g, "must be a mapping {share, traits, attention, service}")
        total += _number(f"{key}.share", g.get("share", 1.0), 1e-9, 1.0)
        traits = g.get("traits") if g.get("traits") is not None else {}
        if not isinstance(traits, (DictConfig, dict)):
            _fail(f"{key}.traits", traits, f"must map trait names ({', '.join(TRAIT_NAMES)}) "
                  "to trait keys")  # fmt: skip
        for trait, changes in traits.items():
            tkey = f"{key}.traits.{trait}"
            if trait not in TRAIT_NAMES:
                _fail(tkey, changes, f"unknown trait: must be one of {', '.join(TRAIT_NAMES)}")
            if not isinstance(changes, DictConfig):
                _fail(tkey, changes, f"must map trait keys ({', '.join(TRAIT_KEYS)}) to values")
            for k, v in changes.items():
                if k not in TRAIT_KEYS:
                    _fail(f"{tkey}.{k}", v, f"unknown trait key: must be one of "
                          f"{', '.join(TRAIT_KEYS)}")  # fmt: skip
            merged = segment_trait(cfg.market.traits[trait], changes)
            _trait(tkey, merged, unit=trait != "price_sensitivity")
        for k, v in (g.get("attention") or {}).items():
            if k not in channels:
                _fail(f"{key}.attention.{k}", v,
                      f"unknown channel: must be one of {', '.join(channels)}")  # fmt: skip
            _number(f"{key}.attention.{k}", v, 0.0, MAX_WEIGHT)
        served = _channel_map(f"{key}.service", g.get("service"), channels)
        if g.get("service") and sum(served.values()) <= 0.0:
            _fail(f"{key}.service", g.service, "must give some channel a share above 0")
    if names and abs(total - 1.0) > SHARE_TOLERANCE:
        _fail("segments.groups", ", ".join(f"{k}={_show(groups[k].get('share', 1.0))}"
              for k in names), f"shares must sum to 1 (they sum to {total:.6g})")  # fmt: skip
    kind = str(cfg.network.kind)
    if homophily > 0.0 and len(names) > 1 and kind not in LOCAL_KINDS:
        warn(
            f"segments.homophily={_show(homophily)}: a {kind} network's ties are not local, "
            f"so homophily acts only on {' and '.join(LOCAL_KINDS)}; segments mix at random"
        )


MAX_FACTOR = 100.0  # a region's price or ad factor


def _validate_regions(cfg: DictConfig, brands: list[str], channels: list[str]) -> None:
    """Regions (``conf/regions/``): names, shares summing to 1, brands' terms, homophily."""
    from sim.engine.region_spec import (
        ALL_REGIONS,
        MAX_CELLS,
        MAX_REGIONS,
        REGION_BRAND_KEYS,
        REGION_KEYS,
    )  # fmt: skip
    from sim.engine.segment_spec import LOCAL_KINDS

    reg = cfg.get("regions")
    if reg is None:
        return
    homophily = _prob("regions.homophily", reg.get("homophily", 0.0))
    groups = _named_groups(reg, "region", MAX_REGIONS, "{share, brands}", ALL_REGIONS)
    names = list(groups.keys())
    seg = (cfg.get("segments") or {}).get("groups") or {}
    if max(len(names), 1) * max(len(seg), 1) > MAX_CELLS:
        _fail("regions.groups", ", ".join(names), f"regions x segments must be at most "
              f"{MAX_CELLS} ({len(names)} x {len(seg)})")  # fmt: skip
    total = 0.0
    for name in names:
        key = f"regions.groups.{name}"
        g = groups[name]
        if not isinstance(g, DictConfig):
            _fail(key, g, f"must be a mapping {{{', '.join(REGION_KEYS)}}}")
        for k in g:
            if k not in REGION_KEYS:
                _fail(f"{key}.{k}", g[k], f"unknown key: must be one of {', '.join(REGION_KEYS)}")
        total += _number(f"{key}.share", g.get("share", 1.0), 1e-9, 1.0)
        terms = g.get("brands") if g.get("brands") is not None else {}
        for brand, spec in terms.items():
            bkey = f"{key}.brands.{brand}"
            if brand not in brands:
                _fail(bkey, spec, f"unknown brand: must be one of {', '.join(brands)}")
            if not isinstance(spec, DictConfig):
                _fail(bkey, spec, f"must map {', '.join(REGION_BRAND_KEYS)} to values")
            for k in spec:
                if k not in REGION_BRAND_KEYS:
                    _fail(f"{bkey}.{k}", spec[k], f"unknown key: must be one of "
                          f"{', '.join(REGION_BRAND_KEYS)}")  # fmt: skip
            if spec.get("present", True) not in (True, False):
                _fail(f"{bkey}.present", spec.get("present"), "must be true or false")
            _integer(f"{bkey}.launch_step", spec.get("launch_step", 0) or 0, 0, MAX_STEPS)
            _number(f"{bkey}.price_factor", spec.get("price_factor", 1.0), 1e-6, MAX_FACTOR)
            factors = spec.get("ad_factor") if spec.get("ad_factor") is not None else {}
            if not isinstance(factors, DictConfig):
                _fail(f"{bkey}.ad_factor", factors, f"must map channel names "
                      f"({', '.join(channels)}) to factors")  # fmt: skip
            for c, v in factors.items():
                if c not in channels:
                    _fail(f"{bkey}.ad_factor.{c}", v,
                          f"unknown channel: must be one of {', '.join(channels)}")  # fmt: skip
                _number(f"{bkey}.ad_factor.{c}", v, 0.0, MAX_FACTOR)
    if names and abs(total - 1.0) > SHARE_TOLERANCE:
        _fail("regions.groups", ", ".join(f"{k}={_show(groups[k].get('share', 1.0))}"
              for k in names), f"shares must sum to 1 (they sum to {total:.6g})")  # fmt: skip
    kind = str(cfg.network.kind)
    if homophily > 0.0 and len(names) > 1 and kind not in LOCAL_KINDS:
        warn(
            f"regions.homophily={_show(homophily)}: a {kind} network's ties are not local, "
            f"so homophily acts only on {' and '.join(LOCAL_KINDS)}; regions mix at random"
        )


def region_names(cfg) -> list[str]:
    """The config's region names (the one default region's when it names none)."""
    from sim.engine.region_spec import DEFAULT_REGION

    reg = cfg.get("regions")
    groups = reg.get("groups") if reg is not None else None
    return list(groups.keys()) if groups else [DEFAULT_REGION]


def segment_names(cfg) -> list[str]:
    """The config's segment names (the one default segment's when it names none)."""
    from sim.engine.segment_spec import DEFAULT_NAME

    seg = cfg.get("segments")
    groups = seg.get("groups") if seg is not None else None
    return list(groups.keys()) if groups else [DEFAULT_NAME]


def _region_of(cfg, key: str, region) -> None:
    """An event's or a policy's ``region``: one of the config's regions."""
    if region is None:
        return
    names = region_names(cfg)
    if region not in names:
        _fail(f"{key}.region", region, f"unknown region: must be one of {', '.join(names)}")


def validate_events(cfg, brands: list[str], channels: list[str], steps: int) -> None:
    """Check the scenario's events before any work.

    Known kinds with their own fields only, in range; existing brands and channels; a
    window that starts inside the run (one that starts after the end warns that it never
    happens; an end past the run is clipped to it).
    """
    from scenarios.events import CHANNEL_EVENTS, EVENT_FIELDS, EVENT_KINDS

    all_fields = {f for fields in EVENT_FIELDS.values() for f in fields}
    for k, ev in enumerate(cfg.scenario.get("events") or []):
        key = f"scenario.events[{k}]"
        kind = ev.get("kind")
        if kind not in EVENT_FIELDS:
            _fail(f"{key}.kind", kind, f"must be one of {', '.join(EVENT_KINDS)}")
        brand = ev.get("brand")
        if brand is None:
            _fail(f"{key}.brand", None, f"a {kind} event needs a brand")
        if brand not in brands:
            _fail(f"{key}.brand", brand, f"must be one of {', '.join(brands)}")
        own = EVENT_FIELDS[kind]
        for name in sorted(all_fields - set(own)):
            if ev.get(name) is not None:
                fields = ", ".join(own) or "none"
                _fail(f"{key}.{name}", ev.get(name), f"not a field of a {kind} event ({fields})")
        for name, (required, lo, hi) in own.items():
            value = ev.get(name)
            if value is None:
                if required:
                    _fail(f"{key}.{name}", None, f"a {kind} event needs it")
                continue
            _number(f"{key}.{name}", value, lo, hi)
        names = ev.get("channels")
        if names is not None:
            if kind not in CHANNEL_EVENTS:
                _fail(f"{key}.channels", names, f"not a field of a {kind} event")
            if len(names) == 0:
                _fail(f"{key}.channels", "[]", "must name at least one channel (or be left out)")
            for c in names:
                if c not in channels:
                    _fail(f"{key}.channels", c, f"must be one of {', '.join(channels)}")
        _event_segment(cfg, key, kind, ev.get("segment"))
        if kind == "new_entrant" and ev.get("region") is not None:
            _fail(f"{key}.region", ev.get("region"), "a new_entrant event launches the brand "
                  "everywhere: give a region's own launch in regions.groups.<region>.brands."
                  f"{brand}.launch_step")  # fmt: skip
        _region_of(cfg, key, ev.get("region"))
        start = _integer(f"{key}.start", ev.get("start", 0) or 0, 0, MAX_STEPS)
        end = ev.get("end")
        if end is not None:
            _integer(f"{key}.end", end, start + 1, MAX_STEPS + 1)
        if start > steps:
            warn(f"{key}: starts at step {start}, after the run's last step {steps}: never happens")


def _event_segment(cfg, key: str, kind: str, segment) -> None:
    """An event's ``segment``: one of the config's segments, on a kind that can target one."""
    from scenarios.events import SEGMENT_EVENTS

    if segment is None:
        return
    if kind not in SEGMENT_EVENTS:
        _fail(f"{key}.segment", segment, f"a {kind} event cannot target a segment (only "
              f"{', '.join(SEGMENT_EVENTS)} can)")  # fmt: skip
    names = segment_names(cfg)
    if segment not in names:
        _fail(f"{key}.segment", segment, f"must be one of {', '.join(names)}")


def _validate_responses(cfg: DictConfig, brands: list[str], steps: int) -> None:
    from scenarios.responses import RESPONSE_KINDS

    for b in brands:
        for k, policy in enumerate(cfg.brands[b].get("responses") or []):
            key = f"brands.{b}.responses[{k}]"
            _choice(f"{key}.kind", policy.kind, RESPONSE_KINDS)
            for rival in policy.get("rivals") or []:
                others = [x for x in brands if x != b]
                if rival not in others:
                    _fail(f"{key}.rivals", rival, f"must be one of {', '.join(others)}")
            lag = _integer(f"{key}.lag", policy.lag, 1, MAX_STEPS)
            if policy.kind == "match_price" and lag > steps:
                warn(f"{key}.lag={lag}: longer than the run ({steps} steps): it never responds")
            _prob(f"{key}.share_below", policy.share_below)
            _number(f"{key}.multiplier", policy.multiplier, 0.0, 100.0)
            _number(f"{key}.nps_below", policy.nps_below, -100.0, 100.0)
            _prob(f"{key}.quality_step", policy.quality_step)
            _prob(f"{key}.max_quality", policy.max_quality)
            _number(f"{key}.cost", policy.cost, 0.0, MAX_AMOUNT)
            _region_of(cfg, key, policy.get("region"))
