"""Special cases with closed forms: the Bass diffusion model and retention / CLV algebra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import run
from scipy.special import betaln

ROOT = Path(__file__).resolve().parent.parent


# -- Bass ------------------------------------------------------------------------------------
def bass_curve(p: float, q: float, steps: int) -> np.ndarray:
    f = np.zeros(steps + 1)
    for t in range(steps):
        f[t + 1] = f[t] + (1 - f[t]) * (p + q * f[t])
    return f


BASS_N = 200_000


@pytest.mark.parametrize("p, q", [(0.03, 0.38), (0.01, 0.6)])
def test_bass_preset_follows_bass_recursion(p, q):
    r = run("+experiment=bass", f"bass.p={p}", f"bass.q={q}", f"market.customers={BASS_N}")
    m = r.metrics.sort("step")
    assert m["brand"].unique().to_list() == ["brand"]
    steps = int(r.config.sim.steps)
    assert m.height == steps + 1
    f = m["customers"].to_numpy() / BASS_N
    assert f[0] == 0.0
    # the whole curve, iterated from F[0] = 0, within 1 percentage point
    np.testing.assert_allclose(f, bass_curve(p, q, steps), atol=0.01)
    # and each step from the simulated F[t]
    predicted = f[:-1] + (1 - f[:-1]) * (p + q * f[:-1])
    np.testing.assert_allclose(f[1:], predicted, atol=0.01)
    # adoption goes most of the way within the run, and nobody leaves
    assert f[-1] > 0.9
    assert m["churned"].sum() == 0
    assert np.array_equal(np.diff(m["customers"].to_numpy()), m["acquired"].to_numpy()[1:])


def test_bass_first_step_is_innovation_only():
    p = 0.03
    r = run("+experiment=bass", f"bass.p={p}", "bass.q=0.38", f"market.customers={BASS_N}")
    first = r.metrics.filter(pl.col("step") == 1)["customers"].item() / BASS_N
    sd = np.sqrt(p * (1 - p) / BASS_N)
    assert abs(first - p) < 4 * sd


def test_experiment_presets_compose_outside_the_repo(tmp_path):
    """`+experiment=...` should work for an installed journeysim, whatever the working directory.

    conf/config.yaml adds ``pkg://experiments`` to Hydra's search path, but the
    ``experiments`` package is not importable unless the repository root happens to be on
    sys.path (pyproject's packages.find includes only sim*, agents*, scenarios*).
    """
    code = (
        "from sim import load_config; "
        "cfg = load_config(['+experiment=bass', 'market.customers=100']); "
        "print(cfg.bass.p)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1]
    assert proc.stdout.strip() == "0.03"


# -- retention ---------------------------------------------------------------------------------
RET_N = 100_000


def retention_run(*extra: str):
    return run("+experiment=retention", f"market.customers={RET_N}", *extra)


@pytest.mark.parametrize("r_, margin", [(0.8, 2.0), (0.6, 1.0)])
def test_retention_survival_is_geometric(r_, margin):
    res = retention_run(f"retention.r={r_}", f"retention.margin={margin}")
    m = res.metrics.sort("step")
    steps = int(res.config.sim.steps)
    t = np.arange(steps + 1)
    survival = m["customers"].to_numpy() / RET_N
    np.testing.assert_allclose(survival, r_**t, atol=0.01)
    assert m["acquired"].sum() == 0
    # everyone who churns lapses (there is no other brand)
    assert (m["churned"] == m["lapsed"]).all()


@pytest.mark.parametrize("r_, margin", [(0.8, 2.0), (0.6, 1.0)])
def test_retention_revenue_and_discounted_value(r_, margin):
    res = retention_run(f"retention.r={r_}", f"retention.margin={margin}")
    m = res.metrics.sort("step")
    d = float(res.config.finance.discount_rate)
    assert d == 0.1 and int(res.config.sim.steps) >= 40
    # margin paid at the start of each period by every active customer
    assert m["revenue"][0] == RET_N * margin
    np.testing.assert_allclose(m["revenue"].to_numpy(), margin * m["customers"].to_numpy())
    per_customer = m["discounted_revenue"][-1] / RET_N
    expected = margin * (1 + d) / (1 + d - r_)
    assert per_customer == pytest.approx(expected, rel=0.01)
    # with margin 1 on price, profit equals revenue: realised discounted profit per customer
    assert m["profit_per_customer"][-1] == pytest.approx(per_customer)
    # the projected CLV from the observed retention and margin gives the closed form too
    assert m["clv"][-1] == pytest.approx(expected, rel=0.02)


@pytest.mark.parametrize("alpha, beta", [(1.0, 3.0), (2.0, 8.0)])
def test_retention_shifted_beta_geometric_survival(alpha, beta):
    res = retention_run(f"retention.alpha={alpha}", f"retention.beta={beta}")
    m = res.metrics.sort("step")
    steps = int(res.config.sim.steps)
    t = np.arange(steps + 1)
    expected = np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))
    survival = m["customers"].to_numpy() / RET_N
    np.testing.assert_allclose(survival, expected, atol=0.01)
    # heterogeneity: the retention rate rises over time (the fickle leave first)
    c = m["customers"].to_numpy().astype(float)
    rates = c[1:] / c[:-1]
    assert rates[-1] > rates[0] + 0.05
