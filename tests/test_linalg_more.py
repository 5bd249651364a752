"""The LU and LDL families, the Householder products, the checked ``_ex`` variants and the
compositions of ``linalg`` (``cond``, ``tensorinv``, ``tensorsolve``, ``vander``,
``diagonal``), each against PyTorch in float64: values, dtypes, pivots, gradients of a
random cotangent, gradcheck, and the exception raised on bad input.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, ErrorCase, check_case, check_error

torch.set_num_threads(1)


# ---------------------------------------------------------------- inputs


def _conditioned(*shapes):
    """A square ``random + 3 I`` (well conditioned), then plain random arrays."""

    def make(rng):
        arrays = []
        for position, shape in enumerate(shapes):
            array = rng.uniform(-1, 1, shape)
            arrays.append(array + 3 * np.eye(shape[-1]) if position == 0 else array)
        return arrays

    return make


def _pivots(rng, batch, size):
    """Valid LAPACK pivots: row ``j`` is swapped with a row at or below it (1-based)."""
    return np.stack([rng.integers(j, size, batch) + 1 for j in range(size)], -1).astype(np.int32)


def _packed_lu(batch, size, *others):
    """A packed LU with a well-conditioned U, valid pivots, then plain random arrays."""

    def make(rng):
        packed = rng.uniform(-0.5, 0.5, batch + (size, size))
        packed += np.diag(rng.choice([-1.0, 1.0], size) * rng.uniform(2, 3, size))
        return [packed, _pivots(rng, batch, size)] + [rng.uniform(-1, 1, s) for s in others]

    return make


def _symmetric(batch, size, small_diagonal=False):
    """A symmetric matrix; with ``small_diagonal`` Bunch-Kaufman takes 2x2 pivots."""

    def make(rng):
        a = rng.uniform(-1, 1, batch + (size, size))
        a = a + np.swapaxes(a, -1, -2)
        if small_diagonal:
            a[..., range(size), range(size)] *= 0.01
        return [a]

    return make


def _spd(lib, a):
    return a @ a.mT + 3 * lib.eye(a.shape[-1], dtype=a.dtype)


def _quietly(function, *args, **kwargs):
    """Call a deprecated function without its warning (a test below checks the warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _tensor_inverse_input(rng):
    matrix = rng.uniform(-1, 1, (6, 6)) + 3 * np.eye(6)
    return [matrix.reshape(2, 3, 3, 2)]


def _tensor_solve_moved(rng):
    # A moved by dims=(0, 1) is (6, 3, 2), a well-conditioned 6 x 6 matrix.
    matrix = rng.uniform(-1, 1, (6, 6)) + 3 * np.eye(6)
    return [matrix.reshape(6, 3, 2).transpose(1, 2, 0), rng.uniform(-1, 1, (6,))]


def _with_zero(rng):
    x = rng.uniform(-2, 2, (2, 4))
    x[0, 1] = 0.0
    return [x]


# ---------------------------------------------------------------- cases


CASES = [
    # LU: values, pivots (1-based int32, as LAPACK's) and the gradient through each output.
    Case("lu_factor_square", lambda lib, a: lib.linalg.lu_factor(a), [(2, 4, 4)]),
    Case("lu_factor_tall", lambda lib, a: lib.linalg.lu_factor(a), [(5, 3)]),
    Case("lu_factor_wide", lambda lib, a: lib.linalg.lu_factor(a), [(2, 3, 5)]),
    Case("lu_factor_ex", lambda lib, a: lib.linalg.lu_factor_ex(a), [(3, 3)]),
    Case("lu_square", lambda lib, a: lib.linalg.lu(a), [(2, 3, 3)]),
    Case("lu_tall", lambda lib, a: lib.linalg.lu(a), [(2, 4, 2)]),
    Case("lu_wide", lambda lib, a: lib.linalg.lu(a), [(2, 5)]),
    Case("lu_unpack_of_factor", lambda lib, a: lib.lu_unpack(*lib.linalg.lu_factor(a)),
         [(2, 4, 3)]),
    Case("lu_unpack_packed", lambda lib, lu, p: lib.lu_unpack(lu, p), inputs=_packed_lu((2,), 3)),
    Case("lu_unpack_no_data", lambda lib, lu, p: lib.lu_unpack(lu, p, unpack_data=False),
         inputs=_packed_lu((2,), 3), grad=False),
    Case("lu_unpack_no_pivots", lambda lib, lu, p: lib.lu_unpack(lu, p, unpack_pivots=False),
         inputs=_packed_lu((), 3)),
    Case("torch_lu_with_infos", lambda lib, a: _quietly(lib.lu, a, get_infos=True), [(2, 3, 3)]),
    Case("tensor_lu", lambda lib, a: _quietly(a.lu), [(3, 4)]),
    # lu_solve, differentiated in the packed LU and in B, with broadcast batches.
    Case("lu_solve", lambda lib, lu, p, b: lib.linalg.lu_solve(lu, p, b),
         inputs=_packed_lu((2,), 3, (4, 1, 3, 2))),
    Case("lu_solve_adjoint", lambda lib, lu, p, b: lib.linalg.lu_solve(lu, p, b, adjoint=True),
         inputs=_packed_lu((2,), 3, (3, 2))),
    Case("lu_solve_right", lambda lib, lu, p, b: lib.linalg.lu_solve(lu, p, b, left=False),
         inputs=_packed_lu((), 3, (2, 2, 3))),
    Case("lu_solve_right_adjoint",
         lambda lib, lu, p, b: lib.linalg.lu_solve(lu, p, b, left=False, adjoint=True),
         inputs=_packed_lu((2,), 3, (2, 4, 3))),
    Case("lu_solve_of_factor", lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b),
         inputs=_conditioned((2, 3, 3), (2, 3, 2))),
    Case("torch_lu_solve", lambda lib, a, b: _quietly(lib.lu_solve, b, *lib.linalg.lu_factor(a)),
         inputs=_conditioned((3, 3), (3, 2))),
    Case("tensor_lu_solve", lambda lib, a, b: _quietly(b.lu_solve, *lib.linalg.lu_factor(a)),
         inputs=_conditioned((3, 3), (3, 1))),
    # Householder products.
    Case("householder_product", lambda lib, a, t: lib.linalg.householder_product(a, t),
         [(2, 5, 3), (2, 2)]),
    Case("householder_product_square", lambda lib, a, t: lib.linalg.householder_product(a, t),
         [(4, 4), (4,)]),
    Case("orgqr", lambda lib, a, t: lib.orgqr(a, t), [(4, 3), (3,)]),
    Case("tensor_orgqr", lambda lib, a, t: a.orgqr(t), [(4, 2), (1,)]),
    Case("householder_of_geqrf", lambda lib, a: lib.linalg.householder_product(*lib.geqrf(a)),
         [(2, 5, 3)], grad=False),
    Case("geqrf", lambda lib, a: lib.geqrf(a), [(2, 5, 3)], grad=False),
    Case("geqrf_wide", lambda lib, a: a.geqrf(), [(3, 5)], grad=False),
    Case("ormqr", lambda lib, a, t, c: lib.ormqr(a, t, c), [(2, 5, 3), (2, 3), (2, 5, 2)]),
    Case("ormqr_transpose", lambda lib, a, t, c: lib.ormqr(a, t, c, transpose=True),
         [(5, 3), (3,), (5, 4)]),
    Case("ormqr_right", lambda lib, a, t, c: lib.ormqr(a, t, c, left=False),
         [(5, 3), (3,), (2, 5)]),
    Case("ormqr_right_transpose", lambda lib, a, t, c: a.ormqr(t, c, False, True),
         [(5, 3), (3,), (2, 5)]),
    Case("ormqr_wide_input", lambda lib, a, t, c: lib.ormqr(a, t, c), [(4, 5), (4,), (4, 2)]),
    # The checked variants.
    Case("inv_ex", lambda lib, a: lib.linalg.inv_ex(a), inputs=_conditioned((2, 3, 3))),
    Case("solve_ex", lambda lib, a, b: lib.linalg.solve_ex(a, b),
         inputs=_conditioned((2, 3, 3), (4, 1, 3, 2))),
    Case("solve_ex_vectors", lambda lib, a, b: lib.linalg.solve_ex(a, b),
         inputs=_conditioned((2, 3, 3), (2, 3))),
    Case("solve_ex_right", lambda lib, a, b: lib.linalg.solve_ex(a, b, left=False),
         inputs=_conditioned((3, 3), (2, 4, 3))),
    Case("cholesky_ex", lambda lib, a: lib.linalg.cholesky_ex(_spd(lib, a)), [(2, 3, 3)]),
    Case("cholesky_ex_upper", lambda lib, a: lib.linalg.cholesky_ex(_spd(lib, a), upper=True),
         [(3, 3)]),
    # Compositions.
    Case("cond", lambda lib, a: lib.linalg.cond(a), [(2, 3, 3)]),
    Case("cond_2_wide", lambda lib, a: lib.linalg.cond(a, 2), [(2, 3, 5)]),
    Case("cond_minus_2_tall", lambda lib, a: lib.linalg.cond(a, -2), [(4, 3)]),
    Case("cond_nuc", lambda lib, a: lib.linalg.cond(a, "nuc"), [(2, 3, 3)]),
    # PyTorch's backward of these fails (an in-place write): values here, gradcheck below.
    *[Case(f"cond_{p}", lambda lib, a, p=p: lib.linalg.cond(a, p), inputs=_conditioned((2, 3, 3)),
           grad=False) for p in ("fro", 1, -1, math.inf, -math.inf)],
    Case("tensorinv", lambda lib, a: lib.linalg.tensorinv(a, ind=2), inputs=_tensor_inverse_input),
    Case("tensorinv_ind_1", lambda lib, a: lib.linalg.tensorinv(a.reshape(6, 2, 3), ind=1),
         inputs=_tensor_inverse_input),
    Case("tensorsolve", lambda lib, a, b: lib.linalg.tensorsolve(a.reshape(2, 3, 6), b),
         inputs=_conditioned((6, 6), (2, 3))),
    Case("tensorsolve_dims", lambda lib, a, b: lib.linalg.tensorsolve(a, b, dims=(0, 1)),
         inputs=_tensor_solve_moved),
    Case("vander", lambda lib, x: lib.linalg.vander(x), inputs=_with_zero),
    Case("vander_columns", lambda lib, x: lib.linalg.vander(x, N=6), inputs=_with_zero),
    Case("vander_integers", lambda lib, x: lib.linalg.vander(x),
         inputs=lambda rng: [rng.integers(-3, 4, (2, 3)).astype(np.int32)]),
    Case("diagonal", lambda lib, a: lib.linalg.diagonal(a, offset=1, dim1=0, dim2=2),
         [(3, 2, 4)]),
    # LDL (Bunch-Kaufman), not differentiable in PyTorch.
    Case("ldl_factor", lambda lib, a: lib.linalg.ldl_factor(a), inputs=_symmetric((2,), 5),
         grad=False),
    Case("ldl_factor_two_by_two", lambda lib, a: lib.linalg.ldl_factor_ex(a),
         inputs=_symmetric((3,), 6, small_diagonal=True), grad=False),
    Case("ldl_factor_hermitian", lambda lib, a: lib.linalg.ldl_factor(a, hermitian=True),
         inputs=_symmetric((), 4, small_diagonal=True), grad=False),
    Case("ldl_solve", lambda lib, a, b: lib.linalg.ldl_solve(*lib.linalg.ldl_factor(a), b),
         inputs=lambda rng: _symmetric((2,), 5, True)(rng) + [rng.uniform(-1, 1, (5, 2))],
         grad=False),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_torch(case):
    check_case(case)


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


# ---------------------------------------------------------------- errors


def _matrix(lib, *shape, dtype=None):
    return lib.ones(*shape, dtype=dtype or lib.float64) + lib.eye(shape[-1], dtype=lib.float64)


def _factored(lib):
    a = lib.tensor([[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]], dtype=lib.float64)
    return lib.linalg.lu_factor(a)


def _zero_column(lib, batch=False):
    a = lib.tensor([[1.0, 0.0, 2.0], [3.0, 0.0, 4.0], [5.0, 0.0, 6.0]], dtype=lib.float64)
    return lib.stack([lib.eye(3, dtype=lib.float64), a]) if batch else a


def _not_positive_definite(lib):
    return lib.tensor([[4.0, 2.0, 1.0], [2.0, 1.0, 0.0], [1.0, 0.0, 3.0]], dtype=lib.float64)


def _double(lib, *shape):
    return lib.ones(*shape, dtype=lib.float64)


def _under_autocast(lib, call):
    with lib.autocast("cpu", dtype=lib.bfloat16):
        return call()


def _linalg_error(call):
    """Both libraries must raise their own LinAlgError (a RuntimeError) for ``call``."""

    class LinAlgRaised(Exception):
        pass

    def check(lib):
        try:
            call(lib)
        except lib.linalg.LinAlgError as error:
            assert isinstance(error, RuntimeError)
            raise LinAlgRaised(str(error)) from None

    return check


ERRORS = [
    ErrorCase("lu_factor_vector", lambda lib: lib.linalg.lu_factor(_double(lib, 3))),
    ErrorCase("lu_factor_integer",
              lambda lib: lib.linalg.lu_factor(lib.ones(3, 3, dtype=lib.int64))),
    ErrorCase("lu_factor_half",
              lambda lib: lib.linalg.lu_factor(lib.ones(3, 3, dtype=lib.float16))),
    ErrorCase("lu_factor_bfloat16",
              lambda lib: lib.linalg.lu_factor(lib.ones(3, 3, dtype=lib.bfloat16))),
    ErrorCase("lu_factor_no_pivot",
              lambda lib: lib.linalg.lu_factor(_matrix(lib, 3, 3), pivot=False)),
    ErrorCase("lu_factor_singular", lambda lib: lib.linalg.lu_factor(_zero_column(lib, True))),
    ErrorCase("lu_factor_ex_checked",
              lambda lib: lib.linalg.lu_factor_ex(_zero_column(lib), check_errors=True)),
    ErrorCase("lu_vector", lambda lib: lib.linalg.lu(_double(lib, 3))),
    ErrorCase("lu_no_pivot", lambda lib: lib.linalg.lu(_matrix(lib, 3, 3), pivot=False)),
    ErrorCase("torch_lu_no_pivot", lambda lib: _quietly(lib.lu, _matrix(lib, 3, 3), pivot=False)),
    ErrorCase("lu_solve_vector_b",
              lambda lib: lib.linalg.lu_solve(*_factored(lib), _double(lib, 3))),
    ErrorCase("lu_solve_dtypes",
              lambda lib: lib.linalg.lu_solve(*_factored(lib), lib.ones(3, 2))),
    ErrorCase("lu_solve_shapes",
              lambda lib: lib.linalg.lu_solve(*_factored(lib), _double(lib, 4, 2))),
    ErrorCase("lu_solve_right_shapes",
              lambda lib: lib.linalg.lu_solve(*_factored(lib), _double(lib, 3, 2), left=False)),
    ErrorCase("lu_solve_pivots_dtype", lambda lib: lib.linalg.lu_solve(
        _factored(lib)[0], _factored(lib)[1].long(), _double(lib, 3, 2))),
    ErrorCase("lu_solve_pivots_count", lambda lib: lib.linalg.lu_solve(
        _factored(lib)[0], _factored(lib)[1][:2], _double(lib, 3, 2))),
    ErrorCase("lu_solve_pivots_batch", lambda lib: lib.linalg.lu_solve(
        _factored(lib)[0].expand(2, 3, 3), _factored(lib)[1], _double(lib, 3, 2))),
    ErrorCase("lu_solve_pivots_too_large", lambda lib: lib.linalg.lu_solve(
        _factored(lib)[0], _factored(lib)[1] + 5, _double(lib, 3, 2))),
    ErrorCase("lu_solve_pivots_too_small", lambda lib: lib.linalg.lu_solve(
        _factored(lib)[0], _factored(lib)[1] - 5, _double(lib, 3, 2))),
    ErrorCase("lu_solve_not_square", lambda lib: lib.linalg.lu_solve(
        _double(lib, 3, 2), _factored(lib)[1][:2], _double(lib, 3, 2))),
    ErrorCase("lu_unpack_vector",
              lambda lib: lib.lu_unpack(_double(lib, 3), lib.ones(3, dtype=lib.int32))),
    ErrorCase("lu_unpack_pivots_dtype",
              lambda lib: lib.lu_unpack(_factored(lib)[0], _factored(lib)[1].long())),
    ErrorCase("lu_unpack_pivots_range",
              lambda lib: lib.lu_unpack(_factored(lib)[0], _factored(lib)[1] + 5)),
    ErrorCase("householder_vector",
              lambda lib: lib.linalg.householder_product(_double(lib, 4), _double(lib, 2))),
    ErrorCase("householder_wide",
              lambda lib: lib.linalg.householder_product(_double(lib, 3, 4), _double(lib, 2))),
    ErrorCase("householder_tau_too_long",
              lambda lib: lib.linalg.householder_product(_double(lib, 4, 3), _double(lib, 4))),
    ErrorCase("householder_tau_dims",
              lambda lib: lib.linalg.householder_product(_double(lib, 2, 4, 3), _double(lib, 2))),
    ErrorCase("householder_tau_batch",
              lambda lib: lib.linalg.householder_product(_double(lib, 2, 4, 3),
                                                         _double(lib, 3, 2))),
    ErrorCase("householder_tau_dtype",
              lambda lib: lib.linalg.householder_product(_double(lib, 4, 3), lib.ones(2))),
    ErrorCase("householder_integer", lambda lib: lib.linalg.householder_product(
        lib.ones(4, 3, dtype=lib.int64), lib.ones(2, dtype=lib.int64))),
    ErrorCase("orgqr_wide", lambda lib: lib.orgqr(_double(lib, 3, 4), _double(lib, 2))),
    ErrorCase("geqrf_vector", lambda lib: lib.geqrf(_double(lib, 3))),
    ErrorCase("geqrf_integer", lambda lib: lib.geqrf(lib.ones(3, 3, dtype=lib.int64))),
    ErrorCase("geqrf_backward", lambda lib: lib.geqrf(
        _double(lib, 3, 3).requires_grad_())[0].sum().backward()),
    ErrorCase("ormqr_rows",
              lambda lib: lib.ormqr(_double(lib, 4, 3), _double(lib, 3), _double(lib, 5, 4))),
    ErrorCase("ormqr_tau",
              lambda lib: lib.ormqr(_double(lib, 4, 3), _double(lib, 2), _double(lib, 4, 5))),
    ErrorCase("ormqr_other_dims",
              lambda lib: lib.ormqr(_double(lib, 2, 4, 3), _double(lib, 2, 3), _double(lib, 4, 2))),
    ErrorCase("ormqr_other_batch", lambda lib: lib.ormqr(
        _double(lib, 2, 4, 3), _double(lib, 2, 3), _double(lib, 3, 4, 2))),
    ErrorCase("ormqr_dtype",
              lambda lib: lib.ormqr(_double(lib, 4, 3), _double(lib, 3), lib.ones(4, 2))),
    ErrorCase("ormqr_vector",
              lambda lib: lib.ormqr(_double(lib, 4, 3), _double(lib, 3), _double(lib, 4))),
    ErrorCase("inv_ex_checked",
              _linalg_error(lambda lib: lib.linalg.inv_ex(_zero_column(lib, True),
                                                          check_errors=True))),
    ErrorCase("inv_ex_integer", lambda lib: lib.linalg.inv_ex(lib.ones(3, 3, dtype=lib.int64))),
    ErrorCase("inv_ex_not_square", lambda lib: lib.linalg.inv_ex(_double(lib, 3, 4))),
    ErrorCase("solve_ex_checked", _linalg_error(lambda lib: lib.linalg.solve_ex(
        _zero_column(lib, True), _double(lib, 3), check_errors=True))),
    ErrorCase("solve_ex_right_vector", lambda lib: lib.linalg.solve_ex(
        _matrix(lib, 3, 3), _double(lib, 3), left=False)),
    # solve_ex is not on PyTorch's autocast float32 list: its bfloat16 input stays and fails.
    ErrorCase("solve_ex_autocast", lambda lib: _under_autocast(
        lib, lambda: lib.linalg.solve_ex(lib.eye(3, dtype=lib.bfloat16),
                                         lib.ones(3, 1, dtype=lib.bfloat16)))),
    ErrorCase("solve_ex_shapes",
              lambda lib: lib.linalg.solve_ex(_matrix(lib, 3, 3), _double(lib, 4, 2))),
    ErrorCase("cholesky_ex_checked", _linalg_error(lambda lib: lib.linalg.cholesky_ex(
        _not_positive_definite(lib), check_errors=True))),
    ErrorCase("cholesky_ex_not_square", lambda lib: lib.linalg.cholesky_ex(_double(lib, 3, 4))),
    ErrorCase("cond_vector", lambda lib: lib.linalg.cond(_double(lib, 3))),
    ErrorCase("cond_order", lambda lib: lib.linalg.cond(_matrix(lib, 3, 3), 3)),
    ErrorCase("cond_order_name", lambda lib: lib.linalg.cond(_matrix(lib, 3, 3), "abc")),
    ErrorCase("cond_not_square", lambda lib: lib.linalg.cond(_double(lib, 3, 4), "fro")),
    ErrorCase("cond_integer", lambda lib: lib.linalg.cond(lib.ones(3, 3, dtype=lib.int64))),
    ErrorCase("cond_integer_one", lambda lib: lib.linalg.cond(lib.ones(3, 3, dtype=lib.int64), 1)),
    ErrorCase("tensorinv_index", lambda lib: lib.linalg.tensorinv(_double(lib, 2, 2, 4), ind=0)),
    ErrorCase("tensorinv_shape", lambda lib: lib.linalg.tensorinv(_double(lib, 2, 2, 4), ind=1)),
    ErrorCase("tensorinv_singular",
              _linalg_error(lambda lib: lib.linalg.tensorinv(
                  lib.zeros(2, 2, 4, dtype=lib.float64), ind=2))),
    ErrorCase("tensorsolve_shape",
              lambda lib: lib.linalg.tensorsolve(_double(lib, 6, 4), _double(lib, 6))),
    ErrorCase("tensorsolve_singular", _linalg_error(lambda lib: lib.linalg.tensorsolve(
        lib.zeros(2, 3, 6, dtype=lib.float64), _double(lib, 2, 3)))),
    ErrorCase("tensorsolve_dims", lambda lib: lib.linalg.tensorsolve(
        _double(lib, 3, 2, 6), _double(lib, 6), dims=(5,))),
    ErrorCase("vander_bool", lambda lib: lib.linalg.vander(lib.ones(3, dtype=lib.bool))),
    ErrorCase("vander_half", lambda lib: lib.linalg.vander(lib.ones(3, dtype=lib.float16))),
    ErrorCase("vander_one_column", lambda lib: lib.linalg.vander(_double(lib, 3), N=1)),
    ErrorCase("diagonal_vector", lambda lib: lib.linalg.diagonal(_double(lib, 3))),
    ErrorCase("diagonal_same_dims",
              lambda lib: lib.linalg.diagonal(_double(lib, 2, 3), dim1=0, dim2=0)),
    ErrorCase("ldl_vector", lambda lib: lib.linalg.ldl_factor(_double(lib, 3))),
    ErrorCase("ldl_not_square", lambda lib: lib.linalg.ldl_factor(_double(lib, 3, 4))),
    ErrorCase("ldl_integer", lambda lib: lib.linalg.ldl_factor(lib.ones(3, 3, dtype=lib.int64))),
    ErrorCase("ldl_singular",
              lambda lib: lib.linalg.ldl_factor(lib.zeros(3, 3, dtype=lib.float64))),
    ErrorCase("ldl_backward", lambda lib: lib.linalg.ldl_factor(
        _matrix(lib, 3, 3).requires_grad_())[0].sum().backward()),
    ErrorCase("ldl_solve_shapes", lambda lib: lib.linalg.ldl_solve(
        *lib.linalg.ldl_factor(_matrix(lib, 3, 3)), _double(lib, 2, 3))),
    ErrorCase("ldl_solve_dtype", lambda lib: lib.linalg.ldl_solve(
        *lib.linalg.ldl_factor(_matrix(lib, 3, 3)), lib.ones(3, 2))),
    ErrorCase("ldl_solve_pivots", lambda lib: lib.linalg.ldl_solve(
        lib.linalg.ldl_factor(_matrix(lib, 3, 3))[0], lib.ones(2, dtype=lib.int32),
        _double(lib, 3, 2))),
    ErrorCase("ldl_solve_backward", lambda lib: lib.linalg.ldl_solve(
        *lib.linalg.ldl_factor(_matrix(lib, 3, 3)),
        _double(lib, 3, 2).requires_grad_()).sum().backward()),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
def test_bad_input_raises_like_torch(case):
    check_error(case)


# ---------------------------------------------------------------- singular matrices


def _both(function):
    return function(torch), function(ember)


def _equal(actual, expected):
    actual, expected = actual.detach().numpy(), expected.detach().numpy()
    assert actual.shape == expected.shape and actual.dtype.name == expected.dtype.name
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_lu_factor_ex_reports_the_first_zero_pivot_as_lapack_does():
    expected, actual = _both(lambda lib: lib.linalg.lu_factor_ex(_zero_column(lib, True)))
    for a, e in zip(actual, expected):
        _equal(a, e)
    assert actual.info.tolist() == [0, 2]
    # A zero matrix: no interchange, info 1, in every shape.
    for shape in [(2, 4), (4, 2), (3, 3)]:
        expected, actual = _both(lambda lib: lib.linalg.lu_factor_ex(
            lib.zeros(*shape, dtype=lib.float64)))
        for a, e in zip(actual, expected):
            _equal(a, e)


def test_singular_messages_name_the_batch_element_and_the_pivot():
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\): U\[2,2\] is zero"):
        ember.linalg.lu_factor(_zero_column(ember, True))
    with pytest.raises(ember.linalg.LinAlgError, match=r"\(Batch element 1\).*element 2 is zero"):
        ember.linalg.inv_ex(_zero_column(ember, True), check_errors=True)
    with pytest.raises(ember.linalg.LinAlgError, match="leading minor of order 2"):
        ember.linalg.cholesky_ex(_not_positive_definite(ember), check_errors=True)
    # torch.lu reports in info and never raises for a singular matrix.
    LU, pivots, info = _quietly(ember.lu, _zero_column(ember), get_infos=True)
    assert int(info) == 2


def _finite_parts_match(actual, expected):
    actual, expected = actual.numpy(), expected.numpy()
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(np.isfinite(actual), finite)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-12, atol=1e-12)


