"""Functions of one tensor: exponentials, logarithms, roots, trigonometry, special functions.

Most ops are rows of one table (``_unary``): a NumPy kernel and a derivative written once
over the gradient namespace ``xp``, saving the input, the output or neither as PyTorch's
formula does. Float math turns integer and bool inputs into the default float dtype. The
special functions (erf, erfinv, lgamma, digamma, polygamma, i0) are computed in float64
without SciPy, by the kernels in ``ember/ops/_special.py``; rounding ops (floor, round ...)
are piecewise constant, with a zero gradient.
"""

from __future__ import annotations

import builtins
import math
from functools import cache, partial

from ember._backend import array_types, asarray, is_floating, ndarray, xp
from ember._dtype import bfloat16, finfo
from ember._tensor import Tensor
from ember.ops._array_math import ArrayMath
from ember.ops._function import OUTPUT, Lowered, NonDifferentiable, Op, float_input, lowerable
from ember.ops._special import (
    _TWO_OVER_SQRT_PI,
    _erf_array,
    _erfc_array,
    _erfinv_array,
    _i1_array,
    _lgamma_array,
    _polygamma_array,
)
from ember.ops.comparison import isfinite
from ember.ops.elementwise._common import _unary_function, _unsupported, _zeros
from ember.ops.elementwise.arithmetic import where


class _Unary(Op):
    """``y = compute(x)``; ``derivative(xp, x, y)``, over the namespace ``xp``, is ``dy/dx``.

    ``saves`` names what the node keeps, as PyTorch's derivative formula does: ``"x"`` the
    input, ``"y"`` the output, both or neither. The other comes to ``derivative`` as None,
    so an in-place change of it after the op is harmless, and of a kept one is an error.
    """

    float_math = True  # integer and bool inputs become the default float dtype
    refuses = ()  # dtype kinds ("b", "i") that PyTorch's kernel is not implemented for
    kernel = ""
    saves = "x"
    # ``compute`` and ``derivative`` as source over ``{x}`` and ``{y}`` for a compiled
    # program's lines (``Lowered``): statements that leave ``y``, and an expression
    written = ()
    written_derivative = ""

    @classmethod
    def forward(cls, ctx, x):
        if x.dtype.kind in cls.refuses or (x.dtype.kind == "u" and "i" in cls.refuses):
            raise _unsupported(cls.kernel, x)
        if cls.float_math:
            x = float_input(x)
        y = cls.compute(x)
        if type(y) is not ndarray:
            y = asarray(y)
        if y.dtype != x.dtype:
            y = y.astype(x.dtype)
        elif y is x or (y.base is not None and xp.shares_memory(y, x)):
            y = y.copy()  # a fresh array, never a view of the input
        saves = cls.saves
        ctx.save_for_backward(x if "x" in saves else None, y if "y" in saves else None)
        return y

    @classmethod
    def gradients(cls, xp, ctx, grad):
        x, y = xp.saved(ctx)
        return cls.chain(xp, grad, x, y)

    @classmethod
    def chain(cls, xp, grad, x, y):
        """The chain rule: the input's gradient from the output's."""
        return (grad * cls.derivative(xp, x, y),)

    @classmethod
    def lower(cls, needs, out, x, *options):
        own = all(next(k for k in cls.__mro__ if name in vars(k)) is _Unary
                  for name in ("forward", "gradients"))  # a row of the table
        if options or not own or not lowerable(x, out):  # ``round(x, decimals)``'s own form
            return None
        if not _fresh_same_dtype(cls.compute, x.dtype):
            return None  # the forward casts or copies what ``compute`` gives back
        saves = (0 if "x" in cls.saves else None, OUTPUT if "y" in cls.saves else None)
        return Lowered(cls.compute, saves, partial(cls.chain, ArrayMath),
                       written_forward=cls._written_forward if cls.written else None,
                       written_backward=cls._written_backward if cls.written_derivative else None)

    @classmethod
    def _written_forward(cls, out, x):
        return [line.format(x=x, y=out) for line in cls.written]

    @classmethod
    def _written_backward(cls, results, grad, x, y):
        derivative = cls.written_derivative.format(x=x, y=y)
        if not derivative.isidentifier():
            derivative = f"({derivative})"
        return [f"{results[0]} = {grad} * {derivative}"]


