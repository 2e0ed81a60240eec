"""Numba kernels of the fast engine: one step of every customer, over columns.

The step of one customer (``step_customers``) reads like the model description:

1. at most one event, drawn from competing per-step rates: an ad or a news item of a
   brand on a channel, a conversation with a social neighbour, using the product or a
   service contact (customers only; a complaint makes a contact likely), forgetting a
   brand not in use, or the need for the category appearing or ending;
2. a purchase occasion (or one an ad of a considered brand triggered), for people in
   the market: choose a brand from the consideration set by multinomial logit, with
   inertia for the current brand;
3. churn: leave the brand at the satisfaction-dependent hazard (or at once after a
   very bad touchpoint), switching to a considered competitor or lapsing;
4. pay for the step (loyal customers spend more), update tenure, then record: what the
   customer will say next step (its brand, or a warning about a brand it left), the
   per-brand and per-channel tallies.

The kernels loop over fixed chunks of customers with ``prange``; every chunk writes its
own rows of accumulators, summed in chunk order afterwards, and all random numbers are
keyed by (seed, step, customer, draw). So results are bit-identical whatever the number
of threads. What others say is read from the previous step's ``voice`` column
(synchronous update).
"""

from __future__ import annotations

import math

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
SLOT_FORGET = 13
SLOT_COMPLAINT = 14
SLOT_VOICE = 15
SLOT_ATTENTION = 16
SLOT_REVIEW = 17  # writing a review after an experience
SLOT_WAIT = 18  # waiting in a queue (service.rule: capacity)
SLOT_ABANDON = 19  # giving up while waiting
SLOT_ESCALATE = 20  # a chatbot handing a contact to people
SLOT_FRESH = 21  # whether a faded message is still heard (pairwise)
SLOT_WOM_ATTENTION = 22  # whether network word of mouth registers out of the market
SLOT_WOM = 24  # network word of mouth about brand b: slot 24 + 2 b (reached), 25 + 2 b (set)
SLOT_READ = 40  # reading reviews: slot 40 + b (brand b enters the set)

# The voice column: the message code in the low byte, its age (steps) in the high byte.
CODE_MASK = 0xFF
AGE_SHIFT = 8

# Bits of the per-customer ``flags`` column.
IN_MARKET = 1  # the customer has a need for the category
COMPLAINT = 2  # a complaint is pending: a service contact is likely soon


@njit(cache=True, inline="always")
def globals_of(values) -> P.Globals:
    """The market-wide parameters as a named tuple, from their float64 array.

    The parallel kernels take them as an array (a parfor cannot pass a named tuple to its
    threads); each chunk names them again here, so the step reads ``g.talk_rate``.
    """
    return P.Globals(
        np.int64(values[0]),  # n
        values[1],  # ad_weight
        values[2],  # ad_tone
        values[3],  # talk_rate
        values[4],  # wom_weight
        values[5],  # wom_negativity
        values[6],  # wom_consider
        values[7],  # wom_purchase
        values[8],  # news_weight
        values[9],  # grudge_half_life
        values[10],  # wom_rule
        values[11],  # wom_strong
        values[12],  # wom_weak
        values[13],  # message_half_life
        values[14],  # review_read
        values[15],  # review_write
        values[16],  # review_extremity
        values[17],  # review_weight
        values[18],  # review_channel
        values[19],  # usage_rate
        values[20],  # contact_rate
        values[21],  # complaint_contact
        values[22],  # complaint_threshold
        values[23],  # complaint_rate
        values[24],  # noise
        values[25],  # met_level
        values[26],  # eval_sensitivity
        values[27],  # sat_weight
        values[28],  # sat_negativity
        values[29],  # forgiveness
        values[30],  # expectation_rate
        values[31],  # recovery_paradox
        values[32],  # failure_experience
        values[33],  # shock_threshold
        values[34],  # shock_switch
        values[35],  # churn_sensitivity
        values[36],  # churn_reference
        values[37],  # churn_bound
        values[38],  # need_rate
        values[39],  # consider_threshold
        values[40],  # forget_rate
        values[41],  # entry_rate
        values[42],  # exit_rate
        values[43],  # turnover
        values[44],  # attention
        values[45],  # beta_attitude
        values[46],  # beta_price
        values[47],  # beta_friction
        values[48],  # inertia
        values[49],  # recommend_weight
        values[50],  # steps_per_year
        values[51],  # tenure_uplift
        values[52],  # tenure_cap
        values[53],  # price_reevaluation
        values[54],  # alternatives_weight
        values[55],  # alternatives_reference
    )


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
def popcount8(mask: int) -> int:
    """Number of set bits of an 8-bit mask."""
    count = 0
    m = mask & 0xFF
    while m:
        m &= m - 1
        count += 1
    return count


@njit(cache=True, inline="always")
def nth_bit(mask: int, k: int) -> int:
    """Index of the k-th (from 0) set bit of ``mask``."""
    for b in range(8):
        if (mask >> b) & 1:
            if k == 0:
                return b
            k -= 1
    return -1


