"""The ``torch._foreach_*`` family against PyTorch 2.13, in float64.

Every function runs on PyTorch and on ember through the oracle (values, dtypes, gradients
of a random cotangent, gradcheck and gradgradcheck), in each of PyTorch's overloads: a
number, a list of numbers, a list of tensors, a 0-d tensor, packed scalars. The in-place
forms run on copies of the inputs, so the oracle also compares the gradients that flow
through the write; they must return the list they were given. Then the argument forms,
the errors (the same exception class as PyTorch's), and two user scripts: an EMA of a
model's weights and a Lion-style optimizer, both written with foreach calls.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import copy_state
from tests.oracle import Case, ErrorCase, check_case, check_error

torch.set_num_threads(1)

PAIR = [(3, 2), (4,)]  # each foreach list holds two tensors of these shapes


def _out_of_place(name: str, call):
    def run(lib, a, b, *rest):
        result = call(getattr(lib, f"_foreach_{name}"), lib, [a, b], *rest)
        assert isinstance(result, tuple) and len(result) == 2
        return result

    return run


def _in_place(name: str, call):
    """Run the ``_`` form on copies of the first list (so gradients flow through the
    write back to the inputs), check that it returns that list, and return it."""

    def run(lib, a, b, *rest):
        targets = [a * 1, b * 1]
        returned = call(getattr(lib, f"_foreach_{name}_"), lib, targets, *rest)
        assert returned is targets
        return targets

    return run


UNARY_DOMAINS = {
    "abs": (-2, 2), "acos": (-0.9, 0.9), "asin": (-0.9, 0.9), "atan": (-2, 2),
    "ceil": (-2, 2), "cos": (-2, 2), "cosh": (-2, 2), "erf": (-2, 2), "erfc": (-2, 2),
    "exp": (-2, 2), "expm1": (-2, 2), "floor": (-2, 2), "frac": (-2, 2), "lgamma": (0.2, 3),
    "log": (0.2, 2), "log10": (0.2, 2), "log1p": (-0.5, 2), "log2": (0.2, 2), "neg": (-2, 2),
    "reciprocal": (0.3, 2), "round": (-2, 2), "rsqrt": (0.2, 2), "sigmoid": (-2, 2),
    "sign": (-2, 2), "sin": (-2, 2), "sinh": (-2, 2), "sqrt": (0.2, 2), "tan": (-1, 1),
    "tanh": (-2, 2), "trunc": (-2, 2),
}

# overload: (call, shapes of the inputs after the first list)
SCALAR_FORMS = {
    "scalar": (lambda f, lib, xs: f(xs, 1.5), []),
    "scalars": (lambda f, lib, xs: f(xs, [0.5, -1.25]), []),
    "tensors": (lambda f, lib, xs, c, d: f(xs, [c, d]), PAIR),
    "tensors_broadcast": (lambda f, lib, xs, c, d: f(xs, [c, d]), [(2,), (1,)]),
}
# PyTorch 2.13's backward of the 0-d tensor overload fails ("inconsistent range for
# TensorList output") once the 0-d tensor requires grad and the list holds two tensors: it
# is a constant here, and its gradient is checked against PyTorch's plain ops further down.
TENSOR_FORM = {"tensor": (lambda f, lib, xs: f(xs, lib.tensor(1.75, dtype=lib.float64)), [])}
ALPHA_FORM = {"tensors_alpha": (lambda f, lib, xs, c, d: f(xs, [c, d], alpha=-0.75), PAIR)}
BINARY = {
    "add": (SCALAR_FORMS | TENSOR_FORM | ALPHA_FORM
            | {"tensor_alpha": (lambda f, lib, xs: f(xs, lib.tensor(-0.5, dtype=lib.float64),
                                                     alpha=2.5), [])}),
    "sub": SCALAR_FORMS | ALPHA_FORM,
    "mul": SCALAR_FORMS | TENSOR_FORM,
    "div": SCALAR_FORMS | TENSOR_FORM,
    "maximum": SCALAR_FORMS, "minimum": SCALAR_FORMS,
    "clamp_min": SCALAR_FORMS, "clamp_max": SCALAR_FORMS,
    "pow": SCALAR_FORMS,
}
BINARY_DOMAINS = {"div": (0.5, 2.0), "pow": (0.5, 2.0)}
CONSTANT_FORMS = {
    "default": (lambda f, lib, xs, c, d, e, g: f(xs, [c, d], [e, g]), True),
    "value": (lambda f, lib, xs, c, d, e, g: f(xs, [c, d], [e, g], value=-0.5), True),
    "scalars": (lambda f, lib, xs, c, d, e, g: f(xs, [c, d], [e, g], [0.5, -2.0]), True),
    # PyTorch has no derivative for packed scalars (ember's is checked further down)
    "packed": (lambda f, lib, xs, c, d, e, g:
               f(xs, [c, d], [e, g], lib.tensor([0.5, -2.0], dtype=lib.float64)), False),
}
LERP_FORMS = {
    "scalar": (lambda f, lib, xs, c, d: f(xs, [c, d], 0.3), PAIR),
    "scalars": (lambda f, lib, xs, c, d: f(xs, [c, d], [0.3, 0.8]), PAIR),
    "weights": (lambda f, lib, xs, c, d, e, g: f(xs, [c, d], [e, g]), PAIR + PAIR),
}


# PyTorch has no derivative for these in-place forms (ember's are those of the ops above)
NO_IN_PLACE_DERIVATIVE = {"maximum-scalar", "maximum-scalars", "minimum-scalar",
                          "minimum-scalars"}


def _cases(name, call, shapes, domain=(-2.0, 2.0), grad=True) -> list:
    function = name.split("-")[0]
    in_place_name = name.replace("-", "_-", 1) if "-" in name else name + "_"
    return [
        Case(name, _out_of_place(function, call), PAIR + shapes, domain, grad=grad),
        Case(in_place_name, _in_place(function, call), PAIR + shapes, domain,
             grad=grad and name not in NO_IN_PLACE_DERIVATIVE),
    ]


CASES = []
for _name, _domain in UNARY_DOMAINS.items():
    CASES += _cases(_name, lambda f, lib, xs: f(xs), [], _domain)
for _name, _forms in BINARY.items():
    for _form, (_call, _shapes) in _forms.items():
        CASES += _cases(f"{_name}-{_form}", _call, _shapes, BINARY_DOMAINS.get(_name, (-2, 2)))
for _name in ("addcmul", "addcdiv"):
    for _form, (_call, _grad) in CONSTANT_FORMS.items():
        CASES += _cases(f"{_name}-{_form}", _call, PAIR + PAIR, (0.5, 2.0), grad=_grad)
for _form, (_call, _shapes) in LERP_FORMS.items():
    CASES += _cases(f"lerp-{_form}", _call, _shapes)
CASES += [
    Case("pow-number_base", lambda lib, a, b: lib._foreach_pow(1.7, [a, b]), PAIR),
    Case("max", lambda lib, a, b: lib._foreach_max([a, b]), PAIR),
    Case("clone", lambda lib, a, b: lib._foreach_clone([a, b]), PAIR),
    Case("mm", lambda lib, a, b, c, d: lib._foreach_mm([a, b], [c, d]),
         [(2, 3), (4, 1), (3, 5), (1, 2)]),
    # PyTorch has no derivative for powsum (ember's is checked further down)
    Case("powsum", lambda lib, a, b: lib._foreach_powsum([a, b], 3), PAIR, grad=False),
    Case("powsum-default", lambda lib, a, b: lib._foreach_powsum([a, b]), PAIR, grad=False),
] + [
    Case(f"norm-{order}", lambda lib, a, b, order=order: lib._foreach_norm([a, b], order), PAIR)
    for order in (2, 1, 3.5, 0, math.inf, -math.inf)
] + [Case("norm-default", lambda lib, a, b: lib._foreach_norm([a, b]), PAIR)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_foreach_matches_torch(case):
    check_case(case)


def _integers(*shapes, low=-5, high=6):
    return lambda rng: [rng.integers(low, high, size=shape) for shape in shapes]


def _float32_and_0d(rng):
    return [rng.standard_normal(3).astype(np.float32), rng.standard_normal(2).astype(np.float32),
            rng.standard_normal(())]


PROMOTION_CASES = [
    Case("add_integers_and_a_float", lambda lib, a, b: lib._foreach_add([a, b], 2.5),
         inputs=_integers((3,), (2, 2))),
    Case("add_integers_and_mixed_scalars", lambda lib, a, b: lib._foreach_add([a, b], [1, 2.5]),
         inputs=_integers((3,), (2,))),
    Case("div_integers", lambda lib, a, b, c, d: lib._foreach_div([a, b], [c, d]),
         inputs=_integers((3,), (2,), (3,), (2,), low=1)),
    Case("maximum_integers_and_a_float", lambda lib, a, b: lib._foreach_maximum([a, b], 0.5),
         inputs=_integers((3,), (2,))),
    Case("sqrt_integers", lambda lib, a, b: lib._foreach_sqrt([a, b]),
         inputs=_integers((3,), (2,), low=0)),
    Case("sign_integers", lambda lib, a, b: lib._foreach_sign([a, b]),
         inputs=_integers((3,), (2,))),
    Case("pow_integers", lambda lib, a, b: lib._foreach_pow([a, b], 2),
         inputs=_integers((3,), (2,))),
    Case("max_integers", lambda lib, a, b: lib._foreach_max([a, b]),
         inputs=_integers((3,), (2, 2))),
    Case("mul_float32_by_float64_0d", lambda lib, a, b, s: lib._foreach_mul([a, b], s),
         inputs=_float32_and_0d, grad=False),
    Case("add_float32_and_float64_lists", lambda lib, a, b, s: lib._foreach_add(
        [a, b], [s.expand(3), s.expand(2)]), inputs=_float32_and_0d, grad=False),
    Case("norm_in_float64", lambda lib, a, b, s: lib._foreach_norm([a, b], 2, lib.float64),
         inputs=_float32_and_0d, grad=False),
    Case("norm_with_dtype_keyword", lambda lib, a, b, s: lib._foreach_norm(
        [a, b], ord=3, dtype=lib.float64), inputs=_float32_and_0d, grad=False),
    Case("powsum_integers_in_float64", lambda lib, a, b: lib._foreach_powsum(
        [a, b], 2, lib.float64), inputs=_integers((3,), (2,))),
]


@pytest.mark.parametrize("case", PROMOTION_CASES, ids=lambda case: case.name)
def test_foreach_dtypes_match_torch(case):
    check_case(case)


def test_every_foreach_function_of_torch_is_in_ember():
    names = sorted(name for name in dir(torch) if name.startswith("_foreach_"))
    assert len(names) > 80
    assert [name for name in names if not hasattr(ember, name)] == []
    assert not any(name.startswith("_foreach_") and name not in names for name in dir(ember))


def _twin_lists(rng, shapes, requires_grad=False):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    return ([torch.tensor(a, requires_grad=requires_grad) for a in arrays],
            [ember.tensor(a, requires_grad=requires_grad) for a in arrays])


def _assert_lists_close(actual, expected, rtol=1e-12):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert str(a.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]
        np.testing.assert_allclose(a.detach().numpy(), e.detach().numpy(), rtol=rtol, atol=1e-14)


KEYWORD_CALLS = {
    "self_and_scalar": lambda lib, xs, ys: lib._foreach_add(self=xs, scalar=2.0),
    "scalars": lambda lib, xs, ys: lib._foreach_mul(xs, scalars=[2.0, -1.0]),
    "other_and_alpha": lambda lib, xs, ys: lib._foreach_sub(xs, other=ys, alpha=0.5),
    "other_0d": lambda lib, xs, ys: lib._foreach_add(xs, other=ys[0].sum(), alpha=2),
    "clamp_other": lambda lib, xs, ys: lib._foreach_clamp_min(xs, other=ys),
    "exponent": lambda lib, xs, ys: lib._foreach_pow(xs, exponent=2),
    "number_base": lambda lib, xs, ys: lib._foreach_pow(self=2.0, exponent=xs),
    "weight": lambda lib, xs, ys: lib._foreach_lerp(xs, ys, weight=[0.25, 0.5]),
    "weights": lambda lib, xs, ys: lib._foreach_lerp(xs, tensors1=ys, weights=ys),
    "value": lambda lib, xs, ys: lib._foreach_addcmul(xs, ys, ys, value=3),
    "packed_keyword": lambda lib, xs, ys: lib._foreach_addcdiv(
        xs, tensor1=ys, tensor2=ys, scalars=lib.tensor([2.0, 3.0])),
    "scalar_from_0d_tensor": lambda lib, xs, ys: lib._foreach_maximum(xs, lib.tensor(0.25)),
    "weight_from_0d_tensor": lambda lib, xs, ys: lib._foreach_lerp(xs, ys, lib.tensor(0.25)),
    "bool_scalar": lambda lib, xs, ys: lib._foreach_add(xs, True),
    "tuple_lists": lambda lib, xs, ys: lib._foreach_add(tuple(xs), tuple(ys)),
    "ord": lambda lib, xs, ys: lib._foreach_norm(xs, ord=1),
    "ord_0d_tensor": lambda lib, xs, ys: lib._foreach_norm(xs, lib.tensor(3.0)),
    "memory_format": lambda lib, xs, ys: lib._foreach_clone(
        xs, memory_format=lib.contiguous_format),
}


@pytest.mark.parametrize("name", list(KEYWORD_CALLS))
def test_argument_forms_match_torch(name):
    rng = np.random.default_rng(21)
    xs_torch, xs_ember = _twin_lists(rng, [(3,), (2, 2)])
    ys_torch, ys_ember = _twin_lists(rng, [(3,), (2, 2)])
    expected = KEYWORD_CALLS[name](torch, xs_torch, ys_torch)
    actual = KEYWORD_CALLS[name](ember, xs_ember, ys_ember)
    assert isinstance(actual, tuple)
    _assert_lists_close(actual, expected)


def test_in_place_forms_return_what_they_were_given_like_torch():
    rng = np.random.default_rng(22)
    xs_torch, xs_ember = _twin_lists(rng, [(3,), (2,)])
    ys_torch, ys_ember = _twin_lists(rng, [(3,), (2,)])
    for lib, xs, ys in ((torch, xs_torch, ys_torch), (ember, xs_ember, ys_ember)):
        as_tuple = tuple(xs)
        originals = list(xs)
        for returned, given in [(lib._foreach_mul_(as_tuple, 2.0), as_tuple),
                                (lib._foreach_lerp_(xs, ys, 0.5), xs),
                                (lib._foreach_copy_(xs, ys), xs),
                                (lib._foreach_zero_(xs), xs),
                                (lib._foreach_exp_(xs), xs)]:
            assert returned is given
        assert all(x is original for x, original in zip(xs, originals))


def test_zero_and_copy_write_into_the_tensors_like_torch():
    rng = np.random.default_rng(23)
    drawn = [rng.standard_normal(2), rng.standard_normal(4)]
    results = []
    for lib in (torch, ember):
        targets = [lib.ones(3, dtype=lib.int64), lib.zeros(2, 2, dtype=lib.float64),
                   lib.ones(4, dtype=lib.float32)]
        # cast to the target's dtype, broadcast over its rows
        sources = [lib.tensor([2.7, -1.2, 0.5]), lib.tensor(drawn[0]), lib.tensor(drawn[1])]
        lib._foreach_copy_(targets, sources, non_blocking=False)
        copied = [t.clone() for t in targets]
        lib._foreach_zero_(targets[1:])
        results.append((copied, targets))
    (torch_copied, torch_final), (ember_copied, ember_final) = results
    _assert_lists_close(ember_copied, torch_copied, rtol=1e-7)
    _assert_lists_close(ember_final, torch_final)
    assert ember_final[0].tolist() == [2, -1, 0]
    assert not ember_final[1].numpy().any()


def test_clone_makes_new_tensors_like_torch():
    rng = np.random.default_rng(29)
    for lib, xs in zip((torch, ember), _twin_lists(rng, [(3,), (2, 2)])):
        clones = lib._foreach_clone(xs)
        assert all(clone is not x for clone, x in zip(clones, xs))
        lib._foreach_zero_(list(clones))
        assert all(x.abs().sum().item() > 0 for x in xs)
        formatted = lib._foreach_clone(xs, memory_format=lib.contiguous_format)
        lib._foreach_zero_(list(formatted))
        assert all(x.abs().sum().item() > 0 for x in xs)


def test_in_place_on_a_tuple_of_tensors_that_need_no_grad_changes_each_like_torch():
    rng = np.random.default_rng(24)
    xs_torch, xs_ember = _twin_lists(rng, [(3,), (2, 2)])
    cs_torch, cs_ember = _twin_lists(rng, [(3,), (2, 2)])
    for lib, xs, cs in ((torch, xs_torch, cs_torch), (ember, xs_ember, cs_ember)):
        lib._foreach_addcmul_(xs, cs, cs, [0.5, -1.0])
        lib._foreach_maximum_(xs, [0.1, -0.2])
        lib._foreach_pow_(xs, 2)
        lib._foreach_sub_(xs, cs, alpha=3)
        lib._foreach_div_(xs, lib.tensor(4.0))
        lib._foreach_clamp_max_(xs, 0.7)
    _assert_lists_close(xs_ember, xs_torch)


def _ember_gradcheck(function, shapes, rng, domain=(0.5, 2.0)):
    inputs = tuple(ember.tensor(rng.uniform(*domain, size=shape), requires_grad=True)
                   for shape in shapes)
    assert ember.autograd.gradcheck(function, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
    assert ember.autograd.gradgradcheck(function, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)
    return inputs


def test_ember_differentiates_where_torch_has_no_derivative():
    """powsum and packed scalars: ember's gradients equal those of PyTorch's plain ops."""
    rng = np.random.default_rng(25)
    a, b = _ember_gradcheck(lambda a, b: ember._foreach_powsum([a, b], 2.5), PAIR, rng,
                            domain=(-2.0, 2.0))
    cotangents = [rng.standard_normal(()), rng.standard_normal(())]
    powsums = ember._foreach_powsum([a, b], 2.5)
    ember.autograd.backward(powsums, [ember.tensor(c) for c in cotangents])
    for tensor, cotangent in zip((a, b), cotangents):
        reference = torch.tensor(tensor.detach().numpy(), requires_grad=True)
        (reference.abs() ** 2.5).sum().backward(torch.tensor(cotangent))
        np.testing.assert_allclose(tensor.grad.numpy(), reference.grad.numpy(), rtol=1e-12)
    for name in ("addcmul", "addcdiv"):
        def packed(x, y, c, d, e, g, name=name):
            return getattr(ember, f"_foreach_{name}")(
                [x, y], [c, d], [e, g], ember.tensor([0.5, -2.0], dtype=ember.float64))

        inputs = _ember_gradcheck(packed, PAIR * 3, rng)
        twins = [torch.tensor(t.detach().numpy(), requires_grad=True) for t in inputs]
        expected = getattr(torch, f"_foreach_{name}")(twins[:2], twins[2:4], twins[4:], [0.5, -2.0])
        actual = packed(*inputs)
        cotangents = [rng.standard_normal(shape) for shape in PAIR]
        torch_grads = torch.autograd.grad(expected, twins, [torch.tensor(c) for c in cotangents])
        ember_grads = ember.autograd.grad(actual, inputs, [ember.tensor(c) for c in cotangents])
        for actual_grad, expected_grad in zip(ember_grads, torch_grads):
            np.testing.assert_allclose(actual_grad.numpy(), expected_grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name, options, plain", [
    ("add", {}, lambda x, s: x + s),
    ("add", {"alpha": -1.5}, lambda x, s: x + s * -1.5),
    ("mul", {}, lambda x, s: x * s),
    ("div", {}, lambda x, s: x / s),
])
def test_the_0d_tensor_overload_gives_its_tensor_a_gradient(name, options, plain):
    """The gradient reaching the 0-d tensor is that of PyTorch's plain ops, per tensor."""
    rng = np.random.default_rng(28)
    arrays = [rng.uniform(0.5, 2.0, size=shape) for shape in PAIR + [()]]
    cotangents = [rng.standard_normal(shape) for shape in PAIR]
    inputs = [ember.tensor(array, requires_grad=True) for array in arrays]
    outputs = getattr(ember, f"_foreach_{name}")(inputs[:2], inputs[2], **options)
    grads = ember.autograd.grad(outputs, inputs, [ember.tensor(c) for c in cotangents])
    twins = [torch.tensor(array, requires_grad=True) for array in arrays]
    expected = [plain(x, twins[2]) for x in twins[:2]]
    expected_grads = torch.autograd.grad(expected, twins, [torch.tensor(c) for c in cotangents])
    for output, reference in zip(outputs, expected):
        np.testing.assert_allclose(output.detach().numpy(), reference.detach().numpy(),
                                   rtol=1e-12)
    for grad, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(grad.numpy(), reference.numpy(), rtol=1e-12)
    function = getattr(ember, f"_foreach_{name}")
    _ember_gradcheck(lambda a, b, s: function([a, b], s, **options), PAIR + [()], rng)


