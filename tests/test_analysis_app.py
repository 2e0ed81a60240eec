"""The app's analyst-tools page and its pure functions, on small real results."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from sim.analysis.palette import PALETTE
from sim.cli import main
from sim.config import ROOT
from sim.dashboard import analysis as an
from sim.dashboard import analysis_figures as figs
from sim.dashboard import charts
from sim.dashboard.format import format_value

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
        f"sensitivity --params {sp} --kpi share__challenger --kpi revenue__challenger --n 2 "
        f"--out {root / 'sens2'} {market}",
        f"calibrate {data} --params {sp} --trials 3 --out {root / 'cal'} {market}",
        f"optimise --params {sp} --kpi customers__challenger --trials 2 --validate 2 "
        f"--out {root / 'opt'} {market}",
        f"optimise --budget challenger=2000 --bounds challenger.app=0:0 --bounds "
        f"challenger.search=0:0 --kpi value__challenger --trials 2 --validate 2 "
        f"--out {root / 'optb'} {market}",
        f"journeys --sample 200 --out {root / 'jour'} {market}",
        f"attribute --truth --sample 400 --out {root / 'truth'} {market}",
    ]
    for args in runs:
        assert main(args.split()) == 0, args
    return root


def test_results_are_found_and_read(root):
    assert sorted(an.find_results(root)) == [
        "attr", "cal", "jour", "opt", "optb", "sens", "sens2", "truth"
    ]  # fmt: skip
    for folder, tool, tables in (
        ("attr", "attribute", {"attribution.parquet"}),
        ("sens", "sensitivity", {"sensitivity.parquet", "samples.parquet"}),
        ("sens2", "sensitivity", {"sensitivity.parquet", "samples.parquet"}),
        ("cal", "calibrate", {"intervals.parquet", "fit.parquet", "trials.parquet"}),
        ("opt", "optimise", {"gain.parquet", "validation.parquet", "trials.parquet"}),
        (
            "optb",
            "optimise",
            {
                "gain.parquet",
                "validation.parquet",
                "trials.parquet",
                "marginal.parquet",
                "curves.parquet",
            },
        ),  # fmt: skip
        ("jour", "journeys", {"paths.csv", "mix.parquet"}),
        ("truth", "attribute", {"truth.parquet", "attribution.parquet", "paths.csv"}),
    ):
        result = an.load_result(root, folder)
        assert result.tool == tool and result.command.startswith(f"journeysim {tool} ")
        assert set(result.tables) == tables and not result.problems
        assert figs.figures(result) and an.headline(result)
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
        assert figs.figures(result) == []
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
    assert any("scenario.changes={brands.challenger.price: " in c for c in commands)  # best.yaml
    assert len(at.dataframe) == 3
    assert [m.label for m in at.metric][:1] == ["Gain in Customers at end, challenger"]
    headers = [c for df in at.dataframe for c in df.value.columns]
    assert "Retention, incumbent (%)" in headers and "Revenue, challenger (cu)" in headers
    assert not [h for h in headers + [m.label for m in at.metric] if "__" in h]
    at.text_input(key="analysis_path").set_value("../..").run()
    assert not at.exception
    assert "only folders under the results root" in at.error[0].value


def test_the_page_says_where_to_put_results_when_there_are_none(tmp_path):
    at = page_app(tmp_path)
    at.run()
    assert not at.exception
    assert "No analysis results" in at.info[0].value


def test_the_two_folder_widgets_have_distinct_labels(root):
    at = page_app(root)
    at.run()
    assert not at.exception
    (choose,) = at.selectbox
    (typed,) = at.text_input
    assert choose.key == "analysis_folder" and typed.key == "analysis_path"
    assert choose.label != typed.label
    assert "found under the results root" in choose.label
    assert typed.label.startswith("Or type another result folder")
    assert choose.value == choose.options[0]  # the newest result is shown
    assert at.subheader and at.get("plotly_chart")


# -- labels, formats, palette: pure functions -------------------------------------------------
RESULTS = ("attr", "sens", "sens2", "cal", "opt", "optb", "jour", "truth")


def raw_names(result) -> set[str]:
    """The snake_case column names of a result's tables (config keys with dots aside)."""
    return {c for t in result.tables.values() for c in t.columns if "_" in c and "." not in c}


