"""Regions (issue 19): where the customers live, with results by region.

The default (``conf/regions/default.yaml``, one region) leaves every result as it was; a
regional market draws its shares as configured (independently of the segments), places its
regions on the network by homophily, keeps a brand out of a region until its launch there,
charges each region its own prices and buys each its own ad reach, lets events and rivals'
responses act in one region only, and reports rows per region whose counts and money sum
to the brand rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from conftest import BRANDS, CHANNELS, run

from sim import ConfigError, load_config
from sim.config.errors import ConfigWarning
from sim.engine import params as P
from sim.engine.metrics import ALL_REGIONS, brand_rows
from sim.engine.model import JourneyModel
from sim.engine.network import build_network
from sim.engine.regions import draw_regions
from sim.engine.segments import draw_segments
from sim.engine.state import build_customers, build_market

SMALL = ("market.customers=4000", "sim.steps=30", "sim.burn_in=20", "seed=3")
EXAMPLE = ("regions=example",)
NAMES = ("north", "south", "west")
SHARES = np.array([0.45, 0.35, 0.20])
COUNTS = (
    "aware", "considering", "customers", "acquired", "acquired_wom", "churned", "churned_hazard",
    "churned_shock", "churned_switch", "churned_exit", "lapsed", "promoters", "passives",
    "detractors", "contacts", "failures", "recovered", "complaints", "reviews",
    *(f"ltr_{k}" for k in range(11)),
)  # fmt: skip
MONEY = ("revenue", "ad_spend", "service_cost", "programme_cost", "acquisition_cost", "profit",
         "discounted_revenue", "discounted_profit")  # fmt: skip
#: a 20% price cut of the budget brand in the south only, from step 5
SOUTH_CUT = ("+scenario.events=[{kind: price_change, brand: budget, change: -0.2, "
             "region: south, start: 5}]")  # fmt: skip


def _frames_equal(a, b) -> None:
    for name in ("metrics", "channels", "stages", "flows", "retention", "tenure"):
        assert getattr(a, name).equals(getattr(b, name)), name


# -- the default is the market as it was ------------------------------------------------------
def test_default_regions_leave_results_unchanged():
    """regions=default, an explicit one-region copy and events naming its one region agree.

    (Against the code before regions, the same runs gave the same bytes: checked when regions
    were added, by a hash of every result frame of eight markets: pairwise, cascade, threshold
    on groups, the service outage, the new entrant, the price war, the segmented example and
    the mesa engine.)
    """
    default = run(*SMALL, "scenario=price_war")
    explicit = run(
        *SMALL, "scenario=price_war",
        "+regions.groups.everywhere.brands.incumbent={price_factor: 1.0, launch_step: 0}",
        "+regions.groups.everywhere.brands.budget.ad_factor={tv: 1.0}",
    )  # fmt: skip
    _frames_equal(default, explicit)
    assert default.regions.is_empty() and default.region_frames == {}
    assert "region" not in default.metrics.columns
    assert list(load_config(list(SMALL)).regions.groups) == ["everywhere"]
    everywhere = run(*SMALL, SOUTH_CUT.replace("south", "everywhere"))
    untargeted = run(*SMALL, SOUTH_CUT.replace(", region: south", ""))
    _frames_equal(everywhere, untargeted)


# -- drawn as configured ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def drawn():
    n = 60_000
    cfg = load_config([f"market.customers={n}", *EXAMPLE, "segments=example", "seed=4"])
    market = build_market(cfg)
    return market, build_customers(cfg, market, 4)


def test_region_shares_as_configured_and_independent_of_segments(drawn):
    market, c = drawn
    n = c.n
    counts = np.bincount(c.region, minlength=3) / n
    assert np.all(np.abs(counts - SHARES) < 4 * np.sqrt(SHARES * (1 - SHARES) / n)), counts
    joint = np.zeros((3, 4))
    np.add.at(joint, (c.region, c.segment), 1.0)
    joint /= n
    expected = counts[:, None] * (np.bincount(c.segment, minlength=4) / n)[None, :]
    assert np.abs(joint - expected).max() < 0.006, joint - expected
    assert c.region.dtype == np.uint8 and c.region.nbytes == n  # one byte per customer


def test_an_absent_brand_is_neither_known_nor_bought_in_its_region(drawn):
    market, c = drawn
    challenger = 1 << BRANDS.index("challenger")
    west = c.region == NAMES.index("west")
    assert not np.any(c.aware[west] & challenger)
    assert not np.any(c.brand[west] == BRANDS.index("challenger"))
    assert np.mean(c.aware[~west] & challenger > 0) > 0.3  # known elsewhere
    assert market.regions.launch[NAMES.index("west"), BRANDS.index("challenger")] == 120


def _within_fraction(region: np.ndarray, net) -> float:
    rows = np.repeat(np.arange(net.n), np.diff(net.indptr))
    return float(np.mean(region[rows] == region[net.indices]))


def test_homophily_matches_its_formula_on_a_ring_lattice():
    """sum_r a_r [(h + (1 - h) a_r)^2 + (1 - h)^2 sum_{q != r} a_q^2] of the lattice's ties."""
    n = 40_000
    for h in (0.0, 0.7):
        cfg = load_config([f"market.customers={n}", *EXAMPLE, f"regions.homophily={h}"])
        segment = np.zeros(n, dtype=np.uint8)
        region, _ = draw_regions(7, n, build_market(cfg).regions, "watts_strogatz", segment)
        net = build_network("watts_strogatz", n, 10.0, 0.0, seed=7)
        a = SHARES
        expected = sum(
            a[r] * ((h + (1 - h) * a[r]) ** 2 + (1 - h) ** 2 * (a @ a - a[r] ** 2))
            for r in range(a.size)
        )
        assert abs(_within_fraction(region, net) - expected) < 0.02, (h, expected)


