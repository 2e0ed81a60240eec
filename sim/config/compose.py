"""Compose ``conf/`` with Hydra exactly as the command line does, then resolve and validate.

Every entry point (``load_config``, the command line's pre-validation, the Hydra task)
composes through Hydra with journeysim's guards installed (``sim.config.safety``), so a
config is checked for anything executable before it is used, whatever its source.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.config import memo
from sim.config.errors import ConfigError, ConfigWarning
from sim.config.safety import (
    ROOT,
    check_config,
    check_override_content,
    install_guards,
    install_resolvers,
)

CONF_DIR = ROOT / "conf"
#: Label of a run whose scenario names itself nowhere (no file, no ``scenario.name``).
UNNAMED_SCENARIO = "unnamed"


def register_resolvers() -> None:
    """Register the config schema, journeysim's resolvers and the guards (idempotent).

    Every resolver but the allowed ones is replaced by one that refuses
    (``sim.config.safety.install_resolvers``), before any composition.
    """
    from sim.config.schema import register_schemas

    register_schemas()
    register_own_resolvers()
    install_guards()


def register_own_resolvers() -> None:
    """Register our own resolvers, every other one refusing (what resolving needs).

    Hydra's guards are installed only where Hydra composes (``register_resolvers``): a
    config finalised without composing (a memoised one, a plain mapping) never meets Hydra.
    """
    OmegaConf.register_new_resolver("oneminus", lambda x: 1.0 - float(x), replace=True)
    OmegaConf.register_new_resolver("mul", lambda x, y: float(x) * float(y), replace=True)
    install_resolvers()


@dataclass(frozen=True)
class Source:
    """Where configs come from: Hydra's ``--config-name``, ``--config-path``, ``--config-dir``.

    Attributes:
        config_name: the primary config (``-cn``), without ``.yaml``.
        config_path: the primary config folder (``-cp``), absolute, or relative to the
            working directory; default ``conf/``.
        config_dir: an extra folder searched before ``conf/`` (``-cd``).
    """

    config_name: str = "config"
    config_path: str | None = None
    config_dir: str | None = None

    @property
    def primary(self) -> str:
        """The absolute primary config folder."""
        if self.config_path is None:
            return str(CONF_DIR)
        return str(Path(self.config_path).expanduser().resolve())


def one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages folded into one line (no details block)."""
    lines: list[str] = []
    source: BaseException | None = exc
    while source is not None and len(lines) < 6:
        for line in str(source).strip().splitlines():
            text = line.strip()
            if text.startswith(
                ("full_key:", "object_type", "reference_type", "Config search path", "\tin ")
            ):
                break
            if text and text not in lines:
                lines.append(text)
        source = source.__cause__
    return " ".join(lines) or type(exc).__name__


def check_overrides(overrides) -> list[str]:
    """Overrides must be a list of strings such as ``market.customers=1000``."""
    if isinstance(overrides, Mapping):
        raise ConfigError(
            "overrides=a mapping: must be a list of strings such as ['market.customers=1000'] "
            "(a config mapping goes to simulate or finalise)"
        )
    if isinstance(overrides, (str, bytes)):
        raise ConfigError(
            f"overrides={overrides!r}: must be a list of strings such as "
            "['market.customers=1000'], not one string"
        )
    if overrides is None:
        return []
    try:
        items = list(overrides)
    except TypeError:
        raise ConfigError(
            f"overrides={overrides!r}: must be a list of strings such as ['market.customers=1000']"
        ) from None
    for k, item in enumerate(items):
        if not isinstance(item, str):
            raise ConfigError(
                f"overrides[{k}]={item!r}: must be a string such as 'market.customers=1000'"
            )
        if len(item) > MAX_OVERRIDE_CHARS:
            raise ConfigError(f"{shortened(item)}: an override of {len(item):,} characters "
                              f"(at most {MAX_OVERRIDE_CHARS:,})")  # fmt: skip
        digits = max((len(run) for run in LONG_NUMBER.findall(item)), default=0)
        if digits:
            raise ConfigError(f"{shortened(item)}: a number of {digits:,} digits "
                              f"(at most {MAX_DIGITS})")  # fmt: skip
    return items


