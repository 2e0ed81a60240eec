"""Budget questions for ``journeysim optimise``: a fixed or banded ad budget split over channels.

``--budget BRAND=TOTAL`` fixes a brand's ad budget per year (money, in the units of
``ad_spend``); ``--budget BRAND=LOW:HIGH`` lets the total move within a band.
``--bounds BRAND.CHANNEL=LOW:HIGH`` bounds one channel's spend per year. The search then
chooses the split (and the total, in a band): every candidate spends exactly its total, so
no trial is wasted on an infeasible budget.

A channel's expected spend per year is what its ad reach buys: a customer meets the brand's
ad on channel ``c`` with probability ``reach_c`` a step, and each exposure costs ``cost_c``::

    spend_c = N * reach_c * cost_c * steps_per_year   <=>   reach_c = spend_c / (N cost_c S)

with ``N`` customers and ``S`` steps a year. The realised spend of a run scatters around
this by the binomial noise of exposures (sd / mean ~ 1 / sqrt(N reach S)).

The search proposes a weight ``w_c`` in [0, 1] per channel (and the total ``B`` in a band);
the split is the Euclidean projection of ``B w / sum(w)`` onto the channels' bounds with the
sum held at ``B`` (``project``), so the bounds and the total always hold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sim.config import ConfigError


@dataclass(frozen=True)
class Budget:
    """One brand's ad budget per year and the channels it is split over.

    Attributes:
        brand: the brand.
        low: the least total per year.
        high: the most total per year (``low`` for a fixed budget).
        channels: the channels the budget is split over.
        bounds: per channel, the least and most spend per year.
        per_reach: per channel, the expected spend per year of a unit of ad reach
            (``N * cost_c * steps_per_year``).
        current: per channel, the spend per year of the market as given.
    """

    brand: str
    low: float
    high: float
    channels: tuple[str, ...]
    bounds: dict[str, tuple[float, float]]
    per_reach: dict[str, float]
    current: dict[str, float]

    @property
    def fixed(self) -> bool:
        """The total is fixed (an equality), not a band."""
        return self.low == self.high

    def weight_name(self, channel: str) -> str:
        """The search dimension of a channel's weight."""
        return f"budget.{self.brand}.{channel}"

    @property
    def total_name(self) -> str:
        """The search dimension of the total (a band only)."""
        return f"budget.{self.brand}"

    def reach_key(self, channel: str) -> str:
        """The config key a channel's spend sets."""
        return f"brands.{self.brand}.ad_reach.{channel}"

    def spend_name(self, channel: str) -> str:
        """The column of a channel's spend per year in the trials table."""
        return f"spend.{self.brand}.{channel}"

    def split(self, point: Mapping[str, float]) -> dict[str, float]:
        """The spend per year of each channel at a search point (weights and total)."""
        total = self.low if self.fixed else float(point[self.total_name])
        weights = [float(point[self.weight_name(c)]) for c in self.channels]
        lows = [self.bounds[c][0] for c in self.channels]
        highs = [self.bounds[c][1] for c in self.channels]
        return dict(zip(self.channels, project(weights, total, lows, highs), strict=True))

    def reaches(self, spend: Mapping[str, float]) -> dict[str, float]:
        """The ad reach per step of each channel that buys ``spend`` per year."""
        return {self.reach_key(c): spend[c] / self.per_reach[c] for c in self.channels}

    def spend_of(self, values: Mapping[str, float]) -> dict[str, float]:
        """The spend per year of each channel from config values (reach keys)."""
        return {c: float(values[self.reach_key(c)]) * self.per_reach[c] for c in self.channels}


def project(
    weights: Sequence[float], total: float, lows: Sequence[float], highs: Sequence[float]
) -> list[float]:
    """Split ``total`` in proportion to ``weights``, then project onto the bounds.

    The split ``x_c = total * w_c / sum(w)`` (equal shares when every weight is 0) is moved
    to the nearest point (Euclidean) of ``{s : sum(s) = total, low_c <= s_c <= high_c}``:
    ``s_c = clip(x_c + lam, low_c, high_c)`` with the shift ``lam`` that makes the sum
    ``total`` (found by bisection: the sum rises with ``lam``). Needs
    ``sum(low) <= total <= sum(high)``.
    """
    n = len(weights)
    mass = math.fsum(weights)
    x = [total * w / mass for w in weights] if mass > 0 else [total / n] * n

    def spent(shift: float) -> float:
        moved = zip(x, lows, highs, strict=True)
        return math.fsum(min(h, max(lo, v + shift)) for v, lo, h in moved)

    if all(lo <= v <= h for v, lo, h in zip(x, lows, highs, strict=True)):
        s = x  # already inside the bounds: the split itself
    else:
        lo_shift = min(lo - v for v, lo in zip(x, lows, strict=True)) - 1.0
        hi_shift = max(h - v for v, h in zip(x, highs, strict=True)) + 1.0
        for _ in range(200):  # halves the bracket down to the float spacing
            mid = 0.5 * (lo_shift + hi_shift)
            if spent(mid) < total:
                lo_shift = mid
            else:
                hi_shift = mid
        s = [min(h, max(lo, v + hi_shift)) for v, lo, h in zip(x, lows, highs, strict=True)]
    # rounding leaves a residue of a few ulps: give it to a channel with room
    residue = total - math.fsum(s)
    for k in range(n):
        room = highs[k] - s[k] if residue > 0 else s[k] - lows[k]
        if room >= abs(residue):
            s[k] += residue
            break
    return s