def _tensor(lib, *values, **options):
    return lib.tensor(list(values), **options)


ERROR_CASES = [
    ErrorCase("empty_list", lambda lib: lib._foreach_add([], 1.0)),
    ErrorCase("empty_unary", lambda lib: lib._foreach_exp([])),
    ErrorCase("empty_lists", lambda lib: lib._foreach_add([], [])),
    ErrorCase("lengths_differ", lambda lib: lib._foreach_add([lib.ones(2), lib.ones(3)],
                                                             [lib.ones(2)])),
    ErrorCase("lengths_differ_with_alpha", lambda lib: lib._foreach_sub([lib.ones(2)],
                                                                        [lib.ones(2)] * 2,
                                                                        alpha=2)),
    ErrorCase("ternary_lengths", lambda lib: lib._foreach_addcmul([lib.ones(2)], [lib.ones(2)],
                                                                  [lib.ones(2)] * 2)),
    ErrorCase("lerp_lengths", lambda lib: lib._foreach_lerp([lib.ones(2)], [lib.ones(2)] * 2,
                                                            0.5)),
    ErrorCase("lerp_weights_lengths", lambda lib: lib._foreach_lerp([lib.ones(2)], [lib.ones(2)],
                                                                    [lib.ones(2)] * 2)),
    ErrorCase("scalar_list_length", lambda lib: lib._foreach_mul([lib.ones(2)], [1.0, 2.0])),
    ErrorCase("empty_scalar_list", lambda lib: lib._foreach_mul([lib.ones(2)], [])),
    ErrorCase("addcdiv_scalar_list_length", lambda lib: lib._foreach_addcdiv(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], [1.0, 2.0])),
    ErrorCase("tensor_overload_not_0d", lambda lib: lib._foreach_mul([lib.ones(2)], lib.ones(2))),
    ErrorCase("tensor_overload_1_element", lambda lib: lib._foreach_add([lib.ones(2)],
                                                                        _tensor(lib, 2.0))),
    ErrorCase("sub_0d_requiring_grad", lambda lib: lib._foreach_sub(
        [lib.ones(2)], lib.tensor(2.0, requires_grad=True))),
    ErrorCase("clamp_by_a_dimensioned_tensor", lambda lib: lib._foreach_clamp_min(
        [lib.ones(3)], lib.ones(3))),
    ErrorCase("alpha_with_a_scalar", lambda lib: lib._foreach_add([lib.ones(2)], 2.0, alpha=2)),
    ErrorCase("alpha_none", lambda lib: lib._foreach_add([lib.ones(2)], [lib.ones(2)],
                                                         alpha=None)),
    ErrorCase("alpha_on_mul", lambda lib: lib._foreach_mul([lib.ones(2)], [lib.ones(2)],
                                                           alpha=2)),
    ErrorCase("alpha_on_a_unary_function", lambda lib: lib._foreach_exp([lib.ones(2)], alpha=2)),
    ErrorCase("alpha_on_sub_0d", lambda lib: lib._foreach_sub([lib.ones(2)], 2.0, alpha=2)),
    ErrorCase("tensor_instead_of_list", lambda lib: lib._foreach_add(lib.ones(2), 1.0)),
    ErrorCase("unary_tensor_instead_of_list", lambda lib: lib._foreach_neg(lib.ones(2))),
    ErrorCase("number_instead_of_list", lambda lib: lib._foreach_neg(3)),
    ErrorCase("element_not_a_tensor", lambda lib: lib._foreach_neg([lib.ones(2), 1])),
    ErrorCase("none_in_list", lambda lib: lib._foreach_add([lib.ones(2), None], 1)),
    ErrorCase("mixed_list", lambda lib: lib._foreach_add([lib.ones(2)] * 2,
                                                         [lib.tensor(1.0), 2.0])),
    ErrorCase("string_scalar", lambda lib: lib._foreach_add([lib.ones(2)], "a")),
    ErrorCase("missing_argument", lambda lib: lib._foreach_maximum([lib.ones(2)])),
    ErrorCase("missing_self", lambda lib: lib._foreach_neg()),
    ErrorCase("lerp_missing_weight", lambda lib: lib._foreach_lerp([lib.ones(2)],
                                                                   [lib.ones(2)])),
    ErrorCase("too_many_arguments", lambda lib: lib._foreach_exp([lib.ones(2)], 1)),
    ErrorCase("too_many_for_sub", lambda lib: lib._foreach_sub([lib.ones(2)], [lib.ones(2)], 2)),
    ErrorCase("addcmul_none_value", lambda lib: lib._foreach_addcmul(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], None)),
    ErrorCase("packed_0d", lambda lib: lib._foreach_addcmul(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], lib.tensor(2.0))),
    ErrorCase("packed_2d", lambda lib: lib._foreach_addcmul(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], lib.ones(1, 1))),
    ErrorCase("packed_length", lambda lib: lib._foreach_addcdiv(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], _tensor(lib, 1.0, 2.0))),
    ErrorCase("packed_as_a_list_of_tensors", lambda lib: lib._foreach_addcmul(
        [lib.ones(2)], [lib.ones(2)], [lib.ones(2)], [lib.tensor(2.0)])),
    ErrorCase("in_place_cast", lambda lib: lib._foreach_add_([lib.ones(2, dtype=lib.int64)], 1.5)),
    ErrorCase("in_place_sqrt_of_integers", lambda lib: lib._foreach_sqrt_([_tensor(lib, 4, 9)])),
    ErrorCase("in_place_maximum_cast", lambda lib: lib._foreach_maximum_(
        [lib.ones(2, dtype=lib.int64)], 2.5)),
    ErrorCase("in_place_broadcast", lambda lib: lib._foreach_add_([lib.ones(1)], [lib.ones(3)])),
    ErrorCase("shapes_do_not_broadcast", lambda lib: lib._foreach_mul([lib.ones(3)],
                                                                      [lib.ones(2)])),
    ErrorCase("in_place_on_a_leaf", lambda lib: lib._foreach_mul_(
        [lib.ones(2, requires_grad=True)], 2.0)),
    ErrorCase("integer_to_a_negative_power", lambda lib: lib._foreach_pow([_tensor(lib, 2, 3)],
                                                                          -1)),
    ErrorCase("negative_bool", lambda lib: lib._foreach_neg([_tensor(lib, True)])),
    ErrorCase("abs_bool", lambda lib: lib._foreach_abs([_tensor(lib, True)])),
    ErrorCase("frac_integer", lambda lib: lib._foreach_frac([_tensor(lib, 1, 2)])),
    ErrorCase("sub_bool", lambda lib: lib._foreach_sub([_tensor(lib, True)], 1)),
    ErrorCase("lerp_integer_end", lambda lib: lib._foreach_lerp([lib.ones(2)],
                                                                [_tensor(lib, 1, 2)], 0.5)),
    ErrorCase("lerp_integers", lambda lib: lib._foreach_lerp([_tensor(lib, 1, 2)],
                                                             [_tensor(lib, 1, 2)], 0.5)),
    ErrorCase("lerp_dtypes_differ", lambda lib: lib._foreach_lerp(
        [lib.ones(2)], [lib.ones(2, dtype=lib.float64)], 0.5)),
    ErrorCase("integer_alpha_float", lambda lib: lib._foreach_add(
        [_tensor(lib, 1)], [_tensor(lib, 1)], alpha=1.5)),
    ErrorCase("max_of_an_empty_tensor", lambda lib: lib._foreach_max([lib.ones(0)])),
    ErrorCase("max_extra_argument", lambda lib: lib._foreach_max([lib.ones(2)], 1)),
    ErrorCase("norm_inf_of_an_empty_tensor", lambda lib: lib._foreach_norm([lib.ones(0)],
                                                                           math.inf)),
    ErrorCase("norm_minus_inf_of_an_empty_tensor", lambda lib: lib._foreach_norm(
        [lib.ones(0)], -math.inf)),
    ErrorCase("norm_of_integers", lambda lib: lib._foreach_norm([lib.ones(2, dtype=lib.int64)])),
    ErrorCase("norm_of_integers_in_float64", lambda lib: lib._foreach_norm(
        [lib.ones(2, dtype=lib.int64)], 2, lib.float64)),
    ErrorCase("norm_narrowing_dtype", lambda lib: lib._foreach_norm([lib.ones(2)], 2,
                                                                    lib.float16)),
    ErrorCase("norm_integer_dtype", lambda lib: lib._foreach_norm([lib.ones(2)], 2, lib.int64)),
    ErrorCase("norm_string_ord", lambda lib: lib._foreach_norm([lib.ones(2)], "fro")),
    ErrorCase("norm_none_ord", lambda lib: lib._foreach_norm([lib.ones(2)], None)),
    ErrorCase("norm_bool_ord", lambda lib: lib._foreach_norm([lib.ones(2)], True)),
    ErrorCase("norm_empty", lambda lib: lib._foreach_norm([])),
    ErrorCase("powsum_of_integers", lambda lib: lib._foreach_powsum(
        [lib.ones(2, dtype=lib.int64)])),
    ErrorCase("powsum_string_ord", lambda lib: lib._foreach_powsum([lib.ones(2)], "a")),
    ErrorCase("mm_empty", lambda lib: lib._foreach_mm([], [])),
    ErrorCase("mm_lengths", lambda lib: lib._foreach_mm([lib.ones(2, 2)], [lib.ones(2, 2)] * 2)),
    ErrorCase("mm_shapes", lambda lib: lib._foreach_mm([lib.ones(2, 3)], [lib.ones(2, 4)])),
    ErrorCase("mm_vector", lambda lib: lib._foreach_mm([lib.ones(2, 3)], [lib.ones(3)])),
    ErrorCase("copy_lengths", lambda lib: lib._foreach_copy_([lib.ones(2)], [lib.ones(2)] * 2)),
    ErrorCase("copy_shapes", lambda lib: lib._foreach_copy_([lib.ones(2)], [lib.ones(3)])),
    ErrorCase("copy_non_blocking_integer", lambda lib: lib._foreach_copy_(
        [lib.ones(2)], [lib.ones(2)], 1)),
    ErrorCase("copy_empty", lambda lib: lib._foreach_copy_([], [])),
    ErrorCase("zero_empty", lambda lib: lib._foreach_zero_([])),
    ErrorCase("zero_extra_argument", lambda lib: lib._foreach_zero_([lib.ones(2)], 1)),
    ErrorCase("clone_empty", lambda lib: lib._foreach_clone([])),
    ErrorCase("clone_positional_format", lambda lib: lib._foreach_clone(
        [lib.ones(2)], lib.contiguous_format)),
    ErrorCase("pow_number_base_empty", lambda lib: lib._foreach_pow(2.0, [])),
    ErrorCase("pow_0d_requiring_grad", lambda lib: lib._foreach_pow(
        [lib.ones(2)], lib.tensor(2.0, requires_grad=True))),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.name)