#: Longest override accepted (a config's longest key and value are far shorter).
MAX_OVERRIDE_CHARS = 1000
#: Most digits in a number (Python refuses to read integers of more than 4,300).
MAX_DIGITS = 100
LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def parse_overrides(overrides: Iterable[str]) -> list:
    """Hydra's parse of each override; one that breaks the grammar is named in one line.

    Raises:
        ConfigError: ``<override>: not a valid override (<the grammar's words>)``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed += parser.parse_overrides([text])
        except HydraException as exc:  # the grammar's words, without its link
            why = one_line(exc).split(" See https://")[0]
            raise ConfigError(f"{shortened(text)}: not a valid override ({why})") from None
    return parsed


def shortened(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis) for a one-line message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Mappings a market cannot do without: an override emptying one is an error, not a no-op.
REQUIRED_MAPPINGS = ("brands", "channels")


def check_intent(overrides: list[str]) -> None:
    """Refuse overrides Hydra would silently ignore: ``brands={}`` merges nothing.

    Raises:
        ConfigError: an override empties or deletes the brands or the channels.
    """
    for o in parse_overrides(overrides):
        key = o.get_key_element()
        if key not in REQUIRED_MAPPINGS or o.is_sweep_override():
            continue
        what = "brand" if key == "brands" else "channel"
        if o.is_delete() or o.value() in ({}, None, []):
            raise ConfigError(f"{o.input_line}: a market needs at least one {what}")


@contextmanager
def composer(
    source: Source = Source(), from_shell: bool = False, trust: str = "shell"
) -> Iterator[Callable]:
    """A function ``compose(overrides, multirun=False)`` giving full configs (``hydra`` included).

    The search path is built as ``hydra.main`` builds it: Hydra's own configs, the primary
    folder, ``--config-dir`` before it, then plugins and ``hydra.searchpath`` entries.
    Overrides are checked by the data rule for ``trust`` (``sim.config.safety``) before
    Hydra sees them. Composition errors become one-line :class:`ConfigError`.
    """
    with _hydra_start():
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_automatic_config_search_path
        from hydra.core.config_search_path import SearchPathQuery
        from hydra.core.global_hydra import GlobalHydra
        from hydra.errors import HydraException
        from hydra.types import RunMode

        register_resolvers()
    search_path = create_automatic_config_search_path(None, None, source.primary)
    if source.config_dir is not None:
        extra = Path(source.config_dir).expanduser().resolve()
        if not extra.is_dir():
            raise ConfigError(f"--config-dir {source.config_dir}: no such folder")
        search_path.prepend(
            provider="command-line", path=f"file://{extra}", anchor=SearchPathQuery("schema")
        )
    GlobalHydra.instance().clear()
    try:
        hydra = Hydra.create_main_hydra2(task_name="journeysim", config_search_path=search_path)
    except (HydraException, OmegaConfBaseException, OSError) as exc:
        raise ConfigError(one_line(exc)) from None

    def compose(overrides: list[str], multirun: bool = False) -> DictConfig:
        check_override_content(overrides, trust)
        check_intent(overrides)
        try:
            return hydra.compose_config(
                source.config_name,
                list(overrides),
                run_mode=RunMode.MULTIRUN if multirun else RunMode.RUN,
                with_log_configuration=False,
                from_shell=from_shell,
            )
        except ConfigError:
            raise
        except (HydraException, OmegaConfBaseException, ValueError, KeyError, OSError) as exc:
            raise ConfigError(one_line(exc)) from None

    compose.hydra = hydra
    try:
        yield compose
    finally:
        GlobalHydra.instance().clear()


_HYDRA_STARTED = False


@contextmanager
def _hydra_start() -> Iterator[None]:
    """Hydra's imports and registrations; the first time, out of the collector's walks.

    Hydra, OmegaConf and the schema add some 20,000 objects that Python's cyclic garbage
    collector would walk at every full collection and at exit; the first time they are
    imported without collections, then frozen (``gc.freeze``), as ``sim.engine.startup``
    does with the engine's imports (which explains the cost).
    """
    global _HYDRA_STARTED
    if _HYDRA_STARTED:
        yield
        return
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        _HYDRA_STARTED = True
        gc.freeze()
    finally:
        if enabled:
            gc.enable()


def scenario_file(compose: Callable, option: str) -> str:
    """The file a scenario option was read from (for messages), e.g. ``conf/scenario/a.yaml``."""
    try:
        repo = compose.hydra.config_loader.repository
        found = repo.load_config(f"scenario/{option}")
        if found is not None:
            where = str(found.path).removeprefix("file://")
            path = Path(where) / "scenario" / f"{option}.yaml"
            if not path.is_file():
                path = Path(where)
            try:
                return str(path.relative_to(Path.cwd()))
            except ValueError:
                return str(path)
    except Exception:  # noqa: BLE001 - only for a message
        pass
    return f"scenario/{option}.yaml"


def load_config(
    overrides: Iterable[str] = (), source: Source | None = None, trust: str = "shell"
) -> DictConfig:
    """Compose ``conf/config.yaml`` with overrides, check, resolve and validate it.

    Args:
        overrides: Hydra override strings, e.g. ``["market.customers=1000", "+experiment=bass"]``.
        source: another primary config or config folders (as ``-cn``/``-cp``/``-cd``).
        trust: ``"shell"`` for the person at the keyboard (packaged Hydra options may be
            chosen), ``"data"`` for overrides that came from someone else (the app's form
            or a URL): model keys and plain references only (``sim.config.safety``).

    Returns:
        The resolved config (without the ``hydra`` node), schema defaults filled in.

    Raises:
        ConfigError: one line naming the key, the value and the rule broken.
    """
    if trust not in ("shell", "data"):
        raise ConfigError(f"trust={trust!r}: must be 'shell' or 'data'")
    items = check_overrides(overrides)
    source = source or Source()
    entry = memo.key(items, trust) if memo.memoisable(items, source == Source()) else None
    kept = memo.load(entry) if entry else None
    if kept is not None:
        return remembered(*kept)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with composer(source, trust=trust) as compose:
            cfg = compose(items)
        out = finalise(cfg)
    for w in caught:  # as they were, in order
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    plain = OmegaConf.to_container(out)
    if entry and not OmegaConf.select(out, "network.path", default=None):  # a file's ties
        said = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
        memo.save(entry, plain, said)
    return out


def remembered(config: dict, said: list[str]) -> DictConfig:
    """A memoised config (``sim.config.memo``): checked by the data boundary, warnings said.

    It was finalised when it was kept, so ``finalise`` returns it at once in this process.
    """
    register_own_resolvers()
    check_config(config)
    for message in said:
        warnings.warn(message, ConfigWarning, stacklevel=3)
    _FINALISED[_digest(config)] = said
    return OmegaConf.create(config)


def scenario_label(data: dict, choices=None) -> str:
    """The label of a run's scenario: ``scenario.name``, else the scenario file chosen."""
    scenario = data.get("scenario") or {}
    name = scenario.get("name") if isinstance(scenario, dict) else None
    if name:
        return str(name)
    chosen = choices.get("scenario") if choices is not None else None
    return str(chosen or UNNAMED_SCENARIO)


