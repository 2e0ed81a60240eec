"""``journeysim scenarios``: the scenario library with full descriptions."""

from __future__ import annotations

import sys


def command(args: list[str]) -> int:
    """Print the library as a table."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from scenarios.library import list_scenarios
    from sim.config.errors import printable

    table = Table(title="journeysim scenarios: python -m sim scenario=NAME")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for name, description in list_scenarios():
        table.add_row(Text(printable(name)), Text(printable(description)))
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    return 0
