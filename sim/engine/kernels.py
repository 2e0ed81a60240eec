"""Numba kernels of the fast engine: one step of every customer, over columns.

The step of one customer (``customer_step``) reads like the model description:

1. meet at most one touchpoint, drawn from competing rates: an ad of a brand on a
   channel, a conversation with a social neighbour, using the product, or a
   service contact (the last two for customers only);
2. a purchase occasion (or one the touchpoint triggered): choose a brand from the
   consideration set by multinomial logit, with inertia for the current brand;
3. churn: leave the brand at the satisfaction-dependent hazard (or at once after a
   very bad touchpoint), switching to a considered competitor or lapsing;
4. pay for the step (loyal customers spend more), update tenure, then record.

The kernels loop over fixed chunks of customers with ``prange``; every chunk
writes its own row of accumulators, summed in chunk order afterwards, and all
random numbers are keyed by (seed, step, customer, draw). So results are
bit-identical whatever the number of threads. What others say is read from the
previous step's ``voice`` column (synchronous update).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from agents import rules
from sim.engine import params as P
from sim.engine.rng import customer_key, randint, uniform

CHUNK = 2048  # customers per work unit: fixed, so float sums do not depend on threads

# Draw slots: each decision of a customer's step has its own counter.
SLOT_EVENT = 0
SLOT_PARTNER = 1
SLOT_EXPERIENCE = 2
SLOT_AWARE = 3
SLOT_CONSIDER = 4
SLOT_TRIGGER = 5
SLOT_SERVICE = 6
SLOT_SHOCK = 7
SLOT_OCCASION = 8
SLOT_CHOICE = 9
SLOT_CHURN = 10
SLOT_SWITCH = 11
SLOT_BOT = 12


@njit(cache=True, inline="always")
def state_index(stage: int, brand: int, n_brands: int) -> int:
    """Index of a (stage, brand) state in the flow matrix.

    Order: unaware, aware, considering, one state per brand for customers, lapsed.
    """
    if stage == rules.CUSTOMER:
        return 3 + brand
    if stage == rules.LAPSED:
        return 3 + n_brands
    return stage


@njit(cache=True, inline="always")
def voice_of(stage: int, brand: int, last_brand: int, satisfaction: float) -> int:
    """What a customer says when asked.

    Customers and lapsed customers speak about their (last) brand according to their
    satisfaction; others are silent (0).
    """
    b = brand
    if stage == rules.LAPSED:
        b = last_brand
    if b < 0 or (stage != rules.CUSTOMER and stage != rules.LAPSED):
        return 0
    return 1 + 3 * b + rules.message_kind(satisfaction)


@njit(cache=True, inline="always")
def utility_of(i, b, current, attitude, price_sensitivity, c, brand_params, friction, g):
    """Customer i's choice utility of brand b (``rules.choice_utility`` on its columns)."""
    return rules.choice_utility(
        attitude[i, b], brand_params[b, P.B_PRICE], price_sensitivity[i], friction[b, c],
        b == current, g[P.G_BETA_ATTITUDE], g[P.G_BETA_PRICE], g[P.G_BETA_FRICTION],
        g[P.G_INERTIA],
    )  # fmt: skip


@njit(cache=True, inline="always")
def choose_brand(
    i, mask, current, attitude, price_sensitivity, channel, brand_params, friction, g, u
) -> int:
    """Multinomial-logit choice among the brands in ``mask`` (launched only), from one uniform u.

    Utilities are computed once into a small buffer (at most 8 brands). Returns the chosen
    brand, or -1 when the mask holds no launched brand.
    """
    nb = brand_params.shape[0]
    c = channel[i]
    utilities = np.empty(nb)
    best = -1e300
    for b in range(nb):
        utilities[b] = -1e300
        if (mask >> b) & 1 and brand_params[b, P.B_ACTIVE] > 0.0:
            utilities[b] = utility_of(
                i, b, current, attitude, price_sensitivity, c, brand_params, friction, g
            )
            best = max(best, utilities[b])
    if best == -1e300:
        return -1
    denominator = 0.0
    for b in range(nb):
        if utilities[b] > -1e300:
            denominator += np.exp(utilities[b] - best)
    cumulative = 0.0
    last = -1
    for b in range(nb):
        if utilities[b] > -1e300:
            cumulative += rules.logit_probability(utilities[b], best, denominator)
            last = b
            if u < cumulative:
                return b
    return last


