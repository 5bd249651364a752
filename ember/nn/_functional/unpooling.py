"""Max unpooling: the partial inverse of max pooling with ``return_indices=True``.

Each value is written at its flat spatial index into a zero volume (any position no window
chose stays 0); the gradient gathers the incoming gradient at those indices, and that
gather is itself differentiable. The 1-D form runs the 2-D one on a width of 1, as
PyTorch does (its errors speak of 2-D unpooling).
"""

from __future__ import annotations

import math

from ember._autocast import FLOAT32, NATIVE, autocasts
from ember._backend import xp
from ember._tensor import Tensor
from ember.nn._functional.pooling import _flat_positions
from ember.ops._function import Op, _legacy

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]

_NAMES = {2: ("two", "(height, width)"), 3: ("three", "(depth, height, width)")}


class MaxUnpool2D(Op):
    """Zeros of (N, C, *size) with the entries of ``x`` (N, C, *L) written at their flat
    spatial ``indices`` (N, C, *L); where two entries share an index, the later one stays."""

    @staticmethod
    def forward(ctx, x, indices, size):
        area = math.prod(size)
        invalid = (indices < 0) | (indices >= area)
        if invalid.any():
            first = indices.reshape(-1)[invalid.reshape(-1).argmax()]
            volume = "x".join(str(length) for length in size)
            raise RuntimeError(
                f"Found an invalid max index: {first} (output volumes are of size {volume})"
            )
        shape = x.shape[:2] + tuple(size)
        positions = _flat_positions(indices, shape)
        ctx.key, ctx.shape = ((), (positions,)), x.shape
        out = xp.zeros(math.prod(shape), x.dtype, like=x)
        out[positions] = x.reshape(-1)
        return out.reshape(shape)

    @staticmethod
    def gradients(xp, ctx, grad):
        taken = xp.get_at(xp.reshape(grad, (-1,)), ctx.key)
        return xp.reshape(taken, ctx.shape), None, None


class MaxUnpool3D(MaxUnpool2D):
    """``MaxUnpool2D`` over three spatial dims, under PyTorch's 3-D node name."""


def _unpool_params(kernel_size, stride, padding, count: int) -> tuple:
    """Kernel, stride and padding as ``count``-tuples; sequences fail as PyTorch's do."""
    if isinstance(kernel_size, (list, tuple)):
        if len(kernel_size) > count:
            raise IndexError("tuple index out of range")
        if len(kernel_size) < count:
            words, dims = _NAMES[count]
            raise RuntimeError(
                f"There should be exactly {words} elements {dims} in output_size, but got "
                f"{len(kernel_size)} elements."
            )
    stride = kernel_size if stride is None else stride

    def spread(value) -> tuple:
        if not isinstance(value, (list, tuple)):
            return (int(value),) * count
        if len(value) < count:
            raise IndexError("tuple index out of range")
        return tuple(int(v) for v in value[:count])

    return spread(kernel_size), spread(stride), spread(padding)


def _output_size(input: Tensor, kernel, stride, padding, output_size) -> tuple:
    """The spatial output size: the pooling's input size by default, else ``output_size``
    (its last dims), which must lie strictly within a stride of that default."""
    count = len(kernel)
    default = [
        (length - 1) * s - 2 * p + k
        for length, k, s, p in zip(input.shape[-count:], kernel, stride, padding)
    ]
    if output_size is None:
        return tuple(default)
    sizes = list(output_size)
    if len(sizes) == count + 2:
        sizes = sizes[2:]
    if len(sizes) != count:
        raise ValueError(
            f"output_size should be a sequence containing {count} or {count + 2} elements, but "
            f"it has a length of '{len(sizes)}'"
        )
    for dim, (size, base, s) in enumerate(zip(sizes, default, stride)):
        low, high = base - s, base + s
        if not low < size < high:
            raise ValueError(
                f'invalid output_size "{output_size}" (dim {dim} must be between {low} and '
                f"{high})"
            )
    return tuple(int(size) for size in sizes)


