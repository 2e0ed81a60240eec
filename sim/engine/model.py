"""JourneyModel: one mesa.Model that drives either engine through the same step.

The step reads like the model description: apply the scenario's events to the
baseline tables, move every customer one step (numba kernels over columns, or one
mesa.Agent per customer), record the aggregates.
"""

from __future__ import annotations

import mesa
import numpy as np
from omegaconf import DictConfig

from scenarios.events import Tables, apply_events
from scenarios.responses import Responses
from sim.engine import kernels
from sim.engine import params as P
from sim.engine.metrics import Recorder
from sim.engine.network import build_network
from sim.engine.rng import STREAM_STEP, stream_key
from sim.engine.state import build_customers, build_market

MAX_COHORT_TENURE = 730  # cohort retention curves are followed for up to this many steps


class JourneyModel(mesa.Model):
    """A market of customers, brands and channels, simulated step by step.

    Args:
        cfg: the composed, validated config (see ``sim.load_config``).
    """

    def __init__(self, cfg: DictConfig):
        self.seed = int(cfg.seed)
        super().__init__(rng=self.seed)
        self.cfg = cfg
        self.engine = str(cfg.engine.name)
        self.n_steps = int(cfg.sim.steps)
        self.market = build_market(cfg)
        self.customers = build_customers(cfg, self.market, self.seed)
        net = cfg.network
        self.network = build_network(
            str(net.kind), self.customers.n, float(net.mean_degree), float(net.rewiring), self.seed
        )
        self.events = list(cfg.scenario.get("events") or [])
        self.responses = Responses(
            cfg, self.market.brand_names, self.market.n_channels, self.n_steps,
            self.market.brand_params[:, P.B_PRICE], self.market.service_quality,
        )  # fmt: skip
        self.recorder = Recorder(self.n_steps, self.market.brand_names)
        self.t = 0
        nb = self.market.n_brands
        self._acc = np.zeros((kernels.n_chunks(self.customers.n), nb, P.N_ACC))
        self._flow = np.zeros((kernels.n_chunks(self.customers.n), nb + 4, nb + 4), dtype=np.int64)
        self._voice_next = np.zeros_like(self.customers.voice)
        # Cohort retention numerators, per chunk, accumulated over the whole run.
        self.max_tenure = min(self.n_steps, MAX_COHORT_TENURE) + 1
        self._cohort = np.zeros(
            (kernels.n_chunks(self.customers.n), nb, self.max_tenure), dtype=np.int64
        )
        if self.engine == "mesa":
            from agents.customer import CustomerAgent

            CustomerAgent.create_population(self)
        self._record_initial()

    # -- the step ---------------------------------------------------------------
    def tables_at(self, t: int) -> Tables:
        """Step t's tables: the baseline, the scenario's events, the rivals' responses.

        Brands not launched yet are inactive and advertise nowhere. If events push the
        total ad reach past what the competing touchpoint rates leave (1 - talk - usage -
        contact), all reach is scaled down to fit, so probabilities stay probabilities.
        Called once per step: response policies remember what they did (e.g. investment).
        """
        m = self.market
        tables = Tables(
            m.brand_params, m.ad_reach, m.service_quality, m.resolution, m.friction
        ).copy()
        apply_events(tables, self.events, t, m.brand_names, m.channel_names)
        if self.responses.active and t > 0:
            rec = self.recorder
            share = rec.share(t - 1)
            self.responses.adjust(t, tables, share, rec.nps(t - 1))
        launched = m.launch_step <= t
        tables.brand_params[:, P.B_ACTIVE] = launched
        tables.ad_reach[~launched] = 0.0
        tables.news_reach[~launched] = 0.0
        g = m.globals
        room = 1.0 - g[P.G_TALK_RATE] - g[P.G_USAGE_RATE] - g[P.G_CONTACT_RATE]
        total = tables.exposure().sum()
        if total > room:
            tables.ad_reach *= max(room, 0.0) / total
            tables.news_reach *= max(room, 0.0) / total
        np.clip(tables.service_quality, 0.0, 1.0, out=tables.service_quality)
        np.clip(tables.resolution, 0.0, 1.0, out=tables.resolution)
        np.clip(tables.friction, 0.0, 1.0, out=tables.friction)
        self.responses.observe_prices(t, tables)
        return tables

    def step(self) -> None:
        """Advance one step: events, every customer's journey step, record."""
        self.t += 1
        tables = self.tables_at(self.t)
        key = np.uint64(stream_key(self.seed, self.t, STREAM_STEP))
        if self.engine == "mesa":
            self._acc[:] = 0.0
            self._flow[:] = 0
            self.agents.do("step_journey", key, tables)
        else:
            self._step_numba(key, tables)
        c = self.customers
        c.voice, self._voice_next = self._voice_next, c.voice
        self._record(self.t, tables)

    def run(self, steps: int | None = None, progress=None) -> None:
        """Run ``steps`` steps (default: ``sim.steps``); ``progress(t)`` is called after each."""
        for _ in range(self.n_steps if steps is None else steps):
            self.step()
            if progress is not None:
                progress(self.t)

    # -- engine plumbing ----------------------------------------------------------
    def _step_numba(self, key, tables: Tables) -> None:
        c, net, m = self.customers, self.network, self.market
        # paid ads then news, as one cumulative table (the kernel splits it in two halves)
        ad_cum = np.cumsum(
            np.concatenate([tables.ad_reach.reshape(-1), tables.news_reach.reshape(-1)])
        )
        kernels.step_all(
            key, c.stage, c.brand, c.last_brand, c.aware, c.consider, c.attitude,
            c.satisfaction, c.expectation, c.tenure, c.price_sensitivity, c.wom_activity,
            c.churn_propensity, c.channel, c.voice, self._voice_next,
            net.indptr, net.indices, net.complete,
            tables.brand_params, ad_cum, m.n_channels, tables.service_quality,
            tables.resolution, tables.friction, m.channel_roles, m.globals,
            self._acc, self._flow, self.t, self._cohort,
        )  # fmt: skip

    def cohort_counts(self) -> np.ndarray:
        """cohort[b, k]: customers of b seen k steps after joining, summed over the run."""
        return self._cohort.sum(axis=0)

    def _record_initial(self) -> None:
        c, m = self.customers, self.market
        tables = self.tables_at(0)
        kernels.record_all(
            c.stage, c.brand, c.last_brand, c.aware, c.consider, c.satisfaction, c.tenure,
            tables.brand_params, m.globals, c.voice, self._acc, self._flow,
        )  # fmt: skip
        self._record(0, tables)

    def _record(self, t: int, tables: Tables) -> None:
        n = self.customers.n
        ad_spend = (tables.ad_reach * self.market.channel_roles[:, P.R_COST][None, :]).sum(1) * n
        self.recorder.add(t, self._acc, self._flow, ad_spend, tables, self.responses.cost)
