"""What is recorded each step, declared apart from the rules, and turned into polars frames.

The kernels fill per-chunk accumulators (``sim.engine.params.A_*`` per brand, ``C_*`` per
brand and channel) and a flow matrix of moves between (stage, brand) states; a
:class:`Recorder` keeps one row of each per step in preallocated arrays, adds the money
(realised ad spend, service and programme costs) and builds the result frames at the end.
"""

from __future__ import annotations

import functools

import numpy as np
import polars as pl

from agents import rules
from agents.rules import STAGE_NAMES
from sim.engine import params as P
from sim.engine.region_spec import ALL_REGIONS
from sim.engine.segment_spec import ALL_SEGMENTS, brand_rows
from sim.engine.step_records import StepRecords

__all__ = [
    "ALL_REGIONS", "ALL_SEGMENTS", "Recorder", "brand_rows", "brand_totals", "metrics_file",
    "segment_file",
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


def brand_totals(cells: np.ndarray) -> np.ndarray:
    """Per-cell accumulators ([cell, brand, ...]) summed to brands, in cell order.

    The cells' tallies are the chunks' summed in chunk order (``kernels.add_chunks``), so
    these are the same sums whatever the number of threads (one cell: the chunk sums alone).
    """
    if cells.shape[0] == 1:
        return cells[0].copy()
    return cells.sum(axis=0)


def _shares_of(weights: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Each segment's share of a brand's total (weights [S, B]); ``fallback`` [S] where none."""
    total = weights.sum(axis=0, keepdims=True)
    return np.where(total > 0, weights / np.where(total > 0, total, 1.0), fallback[:, None])


class Recorder:
    """Per-step aggregates in preallocated arrays: brand and channel tallies, money, flows.

    The brand and channel tallies and the flows are kept per (region, segment) cell
    (``cell_*``, one cell without segments or regions; cell k = region x S + segment), as
    whole counts and float64 sums (``StepRecords``); the brands' are their sums over the
    cells (``brand_totals``), taken when read. With more than one cell the money is also kept
    per cell (``cell_money``): what the kernels count per customer is the cell's own;
    brand-wide costs not counted per customer (service staff or spend, programme costs) are
    shared out (``add``). A segment's rows sum its cells over the regions, a region's over the
    segments.
    """

    def __init__(
        self,
        steps: int,
        brand_names: list[str],
        channel_names: list[str],
        segment_names: list[str] | None = None,
        segment_shares: np.ndarray | None = None,
        region_names: list[str] | None = None,
        region_shares: np.ndarray | None = None,
    ):
        nb, nc = len(brand_names), len(channel_names)
        ns = nb + 4
        self.brand_names = brand_names
        self.channel_names = channel_names
        self.segment_names = list(segment_names or [ALL_SEGMENTS])
        self.region_names = list(region_names or [ALL_REGIONS])
        k = len(self.segment_names)
        self.segment_shares = (
            np.full(k, 1.0 / k) if segment_shares is None else np.asarray(segment_shares, float)
        )
        nr = len(self.region_names)
        regional = np.full(nr, 1.0) if region_shares is None else np.asarray(region_shares, float)
        # each cell's share of the population (the segment's, with one region)
        self.cell_shares = (regional / regional.sum())[:, None] * self.segment_shares[None, :]
        self.cell_shares = self.cell_shares.reshape(-1)
        self.n_cells = k * nr
        self.cell_acc = StepRecords(steps + 1, (self.n_cells, nb), P.N_ACC, P.A_SUMS)
        self.cell_chan = StepRecords(steps + 1, (self.n_cells, nb, nc + 1), P.N_CHAN)
        self.cell_flows = StepRecords(steps + 1, (self.n_cells, ns), ns)
        k = self.n_cells if self.n_cells > 1 else 0  # money per cell: segments or regions
        # ad, service, programme, acquisition, and revenue x margin (the cell's region's)
        self.cell_money = np.zeros((steps + 1, k, 5, nb))
        self.cell_price = np.zeros((steps + 1, k, nb))  # the price the cell's region pays
        self.ad_spend = np.zeros((steps + 1, nb))
        self.service_cost = np.zeros((steps + 1, nb))
        self.margin = np.zeros((steps + 1, nb))
        self.price = np.zeros((steps + 1, nb))
        self.programme_cost = np.zeros((steps + 1, nb))
        self.acquisition_cost = np.zeros((steps + 1, nb))
        self.rating = np.zeros((steps + 1, nb))
        self.mean_wait = np.zeros((steps + 1, nb))
        self._costs = np.zeros(nc)
        self.last_step = -1

    @staticmethod
    def _summed(records: StepRecords, steps: slice, cells: list[int] | None = None):
        """Records of the steps summed over the cells (every cell: the brands'), in cell order.

        Every cell's are the same sums as ``brand_totals`` of each step (numpy adds the cells
        one after another); a list of cells gives those cells' own (a segment's, a region's).
        """
        x = records[steps] if cells is None else records[steps, cells]
        return x[:, 0] if x.shape[1] == 1 else x.sum(axis=1)

    @property
    def acc(self) -> np.ndarray:
        """Brand tallies per step, [T + 1, B, ``N_ACC``] (steps not run yet: zeros)."""
        return self._summed(self.cell_acc, slice(None))

    @property
    def chan(self) -> np.ndarray:
        """Brand and channel tallies per step, [T + 1, B, C + 1, ``N_CHAN``]."""
        return self._summed(self.cell_chan, slice(None))

    @property
    def flows(self) -> np.ndarray:
        """Moves between (stage, brand) states per step, [T + 1, S, S] (float64 counts)."""
        return self._summed(self.cell_flows, slice(None))

    def add(
        self, t: int, acc_cells, chan_cells, flow_cells, tables, roles, programme,
        service_overhead=None, per_contact=None, wait_minutes=None, acc_total=None,
        chan_total=None, region_params=None,
    ) -> None:  # fmt: skip
        """Store step t from each (region, segment) cell's tallies ([cell, brand, ...]).

        ``acc_cells``, ``chan_cells`` and ``flow_cells`` are the chunks' tallies summed in
        chunk order (thread independent, ``kernels.add_chunks``); ``acc_total`` and
        ``chan_total``, when given, are their brand totals already taken (``brand_totals``).

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
        segment's share of the population where the brand has none). The same per cell
        (region, segment) with regions, each cell at its region's prices (``region_params``:
        each region's brand table, [R, B, N]).

        With more than one region the brand's ``price`` is the mean of the regions' prices
        weighted by the brand's customers there (the brand-wide price where it has none), and
        its ``margin`` the regions' margins weighted by their revenue, so revenue x margin is
        the sum of the regions' (``_regional_brand``).
        """
        acc = brand_totals(acc_cells) if acc_total is None else acc_total
        chan = brand_totals(chan_cells) if chan_total is None else chan_total
        self.cell_acc[t] = acc_cells
        self.cell_chan[t] = chan_cells
        self.cell_flows[t] = flow_cells
        if self.n_cells > 1:
            self._add_segments(t, acc_cells, chan_cells, tables, roles, programme,
                               service_overhead, per_contact, region_params)  # fmt: skip
        nc = roles.shape[0]
        self._costs = roles[:, P.R_COST]
        impressions = chan[:, :nc, P.C_IMPRESSIONS]
        self.ad_spend[t] = impressions @ roles[:, P.R_COST]
        contacts = chan[:, :nc, P.C_CONTACTS]
        paid = contacts if per_contact is None else np.where(per_contact, contacts, 0.0)
        people = paid @ roles[:, P.R_SERVICE_COST]
        bot = acc[:, P.A_BOT_CONTACTS] * tables.brand_params[:, P.B_BOT_COST]
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
        if len(self.region_names) > 1:
            self._regional_brand(t, acc_cells)
        self.programme_cost[t] = programme
        self.acquisition_cost[t] = (
            acc[:, P.A_ACQUIRED] * tables.brand_params[:, P.B_ACQUISITION_COST]
        )
        if self.n_cells > 1 and region_params is not None:
            own = region_params[:, :, P.B_ACQUISITION_COST]
            if np.any(own != tables.brand_params[None, :, P.B_ACQUISITION_COST]):
                # a region's own cost (a change targeted at it): the sum of the cells' costs
                self.acquisition_cost[t] = self.cell_money[t, :, 3].sum(axis=0)
        self.last_step = t

    def _add_segments(
        self, t, acc_cells, chan_cells, tables, roles, programme, overhead, per_contact,
        region_params=None,
    ) -> None:  # fmt: skip
        """Store step t's per-cell money (see ``add``)."""
        acc, chan = acc_cells, chan_cells
        nc = roles.shape[0]
        # each cell's brand table: its region's ([K, B, N]), the brand-wide one with one region
        if region_params is None:
            region_params = tables.brand_params[None]
        bp = np.repeat(region_params, len(self.segment_names), axis=0)
        contacts = chan[:, :, :nc, P.C_CONTACTS]
        paid = contacts if per_contact is None else np.where(per_contact[None], contacts, 0.0)
        people = paid @ roles[:, P.R_SERVICE_COST]
        bot = acc[:, :, P.A_BOT_CONTACTS] * bp[:, :, P.B_BOT_COST]
        fallback = self.cell_shares / self.cell_shares.sum()
        by_contacts = _shares_of(contacts.sum(axis=2), fallback)
        by_customers = _shares_of(acc[:, :, P.A_CUSTOMERS], fallback)
        nb = acc.shape[1]
        if overhead is None:
            overhead = 0.0
        overhead = np.broadcast_to(np.asarray(overhead, dtype=float), (nb,))[None, :] * by_contacts
        programme = np.broadcast_to(np.asarray(programme, dtype=float), (nb,))
        money = self.cell_money[t]
        money[:, 0] = chan[:, :, :nc, P.C_IMPRESSIONS] @ roles[:, P.R_COST]
        money[:, 1] = people + bot + overhead
        money[:, 2] = programme[None, :] * by_customers
        money[:, 3] = acc[:, :, P.A_ACQUIRED] * bp[:, :, P.B_ACQUISITION_COST]
        money[:, 4] = acc[:, :, P.A_REVENUE] * bp[:, :, P.B_MARGIN]
        self.cell_price[t] = bp[:, :, P.B_PRICE]

    def _regional_brand(self, t: int, acc_cells: np.ndarray) -> None:
        """Step t's brand price and margin over the regions (see ``add``).

        p_b = sum_r n_rb p_rb / sum_r n_rb (customers n), m_b = sum_r R_rb m_rb / sum_r R_rb
        (revenue R); the brand-wide table's where the brand has no customers or revenue.
        """
        customers = acc_cells[:, :, P.A_CUSTOMERS]
        revenue = acc_cells[:, :, P.A_REVENUE]
        n = customers.sum(axis=0)
        paid = (customers * self.cell_price[t]).sum(axis=0)
        self.price[t] = np.where(n > 0, paid / np.where(n > 0, n, 1.0), self.price[t])
        total = revenue.sum(axis=0)
        gross = self.cell_money[t, :, 4].sum(axis=0)
        self.margin[t] = np.where(total > 0, gross / np.where(total > 0, total, 1.0),
                                  self.margin[t])  # fmt: skip

    def _region_acc(self, t: int, region: int | None) -> np.ndarray:
        """Step t's brand tallies, of everyone (None) or of one region's cells."""
        cells = self.cell_acc[t]
        if region is None:
            return brand_totals(cells)
        ns = len(self.segment_names)
        return cells[region * ns : (region + 1) * ns].sum(axis=0)

    def share(self, t: int, region: int | None = None) -> np.ndarray:
        """Market share of each brand at step t (zeros when nobody is a customer)."""
        customers = self._region_acc(t, region)[:, P.A_CUSTOMERS]
        total = customers.sum()
        return customers / total if total > 0 else np.zeros_like(customers)

    def nps(self, t: int, region: int | None = None) -> np.ndarray:
        """NPS of each brand at step t (NaN for a brand without customers)."""
        a = self._region_acc(t, region)
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
        acc = self._summed(self.cell_acc, slice(0, steps))
        customers = acc[:, :, P.A_CUSTOMERS]
        total = customers.sum(axis=1, keepdims=True)
        share = np.divide(customers, total, out=np.zeros_like(customers), where=total > 0)
        money = (self.ad_spend[:steps], self.service_cost[:steps], self.programme_cost[:steps],
                 self.acquisition_cost[:steps])  # fmt: skip
        return self._metric_frame(
            acc, share, money, self.price[:steps], self.margin[:steps], self.rating[:steps],
            self.mean_wait[:steps], list(self.brand_names), None, discount_rate, clv_horizon,
        )  # fmt: skip

    def cells(self, x: np.ndarray, by: str) -> np.ndarray:
        """Per-cell records [T, K, ...] summed to segments ([T, S, ...]) or regions ([T, R, ...]).

        Cell k = region x S + segment: a segment's tally is the sum over the regions of its
        cells, a region's the sum over the segments (one region: the cells are the segments).
        """
        nr, ns = len(self.region_names), len(self.segment_names)
        grid = x.reshape(x.shape[0], nr, ns, *x.shape[2:])
        return grid.sum(axis=1) if by == "segment" else grid.sum(axis=2)

    def cell_indices(self, by: str, k: int) -> list[int]:
        """The cells of segment k (``by="segment"``) or of region k (``by="region"``)."""
        nr, ns = len(self.region_names), len(self.segment_names)
        if by == "segment":
            return [r * ns + k for r in range(nr)]
        return [k * ns + s for s in range(ns)]

    def segment_metrics(self, discount_rate: float, clv_horizon: float) -> pl.DataFrame:
        """One row per (step, brand, segment), the columns of ``metrics`` and ``segment``.

        Counts and money sum over segments to the brand's row of ``metrics`` (the brand-wide
        costs as ``add`` shares them out); ``share`` is the brand's share of the segment's
        customers; ratios (satisfaction, NPS, CLV...) are the segment's own. Empty with one
        segment.
        """
        return self.group_metrics("segment", discount_rate, clv_horizon)

    def region_metrics(self, discount_rate: float, clv_horizon: float) -> pl.DataFrame:
        """One row per (step, brand, region), the columns of ``metrics`` and ``region``.

        As ``segment_metrics``, by region: counts and money sum over regions to the brand's
        row; ``price`` is the region's, ``margin`` the region's; empty with one region.
        """
        return self.group_metrics("region", discount_rate, clv_horizon)

    def group_metrics(self, by: str, discount_rate: float, clv_horizon: float) -> pl.DataFrame:
        """Rows per (step, brand, group) of segments or regions (``segment_metrics``)."""
        names = self.segment_names if by == "segment" else self.region_names
        if self.n_cells == 1 or len(names) == 1:
            return pl.DataFrame()
        steps = self.last_step + 1
        ns, nb = len(names), len(self.brand_names)

        def rows(x: np.ndarray) -> np.ndarray:  # [T, S, B, ...] -> [T, B * S, ...], brand-major
            return np.swapaxes(x, 1, 2).reshape(x.shape[0], nb * ns, *x.shape[3:])

        acc = self.cells(self.cell_acc[:steps], by)
        customers = acc[:, :, :, P.A_CUSTOMERS]
        total = customers.sum(axis=2, keepdims=True)
        share = np.divide(customers, total, out=np.zeros_like(customers), where=total > 0)
        cash = self.cells(self.cell_money[:steps], by)
        money = tuple(rows(cash[:, :, k]) for k in range(4))

        def per_brand(x: np.ndarray) -> np.ndarray:  # [T, B] -> [T, B * S]
            return np.repeat(x, ns, axis=1)

        price, margin = per_brand(self.price[:steps]), per_brand(self.margin[:steps])
        if len(self.region_names) > 1:  # the group's own: revenue-weighted margin and price
            revenue = acc[:, :, :, P.A_REVENUE]
            gross, fallback = cash[:, :, 4], self.margin[:steps][:, None, :]
            with np.errstate(invalid="ignore", divide="ignore"):
                margin = rows(np.where(revenue > 0, gross / revenue, fallback))
            if by == "region":
                first = [self.cell_indices("region", r)[0] for r in range(ns)]
                price = rows(self.cell_price[:steps][:, first])
        return self._metric_frame(
            rows(acc), rows(share), money, price, margin, per_brand(self.rating[:steps]),
            per_brand(self.mean_wait[:steps]), [b for b in self.brand_names for _ in range(ns)],
            names * nb, discount_rate, clv_horizon, by,
        )  # fmt: skip

    @staticmethod
    def _metric_frame(
        acc, share, money, price, margin, rating, mean_wait, brands, segments, discount_rate,
        clv_horizon, by: str = "segment",
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
            labels[by] = np.tile(np.array(segments, dtype=object), steps).tolist()
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

    def segment_frames(
        self, by: str = "segment", cohort: np.ndarray | None = None
    ) -> dict[str, pl.DataFrame]:
        """Channels, tenure and stages of each segment, ``segment`` after ``brand`` ({} for one).

        Each segment's rows are the frame of its own tallies (``channels(s)``, ``tenure(s)``,
        ``stages(s)``) in the order of the brand frame's rows, segment after segment; counts
        and money sum over segments to the brand frame's (``segment_file`` puts them in one
        file). With ``cohort``, the cells' cohort counts ([K, B, L],
        ``JourneyModel.cohort_cell_counts``), also each segment's retention
        (``retention(cohort, s)``). With ``by="region"`` the same for each region (a
        ``region`` column).
        """
        names = self.segment_names if by == "segment" else self.region_names
        if self.n_cells == 1 or len(names) == 1:
            return {}
        out = {}
        frames = [("channels", self.channels), ("tenure", self.tenure), ("stages", self.stages)]
        if cohort is not None:
            frames.append(("retention", functools.partial(self.retention, cohort)))
        for name, frame_of in frames:
            parts = [
                frame_of(self.cell_indices(by, k)).with_columns(pl.lit(seg).alias(by))
                for k, seg in enumerate(names)
            ]
            columns = parts[0].columns[:-1]
            at = columns.index("brand") + 1
            out[name] = pl.concat(parts).select([*columns[:at], by, *columns[at:]])
        return out

    def region_frames(self, cohort: np.ndarray | None = None) -> dict[str, pl.DataFrame]:
        """Channels, tenure, stages (and retention) of each region, ``region`` after ``brand``."""
        return self.segment_frames("region", cohort)

    def channels(self, segment: list[int] | None = None) -> pl.DataFrame:
        """One row per (step >= 1, brand, channel): impressions, spend, news, conversions.

        Word of mouth is the pseudo-channel ``word_of_mouth`` (impressions: conversations
        heard about the brand; spend 0). ``service_contacts`` are the contacts people
        answered on the channel. With ``segment``, a list of cells: their own tallies summed
        (spend: their impressions times the channel's cost).
        """
        steps = self.last_step + 1
        names = [*self.channel_names, "word_of_mouth"]
        nb, nc = len(self.brand_names), len(names)
        chan = self._summed(self.cell_chan, slice(1, steps), segment)
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

    def tenure(self, segment: list[int] | None = None) -> pl.DataFrame:
        """Revenue per customer-step by tenure band, per brand, over steps 1..T.

        Columns: brand, tenure (band in years, ``TENURE_BANDS``), customer_steps, revenue,
        revenue_per_customer (per step; null where a band is empty). With ``segment``, a list
        of cells: their own.
        """
        steps = self.last_step + 1
        acc = self._summed(self.cell_acc, slice(1, steps), segment).sum(axis=0)
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

    def retention(self, cohort: np.ndarray, segment: list[int] | None = None) -> pl.DataFrame:
        """Cohort retention by tenure, pooled over the cohorts acquired during the run.

        Of the customers a brand acquired during the run, the share still with it k steps
        after joining.

        S_b(k) = sum_t active_b(t, tenure k) / sum_{s=1}^{T-k} acquired_b(s): only cohorts
        old enough to be seen at tenure k count in the denominator.

        Args:
            cohort: active_b(k) summed over the run, [B, L] (``JourneyModel.cohort_counts``);
                with ``segment``, per cell, [K, B, L] (``cohort_cell_counts``).
            segment: a list of cells: their own curve, S_{G,b}(k) = sum_{g in G} active_{g,b}(k)
                / sum_{g in G} sum_{s=1}^{T-k} acquired_{g,b}(s), from the cells' own
                acquisitions; cohort sizes and actives sum over a partition of the cells to
                the brand's.
        """
        steps = self.last_step
        # cohorts s = 1..T
        acquired = self._summed(self.cell_acc, slice(1, steps + 1), segment)[:, :, P.A_ACQUIRED]
        if segment is not None:
            cohort = cohort[segment].sum(axis=0)
        nb, horizon = cohort.shape
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

    def stages(self, segment: list[int] | None = None) -> pl.DataFrame:
        """Customers per (step, stage, brand); brand is set for the customer stage only.

        With ``segment``, a list of cells: the customers of those cells.
        """
        steps = self.last_step + 1
        labels = state_labels(self.brand_names)
        flows = self._summed(self.cell_flows, slice(0, steps), segment)
        counts = flows.sum(axis=1)  # customers arriving in each state
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
        flows = self._summed(self.cell_flows, slice(1, steps))
        t, a, b = np.nonzero(flows)
        return pl.DataFrame(
            {
                "step": (t + 1).astype(np.int32),
                "from_stage": [labels[k][0] for k in a],
                "from_brand": [labels[k][1] for k in a],
                "to_stage": [labels[k][0] for k in b],
                "to_brand": [labels[k][1] for k in b],
                "customers": flows[t, a, b].astype(np.int64),
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


def _groups(by_segment: pl.DataFrame | None, by_region: pl.DataFrame | None):
    """The non-empty per-segment and per-region frames, each with the other's column ``all``."""
    parts = [(col, f) for col, f in (("segment", by_segment), ("region", by_region))
             if f is not None and not f.is_empty()]  # fmt: skip
    columns = [col for col, _ in parts]
    out = []
    for col, frame in parts:
        for other in columns:
            if other != col:
                frame = frame.with_columns(pl.lit(ALL_SEGMENTS).alias(other))
        out.append(frame)
    return columns, out


def _with_labels(frame: pl.DataFrame, columns: list[str], like: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (a brand frame) with each of ``columns`` set to ``all``, in ``like``'s order."""
    order = [c for c in like.columns]
    return frame.with_columns([pl.lit(ALL_SEGMENTS).alias(c) for c in columns]).select(order)


def _ordered(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``frame`` with ``segment`` then ``region`` right after ``brand``."""
    rest = [c for c in frame.columns if c not in columns]
    at = rest.index("brand") + 1
    return frame.select([*rest[:at], *columns, *rest[at:]])


def segment_file(
    frame: pl.DataFrame, by_segment: pl.DataFrame | None, by_region: pl.DataFrame | None = None
) -> pl.DataFrame:
    """A result file with segments or regions: after each row of ``frame``, that row of each.

    ``by_segment`` holds every segment's rows in the order of ``frame``'s, segment after
    segment (``Recorder.segment_frames``), ``by_region`` every region's (``region_frames``);
    each row of ``frame`` becomes the totals row (segment and region ``all``) followed by
    that row of each segment (region ``all``), then of each region (segment ``all``).
    Without segments and regions, ``frame``.
    """
    columns, parts = _groups(by_segment, by_region)
    if not parts:
        return frame
    parts = [_ordered(p, columns) for p in parts]
    by = pl.concat([p.cast(parts[0].schema) for p in parts], how="vertical")
    n = frame.height
    k = by.height // max(n, 1)
    totals = _with_labels(frame, columns, by)
    both = pl.concat([totals, by.cast(totals.schema)], how="vertical")
    order = np.concatenate([np.arange(n), np.tile(np.arange(n), k)]) * (k + 1) + np.repeat(
        np.arange(k + 1), n
    )
    return both.with_columns(pl.Series("_o", order)).sort("_o").drop("_o")


def metrics_file(
    metrics: pl.DataFrame, by_segment: pl.DataFrame, by_region: pl.DataFrame | None = None
) -> pl.DataFrame:
    """What metrics.parquet holds: the brand rows, and with segments or regions the rows of each.

    With one segment and one region, ``metrics`` as it is. Otherwise a ``segment`` column
    (with segments) and a ``region`` column (with regions) after ``brand``: per step and
    brand the brand's totals (``all``, the rows of ``metrics``), then one row per segment
    (region ``all``), then one per region (segment ``all``); each group's counts and money sum
    to the totals.
    """
    columns, parts = _groups(by_segment, by_region)
    if not parts:
        return metrics
    parts = [_ordered(p, columns) for p in parts]
    totals = _with_labels(metrics, columns, parts[0])
    labels = [[ALL_SEGMENTS] * len(columns)]
    for col, part in zip(columns, parts, strict=True):
        for name in part[col].unique(maintain_order=True).to_list():
            labels.append([name if c == col else ALL_SEGMENTS for c in columns])
    rank = {tuple(row): k for k, row in enumerate(labels)}
    brands = metrics["brand"].unique(maintain_order=True).to_list()
    both = pl.concat([totals, *(p.cast(totals.schema) for p in parts)], how="vertical")
    key = pl.concat_list([pl.col(c) for c in columns]).list.join("\x1f")
    return (
        both.with_columns(
            _b=pl.col("brand").replace_strict({b: k for k, b in enumerate(brands)},
                                              return_dtype=pl.Int32),
            _s=key.replace_strict({"\x1f".join(r): k for r, k in rank.items()},
                                  return_dtype=pl.Int32),
        )
        .sort("step", "_b", "_s", maintain_order=True)
        .drop("_b", "_s")
    )  # fmt: skip
