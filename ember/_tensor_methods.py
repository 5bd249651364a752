"""The tensor methods that are an ``ember.ops`` function with ``self`` first.

``x.exp()`` is ``ember.exp(x)``, ``x.add_(y)`` is the in-place form of ``ember.add``,
``x + y`` is ``ember.add(x, y)``. Listing them here keeps ``_tensor.py`` about the
tensor's own state.
"""

from __future__ import annotations

import functools
import types

# Methods that call the ops function of the same name with self first.
FORWARDED = """
abs absolute acos arccos acosh arccosh add addcdiv addcmul addmm all allclose amax amin aminmax
angle any argmax argmin argsort argwhere asin arcsin asinh arcsinh atan arctan atan2 arctan2 atanh
arctanh baddbmm bernoulli bincount bitwise_and bitwise_not bitwise_or bitwise_xor bmm
broadcast_to ceil cholesky chunk clamp clamp_max clamp_min clip clone contiguous copysign
cos cosh count_nonzero cross cummax cummin cumprod cumsum deg2rad diag diag_embed diagonal diff
digamma dist div divide dot dsplit eq equal erf erfc erfinv exp exp2 expand_as expm1 fix flatten
fliplr flipud float_power floor floor_divide fmax fmin fmod frac gather gcd ge greater
greater_equal gt heaviside histc hsplit hypot i0 index_add index_copy index_fill
index_put index_select inner inverse isclose isfinite isinf isnan isneginf isposinf isreal
kthvalue lcm ldexp le lerp less less_equal lgamma log log10 log1p log2 logaddexp logaddexp2
logcumsumexp logdet logical_and logical_not logical_or logical_xor logit logsumexp lt masked_fill
masked_scatter masked_select matmul matrix_exp matrix_power max maximum mean median min minimum
mm mode moveaxis movedim msort mul multinomial multiply mv mvlgamma nan_to_num nanmean nanmedian
nanquantile nansum narrow ne neg negative nextafter nonzero norm not_equal outer pinverse
positive pow prod quantile rad2deg reciprocal relu remainder renorm repeat_interleave
roll rot90 round rsqrt scatter scatter_add scatter_reduce select sgn sigmoid sign signbit sin
sinc sinh slogdet softmax log_softmax sort split sqrt square squeeze std sub subtract sum
sum_to_size swapaxes swapdims t take take_along_dim tan tanh tensor_split topk trace transpose
tril triu true_divide trunc unbind unflatten unique unique_consecutive unsqueeze var vdot view_as
vsplit where xlogy det bitwise_left_shift bitwise_right_shift unfold ravel narrow_copy
addmv addr addbmm ger kron cov corrcoef qr svd
split_with_sizes
""".split()

# Methods ``name_`` that write ``name(self, ...)`` back into self.
INPLACE = """
abs acos acosh add addcdiv addcmul asin asinh atan atan2 atanh bitwise_and bitwise_not bitwise_or
bitwise_xor ceil clamp clamp_max clamp_min clip copysign cos cosh cumsum cumprod deg2rad digamma
div divide eq erf erfc erfinv exp exp2 expm1 fix float_power floor floor_divide fmod frac ge gt
greater greater_equal less less_equal not_equal hypot absolute arcsin arccos arctan arctan2 arcsinh arccosh arctanh sgn i0 negative
bitwise_left_shift bitwise_right_shift gcd lcm nextafter mvlgamma heaviside ldexp addmm addmv
addbmm baddbmm addr index_add index_copy index_fill index_put le lerp lgamma log log10 log1p log2 logical_and
logical_not logical_or logical_xor logit lt masked_fill masked_scatter mul multiply nan_to_num ne
neg negative pow rad2deg reciprocal relu remainder renorm round rsqrt scatter scatter_add
scatter_reduce sigmoid sign sin sinc sinh sqrt square sub subtract tan tanh
tril triu true_divide trunc xlogy
""".split()

