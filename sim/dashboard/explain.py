"""The model explained: rules as data, a KPI glossary, the journey's state diagram.

Everything the "Explain the model" page shows is data here, so the equations can be
updated in one place when the rules change:

- ``RULES``: each rule's name, plain words, LaTeX equations, symbols tied to config keys
  (``{brand}`` and ``{channel}`` stand for every brand and channel), the section of
  ``docs/model.md`` that describes it, and an interactive curve;
- ``GLOSSARY``: the KPIs with their definition and formula;
- ``MOVES``: the journey's states and the moves between them (the state diagram);
- the curves (``sim.dashboard.explain_curves``) evaluate the engine's own rule functions
  (``agents.rules``) over a grid: the app shows the rule, it does not re-implement it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

DOCS = Path(__file__).resolve().parents[2] / "docs" / "model.md"


@dataclass(frozen=True)
class Symbol:
    r"""A symbol of a rule's equations and the config key that sets it.

    A symbol means one thing on the whole page: one config key or, without a key, one
    meaning. Its name is the one docs/model.md uses, so the docs and the page can be read
    side by side (``tests/test_explain.py`` checks both).

    Attributes:
        tex: The symbol in LaTeX, e.g. ``r"\tau_0"``; "" for a parameter the equations do
            not name; "x, e" for several symbols that share a row.
        meaning: What it stands for.
        key: The config key that sets it (``{brand}`` and ``{channel}`` stand for every brand
            and channel); None for a state variable or a quantity the model derives.
        docs: How docs/model.md writes it when not as the plain form of ``tex``
            (``plain_tex``: ``\tau_0`` is ``tau_0``): its config key, for a quantity the
            docs name only by its key.
        value: The value column of a symbol without a key: what it is and how it varies.
    """

    tex: str
    meaning: str
    key: str | None = None
    docs: str | None = None
    value: str = "per customer (state)"


@dataclass(frozen=True)
class CurveParam:
    """A slider of a rule's curve, starting at the value of ``key`` in the current config."""

    name: str
    label: str
    key: str
    low: float
    high: float
    step: float


@dataclass(frozen=True)
class Rule:
    """One rule of the model, as the explain page shows it.

    Attributes:
        name: The rule's title.
        words: The rule in plain words.
        equations: Its equations in LaTeX, written as docs/model.md writes them.
        symbols: The symbols of the equations and the parameters the rule uses.
        section: The section of docs/model.md that describes it, e.g. "7.9".
        curve: The name of its curve in ``CURVES``.
        params: The sliders of its curve.
        applies: (config key, value): the rule is shown only for that value; None: always.
        see_also: Further sections of docs/model.md where some of its symbols are defined.
    """

    name: str
    words: str
    equations: tuple[str, ...]
    symbols: tuple[Symbol, ...]
    section: str
    curve: str
    params: tuple[CurveParam, ...] = field(default=())
    applies: tuple[str, str] | None = None  # (config key, value): shown only then
    see_also: tuple[str, ...] = ()


# -- symbols shared by several rules (one meaning on the whole page) ---------------------------
ATTITUDE = Symbol("a", "attitude toward the brand (0-1)", value="per customer and brand")
ATTITUDE_B = Symbol("a_b", "attitude toward brand b (0-1)", value="per customer and brand")
SATISFACTION = Symbol("s", "satisfaction with the current brand (0-1)")
EXPERIENCE = Symbol("x, e", "experience of a touchpoint and the customer's expectation (0-1)")
DISCONFIRMATION = Symbol("d", "disconfirmation: experience minus expectation, x - e")
SHIFT = Symbol(
    r"\delta_b",
    "valence shift of brand b: what an active wom_shock, pr_crisis or viral_review event "
    "adds to messages about b (7.17)",
    value="0 without such an event; the same for every customer",
)
REACH = Symbol(
    r"\rho_{bc}", "daily ad reach of brand b on channel c", "brands.{brand}.ad_reach.{channel}"
)
TALK_RATE = Symbol("r_{talk}", "talk rate of a customer of activity 1", "wom.talk_rate")
QUALITY = Symbol(
    "q", "service quality of the brand on the channel", "brands.{brand}.service_quality.{channel}"
)
PRICE = Symbol("p_b", "price per customer-day", "brands.{brand}.price")
EXIT = Symbol("", "rate at which the need ends (7.1)", "market.category.exit_rate")
SERVICE_COST = Symbol(
    "", "cost of a service contact people answer", "channels.{channel}.service_cost"
)


