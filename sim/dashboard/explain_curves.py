"""The rules of the explainer page evaluated over a grid: one curve per rule, with sliders.

Each ``curve_<name>`` draws what ``agents/rules.py`` computes for a rule, at the current
config's values (``curve_defaults``) or the page's sliders, in the app's frame
(``charts.frame``); ``CURVES`` maps a rule's ``curve`` name to its function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import plotly.graph_objects as go
from omegaconf import OmegaConf

from sim.dashboard.explain import Rule


# -- curves: the rules evaluated over a grid ---------------------------------------------------
def curve_defaults(rule: Rule, cfg) -> dict[str, float]:
    """Starting values of a rule's curve sliders, from ``cfg``."""
    out = {}
    for p in rule.params:
        value = OmegaConf.select(cfg, p.key)
        out[p.name] = float(value) if value is not None else (p.low + p.high) / 2
    return out


def _figure(title: str, x_title: str, y_title: str, y_percent: bool = False) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        xaxis_title=x_title, yaxis_title=y_title, height=320,
        margin={"t": 50, "l": 60, "r": 20, "b": 50},
        legend={"orientation": "h", "y": -0.3},
    )  # fmt: skip
    if y_percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def curve_touchpoints(cfg, p: Mapping[str, float]) -> go.Figure:
    """Daily chance of each touchpoint for a customer, by word-of-mouth activity."""
    from agents import rules

    ads = sum(float(v) for b in cfg.brands.values() for v in b.ad_reach.values())
    activity = np.linspace(0.0, 1.0, 21)
    talk = np.array([rules.conversation_rate(p["talk_rate"], a) for a in activity])
    use = np.full_like(activity, p["usage_rate"])
    contact = np.full_like(activity, float(cfg.service.contact_rate))
    fig = _figure("Daily touchpoint chances of a customer", "word-of-mouth activity a_i",
                  "probability per day", y_percent=True)  # fmt: skip
    for name, y, colour in (("ad (any brand)", np.full_like(activity, ads), "#0072b2"),
                            ("conversation", talk, "#e69f00"), ("product use", use, "#009e73"),
                            ("service contact", contact, "#cc79a7")):  # fmt: skip
        fig.add_trace(go.Scatter(x=activity, y=y, name=name, stackgroup="one",
                                 line={"color": colour}))  # fmt: skip
    return fig


def curve_ads(cfg, p: Mapping[str, float]) -> go.Figure:
    """Attitude after n ads, from each brand's starting attitude (its equity)."""
    from agents import rules
    from sim.analysis.palette import brand_colours

    colours = brand_colours(cfg.brands.keys())
    fig = _figure("Attitude after n ads", "ads seen", "attitude (0-1)")
    n = np.arange(0, 41)
    for brand, br in cfg.brands.items():
        a, ys = float(br.equity), []
        for _ in n:
            ys.append(a)
            a = rules.attitude_update(a, rules.ad_valence(p["tone"], 0.0), p["weight"])
        fig.add_trace(go.Scatter(x=n, y=ys, name=brand, line={"color": colours[brand]}))
    fig.add_hline(y=float(cfg.market.journey.consider_threshold), line_dash="dot",
                  annotation_text="consideration threshold")  # fmt: skip
    fig.update_yaxes(range=[0, 1])
    return fig


def curve_word_of_mouth(cfg, p: Mapping[str, float]) -> go.Figure:
    """Attitude after n praises or n warnings heard, from a neutral 0.5."""
    from agents import rules

    fig = _figure("Attitude after n messages heard", "messages heard", "attitude (0-1)")
    n = np.arange(0, 21)
    for kind, name, colour in ((rules.PRAISE, "praise", "#009e73"),
                               (rules.WARN, "warning", "#d55e00"),
                               (rules.MENTION, "mention", "#888888")):  # fmt: skip
        a, ys = 0.5, []
        w = rules.wom_attitude_weight(kind, p["weight"], p["bias"])
        for _ in n:
            ys.append(a)
            a = rules.attitude_update(a, rules.wom_valence(kind, 0.0), w)
        fig.add_trace(go.Scatter(x=n, y=ys, name=name, line={"color": colour}))
    fig.update_yaxes(range=[0, 1])
    return fig


