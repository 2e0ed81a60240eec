"""Borrowed arrays: views a kernel reads and writes without touching their reference counts.

Numba counts references to every array it binds: passing a column to an inlined helper,
or taking a view of a table, calls ``NRT_incref`` and ``NRT_decref``, an atomic add on the
array's counter. The columns and tables are shared by every thread, so in the step's inner
loop those counters bounce between cores: a fifth of a step's time went to them (``perf``
at 300,000 customers, one cell or twelve). A borrowed array is the same array with no
counter (a null meminfo): Numba skips the count of a null meminfo, and views of it are
borrowed too. The owner must outlive the borrowed array: the kernels borrow their own
arguments, which their caller holds for the whole call.
"""

from __future__ import annotations

from numba.core import cgutils, types
from numba.extending import intrinsic


def _borrow_array(context, builder, array_type, value):
    """The array struct of ``value`` with its meminfo and parent nulled."""
    source = context.make_array(array_type)(context, builder, value=value)
    view = context.make_array(array_type)(context, builder)
    for field in ("nitems", "itemsize", "data", "shape", "strides"):
        setattr(view, field, getattr(source, field))
    view.meminfo = cgutils.get_null_value(view.meminfo.type)
    view.parent = cgutils.get_null_value(view.parent.type)
    return view._getvalue()


@intrinsic
def borrowed(typingctx, values):
    """``values`` (an array, or a tuple of arrays and scalars) with every array borrowed.

    The result has the same type: a borrowed array is indexed, sliced and passed on like
    its owner, but never counted or freed through it.
    """
    if isinstance(values, types.Array):

        def codegen_array(context, builder, signature, args):
            return _borrow_array(context, builder, values, args[0])

        return values(values), codegen_array
    if isinstance(values, types.BaseTuple):

        def codegen_tuple(context, builder, signature, args):
            items = []
            for k, item_type in enumerate(values):
                item = builder.extract_value(args[0], k)
                if isinstance(item_type, types.Array):
                    item = _borrow_array(context, builder, item_type, item)
                items.append(item)
            return context.make_tuple(builder, values, items)

        return values(values), codegen_tuple
    return None
