"""What a fact is, how its values over seeds become one row, and the interval rule.

A fact (or a response, or a drift) is a small function of one seed's runs that returns
``{label: value}`` (label: a brand, or ``""`` for the whole market), declared in a table
(``Fact``) with its source and target range. Its row gives the mean over seeds with a 95 %
t-interval and passes only when the whole interval lies in the range. A fact whose data the
run does not record raises ``NotMeasured`` and its row says "not measured"; a fact that holds
by a configured rule (``Fact.input_rule``) is listed as an input, never as a pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

#: Statuses of a row: only "pass" counts as a pass.
PASS, FAIL, NOT_MEASURED, INPUT, REPORT = "pass", "FAIL", "not measured", "input", "report"

ROW_SCHEMA = {
    "section": pl.Utf8, "fact": pl.Utf8, "source": pl.Utf8, "low": pl.Float64,
    "high": pl.Float64, "unit": pl.Utf8, "mean": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "seeds": pl.Int64, "status": pl.Utf8, "pass": pl.Boolean,
    "note": pl.Utf8,
}  # fmt: skip


class NotMeasured(Exception):
    """The run does not record what a fact needs (e.g. metrics columns the engine lacks)."""


@dataclass(frozen=True)
class Fact:
    """A stylised fact or response: what is measured, its source and the range it should fall in.

    Attributes:
        name: the row's name (the label, a brand, is appended in brackets).
        source: where the regularity is reported.
        low: lower end of the target range (``-inf``: none).
        high: upper end (``inf``: none); ``low = -inf, high = inf`` is a reported value.
        measure: one seed's runs -> ``{label: value}``; may raise ``NotMeasured``.
        unit: the value's unit.
        input_rule: config -> a description of the configured rule that makes the fact hold
            by construction (then it is listed as an input), or None when it is emergent.
        arms: for a response, brand names -> the arms (``responses.ARMS`` keys) it needs.
    """

    name: str
    source: str
    low: float
    high: float
    measure: Callable[..., dict[str, float]]
    unit: str = ""
    input_rule: Callable[..., str | None] | None = None
    arms: Callable[[Sequence[str]], Iterable[tuple]] | None = None

    @property
    def has_target(self) -> bool:
        """False for a value reported without a target range."""
        return not (math.isinf(self.low) and math.isinf(self.high))


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of the mean over the finite values."""
    from sim.sweeps.summary import t_interval as interval

    return interval(np.asarray(values, dtype=float), level)


def within(low: float, high: float, ci_low: float, ci_high: float) -> bool:
    """The interval rule: the whole interval [ci_low, ci_high] lies in [low, high]."""
    if not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return False
    return low <= ci_low and ci_high <= high


def fact_rows(
    fact: Fact, measurements: Sequence[dict[str, float] | NotMeasured], section: str, config=None
) -> list[dict]:
    """The rows of one fact from its measurements on every seed (dicts or ``NotMeasured``).

    Args:
        fact: the fact.
        measurements: one per seed: ``{label: value}`` or the ``NotMeasured`` it raised.
        section: the table's section ("facts", "responses", "drift").
        config: a run's config, for ``fact.input_rule``.

    Returns:
        One row per label (``ROW_SCHEMA``); a single "not measured" row when any seed could
        not measure the fact.
    """
    base = {"source": fact.source, "low": fact.low, "high": fact.high, "unit": fact.unit}
    missing = [m for m in measurements if isinstance(m, NotMeasured)]
    if missing:
        return [{
            **base, "section": section, "fact": fact.name, "mean": None, "ci_low": None,
            "ci_high": None, "seeds": len(measurements), "status": NOT_MEASURED, "pass": False,
            "note": str(missing[0]),
        }]  # fmt: skip
    rule = fact.input_rule(config) if fact.input_rule and config is not None else None
    per_label: dict[str, list[float]] = {}
    for values in measurements:
        for label, value in values.items():
            per_label.setdefault(label, []).append(float(value))
    rows = []
    for label, values in per_label.items():
        mean, lo, hi = t_interval(values)
        finite = int(np.isfinite(values).sum())
        note = ""
        if rule:
            status, note, sec = INPUT, rule, "inputs"
        elif not fact.has_target:
            status, sec = REPORT, section
        else:
            status = PASS if within(fact.low, fact.high, lo, hi) else FAIL
            sec = section
            if finite < len(values):
                note = f"undefined on {len(values) - finite} of {len(values)} seeds"
        rows.append({
            **base, "section": sec, "fact": fact.name + (f" ({label})" if label else ""),
            "mean": mean, "ci_low": lo, "ci_high": hi, "seeds": finite, "status": status,
            "pass": status == PASS, "note": note,
        })  # fmt: skip
    return rows


def measure_all(facts: Sequence[Fact], per_seed: Sequence, section: str, config=None):
    """Rows of every fact over seeds: ``per_seed`` holds one argument of ``measure`` per seed."""
    rows = []
    for fact in facts:
        measurements = []
        for item in per_seed:
            try:
                measurements.append(fact.measure(item))
            except NotMeasured as exc:
                measurements.append(exc)
        rows.extend(fact_rows(fact, measurements, section, config))
    return rows


def table(rows: Sequence[dict]) -> pl.DataFrame:
    """The facts table (``ROW_SCHEMA``); NaN becomes null."""
    frame = pl.DataFrame(list(rows), schema=ROW_SCHEMA)
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def require(metrics: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise ``NotMeasured`` unless ``metrics`` has every column (named ``what`` in the note)."""
    absent = [c for c in columns if c not in metrics.columns]
    if absent:
        raise NotMeasured(f"metrics have no {what} columns")