def _max_unpool(input, indices, kernel, stride, padding, output_size, count: int, op):
    """``max_unpool2d``/``3d`` once the parameters are tuples: PyTorch's checks, then ``op``."""
    size = _output_size(input, kernel, stride, padding, output_size)
    name = f"max_unpooling{count}d"
    if indices.dtype.name != "int64":
        suffix = f" but got: {_legacy(indices.dtype)}" if count == 2 else ""
        raise RuntimeError(f"elements in indices should be type int64{suffix}")
    if input.ndim not in (count + 1, count + 2):
        raise RuntimeError(
            f"Input to {name} should be a {count + 1}d or {count + 2}d Tensor, but got a tensor "
            f"with {input.ndim} dimensions."
        )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            "Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    first = 1 if input.ndim == count + 2 else 0
    for dim in range(first, input.ndim):
        if input.shape[dim] == 0:
            raise RuntimeError(
                f"{name}_forward_out_cpu(): Expected input to have non-zero size for non-batch "
                f"dimensions, but got {list(input.shape)} with dimension {dim} being empty."
            )
    if count == 3 and any(s <= 0 for s in stride):
        raise RuntimeError(f"strides should be greater than zero, but got stride: {list(stride)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"max_unpool{count}d\" not implemented for '{_legacy(input.dtype)}'"
        )
    if input.ndim == count + 1:
        return op.apply(input.unsqueeze(0), indices.unsqueeze(0), size).squeeze(0)
    return op.apply(input, indices, size)


@autocasts(FLOAT32, cuda=NATIVE)
def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """y[n, c].flat[indices[n, c, i, j]] = input[n, c, i, j]; every other entry of y is 0.

    The partial inverse of ``max_pool2d(..., return_indices=True)``: the maxima go back where
    they were found.

    Args:
        input, indices: the values and int64 indices that ``max_pool2d`` returned.
        kernel_size, stride (default ``kernel_size``), padding: the pooling's, ints or pairs.
        output_size: the size to restore, (H, W) or (N, C, H, W); by default
            H = (H_in - 1)·s - 2p + k, and a given size must lie strictly within s of that.

    Shape: (N, C, H_in, W_in) or (C, H_in, W_in) → (N, C, H, W) or (C, H, W).

    Example::

        >>> values, indices = F.max_pool2d(ember.arange(16.0).view(1, 1, 4, 4), 2,
        ...                                return_indices=True)
        >>> F.max_unpool2d(values, indices, 2)[0, 0, 1]
        tensor([ 0.,  5.,  0.,  7.])
    """
    kernel, stride, padding = _unpool_params(kernel_size, stride, padding, 2)
    return _max_unpool(input, indices, kernel, stride, padding, output_size, 2, MaxUnpool2D)


@autocasts(FLOAT32, cuda=NATIVE)
def max_unpool3d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """y[n, c].flat[indices[n, c, t, i, j]] = input[n, c, t, i, j]; every other entry is 0.

    The partial inverse of ``max_pool3d(..., return_indices=True)``.

    Args:
        input, indices: the values and int64 indices that ``max_pool3d`` returned.
        kernel_size, stride (default ``kernel_size``), padding: the pooling's, ints or triples.
        output_size: the size to restore, (D, H, W) or (N, C, D, H, W); by default
            D = (D_in - 1)·s - 2p + k, and a given size must lie strictly within s of that.

    Shape: (N, C, D_in, H_in, W_in) or (C, D_in, H_in, W_in) → (N, C, D, H, W) or (C, D, H, W).

    Example::

        >>> values, indices = F.max_pool3d(ember.randn(1, 1, 4, 4, 4), 2, return_indices=True)
        >>> F.max_unpool3d(values, indices, 2).shape
        ember.Size([1, 1, 4, 4, 4])
    """
    kernel, stride, padding = _unpool_params(kernel_size, stride, padding, 3)
    return _max_unpool(input, indices, kernel, stride, padding, output_size, 3, MaxUnpool3D)


@autocasts(FLOAT32, cuda=NATIVE)
def max_unpool1d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """y[n, c, indices[n, c, t]] = input[n, c, t]; every other entry of y is 0.

    The partial inverse of ``max_pool1d(..., return_indices=True)``, run as ``max_unpool2d``
    on a width of 1.

    Args:
        input, indices: the values and int64 indices that ``max_pool1d`` returned.
        kernel_size, stride (default ``kernel_size``), padding: the pooling's.
        output_size: the length to restore, (L,) or (N, C, L); by default
            L = (L_in - 1)·s - 2p + k, and a given length must lie strictly within s of that.

    Shape: (N, C, L_in) or (C, L_in) → (N, C, L) or (C, L).

    Example::

        >>> values, indices = F.max_pool1d(ember.tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2,
        ...                                return_indices=True)
        >>> F.max_unpool1d(values, indices, 2)
        tensor([[[0., 3., 2., 0.]]])
    """
    (kernel,), (stride,), (padding,) = _unpool_params(kernel_size, stride, padding, 1)
    (length,) = _output_size(input, (kernel,), (stride,), (padding,), output_size)
    return max_unpool2d(
        input.unsqueeze(-1), indices.unsqueeze(-1), (kernel, 1), (stride, 1), (padding, 0),
        (length, 1),
    ).squeeze(-1)
