"""Responses to levers, measured as a marketing scientist would: paired runs, common random numbers.

    python experiments/responses.py                      # every section, 20,000 customers, 6 seeds
    python experiments/responses.py price --seeds 3      # one section
    python experiments/responses.py drift --years 3 --jobs 2

Sections (each prints its figures; nothing is asserted):

- ``price``: own-customer and revenue elasticities of each brand to a 10% price change from
  step 0 (``price_change`` events with ``start: 0``, so the burn-in is the same in both arms):
  arc elasticities from +10% and -10% runs paired with the baseline of the same seed, at 1 and
  3 years, with 95% t-intervals over seeds.
- ``profit``: each brand's cumulative profit over 1 and 3 years as a function of its own price
  multiplier (0.7 to 2), relative to the default price.
- ``ads``: revenue elasticity to each brand's own ad reach (+-10%, ``ad_burst`` with a
  multiplier on every channel), at 1 and 3 years; 3-year profit at x0 and x2 relative to x1.
- ``nps``: the likelihood-to-recommend distribution (``ltr_0`` .. ``ltr_10``) and the churn of
  promoters, passives and detractors (``churned_promoters`` ...); NPS and churn under a lever
  that lowers churn (better service) and under a PR crisis.
- ``drift``: baseline drift per rule (wom=pairwise|cascade|threshold, service=constant|capacity|
  investment): share change per year, NPS change per year, annual churn year 1 vs last year.
- ``dj``: double jeopardy: three identical brands differing only in ad reach (4:2:1): customers
  and annual churn per brand, with 95% intervals.

Each run uses one Numba thread; ``--jobs`` runs in parallel processes (results do not
depend on it).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import sys

import numpy as np

BRANDS = ("incumbent", "challenger", "budget")
CHANNELS = ("tv", "social", "search", "reviews", "store", "app", "service")


def _run(args):
    """One run: (overrides, events) -> per-brand arrays of the metrics needed."""
    overrides, events = args
    from omegaconf import OmegaConf

    from sim import load_config, simulate

    cfg = load_config([*overrides, "engine.threads=1"])
    if events:
        OmegaConf.set_struct(cfg, False)
        cfg.scenario.events = events
    m = simulate(cfg).metrics
    out = {}
    for b in m["brand"].unique(maintain_order=True).to_list():
        f = m.filter(m["brand"] == b).sort("step")
        out[b] = {c: f[c].to_numpy().astype(float) for c in f.columns if c not in ("brand",)}
    return out


def run_all(jobs: list, n_jobs: int) -> list:
    """Run every (overrides, events) in ``jobs`` (in parallel processes when ``n_jobs`` > 1)."""
    if n_jobs <= 1:
        return [_run(j) for j in jobs]
    with mp.get_context("spawn").Pool(n_jobs) as pool:
        return pool.map(_run, jobs, chunksize=1)


def ci(values) -> str:
    """Mean and 95% t-interval over seeds, as text."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    m = v.mean()
    if v.size < 2:
        return f"{m:8.3f}"
    h = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return f"{m:8.3f} [{m - h:7.3f}, {m + h:7.3f}]"


def _base(args, years: int) -> list[str]:
    steps = int(round(365 * years))
    return [f"market.customers={args.customers}", f"sim.steps={steps}", *args.overrides]


def _at(run, brand, col, step):
    return run[brand][col][step]


def _sum(run, brand, col, lo, hi):
    return run[brand][col][lo : hi + 1].sum()


