"""Behaviour rules of journeysim: one small pure function per rule.

Every rule is compiled with Numba and takes scalars, so the fast engine
(``sim/engine/kernels/``) and the readable Mesa engine (``agents/customer.py``) call
exactly the same code. Each docstring states the rule's equation; ``docs/model.md``
lists them together with the parameters that control them.

Conventions: attitudes, satisfaction, expectations, experiences and qualities
are on a 0-1 scale; probabilities are per step (a day by default).
"""

from __future__ import annotations

import math

from agents import rule_names
from sim.engine.jit import njit

# Journey stages. A customer is in exactly one of them at every step.
UNAWARE = 0
AWARE = 1
CONSIDERING = 2
CUSTOMER = 3
LAPSED = 4
STAGE_NAMES = ("unaware", "aware", "considering", "customer", "lapsed")

# Outcomes of a service contact.
SERVICE_SUCCESS = 0
SERVICE_RECOVERED = 1
SERVICE_FAILED = 2

# Word-of-mouth message kinds (what a speaker says about a brand).
WARN = 0
MENTION = 1
PRAISE = 2

# Touchpoint kinds (traces and last-touch attribution; ``touch_code``).
TOUCH_NONE = 0
TOUCH_AD = 1
TOUCH_NEWS = 2
TOUCH_WOM = 3
TOUCH_USAGE = 4
TOUCH_SERVICE = 5
TOUCH_REVIEWS = 6
TOUCH_NAMES = ("none", "ad", "news", "word_of_mouth", "usage", "service", "reviews")
ANY_BRAND = 15  # the brand nibble of a touchpoint about every brand (reading reviews)
NO_CHANNEL = 255

# NPS classes.
DETRACTOR = -1
PASSIVE = 0
PROMOTER = 1

_LOGISTIC_SD = math.sqrt(3.0) / math.pi  # scale giving a logistic deviate unit sd


@njit(cache=True, inline="always")
def clip01(x: float) -> float:
    """Clip to the unit interval: min(max(x, 0), 1)."""
    return min(max(x, 0.0), 1.0)


@njit(cache=True)
def experience_draw(quality: float, noise: float, u: float) -> float:
    """Experience of one touchpoint, drawn around the brand's quality.

    x = clip(q + sigma * (sqrt(3) / pi) * ln(u / (1 - u)), 0, 1): a logistic deviate
    with mean q and standard deviation sigma (before clipping), from one uniform u.
    """
    u = min(max(u, 1e-12), 1.0 - 1e-12)
    return clip01(quality + noise * _LOGISTIC_SD * math.log(u / (1.0 - u)))


@njit(cache=True)
def disconfirmation(experience: float, expectation: float) -> float:
    """Expectation disconfirmation (Oliver 1980): d = x - e."""
    return experience - expectation


@njit(cache=True)
def touchpoint_evaluation(d: float, met_level: float, sensitivity: float) -> float:
    """Evaluation of one touchpoint: v = clip(v0 + kappa * d, 0, 1).

    v0 is the evaluation of a touchpoint that exactly meets expectations and kappa
    the sensitivity to disconfirmation d.
    """
    return clip01(met_level + sensitivity * d)


@njit(cache=True)
def satisfaction_update(
    satisfaction: float,
    evaluation: float,
    weight: float,
    negativity_bias: float,
    forgiveness: float,
    tenure_years: float,
) -> float:
    """Cumulative satisfaction moves toward the touchpoint evaluation.

    s' = s + w_eff (v - s), with w_eff = w for v >= s and, for v < s,
    w_eff = min(1, w (1 + (lambda - 1) / (1 + phi tenure_years))): bad news weighs lambda
    times more (negativity bias), and loyal customers forgive (phi per year of tenure) by
    shrinking the excess weight toward 1, never below it: for lambda >= 1 bad news never
    weighs less than good news at any tenure.
    """
    w = weight
    if evaluation < satisfaction:
        w = min(1.0, weight * (1.0 + (negativity_bias - 1.0) / (1.0 + forgiveness * tenure_years)))
    return satisfaction + w * (evaluation - satisfaction)


