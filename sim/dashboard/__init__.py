"""Pure functions behind the Streamlit app: chart data, KPI tables, figures, safe paths.

The app (``app.py``) holds widgets and layout only; everything it shows is computed
here from result frames, so it can be tested without a browser. Figures use Plotly
throughout, with one colour per brand across every chart.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import polars as pl

from sim.sweeps.summary import report, run_kpis, t_interval

#: A fixed palette: the same brand always gets the same colour.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
)  # fmt: skip
KNOWN_BRANDS = ("incumbent", "challenger", "budget", "newco", "brand")
STAGE_ORDER = ("unaware", "aware", "considering", "customer", "lapsed")
STAGE_COLOURS = {
    "unaware": "#c7c7c7", "aware": "#aec7e8", "considering": "#ffbb78", "lapsed": "#7f7f7f",
}  # fmt: skip
#: KPIs shown in the headline row, with a label, a unit and whether higher is better.
HEADLINE_KPIS = (
    ("customers", "Customers at the end", "customers", True),
    ("retention", "Retention", "share of customers served", True),
    ("revenue", "Revenue", "currency", True),
    ("profit", "Profit", "currency", True),
    ("clv", "CLV", "currency per customer", True),
    ("nps", "NPS", "points", True),
)
#: Units of the metric columns, for axis labels.
UNITS = {
    "customers": "customers", "share": "share of customers", "revenue": "currency per day",
    "profit": "currency per day", "cumulative_profit": "currency", "nps": "NPS points",
    "satisfaction": "satisfaction (0-1)", "churned": "customers per day",
    "acquired": "customers per day", "aware": "customers", "considering": "customers",
    "clv": "currency per customer", "price": "currency per customer-day",
}  # fmt: skip
LOWER_IS_BETTER = {"churned", "churn_rate"}


def brand_colours(brands: Iterable[str]) -> dict[str, str]:
    """A colour per brand: known brands keep a fixed colour, others take the next free one."""
    out: dict[str, str] = {}
    for b in brands:
        if b in out:
            continue
        if b in KNOWN_BRANDS:
            out[b] = PALETTE[KNOWN_BRANDS.index(b)]
    free = [c for c in PALETTE if c not in out.values()]
    for b in brands:
        if b not in out:
            out[b] = free.pop(0) if free else PALETTE[len(out) % len(PALETTE)]
    return out


# -- runs -> frames ----------------------------------------------------------------------
def stack_runs(runs: Sequence[tuple[str, int, pl.DataFrame]]) -> pl.DataFrame:
    """Concatenate (scenario, seed, frame) triples into one frame with those two columns."""
    parts = [
        f.with_columns(pl.lit(s).alias("scenario"), pl.lit(seed, pl.Int64).alias("seed"))
        for s, seed, f in runs
    ]
    return pl.concat(parts, how="diagonal_relaxed")


def with_cumulative_profit(metrics: pl.DataFrame) -> pl.DataFrame:
    """Add ``cumulative_profit``: profit summed over steps, per scenario, seed and brand."""
    keys = [k for k in ("scenario", "seed", "brand") if k in metrics.columns]
    return metrics.sort([*keys, "step"]).with_columns(
        pl.col("profit").cum_sum().over(keys).alias("cumulative_profit")
    )


def replicate_band(frame: pl.DataFrame, column: str, level: float = 0.95) -> pl.DataFrame:
    """Mean over replicates (seeds) with a t-interval, per scenario, step and brand.

    Returns columns scenario, step, brand, mean, low, high, n.
    """
    from scipy import stats

    g = (
        frame.group_by(["scenario", "step", "brand"], maintain_order=True)
        .agg(
            pl.col(column).mean().alias("mean"),
            pl.col(column).std(ddof=1).alias("sd"),
            pl.col(column).count().alias("n"),
        )
        .sort(["scenario", "brand", "step"])
    )
    n = g["n"].to_numpy().astype(float)
    sd = g["sd"].fill_null(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = np.where(n > 1, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), 0.0)
        half = np.where(n > 1, tq * sd / np.sqrt(n), 0.0)
    mean = g["mean"].to_numpy()
    return g.with_columns(pl.Series("low", mean - half), pl.Series("high", mean + half)).select(
        "scenario", "step", "brand", "mean", "low", "high", "n"
    )


def difference_band(
    frame: pl.DataFrame, column: str, baseline: str, level: float = 0.95
) -> pl.DataFrame:
    """Paired difference against ``baseline`` (same seed) per scenario, step and brand.

    Returns columns scenario, step, brand, mean, low, high, n (scenarios other than the baseline).
    """
    base = frame.filter(pl.col("scenario") == baseline).select(
        "seed", "step", "brand", pl.col(column).alias("__base")
    )
    other = frame.filter(pl.col("scenario") != baseline)
    if other.height == 0 or base.height == 0:
        return pl.DataFrame(
            schema={"scenario": pl.Utf8, "step": pl.Int32, "brand": pl.Utf8, "mean": pl.Float64,
                    "low": pl.Float64, "high": pl.Float64, "n": pl.UInt32}
        )  # fmt: skip
    paired = other.join(base, on=["seed", "step", "brand"], how="inner").with_columns(
        (pl.col(column) - pl.col("__base")).alias("__diff")
    )
    return replicate_band(paired, "__diff", level)


def retention_band(
    retention: pl.DataFrame, level: float = 0.95, min_cohort: int = 30
) -> pl.DataFrame:
    """Cohort retention by tenure: mean over replicates with its interval (clipped to 0-1).

    Tenures seen in fewer than ``min_cohort`` acquired customers (in any replicate) are
    left out: a curve end resting on a handful of customers says nothing.
    """
    frame = retention.filter(pl.col("retention").is_not_null())
    small = frame.filter(pl.col("cohort_size") < min_cohort).select("brand", "tenure").unique()
    frame = frame.join(small, on=["brand", "tenure"], how="anti").rename({"tenure": "step"})
    band = replicate_band(frame, "retention", level).rename({"step": "tenure"})
    return band.with_columns(pl.col("low").clip(0.0, 1.0), pl.col("high").clip(0.0, 1.0))


def comparison_table(
    runs: Sequence[tuple[str, int, pl.DataFrame]], baseline: str, level: float = 0.95
) -> pl.DataFrame:
    """KPIs per scenario and brand: mean with interval, paired difference against baseline.

    Built like a sweep report: one summary row per run, then ``sim.sweeps.summary.report``.
    """
    rows = []
    for scenario, seed, metrics in runs:
        rows.append({"run": f"{scenario}/{seed}", "status": "complete", "scenario": scenario,
                     "seed": seed, **run_kpis(metrics)})  # fmt: skip
    summary = pl.DataFrame(rows)
    return report(summary, baseline=baseline, level=level)


def headline(table: pl.DataFrame, scenario: str, brand: str) -> list[dict]:
    """The headline KPI deltas of one scenario for one brand, in ``HEADLINE_KPIS`` order."""
    out = []
    part = table.filter((pl.col("scenario") == scenario) & (pl.col("brand") == brand))
    for kpi, label, unit, higher_better in HEADLINE_KPIS:
        row = part.filter(pl.col("kpi") == kpi)
        if row.height == 0:
            continue
        r = row.row(0, named=True)
        out.append({
            "kpi": kpi, "label": label, "unit": unit, "value": r["mean"], "diff": r["diff"],
            "diff_low": r["diff_low"], "diff_high": r["diff_high"],
            "higher_is_better": higher_better,
            "significant": r["diff_low"] is not None and r["diff_high"] is not None
            and (r["diff_low"] > 0 or r["diff_high"] < 0),
        })  # fmt: skip
    return out


def compact(x: float | None, signed: bool = False) -> str:
    """A short number for a headline: 1.43M, -5.1k, 0.0123, n/a (3 significant digits)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    sign = "+" if signed and x >= 0 else ""
    rounded = float(f"{x:.3g}")  # round first, so 999.7 becomes 1k, not 1e+03
    a = abs(rounded)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= limit:
            return f"{sign}{rounded / limit:.3g}{suffix}"
    if a >= 100:
        return f"{sign}{rounded:.0f}"
    return f"{sign}{rounded:.3g}"


