"""Elementwise arithmetic and math, with PyTorch's type promotion.

Binary ops check broadcasting (PyTorch's RuntimeError) and promote their operands
inside ``forward`` (``promote``); the engine casts each gradient back to its input's
dtype and sums it back over broadcast dims, so a ``backward`` here returns gradients
of the broadcast output's shape. Float math (``exp``, ``erf`` ...) turns integer and
bool inputs into the default float dtype; a Python scalar never upcasts a tensor.

The special functions (erf, erfinv, lgamma, digamma, polygamma, i0) are computed
here in float64 without SciPy; see the array kernels at the end of the file.
"""

from __future__ import annotations

import builtins
import math

from ember._backend import is_floating, ndarray, xp
from ember._dtype import (
    bfloat16,
    check_python_int,
    checked_int,
    finfo,
    float64,
    get_default_dtype,
    int64,
    result_type,
    wrap_int,
)
from ember._tensor import Tensor
from ember.ops._function import (
    Op,
    _legacy,
    as_tensor_operand,
    broadcast_shape,
    checked_scalar,
    dtype_of,
    float_input,
    promote,
)
from ember.ops._special import (
    _TWO_OVER_SQRT_PI,
    _erf_array,
    _erfc_array,
    _erfinv_array,
    _i1_array,
    _lgamma_array,
    _polygamma_array,
)

__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "addcdiv",
    "addcmul",
    "angle",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "deg2rad",
    "digamma",
    "div",
    "divide",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "gcd",
    "heaviside",
    "hypot",
    "i0",
    "lcm",
    "ldexp",
    "lerp",
    "lgamma",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "mvlgamma",
    "nan_to_num",
    "neg",
    "negative",
    "nextafter",
    "polygamma",
    "positive",
    "pow",
    "rad2deg",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sgn",
    "sigmoid",
    "sign",
    "signbit",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
    "xlogy",
]


_operand = as_tensor_operand


def _promoted(op: str, *values, float_math: bool = False) -> list:
    """Check that the arrays broadcast, then promote; ``float_math`` makes ints float."""
    if len(values) == 2:
        a, b = values
        if (
            type(a) is ndarray
            and type(b) is ndarray
            and a.dtype is b.dtype
            and a.shape == b.shape
            and (a.dtype.kind == "f" or not float_math)
        ):
            return values  # the common case: nothing to broadcast, promote or convert
    broadcast_shape(op, *(value.shape for value in values if type(value) is ndarray))
    if not float_math:
        return promote(*values)
    # a Python int keeps its value in float math: it never wraps to an integer tensor's dtype
    values = [float(value) if type(value) is int else value for value in values]
    return [float_input(value) for value in promote(*values)]


def _unsupported(kernel: str, array) -> NotImplementedError:
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(dtype_of(array))}'")


def _zeros(grad: Tensor) -> Tensor:
    from ember.ops.creation import zeros_like

    return zeros_like(grad)


def _check_integer_divisor(b) -> None:
    if b.dtype.kind in "biu" and (b == 0).any():
        raise RuntimeError("ZeroDivisionError")


# ================================================================= arithmetic


