"""Arithmetic: add, sub, mul, div (and its rounding modes), remainder, pow, neg, where.

Binary ops check broadcasting and promote their operands inside ``forward``
(``_promoted``); the engine casts each gradient back to its input's dtype and sums it back
over broadcast dims, so the gradients here have the broadcast output's shape. Integer
division by zero raises, as PyTorch's does; ``addcmul``, ``addcdiv`` and ``lerp`` complete
the family.
"""

from __future__ import annotations

import math

from ember._backend import array_types, xp
from ember._dtype import check_python_int, checked_int, float64, int64, wrap_int
from ember._tensor import Tensor
from ember.ops._function import (
    Lowered,
    Op,
    _legacy,
    broadcast_shape,
    checked_scalar,
    dtype_of,
    lowerable,
    promote,
)
from ember.ops.elementwise._common import (
    _NUMBERS,
    _not_implemented_backward,
    _number_as,
    _operand,
    _promoted,
    _unsupported,
    _zeros,
)
from ember.ops.indexing import nonzero


def _check_integer_divisor(b) -> None:
    if b.dtype.kind in "biu" and (b == 0).any():
        raise RuntimeError("ZeroDivisionError")


# Each op below computes in ``compute`` and differentiates in ``chain``, on operands
# already promoted: ``forward`` and ``gradients`` call them, and so does the op's lowered
# form (``lower``), which ember.compile runs without the promotion its guards settle.


