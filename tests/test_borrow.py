"""Borrowed arrays (sim.engine.kernels.borrow): the same data, no reference counting."""

from __future__ import annotations

import llvmlite.ir as llvm_ir
import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from sim.engine.kernels.borrow import borrowed


@njit
def _add_through_borrowed(columns, table, row):
    """Add each row of a borrowed table's view to a borrowed column; return their sum."""
    first, second = borrowed(columns)
    view = borrowed(table)[row]
    for k in range(first.size):
        first[k] += view[k]
        second[k] = first[k]
    return first.sum() + np.int64(second[0])


def test_borrowed_arrays_read_and_write_their_owners() -> None:
    first = np.arange(4.0)
    second = np.zeros(4, dtype=np.int64)
    table = np.arange(12.0).reshape(3, 4)
    total = _add_through_borrowed((first, second), table, 2)
    np.testing.assert_array_equal(first, [8.0, 10.0, 12.0, 14.0])
    np.testing.assert_array_equal(second, [8, 10, 12, 14])
    assert total == 44.0 + 8


@intrinsic
def _meminfo_address(typingctx, array):
    """The address of an array's reference counter (0: none, nothing counts it)."""

    def codegen(context, builder, signature, args):
        struct = context.make_array(array)(context, builder, value=args[0])
        return builder.ptrtoint(struct.meminfo, llvm_ir.IntType(64))

    return types.int64(array), codegen


@njit
def _counters(table, row):
    """Reference counters of an owned table, of it borrowed, of a view and a slice of that."""
    view = borrowed(table)
    (column,) = borrowed((table[:, 0],))
    return (
        _meminfo_address(table),
        _meminfo_address(view),
        _meminfo_address(view[row]),
        _meminfo_address(view[1:, 2:]),
        _meminfo_address(column),
    )


def test_borrowed_arrays_and_their_views_have_no_counter() -> None:
    owned, *borrowed_ones = _counters(np.zeros((3, 4)), 1)
    assert owned != 0  # the check can fail: an owned array has its counter
    assert borrowed_ones == [0, 0, 0, 0]
