"""JourneyModel: one model that drives either engine through the same step.

The step reads like the model description: apply the scenario's events to the
baseline tables, move every customer one step (numba kernels over columns, or one
mesa.Agent per customer), record the aggregates. A run starts from the market's steady
state: ``sim.burn_in`` steps of the baseline market (no events, no responses) are
simulated first and not recorded.
"""

from __future__ import annotations

import dataclasses
import functools

import numba
import numpy as np
from omegaconf import DictConfig

from agents import rules
from scenarios.events import Tables, apply_events, one_off_costs
from scenarios.responses import Responses
from sim.engine import kernels
from sim.engine import params as P
from sim.engine.allocator import map_large_arrays
from sim.engine.cells import cell_chunks
from sim.engine.metrics import Recorder, brand_totals
from sim.engine.network import network_from_config
from sim.engine.regions import regional_price
from sim.engine.rng import STREAM_BURN_IN, STREAM_INIT, STREAM_STEP, stream_key
from sim.engine.segments import exposure_by_segment
from sim.engine.service import Ratings, ServiceDesk
from sim.engine.startup import freeze_imports, start_numba
from sim.engine.state import (
    allocate_customers,
    build_customers,
    build_market,
    place_customers,
)
from sim.engine.trace import Tracer

# Numba's target starts now, without SciPy, and what the engine imported leaves the
# collector's walks (``sim.engine.startup``).
start_numba()
freeze_imports("engine")

MAX_COHORT_TENURE = 730  # cohort retention curves are followed for up to this many steps


@dataclasses.dataclass
class _Target:
    """A change made today for one region and/or segment (``JourneyModel._change_today``).

    ``region`` and ``segment`` are indices (None: every region, every segment); ``market``
    the changed market's tables, ``service`` its service desk; ``ref_price`` and
    ``ref_region`` the reference prices of the targeted tables where they are kept beside
    the status quo's (a segment's).
    """

    region: int | None
    segment: int | None
    market: object
    service: ServiceDesk
    ref_price: np.ndarray
    ref_region: np.ndarray


class _VoiceNext:
    """The model's one array the burn-in leaves for step 0: what everyone says next."""

    def __init__(self, model: JourneyModel):
        self._voice_next = model._voice_next


@functools.cache
def mesa_model_class() -> type:
    """JourneyModel as a ``mesa.Model``, for the readable engine's agents.

    Mesa (and the pandas and SciPy it imports) is loaded only when ``engine=mesa`` asks
    for it: a numba run starts about 2.7 s sooner.
    """
    import mesa

    class MesaJourneyModel(JourneyModel, mesa.Model):
        """The same model, also a ``mesa.Model``: one ``mesa.Agent`` per customer."""

        def _start_framework(self) -> None:
            mesa.Model.__init__(self, rng=self.seed)

    return MesaJourneyModel


