"""``journeysim [overrides]``: run one market or a sweep through Hydra, checked before any work.

Before Hydra creates a folder, every run the command line (and a sweep preset) expands
to is composed exactly as Hydra will compose it, whatever the config source (``-cn``,
``-cp``, ``-cd``, ``hydra.searchpath``), and checked: nothing executable
(``sim.config.safety``), every value in range, scenario names distinct, memory and disk
enough, output folder writable. A refusal is one line and exit code 2, with nothing
written. ``--dry-run`` prints the resolved config and the estimates instead of running.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sim.cli import common
from sim.cli.common import error
from sim.config import CONF_DIR, ConfigError, Source

#: A sweep is validated run by run before launch up to this many runs (then by value).
MAX_PREVALIDATED_RUNS = 256
#: Hydra options that only show information (they run nothing).
INFORMATIONAL = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c",
                 "--shell-completion", "-sc")  # fmt: skip


@dataclass
class Plan:
    """What a command line will run: each run's resolved config and where results go."""

    runs: list  # resolved configs (DictConfig), one per run (up to MAX_PREVALIDATED_RUNS)
    total_runs: int
    multirun: bool
    out_dir: Path | None
    concurrent: int


def expand(overrides: list[str]) -> tuple[list[list[str]], int]:
    """The run-by-run override lists a multirun's command line expands to, and their number.

    Beyond ``MAX_PREVALIDATED_RUNS`` runs, each swept value is checked once with the other
    keys at their first value.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    choices = []
    for o in parsed:
        key = o.get_key_element()
        if o.is_sweep_override():
            choices.append([f"{key}={v}" for v in o.sweep_string_iterator()])
        else:
            choices.append([o.input_line])
    total = 1
    for c in choices:
        total *= len(c)
    combos = list(itertools.islice(itertools.product(*choices), MAX_PREVALIDATED_RUNS + 1))
    if len(combos) > MAX_PREVALIDATED_RUNS:
        combos = []
        for k, options in enumerate(choices):
            for v in options:
                combos.append([c[0] for c in choices[:k]] + [v] + [c[0] for c in choices[k + 1 :]])
    return [list(c) for c in combos], total


def _concurrency(cfg) -> int:
    """Runs a launcher executes at once on this machine (joblib's ``n_jobs``).

    Raises:
        ConfigError: ``hydra.launcher.n_jobs`` above the machine's cap (4 per CPU, as
            ``--jobs``): joblib would start that many worker processes.
    """
    from omegaconf import OmegaConf

    from sim.analysis.options import max_jobs

    target = str(OmegaConf.select(cfg, "hydra.launcher._target_", default="") or "")
    if "joblib" not in target:
        return 1
    jobs = OmegaConf.select(cfg, "hydra.launcher.n_jobs", default=-1)
    cores = os.cpu_count() or 1
    try:
        jobs = int(jobs)
    except (TypeError, ValueError):
        return cores
    if jobs > max_jobs():
        raise ConfigError(
            f"hydra.launcher.n_jobs={jobs}: at most {max_jobs()} on this machine "
            f"({cores} CPUs; -1 uses them all)"
        )
    return cores if jobs < 0 else max(1, min(jobs, cores))


def plan(source: Source, overrides: list[str], multirun: bool) -> Plan:
    """Compose and check every run of a command line (see the module docstring).

    Raises:
        ConfigError: the first problem, in one line.
    """
    from omegaconf import OmegaConf

    from sim.config import composer, finalise
    from sim.config.compose import scenario_file
    from sim.engine.resources import check_memory
    from sim.sweeps.callbacks import merge_sweeps

    with composer(source, from_shell=True) as compose:
        # Composed as Hydra composes to pick the mode: a preset may make it a multirun.
        master = compose(overrides, multirun=True)
        mode = str(OmegaConf.select(master, "hydra.mode", default="") or "")
        multirun = multirun or mode.endswith("MULTIRUN")
        if multirun:
            user = [o for o in overrides if "hydra.sweeper" not in o.partition("=")[0]]
            params = OmegaConf.select(master, "hydra.sweeper.params", default=None)
            swept = merge_sweeps(user, OmegaConf.to_container(params) if params else None)
            jobs, total = expand(swept)
        else:
            master = compose(overrides)
            jobs, total = [overrides], 1
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        out_dir = OmegaConf.select(master, key, default=None)
        runs = []
        named: dict[str, str] = {}  # scenario label -> scenario option that gave it
        for job in jobs:
            cfg = compose(job)
            resolved = finalise(cfg)
            option = OmegaConf.select(cfg, "hydra.runtime.choices.scenario", default=None)
            label = str(resolved.scenario.name)
            if option is not None:
                other = named.setdefault(label, option)
                if other != option:
                    raise ConfigError(
                        f"scenario.name={label}: given by both {scenario_file(compose, other)} "
                        f"and {scenario_file(compose, option)}; scenarios in one sweep need "
                        "distinct names"
                    )
            runs.append(resolved)
        concurrent = _concurrency(master) if multirun else 1
    biggest = max(runs, key=lambda c: int(c.market.customers) * max(1, len(c.brands)))
    check_memory(biggest, concurrent=min(concurrent, total))
    out = Path(str(out_dir)) if out_dir else None
    if out is not None:
        check_writable(out, key, disk_bytes(biggest) * total)
    return Plan(runs, total, multirun, out, concurrent)


def disk_bytes(cfg) -> int:
    """Disk a run's result files take, at most (uncompressed columns)."""
    t, b = int(cfg.sim.steps) + 1, len(cfg.brands)
    return 8 * t * (30 * b + 2 * (b + 4) ** 2) + 1_000_000


