"""journeysim groundtruth: flighting plans, paired truth, MMM files, the check against the truth."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from sim.analysis import flighting

#: A short burn-in and one Numba thread (these tests check the tool, not the steady state).
SMALL = ("market.customers=1500", "sim.burn_in=20", "engine.threads=1")
CHANNELS = ("tv", "social", "search", "store")  # the incumbent's ad channels
PLANNED = ("tv", "social")  # the channels of the command's test (--channels)


# -- plans ------------------------------------------------------------------------------------
def test_generators_are_reproducible_and_shaped():
    m = flighting.generate("flights", {"on": 2, "off": 1, "level": 1.5}, 6, 3)
    # channel k's cycle is shifted by k * 3 // 3 = k weeks
    assert m[:, 0].tolist() == [1.5, 1.5, 0, 1.5, 1.5, 0]
    assert m[:, 1].tolist() == [1.5, 0, 1.5, 1.5, 0, 1.5]
    a = flighting.generate("random", {"sd": 0.5, "seed": 3}, 52, 2)
    assert np.array_equal(a, flighting.generate("random", {"sd": 0.5, "seed": 3}, 52, 2))
    assert not np.array_equal(a, flighting.generate("random", {"sd": 0.5, "seed": 4}, 52, 2))
    s = flighting.generate("steps", {"changes": 2, "low": 0.5, "high": 1.5, "seed": 0}, 20, 1)
    assert len(set(s[:, 0])) == 3 and s.min() >= 0.5 and s.max() <= 1.5
    b = flighting.generate("bursts", {"every": 4, "length": 1, "size": 3.0}, 8, 1)
    assert b[:, 0].tolist() == [3, 1, 1, 1, 3, 1, 1, 1]


def applied(events, weeks: int, regions: tuple = (None,)) -> np.ndarray:
    """Brand a's reach on tv, social, search, store (1 configured) per week under ``events``.

    Read at each week's first and last step (asserted equal); brand b stays as configured.
    ``regions``: the events' regions that act (``apply_events``; a region's tables take the
    events naming no region and those naming it).
    """
    from scenarios.events import Tables, apply_events

    out = np.zeros((weeks, 4))
    for week in range(1, weeks + 1):
        seen = []
        for t in ((week - 1) * 7 + 1, week * 7):
            tables = Tables(np.zeros((2, 9)), np.ones((2, 4)), *(np.ones((2, 4)),) * 3)
            apply_events(tables, events, t, ["a", "b"], ["tv", "social", "search", "store"],
                         regions=regions)  # fmt: skip
            assert tables.ad_reach[1].tolist() == [1] * 4  # brand b as configured
            seen.append(tables.ad_reach[0].copy())
        assert np.array_equal(*seen)
        out[week - 1] = seen[0]
    return out


def test_plan_compiles_to_events_that_reproduce_it():
    """Applying the compiled ad_burst events week by week gives back every multiplier."""
    rng = np.random.default_rng(1)
    m = rng.choice([0.0, 0.5, 1.0, 2.0], size=(9, 1, 3))
    m[2, 0, :], m[3:6, 0, :], m[6, 0, :] = 0.5, 2.0, 0.0  # weeks 4-6 at 2 everywhere: one event
    plan = flighting.Plan("a", ("tv", "social", "search"), ("national",), m, "test")
    events = flighting.events(plan, steps_per_week=7)
    assert sum(ev["start"] == 22 and ev["end"] == 43 for ev in events) == 1
    got = applied(events, 9)
    assert np.array_equal(got[:, :3], m[:, 0, :]) and (got[:, 3] == 1).all()


def test_a_counterfactual_changes_only_its_channels_events():
    """Every variant's events differ from the plan's only in the channel it is about."""
    from sim.analysis import truth

    m = flighting.generate("random", {"sd": 0.5, "seed": 0}, 6, 3)[:, None, :]
    plan = flighting.Plan("a", ("tv", "social", "search"), ("national",), m, "test")

    vs = truth.variants(plan, 0.2, (0.5, 2.0), 2.0, 2)
    assert [v.name for v in vs][:4] == ["base", "all_off", "off:tv", "step:tv"]
    base = applied(flighting.events(plan, 7), 6)
    for v in vs[2:]:
        got = applied(flighting.events(v.plan, 7), 6)
        changed = np.flatnonzero((got != base).any(axis=0))
        assert changed.tolist() == [plan.channels.index(v.channel)], v.name
    assert (applied(flighting.events(vs[1].plan, 7), 6)[:, :3] == 0).all()


REGIONS = ("north", "south", "west")


def test_generators_vary_by_region():
    """Independent draws per region (random, steps); flights and bursts shifted per region."""
    spec = {"sd": 0.5, "seed": 3}
    one = flighting.generate("random", spec, 20, 2)
    per = [flighting.generate("random", spec, 20, 2, r, 3) for r in range(3)]
    assert not np.array_equal(per[0], per[1]) and not np.array_equal(per[1], per[2])
    assert not np.array_equal(one, per[0])  # keyed [seed, k, r + 1], not the national [seed, k]
    assert np.array_equal(per[2], flighting.generate("random", spec, 20, 2, 2, 3))
    steps = {"changes": 2, "low": 0.5, "high": 1.5, "seed": 0}
    assert not np.array_equal(*(flighting.generate("steps", steps, 20, 1, r, 2) for r in (0, 1)))
    f = [flighting.generate("flights", {"on": 2, "off": 1, "level": 1.0}, 6, 1, r, 3)[:, 0]
         for r in range(3)]  # fmt: skip
    assert f[0].tolist() == [1, 1, 0, 1, 1, 0] and f[1].tolist() == [1, 0, 1, 1, 0, 1]
    assert f[2].tolist() == [0, 1, 1, 0, 1, 1]  # region r shifted by r * 3 // 3 weeks


def test_a_regional_plan_compiles_to_events_naming_their_regions():
    """Each region's events name it and reproduce its multipliers; no other region moves."""
    m = np.stack([flighting.generate("random", {"sd": 0.5, "seed": 1}, 5, 3, r, 3)
                  for r in range(3)], axis=1)  # fmt: skip
    plan = flighting.Plan("a", ("tv", "social", "search"), REGIONS, m, "test")
    events = flighting.events(plan, steps_per_week=7)
    assert events and {ev["region"] for ev in events} == set(REGIONS)
    assert applied(events, 5).tolist() == np.ones((5, 4)).tolist()  # no event is brand-wide
    for r, g in enumerate(REGIONS):
        got = applied(events, 5, (None, g))
        assert np.allclose(got[:, :3], m[:, r, :]) and (got[:, 3] == 1).all(), g
    # a geo holdout changes only its region's events
    held = plan.scaled_in("tv", "south", 0.0)
    for g in REGIONS:
        base, off = (applied(flighting.events(p, 7), 5, (None, g)) for p in (plan, held))
        changed = np.flatnonzero((base != off).any(axis=0)).tolist()
        assert changed == ([0] if g == "south" else []), g


