"""Events targeted at a segment (issue 19): ``segment: NAME`` on a scenario event.

"Acts only on that segment's customers" means: the event changes only the tables the targeted
segment's customers read (``Tables.segment_tables``); every other customer reads exactly the
tables of the run without the event. Customers of other segments can still feel the event
through what connects customers: word of mouth (and, when switched on, review ratings and
service queues). So: in the event's first step every other customer moves exactly as without
it; and with word of mouth off (the only connection in this market) every other segment's
rows are bit-identical to the run without the event over the whole run.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import run

from sim import ConfigError, load_config
from sim.config import finalise
from sim.engine.model import JourneyModel

SMALL = ("market.customers=3000", "sim.steps=30", "sim.burn_in=20", "seed=3", "segments=example")
OUTAGE = ("scenario=service_outage", "scenario.events.0.start=5", "scenario.events.0.end=25")
TARGET = "+scenario.events.0.segment=digital_natives"
OTHERS = ("mainstream", "traditional", "price_hunters")
STATE = ("stage", "brand", "last_brand", "aware", "consider", "attitude", "satisfaction",
         "expectation", "tenure", "flags", "grudge", "last_touch", "voice")  # fmt: skip


def _model(*overrides: str) -> JourneyModel:
    return JourneyModel(finalise(load_config(list(overrides))))


def _rows(result, segment: str) -> pl.DataFrame:
    return result.segments.filter(pl.col("segment") == segment)


def test_segment_tables_change_only_the_targeted_layer():
    """q_sbc = q_bc m_sbc: the targeted layer is the untargeted outage's table, the rest baseline."""
    plain = _model(*SMALL, *OUTAGE)
    targeted = _model(*SMALL, *OUTAGE, TARGET)
    base = _model(*SMALL)
    hit = plain.tables_at(5).segment_tables()
    own = targeted.tables_at(5).segment_tables()
    none = base.tables_at(5).segment_tables()
    for k in range(3):
        assert np.array_equal(own[k][0], hit[k][0])  # digital_natives: the outage
        assert np.array_equal(own[k][1:], none[k][1:])  # the others: no outage
    assert not np.array_equal(own[0][0], none[0][0])
    # the brand's own tables (shared by everyone) are untouched by a targeted event
    assert np.array_equal(targeted.tables_at(6).service_quality, base.tables_at(6).service_quality)


def test_an_event_targeted_at_every_segment_is_the_untargeted_event():
    """One outage per segment, all at once, gives the bits of the one untargeted outage."""
    names = ("digital_natives", *OTHERS)
    ev = "{kind: service_outage, brand: incumbent, channels: [app, service], severity: 0.8, "
    per_segment = ", ".join(f"{ev}start: 5, end: 25, segment: {s}}}" for s in names)
    every = run(*SMALL, f"scenario.events=[{per_segment}]")
    plain = run(*SMALL, *OUTAGE)
    assert every.metrics.equals(plain.metrics)
    assert every.segments.equals(plain.segments)


def test_other_segments_move_as_without_the_event_in_its_first_step():
    """At the event's first step every customer outside the segment ends as without it."""
    base = _model(*SMALL)
    targeted = _model(*SMALL, *OUTAGE, TARGET)
    base.run(5)
    targeted.run(5)
    seg = base.customers.segment
    assert np.array_equal(seg, targeted.customers.segment)
    outside, inside = seg != 0, seg == 0
    moved = False
    for name in STATE:
        a, b = getattr(base.customers, name), getattr(targeted.customers, name)
        assert np.array_equal(a[outside], b[outside]), name
        moved = moved or not np.array_equal(a[inside], b[inside])
    assert moved  # the digital natives met the outage


@pytest.mark.parametrize("engine", ["numba", "mesa"])
def test_without_word_of_mouth_other_segments_are_bit_identical(engine):
    """No word of mouth: the other segments' rows equal the run without the event, every step."""
    setup = [*SMALL, "wom.talk_rate=0", f"engine={engine}"]
    if engine == "mesa":
        setup += ["market.customers=600", "sim.steps=12", "sim.burn_in=5"]
    outage = [*OUTAGE[:2], "scenario.events.0.end=null"]
    base = run(*setup)
    targeted = run(*setup, *outage, TARGET)
    for s in OTHERS:
        assert _rows(targeted, s).equals(_rows(base, s)), s
    hit, before = _rows(targeted, "digital_natives"), _rows(base, "digital_natives")
    assert hit["failures"].sum() > before["failures"].sum()
    assert not targeted.metrics.equals(base.metrics)  # the brand totals include the segment


