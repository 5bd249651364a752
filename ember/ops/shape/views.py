"""Views, permutations and broadcasting: ``View`` (reshape, squeeze, unsqueeze), ``Permute``
(transpose, ``t``, movedim) and ``Expand``. Each output shares its input's memory, and each
gradient rearranges the incoming one back: a reshape, the inverse permutation, or for a
broadcast nothing at all, since the engine sums a gradient back over broadcast dims."""

from __future__ import annotations

import math

from ember._backend import xp
from ember._tensor import Size, Tensor
from ember.ops._function import Lowered, Op, broadcast_shape, lowerable, wrap_dim
from ember.ops.shape._common import _dim_list, _infer_shape, _numpy_names, _sizes


class View(Op):
    """Output ``reshape(x, shape)``; with ``must_view`` an incompatible layout is an error."""

    view_of = 0
    views_by_layout = True  # without ``must_view``, a layout that cannot be viewed copies

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

    @classmethod
    def lower(cls, needs, out, x, shape, must_view):
        """The reshape and its gradient's reshape back, without a ctx. On replay ``x`` has
        the strides it had when recorded, so a view then is a view again."""
        if cls.forward is not View.forward or cls.gradients is not View.gradients or \
                not lowerable(x, out):
            return None
        source = tuple(x.shape)
        return Lowered(lambda x, shape, must_view: x.reshape(shape), (),
                       lambda grad: (grad.reshape(source), None, None))


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


@_numpy_names
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


@_numpy_names
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
        ctx.inverse = _inverse(dims)
        return xp.transpose(x, dims)

    @staticmethod
    def gradients(xp, ctx, grad):
        return xp.transpose(grad, ctx.inverse), None

    @classmethod
    def lower(cls, needs, out, x, dims):
        """The permutation and its gradient's inverse one, without a ctx."""
        if cls.forward is not Permute.forward or cls.gradients is not Permute.gradients or \
                not lowerable(x, out):
            return None
        inverse = _inverse(dims)
        return Lowered(lambda x, dims: x.transpose(dims), (),
                       lambda grad: (grad.transpose(inverse), None))


def _inverse(dims) -> tuple:
    """The permutation that undoes ``dims``."""
    return tuple(sorted(range(len(dims)), key=dims.__getitem__))


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
