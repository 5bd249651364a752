"""Repeats, reversals, slices and splits. ``Repeat``, ``Flip`` and ``Roll`` copy their input
rearranged, and their gradients rearrange the incoming one back; ``Slice`` and ``Select`` view
a part of the input, and their gradients pad the incoming one with zeros to the input's size.
Every split, chunk and unbind is a tuple of slices or selections."""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import Lowered, Op, lowerable, wrap_dim
from ember.ops.copy import clone
from ember.ops.shape._common import _along, _dim_list, _numpy_names, _sizes, _strict_dim
from ember.ops.shape.views import transpose


class Repeat(Op):
    @staticmethod
    def forward(ctx, x, repeats):
        ctx.shape, ctx.repeats = x.shape, repeats
        return xp.tile(x, repeats) if repeats else x.copy()

    @staticmethod
    def backward(ctx, grad):
        repeats = ctx.repeats
        if not repeats:
            return grad, None
        padded = (1,) * (len(repeats) - len(ctx.shape)) + tuple(ctx.shape)
        # Output dim i is (repeat r_i) x (size s_i): split it and sum over the repeats.
        split = [v for pair in zip(repeats, padded) for v in pair]
        summed = grad.reshape(split).sum(dim=tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.shape), None


def repeat(input: Tensor, *sizes) -> Tensor:
    """``input`` tiled ``sizes[i]`` times along dim ``i`` (extra sizes add leading dims).

    Example::

        >>> ember.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    sizes = _sizes(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    padded = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    target = [size * count for size, count in zip(padded, sizes)]
    for size in target:
        if size < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {size}: {target}")
    return Repeat.apply(input, sizes)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` where too few ``dims`` are padded with leading 1s."""
    dims = _sizes((dims,))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return xp.flip(x, dims).copy()  # PyTorch's flip copies; NumPy's would alias

    @staticmethod
    def backward(ctx, grad):
        return flip(grad, ctx.dims), None


def flip(input: Tensor, dims) -> Tensor:
    """``input`` reversed along each of ``dims`` (a copy)."""
    dims = _dim_list(dims, input.ndim, "flip")
    return Flip.apply(input, dims if input.ndim else ())


