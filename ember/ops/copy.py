"""Copies and dtype conversions."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape, inplace, snapshot

__all__ = ["to_dtype", "clone", "contiguous", "copy_"]


class ToCopy(Op):
    @staticmethod
    def forward(ctx, x, numpy_dtype):
        return x.astype(numpy_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine casts the gradient back to the input's dtype


class Clone(Op):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


def to_dtype(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` (a copy, recorded as ``ToCopyBackward0``)."""
    return ToCopy.apply(input, dtype.numpy)


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` with its own storage; gradients flow back unchanged."""
    return Clone.apply(input)


def contiguous(input: Tensor, memory_format=None) -> Tensor:
    """``input`` itself when its storage is already in row-major order, else a copy."""
    return input if input._data.flags.c_contiguous else Clone.apply(input)


def copy_(input: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to ``input``'s shape) into ``input``, in place."""
    from ember.ops.shape import expand

    if not isinstance(src, Tensor):
        from ember.ops.creation import tensor

        src = tensor(src)
    broadcast_shape("copy_", src.shape, input.shape)
    before = snapshot(input)
    source = src if src.dtype is input.dtype else to_dtype(src, input.dtype)
    del before  # the old value is overwritten: nothing flows back to it
    return inplace(input, expand(source, input.shape), "copy_")