def check_writable(folder: Path, key: str, need: int) -> None:
    """The output folder can be created and written, with room for the results.

    Probes the nearest existing parent with a temporary file (and removes it), so nothing
    is left behind when the check fails.
    """
    import tempfile

    from sim.engine.resources import human_bytes

    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{key}={folder}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{key}={folder}: cannot write in {existing} ({exc.strerror or 'read-only'})"
        ) from None
    free = shutil.disk_usage(existing).free
    if free < need:
        raise ConfigError(
            f"{key}={folder}: the results need about {human_bytes(need)} of disk, "
            f"{human_bytes(free)} free"
        )


def print_plan(p: Plan) -> None:
    """``--dry-run``: the resolved config of the first run, then the estimates."""
    from omegaconf import OmegaConf

    from sim.engine.resources import available_memory, estimate, human_bytes, human_seconds

    cfg = p.runs[0]
    print(OmegaConf.to_yaml(cfg), end="")
    est = estimate(cfg)
    have = available_memory()
    print("# journeysim --dry-run: nothing was run")
    print(
        f"# estimated memory per run: {human_bytes(est.total)} (state {human_bytes(est.state)}, "
        f"network {human_bytes(est.network)}, build {human_bytes(est.build)}, records "
        f"{human_bytes(est.records)}); available: "
        + (human_bytes(have) if have is not None else "unknown")
    )
    total_seconds = sum(estimate(c).total_seconds for c in p.runs) * p.total_runs / len(p.runs)
    burn_in = "from cache" if est.burn_in_cached else human_seconds(est.burn_in_seconds)
    compile_ = human_seconds(est.compile_seconds) if est.compile_seconds else "none (cached)"
    print(
        f"# estimated time per run: burn-in {burn_in}, compile {compile_}, recorded steps "
        f"{human_seconds(est.seconds)}; {p.total_runs} run(s), about "
        f"{human_seconds(total_seconds / max(1, p.concurrent))} in all"
    )
    if cfg.scenario.get("changes"):
        from sim.config.changes import target_of

        aim = ", ".join(f"{k} {v}" for k, v in target_of(cfg).items() if v is not None)
        only = f", for the customers of {aim} only" if aim else ""
        print("# question: a change made today (scenario.changes act from step 0 on the "
              f"shared status quo{only})")  # fmt: skip
    if p.out_dir is not None:
        print(f"# results would go to {p.out_dir}")


