"""``journeysim report SWEEP_DIR``: means, 95% intervals and paired differences."""

from __future__ import annotations

import argparse
import sys

from sim.cli.common import error
from sim.config.errors import printable


def command(args: list[str]) -> int:
    """Print and write the report of a sweep folder."""
    from sim.sweeps.summary import (
        ReportError,
        bad_runs,
        load_summary,
        print_report,
        report,
        write_report,
    )

    parser = argparse.ArgumentParser(
        prog="journeysim report",
        description="Means with 95%% intervals and paired differences against the baseline.",
    )
    parser.add_argument("sweep_dir", help="a multirun sweep folder (holds summary.parquet)")
    parser.add_argument("--baseline", default="baseline", help="scenario to compare against")
    parser.add_argument("--kpi", action="append", help="KPIs to print (default: all)")
    ns = parser.parse_args(args)
    try:
        summary = load_summary(ns.sweep_dir)
        for run, problem in bad_runs(summary):
            print(f"journeysim: warning: run {printable(run)} left out: {printable(problem)}",
                  file=sys.stderr)  # fmt: skip
        table = report(summary, baseline=ns.baseline)
        paths = write_report(table, ns.sweep_dir)
    except ReportError as exc:
        return error(str(exc))
    except OSError as exc:
        return error(f"{ns.sweep_dir}: cannot write the report ({exc.strerror or exc})")
    print_report(table, ns.baseline, tuple(ns.kpi) if ns.kpi else None)
    print(f"journeysim: report written to {paths[0]} and {paths[1]}")
    return 0
