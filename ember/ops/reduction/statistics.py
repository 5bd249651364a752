"""Reductions over one, several or all dims (with ``keepdim``), and cumulative scans.

Every backward here is written with ember's own ops so it can be differentiated again.
Gradients that pick elements (max along a dim, ties of ``amax``, quantile ranks) are
a constant mask times the incoming gradient, which needs no gather or scatter.
The softmax family (softmax, log_softmax, logsumexp, logcumsumexp) is in ``softmax.py``.
"""

from __future__ import annotations

import builtins
import functools
import warnings

from ember import return_types
from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._dtype import int64, to_dtype
from ember._tensor import Tensor
from ember.ops._function import Op, wrap_dim, wrap_dims

__all__ = [
    "renorm",
    "all",
    "amax",
    "amin",
    "aminmax",
    "corrcoef",
    "cov",
    "any",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "dist",
    "max",
    "mean",
    "min",
    "nanmean",
    "nanquantile",
    "nansum",
    "norm",
    "prod",
    "quantile",
    "std",
    "std_mean",
    "sum",
    "trapezoid",
    "trapz",
    "var",
    "var_mean",
]

_inf = float("inf")


# ---------------------------------------------------------------- shared helpers


def _kept_shape(shape, dims) -> tuple:
    return tuple(1 if i in dims else size for i, size in enumerate(shape))


def _expand_back(grad, ctx):
    """Broadcast a reduced gradient back over the reduced dims of the input."""
    return _unreduce(grad, ctx.shape, ctx.dims, ctx.keepdim).expand(ctx.shape)


def _kept(xp, grad, ctx):
    """A reduced gradient (array or tensor) at the input's rank, size 1 on the reduced dims."""
    return grad if ctx.keepdim else xp.reshape(grad, _kept_shape(ctx.shape, ctx.dims))


def _expanded(xp, grad, ctx):
    """``_expand_back`` on the namespace ``xp`` of a gradient formula."""
    if not ctx.keepdim:
        grad = xp.reshape(grad, _kept_shape(ctx.shape, ctx.dims))
    return xp.broadcast_to(grad, ctx.shape)


def _unreduce(tensor, shape, dims, keepdim):
    """A reduced tensor reshaped to the input's rank, with size 1 on the reduced dims."""
    return tensor if keepdim else tensor.reshape(_kept_shape(shape, dims))


def _reduction_args(input: Tensor, dim, op: str) -> tuple:
    """The dims to reduce: ``None``, ``()`` and ``[]`` mean all of them."""
    if isinstance(dim, list):
        dim = tuple(dim)
    if dim is None or dim == ():
        return tuple(range(input.ndim))
    dims = wrap_dims(dim, input.ndim, op)
    return dims if input.ndim else ()


def _one_dim(input: Tensor, dim, op: str) -> int | None:
    """A single dim wrapped to ``[0, ndim)``; ``None`` for a 0-d input (nothing to reduce)."""
    wrapped = wrap_dim(dim, input.ndim, op)
    return wrapped if input.ndim else None


def _constant(array, like) -> Tensor:
    return Tensor._make(xp.asarray(array, dtype=like.dtype))


def _numpy_dtype(dtype):
    return None if dtype is None else to_dtype(dtype).numpy


def _cast(input: Tensor, dtype) -> Tensor:
    """``input`` converted to ``dtype`` first (PyTorch's ``dtype=`` argument), if given."""
    if dtype is None or to_dtype(dtype) == input.dtype:
        return input
    from ember.ops.copy import to_dtype as convert

    return convert(input, to_dtype(dtype))


def _legacy_name(numpy_dtype) -> str:
    names = {
        "float32": "Float",
        "float64": "Double",
        "float16": "Half",
        "bfloat16": "BFloat16",
        "int64": "Long",
        "int32": "Int",
        "int16": "Short",
        "int8": "Char",
        "uint8": "Byte",
        "bool": "Bool",
    }
    return names.get(str(numpy_dtype), str(numpy_dtype))


