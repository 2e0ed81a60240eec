"""Command line: ``python -m sim`` (also installed as ``journeysim``).

- ``journeysim [hydra overrides]``: run one market, write metrics.parquet, stages.parquet,
  flows.parquet and the resolved config.yaml into the Hydra run dir, print a KPI table.
- ``journeysim -m [sweeps]``: a multirun; ends with summary.parquet in the sweep folder.
- ``journeysim scenarios``: list the scenario library with descriptions.
- ``journeysim report SWEEP_DIR [--baseline NAME]``: means, 95% intervals and paired
  differences against the baseline scenario, printed and written as parquet and CSV.

Bad values stop the run before any work with one line naming the key, the value and the
allowed range; ``--debug`` shows the full traceback instead. A run (or sweep) folder
that already holds complete results for the same resolved config is not run again, so
rerunning an interrupted sweep with the same ``hydra.sweep.dir`` resumes it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

from sim.config import CONF_DIR, ConfigError, register_resolvers

_DEBUG = False
#: The only ``_target_`` values an override may set (Hydra instantiates callbacks).
ALLOWED_TARGETS = ("sim.callbacks.SummaryCallback",)
#: A sweep is validated run by run before launch up to this many runs (then by value).
MAX_PREVALIDATED_RUNS = 256


def _error(message: str) -> int:
    print(f"journeysim: error: {message}", file=sys.stderr)
    return 2


def _one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line (no details block)."""
    lines = []
    for source in (exc, exc.__cause__):
        if source is None:
            continue
        for line in str(source).strip().splitlines():
            if line.strip().startswith(
                ("full_key:", "object_type", "reference_type", "Config search path")
            ):
                break
            if line.strip() and line.strip() not in lines:
                lines.append(line.strip())
    return " ".join(lines) or type(exc).__name__


def _is_multirun(argv: list[str]) -> bool:
    return any(a in ("-m", "--multirun") for a in argv)


def _check_targets(overrides: list[str]) -> None:
    for o in overrides:
        if "_target_" in o:
            value = o.partition("=")[2]
            if value not in ALLOWED_TARGETS:
                raise ConfigError(f"{o.partition('=')[0]}={value}: not an allowed target")


def _expand(overrides: list[str]) -> list[list[str]]:
    """The run-by-run override lists a multirun's command line expands to."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = []
    for o in parsed:
        key = o.get_key_element()
        if o.is_sweep_override():
            choices.append([f"{key}={v}" for v in o.sweep_string_iterator()])
        else:
            choices.append([o.input_line])
    combos = list(itertools.islice(itertools.product(*choices), MAX_PREVALIDATED_RUNS + 1))
    if len(combos) > MAX_PREVALIDATED_RUNS:  # too many: each value once, others at their first
        combos = []
        for k, options in enumerate(choices):
            for v in options:
                combos.append([c[0] for c in choices[:k]] + [v] + [c[0] for c in choices[k + 1 :]])
    return [list(c) for c in combos]


def with_preset_sweeps(overrides: list[str]) -> list[str]:
    """The command line's overrides plus the sweeps a preset declares.

    The preset is composed with each command-line sweep at its first value, to read its
    ``hydra.sweeper.params``; those join the product (``sim.callbacks.merge_sweeps``).
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.callbacks import merge_sweeps

    first = []
    for o in OverridesParser.create().parse_overrides(overrides):
        if o.is_sweep_override():
            first.append(f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}")
        else:
            first.append(o.input_line)
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
        cfg = compose("config", overrides=first, return_hydra_config=True)
    return merge_sweeps(overrides, cfg.hydra.sweeper.get("params"))


#: Hydra options whose value is a separate argument (not an override).
_VALUE_OPTIONS = ("--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd",
                  "--experimental-rerun", "--package", "-p")  # fmt: skip


