"""Each library scenario's effect against the baseline, in the units its public case reports.

    .venv/bin/python experiments/scenario_cases.py           # 20,000 customers, seeds 0 1 2
    .venv/bin/python experiments/scenario_cases.py --seeds 0 1 2 3 4 --scenarios pr_crisis
    .venv/bin/python experiments/scenario_cases.py --csv /tmp/cases.csv market.sim.steps=...

Paired runs (common random numbers): for every seed the baseline and each scenario run with
the same seed, so they share customers and draws; each effect is the scenario minus the
baseline (or their ratio) per seed, given as a mean with a 95% t-interval over seeds.
Effects are on the brand the scenario targets (for ``new_entrant``: the incumbent that loses
customers, and the newcomer's share). docs/scenarios.md sets them beside the public cases.

Measures (scenario vs baseline, same seed):

- ``customers_end_%``: the brand's customers on the last day, % change (TSB-style "% of
  customers lost").
- ``share_end_pp``: its market share on the last day, percentage points.
- ``churn_year_%``: its churn rate over the year (customers who left / mean customers),
  relative % change.
- ``churn_window_x``: customers who left during the event's window, ratio.
- ``acquired_window_%``: customers won during the window, % change.
- ``revenue_year_%``, ``profit_year_%``: over the year (profit after ad, service and
  programme costs), % change.
- ``nps_window_pts``: mean NPS during the window, points.
- ``service_cost_%``: service cost from the event's start, % change.
- ``aware_window_%``, ``considering_window_%``: people aware of the brand, and people
  considering it, during the window (mean over its days), % change.
- ``ad_spend_year_%``: its ad spend over the year, % change.
- ``churn_<source>_window_per_1000``: customers lost during the window by source (hazard:
  dissatisfaction, shock: a very bad experience, switch: at a purchase occasion, exit: left
  the category), scenario minus baseline per 1,000 of the brand's baseline customers.
- extras per scenario (``EXTRAS``), e.g. the price war's customers before rivals match and
  the newcomer's share.

By default the script measures a commit, not the working tree: ``--at HEAD`` (the default)
exports that commit with ``git archive`` into a temporary folder and runs there, so edits
in progress in a shared tree neither break nor leak into the figures; ``--at 555715a``
measures an older commit, ``--worktree`` the files as they are. The commit is printed first
(other engineers change the model's responses: rerun after they land and update
docs/scenarios.md).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ["service_outage", "price_war", "new_entrant", "chatbot_rollout", "loyalty_programme",
           "viral_campaign", "pr_crisis", "one_click_purchase", "personalisation"]  # fmt: skip

#: The brand whose effect is compared with the case (None: the events' brand).
TARGET = {"new_entrant": "incumbent", "price_war": "budget"}


def _t975(df: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, df))


def interval(values) -> tuple[float, float, float]:
    """Mean and 95% t-interval over seeds (the interval is the mean when there is one seed)."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, m, m
    h = _t975(v.size - 1) * float(v.std(ddof=1)) / np.sqrt(v.size)
    return m, m - h, m + h


def _col(result, brand: str, column: str) -> np.ndarray:
    import polars as pl

    m = result.metrics.filter(pl.col("brand") == brand).sort("step")
    return m[column].to_numpy().astype(float)


def _window(cfg) -> tuple[int, int]:
    """First start and last end (exclusive; open events: the run's end) of the events."""
    steps = int(cfg.sim.steps)
    evs = list(cfg.scenario.events)
    start = min(int(ev.start or 0) for ev in evs)
    ends = [steps + 1 if ev.end is None else int(ev.end) for ev in evs if ev.kind != "new_entrant"]
    end = max(ends) if ends else steps + 1
    return start, min(max(end, start + 1), steps + 1)


def _pct(new: float, old: float) -> float:
    return 100.0 * (new - old) / old if old else float("nan")


