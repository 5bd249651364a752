"""Max pooling over 2 × 2 tiles (``MaxPool2d(2)``), and any max pooling's gradient, in one
loop each."""

from __future__ import annotations

from ember._backend import ndarray, xp
from ember._compile.kernels._common import FLOAT32, Fused, contiguous_float32
from ember.nn._functional.pooling import MaxPool2D
from ember.ops._array_math import ArrayMath

_TILE = (2, 2)


def _max_pool_binds(step, role):
    if step.kind != "op" or step.op is not MaxPool2D:
        return None
    x, kernel, stride, padding, dilation, ceil_mode = step.args
    if x.dtype != FLOAT32 or len(x.shape) != 4:
        return None
    if role == "backward":
        return _max_pool_backward
    tiles = kernel == stride == _TILE and padding == (0, 0) and dilation == (1, 1)
    whole = all(n >= 2 and not (ceil_mode and n % 2) for n in x.shape[2:])
    return _max_pool_forward if tiles and whole else None


def _max_pool_forward(kernels):
    """``MaxPool2D.forward`` of 2 × 2 tiles through the fused kernel: the same maxima and
    the same indices on the node. A tile with a NaN goes as eagerly (NaN wins there)."""

    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        if contiguous_float32(x):
            batch, channels, height, width = x.shape
            shape = (batch, channels, height // 2, width // 2)
            values, indices = xp.empty(shape, xp.float32), xp.empty(shape, xp.int64)
            if kernels[0](x, values, indices):
                ctx.indices, ctx.shape = indices, x.shape
                return values
        return MaxPool2D.forward(ctx, x, kernel, stride, padding, dilation, ceil_mode)

    return forward


def _max_pool_backward(kernels):
    """``MaxPool2D``'s array backward, NumPy's ``add.at`` of the gradient at the indices,
    through the fused kernel."""

    def backward(ctx, grad):
        indices = ctx.indices
        if not contiguous_float32(grad) or type(indices) is not ndarray or \
                indices.dtype != xp.int64 or indices.shape != grad.shape or \
                not indices.flags.c_contiguous or grad.size == 0:
            return MaxPool2D.gradients(ArrayMath, ctx, grad)
        grad_x = xp.zeros(ctx.shape, xp.float32)
        planes = grad.shape[0] * grad.shape[1]
        kernels[1](grad.reshape(planes, -1), indices.reshape(planes, -1),
                   grad_x.reshape(planes, -1))
        return (grad_x,) + (None,) * 5

    return backward


def _max_pool_kernels(numba):
    """The maxima of 2 × 2 tiles with their flat indices in the plane, and the scatter-add
    of a gradient at such indices.

    A tile's maximum is its first element that no later one exceeds (``>``): ties, ±0 among
    them, keep the first, as ``_tile_maxima`` does. False when a tile holds a NaN. The
    scatter adds each gradient to zeros in order, so a position chosen twice (overlapping
    windows) sums as NumPy's ``add.at`` does, and a -0 lands as +0 as it does there.
    """

    @numba.njit("boolean(float32[:, :, :, ::1], float32[:, :, :, ::1], int64[:, :, :, ::1])",
                nogil=True)
    def tiles(x, values, indices):
        width = x.shape[3]
        nan = False
        for n in range(values.shape[0]):
            for c in range(values.shape[1]):
                for i in range(values.shape[2]):
                    upper, lower = x[n, c, 2 * i], x[n, c, 2 * i + 1]
                    for j in range(values.shape[3]):
                        a, b = upper[2 * j], upper[2 * j + 1]
                        d, e = lower[2 * j], lower[2 * j + 1]
                        best, offset = a, 0
                        if b > best:
                            best, offset = b, 1
                        if d > best:
                            best, offset = d, width
                        if e > best:
                            best, offset = e, width + 1
                        nan |= (a != a) | (b != b) | (d != d) | (e != e)
                        values[n, c, i, j] = best
                        indices[n, c, i, j] = 2 * i * width + 2 * j + offset
        return not nan

    @numba.njit("void(float32[:, ::1], int64[:, ::1], float32[:, ::1])", nogil=True)
    def scatter(grad, indices, out):
        for plane in range(grad.shape[0]):
            for k in range(grad.shape[1]):
                out[plane, indices[plane, k]] += grad[plane, k]

    return tiles, scatter


MAX_POOL = Fused("max_pool", _max_pool_kernels, _max_pool_binds)
