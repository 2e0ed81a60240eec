"""``journeysim scenarios``: the scenario library with full descriptions."""

from __future__ import annotations

import sys


def command(args: list[str]) -> int:
    """Print the library as a table (it takes no arguments but ``--help``)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from scenarios.library import list_scenarios
    from sim.analysis.options import Parser, UsageError
    from sim.cli.common import error
    from sim.config.errors import printable

    parser = Parser(
        prog="journeysim scenarios",
        description="The scenario library with full descriptions; takes no arguments.",
        allow_abbrev=False,
    )
    try:
        parser.parse_args(args)
    except UsageError as exc:
        return error(f"{exc} (journeysim scenarios takes no arguments)")

    table = Table(title="journeysim scenarios: python -m sim scenario=NAME")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for name, description in list_scenarios():
        table.add_row(Text(printable(name)), Text(printable(description)))
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    return 0
