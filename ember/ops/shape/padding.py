"""Gathers, padding and windows. ``IndexSelect`` reads ``x[index]`` for an integer index
(``repeat_interleave`` and the reflect, replicate and circular pads are such reads) and its
gradient adds the incoming one back at the index; ``ConstantPadNd`` pads with a value or
crops, and its gradient crops or pads back; ``Unfold`` views sliding windows, and its
gradient sums the overlapping windows back. ``meshgrid``, ``diff``, ``block_diag`` and
``cartesian_prod`` are composed from the other shape ops."""

from __future__ import annotations

import warnings

from ember import _tape
from ember._autocast import FLOAT32, autocasts
from ember._backend import device_index, to_device, to_host, xp
from ember._tensor import Tensor
from ember.autograd.function import FunctionMeta
from ember.ops._function import Op, wrap_dim
from ember.ops.comparison import ne
from ember.ops.creation import arange
from ember.ops.shape._common import _along
from ember.ops.shape.joins import cat, stack
from ember.ops.shape.slices import narrow, select
from ember.ops.shape.views import expand, flatten, reshape, view


class IndexSelect(Op):
    """``x[index]`` for an advanced NumPy ``index`` tuple; the backward scatter-adds."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape = index, x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexSelectBackward.apply(grad, ctx.index, ctx.shape), None


class IndexSelectBackward(Op):
    """Zeros of ``shape`` with ``grad`` added at ``index`` (repeated slots accumulate)."""

    @staticmethod
    def forward(ctx, grad, index, shape):
        ctx.index = index
        result = xp.zeros(shape, grad.dtype, like=grad)
        xp.add.at(result, index, grad)
        return result

    @staticmethod
    def backward(ctx, grad):
        return IndexSelect.apply(grad, ctx.index), None, None


def repeat_interleave(
    input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times consecutively.

    ``repeats`` is an int or a tensor of one count per slice. Without ``dim`` the input is
    flattened first. ``repeat_interleave(counts)`` alone gives the index each slot came from.

    Example::

        >>> ember.tensor([1, 2]).repeat_interleave(ember.tensor([1, 2]))
        tensor([1, 2, 2])
    """
    if repeats is None:
        counts = input
        positions = arange(counts.shape[0] if counts.ndim else 1, device=counts.device)
        return repeat_interleave(positions, counts, 0)
    if dim is None:
        input, dim = flatten(input), 0
    elif input.ndim == 0:
        # PyTorch rejects any dim of a 0-d input here, with this message.
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    dim = wrap_dim(dim, input.ndim, "repeat_interleave")
    length = input.shape[dim]
    read = isinstance(repeats, Tensor)
    if read:
        # the counts decide the result's shape: read on the host (PyTorch syncs here too)
        counts = to_host(repeats._data)
        if counts.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if counts.dtype.kind not in "iu":
            raise NotImplementedError(
                f"\"repeat_interleave_cpu\" not implemented for '{repeats.dtype}'"
            )
        _check_counts(counts)
        if counts.ndim == 0 or counts.shape[0] == 1:
            repeats = int(counts.reshape(-1)[0])
        elif counts.shape[0] != length:
            raise RuntimeError(
                "repeats must have the same size as input along dim, but got repeats.size(0) = "
                f"{counts.shape[0]} and input.size({dim}) = {length}"
            )
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        counts = repeats
    index = to_device(xp.repeat(xp.arange(length), counts), device_index(input._data))
    if not read:  # the sizes alone made the index: a constant of a compiled call
        _tape.derived(index)
    return IndexSelect.apply(input, _along(dim, index))


def _check_counts(counts) -> None:
    if counts.size and counts.min() < 0:
        raise RuntimeError("repeats can not be negative")


# ---------------------------------------------------------------- padding


