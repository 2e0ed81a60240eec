"""One formatting helper for every number the app shows: names, units, values, deltas.

A column or KPI has a *kind* that decides how it reads:

- ``count``: customers and events, ``12,345``;
- ``percent``: a fraction stored as 0-1, shown as ``68.6%``, its differences in
  percentage points (``-0.33 pp``);
- ``money``: currency units (``CURRENCY``, named once here), ``1,234 cu``;
- ``score``: a 0-1 score such as satisfaction, ``0.721``;
- ``points``: NPS points on -100..100, ``+12.3``;
- ``number``: anything else, with thousands separators and 3 significant digits.

Names and kinds are looked up for the KPIs and metric columns known today; a column
the engine adds later (issue 8: churn by source, cost columns...) still gets a readable
name and a kind guessed from its name, so every table and chart stays generic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: The model's money has no currency: prices are per customer-day, the incumbent's is 1.
CURRENCY = "cu"
CURRENCY_NAME = "currency units"

KINDS = ("count", "percent", "money", "score", "points", "number")


@dataclass(frozen=True)
class Kpi:
    """A KPI of the comparison table (one value per run and brand).

    Attributes:
        label: the human name, short enough for a headline card.
        kind: how its values read (see the module docstring).
        higher_is_better: whether an increase is good news for the brand.
        term: the glossary entry that defines it (``None``: none).
        note: what the value is over (e.g. "at the end of the run").
    """

    label: str
    kind: str
    higher_is_better: bool = True
    term: str | None = None
    note: str = ""


#: The KPIs of ``sim.sweeps.summary.run_kpis`` (one value per run and brand).
KPIS: dict[str, Kpi] = {
    "customers": Kpi("Customers at end", "count", True, "Customers", "at the end of the run"),
    "share": Kpi("Share at end", "percent", True, "Market share", "at the end of the run"),
    "retention": Kpi("Retention", "percent", True, "Retention", "over the run"),
    "churned": Kpi("Customers lost", "count", False, "Churn rate", "over the run"),
    "churn_rate": Kpi("Churn rate", "percent", False, "Churn rate", "over the run"),
    "acquired": Kpi("Customers won", "count", True, "CAC", "over the run"),
    "revenue": Kpi("Revenue", "money", True, "Revenue", "total over the run"),
    "profit": Kpi("Profit", "money", True, "Profit", "total over the run"),
    "clv": Kpi("CLV", "money", True, "CLV", "per customer"),
    "nps": Kpi("NPS at end", "points", True, "NPS", "at the end of the run"),
    "cac": Kpi("CAC", "money", False, "CAC", "ads and onboarding per customer won"),
    "equity": Kpi("Customer equity", "money", True, "CLV", "customers x CLV at the end"),
    "equity_change": Kpi(
        "Change in customer equity", "money", True, "CLV", "customers won net, x CLV"
    ),
    "value": Kpi("Profit + equity change", "money", True, "CLV", "over the run"),
    "ad_spend": Kpi("Ad spend", "money", False, None, "total over the run"),
}

#: Headline cards of the compare page, in this order (those the table has).
HEADLINE = ("customers", "retention", "revenue", "profit", "clv", "nps")


@dataclass(frozen=True)
class Metric:
    """A metric column of the per-step results (one value per step and brand)."""

    label: str
    kind: str
    per: str = ""  # "per day", "per customer"...: part of the unit


#: Metric columns of ``Result.metrics`` known today (others are named from their column).
METRICS: dict[str, Metric] = {
    "aware": Metric("Aware of the brand", "count"),
    "considering": Metric("Considering (not customers)", "count"),
    "customers": Metric("Customers", "count"),
    "acquired": Metric("Customers won", "count", "per day"),
    "churned": Metric("Customers lost", "count", "per day"),
    "lapsed": Metric("Lapsed (left for no brand)", "count", "per day"),
    "share": Metric("Market share", "percent"),
    "price": Metric("Price", "money", "per customer-day"),
    "revenue": Metric("Revenue", "money", "per day"),
    "ad_spend": Metric("Ad spend", "money", "per day"),
    "service_cost": Metric("Service cost", "money", "per day"),
    "programme_cost": Metric("Programme cost", "money", "per day"),
    "profit": Metric("Profit", "money", "per day"),
    "cumulative_profit": Metric("Cumulative profit", "money"),
    "satisfaction": Metric("Satisfaction (0-1)", "score"),
    "promoters": Metric("Promoters", "count"),
    "passives": Metric("Passives", "count"),
    "detractors": Metric("Detractors", "count"),
    "nps": Metric("NPS", "points"),
    "contacts": Metric("Service contacts", "count", "per day"),
    "failures": Metric("Service failures", "count", "per day"),
    "recovered": Metric("Failures put right", "count", "per day"),
    "discounted_revenue": Metric("Discounted revenue (cumulative)", "money"),
    "discounted_profit": Metric("Discounted profit (cumulative)", "money"),
    "clv": Metric("CLV", "money", "per customer"),
    "retention": Metric("Cohort retention", "percent"),
}

_MONEY_WORDS = ("revenue", "profit", "cost", "spend", "price", "clv", "cac", "margin", "value")
_COUNT_WORDS = ("customers", "churned", "acquired", "lapsed", "contacts", "failures", "members")


def guess_kind(name: str) -> str:
    """The kind of a column nobody registered, from the words in its name."""
    words = name.lower()
    if words.endswith(("share", "_rate", "retention")) or words.startswith("share_"):
        return "percent"
    if any(w in words for w in _MONEY_WORDS):
        return "money"
    if any(w in words for w in _COUNT_WORDS):
        return "count"
    if "nps" in words:
        return "points"
    if "satisfaction" in words:
        return "score"
    return "number"


def _words(name: str) -> str:
    text = name.replace("__", " ").replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def kpi_info(kpi: str) -> Kpi:
    """The registered KPI, or one named and kinded from its name."""
    if kpi in KPIS:
        return KPIS[kpi]
    lower_better = any(w in kpi for w in ("churn", "cost", "cac", "lost", "lapsed"))
    return Kpi(_words(kpi), guess_kind(kpi), not lower_better)


def metric_info(column: str) -> Metric:
    """The registered metric column, or one named and kinded from its name."""
    if column in METRICS:
        return METRICS[column]
    kind = guess_kind(column)
    per = "per day" if kind == "count" and column.startswith(("churned", "acquired")) else ""
    return Metric(_words(column), kind, per)


def unit(kind: str, per: str = "", delta: bool = False) -> str:
    """The unit of a kind for a header or axis title: '%', 'pp', 'cu per day', ''."""
    base = {
        "percent": "pp" if delta else "%",
        "money": CURRENCY,
        "points": "points",
        "count": "customers" if per else "",
    }.get(kind, "")
    if per:
        return f"{base} {per}".strip()
    return base


def with_unit(label: str, unit_text: str) -> str:
    """'Revenue (cu per day)'; the label alone when there is no unit."""
    return f"{label} ({unit_text})" if unit_text else label


def metric_title(column: str, delta: bool = False) -> str:
    """Axis or header title of a metric column, with its unit."""
    info = metric_info(column)
    return with_unit(info.label, unit(info.kind, info.per, delta))


def kpi_title(kpi: str, delta: bool = False) -> str:
    """Header of a KPI column, with its unit: 'Revenue (cu)', 'Retention (pp)'."""
    info = kpi_info(kpi)
    return with_unit(info.label, unit(info.kind, "", delta))


def human_name(column: str) -> str:
    """A readable name for any column: metric, KPI or summary ``<kpi>__<brand>``.

    Examples: ``cumulative_profit`` -> 'Cumulative profit'; ``customers__incumbent`` ->
    'Customers (end), incumbent'; ``wom.talk_rate`` -> 'wom.talk_rate' (config keys stay
    as they are: they are what a user types).
    """
    if "__" in column:
        kpi, _, brand = column.partition("__")
        return f"{kpi_info(kpi).label}, {brand}"
    if "." in column:
        return column
    if column in METRICS:
        return METRICS[column].label
    if column in KPIS:
        return KPIS[column].label
    return _words(column)


def is_missing(x) -> bool:
    """None or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _plain(x: float, signed: bool = False, kind: str = "number") -> str:
    """Thousands separators and about 3 significant digits, never scientific notation.

    Counts (means of whole customers) get at most one decimal, none when whole; zero is
    '0', unsigned.
    """
    a = abs(x)
    if a == 0:
        return "0"
    whole = kind == "count" and abs(x - round(x)) < 1e-9
    if a >= 100 or whole or (kind == "count" and a >= 10):
        decimals = 0
    elif a >= 10 or kind == "count":
        decimals = 1
    elif a >= 1:
        decimals = 2
    else:
        decimals = min(8, 2 - math.floor(math.log10(a)))
    return f"{x:+,.{decimals}f}" if signed else f"{x:,.{decimals}f}"