def _check_nonempty(x, dims, op: str, whole: bool) -> None:
    """PyTorch's errors for reductions without an identity (max, amax, argmax ...)."""
    if whole and x.size == 0:
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _tie_share(x, value, dims, nan_wins: bool):
    """Each element's share of the gradient of a max/min: 1/count on ties.

    ``max()`` and ``min()`` count NaN elements as the ties of a NaN result (``nan_wins``);
    ``amax``/``amin``/``aminmax`` do not, so a NaN result spreads NaN, as in PyTorch.
    """
    mask = x == value
    if nan_wins:
        mask |= xp.isnan(x) & xp.isnan(value)
    return mask / mask.sum(axis=dims, keepdims=True)


# ---------------------------------------------------------------- sums and means


class Sum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def gradients(xp, ctx, grad):
        return _expanded(xp, grad, ctx), None, None, None


class Nansum(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.is_nan = xp.isnan(x) if x.dtype.kind == "f" else None
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        return xp.nansum(x, axis=dims, keepdims=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.elementwise import where

        grad = _expand_back(grad, ctx)
        if ctx.is_nan is not None and ctx.is_nan.any():
            grad = where(Tensor._make(ctx.is_nan), 0.0, grad)
        return grad, None, None, None


class Mean(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        if dtype is None and x.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_legacy_name(x.dtype)}"
            )
        if dtype is not None and xp.dtype(dtype).kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Optional dtype must be either a floating "
                f"point or complex dtype. Got: {_legacy_name(xp.dtype(dtype))}"
            )
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = _count(x.shape, dims)
        total = xp.sum(x, axis=dims, keepdims=keepdim, dtype=dtype)
        return xp.true_divide(total, ctx.count, dtype=total.dtype)  # NaN when empty, silently

    @staticmethod
    def gradients(xp, ctx, grad):
        return _expanded(xp, grad / ctx.count, ctx), None, None, None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum_i input_i`` over ``dim`` (an int, a tuple, or all dims).

    Bool and integer inputs sum to int64 unless ``dtype`` is given.
    """
    dims = _reduction_args(input, dim, "sum")
    return Sum.apply(input, dims, keepdim, _numpy_dtype(dtype))


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum over ``dim`` with NaN counted as zero; NaN entries get a zero gradient."""
    dims = _reduction_args(input, dim, "nansum")
    return Nansum.apply(input, dims, keepdim, _numpy_dtype(dtype))


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum(input) / count`` over ``dim``; integer inputs need an explicit floating ``dtype``."""
    dims = _reduction_args(input, dim, "mean")
    return Mean.apply(input, dims, keepdim, _numpy_dtype(dtype))


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements over ``dim`` (NaN where all of a slice is NaN)."""
    if dtype is None and not input.dtype.is_floating_point:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{_legacy_name(input._data.dtype)}"
        )
    dims = _reduction_args(input, dim, "nanmean")
    input = _cast(input, dtype)
    count = xp.sum(~xp.isnan(input._data), axis=dims, keepdims=keepdim)
    return nansum(input, dims, keepdim) / _constant(count, input._data)


# ---------------------------------------------------------------- products