def test_targeted_friction_reduction_acts_on_its_segment_only():
    """A one-click purchase for the traditional segment: only its customers buy differently.

    The investment is the brand's, shared out over segments by customers like every
    programme cost, so the other segments' cost and profit columns carry their part of it.
    """
    setup = [*SMALL, "wom.talk_rate=0"]
    base = run(*setup)
    targeted = run(*setup, "scenario=one_click_purchase", "scenario.events.0.start=2",
                   "+scenario.events.0.segment=traditional")  # fmt: skip
    costs = ("programme_cost", "profit", "discounted_profit", "profit_per_customer", "clv")
    for s in ("digital_natives", "mainstream", "price_hunters"):
        assert _rows(targeted, s).drop(costs).equals(_rows(base, s).drop(costs)), s
        assert (_rows(targeted, s)["programme_cost"] >= _rows(base, s)["programme_cost"]).all()
    assert (
        not _rows(targeted, "traditional")
        .drop(costs)
        .equals(_rows(base, "traditional").drop(costs))
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ((TARGET.replace("digital_natives", "young"),),
         "scenario.events[0].segment=young: must be one of digital_natives, mainstream, "
         "traditional, price_hunters"),
        (("scenario=price_war", "+scenario.events.0.segment=mainstream"),
         "scenario.events[0].segment=mainstream: a price_change event cannot target a segment "
         "(only service_outage, friction_reduction can)"),
    ],
)  # fmt: skip
def test_bad_event_segments_fail_with_one_line(overrides, message):
    setup = list(SMALL) if "price_war" in overrides[0] else [*SMALL, *OUTAGE]
    with pytest.raises(ConfigError) as err:
        load_config([*setup, *overrides])
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_the_default_market_names_its_one_segment():
    """On the default market the one segment is ``everyone``: targeting it is the event."""
    setup = ("market.customers=2000", "sim.steps=20", "sim.burn_in=10", "seed=2", *OUTAGE)
    assert run(*setup, "+scenario.events.0.segment=everyone").metrics.equals(run(*setup).metrics)
    with pytest.raises(ConfigError, match=r"segment=digital_natives: must be one of everyone$"):
        load_config([*setup, TARGET])


# -- a what-if whose effect differs by segment ---------------------------------------------
def test_an_app_outage_hurts_the_digital_segment_most_in_the_report(tmp_path, capsys):
    """The app down for 50 days: ``journeysim report --by segment`` shows whose churn rose.

    Digital natives do 70% of their service in the app, traditional customers 5%
    (``conf/segments/example.yaml``), so the same outage (on everyone) raises the digital
    segment's churn clearly and the traditional one's hardly: the digital rise's paired 95%
    interval lies above the traditional rise's whole interval (8,000 customers, 3 seeds; the
    gap is about 5 points of annual churn against intervals of +-3 and +-0.5).
    """
    import yaml

    from sim.cli import main
    from sim.sweeps.io import write_result
    from sim.sweeps.summary import write_summary

    market = ["market.customers=8000", "sim.steps=60", "sim.burn_in=60", "segments=example"]
    app_down = ["scenario=service_outage", "scenario.events.0.channels=[app]",
                "scenario.events.0.severity=1.0", "scenario.events.0.start=5",
                "scenario.events.0.end=55"]  # fmt: skip
    k = 0
    for scenario in (["scenario=baseline"], app_down):
        for seed in range(3):
            folder = tmp_path / str(k)
            (folder / ".hydra").mkdir(parents=True)
            swept = [scenario[0], f"seed={seed}"]  # as a multirun records its sweep
            (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(swept))
            write_result(run(*market, *scenario, f"seed={seed}"), folder)
            k += 1
    write_summary(tmp_path)
    assert main(["report", str(tmp_path), "--by", "segment", "--kpi", "churn_rate"]) == 0
    assert "incumbent / digital_natives" in capsys.readouterr().out
    table = pl.read_parquet(tmp_path / "report.parquet").filter(
        (pl.col("scenario") == "service_outage") & (pl.col("brand") == "incumbent")
        & (pl.col("kpi") == "churn_rate")
    )  # fmt: skip
    digital = table.filter(pl.col("segment") == "digital_natives").row(0, named=True)
    traditional = table.filter(pl.col("segment") == "traditional").row(0, named=True)
    assert digital["diff_low"] > 0.0  # a clear rise
    assert digital["diff_low"] > traditional["diff_high"]  # clearly larger than theirs
    assert digital["diff"] > 5 * traditional["diff"]