@njit(cache=True)
def expectation_update(expectation: float, experience: float, rate: float) -> float:
    """Adaptive expectations: e' = e + rho (x - e)."""
    return expectation + rate * (experience - expectation)


@njit(cache=True)
def attitude_update(attitude: float, target: float, weight: float) -> float:
    """Attitude toward a brand moves toward a message's valence: a' = a + w (target - a)."""
    return attitude + min(weight, 1.0) * (target - attitude)


@njit(cache=True)
def service_outcome(u: float, quality: float, resolution: float) -> int:
    """Outcome of a service contact from one uniform u.

    Success with probability q; otherwise the failure is recovered with probability
    r (first-contact resolution), else it stays unresolved:
    P(success) = q, P(recovered) = (1 - q) r, P(failed) = (1 - q)(1 - r).
    """
    if u < quality:
        return SERVICE_SUCCESS
    if quality >= 1.0:
        return SERVICE_SUCCESS
    if (u - quality) / (1.0 - quality) < resolution:
        return SERVICE_RECOVERED
    return SERVICE_FAILED


@njit(cache=True)
def service_experience(
    outcome: int,
    success_experience: float,
    expectation: float,
    recovery_paradox: float,
    failure_experience: float,
    friction: float,
) -> float:
    """Experience of a service contact, lowered by waiting and friction f.

    success: x = x_s - f; recovered failure: x = e + pi - f (the service-recovery
    paradox pi > 0 leaves the customer above expectation); unresolved: x = x_fail - f.
    Clipped to [0, 1].
    """
    if outcome == SERVICE_SUCCESS:
        x = success_experience
    elif outcome == SERVICE_RECOVERED:
        x = expectation + recovery_paradox
    else:
        x = failure_experience
    return clip01(x - friction)


@njit(cache=True)
def churn_hazard(
    propensity: float,
    satisfaction: float,
    sensitivity: float,
    reference: float,
    multiplier: float,
    price_term: float = 0.0,
) -> float:
    """Per-step churn probability: h = min(1, pi_i * m * exp(gamma (s_ref - s)) + h_p).

    pi_i is the customer's baseline propensity, gamma the churn sensitivity to
    satisfaction s (gamma = 0: churn independent of satisfaction), m a brand
    multiplier (e.g. a loyalty programme, m < 1) and h_p the price reaction
    (``price_reaction``; 0 while prices are the usual ones).
    """
    return min(
        1.0,
        propensity * multiplier * math.exp(sensitivity * (reference - satisfaction)) + price_term,
    )


@njit(cache=True)
def price_reaction(
    own_gap: float, rival_gap: float, price_sensitivity: float, rate: float
) -> float:
    """Per-step probability that a price change makes a customer re-evaluate and leave its brand.

    h_p = min(1, psi_i rho max(0, g_b - min(0, g_r))), with g_b = ln(p_b / p_ref_b) the log gap
    between its brand's price and the brand's reference price (``reference_price``: what
    customers are used to paying), g_r the deepest such gap (a cut) among the rivals it
    considers, psi_i its price sensitivity and rho the re-evaluation rate per unit of log
    price. A price rise above the reference, or a cut by a considered rival, is a loss
    relative to what the customer is used to; as the references adapt it fades. Gains (the
    own brand's cut, a rival's rise) do not make customers leave (loss aversion).
    """
    loss = own_gap - min(0.0, rival_gap)
    if loss <= 0.0:
        return 0.0
    return min(1.0, price_sensitivity * rate * loss)


@njit(cache=True)
def reference_price(reference: float, price: float, memory: float) -> float:
    """Reference price of a brand (what its customers are used to), after one step at ``price``.

    r' = r + (1 - 2^(-1 / h)) (p - r): exponential smoothing of the prices charged, with
    half-life h steps (h = 0: the reference is the current price, no price reaction).
    """
    if memory <= 0.0:
        return price
    return reference + (1.0 - math.exp2(-1.0 / memory)) * (price - reference)