def test_foreach_errors_match_torch(case):
    check_error(case)


@pytest.mark.parametrize("call, message", [
    (lambda lib: lib._foreach_add([], 1.0), "Tensor list must have at least one tensor."),
    (lambda lib: lib._foreach_add([lib.ones(2), lib.ones(3)], [lib.ones(2)]),
     "Tensor lists must have the same number of tensors, got 2 and 1"),
    (lambda lib: lib._foreach_mul([lib.ones(2)], [1.0, 2.0]),
     "Tensor list must have same number of elements as scalar list."),
    (lambda lib: lib._foreach_mul([lib.ones(2)], lib.ones(3)),
     "scalar tensor expected to be 0 dim but it has 1 dimensions and 3 elements."),
    (lambda lib: lib._foreach_addcmul([lib.ones(2)], [lib.ones(2)], [lib.ones(2)],
                                      lib.tensor(2.0)),
     "Expected packed scalar Tensor to be of dimension 1. Got 0 instead."),
    (lambda lib: lib._foreach_addcmul([lib.ones(2)], [lib.ones(2)], [lib.ones(2)],
                                      lib.ones(3)),
     "Expected length of scalars to match input of length 1 but got 3 instead."),
    (lambda lib: lib._foreach_max([lib.ones(0)]), "_foreach_max cannot compute the maximum"),
    (lambda lib: lib._foreach_norm([lib.ones(0)], math.inf),
     "_foreach_norm cannot compute the infinity norm on an empty tensor"),
    (lambda lib: lib._foreach_mm([lib.ones(2, 2)], []),
     "_foreach_mm: self and mat2 must have the same number of tensors"),
    (lambda lib: lib._foreach_neg([lib.ones(2), 1]),
     "expected Tensor as element 1 in argument 0, but got int"),
    (lambda lib: lib._foreach_neg(lib.ones(2)),
     r"_foreach_neg\(\): argument 'self' \(position 1\) must be tuple of Tensors, not Tensor"),
])
def test_foreach_error_messages_match_torch(call, message):
    for lib in (torch, ember):
        with pytest.raises((RuntimeError, TypeError), match=message):
            call(lib)