@cache
def _fresh_same_dtype(compute, dtype) -> bool:
    """Whether ``compute`` gives a new array of its input's float dtype, as ``_Unary``'s
    forward keeps it (tried on one element, once per function and dtype)."""
    sample = xp.full(1, 0.5, dtype)
    with xp.errstate(all="ignore"):
        result = compute(sample)
    return type(result) is ndarray and result.dtype == dtype and not xp.shares_memory(
        result, sample)


class _Piecewise(_Unary):
    """Rounding-like ops: piecewise constant, so the gradient is zero."""

    float_math = False
    saves = ""

    @staticmethod
    def gradients(xp, ctx, grad):
        xp.saved(ctx)  # the version check of what PyTorch's formula saves
        return (xp.zeros_like(grad),)


def _unary(name: str, compute, derivative=None, **attributes):
    """A ``_Unary`` subclass named as PyTorch names its node (``Sin`` -> SinBackward0).

    ``derivative(xp, x, y)`` is ``dy/dx`` over a gradient namespace (``ArrayMath`` or
    ``TensorMath``); without one the op is piecewise constant.
    """
    body = {"compute": staticmethod(compute), **attributes}
    if derivative is not None:
        body["derivative"] = staticmethod(derivative)
    return type(name, (_Unary if derivative is not None else _Piecewise,), body)


_LN2, _LN10 = math.log(2.0), math.log(10.0)

Abs = _unary(
    "Abs",
    xp.abs,
    lambda xp, x, y: xp.sgn(x),
    float_math=False,
    refuses="b",
    kernel="abs_cpu",
)
Exp = _unary("Exp", xp.exp, lambda xp, x, y: y, saves="y", cuda_autocast_float32=True,
             written=("{y} = xp.exp({x})",), written_derivative="{y}")
Exp2 = _unary("Exp2", xp.exp2, lambda xp, x, y: y * _LN2, saves="y")
Expm1 = _unary("Expm1", xp.expm1, lambda xp, x, y: y + 1, saves="y", cuda_autocast_float32=True)
Log = _unary("Log", xp.log, lambda xp, x, y: xp.reciprocal(x), cuda_autocast_float32=True,
             written=("{y} = xp.log({x})",), written_derivative="xp.reciprocal({x})")
Log2 = _unary("Log2", xp.log2, lambda xp, x, y: xp.reciprocal(x * _LN2), cuda_autocast_float32=True)
Log10 = _unary("Log10", xp.log10, lambda xp, x, y: xp.reciprocal(x * _LN10),
               cuda_autocast_float32=True)
Log1P = _unary("Log1P", xp.log1p, lambda xp, x, y: xp.reciprocal(x + 1), cuda_autocast_float32=True)
Sqrt = _unary("Sqrt", xp.sqrt, lambda xp, x, y: 0.5 / y, saves="y",
              written=("{y} = xp.sqrt({x})",), written_derivative="0.5 / {y}")
Rsqrt = _unary("Rsqrt", ArrayMath.rsqrt, lambda xp, x, y: -0.5 * y * y * y, saves="y",
               cuda_autocast_float32=True)
Reciprocal = _unary("Reciprocal", lambda x: 1 / x, lambda xp, x, y: -y * y, saves="y",
                    cuda_autocast_float32=True)
Sin = _unary("Sin", xp.sin, lambda xp, x, y: xp.cos(x))
Cos = _unary("Cos", xp.cos, lambda xp, x, y: -xp.sin(x))
Tan = _unary("Tan", xp.tan, lambda xp, x, y: 1 + y * y, saves="y", cuda_autocast_float32=True)
Asin = _unary("Asin", xp.arcsin, lambda xp, x, y: xp.rsqrt(1 - x * x), cuda_autocast_float32=True)
Acos = _unary("Acos", xp.arccos, lambda xp, x, y: -xp.rsqrt(1 - x * x), cuda_autocast_float32=True)
Atan = _unary("Atan", xp.arctan, lambda xp, x, y: xp.reciprocal(1 + x * x))
Sinh = _unary("Sinh", xp.sinh, lambda xp, x, y: xp.cosh(x), cuda_autocast_float32=True)
Cosh = _unary("Cosh", xp.cosh, lambda xp, x, y: xp.sinh(x), cuda_autocast_float32=True)
Tanh = _unary("Tanh", xp.tanh, lambda xp, x, y: 1 - y * y, saves="y",
              written=("{y} = xp.tanh({x})",), written_derivative="1 - {y} * {y}")
