"""Elementwise arithmetic and math, with PyTorch's type promotion.

Binary ops promote their operands inside ``forward`` (``promote``); the engine casts
each gradient back to its input's dtype and sums it back over broadcast dims, so a
``backward`` here returns gradients of the broadcast output's shape.
"""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, as_tensor_operand, float_input, promote

__all__ = [
    "add",
    "sub",
    "subtract",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "neg",
    "negative",
    "exp",
    "log",
    "sigmoid",
    "tanh",
    "relu",
    "pow",
    "where",
]


def _operand(value, op):
    return as_tensor_operand(value, op)


class Add(Op):
    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = promote(a, b)
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, grad if ctx.alpha == 1 else grad * ctx.alpha, None


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = promote(a, b)
        if a.dtype == xp.bool_:
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead."
            )
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - b * alpha

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.alpha == 1 else grad * -ctx.alpha, None


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (grad * b if needs[0] else None, grad * a if needs[1] else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        a, b = (float_input(v) for v in promote(a, b))
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            grad / b if needs[0] else None,
            -grad * a / (b * b) if needs[1] else None,
        )


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == xp.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. "
                "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return -x

    @staticmethod
    def backward(ctx, grad):
        return (-grad,)


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        y = xp.exp(float_input(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return (grad * y,)


class Log(Op):
    @staticmethod
    def forward(ctx, x):
        x = float_input(x)
        ctx.save_for_backward(x)
        return xp.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad / x,)


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        x = float_input(x)
        # exp(-|x|) never overflows, so both tails are exact.
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return (grad * y * (1 - y),)


class Tanh(Op):
    @staticmethod
    def forward(ctx, x):
        y = xp.tanh(float_input(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return (grad * (1 - y * y),)


class Relu(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == xp.bool_:
            raise RuntimeError('"clamp_min_scalar_cpu" not implemented for \'Bool\'')
        y = xp.maximum(x, 0).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return (grad * (y > 0),)


class Pow(Op):
    @staticmethod
    def forward(ctx, base, exponent):
        base, exponent = promote(base, exponent)
        if base.dtype.kind in "iu" and (exponent < 0).any():
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        y = xp.power(base, exponent)
        ctx.save_for_backward(base, exponent, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        base, exponent, y = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if needs[0]:
            # d/db b**e = e * b**(e-1), taken as 0 where e == 0 (as PyTorch does)
            grad_base = grad * where(exponent == 0, 0.0, exponent * base ** (exponent - 1))
        if needs[1]:
            # d/de b**e = b**e * log(b), taken as 0 where b == 0 and e >= 0
            safe = where((base == 0) & (exponent >= 0), 0.0, y * log(base))
            grad_exponent = grad * safe
        return grad_base, grad_exponent


class Where(Op):
    @staticmethod
    def forward(ctx, condition, a, b):
        if condition.dtype != xp.bool_:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
        a, b = promote(a, b)
        ctx.condition = condition
        return xp.where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.creation import zeros_like

        mask = Tensor._make(ctx.condition)
        needs = ctx.needs_input_grad
        zero = zeros_like(grad)
        return (
            None,
            where(mask, grad, zero) if needs[1] else None,
            where(mask, zero, grad) if needs[2] else None,
        )


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``; ``where(condition)`` is ``nonzero``."""
    if input is None and other is None:
        from ember.ops.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    return Where.apply(condition, _operand(input, "where"), _operand(other, "where"))


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting and promoting dtypes as PyTorch does."""
    return Add.apply(_operand(input, "add"), _operand(other, "add"), alpha)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``."""
    return Sub.apply(_operand(input, "sub"), _operand(other, "sub"), alpha)


def mul(input, other, *, out=None) -> Tensor:
    """``input * other``."""
    return Mul.apply(_operand(input, "mul"), _operand(other, "mul"))


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """``input / other``; integers divide to the default float dtype.

    ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient (no gradient flows).
    """
    if rounding_mode is None:
        return Div.apply(_operand(input, "div"), _operand(other, "div"))
    return _rounded_divide(input, other, rounding_mode)


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    return Neg.apply(input)


def exp(input: Tensor) -> Tensor:
    """``e ** input``."""
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    """The natural logarithm; ``-inf`` at 0 and NaN below, as in PyTorch."""
    return Log.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))``, computed without overflow for large ``|input|``."""
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent."""
    return Tanh.apply(input)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``; the gradient at 0 is 0, as in PyTorch."""
    return Relu.apply(input)


def pow(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent``; either may be a tensor or a scalar (not both scalars)."""
    return Pow.apply(_operand(input, "pow"), _operand(exponent, "pow"))


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
