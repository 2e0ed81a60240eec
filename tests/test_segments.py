"""Segments (issue 19): who the customers are, drawn as configured, with results by segment.

The default (``conf/segments/default.yaml``, one segment) leaves every result as it was; a
segmented market draws its shares and traits as configured, places segments on the network
by homophily, and reports rows per segment whose counts and money sum to the brand rows.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from conftest import BRANDS, run

from sim import ConfigError, load_config
from sim.config.errors import ConfigWarning
from sim.engine.metrics import ALL_SEGMENTS, brand_rows, metrics_file
from sim.engine.network import build_network
from sim.engine.segments import build_segments, draw_segments, exposure_by_segment
from sim.engine.state import build_customers, build_market

SMALL = ("market.customers=3000", "sim.steps=20", "sim.burn_in=20", "seed=3")
EXAMPLE = ("segments=example",)
NAMES = ("digital_natives", "mainstream", "traditional", "price_hunters")
SHARES = np.array([0.30, 0.40, 0.20, 0.10])
COUNTS = (
    "aware", "considering", "customers", "acquired", "acquired_wom", "churned", "churned_hazard",
    "churned_shock", "churned_switch", "churned_exit", "lapsed", "promoters", "passives",
    "detractors", "contacts", "failures", "recovered", "complaints", "reviews",
    *(f"ltr_{k}" for k in range(11)),
)  # fmt: skip
MONEY = ("revenue", "ad_spend", "service_cost", "programme_cost", "acquisition_cost", "profit",
         "discounted_revenue", "discounted_profit")  # fmt: skip


def _frames_equal(a, b) -> None:
    for name in ("metrics", "channels", "stages", "flows", "retention", "tenure"):
        assert getattr(a, name).equals(getattr(b, name)), name


# -- the default is the market as it was ------------------------------------------------------
def test_default_segments_leave_results_unchanged():
    """segments=default, an explicit one-segment copy of the market, and no segments node agree.

    (Against the code before segments, the same runs gave the same bytes: checked when
    segments were added, by a hash of every result frame of four markets.)
    """
    default = run(*SMALL)
    explicit = run(
        *SMALL, "+segments.groups.everyone.traits.wom_activity={mean: 0.5}",
        "+segments.groups.everyone.service={store: 0.4, app: 0.35, service: 0.25}",
        "+segments.groups.everyone.attention.tv=3.0",  # one segment: normalised back to 1
    )  # fmt: skip
    _frames_equal(default, explicit)
    assert default.segments.is_empty() and default.segment_frames == {}
    assert "segment" not in default.metrics.columns
    assert list(load_config(list(SMALL)).segments.groups) == ["everyone"]


def test_a_config_without_segments_runs_as_the_default():
    from omegaconf import OmegaConf

    from sim import simulate

    cfg = load_config(list(SMALL))
    data = OmegaConf.to_container(cfg)
    data.pop("segments")
    _frames_equal(run(*SMALL), simulate(data))


# -- shares, traits and channels as configured ----------------------------------------------
@pytest.fixture(scope="module")
def drawn():
    cfg = load_config(["market.customers=60000", *EXAMPLE, "seed=5"])
    market = build_market(cfg)
    return cfg, market, build_customers(cfg, market, 5)


def test_segment_shares_as_configured(drawn):
    _, market, c = drawn
    assert market.segments.names == list(NAMES)
    assert c.segment.dtype == np.uint8 and c.segment.itemsize == 1
    counts = np.bincount(c.segment, minlength=len(NAMES))
    n = c.n
    se = np.sqrt(SHARES * (1 - SHARES) / n)
    assert np.all(np.abs(counts / n - SHARES) < 4 * se), counts / n


def _mean_sd(x):
    return float(np.mean(x, dtype=np.float64)), float(np.std(x, dtype=np.float64))


@pytest.mark.parametrize(
    ("segment", "trait", "mean", "sd"),
    [
        ("digital_natives", "wom_activity", 0.6, 0.2),
        ("traditional", "wom_activity", 0.45, 0.2),
        ("mainstream", "wom_activity", 0.5, 0.2),  # the market's own
        ("traditional", "price_sensitivity", 0.8, 0.4),
        ("price_hunters", "price_sensitivity", 2.0, 0.8),
        ("mainstream", "price_sensitivity", 1.0, 0.5),
        ("digital_natives", "churn_propensity", 0.25 / 1600.25, None),
        ("traditional", "churn_propensity", 0.25 / 3000.25, None),
        ("price_hunters", "churn_propensity", 0.25 / 900.25, None),
    ],
)
def test_trait_moments_as_configured(drawn, segment, trait, mean, sd):
    _, market, c = drawn
    values = getattr(c, trait)[c.segment == market.segments.names.index(segment)]
    m, s = _mean_sd(values)
    if sd is None:  # Beta(0.25, b): heavy right tail; the mean within 4 standard errors
        alpha = 0.25
        beta = alpha / mean - alpha
        var = alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))
        assert abs(m - mean) < 4 * math.sqrt(var / values.size), (m, mean)
        return
    assert abs(m - mean) < 4 * sd / math.sqrt(values.size), (m, mean)
    assert abs(s - sd) < 0.05 * sd, (s, sd)


def test_expectations_of_non_customers_as_configured(drawn):
    """Expectation starts at the segment's draw (customers start at their brand's experience)."""
    _, market, c = drawn
    for name, mean in (("digital_natives", 0.7), ("traditional", 0.6), ("mainstream", 0.65)):
        pick = (c.segment == market.segments.names.index(name)) & (c.brand < 0)
        m, _ = _mean_sd(c.expectation[pick])
        assert abs(m - mean) < 4 * 0.1 / math.sqrt(pick.sum()), (name, m)


def test_service_channels_as_configured(drawn):
    cfg, market, c = drawn
    channels = market.channel_names
    for k, name in enumerate(NAMES):
        given = cfg.segments.groups[name].service
        chosen = np.bincount(c.channel[c.segment == k], minlength=len(channels))
        share = chosen / chosen.sum()
        for ch, p in given.items():
            n = chosen.sum()
            assert abs(share[channels.index(ch)] - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-9


def test_attention_shares_out_the_market_exposure():
    """Each channel's population-weighted exposure is the market's: segments only share it out."""
    cfg = load_config([*EXAMPLE])
    market = build_market(cfg)
    seg = market.segments
    cum = exposure_by_segment(market.ad_reach, market.ad_reach * 0.0, seg, room=1.0)
    rates = np.diff(cum, axis=1, prepend=0.0)[:, : market.ad_reach.size]
    population = seg.shares @ rates
    assert np.allclose(population, market.ad_reach.reshape(-1), rtol=1e-12, atol=1e-15)
    tv, app = market.channel_names.index("tv"), market.channel_names.index("app")
    digital, traditional = NAMES.index("digital_natives"), NAMES.index("traditional")
    assert seg.attention[digital, app] > 1 > seg.attention[digital, tv]
    assert seg.attention[traditional, tv] > 1 > seg.attention[traditional, app]


# -- homophily on the built network ----------------------------------------------------------
def _within_fraction(segment: np.ndarray, net) -> float:
    rows = np.repeat(np.arange(net.n), np.diff(net.indptr))
    return float(np.mean(segment[rows] == segment[net.indices]))


@pytest.mark.parametrize(
    ("kind", "top"),
    [("watts_strogatz", 0.85), ("clustered", 0.65)],  # 6 of 10 ties local in a group
)
def test_homophily_raises_the_within_segment_tie_fraction(kind, top):
    n = 20_000
    fractions = []
    counts = []
    for h in (0.0, 0.25, 0.5, 0.75, 1.0):
        cfg = load_config([f"market.customers={n}", *EXAMPLE, f"network={kind}",
                           f"segments.homophily={h}", "seed=2"])  # fmt: skip
        market = build_market(cfg)
        segment = draw_segments(2, n, market.segments, kind)
        net = build_network(kind, n, 10.0, 0.1, seed=2, group_size=11, p_in=0.6, weak_ties=4.0)
        fractions.append(_within_fraction(segment, net))
        counts.append(np.bincount(segment, minlength=4))
    assert all(np.array_equal(counts[0], c) for c in counts)  # the shares do not move
    assert np.all(np.diff(fractions) > 0.02), fractions
    assert abs(fractions[0] - float(SHARES @ SHARES)) < 0.01, fractions
    assert fractions[-1] > top, fractions


def test_homophily_matches_its_formula_on_a_ring_lattice():
    """sum_s a_s [(h + (1 - h) a_s)^2 + (1 - h)^2 sum_{r != s} a_r^2] of the lattice's ties."""
    n, h = 40_000, 0.5
    cfg = load_config([f"market.customers={n}", *EXAMPLE, f"segments.homophily={h}"])
    segment = draw_segments(7, n, build_market(cfg).segments, "watts_strogatz")
    net = build_network("watts_strogatz", n, 10.0, 0.0, seed=7)
    a = SHARES
    expected = sum(
        a[s] * ((h + (1 - h) * a[s]) ** 2 + (1 - h) ** 2 * (a @ a - a[s] ** 2))
        for s in range(a.size)
    )
    assert abs(_within_fraction(segment, net) - expected) < 0.02


