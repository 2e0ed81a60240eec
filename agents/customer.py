"""CustomerAgent: the readable engine, one mesa.Agent per customer.

The step below is the same journey as the fast kernel (``sim/kernels.py``), written
for reading: it calls the same rules (``agents/rules.py``) and draws the same
counter-based random numbers, so the two engines can be docked against each other.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.kernels import (
    SLOT_AWARE,
    SLOT_BOT,
    SLOT_CHOICE,
    SLOT_CHURN,
    SLOT_CONSIDER,
    SLOT_EVENT,
    SLOT_EXPERIENCE,
    SLOT_OCCASION,
    SLOT_PARTNER,
    SLOT_SERVICE,
    SLOT_SHOCK,
    SLOT_SWITCH,
    SLOT_TRIGGER,
)
from sim.engine.rng import customer_key, randint, uniform


class CustomerAgent(mesa.Agent):
    """A customer on its journey.

    Holds stage, brand, awareness, consideration, attitudes, satisfaction, expectation, tenure
    and fixed traits.
    """

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.sync_from_columns()

    @classmethod
    def create_population(cls, model: mesa.Model) -> None:
        """One agent per customer of ``model.customers``, with its initial state."""
        for i in range(model.customers.n):
            cls(model, i)

    def sync_from_columns(self) -> None:
        """Copy this customer's state from the model's initial columns."""
        c, i = self.model.customers, self.index
        self.stage = int(c.stage[i])
        self.brand = int(c.brand[i])
        self.last_brand = int(c.last_brand[i])
        self.aware = int(c.aware[i])
        self.consider = int(c.consider[i])
        self.attitude = [float(a) for a in c.attitude[i]]
        self.satisfaction = float(c.satisfaction[i])
        self.expectation = float(c.expectation[i])
        self.tenure = int(c.tenure[i])
        self.price_sensitivity = float(c.price_sensitivity[i])
        self.wom_activity = float(c.wom_activity[i])
        self.churn_propensity = float(c.churn_propensity[i])
        self.channel = int(c.channel[i])

    # -- the journey step ---------------------------------------------------------
    def step_journey(self, step_key, tables) -> None:
        """One step: a touchpoint, a purchase occasion, churn, payment, record."""
        m = self.model
        g = m.market.globals
        nb = m.market.n_brands
        ck = np.uint64(customer_key(step_key, self.index))  # Python ints overflow int64
        self._ck = ck
        self._tables = tables
        before = self.state_index(nb)
        start_brand = self.brand
        triggered = False
        shocked = False

        # 1. At most one touchpoint, drawn from competing per-step rates.
        # paid ads of each (brand, channel), then news of each (brand, channel)
        ad_rates = np.concatenate([tables.ad_reach.reshape(-1), tables.news_reach.reshape(-1)])
        ad_total = float(ad_rates.sum())
        talk = rules.conversation_rate(g[P.G_TALK_RATE], self.wom_activity)
        u = uniform(ck, SLOT_EVENT)
        if u < ad_total:
            k = int(np.searchsorted(np.cumsum(ad_rates), u, side="right"))
            nc = m.market.n_channels
            if k < ad_rates.size // 2:
                triggered = self.see_ad(k // nc, k % nc, g)
            else:
                k -= ad_rates.size // 2
                self.see_news(k // nc, k % nc, g)
        elif u < ad_total + talk:
            self.hear_word_of_mouth(tables, g)
        elif start_brand >= 0:
            u -= ad_total + talk
            if u < g[P.G_USAGE_RATE]:
                shocked = self.use_product(tables, g)
            elif u < g[P.G_USAGE_RATE] + g[P.G_CONTACT_RATE]:
                shocked = self.contact_service(tables, g)

        # 2. Purchase occasion: choose from the consideration set and the current brand.
        new_brand = start_brand
        choice_set = self.consider | ((1 << start_brand) if start_brand >= 0 else 0)
        if choice_set and not shocked:
            if triggered or uniform(ck, SLOT_OCCASION) < g[P.G_NEED_RATE]:
                chosen = self.choose(choice_set, start_brand, tables, g, uniform(ck, SLOT_CHOICE))
                if chosen >= 0:
                    new_brand = chosen

        # 3. Churn: leave at the satisfaction hazard, or at once after a very bad touchpoint.
        acc = m._acc[0]
        if start_brand >= 0 and new_brand == start_brand:
            hazard = rules.churn_hazard(
                self.churn_propensity, self.satisfaction, g[P.G_CHURN_SENSITIVITY],
                g[P.G_CHURN_REFERENCE], tables.brand_params[start_brand, P.B_CHURN_MULT],
            )  # fmt: skip
            if shocked or uniform(ck, SLOT_CHURN) < hazard:
                self.leave(start_brand)
                competitors = self.consider & ~(1 << start_brand)
                new_brand = self.choose(competitors, -1, tables, g, uniform(ck, SLOT_SWITCH))
                if new_brand < 0:
                    self.brand = -1
                    acc[start_brand, P.A_LAPSED] += 1
        if new_brand != start_brand:
            if start_brand >= 0:
                acc[start_brand, P.A_CHURNED] += 1
                self.last_brand = start_brand
            if new_brand >= 0:
                self.join(new_brand)
                acc[new_brand, P.A_ACQUIRED] += 1
        elif start_brand >= 0:
            self.tenure = min(self.tenure + 1, 65535)

        # 4. Stage, what this customer will say next step, and the record.
        self.stage = rules.stage_of(self.brand, self.consider, self.aware, self.stage)
        self.record(before, tables, g, nb)

    # -- touchpoints ----------------------------------------------------------------
    def see_ad(self, b: int, c: int, g) -> bool:
        """An ad of brand b on channel c; returns True if it triggers a purchase occasion."""
        roles = self.model.market.channel_roles
        if not (self.aware >> b) & 1:
            if uniform(self._ck, SLOT_AWARE) >= roles[c, P.R_AWARENESS]:
                return False
            self.aware |= 1 << b
        tone = rules.ad_valence(g[P.G_AD_TONE], self._tables.brand_params[b, P.B_WOM_SHIFT])
        self.attitude[b] = rules.attitude_update(self.attitude[b], tone, g[P.G_AD_WEIGHT])
        self.after_message(b, roles[c, P.R_CONSIDERATION], g)
        return uniform(self._ck, SLOT_TRIGGER) < roles[c, P.R_PURCHASE]

    def see_news(self, b: int, c: int, g) -> None:
        """News about brand b on channel c: like an ad, with the news valence and no purchase."""
        roles = self.model.market.channel_roles
        if not (self.aware >> b) & 1:
            if uniform(self._ck, SLOT_AWARE) >= roles[c, P.R_AWARENESS]:
                return
            self.aware |= 1 << b
        valence = rules.news_valence(self._tables.brand_params[b, P.B_WOM_SHIFT])
        self.attitude[b] = rules.attitude_update(self.attitude[b], valence, g[P.G_WOM_WEIGHT])
        self.after_message(b, roles[c, P.R_CONSIDERATION], g)

    def hear_word_of_mouth(self, tables, g) -> None:
        """Talk with one random neighbour and hear what it said last step."""
        m = self.model
        net = m.network
        if net.complete:
            j = randint(self._ck, SLOT_PARTNER, m.customers.n - 1)
            if j >= self.index:
                j += 1
        else:
            lo, hi = int(net.indptr[self.index]), int(net.indptr[self.index + 1])
            if hi == lo:
                return
            j = int(net.indices[lo + randint(self._ck, SLOT_PARTNER, hi - lo)])
        code = int(m.customers.voice[j])
        if code == 0:
            return
        b, kind = (code - 1) // 3, (code - 1) % 3
        if tables.brand_params[b, P.B_ACTIVE] <= 0.0:
            return
        self.aware |= 1 << b
        weight = rules.wom_attitude_weight(kind, g[P.G_WOM_WEIGHT], g[P.G_WOM_NEGATIVITY])
        target = rules.wom_valence(kind, tables.brand_params[b, P.B_WOM_SHIFT])
        self.attitude[b] = rules.attitude_update(self.attitude[b], target, weight)
        self.after_message(b, g[P.G_WOM_CONSIDER], g)

    def after_message(self, b: int, consider_probability: float, g) -> None:
        """A liked brand may enter the consideration set; a disliked one leaves it."""
        if rules.considers(self.attitude[b], g[P.G_CONSIDER_THRESHOLD]):
            if uniform(self._ck, SLOT_CONSIDER) < consider_probability:
                self.consider |= 1 << b
        else:
            self.consider &= ~(1 << b)

    def use_product(self, tables, g) -> bool:
        """Use the current brand's product; returns True after a very bad experience."""
        b = self.brand
        x = rules.experience_draw(
            tables.brand_params[b, P.B_PRODUCT_QUALITY], g[P.G_NOISE],
            uniform(self._ck, SLOT_EXPERIENCE),
        )  # fmt: skip
        x = rules.personalised_experience(
            x, self.expectation, tables.brand_params[b, P.B_EXPECTATION_MATCH]
        )
        return self.experience(x, g)

    def contact_service(self, tables, g) -> bool:
        """Contact the brand's service on this customer's channel; may fail or be recovered."""
        b, c = self.brand, self.channel
        bp = tables.brand_params
        quality, resolution = tables.service_quality[b, c], tables.resolution[b, c]
        friction = tables.friction[b, c]
        if bp[b, P.B_BOT_SHARE] > 0.0 and uniform(self._ck, SLOT_BOT) < bp[b, P.B_BOT_SHARE]:
            # the chatbot answers this contact, with its own quality, resolution and friction
            quality, resolution = bp[b, P.B_BOT_QUALITY], bp[b, P.B_BOT_RESOLUTION]
            friction = bp[b, P.B_BOT_FRICTION]
        outcome = rules.service_outcome(uniform(self._ck, SLOT_SERVICE), quality, resolution)
        x_ok = rules.experience_draw(quality, g[P.G_NOISE], uniform(self._ck, SLOT_EXPERIENCE))
        x = rules.service_experience(
            outcome, x_ok, self.expectation, g[P.G_RECOVERY_PARADOX], g[P.G_FAILURE_EXPERIENCE],
            friction,
        )  # fmt: skip
        x = rules.personalised_experience(
            x, self.expectation, tables.brand_params[b, P.B_EXPECTATION_MATCH]
        )
        acc = self.model._acc[0]
        acc[b, P.A_CONTACTS] += 1
        if outcome != rules.SERVICE_SUCCESS:
            acc[b, P.A_FAILURES] += 1
        if outcome == rules.SERVICE_RECOVERED:
            acc[b, P.A_RECOVERED] += 1
        return self.experience(x, g)

    def experience(self, x: float, g) -> bool:
        """Judge experience x against expectation; True if it is bad enough to leave now."""
        d = rules.disconfirmation(x, self.expectation)
        v = rules.touchpoint_evaluation(d, g[P.G_MET_LEVEL], g[P.G_EVAL_SENSITIVITY])
        years = self.tenure / g[P.G_STEPS_PER_YEAR]
        self.satisfaction = rules.satisfaction_update(
            self.satisfaction, v, g[P.G_SAT_WEIGHT], g[P.G_SAT_NEGATIVITY],
            g[P.G_FORGIVENESS], years,
        )  # fmt: skip
        self.attitude[self.brand] = rules.attitude_update(
            self.attitude[self.brand], v, g[P.G_SAT_WEIGHT]
        )
        self.expectation = rules.expectation_update(self.expectation, x, g[P.G_EXPECTATION_RATE])
        if rules.is_shock(d, g[P.G_SHOCK_THRESHOLD]):
            return uniform(self._ck, SLOT_SHOCK) < g[P.G_SHOCK_SWITCH]
        return False

    # -- choice, churn, joining -------------------------------------------------------
    def choose(self, mask: int, current: int, tables, g, u: float) -> int:
        """Multinomial logit over the launched brands in ``mask``; -1 if there are none."""
        bp = tables.brand_params
        utilities = {}
        for b in range(bp.shape[0]):
            if (mask >> b) & 1 and bp[b, P.B_ACTIVE] > 0.0:
                utilities[b] = rules.choice_utility(
                    self.attitude[b], bp[b, P.B_PRICE], self.price_sensitivity,
                    tables.friction[b, self.channel], b == current, g[P.G_BETA_ATTITUDE],
                    g[P.G_BETA_PRICE], g[P.G_BETA_FRICTION], g[P.G_INERTIA],
                )  # fmt: skip
        if not utilities:
            return -1
        best = max(utilities.values())
        denominator = sum(math.exp(v - best) for v in utilities.values())
        cumulative = 0.0
        for b, v in utilities.items():
            cumulative += rules.logit_probability(v, best, denominator)
            if u < cumulative:
                return b
        return b

    def leave(self, b: int) -> None:
        """Drop brand b: out of the consideration set, attitude no higher than satisfaction."""
        self.attitude[b] = min(self.attitude[b], self.satisfaction)
        self.consider &= ~(1 << b)
        self.last_brand = b

    def join(self, b: int) -> None:
        """Become a customer of brand b; satisfaction starts at the attitude that chose it."""
        self.brand = b
        self.tenure = 0
        self.satisfaction = self.attitude[b]
        self.aware |= 1 << b
        self.consider |= 1 << b

    # -- record -----------------------------------------------------------------------
    def state_index(self, nb: int) -> int:
        """Row of this customer's (stage, brand) in the flow matrix."""
        if self.stage == rules.CUSTOMER:
            return 3 + self.brand
        if self.stage == rules.LAPSED:
            return 3 + nb
        return self.stage

    def record(self, before: int, tables, g, nb: int) -> None:
        """Add this customer to the step's aggregates and set what it will say."""
        m = self.model
        acc = m._acc[0]
        m._flow[0, before, self.state_index(nb)] += 1
        for k in range(nb):
            if (self.aware >> k) & 1:
                acc[k, P.A_AWARE] += 1
            if (self.consider >> k) & 1 and k != self.brand:
                acc[k, P.A_CONSIDERING] += 1
        b = self.brand
        if b >= 0:
            if self.tenure < m.t and self.tenure < m._cohort.shape[2]:
                m._cohort[0, b, self.tenure] += 1  # cohort retention numerators
            acc[b, P.A_CUSTOMERS] += 1
            acc[b, P.A_SATISFACTION] += self.satisfaction
            spend = rules.spend_multiplier(
                self.tenure, g[P.G_STEPS_PER_YEAR], g[P.G_TENURE_UPLIFT], g[P.G_TENURE_CAP]
            )
            bp = tables.brand_params
            acc[b, P.A_REVENUE] += bp[b, P.B_PRICE] * bp[b, P.B_SPEND_MULT] * spend
            cls = rules.nps_class(rules.likelihood_to_recommend(self.satisfaction))
            column = {rules.PROMOTER: P.A_PROMOTERS, rules.DETRACTOR: P.A_DETRACTORS}
            acc[b, column.get(cls, P.A_PASSIVES)] += 1
        voice = 0
        speaks_of = self.brand if self.stage == rules.CUSTOMER else self.last_brand
        if self.stage in (rules.CUSTOMER, rules.LAPSED) and speaks_of >= 0:
            voice = 1 + 3 * speaks_of + rules.message_kind(self.satisfaction)
        m._voice_next[self.index] = voice