def fliplr(input: Tensor) -> Tensor:
    """``input`` reversed left to right (dim 1); needs at least 2 dims."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """``input`` reversed upside down (dim 0); needs at least 1 dim."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return xp.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        shifts = ctx.shifts
        back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return Roll.apply(grad, back, ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """``input`` shifted cyclically by ``shifts`` along ``dims`` (the flattened input if None).

    Example::

        >>> ember.tensor([1, 2, 3]).roll(1)
        tensor([3, 1, 2])
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input, shifts[0], None)  # NumPy rolls the flattened array too
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    dims = tuple(_strict_dim(d, input.ndim, "roll") for d in dims)
    return Roll.apply(input, shifts, dims)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """``input`` rotated by ``k`` quarter turns in the plane of ``dims``, from the first
    dim towards the second."""
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.ndim}")
    first, second = (wrap_dim(d, input.ndim, "rot90") for d in dims)
    if first == second:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {first} and dim1 = {second}"
        )
    k %= 4
    if k == 1:
        return transpose(flip(input, (second,)), first, second)
    if k == 2:
        return flip(input, (first, second))
    if k == 3:
        return transpose(flip(input, (first,)), first, second)
    return clone(input)


# ---------------------------------------------------------------- slices and splits


def _widths(ndim: int, dim: int, before: int, after: int) -> tuple:
    return tuple((before, after) if d == dim else (0, 0) for d in range(ndim))


class Slice(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, dim, start, stop):
        ctx.widths = _widths(x.ndim, dim, start, x.shape[dim] - stop)
        return x[_along(dim, slice(start, stop))]

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.pad(grad, ctx.widths), None, None, None

    @classmethod
    def lower(cls, needs, out, x, dim, start, stop):
        """The same view, and its gradient padded with zeros, without a ctx."""
        if not lowerable(x, out):
            return None
        key = _along(dim, slice(start, stop))
        widths = _widths(len(x.shape), dim, start, x.shape[dim] - stop)
        return Lowered(lambda x, dim, start, stop: x[key], (),
                       lambda grad: (ArrayMath.pad(grad, widths), None, None, None))


class Select(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.widths = dim, _widths(x.ndim, dim, index, x.shape[dim] - index - 1)
        return x[_along(dim, index) + (Ellipsis,)]  # the Ellipsis keeps a 0-d result an array

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.pad(xp.expand_dims(grad, ctx.dim), ctx.widths), None, None


@_numpy_names
def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """The view ``input[start:start + length]`` along ``dim``; ``start`` may be negative."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim, "narrow")
    start, length, size = int(start), int(length), input.shape[dim]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    start = start + size if start < 0 else start
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return Slice.apply(input, dim, start, start + length)


def narrow_copy(input: Tensor, dim: int, start, length: int) -> Tensor:
    """``narrow`` as a new tensor of its own."""
    return clone(narrow(input, dim, start, length))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view ``input[..., index, ...]`` with dim ``dim`` removed."""
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, input.ndim, "select")
    index, size = int(index), input.shape[dim]
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {dim}"
        )
    return Select.apply(input, dim, index % size)


def _pieces(input: Tensor, dim: int, lengths) -> tuple:
    start, pieces = 0, []
    for length in lengths:
        pieces.append(Slice.apply(input, dim, start, start + length))
        start += length
    return tuple(pieces)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of ``tensor`` along ``dim``: pieces of ``split_size`` (the last may be smaller),
    or of the listed sizes.

    Example::

        >>> [p.tolist() for p in ember.arange(5).split(2)]
        [[0, 1], [2, 3], [4]]
    """
    if not isinstance(split_size_or_sections, int):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, tensor.ndim, "split")
    size, step = tensor.shape[dim], split_size_or_sections
    if step < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
    if step == 0 and size != 0:
        raise RuntimeError(
            f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}"
        )
    count = max(-(-size // step), 1) if step else 1
    return _pieces(tensor, dim, [step] * (count - 1) + [size - step * (count - 1)])


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim`` of the given sizes, which must add up to its size."""
    if input.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    dim = wrap_dim(dim, input.ndim, "split_with_sizes")
    sizes = [int(s) for s in split_sizes]
    total = input.shape[dim]
    for size in sizes:
        if size < 0:
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sizes}"
            )
    if sum(sizes) != total:
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {total} (input tensor's "
            f"size at dimension {dim}), but got split_sizes={sizes}"
        )
    return _pieces(input, dim, sizes)


@_numpy_names
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``input`` split into at most ``chunks`` views of ``ceil(size / chunks)`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = wrap_dim(dim, input.ndim, "chunk")
    size = input.shape[dim]
    step = -(-size // chunks)
    if step == 0:
        return _pieces(input, dim, [0] * chunks)
    return split(input, step, dim)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim``: ``n`` near-equal sections, or cut at ``indices``.

    With sections, the first ``size % n`` pieces are one longer. Indices slice like Python
    (negative ones count from the end, out-of-order ones give empty pieces).
    """
    if input.ndim == 0:
        raise RuntimeError(
            "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"
        )
    if isinstance(indices_or_sections, Tensor):
        values = indices_or_sections
        if values.dtype.is_floating_point or values.dtype.name == "bool" or values.ndim > 1:
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                f"{values.dtype}"
                if values.ndim <= 1
                else "tensor_split expected tensor_indices_or_sections to be a zero-dimensional "
                f"or one-dimensional tensor, but got a tensor with {values.ndim} dims"
            )
        indices_or_sections = values.item() if values.ndim == 0 else values.tolist()
    dim = wrap_dim(dim, input.ndim, "tensor_split")
    size = input.shape[dim]
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        base, extra = divmod(size, sections)
        return _pieces(input, dim, [base + 1] * extra + [base] * (sections - extra))
    bounds = [0] + [int(i) for i in indices_or_sections] + [size]
    pieces = []
    for start, stop in zip(bounds, bounds[1:]):
        start, stop, _ = slice(start, stop).indices(size)
        pieces.append(Slice.apply(input, dim, start, max(start, stop)))
    return tuple(pieces)


def _split_by(input: Tensor, sections, dim: int, name: str, min_ndim: int) -> tuple:
    if input.ndim < min_ndim:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {min_ndim} dimension, but got a tensor "
            f"with {input.ndim} dimensions!"
        )
    if isinstance(sections, int):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {size} is not divisible by the split_size {sections}!"
            )
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 of a 1-D input); sections must divide evenly."""
    return _split_by(input, indices_or_sections, 1 if input.ndim > 1 else 0, "hsplit", 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of an input of 2 or more dims; sections must divide evenly."""
    return _split_by(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of an input of 3 or more dims; sections must divide evenly."""
    return _split_by(input, indices_or_sections, 2, "dsplit", 3)


@_numpy_names
def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices ``input.select(dim, i)`` for every ``i``."""
    dim = _strict_dim(dim, input.ndim, "unbind")
    return tuple(Select.apply(input, dim, i) for i in range(input.shape[dim]))
