"""Docking: the readable Mesa engine and the fast Numba engine simulate the same model.

The engines share rules and counter-based random numbers but keep state at different
precision (float32 columns vs Python floats), so runs are compared statistically over
seeds; the initial state, built by shared code, must match exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import BRANDS, run

N = 400
STEPS = 40
SEEDS = range(8)
COUNTS = ["aware", "considering", "customers", "promoters", "passives", "detractors"]


def _runs(engine: str, *extra: str, seeds=SEEDS, steps=STEPS):
    return [
        run(
            f"market.customers={N}",
            f"sim.steps={steps}",
            f"seed={s}",
            f"engine={engine}",
            "sim.burn_in=0",
            *extra,
        )  # fmt: skip
        for s in seeds
    ]


def _final_shares(results) -> np.ndarray:
    """[seed, brand] final market shares."""
    out = []
    for r in results:
        last = r.metrics.filter(pl.col("step") == pl.col("step").max())
        out.append([last.filter(pl.col("brand") == b)["share"].item() for b in BRANDS])
    return np.array(out)


def _total_revenue(results) -> np.ndarray:
    return np.array([r.metrics["revenue"].sum() for r in results])


def _agree(a: np.ndarray, b: np.ndarray, abs_tol: float) -> None:
    """Means over seeds agree within 3 combined standard errors plus abs_tol (per column)."""
    a, b = np.atleast_2d(a.T).T, np.atleast_2d(b.T).T
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    diff = np.abs(a.mean(axis=0) - b.mean(axis=0))
    assert (diff <= 3 * se + abs_tol).all(), (a.mean(axis=0), b.mean(axis=0), se)


@pytest.fixture(scope="module")
def engines():
    return {"numba": _runs("numba"), "mesa": _runs("mesa")}


def test_engines_agree_on_final_shares(engines):
    _agree(_final_shares(engines["numba"]), _final_shares(engines["mesa"]), abs_tol=0.01)


def test_engines_agree_on_total_revenue(engines):
    numba_rev = _total_revenue(engines["numba"])
    mesa_rev = _total_revenue(engines["mesa"])
    _agree(numba_rev, mesa_rev, abs_tol=0.005 * numba_rev.mean())


def test_engines_agree_on_churn_and_acquisition(engines):
    def totals(results):
        return np.array(
            [[r.metrics["churned"].sum(), r.metrics["acquired"].sum()] for r in results], float
        )

    _agree(totals(engines["numba"]), totals(engines["mesa"]), abs_tol=2.0)


def test_engines_agree_on_mean_satisfaction(engines):
    def sat(results):
        return np.array(
            [r.metrics.filter(pl.col("step") == STEPS)["satisfaction"].mean() for r in results]
        )

    _agree(sat(engines["numba"]), sat(engines["mesa"]), abs_tol=0.005)


def test_engines_start_from_the_same_state(engines):
    for a, b in zip(engines["numba"], engines["mesa"], strict=True):
        s0a = a.metrics.filter(pl.col("step") == 0)
        s0b = b.metrics.filter(pl.col("step") == 0)
        assert s0a.select(COUNTS).equals(s0b.select(COUNTS))
        np.testing.assert_allclose(s0a["revenue"], s0b["revenue"], rtol=1e-12)
        assert a.stages.filter(pl.col("step") == 0).equals(b.stages.filter(pl.col("step") == 0))


def test_mesa_engine_keeps_the_accounting_identities(engines):
    for r in engines["mesa"]:
        assert (r.stages.group_by("step").agg(pl.col("customers").sum())["customers"] == N).all()
        assert (r.flows.group_by("step").agg(pl.col("customers").sum())["customers"] == N).all()
        for b in BRANDS:
            m = r.metrics.filter(pl.col("brand") == b).sort("step")
            c = m["customers"].to_numpy()
            assert np.array_equal(
                c[1:], c[:-1] + m["acquired"].to_numpy()[1:] - m["churned"].to_numpy()[1:]
            )


def test_engines_agree_on_complete_network_word_of_mouth():
    # the complete network draws conversation partners by a separate code path
    extra = ("network=complete", "wom.talk_rate=0.3")
    seeds = range(4)
    a = _runs("numba", *extra, seeds=seeds, steps=30)
    b = _runs("mesa", *extra, seeds=seeds, steps=30)

    def aware(results):
        last = [r.metrics.filter(pl.col("step") == 30) for r in results]
        return np.array([m["aware"].sum() for m in last], float)

    _agree(aware(a), aware(b), abs_tol=5.0)
    _agree(_final_shares(a), _final_shares(b), abs_tol=0.01)


def test_engines_agree_under_a_service_outage():
    extra = (
        "scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.9,"
        " start: 10, end: 30}]",
        "service.contact_rate=0.05",
    )
    seeds = range(3)
    a = _runs("numba", *extra, seeds=seeds)
    b = _runs("mesa", *extra, seeds=seeds)

    def outage(results):
        out = []
        for r in results:
            m = r.metrics.filter(
                (pl.col("brand") == "incumbent") & (pl.col("step") >= 10) & (pl.col("step") < 30)
            )
            out.append([m["failures"].sum(), m["contacts"].sum(), m["churned"].sum()])
        return np.array(out, float)

    oa, ob = outage(a), outage(b)
    _agree(oa, ob, abs_tol=3.0)
    assert (oa[:, 0] / oa[:, 1] > 0.8).all() and (ob[:, 0] / ob[:, 1] > 0.8).all()


RULES = [
    ("wom=cascade",),
    ("wom=threshold",),
    ("wom.half_life=10", "wom.reviews.read_rate=0.02"),
    ("service=capacity", "service.contact_rate=0.03",
     "brands.incumbent.service_capacity.service=0.5"),
    ("service=investment", "brands.incumbent.service_spend=0.05"),
    ("scenario.events=[{kind: chatbot_rollout, brand: incumbent, adoption: 0.7, quality: 0.5,"
     " escalation: 0.6, start: 2}]", "service.contact_rate=0.03"),
]  # fmt: skip


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r[0].split("=")[0] + "=" + r[0][-12:])
def test_engines_agree_under_every_word_of_mouth_and_service_rule(rule):
    """Both engines run every rule alike: same customers per brand on average over seeds."""
    seeds = range(3)
    numba = _runs("numba", *rule, seeds=seeds, steps=25)
    mesa = _runs("mesa", *rule, seeds=seeds, steps=25)
    _agree(_final_shares(numba), _final_shares(mesa), abs_tol=0.02)
    counts = ("contacts", "waited", "escalated", "reviews")
    for a, b in zip(numba, mesa, strict=True):
        for col in counts:
            x, y = a.metrics[col].sum(), b.metrics[col].sum()
            assert abs(x - y) <= 0.1 * max(x, y) + 5, (col, x, y)


LTR = [f"ltr_{k}" for k in range(11)]
CHURN_CLASSES = ["churned_promoters", "churned_passives", "churned_detractors"]


def test_engines_record_the_same_ltr_distribution_at_step_0(engines):
    for a, b in zip(engines["numba"], engines["mesa"], strict=True):
        s0a = a.metrics.filter(pl.col("step") == 0).select(LTR)
        assert s0a.equals(b.metrics.filter(pl.col("step") == 0).select(LTR))


def test_ltr_counts_and_churn_by_class_add_up_in_both_engines(engines):
    for r in engines["numba"] + engines["mesa"]:
        m = r.metrics
        assert (m.select(pl.sum_horizontal(LTR))[:, 0] == m["customers"]).all()
        assert (m.select(pl.sum_horizontal(CHURN_CLASSES))[:, 0] == m["churned"]).all()
        assert (m.select(pl.sum_horizontal(LTR[:7]))[:, 0] == m["detractors"]).all()
        assert (m.select(pl.sum_horizontal(LTR[9:]))[:, 0] == m["promoters"]).all()


def test_engines_agree_on_churn_by_nps_class(engines):
    def totals(results):
        return np.array([[r.metrics[c].sum() for c in CHURN_CLASSES] for r in results], float)

    _agree(totals(engines["numba"]), totals(engines["mesa"]), abs_tol=2.0)


def test_engines_agree_on_the_price_reaction():
    """A 30% price rise from step 1 and a rival's cut: both engines lose customers alike."""
    events = (
        "scenario.events=[{kind: price_change, brand: incumbent, change: 0.3, start: 0},"
        " {kind: price_change, brand: budget, change: -0.3, start: 0}]"
    )
    seeds = range(4)
    numba = _runs("numba", events, seeds=seeds, steps=25)
    mesa = _runs("mesa", events, seeds=seeds, steps=25)

    def hazard(results):
        return np.array([[r.metrics["churned_hazard"].sum()] for r in results], float)

    _agree(hazard(numba), hazard(mesa), abs_tol=2.0)
    base = _runs("numba", seeds=seeds, steps=25)
    assert hazard(numba).sum() > 1.5 * hazard(base).sum()