def test_inv_ex_and_solve_ex_return_info_and_lapacks_values_for_a_singular_matrix():
    expected, actual = _both(lambda lib: lib.linalg.inv_ex(_zero_column(lib, True)))
    _finite_parts_match(actual.inverse, expected.inverse)
    _equal(actual.info, expected.info)
    for left in (True, False):
        expected, actual = _both(lambda lib: lib.linalg.solve_ex(
            _zero_column(lib, True), lib.ones(2, 3, 3, dtype=lib.float64), left=left))
        _finite_parts_match(actual.result, expected.result)
        _equal(actual.info, expected.info)
    # info takes A's batch shape, not B's.
    expected, actual = _both(lambda lib: lib.linalg.solve_ex(
        _zero_column(lib), lib.ones(4, 3, 2, dtype=lib.float64)))
    _equal(actual.info, expected.info)


def test_cholesky_ex_leaves_a_failed_factor_as_lapack_does():
    def matrices(lib):
        return lib.stack([_not_positive_definite(lib),
                          lib.tensor([[4.0, 2, 1], [2, 5, 0], [1, 0, -3]], dtype=lib.float64),
                          -lib.eye(3, dtype=lib.float64), _spd(lib, lib.eye(3, dtype=lib.float64))])

    for upper in (False, True):
        expected, actual = _both(lambda lib: lib.linalg.cholesky_ex(matrices(lib), upper=upper))
        _equal(actual.L, expected.L)
        assert actual.info.tolist() == expected.info.tolist() == [2, 3, 1, 0]


