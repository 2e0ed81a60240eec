"""Regions of the market: where the customers live (``conf/regions/``, docs/model.md).

A region has a share of the population and, per brand, whether the brand is present there
and from which step, a factor on its price and factors on its ad reach per channel (so a
brand's spend differs by region); the network's homophily places a region's members among
each other. Each customer holds one byte, its region (``Customers.region``); the kernels
read the per-region brand tables built each step from these (``JourneyModel.tables_at``)
and per (region, segment) cell the exposure and service tables.

The default (``conf/regions/default.yaml``) is one region, everywhere: every table is then
the market's own and every draw the one made before regions existed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from sim.engine.jit import njit, prange
from sim.engine.region_spec import DEFAULT_REGION, FAMILY_REGION, NEVER
from sim.engine.rng import STREAM_INIT, customer_key, stream_key, uniform
from sim.engine.segment_spec import LOCAL_KINDS, config_groups

__all__ = ["Regions", "build_regions", "draw_regions", "region_launch", "regional_price"]


@dataclass
class Regions:
    """Per-region tables (R regions, B brands, C channels)."""

    names: list[str]
    shares: np.ndarray  # float64 [R], sums to 1
    launch: np.ndarray  # int64 [R, B]: a brand's launch step in the region (NEVER: absent)
    price_factor: np.ndarray  # float64 [R, B]: multiplies the brand's price there
    ad_factor: np.ndarray  # float64 [R, B, C]: multiplies the brand's ad reach there
    homophily: float

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return len(self.names)


def region_groups(cfg: DictConfig) -> dict:
    """The config's regions as a plain mapping (one region, everywhere, when it names none)."""
    return config_groups(cfg, "regions", DEFAULT_REGION)


def region_launch(brand_launch: int, spec: dict) -> int:
    """A brand's launch step in a region: L_rb = max(L_b, l_rb), or NEVER when absent.

    L_b is the brand's own launch step (``launch_step`` or a ``new_entrant`` event's start),
    l_rb the region's ``launch_step`` for it (0 when not given): a brand cannot be in a region
    before it exists. ``present: false`` keeps it out of the region for the whole run.
    """
    if spec.get("present", True) is False:
        return NEVER
    return max(int(brand_launch), int(spec.get("launch_step", 0) or 0))


def regional_price(price: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """A brand's price in each region: p_rb = p_b k_rb (k = 1 gives p_b exactly)."""
    return price[None, :] * factor


def build_regions(
    cfg: DictConfig, brand_names: list[str], channel_names: list[str], launch: np.ndarray
) -> Regions:
    """Per-region tables from the config (see the module docstring and ``region_launch``).

    Missing brands and keys: present from the brand's launch, factors 1.
    """
    groups = region_groups(cfg)
    names = list(groups)
    nr, nb, nc = len(names), len(brand_names), len(channel_names)
    shares = np.array([float(groups[r].get("share", 1.0)) for r in names])
    launches = np.tile(np.asarray(launch, dtype=np.int64), (nr, 1))
    price = np.ones((nr, nb))
    ads = np.ones((nr, nb, nc))
    for r, name in enumerate(names):
        own = groups[name].get("brands") or {}
        for b, brand in enumerate(brand_names):
            spec = own.get(brand) or {}
            launches[r, b] = region_launch(launch[b], spec)
            price[r, b] = float(spec.get("price_factor", 1.0))
            factors = spec.get("ad_factor") or {}
            for c, channel in enumerate(channel_names):
                if channel in factors:
                    ads[r, b, c] = float(factors[channel])
    homophily = float(cfg.get("regions", {}).get("homophily", 0.0) or 0.0)
    return Regions(names, shares, launches, price, ads, homophily)


@njit(parallel=True, cache=True, error_model="numpy")
def _draw(key, cum, start, shares, homophily, region, place) -> None:
    """Region of each customer by the shares (slot 0); its place (slot 1) if asked.

    Customer i's own place is (i + 1/2) / n; one living among its region moves to the same
    relative place in its region's stretch, start_r + share_r (i + 1/2) / n.
    """
    nr = cum.size
    n = region.size
    for i in prange(n):
        ck = customer_key(key, i)
        u = uniform(ck, 0)
        r = 0
        while r < nr - 1 and cum[r] <= u:
            r += 1
        region[i] = r
        if place.size > 0:
            own = (i + 0.5) / n
            if uniform(ck, 1) < homophily:
                place[i] = start[r] + shares[r] * own
            else:
                place[i] = own


def draw_regions(
    seed: int, n: int, regions: Regions, network_kind: str, segment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's region (uint8), drawn by the shares independently of its segment.

    Customer i's region is r with probability share_r (a counter-based draw keyed by seed
    and customer, its own family). With homophily h > 0 on a network whose ties are local in
    customer order (``LOCAL_KINDS``) the customers are then placed along that order: each
    lives among its own region with probability h, at the place in its region's stretch
    [cum_r, cum_r + share_r) that keeps its order, cum_r + share_r (i + 1/2) / n, otherwise
    at its own place (i + 1/2) / n; customer i takes the (region, segment) of the i-th place.
    As for segments (``sim.engine.segments.draw_segments``) a share W(h) of the local ties
    then join two customers of one region. The (region, segment) pairs move together and keep
    their order, so the segments' placement is kept, compressed, within each region's stretch
    (diluted by the customers who do not live among their region).

    Returns:
        (region, segment): the regions and the segments as placed (the given segments when
        nothing moves).
    """
    key = np.uint64(stream_key(int(seed), FAMILY_REGION, STREAM_INIT))
    region = np.zeros(n, dtype=np.uint8)
    if regions.n_regions == 1:
        return region, segment
    shares = regions.shares / regions.shares.sum()
    cum = np.cumsum(shares)
    start = np.concatenate([[0.0], cum[:-1]])
    places = regions.homophily > 0.0 and network_kind in LOCAL_KINDS
    place = np.empty(n if places else 0)
    _draw(key, cum, start, shares, float(regions.homophily), region, place)
    if places:
        order = np.argsort(place, kind="stable")
        region, segment = region[order], segment[order]
    return region, segment
