"""Float math of two tensors: atan2, hypot, logaddexp, xlogy, copysign, heaviside, ldexp.

Integer operands become the default float dtype where PyTorch's kernels do so; ``xlogy`` and
``copysign`` take a Python scalar on either side.
"""

from __future__ import annotations

import math

from ember._backend import xp
from ember._dtype import get_default_dtype, result_type
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape
from ember.ops.elementwise._common import (
    _binary_function,
    _not_implemented_backward,
    _operand,
    _promoted,
    _unsupported,
    _zeros,
)
from ember.ops.elementwise.arithmetic import mul, pow, where
from ember.ops.elementwise.unary import sigmoid


class Atan2(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        a, b = _promoted("atan2", a, b, float_math=True)
        ctx.save_for_backward(a, b)
        return xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = grad / (a * a + b * b)
        needs = ctx.needs_input_grad
        return (scale * b if needs[0] else None, -scale * a if needs[1] else None)


class Hypot(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b):
        a, b = _promoted("hypot", a, b)
        if a.dtype.kind != "f":
            raise _unsupported("hypot_cpu", a)
        y = xp.hypot(a, b)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * a / y if needs[0] else None, grad * b / y if needs[1] else None)


class Logaddexp(Op):
    compute = staticmethod(xp.logaddexp)
    base = math.e

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = _promoted(cls.__name__.lower(), a, b)
        if a.dtype.kind != "f":
            raise _unsupported(f"{cls.__name__.lower()}_cpu", a)
        ctx.save_for_backward(a, b)
        return cls.compute(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        # d/da log(e^a + e^b) = 1 / (1 + e^(b - a)); log base 2 has the same shape
        share_a = sigmoid((a - b) * math.log(cls.base))
        return (
            grad * share_a if needs[0] else None,
            grad * (1 - share_a) if needs[1] else None,
        )


class Logaddexp2(Logaddexp):
    compute = staticmethod(xp.logaddexp2)
    base = 2.0


class Xlogy(Op):
    """``x * log(y)``, 0 where ``x == 0`` (unless ``y`` is NaN)."""

    @staticmethod
    def forward(ctx, x, y):
        x, y = _promoted("xlogy", x, y, float_math=True)
        ctx.save_for_backward(x, y)
        result = xp.where((x == 0) & ~xp.isnan(y), 0, x * xp.log(y))
        return result.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_y = None
        if needs[0]:
            grad_x = where((x == 0) & (y <= 0), 0.0, xlogy(grad, y))
        if needs[1]:
            grad_y = grad * x / y
        return grad_x, grad_y


class XlogyScalarSelf(Xlogy):
    node_name = "XlogyBackward1"


class Copysign(Op):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _promoted("copysign", a, b, float_math=True)
        y = xp.copysign(a, b)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        ratio = where(a == 0, 0.0, y / where(a == 0, 1.0, a))
        needs = ctx.needs_input_grad
        return grad * ratio if needs[0] else None, _zeros(grad) if needs[1] else None


class Heaviside(Op):
    node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, values):
        if x.dtype != values.dtype:
            raise RuntimeError(
                "heaviside is not yet implemented for tensors with different dtypes."
            )
        broadcast_shape("heaviside", x.shape, values.shape)
        return xp.where(x == 0, values, x > 0).astype(x.dtype)

    backward = _not_implemented_backward("heaviside")


# The public functions that only apply their op (``out=`` is served by ember/ops/_out.py).
atan2 = _binary_function(
    "atan2", Atan2, "The angle of the point ``(other, input)``, in ``(-pi, pi]``."
)
hypot = _binary_function("hypot", Hypot, "``sqrt(input**2 + other**2)`` without overflow.")
logaddexp = _binary_function(
    "logaddexp", Logaddexp, "``log(exp(input) + exp(other))`` without overflow."
)
logaddexp2 = _binary_function(
    "logaddexp2", Logaddexp2, "``log2(2**input + 2**other)`` without overflow."
)
copysign = _binary_function(
    "copysign",
    Copysign,
    "``|input|`` with the sign of ``other`` (float result); gradient only to ``input``.",
    scalars=True,
)


def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0``; either may be a scalar."""
    op = Xlogy if isinstance(input, Tensor) else XlogyScalarSelf
    return op.apply(_operand(input, "xlogy"), _operand(other, "xlogy"))


def heaviside(input: Tensor, values: Tensor, *, out=None) -> Tensor:
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0``."""
    return Heaviside.apply(input, values)


def ldexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``input * 2 ** other``."""
    if isinstance(other, Tensor) and not other.dtype.is_floating_point:
        # An integer exponent takes the result's float dtype, so float16/bfloat16 stay.
        common = result_type(input, other)
        other = other.to(common if common.is_floating_point else get_default_dtype())
    return mul(input, pow(2.0, other))


arctan2 = atan2
