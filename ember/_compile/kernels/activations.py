"""The exact GELU of a float32 array in one loop; softmax and log-softmax over rows in loops
around NumPy's ``exp`` and ``log`` (numba's would round differently), and their backwards."""

from __future__ import annotations

import functools
import math

from ember._backend import xp
from ember._compile.kernels._common import (
    FLOAT32,
    Fused,
    contiguous_float32,
    pairwise_sum,
    row_maximum,
)
from ember._compile.kernels.masking import _rows as _masked_rows
from ember.nn._functional.activation import Gelu
from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q
from ember.ops.softmax import LogSoftmax, Softmax

_SCALE = xp.float32(math.sqrt(0.5))  # x / sqrt 2 is rounded to float32, as in eager
# ``Gelu.exact_grad``'s Python numbers as NumPy rounds them against float32 arrays
_SLOPE_FACTORS = (xp.float32(-0.5), xp.float32(math.sqrt(2 / math.pi)))


def _gelu_binds(step, role):
    if step.kind == "op" and step.op is Gelu:
        x, approximate = step.args
        if approximate == "none" and x.dtype == FLOAT32:
            return _gelu_forward if role == "forward" else _gelu_backward
    return None


def _gelu_forward(kernels):
    """The lowered GELU's forward (``Gelu.exact``) through the fused kernel."""

    def forward(x, approximate):
        if not contiguous_float32(x):
            return Gelu.exact(x)
        y, twice_cdf = xp.empty_like(x), xp.empty_like(x)
        kernels[0](x.reshape(-1), _SCALE, y.reshape(-1), twice_cdf.reshape(-1))
        return y, twice_cdf

    return forward


def _gelu_backward(kernels):
    """The lowered GELU's backward (``Gelu.exact_grad``): its first two and last five
    passes in a loop each, around NumPy's ``exp`` (numba's would round differently)."""

    def backward(grad, x, twice_cdf):
        if not contiguous_float32(grad, x, twice_cdf) or not grad.shape == x.shape == \
                twice_cdf.shape:
            return Gelu.exact_grad(grad, x, twice_cdf), None
        slope = xp.empty_like(x)
        flat = slope.reshape(-1)
        kernels[1](x.reshape(-1), flat)
        xp.exp(slope, out=slope)
        kernels[2](flat, x.reshape(-1), twice_cdf.reshape(-1), grad.reshape(-1))
        return slope, None

    return backward


def _gelu_kernels(numba):
    """``Gelu.exact``'s loop, and the two of ``Gelu.exact_grad``: ``-x² / 2``, then (after
    ``exp``) ``(e · x · sqrt(2 / pi) + twice_cdf) · grad · 1/2``, each product rounded to
    float32 in that order, as in eager."""
    exponent, rest = _SLOPE_FACTORS

    @numba.njit("void(float32[::1], float32[::1])", nogil=True)
    def before_exp(x, slope):
        for i in range(x.shape[0]):
            slope[i] = (x[i] * x[i]) * exponent

    @numba.njit("void(float32[::1], float32[::1], float32[::1], float32[::1])", nogil=True)
    def after_exp(slope, x, twice_cdf, grad):
        half = numba.float32(0.5)
        for i in range(x.shape[0]):
            slope[i] = (((slope[i] * x[i]) * rest + twice_cdf[i]) * grad[i]) * half

    return _gelu_kernel(numba), before_exp, after_exp


