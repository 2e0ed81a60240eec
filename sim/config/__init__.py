"""Configuration: compose with Hydra, check for anything executable, resolve, validate.

- ``compose``: Hydra composition exactly as the command line does it, ``load_config``,
  ``finalise`` (resolve, schema defaults, validation);
- ``schema``: the typed structured-config schema;
- ``validate``: ranges of every value, one-line errors;
- ``safety``: the allowlists of what a config may name (targets, logging, env, packages);
- ``errors``: ``ConfigError`` and ``ConfigWarning``.
"""

from sim.config.compose import (
    CONF_DIR,
    ROOT,
    Source,
    composer,
    finalise,
    load_config,
    one_line,
    register_resolvers,
)
from sim.config.errors import ConfigError, ConfigWarning

__all__ = [
    "CONF_DIR", "ROOT", "ConfigError", "ConfigWarning", "Source", "composer", "finalise",
    "load_config", "one_line", "register_resolvers",
]  # fmt: skip