@njit(cache=True)
def alternatives_factor(alternatives: float, weight: float, reference: float) -> float:
    """How the quality of alternatives scales the churn hazard: f = 1 - theta + theta P_alt / P_ref.

    P_alt = sum_r e^(U_r) / (e^(U_b) + sum_r e^(U_r)) is the share of the customer's considered
    rivals r in a choice with its brand b by the logit utilities of ``choice_utility`` without
    inertia (attitude, price, friction): how attractive the alternatives are next to its brand.
    theta is the share of the hazard that depends on them and P_ref the market's mean of P_alt
    (so that f averages about 1). Commitment falls as alternatives improve (Rusbult's
    investment model; Ping 1993): customers who hear more about rivals than about their brand,
    or who see a rival cheaper, leave more often. 0 <= f < 1 - theta + theta / P_ref.
    """
    return 1.0 - weight + weight * alternatives / reference


@njit(cache=True)
def churn_hazard_bound(
    propensity: float, sensitivity: float, reference: float, multiplier: float
) -> float:
    """Upper bound of the churn hazard over all satisfaction levels s >= 0.

    h_max = pi_i * m * exp(gamma s_ref) (not clipped). A uniform above it means no churn
    whatever s is, so the exponential of the exact hazard is only computed below it.
    """
    return propensity * multiplier * math.exp(sensitivity * reference)


@njit(cache=True)
def is_shock(d: float, threshold: float) -> bool:
    """A very bad touchpoint: disconfirmation below -threshold (d < -theta)."""
    return d < -threshold


@njit(cache=True)
def choice_utility(
    attitude: float,
    price: float,
    price_sensitivity: float,
    friction: float,
    is_current: bool,
    beta_attitude: float,
    beta_price: float,
    beta_friction: float,
    inertia: float,
) -> float:
    """Deterministic utility of a brand in the choice model.

    U_b = beta_a a_b - beta_p psi_i ln(p_b) - beta_f f_b + I [b is the current brand].
    Price enters as its logarithm (relative to a reference price of 1, which cancels in
    the logit), so equal percentage cuts move utility alike for cheap and dear brands.
    """
    u = beta_attitude * attitude - beta_price * price_sensitivity * math.log(max(price, 1e-9))
    u -= beta_friction * friction
    if is_current:
        u += inertia
    return u


@njit(cache=True)
def logit_probability(utility: float, max_utility: float, denominator: float) -> float:
    """Multinomial logit: P(b) = exp(U_b - U_max) / sum_k exp(U_k - U_max)."""
    return math.exp(utility - max_utility) / denominator


@njit(cache=True)
def recommend_score(satisfaction: float, attitude: float, satisfaction_weight: float) -> float:
    """Willingness to recommend, 0-1: r = omega s + (1 - omega) a.

    s is satisfaction with the brand (experience) and a the attitude toward it
    (reputation: ads, news and word of mouth move it), so a crisis shows in NPS.
    """
    return clip01(satisfaction_weight * satisfaction + (1.0 - satisfaction_weight) * attitude)


@njit(cache=True)
def likelihood_to_recommend(score: float) -> int:
    """Likelihood to recommend on the 0-10 NPS scale: LTR = min(10, floor(11 r))."""
    return min(10, int(11.0 * clip01(score)))


@njit(cache=True)
def nps_class(ltr: int) -> int:
    """NPS class: promoter if LTR >= 9, detractor if LTR <= 6, passive otherwise."""
    if ltr >= 9:
        return PROMOTER
    if ltr <= 6:
        return DETRACTOR
    return PASSIVE


@njit(cache=True)
def message_kind(score: float) -> int:
    """What a customer says about its brand: promoters praise, detractors warn, passives mention.

    The class is that of the customer's likelihood to recommend (``recommend_score``).
    """
    c = nps_class(likelihood_to_recommend(score))
    if c == PROMOTER:
        return PRAISE
    if c == DETRACTOR:
        return WARN
    return MENTION


@njit(cache=True)
def wom_attitude_weight(kind: int, weight: float, negativity_bias: float) -> float:
    """Weight of a heard message on attitude.

    w for praise, w * lambda for a warning, 0 for a mention.
    """
    if kind == PRAISE:
        return weight
    if kind == WARN:
        return min(1.0, weight * negativity_bias)
    return 0.0


@njit(cache=True)
def wom_target(kind: int) -> float:
    """Valence a heard message pulls attitude toward: 1 for praise, 0 for a warning."""
    return 1.0 if kind == PRAISE else 0.0


