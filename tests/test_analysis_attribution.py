"""journeysim attribute PATHS.csv: Markov removal effects against chains computed by hand."""

from __future__ import annotations

import polars as pl
import pytest

from sim.analysis.attribution import markov_attribution, read_paths
from sim.cli import main
from sim.config import ConfigError


def paths(*rows: tuple[str, int, int]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["path", "conversions", "nulls"], orient="row")


def by_channel(table: pl.DataFrame) -> dict[str, dict]:
    return {r["channel"]: r for r in table.iter_rows(named=True)}


def test_two_channel_chain():
    """start->A 1/2, start->B 1/2; A->B 1/2, A->null 1/2; B->conv 2/3, B->null 1/3.

    P(conv) = 1/2 (1/2 * 2/3) + 1/2 * 2/3 = 1/2. Without A: 1/2 * 2/3 = 1/3, so RE_A = 1/3;
    without B nothing converts, RE_B = 1. Shares 1/4 and 3/4 of the 2 conversions.
    """
    t = by_channel(markov_attribution(paths(("A > B", 1, 0), ("A", 0, 1), ("B", 1, 1))))
    assert t["A"]["removal_effect"] == pytest.approx(1 / 3)
    assert t["B"]["removal_effect"] == pytest.approx(1.0)
    assert t["A"]["share"] == pytest.approx(0.25) and t["B"]["share"] == pytest.approx(0.75)
    assert t["A"]["conversions"] == pytest.approx(0.5)
    assert t["B"]["conversions"] == pytest.approx(1.5)


def test_three_channel_chain_with_a_loop():
    """Paths A>B>A>C (2 conv), B>C (1 conv, 1 null), C (2 null), A (2 null).

    Transitions: start->A 1/2, ->B 1/4, ->C 1/4; A->B, A->C, A->null 1/3 each; B->A, B->C 1/2
    each; C->conv, C->null 1/2 each. Conversion probabilities x solve x_C = 1/2,
    x_B = x_A/2 + 1/4, x_A = x_B/3 + 1/6: x_A = 3/10, x_B = 2/5, x_start = 3/8 (3 of 8 paths).
    Without A: x_start = 1/4 * 1/4 + 1/4 * 1/2 = 3/16, RE_A = 1/2. Without B: x_A = 1/6,
    x_start = 1/12 + 1/8 = 5/24, RE_B = 4/9. Without C nothing converts: RE_C = 1.
    Shares: 9/35, 8/35, 18/35 of 3 conversions.
    """
    table = markov_attribution(
        paths(("A > B > A > C", 2, 0), ("B > C", 1, 1), ("C", 0, 2), ("A", 0, 2))
    )
    t = by_channel(table)
    assert t["A"]["removal_effect"] == pytest.approx(1 / 2)
    assert t["B"]["removal_effect"] == pytest.approx(4 / 9)
    assert t["C"]["removal_effect"] == pytest.approx(1.0)
    assert [t[c]["share"] for c in "ABC"] == pytest.approx([9 / 35, 8 / 35, 18 / 35])
    assert [t[c]["conversions"] for c in "ABC"] == pytest.approx([27 / 35, 24 / 35, 54 / 35])
    assert table["channel"].to_list() == ["C", "A", "B"]  # most conversions first
    assert table["share"].sum() == pytest.approx(1.0)


def test_conversions_without_touchpoints_stay_unattributed_in_the_removal_effect():
    """A (1 conv, 1 null) and an empty path (1 conv, 1 null): half the conversions need A."""
    t = by_channel(markov_attribution(paths(("A", 1, 1), ("", 1, 1))))
    assert t["A"]["removal_effect"] == pytest.approx(0.5)
    assert t["A"]["share"] == pytest.approx(1.0)


def test_repeats_and_spacing_do_not_change_first_order_removal_effects():
    a = markov_attribution(paths(("A > B", 1, 0), ("A", 0, 1), ("B", 1, 1)))
    b = markov_attribution(paths(("A>A >  B > B", 1, 0), ("A", 0, 1), ("B > B", 1, 1)))
    assert a["removal_effect"].to_list() == pytest.approx(b["removal_effect"].to_list())


