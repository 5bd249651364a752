"""Convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d``, one fused primitive.

``Convolution`` (node ``ConvolutionBackward0``) computes a convolution or a transposed
convolution and the gradient of its input; ``ConvolutionBackward`` (node
``ConvolutionBackwardBackward0``) computes the weight's. Each one's backward is written with
the other, so gradients of any order exist. The array kernels they run (im2col, col2im, and
their batch-last forms for small images) are in ``_conv_kernels.py``.
"""

from __future__ import annotations

from ember._autocast import LOWER_PRECISION, autocasts
from ember._tensor import Tensor
from ember.nn._functional._conv_kernels import (
    NUMPY_MOVES,
    Geometry,
    _batch_last_columns,
    _batch_last_fits,
    _batch_last_grad,
    _batch_last_transpose,
    _batch_last_weight,
    _convolve,
    _convolve_transpose,
    _convolve_weight,
    output_size,
)
from ember.ops._function import Op, _legacy

__all__ = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
]  # fmt: skip


# ---------------------------------------------------------------- the primitives


class Convolution(Op):
    """``conv`` (``transposed=False``) or ``conv_transpose`` with an optional bias: PyTorch's
    ``aten.convolution``. ``size`` is the output's spatial size (``None``: all windows)."""

    @staticmethod
    def forward(ctx, x, weight, bias, geometry, transposed, size, moves=NUMPY_MOVES):
        """``moves``: how the batch-last kernels move the batch dim (``Moves``)."""
        ctx.geometry, ctx.transposed, ctx.size = geometry, transposed, x.shape[2:]
        ctx.save_for_backward(x, weight)
        if transposed:
            y = _convolve_transpose(x, weight, size, geometry)
        else:
            kernel = weight.shape[2:]
            out = tuple(size or output_size(x.shape[2:], kernel, geometry))
            columns = None
            if _batch_last_fits(geometry, x.shape[0], out):
                columns = _batch_last_columns(moves.to_last(x), kernel, out, geometry)
                needs = getattr(ctx, "needs_input_grad", ())
                if needs[1:2] == (True,) and columns.size <= _KEPT_COLUMNS:
                    ctx.columns = columns  # the weight gradient's im2col: small, so kept
            y = _convolve(x, weight, geometry, out, columns, moves)
        if bias is not None:
            y += bias.reshape((-1,) + (1,) * (y.ndim - 2))
        return y

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs, geometry = ctx.needs_input_grad, ctx.geometry
        kernel = tuple(weight.shape[2:])
        ctx.__dict__.pop("columns", None)
        grad_x = grad_weight = grad_bias = None
        if needs[0]:
            grad_x = Convolution.apply(grad, weight, None, geometry, not ctx.transposed, ctx.size)
        if needs[1]:
            pair = (grad, x) if ctx.transposed else (x, grad)
            grad_weight = ConvolutionBackward.apply(*pair, geometry, kernel)
        if needs[2]:
            grad_bias = grad.sum([0, *range(2, grad.ndim)])
        return grad_x, grad_weight, grad_bias, None, None, None

    # Kept beside ``backward``: on arrays the gradients run the kernels directly, so that one
    # batch-last copy of ``grad`` serves the input, weight and bias gradients and the columns
    # the forward kept are reused; ``backward`` must go through the two ops to be recorded.
    @staticmethod
    def backward_arrays(ctx, grad, moves=NUMPY_MOVES):
        x, weight = ctx.saved_arrays
        needs, geometry, size = ctx.needs_input_grad, ctx.geometry, ctx.size
        kernel = tuple(weight.shape[2:])
        columns = ctx.__dict__.pop("columns", None)
        grad_x = grad_weight = grad_bias = None
        if not ctx.transposed and _batch_last_fits(geometry, grad.shape[0], grad.shape[2:]):
            matrix = _batch_last_grad(grad, geometry.groups, moves)  # serves both products
            if needs[0]:
                out = grad.shape[2:]
                grad_x = _batch_last_transpose(matrix, weight, size, out, grad.shape[0],
                                               geometry, moves)
            if needs[1]:
                if columns is None:
                    moved = moves.to_last(x)
                    columns = _batch_last_columns(moved, kernel, grad.shape[2:], geometry)
                grad_weight = _batch_last_weight(columns, matrix, x.shape[1], kernel)
            if needs[2]:
                grad_bias = matrix.sum(axis=-1).reshape(-1)
        else:
            if needs[0]:
                if ctx.transposed:
                    grad_x = _convolve(grad, weight, geometry, size)
                else:
                    grad_x = _convolve_transpose(grad, weight, size, geometry)
            if needs[1]:
                pair = (grad, x) if ctx.transposed else (x, grad)
                grad_weight = _convolve_weight(*pair, kernel, geometry)
        if needs[2] and grad_bias is None:
            grad_bias = grad.sum(axis=(0, *range(2, grad.ndim)))
        return grad_x, grad_weight, grad_bias, None, None, None


# Batch-last columns up to this many elements stay with the graph for the weight gradient
# (PyTorch keeps none; this spares small models a second im2col, big ones keep no buffer).
_KEPT_COLUMNS = 1 << 18


