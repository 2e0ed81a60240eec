"""The parameter-space file and the options every analyst tool shares: one-line refusals."""

from __future__ import annotations

import math

import pytest

from sim.analysis.space import Param, load_space, override, parse_space
from sim.cli import main
from sim.config import ROOT, ConfigError, load_config
from tests.clitools import cli

#: This checkout's code in a fresh process, whatever folder it runs in.
HERE = {"PYTHONPATH": str(ROOT)}


def one_line_error(capsys, *args: str) -> str:
    """Run the CLI in-process; it must refuse with exit code 2 and one line on stderr."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("journeysim: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("wom.talk_rate: {low: 0.3, high: 0.1}", ("wom.talk_rate", "low=0.3", "below high")),
        ("wom.talk_rate: {low: 0.2, high: 0.2}", ("wom.talk_rate", "below high")),
        (
            "brands.incumbent.ad_reach.tv: {low: 0, high: 0.05, log: true}",
            ("brands.incumbent.ad_reach.tv", "log scale", "low > 0"),
        ),
        (
            "wom.talk_rate: {low: 0.1, high: 0.3, step: 0.1}",
            ("wom.talk_rate", "unknown field 'step'"),
        ),
        ("wom.talk_rate: {low: 0.1}", ("wom.talk_rate", "high is missing")),
        ("wom.talk_rate: {low: a, high: 0.3}", ("wom.talk_rate", "low='a'", "number")),
        ("wom.talk_rate: {low: 0.1, high: 0.3, log: maybe}", ("wom.talk_rate", "log='maybe'")),
        ("wom.talk_rate: 0.2", ("wom.talk_rate", "must be a range")),
        ("- wom.talk_rate", ("must be a mapping",)),
        ("wom.talk_rate: {low: .nan, high: 0.3}", ("wom.talk_rate", "finite")),
    ],
)
def test_malformed_space_is_one_line_naming_the_key(text, words):
    with pytest.raises(ConfigError) as exc:
        parse_space(text, "space.yaml")
    message = str(exc.value)
    assert "\n" not in message and message.startswith("space.yaml: ")
    for w in words:
        assert w in message


def test_keys_and_bounds_are_checked_like_overrides(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.1, high: 1.5}\n")
    with pytest.raises(ConfigError, match=r"wom\.talk_rate: wom\.talk_rate=1\.5: .*between 0"):
        load_space(space)
    space.write_text("wom.talk_rat: {low: 0.1, high: 0.3}\n")
    with pytest.raises(ConfigError, match=r"space\.yaml: wom\.talk_rat: .*talk_rat"):
        load_space(space)
    space.write_text("brands.nobody.price: {low: 0.5, high: 1.0}\n")
    with pytest.raises(ConfigError, match="brands.nobody.price"):
        load_space(space)
    space.write_text("network.kind: {low: 1, high: 2}\n")
    with pytest.raises(ConfigError, match="network.kind"):
        load_space(space)
    space.write_text("brands.incumbent: {low: 1, high: 2}\n")
    with pytest.raises(ConfigError, match="section of the config"):
        load_space(space)
    space.write_text("sim.steps: {low: 10.5, high: 20}\n")
    with pytest.raises(ConfigError, match="integer key needs integer bounds"):
        load_space(space)
    # each high bound is fine alone, but the corner of the space where all are high is not
    shares = [
        "brands.incumbent.initial_share=0.3",
        "brands.challenger.initial_share=0.2",
        "brands.budget.initial_share=0.2",
    ]
    space.write_text(
        "brands.incumbent.initial_share: {low: 0.2, high: 0.5}\n"
        "brands.budget.initial_share: {low: 0.1, high: 0.45}\n"
    )
    with pytest.raises(ConfigError, match=r"at its high bound together: .*must sum to at most 1"):
        load_space(space, shares)
    with pytest.raises(ConfigError, match="no such parameter-space file"):
        load_space(tmp_path / "missing.yaml")


def test_a_valid_space_reads_types_and_scales(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(
        "wom.talk_rate: {low: 0.02, high: 0.3}\n"
        "brands.incumbent.ad_reach.tv: {low: 0.001, high: 0.05, log: true}\n"
        "sim.steps: {low: 20, high: 40}\n"
    )
    params = load_space(space, ["market.customers=1000"])
    assert [p.key for p in params] == ["wom.talk_rate", "brands.incumbent.ad_reach.tv", "sim.steps"]
    talk, tv, steps = params
    assert not talk.integer and tv.log and steps.integer
    assert tv.from_unit(0.5) == pytest.approx(math.sqrt(0.001 * 0.05))  # geometric midpoint
    assert talk.from_unit(0.5) == pytest.approx(0.16)
    assert steps.from_unit(0.51) == 30 and isinstance(steps.from_unit(0.51), int)
    assert tv.to_unit(tv.from_unit(0.3)) == pytest.approx(0.3)
    # the value written back is an ordinary override
    cfg = load_config([override(tv.key, tv.from_unit(0.25)), override(steps.key, 25)])
    assert cfg.sim.steps == 25


def test_param_values_stay_in_range():
    p = Param("x", 1.0, 3.0, integer=True)
    assert p.value(0.2) == 1 and p.value(9.0) == 3 and p.value(2.4) == 2


def test_tools_refuse_a_bad_space_before_any_work(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.3, high: 0.1}\n")
    out = tmp_path / "out"
    for tool in (
        ["sensitivity", "--kpi", "share__incumbent"],
        ["optimise", "--kpi", "share__incumbent"],
    ):
        line = one_line_error(capsys, *tool, "--params", str(space), "--out", str(out))
        assert "wom.talk_rate" in line and "below high" in line
    assert not out.exists()


def test_unknown_kpi_lists_the_valid_names(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.05, high: 0.3}\n")
    line = one_line_error(
        capsys,
        "sensitivity",
        "--params",
        str(space),
        "--kpi",
        "loyalty__x",
        "--out",
        str(tmp_path / "o"),
    )
    assert "--kpi loyalty__x" in line
    assert "retention__incumbent" in line and "profit__budget" in line and "cac__challenger" in line


def test_bad_options_and_overrides_are_one_line(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.05, high: 0.3}\n")
    base = ["sensitivity", "--params", str(space), "--kpi", "share__incumbent"]
    assert "--replicates 0" in one_line_error(capsys, *base, "--replicates", "0")
    assert "--jobs 0" in one_line_error(capsys, *base, "--jobs", "0")
    # a cap from the machine: 4 processes per CPU
    assert "--jobs 100000: at most" in one_line_error(capsys, *base, "--jobs", "100000")
    assert "invalid int value" in one_line_error(capsys, *base, "--n", "many")
    assert "wom.talk_rate=7" in one_line_error(capsys, *base, "wom.talk_rate=7")
    assert "--method" in one_line_error(capsys, *base, "--method", "fast")
    assert "--params" in one_line_error(capsys, "optimise", "--kpi", "share__incumbent")


def test_error_from_a_fresh_process_has_no_traceback(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("wom.talk_rate: {low: 0.05, high: 0.3, log: yes please}\n")
    r = cli(tmp_path, "calibrate", "data.csv", "--params", str(space), env=HERE)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("journeysim: error: ")
    assert not (tmp_path / "outputs").exists()