class Prod(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        y = xp.asarray(xp.prod(x, axis=dims, keepdims=keepdim, dtype=dtype))
        ctx.has_zero = bool((x == 0).any())
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        grad = _expand_back(grad, ctx)
        if not ctx.has_zero:
            return grad * _expand_back(y, ctx) / x, None, None, None
        if len(ctx.dims) == 1:
            return grad * _product_of_others(x, ctx.dims[0]), None, None, None
        others = _product_of_others(x.reshape(-1), 0).reshape(ctx.shape)
        return grad * others, None, None, None


def _product_of_others(x: Tensor, dim: int) -> Tensor:
    """``prod_{j != i} x_j`` along ``dim``, exact with zeros (used only when ``x`` has some).

    Row ``i`` of an ``n x n`` matrix holds ``x`` with 1 in place of ``x_i``; its product is
    the gradient of ``prod(x)`` at ``i``. It costs ``n**2`` memory, so ``Prod`` takes the
    ``prod / x`` route whenever no element is zero.
    """
    from ember.ops.elementwise import where

    moved, restore = _to_last(x, dim)
    n = moved.shape[-1]
    rows = moved.reshape(*moved.shape[:-1], 1, n).expand(*moved.shape[:-1], n, n)
    others = prod(where(Tensor._make(xp.eye(n, dtype=bool)), 1.0, rows), -1)
    return restore(others)


def _to_last(x: Tensor, dim: int):
    """``x`` with ``dim`` moved last, and the function that moves it back."""
    if dim == x.ndim - 1:
        return x, lambda t: t
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    inverse = [order.index(d) for d in range(x.ndim)]
    return x.permute(*order), lambda t: t.permute(*inverse)


@autocasts(FLOAT32)
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``prod_i input_i`` over one ``dim`` (an int) or the whole tensor.

    The gradient is ``prod / input`` when no element is zero, and the exact product of
    the other elements otherwise (one zero, or several, in a slice).
    """
    if dim is None:
        dims = tuple(range(input.ndim))
    else:
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
        one = _one_dim(input, dim, "prod")
        dims = () if one is None else (one,)
    return Prod.apply(input, dims, keepdim, _numpy_dtype(dtype))


# ---------------------------------------------------------------- max and min


class _Extreme(Op):
    """The whole-tensor max/min; ties share the gradient evenly, as in PyTorch."""

    pick = None
    nan_wins = True

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        y = cls.pick(x, axis=dims, keepdims=keepdim)
        ctx.share = _tie_share(x, cls.pick(x, axis=dims, keepdims=True), dims, cls.nan_wins)
        return y

    @staticmethod
    def gradients(xp, ctx, grad):
        # the share has the input's shape: the product broadcasts the gradient over it
        return _kept(xp, grad, ctx) * xp.asarray(ctx.share, dtype=grad.dtype), None, None


class Max(_Extreme):
    node_name = "MaxBackward1"
    pick = staticmethod(xp.max)


class Min(_Extreme):
    node_name = "MinBackward1"
    pick = staticmethod(xp.min)


class Amax(_Extreme):
    pick = staticmethod(xp.max)
    nan_wins = False


class Amin(_Extreme):
    pick = staticmethod(xp.min)
    nan_wins = False


class _ExtremeDim(Op):
    """Max/min along one dim with indices; the gradient goes to the selected index."""

    choose = None

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        if x.ndim == 0:
            ctx.shape, ctx.dims, ctx.keepdim, ctx.chosen = x.shape, (), keepdim, None
            return x.copy(), xp.zeros((), dtype=int64.numpy)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, (dim,), keepdim
        indices = cls.choose(x, axis=dim, keepdims=True)
        values = xp.take_along_axis(x, indices, axis=dim)
        line = [1] * x.ndim
        line[dim] = x.shape[dim]
        ctx.chosen = xp.arange(x.shape[dim]).reshape(line) == indices
        if not keepdim:
            values, indices = values.squeeze(dim), indices.squeeze(dim)
        return values, indices.astype(int64.numpy)

    @staticmethod
    def backward(ctx, grad, grad_indices):
        from ember.ops.elementwise import where

        if ctx.chosen is None:
            return grad, None, None
        return where(Tensor._make(ctx.chosen), _expand_back(grad, ctx), 0.0), None, None


class MaxDim(_ExtremeDim):
    node_name = "MaxBackward0"
    choose = staticmethod(xp.argmax)


class MinDim(_ExtremeDim):
    node_name = "MinBackward0"
    choose = staticmethod(xp.argmin)


def _max_or_min(name, whole_op, dim_op, tuple_type, input, dim, keepdim, other):
    if isinstance(dim, Tensor) or other is not None:
        from ember.ops import elementwise

        second = dim if isinstance(dim, Tensor) else other
        return getattr(elementwise, {"max": "maximum", "min": "minimum"}[name])(input, second)
    if dim is None:
        if keepdim:
            raise TypeError(
                f"{name}() received an invalid combination of arguments: keepdim needs dim"
            )
        _check_nonempty(input._data, (), name, whole=True)
        return whole_op.apply(input, tuple(range(input.ndim)), False)
    one = _one_dim(input, dim, name)
    if one is None:
        values, indices = dim_op.apply(input, 0, True)
        return tuple_type(values, indices)
    _check_nonempty(input._data, (one,), name, whole=False)
    return tuple_type(*dim_op.apply(input, one, keepdim))


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None, out=None):
    """The largest element; along ``dim``, ``(values, indices)``; with a tensor, ``maximum``.

    The gradient of the whole-tensor max is split evenly among tied elements; along a dim
    it goes to the returned index. NaN is the largest value.

    Example::

        values, indices = ember.max(x, dim=1)
    """
    return _max_or_min("max", Max, MaxDim, return_types.max, input, dim, keepdim, other)


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None, out=None):
    """The smallest element; along ``dim``, ``(values, indices)``; with a tensor, ``minimum``."""
    return _max_or_min("min", Min, MinDim, return_types.min, input, dim, keepdim, other)


def _amax_or_amin(op, name, input, dim, keepdim):
    dims = _reduction_args(input, dim, name)
    _check_nonempty(input._data, dims, name, whole=input.ndim and len(dims) == input.ndim)
    return op.apply(input, dims, keepdim)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The max over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(Amax, "amax", input, dim, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The min over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax_or_amin(Amin, "amin", input, dim, keepdim)


def _arg(name, numpy_arg, input, dim, keepdim):
    x = input._data
    if x.dtype == xp.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        index = xp.asarray(numpy_arg(x.reshape(-1)), dtype=xp.int64)
        return Tensor._make(index.reshape((1,) * x.ndim) if keepdim else index)
    one = _one_dim(input, dim, name)
    if one is None:
        return Tensor._make(xp.zeros((), dtype=xp.int64))
    _check_nonempty(x, (one,), name, whole=False)
    return Tensor._make(numpy_arg(x, axis=one, keepdims=keepdim).astype(xp.int64))


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the largest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmax", xp.argmax, input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The index of the smallest element (of the flattened input when ``dim`` is None)."""
    return _arg("argmin", xp.argmin, input, dim, keepdim)


class Aminmax(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        low = xp.min(x, axis=dims, keepdims=True)
        high = xp.max(x, axis=dims, keepdims=True)
        ctx.shares = (_tie_share(x, low, dims, False), _tie_share(x, high, dims, False))
        if not keepdim:
            shape = xp.min(x, axis=dims).shape
            low, high = low.reshape(shape), high.reshape(shape)
        return low, high

    @staticmethod
    def backward(ctx, grad_min, grad_max):
        low_share, high_share = (_constant(s, grad_min._data) for s in ctx.shares)
        grad = _expand_back(grad_min, ctx) * low_share + _expand_back(grad_max, ctx) * high_share
        return grad, None, None


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(amin(input, dim), amax(input, dim))`` in one pass, as ``(min, max)``."""
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(
                "aminmax(): cannot compute aminmax over an empty dimension as the operation "
                "has no identity."
            )
        dims = tuple(range(input.ndim))
    else:
        one = _one_dim(input, dim, "aminmax")
        dims = () if one is None else (one,)
        if dims and input.shape[one] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {one} to have non-zero size.")
    return return_types.aminmax(*Aminmax.apply(input, dims, keepdim))


# ---------------------------------------------------------------- variance


def _count(shape, dims) -> int:
    count = 1
    for d in dims:
        count *= shape[d]
    return count


def _degrees_of_freedom(shape, dims, correction) -> float:
    dof = _count(shape, dims) - correction
    if dof <= 0:
        warnings.warn(
            "var(): degrees of freedom is <= 0. Correction should be strictly less than the "
            "reduction factor (input numel divided by output numel).",
            UserWarning,
            stacklevel=5,
        )
    return builtins.max(0, dof)


def _centered(x, dims):
    return x - xp.sum(x, axis=dims, keepdims=True) / builtins.max(1, _count(x.shape, dims))


class Var(Op):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.dof = _degrees_of_freedom(x.shape, dims, correction)
        centered = _centered(x, dims)
        ctx.save_for_backward(x)
        return xp.sum(centered * centered, axis=dims, keepdims=keepdim) / ctx.dof

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _var_backward(_expand_back(grad, ctx), x, ctx), None, None, None


def _var_backward(grad, x, ctx):
    centered = x - mean(x, ctx.dims, keepdim=True)
    return grad * centered * (2.0 / ctx.dof if ctx.dof else _inf)


class Std(Op):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.dof = _degrees_of_freedom(x.shape, dims, correction)
        centered = _centered(x, dims)
        variance = xp.sum(centered * centered, axis=dims, keepdims=keepdim) / ctx.dof
        y = xp.asarray(xp.sqrt(variance))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.elementwise import where

        x, y = ctx.saved_tensors
        # d std = d var / (2 std); PyTorch takes it as 0 where std is 0.
        is_zero = y == 0
        grad_var = where(is_zero, 0.0, grad / (2 * where(is_zero, 1.0, y)))
        return _var_backward(_expand_back(grad_var, ctx), x, ctx), None, None, None


def _variance_args(name, input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(input, unbiased) overload
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}(): cannot specify both unbiased and correction")
    if correction is None:
        correction = 0 if unbiased is False else 1
    if not input.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    return _reduction_args(input, dim, name), correction


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``sum((x - mean)**2) / max(0, N - correction)`` over ``dim``; ``correction`` defaults to 1.

    ``unbiased=False`` is ``correction=0``. Also callable as ``var(input, unbiased)``.
    """
    dims, correction = _variance_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``sqrt(var(input, ...))``, with the same arguments as ``var``; the gradient at 0 is 0."""
    dims, correction = _variance_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim)


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var(input, ...), mean(input, dim, keepdim))``."""
    dims, correction = _variance_args("var_mean", input, dim, unbiased, keepdim, correction)
    return return_types.var_mean(
        Var.apply(input, dims, correction, keepdim), mean(input, dims, keepdim)
    )


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std(input, ...), mean(input, dim, keepdim))``."""
    dims, correction = _variance_args("std_mean", input, dim, unbiased, keepdim, correction)
    return return_types.std_mean(
        Std.apply(input, dims, correction, keepdim), mean(input, dims, keepdim)
    )


# ---------------------------------------------------------------- norms


class LinalgVectorNorm(Op):
    @staticmethod
    def forward(ctx, x, order, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim, ctx.order = x.shape, dims, keepdim, order
        magnitude = xp.abs(x)
        if order == 0:
            y = xp.sum(magnitude != 0, axis=dims, keepdims=keepdim).astype(x.dtype)
        elif order == _inf:
            y = xp.max(magnitude, axis=dims, keepdims=keepdim)
        elif order == -_inf:
            y = xp.min(magnitude, axis=dims, keepdims=keepdim)
        elif order == 1:
            y = xp.sum(magnitude, axis=dims, keepdims=keepdim)
        elif order == 2:
            y = xp.sqrt(xp.sum(x * x, axis=dims, keepdims=keepdim))
        else:
            y = xp.sum(magnitude**order, axis=dims, keepdims=keepdim) ** (1.0 / order)
        y = xp.asarray(y)  # NumPy returns a scalar for a full reduction; backward needs y
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.elementwise import where

        x, y = ctx.saved_tensors
        order = ctx.order
        grad = _unreduce(grad, ctx.shape, ctx.dims, ctx.keepdim)
        y = _unreduce(y, ctx.shape, ctx.dims, ctx.keepdim)
        sign = _constant(xp.sign(x._data), x._data)
        if order == 0:
            return None, None, None, None  # PyTorch leaves it undefined: no gradient
        if order == 1:
            return sign * grad, None, None, None
        if order in (_inf, -_inf):
            magnitude = xp.abs(x._data)
            mask = (magnitude == y._data) | xp.isnan(magnitude)
            count = mask.sum(axis=ctx.dims, keepdims=True)
            return (
                sign * (grad / _constant(count, x._data)) * _constant(mask, x._data),
                None,
                None,
                None,
            )
        is_zero = y == 0
        safe_norm = where(is_zero, 1.0, y)
        if order == 2:
            return grad * where(is_zero, 0.0, x / safe_norm), None, None, None
        magnitude = x * sign
        if order < 1:
            x_is_zero = Tensor._make(x._data == 0)
            scaled = sign * where(x_is_zero, 0.0, where(x_is_zero, 1.0, magnitude) ** (order - 1))
            return scaled * grad * y ** (1 - order), None, None, None
        if order < 2:
            scaled = sign * magnitude ** (order - 1)
        else:
            scaled = x * magnitude ** (order - 2)
        scale = where(is_zero, 0.0, grad / safe_norm ** (order - 1))
        return scaled * scale, None, None, None


def _vector_norm(input: Tensor, order, dim, keepdim, dtype=None) -> Tensor:
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {_legacy_name(input._data.dtype)}"
        )
    input = _cast(input, dtype)
    dims = _reduction_args(input, dim, "linalg.vector_norm")
    order = float(order)
    if order < 0 or order == _inf:
        empty = (
            input.numel() == 0
            if len(dims) == input.ndim
            else builtins.any(input.shape[d] == 0 for d in dims)
        )
        if empty:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {order:g} norm on an empty tensor "
                "because the operation does not have an identity"
            )
    return LinalgVectorNorm.apply(input, order, dims, keepdim)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` is scaled down to it.

    The factor is ``maxnorm / (norm + 1e-7)``, as PyTorch computes it.
    """
    from ember.ops.elementwise import where

    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    dim = wrap_dims(dim, input.ndim, "renorm")[0]
    others = tuple(d for d in range(input.ndim) if d != dim)
    norms = norm(input, p, others, keepdim=True)
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None):
    """The p-norm ``(sum |x|**p) ** (1/p)`` over ``dim`` (all elements by default).

    Args:
        p: a number (``inf``, ``-inf`` and 0 included), ``'fro'`` (the 2-norm over
            ``dim``) or ``'nuc'`` (the nuclear norm of a matrix; needs ``ember.linalg``).
        dim: an int or a tuple of ints; ``None`` reduces all dims.

    The gradient at a zero norm is zero, as in PyTorch.
    """
    if isinstance(dim, list):
        dim = tuple(dim)
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return _vector_norm(input, 2, dim, keepdim, dtype)
        if p == "nuc" or p == "fro":
            if dim is None:
                dim = (-2, -1)
            from ember import linalg

            return linalg.matrix_norm(_cast(input, dtype), p, dim=dim, keepdim=keepdim)
        raise RuntimeError(f"norm(): unsupported norm type {p!r}")
    return _vector_norm(input, p, dim, keepdim, dtype)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """``norm(input - other, p)`` of the broadcast difference."""
    from ember.ops.elementwise import sub

    return _vector_norm(sub(input, other), p, None, False)


