"""``journeysim journeys``: sampled customers' touchpoint paths and the weekly marketing mix.

A run with ``sim.trace=N`` records every touchpoint of N customers sampled by the seed
(``Result.touchpoints``). Each sampled customer's path is the sequence of its touchpoints
from step 1 until its first conversion (an acquisition; of ``--brand`` if given) or the end
of the run, in the format of attribution tools: ``paths.csv`` with ``path`` (touchpoints
joined by `` > ``), ``conversions`` and ``nulls`` (how many sampled customers followed that
path and converted, or not). A touchpoint is labelled by what it was:

- ``ad``: the channel (``tv``, ``social``, ...), so a path state is a paid channel;
- ``news``: ``news:<channel>`` (earned exposures, e.g. ``news:reviews``);
- ``word_of_mouth``: ``word_of_mouth``;
- ``service``: ``service:<channel>``; ``usage``: ``usage`` (experiences with a brand one
  already uses; left out unless asked for with ``--touches``).

With ``--brand B`` only touchpoints about B count and a conversion is an acquisition by B.
``mix.parquet`` holds the weekly marketing mix per brand and channel from
``Result.channels``: spend, impressions, earned exposures (news) and conversions (the
brand's acquisitions whose last touchpoint was its message on that channel; word of mouth
is the pseudo-channel ``word_of_mouth``). Both files are aggregates, so they stay small
however large the run.

``journeysim attribute --truth`` (``truth_command``) runs the same market again with each
channel's ads switched off, on the same seeds (common random numbers: the same customers
are traced and meet the same draws), and compares the conversions lost with the Markov
removal effects of the base run's paths.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import polars as pl

from sim.analysis import images, options, runs
from sim.analysis.attribution import SEPARATOR, markov_attribution, print_attribution
from sim.config import ConfigError

TOUCHES = ("ad", "news", "word_of_mouth", "service", "usage")
DEFAULT_TOUCHES = ("ad", "news", "word_of_mouth")
OUTPUTS = ("paths.csv", "mix.parquet", "journeys.html")
TRUTH_OUTPUTS = ("truth.parquet", "attribution.parquet", "paths.csv", "truth.html")
#: Customers traced by default: journeys, and the truth (its precision grows with it).
JOURNEY_SAMPLE = 10_000
TRUTH_SAMPLE = 20_000


# -- paths -----------------------------------------------------------------------------------
def labels() -> pl.Expr:
    """A touchpoint's label in a path (see the module docstring)."""
    touch, channel = pl.col("touch"), pl.col("channel")
    return (
        pl.when(touch == "ad")
        .then(pl.coalesce(channel, pl.lit("ad")))
        .when(touch.is_in(["news", "service"]) & channel.is_not_null())
        .then(pl.concat_str([touch, pl.lit(":"), channel]))
        .otherwise(touch)
    )


def customer_paths(
    touchpoints: pl.DataFrame, brand: str | None = None, touches: tuple[str, ...] = DEFAULT_TOUCHES
) -> pl.DataFrame:
    """One row per traced customer: its path until its first conversion, and whether it converted.

    Args:
        touchpoints: ``Result.touchpoints`` (step, customer, touch, brand, channel, stage),
            each customer's events in the order they happened.
        brand: count only touchpoints about this brand, and its acquisitions as conversions.
        touches: the kinds of touchpoint that make up a path.

    Returns:
        customer, path (labels joined by `` > ``; empty if none), converted (bool),
        conversion_step (null if not converted).
    """
    tp = touchpoints.with_row_index("__i")
    about = pl.col("brand") == brand if brand is not None else pl.lit(True)
    conversions = (
        tp.filter((pl.col("touch") == "acquired") & (pl.col("step") >= 1) & about)
        .group_by("customer")
        .agg(pl.col("__i").min().alias("__conv"), pl.col("step").min().alias("conversion_step"))
    )
    path = (
        tp.filter(pl.col("touch").is_in(list(touches)) & (pl.col("step") >= 1) & about)
        .join(conversions, on="customer", how="left")
        .filter(pl.col("__conv").is_null() | (pl.col("__i") < pl.col("__conv")))
        .sort("customer", "step", "__i")
        .group_by("customer", maintain_order=True)
        .agg(labels().str.join(SEPARATOR).alias("path"))
    )
    customers = tp.select(pl.col("customer").unique().sort())
    return (
        customers.join(path, on="customer", how="left")
        .join(conversions.select("customer", "conversion_step"), on="customer", how="left")
        .with_columns(
            pl.col("path").fill_null(""),
            pl.col("conversion_step").is_not_null().alias("converted"),
        )
        .select("customer", "path", "converted", "conversion_step")
    )


