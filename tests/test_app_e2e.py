"""End to end in a real browser: Debian's chromium driven by Playwright, as a user would.

Starts ``streamlit run app.py`` on a free localhost port and, at 1400x900:

1. opens a link that sets a small market, adds a second scenario in the form and runs
   the comparison (Run is disabled while it runs);
2. visits every page and comes back: the form and the results are as they were;
3. opens the page's URL in a new browser context (a new session): the same comparison;
4. opens it on a phone (390 px wide) and visits every page and chart tab there;
5. downloads the zip and checks it holds the results, configs and the command shown;
6. starts a big run and cancels it.

On every page at both widths the charts' texts (titles, notes, annotations, legends) are
checked by their boxes in the browser: none overlaps another of its chart or is cut off
by the chart's edge, each is at least 12 px, and titles and notes reach 4.5:1 on white.
The app must work offline: the test fails on any request not to the app's own address.

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
import warnings
import zipfile
from itertools import combinations
from pathlib import Path
from urllib.parse import urlparse

import polars as pl
import pytest

from sim.dashboard.charts import contrast_ratio

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


def new_page(browser, app_url: str, outside: list[str], width: int = 1400, **options):
    """A page in a new browser context (a new session) whose requests are all recorded."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    watch_requests(context, app_url, outside)
    return context.new_page()


def watch_requests(context, app_url: str, outside: list[str]) -> None:
    """Add to ``outside`` every request of ``context`` that is not to the app's own address."""
    own = urlparse(app_url).netloc

    def record(request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.netloc != own:
            outside.append(request.url)

    context.on("request", record)


def shoot(page, path: Path) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside its own container)."""
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": 4200})
    page.wait_for_timeout(600)  # charts re-lay themselves out to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 900})


#: The texts of a chart that must stay legible: titles (figure, axes, legend, colour bar),
#: annotations (panel titles and notes), legend entries and Sankey labels.
CHART_TEXT = ("text.gtitle, text.annotation-text, text.legendtitletext, text.legendtext, "
              "text[class$='title'], text.node-label")  # fmt: skip
SLACK = 2  # px: boxes may touch or round over by this much

CHART_BOXES = """(selector) => [...document.querySelectorAll('.js-plotly-plot')]
  .filter(plot => plot.getBoundingClientRect().width > 0)  // charts of hidden tabs aside
  .map(plot => {
    const svg = plot.querySelector('svg.main-svg').getBoundingClientRect();
    const box = r => [r.left - svg.left, r.top - svg.top, r.right - svg.left, r.bottom - svg.top];
    const texts = [...plot.querySelectorAll(selector)].map(el => {
      const style = getComputedStyle(el);
      return {text: el.textContent, size: parseFloat(style.fontSize), fill: style.fill,
              box: box(el.getBoundingClientRect())};
    }).filter(t => t.text.trim() && t.box[2] > t.box[0]);
    // Plotly's toolbar, where shown (always on a touch screen, on hover else)
    const bar = plot.querySelector('.modebar');
    const shown = bar && getComputedStyle(bar).opacity > 0;
    return {width: svg.width, height: svg.height, texts,
            toolbar: shown ? box(bar.getBoundingClientRect()) : null};
  })"""


def overlap(a: list[float], b: list[float]) -> float:
    """How far two boxes (left, top, right, bottom) overlap: negative when apart."""
    return min(min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1]))


def hex_colour(css: str) -> str:
    """'rgb(47, 45, 43)' as '#2f2d2b'."""
    r, g, b = (int(float(v)) for v in css[css.index("(") + 1 : -1].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def text_problems(chart: dict) -> list[str]:
    """What makes a chart's texts hard to read: overlaps, cut-offs, small or pale text."""
    problems = []
    for t in chart["texts"]:
        left, top, right, bottom = t["box"]
        if max(-left, -top, right - chart["width"], bottom - chart["height"]) > SLACK:
            problems.append(f"cut off: {t['text']!r} at {t['box']}")
        if t["size"] < 12:
            problems.append(f"{t['size']} px: {t['text']!r}")
        if contrast_ratio(hex_colour(t["fill"]), "#ffffff") < 4.5:
            problems.append(f"contrast under 4.5:1 ({t['fill']}): {t['text']!r}")
    for a, b in combinations(chart["texts"], 2):
        if overlap(a["box"], b["box"]) > SLACK:
            problems.append(f"overlap: {a['text']!r} {a['box']} and {b['text']!r} {b['box']}")
    for t in chart["texts"]:
        if chart["toolbar"] and overlap(t["box"], chart["toolbar"]) > SLACK:
            problems.append(f"under the toolbar {chart['toolbar']}: {t['text']!r} {t['box']}")
    return problems


def check_charts(page, where: str, strict: bool = True) -> None:
    """Every chart on screen keeps its texts apart, inside it, >= 12 px, at AA contrast.

    Not ``strict``: the problems are a warning of the test, not a failure.
    """
    page.wait_for_timeout(800)  # the charts lay themselves out to the width
    charts = page.evaluate(CHART_BOXES, CHART_TEXT)
    problems = [
        f"{where}, {int(c['width'])} px chart {k}: {p}"
        for k, c in enumerate(charts)
        for p in text_problems(c)
    ]
    if problems and not strict:
        warnings.warn("\n".join(problems), stacklevel=2)
    else:
        assert not problems, "\n".join(problems)


def inspect(page, shots: Path, name: str, strict: bool = True) -> None:
    """A screenshot of the page, then the chart checks at its width."""
    shoot(page, shots / f"{name}.png")
    check_charts(page, f"{name} at {page.viewport_size['width']} px", strict)


