"""``journeysim compare``: the app's comparison from the command line, in one command.

A baseline scenario, other library scenarios and optionally a what-if (``--change``: a change
made today, or with ``--long-run`` a different market) run on seeds 0..R-1 each
(``sim.sweeps.plan``). Each run is written to ``DIR/<k>/`` as a multirun's runs are (results,
config, ``.hydra/overrides.yaml``), so ``journeysim report DIR`` and the app's sweep explorer
read the folder; a run already complete with the same config is kept, not run again. The
report (means, intervals, differences paired by seed) is printed and written at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.cli.common import error
from sim.config import ConfigError

#: Keys the command sets on every run: they may not be given as overrides.
OWNED = {"seed": "--replicates (seeds 0..R-1)", "scenario": "--baseline and --scenarios"}


def _run_job(task: tuple[str, str, list[str]]) -> None:
    """Simulate one run into its folder, unless it already holds this config's results."""
    import yaml
    from omegaconf import OmegaConf

    from sim import simulate
    from sim.sweeps.io import (
        check_complete,
        remove_stray_temporaries,
        run_lock,
        write_result,
        write_text,
    )

    config_yaml, folder, overrides = task
    cfg = OmegaConf.create(config_yaml)
    out = Path(folder)
    with run_lock(out):
        remove_stray_temporaries(out)
        if check_complete(out, cfg) is None:  # this very config ran here before: kept
            return
        # as a Hydra multirun writes its runs: the report reads the overrides from here
        (out / ".hydra").mkdir(parents=True, exist_ok=True)
        write_text(yaml.safe_dump(list(overrides)), out / ".hydra" / "overrides.yaml")
        write_result(simulate(cfg), out)


def _parser():
    from sim.analysis.options import add_jobs, parser

    p = parser("compare", "Compare library scenarios and a what-if against a baseline, seed by "
               "seed (common random numbers), as the app's Compare page does; then report.",
               market=False)  # fmt: skip
    p.allow_abbrev = False  # --chan is not --change
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="OVERRIDE",
        help="Hydra overrides of every run, e.g. market.customers=10000",
    )
    p.add_argument("--baseline", default="baseline", help="the baseline scenario")
    p.add_argument("--scenarios", default="", help="other library scenarios, comma-separated")
    p.add_argument(
        "--replicates",
        type=int,
        default=3,
        metavar="R",
        help="seeds 0..R-1 for every variant (default 3)",
    )
    p.add_argument(
        "--change",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a what-if made today on the baseline's status quo ('levers'); "
        "scenario.target.region=NAME or scenario.target.segment=NAME: for that group only",
    )
    p.add_argument(
        "--market",
        action="append",
        default=[],
        metavar="OVERRIDE",
        help="an override of the what-if variant's market itself",
    )
    p.add_argument(
        "--long-run",
        action="store_true",
        help="changes alter the market itself: compare long-run steady states",
    )
    add_jobs(p)
    return p  # fmt: skip


def _check(ns) -> None:
    from sim.analysis.options import UsageError, check_jobs
    from sim.sweeps.plan import TARGET_KEYS, check_target, override_key

    if not 1 <= ns.replicates <= 1000:
        raise UsageError(f"--replicates {ns.replicates}: must be between 1 and 1000")
    check_jobs(ns.jobs)
    for flag, items in (("OVERRIDE", ns.overrides), ("--change", ns.change),
                        ("--market", ns.market)):  # fmt: skip
        for text in items:
            if "=" not in text:
                raise UsageError(f"{flag} {text}: not an override such as market.customers=20000")
            key = override_key(text)
            if flag == "--change" and key in TARGET_KEYS:
                continue  # the changes' target (scenario.target.region, ...)
            for owned, by in OWNED.items():
                if key == owned or key.startswith(owned + "."):
                    raise UsageError(f"{flag} {text}: {owned} is set by {by}")
    try:
        check_target(ns.change, ns.long_run)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def planned_jobs(args: list[str]):
    """The runs a ``journeysim compare`` command line makes (its arguments after ``compare``)."""
    from sim.sweeps import plan

    ns = _parser().parse_intermixed_args(args)
    _check(ns)
    return plan.jobs(_variants(ns), ns.replicates, ns.overrides)


def _scenarios(ns) -> list[str]:
    return [s for s in ns.scenarios.split(",") if s]


def _variants(ns) -> list[tuple[str, list[str]]]:
    """The compared variants of parsed options (``sim.sweeps.plan.variants``)."""
    from sim.sweeps import plan

    return plan.variants(ns.baseline, _scenarios(ns), ns.change, ns.market, ns.long_run)


def command(args: list[str]) -> int:
    """Run the comparison and print its report; 0 on success, 2 on bad input."""
    from sim.analysis.options import UsageError, out_dir

    try:
        ns = _parser().parse_intermixed_args(args)
        _check(ns)
    except UsageError as exc:
        return error(str(exc))
    return _compare(ns, out_dir("compare", ns.out))


def _compare(ns, out: Path) -> int:
    from omegaconf import OmegaConf

    from sim import load_config
    from sim.analysis.runs import default_jobs
    from sim.sweeps import plan
    from sim.sweeps.summary import (
        ReportError,
        bad_runs,
        print_report,
        report,
        write_report,
        write_summary,
    )

    variants = _variants(ns)
    jobs = plan.jobs(variants, ns.replicates, ns.overrides)
    n_jobs = min(ns.jobs or default_jobs(), len(jobs))
    tasks = []
    try:  # every run's config is checked before any work
        for k, job in enumerate(jobs):
            cfg = load_config(list(job.overrides))
            if n_jobs > 1:
                cfg.engine.threads = 1
            tasks.append((OmegaConf.to_yaml(cfg), str(out / str(k)), list(job.overrides)))
    except ConfigError as exc:
        return error(str(exc))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return error(f"--out {out}: cannot be created ({exc.strerror or exc})")
    command = plan.compare_command(ns.baseline, _scenarios(ns), ns.replicates, ns.change, ns.market,
                                   ns.long_run, ns.overrides)  # fmt: skip
    print(f"journeysim: {len(jobs)} runs ({len(variants)} variants x {ns.replicates} seeds) "
          f"into {out}", file=sys.stderr)  # fmt: skip
    start = time.perf_counter()
    try:
        _run_all(tasks, n_jobs)
        summary = write_summary(out)
        for run, problem in bad_runs(summary):
            print(f"journeysim: warning: run {run} left out: {problem}", file=sys.stderr)
        table = report(summary, baseline=ns.baseline)
        write_report(table, out)
        (out / "command.txt").write_text(command + "\n")
    except ReportError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"{out}: cannot write the results ({exc.strerror or exc})")
    print_report(table, ns.baseline)
    print(f"journeysim: {len(jobs)} runs in {time.perf_counter() - start:.1f} s; "
          f"report in {out} (journeysim report {out})")  # fmt: skip
    return 0


def _run_all(tasks: list, n_jobs: int) -> None:
    from sim.sweeps.progress import step_progress

    with step_progress(len(tasks), "runs") as advance:
        if n_jobs <= 1:
            for k, task in enumerate(tasks):
                _run_job(task)
                advance(k + 1)
            return
        from joblib.externals.loky import get_reusable_executor

        pool = get_reusable_executor(max_workers=n_jobs, timeout=300)
        for k, _ in enumerate(pool.map(_run_job, tasks)):
            advance(k + 1)
