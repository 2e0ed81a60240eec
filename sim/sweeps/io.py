"""Result files: parquet and YAML written atomically, run fingerprints, verified resume.

Every file is written to a temporary name in the target folder and renamed when
complete (``os.replace`` is atomic on POSIX), so an interrupted run never leaves a
file that looks complete. ``DONE`` is written last and records the run's config
fingerprint and the SHA-256 of every result file: a folder counts as complete only if
all of them are there and unchanged, so a corrupt or truncated result is run again.
Temporary files left by a crash are removed when the folder is next used, and a lock
per run folder keeps two processes from computing the same run at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from omegaconf import DictConfig, OmegaConf

#: Each result frame's file (``Result`` attribute + ``.parquet``), then the config.
FRAMES = ("metrics", "stages", "flows", "retention", "channels", "tenure", "touchpoints")
RESULT_FILES = (*(f"{name}.parquet" for name in FRAMES), "config.yaml")
DONE = "DONE"
LOCK = ".lock"


def _atomic(path: Path, write: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; results are for sharing
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(frame: pl.DataFrame, path: str | Path) -> None:
    """Write a frame to parquet atomically."""
    _atomic(Path(path), lambda tmp: frame.write_parquet(tmp))


def write_text(text: str, path: str | Path) -> None:
    """Write a text file atomically."""
    _atomic(Path(path), lambda tmp: Path(tmp).write_text(text))


def fingerprint(cfg: DictConfig) -> str:
    """SHA-256 of the resolved config (without the ``hydra`` node): a run's identity."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    data.get("engine", {}).pop("threads", None)  # results do not depend on the thread count
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def write_result(result, folder: str | Path) -> None:
    """Write every result frame (``FRAMES``) and the resolved config; DONE last.

    Raises:
        OSError: the folder cannot be written (read-only, disk full): nothing looks complete.
    """
    folder = Path(folder)
    (folder / DONE).unlink(missing_ok=True)
    from sim.engine.metrics import metrics_file, segment_file

    by_segment = getattr(result, "segment_frames", None) or {}
    by_region = getattr(result, "region_frames", None) or {}
    for name in FRAMES:
        frame = getattr(result, name)
        if name == "metrics":  # with segments or regions: the brand rows and each group's
            frame = metrics_file(frame, getattr(result, "segments", pl.DataFrame()),
                                 getattr(result, "regions", pl.DataFrame()))  # fmt: skip
        else:  # channels, tenure, stages, retention by segment or region: rows, then groups'
            frame = segment_file(frame, by_segment.get(name), by_region.get(name))
        write_parquet(frame, folder / f"{name}.parquet")
    write_text(OmegaConf.to_yaml(result.config), folder / "config.yaml")
    record = {
        "fingerprint": fingerprint(result.config),
        "files": {name: file_digest(folder / name) for name in RESULT_FILES},
    }
    write_text(json.dumps(record, indent=1) + "\n", folder / DONE)


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_complete(folder: str | Path, cfg: DictConfig | None = None) -> str | None:
    """Why ``folder`` does not hold a complete, readable result (of ``cfg``), or None if it does.

    Complete means: ``DONE`` names the config's fingerprint and every result file is there
    with the bytes it had when written (SHA-256).
    """
    folder = Path(folder)
    done = folder / DONE
    try:
        if not done.is_file():
            return "not finished (no DONE)"
        text = done.read_text()
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            return f"{done}: not a journeysim record"
        if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
            return f"{done}: not a journeysim record"
        if cfg is not None and record.get("fingerprint") != fingerprint(cfg):
            return "holds another config's results"
        for name in RESULT_FILES:
            path = folder / name
            if not path.is_file():
                return f"{path}: missing"
            if file_digest(path) != record["files"].get(name):
                return f"{path}: corrupt or truncated (its checksum changed)"
    except OSError as exc:
        return f"{folder}: cannot be read ({exc.strerror or type(exc).__name__})"
    return None


def is_complete(folder: str | Path, cfg: DictConfig | None = None) -> bool:
    """True if ``folder`` holds a complete, unchanged result (of ``cfg``, when given)."""
    return check_complete(folder, cfg) is None


def remove_stray_temporaries(folder: str | Path) -> int:
    """Delete temporary files an interrupted write left in ``folder``; returns how many."""
    removed = 0
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    for path in folder.glob(".*.tmp"):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


@contextmanager
def run_lock(folder: str | Path, wait: Callable[[], None] | None = None):
    """Hold the lock of one run folder for the block (another holder: wait for it).

    ``wait`` is called once if the lock is held by another process, before waiting.
    """
    from filelock import FileLock, Timeout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if wait is not None:
            wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
