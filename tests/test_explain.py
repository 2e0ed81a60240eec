"""The "Explain the model" page agrees with itself and with docs/model.md (issue 17).

Every rule of ``sim.dashboard.explain.RULES`` is shown on one page, so a symbol must mean
one thing across all of them; each symbol is named as docs/model.md names it, in the
sections the rule links to; each config key exists; and the equations the issue named (the
capped news update, the loyalty spend multiplier in revenue) and the others are the docs'
equations, compared in plain text.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from omegaconf import OmegaConf

from sim import load_config
from sim.dashboard import explain
from sim.dashboard.explain import RULES, Rule, Symbol, docs_key, docs_names, plain_tex

_MISSING = object()

#: Where each rule is described in docs/model.md.
SECTIONS = {
    "Events compete": "7.1",
    "Ads build awareness and attitude": "7.2",
    "News": "7.2b",
    "Word of mouth": "7.3",
    "Word of mouth: independent cascade": "7.3b",
    "Word of mouth: linear threshold": "7.3b",
    "Online reviews": "7.3c",
    "Service quality and recovery": "7.5",
    "Service capacity and queues": "7.5",
    "Service investment": "7.5",
    "Expectations and satisfaction": "7.7",
    "Choice": "7.8",
    "Churn and switching": "7.9",
    "Money": "7.13",
    "Advocacy": "7.12",
}

#: Pieces of each rule's equations that docs/model.md writes the same way, compared in
#: plain text without spaces (``compact``). The first two are the formulas issue 17 named.
FORMULAS = {
    "News": ("a'=a+min(w_ndelta_b,1)(1-a)", "a'=a-min(w_n|delta_b|,1)a"),
    "Money": ("p_bs_b(1+gmin(", ",y_cap))", "rho_t/(1+D)"),
    "Events compete": ("lambda_i=r_talka_i",),
    "Ads build awareness and attitude": ("a'=a+w_ad(tau_b-a)", "tau_b=clip(tau_0+delta_b)"),
    "Word of mouth": ("min(1,wlambda_w)", "clip(1+delta_b)", "clip(0+delta_b)"),
    "Word of mouth: independent cascade": ("1-(1-p_ad)(1-b_s)^S_b(1-b_w)^W_b",),
    "Online reviews": ("min(1,r_w(1+xi|d|))", "a'=a+w_r(rating_b-a)"),
    "Expectations and satisfaction": (
        "d=x-e",
        "v=clip(v_0+delta_i+kd)",
        "min(1,w_s(1+(lambda-1)/(1+phi_yy)))",
        "e'=e+rho_e(x-e)",
    ),
    "Service quality and recovery": ("(1-q)(1-r)", "x_ok-f", "e+pi_r-f", "x_fail-f"),
    "Service capacity and queues": (
        "c_agents)mu_q+max(",
        "-c_agents,0)gamma_q",
        "P_wait=sum_n>=c_agentspi_n",
        "P_ab=gamma_qE[Q]/lambda_q",
        "W_w=E[Q]/(lambda_qP_wait)",
    ),
    "Service investment": ("logitq*=logitq_0+epsilonln(k^svc_b/k^svc_ref)", "q'=q+(q*-q)/L"),
    "Choice": ("U_b=beta_aa_b-beta_ppsi_iln(p_b)-beta_ff_b,c_i+I[b=current]",),
    "Churn and switching": ("h=min(1,pi_im^h_bf_iexp(gamma(s_ref-s))+h_p)",),
    "Advocacy": ("omegas+(1-omega)a_b",),
}

#: Greek letters of the curves' slider labels, by the name docs/model.md gives them.
GREEK = {"τ": "tau", "λ": "lambda", "ξ": "xi", "μ": "mu", "ε": "epsilon", "β": "beta",
         "γ": "gamma", "ω": "omega", "θ": "theta"}  # fmt: skip


@pytest.fixture(scope="module")
def cfg():
    return load_config([])


@pytest.fixture(scope="module")
def sections():
    return explain.doc_sections()


def compact(text: str) -> str:
    """Plain text without spaces, braces or backticks, for comparing formulas."""
    return re.sub(r"[\s{}`]", "", text)


def identities(rules: tuple[Rule, ...]) -> dict[str, set[str]]:
    """Each symbol of the rules -> what it stands for: its config key, or its meaning."""
    out: dict[str, set[str]] = defaultdict(set)
    for rule in rules:
        for sym in rule.symbols:
            for part in sym.tex.split(", "):
                if part.strip():
                    out[part].add(sym.key if sym.key else f"(no key) {sym.meaning}")
    return out


def docs_text(rule: Rule, sections) -> str:
    """The text of the rule's sections of docs/model.md, braces removed (``{S_b}``)."""
    text = "\n".join(sections[n][1] for n in (rule.section, *rule.see_also))
    return text.replace("{", "").replace("}", "")


