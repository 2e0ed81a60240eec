"""The cache hint (sim.engine.kernels.prefetch): it never changes what a kernel computes."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.engine.kernels.prefetch import prefetch


@njit
def _sum_with_hints(values, rows, ahead):
    """Sum values[rows[k]], asking for the element ``ahead`` places on (even past the end)."""
    total = 0.0
    for k in range(rows.size):
        if k + ahead < rows.size:
            prefetch(values, rows[k + ahead])
        prefetch(values, values.size)  # one past the end: a hint never faults
        total += values[rows[k]]
    return total


def test_prefetch_leaves_results_unchanged() -> None:
    values = np.arange(1000.0)
    rows = np.array([999, 0, 500, 3, 3, 7])
    assert _sum_with_hints(values, rows, 2) == values[rows].sum() == 1512.0
    assert _sum_with_hints(values, rows, 0) == 1512.0
