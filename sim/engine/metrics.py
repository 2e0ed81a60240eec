"""What is recorded each step, declared apart from the rules, and turned into polars frames.

The kernels fill per-chunk accumulators (``sim.engine.params.A_*``) and a flow matrix of
moves between (stage, brand) states; a :class:`Recorder` keeps one row of each per
step in preallocated arrays and builds the result frames at the end.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from agents.rules import STAGE_NAMES
from sim.engine import params as P

#: Columns of ``Result.metrics``, one row per (step, brand).
METRIC_COLUMNS = (
    "step", "brand", "aware", "considering", "customers", "acquired", "churned", "lapsed",
    "share", "price", "revenue", "ad_spend", "service_cost", "programme_cost", "profit",
    "satisfaction", "promoters", "passives", "detractors", "nps", "contacts", "failures",
    "recovered",
    "discounted_revenue", "discounted_profit", "clv",
)  # fmt: skip


def state_labels(brand_names: list[str]) -> list[tuple[str, str | None]]:
    """(stage, brand) of each row/column of the flow matrix."""
    return (
        [(STAGE_NAMES[0], None), (STAGE_NAMES[1], None), (STAGE_NAMES[2], None)]
        + [(STAGE_NAMES[3], b) for b in brand_names]
        + [(STAGE_NAMES[4], None)]
    )


class Recorder:
    """Per-step aggregates in preallocated arrays: brand accumulators, money, flows."""

    def __init__(self, steps: int, brand_names: list[str]):
        nb = len(brand_names)
        ns = nb + 4
        self.brand_names = brand_names
        self.acc = np.zeros((steps + 1, nb, P.N_ACC))
        self.ad_spend = np.zeros((steps + 1, nb))
        self.margin = np.zeros((steps + 1, nb))
        self.price = np.zeros((steps + 1, nb))
        self.programme_cost = np.zeros((steps + 1, nb))
        self.flows = np.zeros((steps + 1, ns, ns), dtype=np.int64)
        self.last_step = -1

    def add(self, t: int, acc_chunks, flow_chunks, ad_spend, tables, policy_cost) -> None:
        """Store step t: chunk accumulators are summed in chunk order (thread independent).

        Programme cost is the loyalty programme's cost per member times customers, plus
        what the brand's response policies spent this step.
        """
        self.acc[t] = acc_chunks.sum(axis=0)
        self.flows[t] = flow_chunks.sum(axis=0)
        self.ad_spend[t] = ad_spend
        self.margin[t] = tables.brand_params[:, P.B_MARGIN]
        self.price[t] = tables.brand_params[:, P.B_PRICE]
        members = self.acc[t, :, P.A_CUSTOMERS]
        self.programme_cost[t] = tables.brand_params[:, P.B_MEMBER_COST] * members + policy_cost
        self.last_step = t

    def share(self, t: int) -> np.ndarray:
        """Market share of each brand at step t (zeros when nobody is a customer)."""
        customers = self.acc[t, :, P.A_CUSTOMERS]
        total = customers.sum()
        return customers / total if total > 0 else np.zeros_like(customers)

    def nps(self, t: int) -> np.ndarray:
        """NPS of each brand at step t (NaN for a brand without customers)."""
        a = self.acc[t]
        customers = a[:, P.A_CUSTOMERS]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                customers > 0,
                100.0 * (a[:, P.A_PROMOTERS] - a[:, P.A_DETRACTORS]) / customers,
                np.nan,
            )

    def metrics(self, service_cost: float, discount_rate: float) -> pl.DataFrame:
        """One row per (step, brand) with the columns in ``METRIC_COLUMNS``."""
        steps = self.last_step + 1
        acc = self.acc[:steps]
        nb = len(self.brand_names)
        customers = acc[:, :, P.A_CUSTOMERS]
        total = customers.sum(axis=1, keepdims=True)
        share = np.divide(customers, total, out=np.zeros_like(customers), where=total > 0)
        revenue = acc[:, :, P.A_REVENUE]
        service = service_cost * acc[:, :, P.A_CONTACTS]
        ad = self.ad_spend[:steps]
        programme = self.programme_cost[:steps]
        profit = revenue * self.margin[:steps] - ad - service - programme
        discount = (1.0 + discount_rate) ** -np.arange(steps, dtype=np.float64)
        disc_rev = np.cumsum(revenue * discount[:, None], axis=0)
        disc_profit = np.cumsum(profit * discount[:, None], axis=0)
        served = customers[0][None, :] + np.cumsum(acc[:, :, P.A_ACQUIRED], axis=0)
        clv = np.divide(
            disc_profit, served, out=np.full_like(disc_profit, np.nan), where=served > 0
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            satisfaction = np.where(customers > 0, acc[:, :, P.A_SATISFACTION] / customers, np.nan)
            nps = np.where(
                customers > 0,
                100.0 * (acc[:, :, P.A_PROMOTERS] - acc[:, :, P.A_DETRACTORS]) / customers,
                np.nan,
            )

        def col(x: np.ndarray) -> np.ndarray:
            return x.reshape(-1)

        def count(k: int) -> np.ndarray:
            return col(acc[:, :, k]).round().astype(np.int64)

        frame = pl.DataFrame(
            {
                "step": np.repeat(np.arange(steps), nb),
                "brand": np.tile(np.array(self.brand_names, dtype=object), steps).tolist(),
                "aware": count(P.A_AWARE),
                "considering": count(P.A_CONSIDERING),
                "customers": count(P.A_CUSTOMERS),
                "acquired": count(P.A_ACQUIRED),
                "churned": count(P.A_CHURNED),
                "lapsed": count(P.A_LAPSED),
                "share": col(share),
                "price": col(self.price[:steps]),
                "revenue": col(revenue),
                "ad_spend": col(ad),
                "service_cost": col(service),
                "programme_cost": col(programme),
                "profit": col(profit),
                "satisfaction": col(satisfaction),
                "promoters": count(P.A_PROMOTERS),
                "passives": count(P.A_PASSIVES),
                "detractors": count(P.A_DETRACTORS),
                "nps": col(nps),
                "contacts": count(P.A_CONTACTS),
                "failures": count(P.A_FAILURES),
                "recovered": count(P.A_RECOVERED),
                "discounted_revenue": col(disc_rev),
                "discounted_profit": col(disc_profit),
                "clv": col(clv),
            }
        )
        return frame.with_columns(pl.col("step").cast(pl.Int32)).fill_nan(None)

    def retention(self, cohort: np.ndarray) -> pl.DataFrame:
        """Cohort retention by tenure, pooled over the cohorts acquired during the run.

        Of the customers a brand acquired during the run, the share still with it k steps
        after joining.

        S_b(k) = sum_t active_b(t, tenure k) / sum_{s=1}^{T-k} acquired_b(s): only cohorts
        old enough to be seen at tenure k count in the denominator.
        """
        steps = self.last_step
        nb, horizon = cohort.shape
        acquired = self.acc[1 : steps + 1, :, P.A_ACQUIRED]  # cohorts s = 1..T
        cum = np.concatenate([np.zeros((1, nb)), np.cumsum(acquired, axis=0)])
        k = np.arange(min(horizon, steps + 1))
        size = cum[steps - k]  # sum of acquired over s = 1..T-k
        active = cohort[:, : k.size].T
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(size > 0, active / size, np.nan)
        return pl.DataFrame(
            {
                "brand": np.repeat(np.array(self.brand_names, dtype=object), k.size).tolist(),
                "tenure": np.tile(k, nb).astype(np.int32),
                "cohort_size": size.T.reshape(-1).round().astype(np.int64),
                "active": active.T.reshape(-1).astype(np.int64),
                "retention": share.T.reshape(-1),
            }
        ).fill_nan(None)

    def stages(self) -> pl.DataFrame:
        """Customers per (step, stage, brand); brand is set for the customer stage only."""
        steps = self.last_step + 1
        labels = state_labels(self.brand_names)
        counts = self.flows[:steps].sum(axis=1)  # customers arriving in each state
        return pl.DataFrame(
            {
                "step": np.repeat(np.arange(steps), len(labels)).astype(np.int32),
                "stage": [s for _ in range(steps) for s, _b in labels],
                "brand": [b for _ in range(steps) for _s, b in labels],
                "customers": counts.reshape(-1).astype(np.int64),
            },
            schema={"step": pl.Int32, "stage": pl.Utf8, "brand": pl.Utf8, "customers": pl.Int64},
        )

    def flow_frame(self) -> pl.DataFrame:
        """Moves between (stage, brand) states in each step t >= 1 (non-zero counts only).

        Rows where from and to are the same state count customers who stayed.
        """
        steps = self.last_step + 1
        labels = state_labels(self.brand_names)
        t, a, b = np.nonzero(self.flows[1:steps])
        return pl.DataFrame(
            {
                "step": (t + 1).astype(np.int32),
                "from_stage": [labels[k][0] for k in a],
                "from_brand": [labels[k][1] for k in a],
                "to_stage": [labels[k][0] for k in b],
                "to_brand": [labels[k][1] for k in b],
                "customers": self.flows[1:steps][t, a, b].astype(np.int64),
            },
            schema={
                "step": pl.Int32, "from_stage": pl.Utf8, "from_brand": pl.Utf8,
                "to_stage": pl.Utf8, "to_brand": pl.Utf8, "customers": pl.Int64,
            },
        )  # fmt: skip