@njit(cache=True)
def conversation_rate(talk_rate: float, activity: float) -> float:
    """Per-step probability that a customer talks with one random neighbour: lambda_i = r * a_i.

    What the neighbour says is heard only if it speaks, so the expected influence
    about brand b is lambda_i * (speaking neighbours about b) / degree: normalised by
    the fraction of neighbours who speak, hence the mean-field (Bass) limit on the
    complete network.
    """
    return talk_rate * activity


@njit(cache=True)
def spend_multiplier(
    tenure: float, steps_per_year: float, uplift: float, cap_years: float
) -> float:
    """Loyal customers spend more: m = 1 + g * min(tenure / steps_per_year, cap)."""
    return 1.0 + uplift * min(tenure / steps_per_year, cap_years)


@njit(cache=True)
def considers(attitude: float, threshold: float) -> bool:
    """A brand may enter (and stays in) the consideration set while a >= threshold."""
    return attitude >= threshold


@njit(cache=True)
def stage_of(brand: int, consideration: int, awareness: int, previous_stage: int) -> int:
    """Journey stage from state.

    Customer if it has a brand, else considering if its set is non-empty, else lapsed if it
    was a customer or lapsed before, else aware if it knows a brand, else unaware.
    """
    if brand >= 0:
        return CUSTOMER
    if consideration != 0:
        return CONSIDERING
    if previous_stage == CUSTOMER or previous_stage == LAPSED:
        return LAPSED
    if awareness != 0:
        return AWARE
    return UNAWARE


@njit(cache=True)
def personalised_experience(experience: float, expectation: float, match: float) -> float:
    """Personalisation closes a share m of a shortfall: x' = x + m max(0, e - x)."""
    return experience + match * max(0.0, expectation - experience)


@njit(cache=True)
def wom_valence(kind: int, shift: float) -> float:
    """Valence of a heard message, shifted by news about the brand: clip(base + delta, 0, 1).

    base is 1 for praise and 0 for a warning; delta < 0 in a PR crisis, > 0 after a viral review.
    """
    return clip01(wom_target(kind) + shift)


@njit(cache=True)
def ad_valence(tone: float, shift: float) -> float:
    """Valence an ad pulls attitude toward, shifted by news: clip(tone + delta, 0, 1)."""
    return clip01(tone + shift)


@njit(cache=True)
def news_update(attitude: float, shift: float, weight: float) -> float:
    """News about a brand pulls attitude toward its own valence.

    a' = a + w |delta| (1 - a) for good news (delta > 0) and a' = a - w |delta| a for bad
    news: positive news never lowers attitude, negative news never raises it, and bigger
    news moves it more.
    """
    if shift >= 0.0:
        return attitude + min(weight * shift, 1.0) * (1.0 - attitude)
    return attitude - min(-weight * shift, 1.0) * attitude


@njit(cache=True)
def grudge_probability(age: float, half_life: float) -> float:
    """P(a customer who left a brand still warns about it), ``age`` steps after leaving.

    g = 2^(-age / h): the grudge fades with half-life h (0 switches it off).
    """
    if half_life <= 0.0:
        return 0.0
    return math.exp2(-age / half_life)


@njit(cache=True)
def complaint_filed(d: float, threshold: float, rate: float, u: float) -> bool:
    """A disappointed customer files a complaint (contacts service soon): d < -theta_c and u < c.

    Few dissatisfied customers complain (c < 1): the rest leave or tell others.
    """
    return d < -threshold and u < rate


@njit(cache=True)
def projected_clv(margin: float, retention: float, discount: float, horizon: float) -> float:
    """Expected discounted margin over a customer's remaining lifetime, up to a horizon.

    CLV = m sum_{k=0}^{H-1} q^k = m (1 - q^H) / (1 - q), q = rho / (1 + delta), with margin m
    per step (paid each step the customer stays, starting now), per-step retention rho,
    discount rate delta per step and horizon H steps (m H when q = 1). For H -> infinity
    it is m (1 + delta) / (1 + delta - rho).
    """
    q = retention / (1.0 + discount)
    if q >= 1.0:
        return margin * horizon
    return margin * (1.0 - q**horizon) / (1.0 - q)


