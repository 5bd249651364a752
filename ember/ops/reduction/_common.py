"""Helpers shared by the reductions and by ``softmax.py``: the dims to reduce, a reduced
gradient's way back to the input's shape, ``dtype=`` arguments, and PyTorch's dtype names
in error messages."""

from __future__ import annotations

from ember._backend import asarray
from ember._dtype import to_dtype
from ember._tensor import Tensor
from ember.ops._function import wrap_dim, wrap_dims
from ember.ops.copy import to_dtype as convert


def _kept_shape(shape, dims) -> tuple:
    """``shape`` with size 1 on ``dims`` (distinct dims in ``[0, len(shape))``)."""
    if len(dims) == len(shape):  # a reduction over every dim: the usual loss
        return (1,) * len(shape)
    kept = list(shape)
    for dim in dims:
        kept[dim] = 1
    return tuple(kept)


def _expand_back(grad, ctx):
    """Broadcast a reduced gradient back over the reduced dims of the input."""
    return _unreduce(grad, ctx.shape, ctx.dims, ctx.keepdim).expand(ctx.shape)


def _kept(xp, grad, ctx):
    """A reduced gradient (array or tensor) at the input's rank, size 1 on the reduced dims."""
    return grad if ctx.keepdim else xp.reshape(grad, _kept_shape(ctx.shape, ctx.dims))


def _expanded(xp, grad, ctx):
    """``_expand_back`` on the namespace ``xp`` of a gradient formula. A 0-d gradient (a
    full reduction's) broadcasts as it is."""
    if not ctx.keepdim and grad.ndim:
        grad = xp.reshape(grad, _kept_shape(ctx.shape, ctx.dims))
    return xp.broadcast_to(grad, ctx.shape)


def _unreduce(tensor, shape, dims, keepdim):
    """A reduced tensor reshaped to the input's rank, with size 1 on the reduced dims."""
    return tensor if keepdim else tensor.reshape(_kept_shape(shape, dims))


def _reduction_args(input: Tensor, dim, op: str) -> tuple:
    """The dims to reduce: ``None``, ``()`` and ``[]`` mean all of them."""
    if isinstance(dim, list):
        dim = tuple(dim)
    if dim is None or dim == ():
        return tuple(range(input.ndim))
    dims = wrap_dims(dim, input.ndim, op)
    return dims if input.ndim else ()


def _one_dim(input: Tensor, dim, op: str) -> int | None:
    """A single dim wrapped to ``[0, ndim)``; ``None`` for a 0-d input (nothing to reduce)."""
    wrapped = wrap_dim(dim, input.ndim, op)
    return wrapped if input.ndim else None


def _constant(array, like) -> Tensor:
    return Tensor._make(asarray(array, dtype=like.dtype))


def _numpy_dtype(dtype):
    return None if dtype is None else to_dtype(dtype).numpy


def _cast(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` first (PyTorch's ``dtype=`` argument), if given."""
    if dtype is None or to_dtype(dtype) == input.dtype:
        return input
    return convert(input, to_dtype(dtype))


def _legacy_name(numpy_dtype) -> str:
    names = {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "bfloat16": "BFloat16",
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
    }
    return names.get(str(numpy_dtype), str(numpy_dtype))


def _count(shape, dims) -> int:
    count = 1
    for d in dims:
        count *= shape[d]
    return count


def _to_last(x: Tensor, dim: int):
    """``x`` with ``dim`` moved last, and the function that moves it back."""
    if dim == x.ndim - 1:
        return x, lambda t: t
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    inverse = [order.index(d) for d in range(x.ndim)]
    return x.permute(*order), lambda t: t.permute(*inverse)
