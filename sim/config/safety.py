"""The boundary: config content is data, never code.

Threat model (README, "Nothing a config says is executed"). Trusted: the person typing the
command line on their own machine, and journeysim's own packaged configs (``conf/``, the
``experiments`` presets, Hydra's and its launchers' packaged configs). Data: everything
that can come from someone else -- scenario, experiment and custom config files, the
``-cd``/``-cp``/``-cn`` folders and their files, edge lists, the analyst tools' path and
KPI tables, and everything the app receives from a form or a URL.

One rule for data (``check_data_file``, ``check_override_content``):

- a config file from outside journeysim's packaged folders holds model keys only: no
  ``hydra`` node, no Hydra group file (``hydra/...``), no ``defaults`` entry reaching
  ``hydra/*``, no ``_target_`` (or ``_args_``, ``_partial_``, ...), no ``runtime_env``,
  and no ``${...}`` but plain references to other model keys (``${bass.p}``);
- such a file is at most ``MAX_CONFIG_BYTES`` of UTF-8 YAML without anchors or aliases
  (an alias bomb of a few hundred bytes would expand beyond memory);
- the app's overrides obey the same rule, and may set no ``hydra`` key at all.

The command line may in addition choose Hydra's launcher, sweeper and logging by *name*
among the packaged ones (``hydra/launcher=joblib|laptop|ray_local|ray_cluster``) and set
the plain values those expose (``HYDRA_KEYS``: folders, ``n_jobs``, Ray's address and
sizes, thread counts); nothing else under ``hydra``.

Resolvers are replaced before any composition (``install_resolvers``): every resolver but
``ALLOWED_RESOLVERS`` (Hydra's ``now``, ``hydra`` and ``python_version``, journeysim's
arithmetic ``oneminus`` and ``mul``) raises, so ``oc.env``, ``oc.create`` and
``oc.decode`` can neither read the environment nor build a ``_target_`` after a check.
The composed config is checked again as a whole (``check_config``), the ``hydra`` node
against the structure the packaged configs give it, and the model part once more after
it is resolved (``sim.config.compose.finalise``), which is the copy that runs and is saved.

``install_guards`` wires these checks into Hydra itself: every file Hydra reads from a
folder that is not packaged, every ``pkg://`` search path (before its package is
imported), every composition; ``--experimental-rerun`` (which unpickles a file) is
disabled in Hydra's module, and ``check_argv`` refuses it, any prefix of it and any flag
``--help`` does not list, before Hydra parses the command line.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import io
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from sim.config.errors import ConfigError, printable, warn

ROOT = Path(__file__).resolve().parents[2]
#: journeysim's packaged config folders: files there are trusted, files elsewhere are data.
PACKAGED_FOLDERS = (ROOT / "conf", ROOT / "experiments")
#: The largest config file read from outside the packaged folders.
MAX_CONFIG_BYTES = 1_000_000

#: The only callables a config may name with ``_target_``, and where.
TARGET_PLACES = {
    "hydra.callbacks.summary._target_": {"sim.sweeps.callbacks.SummaryCallback"},
    "hydra.launcher._target_": {
        "hydra._internal.core_plugins.basic_launcher.BasicLauncher",
        "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
        "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher",
    },
    "hydra.sweeper._target_": {"hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
}
ALLOWED_TARGETS = frozenset().union(*TARGET_PLACES.values())
#: Keys Hydra's instantiate or Ray act on: refused wherever data or an override puts them.
INSTANTIATE_KEYS = frozenset({"_target_", "_args_", "_partial_", "_recursive_", "_convert_"})
FORBIDDEN_KEYS = INSTANTIATE_KEYS | {"runtime_env"}
#: Resolvers that may run; every other one is replaced by one that refuses.
ALLOWED_RESOLVERS = frozenset({"now", "hydra", "python_version", "oneminus", "mul"})
#: Resolvers a command-line override of a model key may use (journeysim's arithmetic).
MODEL_RESOLVERS = frozenset({"oneminus", "mul"})
#: Hydra config groups the command line may choose, and the packaged options of each.
HYDRA_GROUPS = {
    "hydra/launcher": ("basic", "joblib", "laptop", "ray", "ray_local", "ray_cluster"),
    "hydra/sweeper": ("basic",),
    "hydra/job_logging": ("default", "disabled", "none", "stdout"),
    "hydra/hydra_logging": ("default", "disabled", "none"),
}
#: The ``hydra.*`` keys the command line may set, each to a plain value.
HYDRA_KEYS = (
    "hydra.run.dir",
    "hydra.sweep.dir",
    "hydra.sweep.subdir",
    "hydra.mode",
    "hydra.verbose",
    "hydra.job.chdir",
    "hydra.searchpath",
    "hydra.sweeper.params.*",
    "hydra.job.env_set.*",
    "hydra.launcher.n_jobs",
    "hydra.launcher.backend",
    "hydra.launcher.prefer",
    "hydra.launcher.timeout",
    "hydra.launcher.verbose",
    "hydra.launcher.batch_size",
    "hydra.launcher.pre_dispatch",
    "hydra.launcher.ray.init.address",
    "hydra.launcher.ray.init.num_cpus",
    "hydra.launcher.ray.init.num_gpus",
    "hydra.launcher.ray.init.object_store_memory",
    "hydra.launcher.ray.init.include_dashboard",
    "hydra.launcher.ray.remote.num_cpus",
    "hydra.launcher.ray.remote.num_gpus",
    "hydra.launcher.ray.remote.memory",
    "hydra.launcher.ray.remote.max_calls",
)
#: Environment variables ``hydra.job.env_set`` may set: thread counts, nothing path-valued.
ENV_VARS = frozenset(
    {"NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
)
#: Handler and formatter classes Hydra's packaged logging configs name.
LOGGING_CLASSES = frozenset(
    {
        "logging.StreamHandler",
        "logging.FileHandler",
        "logging.NullHandler",
        "logging.Formatter",
        "colorlog.ColoredFormatter",
    }
)
LOGGING_STREAMS = frozenset({"ext://sys.stdout", "ext://sys.stderr"})
#: The one log file name Hydra's packaged logging writes: ``<job>.log`` in the run folder.
LOG_FILE = "${hydra.runtime.output_dir}/${hydra.job.name}.log"
#: Installed packages a ``pkg://`` search path may name (checked where they are installed).
SEARCH_PACKAGES = ("hydra.conf", "hydra_plugins", "experiments")

#: ``${name:`` of a resolver call; ``${a.b}`` / ``${.a}`` / ``${a[0]}`` of a plain reference.
_RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.]*)\s*:")
_REFERENCE = re.compile(r"\$\{(\.*)([A-Za-z_]\w*)((?:\.\w+|\[\d+\])*)\}")

_EXIT_ON_REFUSAL = False  # set by the command line: one line on stderr, exit code 2


def refuse(message: str) -> None:
    """Raise a one-line :class:`ConfigError` (or exit 2 with it, on the command line)."""
    message = printable(" ".join(str(message).split()))
    if _EXIT_ON_REFUSAL:
        print(f"journeysim: error: {message}", file=sys.stderr)
        raise SystemExit(2)
    raise ConfigError(message)


def exit_on_refusal(enabled: bool = True) -> None:
    """Command line mode: a refusal prints one line and exits with code 2."""
    global _EXIT_ON_REFUSAL
    _EXIT_ON_REFUSAL = enabled


def shown(value, limit: int = 120) -> str:
    """A value as it may appear in a message: one line, printable, short."""
    text = printable(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- resolvers ------------------------------------------------------------------------------
def _refusing(name: str):
    def resolver(*_args, **_kwargs):
        refuse(
            f"${{{name}:...}}: resolver not allowed (a config may not read the environment "
            "or build objects)"
        )

    return resolver


def install_resolvers() -> None:
    """Replace every registered resolver outside ``ALLOWED_RESOLVERS`` by a refusing one."""
    from omegaconf.basecontainer import BaseContainer

    for name in list(BaseContainer._resolvers):
        if name not in ALLOWED_RESOLVERS:
            OmegaConf.register_new_resolver(name, _refusing(name), replace=True)
    for name in (
        "oc.env",
        "oc.create",
        "oc.decode",
        "oc.select",
        "oc.deprecated",
        "oc.dict.keys",
        "oc.dict.values",
        "env",
    ):
        OmegaConf.register_new_resolver(name, _refusing(name), replace=True)


def check_interpolations(text: str, key: str, resolvers: frozenset = frozenset()) -> None:
    """Every ``${...}`` in ``text`` is a plain reference to a model key or an allowed resolver.

    Raises:
        ConfigError: naming the key and the interpolation refused.
    """
    if "${" not in text:
        return
    for name in _RESOLVER.findall(text):
        if name not in resolvers:
            refuse(
                f"{key}={shown(text)}: resolver '{name}' not allowed here"
                + (
                    f" (only {', '.join(sorted(resolvers))})"
                    if resolvers
                    else " (only plain references such as ${market.customers})"
                )
            )
    start = text.find("${")
    while start != -1:
        if start > 0 and text[start - 1] == "\\":  # an escaped, literal ${
            start = text.find("${", start + 2)
            continue
        plain = _REFERENCE.match(text, start)
        if plain is not None:
            if plain.group(1) == "" and plain.group(2) == "hydra":
                refuse(f"{key}={shown(text)}: may not refer to Hydra's settings")
            start = text.find("${", plain.end())
            continue
        if not _RESOLVER.match(text, start):
            refuse(
                f"{key}={shown(text)}: only plain references such as ${{market.customers}} "
                "may be interpolated"
            )
        start = text.find("${", start + 2)


# -- data: files and values from anyone ----------------------------------------------------
def _walk(node, path: str):
    """Yield (key path, key, value) for every mapping entry and list item, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            yield sub, str(key), value
            yield from _walk(value, sub)
    elif isinstance(node, list):
        for k, value in enumerate(node):
            sub = f"{path}[{k}]"
            yield sub, None, value
            yield from _walk(value, sub)


