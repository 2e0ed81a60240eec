"""Pure functions behind the Streamlit app: settings, tables, charts, formatting, safe paths.

The app (``app.py`` and ``app_pages/``) holds widgets and layout only; everything it shows
is computed here from result frames, so it is tested without a browser. Modules:

- ``format``: names, units and the one formatting helper for every number;
- ``state``: the comparison's settings, its runs, URL and reproduce commands;
- ``frames``: stacking runs, replicate bands, paired differences, journey flows;
- ``tables``: the KPI report table, headline cards, wide deltas, KPI levels;
- ``charts``: Plotly figures (facets, scenario colours, event windows, Sankey, sweeps);
- ``comparison``: a finished comparison and its derived frames;
- ``sweeps``: the sweep explorer's views (axes, averaging, paired best, failed runs);
- ``explain``: the rules, the glossary, the journey's state diagram and rule curves;
- ``export``: the comparison's zip download;
- ``paths``: safe paths under the results root.

``from sim import dashboard as dash`` gives the names below.
"""

from sim.analysis.palette import PALETTE, brand_colours
from sim.dashboard.charts import (
    BASELINE_COLOUR,
    STAGE_COLOURS,
    Window,
    add_windows,
    alpha,
    axis_values,
    band_figure,
    contrast_ratio,
    event_windows,
    facet_grid,
    readable,
    response_windows,
    sankey_figure,
    sankey_positions,
    scenario_colours,
    state_colour,
    sweep_heatmap_figure,
    sweep_line_figure,
)
from sim.dashboard.comparison import Comparison
from sim.dashboard.explain import (
    GLOSSARY,
    GLOSSARY_SYMBOLS,
    MOVES,
    RULES,
    Rule,
    Symbol,
    Term,
    daily_moves,
    doc_anchor,
    doc_sections,
    glossary_term,
    journey_dot,
    symbol_rows,
)
from sim.dashboard.explain_curves import curve_defaults, rule_curve
from sim.dashboard.export import comparison_zip
from sim.dashboard.format import (
    CURRENCY,
    HEADLINE,
    KPIS,
    METRICS,
    ColumnSpec,
    column_spec,
    compact,
    format_delta,
    format_interval,
    format_value,
    human_name,
    kpi_info,
    kpi_title,
    metric_info,
    metric_title,
    option_label,
    plural,
    significant,
)
from sim.dashboard.frames import (
    STAGE_ORDER,
    default_journey_window,
    difference_band,
    flow_states,
    journey_states,
    metric_columns,
    replicate_band,
    retention_band,
    retention_cut,
    sankey_data,
    stack_runs,
    stage_band,
    stage_shares,
    state_label,
    with_cumulative_profit,
)
from sim.dashboard.paths import (
    find_sweeps,
    newest_sweep,
    resolve_under,
    screen_message,
    summary_under,
)
from sim.dashboard.state import (
    LEVERS_LABEL,
    MARKET_SIZES,
    Job,
    Lever,
    Settings,
    Speed,
    conflicts,
    fit_speed,
    from_query,
    lever_overrides,
    lever_specs,
    outside_roots,
    plan,
    region_sets,
    reproduce_commands,
    segment_sets,
    settings_from_form,
    target_label,
    target_options,
    to_query,
    variants,
)
from sim.dashboard.sweeps import (
    AVERAGE,
    averaged_over,
    axis_choices,
    best_setting,
    complete_runs,
    failed_runs,
    held_keys,
    hold,
    is_categorical,
    pairing_note,
    sweep_kpis,
    sweep_parameters,
    sweep_view,
)
from sim.dashboard.tables import (
    breakdown,
    breakdown_table,
    comparison_table,
    headline,
    kpi_levels,
    table_height,
    wide_deltas,
)

__all__ = [
    "AVERAGE", "BASELINE_COLOUR", "CURRENCY", "GLOSSARY", "GLOSSARY_SYMBOLS", "HEADLINE", "KPIS",
    "LEVERS_LABEL",
    "MARKET_SIZES", "METRICS", "MOVES", "PALETTE", "RULES", "STAGE_COLOURS", "STAGE_ORDER",
    "ColumnSpec", "Comparison", "Job", "Lever", "Rule", "Speed", "Settings", "Symbol", "Term",
    "Window", "add_windows", "contrast_ratio", "fit_speed", "readable",
    "response_windows", "alpha", "averaged_over", "axis_choices", "axis_values",
    "band_figure", "best_setting", "pairing_note", "brand_colours", "column_spec", "compact",
    "comparison_table", "comparison_zip", "complete_runs", "conflicts", "daily_moves",
    "outside_roots",
    "default_journey_window", "difference_band", "doc_anchor", "doc_sections", "event_windows",
    "facet_grid", "failed_runs", "find_sweeps", "flow_states", "format_delta",
    "format_interval", "format_value", "from_query", "glossary_term", "headline", "held_keys",
    "hold", "human_name", "is_categorical", "journey_states", "journey_dot", "kpi_info",
    "kpi_levels",
    "kpi_title", "lever_overrides", "lever_specs", "metric_columns", "metric_info",
    "metric_title", "newest_sweep", "option_label", "plural", "plan", "replicate_band",
    "reproduce_commands", "resolve_under",
    "breakdown", "breakdown_table", "region_sets", "segment_sets", "target_label",
    "target_options", "retention_band",
    "retention_cut",
    "rule_curve",
    "curve_defaults",
    "sankey_data", "sankey_figure", "sankey_positions", "scenario_colours", "screen_message",
    "settings_from_form", "significant", "stack_runs", "stage_band", "stage_shares",
    "state_colour", "state_label", "summary_under", "sweep_heatmap_figure", "sweep_kpis",
    "sweep_line_figure", "sweep_parameters", "sweep_view", "symbol_rows", "table_height",
    "to_query", "variants", "wide_deltas", "with_cumulative_profit",
]  # fmt: skip
