"""Comparisons and tests: results are bool tensors (or Python bools) and carry no gradient.

Binary comparisons promote both operands to PyTorch's result dtype first, so
``int_tensor < 2.5`` compares in floating point, and broadcast as arithmetic does.
"""

from __future__ import annotations

from ember import _tape
from ember._backend import asarray, is_floating, xp
from ember._dtype import get_default_dtype
from ember._tensor import Tensor
from ember.ops._function import (
    Lowered,
    NonDifferentiable,
    Op,
    as_tensor_operand,
    broadcast_shape,
    lowerable,
    promote,
    wrap_dims,
)

__all__ = [
    "allclose",
    "count_nonzero",
    "eq",
    "equal",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "isclose",
    "isfinite",
    "isin",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "isreal",
    "le",
    "less",
    "less_equal",
    "lt",
    "ne",
    "not_equal",
]


class _Compare(Op):
    """A comparison of two promoted operands; never differentiable."""

    compare = None
    name = ""

    @classmethod
    def forward(cls, ctx, a, b):
        broadcast_shape(cls.name, xp.shape(a), xp.shape(b))
        a, b = promote(a, b)
        return cls.compare(a, b)

    @classmethod
    def lower(cls, needs, out, a, b):
        """The comparison alone, for a float array against an array of its shape and dtype
        or against a Python number (NumPy casts the number to the array's dtype, as
        ``promote`` does)."""
        if not lowerable(a):
            return None
        number = type(b) is float or (type(b) is int and -(2**53) <= b <= 2**53)
        same = hasattr(b, "shape") and b.dtype == a.dtype and tuple(b.shape) == tuple(a.shape)
        if number or same:
            return Lowered(cls.compare, (), None)
        return None


class Eq(_Compare):
    compare, name = staticmethod(xp.equal), "eq"


class Ne(_Compare):
    compare, name = staticmethod(xp.not_equal), "ne"


class Lt(_Compare):
    compare, name = staticmethod(xp.less), "lt"


class Le(_Compare):
    compare, name = staticmethod(xp.less_equal), "le"


class Gt(_Compare):
    compare, name = staticmethod(xp.greater), "gt"


class Ge(_Compare):
    compare, name = staticmethod(xp.greater_equal), "ge"


def _compare(cls, input, other) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"{cls.name}() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}), but expected (Tensor input, "
            "Tensor other) or (Tensor input, Number other)"
        )
    return cls.apply(input, as_tensor_operand(other, cls.name))


def eq(input: Tensor, other, *, out=None) -> Tensor:
    """``input == other`` elementwise, broadcasting; NaN equals nothing."""
    return _compare(Eq, input, other)


def ne(input: Tensor, other, *, out=None) -> Tensor:
    """``input != other`` elementwise, broadcasting; NaN differs from everything."""
    return _compare(Ne, input, other)


def lt(input: Tensor, other, *, out=None) -> Tensor:
    """``input < other`` elementwise, broadcasting."""
    return _compare(Lt, input, other)


def le(input: Tensor, other, *, out=None) -> Tensor:
    """``input <= other`` elementwise, broadcasting."""
    return _compare(Le, input, other)


def gt(input: Tensor, other, *, out=None) -> Tensor:
    """``input > other`` elementwise, broadcasting."""
    return _compare(Gt, input, other)


def ge(input: Tensor, other, *, out=None) -> Tensor:
    """``input >= other`` elementwise, broadcasting."""
    return _compare(Ge, input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise, or exactly equal.

    Infinities are close only to themselves; NaN is close to NaN only with ``equal_nan``.
    Both tensors must have the same dtype; integers compare in the default float dtype.
    """
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"isclose(): expected both inputs to have the same dtype, but got {input.dtype} "
            f"and {other.dtype}"
        )
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    broadcast_shape("isclose", input.shape, other.shape)
    return NonDifferentiable.found(_close, input, other, rtol=rtol, atol=atol,
                                   equal_nan=equal_nan, dtype=get_default_dtype().numpy)


def _close(a, b, rtol, atol, equal_nan, dtype):
    """``isclose`` of two arrays; integers compare in ``dtype``, the default float dtype."""
    close = a == b
    if equal_nan and is_floating(a.dtype):
        close |= xp.isnan(a) & xp.isnan(b)
    if not is_floating(a.dtype):
        a = a.astype(dtype)
        b = b.astype(a.dtype)
    with xp.errstate(all="ignore"):
        error = xp.abs(a - b)
        # The bound is rounded in the inputs' dtype, as PyTorch computes it.
        allowed = a.dtype.type(atol) + xp.abs(a.dtype.type(rtol) * b)
        close = close | (xp.isfinite(error) & (error <= allowed))
    return asarray(close)


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """True when every element of ``isclose(input, other, ...)`` is."""
    _tape.graph_break("allclose() reads values into Python")
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and equal elements (NaN never equal)."""
    _tape.graph_break("equal() reads values into Python")
    if tuple(input.shape) != tuple(other.shape):
        return False
    a, b = promote(input._data, other._data)
    return bool(xp.array_equal(a, b))


def _test(function, input: Tensor, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    # an op while a compiled call records (``NonDifferentiable.found``), which a replay
    # runs on each call's values
    return NonDifferentiable.found(_tested, input, test=function)


def _tested(array, test):
    """``test`` (``xp.isfinite``, ``xp.isnan`` ...) of ``array`` as an array; an integer
    array is finite and nothing else everywhere."""
    if not is_floating(array.dtype):
        return xp.full(array.shape, test is xp.isfinite, like=array)
    return asarray(test(array))


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither NaN nor infinite (always, for integers)."""
    return _test(xp.isfinite, input, "isfinite")


def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN."""
    return _test(xp.isnan, input, "isnan")


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is plus or minus infinity."""
    return _test(xp.isinf, input, "isinf")


def isposinf(input: Tensor, *, out=None) -> Tensor:
    """True where ``input`` is plus infinity."""
    return _test(xp.isposinf, input, "isposinf")


def isneginf(input: Tensor, *, out=None) -> Tensor:
    """True where ``input`` is minus infinity."""
    return _test(xp.isneginf, input, "isneginf")


def isreal(input: Tensor) -> Tensor:
    """True where ``input`` has no imaginary part: everywhere, for ember's real dtypes."""
    return Tensor._make(xp.ones(input.shape, dtype=bool, like=input._data))


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """True where an element of ``elements`` occurs in ``test_elements`` (NaN never does).

    Either argument (not both) may be a Python number; the result has ``elements``' shape.
    """
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(
            "isin(): expected at least one of elements and test_elements to be a Tensor"
        )
    a, b = promote(_raw(elements), _raw(test_elements))
    return Tensor._make(asarray(xp.isin(a, b, invert=invert)))


def _raw(value):
    return value._data if isinstance(value, Tensor) else value


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements over ``dim`` (an int, a tuple, or all dims), int64."""
    dims = wrap_dims(tuple(dim) if isinstance(dim, list) else dim, input.ndim, "count_nonzero")
    return NonDifferentiable.found(_count_nonzero, input, dims=dims)


def _count_nonzero(data, dims):
    if data.ndim == 0:
        return asarray(data != 0, xp.int64)
    return asarray(xp.count_nonzero(data, axis=dims), xp.int64)
