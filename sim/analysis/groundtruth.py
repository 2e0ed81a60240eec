"""``journeysim groundtruth``: simulated media-mix data with the true effect of every channel.

``journeysim groundtruth [overrides] --weeks W --flighting PLAN --out DIR`` runs the market for
W weeks with the focal brand's (``--brand``, default the first) ad spend following a weekly
plan (``sim.analysis.flighting``: a named generator or a plan file), compiled into
``ad_burst`` events on top of the scenario's own, from step 0 on the shared status quo. The
same market then runs with each channel's spend removed, lowered by a step, scaled along a
response curve and pulsed for one week, on the same seeds (``sim.analysis.truth``), and the
folder gets:

- ``mmm.parquet`` / ``mmm.csv``: the world's weekly data (the first seed's plan run;
  ``sim.analysis.mmm_data``), and ``pymc_marketing.csv`` / ``meridian.csv`` in those
  libraries' layouts;
- ``truth.parquet`` (contributions per channel, week, region, brand and KPI),
  ``truth_channels.parquet`` (totals, ROAS, marginal ROAS, carry-over), ``curves.parquet``,
  ``carryover.parquet``, ``cross_brand.parquet`` (halo and cannibalisation), ``plan.parquet``;
- ``paths.csv``: the traced customers' paths of the same run, as ``journeysim journeys``
  writes them (the focal brand's touchpoints and acquisitions);
- ``README.txt``: the world and how the truth was computed; ``analysis.yaml`` last.

With more than one region (``regions=example``) the plan varies by region too (its events
name their regions), ``mmm.*`` has per week the market's row (region ``all``) and one per
region, ``meridian.csv`` is Meridian's geo layout, ``pymc_marketing.csv`` the national sum
and ``pymc_marketing_geo.csv`` the geo panel; ``truth.parquet`` has the regions' rows after
the market's, and two more files: ``truth_regions.parquet`` (per channel and region, the
national removal's effect there) and ``geo_lift.parquet`` (per channel and region, the truth
of removing the channel in that region only: a geo experiment's; ``--no-geo-lift`` skips its
C x R extra variants).

``journeysim groundtruth --check MODEL.csv [--truth DIR]`` compares a model's estimates with
the truth (``sim.analysis.truthcheck``).
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import flighting, options, runs
from sim.analysis import truth as T
from sim.config import ConfigError

OUTPUTS = ("mmm.parquet", "mmm.csv", "pymc_marketing.csv", "meridian.csv", "truth.parquet",
           "truth_channels.parquet", "curves.parquet", "carryover.parquet",
           "cross_brand.parquet", "plan.parquet", "paths.csv", "README.txt")  # fmt: skip
#: The further files of a market of several regions.
GEO_OUTPUTS = ("pymc_marketing_geo.csv", "truth_regions.parquet", "geo_lift.parquet")
DEFAULT_WEEKS = 52
DEFAULT_REPLICATES = 3
MAX_REPLICATES = 100
DEFAULT_STEP = 0.2
DEFAULT_CURVE = (0.5, 1.5, 2.0)
#: Most curve points, and the largest curve multiplier.
MAX_CURVE_POINTS, MAX_CURVE = 8, 4.0
DEFAULT_PULSE = 2.0
#: Most simulations one command may ask for.
MAX_RUNS = 20_000
#: Customers traced for paths.csv by default (0: no paths).
DEFAULT_SAMPLE = 10_000
KPI_CHOICES = ("revenue", "acquisitions")


def command(args: list[str]) -> int:
    """``journeysim groundtruth [overrides] ...`` or ``groundtruth --check MODEL.csv``."""
    if "--check" in args:
        from sim.analysis import truthcheck

        return options.run_command(lambda: truthcheck.command(args))
    return options.run_command(lambda: _command(args))


def _floats(text: str, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise options.UsageError(f"{what} {text}: not a comma-separated list of numbers") from None
    return values


def parse_args(args: list[str]):
    """The command line, checked (one-line ``UsageError`` for a bad option)."""
    p = options.parser(
        "groundtruth",
        "Simulated media-mix data (a weekly flighting plan) with the true incremental effect "
        "of every channel from paired counterfactual runs.",
        replicates=DEFAULT_REPLICATES,
    )
    p.add_argument("--weeks", type=int, default=DEFAULT_WEEKS, metavar="W",
                   help=f"weeks to simulate (default {DEFAULT_WEEKS}, at most "
                   f"{flighting.MAX_WEEKS})")  # fmt: skip
    p.add_argument("--flighting", default=flighting.DEFAULT_PLAN, metavar="PLAN",
                   help="a generator (constant, flights, bursts, steps, random[:sd=0.5,seed=0]) "
                   "or a plan file (.csv/.yaml)")  # fmt: skip
    p.add_argument("--brand", default=None, help="the brand whose ads follow the plan "
                   "(default: the first brand)")  # fmt: skip
    p.add_argument("--channels", default=None, metavar="C1,C2",
                   help="the channels the plan moves and the truth measures (default: every "
                   "channel the brand advertises on)")  # fmt: skip
    p.add_argument(
        "--kpi",
        default="revenue",
        choices=KPI_CHOICES,
        help="the KPI of the PyMC-Marketing and Meridian files (default revenue)",
    )
    p.add_argument("--step", type=float, default=DEFAULT_STEP,
                   help=f"share of a channel's spend removed for marginal ROAS (default "
                   f"{DEFAULT_STEP})")  # fmt: skip
    p.add_argument("--curve", default=",".join(f"{k:g}" for k in DEFAULT_CURVE),
                   help="response-curve multipliers of a channel's plan besides 0, 1 - step "
                   "and 1 (default 0.5,1.5,2)")  # fmt: skip
    p.add_argument(
        "--pulse",
        type=float,
        default=DEFAULT_PULSE,
        help="multiplier added in the pulse week, for carry-over (default 2)",
    )
    p.add_argument("--pulse-week", type=int, default=1, help="the pulse's week (default 1)")
    p.add_argument(
        "--no-geo-lift",
        action="store_true",
        help="with several regions, skip the geo lifts (a channel removed in one region only; "
        "geo_lift.parquet empty)",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="customers traced for paths.csv (default 10000 or all; 0: none)",
    )
    ns = options.parse(p, args)
    if not 1 <= ns.weeks <= flighting.MAX_WEEKS:
        raise options.UsageError(f"--weeks {ns.weeks}: must be in [1, {flighting.MAX_WEEKS}]")
    if ns.replicates > MAX_REPLICATES:
        raise options.UsageError(f"--replicates {ns.replicates}: at most {MAX_REPLICATES}")
    if not (0 < ns.step < 1):
        raise options.UsageError(f"--step {ns.step:g}: must be in (0, 1)")
    ns.curve = _floats(ns.curve, "--curve")
    if len(ns.curve) > MAX_CURVE_POINTS:
        raise options.UsageError(f"--curve: at most {MAX_CURVE_POINTS} multipliers")
    for k in ns.curve:
        if not (0 < k <= MAX_CURVE) or k in (1.0, 1.0 - ns.step):
            raise options.UsageError(f"--curve {k:g}: must be in (0, {MAX_CURVE:g}], other than "
                                     f"1 and 1 - step ({1 - ns.step:g})")  # fmt: skip
    if len(set(ns.curve)) != len(ns.curve):
        raise options.UsageError("--curve: a multiplier is given twice")
    if not (0 < ns.pulse <= flighting.MAX_MULTIPLIER):
        raise options.UsageError(f"--pulse {ns.pulse:g}: must be in (0, "
                                 f"{flighting.MAX_MULTIPLIER:g}]")  # fmt: skip
    if not 1 <= ns.pulse_week <= ns.weeks:
        raise options.UsageError(f"--pulse-week {ns.pulse_week}: must be in [1, {ns.weeks}]")
    if ns.sample is not None and ns.sample < 0:
        raise options.UsageError(f"--sample {ns.sample}: must be at least 0")
    if Path(ns.flighting).suffix.lower() not in (".csv", ".yaml", ".yml"):
        flighting.parse_spec(ns.flighting)  # a generator: checked before the market is composed
    for o in ns.overrides:
        if o.partition("=")[0].lstrip("+~") in ("sim.steps", "sim.trace"):
            raise options.UsageError(f"{o}: set by groundtruth (--weeks, --sample)")
    return ns


def plain(node) -> list[dict]:
    """A resolved config list of events as plain mappings without empty fields."""
    from omegaconf import OmegaConf

    out = []
    for ev in OmegaConf.to_container(node, resolve=True) if node is not None else []:
        out.append({k: v for k, v in ev.items() if v is not None})
    return out


def market_of(ns) -> tuple[runs.Market, int, int]:
    """The composed market (W weeks recorded), steps a week, customers to trace.

    Only the data's run (the plan on the first seed) traces customers: recording touchpoints
    changes no draw and no result (``sim.trace`` is not part of the status quo either), and
    it cost 45 % of a 20,000-customer year's run.
    """
    from sim.analysis.journeys import week_length

    first = runs.Market.compose(ns.overrides, ns.seed)
    spw = week_length(first.config)
    customers = int(first.config.market.customers)
    sample = min(DEFAULT_SAMPLE, customers) if ns.sample is None else ns.sample
    if sample > customers:
        raise ConfigError(f"--sample {sample}: the market has {customers} customers")
    market = runs.Market.compose([*ns.overrides, f"sim.steps={ns.weeks * spw}"], ns.seed)
    if sample:
        market.candidate({"sim.trace": sample})  # refused here, in one line, if out of range
    return market, spw, sample


def _command(args: list[str]) -> int:
    from sim.engine.resources import check_memory

    ns = parse_args(args)
    market, spw, sample = market_of(ns)
    brand = ns.brand or market.brands[0]
    if brand not in market.brands:
        raise ConfigError(f"--brand {brand}: not a brand of the market "
                          f"(brands: {', '.join(market.brands)})")  # fmt: skip
    only = [c.strip() for c in ns.channels.split(",") if c.strip()] if ns.channels else None
    plan = flighting.make_plan(market.config, brand, ns.flighting, ns.weeks, spw, only)
    scenario_events = plain(market.config.scenario.get("events"))
    regional = len(plan.regions) > 1
    vs = T.variants(plan, ns.step, ns.curve, ns.pulse, ns.pulse_week,
                    geo_lift=regional and not ns.no_geo_lift)  # fmt: skip
    seeds = runs.replicate_seeds(market.seed, ns.replicates)
    if len(vs) * len(seeds) > MAX_RUNS:
        raise ConfigError(f"{len(vs)} variants x {len(seeds)} seeds = "
                          f"{len(vs) * len(seeds):,} runs; at most {MAX_RUNS:,}")  # fmt: skip
    market.check_seed(seeds[-1])
    # every variant's events pass the config's checks before any run
    for v in (vs[0], vs[-1]):
        market.candidate({"scenario.events": scenario_events + flighting.events(v.plan, spw)})
    jobs = ns.jobs or runs.default_jobs()
    check_memory(market.config, concurrent=jobs)
    folder = options.out_dir("groundtruth", ns.out)
    options.check_out(folder)

    tasks = []
    for v in vs:
        values = {"scenario.events": scenario_events + flighting.events(v.plan, spw)}
        for k, s in enumerate(seeds):
            traced = v.kind == "base" and k == 0 and sample > 0  # the data's run
            extract = partial(T.extract, steps_per_week=spw, paths_brand=brand, paths=traced,
                              **({"regional": True} if regional else {}))  # fmt: skip
            tasks.append(runs.Task({**values, "sim.trace": sample} if traced else values, s,
                                   extract))  # fmt: skip
    options.say(f"groundtruth: {len(vs)} variants x {len(seeds)} seed(s) = {len(tasks)} runs of "
                f"{ns.weeks} weeks, {int(market.config.market.customers):,} customers")  # fmt: skip
    got = runs.run_all(market, tasks, jobs, "journeysim groundtruth")
    by_variant = {v.name: got[i * len(seeds) : (i + 1) * len(seeds)] for i, v in enumerate(vs)}
    world = build(by_variant, plan, market, ns, spw, scenario_events)
    cargs = ["--weeks", str(ns.weeks), "--flighting", ns.flighting, "--brand", brand,
             "--channels", ",".join(plan.channels),
             "--kpi", ns.kpi, "--step", f"{ns.step:g}", "--curve",
             ",".join(f"{k:g}" for k in ns.curve), "--pulse", f"{ns.pulse:g}",
             "--pulse-week", str(ns.pulse_week), "--sample", str(sample), "--seed",
             str(market.seed), "--replicates", str(ns.replicates), "--out", str(folder),
             *(["--no-geo-lift"] if ns.no_geo_lift else []), *ns.overrides]  # fmt: skip
    reproduce = options.reproduce("groundtruth", cargs)
    write(folder, world, reproduce)
    print_summary(world)
    print(f"results in {folder}: " + ", ".join(OUTPUTS + (GEO_OUTPUTS if regional else ())))
    return 0


def build(by_variant: dict, plan, market: runs.Market, ns, spw: int, scenario_events) -> dict:
    """Every output table of a study from the workers' results (pure: no files)."""
    from sim.analysis import mmm_data

    brands = market.brands
    r = T.collect(by_variant, brands, plan)
    carry = T.carryover(r, plan, ns.pulse_week)
    channels = T.channel_table(r, plan, ns.step, carry)
    first = by_variant["base"][0]
    geo = {}
    if len(plan.regions) > 1:
        people = mmm_data.region_populations(market.config, market.seed, plan.regions)
        mmm = mmm_data.geo_frame(first, plan, brands, people, scenario_events, spw)
        geo = {"pymc_marketing_geo": mmm_data.pymc_marketing_geo_frame(mmm, plan, ns.kpi),
               "truth_regions": T.region_table(r, plan), "geo_lift": T.geo_lift(r, plan),
               "populations": people}  # fmt: skip
    else:
        mmm = mmm_data.mmm_frame(first["kpis"], first["media"], plan, brands,
                                 int(market.config.market.customers), scenario_events,
                                 spw)  # fmt: skip
    controls = mmm_data.controls(mmm)
    return geo | {
        "plan": plan,
        "market": market,
        "ns": ns,
        "steps_per_week": spw,
        "mmm": mmm,
        "pymc_marketing": mmm_data.pymc_marketing_frame(mmm, plan, ns.kpi),
        "meridian": mmm_data.meridian_frame(mmm, plan, ns.kpi),
        "loading": mmm_data.loading(plan, ns.kpi, controls),
        "truth": T.contributions(r, plan),
        "channels": channels,
        "curves": T.curves(r, plan, ns.step, ns.curve),
        "carryover": carry,
        "cross_brand": T.cross_brand(r, plan),
        "additivity": T.additivity(r, plan),
        "paths": first.get("paths"),
        "traced": first.get("traced", 0),
        "runs": sum(len(v) for v in by_variant.values()),
    }


