"""CustomerAgent: the readable engine, one mesa.Agent per customer.

The step below is the same journey as the fast kernel (``sim/engine/kernels/``), written
for reading: it calls the same rules (``agents/rules.py``) and draws the same
counter-based random numbers, so the two engines can be docked against each other.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from agents import rules
from sim.engine import params as P
from sim.engine.params import AGE_SHIFT, CODE_MASK, COMPLAINT, IN_MARKET
from sim.engine.rng import (
    SLOT_ABANDON,
    SLOT_ATTENTION,
    SLOT_AWARE,
    SLOT_BOT,
    SLOT_CHOICE,
    SLOT_CHURN,
    SLOT_COMPLAINT,
    SLOT_CONSIDER,
    SLOT_ESCALATE,
    SLOT_EVENT,
    SLOT_EXPERIENCE,
    SLOT_FORGET,
    SLOT_FRESH,
    SLOT_OCCASION,
    SLOT_PARTNER,
    SLOT_READ,
    SLOT_REVIEW,
    SLOT_SERVICE,
    SLOT_SHOCK,
    SLOT_SWITCH,
    SLOT_TRIGGER,
    SLOT_VOICE,
    SLOT_WAIT,
    SLOT_WOM,
    SLOT_WOM_ATTENTION,
    customer_key,
    randint,
    uniform,
)


class CustomerAgent(mesa.Agent):
    """A customer on its journey.

    Holds stage, brand, awareness, consideration, attitudes, satisfaction, expectation, tenure,
    whether it has a need for the category, a pending complaint, a grudge against a brand it
    left, its last marketing touchpoint, and fixed traits.
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
        self.in_market = bool(c.flags[i] & IN_MARKET)
        self.complaint = bool(c.flags[i] & COMPLAINT)
        self.grudge = int(c.grudge[i])
        self.last_touch = int(c.last_touch[i])
        self.wom_threshold = float(c.wom_threshold[i])
        self.disposition = float(c.disposition[i])
        self.segment = int(c.segment[i])
        self.region = int(c.region[i])
        # the (region, segment) cell whose tables it reads and whose tallies it adds to
        self.cell = self.region * self.model.market.n_segments + self.segment

    # -- the journey step ---------------------------------------------------------
    def step_journey(self, step_key, tables, t: int) -> None:
        """One step: an event, a purchase occasion, churn, payment, record."""
        m = self.model
        g = m.market.globals
        nb = m.market.n_brands
        ck = np.uint64(customer_key(step_key, self.index))  # Python ints overflow int64
        self._ck = ck
        tables = m.region_tables_now[self.region]  # its region's brand table (Tables)
        self._tables = tables
        acc, chan = m._acc_cells[self.cell], m._chan_cells[self.cell]
        before = self.state_index(nb)
        start_brand = self.brand
        triggered = shocked = exited = replaced = False
        touch = 0

        # 1. At most one event, drawn from competing per-step rates.
        # paid ads of each (brand, channel), then news of each (brand, channel), cumulated:
        # this customer's cell's exposure (JourneyModel.kernel_tables)
        ad_cum = m.exposure_now[self.cell]
        ad_total = float(ad_cum[-1])
        pairwise = g.wom_rule == rules.WOM_PAIRWISE
        talk = rules.conversation_rate(g.talk_rate, self.wom_activity) if pairwise else 0.0
        nc = m.market.n_channels
        u = uniform(ck, SLOT_EVENT)
        if u < ad_total:
            k = int(np.searchsorted(ad_cum, u, side="right"))
            if k < ad_cum.size // 2:
                b, c = k // nc, k % nc
                triggered = self.see_ad(b, c, g)
                chan[b, c, P.C_IMPRESSIONS] += 1
                touch = rules.touch_code(rules.TOUCH_AD, b, c)
            else:
                b, c = (k - ad_cum.size // 2) // nc, (k - ad_cum.size // 2) % nc
                self.see_news(b, c, g)
                chan[b, c, P.C_NEWS] += 1
                touch = rules.touch_code(rules.TOUCH_NEWS, b, c)
            self.last_touch = touch
        elif u < ad_total + talk:
            code = self.hear_word_of_mouth(tables, g)
            if code > 0:
                b, kind = (code - 1) // 3, (code - 1) % 3
                chan[b, nc, P.C_IMPRESSIONS] += 1
                touch = rules.touch_code(rules.TOUCH_WOM, b, rules.NO_CHANNEL)
                self.last_touch = touch
                if kind == rules.PRAISE and (self.consider >> b) & 1:
                    # praise of a considered brand may prompt a purchase occasion now
                    triggered = uniform(ck, SLOT_TRIGGER) < g.wom_purchase
        elif u < ad_total + talk + g.review_read:
            if self.read_reviews(tables, g):
                channel = int(g.review_channel)
                touch = rules.touch_code(rules.TOUCH_REVIEWS, rules.ANY_BRAND, channel)
                self.last_touch = touch
        else:
            u -= ad_total + talk + g.review_read
            handled = False
            if start_brand >= 0:
                contact = g.contact_rate + (g.complaint_contact if self.complaint else 0.0)
                if u < g.usage_rate:
                    shocked = self.use_product(tables, g)
                    touch = rules.touch_code(rules.TOUCH_USAGE, start_brand, rules.NO_CHANNEL)
                    handled = True
                elif u < g.usage_rate + contact:
                    shocked = self.contact_service(tables, g)
                    touch = rules.touch_code(rules.TOUCH_SERVICE, start_brand, self.channel)
                    handled = True
                else:
                    u -= g.usage_rate + contact
            if not handled:
                exited, replaced = self.forget_or_need(u, start_brand, tables, g)

        # 1b. Network word of mouth (cascade, threshold): every neighbour's voice this step.
        if not pairwise and not replaced:
            code, prompted = self.network_word_of_mouth(tables, g, chan, nc)
            if code > 0:
                wom_touch = rules.touch_code(rules.TOUCH_WOM, (code - 1) // 3, rules.NO_CHANNEL)
                self.last_touch = wom_touch
                touch = touch or wom_touch
                triggered = triggered or prompted

        # 2. Purchase occasion (in the market): choose from the consideration set and the brand.
        new_brand = start_brand
        choice_set = self.consider | ((1 << start_brand) if start_brand >= 0 else 0)
        if choice_set and not (shocked or exited or replaced) and self.in_market:
            if triggered or uniform(ck, SLOT_OCCASION) < g.need_rate:
                chosen = self.choose(choice_set, start_brand, tables, g, uniform(ck, SLOT_CHOICE))
                if chosen >= 0:
                    new_brand = chosen
                    if start_brand >= 0 and new_brand != start_brand:
                        self.leave(start_brand, resentful=True)  # switched at an occasion
                        acc[start_brand, P.A_CHURN_SWITCH] += 1

        # 3. Churn: leaving the category, the dissatisfaction hazard, or a very bad touchpoint.
        if start_brand >= 0 and new_brand == start_brand:
            leaves = shocked or exited
            if not leaves:
                bp = tables.brand_params
                rival = 0.0
                for r in range(nb):
                    if (self.consider >> r) & 1 and r != start_brand and bp[r, P.B_ACTIVE] > 0:
                        rival = min(rival, bp[r, P.B_PRICE_GAP])
                x_p = rules.price_reaction(
                    bp[start_brand, P.B_PRICE_GAP], rival, self.price_sensitivity,
                    g.price_reevaluation,
                )  # fmt: skip
                mult = bp[start_brand, P.B_CHURN_MULT]
                if g.alternatives_weight > 0.0:
                    mult *= rules.alternatives_factor(
                        self.alternatives(start_brand, tables, g), g.alternatives_weight,
                        g.alternatives_reference,
                    )  # fmt: skip
                hazard = rules.churn_hazard(
                    self.churn_propensity, self.satisfaction, g.churn_sensitivity,
                    g.churn_reference, mult, x_p,
                )  # fmt: skip
                leaves = uniform(ck, SLOT_CHURN) < hazard
                if leaves:
                    acc[start_brand, P.A_CHURN_HAZARD] += 1
            elif exited:
                acc[start_brand, P.A_CHURN_EXIT] += 1
            else:
                acc[start_brand, P.A_CHURN_SHOCK] += 1
            if leaves:
                self.leave(start_brand, resentful=not exited)
                new_brand = -1
                if not exited:
                    competitors = self.consider & ~(1 << start_brand)
                    new_brand = self.choose(competitors, -1, tables, g, uniform(ck, SLOT_SWITCH))
                if new_brand < 0:
                    self.brand = -1
                    if not replaced:
                        acc[start_brand, P.A_LAPSED] += 1
        if new_brand != start_brand:
            if start_brand >= 0:
                acc[start_brand, P.A_CHURNED] += 1
                acc[start_brand, P.A_CHURNED_CLASS + 1 + self.left_class] += 1
            if new_brand >= 0:
                self.join(new_brand)
                acc[new_brand, P.A_ACQUIRED] += 1
                self.credit_conversion(new_brand, acc, chan, nc)
        elif start_brand >= 0:
            self.tenure = min(self.tenure + 1, 65535)

        if replaced:
            self.become_newcomer(tables)

        # 4. Stage, what this customer will say next step, and the record.
        self.stage = rules.stage_of(self.brand, self.consider, self.aware, self.stage)
        tracer = m.tracer
        if tracer.active:
            k = int(np.searchsorted(tracer.ids, self.index))
            if k < tracer.ids.size and tracer.ids[k] == self.index:
                tracer.touch[k] = touch
        self.record(before, tables, g, nb, t)
        if g.message_half_life > 0:  # a message ages while repeated unchanged, no new experience
            code = int(m._voice_next[self.index]) & CODE_MASK
            previous = int(m.customers.voice[self.index])
            experienced = (touch >> 12) in (rules.TOUCH_USAGE, rules.TOUCH_SERVICE)
            age = 0
            if code == previous & CODE_MASK and not experienced and not replaced:
                age = min((previous >> AGE_SHIFT) + 1, 255)
            m._voice_next[self.index] = code | (age << AGE_SHIFT)

    # -- touchpoints ----------------------------------------------------------------
    def attends(self, g) -> bool:
        """Whether a message registers: always in the market, else with P = attention."""
        return self.in_market or uniform(self._ck, SLOT_ATTENTION) < g.attention

    def see_ad(self, b: int, c: int, g) -> bool:
        """An ad of brand b on channel c; True if it triggers an occasion (considered brands)."""
        roles = self.model.market.channel_roles
        if not self.attends(g):
            return False
        if not (self.aware >> b) & 1:
            if uniform(self._ck, SLOT_AWARE) >= roles[c, P.R_AWARENESS]:
                return False
            self.aware |= 1 << b
        tone = rules.ad_valence(g.ad_tone, self._tables.brand_params[b, P.B_WOM_SHIFT])
        self.attitude[b] = rules.attitude_update(self.attitude[b], tone, g.ad_weight)
        self.after_message(b, roles[c, P.R_CONSIDERATION], g)
        if not (self.consider >> b) & 1:
            return False
        return uniform(self._ck, SLOT_TRIGGER) < roles[c, P.R_PURCHASE]

    def see_news(self, b: int, c: int, g) -> None:
        """News about brand b on channel c: awareness, attitude toward its valence, no purchase."""
        roles = self.model.market.channel_roles
        if not self.attends(g):
            return
        if not (self.aware >> b) & 1:
            if uniform(self._ck, SLOT_AWARE) >= roles[c, P.R_AWARENESS]:
                return
            self.aware |= 1 << b
        shift = self._tables.brand_params[b, P.B_WOM_SHIFT]
        self.attitude[b] = rules.news_update(self.attitude[b], shift, g.news_weight)
        self.after_message(b, roles[c, P.R_CONSIDERATION], g)

    def hear_word_of_mouth(self, tables, g) -> int:
        """Talk with one random neighbour and hear what it said last step; the code heard or 0."""
        m = self.model
        net = m.network
        if net.complete:
            j = randint(self._ck, SLOT_PARTNER, m.customers.n - 1)
            if j >= self.index:
                j += 1
        else:
            lo, hi = int(net.indptr[self.index]), int(net.indptr[self.index + 1])
            if hi == lo:
                return 0
            j = int(net.indices[lo + randint(self._ck, SLOT_PARTNER, hi - lo)])
        voice = int(m.customers.voice[j])
        code = voice & CODE_MASK
        if code == 0:
            return 0
        b, kind = (code - 1) // 3, (code - 1) % 3
        if tables.brand_params[b, P.B_ACTIVE] <= 0.0 or not self.attends(g):
            return 0
        age = voice >> AGE_SHIFT
        if g.message_half_life > 0 and age > 0:
            if uniform(self._ck, SLOT_FRESH) >= rules.message_freshness(age, g.message_half_life):
                return 0
        self.hear(b, kind, tables, g, SLOT_CONSIDER)
        return code

    def hear(self, b: int, kind: int, tables, g, consider_slot: int) -> None:
        """A message of ``kind`` about b: aware, attitude toward its valence, consideration."""
        self.aware |= 1 << b
        weight = rules.wom_attitude_weight(kind, g.wom_weight, g.wom_negativity)
        target = rules.wom_valence(kind, tables.brand_params[b, P.B_WOM_SHIFT])
        self.attitude[b] = rules.attitude_update(self.attitude[b], target, weight)
        if rules.considers(self.attitude[b], g.consider_threshold):
            if self.in_market and uniform(self._ck, consider_slot) < g.wom_consider:
                self.consider |= 1 << b
        else:
            self.consider &= ~(1 << b)

    def neighbourhood(self, g, nb: int) -> tuple[list, int]:
        """Speaking neighbours per brand, kind and tie (0 strong, 1 weak), freshness-weighted."""
        m = self.model
        net = m.network
        heard = [[[0.0, 0.0] for _ in range(3)] for _ in range(nb)]
        if net.complete:
            for code in range(1, 1 + 3 * nb):
                heard[(code - 1) // 3][(code - 1) % 3][1] = float(m._histogram[code])
            own = int(m.customers.voice[self.index])
            if own & CODE_MASK:
                code = own & CODE_MASK
                fresh = rules.message_freshness(own >> AGE_SHIFT, g.message_half_life)
                heard[(code - 1) // 3][(code - 1) % 3][1] -= fresh
            return heard, m.customers.n - 1
        lo, hi = int(net.indptr[self.index]), int(net.indptr[self.index + 1])
        for e in range(lo, hi):
            voice = int(m.customers.voice[int(net.indices[e])])
            code = voice & CODE_MASK
            if code == 0:
                continue
            fresh = 1.0
            if g.message_half_life > 0:
                fresh = rules.message_freshness(voice >> AGE_SHIFT, g.message_half_life)
            strong = net.strong.size and (int(net.strong[e >> 3]) >> (e & 7)) & 1
            heard[(code - 1) // 3][(code - 1) % 3][0 if strong else 1] += fresh
        return heard, hi - lo

    def network_word_of_mouth(self, tables, g, chan, wom_channel: int) -> tuple[int, bool]:
        """Cascade or threshold rule (see ``sim.engine.kernels.network_word_of_mouth``)."""
        if not self.in_market and uniform(self._ck, SLOT_WOM_ATTENTION) >= g.attention:
            return 0, False
        nb = self.model.market.n_brands
        heard, degree = self.neighbourhood(g, nb)
        if degree == 0:
            return 0, False
        last, triggered = 0, False
        for b in range(nb):
            if tables.brand_params[b, P.B_ACTIVE] <= 0.0:
                continue
            kind = -1
            if g.wom_rule == rules.WOM_CASCADE:
                strong = sum(heard[b][k][0] for k in range(3))
                weak = sum(heard[b][k][1] for k in range(3))
                if strong + weak <= 0.0:
                    continue
                reach = rules.cascade_probability(strong, weak, g.wom_strong, g.wom_weak)
                u = uniform(self._ck, SLOT_WOM + 2 * b)
                if u >= reach:
                    continue
                each = [rules.cascade_probability(heard[b][k][0], heard[b][k][1], g.wom_strong,
                                                  g.wom_weak) for k in range(3)]  # fmt: skip
                pick = u / reach * sum(each)
                for k in range(3):
                    pick -= each[k]
                    if pick < 0.0 or k == 2:
                        kind = k
                        break
            else:
                praising = heard[b][rules.PRAISE][0] + heard[b][rules.PRAISE][1]
                warning = heard[b][rules.WARN][0] + heard[b][rules.WARN][1]
                if rules.threshold_reached(warning, degree, self.wom_threshold):
                    self.hear(b, rules.WARN, tables, g, SLOT_WOM + 2 * b + 1)
                    chan[b, wom_channel, P.C_IMPRESSIONS] += 1
                    last = 1 + 3 * b + rules.WARN
                if rules.threshold_reached(praising, degree, self.wom_threshold):
                    kind = rules.PRAISE
            if kind < 0:
                continue
            self.hear(b, kind, tables, g, SLOT_WOM + 2 * b + 1)
            chan[b, wom_channel, P.C_IMPRESSIONS] += 1
            last = 1 + 3 * b + kind
            if kind == rules.PRAISE and (self.consider >> b) & 1 and not triggered:
                triggered = uniform(self._ck, SLOT_TRIGGER) < g.wom_purchase
        return last, triggered

    def read_reviews(self, tables, g) -> bool:
        """Read the ratings of every brand this customer knows (attitude, consideration)."""
        if not self.attends(g):
            return False
        roles = self.model.market.channel_roles
        c = int(g.review_channel)
        for b in range(self.model.market.n_brands):
            if not (self.aware >> b) & 1 or tables.brand_params[b, P.B_ACTIVE] <= 0.0:
                continue
            rating = tables.brand_params[b, P.B_RATING]
            self.attitude[b] = rules.attitude_update(self.attitude[b], rating, g.review_weight)
            if rules.considers(self.attitude[b], g.consider_threshold):
                role = roles[c, P.R_CONSIDERATION]
                if self.in_market and uniform(self._ck, SLOT_READ + b) < role:
                    self.consider |= 1 << b
            else:
                self.consider &= ~(1 << b)
        return True

    def after_message(self, b: int, consider_probability: float, g) -> None:
        """A liked brand may enter the set (in the market); a disliked one leaves it."""
        if rules.considers(self.attitude[b], g.consider_threshold):
            if self.in_market and uniform(self._ck, SLOT_CONSIDER) < consider_probability:
                self.consider |= 1 << b
        else:
            self.consider &= ~(1 << b)

    def forget_or_need(self, u: float, brand: int, tables, g) -> tuple[bool, bool]:
        """Forget a brand not in use, leave the population, or the need appears or ends.

        Returns (exited, replaced): a customer left the category; the person left the
        population (a newcomer takes the place after the step).
        """
        others = self.aware & ~((1 << brand) if brand >= 0 else 0)
        count = bin(others).count("1")
        forget = g.forget_rate * count
        if u < forget:
            k = min(int(uniform(self._ck, SLOT_FORGET) * count), count - 1)
            b = [x for x in range(8) if (others >> x) & 1][k]
            self.aware &= ~(1 << b)
            self.consider &= ~(1 << b)
            self.attitude[b] = float(tables.brand_params[b, P.B_EQUITY])
            return False, False
        if u < forget + g.turnover:  # leaves the population; a newcomer takes the place
            return brand >= 0, True
        if self.in_market:
            if u < forget + g.turnover + g.exit_rate:  # the need ends: out of the category
                self.in_market = False
                self.consider = 0
                return brand >= 0, False
            return False, False
        if u < forget + g.turnover + g.entry_rate:  # a need appears
            self.in_market = True
        return False, False

    def become_newcomer(self, tables) -> None:
        """A newcomer takes this place: knows no brand, no need yet, no past; same traits."""
        self.aware = 0
        self.consider = 0
        self.attitude = [float(x) for x in tables.brand_params[:, P.B_EQUITY]]
        self.in_market = False
        self.complaint = False
        self.grudge = 0
        self.last_touch = 0
        self.last_brand = -1
        self.stage = rules.UNAWARE

    def use_product(self, tables, g) -> bool:
        """Use the current brand's product; returns True after a very bad experience."""
        b = self.brand
        x = rules.experience_draw(
            tables.brand_params[b, P.B_PRODUCT_QUALITY], g.noise,
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
        acc = self.model._acc_cells[self.cell]
        if bp[b, P.B_BOT_SHARE] > 0.0 and uniform(self._ck, SLOT_BOT) < bp[b, P.B_BOT_SHARE]:
            # the chatbot answers first: it solves the contact, escalates it to people, or not
            acc[b, P.A_BOT_CONTACTS] += 1
            quality, friction = bp[b, P.B_BOT_QUALITY], bp[b, P.B_BOT_FRICTION]
            if uniform(self._ck, SLOT_SERVICE) < quality:
                outcome = rules.SERVICE_SUCCESS
            elif bp[b, P.B_BOT_ESCALATION] > 0.0 and (
                uniform(self._ck, SLOT_ESCALATE) < bp[b, P.B_BOT_ESCALATION]
            ):
                acc[b, P.A_ESCALATED] += 1
                extra = friction + bp[b, P.B_ESCALATION_FRICTION]
                outcome, quality, friction = self.people_answer(b, c, extra, tables)
            else:
                outcome = rules.SERVICE_FAILED
        else:
            outcome, quality, friction = self.people_answer(b, c, 0.0, tables)
        x_ok = rules.experience_draw(quality, g.noise, uniform(self._ck, SLOT_EXPERIENCE))
        x = rules.service_experience(
            outcome, x_ok, self.expectation, g.recovery_paradox, g.failure_experience, friction
        )
        x = rules.personalised_experience(
            x, self.expectation, tables.brand_params[b, P.B_EXPECTATION_MATCH]
        )
        acc[b, P.A_CONTACTS] += 1
        if outcome != rules.SERVICE_SUCCESS:
            acc[b, P.A_FAILURES] += 1
        if outcome == rules.SERVICE_RECOVERED:
            acc[b, P.A_RECOVERED] += 1
        # an unresolved failure leaves the problem open: the customer will call back
        self.complaint = outcome == rules.SERVICE_FAILED
        return self.experience(x, g)

    def people_answer(self, b: int, c: int, extra: float, tables) -> tuple[int, float, float]:
        """The brand's people answer on channel c, after a queue if any (see the kernel's)."""
        acc, chan = self.model._acc_cells[self.cell], self.model._chan_cells[self.cell]
        chan[b, c, P.C_CONTACTS] += 1
        # this customer's segment's tables (JourneyModel.segment_tables_now)
        quality_s, resolution_s, friction_s = self.model.segment_tables_now
        quality = quality_s[self.cell, b, c]
        friction = friction_s[self.cell, b, c] + extra
        if tables.wait_prob[b, c] > 0.0 and uniform(self._ck, SLOT_WAIT) < tables.wait_prob[b, c]:
            acc[b, P.A_WAITED] += 1
            friction += tables.wait_friction[b, c]
            if uniform(self._ck, SLOT_ABANDON) < tables.abandon[b, c]:
                acc[b, P.A_ABANDONED] += 1
                return rules.SERVICE_FAILED, quality, friction
        u = uniform(self._ck, SLOT_SERVICE)
        resolution = resolution_s[self.cell, b, c]
        return rules.service_outcome(u, quality, resolution), quality, friction

    def experience(self, x: float, g) -> bool:
        """Judge experience x against expectation; maybe complain; True if leaving now."""
        d = rules.disconfirmation(x, self.expectation)
        v = rules.touchpoint_evaluation(d, g.met_level + self.disposition, g.eval_sensitivity)
        years = self.tenure / g.steps_per_year
        self.satisfaction = rules.satisfaction_update(
            self.satisfaction, v, g.sat_weight, g.sat_negativity, g.forgiveness, years
        )
        self.attitude[self.brand] = rules.attitude_update(
            self.attitude[self.brand], v, g.sat_weight
        )
        self.expectation = rules.expectation_update(self.expectation, x, g.expectation_rate)
        if d < -g.complaint_threshold and not self.complaint:
            u = uniform(self._ck, SLOT_COMPLAINT)
            if rules.complaint_filed(d, g.complaint_threshold, g.complaint_rate, u):
                self.complaint = True
                self.model._acc_cells[self.cell][self.brand, P.A_COMPLAINTS] += 1
        if g.review_read > 0.0 and g.review_write > 0.0:  # reviews only matter when read
            p = rules.review_probability(d, g.review_write, g.review_extremity)
            if uniform(self._ck, SLOT_REVIEW) < p:
                self.model._acc_cells[self.cell][self.brand, P.A_REVIEWS] += 1
                self.model._acc_cells[self.cell][self.brand, P.A_REVIEW_SUM] += v
        if rules.is_shock(d, g.shock_threshold):
            return uniform(self._ck, SLOT_SHOCK) < g.shock_switch
        return False

    # -- choice, churn, joining -------------------------------------------------------
    def friction(self, b: int) -> float:
        """Friction of brand b on this customer's channel, as its segment meets it."""
        return float(self.model.segment_tables_now[2][self.cell, b, self.channel])

    def alternatives(self, b: int, tables, g) -> float:
        """Known (aware) rivals' logit share against brand b, without inertia (P_alt)."""
        bp = tables.brand_params

        def utility(k: int) -> float:
            return rules.choice_utility(
                self.attitude[k], bp[k, P.B_PRICE], self.price_sensitivity,
                self.friction(k), False, g.beta_attitude, g.beta_price,
                g.beta_friction, g.inertia,
            )  # fmt: skip

        own = utility(b)
        rivals = 0.0
        for r in range(bp.shape[0]):
            if (self.aware >> r) & 1 and r != b and bp[r, P.B_ACTIVE] > 0.0:
                rivals += math.exp(utility(r) - own)
        return rivals / (1.0 + rivals)

    def choose(self, mask: int, current: int, tables, g, u: float) -> int:
        """Multinomial logit over the launched brands in ``mask``; -1 if there are none."""
        bp = tables.brand_params
        utilities = {}
        for b in range(bp.shape[0]):
            if (mask >> b) & 1 and bp[b, P.B_ACTIVE] > 0.0:
                utilities[b] = rules.choice_utility(
                    self.attitude[b], bp[b, P.B_PRICE], self.price_sensitivity,
                    self.friction(b), b == current, g.beta_attitude,
                    g.beta_price, g.beta_friction, g.inertia,
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

    def leave(self, b: int, resentful: bool) -> None:
        """Drop brand b: out of the set, attitude no higher than satisfaction; maybe a grudge.

        Its NPS class for b at the moment it leaves is kept in ``left_class`` (the record).
        """
        g = self.model.market.globals
        score = rules.recommend_score(self.satisfaction, self.attitude[b], g.recommend_weight)
        self.left_class = rules.nps_class(rules.likelihood_to_recommend(score))
        self.attitude[b] = min(self.attitude[b], self.satisfaction)
        self.consider &= ~(1 << b)
        self.last_brand = b
        self.grudge = 1 if resentful else 0

    def join(self, b: int) -> None:
        """Become a customer of brand b; satisfaction starts at the attitude that chose it."""
        self.brand = b
        self.tenure = 0
        self.satisfaction = self.attitude[b]
        self.aware |= 1 << b
        self.consider |= 1 << b

    def credit_conversion(self, b: int, acc, chan, wom_channel: int) -> None:
        """Credit an acquisition of b to the last touchpoint if it was b's message."""
        touch = self.last_touch
        if touch == 0:
            return
        about, kind = (touch >> 8) & 0xF, touch >> 12
        if about != b and not (kind == rules.TOUCH_REVIEWS and about == rules.ANY_BRAND):
            return
        if kind == rules.TOUCH_WOM:
            acc[b, P.A_ACQUIRED_WOM] += 1
            chan[b, wom_channel, P.C_CONVERSIONS] += 1
        elif kind in (rules.TOUCH_AD, rules.TOUCH_NEWS, rules.TOUCH_REVIEWS):
            chan[b, touch & 0xFF, P.C_CONVERSIONS] += 1

    # -- record -----------------------------------------------------------------------
    def state_index(self, nb: int) -> int:
        """Row of this customer's (stage, brand) in the flow matrix."""
        if self.stage == rules.CUSTOMER:
            return 3 + self.brand
        if self.stage == rules.LAPSED:
            return 3 + nb
        return self.stage

    def record_initial(self, step_key, tables) -> None:
        """Record this customer as it is (step 0) and set what it will say."""
        self._ck = np.uint64(customer_key(step_key, self.index))
        nb = self.model.market.n_brands
        tables = self.model.region_tables_now[self.region]
        self.record(self.state_index(nb), tables, self.model.market.globals, nb, 0)

    def record(self, before: int, tables, g, nb: int, t: int) -> None:
        """Add this customer to the step's aggregates and set what it will say."""
        m = self.model
        acc = m._acc_cells[self.cell]
        m._flow_cells[self.cell, before, self.state_index(nb)] += 1
        for k in range(nb):
            if (self.aware >> k) & 1:
                acc[k, P.A_AWARE] += 1
            if (self.consider >> k) & 1 and k != self.brand:
                acc[k, P.A_CONSIDERING] += 1
        b = self.brand
        if b >= 0:
            if self.tenure < t and self.tenure < m._cohort_cells.shape[3]:
                m._cohort_cells[0, self.cell, b, self.tenure] += 1  # cohort retention numerators
            acc[b, P.A_CUSTOMERS] += 1
            acc[b, P.A_SATISFACTION] += self.satisfaction
            acc[b, P.A_ATTITUDE] += self.attitude[b]
            spend = rules.spend_multiplier(
                self.tenure, g.steps_per_year, g.tenure_uplift, g.tenure_cap
            )
            bp = tables.brand_params
            revenue = bp[b, P.B_PRICE] * bp[b, P.B_SPEND_MULT] * spend
            acc[b, P.A_REVENUE] += revenue
            band = min(int(self.tenure / g.steps_per_year), P.N_TENURE_BANDS - 1)
            acc[b, P.A_TENURE_BANDS + band] += 1
            acc[b, P.A_TENURE_BANDS + P.N_TENURE_BANDS + band] += revenue
            score = rules.recommend_score(self.satisfaction, self.attitude[b], g.recommend_weight)
            ltr = rules.likelihood_to_recommend(score)
            acc[b, P.A_LTR + ltr] += 1
            cls = rules.nps_class(ltr)
            column = {rules.PROMOTER: P.A_PROMOTERS, rules.DETRACTOR: P.A_DETRACTORS}
            acc[b, column.get(cls, P.A_PASSIVES)] += 1
        m._voice_next[self.index] = self.voice(g)

    def voice(self, g) -> int:
        """What this customer will say next step: a warning about a brand it left, or its brand."""
        if self.grudge > 0:
            p = rules.grudge_probability(self.grudge - 1, g.grudge_half_life)
            self.grudge = 0 if (p < 0.01 or self.grudge >= 255) else self.grudge + 1
            if uniform(self._ck, SLOT_VOICE) < p and self.last_brand >= 0:
                return 1 + 3 * self.last_brand + rules.WARN
        speaks_of = self.brand if self.stage == rules.CUSTOMER else self.last_brand
        if self.stage not in (rules.CUSTOMER, rules.LAPSED) or speaks_of < 0:
            return 0
        score = rules.recommend_score(
            self.satisfaction, self.attitude[speaks_of], g.recommend_weight
        )
        return 1 + 3 * speaks_of + rules.message_kind(score)
