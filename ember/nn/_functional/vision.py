"""Image layout ops: ``unfold``/``fold`` (im2col/col2im), ``interpolate``, ``pixel_shuffle``
and ``pad``.

``Im2Col`` and ``Col2Im`` are each other's adjoint, and each one's backward is the other,
so both differentiate to any order. ``interpolate`` is composed: nearest modes select rows
(``index_select``, whose gradient accumulates), the linear and cubic modes multiply each
spatial dim by a fixed interpolation matrix (one matmul per dim), and ``'area'`` is
adaptive average pooling.
"""

from __future__ import annotations

import math

from ember import _tape
from ember._backend import device_index, to_device, xp
from ember._tensor import Tensor
from ember.nn._functional import pooling
from ember.nn._functional._conv_kernels import (
    Geometry,
    accumulate,
    output_size as block_counts,
    padded,
    windows,
)
from ember.ops._function import Op, _legacy
from ember.ops.indexing import index_select
from ember.ops.shape import pad

__all__ = [
    "unfold", "fold", "interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "pad",
]  # fmt: skip


# ---------------------------------------------------------------- im2col / col2im


def _block_order(count: int) -> tuple:
    """Axes of (N, C, *out, *kernel) in the order (N, C, *kernel, *out)."""
    return (0, 1, *range(2 + count, 2 + 2 * count), *range(2, 2 + count))


class Im2Col(Op):
    """Every window of ``x`` (N, C, *size) as a column: (N, C·prod(kernel), prod(out))."""

    @staticmethod
    def forward(ctx, x, kernel, geometry):
        ctx.kernel, ctx.geometry, ctx.size = kernel, geometry, x.shape[2:]
        out = block_counts(x.shape[2:], kernel, geometry)
        view = windows(padded(x, geometry), kernel, out, geometry)
        blocks = view.transpose(_block_order(len(kernel)))
        return blocks.reshape(x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out))

    @staticmethod
    def backward(ctx, grad):
        return Col2Im.apply(grad, ctx.size, ctx.kernel, ctx.geometry), None, None


class Col2Im(Op):
    """The adjoint of ``Im2Col``: columns summed back into an image of spatial ``size``."""

    @staticmethod
    def forward(ctx, columns, size, kernel, geometry):
        ctx.kernel, ctx.geometry = kernel, geometry
        count = len(kernel)
        out = block_counts(size, kernel, geometry)
        channels = columns.shape[1] // math.prod(kernel)
        blocks = columns.reshape((columns.shape[0], channels) + tuple(kernel) + tuple(out))
        order = _block_order(count)
        inverse = tuple(order.index(axis) for axis in range(len(order)))
        return accumulate(blocks.transpose(inverse), size, kernel, geometry)

    @staticmethod
    def backward(ctx, grad):
        return Im2Col.apply(grad, ctx.kernel, ctx.geometry), None, None, None


def _pair(value, name: str) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]),) * 2
        if len(value) != 2:
            raise RuntimeError(f"{name} must be an int or a pair of ints, got {value}")
        return tuple(int(v) for v in value)
    return (int(value),) * 2


