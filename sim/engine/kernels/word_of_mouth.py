"""Step phase 1, what others say: pairwise word of mouth, the network rules, reviews."""

from __future__ import annotations

import math

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit, prange
from sim.engine.kernels.messages import attends
from sim.engine.params import AGE_SHIFT, CODE_MASK, IN_MARKET
from sim.engine.rng import (
    SLOT_CONSIDER,
    SLOT_FRESH,
    SLOT_PARTNER,
    SLOT_READ,
    SLOT_TRIGGER,
    SLOT_WOM,
    SLOT_WOM_ATTENTION,
    randint,
    uniform,
)


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
