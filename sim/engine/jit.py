"""Numba's ``njit`` and ``prange``, with a disk cache that notices changes to any kernel source.

Numba keys a function's disk cache by its own source file only, so a kernel compiled with a
rule inlined from another module (``agents/rules.py`` into ``sim/engine/kernels/step.py``)
would keep running the old rule after that module changed (numba#1833). Every module of
journeysim that caches kernels imports ``njit`` from here, which first puts a locator in front
of Numba's own: for journeysim's files the cache's freshness stamp is the digest of every
source a kernel can read (``resources.KERNEL_SOURCES``: the engine and the rules), so any change to
them recompiles every kernel once. Cache folders are Numba's usual ones (the package's
``__pycache__``, or ``NUMBA_CACHE_DIR``); nothing here is chosen by a config.
"""

from __future__ import annotations

from pathlib import Path

from numba import njit, prange
from numba.core import caching

from sim.config.memo import files_digest
from sim.engine.resources import kernel_files

__all__ = ["kernel_sources_digest", "njit", "prange"]

ROOT = Path(__file__).resolve().parents[2]


def kernel_sources_digest() -> str:
    """SHA-256 of every kernel source's path and text (read again when a file changes)."""
    return files_digest(kernel_files(), ROOT)


def _ours(py_file: str) -> bool:
    try:
        Path(py_file).resolve().relative_to(ROOT)
    except (ValueError, OSError):
        return False
    return True


def _stamped(base: type) -> type:
    """``base`` (a Numba cache locator) whose stamp for our files covers every kernel source."""

    class Stamped(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if not _ours(py_file):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return (super().get_source_stamp(), kernel_sources_digest())

    Stamped.__name__ = Stamped.__qualname__ = f"Stamped{base.__name__}"
    return Stamped


def _install() -> None:
    """Put the stamped locators first in Numba's list (idempotent)."""
    classes = getattr(getattr(caching, "CacheImpl", None), "_locator_classes", None)
    if classes is None:  # another Numba: its own invalidation (tests/test_jit_cache.py fails)
        return
    if any(getattr(c, "__name__", "").startswith("Stamped") for c in classes):
        return
    bases = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator)
    classes[:0] = [_stamped(base) for base in bases]


_install()
