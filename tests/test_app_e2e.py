"""End to end in a real browser: Debian's chromium driven by Playwright, as a user would.

Starts ``streamlit run app.py`` on a free localhost port and, at 1400x900:

1. opens a link that sets a small market, adds a second scenario in the form and runs
   the comparison (Run is disabled while it runs);
2. visits every page and comes back: the form and the results are as they were;
3. opens the page's URL in a new browser context (a new session): the same comparison;
4. downloads the zip and checks it holds the results, configs and the command shown;
5. starts a big run and cancels it.

A screenshot of each page goes to the test's artifacts (tmp_path) and ``screenshots/``
(gitignored). ``.ci/run`` installs chromium; Playwright cannot download browsers here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
RUN_TIMEOUT = 180_000  # ms
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


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


def write_sweep(root: Path) -> None:
    """A small synthetic sweep summary (2 talk rates x 2 networks x 3 seeds, one failed)."""
    rows = []
    for k, (rate, net, seed) in enumerate(
        (r, n, s) for r in (0.05, 0.2) for n in ("watts_strogatz", "complete") for s in range(3)
    ):
        rows.append({"run": str(k), "status": "complete", "scenario": "baseline", "seed": seed,
                     "wom.talk_rate": rate, "network": net,
                     "customers__incumbent": 8000.0 + 4000 * rate + 50 * seed,
                     "churned__incumbent": 900.0 - 1000 * rate + 20 * seed, "problem": None})  # fmt: skip
    rows.append({"run": "12", "status": "incomplete", "scenario": "baseline", "seed": 3,
                 "wom.talk_rate": 0.2, "network": "complete", "customers__incumbent": None,
                 "churned__incumbent": None, "problem": "not finished"})  # fmt: skip
    (root / "grid").mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(root / "grid" / "summary.parquet")


@pytest.fixture()
def app_url(tmp_path):
    port = free_port()
    results = tmp_path / "results"
    write_sweep(results)
    env = {**os.environ, "JOURNEYSIM_RESULTS_ROOT": str(results)}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--server.fileWatcherType", "none",
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


def shoot(page, path: Path) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside its own container)."""
    page.set_viewport_size({"width": 1400, "height": 4200})
    page.wait_for_timeout(600)  # charts re-lay themselves out to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 900})


def headline(page) -> list[str]:
    return [m.inner_text() for m in page.locator("[data-testid='stMetric']").all()]


def wait_results(page) -> None:
    page.get_by_text("Differences against the baseline").wait_for(timeout=RUN_TIMEOUT)
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=RUN_TIMEOUT)
    page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)


def test_a_strategist_compares_shares_and_downloads(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            page.goto(f"{app_url}/?customers=1000&replicates=2&days=80", wait_until="networkidle")
            page.get_by_text("Scenarios to compare").wait_for()
            # the form: add a second library scenario, then run
            box = page.locator("[data-testid='stMultiSelect']").first
            box.locator("input").click()
            box.locator("input").fill("price_war")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            run = page.get_by_role("button", name="Run comparison")
            run.click()
            expect(run).to_be_disabled(timeout=10_000)  # no second run while this one runs
            wait_results(page)
            expect(run).to_be_enabled()
            sidebar = page.locator("[data-testid='stSidebar']")
            expect(sidebar).to_contain_text(
                "baseline vs chatbot_rollout, price_war · 1,000 customers · 80 days · 2 replicates"
            )
            cards = headline(page)
            assert len(cards) == 6 and "Retention" in cards[1] and "%" in cards[1]
            command = page.locator("[data-testid='stCode']").first.inner_text()
            assert command.startswith("journeysim compare --baseline baseline")
            assert "--scenarios chatbot_rollout,price_war" in command
            assert "market.customers=1000" in command and "sim.steps=80" in command
            url = page.url
            assert "run=1" in url and "scenarios=chatbot_rollout%2Cprice_war" in url
            shoot(page, shots / "compare.png")

            # view choices: a brand for the headline, intervals shown, another chart tab
            page.locator(".st-key-focus_brand").click()
            page.get_by_role("option", name="budget").click()
            page.locator(".st-key-level_intervals label").click()
            page.get_by_role("tab", name="Revenue and profit").click()
            page.wait_for_timeout(1500)
            view = headline(page)
            assert view != cards  # the budget brand's headline
            assert "focus_brand=budget" in page.url and "view_tab=" in page.url

            # every page, then back: settings, results and the view kept, nothing rerun
            for name, ready in (("Journey", "Where customers are"),
                                ("Sweep explorer", "averages over"),
                                ("Explain the model", "Events compete")):  # fmt: skip
                page.get_by_role("link", name=name).click()
                page.get_by_text(ready).first.wait_for(timeout=60_000)
                page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
                assert "run=1" in page.url  # the settings stay in the URL on every page
                shoot(page, shots / f"{name.lower().replace(' ', '_')}.png")
            page.get_by_role("link", name="Compare scenarios").click()
            wait_results(page)
            assert box.get_by_text("price_war").count() == 1  # the form kept its scenarios
            expect(page.locator("[data-testid='stSlider']").first).to_contain_text("1,000")
            assert headline(page) == view
            expect(page.locator(".st-key-level_intervals input")).to_be_checked()
            expect(page.get_by_role("tab", name="Revenue and profit")).to_have_attribute(
                "aria-selected", "true"
            )
            url = page.url  # the view travels with the link

            # the shared URL in a new session reproduces the comparison
            other = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            other.goto(url, wait_until="networkidle")
            wait_results(other)
            assert headline(other) == view
            assert other.locator("[data-testid='stCode']").first.inner_text() == command
            other.context.close()

            # one zip with results, configs and the command
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role(
                    "button", name="Download results, configs and commands (zip)"
                ).click()
            saved = tmp_path / "comparison.zip"
            download.value.save_as(saved)
            with zipfile.ZipFile(saved) as z:
                names = set(z.namelist())
                assert {"results/kpis.csv", "results/metrics.parquet", "reproduce.sh",
                        "configs/price_war_seed1.yaml", "README.txt"} <= names  # fmt: skip
                assert command in z.read("reproduce.sh").decode()

            # a big run can be cancelled
            page.goto(f"{app_url}/?customers=200000&replicates=2&days=730&scenarios=&run=1")
            page.locator("[data-testid='stProgress']").get_by_text("Run 1/2").wait_for(
                state="attached", timeout=60_000
            )
            expect(page.get_by_role("button", name="Run comparison")).to_be_disabled()
            page.get_by_role("button", name="Cancel").click()
            page.get_by_text("Stopped.").wait_for(timeout=60_000)
            expect(page.get_by_role("button", name="Run comparison")).to_be_enabled()
        finally:
            browser.close()
    keep = ROOT / "screenshots"
    keep.mkdir(exist_ok=True)
    for shot in shots.iterdir():
        assert shot.stat().st_size > 20_000, shot
        shutil.copy(shot, keep / shot.name)
