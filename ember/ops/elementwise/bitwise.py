"""Integer and logical ops: bitwise and, or, xor, not, shifts, gcd, lcm, nextafter, logical_*.

None of them has a gradient. Float inputs to the bitwise ops are refused with PyTorch's
"not implemented for" error; out-of-range shift counts give PyTorch's results rather than
C's undefined ones.
"""

from __future__ import annotations

from ember._backend import array_types, is_floating, xp
from ember.ops._function import Op, broadcast_shape
from ember.ops.elementwise._common import (
    _binary_function,
    _not_implemented_backward,
    _promoted,
    _unary_function,
    _unsupported,
)


class _Bitwise(Op):
    """An integer/bool op with no gradient; float inputs are refused as in PyTorch."""

    kernel = ""
    lowers_bfloat16 = False  # refused: the error names bfloat16, not float32

    @classmethod
    def forward(cls, ctx, *values):
        values = _promoted(cls.kernel.removesuffix("_cpu"), *values)
        if is_floating(values[0].dtype):
            raise _unsupported(cls.kernel, values[0])
        return cls.compute(*values)


class BitwiseAnd(_Bitwise):
    kernel = "bitwise_and_cpu"
    compute = staticmethod(xp.bitwise_and)


class BitwiseOr(_Bitwise):
    kernel = "bitwise_or_cpu"
    compute = staticmethod(xp.bitwise_or)


class BitwiseXor(_Bitwise):
    kernel = "bitwise_xor_cpu"
    compute = staticmethod(xp.bitwise_xor)


class BitwiseNot(_Bitwise):
    kernel = "bitwise_not_cpu"
    compute = staticmethod(xp.invert)


class LeftShift(_Bitwise):
    """Shifts by a negative count or by the bit width or more give 0, as in PyTorch."""

    kernel = "lshift_cpu"

    @staticmethod
    def compute(a, shift):
        bits = a.dtype.itemsize * 8
        out_of_range = (shift < 0) | (shift >= bits)
        shifted = xp.left_shift(a, xp.clip(shift, 0, bits - 1).astype(a.dtype))
        return xp.where(out_of_range, 0, shifted).astype(a.dtype, copy=False)


class RightShift(_Bitwise):
    """Out-of-range shift counts fill with the sign bit, as in PyTorch."""

    kernel = "rshift_cpu"

    @staticmethod
    def compute(a, shift):
        bits = a.dtype.itemsize * 8
        beyond = (shift < 0) | (shift >= bits)
        if type(beyond) in array_types:
            shift = xp.where(beyond, bits - 1, shift).astype(a.dtype)
        else:  # a scalar count: ``where`` would make it an array on the host
            shift = a.dtype.type(bits - 1 if beyond else shift)
        return xp.right_shift(a, shift).astype(a.dtype, copy=False)


class Gcd(_Bitwise):
    kernel = "gcd_cpu"
    compute = staticmethod(xp.gcd)


class Lcm(_Bitwise):
    kernel = "lcm_cpu"
    compute = staticmethod(xp.lcm)


class Nextafter(Op):
    lowers_bfloat16 = False

    @staticmethod
    def forward(ctx, a, b):
        a, b = _promoted("nextafter", a, b)
        if not is_floating(a.dtype):
            raise _unsupported("nextafter_cpu", a)
        return xp.nextafter(a, b)

    backward = _not_implemented_backward("nextafter")


class _Logical(Op):
    @classmethod
    def forward(cls, ctx, *values):
        broadcast_shape(cls.__name__, *(v.shape for v in values))
        return cls.compute(*values)


class LogicalAnd(_Logical):
    compute = staticmethod(xp.logical_and)


class LogicalOr(_Logical):
    compute = staticmethod(xp.logical_or)


class LogicalXor(_Logical):
    compute = staticmethod(xp.logical_xor)


class LogicalNot(_Logical):
    compute = staticmethod(xp.logical_not)


# The public functions that only apply their op (``out=`` is served by ember/ops/_out.py).
bitwise_and = _binary_function(
    "bitwise_and", BitwiseAnd, "``input & other`` for integer and bool tensors.", scalars=True
)
bitwise_or = _binary_function(
    "bitwise_or", BitwiseOr, "``input | other`` for integer and bool tensors.", scalars=True
)
bitwise_xor = _binary_function(
    "bitwise_xor", BitwiseXor, "``input ^ other`` for integer and bool tensors.", scalars=True
)
bitwise_not = _unary_function(
    "bitwise_not", BitwiseNot, "``~input``: logical not for bool, two's complement for integers."
)
bitwise_left_shift = _binary_function(
    "bitwise_left_shift", LeftShift, "``input << other``.", scalars=True
)
bitwise_right_shift = _binary_function(
    "bitwise_right_shift", RightShift, "``input >> other`` (arithmetic shift).", scalars=True
)
gcd = _binary_function("gcd", Gcd, "The greatest common divisor of integer tensors (non-negative).")
lcm = _binary_function("lcm", Lcm, "The least common multiple of integer tensors (non-negative).")
nextafter = _binary_function(
    "nextafter",
    Nextafter,
    "The next representable float after ``input`` in the direction of ``other``.",
)
logical_and = _binary_function("logical_and", LogicalAnd, "True where both are nonzero.")
logical_or = _binary_function("logical_or", LogicalOr, "True where either is nonzero.")
logical_xor = _binary_function("logical_xor", LogicalXor, "True where exactly one is nonzero.")
logical_not = _unary_function("logical_not", LogicalNot, "True where ``input`` is zero.")