def measures(scen, base, brand: str, start: int, end: int) -> dict[str, float]:
    """The scenario's effects on one brand against the paired baseline run."""
    out = {}
    cs, cb = _col(scen, brand, "customers"), _col(base, brand, "customers")
    out["customers_end_%"] = _pct(cs[-1], cb[-1])
    out["share_end_pp"] = 100.0 * (_col(scen, brand, "share")[-1] - _col(base, brand, "share")[-1])

    def churn_rate(r):
        return _col(r, brand, "churned")[1:].sum() / _col(r, brand, "customers")[1:].mean()

    out["churn_year_%"] = _pct(churn_rate(scen), churn_rate(base))
    w = slice(start, end)
    out["churn_window_x"] = _col(scen, brand, "churned")[w].sum() / max(
        _col(base, brand, "churned")[w].sum(), 1.0
    )
    out["acquired_window_%"] = _pct(
        _col(scen, brand, "acquired")[w].sum(), _col(base, brand, "acquired")[w].sum()
    )
    out["revenue_year_%"] = _pct(
        _col(scen, brand, "revenue")[1:].sum(), _col(base, brand, "revenue")[1:].sum()
    )
    out["profit_year_%"] = _pct(
        _col(scen, brand, "profit")[1:].sum(), _col(base, brand, "profit")[1:].sum()
    )
    out["nps_window_pts"] = float(
        np.nanmean(_col(scen, brand, "nps")[w]) - np.nanmean(_col(base, brand, "nps")[w])
    )
    out["service_cost_%"] = _pct(
        _col(scen, brand, "service_cost")[start:].sum(),
        _col(base, brand, "service_cost")[start:].sum(),
    )
    out["aware_window_%"] = _pct(
        _col(scen, brand, "aware")[w].mean(), _col(base, brand, "aware")[w].mean()
    )
    out["considering_window_%"] = _pct(
        _col(scen, brand, "considering")[w].mean(), _col(base, brand, "considering")[w].mean()
    )
    out["ad_spend_year_%"] = _pct(
        _col(scen, brand, "ad_spend")[1:].sum(), _col(base, brand, "ad_spend")[1:].sum()
    )
    # which churn moved: each source's change over the window, per 1,000 baseline customers
    per = 1000.0 / _col(base, brand, "customers")[w].mean()
    for src in ("hazard", "shock", "switch", "exit"):
        c = f"churned_{src}"
        out[f"churn_{src}_window_per_1000"] = per * (
            _col(scen, brand, c)[w].sum() - _col(base, brand, c)[w].sum()
        )
    return out


def extras(name: str, scen, base, cfg) -> dict[str, float]:
    """Measures particular to one scenario's case."""
    out: dict[str, float] = {}
    if name == "price_war":
        # the budget brand alone in its cut: days start .. start + lag (rivals match then)
        (ev,) = list(cfg.scenario.events)
        start, lag = int(ev.start), int(cfg.brands.incumbent.responses[0].lag)
        t = start + lag - 1
        cs, cb = _col(scen, "budget", "customers"), _col(base, "budget", "customers")
        out["budget_customers_alone_%"] = _pct(cs[t], cb[t])
        out["budget_share_alone_pp"] = 100.0 * (
            _col(scen, "budget", "share")[t] - _col(base, "budget", "share")[t]
        )
        out["elasticity_alone"] = out["budget_customers_alone_%"] / (100.0 * float(ev.change))
        for rival in ("incumbent", "challenger"):
            out[f"{rival}_profit_year_%"] = _pct(
                _col(scen, rival, "profit")[1:].sum(), _col(base, rival, "profit")[1:].sum()
            )
        total = sum(
            _col(scen, b, "profit")[1:].sum() for b in ("incumbent", "challenger", "budget")
        )
        total_b = sum(
            _col(base, b, "profit")[1:].sum() for b in ("incumbent", "challenger", "budget")
        )
        out["market_profit_year_%"] = _pct(total, total_b)
    elif name == "new_entrant":
        out["newco_share_end_%"] = 100.0 * _col(scen, "newco", "share")[-1]
        out["newco_customers_end"] = _col(scen, "newco", "customers")[-1]
        for rival in ("challenger", "budget"):
            out[f"{rival}_customers_end_%"] = _pct(
                _col(scen, rival, "customers")[-1], _col(base, rival, "customers")[-1]
            )
        out["budget_ad_spend_year_%"] = _pct(
            _col(scen, "budget", "ad_spend")[1:].sum(), _col(base, "budget", "ad_spend")[1:].sum()
        )
        n = int(cfg.market.customers)
        total_s = sum(_col(scen, b, "customers")[-1] for b in list(cfg.brands.keys()))
        total_b = sum(_col(base, b, "customers")[-1] for b in ("incumbent", "challenger", "budget"))
        out["category_customers_end_%_of_N"] = 100.0 * (total_s - total_b) / n
    elif name == "service_outage":
        cs, cb = _col(scen, "incumbent", "customers"), _col(base, "incumbent", "customers")
        out["customers_lost_by_day_120_%"] = -_pct(cs[120], cb[120])
        out["customers_lost_end_%"] = -_pct(cs[-1], cb[-1])
    elif name == "chatbot_rollout":
        b = "incumbent"
        start = min(int(ev.start or 0) for ev in cfg.scenario.events)
        out["bot_share_of_contacts_%"] = 100.0 * (
            _col(scen, b, "bot_contacts")[start:].sum()
            / max(_col(scen, b, "contacts")[start:].sum(), 1)
        )
        out["unresolved_contacts_%"] = _pct(
            _col(scen, b, "failures")[start:].sum() - _col(scen, b, "recovered")[start:].sum(),
            _col(base, b, "failures")[start:].sum() - _col(base, b, "recovered")[start:].sum(),
        )
        out["service_cost_saved_%_of_revenue"] = (
            100.0
            * (
                _col(base, b, "service_cost")[start:].sum()
                - _col(scen, b, "service_cost")[start:].sum()
            )
            / _col(base, b, "revenue")[start:].sum()
        )
    elif name in ("loyalty_programme", "personalisation", "one_click_purchase"):
        b = (
            "incumbent"
            if name == "loyalty_programme"
            else ("budget" if name == "personalisation" else "challenger")
        )
        start = min(int(ev.start or 0) for ev in cfg.scenario.events)
        out["programme_cost_%_of_revenue"] = 100.0 * (
            _col(scen, b, "programme_cost")[start:].sum() / _col(scen, b, "revenue")[start:].sum()
        )
        out["revenue_after_start_%"] = _pct(
            _col(scen, b, "revenue")[start:].sum(), _col(base, b, "revenue")[start:].sum()
        )
    return out


