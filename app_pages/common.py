"""What the pages share: the results root, cached runs, the session's state and the URL.

State has one source of truth: ``Settings`` in ``st.session_state["settings"]``, set by
the compare form (or read from the URL when a session starts) and mirrored into the
URL's query parameters on every script run, so a reload or a shared link reproduces
the comparison. Widgets that only change the view keep their value across page
switches (``VIEW``).

Runs go through ``load_config`` (cached by overrides) and ``simulate`` (cached by the
resolved config, ``st.cache_data``). A run executes in a worker thread so the page can
show per-step progress; the worker touches no Streamlit element (a cached function
must not), it only reports the step it reached.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import threading
import time
import warnings
from pathlib import Path

import polars as pl
import streamlit as st
from omegaconf import OmegaConf

from sim import dashboard as dash
from sim.config import ROOT, ConfigError, ConfigWarning, load_config

#: How every view choice (brand, scenario, tab, toggles, the sweep explorer's axes) keeps its
#: value: Streamlit keeps it for the session when its page is not shown, and holds it in the
#: URL (the widget's key is the query parameter), so a round trip, a reload or a shared link
#: restores the view as well as the comparison.
VIEW = {"persist_state": "session", "bind": "query-params"}
SETTINGS = "settings"
COMPARISON = "comparison"
RUN_REQUEST = "run_request"
NOTICE = "notice"
RUN_ERRORS = "run_errors"
SWEEP = "sweep_folder"


# -- settings of the process --------------------------------------------------------------------
def _root(flag: str, variable: str, default: Path) -> Path:
    """A folder from the app's command line (``--flag``), else the environment, else default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(flag, default=None)
    args, _ = parser.parse_known_args(sys.argv[1:])
    chosen = getattr(args, flag.lstrip("-").replace("-", "_"))
    return Path(chosen or os.environ.get(variable) or default).resolve()


def results_root() -> Path:
    """The only folder under which sweep results may be opened."""
    return _root("--results-root", "JOURNEYSIM_RESULTS_ROOT", ROOT / "multirun")


def data_root() -> Path:
    """The only folder under which a typed override may name a file (e.g. an edge list)."""
    return _root("--data-root", "JOURNEYSIM_DATA_ROOT", ROOT / "data")


@st.cache_data(show_spinner=False, max_entries=1024)
def checked_config(overrides: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The resolved config of a set of overrides, as YAML, and the validator's warnings.

    Raises:
        ConfigError: a value is out of range or the wrong type (one line).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConfigWarning)
        # what comes from a form or a URL is data: model keys and plain references only
        cfg = load_config(list(overrides), trust="data")
    said = (str(w.message) for w in caught if issubclass(w.category, ConfigWarning))
    return OmegaConf.to_yaml(cfg), tuple(dict.fromkeys(said))


def resolved_config(overrides: tuple[str, ...]) -> str:
    """The resolved config of a set of overrides, as YAML (raises ConfigError)."""
    return checked_config(overrides)[0]


class RunStopped(Exception):
    """Raised in a worker's progress callback to stop a run the user cancelled."""


@st.cache_resource
def engine_lock() -> threading.Lock:
    """One run at a time in this process: sessions share the cores (and Numba's threads)."""
    return threading.Lock()


@st.cache_data(show_spinner=False, max_entries=256)
def run_cached(config_yaml: str, _progress=None) -> dict[str, pl.DataFrame]:
    """Simulate one resolved config (cached by it: returning to a setting is instant).

    ``_progress`` (not part of the cache key) is called with each step; it may raise
    ``RunStopped``. No Streamlit element is touched in here: st.cache_data replays
    such calls on a hit.
    """
    from sim import simulate

    with engine_lock():
        result = simulate(OmegaConf.create(config_yaml), progress=_progress)
    return {name: getattr(result, name) for name in dash.comparison.RESULT_FRAMES}


@st.cache_resource
def _speed_box() -> dict:
    """Holds this process's measured speed once measured."""
    return {}


def measured_speed_ready() -> bool:
    """Whether this process has measured its speed already."""
    return "speed" in _speed_box()


def measured_speed() -> dash.Speed:
    """This process's speed, from a few short runs of the default market (once per process).

    The first also loads (or compiles) the kernels: that time is reported apart, as it is
    paid once (``dash.state.fit_speed``).
    """
    box = _speed_box()
    if "speed" not in box:
        box["speed"] = _measure_speed()
    return box["speed"]