def test_region_homophily_keeps_the_segments_placement_within_regions():
    """With both, the segments stay clustered inside each region's stretch (stable order)."""
    n = 40_000
    cfg = load_config([f"market.customers={n}", *EXAMPLE, "segments=example",
                       "regions.homophily=1.0", "segments.homophily=1.0"])  # fmt: skip
    market = build_market(cfg)
    segment = draw_segments(7, n, market.segments, "watts_strogatz")
    region, placed = draw_regions(7, n, market.regions, "watts_strogatz", segment)
    net = build_network("watts_strogatz", n, 10.0, 0.0, seed=7)
    assert _within_fraction(region, net) > 0.99
    assert _within_fraction(placed, net) > 0.95
    assert np.array_equal(np.bincount(placed, minlength=4), np.bincount(segment, minlength=4))


def test_homophily_leaves_random_networks_mixed_with_a_warning():
    with pytest.warns(ConfigWarning, match="regions.homophily=0.7: a erdos_renyi network"):
        load_config([*EXAMPLE, "network=erdos_renyi", "market.customers=5000"])


# -- each region's prices, ads and launches ---------------------------------------------------
@pytest.fixture(scope="module")
def regional():
    return run(*SMALL, *EXAMPLE, "segments=example")


def test_region_rows_charge_the_regions_prices(regional):
    cfg = load_config(list(EXAMPLE))
    r = regional.regions.filter(pl.col("step") > 0)
    for name in NAMES:
        for brand in BRANDS:
            if name == "west" and brand == "challenger":
                continue
            factor = cfg.regions.groups[name].brands[brand].get("price_factor", 1.0)
            price = r.filter((pl.col("region") == name) & (pl.col("brand") == brand))["price"]
            assert np.allclose(price.to_numpy(), cfg.brands[brand].price * factor, rtol=1e-12)
    m = regional.metrics.filter(pl.col("step") > 0)
    for brand in BRANDS:  # the brand's price: the customer-weighted mean of its regions'
        prices = [cfg.brands[brand].price * cfg.regions.groups[g].brands[brand].get(
            "price_factor", 1.0) for g in NAMES]  # fmt: skip
        got = m.filter(pl.col("brand") == brand)["price"]
        assert min(prices) - 1e-12 <= got.min() and got.max() <= max(prices) + 1e-12


