"""Joins: ``Cat`` along an existing dim and ``Stack`` along a new one, whose gradients are
the slices of the incoming gradient that each input filled, and the joins composed from them
(``hstack``, ``vstack``, ``dstack``, ``column_stack``, with ``atleast_1d/2d/3d``)."""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, promote, wrap_dim
from ember.ops.creation import zeros
from ember.ops.shape._common import _numpy_names
from ember.ops.shape.slices import Select, Slice
from ember.ops.shape.views import reshape, unsqueeze


class Cat(Op):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = promote(*arrays)
        # A 1-D tensor of size 0 joins anything, for compatibility with old PyTorch.
        skipped = [a.shape == (0,) for a in arrays]
        if all(skipped):
            skipped = [False] * len(arrays)
        ctx.dim = dim
        ctx.lengths = [None if skip else a.shape[dim] for a, skip in zip(arrays, skipped)]
        return xp.concatenate([a for a, skip in zip(arrays, skipped) if not skip], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [None], 0
        for length in ctx.lengths:
            if length is None:
                grads.append(zeros(0, dtype=grad.dtype))
                continue
            grads.append(Slice.apply(grad, ctx.dim, start, start + length))
            start += length
        return tuple(grads)


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(
            f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"
        )
    tensors = list(tensors)
    for position, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"expected Tensor as element {position} in argument 0, but got "
                f"{type(item).__name__}"
            )
    return tensors


@_numpy_names
def cat(tensors, dim: int = 0) -> Tensor:
    """``tensors`` joined along ``dim``; the result has their promoted dtype.

    All but ``dim`` must have equal sizes. 1-D tensors of size 0 are skipped, as in PyTorch.

    Example::

        >>> ember.cat([ember.zeros(1, 2), ember.ones(2, 2)]).shape
        ember.Size([3, 2])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for position, item in enumerate(tensors):
        if item.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {position}) cannot be concatenated"
            )
    kept = [(i, x) for i, x in enumerate(tensors) if x.shape != (0,)] or [(0, tensors[0])]
    reference = kept[0][1].shape
    dim = wrap_dim(dim, len(reference), "cat")
    for position, item in kept:
        if item.ndim != len(reference):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(reference)} and {item.ndim}"
            )
        for d, (want, got) in enumerate(zip(reference, item.shape)):
            if d != dim and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{want} but got size {got} for tensor number {position} in the list."
                )
    return Cat.apply(dim, *tensors)


concat = concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim, ctx.count = dim, len(arrays)
        return xp.stack(promote(*arrays), axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(Select.apply(grad, ctx.dim, i) for i in range(ctx.count))


@_numpy_names
def stack(tensors, dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new dim ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for position, item in enumerate(tensors):
        if item.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(item.shape)} at entry {position}"
            )
    return Stack.apply(wrap_dim(dim, len(shape) + 1, "stack"), *tensors)


def _at_least(tensors, ndim: int):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    results = []
    for x in tensors:
        if x.ndim >= ndim:
            results.append(x)
        elif x.ndim == 0:
            results.append(reshape(x, (1,) * ndim))
        elif ndim == 2 or x.ndim == 2:
            results.append(unsqueeze(x, 0 if ndim == 2 else -1))
        else:
            results.append(reshape(x, (1, x.shape[0], 1)))
    return results[0] if single else tuple(results)


def atleast_1d(*tensors):
    """Each tensor with at least one dim (a 0-d one becomes shape ``[1]``)."""
    return _at_least(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least two dims (new dims lead)."""
    return _at_least(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least three dims: ``[n]`` becomes ``[1, n, 1]``, ``[m, n]``
    becomes ``[m, n, 1]``."""
    return _at_least(tensors, 3)


def hstack(tensors) -> Tensor:
    """Tensors joined column-wise: along dim 1, or dim 0 for 1-D ones."""
    tensors = atleast_1d(_tensor_list(tensors, "hstack"))
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Tensors joined row-wise (along dim 0, after ``atleast_2d``)."""
    return cat(atleast_2d(_tensor_list(tensors, "vstack")), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Tensors joined depth-wise (along dim 2, after ``atleast_3d``)."""
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


def column_stack(tensors) -> Tensor:
    """Tensors joined as columns: 0-d and 1-D ones become ``[n, 1]`` columns first."""
    tensors = _tensor_list(tensors, "column_stack")
    columns = [reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in tensors]
    return cat(columns, 1)
