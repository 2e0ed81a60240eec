"""``journeysim facts``: does the market reproduce the stylised facts of real markets?

``journeysim facts [overrides]`` runs the market over seeds and measures each static fact
(``static.FACTS``) on every run; ``--responses`` measures responses to levers (``responses``:
price and ad elasticities, the profit curve, a churn-lowering lever and NPS, double jeopardy)
by paired runs with common random numbers, with the baseline's trends; ``--years`` sets the
years recorded (2 for the static facts, 3 for the responses);
``--rules`` repeats the table under each word-of-mouth and service rule. Each row gives the
mean over seeds with a 95 % t-interval and passes only when the whole interval lies in the
target (``core``); facts that hold by a configured rule are listed as inputs, not passes.

Modules: ``core`` (the fact table and the interval rule), ``static`` (facts of one run),
``responses`` (arms and responses), ``runs`` (the runs, on loky's reusable executor),
``report`` (terminal and Markdown tables) and ``command`` (the command line).
"""

from sim.analysis.facts.command import command
from sim.analysis.facts.core import Fact, NotMeasured, within
from sim.analysis.facts.runs import run_arms, run_seeds
from sim.analysis.facts.static import FACTS, measure, sources

__all__ = [
    "FACTS", "Fact", "NotMeasured", "command", "measure", "run_arms", "run_seeds", "sources",
    "within",
]  # fmt: skip