def test_ad_spend_follows_each_regions_reach():
    """Spend per person in region r = sum_c reach_bc a_rbc cost_c (within sampling noise)."""
    n, steps = 20_000, 20
    overrides = (f"market.customers={n}", f"sim.steps={steps}", "sim.burn_in=5", "seed=2")
    res = run(*overrides, *EXAMPLE)
    cfg = load_config([*overrides, *EXAMPLE])
    market = build_market(cfg)
    people = np.bincount(build_customers(cfg, market, 2).region, minlength=3)
    cost = market.channel_roles[:, P.R_COST]
    per_person = {}
    for b, brand in enumerate(BRANDS):
        for k, name in enumerate(NAMES):
            if name == "west" and brand == "challenger":
                continue
            expected = float(market.ad_reach[b] * market.regions.ad_factor[k, b] @ cost)
            got = res.regions.filter((pl.col("region") == name) & (pl.col("brand") == brand)
                                     & (pl.col("step") > 0))["ad_spend"].sum()  # fmt: skip
            per_person[brand, name] = got / (people[k] * steps)
            assert abs(per_person[brand, name] / expected - 1) < 0.1, (brand, name, expected)
    assert per_person["incumbent", "north"] > 1.15 * per_person["incumbent", "south"]


def test_a_brand_launches_in_a_region_at_its_own_step():
    res = run(*SMALL, *EXAMPLE, "regions.groups.west.brands.challenger.launch_step=10")
    west = res.regions.filter((pl.col("region") == "west") & (pl.col("brand") == "challenger"))
    before, after = west.filter(pl.col("step") < 10), west.filter(pl.col("step") >= 10)
    assert before["aware"].max() == 0 and before["ad_spend"].sum() == 0.0
    assert after["aware"].max() > 0 and after["ad_spend"].sum() > 0.0
    never = run(*SMALL, *EXAMPLE, "+regions.groups.west.brands.challenger.present=false")
    west = never.regions.filter((pl.col("region") == "west") & (pl.col("brand") == "challenger"))
    assert west["aware"].max() == 0 and west["customers"].max() == 0


# -- events and responses in one region -------------------------------------------------------
def _model(*overrides: str) -> JourneyModel:
    return JourneyModel(load_config(["market.customers=2000", "sim.steps=20", "sim.burn_in=0",
                                     *EXAMPLE, "segments=example", *overrides]))  # fmt: skip


def _kernel(model: JourneyModel, t: int) -> tuple[np.ndarray, ...]:
    return model.kernel_tables(model.tables_at(t))


def test_a_regional_event_changes_only_its_regions_tables():
    """Customers of the other regions read exactly their own tables (brand, exposure, service)."""
    outage = ("+scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.8, "
              "region: north, start: 1}, {kind: ad_burst, brand: budget, multiplier: 3.0, "
              "region: north, start: 1}]")  # fmt: skip
    for event in (SOUTH_CUT.replace("south", "north"), outage):
        plain, targeted = _model(), _model(event)
        a, b = _kernel(plain, 6), _kernel(targeted, 6)
        ns = plain.market.n_segments
        north = slice(0, ns)  # cells of region 0
        for x, y in zip(a[1:], b[1:], strict=True):  # per cell: exposure, quality, ...
            assert np.array_equal(x[ns:], y[ns:])
        assert np.array_equal(a[0][1:], b[0][1:])  # the other regions' brand tables
        changed = not np.array_equal(a[0][0], b[0][0]) or any(
            not np.array_equal(x[north], y[north]) for x, y in zip(a[1:], b[1:], strict=True)
        )
        assert changed, event