@njit(cache=True, inline="always")
def after_message(i, b, ck, consider_probability, attitude, consider, g):
    """After a touchpoint about brand b, update its consideration.

    b enters the set if liked (with the channel's consideration probability) and leaves it
    when attitude falls below the threshold.
    """
    bit = np.uint8(1 << b)
    threshold = g[P.G_CONSIDER_THRESHOLD]
    if rules.considers(attitude[i, b], threshold):
        if uniform(ck, SLOT_CONSIDER) < consider_probability:
            consider[i] |= bit
    else:
        consider[i] &= ~bit


@njit(cache=True, inline="always")
def see_ad(i, ck, b, c, aware, consider, attitude, channel_roles, brand_params, g) -> bool:
    """An ad of brand b on channel c.

    Updates awareness, attitude, consideration, and maybe a purchase occasion now (the
    channel's purchase role). Returns that trigger.
    """
    bit = np.uint8(1 << b)
    if not (aware[i] & bit):
        if uniform(ck, SLOT_AWARE) >= channel_roles[c, P.R_AWARENESS]:
            return False
        aware[i] |= bit
    tone = rules.ad_valence(g[P.G_AD_TONE], brand_params[b, P.B_WOM_SHIFT])
    attitude[i, b] = rules.attitude_update(attitude[i, b], tone, g[P.G_AD_WEIGHT])
    after_message(i, b, ck, channel_roles[c, P.R_CONSIDERATION], attitude, consider, g)
    return uniform(ck, SLOT_TRIGGER) < channel_roles[c, P.R_PURCHASE]


@njit(cache=True, inline="always")
def see_news(i, ck, b, c, aware, consider, attitude, channel_roles, brand_params, g):
    """News about brand b (a PR crisis, a viral review) met on channel c.

    Earned media: awareness as for an ad, attitude pulled toward the news valence with
    word-of-mouth weight, consideration updated; it never triggers a purchase.
    """
    bit = np.uint8(1 << b)
    if not (aware[i] & bit):
        if uniform(ck, SLOT_AWARE) >= channel_roles[c, P.R_AWARENESS]:
            return
        aware[i] |= bit
    valence = rules.news_valence(brand_params[b, P.B_WOM_SHIFT])
    attitude[i, b] = rules.attitude_update(attitude[i, b], valence, g[P.G_WOM_WEIGHT])
    after_message(i, b, ck, channel_roles[c, P.R_CONSIDERATION], attitude, consider, g)


@njit(cache=True, inline="always")
def hear_word_of_mouth(
    i, ck, voice_in, indptr, indices, complete, n, aware, consider, attitude, brand_params, g
):
    """Talk with one random neighbour and hear what it says (nothing if it is silent)."""
    if complete:
        j = randint(ck, SLOT_PARTNER, n - 1)
        if j >= i:
            j += 1
    else:
        degree = indptr[i + 1] - indptr[i]
        if degree == 0:
            return
        j = indices[indptr[i] + randint(ck, SLOT_PARTNER, degree)]
    code = voice_in[j]
    if code == 0:
        return
    b = (code - 1) // 3
    kind = (code - 1) % 3
    if brand_params[b, P.B_ACTIVE] <= 0.0:
        return
    aware[i] |= np.uint8(1 << b)
    weight = rules.wom_attitude_weight(kind, g[P.G_WOM_WEIGHT], g[P.G_WOM_NEGATIVITY])
    target = rules.wom_valence(kind, brand_params[b, P.B_WOM_SHIFT])
    attitude[i, b] = rules.attitude_update(attitude[i, b], target, weight)
    after_message(i, b, ck, g[P.G_WOM_CONSIDER], attitude, consider, g)


@njit(cache=True, inline="always")
def experience_touchpoint(i, b, x, ck, satisfaction, expectation, attitude, tenure, g) -> bool:
    """Judge an experience x against expectation.

    Updates satisfaction, attitude and expectation. Returns True when a very bad touchpoint
    makes the customer leave now.
    """
    e = expectation[i]
    d = rules.disconfirmation(x, e)
    v = rules.touchpoint_evaluation(d, g[P.G_MET_LEVEL], g[P.G_EVAL_SENSITIVITY])
    years = tenure[i] / g[P.G_STEPS_PER_YEAR]
    satisfaction[i] = rules.satisfaction_update(
        satisfaction[i], v, g[P.G_SAT_WEIGHT], g[P.G_SAT_NEGATIVITY], g[P.G_FORGIVENESS], years
    )
    attitude[i, b] = rules.attitude_update(attitude[i, b], v, g[P.G_SAT_WEIGHT])
    expectation[i] = rules.expectation_update(e, x, g[P.G_EXPECTATION_RATE])
    if rules.is_shock(d, g[P.G_SHOCK_THRESHOLD]):
        return uniform(ck, SLOT_SHOCK) < g[P.G_SHOCK_SWITCH]
    return False


