"""Pooling: max, average, adaptive and power-average, over 1-D, 2-D and 3-D windows.

Max pooling finds each window's argmax on a strided view of the ``-inf``-padded input
(ties go to the first, NaN wins, as in PyTorch), then gathers; its gradient is a
scatter-add to those positions, so overlapping windows accumulate. Windows that tile the
input (stride = kernel, no padding or dilation, the usual ``MaxPool2d(k)``) take a fast
path: the tiles' elements are laid out offset-major once, so that every comparison runs
over contiguous memory.

Average pooling sums the same strided view; its gradient spreads ``grad / divisor`` back
over each window (col2im), and that in turn pulls back to average pooling, so both
differentiate twice. The primitives work on any number of spatial dims: the 3-D forms run
them on three, under PyTorch's 3-D node names, and the 1-D forms run the 2-D ones on a
height of 1, as PyTorch does. Adaptive average pooling is composed: a fixed averaging
matrix on each spatial side. Max unpooling, the inverse of max pooling with indices, is in
``unpooling.py``.
"""

from __future__ import annotations

import functools
import inspect
import math

from ember import _tape
from ember._autocast import FLOAT32, NATIVE, autocasts
from ember._backend import asarray, is_floating, ndarray, xp
from ember._tensor import Tensor
from ember.nn._functional._conv_kernels import Geometry, accumulate, padded, windows
from ember.nn._functional.activation import relu
from ember.ops._function import NonDifferentiable, Op, _legacy

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "lp_pool1d",
    "lp_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices", "max_pool3d",
    "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "lp_pool3d",
    "max_pool3d_with_indices", "adaptive_max_pool3d_with_indices",
]  # fmt: skip


# ---------------------------------------------------------------- the primitives


class MaxPool2DWithIndices(Op):
    """The entries of ``x`` (N, C, *L) at flat spatial ``indices`` (N, C, *out).

    ``values``: those entries, where the caller found them with the indices.
    """

    @staticmethod
    def forward(ctx, x, indices, values=None):
        ctx.indices, ctx.shape = indices, x.shape
        if values is not None:
            return values
        flat = x.reshape(x.shape[:2] + (math.prod(x.shape[2:]),))
        where = indices.reshape(indices.shape[:2] + (math.prod(indices.shape[2:]),))
        chosen = xp.take_along_axis(flat, where, axis=2)
        return chosen.reshape(indices.shape)

    @staticmethod
    def gradients(xp, ctx, grad):
        # Overlapping windows can pick one position more than once: its gradients add up.
        key = ((), (_flat_positions(ctx.indices, ctx.shape),))
        flat = xp.add_at_zeros((math.prod(ctx.shape),), key, xp.reshape(grad, (-1,)))
        return xp.reshape(flat, ctx.shape), None, None


class MaxPool2D(MaxPool2DWithIndices):
    """``max_pool2d``: the maxima are found in the forward, so a compiled replay finds them
    again in new values (``indices`` are kept on the node)."""

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        values, indices = _maxima(x, kernel, stride, padding, dilation, ceil_mode)
        ctx.indices, ctx.shape = indices, x.shape
        return values

    @classmethod
    def gradients(cls, xp, ctx, grad):
        return MaxPool2DWithIndices.gradients(xp, ctx, grad)[:1] + (None,) * 5


