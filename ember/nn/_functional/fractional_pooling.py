"""Fractional max pooling (Graham, 2014): the maximum over windows of a fixed size whose
starts are spread pseudo-randomly along each dim, so that the output can be any fraction
of the input's size, not only 1/stride.

Each (sample, channel) plane draws one number u in [0, 1) per spatial dim (or takes it from
``_random_samples``); along a dim of length L pooled to O windows of size k, with
α = (L - k) / (O - 1), window i starts at ⌊(i + u)·α⌋ - ⌊u·α⌋ for i < O - 1, and the last one
ends at L, computed in the input's floating type as PyTorch's kernels do. The maxima are found
on arrays; the values are gathered by max pooling's primitive, whose gradient adds each
output's gradient at the position its maximum came from.
"""

from __future__ import annotations

import math
import numbers

from ember._autocast import FLOAT32, NATIVE, autocasts
from ember._backend import asarray, xp
from ember._tensor import Tensor
from ember.nn._functional.pooling import MaxPool2DWithIndices, _window_argmax
from ember.ops._function import NonDifferentiable, _legacy
from ember.ops.random import rand

__all__ = [
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
]  # fmt: skip


class FractionalMaxPool2D(MaxPool2DWithIndices):
    """``MaxPool2DWithIndices`` under the node name PyTorch gives fractional max pooling."""


class FractionalMaxPool3D(MaxPool2DWithIndices):
    """``MaxPool2DWithIndices`` under PyTorch's 3-D fractional node name."""


# Per spatial dim, which column of a plane's samples places its windows: PyTorch's 2-D kernel
# takes the width's from column 0 and the height's from column 1, the 3-D one in order.
_SAMPLE_COLUMNS = {2: (1, 0), 3: (0, 1, 2)}
_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _starts(samples, length: int, out: int, kernel: int):
    """The start of each of ``out`` windows along a dim of ``length``, one row per sample."""
    starts = xp.empty(samples.shape + (out,), dtype=xp.int64, like=samples)
    if out > 1:
        scalar = samples.dtype.type
        alpha = scalar(length - kernel) / scalar(out - 1)
        steps = xp.arange(out - 1, like=samples).astype(samples.dtype)
        first = (samples * alpha).astype(xp.int64)
        starts[:, :-1] = ((steps + samples[:, None]) * alpha).astype(xp.int64) - first[:, None]
    if out > 0:
        starts[:, -1] = length - kernel
    return starts


def _fractional_indices(x, samples, kernel: tuple, out: tuple, dtype):
    """Flat spatial index of each window's maximum in ``x`` (N, C, *L): first of ties, the
    last NaN where there is one. The window starts are computed in ``dtype``, the input's,
    each step rounded to it as in PyTorch's half and bfloat16 kernels (a bfloat16 input
    reaches this op widened to float32)."""
    count = len(kernel)
    planes = math.prod(x.shape[:2])
    samples = samples[: x.shape[0]].astype(dtype).reshape(planes, count)
    # index[plane, *out, *kernel]: built dim by dim, as a row-major position in the plane
    index = 0
    for dim, column in enumerate(_SAMPLE_COLUMNS[count]):
        starts = _starts(samples[:, column], x.shape[2 + dim], out[dim], kernel[dim])
        table = starts[:, :, None] + xp.arange(kernel[dim], like=starts)
        shape = [planes] + [1] * (2 * count)
        shape[1 + dim], shape[1 + count + dim] = out[dim], kernel[dim]
        index = index * x.shape[2 + dim] + table.reshape(shape)
    window = index.reshape(planes, math.prod(out), math.prod(kernel))
    flat = x.reshape(planes, math.prod(x.shape[2:]))
    values = xp.take_along_axis(flat, window.reshape(planes, window.shape[1] * window.shape[2]),
                                axis=1).reshape(window.shape)
    choice = _window_argmax(values)
    found = xp.take_along_axis(window, choice[..., None], axis=2)
    return asarray(found.reshape(x.shape[:2] + tuple(out)), dtype=xp.int64)


def _sizes(value, count: int, op: str, what: str) -> tuple:
    """``kernel_size`` or ``output_size`` as ``count`` ints (PyTorch's checks and errors)."""
    if isinstance(value, (list, tuple)):
        items = tuple(value)
    else:
        items = (value,)
    for item in items:
        if not isinstance(item, numbers.Integral) or isinstance(item, bool):
            position = 2 if what == "kernel_size" else 3
            raise TypeError(f"{op}(): argument '{what}' (position {position}) must be tuple of "
                            f"ints, not {type(item).__name__}")
    if len(items) == 1:
        items = items * count
    if len(items) != count:
        ints = "Ints" if count == 2 else "three Ints"
        raise RuntimeError(f"{op}: {what} must either be a single Int or tuple of {ints}")
    return tuple(int(item) for item in items)


def _from_ratio(input: Tensor, output_ratio, count: int, op: str) -> tuple:
    ratio = output_ratio
    if isinstance(ratio, (list, tuple)):
        if count == 2 and len(ratio) > 2:
            raise ValueError(f"{op} requires output_ratio to either be a single Int or tuple of "
                             "Ints.")
    else:
        ratio = (ratio,) * count
    return tuple(int(input.size(dim - count) * ratio[dim]) for dim in range(count))