def test_an_event_for_one_segment_in_one_region_changes_that_cell_only():
    """An app outage for the digital natives of the north: their cell's service tables only."""
    event = ("+scenario.events=[{kind: service_outage, brand: incumbent, channels: [app], "
             "severity: 1.0, region: north, segment: digital_natives, start: 1}]")  # fmt: skip
    plain, targeted = _model(), _model(event)
    a, b = _kernel(plain, 3), _kernel(targeted, 3)
    cell = 0  # north (region 0) x digital_natives (segment 0)
    app = targeted.market.channel_names.index("app")
    for x, y in zip(a[2:4], b[2:4], strict=True):  # quality, resolution
        others = np.ones(x.shape[0], dtype=bool)
        others[cell] = False
        assert np.array_equal(x[others], y[others])
        assert y[cell, 0, app] == 0.0 < x[cell, 0, app]
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_other_regions_move_as_without_the_event_in_its_first_step():
    plain = run(*SMALL, *EXAMPLE)
    cut = run(*SMALL, *EXAMPLE, SOUTH_CUT)
    cols = ["step", "brand", "region", *COUNTS, "revenue"]
    for name, same in (("north", True), ("west", True), ("south", False)):
        a = plain.regions.filter((pl.col("region") == name) & (pl.col("step") <= 5)).select(cols)
        b = cut.regions.filter((pl.col("region") == name) & (pl.col("step") <= 5)).select(cols)
        assert a.equals(b) == same, name
    south = cut.regions.filter((pl.col("region") == "south") & (pl.col("brand") == "budget"))
    assert np.allclose(south.filter(pl.col("step") >= 5)["price"], 0.7 * 0.95 * 0.8)


def test_a_response_for_one_region_acts_there_only():
    boost = "+brands.incumbent.responses=[{kind: ad_boost, share_below: 0.9, multiplier: 2.0, region: west}]"
    plain, boosted = _model(), _model(boost)
    plain.step(), boosted.step()  # the policy reads step 0's share in the west
    a, b = _kernel(plain, 2), _kernel(boosted, 2)
    ns = plain.market.n_segments
    assert np.array_equal(a[1][: 2 * ns], b[1][: 2 * ns])  # north and south: unchanged
    assert not np.array_equal(a[1][2 * ns :], b[1][2 * ns :])  # the west's exposure rose


# -- results by region ------------------------------------------------------------------------
def test_region_rows_sum_to_the_brand_rows(regional):
    for by, frame in (("region", regional.regions), ("segment", regional.segments)):
        sums = frame.group_by("step", "brand", maintain_order=True).agg(
            [pl.col(c).sum() for c in (*COUNTS, *MONEY)]
        )
        joined = regional.metrics.join(sums, on=["step", "brand"], suffix="_sum")
        for c in COUNTS:
            assert (joined[c] == joined[f"{c}_sum"]).all(), (by, c)
        for c in MONEY:
            assert np.allclose(joined[c], joined[f"{c}_sum"], rtol=1e-9, atol=1e-6), (by, c)


def test_metrics_channels_and_tenure_files_hold_totals_segments_then_regions(regional, tmp_path):
    from sim.sweeps.io import write_result

    write_result(regional, tmp_path)
    m = pl.read_parquet(tmp_path / "metrics.parquet")
    assert m.columns[:4] == ["step", "brand", "segment", "region"]
    first = m.filter((pl.col("step") == 1) & (pl.col("brand") == "incumbent"))
    segments = ["digital_natives", "mainstream", "traditional", "price_hunters"]
    assert first["segment"].to_list() == ["all", *segments, *["all"] * 3]
    assert first["region"].to_list() == ["all", *["all"] * 4, *NAMES]
    assert brand_rows(m).equals(regional.metrics)
    for name in ("channels", "tenure"):
        f = pl.read_parquet(tmp_path / f"{name}.parquet")
        totals = f.filter((pl.col("segment") == "all") & (pl.col("region") == ALL_REGIONS))
        assert totals.drop("segment", "region").equals(getattr(regional, name)), name
        keys = ["step", "brand", "channel"] if name == "channels" else ["brand", "tenure"]
        value = "impressions" if name == "channels" else "customer_steps"
        per_region = (
            f.filter(pl.col("region") != "all")
            .group_by(keys, maintain_order=True)
            .agg(pl.col(value).sum())
        )
        joined = totals.join(per_region, on=keys, suffix="_sum")
        assert (joined[value] == joined[f"{value}_sum"]).all(), name
    channels = pl.read_parquet(tmp_path / "channels.parquet")
    assert set(channels["channel"]) == {*CHANNELS, "word_of_mouth"}


