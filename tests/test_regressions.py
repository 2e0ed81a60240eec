"""Regression tests for problems found in review (each was reproduced before the fix)."""

from __future__ import annotations

import polars as pl
import pytest
from clitools import cli

from sim import ConfigError, load_config, simulate
from sim.sweeps.io import fingerprint

SMALL = ["market.customers=400", "sim.steps=12"]


def test_preset_sweep_is_validated_before_launch(tmp_path):
    # sweep_service_wom sweeps wom.talk_rate up to 0.2: leave room for 0.1 but not for 0.2
    cfg = load_config([])
    reach = sum(sum(b.ad_reach.values()) for b in cfg.brands.values())
    m, s = cfg.market, cfg.service
    others = (reach + s.contact_rate + s.complaint_contact + m.journey.forget_rate * 3
              + m.category.turnover + max(m.category.entry_rate, m.category.exit_rate))  # fmt: skip
    usage = round(1.0 - others - 0.15, 6)
    sweep = tmp_path / "cs"
    proc = cli(tmp_path, "+experiment=sweep_service_wom", f"market.journey.usage_rate={usage}",
               "market.customers=300", f"hydra.sweep.dir={sweep}")  # fmt: skip
    assert proc.returncode == 2
    assert "wom.talk_rate 0.2 " in proc.stderr and "must be at most 1" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not sweep.exists()


def test_reused_sweep_folder_summarises_only_the_new_runs(tmp_path):
    sweep = tmp_path / "sw"
    for seeds in ("0,1,2", "5,6"):
        proc = cli(tmp_path, "-m", f"seed={seeds}", *SMALL, f"hydra.sweep.dir={sweep}")
        assert proc.returncode == 0, proc.stderr
    summary = pl.read_parquet(sweep / "summary.parquet")
    assert sorted(summary["seed"].to_list()) == [5, 6]


def test_service_investment_stops_at_its_cap_after_an_outage():
    cfg = load_config([
        *SMALL, "sim.steps=40",
        "scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.9, start: 2, end: 20}]",
        "brands.incumbent.responses=[{kind: service_investment, nps_below: 100, quality_step: 0.05, max_quality: 0.9}]",
    ])  # fmt: skip
    from sim.engine.model import JourneyModel

    model = JourneyModel(cfg)
    model.run()
    quality = model.tables_at(40).service_quality[0]
    assert quality.max() <= 0.9 + 1e-12


def test_seed_beyond_64_bits_is_a_config_error():
    with pytest.raises(ConfigError, match=r"^seed=18446744073709551616: must be between 0 and"):
        load_config(["seed=18446744073709551616"])


def test_config_name_option_runs(tmp_path):
    proc = cli(tmp_path, "--config-name", "config", *SMALL, f"hydra.run.dir={tmp_path / 'r'}")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "r" / "metrics.parquet").is_file()


def test_report_refuses_a_missing_baseline(tmp_path):
    sweep = tmp_path / "sw"
    assert cli(tmp_path, "-m", "seed=0,1", *SMALL, f"hydra.sweep.dir={sweep}").returncode == 0
    proc = cli(tmp_path, "report", str(sweep), "--baseline", "baselin")
    assert proc.returncode != 0
    assert "baselin" in proc.stderr and "Traceback" not in proc.stderr


def test_brand_missing_from_the_baseline_has_no_difference():
    from sim import dashboard as dash

    runs = []
    for label in ("baseline", "new_entrant"):
        cfg = load_config([f"scenario={label}", "market.customers=400", "sim.steps=130"])
        runs.append((label, 0, simulate(cfg).metrics))
    table = dash.comparison_table(runs, "baseline")
    newco_base = table.filter((pl.col("scenario") == "baseline") & (pl.col("brand") == "newco"))
    assert newco_base["diff"].null_count() == newco_base.height


@pytest.mark.parametrize(
    "override, key",
    [
        (["market.traits.price_sensitivity.dist=constant",
          "market.traits.price_sensitivity.mean=-3"], "market.traits.price_sensitivity.mean=-3"),
        (["market.traits.wom_activity.dist=constant", "market.traits.wom_activity.mean=1.5"],
         "market.traits.wom_activity.mean=1.5"),
        (["network.kind=watts_strogatz", "network.mean_degree=1", "market.customers=2"],
         "market.customers=2"),
    ],
)  # fmt: skip
def test_more_bounds(override, key):
    with pytest.raises(ConfigError, match=f"^{key}:"):
        load_config(override)


def test_entrant_with_an_initial_share_is_refused():
    with pytest.raises(ConfigError, match=r"a (new entrant|brand) launched after step 0"):
        load_config(["scenario=new_entrant", "brands.newco.initial_share=0.1"])


def test_thread_count_does_not_change_the_run_identity():
    a = load_config(["engine.threads=1"])
    b = load_config(["engine.threads=2"])
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(load_config(["seed=1"]))