def _fold_params(kernel_size, dilation, padding, stride) -> tuple:
    kernel, dilation = _pair(kernel_size, "kernel_size"), _pair(dilation, "dilation")
    padding, stride = _pair(padding, "padding"), _pair(stride, "stride")
    if min(kernel) <= 0:
        raise RuntimeError(
            "kernel size should be greater than zero, but got kernel_height: "
            f"{kernel[0]} kernel_width: {kernel[1]}"
        )
    if min(stride) <= 0:
        raise RuntimeError(
            f"stride should be greater than zero, but got dH: {stride[0]} dW: {stride[1]}"
        )
    if min(dilation) <= 0:
        raise RuntimeError(
            "dilation should be greater than zero, but got dilation_height: "
            f"{dilation[0]} dilation_width: {dilation[1]}"
        )
    if min(padding) < 0:
        raise RuntimeError(
            f"padding should be non-negative, but got pad_height: {padding[0]} pad_width: "
            f"{padding[1]}"
        )
    return kernel, Geometry(stride, dilation, padding, padding)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: each sliding block of the zero-padded input as a column.

    Shape: (N, C, H, W) or (C, H, W) → (N, C·kH·kW, L) with L the number of blocks,
    ∏_d ⌊(size_d + 2·p_d - dilation_d·(k_d - 1) - 1) / stride_d⌋ + 1.

    Example::

        >>> F.unfold(ember.ones(1, 2, 3, 3), 2).shape
        ember.Size([1, 8, 4])
    """
    if input.ndim < 3:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-max(input.ndim, 1)}, "
            f"{max(input.ndim, 1) - 1}], but got {input.ndim})"
        )
    kernel, geometry = _fold_params(kernel_size, dilation, padding, stride)
    if input.ndim > 4 or 0 in input.shape[-3:]:
        raise RuntimeError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
            f"got: {list(input.shape)}"
        )
    x, unbatched = (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)
    blocks = block_counts(x.shape[2:], kernel, geometry)
    if min(blocks) < 1:
        raise RuntimeError(
            f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={kernel}, "
            f"dilation={geometry.dilation}, padding={geometry.before}, calculated shape of the "
            f"array of sliding blocks as {blocks}, but its components must be at least one."
        )
    output = Im2Col.apply(x, kernel, geometry)
    return output.squeeze(0) if unbatched else output


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im: the adjoint of ``unfold``; columns are summed back into place (overlaps add).

    Shape: (N, C·kH·kW, L) or (C·kH·kW, L) → (N, C, *output_size).
    """
    size = _pair(output_size, "output_size")
    kernel, geometry = _fold_params(kernel_size, dilation, padding, stride)
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(
            "Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for input, but "
            f"got: {list(input.shape)}"
        )
    columns, unbatched = (input.unsqueeze(0), True) if input.ndim == 2 else (input, False)
    if columns.shape[1] % math.prod(kernel):
        raise RuntimeError(
            "Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={columns.shape[1]} and kernel_size={kernel}."
        )
    blocks = block_counts(size, kernel, geometry)
    if min(blocks) < 1 or math.prod(blocks) != columns.shape[2]:
        raise RuntimeError(
            f"Given output_size={size}, kernel_size={kernel}, dilation={geometry.dilation}, "
            f"padding={geometry.before}, stride={geometry.stride}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {blocks[0]} * "
            f"{blocks[1]} = {math.prod(blocks)}, but got input.size(2)={columns.shape[2]}."
        )
    output = Col2Im.apply(columns, size, kernel, geometry)
    return output.squeeze(0) if unbatched else output


# ---------------------------------------------------------------- interpolate

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _nearest_index(length: int, out: int, scale, exact: bool):
    """PyTorch's nearest source index (computed in float32, as its kernels do)."""
    if not exact and out == length:
        return xp.arange(out)
    if not exact and out == 2 * length:
        return xp.arange(out) >> 1
    ratio = xp.float32(1.0 / scale) if scale else xp.float32(length) / xp.float32(out)
    position = xp.arange(out, dtype=xp.float32) + (xp.float32(0.5) if exact else 0)
    return xp.minimum(xp.floor(position * ratio).astype(xp.int64), length - 1)


def _source(length: int, out: int, scale, align_corners: bool, cubic: bool):
    if align_corners:
        ratio = (length - 1) / (out - 1) if out > 1 else 0.0
        return ratio * xp.arange(out, dtype=xp.float64)
    ratio = 1.0 / scale if scale else length / out
    source = ratio * (xp.arange(out, dtype=xp.float64) + 0.5) - 0.5
    return source if cubic else xp.maximum(source, 0.0)


def _interpolation_matrix(length: int, out: int, scale, align_corners: bool, cubic: bool):
    """The (out, length) matrix of the linear (or cubic, A = -0.75) interpolation weights."""
    source = _source(length, out, scale, align_corners, cubic)
    matrix = xp.zeros((out, length))
    rows = xp.arange(out)
    if cubic:
        floor = xp.floor(source)
        t = source - floor
        a = -0.75

        def near(d):  # |d| <= 1
            return ((a + 2) * d - (a + 3)) * d * d + 1

        def far(d):  # 1 < |d| < 2
            return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

        weights = (far(t + 1), near(t), near(1 - t), far(2 - t))
        for offset, weight in zip((-1, 0, 1, 2), weights):
            columns = xp.clip(floor.astype(xp.int64) + offset, 0, length - 1)
            xp.add.at(matrix, (rows, columns), weight)
        return matrix
    low = xp.minimum(xp.floor(source).astype(xp.int64), length - 1)
    fraction = xp.clip(source - low, 0.0, 1.0)
    high = low + (low < length - 1)
    xp.add.at(matrix, (rows, low), 1.0 - fraction)
    xp.add.at(matrix, (rows, high), fraction)
    return matrix


def _along(x: Tensor, dim: int, matrix) -> Tensor:
    """``matrix`` (out, length), a host array, applied along ``dim`` of ``x``."""
    weights = _tape.made(Tensor._make(to_device(matrix.astype(x._data.dtype),
                                                device_index(x._data))))
    if dim == x.ndim - 1:
        return x.matmul(weights.t())
    return x.movedim(dim, -1).matmul(weights.t()).movedim(-1, dim)


