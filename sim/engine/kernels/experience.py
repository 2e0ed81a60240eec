"""Step phase 1, experiences: product usage and service contacts (people, chatbot, queue)."""

from __future__ import annotations

from agents import rules
from sim.engine import params as P
from sim.engine.jit import njit
from sim.engine.params import COMPLAINT
from sim.engine.rng import (
    SLOT_ABANDON,
    SLOT_BOT,
    SLOT_COMPLAINT,
    SLOT_ESCALATE,
    SLOT_REVIEW,
    SLOT_SERVICE,
    SLOT_SHOCK,
    SLOT_WAIT,
    uniform,
)


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