def _gelu_kernel(numba):
    """``Gelu.exact`` on float32 in one loop: ``_erf_single``'s rational in float64 (the
    same Horner steps), rounded and clipped to float32, then ``1 + erf`` and ``x / 2 * it``
    in float32."""
    single, double = numba.float32, numba.float64
    p0, p1, p2, p3, p4, p5, p6 = _ERF_SINGLE_P
    q0, q1, q2, q3, q4, q5 = _ERF_SINGLE_Q

    @numba.njit("void(float32[::1], float32, float32[::1], float32[::1])", nogil=True,
                error_model="numpy")
    def gelu(x, scale, y, twice_cdf):
        one, half = single(1.0), single(0.5)
        for i in range(x.shape[0]):
            value = x[i]
            a = double(value * scale)
            s = a * a
            if s > 16.0:  # NaN stays NaN, as under NumPy's minimum
                s = 16.0
            numerator = ((((((s * p6 + p5) * s + p4) * s + p3) * s + p2) * s + p1) * s + p0) * a
            denominator = ((((s * q5 + q4) * s + q3) * s + q2) * s + q1) * s + q0
            erf = single(numerator / denominator)
            if erf > one:
                erf = one
            if erf < -one:
                erf = -one
            cdf = erf + one
            twice_cdf[i] = cdf
            y[i] = (value * half) * cdf

    return gelu


GELU = Fused("gelu", _gelu_kernels, _gelu_binds)


# ---------------------------------------------------------------- softmax


def _softmax_binds(step, role):
    if step.kind == "op" and step.op in _SOFTMAXES and _last_rows(*step.args):
        return _SOFTMAXES[step.op][role == "backward"]
    if step.kind == "softmax chain":  # ``ember/_compile/chains.py``: scale, mask, softmax
        return functools.partial(_chain_backward if role == "backward" else _chain_forward, step)
    return None


def _last_rows(x, dim) -> bool:
    """Whether (log-)softmax of ``x`` (a slot) runs over the last dim of float32 rows."""
    return x.dtype == FLOAT32 and len(x.shape) >= 1 and dim in (-1, len(x.shape) - 1)


def _softmax_forward(kernels):
    """``Softmax.forward`` over rows: the shift by each row's maximum in one loop, NumPy's
    ``exp`` (numba's would round differently), then the division by each row's sum in one
    loop."""

    def forward(ctx, x, dim):
        if not contiguous_float32(x) or x.size == 0:
            return Softmax.forward(ctx, x, dim)
        width = x.shape[-1]
        y = xp.empty_like(x)
        rows = y.reshape(x.size // width, width)
        kernels[0](x.reshape(rows.shape), rows)
        xp.exp(y, out=y)
        kernels[1](rows)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    return forward


def _softmax_backward(kernels):
    """``Softmax.backward_arrays`` over rows in one loop."""

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        if not contiguous_float32(grad, y) or grad.shape != y.shape or y.size == 0:
            return Softmax.backward_arrays(ctx, grad)
        width = y.shape[-1]
        result = xp.empty_like(y)
        shape = (y.size // width, width)
        kernels[2](grad.reshape(shape), y.reshape(shape), result.reshape(shape),
                   xp.empty(width, xp.float32))
        return result, None

    return backward


def _softmax_kernels(numba):
    """``Softmax``'s shift, its normalization and its array backward over rows, then
    ``LogSoftmax``'s loops (which share the shift). The row's maximum is exact in any order
    (a NaN anywhere makes it NaN, as NumPy's); its sums are NumPy's pairwise ones
    (``pairwise_sum``)."""
    row_sum, row_max = pairwise_sum(numba), row_maximum(numba)

    @numba.njit("void(float32[:, ::1], float32[:, ::1])", nogil=True)
    def shift(x, y):
        for r in range(x.shape[0]):
            row, out = x[r], y[r]
            top = row_max(row)
            for j in range(x.shape[1]):
                out[j] = row[j] - top

    @numba.njit("void(float32[:, ::1])", nogil=True, error_model="numpy")
    def normalize(y):
        for r in range(y.shape[0]):
            total = row_sum(y[r])
            for j in range(y.shape[1]):
                y[r, j] = y[r, j] / total

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[:, ::1], float32[::1])",
                nogil=True)
    def backward(grad, y, result, product):
        for r in range(y.shape[0]):
            for j in range(y.shape[1]):
                product[j] = grad[r, j] * y[r, j]
            total = row_sum(product)
            for j in range(y.shape[1]):
                result[r, j] = (grad[r, j] - total) * y[r, j]

    return (shift, normalize, backward) + _log_softmax_kernels(numba, row_sum) + \
        _chain_kernels(numba, row_sum, row_max)


