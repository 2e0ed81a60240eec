"""What every command shares: one-line errors and warnings, the debug switch."""

from __future__ import annotations

import os
import sys
import warnings

DEBUG = False


def set_debug(enabled: bool) -> None:
    """``--debug``: tracebacks instead of one-line errors (also Hydra's)."""
    global DEBUG
    DEBUG = enabled
    if enabled:
        os.environ["HYDRA_FULL_ERROR"] = "1"


def error(message: str) -> int:
    """Print ``journeysim: error: MESSAGE`` (one line) and return exit code 2."""
    from sim.config.errors import printable

    print(f"journeysim: error: {printable(' '.join(str(message).split()))}", file=sys.stderr)
    return 2


def one_line_warnings() -> None:
    """Show config warnings as ``journeysim: warning: ...`` (once each)."""
    from sim.config import ConfigWarning
    from sim.config.errors import printable

    seen: set[str] = set()  # a config is checked more than once (plan, then each run)

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ConfigWarning):
            if str(message) not in seen:
                seen.add(str(message))
                print(f"journeysim: warning: {printable(message)}", file=sys.stderr)
        else:
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show
    warnings.simplefilter("always", ConfigWarning)
