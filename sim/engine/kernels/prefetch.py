"""A hint to the processor's caches: ask for an array element a loop will read soon.

The pairwise rule reads a talker's neighbours from its row of the network's ``indices``.
One customer in ten talks in a step, so those rows are read too sparsely for the processor
to see a stream, and each read waited for memory: ``perf`` put 8-11% of a run's samples on
the instruction after it (300,000 customers, one cell). Asking for the row of a customer a
few places ahead, whether it talks or not, turns the reads into a stream the caches serve.
"""

from __future__ import annotations

import llvmlite.ir as llvm_ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the processor to bring ``array[index]`` into its caches; no effect on results.

    For an element read soon at an address the loop knows early (LLVM's ``llvm.prefetch``:
    a read, kept in every cache level).
    """
    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        struct = context.make_array(array)(context, builder, value=args[0])
        pointer = cgutils.get_item_pointer(
            context, builder, array, struct, [args[1]], wraparound=False
        )
        i8_pointer = llvm_ir.IntType(8).as_pointer()
        i32 = llvm_ir.IntType(32)
        kind = llvm_ir.FunctionType(llvm_ir.VoidType(), [i8_pointer, i32, i32, i32])
        function = cgutils.get_or_insert_function(builder.module, kind, "llvm.prefetch.p0")
        builder.call(function, [builder.bitcast(pointer, i8_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.none(array, index), codegen
