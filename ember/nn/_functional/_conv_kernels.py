"""The array kernels of ``conv.py``: im2col, col2im and their batch-last variants.

The forward is im2col and one matmul: a strided view of the zero-padded input holds every
window (``(N, C, *out, *kernel)``, no copy), which is laid out as a matrix once and
multiplied by the weight for the whole batch and every group at once. Three kernels close
the algebra of a bilinear map ``y = conv(x, w)``:

- ``_convolve(x, w)``: the convolution (cross-correlation, as PyTorch);
- ``_convolve_transpose(g, w)``: its adjoint in ``x`` (col2im: a strided accumulation over
  kernel offsets), which is also the transposed convolution;
- ``_convolve_weight(x, g)``: its adjoint in ``w`` (one matmul of the windows and ``g``).

Where output rows are short (small images) the three run on a *batch-last* copy of the
input instead, ``(C, *L, N)``: there each im2col column and each col2im add is made of long
contiguous runs, which NumPy copies and adds several times faster than short ones.
Everything here works on arrays; pooling and ``unfold``/``fold`` reuse the window helpers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from ember._backend import ndarray, xp


class Geometry(NamedTuple):
    """How windows sit on the input: per spatial dim stride, dilation and zero padding."""

    stride: tuple
    dilation: tuple
    before: tuple
    after: tuple
    groups: int = 1


# ---------------------------------------------------------------- array kernels


def output_size(size, kernel, geometry: Geometry) -> tuple:
    """The number of windows along each spatial dim."""
    return tuple(
        (length + lead + trail - dilation * (k - 1) - 1) // stride + 1
        for length, k, stride, dilation, lead, trail in zip(
            size, kernel, geometry.stride, geometry.dilation, geometry.before, geometry.after
        )
    )


def padded(x, geometry: Geometry, value=0):
    """``x`` (N, C, *L) with its spatial dims padded by ``value``."""
    if not any(geometry.before) and not any(geometry.after):
        return x
    shape = x.shape[:2] + tuple(
        length + lead + trail
        for length, lead, trail in zip(x.shape[2:], geometry.before, geometry.after)
    )
    result = xp.full(shape, value, x.dtype, like=x)
    inner = tuple(slice(lead, lead + length) for lead, length in zip(geometry.before, x.shape[2:]))
    result[(Ellipsis, *inner)] = x
    return result


def windows(x_padded, kernel, out, geometry: Geometry):
    """A read-only strided view ``(N, C, *out, *kernel)`` of every window (no copy)."""
    spatial = x_padded.strides[2:]
    strides = (
        x_padded.strides[:2]
        + tuple(step * s for step, s in zip(spatial, geometry.stride))
        + tuple(step * d for step, d in zip(spatial, geometry.dilation))
    )
    shape = x_padded.shape[:2] + tuple(out) + tuple(kernel)
    if type(x_padded) is not ndarray:
        return _device_windows(x_padded, 2, kernel, out, geometry)
    return xp.lib.stride_tricks.as_strided(x_padded, shape, strides, writeable=False)


def _device_windows(array, first: int, kernel, out, geometry: Geometry):
    """``windows`` on a device array, whose library's ``as_strided`` NumPy cannot reach:
    the windows along the spatial dims from ``first`` on, ``(..., *out, ..., *kernel)``,
    sliced out of ``sliding_window_view`` (which dispatches to the array's library)."""
    count = len(kernel)
    if 0 in out:
        shape = array.shape[:first] + tuple(out) + array.shape[first + count :] + tuple(kernel)
        return xp.zeros(shape, array.dtype, like=array)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, geometry.dilation))
    axes = tuple(range(first, first + count))
    view = xp.lib.stride_tricks.sliding_window_view(array, spans, axis=axes)
    positions = tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(geometry.stride, out))
    offsets = tuple(slice(None, None, d) for d in geometry.dilation)
    return view[(slice(None),) * first + positions + (Ellipsis,) + offsets]


def accumulate(cols, size, kernel, geometry: Geometry):
    """The adjoint of ``windows(padded(x))``: ``cols`` (N, C, *out, *kernel) summed into
    (N, C, *size); overlapping windows add up."""
    count = len(kernel)
    out = cols.shape[2 : 2 + count]
    full = tuple(
        length + lead + trail for length, lead, trail in zip(size, geometry.before, geometry.after)
    )
    if abs(cols.strides[1]) > abs(cols.strides[0]):
        # Channel-major columns (from a matmul): lay the sum out the same way, so each add
        # walks both arrays in memory order.
        shape = (cols.shape[1], cols.shape[0]) + full
        result = xp.zeros(shape, cols.dtype, like=cols).swapaxes(0, 1)
    else:
        result = xp.zeros(cols.shape[:2] + full, cols.dtype, like=cols)
    if 0 not in out:
        for offset in xp.ndindex(*kernel):
            region = tuple(
                slice(k * d, k * d + s * (o - 1) + 1, s)
                for k, d, s, o in zip(offset, geometry.dilation, geometry.stride, out)
            )
            result[(Ellipsis, *region)] += cols[(Ellipsis, *offset)]
    crop = tuple(slice(lead, lead + length) for lead, length in zip(geometry.before, size))
    return xp.ascontiguousarray(result[(Ellipsis, *crop)], like=result)


