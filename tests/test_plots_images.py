"""Static images beside the analyst tools' HTML plots (sim/analysis/images.py).

Only the first test starts a real browser (Debian's chromium, as ``.ci/run`` installs it;
skipped without it): it is the slow one. The others point ``BROWSER_PATH`` at a missing file
or at a script that never answers, or hide kaleido, and check that the HTML file stands,
that no image (whole or partial) is left, and that one line on stderr says why.
"""

from __future__ import annotations

import io
import logging
import struct
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest

from sim.analysis import images, plots

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(autouse=True)
def fresh_images(monkeypatch):
    """Each test starts without a browser, a failure or a warning of an earlier one."""
    images._close_session()
    monkeypatch.setattr(images, "_session", None)
    monkeypatch.setattr(images, "_broken", None)
    monkeypatch.setattr(images, "_told", set())
    monkeypatch.delenv(images.NO_IMAGES, raising=False)
    yield
    images._close_session()


def figures() -> list[go.Figure]:
    line = go.Figure(go.Scatter(x=[1, 2, 3, 4], y=[3, 1, 2, 4], name="trials"))
    line.update_layout(title="Trials", template="plotly_white")
    bars = go.Figure(go.Bar(x=["tv", "search", "social"], y=[0.4, 0.35, 0.25]))
    bars.update_layout(title="Attribution", template="plotly_white", width=600, height=400)
    return [line, bars]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_each_figure_gets_a_png_and_an_svg_from_one_browser(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BROWSER_PATH", str(CHROMIUM))
    # A root handler on a stream closed since (Hydra's, set up by a run earlier in the
    # process): the browser's own log lines must not reach it.
    closed = io.StringIO()
    handler = logging.StreamHandler(closed)
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", logging.INFO)  # as Hydra's job logging sets it
    root.addHandler(handler)
    closed.close()
    try:
        html = plots.save(figures(), tmp_path / "fit.html")
    finally:
        root.removeHandler(handler)
    assert capsys.readouterr().err == ""
    assert html == tmp_path / "fit.html" and html.stat().st_size > 1_000_000
    names = ["fit.html", "fit.png", "fit.svg", "fit-2.png", "fit-2.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    # the default width at twice the pixels; the second figure's own 600 x 400
    assert png_size(tmp_path / "fit.png") == (2 * images.WIDTH, 2 * 500)
    assert png_size(tmp_path / "fit-2.png") == (1200, 800)
    assert (tmp_path / "fit.png").stat().st_size > 10_000
    svg = (tmp_path / "fit-2.svg").read_text()
    assert svg.startswith("<svg") and "Attribution" in svg and svg.rstrip().endswith("</svg>")
    # a second file of the same command draws in the same browser
    browser = images._session
    assert browser is not None and browser.kaleido.subprocess.poll() is None
    plots.save(figures()[1], tmp_path / "optimise.html")
    assert images._session is browser
    assert png_size(tmp_path / "optimise.png") == (1200, 800)
    assert leftovers(tmp_path) == [] and capsys.readouterr().err == ""
    pid = browser.kaleido.subprocess.pid
    images._close_session()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_without_a_browser_the_html_stands_and_one_line_says_why(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "no-such-chromium"
    monkeypatch.setenv("BROWSER_PATH", str(missing))
    (tmp_path / "fit.png").write_bytes(b"an image of an earlier run")  # would not match
    plots.save(figures(), tmp_path / "fit.html")
    plots.save(figures()[0], tmp_path / "optimise.html")  # the same reason is told once
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.html", "optimise.html"]
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("journeysim: warning: static images skipped (no browser at ")
    assert str(missing) in err and "apt-get install chromium" in err and images.NO_IMAGES in err
    assert "Traceback" not in err


def test_a_browser_that_never_answers_is_given_up_in_time(tmp_path, monkeypatch, capsys):
    stuck = tmp_path / "stuck-browser"
    stuck.write_text("#!/bin/sh\nexec sleep 300\n")
    stuck.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(stuck))
    monkeypatch.setattr(images, "TIMEOUT", 2.0)
    out = tmp_path / "out"
    out.mkdir()
    plots.save(figures(), out / "sensitivity.html")
    assert sorted(p.name for p in out.iterdir()) == ["sensitivity.html"]  # no partial image
    err = capsys.readouterr().err
    assert err == (
        "journeysim: warning: static images skipped (the browser took longer than 2 s); the "
        f"HTML plot is written; to draw them, {images.HINT}\n"
    )
    assert images._session is None and images._broken is not None
    plots.save(figures(), out / "again.html")  # not tried again: no second wait
    assert capsys.readouterr().err == "" and not (out / "again.png").exists()
    # the stuck process and choreographer's wrapper around it were ended
    running = []
    for proc in Path("/proc").iterdir():
        try:
            if str(stuck).encode() in (proc / "cmdline").read_bytes():
                running.append(proc.name)
        except OSError:
            continue
    assert running == []


def test_without_kaleido_the_html_stands(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "kaleido", None)  # import kaleido raises ImportError
    plots.save(figures()[0], tmp_path / "attribution.html")
    assert [p.name for p in tmp_path.iterdir()] == ["attribution.html"]
    err = capsys.readouterr().err
    assert err.startswith("journeysim: warning: static images skipped (kaleido is not installed")
    assert len(err.splitlines()) == 1


def test_journeysim_no_images_turns_them_off_silently(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(images.NO_IMAGES, "1")
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "never-started"))
    plots.save(figures(), tmp_path / "fit.html")
    assert [p.name for p in tmp_path.iterdir()] == ["fit.html"]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(images.NO_IMAGES, "0")  # 0 is "no, do not turn them off"
    assert not images.disabled()


def test_image_names_follow_the_html_file():
    names = [p.name for p in images.image_paths(Path("out") / "truth.html", 3)]
    assert names == [
        "truth.png", "truth.svg", "truth-2.png", "truth-2.svg", "truth-3.png", "truth-3.svg"
    ]  # fmt: skip
    assert images.image_paths("x/fit.html", 1)[0].parent == Path("x")


def test_listings_show_the_images_written_and_older_ones_go(tmp_path, monkeypatch):
    # drawing without a browser: every figure "drawn" as a few bytes
    monkeypatch.setattr(images, "_render_all", lambda figs: [b"img"] * (2 * len(figs)))
    for k in (1, 2, 3):  # an earlier run's third figure
        (tmp_path / f"fit{'' if k == 1 else f'-{k}'}.png").write_bytes(b"old")
        (tmp_path / f"fit{'' if k == 1 else f'-{k}'}.svg").write_bytes(b"old")
    assert images.write_images(figures(), tmp_path / "fit.html") == [
        tmp_path / n for n in ("fit.png", "fit.svg", "fit-2.png", "fit-2.svg")
    ]
    assert not (tmp_path / "fit-3.png").exists() and not (tmp_path / "fit-3.svg").exists()
    assert (tmp_path / "fit-2.svg").read_bytes() == b"img"
    names = ("best.yaml", "fit.html", "optimise.html")
    assert images.with_images(names, tmp_path) == [
        "best.yaml", "fit.html", "fit.png", "fit.svg", "fit-2.png", "fit-2.svg", "optimise.html"
    ]  # fmt: skip