def write(folder: Path, w: dict, reproduce: str) -> None:
    """Every file, atomically; ``analysis.yaml`` last."""
    from sim.sweeps.io import write_parquet, write_text

    options.start_output(folder)
    write_parquet(w["mmm"], folder / "mmm.parquet")
    write_text(w["mmm"].write_csv(), folder / "mmm.csv")
    write_text(w["pymc_marketing"].write_csv(), folder / "pymc_marketing.csv")
    write_text(w["meridian"].write_csv(), folder / "meridian.csv")
    if "geo_lift" in w:
        write_text(w["pymc_marketing_geo"].write_csv(), folder / "pymc_marketing_geo.csv")
        write_parquet(w["truth_regions"], folder / "truth_regions.parquet")
        write_parquet(w["geo_lift"], folder / "geo_lift.parquet")
    for name in ("truth", "curves", "carryover", "cross_brand"):
        write_parquet(w[name], folder / f"{name}.parquet")
    write_parquet(w["channels"], folder / "truth_channels.parquet")
    write_parquet(w["plan"].table(), folder / "plan.parquet")
    paths = w["paths"]
    if paths is None:
        paths = pl.DataFrame(schema={"path": pl.String, "conversions": pl.Int64,
                                     "nulls": pl.Int64})  # fmt: skip
    write_text(paths.write_csv(), folder / "paths.csv")
    write_text(readme(w, reproduce), folder / "README.txt")
    ch = w["channels"]
    options.write_manifest(
        folder,
        "groundtruth",
        reproduce,
        brand=w["plan"].brand,
        channels=list(w["plan"].channels),
        weeks=w["plan"].weeks,
        replicates=int(w["ns"].replicates),
        runs=w["runs"],
        roas={r["channel"]: _round(r["roas"]) for r in ch.iter_rows(named=True)},
        marginal_roas={r["channel"]: _round(r["marginal_roas"]) for r in ch.iter_rows(named=True)},
        additivity={k: _round(v["ratio"]) for k, v in w["additivity"].items()},
        **({"regions": list(w["plan"].regions)} if "geo_lift" in w else {}),
    )


