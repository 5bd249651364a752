"""Softmax, log-softmax and attention's softmax chain over float32 rows, in loops around
NumPy's ``exp`` and ``log`` (numba's would round differently), and their backwards.

Three families, so that a program compiles only the loops it uses; the shift by a row's
maximum and the division by a row's sum are compiled once and shared (``_shift``,
``_normalize``). A row's maximum is exact in any order (a NaN anywhere makes it NaN, as
NumPy's); its sums are NumPy's pairwise ones (``pairwise_sum``).
"""

from __future__ import annotations

import functools

from ember._backend import xp
from ember._compile.kernels._common import (
    FLOAT32,
    Fused,
    contiguous_float32,
    pairwise_sum,
    row_maximum,
)
from ember._compile.kernels.masking import _rows as _masked_rows
from ember.ops.softmax import LogSoftmax, Softmax


def _last_rows(x, dim) -> bool:
    """Whether (log-)softmax of ``x`` (a slot) runs over the last dim of float32 rows."""
    return x.dtype == FLOAT32 and len(x.shape) >= 1 and dim in (-1, len(x.shape) - 1)


def _rows(array):
    """``array`` as rows of its last dim."""
    width = array.shape[-1]
    return array.reshape(array.size // width, width)


def _shifted(shift, x) -> tuple:
    """A new array of ``x``'s rows less their maxima (the ``shift`` loop), and its rows."""
    y = xp.empty_like(x)
    rows = _rows(y)
    shift(_rows(x), rows)
    return y, rows


def _saved(ctx, dim, y):
    """``y``, saved on ``ctx`` for the op's backward as its own forward saves it."""
    ctx.dim = dim
    ctx.save_for_backward(y)
    return y


@functools.cache
def _shift(numba):
    """``x - max(x)`` of each row, into ``y``."""
    row_max = row_maximum(numba)

    @numba.njit("void(float32[:, ::1], float32[:, ::1])", nogil=True)
    def shift(x, y):
        for r in range(x.shape[0]):
            row, out = x[r], y[r]
            top = row_max(row)
            for j in range(x.shape[1]):
                out[j] = row[j] - top

    return shift


@functools.cache
def _normalize(numba):
    """Each row of ``y`` divided by its sum, in place."""
    row_sum = pairwise_sum(numba)

    @numba.njit("void(float32[:, ::1])", nogil=True, error_model="numpy")
    def normalize(y):
        for r in range(y.shape[0]):
            total = row_sum(y[r])
            for j in range(y.shape[1]):
                y[r, j] = y[r, j] / total

    return normalize


# ---------------------------------------------------------------- softmax


def _softmax_binds(step, role):
    if step.kind == "op" and step.op is Softmax and _last_rows(*step.args):
        return {"forward": _softmax_forward, "backward": _softmax_backward}.get(role)
    return None


def _softmax_forward(kernels):
    """``Softmax.forward`` over rows: the shift by each row's maximum in one loop, NumPy's
    ``exp``, then the division by each row's sum in one loop."""
    shift, normalize, _ = kernels

    def forward(ctx, x, dim):
        if not contiguous_float32(x) or x.size == 0:
            return Softmax.forward(ctx, x, dim)
        y, rows = _shifted(shift, x)
        xp.exp(y, out=y)
        normalize(rows)
        return _saved(ctx, dim, y)

    return forward


def _softmax_backward(kernels):
    """``Softmax.backward_arrays`` over rows in one loop."""
    backward_rows = kernels[2]

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        if not contiguous_float32(grad, y) or grad.shape != y.shape or y.size == 0:
            return Softmax.backward_arrays(ctx, grad)
        result = xp.empty_like(y)
        backward_rows(_rows(grad), _rows(y), _rows(result), xp.empty(y.shape[-1], xp.float32))
        return result, None

    return backward


def _softmax_kernels(numba):
    """The shift, the normalization and the backward (all three shared)."""
    return _shift(numba), _normalize(numba), _softmax_rows_backward(numba)


@functools.cache
def _softmax_rows_backward(numba):
    """``(grad - sum(grad · y)) · y`` of each row, into ``result``."""
    row_sum = pairwise_sum(numba)

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[:, ::1], float32[::1])",
                nogil=True)
    def backward(grad, y, result, product):
        for r in range(y.shape[0]):
            for j in range(y.shape[1]):
                product[j] = grad[r, j] * y[r, j]
            total = row_sum(product)
            for j in range(y.shape[1]):
                result[r, j] = (grad[r, j] - total) * y[r, j]

    return backward


SOFTMAX = Fused("softmax", _softmax_kernels, _softmax_binds)


# ---------------------------------------------------------------- log-softmax


def _log_softmax_binds(step, role):
    if step.kind == "op" and step.op is LogSoftmax and _last_rows(*step.args):
        return {"forward": _log_softmax_forward, "backward": _log_softmax_backward}.get(role)
    return None


def _log_softmax_forward(kernels):
    """``LogSoftmax.forward`` over rows: the shift as softmax's, NumPy's ``exp``, each row's
    sum in one loop, NumPy's ``log`` of the sums, then their subtraction in one loop."""
    shift, row_sums, subtract_rows, _ = kernels

    def forward(ctx, x, dim):
        if not contiguous_float32(x) or x.size == 0:
            return LogSoftmax.forward(ctx, x, dim)
        y, rows = _shifted(shift, x)
        sums = xp.empty(rows.shape[0], xp.float32)
        row_sums(xp.exp(rows), sums)
        subtract_rows(rows, xp.log(sums, out=sums))
        return _saved(ctx, dim, y)

    return forward


