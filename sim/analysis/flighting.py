"""Flighting plans for ``journeysim groundtruth``: a brand's ad spend by week, channel and region.

A plan is a multiplier ``m[w, r, c]`` of the brand's configured ad reach on channel ``c`` in
week ``w`` (1..W) and region ``r``: in that week the brand's reach is ``m * reach_c``, so its
expected spend is ``m`` times the configured week's (``spend = N * reach_c * cost_c * steps``,
``sim.analysis.budget``). A multiplier of 0 is an off week, 1 the market as configured.
Regions: a market of one region (``conf/regions/default.yaml``) has one plan region,
``national``; a market of several (``regions=example``) has one per configured region, and the
brand's reach there is ``m[w, r, c] * reach_c * a_rc`` (``a_rc`` the region's ``ad_factor``,
``sim.engine.regions``): a multiplier of the region's own configured reach. Every generator
then varies the multipliers by region too, so a geo model has variation between regions to
use (``generate``); plan files may give rows per region.

A plan comes from a named generator or a file (``--flighting``):

- ``constant``: every multiplier 1 (no variation: a media-mix model cannot identify anything).
- ``flights[:on=4,off=2,level=1]``: on/off flights: channel k (0-based) is on at ``level`` for
  ``on`` weeks, then off for ``off`` weeks, its cycle shifted by ``k (on + off) // C`` weeks,
  so channels are not switched together; in region r (0-based, of R) shifted by
  ``r (on + off) // R`` weeks more.
- ``bursts[:every=8,length=2,size=3]``: multiplier 1 with bursts of ``size`` lasting ``length``
  weeks every ``every`` weeks, channel k's shifted by ``k every // C`` weeks (and region r's by
  ``r every // R`` more).
- ``steps[:changes=2,low=0.5,high=1.5,seed=0]``: step changes: each channel's level is drawn
  uniformly in [low, high] at week 1 and at ``changes`` change weeks drawn without
  replacement from 2..W, and held between them.
- ``random[:sd=0.5,seed=0]`` (the default): independent log-normal weekly multipliers with
  mean 1, ``m = exp(sd z - sd^2 / 2)``, z standard normal, clipped to [0, ``MAX_MULTIPLIER``].

Random generators draw from ``numpy.random.default_rng([seed, k])`` for channel k (with more
than one region ``default_rng([seed, k, r + 1])`` for channel k in region r: independent draws per
region): the same spec gives the same plan on every machine.

A plan file is data, never code: a CSV with columns ``week``, ``channel``, one of
``multiplier`` or ``spend`` (money per week) and optionally ``region``; or a YAML mapping
``{multiplier: {channel: [m_1, ..., m_W]}}`` (or ``spend:``), or per region
``{multiplier: {region: {channel: [...]}}}``. A row without a region (no ``region`` column, an
empty value, or the YAML's first form) applies to every region; weeks, regions and channels
not given keep multiplier 1. A spend is turned into a multiplier by dividing by the
configured week's expected spend (``spend / (N reach_c cost_c steps_per_week)``; a region's
row by its region's, ``N share_r reach_c a_rc cost_c steps_per_week``). Every value is
checked: one line names the key, the value and the allowed range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.config import ConfigError

#: The one region of a market without regions.
NATIONAL = "national"
#: Largest multiplier of the configured reach a plan may set (an ``ad_burst`` allows 100;
#: the response curve multiplies the plan by up to ``MAX_CURVE`` more).
MAX_MULTIPLIER = 10.0
#: Weeks a plan may span (10 years).
MAX_WEEKS = 520
#: The largest plan file read.
MAX_PLAN_BYTES = 5_000_000
#: Named generators and their parameters: name -> {param: (default, low, high, integer)}.
GENERATORS: dict[str, dict[str, tuple[float, float, float, bool]]] = {
    "constant": {},
    "flights": {
        "on": (4, 1, MAX_WEEKS, True),
        "off": (2, 0, MAX_WEEKS, True),
        "level": (1.0, 0.0, MAX_MULTIPLIER, False),
    },
    "bursts": {
        "every": (8, 1, MAX_WEEKS, True),
        "length": (2, 1, MAX_WEEKS, True),
        "size": (3.0, 0.0, MAX_MULTIPLIER, False),
    },
    "steps": {
        "changes": (2, 0, MAX_WEEKS, True),
        "low": (0.5, 0.0, MAX_MULTIPLIER, False),
        "high": (1.5, 0.0, MAX_MULTIPLIER, False),
        "seed": (0, 0, 2**31 - 1, True),
    },
    "random": {"sd": (0.5, 0.0, 2.0, False), "seed": (0, 0, 2**31 - 1, True)},
}
DEFAULT_PLAN = "random"


@dataclass(frozen=True)
class Plan:
    """A brand's weekly flighting plan.

    Attributes:
        brand: the brand whose ads the plan moves.
        channels: the channels it moves (those the brand advertises on), in config order.
        regions: the regions (``(NATIONAL,)`` in a market of one region).
        multipliers: ``[W, R, C]`` multipliers of the configured ad reach.
        source: the generator spec or file the plan came from.
    """

    brand: str
    channels: tuple[str, ...]
    regions: tuple[str, ...]
    multipliers: np.ndarray
    source: str

    @property
    def weeks(self) -> int:
        """Weeks the plan spans."""
        return int(self.multipliers.shape[0])

    def scaled(self, channel: str, factor: float) -> Plan:
        """This plan with one channel's multipliers times ``factor`` (0: its spend removed)."""
        m = self.multipliers.copy()
        m[:, :, self.channels.index(channel)] *= factor
        return Plan(self.brand, self.channels, self.regions, m, self.source)

    def scaled_in(self, channel: str, region: str, factor: float) -> Plan:
        """This plan with one channel's multipliers in one region times ``factor``."""
        m = self.multipliers.copy()
        m[:, self.regions.index(region), self.channels.index(channel)] *= factor
        return Plan(self.brand, self.channels, self.regions, m, self.source)

    def pulsed(self, channel: str, week: int, size: float) -> Plan:
        """This plan with ``size`` added to one channel's multiplier in one week (a pulse)."""
        m = self.multipliers.copy()
        m[week - 1, :, self.channels.index(channel)] += size
        return Plan(self.brand, self.channels, self.regions, m, self.source)

    def table(self):
        """The plan as a frame: week, region, channel, multiplier."""
        import polars as pl

        w, r, c = np.meshgrid(
            np.arange(1, self.weeks + 1), np.arange(len(self.regions)),
            np.arange(len(self.channels)), indexing="ij",
        )  # fmt: skip
        return pl.DataFrame(
            {
                "week": w.ravel().astype(np.int64),
                "region": [self.regions[k] for k in r.ravel()],
                "channel": [self.channels[k] for k in c.ravel()],
                "multiplier": self.multipliers.ravel().astype(float),
            }
        )