class Add(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = _promoted("add", a, b)
        ctx.alpha = alpha
        return Add.compute(a, b, alpha)

    @staticmethod
    def compute(a, b, alpha):
        return a + b if alpha == 1 else a + b * alpha

    @staticmethod
    def gradients(xp, ctx, grad):
        return Add.chain(grad, ctx.alpha)

    @staticmethod
    def chain(grad, alpha):
        return grad, grad if alpha == 1 else grad * alpha, None

    @classmethod
    def lower(cls, needs, out, a, b, alpha):
        operands = _lowered_operands(out, a, b)
        if operands is None:
            return None
        return Lowered(_bound(cls.compute, operands), (), lambda grad: cls.chain(grad, alpha),
                       broadcast=_broadcast(out, a, b),
                       **_written_sum(operands, alpha, "+", "{grad}" if alpha == 1 else
                                      f"{{grad}} * {alpha!r}"))


class Sub(Op):
    rounds_scalars_to_bfloat16 = (0, 1)

    @staticmethod
    def forward(ctx, a, b, alpha):
        a, b = _promoted("sub", a, b)
        if type(alpha) is int and a.dtype.kind in "iu":
            alpha = wrap_int(alpha, a.dtype)  # it was checked negated: it may not fit itself
        ctx.alpha = alpha
        return Sub.compute(a, b, alpha)

    @staticmethod
    def compute(a, b, alpha):
        return a - b if alpha == 1 else a - b * alpha

    @staticmethod
    def gradients(xp, ctx, grad):
        return Sub.chain(grad, ctx.alpha)

    @staticmethod
    def chain(grad, alpha):
        return grad, -grad if alpha == 1 else grad * -alpha, None

    @classmethod
    def lower(cls, needs, out, a, b, alpha):
        operands = _lowered_operands(out, a, b)  # float operands only: alpha needs no wrap
        if operands is None:
            return None
        return Lowered(_bound(cls.compute, operands), (), lambda grad: cls.chain(grad, alpha),
                       broadcast=_broadcast(out, a, b),
                       **_written_sum(operands, alpha, "-", "-{grad}" if alpha == 1 else
                                      f"{{grad}} * {-alpha!r}"))


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
        scalar_a, scalar_b = type(a) not in array_types, type(b) not in array_types
        a, b = _promoted("mul", a, b)
        # PyTorch keeps ``a`` only for ``b``'s gradient, which a Python scalar never needs
        ctx.save_for_backward(None if scalar_b else a, None if scalar_a else b)
        return a * b

    @staticmethod
    def gradients(xp, ctx, grad):
        a, b = xp.saved(ctx)
        return Mul.chain(grad, a, b, ctx.needs_input_grad)

    @staticmethod
    def chain(grad, a, b, needs):
        return (grad * b if needs[0] else None, grad * a if needs[1] else None)

    @classmethod
    def lower(cls, needs, out, a, b):
        operands = _lowered_operands(out, a, b)
        if operands is None:
            return None
        # as ``forward`` saves: nothing when a factor is a number, which ``chain`` is given
        saves = (0, 1) if operands == (None, None) else (None, None)
        return Lowered(_bound(_multiply, operands), saves,
                       _bound_chain(cls.chain, operands, needs), broadcast=_broadcast(out, a, b),
                       **_written_product(operands, "*", ("{grad} * {b}", "{grad} * {a}")))


class Div(Op):
    rounds_scalars_to_bfloat16 = (0,)  # a scalar divisor stays float32, as in PyTorch

    @staticmethod
    def forward(ctx, a, b):
        scalar_b = type(b) not in array_types
        a, b = _promoted("div", a, b, float_math=True)
        ctx.save_for_backward(None if scalar_b else a, b)  # ``a`` serves ``b``'s gradient only
        return a / b

    @staticmethod
    def gradients(xp, ctx, grad):
        a, b = xp.saved(ctx)
        return Div.chain(grad, a, b, ctx.needs_input_grad)

    @staticmethod
    def chain(grad, a, b, needs):
        return (
            grad / b if needs[0] else None,
            -grad * a / (b * b) if needs[1] else None,
        )

    @classmethod
    def lower(cls, needs, out, a, b):
        operands = _lowered_operands(out, a, b, float_math=True)
        if operands is None:
            return None
        scalar_a, scalar_b = (value is not None for value in operands)
        saves = (None if scalar_b or scalar_a else 0, None if scalar_b else 1)
        return Lowered(_bound(_divide, operands), saves,
                       _bound_chain(cls.chain, operands, needs), broadcast=_broadcast(out, a, b),
                       **_written_product(operands, "/", ("{grad} / {b}",
                                                          "-{grad} * {a} / ({b} * {b})")))


def _written_number(number) -> str | None:
    """A Python literal for a number operand (a NumPy scalar of the result's dtype) that
    NumPy turns back into that very scalar beside an array of the dtype; None for NaN."""
    value = float(number)
    if value != value:
        return None
    return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"


def _written_operands(operands, names) -> list | None:
    """The operands of a lowered binary op as its lines write them: a tensor's name, a
    number's literal (None where one has none)."""
    texts = [name if number is None else _written_number(number)
             for number, name in zip(operands, names)]
    return None if None in texts else texts


def _written_sum(operands, alpha, sign, second_gradient) -> dict:
    """``Lowered``'s written forms of ``Add`` or ``Sub``: ``a {sign} b``, times ``alpha``
    where it is not 1 (then only for two tensors: a number times ``alpha`` is a NumPy
    scalar product, which a Python literal would compute in double)."""
    if type(alpha) not in _NUMBERS or (alpha != 1 and operands != (None, None)):
        return {}
    scaled = "" if alpha == 1 else f" * {alpha!r}"

    def written_forward(out, a, b, _):
        texts = _written_operands(operands, (a, b))
        return texts and [f"{out} = {texts[0]} {sign} {texts[1]}{scaled}"]

    def written_backward(results, grad):
        first, second = results[:2]
        return ([f"{first} = {grad}"] if first else []) + (
            [f"{second} = {second_gradient.format(grad=grad)}"] if second else [])

    return {"written_forward": written_forward, "written_backward": written_backward}


def _written_product(operands, sign, gradients) -> dict:
    """``Lowered``'s written forms of ``Mul`` or ``Div`` (``gradients``: each operand's,
    over ``{grad}``, ``{a}`` and ``{b}``)."""

    def written_forward(out, a, b):
        texts = _written_operands(operands, (a, b))
        return texts and [f"{out} = {texts[0]} {sign} {texts[1]}"]

    def written_backward(results, grad, a, b):
        texts = _written_operands(operands, (a, b))
        if texts is None:
            return None
        return [f"{name} = {gradient.format(grad=grad, a=texts[0], b=texts[1])}"
                for name, gradient in zip(results, gradients) if name]

    return {"written_forward": written_forward, "written_backward": written_backward}


def _multiply(a, b):
    return a * b


def _divide(a, b):
    return a / b


def _lowered_operands(out, a, b, float_math=False):
    """The operands of a lowered binary op (``Op.lower``): for a tensor argument None (its
    array comes on each replay), for a Python number the scalar ``_promoted`` makes of it.
    None where ``_promoted`` would promote tensors: that stays in ``forward``. Tensors of
    the result's dtype may broadcast (``_broadcast`` names them for ``Lowered``)."""
    tensors = [value for value in (a, b) if type(value) not in _NUMBERS]
    if not tensors or not lowerable(out, *tensors):
        return None  # a bool or a NumPy scalar promotes in ways left to ``forward``
    if any(value.dtype != out.dtype for value in tensors):
        return None
    return tuple(None if type(value) not in _NUMBERS
                 else _number_as(value, out.dtype, float_math) for value in (a, b))


def _broadcast(out, *args) -> tuple:
    """The positions of the tensor arguments that broadcast to the result's shape."""
    return tuple(position for position, value in enumerate(args)
                 if type(value) not in _NUMBERS and tuple(value.shape) != tuple(out.shape))


def _bound(compute, operands):
    """``compute(a, b, *rest)`` with the numbers among ``operands`` put in."""
    number_a, number_b = operands
    if number_a is None and number_b is None:
        return compute
    if number_b is not None:
        return lambda a, b, *rest: compute(a, number_b, *rest)
    return lambda a, b, *rest: compute(number_a, b, *rest)


def _bound_chain(chain, operands, needs):
    """``chain(grad, a, b, needs)`` of the saved operands, the numbers among ``operands``
    put in."""
    number_a, number_b = operands
    return lambda grad, a, b: chain(grad, a if number_a is None else number_a,
                                    b if number_b is None else number_b, needs)


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
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, base, exponent):
        scalar_exponent = type(exponent) not in array_types
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
        value = x.dtype.type(value)  # PyTorch casts value to the result type
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
        arrays = [v for v in (start, end, weight) if type(v) in array_types]
        broadcast_shape("lerp", *(v.shape for v in arrays))
        if start.dtype.kind != "f":
            raise _unsupported("lerp_kernel_scalar", start)
        for name, other in (("end", end), ("weight", weight)):
            if (
                type(other) in array_types
                and other.dtype != start.dtype
                and (name == "end" or other.ndim)
            ):
                raise RuntimeError(
                    f"expected dtype {_legacy(dtype_of(start)).lower()} for `{name}` but got "
                    f"dtype {_legacy(dtype_of(other)).lower()}"
                )
        scalar_weight = type(weight) not in array_types
        if scalar_weight:
            weight = xp.full((), weight, start.dtype, like=start)
        else:
            weight = weight.astype(start.dtype, copy=False)
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
        arrays = [v for v in (a, b) if type(v) in array_types]
        broadcast_shape("where", condition.shape, *(v.shape for v in arrays))
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


subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
