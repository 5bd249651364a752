"""Reshaping and moving data: views, permutations, broadcasting, joins and splits."""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape, wrap_dim

__all__ = ["reshape", "view", "expand", "permute", "transpose", "broadcast_to"]


def _infer_shape(shape, numel: int, op: str) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.shape = x.shape
        if must_view:
            try:
                return xp.reshape(x, shape, copy=False)
            except ValueError:
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least "
                    "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead."
                ) from None
        return xp.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None, None


class Expand(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, shape):
        return xp.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the gradient back to the input's shape


class Permute(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return xp.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return permute(grad, ctx.inverse), None


def reshape(input: Tensor, shape) -> Tensor:
    """``input`` with a new shape of the same number of elements (one size may be -1)."""
    shape = _infer_shape(shape, input.numel(), "reshape")
    if shape == input._data.shape:
        return Reshape.apply(input, shape, False)
    return Reshape.apply(input, shape, False)


def view(input: Tensor, shape) -> Tensor:
    """Like ``reshape`` but always shares storage; an incompatible layout is an error."""
    return Reshape.apply(input, _infer_shape(shape, input.numel(), "view"), True)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view of ``input``: size-1 dims repeat; -1 keeps a size; new dims lead."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    shape = input._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})"
        )
    target = []
    for i, size in enumerate(sizes):
        if i < lead:
            if size < 0:
                raise RuntimeError(f"expand: the expanded size {size} is not allowed in a leading, non-existing dimension {i}")
            target.append(size)
            continue
        own = shape[i - lead]
        if size == -1:
            size = own
        if own != size and own != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({size}) must match the existing size ({own}) "
                f"at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(shape)}"
            )
        target.append(size)
    target = tuple(target)
    if target == shape:
        return input if input.grad_fn is None and not input._requires_grad else Expand.apply(input, target)
    return Expand.apply(input, target)


def broadcast_to(input: Tensor, size) -> Tensor:
    broadcast_shape("broadcast_to", input.shape, tuple(size))
    return expand(input, tuple(size))


def permute(input: Tensor, dims) -> Tensor:
    """``input`` with its dims reordered (a view)."""
    ndim = input.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    dims = tuple(wrap_dim(d, ndim, "permute") for d in dims)
    if len(set(dims)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(input, dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``input`` with dims ``dim0`` and ``dim1`` swapped (a view)."""
    ndim = input.ndim
    if ndim == 0:
        wrap_dim(dim0, 0, "transpose"), wrap_dim(dim1, 0, "transpose")
        return Permute.apply(input, ())
    dims = list(range(ndim))
    a, b = wrap_dim(dim0, ndim, "transpose"), wrap_dim(dim1, ndim, "transpose")
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, tuple(dims))