def _small_model(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2)).double()


def _twin_models():
    source = _small_model(torch)
    twin = _small_model(ember)
    copy_state(source, twin)
    return source, twin


def _ema_script(lib, model, batches, decay=0.9):
    """A user's EMA of the weights, kept beside plain SGD, in foreach calls."""
    parameters = list(model.parameters())
    with lib.no_grad():
        ema = [parameter.clone() for parameter in parameters]
    optimizer = lib.optim.SGD(parameters, lr=0.05)
    for inputs, targets in batches:
        optimizer.zero_grad()
        lib.nn.functional.mse_loss(model(lib.tensor(inputs)), lib.tensor(targets)).backward()
        optimizer.step()
        with lib.no_grad():
            lib._foreach_mul_(ema, decay)
            lib._foreach_add_(ema, parameters, alpha=1 - decay)
    with lib.no_grad():
        second = [parameter.clone() for parameter in parameters]
        lib._foreach_lerp_(second, ema, 0.5)
    return ema + second


def test_ema_written_with_foreach_matches_torch():
    rng = np.random.default_rng(26)
    batches = [(rng.standard_normal((8, 4)), rng.standard_normal((8, 2))) for _ in range(6)]
    source, twin = _twin_models()
    expected = _ema_script(torch, source, batches)
    actual = _ema_script(ember, twin, batches)
    _assert_lists_close(actual, expected, rtol=1e-10)
    assert not np.allclose(actual[0].numpy(), twin[0].weight.detach().numpy())