def numba_threads() -> int:
    """Numba's thread limit in this process."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def _measure_speed() -> dash.Speed:
    from sim import simulate

    seconds = []
    with engine_lock():
        for customers, steps in dash.state.CALIBRATION_RUNS:
            cfg = OmegaConf.create(resolved_config((f"market.customers={customers}",
                                                     f"sim.steps={steps}", "sim.burn_in=0",
                                                     "engine.threads=1")))  # fmt: skip
            start = time.perf_counter()
            simulate(cfg)
            seconds.append(time.perf_counter() - start)
    return dash.fit_speed(seconds)


@st.cache_resource
def finished_configs() -> set[str]:
    """Digests of the configs simulated in this process (their results are cached)."""
    return set()


def digest(text: str) -> str:
    """A short digest of a config."""
    return hashlib.sha1(text.encode()).hexdigest()


@st.cache_data(show_spinner=False)
def scenario_library() -> list[tuple[str, str]]:
    """(name, description) of the scenarios in conf/scenario."""
    from scenarios.library import list_scenarios

    return list_scenarios()


def base_config():
    """The default config (lever defaults, symbol values)."""
    return OmegaConf.create(resolved_config(()))


def levers():
    """The levers of the base config."""
    return dash.lever_specs(base_config())


# -- session state and the URL --------------------------------------------------------------
def init_state() -> None:
    """Once per session: settings (and the sweep folder) from the URL, else defaults.

    A URL saying ``run=1`` asks for its comparison: the first page that shows one runs it.
    """
    if SETTINGS in st.session_state:
        return
    query = {k: st.query_params[k] for k in st.query_params}
    names = [n for n, _ in scenario_library()]
    settings, problems = dash.from_query(query, names, levers())
    st.session_state[SETTINGS] = settings
    held = query.get("run") == "1" and bool(settings.overrides)
    if query.get("run") == "1" and not held:
        st.session_state[RUN_REQUEST] = settings
    if query.get("sweep"):
        st.session_state[SWEEP] = query["sweep"]
    notes = []
    if problems:
        notes.append("Some of the link's settings were left out: " + "; ".join(problems) + ".")
    if held:  # a link never runs typed overrides without a click: they are someone else's text
        notes.append("The link carries typed overrides (" + " ".join(settings.overrides)
                     + "): check them, then press Run.")  # fmt: skip
    if notes:
        st.session_state[NOTICE] = " ".join(notes)


def settings() -> dash.Settings:
    """The session's settings (the one source of truth)."""
    return st.session_state[SETTINGS]


def comparison() -> dash.Comparison | None:
    """The comparison on screen, if any."""
    return st.session_state.get(COMPARISON)


def shown_matches_settings() -> bool:
    """Whether the comparison on screen is the one the settings describe."""
    comp = comparison()
    return comp is not None and comp.settings == settings()


def sync_url() -> None:
    """Mirror the settings (and the sweep folder) into the URL's query parameters."""
    query = dash.to_query(settings())
    if RUN_REQUEST in st.session_state or shown_matches_settings():
        query["run"] = "1"
    if st.session_state.get(SWEEP):
        query["sweep"] = str(st.session_state[SWEEP])
    # only the comparison's own parameters: the view widgets keep theirs (``VIEW``)
    ours = {*dash.state.QUERY_KEYS, "run", "sweep"}
    current = {k: st.query_params[k] for k in st.query_params if k in ours}
    if current != query:
        for key in ours - query.keys():
            if key in st.query_params:
                del st.query_params[key]
        st.query_params.update(query)


def request_run(new_settings: dash.Settings) -> None:
    """Make ``new_settings`` the session's and ask for its comparison."""
    st.session_state[SETTINGS] = new_settings
    st.session_state[RUN_REQUEST] = new_settings
    st.session_state.pop(NOTICE, None)


def running() -> bool:
    """Whether a run is requested and about to execute in this script run."""
    return RUN_REQUEST in st.session_state


def _cancelled() -> None:
    st.session_state[NOTICE] = (
        "Stopped. Runs that had finished are cached: pressing Run again continues from there."
    )


def show_notice() -> None:
    """A message left by the previous script run (a cancel, a link's problems)."""
    if NOTICE in st.session_state:
        st.info(st.session_state.pop(NOTICE), icon=":material/info:")


