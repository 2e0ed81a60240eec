"""``journeysim groundtruth --check MODEL.csv [--truth DIR]``: a model's estimates vs the truth.

The model's file (CSV or parquet) has a ``channel`` column and one estimate per channel:
``roas`` (incremental revenue per unit of spend over the run), ``acquisitions_per_spend``
(incremental acquisitions per unit of spend) or ``contribution`` (its incremental KPI over
the run: revenue, or acquisitions with ``--kpi acquisitions``), and
optionally ``<estimate>_low`` and ``<estimate>_high`` (the model's interval). The truth is
``truth_channels.parquet`` of ``--truth DIR`` (default: the model file's folder): the column of
the same name (``contribution_<kpi>`` for a contribution) per channel.

Per channel: ``error = estimate - truth``, ``abs_error``, ``relative_error = error / |truth|``
and, with intervals, ``covered`` (``low <= truth <= high``). Over the channels: the mean
absolute error (MAE), the mean absolute relative error (MAPE), Spearman's rank correlation
of estimates and truths (``scipy.stats.spearmanr``; NaN with fewer than 3 channels) and the
coverage (share of channels whose truth lies in the model's interval). Channels of the model
that the truth does not have, or the other way round, are refused in one line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from sim.analysis import options
from sim.config import ConfigError

ESTIMATES = ("roas", "acquisitions_per_spend", "contribution")
#: Most rows (channels) a model file may have.
MAX_CHANNELS = 1_000


def parse_args(args: list[str]):
    """``--check MODEL [--truth DIR] [--kpi K] [--out DIR]`` (one-line errors)."""
    p = options.Parser(
        prog="journeysim groundtruth --check",
        description="A model's per-channel estimates against the truth.",
    )
    p.add_argument(
        "--check",
        required=True,
        metavar="MODEL",
        help="the model's estimates: channel and roas, acquisitions_per_spend or contribution",
    )
    p.add_argument(
        "--truth",
        default=None,
        metavar="DIR",
        help="the groundtruth folder (default: the model file's folder)",
    )
    p.add_argument(
        "--kpi",
        default="revenue",
        choices=("revenue", "acquisitions"),
        help="the KPI of a contribution estimate (default revenue)",
    )
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write check.csv and check.yaml there"
    )
    return options.parse(p, args)


def read_model(path: Path) -> tuple[pl.DataFrame, str]:
    """The model's table and the estimate it holds (one of ``ESTIMATES``).

    Raises:
        ConfigError: unreadable, no channel column, not exactly one estimate column, a
            channel given twice, or a value that is not a finite number (one line).
    """
    table = options.read_table(path, "model")
    given = [e for e in ESTIMATES if e in table.columns]
    if "channel" not in table.columns or len(given) != 1:
        raise ConfigError(f"{path}: needs a channel column and one of {', '.join(ESTIMATES)} "
                          "(with optional _low and _high)")  # fmt: skip
    est = given[0]
    if table.height > MAX_CHANNELS:
        raise ConfigError(f"{path}: {table.height:,} rows; at most {MAX_CHANNELS:,} channels")
    cols = [c for c in (est, f"{est}_low", f"{est}_high") if c in table.columns]
    if len(cols) == 2:
        raise ConfigError(f"{path}: give both {est}_low and {est}_high, or neither")
    out = table.select(pl.col("channel").cast(pl.String), *cols)
    dup = out["channel"].is_duplicated()
    if dup.any():
        raise ConfigError(f"{path}: channel {out['channel'].filter(dup)[0]!r} given twice")
    for c in cols:
        try:
            values = out[c].cast(pl.Float64, strict=True)
        except pl.exceptions.PolarsError:
            raise ConfigError(f"{path}: column {c} must hold numbers") from None
        bad = values.is_null() | ~values.is_finite()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ConfigError(f"{path}: {c} of channel {out['channel'][row]!r} is not a "
                              "finite number")  # fmt: skip
        out = out.with_columns(values.alias(c))
    return out, est


def compare(model: pl.DataFrame, est: str, truth: pl.DataFrame, kpi: str = "revenue"):
    """The error table and its summary (see the module docstring).

    Args:
        model: channel, the estimate and optionally its _low/_high.
        est: ``roas``, ``acquisitions_per_spend`` or ``contribution``.
        truth: ``truth_channels.parquet``.
        kpi: the KPI of a contribution.

    Returns:
        (table: channel, estimate, truth, truth_low, truth_high, error, abs_error,
        relative_error, [low, high, covered]; summary: channels, mae, mape, spearman,
        spearman_p, coverage).

    Raises:
        ConfigError: channels that differ between the model and the truth (one line).
    """
    from scipy import stats

    col = f"contribution_{kpi}" if est == "contribution" else est
    missing = sorted(set(model["channel"]) - set(truth["channel"]))
    if missing:
        raise ConfigError(f"channel {missing[0]!r} of the model is not in the truth "
                          f"(channels: {', '.join(truth['channel'])})")  # fmt: skip
    absent = sorted(set(truth["channel"]) - set(model["channel"]))
    if absent:
        raise ConfigError(f"the model has no {est} for channel {absent[0]!r} of the truth")
    t = truth.select(
        "channel",
        pl.col(col).alias("truth"),
        pl.col(f"{col}_low").alias("truth_low"),
        pl.col(f"{col}_high").alias("truth_high"),
    )
    table = (
        model.rename({est: "estimate"})
        .join(t, on="channel", how="left")
        .with_columns((pl.col("estimate") - pl.col("truth")).alias("error"))
        .with_columns(
            pl.col("error").abs().alias("abs_error"),
            (pl.col("error") / pl.col("truth").abs()).alias("relative_error"),
        )
    )
    intervals = f"{est}_low" in model.columns
    if intervals:
        table = table.rename({f"{est}_low": "low", f"{est}_high": "high"}).with_columns(
            ((pl.col("low") <= pl.col("truth")) & (pl.col("truth") <= pl.col("high"))).alias(
                "covered"
            )
        )
    head = ["channel", "estimate", "truth", "truth_low", "truth_high", "error", "abs_error",
            "relative_error"]  # fmt: skip
    table = table.select(*head, *(["low", "high", "covered"] if intervals else []))
    n = table.height
    if n >= 3:
        rho, p = stats.spearmanr(table["estimate"].to_numpy(), table["truth"].to_numpy())
        rho, p = float(rho), float(p)
    else:
        rho = p = math.nan
    summary = {
        "estimate": col,
        "channels": n,
        "mae": float(table["abs_error"].mean()),
        "mape": float(table["relative_error"].abs().mean()),
        "spearman": rho,
        "spearman_p": p,
        "coverage": float(table["covered"].mean()) if intervals else None,
    }
    return table, summary


def command(args: list[str]) -> int:
    """Run the check: print the table and summary; write them with ``--out``."""
    import yaml

    from sim.sweeps.io import write_text

    ns = parse_args(args)
    model_path = Path(ns.check)
    folder = Path(ns.truth) if ns.truth else model_path.parent
    truth_file = folder / "truth_channels.parquet"
    if not truth_file.is_file():
        raise ConfigError(f"--truth {folder}: no truth_channels.parquet (a journeysim "
                          "groundtruth folder)")  # fmt: skip
    model, est = read_model(model_path)
    truth = options.read_table(truth_file, "truth")
    table, summary = compare(model, est, truth, ns.kpi)
    if ns.out:
        out = Path(ns.out)
        options.check_out(out)
        write_text(table.write_csv(), out / "check.csv")
        write_text(yaml.safe_dump(summary, sort_keys=False), out / "check.yaml")
    print_check(table, summary)
    return 0


def print_check(table: pl.DataFrame, summary: dict) -> None:
    """The error table and a line of summary figures."""
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=160, float_precision=4):
        print(f"journeysim groundtruth --check: {summary['estimate']} against the truth")
        print(table)

    def f(x) -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3g}"

    cov = summary["coverage"]
    print(f"MAE {f(summary['mae'])}, MAPE {f(summary['mape'] * 100)}%, Spearman rank "
          f"correlation {f(summary['spearman'])} (p {f(summary['spearman_p'])}), coverage "
          + ("-" if cov is None else f"{cov:.0%}"))  # fmt: skip
