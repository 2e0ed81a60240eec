"""``journeysim report SWEEP_DIR``: means, 95% intervals and paired differences."""

from __future__ import annotations

import sys

from sim.cli.common import error
from sim.config.errors import printable


def command(args: list[str]) -> int:
    """Print and write the report of a sweep folder."""
    from sim.analysis.options import Parser, UsageError
    from sim.sweeps.summary import (
        SUMMARY_KPIS,
        ReportError,
        bad_runs,
        drop_duplicate_runs,
        duplicate_runs,
        load_summary,
        print_report,
        report,
        write_report,
    )

    parser = Parser(
        prog="journeysim report",
        description="Means with 95% intervals and differences against a reference setting, "
        "paired by seed; the settings clearly above or below it; incomplete runs counted.",
        allow_abbrev=False,
    )
    parser.add_argument("sweep_dir", help="a multirun sweep folder (holds summary.parquet)")
    parser.add_argument("--baseline", default="baseline",
                        help="the scenario to compare against when several ran")  # fmt: skip
    parser.add_argument("--reference", action="append", default=[], metavar="KEY=VALUE",
                        help="the setting to compare against, e.g. brands.incumbent.price=1.0 "
                        "(repeat for several keys; default: the baseline scenario, or on a "
                        "grid over one scenario the first setting)")  # fmt: skip
    parser.add_argument("--kpi", action="append",
                        help="KPIs to print, repeat for several (default: all): "
                        + ", ".join(SUMMARY_KPIS))  # fmt: skip
    parser.add_argument("--by", choices=("segment", "region"),
                        help="each KPI by segment or by region (runs of a segmented or "
                        "regional market)")  # fmt: skip
    try:
        ns = parser.parse_args(args)
    except UsageError as exc:
        options = {o for action in parser._actions for o in action.option_strings}
        unknown = [a for a in args if a.startswith("-") and a.partition("=")[0] not in options]
        if unknown:  # named first: argparse would only say the folder is missing
            return error(f"journeysim report: unrecognized arguments: {' '.join(unknown)}")
        return error(str(exc))
    for kpi in ns.kpi or []:
        if kpi not in SUMMARY_KPIS:
            return error(f"--kpi {kpi!r}: not a KPI (one of {', '.join(SUMMARY_KPIS)})")
    reference = {}
    for item in ns.reference:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return error(f"--reference {item}: must be KEY=VALUE, e.g. brands.incumbent.price=1")
        reference[key] = value
    try:
        summary = load_summary(ns.sweep_dir)
        repeats = duplicate_runs(summary)
        if repeats:
            run, first = repeats[0]
            print(f"journeysim: warning: {len(repeats)} run(s) repeat the overrides and seed "
                  f"of another (run {printable(run)} = run {printable(first)}): each counted "
                  "once", file=sys.stderr)  # fmt: skip
            summary = drop_duplicate_runs(summary)
        for run, problem in bad_runs(summary):
            print(f"journeysim: warning: run {printable(run)} left out: {printable(problem)}",
                  file=sys.stderr)  # fmt: skip
        unfinished = summary.filter(summary["status"] != "complete").height - len(bad_runs(summary))
        if unfinished:
            print(f"journeysim: warning: {unfinished} run(s) did not finish: counted as "
                  "incomplete per setting", file=sys.stderr)  # fmt: skip
        table = report(summary, baseline=ns.baseline, reference=reference or None, by=ns.by)
        paths = write_report(table, ns.sweep_dir)
    except ReportError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"{ns.sweep_dir}: cannot write the report ({exc.strerror or exc})")
    print_report(table, ns.baseline, tuple(ns.kpi) if ns.kpi else None)
    print(printable(f"journeysim: report written to {paths[0]} and {paths[1]}"))
    return 0
