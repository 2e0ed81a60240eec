"""A small adstock-and-saturation regression fitted to a ``journeysim groundtruth`` world.

Not part of the package (numpy and SciPy only): the worked example of docs/analysis.md.

    python experiments/mmm_fit.py WORLD_DIR [--kpi acquisitions] [--out model.csv]
    journeysim groundtruth --check model.csv --truth WORLD_DIR

The model of the weekly KPI y_t (``<kpi>_<brand>`` of ``mmm.csv``), with x_c,t the spend on
channel c::

    a_c,t = x_c,t + lambda_c a_c,t-1                       (geometric adstock, a_c,0 = x_c,1)
    s_c,t = a_c,t / (a_c,t + kappa_c)                       (Michaelis-Menten saturation)
    y_t   = b_0 + b_trend t / T + sum_c beta_c s_c,t + sum_j g_j z_j,t + e_t

with the controls z (``competitor_spend_*``, ``event_*``, standardised) and beta_c >= 0. For given
(lambda, kappa) the linear coefficients are a least-squares fit with beta >= 0
(``scipy.optimize.lsq_linear``); lambda_c in [0, 0.9] and kappa_c in [0.25, 20] times the mean
adstock are found by ``scipy.optimize.minimize`` (L-BFGS-B) on the residual sum of squares from
a few starts. A channel's contribution is what the model loses without it,
``sum_t beta_c s_c,t``, and its return per unit of spend that over ``sum_t x_c,t``. Intervals:
a residual bootstrap (``--resamples`` refits on y* = fitted + resampled residuals; 2.5 and
97.5 percentiles).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from scipy import optimize


def adstock(x: np.ndarray, lam: float) -> np.ndarray:
    """Geometric adstock ``a_t = x_t + lam a_(t-1)``."""
    out = np.empty_like(x)
    acc = 0.0
    for t, v in enumerate(x):
        acc = v + lam * acc
        out[t] = acc
    return out


def design(spend: np.ndarray, theta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The saturated adstocks ``s_c,t`` for theta = (lambda_1..C, log kappa multiples 1..C)."""
    n_c = spend.shape[1]
    cols = []
    for c in range(n_c):
        a = adstock(spend[:, c], theta[c])
        kappa = math.exp(theta[n_c + c]) * scale[c]
        cols.append(a / (a + kappa))
    return np.stack(cols, 1)


def linear_fit(s: np.ndarray, base: np.ndarray, y: np.ndarray):
    """Coefficients of ``y ~ base + s`` with the media coefficients >= 0, and the residuals."""
    x = np.hstack([base, s])
    lo = np.r_[np.full(base.shape[1], -np.inf), np.zeros(s.shape[1])]
    fit = optimize.lsq_linear(x, y, bounds=(lo, np.full(x.shape[1], np.inf)))
    return fit.x, y - x @ fit.x


def fit(spend: np.ndarray, base: np.ndarray, y: np.ndarray, starts=(0.1, 0.5, 0.8)):
    """The best (theta, coefficients) over a few starts (see the module docstring)."""
    n_c = spend.shape[1]
    scale = np.array([max(adstock(spend[:, c], 0.5).mean(), 1e-9) for c in range(n_c)])
    bounds = [(0.0, 0.9)] * n_c + [(math.log(0.25), math.log(20.0))] * n_c

    def sse(theta):
        _, r = linear_fit(design(spend, theta, scale), base, y)
        return float(r @ r)

    best = None
    for lam in starts:
        theta0 = np.r_[np.full(n_c, lam), np.zeros(n_c)]
        res = optimize.minimize(sse, theta0, method="L-BFGS-B", bounds=bounds)
        if best is None or res.fun < best.fun:
            best = res
    s = design(spend, best.x, scale)
    coef, resid = linear_fit(s, base, y)
    return best.x, coef, s, resid


def contributions(spend, base, y, starts=(0.1, 0.5, 0.8)):
    """Per channel: contribution ``sum_t beta_c s_c,t``, and the fit's lambdas and residuals."""
    theta, coef, s, resid = fit(spend, base, y, starts)
    beta = coef[base.shape[1] :]
    return (s * beta).sum(0), theta[: spend.shape[1]], y - resid, resid


def main(argv: list[str] | None = None) -> int:
    """Fit the world's mmm.csv and write the model's per-channel estimates."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("world", help="a journeysim groundtruth folder")
    p.add_argument("--kpi", default="acquisitions", choices=("acquisitions", "revenue"))
    p.add_argument("--out", default="model.csv")
    p.add_argument("--resamples", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    ns = p.parse_args(argv)
    world = Path(ns.world)
    mmm = pl.read_csv(world / "mmm.csv")
    if "all" in set(mmm["region"].cast(pl.String)):  # a world of several regions: fit the sum
        mmm = mmm.filter(pl.col("region") == "all")
    manifest = yaml.safe_load((world / "analysis.yaml").read_text())
    channels = list(manifest["channels"])  # the channels the truth measures
    kpi_col = f"{ns.kpi}_{manifest['brand']}"
    y = mmm[kpi_col].to_numpy().astype(float)
    spend = np.stack([mmm[f"spend_{c}"].to_numpy() for c in channels], 1).astype(float)
    t = np.arange(len(y)) / len(y)
    controls = [c for c in mmm.columns if c.startswith(("competitor_spend_", "event_"))]
    z = [mmm[c].to_numpy().astype(float) for c in controls]
    z = [(v - v.mean()) / v.std() for v in z if v.std() > 0]  # constant controls carry nothing
    base = np.column_stack([np.ones_like(y), t, *z])
    contrib, lams, fitted, resid = contributions(spend, base, y)
    rng = np.random.default_rng(ns.seed)
    boot = []
    for _ in range(ns.resamples):
        y_star = fitted + rng.choice(resid, size=resid.size, replace=True)
        boot.append(contributions(spend, base, y_star, starts=(float(np.mean(lams)),))[0])
    boot = np.asarray(boot)
    total = spend.sum(0)
    name = "acquisitions_per_spend" if ns.kpi == "acquisitions" else "roas"
    table = pl.DataFrame(
        {
            "channel": channels,
            name: contrib / total,
            f"{name}_low": np.percentile(boot, 2.5, axis=0) / total,
            f"{name}_high": np.percentile(boot, 97.5, axis=0) / total,
        }
    )
    table.write_csv(ns.out)
    r2 = 1 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    print(f"fitted {kpi_col} on {', '.join(channels)} over {len(y)} weeks: R^2 {r2:.3f}")
    for c, lam, v in zip(channels, lams, contrib, strict=True):
        weeks = math.log(0.1) / math.log(lam) if 0 < lam < 1 else 0.0
        print(f"  {c}: contribution {v:,.1f}, adstock lambda {lam:.2f} (90% of the effect within "
              f"{weeks:.1f} weeks)")  # fmt: skip
    print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