def check_data(node, where: str, path: str = "", resolvers: frozenset = frozenset()) -> None:
    """The data rule on a value tree: no instantiate keys, only plain interpolations.

    Raises:
        ConfigError: ``WHERE: KEY: ...`` for the first thing refused.
    """
    prefix = f"{where}: " if where else ""
    if isinstance(node, str):
        check_interpolations(node, prefix + (path or "value"), resolvers)
    for key_path, key, value in _walk(node, path):
        if key in FORBIDDEN_KEYS:
            refuse(f"{prefix}{key_path}: not allowed (nothing a config says is executed)")
        if key is not None and "${" in key:
            refuse(f"{prefix}{key_path}: a key may not be interpolated")
        if isinstance(value, str):
            check_interpolations(value, prefix + key_path, resolvers)


def _mentions_hydra(entry) -> bool:
    text = " ".join(str(x) for x in (entry.items() if isinstance(entry, dict) else [entry]))
    return re.search(r"(^|[\s/'(\[,])hydra($|[\s/@:=.'),\]])", text) is not None


def display_path(path: str | Path) -> str:
    """A file's path relative to the working directory when it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_data_file(path: str | Path, limit: int = MAX_CONFIG_BYTES) -> str:
    """The text of a YAML file from outside journeysim, bounded and without aliases.

    Raises:
        ConfigError: too large, not UTF-8, or using YAML anchors/aliases.
    """
    import yaml
    from omegaconf._utils import get_yaml_loader

    where = display_path(path)
    size = os.path.getsize(path)
    if size > limit:
        refuse(f"{where}: {size:,} bytes; a config file may have at most {limit:,}")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        refuse(f"{where}: not UTF-8 text")
    try:
        for event in yaml.parse(io.StringIO(text), Loader=get_yaml_loader()):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1
                refuse(f"{where}, line {line}: YAML anchors and aliases are not allowed")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        refuse(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', None) or 'syntax'})")
    return text


def check_data_file(cfg, where: str, config_path: str, package: str | None) -> None:
    """The data rule on a loaded config file (see the module docstring).

    Args:
        cfg: the file's content, as loaded.
        where: the file, for messages.
        config_path: its name on the search path, e.g. ``scenario/evil``.
        package: its ``# @package`` header, if any.

    Raises:
        ConfigError: ``FILE: KEY: ...`` for the first thing refused.
    """
    group = config_path.rpartition("/")[0]
    if group.split("/")[0] == "hydra":
        refuse(
            f"{where}: a config file from outside journeysim may not configure Hydra "
            f"({config_path})"
        )
    if package is not None and "hydra" in re.split(r"[.]", package):
        refuse(f"{where}: @package {shown(package)}: may not place keys under hydra")
    data = OmegaConf.to_container(cfg, resolve=False) if isinstance(cfg, DictConfig) else cfg
    if not isinstance(data, dict):
        return
    is_global = package == "_global_" or (package is None and group == "")
    if is_global and "hydra" in data:
        refuse(
            f"{where}: hydra: a config file from outside journeysim may not configure "
            "Hydra (choose a launcher by name on the command line)"
        )
    for k, entry in enumerate(data.get("defaults") or []):
        if _mentions_hydra(entry):
            refuse(f"{where}: defaults[{k}]={shown(entry)}: may not reach Hydra's configs")
    check_data({k: v for k, v in data.items() if k != "defaults"}, where)


# -- overrides -----------------------------------------------------------------------------
def _override_values(o) -> list:
    """The value(s) an override sets, as Hydra parsed them (each element of a sweep)."""
    from hydra.core.override_parser.types import Transformer

    if o.is_delete() and o.value() is None:
        return []
    if o.is_sweep_override():
        return list(o.sweep_iterator(transformer=Transformer.identity))
    return [o.value()]


def _plain(value) -> object:
    """A parsed override value as plain containers (Hydra's quoted strings as str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def check_hydra_override(o, key: str, values: list) -> None:
    """A command-line ``hydra`` override: a packaged group option or an allowed plain key."""
    line = shown(o.input_line)
    if "/" in key or o.package is not None and key.startswith("hydra"):
        options = HYDRA_GROUPS.get(key)
        if options is None:
            refuse(f"{line}: {key} cannot be chosen (allowed: {', '.join(sorted(HYDRA_GROUPS))})")
        for value in values:
            if str(value) not in options:
                refuse(f"{line}: {key} must be one of {', '.join(options)}")
        return
    if not any(fnmatch.fnmatchcase(key, pattern) for pattern in HYDRA_KEYS):
        refuse(
            f"{line}: {key} cannot be set (journeysim's command line sets only "
            "hydra.run.dir, hydra.sweep.dir, hydra.sweep.subdir, hydra.mode, "
            "hydra.launcher.n_jobs, Ray's address and sizes, thread counts in "
            "hydra.job.env_set and hydra.searchpath)"
        )
    for value in values:
        plain = _plain(value)
        if key == "hydra.searchpath":
            entries = plain if isinstance(plain, list) else [plain]
            for k, entry in enumerate(entries):
                check_search_path(entry, f"{key}[{k}]")
            continue
        if key.startswith("hydra.job.env_set."):
            check_env_var(key.rsplit(".", 1)[1], plain)
            continue
        if key.startswith("hydra.sweeper.params."):
            check_data(plain, "", key, MODEL_RESOLVERS)
            continue
        if isinstance(plain, (dict, list)):
            refuse(f"{line}: {key} takes a plain value, not {type(plain).__name__}")
        if isinstance(plain, str):
            check_interpolations(plain, key, frozenset({"now"}) | {"hydra"})


def check_override_content(overrides: Iterable[str], trust: str = "shell") -> None:
    """Check override strings before Hydra composes them.

    Args:
        overrides: Hydra override strings.
        trust: ``"shell"`` (the command line, the Python API: may also choose packaged
            Hydra options and set ``HYDRA_KEYS``) or ``"data"`` (the app, a URL, a file:
            model keys only, plain references only).

    Raises:
        ConfigError: one line naming the override and the rule.
    """
    from sim.config.compose import parse_overrides

    try:
        parsed = parse_overrides(overrides)
    except ConfigError as exc:
        refuse(str(exc))
    for o in parsed:
        key = o.key_or_group.lstrip("/")
        values = _override_values(o)
        parts = re.split(r"[./]", key)
        if parts[0] == "hydra" or (o.package or "").split(".")[0] == "hydra":
            if trust != "shell":
                refuse(
                    f"{shown(o.input_line)}: Hydra's settings cannot be set here "
                    "(only the model's keys)"
                )
            check_hydra_override(o, key, values)
            continue
        bad = [p for p in parts if p in FORBIDDEN_KEYS]
        if bad:
            refuse(f"{shown(o.input_line)}: {key}: not allowed (nothing a config says is executed)")
        resolvers = MODEL_RESOLVERS if trust == "shell" else frozenset()
        for value in values:
            check_data(_plain(value), "", key, resolvers)


def warn_repeated_keys(overrides: Iterable[str]) -> None:
    """One warning for each key given twice on the command line (the last one wins)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return
    seen: dict[str, str] = {}
    for o in parsed:
        key = o.key_or_group
        if key in seen and seen[key] != o.input_line:
            warn(
                f"{key} given twice ({shown(seen[key])}, then {shown(o.input_line)}): "
                "the last one is used"
            )
        seen[key] = o.input_line


# -- the composed config --------------------------------------------------------------------
def _raw(cfg) -> object:
    """The config as plain containers, interpolations unresolved (nothing is evaluated)."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=False, throw_on_missing=False)
    return cfg


def check_env_var(name: str, value) -> None:
    """``hydra.job.env_set``: a thread count only."""
    if name not in ENV_VARS:
        refuse(
            f"hydra.job.env_set.{name}={shown(value)}: not an allowed variable "
            f"(allowed: {', '.join(sorted(ENV_VARS))}, thread counts)"
        )
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 4096:
        refuse(
            f"hydra.job.env_set.{name}={shown(value)}: must be a whole number of "
            "threads from 1 to 4096"
        )


def _package_home(package: str) -> list[Path]:
    """Where an installed package lives, found without importing it."""
    top = package.split(".")[0]
    module = sys.modules.get(top)
    if module is not None:
        return [Path(p).resolve() for p in getattr(module, "__path__", [])]
    spec = importlib.util.find_spec(top)
    if spec is None:
        return []
    return [Path(p).resolve() for p in (spec.submodule_search_locations or [])]


def _installed_homes() -> list[Path]:
    import sysconfig

    homes = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    return [*homes, ROOT / "experiments"]


def check_search_path(entry, key: str) -> None:
    """A search path entry: a folder (``file://``, whose files are data) or a package.

    A ``pkg://`` package is checked where it is installed before anything imports it.
    """
    text = str(entry)
    if "${" in text:
        refuse(f"{key}={shown(text)}: a search path may not be interpolated")
    if text.startswith("pkg://"):
        package = text[len("pkg://") :].replace("/", ".").strip(".")
        if not any(package == p or package.startswith(p + ".") for p in SEARCH_PACKAGES):
            refuse(
                f"{key}={shown(text)}: a pkg:// search path must be one of "
                f"{', '.join('pkg://' + p for p in SEARCH_PACKAGES)} (or use file://FOLDER)"
            )
        homes = _package_home(package)
        allowed = _installed_homes()
        if not homes or not all(any(h.is_relative_to(a) for a in allowed) for h in homes):
            refuse(
                f"{key}={shown(text)}: the package is not journeysim's or Hydra's installed "
                "one (it may be shadowed from the working directory)"
            )
    elif not text.startswith("file://") and "://" in text:
        refuse(f"{key}={shown(text)}: a search path must start with file:// or pkg://")


def check_logging(data, path: str) -> None:
    """A logging config names only standard handlers, formatters, streams and the run's log."""
    for key_path, key, value in _walk(data, path):
        if key == "()":
            refuse(f"{key_path}={shown(value)}: custom logging factories are not allowed")
        if key == "class" and value not in LOGGING_CLASSES:
            refuse(
                f"{key_path}={shown(value)}: must be one of {', '.join(sorted(LOGGING_CLASSES))}"
            )
        if isinstance(value, str) and value.startswith("ext://") and value not in LOGGING_STREAMS:
            refuse(
                f"{key_path}={shown(value)}: must be one of {', '.join(sorted(LOGGING_STREAMS))}"
            )
        if key == "filename" and value != LOG_FILE:
            refuse(f"{key_path}={shown(value)}: the log file is {LOG_FILE}")
        if key == "mode" and value not in ("a", None):
            refuse(f"{key_path}={shown(value)}: a log file is only appended to")


def check_hydra_node(hydra: dict) -> None:
    """The ``hydra`` node has the structure of the packaged configs, with plain values."""
    callbacks = hydra.get("callbacks") or {}
    for name in callbacks:
        if name != "summary":
            refuse(f"hydra.callbacks.{name}: not allowed (journeysim's only callback is summary)")
    for section in ("job_logging", "hydra_logging"):
        if hydra.get(section) is not None:
            check_logging(hydra[section], f"hydra.{section}")
    job = hydra.get("job") or {}
    for name, value in (job.get("env_set") or {}).items():
        check_env_var(name, value)
    name = str(job.get("name") or "")
    if name and not re.fullmatch(r"[\w.-]+", name) or name in (".", ".."):
        refuse(f"hydra.job.name={shown(name)}: must be a plain name")
    subdir = hydra.get("output_subdir")
    if subdir not in (None, ".hydra"):
        refuse(f"hydra.output_subdir={shown(subdir)}: must be .hydra or null")
    for k, entry in enumerate(hydra.get("searchpath") or []):
        check_search_path(entry, f"hydra.searchpath[{k}]")


def check_config(cfg) -> None:
    """Refuse a composed config that names anything to import, call or run.

    Every ``_target_`` stands where a packaged config puts one and names an allowed
    callable; no other instantiate key or ``runtime_env`` appears; every interpolation
    uses only allowed resolvers; the ``hydra`` node has the packaged structure.

    Args:
        cfg: a composed config, with or without its ``hydra`` node.

    Raises:
        ConfigError: one line naming the key and the value refused.
    """
    data = _raw(cfg)
    if not isinstance(data, dict):
        return
    for key_path, key, value in _walk(data, ""):
        if key == "_target_":
            allowed = TARGET_PLACES.get(key_path, ())
            if value not in allowed:
                refuse(
                    f"{key_path}={shown(value)}: not an allowed target (journeysim "
                    f"instantiates only {', '.join(sorted(ALLOWED_TARGETS))}, each in "
                    "its own place)"
                )
        elif key in FORBIDDEN_KEYS:
            refuse(f"{key_path}: not allowed (nothing a config says is executed)")
        if isinstance(value, str) and "${" in value:
            for name in _RESOLVER.findall(value):
                if name not in ALLOWED_RESOLVERS:
                    refuse(f"{key_path}={shown(value)}: resolver '{name}' not allowed")
    hydra = data.get("hydra")
    if isinstance(hydra, dict):
        check_hydra_node(hydra)


# -- Hydra's command line --------------------------------------------------------------------
#: Flags ``journeysim --help`` lists: name -> takes a value (True), optional value ("?").
FLAGS = {  # fmt: skip
    "--help": False,
    "-h": False,
    "--hydra-help": False,
    "--version": False,
    "--cfg": True,
    "-c": True,
    "--resolve": False,
    "--package": True,
    "-p": True,
    "--run": False,
    "-r": False,
    "--multirun": False,
    "-m": False,
    "--shell-completion": False,
    "-sc": False,
    "--config-path": True,
    "-cp": True,
    "--config-name": True,
    "-cn": True,
    "--config-dir": True,
    "-cd": True,
    "--info": "?",
    "-i": "?",
    "--dry-run": False,
    "--debug": False,
}


def check_argv(argv: list[str]) -> None:
    """Refuse any flag ``--help`` does not list, before Hydra's parser sees it.

    Hydra's parser accepts any unique prefix of a flag (``--experimental-rer`` is
    ``--experimental-rerun``, which unpickles a file): only exact flags pass.
    """
    expect_value = False
    for arg in argv:
        if expect_value:
            expect_value = False
            if not arg.startswith("-"):
                continue
        if not arg.startswith("-") or arg == "-":
            continue
        name, eq, _ = arg.partition("=")
        if name not in FLAGS or (eq and not name.startswith("--")):
            if "--experimental-rerun".startswith(name) and name.startswith("--e"):
                refuse(f"{shown(arg)}: not allowed (--experimental-rerun unpickles a file)")
            refuse(f"{shown(arg)}: unknown option (see --help for the options)")
        if eq and FLAGS[name] is False:
            refuse(f"{shown(arg)}: {name} takes no value")
        expect_value = FLAGS[name] is True and not eq


# -- wiring into Hydra ---------------------------------------------------------------------
_INSTALLED = False


def is_packaged(path: str | Path) -> bool:
    """Whether a config file is one of journeysim's packaged ones (trusted)."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(folder) for folder in PACKAGED_FOLDERS)


def install_guards() -> None:
    """Wire the boundary into Hydra (idempotent): see the module docstring."""
    global _INSTALLED
    install_resolvers()
    if _INSTALLED:
        return
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra._internal.core_plugins.file_config_source import FileConfigSource
    from hydra._internal.core_plugins.importlib_resources_config_source import (
        ImportlibResourcesConfigSource,
    )
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins

    load = ConfigLoaderImpl.load_configuration

    def load_configuration(self, config_name, overrides, *args, **kwargs):
        install_resolvers()
        check_override_content(overrides, trust="shell")
        cfg = load(self, config_name, overrides, *args, **kwargs)
        check_config(cfg)
        return cfg

    ConfigLoaderImpl.load_configuration = load_configuration
    Plugins.instance()  # Hydra's plugin scan may load its own copy of each source class
    registry = SourcesRegistry.instance()
    for source_class in {FileConfigSource, registry.resolve("file")}:
        _guard_file_source(source_class)
    for source_class in {ImportlibResourcesConfigSource, registry.resolve("pkg")}:
        _guard_package_source(source_class)
    _disable_rerun()
    _INSTALLED = True


def _disable_rerun() -> None:
    """``--experimental-rerun`` unpickles a file: Hydra's own function refuses."""

    def no_rerun(file_path: str, overrides) -> None:
        refuse(f"--experimental-rerun {shown(file_path)}: not allowed (it unpickles a file)")

    import hydra.main  # noqa: F401 - the module, not the function ``hydra.main``

    sys.modules["hydra.main"]._get_rerun_conf = no_rerun


def _guard_file_source(source_class) -> None:
    """Files from folders that are not packaged are read as data (``check_data_file``)."""
    from hydra.plugins.config_source import ConfigResult, ConfigSource

    original = source_class.load_config

    def load_config(self, config_path: str):
        name = self._normalize_file_name(config_path)
        full = os.path.realpath(os.path.join(self.path, name))
        if is_packaged(full) or not os.path.isfile(full):
            return original(self, config_path)
        text = read_data_file(full)
        header = ConfigSource._get_header_dict(text[:512])
        where = display_path(full)
        try:
            cfg = OmegaConf.load(io.StringIO(text))
        except Exception as exc:  # noqa: BLE001 - a malformed file, in one line
            from sim.config.compose import one_line

            refuse(f"{where}: {one_line(exc)}")
        check_data_file(cfg, where, config_path.removesuffix(".yaml"), header.get("package"))
        return ConfigResult(
            config=cfg,
            path=f"{self.scheme()}://{self.path}",
            provider=self.provider,
            header=header,
        )

    source_class.load_config = load_config


def _guard_package_source(source_class) -> None:
    """Check a ``pkg://`` source's package before anything imports it."""
    init = source_class.__init__

    def source_init(self, provider: str, path: str) -> None:
        entry = path if str(path).startswith("pkg://") else f"pkg://{path}"
        check_search_path(entry, f"hydra.searchpath ({provider})")
        init(self, provider, path)

    source_class.__init__ = source_init