@njit(cache=True, inline="always")
def utility_of(i, b, current, attitude, price_sensitivity, c, brand_params, friction, g):
    """Customer i's choice utility of brand b (``rules.choice_utility`` on its columns)."""
    return rules.choice_utility(
        attitude[i, b], brand_params[b, P.B_PRICE], price_sensitivity[i], friction[b, c],
        b == current, g.beta_attitude, g.beta_price, g.beta_friction, g.inertia,
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
def after_message(i, b, ck, consider_probability, attitude, consider, flags, g):
    """After a message about brand b, update its consideration.

    b enters the set if liked (with the channel's consideration probability) and the
    customer is in the market; it leaves the set when attitude falls below the threshold.
    """
    bit = np.uint8(1 << b)
    if rules.considers(attitude[i, b], g.consider_threshold):
        if flags[i] & IN_MARKET and uniform(ck, SLOT_CONSIDER) < consider_probability:
            consider[i] |= bit
    else:
        consider[i] &= ~bit


@njit(cache=True, inline="always")
def attends(i, ck, flags, g) -> bool:
    """Whether a message about the category registers.

    Always in the market; out of it with probability ``g.attention`` (people notice
    categories they are not shopping in less).
    """
    if flags[i] & IN_MARKET:
        return True
    return uniform(ck, SLOT_ATTENTION) < g.attention


@njit(cache=True, inline="always")
def see_ad(i, ck, b, c, aware, consider, attitude, flags, channel_roles, brand_params, g) -> bool:
    """An ad of brand b on channel c.

    Out of the market it may go unnoticed (``attends``). Updates awareness, attitude and
    consideration. Returns True if it triggers a purchase occasion now: only for a brand
    the customer considers (the channel's purchase role).
    """
    if not attends(i, ck, flags, g):
        return False
    bit = np.uint8(1 << b)
    if not (aware[i] & bit):
        if uniform(ck, SLOT_AWARE) >= channel_roles[c, P.R_AWARENESS]:
            return False
        aware[i] |= bit
    tone = rules.ad_valence(g.ad_tone, brand_params[b, P.B_WOM_SHIFT])
    attitude[i, b] = rules.attitude_update(attitude[i, b], tone, g.ad_weight)
    after_message(i, b, ck, channel_roles[c, P.R_CONSIDERATION], attitude, consider, flags, g)
    if not (consider[i] & bit):
        return False
    return uniform(ck, SLOT_TRIGGER) < channel_roles[c, P.R_PURCHASE]


@njit(cache=True, inline="always")
def see_news(i, ck, b, c, aware, consider, attitude, flags, channel_roles, brand_params, g):
    """News about brand b (a PR crisis, a viral review) met on channel c.

    Earned media: awareness as for an ad, attitude pulled toward the news's own valence
    (``rules.news_update``), consideration updated; it never triggers a purchase.
    """
    if not attends(i, ck, flags, g):
        return
    bit = np.uint8(1 << b)
    if not (aware[i] & bit):
        if uniform(ck, SLOT_AWARE) >= channel_roles[c, P.R_AWARENESS]:
            return
        aware[i] |= bit
    attitude[i, b] = rules.news_update(
        attitude[i, b], brand_params[b, P.B_WOM_SHIFT], g.news_weight
    )
    after_message(i, b, ck, channel_roles[c, P.R_CONSIDERATION], attitude, consider, flags, g)


@njit(cache=True, inline="always")
def hear(i, ck, b, kind, aware, consider, attitude, flags, brand_params, g, consider_slot):
    """A word-of-mouth message of ``kind`` about brand b reaches customer i.

    The listener becomes aware of b and its attitude moves toward the message's valence
    (praise weighs w, a warning w lambda_w, a mention nothing); then the consideration rule.
    """
    aware[i] |= np.uint8(1 << b)
    weight = rules.wom_attitude_weight(kind, g.wom_weight, g.wom_negativity)
    target = rules.wom_valence(kind, brand_params[b, P.B_WOM_SHIFT])
    attitude[i, b] = rules.attitude_update(attitude[i, b], target, weight)
    bit = np.uint8(1 << b)
    if rules.considers(attitude[i, b], g.consider_threshold):
        if flags[i] & IN_MARKET and uniform(ck, consider_slot) < g.wom_consider:
            consider[i] |= bit
    else:
        consider[i] &= ~bit


@njit(cache=True, inline="always")
def hear_word_of_mouth(
    i, ck, voice_in, indptr, indices, complete, n, aware, consider, attitude, flags, brand_params,
    g,
) -> int:  # fmt: skip
    """Pairwise rule: talk with one random neighbour and hear what it says.

    A message that has faded (``rules.message_freshness`` of its age) is heard only with
    that probability. Returns the code heard (brand and kind), or 0 if the neighbour was
    silent, faded or not listened to.
    """
    if complete:
        j = randint(ck, SLOT_PARTNER, n - 1)
        if j >= i:
            j += 1
    else:
        degree = indptr[i + 1] - indptr[i]
        if degree == 0:
            return 0
        j = indices[indptr[i] + randint(ck, SLOT_PARTNER, degree)]
    voice = np.int64(voice_in[j])
    code = voice & CODE_MASK
    if code == 0:
        return 0
    b = (code - 1) // 3
    kind = (code - 1) % 3
    if brand_params[b, P.B_ACTIVE] <= 0.0 or not attends(i, ck, flags, g):
        return 0
    age = voice >> AGE_SHIFT
    if g.message_half_life > 0.0 and age > 0:
        if uniform(ck, SLOT_FRESH) >= rules.message_freshness(age, g.message_half_life):
            return 0
    hear(i, ck, b, kind, aware, consider, attitude, flags, brand_params, g, SLOT_CONSIDER)
    return code


@njit(cache=True, inline="always")
def wom_triggers(i, ck, b, kind, consider, g, slot) -> bool:
    """Praise of a brand the listener considers may prompt a purchase occasion now."""
    if kind != rules.PRAISE or not (consider[i] >> b) & 1:
        return False
    return uniform(ck, slot) < g.wom_purchase


@njit(cache=True, inline="always")
def gather_neighbours(
    i, voice_in, indptr, indices, strong_bits, heard_counts, complete, n, heard, histogram, g
):
    """Speaking neighbours of customer i per brand, kind and tie strength, weighted by freshness.

    ``heard[b, kind, 0]`` sums strong ties, ``heard[b, kind, 1]`` weak ties. On the complete
    network every other customer is a weak tie and the sums come from the step's voice
    ``histogram`` (minus the customer's own voice). Where messages never fade, the counts are
    read from ``heard_counts`` (customers x codes x tie strength), kept up to date between
    steps, instead of from every neighbour (empty: gather). Returns the number of neighbours.
    """
    nb = heard.shape[0]
    if heard_counts.shape[0] > 0:  # kept up to date between steps (count_heard, update_heard)
        for code in range(1, 1 + 3 * nb):
            heard[(code - 1) // 3, (code - 1) % 3, 0] = heard_counts[i, code - 1, 0]
            heard[(code - 1) // 3, (code - 1) % 3, 1] = heard_counts[i, code - 1, 1]
        return indptr[i + 1] - indptr[i]
    heard[:, :, :] = 0.0
    if complete:
        for code in range(1, 1 + 3 * nb):
            heard[(code - 1) // 3, (code - 1) % 3, 1] = histogram[code]
        own = np.int64(voice_in[i])
        code = own & CODE_MASK
        if code > 0:
            fresh = rules.message_freshness(own >> AGE_SHIFT, g.message_half_life)
            heard[(code - 1) // 3, (code - 1) % 3, 1] -= fresh
        return n - 1
    lo, hi = indptr[i], indptr[i + 1]
    # Only the cascade weighs strong and weak ties apart; the threshold rule counts them alike.
    by_strength = strong_bits.size > 0 and g.wom_rule == rules.WOM_CASCADE
    fades = g.message_half_life > 0.0
    for e in range(lo, hi):
        voice = np.int64(voice_in[indices[e]])
        code = voice & CODE_MASK
        if code == 0:
            continue
        fresh = 1.0
        if fades:
            fresh = rules.message_freshness(voice >> AGE_SHIFT, g.message_half_life)
        tie = tie_is_weak(strong_bits, e) if by_strength else 1
        heard[(code - 1) // 3, (code - 1) % 3, tie] += fresh
    return hi - lo


@njit(cache=True, inline="always")
def tie_is_weak(strong_bits, e) -> int:
    """1 if CSR entry e is a weak tie (every tie is weak without a strength bitset), else 0."""
    if strong_bits.size == 0:
        return 1
    return 1 - ((np.int64(strong_bits[e >> 3]) >> (e & 7)) & 1)


@njit(parallel=True, cache=True)
def count_heard(voice, indptr, indices, strong_bits, heard_counts) -> None:
    """heard_counts[i, c - 1, w]: neighbours of i whose voice has code c, over ties of weakness w.

    The running neighbourhood of the cascade and threshold rules where messages never fade:
    counted once from every neighbour, then kept up to date by ``update_heard``.
    """
    for i in prange(indptr.size - 1):
        heard_counts[i, :, :] = 0
        for e in range(indptr[i], indptr[i + 1]):
            code = np.int64(voice[indices[e]]) & CODE_MASK
            if code > 0:
                heard_counts[i, code - 1, tie_is_weak(strong_bits, e)] += 1


@njit(parallel=True, cache=True)
def update_heard(before, after, indptr, indices, strong_bits, heard_counts, parts) -> None:
    """Move the counts of every customer whose voice code changed, at each of its neighbours.

    Ties are stored both ways with one strength, so entry e = (i, j) gives the strength of
    (j, i). The listeners are split into ``parts`` ranges, one per thread, each updated by one
    thread only (no two threads write one count). Integer counts: the order of the updates
    does not matter, and the counts equal ``count_heard`` of the new voices whatever
    ``parts`` is. About 3% of customers change what they say in a step.
    """
    n = indptr.size - 1
    size = (n + parts - 1) // parts
    for p in prange(parts):
        first, last = p * size, min(n, (p + 1) * size)
        for i in range(n):
            old = np.int64(before[i]) & CODE_MASK
            new = np.int64(after[i]) & CODE_MASK
            if old == new:
                continue
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                if j < first or j >= last:
                    continue
                weak = tie_is_weak(strong_bits, e)
                if old > 0:
                    heard_counts[j, old - 1, weak] -= 1
                if new > 0:
                    heard_counts[j, new - 1, weak] += 1


@njit(cache=True, inline="always")
def network_word_of_mouth(
    i, ck, voice_in, indptr, indices, strong_bits, heard_counts, complete, n, histogram, heard,
    aware, consider,
    attitude, flags, threshold, brand_params, chan, wom_channel, g,
):  # fmt: skip
    """Cascade or threshold rule: what every neighbour says reaches customer i this step.

    cascade (Goldenberg, Libai and Muller 2001): per brand b, customer i is reached with
    ``rules.cascade_probability`` of its speaking strong and weak ties; a reached customer
    hears one message, its kind drawn in proportion to each kind's own reach probability.
    threshold (Granovetter 1978): per brand b, a customer whose share of neighbours praising b
    reaches its threshold takes a positive view (as hearing praise), and one whose share
    warning about b reaches it a negative view (as hearing a warning).
    Returns the code of the last message heard (0: none) and whether praise of a considered
    brand prompted a purchase occasion.
    """
    if not (flags[i] & IN_MARKET) and uniform(ck, SLOT_WOM_ATTENTION) >= g.attention:
        return 0, False
    degree = gather_neighbours(
        i, voice_in, indptr, indices, strong_bits, heard_counts, complete, n, heard, histogram, g
    )
    if degree == 0:
        return 0, False
    nb = heard.shape[0]
    last = 0
    triggered = False
    log_keep_strong = log_keep_weak = 0.0
    if g.wom_rule == rules.WOM_CASCADE:  # ln(1 - b_s), ln(1 - b_w): once per person and step
        log_keep_strong = math.log1p(-g.wom_strong)
        log_keep_weak = math.log1p(-g.wom_weak)
    for b in range(nb):
        if brand_params[b, P.B_ACTIVE] <= 0.0:
            continue
        kind = -1
        if g.wom_rule == rules.WOM_CASCADE:
            strong = heard[b, 0, 0] + heard[b, 1, 0] + heard[b, 2, 0]
            weak = heard[b, 0, 1] + heard[b, 1, 1] + heard[b, 2, 1]
            if strong + weak <= 0.0:
                continue
            reach = rules.cascade_probability_from_logs(
                strong, weak, log_keep_strong, log_keep_weak
            )
            u = uniform(ck, SLOT_WOM + 2 * b)
            if u >= reach:
                continue
            # which message: in proportion to each kind's own reach probability
            total = 0.0
            for k in range(3):
                total += rules.cascade_probability_from_logs(
                    heard[b, k, 0], heard[b, k, 1], log_keep_strong, log_keep_weak
                )
            pick = u / reach * total
            for k in range(3):
                pick -= rules.cascade_probability_from_logs(
                    heard[b, k, 0], heard[b, k, 1], log_keep_strong, log_keep_weak
                )
                if pick < 0.0 or k == 2:
                    kind = k
                    break
        else:
            praising = heard[b, rules.PRAISE, 0] + heard[b, rules.PRAISE, 1]
            warning = heard[b, rules.WARN, 0] + heard[b, rules.WARN, 1]
            if rules.threshold_reached(warning, degree, threshold[i]):
                hear(i, ck, b, rules.WARN, aware, consider, attitude, flags, brand_params, g,
                     SLOT_WOM + 2 * b + 1)  # fmt: skip
                chan[b, wom_channel, P.C_IMPRESSIONS] += 1.0
                last = 1 + 3 * b + rules.WARN
            if rules.threshold_reached(praising, degree, threshold[i]):
                kind = rules.PRAISE
        if kind < 0:
            continue
        hear(i, ck, b, kind, aware, consider, attitude, flags, brand_params, g,
             SLOT_WOM + 2 * b + 1)  # fmt: skip
        chan[b, wom_channel, P.C_IMPRESSIONS] += 1.0
        last = 1 + 3 * b + kind
        if kind == rules.PRAISE and (consider[i] >> b) & 1 and not triggered:
            triggered = uniform(ck, SLOT_TRIGGER) < g.wom_purchase
    return last, triggered


@njit(cache=True, inline="always")
def read_reviews(i, ck, aware, consider, attitude, flags, brand_params, channel_roles, g):
    """Read the online ratings of every brand the customer knows.

    Attitude moves toward each brand's rating (weight ``g.review_weight``) and a liked brand
    may enter the consideration set (the reviews channel's consideration role).
    """
    if not attends(i, ck, flags, g):
        return False
    c = np.int64(g.review_channel)
    nb = brand_params.shape[0]
    for b in range(nb):
        if not (aware[i] >> b) & 1 or brand_params[b, P.B_ACTIVE] <= 0.0:
            continue
        attitude[i, b] = rules.attitude_update(
            attitude[i, b], brand_params[b, P.B_RATING], g.review_weight
        )
        bit = np.uint8(1 << b)
        if rules.considers(attitude[i, b], g.consider_threshold):
            if (
                flags[i] & IN_MARKET
                and uniform(ck, SLOT_READ + b) < channel_roles[c, P.R_CONSIDERATION]
            ):
                consider[i] |= bit
        else:
            consider[i] &= ~bit
    return True


@njit(cache=True, inline="always")
def experience_touchpoint(
    i, b, x, ck, satisfaction, expectation, attitude, tenure, flags, disposition, acc, g
) -> bool:
    """Judge an experience x against expectation.

    Updates satisfaction, attitude and expectation; a disappointing experience may be
    complained about (a contact to come); any experience may be reviewed online (more
    likely when extreme). Returns True when a very bad touchpoint makes the customer leave now.
    """
    e = expectation[i]
    d = rules.disconfirmation(x, e)
    v = rules.touchpoint_evaluation(d, g.met_level + disposition[i], g.eval_sensitivity)
    years = tenure[i] / g.steps_per_year
    satisfaction[i] = rules.satisfaction_update(
        satisfaction[i], v, g.sat_weight, g.sat_negativity, g.forgiveness, years
    )
    attitude[i, b] = rules.attitude_update(attitude[i, b], v, g.sat_weight)
    expectation[i] = rules.expectation_update(e, x, g.expectation_rate)
    if d < -g.complaint_threshold and not (flags[i] & COMPLAINT):
        if rules.complaint_filed(
            d, g.complaint_threshold, g.complaint_rate, uniform(ck, SLOT_COMPLAINT)
        ):
            flags[i] |= COMPLAINT
            acc[b, P.A_COMPLAINTS] += 1.0
    if g.review_read > 0.0 and g.review_write > 0.0:  # reviews only matter when read
        if uniform(ck, SLOT_REVIEW) < rules.review_probability(
            d, g.review_write, g.review_extremity
        ):
            acc[b, P.A_REVIEWS] += 1.0
            acc[b, P.A_REVIEW_SUM] += v
    if rules.is_shock(d, g.shock_threshold):
        return uniform(ck, SLOT_SHOCK) < g.shock_switch
    return False


@njit(cache=True, inline="always")
def people_answer(i, ck, b, c, extra_friction, service_quality, resolution, friction, tables, acc,
                  chan):  # fmt: skip
    """A contact answered by the brand's people on channel c (after a queue, if any).

    Returns (outcome, quality the experience is drawn around, friction). A waiting contact
    adds the queue's friction and may be abandoned: an unresolved failure.
    """
    wait_prob, wait_friction, abandon = tables
    chan[b, c, P.C_CONTACTS] += 1.0
    q = service_quality[b, c]
    f = friction[b, c] + extra_friction
    if wait_prob[b, c] > 0.0 and uniform(ck, SLOT_WAIT) < wait_prob[b, c]:
        acc[b, P.A_WAITED] += 1.0
        f += wait_friction[b, c]
        if uniform(ck, SLOT_ABANDON) < abandon[b, c]:
            acc[b, P.A_ABANDONED] += 1.0
            return rules.SERVICE_FAILED, q, f
    return rules.service_outcome(uniform(ck, SLOT_SERVICE), q, resolution[b, c]), q, f


@njit(cache=True, inline="always")
def serve(i, ck, b, c, service_quality, resolution, friction, queue, brand_params, acc, chan):
    """Who answers a service contact and how it ends.

    With a chatbot (a share of contacts): it solves the contact with its quality; what it
    cannot solve it escalates to people with the escalation probability (more waiting), or
    leaves unresolved. Otherwise the brand's people answer (``people_answer``).
    Returns (outcome, quality the experience is drawn around, friction).
    """
    bot = brand_params[b, P.B_BOT_SHARE]
    if bot > 0.0 and uniform(ck, SLOT_BOT) < bot:
        acc[b, P.A_BOT_CONTACTS] += 1.0
        q = brand_params[b, P.B_BOT_QUALITY]
        f = brand_params[b, P.B_BOT_FRICTION]
        if uniform(ck, SLOT_SERVICE) < q:
            return rules.SERVICE_SUCCESS, q, f
        escalation = brand_params[b, P.B_BOT_ESCALATION]
        if escalation > 0.0 and uniform(ck, SLOT_ESCALATE) < escalation:
            acc[b, P.A_ESCALATED] += 1.0
            extra = f + brand_params[b, P.B_ESCALATION_FRICTION]
            return people_answer(i, ck, b, c, extra, service_quality, resolution, friction,
                                 queue, acc, chan)  # fmt: skip
        return rules.SERVICE_FAILED, q, f
    return people_answer(i, ck, b, c, 0.0, service_quality, resolution, friction, queue, acc,
                         chan)  # fmt: skip


@njit(cache=True, inline="always")
def alternatives_of(
    i, b, aware, attitude, price_sensitivity, channel, brand_params, friction, g
) -> float:
    """P_alt of ``rules.alternatives_factor``: the rivals' logit share against brand b.

    The rivals are every brand the customer knows of (``aware``), not only those it considers:
    a switcher has just dropped its old brand from its set, and counting the known brands keeps
    its alternatives (at the attitude it left with) in view, so the factor does not rise with
    tenure as rivals re-enter the set.
    """
    c = channel[i]
    own = utility_of(i, b, -1, attitude, price_sensitivity, c, brand_params, friction, g)
    others = np.int64(aware[i]) & ~(1 << b)
    total = 1.0
    rivals = 0.0
    for r in range(brand_params.shape[0]):
        if (others >> r) & 1 and brand_params[r, P.B_ACTIVE] > 0.0:
            e = math.exp(
                utility_of(i, r, -1, attitude, price_sensitivity, c, brand_params, friction, g)
                - own
            )
            rivals += e
            total += e
    return rivals / total


@njit(cache=True, inline="always")
def class_of(i, b, attitude, satisfaction, g) -> int:
    """Customer i's NPS class for brand b now (``rules.nps_class`` of its score)."""
    score = rules.recommend_score(satisfaction[i], attitude[i, b], g.recommend_weight)
    return rules.nps_class(rules.likelihood_to_recommend(score))


@njit(cache=True, inline="always")
def price_reaction_of(i, b, consider, price_sensitivity, brand_params, g) -> float:
    """Customer i's price reaction (``rules.price_reaction``): its brand b, considered rivals."""
    rival = 0.0
    others = np.int64(consider[i]) & ~(1 << b)
    for r in range(brand_params.shape[0]):
        if (others >> r) & 1 and brand_params[r, P.B_ACTIVE] > 0.0:
            rival = min(rival, brand_params[r, P.B_PRICE_GAP])
    return rules.price_reaction(
        brand_params[b, P.B_PRICE_GAP], rival, price_sensitivity[i], g.price_reevaluation
    )


@njit(cache=True, inline="always")
def leave_brand(i, b, attitude, satisfaction, consider, last_brand, grudge, resentful):
    """A churner drops its brand.

    The brand leaves the consideration set, its attitude is made no higher than the
    customer's satisfaction, it is remembered as the last brand and, for a ``resentful``
    leaver (not one whose need ended), warnings about it start (``grudge`` age 1).
    """
    attitude[i, b] = min(attitude[i, b], satisfaction[i])
    consider[i] &= ~np.uint8(1 << b)
    last_brand[i] = b
    grudge[i] = 1 if resentful else 0


@njit(cache=True, inline="always")
def join_brand(i, b, attitude, satisfaction, tenure, aware, consider, brand):
    """Become a customer of brand b: satisfaction starts at the attitude that chose it."""
    brand[i] = b
    tenure[i] = 0
    satisfaction[i] = attitude[i, b]
    aware[i] |= np.uint8(1 << b)
    consider[i] |= np.uint8(1 << b)


@njit(cache=True, inline="always")
def forget_brand(i, b, aware, consider, attitude, brand_params):
    """Forget brand b: unaware of it again, out of the set, attitude back to the brand's equity."""
    bit = np.uint8(1 << b)
    aware[i] &= ~bit
    consider[i] &= ~bit
    attitude[i, b] = brand_params[b, P.B_EQUITY]


@njit(cache=True, inline="always")
def newcomer(
    i, aware, consider, attitude, flags, grudge, last_touch, last_brand, stage, brand_params
):
    """A newcomer takes the place of someone who left the population (births, deaths, moves).

    It knows no brand (attitudes at each brand's equity), has no need for the category yet,
    no past brand and nothing to say; it keeps the place's traits, drawn from the same
    distributions.
    """
    aware[i] = 0
    consider[i] = 0
    for b in range(brand_params.shape[0]):
        attitude[i, b] = brand_params[b, P.B_EQUITY]
    flags[i] = 0
    grudge[i] = 0
    last_touch[i] = 0
    last_brand[i] = -1
    stage[i] = rules.UNAWARE


@njit(cache=True, inline="always")
def credit_conversion(b, touch, acc, chan, wom_channel):
    """Credit an acquisition of b to its last touchpoint, if that was b's message."""
    if touch == 0:
        return
    about = (touch >> 8) & 0xF
    kind = touch >> 12
    if about != b and not (kind == rules.TOUCH_REVIEWS and about == rules.ANY_BRAND):
        return
    if kind == rules.TOUCH_WOM:
        acc[b, P.A_ACQUIRED_WOM] += 1.0
        chan[b, wom_channel, P.C_CONVERSIONS] += 1.0
    elif kind == rules.TOUCH_AD or kind == rules.TOUCH_NEWS or kind == rules.TOUCH_REVIEWS:
        chan[b, touch & 0xFF, P.C_CONVERSIONS] += 1.0


@njit(cache=True, error_model="numpy")
def step_customers(
    lo, hi, step_key, n_channels, complete, customers, market, network, voice_in, voice_out,
    acc_all, chan_all, flow_all, t, cohort, trace,
):  # fmt: skip
    """One step of customers lo..hi-1 (see the module docstring), then their record.

    ``customers``, ``market``, ``network`` and ``trace`` are tuples of columns (see
    ``step_all``), unpacked once per chunk: the per-customer helpers are inlined, so no
    array reference counting happens per customer. ``acc_all[s]``, ``chan_all[s]`` are this
    chunk's accumulators of cell s, ``flow_all[s]`` its flow matrix; ``ad_cum[s]`` is cell s's
    cumulated exposure table and ``quality_all[s]``, ``resolution_all[s]``,
    ``friction_all[s]`` its service and buying tables, read at the customer's cell
    (region byte x segments + segment byte); ``params_all[r]`` is region r's brand table.
    """
    (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
        wom_threshold, disposition, segment, region,
    ) = customers  # fmt: skip
    (
        params_all, ad_cum, quality_all, resolution_all, friction_all, channel_roles, g_values,
        wait_prob, wait_friction, abandon, histogram,
    ) = market  # fmt: skip
    queue = (wait_prob, wait_friction, abandon)
    g = globals_of(g_values)
    indptr, indices, strong_bits, heard_counts = network
    trace_bits, trace_ids, trace_touch = trace
    n_segments = ad_cum.shape[0] // params_all.shape[0]
    nb = params_all.shape[1]
    n = stage.size
    wom_channel = n_channels  # word of mouth's pseudo-channel in ``chan``
    pairwise = g.wom_rule == rules.WOM_PAIRWISE
    fading = g.message_half_life > 0.0
    acc_all[:, :, :] = 0.0
    chan_all[:, :, :, :] = 0.0
    flow_all[:, :, :] = 0
    masks_all = np.zeros((acc_all.shape[0], 2, 256), dtype=np.int64)
    heard = np.zeros((nb, 3, 2))
    n_rates = ad_cum.shape[1]
    n_paid = n_rates // 2
    prices_moved = False
    for r in range(params_all.shape[0]):
        for b in range(nb):
            prices_moved = prices_moved or params_all[r, b, P.B_PRICE_GAP] != 0.0
    # one region: the brand table is the same for everyone; one cell: every table is
    seg = 0
    brand_params = params_all[0]
    acc, chan, masks, flow = acc_all[0], chan_all[0], masks_all[0], flow_all[0]
    service_quality, resolution, friction = quality_all[0], resolution_all[0], friction_all[0]
    regional = params_all.shape[0] > 1
    cells = ad_cum.shape[0] > 1
    for i in range(lo, hi):
        if regional:
            reg = np.int64(region[i])
            brand_params = params_all[reg]  # the region's prices, launches and events
            seg = reg * n_segments + np.int64(segment[i])  # the customer's cell
        elif cells:
            seg = np.int64(segment[i])
        if cells:
            acc, chan, masks, flow = acc_all[seg], chan_all[seg], masks_all[seg], flow_all[seg]
            # the cell's service quality, resolution and friction (events may target it)
            service_quality, resolution = quality_all[seg], resolution_all[seg]
            friction = friction_all[seg]
        ad_total = ad_cum[seg, n_rates - 1]
        ck = customer_key(step_key, i)
        b0 = np.int64(brand[i])
        s_from = state_index(stage[i], b0, nb)
        triggered = False
        shocked = False
        exited = False
        replaced = False
        touch = 0
        left_class = rules.PASSIVE  # NPS class of a leaver when it left

        # 1. At most one event, drawn from competing per-step rates.
        u = uniform(ck, SLOT_EVENT)
        talk = rules.conversation_rate(g.talk_rate, wom_activity[i]) if pairwise else 0.0
        if u < ad_total:
            # ad_cum runs over paid ads (brand, channel), then news (brand, channel)
            k = np.searchsorted(ad_cum[seg], u, side="right")
            if k < n_paid:
                b, c = k // n_channels, k % n_channels
                triggered = see_ad(
                    i, ck, b, c, aware, consider, attitude, flags, channel_roles, brand_params, g
                )
                chan[b, c, P.C_IMPRESSIONS] += 1.0
                touch = rules.touch_code(rules.TOUCH_AD, b, c)
            else:
                k -= n_paid
                b, c = k // n_channels, k % n_channels
                see_news(
                    i, ck, b, c, aware, consider, attitude, flags, channel_roles, brand_params, g
                )
                chan[b, c, P.C_NEWS] += 1.0
                touch = rules.touch_code(rules.TOUCH_NEWS, b, c)
            last_touch[i] = touch
        elif u < ad_total + talk:
            code = hear_word_of_mouth(
                i, ck, voice_in, indptr, indices, complete, n, aware, consider, attitude, flags,
                brand_params, g,
            )  # fmt: skip
            if code > 0:
                b, kind = (code - 1) // 3, (code - 1) % 3
                chan[b, wom_channel, P.C_IMPRESSIONS] += 1.0
                touch = rules.touch_code(rules.TOUCH_WOM, b, rules.NO_CHANNEL)
                last_touch[i] = touch
                triggered = wom_triggers(i, ck, b, kind, consider, g, SLOT_TRIGGER)
        elif u < ad_total + talk + g.review_read:
            if read_reviews(
                i, ck, aware, consider, attitude, flags, brand_params, channel_roles, g
            ):
                touch = rules.touch_code(rules.TOUCH_REVIEWS, rules.ANY_BRAND,
                                         np.int64(g.review_channel))  # fmt: skip
                last_touch[i] = touch
        else:
            u -= ad_total + talk + g.review_read
            if b0 >= 0:
                contact = g.contact_rate
                if flags[i] & COMPLAINT:
                    contact += g.complaint_contact
                if u < g.usage_rate:
                    x = rules.experience_draw(
                        brand_params[b0, P.B_PRODUCT_QUALITY], g.noise, uniform(ck, SLOT_EXPERIENCE)
                    )
                    x = rules.personalised_experience(
                        x, expectation[i], brand_params[b0, P.B_EXPECTATION_MATCH]
                    )
                    shocked = experience_touchpoint(
                        i, b0, x, ck, satisfaction, expectation, attitude, tenure, flags,
                        disposition, acc, g,
                    )  # fmt: skip
                    touch = rules.touch_code(rules.TOUCH_USAGE, b0, rules.NO_CHANNEL)
                    u = 2.0  # handled
                elif u < g.usage_rate + contact:
                    c = channel[i]
                    outcome, q, f = serve(
                        i, ck, b0, c, service_quality, resolution, friction, queue, brand_params,
                        acc, chan,
                    )  # fmt: skip
                    x_ok = rules.experience_draw(q, g.noise, uniform(ck, SLOT_EXPERIENCE))
                    x = rules.service_experience(
                        outcome, x_ok, expectation[i], g.recovery_paradox, g.failure_experience, f
                    )
                    x = rules.personalised_experience(
                        x, expectation[i], brand_params[b0, P.B_EXPECTATION_MATCH]
                    )
                    acc[b0, P.A_CONTACTS] += 1.0
                    if outcome != rules.SERVICE_SUCCESS:
                        acc[b0, P.A_FAILURES] += 1.0
                    if outcome == rules.SERVICE_RECOVERED:
                        acc[b0, P.A_RECOVERED] += 1.0
                    # an unresolved failure leaves the problem open: the customer will call back
                    if outcome == rules.SERVICE_FAILED:
                        flags[i] |= np.uint8(COMPLAINT)
                    else:
                        flags[i] &= ~np.uint8(COMPLAINT)
                    shocked = experience_touchpoint(
                        i, b0, x, ck, satisfaction, expectation, attitude, tenure, flags,
                        disposition, acc, g,
                    )  # fmt: skip
                    touch = rules.touch_code(rules.TOUCH_SERVICE, b0, c)
                    u = 2.0  # handled
                else:
                    u -= g.usage_rate + contact
            if u < 1.0:
                others = np.int64(aware[i])
                if b0 >= 0:
                    others &= ~(1 << b0)
                forget = g.forget_rate * popcount8(others)
                if u < forget:
                    k = min(
                        int(uniform(ck, SLOT_FORGET) * popcount8(others)), popcount8(others) - 1
                    )
                    forget_brand(i, nth_bit(others, k), aware, consider, attitude, brand_params)
                elif u < forget + g.turnover:  # leaves the population; a newcomer takes the place
                    replaced = True
                    exited = b0 >= 0
                elif flags[i] & IN_MARKET:
                    if u < forget + g.turnover + g.exit_rate:  # the need ends: out of the category
                        flags[i] &= ~np.uint8(IN_MARKET)
                        consider[i] = 0
                        exited = b0 >= 0
                elif u < forget + g.turnover + g.entry_rate:  # a need appears
                    flags[i] |= np.uint8(IN_MARKET)

        # 1b. Network word of mouth (cascade, threshold): every neighbour's voice this step.
        if not pairwise and not replaced:
            code, prompted = network_word_of_mouth(
                i, ck, voice_in, indptr, indices, strong_bits, heard_counts, complete, n,
                histogram, heard,
                aware, consider, attitude, flags, wom_threshold, brand_params, chan, wom_channel,
                g,
            )  # fmt: skip
            if code > 0:
                b = (code - 1) // 3
                wom_touch = rules.touch_code(rules.TOUCH_WOM, b, rules.NO_CHANNEL)
                last_touch[i] = wom_touch
                if touch == 0:
                    touch = wom_touch
                triggered = triggered or prompted

        # 2. Purchase occasion (in the market): choose from the consideration set and the brand.
        b1 = b0
        choice_set = np.int64(consider[i])
        if b0 >= 0:
            choice_set |= 1 << b0
        if choice_set != 0 and not (shocked or exited or replaced) and flags[i] & IN_MARKET:
            if triggered or uniform(ck, SLOT_OCCASION) < g.need_rate:
                chosen = choose_brand(
                    i, choice_set, b0, attitude, price_sensitivity, channel, brand_params, friction,
                    g, uniform(ck, SLOT_CHOICE),
                )  # fmt: skip
                if chosen >= 0:
                    b1 = chosen
                    if b0 >= 0 and b1 != b0:  # switched at a purchase occasion
                        left_class = class_of(i, b0, attitude, satisfaction, g)
                        leave_brand(
                            i, b0, attitude, satisfaction, consider, last_brand, grudge, True
                        )
                        acc[b0, P.A_CHURN_SWITCH] += 1.0

        # 3. Churn: leaving the category, the dissatisfaction hazard, or a very bad touchpoint.
        if b0 >= 0 and b1 == b0:
            leaves = shocked or exited
            if not leaves:
                u = uniform(ck, SLOT_CHURN)
                bound = g.churn_bound * brand_params[b0, P.B_CHURN_MULT] * churn_propensity[i]
                if g.alternatives_weight > 0.0:
                    bound *= rules.alternatives_factor(
                        1.0, g.alternatives_weight, g.alternatives_reference
                    )
                x_p = 0.0
                if prices_moved:  # a price differs from its reference: the customer may react
                    x_p = price_reaction_of(i, b0, consider, price_sensitivity, brand_params, g)
                    bound += x_p
                # Skip the exponential unless u is below the hazard's bound (exact, and cheap).
                if u < bound:
                    mult = brand_params[b0, P.B_CHURN_MULT]
                    if g.alternatives_weight > 0.0:
                        mult *= rules.alternatives_factor(
                            alternatives_of(
                                i, b0, aware, attitude, price_sensitivity, channel,
                                brand_params, friction, g,
                            ),
                            g.alternatives_weight, g.alternatives_reference,
                        )  # fmt: skip
                    h = rules.churn_hazard(
                        churn_propensity[i], satisfaction[i], g.churn_sensitivity,
                        g.churn_reference, mult, x_p,
                    )  # fmt: skip
                    leaves = u < h
                if leaves:
                    acc[b0, P.A_CHURN_HAZARD] += 1.0
            elif exited:
                acc[b0, P.A_CHURN_EXIT] += 1.0
            else:
                acc[b0, P.A_CHURN_SHOCK] += 1.0
            if leaves:
                left_class = class_of(i, b0, attitude, satisfaction, g)
                leave_brand(i, b0, attitude, satisfaction, consider, last_brand, grudge, not exited)
                b1 = -1
                if not exited:
                    competitors = np.int64(consider[i]) & ~(1 << b0)
                    b1 = choose_brand(
                        i, competitors, -1, attitude, price_sensitivity, channel, brand_params,
                        friction, g, uniform(ck, SLOT_SWITCH),
                    )  # fmt: skip
                if b1 < 0:
                    brand[i] = -1
                    if not replaced:
                        acc[b0, P.A_LAPSED] += 1.0
        if b1 != b0:
            if b0 >= 0:
                acc[b0, P.A_CHURNED] += 1.0
                acc[b0, P.A_CHURNED_CLASS + 1 + left_class] += 1.0
            if b1 >= 0:
                join_brand(i, b1, attitude, satisfaction, tenure, aware, consider, brand)
                acc[b1, P.A_ACQUIRED] += 1.0
                credit_conversion(b1, last_touch[i], acc, chan, wom_channel)
        elif b0 >= 0:
            tenure[i] = min(np.int64(tenure[i]) + 1, 65535)
        if replaced:
            newcomer(i, aware, consider, attitude, flags, grudge, last_touch, last_brand, stage,
                     brand_params)  # fmt: skip

        # 4. Stage, what the customer will say next step, and the record.
        stage[i] = rules.stage_of(brand[i], consider[i], aware[i], stage[i])
        if trace_bits[i >> 3] & (1 << (i & 7)):
            trace_touch[np.searchsorted(trace_ids, i)] = touch
        record_customer(
            i, ck, s_from, stage, brand, last_brand, aware, consider, attitude, satisfaction,
            tenure, grudge, brand_params, g, voice_out, acc, flow, masks, t, cohort,
        )  # fmt: skip
        if fading:  # a message ages while it is repeated unchanged, with no new experience
            code = np.int64(voice_out[i]) & CODE_MASK
            previous = np.int64(voice_in[i])
            experienced = (touch >> 12) == rules.TOUCH_USAGE or (touch >> 12) == rules.TOUCH_SERVICE
            age = 0
            if code == (previous & CODE_MASK) and not experienced and not replaced:
                age = min((previous >> AGE_SHIFT) + 1, 255)
            voice_out[i] = code | (age << AGE_SHIFT)
    for seg in range(acc_all.shape[0]):
        count_masks(masks_all[seg], acc_all[seg])


@njit(cache=True, inline="always")
def voice_of(i, ck, stage, brand, last_brand, attitude, satisfaction, grudge, g) -> int:
    """What a customer will say when asked next step (0 is silence, see ``state.encode_voice``).

    A customer who left a brand warns about it with the fading probability of its grudge
    (``rules.grudge_probability``); otherwise customers speak about their brand and lapsed
    customers about their last one, by their likelihood to recommend; others are silent.
    """
    st = stage[i]
    if grudge[i] > 0:
        age = grudge[i] - 1
        p = rules.grudge_probability(age, g.grudge_half_life)
        grudge[i] = 0 if (p < 0.01 or grudge[i] >= 255) else grudge[i] + 1
        if uniform(ck, SLOT_VOICE) < p and last_brand[i] >= 0:
            return 1 + 3 * np.int64(last_brand[i]) + rules.WARN
    b = np.int64(brand[i])
    if st == rules.LAPSED:
        b = np.int64(last_brand[i])
    if b < 0 or (st != rules.CUSTOMER and st != rules.LAPSED):
        return 0
    score = rules.recommend_score(satisfaction[i], attitude[i, b], g.recommend_weight)
    return 1 + 3 * b + rules.message_kind(score)


@njit(cache=True, inline="always")
def record_customer(
    i, ck, s_from, stage, brand, last_brand, aware, consider, attitude, satisfaction, tenure,
    grudge, brand_params, g, voice_out, acc, flow, masks, t, cohort,
):  # fmt: skip
    """Add customer i to the step's accumulators; customers pay for the step.

    ``cohort[b, k]`` counts, over the run, customers of b seen k steps after joining
    (tenure k < t, so only cohorts acquired during the run): the numerators of the
    cohort retention curve.

    Awareness and consideration are counted as histograms of the 8-bit masks
    (``masks``), expanded into per-brand counts once per chunk by ``count_masks``.

    Revenue of a customer of b: p_b * m_b * (1 + g min(tenure / steps_per_year, cap)),
    also tallied by tenure band (years 0-1, 1-2, 2-3, 3+).
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
    if b >= 0:
        k = np.int64(tenure[i])
        if k < t and k < cohort.shape[1]:
            cohort[b, k] += 1
        s = satisfaction[i]
        a = attitude[i, b]
        acc[b, P.A_CUSTOMERS] += 1.0
        acc[b, P.A_SATISFACTION] += s
        acc[b, P.A_ATTITUDE] += a
        spend = rules.spend_multiplier(tenure[i], g.steps_per_year, g.tenure_uplift, g.tenure_cap)
        revenue = brand_params[b, P.B_PRICE] * brand_params[b, P.B_SPEND_MULT] * spend
        acc[b, P.A_REVENUE] += revenue
        band = min(int(tenure[i] / g.steps_per_year), P.N_TENURE_BANDS - 1)
        acc[b, P.A_TENURE_BANDS + band] += 1.0
        acc[b, P.A_TENURE_BANDS + P.N_TENURE_BANDS + band] += revenue
        score = rules.recommend_score(s, a, g.recommend_weight)
        # promoters, passives and detractors are summed from these by ``count_masks``
        acc[b, P.A_LTR + rules.likelihood_to_recommend(score)] += 1.0
    voice_out[i] = voice_of(i, ck, stage, brand, last_brand, attitude, satisfaction, grudge, g)


@njit(cache=True, inline="always")
def count_masks(masks, acc):
    """Per-brand aware and considering counts from the chunk's mask histograms.

    Also the NPS classes from the likelihood-to-recommend counts (``rules.nps_class`` of each
    score), once per chunk rather than once per customer.
    """
    nb = acc.shape[0]
    for m in range(256):
        for k in range(nb):
            if (m >> k) & 1:
                acc[k, P.A_AWARE] += masks[0, m]
                acc[k, P.A_CONSIDERING] += masks[1, m]
    for k in range(nb):
        for ltr in range(11):
            cls = rules.nps_class(ltr)
            if cls == rules.PROMOTER:
                acc[k, P.A_PROMOTERS] += acc[k, P.A_LTR + ltr]
            elif cls == rules.DETRACTOR:
                acc[k, P.A_DETRACTORS] += acc[k, P.A_LTR + ltr]
            else:
                acc[k, P.A_PASSIVES] += acc[k, P.A_LTR + ltr]


@njit(parallel=True, cache=True)
def step_all(
    step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation,
    tenure, price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
    wom_threshold, disposition, segment, region, voice_in, voice_out, indptr, indices, strong_bits,
    heard_counts, complete,
    brand_params, ad_cum, n_channels, service_quality, resolution, friction, channel_roles,
    g_values, wait_prob, wait_friction, abandon, histogram, acc, chan, flow, t, cohort,
    trace_bits, trace_ids, trace_touch,
):  # fmt: skip
    """One step of all customers, chunk by chunk in parallel (``g_values``: see ``globals_of``).

    Customer i is in cell k = region_i S + segment_i (S segments, R regions, K = R S cells).
    acc[j, k], chan[j, k] and flow[j, k] hold chunk j's aggregates and moves of cell k,
    cohort[j] its cohorts (cohort over the whole run); ``brand_params[r]`` is region r's brand
    table ([R, B, N]); ``ad_cum[k]`` is cell k's cumulated exposure rates (paid ads of each
    brand and channel, then news); ``service_quality[k]``, ``resolution[k]`` and
    ``friction[k]`` its service and buying tables ([K, B, C], ``JourneyModel.kernel_tables``);
    ``trace_touch`` receives
    this step's touchpoint code of each traced customer; ``histogram[code]`` is the step's
    freshness-weighted count of each voice code (the complete network's neighbourhood for the
    cascade and threshold rules).
    """
    customers = (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
        wom_threshold, disposition, segment, region,
    )  # fmt: skip
    market = (brand_params, ad_cum, service_quality, resolution, friction, channel_roles, g_values,
              wait_prob, wait_friction, abandon, histogram)  # fmt: skip
    network = (indptr, indices, strong_bits, heard_counts)
    trace = (trace_bits, trace_ids, trace_touch)
    n = stage.size
    n_chunks = (n + CHUNK - 1) // CHUNK
    for k in prange(n_chunks):
        step_customers(
            k * CHUNK, min(n, (k + 1) * CHUNK), step_key, n_channels, complete, customers,
            market, network, voice_in, voice_out, acc[k], chan[k], flow[k], t, cohort[k], trace,
        )  # fmt: skip


@njit(cache=True, error_model="numpy")
def record_chunk(
    lo, hi, step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, tenure,
    grudge, segment, region, params_all, g_values, voice_out, acc_all, flow,
):  # fmt: skip
    """Record customers lo..hi-1 as they are (no move), and set what they say.

    ``acc_all[k]`` and ``flow[k]`` hold cell k's aggregates and moves; ``params_all[r]`` is
    region r's brand table.
    """
    g = globals_of(g_values)
    acc_all[:, :, :] = 0.0
    flow[:, :, :] = 0
    masks_all = np.zeros((acc_all.shape[0], 2, 256), dtype=np.int64)
    nb = params_all.shape[1]
    n_segments = acc_all.shape[0] // params_all.shape[0]
    no_cohort = np.zeros((nb, 0), dtype=np.int64)  # step 0 has no cohort yet
    for i in range(lo, hi):
        reg = np.int64(region[i])
        seg = reg * n_segments + np.int64(segment[i])
        s = state_index(stage[i], np.int64(brand[i]), nb)
        record_customer(
            i, customer_key(step_key, i), s, stage, brand, last_brand, aware, consider, attitude,
            satisfaction, tenure, grudge, params_all[reg], g, voice_out, acc_all[seg], flow[seg],
            masks_all[seg], 0, no_cohort,
        )  # fmt: skip
    for seg in range(acc_all.shape[0]):
        count_masks(masks_all[seg], acc_all[seg])


@njit(parallel=True, cache=True)
def record_all(
    step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, tenure, grudge,
    segment, region, brand_params, g_values, voice_out, acc, flow,
):  # fmt: skip
    """Record the state as it is (step 0), chunk by chunk, and set what everyone says."""
    n = stage.size
    n_chunks = (n + CHUNK - 1) // CHUNK
    for k in prange(n_chunks):
        record_chunk(
            k * CHUNK, min(n, (k + 1) * CHUNK), step_key, stage, brand, last_brand, aware,
            consider, attitude, satisfaction, tenure, grudge, segment, region, brand_params,
            g_values, voice_out, acc[k], flow[k],
        )  # fmt: skip


def n_chunks(n: int) -> int:
    """Number of work units for n customers."""
    return (n + CHUNK - 1) // CHUNK