# ---------------------------------------------------------------- cumulative scans


class Flip(Op):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return xp.flip(x, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return _flip(grad, ctx.dims), None


def _flip(x: Tensor, dims) -> Tensor:
    """``x`` reversed along ``dims`` (private: ``flip`` itself belongs to the shape ops)."""
    return Flip.apply(x, tuple(dims))


def _reverse_cumsum(x: Tensor, dim: int) -> Tensor:
    """``sum_{k >= i} x_k`` along ``dim``."""
    return _flip(cumsum(_flip(x, (dim,)), dim), (dim,))


class Cumsum(Op):
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
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        if dtype is None and x.dtype.kind in "biu":
            dtype = int64.numpy
        y = xp.cumprod(x, axis=dim, dtype=dtype) if x.ndim else x.astype(dtype or x.dtype)
        ctx.has_zero = bool((x == 0).any())
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None, None
        if not ctx.has_zero:
            return _reverse_cumsum(grad * y, ctx.dim) / x, None, None
        return _cumprod_backward_with_zeros(x, grad, ctx.dim), None, None


def _cumprod_backward_with_zeros(x: Tensor, grad: Tensor, dim: int) -> Tensor:
    """``sum_{k >= i} grad_k prod_{j <= k, j != i} x_j``, exact when ``x`` has zeros.

    Row ``i`` of an ``n x n`` matrix is ``x`` with 1 in place of ``x_i``; its cumprod is
    ``prod_{j <= k, j != i} x_j`` for every ``k``. ``n**2`` memory, zeros only.
    """
    from ember.ops.elementwise import where

    moved, restore = _to_last(x, dim)
    grad_moved, _ = _to_last(grad, dim)
    batch, n = moved.shape[:-1], moved.shape[-1]
    rows = moved.reshape(*batch, 1, n).expand(*batch, n, n)
    partial = cumprod(where(Tensor._make(xp.eye(n, dtype=bool)), 1.0, rows), -1)
    later = Tensor._make(xp.triu(xp.ones((n, n), dtype=bool)))
    weighted = where(later, partial * grad_moved.reshape(*batch, 1, n), 0.0)
    return restore(sum(weighted, -1))


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``y_i = sum_{j <= i} x_j`` along ``dim``; bool and integer inputs give int64."""
    one = wrap_dim(dim, input.ndim, "cumsum")
    return Cumsum.apply(input, one, _numpy_dtype(dtype))


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``y_i = prod_{j <= i} x_j`` along ``dim``; the gradient is exact with zeros."""
    one = wrap_dim(dim, input.ndim, "cumprod")
    return Cumprod.apply(input, one, _numpy_dtype(dtype))


# ---------------------------------------------------------------- logical


def _logical(name, numpy_reduce, input, dim, keepdim):
    dims = _reduction_args(input, dim, name)
    result = numpy_reduce(input._data != 0, axis=dims, keepdims=keepdim)
    dtype = xp.uint8 if input._data.dtype == xp.uint8 else xp.bool_
    return Tensor._make(xp.asarray(result, dtype=dtype))


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element over ``dim`` is nonzero (uint8 in, uint8 out; else bool)."""
    return _logical("all", xp.all, input, dim, keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether some element over ``dim`` is nonzero (uint8 in, uint8 out; else bool)."""
    return _logical("any", xp.any, input, dim, keepdim)


# ---------------------------------------------------------------- quantiles


class Quantile(Op):
    @staticmethod
    def forward(ctx, x, q, dim, keepdim, interpolation, ignore_nan):
        flat = x.reshape(-1) if dim is None else xp.moveaxis(x, dim, -1)
        n = flat.shape[-1]
        order = xp.argsort(flat, axis=-1, kind="stable")  # NaN sorts last
        ordered = xp.take_along_axis(flat, order, axis=-1)
        nan_count = xp.isnan(flat).sum(axis=-1)
        valid = n - nan_count if ignore_nan else xp.full(nan_count.shape, n)
        rank = q.reshape((-1,) + (1,) * nan_count.ndim) * (valid - 1)
        if not ignore_nan:  # a NaN slice reads its last sorted element, a NaN (as PyTorch)
            rank = xp.where(nan_count > 0, n - 1, rank)
        below, above, weight = _ranks(rank, interpolation)
        below = xp.clip(below, 0, n - 1).astype(xp.int64)
        above = xp.clip(above, 0, n - 1).astype(xp.int64)
        weight = weight.astype(x.dtype)
        batch = tuple(xp.indices(below.shape))[1:]
        low, high = ordered[batch + (below,)], ordered[batch + (above,)]
        y = xp.where(weight < 0.5, low + weight * (high - low), high - (high - low) * (1 - weight))
        undefined = valid == 0 if ignore_nan else nan_count > 0
        y = xp.where(undefined, xp.nan, y).astype(x.dtype)
        # Each quantile's gradient goes to the elements at its two ranks, weighted as the lerp.
        share = xp.zeros(below.shape + (n,), dtype=x.dtype)
        lead = tuple(xp.indices(below.shape))
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
        q_array = q._data
    else:
        q_array = xp.asarray(float(q), dtype=input._data.dtype)
    if q_array.size and ((q_array < 0).any() or (q_array > 1).any()):
        bad = q_array.reshape(-1)[((q_array < 0) | (q_array > 1)).reshape(-1)][0]
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {bad:g}")
    if input.ndim == 0:
        input = input.reshape(1)
        dim = None if dim is None else 0
    one = None if dim is None else wrap_dim(dim, input.ndim, name)
    if one is not None and input.shape[one] == 0:
        raise IndexError(f"{name}() cannot compute quantiles over an empty dimension")
    return Quantile.apply(input, q_array, one, keepdim, interpolation, ignore_nan)


@autocasts(FLOAT32)
def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):
    """The ``q``-th quantiles over ``dim`` (the flattened input when None).

    ``q`` is a float or a 1-D tensor (its values then lead the result's shape). Between
    two sorted elements ``interpolation`` picks: linear, lower, higher, midpoint, nearest.
    A slice holding NaN gives NaN.
    """
    return _quantile("quantile", input, q, dim, keepdim, interpolation, ignore_nan=False)