@njit(cache=True, inline="always")
def leave_brand(i, b, attitude, satisfaction, consider, last_brand):
    """A churner drops its brand.

    The brand leaves the consideration set, its attitude is made no higher than the
    customer's satisfaction, and it is remembered as the last brand.
    """
    attitude[i, b] = min(attitude[i, b], satisfaction[i])
    consider[i] &= ~np.uint8(1 << b)
    last_brand[i] = b


@njit(cache=True, inline="always")
def join_brand(i, b, attitude, satisfaction, tenure, aware, consider, brand):
    """Become a customer of brand b: satisfaction starts at the attitude that chose it."""
    brand[i] = b
    tenure[i] = 0
    satisfaction[i] = attitude[i, b]
    aware[i] |= np.uint8(1 << b)
    consider[i] |= np.uint8(1 << b)


@njit(cache=True, error_model="numpy")
def step_customers(
    lo, hi, step_key, n_channels, complete, customers, market, network, voice_in, voice_out, acc,
    flow, t, cohort,
):  # fmt: skip
    """One step of customers lo..hi-1 (see the module docstring), then their record.

    ``customers``, ``market`` and ``network`` are tuples of columns (see ``step_all``),
    unpacked once per chunk: the per-customer helpers are inlined, so no array reference
    counting happens per customer. ``acc`` and ``flow`` are this chunk's accumulators.
    """
    (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel,
    ) = customers  # fmt: skip
    brand_params, ad_cum, service_quality, resolution, friction, channel_roles, g = market
    indptr, indices = network
    nb = brand_params.shape[0]
    n = stage.size
    acc[:, :] = 0.0
    flow[:, :] = 0
    masks = np.zeros((2, 256), dtype=np.int64)
    for i in range(lo, hi):
        ck = customer_key(step_key, i)
        b0 = np.int64(brand[i])
        s_from = state_index(stage[i], b0, nb)
        triggered = False
        shocked = False

        # 1. At most one touchpoint, drawn from competing per-step rates.
        u = uniform(ck, SLOT_EVENT)
        ad_total = ad_cum[ad_cum.size - 1]
        talk = rules.conversation_rate(g[P.G_TALK_RATE], wom_activity[i])
        if u < ad_total:
            # ad_cum runs over paid ads (brand, channel), then news (brand, channel)
            k = np.searchsorted(ad_cum, u, side="right")
            n_paid = ad_cum.size // 2
            if k < n_paid:
                triggered = see_ad(
                    i, ck, k // n_channels, k % n_channels, aware, consider, attitude,
                    channel_roles, brand_params, g,
                )  # fmt: skip
            else:
                k -= n_paid
                see_news(
                    i, ck, k // n_channels, k % n_channels, aware, consider, attitude,
                    channel_roles, brand_params, g,
                )  # fmt: skip
        elif u < ad_total + talk:
            hear_word_of_mouth(
                i, ck, voice_in, indptr, indices, complete, n, aware, consider, attitude,
                brand_params, g,
            )  # fmt: skip
        elif b0 >= 0:
            u -= ad_total + talk
            usage = g[P.G_USAGE_RATE]
            if u < usage:
                x = rules.experience_draw(
                    brand_params[b0, P.B_PRODUCT_QUALITY],
                    g[P.G_NOISE],
                    uniform(ck, SLOT_EXPERIENCE),
                )
                x = rules.personalised_experience(
                    x, expectation[i], brand_params[b0, P.B_EXPECTATION_MATCH]
                )
                shocked = experience_touchpoint(
                    i, b0, x, ck, satisfaction, expectation, attitude, tenure, g
                )
            elif u < usage + g[P.G_CONTACT_RATE]:
                c = channel[i]
                q = service_quality[b0, c]
                r = resolution[b0, c]
                f = friction[b0, c]
                bot = brand_params[b0, P.B_BOT_SHARE]
                if bot > 0.0 and uniform(ck, SLOT_BOT) < bot:  # the chatbot answers
                    q = brand_params[b0, P.B_BOT_QUALITY]
                    r = brand_params[b0, P.B_BOT_RESOLUTION]
                    f = brand_params[b0, P.B_BOT_FRICTION]
                outcome = rules.service_outcome(uniform(ck, SLOT_SERVICE), q, r)
                x_ok = rules.experience_draw(q, g[P.G_NOISE], uniform(ck, SLOT_EXPERIENCE))
                x = rules.service_experience(
                    outcome, x_ok, expectation[i], g[P.G_RECOVERY_PARADOX],
                    g[P.G_FAILURE_EXPERIENCE], f,
                )  # fmt: skip
                x = rules.personalised_experience(
                    x, expectation[i], brand_params[b0, P.B_EXPECTATION_MATCH]
                )
                acc[b0, P.A_CONTACTS] += 1.0
                if outcome != rules.SERVICE_SUCCESS:
                    acc[b0, P.A_FAILURES] += 1.0
                if outcome == rules.SERVICE_RECOVERED:
                    acc[b0, P.A_RECOVERED] += 1.0
                shocked = experience_touchpoint(
                    i, b0, x, ck, satisfaction, expectation, attitude, tenure, g
                )

        # 2. Purchase occasion: choose from the consideration set (and the current brand).
        b1 = b0
        choice_set = np.int64(consider[i])
        if b0 >= 0:
            choice_set |= 1 << b0
        if choice_set != 0 and not shocked:
            if triggered or uniform(ck, SLOT_OCCASION) < g[P.G_NEED_RATE]:
                chosen = choose_brand(
                    i, choice_set, b0, attitude, price_sensitivity, channel, brand_params, friction,
                    g, uniform(ck, SLOT_CHOICE),
                )  # fmt: skip
                if chosen >= 0:
                    b1 = chosen

        # 3. Churn: dissatisfaction hazard, or at once after a very bad touchpoint.
        if b0 >= 0 and b1 == b0:
            leaves = shocked
            if not leaves:
                u = uniform(ck, SLOT_CHURN)
                # Skip the exponential unless u is below the hazard's bound (exact, and cheap).
                if u < g[P.G_CHURN_BOUND] * brand_params[b0, P.B_CHURN_MULT] * churn_propensity[i]:
                    h = rules.churn_hazard(
                        churn_propensity[i], satisfaction[i], g[P.G_CHURN_SENSITIVITY],
                        g[P.G_CHURN_REFERENCE], brand_params[b0, P.B_CHURN_MULT],
                    )  # fmt: skip
                    leaves = u < h
            if leaves:
                leave_brand(i, b0, attitude, satisfaction, consider, last_brand)
                competitors = np.int64(consider[i]) & ~(1 << b0)
                b1 = choose_brand(
                    i, competitors, -1, attitude, price_sensitivity, channel, brand_params,
                    friction, g, uniform(ck, SLOT_SWITCH),
                )  # fmt: skip
                if b1 < 0:
                    brand[i] = -1
                    acc[b0, P.A_LAPSED] += 1.0
        if b1 != b0:
            if b0 >= 0:
                acc[b0, P.A_CHURNED] += 1.0
                last_brand[i] = b0
            if b1 >= 0:
                join_brand(i, b1, attitude, satisfaction, tenure, aware, consider, brand)
                acc[b1, P.A_ACQUIRED] += 1.0
        elif b0 >= 0:
            tenure[i] = min(np.int64(tenure[i]) + 1, 65535)

        # 4. Stage, what the customer will say next step, and the record.
        stage[i] = rules.stage_of(brand[i], consider[i], aware[i], stage[i])
        record_customer(
            i, s_from, stage, brand, last_brand, aware, consider, satisfaction, tenure,
            brand_params, g, voice_out, acc, flow, masks, t, cohort,
        )  # fmt: skip
    count_masks(masks, acc)