class JourneyModel:
    """A market of customers, brands and channels, simulated step by step.

    Args:
        cfg: the composed, validated config (see ``sim.load_config``).
    """

    def __new__(cls, cfg: DictConfig):
        """A ``mesa.Model`` subclass when ``engine=mesa`` (``mesa_model_class``)."""
        if cls is JourneyModel and str(cfg.engine.name) == "mesa":
            cls = mesa_model_class()
        return super().__new__(cls)

    def __init__(self, cfg: DictConfig):
        map_large_arrays()  # freed columns and tallies go back to the system (glibc)
        self._target: _Target | None = None  # a change targeted at a region or segment
        self.seed = int(cfg.seed)
        self._start_framework()
        self.cfg = cfg
        self.engine = str(cfg.engine.name)
        self.n_steps = int(cfg.sim.steps)
        self.burn_in = int(cfg.sim.get("burn_in", 0) or 0)
        self.market = build_market(cfg)
        self._g_values = self.market.global_values
        # a cached status quo overwrites the initial customers: allocate them, do not draw them
        saved = self._saved_status_quo()
        # segments and regions drawn at places along the network, stored by cell (cells.py);
        # the network first, while no customer column holds memory, then the places' storage
        # indices are dropped (the traced customers keep theirs)
        n = int(cfg.market.customers)
        segment, region, storage = place_customers(cfg, self.market, self.seed)
        self.network = network_from_config(cfg.network, n, self.seed, storage)
        self.tracer = Tracer(int(cfg.sim.get("trace", 0) or 0), n, self.seed, self.market, storage)
        del storage
        self.customers = (
            build_customers(cfg, self.market, self.seed, (segment, region))
            if saved is None
            else allocate_customers(n, self.market.n_brands)
        )
        # the kernels' work units: chunks of one cell each (the customers are stored by cell)
        self._bounds, self._chunk_cell = cell_chunks(
            segment, region, self.market.n_segments, self.market.n_cells
        )
        del segment, region
        self.events = list(cfg.scenario.get("events") or [])
        # reference prices (what customers are used to paying): the baseline until step 1
        self._ref_price = self.market.brand_params[:, P.B_PRICE].copy()
        self._ref_region = regional_price(self._ref_price, self.market.regions.price_factor)
        self._price_memory = float(cfg.market.churn.get("price_memory", 0.0) or 0.0)
        self._start_responses(cfg, self.market)
        self.recorder = Recorder(
            self.n_steps, self.market.brand_names, self.market.channel_names,
            self.market.segments.names, self.market.segments.shares,
            self.market.regions.names, self.market.regions.shares,
        )  # fmt: skip
        self.service = ServiceDesk(
            cfg, self.market.brand_names, self.market.channel_names, self.market.service_quality
        )
        self.ratings = Ratings(cfg, self.market.brand_params[:, P.B_EQUITY])
        self._histogram = np.zeros(1 + 3 * self.market.n_brands)
        self.t = 0
        nb, nc = self.market.n_brands, self.market.n_channels
        ns = self.market.n_cells
        # per chunk (``kernels.step_all``), each of one (region, segment) cell, cell
        # k = region x segments + segment: summed in chunk order into its cell's tallies
        chunks = self._chunk_cell.size  # params.most_chunks at most (the memory estimate)
        self._acc = np.zeros((chunks, nb, P.N_ACC))
        self._chan = np.zeros((chunks, nb, nc + 1, P.N_CHAN))
        self._flow = np.zeros((chunks, nb + 4, nb + 4), dtype=np.int64)
        # the step's per-cell tallies (summed over cells into the brands' totals)
        self._acc_cells = np.zeros((ns, *self._acc.shape[1:]))
        self._chan_cells = np.zeros((ns, *self._chan.shape[1:]))
        self._flow_cells = np.zeros((ns, *self._flow.shape[1:]), dtype=np.int64)
        self._voice_next = np.zeros_like(self.customers.voice)
        self._heard_counts = self._running_counts()
        # Cohort retention numerators per (region, segment) cell, accumulated over the whole
        # run, per Numba thread: integer counts, so their sums do not depend on which thread
        # ran which chunk, and their memory grows with threads, not with customers
        self.max_tenure = min(self.n_steps, MAX_COHORT_TENURE) + 1
        self._cohort_cells = np.zeros(
            (numba.config.NUMBA_NUM_THREADS, ns, nb, self.max_tenure), np.int64
        )
        if self.engine == "mesa":
            from agents.customer import CustomerAgent

            CustomerAgent.create_population(self)
        if saved is None:
            self._record_initial(count=False)
        self.status_quo = self._reach_status_quo(saved)
        self._change_today()
        self._record_initial(count=True)

    def _start_framework(self) -> None:
        """Nothing for the numba engine (the Mesa engine's model starts ``mesa.Model``)."""

    # -- the step ---------------------------------------------------------------
    def tables_at(self, t: int) -> Tables:
        """Step t's tables: the baseline, the scenario's events, the rivals' responses.

        Brands not launched yet are inactive and advertise nowhere. If events push the
        total ad reach past what the competing touchpoint rates leave (1 - talk - usage -
        contacts - forgetting - the category's entry or exit), all reach is scaled down to
        fit, so probabilities stay probabilities. Called once per step: response policies
        remember what they did (e.g. investment). Burn-in steps (t < 0) use the baseline.

        With more than one region, ``tables.region_tables[r]`` are region r's
        (``_region_tables``): the customers of r read them; the brand-wide tables hold the
        events and responses that name no region and are what the brand's records use.

        With a change targeted at a region or segment (``_change_today``) the targeted
        customers' tables are built the same way from the changed market's tables (the same
        events; the responses' decisions of this step replayed, ``Responses.replay``):
        region r's tables for a region, ``tables.segment_target`` for a segment.
        """
        m = self.market
        tables = self._fresh_tables(m, self.service)
        if t > 0:
            apply_events(tables, self.events, t, m.brand_names, m.channel_names, m.segments.names,
                         self._everywhere)  # fmt: skip
            if self.responses.active:
                rec = self.recorder
                self.responses.adjust(t, tables, rec.share(t - 1), rec.nps(t - 1))
        aim = self._target
        changed = None if aim is None else self._changed_tables(t, aim)
        whole = None if aim is None or aim.segment is not None else aim.region  # all of r's
        regional = [
            self._region_tables(t, changed if whole == r else tables, r) for r in range(m.n_regions)
        ]
        self._settle(t, tables, m.launch_step, self._ref_price)
        self.service.queue(tables)
        if t >= 0:
            self.responses.observe_prices(t, tables)
        if m.n_regions > 1:
            for r, own in enumerate(regional):
                self._settle(t, own, m.regions.launch[r], self._ref_region[r],
                             aim.market if whole == r else m)  # fmt: skip
                own.wait_prob, own.wait_friction, own.abandon = (
                    tables.wait_prob,
                    tables.wait_friction,
                    tables.abandon,
                )
                if t >= 0 and self.region_responses[r].active:
                    self.region_responses[r].observe_prices(t, own)
            tables.region_tables = regional
        if aim is not None and aim.segment is not None:
            tables.segment_target = (aim.segment, self._segment_tables(t, aim, changed, tables))
        return tables

    def _fresh_tables(self, m, desk: ServiceDesk) -> Tables:
        """A copy of market m's tables with the service desk's quality and the ratings."""
        tables = (
            Tables(m.brand_params, m.ad_reach, m.service_quality, m.resolution, m.friction)
            .copy()
            .with_segments(m.n_segments)
        )
        desk.apply_quality(tables)
        tables.brand_params[:, P.B_RATING] = self.ratings.rating
        return tables

    def _changed_tables(self, t: int, aim: _Target) -> Tables:
        """Step t's brand-wide tables of the changed market (targeted customers' source).

        The changed market's tables, its own service desk's quality, the ratings, the events
        that name no region and this step's responses replayed (``Responses.replay``): the
        brand-wide tables an untargeted change would give everyone.
        """
        m = self.market
        changed = self._fresh_tables(aim.market, aim.service)
        if t > 0:
            apply_events(changed, self.events, t, m.brand_names, m.channel_names,
                         m.segments.names, self._everywhere)  # fmt: skip
            if self.responses.active:
                self.responses.replay(changed)
        return changed

    def _segment_tables(self, t: int, aim: _Target, changed: Tables, tables: Tables) -> list:
        """Per region, the settled tables the targeted segment reads there (None: not it).

        With one region, the changed market's brand-wide tables; with more, each targeted
        region's tables derived from them as ``_region_tables`` derives the region's own
        (region events, the region's responses replayed), settled with references of their
        own (``_Target.ref_price``, ``_Target.ref_region``) so the status quo's do not move
        twice.
        """
        m = self.market
        if m.n_regions == 1:
            self._settle(t, changed, m.launch_step, aim.ref_price, aim.market)
            self._queue_of(changed, tables)
            return [changed]
        out = []
        for r in range(m.n_regions):
            if aim.region is not None and aim.region != r:
                out.append(None)
                continue
            own = self._region_tables(t, changed, r, replay=True)
            self._settle(t, own, m.regions.launch[r], aim.ref_region[r], aim.market)
            self._queue_of(own, tables)
            out.append(own)
        return out

    @staticmethod
    def _queue_of(own: Tables, tables: Tables) -> None:
        """The step's queue tables (one service desk per brand, market-wide) on ``own``."""
        own.wait_prob, own.wait_friction, own.abandon = (
            tables.wait_prob, tables.wait_friction, tables.abandon,
        )  # fmt: skip

    def _region_tables(self, t: int, tables: Tables, r: int, replay: bool = False) -> Tables | None:
        """Region r's tables at step t, from the brand-wide ones (None with one region).

        p_rb = p_b k_rb (``regions.regional_price``) and reach_rbc = reach_bc a_rbc, the
        region's price and ad factors on the brand-wide tables (after the events and responses
        that name no region); then the events and response policies that name region r
        (with ``replay``, what the policies did this step is done again: no new decision).
        """
        m = self.market
        if m.n_regions == 1:
            return None
        reg = m.regions
        own = tables.copy()
        own.brand_params[:, P.B_PRICE] = regional_price(
            tables.brand_params[:, P.B_PRICE], reg.price_factor[r]
        )
        own.ad_reach *= reg.ad_factor[r]
        if t > 0:
            apply_events(own, self.events, t, m.brand_names, m.channel_names, m.segments.names,
                         (reg.names[r],))  # fmt: skip
            policies = self.region_responses[r]
            if policies.active and replay:
                policies.replay(own)
            elif policies.active:
                rec = self.recorder
                policies.adjust(t, own, rec.share(t - 1, region=r), rec.nps(t - 1, region=r))
        return own

    def _settle(
        self, t: int, tables: Tables, launch: np.ndarray, reference: np.ndarray, m=None
    ) -> None:
        """Launches, the room for ads and news, clipped tables, margins and reference prices.

        Brands with ``launch`` after t are inactive and reach nobody; reach is scaled into
        the room the other touchpoints leave; the unit cost stays when the price moves:
        margin = ``rules.margin_at_price``(m_b, p_b, price) from market m's own m_b and p_b
        (the status quo's, or a targeted change's, ``_change_today``).
        """
        m = self.market if m is None else m
        launched = launch <= max(t, 0)
        tables.brand_params[:, P.B_ACTIVE] = launched
        tables.ad_reach[~launched] = 0.0
        tables.news_reach[~launched] = 0.0
        room = self._room()
        total = tables.exposure().sum()
        if total > room:
            tables.ad_reach *= max(room, 0.0) / total
            tables.news_reach *= max(room, 0.0) / total
        np.clip(tables.service_quality, 0.0, 1.0, out=tables.service_quality)
        np.clip(tables.resolution, 0.0, 1.0, out=tables.resolution)
        np.clip(tables.friction, 0.0, 1.0, out=tables.friction)
        np.maximum(tables.brand_params[:, P.B_PRICE], 1e-9, out=tables.brand_params[:, P.B_PRICE])
        # the unit cost stays when events or responses move the price (profit = revenue x margin)
        tables.brand_params[:, P.B_MARGIN] = rules.margin_at_price(
            m.brand_params[:, P.B_MARGIN], m.brand_params[:, P.B_PRICE],
            tables.brand_params[:, P.B_PRICE],
        )  # fmt: skip
        self._reference_prices(t, tables.brand_params, reference)

    @property
    def _everywhere(self) -> tuple:
        """The ``region`` values of events and policies the brand-wide tables take."""
        if self.market.n_regions == 1:
            return (None, self.market.regions.names[0])
        return (None,)

    def _start_responses(self, cfg: DictConfig, m) -> None:
        """The rivals' response policies: brand-wide, and each region's own."""
        self.responses = Responses(
            cfg, m.brand_names, m.n_channels, self.n_steps, m.brand_params[:, P.B_PRICE],
            m.service_quality, self._everywhere,
        )  # fmt: skip
        self.region_responses = [
            Responses(cfg, m.brand_names, m.n_channels, self.n_steps,
                      regional_price(m.brand_params[:, P.B_PRICE], m.regions.price_factor)[r],
                      m.service_quality, (name,))
            for r, name in enumerate(m.regions.names)
        ] if m.n_regions > 1 else []  # fmt: skip

    @staticmethod
    def _region_views(tables: Tables, params: np.ndarray) -> list[Tables]:
        """For the mesa agents: the step's tables with each region's brand table."""
        if params.shape[0] == 1:
            return [tables]
        return [dataclasses.replace(tables, brand_params=params[r], region_tables=None)
                for r in range(params.shape[0])]  # fmt: skip

    @staticmethod
    def region_params(tables: Tables) -> np.ndarray:
        """Each region's brand table ([R, B, N]; the brand-wide one with one region)."""
        if not tables.region_tables:
            return tables.brand_params[None]
        return np.stack([own.brand_params for own in tables.region_tables])

    def kernel_tables(self, tables: Tables) -> tuple[np.ndarray, ...]:
        """What the kernels read per customer (both engines).

        Returns:
            brand_params [R, B, N] (each region's), ad_cum [K, 2 B C] (each cell's cumulated
            exposure rates, ``exposure_table``) and the cells' service quality, resolution and
            friction ([K, B, C] each), K = R S cells, cell k = region x S + segment.
        """
        regional = tables.region_tables
        if tables.segment_target is not None:
            return self._targeted_kernel_tables(tables)
        if not regional:
            return (tables.brand_params[None], self.exposure_table(tables),
                    *tables.segment_tables())  # fmt: skip
        bp = self.region_params(tables)
        ad_cum = np.concatenate([self.exposure_table(own) for own in regional])
        cells = [own.segment_tables() for own in regional]
        return bp, ad_cum, *(np.concatenate([c[k] for c in cells]) for k in range(3))

    def _targeted_kernel_tables(self, tables: Tables) -> tuple[np.ndarray, ...]:
        """``kernel_tables`` with a change targeted at segment s (``Tables.segment_target``).

        In every targeted region r, cell (r, s) reads segment s's rows of the targeted
        tables: its exposure rates ad_cum[s] and its service quality, resolution and friction
        ([s] of ``Tables.segment_tables``); every other cell reads the region's own.
        """
        s, targeted = tables.segment_target
        per_region = tables.region_tables or [tables]
        bp = self.region_params(tables)
        ads, cells = [], []
        for own, aimed in zip(per_region, targeted, strict=True):
            ad = self.exposure_table(own)
            cell = [np.array(x) for x in own.segment_tables()]
            if aimed is not None:
                ad[s] = self.exposure_table(aimed)[s]
                for k, x in enumerate(aimed.segment_tables()):
                    cell[k][s] = x[s]
            ads.append(ad)
            cells.append(cell)
        return bp, np.concatenate(ads), *(np.concatenate([c[k] for c in cells]) for k in range(3))

    def _room(self) -> float:
        """The per-step probability the competing touchpoints leave to ads and news."""
        m = self.market
        g = m.globals
        return 1.0 - P.other_rates(
            g.talk_rate, g.usage_rate, g.contact_rate, g.complaint_contact, g.forget_rate,
            g.entry_rate, g.exit_rate, g.turnover, g.review_read, m.n_brands,
        )  # fmt: skip

    def exposure_table(self, tables: Tables) -> np.ndarray:
        """ad_cum[s]: segment s's cumulated exposure rates, paid ads then news (both engines)."""
        return exposure_by_segment(
            tables.ad_reach, tables.news_reach, self.market.segments, self._room()
        )

    def _reference_prices(self, t: int, bp: np.ndarray, reference: np.ndarray) -> None:
        """Set each brand's reference price and price gap for step t, then update the reference.

        Step t's customers compare its price with the reference formed by the prices of steps
        before t (``rules.reference_price``); burn-in and step 0 use the baseline, so the gap
        is 0 there. Without price memory the gap is always 0 (no price reaction).
        ``reference`` (updated in place) is the brand-wide reference or a region's.
        """
        price = bp[:, P.B_PRICE]
        if t <= 0 or self._price_memory <= 0.0:
            ref = price.copy() if self._price_memory <= 0.0 else reference.copy()
        else:
            ref = reference.copy()
            for b in range(price.size):
                reference[b] = rules.reference_price(ref[b], price[b], self._price_memory)
        bp[:, P.B_REF_PRICE] = ref
        bp[:, P.B_PRICE_GAP] = np.log(price / ref)

    def step(self) -> None:
        """Advance one recorded step: events, every customer's journey step, record."""
        self.t += 1
        tables = self.tables_at(self.t)
        self.tracer.before(self.customers)
        totals = self._move(np.uint64(stream_key(self.seed, self.t, STREAM_STEP)), tables)
        self.tracer.after(self.t, self.customers)
        self._record(self.t, tables, totals)

    def run(self, steps: int | None = None, progress=None) -> None:
        """Run ``steps`` steps (default: ``sim.steps``); ``progress(t)`` is called after each."""
        for _ in range(self.n_steps if steps is None else steps):
            self.step()
            if progress is not None:
                progress(self.t)

    def _status_quo_state(self) -> dict[str, object]:
        """What the burn-in changes: the customers, ratings, service desk, voices to come."""
        return {"customers": self.customers, "ratings": self.ratings, "service": self.service,
                "model": _VoiceNext(self)}  # fmt: skip

    def _saved_status_quo(self) -> dict[str, np.ndarray] | None:
        """The cached status quo of this market, if the run uses the cache and it is there."""
        from sim.engine import snapshot

        if self.burn_in <= 0 or self.engine != "numba" or not snapshot.enabled():
            return None
        return snapshot.SnapshotStore().load(snapshot.burn_in_key(self.cfg))

    def _draw_initial(self) -> None:
        """Draw the initial customers (when a snapshot did not fit) and what they say."""
        self.customers = build_customers(self.cfg, self.market, self.seed)
        self._record_initial(count=False)

    def _reach_status_quo(self, saved: dict[str, np.ndarray] | None = None) -> str:
        """The state at the end of the burn-in: simulated, or loaded from the cache.

        Args:
            saved: the cached status quo, read before the customers were allocated (they
                were not drawn then), or None (they were).

        Returns:
            How it was reached: "none" (no burn-in), "simulated", "cached" (simulated and
            saved) or "from cache".
        """
        from sim.engine import snapshot

        if self.burn_in <= 0:
            return "none"
        if self.engine != "numba" or not snapshot.enabled():
            self._burn_in()
            return "simulated"
        store = snapshot.SnapshotStore()
        key = snapshot.burn_in_key(self.cfg)
        if saved is not None:
            if self._restored(store, key, saved):
                return "from cache"
            self._draw_initial()  # the allocated customers were never drawn
        with store.lock(key):
            saved = store.load(key)
            if saved is not None and self._restored(store, key, saved):
                return "from cache"
            self._burn_in()
            store.save(key, snapshot.capture(self._status_quo_state()))
        return "cached"

    def _restored(self, store, key: str, saved: dict[str, np.ndarray]) -> bool:
        """Put a cached status quo in place; a stale one (another layout) is removed."""
        from sim.engine import snapshot

        try:
            snapshot.restore(self._status_quo_state(), saved)
        except ValueError:
            store.remove(key)  # stale: another engine layout; nothing was written
            return False
        return True

    def _change_today(self) -> None:
        """Apply the scenario's ``changes`` at step 0, on top of the status quo.

        The market's tables are built again from the changed config
        (``sim.config.changes``); what customers are used to (reference prices,
        expectations, ratings) and the service queue carry over, so the change is one
        made today, not a different history. Rivals' responses start from today's prices.

        With ``scenario.target`` the status quo's market stays everyone's and the changed
        one is kept for the targeted customers only (``_Target``, ``tables_at``): a region's
        own policies start from its prices today; the brand-wide policies decide from the
        whole market, as before. A target that is everyone (the one region, the one segment)
        is an untargeted change.
        """
        from sim.config.changes import apply_changes, changes_of, target_of

        if not changes_of(self.cfg):
            return
        today = apply_changes(self.cfg)
        aim = target_of(self.cfg)
        m = self.market
        region = m.regions.names.index(aim["region"]) if aim["region"] is not None else None
        segment = m.segments.names.index(aim["segment"]) if aim["segment"] is not None else None
        region = region if m.n_regions > 1 else None
        segment = segment if m.n_segments > 1 else None
        if region is not None or segment is not None:
            self._target_today(today, region, segment)
            return
        m = self.market = build_market(today)
        self._g_values = m.global_values
        self._price_memory = float(today.market.churn.get("price_memory", 0.0) or 0.0)
        self._start_responses(today, m)
        queue = self.service.load, self.service.wait_minutes
        self.service = ServiceDesk(today, m.brand_names, m.channel_names, m.service_quality)
        self.service.load, self.service.wait_minutes = queue

    def _target_today(self, today: DictConfig, region: int | None, segment: int | None) -> None:
        """Keep the changed market ``today`` for the targeted region r and/or segment s.

        Its service desk is its own (the service quality it reaches), fed the same contacts;
        references start from the status quo's. A targeted region's own response policies
        start again from the region's prices today, p_rb k_rb of the changed market.
        """
        m = self.market
        changed = build_market(today)
        desk = ServiceDesk(today, m.brand_names, m.channel_names, changed.service_quality)
        desk.load, desk.wait_minutes = self.service.load.copy(), self.service.wait_minutes.copy()
        self._target = _Target(region, segment, changed, desk, self._ref_price.copy(),
                               self._ref_region.copy())  # fmt: skip
        if region is not None and segment is None:
            self.region_responses[region] = Responses(
                today, m.brand_names, m.n_channels, self.n_steps,
                regional_price(changed.brand_params[:, P.B_PRICE], m.regions.price_factor)[region],
                changed.service_quality, (m.regions.names[region],),
            )  # fmt: skip

    def _burn_in(self) -> None:
        """Simulate ``sim.burn_in`` unrecorded steps of the baseline market (keys of their own)."""
        if self.burn_in <= 0:
            return
        tables = self.tables_at(-1)
        for k in range(1, self.burn_in + 1):
            # the service rule's state (invested quality, queues) moves in the burn-in too
            self.service.apply_quality(tables)
            self.service.queue(tables)
            self._move(np.uint64(stream_key(self.seed, k, STREAM_BURN_IN)), tables, t=0)
        self._cohort_cells[:] = 0

    def _move(self, key, tables: Tables, t: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Move every customer one step with either engine; ``t`` is the cohort clock.

        Returns:
            The step's brand and channel tallies summed over the chunks (in chunk order),
            which the step's record reuses.
        """
        t = self.t if t is None else t
        self._count_voices()
        if self.engine == "mesa":
            self._acc_cells[:] = 0.0  # the mesa engine tallies by cell directly
            self._chan_cells[:] = 0.0
            self._flow_cells[:] = 0
            kernel = self.kernel_tables(tables)
            self.region_tables_now = self._region_views(tables, kernel[0])
            self.exposure_now = kernel[1]
            self.segment_tables_now = kernel[2:]
            self.agents.do("step_journey", key, tables, t)
        else:
            self._step_numba(key, tables, t)
        c = self.customers
        c.voice, self._voice_next = self._voice_next, c.voice
        if self._heard_counts.shape[0] > 0:
            net = self.network
            kernels.update_heard(
                self._voice_next, c.voice, net.indptr, net.indices, net.strong,
                self._heard_counts, numba.get_num_threads(),
            )  # fmt: skip
        acc = brand_totals(self._acc_cells)
        chan = brand_totals(self._chan_cells)
        self.ratings.update(acc[:, P.A_REVIEWS], acc[:, P.A_REVIEW_SUM])
        nc = self.market.n_channels
        self.service.after_step(chan[:, :nc, P.C_CONTACTS])
        if self._target is not None:
            self._target.service.after_step(chan[:, :nc, P.C_CONTACTS])
        return acc, chan

    def _running_counts(self) -> np.ndarray:
        """Each customer's speaking neighbours per voice code and tie strength, or empty.

        Kept (``kernels.count_heard``, ``kernels.update_heard``) where the cascade or the
        threshold rule reads every neighbour each step, messages never fade (so only a
        change of code moves a count) and the numba engine runs on a stored network. uint16
        counts: a network with a customer of more than 65,535 ties gathers instead.
        """
        g, net = self.market.globals, self.network
        nb = self.market.n_brands
        keep = (
            self.engine == "numba"
            and not net.complete
            and g.wom_rule != rules.WOM_PAIRWISE
            and g.message_half_life <= 0.0
            and (net.n == 0 or int(np.diff(net.indptr).max(initial=0)) <= 65535)
        )
        return np.zeros((net.n if keep else 0, 3 * nb, 2), dtype=np.uint16)

    def _count_voices(self) -> None:
        """Freshness-weighted count of each voice code (cascade and threshold rules).

        It is the complete network's neighbourhood; not needed otherwise.
        """
        g = self.market.globals
        if not self.network.complete or g.wom_rule == rules.WOM_PAIRWISE:
            return
        voice = self.customers.voice.astype(np.int64)
        codes = voice & P.CODE_MASK
        weights = None
        if g.message_half_life > 0:
            weights = np.exp2(-(voice >> P.AGE_SHIFT) / g.message_half_life)
        counts = np.bincount(codes, weights=weights, minlength=self._histogram.size)
        self._histogram[:] = counts[: self._histogram.size]
        self._histogram[0] = 0.0

    # -- engine plumbing ----------------------------------------------------------
    def _step_numba(self, key, tables: Tables, t: int) -> None:
        c, net, m, tr = self.customers, self.network, self.market, self.tracer
        # each region's brand tables; each cell's paid ads then news, as one cumulative table
        # (split in two halves), and its service quality, resolution and friction
        brand_params, ad_cum, quality, resolution, friction = self.kernel_tables(tables)
        kernels.step_all(
            key, c.stage, c.brand, c.last_brand, c.aware, c.consider, c.attitude,
            c.satisfaction, c.expectation, c.tenure, c.price_sensitivity, c.wom_activity,
            c.churn_propensity, c.channel, c.flags, c.grudge, c.last_touch, c.wom_threshold,
            c.disposition,
            c.voice, self._voice_next, net.indptr, net.indices, net.strong, self._heard_counts,
            net.complete,
            brand_params, ad_cum, m.n_channels, quality, resolution, friction,
            m.channel_roles, self._g_values,
            tables.wait_prob, tables.wait_friction, tables.abandon, self._histogram,
            self._acc, self._chan, self._flow, self._acc_cells, self._chan_cells,
            self._flow_cells, t, self._cohort_cells, tr.bits,
            tr.ids, tr.touch, self._bounds, self._chunk_cell,
        )  # fmt: skip

    def cohort_counts(self) -> np.ndarray:
        """cohort[b, k]: customers of b seen k steps after joining, summed over the run."""
        return self._cohort_cells.sum(axis=(0, 1))

    def cohort_cell_counts(self) -> np.ndarray | None:
        """cohort[k, b, l]: the same for cell k's customers ([K, B, L]; None for one cell)."""
        return self._cohort_cells.sum(axis=0) if self._cohort_cells.shape[1] > 1 else None

    def _record_initial(self, count: bool) -> None:
        """Record the state as it is (what everyone says; step 0's row when ``count``)."""
        c = self.customers
        tables = self.tables_at(0) if count else self.tables_at(-1)
        key = np.uint64(stream_key(self.seed, 0, STREAM_INIT if count else STREAM_BURN_IN))
        if self.engine == "mesa":
            self._acc_cells[:] = 0.0
            self._flow_cells[:] = 0
            self.region_tables_now = self._region_views(tables, self.region_params(tables))
            self.agents.do("record_initial", key, tables)
            c.voice[:] = self._voice_next  # what everyone says is heard from the next step on
        else:
            kernels.record_all(
                key, c.stage, c.brand, c.last_brand, c.aware, c.consider, c.attitude,
                c.satisfaction, c.tenure, c.grudge, self.region_params(tables),
                self.market.n_segments, self._g_values, c.voice, self._acc, self._flow,
                self._acc_cells, self._flow_cells, self._bounds, self._chunk_cell,
            )  # fmt: skip
        self._chan_cells[:] = 0.0
        if self._heard_counts.shape[0] > 0:
            net = self.network
            kernels.count_heard(c.voice, net.indptr, net.indices, net.strong, self._heard_counts)
        if count:
            self.tracer.start(c)
            self._record(0, tables)

    def _record(
        self, t: int, tables: Tables, totals: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Record step t; ``totals``: the chunks' tallies as ``_move`` summed them, or None."""
        m = self.market
        acc, chan = totals if totals is not None else (brand_totals(self._acc_cells), None)
        members = acc[:, P.A_CUSTOMERS]
        programme = (
            tables.brand_params[:, P.B_MEMBER_COST] * members
            + tables.brand_params[:, P.B_CUSTOMER_COST] * members
            + tables.brand_params[:, P.B_FIXED_COST]
            + self.responses.cost
            + one_off_costs(self.events, t, m.brand_names, self.customers.n,
                            dict(zip(m.regions.names, m.regions.shares, strict=True)))
        )  # fmt: skip
        for own in self.region_responses:  # each region's response policies
            programme = programme + own.cost
        overhead = self.service.overhead(members, m.channel_roles[:, P.R_SERVICE_COST])
        self.recorder.add(
            t, self._acc_cells, self._chan_cells, self._flow_cells, tables, m.channel_roles,
            programme,
            service_overhead=overhead, per_contact=self.service.per_contact,
            wait_minutes=self.service.wait_minutes, acc_total=acc, chan_total=chan,
            region_params=self.region_params(tables),
        )  # fmt: skip
