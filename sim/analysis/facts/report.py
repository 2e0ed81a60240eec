"""The facts tables on the terminal and as Markdown."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import polars as pl

#: Section titles, in print order.
SECTIONS = {
    "facts": "Stylised facts",
    "responses": "Responses to levers (paired runs, common random numbers)",
    "baseline": "Baseline over the response horizon: trends and NPS",
    "inputs": "Inputs, not facts (configured rules; not counted as passes)",
}


def fmt(x) -> str:
    """A number in 3 significant digits (thousands separated), ``-`` for none."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def target(low: float, high: float) -> str:
    """The target range in words."""
    lo, hi = math.isinf(low), math.isinf(high)
    if lo and hi:
        return "(reported)"
    if hi:
        return f"at least {fmt(low)}"
    if lo:
        return f"at most {fmt(high)}"
    return f"{fmt(low)} to {fmt(high)}"


def measured(row: dict) -> str:
    """Mean [95 % interval] unit."""
    if row["mean"] is None:
        return "-"
    return f"{fmt(row['mean'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}] {row['unit']}".strip()


def verdict(row: dict) -> str:
    """The status, with the note of an input or an unmeasured fact."""
    note = row.get("note") or ""
    if row["status"] in ("input", "not measured") and note:
        return f"{row['status']}: {note}"
    return row["status"] + (f" ({note})" if note else "")


def counts(table: pl.DataFrame) -> str:
    """``P of N facts pass`` over rows with a target (inputs and reported values excluded)."""
    judged = table.filter(pl.col("status").is_in(["pass", "FAIL"]))
    missing = table.filter(pl.col("status") == "not measured").height
    text = f"{judged['pass'].sum()} of {judged.height} pass"
    return text + (f", {missing} not measured" if missing else "")


def print_tables(table: pl.DataFrame, churn: pl.DataFrame | None = None, title: str = "") -> None:
    """Print each section of the table (and the churn sources)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)
    for section, heading in SECTIONS.items():
        rows = table.filter(pl.col("section") == section)
        if not rows.height:
            continue
        t = Table(title=f"{title}{heading}")
        for head in ("fact", "source", "target", "measured: mean [95% CI]", ""):
            t.add_column(head)
        for r in rows.iter_rows(named=True):
            t.add_row(r["fact"], r["source"], target(r["low"], r["high"]), measured(r), verdict(r))
        console.print(t)
    console.print(f"{title}{counts(table)} (pass: the whole 95% interval inside the target)")
    if churn is not None and churn.height:
        parts = ", ".join(f"{r['source']} {r['share']:.0f}%" for r in churn.iter_rows(named=True))
        console.print(f"churn by source (mean over seeds): {parts}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(table: pl.DataFrame, churn: pl.DataFrame | None = None, heading: str = "") -> str:
    """The tables as Markdown (one per section), as docs/model.md's calibration table."""
    out = [f"{heading}\n"] if heading else []
    for section, title in SECTIONS.items():
        rows = table.filter(pl.col("section") == section)
        if not rows.height:
            continue
        out += [f"**{title}.**\n", "| Fact | Source | Target | Measured: mean [95 % CI] | |",
                "|---|---|---|---|---|"]  # fmt: skip
        for r in rows.iter_rows(named=True):
            cells = (r["fact"], r["source"], target(r["low"], r["high"]), measured(r), verdict(r))
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    out.append(f"{counts(table)} (pass: the whole 95 % interval inside the target).\n")
    if churn is not None and churn.height:
        parts = ", ".join(f"{r['source']} {r['share']:.0f}%" for r in churn.iter_rows(named=True))
        out.append(f"Churn by source (mean over seeds): {parts}.\n")
    return "\n".join(out)


def per_rule(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per fact, one column per rule setting: ``mean status`` in each cell."""
    facts: list[str] = []
    for t in tables.values():
        facts += [f for f in t["fact"].to_list() if f not in facts]
    data: dict[str, list[str]] = {"fact": facts}
    for label, t in tables.items():
        by_fact = {r["fact"]: r for r in t.iter_rows(named=True)}
        cells = {f: f"{fmt(r['mean'])} {r['status']}" for f, r in by_fact.items()}
        data[label] = [cells.get(f, "") for f in facts]
    return pl.DataFrame(data)


def print_per_rule(frame: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> None:
    """Print the per-rule table and each rule's pass count."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="journeysim facts per rule: mean and status")
    for head in frame.columns:
        t.add_column(head)
    for row in frame.iter_rows():
        t.add_row(*row)
    console = Console(width=None if sys.stdout.isatty() else 240)
    console.print(t)
    for label, table in tables.items():
        console.print(f"{label}: {counts(table)}")


def per_rule_markdown(frame: pl.DataFrame, tables: dict[str, pl.DataFrame]) -> str:
    """The per-rule table as Markdown."""
    lines = ["**Per rule (mean and status).**\n", "| " + " | ".join(frame.columns) + " |",
             "|" + "---|" * len(frame.columns)]  # fmt: skip
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in frame.iter_rows()]
    lines.append("")
    lines += [f"- {label}: {counts(table)}" for label, table in tables.items()]
    return "\n".join(lines) + "\n"


def joined(parts: Sequence[str]) -> str:
    """Markdown parts joined by blank lines."""
    return "\n".join(p.rstrip("\n") + "\n" for p in parts)
