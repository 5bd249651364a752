"""Reductions over one, several or all dims, with ``keepdim``."""

from __future__ import annotations

from ember._backend import xp
from ember._dtype import int64, to_dtype
from ember._tensor import Tensor
from ember.ops._function import Op, wrap_dims

__all__ = ["sum", "mean"]


def _kept_shape(shape, dims) -> tuple:
    return tuple(1 if i in dims else size for i, size in enumerate(shape))


def _expand_back(grad, ctx):
    """Broadcast a reduced gradient back over the reduced dims of the input."""
    if not ctx.keepdim:
        grad = grad.reshape(_kept_shape(ctx.shape, ctx.dims))
    return grad.expand(ctx.shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad, ctx), None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if dtype is None and x.dtype.kind not in "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_name(x.dtype)}"
            )
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = 1
        for d in dims:
            ctx.count *= x.shape[d]
        return xp.mean(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        return _expand_back(grad / ctx.count, ctx), None, None, None


def _name(numpy_dtype) -> str:
    return {"i": "Long", "u": "Byte", "b": "Bool"}.get(numpy_dtype.kind, str(numpy_dtype)).capitalize()


def _reduction_args(input: Tensor, dim, op):
    if isinstance(dim, list):
        dim = tuple(dim)
    return wrap_dims(dim, input.ndim, op) if dim is not None and dim != () else tuple(range(input.ndim))


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum over ``dim`` (an int, a tuple, or all dims); bool and int sum to int64."""
    dims = _reduction_args(input, dim, "sum")
    return Sum.apply(input, dims, keepdim, None if dtype is None else to_dtype(dtype).numpy)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over ``dim``; integer inputs need an explicit floating ``dtype``."""
    dims = _reduction_args(input, dim, "mean")
    return Mean.apply(input, dims, keepdim, None if dtype is None else to_dtype(dtype).numpy)