def test_cond_of_a_singular_matrix_is_infinite():
    for p in ("fro", 1, -1, math.inf, -math.inf, "nuc"):
        expected, actual = _both(lambda lib: lib.linalg.cond(
            lib.tensor([[[1.0, 0.0], [0.0, 0.0]], [[2.0, 1.0], [1.0, 2.0]]], dtype=lib.float64), p))
        _equal(actual, expected)
        assert math.isinf(float(actual[0]))


def test_empty_matrices_match_torch():
    functions = [
        lambda lib: lib.linalg.lu_factor_ex(lib.zeros(2, 0, 3, dtype=lib.float64)),
        lambda lib: lib.linalg.lu(lib.zeros(0, 3, 3, dtype=lib.float64)),
        lambda lib: lib.linalg.inv_ex(lib.zeros(2, 0, 0, dtype=lib.float64)),
        lambda lib: lib.linalg.cond(lib.zeros(0, 0, dtype=lib.float64)),
        lambda lib: lib.linalg.cond(lib.zeros(3, 0, dtype=lib.float64)),
        lambda lib: lib.linalg.cond(lib.zeros(0, 3, 3, dtype=lib.float64), "fro"),
        lambda lib: lib.linalg.householder_product(lib.zeros(4, 3, dtype=lib.float64),
                                                   lib.zeros(0, dtype=lib.float64)),
        lambda lib: lib.geqrf(lib.zeros(2, 3, 0, dtype=lib.float64)),
        lambda lib: lib.linalg.ldl_factor_ex(lib.zeros(2, 0, 0, dtype=lib.float64)),
        lambda lib: lib.linalg.vander(lib.zeros(0, dtype=lib.float64), N=3),
    ]
    for function in functions:
        expected, actual = _both(function)
        expected = expected if isinstance(expected, tuple) else (expected,)
        actual = actual if isinstance(actual, tuple) else (actual,)
        for a, e in zip(actual, expected):
            _equal(a, e)