def _compact(x: float, signed: bool = False, kind: str = "number") -> str:
    """1.43M, -5.1k: for headline cards (3 significant digits, k from 10,000 on)."""
    rounded = float(f"{x:.3g}")  # round first, so 999,700 becomes 1M, not 1e+03k
    a = abs(rounded)
    sign = "+" if signed and x >= 0 else ""
    for limit, unit_size, suffix in ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "k")):
        if a >= limit:
            return f"{sign}{rounded / unit_size:.3g}{suffix}"
    return _plain(x, signed, kind)


def _suffix(kind: str, delta: bool) -> str:
    """What follows a number of this kind: '%', ' pp', ' cu', ' pts' or nothing."""
    if kind == "percent":
        return " pp" if delta else "%"
    if kind == "money":
        return f" {CURRENCY}"
    if kind == "points" and delta:
        return " pts"
    return ""


def _number(x: float, kind: str, delta: bool, compact: bool) -> str:
    """The number of ``format_value`` without its unit."""
    if kind == "percent":
        pct = 100.0 * x
        digits = 2 if delta and abs(pct) < 1 else 1
        return f"{pct:+.{digits}f}" if delta else f"{pct:.{digits}f}"
    if kind == "score":
        return f"{x:+.3f}" if delta else f"{x:.3f}"
    if kind == "points":
        return f"{x:+.1f}"
    return _compact(x, delta, kind) if compact else _plain(x, delta, kind)