def test_a_plan_file_region_column_is_honoured(tmp_path):
    """Rows naming a region set it only; rows without one set every region; spend per region."""
    path = tmp_path / "plan.csv"
    path.write_text("week,region,channel,spend\n1,south,tv,35\n2,,social,20\n")
    what, rows = flighting.read_file(path)
    unit = {(g, c): 10.0 * (k + 1) for k, g in enumerate(REGIONS) for c in CHANNELS}
    m = flighting.from_rows(what, rows, 2, CHANNELS, REGIONS, unit, str(path))
    expected = np.ones((2, 3, 4))
    expected[0, 1, 0] = 35 / 20  # south's week 1 of tv, by south's unit
    expected[1, :, 1] = [20 / 10, 20 / 20, 20 / 30]  # every region's social, by its own unit
    assert np.allclose(m, expected)
    yaml_plan = tmp_path / "plan.yaml"
    yaml_plan.write_text("multiplier:\n  west: {tv: [0, 2]}\n  social: [3]\n")
    what, rows = flighting.read_file(yaml_plan)
    m = flighting.from_rows(what, rows, 2, CHANNELS, REGIONS, unit, str(yaml_plan))
    assert m[:, 2, 0].tolist() == [0, 2] and m[0, :, 1].tolist() == [3, 3, 3]
    from sim.config import ConfigError

    path.write_text("week,region,channel,multiplier\n1,,tv,1\n1,west,tv,2\n")
    with pytest.raises(ConfigError, match="week 1, region west, channel tv given twice"):
        flighting.from_rows(*flighting.read_file(path), 2, CHANNELS, REGIONS, unit, str(path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("week,channel,multiplier\n0,tv,1\n", "week=0: must be in [1, 3]"),
        ("week,channel,multiplier\n1.5,tv,1\n", "week=1.5: must be an integer in [1, 3]"),
        ("week,channel,multiplier\n1,radio,1\n", "channel='radio': must be one the brand"),
        (
            "week,channel,multiplier\n1,tv,-1\n",
            "multiplier[week 1, tv]=-1: must be a number in [0, 10]",
        ),
        ("week,channel,spend\n1,tv,1e12\n", "spend[week 1, tv]=1000000000000.0: must be a number"),
        (
            "week,channel,multiplier\n1,tv,1\n1,tv,2\n",
            "week 1, region national, channel tv given twice",
        ),
        ("week,channel,spend,multiplier\n1,tv,1,1\n", "one of multiplier or spend"),
        ("week,channel,multiplier,note\n1,tv,1,x\n", "unknown column 'note'"),
        ("week,channel,region,multiplier\n1,tv,north,1\n", "region='north'"),
    ],
)
def test_bad_plan_files_are_refused_in_one_line(tmp_path, text, message):
    from sim.config import ConfigError

    plan = tmp_path / "plan.csv"
    plan.write_text(text)
    with pytest.raises(ConfigError) as info:
        what, rows = flighting.read_file(plan)
        flighting.from_rows(what, rows, 3, CHANNELS, ("national",), dict.fromkeys(CHANNELS, 5.0),
                            str(plan))  # fmt: skip
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_bad_plan_file_stops_the_command_in_one_line(tmp_path, capsys):
    from sim.cli import main

    plan = tmp_path / "plan.yaml"
    plan.write_text("multiplier:\n  tv: [1, 2, 30]\n")
    code = main(["groundtruth", "--weeks", "3", "--flighting", str(plan), "--out",
                 str(tmp_path / "o"), *SMALL])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "multiplier[week 3, tv]=30: must be a number in [0, 10]" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flighting", "random:sd=5"], "random.sd=5: must be a number in [0, 2]"),
        (["--flighting", "flights:width=2"], "'width' is not a parameter of flights"),
        (["--flighting", "wavy"], "'wavy' is not a generator"),
        (["--weeks", "0"], "--weeks 0: must be in [1, 520]"),
        (["--replicates", "101"], "--replicates 101: at most 100"),
        (["--curve", "1"], "--curve 1: must be in (0, 4]"),
        (["--jobs", "100000"], "--jobs 100000: at most"),
        (["sim.steps=10"], "sim.steps=10: set by groundtruth"),
    ],
)
def test_bad_options_are_refused_in_one_line(capsys, args, message):
    from sim.cli import main

    code = main(["groundtruth", *args, *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_yaml_plan_of_spend_is_read_as_multipliers(tmp_path):
    from sim import load_config

    cfg = load_config(list(SMALL))
    week = flighting.week_spend(cfg, "incumbent", "tv", 7)
    path = tmp_path / "plan.yaml"
    path.write_text(f"spend:\n  tv: [{week}, 0, {2 * week}]\n")
    plan = flighting.make_plan(cfg, "incumbent", str(path), 3, 7)
    assert plan.channels == CHANNELS
    assert plan.multipliers[:, 0, 0] == pytest.approx([1, 0, 2])
    assert (plan.multipliers[:, 0, 1:] == 1).all()


# -- the command ---------------------------------------------------------------------------
def _groundtruth(tmp_path, name, *args):
    from sim.cli import main

    out = tmp_path / name
    code = main(["groundtruth", "--out", str(out), *args])
    return code, out


def test_command_writes_paired_truth_and_loadable_files(tmp_path, capsys):
    """A world of 3 weeks: files, layouts, the truth's sums, pairing, reproducibility."""
    from sim.analysis import mmm_data

    plan = tmp_path / "plan.csv"  # tv off in week 1: its removal changes nothing there
    plan.write_text("week,channel,multiplier\n1,tv,0\n2,tv,2\n3,social,0.5\n")
    args = ["--weeks", "3", "--flighting", str(plan), "--replicates", "2", "--curve", "2",
            "--sample", "300", "--channels", "tv,social", "--jobs", "1", *SMALL]  # fmt: skip
    code, out = _groundtruth(tmp_path, "a", *args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    for f in ("mmm.parquet", "mmm.csv", "pymc_marketing.csv", "meridian.csv", "truth.parquet",
              "truth_channels.parquet", "curves.parquet", "carryover.parquet",
              "cross_brand.parquet", "plan.parquet", "paths.csv", "README.txt",
              "analysis.yaml"):  # fmt: skip
        assert (out / f).is_file(), f
    mmm = pl.read_csv(out / "mmm.csv")
    assert mmm.height == 3 and mmm["week"].to_list() == [1, 2, 3]
    assert mmm["region"].to_list() == ["national"] * 3
    assert mmm["date_week"].to_list() == ["2024-01-01", "2024-01-08", "2024-01-15"]
    for c in PLANNED:
        assert {f"spend_{c}", f"impressions_{c}"} <= set(mmm.columns)
    assert mmm["spend_tv"][0] == 0 and mmm["spend_tv"][1] > 0
    for b in ("incumbent", "challenger", "budget"):
        assert {f"acquisitions_{b}", f"customers_{b}", f"revenue_{b}", f"price_{b}"} <= set(
            mmm.columns
        )
    assert {"competitor_spend_challenger", "competitor_spend_budget"} <= set(mmm.columns)
    # PyMC-Marketing: X = data.drop(columns="y") holds the date, channel and control columns
    pymc = pl.read_csv(out / "pymc_marketing.csv")
    controls = ["competitor_spend_challenger", "competitor_spend_budget"]
    assert pymc.columns == ["date_week", "y", *PLANNED, *controls, "t"]
    assert pymc["y"].to_list() == pytest.approx(mmm["revenue_incumbent"].to_list())
    # Meridian's national layout: time, <c>_impression, <c>_spend, controls, kpi columns
    meridian = pl.read_csv(out / "meridian.csv")
    assert meridian.columns == ["time", *(f"{c}_impression" for c in PLANNED),
                                *(f"{c}_spend" for c in PLANNED), *controls, "conversions",
                                "revenue_per_conversion"]  # fmt: skip
    readme = (out / "README.txt").read_text()
    plan_ = flighting.Plan("incumbent", PLANNED, ("national",), np.ones((3, 1, 2)), "")
    assert mmm_data.loading(plan_, "revenue", controls) in readme
    # the truth per week sums to the channel totals; tv's removal changes nothing in week 1
    # (seed 0's plan run traces customers and its counterfactual does not: tracing changes no
    # result)
    truth = pl.read_parquet(out / "truth.parquet")
    channels = pl.read_parquet(out / "truth_channels.parquet")
    assert set(channels["channel"]) == set(PLANNED)
    for row in channels.iter_rows(named=True):
        weekly = truth.filter(
            (pl.col("channel") == row["channel"])
            & (pl.col("brand") == "incumbent")
            & (pl.col("kpi") == "revenue")
        )
        assert weekly["incremental"].sum() == pytest.approx(row["contribution_revenue"])
    week1 = truth.filter((pl.col("channel") == "tv") & (pl.col("week") == 1))
    assert week1.height == 9 and (week1["incremental"] == 0).all()  # 3 brands x 3 KPIs
    assert (week1["incremental_low"] == 0).all() and (week1["spend"] == 0).all()
    curves = pl.read_parquet(out / "curves.parquet")
    assert sorted(set(curves["multiplier"])) == [0.0, 0.8, 1.0, 2.0]
    zero = curves.filter(pl.col("multiplier") == 0)
    assert (zero["spend"] == 0).all() and (zero["incremental_revenue"] == 0).all()
    paths = pl.read_csv(out / "paths.csv", schema_overrides={"path": pl.Utf8})
    assert int(paths["conversions"].sum() + paths["nulls"].sum()) == 300
    # the same command gives the same data (one seed: the data are the first seed's run)
    one = [a if a != "2" or k == 0 or args[k - 1] != "--replicates" else "1"
           for k, a in enumerate(args)]  # fmt: skip
    code, again = _groundtruth(tmp_path, "b", *one)
    assert code == 0
    for f in ("mmm.csv", "pymc_marketing.csv", "meridian.csv", "paths.csv"):
        assert (out / f).read_bytes() == (again / f).read_bytes(), f
    assert pl.read_parquet(out / "mmm.parquet").equals(pl.read_parquet(again / "mmm.parquet"))


#: No word of mouth, no churn, one brand; an ad on tv or social (reach p each, awareness and
#: consideration 1) makes a customer adopt at once. Events compete for one draw a step, so a
#: customer not yet adopted adopts with probability 2p a step (p with one channel removed).
BASS_N, BASS_P, BASS_WEEKS = 20_000, 0.0005, 4
BASS = ("+experiment=bass", "bass.q=0", f"bass.p={BASS_P}", f"market.customers={BASS_N}",
        "channels.social.awareness=1.0", "channels.social.consideration=1.0",
        f"brands.brand.ad_reach.social={BASS_P}", "engine.threads=1")  # fmt: skip


def test_truth_is_additive_and_matches_the_closed_form_without_word_of_mouth(tmp_path, capsys):
    """ROAS known in closed form, T = 28 steps, q = 1 - 2p (not adopted, a step):

    adopters(both) = N (1 - q^T); adopters(one channel) = N (1 - (1 - p)^T), so a channel's
    contribution is ``N ((1 - p)^T - q^T)``; its impressions are ads seen before adopting,
    ``N p (1 - q^T) / (2p)``, and its spend those times the channel's cost. Additivity: the two
    contributions sum to ``2 N ((1 - p)^T - q^T)`` against ``N (1 - q^T)`` together, a ratio of
    0.9926 (no saturation to speak of: 1 - 0.0074).
    """
    from sim import load_config

    reps = 3
    code, out = _groundtruth(tmp_path, "bass", "--weeks", str(BASS_WEEKS), "--flighting",
                             "constant", "--brand", "brand", "--kpi", "acquisitions",
                             "--replicates", str(reps), "--curve", "2", "--sample", "0",
                             "--jobs", "1", *BASS)  # fmt: skip
    assert code == 0, capsys.readouterr().err
    cfg = load_config(list(BASS))
    n, p, t = BASS_N, BASS_P, 7 * BASS_WEEKS
    q = 1 - 2 * p
    each = n * ((1 - p) ** t - q**t)
    ch = pl.read_parquet(out / "truth_channels.parquet")
    assert set(ch["channel"]) == {"tv", "social"}
    sd = math.sqrt(each * (1 - each / n) / reps)  # binomial: customers only one channel won
    for row in ch.iter_rows(named=True):
        assert abs(row["contribution_acquisitions"] - each) < 4 * sd, row
        spend = n * p * (1 - q**t) / (2 * p) * float(cfg.channels[row["channel"]].cost)
        assert row["spend"] == pytest.approx(spend, rel=0.1)
        assert row["acquisitions_per_spend"] == pytest.approx(each / spend, rel=0.12)
        # no saturation: the marginal return equals the average within sampling error
        assert row["marginal_acquisitions_per_spend"] == pytest.approx(
            row["acquisitions_per_spend"], rel=0.25
        )
    import yaml

    ratio = yaml.safe_load((out / "analysis.yaml").read_text())["additivity"]["acquisitions"]
    assert ratio == pytest.approx(2 * each / (n * (1 - q**t)), abs=0.03)


# -- the check -----------------------------------------------------------------------------
def test_check_reproduces_a_hand_computed_error_table(tmp_path, capsys):
    """Estimates 2.0, 0.5, 1.0, 0.2 against true ROAS 1.5, 0.6, 0.4, 0.3.

    errors 0.5, -0.1, 0.6, -0.1: MAE 1.3 / 4 = 0.325; relative 1/3, -1/6, 1.5, -1/3: MAPE
    (1/3 + 1/6 + 3/2 + 1/3) / 4 = 7/12; ranks 4 2 3 1 against 4 3 2 1: d^2 = 2, Spearman
    1 - 6 * 2 / (4 * 15) = 0.8; intervals [1, 3], [0.4, 0.55], [0.8, 1.2], [0.1, 0.3] hold
    the truth for tv and store (bounds included): coverage 0.5.
    """
    from sim.cli import main

    truth = pl.DataFrame({"channel": ["tv", "social", "search", "store"],
                          "roas": [1.5, 0.6, 0.4, 0.3], "roas_low": [1.4, 0.5, 0.3, 0.2],
                          "roas_high": [1.6, 0.7, 0.5, 0.4],
                          "contribution_revenue": [10.0, 20.0, 30.0, 40.0],
                          "contribution_revenue_low": [9.0, 19.0, 29.0, 39.0],
                          "contribution_revenue_high": [11.0, 21.0, 31.0, 41.0]})  # fmt: skip
    truth.write_parquet(tmp_path / "truth_channels.parquet")
    model = tmp_path / "model.csv"
    model.write_text("channel,roas,roas_low,roas_high\ntv,2.0,1.0,3.0\nsocial,0.5,0.4,0.55\n"
                     "search,1.0,0.8,1.2\nstore,0.2,0.1,0.3\n")  # fmt: skip
    code = main(["groundtruth", "--check", str(model), "--out", str(tmp_path / "c")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    table = pl.read_csv(tmp_path / "c" / "check.csv")
    assert table["channel"].to_list() == ["tv", "social", "search", "store"]
    assert table["error"].to_list() == pytest.approx([0.5, -0.1, 0.6, -0.1])
    assert table["abs_error"].to_list() == pytest.approx([0.5, 0.1, 0.6, 0.1])
    assert table["relative_error"].to_list() == pytest.approx([1 / 3, -1 / 6, 1.5, -1 / 3])
    assert table["covered"].to_list() == [True, False, False, True]
    import yaml

    s = yaml.safe_load((tmp_path / "c" / "check.yaml").read_text())
    assert s["mae"] == pytest.approx(0.325) and s["mape"] == pytest.approx(7 / 12)
    assert s["spearman"] == pytest.approx(0.8) and s["coverage"] == 0.5
    assert "MAE 0.325, MAPE 58.3%, Spearman rank correlation 0.8" in captured.out
    # contributions without intervals; channels must match the truth's
    model.write_text("channel,contribution\ntv,12\nsocial,20\nsearch,27\nstore,40\n")
    assert main(["groundtruth", "--check", str(model)]) == 0
    assert "MAE 1.25" in capsys.readouterr().out
    model.write_text("channel,contribution\ntv,12\nradio,1\n")
    assert main(["groundtruth", "--check", str(model)]) == 2
    err = capsys.readouterr().err
    assert "channel 'radio' of the model is not in the truth" in err
    assert len(err.strip().splitlines()) == 1
    model.write_text("channel,contribution\ntv,abc\n")
    assert main(["groundtruth", "--check", str(model)]) == 2
    assert "contribution must hold numbers" in capsys.readouterr().err


# -- regions -------------------------------------------------------------------------------
#: Three regions (regions=example) without word of mouth: nothing but ads reaches a customer
#: from elsewhere, so a channel removed in one region leaves the others' rows as they were.
GEO = ("regions=example", "wom.talk_rate=0", *SMALL)


def test_regional_world_sums_to_the_market_and_a_geo_lift_stays_in_its_region(tmp_path, capsys):
    """Per-region rows sum to the market's; a geo holdout moves only its region (paired)."""
    plan = tmp_path / "plan.csv"  # tv doubled in the north in week 1, off in the south in week 2
    plan.write_text("week,region,channel,multiplier\n1,north,tv,2\n2,south,tv,0\n")
    code, out = _groundtruth(tmp_path, "geo", "--weeks", "2", "--flighting", str(plan),
                             "--channels", "tv", "--curve", "", "--replicates", "1",
                             "--sample", "0", "--jobs", "2", *GEO)  # fmt: skip
    assert code == 0, capsys.readouterr().err
    mmm = pl.read_csv(out / "mmm.csv")
    assert mmm["region"].to_list() == ["all", *REGIONS] * 2
    parts, total = mmm.filter(pl.col("region") != "all"), mmm.filter(pl.col("region") == "all")
    summed = [c for c in mmm.columns if c.startswith(("spend_", "impressions_", "acquisitions_",
                                                      "customers_", "revenue_", "competitor_"))]  # fmt: skip
    sums = parts.group_by("week").agg(pl.col(summed).sum()).sort("week")
    for c in [*summed, "population"]:
        expected = total[c].to_list() if c != "population" else [1500, 1500]
        got = sums[c].to_list() if c != "population" else parts.group_by("week").agg(
            pl.col("population").sum()).sort("week")["population"].to_list()  # fmt: skip
        assert got == pytest.approx(expected), c
    south = mmm.filter(pl.col("region") == "south")
    assert south["spend_tv"][1] == 0 and south["spend_tv"][0] > 0
    # Meridian's geo layout: the regions' rows, geo, time, population first
    meridian = pl.read_csv(out / "meridian.csv")
    controls = ["competitor_spend_challenger", "competitor_spend_budget"]
    assert meridian.columns == ["geo", "time", "population", "tv_impression", "tv_spend",
                                *controls, "conversions", "revenue_per_conversion"]  # fmt: skip
    assert meridian["geo"].to_list() == list(REGIONS) * 2
    assert meridian["conversions"].to_list() == pytest.approx(parts["revenue_incumbent"].to_list())
    pymc = pl.read_csv(out / "pymc_marketing.csv")  # the national sum, as a market of one
    assert pymc.columns == ["date_week", "y", "tv", *controls, "t"] and pymc.height == 2
    geo = pl.read_csv(out / "pymc_marketing_geo.csv")
    assert geo.columns == ["date_week", "geo", "y", "tv", *controls, "t"] and geo.height == 6
    # the truth: regions' rows sum to the market's
    truth = pl.read_parquet(out / "truth.parquet")
    keys = ["channel", "week", "brand", "kpi"]
    mine = truth.filter(pl.col("region") != "all").group_by(keys).agg(
        pl.col("incremental", "spend").sum())  # fmt: skip
    joined = truth.filter(pl.col("region") == "all").join(mine, on=keys, suffix="_regions")
    assert joined.height == 2 * 3 * 3
    assert joined["incremental_regions"].to_list() == pytest.approx(joined["incremental"].to_list())
    assert joined["spend_regions"].to_list() == pytest.approx(joined["spend"].to_list())
    regions = pl.read_parquet(out / "truth_regions.parquet")
    assert regions["region"].to_list() == list(REGIONS)
    lift = pl.read_parquet(out / "geo_lift.parquet")
    assert lift["region"].to_list() == list(REGIONS)
    for row in lift.iter_rows(named=True):
        # without word of mouth nothing crosses regions: the others' rows are unchanged
        assert row["spillover_acquisitions"] == 0 and row["spillover_revenue"] == 0, row
        assert row["total_revenue"] == pytest.approx(row["lift_revenue"])
        assert row["spend_removed"] > 0
    # ... and removing tv everywhere is, read in a region, removing it there only
    assert lift["lift_revenue"].to_list() == pytest.approx(
        regions["contribution_revenue"].to_list()
    )
    assert lift["spend_removed"].to_list() == pytest.approx(regions["spend"].to_list())
    assert "REGIONS" in (out / "README.txt").read_text()
