"""Service rules (``service.rule``): how a brand's service quality and queues come about.

- ``constant``: quality, resolution and friction per brand and channel as configured.
- ``capacity``: each brand staffs ``brands.<b>.service_capacity.<channel>`` contacts per
  step per 1,000 people in the market; the step's load is last step's contacts answered by
  people there. Queues are sized for the market the simulated customers stand for
  (``service.market_people``; none: as many people as simulated): load and staff are scaled
  up by market_people / customers, since a queue's waits depend on how many contacts it pools;
  the load is smoothed over ``service.load_window`` steps (``rules.smoothed_load``), as the
  sample's daily noise, scaled up, would be far larger than the market's.
  The queue is an M/M/c+M (Erlang A, ``agents.rules.erlang_a``: impatient callers hang up,
  so it holds under overload too) with c = round(capacity / ``service.handle_rate``) agents
  and mean patience ``service.patience`` minutes: a contact waits with its probability
  P(wait), those who wait wait W_w on average (``service.minutes_per_step`` minutes a step),
  which adds ``service.wait_friction`` x min(1, W_w / patience) friction, and hang up with
  P(abandon | wait) (an unresolved failure). Staff cost the channel's ``service_cost`` x
  ``service.occupancy`` per contact of capacity (service_cost is the cost of a contact
  answered at the agents' usual occupancy, so an agent-step costs mu x occupancy x cost);
  a channel without a capacity is unlimited and paid per contact answered.
- ``investment``: quality moves toward the level ``brands.<b>.service_spend`` (per customer
  and step) sustains, ``rules.invested_quality`` (the configured quality at
  ``service.spend_reference``), with a lag of ``service.lag`` steps
  (``rules.quality_step``); the spend is a service cost.
"""

from __future__ import annotations

import math

import numpy as np

from agents import rules


class ServiceDesk:
    """A market's service rule: its state (quality, last load) and the step's queue tables."""

    def __init__(self, cfg, brand_names: list[str], channel_names: list[str], base_quality):
        s = cfg.service
        self.rule = rules.SERVICE_RULES.index(str(s.rule))
        self.n = int(cfg.market.customers)
        people = s.get("market_people")
        # simulated customers -> the market they stand for (queues pool real contacts)
        self.scale = 1.0 if people is None else float(people) / max(self.n, 1)
        nb, nc = len(brand_names), len(channel_names)
        self.capacity = np.zeros((nb, nc))  # contacts per step (absolute)
        self.spend = np.zeros(nb)
        for b, name in enumerate(brand_names):
            br = cfg.brands[name]
            for c, ch in enumerate(channel_names):
                per_thousand = (br.get("service_capacity") or {}).get(ch)
                absolute = math.inf if per_thousand is None else per_thousand * self.n / 1000
                self.capacity[b, c] = absolute
            self.spend[b] = float(br.get("service_spend", 0.0) or 0.0)
        self.handle_rate = float(s.handle_rate)
        self.patience = float(s.patience)
        self.minutes = float(s.minutes_per_step)
        self.wait_friction = float(s.wait_friction)
        self.occupancy = float(s.get("occupancy", 1.0))
        self.load_window = float(s.get("load_window", 1.0))
        self.lag = float(s.lag)
        self.reference = float(s.spend_reference)
        self.elasticity = float(s.spend_elasticity)
        self.base_quality = np.array(base_quality, dtype=float)
        self.quality = self.base_quality.copy()  # investment: the quality reached so far
        self.load = np.zeros((nb, nc))  # contacts people answered (last step's, or smoothed)
        self.wait_minutes = np.zeros((nb, nc))  # mean wait per contact this step (minutes)

    def queue(self, tables) -> None:
        """Set the step's queue tables (capacity rule) from last step's load."""
        self.wait_minutes[:] = 0.0
        if self.rule != rules.SERVICE_CAPACITY:
            return
        nb, nc = self.capacity.shape
        for b in range(nb):
            for c in range(nc):
                capacity = self.capacity[b, c]
                if not math.isfinite(capacity):
                    continue
                agents = max(1, round(capacity * self.scale / self.handle_rate))
                load = self.load[b, c] * self.scale
                hang_up = self.minutes / max(self.patience, 1e-9)  # per step
                p_wait, p_abandon, waited = rules.erlang_a(agents, load, self.handle_rate, hang_up)
                waited_minutes = waited * self.minutes  # mean wait of those who wait
                tables.wait_prob[b, c] = p_wait
                tables.wait_friction[b, c] = self.wait_friction * min(
                    1.0, waited_minutes / max(self.patience, 1e-9)
                )
                tables.abandon[b, c] = p_abandon
                self.wait_minutes[b, c] = p_wait * waited_minutes

    def apply_quality(self, tables) -> None:
        """Investment rule: the step's quality is the quality reached (before events)."""
        if self.rule == rules.SERVICE_INVESTMENT:
            tables.service_quality[:] = self.quality

    def after_step(self, people_contacts: np.ndarray) -> None:
        """Remember the step's load; move invested quality toward its target."""
        today = np.asarray(people_contacts, dtype=float)
        self.load = np.array(rules.smoothed_load(self.load, today, self.load_window))
        if self.rule == rules.SERVICE_INVESTMENT:
            nb, nc = self.quality.shape
            for b in range(nb):
                for c in range(nc):
                    target = rules.invested_quality(
                        self.base_quality[b, c], self.spend[b], self.reference, self.elasticity
                    )
                    self.quality[b, c] = rules.quality_step(self.quality[b, c], target, self.lag)

    def overhead(self, customers: np.ndarray, channel_service_cost: np.ndarray) -> np.ndarray:
        """Service costs per brand not tied to contacts: staff (capacity) or spend (investment)."""
        if self.rule == rules.SERVICE_CAPACITY:
            finite = np.where(np.isfinite(self.capacity), self.capacity, 0.0)
            return finite @ channel_service_cost * self.occupancy
        if self.rule == rules.SERVICE_INVESTMENT:
            return self.spend * customers
        return np.zeros(len(self.spend))

    @property
    def per_contact(self) -> np.ndarray:
        """Per brand and channel: are people paid per contact (else for their capacity)?"""
        if self.rule != rules.SERVICE_CAPACITY:
            return np.ones(self.capacity.shape, dtype=bool)
        return ~np.isfinite(self.capacity)


class Ratings:
    """Each brand's visible online rating, from its customers' recent reviews.

    ``rules.rating_update`` with decay 2^(-1 / ``wom.reviews.half_life``): a bad quarter shows
    in the rating and lingers. Before any review a brand's rating is its equity (one review's
    worth of prior).
    """

    def __init__(self, cfg, equity: np.ndarray):
        half_life = float(cfg.wom.reviews.half_life)
        self.decay = 2.0 ** (-1.0 / half_life) if half_life > 0 else 0.0
        self.total = np.array(equity, dtype=float)
        self.count = np.ones(len(equity))

    def update(self, written: np.ndarray, score_sum: np.ndarray) -> None:
        """Add a step's reviews (count and summed scores per brand)."""
        for b in range(len(self.total)):
            self.total[b], self.count[b] = rules.rating_update(
                self.total[b], self.count[b], self.decay, float(score_sum[b]), float(written[b])
            )

    @property
    def rating(self) -> np.ndarray:
        """The rating readers see, per brand (0-1)."""
        return np.divide(self.total, self.count, out=np.zeros_like(self.total),
                         where=self.count > 0)  # fmt: skip
