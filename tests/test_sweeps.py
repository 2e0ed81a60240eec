"""Multiruns end to end: the sweep summary, ``journeysim report`` and its intervals,
resuming an interrupted sweep, atomic result files, and the joblib and Ray launchers.

Every sweep writes into pytest's tmp folders (``hydra.sweep.dir=...``), never the repo.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from clitools import cli
from scipy import stats

from sim.sweeps.io import DONE, is_complete, write_parquet, write_result
from sim.sweeps.summary import SUMMARY_KPIS, load_summary, report

BRANDS = ("incumbent", "challenger", "budget")


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# -- a 2 x 3 multirun, its summary and its report -------------------------------------------------
@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    sweep_dir = root / "sw"
    ok(cli(root, "-m", "scenario=baseline,chatbot_rollout", "seed=0,1,2",
           "market.customers=1500", "sim.steps=40", f"hydra.sweep.dir={sweep_dir}"))  # fmt: skip
    return sweep_dir


def test_multirun_writes_a_summary_row_per_run(sweep):
    s = pl.read_parquet(sweep / "summary.parquet")
    assert s.height == 6
    assert (s["status"] == "complete").all()
    assert s.columns[:4] == ["run", "status", "scenario", "seed"]
    assert sorted(s["run"].to_list()) == [str(k) for k in range(6)]
    combos = sorted(zip(s["scenario"].to_list(), s["seed"].to_list(), strict=True))
    assert combos == sorted((sc, k) for sc in ("baseline", "chatbot_rollout") for k in (0, 1, 2))
    for kpi in SUMMARY_KPIS:
        for b in BRANDS:
            assert f"{kpi}__{b}" in s.columns
    for col in ("customers__incumbent", "share__challenger", "retention__budget"):
        assert s[col].null_count() == 0
    assert ((s["share__challenger"] > 0) & (s["share__challenger"] < 1)).all()
    shares = s["share__incumbent"] + s["share__challenger"] + s["share__budget"]
    assert np.allclose(shares.to_numpy(), 1.0)
    # every run folder is complete and the summary matches its metrics
    for run in s.iter_rows(named=True):
        folder = sweep / run["run"]
        assert is_complete(folder)
        m = pl.read_parquet(folder / "metrics.parquet")
        last = m.filter((pl.col("step") == 40) & (pl.col("brand") == "incumbent"))
        assert last["customers"].item() == run["customers__incumbent"]
        inc = m.filter((pl.col("brand") == "incumbent") & (pl.col("step") > 0))
        assert inc["churned"].sum() == run["churned__incumbent"]
        assert m.filter(pl.col("brand") == "budget")["revenue"].sum() == pytest.approx(
            run["revenue__budget"]
        )


def test_report_command_prints_and_writes_the_report(sweep):
    proc = ok(cli(sweep.parent, "report", str(sweep), timeout=120))
    assert "baseline" in proc.stdout and "chatbot_rollout" in proc.stdout
    assert "Traceback" not in proc.stderr
    table = pl.read_parquet(sweep / "report.parquet")
    csv = pl.read_csv(sweep / "report.csv")
    assert csv.height == table.height
    assert set(table["scenario"].unique()) == {"baseline", "chatbot_rollout"}
    assert set(csv["scenario"].unique()) == {"baseline", "chatbot_rollout"}
    n_kpis = len(SUMMARY_KPIS) * len(BRANDS)
    assert table.filter(pl.col("scenario") == "baseline").height == n_kpis
    base = table.filter(pl.col("scenario") == "baseline")
    assert (base["diff"] == 0.0).all()
    assert (base["diff_low"] == 0.0).all() and (base["diff_high"] == 0.0).all()
    bot = table.filter(pl.col("scenario") == "chatbot_rollout")
    assert (bot["runs"] == 3).all() and (bot["pairs"] == 3).all()
    # the report's numbers are those of the summary
    s = pl.read_parquet(sweep / "summary.parquet")
    row = bot.filter((pl.col("kpi") == "revenue") & (pl.col("brand") == "incumbent")).row(
        0, named=True
    )
    runs = s.filter(pl.col("scenario") == "chatbot_rollout").sort("seed")
    bases = s.filter(pl.col("scenario") == "baseline").sort("seed")
    assert row["mean"] == pytest.approx(runs["revenue__incumbent"].mean())
    diffs = (runs["revenue__incumbent"] - bases["revenue__incumbent"]).to_numpy()
    assert row["diff"] == pytest.approx(diffs.mean())
    assert row["diff_low"] <= row["diff"] <= row["diff_high"]


# -- the report's intervals on synthetic summaries with known answers ------------------------------
def _summary(rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows)
    front = ["run", "status", "scenario", "seed"]
    return frame.select(front + [c for c in frame.columns if c not in front])


def _row(table, scenario, kpi="profit", brand="b", **settings):
    part = table.filter((pl.col("scenario") == scenario) & (pl.col("kpi") == kpi)
                        & (pl.col("brand") == brand))  # fmt: skip
    for key, value in settings.items():
        part = part.filter(pl.col(key) == value)
    assert part.height == 1
    return part.row(0, named=True)


def test_report_constant_paired_difference_is_exact():
    rng = np.random.default_rng(1)
    base = rng.integers(100, 200, size=10).astype(float)
    d = 2.5
    rows = [{"run": f"b{s}", "status": "complete", "scenario": "baseline", "seed": s,
             "profit__b": base[s]} for s in range(10)]  # fmt: skip
    order = rng.permutation(10)  # pairs must match on the seed, not on row order
    rows += [{"run": f"t{s}", "status": "complete", "scenario": "treat", "seed": int(s),
              "profit__b": base[s] + d} for s in order]  # fmt: skip
    table = report(_summary(rows))
    t = _row(table, "treat")
    assert t["pairs"] == 10 and t["runs"] == 10
    assert t["diff"] == d and t["diff_low"] == d and t["diff_high"] == d
    assert t["mean"] == pytest.approx(base.mean() + d)
    b = _row(table, "baseline")
    assert (b["diff"], b["diff_low"], b["diff_high"]) == (0.0, 0.0, 0.0)


def test_report_t_interval_matches_the_textbook_formula():
    values = [1.0, 2.0, 3.0, 4.0]
    rows = [{"run": str(s), "status": "complete", "scenario": "baseline", "seed": s,
             "profit__b": v} for s, v in enumerate(values)]  # fmt: skip
    r = _row(report(_summary(rows)), "baseline")
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1) / 2
    assert r["mean"] == 2.5
    assert r["ci_low"] == pytest.approx(2.5 - half) and r["ci_high"] == pytest.approx(2.5 + half)
    assert r["ci_low"] == pytest.approx(0.4457, abs=1e-4)


def test_report_intervals_cover_the_true_mean_and_difference_about_95_percent():
    """Many KPI columns of normal noise with known mean and paired difference."""
    rng = np.random.default_rng(7)
    kpis, n, mu, sd, d = 400, 12, 50.0, 4.0, 1.5
    base = rng.normal(mu, sd, size=(n, kpis))
    treat = base + d + rng.normal(0.0, 1.0, size=(n, kpis))  # correlated with its pair
    rows = []
    for scenario, values in (("baseline", base), ("treat", treat)):
        for s in range(n):
            row = {"run": f"{scenario}{s}", "status": "complete", "scenario": scenario, "seed": s}
            row.update({f"profit__b{j}": float(values[s, j]) for j in range(kpis)})
            rows.append(row)
    table = report(_summary(rows))
    b = table.filter(pl.col("scenario") == "baseline")
    t = table.filter(pl.col("scenario") == "treat")
    assert b.height == kpis and t.height == kpis
    cover_mean = ((b["ci_low"] <= mu) & (mu <= b["ci_high"])).mean()
    cover_diff = ((t["diff_low"] <= d) & (d <= t["diff_high"])).mean()
    # 95% nominal; 3 binomial standard errors at 400 intervals is about 0.033
    assert 0.915 <= cover_mean <= 0.985, cover_mean
    assert 0.915 <= cover_diff <= 0.985, cover_diff
    # pairing makes the difference sharper than the difference of two independent means
    width_diff = (t["diff_high"] - t["diff_low"]).mean()
    width_mean = (t["ci_high"] - t["ci_low"]).mean()
    assert width_diff < 0.5 * width_mean


def test_report_with_many_replicates_is_close_to_the_truth():
    rng = np.random.default_rng(3)
    n, mu, sd = 2000, 10.0, 2.0
    values = rng.normal(mu, sd, size=n)
    rows = [{"run": str(s), "status": "complete", "scenario": "baseline", "seed": s,
             "profit__b": float(v)} for s, v in enumerate(values)]  # fmt: skip
    r = _row(report(_summary(rows)), "baseline")
    assert r["ci_low"] < mu < r["ci_high"]
    assert (r["ci_high"] - r["ci_low"]) / 2 == pytest.approx(1.96 * sd / math.sqrt(n), rel=0.1)


def test_report_pairs_within_each_setting_and_skips_incomplete_runs():
    rows = []
    for price in (0.8, 1.0):
        for s in range(5):
            v = 100.0 * price + s
            rows.append({"run": f"b{price}{s}", "status": "complete", "scenario": "baseline",
                         "seed": s, "brands.a.price": price, "profit__b": v})  # fmt: skip
            rows.append({"run": f"t{price}{s}", "status": "complete", "scenario": "treat",
                         "seed": s, "brands.a.price": price, "profit__b": v + 10 * price})  # fmt: skip
    rows.append({"run": "bad", "status": "incomplete", "scenario": "treat", "seed": 9,
                 "brands.a.price": 0.8, "profit__b": None})  # fmt: skip
    table = report(_summary(rows))
    for price in (0.8, 1.0):
        t = _row(table, "treat", **{"brands.a.price": price})
        assert t["runs"] == 5 and t["pairs"] == 5
        assert t["diff"] == pytest.approx(10 * price)
        assert t["diff_low"] == pytest.approx(10 * price)
        assert t["diff_high"] == pytest.approx(10 * price)
        assert t["mean"] == pytest.approx(100 * price + 2 + 10 * price)


def _grid(seeds: int = 3) -> list[dict]:
    """A 2 x 3 grid over one scenario: k = 100 + 10 x (price - 1) x 10 + 5 x (net == 'b') + seed
    noise shared by every setting of a seed (common random numbers)."""
    rows = []
    for price in (1.0, 1.1, 1.2):
        for net in ("a", "b"):
            for s in range(seeds):
                k = 100 + 100 * (price - 1.0) + (5 if net == "b" else 0) + 7 * s
                rows.append({"run": f"{price}{net}{s}", "status": "complete",
                             "scenario": "baseline", "seed": s, "price": price,
                             "network": net, "profit__b": k + (0.5 if s == 1 else 0.0) * price})  # fmt: skip
    return rows


def test_report_on_a_grid_pairs_every_setting_with_the_first_by_seed():
    table = report(_summary(_grid()))
    first = _row(table, "baseline", price=1.0, network="a")
    assert first["reference"] and first["diff"] == 0.0
    t = _row(table, "baseline", price=1.2, network="b")
    assert not t["reference"] and t["pairs"] == 3
    assert t["diff"] == pytest.approx(25.0, abs=0.2) and t["diff_low"] > 0  # 20 + 5
    # a named reference: against price 1.2 on network a, by seed within each network
    other = report(_summary(_grid()), reference={"price": 1.2})
    r = _row(other, "baseline", price=1.0, network="b")
    assert r["diff"] == pytest.approx(-20.0, abs=0.2) and r["pairs"] == 3
    assert _row(other, "baseline", price=1.2, network="b")["reference"]
    from sim.sweeps.summary import ReportError

    with pytest.raises(ReportError, match="reference nosuch: not a swept key"):
        report(_summary(_grid()), reference={"nosuch": 1})


def test_report_names_a_clear_winner_only_when_its_interval_excludes_zero():
    from sim.sweeps.summary import clear_differences

    clear = clear_differences(report(_summary(_grid())))
    row = clear.filter(pl.col("kpi") == "profit").row(0, named=True)
    assert row["highest"] == "baseline, 1.2, b" and row["highest_low"] > 0
    # pure noise: no setting is named
    rng = np.random.default_rng(3)
    noise = [{**r, "profit__b": float(rng.normal(100, 5))} for r in _grid(seeds=4)]
    assert clear_differences(report(_summary(noise))).height == 0


def test_report_counts_incomplete_runs_and_keeps_a_setting_whose_runs_all_failed():
    rows = _grid()
    rows.append({"run": "late", "status": "incomplete", "scenario": "baseline", "seed": 3,
                 "price": 1.1, "network": "a", "profit__b": None})  # fmt: skip
    rows += [{"run": f"x{s}", "status": "incomplete", "scenario": "baseline", "seed": s,
              "price": 1.3, "network": "a", "profit__b": None} for s in range(3)]  # fmt: skip
    table = report(_summary(rows))
    assert _row(table, "baseline", price=1.1, network="a")["incomplete"] == 1
    lost = _row(table, "baseline", price=1.3, network="a")
    assert (lost["runs"], lost["incomplete"], lost["mean"]) == (0, 3, None)


def test_report_interval_contains_the_retention_closed_form(tmp_path):
    """Everyone starts a customer and leaves with probability 1 - r each step, so the
    expected customers after t steps are N r^t."""
    n, r, steps = 2000, 0.9, 10
    sweep_dir = tmp_path / "retention"
    ok(cli(tmp_path, "-m", "+experiment=retention", f"retention.r={r}", "seed=range(0,10)",
           f"market.customers={n}", f"sim.steps={steps}", f"hydra.sweep.dir={sweep_dir}"))  # fmt: skip
    summary = load_summary(sweep_dir)
    assert summary.height == 10 and (summary["status"] == "complete").all()
    row = _row(report(summary), "baseline", kpi="customers", brand="brand")
    expected = n * r**steps
    assert row["runs"] == 10
    assert row["ci_low"] <= expected <= row["ci_high"], (row, expected)
    sd = math.sqrt(n * r**steps * (1 - r**steps))
    assert row["ci_high"] - row["ci_low"] < 4 * 2.3 * sd / math.sqrt(10)  # not vacuously wide
    ret = _row(report(summary), "baseline", kpi="retention", brand="brand")
    assert ret["ci_low"] <= r**steps <= ret["ci_high"]


# -- resume and atomic writes -----------------------------------------------------------------------
def test_rerunning_a_sweep_recomputes_only_the_interrupted_run(tmp_path):
    sweep_dir = tmp_path / "resume"
    args = ("-m", "seed=0,1,2", "market.customers=1000", "sim.steps=15",
            f"hydra.sweep.dir={sweep_dir}")  # fmt: skip
    ok(cli(tmp_path, *args))
    runs = [sweep_dir / str(k) for k in range(3)]
    assert all(is_complete(r) for r in runs)
    mtimes = {r.name: (r / "metrics.parquet").stat().st_mtime_ns for r in runs}
    before = pl.read_parquet(runs[1] / "metrics.parquet")
    # run 1 was interrupted: no DONE and no metrics
    (runs[1] / DONE).unlink()
    (runs[1] / "metrics.parquet").unlink()
    assert not is_complete(runs[1])
    proc = ok(cli(tmp_path, *args))
    assert proc.stdout.count("skipped") == 2
    for k in (0, 2):
        assert (runs[k] / "metrics.parquet").stat().st_mtime_ns == mtimes[str(k)]
    assert is_complete(runs[1])
    # recomputed from the same seed: the same results
    assert pl.read_parquet(runs[1] / "metrics.parquet").equals(before)
    s = pl.read_parquet(sweep_dir / "summary.parquet")
    assert s.height == 3 and (s["status"] == "complete").all()


def _interrupting_write(self, file, *args, **kwargs):
    with open(file, "wb") as f:
        f.write(b"PAR1 half a parquet file")
    raise KeyboardInterrupt


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_interrupted_write_leaves_no_complete_looking_file(tmp_path, monkeypatch):
    frame = pl.DataFrame({"step": [0, 1], "customers": [10, 11]})
    target = tmp_path / "out" / "metrics.parquet"
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _interrupting_write)
    with pytest.raises(KeyboardInterrupt):
        write_parquet(frame, target)
    assert not target.exists()
    assert _temp_files(target.parent) == []


def test_interrupted_rewrite_keeps_the_old_file_and_marks_the_run_incomplete(tmp_path, monkeypatch):
    from sim import load_config, simulate

    result = simulate(load_config(["market.customers=200", "sim.steps=3"]))
    folder = tmp_path / "run"
    write_result(result, folder)
    assert is_complete(folder, result.config)
    old = (folder / "metrics.parquet").read_bytes()
    monkeypatch.setattr(pl.DataFrame, "write_parquet", _interrupting_write)
    with pytest.raises(KeyboardInterrupt):
        write_result(result, folder)
    assert (folder / "metrics.parquet").read_bytes() == old  # never half-overwritten
    assert not (folder / DONE).exists()
    assert not is_complete(folder)
    assert _temp_files(folder) == []


# -- launchers and sweep presets ------------------------------------------------------------------
def test_joblib_launcher_sweep_is_complete(tmp_path):
    sweep_dir = tmp_path / "joblib"
    ok(cli(tmp_path, "-m", "hydra/launcher=laptop", "hydra.launcher.n_jobs=2", "seed=0,1",
           "market.customers=1000", "sim.steps=10", f"hydra.sweep.dir={sweep_dir}"))  # fmt: skip
    s = pl.read_parquet(sweep_dir / "summary.parquet")
    assert s.height == 2 and (s["status"] == "complete").all()
    assert sorted(s["seed"].to_list()) == [0, 1]


@pytest.fixture
def ray_tmpdir():
    """A fresh, short Ray temp dir (Unix socket paths must stay short), so the test neither
    sees nor leaves Ray sessions of other processes."""
    path = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_ray_local_launcher_sweep_is_complete(tmp_path, ray_tmpdir):
    sweep_dir = tmp_path / "ray"
    ok(cli(tmp_path, "-m", "hydra/launcher=ray_local", "seed=0,1", "market.customers=1000",
           "sim.steps=10", f"hydra.sweep.dir={sweep_dir}", timeout=300,
           env={"RAY_TMPDIR": ray_tmpdir}))  # fmt: skip
    s = pl.read_parquet(sweep_dir / "summary.parquet")
    assert s.height == 2 and (s["status"] == "complete").all()
    assert sorted(s["seed"].to_list()) == [0, 1]


@pytest.mark.slow
def test_ray_local_launcher_starts_locally_after_a_ray_start(tmp_path, ray_tmpdir):
    # what 'ray start --head' leaves behind (the cluster may have been stopped since)
    (Path(ray_tmpdir) / "ray").mkdir()
    (Path(ray_tmpdir) / "ray" / "ray_current_cluster").write_text("127.0.0.1:6399")
    sweep_dir = tmp_path / "ray"
    ok(cli(tmp_path, "-m", "hydra/launcher=ray_local", "seed=0,1", "market.customers=1000",
           "sim.steps=10", f"hydra.sweep.dir={sweep_dir}", timeout=300,
           env={"RAY_TMPDIR": ray_tmpdir}))  # fmt: skip
    assert pl.read_parquet(sweep_dir / "summary.parquet").height == 2


def test_sweep_preset_runs_its_grid_without_dash_m(tmp_path):
    sweep_dir = tmp_path / "ad_split"
    ok(cli(tmp_path, "+experiment=sweep_ad_split", "seed=0", "market.customers=1000",
           "sim.steps=10", f"hydra.sweep.dir={sweep_dir}"))  # fmt: skip
    s = pl.read_parquet(sweep_dir / "summary.parquet")
    assert s.height == 5 and (s["status"] == "complete").all()
    assert "sweep.social_share" in s.columns
    assert sorted(s["sweep.social_share"].to_list()) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert (s["seed"] == 0).all()
    # the swept split reached each run's config
    import yaml

    for row in s.iter_rows(named=True):
        cfg = yaml.safe_load((sweep_dir / row["run"] / "config.yaml").read_text())
        reach = cfg["brands"]["challenger"]["ad_reach"]
        assert reach["social"] == pytest.approx(0.02 * row["sweep.social_share"])
        assert reach["tv"] + reach["social"] == pytest.approx(0.02)


def test_progress_writes_a_line_now_and_then_when_redirected(monkeypatch, capsys):
    from sim.sweeps import progress

    monkeypatch.setattr(progress, "LOG_EVERY", 0.0)
    with progress.step_progress(3, "runs") as advance:
        for k in (1, 2, 3):
            advance(k)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("journeysim: runs: 1/3 after") and "left" in lines[0]
    assert lines[-1].startswith("journeysim: runs: 3/3 after")
    with progress.step_progress(2, "journeysim optimise") as advance:
        advance(1)
    assert capsys.readouterr().err.startswith("journeysim optimise: 1/2 after")  # not doubled
    monkeypatch.setattr(progress, "LOG_EVERY", 60.0)  # a short job: nothing at all
    with progress.step_progress(3, "runs") as advance:
        advance(3)
    assert capsys.readouterr().err == ""


# -- what the report takes for a KPI, and repeated runs (issue 18) ---------------------------------
def test_report_keeps_a_swept_key_of_a_brand_named_with_a_double_underscore():
    """A brand ``a__b``: its KPIs are ``profit__a__b``, its price ``brands.a__b.price`` a key."""
    from sim.sweeps.summary import kpi_columns, swept_keys

    rows = [{"run": f"{p}{s}{note}", "status": "complete", "scenario": "baseline", "seed": s,
             "brands.a__b.price": p, "brands.a__b.note": note, "profit__a__b": 10 * p + s}
            for p in (0.8, 1.0) for s in range(3) for note in ("x", "y")]  # fmt: skip
    summary = _summary(rows)
    assert kpi_columns(summary) == ["profit__a__b"]
    assert "brands.a__b.price" in swept_keys(summary)
    assert "brands.a__b.note" in swept_keys(summary)  # text: a setting, never cast to a number
    table = report(summary)
    assert set(table["kpi"]) == {"profit"} and set(table["brand"]) == {"a__b"}
    r = _row(table, "baseline", brand="a__b", **{"brands.a__b.price": 1.0,
                                                 "brands.a__b.note": "y"})  # fmt: skip
    assert r["runs"] == 3 and r["diff"] == pytest.approx(2.0)


def test_report_counts_a_repeated_run_once():
    """``scenario=baseline,baseline``: the same overrides and seed twice are one run."""
    from sim.sweeps.summary import duplicate_runs

    rows = [{"run": f"{k}", "status": "complete", "scenario": "baseline", "seed": k % 2,
             "profit__b": float(k % 2)} for k in range(4)]  # fmt: skip
    summary = _summary(rows)
    assert duplicate_runs(summary) == [("2", "0"), ("3", "1")]
    r = _row(report(summary), "baseline")
    assert r["runs"] == 2 and r["mean"] == 0.5