def _maxima(x, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """The values and flat spatial indices of each window's maximum in ``x`` (N, C, H, W)."""
    if len(kernel) == 2 and stride == kernel and padding == (0, 0) and dilation == (1, 1) \
            and type(x) is ndarray:
        # Tiles: whole ones only (a ceil-mode partial tile takes the general path). The
        # layout pays on the host's caches; a GPU takes the general path, which never waits
        # for a value to come back to the host.
        if all(n >= k and not (ceil_mode and n % k) for n, k in zip(x.shape[2:], kernel)):
            found = _tile_maxima(x, kernel)
            if found is not None:
                return found
    out, geometry = _windows_geometry(x, kernel, stride, padding, dilation, ceil_mode)
    indices = _max_indices(x, kernel, out, geometry)
    flat = x.reshape(x.shape[:2] + (math.prod(x.shape[2:]),))
    where = indices.reshape(indices.shape[:2] + (math.prod(indices.shape[2:]),))
    return xp.take_along_axis(flat, where, axis=2).reshape(indices.shape), indices


def _maxima_indices(x, kernel, stride, padding, dilation, ceil_mode):
    """The flat spatial indices of each window's maximum in ``x`` (``_maxima``'s second)."""
    return _maxima(x, kernel, stride, padding, dilation, ceil_mode)[1]


def _flat_positions(indices, shape):
    """Plane-wise flat ``indices`` (N, C, *out) as positions in the flattened (N, C, *L)."""
    planes, area = math.prod(shape[:2]), math.prod(shape[2:])
    offsets = xp.arange(planes, like=indices) * area
    return (indices.reshape(planes, -1) + offsets[:, None]).reshape(-1)


class AdaptiveMaxPool2D(MaxPool2DWithIndices):
    """``MaxPool2DWithIndices`` under the node name PyTorch gives adaptive max pooling."""


class MaxPool3DWithIndices(MaxPool2DWithIndices):
    """``MaxPool2DWithIndices`` (any number of spatial dims) under PyTorch's 3-D node name."""


class MaxPool3D(MaxPool2D):
    """``MaxPool2D`` over three spatial dims, under PyTorch's 3-D node name."""

    node_name = "MaxPool3DWithIndicesBackward0"


class AdaptiveMaxPool3D(MaxPool2DWithIndices):
    """``MaxPool2DWithIndices`` under the node name PyTorch gives 3-D adaptive max pooling."""


class AvgPool2D(Op):
    """Window sums of the zero-padded ``x`` divided by ``divisor`` (one per output position)."""

    shape_constants = (3,)
    adjoint = None  # the op of its gradient, ``AvgPool2DBackward`` (set below)

    @staticmethod
    def forward(ctx, x, kernel, geometry, divisor):
        ctx.kernel, ctx.geometry, ctx.divisor, ctx.size = kernel, geometry, divisor, x.shape[2:]
        out = divisor.shape
        view = windows(padded(x, geometry), kernel, out, geometry)
        sums = view.sum(axis=tuple(range(-len(kernel), 0)))
        if x.dtype.kind != "f":
            return xp.trunc(sums / divisor).astype(x.dtype)
        return (sums / divisor).astype(x.dtype)

    @classmethod
    def backward(cls, ctx, grad):
        return (
            cls.adjoint.apply(grad, ctx.size, ctx.kernel, ctx.geometry, ctx.divisor),
            None,
            None,
            None,
        )


class AvgPool2DBackward(Op):
    """The adjoint of ``AvgPool2D``: ``grad / divisor`` spread over each window."""

    pool = AvgPool2D

    @staticmethod
    def forward(ctx, grad, size, kernel, geometry, divisor):
        ctx.kernel, ctx.geometry, ctx.divisor = kernel, geometry, divisor
        share = (grad / divisor).astype(grad.dtype)
        spread = xp.broadcast_to(share[(...,) + (None,) * len(kernel)], share.shape + kernel)
        return accumulate(spread, size, kernel, geometry)

    @classmethod
    def backward(cls, ctx, grad):
        return cls.pool.apply(grad, ctx.kernel, ctx.geometry, ctx.divisor), None, None, None, None


class AvgPool3D(AvgPool2D):
    """``AvgPool2D`` over three spatial dims, under PyTorch's 3-D node name."""


class AvgPool3DBackward(AvgPool2DBackward):
    """``AvgPool2DBackward`` over three spatial dims, under PyTorch's 3-D node name."""

    pool = AvgPool3D


AvgPool2D.adjoint, AvgPool3D.adjoint = AvgPool2DBackward, AvgPool3DBackward


# ---------------------------------------------------------------- arguments and shapes


def _tuple(value, count: int, message: str) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]),) * count
        if len(value) != count:
            raise RuntimeError(message)
        return tuple(int(v) for v in value)
    return (int(value),) * count