def _round(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 6)


def _f(x, spec: str = ".3g") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def channel_lines(ch: pl.DataFrame) -> list[str]:
    """One line per channel: spend, contribution, ROAS and marginal ROAS with intervals."""
    out = []
    for r in ch.iter_rows(named=True):
        out.append(
            f"  {r['channel']}: spend {_f(r['spend'], ',.0f')}, incremental revenue "
            f"{_f(r['contribution_revenue'], ',.0f')} "
            f"[{_f(r['contribution_revenue_low'], ',.0f')}, "
            f"{_f(r['contribution_revenue_high'], ',.0f')}], acquisitions "
            f"{_f(r['contribution_acquisitions'], ',.1f')} "
            f"[{_f(r['contribution_acquisitions_low'], ',.1f')}, "
            f"{_f(r['contribution_acquisitions_high'], ',.1f')}], ROAS {_f(r['roas'])} "
            f"[{_f(r['roas_low'])}, {_f(r['roas_high'])}], marginal ROAS "
            f"{_f(r['marginal_roas'])} [{_f(r['marginal_roas_low'])}, "
            f"{_f(r['marginal_roas_high'])}], carry-over {_f(r['carryover_weeks'], 'd')} weeks"
        )
    return out


def readme(w: dict, reproduce: str) -> str:
    """README.txt: the world, the files, how the truth was computed, its precision."""
    plan, market, ns = w["plan"], w["market"], w["ns"]
    cfg = market.config
    add = w["additivity"]
    prec = T.precision(w["channels"])
    widest = prec["relative_half_width"].max()
    lines = [
        "A simulated world for media-mix models and attribution (journeysim groundtruth)",
        "",
        f"Reproduce: {reproduce}",
        "",
        "THE WORLD",
        f"  {int(cfg.market.customers):,} people, brands {', '.join(market.brands)}; "
        f"{plan.weeks} weeks of {w['steps_per_week']} steps after the market's burn-in "
        f"({int(cfg.sim.burn_in)} steps, shared by every run); scenario "
        f"{cfg.scenario.name}; region(s) {', '.join(plan.regions)}.",
        f"  {plan.brand}'s ads on {', '.join(plan.channels)} follow the plan {plan.source!r} "
        "(plan.parquet: a multiplier of the configured reach per week, region and channel);",
        "  the other brands advertise as configured (their spend is a control in mmm.csv).",
        f"  Seeds {market.seed}..{market.seed + ns.replicates - 1}; the data (mmm.csv, paths.csv)"
        f" are seed {market.seed}'s run.",
        "",
        "FILES",
        "  mmm.csv / mmm.parquet: one row per week and region: spend_<c>, impressions_<c> of "
        f"{plan.brand}; acquisitions_, customers_ (week end), revenue_, price_<brand>; controls "
        "competitor_spend_<brand>, event_<k>_<kind> (share of the week in the event).",
        "  pymc_marketing.csv, meridian.csv: the same data in those libraries' layouts "
        f"(KPI: {ns.kpi} of {plan.brand}).",
        "  truth.parquet: per channel, week, region, brand and KPI the contribution "
        "(plan - plan without the channel), with a 95% interval over seeds.",
        "  truth_channels.parquet: per channel totals, ROAS, marginal ROAS, carry-over weeks.",
        "  curves.parquet: totals when a channel's whole plan is scaled by k (0 .. "
        f"{max([1.0, *ns.curve]):g}).",
        "  carryover.parquet: the effect of a one-week pulse by lag.",
        "  cross_brand.parquet: halo (+) and cannibalisation (-) of other brands.",
        f"  paths.csv: {w['traced']:,} traced customers' paths of seed {market.seed}'s run "
        f"({plan.brand}'s touchpoints until its acquisition), as journeysim journeys writes them.",
        "",
        "HOW THE TRUTH WAS COMPUTED",
        "  Every variant runs on the same seeds as the plan (common random numbers: same "
        "customers, network, status quo and random draws) and differs only in "
        f"{plan.brand}'s ads on one channel:",
        "  contribution = KPI(plan) - KPI(plan with the channel's spend removed in every week);",
        "  ROAS = incremental revenue over the run / the channel's spend over the run;",
        f"  marginal ROAS = (revenue(plan) - revenue(channel x {1 - ns.step:g})) / (the spend "
        "removed): what the last "
        f"{ns.step:.0%} of the channel's spend brought per unit;",
        f"  carry-over: the channel's multiplier + {ns.pulse:g} in week {ns.pulse_week}; the "
        "effect on acquisitions by week after it; carryover_weeks = lags until 90% of it.",
        "  Each figure is the mean over seeds with a 95% t-interval of the per-seed values.",
        "  Note: an ad, a conversation or a service contact compete for a customer's one event "
        "a step, so removing a channel's ads also changes which customers meet the others: "
        "the paired runs share every other random draw.",
        "",
        "TRUE EFFECTS",
        *channel_lines(w["channels"]),
        "  Additivity (sum of channels one by one / all channels removed at once): "
        + ", ".join(
            f"{k} {_f(v['ratio'])} [{_f(v['ratio_low'])}, {_f(v['ratio_high'])}]"
            for k, v in add.items()
        ),  # fmt: skip
        f"  Precision: the widest interval of a channel's incremental revenue is +/-"
        f"{_f(widest * 100 if widest is not None else None, '.0f')}% of it. Half-widths shrink "
        "as 1/sqrt(replicates); more customers narrow revenue's, acquisitions' beyond about "
        "10,000 customers not "
        "(docs/analysis.md). Keep them well below the differences a model should resolve.",
        "",
        *(region_lines(w) if "geo_lift" in w else []),
        "LOADING THE FILES",
        w["loading"],
    ]
    return "\n".join(lines) + "\n"


