"""Traces: every touchpoint of a sample of customers, for journeys and attribution.

``sim.trace = K`` picks K customers uniformly without replacement (a pure function of the
seed). The kernels write the code of each traced customer's touchpoint of the step
(``agents.rules.touch_code``) into a small buffer; after each step the tracer turns it,
and the customer's brand before and after, into rows of ``Result.touchpoints``. A row's
``customer`` is the customer's place (its id in an edge list), not where its columns are
stored (``sim.engine.cells``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from agents import rules
from sim.engine.rng import STREAM_INIT

TOUCHPOINT_COLUMNS = ("step", "customer", "touch", "brand", "channel", "stage")


class Tracer:
    """The traced customers, the kernels' buffer, and the rows collected so far."""

    def __init__(self, k: int, n: int, seed: int, market, storage: np.ndarray | None = None):
        k = max(0, min(int(k), n))
        rng = np.random.default_rng([int(seed), STREAM_INIT, 3000])
        places = np.sort(rng.choice(n, size=k, replace=False)).astype(np.int64)
        # the kernels find a traced customer by its storage index: keep those sorted
        stored = places if storage is None else storage[places].astype(np.int64)
        order = np.argsort(stored, kind="stable")
        self.ids = stored[order]  # storage indices, sorted
        self.places = places[order]  # the same customers' places
        self.bits = np.zeros((n + 7) // 8, dtype=np.uint8)
        np.bitwise_or.at(self.bits, self.ids >> 3, (1 << (self.ids & 7)).astype(np.uint8))
        self.touch = np.zeros(k, dtype=np.uint16)
        self.brand_names = market.brand_names
        self.channel_names = market.channel_names
        self._rows: list[tuple] = []
        self._before = np.zeros(k, dtype=np.int8)

    @property
    def active(self) -> bool:
        """True if any customer is traced."""
        return self.ids.size > 0

    def start(self, customers) -> None:
        """Rows of step 0: each traced customer's brand and stage as the run starts."""
        if not self.active:
            return
        brand = customers.brand[self.ids].astype(np.int64)
        kinds = np.full(self.ids.size, -1)
        self._add(0, self.ids, kinds, brand, np.full(self.ids.size, -1), customers)

    def before(self, customers) -> None:
        """Remember brands before the step; clear the buffer."""
        if self.active:
            self._before = customers.brand[self.ids].copy()
            self.touch[:] = 0

    def after(self, t: int, customers) -> None:
        """Turn the step's touchpoints and brand changes into rows."""
        if not self.active:
            return
        touch = self.touch.astype(np.int64)
        met = touch != 0
        self._add(t, self.ids[met], touch[met] >> 12, (touch[met] >> 8) & 0xF,
                  touch[met] & 0xFF, customers)  # fmt: skip
        before = self._before.astype(np.int64)
        after = customers.brand[self.ids].astype(np.int64)
        moved = before != after
        left = moved & (before >= 0)
        joined = moved & (after >= 0)
        none = np.full(int(left.sum()), -1)
        self._add(t, self.ids[left], np.full(int(left.sum()), -2), before[left], none, customers)
        none = np.full(int(joined.sum()), -1)
        self._add(t, self.ids[joined], np.full(int(joined.sum()), -3), after[joined], none,
                  customers)  # fmt: skip

    def _add(self, t, ids, kinds, brands, channels, customers) -> None:
        if ids.size:
            stages = customers.stage[ids].astype(np.int64)
            self._rows.append((t, ids, kinds, brands, channels, stages))

    def frame(self) -> pl.DataFrame:
        """One row per event of a traced customer (see ``TOUCHPOINT_COLUMNS``)."""
        touches = {-1: "start", -2: "churned", -3: "acquired"}
        touches.update(dict(enumerate(rules.TOUCH_NAMES)))

        def column(k: int, dtype) -> np.ndarray:
            parts = [row[k] for row in self._rows]
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        steps = [np.full(row[1].size, row[0], dtype=np.int32) for row in self._rows]
        codes = pl.DataFrame(
            {
                "step": np.concatenate(steps) if steps else np.zeros(0, np.int32),
                "customer": self.places[np.searchsorted(self.ids, column(1, np.int64))],
                "touch": column(2, np.int64),
                "brand": column(3, np.int64),
                "channel": column(4, np.int64),
                "stage": column(5, np.int64),
            }
        )

        def named(col: str, names: dict[int, str]) -> pl.Expr:
            # codes outside the table (no brand, no channel) become null
            return pl.col(col).replace_strict(names, default=None, return_dtype=pl.Utf8)

        return codes.select(
            pl.col("step").cast(pl.Int32),
            pl.col("customer").cast(pl.Int64),
            named("touch", touches),
            named("brand", dict(enumerate(self.brand_names))),
            named("channel", dict(enumerate(self.channel_names))),
            named("stage", dict(enumerate(rules.STAGE_NAMES))),
        )
