"""Clamping and extrema: clamp (scalar or tensor bounds), maximum, minimum, fmax, fmin.

The gradient follows the operand that was chosen: ``clamp`` passes it where the input lies
within its bounds and to a tensor bound where that bound is in force; ``maximum`` and
``minimum`` (NaN propagates) split it in half at ties, ``fmax`` and ``fmin`` (NaN ignored)
send it to the first operand, as PyTorch does.
"""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, as_tensor_operand, checked_scalar
from ember.ops.comparison import isnan
from ember.ops.elementwise._common import _binary_function, _promoted, _zeros
from ember.ops.elementwise.arithmetic import where


class Clamp(Op):
    """``min(max(x, low), high)``; the gradient passes where ``low <= x <= high``.

    A tensor bound receives the gradient where it is the one in force, as PyTorch's
    ``clamp_backward_min_max`` does (``high`` wins when ``low > high``).
    """

    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, low, high):
        bounds = [b for b in (low, high) if b is not None]
        x, *bounds = _promoted("clamp", x, *bounds)
        if x.dtype == xp.bool_:
            x = x.astype(xp.int64)  # PyTorch clamps bools as integers
            bounds = [b.astype(xp.int64) for b in bounds]
        low = bounds.pop(0) if low is not None else None
        high = bounds.pop(0) if high is not None else None
        ctx.save_for_backward(x, low, high)
        y = x
        if low is not None:
            y = xp.maximum(y, low)
        if high is not None:
            y = xp.minimum(y, high)
        return y.copy() if y is x else y

    @staticmethod
    def backward(ctx, grad):
        x, low, high = ctx.saved_tensors
        needs = ctx.needs_input_grad
        zero = _zeros(grad)
        if low is not None and high is not None:
            passes = (x >= low) & (x <= high)
            to_low = (x < low) & (low < high)
            to_high = (x > high) | (high < low)
        elif low is not None:
            passes, to_low, to_high = x >= low, x < low, None
        else:
            passes, to_low, to_high = x <= high, None, x > high
        return (
            where(passes, grad, zero) if needs[0] else None,
            where(to_low, grad, zero) if len(needs) > 1 and needs[1] else None,
            where(to_high, grad, zero) if len(needs) > 2 and needs[2] else None,
        )


class ClampTensor(Clamp):
    node_name = "ClampBackward0"


class ClampMin(Clamp):
    node_name = "ClampMinBackward0"


class ClampMinTensor(Clamp):
    node_name = "ClampMinBackward1"


class ClampMax(Clamp):
    node_name = "ClampMaxBackward0"


class ClampMaxTensor(Clamp):
    node_name = "ClampMaxBackward1"


def _bound(value):
    if value is None or isinstance(value, Tensor):
        return value
    return as_tensor_operand(value, "clamp")


def clamp(input: Tensor, min=None, max=None, *, out=None) -> Tensor:
    """``input`` limited to ``[min, max]``; each bound a scalar, a tensor, or None.

    Where ``min > max`` every element becomes ``max``. The gradient flows to
    ``input`` where ``min <= input <= max`` and to a tensor bound where it is in force.
    """
    low, high = _bound(min), _bound(max)
    low, high = checked_scalar(low, input, low), checked_scalar(high, input, high)
    if low is None and high is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensor_bound = isinstance(low, Tensor) or isinstance(high, Tensor)
    if tensor_bound and not all(isinstance(b, Tensor) for b in (low, high) if b is not None):
        raise TypeError(
            "clamp(): min and max must both be Tensors or both be Numbers, got "
            f"{type(min).__name__} and {type(max).__name__}"
        )
    if low is None:
        op = ClampMaxTensor if tensor_bound else ClampMax
    elif high is None:
        op = ClampMinTensor if tensor_bound else ClampMin
    else:
        op = ClampTensor if tensor_bound else Clamp
    return op.apply(input, low, high)


def clamp_min(input: Tensor, min) -> Tensor:
    """``max(input, min)``."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """``min(input, max)``."""
    return clamp(input, max=max)


class Maximum(Op):
    """The larger of ``a`` and ``b`` (NaN propagates); ties split the gradient in half."""

    compute = staticmethod(xp.maximum)
    bigger = True

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = _promoted(cls.__name__.lower(), a, b)
        ctx.save_for_backward(a, b)
        return cls.compute(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        a_wins = a > b if cls.bigger else a < b
        b_wins = b > a if cls.bigger else b < a
        half = where(a == b, grad / 2, grad)
        zero = _zeros(grad)
        return (
            where(b_wins, zero, half) if needs[0] else None,
            where(a_wins, zero, half) if needs[1] else None,
        )


class Minimum(Maximum):
    compute = staticmethod(xp.minimum)
    bigger = False


class Fmax(Maximum):
    """The larger of ``a`` and ``b``, ignoring NaN; ties send the gradient to ``a``."""

    compute = staticmethod(xp.fmax)
    bigger = True

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        to_a = ((a >= b) if cls.bigger else (a <= b)) | isnan(b)
        zero = _zeros(grad)
        return (
            where(to_a, grad, zero) if needs[0] else None,
            where(to_a, zero, grad) if needs[1] else None,
        )


class Fmin(Fmax):
    compute = staticmethod(xp.fmin)
    bigger = False


# The public functions that only apply their op (``out=`` is served by ember/ops/_out.py).
maximum = _binary_function("maximum", Maximum, "The elementwise maximum; NaN propagates.")
minimum = _binary_function("minimum", Minimum, "The elementwise minimum; NaN propagates.")
fmax = _binary_function(
    "fmax", Fmax, "The elementwise maximum, taking the non-NaN operand where one is NaN."
)
fmin = _binary_function(
    "fmin", Fmin, "The elementwise minimum, taking the non-NaN operand where one is NaN."
)


clip = clamp