def aggregate_paths(per_customer: pl.DataFrame) -> pl.DataFrame:
    """Identical paths counted: path, conversions, nulls (most frequent first)."""
    return (
        per_customer.group_by("path")
        .agg(
            pl.col("converted").sum().cast(pl.Int64).alias("conversions"),
            (~pl.col("converted")).sum().cast(pl.Int64).alias("nulls"),
        )
        .with_columns((pl.col("conversions") + pl.col("nulls")).alias("__n"))
        .sort(["__n", "path"], descending=[True, False])
        .drop("__n")
    )


def combine_paths(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Path counts of several runs added together (most frequent first)."""
    return (
        pl.concat(frames)
        .group_by("path")
        .agg(pl.col("conversions").sum(), pl.col("nulls").sum())
        .with_columns((pl.col("conversions") + pl.col("nulls")).alias("__n"))
        .sort(["__n", "path"], descending=[True, False])
        .drop("__n")
    )


# -- the weekly marketing mix ------------------------------------------------------------
def week_length(cfg) -> int:
    """Simulation steps per week (7 for a daily model, 1 for a weekly one)."""
    return max(1, round(float(cfg.sim.steps_per_year) / 52.0))


def weekly_mix(channels: pl.DataFrame, steps_per_week: int) -> pl.DataFrame:
    """``Result.channels`` summed per week, brand and channel.

    Returns week (1 for steps 1..7, ...), brand, channel, spend, impressions, news,
    conversions.
    """
    sums = [c for c in ("spend", "impressions", "news", "conversions") if c in channels.columns]
    return (
        channels.filter(pl.col("step") >= 1)
        .with_columns(((pl.col("step") - 1) // steps_per_week + 1).cast(pl.Int64).alias("week"))
        .group_by("week", "brand", "channel", maintain_order=True)
        .agg([pl.col(c).sum() for c in sums])
        .sort("week", "brand", "channel")
    )


def journey_extract(result, brand: str | None, touches: tuple[str, ...]) -> dict:
    """Worker side: a run's path counts and weekly mix (small, whatever the run's size)."""
    per_customer = customer_paths(result.touchpoints, brand, touches)
    seed = int(result.config.seed)
    mix = weekly_mix(result.channels, week_length(result.config))
    return {
        "paths": aggregate_paths(per_customer),
        "mix": mix.with_columns(pl.lit(seed, pl.Int64).alias("seed")),
        "traced": per_customer.height,
    }


def conversions_extract(result, brand: str | None, touches: tuple[str, ...]) -> dict:
    """Worker side, for the truth: path counts of a run (no mix)."""
    per_customer = customer_paths(result.touchpoints, brand, touches)
    return {"paths": aggregate_paths(per_customer), "traced": per_customer.height}


# -- shared options -------------------------------------------------------------------------
def _touches(text: str) -> tuple[str, ...]:
    out = tuple(t.strip() for t in text.split(",") if t.strip())
    for t in out:
        if t not in TOUCHES:
            raise options.UsageError(
                f"--touches {text}: {t!r} is not a touchpoint (touchpoints: {', '.join(TOUCHES)})"
            )
    if not out:
        raise options.UsageError("--touches: give at least one touchpoint")
    return out


def _add_options(p, sample_help: str) -> None:
    p.add_argument("--sample", type=int, default=None, metavar="N", help=sample_help)
    p.add_argument("--brand", default=None, help="only this brand's touchpoints and acquisitions")
    p.add_argument(
        "--touches",
        default=",".join(DEFAULT_TOUCHES),
        help="touchpoints that make up a path (default ad,news,word_of_mouth; also service, usage)",
    )


def _market(ns, sample: int) -> runs.Market:
    overrides = [o for o in ns.overrides if o.partition("=")[0].lstrip("+") != "sim.trace"]
    market = runs.Market.compose([*overrides, f"sim.trace={sample}"], ns.seed)
    if ns.brand is not None and ns.brand not in market.brands:
        raise ConfigError(
            f"--brand {ns.brand}: not a brand of the market (brands: {', '.join(market.brands)})"
        )
    return market


def _sample(ns, default: int, customers: int) -> int:
    sample = ns.sample if ns.sample is not None else default
    if sample < 1:
        raise options.UsageError(f"--sample {sample}: must be at least 1")
    if sample > customers:
        raise ConfigError(
            f"--sample {sample}: the market has {customers} customers (market.customers)"
        )
    return sample


# -- journeysim journeys ------------------------------------------------------------------
def command(args: list[str]) -> int:
    """``journeysim journeys [overrides] --sample N``."""
    return options.run_command(lambda: _command(args))


def _command(args: list[str]) -> int:
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text

    p = options.parser("journeys", "Sampled customers' touchpoint paths and the weekly mix.")
    _add_options(p, "customers to trace per replicate (default 10000, at most all)")
    ns = options.parse(p, args)
    touches = _touches(ns.touches)
    customers = int(runs.Market.compose(ns.overrides, ns.seed).config.market.customers)
    sample = _sample(ns, min(JOURNEY_SAMPLE, customers), customers)
    market = _market(ns, sample)
    market.check_seed(market.seed + ns.replicates - 1)
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=min(jobs, ns.replicates))
    folder = options.out_dir("journeys", ns.out)
    options.check_out(folder)
    seeds = runs.replicate_seeds(market.seed, ns.replicates)
    extract = partial(journey_extract, brand=ns.brand, touches=touches)
    tasks = [runs.Task({}, s, extract) for s in seeds]
    got = runs.run_all(market, tasks, jobs, "journeysim journeys")
    paths = combine_paths([g["paths"] for g in got])
    mix = pl.concat([g["mix"] for g in got]).select("seed", pl.exclude("seed"))
    cargs = [
        "--sample",
        str(sample),
        "--touches",
        ",".join(touches),
        "--seed",
        str(market.seed),
        "--replicates",
        str(ns.replicates),
        "--out",
        str(folder),
        *ns.overrides,
    ]
    if ns.brand:
        cargs[:0] = ["--brand", ns.brand]
    reproduce = options.reproduce("journeys", cargs)
    options.start_output(folder)
    write_text(paths.write_csv(), folder / "paths.csv")
    write_parquet(mix, folder / "mix.parquet")
    plots.save([plots.paths_figure(paths), plots.mix_figure(mix)], folder / "journeys.html")
    traced = sum(g["traced"] for g in got)
    conv = int(paths["conversions"].sum())
    options.write_manifest(
        folder,
        "journeys",
        reproduce,
        traced=traced,
        conversions=conv,
        distinct_paths=paths.height,
        brand=ns.brand,
    )
    print_paths(paths, traced)
    print(f"results in {folder}: " + ", ".join(images.with_images(OUTPUTS, folder)))
    return 0


def print_paths(paths: pl.DataFrame, traced: int, top: int = 15) -> None:
    """The most frequent paths, with their conversion rates."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 140)
    conv = int(paths["conversions"].sum())
    t = Table(
        title=f"journeysim journeys: {traced:,} customers traced, {conv:,} converted, "
        f"{paths.height:,} distinct paths (most frequent first)"
    )
    for head in ("path", "customers", "conversions", "rate"):
        t.add_column(head, justify="left" if head == "path" else "right", overflow="fold")
    for r in paths.head(top).iter_rows(named=True):
        n = r["conversions"] + r["nulls"]
        shown = r["path"] if len(r["path"]) <= 90 else r["path"][:87] + "..."
        t.add_row(
            shown or "(no touchpoint)",
            f"{n:,}",
            f"{r['conversions']:,}",
            f"{r['conversions'] / n:.1%}",
        )
    console.print(t)