RULES: tuple[Rule, ...] = (
    Rule(
        "Events compete",
        "Each day a person meets at most one event: an ad (or news item) of some brand on "
        "some channel, a conversation with a neighbour, reading reviews, for customers using "
        "the product or a service contact (likely within days while a problem is open), "
        "forgetting a brand not in use, leaving the population (a newcomer takes the place), "
        "or the need for the category appearing or ending. One uniform draw picks it from "
        "their daily rates.",
        (
            r"P(\text{ad of } b \text{ on } c) = \rho_{bc}, \quad "
            r"P(\text{talk}) = \lambda_i = r_{talk}\,a_i, \quad "
            r"P(\text{read reviews}) = \rho_r",
            r"P(\text{use}) = \mu, \quad P(\text{contact}) = \kappa + \kappa_{open}\,"
            r"[\text{open problem}] \quad \text{(customers only)}",
            r"P(\text{forget } b) = \phi, \quad P(\text{leave the population}) = \tau, \quad "
            r"P(\text{need ends}) = \eta_{out}, \quad P(\text{need appears}) = \eta_{in}",
        ),
        (
            REACH,
            Symbol(r"\lambda_i", "conversation rate of customer i: r_talk a_i"),
            TALK_RATE,
            Symbol(
                "a_i",
                "word-of-mouth activity of customer i (trait, mean)",
                "market.traits.wom_activity.mean",
            ),
            Symbol(r"\rho_r", "rate of reading online reviews", "wom.reviews.read_rate"),
            Symbol(r"\mu", "product usage rate", "market.journey.usage_rate"),
            Symbol(
                r"\kappa",
                "unprompted service contact rate",
                "service.contact_rate",
                docs="service.contact_rate",
            ),
            Symbol(
                r"\kappa_{open}",
                "extra contact rate while a problem is open (a complaint pending)",
                "service.complaint_contact",
                docs="service.complaint_contact",
            ),
            Symbol(r"\phi", "forgetting rate per brand not in use", "market.journey.forget_rate"),
            Symbol(r"\tau", "population turnover", "market.category.turnover"),
            Symbol(r"\eta_{out}", "rate at which the need ends", "market.category.exit_rate"),
            Symbol(r"\eta_{in}", "rate at which the need appears", "market.category.entry_rate"),
        ),
        "7.1",
        "touchpoints",
        (
            CurveParam("talk_rate", "talk rate r_talk", "wom.talk_rate", 0.0, 0.5, 0.01),
            CurveParam("usage_rate", "usage rate μ", "market.journey.usage_rate", 0.0, 0.5, 0.01),
        ),
    ),
    Rule(
        "Ads build awareness and attitude",
        "An ad can make a person aware of the brand (the channel's awareness role) and "
        "pulls the attitude a little toward the ad's tone; a liked brand may enter the "
        "consideration set, and some channels (search, app, store) then trigger a purchase "
        "now. Out of the market, people notice a message only now and then (attention).",
        (
            r"a' = a + w_{ad}\,(\tau_b - a), \qquad \tau_b = \mathrm{clip}(\tau_0 + \delta_b)",
            r"P(\text{noticed}) = 1 \text{ in the market}, \quad \alpha \text{ out of it}",
        ),
        (
            ATTITUDE,
            Symbol("w_{ad}", "weight of one ad", "wom.ad_weight"),
            Symbol(r"\tau_0", "tone an ad pulls toward", "wom.ad_tone"),
            Symbol(
                r"\tau_b",
                "valence of brand b's ads: the tone plus b's valence shift, clipped to 0-1",
                value="per brand",
            ),
            SHIFT,
            Symbol(
                r"\alpha",
                "attention out of the market",
                "market.category.attention",
                docs="market.category.attention",
            ),
            Symbol(
                "",
                "P(an ad on the channel makes the customer aware)",
                "channels.{channel}.awareness",
            ),
            Symbol(
                "",
                "P(an ad on the channel triggers a purchase occasion, for a considered brand)",
                "channels.{channel}.purchase",
            ),
        ),
        "7.2",
        "ads",
        (
            CurveParam("weight", "ad weight w_ad", "wom.ad_weight", 0.0, 0.5, 0.01),
            CurveParam("tone", "ad tone τ_0", "wom.ad_tone", 0.0, 1.0, 0.05),
        ),
        see_also=("7.1",),
    ),
    Rule(
        "Word of mouth",
        "Customers trust each other more than brands. A person talks with a random "
        "neighbour; promoters praise, detractors warn (warnings weigh more), passives only "
        "mention the brand, and people who left a brand warn about it for a while (a grudge "
        "that fades). Praise of a considered brand may prompt a purchase. A silent neighbour "
        "wastes the conversation, so on the complete network word of mouth is the Bass "
        "model's imitation, with the ad reach as its innovation.",
        (
            r"\text{praise: } a' = a + w\,(\mathrm{clip}(1 + \delta_b) - a), \qquad "
            r"\text{warning: } a' = a + \min(1, w\lambda_w)\,(\mathrm{clip}(0 + \delta_b) - a)",
            r"P(\text{a leaver still warns}) = 2^{-(\text{days since leaving})/h_g}",
            r"F_{t+1} = F_t + (1 - F_t)(\rho_{bc} + r_{talk} F_t) "
            r"\quad \text{(complete network, one brand on one channel: Bass)}",
        ),
        (
            ATTITUDE,
            Symbol("w", "weight of a heard praise", "wom.weight"),
            Symbol(r"\lambda_w", "how much more a warning weighs", "wom.negativity_bias"),
            SHIFT,
            Symbol("h_g", "half-life of a leaver's warnings (days)", "wom.grudge_half_life"),
            REACH,
            TALK_RATE,
            Symbol("", "P(a heard, liked brand enters the set)", "wom.consideration"),
            Symbol("", "P(praise of a considered brand prompts a purchase)", "wom.purchase"),
            Symbol("", "who can talk to whom", "network.kind"),
        ),
        "7.3",
        "word_of_mouth",
        (
            CurveParam("weight", "praise weight w", "wom.weight", 0.0, 1.0, 0.05),
            CurveParam("bias", "negativity bias λ_w", "wom.negativity_bias", 1.0, 5.0, 0.1),
        ),
        ("wom.rule", "pairwise"),
        see_also=("7.1", "7.12"),
    ),
    Rule(
        "Word of mouth: independent cascade",
        "Instead of one conversation a day, everything the neighbours say reaches a person: "
        "each step it is informed about a brand by each speaking strong tie with probability "
        "b_s and by each speaking weak tie with b_w, independently (Goldenberg, Libai and "
        "Muller 2001); the message heard is praise, a mention or a warning in proportion to "
        "who speaks. Weak ties bridge groups, so they speed diffusion up.",
        (
            r"P(\text{informed about } b) = 1 - (1 - p_{ad})(1 - b_s)^{S_b}(1 - b_w)^{W_b}",
            r"F_{t+1} = F_t + (1 - F_t)\left(1 - (1 - p_{ad})(1 - b_w)^{(N-1) F_t}\right) "
            r"\text{ (complete network: every tie weak)}",
        ),
        (
            Symbol("b_s", "P(a speaking strong tie informs) per day", "wom.strong"),
            Symbol("b_w", "P(a speaking weak tie informs) per day", "wom.weak"),
            Symbol("S_b, W_b", "strong and weak ties speaking about b (faded messages count less)"),
            Symbol("p_{ad}", "the chance the day's ad touchpoint informs about b (7.1)"),
            Symbol("h_m", "half-life of a message (days; 0: messages never fade)", "wom.half_life"),
            Symbol("", "which ties are strong", "network.kind"),
        ),
        "7.3b",
        "cascade",
        (
            CurveParam("strong", "strong-tie probability b_s", "wom.strong", 0.0, 0.2, 0.005),
            CurveParam("weak", "weak-tie probability b_w", "wom.weak", 0.0, 0.2, 0.005),
        ),
        ("wom.rule", "cascade"),
        see_also=("7.3",),
    ),
    Rule(
        "Word of mouth: linear threshold",
        "A person takes a view of a brand when the share of its neighbours praising it (or "
        "warning about it) reaches its own threshold (Granovetter 1978): some follow the "
        "first voice, others wait for most of their circle. A small change in the share who "
        "start or in the thresholds can tip a whole market, or not.",
        (
            r"\text{view of } b \text{ if } \frac{\text{praising}_b}{\text{neighbours}} "
            r"\ge \theta_i, \qquad \theta_i \sim \text{Beta}",
            r"F_{t+1} = F_0 + (1 - F_0)\,P(\theta_i \le F_t) \text{ (complete network)}",
        ),
        (
            Symbol(
                r"\theta_i",
                "threshold of person i (trait, mean)",
                "market.traits.wom_threshold.mean",
            ),
            Symbol("", "... and its sd", "market.traits.wom_threshold.sd"),
        ),
        "7.3b",
        "threshold",
        (
            CurveParam(
                "mean", "mean threshold θ_i", "market.traits.wom_threshold.mean", 0.05, 0.95, 0.01
            ),
            CurveParam("sd", "sd of thresholds", "market.traits.wom_threshold.sd", 0.01, 0.3, 0.01),
        ),  # fmt: skip
        ("wom.rule", "threshold"),
    ),
    Rule(
        "Online reviews",
        "Customers review experiences, extreme ones more often; each brand's rating is the "
        "weighted mean of recent reviews (starting from one review's worth at its equity), so "
        "a bad quarter shows and lingers. People who read review sites see the rating of "
        "every brand they know, and it moves their attitude (switched on by a positive read "
        "rate).",
        (
            r"P(\text{review}) = \min(1, r_w (1 + \xi\,|d|)), \qquad "
            r"\text{rating}_b = \frac{\sum_j \delta^{\text{age}_j} v_j}"
            r"{\sum_j \delta^{\text{age}_j}}",
            r"a' = a + w_r\,(\text{rating}_b - a), \quad \delta = 2^{-1/h_r}",
        ),
        (
            Symbol("r_w", "P(reviewing an ordinary experience)", "wom.reviews.write"),
            Symbol(r"\xi", "extremity: extremes are reviewed more", "wom.reviews.extremity"),
            DISCONFIRMATION,
            Symbol(
                "h_r",
                "half-life of a review in the rating (days)",
                "wom.reviews.half_life",
                docs="wom.reviews.half_life",
            ),
            Symbol(
                r"\delta",
                "weight a review keeps in the rating from one day to the next",
                value="2^(-1/h_r)",
            ),
            Symbol("w_r", "weight of reading a rating", "wom.reviews.weight"),
            ATTITUDE,
            Symbol("", "P(reading reviews) per day", "wom.reviews.read_rate"),
        ),
        "7.3c",
        "reviews",
        (CurveParam("extremity", "extremity ξ", "wom.reviews.extremity", 0.0, 10.0, 0.5),),
    ),
    Rule(
        "News",
        "News about a brand (a PR crisis, a viral review) pulls attitude toward its own "
        "valence: good news never lowers an attitude, bad news never raises it, and bigger "
        "news moves it more. News is earned media: nobody pays for it.",
        (
            r"a' = a + \min(w_n\,\delta_b, 1)\,(1 - a) \ (\delta_b \ge 0), \qquad "
            r"a' = a - \min(w_n\,|\delta_b|, 1)\,a \ (\delta_b < 0)",
        ),
        (
            ATTITUDE,
            Symbol("w_n", "weight of news per unit of shift", "wom.news_weight"),
            SHIFT,
        ),
        "7.2b",
        "news",
        (CurveParam("weight", "news weight w_n", "wom.news_weight", 0.0, 1.0, 0.05),),
    ),
    Rule(
        "Expectations and satisfaction",
        "Every direct touchpoint is judged against what the customer expected. The gap "
        "(disconfirmation) moves satisfaction; bad news weighs more, and loyal customers "
        "forgive, but never so much that bad news weighs less than good. Some customers are "
        "harder to please than others (their disposition). Expectations adapt slowly. A "
        "disappointed customer may complain (a contact to come); a very bad touchpoint is a "
        "shock.",
        (
            r"d = x - e, \qquad v = \mathrm{clip}(v_0 + \delta_i + k\,d)",
            r"s' = s + w_{eff}\,(v - s), \quad w_{eff} = \begin{cases} w_s & v \ge s \\ "
            r"\min\!\left(1, w_s\,(1 + (\lambda - 1)/(1 + \phi_y\,y))\right) "
            r"& v < s \end{cases}",
            r"e' = e + \rho_e\,(x - e), \quad \text{complaint if } d < -\theta_c "
            r"\text{ (prob. } p_{cpl}), \quad \text{shock if } d < -\theta_s",
        ),
        (
            EXPERIENCE,
            DISCONFIRMATION,
            Symbol("v", "evaluation of the touchpoint (0-1)"),
            SATISFACTION,
            Symbol(
                "v_0", "evaluation when expectations are just met", "market.satisfaction.met_level"
            ),
            Symbol(
                r"\delta_i",
                "disposition of customer i: normal, mean 0, this sd",
                "market.satisfaction.disposition",
            ),
            Symbol("k", "sensitivity to disconfirmation", "market.satisfaction.sensitivity"),
            Symbol("w_s", "weight of one touchpoint", "market.satisfaction.weight"),
            Symbol(r"\lambda", "negativity bias", "market.satisfaction.negativity_bias"),
            Symbol(r"\phi_y", "forgiveness per year of tenure", "market.satisfaction.forgiveness"),
            Symbol("y", "tenure with the current brand, in years"),
            Symbol(
                r"\rho_e", "how fast expectations adapt", "market.satisfaction.expectation_rate"
            ),
            Symbol(r"\theta_c", "complaint threshold", "service.complaint_threshold"),
            Symbol("p_{cpl}", "P(a disappointed customer complains)", "service.complaint_rate"),
            Symbol(r"\theta_s", "shock threshold", "market.churn.shock_threshold"),
        ),
        "7.7",
        "satisfaction",
        (
            CurveParam(
                "expectation", "expectation e", "market.traits.expectation.mean", 0.0, 1.0, 0.05
            ),
            CurveParam(
                "sensitivity", "sensitivity k", "market.satisfaction.sensitivity", 0.0, 5.0, 0.1
            ),
        ),
    ),
    Rule(
        "Service quality and recovery",
        "A service contact succeeds with the brand's quality on the customer's channel; a "
        "failure may be put right at first contact, and a well-recovered failure can leave "
        "the customer happier than before (the recovery paradox). An unresolved failure "
        "leaves the problem open: the customer calls back. Friction lowers every service "
        "experience; contacts cost the channel's cost (a chatbot's less).",
        (
            r"P(\text{success}) = q, \quad P(\text{recovered}) = (1-q)\,r, \quad "
            r"P(\text{failed}) = (1-q)(1-r)",
            r"x = \begin{cases} x_{ok} - f & \text{success} \\ e + \pi_r - f & \text{recovered} "
            r"\\ x_{fail} - f & \text{failed} \end{cases}",
        ),
        (
            QUALITY,
            Symbol(
                "r", "first-contact resolution", "brands.{brand}.first_contact_resolution.{channel}"
            ),
            Symbol("f", "friction (waiting, effort)", "brands.{brand}.friction.{channel}"),
            EXPERIENCE,
            Symbol(
                "x_{ok}",
                "experience of a success: drawn around the quality q (noise σ)",
                value="per contact",
            ),
            Symbol(r"\pi_r", "recovery paradox", "service.recovery_paradox"),
            Symbol("x_{fail}", "experience of an unresolved failure", "service.failure_experience"),
            Symbol(r"\sigma", "noise of experiences around quality", "service.noise"),
            SERVICE_COST,
        ),
        "7.5",
        "service",
        (
            CurveParam(
                "resolution",
                "first-contact resolution r",
                "brands.incumbent.first_contact_resolution.service",
                0.0,
                1.0,
                0.05,
            ),
        ),
        see_also=("7.4",),
    ),
    Rule(
        "Service capacity and queues",
        "Each brand staffs its channels for a number of contacts a day; at the recent load "
        "the queue is an M/M/c+M queue (Erlang A): the busier the agents, the more contacts "
        "wait and the longer, and impatient customers hang up, an unresolved failure; "
        "waiting adds friction. Queues are those of the market the simulated customers stand "
        "for. Fast growth strains service.",
        (
            r"\pi_n \propto \prod_{j \le n} "
            r"\frac{\lambda_q}{\min(j, c_{agents})\,\mu_q + \max(j - c_{agents}, 0)\,\gamma_q}",
            r"P_{wait} = \sum_{n \ge c_{agents}} \pi_n, \quad "
            r"P_{ab} = \gamma_q\,E[Q] / \lambda_q, \quad "
            r"W_w = E[Q] / (\lambda_q\,P_{wait})",
        ),
        (
            Symbol(
                "K_{bc}",
                "contacts a day brand b staffs channel c for, per 1,000 customers",
                "brands.{brand}.service_capacity.{channel}",
            ),
            Symbol(
                "c_{agents}",
                "agents: the staffed contacts / handle rate (in the market people stand for)",
                value="per brand and channel",
            ),
            Symbol(r"\mu_q", "contacts an agent handles a day", "service.handle_rate"),
            Symbol(
                r"\lambda_q",
                "contacts a day (recent load, in the market of service.market_people people "
                "the customers stand for)",
                value="per brand and channel, each day",
            ),
            Symbol(
                r"\gamma_q",
                "hang-ups per waiting caller a day: service.minutes_per_step / patience",
                value="from the keys",
            ),
            Symbol(r"\pi_n", "P(n contacts in the system)", value="per brand and channel"),
            Symbol("Q", "callers waiting", value="per brand and channel"),
            Symbol("W_w", "mean wait of those who wait", value="per brand and channel"),
            Symbol(
                "", "patience: mean minutes a caller waits before hanging up", "service.patience"
            ),
            Symbol("", "friction of a wait of one patience", "service.wait_friction"),
        ),
        "7.5",
        "queue",
        (CurveParam("handle_rate", "handle rate μ_q", "service.handle_rate", 1.0, 100.0, 1.0),),
        ("service.rule", "capacity"),
    ),
    Rule(
        "Service investment",
        "Service quality is bought: it moves toward the level a brand's service spend per "
        "customer sustains, with a lag, and decays without it; the spend is a service cost.",
        (
            r"\mathrm{logit}\,q^* = \mathrm{logit}\,q_0 + \epsilon \ln(k^{svc}_b / k^{svc}_{ref}),"
            r" \qquad q' = q + (q^* - q)/L",
        ),
        (
            Symbol("k^{svc}_b", "service spend per customer-day", "brands.{brand}.service_spend"),
            Symbol(
                "k^{svc}_{ref}",
                "spend that sustains the configured quality",
                "service.spend_reference",
            ),
            Symbol(r"\epsilon", "elasticity", "service.spend_elasticity"),
            Symbol("L", "lag (days)", "service.lag"),
            Symbol("q_0", "configured quality", "brands.{brand}.service_quality.{channel}"),
            QUALITY,
        ),
        "7.5",
        "investment",
        (CurveParam("elasticity", "elasticity ε", "service.spend_elasticity", 0.0, 3.0, 0.1),),
        ("service.rule", "investment"),
    ),
    Rule(
        "Choice",
        "At a purchase occasion (only with a need for the category) the customer picks a "
        "brand from its consideration set by a multinomial logit on attitude, price and "
        "friction, with a bonus for staying. Price enters as its logarithm, so a 20% cut "
        "moves utility alike for a cheap brand and a dear one.",
        (
            r"U_b = \beta_a a_b - \beta_p \psi_i \ln(p_b) - \beta_f f_{b,c_i} "
            r"+ I\,[b = \text{current}]",
            r"P(b) = \exp(U_b) \Big/ \sum_{b'} \exp(U_{b'})",
        ),
        (
            Symbol(r"\beta_a", "weight of attitude", "market.choice.beta_attitude"),
            Symbol(r"\beta_p", "weight of log price", "market.choice.beta_price"),
            Symbol(r"\beta_f", "weight of friction", "market.choice.beta_friction"),
            Symbol("I", "inertia: bonus of the current brand", "market.choice.inertia"),
            ATTITUDE_B,
            Symbol(
                r"\psi_i",
                "price sensitivity of customer i (trait, mean)",
                "market.traits.price_sensitivity.mean",
            ),
            PRICE,
            Symbol(
                "f_{b,c_i}",
                "friction of brand b on the customer's own channel c_i",
                "brands.{brand}.friction.{channel}",
            ),
            Symbol(r"\nu", "P(a purchase occasion) per day", "market.journey.need_rate"),
        ),
        "7.8",
        "choice",
        (
            CurveParam("beta_price", "price weight β_p", "market.choice.beta_price", 0.0, 8.0, 0.1),
            CurveParam("inertia", "inertia I", "market.choice.inertia", 0.0, 8.0, 0.1),
        ),
    ),
    Rule(
        "Churn and switching",
        "Customers leave for four reasons, each counted: the risk of leaving rises as "
        "satisfaction falls and as the rivals they know look better, and for a while after "
        "a price rise or a rival's cut (the hazard); one very bad touchpoint can make them "
        "leave at once (a shock); a rival can win them at a purchase occasion (a switch); or "
        "their need for the category ends (an exit). A leaver switches to a brand it "
        "considers, or lapses.",
        (
            r"h = \min\!\left(1,\ \pi_i\, m^h_b\, f_i \exp(\gamma\,(s_{ref} - s)) + h_p\right)",
            r"P(\text{leave within a year}) = 1 - (1 - h)^{365}",
        ),
        (
            Symbol("h", "churn hazard: P(leaving today) of a customer"),
            Symbol(
                r"\pi_i",
                "baseline churn propensity of customer i (trait: a Beta's first parameter)",
                "market.traits.churn_propensity.alpha",
            ),
            Symbol(
                "", "... and the Beta's second parameter", "market.traits.churn_propensity.beta"
            ),
            Symbol(
                "m^h_b",
                "churn multiplier of brand b (a loyalty programme)",
                value="1 without a loyalty_programme event; the same for every customer of b",
            ),
            Symbol("f_i", "attraction of the alternatives customer i knows (7.9c): 1 on average"),
            Symbol(r"\gamma", "churn sensitivity to satisfaction", "market.churn.sensitivity"),
            Symbol(
                "s_{ref}", "satisfaction at which h equals the propensity", "market.churn.reference"
            ),
            SATISFACTION,
            Symbol("h_p", "price reaction (7.9b): 0 while prices are the usual ones"),
            Symbol("", "P(leaving after a shock)", "market.churn.shock_switch"),
            EXIT,
        ),
        "7.9",
        "churn",
        (
            CurveParam("sensitivity", "sensitivity γ", "market.churn.sensitivity", 0.0, 15.0, 0.5),
            CurveParam("reference", "reference s_ref", "market.churn.reference", 0.0, 1.0, 0.02),
        ),
        see_also=("7.9b", "7.9c"),
    ),
    Rule(
        "Money",
        "Customers pay every day and loyal customers spend more (and more again in a loyalty "
        "programme); profit is the margin on revenue less ad spend (exposures times the "
        "channel's cost), acquisition, service and programme costs. The projected CLV is what "
        "a customer is expected to bring from now on, from the margin it earns and the "
        "brand's retention.",
        (
            r"\text{revenue}_b = \sum_{i \in b} p_b\,s_b\,"
            r"\bigl(1 + g \min(\text{tenure}_i / 365, y_{cap})\bigr)",
            r"\text{profit}_b = m_b\,\text{revenue}_b - \text{ads}_b - \text{acquisition}_b "
            r"- \text{service}_b - \text{programmes}_b",
            r"\text{CLV}_b(t) = m_t \sum_{j=0}^{H-1} \bigl(\rho_t / (1 + D)\bigr)^j",
        ),
        (
            PRICE,
            Symbol(
                "s_b",
                "spend multiplier of brand b (a loyalty programme)",
                value="1 without a loyalty_programme event; the same for every customer of b",
            ),
            Symbol("g", "spend uplift per year of tenure", "market.spend.tenure_uplift"),
            Symbol("y_{cap}", "years after which spend stops rising", "market.spend.cap_years"),
            Symbol("m_b", "margin", "brands.{brand}.margin"),
            Symbol("D", "discount rate per day (CLV)", "finance.discount_rate"),
            Symbol("H", "CLV horizon in days: this many years x 365", "finance.clv_horizon_years"),
            Symbol(
                r"m_t, \rho_t",
                "margin per customer-day and daily retention of brand b, observed up to day t",
                value="measured in the run",
            ),
            Symbol("", "cost of an ad drawn (an effective exposure)", "channels.{channel}.cost"),
            Symbol("", "cost of winning a customer beyond ads", "brands.{brand}.acquisition_cost"),
            SERVICE_COST,
        ),
        "7.13",
        "money",
        (
            CurveParam("uplift", "uplift g", "market.spend.tenure_uplift", 0.0, 1.0, 0.05),
            CurveParam("cap", "cap in years y_cap", "market.spend.cap_years", 0.0, 10.0, 0.5),
        ),
        see_also=("7.10", "7.16"),
    ),
    Rule(
        "Advocacy",
        "Likelihood to recommend (0-10) follows satisfaction with the experience and the "
        "brand's reputation (attitude, which ads, news and word of mouth move): 9-10 are "
        "promoters who praise, 0-6 detractors who warn; NPS is the share of promoters minus "
        "that of detractors.",
        (
            r"\text{LTR} = \min\bigl(10, \lfloor 11\,(\omega s + (1 - \omega)\,a_b) \rfloor\bigr)",
            r"\text{NPS} = 100\,\frac{\text{promoters} - \text{detractors}}{\text{customers}}",
        ),
        (
            SATISFACTION,
            ATTITUDE_B,
            Symbol(r"\omega", "weight of satisfaction", "market.recommend.satisfaction_weight"),
        ),
        "7.12",
        "advocacy",
        (
            CurveParam(
                "omega",
                "weight of satisfaction ω",
                "market.recommend.satisfaction_weight",
                0.0,
                1.0,
                0.05,
            ),  # fmt: skip
        ),
    ),
)


