"""``ember.special`` against ``torch.special``: values over each function's domain,
gradients of a random cotangent, and finite differences for the composed ones."""

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, check_case

torch.set_num_threads(1)


def _lib_special(function_name):
    return lambda lib, *xs: getattr(lib.special, function_name)(*xs)


SPECIAL_CASES = [
    Case("erf", _lib_special("erf"), [(6,)]),
    Case("erfc", _lib_special("erfc"), [(6,)]),
    Case("erfinv", _lib_special("erfinv"), [(6,)], domain=(-0.9, 0.9)),
    Case("expit", _lib_special("expit"), [(6,)]),
    Case("logit", lambda lib, x: lib.special.logit(x, 1e-3), [(6,)], domain=(0.05, 0.95)),
    Case("gammaln", _lib_special("gammaln"), [(6,)], domain=(0.2, 6.0)),
    Case("digamma", _lib_special("digamma"), [(6,)], domain=(0.2, 6.0)),
    Case("psi", _lib_special("psi"), [(6,)], domain=(0.2, 6.0)),
    Case("polygamma", lambda lib, x: lib.special.polygamma(2, x), [(6,)], domain=(0.5, 4.0)),
    Case("multigammaln", lambda lib, x: lib.special.multigammaln(x, 3), [(6,)],
         domain=(1.5, 5.0)),
    Case("i0", _lib_special("i0"), [(6,)], domain=(-4.0, 4.0)),
    Case("i0e", _lib_special("i0e"), [(6,)], domain=(-6.0, 6.0)),
    Case("i1", _lib_special("i1"), [(6,)], domain=(-4.0, 4.0)),
    Case("i1e", _lib_special("i1e"), [(6,)], domain=(-6.0, 6.0)),
    Case("modified_bessel_i0", _lib_special("modified_bessel_i0"), [(4,)], grad=False),
    Case("modified_bessel_i1", _lib_special("modified_bessel_i1"), [(4,)], grad=False),
    Case("ndtr", _lib_special("ndtr"), [(6,)], domain=(-4.0, 4.0)),
    Case("ndtri", _lib_special("ndtri"), [(6,)], domain=(0.02, 0.98)),
    Case("log_ndtr", _lib_special("log_ndtr"), [(6,)], domain=(-6.0, 4.0)),
    Case("erfcx", _lib_special("erfcx"), [(6,)], domain=(-2.0, 5.0)),
    Case("log1p", _lib_special("log1p"), [(6,)], domain=(-0.5, 2.0)),
    Case("expm1", _lib_special("expm1"), [(6,)]),
    Case("exp2", _lib_special("exp2"), [(6,)]),
    Case("logsumexp", lambda lib, x: lib.special.logsumexp(x, 1), [(3, 4)]),
    Case("softmax", lambda lib, x: lib.special.softmax(x, 0), [(3, 4)]),
    Case("log_softmax", lambda lib, x: lib.special.log_softmax(x, -1), [(3, 4)]),
    Case("xlogy", lambda lib, x, y: lib.special.xlogy(x, y.abs() + 0.1), [(6,), (6,)]),
    Case("xlog1py", lambda lib, x, y: lib.special.xlog1py(x, y), [(6,), (6,)],
         domain=(-0.5, 2.0)),
    Case("entr", _lib_special("entr"), [(6,)], domain=(0.05, 3.0)),
    Case("sinc", _lib_special("sinc"), [(6,)]),
    Case("round", _lib_special("round"), [(6,)], grad=False),
]


@pytest.mark.parametrize("case", SPECIAL_CASES, ids=lambda case: case.name)
def test_special_functions_match_torch(case):
    check_case(case)


def _compare_values(name, data, *extra, rtol=1e-10, atol=0.0):
    expected = getattr(torch.special, name)(torch.tensor(data), *extra)
    actual = getattr(ember.special, name)(ember.tensor(data), *extra)
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=rtol, atol=atol,
                               err_msg=name)


def test_scaled_bessel_functions_stay_finite_where_the_exponential_overflows():
    data = np.array([-2000.0, -750.0, -300.0, 0.0, 300.0, 750.0, 2000.0])
    _compare_values("i0e", data, rtol=1e-8)
    _compare_values("i1e", data, rtol=1e-8)


def test_tails_match_torch():
    _compare_values("log_ndtr", np.array([-300.0, -40.0, -21.0, -19.0, -8.0, 0.0, 8.0]),
                    rtol=1e-9)
    _compare_values("erfcx", np.array([-3.0, 0.0, 10.0, 24.0, 26.0, 100.0, 1e4]), rtol=1e-9)


def test_entr_and_xlog1py_edge_values_match_torch():
    _compare_values("entr", np.array([-1.0, 0.0, 0.5, np.nan, np.inf]))
    x = np.array([0.0, 0.0, 2.0, 0.0])
    y = np.array([-1.0, np.nan, 3.0, 5.0])
    expected = torch.special.xlog1py(torch.tensor(x), torch.tensor(y))
    actual = ember.special.xlog1py(ember.tensor(x), ember.tensor(y))
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-12)


def test_entr_gradient_at_positive_points_matches_finite_differences():
    rng = np.random.default_rng(21)
    x = ember.tensor(rng.uniform(0.1, 2.0, size=5), requires_grad=True)
    assert ember.autograd.gradcheck(ember.special.entr, (x,), eps=1e-6, atol=1e-5)


def test_integer_input_is_promoted_like_torch():
    expected = torch.special.ndtr(torch.tensor([0, 1]))
    actual = ember.special.ndtr(ember.tensor([0, 1]))
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["zeta", "bessel_j0", "gammainc", "airy_ai",
                                  "chebyshev_polynomial_t"])
def test_unimplemented_special_functions_say_so_by_name(name):
    assert hasattr(torch.special, name)
    with pytest.raises(NotImplementedError, match=f"ember.special.{name} is not implemented"):
        getattr(ember.special, name)(ember.ones(2))


def test_every_torch_special_function_has_an_ember_name():
    # Helpers torch.special imports for its docstrings, not functions.
    not_functions = {"Tensor", "torch", "common_args", "multi_dim_common"}
    names = [name for name in dir(torch.special) if not name.startswith("_")]
    missing = [name for name in names if name not in not_functions
               and not hasattr(ember.special, name)]
    assert missing == []