Asinh = _unary("Asinh", xp.arcsinh, lambda xp, x, y: xp.rsqrt(x * x + 1))
Acosh = _unary("Acosh", xp.arccosh, lambda xp, x, y: xp.rsqrt((x - 1) * (x + 1)))
Atanh = _unary("Atanh", xp.arctanh, lambda xp, x, y: xp.reciprocal(1 - x * x))
Deg2Rad = _unary("Deg2Rad", xp.deg2rad, lambda xp, x, y: math.pi / 180, saves="")
Rad2Deg = _unary("Rad2Deg", xp.rad2deg, lambda xp, x, y: 180 / math.pi, saves="")
Erf = _unary(
    "Erf", lambda x: _erf_array(x), lambda xp, x, y: _TWO_OVER_SQRT_PI * xp.exp(-x * x)
)
Erfc = _unary(
    "Erfc", lambda x: _erfc_array(x), lambda xp, x, y: -_TWO_OVER_SQRT_PI * xp.exp(-x * x)
)
Erfinv = _unary(  # PyTorch saves the input only, and computes erfinv again in backward
    "Erfinv",
    lambda x: _erfinv_array(x),
    lambda xp, x, y: (math.sqrt(math.pi) / 2) * xp.exp(xp.erfinv(x) ** 2),
    cuda_autocast_float32=True,
)
Lgamma = _unary("Lgamma", lambda x: _lgamma_array(x), lambda xp, x, y: xp.digamma(x))
Digamma = _unary(
    "Digamma", lambda x: _polygamma_array(0, x), lambda xp, x, y: xp.polygamma(1, x)
)
I0 = _unary("I0", lambda x: xp.i0(x.astype(xp.float64)), lambda xp, x, y: xp.i1(x))
_I1 = _unary(  # I1'(x) = I0(x) - I1(x) / x, with the limit 1/2 at 0
    "I1",
    lambda x: _i1_array(x),
    lambda xp, x, y: xp.where(x == 0, 0.5, xp.i0(x) - y / xp.where(x == 0, 1.0, x)),
    saves="xy",
)
Sinc = _unary(
    "Sinc",
    lambda x: xp.sinc(x),
    lambda xp, x, y: xp.where(
        x == 0, 0.0, (xp.cos(math.pi * x) - xp.sinc(x)) / xp.where(x == 0, 1.0, x)
    ),
)
Sigmoid = _unary("Sigmoid", lambda x: _sigmoid_array(x), lambda xp, x, y: y * (1 - y), saves="y",
                 written=("{y} = xp.negative({x})", "xp.exp({y}, out={y})", "{y} += 1",
                          "xp.reciprocal({y}, out={y})"),  # _sigmoid_array's kernels
                 written_derivative="{y} * (1 - {y})")
Relu = _unary(
    "Relu",
    lambda x: xp.maximum(x, 0),
    lambda xp, x, y: xp.above_zero(y),
    float_math=False,
    refuses="b",
    kernel="clamp_min_scalar_cpu",
    saves="y",
    written=("{y} = xp.maximum({x}, 0)",),
)
Frac = _unary(
    "Frac",
    lambda x: x - xp.trunc(x),
    lambda xp, x, y: 1.0,
    float_math=False,
    refuses="bi",
    kernel="frac_cpu",
    saves="",
)
Sign = _unary("Sign", lambda x: _sign_array(x))
Sgn = _unary("Sgn", lambda x: _sign_array(x), saves="xy")  # as for complex inputs
Floor = _unary(
    "Floor",
    lambda x: xp.floor(x) if x.dtype.kind == "f" else x,
    refuses="b",
    kernel="floor_vml_cpu",
)
Ceil = _unary(
    "Ceil", lambda x: xp.ceil(x) if x.dtype.kind == "f" else x, refuses="b", kernel="ceil_vml_cpu"
)
Trunc = _unary(
    "Trunc",
    lambda x: xp.trunc(x) if x.dtype.kind == "f" else x,
    refuses="b",
    kernel="trunc_vml_cpu",
)
Angle = _unary(
    "Angle", lambda x: xp.where(x < 0, math.pi, 0.0 * x), float_math=True, saves="x"
)
Round = _unary(
    "Round", lambda x: xp.rint(x) if x.dtype.kind == "f" else x, refuses="b", kernel="round_cpu"
)