def region_lines(w: dict) -> list[str]:
    """README.txt's section on the regions of a market of several."""
    plan, people = w["plan"], w["populations"]
    lines = [
        "REGIONS",
        "  " + ", ".join(f"{g} {people[g]:,} people" for g in plan.regions) + " (seed "
        f"{w['market'].seed}'s draw). The plan varies by week, channel and region; its events "
        "name their regions (ad_burst with region: g), each multiplying the region's own "
        "configured reach (its ad_factor included).",
        "  mmm.csv: per week the market's row (region all, the sum) then one row per region "
        "(population: the region's people); meridian.csv: the regions' rows (geo layout); "
        "pymc_marketing.csv: the national sum; pymc_marketing_geo.csv: one row per week and "
        "region with a geo column.",
        "  truth.parquet: the market's rows (region all) then each region's: the channel removed "
        "everywhere, its effect read in the region's rows (they sum to the all rows).",
        "  truth_regions.parquet: the same per channel and region over the run, with the "
        "region's spend and ROAS (what a geo media-mix model estimates per geo).",
        "  geo_lift.parquet: the channel removed in one region only (a geo holdout): lift in the "
        "region, spillover to the others (word of mouth, ratings, rivals' responses cross "
        "regions; ads do not), total, spend removed, lift ROAS and total ROAS.",
    ]
    lift = w["geo_lift"]
    if lift.height == 0:
        lines.append("  (no geo lifts: --no-geo-lift; geo_lift.parquet is empty)")
    for row in lift.iter_rows(named=True):
        lines.append(
            f"  {row['channel']} off in {row['region']}: spend removed "
            f"{_f(row['spend_removed'], ',.0f')}, lift revenue {_f(row['lift_revenue'], ',.0f')} "
            f"[{_f(row['lift_revenue_low'], ',.0f')}, {_f(row['lift_revenue_high'], ',.0f')}], "
            f"spillover {_f(row['spillover_revenue'], ',.0f')}, lift ROAS {_f(row['lift_roas'])} "
            f"[{_f(row['lift_roas_low'])}, {_f(row['lift_roas_high'])}]"
        )
    return [*lines, ""]


def print_summary(w: dict) -> None:
    """The true effects on stdout, and a warning line for an imprecise truth."""
    plan = w["plan"]
    print(f"journeysim groundtruth: {plan.brand}, {plan.weeks} weeks, plan {plan.source!r}, "
          f"{int(w['ns'].replicates)} seed(s)")  # fmt: skip
    for line in channel_lines(w["channels"]):
        print(line)
    for k, v in w["additivity"].items():
        if k != "customers":
            print(f"  additivity ({k}): channels one by one / all at once = {_f(v['ratio'])} "
                  f"[{_f(v['ratio_low'])}, {_f(v['ratio_high'])}]")  # fmt: skip
    if int(w["ns"].replicates) < 2:
        options.say("warning: one seed: the truth has no interval; give --replicates 2 or more")
        return
    prec = T.precision(w["channels"])
    for r in prec.iter_rows(named=True):
        x = r["relative_half_width"]
        if x is None or not np.isfinite(x) or x > 0.25:
            options.say(f"warning: the true incremental revenue of {r['channel']} is imprecise "
                        f"(+/-{_f(None if x is None else x * 100, '.0f')}% of it): add "
                        "--replicates or customers")  # fmt: skip