# ---------------------------------------------------------------- pivots and LDL over seeds


def test_lu_pivots_equal_torchs_over_many_shapes():
    rng = np.random.default_rng(7)
    for rows, columns in [(1, 1), (2, 2), (6, 6), (7, 3), (3, 7), (9, 9)]:
        a = rng.standard_normal((3, rows, columns))
        expected = torch.linalg.lu_factor_ex(torch.tensor(a))
        actual = ember.linalg.lu_factor_ex(ember.tensor(a))
        np.testing.assert_array_equal(actual.pivots.numpy(), expected.pivots.numpy())
        np.testing.assert_allclose(actual.LU.numpy(), expected.LU.numpy(), atol=1e-12)
        P, L, U = ember.linalg.lu(ember.tensor(a))
        np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)


def test_ldl_matches_torch_over_seeds_with_both_block_sizes():
    rng = np.random.default_rng(11)
    two_by_two = 0
    for trial in range(24):
        size = int(rng.integers(1, 8))
        a = rng.standard_normal((2, size, size))
        a = a + np.swapaxes(a, -1, -2)
        if trial % 2:
            a[..., range(size), range(size)] *= 0.01
        expected = torch.linalg.ldl_factor_ex(torch.tensor(a))
        actual = ember.linalg.ldl_factor_ex(ember.tensor(a))
        np.testing.assert_array_equal(actual.pivots.numpy(), expected.pivots.numpy())
        np.testing.assert_array_equal(actual.info.numpy(), expected.info.numpy())
        np.testing.assert_allclose(actual.LD.numpy(), expected.LD.numpy(), atol=1e-10)
        two_by_two += int((expected.pivots < 0).sum())
        b = rng.standard_normal((2, size, 3))
        solution = ember.linalg.ldl_solve(actual.LD, actual.pivots, ember.tensor(b)).numpy()
        np.testing.assert_allclose(a @ solution, b, atol=1e-8)
    assert two_by_two > 0  # the 2x2 blocks were exercised