# -- journeysim attribute --truth ----------------------------------------------------------
#: Seeds of the truth by default: its intervals are over seeds (with one there is none, and at
#: three most intervals of the true removal effects included 0).
TRUTH_REPLICATES = 5


def ad_channels(market: runs.Market, brand: str | None) -> list[str]:
    """Channels on which the brand (any brand without one) runs ads in the market as given."""
    brands = [brand] if brand else market.brands
    out = []
    for channel in market.config.channels:
        reach = [float(market.config.brands[b].ad_reach.get(channel, 0.0) or 0.0) for b in brands]
        if any(r > 0 for r in reach):
            out.append(str(channel))
    return out


def switched_off(market: runs.Market, brand: str | None, channel: str) -> dict[str, float]:
    """The overrides that switch a channel's ads off (the brand's, or every brand's)."""
    brands = [brand] if brand else market.brands
    return {
        f"brands.{b}.ad_reach.{channel}": 0.0
        for b in brands
        if channel in market.config.brands[b].ad_reach
    }


def truth_table(
    markov: pl.DataFrame, base: list[int], off: dict[str, list[int]], level: float = 0.95
) -> pl.DataFrame:
    """Markov removal effects beside the truth, per switched-off channel.

    Args:
        markov: ``markov_attribution`` of the base runs' paths.
        base: conversions of the traced customers in each base run (one per seed).
        off: per channel, the conversions in each run with its ads off (same seeds).
        level: the confidence level of the intervals over seeds.

    Returns:
        channel, markov_removal_effect, true_removal_effect (conversions lost / base
        conversions, pooled over seeds) with a 95% interval (_low, _high: the pooled ratio
        -/+ the t half-width of the per-seed ratios; none with one seed),
        markov_lost and true_lost (conversions), markov_share and true_share (normalised over
        the switched-off channels), error (Markov - truth, removal effect) and share_error.
    """
    from sim.sweeps.summary import t_interval

    effects = dict(
        zip(markov["channel"].to_list(), markov["removal_effect"].to_list(), strict=True)
    )
    b = np.asarray(base, dtype=float)
    total = float(b.sum())
    rows = []
    for channel, conv in off.items():
        o = np.asarray(conv, dtype=float)
        lost = b - o
        with np.errstate(invalid="ignore", divide="ignore"):
            per_seed = np.where(b > 0, lost / b, np.nan)
        _, lo, hi = t_interval(per_seed, level)
        half = (hi - lo) / 2  # NaN with one seed
        m = effects.get(channel, 0.0)
        true_effect = float(lost.sum() / total) if total > 0 else math.nan
        rows.append(
            {
                "channel": channel,
                "markov_removal_effect": m,
                "true_removal_effect": true_effect,
                "true_removal_effect_low": None if math.isnan(half) else true_effect - half,
                "true_removal_effect_high": None if math.isnan(half) else true_effect + half,
                "markov_lost": m * total,
                "true_lost": float(lost.sum()),
            }
        )
    table = pl.DataFrame(rows)
    m_sum = table["markov_removal_effect"].sum()
    t_sum = table["true_lost"].clip(lower_bound=0).sum()
    table = table.with_columns(
        (pl.col("markov_removal_effect") / m_sum if m_sum > 0 else pl.lit(None, pl.Float64)).alias(
            "markov_share"
        ),
        (
            pl.col("true_lost").clip(lower_bound=0) / t_sum
            if t_sum > 0
            else pl.lit(None, pl.Float64)
        ).alias("true_share"),
    )
    return table.with_columns(
        (pl.col("markov_removal_effect") - pl.col("true_removal_effect")).alias("error"),
        (pl.col("markov_share") - pl.col("true_share")).alias("share_error"),
    ).sort("true_lost", descending=True)