def _prevalidate(argv: list[str], multirun: bool) -> int:
    """Compose and validate every run's config before Hydra creates any folder."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import load_config

    overrides = [a for a in argv if not a.startswith("-")]
    try:
        _check_targets(overrides)
        # Hydra's own overrides (launcher, run dir, search path) are composed too, so a bad
        # one gives the same one-line error; the sweeper's own settings are not runs.
        user = [a for a in overrides if "hydra.sweeper" not in a.partition("=")[0]]
        # A preset may sweep too (hydra.sweeper.params): its sweeps join the command line's.
        swept = with_preset_sweeps(user)
        runs = _expand(swept)  # also when a preset sets hydra.mode=MULTIRUN without -m
        for run in runs if multirun or len(runs) > 1 else [user]:
            load_config(run)
    except ConfigError as exc:
        if _DEBUG:
            raise
        return _error(str(exc))
    except (HydraException, OmegaConfBaseException, ValueError, KeyError) as exc:
        if _DEBUG:
            raise
        return _error(_one_line(exc))
    return 0


def _task(cfg) -> None:
    """Hydra task: validate, skip if already complete, simulate, write results, print KPIs."""
    import logging

    import polars as pl
    from hydra.core.hydra_config import HydraConfig

    from sim.config import finalise
    from sim.io import is_complete, write_result
    from sim.kpi import print_kpis
    from sim.progress import step_progress
    from sim.runner import simulate

    try:
        resolved = finalise(cfg)
    except ConfigError as exc:
        if _DEBUG:
            raise
        raise SystemExit(_error(str(exc))) from None
    logging.getLogger("MESA").setLevel(logging.WARNING)  # mesa logs every step at INFO
    out_dir = HydraConfig.get().runtime.output_dir
    title = f"journeysim: {resolved.scenario.name} (results in {out_dir})"
    if is_complete(out_dir, resolved):
        print(f"journeysim: {out_dir} already holds complete results for this config: skipped")
        print_kpis(pl.read_parquet(os.path.join(out_dir, "metrics.parquet")), title=title)
        return
    with step_progress(int(resolved.sim.steps), "simulating") as advance:
        result = simulate(resolved, progress=advance)
    write_result(result, out_dir)
    print_kpis(result.metrics, title=title)


def _hydra_main(argv: list[str]) -> None:
    import hydra

    sys.argv = [sys.argv[0], *argv]
    hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)(_task)()


def list_scenarios() -> list[tuple[str, str]]:
    """(name, description) of every scenario in ``conf/scenario``."""
    import yaml

    out = []
    for path in sorted((CONF_DIR / "scenario").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        node = data.get("scenario", data)
        out.append((path.stem, " ".join(str(node.get("description", "")).split())))
    return out


def _scenarios_command(args: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="journeysim scenarios: python -m sim scenario=NAME")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for name, description in list_scenarios():
        table.add_row(name, description)
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    return 0


def _report_command(args: list[str]) -> int:
    from sim.summary import (
        ReportError,
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
        table = report(summary, baseline=ns.baseline)
        paths = write_report(table, ns.sweep_dir)
    except ReportError as exc:
        return _error(str(exc))
    print_report(table, ns.baseline, tuple(ns.kpi) if ns.kpi else None)
    print(f"journeysim: report written to {paths[0]} and {paths[1]}")
    return 0


SUBCOMMANDS = {"scenarios": _scenarios_command, "report": _report_command}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m sim`` and ``journeysim``."""
    global _DEBUG
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG = "--debug" in argv or os.environ.get("JOURNEYSIM_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    if _DEBUG:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    register_resolvers()
    informational = any(
        a in ("--help", "-h", "--hydra-help", "--info", "--cfg", "-c") for a in argv
    )
    # With another config name or folder Hydra composes something else: it validates per run.
    if not informational and not any(a in _VALUE_OPTIONS for a in argv):
        code = _prevalidate(argv, _is_multirun(argv))
        if code:
            return code
    try:
        _hydra_main(argv)
    except KeyboardInterrupt:
        return _error("interrupted; finished runs are kept, rerun the same command to resume")
    return 0


if __name__ == "__main__":
    sys.exit(main())