@njit(cache=True, inline="always")
def record_customer(
    i, s_from, stage, brand, last_brand, aware, consider, satisfaction, tenure,
    brand_params, g, voice_out, acc, flow, masks, t, cohort,
):  # fmt: skip
    """Add customer i to the step's accumulators; customers pay for the step.

    ``cohort[b, k]`` counts, over the run, customers of b seen k steps after joining
    (tenure k < t, so only cohorts acquired during the run): the numerators of the
    cohort retention curve.

    Awareness and consideration are counted as histograms of the 8-bit masks
    (``masks``), expanded into per-brand counts once per chunk by ``count_masks``.

    Revenue of a customer of b: p_b * m_b * (1 + g min(tenure / steps_per_year, cap)).
    """
    nb = brand_params.shape[0]
    st = stage[i]
    b = np.int64(brand[i])
    flow[s_from, state_index(st, b, nb)] += 1
    masks[0, aware[i]] += 1
    if b >= 0:
        masks[1, consider[i] & ~(1 << b)] += 1
    else:
        masks[1, consider[i]] += 1
    s = satisfaction[i]
    if b >= 0:
        k = np.int64(tenure[i])
        if k < t and k < cohort.shape[1]:
            cohort[b, k] += 1
        acc[b, P.A_CUSTOMERS] += 1.0
        acc[b, P.A_SATISFACTION] += s
        spend = rules.spend_multiplier(
            tenure[i], g[P.G_STEPS_PER_YEAR], g[P.G_TENURE_UPLIFT], g[P.G_TENURE_CAP]
        )
        acc[b, P.A_REVENUE] += brand_params[b, P.B_PRICE] * brand_params[b, P.B_SPEND_MULT] * spend
        cls = rules.nps_class(rules.likelihood_to_recommend(s))
        if cls == rules.PROMOTER:
            acc[b, P.A_PROMOTERS] += 1.0
        elif cls == rules.DETRACTOR:
            acc[b, P.A_DETRACTORS] += 1.0
        else:
            acc[b, P.A_PASSIVES] += 1.0
    voice_out[i] = voice_of(st, b, last_brand[i], s)