def events(plan: Plan, steps_per_week: int) -> list[dict]:
    """The plan as ``ad_burst`` events (``scenarios/events.py``) on the brand's ads.

    Week w spans steps ``(w - 1) S + 1 .. w S`` (S steps a week; events act from step 1). Each
    channel's weeks are run-length encoded: a run of equal multipliers ``m != 1`` is one event
    ``{kind: ad_burst, brand, channels, multiplier: m, start, end}`` (``end`` exclusive), and
    runs with the same window and multiplier share one event naming all their channels. The
    event multiplies the reach the market has then (``reach * m``), so the scenario's own
    events still act, in their order, before the plan's.

    With more than one region each region's multipliers are encoded alike into events that
    name the region (``region: r``, region after region): they act on that region's tables
    only, on its reach ``reach_c a_rc`` after the events that name no region
    (``JourneyModel._region_tables``). A market of one region gets the events without
    ``region``, exactly as before regions existed.
    """
    regional = len(plan.regions) > 1
    out = []
    for r, region in enumerate(plan.regions):
        m = plan.multipliers[:, r, :]
        runs: dict[tuple[int, int, float], list[str]] = {}
        for k, channel in enumerate(plan.channels):
            w = 0
            while w < plan.weeks:
                v = float(m[w, k])
                end = w + 1
                while end < plan.weeks and float(m[end, k]) == v:
                    end += 1
                if v != 1.0:
                    runs.setdefault((w, end, v), []).append(channel)
                w = end
        for (w0, w1, v), channels in sorted(runs.items()):
            ev = {
                "kind": "ad_burst",
                "brand": plan.brand,
                "channels": channels,
                "multiplier": v,
                "start": w0 * steps_per_week + 1,
                "end": w1 * steps_per_week + 1,
            }
            out.append({**ev, "region": region} if regional else ev)
    return out