def price(args) -> None:
    """Own-customer and revenue elasticities to +-10% price from step 0, at 1 and 3 years."""
    years = args.years
    base = _base(args, years)
    seeds = range(args.seeds)
    jobs = []
    for s in seeds:
        jobs.append(([*base, f"seed={s}"], None))
        for b in BRANDS:
            for ch in (0.1, -0.1):
                ev = [{"kind": "price_change", "brand": b, "change": ch, "start": 0, "end": None}]
                jobs.append(([*base, f"seed={s}"], ev))
    res = run_all(jobs, args.jobs)
    k = 1 + 2 * len(BRANDS)
    print(f"\n== price: arc elasticities to +-10% own price from step 0 ({args.seeds} seeds) ==")
    print("brand       horizon  customers (end)            revenue (cumulative)")
    for y in sorted({1, years}):
        t = 365 * y
        for j, b in enumerate(BRANDS):
            ec, er = [], []
            for s in seeds:
                base_run = res[s * k]
                up, down = res[s * k + 1 + 2 * j], res[s * k + 2 + 2 * j]
                c0 = _at(base_run, b, "customers", t)
                ec.append((_at(up, b, "customers", t) - _at(down, b, "customers", t)) / c0 / 0.2)
                r0 = _sum(base_run, b, "revenue", 1, t)
                er.append(
                    (_sum(up, b, "revenue", 1, t) - _sum(down, b, "revenue", 1, t)) / r0 / 0.2
                )
            print(f"{b:11s} {y} year  {ci(ec)}  {ci(er)}")


def profit(args) -> None:
    """Cumulative profit as a function of own price (multiplier of the default price)."""
    years = args.years
    base = _base(args, years)
    mults = (0.7, 0.85, 1.0, 1.25, 1.5, 2.0)
    seeds = range(args.seeds)
    jobs = []
    for s in seeds:
        for b in BRANDS:
            for mult in mults:
                ev = None
                if mult != 1.0:
                    ev = [{"kind": "price_change", "brand": b, "change": mult - 1.0, "start": 0,
                           "end": None}]  # fmt: skip
                jobs.append(([*base, f"seed={s}"], ev))
    res = run_all(jobs, args.jobs)
    print(f"\n== profit vs own price multiplier ({args.seeds} seeds): profit / profit at x1 ==")
    nm = len(mults)
    for y in sorted({1, years}):
        t = 365 * y
        print(f"-- cumulative over {y} year(s); columns: " + " ".join(f"x{m:<5}" for m in mults))
        for j, b in enumerate(BRANDS):
            rel = np.zeros((args.seeds, nm))
            for s in seeds:
                row = [_sum(res[(s * len(BRANDS) + j) * nm + i], b, "profit", 1, t) for i in
                       range(nm)]  # fmt: skip
                rel[s] = np.array(row) / row[mults.index(1.0)]
            mean = rel.mean(axis=0)
            best = mults[int(np.argmax(mean))]
            cells = " ".join(f"{v:6.3f}" for v in mean)
            print(f"{b:11s} {cells}   peak x{best}")


def ads(args) -> None:
    """Revenue elasticity to own ad reach (+-10%) and profit at x0, x2 of the ad budget."""
    years = args.years
    base = _base(args, years)
    seeds = range(args.seeds)
    mults = (0.9, 1.1, 0.0, 2.0)
    jobs = []
    for s in seeds:
        jobs.append(([*base, f"seed={s}"], None))
        for b in BRANDS:
            for mult in mults:
                ev = [{"kind": "ad_burst", "brand": b, "multiplier": mult, "start": 0, "end": None}]
                jobs.append(([*base, f"seed={s}"], ev))
    res = run_all(jobs, args.jobs)
    k = 1 + len(mults) * len(BRANDS)
    print(f"\n== advertising ({args.seeds} seeds) ==")
    print(
        "brand       horizon  revenue elasticity (+-10%)   profit x0 / x1 - 1       "
        "profit x2 / x1 - 1       incremental CAC of x2"
    )
    for y in sorted({1, years}):
        t = 365 * y
        for j, b in enumerate(BRANDS):
            el, p0, p2, icac = [], [], [], []
            for s in seeds:
                r = [res[s * k + 1 + len(mults) * j + i] for i in range(len(mults))]
                b0 = res[s * k]
                rev0 = _sum(b0, b, "revenue", 1, t)
                el.append((_sum(r[1], b, "revenue", 1, t) - _sum(r[0], b, "revenue", 1, t)) / rev0
                          / 0.2)  # fmt: skip
                pr0 = _sum(b0, b, "profit", 1, t)
                p0.append(_sum(r[2], b, "profit", 1, t) / pr0 - 1.0)
                p2.append(_sum(r[3], b, "profit", 1, t) / pr0 - 1.0)
                extra_acq = _sum(r[3], b, "acquired", 1, t) - _sum(b0, b, "acquired", 1, t)
                extra_spend = _sum(r[3], b, "ad_spend", 1, t) - _sum(b0, b, "ad_spend", 1, t)
                icac.append(extra_spend / max(extra_acq, 1.0))
            print(f"{b:11s} {y} year  {ci(el)}  {ci(p0)}  {ci(p2)}  {ci(icac)}")