def test_ldl_reads_only_the_lower_triangle():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    expected = torch.linalg.ldl_factor(torch.tensor(a))
    actual = ember.linalg.ldl_factor(ember.tensor(a))
    np.testing.assert_array_equal(actual.pivots.numpy(), expected.pivots.numpy())
    np.testing.assert_allclose(actual.LD.numpy(), expected.LD.numpy(), atol=1e-12)


# ---------------------------------------------------------------- gradients beyond PyTorch's


@pytest.mark.parametrize("p", ["fro", 1, -1, math.inf, -math.inf])
def test_cond_is_differentiable_for_the_norms_of_the_inverse(p):
    rng = np.random.default_rng(5)
    a = ember.tensor(rng.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3), requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: ember.linalg.cond(x, p), (a,), eps=1e-6,
                                    atol=1e-5, rtol=1e-3)


def test_lu_backward_of_a_random_cotangent_matches_its_derivation():
    # dA = P (dL U + L dU): pulling a random (gL, gU) back must agree with the directional
    # derivative along a random dA, computed by finite differences of lu itself.
    rng = np.random.default_rng(9)
    a = rng.standard_normal((4, 3))
    direction = rng.standard_normal((4, 3))
    grad_L, grad_U = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    x = ember.tensor(a, requires_grad=True)
    _, L, U = ember.linalg.lu(x)
    (grad,) = ember.autograd.grad([L, U], [x], [ember.tensor(grad_L), ember.tensor(grad_U)])
    step = 1e-6
    _, L1, U1 = ember.linalg.lu(ember.tensor(a + step * direction))
    _, L0, U0 = ember.linalg.lu(ember.tensor(a - step * direction))
    numeric = (((L1 - L0).numpy() * grad_L).sum() + ((U1 - U0).numpy() * grad_U).sum()) / (2 * step)
    assert abs((grad.numpy() * direction).sum() - numeric) < 1e-6