# Operators: (dunder, ops function, operand order); "r" reflects, "i" is in place.
OPERATORS = [
    ("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
    ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"), ("matmul", "matmul"),
    ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
    ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift"),
]
COMPARISONS = [("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")]
UNARY = [("neg", "neg"), ("abs", "abs"), ("invert", "bitwise_not"), ("pos", "positive")]
# Methods whose in-place form is not built from the out-of-place op.
SPECIAL_INPLACE = ["fill_", "zero_", "copy_", "uniform_", "normal_", "random_", "bernoulli_",
                   "exponential_", "geometric_", "cauchy_", "log_normal_"]


def _missing(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"ember does not implement Tensor.{name} yet")

    method._ember_missing = True
    return method


def _forwarded(function):
    if isinstance(function, types.FunctionType):
        return function  # a plain function binds as a method itself: one call frame fewer
    @functools.wraps(function)
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    return method


def _reflected(function):
    def method(self, other):
        return function(other, self)

    return method


def _reflected_division(reciprocal, mul):
    # PyTorch computes ``number / x`` as ``x.reciprocal() * number``: its rounding, and a
    # graph that keeps x's reciprocal rather than x itself.
    def __rtruediv__(self, other):
        return mul(reciprocal(self), other)

    return __rtruediv__


def _inplace(function, name):
    from ember.ops._function import inplace, snapshot

    def method(self, *args, **kwargs):
        return inplace(self, function(snapshot(self), *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place form of ``{function.__name__}``: the result is written into self."
    return method


def install(cls) -> None:
    from ember import ops

    def find(name):
        # The plain op, not its out= wrapper (ops._out): methods take no out=, as in PyTorch.
        return ops._out.without_out(getattr(ops, name, None))

    for name in FORWARDED:
        if name in cls.__dict__:
            continue
        function = find(name)
        setattr(cls, name, _forwarded(function) if function else _missing(name))
    for name in INPLACE:
        function = find(name)
        setattr(cls, name + "_", _inplace(function, name + "_") if function else _missing(name + "_"))
    cls.polygamma, cls.polygamma_ = _polygamma, _polygamma_
    for name in INPLACE_VIEWS:
        function = find(name)
        if function:
            setattr(cls, name + "_", _inplace_view(function, name + "_"))
    for name in SPECIAL_INPLACE:
        function = find(name)
        setattr(cls, name, _forwarded(function) if function else _missing(name))
    for dunder, name in OPERATORS:
        function = find(name)
        if function is None:
            for form in ("", "r", "i"):
                setattr(cls, f"__{form}{dunder}__", _missing(f"__{form}{dunder}__"))
            continue
        setattr(cls, f"__{dunder}__", _forwarded(function))
        setattr(cls, f"__r{dunder}__", _reflected(function))
        setattr(cls, f"__i{dunder}__", _inplace(function, f"__i{dunder}__"))
    cls.__rtruediv__ = _reflected_division(find("reciprocal"), find("mul"))
    for dunder, name in COMPARISONS:
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))
    for dunder, name in UNARY:
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))
    for dunder, name in (("getitem", "getitem"), ("setitem", "setitem")):
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))


def _polygamma(self, n):
    """``x.polygamma(n)`` is ``ember.polygamma(n, x)``: the order comes first in the function."""
    from ember import ops

    return ops.polygamma(n, self)


def _polygamma_(self, n):
    from ember.ops._function import inplace, snapshot

    return inplace(self, _polygamma(snapshot(self), n), "polygamma_")


def _inplace_view(function, name):
    """``squeeze_``, ``t_`` ...: self becomes the reshaped view (PyTorch changes metadata)."""

    def method(self, *args, **kwargs):
        result = function(self, *args, **kwargs)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        return self

    method.__name__ = name
    return method


INPLACE_VIEWS = ["squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims", "as_strided"]


def missing_methods(cls) -> list:
    """Names in the tables above that no ops function backs yet (a test keeps this empty)."""
    return sorted(
        name for name in dir(cls) if getattr(getattr(cls, name, None), "_ember_missing", False)
    )
