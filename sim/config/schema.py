"""Structured-config schemas: dataclasses registered in Hydra's ConfigStore.

``conf/config.yaml`` lists ``journeysim_schema`` first in its defaults, so every
group file is merged onto these typed nodes: a misspelt key or a value of the
wrong type fails at composition, before any work. Ranges (a probability in
[0, 1], a positive count) are checked afterwards by ``sim.config.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class TraitConfig:
    """A per-customer trait distribution: beta, lognormal or constant."""

    dist: str = "beta"
    mean: float = 0.5
    sd: float = 0.0
    alpha: float | None = None
    beta: float | None = None


@dataclass
class TraitsConfig:
    """Trait distributions of the population."""

    price_sensitivity: TraitConfig = field(default_factory=TraitConfig)
    wom_activity: TraitConfig = field(default_factory=TraitConfig)
    expectation: TraitConfig = field(default_factory=TraitConfig)
    churn_propensity: TraitConfig = field(default_factory=TraitConfig)
    wom_threshold: TraitConfig = field(
        default_factory=lambda: TraitConfig(dist="beta", mean=0.3, sd=0.1)
    )


@dataclass
class JourneyConfig:
    """Journey rates, the consideration threshold and forgetting."""

    need_rate: float = 0.01
    consider_threshold: float = 0.45
    usage_rate: float = 0.2
    forget_rate: float = 0.0


@dataclass
class CategoryConfig:
    """Needs for the category appear and end (per-step rates)."""

    entry_rate: float = 0.0
    exit_rate: float = 0.0
    turnover: float = 0.0
    attention: float = 1.0


@dataclass
class RecommendConfig:
    """Likelihood to recommend: satisfaction versus reputation."""

    satisfaction_weight: float = 1.0


@dataclass
class SatisfactionConfig:
    """Expectation-disconfirmation and satisfaction learning."""

    met_level: float = 0.72
    sensitivity: float = 1.5
    weight: float = 0.15
    negativity_bias: float = 2.0
    forgiveness: float = 0.5
    expectation_rate: float = 0.05
    disposition: float = 0.0


@dataclass
class ChoiceConfig:
    """Multinomial-logit choice weights."""

    beta_attitude: float = 5.0
    beta_price: float = 2.0
    beta_friction: float = 3.0
    inertia: float = 4.5


@dataclass
class ChurnConfig:
    """Churn hazard and shock switching."""

    sensitivity: float = 5.0
    reference: float = 0.72
    shock_threshold: float = 0.4
    shock_switch: float = 0.15
    price_reevaluation: float = 0.0
    alternatives_weight: float = 0.0
    alternatives_reference: float = 0.5
    price_memory: float = 0.0


@dataclass
class SpendConfig:
    """Tenure uplift of spend."""

    tenure_uplift: float = 0.15
    cap_years: float = 3.0


@dataclass
class MarketConfig:
    """The population and the journey rules that belong to no brand."""

    customers: int = 20000
    traits: TraitsConfig = field(default_factory=TraitsConfig)
    initial_consideration: float = 0.3
    initial_satisfaction: float = 0.72
    initial_tenure_years: float = 2.0
    journey: JourneyConfig = field(default_factory=JourneyConfig)
    satisfaction: SatisfactionConfig = field(default_factory=SatisfactionConfig)
    choice: ChoiceConfig = field(default_factory=ChoiceConfig)
    churn: ChurnConfig = field(default_factory=ChurnConfig)
    spend: SpendConfig = field(default_factory=SpendConfig)
    category: CategoryConfig = field(default_factory=CategoryConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)


@dataclass
class ChannelConfig:
    """A channel and its role per journey stage."""

    kind: str = "paid"
    awareness: float = 0.0
    consideration: float = 0.0
    purchase: float = 0.0
    service_share: float = 0.0
    cost: float = 0.0
    service_cost: float = 0.0


@dataclass
class ResponseConfig:
    """A competitor response policy carried by a brand.

    kinds: ``match_price`` (follow the lowest rival price after ``lag`` steps),
    ``ad_boost`` (multiply ad reach by ``multiplier`` while share < ``share_below``),
    ``service_investment`` (raise service quality by ``quality_step`` a step, up to
    ``max_quality``, while NPS < ``nps_below``, at ``cost`` a step).
    """

    kind: str = MISSING
    rivals: list[str] | None = None
    lag: int = 14
    share_below: float = 0.2
    multiplier: float = 1.5
    nps_below: float = 0.0
    quality_step: float = 0.002
    max_quality: float = 0.95
    cost: float = 0.0
    region: str | None = None  # only in this region (``conf/regions/``)


@dataclass
class BrandConfig:
    """A brand: price, margin, product, equity, launch, and per-channel levels."""

    price: float = 1.0
    margin: float = 0.3
    product_quality: float = 0.7
    equity: float = 0.5
    initial_awareness: float = 0.5
    initial_share: float = 0.0
    launch_step: int = 0
    ad_reach: dict[str, float] = field(default_factory=dict)
    service_quality: dict[str, float] = field(default_factory=dict)
    first_contact_resolution: dict[str, float] = field(default_factory=dict)
    friction: dict[str, float] = field(default_factory=dict)
    service_capacity: dict[str, float] = field(default_factory=dict)
    service_spend: float = 0.02
    # cost of winning one customer beyond the ads: sales commission, onboarding, welcome offer
    acquisition_cost: float = 0.0
    responses: list[ResponseConfig] = field(default_factory=list)


@dataclass
class NetworkConfig:
    """The social network (``sim.engine.network``; which keys each kind reads in brackets)."""

    kind: str = "watts_strogatz"
    mean_degree: float = 10.0  # mean neighbours k [erdos_renyi, watts_strogatz, barabasi_albert]
    rewiring: float = 0.1  # P(a lattice tie is rewired) [watts_strogatz]
    group_size: int = 11  # customers per group [clustered]
    p_in: float = 0.6  # P(a strong tie) between two members of a group [clustered]
    weak_ties: float = 4.0  # mean weak ties per customer, across groups [clustered]
    path: str | None = None  # CSV or parquet file of the ties [edgelist]


@dataclass
class ReviewsConfig:
    """Online reviews: ratings built from customers' reviews, read as a broadcast."""

    channel: str = "reviews"
    read_rate: float = 0.0
    write: float = 0.02
    extremity: float = 4.0
    half_life: float = 90.0
    weight: float = 0.1