# ---------------------------------------------------------------- API


def test_deprecated_spellings_warn_as_torch_does():
    a = ember.tensor(np.eye(3) * 2.0)
    for call in (lambda: ember.lu(a), lambda: a.lu(),
                 lambda: ember.lu_solve(ember.ones(3, 1, dtype=ember.float64), *ember.lu(a))):
        with pytest.warns(UserWarning, match="deprecated in favor of torch.linalg"):
            call()
    assert type(_quietly(ember.lu, a)) is tuple
    assert _quietly(ember.lu, a, get_infos=True)._fields == ("LU", "pivots", "info")


def test_named_results_have_torchs_fields():
    a = ember.eye(3, dtype=ember.float64) * 2
    assert ember.linalg.lu_factor(a)._fields == ("LU", "pivots")
    assert ember.linalg.lu_factor_ex(a)._fields == ("LU", "pivots", "info")
    assert ember.linalg.lu(a)._fields == ("P", "L", "U")
    assert ember.lu_unpack(*ember.linalg.lu_factor(a))._fields == ("P", "L", "U")
    assert ember.linalg.inv_ex(a)._fields == ("inverse", "info")
    assert ember.linalg.solve_ex(a, a)._fields == ("result", "info")
    assert ember.linalg.cholesky_ex(a)._fields == ("L", "info")
    assert ember.linalg.ldl_factor(a)._fields == ("LD", "pivots")
    assert ember.linalg.ldl_factor_ex(a)._fields == ("LD", "pivots", "info")
    assert ember.geqrf(a)._fields == ("a", "tau")


