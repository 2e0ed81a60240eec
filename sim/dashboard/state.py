"""The settings of a comparison: one source of truth for the runs, the URL and the command.

``Settings`` is what the compare form submits. From it alone come

- the runs (``plan``): for every scenario label and seed, the exact overrides given to
  ``load_config``;
- the command lines that reproduce them (``reproduce_commands``), built from the same
  overrides, so the command is what ran;
- the query parameters of a shareable URL (``to_query``/``from_query``).

Keys the form owns (market size, run length, seed, scenario) and keys a moved lever
sets cannot also be typed as overrides: ``conflicts`` refuses them with a message.
Nothing typed is executed here: overrides are strings handed to ``load_config``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sim.sweeps import plan as planning
from sim.sweeps.plan import LEVERS_LABEL, Job, override_key

MARKET_SIZES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
MAX_REPLICATES = 20
MIN_STEPS, MAX_STEPS = 30, 730
SERVICE_CHANNELS = ("store", "app", "service")
#: Keys the compare form sets on every run; typed overrides may not touch them.
OWNED_KEYS = {
    "market.customers": "Customers",
    "sim.steps": "Days simulated",
    "seed": "Replicates (seeds 0..R-1)",
    "scenario": "Baseline / Scenarios",
    "segments": "Segments",
    "hydra": "the app (Hydra settings do not apply to a run)",
}


@dataclass(frozen=True)
class Lever:
    """A slider over the config: one key (``key`` kind) or every ad reach of a brand.

    Attributes:
        id: stable name, used in the URL ('wom.talk_rate', 'ads.incumbent').
        label: what the slider says.
        group: 'Market' or the brand it belongs to.
        keys: the config keys it sets (a prefix for 'ads': every channel's reach).
        low, high, step: the slider's range.
        default: its value in the base config (1.0 for the ad multiplier; for a rule, the
            position of the configured rule in ``options``).
        kind: 'key' (sets ``keys[0]`` to the value), 'ads' (multiplies the reach) or 'rule'
            (chooses a config-group option, e.g. ``wom=cascade``).
        options: the choices of a 'rule' lever.
    """

    id: str
    label: str
    group: str
    keys: tuple[str, ...]
    low: float
    high: float
    step: float
    default: float
    kind: str = "key"
    options: tuple[str, ...] = ()


#: Network kinds the app offers (an edge list needs its file: type ``network=edgelist
#: network.path=...`` as an override instead).
NETWORKS = ("watts_strogatz", "erdos_renyi", "barabasi_albert", "clustered", "complete")


def _index(options: Sequence[str], value: str) -> int:
    """Position of ``value`` among ``options`` (0 when the config holds another choice)."""
    return options.index(value) if value in options else 0


def lever_specs(cfg) -> list[Lever]:
    """The levers of a base config: market-wide ones, then per brand (generic over brands)."""
    from agents.rule_names import SERVICE_RULES, WOM_RULES

    out = [
        Lever("wom", "Word-of-mouth rule", "Market", ("wom", "wom.rule"), 0.0,
              len(WOM_RULES) - 1, 1.0, float(WOM_RULES.index(str(cfg.wom.rule))), "rule",
              WOM_RULES),
        Lever("service", "Service rule", "Market", ("service", "service.rule"), 0.0,
              len(SERVICE_RULES) - 1, 1.0, float(SERVICE_RULES.index(str(cfg.service.rule))),
              "rule", SERVICE_RULES),
        Lever("network", "Social network", "Market", ("network", "network.kind"), 0.0,
              len(NETWORKS) - 1, 1.0, float(_index(NETWORKS, str(cfg.network.kind))), "rule",
              NETWORKS),
        Lever("wom.talk_rate", "Word-of-mouth strength (talk rate per day)", "Market",
              ("wom.talk_rate",), 0.0, 0.5, 0.01, float(cfg.wom.talk_rate)),
        Lever("market.churn.sensitivity", "Churn sensitivity to satisfaction", "Market",
              ("market.churn.sensitivity",), 0.0, 15.0, 0.5,
              float(cfg.market.churn.sensitivity)),
    ]  # fmt: skip
    for brand, br in cfg.brands.items():
        out.append(
            Lever(
                f"brands.{brand}.price",
                "Price per customer-day",
                brand,
                (f"brands.{brand}.price",),
                0.1,
                3.0,
                0.05,
                float(br.price),
            )
        )
        out.append(
            Lever(
                f"ads.{brand}",
                "Ad reach (x baseline)",
                brand,
                (f"brands.{brand}.ad_reach",),
                0.0,
                3.0,
                0.1,
                1.0,
                "ads",
            )
        )
        for ch in SERVICE_CHANNELS:
            key = f"brands.{brand}.service_quality.{ch}"
            out.append(Lever(key, f"Service quality: {ch}", brand, (key,), 0.0, 1.0, 0.05,
                             float(br.service_quality.get(ch, 0.0))))  # fmt: skip
    return out


def _clean(value: float) -> float:
    """A slider value without float noise (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.6g}")


def lever_overrides(levers: Mapping[str, float], specs: Sequence[Lever], cfg) -> list[str]:
    """Overrides of the levers moved away from their default, in ``specs`` order."""
    out = []
    for lever in specs:
        if lever.id not in levers:
            continue
        value = _clean(levers[lever.id])
        if math.isclose(value, lever.default, abs_tol=1e-12):
            continue
        if lever.kind == "rule":
            out.append(f"{lever.id}={lever.options[int(round(value))]}")
            continue
        if lever.kind == "ads":
            brand = lever.id.split(".", 1)[1]
            for ch, reach in cfg.brands[brand].ad_reach.items():
                if reach:
                    out.append(f"brands.{brand}.ad_reach.{ch}={_clean(reach * value)}")
        else:
            out.append(f"{lever.keys[0]}={value}")
    return out


@dataclass(frozen=True)
class Settings:
    """What the compare form submits (and what the URL holds)."""

    customers: int = 10_000
    replicates: int = 3
    steps: int = 365
    baseline: str = "baseline"
    scenarios: tuple[str, ...] = ("chatbot_rollout",)
    levers: tuple[tuple[str, float], ...] = ()
    overrides: tuple[str, ...] = ()
    long_run: bool = False  # levers change the market itself, burn-in included
    segments: str = "default"  # conf/segments/<name>.yaml: who the customers are, every run
    regions: str = "default"  # conf/regions/<name>.yaml: where they live, every run
    target: str = ""  # "segment:NAME" or "region:NAME": whose customers the levers change

    @property
    def lever_values(self) -> dict[str, float]:
        """The moved levers as {id: value}."""
        return dict(self.levers)

    def describe(self) -> str:
        """'baseline vs chatbot_rollout, levers · 10,000 customers · 365 days · 3 replicates'."""
        others = [s for s in self.scenarios if s != self.baseline]
        if self.levers or self.overrides:
            others.append(LEVERS_LABEL)
        vs = f"{self.baseline} vs {', '.join(others)}" if others else f"{self.baseline} alone"
        reps = f"{self.replicates} replicate" + ("s" if self.replicates != 1 else "")
        mode = ""
        if self.levers:
            mode = (
                " · levers as long-run steady states" if self.long_run else " · levers from today"
            )
        who = "".join(f" · {kind} {name}" for kind, name in self.populations().items())
        if self.levers and self.target:
            mode += f" for {target_label(self.target)}"
        return f"{vs}{mode} · {self.customers:,} customers{who} · {self.steps} days · {reps}"

    def populations(self) -> dict[str, str]:
        """The segment and region configs chosen, when not the default: {"segments": name}."""
        chosen = {"segments": self.segments, "regions": self.regions}
        return {kind: name for kind, name in chosen.items() if name != "default"}


#: Config groups that say who the customers are and where they live (one choice per run).
POPULATION_GROUPS = ("segments", "regions")


def target_label(target: str) -> str:
    """'region north' for ``region:north``; 'everyone' for no target."""
    return target.replace(":", " ", 1) if target else "everyone"


def population_groups(group: str, option: str, folder: Path | None = None) -> list[str]:
    """The groups an option of ``segments`` or ``regions`` names, in order ([] for one).

    Read as data (``yaml.safe_load``) from ``conf/<group>/<option>.yaml``; the default's one
    group, or a file that cannot be read, gives [].
    """
    import yaml

    if option == "default" or option not in config_sets(group, folder):
        return []
    path = (folder or Path(__file__).resolve().parents[2] / "conf" / group) / f"{option}.yaml"
    try:
        groups = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups") or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return [str(name) for name in groups] if len(groups) > 1 else []


def target_options(segments: str = "default", regions: str = "default") -> list[str]:
    """Whose customers the levers can change: everyone (""), a segment or a region."""
    return [
        "",
        *(f"segment:{name}" for name in population_groups("segments", segments)),
        *(f"region:{name}" for name in population_groups("regions", regions)),
    ]


def config_sets(group: str, folder: Path | None = None) -> list[str]:
    """The options of a config group (``conf/<group>/*.yaml``), ``default`` first."""
    folder = folder or Path(__file__).resolve().parents[2] / "conf" / group
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    return ["default", *[n for n in names if n != "default"]]


def segment_sets(folder: Path | None = None) -> list[str]:
    """The segment configs (``conf/segments/*.yaml``), ``default`` first."""
    return config_sets("segments", folder)


def region_sets(folder: Path | None = None) -> list[str]:
    """The region configs (``conf/regions/*.yaml``), ``default`` first."""
    return config_sets("regions", folder)


def moved_levers(settings: Settings, specs: Sequence[Lever]) -> dict[str, float]:
    """The levers of ``settings`` that differ from their default."""
    by_id = {lever.id: lever for lever in specs}
    return {
        k: v for k, v in settings.lever_values.items()
        if k in by_id and not math.isclose(_clean(v), by_id[k].default, abs_tol=1e-12)
    }  # fmt: skip


def variants(settings: Settings, specs: Sequence[Lever], cfg) -> list[tuple[str, list[str]]]:
    """(label, scenario overrides) of each compared variant, the baseline first.

    Library scenarios are ``scenario=NAME``; moved levers (changes made today, unless
    ``long_run``) and typed overrides (of the variant's market itself) make one more
    variant, 'levers': the baseline scenario with those changes (``sim.sweeps.plan``).
    """
    changes = lever_changes(settings, specs, cfg)
    return planning.variants(
        settings.baseline, settings.scenarios, changes, settings.overrides, settings.long_run
    )


def lever_changes(settings: Settings, specs: Sequence[Lever], cfg) -> list[str]:
    """The moved levers as ``key=value`` changes (``wom=cascade`` for a rule).

    With a target (``Settings.target``) and levers moved, ``scenario.target.<kind>=<name>``
    follows them: the changes made today act on that segment's or region's customers only.
    """
    changes = lever_overrides(moved_levers(settings, specs), specs, cfg)
    if changes and settings.target and not settings.long_run:
        kind, _, name = settings.target.partition(":")
        changes.append(f"scenario.target.{kind}={name}")
    return changes


def size_overrides(settings: Settings) -> list[str]:
    """The market size, run length and (when not the default) segments and regions of every run."""
    who = [f"{kind}={name}" for kind, name in settings.populations().items()]
    return [f"market.customers={settings.customers}", f"sim.steps={settings.steps}", *who]


def plan(settings: Settings, specs: Sequence[Lever], cfg) -> list[Job]:
    """Every run of a comparison, variant by variant, seed by seed."""
    runs = variants(settings, specs, cfg)
    return planning.jobs(runs, settings.replicates, size_overrides(settings))


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def conflicts(settings: Settings, specs: Sequence[Lever]) -> list[str]:
    """Messages for typed overrides that set a key the form or a moved lever owns."""
    by_id = {lever.id: lever for lever in specs}
    owned = dict(OWNED_KEYS)
    for lever_id in moved_levers(settings, specs):
        lever = by_id[lever_id]
        for key in lever.keys:
            owned[key] = f"the lever '{lever.label}' ({lever.group})"
    out = []
    for text in settings.overrides:
        key = override_key(text)
        if "_target_" in key:
            out.append(f"`{text}`: overrides may not set `_target_` (nothing typed is executed)")
            continue
        for owner_key, owner in owned.items():
            if _overlaps(key, owner_key):
                out.append(f"`{text}`: {owner_key} is set by {owner}; change it there")
                break
    return out


#: The last part of a key that names a file or folder on the server.
PATH_KEY = re.compile(r"(^|[._])(path|file|dir|folder|root)$")


def outside_roots(overrides: Sequence[str], roots: Sequence[Path]) -> list[str]:
    """Messages for typed overrides naming a file outside the allowed folders.

    A hosted app's user may read data placed for them (``roots``), never another file
    of the server. Paths are resolved as the run will resolve them (a relative one from
    the working directory, links followed).
    """
    out = []
    for text in overrides:
        key = override_key(text)
        if not PATH_KEY.search(key) or key.split(".")[0] == "hydra":  # hydra: refused apart
            continue
        value = text.split("=", 1)[1].strip().strip("'\"") if "=" in text else ""
        if not value:
            continue
        full = Path(value).expanduser().resolve()
        if not any(full.is_relative_to(Path(r).resolve()) for r in roots):
            allowed = " or ".join(str(r) for r in roots)
            out.append(f"`{key}`: files may only be read from {allowed}")
    return out


def reproduce_commands(settings: Settings, specs: Sequence[Lever], cfg) -> list[str]:
    """The one command line that runs exactly the comparison's jobs (``journeysim compare``).

    ``journeysim report`` on its output folder gives the comparison's table.
    """
    return [planning.compare_command(settings.baseline, settings.scenarios, settings.replicates,
                                 lever_changes(settings, specs, cfg), settings.overrides,
                                 settings.long_run, size_overrides(settings))]  # fmt: skip


# -- query parameters --------------------------------------------------------------------------
QUERY_KEYS = ("customers", "replicates", "days", "baseline", "scenarios", "levers", "overrides",
              "long_run", "segments", "regions", "target")  # fmt: skip


def to_query(settings: Settings) -> dict[str, str]:
    """The settings as URL query parameters (strings; Streamlit encodes them)."""
    return {
        "customers": str(settings.customers),
        "replicates": str(settings.replicates),
        "days": str(settings.steps),
        "baseline": settings.baseline,
        "scenarios": ",".join(settings.scenarios),
        "levers": ",".join(f"{k}:{_clean(v)}" for k, v in settings.levers),
        "overrides": " ".join(settings.overrides),
        **({"long_run": "1"} if settings.long_run else {}),
        **settings.populations(),
        **({"target": settings.target} if settings.target else {}),
    }


def _int_in(text: str, low: int, high: int, name: str, problems: list[str]) -> int | None:
    try:
        value = int(text)
    except ValueError:
        problems.append(f"{name}={text!r} is not a whole number")
        return None
    if not low <= value <= high:
        problems.append(f"{name}={value} is outside {low}..{high}")
        return None
    return value


def from_query(
    query: Mapping[str, str],
    scenario_names: Sequence[str],
    specs: Sequence[Lever],
    default: Settings | None = None,
) -> tuple[Settings, list[str]]:
    """Settings from URL query parameters, and what in them could not be used.

    Unknown scenarios and levers, out-of-range numbers and garbage are dropped (the
    default stays) and named in the problems, never raised.
    """
    s = default or Settings()
    problems: list[str] = []
    if "customers" in query:
        n = _int_in(query["customers"], MARKET_SIZES[0], MARKET_SIZES[-1], "customers", problems)
        if n is not None:
            nearest = min(MARKET_SIZES, key=lambda m: abs(m - n))
            if nearest != n:
                problems.append(f"customers={n} is not offered: using {nearest:,}")
            s = replace(s, customers=nearest)
    if "replicates" in query:
        r = _int_in(query["replicates"], 1, MAX_REPLICATES, "replicates", problems)
        s = s if r is None else replace(s, replicates=r)
    if "days" in query:
        d = _int_in(query["days"], MIN_STEPS, MAX_STEPS, "days", problems)
        s = s if d is None else replace(s, steps=d)
    names = list(scenario_names)
    if "baseline" in query:
        if query["baseline"] in names:
            s = replace(s, baseline=query["baseline"])
        else:
            problems.append(f"baseline={query['baseline']!r} is not a library scenario")
    if "scenarios" in query:
        wanted = [x for x in query["scenarios"].split(",") if x]
        unknown = [x for x in wanted if x not in names]
        if unknown:
            problems.append(f"unknown scenarios left out: {', '.join(unknown)}")
        kept = tuple(dict.fromkeys(x for x in wanted if x in names and x != s.baseline))
        s = replace(s, scenarios=kept)
    if "levers" in query:
        by_id = {lever.id: lever for lever in specs}
        levers = []
        for item in (x for x in query["levers"].split(",") if x):
            lever_id, _, text = item.rpartition(":")
            lever = by_id.get(lever_id)
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if lever is None or not lever.low <= value <= lever.high:
                problems.append(f"lever {item!r} left out (unknown or out of range)")
                continue
            levers.append((lever_id, _clean(value)))
        s = replace(s, levers=tuple(sorted(dict(levers).items())))
    if "overrides" in query:
        s = replace(s, overrides=tuple(x for x in query["overrides"].split() if x))
    if "long_run" in query:
        s = replace(s, long_run=query["long_run"] == "1")
    for group in POPULATION_GROUPS:
        if group not in query:
            continue
        if query[group] in config_sets(group):
            s = replace(s, **{group: query[group]})
        else:
            problems.append(f"{group}={query[group]!r} is not a {group[:-1]} config")
    if "target" in query:
        if query["target"] in target_options(s.segments, s.regions):
            s = replace(s, target=query["target"])
        else:
            problems.append(f"target={query['target']!r} is not a segment or region of this market")
    return s, problems


def settings_from_form(
    customers: int,
    replicates: int,
    steps: int,
    baseline: str,
    scenarios: Sequence[str],
    lever_values: Mapping[str, float],
    specs: Sequence[Lever],
    overrides_text: str,
    long_run: bool = False,
    segments: str = "default",
    regions: str = "default",
    target: str = "",
) -> Settings:
    """Settings from the form's widgets: only moved levers kept, the baseline not repeated."""
    by_id = {lever.id: lever for lever in specs}
    moved = {
        k: _clean(v) for k, v in lever_values.items()
        if k in by_id and not math.isclose(_clean(v), by_id[k].default, abs_tol=1e-12)
    }  # fmt: skip
    return Settings(
        customers=int(customers),
        replicates=int(replicates),
        steps=int(steps),
        baseline=baseline,
        scenarios=tuple(dict.fromkeys(s for s in scenarios if s != baseline)),
        levers=tuple(sorted(moved.items())),
        overrides=tuple(x for x in overrides_text.split() if x),
        long_run=bool(long_run),
        segments=str(segments),
        regions=str(regions),
        target=str(target) if str(target) in target_options(str(segments), str(regions)) else "",
    )


# -- run time ----------------------------------------------------------------------------------
#: The calibration runs (customers, recorded steps), no burn-in: a small market twice (the first
#: loads or compiles the kernels), then a larger one short and long, so that the fixed cost of a
#: run, its cost per customer and the engine's rate come apart.
CALIBRATION_RUNS = ((2_000, 20), (2_000, 20), (20_000, 10), (20_000, 110))


@dataclass(frozen=True)
class Speed:
    """This process's measured speed (one thread).

    A run of N customers and T steps on k threads takes about
    ``fixed + per_customer N + N T / (rate k)`` seconds; a burn-in of B steps not in the
    status-quo cache adds ``N B / (rate k)``. ``compile_seconds`` is what the first run of the
    process took beyond that (loading or compiling the kernels): shown apart on a cold start.
    """

    rate: float
    fixed: float
    per_customer: float
    compile_seconds: float = 0.0

    def run_seconds(self, customers: int, steps: int, threads: int = 1) -> float:
        """Seconds of one run (recorded steps, building and collecting included)."""
        return (self.fixed + self.per_customer * customers
                + customers * steps / (self.rate * max(threads, 1)))  # fmt: skip

    def burn_in_seconds(self, customers: int, burn_in: int, threads: int = 1) -> float:
        """Seconds of a burn-in computed (not loaded from the status-quo cache)."""
        return customers * burn_in / (self.rate * max(threads, 1))


def fit_speed(seconds: Sequence[float], runs=CALIBRATION_RUNS) -> Speed:
    """The ``Speed`` the calibration runs' wall times give (``runs`` as ``CALIBRATION_RUNS``).

    The rate comes from the two larger runs (same customers, different steps); the cost per
    customer from the small and the short larger run; the first small run's excess over the
    second is the one-off compile (or cache load) time.
    """
    (n1, t1), _, (n2, t2), (_, t3) = runs
    cold, small, short, long = (float(x) for x in seconds)
    rate = n2 * (t3 - t2) / max(long - short, 1e-6)
    step_small, step_short = n1 * t1 / rate, n2 * t2 / rate
    per_customer = max((short - step_short) - (small - step_small), 0.0) / (n2 - n1)
    fixed = max(small - step_small - per_customer * n1, 0.0)
    return Speed(rate, fixed, per_customer, max(cold - small, 0.0))


def estimate_seconds(
    runs: Sequence[tuple[int, int, int]], burn_ins: Sequence[tuple[int, int, int]], speed: Speed
) -> float:
    """Seconds for ``runs`` (customers, steps, threads) and burn-ins (customers, steps, threads)."""
    return sum(speed.run_seconds(n, t, k) for n, t, k in runs) + sum(
        speed.burn_in_seconds(n, b, k) for n, b, k in burn_ins
    )


def progress_text(
    done_runs: int,
    total_runs: int,
    label: str,
    seed: int,
    step: int,
    steps: int,
    left_seconds: float | None,
) -> str:
    """'Run 3/6: chatbot_rollout, seed 1 · day 120/365 · about 8 s left'."""
    text = f"Run {done_runs + 1}/{total_runs}: {label}, seed {seed} · day {step}/{steps}"
    if left_seconds is not None and left_seconds >= 1:
        from sim.engine.resources import human_seconds

        text += f" · about {human_seconds(left_seconds)} left"
    return text