class Add(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = _promoted("add", a, b)
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + b * alpha

    @staticmethod
    def gradients(xp, ctx, grad):
        return grad, grad if ctx.alpha == 1 else grad * ctx.alpha, None


class Sub(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = _promoted("sub", a, b)
        if type(alpha) is int and a.dtype.kind in "iu":
            alpha = wrap_int(alpha, a.dtype)  # it was checked negated: it may not fit itself
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - b * alpha

    @staticmethod
    def gradients(xp, ctx, grad):
        return grad, -grad if ctx.alpha == 1 else grad * -ctx.alpha, None


def _check_alpha(op, input, other, alpha) -> None:
    if isinstance(alpha, float) and not _is_float(input) and not _is_float(other):
        raise RuntimeError(
            f"{op}: For integral input tensors, argument alpha must not be a floating point number."
        )


def _is_float(value) -> bool:
    if isinstance(value, Tensor):
        return value.dtype.is_floating_point
    return isinstance(value, float)


def _is_bool(value) -> bool:
    return isinstance(value, bool) or (isinstance(value, Tensor) and value.dtype.name == "bool")


class Mul(Op):
    rounds_scalars_to_bfloat16 = (0,)  # a scalar second factor stays float32, as in PyTorch

    @staticmethod
    def forward(ctx, a, b):
        scalar_a, scalar_b = type(a) is not ndarray, type(b) is not ndarray
        a, b = _promoted("mul", a, b)
        # PyTorch keeps ``a`` only for ``b``'s gradient, which a Python scalar never needs
        ctx.save_for_backward(None if scalar_b else a, None if scalar_a else b)
        return a * b

    @staticmethod
    def gradients(xp, ctx, grad):
        a, b = xp.saved(ctx)
        needs = ctx.needs_input_grad
        return (grad * b if needs[0] else None, grad * a if needs[1] else None)


class Div(Op):
    rounds_scalars_to_bfloat16 = (0,)  # a scalar divisor stays float32, as in PyTorch

    @staticmethod
    def forward(ctx, a, b):
        scalar_b = type(b) is not ndarray
        a, b = _promoted("div", a, b, float_math=True)
        ctx.save_for_backward(None if scalar_b else a, b)  # ``a`` serves ``b``'s gradient only
        return a / b

    @staticmethod
    def gradients(xp, ctx, grad):
        a, b = xp.saved(ctx)
        needs = ctx.needs_input_grad
        return (
            grad / b if needs[0] else None,
            -grad * a / (b * b) if needs[1] else None,
        )


class RoundedDiv(Op):
    """``div`` with ``rounding_mode``: piecewise constant, so its gradient is zero."""

    node_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b, mode):
        a, b = _promoted("div", a, b)
        if a.dtype == xp.bool_:
            raise _unsupported(f"div_{mode}_cpu", a)
        _check_integer_divisor(b)
        ctx.save_for_backward(a, b)
        if mode == "floor":
            return xp.floor_divide(a, b)
        if a.dtype.kind == "f":
            return xp.trunc(a / b)
        quotient = xp.floor_divide(a, b)
        inexact = (quotient * b != a) & ((a < 0) != (b < 0))
        return quotient + inexact.astype(quotient.dtype)

    @staticmethod
    def backward(ctx, grad):
        ctx.saved_tensors  # noqa: B018 -- PyTorch's formula keeps both operands: their versions
        needs = ctx.needs_input_grad
        return (_zeros(grad) if needs[0] else None, _zeros(grad) if needs[1] else None, None)


def _not_implemented_backward(name: str):
    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{name}' is not implemented.")

    return staticmethod(backward)


class FloorDivide(Op):
    node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, b):
        return RoundedDiv.forward(ctx, a, b, "floor")

    backward = _not_implemented_backward("floor_divide")


class Remainder(Op):
    """``a - b * floor(a / b)``: the result has the sign of the divisor, as Python's ``%``."""
    rounds_scalars_to_bfloat16 = (0, 1)

    compute = staticmethod(xp.remainder)
    kernel = "remainder_cpu"
    rounding = "floor"

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = _promoted(cls.kernel.split("_")[0], a, b)
        if a.dtype == xp.bool_:
            raise _unsupported(cls.kernel, a)
        _check_integer_divisor(b)
        ctx.save_for_backward(a, b)
        return cls.compute(a, b)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = None
        if ctx.needs_input_grad[1]:
            grad_b = -grad * div(a, b, rounding_mode=cls.rounding)
        return grad if ctx.needs_input_grad[0] else None, grad_b


class Fmod(Remainder):
    """``a - b * trunc(a / b)``: the result has the sign of the dividend, as C's ``fmod``."""

    compute = staticmethod(xp.fmod)
    kernel = "fmod_cpu"
    rounding = "trunc"


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == xp.bool_:
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead."
            )
        return -x

    @staticmethod
    def gradients(xp, ctx, grad):
        return (-grad,)


class Pow(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, base, exponent):
        scalar_exponent = type(exponent) is not ndarray
        base, exponent = _promoted("pow", base, exponent)
        if base.dtype.kind in "iu" and (exponent < 0).any():
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        y = xp.power(base, exponent)
        # the output serves only the exponent's gradient, which a Python scalar never needs
        ctx.save_for_backward(base, exponent, None if scalar_exponent else y)
        return y

    @staticmethod
    def gradients(xp, ctx, grad):
        base, exponent, y = xp.saved(ctx)
        needs = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if needs[0]:
            # d/db b**e = e * b**(e-1), taken as 0 where e == 0 (as PyTorch does)
            grad_base = grad * xp.where(exponent == 0, 0.0, exponent * base ** (exponent - 1))
        if needs[1]:
            # d/de b**e = b**e * log(b), taken as 0 where b == 0 and e >= 0
            safe = xp.where((base == 0) & (exponent >= 0), 0.0, y * xp.log(base))
            grad_exponent = grad * safe
        return grad_base, grad_exponent


class Addcmul(Op):
    @staticmethod
    def forward(ctx, x, tensor1, tensor2, value):
        x, tensor1, tensor2 = _promoted("addcmul", x, tensor1, tensor2)
        value = xp.asarray(value).astype(x.dtype)  # PyTorch casts value to the result type
        ctx.value = value.item()
        ctx.save_for_backward(tensor1, tensor2)
        return x + value * tensor1 * tensor2

    @staticmethod
    def backward(ctx, grad):
        tensor1, tensor2 = ctx.saved_tensors
        needs, value = ctx.needs_input_grad, ctx.value
        return (
            grad,
            grad * tensor2 * value if needs[1] else None,
            grad * tensor1 * value if needs[2] else None,
            None,
        )