def test_retention_rows_by_segment_and_region_sum_to_the_brand_rows(regional, tmp_path):
    """Each segment's and each region's cohort sizes and actives sum to the brand's, exactly.

    A group's cohort size at tenure k is its own acquisitions over steps 1..T-k (its rows of
    metrics.parquet); retention.parquet holds each brand row, then its segments', then its
    regions'.
    """
    from sim.sweeps.io import write_result

    brand = regional.retention
    steps = regional.metrics["step"].max()
    for by, frames, rows in (
        ("segment", regional.segment_frames, regional.segments),
        ("region", regional.region_frames, regional.regions),
    ):
        ret = frames["retention"]
        assert ret.columns == ["brand", by, "tenure", "cohort_size", "active", "retention"]
        assert ret.height == brand.height * rows[by].n_unique()
        sums = ret.group_by("brand", "tenure", maintain_order=True).agg(
            pl.col("cohort_size").sum(), pl.col("active").sum()
        )
        joined = brand.join(sums, on=["brand", "tenure"], suffix="_sum")
        assert joined.height == brand.height
        for c in ("cohort_size", "active"):
            assert (joined[c] == joined[f"{c}_sum"]).all(), (by, c)
        for (b, name), mine in ret.group_by("brand", by, maintain_order=True):
            own = rows.filter((pl.col("brand") == b) & (pl.col(by) == name) & (pl.col("step") > 0))
            cum = np.concatenate([[0], np.cumsum(own.sort("step")["acquired"].to_numpy())])
            assert (mine["cohort_size"].to_numpy() == cum[steps - mine["tenure"].to_numpy()]).all()
            with np.errstate(invalid="ignore", divide="ignore"):
                share = mine["active"].to_numpy() / mine["cohort_size"].to_numpy()
            assert np.allclose(mine["retention"].fill_null(np.nan).to_numpy(), share,
                               equal_nan=True)  # fmt: skip
        west = ret.filter(pl.col("brand") == "challenger")
        if by == "region":  # the challenger acquires no one in the west, so no curve there
            assert (west.filter(pl.col("region") == "west")["cohort_size"] == 0).all()
    write_result(regional, tmp_path)
    f = pl.read_parquet(tmp_path / "retention.parquet")
    assert f.columns[:4] == ["brand", "segment", "region", "tenure"]
    totals = f.filter((pl.col("segment") == "all") & (pl.col("region") == ALL_REGIONS))
    assert totals.drop("segment", "region").equals(brand)
    first = f.filter((pl.col("brand") == "incumbent") & (pl.col("tenure") == 1))
    segments = ["digital_natives", "mainstream", "traditional", "price_hunters"]
    assert first["segment"].to_list() == ["all", *segments, *["all"] * 3]
    assert first["region"].to_list() == ["all", *["all"] * 4, *NAMES]


def test_regional_runs_do_not_depend_on_threads():
    small = ("market.customers=5000", "sim.steps=8", "sim.burn_in=5", *EXAMPLE, SOUTH_CUT)
    a = run(*small, "engine.threads=1")
    b = run(*small, "engine.threads=2")
    _frames_equal(a, b)
    assert a.regions.equals(b.regions)
    assert "retention" in a.region_frames
    for name, frame in a.region_frames.items():
        assert frame.equals(b.region_frames[name]), name