def rules_for(cfg) -> tuple[Rule, ...]:
    """The rules that describe a config: those of its word-of-mouth and service rules."""
    return tuple(
        r for r in RULES
        if r.applies is None or str(OmegaConf.select(cfg, r.applies[0])) == r.applies[1]
    )  # fmt: skip


@dataclass(frozen=True)
class Term:
    """A glossary entry: what a KPI means and its formula."""

    name: str
    words: str
    formula: str


GLOSSARY: tuple[Term, ...] = (
    Term(
        "Retention",
        "Share of the customers a brand served during the run who are still its customers "
        "at the end. The retention curve follows acquisition cohorts instead: the share of "
        "customers still active ℓ days after joining.",
        r"R_b = \frac{C_b(T)}{C_b(0) + A_b}, \qquad S_b(\ell) = "
        r"\frac{\text{active at tenure } \ell}{\text{cohort size}}",
    ),
    Term(
        "Churn rate",
        "Customers lost over the run (switched or lapsed) per average customer.",
        r"\text{churn rate}_b = \frac{L_b}{\overline{C}_b}, \quad "
        r"\overline{C}_b = \frac{1}{T+1}\sum_{t=0}^{T} C_b(t)",
    ),
    Term(
        "CAC",
        "Customer acquisition cost: ad spend and acquisition costs (onboarding, commission) over "
        "the run per customer won (switchers included).",
        r"\text{CAC}_b = \frac{\sum_t \text{ad spend}_b(t) + \text{acquisition cost}_b(t)}{A_b}",
    ),
    Term(
        "CLV",
        "Customer lifetime value (projected): the expected discounted margin a customer "
        "brings over its remaining lifetime, from the brand's margin per customer-day (revenue "
        "times margin, less service and retention-programme costs) and its daily retention, "
        "up to a horizon. Beside it, profit per customer is what each customer served has "
        "brought so far.",
        r"\text{CLV}_b = m_t \sum_{j=0}^{H-1} \bigl(\rho_t / (1 + D)\bigr)^j",
    ),
    Term(
        "NPS",
        "Net promoter score: promoters (likelihood to recommend 9-10) minus detractors "
        "(0-6), in points of the customer base, from -100 to +100.",
        r"\text{NPS}_b = 100\,\frac{\text{promoters}_b - \text{detractors}_b}{C_b}",
    ),
    Term(
        "Market share",
        "The brand's share of all customers of any brand.",
        r"\text{share}_b = \frac{C_b}{\sum_{b'} C_{b'}}",
    ),
    Term("Customers", "Customers of the brand (at the end of the run for the KPI).", r"C_b(T)"),
    Term(
        "Revenue",
        "What customers paid over the run (currency units, cu).",
        r"\sum_t \text{revenue}_b(t)",
    ),
    Term(
        "Profit",
        "Margin on revenue less ad spend, acquisition, service and programme costs, over the run.",
        r"\sum_t \bigl(m_b\,\text{revenue}_b(t) - \text{costs}_b(t)\bigr)",
    ),
    Term(
        "Difference vs baseline",
        "Each scenario run is paired with the baseline run of the same seed (the same "
        "customers and random numbers), and the mean of the paired differences gets a 95% "
        "t-interval. 'n.s.' (not significant): the interval includes zero, so the "
        "replicates cannot tell the scenario from the baseline.",
        r"\bar{\Delta} \pm t_{0.975,\,n-1}\,\frac{s_\Delta}{\sqrt{n}}",
    ),
    Term(
        "pp (percentage points)",
        "The difference between two percentages: 68.6% to 68.3% is -0.3 pp.",
        r"\Delta_{pp} = 100\,(\text{share}_1 - \text{share}_0)",
    ),
)


