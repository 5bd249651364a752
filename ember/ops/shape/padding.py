"""Reshaping and moving data: views, permutations, broadcasting, joins, splits and padding.

A handful of primitives carry the gradients: ``View``, ``Expand``, ``Permute``, ``Slice``,
``Select``, ``ConstantPadNd``, ``Flip``, ``Roll``, ``Repeat``, ``Cat``, ``Stack``,
``Unfold`` and ``IndexSelect``. Each one's backward is written with another of them
(a slice pulls back to a zero pad, a zero pad to a slice, a gather to a scatter-add), so
every gradient here can be differentiated again. The rest is composed from them.
"""

from __future__ import annotations

import math
import warnings

from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._tensor import Size, Tensor
from ember.autograd.function import FunctionMeta
from ember.ops._function import Op, broadcast_shape, promote, wrap_dim

__all__ = [
    "reshape", "view", "view_as", "flatten", "ravel", "unflatten", "squeeze", "unsqueeze",
    "permute", "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis",
    "expand", "expand_as", "broadcast_to", "broadcast_tensors", "broadcast_shapes",
    "repeat", "tile", "repeat_interleave", "flip", "fliplr", "flipud", "roll", "rot90",
    "narrow", "narrow_copy", "select", "chunk", "split", "split_with_sizes", "tensor_split",
    "hsplit", "vsplit", "dsplit", "unbind",
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
    "column_stack", "atleast_1d", "atleast_2d", "atleast_3d",
    "pad", "meshgrid", "sum_to_size", "unfold", "diff", "block_diag", "cartesian_prod",
]  # fmt: skip


# ---------------------------------------------------------------- small helpers


def _sizes(args) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all name the sizes ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(int(size) for size in args)


def _along(dim: int, index) -> tuple:
    """An index tuple that applies ``index`` to dimension ``dim`` only."""
    return (slice(None),) * dim + (index,)