def test_engines_agree_on_the_attraction_of_alternatives():
    """With the hazard scaled by the rivals' attraction (7.9c) both engines churn alike."""
    extra = ("market.churn.alternatives_weight=1.0",)
    seeds = range(4)
    numba = _runs("numba", *extra, seeds=seeds, steps=30)
    mesa = _runs("mesa", *extra, seeds=seeds, steps=30)

    def hazard(results):
        return np.array([[r.metrics["churned_hazard"].sum()] for r in results], float)

    _agree(hazard(numba), hazard(mesa), abs_tol=2.0)
    _agree(_final_shares(numba), _final_shares(mesa), abs_tol=0.01)


SEGMENTS = ("digital_natives", "mainstream", "traditional", "price_hunters")
REGIONS = ("north", "south", "west")
#: a price cut in one region only, from step 5 (both engines read the region's brand table)
REGIONAL_CUT = (
    "+scenario.events=[{kind: price_change, brand: budget, change: -0.2, region: south, start: 5}]"
)


@pytest.fixture(scope="module")
def segmented():
    """Both engines on the worked examples' segmented, regional market.

    Segments' traits, channels and homophily; regions' shares, prices, ad reach, the
    challenger's absence from the west (launch on day 120) and a price cut in the south.
    """
    extra = ("segments=example", "regions=example", REGIONAL_CUT)
    seeds = range(6)
    return {e: _runs(e, *extra, seeds=seeds, steps=30) for e in ("numba", "mesa")}


