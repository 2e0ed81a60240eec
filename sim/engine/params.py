"""Names of the parameters passed to the kernels.

The market-wide rule parameters travel as one :class:`Globals` named tuple: the kernels
read ``g.talk_rate`` (Numba compiles a field access to a constant index, at no cost).
Per-brand and per-channel tables change with scenario events from step to step, so they
are float64 arrays whose columns are named by the module-level integers below (Numba
treats them as compile-time constants). Accumulators filled by the kernels are named
the same way.
"""

from __future__ import annotations

from typing import NamedTuple

#: Kinds of social network (``sim.engine.network``).
NETWORK_KINDS = ("complete", "erdos_renyi", "watts_strogatz", "barabasi_albert")

#: Customers per work unit of the kernels (a cell's last unit may be shorter,
#: ``sim.engine.cells.cell_chunks``): fixed, so float sums do not depend on threads.
CHUNK = 2048

#: Places per window of the storage order: a multiple of ``CHUNK``, so one cell's chunks are
#: the chunks of ``CHUNK`` customers from 0 (``sim.engine.cells``).
WINDOW = 16 * CHUNK


def most_chunks(n: int, cells: int, chunk: int = CHUNK, window: int = WINDOW) -> int:
    """Chunks that ``cells.cell_chunks`` makes at most: ceil(n / chunk) + ceil(n / window) (K - 1).

    n customers in K = ``cells`` cells. A window holds at most K runs of one cell, and their
    chunks are at most ceil(window / chunk) + K - 1 (ceil(a) + ceil(b) <= ceil(a + b) + 1);
    the chunks' tallies are allocated for this many (one cell: exactly ceil(n / chunk)).
    """
    return -(-n // chunk) + -(-n // window) * (max(cells, 1) - 1)


# The voice column: the message code in the low byte, its age (steps) in the high byte.
CODE_MASK = 0xFF
AGE_SHIFT = 8

# Bits of the per-customer ``flags`` column.
IN_MARKET = 1  # the customer has a need for the category
COMPLAINT = 2  # a complaint is pending: a service contact is likely soon


class Globals(NamedTuple):
    """Market-wide parameters of the rules (config key in brackets)."""

    n: int  # customers [market.customers] (an int: keeps the tuple heterogeneous for Numba)
    ad_weight: float  # attitude weight of one ad [wom.ad_weight]
    ad_tone: float  # valence an ad pulls attitude toward [wom.ad_tone]
    talk_rate: float  # P(a conversation) per step at activity 1 [wom.talk_rate]
    wom_weight: float  # attitude weight of a heard praise [wom.weight]
    wom_negativity: float  # a warning weighs this many times more [wom.negativity_bias]
    wom_consider: float  # P(a heard, liked brand enters the set) [wom.consideration]
    wom_purchase: float  # P(praise of a considered brand prompts an occasion) [wom.purchase]
    news_weight: float  # attitude weight of news per unit of shift [wom.news_weight]
    grudge_half_life: float  # steps for a leaver's warnings to halve [wom.grudge_half_life]
    wom_rule: float  # 0 pairwise, 1 cascade, 2 threshold [wom.rule]
    wom_strong: float  # cascade: P(a speaking strong tie informs) [wom.strong]
    wom_weak: float  # cascade: P(a speaking weak tie informs) [wom.weak]
    message_half_life: float  # steps for a message to fade to half (0: never) [wom.half_life]
    review_read: float  # P(reading online reviews) per step [wom.reviews.read_rate]
    review_write: float  # P(writing a review) after an average experience [wom.reviews.write]
    review_extremity: float  # extremes are reviewed this much more [wom.reviews.extremity]
    review_weight: float  # attitude weight of reading a rating [wom.reviews.weight]
    review_channel: float  # index of the reviews channel (-1: none) [wom.reviews.channel]
    usage_rate: float  # P(using the product) per step [market.journey.usage_rate]
    contact_rate: float  # P(a service contact) per step [service.contact_rate]
    complaint_contact: float  # P(a contact) per step with a complaint pending
    complaint_threshold: float  # disconfirmation below -this may be complained about
    complaint_rate: float  # P(a disappointed customer complains) [service.complaint_rate]
    noise: float  # sd of an experience around quality [service.noise]
    met_level: float  # evaluation of a touchpoint that meets expectation
    eval_sensitivity: float  # evaluation change per unit of disconfirmation
    sat_weight: float  # weight of one touchpoint on satisfaction
    sat_negativity: float  # negativity bias of satisfaction
    forgiveness: float  # per year of tenure
    expectation_rate: float  # speed of adaptive expectations
    recovery_paradox: float  # a recovered failure lands this far above expectation
    failure_experience: float  # experience of an unresolved failure
    shock_threshold: float  # disconfirmation below -this is a very bad touchpoint
    shock_switch: float  # P(leaving at once after a very bad touchpoint)
    churn_sensitivity: float  # gamma of the churn hazard
    churn_reference: float  # satisfaction at which the hazard is the propensity
    churn_bound: float  # exp(gamma s_ref): the hazard's bound per unit propensity
    need_rate: float  # P(a purchase occasion) per step, in the market
    consider_threshold: float  # attitude needed to consider a brand
    forget_rate: float  # P(forgetting one brand not in use) per step
    entry_rate: float  # P(a need appearing) per step, out of the market
    exit_rate: float  # P(a need ending) per step, in the market
    turnover: float  # P(leaving the population, a newcomer replacing) per step
    attention: float  # P(a message registers) out of the market [market.category.attention]
    beta_attitude: float  # utility weight of attitude
    beta_price: float  # utility weight of log price (times price sensitivity)
    beta_friction: float  # utility weight of friction
    inertia: float  # utility bonus of the current brand
    recommend_weight: float  # weight of satisfaction (vs attitude) in the NPS score
    steps_per_year: float  # steps in a year [sim.steps_per_year]
    tenure_uplift: float  # spend rise per year of tenure
    tenure_cap: float  # years of tenure the uplift stops at
    # P(leaving) per step and unit of log price loss [market.churn.price_reevaluation]
    price_reevaluation: float
    alternatives_weight: float  # theta: share of the hazard that rivals' attraction scales
    alternatives_reference: float  # P_ref: the market's mean attraction of alternatives


def other_rates(
    talk: float, usage: float, contact: float, complaint: float, forget: float, entry: float,
    exit_: float, turnover: float, reviews: float, n_brands: int,
) -> float:  # fmt: skip
    """Per-step rates that compete with ads for a customer's step, at their highest.

    talk + reading reviews + usage + contact + complaint contact + forgetting (each brand) +
    turnover + the larger of the category's entry and exit rates: ads may take at most 1
    minus this.
    """
    rest = forget * n_brands + turnover + max(entry, exit_)
    return talk + reviews + usage + contact + complaint + rest


# Per-brand table ``brand_params[b, col]``.
B_PRICE = 0  # revenue per active customer per step (before the tenure uplift)
B_MARGIN = 1  # gross margin on revenue, 0-1
B_PRODUCT_QUALITY = 2  # mean experience of using the product, 0-1
B_EQUITY = 3  # prior attitude of a customer who becomes aware of the brand, 0-1
B_ACTIVE = 4  # 1 once the brand has launched, else 0
B_CHURN_MULT = 5  # multiplier on members' churn hazard (loyalty programme < 1)
B_SPEND_MULT = 6  # multiplier on spend (loyalty programme > 1)
B_WOM_SHIFT = 7  # shift of the valence heard about the brand (PR crisis < 0, viral review > 0)
B_EXPECTATION_MATCH = 8  # personalisation: share of the expectation gap closed, 0-1
B_BOT_SHARE = 9  # chatbot roll-out: share of service contacts the chatbot answers, 0-1
B_BOT_QUALITY = 10  # chatbot: P(it solves a contact itself)
B_BOT_ESCALATION = 11  # chatbot: P(it hands a contact it cannot solve to people)
B_BOT_FRICTION = 12  # chatbot: waiting and effort, 0-1
B_MEMBER_COST = 13  # loyalty programme: cost per member (customer) per step
B_BOT_COST = 14  # chatbot: cost per contact it answers
B_CUSTOMER_COST = 15  # personalisation: cost per customer per step
B_FIXED_COST = 16  # programme costs per step not tied to customers (investments)
B_RATING = 17  # the brand's online rating (0-1) readers see
B_ESCALATION_FRICTION = 18  # chatbot: waiting added when a contact is escalated to people
B_REF_PRICE = 19  # reference price: what customers are used to paying (smoothed past prices)
B_PRICE_GAP = 20  # ln(price / reference price): the price reaction's input (0 at the usual price)
B_ACQUISITION_COST = 21  # cost of winning one customer beyond the ads (onboarding, commission)
N_BRAND_PARAMS = 22

# Per-channel role table ``channel_roles[c, col]`` (the channel x stage matrix).
R_AWARENESS = 0  # P(an ad seen on the channel makes the customer aware)
R_CONSIDERATION = 1  # P(a liked brand seen on the channel enters the consideration set)
R_PURCHASE = 2  # P(an ad seen on the channel triggers a purchase occasion now)
R_SERVICE = 3  # share of customers whose service and purchase channel this is
R_COST = 4  # cost of one ad exposure on the channel
R_SERVICE_COST = 5  # cost of one service contact answered by people on the channel
N_ROLES = 6

# Per-brand accumulators ``acc[chunk, b, col]`` filled by the kernels each step.
A_AWARE = 0
A_CONSIDERING = 1
A_CUSTOMERS = 2
A_ACQUIRED = 3
A_CHURNED = 4
A_REVENUE = 5
A_SATISFACTION = 6  # sum over customers; divided by customers in metrics
A_PROMOTERS = 7
A_PASSIVES = 8
A_DETRACTORS = 9
A_CONTACTS = 10
A_FAILURES = 11
A_RECOVERED = 12
A_LAPSED = 13  # churned without switching: left the market for the lapsed stage
A_CHURN_HAZARD = 14  # churned through the dissatisfaction hazard
A_CHURN_SHOCK = 15  # churned at once after a very bad touchpoint
A_CHURN_SWITCH = 16  # switched to a rival at a purchase occasion
A_CHURN_EXIT = 17  # left the category (the need ended)
A_ACQUIRED_WOM = 18  # acquired with word of mouth about the brand as the last touchpoint
A_COMPLAINTS = 19  # complaints filed (a contact to come)
A_BOT_CONTACTS = 20  # contacts the chatbot answered
A_ATTITUDE = 21  # sum of customers' attitude toward their brand
A_REVIEWS = 22  # reviews written about the brand
A_REVIEW_SUM = 23  # sum of their scores (0-1)
A_WAITED = 24  # contacts that waited in a queue (service.rule: capacity)
A_ABANDONED = 25  # contacts abandoned while waiting (an unresolved failure)
A_ESCALATED = 26  # chatbot contacts handed to people
A_TENURE_BANDS = 27  # 4 bands of tenure (<1, 1-2, 2-3, 3+ years): customers, then revenue
N_TENURE_BANDS = 4
# churned this step by NPS class at the time (detractors, passives, promoters: + class + 1)
A_CHURNED_CLASS = A_TENURE_BANDS + 2 * N_TENURE_BANDS
A_LTR = A_CHURNED_CLASS + 3  # 11 columns: customers with each likelihood to recommend 0..10
N_ACC = A_LTR + 11
#: The accumulators that sum real numbers; every other one counts customers or events.
A_SUMS = (
    A_REVENUE, A_SATISFACTION, A_ATTITUDE, A_REVIEW_SUM,
    *range(A_TENURE_BANDS + N_TENURE_BANDS, A_TENURE_BANDS + 2 * N_TENURE_BANDS),
)  # fmt: skip

# Per-(brand, channel) accumulators ``chan[chunk, b, c, col]``; channel C is word of mouth.
C_IMPRESSIONS = 0  # paid ad exposures met (conversations heard, for word of mouth)
C_NEWS = 1  # earned (news) exposures met
C_CONVERSIONS = 2  # acquisitions whose last touchpoint was this brand's message here
C_CONTACTS = 3  # service contacts answered by people on the channel
N_CHAN = 4
