"""Sweeps: result files, resume, summaries and reports.

Modules: ``io`` (atomic files, verified completeness, locks), ``callbacks`` (the multirun
summary), ``summary`` (summaries and reports), ``progress`` (progress bars).
"""
