"""Configs composed before, kept on disk: a new process skips Hydra for a config it has seen.

Composing ``conf/`` with Hydra, merging the schema and validating take 0.3-0.4 s, a third of
a new process's start on a small market (issue 16), and give the same config every time for
the same inputs. ``load_config`` therefore keeps what it returned, as plain JSON data, keyed
by a digest of everything it depends on (``key``):

- the override list, in order, and the trust it was given (``"shell"`` or ``"data"``);
- the text of every file composition can read: the packaged ``conf/`` and ``experiments/``
  folders (Hydra's search path; the ``hydra`` node, which could extend it, is dropped from
  a run's config, and overrides that touch it are never memoised);
- journeysim's configuration code and the code validation reads (``sim/config``,
  ``scenarios``, ``agents``, ``sim/engine``) and the Python, Hydra and OmegaConf it runs on.

Only the packaged configs are memoised: a ``--config-path`` or ``--config-dir`` composes
through Hydra every time. An entry holds the finalised config and the warnings finalising
gave (said again when it is used); it is data (``json``), checked again by the data
boundary when loaded (``check_config``), written to a temporary file and renamed, with a
SHA-256 digest of its content inside: an entry that fails to parse or whose digest is
wrong is ignored and composed again. The folder is ``configs/`` in the status-quo cache
folder (``JOURNEYSIM_CACHE_DIR``; never chosen by a config), holds at most ``MAX_ENTRIES``
entries (the least recently used go first), is turned off with the snapshots
(``--no-cache``, ``JOURNEYSIM_NO_CACHE=1``) and cleared by ``journeysim cache clear``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from sim.config.safety import ROOT

#: Bumped when an entry's layout changes.
MEMO_FORMAT = 1
#: At most this many entries (each a few kilobytes); the least recently used go first.
MAX_ENTRIES = 2000
#: Folders whose files composition reads (the packaged search path).
CONFIG_FOLDERS = ("conf", "experiments")
#: Code that turns those files into a finalised config (validation reads the engine's specs).
CODE_SOURCES = ("sim/config", "scenarios", "agents", "sim/engine")


def enabled() -> bool:
    """Whether configs (and status-quo snapshots) are cached: off with JOURNEYSIM_NO_CACHE=1."""
    return os.environ.get("JOURNEYSIM_NO_CACHE", "") not in ("1", "true", "yes")


def cache_home() -> Path:
    """The cache folder: ``JOURNEYSIM_CACHE_DIR``, else ``~/.cache/journeysim/snapshots``."""
    chosen = os.environ.get("JOURNEYSIM_CACHE_DIR")
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "journeysim" / "snapshots"


def folder() -> Path:
    """Where memoised configs live: ``configs/`` in the cache folder."""
    return cache_home() / "configs"


def files_digest(paths, root: Path) -> str:
    """SHA-256 of each file's path (relative to ``root``) and text.

    Keyed by the files' sizes and modification times, so a long-lived process (the app)
    reads them again only after one of them changed.
    """
    stamps = []
    for path in paths:
        st = path.stat()
        stamps.append((str(path.relative_to(root)), st.st_mtime_ns, st.st_size))
    return _stamped_digest(str(root), tuple(stamps))


@lru_cache(maxsize=16)
def _stamped_digest(root: str, stamps: tuple) -> str:
    h = hashlib.sha256()
    for name, _, _ in stamps:
        h.update(name.encode() + b"\0")
        h.update((Path(root) / name).read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def sources_digest() -> str:
    """A digest of the packaged config files, the configuration code and the versions."""
    files = [p for name in CONFIG_FOLDERS for p in sorted((ROOT / name).rglob("*.yaml"))]
    files += [p for name in CODE_SOURCES for p in sorted((ROOT / name).rglob("*.py"))]
    return f"{_versions()} {files_digest(files, ROOT)}"


@lru_cache(maxsize=1)
def _versions() -> str:
    import omegaconf

    return f"{MEMO_FORMAT} {sys.version} {omegaconf.__version__} {_hydra_version()}"


def _hydra_version() -> str:
    """Hydra's version, read from its package file (importing Hydra is what we save)."""
    import importlib.util

    spec = importlib.util.find_spec("hydra")
    if spec is None or spec.origin is None:
        return "no hydra"
    text = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        if line.startswith("__version__"):
            return line
    return "unknown hydra"


def memoisable(overrides: list[str], default_source: bool) -> bool:
    """Only the packaged configs, and overrides that leave Hydra's own node alone."""
    if not default_source or not enabled():
        return False
    for item in overrides:
        key = item.lstrip("+~").split("=", 1)[0].strip()
        if key == "hydra" or key.startswith(("hydra.", "hydra/")) or item.startswith("-"):
            return False
    return True


def key(overrides: list[str], trust: str) -> str:
    """The entry of a config: its overrides, trust and ``sources_digest``."""
    text = json.dumps({"overrides": overrides, "trust": trust, "sources": sources_digest()})
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _content_digest(config: dict, said: list[str]) -> str:
    text = json.dumps({"config": config, "warnings": said}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def load(entry: str) -> tuple[dict, list[str]] | None:
    """The config and warnings kept under ``entry``, or None (missing, corrupt, or stale)."""
    path = folder() / f"{entry}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        config, said, digest = data["config"], data["warnings"], data["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(config, dict) or not isinstance(said, list):
        return None
    if digest != _content_digest(config, said):
        path.unlink(missing_ok=True)
        return None
    try:
        os.utime(path)  # recently used: evicted last
    except OSError:
        pass
    return config, [str(s) for s in said]


def save(entry: str, config: dict, said: list[str]) -> None:
    """Keep a finalised config (plain data) and its warnings, atomically; never fails a run."""
    target = folder()
    try:
        target.mkdir(parents=True, exist_ok=True)
        body = {"config": config, "warnings": said, "sha256": _content_digest(config, said)}
        fd, tmp = tempfile.mkstemp(dir=target, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
        os.replace(tmp, target / f"{entry}.json")
        _evict(target)
    except (OSError, TypeError, ValueError):
        pass  # a cache that cannot be written only costs the next process its time


def _evict(target: Path, cap: int = MAX_ENTRIES) -> int:
    """Remove the least recently used entries beyond ``cap``; how many were removed."""
    entries = []
    for path in target.glob("*.json"):
        try:
            entries.append((path.stat().st_mtime, path))
        except OSError:
            continue
    if len(entries) <= cap:
        return 0
    entries.sort()
    for _, path in entries[: len(entries) - cap]:
        path.unlink(missing_ok=True)
    return len(entries) - cap


def clear() -> int:
    """Remove every memoised config; the number removed."""
    target = folder()
    if not target.is_dir():
        return 0
    removed = 0
    for path in [*target.glob("*.json"), *target.glob(".*.tmp")]:
        path.unlink(missing_ok=True)
        removed += path.suffix == ".json"
    return removed


def count() -> int:
    """How many configs are memoised."""
    target = folder()
    return sum(1 for _ in target.glob("*.json")) if target.is_dir() else 0
