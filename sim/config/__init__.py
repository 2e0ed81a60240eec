"""Configuration: compose with Hydra, check for anything executable, resolve, validate.

- ``compose``: Hydra composition exactly as the command line does it, ``load_config``,
  ``finalise`` (resolve, schema defaults, validation);
- ``schema``: the typed structured-config schema;
- ``validate``: ranges of every value, one-line errors;
- ``safety``: the boundary: config content from anyone else is data (docs/security.md);
- ``changes``: ``scenario.changes``, what-ifs made today on the shared status quo;
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