def format_value(
    x: float | None,
    kind: str,
    *,
    delta: bool = False,
    compact: bool = False,
    with_units: bool = True,
) -> str:
    """A value (or a difference, ``delta=True``) as text, with its unit.

    Args:
        x: the value (a fraction for ``percent``).
        kind: one of ``KINDS``.
        delta: a difference: signed, percent kinds in percentage points.
        compact: 1.43M instead of 1,430,000 (headline cards).
        with_units: append the unit ('%', 'pp', 'cu', 'pts'); headers carry it otherwise.

    Returns:
        e.g. '68.6%', '-0.33 pp', '1,234 cu', '+12.3', 'n/a'.
    """
    if is_missing(x):
        return "n/a"
    text = _number(float(x), kind, delta, compact)
    return text + _suffix(kind, delta) if with_units else text


def format_interval(
    low: float | None,
    high: float | None,
    kind: str,
    delta: bool = True,
    with_units: bool = True,
) -> str:
    """'[-0.45, -0.21] pp', '[84.0%, 95.8%]', '[789, 967]'; 'n/a' if unknown."""
    if is_missing(low) or is_missing(high):
        return "n/a"
    lo = _number(float(low), kind, delta, False)
    hi = _number(float(high), kind, delta, False)
    if not with_units:
        return f"[{lo}, {hi}]"
    if kind == "percent" and not delta:
        return f"[{lo}%, {hi}%]"
    return f"[{lo}, {hi}]" + _suffix(kind, delta)


def significant(low: float | None, high: float | None) -> bool | None:
    """Whether an interval excludes zero (None when there is no interval)."""
    if is_missing(low) or is_missing(high):
        return None
    return bool(low > 0 or high < 0)