@njit(cache=True, inline="always")
def count_masks(masks, acc):
    """Per-brand aware and considering counts from the chunk's mask histograms."""
    nb = acc.shape[0]
    for m in range(256):
        for k in range(nb):
            if (m >> k) & 1:
                acc[k, P.A_AWARE] += masks[0, m]
                acc[k, P.A_CONSIDERING] += masks[1, m]


@njit(parallel=True, cache=True)
def step_all(
    step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation,
    tenure, price_sensitivity, wom_activity, churn_propensity, channel, voice_in, voice_out,
    indptr, indices, complete,
    brand_params, ad_cum, n_channels, service_quality, resolution, friction, channel_roles, g,
    acc, flow, t, cohort,
):  # fmt: skip
    """One step of all customers, chunk by chunk in parallel.

    acc[k], flow[k] and cohort[k] hold chunk k's aggregates (cohort over the whole run).
    """
    customers = (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel,
    )  # fmt: skip
    market = (brand_params, ad_cum, service_quality, resolution, friction, channel_roles, g)
    network = (indptr, indices)
    n = stage.size
    n_chunks = (n + CHUNK - 1) // CHUNK
    for k in prange(n_chunks):
        step_customers(
            k * CHUNK, min(n, (k + 1) * CHUNK), step_key, n_channels, complete, customers,
            market, network, voice_in, voice_out, acc[k], flow[k], t, cohort[k],
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def record_chunk(
    lo, hi, stage, brand, last_brand, aware, consider, satisfaction, tenure, brand_params, g,
    voice_out, acc, flow,
):  # fmt: skip
    """Record customers lo..hi-1 as they are (no move), and set what they say."""
    acc[:, :] = 0.0
    flow[:, :] = 0
    masks = np.zeros((2, 256), dtype=np.int64)
    nb = brand_params.shape[0]
    no_cohort = np.zeros((nb, 0), dtype=np.int64)  # step 0 has no cohort yet
    for i in range(lo, hi):
        s = state_index(stage[i], np.int64(brand[i]), nb)
        record_customer(
            i, s, stage, brand, last_brand, aware, consider, satisfaction, tenure,
            brand_params, g, voice_out, acc, flow, masks, 0, no_cohort,
        )  # fmt: skip
    count_masks(masks, acc)


@njit(parallel=True, cache=True)
def record_all(
    stage, brand, last_brand, aware, consider, satisfaction, tenure, brand_params, g,
    voice_out, acc, flow,
):  # fmt: skip
    """Record the state as it is (step 0), chunk by chunk, and set what everyone says."""
    n = stage.size
    n_chunks = (n + CHUNK - 1) // CHUNK
    for k in prange(n_chunks):
        record_chunk(
            k * CHUNK, min(n, (k + 1) * CHUNK), stage, brand, last_brand, aware, consider,
            satisfaction, tenure, brand_params, g, voice_out, acc[k], flow[k],
        )  # fmt: skip


def n_chunks(n: int) -> int:
    """Number of work units for n customers."""
    return (n + CHUNK - 1) // CHUNK