@dataclass
class WomConfig:
    """Word of mouth (its rule and parameters) and ads' weight on attitude."""

    rule: str = "pairwise"
    strong: float = 0.05
    weak: float = 0.02
    half_life: float = 0.0
    reviews: ReviewsConfig = field(default_factory=ReviewsConfig)

    talk_rate: float = 0.1
    weight: float = 0.3
    ad_weight: float = 0.08
    ad_tone: float = 0.85
    negativity_bias: float = 2.0
    consideration: float = 0.8
    purchase: float = 0.0
    news_weight: float = 0.3
    grudge_half_life: float = 0.0


@dataclass
class ServiceConfig:
    """Service encounters."""

    contact_rate: float = 0.01
    noise: float = 0.15
    recovery_paradox: float = 0.1
    failure_experience: float = 0.1
    complaint_threshold: float = 0.3
    complaint_rate: float = 0.0
    complaint_contact: float = 0.0
    rule: str = "constant"
    handle_rate: float = 40.0
    patience: float = 8.0
    minutes_per_step: float = 480.0
    wait_friction: float = 0.2
    lag: float = 60.0
    spend_reference: float = 0.008
    spend_elasticity: float = 1.0
    market_people: float | None = None
    load_window: float = 1.0
    occupancy: float = 1.0


@dataclass
class EngineConfig:
    """Which engine runs the market."""

    name: str = "numba"
    threads: int | None = None


@dataclass
class EventConfig:
    """A timed event of a scenario.

    Which fields matter depends on ``kind`` (see ``scenarios.events.EVENT_FIELDS``).
    """

    kind: str = MISSING
    start: int = 0
    end: int | None = None
    brand: str | None = None
    channels: list[str] | None = None
    segment: str | None = None  # only this segment's customers (``SEGMENT_EVENTS`` kinds)
    region: str | None = None  # only this region's customers (any kind but new_entrant)
    severity: float | None = None
    change: float | None = None
    multiplier: float | None = None
    reach: float | None = None
    quality: float | None = None
    escalation: float | None = None
    escalation_friction: float | None = None
    friction: float | None = None
    adoption: float | None = None
    churn_multiplier: float | None = None
    spend_multiplier: float | None = None
    cost_per_member: float | None = None
    reduction: float | None = None
    shift: float | None = None
    match: float | None = None
    cost_per_contact: float | None = None
    cost_per_customer: float | None = None
    investment: float | None = None


@dataclass
class TargetConfig:
    """Whose customers a scenario's ``changes`` act on (``sim.config.changes``): all by default."""

    region: str | None = None  # only this region's customers (conf/regions/)
    segment: str | None = None  # only this segment's customers (conf/segments/)


@dataclass
class ScenarioConfig:
    """A named what-if: a description and timed events on top of the baseline."""

    name: str = ""  # default: the scenario file chosen (sim.config.compose.scenario_label)
    description: str = ""
    baseline: str = "baseline"
    events: list[EventConfig] = field(default_factory=list)
    # key -> value set at step 0 on the shared status quo (sim.config.changes)
    changes: dict[str, Any] = field(default_factory=dict)
    # the changes act only on this region's and/or segment's customers (sim.config.changes)
    target: TargetConfig = field(default_factory=TargetConfig)


@dataclass
class SimConfig:
    """Run length."""

    steps: int = 365
    steps_per_year: float = 365.0
    burn_in: int = 0
    trace: int = 0


