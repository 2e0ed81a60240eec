"""journeysim calibrate: hidden parameters are fitted back; data problems are one line."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from sim import load_config, simulate
from sim.analysis.calibrate import (
    Target,
    noise_scales,
    observed_long,
    per_period,
    read_data,
    spread_scales,
)
from sim.cli import main
from sim.config import ROOT, ConfigError
from tests.clitools import cli

HERE = {"PYTHONPATH": str(ROOT)}
#: The hidden truth: the budget brand's product quality and the challenger's price.
TRUTH = {"brands.budget.product_quality": 0.58, "brands.challenger.price": 0.8}
#: The default burn-in stays: the data start in the steady state of the hidden values.
MARKET = ("market.customers=10000",)


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """16 weeks of weekly share, acquisitions and churn of a market with hidden values."""
    folder = tmp_path_factory.mktemp("observed")
    cfg = load_config([*MARKET, "sim.steps=112", "seed=5", *(f"{k}={v}" for k, v in TRUTH.items())])
    weekly = per_period(simulate(cfg).metrics, 7, ["share", "acquired", "churned"])
    path = folder / "weekly.csv"
    weekly.write_csv(path)
    return path


def test_hidden_values_are_recovered(observed, tmp_path):
    """Data from seed 5 fitted on seed 1 (other customers, other draws).

    Stated tolerance: product quality within 0.03 (10% of its range), price within 0.08
    (13% of its range; share data pin the price down less at this market size).
    """
    space = tmp_path / "space.yaml"
    space.write_text(
        "brands.budget.product_quality: {low: 0.5, high: 0.8}\n"
        "brands.challenger.price: {low: 0.6, high: 1.2}\n"
    )
    out = tmp_path / "fit"
    options = "--period 7 --trials 24 --replicates 1 --jobs 2 --seed 1".split()
    r = cli(
        tmp_path,
        "calibrate",
        str(observed),
        "--params",
        str(space),
        *options,
        "--out",
        str(out),
        *MARKET,
        env=HERE,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    overrides = yaml.safe_load((out / "best.yaml").read_text())
    best = {k: float(v) for k, _, v in (o.partition("=") for o in overrides)}
    assert best["brands.budget.product_quality"] == pytest.approx(0.58, abs=0.03)
    assert best["brands.challenger.price"] == pytest.approx(0.8, abs=0.08)
    # best.yaml is ready to pass back
    assert load_config([*MARKET, *overrides]).brands.challenger.price == pytest.approx(
        best["brands.challenger.price"]
    )
    trials = pl.read_parquet(out / "trials.parquet")
    assert trials.height == 24
    assert {"trial", "state", "loss", "loss_share", "loss_churned", "loss_acquired", *TRUTH} <= set(
        trials.columns
    )
    manifest = yaml.safe_load((out / "analysis.yaml").read_text())
    assert trials["loss"].min() == pytest.approx(manifest["loss"])
    # the loss scales are recorded, as docs/analysis.md says: one per column, positive
    assert set(manifest["scales"]) == {"share", "acquired", "churned"}
    assert all(v > 0 for v in manifest["scales"].values())
    fit = pl.read_parquet(out / "fit.parquet")
    assert set(fit["column"].unique()) == {"share", "acquired", "churned"}
    assert fit.height == 3 * 3 * 17  # columns x brands x weeks 0..16
    assert (fit["low"] == fit["simulated"]).all() and (fit["high"] == fit["simulated"]).all()
    assert (out / "fit.html").stat().st_size > 10_000
    # the spread over the best trials is printed with the best values
    assert "brands.challenger.price" in r.stdout and "sd" in r.stdout
    # both are identified: the loss rises away from the best; their intervals are written
    intervals = pl.read_parquet(out / "intervals.parquet")
    assert intervals["identified"].all() and manifest["unidentified"] == []
    assert "not identified" not in r.stderr


def test_a_parameter_the_data_cannot_see_is_reported_as_such(observed, tmp_path):
    """The cost of a store contact changes no share, acquisition or churn: no fit can find it.

    It must be flagged (one warning line, in best.yaml and analysis.yaml) and not given with
    16 digits, while the product quality beside it is found.
    """
    space = tmp_path / "space.yaml"
    space.write_text(
        "brands.budget.product_quality: {low: 0.5, high: 0.8}\n"
        "channels.store.service_cost: {low: 1.0, high: 8.0}\n"
    )
    out = tmp_path / "fit"
    options = "--period 7 --trials 24 --replicates 1 --jobs 2 --seed 1".split()
    r = cli(tmp_path, "calibrate", str(observed), "--params", str(space), *options, "--out",
            str(out), *MARKET, env=HERE, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stderr
    warned = [x for x in r.stderr.splitlines() if "not identified" in x]
    assert len(warned) == 1 and warned[0].startswith(
        "journeysim: warning: channels.store.service_cost: not identified"
    )
    manifest = yaml.safe_load((out / "analysis.yaml").read_text())
    assert manifest["unidentified"] == ["channels.store.service_cost"]
    text = (out / "best.yaml").read_text()
    assert "channels.store.service_cost: the data support" in text and "NOT identified" in text
    value = next(o for o in yaml.safe_load(text) if o.startswith("channels.store.service_cost="))
    assert len(value.split("=")[1]) <= 5  # rounded to what the data support, not 16 digits
    intervals = pl.read_parquet(out / "intervals.parquet")
    quality = intervals.filter(pl.col("param") == "brands.budget.product_quality").row(
        0, named=True
    )
    assert quality["identified"] and quality["min"] <= 0.58 + 0.05


def test_flows_are_summed_and_stocks_taken_at_the_end_of_a_period():
    metrics = pl.DataFrame(
        {
            "step": [0, 1, 2, 3, 4],
            "brand": ["a"] * 5,
            "acquired": [0, 1, 2, 3, 4],
            "share": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    out = per_period(metrics, 2, ["acquired", "share"]).sort("step")
    assert out["step"].to_list() == [0, 1, 2]
    assert out["acquired"].to_list() == [0, 3, 7]
    assert out["share"].to_list() == [0.1, 0.3, 0.5]


def test_the_loss_is_zero_at_the_data_and_scaled_by_the_model_noise():
    data = pl.DataFrame(
        {
            "step": [1, 2, 3, 1, 2, 3],
            "brand": ["a", "a", "a", "b", "b", "b"],
            "share": [0.2, 0.3, 0.4, 0.8, 0.7, 0.6],
            "churned": [10.0, 30.0, 10.0, 5.0, 25.0, 5.0],
        }
    )
    obs = observed_long(data)
    assert spread_scales(obs)["churned"] == pytest.approx(float(data["churned"].std(ddof=0)))
    order = obs["column"].to_list()
    assert order == ["churned"] * 6 + ["share"] * 6
    # two reference seeds: churned differs by 2 between them everywhere, share by 0.02
    ref = obs["observed"].to_numpy()[None, :].repeat(2, axis=0)
    ref[1, :6] += 2.0
    ref[1, 6:] += 0.02
    s = noise_scales(obs, ref)
    assert s["churned"] == pytest.approx(2 / 2**0.5) and s["share"] == pytest.approx(0.02 / 2**0.5)
    target = Target(obs, 1, s)
    perfect = obs["observed"].to_numpy()[None, :]
    assert target.losses(perfect)[0] == 0.0
    shifted = perfect + (obs["column"] == "share").to_numpy() * s["share"]  # one noise unit
    loss, parts = target.losses(shifted)
    assert parts == {"churned": 0.0, "share": pytest.approx(1.0)} and loss == pytest.approx(0.5)
    # a column the seeds do not move falls back to the observed spread
    assert noise_scales(obs, perfect.repeat(2, axis=0)) == spread_scales(obs)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("brand,share\na,0.1\n", "column 'step' is missing"),
        ("step,brand,loyalty\n1,a,3\n", "no column to fit"),
        ("step,brand,share\n1.5,incumbent,0.3\n", "row 1: step must be a whole number"),
        ("step,brand,share\n-1,incumbent,0.3\n", "must be a whole number >= 0"),
        ("step,brand,share\n1,incumbent,high\n", "column 'share' must hold numbers"),
        ("step,brand,share\n1,incumbent,0.3\n1,incumbent,0.4\n", "appears more than once"),
    ],
)
def test_bad_data_is_one_line(tmp_path, content, words):
    path = tmp_path / "data.csv"
    path.write_text(content)
    with pytest.raises(ConfigError) as exc:
        read_data(path)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_data_against_the_market_is_checked_before_any_work(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.05, high: 0.3}\n")
    data = tmp_path / "data.csv"
    data.write_text("step,brand,share\n1,incumbent,0.3\n2,acme,0.4\n")
    out = tmp_path / "out"
    assert main(["calibrate", str(data), "--params", str(space), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "brand 'acme' is not in the market" in err
    data.write_text("step,brand,share\n10,incumbent,0.3\n")
    assert (
        main(
            [
                "calibrate",
                str(data),
                "--params",
                str(space),
                "sim.steps=20",
                "--period",
                "7",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "sim.steps=20" in capsys.readouterr().err
    assert not out.exists()


def test_columns_present_are_fitted_and_missing_cells_skipped(tmp_path, capsys):
    """Only the columns in the file are fitted; empty cells drop out of the loss."""
    data = tmp_path / "data.csv"
    data.write_text(
        "step,brand,customers,nps,note\n0,incumbent,,,x\n5,incumbent,400,,y\n"
        "10,challenger,150,12.5,z\n"
    )
    frame = read_data(data)
    assert "note" in capsys.readouterr().err  # ignored, said so
    obs = observed_long(frame)
    assert sorted(obs["column"].unique()) == ["customers", "nps"]
    assert obs.height == 3
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.05, high: 0.3}\n")
    out = tmp_path / "out"
    code = main(
        [
            "calibrate",
            str(data),
            "--params",
            str(space),
            "--trials",
            "3",
            "--replicates",
            "2",
            "--jobs",
            "1",
            "--out",
            str(out),
            "market.customers=1000",
            "sim.burn_in=20",
            "engine.threads=1",
        ]
    )
    assert code == 0, capsys.readouterr().err
    fit = pl.read_parquet(out / "fit.parquet")
    assert sorted(fit["column"].unique()) == ["customers", "nps"]
    assert fit.height == 3
    # simulated is the mean of the two replicates, low and high their extremes
    assert (fit["replicates"] == 2).all()
    assert ((fit["low"] <= fit["simulated"]) & (fit["simulated"] <= fit["high"])).all()
    assert (fit["low"] < fit["high"]).any()
    assert (fit["simulated"] - (fit["low"] + fit["high"]) / 2).abs().max() < 1e-9
    assert "market.customers=1000" in yaml.safe_load((out / "analysis.yaml").read_text())["command"]