def format_delta(item: dict) -> str:
    """'+1.23k ± 250' (the paired difference and the half-width of its 95% interval)."""
    if item["diff_low"] is None or item["diff_high"] is None:
        return compact(item["diff"], signed=True)
    half = (item["diff_high"] - item["diff_low"]) / 2.0
    return f"{compact(item['diff'], signed=True)} ± {compact(half)}"


def format_interval(item: dict) -> str:
    """'95% CI of the difference: -6.1k to -4.1k' for a headline item."""
    if item["diff_low"] is None or item["diff_high"] is None:
        return "95% CI of the difference: n/a (one replicate)"
    lo, hi = compact(item["diff_low"], signed=True), compact(item["diff_high"], signed=True)
    return f"95% CI of the difference: {lo} to {hi}"


# -- journey --------------------------------------------------------------------------------
def state_label(stage: str, brand: str | None) -> str:
    """A state's label: the stage, or 'customer: brand'."""
    return f"customer: {brand}" if stage == "customer" and brand else stage


def sankey_data(flows: pl.DataFrame, start: int, end: int, include_stays: bool = False) -> dict:
    """Nodes and links of a Sankey diagram of moves between states in steps start..end.

    Left nodes are states before a move, right nodes the states after it; flows are
    summed over the window (and over replicates if several runs are stacked, then
    divided by their number). Returns {"labels", "source", "target", "value", "sides"}.
    """
    keys = [c for c in ("scenario", "seed") if c in flows.columns]
    runs = flows.select(keys).n_unique() if keys and flows.height else 1  # all stacked runs
    w = flows.filter((pl.col("step") >= start) & (pl.col("step") <= end))
    if not include_stays:
        same = (pl.col("from_stage") == pl.col("to_stage")) & (
            pl.col("from_brand").eq_missing(pl.col("to_brand"))
        )
        w = w.filter(~same)
    if w.height:
        w = w.with_columns(
            pl.struct("from_stage", "from_brand")
            .map_elements(lambda r: state_label(r["from_stage"], r["from_brand"]), pl.Utf8)
            .alias("src"),
            pl.struct("to_stage", "to_brand")
            .map_elements(lambda r: state_label(r["to_stage"], r["to_brand"]), pl.Utf8)
            .alias("dst"),
        )
    else:
        w = w.with_columns(pl.lit("").alias("src"), pl.lit("").alias("dst"))
    agg = w.group_by(["src", "dst"]).agg(pl.col("customers").sum()).sort(["src", "dst"])
    left = sorted(set(agg["src"].to_list()), key=_state_order)
    right = sorted(set(agg["dst"].to_list()), key=_state_order)
    labels = [f"{s} (before)" for s in left] + [f"{s} (after)" for s in right]
    index_left = {s: k for k, s in enumerate(left)}
    index_right = {s: len(left) + k for k, s in enumerate(right)}
    return {
        "labels": labels,
        "source": [index_left[s] for s in agg["src"].to_list()],
        "target": [index_right[d] for d in agg["dst"].to_list()],
        "value": [v / max(runs, 1) for v in agg["customers"].to_list()],
        "sides": ["before"] * len(left) + ["after"] * len(right),
    }