def nps(args) -> None:
    """LTR distribution, churn by NPS class, and NPS vs churn under two levers."""
    base = _base(args, 1)
    seeds = range(args.seeds)
    better = [f"brands.incumbent.service_quality.{c}={q}" for c, q in
              (("store", 0.95), ("app", 0.8), ("service", 0.85))]  # fmt: skip
    crisis = [{"kind": "pr_crisis", "brand": "incumbent", "shift": -0.3, "reach": 0.01,
               "start": 30, "end": 60}]  # fmt: skip
    jobs = []
    for s in seeds:
        jobs += [([*base, f"seed={s}"], None), ([*base, *better, f"seed={s}"], None),
                 ([*base, f"seed={s}"], crisis)]  # fmt: skip
    res = run_all(jobs, args.jobs)
    print(f"\n== NPS ({args.seeds} seeds, 1 year) ==")
    if "ltr_0" not in res[0][BRANDS[0]]:
        print("(no ltr_* columns in this build)")
    else:
        print("LTR distribution over the year (share of answers, %): scores 0..10, detractors")
        for b in BRANDS:
            tot = np.zeros(11)
            for s in seeds:
                tot += np.array([res[3 * s][b][f"ltr_{k}"].sum() for k in range(11)])
            share = 100 * tot / tot.sum()
            print(f"{b:11s} " + " ".join(f"{v:4.1f}" for v in share)
                  + f"   detractors {share[:7].sum():4.1f}  max {share.max():4.1f}")  # fmt: skip
        print("annual churn by NPS class (churned / mean customers of the class, per year):")
        for b in BRANDS:
            rows = {}
            for cls, col in (("promoters", "churned_promoters"), ("passives", "churned_passives"),
                             ("detractors", "churned_detractors")):  # fmt: skip
                rates = []
                for s in seeds:
                    r = res[3 * s][b]
                    rates.append(r[col][1:].sum() / r[cls][:-1].mean() / (len(r[cls]) - 1) * 365)
                rows[cls] = rates
            ratio = np.array(rows["detractors"]) / np.array(rows["promoters"])
            print(f"{b:11s} promoters {ci(rows['promoters'])} passives {ci(rows['passives'])} "
                  f"detractors {ci(rows['detractors'])}  ratio D/P {ci(ratio)}")  # fmt: skip
    print(
        "levers on the incumbent (paired with the baseline): change in NPS (mean over the year)"
        " and in annual churn (%)"
    )
    for name, off in (("better service", 1), ("PR crisis days 30-60", 2)):
        dn, dc = [], []
        for s in seeds:
            b0, r = res[3 * s]["incumbent"], res[3 * s + off]["incumbent"]
            dn.append(np.nanmean(r["nps"][1:]) - np.nanmean(b0["nps"][1:]))
            c0 = b0["churned"][1:].sum() / b0["customers"].mean()
            dc.append(100 * (r["churned"][1:].sum() / r["customers"].mean() - c0) / c0)
        print(f"{name:22s} NPS {ci(dn)}  churn % change {ci(dc)}")


def _drift_one(run, b):
    c = run[b]
    steps = len(c["customers"]) - 1
    years = steps / 365
    total = sum(run[x]["customers"] for x in run)
    share = 100 * c["customers"] / total
    t = np.arange(steps + 1) / 365
    slope_share = np.polyfit(t, share, 1)[0]
    slope_nps = np.polyfit(t[1:], c["nps"][1:], 1)[0]
    churn = []
    for y in range(int(years)):
        lo, hi = 365 * y + 1, 365 * (y + 1)
        churn.append(100 * c["churned"][lo : hi + 1].sum() / c["customers"][lo - 1 : hi].mean())
    return slope_share, slope_nps, churn[-1] - churn[0], churn[0]