def _pool_params(op, kernel_size, stride, padding, dilation=1, count: int = 2) -> tuple:
    """Kernel, stride, padding and dilation as ``count``-tuples, checked in PyTorch's order."""
    if type(kernel_size) is int and kernel_size > 0 and padding == 0 and dilation == 1:
        if stride is None or stride == kernel_size:  # the usual ``MaxPool2d(k)``, at a glance
            return (kernel_size,) * count, (kernel_size,) * count, (0,) * count, (1,) * count
    words = "two" if count == 2 else "three"
    either = "" if op == "avg_pool3d" else "either "  # PyTorch's avg_pool3d words it so
    kernel = _tuple(
        kernel_size, count, f"{op}: kernel_size must {either}be a single int, or a tuple of "
        f"{words} ints"
    )
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel
    stride = _tuple(
        stride, count, f"{op}: stride must {either}be omitted, a single int, or a tuple of "
        f"{words} ints"
    )
    padding = _tuple(
        padding, count, f"{op}: padding must {either}be a single int, or a tuple of {words} ints"
    )
    dilation = _tuple(
        dilation, count, f"{op}: dilation must be either a single int, or a tuple of {words} ints"
    )
    if 0 in stride:
        raise RuntimeError("stride should not be zero")
    for p in padding:
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    for k, p, d in zip(kernel, padding, dilation):
        if p > int(((k - 1) * d + 1) / 2):  # C++'s division, toward zero
            raise RuntimeError(
                "pad should be at most half of effective kernel size, but got "
                f"pad={p}, kernel_size={k} and dilation={d}"
            )
    if any(k <= 0 for k in kernel):
        raise RuntimeError(
            "kernel size should be greater than zero, but got " + _labelled("k", kernel)
        )
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should be greater than zero, but got " + _labelled("d", stride))
    if any(d <= 0 for d in dilation):
        raise RuntimeError(
            "dilation should be greater than zero, but got " + _labelled("dilation", dilation)
        )
    if any(p > k // 2 for k, p in zip(kernel, padding)):
        raise RuntimeError(
            "pad should be smaller than or equal to half of kernel size, but got "
            + _half_kernel_values(kernel, padding)
        )
    return kernel, stride, padding, dilation


def _labelled(prefix: str, values: tuple) -> str:
    """``kT: 2 kH: 2 kW: 2``, as PyTorch names the dims (time, height, width)."""
    return " ".join(f"{prefix}{axis}: {v}" for axis, v in zip("THW"[-len(values) :], values))


def _half_kernel_values(kernel: tuple, padding: tuple) -> str:
    if len(kernel) == 2:
        return f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, kH = {kernel[0]}"
    return (
        f"kT: {kernel[0]} kW: {kernel[2]} kH: {kernel[1]} padT: {padding[0]} "
        f"padW: {padding[2]} padH: {padding[1]}"
    )


def _pooled_size(length, k, s, p, d, ceil_mode) -> int:
    span = length + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = span // s + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    return out


def _windows_geometry(input, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    """Output size and a geometry whose right padding makes room for ceil-mode windows."""
    size = input.shape[2:]
    out = tuple(
        _pooled_size(*args, ceil_mode) for args in zip(size, kernel, stride, padding, dilation)
    )
    if any(o <= 0 for o in out):
        given = "x".join(str(v) for v in input.shape[1:])
        calculated = "x".join(str(v) for v in (input.shape[1],) + out)
        raise RuntimeError(
            f"Given input size: ({given}). Calculated output size: ({calculated}). Output size "
            "is too small"
        )
    after = tuple(
        max(p, (o - 1) * s + d * (k - 1) + 1 - length - p)
        for length, o, k, s, p, d in zip(size, out, kernel, stride, padding, dilation)
    )
    return out, Geometry(stride, dilation, padding, after)


def _batched(input: Tensor, count: int = 2) -> tuple:
    """An unbatched input of ``count`` spatial dims with a batch dim added, and whether it
    was added."""
    return (input.unsqueeze(0), True) if input.ndim == count + 1 else (input, False)


def _as_2d(input: Tensor, op: str, what: str) -> Tensor:
    """A 1-D pooling input (C, L) or (N, C, L) with a height of 1 inserted."""
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"{op}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
            f"batch size for input, but got:{list(input.shape)}"
            if what == "max"
            else f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor "
            f"for argument #1 'self' (while checking arguments for {op})"
        )
    return input.unsqueeze(-2)


def _first(value):
    return value[0] if isinstance(value, (list, tuple)) else value


# ---------------------------------------------------------------- max pooling


def _window_argmax(flat):
    """Position of each row's maximum along the last axis: first of ties, last NaN wins."""
    choice = flat.argmax(-1)
    if is_floating(flat.dtype):
        nan = xp.isnan(flat)
        if type(nan) is not ndarray or nan.any():  # a GPU computes rather than asks
            last_nan = flat.shape[-1] - 1 - nan[..., ::-1].argmax(-1)
            choice = xp.where(nan.any(-1), last_nan, choice)
    return choice


def _max_indices(x, kernel, out, geometry: Geometry):
    """Flat spatial index in ``x`` of each window's maximum."""
    low = -xp.inf if is_floating(x.dtype) else xp.iinfo(x.dtype).min
    view = windows(padded(x, geometry, low), kernel, out, geometry)
    choice = _window_argmax(view.reshape(view.shape[: 2 + len(out)] + (math.prod(kernel),)))
    offsets = xp.unravel_index(choice, kernel)
    index = 0
    for dim, (offset, length) in enumerate(zip(offsets, x.shape[2:])):
        stride, dilation = geometry.stride[dim], geometry.dilation[dim]
        starts = xp.arange(out[dim], like=x) * stride - geometry.before[dim]
        starts = starts.reshape([-1 if i == dim else 1 for i in range(len(out))])
        position = starts + offset * dilation
        # A window of only padding and -inf picks its first in-bounds element, as PyTorch.
        position = xp.where(position < 0, position - (position // dilation) * dilation, position)
        index = index * length + position
    return asarray(index, dtype=xp.int64)


def _first_maxima(candidates, labels):
    """Elementwise maximum of ``candidates`` and the label of the first one to attain it
    (ties keep the earlier one, as PyTorch). NaN propagates into the maximum only."""
    best, choice = candidates[0], labels[0]
    for candidate, label in zip(candidates[1:], labels[1:]):
        wins = candidate > best
        best = xp.maximum(best, candidate)
        choice = choice + (label - choice) * wins  # labels only grow: no wrap-around
    if xp.ndim(choice) == 0:
        choice = xp.full(best.shape, choice)
    return best, choice


def _tile_maxima(x, kernel):
    """Values and flat spatial indices of the maxima of the ``kernel``-sized tiles of ``x``
    (N, C, H, W) (ragged edges dropped); None where a tile holds a NaN.

    The tiles' elements are first laid out offset-major, ``(kH · kW, tiles)``: one copy,
    after which every comparison runs over whole contiguous rows.
    """
    batch, channels, height, width = x.shape
    rows, columns = kernel
    out_height, out_width = height // rows, width // columns
    tiles = x[:, :, : out_height * rows, : out_width * columns].reshape(
        batch, channels, out_height, rows, out_width, columns
    )
    stacked = xp.ascontiguousarray(tiles.transpose(3, 5, 0, 1, 2, 4))
    stacked = stacked.reshape(rows * columns, -1)
    label = xp.int16 if (rows - 1) * width + columns < 2**15 else xp.int64
    offsets = [label(a * width + b) for a in range(rows) for b in range(columns)]
    values, offset = _first_maxima(list(stacked), offsets)
    if is_floating(values.dtype) and xp.isnan(values).any():
        return None
    zero = xp.flatnonzero(values == 0)
    if zero.size:  # ties of ±0: the first one's sign, as PyTorch
        first = offset[zero]
        values[zero] = stacked[(first // width) * columns + first % width, zero]
    shape = (batch, channels, out_height, out_width)
    return values.reshape(shape), offset.reshape(shape) + _corners(shape[2:], kernel, width)


@functools.lru_cache(maxsize=32)
def _corners(out: tuple, kernel: tuple, width: int):
    """Flat index of each tile's first element in its plane (read-only, shared)."""
    corners = xp.arange(out[0])[:, None] * (kernel[0] * width) + xp.arange(out[1]) * kernel[1]
    corners.flags.writeable = False
    return corners


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """y[n, c, i, j] = max over the window at (i·s - p, j·s - p) of the ``-inf``-padded input.

    Args:
        kernel_size, stride (default ``kernel_size``), padding, dilation: ints or pairs.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return each maximum's flat index into its input plane.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out),
        H_out = ⌊(H + 2p - d·(k - 1) - 1) / s⌋ + 1 (⌈·⌉ with ``ceil_mode``).
    """
    kernel, stride, padding, dilation = _pool_params(
        "max_pool2d", kernel_size, stride, padding, dilation
    )
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if input.dtype.name == "bool":
        raise NotImplementedError("\"max_pool2d\" not implemented for 'Bool'")
    params = (kernel, stride, padding, dilation, ceil_mode)
    return _max_pool(input, params, return_indices, MaxPool2D, MaxPool2DWithIndices)


def _max_pool(input: Tensor, params: tuple, return_indices: bool, pool, pool_with_indices):
    """Max pooling of a checked ``input`` with ``params`` (kernel, stride, padding, dilation,
    ceil_mode) through the op ``pool``, or ``pool_with_indices`` when the indices are wanted."""
    kernel, stride, padding, dilation, ceil_mode = params
    x, unbatched = _batched(input, len(kernel))
    _windows_geometry(x, kernel, stride, padding, dilation, ceil_mode)  # checks the size
    if not return_indices:
        values = pool.apply(x, kernel, stride, padding, dilation, ceil_mode)
        return values.squeeze(0) if unbatched else values
    # the indices as an op's result, which a compiled call finds again in each replay
    indices = NonDifferentiable.found(_maxima_indices, x, kernel=kernel, stride=stride,
                                      padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    values = pool_with_indices.apply(x, indices)
    if unbatched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


@autocasts(FLOAT32, cuda=NATIVE)
def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """y[n, c, t, i, j] = max over the window at (t·s - p, i·s - p, j·s - p) of the
    ``-inf``-padded input.

    Args:
        kernel_size, stride (default ``kernel_size``), padding, dilation: ints or triples.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return each maximum's flat index into its input volume.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out),
        D_out = ⌊(D + 2p - d·(k - 1) - 1) / s⌋ + 1 (⌈·⌉ with ``ceil_mode``).

    Returns:
        The maxima, and with ``return_indices`` their int64 indices (``max_unpool3d``'s).

    Example::

        >>> F.max_pool3d(ember.ones(1, 1, 4, 4, 4), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    kernel, stride, padding, dilation = _pool_params(
        "max_pool3d", kernel_size, stride, padding, dilation, count=3
    )
    _check_3d(input, "max_pool3d_with_indices_out_cpu_template")
    if input.dtype.name == "bool":
        raise NotImplementedError("\"max_pool3d\" not implemented for 'Bool'")
    params = (kernel, stride, padding, dilation, ceil_mode)
    return _max_pool(input, params, return_indices, MaxPool3D, MaxPool3DWithIndices)


def _check_3d(input: Tensor, kernel: str) -> None:
    """PyTorch's checks of a 3-D pooling input: 4 or 5 dims, none empty but the batch."""
    if input.ndim not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    first = input.ndim - 4
    for dim, length in enumerate(input.shape[first:]):
        if length == 0:
            raise RuntimeError(
                f"{kernel}(): Expected input's non-batch dimensions to have positive length, but "
                f"input has a shape of {list(input.shape)} and non-batch dimension {dim} has "
                "length zero!"
            )


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """y[n, c, t] = max over the window at t·s - p of the ``-inf``-padded input.

    Shape: (N, C, L) or (C, L) → (N, C, ⌊(L + 2p - d·(k - 1) - 1) / s⌋ + 1).
    """
    x = _as_2d(input, "max_pool1d", "max")
    stride = None if stride is None or stride in ((), []) else (1, _first(stride))
    result = max_pool2d(
        x,
        (1, _first(kernel_size)),
        stride,
        (0, _first(padding)),
        (1, _first(dilation)),
        ceil_mode,
        return_indices,
    )
    if not return_indices:
        return result.squeeze(-2)
    return result[0].squeeze(-2), result[1].squeeze(-2)


# ---------------------------------------------------------------- average pooling


def _divisor(x, out, kernel, stride, padding, count_include_pad, divisor_override, dtype):
    """The divisor of each output position (separable over dims), as PyTorch counts it,
    on ``x``'s device."""
    if divisor_override is not None:
        return xp.full(out, float(divisor_override), dtype, like=x)
    result = xp.ones((), dtype, like=x)
    for dim, (length, o, k, s, p) in enumerate(zip(x.shape[2:], out, kernel, stride, padding)):
        start = xp.arange(o, like=x) * s - p
        end = xp.minimum(start + k, length + p)
        if count_include_pad:
            count = end - start
        else:
            count = xp.minimum(end, length) - xp.maximum(start, 0)
        result = result[..., None] * count.astype(dtype)
    return result


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """y[n, c, i, j] = (1 / divisor) Σ over the window at (i·s - p, j·s - p) of the zero-padded
    input; the divisor counts the window's elements (padding included unless
    ``count_include_pad=False``), or is ``divisor_override``.

    Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), H_out = ⌊(H + 2p - k) / s⌋ + 1.
    """
    kernel, stride, padding, _ = _pool_params("avg_pool2d", kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if input.ndim < 3:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
            f"{max(input.ndim, 1) - 1}], but got -3)"
        )
    if input.ndim > 4 or 0 in input.shape[-3:]:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
            f"got:{list(input.shape)}"
        )
    x, unbatched = _batched(input)
    out, geometry = _windows_geometry(x, kernel, stride, padding, (1, 1), ceil_mode)
    dtype = x._data.dtype if x._data.dtype.kind == "f" else xp.float64
    divisor = _divisor(
        x._data, out, kernel, stride, padding, count_include_pad, divisor_override, dtype
    )
    output = AvgPool2D.apply(x, kernel, geometry, divisor)
    return output.squeeze(0) if unbatched else output


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """y[n, c, t] = mean of the window at t·s - p of the zero-padded input.

    Shape: (N, C, L) or (C, L) → (N, C, ⌊(L + 2p - k) / s⌋ + 1).
    """
    x = _as_2d(input, "avg_pool1d", "avg")
    stride = None if stride is None or stride in ((), []) else (1, _first(stride))
    return avg_pool2d(
        x, (1, _first(kernel_size)), stride, (0, _first(padding)), ceil_mode, count_include_pad
    ).squeeze(-2)


@autocasts(FLOAT32, cuda=NATIVE)
def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """y[n, c, t, i, j] = (1 / divisor) Σ over the window at (t·s - p, i·s - p, j·s - p) of the
    zero-padded input; the divisor counts the window's elements (padding included unless
    ``count_include_pad=False``), or is ``divisor_override``.

    Args:
        kernel_size, stride (default ``kernel_size``), padding: ints or triples.
        ceil_mode: round the output size up (a last, partial window).
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide every window's sum by this instead.

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out),
        D_out = ⌊(D + 2p - k) / s⌋ + 1 (⌈·⌉ with ``ceil_mode``).

    Returns:
        The averages, in the input's dtype (integers are truncated, as PyTorch's).

    Example::

        >>> F.avg_pool3d(ember.ones(1, 1, 4, 4, 4), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    kernel, stride, padding, _ = _pool_params(
        "avg_pool3d", kernel_size, stride, padding, count=3
    )
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _check_3d(input, "avg_pool3d")
    size = input.shape[-3:]
    if any(length < k for length, k in zip(size, kernel)):
        raise RuntimeError(
            f"input image ({_labelled('', size)}) smaller than kernel size "
            f"({_labelled('k', kernel)})"
        )
    if input.dtype.name in ("bool", "float16", "bfloat16"):
        raise NotImplementedError(
            f"\"avg_pool3d_out_frame\" not implemented for '{_legacy(input.dtype)}'"
        )
    x, unbatched = _batched(input, 3)
    out, geometry = _windows_geometry(x, kernel, stride, padding, (1, 1, 1), ceil_mode)
    dtype = x._data.dtype if x._data.dtype.kind == "f" else xp.float64
    divisor = _divisor(
        x._data, out, kernel, stride, padding, count_include_pad, divisor_override, dtype
    )
    output = AvgPool3D.apply(x, kernel, geometry, divisor)
    return output.squeeze(0) if unbatched else output


def lp_pool2d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """y = (Σ_window x^p)^(1/p), composed from ``avg_pool2d`` as PyTorch does."""
    kernel_height, kernel_width = _tuple(
        kernel_size, 2, "lp_pool2d: kernel_size must be an int or a pair"
    )
    out = _signed_power_mean(avg_pool2d, input, norm_type, kernel_size, stride, ceil_mode)
    return out.mul(kernel_height * kernel_width).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """y = (Σ_window x^p)^(1/p) over 1-D windows."""
    out = _signed_power_mean(avg_pool1d, input, norm_type, kernel_size, stride, ceil_mode)
    return out.mul(_first(kernel_size)).pow(1.0 / norm_type)


def lp_pool3d(
    input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """y = (Σ_window x^p)^(1/p) over 3-D windows, composed from ``avg_pool3d`` as PyTorch does.

    Args:
        norm_type: the power p.
        kernel_size: an int or a triple; stride (default ``kernel_size``): an int or a triple.
        ceil_mode: round the output size up (a last, partial window).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out), as ``avg_pool3d``.

    Example::

        >>> F.lp_pool3d(ember.ones(1, 1, 4, 4, 4), 2, 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    if isinstance(kernel_size, (list, tuple)):
        if len(kernel_size) != 3:  # PyTorch unpacks the triple in Python
            raise ValueError(
                f"not enough values to unpack (expected 3, got {len(kernel_size)})"
                if len(kernel_size) < 3 else "too many values to unpack (expected 3)"
            )
        volume = math.prod(kernel_size)
    else:
        volume = kernel_size**3
    out = _signed_power_mean(avg_pool3d, input, norm_type, kernel_size, stride, ceil_mode)
    return out.mul(volume).pow(1.0 / norm_type)


def _signed_power_mean(average, input, norm_type, kernel_size, stride, ceil_mode) -> Tensor:
    """The ``average`` pool of x^p, as sign · relu(|·|) (PyTorch's form, for its gradient)."""
    if stride is not None:
        out = average(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    else:
        out = average(input.pow(norm_type), kernel_size, padding=0, ceil_mode=ceil_mode)
    return out.sign() * relu(out.abs())


# ---------------------------------------------------------------- adaptive pooling


def _adaptive_sizes(output_size, input: Tensor, count: int, op: str) -> tuple:
    maximum = op.startswith("adaptive_max")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != count:
            if count == 1:
                raise RuntimeError(
                    f"{op}() argument 'output_size' should contain one int (got "
                    f"{len(output_size)})"
                )
            raise RuntimeError(
                f"{op}(): internal error: output_size.size() must be {count}"
                if maximum else f"{op}: output_size must be {count}"
            )
        sizes = output_size
    else:
        sizes = (output_size,) * count
    spatial = input.shape[-count:]
    sizes = tuple(length if size is None else int(size) for size, length in zip(sizes, spatial))
    negative = [size for size in sizes if size < 0]
    if negative and maximum:
        shape = list(input.shape[:-count]) + list(sizes)
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {negative[0]}: {shape}"
        )
    if negative:
        # PyTorch's 3-D message joins the last size without a space
        listed = ", ".join(str(s) for s in sizes[:2]) + "".join(f",{s}" for s in sizes[2:])
        raise RuntimeError(
            f"{op}: elements of output_size must be greater than or equal to 0 but received "
            "{" + listed + "}"
        )
    return sizes


def _bounds(length: int, out: int, like) -> tuple:
    """PyTorch's adaptive windows: [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉), on ``like``'s device."""
    index = xp.arange(out, like=like)
    return (index * length) // out, -((-(index + 1) * length) // out)


def _averaging_matrix(length: int, out: int, like):
    start, end = _bounds(length, out, like)
    positions = xp.arange(length, like=like)
    inside = (positions >= start[:, None]) & (positions < end[:, None])
    # the sizes alone make it: a constant of a compiled call
    return _tape.made(Tensor._make((inside / (end - start)[:, None]).astype(like.dtype)))


def _check_adaptive(input: Tensor, count: int, op: str) -> None:
    if input.ndim not in (count + 1, count + 2):
        if count == 1:
            raise RuntimeError(
                f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for "
                f"argument #1 'self' (while checking arguments for {op})"
            )
        colon = ":" if op.startswith("adaptive_max") else ""
        raise RuntimeError(
            f"{op}(): Expected {count + 1}D or {count + 2}D tensor, but got{colon} "
            f"{list(input.shape)}"
        )
    first = 1 if input.ndim == count + 2 else 0
    for dim in range(first, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(
                f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {dim} being empty"
            )
    if not input.dtype.is_floating_point:
        kernel = f"{op}_cpu" if count == 3 else op  # PyTorch's 3-D kernels carry the suffix
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(input.dtype)}'")


@autocasts(NATIVE)
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over windows [⌊i·H/O⌋, ⌈(i + 1)·H/O⌉) so that the output is ``output_size``.

    Composed as A_H · x · A_Wᵀ with fixed averaging matrices (each row averages one window).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size); ``None`` keeps that size.
    """
    _check_adaptive(input, 2, "adaptive_avg_pool2d")
    out_height, out_width = _adaptive_sizes(output_size, input, 2, "adaptive_avg_pool2d")
    height, width = input.shape[-2:]
    if (out_height, out_width) == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    rows = _averaging_matrix(height, out_height, input._data)
    columns = _averaging_matrix(width, out_width, input._data)
    return rows.matmul(input.matmul(columns.t()))


@autocasts(NATIVE)
def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average over windows [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉). Shape: (N, C, L) or (C, L) → (..., O)."""
    _check_adaptive(input, 1, "adaptive_avg_pool1d")
    (out,) = _adaptive_sizes(output_size, input, 1, "adaptive_avg_pool1d")
    return input.matmul(_averaging_matrix(input.shape[-1], out, input._data).t())


def _adaptive_max_indices(x, out):
    """Flat spatial index of the maximum of each adaptive window of ``x`` (N, C, *L)."""
    count = len(out)
    tables = []
    for length, size in zip(x.shape[2:], out):
        start, end = _bounds(length, size, x)
        # The widest window, from the sizes alone (no wait for the device).
        widest = max((-(-(i + 1) * length // size) - i * length // size for i in range(size)),
                     default=1)
        # Short windows repeat their last element: a later duplicate never wins a tie.
        tables.append(xp.minimum(start[:, None] + xp.arange(widest, like=x), end[:, None] - 1))
    # Each dim's table (O_d, widest_d) placed at axes d and count + d of (*out, *widest).
    key = tuple(
        table.reshape([table.shape[0] if axis == dim else table.shape[1] if axis == count + dim
                       else 1 for axis in range(2 * count)])
        for dim, table in enumerate(tables)
    )
    gathered = x[(slice(None), slice(None)) + key]
    shape = gathered.shape
    choice = _window_argmax(gathered.reshape(shape[: 2 + count] + (-1,)))
    offsets = xp.unravel_index(choice, shape[2 + count :])
    index = 0
    for dim, (table, offset) in enumerate(zip(tables, offsets)):
        rows = xp.arange(out[dim], like=x).reshape([-1 if i == dim else 1 for i in range(count)])
        index = index * x.shape[2 + dim] + table[rows, offset]
    return asarray(index, dtype=xp.int64)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over windows [⌊i·H/O⌋, ⌈(i + 1)·H/O⌉) × [⌊j·W/O⌋, ⌈(j + 1)·W/O⌉).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size); ``None`` keeps that size.
    """
    _check_adaptive(input, 2, "adaptive_max_pool2d")
    out = _adaptive_sizes(output_size, input, 2, "adaptive_max_pool2d")
    x, unbatched = _batched(input)
    indices = NonDifferentiable.found(_adaptive_max_indices, x, out=out)
    values = AdaptiveMaxPool2D.apply(x, indices)
    if unbatched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over windows [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉). Shape: (N, C, L) or (C, L) → (..., O)."""
    _check_adaptive(input, 1, "adaptive_max_pool1d")
    (out,) = _adaptive_sizes(output_size, input, 1, "adaptive_max_pool1d")
    values, indices = adaptive_max_pool2d(input.unsqueeze(-2), (1, out), True)
    values, indices = values.squeeze(-2), indices.squeeze(-2)
    return (values, indices) if return_indices else values


@autocasts(FLOAT32, cuda=NATIVE)
def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average over windows [⌊i·D/O⌋, ⌈(i + 1)·D/O⌉) along each of the three spatial dims, so
    that the output is ``output_size``.

    Composed as in ``adaptive_avg_pool2d``: a fixed averaging matrix applied along each dim.

    Args:
        output_size: an int or a triple; ``None`` in the triple keeps that size.

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size).

    Example::

        >>> F.adaptive_avg_pool3d(ember.ones(1, 1, 5, 6, 7), (2, None, 3)).shape
        ember.Size([1, 1, 2, 6, 3])
    """
    _check_adaptive(input, 3, "adaptive_avg_pool3d")
    out_depth, out_height, out_width = _adaptive_sizes(
        output_size, input, 3, "adaptive_avg_pool3d"
    )
    depth, height, width = input.shape[-3:]
    if (out_depth, out_height, out_width) == (1, 1, 1):
        return input.mean((-3, -2, -1), keepdim=True)
    depths = _averaging_matrix(depth, out_depth, input._data)
    rows = _averaging_matrix(height, out_height, input._data)
    columns = _averaging_matrix(width, out_width, input._data)
    planes = rows.matmul(input.matmul(columns.t()))  # (..., D, H_out, W_out)
    lead = tuple(input.shape[:-3])
    pooled = depths.matmul(planes.reshape(lead + (depth, out_height * out_width)))
    return pooled.reshape(lead + (out_depth, out_height, out_width))


@autocasts(FLOAT32, cuda=NATIVE)
def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over windows [⌊i·D/O⌋, ⌈(i + 1)·D/O⌉) along each of the three spatial dims.

    Args:
        output_size: an int or a triple; ``None`` in the triple keeps that size.
        return_indices: also return each maximum's flat index into its input volume.

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size).

    Example::

        >>> F.adaptive_max_pool3d(ember.ones(1, 1, 5, 6, 7), 2).shape
        ember.Size([1, 1, 2, 2, 2])
    """
    _check_adaptive(input, 3, "adaptive_max_pool3d")
    out = _adaptive_sizes(output_size, input, 3, "adaptive_max_pool3d")
    x, unbatched = _batched(input, 3)
    indices = NonDifferentiable.found(_adaptive_max_indices, x, out=out)
    values = AdaptiveMaxPool3D.apply(x, indices)
    if unbatched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return (values, indices) if return_indices else values


def _with_indices(pool):
    """PyTorch's ``<pool>_with_indices``: ``pool`` (whose last parameter is
    ``return_indices``) returning ``(values, indices)`` whatever that argument says."""
    last = len(inspect.signature(pool).parameters) - 1

    @functools.wraps(pool)
    def with_indices(*args, **kwargs):
        if len(args) > last:
            args = (*args[:last], True, *args[last + 1 :])
        else:
            kwargs["return_indices"] = True
        return pool(*args, **kwargs)

    with_indices.__name__ = with_indices.__qualname__ = f"{pool.__name__}_with_indices"
    with_indices.__doc__ = f"``{pool.__name__}`` returning ``(values, indices)``."
    return with_indices


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
adaptive_max_pool1d_with_indices = _with_indices(adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _with_indices(adaptive_max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)
adaptive_max_pool3d_with_indices = _with_indices(adaptive_max_pool3d)