def test_homophily_leaves_random_networks_mixed_with_a_warning():
    with pytest.warns(ConfigWarning, match="segments.homophily=0.5: a erdos_renyi network"):
        cfg = load_config([*EXAMPLE, "network=erdos_renyi", "market.customers=5000"])
    seg = build_segments(cfg, list(cfg.channels), np.ones(len(cfg.channels)))
    mixed = draw_segments(1, 5000, seg, "erdos_renyi")
    seg.homophily = 0.0
    assert np.array_equal(mixed, draw_segments(1, 5000, seg, "erdos_renyi"))


# -- results by segment ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def segmented():
    return run(*SMALL, *EXAMPLE)


def test_segment_rows_sum_to_the_brand_rows(segmented):
    seg, brands = segmented.segments, segmented.metrics
    assert seg["segment"].unique(maintain_order=True).to_list() == list(NAMES)
    assert seg.height == brands.height * len(NAMES)
    totals = seg.group_by("step", "brand", maintain_order=True).agg(
        [pl.col(c).sum() for c in (*COUNTS, *MONEY)]
    )
    joined = brands.join(totals, on=["step", "brand"], suffix="_sum")
    assert joined.height == brands.height
    for c in COUNTS:
        assert (joined[c] == joined[f"{c}_sum"]).all(), c
    for c in MONEY:
        assert np.allclose(joined[c], joined[f"{c}_sum"], rtol=1e-9, atol=1e-9), c
    assert joined["customers"].sum() > 0 and joined["ad_spend"].sum() > 0