def format_delta(
    diff: float | None, low: float | None, high: float | None, kind: str, compact: bool = False
) -> str:
    """'-0.33 ± 0.12 pp', or '+0.05 ± 0.12 pp (n.s.)' when the interval includes zero.

    The ± part is the half-width of the 95% interval; one replicate has no interval.
    """
    if is_missing(diff):
        return "n/a"
    value = _number(float(diff), kind, True, compact)
    suffix = _suffix(kind, True)
    if is_missing(low) or is_missing(high):
        return f"{value}{suffix} (one replicate)"
    half = _number((float(high) - float(low)) / 2.0, kind, True, compact).lstrip("+")
    text = f"{value} ± {half}{suffix}"
    return text if significant(low, high) else f"{text} (n.s.)"


def compact(x: float | None, signed: bool = False) -> str:
    """A short number: 1.43M, -51.2k, 0.0123, n/a (no unit)."""
    if is_missing(x):
        return "n/a"
    return _compact(float(x), signed)


# -- column formats for st.column_config (pure data: the app builds the widgets) ---------------
@dataclass(frozen=True)
class ColumnSpec:
    """How a numeric column is shown: printf format (Streamlit's sprintf), label, help.

    Values are shown after ``scale`` (100 for percent kinds), so a fraction column
    reads 68.6% and still sorts as a number.
    """

    label: str
    format: str
    help: str = ""
    scale: float = 1.0


def number_format(values, kind: str, delta: bool = False) -> str:
    """A printf format for a column of ``values`` of one kind (decimals from the data)."""
    if kind == "percent":
        return "%+.2f pp" if delta else "%.1f%%"
    if kind == "points":
        return "%+.1f"
    if kind == "score":
        return "%+.3f" if delta else "%.3f"
    finite = [abs(float(v)) for v in values if not is_missing(v) and float(v) != 0.0]
    typical = sorted(finite)[len(finite) // 2] if finite else 0.0
    if kind == "count":
        return "%+,.1f" if delta and typical < 10 else ("%+,.0f" if delta else "%,.0f")
    if typical >= 100 or not finite:
        decimals = 0
    elif typical >= 1:
        decimals = 2
    else:
        decimals = min(6, 2 - math.floor(math.log10(typical)))
    sign = "+" if delta else ""
    return f"%{sign},.{decimals}f"


def column_spec(
    label: str, kind: str, values=(), delta: bool = False, help: str = ""
) -> ColumnSpec:
    """The display of one numeric column: its format, unit-bearing label and help."""
    return ColumnSpec(
        label=label,
        format=number_format(values, kind, delta),
        help=help,
        scale=100.0 if kind == "percent" else 1.0,
    )


def plotly_tickformat(kind: str) -> str:
    """A d3 tick format for an axis of this kind.

    % axes for fractions, percentage points for their differences, else thousands
    separators and never an exponent (350,000, not 3.5e+5).
    """
    return {"percent": ".1~%", "score": ".2f", "points": "+.0f", "pp": "+.2~f"}.get(kind, ",.4~r")


def plotly_hoverformat(kind: str) -> str:
    """A d3 hover format for values of this kind."""
    return {"percent": ".2%", "score": ".3f", "points": "+.1f", "pp": "+.2f"}.get(kind, ",.4~r")


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 replicate', '3 replicates' ('1 pair', '2 pairs'); ``many`` for an irregular plural."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


#: Names of options whose words are people's names (the network models).
PROPER_NAMES = {
    "watts_strogatz": "Watts-Strogatz", "erdos_renyi": "Erdős-Rényi",
    "barabasi_albert": "Barabási-Albert", "edgelist": "Edge list",
}  # fmt: skip


def option_label(name: str) -> str:
    """A config option or scenario as a person reads it: 'chatbot_rollout' -> 'Chatbot rollout'.

    The option itself (what the URL, the command and the tables say) is unchanged; this is
    only what a widget shows.
    """
    return PROPER_NAMES.get(name) or _words(name)
