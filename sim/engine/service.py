"""Service rules (``service.rule``): how a brand's service quality and queues come about.

- ``constant``: quality, resolution and friction per brand and channel as configured.
- ``capacity``: each brand staffs ``brands.<b>.service_capacity.<channel>`` contacts per
  step per 1,000 people in the market; the step's load is last step's contacts answered by
  people there. The queue is an M/M/c (Erlang C, ``agents.rules.erlang_c``) with
  c = round(capacity / ``service.handle_rate``) agents: a contact waits with probability
  C(c, A), A = load / handle rate; those who wait wait W_w = 1 / (c mu - lambda) on average
  (steps; ``service.minutes_per_step`` minutes each), which adds ``service.wait_friction``
  x min(1, W_w / patience) friction, and give up with ``rules.abandon_probability`` (an
  unresolved failure). Staff cost the channel's ``service_cost`` per contact of capacity.
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
        self.lag = float(s.lag)
        self.reference = float(s.spend_reference)
        self.elasticity = float(s.spend_elasticity)
        self.base_quality = np.array(base_quality, dtype=float)
        self.quality = self.base_quality.copy()  # investment: the quality reached so far
        self.load = np.zeros((nb, nc))  # contacts people answered last step
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
                agents = max(1, round(capacity / self.handle_rate))
                load = self.load[b, c]
                p_wait = rules.erlang_c(agents, load / self.handle_rate)
                wait = rules.mean_wait(p_wait, agents, self.handle_rate, load)  # per contact
                waited = wait / p_wait if p_wait > 0 else 0.0  # mean wait of those who wait
                waited_minutes = min(waited * self.minutes, 10 * self.minutes)  # a full queue
                tables.wait_prob[b, c] = p_wait
                tables.wait_friction[b, c] = self.wait_friction * min(
                    1.0, waited_minutes / max(self.patience, 1e-9)
                )
                tables.abandon[b, c] = rules.abandon_probability(waited_minutes, self.patience)
                self.wait_minutes[b, c] = p_wait * waited_minutes

    def apply_quality(self, tables) -> None:
        """Investment rule: the step's quality is the quality reached (before events)."""
        if self.rule == rules.SERVICE_INVESTMENT:
            tables.service_quality[:] = self.quality

    def after_step(self, people_contacts: np.ndarray) -> None:
        """Remember the step's load; move invested quality toward its target."""
        self.load = np.array(people_contacts, dtype=float)
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
            return finite @ channel_service_cost
        if self.rule == rules.SERVICE_INVESTMENT:
            return self.spend * customers
        return np.zeros(len(self.spend))

    @property
    def per_contact(self) -> bool:
        """Whether people are paid per contact (else their capacity is paid for)."""
        return self.rule != rules.SERVICE_CAPACITY


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
