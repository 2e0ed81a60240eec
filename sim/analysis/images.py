"""Static images (PNG and SVG) of the analyst tools' figures, beside their HTML files.

Plotly draws static images in a headless Chrome or Chromium driven by kaleido (1.x, through
choreographer); kaleido does not ship a browser and this project never downloads one. The
browser is the one ``BROWSER_PATH`` names (choreographer's own variable), else the first
Chrome or Chromium choreographer finds (``chromium`` on the ``PATH``, ``/usr/bin/chromium``,
...): Debian's ``chromium`` package, which ``.ci/run`` installs.

One browser serves a whole command: it starts with the first figure and stays open, in a
thread of its own, until the process exits. Every image of a file is drawn first and only
then written, each atomically (a temporary name, then a rename), so an image is whole or
absent. Whatever goes wrong (no kaleido, no browser, a browser that fails, or takes longer
than ``TIMEOUT`` seconds to start or to draw a figure), the HTML file stands, any image of
an earlier run under the same name is removed (it would not match), and one line on stderr
says why the images were skipped (once per process); the browser is then not tried again in
this process.
``JOURNEYSIM_NO_IMAGES=1`` turns images off (silently).
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

#: Environment variable: ``1`` (or any value but ``0`` and empty) writes no images.
NO_IMAGES = "JOURNEYSIM_NO_IMAGES"
#: Image formats written beside each HTML file, in this order.
FORMATS = ("png", "svg")
#: Seconds the browser may take to start, and to draw each figure (both formats).
TIMEOUT = 60.0
#: Width in CSS pixels of a figure without a width of its own; PNGs are drawn at ``SCALE``.
WIDTH = 1000
SCALE = 2
#: Chromium flags besides choreographer's own (``--headless``, ``--no-sandbox``,
#: ``--disable-gpu``, ``--disable-component-update``, ``--disable-sync``, ``--no-first-run``).
EXTRA_FLAGS = ("--disable-background-networking",)
HINT = (
    "install Chromium (apt-get install chromium) or set BROWSER_PATH to a Chrome; "
    f"{NO_IMAGES}=1 turns images off"
)


class ImagesSkipped(Exception):
    """Static images could not be drawn; the message says why, in a few words."""


def image_paths(html: str | Path, count: int) -> list[Path]:
    """The image files of an HTML file holding ``count`` figures, in writing order.

    ``fit.html`` with two figures gives ``fit.png``, ``fit.svg``, ``fit-2.png``, ``fit-2.svg``.
    """
    html = Path(html)
    return [
        html.with_name(f"{html.stem}{'' if k == 0 else f'-{k + 1}'}.{fmt}")
        for k in range(count)
        for fmt in FORMATS
    ]


def with_images(names: Iterable[str], folder: str | Path) -> list[str]:
    """Output file names with the images written beside each HTML file, for a listing.

    ``("fit.parquet", "fit.html")`` gives ``["fit.parquet", "fit.html", "fit.png",
    "fit.svg", "fit-2.png", "fit-2.svg"]`` when those images are in ``folder`` (they are
    all there or none: ``write_images`` removes older ones it does not replace).
    """
    folder = Path(folder)
    listed = []
    for name in names:
        listed.append(name)
        if name.endswith(".html"):
            for k in itertools.count(1):
                shown = _figure_images(folder / name, k)
                if not all(p.is_file() for p in shown):
                    break
                listed.extend(p.name for p in shown)
    return listed


def _figure_images(html: Path, k: int) -> list[Path]:
    """The images of the k-th figure (from 1) of an HTML file."""
    return image_paths(html, k)[-len(FORMATS) :]


def _remove_stale(html: Path, first: int) -> None:
    """Remove images of figures ``first``, ``first + 1``, ... of an earlier run (while any)."""
    for k in itertools.count(first):
        old = [p for p in _figure_images(html, k) if p.exists()]
        if not old:
            return
        for p in old:
            try:
                p.unlink()
            except OSError:
                return


def disabled() -> bool:
    """Whether ``JOURNEYSIM_NO_IMAGES`` turns images off."""
    return os.environ.get(NO_IMAGES, "").strip() not in ("", "0")


def browser_path() -> str | None:
    """The browser kaleido will drive: ``BROWSER_PATH``, else one choreographer finds."""
    if path := os.environ.get("BROWSER_PATH"):
        return path
    from choreographer.browsers.chromium import Chromium

    return Chromium.find_browser(skip_local=False)


def _write_bytes(data: bytes, path: Path) -> None:
    """Write a file atomically, as ``sim.sweeps.io`` writes results (readable by all)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Session:
    """One headless browser, opened by kaleido in an event loop on a thread of its own."""

    def __init__(self, path: str, deadline: float) -> None:
        self.path = path
        self.kaleido: Any = None
        self.loop = asyncio.new_event_loop()
        # A task cancelled at the deadline may end in an error nobody awaits: not worth a
        # traceback on stderr (the reason is told in one line).
        self.loop.set_exception_handler(lambda loop, context: None)
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="journeysim-images", daemon=True
        )
        self.thread.start()
        try:
            self.kaleido = self._call(self._make(), deadline)
            self._call(self.kaleido.open(), deadline)
        except BaseException:
            self.close(graceful=False)
            raise

    async def _make(self) -> Any:
        # Their warnings ("Wait expired, Browser is being closed by watchdog.") and INFO lines
        # would reach stderr through logging's last resort or a handler on the root logger
        # (Hydra sets one up on stderr; in a test process its stream may be closed by then):
        # the one line of write_images says it all.
        for name in ("choreographer", "kaleido", "browser_proc"):
            logger = logging.getLogger(name)
            logger.propagate = False
            if not logger.handlers:
                logger.addHandler(logging.NullHandler())
        import kaleido
        from choreographer.browsers.chromium import Chromium

        class _Chromium(Chromium):
            def get_cli(self):  # noqa: D102 (choreographer's, plus EXTRA_FLAGS)
                return [*super().get_cli(), *EXTRA_FLAGS]

        # No MathJax (kaleido would load it from a CDN; the figures have no LaTeX); the
        # plotly.js of the installed plotly, from disk.
        return kaleido.Kaleido(
            path=self.path, browser_cls=_Chromium, mathjax=False, timeout=TIMEOUT, n=1
        )

    def _call(self, coroutine: Coroutine, deadline: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout=max(deadline - time.monotonic(), 0.1))
        except TimeoutError:
            future.cancel()
            raise ImagesSkipped(f"the browser took longer than {TIMEOUT:g} s") from None

    def render(self, figure: Any, fmt: str, deadline: float) -> bytes:
        """One figure as PNG or SVG bytes."""
        layout = figure.layout
        opts = {"format": fmt, "width": layout.width or WIDTH, "scale": SCALE}
        if fmt != "png":
            opts["scale"] = 1
        data = self._call(self.kaleido.calc_fig(figure, opts=opts), deadline)
        if not isinstance(data, bytes) or not data:
            raise ImagesSkipped(f"kaleido returned no {fmt.upper()}")
        return data

    def close(self, graceful: bool = True) -> None:
        """Close the browser (killed if it does not close in 5 s, or at once) and the loop.

        Args:
            graceful: ask the browser to close first; False kills it at once (it failed).
        """
        k, self.kaleido = self.kaleido, None
        if graceful and k is not None and self.loop.is_running():
            future = asyncio.run_coroutine_threadsafe(k.close(), self.loop)
            try:
                future.result(timeout=5)
            except BaseException:  # noqa: BLE001 (closing is best effort)
                future.cancel()
        process = getattr(k, "subprocess", None)
        if process is not None and process.poll() is None:
            # choreographer starts the browser in a session of its own: end its group.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except OSError:
                pass
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)


