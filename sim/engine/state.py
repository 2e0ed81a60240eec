"""Structure-of-arrays state: customer columns, brand and channel tables, built from config.

Customers are columns (one numpy array per state variable, ``float32`` and small
integers to keep a customer under 100 bytes); brands and channels are small
float64 tables indexed by the constants in ``sim.engine.params``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from omegaconf import DictConfig

from agents import rules
from sim.engine import params as P
from sim.engine.cells import sort_by_cell
from sim.engine.jit import njit, prange
from sim.engine.regions import Regions, build_regions, draw_regions
from sim.engine.rng import STREAM_INIT, customer_key, stream_key, uniform
from sim.engine.segments import TRAIT_NAMES, Segments, build_segments, draw_segments

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
    segments: Segments  # per-segment tables
    regions: Regions  # per-region tables

    @property
    def n_segments(self) -> int:
        """Number of segments of the population (1 by default)."""
        return self.segments.n_segments

    @property
    def n_regions(self) -> int:
        """Number of regions of the market (1 by default)."""
        return self.regions.n_regions

    @property
    def n_cells(self) -> int:
        """Number of (region, segment) cells: cell k = region x segments + segment."""
        return self.regions.n_regions * self.segments.n_segments

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
    disposition: np.ndarray  # float32 trait: own evaluation of a met expectation minus met_level
    channel: np.ndarray  # uint8: channel the customer buys and asks for service on
    flags: np.ndarray  # uint8 bits: in the market (has the need), complaint pending
    grudge: np.ndarray  # uint8: steps since leaving a brand it still warns about + 1 (0 none)
    last_touch: np.ndarray  # uint16: code of the last ad, news or word of mouth met
    voice: np.ndarray  # uint16: what the customer says (low byte, see encode_voice) and its age
    segment: np.ndarray  # uint8: segment (sim.engine.segments), 0 when there is one
    region: np.ndarray  # uint8: region (sim.engine.regions), 0 when there is one
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
            self.wom_activity, self.churn_propensity, self.wom_threshold, self.disposition,
            self.channel, self.flags, self.grudge, self.last_touch, self.voice, self.segment,
            self.region,
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
        bp[b, P.B_REF_PRICE] = br.price
        bp[b, P.B_ACQUISITION_COST] = br.get("acquisition_cost", 0.0) or 0.0
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
        segments=build_segments(cfg, channel_names, roles[:, P.R_SERVICE]),
        regions=build_regions(cfg, brand_names, channel_names, launch),
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
        price_reevaluation=float(m.churn.price_reevaluation),
        alternatives_weight=float(m.churn.alternatives_weight),
        alternatives_reference=float(m.churn.alternatives_reference),
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


# Draw families of the initialisation: each is its own counter-based stream under
# STREAM_INIT, keyed stream_key(seed, family, STREAM_INIT), then by customer and draw slot.
# Family 0 is the step-0 record pass's (sim.engine.model), so the initial draws start at 1.
_FAMILY_BRAND = 1  # slot 0: current brand
_FAMILY_SATISFACTION = 2  # slot 0: a normal
_FAMILY_TENURE = 3  # slot 0: exponential
_FAMILY_CHANNEL = 4  # slot 0: channel
_FAMILY_DISPOSITION = 5  # slot 0: a normal
# 6: the segment (sim.engine.segments.FAMILY_SEGMENT): slots 0, 1, 2
_FAMILY_TRAIT = 10  # + k for trait k: slot 0 (a table), or as many as rejection needs
_FAMILY_BRAND_OWN = 1000  # + b for brand b: attitude normal 0, awareness 1, consideration 2
_FAMILY_NEED = 2000  # slots 0, 1, 2: in the market, lapsed, last brand

_TRAIT_CONSTANT, _TRAIT_BETA, _TRAIT_LOGNORMAL, _TRAIT_TABLE = 0, 1, 2, 3

# Quantile tables of Beta traits, sampled by inversion: Q(j / 2^16) for j = 0..2^16 (the
# body, linear between), then Q(p) and Q(1 - p) for p = 2^-t, t = 10, 10.125, ..., 54
# (the tails, linear in t). The sampled CDF is then within 4e-6 of the exact one (max over
# x, for the default traits), far below what 2e9 draws can detect (1.36 / sqrt(2e9) = 3e-5).
_CELLS = 1 << 16
_TAIL_FROM, _TAIL_TO, _TAIL_STEPS = 10, 54, 8
_TAIL_POINTS = (_TAIL_TO - _TAIL_FROM) * _TAIL_STEPS + 1
_TABLE_SIZE = _CELLS + 1 + 2 * _TAIL_POINTS
_TABLE_TOLERANCE = 1e-9  # largest |F(Q(u)) - u| accepted from scipy's inversion
_LN2 = math.log(2.0)


@functools.lru_cache(maxsize=32)
def _beta_quantiles(a: float, b: float) -> np.ndarray | None:
    """Quantile table of Beta(a, b), or None where scipy cannot invert the CDF to 1e-9.

    Layout: the 2^16 + 1 body quantiles, then the lower and the upper tail points. The
    upper tail is 1 - Q_(b, a)(p), exact where 1 - p would round.
    """
    from scipy.special import betainc, betaincinv

    u = np.arange(_CELLS + 1) / _CELLS
    p = 2.0 ** -(_TAIL_FROM + np.arange(_TAIL_POINTS) / _TAIL_STEPS)
    with np.errstate(all="ignore"):
        body = betaincinv(a, b, u)
        lower = betaincinv(a, b, p)
        upper_complement = betaincinv(b, a, p)
        table = np.concatenate([body, lower, 1.0 - upper_complement])
        errors = np.concatenate([
            np.abs(betainc(a, b, body) - u),
            np.abs(betainc(a, b, lower) - p),
            np.abs(betainc(b, a, upper_complement) - p),
        ])  # fmt: skip
    ordered = np.all(np.diff(body) >= 0) and np.all(np.diff(lower) <= 0)
    ordered = ordered and np.all(np.diff(upper_complement) <= 0)
    if not (np.all(np.isfinite(table)) and ordered and np.nanmax(errors) <= _TABLE_TOLERANCE):
        return None
    return table


def _trait_spec(spec) -> tuple[int, float, float, np.ndarray | None]:
    """(kind, p1, p2, quantile table) of a trait spec, by the rules of ``draw_trait``.

    Beta(alpha, beta) when both are given; the mean for all when ``dist: constant`` or
    sd = 0; beta moment matched, k = m (1 - m) / sd^2 - 1, Beta(m k, (1 - m) k); lognormal
    with sigma^2 = ln(1 + (sd / m)^2), mu = ln m - sigma^2 / 2. A Beta is drawn from its
    quantile table where scipy inverts its CDF accurately, else by rejection.
    """
    dist = spec.get("dist", "beta")
    mean = float(spec.get("mean", 0.0) or 0.0)
    sd = float(spec.get("sd", 0.0) or 0.0)
    a, b = spec.get("alpha"), spec.get("beta")
    if dist == "beta" and a is not None and b is not None:
        return _beta_spec(float(a), float(b))
    if dist == "constant" or sd == 0.0:
        return _TRAIT_CONSTANT, mean, 0.0, None
    if dist == "beta":
        common = mean * (1.0 - mean) / (sd * sd) - 1.0
        return _beta_spec(mean * common, (1.0 - mean) * common)
    if dist == "lognormal":
        s2 = float(np.log1p((sd / mean) ** 2))
        return _TRAIT_LOGNORMAL, float(np.log(mean)) - s2 / 2.0, float(np.sqrt(s2)), None
    raise ValueError(f"unknown trait distribution {dist!r}")


def _beta_spec(a: float, b: float) -> tuple[int, float, float, np.ndarray | None]:
    table = _beta_quantiles(a, b)
    return (_TRAIT_BETA if table is None else _TRAIT_TABLE), a, b, table


@njit(cache=True, inline="always", error_model="numpy")
def _open_uniform(ck: np.uint64, slot: int) -> float:
    """A uniform in (0, 1): the draw of ``slot`` moved half a step off 0."""
    return uniform(ck, slot) + 0.5 / 9007199254740992.0


# Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9):
# central region |u - 0.5| <= 0.47575, tails in sqrt(-2 ln u).
_NA = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
       1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_NB = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
       6.680131188771972e01, -1.328068155288572e01)  # fmt: skip
_NC = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
       -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_ND = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
       3.754408661907416e00)  # fmt: skip
_TAIL = 0.02425


@njit(cache=True, inline="always", error_model="numpy")
def _normal_tail(u: float) -> float:
    q = math.sqrt(-2.0 * math.log(u))
    top = ((((_NC[0] * q + _NC[1]) * q + _NC[2]) * q + _NC[3]) * q + _NC[4]) * q + _NC[5]
    return top / ((((_ND[0] * q + _ND[1]) * q + _ND[2]) * q + _ND[3]) * q + 1.0)


@njit(cache=True, error_model="numpy")
def _normal(ck: np.uint64, slot: int) -> float:
    """Standard normal from the draw of ``slot``, by inversion (one uniform per normal).

    Acklam's approximation of the inverse CDF: a rational function of u - 1/2 in the
    centre, of sqrt(-2 ln u) in the tails (only those need a logarithm).
    """
    u = _open_uniform(ck, slot)
    if u < _TAIL:
        return _normal_tail(u)
    if u > 1.0 - _TAIL:
        return -_normal_tail(1.0 - u)
    q = u - 0.5
    r = q * q
    top = ((((_NA[0] * r + _NA[1]) * r + _NA[2]) * r + _NA[3]) * r + _NA[4]) * r + _NA[5]
    return top * q / (((((_NB[0] * r + _NB[1]) * r + _NB[2]) * r + _NB[3]) * r + _NB[4]) * r + 1.0)


@njit(cache=True, error_model="numpy")
def _gamma_variate(ck: np.uint64, slot: int, shape: float) -> tuple[float, int]:
    """Gamma(shape, 1) from draws ``slot``, ``slot + 1``, ...; returns it and the next slot.

    Marsaglia and Tsang (2000): d = a - 1/3, c = 1 / sqrt(9 d); for a normal x and a
    uniform u (two slots per attempt), v = (1 + c x)^3 is accepted when v > 0 and
    u < 1 - 0.0331 x^4 or ln u < x^2 / 2 + d (1 - v + ln v); the variate is d v. For a < 1,
    Gamma(a) = Gamma(a + 1) U^(1/a) (one more slot, first).
    """
    boost = 1.0
    if shape < 1.0:
        boost = math.exp(math.log(_open_uniform(ck, slot)) / shape)
        slot += 1
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _normal(ck, slot)
        u = _open_uniform(ck, slot + 1)
        slot += 2
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v * boost, slot


@njit(cache=True, error_model="numpy")
def _beta_variate(ck: np.uint64, p: float, q: float) -> float:
    """Beta(p, q) = X / (X + Y), X ~ Gamma(p) and then Y ~ Gamma(q) from the same slots."""
    x, slot = _gamma_variate(ck, 0, p)
    y, _ = _gamma_variate(ck, slot, q)
    return x / (x + y)


@njit(cache=True, error_model="numpy")
def _from_quantiles(table: np.ndarray, ck: np.uint64) -> float:
    """Inversion of a quantile table (``_beta_quantiles``) at the uniform of slot 0.

    The body: linear between Q(j / 2^16) and Q((j + 1) / 2^16). The tails, u or 1 - u
    below 2^-10: linear in t = -log2 of that probability, between the tail points.
    """
    u = uniform(ck, 0)
    v = u * _CELLS
    j = int(v)
    edge = _CELLS >> _TAIL_FROM
    if edge <= j < _CELLS - edge:
        return table[j] + (v - j) * (table[j + 1] - table[j])
    if j < edge:
        p = u + 0.5 / 9007199254740992.0
        base = _CELLS + 1
    else:
        p = 1.0 - u
        base = _CELLS + 1 + _TAIL_POINTS
    s = (-math.log(p) / _LN2 - _TAIL_FROM) * _TAIL_STEPS
    k = int(s)
    if k >= _TAIL_POINTS - 1:
        return table[base + _TAIL_POINTS - 1]
    return table[base + k] + (s - k) * (table[base + k + 1] - table[base + k])


@njit(cache=True, inline="always", error_model="numpy")
def _trait_value(
    kind: int, p1: float, p2: float, table: np.ndarray, ck: np.uint64, clip: bool
) -> np.float32:
    if kind == _TRAIT_CONSTANT:
        x = p1
    elif kind == _TRAIT_LOGNORMAL:
        x = math.exp(p1 + p2 * _normal(ck, 0))
    elif kind == _TRAIT_TABLE:
        x = _from_quantiles(table, ck)
    else:
        x = _beta_variate(ck, p1, p2)
    if clip:
        x = min(max(x, 0.0), 1.0)
    return np.float32(x)


@njit(cache=True, inline="always", error_model="numpy")
def _pick(cum: np.ndarray, u: float) -> int:
    """Index of the first cumulated weight above u (searchsorted, side right)."""
    k = 0
    while k < cum.size and cum[k] <= u:
        k += 1
    return k


@njit(parallel=True, cache=True, error_model="numpy")
def _draw_brands(key: np.uint64, cum: np.ndarray, region: np.ndarray, brand: np.ndarray) -> None:
    """Current brand: b with probability initial_share_b (cumulated), none (-1) otherwise.

    ``cum[r]`` is region r's cumulated shares (a brand absent from r at step 0 has share 0).
    """
    nb = cum.shape[1]
    for i in prange(brand.size):
        b = _pick(cum[region[i]], uniform(customer_key(key, i), 0))
        brand[i] = b if b < nb else -1


@njit(parallel=True, cache=True, error_model="numpy")
def _draw_customers(
    keys: np.ndarray,
    segment: np.ndarray,
    region: np.ndarray,
    trait_keys: np.ndarray,
    brand_keys: np.ndarray,
    trait_specs: np.ndarray,
    trait_tables: np.ndarray,
    table_of: np.ndarray,
    trait_clip: np.ndarray,
    out_share: float,
    served: float,
    by_share: np.ndarray,
    launched: np.ndarray,
    equity: np.ndarray,
    init_aware: np.ndarray,
    init_consider: float,
    threshold: float,
    init_satisfaction: float,
    brand_expectation: np.ndarray,
    disposition_sd: float,
    mean_tenure: float,
    cum_channel: np.ndarray,
    brand: np.ndarray,
    traits: np.ndarray,
    last_brand: np.ndarray,
    aware: np.ndarray,
    consider: np.ndarray,
    attitude: np.ndarray,
    satisfaction: np.ndarray,
    disposition: np.ndarray,
    tenure: np.ndarray,
    channel: np.ndarray,
    flags: np.ndarray,
    stage: np.ndarray,
) -> None:
    """Every initial draw of every customer but the brand, segment and region (in parallel).

    ``trait_specs[s, k]``, ``trait_tables[table_of[s, k]]`` and ``cum_channel[s]`` are
    segment s's (one table for the segments that share a trait's distribution);
    ``by_share[r]`` and ``launched[r]`` region r's.
    """
    nb = equity.size
    for i in prange(brand.size):
        s = np.int64(segment[i])
        r = np.int64(region[i])
        for k in range(trait_specs.shape[1]):
            traits[k, i] = _trait_value(
                int(trait_specs[s, k, 0]), trait_specs[s, k, 1], trait_specs[s, k, 2],
                trait_tables[table_of[s, k]], customer_key(trait_keys[k], i), trait_clip[k],
            )  # fmt: skip
        own = brand[i]
        customer = own >= 0
        ck = customer_key(keys[3], i)  # the need family
        in_market = customer or uniform(ck, 0) >= out_share
        last = -1
        if not in_market and uniform(ck, 1) < served:
            last = min(_pick(by_share[r], uniform(ck, 2)), nb - 1)
        known = 0
        considered = 0
        for b in range(nb):
            ckb = customer_key(brand_keys[b], i)
            a = np.float32(min(max(equity[b] + 0.1 * _normal(ckb, 0), 0.0), 1.0))
            attitude[i, b] = a
            if not launched[r, b]:
                continue
            if uniform(ckb, 1) < init_aware[b] or own == b or last == b:
                known |= 1 << b
                if in_market and a >= threshold and uniform(ckb, 2) < init_consider:
                    considered |= 1 << b
            if own == b:
                considered |= 1 << b
        aware[i] = known
        consider[i] = considered
        last_brand[i] = last
        flags[i] = P.IN_MARKET if in_market else 0
        own_level = 0.0
        if disposition_sd > 0.0:
            own_level = disposition_sd * _normal(customer_key(keys[4], i), 0)
        disposition[i] = own_level
        if customer:
            traits[2, i] = brand_expectation[own]  # the mean of its stationary distribution
            noise = 0.05 * _normal(customer_key(keys[0], i), 0)
            satisfaction[i] = min(max(init_satisfaction + own_level + noise, 0.0), 1.0)
            if mean_tenure > 0.0:
                drawn = -mean_tenure * math.log(_open_uniform(customer_key(keys[1], i), 0))
                tenure[i] = int(min(drawn, 65535.0))
            else:
                tenure[i] = 0
        else:
            satisfaction[i] = init_satisfaction
            tenure[i] = 0
        if cum_channel.shape[1] > 0:
            u = uniform(customer_key(keys[2], i), 0)
            channel[i] = min(_pick(cum_channel[s], u), cum_channel.shape[1] - 1)
        else:
            channel[i] = 0
        if customer:
            stage[i] = rules.CUSTOMER
        elif considered != 0:
            stage[i] = rules.CONSIDERING
        elif last >= 0:
            stage[i] = rules.LAPSED
        elif known != 0:
            stage[i] = rules.AWARE
        else:
            stage[i] = rules.UNAWARE


def _init_key(seed: int, family: int) -> np.uint64:
    return np.uint64(stream_key(int(seed), family, STREAM_INIT))


def place_customers(cfg: DictConfig, market: Market, seed: int):
    """Each customer's segment and region, in order of cell, and the storage index of each place.

    The segments (``sim.engine.segments.draw_segments``) and regions
    (``sim.engine.regions.draw_regions``) are drawn at places along the network's order,
    then stored window by window in order of (region, segment) cell
    (``sim.engine.cells.sort_by_cell``).

    Returns:
        (segment, region, storage): uint8 columns in storage order; ``storage[p]`` the storage
        index of the customer at place p (None when nobody moves: the network is then
        stored as built).
    """
    n = int(cfg.market.customers)
    kind = str(cfg.network.kind)
    segment = draw_segments(seed, n, market.segments, kind)
    region, segment = draw_regions(seed, n, market.regions, kind, segment)
    return sort_by_cell(segment, region, market.segments.n_segments, market.n_cells)


def build_customers(
    cfg: DictConfig, market: Market, seed: int, placed: tuple | None = None
) -> Customers:
    """Initial customers: traits, current brands, awareness, consideration and attitudes.

    Every draw is counter-based, keyed by (seed, family, customer, slot) under
    ``STREAM_INIT`` (the families above), and computed in parallel, one customer per
    iteration: the customers do not depend on the number of threads. Each brand has its
    own family, so adding a brand after the others leaves every other draw unchanged
    (common random numbers across scenarios). The rules (docs/model.md, section 5):

    1. Traits ``market.traits.<name>`` (the segment's): Beta (inversion of its quantile
       table, or a ratio of gammas where scipy cannot invert its CDF), lognormal (exp of a
       normal) or constant, as ``draw_trait`` reads the spec; activity, expectation, churn
       propensity and word-of-mouth threshold clipped to [0, 1].
    2. Brand b with probability ``initial_share_b`` (brands launched at step 0), else none.
    3. Out of the market with probability min(1, o / (1 - S)) for a non-customer, o the
       steady-state share out of the market, S the share drawn as customers; one out of
       the market is lapsed with probability S, its last brand drawn by the shares.
    4. Per brand: attitude clip(equity + 0.1 eps); for a launched brand aware with
       probability ``initial_awareness`` (or if a customer of it or its last brand);
       considering if aware, in the market, attitude >= the threshold and with
       probability ``initial_consideration``, or if a customer of it.
    5. Disposition ``market.satisfaction.disposition`` x eps; satisfaction
       ``initial_satisfaction`` (+ the disposition + 0.05 eps for customers, clipped).
    6. Tenure of customers: exponential with mean ``initial_tenure_years`` x steps per
       year, rounded down, capped at 65535.
    7. Channel by the segment's service shares (``service_share`` by default); 8. stage
       from the above.

    Before these, each customer's segment and region, stored in order of cell
    (``place_customers``, or ``placed`` when the caller has them); rules 1 and 7 use the
    segment's traits and channels, rules 2-4 the brands present in the region at step 0
    (its launch steps).
    """
    n = int(cfg.market.customers)
    nb = market.n_brands
    seg = market.segments
    segment, region = place_customers(cfg, market, seed)[:2] if placed is None else placed
    launched = market.regions.launch <= 0  # [R, B]
    initial = np.array([cfg.brands[b].initial_share for b in market.brand_names])
    cum = np.cumsum(initial[None, :] * launched, axis=1)
    brand = np.empty(n, dtype=np.int8)
    _draw_brands(_init_key(seed, _FAMILY_BRAND), cum.astype(np.float64), region, brand)
    served = float(np.count_nonzero(brand >= 0)) / max(n, 1)
    # Out of the market at steady state: exit / (entry + exit) of everyone, all of them
    # non-customers (customers have the need). Most people out of the market had the need
    # before and were customers then: lapsed, with a last brand drawn by the initial shares.
    out_share = min(1.0, (1.0 - in_market_share(market)) / max(1.0 - served, 1e-12))
    by_share = np.array([row / row[-1] if row.size and row[-1] > 0 else np.ones(nb)
                         for row in cum]).reshape(cum.shape)  # fmt: skip
    names = TRAIT_NAMES
    parsed = [[_trait_spec(traits_of[k]) for k in names] for traits_of in seg.traits]
    specs = np.array([[spec[:3] for spec in row] for row in parsed], dtype=np.float64)
    # each distinct quantile table once (``_beta_quantiles`` returns one array per Beta):
    # a table is half a megabyte, and segments mostly share the market's traits
    unique: list[np.ndarray] = []
    table_of = np.zeros((seg.n_segments, len(names)), dtype=np.int64)
    for s, row in enumerate(parsed):
        for k, spec in enumerate(row):
            if spec[3] is not None:
                known = [j for j, table in enumerate(unique) if table is spec[3]]
                table_of[s, k] = known[0] if known else len(unique)
                if not known:
                    unique.append(spec[3])
    tables = np.stack(unique) if unique else np.zeros((1, _TABLE_SIZE))
    service_share = market.channel_roles[:, P.R_SERVICE]
    total = service_share.sum()
    own = seg.n_segments == 1 and total > 0
    if own and np.array_equal(seg.service_share[0], service_share / total):
        # the market's own shares, cumulated as before segments existed
        cum_channel = np.cumsum(service_share / total)[None, :]
    elif total > 0:
        cum_channel = np.cumsum(seg.service_share, axis=1)
    else:
        cum_channel = np.zeros((seg.n_segments, 0))
    families = (
        _FAMILY_SATISFACTION, _FAMILY_TENURE, _FAMILY_CHANNEL, _FAMILY_NEED, _FAMILY_DISPOSITION
    )  # fmt: skip
    keys = np.array([_init_key(seed, f) for f in families], dtype=np.uint64)
    trait_keys = np.array(
        [_init_key(seed, _FAMILY_TRAIT + k) for k in range(len(names))], np.uint64
    )
    brand_keys = np.array([_init_key(seed, _FAMILY_BRAND_OWN + b) for b in range(nb)], np.uint64)
    init_aware = np.array([cfg.brands[b].initial_awareness for b in market.brand_names])
    traits = np.empty((len(names), n), dtype=np.float32)
    c = allocate_customers(n, nb, brand, traits, segment, region)
    _draw_customers(
        keys, segment, region, trait_keys, brand_keys, specs, tables, table_of,
        np.array([False, True, True, True, True]), out_share, served,
        by_share.astype(np.float64), launched.astype(np.bool_),
        market.brand_params[:, P.B_EQUITY].copy(), init_aware.astype(np.float64),
        float(cfg.market.initial_consideration), float(market.globals.consider_threshold),
        float(cfg.market.initial_satisfaction), mean_experiences(market),
        float(cfg.market.satisfaction.disposition),
        float(cfg.market.initial_tenure_years) * float(cfg.sim.steps_per_year),
        cum_channel.astype(np.float64), brand, traits, c.last_brand, c.aware, c.consider,
        c.attitude, c.satisfaction, c.disposition, c.tenure, c.channel, c.flags, c.stage,
    )  # fmt: skip
    return c


def allocate_customers(
    n: int,
    n_brands: int,
    brand: np.ndarray | None = None,
    traits: np.ndarray | None = None,
    segment: np.ndarray | None = None,
    region: np.ndarray | None = None,
) -> Customers:
    """Customers' columns, allocated and not drawn (``build_customers`` draws them).

    What a cached status quo is restored into: drawing the initial customers would be work
    the snapshot overwrites. ``traits`` (5 x n: price sensitivity, word-of-mouth activity,
    expectation, churn propensity, threshold) holds the trait columns as its rows.
    """
    traits = np.empty((5, n), dtype=np.float32) if traits is None else traits
    return Customers(
        stage=np.empty(n, dtype=np.int8),
        brand=np.empty(n, dtype=np.int8) if brand is None else brand,
        last_brand=np.empty(n, dtype=np.int8),
        aware=np.empty(n, dtype=np.uint8),
        consider=np.empty(n, dtype=np.uint8),
        attitude=np.empty((n, n_brands), dtype=np.float32),
        satisfaction=np.empty(n, dtype=np.float32),
        expectation=traits[2],
        tenure=np.empty(n, dtype=np.uint16),
        price_sensitivity=traits[0],
        wom_activity=traits[1],
        churn_propensity=traits[3],
        wom_threshold=traits[4],
        disposition=np.empty(n, dtype=np.float32),
        channel=np.empty(n, dtype=np.uint8),
        flags=np.empty(n, dtype=np.uint8),
        grudge=np.zeros(n, dtype=np.uint8),
        last_touch=np.zeros(n, dtype=np.uint16),
        voice=np.zeros(n, dtype=np.uint16),  # filled by the initial record pass (kernels)
        segment=np.zeros(n, dtype=np.uint8) if segment is None else segment,
        region=np.zeros(n, dtype=np.uint8) if region is None else region,
    )


def mean_experiences(market: Market) -> np.ndarray:
    """Each brand's mean product experience, E[clip(Q_b + sigma (sqrt 3 / pi) ln(u / (1 - u)))].

    Where a customer's adaptive expectation settles with tenure (usage is by far its most
    frequent experience): the initial customers of a brand start there, so the market does
    not drift while expectations catch up (docs/model.md, section 5). Midpoint rule over u.
    """
    u = (np.arange(4096) + 0.5) / 4096
    logistic = np.log(u / (1.0 - u)) * math.sqrt(3.0) / math.pi
    q = market.brand_params[:, P.B_PRODUCT_QUALITY]
    x = np.clip(q[:, None] + market.globals.noise * logistic[None, :], 0.0, 1.0)
    return x.mean(axis=1)


def in_market_share(market: Market) -> float:
    """Steady-state share of everyone with a need for the category.

    entry / (entry + exit + turnover): people leave the market when their need ends or they
    leave the population (newcomers start without the need), and return at the entry rate
    (1 when all three rates are 0).
    """
    g = market.globals
    total = g.entry_rate + g.exit_rate + g.turnover
    return 1.0 if total <= 0 else g.entry_rate / total