def _state_order(label: str) -> tuple[int, str]:
    stage = label.split(":")[0]
    return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else 9, label)


def stage_shares(stages: pl.DataFrame) -> pl.DataFrame:
    """Share of customers in each state per step (mean over stacked runs)."""
    s = stages.with_columns(
        pl.struct("stage", "brand")
        .map_elements(lambda r: state_label(r["stage"], r["brand"]), pl.Utf8)
        .alias("state")
    )
    keys = [k for k in ("scenario", "seed") if k in s.columns]
    total = s.group_by([*keys, "step"]).agg(pl.col("customers").sum().alias("__n"))
    s = s.join(total, on=[*keys, "step"]).with_columns(
        (pl.col("customers") / pl.col("__n")).alias("share")
    )
    return (
        s.group_by(["step", "state"]).agg(pl.col("share").mean())
        .sort(["step", "state"])
    )  # fmt: skip


# -- sweeps -----------------------------------------------------------------------------------
def sweep_parameters(summary: pl.DataFrame) -> list[str]:
    """Swept keys with more than one value (candidates for the x and y axes)."""
    skip = {"run", "status", "scenario", "seed"}
    return [
        c for c in summary.columns
        if c not in skip and "__" not in c and summary[c].n_unique() > 1
    ]  # fmt: skip