class ConstantPadNd(Op):
    """Pad each dim by ``widths[d] = (before, after)`` with ``value``; negative widths crop."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = tuple((-before, -after) for before, after in widths)
        crop = tuple(
            slice(max(-before, 0), size - max(-after, 0))
            for (before, after), size in zip(widths, x.shape)
        )
        kept = [(max(before, 0), max(after, 0)) for before, after in widths]
        return xp.pad(x[crop], kept, constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return ConstantPadNd.apply(grad, ctx.widths, 0), None, None


_PAD_NODE_NAMES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}


_PAD_OPS = {
    (mode, k): FunctionMeta(f"{name}{k}D", (IndexSelect,), {"__module__": __name__})
    for mode, name in _PAD_NODE_NAMES.items()
    for k in (1, 2, 3)
}


def _pad_index(size: int, before: int, after: int, mode: str, like):
    positions = xp.arange(-before, size + after, like=like)
    if mode == "replicate":
        return xp.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    positions = xp.abs(positions)  # reflect about index 0, then about index size - 1
    return xp.where(positions > size - 1, 2 * (size - 1) - positions, positions)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``input`` padded as ``torch.nn.functional.pad``.

    ``pad = (left, right, top, bottom, ...)`` gives pairs for the last dim, then the one
    before it, and so on; negative padding crops. ``mode`` is ``'constant'`` (fill with
    ``value``, 0 by default), ``'reflect'`` (mirror without repeating the edge),
    ``'replicate'`` (repeat the edge) or ``'circular'`` (wrap around). The non-constant
    modes pad the last 1, 2 or 3 dims of an input with one or two more dims than that.

    Example::

        >>> pad(ember.tensor([[1., 2.]]), (1, 1), mode="reflect")
        tensor([[2., 1., 2., 1.]])
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    count = len(pad) // 2
    if count > input.ndim:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pad)} and input of dimension {input.ndim}"
        )
    widths = [(0, 0)] * (input.ndim - count) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(count))
    ]
    shape = input.shape
    if mode == "constant":
        for d, (before, after) in enumerate(widths):
            if shape[d] + min(before, 0) + min(after, 0) < 0 or max(-before, -after) > shape[d]:
                raise RuntimeError(
                    f"The input size {shape[d]}, plus negative padding {before} and {after} "
                    f"resulted in a negative output size, which is invalid. Check dimension {d} "
                    "of your input."
                )
        return ConstantPadNd.apply(input, tuple(widths), 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if count not in (1, 2, 3) or input.ndim not in (count + 1, count + 2):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    index = []
    for d in range(input.ndim - count, input.ndim):
        size, (before, after) = shape[d], widths[d]
        _check_pad(mode, size, before, after, d, shape)
        positions = _pad_index(size, before, after, mode, input._data)
        positions = positions.reshape([-1 if i == len(index) else 1 for i in range(count)])
        index.append(_tape.derived(positions))  # from the sizes alone
    op = _PAD_OPS.get((mode, count), IndexSelect)
    if mode == "circular":
        return op.apply(input, (Ellipsis, *index))
    return _edge_pad(op, input, (Ellipsis, *index))


@autocasts(FLOAT32)  # PyTorch's CPU autocast pads by reflection and replication in float32
def _edge_pad(op, input: Tensor, index: tuple) -> Tensor:
    return op.apply(input, index)


def _check_pad(mode: str, size: int, before: int, after: int, dim: int, shape) -> None:
    if size + before + after < 0 or (size == 0 and before + after > 0):
        raise RuntimeError(
            f"input (dim {dim}: {size}) is too small. Calculated output size: "
            f"{size + before + after} for input of shape {list(shape)}"
        )
    if mode == "reflect" and (before >= size or after >= size):
        raise RuntimeError(
            "Argument #4: Padding size should be less than the corresponding input dimension, "
            f"but got: padding ({before}, {after}) at dimension {dim} of input {list(shape)}"
        )
    if mode == "circular" and (before > size or after > size):
        raise RuntimeError("Padding value causes wrapping around more than once.")


# ---------------------------------------------------------------- windows, grids and differences


class Unfold(Op):
    """Windows of ``size`` every ``step`` along ``dim``, on a new last dim (a view)."""

    view_of = 0

    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.dim, ctx.size, ctx.step, ctx.length = dim, size, step, x.shape[dim]
        windows = xp.lib.stride_tricks.sliding_window_view(x, size, axis=dim)
        return windows[_along(dim, slice(None, None, step))]

    @staticmethod
    def backward(ctx, grad):
        return UnfoldBackward.apply(grad, ctx.dim, ctx.size, ctx.step, ctx.length), None, None, None


class UnfoldBackward(Op):
    """The sum of overlapping windows back into a dim of ``length``: the adjoint of ``Unfold``."""

    @staticmethod
    def forward(ctx, grad, dim, size, step, length):
        ctx.dim, ctx.size, ctx.step = dim, size, step
        shape = list(grad.shape[:-1])
        count, shape[dim] = shape[dim], length
        result = xp.zeros(shape, grad.dtype, like=grad)
        if count:
            for offset in range(size):
                stop = offset + step * (count - 1) + 1
                result[_along(dim, slice(offset, stop, step))] += grad[..., offset]
        return result

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, ctx.dim, ctx.size, ctx.step), None, None, None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along
    ``dimension``, laid out on a new last dim (a view).

    Shape: ``[..., n, ...]`` becomes ``[..., (n - size) // step + 1, ..., size]``.
    """
    if input.ndim == 0:
        # A 0-d input acts as one element along dim 0; the result is one window, shape [size].
        wrap_dim(dimension, 0, "unfold")
        return select(unfold(reshape(input, (1,)), 0, size, step), 0, 0)
    dim = wrap_dim(dimension, input.ndim, "unfold")
    length = input.shape[dim]
    if size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {length} but size is {size}"
        )
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(input, dim, size, step)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids: output ``i`` repeats ``tensors[i]`` along every other dim.

    With ``indexing='ij'`` output dim ``i`` follows ``tensors[i]``; with ``'xy'`` the first
    two output dims follow ``tensors[1]`` then ``tensors[0]`` (Cartesian, NumPy's default).
    The outputs are views.

    Example::

        >>> rows, cols = ember.meshgrid(ember.arange(2), ember.arange(3), indexing="ij")
        >>> rows.shape
        ember.Size([2, 3])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing "
            "argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for item in tensors:
        if item.ndim > 1:
            raise RuntimeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor "
                f"of shape {list(item.shape)}"
            )
        if item.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors = (tensors[1], tensors[0]) + tuple(tensors[2:])
    shape = tuple(item.numel() for item in tensors)
    grids = []
    for i, item in enumerate(tensors):
        column = [1] * len(tensors)
        column[i] = -1
        grids.append(expand(view(item, column), shape))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference ``out[i] = x[i + 1] - x[i]`` along ``dim``.

    ``prepend`` and ``append`` are joined to ``input`` along ``dim`` first. Bool inputs
    differ by ``!=`` (exclusive or).
    """
    from ember.ops.elementwise import sub  # elementwise imports indexing, which imports shape

    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    dim = wrap_dim(dim, input.ndim, "diff")
    for extra in (prepend, append):
        if extra is not None and extra.ndim != input.ndim:
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    parts = [x for x in (prepend, input, append) if x is not None]
    x = cat(parts, dim) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[dim]
        if length == 0:
            break
        later, earlier = narrow(x, dim, 1, length - 1), narrow(x, dim, 0, length - 1)
        x = ne(later, earlier) if x.dtype.name == "bool" else sub(later, earlier)
    return x


def block_diag(*tensors) -> Tensor:
    """A matrix with ``tensors`` (0-D, 1-D or 2-D, each taken as a block of rows) placed
    along its diagonal and zeros elsewhere; the result has their promoted dtype.

    Example::

        >>> ember.block_diag(ember.ones(1, 2), ember.tensor([[2.]])).tolist()
        [[1.0, 1.0, 0.0], [0.0, 0.0, 2.0]]
    """
    blocks = []
    for position, item in enumerate(tensors):
        if item.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{position} has {item.ndim} dimensions"
            )
        blocks.append(item.reshape(1, -1) if item.ndim < 2 else item)
    if not blocks:
        return Tensor._make(xp.zeros((1, 0), xp.float32))
    width = sum(block.shape[1] for block in blocks)
    rows, before = [], 0
    for block in blocks:
        after = width - before - block.shape[1]
        rows.append(pad(block, (before, after)))
        before += block.shape[1]
    return cat(rows, 0)


def cartesian_prod(*tensors) -> Tensor:
    """Every combination of one element from each 1-D tensor, as rows of a
    (∏ sizes, len(tensors)) tensor (a 1-D copy when there is one tensor).

    Example::

        >>> ember.cartesian_prod(ember.tensor([1, 2]), ember.tensor([3, 4])).tolist()
        [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    for item in tensors:
        if item.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(item.shape)}")
    if len(tensors) == 1:
        return tensors[0].clone()
    grids = meshgrid(*tensors, indexing="ij")
    return stack([grid.reshape(-1) for grid in grids], 1)
