"""The brands' colours, shared by the command line's plots and the app's charts.

The same brand always gets the same colour, in every chart of every tool.
"""

from __future__ import annotations

from collections.abc import Iterable

#: A fixed palette for brands: the same brand always gets the same colour.
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
)  # fmt: skip
KNOWN_BRANDS = ("incumbent", "challenger", "budget", "newco", "brand")


def brand_colours(brands: Iterable[str]) -> dict[str, str]:
    """A colour per brand: known brands keep a fixed colour, others take the next free one."""
    brands = list(brands)
    out: dict[str, str] = {}
    for b in brands:
        if b not in out and b in KNOWN_BRANDS:
            out[b] = PALETTE[KNOWN_BRANDS.index(b)]
    free = [c for c in PALETTE if c not in out.values()]
    for b in brands:
        if b not in out:
            out[b] = free.pop(0) if free else PALETTE[len(out) % len(PALETTE)]
    return out
