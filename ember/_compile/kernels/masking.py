"""``masked_fill`` of float32 rows by a mask shared across leading dims (attention's causal
mask), forward and backward, in one loop each."""

from __future__ import annotations

import math

from ember._backend import ndarray, xp
from ember._compile.kernels._common import FLOAT32, Fused, contiguous_float32
from ember.ops._array_math import ArrayMath
from ember.ops.indexing import MaskedFill


def _masked_fill_binds(step, role):
    if step.kind == "op" and step.op is MaskedFill:
        x, value, mask = step.args
        if x.dtype == FLOAT32 and type(value) in (int, float) and _shared(x.shape, mask):
            return {"forward": _masked_fill_forward,
                    "backward": _masked_fill_backward}.get(role)
    return None


def _shared(shape, mask) -> bool:
    """Whether ``mask`` (a slot) is a bool mask of ones, then the trailing dims of ``shape``:
    one mask for every leading index."""
    dims, shape = tuple(mask.shape), tuple(shape)
    if mask.dtype != xp.bool_ or len(dims) > len(shape):
        return False
    while dims and dims[0] == 1 and dims != shape[len(shape) - len(dims):]:
        dims = dims[1:]
    return dims == shape[len(shape) - len(dims):]


def _rows(x, mask):
    """``x`` as rows the length of ``mask``'s elements, and ``mask`` as one such row, where
    the kernels take them (contiguous, the mask shared by every row); else None."""
    if not contiguous_float32(x) or not x.flags.writeable or type(mask) is not ndarray or \
            mask.dtype != xp.bool_:
        return None
    inner = mask
    while inner.ndim and inner.shape[0] == 1:
        inner = inner[0]
    if not inner.flags.c_contiguous or inner.shape != x.shape[x.ndim - inner.ndim:]:
        return None
    if not inner.flags.writeable:  # a broadcast view (the node's): the loop takes a copy
        inner = inner.copy()
    width = math.prod(inner.shape)
    return x.reshape(x.size // width if width else 0, width), inner.reshape(width)


def _masked_fill_forward(kernels):
    """``MaskedFill.forward`` through the fused kernel: the same result and the same mask
    (broadcast to the result's shape) on the node."""

    def forward(ctx, x, value, mask):
        found = _rows(x, mask)
        if found is None or mask.ndim > x.ndim:
            return MaskedFill.forward(ctx, x, value, mask)
        out = xp.empty_like(x)
        kernels[0](*found, xp.float32(value), out.reshape(found[0].shape))
        ctx.mask = mask if mask.shape == x.shape else xp.broadcast_to(mask, x.shape)
        return out

    return forward


def _masked_fill_backward(kernels):
    """``MaskedFill.gradients`` on arrays through the fused kernel: the gradient with zeros
    where the mask is set (``value`` is a number here, with no gradient)."""

    def backward(ctx, grad):
        mask = ctx.mask
        shared = mask
        while shared.ndim and shared.strides[0] == 0:  # the mask before its broadcast
            shared = shared[0]
        found = _rows(grad, shared) if grad.shape == mask.shape else None
        if found is None:
            return MaskedFill.gradients(ArrayMath, ctx, grad)
        result = xp.empty_like(grad)
        kernels[0](*found, xp.float32(0), result.reshape(found[0].shape))
        return result, None, None

    return backward


def _masked_fill_kernels(numba):
    """``x`` with ``value`` wherever the shared row ``mask`` is set, into ``out``."""

    @numba.njit("void(float32[:, ::1], boolean[::1], float32, float32[:, ::1])", nogil=True)
    def fill(x, mask, value, out):
        for r in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[r, j] = value if mask[j] else x[r, j]

    return (fill,)


MASKED_FILL = Fused("masked_fill", _masked_fill_kernels, _masked_fill_binds)