def test_brand_records_are_the_steps_own_sums_of_the_cells():
    """Brand records read from the cells' records equal each step's brand totals, bit for bit."""
    from sim.engine.metrics import brand_totals

    cfg = load_config(["market.customers=6000", "sim.steps=8", "sim.burn_in=0", *EXAMPLE,
                       "segments=example"])  # fmt: skip
    model = JourneyModel(cfg)
    seen = []
    add = model.recorder.add

    def keep(t, acc_cells, chan_cells, flow_cells, *args, **kwargs):
        seen.append((t, brand_totals(acc_cells), brand_totals(chan_cells), flow_cells.sum(0)))
        add(t, acc_cells, chan_cells, flow_cells, *args, **kwargs)

    model.recorder.add = keep
    model.run()
    rec = model.recorder
    acc, chan, flows = rec.acc, rec.chan, rec.flows
    assert rec.n_cells == 12 and len(seen) == 8
    for t, acc_t, chan_t, flows_t in seen:
        assert np.array_equal(acc[t], acc_t) and np.array_equal(chan[t], chan_t)
        assert np.array_equal(flows[t], flows_t)
    assert acc[1:, :, P.A_REVENUE].sum() > 0  # float sums, not only counts


def test_chunks_are_summed_by_cell_in_numpys_order():
    """add_chunks sums each cell's chunks as numpy's sum(axis=0) does: bit for bit."""
    from sim.engine import kernels

    rng = np.random.default_rng(3)
    chunks = rng.standard_normal((37, 3, 49)) * 10.0 ** rng.integers(-8, 9, (37, 3, 49))
    cell = np.sort(rng.integers(0, 4, 37))  # chunks of cells 0-3 (stored by cell)
    cell[cell == 2] = 1  # and none of cell 2
    out = np.full((4, 3, 49), np.nan)
    kernels.add_chunks(chunks, 37, cell, out)
    for k in range(4):
        assert np.array_equal(out[k], chunks[cell == k].sum(axis=0)), k
    assert not out[2].any()
    kernels.add_chunks(chunks, 20, cell, out)  # only the first 20 chunks
    assert np.array_equal(out[cell[19]], chunks[:20][cell[:20] == cell[19]].sum(axis=0))


