"""journeysim journeys and attribute --truth: paths from touchpoints, the weekly mix, the truth."""

from __future__ import annotations

import polars as pl
import pytest

from sim.analysis.attribution import markov_attribution
from sim.analysis.journeys import aggregate_paths, customer_paths, truth_table, weekly_mix

CHANNELS = ("tv", "social", "search", "reviews", "store", "app", "service")
SCHEMA = {
    "step": pl.Int32,
    "customer": pl.Int64,
    "touch": pl.Utf8,
    "brand": pl.Utf8,
    "channel": pl.Utf8,
    "stage": pl.Utf8,
}


def touchpoints(*rows) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


#: Three traced customers: 7 converts to b after an ad and a conversation (a later ad does
#: not count); 9 sees news and a b ad but never converts; 12 is a customer of a at the start,
#: uses it, and switches to b on the day of a search ad.
TOUCHES = touchpoints(
    (0, 7, "start", None, None, "aware"),
    (1, 7, "ad", "b", "tv", "aware"),
    (3, 7, "word_of_mouth", "b", None, "considering"),
    (4, 7, "ad", "a", "social", "considering"),
    (5, 7, "acquired", "b", None, "customer"),
    (8, 7, "ad", "b", "tv", "customer"),
    (0, 9, "start", None, None, "unaware"),
    (2, 9, "news", "a", "reviews", "aware"),
    (6, 9, "ad", "b", "social", "aware"),
    (0, 12, "start", "a", None, "customer"),
    (1, 12, "usage", "a", None, "customer"),
    (2, 12, "service", "a", "app", "customer"),
    (4, 12, "ad", "b", "search", "customer"),
    (4, 12, "churned", "a", None, "customer"),
    (4, 12, "acquired", "b", None, "customer"),
)


def test_paths_end_at_the_first_conversion():
    paths = customer_paths(TOUCHES)
    rows = {r["customer"]: r for r in paths.iter_rows(named=True)}
    assert rows[7]["path"] == "tv > word_of_mouth > social" and rows[7]["converted"]
    assert rows[7]["conversion_step"] == 5
    assert rows[9]["path"] == "news:reviews > social" and not rows[9]["converted"]
    assert rows[12]["path"] == "search" and rows[12]["converted"]


def test_paths_of_one_brand_and_more_touchpoints():
    only_a = {r["customer"]: r for r in customer_paths(TOUCHES, brand="a").iter_rows(named=True)}
    assert only_a[7]["path"] == "social" and not only_a[7]["converted"]
    assert only_a[9]["path"] == "news:reviews"
    everything = customer_paths(
        TOUCHES, touches=("ad", "news", "word_of_mouth", "service", "usage")
    )
    rows = {r["customer"]: r["path"] for r in everything.iter_rows(named=True)}
    assert rows[12] == "usage > service:app > search"


def test_identical_paths_are_counted():
    per_customer = pl.DataFrame(
        {
            "customer": [1, 2, 3, 4],
            "path": ["tv", "tv", "tv", ""],
            "converted": [True, False, True, False],
        }
    )
    assert aggregate_paths(per_customer).rows() == [("tv", 2, 1), ("", 0, 1)]


def test_weekly_mix_sums_days_into_weeks():
    channels = pl.DataFrame(
        {
            "step": [1, 7, 8, 1],
            "brand": ["a", "a", "a", "b"],
            "channel": ["tv"] * 4,
            "impressions": [10, 20, 30, 5],
            "spend": [0.1, 0.2, 0.3, 0.05],
            "news": [0, 1, 0, 0],
            "conversions": [1, 0, 2, 0],
        }
    )
    mix = weekly_mix(channels, 7)
    assert mix.columns == [
        "week",
        "brand",
        "channel",
        "spend",
        "impressions",
        "news",
        "conversions",
    ]
    a = mix.filter(pl.col("brand") == "a").sort("week")
    assert a["week"].to_list() == [1, 2] and a["impressions"].to_list() == [30, 30]
    assert a["spend"].to_list() == pytest.approx([0.3, 0.3])


def test_truth_table_compares_removal_effects():
    markov = markov_attribution(
        pl.DataFrame(
            {"path": ["tv > search", "tv", "search"], "conversions": [1, 0, 1], "nulls": [0, 1, 1]}
        )
    )
    # two seeds: 10 and 20 conversions; without tv 8 and 14, without search 5 and 10
    table = truth_table(markov, [10, 20], {"tv": [8, 14], "search": [5, 10]})
    rows = {r["channel"]: r for r in table.iter_rows(named=True)}
    assert rows["tv"]["true_removal_effect"] == pytest.approx(8 / 30)
    assert rows["search"]["true_removal_effect"] == pytest.approx(15 / 30)
    assert rows["tv"]["markov_removal_effect"] == pytest.approx(1 / 3)
    assert rows["tv"]["error"] == pytest.approx(1 / 3 - 8 / 30)
    assert rows["search"]["true_lost"] == 15 and rows["tv"]["true_lost"] == 8
    assert rows["tv"]["true_share"] == pytest.approx(8 / 23)
    assert rows["tv"]["markov_share"] == pytest.approx((1 / 3) / (1 / 3 + 1))
    # per-seed removal effects 0.2 and 0.3: their t half-width around the pooled 8/30
    low, high = rows["tv"]["true_removal_effect_low"], rows["tv"]["true_removal_effect_high"]
    assert (low + high) / 2 == pytest.approx(8 / 30)
    assert high - low == pytest.approx(2 * 12.706 * 0.05, rel=1e-3)  # se = 0.1 / 2
    assert table["channel"].to_list() == ["search", "tv"]


