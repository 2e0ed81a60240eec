"""Step phase 3, churn: the hazard's inputs, leaving, switching and joining a brand."""

from __future__ import annotations

import math

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit
from sim.engine.kernels.choice import utility_of


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
