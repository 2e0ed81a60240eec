"""Structure-of-arrays state: customer columns, brand and channel tables, built from config.

Customers are columns (one numpy array per state variable, ``float32`` and small
integers to keep a customer under 100 bytes); brands and channels are small
float64 tables indexed by the constants in ``sim.engine.params``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from omegaconf import DictConfig

from agents import rules
from sim.engine import params as P
from sim.engine.rng import STREAM_INIT

MAX_BRANDS = 8  # awareness and consideration are 8-bit masks


@dataclass
class Market:
    """Brand and channel tables: the baseline parameters scenarios modify per step."""

    brand_names: list[str]
    channel_names: list[str]
    launch_step: np.ndarray  # int64 [B]
    brand_params: np.ndarray  # float64 [B, N_BRAND_PARAMS]
    ad_reach: np.ndarray  # float64 [B, C]
    service_quality: np.ndarray  # float64 [B, C]
    resolution: np.ndarray  # float64 [B, C]
    friction: np.ndarray  # float64 [B, C]
    channel_roles: np.ndarray  # float64 [C, N_ROLES]
    globals: P.Globals  # market-wide rule parameters
    discount_rate: float

    @property
    def global_values(self) -> np.ndarray:
        """The market-wide parameters as the float64 array the kernels take."""
        return np.array(self.globals, dtype=np.float64)

    @property
    def n_brands(self) -> int:
        """Number of brands (including those not launched yet)."""
        return len(self.brand_names)

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channel_names)


@dataclass
class Customers:
    """Customer state as columns; row i is customer i."""

    stage: np.ndarray  # int8: journey stage (agents.rules.UNAWARE ... LAPSED)
    brand: np.ndarray  # int8: current brand, -1 if none
    last_brand: np.ndarray  # int8: brand last left, -1 if none
    aware: np.ndarray  # uint8 bit mask of brands known
    consider: np.ndarray  # uint8 bit mask of the consideration set
    attitude: np.ndarray  # float32 [N, B]
    satisfaction: np.ndarray  # float32: cumulative satisfaction with the current (last) brand
    expectation: np.ndarray  # float32: expected experience quality
    tenure: np.ndarray  # uint16: steps with the current brand (saturating)
    price_sensitivity: np.ndarray  # float32 trait
    wom_activity: np.ndarray  # float32 trait, 0-1
    churn_propensity: np.ndarray  # float32 trait: baseline churn probability per step
    wom_threshold: np.ndarray  # float32 trait: share of neighbours a view needs (threshold rule)
    channel: np.ndarray  # uint8: channel the customer buys and asks for service on
    flags: np.ndarray  # uint8 bits: in the market (has the need), complaint pending
    grudge: np.ndarray  # uint8: steps since leaving a brand it still warns about + 1 (0 none)
    last_touch: np.ndarray  # uint16: code of the last ad, news or word of mouth met
    voice: np.ndarray  # uint16: what the customer says (low byte, see encode_voice) and its age
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of customers."""
        return int(self.stage.size)

    @property
    def nbytes(self) -> int:
        """Memory held by the columns."""
        cols = (
            self.stage, self.brand, self.last_brand, self.aware, self.consider, self.attitude,
            self.satisfaction, self.expectation, self.tenure, self.price_sensitivity,
            self.wom_activity, self.churn_propensity, self.wom_threshold, self.channel, self.flags,
            self.grudge, self.last_touch, self.voice,
        )  # fmt: skip
        return int(sum(c.nbytes for c in cols))


def _per_channel(mapping, channel_names: list[str], default: float = 0.0) -> np.ndarray:
    """A per-channel map from config (missing channels get ``default``) as an array."""
    out = np.full(len(channel_names), default, dtype=np.float64)
    if mapping is None:
        return out
    for c, name in enumerate(channel_names):
        if name in mapping and mapping[name] is not None:
            out[c] = float(mapping[name])
    return out


