"""Numba kernels of the fast engine: one step of every customer, over columns.

The step of one customer (``step_customers``) reads like the model description:

1. at most one event, drawn from competing per-step rates: an ad or a news item of a
   brand on a channel, a conversation with a social neighbour, using the product or a
   service contact (customers only; a complaint makes a contact likely), forgetting a
   brand not in use, or the need for the category appearing or ending;
2. a purchase occasion (or one an ad of a considered brand triggered), for people in
   the market: choose a brand from the consideration set by multinomial logit, with
   inertia for the current brand;
3. churn: leave the brand at the satisfaction-dependent hazard (or at once after a
   very bad touchpoint), switching to a considered competitor or lapsing;
4. pay for the step (loyal customers spend more), update tenure, then record: what the
   customer will say next step (its brand, or a warning about a brand it left), the
   per-brand and per-channel tallies.

The kernels loop over fixed chunks of customers with ``prange``; every chunk writes its
own rows of accumulators, summed in chunk order afterwards, and all random numbers are
keyed by (seed, step, customer, draw). So results are bit-identical whatever the number
of threads. What others say is read from the previous step's ``voice`` column
(synchronous update).

The package follows the phases of a customer's step, as the ODD's process overview reads
(docs/model.md, section 3): ``messages`` (ads, news, consideration, forgetting),
``word_of_mouth`` (pairwise, the network rules, reviews) and ``experience`` (usage and service
contacts) for the event of phase 1, ``choice`` for the purchase occasion (2), ``churn`` for
leaving and switching (3), ``record`` for tenure, stage, voice and tallies (4), and ``step``,
which runs them in that order over parallel chunks; ``common`` holds the small helpers they
share, ``borrow`` the borrowed arrays the chunk loop reads and writes without counting
references to them, and ``prefetch`` its hint to the caches. The draw slots are the
random-number layout's (``sim.engine.rng``); the column codes and the chunk size are
``sim.engine.params``'s.
"""

from sim.engine.kernels.choice import (
    choose_brand,
    utility_of,
)
from sim.engine.kernels.churn import (
    alternatives_of,
    class_of,
    join_brand,
    leave_brand,
    price_reaction_of,
)
from sim.engine.kernels.common import (
    globals_of,
    nth_bit,
    popcount8,
    state_index,
)
from sim.engine.kernels.experience import (
    experience_touchpoint,
    people_answer,
    serve,
)
from sim.engine.kernels.messages import (
    after_message,
    attends,
    forget_brand,
    see_ad,
    see_news,
)
from sim.engine.kernels.record import (
    add_chunks,
    count_masks,
    credit_conversion,
    newcomer,
    record_all,
    record_chunk,
    record_customer,
    voice_of,
)
from sim.engine.kernels.step import (
    step_all,
    step_customers,
)
from sim.engine.kernels.word_of_mouth import (
    count_heard,
    gather_neighbours,
    hear,
    hear_word_of_mouth,
    network_word_of_mouth,
    read_reviews,
    tie_is_weak,
    update_heard,
    wom_triggers,
)

__all__ = [
    "after_message",
    "alternatives_of",
    "attends",
    "choose_brand",
    "class_of",
    "count_heard",
    "count_masks",
    "credit_conversion",
    "experience_touchpoint",
    "forget_brand",
    "gather_neighbours",
    "globals_of",
    "hear",
    "hear_word_of_mouth",
    "join_brand",
    "leave_brand",
    "network_word_of_mouth",
    "newcomer",
    "nth_bit",
    "people_answer",
    "popcount8",
    "price_reaction_of",
    "read_reviews",
    "record_all",
    "record_chunk",
    "record_customer",
    "add_chunks",
    "see_ad",
    "see_news",
    "serve",
    "state_index",
    "step_all",
    "step_customers",
    "tie_is_weak",
    "update_heard",
    "utility_of",
    "voice_of",
    "wom_triggers",
]