def _sign_array(x):
    if x.dtype == xp.bool_:
        return x.copy()
    return ArrayMath.sgn(x)  # PyTorch's sign(NaN) is 0


def _sigmoid_array(x):
    # PyTorch's formula, so that results match to the last bit: exp(-x) overflows to inf
    # for very negative x, and 1 / inf is the 0 that PyTorch returns there too.
    y = xp.negative(x)
    if type(y) not in array_types:  # NumPy turns a 0-d result into a scalar
        return asarray(1 / (1 + xp.exp(y)))
    xp.exp(y, out=y)
    y += 1
    return xp.reciprocal(y, out=y)  # 1 / y, rounded the same, without a Python number


class RoundDecimals(_Piecewise):
    node_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals):
        if x.dtype.kind != "f":
            raise _unsupported("round_cpu", x)
        scale = 10.0 ** builtins.abs(decimals)
        if decimals >= 0:
            y = xp.rint(x * scale) / scale
        else:
            y = xp.rint(x / scale) * scale
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return _zeros(grad), None


class Logit(Op):
    @staticmethod
    def forward(ctx, x, eps):
        x = float_input(x)
        ctx.eps = eps
        ctx.save_for_backward(x)
        clamped = x if eps is None else xp.clip(x, eps, 1 - eps)
        return xp.log(clamped / (1 - clamped)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        result = grad / (x * (1 - x))
        if ctx.eps is None:
            return result, None
        outside = (x < ctx.eps) | (x > 1 - ctx.eps)
        return where(outside, 0.0, result), None


class NanToNum(Op):
    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        if x.dtype.kind != "f":
            return x.copy()
        ctx.save_for_backward(x)
        return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * isfinite(x), None, None, None


class Mvlgamma(Op):
    @staticmethod
    def forward(ctx, x, p):
        x = float_input(x)
        ctx.p = p
        ctx.save_for_backward(x)
        total = sum(_lgamma_array(x - i / 2) for i in range(p))
        return (total + p * (p - 1) / 4 * math.log(math.pi)).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * sum(digamma(x - i / 2) for i in range(ctx.p)), None


class Polygamma(Op):
    @staticmethod
    def forward(ctx, n, x):
        x = float_input(x)
        ctx.n = n
        ctx.save_for_backward(x)
        return _polygamma_array(n, x).astype(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return None, grad * polygamma(ctx.n + 1, x)


# The public functions that only apply their op (``out=`` is served by ember/ops/_out.py).
abs = _unary_function("abs", Abs, "``|input|``; the gradient is ``sgn(input)`` (0 at 0).")
sign = _unary_function(
    "sign", Sign, "-1, 0 or 1 by the sign of ``input`` (0 for NaN, as PyTorch); zero gradient."
)
sgn = _unary_function("sgn", Sgn, "``sign`` for real tensors.")
exp = _unary_function("exp", Exp, "``e ** input``.")
exp2 = _unary_function("exp2", Exp2, "``2 ** input``.")
expm1 = _unary_function("expm1", Expm1, "``exp(input) - 1``, accurate for small ``input``.")
log = _unary_function(
    "log", Log, "The natural logarithm; ``-inf`` at 0 and NaN below, as in PyTorch."
)
log2 = _unary_function("log2", Log2, "The base-2 logarithm.")
log10 = _unary_function("log10", Log10, "The base-10 logarithm.")
log1p = _unary_function("log1p", Log1P, "``log(1 + input)``, accurate for small ``input``.")
sqrt = _unary_function("sqrt", Sqrt, "``input ** 0.5``.")
rsqrt = _unary_function("rsqrt", Rsqrt, "``1 / sqrt(input)``.")
reciprocal = _unary_function(
    "reciprocal", Reciprocal, "``1 / input`` (integers become the default float dtype)."
)
sin = _unary_function("sin", Sin, "The sine.")
cos = _unary_function("cos", Cos, "The cosine.")
tan = _unary_function("tan", Tan, "The tangent.")
asin = _unary_function("asin", Asin, "The inverse sine; NaN outside ``[-1, 1]``.")
acos = _unary_function("acos", Acos, "The inverse cosine; NaN outside ``[-1, 1]``.")
atan = _unary_function("atan", Atan, "The inverse tangent.")
sinh = _unary_function("sinh", Sinh, "The hyperbolic sine.")
cosh = _unary_function("cosh", Cosh, "The hyperbolic cosine.")
tanh = _unary_function("tanh", Tanh, "The hyperbolic tangent.")
asinh = _unary_function("asinh", Asinh, "The inverse hyperbolic sine.")
acosh = _unary_function("acosh", Acosh, "The inverse hyperbolic cosine; NaN below 1.")
atanh = _unary_function("atanh", Atanh, "The inverse hyperbolic tangent; ``±inf`` at ``±1``.")
sinc = _unary_function("sinc", Sinc, "``sin(pi x) / (pi x)``, 1 at 0.")
sigmoid = _unary_function(
    "sigmoid",
    Sigmoid,
    "``1 / (1 + exp(-input))``, with PyTorch's rounding (0 where ``exp(-input)`` overflows).",
)
erf = _unary_function("erf", Erf, "The error function ``2/sqrt(pi) * integral_0^x exp(-t**2) dt``.")
erfc = _unary_function("erfc", Erfc, "``1 - erf(input)``, accurate in the right tail.")
erfinv = _unary_function(
    "erfinv", Erfinv, "The inverse of ``erf`` on ``(-1, 1)``; ``±inf`` at ``±1``, NaN outside."
)
lgamma = _unary_function(
    "lgamma", Lgamma, "``log(|Gamma(input)|)``; ``inf`` at the poles ``0, -1, -2 ...``."
)
digamma = _unary_function(
    "digamma", Digamma, "``d/dx log(Gamma(x))``; ``-inf`` at 0, NaN at negative integers."
)
angle = _unary_function(
    "angle",
    Angle,
    "The complex argument of a real tensor: ``pi`` where negative, else 0; zero gradient.",
)
i0 = _unary_function("i0", I0, "The modified Bessel function of the first kind of order 0.")
floor = _unary_function(
    "floor", Floor, "The largest integer ``<= input`` (integer tensors are returned as a copy)."
)
ceil = _unary_function("ceil", Ceil, "The smallest integer ``>= input``.")
trunc = _unary_function("trunc", Trunc, "``input`` rounded toward zero.")
frac = _unary_function("frac", Frac, "``input - trunc(input)``; the gradient is 1.")


def signbit(input: Tensor, *, out=None) -> Tensor:
    """True where the sign bit is set (``-0.0`` included)."""
    return NonDifferentiable.found(_signbit, input)  # an op while a compiled call records


def _signbit(data):
    return asarray(xp.signbit(data) if is_floating(data.dtype) else data < 0)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians: ``input * pi / 180``."""
    return Deg2Rad.apply(input)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees: ``input * 180 / pi``."""
    return Rad2Deg.apply(input)


def relu(input: Tensor) -> Tensor:
    """``max(input, 0)``; the gradient at 0 is 0, as in PyTorch."""
    return Relu.apply(input)


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    """The ``n``-th derivative of ``digamma``: ``polygamma(0, x)`` is ``digamma(x)``."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if n == 0:
        return digamma(input)
    return Polygamma.apply(n, input)


def mvlgamma(input: Tensor, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma ``p(p-1)/4 log(pi) + sum_i lgamma(input - i/2)``, i < p."""
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    return Mvlgamma.apply(input, int(p))


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:
    """``input`` rounded half to even, to ``decimals`` decimal places (negative: tens ...)."""
    if decimals == 0:
        return Round.apply(input)
    return RoundDecimals.apply(input, int(decimals))


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    return Logit.apply(input, eps)


def nan_to_num(
    input: Tensor,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
    *,
    out=None,
) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``.

    The infinities default to the dtype's largest and smallest finite values.
    """
    if isinstance(input, Tensor) and input.dtype is bfloat16:
        # The forward runs in float32, whose limits would round to bfloat16's infinities.
        largest = finfo(bfloat16).max
        posinf = largest if posinf is None else posinf
        neginf = -largest if neginf is None else neginf
    return NanToNum.apply(input, nan, posinf, neginf)


absolute, fix = abs, trunc
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh

