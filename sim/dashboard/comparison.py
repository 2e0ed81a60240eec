"""A finished comparison: its runs, and every table and chart frame derived from them once.

The app keeps one ``Comparison`` in its session; the pages read its frames (computed on
first use and kept), so a dropdown only redraws, never recomputes the runs' statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl
import yaml

from sim.dashboard import frames as fr
from sim.dashboard.charts import Window, brand_colours, event_windows, scenario_colours
from sim.dashboard.export import comparison_zip
from sim.dashboard.state import Job, Settings
from sim.dashboard.tables import comparison_table, wide_deltas

RESULT_FRAMES = ("metrics", "stages", "flows", "retention")


@dataclass
class Comparison:
    """Runs of a comparison and what was asked for.

    Attributes:
        settings: the settings that made it (the form's, and the URL's).
        jobs: every run's label, seed and exact overrides.
        runs: (label, seed, {"metrics", "stages", "flows", "retention"}) per job.
        configs: resolved config YAML per job, in ``jobs`` order.
        commands: command lines that reproduce the jobs.
        seconds: wall time of the runs.
    """

    settings: Settings
    jobs: Sequence[Job]
    runs: Sequence[tuple[str, int, dict[str, pl.DataFrame]]]
    configs: Sequence[str]
    commands: Sequence[str]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> str:
        """The baseline's label."""
        return self.settings.baseline

    @cached_property
    def labels(self) -> list[str]:
        """Scenario labels in run order (the baseline first)."""
        return list(dict.fromkeys(job.label for job in self.jobs))

    @cached_property
    def others(self) -> list[str]:
        """Labels other than the baseline."""
        return [label for label in self.labels if label != self.baseline]

    def _stack(self, name: str) -> pl.DataFrame:
        return fr.stack_runs([(label, seed, f[name]) for label, seed, f in self.runs])

    @cached_property
    def metrics(self) -> pl.DataFrame:
        """Per-step metrics of every run, with scenario, seed and cumulative profit."""
        return fr.with_cumulative_profit(self._stack("metrics"))

    @cached_property
    def stages(self) -> pl.DataFrame:
        """Customers per stage of every run."""
        return self._stack("stages")

    @cached_property
    def flows(self) -> pl.DataFrame:
        """Moves between states of every run."""
        return self._stack("flows")

    @cached_property
    def retention(self) -> pl.DataFrame:
        """Cohort retention of every run."""
        return self._stack("retention")

    @cached_property
    def table(self) -> pl.DataFrame:
        """The KPI report table (means, intervals, paired differences)."""
        return comparison_table([(lab, s, f["metrics"]) for lab, s, f in self.runs], self.baseline)

    @cached_property
    def deltas(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The wide table of differences and its verdicts."""
        return wide_deltas(self.table, self.baseline)

    @cached_property
    def brands(self) -> list[str]:
        """Brands in order of appearance across runs (an entrant only in its scenario)."""
        out: list[str] = []
        for _label, _seed, f in self.runs:
            out += [b for b in f["metrics"]["brand"].unique(maintain_order=True) if b not in out]
        return out

    @cached_property
    def brand_colours(self) -> dict[str, str]:
        """Colour per brand."""
        return brand_colours(self.brands)

    @cached_property
    def colours(self) -> dict[str, str]:
        """Colour per scenario label (the baseline dark grey)."""
        return scenario_colours(self.labels, self.baseline)

    @cached_property
    def label_configs(self) -> dict[str, dict]:
        """The resolved config of each label (its first seed), as plain data."""
        out = {}
        for job, text in zip(self.jobs, self.configs, strict=True):
            if job.label not in out:
                out[job.label] = yaml.safe_load(text)
        return out

    @cached_property
    def windows(self) -> list[Window]:
        """Event windows of every scenario."""
        return event_windows(self.label_configs, self.settings.steps)

    def run_name(self, job: Job) -> str:
        """'chatbot_rollout_seed1'."""
        return f"{job.label}_seed{job.seed}"

    def zip_bytes(self) -> bytes:
        """The single download: results, configs, overrides and commands."""
        table, _verdicts = self.deltas
        return comparison_zip(
            frames={
                "kpis": self.table,
                "differences": table,
                "metrics": self.metrics,
                "stages": self.stages,
                "flows": self.flows,
                "retention": self.retention,
            },
            configs={self.run_name(j): c for j, c in zip(self.jobs, self.configs, strict=True)},
            commands=self.commands,
            overrides={self.run_name(j): j.overrides for j in self.jobs},
            description=self.settings.describe(),
        )
