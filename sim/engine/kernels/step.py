"""One step of every customer: the phases in the model description's order, in parallel chunks."""

from __future__ import annotations

import numpy as np
from numba import get_thread_id

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit, prange
from sim.engine.kernels.borrow import borrowed
from sim.engine.kernels.choice import choose_brand
from sim.engine.kernels.churn import (
    alternatives_of,
    class_of,
    join_brand,
    leave_brand,
    price_reaction_of,
)
from sim.engine.kernels.common import globals_of, nth_bit, popcount8, state_index
from sim.engine.kernels.experience import experience_touchpoint, serve
from sim.engine.kernels.messages import forget_brand, see_ad, see_news
from sim.engine.kernels.prefetch import prefetch
from sim.engine.kernels.record import (
    add_chunks,
    count_masks,
    credit_conversion,
    newcomer,
    record_customer,
)
from sim.engine.kernels.word_of_mouth import (
    hear_word_of_mouth,
    network_word_of_mouth,
    read_reviews,
    wom_triggers,
)
from sim.engine.params import AGE_SHIFT, CODE_MASK, COMPLAINT, IN_MARKET
from sim.engine.rng import (
    SLOT_CHOICE,
    SLOT_CHURN,
    SLOT_EVENT,
    SLOT_EXPERIENCE,
    SLOT_FORGET,
    SLOT_OCCASION,
    SLOT_SWITCH,
    SLOT_TRIGGER,
    customer_key,
    uniform,
)

#: Customers ahead whose neighbours' row ``step_customers`` asks the caches for.
PREFETCH_AHEAD = 32


@njit(cache=True, error_model="numpy")
def step_customers(
    lo, hi, cell, step_key, n_channels, complete, customers, market, network, voice_in,
    voice_out, acc, chan, flow, t, cohort_cells, trace,
):  # fmt: skip
    """One step of customers lo..hi-1 of one cell (see the module docstring), and their record.

    ``customers``, ``market``, ``network`` and ``trace`` are tuples of columns (see
    ``step_all``), unpacked once per chunk and borrowed (``kernels.borrow``): the
    per-customer helpers are inlined and every array they take is borrowed, so no array
    reference is counted per customer. The chunk's customers are all of (region, segment)
    cell k = ``cell`` (``sim.engine.cells``), so its tables are taken once per chunk:
    ``ad_cum_all[k]`` its cumulated exposure table, ``quality_all[k]``, ``resolution_all[k]``
    and ``friction_all[k]`` its service and buying tables, ``params_all[r]`` its region r's
    brand table, ``cohort_cells[k]`` the running thread's cohort counts of the cell
    (``step_all``). ``acc`` and ``chan`` are the chunk's accumulators, ``flow`` its flow
    matrix.
    """
    (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
        wom_threshold, disposition,
    ) = borrowed(customers)  # fmt: skip
    (
        params_all, ad_cum_all, quality_all, resolution_all, friction_all, channel_roles,
        g_values, wait_prob, wait_friction, abandon, histogram,
    ) = borrowed(market)  # fmt: skip
    queue = (wait_prob, wait_friction, abandon)
    g = globals_of(g_values)
    indptr, indices, strong_bits, heard_counts = borrowed(network)
    trace_bits, trace_ids, trace_touch = borrowed(trace)
    voice_in, voice_out, acc, chan, flow, cohort_cells = borrowed(
        (voice_in, voice_out, acc, chan, flow, cohort_cells)
    )
    # the cell's tables (cell k = region x segments + segment)
    n_segments = ad_cum_all.shape[0] // params_all.shape[0]
    brand_params = params_all[cell // n_segments]  # its region's prices, launches and events
    ad_cum = ad_cum_all[cell]
    quality, resolution, friction = quality_all[cell], resolution_all[cell], friction_all[cell]
    own = np.uint64(cell)  # the cell, unsigned: indexing by it needs no wraparound
    nb = params_all.shape[1]
    n = stage.size
    wom_channel = n_channels  # word of mouth's pseudo-channel in ``chan``
    pairwise = g.wom_rule == rules.WOM_PAIRWISE
    fading = g.message_half_life > 0.0
    acc[:, :] = 0.0
    chan[:, :, :] = 0.0
    flow[:, :] = 0
    # the chunk's own scratch, owned here and borrowed in the loop (kept alive past it below)
    masks_owned = np.zeros((2, 1 << nb), dtype=np.int64)
    heard_owned = np.zeros((nb, 3, 2))
    masks, heard = borrowed((masks_owned, heard_owned))
    n_rates = ad_cum.size
    n_paid = n_rates // 2
    prices_moved = False
    for r in range(params_all.shape[0]):
        for b in range(nb):
            prices_moved = prices_moved or params_all[r, b, P.B_PRICE_GAP] != 0.0
    # a talker's neighbours are read from a row of ``indices`` no cache holds (one customer in
    # ten talks, so the rows are read too sparsely for the processor to see a stream): ask
    # for the row of the customer PREFETCH_AHEAD places ahead, whether it talks or not
    ahead = PREFETCH_AHEAD if pairwise and not complete else hi
    for i in range(lo, hi):
        if i + ahead < hi:
            prefetch(indices, indptr[i + ahead])
        ad_total = ad_cum[n_rates - 1]
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
            k = np.searchsorted(ad_cum, u, side="right")
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
                        i, ck, b0, c, quality, resolution, friction,
                        queue, brand_params, acc, chan,
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
                aware, consider, attitude, flags, wom_threshold, brand_params, chan,
                wom_channel, g,
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
                    i, choice_set, b0, attitude, price_sensitivity, channel, brand_params,
                    friction,
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
            tenure, grudge, brand_params, g, voice_out, acc, flow, masks, t, cohort_cells, own,
        )  # fmt: skip
        if fading:  # a message ages while it is repeated unchanged, with no new experience
            code = np.int64(voice_out[i]) & CODE_MASK
            previous = np.int64(voice_in[i])
            experienced = (touch >> 12) == rules.TOUCH_USAGE or (touch >> 12) == rules.TOUCH_SERVICE
            age = 0
            if code == (previous & CODE_MASK) and not experienced and not replaced:
                age = min((previous >> AGE_SHIFT) + 1, 255)
            voice_out[i] = code | (age << AGE_SHIFT)
    count_masks(masks_owned, acc)
    heard_owned[0, 0, 0] = 0.0  # a last use: Numba frees an array after its last use


