"""Copies and dtype conversions."""

from __future__ import annotations

from ember._backend import cast, device_index, to_device as _to_device
from ember._memory_format import contiguous_format, in_format, is_in_format, preserve_format
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape, inplace, snapshot
from ember.ops.creation import tensor

__all__ = ["to_dtype", "to_device", "clone", "contiguous", "copy_"]


class ToCopy(Op):
    @staticmethod
    def forward(ctx, x, numpy_dtype):
        return cast(x, numpy_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine casts the gradient back to the input's dtype


class ToDevice(Op):
    """A copy to another device; the gradient is copied back to the input's device."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, index, non_blocking):
        ctx.source = device_index(x)
        return _to_device(x, index, non_blocking)

    @classmethod
    def backward(cls, ctx, grad):
        return cls.apply(grad, ctx.source, False), None, None


class Clone(Op):
    @staticmethod
    def forward(ctx, x, memory_format):
        if memory_format is preserve_format:
            return x.copy(order="K")  # a dense layout is kept, as PyTorch keeps its strides
        return in_format(x, memory_format)

    @staticmethod
    def gradients(xp, ctx, grad):
        return grad, None


def to_dtype(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` (a copy, recorded as ``ToCopyBackward0``)."""
    return ToCopy.apply(input, dtype.numpy)


def to_device(input: Tensor, index: int | None, non_blocking: bool = False) -> Tensor:
    """``input`` on the host (``index`` None) or on GPU ``index``: itself when it is there
    already, else a copy recorded as ``ToCopyBackward0``."""
    if device_index(input._data) == index:
        return input
    return ToDevice.apply(input, index, non_blocking)


def clone(input: Tensor, *, memory_format=preserve_format) -> Tensor:
    """A copy of ``input`` with its own storage; gradients flow back unchanged.

    The copy keeps ``input``'s strides (``preserve_format``) unless ``memory_format``
    names another layout (``ember.contiguous_format``, ``ember.channels_last``).
    """
    return Clone.apply(input, memory_format)


def contiguous(input: Tensor, memory_format=contiguous_format) -> Tensor:
    """``input`` itself when its elements already lie in ``memory_format``'s order, else a copy."""
    if is_in_format(input._data, memory_format):
        return input
    return Clone.apply(input, memory_format)


def copy_(input: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to ``input``'s shape, on any device) into ``input``, in place."""
    if not isinstance(src, Tensor):
        src = tensor(src)
    broadcast_shape("copy_", src.shape, input.shape)
    before = snapshot(input)
    source = to_device(src, device_index(input._data), non_blocking)  # from any device
    source = source if source.dtype is input.dtype else to_dtype(source, input.dtype)
    del before  # the old value is overwritten: nothing flows back to it
    return inplace(input, source.expand_as(input), "copy_")