@njit(cache=True, inline="always")
def touch_code(kind: int, brand: int, channel: int) -> int:
    """Code of a touchpoint for traces and last-touch attribution: kind << 12 | b << 8 | c."""
    return (kind << 12) | (brand << 8) | channel


# -- word-of-mouth rules (wom.rule), messages that fade, online reviews ------------------------
WOM_PAIRWISE = 0
WOM_CASCADE = 1
WOM_THRESHOLD = 2
WOM_RULES = rule_names.WOM_RULES


@njit(cache=True)
def message_freshness(age: float, half_life: float) -> float:
    """Weight of a message said ``age`` steps ago: f = 2^(-age / h) (h = 0: messages never fade)."""
    if half_life <= 0.0:
        return 1.0
    return math.exp2(-age / half_life)


@njit(cache=True)
def cascade_probability(strong: float, weak: float, b_strong: float, b_weak: float) -> float:
    """P(informed by word of mouth this step) in the independent cascade (Goldenberg et al. 2001).

    p = 1 - (1 - b_s)^S (1 - b_w)^W, with S and W the (freshness-weighted) numbers of strong
    and weak ties speaking about the brand; the external (advertising) chance a is the ad
    touchpoint, drawn independently, so overall P = 1 - (1 - a)(1 - b_s)^S (1 - b_w)^W.
    Computed as ``cascade_probability_from_logs``.
    """
    return cascade_probability_from_logs(strong, weak, math.log1p(-b_strong), math.log1p(-b_weak))


@njit(cache=True)
def cascade_probability_from_logs(
    strong: float, weak: float, log_keep_strong: float, log_keep_weak: float
) -> float:
    """The cascade's p from l_s = ln(1 - b_s) and l_w = ln(1 - b_w): p = 1 - exp(S l_s + W l_w).

    One exponential instead of two powers; the logarithms are taken once per person and step.
    A term with no speaking tie is left out (so b = 1 with no such tie gives 0, not NaN).
    """
    exponent = 0.0
    if strong > 0.0:
        exponent += strong * log_keep_strong
    if weak > 0.0:
        exponent += weak * log_keep_weak
    return -math.expm1(exponent)


@njit(cache=True)
def threshold_reached(speaking: float, degree: float, threshold: float) -> bool:
    """Linear threshold (Granovetter 1978): a view is adopted when speaking / degree >= theta_i."""
    if degree <= 0.0:
        return False
    return speaking / degree >= threshold


@njit(cache=True)
def review_probability(d: float, write: float, extremity: float) -> float:
    """P(writing a review after an experience): min(1, r (1 + x |d|)).

    Extreme experiences (large |disconfirmation| d) are reviewed more.
    """
    return min(1.0, write * (1.0 + extremity * abs(d)))


@njit(cache=True)
def rating_update(total: float, count: float, decay: float, new_total: float, new_count: float):
    """A brand's visible rating memory: S' = S delta + new, C' = C delta + new; rating = S'/C'.

    delta = 2^(-1 / half-life): recent reviews weigh most, and a bad quarter lingers.
    """
    return total * decay + new_total, count * decay + new_count


# -- service rules (service.rule) --------------------------------------------------------------
SERVICE_CONSTANT = 0
SERVICE_CAPACITY = 1
SERVICE_INVESTMENT = 2
SERVICE_RULES = rule_names.SERVICE_RULES


@njit(cache=True)
def erlang_c(servers: int, load: float) -> float:
    """P(a contact waits) in an M/M/c queue (Erlang C) with c servers and offered load A Erlangs.

    C(c, A) = [A^c / c! c / (c - A)] / [sum_{k<c} A^k / k! + A^c / c! c / (c - A)] for A < c;
    1 when A >= c (the queue grows: everyone waits). Computed by the stable recursion of the
    Erlang B formula, B(k) = A B(k-1) / (k + A B(k-1)), then C = c B / (c - A (1 - B)).
    """
    if load <= 0.0:
        return 0.0
    if load >= servers:
        return 1.0
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return servers * b / (servers - load * (1.0 - b))