# -- end to end on the engine's traces ---------------------------------------------------------
#: A short burn-in (these tests check the tools, not the steady state) and one Numba thread
#: (the tests share the cores with other work; results do not depend on it).
SMALL = ("market.customers=1500", "sim.steps=42", "sim.burn_in=20", "engine.threads=1")


def test_journeys_command_writes_paths_and_the_weekly_mix(tmp_path, capsys):
    from sim import load_config, simulate
    from sim.cli import main

    out = tmp_path / "j"
    code = main(
        [
            "journeys",
            "--sample",
            "300",
            "--replicates",
            "2",
            "--jobs",
            "1",
            "--out",
            str(out),
            *SMALL,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "600 customers traced" in captured.out
    paths = pl.read_csv(out / "paths.csv", schema_overrides={"path": pl.Utf8})
    assert paths.columns == ["path", "conversions", "nulls"]
    assert int(paths["conversions"].sum() + paths["nulls"].sum()) == 600  # each customer once
    assert paths["path"].n_unique() == paths.height  # identical paths counted together
    labels = {s for p in paths["path"].fill_null("").to_list() for s in p.split(" > ") if s}
    assert labels and all(
        lbl in CHANNELS or lbl == "word_of_mouth" or lbl.startswith("news:") for lbl in labels
    )
    # the conversions are the traced customers' first acquisitions, seed by seed
    expected = 0
    for seed in (0, 1):
        tp = simulate(load_config([*SMALL, "sim.trace=300", f"seed={seed}"])).touchpoints
        acquired = tp.filter((pl.col("touch") == "acquired") & (pl.col("step") >= 1))
        expected += acquired["customer"].n_unique()
    assert int(paths["conversions"].sum()) == expected
    mix = pl.read_parquet(out / "mix.parquet")
    assert mix.columns == [
        "seed",
        "week",
        "brand",
        "channel",
        "spend",
        "impressions",
        "news",
        "conversions",
    ]
    assert sorted(mix["week"].unique()) == list(range(1, 7))  # 42 days
    run = simulate(load_config([*SMALL, "seed=0"])).channels
    assert mix.filter(pl.col("seed") == 0)["spend"].sum() == pytest.approx(run["spend"].sum())
    assert "word_of_mouth" in mix["channel"].to_list()


def test_truth_is_the_conversions_lost_with_a_channels_ads_off(tmp_path, capsys):
    from sim import load_config, simulate
    from sim.cli import main

    out = tmp_path / "t"
    # one seed, so the truth can be recomputed below from single runs (the default is 5)
    code = main(["attribute", "--truth", "--replicates", "1", "--jobs", "2", "--out", str(out),
                 *SMALL])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    truth = pl.read_parquet(out / "truth.parquet")
    assert {
        "channel",
        "markov_removal_effect",
        "true_removal_effect",
        "true_removal_effect_low",
        "true_removal_effect_high",
        "markov_lost",
        "true_lost",
        "markov_share",
        "true_share",
        "error",
        "share_error",
    } <= set(truth.columns)
    cfg = load_config(list(SMALL))
    advertised = {
        c for c in cfg.channels if any(cfg.brands[b].ad_reach.get(c, 0) > 0 for b in cfg.brands)
    }
    assert set(truth["channel"]) == advertised
    # the truth of one channel, computed independently: every customer traced, same seed
    channel = truth["channel"][0]
    off = [
        f"brands.{b}.ad_reach.{channel}=0" for b in cfg.brands if channel in cfg.brands[b].ad_reach
    ]

    def conversions(*extra: str) -> int:
        tp = simulate(load_config([*SMALL, "sim.trace=1500", *extra])).touchpoints
        return tp.filter((pl.col("touch") == "acquired") & (pl.col("step") >= 1))[
            "customer"
        ].n_unique()

    base = conversions()
    row = truth.row(0, named=True)
    assert row["true_lost"] == base - conversions(*off)
    assert row["true_removal_effect"] == pytest.approx(row["true_lost"] / base)
    markov = pl.read_parquet(out / "attribution.parquet")
    assert row["markov_removal_effect"] == pytest.approx(
        markov.filter(pl.col("channel") == channel)["removal_effect"][0]
    )
    assert row["error"] == pytest.approx(row["markov_removal_effect"] - row["true_removal_effect"])
    paths = pl.read_csv(out / "paths.csv", schema_overrides={"path": pl.Utf8})
    assert int(paths["conversions"].sum()) == base
    assert "mean absolute error" in captured.out
    # the gap between credit and effect, the tool's most useful finding, in one line
    gap = float(truth["markov_lost"].sum()) / float(truth["true_lost"].sum())
    assert f"{gap:.1f} times the" in captured.out