def curve_satisfaction(cfg, p: Mapping[str, float]) -> go.Figure:
    """Evaluation of a touchpoint against its experience, for one expectation."""
    from agents import rules

    sat = cfg.market.satisfaction
    threshold = float(cfg.market.churn.shock_threshold)
    x = np.linspace(0.0, 1.0, 101)
    v = [
        rules.touchpoint_evaluation(
            rules.disconfirmation(xi, p["expectation"]), float(sat.met_level), p["sensitivity"]
        )
        for xi in x
    ]
    fig = _figure("Evaluation of one touchpoint", "experience x", "evaluation v (0-1)")
    fig.add_trace(go.Scatter(x=x, y=v, name="evaluation v", line={"color": "#0072b2"}))
    shock = [xi for xi in x if rules.is_shock(rules.disconfirmation(xi, p["expectation"]),
                                              threshold)]  # fmt: skip
    if shock:
        fig.add_vrect(x0=0, x1=max(shock), fillcolor="rgba(213,94,0,0.12)", line_width=0,
                      annotation_text="shock: may leave at once",
                      annotation_position="top left")  # fmt: skip
    fig.add_vline(x=p["expectation"], line_dash="dot", annotation_text="expectation met")
    fig.update_yaxes(range=[0, 1])
    return fig


def curve_service(cfg, p: Mapping[str, float]) -> go.Figure:
    """Outcome shares of a service contact against quality, for one resolution rate."""
    from agents import rules

    q_grid = np.linspace(0.0, 1.0, 41)
    u = (np.arange(400) + 0.5) / 400
    shares = {rules.SERVICE_SUCCESS: [], rules.SERVICE_RECOVERED: [], rules.SERVICE_FAILED: []}
    for q in q_grid:
        outcomes = [rules.service_outcome(ui, q, p["resolution"]) for ui in u]
        for k in shares:
            shares[k].append(outcomes.count(k) / len(u))
    fig = _figure("Outcome of a service contact", "service quality q", "share of contacts",
                  y_percent=True)  # fmt: skip
    for k, name, colour in ((rules.SERVICE_SUCCESS, "success", "#009e73"),
                            (rules.SERVICE_RECOVERED, "recovered", "#e69f00"),
                            (rules.SERVICE_FAILED, "failed", "#d55e00")):  # fmt: skip
        fig.add_trace(go.Scatter(x=q_grid, y=shares[k], name=name, stackgroup="one",
                                 line={"color": colour}))  # fmt: skip
    return fig


def curve_choice(cfg, p: Mapping[str, float]) -> go.Figure:
    """P(choosing the incumbent-like first brand) against its price, rivals at their price."""
    from agents import rules

    ch = cfg.market.choice
    brands = list(cfg.brands.keys())
    focus = brands[0]
    prices = np.linspace(0.2, 3.0, 57)
    psi = float(cfg.market.traits.price_sensitivity.mean)
    fig = _figure(f"Chance of choosing {focus} at an occasion", f"price of {focus}",
                  "probability", y_percent=True)  # fmt: skip
    for current, name, dash_style in ((False, "not its customer", "solid"),
                                      (True, "its current customer", "dash")):  # fmt: skip
        ys = []
        for price in prices:
            utilities = []
            for b in brands:
                br = cfg.brands[b]
                utilities.append(rules.choice_utility(
                    float(br.equity), float(price) if b == focus else float(br.price), psi,
                    float(br.friction.get("app", 0.0)), current and b == focus,
                    float(ch.beta_attitude), p["beta_price"], float(ch.beta_friction),
                    p["inertia"],
                ))  # fmt: skip
            top = max(utilities)
            denominator = sum(np.exp(u - top) for u in utilities)
            ys.append(rules.logit_probability(utilities[0], top, denominator))
        fig.add_trace(go.Scatter(x=prices, y=ys, name=name,
                                 line={"color": "#1f77b4", "dash": dash_style}))  # fmt: skip
    fig.add_vline(x=float(cfg.brands[focus].price), line_dash="dot", annotation_text="its price")
    return fig


def curve_churn(cfg, p: Mapping[str, float]) -> go.Figure:
    """Chance of leaving within a year against satisfaction (mean propensity, no events)."""
    from agents import rules

    trait = cfg.market.traits.churn_propensity
    if trait.get("alpha") and trait.get("beta"):
        propensity = float(trait.alpha) / (float(trait.alpha) + float(trait.beta))
    else:
        propensity = float(trait.mean)
    per_year = int(cfg.sim.steps_per_year)
    s = np.linspace(0.0, 1.0, 101)
    h = np.array([rules.churn_hazard(propensity, si, p["sensitivity"], p["reference"], 1.0)
                  for si in s])  # fmt: skip
    fig = _figure("Churn hazard against satisfaction", "satisfaction s",
                  "P(leaving within a year)", y_percent=True)  # fmt: skip
    fig.add_trace(go.Scatter(x=s, y=1 - (1 - h) ** per_year, name="within a year",
                             line={"color": "#d55e00"}))  # fmt: skip
    fig.add_vline(x=p["reference"], line_dash="dot", annotation_text="s_ref")
    return fig