def _log_softmax_backward(kernels):
    """``LogSoftmax.backward_arrays`` over rows: the sums of the gradient's rows in one loop,
    NumPy's ``exp`` of the output, then ``grad - exp(y) · sum`` in one loop."""
    _, row_sums, _, backward_rows = kernels

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        if not contiguous_float32(grad, y) or grad.shape != y.shape or y.size == 0:
            return LogSoftmax.backward_arrays(ctx, grad)
        grad_rows = _rows(grad)
        sums = xp.empty(grad_rows.shape[0], xp.float32)
        row_sums(grad_rows, sums)
        result = xp.exp(y)
        backward_rows(grad_rows, _rows(result), sums)
        return result, None

    return backward


def _log_softmax_kernels(numba):
    """The shift (shared), each row's sum, the subtraction of a number per row, and the
    backward's ``grad - e · sum`` (``e`` overwritten), in eager's order."""
    row_sum = pairwise_sum(numba)

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

    return _shift(numba), row_sums, subtract_rows, backward


LOG_SOFTMAX = Fused("log_softmax", _log_softmax_kernels, _log_softmax_binds)


# ---------------------------------------------------------------- the softmax chain


def _chain_binds(step, role):
    if step.kind == "softmax chain":  # ``ember/_compile/chains.py``: scale, mask, softmax
        return functools.partial(_chain_backward if role == "backward" else _chain_forward, step)
    return None


def _chain_arrays(x, mask):
    """``x`` in blocks the size of the shared mask, and the mask as one flat block
    (``masking._rows``), or None where the chain's loops do not take them."""
    found = _masked_rows(x, mask)
    if found is None or mask.ndim > x.ndim or found[1].size % x.shape[-1]:
        return None
    return found


def _chain_numbers(chain) -> tuple:
    """(mode, factor, fill value) of a chain for its loops: mode 0 without a scale, 1 for
    a product, 2 for a quotient; numbers rounded to float32 as NumPy rounds them."""
    mode = 0 if chain.scale is None else 2 if chain.divides else 1
    factor = xp.float32(1.0 if chain.factor is None else chain.factor)
    return mode, factor, xp.float32(chain.value)


def _chain_forward(chain, kernels):
    """``Chain.forward`` in two loops around NumPy's ``exp``: the scale, the fill and the
    shift by each row's maximum in one, the division by each row's sum in the other."""
    shift, normalize, _, _ = kernels
    mode, factor, value = _chain_numbers(chain)

    def forward(ctx, x, mask):
        found = _chain_arrays(x, mask)
        if found is None:
            return chain.forward(ctx, x, mask)
        y = xp.empty_like(x)
        rows = _rows(y)
        shift(found[0], found[1], factor, mode, value, y.reshape(found[0].shape), rows)
        xp.exp(y, out=y)
        normalize(rows)
        ctx.fill_mask = mask if mask.shape == x.shape else xp.broadcast_to(mask, x.shape)
        return _saved(ctx, chain.dim, y)

    return forward


def _chain_backward(chain, kernels):
    """``Chain.backward`` in two loops: softmax's gradient along rows, then in blocks zero
    where the mask is set and the scale's gradient."""
    _, _, backward_rows, mask_and_scale = kernels
    mode, factor, _ = _chain_numbers(chain)

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        shared = ctx.fill_mask
        while shared.ndim and shared.strides[0] == 0:  # the mask before its broadcast
            shared = shared[0]
        found = _chain_arrays(grad, shared) if grad.shape == y.shape and \
            contiguous_float32(y) else None
        if found is None:
            return chain.backward(ctx, grad)
        result = xp.empty_like(y)
        backward_rows(_rows(grad), _rows(y), _rows(result), xp.empty(y.shape[-1], xp.float32))
        mask_and_scale(result.reshape(found[0].shape), found[1], factor, mode)
        return result

    return backward


def _chain_kernels(numba):
    """The chain's loops, each pass in the layout it runs fast in: the scale and the fill in
    blocks the size of the mask (which repeats over the leading dims), the maximum, the
    sums and the shift along softmax rows (``blocks`` and ``rows`` view the same array).
    The normalization and softmax's backward over rows are softmax's (shared)."""
    return (_chain_shift(numba), _normalize(numba), _softmax_rows_backward(numba),
            _chain_mask_and_scale(numba))


def _chain_shift(numba):
    """The chain's forward before NumPy's ``exp`` (see ``_chain_kernels``)."""
    row_max = row_maximum(numba)

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


def _chain_mask_and_scale(numba):
    """The chain's backward after softmax's: in blocks, zero where the mask is set, then the
    scale's gradient (see ``_chain_kernels``)."""

    @numba.njit("void(float32[:, ::1], boolean[::1], float32, int64)", nogil=True,
                error_model="numpy")
    def mask_and_scale(blocks, mask, factor, mode):
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

    return mask_and_scale


SOFTMAX_CHAIN = Fused("softmax_chain", _chain_kernels, _chain_binds)
