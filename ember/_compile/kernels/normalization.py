"""Layer norm over rows: the forward and the array backward of ``_Normalize`` in one loop
each, with NumPy's sums."""

from __future__ import annotations

import math

from ember._backend import xp
from ember._compile.kernels._common import FLOAT32, Fused, contiguous_float32, pairwise_sum
from ember.nn._functional.normalization import NativeLayerNorm


def _layer_norm_binds(step, role):
    if step.kind == "op" and step.op is NativeLayerNorm and _last_dim(*step.args):
        return {"forward": _layer_norm_forward, "backward": _layer_norm_backward}.get(role)
    return None


def _last_dim(x, weight, bias, dims, view, eps, running) -> bool:
    """Whether ``layer_norm`` of ``x`` (a slot) normalizes float32 rows over the last dim,
    with a weight and a bias: the case the fused kernels take."""
    return (x.dtype == FLOAT32 and len(x.shape) >= 2 and dims == (len(x.shape) - 1,)
            and running is None and view == x.shape[-1:]
            and all(getattr(p, "dtype", None) == FLOAT32 and tuple(p.shape) == view
                    for p in (weight, bias)))


def _layer_norm_forward(kernels):
    """``_Normalize.forward`` of rows through the fused kernel: the same result, and the
    same saved values, which the op's own backward can take."""

    def forward(ctx, x, weight, bias, dims, view, eps, running):
        if not contiguous_float32(x, weight, bias):
            return NativeLayerNorm.forward(ctx, x, weight, bias, dims, view, eps, running)
        width = x.shape[-1]
        rows = x.size // width if width else 0
        y, normalized = xp.empty_like(x), xp.empty_like(x)
        statistics = x.shape[:-1] + (1,)
        mean, rstd = xp.empty(statistics, xp.float32), xp.empty(statistics, xp.float32)
        kernels[0](x.reshape(rows, width), weight, bias, xp.float32(eps),
                   y.reshape(rows, width), normalized.reshape(rows, width),
                   mean.reshape(-1), rstd.reshape(-1), xp.empty(width, xp.float32))
        ctx.dims, ctx.view, ctx.eps, ctx.bias_shape = dims, view, eps, bias.shape
        ctx.save_for_backward(x, weight, mean, rstd, normalized)
        return y

    return forward


def _layer_norm_backward(kernels):
    """``_Normalize.backward_arrays`` of rows through the fused kernel."""

    def backward(ctx, grad):
        x, weight, mean, rstd, normalized = ctx.saved_arrays
        if normalized is None or not contiguous_float32(grad, normalized, weight, rstd) or \
                grad.shape != normalized.shape:
            return NativeLayerNorm.backward_arrays(ctx, grad)
        width = x.shape[-1]
        rows = x.size // width if width else 0
        needs = ctx.needs_input_grad
        grad_x = xp.empty_like(x) if needs[0] else None
        grad_weight = xp.empty(width, xp.float32) if needs[1] else None
        grad_bias = xp.empty(width, xp.float32) if needs[2] else None
        none = xp.empty(0, xp.float32)
        kernels[1](grad.reshape(rows, width), normalized.reshape(rows, width), weight,
                   rstd.reshape(-1),
                   none.reshape(0, 0) if grad_x is None else grad_x.reshape(rows, width),
                   none if grad_weight is None else grad_weight,
                   none if grad_bias is None else grad_bias,
                   xp.empty(width, xp.float32), xp.empty(width, xp.float32))
        return grad_x, grad_weight, grad_bias, None, None, None, None

    return backward


def _layer_norm_kernels(numba):
    """``_Normalize``'s forward and array backward over rows, in one loop each.

    A row's sum is NumPy's pairwise summation of a contiguous float32 row (eight running
    sums in blocks of 128, halves above), so a mean is NumPy's to the bit; a column's sum
    over rows (the weight's and bias's gradients) is NumPy's running sum in row order.
    ``tests/test_compile_fusion.py`` holds both to NumPy's sums at many lengths.
    """
    single = numba.float32
    row_sum = pairwise_sum(numba)

    @numba.njit("void(float32[:, ::1], float32[::1], float32[::1], float32, float32[:, ::1], "
                "float32[:, ::1], float32[::1], float32[::1], float32[::1])", nogil=True,
                error_model="numpy")
    def forward(x, weight, bias, eps, y, normalized, mean, rstd, square):
        rows, width = x.shape
        count, one = single(width), single(1.0)
        for r in range(rows):
            average = row_sum(x[r]) / count
            for j in range(width):
                centered = x[r, j] - average
                normalized[r, j] = centered
                square[j] = centered * centered
            scale = one / single(math.sqrt(row_sum(square) / count + eps))
            mean[r], rstd[r] = average, scale
            for j in range(width):
                value = normalized[r, j] * scale
                normalized[r, j] = value
                y[r, j] = value * weight[j] + bias[j]

    return forward, _layer_norm_backward_kernel(numba, row_sum)


def _layer_norm_backward_kernel(numba, row_sum):
    """``_Normalize.backward_arrays`` over rows (see ``_layer_norm_kernels``)."""
    single = numba.float32

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[::1], float32[::1], "
                "float32[:, ::1], float32[::1], float32[::1], float32[::1], float32[::1])",
                nogil=True, error_model="numpy")
    def backward(grad, normalized, weight, rstd, grad_x, grad_weight, grad_bias, g, product):
        rows, width = grad.shape
        count = single(width)
        if grad_weight.shape[0]:  # the column sums of grad * normalized, in row order
            for j in range(width):
                grad_weight[j] = grad[0, j] * normalized[0, j] if rows else 0.0
            for r in range(1, rows):
                for j in range(width):
                    grad_weight[j] += grad[r, j] * normalized[r, j]
        if grad_bias.shape[0]:
            for j in range(width):
                grad_bias[j] = grad[0, j] if rows else 0.0
            for r in range(1, rows):
                for j in range(width):
                    grad_bias[j] += grad[r, j]
        if grad_x.shape[0]:
            # rstd (g - mean(g) - normalized mean(g normalized)), g = grad weight
            for r in range(rows):
                for j in range(width):
                    g[j] = grad[r, j] * weight[j]
                    product[j] = g[j] * normalized[r, j]
                mean_product = row_sum(product) / count
                mean_g = row_sum(g) / count
                for j in range(width):
                    grad_x[r, j] = ((g[j] - mean_g) - normalized[r, j] * mean_product) * rstd[r]

    return backward


LAYER_NORM = Fused("layer_norm", _layer_norm_kernels, _layer_norm_binds)
