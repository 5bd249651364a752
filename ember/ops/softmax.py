"""The exponential-normalization family: softmax, log_softmax, logsumexp, logcumsumexp.

All four subtract a running maximum before ``exp`` so that logits of +-1000 stay finite,
and each has a hand-written derivative (run on ember's ops too, so it is differentiable
again) because the composed form would overflow where the forward does not.
"""

from __future__ import annotations

from ember._backend import asarray, device_index, float_info, reduce, to_device, to_host, xp
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import Op, float_input, wrap_dim
from ember.ops.reduction._common import _cast, _expand_back, _legacy_name, _reduction_args
from ember.ops.shape import flip as _flip

__all__ = ["log_softmax", "logcumsumexp", "logsumexp", "softmax"]


def _shifted(x, dim):
    """``x - max(x, dim)`` in a new array: every exponent is then <= 0 (NaN for all -inf rows,
    as PyTorch). ``dim`` is None for a 0-d ``x``."""
    if x.size == 0:
        return x.copy()
    return xp.subtract(x, reduce(xp.maximum, x, dim), out=xp.empty_like(x))


class Softmax(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = _shifted(x, dim)
        xp.exp(y, out=y)
        y /= reduce(xp.add, y, dim)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def gradients(xp, ctx, grad):
        (y,) = xp.saved(ctx)
        return y * (grad - xp.sum(grad * y, axis=ctx.dim, keepdims=True)), None

    # On arrays the same formula runs in one buffer reused by every step (``out=``, which
    # tensors lack): a full-size temporary less, on the large inputs of attention.
    @staticmethod
    def backward_arrays(ctx, grad):
        (y,) = ctx.saved_arrays
        if y.ndim == 0 or grad.dtype != y.dtype:
            return Softmax.gradients(ArrayMath, ctx, grad)
        result = grad * y
        total = reduce(xp.add, result, ctx.dim)
        xp.subtract(grad, total, out=result)
        result *= y
        return result, None


class LogSoftmax(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = _shifted(x, dim)
        y -= xp.log(reduce(xp.add, xp.exp(y), dim))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def gradients(xp, ctx, grad):
        (y,) = xp.saved(ctx)
        return grad - xp.exp(y) * xp.sum(grad, axis=ctx.dim, keepdims=True), None

    # in one buffer on arrays, as ``Softmax``'s
    @staticmethod
    def backward_arrays(ctx, grad):
        (y,) = ctx.saved_arrays
        if y.ndim == 0 or grad.dtype != y.dtype:
            return LogSoftmax.gradients(ArrayMath, ctx, grad)
        result = xp.exp(y)
        result *= reduce(xp.add, grad, ctx.dim)
        xp.subtract(grad, result, out=result)
        return result, None


def _normalization_input(name, input, dim, dtype):
    input = _cast(input, dtype)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f'"{name}_lastdim_kernel_impl" not implemented for '
            f"'{_legacy_name(input._data.dtype)}'"
        )
    if dim is None or isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(
            f"{name}(): argument 'dim' (position 2) must be int, not {type(dim).__name__}"
        )
    return input, wrap_dim(dim, input.ndim, name) if input.ndim else None


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``, computed as ``exp(x - max x)`` (stable).

    Args:
        dim: the dim whose slices sum to 1 (required).
        dtype: cast ``input`` to this dtype first.

    The backward is ``y * (grad - sum(grad * y))``.
    """
    input, dim = _normalization_input("softmax", input, dim, dtype)
    return Softmax.apply(input, dim)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``x_i - log(sum_j exp(x_j))`` along ``dim``, stable for large ``|x|``.

    The backward is ``grad - exp(y) * sum(grad)``.
    """
    input, dim = _normalization_input("log_softmax", input, dim, dtype)
    return LogSoftmax.apply(input, dim)


class Logsumexp(Op):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        x = float_input(x)
        if x.size:
            peak = xp.max(x, axis=dims, keepdims=True)
            peak = xp.where(xp.isinf(peak), 0, peak)  # all -inf (or +inf) slices
        else:
            peak = xp.zeros(_kept(x.shape, dims), dtype=x.dtype, like=x)
        y = xp.log(xp.sum(xp.exp(x - peak), axis=dims, keepdims=True)) + peak
        y = asarray(y if keepdim else y.reshape(xp.sum(x, axis=dims).shape))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return _expand_back(grad, ctx) * (x - _expand_back(y, ctx)).exp(), None, None


def _kept(shape, dims):
    return tuple(1 if i in dims else size for i, size in enumerate(shape))


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim`` (an int or a tuple), shifted by the max (stable).

    Slices that are all ``-inf`` give ``-inf``; integer inputs give the default float dtype.
    """
    return Logsumexp.apply(input, _reduction_args(input, dim, "logsumexp"), keepdim)


def _log_cumulative_sum_exp(x, dim):
    """``log(cumsum(exp(x)))`` along ``dim`` by NumPy's ``logaddexp.accumulate``. CuPy's
    ufuncs have no ``accumulate``, and a running sum of ``exp(x - max)`` loses the prefixes
    far below the maximum (their logs become -inf, and the backward's then NaN), so a GPU
    array is computed on the host: a round trip that only this rare op pays."""
    index = device_index(x)
    if index is None:
        return xp.logaddexp.accumulate(x, axis=dim)
    return to_device(xp.logaddexp.accumulate(to_host(x), axis=dim), index)


class Logcumsumexp(Op):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        y = _log_cumulative_sum_exp(x, dim) if x.ndim else x.copy()
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        from ember.ops.elementwise import where

        x, y = ctx.saved_tensors
        if x.ndim == 0:
            return grad, None
        # grad_i = sum_{k >= i} grad_k exp(x_i - y_k), summed in log space separately for the
        # positive and negative parts of grad (PyTorch's and TensorFlow's formula).
        lowest = float(float_info(x._data.dtype).min)
        log_magnitude = where(grad < 0, -grad, grad).log()
        positive = where(grad > 0, log_magnitude, lowest)
        negative = where(grad < 0, log_magnitude, lowest)
        dim = ctx.dim

        def reverse_logcumsumexp(t):
            return _flip(logcumsumexp(_flip(t, (dim,)), dim), (dim,))

        return (
            (reverse_logcumsumexp(positive - y) + x).exp()
            - (reverse_logcumsumexp(negative - y) + x).exp(),
            None,
        )


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``y_i = log(sum_{j <= i} exp(x_j))`` along ``dim``, computed stably."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"logcumsumexp_out_cpu\" not implemented for '{_legacy_name(input._data.dtype)}'"
        )
    return Logcumsumexp.apply(input, wrap_dim(dim, input.ndim, "logcumsumexp"))