def _log_softmax_forward(kernels):
    """``LogSoftmax.forward`` over rows: the shift as softmax's, NumPy's ``exp``, each row's
    sum in one loop, NumPy's ``log`` of the sums, then their subtraction in one loop."""

    def forward(ctx, x, dim):
        if not contiguous_float32(x) or x.size == 0:
            return LogSoftmax.forward(ctx, x, dim)
        width = x.shape[-1]
        y = xp.empty_like(x)
        rows = y.reshape(x.size // width, width)
        kernels[0](x.reshape(rows.shape), rows)
        sums = xp.empty(rows.shape[0], xp.float32)
        kernels[3](xp.exp(rows), sums)
        kernels[4](rows, xp.log(sums, out=sums))
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    return forward


def _log_softmax_backward(kernels):
    """``LogSoftmax.backward_arrays`` over rows: the sums of the gradient's rows in one loop,
    NumPy's ``exp`` of the output, then ``grad - exp(y) * sum`` in one loop."""

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        if not contiguous_float32(grad, y) or grad.shape != y.shape or y.size == 0:
            return LogSoftmax.backward_arrays(ctx, grad)
        width = y.shape[-1]
        shape = (y.size // width, width)
        sums = xp.empty(shape[0], xp.float32)
        grad_rows = grad.reshape(shape)
        kernels[3](grad_rows, sums)
        result = xp.exp(y)
        kernels[5](grad_rows, result.reshape(shape), sums)
        return result, None

    return backward


def _log_softmax_kernels(numba, row_sum):
    """Log-softmax's loops: each row's pairwise sum, the subtraction of a number per row,
    and its backward's ``grad - e * sum`` (``e`` overwritten), in eager's order."""

    @numba.njit("void(float32[:, ::1], float32[::1])", nogil=True)
    def row_sums(rows, sums):
        for r in range(rows.shape[0]):
            sums[r] = row_sum(rows[r])

    @numba.njit("void(float32[:, ::1], float32[::1])", nogil=True)
    def subtract_rows(rows, values):
        for r in range(rows.shape[0]):
            value = values[r]
            for j in range(rows.shape[1]):
                rows[r, j] = rows[r, j] - value

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[::1])", nogil=True)
    def backward(grad, e, sums):
        for r in range(grad.shape[0]):
            total = sums[r]
            for j in range(grad.shape[1]):
                e[r, j] = grad[r, j] - e[r, j] * total

    return row_sums, subtract_rows, backward


def _chain_arrays(chain, x, mask):
    """``x`` in blocks the size of the shared mask, and the mask as one flat block
    (``masking._rows``), or None where the chain's loops do not take them."""
    found = _masked_rows(x, mask)
    if found is None or mask.ndim > x.ndim or found[1].size % x.shape[-1]:
        return None
    return found


def _softmax_rows(array):
    width = array.shape[-1]
    return array.reshape(array.size // width, width)


def _chain_numbers(chain) -> tuple:
    """(mode, factor, fill value) of a chain for its loops: mode 0 without a scale, 1 for
    a product, 2 for a quotient; numbers rounded to float32 as NumPy rounds them."""
    mode = 0 if chain.scale is None else 2 if chain.divides else 1
    factor = xp.float32(1.0 if chain.factor is None else chain.factor)
    return mode, factor, xp.float32(chain.value)


def _chain_forward(chain, kernels):
    """``Chain.forward`` in two loops around NumPy's ``exp``: the scale, the fill and the
    shift by each row's maximum in one, the division by each row's sum in the other."""
    mode, factor, value = _chain_numbers(chain)

    def forward(ctx, x, mask):
        found = _chain_arrays(chain, x, mask)
        if found is None:
            return chain.forward(ctx, x, mask)
        y = xp.empty_like(x)
        rows = _softmax_rows(y)
        kernels[6](found[0], found[1], factor, mode, value, y.reshape(found[0].shape), rows)
        xp.exp(y, out=y)
        kernels[1](rows)
        ctx.dim = chain.dim
        ctx.save_for_backward(y)
        ctx.fill_mask = mask if mask.shape == x.shape else xp.broadcast_to(mask, x.shape)
        return y

    return forward


def _chain_backward(chain, kernels):
    """``Chain.backward`` in two loops: softmax's gradient along rows, then in blocks zero
    where the mask is set and the scale's gradient."""
    mode, factor, _ = _chain_numbers(chain)

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        shared = ctx.fill_mask
        while shared.ndim and shared.strides[0] == 0:  # the mask before its broadcast
            shared = shared[0]
        found = _chain_arrays(chain, grad, shared) if grad.shape == y.shape and \
            contiguous_float32(y) else None
        if found is None:
            return chain.backward(ctx, grad)
        result = xp.empty_like(y)
        kernels[7](_softmax_rows(grad), _softmax_rows(y), found[1], factor, mode,
                   _softmax_rows(result), result.reshape(found[0].shape),
                   xp.empty(y.shape[-1], xp.float32))
        return result

    return backward


def _chain_kernels(numba, row_sum, row_max):
    """The chain's loops, each pass in the layout it runs fast in: the scale and the fill in
    blocks the size of the mask (which repeats over the leading dims), the maximum, the
    sums and the shift along softmax rows (``blocks`` and ``rows`` view the same array)."""
    return _chain_shift(numba, row_max), _chain_backward_kernel(numba, row_sum)


def _chain_shift(numba, row_max):
    """The chain's forward before NumPy's ``exp`` (see ``_chain_kernels``)."""

    @numba.njit("void(float32[:, ::1], boolean[::1], float32, int64, float32, float32[:, ::1], "
                "float32[:, ::1])", nogil=True, error_model="numpy")
    def shift(x, mask, factor, mode, value, blocks, rows):
        for b in range(x.shape[0]):
            source, out = x[b], blocks[b]
            if mode == 1:
                for k in range(x.shape[1]):
                    out[k] = value if mask[k] else source[k] * factor
            elif mode == 2:
                for k in range(x.shape[1]):
                    out[k] = value if mask[k] else source[k] / factor
            else:
                for k in range(x.shape[1]):
                    out[k] = value if mask[k] else source[k]
        for r in range(rows.shape[0]):
            row = rows[r]
            top = row_max(row)
            for j in range(rows.shape[1]):
                row[j] = row[j] - top

    return shift


def _chain_backward_kernel(numba, row_sum):
    """The chain's backward (see ``_chain_kernels``)."""

    @numba.njit("void(float32[:, ::1], float32[:, ::1], boolean[::1], float32, int64, "
                "float32[:, ::1], float32[:, ::1], float32[::1])", nogil=True,
                error_model="numpy")
    def backward(grad, y, mask, factor, mode, rows, blocks, product):
        for r in range(y.shape[0]):
            for j in range(y.shape[1]):
                product[j] = grad[r, j] * y[r, j]
            total = row_sum(product)
            for j in range(y.shape[1]):
                rows[r, j] = (grad[r, j] - total) * y[r, j]
        zero = numba.float32(0.0)
        for b in range(blocks.shape[0]):
            out = blocks[b]
            if mode == 1:
                for k in range(blocks.shape[1]):
                    out[k] = zero * factor if mask[k] else out[k] * factor
            elif mode == 2:
                for k in range(blocks.shape[1]):
                    out[k] = zero / factor if mask[k] else out[k] / factor
            else:
                for k in range(blocks.shape[1]):
                    out[k] = zero if mask[k] else out[k]

    return backward


_SOFTMAXES = {  # op -> (its fused forward, its fused backward)
    Softmax: (_softmax_forward, _softmax_backward),
    LogSoftmax: (_log_softmax_forward, _log_softmax_backward),
}
SOFTMAX = Fused("softmax", _softmax_kernels, _softmax_binds)