def test_segment_shares_are_within_the_segment(segmented):
    seg = segmented.segments
    total = seg.group_by("step", "segment").agg(pl.col("share").sum())["share"]
    assert np.allclose(total, 1.0)


def test_metrics_file_holds_totals_then_segments(segmented, tmp_path):
    from sim.engine.kpi import brand_kpis
    from sim.sweeps.io import write_result

    write_result(segmented, tmp_path)
    file = pl.read_parquet(tmp_path / "metrics.parquet")
    assert file.columns[:3] == ["step", "brand", "segment"]
    first = file.filter((pl.col("step") == 1) & (pl.col("brand") == BRANDS[0]))
    assert first["segment"].to_list() == [ALL_SEGMENTS, *NAMES]
    step1 = file.filter(pl.col("step") == 1)
    assert step1["brand"].to_list() == [b for b in BRANDS for _ in range(1 + len(NAMES))]
    assert step1["segment"].to_list() == [ALL_SEGMENTS, *NAMES] * len(BRANDS)
    assert brand_rows(file).equals(segmented.metrics)
    assert brand_kpis(file).equals(brand_kpis(segmented.metrics))
    assert metrics_file(segmented.metrics, pl.DataFrame()).equals(segmented.metrics)


@pytest.mark.parametrize(
    ("name", "keys", "counts", "money"),
    [
        ("channels", ("step", "brand", "channel"),
         ("impressions", "news", "conversions", "service_contacts"), ("spend",)),
        ("tenure", ("brand", "tenure"), ("customer_steps",), ("revenue",)),
        ("retention", ("brand", "tenure"), ("cohort_size", "active"), ()),
    ],
)  # fmt: skip
def test_channels_and_tenure_files_hold_totals_then_segments(
    segmented, tmp_path, name, keys, counts, money
):
    """channels, tenure and retention.parquet: each brand row (segment all), then its segments'.

    Counts sum over the segments to the brand row's exactly (retention: each segment's cohort
    sizes from its own acquisitions, and its actives).
    """
    from sim.sweeps.io import write_result

    write_result(segmented, tmp_path)
    file = pl.read_parquet(tmp_path / f"{name}.parquet")
    frame = getattr(segmented, name)
    assert file.columns[file.columns.index("brand") + 1] == "segment"
    assert file["segment"].to_list() == [ALL_SEGMENTS, *NAMES] * frame.height
    assert file.filter(pl.col("segment") == ALL_SEGMENTS).drop("segment").equals(frame)
    parts = file.filter(pl.col("segment") != ALL_SEGMENTS)
    sums = parts.group_by(keys, maintain_order=True).agg(pl.col(*counts, *money).sum())
    for c in counts:
        assert (sums[c] == frame[c]).all(), c
    for c in money:
        assert np.allclose(sums[c], frame[c], rtol=1e-9, atol=1e-9), c
    assert sums[counts[0]].sum() > 0


def test_segmented_runs_do_not_depend_on_threads():
    a = run("market.customers=5000", "sim.steps=8", "sim.burn_in=5", *EXAMPLE, "engine.threads=1")
    b = run("market.customers=5000", "sim.steps=8", "sim.burn_in=5", *EXAMPLE, "engine.threads=2")
    _frames_equal(a, b)
    assert a.segments.equals(b.segments)
    assert "retention" in a.segment_frames
    for name, frame in a.segment_frames.items():
        assert frame.equals(b.segment_frames[name]), name


