"""The errors and warnings a config can raise: one line each, for the user."""

from __future__ import annotations

import warnings


class ConfigError(ValueError):
    """A config that cannot run: the message is one line naming the key, value and rule."""


class ConfigWarning(UserWarning):
    """A config that runs, but not quite as written (e.g. a degree rounded, a clipped window)."""


def warn(message: str) -> None:
    """Warn once about a setting that is adjusted or has no effect in this run."""
    warnings.warn(message, ConfigWarning, stacklevel=3)