#: What the glossary's symbols stand for (shown under it).
GLOSSARY_SYMBOLS = (
    "$C_b(t)$: customers of brand $b$ on day $t$ ($T$ the last day); $A_b$, $L_b$: customers "
    "won and lost over the run; $m_b$: margin; $S_b(\\ell)$: share of a cohort still a "
    "customer $\\ell$ days after joining; $D$: discount rate per day; $m_t$, $\\rho_t$: "
    "margin per customer-day and daily retention observed up to day $t$; $H$: the CLV "
    "horizon in days; $n$: replicates. Money is in currency units (cu)."
)


def glossary_term(name: str) -> Term | None:
    """The glossary entry of that name (case-insensitive), None if there is none."""
    for term in GLOSSARY:
        if term.name.lower() == name.lower():
            return term
    return None


# -- config values of a rule's symbols ---------------------------------------------------------
def expand_key(key: str, brands: Sequence[str], channels: Sequence[str]) -> list[str]:
    """A templated key for every brand and channel (``{brand}``, ``{channel}``)."""
    keys = [key]
    if "{brand}" in key:
        keys = [k.replace("{brand}", b) for k in keys for b in brands]
    if "{channel}" in key:
        keys = [k.replace("{channel}", c) for k in keys for c in channels]
    return keys


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def symbol_rows(rule: Rule, cfg) -> tuple[list[dict], list[dict], list[str]]:
    """The symbol table of a rule with the values of ``cfg``.

    Returns:
        (market, per_brand, brands): ``market`` rows (symbol, meaning, key, value) for
        keys without a brand; ``per_brand`` rows (symbol, meaning, key, and one value per
        brand: per-channel keys list their channels, e.g. 'store 0.9 · app 0.6').
    """
    brands = list(cfg.brands.keys())
    channels = list(cfg.channels.keys())
    market, per_brand = [], []
    for sym in rule.symbols:
        row = {"symbol": sym.tex, "meaning": sym.meaning, "key": sym.key or "(no key)"}
        if sym.key is None:
            market.append({**row, "value": sym.value})
            continue
        if "{brand}" not in sym.key:
            if "{channel}" in sym.key:
                parts = [
                    f"{c} {_value_text(OmegaConf.select(cfg, k))}"
                    for c, k in zip(channels, expand_key(sym.key, [], channels), strict=True)
                ]
                market.append({**row, "value": " · ".join(parts)})
            else:
                market.append({**row, "value": _value_text(OmegaConf.select(cfg, sym.key))})
            continue
        for b in brands:
            key = sym.key.replace("{brand}", b)
            if "{channel}" in key:
                node = OmegaConf.select(cfg, key.rsplit(".", 1)[0]) or {}
                parts = [f"{c} {_value_text(v)}" for c, v in node.items() if v]
                row[b] = " · ".join(parts) or "0"
            else:
                row[b] = _value_text(OmegaConf.select(cfg, key))
        per_brand.append(row)
    return market, per_brand, brands


