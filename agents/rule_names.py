"""Names of the selectable rules (config values), importable without compiling the rules."""

WOM_RULES = ("pairwise", "cascade", "threshold")  # = agents.rules.WOM_* codes, in order
SERVICE_RULES = ("constant", "capacity", "investment")  # = agents.rules.SERVICE_* codes
