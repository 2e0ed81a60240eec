"""Segments of the population: who the customers are (``conf/segments/``, docs/model.md).

A segment has a share of the population, its own trait distributions (the market's
``market.traits`` with the keys it changes), its attention to each channel's ads and news,
the channels it buys and asks for service on, and the network's homophily places its
members among each other. Each customer holds one byte, its segment (``Customers.segment``);
the kernels read the per-segment tables built here, never per-customer copies of them.

The default (``conf/segments/default.yaml``) is one segment, everyone: every table is then
the market's own and every draw the one made before segments existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from sim.engine.jit import njit, prange
from sim.engine.rng import STREAM_INIT, customer_key, stream_key, uniform
from sim.engine.segment_spec import (
    DEFAULT_NAME,
    FAMILY_SEGMENT,
    LOCAL_KINDS,
    MAX_SEGMENTS,
    TRAIT_NAMES,
    config_groups,
    segment_trait,
)

__all__ = ["MAX_SEGMENTS", "Segments", "build_segments", "draw_segments", "exposure_by_segment"]


@dataclass
class Segments:
    """Per-segment tables (S segments, C channels)."""

    names: list[str]
    shares: np.ndarray  # float64 [S], sums to 1
    attention: np.ndarray  # float64 [S, C]: multiplier of each channel's exposure rate
    service_share: np.ndarray  # float64 [S, C]: share of the segment served on each channel
    traits: list[dict[str, dict]]  # per segment: trait name -> its spec (plain dict)
    homophily: float

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return len(self.names)

    @property
    def uniform_attention(self) -> bool:
        """True when every segment sees every channel at the market's rate."""
        return bool(np.all(self.attention == 1.0))


def segment_groups(cfg: DictConfig) -> dict:
    """The config's segments as a plain mapping (one segment, everyone, when it names none)."""
    return config_groups(cfg, "segments", DEFAULT_NAME)


def build_segments(cfg: DictConfig, channel_names: list[str], service_share: np.ndarray):
    """Per-segment tables from the config (see the module docstring).

    Attention: the weights w_sc given (1 where missing) are normalised per channel by their
    population mean, a_sc = w_sc / sum_r share_r w_rc, so the segments share out the exposure
    a brand's reach buys on c without changing its total (0 where every weight is 0).
    Service: the segment's shares per channel (the channels' ``service_share`` where it gives
    none), normalised to sum to 1.
    """
    groups = segment_groups(cfg)
    names = list(groups)
    nc = len(channel_names)
    shares = np.array([float(groups[s].get("share", 1.0)) for s in names])
    weights = np.ones((len(names), nc))
    served = np.tile(np.asarray(service_share, dtype=np.float64), (len(names), 1))
    traits = []
    for k, name in enumerate(names):
        g = groups[name]
        for c, channel in enumerate(channel_names):
            if channel in (g.get("attention") or {}):
                weights[k, c] = float(g["attention"][channel])
        if g.get("service"):
            served[k] = [float(g["service"].get(channel, 0.0)) for channel in channel_names]
        own = g.get("traits") or {}
        traits.append({t: segment_trait(cfg.market.traits[t], own.get(t)) for t in TRAIT_NAMES})
    mean = shares @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        attention = np.where(mean[None, :] > 0, weights / mean[None, :], 0.0)
    total = served.sum(axis=1, keepdims=True)
    served = np.divide(served, total, out=np.zeros_like(served), where=total > 0)
    homophily = float(cfg.get("segments", {}).get("homophily", 0.0) or 0.0)
    return Segments(names, shares, attention, served, traits, homophily)


@njit(parallel=True, cache=True, error_model="numpy")
def _draw(key, cum, start, shares, homophily, segment, place) -> None:
    """Segment of each customer by the shares (slot 0); its place key (slots 1, 2) if asked."""
    ns = cum.size
    for i in prange(segment.size):
        ck = customer_key(key, i)
        u = uniform(ck, 0)
        s = 0
        while s < ns - 1 and cum[s] <= u:
            s += 1
        segment[i] = s
        if place.size > 0:
            if uniform(ck, 1) < homophily:
                place[i] = start[s] + shares[s] * uniform(ck, 2)
            else:
                place[i] = uniform(ck, 2)


def draw_segments(seed: int, n: int, segments: Segments, network_kind: str) -> np.ndarray:
    """Each customer's segment (uint8), drawn by the shares; placed by homophily.

    Customer i's segment is s with probability share_s (a counter-based draw keyed by seed
    and customer). With homophily h > 0 on a network whose ties are local in customer order
    (``LOCAL_KINDS``), the drawn segments are then placed along that order: each lives among
    its own segment with probability h, at a place uniform in its segment's stretch
    [cum_s, cum_s + share_s), and otherwise at a place uniform in [0, 1); customer i takes
    the segment of the i-th place. In segment s's stretch a share h + (1 - h) share_s of
    customers are of segment s, so a share of about sum_s share_s [(h + (1 - h) share_s)^2
    + (1 - h)^2 sum_{r != s} share_r^2] of the local ties are within a segment (sum_s
    share_s^2 at h = 0, all of them at h = 1). The shares drawn do not change with h.
    """
    key = np.uint64(stream_key(int(seed), FAMILY_SEGMENT, STREAM_INIT))
    segment = np.zeros(n, dtype=np.uint8)
    if segments.n_segments == 1:
        return segment
    shares = segments.shares / segments.shares.sum()
    cum = np.cumsum(shares)
    start = np.concatenate([[0.0], cum[:-1]])
    places = segments.homophily > 0.0 and network_kind in LOCAL_KINDS
    place = np.empty(n if places else 0)
    _draw(key, cum, start, shares, float(segments.homophily), segment, place)
    if places:
        segment = segment[np.argsort(place, kind="stable")]
    return segment


def exposure_by_segment(ad_reach, news_reach, segments: Segments, room: float) -> np.ndarray:
    """Cumulated per-step exposure rates of each segment: paid ads, then news ([S, 2 B C]).

    Segment s meets brand b's message on channel c at rate reach_bc a_sc; where a segment's
    total would pass the room the other touchpoints leave, its rates are scaled down to fit.
    """
    rates = np.concatenate([ad_reach.reshape(-1), news_reach.reshape(-1)])
    if segments.uniform_attention:
        return np.tile(np.cumsum(rates), (segments.n_segments, 1))
    nb = ad_reach.shape[0]
    per = np.tile(segments.attention, (1, 2 * nb)) * rates[None, :]
    total = per.sum(axis=1, keepdims=True)
    scale = np.where(total > room, max(room, 0.0) / np.maximum(total, 1e-300), 1.0)
    return np.cumsum(per * scale, axis=1)