_session: _Session | None = None
_broken: str | None = None  # why images failed in this process: not tried again
_told: set[str] = set()  # reasons already printed: one line per reason and process
_lock = threading.Lock()


def _close_session(graceful: bool = True) -> None:
    global _session
    session, _session = _session, None
    if session is not None:
        session.close(graceful)


atexit.register(_close_session)


def _render_all(figures: list[Any]) -> list[bytes]:
    """Every figure's images, in ``image_paths`` order; the browser is started if need be.

    Its start and each figure (both formats) may take ``TIMEOUT`` seconds.
    """
    global _session
    try:
        with warnings.catch_warnings():  # e.g. its note on old plotly: the API used here works
            warnings.simplefilter("ignore")
            import kaleido  # noqa: F401 (imported here: a missing kaleido is one line too)
    except ImportError:
        raise ImagesSkipped("kaleido is not installed (pip install kaleido)") from None
    path = browser_path()
    if not path:
        raise ImagesSkipped("no Chrome or Chromium found")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ImagesSkipped(f"no browser at {path}")
    if _session is not None and _session.path != path:
        _close_session()
    if _session is None:
        _session = _Session(path, time.monotonic() + TIMEOUT)
    try:
        drawn = []
        for figure in figures:
            deadline = time.monotonic() + TIMEOUT
            drawn.extend(_session.render(figure, fmt, deadline) for fmt in FORMATS)
        return drawn
    except BaseException:
        _close_session(graceful=False)  # a browser that failed once is not trusted again
        raise


def _reason(error: BaseException) -> str:
    if isinstance(error, ImagesSkipped):
        return str(error)
    first = error.args[0] if error.args else ""
    text = " ".join((first if isinstance(first, str) else str(error)).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def write_images(figures: list[Any], html: str | Path) -> list[Path]:
    """Write each figure's PNG and SVG beside ``html`` (see ``image_paths``); never raises.

    Args:
        figures: the Plotly figures of the HTML file, in order.
        html: the HTML file they were saved to.

    Returns:
        The image files written: all of them, or none (then one line on stderr says why,
        unless ``JOURNEYSIM_NO_IMAGES`` turned images off).
    """
    global _broken
    paths = image_paths(html, len(figures))
    with _lock:
        reason = None if disabled() else _broken
        if not disabled() and reason is None:
            try:
                data = _render_all(figures)
            except (Exception, asyncio.CancelledError) as e:  # noqa: BLE001 (the HTML stands)
                reason = _broken = _reason(e)
            else:
                try:
                    for blob, path in zip(data, paths, strict=True):
                        _write_bytes(blob, path)
                    _remove_stale(Path(html), len(figures) + 1)
                    return paths
                except OSError as e:
                    reason = _reason(e)
        # all or none; images of an earlier run under these names would not match the HTML
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        _remove_stale(Path(html), len(figures) + 1)
        if reason is not None and reason not in _told:
            _told.add(reason)
            print(
                f"journeysim: warning: static images skipped ({reason}); the HTML plot is "
                f"written; to draw them, {HINT}",
                file=sys.stderr,
            )
        return []
