"""A finished comparison: its runs, and every table and chart frame derived from them once.

The app keeps one ``Comparison`` in its session; the pages read its frames (computed on
first use and kept), so a dropdown only redraws, never recomputes the runs' statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import plotly.graph_objects as go
import polars as pl
import yaml

from sim.analysis.palette import brand_colours
from sim.dashboard import frames as fr
from sim.dashboard.charts import (
    Window,
    band_figure,
    event_windows,
    response_windows,
    sankey_figure,
    scenario_colours,
)
from sim.dashboard.export import comparison_zip
from sim.dashboard.format import kpi_info, kpi_title, metric_info, metric_title
from sim.dashboard.state import Job, Settings
from sim.dashboard.tables import (
    BREAKDOWNS,
    breakdown,
    breakdown_table,
    comparison_table,
    wide_deltas,
)

#: Result frames a comparison keeps (``segments``, ``regions``: metrics by segment or region,
#: empty for one segment or one region).
RESULT_FRAMES = ("metrics", "stages", "flows", "retention", "segments", "regions")


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
    def breakdown_tables(self) -> dict[str, pl.DataFrame]:
        """The KPI report by segment and by region (``tables.breakdown_table``).

        Each is empty when the market has one segment (one region).
        """
        empty = pl.DataFrame()
        runs = [(lab, s, f["metrics"], f.get("segments", empty), f.get("regions", empty))
                for lab, s, f in self.runs]  # fmt: skip
        return {by: breakdown_table(runs, self.baseline, by) for by in BREAKDOWNS}

    def group_names(self, by: str) -> list[str]:
        """The market's segments or regions (``by``), in order ([] for one)."""
        table = self.breakdown_tables.get(by, pl.DataFrame())
        if table.is_empty():
            return []
        return table[by].unique(maintain_order=True).to_list()

    @property
    def breakdowns(self) -> list[str]:
        """The kinds of group this comparison can be broken down by ("segment", "region")."""
        return [by for by in BREAKDOWNS if self.group_names(by)]

    def breakdown_figure(self, kpi: str, brand: str, by: str = "segment") -> go.Figure:
        """A KPI's paired difference against the baseline per segment (or region): bars.

        The data are ``tables.breakdown``'s (differences of shares in points), with their
        95% intervals as error bars.
        """
        frame = breakdown(self.breakdown_tables[by], kpi, brand, self.baseline, by)
        scale = 100.0 if kpi_info(kpi).kind == "percent" else 1.0
        fig = go.Figure()
        for label in self.others:
            part = frame.filter(pl.col("scenario") == label)
            diff = part["diff"].fill_null(float("nan")).to_numpy() * scale
            low = part["diff_low"].fill_null(float("nan")).to_numpy() * scale
            high = part["diff_high"].fill_null(float("nan")).to_numpy() * scale
            fig.add_bar(
                x=part[by].to_list(), y=diff, name=label,
                marker_color=self.colours.get(label),
                error_y={"type": "data", "symmetric": False, "array": high - diff,
                         "arrayminus": diff - low},
            )  # fmt: skip
        fig.update_layout(
            barmode="group", title=f"{kpi_info(kpi).label} of {brand}: difference against "
            f"{self.baseline}, by {by} (95% intervals)",
            yaxis_title=f"difference in {kpi_title(kpi, delta=True)}", xaxis_title=by,
        )  # fmt: skip
        fig.add_hline(y=0.0, line_color="#888", line_width=1)
        return fig

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
        """Event windows of every scenario, then when its rivals' responses acted."""
        steps = self.settings.steps
        return [*event_windows(self.label_configs, steps),
                *response_windows(self.label_configs, self.metrics, steps)]  # fmt: skip

    def run_name(self, job: Job) -> str:
        """'chatbot_rollout_seed1'."""
        return f"{job.label}_seed{job.seed}"

    @cached_property
    def zip(self) -> bytes:
        """The single download (built once)."""
        return self.zip_bytes()

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

    # -- figures ------------------------------------------------------------------------
    def metric_figure(self, column: str) -> go.Figure:
        """A metric over time: a panel per brand, scenarios by colour, bands, events."""
        info = metric_info(column)
        band = fr.replicate_band(self.metrics, column)
        return band_figure(
            band, facet="brand", title=info.label, y_title=metric_title(column),
            kind=info.kind, colours=self.colours, order=self.labels, facets=self.brands,
            windows=self.windows,
        )  # fmt: skip

    def difference_figure(self, column: str) -> go.Figure:
        """A metric's paired difference against the baseline over time."""
        info = metric_info(column)
        band = fr.difference_band(self.metrics, column, self.baseline)
        kind = info.kind
        if kind == "percent":  # a difference of shares is in percentage points, as titled
            band = band.with_columns(pl.col("mean", "low", "high") * 100)
            kind = "pp"
        return band_figure(
            band, facet="brand", title=f"{info.label}: difference against {self.baseline}",
            y_title=f"difference in {metric_title(column, delta=True)}", kind=kind,
            colours=self.colours, order=self.labels, facets=self.brands,
            windows=self.windows, zero_line=True,
        )  # fmt: skip

    def retention_figure(
        self, min_cohort: int = 100, min_share: float = 0.1
    ) -> tuple[go.Figure | None, str]:
        """Cohort retention by tenure, with a note on where the curves are cut.

        None instead of a figure when no brand has a curve (a short run or a small market):
        the note says why, and no empty chart with a meaningless axis is drawn.
        """
        band = fr.retention_band(self.retention, min_cohort=min_cohort, min_share=min_share)
        cut = fr.retention_cut(self.retention, min_cohort, min_share)
        longest = int(self.retention["tenure"].max()) if self.retention.height else 0
        cuts = [f"{b} after day {t}" for b, t in cut.items() if t is not None and t < longest]
        none = [b for b, t in cut.items() if t is None]
        note = (
            f"Curves stop where fewer than {min_cohort} acquired customers, or under "
            f"{min_share:.0%} of all acquired, reached that tenure (the smallest cohort over "
            "scenarios and seeds decides): "
            + (", ".join(cuts) if cuts else "no cut needed")
            + (f"; no curve for {', '.join(none)} (too few customers acquired)" if none else "")
            + "."
        )
        facets = [b for b in self.brands if cut.get(b) is not None]
        if not facets or band.height == 0:
            return None, (
                f"No cohort retention curve: no brand acquired {min_cohort} customers in these "
                f"{self.settings.steps} days (run longer, or with more customers)."
            )
        fig = band_figure(
            band, facet="brand", title="Cohort retention: share of a cohort still a customer",
            y_title="still a customer (%)", kind="percent", colours=self.colours,
            order=self.labels, facets=facets, x="tenure", x_title="days since joining",
        )  # fmt: skip
        return fig, note

    def stage_figure(self) -> go.Figure:
        """Share of all customers in each state over time, a panel per state."""
        band = fr.stage_band(self.stages)
        states = [s for s in fr.journey_states(self.brands) if s in set(band["state"])]
        return band_figure(
            band, facet="state", title="Where customers are, day by day",
            y_title="share of all customers (%)", kind="percent", colours=self.colours,
            order=self.labels, facets=states, windows=self.windows, max_cols=4,
        )  # fmt: skip

    def sankeys(
        self, labels: Sequence[str], start: int, end: int, include_stays: bool = False
    ) -> list[go.Figure]:
        """Sankeys of moves over days start..end for each label, with the same nodes."""
        flows = [self.flows.filter(pl.col("scenario") == label) for label in labels]
        states = fr.flow_states(
            *flows, start=start, end=end, include_stays=include_stays, brands=self.brands
        )
        out = []
        for label, f in zip(labels, flows, strict=True):
            data = fr.sankey_data(f, start, end, include_stays, states=states)
            moves = sum(data["value"])
            title = f"{label}: {moves:,.0f} moves per run, days {start}-{end}"
            out.append(sankey_figure(data, self.brand_colours, title))
        return out
