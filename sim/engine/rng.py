"""Counter-based random numbers keyed by (seed, step, customer, draw).

A draw is a pure function of its key, so results do not depend on the order
in which threads visit customers, nor on how many threads there are. The mixer
is the SplitMix64 finaliser (Steele, Lea and Flood 2014), which passes BigCrush
when fed a Weyl sequence.

Usage inside a kernel::

    step_key = stream_key(seed, step)            # once per step
    ck = customer_key(step_key, customer)        # once per customer and step
    u0 = uniform(ck, 0)                          # draw slot 0
    u1 = uniform(ck, 1)                          # draw slot 1, independent of u0
"""

from __future__ import annotations

import numpy as np

from sim.engine.jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SECOND = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

#: Stream offsets keep different uses of the same seed apart.
STREAM_STEP = 0
STREAM_NETWORK = 1
STREAM_INIT = 2
STREAM_BURN_IN = 3  # the unrecorded steps before step 0

#: Draw slots: each decision of a customer's step has its own counter (both engines use them).
SLOT_EVENT = 0
SLOT_PARTNER = 1
SLOT_EXPERIENCE = 2
SLOT_AWARE = 3
SLOT_CONSIDER = 4
SLOT_TRIGGER = 5
SLOT_SERVICE = 6
SLOT_SHOCK = 7
SLOT_OCCASION = 8
SLOT_CHOICE = 9
SLOT_CHURN = 10
SLOT_SWITCH = 11
SLOT_BOT = 12
SLOT_FORGET = 13
SLOT_COMPLAINT = 14
SLOT_VOICE = 15
SLOT_ATTENTION = 16
SLOT_REVIEW = 17  # writing a review after an experience
SLOT_WAIT = 18  # waiting in a queue (service.rule: capacity)
SLOT_ABANDON = 19  # giving up while waiting
SLOT_ESCALATE = 20  # a chatbot handing a contact to people
SLOT_FRESH = 21  # whether a faded message is still heard (pairwise)
SLOT_WOM_ATTENTION = 22  # whether network word of mouth registers out of the market
SLOT_WOM = 24  # network word of mouth about brand b: slot 24 + 2 b (reached), 25 + 2 b (set)
SLOT_READ = 40  # reading reviews: slot 40 + b (brand b enters the set)


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijective 64-bit mixer.

    z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31.
    """
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def stream_key(seed: int, step: int, stream: int = STREAM_STEP) -> np.uint64:
    """Key of one step's stream: mix(mix(mix(seed) + stream) + step)."""
    k = mix64(np.uint64(seed) + _GOLDEN)
    k = mix64(k + np.uint64(stream) * _SECOND)
    return mix64(k + np.uint64(step) * _GOLDEN)


@njit(cache=True, inline="always")
def customer_key(step_key: np.uint64, customer: int) -> np.uint64:
    """Key of one customer's draws in one step: mix(step_key + customer * golden)."""
    return mix64(step_key + np.uint64(customer) * _GOLDEN)


@njit(cache=True, inline="always")
def uniform(ck: np.uint64, slot: int) -> float:
    """Uniform draw in [0, 1) for draw ``slot`` of a customer key.

    Takes the top 53 bits of mix(ck + slot * c).
    """
    z = mix64(ck + np.uint64(slot + 1) * _SECOND)
    return float(z >> _S11) * _TO_UNIT


@njit(cache=True, inline="always")
def randint(ck: np.uint64, slot: int, n: int) -> int:
    """Integer uniform on {0, ..., n-1}: floor(u * n), with u a draw of ``slot``."""
    return min(int(uniform(ck, slot) * n), n - 1)