# -- validation: one line naming the key, the value and the rule -----------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["regions.groups.north.share=0.5"],
         "regions.groups=north=0.5, south=0.35, west=0.2: shares must sum to 1 (they sum to 1.05)"),
        (["regions.homophily=1.5"], "regions.homophily=1.5: must be between 0 and 1"),
        (["+regions.groups.All={share: 0.0}"], "'all' is reserved"),
        (["+regions.groups.bad-name={share: 0.0}"], "region name must be 1-40 letters"),
        (["+regions.groups.west.brands.newco={price_factor: 2}"],
         "regions.groups.west.brands.newco="),
        (["+regions.groups.west.brands.budget.ad_factor.radio=2"],
         "regions.groups.west.brands.budget.ad_factor.radio=2: unknown channel"),
        (["regions.groups.west.brands.budget.price_factor=0"],
         "regions.groups.west.brands.budget.price_factor=0: must be between"),
        (["regions.groups.west.brands.challenger.launch_step=-1"],
         "regions.groups.west.brands.challenger.launch_step=-1: must be"),
        (["+scenario.events=[{kind: price_change, brand: budget, change: -0.1, region: east}]"],
         "scenario.events[0].region=east: unknown region: must be one of north, south, west"),
        (["+scenario.events=[{kind: new_entrant, brand: budget, region: west}]"],
         "scenario.events[0].region=west: a new_entrant event launches the brand everywhere"),
        (["+brands.budget.responses=[{kind: ad_boost, region: east}]"],
         "brands.budget.responses[0].region=east: unknown region: must be one of north, south"),
    ],
)  # fmt: skip
def test_bad_regions_fail_with_one_line(overrides, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        with pytest.raises(ConfigError) as info:
            load_config([*EXAMPLE, *overrides])
    text = str(info.value)
    assert "\n" not in text and message in text, text


def test_the_default_market_names_its_one_region():
    load_config([SOUTH_CUT.replace("south", "everywhere")])
    with pytest.raises(ConfigError, match="must be one of everywhere"):
        load_config([SOUTH_CUT])


# -- journeysim report --by region ------------------------------------------------------------
def test_report_by_region_shows_where_a_regional_price_cut_acts(tmp_path, capsys):
    """The budget brand cuts its price by 20% in the south only, from step 5.

    ``journeysim report --by region`` shows its customers rising in the south (the paired 95%
    interval above 0) and its revenue there falling less than the price (more customers),
    while in the north the revenue is unchanged within its interval (6,000 customers, 3 paired
    seeds).
    """
    import yaml

    from sim.cli import main
    from sim.sweeps.io import write_result
    from sim.sweeps.summary import write_summary

    market = ["market.customers=6000", "sim.steps=60", "sim.burn_in=30", *EXAMPLE]
    k = 0
    for scenario in ([], [SOUTH_CUT]):
        for seed in range(3):
            folder = tmp_path / str(k)
            (folder / ".hydra").mkdir(parents=True)
            swept = [f"scenario.name={'cut' if scenario else 'baseline'}", f"seed={seed}"]
            (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(swept))
            name = ["scenario.name=cut"] if scenario else []
            write_result(run(*market, *scenario, *name, f"seed={seed}"), folder)
            k += 1
    write_summary(tmp_path)
    assert main(["report", str(tmp_path), "--by", "region", "--kpi", "customers"]) == 0
    assert "budget / south" in capsys.readouterr().out
    table = pl.read_parquet(tmp_path / "report.parquet").filter(
        (pl.col("brand") == "budget") & (pl.col("reference").not_())
    )
    south = table.filter((pl.col("region") == "south") & (pl.col("kpi") == "customers"))
    north = table.filter((pl.col("region") == "north") & (pl.col("kpi") == "customers"))
    assert south["diff_low"].item() > 0.0, south
    assert south["diff"].item() > 3 * abs(north["diff"].item()), (south, north)
    assert main(["report", str(tmp_path), "--by", "segment"]) != 0  # one segment


def test_stages_by_segment_and_region_sum_to_the_stage_counts(regional, tmp_path):
    """stages.parquet: each (step, stage, brand) row, then its segments', then its regions'."""
    from sim.sweeps.io import write_result

    write_result(regional, tmp_path)
    f = pl.read_parquet(tmp_path / "stages.parquet")
    assert f.columns == ["step", "stage", "brand", "segment", "region", "customers"]
    totals = f.filter((pl.col("segment") == "all") & (pl.col("region") == "all"))
    assert totals.drop("segment", "region").equals(regional.stages)
    keys = ["step", "stage", "brand"]
    for by in ("segment", "region"):
        parts = (
            f.filter(pl.col(by) != "all")
            .group_by(keys, maintain_order=True)
            .agg(pl.col("customers").sum())
        )
        joined = totals.join(parts, on=keys, suffix="_sum", nulls_equal=True)
        assert joined.height == totals.height
        assert (joined["customers"] == joined["customers_sum"]).all(), by
    step0 = f.filter((pl.col("step") == 0) & (pl.col("region") == "west")
                     & (pl.col("brand") == "challenger"))  # fmt: skip
    assert step0["customers"].to_list() == [0]
    people = f.filter((pl.col("step") == 0) & (pl.col("region") != "all"))
    by_region = people.group_by("region").agg(pl.col("customers").sum()).sort("region")
    assert by_region["customers"].sum() == 4000


def test_cell_cohort_counts_take_memory_by_threads_not_customers():
    """8 W G B H bytes (W threads, G cells, H tenures), as the memory estimate counts them."""
    import numba

    from sim.engine import resources

    big, small = _model("market.customers=4000"), _model()
    g, b, h = 12, len(BRANDS), 21  # 3 regions x 4 segments; 20 steps + 1
    assert resources._most_threads() == numba.config.NUMBA_NUM_THREADS
    for m in (big, small):
        assert m._cohort_cells.nbytes == 8 * numba.config.NUMBA_NUM_THREADS * g * b * h
    one = JourneyModel(load_config(["market.customers=2000", "sim.steps=20", "sim.burn_in=0"]))
    assert one._cohort_cells.nbytes == 8 * numba.config.NUMBA_NUM_THREADS * b * h
    assert one.cohort_cell_counts() is None
