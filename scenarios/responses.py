"""Competitor response policies: brands that react to what their rivals do.

A brand may carry policies under ``brands.<name>.responses``. Each step, after the
scenario's events, the policies adjust the brand's tables from what was observed in
earlier steps (never the current one), so a what-if plays out against rivals that
react rather than a frozen market:

- ``match_price``: p_b(t) = p_b(t) * min(1, min over rivals r of p_r(t - lag) / p_r^0):
  match the deepest rival price cut (relative to the rival's baseline price p_r^0, among
  ``rivals``, default all) after ``lag`` steps; a rival's rise is not followed.
- ``ad_boost``: reach_b,c(t) = k reach_b,c(t) while share_b(t - 1) < ``share_below``.
- ``service_investment``: while NPS_b(t - 1) < ``nps_below``, service quality on every
  channel rises by ``quality_step`` a step (up to ``max_quality``) and stays raised;
  each step of investment costs ``cost``.

A policy that names a ``region`` (``conf/regions/``) acts on that region's tables only,
from that region's share and NPS (``JourneyModel.region_responses``).
"""

from __future__ import annotations

import numpy as np

from sim.engine import params as P

RESPONSE_KINDS = ("match_price", "ad_boost", "service_investment")


class Responses:
    """The response policies of every brand and what they have done so far."""

    def __init__(
        self,
        cfg,
        brand_names: list[str],
        n_channels: int,
        steps: int,
        base_prices: np.ndarray,
        base_quality: np.ndarray,
        regions: tuple = (None,),
    ):
        self.brand_names = brand_names
        self.base_prices = np.asarray(base_prices, dtype=float)
        self.base_quality = np.asarray(base_quality, dtype=float)  # before any event
        self.policies: list[tuple[int, dict]] = []
        for b, name in enumerate(brand_names):
            for policy in cfg.brands[name].get("responses") or []:
                if policy.get("region") in regions:  # None: a policy for every region
                    self.policies.append((b, dict(policy)))
        nb = len(brand_names)
        self.prices = np.full((steps + 1, nb), np.nan)  # effective prices charged
        self.quality_gain = np.zeros((nb, n_channels))  # persistent service investment
        self.cost = np.zeros(nb)  # this step's cost of the policies
        self._done: list[tuple[int, int, float]] = []  # this step's (column or -1: reach, b, x)

    @property
    def active(self) -> bool:
        """True if any brand carries a policy."""
        return bool(self.policies)

    def adjust(self, t: int, tables, share: np.ndarray | None, nps: np.ndarray | None) -> None:
        """Apply every policy to step t's tables in place, from steps before t.

        What the policies do is remembered for the step (``replay``).
        """
        self.cost[:] = 0.0
        self._done = []
        for b, policy in self.policies:
            kind = policy["kind"]
            if kind == "match_price":
                lag = int(policy.get("lag", 14))
                if t - lag < 0:
                    continue
                rivals = policy.get("rivals") or list(self.brand_names)
                ids = [self.brand_names.index(r) for r in rivals if r != self.brand_names[b]]
                with np.errstate(invalid="ignore", divide="ignore"):
                    ratio = self.prices[t - lag, ids] / self.base_prices[ids]
                ratio = ratio[np.isfinite(ratio)]
                if ratio.size and ratio.min() < 1.0:
                    self._done.append((P.B_PRICE, b, float(ratio.min())))
            elif kind == "ad_boost":
                if share is not None and share[b] < float(policy.get("share_below", 0.2)):
                    self._done.append((-1, b, float(policy.get("multiplier", 1.5))))
            elif kind == "service_investment":
                if nps is not None and not np.isnan(nps[b]) and nps[b] < float(policy["nps_below"]):
                    top = float(policy.get("max_quality", 0.95))
                    # Headroom from the baseline quality, so an outage does not inflate it.
                    room = np.maximum(top - self.base_quality[b] - self.quality_gain[b], 0.0)
                    self.quality_gain[b] += np.minimum(
                        float(policy.get("quality_step", 0.002)), room
                    )
                    self.cost[b] += float(policy.get("cost", 0.0))
        self.replay(tables)

    def replay(self, tables) -> None:
        """Do to ``tables`` what the policies did at this step's ``adjust``, in order.

        p_b *= the matched ratio, reach_b *= the boost, q_bc += the invested gain (clipped
        to [0, 1]): the same decisions on other tables, e.g. those of the customers a
        targeted change acts on (``JourneyModel.tables_at``), without deciding again.
        """
        for column, b, factor in self._done:
            if column < 0:
                tables.ad_reach[b] *= factor
            else:
                tables.brand_params[b, column] *= factor
        tables.service_quality += self.quality_gain
        np.clip(tables.service_quality, 0.0, 1.0, out=tables.service_quality)

    def observe_prices(self, t: int, tables) -> None:
        """Remember the prices charged at step t (for lagged price matching)."""
        self.prices[t] = tables.brand_params[:, P.B_PRICE]
        launched = tables.brand_params[:, P.B_ACTIVE] > 0
        self.prices[t, ~launched] = np.nan
