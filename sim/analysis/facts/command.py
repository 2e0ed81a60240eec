"""``journeysim facts``: the command line."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from sim.analysis.options import Parser, UsageError, check_jobs
from sim.cli.common import error

#: Years the stylised facts record by default: a retention curve needs cohorts seen for three
#: quarters, and one year leaves only the first quarter's cohorts to measure that far.
STATIC_YEARS = 2

#: ``--rules``: the rule settings, each run with the other group at its default.
RULE_SETTINGS: dict[str, list[str]] = {
    "wom=pairwise, service=constant": [],
    "wom=cascade": ["wom=cascade"],
    "wom=threshold": ["wom=threshold"],
    "service=capacity": ["service=capacity"],
    "service=investment": ["service=investment"],
}


def _parser() -> Parser:
    from sim.analysis.facts.responses import GROUPS

    p = Parser(
        prog="journeysim facts",
        description="Run the market over several seeds and check it against stylised facts "
        "(--responses: against responses to levers, measured by paired runs).",
    )
    add = p.add_argument
    add("overrides", nargs="*", metavar="OVERRIDE", help="Hydra overrides of the market")
    add(
        "--seeds",
        type=int,
        default=None,
        help="replicates, seeds 0..S-1 (default 5; 3 with --responses)",
    )
    add("--jobs", type=int, default=os.cpu_count() or 1, help="parallel runs")
    add("--out", default=None, metavar="DIR", help="folder for facts.parquet and facts.md")
    add("--markdown", default=None, metavar="FILE", help="write the tables as Markdown")
    add(
        "--responses",
        action="store_true",
        help="measure responses to levers by paired runs (common random numbers)",
    )
    add(
        "--only",
        default=None,
        metavar="GROUPS",
        help=f"with --responses: some of {','.join(GROUPS)} (default all)",
    )
    add(
        "--years",
        type=int,
        default=None,
        help="years recorded (default 2; with --responses, after the lever: default 3)",
    )
    add(
        "--rules",
        action="store_true",
        help="run under each word-of-mouth and service rule; print a per-rule table",
    )
    return p  # fmt: skip


def _key(override: str) -> str:
    return override.split("=")[0].lstrip("+~")


def _options(ns) -> tuple[int, int | None, tuple[str, ...]]:
    """Check the options: (seeds, years or None, response groups); ``UsageError`` if bad."""
    from sim.analysis.facts.responses import GROUPS

    seeds = ns.seeds if ns.seeds is not None else (3 if ns.responses else 5)
    if seeds < 2:
        raise UsageError(f"--seeds={seeds}: must be at least 2 (for an interval)")
    check_jobs(ns.jobs)
    if ns.only is not None and not ns.responses:
        raise UsageError(f"--only={ns.only}: only with --responses")
    if ns.rules:
        taken = [o for o in ns.overrides if _key(o) in ("wom", "service")]
        if taken:
            raise UsageError(f"{taken[0]}: --rules sets wom= and service= itself (drop it)")
    years = (3 if ns.responses else STATIC_YEARS) if ns.years is None else ns.years
    if years < 1:
        raise UsageError(f"--years={years}: must be at least 1")
    if any(_key(o) == "sim.steps" for o in ns.overrides):
        raise UsageError("sim.steps: set by --years (drop the override)")
    if not ns.responses:
        return seeds, years, ()
    groups = GROUPS if ns.only is None else tuple(g.strip() for g in ns.only.split(","))
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise UsageError(
            f"--only={ns.only}: unknown group {unknown[0]!r} (choose from {', '.join(GROUPS)})"
        )
    return seeds, years, groups


def _recorded(overrides, years: int, probe=None) -> list[str]:
    """``overrides`` with ``sim.steps`` set to ``years`` of the market's steps per year.

    ``probe`` is the market's config when the caller has composed it already.
    """
    from sim import load_config

    probe = load_config(list(overrides)) if probe is None else probe
    return [*overrides, f"sim.steps={years * int(probe.sim.steps_per_year)}"]


def _measure_static(overrides, seeds, jobs, years, advance):
    from sim.analysis.facts import runs, static

    results = runs.run_seeds(_recorded(overrides, years), range(seeds), jobs, advance)
    return static.measure(results), static.sources(results), results[0].config


def _measure_responses(overrides, seeds, jobs, years, groups, advance):
    from sim import load_config
    from sim.analysis.facts import responses, runs

    probe = load_config(list(overrides))
    overrides = _recorded(overrides, years, probe)
    chosen = responses.selected(groups)
    arms = responses.arms_needed(chosen, list(probe.brands))
    per_seed = runs.run_arms(overrides, arms, range(seeds), jobs, advance)
    table = responses.measure_responses([responses.Arms(r) for r in per_seed], chosen)
    return table, None, per_seed[0][responses.BASE].config


def _run_count(ns, seeds: int, groups) -> int:
    if not ns.responses:
        return seeds
    from sim import load_config
    from sim.analysis.facts import responses

    brands = list(load_config(list(ns.overrides)).brands)
    return seeds * len(responses.arms_needed(responses.selected(groups), brands))


def _heading(args: list[str], config, seeds: int) -> str:
    c = config
    return (
        f"`journeysim facts {' '.join(args)}`: {int(c.market.customers):,} customers, "
        f"{int(c.sim.burn_in)} burn-in and {int(c.sim.steps)} recorded steps, seeds 0-{seeds - 1}; "
        "the mean over seeds with its 95 % t-interval; pass when the whole interval is inside "
        "the target."
    )


def _write(ns, text: str, table: pl.DataFrame, churn) -> str | None:
    """Write ``--out`` (facts.parquet, churn_sources.parquet, facts.md) and ``--markdown``.

    Returns:
        None, or the one-line error when a file cannot be written.
    """
    from sim.sweeps.io import write_parquet

    try:
        if ns.out:
            out = Path(ns.out)
            write_parquet(table, out / "facts.parquet")
            if churn is not None:
                write_parquet(churn, out / "churn_sources.parquet")
            _write_text(out / "facts.md", text)
            print(f"journeysim: facts written to {out / 'facts.parquet'} and {out / 'facts.md'}")
    except OSError as exc:
        return f"--out {ns.out}: cannot write ({exc.strerror or exc})"
    try:
        if ns.markdown:
            _write_text(Path(ns.markdown), text)
            print(f"journeysim: facts written to {ns.markdown}")
    except OSError as exc:
        return f"--markdown {ns.markdown}: cannot write ({exc.strerror or exc})"
    return None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def command(args: list[str]) -> int:
    """``journeysim facts [overrides] [options]`` (``--help`` lists the options).

    Returns:
        The exit code: 0, or 2 after a one-line error.
    """
    from sim.analysis.facts import report
    from sim.config import ConfigError
    from sim.sweeps.progress import step_progress

    try:
        ns = _parser().parse_args(args)
        seeds, years, groups = _options(ns)
    except UsageError as exc:
        return error(str(exc))
    settings = RULE_SETTINGS if ns.rules else {"": []}
    tables: dict[str, pl.DataFrame] = {}
    churn = config = None
    try:
        per_setting = _run_count(ns, seeds, groups)
        start = time.monotonic()
        with step_progress(per_setting * len(settings), "runs") as advance:
            for k, (label, extra) in enumerate(settings.items()):
                overrides = [*ns.overrides, *extra]

                def done(n, k=k):
                    advance(k * per_setting + n)

                if ns.responses:
                    got = _measure_responses(overrides, seeds, ns.jobs, years, groups, done)
                else:
                    got = _measure_static(overrides, seeds, ns.jobs, years, done)
                table, c, cfg = got
                tables[label] = table
                churn = c if churn is None else churn
                config = cfg if config is None else config
    except ConfigError as exc:
        return error(str(exc))
    elapsed = time.monotonic() - start
    runs = per_setting * len(settings)
    heading = _heading(args, config, seeds)
    if ns.rules:
        frame = report.per_rule(tables)
        report.print_per_rule(frame, tables)
        parts = [report.markdown(t, None, f"### {lab}") for lab, t in tables.items()]
        text = report.joined([heading, report.per_rule_markdown(frame, tables), *parts])
        table = pl.concat([t.with_columns(pl.lit(lab).alias("rules")) for lab, t in tables.items()])
    else:
        table = tables[""]
        report.print_tables(table, churn)
        text = report.markdown(table, churn, heading)
    print(f"journeysim: {runs} runs in {elapsed / 60:.1f} min")
    problem = _write(ns, text, table, None if ns.rules else churn)
    return error(problem) if problem else 0