def figure_texts(fig) -> list[str]:
    """Every title, axis title, legend entry and annotation a figure shows."""
    layout = fig.layout
    texts = [layout.title.text, layout.legend.title.text]
    for key in layout:
        if key.startswith(("xaxis", "yaxis")):
            texts.append(layout[key].title.text)
    texts += [t.name for t in fig.data]
    texts += [a.text for a in layout.annotations]
    return [t for t in texts if t]


def test_every_label_on_the_page_is_a_human_name(root):
    for folder in RESULTS:
        result = an.load_result(root, folder)
        raw = raw_names(result) | {"mu_star_conf", "mu_star", "S1_conf", "share__challenger"}
        labels = [result.title]
        for item in an.headline(result):
            labels.append(item.label)
        for name in result.tables:
            view = an.table_view(result, name)
            labels += view.frame.columns + list(view.formats)
            assert set(view.formats) <= set(view.frame.columns)
        for fig in figs.figures(result):
            labels += figure_texts(fig)
        assert not result.problems, folder
        for label in labels:
            assert "__" not in label, (folder, label)
            assert label not in raw, (folder, label)
            assert not any(f"({r})" in label or label.startswith(f"{r} ") for r in raw), label


def test_columns_read_like_compare():
    info = an.column_info("trials.parquet", "retention__incumbent", {})
    assert info.label == "Retention, incumbent (%)" and info.kind == "percent"
    spec = an.column_format(info, [0.3001, 0.4])
    assert (spec.format, spec.scale) == ("%.1f%%", 100.0)  # 30.0%, not 0.3001
    money = an.column_info("trials.parquet", "revenue__challenger", {})
    assert money.label == "Revenue, challenger (cu)"
    assert an.column_format(money, [5114.4, 5017.7]).format == "%,.0f"  # 5,114
    conf = an.column_info("sensitivity.parquet", "mu_star_conf", {"kpi": "share__challenger"})
    assert conf.label == "μ* 95% half-width (pp)"
    assert an.column_format(conf, [0.0069, 0.012]).format.endswith(" pp")
    gain = an.column_info("gain.parquet", "gain", {"kpi": "revenue__challenger"})
    assert gain.label == "Gain (best − baseline) (cu)" and gain.signed
    assert an.column_format(gain, [1234.5]).format == "%+,.0f"
    constraint = an.column_info(
        "trials.parquet", "violation_1", {"constraints": ["churn_rate__challenger <= 0.1"]}
    )
    assert constraint.label == "Violation of constraint 1"
    assert "churn_rate__challenger <= 0.1" in constraint.help


def test_a_budget_result_shows_each_channels_curve_and_returns(root):
    result = an.load_result(root, "optb")
    band = figs.curve_band(result)
    curves = result.tables["curves.parquet"]
    assert band["panel"].unique(maintain_order=True).to_list() == [
        "challenger: tv",
        "challenger: social",
    ]
    tv = curves.filter((pl.col("channel") == "tv") & (pl.col("multiplier") == 0.5))
    row = band.filter((pl.col("panel") == "challenger: tv") & (pl.col("multiplier") == 0.5))
    assert row["mean"][0] == pytest.approx(tv["kpi"].mean())  # the mean over paired seeds
    assert row["low"][0] <= row["mean"][0] <= row["high"][0]
    fig = figs.figures(result)[1]
    assert "Response curves" in fig.layout.title.text and not result.problems
    view = an.table_view(result, "marginal.parquet")
    assert {"Average ROAS", "Marginal ROAS", "Spend a year (cu)"} <= set(view.frame.columns)
    assert "Marginal Profit + equity change, challenger" in view.frame.columns
    labels = [h.label for h in an.headline(result)]
    assert labels[0] == "Gain in Profit + equity change, challenger"
    assert "Change in customer equity" in labels


