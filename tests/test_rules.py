"""Unit tests of the behaviour rules (agents/rules.py): equations, bounds and thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import rules

unit = st.floats(0.0, 1.0)
nonneg = st.floats(0.0, 20.0)
RULES = settings(deadline=None, max_examples=200)


# -- clip, experience --------------------------------------------------------------------
@RULES
@given(st.floats(-1e6, 1e6))
def test_clip01_is_min_max(x):
    assert rules.clip01(x) == min(max(x, 0.0), 1.0)


def test_experience_draw_median_is_quality():
    # u = 1/2 is the logistic median: ln(1) = 0.
    for q in (0.0, 0.3, 0.72, 1.0):
        assert rules.experience_draw(q, 0.2, 0.5) == pytest.approx(q)


def test_experience_draw_equation():
    q, sigma, u = 0.6, 0.1, 0.8
    expected = q + sigma * math.sqrt(3.0) / math.pi * math.log(u / (1.0 - u))
    assert rules.experience_draw(q, sigma, u) == pytest.approx(expected, abs=1e-12)


def test_experience_draw_no_noise_gives_quality():
    for u in (1e-9, 0.1, 0.5, 0.9, 1.0 - 1e-9):
        assert rules.experience_draw(0.7, 0.0, u) == pytest.approx(0.7)


@RULES
@given(unit, unit, unit)
def test_experience_draw_in_unit_interval(q, sigma, u):
    # u = 0 and u = 1 are clamped, so even the extremes give a finite, clipped experience.
    x = rules.experience_draw(q, sigma, u)
    assert 0.0 <= x <= 1.0


def test_experience_draw_monotone_in_u():
    xs = [rules.experience_draw(0.5, 0.3, u) for u in np.linspace(0.0, 1.0, 101)]
    assert all(a <= b for a, b in zip(xs, xs[1:], strict=False))


@pytest.mark.parametrize("q", [0.25, 0.5, 0.72])
def test_experience_draw_mean_and_sd_match_quality_and_noise(q):
    rng = np.random.default_rng(7)
    sigma = 0.05  # small enough that clipping at 0 and 1 practically never happens
    xs = np.array([rules.experience_draw(q, sigma, u) for u in rng.random(40_000)])
    assert xs.mean() == pytest.approx(q, abs=4 * sigma / math.sqrt(xs.size))
    assert xs.std() == pytest.approx(sigma, rel=0.05)


# -- disconfirmation, evaluation, satisfaction --------------------------------------------
def test_disconfirmation_is_experience_minus_expectation():
    assert rules.disconfirmation(0.8, 0.65) == pytest.approx(0.15)
    assert rules.disconfirmation(0.2, 0.65) == pytest.approx(-0.45)


def test_touchpoint_evaluation_equation_and_clip():
    assert rules.touchpoint_evaluation(0.0, 0.72, 1.5) == pytest.approx(0.72)
    assert rules.touchpoint_evaluation(0.1, 0.72, 1.5) == pytest.approx(0.87)
    assert rules.touchpoint_evaluation(-0.2, 0.72, 1.5) == pytest.approx(0.42)
    assert rules.touchpoint_evaluation(0.5, 0.72, 1.5) == 1.0
    assert rules.touchpoint_evaluation(-0.9, 0.72, 1.5) == 0.0


@RULES
@given(unit, unit, unit, nonneg, nonneg, nonneg)
def test_satisfaction_update_stays_in_unit_interval_between_s_and_v(s, v, w, lam, phi, years):
    s2 = rules.satisfaction_update(s, v, w, lam, phi, years)
    assert 0.0 <= s2 <= 1.0
    # it moves toward the evaluation and never overshoots it
    assert min(s, v) - 1e-12 <= s2 <= max(s, v) + 1e-12


def test_satisfaction_update_good_news_uses_plain_weight():
    assert rules.satisfaction_update(0.5, 0.9, 0.15, 2.0, 0.5, 3.0) == pytest.approx(
        0.5 + 0.15 * 0.4
    )


def test_satisfaction_update_bad_news_negativity_bias_and_forgiveness():
    s, v, w, lam, phi = 0.7, 0.3, 0.15, 2.0, 0.5
    new = rules.satisfaction_update(s, v, w, lam, phi, 0.0)
    assert new == pytest.approx(s + w * lam * (v - s))
    two_years = rules.satisfaction_update(s, v, w, lam, phi, 2.0)
    assert two_years == pytest.approx(s + w * (1 + (lam - 1) / (1 + phi * 2.0)) * (v - s))
    # loyal customers forgive: a smaller drop
    assert two_years > new
    # a disappointment of the same size moves satisfaction more than a delight
    up = rules.satisfaction_update(0.5, 0.7, w, lam, 0.0, 0.0) - 0.5
    down = 0.5 - rules.satisfaction_update(0.5, 0.3, w, lam, 0.0, 0.0)
    assert down == pytest.approx(lam * up)


def test_satisfaction_update_effective_weight_capped_at_one():
    # w * lambda = 3 would overshoot; the cap makes s' equal the evaluation
    assert rules.satisfaction_update(0.9, 0.2, 0.6, 5.0, 0.0, 0.0) == pytest.approx(0.2)


@RULES
@given(unit, unit, unit)
def test_expectation_update_equation_and_bounds(e, x, rho):
    e2 = rules.expectation_update(e, x, rho)
    assert e2 == pytest.approx(e + rho * (x - e))
    assert min(e, x) - 1e-12 <= e2 <= max(e, x) + 1e-12


@RULES
@given(unit, unit, st.floats(0.0, 10.0))
def test_attitude_update_moves_toward_target_and_caps_weight(a, target, w):
    a2 = rules.attitude_update(a, target, w)
    assert a2 == pytest.approx(a + min(w, 1.0) * (target - a))
    assert min(a, target) - 1e-12 <= a2 <= max(a, target) + 1e-12


def test_attitude_update_weight_above_one_lands_on_target():
    assert rules.attitude_update(0.2, 0.85, 4.0) == pytest.approx(0.85)


# -- service -----------------------------------------------------------------------------
@RULES
@given(unit, unit, unit)
def test_service_outcome_is_a_known_outcome(u, q, r):
    assert rules.service_outcome(u, q, r) in (
        rules.SERVICE_SUCCESS,
        rules.SERVICE_RECOVERED,
        rules.SERVICE_FAILED,
    )


@pytest.mark.parametrize("q, r", [(0.9, 0.7), (0.6, 0.3), (0.3, 0.5), (0.0, 0.4)])
def test_service_outcome_frequencies(q, r):
    rng = np.random.default_rng(11)
    n = 100_000
    outcomes = np.array([rules.service_outcome(u, q, r) for u in rng.random(n)])
    expected = {
        rules.SERVICE_SUCCESS: q,
        rules.SERVICE_RECOVERED: (1 - q) * r,
        rules.SERVICE_FAILED: (1 - q) * (1 - r),
    }
    for outcome, p in expected.items():
        freq = np.mean(outcomes == outcome)
        assert freq == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n) + 1e-12)


@pytest.mark.parametrize("q, r", [(0.8, 0.5), (0.55, 0.3)])
def test_service_outcome_exact_on_uniform_grid(q, r):
    m = 20_000
    grid = (np.arange(m) + 0.5) / m
    outcomes = np.array([rules.service_outcome(u, q, r) for u in grid])
    assert np.mean(outcomes == rules.SERVICE_SUCCESS) == pytest.approx(q, abs=1.5 / m)
    assert np.mean(outcomes == rules.SERVICE_RECOVERED) == pytest.approx((1 - q) * r, abs=1.5 / m)
    assert np.mean(outcomes == rules.SERVICE_FAILED) == pytest.approx(
        (1 - q) * (1 - r), abs=1.5 / m
    )


def test_service_outcome_perfect_quality_always_succeeds():
    for u in (0.0, 0.5, 0.999999, 1.0):
        assert rules.service_outcome(u, 1.0, 0.0) == rules.SERVICE_SUCCESS


def test_service_outcome_zero_quality_full_resolution_always_recovers():
    for u in (0.0, 0.3, 0.999):
        assert rules.service_outcome(u, 0.0, 1.0) == rules.SERVICE_RECOVERED


def test_service_experience_by_outcome():
    f = 0.05
    assert rules.service_experience(rules.SERVICE_SUCCESS, 0.8, 0.6, 0.1, 0.1, f) == (
        pytest.approx(0.75)
    )
    # recovery paradox: a recovered failure lands above expectation (minus friction)
    assert rules.service_experience(rules.SERVICE_RECOVERED, 0.8, 0.6, 0.1, 0.1, f) == (
        pytest.approx(0.65)
    )
    assert rules.service_experience(rules.SERVICE_FAILED, 0.8, 0.6, 0.1, 0.1, f) == (
        pytest.approx(0.05)
    )
    # clipped
    assert rules.service_experience(rules.SERVICE_FAILED, 0.8, 0.6, 0.1, 0.1, 0.3) == 0.0
    assert rules.service_experience(rules.SERVICE_RECOVERED, 0.8, 0.98, 0.1, 0.1, 0.0) == 1.0


# -- churn ---------------------------------------------------------------------------------
@RULES
@given(unit, unit, st.floats(0.0, 50.0), unit, st.floats(0.0, 5.0))
def test_churn_hazard_is_a_probability(pi, s, gamma, ref, mult):
    h = rules.churn_hazard(pi, s, gamma, ref, mult)
    assert 0.0 <= h <= 1.0


def test_churn_hazard_equation():
    assert rules.churn_hazard(0.001, 0.72, 5.0, 0.72, 1.0) == pytest.approx(0.001)
    assert rules.churn_hazard(0.001, 0.52, 5.0, 0.72, 1.0) == pytest.approx(0.001 * math.e)
    assert rules.churn_hazard(0.001, 0.72, 5.0, 0.72, 0.5) == pytest.approx(0.0005)
    assert rules.churn_hazard(0.5, 0.0, 50.0, 1.0, 1.0) == 1.0  # capped


def test_churn_hazard_independent_of_satisfaction_when_insensitive():
    for s in (0.0, 0.3, 0.72, 1.0):
        assert rules.churn_hazard(0.02, s, 0.0, 0.72, 1.0) == pytest.approx(0.02)


def test_churn_hazard_falls_with_satisfaction():
    hs = [rules.churn_hazard(0.001, s, 5.0, 0.72, 1.0) for s in np.linspace(0, 1, 11)]
    assert all(a > b for a, b in zip(hs, hs[1:], strict=False))


def test_is_shock_threshold():
    assert rules.is_shock(-0.41, 0.4)
    assert not rules.is_shock(-0.4, 0.4)
    assert not rules.is_shock(0.2, 0.4)


# -- choice --------------------------------------------------------------------------------
def test_choice_utility_equation_and_inertia():
    u = rules.choice_utility(0.6, 0.9, 1.2, 0.1, False, 5.0, 2.0, 3.0, 1.5)
    assert u == pytest.approx(5.0 * 0.6 - 2.0 * 1.2 * math.log(0.9) - 3.0 * 0.1)
    u_cur = rules.choice_utility(0.6, 0.9, 1.2, 0.1, True, 5.0, 2.0, 3.0, 1.5)
    assert u_cur == pytest.approx(u + 1.5)


@RULES
@given(st.floats(0.05, 5.0), st.floats(0.05, 5.0), st.floats(0.01, 0.9))
def test_equal_percentage_cuts_move_utility_alike_whatever_the_price(p1, p2, cut):
    def gain(p):
        return rules.choice_utility(0.5, p * (1 - cut), 1.0, 0.0, False, 5, 2, 3, 1) - (
            rules.choice_utility(0.5, p, 1.0, 0.0, False, 5, 2, 3, 1)
        )

    assert gain(p1) == pytest.approx(gain(p2), rel=1e-9, abs=1e-9)


@RULES
@given(unit, unit, nonneg, st.floats(0.0, 50.0), st.floats(1.0, 20.0))
def test_forgiveness_never_makes_bad_news_weigh_less_than_good(s, v, phi, years, lam):
    """With a negativity bias of at least 1, a drop is never smaller than a rise of the same size."""
    w = 0.1
    up = rules.satisfaction_update(0.5, 0.5 + abs(v - s) / 2, w, lam, phi, years) - 0.5
    down = 0.5 - rules.satisfaction_update(0.5, 0.5 - abs(v - s) / 2, w, lam, phi, years)
    assert down >= up - 1e-12


@RULES
@given(unit, st.floats(-1.0, 1.0), unit)
def test_news_pulls_attitude_toward_its_own_valence(a, shift, w):
    after = rules.news_update(a, shift, w)
    assert 0.0 <= after <= 1.0
    if shift > 0:
        assert after >= a - 1e-12  # good news never lowers attitude
    if shift < 0:
        assert after <= a + 1e-12  # bad news never raises it


def test_news_update_equation():
    assert rules.news_update(0.6, 0.4, 0.5) == pytest.approx(0.6 + 0.2 * 0.4)
    assert rules.news_update(0.6, -0.4, 0.5) == pytest.approx(0.6 - 0.2 * 0.6)


def test_recommend_score_mixes_satisfaction_and_reputation():
    assert rules.recommend_score(0.9, 0.5, 0.6) == pytest.approx(0.6 * 0.9 + 0.4 * 0.5)
    assert rules.recommend_score(0.9, 0.1, 1.0) == pytest.approx(0.9)


def test_grudge_fades_with_its_half_life():
    assert rules.grudge_probability(0.0, 30.0) == 1.0
    assert rules.grudge_probability(30.0, 30.0) == pytest.approx(0.5)
    assert rules.grudge_probability(60.0, 30.0) == pytest.approx(0.25)
    assert rules.grudge_probability(5.0, 0.0) == 0.0


def test_complaints_need_a_disappointment():
    assert rules.complaint_filed(-0.4, 0.25, 0.1, 0.05)
    assert not rules.complaint_filed(-0.4, 0.25, 0.1, 0.5)
    assert not rules.complaint_filed(-0.2, 0.25, 1.0, 0.0)


@pytest.mark.parametrize("m, r, d, h", [(1.0, 0.8, 0.1, 200), (2.0, 0.95, 0.0, 50)])
def test_projected_clv_is_the_discounted_geometric_sum(m, r, d, h):
    expected = sum(m * (r / (1 + d)) ** k for k in range(h))
    assert rules.projected_clv(m, r, d, h) == pytest.approx(expected)
    assert rules.projected_clv(m, 1.0, 0.0, h) == pytest.approx(m * h)


def test_globals_travel_to_the_kernels_by_name():
    """The kernels rebuild the named parameters from an array: every field survives by name."""
    from sim import load_config
    from sim.engine.kernels import globals_of
    from sim.engine.state import build_market

    market = build_market(load_config([]))
    rebuilt = globals_of(market.global_values)
    assert rebuilt._asdict() == pytest.approx(market.globals._asdict())


def _logit(utilities):
    best = max(utilities)
    denominator = sum(math.exp(u - best) for u in utilities)
    return [rules.logit_probability(u, best, denominator) for u in utilities]


@RULES
@given(st.lists(st.floats(-50.0, 50.0), min_size=1, max_size=8))
def test_logit_probabilities_sum_to_one(utilities):
    ps = _logit(utilities)
    assert sum(ps) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in ps)
    # the highest utility gets the highest probability
    assert ps[int(np.argmax(utilities))] == pytest.approx(max(ps))


def test_logit_two_brands_is_logistic_in_utility_difference():
    p = _logit([1.0, 0.0])
    assert p[0] == pytest.approx(1.0 / (1.0 + math.exp(-1.0)))
    assert _logit([2.0, 2.0]) == [pytest.approx(0.5), pytest.approx(0.5)]


def test_inertia_raises_probability_of_current_brand():
    def probs(current):
        us = [
            rules.choice_utility(0.6, 1.0, 1.0, 0.1, current == b, 5.0, 2.0, 3.0, 1.5)
            for b in range(3)
        ]
        return _logit(us)

    assert probs(0)[0] > probs(-1)[0]
    assert probs(0)[0] > probs(1)[0]


# -- NPS and word of mouth -------------------------------------------------------------------
def test_likelihood_to_recommend_is_floor_11s_capped_at_10():
    for k in range(10):
        assert rules.likelihood_to_recommend((k + 0.5) / 11.0) == k
    assert rules.likelihood_to_recommend(1.0) == 10
    assert rules.likelihood_to_recommend(10.5 / 11.0) == 10
    assert rules.likelihood_to_recommend(-0.3) == 0
    assert rules.likelihood_to_recommend(1.7) == 10


@RULES
@given(st.floats(-2.0, 3.0))
def test_likelihood_to_recommend_on_0_10_scale(s):
    assert 0 <= rules.likelihood_to_recommend(s) <= 10


def test_nps_class_thresholds_9_and_6():
    expected = {k: rules.DETRACTOR for k in range(7)}
    expected.update({7: rules.PASSIVE, 8: rules.PASSIVE, 9: rules.PROMOTER, 10: rules.PROMOTER})
    assert {k: rules.nps_class(k) for k in range(11)} == expected


def test_nps_class_of_satisfaction_around_thresholds():
    def cls(s):
        return rules.nps_class(rules.likelihood_to_recommend(s))

    assert cls(9 / 11 + 1e-6) == rules.PROMOTER
    assert cls(9 / 11 - 1e-6) == rules.PASSIVE
    assert cls(7 / 11 + 1e-6) == rules.PASSIVE
    assert cls(7 / 11 - 1e-6) == rules.DETRACTOR
    # the met level 0.72 of the default config is a passive (LTR 7)
    assert rules.likelihood_to_recommend(0.72) == 7


def test_message_kind_follows_nps_class():
    assert rules.message_kind(0.95) == rules.PRAISE
    assert rules.message_kind(0.75) == rules.MENTION
    assert rules.message_kind(0.3) == rules.WARN


def test_wom_weights_and_targets():
    assert rules.wom_attitude_weight(rules.PRAISE, 0.3, 2.0) == pytest.approx(0.3)
    assert rules.wom_attitude_weight(rules.WARN, 0.3, 2.0) == pytest.approx(0.6)
    assert rules.wom_attitude_weight(rules.WARN, 0.3, 5.0) == 1.0
    assert rules.wom_attitude_weight(rules.MENTION, 0.3, 2.0) == 0.0
    assert rules.wom_target(rules.PRAISE) == 1.0
    assert rules.wom_target(rules.WARN) == 0.0


@RULES
@given(st.sampled_from([rules.WARN, rules.MENTION, rules.PRAISE]), st.floats(-2.0, 2.0))
def test_wom_valence_clipped(kind, shift):
    v = rules.wom_valence(kind, shift)
    assert 0.0 <= v <= 1.0
    assert v == pytest.approx(min(max(rules.wom_target(kind) + shift, 0.0), 1.0))


def test_conversation_rate_and_spend_multiplier():
    assert rules.conversation_rate(0.1, 0.5) == pytest.approx(0.05)
    assert rules.spend_multiplier(0, 365, 0.15, 3.0) == 1.0
    assert rules.spend_multiplier(365, 365, 0.15, 3.0) == pytest.approx(1.15)
    assert rules.spend_multiplier(365 * 10, 365, 0.15, 3.0) == pytest.approx(1.45)  # capped


def test_considers_threshold_inclusive():
    assert rules.considers(0.45, 0.45)
    assert not rules.considers(0.449, 0.45)


def test_stage_of():
    assert rules.stage_of(1, 0, 0, rules.UNAWARE) == rules.CUSTOMER
    assert rules.stage_of(-1, 0b10, 0b10, rules.CUSTOMER) == rules.CONSIDERING
    assert rules.stage_of(-1, 0, 0b1, rules.CUSTOMER) == rules.LAPSED
    assert rules.stage_of(-1, 0, 0b1, rules.LAPSED) == rules.LAPSED
    assert rules.stage_of(-1, 0, 0b1, rules.CONSIDERING) == rules.AWARE
    assert rules.stage_of(-1, 0, 0, rules.UNAWARE) == rules.UNAWARE


@RULES
@given(unit, unit, unit)
def test_personalised_experience_closes_share_of_shortfall(x, e, m):
    x2 = rules.personalised_experience(x, e, m)
    assert x2 == pytest.approx(x + m * max(0.0, e - x))
    assert x <= x2 <= max(x, e) + 1e-12


def test_price_reaction_is_a_loss_only_reaction():
    # no reaction at the usual price, nor to gains (own cut, a rival's rise)
    assert rules.price_reaction(0.0, 0.0, 1.0, 0.01) == 0.0
    assert rules.price_reaction(-0.1, 0.0, 1.0, 0.01) == 0.0
    assert rules.price_reaction(0.0, 0.2, 1.0, 0.01) == 0.0
    # h_p = psi rho (g_b - min(0, g_r))
    assert rules.price_reaction(0.1, 0.0, 2.0, 0.01) == pytest.approx(0.002)
    assert rules.price_reaction(0.0, -0.2, 1.0, 0.01) == pytest.approx(0.002)
    assert rules.price_reaction(0.1, -0.2, 1.0, 0.01) == pytest.approx(0.003)
    # matching a rival's cut removes the reaction
    assert rules.price_reaction(-0.2, -0.2, 1.0, 0.01) == 0.0
    assert rules.price_reaction(5.0, 0.0, 10.0, 1.0) == 1.0  # a probability


def test_churn_hazard_adds_the_price_reaction():
    base = rules.churn_hazard(0.001, 0.72, 5.0, 0.72, 1.0)
    assert rules.churn_hazard(0.001, 0.72, 5.0, 0.72, 1.0, 0.002) == pytest.approx(base + 0.002)
    assert rules.churn_hazard(0.5, 0.0, 50.0, 1.0, 1.0, 0.5) == 1.0


def test_reference_price_follows_prices_with_its_half_life():
    r = 1.0
    for _ in range(90):
        r = rules.reference_price(r, 1.1, 90.0)
    assert r == pytest.approx(1.05)  # half way after one half-life
    assert rules.reference_price(1.0, 1.1, 0.0) == 1.1  # no memory: the current price


def test_alternatives_factor_scales_the_hazard_with_the_rivals_attraction():
    # theta = 0: the quality of alternatives does not matter
    assert rules.alternatives_factor(0.9, 0.0, 0.4) == 1.0
    # f = 1 - theta + theta P_alt / P_ref: 1 at the market's mean, 0 with no alternative
    assert rules.alternatives_factor(0.4, 1.0, 0.4) == pytest.approx(1.0)
    assert rules.alternatives_factor(0.0, 1.0, 0.4) == 0.0
    assert rules.alternatives_factor(0.2, 0.5, 0.4) == pytest.approx(0.75)
    fs = [rules.alternatives_factor(p, 0.7, 0.4) for p in np.linspace(0, 1, 11)]
    assert all(a < b for a, b in zip(fs, fs[1:], strict=False))