def _check(input: Tensor, samples: Tensor, kernel: tuple, out: tuple, count: int,
           name: str) -> None:
    """PyTorch's kernel checks, in its order; ``name`` is the op as its messages call it."""
    if input.ndim not in (count + 1, count + 2):
        raise RuntimeError(f"{name}(): Expected {count + 1}D or {count + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    batch_dims = input.ndim - count - 1
    for dim in range(batch_dims, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(
                f"{name}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"got{list(input.shape)} with dimension {dim} being empty."
            )
    names = _DIM_NAMES[count]
    # The 3-D kernel checks time, width, height, and wants one element to spare.
    order = (0, 1) if count == 2 else (0, 2, 1)
    spare = 0 if count == 2 else 1
    for dim in order:
        length = input.shape[input.ndim - count + dim]
        if out[dim] + kernel[dim] - 1 + spare > length:
            raise RuntimeError(f"{name}(): pool {names[dim]} {kernel[dim]} too large relative to "
                               f"input {names[dim]} {length}")
    if any(size < 0 for size in out):
        batch = (input.shape[0],) if batch_dims else ()
        shape = list(batch + (input.shape[batch_dims],) + out)
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {shape}")
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    if samples.dtype is not input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    batch = input.shape[0] if batch_dims else 1
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[batch_dims]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != count:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {count}; got "
                           f"{samples.shape[2]}.")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"{name.removesuffix('_out')}_out_frame\" not implemented for "
            f"'{_legacy(input.dtype)}'"
        )
    for dim, size in enumerate(kernel):
        if size <= 0:
            # PyTorch reads outside its windows here; ember refuses.
            raise RuntimeError(f"{name}(): kernel_size must be greater than zero, but got "
                               f"{size} for the {names[dim]}")


def _fractional_max_pool(input: Tensor, kernel_size, output_size, output_ratio,
                         _random_samples, count: int, op) -> tuple:
    public = f"fractional_max_pool{count}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{public} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        output_size = _from_ratio(input, output_ratio, count, public)
    if _random_samples is None:
        batch = 1 if input.ndim == count + 1 else input.size(0)
        _random_samples = rand(batch, input.size(-count - 1), count, dtype=input.dtype,
                               device=input.device)
    kernel = _sizes(kernel_size, count, public, "kernel_size")
    out = _sizes(output_size, count, public, "output_size")
    _check(input, _random_samples, kernel, out, count,
           public if count == 2 else f"{public}_out")
    unbatched = input.ndim == count + 1
    x = input.unsqueeze(0) if unbatched else input
    indices = NonDifferentiable.found(_fractional_indices, x, _random_samples, kernel=kernel,
                                      out=out, dtype=input.dtype.numpy)
    values = op.apply(x, indices)
    if unbatched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


@autocasts(FLOAT32, cuda=NATIVE)
def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """``fractional_max_pool2d``'s values and the flat index (h·W + w) of each maximum."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples,
                                2, FractionalMaxPool2D)


@autocasts(FLOAT32, cuda=NATIVE)
def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """``fractional_max_pool3d``'s values and the flat index ((t·H + h)·W + w) of each maximum."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples,
                                3, FractionalMaxPool3D)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """y[n, c, i, j] = max of x[n, c] over the kh × kw window at (start_h[i], start_w[j]).

    The starts are spread by one random number per plane and dim (module docstring), drawn
    with ``ember.rand`` unless ``_random_samples`` gives them.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: the window, an int or (kh, kw).
        output_size: (oH, oW) or an int for both; or
        output_ratio: the output's size as a fraction of the input's, a number or a pair
            (oH = int(H · ratio)).
        return_indices: also return the flat index h·W + w of each maximum (for
            ``max_unpool2d``).
        _random_samples: (N, C, 2) numbers in [0, 1) of the input's dtype; column 0 places
            the windows along the width, column 1 along the height.

    Shape:
        (N, C, H, W) → (N, C, oH, oW), where oH + kh - 1 <= H and oW + kw - 1 <= W.

    Returns:
        The maxima, and with ``return_indices`` also their int64 indices.

    Example::

        >>> x = ember.randn(1, 3, 10, 10)
        >>> F.fractional_max_pool2d(x, 3, output_ratio=0.5).shape
        ember.Size([1, 3, 5, 5])
    """
    values, indices = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (values, indices) if return_indices else values


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples: Tensor | None = None):
    """``fractional_max_pool2d`` over three spatial dims: (N, C, T, H, W) or (C, T, H, W) →
    (N, C, oT, oH, oW), with (N, C, 3) ``_random_samples`` whose columns place the windows
    along time, height and width, and the window strictly shorter than what is left
    (oT + kt - 1 < T, and so on), as PyTorch's kernel checks.

    Example::

        >>> F.fractional_max_pool3d(ember.randn(1, 2, 8, 8, 8), 2, output_size=3).shape
        ember.Size([1, 2, 3, 3, 3])
    """
    values, indices = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (values, indices) if return_indices else values
