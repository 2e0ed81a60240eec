"""One download for a comparison: a zip with its results, configs and the command lines."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence

import polars as pl


def _parquet(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def comparison_zip(
    *,
    frames: Mapping[str, pl.DataFrame],
    configs: Mapping[str, str],
    commands: Sequence[str],
    overrides: Mapping[str, Sequence[str]],
    description: str,
) -> bytes:
    """A zip holding everything needed to read or redo a comparison.

    Args:
        frames: name -> frame, written as ``results/<name>.parquet`` and ``.csv``
            (e.g. the KPI table, stacked metrics with scenario and seed columns).
        configs: run name ('chatbot_rollout_seed0') -> resolved config YAML.
        commands: command lines that reproduce the runs (``reproduce.sh``).
        overrides: run name -> the exact overrides given to ``load_config``.
        description: one line saying what was compared (README.txt).
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, frame in frames.items():
            z.writestr(f"results/{name}.parquet", _parquet(frame))
            flat = frame.select(
                pl.col(c).cast(pl.Utf8) if frame.schema[c].is_nested() else pl.col(c)
                for c in frame.columns
            )
            z.writestr(f"results/{name}.csv", flat.write_csv())
        for name, text in configs.items():
            z.writestr(f"configs/{name}.yaml", text)
        script = ["#!/bin/sh", "# Reproduce this comparison (journeysim's command line): it",
                  "# prints the same table; `journeysim report <its folder>` prints it again.",
                  "set -e", *commands, ""]  # fmt: skip
        z.writestr("reproduce.sh", "\n".join(script))
        z.writestr(
            "overrides.txt",
            "\n".join(f"{name}: {' '.join(ov)}" for name, ov in overrides.items()) + "\n",
        )
        z.writestr(
            "README.txt",
            f"journeysim comparison: {description}\n\n"
            "results/   KPI table, wide differences and per-step metrics, stages, flows and\n"
            "           retention of every run (parquet and CSV; scenario and seed columns)\n"
            "configs/   the resolved config of every run\n"
            "overrides.txt  the exact overrides of every run\n"
            "reproduce.sh   the command line that runs the same configs\n",
        )
    return buf.getvalue()