def sweep_kpis(summary: pl.DataFrame) -> list[str]:
    """KPI columns (``<kpi>__<brand>``) of a summary."""
    return [c for c in summary.columns if "__" in c]


def sweep_view(
    summary: pl.DataFrame,
    kpi: str,
    x: str,
    y: str | None = None,
    scenarios: Sequence[str] | None = None,
) -> tuple[pl.DataFrame, dict]:
    """Mean of ``kpi`` over replicates by x (and y), and the best setting.

    Returns (table, best): table has x (and y), mean, low, high, n; best is the row with
    the highest mean (the lowest for churn KPIs).
    """
    s = summary.filter(pl.col("status") == "complete")
    if scenarios:
        s = s.filter(pl.col("scenario").is_in(list(scenarios)))
    keys = [x] if y is None or y == x else [x, y]
    rows = []
    for key, part in s.group_by(keys, maintain_order=True):
        mean, lo, hi = t_interval(part[kpi].cast(pl.Float64).fill_null(np.nan).to_numpy())
        rows.append({**dict(zip(keys, key, strict=True)), "mean": mean, "low": lo, "high": hi,
                     "n": part.height})  # fmt: skip
    table = pl.DataFrame(rows).sort(keys)
    lower_better = kpi.split("__")[0] in LOWER_IS_BETTER
    valid = pl.col("mean").is_not_null() & pl.col("mean").is_not_nan()
    ordered = table.filter(valid).sort("mean", descending=not lower_better)
    best = ordered.row(0, named=True) if ordered.height else {}
    return table, best


# -- figures --------------------------------------------------------------------------------
def band_figure(
    band: pl.DataFrame, title: str, y_label: str, colours: dict[str, str], x_label: str = "day"
) -> go.Figure:
    """Lines with confidence bands, one colour per brand, one dash style per scenario."""
    fig = go.Figure()
    dashes = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
    x_col = "step" if "step" in band.columns else "tenure"
    scenarios = band["scenario"].unique(maintain_order=True).to_list()
    for k, scenario in enumerate(scenarios):
        for brand in band["brand"].unique(maintain_order=True).to_list():
            part = band.filter((pl.col("scenario") == scenario) & (pl.col("brand") == brand))
            if part.height == 0:
                continue
            colour = colours.get(brand, "#333333")
            x = part[x_col].to_list()
            name = f"{brand} ({scenario})" if len(scenarios) > 1 else brand
            fig.add_trace(go.Scatter(
                x=x + x[::-1], y=part["high"].to_list() + part["low"].to_list()[::-1],
                fill="toself", fillcolor=_alpha(colour, 0.15), line={"width": 0},
                hoverinfo="skip", showlegend=False, legendgroup=name,
            ))  # fmt: skip
            fig.add_trace(go.Scatter(
                x=x, y=part["mean"].to_list(), name=name, legendgroup=name,
                line={"color": colour, "dash": dashes[k % len(dashes)]},
            ))  # fmt: skip
    fig.update_layout(title=title, xaxis_title=x_label, yaxis_title=y_label,
                      legend_title="brand (scenario)", margin={"t": 50})  # fmt: skip
    return fig


