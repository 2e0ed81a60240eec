"""The status quo, computed once: the state at the end of the burn-in, cached on disk.

Every arm of a comparison with the same seed starts from the same burn-in (scenario
events, responses and step-0 changes do not act during it), so the state it reaches is
saved once and reused. A snapshot is keyed by a digest of everything that can change the
burn-in (``burn_in_key``): the config without what acts only on recorded steps (the
scenario, the number of recorded steps, the trace, finance, thread counts, the rivals'
responses), the engine's source code and the versions of numpy and numba. A change to any
of these gives a new key; a change to the scenario does not.

Snapshots are ``.npz`` files of plain arrays (loaded with ``allow_pickle=False``, so a
file can never run code), written to a temporary file and renamed, with a SHA-256
checksum written last; a snapshot whose checksum is missing or wrong is ignored, removed
and rebuilt with a one-line warning. A lock per key means parallel runs compute a
snapshot once. The folder holds at most ``JOURNEYSIM_CACHE_MAX_GB`` (default 5); the least
recently used snapshots go first. The folder comes from the environment
(``JOURNEYSIM_CACHE_DIR``, default ``~/.cache/journeysim/snapshots``), never from a config.
``--no-cache`` (or ``JOURNEYSIM_NO_CACHE=1``) turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sim.config import memo
from sim.config.errors import ConfigWarning
from sim.config.safety import ROOT

#: Bumped when the layout of a snapshot changes.
SNAPSHOT_FORMAT = 1
#: Config keys that act only on recorded steps: they do not enter the key.
NOT_IN_BURN_IN = ("scenario", "finance", "hydra")
SIM_NOT_IN_BURN_IN = ("steps", "trace")
#: Source folders whose code the burn-in runs.
ENGINE_SOURCES = ("agents", "scenarios", "sim/engine")


def enabled() -> bool:
    """Whether runs use the snapshot cache (off with ``--no-cache`` or JOURNEYSIM_NO_CACHE=1)."""
    return memo.enabled()


def set_enabled(on: bool) -> None:
    """Turn the cache on or off for this process and the processes it starts."""
    if on:
        os.environ.pop("JOURNEYSIM_NO_CACHE", None)
    else:
        os.environ["JOURNEYSIM_NO_CACHE"] = "1"


def cache_dir() -> Path:
    """The snapshot folder: ``JOURNEYSIM_CACHE_DIR``, else ``~/.cache/journeysim/snapshots``."""
    return memo.cache_home()


def cache_cap() -> int:
    """The folder's size cap in bytes (``JOURNEYSIM_CACHE_MAX_GB``, default 5)."""
    try:
        gigabytes = float(os.environ.get("JOURNEYSIM_CACHE_MAX_GB", "5"))
    except ValueError:
        gigabytes = 5.0
    return int(max(gigabytes, 0.0) * 1e9)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the engine's source files and of numpy's and numba's versions."""
    import numba

    h = hashlib.sha256(f"{np.__version__} {numba.__version__} {SNAPSHOT_FORMAT}".encode())
    for folder in ENGINE_SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def burn_in_key(cfg) -> str:
    """The key of the state a config's burn-in reaches (see the module docstring)."""
    from omegaconf import DictConfig, OmegaConf

    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    data = json.loads(json.dumps(data))  # a deep copy of plain values
    for key in NOT_IN_BURN_IN:
        data.pop(key, None)
    for key in SIM_NOT_IN_BURN_IN:
        data.get("sim", {}).pop(key, None)
    data.get("engine", {}).pop("threads", None)  # results do not depend on it
    for brand in (data.get("brands") or {}).values():
        if isinstance(brand, dict):
            brand.pop("responses", None)  # rivals respond from step 1 on
    text = json.dumps({"config": data, "code": code_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- capturing and restoring state ---------------------------------------------------------------
def _state(holders: Mapping[str, object]):
    """(``"holder.attribute"``, value) of every array and number attribute of each holder."""
    for name, holder in holders.items():
        for attr, value in vars(holder).items():
            if isinstance(value, (np.ndarray, bool, int, float, np.number)):
                yield f"{name}.{attr}", value


def capture(holders: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Every array and number attribute of each holder, as ``"holder.attribute"`` arrays."""
    return {key: np.array(value, copy=True) for key, value in _state(holders)}


def restore(holders: Mapping[str, object], saved: Mapping[str, np.ndarray]) -> None:
    """Put captured values back, in place where the arrays have the same shape.

    Everything is checked before anything is written, so a snapshot that does not fit leaves
    the holders as they were.

    Raises:
        ValueError: the snapshot does not fit these holders (treated as stale).
    """
    expected = {key: (np.shape(value), np.asarray(value).dtype) for key, value in _state(holders)}
    if set(expected) != set(saved):
        raise ValueError("snapshot holds other state than this engine")
    for key, value in saved.items():
        if expected[key] != (value.shape, value.dtype):
            raise ValueError(f"snapshot's {key} has another shape or type")
    for key, value in saved.items():
        name, attr = key.split(".", 1)
        holder = holders[name]
        current = getattr(holder, attr)
        if isinstance(current, np.ndarray):
            if current.flags.writeable:
                np.copyto(current, value)
            else:
                object.__setattr__(holder, attr, np.array(value))  # its own, writable copy
        else:
            object.__setattr__(holder, attr, type(current)(value.item()))


def _npz_views(data: np.ndarray, file) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` held in ``data`` (its bytes, read from ``file``), as views.

    The zip's directory is read from ``file`` (the same open file, so the same content
    whatever happens to its path meanwhile). Members as ``np.savez`` writes them (stored,
    ``.npy`` format 1.0 or 2.0) are viewed in place; anything else goes through
    ``np.load``. Arrays of objects are refused, as ``np.load(allow_pickle=False)`` does.

    Raises:
        ValueError: a member holds objects or runs past the end of its entry.
    """
    import io

    from numpy.lib import format as npy

    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(file) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            start = info.header_offset
            if (
                info.compress_type != zipfile.ZIP_STORED
                or not info.filename.endswith(".npy")
                or data[start : start + 4].tobytes() != b"PK\x03\x04"
            ):
                return _npz_load(data)
            name_len, extra_len = struct.unpack_from("<HH", data, start + 26)  # local header
            begin = start + 30 + name_len + extra_len
            end = begin + info.file_size
            head = io.BytesIO(data[begin : min(end, begin + 65_600)].tobytes())
            version = npy.read_magic(head)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(head)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(head)
            else:
                return _npz_load(data)
            if dtype.hasobject:
                raise ValueError(f"snapshot's {name} holds objects")
            count = int(np.prod(shape, dtype=np.int64))
            offset = begin + head.tell()
            if end > data.size or offset + count * dtype.itemsize != end:
                raise ValueError(f"snapshot's {name} is cut short")
            flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            out[name] = flat.reshape(shape, order="F" if fortran else "C")
    return out


def _npz_load(data: np.ndarray) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` held in ``data``, through ``np.load`` (copies)."""
    import io

    with np.load(io.BytesIO(data.tobytes()), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


# -- the store -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheInfo:
    """What the snapshot folder holds."""

    folder: Path
    snapshots: int
    size: int
    cap: int


class SnapshotStore:
    """Snapshots in a folder: atomic writes, checksums, a lock per key, LRU eviction."""

    def __init__(self, folder: Path | None = None, cap: int | None = None):
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.cap = cache_cap() if cap is None else int(cap)

    def path(self, key: str) -> Path:
        """The snapshot file of a key."""
        return self.folder / f"{key}.npz"

    def _sum_path(self, key: str) -> Path:
        return self.folder / f"{key}.sha256"

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Hold the key: another process asking for it waits, then finds it saved."""
        from filelock import FileLock

        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / f"{key}.lock")):
            yield

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The snapshot of a key, verified; None if absent, incomplete or corrupt.

        The file is read once into one buffer, checked, and its arrays are returned as
        read-only views into that buffer (``restore`` copies them into place), not copied
        out of the zip one by one.
        """
        path, sums = self.path(key), self._sum_path(key)
        if not path.exists():
            return None
        try:
            with open(path, "rb") as f:
                data = np.empty(os.fstat(f.fileno()).st_size, dtype=np.uint8)
                if f.readinto(data) != data.size:
                    raise ValueError("file changed while read")
                data.flags.writeable = False
                expected = sums.read_text().strip() if sums.exists() else ""
                if hashlib.sha256(data).hexdigest() != expected:
                    raise ValueError("checksum does not match")
                arrays = _npz_views(data, f)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, struct.error) as exc:
            warnings.warn(
                f"snapshot {path} is not usable ({exc}): computing the burn-in again",
                ConfigWarning,
                stacklevel=2,
            )
            self.remove(key)
            return None
        os.utime(path)  # recently used: the last to be evicted
        return arrays

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Write a snapshot atomically (data, then its checksum), then keep under the cap."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            digest = hashlib.sha256(Path(tmp).read_bytes()).hexdigest()
            os.replace(tmp, path)
            sum_tmp = self._sum_path(key).with_suffix(".sha256.tmp")
            sum_tmp.write_text(digest + "\n")
            os.replace(sum_tmp, self._sum_path(key))
        except OSError as exc:  # a full or read-only disk: run on without the cache
            Path(tmp).unlink(missing_ok=True)
            warnings.warn(f"snapshot not saved ({exc.strerror or exc})", ConfigWarning,
                          stacklevel=2)  # fmt: skip
            return
        self.evict(keep=key)

    def remove(self, key: str) -> None:
        """Delete a key's snapshot and checksum."""
        for p in (self.path(key), self._sum_path(key)):
            p.unlink(missing_ok=True)

    def entries(self) -> list[tuple[Path, int, float]]:
        """(file, size, last use) of every snapshot."""
        if not self.folder.is_dir():
            return []
        out = []
        for p in self.folder.glob("*.npz"):
            try:
                st = p.stat()
            except OSError:
                continue
            out.append((p, st.st_size, st.st_mtime))
        return out

    def evict(self, keep: str | None = None) -> int:
        """Remove the least recently used snapshots until the folder fits the cap."""
        entries = sorted(self.entries(), key=lambda e: e[2])
        total = sum(size for _, size, _ in entries)
        removed = 0
        for path, size, _ in entries:
            if total <= self.cap:
                break
            if path.stem == keep:
                continue
            self.remove(path.stem)
            total -= size
            removed += 1
        return removed

    def info(self) -> CacheInfo:
        """How many snapshots, how many bytes, where, and the cap."""
        entries = self.entries()
        return CacheInfo(self.folder, len(entries), sum(s for _, s, _ in entries), self.cap)

    def clear(self) -> int:
        """Remove every snapshot; the number removed."""
        entries = self.entries()
        for path, _, _ in entries:
            self.remove(path.stem)
        for stray in self.folder.glob(".*.tmp") if self.folder.is_dir() else []:
            stray.unlink(missing_ok=True)
        return len(entries)