def drift(args) -> None:
    """Baseline drift per word-of-mouth and service rule over ``--years`` without events."""
    years = args.years
    seeds = range(args.seeds)
    rules_ = [["wom=pairwise"], ["wom=cascade"], ["wom=threshold"], ["service=capacity"],
              ["service=investment"]]  # fmt: skip
    jobs = [([*_base(args, years), *r, f"seed={s}"], None) for r in rules_ for s in seeds]
    res = run_all(jobs, args.jobs)
    print(
        f"\n== baseline drift over {years} years ({args.seeds} seeds): share points/yr, NPS "
        "points/yr, annual churn last year - first year (points), first-year churn (%) =="
    )
    for i, r in enumerate(rules_):
        for b in BRANDS:
            vals = np.array([_drift_one(res[i * args.seeds + s], b) for s in seeds])
            print(
                f"{r[0]:19s} {b:11s} share {ci(vals[:, 0])}  NPS {ci(vals[:, 1])}  "
                f"churn {ci(vals[:, 2])}  ({vals[:, 3].mean():5.1f} %)"
            )


def dj(args) -> None:
    """Identical brands differing only in ad reach 4:2:1: customers and churn per brand."""
    years = args.years
    same = []
    for b in BRANDS:
        same += [f"brands.{b}.price=1.0", f"brands.{b}.margin=0.3",
                 f"brands.{b}.product_quality=0.72", f"brands.{b}.equity=0.55",
                 f"brands.{b}.initial_awareness=0.7", f"brands.{b}.initial_share=0.24"]  # fmt: skip
        for c, q, r, f in (("store", 0.8, 0.5, 0.1), ("app", 0.8, 0.5, 0.1),
                           ("service", 0.7, 0.5, 0.15)):  # fmt: skip
            same += [
                f"brands.{b}.service_quality.{c}={q}",
                f"brands.{b}.first_contact_resolution.{c}={r}",
                f"brands.{b}.friction.{c}={f}",
            ]
    reach = {"incumbent": 4, "challenger": 2, "budget": 1}
    for b, k in reach.items():
        for c in CHANNELS:
            v = {"tv": 0.002, "social": 0.0015, "search": 0.0015}.get(c, 0.0) * k
            same.append(f"brands.{b}.ad_reach.{c}={v}")
    seeds = range(args.seeds)
    jobs = [([*_base(args, years), *same, f"seed={s}"], None) for s in seeds]
    res = run_all(jobs, args.jobs)
    print(
        f"\n== double jeopardy over {years} years ({args.seeds} seeds): identical brands, ad "
        "reach 4:2:1 =="
    )
    churn, kept = {}, {}
    for b in BRANDS:
        cust, ch, ch_in = [], [], []
        for r in res:
            c = r[b]
            cust.append(c["customers"][-1])
            mean = c["customers"].mean() * years
            ch.append(100 * c["churned"][1:].sum() / mean)
            ch_in.append(100 * (c["churned"][1:].sum() - c["churned_exit"][1:].sum()) / mean)
        churn[b], kept[b] = np.array(ch), np.array(ch_in)
        print(
            f"{b:11s} (reach x{reach[b]}) customers {ci(cust)}  annual churn % {ci(ch)}  "
            f"of which not leaving the category {ci(ch_in)}"
        )
    d = churn["budget"] - churn["incumbent"]
    print(f"churn of the smallest minus the largest (points, paired): {ci(d)}")
    d = kept["budget"] - kept["incumbent"]
    print(f"the same without leaving the category (points, paired): {ci(d)}")


SECTIONS = {"price": price, "profit": profit, "ads": ads, "nps": nps, "drift": drift, "dj": dj}


def main(argv=None) -> None:
    """Parse arguments and print the chosen sections."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("sections", nargs="*", default=list(SECTIONS), choices=list(SECTIONS) + [[]])
    p.add_argument("--seeds", type=int, default=6)
    p.add_argument("--customers", type=int, default=20000)
    p.add_argument("--years", type=int, default=3)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="extra Hydra override for every run (repeatable)")  # fmt: skip
    args = p.parse_args(argv)
    for name in args.sections or list(SECTIONS):
        SECTIONS[name](args)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
