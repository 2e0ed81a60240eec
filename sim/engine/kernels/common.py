"""Small helpers every phase of a customer's step uses: globals, state index, bit sets."""

from __future__ import annotations

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit


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
