"""Nothing a config says is executed: what Hydra would call, import or run is allowlisted.

Every place where Hydra would act on a name in a config is checked against journeysim's
own allowlists.

Hydra hands a composed config to code that acts on names, not only values:

- ``_target_`` anywhere (``hydra.callbacks``, ``hydra.launcher``, ``hydra.sweeper``, or
  nested in their arguments) is imported and called by ``hydra.utils.instantiate``;
- ``hydra.job_logging`` and ``hydra.hydra_logging`` go to ``logging.config.dictConfig``,
  which imports and calls ``class`` and ``()``, resolves ``ext://`` names and opens
  ``filename``;
- ``hydra.job.env_set`` sets environment variables that child processes and libraries
  act on (``PYTHONPATH``, ``LD_PRELOAD``, ...);
- a ``pkg://`` search path imports the named package; a Ray ``runtime_env`` installs
  and runs code on the cluster; ``--experimental-rerun`` unpickles a file.

``check_config`` walks a composed config (the ``hydra`` node included) and refuses the
first thing outside the allowlists with a one-line :class:`ConfigError` naming the key
and the value. ``install_guards`` wires the same checks into Hydra itself, so every
config Hydra composes (run, multirun, each job of a sweep, ``--cfg``), from whatever
source (command line, scenario, experiment or custom config files, ``-cd``/``-cn``/``-cp``,
``hydra.searchpath``), is checked before Hydra uses it. Hydra's own blocklist is not
relied on.
"""

from __future__ import annotations

import sys

from omegaconf import DictConfig, ListConfig, OmegaConf

from sim.config.errors import ConfigError

#: The only callables a config may name with ``_target_``.
ALLOWED_TARGETS = frozenset(
    {
        "sim.sweeps.callbacks.SummaryCallback",
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
        "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
        "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher",
    }
)
#: Handler and formatter classes the logging configs may name.
LOGGING_CLASSES = frozenset(
    {
        "logging.StreamHandler",
        "logging.FileHandler",
        "logging.NullHandler",
        "logging.Formatter",
        "logging.handlers.RotatingFileHandler",
        "logging.handlers.WatchedFileHandler",
        "colorlog.ColoredFormatter",
    }
)
#: ``ext://`` objects the logging configs may name.
LOGGING_STREAMS = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
#: Environment variables ``hydra.job.env_set`` may set (thread counts, caches).
ENV_VARS = frozenset(
    {
        "NUMBA_NUM_THREADS",
        "NUMBA_CACHE_DIR",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "JOURNEYSIM_RESULTS_ROOT",
    }
)
#: Packages a ``pkg://`` search path may name (importing a package runs its code).
SEARCH_PACKAGES = ("hydra.conf", "hydra_plugins", "experiments", "conf")
#: Keys refused wherever they appear: they install or run code.
FORBIDDEN_KEYS = frozenset({"runtime_env"})

_EXIT_ON_REFUSAL = False  # set by the command line: one line on stderr, exit code 2


def _refuse(message: str) -> None:
    if _EXIT_ON_REFUSAL:
        print(f"journeysim: error: {message}", file=sys.stderr)
        raise SystemExit(2)
    raise ConfigError(message)


def _raw(cfg) -> object:
    """The config as plain containers, interpolations unresolved (nothing is evaluated)."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    return cfg


def _walk(node, path: str):
    """Yield (key path, key, value) for every mapping entry, lists included."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            yield sub, str(key), value
            yield from _walk(value, sub)
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _walk(value, f"{path}[{k}]")


def _show(value) -> str:
    return str(value).replace("\n", " ")[:200]


def check_targets(data, path: str = "") -> None:
    """Every ``_target_`` must name an allowed callable; forbidden keys must be absent."""
    for key_path, key, value in _walk(data, path):
        if key == "_target_" and value not in ALLOWED_TARGETS:
            _refuse(
                f"{key_path}={_show(value)}: not an allowed target (journeysim instantiates "
                f"only {', '.join(sorted(ALLOWED_TARGETS))})"
            )
        if key in FORBIDDEN_KEYS:
            _refuse(f"{key_path}: not allowed (it installs and runs code)")