def test_the_command_prints_and_writes_the_table(tmp_path, capsys):
    csv = tmp_path / "paths.csv"
    csv.write_text("path,conversions,nulls\nA > B,1,0\nA,0,1\nB,1,1\n")
    out = tmp_path / "out"
    assert main(["attribute", str(csv), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "75.0%" in printed and "25.0%" in printed
    table = pl.read_parquet(out / "attribution.parquet")
    assert table.columns == ["channel", "removal_effect", "share", "conversions", "first_touch",
                             "last_touch", "linear", "time_decay", "position_based"]  # fmt: skip
    assert by_channel(table)["A"]["removal_effect"] == pytest.approx(1 / 3)
    assert (out / "attribution.html").is_file() and (out / "analysis.yaml").is_file()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("path,conversions\nA,1\n", "column 'nulls' is missing"),
        ("path,conversions,nulls\nA,-1,0\n", "row 1: conversions must be a whole number >= 0"),
        ("path,conversions,nulls\nA,0.5,0\n", "must be a whole number"),
        ("path,conversions,nulls\nA,0,3\n", "no conversions"),
        ("path,conversions,nulls\nA,x,3\n", "must hold whole numbers"),
    ],
)
def test_bad_paths_files_are_one_line(tmp_path, capsys, content, words):
    csv = tmp_path / "paths.csv"
    csv.write_text(content)
    with pytest.raises(ConfigError) as exc:
        read_paths(csv)
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert main(["attribute", str(csv), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err
    assert not (tmp_path / "o").exists()


def test_heuristic_models_on_a_hand_table_with_known_answers():
    from sim.analysis.attribution import heuristic_attribution, heuristic_weights

    # 10 conversions after A > B > C, 4 after B, 3 with no touchpoint at all
    paths = pl.DataFrame({"path": ["A > B > C", "B", ""], "conversions": [10, 4, 3],
                          "nulls": [5, 6, 7]})  # fmt: skip
    t = by_channel(heuristic_attribution(paths))
    assert (t["A"]["first_touch"], t["B"]["first_touch"], t["C"]["first_touch"]) == (10, 4, 0)
    assert (t["A"]["last_touch"], t["B"]["last_touch"], t["C"]["last_touch"]) == (0, 4, 10)
    assert t["B"]["linear"] == pytest.approx(10 / 3 + 4)
    # U-shaped: 40 % to each end, 20 % between; time decay halves per touch back: 1/7, 2/7, 4/7
    assert (t["A"]["position_based"], t["B"]["position_based"]) == pytest.approx((4, 2 + 4))
    assert t["C"]["time_decay"] == pytest.approx(40 / 7)
    assert list(heuristic_weights(2, "position_based")) == [0.5, 0.5]
    # conversions without a touchpoint are nobody's: their own row, under every model
    none = t["(no touchpoint)"]
    assert none["linear"] == none["first_touch"] == 3
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based"):
        assert sum(r[model] for r in t.values()) == pytest.approx(17)


def test_markov_leaves_conversions_without_a_touchpoint_to_themselves():
    paths = pl.DataFrame({"path": ["A > B", "B", ""], "conversions": [4, 2, 3],
                          "nulls": [1, 3, 5]})  # fmt: skip
    from sim.analysis.attribution import markov_attribution

    t = by_channel(markov_attribution(paths))
    assert t["A"]["conversions"] + t["B"]["conversions"] == pytest.approx(6)  # not 9
    assert t["(no touchpoint)"]["conversions"] == 3 and t["(no touchpoint)"]["share"] is None


def test_channelattribution_s_own_layout_is_read_as_is(tmp_path, capsys):
    # ChannelAttribution 2.x: path, total_conversions, total_null, '>' without spaces
    ca = tmp_path / "ca.csv"
    ca.write_text("path,total_conversions,total_null\nA>B,1,0\nA,0,1\nB,1,1\n")
    ours = tmp_path / "ours.csv"
    ours.write_text("path,conversions,nulls\nA > B,1,0\nA,0,1\nB,1,1\n")
    assert main(["attribute", str(ca), "--out", str(tmp_path / "a")]) == 0
    assert main(["attribute", str(ours), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    a = pl.read_parquet(tmp_path / "a" / "attribution.parquet")
    b = pl.read_parquet(tmp_path / "b" / "attribution.parquet")
    assert a.equals(b)


# -- bad input: one line, exit code 2, before any work (issue 18) ---------------------------------
def _refused(tmp_path, capsys, content: str) -> str:
    """Run ``attribute`` on a paths file; assert one error line, exit 2, no output folder."""
    csv = tmp_path / "paths.csv"
    csv.write_text(content)
    assert main(["attribute", str(csv), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("journeysim: error:"), err
    assert "Traceback" not in err and not (tmp_path / "o").exists()
    return err


@pytest.mark.parametrize(
    ("count", "shown"),
    [("1e20", "1e+20"), ("9" * 30, "1e+30"), (str(2**63 - 1), "9.22337e+18")],
)
def test_counts_above_the_cap_are_refused_naming_file_column_and_row(
    tmp_path, capsys, count, shown
):
    err = _refused(tmp_path, capsys, f"path,conversions,nulls\nA,3,4\nA > B,{count},5\n")
    assert "paths.csv: row 2: conversions" in err and shown in err
    assert "at most 1,000,000,000,000,000" in err


def test_counts_whose_sum_leaves_64_bit_integers_are_refused(tmp_path, capsys):
    rows = "".join(f"A,{10**15},0\n" for _ in range(1001))
    err = _refused(tmp_path, capsys, "path,conversions,nulls\n" + rows)
    assert "column 'conversions' sums to" in err and "at most 10^18" in err


def test_a_path_of_a_million_channels_is_refused_before_any_matrix(tmp_path, capsys):
    from sim.analysis.attribution import MAX_CHANNELS

    path = ">".join(f"c{k}" for k in range(1_000_000))
    err = _refused(tmp_path, capsys, f"path,conversions,nulls\n{path},1,1\n")
    assert "row 1: 1,000,000 distinct channels" in err and f"at most {MAX_CHANNELS:,}" in err


def test_thousands_of_channels_over_rows_are_refused_at_the_row_past_the_cap(tmp_path, capsys):
    rows = "".join(f"a{k} > b{k},1,1\n" for k in range(1500))  # 3,000 channels
    err = _refused(tmp_path, capsys, "path,conversions,nulls\n" + rows)
    assert "row 501: 1,002 distinct channels" in err and "at most 1,000" in err


def test_removal_effects_from_one_inverse_match_a_solve_per_channel():
    import numpy as np

    from sim.analysis.attribution import conversion_probability, removal_effects, transitions

    rng = np.random.default_rng(5)
    names = [f"c{k}" for k in range(12)]
    rows = [(" > ".join(rng.choice(names, size=int(rng.integers(0, 6)))),
             int(rng.integers(0, 4)), int(rng.integers(0, 9))) for _ in range(300)]  # fmt: skip
    _, counts = transitions(paths(*rows))
    totals = counts.sum(axis=1, keepdims=True)
    probs = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    base = conversion_probability(probs)
    solved = [1 - conversion_probability(probs, k) / base for k in range(1, len(counts) - 2)]
    assert removal_effects(probs) == pytest.approx(np.clip(solved, 0, 1), abs=1e-12)


def test_the_most_channels_allowed_are_attributed(tmp_path):
    from sim.analysis.attribution import MAX_CHANNELS

    rows = [(f"c{k} > c{(k + 1) % MAX_CHANNELS}", 1, 2) for k in range(MAX_CHANNELS)]
    table = markov_attribution(paths(*rows))
    assert table.height == MAX_CHANNELS
    assert table["share"].sum() == pytest.approx(1.0)


def test_channel_names_are_printed_as_plain_text(tmp_path, capsys):
    csv = tmp_path / "paths.csv"
    csv.write_text("path,conversions,nulls\n[/x] > tv,10,5\n[bold red]boom[/] > tv,3,4\n"
                   "\x1b[31mred > search,2,7\n")  # fmt: skip
    assert main(["attribute", str(csv), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "[/x]" in out and "[bold red]boom[/]" in out  # not markup (nor a MarkupError)
    assert "\\x1b[31mred" in out and "\x1b" not in out  # an escape shown, never sent