def test_tables_show_shares_as_percentages(root):
    result = an.load_result(root, "attr")
    view = an.table_view(result, "attribution.parquet")
    shares = view.frame["Share of conversions (%)"].to_list()
    assert shares == pytest.approx([75.0, 25.0])
    assert view.formats["Share of conversions (%)"].format == "%.1f%%"
    assert view.frame["Channel"].to_list() == ["B", "A"]
    paths = an.table_view(an.load_result(root, "jour"), "paths.csv").frame
    assert "" not in paths["Path"].to_list() and paths["Path"].null_count() == 0
    opt = an.load_result(root, "opt")
    trials = an.table_view(opt, "trials.parquet")
    assert trials.frame["Trial"].dtype.is_integer()
    share = trials.frame["Share at end, challenger (%)"]
    assert share.to_list() == pytest.approx(
        [100 * v for v in opt.tables["trials.parquet"]["share__challenger"].to_list()]
    )
    gain, baseline, best, equity = an.headline(opt)
    g = opt.manifest["gain"]
    assert baseline.value == format_value(g["baseline"], "count")
    assert gain.value.startswith(f"{g['gain']:+.0f} ± ") and "__" not in gain.label
    assert equity.label == "Change in customer equity" and "CLV" in equity.help


def test_a_fit_of_columns_of_two_kinds_reads_in_each_unit(tmp_path):
    fit = pl.DataFrame(
        {
            "step": [0, 0],
            "brand": ["incumbent", "incumbent"],
            "column": ["share", "customers"],
            "observed": [0.35, 1234.0],
            "simulated": [0.3, 1200.0],
            "low": [0.29, 1190.0],
            "high": [0.31, 1210.0],
            "replicates": [2, 2],
        }
    )
    result = an.AnalysisResult(
        tmp_path, "calibrate", "journeysim calibrate x", {"columns": ["share", "customers"]},
        tables={"fit.parquet": fit},
    )  # fmt: skip
    frame = an.table_view(result, "fit.parquet").frame
    assert frame["Observed"].to_list() == ["35.0%", "1,234"]
    assert frame["Fitted column"].to_list() == ["Market share", "Customers"]
    (fig,) = [f for f in figs.figures(result)]
    assert not result.problems and fig.layout.yaxis.tickformat == ".1~%"


def colours_of(fig) -> set[str]:
    """The colours of a figure's markers, bars and lines."""
    out = set()
    for trace in fig.data:
        marker = getattr(trace, "marker", None)
        if marker is not None and isinstance(marker.color, str):
            out.add(marker.color)
        line = getattr(trace, "line", None)
        if line is not None and isinstance(line.color, str) and (line.width or 1) > 0:
            out.add(line.color)
    return out


def test_charts_use_the_app_palette_and_layout(root):
    series = {*charts.SCENARIO_PALETTE, charts.BASELINE_COLOUR, figs.MUTED}
    default_template = go.Figure().layout.template  # no "plotly_white" of the command line
    brands = set(PALETTE)
    for folder in RESULTS:
        result = an.load_result(root, folder)
        for fig in figs.figures(result):
            used = colours_of(fig)
            assert used, (folder, fig.layout.title.text)
            assert used <= series | brands, (folder, used)
            if folder in ("attr", "sens", "sens2", "opt", "truth"):
                assert used <= series, (folder, used)  # no Plotly default blue and orange
            assert fig.layout.title.x == 0 and fig.layout.legend.orientation == "h"
            assert fig.layout.template == default_template  # as Compare's: the app's theme
    truth = an.load_result(root, "truth")
    markov, real = figs.truth_figure(truth).data
    assert real.marker.color == charts.BASELINE_COLOUR  # the reference in Compare's baseline grey
    attribution = figs.attribution_figure(an.load_result(root, "attr"))
    assert attribution.layout.yaxis.tickformat == ".1~%"  # shares on a % axis


