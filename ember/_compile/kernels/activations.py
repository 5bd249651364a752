"""The exact GELU of a float32 array in one loop, and its backward in two loops around
NumPy's ``exp`` (numba's would round differently); ReLU, and the backwards of ReLU, sigmoid
and tanh, in one loop each."""

from __future__ import annotations

import functools
import math

from ember._backend import xp
from ember._compile.kernels._common import C_LAYOUTS, FLOAT32, Fused, contiguous_float32
from ember.nn._functional.activation import Gelu
from ember.ops._array_math import ArrayMath
from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q
from ember.ops.elementwise.unary import Relu, Sigmoid, Tanh

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


# ReLU's, sigmoid's and tanh's gradients, from the output ``y``: one pass over float32
# arrays of 1 to 4 dims (``C_LAYOUTS``); the arrays numba refuses go to NumPy's kernels.
_DERIVATIVES = {Relu: 0, Sigmoid: 1, Tanh: 2}  # op -> its kernel in the family's tuple


def _output_grad_binds(step, role):
    if role == "lowered backward" and step.kind == "op" and step.op in _DERIVATIVES and \
            step.outputs[0].dtype == FLOAT32:
        return functools.partial(_output_grad_backward, step.op)
    return None


def _output_grad_backward(op, kernels):
    """The lowered backward of ``op`` (``_Unary.chain``: the gradient times the derivative
    at ``y``) through its fused kernel."""
    kernel = kernels[_DERIVATIVES[op]]

    def backward(grad, x, y):
        if grad.shape == y.shape:
            result = xp.empty_like(grad)
            try:
                kernel(grad, y, result)
                return (result,)
            except TypeError:
                pass
        return op.chain(ArrayMath, grad, x, y)

    return backward


def _output_grad_kernels(numba):
    """The gradient times the derivative, in float32 and in eager's order of operations
    (``unary.py``), bit for bit (a -0, a NaN or an infinite value included):

    - ReLU: ``grad * (1 if y > 0 else 0)``, eager's product by the float mask
      (``ArrayMath.above_zero``), where NumPy makes the mask and multiplies in two passes;
    - sigmoid: ``grad * (y * (1 - y))``, three passes in NumPy;
    - tanh: ``grad * (1 - y * y)``, three passes in NumPy.
    """
    signatures = [f"void(float32[{dims}], float32[{dims}], float32[{dims}])"
                  for dims in C_LAYOUTS]
    one, zero = numba.float32(1.0), numba.float32(0.0)

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def relu(grad, y, result):
        flat_grad, flat_y, flat = grad.reshape(-1), y.reshape(-1), result.reshape(-1)
        for i in range(flat.shape[0]):
            flat[i] = flat_grad[i] * (one if flat_y[i] > zero else zero)

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def sigmoid(grad, y, result):
        flat_grad, flat_y, flat = grad.reshape(-1), y.reshape(-1), result.reshape(-1)
        for i in range(flat.shape[0]):
            value = flat_y[i]
            flat[i] = flat_grad[i] * (value * (one - value))

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def tanh(grad, y, result):
        flat_grad, flat_y, flat = grad.reshape(-1), y.reshape(-1), result.reshape(-1)
        for i in range(flat.shape[0]):
            value = flat_y[i]
            flat[i] = flat_grad[i] * (one - value * value)

    return relu, sigmoid, tanh


OUTPUT_GRADS = Fused("output_grads", _output_grad_kernels, _output_grad_binds)


def _relu_binds(step, role):
    if role == "lowered forward" and step.kind == "op" and step.op is Relu and \
            step.outputs[0].dtype == FLOAT32:
        return _relu_forward
    return None


def _relu_forward(kernel):
    """The lowered ReLU's forward (``Relu.compute``, NumPy's ``maximum(x, 0)``) through the
    fused kernel. NumPy takes no vector loop for a maximum against a scalar: 32 µs for
    cnn_digits' first ReLU (64 × 16 × 8 × 8), against 8.5 µs in one loop."""

    def forward(x):
        result = xp.empty_like(x)
        try:
            kernel(x, result)
            return result
        except TypeError:  # a layout or dtype numba refuses
            return Relu.compute(x)

    return forward


def _relu_kernel(numba):
    """``maximum(x, 0)`` as NumPy computes it on float32, bit for bit: ``x`` where it is
    above 0 or NaN (the same NaN), else +0 (-0 included)."""
    signatures = [f"void(float32[{dims}], float32[{dims}])" for dims in C_LAYOUTS]
    zero = numba.float32(0.0)

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def relu(x, result):
        flat_x, flat = x.reshape(-1), result.reshape(-1)
        for i in range(flat.shape[0]):
            value = flat_x[i]
            flat[i] = value if value > zero or value != value else zero

    return relu


RELU = Fused("relu", _relu_kernel, _relu_binds)