@njit(parallel=True, cache=True)
def step_all(
    step_key, stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation,
    tenure, price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
    wom_threshold, disposition, voice_in, voice_out, indptr, indices, strong_bits,
    heard_counts, complete,
    brand_params, ad_cum, n_channels, service_quality, resolution, friction, channel_roles,
    g_values, wait_prob, wait_friction, abandon, histogram, acc, chan, flow, acc_cells,
    chan_cells, flow_cells, t, cohort_cells, trace_bits, trace_ids, trace_touch, bounds,
    chunk_cell,
):  # fmt: skip
    """One step of all customers, chunk by chunk in parallel (``g_values``: see ``globals_of``).

    Customer i is in cell k = region_i S + segment_i (S segments, R regions, K = R S cells),
    and customers are stored window by window, by cell within a window (``sim.engine.cells``).
    Chunk j holds customers
    ``bounds[j]..bounds[j + 1] - 1``, all of cell ``chunk_cell[j]`` (``cells.cell_chunks``);
    acc[j], chan[j] and flow[j] hold its aggregates and moves, summed in chunk order into its
    cell's ``acc_cells[k]``, ``chan_cells[k]`` and ``flow_cells[k]`` (the same sums whatever
    the number of threads); cohort_cells[h, k] the cohorts of cell k (over the whole run)
    counted by thread h (``numba.get_thread_id``; [H, K, B, tenures], H the most threads):
    integer counts, so their sum over threads is the same whatever thread ran which chunk,
    and their memory grows with threads, not with customers; ``brand_params[r]`` is region
    r's brand table ([R, B, N]); ``ad_cum[k]`` is cell k's cumulated exposure rates (paid ads
    of each brand and channel, then news); ``service_quality[k]``, ``resolution[k]`` and
    ``friction[k]`` its service and buying tables ([K, B, C], ``JourneyModel.kernel_tables``);
    ``trace_touch`` receives this step's touchpoint code of each traced customer;
    ``histogram[code]`` is the step's freshness-weighted count of each voice code (the
    complete network's neighbourhood for the cascade and threshold rules).
    """
    customers = (
        stage, brand, last_brand, aware, consider, attitude, satisfaction, expectation, tenure,
        price_sensitivity, wom_activity, churn_propensity, channel, flags, grudge, last_touch,
        wom_threshold, disposition,
    )  # fmt: skip
    market = (brand_params, ad_cum, service_quality, resolution, friction, channel_roles, g_values,
              wait_prob, wait_friction, abandon, histogram)  # fmt: skip
    network = (indptr, indices, strong_bits, heard_counts)
    trace = (trace_bits, trace_ids, trace_touch)
    chunks = chunk_cell.size
    for j in prange(chunks):
        step_customers(
            bounds[j], bounds[j + 1], chunk_cell[j], step_key, n_channels, complete, customers,
            market, network, voice_in, voice_out, acc[j], chan[j], flow[j], t,
            cohort_cells[get_thread_id()], trace,
        )  # fmt: skip
    add_chunks(acc, chunks, chunk_cell, acc_cells)
    add_chunks(chan, chunks, chunk_cell, chan_cells)
    add_chunks(flow, chunks, chunk_cell, flow_cells)
