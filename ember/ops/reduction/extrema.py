"""The largest and smallest elements: ``max``/``min`` (whole, or along a dim with indices),
``amax``/``amin`` over dims, ``aminmax``, and the indices ``argmax``/``argmin``. Where several
elements tie for the whole-tensor extreme they share its gradient evenly, as in PyTorch;
along a dim the gradient goes to the index returned."""

from __future__ import annotations

from ember import _tape, return_types
from ember._backend import asarray, xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.ops._function import NonDifferentiable, Op
from ember.ops.elementwise import maximum, minimum, where
from ember.ops.reduction._common import (
    _constant,
    _expand_back,
    _kept,
    _one_dim,
    _reduction_args,
)
from ember.ops.shape import _numpy_names


def _check_nonempty(x, dims, op: str, whole: bool) -> None:
    """PyTorch's errors for reductions without an identity (max, amax, argmax ...)."""
    if whole and x.size == 0:
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _tie_share(x, value, dims, nan_wins: bool):
    """Each element's share of the gradient of a max/min: 1/count on ties.

    ``max()`` and ``min()`` count NaN elements as the ties of a NaN result (``nan_wins``);
    ``amax``/``amin``/``aminmax`` do not, so a NaN result spreads NaN, as in PyTorch.
    """
    mask = x == value
    if nan_wins:
        mask |= xp.isnan(x) & xp.isnan(value)
    return mask / mask.sum(axis=dims, keepdims=True)


class _Extreme(Op):
    """The whole-tensor max/min; ties share the gradient evenly, as in PyTorch."""

    pick = None
    nan_wins = True

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y = cls.pick(x, axis=dims, keepdims=keepdim)
        ctx.share = _tie_share(x, cls.pick(x, axis=dims, keepdims=True), dims, cls.nan_wins)
        return y

    @staticmethod
    def gradients(xp, ctx, grad):
        # the share has the input's shape: the product broadcasts the gradient over it
        return _kept(xp, grad, ctx) * xp.asarray(ctx.share, dtype=grad.dtype), None, None


class Max(_Extreme):
    node_name = "MaxBackward1"
    pick = staticmethod(xp.max)


class Min(_Extreme):
    node_name = "MinBackward1"
    pick = staticmethod(xp.min)


class Amax(_Extreme):
    pick = staticmethod(xp.max)
    nan_wins = False


class Amin(_Extreme):
    pick = staticmethod(xp.min)
    nan_wins = False


class _ExtremeDim(Op):
    """Max/min along one dim with indices; the gradient goes to the selected index."""

    choose = None

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        if x.ndim == 0:
            ctx.shape, ctx.dims, ctx.keepdim, ctx.chosen = x.shape, (), keepdim, None
            return x.copy(), xp.zeros((), dtype=int64.numpy, like=x)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, (dim,), keepdim
        indices = cls.choose(x, axis=dim, keepdims=True)
        values = xp.take_along_axis(x, indices, axis=dim)
        line = [1] * x.ndim
        line[dim] = x.shape[dim]
        ctx.chosen = xp.arange(x.shape[dim], like=x).reshape(line) == indices
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return values, indices.astype(int64.numpy)

    @staticmethod
    def backward(ctx, grad, grad_indices):
        if ctx.chosen is None:
            return grad, None, None
        return where(Tensor._make(ctx.chosen), _expand_back(grad, ctx), 0.0), None, None


class MaxDim(_ExtremeDim):
    node_name = "MaxBackward0"
    choose = staticmethod(xp.argmax)


class MinDim(_ExtremeDim):
    node_name = "MinBackward0"
    choose = staticmethod(xp.argmin)


