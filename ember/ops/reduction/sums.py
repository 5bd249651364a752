"""Sums, means and products over dims, and the logical ``all`` and ``any``. The gradient of
a sum spreads the incoming gradient back over the reduced dims (divided by the count for a
mean); that of a product is ``prod / x``, or where ``x`` holds zeros the exact product of
the other elements."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

from ember._autocast import FLOAT32, autocasts
from ember._backend import asarray, xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import Lowered, NonDifferentiable, Op, lowerable
from ember.ops.elementwise import where
from ember.ops.reduction._common import (
    _cast,
    _count,
    _expand_back,
    _expanded,
    _legacy_name,
    _numpy_dtype,
    _one_dim,
    _reduction_args,
    _to_last,
)
from ember.ops.shape import _numpy_names


class Sum(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return Sum.compute(x, dims, keepdim, dtype)

    @staticmethod
    def compute(x, dims, keepdim, dtype):
        return x.sum(axis=dims, keepdims=keepdim, dtype=dtype)  # the method skips a wrapper

    @staticmethod
    def gradients(xp, ctx, grad):
        return _expanded(xp, grad, ctx), None, None, None

    @classmethod
    def lower(cls, needs, out, x, dims, keepdim, dtype):
        if not lowerable(x) or out.dtype != x.dtype or (dtype is not None and dtype != x.dtype):
            return None
        shape = SimpleNamespace(shape=x.shape, dims=dims, keepdim=keepdim)  # what ctx holds
        return Lowered(cls.compute, (),
                       lambda grad: (_expanded(ArrayMath, grad, shape), None, None, None),
                       written_forward=_written_sum)


def _written_sum(out, x, dims, keepdim, dtype):
    """``Sum.compute`` in a program's lines (``dtype`` None: the lowered sum keeps its own)."""
    if dtype != "None":
        return None
    return [f"{out} = {x}.sum(axis={dims}, keepdims={keepdim})"]


class Nansum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.is_nan = xp.isnan(x) if x.dtype.kind == "f" else None
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return xp.nansum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        grad = _expand_back(grad, ctx)
        if ctx.is_nan is not None and ctx.is_nan.any():
            grad = where(Tensor._make(ctx.is_nan), 0.0, grad)
        return grad, None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if dtype is None and x.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_legacy_name(x.dtype)}"
            )
        if dtype is not None and xp.dtype(dtype).kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a floating "
                f"point or complex dtype. Got: {_legacy_name(xp.dtype(dtype))}"
            )
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = _count(x.shape, dims)
        total = xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)
        return xp.true_divide(total, ctx.count, dtype=total.dtype)  # NaN when empty, silently

    @staticmethod
    def gradients(xp, ctx, grad):
        return _expanded(xp, grad / ctx.count, ctx), None, None, None


@_numpy_names
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum_i input_i`` over ``dim`` (an int, a tuple, or all dims).

    Bool and integer inputs sum to int64 unless ``dtype`` is given.
    """
    dims = _reduction_args(input, dim, "sum")
    return Sum.apply(input, dims, keepdim, _numpy_dtype(dtype))


@_numpy_names
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum over ``dim`` with NaN counted as zero; NaN entries get a zero gradient."""
    dims = _reduction_args(input, dim, "nansum")
    return Nansum.apply(input, dims, keepdim, _numpy_dtype(dtype))


@_numpy_names
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum(input) / count`` over ``dim``; integer inputs need an explicit floating ``dtype``."""
    dims = _reduction_args(input, dim, "mean")
    return Mean.apply(input, dims, keepdim, _numpy_dtype(dtype))


@_numpy_names
def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements over ``dim`` (NaN where all of a slice is NaN)."""
    if dtype is None and not input.dtype.is_floating_point:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_legacy_name(input._data.dtype)}"
        )
    dims = _reduction_args(input, dim, "nanmean")
    input = _cast(input, dtype)
    # an op while a compiled call records: the count follows each replay's NaNs
    count = NonDifferentiable.found(_numbers_counted, input, dims=dims, keepdim=keepdim)
    return nansum(input, dims, keepdim) / count


def _numbers_counted(data, dims, keepdim):
    """How many elements of ``data`` over ``dims`` are not NaN, in ``data``'s dtype."""
    return asarray(xp.sum(~xp.isnan(data), axis=dims, keepdims=keepdim), dtype=data.dtype)


# ---------------------------------------------------------------- products


class Prod(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        y = asarray(xp.prod(x, axis=dims, keepdims=keepdim, dtype=dtype))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad = _expand_back(grad, ctx)
        if not (x._data == 0).any():  # read on the host, as PyTorch's prod_backward does
            return grad * _expand_back(y, ctx) / x, None, None, None
        if len(ctx.dims) == 1:
            return grad * _product_of_others(x, ctx.dims[0]), None, None, None
        others = _product_of_others(x.reshape(-1), 0).reshape(ctx.shape)
        return grad * others, None, None, None


def _product_of_others(x: Tensor, dim: int) -> Tensor:
    """``prod_{j != i} x_j`` along ``dim``, exact with zeros (used only when ``x`` has some).

    Row ``i`` of an ``n x n`` matrix holds ``x`` with 1 in place of ``x_i``; its product is
    the gradient of ``prod(x)`` at ``i``. It costs ``n**2`` memory, so ``Prod`` takes the
    ``prod / x`` route whenever no element is zero.
    """
    moved, restore = _to_last(x, dim)
    n = moved.shape[-1]
    rows = moved.reshape(*moved.shape[:-1], 1, n).expand(*moved.shape[:-1], n, n)
    others = prod(where(Tensor._make(xp.eye(n, dtype=bool, like=x._data)), 1.0, rows), -1)
    return restore(others)


@_numpy_names
@autocasts(FLOAT32)
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``prod_i input_i`` over one ``dim`` (an int) or the whole tensor.

    The gradient is ``prod / input`` when no element is zero, and the exact product of
    the other elements otherwise (one zero, or several, in a slice).
    """
    if dim is None:
        dims = tuple(range(input.ndim))
    else:
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
        one = _one_dim(input, dim, "prod")
        dims = () if one is None else (one,)
    return Prod.apply(input, dims, keepdim, _numpy_dtype(dtype))


# ---------------------------------------------------------------- logical


def _logical(name, numpy_reduce, input, dim, keepdim):
    dims = _reduction_args(input, dim, name)
    return NonDifferentiable.apply(partial(_logical_array, numpy_reduce, dims, keepdim), input)


def _logical_array(numpy_reduce, dims, keepdim, x):
    result = numpy_reduce(x != 0, axis=dims, keepdims=keepdim)
    return asarray(result, dtype=xp.uint8 if x.dtype == xp.uint8 else xp.bool_)


@_numpy_names
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` is nonzero (uint8 in, uint8 out; else bool)."""
    return _logical("all", xp.all, input, dim, keepdim)


@_numpy_names
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element over ``dim`` is nonzero (uint8 in, uint8 out; else bool)."""
    return _logical("any", xp.any, input, dim, keepdim)
