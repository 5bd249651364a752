"""Normalization: batch, instance, layer, group and RMS normalization, local response norm.

Batch, instance, layer and group normalization with batch statistics share one fused
primitive, ``_Normalize``: y = (x - mean) / sqrt(var + eps) * weight + bias, the statistics
taken over some dims. It is fused because the composed graph would keep five full-size
intermediates and its gradient would cancel large terms; the hand-written backward is the
standard formula, written with ember ops so that it differentiates again. Normalizing with
given statistics (batch norm in eval mode) and ``rms_norm`` are plain compositions.

Running statistics are updated on arrays inside the forward (never part of a graph), with
the batch mean and the unbiased batch variance, as PyTorch does.
"""

from __future__ import annotations

import math
import numbers

from ember._autocast import FLOAT32, autocasts
from ember._backend import cuda as _cuda, device_index, float_info, xp
from ember._device import mixed_devices
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops._function import Op, _legacy, wrap_dim
from ember.ops.creation import zeros
from ember.ops.shape import cat

__all__ = [
    "batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
    "local_response_norm",
]  # fmt: skip


# ---------------------------------------------------------------- the primitive


class _Normalize(Op):
    """(x - mean) / sqrt(var + eps) * weight + bias, the statistics over ``dims`` of ``x``.

    ``weight`` and ``bias`` (or None) are viewed as ``view`` to broadcast against ``x``.
    ``running`` is None or ``(running_mean, running_var, momentum)``: the arrays, of one
    entry per channel, get the batch mean and unbiased variance blended in, in place.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dims, view, eps, running):
        count = math.prod(x.shape[d] for d in dims)
        mean = x.sum(axis=dims, keepdims=True) / max(count, 1)
        normalized = x - mean
        square = normalized * normalized
        variance = square.sum(axis=dims, keepdims=True) / max(count, 1)
        rstd = 1 / xp.sqrt(variance + eps)
        normalized *= rstd
        y = normalized
        if weight is not None:
            # the square's buffer is free again: y = normalized * weight + bias lands there
            y = _into(xp.multiply, square, normalized, weight.reshape(view))
        if bias is not None:
            y = _into(xp.add, square if y is square else None, y, bias.reshape(view))
        if running is not None and x.size:
            _update_running(running, mean, variance, count)
        ctx.dims, ctx.view, ctx.eps = dims, view, eps
        ctx.bias_shape = None if bias is None else bias.shape
        # normalized is kept for the array backward; the graph backward recomputes it from x
        ctx.save_for_backward(x, weight, mean, rstd, None if y is normalized else normalized)
        return y.astype(x.dtype, copy=False)

    # One derivative in two forms, because they differ in what they may reuse: a recorded
    # backward takes the statistics again as functions of x (so that they are differentiated
    # too); the array backward reuses the forward's normalized values and its own buffers.
    @staticmethod
    def backward(ctx, grad):
        x, weight, mean, rstd = ctx.saved_tensors[:4]
        dims, view = ctx.dims, ctx.view
        if grad_mode.state.enabled:
            # Building a graph (double backward): the statistics must be functions of x.
            mean = x.mean(dims, keepdim=True)
            rstd = ((x - mean).square().mean(dims, keepdim=True) + ctx.eps).rsqrt()
        normalized = (x - mean) * rstd
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            g = grad if weight is None else grad * weight.reshape(view)
            grad_x = rstd * (
                g - g.mean(dims, keepdim=True)
                - normalized * (g * normalized).mean(dims, keepdim=True)
            )
        if needs[1]:
            grad_weight = (grad * normalized).sum_to_size(view).reshape(weight.shape)
        if needs[2]:
            grad_bias = grad.sum_to_size(view).reshape(ctx.bias_shape)
        return grad_x, grad_weight, grad_bias, None, None, None, None

    @staticmethod
    def backward_arrays(ctx, grad):
        """``backward`` on arrays, with two full-size buffers, each reused."""
        x, weight, mean, rstd, normalized = ctx.saved_arrays
        if normalized is None:
            normalized = (x - mean) * rstd
        dims, view = ctx.dims, ctx.view
        needs = ctx.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        product = grad * normalized
        if needs[1]:
            grad_weight = _sum_to_size_array(product, view).reshape(weight.shape)
        if needs[2]:
            grad_bias = _sum_to_size_array(grad, view).reshape(ctx.bias_shape)
        if needs[0]:
            if grad_weight is not None and xp.shares_memory(grad_weight, product):
                product = None  # nothing was summed away: the buffer is grad_weight itself
            g = grad if weight is None else grad * weight.reshape(view)
            if weight is not None:
                product = _into(xp.multiply, product, g, normalized)
            # rstd (g - mean(g) - normalized mean(g normalized)), in that order of rounding
            correction = _into(xp.multiply, product, normalized, _mean_array(product, dims))
            grad_x = _into(xp.subtract, None if g is grad else g, g, _mean_array(g, dims))
            grad_x = _into(xp.subtract, grad_x, grad_x, correction)
            grad_x = _into(xp.multiply, grad_x, grad_x, rstd)
        return grad_x, grad_weight, grad_bias, None, None, None, None


def _into(ufunc, buffer, a, b):
    """``ufunc(a, b)``, written into ``buffer`` when it fits: ``a``'s shape, and one dtype for
    all three (``b`` is a statistic or a weight that broadcasts against ``a``)."""
    fits = buffer is not None and buffer.ndim and buffer.shape == a.shape
    if fits and buffer.dtype == a.dtype == b.dtype:
        return ufunc(a, b, out=buffer)
    return ufunc(a, b)


def _mean_array(array, dims):
    """``Tensor.mean(dims, keepdim=True)`` on an array (NaN over no element, as ``mean``)."""
    total = array.sum(axis=dims, keepdims=True)
    return xp.true_divide(total, math.prod(array.shape[d] for d in dims), dtype=total.dtype)


def _sum_to_size_array(array, shape):
    """``Tensor.sum_to_size(shape)`` on an array, left with the reduced dims dropped."""
    lead = array.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and array.shape[lead + i] != 1
    )
    return array.sum(axis=dims) if dims else array


# One class per PyTorch node name (``NativeBatchNormBackward0`` ...), all ``_Normalize``.
class NativeBatchNorm(_Normalize):
    pass


class NativeLayerNorm(_Normalize):
    cuda_autocast_float32 = True


class NativeGroupNorm(_Normalize):
    cuda_autocast_float32 = True


def _normalize(op, input, weight, bias, dims, view, eps, running=None) -> Tensor:
    return op.apply(input, weight, bias, dims, view, eps, running)


def _update_running(running, mean, variance, count) -> None:
    running_mean, running_var, momentum = running
    channels = running_mean.size
    # Instance norm has one statistic per (sample, channel): the running ones take their mean.
    batch_mean = mean.reshape(-1, channels).mean(axis=0)
    unbiased = variance.reshape(-1, channels).mean(axis=0) * (count / max(count - 1, 1))
    running_mean[...] = momentum * batch_mean + (1 - momentum) * running_mean
    running_var[...] = momentum * unbiased + (1 - momentum) * running_var


def _bump(*tensors) -> None:
    for tensor in tensors:
        tensor._version_counter[0] += 1


# ---------------------------------------------------------------- checks


def _check_float(input: Tensor, kernel: str) -> None:
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(input.dtype)}'")


def _check_same_dtype(input: Tensor, *others) -> None:
    for other in others:
        if other is not None and other.dtype is not input.dtype:
            raise RuntimeError(
                "mixed dtype (CPU): all inputs must share same datatype. "
                f"Got input {input.dtype} and {other.dtype}"
            )


def _check_channels(channels: int, **tensors) -> None:
    for name, tensor in tensors.items():
        if tensor is not None and tensor.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")


def _verify_batch_size(size) -> None:
    size = list(size)
    values = size[0] * math.prod(size[2:])
    if values == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )


def _running_pair(running_mean, running_var, input) -> None:
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "running_mean and running_var must either both be None or neither be None"
        )
    if _cuda.in_use and running_mean is not None:  # the running statistics reach arrays
        places = [device_index(t._data) for t in (input, running_mean, running_var)]
        if len(set(places)) > 1:
            raise mixed_devices(places, "batch_norm")


def _normalize_with(input, mean, var, weight, bias, eps, view) -> Tensor:
    """Normalization with given statistics (eval mode): a plain composition."""
    output = (input - mean.reshape(view)) * (var.reshape(view) + eps).rsqrt()
    if weight is not None:
        output = output * weight.reshape(view)
    if bias is not None:
        output = output + bias.reshape(view)
    return output


def _channel_view(input, running_mean, running_var, weight, bias) -> tuple:
    """Batch and instance norm's checks of the per-channel tensors; the view that broadcasts
    one of them along dim 1 of ``input``."""
    channels = input.shape[1] if input.ndim > 1 else 0
    _check_channels(channels, running_mean=running_mean, running_var=running_var,
                    weight=weight, bias=bias)
    _check_float(input, "batch_norm")
    _check_same_dtype(input, weight, bias, running_mean, running_var)
    return (channels,) + (1,) * (input.ndim - 2)


def _batch_statistics(input, dims, view, weight, bias, eps, running_mean, running_var,
                      momentum) -> Tensor:
    """Normalization with the statistics over ``dims``, blended into the running ones."""
    running = None
    if running_mean is not None:
        running = (running_mean._data, running_var._data, momentum)
    output = _normalize(NativeBatchNorm, input, weight, bias, dims, view, eps, running)
    if running is not None and input.numel():
        _bump(running_mean, running_var)
    return output


# ---------------------------------------------------------------- batch and instance norm


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, per channel (dim 1).

    In training the statistics are the batch's (biased variance), and the running ones,
    when given, become ``(1 - momentum) * running + momentum * batch`` (unbiased variance).
    Otherwise ``running_mean`` and ``running_var`` normalize.

    Shape:
        input (N, C, *), running_mean/var, weight, bias (C,) → (N, C, *).
    """
    if momentum is None:
        raise TypeError(
            f"batch_norm(): argument 'momentum' (position 7) must be float, not "
            f"{type(momentum).__name__}"
        )
    _running_pair(running_mean, running_var, input)
    if training:
        if input.ndim < 2:
            wrap_dim(1, input.ndim)
        _verify_batch_size(input.shape)
        if eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    view = _channel_view(input, running_mean, running_var, weight, bias)
    if not training:
        if running_mean is None:
            raise RuntimeError("running_mean must be defined in evaluation mode")
        return _normalize_with(input, running_mean, running_var, weight, bias, eps, view)
    dims = (0,) + tuple(range(2, input.ndim))
    return _batch_statistics(input, dims, view, weight, bias, eps,
                             running_mean, running_var, momentum)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch norm of each sample on its own: statistics over the spatial dims only.

    Running statistics, when given and ``use_input_stats``, take the mean over the batch of
    the per-sample statistics.

    Shape:
        input (N, C, *), running_mean/var, weight, bias (C,) → (N, C, *).
    """
    _running_pair(running_mean, running_var, input)
    if use_input_stats:
        size = list(input.shape)
        if math.prod(size[2:]) == 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input size {size}"
            )
    view = _channel_view(input, running_mean, running_var, weight, bias)
    if not use_input_stats:
        if running_mean is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is "
                "false"
            )
        return _normalize_with(input, running_mean, running_var, weight, bias, eps, view)
    dims = tuple(range(2, input.ndim))
    return _batch_statistics(input, dims, view, weight, bias, eps,
                             running_mean, running_var, momentum)


# ---------------------------------------------------------------- layer, group and RMS norm


def _normalized_shape(normalized_shape, op: str) -> tuple:
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        raise TypeError(
            f"{op}(): argument 'normalized_shape' (position 2) must be tuple of ints, not int"
        )
    shape = tuple(int(size) for size in normalized_shape)
    if not shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            "one element, but got normalized_shape = []"
        )
    return shape


def _check_trailing(input: Tensor, shape: tuple, separator: str) -> None:
    if tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*{separator}{', '.join(str(s) for s in shape)}], but got input of size"
            f"{list(input.shape)}"
        )


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias over the last dims.

    Shape:
        input (*, *normalized_shape), weight and bias (normalized_shape) → same as input.

    Example::

        >>> F.layer_norm(ember.tensor([[1., 3.]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    shape = _normalized_shape(normalized_shape, "layer_norm")
    _check_trailing(input, shape, ", ")
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and tuple(tensor.shape) != shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(tensor.shape)} and normalized_shape = {list(shape)}"
            )
    _check_float(input, "LayerNormKernelImpl")
    _check_same_dtype(input, weight, bias)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    return _normalize(NativeLayerNorm, input, weight, bias, dims, shape, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer norm over groups of channels: statistics per (sample, group), affine per channel.

    Shape:
        input (N, C, *) with C divisible by num_groups, weight and bias (C,) → (N, C, *).
    """
    if input.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}"
        )
    batch, channels = input.shape[0], input.shape[1]
    _verify_batch_size([batch * channels // num_groups, num_groups] + list(input.shape[2:]))
    if channels % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(input.shape)} and num_groups={num_groups}"
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and (tensor.ndim != 1 or tensor.numel() != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(tensor.shape)} and input of shape "
                f"{list(input.shape)}"
            )
    _check_float(input, "group_norm")
    _check_same_dtype(input, weight, bias)
    grouped = input.reshape(batch, num_groups, channels // num_groups, -1)
    view = (num_groups, channels // num_groups, 1)
    output = _normalize(NativeGroupNorm, grouped, weight, bias, (2, 3), view, eps)
    return output.reshape(input.shape)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """y = x / sqrt(mean(x²) + eps) * weight over the last dims (composed, as in PyTorch).

    ``eps`` defaults to the machine epsilon of the input's dtype.

    Shape:
        input (*, *normalized_shape), weight (normalized_shape) → same as input.
    """
    shape = _normalized_shape(normalized_shape, "rms_norm")
    _check_trailing(input, shape, "")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(
            "Expected weight to be of same shape as normalized_shape, but got weight of shape "
            f"{list(weight.shape)} and normalized_shape = {list(shape)}"
        )
    _check_float(input, "rms_norm")
    if eps is None:
        eps = float(float_info(input._data.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    output = input * (input.square().mean(dims, keepdim=True) + eps).rsqrt()
    return output if weight is None else output * weight


@autocasts(FLOAT32)
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """x / (k + alpha * mean of x² over ``size`` neighbouring channels) ** beta.

    The window is zero-padded at the channel edges and always divides by ``size``.

    Shape:
        input (N, C, *) with at least 3 dims → same shape.
    """
    if input.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality                          input (got "
            f"{input.ndim} dimensions)"
        )
    if input.numel() == 0:
        return input
    if input.ndim > 3 and input.dtype.name == "bfloat16":  # PyTorch pools it with avg_pool3d
        raise NotImplementedError("\"avg_pool3d_out_frame\" not implemented for 'BFloat16'")
    squared = input * input
    channels = input.shape[1]
    before, after = size // 2, (size - 1) // 2

    def padding(count):
        shape = (input.shape[0], count) + tuple(input.shape[2:])
        return zeros(shape, dtype=input.dtype, device=input.device)

    padded = cat([padding(before), squared, padding(after)], 1)
    total = padded.narrow(1, 0, channels)
    for offset in range(1, size):
        total = total + padded.narrow(1, offset, channels)
    return input / (total * (alpha / size) + k).pow(beta)