def print_truth(table: pl.DataFrame, conversions: int, seeds: int) -> None:
    """The comparison on stdout, with its mean absolute errors."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 160)
    t = Table(
        title=f"journeysim attribute --truth: Markov vs conversions lost with the ads off "
        f"({conversions:,} conversions, {seeds} seed(s))"
    )
    heads = (
        "channel",
        "Markov RE",
        "true RE",
        "95% CI",
        "Markov lost",
        "true lost",
        "Markov share",
        "true share",
        "error (RE)",
    )
    for h in heads:
        t.add_column(h, justify="left" if h == "channel" else "right")

    def f(x, spec=".3f") -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    for r in table.iter_rows(named=True):
        t.add_row(
            r["channel"],
            f(r["markov_removal_effect"]),
            f(r["true_removal_effect"]),
            f"[{f(r['true_removal_effect_low'])}, {f(r['true_removal_effect_high'])}]",
            f(r["markov_lost"], ",.1f"),
            f(r["true_lost"], ",.0f"),
            f(r["markov_share"], ".1%"),
            f(r["true_share"], ".1%"),
            f(r["error"], "+.3f"),
        )
    console.print(t)
    mae = table["error"].abs().mean()
    share_mae = table["share_error"].abs().mean()
    print(f"mean absolute error: removal effect {f(mae)}, share {f(share_mae, '.1%')}")
    print(credit_gap(table))


def credit_gap(table: pl.DataFrame) -> str:
    """One line: the conversions Markov credits to the channels against those they win.

    The finding an analyst needs most: attribution credits channels with the conversions
    that passed through them, the truth counts only those lost without their ads.
    """
    markov, true = float(table["markov_lost"].sum()), float(table["true_lost"].sum())
    if true <= 0:
        return (f"credit gap: Markov credits the channels with {markov:,.0f} conversions; "
                "switching their ads off lost none")  # fmt: skip
    ratio = markov / true
    return (f"credit gap: Markov credits the channels with {markov:,.0f} conversions, "
            f"{ratio:.1f} times the {true:,.0f} actually lost when their ads are off")  # fmt: skip


def truth_command(args: list[str]) -> int:
    """``journeysim attribute --truth [overrides]``: Markov attribution against the truth."""
    from sim.analysis import plots
    from sim.engine.resources import check_memory
    from sim.sweeps.io import write_parquet, write_text

    p = options.parser(
        "attribute --truth",
        "Markov attribution of a run's paths beside the conversions lost when each channel's "
        "ads are switched off (same seeds).",
        folder="attribute",
        replicates=TRUTH_REPLICATES,
    )
    _add_options(p, "customers to trace (default: all of them, at most 20000)")
    ns = options.parse(p, args)
    touches = _touches(ns.touches)
    customers = int(runs.Market.compose(ns.overrides, ns.seed).config.market.customers)
    sample = _sample(ns, min(TRUTH_SAMPLE, customers), customers)
    market = _market(ns, sample)
    market.check_seed(market.seed + ns.replicates - 1)
    channels = ad_channels(market, ns.brand)
    if not channels:
        who = ns.brand or "any brand"
        raise ConfigError(f"no channel carries ads of {who} (every ad_reach is 0): no truth")
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=jobs)
    folder = options.out_dir("attribute", ns.out)
    options.check_out(folder)
    seeds = runs.replicate_seeds(market.seed, ns.replicates)
    extract = partial(conversions_extract, brand=ns.brand, touches=touches)
    variants = [("", {})] + [(c, switched_off(market, ns.brand, c)) for c in channels]
    tasks = [runs.Task(values, s, extract) for _, values in variants for s in seeds]
    got = runs.run_all(market, tasks, jobs, "journeysim attribute --truth")
    r = len(seeds)
    base = got[:r]
    paths = combine_paths([g["paths"] for g in base])
    markov = markov_attribution(paths)
    base_conv = [int(g["paths"]["conversions"].sum()) for g in base]
    off = {
        c: [int(g["paths"]["conversions"].sum()) for g in got[(k + 1) * r : (k + 2) * r]]
        for k, c in enumerate(channels)
    }
    table = truth_table(markov, base_conv, off)
    cargs = [
        "--truth",
        "--sample",
        str(sample),
        "--touches",
        ",".join(touches),
        "--seed",
        str(market.seed),
        "--replicates",
        str(ns.replicates),
        "--out",
        str(folder),
        *ns.overrides,
    ]
    if ns.brand:
        cargs[1:1] = ["--brand", ns.brand]
    reproduce = options.reproduce("attribute", cargs)
    options.start_output(folder)
    write_text(paths.write_csv(), folder / "paths.csv")
    write_parquet(markov, folder / "attribution.parquet")
    write_parquet(table, folder / "truth.parquet")
    plots.save([plots.truth_figure(table), plots.attribution_figure(markov)], folder / "truth.html")
    options.write_manifest(
        folder,
        "attribute",
        reproduce,
        truth=True,
        channels=channels,
        brand=ns.brand,
        conversions=sum(base_conv),
        seed=market.seed,
        replicates=ns.replicates,
        mean_absolute_error=float(table["error"].abs().mean()),
    )
    print_attribution(markov, "Markov removal effects of the base run's paths")
    print_truth(table, sum(base_conv), r)
    print(f"results in {folder}: " + ", ".join(images.with_images(TRUTH_OUTPUTS, folder)))
    return 0