def curve_money(cfg, p: Mapping[str, float]) -> go.Figure:
    """Daily revenue of one customer of each brand against its tenure."""
    from agents import rules
    from sim.analysis.palette import brand_colours
    from sim.dashboard.format import CURRENCY

    per_year = float(cfg.sim.steps_per_year)
    years = np.linspace(0.0, 6.0, 61)
    colours = brand_colours(cfg.brands.keys())
    fig = _figure("Revenue of one customer per day", "tenure (years)",
                  f"revenue per day ({CURRENCY})")  # fmt: skip
    for brand, br in cfg.brands.items():
        ys = [float(br.price) * rules.spend_multiplier(y * per_year, per_year, p["uplift"],
                                                        p["cap"]) for y in years]  # fmt: skip
        fig.add_trace(go.Scatter(x=years, y=ys, name=brand, line={"color": colours[brand]}))
    return fig


def curve_advocacy(cfg, p: Mapping[str, float]) -> go.Figure:
    """Likelihood to recommend against satisfaction, for a brand attitude of 0.5 and 0.9."""
    from agents import rules

    s = np.linspace(0.0, 1.0, 221)
    fig = _figure("Likelihood to recommend", "satisfaction s", "LTR (0-10)")
    for attitude, dash_style in ((0.9, "solid"), (0.5, "dash")):
        ltr = [rules.likelihood_to_recommend(rules.recommend_score(si, attitude, p["omega"]))
               for si in s]  # fmt: skip
        line = {"color": "#0072b2", "dash": dash_style, "shape": "hv"}
        fig.add_trace(go.Scatter(x=s, y=ltr, name=f"attitude {attitude}", line=line))
    fig.add_hrect(y0=8.5, y1=10.5, fillcolor="rgba(0,158,115,0.12)", line_width=0,
                  annotation_text="promoters", annotation_position="top left")  # fmt: skip
    fig.add_hrect(y0=-0.5, y1=6.5, fillcolor="rgba(213,94,0,0.08)", line_width=0,
                  annotation_text="detractors", annotation_position="bottom left")  # fmt: skip
    return fig


def curve_news(cfg, p: Mapping[str, float]) -> go.Figure:
    """Attitude after n days of news, good and bad, from a neutral 0.5."""
    from agents import rules

    fig = _figure("Attitude after n news items", "news items met", "attitude (0-1)")
    n = np.arange(0, 21)
    for shift, name, colour in ((0.3, "good news (+0.3)", "#009e73"),
                                (-0.4, "bad news (-0.4)", "#d55e00")):  # fmt: skip
        a, ys = 0.5, []
        for _ in n:
            ys.append(a)
            a = rules.news_update(a, shift, p["weight"])
        fig.add_trace(go.Scatter(x=n, y=ys, name=name, line={"color": colour}))
    fig.update_yaxes(range=[0, 1])
    return fig


def curve_cascade(cfg, p: Mapping[str, float]) -> go.Figure:
    """P(informed in a day) against the number of speaking ties, strong or weak."""
    from agents import rules

    ties = np.arange(0, 21)
    fig = _figure("Chance of being informed in a day", "speaking ties", "probability",
                  y_percent=True)  # fmt: skip
    for name, strong, weak, colour in (("strong ties", 1, 0, "#0072b2"),
                                       ("weak ties", 0, 1, "#e69f00")):  # fmt: skip
        ys = [rules.cascade_probability(float(k * strong), float(k * weak), p["strong"],
                                        p["weak"]) for k in ties]  # fmt: skip
        fig.add_trace(go.Scatter(x=ties, y=ys, name=name, line={"color": colour}))
    return fig


def curve_threshold(cfg, p: Mapping[str, float]) -> go.Figure:
    """The thresholds' distribution G: the share of people a given share of praise convinces."""
    from scipy import stats

    share = np.linspace(0.0, 1.0, 101)
    mean, sd = p["mean"], p["sd"]
    k = mean * (1 - mean) / max(sd * sd, 1e-9) - 1
    if k <= 0:
        ys = (share >= mean).astype(float)
    else:
        ys = stats.beta(mean * k, (1 - mean) * k).cdf(share)
    fig = _figure("Who takes the view", "share of neighbours praising", "share of people",
                  y_percent=True)  # fmt: skip
    fig.add_trace(go.Scatter(x=share, y=ys, name="G", line={"color": "#009e73"}))
    fig.add_trace(go.Scatter(x=share, y=share, name="45° (tipping where G crosses it)",
                             line={"color": "#888888", "dash": "dot"}))  # fmt: skip
    return fig