# -- generators ---------------------------------------------------------------------------
def parse_spec(spec: str) -> tuple[str, dict[str, float]]:
    """``NAME[:key=value,...]`` -> (name, parameters with defaults), checked.

    Raises:
        ConfigError: an unknown generator or parameter, or a value out of range (one line).
    """
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name not in GENERATORS:
        raise ConfigError(
            f"--flighting {spec}: {name!r} is not a generator ({', '.join(GENERATORS)}) "
            "nor a .csv/.yaml plan file"
        )
    fields = GENERATORS[name]
    params = {k: v[0] for k, v in fields.items()}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or key not in fields:
            allowed = ", ".join(fields) or "none"
            raise ConfigError(f"--flighting {spec}: {key!r} is not a parameter of {name} "
                              f"(parameters: {allowed})")  # fmt: skip
        _, lo, hi, integer = fields[key]
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not lo <= value <= hi or (integer and value != int(value)):
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"--flighting {name}.{key}={text.strip()}: must be {kind} "
                              f"in [{lo:g}, {hi:g}]")  # fmt: skip
        params[key] = int(value) if integer else value
    if name == "steps" and params["low"] > params["high"]:
        raise ConfigError(f"--flighting steps: low={params['low']:g} above high={params['high']:g}")
    return name, params