def _task(cfg) -> None:
    """Hydra task: skip if complete (verified), else simulate under the run's lock, write."""
    import logging

    import polars as pl
    from hydra.core.hydra_config import HydraConfig

    from sim.config import finalise
    from sim.engine.startup import engine_imports

    with engine_imports():  # the engine's imports: see sim.engine.startup
        from sim.engine.runner import simulate
    from sim.engine.kpi import print_kpis
    from sim.sweeps.io import check_complete, remove_stray_temporaries, run_lock, write_result
    from sim.sweeps.progress import step_progress

    try:
        resolved = finalise(cfg, choices=HydraConfig.get().runtime.choices)
    except ConfigError as exc:
        if common.DEBUG:
            raise
        raise SystemExit(error(str(exc))) from None
    logging.getLogger("MESA").setLevel(logging.WARNING)  # mesa logs every step at INFO
    out_dir = HydraConfig.get().runtime.output_dir
    question = ", changes from today" if resolved.scenario.get("changes") else ""
    title = f"journeysim: {resolved.scenario.name}{question} (results in {out_dir})"

    def waiting() -> None:
        print(f"journeysim: another process is computing {out_dir}; waiting for it")

    try:
        with run_lock(out_dir, wait=waiting):
            remove_stray_temporaries(out_dir)
            problem = check_complete(out_dir, resolved)
            if problem is None:
                print(f"journeysim: {out_dir} already holds complete results for this config: "
                      "skipped")  # fmt: skip
                print_kpis(pl.read_parquet(os.path.join(out_dir, "metrics.parquet")), title=title)
                return
            if "corrupt" in problem or "missing" in problem or "record" in problem:
                print(f"journeysim: earlier result not usable ({problem}): running again")
            with step_progress(int(resolved.sim.steps), "simulating") as advance:
                result = simulate(resolved, progress=advance)
            write_result(result, out_dir)
    except (OSError, pl.exceptions.PolarsError) as exc:  # a full disk: polars says ComputeError
        if common.DEBUG:
            raise
        where = getattr(exc, "filename", None) or out_dir
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0][:200]
        message = f"{where}: cannot write the results ({reason})"
        raise SystemExit(error(message)) from None
    print_kpis(result.metrics, title=title)


def _hydra_main(argv: list[str]) -> None:
    import hydra

    sys.argv = [sys.argv[0], *argv]
    hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)(_task)()


def _absolute_config_path(argv: list[str]) -> list[str]:
    """``-cp DIR`` relative to the working directory (Hydra would read it from sim/)."""
    out = list(argv)
    for k, a in enumerate(out):
        if a in ("-cp", "--config-path") and k + 1 < len(out):
            out[k + 1] = str(Path(out[k + 1]).expanduser().resolve())
        elif a.startswith("--config-path="):
            out[k] = "--config-path=" + str(Path(a.partition("=")[2]).expanduser().resolve())
    return out


def command(argv: list[str]) -> int:
    """Check every run, then hand the command line to Hydra (or print the plan)."""
    from sim.config import register_resolvers
    from sim.config.safety import exit_on_refusal

    register_resolvers()
    exit_on_refusal(not common.DEBUG)
    try:
        return _command(argv)
    finally:
        exit_on_refusal(False)


def _command(argv: list[str]) -> int:
    from hydra._internal.utils import get_args_parser

    from sim.config import one_line
    from sim.config.compose import check_overrides
    from sim.config.safety import check_argv, warn_repeated_keys

    try:
        check_argv(argv)  # exact flags only: Hydra's parser would take any prefix of one
    except ConfigError as exc:
        return error(str(exc))
    dry_run = "--dry-run" in argv
    if "--no-cache" in argv:  # every run simulates its burn-in (sweep workers inherit it)
        from sim.engine.snapshot import set_enabled

        set_enabled(False)
    argv = _absolute_config_path([a for a in argv if a not in ("--dry-run", "--no-cache")])
    parser = get_args_parser()
    parser.allow_abbrev = False
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage line
        return int(exc.code or 2)
    try:
        check_overrides(args.overrides)  # lengths and numbers Python itself would refuse
    except ConfigError as exc:
        return error(str(exc))
    warn_repeated_keys(args.overrides)
    if not any(a in INFORMATIONAL for a in argv):
        source = Source(args.config_name or "config", args.config_path, args.config_dir)
        try:
            p = plan(source, list(args.overrides), bool(args.multirun))
        except ConfigError as exc:
            if common.DEBUG:
                raise
            return error(str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else Hydra raises while composing
            if common.DEBUG:
                raise
            return error(one_line(exc))
        if dry_run:
            print_plan(p)
            return 0
    try:
        _hydra_main(argv)
    except KeyboardInterrupt:
        return error("interrupted; finished runs are kept, rerun the same command to resume")
    return 0
