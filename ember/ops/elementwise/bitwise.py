"""Integer and logical ops: bitwise and, or, xor, not, shifts, gcd, lcm, nextafter, logical_*.

None of them has a gradient. Float inputs to the bitwise ops are refused with PyTorch's
"not implemented for" error; out-of-range shift counts give PyTorch's results rather than
C's undefined ones.
"""

from __future__ import annotations

from ember._backend import is_floating, xp
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape
from ember.ops.elementwise._common import (
    _not_implemented_backward,
    _operand,
    _promoted,
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
        shift = xp.where((shift < 0) | (shift >= bits), bits - 1, shift)
        return xp.right_shift(a, shift.astype(a.dtype)).astype(a.dtype, copy=False)


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


def _integer_operands(op, input, other):
    return _operand(input, op), _operand(other, op)


def bitwise_and(input, other, *, out=None) -> Tensor:
    """``input & other`` for integer and bool tensors."""
    return BitwiseAnd.apply(*_integer_operands("bitwise_and", input, other))


def bitwise_or(input, other, *, out=None) -> Tensor:
    """``input | other`` for integer and bool tensors."""
    return BitwiseOr.apply(*_integer_operands("bitwise_or", input, other))


def bitwise_xor(input, other, *, out=None) -> Tensor:
    """``input ^ other`` for integer and bool tensors."""
    return BitwiseXor.apply(*_integer_operands("bitwise_xor", input, other))


def bitwise_not(input: Tensor, *, out=None) -> Tensor:
    """``~input``: logical not for bool, two's complement for integers."""
    return BitwiseNot.apply(input)


def bitwise_left_shift(input, other, *, out=None) -> Tensor:
    """``input << other``."""
    return LeftShift.apply(*_integer_operands("bitwise_left_shift", input, other))


def bitwise_right_shift(input, other, *, out=None) -> Tensor:
    """``input >> other`` (arithmetic shift)."""
    return RightShift.apply(*_integer_operands("bitwise_right_shift", input, other))


def gcd(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The greatest common divisor of integer tensors (non-negative)."""
    return Gcd.apply(input, other)


def lcm(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The least common multiple of integer tensors (non-negative)."""
    return Lcm.apply(input, other)


def nextafter(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The next representable float after ``input`` in the direction of ``other``."""
    return Nextafter.apply(input, other)


def logical_and(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """True where both are nonzero."""
    return LogicalAnd.apply(input, other)


def logical_or(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """True where either is nonzero."""
    return LogicalOr.apply(input, other)


def logical_xor(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """True where exactly one is nonzero."""
    return LogicalXor.apply(input, other)


def logical_not(input: Tensor, *, out=None) -> Tensor:
    """True where ``input`` is zero."""
    return LogicalNot.apply(input)