def generate(
    name: str, params: dict, weeks: int, n_channels: int, region: int = 0, n_regions: int = 1
) -> np.ndarray:
    """The ``[W, C]`` multipliers of a named generator in region ``region`` of ``n_regions``.

    With one region (the default) the plan of a market without regions; with more, region r's
    flights and bursts are shifted by ``r cycle // R`` weeks and its random draws are its own
    (``default_rng([seed, k, r + 1])``). See the module docstring.
    """
    out = np.ones((weeks, n_channels))
    w = np.arange(weeks)

    def rng_of(k: int) -> np.random.Generator:
        key = [int(params["seed"]), k] + ([region + 1] if n_regions > 1 else [])
        return np.random.default_rng(key)

    for k in range(n_channels):
        if name == "flights":
            cycle = params["on"] + params["off"]
            phase = (w + k * cycle // n_channels + region * cycle // n_regions) % cycle
            out[:, k] = np.where(phase < params["on"], params["level"], 0.0)
        elif name == "bursts":
            every = params["every"]
            phase = (w + k * every // n_channels + region * every // n_regions) % every
            out[:, k] = np.where(phase < params["length"], params["size"], 1.0)
        elif name == "steps":
            rng = rng_of(k)
            n = min(int(params["changes"]), weeks - 1)
            cuts = np.sort(rng.choice(np.arange(1, weeks), size=n, replace=False)) if n else []
            levels = rng.uniform(params["low"], params["high"], size=n + 1)
            out[:, k] = levels[np.searchsorted(np.asarray(cuts), w, side="right")]
        elif name == "random":
            rng = rng_of(k)
            sd = params["sd"]
            out[:, k] = np.exp(sd * rng.standard_normal(weeks) - sd * sd / 2)
    return np.clip(out, 0.0, MAX_MULTIPLIER)


# -- plan files ---------------------------------------------------------------------------
def _value(where: str, value, lo: float, hi: float) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ConfigError(f"{where}={value!r}: must be a number in [{lo:g}, {hi:g}]")
    return x


def read_file(path: Path) -> tuple[str, list[tuple[int, str | None, str, float]]]:
    """A plan file's rows as (what, [(week, region, channel, value)]); what is multiplier/spend.

    ``region`` is None for a row that names no region (it applies to every region).

    Raises:
        ConfigError: missing, too large, unreadable, or not in a plan layout (one line).
    """
    import yaml

    if not path.is_file():
        raise ConfigError(f"--flighting {path}: no such plan file")
    if path.stat().st_size > MAX_PLAN_BYTES:
        raise ConfigError(f"--flighting {path}: a plan file may have at most "
                          f"{MAX_PLAN_BYTES:,} bytes")  # fmt: skip
    suffix = path.suffix.lower()
    if suffix == ".csv":
        from sim.analysis.options import read_table

        table = read_table(path, "plan")
        what = [c for c in ("multiplier", "spend") if c in table.columns]
        if len(what) != 1 or not {"week", "channel"} <= set(table.columns):
            raise ConfigError(f"{path}: a plan CSV has columns week, channel, region (optional) "
                              "and one of multiplier or spend")  # fmt: skip
        extra = set(table.columns) - {"week", "channel", "region", what[0]}
        if extra:
            raise ConfigError(f"{path}: unknown column {sorted(extra)[0]!r} (columns: week, "
                              f"channel, region, {what[0]})")  # fmt: skip
        regions = table["region"].to_list() if "region" in table.columns else None
        rows = []
        for i, (week, channel, value) in enumerate(
            zip(table["week"].to_list(), table["channel"].to_list(), table[what[0]].to_list(),
                strict=True)
        ):  # fmt: skip
            region = None if regions is None or regions[i] in (None, "") else str(regions[i])
            rows.append((week, region, str(channel), value))
        return what[0], rows
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            raise ConfigError(f"{path}: cannot be read as YAML") from None
        if (
            not isinstance(data, dict)
            or len(data) != 1
            or next(iter(data))
            not in (
                "multiplier",
                "spend",
            )
        ):
            raise ConfigError(f"{path}: a plan YAML is {{multiplier: {{channel: [m_1, ...]}}}} "
                              "or {spend: {channel: [...]}}, optionally per region "
                              "{multiplier: {region: {channel: [...]}}}")  # fmt: skip
        what, by_channel = next(iter(data.items()))
        if not isinstance(by_channel, dict):
            raise ConfigError(f"{path}: {what} must map each channel to a list of weekly values")
        rows = []
        for key, values in by_channel.items():
            # a region's mapping of channels, or a channel's weeks for every region
            lists = values.items() if isinstance(values, dict) else [(key, values)]
            region = str(key) if isinstance(values, dict) else None
            for channel, weekly in lists:
                where = f"{what}.{key}" + (f".{channel}" if region is not None else "")
                if not isinstance(weekly, list):
                    raise ConfigError(f"{path}: {where} must be a list of weekly values")
                if len(weekly) > MAX_WEEKS:
                    raise ConfigError(f"{path}: {where} has {len(weekly)} weeks; at most "
                                      f"{MAX_WEEKS}")  # fmt: skip
                rows += [(w + 1, region, str(channel), v) for w, v in enumerate(weekly)]
        return what, rows
    raise ConfigError(f"--flighting {path}: a plan file must be .csv, .yaml or .yml")


def from_rows(
    what: str,
    rows: list[tuple[int, str | None, str, object]],
    weeks: int,
    channels: tuple[str, ...],
    regions: tuple[str, ...],
    week_spend: dict,
    where: str,
) -> np.ndarray:
    """The ``[W, R, C]`` multipliers of a plan file's rows; pairs not given stay 1.

    A row whose region is None sets every region. ``week_spend[(r, c)]`` (or
    ``week_spend[c]`` for every region) is the configured expected spend of a week on channel
    c in region r, which a spend is divided by.

    Raises:
        ConfigError: a week outside 1..W, an unknown region or channel, a pair given twice,
            or a value out of range (one line naming it).
    """
    m = np.ones((weeks, len(regions), len(channels)))
    seen = set()
    for week, region, channel, value in rows:
        try:
            w = int(week)
            if w != float(week):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where}: week={week!r}: must be an integer in [1, {weeks}]"
            ) from None
        if not 1 <= w <= weeks:
            raise ConfigError(f"{where}: week={w}: must be in [1, {weeks}] (--weeks {weeks})")
        if region is not None and region not in regions:
            raise ConfigError(f"{where}: region={region!r}: must be one of {', '.join(regions)}")
        if channel not in channels:
            raise ConfigError(f"{where}: channel={channel!r}: must be one the brand advertises "
                              f"on ({', '.join(channels)})")  # fmt: skip
        for r in regions if region is None else (region,):
            if (w, r, channel) in seen:
                raise ConfigError(f"{where}: week {w}, region {r}, channel {channel} given twice")
            seen.add((w, r, channel))
            named = f", {r}" if len(regions) > 1 else ""
            key = f"{where}: {what}[week {w}{named}, {channel}]"
            if what == "multiplier":
                x = _value(key, value, 0.0, MAX_MULTIPLIER)
            else:
                unit = week_spend.get((r, channel), week_spend.get(channel))
                x = _value(key, value, 0.0, MAX_MULTIPLIER * unit) / unit
            m[w - 1, regions.index(r), channels.index(channel)] = x
    return m