def build_market(cfg: DictConfig) -> Market:
    """Brand and channel tables from the composed config."""
    channel_names = list(cfg.channels.keys())
    brand_names = list(cfg.brands.keys())
    nb, nc = len(brand_names), len(channel_names)
    bp = np.zeros((nb, P.N_BRAND_PARAMS))
    reach = np.zeros((nb, nc))
    sq = np.zeros((nb, nc))
    fcr = np.zeros((nb, nc))
    fric = np.zeros((nb, nc))
    launch = np.zeros(nb, dtype=np.int64)
    for b, name in enumerate(brand_names):
        br = cfg.brands[name]
        bp[b, P.B_PRICE] = br.price
        bp[b, P.B_MARGIN] = br.margin
        bp[b, P.B_PRODUCT_QUALITY] = br.product_quality
        bp[b, P.B_EQUITY] = br.equity
        bp[b, P.B_ACTIVE] = 1.0
        bp[b, P.B_CHURN_MULT] = 1.0
        bp[b, P.B_SPEND_MULT] = 1.0
        launch[b] = int(br.get("launch_step", 0))
        reach[b] = _per_channel(br.ad_reach, channel_names)
        sq[b] = _per_channel(br.service_quality, channel_names)
        fcr[b] = _per_channel(br.first_contact_resolution, channel_names)
        fric[b] = _per_channel(br.friction, channel_names)
    from scenarios.events import launch_steps

    launch = launch_steps(cfg.scenario.get("events"), brand_names, launch)
    roles = np.zeros((nc, P.N_ROLES))
    for c, name in enumerate(channel_names):
        ch = cfg.channels[name]
        roles[c, P.R_AWARENESS] = ch.awareness
        roles[c, P.R_CONSIDERATION] = ch.consideration
        roles[c, P.R_PURCHASE] = ch.purchase
        roles[c, P.R_SERVICE] = ch.service_share
        roles[c, P.R_COST] = ch.cost
        roles[c, P.R_SERVICE_COST] = ch.service_cost
    return Market(
        brand_names=brand_names,
        channel_names=channel_names,
        launch_step=launch,
        brand_params=bp,
        ad_reach=reach,
        service_quality=sq,
        resolution=fcr,
        friction=fric,
        channel_roles=roles,
        globals=build_globals(cfg),
        discount_rate=float(cfg.finance.discount_rate),
    )


def build_globals(cfg: DictConfig) -> P.Globals:
    """The market-wide rule parameters from the config (see ``sim.engine.params.Globals``)."""
    m, w, s = cfg.market, cfg.wom, cfg.service
    return P.Globals(
        n=int(m.customers),
        ad_weight=float(w.ad_weight),
        ad_tone=float(w.ad_tone),
        talk_rate=float(w.talk_rate),
        wom_weight=float(w.weight),
        wom_negativity=float(w.negativity_bias),
        wom_consider=float(w.consideration),
        wom_purchase=float(w.purchase),
        news_weight=float(w.news_weight),
        grudge_half_life=float(w.grudge_half_life),
        wom_rule=float(rules.WOM_RULES.index(str(w.rule))),
        wom_strong=float(w.strong),
        wom_weak=float(w.weak),
        message_half_life=float(w.half_life),
        review_read=float(w.reviews.read_rate),
        review_write=float(w.reviews.write),
        review_extremity=float(w.reviews.extremity),
        review_weight=float(w.reviews.weight),
        review_channel=float(channel_index(cfg, w.reviews.channel)),
        usage_rate=float(m.journey.usage_rate),
        contact_rate=float(s.contact_rate),
        complaint_contact=float(s.complaint_contact),
        complaint_threshold=float(s.complaint_threshold),
        complaint_rate=float(s.complaint_rate),
        noise=float(s.noise),
        met_level=float(m.satisfaction.met_level),
        eval_sensitivity=float(m.satisfaction.sensitivity),
        sat_weight=float(m.satisfaction.weight),
        sat_negativity=float(m.satisfaction.negativity_bias),
        forgiveness=float(m.satisfaction.forgiveness),
        expectation_rate=float(m.satisfaction.expectation_rate),
        recovery_paradox=float(s.recovery_paradox),
        failure_experience=float(s.failure_experience),
        shock_threshold=float(m.churn.shock_threshold),
        shock_switch=float(m.churn.shock_switch),
        churn_sensitivity=float(m.churn.sensitivity),
        churn_reference=float(m.churn.reference),
        churn_bound=float(
            rules.churn_hazard_bound(1.0, m.churn.sensitivity, m.churn.reference, 1.0)
        ),
        need_rate=float(m.journey.need_rate),
        consider_threshold=float(m.journey.consider_threshold),
        forget_rate=float(m.journey.forget_rate),
        entry_rate=float(m.category.entry_rate),
        exit_rate=float(m.category.exit_rate),
        turnover=float(m.category.turnover),
        attention=float(m.category.attention),
        beta_attitude=float(m.choice.beta_attitude),
        beta_price=float(m.choice.beta_price),
        beta_friction=float(m.choice.beta_friction),
        inertia=float(m.choice.inertia),
        recommend_weight=float(m.recommend.satisfaction_weight),
        steps_per_year=float(cfg.sim.steps_per_year),
        tenure_uplift=float(m.spend.tenure_uplift),
        tenure_cap=float(m.spend.cap_years),
    )