def test_nodes_carry_torchs_names():
    x = ember.eye(3, dtype=ember.float64).requires_grad_() * 2
    assert ember.linalg.lu_factor(x)[0].grad_fn.name() == "LinalgLuFactorExBackward0"
    assert ember.linalg.lu(x)[1].grad_fn.name() == "LinalgLuBackward0"
    assert ember.lu_unpack(*ember.linalg.lu_factor(x))[1].grad_fn.name() == "LuUnpackBackward0"
    assert ember.linalg.inv_ex(x)[0].grad_fn.name() == "LinalgInvExBackward0"
    assert ember.linalg.solve_ex(x, x)[0].grad_fn.name() == "LinalgSolveExBackward0"
    assert ember.linalg.cholesky_ex(x)[0].grad_fn.name() == "LinalgCholeskyExBackward0"
    assert not ember.linalg.lu(x).P.requires_grad


def test_out_writes_the_results():
    a = np.array([[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]])
    results = {}
    for lib in (torch, ember):
        LU, pivots = lib.empty(0, dtype=lib.float64), lib.empty(0, dtype=lib.int32)
        returned = lib.linalg.lu_factor(lib.tensor(a), out=(LU, pivots))
        assert returned[0] is LU and returned[1] is pivots
        P, L, U = (lib.empty(0, dtype=lib.float64) for _ in range(3))
        lib.lu_unpack(LU, pivots, out=(P, L, U))
        X = lib.empty(0, dtype=lib.float64)
        lib.linalg.lu_solve(LU, pivots, lib.ones(3, 2, dtype=lib.float64), out=X)
        results[lib.__name__] = [t.numpy() for t in (LU, pivots, P, L, U, X)]
    for a_, e in zip(results["ember"], results["torch"]):
        np.testing.assert_allclose(a_, e, atol=1e-12)


@pytest.mark.parametrize("name", ["householder_product", "cond", "inv_ex", "cholesky_ex",
                                  "tensorinv", "orgqr", "geqrf", "lu"])
def test_autocast_runs_pytorchs_float32_list_in_float32(name):
    calls = {
        "householder_product": lambda lib, a: lib.linalg.householder_product(a, a[:, 0]),
        "cond": lambda lib, a: lib.linalg.cond(a),
        "inv_ex": lambda lib, a: lib.linalg.inv_ex(a)[0],
        "cholesky_ex": lambda lib, a: lib.linalg.cholesky_ex(a)[0],
        "tensorinv": lambda lib, a: lib.linalg.tensorinv(a, ind=1),
        "orgqr": lambda lib, a: lib.orgqr(a, a[:, 0]),
        "geqrf": lambda lib, a: lib.geqrf(a)[0],
        "lu": lambda lib, a: _quietly(lib.lu, a)[0],
    }
    data = np.eye(3) * 2 + 0.25
    for lib in (torch, ember):
        a = lib.tensor(data, dtype=lib.bfloat16)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            assert str(calls[name](lib, a).dtype).endswith("float32"), (lib.__name__, name)