# -- docs/model.md sections --------------------------------------------------------------------
_HEADING = re.compile(r"^(#{2,3})\s+(\d+(?:\.\d+)?[a-z]?)\s+(.*)$")


def doc_sections(text: str | None = None) -> dict[str, tuple[str, str]]:
    """Numbered sections of docs/model.md: {'7.9': (title, body)}."""
    if text is None:
        text = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else ""
    out: dict[str, tuple[str, str]] = {}
    current, title, body = None, "", []
    for line in text.splitlines():
        m = _HEADING.match(line)
        if m or line.startswith("## "):
            if current:
                out[current] = (title, "\n".join(body).strip())
            current, title, body = (m.group(2), m.group(3), []) if m else (None, "", [])
            continue
        if current:
            body.append(line)
    if current:
        out[current] = (title, "\n".join(body).strip())
    return out


def doc_anchor(number: str, title: str) -> str:
    """GitHub's anchor of a heading: '7.9 Churn and switching' -> '79-churn-and-switching'."""
    text = f"{number} {title}".lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


# -- symbols and formulas as docs/model.md writes them -----------------------------------------
_TEX_WORDS = re.compile(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}")
_TEX_SPACES = re.compile(r"\\(?:left|right|[bB]igl|[bB]igr|[bB]ig|qquad|quad|[,;:! ])")