def morris_result(tmp_path, kpi="share__challenger"):
    table = pl.DataFrame(
        {
            "param": ["wom.talk_rate", "brands.challenger.price"],
            "mu": [0.001, -0.02],
            "mu_star": [0.004, 0.02],
            "mu_star_conf": [0.01, 0.005],  # wider than mu* for the first
            "mu_star_low": [-0.006, 0.015],  # as an older file may hold it: below zero
            "mu_star_high": [0.014, 0.025],
            "sigma": [0.006, 0.004],
            "rank": [2, 1],
            "kpi": [kpi, kpi],
            "method": ["morris", "morris"],
        }
    )
    return an.AnalysisResult(
        tmp_path, "sensitivity", "journeysim sensitivity", {"kpi": kpi, "method": "morris"},
        tables={"sensitivity.parquet": table},
    )  # fmt: skip


def test_morris_error_bars_stop_at_zero_and_match_the_table(tmp_path, root):
    result = morris_result(tmp_path)
    fig = figs.sensitivity_figure(result)
    mu_star = fig.data[0]
    assert list(mu_star.x) == ["brands.challenger.price", "wom.talk_rate"]  # ranked
    assert list(mu_star.y) == pytest.approx([2.0, 0.4])  # pp: a share KPI
    minus, plus = list(mu_star.error_y.arrayminus), list(mu_star.error_y.array)
    assert minus == pytest.approx([0.5, 0.4])  # min(conf, mu*): the arm stops at 0
    assert plus == pytest.approx([0.5, 1.0])
    assert all(y - m >= 0 for y, m in zip(mu_star.y, minus, strict=True))
    view = an.table_view(result, "sensitivity.parquet").frame
    assert view.columns[:3] == ["Parameter", "μ: mean effect (pp)", "μ*: mean absolute effect (pp)"]
    assert view["μ* 95% low (pp)"].to_list() == pytest.approx(
        [y - m for y, m in zip(mu_star.y, minus, strict=True)]
    )
    assert view["μ* 95% high (pp)"].to_list() == pytest.approx(
        [y + p for y, p in zip(mu_star.y, plus, strict=True)]
    )
    assert fig.layout.yaxis.title.text == "Effect on Share at end, challenger (pp)"
    assert "kpi" not in " ".join(view.columns).lower()
    # the real result too: every arm within [0, mu*]
    (real,) = figs.figures(an.load_result(root, "sens"))
    bars = real.data[0]
    assert all(0 <= m <= y + 1e-12 for y, m in zip(bars.y, bars.error_y.arrayminus, strict=True))


def test_sobol_indices_read_as_shares_of_the_variance(tmp_path):
    table = pl.DataFrame(
        {
            "param": ["a.x", "b.y"],
            "S1": [0.6, 0.1], "S1_conf": [0.1, 0.2], "S1_low": [0.5, -0.1], "S1_high": [0.7, 0.3],
            "ST": [0.7, 0.2], "ST_conf": [0.1, 0.1], "ST_low": [0.6, 0.1], "ST_high": [0.8, 0.3],
            "rank": [1, 2],
        }
    )  # fmt: skip
    result = an.AnalysisResult(
        tmp_path, "sensitivity", "x", {"kpi": "revenue__budget", "method": "sobol"},
        tables={"sensitivity.parquet": table},
    )  # fmt: skip
    fig = figs.sensitivity_figure(result)
    assert [t.name for t in fig.data] == [
        "S1: first-order share of the variance",
        "ST: total share of the variance",
    ]
    assert fig.layout.yaxis.tickformat == ".1~%"
    view = an.table_view(result, "sensitivity.parquet")
    assert view.frame["S1: first-order share of the variance (%)"].to_list() == pytest.approx(
        [60.0, 10.0]
    )
    assert view.formats["S1 95% half-width (pp)"].format.endswith(" pp")