def test_engines_start_from_the_same_segmented_state(segmented):
    counts = ["segment", "brand", *COUNTS, *(f"ltr_{k}" for k in range(11))]
    for a, b in zip(segmented["numba"], segmented["mesa"], strict=True):
        s0a = a.segments.filter(pl.col("step") == 0).select(counts)
        assert s0a.equals(b.segments.filter(pl.col("step") == 0).select(counts))


def test_engines_agree_by_segment(segmented):
    """Per segment: customers at the end, acquisitions, churn and ad exposures met."""

    def by_segment(results) -> np.ndarray:
        rows = []
        for r in results:
            s = r.segments
            last = s.filter(pl.col("step") == pl.col("step").max())
            row = []
            for name in SEGMENTS:
                mine = s.filter((pl.col("segment") == name) & (pl.col("step") > 0))
                row += [
                    last.filter(pl.col("segment") == name)["customers"].sum(),
                    mine["acquired"].sum(), mine["churned"].sum(), mine["ad_spend"].sum(),
                ]  # fmt: skip
            rows.append(row)
        return np.array(rows, dtype=float)

    _agree(by_segment(segmented["numba"]), by_segment(segmented["mesa"]), abs_tol=2.0)


def test_engines_start_from_the_same_regional_state(segmented):
    counts = ["region", "brand", *COUNTS]
    for a, b in zip(segmented["numba"], segmented["mesa"], strict=True):
        s0a = a.regions.filter(pl.col("step") == 0).select(counts)
        assert s0a.equals(b.regions.filter(pl.col("step") == 0).select(counts))
        west = s0a.filter((pl.col("region") == "west") & (pl.col("brand") == "challenger"))
        assert west["aware"].item() == 0 and west["customers"].item() == 0


