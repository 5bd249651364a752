"""Activation functions: elementwise nonlinearities and the softmax family.

Most are one small ``Op`` each (PyTorch's node names: ``EluBackward0``, ``GeluBackward0`` ...)
whose forward works on arrays and whose derivative, ``input_grad``, is written once over an
array namespace: NumPy's for a plain backward, ember's ops (differentiable again) for a
recorded one. A few are composites of existing ops, as in PyTorch (softsign,
tanhshrink, glu, prelu, rrelu in training mode). ``inplace=True`` writes the result into
``input`` through the same machinery as ``Tensor.exp_``.
"""

from __future__ import annotations

import math
import warnings

from ember._autocast import LOWER_PRECISION, autocasts
from ember._backend import asarray, float_info, xp
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import (
    Lowered,
    Op,
    _legacy,
    dtype_of,
    inplace,
    lowerable,
    snapshot,
    wrap_dim,
)
from ember.ops._special import _erf_array
from ember.ops.elementwise import relu as _relu, sigmoid as _sigmoid, tanh as _tanh, where
from ember.ops.random import rand
from ember.ops.softmax import log_softmax as _log_softmax, softmax as _softmax

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]  # fmt: skip

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class _Pointwise(Op):
    """``y = compute(x, *args)`` on arrays; ``input_grad(xp, grad, x, *args)`` is its vjp.

    As in PyTorch, the node keeps the input only, so an in-place change of the output after
    the op leaves the gradient intact.
    """

    kernel = ""  # PyTorch's kernel name, for the error on an unsupported dtype
    integers = False  # whether integer inputs are accepted (hardtanh, threshold)

    @classmethod
    def forward(cls, ctx, x, *args):
        if x.dtype.kind != "f" and not (cls.integers and x.dtype.kind in "iu"):
            raise NotImplementedError(
                f"\"{cls.kernel}\" not implemented for '{_legacy(dtype_of(x))}'"
            )
        ctx.args = args
        y = asarray(cls.compute(x, *args)).astype(x.dtype, copy=False)
        if xp.shares_memory(y, x):
            y = y.copy()
        ctx.save_for_backward(x)
        return y

    @classmethod
    def gradients(cls, xp, ctx, grad):
        x = xp.saved(ctx)[0]
        args = ctx.args
        return (cls.input_grad(xp, grad, x, *args),) + (None,) * len(args)


class Threshold(_Pointwise):
    kernel, integers = "threshold_cpu", True

    @staticmethod
    def compute(x, threshold, value):
        return xp.where(x > threshold, x, value)

    @staticmethod
    def input_grad(xp, grad, x, threshold, value):
        return xp.where(x > threshold, grad, 0.0)


class Hardtanh(_Pointwise):
    kernel, integers = "hardtanh_cpu", True

    @staticmethod
    def compute(x, low, high):
        return xp.minimum(xp.maximum(x, low), high)

    @staticmethod
    def input_grad(xp, grad, x, low, high):
        return xp.where((x > low) & (x < high), grad, 0.0)


class LeakyRelu(_Pointwise):
    kernel = "leaky_relu_cpu"

    @staticmethod
    def compute(x, slope):
        return xp.where(x > 0, x, x * slope)

    @staticmethod
    def input_grad(xp, grad, x, slope):
        return xp.where(x > 0, grad, grad * slope)


class Elu(_Pointwise):
    """``scale * x`` for x > 0, else ``scale * alpha * (exp(input_scale * x) - 1)``."""

    kernel = "elu_cpu"

    @staticmethod
    def compute(x, alpha, scale, input_scale):
        return xp.where(x > 0, scale * x, (scale * alpha) * xp.expm1(x * input_scale))

    @staticmethod
    def input_grad(xp, grad, x, alpha, scale, input_scale):
        negative = grad * (xp.exp(x * input_scale) * (scale * alpha * input_scale))
        return xp.where(x > 0, grad * scale, negative)


class Celu(Elu):
    """``Elu`` with ``input_scale = 1 / alpha``, under PyTorch's node name for celu."""