def headline(page) -> list[str]:
    return [m.inner_text() for m in page.locator("[data-testid='stMetric']").all()]


def wait_results(page) -> None:
    page.get_by_text("Differences against the baseline").wait_for(timeout=RUN_TIMEOUT)
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=RUN_TIMEOUT)
    # the charts (the open tab may hold a note instead, e.g. no cohort for retention yet)
    page.locator(".js-plotly-plot").first.wait_for(state="attached", timeout=60_000)


#: The pages after Compare: (link, URL path, a text shown once it is drawn).
PAGES = (("Journey", "journey", "Where customers are"),
         ("Sweep explorer", "sweeps", "averages over"),
         ("Explain the model", "model", "Events compete"))  # fmt: skip
#: Pages whose chart problems only warn: none, every page is checked strictly (a page added
#: here would be one whose figures do not use ``charts.frame`` yet).
LENIENT: set[str] = set()
CHART_TABS = ("Customers and share", "Revenue and profit", "Difference vs baseline")


#: The other pages on a phone: (screenshot, URL path and view, a text shown once drawn).
PHONE_PAGES = (("phone_journey", "journey", "Where customers are"),
               ("phone_sweep_explorer", "sweeps", "averages over"),
               ("phone_sweep_heatmap", "sweeps?sweep_y=network", "averages over"),
               ("phone_explain_the_model", "model", "Events compete"))  # fmt: skip


def phone_tour(browser, app_url: str, url: str, shots: Path, outside: list[str]) -> None:
    """The shared comparison on a phone, 390 px wide: every page and chart tab is legible."""
    page = new_page(browser, app_url, outside, width=390, is_mobile=True, has_touch=True)
    query = urlparse(url).query
    page.goto(f"{app_url}/?{query}", wait_until="networkidle")
    wait_results(page)
    for tab in CHART_TABS:
        page.get_by_role("tab", name=tab).click()
        page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
        inspect(page, shots, f"phone_compare_{tab.split()[0].lower()}")
    for name, address, ready in PHONE_PAGES:
        path, _, view = address.partition("?")
        page.goto(f"{app_url}/{path}?{'&'.join(filter(None, (query, view)))}")
        page.get_by_text(ready).first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
        inspect(page, shots, name, path not in LENIENT)
    # no chart there without analysis results: visited for its requests
    page.goto(f"{app_url}/analysis?{query}", wait_until="networkidle")
    page.get_by_role("heading", name="Analyst tools").wait_for(timeout=60_000)
    page.context.close()


def test_a_strategist_compares_shares_and_downloads(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    outside: list[str] = []  # requests to any host but the app's: none, it works offline
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = new_page(browser, app_url, outside, accept_downloads=True)
            page.goto(f"{app_url}/?customers=1000&replicates=2&days=80", wait_until="networkidle")
            page.get_by_text("Scenarios to compare").wait_for()
            # the form: add a second library scenario, then run
            box = page.locator("[data-testid='stMultiSelect']").first
            box.locator("input").click()
            box.locator("input").fill("Price war")  # the option as shown
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
            inspect(page, shots, "compare")

            # view choices: a brand for the headline, intervals shown, another chart tab
            page.mouse.wheel(0, 500)  # the headline to mid-screen: its list opens below it
            page.wait_for_timeout(500)
            page.locator(".st-key-focus_brand").click()
            page.get_by_role("option", name="budget").click()
            page.locator(".st-key-level_intervals label").click()
            page.get_by_role("tab", name="Revenue and profit").click()
            page.wait_for_timeout(1500)
            check_charts(page, "compare, Revenue and profit, at 1400 px")
            view = headline(page)
            assert view != cards  # the budget brand's headline
            assert "focus_brand=budget" in page.url and "view_tab=" in page.url

            # every page, then back: settings, results and the view kept, nothing rerun
            for name, path, ready in PAGES:
                page.get_by_role("link", name=name).click()
                page.get_by_text(ready).first.wait_for(timeout=60_000)
                page.locator(".js-plotly-plot >> visible=true").first.wait_for(timeout=60_000)
                assert "run=1" in page.url  # the settings stay in the URL on every page
                inspect(page, shots, name.lower().replace(" ", "_"), path not in LENIENT)
            page.get_by_role("link", name="Compare scenarios").click()
            wait_results(page)
            assert box.get_by_text("Price war").count() == 1  # the form kept its scenarios
            expect(page.locator("[data-testid='stSlider']").first).to_contain_text("1,000")
            assert headline(page) == view
            expect(page.locator(".st-key-level_intervals input")).to_be_checked()
            expect(page.get_by_role("tab", name="Revenue and profit")).to_have_attribute(
                "aria-selected", "true"
            )
            url = page.url  # the view travels with the link

            # the shared URL in a new session reproduces the comparison
            other = new_page(browser, app_url, outside)
            other.goto(url, wait_until="networkidle")
            wait_results(other)
            assert headline(other) == view
            assert other.locator("[data-testid='stCode']").first.inner_text() == command
            other.context.close()
            phone_tour(browser, app_url, url, shots, outside)  # the same link on a phone

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
    assert not outside, f"requests to outside hosts: {sorted(set(outside))}"
    keep = ROOT / "screenshots"
    keep.mkdir(exist_ok=True)
    for shot in shots.iterdir():
        assert shot.stat().st_size > 20_000, shot
        shutil.copy(shot, keep / shot.name)