@dataclass
class FinanceConfig:
    """Discounting."""

    discount_rate: float = 0.0002
    clv_horizon_years: float = 10.0


@dataclass
class BassConfig:
    """Parameters of the Bass preset."""

    p: float = 0.03
    q: float = 0.38


@dataclass
class CascadeConfig:
    """Parameters of the independent-cascade preset."""

    a: float = 0.01
    strong: float = 0.0005
    weak: float = 0.0005


@dataclass
class ThresholdConfig:
    """Parameters of the linear-threshold preset."""

    mean: float = 0.3
    sd: float = 0.1
    initial: float = 0.1


@dataclass
class RetentionConfig:
    """Parameters of the retention preset."""

    r: float = 0.8
    margin: float = 1.0
    alpha: float | None = None
    beta: float | None = None


@dataclass
class SegmentConfig:
    """One segment of the population (``sim.engine.segments``; ``conf/segments/``).

    ``traits`` maps a trait name of ``market.traits`` to the keys that differ from the
    market's spec (validated by ``sim.config.validate``); ``attention`` maps a channel to
    the segment's relative attention to ads and news there (1: the market's average);
    ``service`` maps a channel to the share of the segment that buys and asks for service
    there (missing: the channels' ``service_share``).
    """

    share: float = 1.0
    traits: dict[str, Any] = field(default_factory=dict)
    attention: dict[str, float] = field(default_factory=dict)
    service: dict[str, float] = field(default_factory=dict)


@dataclass
class SegmentsConfig:
    """Named segments of the population and the network's homophily between them."""

    homophily: float = 0.0  # P(a customer lives among its own segment on the network)
    groups: dict[str, SegmentConfig] = field(default_factory=dict)  # empty: one segment


@dataclass
class RegionBrandConfig:
    """One brand in one region (``sim.engine.regions``): presence, launch, price and ads.

    ``present: false`` keeps the brand out of the region; ``launch_step`` is its launch there
    (never before the brand's own); ``price_factor`` multiplies its price there;
    ``ad_factor`` maps a channel to the factor on its ad reach there (missing: 1).
    """

    present: bool = True
    launch_step: int = 0
    price_factor: float = 1.0
    ad_factor: dict[str, float] = field(default_factory=dict)


@dataclass
class RegionConfig:
    """One region of the market (``conf/regions/``): its share and its brands' terms."""

    share: float = 1.0
    brands: dict[str, RegionBrandConfig] = field(default_factory=dict)


@dataclass
class RegionsConfig:
    """Named regions of the market and the network's homophily between them."""

    homophily: float = 0.0  # P(a customer lives among its own region on the network)
    groups: dict[str, RegionConfig] = field(default_factory=dict)  # empty: one region


@dataclass
class Config:
    """The whole journeysim config (the ``hydra`` node is Hydra's own)."""

    seed: int = 0
    sim: SimConfig = field(default_factory=SimConfig)
    finance: FinanceConfig = field(default_factory=FinanceConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    brands: dict[str, BrandConfig] = field(default_factory=dict)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    regions: RegionsConfig = field(default_factory=RegionsConfig)
    wom: WomConfig = field(default_factory=WomConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    bass: BassConfig | None = None
    retention: RetentionConfig | None = None
    cascade: CascadeConfig | None = None
    threshold: ThresholdConfig | None = None
    sweep: Any = None  # free-form notes of a sweep preset (name, description)


@dataclass
class ComposedSegmentsConfig:
    """Segments as Hydra composes them: ``+segments.groups.NAME={...}`` adds one."""

    homophily: float = 0.0
    groups: dict[str, Any] = field(default_factory=dict)


@dataclass
class ComposedRegionsConfig:
    """Regions as Hydra composes them: ``+regions.groups.NAME={...}`` adds one."""

    homophily: float = 0.0
    groups: dict[str, Any] = field(default_factory=dict)


@dataclass
class ComposedConfig(Config):
    """The schema Hydra composes onto: brands and channels are open mappings there.

    So ``+brands.newbrand={...}`` and ``+channels.radio={...}`` add a brand or channel from
    the command line as a scenario file can; their keys and types are checked when the
    composed config is merged onto :class:`Config` (``sim.config.compose.with_defaults``).
    """

    channels: dict[str, Any] = field(default_factory=dict)
    brands: dict[str, Any] = field(default_factory=dict)
    segments: ComposedSegmentsConfig = field(default_factory=lambda: ComposedSegmentsConfig())
    regions: ComposedRegionsConfig = field(default_factory=lambda: ComposedRegionsConfig())


def register_schemas() -> None:
    """Store the schema in Hydra's ConfigStore, once per process (idempotent).

    Storing converts the dataclasses to a config (about 0.1 s): a second store would only
    repeat that work.
    """
    if ConfigStore.instance().repo.get("journeysim_schema.yaml") is None:
        ConfigStore.instance().store(name="journeysim_schema", node=ComposedConfig)