class Gelu(_Pointwise):
    """The exact form also saves ``1 + erf(x / sqrt 2)``, so that the array backward reuses it."""

    kernel = "GeluKernelImpl"

    @classmethod
    def forward(cls, ctx, x, approximate):
        if approximate == "tanh" or x.dtype.kind != "f":
            return super().forward(ctx, x, approximate)
        ctx.args = (approximate,)
        y, twice_cdf = cls.exact(x)
        ctx.save_for_backward(x, twice_cdf)
        return y

    @staticmethod
    def exact(x):
        """``(y, 1 + erf(x / sqrt 2))``: the exact form and what its backward reuses."""
        # x / 2 (1 + erf(x / sqrt 2)) in x's dtype, in PyTorch's order of rounding
        twice_cdf = _erf_array(x, math.sqrt(0.5)).astype(x.dtype, copy=False)
        twice_cdf += 1
        y = x * 0.5
        y *= twice_cdf
        return y, twice_cdf

    @classmethod
    def lower(cls, needs, out, x, approximate):
        if approximate != "none" or not lowerable(x):
            return None
        return Lowered(lambda x, approximate: cls.exact(x), (0,),
                       lambda grad, x, twice_cdf: (cls.exact_grad(grad, x, twice_cdf), None),
                       kept=1)

    @staticmethod
    def compute(x, approximate):
        if approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
            return 0.5 * x * (1 + xp.tanh(inner))
        return 0.5 * x * (1 + _erf_array(x * math.sqrt(0.5)).astype(x.dtype))

    @staticmethod
    def input_grad(xp, grad, x, approximate):
        if approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            slope = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope)
        cdf = 0.5 * (1 + xp.erf(x * math.sqrt(0.5)))
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf)

    @classmethod
    def backward_arrays(cls, ctx, grad):
        # The exact form has its own array backward: it reuses the forward's erf, which a
        # recorded backward must compute again from x (so that it depends on x), in place.
        if ctx.args[0] == "tanh":
            return cls.gradients(ArrayMath, ctx, grad)
        return cls.exact_grad(grad, *ctx.saved_arrays), None

    @staticmethod
    def exact_grad(grad, x, twice_cdf):
        """The exact form's input gradient from ``exact``'s ``twice_cdf``."""
        # grad (cdf + x pdf) with pdf = exp(-x^2 / 2) / sqrt(2 pi), as grad (2 cdf + 2 x pdf) / 2
        slope = xp.multiply(x, x, out=xp.empty_like(x))  # an array even when x is 0-d
        slope *= -0.5
        xp.exp(slope, out=slope)
        slope *= x
        slope *= math.sqrt(2 / math.pi)
        slope += twice_cdf
        if grad.dtype == slope.dtype and grad.shape == slope.shape:
            slope *= grad
        else:
            slope = grad * slope
        slope *= 0.5
        return slope


class Silu(_Pointwise):
    kernel = "silu_cpu"

    @staticmethod
    def compute(x):
        return x * ArrayMath.sigmoid(x)

    @staticmethod
    def input_grad(xp, grad, x):
        s = xp.sigmoid(x)
        return grad * (s * (1 + x * (1 - s)))


class Mish(_Pointwise):
    kernel = "mish_cpu"

    @staticmethod
    def compute(x):
        return x * xp.tanh(xp.logaddexp(0, x))

    @staticmethod
    def input_grad(xp, grad, x):
        t = xp.tanh(xp.where(x > 20.0, x, xp.logaddexp(0, x)))  # tanh(softplus(x))
        return grad * (t + x * xp.sigmoid(x) * (1 - t * t))


class Softplus(_Pointwise):
    kernel = "softplus_cpu"
    cuda_autocast_float32 = True

    @staticmethod
    def compute(x, beta, threshold):
        return xp.where(x * beta > threshold, x, xp.logaddexp(0, x * beta) / beta)

    @staticmethod
    def input_grad(xp, grad, x, beta, threshold):
        return xp.where(x * beta > threshold, grad, grad * xp.sigmoid(x * beta))


class LogSigmoid(_Pointwise):
    kernel = "log_sigmoid_cpu"

    @staticmethod
    def compute(x):
        return -xp.logaddexp(0, -x)

    @staticmethod
    def input_grad(xp, grad, x):
        return grad * xp.sigmoid(-x)


class Hardsigmoid(_Pointwise):
    kernel = "hardsigmoid_cpu"

    @staticmethod
    def compute(x):
        return xp.minimum(xp.maximum(x / 6 + 0.5, 0), 1)

    @staticmethod
    def input_grad(xp, grad, x):
        return xp.where((x > -3) & (x < 3), grad / 6, 0.0)


class Hardswish(_Pointwise):
    kernel = "hardswish_cpu"

    @staticmethod
    def compute(x):
        return xp.where(x < -3, 0, xp.where(x <= 3, x * (x + 3) / 6, x))

    @staticmethod
    def input_grad(xp, grad, x):
        return xp.where(x < -3, 0.0, xp.where(x <= 3, grad * (x / 3 + 0.5), grad))


class Softshrink(_Pointwise):
    kernel = "softshrink_check"

    @staticmethod
    def compute(x, lambd):
        return xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0))

    @staticmethod
    def input_grad(xp, grad, x, lambd):
        return xp.where((x >= -lambd) & (x <= lambd), 0.0, grad)


class Hardshrink(Softshrink):
    kernel = "hardshrink_cpu"

    @staticmethod
    def compute(x, lambd):
        return xp.where((x >= -lambd) & (x <= lambd), 0, x)


def _maybe_inplace(input: Tensor, compute, inplace_flag: bool, name: str) -> Tensor:
    """``compute(input)``, or its result written into ``input`` (PyTorch's ``name``)."""
    if not inplace_flag:
        return compute(input)
    return inplace(input, compute(snapshot(input)), name)


