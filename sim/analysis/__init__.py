"""Analyst tools, one module per tool, each a ``journeysim`` subcommand.

- ``facts``: the market against stylised facts of real markets (issue 8).
"""