def _strict_dim(dim: int, ndim: int, op: str) -> int:
    """``wrap_dim``, except that a 0-d tensor has no dim 0 (PyTorch's ``wrap_scalar=False``)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, ndim, op)


def _dim_list(dims, ndim: int, op: str) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    wrapped = tuple(wrap_dim(d, ndim, op) for d in dims)
    for position, d in enumerate(wrapped):
        if d in wrapped[:position]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return wrapped


def _infer_shape(shape, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for size in shape:
        if size < -1:
            raise RuntimeError(f"invalid shape dimension {size}")
        if size != -1:
            known *= size
    if unknown:
        if known == 0:
            raise RuntimeError(
                f"cannot reshape tensor of {numel} elements into shape {list(shape)} because "
                "the unspecified dimension size -1 can be any value and is ambiguous"
            )
        if numel % known == 0:
            return shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known == numel:
        return shape
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


# ---------------------------------------------------------------- views


class View(Op):
    """Output ``reshape(x, shape)``; with ``must_view`` an incompatible layout is an error."""

    view_of = 0

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.shape = x.shape
        if not must_view:
            return xp.reshape(x, shape)
        try:
            return xp.reshape(x, shape, copy=False)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.reshape(grad, ctx.shape), None, None


# The shape changes below are views too, each with PyTorch's name for its node.
class Squeeze(View):
    """``squeeze(input)``: every size-1 dim removed."""


class SqueezeDim(View):
    """``squeeze(input, dim)``."""

    node_name = "SqueezeBackward1"


class SqueezeDims(View):
    """``squeeze(input, dims)`` with a tuple of dims."""

    node_name = "SqueezeBackward2"


class Unsqueeze(View):
    """``unsqueeze(input, dim)``."""


def reshape(input: Tensor, shape) -> Tensor:
    """``input`` with a new ``shape`` of as many elements (one size may be -1).

    A view of ``input`` when its layout allows one, otherwise a copy.

    Example::

        >>> ember.arange(6).reshape(2, -1).shape
        ember.Size([2, 3])
    """
    return View.apply(input, _infer_shape(_sizes((shape,)), input.numel()), False)


def view(input: Tensor, shape) -> Tensor:
    """Like ``reshape``, but always a view: a layout that needs a copy is a RuntimeError."""
    return View.apply(input, _infer_shape(_sizes((shape,)), input.numel()), True)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.view(other.shape)``."""
    return view(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one; a 0-d input becomes shape ``[1]``."""
    ndim = input.ndim
    start, end = wrap_dim(start_dim, ndim, "flatten"), wrap_dim(end_dim, ndim, "flatten")
    if ndim == 0:
        return reshape(input, (1,))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input.shape
    return reshape(input, shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])


def ravel(input: Tensor) -> Tensor:
    """``input`` as a 1-D tensor (a view when its layout allows)."""
    return reshape(input, (-1,))


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of them may be -1), the inverse of ``flatten``."""
    if input.ndim == 0:
        raise RuntimeError(
            "unflatten got an unexpected error:\nDimension specified as 0 but tensor has no "
            "dimensions"
        )
    dim = wrap_dim(dim, input.ndim, "unflatten")
    sizes = _sizes((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    length = input.shape[dim]
    if -1 in sizes:
        inferred = _infer_shape(sizes, length)
    else:
        inferred = sizes
        if math.prod(sizes) != length:
            raise RuntimeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                f"{dim} ({length}) in the input tensor"
            )
    shape = input.shape
    return view(input, shape[:dim] + inferred + shape[dim + 1 :])


def squeeze(input: Tensor, dim=None) -> Tensor:
    """``input`` without size-1 dims: all of them, or those of ``dim`` (an int or a tuple).

    A named dim whose size is not 1 is left alone.
    """
    shape = input.shape
    if dim is None:
        return Squeeze.apply(input, tuple(s for s in shape if s != 1), True)
    op = SqueezeDim if isinstance(dim, int) else SqueezeDims
    dims = _dim_list(dim, input.ndim, "squeeze")
    kept = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return op.apply(input, kept, True)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """``input`` with a size-1 dim inserted at ``dim`` (in ``[-ndim-1, ndim]``)."""
    dim = wrap_dim(dim, input.ndim + 1, "unsqueeze")
    shape = input.shape
    return Unsqueeze.apply(input, shape[:dim] + (1,) + shape[dim:], True)


# ---------------------------------------------------------------- permutations


class Permute(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return xp.transpose(x, dims)

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.transpose(grad, ctx.inverse), None


class Transpose(Permute):
    """``transpose(input, dim0, dim1)``: a permutation named as PyTorch names its node."""


class T(Permute):
    """``t(input)``: a permutation named as PyTorch names its node."""


def permute(input: Tensor, dims) -> Tensor:
    """``input`` with its dims reordered: output dim ``i`` is input dim ``dims[i]`` (a view)."""
    dims = _sizes((dims,))
    ndim = input.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not "
            f"equal to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, ndim, "permute") for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


def _swapped(ndim: int, dim0: int, dim1: int, op: str) -> tuple:
    a, b = wrap_dim(dim0, ndim, op), wrap_dim(dim1, ndim, op)
    dims = list(range(ndim))
    if ndim:
        dims[a], dims[b] = dims[b], dims[a]
    return tuple(dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``input`` with dims ``dim0`` and ``dim1`` swapped (a view)."""
    return Transpose.apply(input, _swapped(input.ndim, dim0, dim1, "transpose"))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Alias of ``transpose``."""
    return transpose(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    return transpose(input, dim0, dim1)


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix; 0-d and 1-D inputs come back as they are (a view)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D")
    return T.apply(input, tuple(range(input.ndim))[::-1])


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    ndim = input.ndim
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(source)} dims) should "
            f"contain the same number of dims as destination ({list(destination)} dims)"
        )
    source = [wrap_dim(d, ndim, "movedim") for d in source]
    destination = [wrap_dim(d, ndim, "movedim") for d in destination]
    for name, dims in (("source", source), ("destination", destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    order = [None] * ndim
    for s, d in zip(source, destination):
        order[d] = s
    rest = iter(d for d in range(ndim) if d not in source)
    return Permute.apply(input, tuple(s if s is not None else next(rest) for s in order))


moveaxis = movedim


# ---------------------------------------------------------------- broadcasting


class Expand(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, shape):
        return xp.broadcast_to(x, shape)

    @staticmethod
    def gradients(xp, ctx, grad):
        return grad, None  # the engine sums the gradient back to the input's shape


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view of ``input``: size-1 dims repeat, -1 keeps a size, new dims lead.

    Example::

        >>> ember.tensor([[1.], [2.]]).expand(2, 3)
        tensor([[1., 1., 1.],
                [2., 2., 2.]])
    """
    sizes = _sizes(sizes)
    shape = input.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand({input.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(shape)})"
        )
    target = []
    for i, size in enumerate(sizes):
        if i < lead:
            if size < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({size}) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            target.append(size)
            continue
        own = shape[i - lead]
        size = own if size == -1 else size
        if size != own and own != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({size}) must match the existing size ({own}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}"
            )
        if size < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {size}: {sizes}")
        target.append(size)
    return Expand.apply(input, tuple(target))


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """``input.expand(other.shape)``."""
    return expand(input, other.shape)


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input`` broadcast to ``size`` (a view; -1 keeps a size), as ``expand``."""
    return expand(input, _sizes((size,)))


def broadcast_shapes(*shapes) -> Size:
    """The shape that tensors of ``shapes`` broadcast to (ints count as 1-D shapes)."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    width = max((len(shape) for shape in shapes), default=0)
    result = [1] * width
    for index, shape in enumerate(shapes):
        for offset, size in enumerate(reversed(shape)):
            position = width - 1 - offset
            if size < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {size}")
            if result[position] == 1:
                result[position] = size
            elif size != 1 and size != result[position]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {size} at {-offset - 1}! "
                    f"Mismatching argument at index {index} had {shape}; but expected shape "
                    f"should be broadcastable to {result}"
                )
    return Size(result)


def broadcast_tensors(*tensors) -> tuple:
    """Each tensor expanded to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    shape = broadcast_shape("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """``input`` summed down to ``size``, which must broadcast to ``input``'s shape."""
    size = _sizes(size)
    shape = input.shape
    lead = input.ndim - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    dims = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1
    )
    if dims:
        input = input.sum(dim=dims, keepdim=True)
    return reshape(input, size) if lead else input


# ---------------------------------------------------------------- repeats and reversals


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
    from ember.ops.creation import arange

    if repeats is None:
        counts = input
        _check_counts(counts._data)
        return repeat_interleave(arange(counts.shape[0] if counts.ndim else 1), counts, 0)
    if dim is None:
        input, dim = flatten(input), 0
    elif input.ndim == 0:
        # PyTorch rejects any dim of a 0-d input here, with this message.
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    dim = wrap_dim(dim, input.ndim, "repeat_interleave")
    length = input.shape[dim]
    if isinstance(repeats, Tensor):
        counts = repeats._data
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
    index = xp.repeat(xp.arange(length), counts)
    return IndexSelect.apply(input, _along(dim, index))


def _check_counts(counts) -> None:
    if counts.size and counts.min() < 0:
        raise RuntimeError("repeats can not be negative")


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
    from ember.ops.copy import clone

    return clone(input)


# ---------------------------------------------------------------- slices and splits


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


class Select(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.widths = dim, _widths(x.ndim, dim, index, x.shape[dim] - index - 1)
        return x[_along(dim, index) + (Ellipsis,)]  # the Ellipsis keeps a 0-d result an array

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.pad(xp.expand_dims(grad, ctx.dim), ctx.widths), None, None


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
    from ember.ops.copy import clone

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


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices ``input.select(dim, i)`` for every ``i``."""
    dim = _strict_dim(dim, input.ndim, "unbind")
    return tuple(Select.apply(input, dim, i) for i in range(input.shape[dim]))


# ---------------------------------------------------------------- joins


class Cat(Op):
    @staticmethod
    def forward(ctx, dim, *arrays):
        arrays = promote(*arrays)
        # A 1-D tensor of size 0 joins anything, for compatibility with old PyTorch.
        skipped = [a.shape == (0,) for a in arrays]
        if all(skipped):
            skipped = [False] * len(arrays)
        ctx.dim = dim
        ctx.lengths = [None if skip else a.shape[dim] for a, skip in zip(arrays, skipped)]
        return xp.concatenate([a for a, skip in zip(arrays, skipped) if not skip], axis=dim)

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.creation import zeros

        grads, start = [None], 0
        for length in ctx.lengths:
            if length is None:
                grads.append(zeros(0, dtype=grad.dtype))
                continue
            grads.append(Slice.apply(grad, ctx.dim, start, start + length))
            start += length
        return tuple(grads)


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(
            f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor"
        )
    tensors = list(tensors)
    for position, item in enumerate(tensors):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"expected Tensor as element {position} in argument 0, but got "
                f"{type(item).__name__}"
            )
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    """``tensors`` joined along ``dim``; the result has their promoted dtype.

    All but ``dim`` must have equal sizes. 1-D tensors of size 0 are skipped, as in PyTorch.

    Example::

        >>> ember.cat([ember.zeros(1, 2), ember.ones(2, 2)]).shape
        ember.Size([3, 2])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for position, item in enumerate(tensors):
        if item.ndim == 0:
            raise RuntimeError(
                f"zero-dimensional tensor (at position {position}) cannot be concatenated"
            )
    kept = [(i, x) for i, x in enumerate(tensors) if x.shape != (0,)] or [(0, tensors[0])]
    reference = kept[0][1].shape
    dim = wrap_dim(dim, len(reference), "cat")
    for position, item in kept:
        if item.ndim != len(reference):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(reference)} and {item.ndim}"
            )
        for d, (want, got) in enumerate(zip(reference, item.shape)):
            if d != dim and want != got:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size "
                    f"{want} but got size {got} for tensor number {position} in the list."
                )
    return Cat.apply(dim, *tensors)


concat = concatenate = cat


class Stack(Op):
    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim, ctx.count = dim, len(arrays)
        return xp.stack(promote(*arrays), axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None,) + tuple(Select.apply(grad, ctx.dim, i) for i in range(ctx.count))


def stack(tensors, dim: int = 0) -> Tensor:
    """Tensors of one shape joined along a new dim ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shape = tensors[0].shape
    for position, item in enumerate(tensors):
        if item.shape != shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shape)} at entry 0 "
                f"and {list(item.shape)} at entry {position}"
            )
    return Stack.apply(wrap_dim(dim, len(shape) + 1, "stack"), *tensors)


def _at_least(tensors, ndim: int):
    single = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    results = []
    for x in tensors:
        if x.ndim >= ndim:
            results.append(x)
        elif x.ndim == 0:
            results.append(reshape(x, (1,) * ndim))
        elif ndim == 2 or x.ndim == 2:
            results.append(unsqueeze(x, 0 if ndim == 2 else -1))
        else:
            results.append(reshape(x, (1, x.shape[0], 1)))
    return results[0] if single else tuple(results)


def atleast_1d(*tensors):
    """Each tensor with at least one dim (a 0-d one becomes shape ``[1]``)."""
    return _at_least(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least two dims (new dims lead)."""
    return _at_least(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least three dims: ``[n]`` becomes ``[1, n, 1]``, ``[m, n]``
    becomes ``[m, n, 1]``."""
    return _at_least(tensors, 3)


def hstack(tensors) -> Tensor:
    """Tensors joined column-wise: along dim 1, or dim 0 for 1-D ones."""
    tensors = atleast_1d(_tensor_list(tensors, "hstack"))
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Tensors joined row-wise (along dim 0, after ``atleast_2d``)."""
    return cat(atleast_2d(_tensor_list(tensors, "vstack")), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Tensors joined depth-wise (along dim 2, after ``atleast_3d``)."""
    return cat(atleast_3d(_tensor_list(tensors, "dstack")), 2)


def column_stack(tensors) -> Tensor:
    """Tensors joined as columns: 0-d and 1-D ones become ``[n, 1]`` columns first."""
    tensors = _tensor_list(tensors, "column_stack")
    columns = [reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in tensors]
    return cat(columns, 1)


# ---------------------------------------------------------------- gathers, padding, windows


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
        result = xp.zeros(shape, grad.dtype)
        xp.add.at(result, index, grad)
        return result

    @staticmethod
    def backward(ctx, grad):
        return IndexSelect.apply(grad, ctx.index), None, None


_PAD_NODE_NAMES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}
_PAD_OPS = {
    (mode, k): FunctionMeta(f"{name}{k}D", (IndexSelect,), {"__module__": __name__})
    for mode, name in _PAD_NODE_NAMES.items()
    for k in (1, 2, 3)
}


def _pad_index(size: int, before: int, after: int, mode: str):
    positions = xp.arange(-before, size + after)
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
        positions = _pad_index(size, before, after, mode)
        index.append(positions.reshape([-1 if i == len(index) else 1 for i in range(count)]))
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
        result = xp.zeros(shape, grad.dtype)
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
    from ember.ops.comparison import ne
    from ember.ops.elementwise import sub

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


# PyTorch's argument parser takes NumPy's ``axis=`` for ``dim`` (``torch.cat(xs, axis=1)``).
from ember.ops.reduction import _numpy_names  # noqa: E402

for _name in ("cat", "concat", "concatenate", "stack", "squeeze", "unsqueeze", "chunk",
              "unbind", "narrow"):
    globals()[_name] = _numpy_names(globals()[_name])
