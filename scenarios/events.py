"""Timed events: each changes the market's tables for a window of steps.

An event comes from ``scenario.events`` with a ``kind``, a ``start`` step and an
``end`` step (exclusive; null runs to the end of the run), plus the fields its kind
needs (``EVENT_FIELDS``). Events are applied in order to a fresh copy of the baseline
tables at every step, so they never leak past their window. The kinds:

- ``service_outage``: q_b,c *= 1 - severity and r_b,c *= 1 - severity on ``channels``
  (default: every channel).
- ``price_change``: p_b *= 1 + change.
- ``ad_burst``: reach_b,c = reach_b,c * multiplier + reach on ``channels``.
- ``new_entrant``: brand b launches at ``start`` (before it, it cannot be seen or bought).
- ``chatbot_rollout``: a share ``adoption`` of b's service contacts is answered first by a
  chatbot that solves it with probability ``quality`` (with its own ``friction``, at
  ``cost_per_contact``); what it cannot solve it hands to people with probability
  ``escalation`` (who then answer as usual, after ``escalation_friction`` more waiting),
  and otherwise leaves unresolved.
- ``loyalty_programme``: members (b's customers) churn at hazard x ``churn_multiplier``
  and spend x ``spend_multiplier``; each member costs ``cost_per_member`` a step.
- ``friction_reduction``: f_b,c *= 1 - reduction on ``channels`` (one-click purchase),
  for an ``investment`` paid once at ``start`` (per person in the market).
- ``wom_shock`` (alias ``pr_crisis``, ``viral_review``): everything heard about b (word
  of mouth and its ads) is shifted by ``shift``; with ``reach``, news about b reaches
  customers on ``channels`` like an ad that nobody pays for, pulling attitude toward its
  own valence (``agents.rules.news_update``).
- ``personalisation``: a share ``match`` of any shortfall between expectation and
  experience with b is closed, at ``cost_per_customer`` per customer and step.

An event of any kind but ``new_entrant`` may name a ``region`` (``conf/regions/``): it then
changes only that region's tables (``apply_events`` with the region's name), so only that
region's customers meet it; a brand's launch in a region is the region's own
``launch_step``.

An event of a kind in ``SEGMENT_EVENTS`` may name a ``segment`` (``conf/segments/``): it then
changes that segment's layer of the per-segment service and buying tables only
(``Tables.segment_scale``), so only that segment's customers meet the outage or the lower
friction; without a segment it acts on everyone, as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine import params as P


@dataclass
class Tables:
    """The parameter tables of one step (copies of the market's baseline)."""

    brand_params: np.ndarray
    ad_reach: np.ndarray  # paid: what the brand's ad spend buys
    service_quality: np.ndarray
    resolution: np.ndarray
    friction: np.ndarray
    news_reach: np.ndarray | None = None  # earned: news of a PR crisis or viral review
    wait_prob: np.ndarray | None = None  # P(a contact people answer waits) (service: capacity)
    wait_friction: np.ndarray | None = None  # friction a wait adds
    abandon: np.ndarray | None = None  # P(a waiting contact is abandoned)
    # [3, S, B, C]: each segment's multipliers of service quality, resolution and friction
    # (1 everywhere but where an event targets a segment; ``segment_tables``)
    segment_scale: np.ndarray | None = None
    # with more than one region: each region's tables (``JourneyModel.tables_at``), else None
    region_tables: list | None = None
    # with a change targeted at a segment (``scenario.target``): (s, per region the tables
    # segment s reads there, None where it reads the region's own); ``JourneyModel.tables_at``
    segment_target: tuple | None = None

    def __post_init__(self) -> None:
        for name in ("news_reach", "wait_prob", "wait_friction", "abandon"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros_like(self.ad_reach))
        if self.segment_scale is None:
            self.segment_scale = np.ones((3, 1, *self.ad_reach.shape))

    def with_segments(self, n_segments: int) -> Tables:
        """These tables with one layer of segment multipliers (all 1) per segment."""
        self.segment_scale = np.ones((3, n_segments, *self.ad_reach.shape))
        return self

    def segment_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each segment's service quality, resolution and friction ([S, B, C] each).

        q_sbc = q_bc m^q_sbc, r_sbc = r_bc m^r_sbc, f_sbc = f_bc m^f_sbc: the brand's table
        times the segment's multiplier (``segment_scale``), which is 1 unless an event targets
        the segment; x * 1 = x exactly, so an untargeted segment reads the brand's own values.
        """
        m = self.segment_scale
        return (self.service_quality[None] * m[0], self.resolution[None] * m[1],
                self.friction[None] * m[2])  # fmt: skip

    def copy(self) -> Tables:
        """A deep copy of the arrays (without the regions' and the target's tables)."""
        return Tables(*(np.array(a, copy=True) for k, a in self.__dict__.items()
                        if k not in ("region_tables", "segment_target")))  # fmt: skip

    def exposure(self) -> np.ndarray:
        """Per-step probability of meeting a brand's message on a channel: paid + news."""
        return self.ad_reach + self.news_reach


#: Required (True) and optional (False) fields of each kind, with their allowed range.
EVENT_FIELDS: dict[str, dict[str, tuple[bool, float, float]]] = {
    "service_outage": {"severity": (True, 0.0, 1.0)},
    "price_change": {"change": (True, -0.99, 10.0)},
    "ad_burst": {"multiplier": (False, 0.0, 100.0), "reach": (False, 0.0, 1.0)},
    "new_entrant": {},
    "chatbot_rollout": {
        "adoption": (True, 0.0, 1.0),
        "quality": (True, 0.0, 1.0),
        "escalation": (False, 0.0, 1.0),
        "escalation_friction": (False, 0.0, 1.0),
        "friction": (False, 0.0, 1.0),
        "cost_per_contact": (False, 0.0, 1e6),
    },
    "loyalty_programme": {
        "churn_multiplier": (True, 0.0, 10.0),
        "spend_multiplier": (False, 0.0, 10.0),
        "cost_per_member": (False, 0.0, 1e9),
    },
    "friction_reduction": {"reduction": (True, 0.0, 1.0), "investment": (False, 0.0, 1e6)},
    "wom_shock": {"shift": (True, -1.0, 1.0), "reach": (False, 0.0, 1.0)},
    "pr_crisis": {"shift": (True, -1.0, 0.0), "reach": (False, 0.0, 1.0)},
    "viral_review": {"shift": (True, 0.0, 1.0), "reach": (False, 0.0, 1.0)},
    "personalisation": {"match": (True, 0.0, 1.0), "cost_per_customer": (False, 0.0, 1e6)},
}
EVENT_KINDS = tuple(EVENT_FIELDS)
#: Kinds that act on some channels only (``channels``; default: every channel).
CHANNEL_EVENTS = frozenset(
    {"service_outage", "ad_burst", "friction_reduction", "wom_shock", "pr_crisis", "viral_review"}
)
#: Kinds that may target one segment (``segment``): they change per-channel tables that each
#: customer reads at its own segment (``Tables.segment_scale``).
SEGMENT_EVENTS = ("service_outage", "friction_reduction")


#: The events list last converted by ``plain_events`` and its plain copy.
_PLAIN: tuple[object, list] | None = None


def plain_events(events) -> list:
    """The events as plain dicts (config nodes converted), converted once per list.

    The engine passes the same list object at every step; reading a config node costs
    microseconds, which a long weekly plan (hundreds of ``ad_burst`` events, one per week
    and channel: ``sim.analysis.flighting``) multiplied into seconds per run. The last list
    converted is remembered by identity (a strong reference, so its id cannot be reused);
    another list is converted afresh. The values are the same, so results do not change.
    """
    global _PLAIN
    if not events:
        return []
    if _PLAIN is not None and _PLAIN[0] is events and len(_PLAIN[1]) == len(events):
        return _PLAIN[1]
    from omegaconf import DictConfig, OmegaConf

    plain = [
        OmegaConf.to_container(e, resolve=True) if isinstance(e, DictConfig) else e for e in events
    ]
    _PLAIN = (events, plain)
    return plain


def in_window(event, t: int) -> bool:
    """True while start <= t < end (end null: to the end of the run)."""
    start = int(event.get("start", 0) or 0)
    end = event.get("end")
    return t >= start and (end is None or t < int(end))


def _channels(event, channel_names: list[str]) -> list[int]:
    names = event.get("channels")
    if not names:
        return list(range(len(channel_names)))
    return [channel_names.index(c) for c in names]


def _get(event, name: str, default: float) -> float:
    value = event.get(name)
    return default if value is None else float(value)


def launch_steps(events, brand_names: list[str], launch: np.ndarray) -> np.ndarray:
    """Launch step of each brand: its ``launch_step``, or the start of a new_entrant event."""
    out = launch.copy()
    for ev in events or ():
        if ev["kind"] == "new_entrant":
            out[brand_names.index(ev["brand"])] = int(ev.get("start", 0) or 0)
    return out


def apply_events(
    tables: Tables,
    events,
    t: int,
    brand_names: list[str],
    channel_names: list[str],
    segment_names: list[str] | None = None,
    regions: tuple = (None,),
) -> None:
    """Apply every event active at step t to ``tables`` in place (see the module docstring).

    Only events whose ``region`` is in ``regions`` act (None: events that name no region).
    An event that names a segment (one of ``segment_names``) changes that segment's layer of
    ``tables.segment_scale`` instead of the brand's tables (``segment_event``).
    """
    bp = tables.brand_params
    for ev in plain_events(events):
        kind = ev["kind"]
        if kind == "new_entrant" or not in_window(ev, t) or ev.get("region") not in regions:
            continue
        b = brand_names.index(ev["brand"])
        cs = _channels(ev, channel_names)
        if ev.get("segment") is not None:
            segment_event(tables, ev, b, cs, list(segment_names or ()).index(ev["segment"]))
        elif kind == "service_outage":
            keep = 1.0 - float(ev["severity"])
            tables.service_quality[b, cs] *= keep
            tables.resolution[b, cs] *= keep
        elif kind == "price_change":
            bp[b, P.B_PRICE] *= 1.0 + float(ev["change"])
        elif kind == "ad_burst":
            tables.ad_reach[b, cs] = tables.ad_reach[b, cs] * _get(ev, "multiplier", 1.0) + _get(
                ev, "reach", 0.0
            )
        elif kind == "chatbot_rollout":
            bp[b, P.B_BOT_SHARE] = float(ev["adoption"])
            bp[b, P.B_BOT_QUALITY] = float(ev["quality"])
            bp[b, P.B_BOT_ESCALATION] = _get(ev, "escalation", 0.0)
            bp[b, P.B_ESCALATION_FRICTION] = _get(ev, "escalation_friction", 0.05)
            bp[b, P.B_BOT_FRICTION] = _get(ev, "friction", 0.0)
            bp[b, P.B_BOT_COST] = _get(ev, "cost_per_contact", 0.0)
        elif kind == "loyalty_programme":
            bp[b, P.B_CHURN_MULT] *= float(ev["churn_multiplier"])
            bp[b, P.B_SPEND_MULT] *= _get(ev, "spend_multiplier", 1.0)
            bp[b, P.B_MEMBER_COST] += _get(ev, "cost_per_member", 0.0)
        elif kind == "friction_reduction":
            tables.friction[b, cs] *= 1.0 - float(ev["reduction"])
        elif kind in ("wom_shock", "pr_crisis", "viral_review"):
            bp[b, P.B_WOM_SHIFT] += float(ev["shift"])
            if ev.get("reach"):
                tables.news_reach[b, cs] += float(ev["reach"])  # earned: not paid for
        elif kind == "personalisation":
            bp[b, P.B_EXPECTATION_MATCH] = float(ev["match"])
            bp[b, P.B_CUSTOMER_COST] += _get(ev, "cost_per_customer", 0.0)


def segment_event(tables: Tables, event, b: int, cs: list[int], s: int) -> None:
    """Apply an event targeted at segment s to its multipliers (``Tables.segment_scale``).

    service_outage: m^q_sbc *= 1 - severity and m^r_sbc *= 1 - severity on the channels;
    friction_reduction: m^f_sbc *= 1 - reduction. The segment's customers then read
    q_bc m^q_sbc (``Tables.segment_tables``): the untargeted event's change, on them only.
    """
    scale = tables.segment_scale
    if event["kind"] == "service_outage":
        keep = 1.0 - float(event["severity"])
        scale[0, s, b, cs] *= keep
        scale[1, s, b, cs] *= keep
    elif event["kind"] == "friction_reduction":
        scale[2, s, b, cs] *= 1.0 - float(event["reduction"])
    else:
        raise ValueError(f"a {event['kind']} event cannot target a segment")


def one_off_costs(
    events, t: int, brand_names: list[str], population: int, region_shares: dict | None = None
) -> np.ndarray:
    """Costs paid once, at an event's start, at step t: a friction reduction's ``investment``.

    The investment is given per person in the market (times ``market.customers``), so a
    scenario costs the same share of revenue whatever the size of the simulated market; an
    event for one region pays for its people only (times the region's share,
    ``region_shares``).
    """
    out = np.zeros(len(brand_names))
    for ev in plain_events(events):
        # charged when the event first acts (events act from step 1 on)
        if ev.get("investment") and max(int(ev.get("start", 0) or 0), 1) == t:
            people = population
            if ev.get("region") is not None and len(region_shares or {}) > 1:
                people = population * float(region_shares[ev["region"]])
            out[brand_names.index(ev["brand"])] += float(ev["investment"]) * people
    return out