def _alpha(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def sankey_figure(data: dict, colours: dict[str, str], title: str) -> go.Figure:
    """A Plotly Sankey of ``sankey_data`` with brand colours on customer states."""

    def node_colour(label: str) -> str:
        state = label.rsplit(" (", 1)[0]
        if state.startswith("customer: "):
            return colours.get(state.split(": ", 1)[1], "#333333")
        return STAGE_COLOURS.get(state, "#999999")

    node_colours = [node_colour(x) for x in data["labels"]]
    link_colours = [
        _alpha(c, 0.35) if c.startswith("#") else c
        for c in (node_colours[k] for k in data["source"])
    ]
    fig = go.Figure(
        go.Sankey(
            node={"label": data["labels"], "color": node_colours, "pad": 12},
            link={
                "source": data["source"],
                "target": data["target"],
                "value": data["value"],
                "color": link_colours,
            },
        )
    )
    fig.update_layout(title=title, margin={"t": 50})
    return fig


def stage_figure(shares: pl.DataFrame, colours: dict[str, str], title: str) -> go.Figure:
    """Stacked areas: the share of customers in each state over time."""
    fig = go.Figure()
    states = sorted(shares["state"].unique().to_list(), key=_state_order)
    for state in states:
        part = shares.filter(pl.col("state") == state)
        colour = (
            colours.get(state.split(": ", 1)[1], "#333333") if state.startswith("customer: ")
            else STAGE_COLOURS.get(state, "#999999")
        )  # fmt: skip
        fig.add_trace(go.Scatter(
            x=part["step"].to_list(), y=part["share"].to_list(), name=state, stackgroup="one",
            line={"color": colour, "width": 0.5},
        ))  # fmt: skip
    fig.update_layout(title=title, xaxis_title="day", yaxis_title="share of all customers",
                      yaxis_range=[0, 1], legend_title="stage", margin={"t": 50})  # fmt: skip
    return fig


def sweep_figure(table: pl.DataFrame, best: dict, kpi: str, x: str, y: str | None) -> go.Figure:
    """A line (one parameter) or a heatmap (two) of the KPI, with the best setting marked."""
    label = kpi.replace("__", " of ")
    if y is None or y == x:
        fig = go.Figure(go.Scatter(
            x=table[x].to_list(), y=table["mean"].to_list(), mode="lines+markers", name=label,
            error_y={"type": "data", "symmetric": False,
                     "array": (table["high"] - table["mean"]).to_list(),
                     "arrayminus": (table["mean"] - table["low"]).to_list()},
        ))  # fmt: skip
        if best:
            star = {"size": 16, "symbol": "star", "color": "gold"}
            fig.add_trace(
                go.Scatter(x=[best[x]], y=[best["mean"]], mode="markers", name="best", marker=star)
            )
        fig.update_layout(title=f"{label} by {x}", xaxis_title=x, yaxis_title=label)
        return fig
    xs = sorted(table[x].unique().to_list())
    ys = sorted(table[y].unique().to_list())
    z = [[None] * len(xs) for _ in ys]
    for r in table.iter_rows(named=True):
        z[ys.index(r[y])][xs.index(r[x])] = r["mean"]
    fig = go.Figure(go.Heatmap(x=[str(v) for v in xs], y=[str(v) for v in ys], z=z,
                               colorbar={"title": label}))  # fmt: skip
    if best:
        star = {"size": 18, "symbol": "star", "color": "gold"}
        fig.add_trace(
            go.Scatter(x=[str(best[x])], y=[str(best[y])], mode="markers", name="best", marker=star)
        )
    fig.update_layout(title=f"{label} by {x} and {y}", xaxis_title=x, yaxis_title=y)
    return fig


# -- reproduction and safety ------------------------------------------------------------------
def reproduce_command(scenarios: Sequence[str], replicates: int, overrides: Sequence[str]) -> str:
    """The command line that reproduces a comparison (a multirun over scenarios and seeds)."""
    parts = ["python", "-m", "sim", "-m", f"scenario={','.join(scenarios)}",
             f"seed=range(0,{replicates})", *overrides]  # fmt: skip
    return " ".join(shlex.quote(p) for p in parts)


def resolve_under(root: str | Path, candidate: str | Path) -> Path:
    """``candidate`` (absolute, or relative to ``root``) if it really lies under ``root``.

    Symlinks are resolved first, so a link pointing outside the root is refused.

    Raises:
        ValueError: the path leaves the results root (``../..``, a symlink out), loops,
            or cannot be resolved (too long): a message for the user.
    """
    text = str(candidate)
    shown = text if len(text) <= 80 else text[:77] + "..."
    try:
        root_path = Path(root).resolve()
        path = Path(candidate)
        path = (path if path.is_absolute() else root_path / path).resolve(strict=False)
        path.exists()  # an over-long path fails here rather than later
    except RuntimeError:
        raise ValueError(f"{shown}: a symlink loop") from None
    except OSError as exc:
        raise ValueError(f"{shown}: cannot be opened ({exc.strerror or exc})") from None
    if path != root_path and root_path not in path.parents:
        raise ValueError(f"{shown}: only folders under the results root {root_path} can be opened")
    return path


def summary_under(root: str | Path, candidate: str | Path) -> Path:
    """The sweep folder ``candidate`` under ``root``, with its summary.parquet under it too.

    Raises:
        ValueError: the folder or its summary file (e.g. a symlink) leaves the results root.
    """
    folder = resolve_under(root, candidate)
    summary = folder / "summary.parquet"
    if summary.is_symlink() or summary.exists():
        resolve_under(root, summary)
    return folder


def find_sweeps(root: str | Path, limit: int = 200) -> list[str]:
    """Sweep folders under the results root holding a summary.parquet (relative paths).

    Summaries that are symlinks out of the root, and folders that cannot be read, are left out.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        return []
    found = []
    try:
        for path in sorted(root_path.rglob("summary.parquet")):
            try:
                folder = summary_under(root_path, path.parent)
            except ValueError:
                continue
            found.append(str(folder.relative_to(root_path.resolve())))
            if len(found) >= limit:
                break
    except OSError:
        pass
    return found


# -- the model, in plain words ------------------------------------------------------------------
#: Each rule of the model for the "Explain the model" page: what it says, its equation
#: and the config keys that control it (checked against the config by the tests).
RULES = (
    {
        "name": "Touchpoints compete",
        "words": "Each day a customer meets at most one touchpoint: an ad of some brand on some "
        "channel, a conversation with a friend, using the product, or a service contact. "
        "Which one is drawn from their daily rates.",
        "equation": "P(ad b,c) = reach[b,c];  P(talk) = talk_rate * activity_i;  "
        "P(use) = usage_rate;  P(contact) = contact_rate",
        "keys": ("brands.incumbent.ad_reach.tv", "wom.talk_rate", "market.journey.usage_rate",
                 "service.contact_rate"),
    },
    {
        "name": "Ads build awareness and attitude",
        "words": "An ad can make a customer aware of the brand (the channel's awareness role) and "
        "pulls the attitude a little toward the ad's tone; a liked brand may enter the "
        "consideration set, and some channels (search, app, store) can trigger a purchase now.",
        "equation": "a' = a + w_ad (tone + shift - a)",
        "keys": ("wom.ad_weight", "wom.ad_tone", "channels.tv.awareness",
                 "channels.search.purchase"),
    },
    {
        "name": "Word of mouth",
        "words": "Customers trust each other more than brands. A customer talks with a random "
        "neighbour; promoters praise, detractors warn (and warnings weigh more), passives just "
        "mention the brand. Influence is the share of neighbours who speak, so on the complete "
        "network this is the Bass model.",
        "equation": "praise: a' = a + w (1 - a);  warning: a' = a + min(1, w lambda) (0 - a)",
        "keys": ("wom.weight", "wom.negativity_bias", "wom.consideration", "network.kind"),
    },
    {
        "name": "Expectations and satisfaction",
        "words": "Every direct touchpoint is judged against what the customer expected. The gap "
        "(disconfirmation) moves satisfaction; bad news weighs more, but loyal customers forgive. "
        "Expectations adapt to experience.",
        "equation": "d = x - e;  v = clip(v0 + kappa d);  s' = s + w_eff (v - s);  "
        "e' = e + rho (x - e)",
        "keys": ("market.satisfaction.met_level", "market.satisfaction.sensitivity",
                 "market.satisfaction.weight", "market.satisfaction.negativity_bias",
                 "market.satisfaction.forgiveness", "market.satisfaction.expectation_rate"),
    },
    {
        "name": "Service quality and recovery",
        "words": "A service contact succeeds with the brand's quality on the customer's channel; "
        "a failure may be put right (first-contact resolution), and a well-recovered failure can "
        "leave the customer happier than before (the recovery paradox). Waiting and friction "
        "lower every experience.",
        "equation": "P(success) = q;  P(recovered) = (1 - q) r;  "
        "x = x_s - f | e + pi - f | x_fail - f",
        "keys": ("brands.incumbent.service_quality.service",
                 "brands.incumbent.first_contact_resolution.service",
                 "brands.incumbent.friction.app", "service.recovery_paradox",
                 "service.failure_experience"),
    },
    {
        "name": "Choice",
        "words": "At a purchase occasion the customer picks a brand from its consideration set by "
        "a multinomial logit on attitude, price and friction, with a bonus for staying.",
        "equation": "U_b = beta_a a_b - beta_p psi_i p_b - beta_f f_b + I[current];  "
        "P(b) = exp(U_b) / sum_k exp(U_k)",
        "keys": ("market.choice.beta_attitude", "market.choice.beta_price",
                 "market.choice.beta_friction", "market.choice.inertia",
                 "market.journey.need_rate"),
    },
    {
        "name": "Churn and switching",
        "words": "The risk of leaving rises as satisfaction falls; one very bad touchpoint can "
        "make "
        "a customer leave at once. A leaver switches to a brand it considers, or lapses and "
        "starts the journey again.",
        "equation": "h = min(1, pi_i m exp(gamma (s_ref - s)));  leave at once if d < -theta "
        "(with probability p_shock)",
        "keys": ("market.churn.sensitivity", "market.churn.reference",
                 "market.churn.shock_threshold", "market.churn.shock_switch",
                 "market.traits.churn_propensity.alpha"),
    },
    {
        "name": "Money",
        "words": "Customers pay every day and loyal customers spend more; profit is the margin on "
        "revenue less ad spend, service costs and programme costs. CLV is discounted profit per "
        "customer served.",
        "equation": "revenue = p_b (1 + g min(tenure / year, cap));  "
        "profit = margin * revenue - ads - service - programmes",
        "keys": ("brands.incumbent.price", "brands.incumbent.margin",
                 "market.spend.tenure_uplift", "finance.discount_rate"),
    },
    {
        "name": "Advocacy",
        "words": "Likelihood to recommend (0-10) follows satisfaction: 9-10 are promoters, 0-6 "
        "detractors; NPS is the share of promoters minus the share of detractors.",
        "equation": "LTR = min(10, floor(11 s));  NPS = 100 (promoters - detractors) / customers",
        "keys": ("market.initial_satisfaction",),
    },
)  # fmt: skip