# ---------------------------------------------------------------- rectifiers


def _threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """y = x if x > threshold else value."""
    return _maybe_inplace(
        input, lambda x: Threshold.apply(x, threshold, value), inplace, "threshold_"
    )


threshold = _threshold  # the argument named ``threshold`` would shadow the function


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _threshold(input, threshold, value, inplace=True)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return _maybe_inplace(input, _relu, inplace, "relu_")


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return relu(input, inplace=True)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """min(max(x, min_val), max_val); the gradient is zero outside (min_val, max_val)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(
        input, lambda x: Hardtanh.apply(x, min_val, max_val), inplace, "hardtanh_"
    )


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return _maybe_inplace(
        input, lambda x: LeakyRelu.apply(x, negative_slope), inplace, "leaky_relu_"
    )


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


@autocasts(LOWER_PRECISION)
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else a * x, with one learned ``a`` (``weight``) per channel (dim 1).

    Shape: input (N, C, *) or (C,) or (); weight (C,) or (1,) or ().
    """
    if input.dtype is not weight.dtype:
        raise RuntimeError(
            f"prelu: Type promoting not supported. Got {_legacy(input.dtype)} and "
            f"{_legacy(weight.dtype)}"
        )
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"prelu_cpu\" not implemented for '{_legacy(input.dtype)}'")
    if weight.numel() != 1:
        if input.ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != weight.numel():
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers "
                f"= {weight.numel()} and channel size = {channels}."
            )
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    if input.ndim >= 2:
        shape = [1] * input.ndim
        shape[1] = weight.numel()
        weight = weight.reshape(shape)
    return where(input > 0, input, weight * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """x if x >= 0 else a * x, a ~ U(lower, upper) per element in training, else (l + u) / 2."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)

    def compute(x):
        slopes = rand(x.shape, dtype=x.dtype, device=x.device) * (upper - lower) + lower
        return where(x >= 0, x, x * slopes)

    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"leaky_relu_cpu\" not implemented for '{_legacy(input.dtype)}'"
        )
    return _maybe_inplace(input, compute, inplace, "rrelu_")


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, inplace=True)


# ---------------------------------------------------------------- exponential units


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _maybe_inplace(input, lambda x: Elu.apply(x, alpha, 1.0, 1.0), inplace, "elu_")


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with scale ≈ 1.0507 and alpha ≈ 1.6733 (self-normalizing)."""
    return _maybe_inplace(
        input, lambda x: Elu.apply(x, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace, "selu_"
    )


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, lambda x: Celu.apply(x, alpha, 1.0, 1.0 / alpha), inplace, "celu_")


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return celu(input, alpha, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Φ(x) (Φ the standard normal CDF), or its tanh approximation when approximate='tanh'."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x σ(x) (also called swish)."""
    return _maybe_inplace(input, Silu.apply, inplace, "silu_")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    return _maybe_inplace(input, Mish.apply, inplace, "mish_")


# ---------------------------------------------------------------- sigmoids and soft forms


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ)."""
    return _sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """tanh(x)."""
    return _tanh(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (stable)."""
    return Softplus.apply(input, beta, threshold)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """0 for x <= -3, 1 for x >= 3, else x / 6 + 1/2."""
    return _maybe_inplace(input, Hardsigmoid.apply, inplace, "hardsigmoid_")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x): 0 for x <= -3, x for x >= 3, else x (x + 3) / 6."""
    return _maybe_inplace(input, Hardswish.apply, inplace, "hardswish_")


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), stable for large |x|."""
    return LogSigmoid.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def _check_lambda(input: Tensor, lambd: float) -> None:
    if input.dtype.is_floating_point and lambd < 0:
        largest = float(float_info(input._data.dtype).max)
        raise RuntimeError(
            f"lambda must be in range [0, {largest:g}] for input dtype {_legacy(input.dtype)}, "
            f"but found {lambd:g}"
        )


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - λ for x > λ, x + λ for x < -λ, else 0."""
    _check_lambda(input, lambd)
    return Softshrink.apply(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0."""
    return Hardshrink.apply(input, lambd)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a ⊗ σ(b), where a and b are the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"glu_cpu\" not implemented for '{_legacy(input.dtype)}'")
    dim = wrap_dim(dim, input.ndim, "glu")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    half = size // 2
    return input.narrow(dim, 0, half) * _sigmoid(input.narrow(dim, half, half))


# ---------------------------------------------------------------- softmax family


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along ``dim`` (stable); ``dtype`` casts the input first.

    ``dim=None`` is PyTorch's deprecated implicit choice (0 for 0-D, 1-D and 3-D inputs,
    else 1), with its warning.
    """
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x_i - log Σ_j exp(x_j) along ``dim`` (stable)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    return _log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim, _stacklevel)
    return _softmax(-input, dim, dtype)