@autocasts(FLOAT32)
def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation="linear"):
    """``quantile`` ignoring NaN elements (NaN only where a slice is all NaN)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, ignore_nan=True)


# ---------------------------------------------------------------- covariance, integrals


def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in columns):
    ``Σ w (x - x̄)(x - x̄)ᵀ / (Σw - correction)``, with ``w = fweights * aweights``.

    A 1-D ``input`` is one variable and gives a 0-D variance.
    """
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    observations = input if input.ndim == 2 else input.reshape(1, -1)
    weights = fweights
    if aweights is not None:
        weights = aweights if weights is None else weights * aweights
    if weights is None:
        total = Tensor._make(xp.asarray(observations.shape[1], dtype=xp.int64))
        average = observations.sum(1) / total
    else:
        total = weights.sum()
        average = (observations * weights).sum(1) / total
    if weights is not None and aweights is not None and correction != 0:
        norm = total - correction * (weights * aweights).sum() / total
    else:
        norm = total - correction
    if bool((norm <= 0).item()):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    centered = observations - average.unsqueeze(1)
    weighted = centered if weights is None else centered * weights
    return (centered @ weighted.t() / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in ``input``'s rows:
    ``cov[i, j] / sqrt(cov[i, i] cov[j, j])``, clipped to [-1, 1]."""
    covariance = cov(input)
    if covariance.ndim == 0:
        return covariance / covariance
    deviation = covariance.diagonal().sqrt()
    correlation = covariance / deviation.reshape(-1, 1) / deviation.reshape(1, -1)
    return correlation.clip(-1, 1)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``Σ (x[i+1] - x[i]) (y[i+1] + y[i]) / 2``,
    with sample points ``x`` (a tensor) or a constant spacing ``dx`` (1 by default)."""
    if x is not None and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: "
                        "pass either x or dx, not both")
    dim = wrap_dim(dim, y.ndim, "trapezoid")
    length = y.shape[dim]
    if not isinstance(x, Tensor):
        spacing = 1 if x is None and dx is None else (x if dx is None else dx)
        if length == 0:
            return sum(y, dim) * 0.0
        ends = y.select(dim, 0) + y.select(dim, -1)
        return (sum(y, dim) - ends * 0.5) * spacing
    if x.ndim == 1:
        if x.shape[0] != length:
            raise RuntimeError(
                f"trapezoid: There must be one `x` value for each sample point, got x of "
                f"size {x.shape[0]} and y of size {length} along dim {dim}"
            )
        x = x.reshape([length if d == dim else 1 for d in range(y.ndim)])
    elif x.ndim < y.ndim:
        x = x.reshape((1,) * (y.ndim - x.ndim) + tuple(x.shape))
    if length == 0:
        return sum(y, dim) * 0.0
    spacing = x.narrow(dim, 1, length - 1) - x.narrow(dim, 0, length - 1)
    heights = y.narrow(dim, 1, length - 1) + y.narrow(dim, 0, length - 1)
    return sum(spacing * heights, dim) / 2.0


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """An alias of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


# ---------------------------------------------------------------- NumPy argument names


def _numpy_names(function):
    """``function`` also taking NumPy's ``axis=`` and ``keepdims=``, as PyTorch's argument
    parser does for every ``dim``/``keepdim`` (``x.sum(axis=0)``)."""

    @functools.wraps(function)
    def accepting(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return function(*args, **kwargs)

    return accepting


for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "all",
              "any", "std", "var", "std_mean", "var_mean", "cumsum", "cumprod", "nansum",
              "nanmean", "norm", "quantile", "nanquantile"):
    globals()[_name] = _numpy_names(globals()[_name])

