"""Statistics over dims: variance and standard deviation (with ``correction``), vector norms
(``norm``, ``dist``, ``renorm``), covariance and correlation, and the trapezoidal rule. The
gradients of a standard deviation and of a norm are taken as 0 where the value is 0, as in
PyTorch."""

from __future__ import annotations

import builtins
import warnings

from ember import return_types
from ember._backend import asarray, xp
from ember._tensor import Tensor
from ember.ops._function import Op, wrap_dim, wrap_dims
from ember.ops.elementwise import sub, where
from ember.ops.reduction._common import (
    _cast,
    _constant,
    _count,
    _expand_back,
    _legacy_name,
    _reduction_args,
    _unreduce,
)
from ember.ops.reduction.sums import mean, sum
from ember.ops.shape import _numpy_names

_inf = float("inf")


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
        y = asarray(xp.sqrt(variance))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
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


@_numpy_names
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``sum((x - mean)**2) / max(0, N - correction)`` over ``dim``; ``correction`` defaults to 1.

    ``unbiased=False`` is ``correction=0``. Also callable as ``var(input, unbiased)``.
    """
    dims, correction = _variance_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim)


@_numpy_names
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``sqrt(var(input, ...))``, with the same arguments as ``var``; the gradient at 0 is 0."""
    dims, correction = _variance_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim)


@_numpy_names
def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var(input, ...), mean(input, dim, keepdim))``."""
    dims, correction = _variance_args("var_mean", input, dim, unbiased, keepdim, correction)
    return return_types.var_mean(
        Var.apply(input, dims, correction, keepdim), mean(input, dims, keepdim)
    )


@_numpy_names
def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std(input, ...), mean(input, dim, keepdim))``."""
    dims, correction = _variance_args("std_mean", input, dim, unbiased, keepdim, correction)
    return return_types.std_mean(
        Std.apply(input, dims, correction, keepdim), mean(input, dims, keepdim)
    )


# ---------------------------------------------------------------- norms


class LinalgVectorNorm(Op):
    cuda_autocast_float32 = True

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
        y = asarray(y)  # NumPy returns a scalar for a full reduction; backward needs y
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
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
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    dim = wrap_dims(dim, input.ndim, "renorm")[0]
    others = tuple(d for d in range(input.ndim) if d != dim)
    norms = norm(input, p, others, keepdim=True)
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor


@_numpy_names
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
            from ember import linalg  # ember.linalg imports ember.ops, which imports this

            return linalg.matrix_norm(_cast(input, dtype), p, dim=dim, keepdim=keepdim)
        raise RuntimeError(f"norm(): unsupported norm type {p!r}")
    return _vector_norm(input, p, dim, keepdim, dtype)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    """``norm(input - other, p)`` of the broadcast difference."""
    return _vector_norm(sub(input, other), p, None, False)


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
    if weights is None:  # the degrees of freedom are a number: nothing to read from values
        total = observations.shape[1]
        average = observations.sum(1) / total
        norm = total - correction
        if norm <= 0:
            _few_degrees_of_freedom()
            norm = 0
    else:
        total = weights.sum()
        average = (observations * weights).sum(1) / total
        if aweights is not None and correction != 0:
            norm = total - correction * (weights * aweights).sum() / total
        else:
            norm = total - correction
        if bool((norm <= 0).item()):
            _few_degrees_of_freedom()
            norm = norm * 0
    centered = observations - average.unsqueeze(1)
    weighted = centered if weights is None else centered * weights
    return (centered @ weighted.t() / norm).squeeze()


def _few_degrees_of_freedom() -> None:
    warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                  "than the number of observations.", UserWarning, stacklevel=3)


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