def plain_tex(tex: str) -> str:
    r"""A LaTeX symbol or formula in the plain text of docs/model.md.

    Words (``\text``, ``\mathrm``) are kept, spacing and sizing commands become spaces,
    ``\ge``/``\le`` become ``>=``/``<=``, ``^*`` becomes ``*``, and backslashes and braces
    go: ``\rho_{bc}`` is ``rho_bc``, ``k^{svc}_b`` is ``k^svc_b``, ``\mathrm{logit}\,q^*`` is
    ``logit q*``.

    Args:
        tex: A LaTeX symbol or formula.

    Returns:
        Its plain-text form, runs of spaces collapsed.
    """
    text = _TEX_SPACES.sub(" ", _TEX_WORDS.sub(r"\1", tex))
    text = text.replace("\\ge", ">=").replace("\\le", "<=").replace("^*", "*")
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def docs_key(key: str) -> str:
    """A config key as docs/model.md writes it: ``{brand}`` is ``<b>``, ``{channel}`` ``<c>``."""
    return key.replace("{brand}", "<b>").replace("{channel}", "<c>")


def docs_names(sym: Symbol) -> tuple[str, ...]:
    """How docs/model.md writes a symbol: ``sym.docs``, else each part of its plain ``tex``.

    Args:
        sym: A symbol of a rule ("x, e" has two parts; "" none).

    Returns:
        The plain-text names to look for in the rule's sections of docs/model.md.
    """
    if sym.docs:
        return (sym.docs,)
    return tuple(plain_tex(part) for part in sym.tex.split(", ") if part.strip())


