"""Bit counting for the bitboard games, as the processor's own instructions.

Numba has no popcount of its own; these are LLVM's ``ctpop`` and ``cttz`` intrinsics, which
compile to ``popcnt`` and ``tzcnt`` on current x86 processors (and to short instruction
sequences elsewhere), so the result never depends on the machine, only the speed does.
"""

from numba import types
from numba.extending import intrinsic


@intrinsic
def popcount(typingctx, x):
    """How many bits of the integer ``x`` are set (as int64)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], x, types.int64)
        return builder.ctpop(value)

    return types.int64(x), codegen


@intrinsic
def lowest_bit(typingctx, x):
    """The index of the lowest set bit of ``x`` (64 when ``x`` is 0)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], x, types.int64)
        return builder.cttz(value, context.get_constant(types.boolean, False))

    return types.int64(x), codegen
