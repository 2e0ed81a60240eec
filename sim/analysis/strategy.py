"""What a trial of ``journeysim optimise`` sets: the space's keys and the budgets' splits.

A trial is a point of the search (Optuna's parameters); ``Search.values`` turns it into
config values (key -> value), and ``Search.task`` into a simulation: by default the values
are changes made today (``scenario.changes``, acting from step 0 on the status quo every
candidate shares), else set in the market itself (long-run steady states).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.analysis import budget, runs
from sim.analysis.calibrate import distributions
from sim.analysis.space import Param


@dataclass(frozen=True)
class Search:
    """What a trial sets: the space's keys and the budgets' splits, today or long-run.

    Attributes:
        params: the space's keys and ranges.
        budgets: the ad budgets to split (``sim.analysis.budget``).
        today: candidates are changes made at step 0 on the shared status quo
            (``scenario.changes``); else they set the market itself (long-run).
    """

    params: list[Param]
    budgets: list[budget.Budget]
    today: bool = True

    def distributions(self) -> dict:
        """Optuna's search dimensions."""
        return {**distributions(self.params), **budget.distributions(self.budgets)}

    def values(self, point: dict) -> tuple[dict, dict]:
        """The config values (key -> value) and spend columns of a search point."""
        values = {p.key: p.value(point[p.key]) for p in self.params}
        reach, spend = budget.values(self.budgets, point)
        return {**values, **reach}, spend

    def task(self, values: dict, seed: int) -> runs.Task:
        """A simulation of ``values`` (made today or in the market itself) on ``seed``."""
        return runs.Task(runs.today(values) if self.today else dict(values), seed, runs.kpis)

    @property
    def keys(self) -> list[str]:
        """Every config key a trial sets."""
        keys = [p.key for p in self.params]
        return keys + [b.reach_key(c) for b in self.budgets for c in b.channels]
