"""End to end in a real browser: Debian's chromium driven by Playwright.

Starts ``streamlit run app.py`` on a free localhost port, loads the app, runs the default
comparison, checks that the KPI table and a chart appear, saves a screenshot and stops
the server. ``.ci/run`` installs chromium; Playwright cannot download browsers here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture()
def app_url(tmp_path):
    port = free_port()
    env = {**os.environ, "JOURNEYSIM_RESULTS_ROOT": str(tmp_path)}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_default_comparison_in_a_browser(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(app_url, wait_until="networkidle")
            page.get_by_role("button", name="Run comparison").click()
            page.get_by_text("KPIs by scenario and brand").wait_for(timeout=240_000)
            table = page.locator("[data-testid='stDataFrame']").first
            table.wait_for(timeout=60_000)
            chart = page.locator(".js-plotly-plot").first
            chart.wait_for(timeout=60_000)
            assert page.get_by_text("Headline").count() >= 1
            assert page.locator("[data-testid='stMetric']").count() >= 4
            page.wait_for_timeout(1000)
            shot = tmp_path / "e2e_compare.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    keep = ROOT / "screenshots"
    keep.mkdir(exist_ok=True)
    shutil.copy(shot, keep / shot.name)
