"""Column indices of the parameter tables passed to the kernels.

Kernels take plain float64 arrays; these module-level integers name their
columns (Numba treats them as compile-time constants).
"""

#: Kinds of social network (``sim.engine.network``).
NETWORK_KINDS = ("complete", "erdos_renyi", "watts_strogatz", "barabasi_albert")

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
B_BOT_QUALITY = 10  # chatbot: P(a contact succeeds)
B_BOT_RESOLUTION = 11  # chatbot: P(a failure is put right)
B_BOT_FRICTION = 12  # chatbot: waiting and effort, 0-1
B_MEMBER_COST = 13  # loyalty programme: cost per member (customer) per step
N_BRAND_PARAMS = 14

# Per-channel role table ``channel_roles[c, col]`` (the channel x stage matrix).
R_AWARENESS = 0  # P(an ad seen on the channel makes the customer aware)
R_CONSIDERATION = 1  # P(a liked brand seen on the channel enters the consideration set)
R_PURCHASE = 2  # P(an ad seen on the channel triggers a purchase occasion now)
R_SERVICE = 3  # share of customers whose service and purchase channel this is
R_COST = 4  # cost of one ad exposure on the channel
N_ROLES = 5

# Global scalars ``g[col]``.
G_N = 0
G_AD_WEIGHT = 1
G_TALK_RATE = 2
G_WOM_WEIGHT = 3
G_WOM_NEGATIVITY = 4
G_WOM_CONSIDER = 5
G_USAGE_RATE = 6
G_CONTACT_RATE = 7
G_NOISE = 8
G_MET_LEVEL = 9
G_EVAL_SENSITIVITY = 10
G_SAT_WEIGHT = 11
G_SAT_NEGATIVITY = 12
G_FORGIVENESS = 13
G_EXPECTATION_RATE = 14
G_RECOVERY_PARADOX = 15
G_FAILURE_EXPERIENCE = 16
G_SHOCK_THRESHOLD = 17
G_SHOCK_SWITCH = 18
G_CHURN_SENSITIVITY = 19
G_CHURN_REFERENCE = 20
G_NEED_RATE = 21
G_CONSIDER_THRESHOLD = 22
G_BETA_ATTITUDE = 23
G_BETA_PRICE = 24
G_BETA_FRICTION = 25
G_INERTIA = 26
G_STEPS_PER_YEAR = 27
G_TENURE_UPLIFT = 28
G_TENURE_CAP = 29
G_AD_TONE = 30
G_CHURN_BOUND = 31  # exp(gamma s_ref): bound of the hazard per unit propensity
N_GLOBALS = 32

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
N_ACC = 14