# -- the plan of a market -------------------------------------------------------------------
def regions_of(cfg) -> tuple[str, ...]:
    """The market's regions (``regions.groups``): ``(NATIONAL,)`` for a market of one."""
    node = cfg.get("regions")
    groups = node.get("groups") if hasattr(node, "get") else None
    names = [str(n) for n in groups.keys()] if hasattr(groups, "keys") else []
    return tuple(names) if len(names) > 1 else (NATIONAL,)


def ad_channels(cfg, brand: str) -> tuple[str, ...]:
    """The channels on which ``brand`` has ads (configured reach above 0), in config order."""
    reach = cfg.brands[brand].ad_reach
    return tuple(str(c) for c in cfg.channels if float(reach.get(c, 0.0) or 0.0) > 0)


def week_spend(
    cfg, brand: str, channel: str, steps_per_week: int, region: str | None = None
) -> float:
    """Expected spend of one configured week: ``N * reach_c * cost_c * steps_per_week``.

    In region r (a market of several): ``N share_r reach_c a_rc cost_c steps_per_week``, with
    ``a_rc`` the brand's ``ad_factor`` there (1 when not given).
    """
    reach = float(cfg.brands[brand].ad_reach[channel])
    spend = float(cfg.market.customers) * reach * float(cfg.channels[channel].cost) * steps_per_week
    if region is None or region == NATIONAL:
        return spend
    group = cfg.regions.groups[region]
    factors = ((group.get("brands") or {}).get(brand) or {}).get("ad_factor") or {}
    return spend * float(group.get("share", 1.0)) * float(factors.get(channel, 1.0))


def region_shares(cfg, regions: tuple[str, ...]) -> dict[str, float]:
    """Each plan region's configured share of the population (1 for ``NATIONAL``)."""
    if regions == (NATIONAL,):
        return {NATIONAL: 1.0}
    groups = cfg.regions.groups
    shares = {r: float(groups[r].get("share", 1.0)) for r in regions}
    total = sum(shares.values())
    return {r: v / total for r, v in shares.items()}


def make_plan(
    cfg, brand: str, spec: str, weeks: int, steps_per_week: int, only: list[str] | None = None
) -> Plan:
    """The plan ``spec`` (a generator spec or a plan file) for ``brand`` in market ``cfg``.

    ``only`` limits the plan (and so the truth) to some of the brand's ad channels; the others
    keep their configured reach every week and belong to the baseline.

    Raises:
        ConfigError: a bad spec or file, a brand without ads, or a channel of ``only`` the
            brand does not advertise on (one line).
    """
    channels = ad_channels(cfg, brand)
    if not channels:
        raise ConfigError(f"--brand {brand}: has no ads (every brands.{brand}.ad_reach is 0)")
    if only:
        for c in only:
            if c not in channels:
                raise ConfigError(f"--channels {','.join(only)}: {c!r} is not a channel "
                                  f"{brand} advertises on ({', '.join(channels)})")  # fmt: skip
        if len(set(only)) != len(only):
            raise ConfigError(f"--channels {','.join(only)}: a channel is given twice")
        channels = tuple(c for c in channels if c in only)
    regions = regions_of(cfg)
    path = Path(spec)
    if path.suffix.lower() in (".csv", ".yaml", ".yml"):
        what, rows = read_file(path)
        spend = {(r, c): week_spend(cfg, brand, c, steps_per_week, r)
                 for r in regions for c in channels}  # fmt: skip
        m = from_rows(what, rows, weeks, channels, regions, spend, str(path))
    else:
        name, params = parse_spec(spec)
        m = np.stack([generate(name, params, weeks, len(channels), r, len(regions))
                      for r in range(len(regions))], axis=1)  # fmt: skip
    return Plan(brand, channels, regions, m, spec)