# -- running a comparison -------------------------------------------------------------------------
def run_one(config_yaml: str, on_step) -> tuple[dict[str, pl.DataFrame], bool]:
    """Run (or fetch from the cache) one config in a worker thread, reporting its steps.

    ``on_step(step)`` is called about 7 times a second from this thread (it may update
    elements; if the script is interrupted there, the run is stopped). Returns the
    frames and whether they were simulated now (False: a cache hit).
    """
    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    box: dict = {"step": 0, "simulated": False}
    stop = threading.Event()

    def progress(step: int) -> None:
        box["step"] = step
        box["simulated"] = True
        if stop.is_set():
            raise RunStopped

    def work() -> None:
        try:
            box["frames"] = run_cached(config_yaml, _progress=progress)
        except BaseException as exc:  # noqa: BLE001 - handed to the script thread below
            box["error"] = exc

    worker = threading.Thread(target=work, name="journeysim-run", daemon=True)
    add_script_run_ctx(worker, get_script_run_ctx())
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.15)
            on_step(box["step"])
    finally:
        if worker.is_alive():  # the script was interrupted (Cancel, another page): stop
            stop.set()
    if "error" in box:
        raise box["error"]
    return box["frames"], box["simulated"]


class NotRun(Exception):
    """A comparison that cannot run: its messages are shown under the form."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def execute(request: dash.Settings) -> dash.Comparison | None:
    """Run a comparison with live progress; None if it was cancelled.

    Raises:
        NotRun: an override clashes with the form, a value is invalid, or a run cannot
            start (e.g. not enough memory).
    """
    from sim.engine.resources import estimate, human_bytes, human_seconds
    from sim.engine.runner import auto_threads
    from sim.engine.snapshot import burn_in_key

    specs = levers()
    cfg = base_config()
    jobs = dash.plan(request, specs, cfg)
    status = st.status(f"Checking the settings of {len(jobs)} runs...", expanded=True)
    # elements are added to the container directly: leaving a `with st.status` block
    # would mark it complete while the runs have not started
    status.button("Cancel", key="cancel_run", on_click=_cancelled, icon=":material/stop:")
    line = status.empty()
    bar = status.progress(0.0, text="Checking settings")
    problems = dash.conflicts(request, specs) + dash.outside_roots(
        request.overrides, (data_root(), results_root())
    )
    if problems:
        status.update(label="Not run: some overrides clash with the form", state="error")
        raise NotRun(problems)
    configs: list[str] = []
    notes: dict[str, None] = {}  # the validator's warnings, each once
    for k, job in enumerate(jobs):
        bar.progress(k / len(jobs), text=f"Checking settings: config {k + 1} of {len(jobs)}")
        try:
            text, said = checked_config(job.overrides)
            configs.append(text)
            notes.update(dict.fromkeys(f"{job.label}: {w}" for w in said))
        except ConfigError as exc:
            status.update(label="Not run: a setting is invalid", state="error")
            raise NotRun([f"Invalid value: {exc}"]) from None
        except Exception as exc:  # Hydra's composition errors: misspelt keys, bad syntax
            status.update(label="Not run: an override is invalid", state="error")
            raise NotRun([f"Invalid override: {str(exc).splitlines()[0]}"]) from None
    done = finished_configs()
    cold = not measured_speed_ready()
    if cold:
        bar.progress(1.0, text="Measuring this machine's speed (once per session)")
    speed = measured_speed()
    runs_left: list[tuple[int, int, int]] = []
    peak = 0
    burn_ins: dict[str, tuple[int, int, int] | None] = {}  # status quo key -> its work, or cached
    for text in configs:
        c = OmegaConf.create(text)
        est = estimate(c)
        peak = max(peak, est.total)
        if digest(text) not in done:
            threads = auto_threads(int(c.market.customers), numba_threads())
            runs_left.append((int(c.market.customers), int(c.sim.steps), threads))
            # arms with one seed share one burn-in: it is computed once, then loaded
            work = (int(c.market.customers), int(c.sim.burn_in), threads)
            burn_ins.setdefault(burn_in_key(c), None if est.burn_in_cached else work)
    to_reach = [w for w in burn_ins.values() if w is not None]
    expected = dash.state.estimate_seconds(runs_left, to_reach, speed)
    per_run = {k: speed.run_seconds(*w) for k, w in enumerate(runs_left)}
    cached = len(configs) - len(runs_left)
    compiled = (
        f" (after {human_seconds(speed.compile_seconds)} loading the engine, once)"
        if cold and speed.compile_seconds >= 1 else ""
    )  # fmt: skip
    line.caption(
        f"{len(jobs)} runs ({cached} already done) · about {human_seconds(expected)} at this "
        f"machine's measured {speed.rate / 1e6:.1f} M customer-days/s per thread{compiled}: "
        f"{len(burn_ins)} status quo(s) to reach ({len(burn_ins) - len(to_reach)} from cache)"
        f" · up to {human_bytes(peak)} of memory per run"
    )
    status.update(label=f"Running {len(jobs)} runs: {request.describe()}", expanded=True)
    runs = []
    start = time.monotonic()
    left = expected  # seconds of simulation still to come (cache hits take none)
    todo = iter(per_run.values())
    for k, (job, text) in enumerate(zip(jobs, configs, strict=True)):
        uncached = digest(text) not in done
        this_run = next(todo, None) if uncached else None
        on_step = functools.partial(
            _show_step, bar, k, len(jobs), job, request.steps, time.monotonic(),
            left if uncached else None, this_run,
        )  # fmt: skip
        run_start = time.monotonic()
        try:
            frames, simulated = run_one(text, on_step)
        except RunStopped:
            return None
        except ConfigError as exc:  # e.g. not enough memory for this market
            status.update(label="Stopped: a run cannot start", state="error")
            raise NotRun([str(exc)]) from None
        took = time.monotonic() - run_start
        if simulated:
            done.add(digest(text))
            left = max(left - max(this_run or 0.0, took), 0.0)
        runs.append((job.label, job.seed, frames))
    seconds = time.monotonic() - start
    bar.progress(1.0, text="Done")
    status.update(
        label=f"Done: {len(jobs)} runs in {human_seconds(seconds)}", state="complete",
        expanded=False,
    )  # fmt: skip
    return dash.Comparison(
        settings=request, jobs=jobs, runs=runs, configs=configs,
        commands=dash.reproduce_commands(request, specs, cfg), seconds=seconds,
        notes=list(notes),
    )  # fmt: skip


def _show_step(
    bar, k: int, total: int, job: dash.Job, steps: int, run_start: float,
    left: float | None, per_run: float | None, step: int,
) -> None:  # fmt: skip
    """Progress of run k at ``step``, with the time left of the whole comparison."""
    elapsed = time.monotonic() - run_start
    remaining = max(left - min(elapsed, per_run or elapsed), 0.0) if left else None
    bar.progress(
        min((k + step / max(steps, 1)) / total, 1.0),
        text=dash.state.progress_text(k, total, job.label, job.seed, step, steps, remaining),
    )


def execute_pending_run() -> None:
    """Run the requested comparison, if any, then redraw with Run enabled again.

    Why it could not run is kept for that redraw (``show_run_errors``).
    """
    request = st.session_state.pop(RUN_REQUEST, None)
    if request is None:
        return
    try:
        result = execute(request)
    except NotRun as exc:
        st.session_state[RUN_ERRORS] = exc.messages
        st.rerun()
    if result is not None:
        st.session_state[COMPARISON] = result
        st.rerun()


def show_run_errors() -> None:
    """Why the last requested comparison did not run (one message each).

    Also as a toast, which stays in view wherever the page is scrolled: with the levers
    open, the form is taller than the screen, and Run must never seem to do nothing.
    """
    messages = st.session_state.pop(RUN_ERRORS, [])
    if messages:
        more = f" (and {len(messages) - 1} more, under the form)" if len(messages) > 1 else ""
        st.toast(f"Not run: {messages[0]}{more}", icon=":material/error:", duration="long")
    for message in messages:
        st.error(message, icon=":material/error:")


# -- display helpers ------------------------------------------------------------------------
def column_config(specs: dict[str, dash.ColumnSpec], labels: dict[str, str] | None = None):
    """st.column_config for numeric column specs (and plain labels for text columns)."""
    config = {
        col: st.column_config.NumberColumn(spec.label, format=spec.format, help=spec.help or None)
        for col, spec in specs.items()
    }
    for col, label in (labels or {}).items():
        config[col] = st.column_config.TextColumn(label)
    return config


def glossary(key: str) -> None:
    """The KPI glossary in a popover (beside every table)."""
    with st.popover("Glossary", icon=":material/menu_book:", key=f"glossary_{key}"):
        show_glossary()


def show_glossary() -> None:
    """Every glossary term with its formula, then what the symbols stand for."""
    for term in dash.GLOSSARY:
        st.markdown(f"**{term.name}**: {term.words}")
        st.latex(term.formula)
    st.caption(dash.GLOSSARY_SYMBOLS)


def heading(text: str, key: str, level: str = "subheader") -> None:
    """A section heading with the glossary popover at its right."""
    left, right = st.columns([5, 1], vertical_alignment="bottom")
    getattr(left, level)(text)
    with right:
        glossary(key)


def valid_choice(key: str, options: list, default=None) -> None:
    """Drop a kept widget value that is no longer among the options (else Streamlit errs)."""
    if key in st.session_state and st.session_state[key] not in options:
        if default is not None and default in options:
            st.session_state[key] = default
        else:
            del st.session_state[key]