# -- a sensitivity study of several KPIs -------------------------------------------------------
def test_a_study_of_several_kpis_shows_each(root):
    """A share and money from one design: a figure per KPI, each in its unit; one table."""
    result = an.load_result(root, "sens2")
    kpis = ["share__challenger", "revenue__challenger"]
    assert an.result_kpis(result) == kpis and not result.problems
    assert result.title == "Sensitivity of Share at end, challenger; Revenue, challenger (Morris)"
    share, revenue = figs.figures(result)
    assert share.layout.yaxis.title.text == "Effect on Share at end, challenger (pp)"
    assert revenue.layout.yaxis.title.text == "Effect on Revenue, challenger (cu)"
    table = result.tables["sensitivity.parquet"]
    for fig, kpi, scale in ((share, kpis[0], 100.0), (revenue, kpis[1], 1.0)):
        part = table.filter(pl.col("kpi") == kpi).sort("rank")
        assert list(fig.data[0].y) == pytest.approx([v * scale for v in part["mu_star"]])
        alone = an.for_kpi(result, kpi)  # the result as a study of that KPI alone
        assert alone.manifest["kpi"] == kpi and alone.title.startswith(
            f"Sensitivity of {an.kpi_name(kpi)}"
        )
        assert alone.tables["samples.parquet"].columns[-1] == kpi
        assert [t.y for t in figs.figures(alone)[0].data] == [t.y for t in fig.data]
    view = an.table_view(result, "sensitivity.parquet").frame
    assert view.columns[:2] == ["KPI", "Parameter"]  # which KPI each row is of
    assert view["KPI"].unique(maintain_order=True).to_list() == [
        "Share at end, challenger", "Revenue, challenger"
    ]  # fmt: skip
    effects = view["μ*: mean absolute effect"].to_list()  # each in its own KPI's unit
    assert all(e.endswith(" pp") for e in effects[:2]) and all(
        e.endswith(" cu") for e in effects[2:]
    )
    labels = [h.label for h in an.headline(result)]
    assert labels[:2] == ["Moves Share at end, challenger most", "Moves Revenue, challenger most"]


def test_pairs_of_several_kpis_say_which_kpi(tmp_path):
    pairs = pl.DataFrame(
        {"param_a": ["a.x", "a.x"], "param_b": ["b.y", "b.y"], "S2": [0.1, 0.2],
         "S2_conf": [0.01, 0.02], "S2_low": [0.09, 0.18], "S2_high": [0.11, 0.22],
         "kpi": ["share__budget", "revenue__budget"]}
    )  # fmt: skip
    manifest = {"kpis": ["share__budget", "revenue__budget"], "method": "sobol"}
    result = an.AnalysisResult(tmp_path, "sensitivity", "x", manifest,
                               tables={"interactions.parquet": pairs})  # fmt: skip
    view = an.table_view(result, "interactions.parquet").frame
    assert view["KPI"].to_list() == ["Share at end, budget", "Revenue, budget"]
    one = an.for_kpi(result, "revenue__budget")
    view = an.table_view(one, "interactions.parquet").frame
    assert "KPI" not in view.columns and view["S2 (pair)"].to_list() == [0.2]


def test_the_page_shows_every_kpi_of_a_study(root):
    at = page_app(root)
    at.run()
    at.text_input(key="analysis_path").set_value("sens2").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2  # one figure per KPI
    kpi = at.selectbox(key="analysis_kpi")
    assert kpi.options[0] == "All KPIs" and len(kpi.options) == 3
    kpi.set_value("revenue__challenger").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1  # the chosen KPI alone