def spend_per_reach(cfg, channel: str) -> float:
    """Expected spend a year of a unit of ad reach on ``channel``: ``N * cost_c * S``."""
    return (
        float(cfg.market.customers)
        * float(cfg.channels[channel].cost)
        * float(cfg.sim.steps_per_year)
    )


def _amount(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or value > 1e15:
        raise ConfigError(f"{what}: {text!r} must be a spend between 0 and 1e15")
    return value


def _range(text: str, what: str) -> tuple[float, float]:
    low, sep, high = text.partition(":")
    lo = _amount(low.strip(), what)
    hi = _amount(high.strip(), what) if sep else lo
    if hi < lo:
        raise ConfigError(f"{what}: low {lo:g} must not exceed high {hi:g}")
    return lo, hi


def parse_budgets(budgets: Sequence[str], bounds: Sequence[str], market) -> list[Budget]:
    """Read ``--budget BRAND=TOTAL[:HIGH]`` and ``--bounds BRAND.CHANNEL=LOW:HIGH``.

    A brand's budget is split over the channels its bounds name and the channels it
    advertises on now (ad reach above 0 and a cost per exposure above 0); ``--bounds
    B.C=0:0`` leaves a channel out. A channel without bounds may take 0 to the whole total.

    Raises:
        ConfigError: one line naming the option, the value and what is allowed.
    """
    cfg = market.config
    brands = market.brands
    channels = [str(c) for c in cfg.channels]
    totals: dict[str, tuple[float, float]] = {}
    for text in budgets:
        brand, sep, amount = text.partition("=")
        what = f"--budget {text}"
        if not sep or brand not in brands:
            raise ConfigError(
                f"{what}: must be BRAND=TOTAL or BRAND=LOW:HIGH with a brand of the market "
                f"({', '.join(brands)}), e.g. {brands[0]}=2000"
            )
        if brand in totals:
            raise ConfigError(f"{what}: {brand} has a budget already")
        totals[brand] = _range(amount, what)
    limits: dict[str, dict[str, tuple[float, float]]] = {b: {} for b in totals}
    for text in bounds:
        key, sep, amount = text.partition("=")
        brand, _, channel = key.partition(".")
        what = f"--bounds {text}"
        if not sep or brand not in totals or channel not in channels:
            raise ConfigError(
                f"{what}: must be BRAND.CHANNEL=LOW:HIGH for a brand given a --budget "
                f"({', '.join(totals) or 'none'}) and a channel ({', '.join(channels)})"
            )
        if channel in limits[brand]:
            raise ConfigError(f"{what}: {brand}.{channel} has bounds already")
        if float(cfg.channels[channel].cost) <= 0 and _range(amount, what)[1] > 0:
            raise ConfigError(f"{what}: channels.{channel}.cost is 0: spend buys no ads there")
        limits[brand][channel] = _range(amount, what)
    out = []
    for brand, (low, high) in totals.items():
        reach = cfg.brands[brand].ad_reach
        costs = {c: float(cfg.channels[c].cost) for c in channels}
        chosen = [
            c
            for c in channels
            if (c in limits[brand] and limits[brand][c][1] > 0)
            or (c not in limits[brand] and float(reach.get(c, 0.0)) > 0 and costs[c] > 0)
        ]
        if not chosen:
            raise ConfigError(
                f"--budget {brand}: {brand} advertises on no channel: name channels with "
                f"--bounds {brand}.CHANNEL=LOW:HIGH"
            )
        per_reach = {c: spend_per_reach(cfg, c) for c in chosen}
        lims = {c: limits[brand].get(c, (0.0, high)) for c in chosen}
        floor = math.fsum(lo for lo, _ in lims.values())
        ceiling = math.fsum(hi for _, hi in lims.values())
        if floor > high or ceiling < low:
            raise ConfigError(
                f"--budget {brand}: the channels' bounds allow {floor:,.6g} to "
                f"{ceiling:,.6g} a year, outside the budget {low:,.6g}-{high:,.6g}"
            )
        current = {c: float(reach.get(c, 0.0)) * per_reach[c] for c in chosen}
        out.append(Budget(brand, low, high, tuple(chosen), lims, per_reach, current))
    return out


def distributions(budgets: Sequence[Budget]) -> dict:
    """Optuna distributions of the budgets' search dimensions (weights, band totals)."""
    import optuna

    out = {}
    for b in budgets:
        for c in b.channels:
            out[b.weight_name(c)] = optuna.distributions.FloatDistribution(0.0, 1.0)
        if not b.fixed:
            out[b.total_name] = optuna.distributions.FloatDistribution(b.low, b.high)
    return out


def values(budgets: Sequence[Budget], point: Mapping[str, float]) -> tuple[dict, dict]:
    """The config values (reach keys) and spend columns of a search point."""
    reach, spend = {}, {}
    for b in budgets:
        split = b.split(point)
        reach.update(b.reaches(split))
        spend.update({b.spend_name(c): split[c] for c in b.channels})
    return reach, spend


def check_reach(budgets: Sequence[Budget], market) -> None:
    """Refuse a budget whose most concentrated split needs more reach than the config allows.

    Raises:
        ConfigError: naming the budget and the largest spend the channel can take.
    """
    for b in budgets:
        for c in b.channels:
            most = min(b.high, b.bounds[c][1])
            try:
                market.candidate({b.reach_key(c): most / b.per_reach[c]})
            except ConfigError as exc:
                raise ConfigError(
                    f"--budget {b.brand}: {most:,.6g} a year on {c} alone breaks a rule of "
                    f"the market ({exc}); bound it with --bounds {b.brand}.{c}=LOW:HIGH"
                ) from None