def check_logging(data, path: str) -> None:
    """A logging config may name only standard handlers, formatters and streams."""
    for key_path, key, value in _walk(data, path):
        if key == "()":
            _refuse(f"{key_path}={_show(value)}: custom logging factories are not allowed")
        if key == "class" and value not in LOGGING_CLASSES:
            _refuse(
                f"{key_path}={_show(value)}: must be one of {', '.join(sorted(LOGGING_CLASSES))}"
            )
        if isinstance(value, str) and value.startswith("ext://") and value not in LOGGING_STREAMS:
            _refuse(f"{key_path}={_show(value)}: must be one of {', '.join(LOGGING_STREAMS)}")
        if key == "filename" and not (isinstance(value, str) and value.endswith(".log")):
            _refuse(f"{key_path}={_show(value)}: a log file name must end in .log")


def check_search_path(entry, key: str) -> None:
    """A search path entry is a folder (``file://``) or an allowed package (``pkg://``)."""
    text = str(entry)
    if text.startswith("pkg://"):
        package = text[len("pkg://") :].replace("/", ".").strip(".")
        if not any(package == p or package.startswith(p + ".") for p in SEARCH_PACKAGES):
            _refuse(
                f"{key}={text}: a pkg:// search path must be one of "
                f"{', '.join('pkg://' + p for p in SEARCH_PACKAGES)} (or use file://FOLDER)"
            )
    elif not text.startswith(("file://", "structured://")) and "://" in text:
        _refuse(f"{key}={text}: a search path must start with file:// or pkg://")


def check_config(cfg) -> None:
    """Refuse a composed config that names anything to import, call or run (see module doc).

    Args:
        cfg: a composed config, with or without its ``hydra`` node.

    Raises:
        ConfigError: one line naming the key and the value refused.
    """
    data = _raw(cfg)
    if not isinstance(data, dict):
        return
    check_targets(data)
    hydra = data.get("hydra")
    if not isinstance(hydra, dict):
        return
    for section in ("job_logging", "hydra_logging"):
        if hydra.get(section) is not None:
            check_logging(hydra[section], f"hydra.{section}")
    env = ((hydra.get("job") or {}).get("env_set")) or {}
    for name, value in env.items():
        if name not in ENV_VARS:
            _refuse(
                f"hydra.job.env_set.{name}={_show(value)}: not an allowed variable "
                f"(allowed: {', '.join(sorted(ENV_VARS))})"
            )
    for k, entry in enumerate(hydra.get("searchpath") or []):
        check_search_path(entry, f"hydra.searchpath[{k}]")


_INSTALLED = False


def install_guards() -> None:
    """Check every config Hydra composes, and every package it would import, in Hydra itself.

    Idempotent. Wraps ``ConfigLoaderImpl.load_configuration`` (every composition: runs,
    multiruns, each sweep job, ``--cfg``), ``ImportlibResourcesConfigSource`` (``pkg://``
    search paths, checked before the package is imported) and refuses
    ``--experimental-rerun`` (it unpickles a file).
    """
    global _INSTALLED
    if _INSTALLED:
        return
    import hydra.main
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.core_plugins.importlib_resources_config_source import (
        ImportlibResourcesConfigSource,
    )

    load = ConfigLoaderImpl.load_configuration

    def load_configuration(self, *args, **kwargs):
        cfg = load(self, *args, **kwargs)
        check_config(cfg)
        return cfg

    ConfigLoaderImpl.load_configuration = load_configuration

    # Hydra's plugin scan may load its own copy of the pkg:// source class: guard both.
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins

    Plugins.instance()
    for source_class in {ImportlibResourcesConfigSource, SourcesRegistry.instance().resolve("pkg")}:
        _guard_package_source(source_class)

    def no_rerun(file_path: str, overrides) -> None:
        _refuse(f"--experimental-rerun {file_path}: not allowed (it unpickles a file)")

    hydra.main._get_rerun_conf = no_rerun
    _INSTALLED = True


def _guard_package_source(source_class) -> None:
    """Check a ``pkg://`` source's package before anything imports it."""
    init = source_class.__init__

    def source_init(self, provider: str, path: str) -> None:
        entry = path if str(path).startswith("pkg://") else f"pkg://{path}"
        check_search_path(entry, f"hydra.searchpath ({provider})")
        init(self, provider, path)

    source_class.__init__ = source_init


def exit_on_refusal(enabled: bool = True) -> None:
    """Command line mode: a refusal prints one line and exits with code 2."""
    global _EXIT_ON_REFUSAL
    _EXIT_ON_REFUSAL = enabled
