"""Changes made today for one region or segment (``scenario.target``, issue 19 part 3).

With word of mouth off the regions and segments do not talk to each other, so a targeted
change leaves everyone else's rows exactly as the baseline's, and the targeted group's rows
exactly as an untargeted change's. Untargeted runs are unchanged: a hash of every result
frame of six markets (default; a regional, segmented change; a segment outage; a price war
with rivals' responses over 60 steps; the capacity service rule with a change; the mesa
engine on a regional change) was the same before and after targets were added.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import run

from sim import ConfigError, load_config
from sim.engine.model import JourneyModel

QUIET = ("market.customers=3000", "sim.steps=20", "sim.burn_in=10", "seed=1",
         "regions=example", "segments=example", "wom.talk_rate=0")  # fmt: skip
CUT = "++scenario.changes={brands.budget.price: 0.5}"
NORTH = "scenario.target.region=north"
APP = "++scenario.changes={brands.incumbent.service_quality.app: 0.2}"
DIGITAL = "scenario.target.segment=digital_natives"
COLS = ["step", "brand", "customers", "acquired", "churned", "contacts", "failures", "revenue",
        "price", "ad_spend", "service_cost", "acquisition_cost", "profit"]  # fmt: skip


def _rows(result, by: str, name: str) -> pl.DataFrame:
    """A group's rows; a segment's ``price`` is the brand's (its customers' regions weigh it)."""
    frame = result.regions if by == "region" else result.segments
    cols = COLS if by == "region" else [c for c in COLS if c != "price"]
    return frame.filter(pl.col(by) == name).select(cols)


@pytest.mark.parametrize(
    ("change", "target", "by", "aimed", "others"),
    [
        (CUT, NORTH, "region", "north", ("south", "west")),
        (APP, DIGITAL, "segment", "digital_natives", ("mainstream", "traditional")),
    ],
    ids=["price cut in north", "app service for digital natives"],
)
def test_a_targeted_change_acts_on_its_group_only(change, target, by, aimed, others):
    """Others' rows are the baseline's, the group's the untargeted change's (no word of mouth)."""
    base, aim, everyone = run(*QUIET), run(*QUIET, change, target), run(*QUIET, change)
    assert not _rows(base, by, aimed).equals(_rows(aim, by, aimed))
    assert _rows(aim, by, aimed).equals(_rows(everyone, by, aimed))
    for name in others:
        assert _rows(aim, by, name).equals(_rows(base, by, name)), name
    # the untargeted change reaches them: the target is what keeps them as they were
    assert any(not _rows(everyone, by, n).equals(_rows(base, by, n)) for n in others)


def test_the_targeted_region_pays_its_own_price_and_costs():
    """North pays 0.5 (factor 1) for budget from step 1; its acquisition cost is its own."""
    aim = run(*QUIET, CUT, NORTH)
    north = aim.regions.filter((pl.col("region") == "north") & (pl.col("brand") == "budget"))
    assert np.allclose(north.filter(pl.col("step") >= 1)["price"], 0.5)
    cost = "++scenario.changes={brands.incumbent.acquisition_cost: 50.0}"
    paid = run(*QUIET, cost, NORTH)
    rows = paid.regions.filter(pl.col("brand") == "incumbent")
    per = rows.group_by("region").agg(pl.col("acquisition_cost").sum(), pl.col("acquired").sum())
    per = {r["region"]: r for r in per.iter_rows(named=True)}
    assert per["north"]["acquisition_cost"] == pytest.approx(50.0 * per["north"]["acquired"])
    assert per["south"]["acquisition_cost"] < 50.0 * per["south"]["acquired"]
    brand = paid.metrics.filter(pl.col("brand") == "incumbent")["acquisition_cost"].sum()
    assert brand == pytest.approx(rows["acquisition_cost"].sum())  # totals stay consistent


def test_ad_reach_for_one_segment_is_paid_for_its_impressions_only():
    more = "++scenario.changes={brands.challenger.ad_reach.social: 0.02}"
    base, aim = run(*QUIET), run(*QUIET, more, DIGITAL)
    spend = {n: aim.segments.filter(pl.col("segment") == n)["ad_spend"].sum()
             for n in ("digital_natives", "mainstream")}  # fmt: skip
    was = {n: base.segments.filter(pl.col("segment") == n)["ad_spend"].sum()
           for n in ("digital_natives", "mainstream")}  # fmt: skip
    assert spend["digital_natives"] > was["digital_natives"]
    assert spend["mainstream"] == was["mainstream"]
    total = aim.metrics.filter(pl.col("brand") == "challenger")["ad_spend"].sum()
    seg = aim.segments.filter(pl.col("brand") == "challenger")["ad_spend"].sum()
    assert total == pytest.approx(seg)


def _kernel(*overrides: str, t: int = 3) -> tuple[np.ndarray, ...]:
    model = JourneyModel(load_config(["market.customers=1500", "sim.steps=10", "sim.burn_in=0",
                                      "regions=example", "segments=example", *overrides]))  # fmt: skip
    return model.kernel_tables(model.tables_at(t))


def test_region_and_segment_together_change_one_cell():
    """Only cell (north, digital_natives) reads the changed friction; it reads the change's."""
    change = "++scenario.changes={brands.incumbent.friction.app: 0.01}"
    base, aim = _kernel(), _kernel(change, NORTH, DIGITAL)
    everyone = _kernel(change)
    cell = 0  # north is region 0, digital_natives segment 0: cell 0
    for k in (1, 2, 3, 4):  # exposure, quality, resolution, friction per cell
        assert np.array_equal(np.delete(base[k], cell, axis=0), np.delete(aim[k], cell, axis=0))
        assert np.array_equal(aim[k][cell], everyone[k][cell])
    assert not np.array_equal(base[4][cell], aim[4][cell])
    assert np.array_equal(base[0], aim[0])  # brand tables: every region's own


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            (CUT, "scenario.target.region=east"),
            "scenario.target.region=east: unknown region: must be one of north, south, west",
        ),
        (
            (APP, "scenario.target.segment=students"),
            "scenario.target.segment=students: unknown "
            "segment: must be one of digital_natives, mainstream, traditional, price_hunters",
        ),
        ((NORTH,), "scenario.target={region=north}: a target needs scenario.changes"),
        (
            (CUT, DIGITAL),
            "scenario.changes.brands.budget.price: cannot change for one segment "
            r"\(segment=digital_natives\): .* a segment may change brands' ad_reach",
        ),
        (
            ("++scenario.changes={wom.talk_rate: 0.2}", NORTH),
            "scenario.changes.wom.talk_rate: "
            r"cannot change for one region \(region=north\): it is market-wide",
        ),
        (
            ("++scenario.changes={brands.incumbent.service_spend: 0.1}", NORTH),
            "service_spend: cannot change for one region .*service desk",
        ),
    ],
    ids=["region", "segment", "no changes", "price for a segment", "market-wide", "desk"],
)
def test_bad_targets_fail_with_one_line(overrides, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_config(["regions=example", "segments=example", *overrides])
    assert "\n" not in str(err.value)


def test_a_target_that_is_everyone_is_an_untargeted_change():
    small = ("market.customers=2000", "sim.steps=10", "sim.burn_in=5")
    a = run(*small, CUT, "scenario.target.region=everywhere")
    b = run(*small, CUT)
    assert a.metrics.equals(b.metrics)


def test_compare_plans_keep_the_target_and_refuse_it_long_run():
    from sim.cli.compare import planned_jobs
    from sim.sweeps import plan

    jobs = planned_jobs(["--change", "brands.budget.price=0.5", "--change", NORTH,
                         "--replicates", "1", "regions=example"])  # fmt: skip
    levers = [j for j in jobs if j.label == plan.LEVERS_LABEL][0]
    assert NORTH in levers.overrides
    assert "++scenario.changes={brands.budget.price: 0.5}" in levers.overrides
    cfg = load_config(list(levers.overrides))
    assert cfg.scenario.target.region == "north" and cfg.scenario.changes
    command = plan.compare_command("baseline", [], 1, ["brands.budget.price=0.5", NORTH])
    assert f"--change {NORTH}" in command
    with pytest.raises(ConfigError, match="a target needs changes made today"):
        plan.variants("baseline", [], ["brands.budget.price=0.5", NORTH], long_run=True)
    with pytest.raises(ConfigError, match="a target needs changes"):
        plan.variants("baseline", [], [NORTH])


def test_mesa_engine_acts_on_the_targeted_region_only():
    """The readable engine reads the same targeted tables: others' rows stay the baseline's."""
    small = ("engine=mesa", "market.customers=400", "sim.steps=6", "sim.burn_in=3", "seed=2",
             "regions=example", "wom.talk_rate=0")  # fmt: skip
    base, aim, everyone = run(*small), run(*small, CUT, NORTH), run(*small, CUT)
    for name in ("south", "west"):
        assert _rows(aim, "region", name).equals(_rows(base, "region", name)), name
    assert _rows(aim, "region", "north").equals(_rows(everyone, "region", "north"))
    north = aim.regions.filter((pl.col("region") == "north") & (pl.col("brand") == "budget"))
    assert np.allclose(north.filter(pl.col("step") >= 1)["price"], 0.5)


def test_report_by_region_shows_a_targeted_price_cut_with_intervals(tmp_path, capsys):
    """journeysim compare with a target, then report --by region: north moves, south does not."""
    from sim.cli import main

    out = tmp_path / "cmp"
    args = ["compare", "--replicates", "3", "--change", "brands.budget.price=0.5",
            "--change", NORTH, "--out", str(out), "--jobs", "1", "market.customers=3000",
            "sim.steps=40", "sim.burn_in=20", "regions=example", "wom.talk_rate=0"]  # fmt: skip
    assert main(args) == 0
    assert NORTH in (out / "command.txt").read_text()
    capsys.readouterr()
    assert main(["report", str(out), "--by", "region", "--kpi", "customers"]) == 0
    assert "budget / north" in capsys.readouterr().out
    table = pl.read_parquet(out / "report.parquet").filter(
        (pl.col("brand") == "budget") & pl.col("reference").not_() & (pl.col("kpi") == "customers")
    )
    north = table.filter(pl.col("region") == "north")
    south = table.filter(pl.col("region") == "south")
    assert north["diff_low"].item() > 0.0, north
    assert south["diff"].item() == 0.0 and south["diff_high"].item() == 0.0, south


def test_targeted_runs_do_not_depend_on_threads():
    small = ("market.customers=4000", "sim.steps=6", "sim.burn_in=4", "regions=example",
             "segments=example", APP, NORTH, DIGITAL)  # fmt: skip
    a, b = run(*small, "engine.threads=1"), run(*small, "engine.threads=2")
    for name in ("metrics", "channels", "segments", "regions"):
        assert getattr(a, name).equals(getattr(b, name)), name
