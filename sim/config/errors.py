"""The errors and warnings a config can raise: one line each, for the user."""

from __future__ import annotations

import unicodedata
import warnings


def printable(text) -> str:
    r"""``text`` safe to print: control and format characters shown as escapes.

    Terminal escape codes and bidirectional overrides are printed as ``\x1b``-style
    escapes, never interpreted by the terminal.

    Rich markup is a separate matter: print names as ``rich.text.Text(printable(name))``.
    """
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf") else repr(c)[1:-1]
        for c in str(text)
    )


class ConfigError(ValueError):
    """A config that cannot run: the message is one line naming the key, value and rule."""


class ConfigWarning(UserWarning):
    """A config that runs, but not quite as written (e.g. a degree rounded, a clipped window)."""


def warn(message: str) -> None:
    """Warn once about a setting that is adjusted or has no effect in this run."""
    warnings.warn(message, ConfigWarning, stacklevel=3)