@njit(cache=True)
def erlang_a(servers: int, arrivals: float, rate: float, abandon_rate: float):
    """An M/M/c+M queue (Erlang A): c agents, impatient callers who hang up while waiting.

    The number in the system is a birth-death chain with births lambda and deaths
    min(n, c) mu + max(n - c, 0) gamma (gamma = 1 / mean patience), so
    pi_n = pi_0 prod_{k<=n} lambda / d_k. A contact waits when it finds every agent busy,
    P(wait) = sum_{n>=c} pi_n; E[Q] = sum_{n>c} (n - c) pi_n waiting contacts, of whom
    gamma E[Q] hang up per unit time: P(abandon) = gamma E[Q] / lambda, and by Little's law
    a contact waits E[Q] / lambda on average. Unlike Erlang C it holds under overload
    (lambda >= c mu): agents still answer about c mu contacts, the rest give up. Garnett,
    Mandelbaum and Reiman (2002), M&SOM.

    Returns:
        (P(wait), P(abandon | wait), mean wait of those who wait), times in the unit of the
        rates (a step); zeros without arrivals.
    """
    if arrivals <= 0.0:
        return 0.0, 0.0, 0.0
    term = 1.0
    total = 1.0
    waiting_mass = 0.0
    queue_mass = 0.0
    n = 0
    while True:
        n += 1
        deaths = min(n, servers) * rate + max(n - servers, 0) * abandon_rate
        if deaths <= 0.0:
            return 1.0, 1.0, math.inf  # no agents and no one hangs up: the queue never ends
        term *= arrivals / deaths
        total += term
        if n >= servers:
            waiting_mass += term
            queue_mass += (n - servers) * term
        if total > 1e250:  # rescale: only ratios matter
            term *= 1e-250
            total *= 1e-250
            waiting_mass *= 1e-250
            queue_mass *= 1e-250
        if n > servers and deaths > arrivals and term < 1e-16 * total:
            break
    if servers == 0:
        waiting_mass = total
    p_wait = waiting_mass / total
    queue = queue_mass / total
    if p_wait <= 0.0:
        return 0.0, 0.0, 0.0
    p_abandon = abandon_rate * queue / arrivals
    return p_wait, min(p_abandon / p_wait, 1.0), queue / arrivals / p_wait


@njit(cache=True)
def invested_quality(base: float, spend: float, reference: float, elasticity: float) -> float:
    """Quality a level of service spend sustains: logit q* = logit q0 + e ln(s / s_ref).

    At the reference spend q* = q0 (the configured quality); no spend tends to 0, ever more
    spend to 1, with diminishing returns.
    """
    q0 = min(max(base, 1e-6), 1.0 - 1e-6)
    if spend <= 0.0:
        return 0.0
    z = math.log(q0 / (1.0 - q0)) + elasticity * math.log(spend / reference)
    return 1.0 / (1.0 + math.exp(-z))


def smoothed_load(previous, today, window: float):
    """A desk's load forecast, exponentially smoothed: L' = L + (x - L) / w (w <= 1: x).

    Loads may be numbers or arrays (every brand and channel at once).

    A sample of customers stands for a larger market whose daily load is relatively far less
    noisy; averaging about w steps removes most of the sample's noise at a lag of w steps.
    """
    if window <= 1.0:
        return today
    return previous + (today - previous) / window


@njit(cache=True)
def quality_step(quality: float, target: float, lag: float) -> float:
    """Quality moves toward its target with a lag L: q' = q + (q* - q) / L (L <= 1: at once)."""
    if lag <= 1.0:
        return target
    return quality + (target - quality) / lag


def margin_at_price(margin, base_price, price):
    """Gross margin when the price moves and the unit cost stays: m' = 1 - (1 - m) p0 / p.

    A brand's unit cost is c = p0 (1 - m) at its configured price p0 and margin m; a price
    change (an event, a matched price, a change made today) moves revenue, not cost. Works
    elementwise on arrays. Example: m = 0.3, price +10% gives m' = 1 - 0.7 / 1.1 = 0.364;
    price -20% gives m' = 1 - 0.7 / 0.8 = 0.125; below the unit cost the margin is negative.
    """
    return 1.0 - (1.0 - margin) * base_price / price
