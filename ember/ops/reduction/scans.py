"""Cumulative scans and quantiles. The gradient of ``cumsum`` is the reversed cumulative sum
of the incoming gradient; that of ``cumprod`` is ``reverse_cumsum(grad * y) / x``, or where
``x`` holds zeros the exact sum of products. A quantile's gradient goes to the one or two
sorted elements it read, weighted as it interpolated between them."""

from __future__ import annotations

from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.ops._function import Op, open_grid, wrap_dim
from ember.ops.elementwise import where
from ember.ops.reduction._common import _constant, _kept_shape, _numpy_dtype, _to_last
from ember.ops.reduction.sums import sum
from ember.ops.shape import _numpy_names, flip


def _reverse_cumsum(x: Tensor, dim: int) -> Tensor:
    """``sum_{k >= i} x_k`` along ``dim``."""
    return flip(cumsum(flip(x, (dim,)), dim), (dim,))


class Cumsum(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return xp.cumsum(x, axis=dim, dtype=dtype) if x.ndim else x.astype(dtype or x.dtype)

    @staticmethod
    def backward(ctx, grad):
        if grad.ndim == 0:
            return grad, None, None
        return _reverse_cumsum(grad, ctx.dim), None, None


class Cumprod(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        y = xp.cumprod(x, axis=dim, dtype=dtype) if x.ndim else x.astype(dtype or x.dtype)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None, None
        if not (x._data == 0).any():  # read on the host, as PyTorch's cumprod_backward does
            return _reverse_cumsum(grad * y, ctx.dim) / x, None, None
        return _cumprod_backward_with_zeros(x, grad, ctx.dim), None, None


def _cumprod_backward_with_zeros(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    """``sum_{k >= i} grad_k prod_{j <= k, j != i} x_j``, exact when ``x`` has zeros.

    Row ``i`` of an ``n x n`` matrix is ``x`` with 1 in place of ``x_i``; its cumprod is
    ``prod_{j <= k, j != i} x_j`` for every ``k``. ``n**2`` memory, zeros only.
    """
    moved, restore = _to_last(x, dim)
    grad_moved, _ = _to_last(grad, dim)
    batch, n = moved.shape[:-1], moved.shape[-1]
    rows = moved.reshape(*batch, 1, n).expand(*batch, n, n)
    partial = cumprod(where(Tensor._make(xp.eye(n, dtype=bool, like=x._data)), 1.0, rows), -1)
    later = Tensor._make(xp.triu(xp.ones((n, n), dtype=bool, like=x._data)))
    weighted = where(later, partial * grad_moved.reshape(*batch, 1, n), 0.0)
    return restore(sum(weighted, -1))


@_numpy_names
def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``y_i = sum_{j <= i} x_j`` along ``dim``; bool and integer inputs give int64."""
    one = wrap_dim(dim, input.ndim, "cumsum")
    return Cumsum.apply(input, one, _numpy_dtype(dtype))


@_numpy_names
def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``y_i = prod_{j <= i} x_j`` along ``dim``; the gradient is exact with zeros."""
    one = wrap_dim(dim, input.ndim, "cumprod")
    return Cumprod.apply(input, one, _numpy_dtype(dtype))


# ---------------------------------------------------------------- quantiles


class Quantile(Op):
    @staticmethod
    def forward(ctx, x, q, dim, keepdim, interpolation, ignore_nan):
        # checked here, so that a compiled call checks each call's q
        q = _checked_q("nanquantile" if ignore_nan else "quantile", q, x)
        flat = x.reshape(-1) if dim is None else xp.moveaxis(x, dim, -1)
        n = flat.shape[-1]
        order = xp.argsort(flat, axis=-1, kind="stable")  # NaN sorts last
        ordered = xp.take_along_axis(flat, order, axis=-1)
        nan_count = xp.isnan(flat).sum(axis=-1)
        valid = n - nan_count if ignore_nan else xp.full(nan_count.shape, n, like=flat)
        rank = q.reshape((-1,) + (1,) * nan_count.ndim) * (valid - 1)
        if not ignore_nan:  # a NaN slice reads its last sorted element, a NaN (as PyTorch)
            rank = xp.where(nan_count > 0, n - 1, rank)
        below, above, weight = _ranks(rank, interpolation)
        below = xp.clip(below, 0, n - 1).astype(xp.int64)
        above = xp.clip(above, 0, n - 1).astype(xp.int64)
        weight = weight.astype(x.dtype)
        grid = open_grid(below.shape, below)
        batch = tuple(grid[1:])
        low, high = ordered[batch + (below,)], ordered[batch + (above,)]
        y = xp.where(weight < 0.5, low + weight * (high - low), high - (high - low) * (1 - weight))
        undefined = valid == 0 if ignore_nan else nan_count > 0
        y = xp.where(undefined, xp.nan, y).astype(x.dtype)
        # Each quantile's gradient goes to the elements at its two ranks, weighted as the lerp.
        share = xp.zeros(below.shape + (n,), dtype=x.dtype, like=x)
        lead = tuple(grid)
        xp.add.at(share, lead + (order[batch + (below,)],), 1 - weight)
        xp.add.at(share, lead + (order[batch + (above,)],), weight)
        if dim is None:
            share = share.reshape((q.size,) + x.shape)
        else:
            share = xp.moveaxis(share, -1, dim + 1)
        ctx.share, ctx.shape, ctx.dim = share, x.shape, dim
        if keepdim:
            y = y.reshape((q.size,) + (1,) * x.ndim) if dim is None else xp.expand_dims(y, dim + 1)
        return y.reshape(q.shape + y.shape[1:])

    @staticmethod
    def backward(ctx, grad):
        share = _constant(ctx.share, grad._data)
        reduced = tuple(range(len(ctx.shape))) if ctx.dim is None else (ctx.dim,)
        grad = grad.reshape(share.shape[:1] + _kept_shape(ctx.shape, reduced))
        return sum(grad * share, 0), None, None, None, None, None


def _checked_q(name: str, q, x):
    """``q`` (a float or an array) as an array of ``x``'s dtype, its values in [0, 1]."""
    if isinstance(q, float):
        q = xp.asarray(q, dtype=x.dtype, like=x)
    if q.size and ((q < 0).any() or (q > 1).any()):
        bad = q.reshape(-1)[((q < 0) | (q > 1)).reshape(-1)][0]
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {float(bad):g}")
    return q


def _ranks(rank, interpolation):
    """The two sorted positions a quantile reads and the weight of the upper one."""
    below, above = xp.floor(rank), xp.ceil(rank)
    zero = xp.zeros_like(rank)
    if interpolation == "linear":
        return below, above, rank - below
    if interpolation == "lower":
        return below, below, zero
    if interpolation == "higher":
        return above, above, zero
    if interpolation == "midpoint":
        return below, above, xp.where(above > below, 0.5, 0.0)
    if interpolation == "nearest":
        nearest = xp.round(rank)
        return nearest, nearest, zero
    raise RuntimeError(
        "quantile() interpolation must be one of linear, lower, higher, midpoint or nearest. "
        f"Got {interpolation}"
    )


def _quantile(name, input, q, dim, keepdim, interpolation, ignore_nan):
    if input._data.dtype not in (xp.float32, xp.float64):
        # PyTorch's nanquantile says "quantile()" here too.
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if input.numel() == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if isinstance(q, Tensor):
        if q.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q.dtype != input.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
    else:
        q = float(q)
    if input.ndim == 0:
        input = input.reshape(1)
        dim = None if dim is None else 0
    one = None if dim is None else wrap_dim(dim, input.ndim, name)
    if one is not None and input.shape[one] == 0:
        raise IndexError(f"{name}() cannot compute quantiles over an empty dimension")
    return Quantile.apply(input, q, one, keepdim, interpolation, ignore_nan)


@_numpy_names
@autocasts(FLOAT32)
def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):
    """The ``q``-th quantiles over ``dim`` (the flattened input when None).

    ``q`` is a float or a 1-D tensor (its values then lead the result's shape). Between
    two sorted elements ``interpolation`` picks: linear, lower, higher, midpoint, nearest.
    A slice holding NaN gives NaN.
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@_numpy_names
@autocasts(FLOAT32)
def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):
    """``quantile`` ignoring NaN elements (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)