class ConvolutionBackward(Op):
    """The weight gradient of ``conv(x, ·)`` pulled back from ``grad`` (bilinear in both)."""

    @staticmethod
    def forward(ctx, x, grad, geometry, kernel):
        ctx.geometry, ctx.size, ctx.out = geometry, x.shape[2:], grad.shape[2:]
        ctx.save_for_backward(x, grad)
        return _convolve_weight(x, grad, kernel, geometry)

    @staticmethod
    def backward(ctx, grad_weight):
        x, grad = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = grad_grad = None
        if needs[0]:
            grad_x = Convolution.apply(grad, grad_weight, None, ctx.geometry, True, ctx.size)
        if needs[1]:
            grad_grad = Convolution.apply(x, grad_weight, None, ctx.geometry, False, ctx.out)
        return grad_x, grad_grad, None, None


# ---------------------------------------------------------------- argument checks


def expand_param(value, count: int, name: str, op: str = "convolution") -> tuple:
    """An int or a sequence of ``count`` ints, as a tuple (PyTorch's error otherwise)."""
    if isinstance(value, (list, tuple)):
        values = tuple(int(v) for v in value)
        if len(values) == 1:
            return values * count
        if len(values) != count:
            raise RuntimeError(
                f"expected {name} to be a single integer value or a list of {count} values to "
                f"match the convolution dimensions, but got {name}={list(values)}"
            )
        return values
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}"
        )
    return (value,) * count


def _join(values) -> str:
    return " x ".join(str(v) for v in values)


def _batched(input: Tensor, count: int, op: str) -> tuple:
    """``input`` with a batch dim, and whether one was added (unbatched input)."""
    if input.ndim not in (count + 1, count + 2):
        raise RuntimeError(
            f"Expected {count + 1}D (unbatched) or {count + 2}D (batched) input to {op}, but got "
            f"input of size: {list(input.shape)}"
        )
    if input.ndim == count + 1:
        return input.unsqueeze(0), True
    return input, False


def _check_common(input, weight, bias, count, stride, dilation, groups, transposed):
    shape, weight_shape = input._data.shape, weight._data.shape  # plain tuples: cheap
    if len(weight_shape) != count + 2:
        raise RuntimeError(
            f"Expected {count + 2}-dimensional weight for {count + 2}-dimensional input "
            f"{list(shape)}, but got {len(weight_shape)}-dimensional weight of size "
            f"{list(weight_shape)} instead"
        )
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if weight_shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(weight_shape)}] instead"
        )
    if transposed:
        expected, out_channels = weight_shape[0], weight_shape[1] * groups
        prefix = "transposed=1"
    else:
        expected, out_channels = weight_shape[1] * groups, weight_shape[0]
        prefix = f"groups={groups}"
    if shape[1] != expected:
        raise RuntimeError(
            f"Given {prefix}, weight of size {list(weight_shape)}, expected input"
            f"{list(shape)} to have {expected} channels, but got {shape[1]} "
            "channels instead"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given {'transposed=1, ' if transposed else ''}weight of size {list(weight_shape)}, "
            f"expected bias to be 1-dimensional with {out_channels} elements, but got bias of "
            f"size {list(bias.shape)} instead"
        )
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"expected scalar type {_legacy(weight.dtype)} but found {_legacy(input.dtype)}"
        )
    if bias is not None and bias.dtype is not input.dtype:
        raise RuntimeError(
            f"Input type ({_c_name(input.dtype)}) and bias type ({_c_name(bias.dtype)}) should "
            "be the same"
        )


def _c_name(dtype) -> str:
    names = {"float32": "float", "float64": "double", "float16": "c10::Half",
             "bfloat16": "c10::BFloat16", "int64": "long int"}
    return names.get(dtype.name, dtype.name)


