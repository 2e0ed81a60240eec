"""Step phase 1, messages: ads and news met on a channel, consideration, forgetting."""

from __future__ import annotations

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit
from sim.engine.params import IN_MARKET
from sim.engine.rng import SLOT_ATTENTION, SLOT_AWARE, SLOT_CONSIDER, SLOT_TRIGGER, uniform


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
def forget_brand(i, b, aware, consider, attitude, brand_params):
    """Forget brand b: unaware of it again, out of the set, attitude back to the brand's equity."""
    bit = np.uint8(1 << b)
    aware[i] &= ~bit
    consider[i] &= ~bit
    attitude[i, b] = brand_params[b, P.B_EQUITY]
