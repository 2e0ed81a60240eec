"""Result files: parquet and YAML written atomically, and run fingerprints.

Every file is written to a temporary name in the target folder and renamed when
complete (``os.replace`` is atomic on POSIX), so an interrupted run never leaves a
file that looks complete. ``DONE`` is written last: a run folder without it is
incomplete, whatever else it holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
from omegaconf import DictConfig, OmegaConf

RESULT_FILES = (
    "metrics.parquet", "stages.parquet", "flows.parquet", "retention.parquet", "config.yaml",
)  # fmt: skip
DONE = "DONE"


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
    """Write metrics, stages, flows and the resolved config into ``folder``; DONE last."""
    folder = Path(folder)
    (folder / DONE).unlink(missing_ok=True)
    write_parquet(result.metrics, folder / "metrics.parquet")
    write_parquet(result.stages, folder / "stages.parquet")
    write_parquet(result.flows, folder / "flows.parquet")
    write_parquet(result.retention, folder / "retention.parquet")
    write_text(OmegaConf.to_yaml(result.config), folder / "config.yaml")
    write_text(fingerprint(result.config) + "\n", folder / DONE)


def is_complete(folder: str | Path, cfg: DictConfig | None = None) -> bool:
    """True if ``folder`` holds a complete result (of ``cfg``, when given)."""
    folder = Path(folder)
    done = folder / DONE
    if not done.is_file() or not all((folder / f).is_file() for f in RESULT_FILES):
        return False
    return cfg is None or done.read_text().strip() == fingerprint(cfg)
