"""The command line as a user meets it: ``python -m sim`` runs, errors, subcommands.

Every call runs in a fresh process in a tmp folder with ``hydra.run.dir`` or
``hydra.sweep.dir`` pointing into it, so nothing is written in the repo.
"""

from __future__ import annotations

import shutil
import subprocess

import polars as pl
import pytest
from clitools import cli
from omegaconf import OmegaConf

BRANDS = ("incumbent", "challenger", "budget")
LIBRARY = ("baseline", "service_outage", "price_war", "new_entrant", "chatbot_rollout",
           "loyalty_programme", "viral_campaign", "pr_crisis")  # fmt: skip
APP_MESSAGE = "brands.challenger.service_quality.app=1.7: must be between 0 and 1"


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed command (asserting there is exactly one)."""
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return lines[0]


# -- a single run -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def single(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    run_dir = root / "run"
    proc = cli(root, "market.customers=1500", "sim.steps=20", f"hydra.run.dir={run_dir}")
    return root, run_dir, proc


def test_single_run_writes_results_and_prints_the_kpi_table(single):
    root, run_dir, proc = single
    assert proc.returncode == 0, proc.stderr
    for name in ("metrics.parquet", "stages.parquet", "flows.parquet", "config.yaml", "DONE"):
        assert (run_dir / name).is_file(), name
    m = pl.read_parquet(run_dir / "metrics.parquet")
    assert m.height == 21 * len(BRANDS)
    stages = pl.read_parquet(run_dir / "stages.parquet")
    assert (stages.group_by("step").agg(pl.col("customers").sum())["customers"] == 1500).all()
    assert pl.read_parquet(run_dir / "flows.parquet").height > 0
    cfg = OmegaConf.load(run_dir / "config.yaml")
    assert cfg.market.customers == 1500 and cfg.sim.steps == 20
    assert "hydra" not in cfg
    assert "${" not in (run_dir / "config.yaml").read_text()  # resolved
    for b in BRANDS:
        assert b in proc.stdout
    assert "retention" in proc.stdout and "revenue" in proc.stdout
    # nothing but the run dir was written (no outputs/ or multirun/ in the working dir)
    assert sorted(p.name for p in root.iterdir()) == ["run"]


def test_rerun_into_the_same_dir_is_skipped(single):
    root, run_dir, first = single
    assert first.returncode == 0
    mtime = (run_dir / "metrics.parquet").stat().st_mtime_ns
    proc = cli(root, "market.customers=1500", "sim.steps=20", f"hydra.run.dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout
    assert (run_dir / "metrics.parquet").stat().st_mtime_ns == mtime
    assert "incumbent" in proc.stdout  # the table is still printed


def test_rerun_with_another_config_into_the_same_dir_recomputes(single, tmp_path):
    _, run_dir, first = single
    assert first.returncode == 0
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    before = pl.read_parquet(copy / "metrics.parquet")
    done = (copy / "DONE").read_text()
    proc = cli(tmp_path, "market.customers=1500", "sim.steps=20", "seed=1", f"hydra.run.dir={copy}")
    assert proc.returncode == 0, proc.stderr
    assert "skipped" not in proc.stdout
    assert (copy / "DONE").read_text() != done
    assert not pl.read_parquet(copy / "metrics.parquet").equals(before)
    assert OmegaConf.load(copy / "config.yaml").seed == 1


def test_scenario_run_works(tmp_path):
    run_dir = tmp_path / "pw"
    proc = cli(tmp_path, "scenario=price_war", "market.customers=1500", "sim.steps=50",
               f"hydra.run.dir={run_dir}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "price_war" in proc.stdout
    cfg = OmegaConf.load(run_dir / "config.yaml")
    assert cfg.scenario.name == "price_war"
    m = pl.read_parquet(run_dir / "metrics.parquet")
    assert m.filter((pl.col("brand") == "budget") & (pl.col("step") == 50))["price"].item() < 0.7


def test_scenario_with_its_event_after_the_run_warns_and_runs(tmp_path):
    # price_war's cut is on day 30: a 20-step run never reaches it (a warning, not an error)
    proc = cli(tmp_path, "scenario=price_war", "market.customers=1500", "sim.steps=20",
               f"hydra.run.dir={tmp_path / 'pw'}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "journeysim: warning: scenario.events[0]: starts at step 30" in proc.stderr
    assert (tmp_path / "pw" / "DONE").is_file()


# -- errors: one line, no traceback, no folder -----------------------------------------------------
def test_bad_value_stops_with_one_line_and_no_run_dir(tmp_path):
    proc = cli(tmp_path, "brands.challenger.service_quality.app=1.7",
               f"hydra.run.dir={tmp_path / 'bad'}")  # fmt: skip
    line = one_line_error(proc)
    assert APP_MESSAGE in line
    assert line == f"journeysim: error: {APP_MESSAGE}"
    assert not (tmp_path / "bad").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_bad_value_in_a_multirun_stops_before_any_run(tmp_path):
    proc = cli(tmp_path, "-m", "seed=0,1", "wom.talk_rate=0.1,1.5",
               f"hydra.sweep.dir={tmp_path / 'sw'}")  # fmt: skip
    line = one_line_error(proc)
    assert "wom.talk_rate=1.5: must be between 0 and 1" in line
    assert not (tmp_path / "sw").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "override, key",
    [("market.custmers=5", "market.custmers"), ("brands.incumbent.prcie=1", "prcie"),
     ("market.customers=abc", "market.customers")],
)  # fmt: skip
def test_misspelt_key_or_wrong_type_gives_one_line(tmp_path, override, key):
    proc = cli(tmp_path, override, f"hydra.run.dir={tmp_path / 'bad'}")
    line = one_line_error(proc)
    assert line.startswith("journeysim: error:")
    assert key in line
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args",
    [("hydra/launcher=nosuch",),
     ("-m", "hydra/launcher=laptop", "hydra.launcher.n_jobs=abc", "seed=0,1")],
    ids=["unknown-launcher", "launcher-wrong-type"],
)  # fmt: skip
def test_bad_hydra_override_gives_one_line(tmp_path, args):
    proc = cli(tmp_path, *args, "market.customers=100", "sim.steps=2",
               f"hydra.run.dir={tmp_path / 'r'}", f"hydra.sweep.dir={tmp_path / 's'}")  # fmt: skip
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()
    line = one_line_error(proc)
    assert line.startswith("journeysim: error:")


@pytest.mark.parametrize(
    "override",
    [
        "market.custmers=5",
        "brands.challenger.service_quality.app=1.7",
    ],
)
def test_debug_shows_a_traceback(tmp_path, override):
    proc = cli(tmp_path, override, "--debug", f"hydra.run.dir={tmp_path / 'bad'}")
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args",
    [
        ("hydra.callbacks.summary._target_=os.system",),
        ("+hydra.callbacks.evil._target_=os.system",),
        ("-m", "seed=0,1", "hydra.callbacks.summary._target_=builtins.exec"),
        ("+hydra.callbacks.evil={_target_: os.system, command: 'touch pwned'}",),
    ],
    ids=["override", "new-callback", "multirun", "dict-value"],
)
def test_override_setting_a_target_is_refused(tmp_path, args):
    proc = cli(tmp_path, *args, "market.customers=100", "sim.steps=2",
               f"hydra.run.dir={tmp_path / 'r'}", f"hydra.sweep.dir={tmp_path / 's'}")  # fmt: skip
    line = one_line_error(proc)
    assert "hydra.callbacks" in line and "cannot be set" in line
    assert list(tmp_path.iterdir()) == []  # no folder, and no 'pwned' file


# -- subcommands ------------------------------------------------------------------------------------
def test_scenarios_lists_the_library_with_descriptions(tmp_path):
    proc = cli(tmp_path, "scenarios")
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0] and cells[0] not in ("name",):
            rows[cells[0]] = cells[1]
    assert len(rows) >= 8, proc.stdout
    for name in LIBRARY:
        assert name in rows, name
        assert len(rows[name]) > 10, name  # a real description, not an empty cell
    assert list(tmp_path.iterdir()) == []


def test_report_on_a_missing_folder_fails_in_one_line(tmp_path):
    proc = cli(tmp_path, "report", str(tmp_path / "nope"))
    line = one_line_error(proc)
    assert line.startswith("journeysim: error:") and "nope" in line


def test_report_on_a_corrupt_summary_fails_in_one_line(tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "summary.parquet").write_bytes(b"PAR1\x00\x01garbage, not a parquet file\xff" * 20)
    proc = cli(tmp_path, "report", str(sweep))
    line = one_line_error(proc)
    assert line.startswith("journeysim: error:") and "summary.parquet" in line
    assert sorted(p.name for p in sweep.iterdir()) == ["summary.parquet"]  # no report written


def test_report_on_an_empty_folder_fails_in_one_line(tmp_path):
    proc = cli(tmp_path, "report", str(tmp_path))
    line = one_line_error(proc)
    assert line.startswith("journeysim: error:")


# -- journeysim compare ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["seed=3"], "seed is set by --replicates"),
        (["--scenarios", "nosuch"], "scenario/nosuch"),
        (["--change", "brands.incumbent.price=-1"], "brands.incumbent.price=-1: must be between"),
        (["--replicates", "0"], "--replicates 0: must be between 1 and 1000"),
        (["--chan", "wom.talk_rate=0.2"], "--chan"),  # no abbreviated options
    ],
)
def test_compare_refuses_bad_input_in_one_line_before_any_work(tmp_path, args, says):
    done = cli(tmp_path, "compare", *args, "--out", "out")
    assert done.returncode == 2
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_compare_runs_a_what_if_against_the_baseline_and_keeps_finished_runs(tmp_path):
    args = ["compare", "--change", "brands.budget.price=0.5", "--replicates", "2",
            "market.customers=500", "sim.steps=20", "sim.burn_in=10", "--out", "out", "--jobs", "1"]  # fmt: skip
    done = cli(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    table = pl.read_parquet(tmp_path / "out" / "report.parquet")
    assert set(table["scenario"]) == {"baseline", "levers"}
    cut = table.filter((pl.col("scenario") == "levers") & (pl.col("kpi") == "revenue")
                       & (pl.col("brand") == "budget")).row(0, named=True)  # fmt: skip
    assert cut["pairs"] == 2 and cut["diff"] < 0  # half the price, paired by seed
    # made today: the what-if's config holds the change, its market is the baseline's
    ran = OmegaConf.load(tmp_path / "out" / "3" / "config.yaml")
    assert ran.scenario.name == "levers" and ran.brands.budget.price == 0.7
    assert ran.scenario.changes == {"brands.budget.price": 0.5}
    stamp = (tmp_path / "out" / "0" / "metrics.parquet").stat().st_mtime_ns
    again = cli(tmp_path, *args)
    assert again.returncode == 0
    assert (tmp_path / "out" / "0" / "metrics.parquet").stat().st_mtime_ns == stamp  # kept
    command = (tmp_path / "out" / "command.txt").read_text()
    assert command.startswith("journeysim compare --baseline baseline --replicates 2 --change")


def test_report_help_and_a_bad_reference_are_plain(tmp_path):
    done = cli(tmp_path, "report", "--help")
    assert done.returncode == 0 and "95% intervals" in done.stdout and "%%" not in done.stdout
    bad = cli(tmp_path, "report", str(tmp_path), "--reference", "price")
    assert bad.returncode == 2 and "--reference price: must be KEY=VALUE" in bad.stderr


def test_attribute_truth_help_names_the_folder_it_writes(tmp_path):
    done = cli(tmp_path, "attribute", "--truth", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "outputs/attribute/<date>/<time>" in text
    assert "the same for every candidate (default 5)" in text  # the truth's intervals need seeds


# -- report and scenarios: bad arguments in one line (issue 18) ------------------------------------
def _sweep_summary(folder, repeat: bool = False):
    """A sweep folder holding only a summary: baseline and treat on seeds 0 and 1."""
    rows = [{"run": f"{sc}{s}", "status": "complete", "scenario": sc, "seed": s,
             "profit__b": float(s + (sc == "treat"))}
            for sc in ("baseline", "treat") for s in (0, 1)]  # fmt: skip
    if repeat:  # scenario=baseline,baseline: the same overrides and seed again
        rows += [{**r, "run": f"again{r['run']}"} for r in rows if r["scenario"] == "baseline"]
    folder.mkdir()
    pl.DataFrame(rows).write_parquet(folder / "summary.parquet")
    return folder


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("journeysim: error:"), err
    return err


@pytest.mark.parametrize(
    ("kpis", "shown"),
    [(["nope"], "'nope'"), ([""], "''"), (["profit", "nope"], "'nope'")],
)
def test_report_refuses_an_unknown_kpi_listing_the_valid_ones(tmp_path, capsys, kpis, shown):
    from sim.cli import main

    sweep = _sweep_summary(tmp_path / "sweep")
    args = [a for k in kpis for a in ("--kpi", k)]
    assert main(["report", str(sweep), *args]) == 2
    err = _one_error_line(capsys)
    assert f"--kpi {shown}: not a KPI" in err and "customers, share" in err and "profit" in err
    assert not (sweep / "report.parquet").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["report", "--bogus"], "unrecognized arguments: --bogus"),
        (["report"], "required: sweep_dir"),
        (["scenarios", "--bogus-flag"], "unrecognized arguments: --bogus-flag"),
        (["scenarios", "anything"], "unrecognized arguments: anything"),
    ],
)
def test_report_and_scenarios_refuse_bad_arguments_in_one_line(capsys, args, says):
    from sim.cli import main

    assert main(args) == 2
    err = _one_error_line(capsys)
    assert says in err and args[0] in err and "usage:" not in err


def test_report_counts_repeated_runs_once_and_says_so(tmp_path, capsys):
    from sim.cli import main

    sweep = _sweep_summary(tmp_path / "sweep", repeat=True)
    assert main(["report", str(sweep)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("journeysim: warning: 2 run(s) repeat"), err
    assert "counted once" in err
    table = pl.read_parquet(sweep / "report.parquet")
    assert set(table["runs"]) == {2}