def mentions(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a whole symbol (not inside a longer one)."""
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


def code_spans(text: str) -> str:
    """The code spans (between backticks) of a docs text, one per line."""
    return "\n".join(re.findall(r"`([^`]*)`", text))


# -- one symbol, one meaning ------------------------------------------------------------------
def test_each_symbol_means_one_thing_on_the_page():
    clashes = {tex: things for tex, things in identities(RULES).items() if len(things) > 1}
    assert not clashes, clashes
    # the check finds a clash: the ad tone and the turnover were both \tau on one page
    tone = Symbol(r"\tau", "tone an ad pulls toward", "wom.ad_tone")
    ads = next(r for r in RULES if r.name == "Ads build awareness and attitude")
    bad = (*RULES, Rule("bad", "", (), (tone,), ads.section, ads.curve))
    assert identities(bad)[r"\tau"] == {"market.category.turnover", "wom.ad_tone"}


def test_state_symbols_say_what_they_are(cfg):
    values = {}
    for rule in RULES:
        market, _, _ = explain.symbol_rows(rule, cfg)
        for row in market:
            if row["key"] == "(no key)":
                values[row["symbol"]] = row["value"]
    # the brand's valence shift is 0 unless an event sets it, and the same for everybody
    shift = values[r"\delta_b"]
    assert shift.startswith("0 ") and "every customer" in shift and "varies" not in shift
    assert values["m^h_b"].startswith("1 ") and values["s_b"].startswith("1 ")
    assert values["s"] == "per customer (state)"
    assert all(v and v != "varies by customer" for v in values.values())


# -- config keys ------------------------------------------------------------------------------
def _key_exists(cfg, key: str) -> bool:
    brand, channels = next(iter(cfg.brands)), list(cfg.channels)
    key = key.replace("{brand}", brand)
    if "{channel}" in key:  # a per-channel map: some channel of the first brand has it
        return any(_key_exists(cfg, key.replace("{channel}", c)) for c in channels)
    return OmegaConf.select(cfg, key, default=_MISSING) is not _MISSING


def test_every_symbol_key_is_a_key_of_the_default_config(cfg):
    missing = [
        (rule.name, key)
        for rule in RULES
        for key in [s.key for s in rule.symbols if s.key] + [p.key for p in rule.params]
        if not _key_exists(cfg, key)
    ]
    assert not missing
    assert not _key_exists(cfg, "brands.{brand}.service_quality.{channel}.typo")
    assert not _key_exists(cfg, "market.category.turnover_rate")


# -- docs/model.md ----------------------------------------------------------------------------
def test_every_rule_links_to_its_section_of_the_docs(sections):
    assert {r.name: r.section for r in RULES} == SECTIONS
    headings = explain.DOCS.read_text(encoding="utf-8").splitlines()
    for rule in RULES:
        assert rule.section not in rule.see_also, rule.name
        for number in (rule.section, *rule.see_also):
            title, body = sections[number]
            assert title and body, (rule.name, number)
            assert f"### {number} {title}" in headings, (rule.name, number)
            anchor = explain.doc_anchor(number, title)
            assert anchor.startswith(number.replace(".", "") + "-"), anchor
    assert sections["7.13"][0] == "Money" and sections["7.3b"][0].startswith("Word of mouth")


def test_every_symbol_is_named_as_in_the_docs(sections):
    wrong = []
    for rule in RULES:
        text = docs_text(rule, sections)
        code = code_spans(text)
        for sym in rule.symbols:
            if sym.docs is not None:
                # only a quantity the docs name by its key alone may differ from its tex
                assert sym.key and sym.docs == docs_key(sym.key), (rule.name, sym.tex)
            for name in docs_names(sym):
                # a one-letter symbol counts only in a formula: 'a' is also a word
                where = code if sym.docs is not None or len(name) == 1 else text
                if not mentions(where, name):
                    wrong.append((rule.name, sym.tex, name))
    assert not wrong, wrong


def test_docs_names_of_symbols():
    assert plain_tex(r"\rho_{bc}") == "rho_bc"
    assert plain_tex(r"k^{svc}_{ref}") == "k^svc_ref"
    assert plain_tex(r"\mathrm{logit}\,q^*") == "logit q*"
    assert plain_tex(r"\sum_{n \ge c_{agents}} \pi_n") == "sum_n >= c_agents pi_n"
    assert docs_names(Symbol("x, e", "experience and expectation")) == ("x", "e")
    assert docs_names(Symbol("", "who can talk to whom", "network.kind")) == ()
    kappa = Symbol(r"\kappa", "contact rate", "service.contact_rate", docs="service.contact_rate")
    assert docs_names(kappa) == ("service.contact_rate",)
    assert docs_key("brands.{brand}.ad_reach.{channel}") == "brands.<b>.ad_reach.<c>"
    # a renamed symbol is caught: the old extremity x is not how 7.3c names it
    assert not mentions(code_spans(explain.doc_sections()["7.3c"][1]), "x")


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_equations_are_the_docs_equations(name, sections):
    rule = next(r for r in RULES if r.name == name)
    page = compact(plain_tex(" ".join(rule.equations)))
    docs = compact(docs_text(rule, sections))
    for piece in FORMULAS[name]:
        assert piece in page, (name, piece, page)
        assert piece in docs, (name, piece)


def test_news_is_capped_and_revenue_has_the_loyalty_spend_multiplier(sections):
    news = next(r for r in RULES if r.name == "News")
    assert all(r"\min(w_n" in e and ", 1)" in e for e in news.equations)
    assert "min(w_n delta_b, 1)" in sections["7.2b"][1]
    assert "min(w_n |delta_b|, 1)" in sections["7.2b"][1]
    money = next(r for r in RULES if r.name == "Money")
    revenue = plain_tex(money.equations[0])
    assert "p_b s_b" in revenue and "s_b" in {s.tex for s in money.symbols}
    assert "p_b s_b (1 + g min(" in sections["7.10"][1]


def test_curve_sliders_use_the_rules_symbols():
    for rule in RULES:
        for p in rule.params:
            for sym in rule.symbols:
                pattern = re.escape(sym.key or "").replace(r"\{brand\}", "[^.]+")
                pattern = pattern.replace(r"\{channel\}", "[^.]+")
                if sym.tex and sym.key and re.fullmatch(pattern, p.key):
                    last = p.label.split()[-1]
                    for letter, word in GREEK.items():
                        last = last.replace(letter, word)
                    assert last == plain_tex(sym.tex), (rule.name, p.label, sym.tex)
