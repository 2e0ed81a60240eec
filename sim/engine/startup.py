"""A new process's start, made cheaper: Numba's target without SciPy, imports out of the GC.

Two costs of a warm start (a new process running a small market from cached kernels) are
neither journeysim's work nor needed by it (issue 16):

- Numba initialises its CPU target on the first call of any jitted function, compiled or
  loaded from the disk cache. Among the implementations it imports, ``numba.np.arraymath``
  checks for a BLAS by importing ``scipy.linalg``, and with it SciPy's array API layer,
  which imports NumPy's f2py, testing and masked arrays: 0.1-0.2 s, for a flag that only
  chooses how ``np.convolve`` and ``np.correlate`` take inner products, which no kernel
  uses. ``start_numba`` initialises the target with SciPy (or ``scipy.linalg``, if SciPy
  is imported already) hidden from this thread's imports for that moment, then sets the
  flag to what the check would have found, so what Numba compiles is unchanged; SciPy is
  imported when something asks for it. The typing context likewise makes a ``cffi.FFI()``
  to recognise CFFI functions (importing pycparser, which compiles its lexer's expressions:
  0.05-0.1 s); it is hidden too, and Numba's ``cffi_utils`` is then given what it would
  have had, made on first use.
- Python's cyclic garbage collector walks every object it tracks at each full collection,
  and again at exit: with Numba, polars, Hydra and OmegaConf imported that is about 160,000
  objects, some 0.15 s of full collections during a small run and 0.3 s at exit.
  ``freeze_imports`` moves the objects alive at that moment to the collector's permanent
  generation (``gc.freeze``), which is never walked. It is called once after the engine's
  imports and Numba's start (``sim.simulate`` imports them with the collector paused,
  ``engine_imports``), and once after Hydra's (``sim.config.compose``), moments when what
  is alive is modules, registries and the caller's own objects; anything among them that
  becomes cyclic garbage later is not reclaimed, a bounded once-per-process cost. Nothing
  about results depends on the collector.
"""

from __future__ import annotations

import gc
import importlib.abc
import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FROZEN: set[str] = set()
_NUMBA_STARTED = False


def freeze_imports(moment: str) -> None:
    """Freeze the objects alive now out of the collector's walks, once per ``moment``.

    Args:
        moment: a name for the point of the start (``"engine"``, ``"hydra"``); each is
            frozen at most once per process.
    """
    if moment in _FROZEN:
        return
    _FROZEN.add(moment)
    gc.freeze()


@contextmanager
def engine_imports() -> Iterator[None]:
    """For the engine's imports: no cyclic garbage collection inside, Numba imported first.

    Importing Numba, polars and the engine triggers two full collections of 0.05-0.1 s.
    Numba's import checks SciPy's version by importing ``scipy`` (0.02 s; only a SciPy
    older than 1.0 would stop it, and the project requires a newer one): ``import_numba``.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        import_numba()
        yield
    finally:
        if enabled:
            gc.enable()


def import_numba() -> None:
    """Import Numba with ``scipy`` hidden from this thread, for its version check only."""
    if "numba" in sys.modules:
        return
    finder = _Hide([] if "scipy" in sys.modules else ["scipy"])
    sys.meta_path.insert(0, finder)
    try:
        import numba  # noqa: F401 - imported for the modules that use it
    finally:
        sys.meta_path.remove(finder)


class _Hide(importlib.abc.MetaPathFinder):
    """An import finder that makes some packages unimportable for one thread, for a moment."""

    def __init__(self, names: list[str]) -> None:
        self.names = tuple(names)
        self.thread = threading.get_ident()

    def find_spec(self, fullname, path=None, target=None):
        """Refuse the hidden packages and their submodules in the owning thread."""
        hidden = any(fullname == n or fullname.startswith(n + ".") for n in self.names)
        if hidden and threading.get_ident() == self.thread:
            raise ImportError(f"{fullname} hidden while Numba starts")
        return None


class _Deferred:
    """Stands for ``cffi`` or a ``cffi.FFI()`` in Numba's ``cffi_utils`` until first used."""

    def __init__(self, attribute: str) -> None:
        self._attribute = attribute

    def __getattr__(self, name: str):
        import cffi
        from numba.core.typing import cffi_utils

        if isinstance(cffi_utils.ffi, _Deferred):
            cffi_utils.ffi = cffi.FFI()
        cffi_utils.cffi = cffi
        return getattr(getattr(cffi_utils, self._attribute), name)


def _installed(name: str) -> bool:
    """Whether a top-level package can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _scipy_blas_installed() -> bool:
    """Whether ``scipy.linalg.cython_blas`` is installed, found without importing SciPy."""
    if "scipy.linalg.cython_blas" in sys.modules:
        return True
    try:
        spec = importlib.util.find_spec("scipy")
    except (ImportError, ValueError):
        return False
    folders = spec.submodule_search_locations if spec is not None else None
    return any(any(Path(f, "linalg").glob("cython_blas.*")) for f in folders or ())


def start_numba() -> None:
    """Initialise Numba's CPU target (once), without ``scipy.linalg`` and ``cffi`` (see above).

    The typing and target contexts load their registries as the first compile or cache
    load would; ``numba.np.arraymath``'s BLAS flag is then set as its own check sets it
    where SciPy is installed, and Numba's CFFI support is given a ``cffi`` and an
    ``FFI()`` made when first used, where CFFI is installed.
    """
    global _NUMBA_STARTED
    if _NUMBA_STARTED:
        return
    _NUMBA_STARTED = True
    from numba.core.registry import cpu_target

    hide = []
    if "scipy.linalg" not in sys.modules and "numba.np.arraymath" not in sys.modules:
        hide.append("scipy" if "scipy" not in sys.modules else "scipy.linalg")
    if "cffi" not in sys.modules and "numba.core.typing.cffi_utils" not in sys.modules:
        hide.append("cffi")
    finder = _Hide(hide)
    sys.meta_path.insert(0, finder)
    try:
        cpu_target.target_context.refresh()  # also refreshes the typing context
    finally:
        sys.meta_path.remove(finder)
    if "scipy" in hide or "scipy.linalg" in hide:
        from numba.np import arraymath

        arraymath._HAVE_BLAS = _scipy_blas_installed()
    if "cffi" in hide:
        from numba.core.typing import cffi_utils

        if cffi_utils.ffi is None and _installed("cffi"):
            cffi_utils.cffi = _Deferred("cffi")
            cffi_utils.ffi = _Deferred("ffi")
            cffi_utils.SUPPORTED = True
