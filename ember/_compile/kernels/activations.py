"""The exact GELU of a float32 array in one loop, and its backward in two loops around
NumPy's ``exp`` (numba's would round differently); ReLU's backward in one loop."""

from __future__ import annotations

import math

from ember._backend import xp
from ember._compile.kernels._common import FLOAT32, Fused, contiguous_float32
from ember.nn._functional.activation import Gelu
from ember.ops._array_math import ArrayMath
from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q
from ember.ops.elementwise.unary import Relu

_SCALE = xp.float32(math.sqrt(0.5))  # x / sqrt 2 is rounded to float32, as in eager
# ``Gelu.exact_grad``'s Python numbers as NumPy rounds them against float32 arrays
_SLOPE_FACTORS = (xp.float32(-0.5), xp.float32(math.sqrt(2 / math.pi)))


def _gelu_binds(step, role):
    """The lowered GELU's forward and backward (a GELU replayed whole, a 0-d one, keeps
    its own: its functions take other arguments)."""
    if step.kind == "op" and step.op is Gelu and role.startswith("lowered"):
        x, approximate = step.args
        if approximate == "none" and x.dtype == FLOAT32:
            return _gelu_forward if role == "lowered forward" else _gelu_backward
    return None


def _gelu_forward(kernels):
    """The lowered GELU's forward (``Gelu.exact``) through the fused kernel."""

    def forward(x, approximate):
        if not contiguous_float32(x):
            return Gelu.exact(x)
        y, twice_cdf = xp.empty_like(x), xp.empty_like(x)
        kernels[0](x.reshape(-1), _SCALE, y.reshape(-1), twice_cdf.reshape(-1))
        return y, twice_cdf

    return forward


def _gelu_backward(kernels):
    """The lowered GELU's backward (``Gelu.exact_grad``): its first two and last five
    passes in a loop each, around NumPy's ``exp`` (numba's would round differently)."""

    def backward(grad, x, twice_cdf):
        if not contiguous_float32(grad, x, twice_cdf) or not grad.shape == x.shape == \
                twice_cdf.shape:
            return Gelu.exact_grad(grad, x, twice_cdf), None
        slope = xp.empty_like(x)
        flat = slope.reshape(-1)
        kernels[1](x.reshape(-1), flat)
        xp.exp(slope, out=slope)
        kernels[2](flat, x.reshape(-1), twice_cdf.reshape(-1), grad.reshape(-1))
        return slope, None

    return backward


def _gelu_kernels(numba):
    """``Gelu.exact``'s loop, and the two of ``Gelu.exact_grad``: ``-x² / 2``, then (after
    ``exp``) ``(e · x · sqrt(2 / pi) + twice_cdf) · grad · 1/2``, each product rounded to
    float32 in that order, as in eager."""
    exponent, rest = _SLOPE_FACTORS

    @numba.njit("void(float32[::1], float32[::1])", nogil=True)
    def before_exp(x, slope):
        for i in range(x.shape[0]):
            slope[i] = (x[i] * x[i]) * exponent

    @numba.njit("void(float32[::1], float32[::1], float32[::1], float32[::1])", nogil=True)
    def after_exp(slope, x, twice_cdf, grad):
        half = numba.float32(0.5)
        for i in range(x.shape[0]):
            slope[i] = (((slope[i] * x[i]) * rest + twice_cdf[i]) * grad[i]) * half

    return _gelu_kernel(numba), before_exp, after_exp


def _gelu_kernel(numba):
    """``Gelu.exact`` on float32 in one loop: ``_erf_single``'s rational in float64 (the
    same Horner steps), rounded and clipped to float32, then ``1 + erf`` and ``x / 2 * it``
    in float32."""
    single, double = numba.float32, numba.float64
    p0, p1, p2, p3, p4, p5, p6 = _ERF_SINGLE_P
    q0, q1, q2, q3, q4, q5 = _ERF_SINGLE_Q

    @numba.njit("void(float32[::1], float32, float32[::1], float32[::1])", nogil=True,
                error_model="numpy")
    def gelu(x, scale, y, twice_cdf):
        one, half = single(1.0), single(0.5)
        for i in range(x.shape[0]):
            value = x[i]
            a = double(value * scale)
            s = a * a
            if s > 16.0:  # NaN stays NaN, as under NumPy's minimum
                s = 16.0
            numerator = ((((((s * p6 + p5) * s + p4) * s + p3) * s + p2) * s + p1) * s + p0) * a
            denominator = ((((s * q5 + q4) * s + q3) * s + q2) * s + q1) * s + q0
            erf = single(numerator / denominator)
            if erf > one:
                erf = one
            if erf < -one:
                erf = -one
            cdf = erf + one
            twice_cdf[i] = cdf
            y[i] = (value * half) * cdf

    return gelu


GELU = Fused("gelu", _gelu_kernels, _gelu_binds)


def _relu_binds(step, role):
    if role == "lowered backward" and step.kind == "op" and step.op is Relu and \
            step.outputs[0].dtype == FLOAT32:
        return _relu_backward
    return None


def _relu_backward(kernel):
    """The lowered ReLU's backward, ``grad * above_zero(y)``, through the fused kernel."""

    def backward(grad, x, y):
        if grad.shape == y.shape:
            result = xp.empty_like(grad)
            try:  # numba refuses (TypeError) all but C-contiguous float32 NumPy arrays
                kernel(grad, y, result)
                return (result,)
            except TypeError:
                pass
        return Relu.chain(ArrayMath, grad, x, y)

    return backward


def _relu_kernel(numba):
    """``grad * (1 if y > 0 else 0)`` in float32, one pass over arrays of 1 to 4 dims:
    eager's product by the float mask (``ArrayMath.above_zero``), bit for bit (a -0, a NaN
    or an infinite gradient times 0 included), where NumPy makes the mask and multiplies
    in two. Arrays of any dims save the reshapes a call would cost on small ones."""
    layouts = ("::1", ":, ::1", ":, :, ::1", ":, :, :, ::1")
    signatures = [f"void(float32[{dims}], float32[{dims}], float32[{dims}])"
                  for dims in layouts]

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def relu_backward(grad, y, result):
        one, zero = numba.float32(1.0), numba.float32(0.0)
        flat_grad, flat_y, flat = grad.reshape(-1), y.reshape(-1), result.reshape(-1)
        for i in range(flat.shape[0]):
            flat[i] = flat_grad[i] * (one if flat_y[i] > zero else zero)

    return relu_backward


RELU = Fused("relu", _relu_kernel, _relu_binds)