# -- the journey's state diagram ---------------------------------------------------------------
#: Moves between journey states ({brand}, {other}: every pair of brands) and why they
#: happen; back moves (against the journey's direction) do not set the diagram's layout.
MOVES: tuple[tuple[str, str, str, bool], ...] = (
    ("unaware", "aware", "ad or word of mouth", False),
    ("unaware", "considering", "message about a liked brand", False),
    ("aware", "considering", "a liked brand enters the set", False),
    ("aware", "customer: {brand}", "a message, then a purchase the same day", False),
    ("considering", "customer: {brand}", "purchase occasion (logit choice)", False),
    ("customer: {brand}", "lapsed", "churn, no other brand considered", False),
    ("considering", "aware", "the set empties", True),
    ("customer: {brand}", "customer: {other}", "switch", True),
    ("lapsed", "considering", "considers a brand again", True),
    ("lapsed", "customer: {brand}", "won back", True),
)


def move_legend() -> list[tuple[int, str, str, str]]:
    """(number, from, to, the rule behind it) of each move of the state diagram."""
    return [(k, src, dst, why) for k, (src, dst, why, _back) in enumerate(MOVES, start=1)]


def _per_day(n: float) -> str:
    return "<0.05/day" if 0 < n < 0.05 else f"{n:,.2g}/day" if n < 10 else f"{n:,.0f}/day"