def _interpolate_sizes(input, size, scale_factor, recompute_scale_factor) -> tuple:
    count = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != count:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                    "size in (o1, o2, ...,oK) format."
                )
            sizes = [int(s) for s in size]
        else:
            sizes = [int(size)] * count
        return sizes, [None] * count
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != count:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format."
            )
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * count
    sizes = [math.floor(length * s) for length, s in zip(spatial, scales)]
    return sizes, ([None] * count if recompute_scale_factor else scales)


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of ``input`` (N, C, *spatial) to ``size`` or by ``scale_factor``.

    Args:
        mode: ``'nearest'``, ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'``
            or ``'bicubic'`` (4-D), ``'trilinear'`` (5-D) or ``'area'``.
        align_corners: for the linear and cubic modes, map the corner pixels' centres onto
            each other (default False).
        recompute_scale_factor: compute the scale from the output size instead of using
            ``scale_factor`` in the interpolation.

    Shape: (N, C, *spatial) → (N, C, *size), size_d = ⌊spatial_d · scale_factor_d⌋.
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("ember's interpolate does not implement antialias=True")
    if mode in _LINEAR_DIMS and input.ndim in (3, 4, 5) and input.ndim - 2 != _LINEAR_DIMS[mode]:
        raise NotImplementedError(
            f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR_DIMS[mode] + 2}D input"
        )
    if input.ndim not in (3, 4, 5) or mode not in (
        "nearest",
        "area",
        "nearest-exact",
        *_LINEAR_DIMS,
    ):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
            f"the modes: {_MODES} (got {mode})"
        )
    sizes, scales = _interpolate_sizes(input, size, scale_factor, recompute_scale_factor)
    spatial = tuple(input.shape[2:])
    if min(sizes) <= 0 or min(spatial) <= 0:
        letters = ("D", "H", "W")[3 - len(sizes) :]
        given = ", ".join(f"{a}: {s}" for a, s in zip(letters, spatial))
        wanted = ", ".join(f"{a}: {s}" for a, s in zip(letters, sizes))
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input ({given}) and "
            f"output ({wanted})"
        )
    if not input.dtype.is_floating_point:
        kind = "nearest" if mode.startswith("nearest") else "linear"
        raise NotImplementedError(
            f"\"compute_indices_weights_{kind}\" not implemented for '{_legacy(input.dtype)}'"
        )
    if mode == "area":
        pool = {1: pooling.adaptive_avg_pool1d, 2: pooling.adaptive_avg_pool2d}.get(len(sizes))
        if pool is None:
            raise NotImplementedError(
                "ember's interpolate supports mode='area' for 3-D and 4-D input only"
            )
        return pool(input, sizes)
    output = input
    # The indices and matrices depend on the sizes alone: made on the host, then moved.
    for offset, (length, out, scale) in enumerate(zip(spatial, sizes, scales)):
        dim = 2 + offset
        if mode.startswith("nearest"):
            index = _nearest_index(length, out, scale, mode == "nearest-exact")
            index = to_device(index, device_index(input._data))
            output = index_select(output, dim, _tape.made(Tensor._make(index)))
        else:
            matrix = _interpolation_matrix(length, out, scale, align_corners, mode == "bicubic")
            output = _along(output, dim, matrix)
    return output.contiguous()


def upsample(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------- pixel shuffle


def _check_shuffle(input: Tensor, factor: int, op: str, factor_name: str) -> None:
    if input.ndim < 3:
        raise RuntimeError(
            f"{op} expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s)"
        )
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {factor_name}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): channel blocks become r×r pixel blocks."""
    _check_shuffle(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    r = upscale_factor
    *batch, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}"
        )
    lead = len(batch)
    x = input.reshape(*batch, channels // (r * r), r, r, height, width)
    x = x.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return x.reshape(*batch, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W): the inverse of ``pixel_shuffle``."""
    _check_shuffle(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    r = downscale_factor
    *batch, channels, height, width = input.shape
    for name, size, dim in (("height", height, -2), ("width", width, -1)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({dim})={size} is not divisible by {r}"
            )
    lead = len(batch)
    x = input.reshape(*batch, channels, height // r, r, width // r, r)
    x = x.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return x.reshape(*batch, channels * r * r, height // r, width // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the channels (dim 1) into ``groups`` groups and interleave them.

    ``(N, g * k, *rest)`` is read as ``(N, g, k, *rest)``, the two group dims swapped and
    flattened back, so channel ``i * k + j`` moves to ``j * g + i``.
    """
    if input.dim() < 3:
        raise RuntimeError(
            "channel_shuffle expects input to have at least 3 dimensions, but got input "
            f"with sizes {list(input.shape)}"
        )
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. "
                           f"Value of groups:{groups}")
    channels = input.shape[1]
    if channels % groups != 0:
        raise RuntimeError(
            "Number of channels must be divisible by groups. Got "
            f"{channels} channels and {groups} groups."
        )
    batch, rest = input.shape[0], tuple(input.shape[2:])
    grouped = input.reshape(batch, groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(batch, channels, *rest)
