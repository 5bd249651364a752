"""Each op keeps what PyTorch's derivative keeps, so the version check fires where PyTorch's does.

A row is ``(name, fn(lib, *inputs), saves, domain)``. ``saves`` lists what the node keeps
among ``a`` and ``b`` (the inputs, non-leaf tensors that require grad) and ``y`` (the
output). For every row and every one of those, the test changes that tensor in place
after the op (under ``no_grad``, so the graph is unchanged) and pulls back a random
cotangent: PyTorch and ember must both raise "modified by an inplace operation" when the
changed tensor is kept, and otherwise agree on the gradients. The expected ``saves`` is
checked on PyTorch too, so the table is the spec.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

UNIT = (0.1, 0.9)
SIGNED = (-1.0, 1.0)


def _functional(lib):
    return lib.nn.functional


UNARY = [
    ("abs", lambda lib, a: lib.abs(a), "a"),
    ("exp", lambda lib, a: lib.exp(a), "y"),
    ("exp2", lambda lib, a: lib.exp2(a), "y"),
    ("expm1", lambda lib, a: lib.expm1(a), "y"),
    ("log", lambda lib, a: lib.log(a), "a"),
    ("log2", lambda lib, a: lib.log2(a), "a"),
    ("log10", lambda lib, a: lib.log10(a), "a"),
    ("log1p", lambda lib, a: lib.log1p(a), "a"),
    ("sqrt", lambda lib, a: lib.sqrt(a), "y"),
    ("rsqrt", lambda lib, a: lib.rsqrt(a), "y"),
    ("reciprocal", lambda lib, a: lib.reciprocal(a), "y"),
    ("sin", lambda lib, a: lib.sin(a), "a"),
    ("cos", lambda lib, a: lib.cos(a), "a"),
    ("tan", lambda lib, a: lib.tan(a), "y"),
    ("asin", lambda lib, a: lib.asin(a), "a"),
    ("acos", lambda lib, a: lib.acos(a), "a"),
    ("atan", lambda lib, a: lib.atan(a), "a"),
    ("sinh", lambda lib, a: lib.sinh(a), "a"),
    ("cosh", lambda lib, a: lib.cosh(a), "a"),
    ("tanh", lambda lib, a: lib.tanh(a), "y"),
    ("asinh", lambda lib, a: lib.asinh(a), "a"),
    ("acosh", lambda lib, a: lib.acosh(a), "a", (1.5, 3.0)),
    ("atanh", lambda lib, a: lib.atanh(a), "a"),
    ("deg2rad", lambda lib, a: lib.deg2rad(a), ""),
    ("rad2deg", lambda lib, a: lib.rad2deg(a), ""),
    ("erf", lambda lib, a: lib.erf(a), "a"),
    ("erfc", lambda lib, a: lib.erfc(a), "a"),
    ("erfinv", lambda lib, a: lib.erfinv(a), "a"),
    ("lgamma", lambda lib, a: lib.lgamma(a), "a"),
    ("digamma", lambda lib, a: lib.digamma(a), "a"),
    ("polygamma", lambda lib, a: lib.polygamma(2, a), "a"),
    ("mvlgamma", lambda lib, a: lib.mvlgamma(a, 2), "a", (1.5, 3.0)),
    ("i0", lambda lib, a: lib.i0(a), "a"),
    ("sinc", lambda lib, a: lib.sinc(a), "a"),
    ("sigmoid", lambda lib, a: lib.sigmoid(a), "y"),
    ("relu", lambda lib, a: lib.relu(a), "y", SIGNED),
    ("frac", lambda lib, a: lib.frac(a), ""),
    ("sign", lambda lib, a: lib.sign(a), ""),
    ("sgn", lambda lib, a: lib.sgn(a), "ay"),
    ("floor", lambda lib, a: lib.floor(a), ""),
    ("ceil", lambda lib, a: lib.ceil(a), ""),
    ("trunc", lambda lib, a: lib.trunc(a), ""),
    ("round", lambda lib, a: lib.round(a), ""),
    ("round_decimals", lambda lib, a: lib.round(a, decimals=2), ""),
    ("angle", lambda lib, a: lib.angle(a), "a"),
    ("logit", lambda lib, a: lib.logit(a), "a"),
    ("logit_eps", lambda lib, a: lib.logit(a, 0.2), "a"),
    ("nan_to_num", lambda lib, a: lib.nan_to_num(a), "a"),
    ("neg", lambda lib, a: lib.neg(a), ""),
    ("square", lambda lib, a: lib.square(a), "a"),
    ("pow_scalar", lambda lib, a: lib.pow(a, 2.5), "a"),
    ("pow_zero", lambda lib, a: a**0, "a"),
    ("scalar_pow", lambda lib, a: 2.0**a, "ay"),
    ("mul_scalar", lambda lib, a: a * 3, ""),
    ("scalar_mul", lambda lib, a: 3.0 * a, ""),
    ("div_scalar", lambda lib, a: a / 3, ""),
    ("div_of_scalar", lambda lib, a: lib.div(2.0, a), "a"),
    ("add_scalar", lambda lib, a: a + 2, ""),
    ("scalar_sub", lambda lib, a: 2.0 - a, ""),
    ("clamp", lambda lib, a: lib.clamp(a, 0.3, 0.7), "a"),
    ("clamp_min", lambda lib, a: lib.clamp(a, min=0.3), "a"),
    ("clamp_max", lambda lib, a: lib.clamp(a, max=0.7), "a"),
    ("xlogy_scalar_self", lambda lib, a: lib.xlogy(2.0, a), "a"),
    ("xlogy_scalar_other", lambda lib, a: lib.xlogy(a, 2.0), "a"),
    ("lerp_scalar_weight", lambda lib, a: lib.lerp(a, a * 2, 0.3), ""),
    ("logsumexp", lambda lib, a: lib.logsumexp(a, -1), "ay"),
    ("logcumsumexp", lambda lib, a: lib.logcumsumexp(a, -1), "ay"),
    ("softmax", lambda lib, a: _functional(lib).softmax(a, -1), "y"),
    ("log_softmax", lambda lib, a: _functional(lib).log_softmax(a, -1), "y"),
    ("softmin", lambda lib, a: _functional(lib).softmin(a, -1), "y"),
    ("tensor_softmax", lambda lib, a: a.softmax(0), "y"),
    ("F.relu", lambda lib, a: _functional(lib).relu(a), "y", SIGNED),
    ("leaky_relu", lambda lib, a: _functional(lib).leaky_relu(a, 0.2), "a", SIGNED),
    ("elu", lambda lib, a: _functional(lib).elu(a), "a", SIGNED),
    ("selu", lambda lib, a: _functional(lib).selu(a), "a", SIGNED),
    ("celu", lambda lib, a: _functional(lib).celu(a, 0.5), "a", SIGNED),
    ("gelu", lambda lib, a: _functional(lib).gelu(a), "a"),
    ("gelu_tanh", lambda lib, a: _functional(lib).gelu(a, approximate="tanh"), "a"),
    ("silu", lambda lib, a: _functional(lib).silu(a), "a"),
    ("mish", lambda lib, a: _functional(lib).mish(a), "a"),
    ("softplus", lambda lib, a: _functional(lib).softplus(a, 2.0), "a"),
    ("hardtanh", lambda lib, a: _functional(lib).hardtanh(a, 0.2, 0.6), "a"),
    ("relu6", lambda lib, a: _functional(lib).relu6(a), "a", (-2.0, 8.0)),
    ("hardsigmoid", lambda lib, a: _functional(lib).hardsigmoid(a), "a", (-4.0, 4.0)),
    ("hardswish", lambda lib, a: _functional(lib).hardswish(a), "a", (-4.0, 4.0)),
    ("F.sigmoid", lambda lib, a: _functional(lib).sigmoid(a), "y"),
    ("F.tanh", lambda lib, a: _functional(lib).tanh(a), "y"),
    ("logsigmoid", lambda lib, a: _functional(lib).logsigmoid(a), "a"),
    ("softsign", lambda lib, a: _functional(lib).softsign(a), "a"),
    ("tanhshrink", lambda lib, a: _functional(lib).tanhshrink(a), ""),
    ("threshold", lambda lib, a: _functional(lib).threshold(a, 0.5, -1.0), "a"),
    ("softshrink", lambda lib, a: _functional(lib).softshrink(a, 0.3), "a"),
    ("hardshrink", lambda lib, a: _functional(lib).hardshrink(a, 0.3), "a"),
    ("rrelu_eval", lambda lib, a: _functional(lib).rrelu(a), "a", SIGNED),
    ("glu", lambda lib, a: _functional(lib).glu(a, 0), "a"),
    ("number / a", lambda lib, a: 2.0 / a, ""),  # PyTorch: a.reciprocal() * 2.0
]

BINARY = [
    ("add", lambda lib, a, b: lib.add(a, b, alpha=2), ""),
    ("sub", lambda lib, a, b: a - b, ""),
    ("mul", lambda lib, a, b: a * b, "ab"),
    ("div", lambda lib, a, b: a / b, "ab"),
    ("pow", lambda lib, a, b: a**b, "aby"),
    ("atan2", lambda lib, a, b: lib.atan2(a, b), "ab"),
    ("hypot", lambda lib, a, b: lib.hypot(a, b), "aby"),
    ("maximum", lambda lib, a, b: lib.maximum(a, b), "ab"),
    ("minimum", lambda lib, a, b: lib.minimum(a, b), "ab"),
    ("fmax", lambda lib, a, b: lib.fmax(a, b), "ab"),
    ("fmin", lambda lib, a, b: lib.fmin(a, b), "ab"),
    ("logaddexp", lambda lib, a, b: lib.logaddexp(a, b), "ab"),
    ("logaddexp2", lambda lib, a, b: lib.logaddexp2(a, b), "ab"),
    ("xlogy", lambda lib, a, b: lib.xlogy(a, b), "ab"),
    ("copysign", lambda lib, a, b: lib.copysign(a, b), "ay", SIGNED),
    ("remainder", lambda lib, a, b: lib.remainder(a, b), "ab"),
    ("fmod", lambda lib, a, b: lib.fmod(a, b), "ab"),
    ("div_trunc", lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"), "ab"),
    ("div_floor", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"), "ab"),
    ("lerp_tensor_weight", lambda lib, a, b: lib.lerp(a, b * 2, b), "ab"),
    ("addcmul", lambda lib, a, b: lib.addcmul(a, a, b, value=0.5), "ab"),
    ("addcdiv", lambda lib, a, b: lib.addcdiv(a, a, b, value=0.5), "ab"),
    ("where", lambda lib, a, b: lib.where(a > 0.5, a, b), ""),
    ("clamp_tensor", lambda lib, a, b: lib.clamp(a, min=b), "ab"),
    ("prelu", lambda lib, a, b: _functional(lib).prelu(a, b[0, :1]), "ab", SIGNED),
]

MODIFIED_MESSAGE = "modified by an inplace operation"


def _row(entry):
    name, fn, saves, *domain = entry
    return pytest.param(fn, saves, domain[0] if domain else UNIT, id=name)


def _gradients_after_change(lib, fn, arrays, cotangent, changed: str):
    """Leaf gradients after ``changed`` (an input or the output) is halved in place, or None
    when backward refuses because the node kept it."""
    leaves = [lib.tensor(array, requires_grad=True) for array in arrays]
    inputs = [leaf * 1.0 for leaf in leaves]  # non-leaves, so that they may change in place
    y = fn(lib, *inputs)
    target = y if changed == "y" else inputs["ab".index(changed)]
    with lib.no_grad():
        target.mul_(0.5)
    try:
        y.backward(lib.tensor(cotangent))
    except RuntimeError as error:
        if MODIFIED_MESSAGE not in str(error):
            raise
        return None
    return [None if leaf.grad is None else leaf.grad.numpy() for leaf in leaves]


def _check(name: str, fn, saves: str, domain, arity: int) -> None:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    arrays = [rng.uniform(*domain, size=(2, 4)) for _ in range(arity)]
    cotangent = np.asarray(fn(torch, *map(torch.tensor, arrays)).detach().numpy())
    cotangent = rng.standard_normal(cotangent.shape)
    for changed in "ab"[:arity] + "y":
        expected = _gradients_after_change(torch, fn, arrays, cotangent, changed)
        actual = _gradients_after_change(ember, fn, arrays, cotangent, changed)
        kept = changed in saves
        assert (expected is None) == kept, f"{name}: PyTorch no longer keeps {saves!r}"
        assert (actual is None) == kept, (
            f"{name}: changing {changed!r} in place after the op "
            + ("must raise, as in PyTorch" if kept else "raised, but PyTorch does not keep it")
        )
        if not kept:
            for index, (mine, theirs) in enumerate(zip(actual, expected)):
                assert (mine is None) == (theirs is None), f"{name}: grad {index} presence"
                if theirs is not None:
                    np.testing.assert_allclose(
                        mine, theirs, rtol=1e-7, atol=1e-10, err_msg=f"{name}: grad {index}"
                    )


@pytest.mark.parametrize("fn, saves, domain", [_row(entry) for entry in UNARY])
def test_unary_keeps_what_torch_keeps(request, fn, saves, domain):
    _check(request.node.callspec.id, fn, saves, domain, 1)


@pytest.mark.parametrize("fn, saves, domain", [_row(entry) for entry in BINARY])
def test_binary_keeps_what_torch_keeps(request, fn, saves, domain):
    _check(request.node.callspec.id, fn, saves, domain, 2)


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_zeroing_the_input_of_tanh_keeps_its_gradient(lib):
    """The reported case: tanh keeps its output, so zeroing its input is harmless."""
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    a = x * 2
    y = lib.tanh(a)
    a.zero_()
    y.sum().backward()
    expected = 2 * (1 - np.tanh(2 * np.array([0.5, -1.0, 2.0])) ** 2)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
