"""What is recorded each step, declared apart from the rules, and turned into polars frames.

The kernels fill per-chunk accumulators (``sim.engine.params.A_*`` per brand, ``C_*`` per
brand and channel) and a flow matrix of moves between (stage, brand) states; a
:class:`Recorder` keeps one row of each per step in preallocated arrays, adds the money
(realised ad spend, service and programme costs) and builds the result frames at the end.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from agents import rules
from agents.rules import STAGE_NAMES
from sim.engine import params as P
from sim.engine.segment_spec import ALL_SEGMENTS, brand_rows

__all__ = [
    "ALL_SEGMENTS", "Recorder", "brand_rows", "brand_totals", "metrics_file", "segment_file",
]  # fmt: skip

#: Columns of ``Result.metrics``, one row per (step, brand).
METRIC_COLUMNS = (
    "step", "brand", "aware", "considering", "customers", "acquired", "acquired_wom", "churned",
    "churned_hazard", "churned_shock", "churned_switch", "churned_exit", "lapsed", "share",
    "price", "revenue", "ad_spend", "service_cost", "programme_cost", "acquisition_cost", "profit",
    "satisfaction",
    "attitude", "promoters", "passives", "detractors", "nps", "contacts", "failures",
    "recovered", "complaints", "bot_contacts", "escalated", "waited", "abandoned", "mean_wait",
    "reviews", "rating", "discounted_revenue", "discounted_profit",
    "profit_per_customer", "clv", "churned_promoters", "churned_passives", "churned_detractors",
    *(f"ltr_{k}" for k in range(11)),
)  # fmt: skip
#: Names of the tenure bands of ``Result.tenure`` (years with the brand).
TENURE_BANDS = ("0-1", "1-2", "2-3", "3+")


def state_labels(brand_names: list[str]) -> list[tuple[str, str | None]]:
    """(stage, brand) of each row/column of the flow matrix."""
    return (
        [(STAGE_NAMES[0], None), (STAGE_NAMES[1], None), (STAGE_NAMES[2], None)]
        + [(STAGE_NAMES[3], b) for b in brand_names]
        + [(STAGE_NAMES[4], None)]
    )


def brand_totals(chunks: np.ndarray) -> np.ndarray:
    """Per-chunk, per-segment accumulators ([chunk, segment, brand, ...]) summed to brands.

    Summed over chunks in chunk order, then over segments in segment order: the same sums
    whatever the number of threads (one segment: the chunk sums alone, as before segments).
    """
    if chunks.shape[1] == 1:
        return chunks[:, 0].sum(axis=0)
    return chunks.sum(axis=0).sum(axis=0)


def _shares_of(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Each segment's share of a brand's total (weights [S, B]); ``fallback`` [S] where none."""
    total = weights.sum(axis=0, keepdims=True)
    return np.where(total > 0, weights / np.where(total > 0, total, 1.0), fallback[:, None])