def channel_index(cfg: DictConfig, name) -> int:
    """Position of a channel in ``channels`` (-1 when it is not there or not named)."""
    names = list(cfg.channels.keys())
    return names.index(name) if name in names else -1


def draw_trait(spec, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw a per-customer trait from its spec (beta, lognormal or constant) as float32.

    beta: Beta(alpha, beta) when both are given, else moment-matched to (mean, sd);
    lognormal: with the given mean and sd; sd = 0 (or dist constant) gives the mean for all.
    """
    dist = spec.get("dist", "beta")
    mean = float(spec.get("mean", 0.0) or 0.0)
    sd = float(spec.get("sd", 0.0) or 0.0)
    a, b = spec.get("alpha"), spec.get("beta")
    if dist == "beta" and a is not None and b is not None:
        return rng.beta(float(a), float(b), size=n).astype(np.float32)
    if dist == "constant" or sd == 0.0:
        return np.full(n, mean, dtype=np.float32)
    if dist == "beta":
        common = mean * (1.0 - mean) / (sd * sd) - 1.0
        return rng.beta(mean * common, (1.0 - mean) * common, size=n).astype(np.float32)
    if dist == "lognormal":
        s2 = np.log1p((sd / mean) ** 2)
        return rng.lognormal(np.log(mean) - s2 / 2.0, np.sqrt(s2), size=n).astype(np.float32)
    raise ValueError(f"unknown trait distribution {dist!r}")


def encode_voice(brand: int, kind: int, age: int = 0) -> int:
    """Voice of a customer, as the kernels store it.

    0 is silence, else code 1 + 3 b + kind (``kind`` about brand b) in the low byte and the
    message's age in steps (saturating at 255) in the high byte.
    """
    return (1 + 3 * brand + kind) | (min(age, 255) << 8)


def build_customers(cfg: DictConfig, market: Market, seed: int) -> Customers:
    """Initial customers: traits, current brands, awareness, consideration and attitudes."""
    n = int(cfg.market.customers)
    nb = market.n_brands
    rng = np.random.default_rng([int(seed), STREAM_INIT])
    traits = cfg.market.traits
    price_sens = draw_trait(traits.price_sensitivity, n, rng)
    activity = np.clip(draw_trait(traits.wom_activity, n, rng), 0.0, 1.0)
    expectation = np.clip(draw_trait(traits.expectation, n, rng), 0.0, 1.0)
    churn_prop = np.clip(draw_trait(traits.churn_propensity, n, rng), 0.0, 1.0)

    launched = market.launch_step <= 0
    shares = np.array([cfg.brands[b].initial_share for b in market.brand_names]) * launched
    cum = np.cumsum(shares)
    u = rng.random(n)
    brand = np.searchsorted(cum, u, side="right").astype(np.int64)
    brand[brand >= nb] = -1

    # Per-brand draws come from per-brand streams, so adding a brand (a new entrant)
    # leaves every other draw unchanged: common random numbers across scenarios.
    threshold = market.globals.consider_threshold
    equity = market.brand_params[:, P.B_EQUITY]
    attitude = np.empty((n, nb), dtype=np.float32)
    aware = np.zeros(n, dtype=np.uint8)
    consider = np.zeros(n, dtype=np.uint8)
    # Out of the market at steady state: exit / (entry + exit) of everyone, all of them
    # non-customers (customers have the need). Most people out of the market had the need
    # before and were customers then: lapsed, with a last brand drawn by the initial shares.
    need_rng = np.random.default_rng([int(seed), STREAM_INIT, 2000])
    is_customer = brand >= 0
    served = float(is_customer.mean())
    out_share = min(1.0, (1.0 - in_market_share(market)) / max(1.0 - served, 1e-12))
    in_market = is_customer | (need_rng.random(n) >= out_share)
    was_customer = ~in_market & (need_rng.random(n) < served)
    by_share = cum / cum[-1] if cum.size and cum[-1] > 0 else np.ones(nb)
    drawn = np.minimum(np.searchsorted(by_share, need_rng.random(n), side="right"), nb - 1)
    last_brand = np.where(was_customer, drawn, -1)
    init_aware = np.array([cfg.brands[b].initial_awareness for b in market.brand_names])
    for b in range(nb):
        brand_rng = np.random.default_rng([int(seed), STREAM_INIT, 1000 + b])
        attitude[:, b] = np.clip(equity[b] + 0.1 * brand_rng.standard_normal(n), 0.0, 1.0)
        if not launched[b]:
            continue
        bit = np.uint8(1 << b)
        is_aware = (brand_rng.random(n) < init_aware[b]) | (brand == b) | (last_brand == b)
        aware[is_aware] |= bit
        likes = attitude[:, b] >= threshold
        considers = is_aware & likes & (brand_rng.random(n) < cfg.market.initial_consideration)
        considers &= in_market
        considers |= brand == b
        consider[considers] |= bit

    satisfaction = np.full(n, cfg.market.initial_satisfaction, dtype=np.float32)
    noise = 0.05 * rng.standard_normal(int(is_customer.sum()))
    satisfaction[is_customer] = np.clip(satisfaction[is_customer] + noise, 0.0, 1.0)
    # Tenure of a market at steady state under a constant churn hazard: geometric, here
    # exponential with the given mean (in years), rounded down to whole steps.
    mean_tenure = float(cfg.market.initial_tenure_years) * float(cfg.sim.steps_per_year)
    tenure = np.zeros(n, dtype=np.uint16)
    drawn = rng.exponential(max(mean_tenure, 1e-12), int(is_customer.sum()))
    tenure[is_customer] = np.floor(np.minimum(drawn, 65535.0)) if mean_tenure > 0 else 0

    service_share = market.channel_roles[:, P.R_SERVICE]
    if service_share.sum() > 0:
        cum_c = np.cumsum(service_share / service_share.sum())
        channel = np.minimum(np.searchsorted(cum_c, rng.random(n), side="right"), len(cum_c) - 1)
    else:
        channel = np.zeros(n, dtype=np.int64)

    stage = np.select(
        [is_customer, consider != 0, last_brand >= 0, aware != 0],
        [rules.CUSTOMER, rules.CONSIDERING, rules.LAPSED, rules.AWARE],
        rules.UNAWARE,
    )
    voice = np.zeros(n, dtype=np.uint16)  # filled by the initial record pass (sim.engine.kernels)
    return Customers(
        stage=stage.astype(np.int8),
        brand=brand.astype(np.int8),
        last_brand=last_brand.astype(np.int8),
        aware=aware,
        consider=consider,
        attitude=attitude.astype(np.float32),
        satisfaction=satisfaction,
        expectation=expectation.astype(np.float32),
        tenure=tenure,
        price_sensitivity=price_sens,
        wom_activity=activity.astype(np.float32),
        churn_propensity=churn_prop.astype(np.float32),
        wom_threshold=draw_wom_threshold(traits, n, seed),
        channel=channel.astype(np.uint8),
        flags=np.where(in_market, 1, 0).astype(np.uint8),  # sim.engine.kernels.IN_MARKET
        grudge=np.zeros(n, dtype=np.uint8),
        last_touch=np.zeros(n, dtype=np.uint16),
        voice=voice,
    )


def draw_wom_threshold(traits, n: int, seed: int) -> np.ndarray:
    """The threshold trait (share of neighbours a view needs), from its own stream, in [0, 1].

    Its own generator keeps every other initial draw as it was without it.
    """
    rng = np.random.default_rng([int(seed), STREAM_INIT, 4000])
    return np.clip(draw_trait(traits.wom_threshold, n, rng), 0.0, 1.0).astype(np.float32)


def in_market_share(market: Market) -> float:
    """Steady-state share of everyone with a need for the category.

    entry / (entry + exit + turnover): people leave the market when their need ends or they
    leave the population (newcomers start without the need), and return at the entry rate
    (1 when all three rates are 0).
    """
    g = market.globals
    total = g.entry_rate + g.exit_rate + g.turnover
    return 1.0 if total <= 0 else g.entry_rate / total