def _columns(x, kernel, out, geometry: Geometry):
    """im2col: the windows as a matrix per group, ``(groups, C_g * prod(k), N * prod(out))``.

    Output positions run along the rows, so the copy reads the input row by row.
    """
    batch, channels, count = x.shape[0], x.shape[1], len(kernel)
    groups = geometry.groups
    view = windows(padded(x, geometry), kernel, out, geometry)
    view = view.reshape((batch, groups, channels // groups) + tuple(out) + tuple(kernel))
    order = (1, 2, *range(3 + count, 3 + 2 * count), 0, *range(3, 3 + count))
    depth, width = channels // groups * math.prod(kernel), batch * math.prod(out)
    return view.transpose(order).reshape(groups, depth, width)


def _grad_matrix(grad, groups: int):
    """``grad`` (N, C_out, *out) as ``(groups, C_out / groups, N * prod(out))``."""
    batch, channels, out = grad.shape[0], grad.shape[1], grad.shape[2:]
    order = (1, 0, *range(2, 2 + len(out)))
    return grad.transpose(order).reshape(groups, channels // groups, batch * math.prod(out))


def _weight_matrix(weight, groups: int):
    """``weight`` (C_out, C_g, *k) as ``(groups, C_out / groups, C_g * prod(k))``."""
    return weight.reshape(groups, weight.shape[0] // groups, math.prod(weight.shape[1:]))


def _grouped_matmul(a, b):
    """``a[g] @ b[g]`` for each group; one group takes the plain 2-D BLAS product."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def _times_transposed(a, b):
    """``a[g] @ b[g]ᵀ`` for each group of ``a`` (groups, m, k) and ``b`` (groups, n, k): the
    weight gradient's product, summed over the positions ``k``.

    Where ``k`` is not much shorter than ``m`` or ``n`` it is computed as ``(b[g] @ a[g]ᵀ)ᵀ``:
    the same sums, but OpenBLAS packs that pair faster (119 -> 84 us on cnn_digits' second
    convolution, up to 1.7x on larger ones). With a short ``k`` the direct product is
    faster. OpenBLAS's SkylakeX kernels add along ``k`` in the same order either way, bit for
    bit; its Haswell kernels (which it picks on AMD Zen) group the additions otherwise, so
    there the two differ in the last bits. Eager and compiled ember both call this, so they
    agree either way.
    """
    if 2 * a.shape[2] < max(a.shape[1], b.shape[1]):
        return _grouped_matmul(a, b.transpose(0, 2, 1))
    return _grouped_matmul(b, a.transpose(0, 2, 1)).transpose(0, 2, 1)


def _convolve(x, weight, geometry: Geometry, out=None, columns=None, moves=None):
    """y[n, o, p] = Σ_{c,k} w[o, c, k] · x_padded[n, g(o)·C_g + c, p·s + k·d].

    ``out`` keeps only the first windows: the adjoint of a transposed convolution whose
    output padding left room for more of them than its input had. ``columns``: the
    batch-last im2col of ``x``, where the caller already has it. ``moves``: how the
    batch-last kernels move the batch dim (``Moves``; NumPy's copies by default).
    """
    kernel, groups, count = weight.shape[2:], geometry.groups, weight.ndim - 2
    out = tuple(out or output_size(x.shape[2:], kernel, geometry))
    if _batch_last_fits(geometry, x.shape[0], out):
        moves = moves or NUMPY_MOVES
        if columns is None:
            columns = _batch_last_columns(moves.to_last(x), kernel, out, geometry)
        product = _grouped_matmul(_weight_matrix(weight, groups), columns)
        return moves.to_first(product.reshape((weight.shape[0],) + out + (x.shape[0],)))
    columns = _columns(x, kernel, out, geometry)
    product = _grouped_matmul(_weight_matrix(weight, groups), columns)
    product = product.reshape((weight.shape[0], x.shape[0]) + out)
    return xp.ascontiguousarray(product.transpose(1, 0, *range(2, 2 + count)), like=product)


def _convolve_transpose(grad, weight, size, geometry: Geometry):
    """The adjoint of ``_convolve`` in ``x``: ``grad`` (N, C_out, *out) → (N, C_in, *size)."""
    kernel, groups, count = weight.shape[2:], geometry.groups, weight.ndim - 2
    batch, out = grad.shape[0], grad.shape[2:]
    if _batch_last_fits(geometry, batch, out):
        matrix = _batch_last_grad(grad, groups)
        return _batch_last_transpose(matrix, weight, size, out, batch, geometry)
    matrix = _weight_matrix(weight, groups).transpose(0, 2, 1)
    columns = _grouped_matmul(matrix, _grad_matrix(grad, groups))
    columns = columns.reshape((groups * weight.shape[1],) + kernel + (batch,) + out)
    order = (1 + count, 0, *range(2 + count, 2 + 2 * count), *range(1, 1 + count))
    return accumulate(columns.transpose(order), size, kernel, geometry)


def _convolve_weight(x, grad, kernel, geometry: Geometry, columns=None):
    """The adjoint of ``_convolve`` in ``w``: windows of ``x`` times ``grad``, one matmul."""
    groups = geometry.groups
    if _batch_last_fits(geometry, x.shape[0], grad.shape[2:]):
        if columns is None:
            columns = _batch_last_columns(_to_batch_last(x), kernel, grad.shape[2:], geometry)
        matrix = _batch_last_grad(grad, groups)
        return _batch_last_weight(columns, matrix, x.shape[1], kernel)
    columns = _columns(x, kernel, grad.shape[2:], geometry)
    product = _times_transposed(_grad_matrix(grad, groups), columns)
    return product.reshape((grad.shape[1], x.shape[1] // groups) + tuple(kernel))


# ---------------------------------------------------------------- batch-last kernels
# The same maps on a batch-last layout (C, *L, N). There, one kernel offset's elements for
# a whole output row of every sample form one contiguous run (with a unit last stride), so
# im2col is a fast copy and col2im a few fast in-place adds, over exactly the windows; the
# price is a transposition at each end.


def _batch_last_fits(geometry: Geometry, batch: int, out) -> bool:
    """Whether batch-last runs pay for the transpositions: output rows too short to make
    long runs on their own, and a unit last stride or a batch to fill them."""
    return out[-1] < 16 and (geometry.stride[-1] == 1 or batch >= 16)


def _to_batch_last(x):
    """``x`` (N, *rest) as a contiguous (*rest, N).

    In two steps, through (rest / b, N, b) blocks: a direct copy would read ``x`` with a
    stride of a whole sample, which thrashes the cache when that is a multiple of 4 KiB.
    """
    batch, rest = x.shape[0], x.shape[1:]
    size = math.prod(rest)
    block = math.gcd(size, 32)
    blocks = x.reshape(batch, size // block, block).transpose(1, 0, 2).copy()
    return blocks.transpose(0, 2, 1).reshape(rest + (batch,))


def _to_batch_first(y):
    """``y`` (*rest, N) as a contiguous (N, *rest).

    In two steps through (rest / b, N, b) blocks, as ``_to_batch_last``: a direct copy
    writes each sample's elements a whole row of ``y`` apart (74 -> 42 us for cnn_digits'
    first convolution)."""
    rest, batch = y.shape[:-1], y.shape[-1]
    size = math.prod(rest)
    block = math.gcd(size, 32)
    if block < 16 or batch < 16 or y.size < 1 << 14 or not y.flags.c_contiguous:
        return xp.ascontiguousarray(y.transpose((y.ndim - 1,) + tuple(range(y.ndim - 1))),
                                    like=y)
    blocks = y.reshape(size // block, block, batch).transpose(0, 2, 1).copy()
    return xp.ascontiguousarray(blocks.transpose(1, 0, 2), like=y).reshape((batch,) + rest)


class Moves(NamedTuple):
    """How the batch-last kernels move the batch dim: ``to_last`` makes (N, *rest) a
    contiguous (*rest, N), ``to_first`` the reverse. Here NumPy's blocked copies
    (``NUMPY_MOVES``); ember.compile's programs pass loops of their own
    (``ember/_compile/kernels/layout.py``), which copy the same values."""

    to_last: Callable
    to_first: Callable


NUMPY_MOVES = Moves(_to_batch_last, _to_batch_first)


def _strided(array, start: int, shape: tuple, strides: tuple):
    """A read-only view of the C-contiguous NumPy ``array`` from byte ``start`` (cheaper
    than as_strided)."""
    if 0 in shape:
        return xp.zeros(shape, array.dtype)
    view = xp.ndarray(shape, array.dtype, array, start, strides)
    view.flags.writeable = False
    return view


def _window_strides(image, geometry: Geometry) -> tuple:
    """Byte strides of a kernel offset and of an output position along each spatial dim."""
    spatial = image.strides[1:-1]
    offsets = tuple(step * d for step, d in zip(spatial, geometry.dilation))
    return offsets, tuple(step * s for step, s in zip(spatial, geometry.stride))


def _batch_last_columns(moved, kernel, out, geometry: Geometry):
    """im2col of a batch-last input ``moved`` (C, *L, N), zero-padded as ``geometry`` says:
    ``(groups, C_g · prod(k), prod(out) · N)``, one copy."""
    channels, size, batch = moved.shape[0], moved.shape[1:-1], moved.shape[-1]
    image = xp.ascontiguousarray(moved, like=moved)
    if any(geometry.before) or any(geometry.after):
        full = tuple(n + a + b for n, a, b in zip(size, geometry.before, geometry.after))
        image = xp.zeros((channels,) + full + (batch,), moved.dtype, like=moved)
        image[(slice(None), *(slice(a, a + n) for a, n in zip(geometry.before, size)))] = moved
    if type(image) is ndarray:
        offsets, positions = _window_strides(image, geometry)
        shape = (channels, *kernel, *out, batch)
        strides = (image.strides[0], *offsets, *positions, image.strides[-1])
        view = _strided(image, 0, shape, strides)
    else:
        count = len(kernel)
        view = _device_windows(image, 1, kernel, out, geometry).transpose(
            0, *range(count + 2, 2 * count + 2), *range(1, count + 2)
        )
    depth = channels // geometry.groups * math.prod(kernel)
    return view.reshape(geometry.groups, depth, math.prod(out) * batch)


def _batch_last_grad(grad, groups: int, moves: Moves = NUMPY_MOVES):
    """``grad`` (N, C, *out) batch-last, as ``(groups, C / groups, prod(out) · N)``."""
    channels = grad.shape[1]
    width = math.prod(grad.shape[2:]) * grad.shape[0]
    return moves.to_last(grad).reshape(groups, channels // groups, width)


def _batch_last_transpose(matrix, weight, size, out, batch: int, geometry: Geometry,
                          moves: Moves = NUMPY_MOVES):
    """col2im, batch-last, from ``grad`` as a matrix ``(groups, C_out / groups, prod(out) · N)``.

    With unit strides this is the convolution of the zero-padded ``grad`` with the flipped,
    transposed kernel (no accumulation at all); otherwise the columns of ``wᵀ · grad`` are
    added back one kernel offset at a time.
    """
    kernel, groups = tuple(weight.shape[2:]), geometry.groups
    channels, count = groups * weight.shape[1], len(kernel)
    spans = [d * (k - 1) for k, d in zip(kernel, geometry.dilation)]
    before = tuple(span - a for span, a in zip(spans, geometry.before))
    after = tuple(n - o + a for n, o, a in zip(size, out, geometry.before))
    # The flipped convolution copies C_out columns where the adds touch C_in, each at about
    # twice the cost of a copied element.
    unit = all(s == 1 for s in geometry.stride)
    if unit and min(before + after) >= 0 and weight.shape[0] <= 2 * channels:
        per_group = weight.shape[0] // groups
        flipped = weight.reshape((groups, per_group, weight.shape[1]) + kernel).swapaxes(1, 2)
        flipped = flipped[(Ellipsis, *(slice(None, None, -1),) * count)]
        flipped = flipped.reshape((channels, per_group) + kernel)
        moved = matrix.reshape((weight.shape[0],) + tuple(out) + (batch,))
        adjoint = Geometry(geometry.stride, geometry.dilation, before, after, groups)
        columns = _batch_last_columns(moved, kernel, tuple(size), adjoint)
        product = _grouped_matmul(_weight_matrix(flipped, groups), columns)
        return moves.to_first(product.reshape((channels,) + tuple(size) + (batch,)))
    product = _grouped_matmul(_weight_matrix(weight, groups).transpose(0, 2, 1), matrix)
    columns = product.reshape((channels, math.prod(kernel)) + tuple(out) + (batch,))
    full = tuple(n + a + b for n, a, b in zip(size, geometry.before, geometry.after))
    image = xp.zeros((channels,) + full + (batch,), columns.dtype, like=columns)
    for index, offset in enumerate(xp.ndindex(*kernel) if 0 not in out else ()):
        region = tuple(
            slice(k * d, k * d + s * (o - 1) + 1, s)
            for k, d, s, o in zip(offset, geometry.dilation, geometry.stride, out)
        )
        target = image[(slice(None), *region)]  # a view: the add writes into ``image``
        target += columns[:, index]
    inner = tuple(slice(a, a + n) for a, n in zip(geometry.before, size))
    return moves.to_first(image[(slice(None), *inner)])


def _batch_last_weight(columns, matrix, channels: int, kernel):
    """The weight gradient from batch-last columns of ``x`` and batch-last ``grad``."""
    groups = columns.shape[0]
    product = _times_transposed(matrix, columns)
    return product.reshape((groups * matrix.shape[1], channels // groups) + tuple(kernel))