# -- validation: one line naming the key, the value and the rule -----------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["segments.groups.mainstream.share=0.5"],
         "segments.groups=digital_natives=0.3, mainstream=0.5, traditional=0.2, "
         "price_hunters=0.1: shares must sum to 1 (they sum to 1.1)"),
        (["segments.homophily=1.5"], "segments.homophily=1.5: must be between 0 and 1"),
        (["+segments.groups.All={share: 0.0}"], "'all' is reserved"),
        (["+segments.groups.Mainstream={share: 0.0}"], "segment names must be unique"),
        (["+segments.groups.bad-name={share: 0.0}"], "segment name must be 1-40 letters"),
        (["segments.groups.mainstream.share=0"], "segments.groups.mainstream.share=0: must be"),
        (["+segments.groups.mainstream.traits.loyalty={mean: 0.5}"],
         "segments.groups.mainstream.traits.loyalty={'mean': 0.5}: unknown trait"),
        (["+segments.groups.mainstream.traits.wom_activity.median=0.5"],
         "segments.groups.mainstream.traits.wom_activity.median=0.5: unknown trait key"),
        (["+segments.groups.mainstream.traits.wom_activity={mean: 0.5, sd: 0.9}"],
         "segments.groups.mainstream.traits.wom_activity.sd=0.9: must be below"),
        (["+segments.groups.mainstream.attention.radio=2"],
         "segments.groups.mainstream.attention.radio=2: unknown channel"),
        (["segments.groups.traditional.attention.tv=-1"],
         "segments.groups.traditional.attention.tv=-1: must be between 0 and 100"),
        (["segments.groups.traditional.service={store: 0, app: 0, service: 0}"],
         "segments.groups.traditional.service={'store': 0.0, 'app': 0.0, 'service': 0.0}: must"),
        (["segments.groups.traditional.service.store=1.5"],
         "segments.groups.traditional.service.store=1.5: must be between 0 and 1"),
    ],
)  # fmt: skip
def test_bad_segments_fail_with_one_line(overrides, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        with pytest.raises(ConfigError) as info:
            load_config([*EXAMPLE, *overrides])
    text = str(info.value)
    assert "\n" not in text and message in text, text


# -- journeysim report --by segment ----------------------------------------------------------
def test_summary_kpis_of_a_segmented_run_add_each_segment(segmented, tmp_path):
    from sim.sweeps.io import write_result
    from sim.sweeps.summary import run_kpis

    write_result(segmented, tmp_path)
    kpis = run_kpis(pl.read_parquet(tmp_path / "metrics.parquet"))
    assert kpis == {**run_kpis(segmented.metrics), **{k: v for k, v in kpis.items() if "@" in k}}
    for brand in BRANDS:
        parts = [kpis[f"customers__{brand}@{name}"] for name in NAMES]
        assert sum(parts) == kpis[f"customers__{brand}"]
        assert abs(sum(kpis[f"revenue__{brand}@{name}"] for name in NAMES)
                   - kpis[f"revenue__{brand}"]) < 1e-6 * kpis[f"revenue__{brand}"]  # fmt: skip


def _summary() -> pl.DataFrame:
    rows = []
    for scenario, hit in (("baseline", 0.0), ("service_outage", 1.0)):
        for seed in range(4):
            noise = 0.01 * seed
            rows.append({
                "run": f"{scenario}{seed}", "status": "complete", "scenario": scenario,
                "seed": seed, "churn_rate__incumbent": 0.1 + 0.05 * hit + noise,
                "churn_rate__incumbent@digital_natives": 0.1 + 0.2 * hit + noise,
                "churn_rate__incumbent@traditional": 0.1 + noise,
            })  # fmt: skip
    return pl.DataFrame(rows)


def test_report_by_segment_shows_whose_kpi_moved(capsys):
    from sim.sweeps.summary import ReportError, clear_differences, report

    plain = report(_summary())
    assert "segment" not in plain.columns and set(plain["brand"]) == {"incumbent"}
    table = report(_summary(), by="segment")
    outage = table.filter(pl.col("scenario") == "service_outage").sort("segment")
    assert outage["segment"].to_list() == ["digital_natives", "traditional"]
    assert outage["diff"].to_list() == pytest.approx([0.2, 0.0])
    assert outage["diff_low"][0] > 0  # the digital segment's rise is clear, with its interval
    clear = clear_differences(table)
    assert clear.select("kpi", "brand", "segment").rows() == [
        ("churn_rate", "incumbent", "digital_natives")
    ]
    from sim.sweeps.summary import print_report

    print_report(table, "baseline")  # the brand / segment label of each row
    assert "incumbent / digital_natives" in capsys.readouterr().out

    with pytest.raises(ReportError, match="--by segment: these runs have one segment"):
        report(_summary().select(pl.exclude("^.*@.*$")), by="segment")