def _max_or_min(name, whole_op, dim_op, tuple_type, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        second = dim if isinstance(dim, Tensor) else other
        return {"max": maximum, "min": minimum}[name](input, second)
    if dim is None:
        if keepdim:
            raise TypeError(
                f"{name}() received an invalid combination of arguments: keepdim needs dim"
            )
        _check_nonempty(input._data, (), name, whole=True)
        return whole_op.apply(input, tuple(range(input.ndim)), False)
    one = _one_dim(input, dim, name)
    if one is None:
        values, indices = dim_op.apply(input, 0, True)
        return tuple_type(values, indices)
    _check_nonempty(input._data, (one,), name, whole=False)
    return tuple_type(*dim_op.apply(input, one, keepdim))


@_numpy_names
def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None, out=None):
    """The largest element; along ``dim``, ``(values, indices)``; with a tensor, ``maximum``.

    The gradient of the whole-tensor max is split evenly among tied elements; along a dim
    it goes to the returned index. NaN is the largest value.

    Example::

        values, indices = ember.max(x, dim=1)
    """
    return _max_or_min("max", Max, MaxDim, return_types.max, input, dim, keepdim, other)


@_numpy_names
def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None, out=None):
    """The smallest element; along ``dim``, ``(values, indices)``; with a tensor, ``minimum``."""
    return _max_or_min("min", Min, MinDim, return_types.min, input, dim, keepdim, other)


def _amax_or_amin(op, name, input, dim, keepdim):
    dims = _reduction_args(input, dim, name)
    _check_nonempty(input._data, dims, name, whole=input.ndim and len(dims) == input.ndim)
    return op.apply(input, dims, keepdim)


@_numpy_names
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The max over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(Amax, "amax", input, dim, keepdim)


@_numpy_names
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The min over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(Amin, "amin", input, dim, keepdim)


def _arg(name, numpy_arg, input, dim, keepdim):
    x = input._data
    if x.dtype == xp.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        return NonDifferentiable.found(_arg_indices, input, numpy_arg=numpy_arg, axis=None,
                                       keepdim=keepdim)
    one = _one_dim(input, dim, name)
    if one is None:
        return _tape.made(Tensor._make(xp.zeros((), dtype=xp.int64, like=x)))
    _check_nonempty(x, (one,), name, whole=False)
    return NonDifferentiable.found(_arg_indices, input, numpy_arg=numpy_arg, axis=one,
                                   keepdim=keepdim)


def _arg_indices(x, numpy_arg, axis, keepdim):
    """``numpy_arg`` (argmax, argmin) of ``x`` along ``axis`` (of all of it for None), as
    int64: an op of its own while a compiled call records (``NonDifferentiable.found``)."""
    if axis is None:
        index = asarray(numpy_arg(x.reshape(-1)), dtype=xp.int64)
        return index.reshape((1,) * x.ndim) if keepdim else index
    return numpy_arg(x, axis=axis, keepdims=keepdim).astype(xp.int64)


@_numpy_names
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the largest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmax", xp.argmax, input, dim, keepdim)


@_numpy_names
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the smallest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmin", xp.argmin, input, dim, keepdim)


class Aminmax(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        low = xp.min(x, axis=dims, keepdims=True)
        high = xp.max(x, axis=dims, keepdims=True)
        ctx.shares = (_tie_share(x, low, dims, False), _tie_share(x, high, dims, False))
        if not keepdim:
            shape = xp.min(x, axis=dims).shape
            low, high = low.reshape(shape), high.reshape(shape)
        return low, high

    @staticmethod
    def backward(ctx, grad_min, grad_max):
        low_share, high_share = (_constant(s, grad_min._data) for s in ctx.shares)
        grad = _expand_back(grad_min, ctx) * low_share + _expand_back(grad_max, ctx) * high_share
        return grad, None, None


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(amin(input, dim), amax(input, dim))`` in one pass, as ``(min, max)``."""
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity."
            )
        dims = tuple(range(input.ndim))
    else:
        one = _one_dim(input, dim, "aminmax")
        dims = () if one is None else (one,)
        if dims and input.shape[one] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {one} to have non-zero size.")
    return return_types.aminmax(*Aminmax.apply(input, dims, keepdim))
