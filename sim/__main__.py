"""Command line: ``python -m sim [hydra overrides]`` (also installed as ``journeysim``).

Runs one market (or a sweep with ``-m``), writes metrics.parquet, stages.parquet,
flows.parquet and the resolved config.yaml into the Hydra run dir, and prints a KPI
table. Bad values stop the run before any work with one line naming the key, the
value and the allowed range; ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys

from sim.config import CONF_DIR, ConfigError, register_resolvers

_DEBUG = False


def _error(message: str) -> int:
    print(f"journeysim: error: {message}", file=sys.stderr)
    return 2


def _one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line (no details block)."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.strip().startswith(("full_key:", "object_type", "reference_type")):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines) or type(exc).__name__


def _is_multirun(argv: list[str]) -> bool:
    return any(a in ("-m", "--multirun") for a in argv)


def _prevalidate(argv: list[str]) -> int:
    """Compose and validate a single run's config before Hydra creates its run dir."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.config import load_config

    overrides = [a for a in argv if not a.startswith("hydra.") and not a.startswith("hydra/")]
    try:
        load_config(overrides)
    except ConfigError as exc:
        return _error(str(exc))
    except (HydraException, OmegaConfBaseException, ValueError, KeyError) as exc:
        if _DEBUG:
            raise
        return _error(_one_line(exc))
    return 0


def _task(cfg) -> None:
    """Hydra task: validate, simulate with a progress bar, write results, print KPIs."""
    import logging

    from hydra.core.hydra_config import HydraConfig

    from sim.config import finalise
    from sim.io import write_result
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
    with step_progress(int(resolved.sim.steps), "simulating") as advance:
        result = simulate(resolved, progress=advance)
    write_result(result, out_dir)
    print_kpis(result.metrics, title=f"journeysim: {resolved.scenario.name} (results in {out_dir})")


def _hydra_main(argv: list[str]) -> None:
    import hydra

    sys.argv = [sys.argv[0], *argv]
    hydra.main(config_path=str(CONF_DIR), config_name="config", version_base=None)(_task)()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m sim`` and ``journeysim``."""
    global _DEBUG
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG = "--debug" in argv or os.environ.get("JOURNEYSIM_DEBUG") == "1"
    argv = [a for a in argv if a != "--debug"]
    if _DEBUG:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    register_resolvers()
    if not _is_multirun(argv) and not any(a.startswith("-") for a in argv):
        code = _prevalidate(argv)
        if code:
            return code
    _hydra_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
