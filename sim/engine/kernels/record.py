"""Step phase 4, tenure, stage and record: newcomers, voice and the step's tallies."""

from __future__ import annotations

import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit, prange
from sim.engine.kernels.common import globals_of, state_index
from sim.engine.rng import SLOT_VOICE, customer_key, uniform


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
    grudge, brand_params, g, voice_out, acc, flow, masks, t, cohort_cells, cell,
):  # fmt: skip
    """Add customer i to the step's accumulators; customers pay for the step.

    ``acc``, ``flow`` and ``masks`` are the tallies of the customer's (region, segment) cell
    ``cell``; ``cohort_cells[cell, b, k]`` counts, over the run, customers of b in the cell
    seen k steps after joining (tenure k < t, so only cohorts acquired during the run): the
    numerators of the cohort retention curve, active_b(k) = sum_t #{i of b at step t:
    tenure_i = k < t}, summed over the cells.

    Awareness and consideration are counted as histograms of the brand masks (``masks``,
    2^B entries for B brands: small enough to stay in the fastest cache for every cell),
    expanded into per-brand counts once per chunk by ``count_masks``.

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
        if k < t and k < cohort_cells.shape[2]:
            cohort_cells[cell, b, k] += 1
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
    for m in range(masks.shape[1]):
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


@njit(cache=True, error_model="numpy")
def record_chunk(
    lo, hi, cell, step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction,
    tenure, grudge, params_all, n_segments, g_values, voice_out, acc, flow,
):  # fmt: skip
    """Record customers lo..hi-1 of one cell as they are (no move), and set what they say.

    ``acc`` and ``flow`` are the chunk's aggregates and moves; ``params_all[r]`` is region
    r's brand table, the cell's region r = cell // ``n_segments``.
    """
    g = globals_of(g_values)
    acc[:, :] = 0.0
    flow[:, :] = 0
    nb = params_all.shape[1]
    brand_params = params_all[cell // n_segments]
    masks = np.zeros((2, 1 << nb), dtype=np.int64)
    no_cohort = np.zeros((1, nb, 0), dtype=np.int64)  # no cohort at step 0
    for i in range(lo, hi):
        s = state_index(stage[i], np.int64(brand[i]), nb)
        record_customer(
            i, customer_key(step_key, i), s, stage, brand, last_brand, aware, consider, attitude,
            satisfaction, tenure, grudge, brand_params, g, voice_out, acc, flow, masks, 0,
            no_cohort, 0,
        )  # fmt: skip
    count_masks(masks, acc)


@njit(parallel=True, cache=True)
def record_all(
    step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, tenure, grudge,
    brand_params, n_segments, g_values, voice_out, acc, flow, acc_cells, flow_cells, bounds,
    chunk_cell,
):  # fmt: skip
    """Record the state as it is (step 0), chunk by chunk, and set what everyone says.

    Chunk j holds customers ``bounds[j]..bounds[j + 1] - 1``, all of cell ``chunk_cell[j]``
    (``step_all``); its tallies ``acc[j]`` and ``flow[j]`` are summed in chunk order into its
    cell's, ``acc_cells`` and ``flow_cells``.
    """
    chunks = chunk_cell.size
    for j in prange(chunks):
        record_chunk(
            bounds[j], bounds[j + 1], chunk_cell[j], step_key, stage, brand, last_brand, aware,
            consider, attitude, satisfaction, tenure, grudge, brand_params, n_segments,
            g_values, voice_out, acc[j], flow[j],
        )  # fmt: skip
    add_chunks(acc, chunks, chunk_cell, acc_cells)
    add_chunks(flow, chunks, chunk_cell, flow_cells)


#: Elements of a tally summed by one task of ``add_chunks`` (a few cache lines).
SUM_BLOCK = 64


@njit(parallel=True, cache=True)
def add_chunks(chunks, count, chunk_cell, out) -> None:
    """Set each cell's tallies to its chunks' sum, in chunk order: out[k] = sum of chunks[j].

    The sum over the first ``count`` chunks j of cell k = ``chunk_cell[j]``, added to +0.0 in
    chunk order: the same additions in the same order as numpy's ``sum(axis=0)`` of those
    chunks (a chunk's tallies start at +0.0, so they are never -0.0), hence the same sums
    whatever the number of threads. A cell no chunk holds gets zeros. Blocks of elements
    are summed in parallel.
    """
    flat = chunks.reshape(chunks.shape[0], -1)
    total = out.reshape(out.shape[0], -1)
    size = total.shape[1]
    blocks = (size + SUM_BLOCK - 1) // SUM_BLOCK
    for task in prange(total.shape[0] * blocks):
        cell = task // blocks
        lo = (task % blocks) * SUM_BLOCK
        hi = min(size, lo + SUM_BLOCK)
        for e in range(lo, hi):
            total[cell, e] = 0
        for j in range(count):
            if chunk_cell[j] == cell:
                for e in range(lo, hi):
                    total[cell, e] += flat[j, e]
