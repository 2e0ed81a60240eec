"""The app's analyst-tools page and its pure functions, on small real results."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sim.cli import main
from sim.config import ROOT
from sim.dashboard import analysis as an

#: A short burn-in (these tests check the tools, not the steady state) and one Numba thread
#: (the tests share the cores with other work; results do not depend on it).
MARKET = (
    "market.customers=800",
    "sim.steps=20",
    "sim.burn_in=20",
    "engine.threads=1",
    "--jobs",
    "1",
)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A results root holding one small result of each tool (but journeys)."""
    root = tmp_path_factory.mktemp("results")
    space = root / "space.yaml"
    space.write_text(
        "brands.challenger.price: {low: 0.6, high: 1.2}\nwom.talk_rate: {low: 0.05, high: 0.3}\n"
    )
    paths = root / "paths.csv"
    paths.write_text("path,conversions,nulls\nA > B,1,0\nA,0,1\nB,1,1\n")
    data = root / "data.csv"
    data.write_text("step,brand,share\n0,incumbent,0.35\n10,incumbent,0.37\n20,incumbent,0.38\n")
    sp, market = str(space), " ".join(MARKET)
    runs = [
        f"attribute {paths} --out {root / 'attr'}",
        f"sensitivity --params {sp} --kpi share__challenger --n 2 --out {root / 'sens'} {market}",
        f"calibrate {data} --params {sp} --trials 3 --out {root / 'cal'} {market}",
        f"optimise --params {sp} --kpi customers__challenger --trials 2 --validate 2 "
        f"--out {root / 'opt'} {market}",
        f"journeys --sample 200 --out {root / 'jour'} {market}",
        f"attribute --truth --sample 400 --out {root / 'truth'} {market}",
    ]
    for args in runs:
        assert main(args.split()) == 0, args
    return root


def test_results_are_found_and_read(root):
    assert sorted(an.find_results(root)) == ["attr", "cal", "jour", "opt", "sens", "truth"]
    for folder, tool, tables in (
        ("attr", "attribute", {"attribution.parquet"}),
        ("sens", "sensitivity", {"sensitivity.parquet", "samples.parquet"}),
        ("cal", "calibrate", {"fit.parquet", "trials.parquet"}),
        ("opt", "optimise", {"gain.parquet", "validation.parquet", "trials.parquet"}),
        ("jour", "journeys", {"paths.csv", "mix.parquet"}),
        ("truth", "attribute", {"truth.parquet", "attribution.parquet", "paths.csv"}),
    ):
        result = an.load_result(root, folder)
        assert result.tool == tool and result.command.startswith(f"journeysim {tool} ")
        assert set(result.tables) == tables and not result.problems
        assert an.figures(result) and an.headline(result)
        if tool in ("calibrate", "optimise"):
            assert "best.yaml" in result.texts and "space.yaml" in result.texts


def test_only_result_folders_under_the_root_open(root, tmp_path):
    with pytest.raises(ValueError, match="only folders under the results root"):
        an.load_result(root, "..")
    with pytest.raises(ValueError, match="not an analysis result folder"):
        an.load_result(root, ".")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "analysis.yaml").write_text("tool: attribute\ncommand: x\n")
    (root / "link").symlink_to(outside)
    try:
        with pytest.raises(ValueError, match="only folders under the results root"):
            an.load_result(root, "link")
        assert "link" not in an.find_results(root)
    finally:
        (root / "link").unlink()


def test_a_corrupt_table_is_a_message_not_a_crash(root, tmp_path):
    import shutil

    copy = root / "broken"
    shutil.copytree(root / "sens", copy)
    try:
        (copy / "sensitivity.parquet").write_bytes(b"PAR1 not really")
        (copy / "samples.parquet").unlink()
        result = an.load_result(root, "broken")
        assert any("sensitivity.parquet: cannot be read" in p for p in result.problems)
        assert any("samples.parquet: missing" in p for p in result.problems)
        assert an.figures(result) == []
        (copy / "analysis.yaml").write_text("tool: [unclosed\n")
        with pytest.raises(ValueError, match="cannot be read"):
            an.load_result(root, "broken")
    finally:
        shutil.rmtree(copy)


def page_app(root) -> AppTest:
    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from app_pages.analysis import page\n"
        f"page(results_root={str(root)!r})\n"
    )
    return AppTest.from_string(script, default_timeout=60)


def test_the_page_shows_a_result_with_its_command(root):
    at = page_app(root)
    at.run()
    assert not at.exception
    at.text_input(key="analysis_path").set_value("opt").run()
    assert not at.exception
    commands = [c.value for c in at.code]
    assert any(
        c.startswith("journeysim optimise ") and "--kpi customers__challenger" in c
        for c in commands
    )
    assert any("brands.challenger.price=" in c for c in commands)  # best.yaml
    assert len(at.dataframe) == 3
    assert [m.label for m in at.metric][:1] == ["gain in customers__challenger"]
    at.text_input(key="analysis_path").set_value("../..").run()
    assert not at.exception
    assert "only folders under the results root" in at.error[0].value


def test_the_page_says_where_to_put_results_when_there_are_none(tmp_path):
    at = page_app(tmp_path)
    at.run()
    assert not at.exception
    assert "No analysis results" in at.info[0].value
