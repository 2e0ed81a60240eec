"""Config composition and validation: every shipped option composes and validates; bad
input stops at once with one line naming the key (misspelt keys and wrong types at
composition through the structured schema, out-of-range values in ``sim.config.validate``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("market", "brands", "channels", "network", "wom", "service", "engine", "scenario")
GROUP_OPTIONS = [
    (group, path.stem)
    for group in GROUPS
    for path in sorted((ROOT / "conf" / group).glob("*.yaml"))
]
LAUNCHERS = sorted(p.stem for p in (ROOT / "conf" / "hydra" / "launcher").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments" / "experiment").glob("*.yaml"))


def test_option_files_are_discovered():
    # guard against the parametrisations below silently running on nothing
    found = {g for g, _ in GROUP_OPTIONS}
    assert found == set(GROUPS)
    assert len([o for g, o in GROUP_OPTIONS if g == "scenario"]) >= 8
    assert {"bass", "retention", "compare_scenarios"} <= set(EXPERIMENTS)
    assert {"laptop", "ray_local"} <= set(LAUNCHERS)


@pytest.mark.parametrize("group, option", GROUP_OPTIONS, ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_group_option_composes_and_validates(group, option, tmp_path):
    extra = []
    if (group, option) == ("network", "edgelist"):  # needs its file: a 3-customer path
        (tmp_path / "ties.csv").write_text("0,1\n1,2\n")
        extra = [f"network.path={tmp_path / 'ties.csv'}", "market.customers=3"]
    cfg = load_config([f"{group}={option}", *extra])
    assert "hydra" not in cfg
    if group == "scenario":
        assert cfg.scenario.name == option
        assert str(cfg.scenario.description).strip()
    if group == "network":
        assert cfg.network.kind == option
    if group == "engine":
        assert cfg.engine.name == option


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_every_launcher_option_composes(launcher):
    load_config([f"hydra/launcher={launcher}"])


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_preset_composes_and_validates(name):
    cfg = load_config([f"+experiment={name}"])
    assert cfg.market.customers >= 2
    if name.startswith("sweep_"):
        assert cfg.sweep.name and cfg.sweep.description


def _sweeper_params(name: str) -> dict[str, str]:
    data = yaml.safe_load((ROOT / "experiments" / "experiment" / f"{name}.yaml").read_text())
    return ((data.get("hydra") or {}).get("sweeper") or {}).get("params") or {}


SWEEP_PRESETS = [n for n in EXPERIMENTS if _sweeper_params(n)]


@pytest.mark.parametrize("name", SWEEP_PRESETS)
def test_every_value_a_sweep_preset_sweeps_is_valid(name):
    """Each swept value composes and validates (so a long sweep never dies half-way)."""
    params = _sweeper_params(name)
    assert params
    parser = OverridesParser.create()
    for key, values in params.items():
        if key == "seed":
            continue
        (override,) = parser.parse_overrides([f"{key}={values}"])
        options = list(override.sweep_string_iterator())
        assert len(options) >= 2, key
        for value in options:
            load_config([f"+experiment={name}", f"{key}={value}"])


def test_sweep_ad_split_keeps_the_budget_fixed():
    for share in (0.0, 0.25, 1.0):
        cfg = load_config(["+experiment=sweep_ad_split", f"sweep.social_share={share}"])
        reach = cfg.brands.challenger.ad_reach
        assert reach.tv + reach.social == pytest.approx(0.02)
        assert reach.social == pytest.approx(0.02 * share)


# -- misspelt keys and wrong types fail at composition --------------------------------------
@pytest.mark.parametrize(
    "override, key",
    [
        ("brands.incumbent.prcie=1", "brands.incumbent.prcie"),
        ("market.custmers=5", "market.custmers"),
        ("wom.talk_rat=0.1", "wom.talk_rat"),
        ("brands.challenger.service_quality.ap=0.5", "brands.challenger.service_quality.ap"),
        (
            "scenario.events=[{kind: service_outage, brand: incumbent, sevrity: 0.5, start: 1,"
            " end: 5}]",
            "sevrity",
        ),
    ],
)
def test_misspelt_key_fails_at_composition_naming_it(override, key):
    with pytest.raises(ConfigError) as info:  # caught at composition, one line naming it
        load_config([override])
    text = str(info.value)
    assert key.rpartition(".")[2] in text and "\n" not in text


@pytest.mark.parametrize("override", ["+market.custmers=5", "+brands.incumbent.prcie=0.5"])
def test_misspelt_key_added_with_plus_is_rejected(override):
    with pytest.raises(Exception) as info:
        load_config([override])
    assert override.partition("=")[0].rpartition(".")[2] in str(info.value)


@pytest.mark.parametrize(
    "override", ["market.customers=abc", "sim.steps=abc", "market.customers=1.5", "seed=xyz"]
)
def test_wrong_type_fails_at_composition_naming_the_key(override):
    with pytest.raises(Exception) as info:
        load_config([override])
    key = override.partition("=")[0]
    assert key in str(info.value)


# -- out-of-range values: one line naming the full key, the value and the range ---------------
CHANNEL_LIST = "tv, social, search, reviews, store, app, service"
EVENT_KINDS = (
    "service_outage, price_change, ad_burst, new_entrant, chatbot_rollout, loyalty_programme, "
    "friction_reduction, wom_shock, pr_crisis, viral_review, personalisation"
)
RANGE_ERRORS = [
    (["brands.challenger.service_quality.app=1.7"],
     "brands.challenger.service_quality.app=1.7: must be between 0 and 1"),
    (["market.customers=0"], "market.customers=0: must be between 2 and 2000000000"),
    (["market.customers=1"], "market.customers=1: must be between 2 and 2000000000"),
    (["sim.steps=0"], "sim.steps=0: must be between 1 and 100000"),
    (["seed=-1"], "seed=-1: must be between 0 and 9223372036854775807"),
    (["wom.talk_rate=1.5"], "wom.talk_rate=1.5: must be between 0 and 1"),
    (["wom.weight=-0.2"], "wom.weight=-0.2: must be between 0 and 1"),
    (["service.contact_rate=2"], "service.contact_rate=2: must be between 0 and 1"),
    (["network.kind=star"],
     "network.kind=star: must be one of complete, erdos_renyi, watts_strogatz, barabasi_albert, "
     "clustered, edgelist"),
    (["network.rewiring=-0.1"], "network.rewiring=-0.1: must be between 0 and 1"),
    (["network.mean_degree=0.5"], "network.mean_degree=0.5: must be between 1 and 19999"),
    (["market.customers=100", "network.mean_degree=200"],
     "network.mean_degree=200: must be between 1 and 99"),
    (["brands.budget.price=-1"], "brands.budget.price=-1: must be between 0 and 1000000"),
    (["brands.incumbent.margin=1.2"], "brands.incumbent.margin=1.2: must be between 0 and 1"),
    (["brands.incumbent.launch_step=400"],
     "brands.incumbent.launch_step=400: must be between 0 and 365"),
    (["market.journey.need_rate=1.01"], "market.journey.need_rate=1.01: must be between 0 and 1"),
    (["market.churn.sensitivity=-1"], "market.churn.sensitivity=-1: must be between 0 and 100"),
    (["engine.name=spark"], "engine.name=spark: must be one of numba, mesa"),
    (["+brands.incumbent.ad_reach.radio=0.1"],
     f"brands.incumbent.ad_reach.radio=0.1: unknown channel: must be one of {CHANNEL_LIST}"),
    (["+brands.challenger.friction.radio=0.1"],
     f"brands.challenger.friction.radio=0.1: unknown channel: must be one of {CHANNEL_LIST}"),
    # scenario events (Hydra's list-of-dicts syntax)
    (["scenario.events=[{kind: service_outage, brand: nobody, severity: 0.5, start: 1, end: 5}]"],
     "scenario.events[0].brand=nobody: must be one of incumbent, challenger, budget"),
    (["scenario.events=[{kind: service_outage, brand: incumbent, channels: [radio],"
      " severity: 0.5, start: 1, end: 5}]"],
     f"scenario.events[0].channels=radio: must be one of {CHANNEL_LIST}"),
    (["scenario.events=[{kind: service_outage, brand: incumbent, severity: 0.5, start: 9, end: 5}]"],
     "scenario.events[0].end=5: must be between 10 and 100001"),
    (["scenario.events=[{kind: service_outage, brand: incumbent, start: 1, end: 5}]"],
     "scenario.events[0].severity=None: a service_outage event needs it"),
    (["scenario.events=[{kind: chatbot_rollout, brand: incumbent, adoption: 0.5, start: 1}]"],
     "scenario.events[0].quality=None: a chatbot_rollout event needs it"),
    (["scenario.events=[{kind: service_outage, brand: incumbent, severity: 1.5, start: 1, end: 5}]"],
     "scenario.events[0].severity=1.5: must be between 0 and 1"),
    (["scenario.events=[{kind: price_change, brand: budget, change: -1.5, start: 1}]"],
     "scenario.events[0].change=-1.5: must be between -0.99 and 10"),
    (["scenario.events=[{kind: pr_crisis, brand: incumbent, shift: 0.3, start: 1}]"],
     "scenario.events[0].shift=0.3: must be between -1 and 0"),
    (["scenario.events=[{kind: meteor, brand: incumbent, start: 1}]"],
     f"scenario.events[0].kind=meteor: must be one of {EVENT_KINDS}"),
    (["scenario=service_outage",
      "scenario.events=[{kind: price_change, brand: budget, change: -0.1, start: 5},"
      " {kind: service_outage, brand: nobody, severity: 0.5, start: 1, end: 5}]"],
     "scenario.events[1].brand=nobody: must be one of incumbent, challenger, budget"),
    # competitor response policies
    (["brands.incumbent.responses=[{kind: match_price, rivals: [nobody], lag: 14}]"],
     "brands.incumbent.responses[0].rivals=nobody: must be one of challenger, budget"),
    (["scenario=price_war", "brands.challenger.responses.0.rivals=[nobody]"],
     "brands.challenger.responses[0].rivals=nobody: must be one of incumbent, budget"),
    (["brands.incumbent.responses=[{kind: match_price, rivals: [incumbent]}]"],
     "brands.incumbent.responses[0].rivals=incumbent: must be one of challenger, budget"),
    (["brands.incumbent.responses=[{kind: teleport}]"],
     "brands.incumbent.responses[0].kind=teleport: must be one of match_price, ad_boost,"
     " service_investment"),
    (["brands.incumbent.responses=[{kind: ad_boost, share_below: 1.5}]"],
     "brands.incumbent.responses[0].share_below=1.5: must be between 0 and 1"),
]  # fmt: skip


@pytest.mark.parametrize(
    "overrides, message", RANGE_ERRORS, ids=[m.partition(":")[0] for _, m in RANGE_ERRORS]
)
def test_range_error_is_one_line_naming_key_value_and_range(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    text = str(info.value)
    assert text == message
    assert "\n" not in text


@pytest.mark.parametrize(
    "overrides",
    [
        ["brands.challenger.service_quality.app=1.0", "brands.challenger.service_quality.app=0"],
        ["scenario.events=[{kind: service_outage, brand: incumbent, severity: 1, start: 0,"
         " end: 366}]"],
        ["sim.steps=50", "scenario.events=[{kind: price_change, brand: budget, change: -0.3,"
         " start: 50}]"],
        ["scenario.events=[{kind: service_outage, brand: 'incumbent', channels: ['app'],"
         " severity: 0.5, start: 1, end: 5}]"],
    ],
)  # fmt: skip
def test_values_on_the_edge_of_their_range_are_accepted(overrides):
    load_config(overrides)


def test_a_valid_event_override_reaches_the_config():
    cfg = load_config(
        ["scenario.events=[{kind: price_change, brand: budget, change: -0.3, start: 10}]"]
    )
    (ev,) = cfg.scenario.events
    assert (ev.kind, ev.brand, ev.change, ev.start, ev.end) == (
        "price_change",
        "budget",
        -0.3,
        10,
        None,
    )