def _lion_class(lib):
    class Lion(lib.optim.Optimizer):
        """Lion (sign of an interpolated momentum), with foreach calls and clipping."""

        def __init__(self, params, lr=1e-3, betas=(0.9, 0.99), weight_decay=0.0,
                     max_norm=1.0):
            super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay,
                                          max_norm=max_norm))

        @lib.no_grad()
        def step(self):
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                grads = [p.grad for p in params]
                norms = lib._foreach_norm(grads)
                total = lib.linalg.vector_norm(lib.stack(norms))
                scale = (group["max_norm"] / (total + 1e-6)).clamp(max=1.0)
                lib._foreach_mul_(grads, scale)
                exp_avgs = []
                for p in params:
                    state = self.state[p]
                    if "exp_avg" not in state:
                        state["exp_avg"] = lib.zeros_like(p)
                    exp_avgs.append(state["exp_avg"])
                beta1, beta2 = group["betas"]
                lib._foreach_mul_(params, 1 - group["lr"] * group["weight_decay"])
                update = lib._foreach_mul(exp_avgs, beta1)
                lib._foreach_add_(update, grads, alpha=1 - beta1)
                lib._foreach_sign_(update)
                lib._foreach_add_(params, update, alpha=-group["lr"])
                lib._foreach_lerp_(exp_avgs, grads, 1 - beta2)

    return Lion


def _train_with_lion(lib, model, batches):
    optimizer = _lion_class(lib)(model.parameters(), lr=0.01, weight_decay=0.1)
    losses = []
    for inputs, targets in batches:
        optimizer.zero_grad()
        loss = lib.nn.functional.mse_loss(model(lib.tensor(inputs)), lib.tensor(targets))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    state = [optimizer.state[p]["exp_avg"] for p in model.parameters()]
    return losses, list(model.parameters()) + state


def test_lion_optimizer_written_with_foreach_matches_torch():
    rng = np.random.default_rng(27)
    batches = [(rng.standard_normal((8, 4)), rng.standard_normal((8, 2))) for _ in range(8)]
    source, twin = _twin_models()
    initial = twin[0].weight.detach().numpy().copy()
    expected_losses, expected = _train_with_lion(torch, source, batches)
    actual_losses, actual = _train_with_lion(ember, twin, batches)
    np.testing.assert_allclose(actual_losses, expected_losses, rtol=1e-10)
    _assert_lists_close(actual, expected, rtol=1e-9)
    # each step moves every weight by about lr: eight steps moved them
    assert np.abs(actual[0].detach().numpy() - initial).max() > 0.02