class Addcdiv(Op):
    @staticmethod
    def forward(ctx, x, tensor1, tensor2, value):
        if tensor1.dtype.kind in "biu" and tensor2.dtype.kind in "biu":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future release "
                "addcdiv will perform a true division of tensor1 and tensor2. Use "
                "torch.addcdiv(input, tensor1.float(), tensor2) for true division."
            )
        x, tensor1, tensor2 = _promoted("addcdiv", x, tensor1, tensor2)
        ctx.value = value
        ctx.save_for_backward(tensor1, tensor2)
        return x + value * (tensor1 / tensor2)

    @staticmethod
    def backward(ctx, grad):
        tensor1, tensor2 = ctx.saved_tensors
        needs, value = ctx.needs_input_grad, ctx.value
        return (
            grad,
            grad * value / tensor2 if needs[1] else None,
            -grad * value * tensor1 / (tensor2 * tensor2) if needs[2] else None,
            None,
        )


class Lerp(Op):
    """``start + weight * (end - start)``, written from the nearer end for accuracy."""

    @staticmethod
    def forward(ctx, start, end, weight):
        broadcast_shape("lerp", *(v.shape for v in (start, end, weight) if type(v) is ndarray))
        if start.dtype.kind != "f":
            raise _unsupported("lerp_kernel_scalar", start)
        for name, other in (("end", end), ("weight", weight)):
            if (
                type(other) is ndarray
                and other.dtype != start.dtype
                and (name == "end" or other.ndim)
            ):
                raise RuntimeError(
                    f"expected dtype {_legacy(dtype_of(start)).lower()} for `{name}` but got "
                    f"dtype {_legacy(dtype_of(other)).lower()}"
                )
        scalar_weight = type(weight) is not ndarray
        weight = xp.asarray(weight).astype(start.dtype, copy=False)
        if scalar_weight:  # a Python weight needs no gradient, so its formula keeps no tensor
            ctx.save_for_backward(None, None, weight)
        else:
            ctx.save_for_backward(start, end, weight)
        return xp.where(
            xp.abs(weight) < 0.5, start + weight * (end - start), end - (end - start) * (1 - weight)
        ).astype(start.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        start, end, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        return (
            grad * (1 - weight) if needs[0] else None,
            grad * weight if needs[1] else None,
            grad * (end - start) if needs[2] else None,
        )


class LerpTensor(Lerp):
    node_name = "LerpBackward1"


class Where(Op):
    @staticmethod
    def forward(ctx, condition, a, b):
        if condition.dtype != xp.bool_:
            raise RuntimeError(
                "where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_legacy(dtype_of(condition))}"
            )
        broadcast_shape("where", condition.shape, *(v.shape for v in (a, b) if type(v) is ndarray))
        a, b = promote(a, b)
        ctx.condition = condition
        return xp.where(condition, a, b)

    @staticmethod
    def gradients(xp, ctx, grad):
        # the condition stays an array: ember's where takes one as a constant
        condition, needs = ctx.condition, ctx.needs_input_grad
        zero = xp.zeros_like(grad)
        return (
            None,
            xp.where(condition, grad, zero) if needs[1] else None,
            xp.where(condition, zero, grad) if needs[2] else None,
        )


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``; ``where(condition)`` is ``nonzero``.

    Example::

        >>> ember.where(x > 0, x, 0.0)  # relu
    """
    if input is None and other is None:
        from ember.ops.indexing import nonzero

        return nonzero(condition, as_tuple=True)
    input, other = _operand(input, "where"), _operand(other, "where")
    return Where.apply(
        condition, checked_scalar(input, input, other), checked_scalar(other, input, other)
    )


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``, broadcasting and promoting dtypes as PyTorch does."""
    _check_alpha("add", input, other, alpha)
    input, other = _operand(input, "add"), _operand(other, "add")
    return Add.apply(input, other, checked_scalar(alpha, input, other))


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``; bool operands are refused as in PyTorch."""
    if _is_bool(input) or _is_bool(other):
        both = _is_bool(input) and _is_bool(other)
        raise RuntimeError(
            "Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
            "`^` or `logical_xor()` operator instead."
            if both
            else "Subtraction, the `-` operator, with a bool tensor is not supported. If you "
            "are trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    _check_alpha("sub", input, other, alpha)
    input, other = _operand(input, "sub"), _operand(other, "sub")
    return Sub.apply(input, other, _sub_alpha(alpha, input, other))


def _sub_alpha(alpha, input, other):
    """PyTorch's sub adds ``-alpha`` (negated in int64), so that is what must fit the dtype."""
    if type(alpha) is not int:
        return alpha
    check_python_int(alpha)
    return -checked_scalar(wrap_int(-alpha, int64.numpy), input, other)


def mul(input, other, *, out=None) -> Tensor:
    """``input * other``."""
    return Mul.apply(_operand(input, "mul"), _operand(other, "mul"))


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """``input / other``; integers divide to the default float dtype.

    ``rounding_mode='trunc'`` rounds the quotient toward zero, ``'floor'`` down; both
    keep integer dtypes and have a zero gradient.
    """
    if rounding_mode is None:
        return Div.apply(_operand(input, "div"), _operand(other, "div"))
    return _rounded_divide(input, other, rounding_mode)


def _rounded_divide(input, other, rounding_mode) -> Tensor:
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return RoundedDiv.apply(_operand(input, "div"), _operand(other, "div"), rounding_mode)


def floor_divide(input, other, *, out=None) -> Tensor:
    """``floor(input / other)`` (the ``//`` operator); not differentiable in PyTorch."""
    return FloorDivide.apply(_operand(input, "floor_divide"), _operand(other, "floor_divide"))


def remainder(input, other, *, out=None) -> Tensor:
    """``input - other * floor(input / other)`` (the ``%`` operator, sign of ``other``)."""
    return Remainder.apply(_operand(input, "remainder"), _operand(other, "remainder"))


def fmod(input, other, *, out=None) -> Tensor:
    """``input - other * trunc(input / other)`` (C's ``fmod``, sign of ``input``)."""
    return Fmod.apply(_operand(input, "fmod"), _operand(other, "fmod"))


def neg(input: Tensor) -> Tensor:
    """``-input``."""
    return Neg.apply(input)


def positive(input: Tensor) -> Tensor:
    """``+input``: ``input`` itself."""
    if input.dtype.name == "bool":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def square(input: Tensor) -> Tensor:
    """``input ** 2`` (bool becomes int64, as in PyTorch)."""
    return pow(input, 2)


def pow(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent``; either may be a tensor or a scalar (not both scalars).

    A Python int exponent must fit an integer ``input``'s dtype; a Python int base wraps to it.
    """
    input, exponent = _operand(input, "pow"), _operand(exponent, "pow")
    if type(exponent) is int and _is_integer(input):
        check_python_int(exponent)
        if exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        checked_int(exponent, int64.numpy)  # PyTorch reads the exponent as an int64 first
    return Pow.apply(input, checked_scalar(exponent, input, exponent))


def _is_integer(value) -> bool:
    return isinstance(value, Tensor) and value._data.dtype.kind in "iu"


def float_power(input, exponent, *, out=None) -> Tensor:
    """``input ** exponent`` computed in float64, whatever the input dtypes."""

    def double(value):
        return value.to(float64) if isinstance(value, Tensor) else float(value)

    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected at least one Tensor argument")
    return pow(double(input), double(exponent))


def addcmul(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    value = checked_scalar(value, input, tensor1, tensor2)
    return Addcmul.apply(input, tensor1, tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1, out=None) -> Tensor:
    """``input + value * tensor1 / tensor2`` (two integer tensors are refused)."""
    return Addcdiv.apply(input, tensor1, tensor2, value)


def lerp(input: Tensor, end: Tensor, weight, *, out=None) -> Tensor:
    """``input + weight * (end - input)``; ``weight`` is a scalar or a tensor.

    ``input``, ``end`` and a dimensioned ``weight`` must share a floating dtype.
    """
    if isinstance(weight, Tensor):
        return LerpTensor.apply(input, end, weight)
    return Lerp.apply(input, end, float(weight))


# ================================================================= unary ops


class _Unary(Op):
    """``y = compute(x)``; ``derivative(xp, x, y)``, over the namespace ``xp``, is ``dy/dx``.

    ``saves`` names what the node keeps, as PyTorch's derivative formula does: ``"x"`` the
    input, ``"y"`` the output, both or neither. The other comes to ``derivative`` as None,
    so an in-place change of it after the op is harmless, and of a kept one is an error.
    """

    float_math = True  # integer and bool inputs become the default float dtype
    refuses = ()  # dtype kinds ("b", "i") that PyTorch's kernel is not implemented for
    kernel = ""
    saves = "x"

    @classmethod
    def forward(cls, ctx, x):
        if x.dtype.kind in cls.refuses or (x.dtype.kind == "u" and "i" in cls.refuses):
            raise _unsupported(cls.kernel, x)
        if cls.float_math:
            x = float_input(x)
        y = cls.compute(x)
        if type(y) is not ndarray:
            y = xp.asarray(y)
        if y.dtype != x.dtype:
            y = y.astype(x.dtype)
        elif y is x or (y.base is not None and xp.shares_memory(y, x)):
            y = y.copy()  # a fresh array, never a view of the input
        saves = cls.saves
        ctx.save_for_backward(x if "x" in saves else None, y if "y" in saves else None)
        return y

    @classmethod
    def gradients(cls, xp, ctx, grad):
        x, y = xp.saved(ctx)
        return (grad * cls.derivative(xp, x, y),)


class _Piecewise(_Unary):
    """Rounding-like ops: piecewise constant, so the gradient is zero."""

    float_math = False
    saves = ""

    @staticmethod
    def gradients(xp, ctx, grad):
        xp.saved(ctx)  # the version check of what PyTorch's formula saves
        return (xp.zeros_like(grad),)


def _unary(name: str, compute, derivative=None, **attributes):
    """A ``_Unary`` subclass named as PyTorch names its node (``Sin`` -> SinBackward0).

    ``derivative(xp, x, y)`` is ``dy/dx`` over a gradient namespace (``ArrayMath`` or
    ``TensorMath``); without one the op is piecewise constant.
    """
    body = {"compute": staticmethod(compute), **attributes}
    if derivative is not None:
        body["derivative"] = staticmethod(derivative)
    return type(name, (_Unary if derivative is not None else _Piecewise,), body)


def _rsqrt_array(x):
    return 1 / xp.sqrt(x)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

Abs = _unary(
    "Abs",
    xp.abs,
    lambda xp, x, y: xp.sgn(x),
    float_math=False,
    refuses="b",
    kernel="abs_cpu",
)
Exp = _unary("Exp", xp.exp, lambda xp, x, y: y, saves="y")
Exp2 = _unary("Exp2", xp.exp2, lambda xp, x, y: y * _LN2, saves="y")
Expm1 = _unary("Expm1", xp.expm1, lambda xp, x, y: y + 1, saves="y")
Log = _unary("Log", xp.log, lambda xp, x, y: xp.reciprocal(x))
Log2 = _unary("Log2", xp.log2, lambda xp, x, y: xp.reciprocal(x * _LN2))
Log10 = _unary("Log10", xp.log10, lambda xp, x, y: xp.reciprocal(x * _LN10))
Log1P = _unary("Log1P", xp.log1p, lambda xp, x, y: xp.reciprocal(x + 1))
Sqrt = _unary("Sqrt", xp.sqrt, lambda xp, x, y: 0.5 / y, saves="y")
Rsqrt = _unary("Rsqrt", _rsqrt_array, lambda xp, x, y: -0.5 * y * y * y, saves="y")
Reciprocal = _unary("Reciprocal", lambda x: 1 / x, lambda xp, x, y: -y * y, saves="y")
Sin = _unary("Sin", xp.sin, lambda xp, x, y: xp.cos(x))
Cos = _unary("Cos", xp.cos, lambda xp, x, y: -xp.sin(x))
Tan = _unary("Tan", xp.tan, lambda xp, x, y: 1 + y * y, saves="y")
Asin = _unary("Asin", xp.arcsin, lambda xp, x, y: xp.rsqrt(1 - x * x))
Acos = _unary("Acos", xp.arccos, lambda xp, x, y: -xp.rsqrt(1 - x * x))
Atan = _unary("Atan", xp.arctan, lambda xp, x, y: xp.reciprocal(1 + x * x))
Sinh = _unary("Sinh", xp.sinh, lambda xp, x, y: xp.cosh(x))
Cosh = _unary("Cosh", xp.cosh, lambda xp, x, y: xp.sinh(x))
Tanh = _unary("Tanh", xp.tanh, lambda xp, x, y: 1 - y * y, saves="y")
Asinh = _unary("Asinh", xp.arcsinh, lambda xp, x, y: xp.rsqrt(x * x + 1))
Acosh = _unary("Acosh", xp.arccosh, lambda xp, x, y: xp.rsqrt((x - 1) * (x + 1)))
Atanh = _unary("Atanh", xp.arctanh, lambda xp, x, y: xp.reciprocal(1 - x * x))
Deg2Rad = _unary("Deg2Rad", xp.deg2rad, lambda xp, x, y: math.pi / 180, saves="")
Rad2Deg = _unary("Rad2Deg", xp.rad2deg, lambda xp, x, y: 180 / math.pi, saves="")
Erf = _unary(
    "Erf", lambda x: _erf_array(x), lambda xp, x, y: _TWO_OVER_SQRT_PI * xp.exp(-x * x)
)
Erfc = _unary(
    "Erfc", lambda x: _erfc_array(x), lambda xp, x, y: -_TWO_OVER_SQRT_PI * xp.exp(-x * x)
)
Erfinv = _unary(  # PyTorch saves the input only, and computes erfinv again in backward
    "Erfinv",
    lambda x: _erfinv_array(x),
    lambda xp, x, y: (math.sqrt(math.pi) / 2) * xp.exp(xp.erfinv(x) ** 2),
)
Lgamma = _unary("Lgamma", lambda x: _lgamma_array(x), lambda xp, x, y: xp.digamma(x))
Digamma = _unary(
    "Digamma", lambda x: _polygamma_array(0, x), lambda xp, x, y: xp.polygamma(1, x)
)
I0 = _unary("I0", lambda x: xp.i0(x.astype(xp.float64)), lambda xp, x, y: xp.i1(x))
_I1 = _unary(  # I1'(x) = I0(x) - I1(x) / x, with the limit 1/2 at 0
    "I1",
    lambda x: _i1_array(x),
    lambda xp, x, y: xp.where(x == 0, 0.5, xp.i0(x) - y / xp.where(x == 0, 1.0, x)),
    saves="xy",
)
Sinc = _unary(
    "Sinc",
    lambda x: xp.sinc(x),
    lambda xp, x, y: xp.where(
        x == 0, 0.0, (xp.cos(math.pi * x) - xp.sinc(x)) / xp.where(x == 0, 1.0, x)
    ),
)
Sigmoid = _unary("Sigmoid", lambda x: _sigmoid_array(x), lambda xp, x, y: y * (1 - y), saves="y")
Relu = _unary(
    "Relu",
    lambda x: xp.maximum(x, 0),
    lambda xp, x, y: y > 0,
    float_math=False,
    refuses="b",
    kernel="clamp_min_scalar_cpu",
    saves="y",
)
Frac = _unary(
    "Frac",
    lambda x: x - xp.trunc(x),
    lambda xp, x, y: 1.0,
    float_math=False,
    refuses="bi",
    kernel="frac_cpu",
    saves="",
)
Sign = _unary("Sign", lambda x: _sign_array(x))
Sgn = _unary("Sgn", lambda x: _sign_array(x), saves="xy")  # as for complex inputs
Floor = _unary(
    "Floor",
    lambda x: xp.floor(x) if x.dtype.kind == "f" else x,
    refuses="b",
    kernel="floor_vml_cpu",
)
Ceil = _unary(
    "Ceil", lambda x: xp.ceil(x) if x.dtype.kind == "f" else x, refuses="b", kernel="ceil_vml_cpu"
)
Trunc = _unary(
    "Trunc",
    lambda x: xp.trunc(x) if x.dtype.kind == "f" else x,
    refuses="b",
    kernel="trunc_vml_cpu",
)
Angle = _unary(
    "Angle", lambda x: xp.where(x < 0, math.pi, 0.0 * x), float_math=True, saves="x"
)
Round = _unary(
    "Round", lambda x: xp.rint(x) if x.dtype.kind == "f" else x, refuses="b", kernel="round_cpu"
)


def _sign_array(x):
    if x.dtype == xp.bool_:
        return x.copy()
    return xp.where(xp.isnan(x), 0, xp.sign(x))  # PyTorch's sign(NaN) is 0


def _sigmoid_array(x):
    # PyTorch's formula, so that results match to the last bit: exp(-x) overflows to inf
    # for very negative x, and 1 / inf is the 0 that PyTorch returns there too.
    y = xp.negative(x)
    if type(y) is not ndarray:  # NumPy turns a 0-d result into a scalar
        return xp.asarray(1 / (1 + xp.exp(y)))
    xp.exp(y, out=y)
    y += 1
    return xp.divide(1, y, out=y)


class RoundDecimals(_Piecewise):
    node_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals):
        if x.dtype.kind != "f":
            raise _unsupported("round_cpu", x)
        scale = 10.0 ** builtins.abs(decimals)
        if decimals >= 0:
            y = xp.rint(x * scale) / scale
        else:
            y = xp.rint(x / scale) * scale
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad), None


class Logit(Op):
    @staticmethod
    def forward(ctx, x, eps):
        x = float_input(x)
        ctx.eps = eps
        ctx.save_for_backward(x)
        clamped = x if eps is None else xp.clip(x, eps, 1 - eps)
        return xp.log(clamped / (1 - clamped)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        result = grad / (x * (1 - x))
        if ctx.eps is None:
            return result, None
        outside = (x < ctx.eps) | (x > 1 - ctx.eps)
        return where(outside, 0.0, result), None


class NanToNum(Op):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        if x.dtype.kind != "f":
            return x.copy()
        ctx.save_for_backward(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.comparison import isfinite

        (x,) = ctx.saved_tensors
        return grad * isfinite(x), None, None, None


class Mvlgamma(Op):
    @staticmethod
    def forward(ctx, x, p):
        x = float_input(x)
        ctx.p = p
        ctx.save_for_backward(x)
        total = sum(_lgamma_array(x - i / 2) for i in range(p))
        return (total + p * (p - 1) / 4 * math.log(math.pi)).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * sum(digamma(x - i / 2) for i in range(ctx.p)), None


class Polygamma(Op):
    @staticmethod
    def forward(ctx, n, x):
        x = float_input(x)
        ctx.n = n
        ctx.save_for_backward(x)
        return _polygamma_array(n, x).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return None, grad * polygamma(ctx.n + 1, x)


def abs(input: Tensor, *, out=None) -> Tensor:
    """``|input|``; the gradient is ``sgn(input)`` (0 at 0)."""
    return Abs.apply(input)


def sign(input: Tensor, *, out=None) -> Tensor:
    """-1, 0 or 1 by the sign of ``input`` (0 for NaN, as PyTorch); zero gradient."""
    return Sign.apply(input)


def sgn(input: Tensor, *, out=None) -> Tensor:
    """``sign`` for real tensors."""
    return Sgn.apply(input)


def signbit(input: Tensor, *, out=None) -> Tensor:
    """True where the sign bit is set (``-0.0`` included)."""
    data = input._data
    return Tensor._make(xp.asarray(xp.signbit(data) if is_floating(data.dtype) else data < 0))


def exp(input: Tensor, *, out=None) -> Tensor:
    """``e ** input``."""
    return Exp.apply(input)


def exp2(input: Tensor, *, out=None) -> Tensor:
    """``2 ** input``."""
    return Exp2.apply(input)


def expm1(input: Tensor, *, out=None) -> Tensor:
    """``exp(input) - 1``, accurate for small ``input``."""
    return Expm1.apply(input)


def log(input: Tensor, *, out=None) -> Tensor:
    """The natural logarithm; ``-inf`` at 0 and NaN below, as in PyTorch."""
    return Log.apply(input)


def log2(input: Tensor, *, out=None) -> Tensor:
    """The base-2 logarithm."""
    return Log2.apply(input)


def log10(input: Tensor, *, out=None) -> Tensor:
    """The base-10 logarithm."""
    return Log10.apply(input)


def log1p(input: Tensor, *, out=None) -> Tensor:
    """``log(1 + input)``, accurate for small ``input``."""
    return Log1P.apply(input)


def sqrt(input: Tensor, *, out=None) -> Tensor:
    """``input ** 0.5``."""
    return Sqrt.apply(input)


def rsqrt(input: Tensor, *, out=None) -> Tensor:
    """``1 / sqrt(input)``."""
    return Rsqrt.apply(input)


def reciprocal(input: Tensor, *, out=None) -> Tensor:
    """``1 / input`` (integers become the default float dtype)."""
    return Reciprocal.apply(input)


def sin(input: Tensor, *, out=None) -> Tensor:
    """The sine."""
    return Sin.apply(input)


def cos(input: Tensor, *, out=None) -> Tensor:
    """The cosine."""
    return Cos.apply(input)


def tan(input: Tensor, *, out=None) -> Tensor:
    """The tangent."""
    return Tan.apply(input)


def asin(input: Tensor, *, out=None) -> Tensor:
    """The inverse sine; NaN outside ``[-1, 1]``."""
    return Asin.apply(input)


def acos(input: Tensor, *, out=None) -> Tensor:
    """The inverse cosine; NaN outside ``[-1, 1]``."""
    return Acos.apply(input)


def atan(input: Tensor, *, out=None) -> Tensor:
    """The inverse tangent."""
    return Atan.apply(input)


def sinh(input: Tensor, *, out=None) -> Tensor:
    """The hyperbolic sine."""
    return Sinh.apply(input)


def cosh(input: Tensor, *, out=None) -> Tensor:
    """The hyperbolic cosine."""
    return Cosh.apply(input)


def tanh(input: Tensor, *, out=None) -> Tensor:
    """The hyperbolic tangent."""
    return Tanh.apply(input)


def asinh(input: Tensor, *, out=None) -> Tensor:
    """The inverse hyperbolic sine."""
    return Asinh.apply(input)


def acosh(input: Tensor, *, out=None) -> Tensor:
    """The inverse hyperbolic cosine; NaN below 1."""
    return Acosh.apply(input)


def atanh(input: Tensor, *, out=None) -> Tensor:
    """The inverse hyperbolic tangent; ``±inf`` at ``±1``."""
    return Atanh.apply(input)


def sinc(input: Tensor, *, out=None) -> Tensor:
    """``sin(pi x) / (pi x)``, 1 at 0."""
    return Sinc.apply(input)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians: ``input * pi / 180``."""
    return Deg2Rad.apply(input)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees: ``input * 180 / pi``."""
    return Rad2Deg.apply(input)


def sigmoid(input: Tensor, *, out=None) -> Tensor:
    """``1 / (1 + exp(-input))``, with PyTorch's rounding (0 where ``exp(-input)`` overflows)."""
    return Sigmoid.apply(input)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``; the gradient at 0 is 0, as in PyTorch."""
    return Relu.apply(input)


def erf(input: Tensor, *, out=None) -> Tensor:
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``."""
    return Erf.apply(input)


def erfc(input: Tensor, *, out=None) -> Tensor:
    """``1 - erf(input)``, accurate in the right tail."""
    return Erfc.apply(input)


def erfinv(input: Tensor, *, out=None) -> Tensor:
    """The inverse of ``erf`` on ``(-1, 1)``; ``±inf`` at ``±1``, NaN outside."""
    return Erfinv.apply(input)


def lgamma(input: Tensor, *, out=None) -> Tensor:
    """``log(|Gamma(input)|)``; ``inf`` at the poles ``0, -1, -2 ...``."""
    return Lgamma.apply(input)


def digamma(input: Tensor, *, out=None) -> Tensor:
    """``d/dx log(Gamma(x))``; ``-inf`` at 0, NaN at negative integers."""
    return Digamma.apply(input)


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    """The ``n``-th derivative of ``digamma``: ``polygamma(0, x)`` is ``digamma(x)``."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    return Polygamma.apply(n, input)


def mvlgamma(input: Tensor, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma ``p(p-1)/4 log(pi) + sum_i lgamma(input - i/2)``, i < p."""
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    return Mvlgamma.apply(input, int(p))


def angle(input: Tensor, *, out=None) -> Tensor:
    """The complex argument of a real tensor: ``pi`` where negative, else 0; zero gradient."""
    return Angle.apply(input)


def i0(input: Tensor, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 0."""
    return I0.apply(input)


def floor(input: Tensor, *, out=None) -> Tensor:
    """The largest integer ``<= input`` (integer tensors are returned as a copy)."""
    return Floor.apply(input)


def ceil(input: Tensor, *, out=None) -> Tensor:
    """The smallest integer ``>= input``."""
    return Ceil.apply(input)


def trunc(input: Tensor, *, out=None) -> Tensor:
    """``input`` rounded toward zero."""
    return Trunc.apply(input)


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:
    """``input`` rounded half to even, to ``decimals`` decimal places (negative: tens ...)."""
    if decimals == 0:
        return Round.apply(input)
    return RoundDecimals.apply(input, int(decimals))


def frac(input: Tensor, *, out=None) -> Tensor:
    """``input - trunc(input)``; the gradient is 1."""
    return Frac.apply(input)


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    return Logit.apply(input, eps)


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
    *,
    out=None,
) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``.

    The infinities default to the dtype's largest and smallest finite values.
    """
    if isinstance(input, Tensor) and input.dtype is bfloat16:
        # The forward runs in float32, whose limits would round to bfloat16's infinities.
        largest = finfo(bfloat16).max
        posinf = largest if posinf is None else posinf
        neginf = -largest if neginf is None else neginf
    return NanToNum.apply(input, nan, posinf, neginf)


# ================================================================= clamping and extrema


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
        from ember.ops.comparison import isnan

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


def maximum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The elementwise maximum; NaN propagates."""
    return Maximum.apply(input, other)


def minimum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The elementwise minimum; NaN propagates."""
    return Minimum.apply(input, other)


def fmax(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The elementwise maximum, taking the non-NaN operand where one is NaN."""
    return Fmax.apply(input, other)


def fmin(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The elementwise minimum, taking the non-NaN operand where one is NaN."""
    return Fmin.apply(input, other)


# ================================================================= binary float math


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


def atan2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The angle of the point ``(other, input)``, in ``(-pi, pi]``."""
    return Atan2.apply(input, other)


def hypot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``sqrt(input**2 + other**2)`` without overflow."""
    return Hypot.apply(input, other)


def logaddexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    return Logaddexp.apply(input, other)


def logaddexp2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow."""
    return Logaddexp2.apply(input, other)


def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0``; either may be a scalar."""
    op = Xlogy if isinstance(input, Tensor) else XlogyScalarSelf
    return op.apply(_operand(input, "xlogy"), _operand(other, "xlogy"))


def copysign(input, other, *, out=None) -> Tensor:
    """``|input|`` with the sign of ``other`` (float result); gradient only to ``input``."""
    return Copysign.apply(_operand(input, "copysign"), _operand(other, "copysign"))


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


# ================================================================= bitwise and logical


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


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
absolute, fix, clip = abs, trunc, clamp
arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh
