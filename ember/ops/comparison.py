"""Comparisons and tests: results are bool tensors and carry no gradient."""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, as_tensor_operand, promote

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "isfinite", "isnan", "isinf"]


class _Compare(Op):
    """A comparison of two promoted operands; never differentiable."""

    compare = None

    @classmethod
    def forward(cls, ctx, a, b):
        a, b = promote(a, b)
        return cls.compare(a, b)


class Eq(_Compare):
    compare = staticmethod(xp.equal)


class Ne(_Compare):
    compare = staticmethod(xp.not_equal)


class Lt(_Compare):
    compare = staticmethod(xp.less)


class Le(_Compare):
    compare = staticmethod(xp.less_equal)


class Gt(_Compare):
    compare = staticmethod(xp.greater)


class Ge(_Compare):
    compare = staticmethod(xp.greater_equal)


def _compare(cls, input, other, name):
    return cls.apply(as_tensor_operand(input, name), as_tensor_operand(other, name))


def eq(input, other) -> Tensor:
    """``input == other`` elementwise."""
    return _compare(Eq, input, other, "eq")


def ne(input, other) -> Tensor:
    """``input != other`` elementwise."""
    return _compare(Ne, input, other, "ne")


def lt(input, other) -> Tensor:
    """``input < other`` elementwise."""
    return _compare(Lt, input, other, "lt")


def le(input, other) -> Tensor:
    """``input <= other`` elementwise."""
    return _compare(Le, input, other, "le")


def gt(input, other) -> Tensor:
    """``input > other`` elementwise."""
    return _compare(Gt, input, other, "gt")


def ge(input, other) -> Tensor:
    """``input >= other`` elementwise."""
    return _compare(Ge, input, other, "ge")


def isfinite(input: Tensor) -> Tensor:
    """True where ``input`` is neither NaN nor infinite."""
    return Tensor._make(xp.asarray(xp.isfinite(input._data)))


def isnan(input: Tensor) -> Tensor:
    """True where ``input`` is NaN."""
    return Tensor._make(xp.asarray(xp.isnan(input._data)))


def isinf(input: Tensor) -> Tensor:
    """True where ``input`` is plus or minus infinity."""
    return Tensor._make(xp.asarray(xp.isinf(input._data)))