def same_padding(kernel, dilation) -> tuple:
    """PyTorch's 'same' padding: the total d·(k - 1), the odd one out on the right."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)


def _convolution(op, count, input, weight, bias, stride, padding, dilation, groups):
    stride = expand_param(stride, count, "stride", op)
    dilation = expand_param(dilation, count, "dilation", op)
    input, unbatched = _batched(input, count, op)
    _check_common(input, weight, bias, count, stride, dilation, groups, False)
    kernel = weight._data.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0,) * count
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            before, after = same_padding(kernel, dilation)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        before = after = expand_param(padding, count, "padding", op)
        if any(p < 0 for p in before):
            raise RuntimeError("negative padding is not supported")
    size = input._data.shape[2:]
    full = [length + lead + trail for length, lead, trail in zip(size, before, after)]
    effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(f < e for f, e in zip(full, effective)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_join(full)}). Kernel size: "
            f"({_join(effective)}). Kernel size can't be greater than actual input size"
        )
    geometry = Geometry(stride, dilation, before, after, groups)
    output = Convolution.apply(input, weight, bias, geometry, False, None)
    return output.squeeze(0) if unbatched else output


def transposed_size(size, kernel, stride, padding, output_padding, dilation) -> tuple:
    """The output size of a transposed convolution."""
    return tuple(
        (length - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for length, k, s, p, extra, d in zip(
            size, kernel, stride, padding, output_padding, dilation
        )
    )


_AXES = ("depth", "height", "width")


def _convolution_transpose(
    op, count, input, weight, bias, stride, padding, output_padding, groups, dilation
):
    stride = expand_param(stride, count, "stride", op)
    dilation = expand_param(dilation, count, "dilation", op)
    padding = expand_param(padding, count, "padding", op)
    output_padding = expand_param(output_padding, count, "output_padding", op)
    input, unbatched = _batched(input, count, op)
    _check_common(input, weight, bias, count, stride, dilation, groups, True)
    if any(p < 0 for p in padding) or any(p < 0 for p in output_padding):
        raise RuntimeError("negative padding is not supported")
    if any(e >= s and e >= d for e, s, d in zip(output_padding, stride, dilation)):
        axes = _AXES[3 - count :] if count > 1 else ("width",)
        details = (
            " ".join(f"output_padding_{a}: {e}" for a, e in zip(axes, output_padding))
            + " "
            + " ".join(f"stride_{a}: {s}" for a, s in zip(axes, stride))
        )
        details += " " + " ".join(f"dilation_{a}: {d}" for a, d in zip(axes, dilation))
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got {details}"
        )
    kernel = tuple(weight.shape[2:])
    size = transposed_size(input.shape[2:], kernel, stride, padding, output_padding, dilation)
    if any(s <= 0 for s in size):
        raise RuntimeError(
            f"{op}: the calculated output size {list(size)} is too small (input "
            f"{list(input.shape)}, weight {list(weight.shape)}, padding {list(padding)})"
        )
    geometry = Geometry(stride, dilation, padding, padding, groups)
    output = Convolution.apply(input, weight, bias, geometry, True, size)
    return output.squeeze(0) if unbatched else output


# ---------------------------------------------------------------- public functions
# Each dimension's function is made by ``_conv`` or ``_conv_transpose`` with its docstring:
# the signatures are PyTorch's, and only the dimension count differs.


def _public(function, name: str, doc: str):
    """``function`` named ``name`` with ``doc``, under its autocast policy."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return autocasts(LOWER_PRECISION)(function)


def _conv(count: int, doc: str):
    name = f"conv{count}d"

    def conv(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
             dilation=1, groups: int = 1) -> Tensor:
        return _convolution(name, count, input, weight, bias, stride, padding, dilation, groups)

    return _public(conv, name, doc)


def _conv_transpose(count: int, doc: str):
    name = f"conv_transpose{count}d"

    def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                       padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
        return _convolution_transpose(
            name, count, input, weight, bias, stride, padding, output_padding, groups, dilation
        )

    return _public(conv_transpose, name, doc)


conv1d = _conv(
    1,
    """1-D cross-correlation: y[n, o, t] = b[o] + Σ_{c,k} w[o, c, k] · x[n, c, t·s + k·d - p].

    Args:
        padding: an int, a 1-tuple, ``'valid'`` (none) or ``'same'`` (output length equals
            input length; stride must be 1).

    Shape:
        input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k), bias (C_out,)
        → (N, C_out, L_out) with L_out = ⌊(L + 2p - d·(k - 1) - 1) / s⌋ + 1.
    """,
)

conv2d = _conv(
    2,
    """2-D cross-correlation: y[n, o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · x[n, c, ...].

    Args:
        stride, padding, dilation: ints or pairs; ``padding`` may be ``'valid'`` or
            ``'same'``.
        groups: split input and output channels into this many independent convolutions.

    Shape:
        input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups, kH, kW)
        → (N, C_out, H_out, W_out), H_out = ⌊(H + 2p - d·(kH - 1) - 1) / s⌋ + 1.

    Example::

        >>> F.conv2d(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 2, 2])
    """,
)

conv3d = _conv(
    3,
    """3-D cross-correlation: input (N, C_in, D, H, W), weight (C_out, C_in / groups, kD, kH,
    kW) → (N, C_out, D_out, H_out, W_out).""",
)

conv_transpose1d = _conv_transpose(
    1,
    """The adjoint of ``conv1d`` in its input (a "deconvolution"), plus ``bias``.

    Shape:
        input (N, C_in, L) or (C_in, L), weight (C_in, C_out / groups, k) → (N, C_out, L_out)
        with L_out = (L - 1)·s - 2p + d·(k - 1) + output_padding + 1.
    """,
)

conv_transpose2d = _conv_transpose(
    2,
    """The adjoint of ``conv2d`` in its input, plus ``bias``.

    Shape:
        input (N, C_in, H, W) or (C_in, H, W), weight (C_in, C_out / groups, kH, kW)
        → (N, C_out, H_out, W_out), H_out = (H - 1)·s - 2p + d·(kH - 1) + output_padding + 1.
    """,
)

conv_transpose3d = _conv_transpose(3, """The adjoint of ``conv3d`` in its input, plus ``bias``.""")
