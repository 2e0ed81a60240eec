"""Timed events: each changes the market's tables for a window of steps.

An event is a mapping from the scenario config with a ``kind``, a ``start`` step
and an ``end`` step (exclusive; null runs to the end of the run), plus the fields
its kind needs. Events are applied in order to a fresh copy of the baseline tables
at every step, so they never leak past their window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import params as P


@dataclass
class Tables:
    """The parameter tables of one step (copies of the market's baseline)."""

    brand_params: np.ndarray
    ad_reach: np.ndarray
    service_quality: np.ndarray
    resolution: np.ndarray
    friction: np.ndarray

    def copy(self) -> Tables:
        """A deep copy."""
        return Tables(*(np.array(a, copy=True) for a in self.__dict__.values()))


def in_window(event, t: int) -> bool:
    """True while start <= t < end (end null: to the end of the run)."""
    start = int(event.get("start", 0) or 0)
    end = event.get("end")
    return t >= start and (end is None or t < int(end))


def _channels(event, channel_names: list[str]) -> list[int]:
    names = event.get("channels") or ([event["channel"]] if event.get("channel") else None)
    if not names:
        return list(range(len(channel_names)))
    return [channel_names.index(c) for c in names]


def apply_events(
    tables: Tables, events, t: int, brand_names: list[str], channel_names: list[str]
) -> None:
    """Apply every event active at step t to ``tables`` in place."""
    for ev in events or ():
        if not in_window(ev, t):
            continue
        kind = ev["kind"]
        b = brand_names.index(ev["brand"]) if ev.get("brand") is not None else None
        if kind == "service_outage":
            for c in _channels(ev, channel_names):
                tables.service_quality[b, c] *= 1.0 - float(ev.get("severity", 1.0))
                tables.resolution[b, c] *= 1.0 - float(ev.get("severity", 1.0))
        elif kind == "price_change":
            tables.brand_params[b, P.B_PRICE] *= 1.0 + float(ev["change"])
        else:
            raise ValueError(f"scenario event kind {kind!r} is not known")


EVENT_KINDS = ("service_outage", "price_change")
#: Fields each kind needs beyond kind/start/end, with their allowed range (lo, hi).
EVENT_FIELDS = {
    "service_outage": {"brand": None, "severity": (0.0, 1.0)},
    "price_change": {"brand": None, "change": (-1.0, 10.0)},
}


def validate_events(cfg, brands: list[str], channels: list[str], steps: int) -> None:
    """Check the scenario's events: known kinds, brands and channels, windows inside the run."""
    from sim.config import ConfigError

    for k, ev in enumerate(cfg.scenario.get("events") or []):
        key = f"scenario.events[{k}]"
        kind = ev.get("kind")
        if kind not in EVENT_KINDS:
            raise ConfigError(f"{key}.kind={kind}: must be one of {', '.join(EVENT_KINDS)}")
        for name, bounds in EVENT_FIELDS[kind].items():
            value = ev.get(name)
            if value is None and not (name == "severity"):
                raise ConfigError(f"{key}.{name}=None: a {kind} event needs it")
            if bounds is not None and value is not None:
                lo, hi = bounds
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or not lo <= value <= hi
                ):
                    raise ConfigError(f"{key}.{name}={value}: must be between {lo:g} and {hi:g}")
        if ev.get("brand") is not None and ev["brand"] not in brands:
            raise ConfigError(f"{key}.brand={ev['brand']}: must be one of {', '.join(brands)}")
        for c in ev.get("channels") or ([ev["channel"]] if ev.get("channel") else []):
            if c not in channels:
                raise ConfigError(f"{key}.channels={c}: must be one of {', '.join(channels)}")
        start = ev.get("start", 0) or 0
        if not 0 <= start <= steps:
            raise ConfigError(f"{key}.start={start}: must be between 0 and {steps} (sim.steps)")
        end = ev.get("end")
        if end is not None and not start < end <= steps + 1:
            raise ConfigError(f"{key}.end={end}: must be between {start + 1} and {steps + 1}")