def curve_reviews(cfg, p: Mapping[str, float]) -> go.Figure:
    """P(reviewing an experience) against its disconfirmation."""
    from agents import rules

    d = np.linspace(-0.6, 0.6, 61)
    write = float(cfg.wom.reviews.write)
    ys = [rules.review_probability(float(x), write, p["extremity"]) for x in d]
    fig = _figure("Chance of writing a review", "experience minus expectation d", "probability",
                  y_percent=True)  # fmt: skip
    fig.add_trace(go.Scatter(x=d, y=ys, name="review", line={"color": "#cc79a7"}))
    return fig


def curve_queue(cfg, p: Mapping[str, float]) -> go.Figure:
    """P(waiting) and mean wait against the load, for 1, 3 and 10 agents (Erlang A)."""
    from agents import rules

    minutes = float(cfg.service.minutes_per_step)
    hang_up = minutes / max(float(cfg.service.patience), 1e-9)
    fig = _figure("Queue of a service channel", "load (contacts a day / capacity)",
                  "P(waiting)", y_percent=True)  # fmt: skip
    utilisation = np.linspace(0.0, 1.5, 100)
    for agents, colour in ((1, "#0072b2"), (3, "#e69f00"), (10, "#009e73")):
        queues = [rules.erlang_a(agents, u * agents * p["handle_rate"], p["handle_rate"], hang_up)
                  for u in utilisation]  # fmt: skip
        ys = [q[0] for q in queues]
        waits = [q[0] * q[2] * minutes for q in queues]
        fig.add_trace(go.Scatter(x=utilisation, y=ys, name=f"{agents} agents",
                                 line={"color": colour},
                                 hovertext=[f"mean wait {w:.1f} min" for w in waits]))  # fmt: skip
    return fig


def curve_investment(cfg, p: Mapping[str, float]) -> go.Figure:
    """Quality a service spend sustains, for the brands' configured call-centre quality."""
    from agents import rules
    from sim.analysis.palette import brand_colours

    reference = float(cfg.service.spend_reference)
    spend = np.linspace(0.0, 4 * reference, 81)
    colours = brand_colours(cfg.brands.keys())
    fig = _figure("Quality a spend sustains", "service spend per customer-day", "quality")
    for brand, br in cfg.brands.items():
        q0 = float((br.service_quality or {}).get("service", 0.7))
        ys = [rules.invested_quality(q0, float(x), reference, p["elasticity"]) for x in spend]
        fig.add_trace(go.Scatter(x=spend, y=ys, name=brand, line={"color": colours[brand]}))
    fig.add_vline(x=reference, line_dash="dot", annotation_text="reference spend")
    fig.update_yaxes(range=[0, 1])
    return fig


CURVES: dict[str, Callable[..., go.Figure]] = {
    "cascade": curve_cascade,
    "threshold": curve_threshold,
    "reviews": curve_reviews,
    "queue": curve_queue,
    "investment": curve_investment,
    "touchpoints": curve_touchpoints,
    "ads": curve_ads,
    "word_of_mouth": curve_word_of_mouth,
    "satisfaction": curve_satisfaction,
    "service": curve_service,
    "choice": curve_choice,
    "churn": curve_churn,
    "money": curve_money,
    "advocacy": curve_advocacy,
    "news": curve_news,
}


def rule_curve(rule: Rule, cfg, values: Mapping[str, float] | None = None) -> go.Figure:
    """The curve of a rule at ``values`` of its sliders (default: from ``cfg``)."""
    params = curve_defaults(rule, cfg)
    params.update(values or {})
    return _framed(CURVES[rule.curve](cfg, params))


CURVE_PLOT = 240  # pixels of plot in a rule's curve


def _framed(fig: go.Figure) -> go.Figure:
    """A curve in the app's frame (``charts.frame``).

    The title and legend are placed in pixels that hold at 390 and 1400 px, text is at WCAG
    AA contrast and annotations are 12 px or more.
    """
    from sim.dashboard.charts import NOTE_FONT_SIZE, frame

    names = [t.name for t in fig.data if t.name and t.showlegend is not False]
    # a curve's legend entries sit one per row on a phone: reserve a row for each
    frame(fig, fig.layout.title.text or "", plot=CURVE_PLOT, top=10, legend=names,
          legend_lines=len(names))  # fmt: skip
    for annotation in fig.layout.annotations:  # the dotted lines' labels (expectation met)
        annotation.font.size = max(annotation.font.size or 0, NOTE_FONT_SIZE)
    return fig
