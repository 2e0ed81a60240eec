"""The runs of a comparison: library scenarios and a what-if against a baseline, seed by seed.

A comparison is a baseline scenario, other library scenarios, and optionally one more variant,
``levers``: the baseline scenario with some changes. Every variant runs on seeds 0..R-1 (the
same seeds: common random numbers). The app's Compare page and ``journeysim compare`` plan
their runs here, so the command the app shows runs what the app ran, and ``journeysim
report`` on its folder gives the app's table.

A change (``key=value``) is by default made today: ``++scenario.changes={key: value}`` acts
from step 0 on the status quo the baseline shares (``sim.config.changes``); a rule or the
network (``wom=cascade``) is part of the status quo and stays an override of the market
itself. A target (``scenario.target.region=north``, ``scenario.target.segment=...``: the
changes act on that group's customers only) is kept as it is, an override of the variant's
scenario; it needs changes made today, so it is refused with ``long_run``. With ``long_run``
every change is an override of the market itself, burn-in included
(a comparison of long-run steady states). Overrides of the variant's market (``market``)
always change the market itself.
"""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The label of the variant made of changes to the baseline.
LEVERS_LABEL = "levers"
#: Overrides of these keys say whose customers the changes made today act on.
TARGET_KEYS = ("scenario.target.region", "scenario.target.segment")


@dataclass(frozen=True)
class Job:
    """One run: its scenario label, seed and the exact overrides given to load_config."""

    label: str
    seed: int
    overrides: tuple[str, ...] = field(default=())


def override_key(text: str) -> str:
    """The key an override sets: 'a.b' of 'a.b=1', '+a.b=1', '~a.b' or 'a.b@pkg=x'."""
    key = text.split("=", 1)[0].strip().lstrip("+~")
    return key.split("@", 1)[0]


def from_today(overrides: Sequence[str]) -> list[str]:
    """Changes as made at step 0 on the shared status quo.

    ``a.b=1`` becomes part of ``++scenario.changes={a.b: 1}`` when ``a.b`` may change
    today (``sim.config.changes.CHANGEABLE``); a rule or the network (``wom=cascade``)
    belongs to the status quo and stays an override of the market itself.
    """
    from sim.config.changes import CHANGEABLE, FIXED

    today, market = [], []
    for text in overrides:
        key, _, value = text.partition("=")
        changeable = key not in FIXED and any(fnmatch.fnmatchcase(key, p) for p in CHANGEABLE)
        (today if changeable and "/" not in key else market).append((key, value, text))
    if not today:
        return [t for _, _, t in market]
    body = ", ".join(f"{k}: {v}" for k, v, _ in today)
    return [*(t for _, _, t in market), f"++scenario.changes={{{body}}}"]


def variants(
    baseline: str,
    scenarios: Sequence[str],
    changes: Sequence[str] = (),
    market: Sequence[str] = (),
    long_run: bool = False,
) -> list[tuple[str, list[str]]]:
    """(label, overrides) of each compared variant, the baseline first.

    Library scenarios are ``scenario=NAME``; ``changes`` and ``market`` overrides make one
    more variant, ``levers``: the baseline scenario with those changes, named so in its
    config (``scenario.name``) and in every report.
    """
    out = [(baseline, [f"scenario={baseline}"])]
    out += [(s, [f"scenario={s}"]) for s in dict.fromkeys(scenarios) if s != baseline]
    check_target(changes, long_run)
    made = list(changes) if long_run else from_today(changes)
    if made or market:
        out.append((LEVERS_LABEL, [f"scenario={baseline}", f"++scenario.name={LEVERS_LABEL}",
                                   *made, *market]))  # fmt: skip
    return out


def is_target(text: str) -> bool:
    """True for an override that sets the changes' target (``TARGET_KEYS``)."""
    return override_key(text) in TARGET_KEYS


def check_target(changes: Sequence[str], long_run: bool = False) -> None:
    """A target among the changes needs changes made today: not ``long_run``, not alone.

    Raises:
        ConfigError: one line naming the target's override and why.
    """
    from sim.config.errors import ConfigError

    aimed = [t for t in changes if is_target(t)]
    if not aimed:
        return
    if long_run:
        raise ConfigError(
            f"{aimed[0]}: a target needs changes made today; a long-run comparison changes "
            "the market for everyone (drop --long-run)"
        )
    if len(aimed) == len(changes):
        raise ConfigError(
            f"{aimed[0]}: a target needs changes (e.g. brands.incumbent.price=0.9) for its "
            "customers"
        )


def jobs(
    variant_overrides: Sequence[tuple[str, Sequence[str]]],
    replicates: int,
    common: Sequence[str] = (),
) -> list[Job]:
    """Every run: variant by variant, seeds 0..replicates-1, ``common`` overrides on each."""
    return [
        Job(label, seed, (*ov, *common, f"seed={seed}"))
        for label, ov in variant_overrides
        for seed in range(replicates)
    ]


def compare_command(
    baseline: str,
    scenarios: Sequence[str],
    replicates: int,
    changes: Sequence[str] = (),
    market: Sequence[str] = (),
    long_run: bool = False,
    common: Sequence[str] = (),
) -> str:
    """The ``journeysim compare`` command line that runs exactly these jobs (shell-quoted)."""
    others = [s for s in dict.fromkeys(scenarios) if s != baseline]
    parts = ["journeysim", "compare", "--baseline", baseline]
    if others:
        parts += ["--scenarios", ",".join(others)]
    parts += ["--replicates", str(replicates)]
    for text in changes:
        parts += ["--change", text]
    for text in market:
        parts += ["--market", text]
    if long_run:
        parts.append("--long-run")
    parts += list(common)
    return " ".join(shlex.quote(p) for p in parts)