class Recorder:
    """Per-step aggregates in preallocated arrays: brand and channel tallies, money, flows.

    With more than one segment the brand and channel tallies and the money are also kept per
    segment (``seg_*``): what the kernels count per customer is the segment's own; brand-wide
    costs not counted per customer (service staff or spend, programme costs) are shared out
    (``add``).
    """

    def __init__(
        self,
        steps: int,
        brand_names: list[str],
        channel_names: list[str],
        segment_names: list[str] | None = None,
        segment_shares: np.ndarray | None = None,
    ):
        nb, nc = len(brand_names), len(channel_names)
        ns = nb + 4
        self.brand_names = brand_names
        self.channel_names = channel_names
        self.segment_names = list(segment_names or [ALL_SEGMENTS])
        k = len(self.segment_names)
        self.segment_shares = (
            np.full(k, 1.0 / k) if segment_shares is None else np.asarray(segment_shares, float)
        )
        k = k if k > 1 else 0  # per-segment records only when there are segments
        self.seg_acc = np.zeros((steps + 1, k, nb, P.N_ACC))
        self.seg_chan = np.zeros((steps + 1, k, nb, nc + 1, P.N_CHAN))
        self.seg_money = np.zeros((steps + 1, k, 4, nb))  # ad, service, programme, acquisition
        self.acc = np.zeros((steps + 1, nb, P.N_ACC))
        self.chan = np.zeros((steps + 1, nb, nc + 1, P.N_CHAN))
        self.ad_spend = np.zeros((steps + 1, nb))
        self.service_cost = np.zeros((steps + 1, nb))
        self.margin = np.zeros((steps + 1, nb))
        self.price = np.zeros((steps + 1, nb))
        self.programme_cost = np.zeros((steps + 1, nb))
        self.acquisition_cost = np.zeros((steps + 1, nb))
        self.rating = np.zeros((steps + 1, nb))
        self.mean_wait = np.zeros((steps + 1, nb))
        self._costs = np.zeros(nc)
        self.flows = np.zeros((steps + 1, ns, ns), dtype=np.int64)
        self.last_step = -1

    def add(
        self, t: int, acc_chunks, chan_chunks, flow_chunks, tables, roles, programme,
        service_overhead=None, per_contact=None, wait_minutes=None, acc_total=None,
        chan_total=None,
    ) -> None:  # fmt: skip
        """Store step t: chunk accumulators are summed in chunk order (thread independent).

        ``acc_total`` and ``chan_total``, when given, are those sums already taken (the
        same ``sum(axis=0)`` of the same chunks), so a step sums each array once.

        Ad spend is the realised exposures times each channel's cost; service cost the
        contacts answered by people times the channel's cost per contact (where people are
        paid per contact: ``per_contact``, a brand x channel mask, all by default; else they are
        paid for their capacity) plus the chatbot's contacts times its
        cost plus ``service_overhead`` (staff capacity or service spend, by the service
        rule); ``programme`` the step's programme costs per brand; ``wait_minutes`` the mean
        wait per contact by brand and channel (service rule ``capacity``).

        Per segment s (more than one): ad spend, people's contacts and the chatbot's contacts
        and acquisition costs are its own tallies times their costs; the service overhead is
        shared out by the segment's share of the brand's contacts answered by people, the
        programme costs by its share of the brand's customers (each falling back on the
        segment's share of the population where the brand has none).
        """
        self.acc[t] = brand_totals(acc_chunks) if acc_total is None else acc_total
        self.chan[t] = brand_totals(chan_chunks) if chan_total is None else chan_total
        self.flows[t] = flow_chunks.sum(axis=0)
        if self.seg_acc.shape[1] > 0:
            self._add_segments(t, acc_chunks, chan_chunks, tables, roles, programme,
                               service_overhead, per_contact)  # fmt: skip
        nc = roles.shape[0]
        self._costs = roles[:, P.R_COST]
        impressions = self.chan[t, :, :nc, P.C_IMPRESSIONS]
        self.ad_spend[t] = impressions @ roles[:, P.R_COST]
        contacts = self.chan[t, :, :nc, P.C_CONTACTS]
        paid = contacts if per_contact is None else np.where(per_contact, contacts, 0.0)
        people = paid @ roles[:, P.R_SERVICE_COST]
        bot = self.acc[t, :, P.A_BOT_CONTACTS] * tables.brand_params[:, P.B_BOT_COST]
        overhead = 0.0 if service_overhead is None else service_overhead
        self.service_cost[t] = people + bot + overhead
        self.rating[t] = tables.brand_params[:, P.B_RATING]
        if wait_minutes is not None:
            answered = contacts.sum(axis=1)
            total = (contacts * wait_minutes).sum(axis=1)
            self.mean_wait[t] = np.divide(total, answered, out=np.zeros_like(total),
                                          where=answered > 0)  # fmt: skip
        self.margin[t] = tables.brand_params[:, P.B_MARGIN]
        self.price[t] = tables.brand_params[:, P.B_PRICE]
        self.programme_cost[t] = programme
        self.acquisition_cost[t] = (
            self.acc[t, :, P.A_ACQUIRED] * tables.brand_params[:, P.B_ACQUISITION_COST]
        )
        self.last_step = t

    def _add_segments(
        self, t, acc_chunks, chan_chunks, tables, roles, programme, overhead, per_contact
    ) -> None:
        """Store step t's per-segment tallies and money (see ``add``)."""
        acc = self.seg_acc[t] = acc_chunks.sum(axis=0)
        chan = self.seg_chan[t] = chan_chunks.sum(axis=0)
        nc = roles.shape[0]
        bp = tables.brand_params
        contacts = chan[:, :, :nc, P.C_CONTACTS]
        paid = contacts if per_contact is None else np.where(per_contact[None], contacts, 0.0)
        people = paid @ roles[:, P.R_SERVICE_COST]
        bot = acc[:, :, P.A_BOT_CONTACTS] * bp[None, :, P.B_BOT_COST]
        fallback = self.segment_shares / self.segment_shares.sum()
        by_contacts = _shares_of(contacts.sum(axis=2), fallback)
        by_customers = _shares_of(acc[:, :, P.A_CUSTOMERS], fallback)
        nb = acc.shape[1]
        if overhead is None:
            overhead = 0.0
        overhead = np.broadcast_to(np.asarray(overhead, dtype=float), (nb,))[None, :] * by_contacts
        programme = np.broadcast_to(np.asarray(programme, dtype=float), (nb,))
        money = self.seg_money[t]
        money[:, 0] = chan[:, :, :nc, P.C_IMPRESSIONS] @ roles[:, P.R_COST]
        money[:, 1] = people + bot + overhead
        money[:, 2] = programme[None, :] * by_customers
        money[:, 3] = acc[:, :, P.A_ACQUIRED] * bp[None, :, P.B_ACQUISITION_COST]

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

    def metrics(self, discount_rate: float, clv_horizon: float) -> pl.DataFrame:
        """One row per (step, brand) with the columns in ``METRIC_COLUMNS``.

        ``profit_per_customer`` is the realised discounted profit per customer served so
        far; ``clv`` the projected customer lifetime value (``rules.projected_clv``) from the
        margin per customer-step (revenue times margin, less service and programme costs:
        what keeping a customer earns) and the per-step retention 1 - churned / customers,
        both over the steps so far.
        """
        steps = self.last_step + 1
        acc = self.acc[:steps]
        customers = acc[:, :, P.A_CUSTOMERS]
        total = customers.sum(axis=1, keepdims=True)
        share = np.divide(customers, total, out=np.zeros_like(customers), where=total > 0)
        money = (self.ad_spend[:steps], self.service_cost[:steps], self.programme_cost[:steps],
                 self.acquisition_cost[:steps])  # fmt: skip
        return self._metric_frame(
            acc, share, money, self.price[:steps], self.margin[:steps], self.rating[:steps],
            self.mean_wait[:steps], list(self.brand_names), None, discount_rate, clv_horizon,
        )  # fmt: skip

    def segment_metrics(self, discount_rate: float, clv_horizon: float) -> pl.DataFrame:
        """One row per (step, brand, segment), the columns of ``metrics`` and ``segment``.

        Counts and money sum over segments to the brand's row of ``metrics`` (the brand-wide
        costs as ``add`` shares them out); ``share`` is the brand's share of the segment's
        customers; ratios (satisfaction, NPS, CLV...) are the segment's own. Empty with one
        segment.
        """
        if self.seg_acc.shape[1] == 0:
            return pl.DataFrame()
        steps = self.last_step + 1
        ns, nb = len(self.segment_names), len(self.brand_names)

        def rows(x: np.ndarray) -> np.ndarray:  # [T, S, B, ...] -> [T, B * S, ...], brand-major
            return np.swapaxes(x, 1, 2).reshape(x.shape[0], nb * ns, *x.shape[3:])

        acc = self.seg_acc[:steps]
        customers = acc[:, :, :, P.A_CUSTOMERS]
        total = customers.sum(axis=2, keepdims=True)
        share = np.divide(customers, total, out=np.zeros_like(customers), where=total > 0)
        money = tuple(rows(self.seg_money[:steps, :, k]) for k in range(4))

        def per_brand(x: np.ndarray) -> np.ndarray:  # [T, B] -> [T, B * S]
            return np.repeat(x, ns, axis=1)

        return self._metric_frame(
            rows(acc), rows(share), money, per_brand(self.price[:steps]),
            per_brand(self.margin[:steps]), per_brand(self.rating[:steps]),
            per_brand(self.mean_wait[:steps]), [b for b in self.brand_names for _ in range(ns)],
            self.segment_names * nb, discount_rate, clv_horizon,
        )  # fmt: skip

    @staticmethod
    def _metric_frame(
        acc, share, money, price, margin, rating, mean_wait, brands, segments, discount_rate,
        clv_horizon,
    ) -> pl.DataFrame:  # fmt: skip
        """The metrics frame of rows [T, R] (a brand, or a brand in a segment, per row)."""
        steps, nb = acc.shape[0], acc.shape[1]
        customers = acc[:, :, P.A_CUSTOMERS]
        revenue = acc[:, :, P.A_REVENUE]
        ad, service, programme, winning = money
        keep_margin = revenue * margin - service - programme
        profit = keep_margin - ad - winning
        discount = (1.0 + discount_rate) ** -np.arange(steps, dtype=np.float64)
        disc_rev = np.cumsum(revenue * discount[:, None], axis=0)
        disc_profit = np.cumsum(profit * discount[:, None], axis=0)
        served = customers[0][None, :] + np.cumsum(acc[:, :, P.A_ACQUIRED], axis=0)
        per_customer = np.divide(
            disc_profit, served, out=np.full_like(disc_profit, np.nan), where=served > 0
        )
        clv = projected_clv_path(
            keep_margin, customers, acc[:, :, P.A_CHURNED], discount_rate, clv_horizon
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            has = customers > 0
            satisfaction = np.where(has, acc[:, :, P.A_SATISFACTION] / customers, np.nan)
            attitude = np.where(has, acc[:, :, P.A_ATTITUDE] / customers, np.nan)
            nps = np.where(
                has, 100.0 * (acc[:, :, P.A_PROMOTERS] - acc[:, :, P.A_DETRACTORS]) / customers,
                np.nan,
            )  # fmt: skip

        def col(x: np.ndarray) -> np.ndarray:
            return x.reshape(-1)

        def count(k: int) -> np.ndarray:
            return col(acc[:, :, k]).round().astype(np.int64)

        labels = {"brand": np.tile(np.array(brands, dtype=object), steps).tolist()}
        if segments is not None:
            labels["segment"] = np.tile(np.array(segments, dtype=object), steps).tolist()
        frame = pl.DataFrame(
            {
                "step": np.repeat(np.arange(steps), nb),
                **labels,
                "aware": count(P.A_AWARE),
                "considering": count(P.A_CONSIDERING),
                "customers": count(P.A_CUSTOMERS),
                "acquired": count(P.A_ACQUIRED),
                "acquired_wom": count(P.A_ACQUIRED_WOM),
                "churned": count(P.A_CHURNED),
                "churned_hazard": count(P.A_CHURN_HAZARD),
                "churned_shock": count(P.A_CHURN_SHOCK),
                "churned_switch": count(P.A_CHURN_SWITCH),
                "churned_exit": count(P.A_CHURN_EXIT),
                "lapsed": count(P.A_LAPSED),
                "share": col(share),
                "price": col(price),
                "revenue": col(revenue),
                "ad_spend": col(ad),
                "service_cost": col(service),
                "programme_cost": col(programme),
                "acquisition_cost": col(winning),
                "profit": col(profit),
                "satisfaction": col(satisfaction),
                "attitude": col(attitude),
                "promoters": count(P.A_PROMOTERS),
                "passives": count(P.A_PASSIVES),
                "detractors": count(P.A_DETRACTORS),
                "nps": col(nps),
                "contacts": count(P.A_CONTACTS),
                "failures": count(P.A_FAILURES),
                "recovered": count(P.A_RECOVERED),
                "complaints": count(P.A_COMPLAINTS),
                "bot_contacts": count(P.A_BOT_CONTACTS),
                "escalated": count(P.A_ESCALATED),
                "waited": count(P.A_WAITED),
                "abandoned": count(P.A_ABANDONED),
                "mean_wait": col(mean_wait),
                "reviews": count(P.A_REVIEWS),
                "rating": col(rating),
                "discounted_revenue": col(disc_rev),
                "discounted_profit": col(disc_profit),
                "profit_per_customer": col(per_customer),
                "clv": col(clv),
                "churned_promoters": count(P.A_CHURNED_CLASS + 1 + rules.PROMOTER),
                "churned_passives": count(P.A_CHURNED_CLASS + 1 + rules.PASSIVE),
                "churned_detractors": count(P.A_CHURNED_CLASS + 1 + rules.DETRACTOR),
                **{f"ltr_{k}": count(P.A_LTR + k) for k in range(11)},
            }
        )
        return frame.with_columns(pl.col("step").cast(pl.Int32)).fill_nan(None)

    def segment_frames(self) -> dict[str, pl.DataFrame]:
        """Channels and tenure of each segment, with ``segment`` after ``brand`` ({} for one).

        Each segment's rows are the frame of its own tallies (``channels(s)``, ``tenure(s)``)
        in the order of the brand frame's rows, segment after segment; counts and money sum
        over segments to the brand frame's (``segment_file`` puts them in one file).
        """
        if self.seg_acc.shape[1] == 0:
            return {}
        out = {}
        for name, frame_of in (("channels", self.channels), ("tenure", self.tenure)):
            parts = [
                frame_of(k).with_columns(pl.lit(seg).alias("segment"))
                for k, seg in enumerate(self.segment_names)
            ]
            columns = parts[0].columns[:-1]
            at = columns.index("brand") + 1
            out[name] = pl.concat(parts).select([*columns[:at], "segment", *columns[at:]])
        return out

    def channels(self, segment: int | None = None) -> pl.DataFrame:
        """One row per (step >= 1, brand, channel): impressions, spend, news, conversions.

        Word of mouth is the pseudo-channel ``word_of_mouth`` (impressions: conversations
        heard about the brand; spend 0). ``service_contacts`` are the contacts people
        answered on the channel. With ``segment`` s: segment s's own tallies (spend: its
        impressions times the channel's cost).
        """
        steps = self.last_step + 1
        names = [*self.channel_names, "word_of_mouth"]
        nb, nc = len(self.brand_names), len(names)
        chan = self.chan[1:steps] if segment is None else self.seg_chan[1:steps, segment]
        t = steps - 1
        cost = np.zeros(nc)
        cost[: len(self.channel_names)] = self._costs
        spend = chan[:, :, :, P.C_IMPRESSIONS] * cost[None, None, :]
        return pl.DataFrame(
            {
                "step": np.repeat(np.arange(1, steps), nb * nc).astype(np.int32),
                "brand": np.tile(np.repeat(np.array(self.brand_names, dtype=object), nc), t)
                .tolist(),
                "channel": np.tile(np.array(names, dtype=object), nb * t).tolist(),
                "impressions": chan[..., P.C_IMPRESSIONS].reshape(-1).round().astype(np.int64),
                "spend": spend.reshape(-1),
                "news": chan[..., P.C_NEWS].reshape(-1).round().astype(np.int64),
                "conversions": chan[..., P.C_CONVERSIONS].reshape(-1).round().astype(np.int64),
                "service_contacts": chan[..., P.C_CONTACTS].reshape(-1).round().astype(np.int64),
            },
            schema={
                "step": pl.Int32, "brand": pl.Utf8, "channel": pl.Utf8, "impressions": pl.Int64,
                "spend": pl.Float64, "news": pl.Int64, "conversions": pl.Int64,
                "service_contacts": pl.Int64,
            },
        )  # fmt: skip

    def tenure(self, segment: int | None = None) -> pl.DataFrame:
        """Revenue per customer-step by tenure band, per brand, over steps 1..T.

        Columns: brand, tenure (band in years, ``TENURE_BANDS``), customer_steps, revenue,
        revenue_per_customer (per step; null where a band is empty). With ``segment`` s:
        segment s's own.
        """
        steps = self.last_step + 1
        acc = (self.acc if segment is None else self.seg_acc[:, segment])[1:steps].sum(axis=0)
        nb, k = len(self.brand_names), P.N_TENURE_BANDS
        counts = acc[:, P.A_TENURE_BANDS : P.A_TENURE_BANDS + k]
        revenue = acc[:, P.A_TENURE_BANDS + k : P.A_TENURE_BANDS + 2 * k]
        with np.errstate(invalid="ignore", divide="ignore"):
            per = np.where(counts > 0, revenue / counts, np.nan)
        return pl.DataFrame(
            {
                "brand": np.repeat(np.array(self.brand_names, dtype=object), k).tolist(),
                "tenure": list(TENURE_BANDS) * nb,
                "customer_steps": counts.reshape(-1).round().astype(np.int64),
                "revenue": revenue.reshape(-1),
                "revenue_per_customer": per.reshape(-1),
            }
        ).fill_nan(None)

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


def projected_clv_path(
    keep_margin: np.ndarray,
    customers: np.ndarray,
    churned: np.ndarray,
    discount_rate: float,
    horizon: float,
) -> np.ndarray:
    """Projected CLV at each step from the margin and retention observed in steps 1..t.

    m_t = sum_{s=1..t} margin_s / sum_{s=1..t} customers_s (margin per customer-step) and
    rho_t = 1 - sum_{s=1..t} churned_s / sum_{s=0..t-1} customers_s (the share of the
    customers at the start of a step still there at its end), then
    ``rules.projected_clv(m_t, rho_t, delta, H)`` over a horizon of H steps (NaN at step 0
    and while a brand has no customers).
    """
    steps, nb = customers.shape
    out = np.full((steps, nb), np.nan)
    cum_customers = np.cumsum(customers[1:], axis=0)
    cum_at_start = np.cumsum(customers[:-1], axis=0)
    cum_margin = np.cumsum(keep_margin[1:], axis=0)
    cum_churned = np.cumsum(churned[1:], axis=0)
    for t in range(1, steps):
        for b in range(nb):
            c = cum_customers[t - 1, b]
            if c > 0 and cum_at_start[t - 1, b] > 0:
                retention = min(1.0, max(0.0, 1.0 - cum_churned[t - 1, b] / cum_at_start[t - 1, b]))
                margin = cum_margin[t - 1, b] / c
                out[t, b] = rules.projected_clv(margin, retention, discount_rate, horizon)
    return out


def segment_file(frame: pl.DataFrame, by_segment: pl.DataFrame | None) -> pl.DataFrame:
    """A result file with segments: after each row of ``frame``, the same row of each segment.

    ``by_segment`` holds every segment's rows in the order of ``frame``'s, segment after
    segment (``Recorder.segment_frames``); each row of ``frame`` becomes the totals row
    (segment ``all``) followed by that row of each segment. Without segments, ``frame``.
    """
    if by_segment is None or by_segment.is_empty():
        return frame
    n = frame.height
    k = by_segment.height // max(n, 1)
    totals = frame.with_columns(pl.lit(ALL_SEGMENTS).alias("segment")).select(by_segment.columns)
    both = pl.concat([totals, by_segment.cast(totals.schema)], how="vertical")
    order = np.concatenate([np.arange(n), np.tile(np.arange(n), k)]) * (k + 1) + np.repeat(
        np.arange(k + 1), n
    )
    return both.with_columns(pl.Series("_o", order)).sort("_o").drop("_o")


def metrics_file(metrics: pl.DataFrame, by_segment: pl.DataFrame) -> pl.DataFrame:
    """What metrics.parquet holds: the brand rows, and with segments the rows of each.

    With one segment, ``metrics`` as it is. With more, a ``segment`` column after ``brand``:
    per step and brand the brand's totals (segment ``all``, the rows of ``metrics``) then one
    row per segment, whose counts and money sum to the totals.
    """
    if by_segment.is_empty():
        return metrics
    totals = metrics.with_columns(pl.lit(ALL_SEGMENTS).alias("segment")).select(by_segment.columns)
    segments = by_segment["segment"].unique(maintain_order=True).to_list()
    brands = metrics["brand"].unique(maintain_order=True).to_list()
    both = pl.concat([totals, by_segment.cast(totals.schema)], how="vertical")
    return (
        both.with_columns(
            _b=pl.col("brand").replace_strict({b: k for k, b in enumerate(brands)},
                                              return_dtype=pl.Int32),
            _s=pl.col("segment").replace_strict(
                {name: k for k, name in enumerate([ALL_SEGMENTS, *segments])},
                return_dtype=pl.Int32,
            ),
        )
        .sort("step", "_b", "_s", maintain_order=True)
        .drop("_b", "_s")
    )  # fmt: skip