def journey_dot(
    brands: Sequence[str],
    colours: Mapping[str, str],
    daily_moves: Mapping[tuple[str, str], float] | None = None,
) -> str:
    """The journey as a Graphviz DOT graph: stages, a customer state per brand, moves.

    States are laid out left to right in journey order (customers of every brand in one
    column); back moves bend around. With ``daily_moves`` ({(from, to): customers per
    day}), arrows carry their mean daily count, and moves seen in the data that
    ``MOVES`` does not name are added, dashed.
    """
    from sim.dashboard.charts import state_colour

    customers = [f"customer: {b}" for b in brands]
    states = ["unaware", "aware", "considering", *customers, "lapsed"]
    edges: list[tuple[str, str, str, bool]] = []
    for number, (src, dst, _why, back) in enumerate(MOVES, start=1):
        for b in brands if "{brand}" in src + dst else [None]:
            for o in brands if "{other}" in dst else [None]:
                if b is not None and o == b:
                    continue
                s = src.replace("{brand}", b or "")
                d = dst.replace("{brand}", b or "").replace("{other}", o or "")
                edges.append((s, d, str(number), back))
    # Arrows carry the move's number (its rule is in ``move_legend``, beside the diagram):
    # whole sentences on every arrow overlapped, and the scaled drawing made them ~7 px.
    lines = [
        "digraph journey {",
        '  rankdir=LR; bgcolor="transparent"; nodesep=0.3; ranksep=0.7;',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=20];',
        '  edge [fontname="Helvetica", fontsize=18, color="#555555", fontcolor="#333333"];',
        "  { rank=same; " + "; ".join(f'"{c}"' for c in customers) + " }",
    ]
    for s in states:
        colour = state_colour(s, colours)
        font = "white" if s.startswith("customer: ") or s == "lapsed" else "black"
        lines.append(f'  "{s}" [fillcolor="{colour}", fontcolor="{font}"];')
    known = set()
    for s, d, why, back in edges:
        known.add((s, d))
        label = why
        if daily_moves is not None:
            label = f"{why}: {_per_day(daily_moves.get((s, d), 0.0))}"
        style = ', constraint=false, color="#999999"' if back else ""
        lines.append(f'  "{s}" -> "{d}" [label="{label}"{style}];')
    for (s, d), n in (daily_moves or {}).items():
        if (s, d) not in known and s != d and s in states and d in states and n >= 0.05:
            lines.append(
                f'  "{s}" -> "{d}" [label="{_per_day(n)}", style=dashed, constraint=false];'
            )
    lines.append("}")
    return "\n".join(lines)


def daily_moves(flows, start: int | None = None, end: int | None = None) -> dict:
    """Mean customers per day moving between states (per run), from stacked flows."""
    from sim.dashboard.frames import sankey_data

    if flows.height == 0:
        return {}
    lo = int(flows["step"].min()) if start is None else start
    hi = int(flows["step"].max()) if end is None else end
    data = sankey_data(flows, lo, hi)
    days = max(hi - lo + 1, 1)
    out = {}
    for s, t, v in zip(data["source"], data["target"], data["value"], strict=True):
        out[(data["states"][s], data["states"][t])] = v / days
    return out