def git(*args: str) -> str:
    """Run git in the project's repository and return its output."""
    return subprocess.run(
        ["git", *args], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.strip()


def export(rev: str) -> tuple[str, Path]:
    """Export commit ``rev`` into a temporary folder (once); returns (short sha, folder)."""
    sha = git("rev-parse", "--short=12", f"{rev}^{{commit}}")
    dest = Path(tempfile.gettempdir()) / f"journeysim-{sha}"
    if not (dest / ".exported").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        (dest / ".exported").touch()
    return sha, dest


def rerun_at(rev: str, argv: list[str]) -> int:
    """Run this script inside an export of ``rev`` (the script itself is copied in)."""
    sha, dest = export(rev)
    script = dest / "experiments" / Path(__file__).name
    script.parent.mkdir(exist_ok=True)
    shutil.copyfile(__file__, script)
    env = dict(os.environ, SCENARIO_CASES_COMMIT=sha)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, str(script), *argv], env=env).returncode


def commit() -> str:
    """The commit measured at, with a note when model code differs from it."""
    if os.environ.get("SCENARIO_CASES_COMMIT"):
        return f"{os.environ['SCENARIO_CASES_COMMIT']} (clean export)"
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "agents", "sim", "scenarios", "conf")
        return head + (" (+uncommitted changes in agents/sim/scenarios/conf)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--customers", type=int, default=20000)
    ap.add_argument("--scenarios", nargs="+", default=LIBRARY, choices=LIBRARY)
    ap.add_argument("--csv", type=Path, help="write one row per scenario and measure")
    ap.add_argument("--at", default="HEAD", help="measure this commit (default HEAD)")
    ap.add_argument("--worktree", action="store_true", help="measure the files as they are")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)
    if not args.worktree:
        forward = ["--seeds", *map(str, args.seeds), "--customers", str(args.customers)]
        forward += ["--scenarios", *args.scenarios]
        if args.csv:
            forward += ["--csv", str(args.csv.resolve())]
        return rerun_at(args.at, [*forward, "--worktree", "--", *args.overrides])

    import sim
    from sim import load_config, simulate

    print(f"journeysim at {commit()} (code in {Path(sim.__file__).parent.parent}); "
          f"{args.customers} customers, seeds {args.seeds}; "
          f"extra overrides {args.overrides or 'none'}", flush=True)  # fmt: skip
    common = [f"market.customers={args.customers}", *args.overrides]
    t0 = time.perf_counter()
    base = {s: simulate(load_config([*common, f"seed={s}"])) for s in args.seeds}
    rows = []
    for name in args.scenarios:
        per_seed: dict[str, list[float]] = {}
        cfg = None
        for s in args.seeds:
            cfg = load_config([*common, f"scenario={name}", f"seed={s}"])
            scen = simulate(cfg)
            brand = TARGET.get(name) or str(cfg.scenario.events[0].brand)
            start, end = _window(cfg)
            got = measures(scen, base[s], brand, start, end)
            got.update(extras(name, scen, base[s], cfg))
            for k, v in got.items():
                per_seed.setdefault(k, []).append(v)
        print(f"\n== {name}: {brand}, event window days {start}-{end - 1}")
        for k, vals in per_seed.items():
            m, lo, hi = interval(vals)
            print(f"  {k:34s} {m:+10.2f}   [{lo:+.2f}, {hi:+.2f}]")
            rows.append({"scenario": name, "brand": brand, "measure": k, "mean": m,
                         "lo95": lo, "hi95": hi, "seeds": len(vals)})  # fmt: skip
        sys.stdout.flush()
    print(f"\n{len(args.seeds) * (len(args.scenarios) + 1)} runs in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    if args.csv:
        with args.csv.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
