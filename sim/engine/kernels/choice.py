"""Step phase 2, the purchase occasion: utilities and the multinomial logit choice."""

from __future__ import annotations

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit


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