def finalise(cfg, choices=None) -> DictConfig:
    """Check, resolve (dropping the ``hydra`` node), fill schema defaults, and validate.

    Accepts a composed config, a hand-edited one, or a plain mapping. ``choices`` are
    Hydra's config-group choices when the config comes without its ``hydra`` node (in a
    Hydra task): the scenario file chosen labels a scenario that names itself nowhere.

    Raises:
        ConfigError: the config names something executable, a key is unknown or of the
            wrong type, or a value is out of range.
    """
    from sim.config.changes import check_changes
    from sim.config.validate import validate

    register_own_resolvers()
    if isinstance(cfg, dict):
        cfg = OmegaConf.create(cfg)
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"config={type(cfg).__name__}: must be a mapping (from load_config)")
    check_config(cfg)
    # Hydra's own node is not part of a run's config (and holds values only a job has).
    if choices is None:
        choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None)
    try:
        keys = [k for k in cfg.keys() if k != "hydra"]
        # a copy without the hydra node only where there is one (a finalised config has none)
        whole = len(keys) == len(cfg) and cfg._get_parent() is None
        own = cfg if whole else OmegaConf.masked_copy(cfg, keys)
        data = OmegaConf.to_container(own, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(one_line(exc)) from None
    check_config(data)  # again, resolved: this is the copy that runs and is saved
    label = scenario_label(data, choices)
    if isinstance(data.get("scenario"), dict):
        data["scenario"]["name"] = label
    said = _FINALISED.get(_digest(data))
    if said is not None:  # this very config was finalised before: checked, say it again
        for message in said:
            warnings.warn(message, ConfigWarning, stacklevel=2)
        return OmegaConf.create(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = with_defaults(data)
        validate(out)
        check_changes(out)
    for w in caught:  # as they were, in order
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    OmegaConf.set_readonly(out, False)
    _FINALISED[_digest(OmegaConf.to_container(out))] = [
        str(w.message) for w in caught if issubclass(w.category, ConfigWarning)
    ]
    return out


#: Configs ``finalise`` returned in this process (digest -> the warnings it gave). Finalising
#: one again (as ``simulate`` does with ``load_config``'s result) returns it at once: the
#: schema merge and validation take about half a second, as long as a small run.
_FINALISED: dict[str, list[str]] = {}


def _digest(data: dict) -> str:
    import hashlib
    import json

    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def with_defaults(data: dict) -> DictConfig:
    """Merge onto the typed schema: unknown keys and wrong types fail, defaults fill in."""
    from sim.config.schema import Config

    try:
        # the schema is made here for this merge only: merged in place, not copied first
        merged = OmegaConf.unsafe_merge(OmegaConf.structured(Config), data)
        plain = OmegaConf.to_container(merged, resolve=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        detail = str(exc).strip().splitlines()[0]
        raise ConfigError(f"{key}: not a valid config key or type ({detail})") from None
    return OmegaConf.create(plain)