def test_engines_agree_by_region(segmented):
    """Per region: customers at the end, acquisitions, churn, revenue and ad spend."""

    def by_region(results) -> np.ndarray:
        rows = []
        for r in results:
            s = r.regions
            last = s.filter(pl.col("step") == pl.col("step").max())
            row = []
            for name in REGIONS:
                mine = s.filter((pl.col("region") == name) & (pl.col("step") > 0))
                row += [
                    last.filter(pl.col("region") == name)["customers"].sum(),
                    mine["acquired"].sum(), mine["churned"].sum(), mine["revenue"].sum(),
                    mine["ad_spend"].sum(),
                ]  # fmt: skip
            rows.append(row)
        return np.array(rows, dtype=float)

    numba, mesa = by_region(segmented["numba"]), by_region(segmented["mesa"])
    _agree(numba, mesa, abs_tol=2.0)
    for r in segmented["numba"] + segmented["mesa"]:  # the west never meets the challenger
        west = r.regions.filter((pl.col("region") == "west") & (pl.col("brand") == "challenger"))
        assert west["aware"].max() == 0 and west["ad_spend"].sum() == 0.0


def test_mesa_segment_rows_sum_to_its_brand_rows(segmented):
    for r in segmented["mesa"]:
        totals = r.segments.group_by("step", "brand", maintain_order=True).agg(
            pl.col("customers").sum(), pl.col("churned").sum()
        )
        joined = r.metrics.join(totals, on=["step", "brand"], suffix="_sum")
        assert (joined["customers"] == joined["customers_sum"]).all()
        assert (joined["churned"] == joined["churned_sum"]).all()
    for r in segmented["mesa"]:
        totals = r.regions.group_by("step", "brand", maintain_order=True).agg(
            pl.col("customers").sum(), pl.col("churned").sum()
        )
        joined = r.metrics.join(totals, on=["step", "brand"], suffix="_sum")
        assert (joined["customers"] == joined["customers_sum"]).all()
        assert (joined["churned"] == joined["churned_sum"]).all()


def test_engines_agree_on_retention_by_segment_and_region(segmented):
    """Per segment and per region: cohort sizes and customer-steps of the run's cohorts.

    For group G, sum_b size_{G,b}(0) (its acquisitions) and sum_b sum_{k>=1} active_{G,b}(k)
    (steps its acquired customers stayed); in each engine the groups' counts sum to the
    brand's exactly.
    """

    def by_group(results) -> np.ndarray:
        rows = []
        for r in results:
            row = []
            for by, names, frames in (
                ("segment", SEGMENTS, r.segment_frames),
                ("region", REGIONS, r.region_frames),
            ):
                ret = frames["retention"]
                for name in names:
                    mine = ret.filter(pl.col(by) == name)
                    row += [
                        mine.filter(pl.col("tenure") == 0)["cohort_size"].sum(),
                        mine.filter(pl.col("tenure") >= 1)["active"].sum(),
                    ]
                sums = ret.group_by("brand", "tenure").agg(pl.col("cohort_size", "active").sum())
                joined = r.retention.join(sums, on=["brand", "tenure"], suffix="_sum")
                assert joined.height == r.retention.height
                for c in ("cohort_size", "active"):
                    assert (joined[c] == joined[f"{c}_sum"]).all(), (by, c)
            rows.append(row)
        return np.array(rows, dtype=float)

    numba, mesa = by_group(segmented["numba"]), by_group(segmented["mesa"])
    assert numba[:, 1::2].sum() > 0
    _agree(numba, mesa, abs_tol=2.0)
