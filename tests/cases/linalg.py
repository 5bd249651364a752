"""Cases for ember.linalg and the torch.* linear algebra functions.

Decompositions are compared through quantities their non-uniqueness leaves alone:
singular/eigen vectors only up to sign (``U * U``, ``U * S @ Vh``). Cholesky and eigh
symmetrize inside the case (``a @ a.mT + 3 I``, ``a + a.mT``) so that the finite
differences of gradcheck move the matrix along symmetric directions, as PyTorch's
own gradient tests do.
"""

import numpy as np

import ember.linalg  # noqa: F401  (binds ember.linalg until ember/__init__ imports it)
from tests.oracle import Case, ErrorCase


def _conditioned(*shapes):
    """A square ``random + 3 I`` (well conditioned), then plain random arrays."""

    def make(rng):
        arrays = []
        for position, shape in enumerate(shapes):
            array = rng.uniform(-1, 1, shape)
            arrays.append(array + 3 * np.eye(shape[-1]) if position == 0 else array)
        return arrays

    return make


def _spd(lib, a):
    return a @ a.mT + 3 * lib.eye(a.shape[-1], dtype=a.dtype)


def _sym(a):
    return a + a.mT


def _row(values):
    """``values[..., None, :]`` without indexing: the row that scales columns."""
    return values.reshape(tuple(values.shape[:-1]) + (1, values.shape[-1]))


def _svd_parts(lib, a, full_matrices=False):
    U, S, Vh = lib.linalg.svd(a, full_matrices=full_matrices)
    if full_matrices:
        # Columns past min(m, n) are not determined by A; PyTorch's gradient ignores them.
        rows, columns, k = U.shape[-1], Vh.shape[-1], S.shape[-1]
        U, Vh = U @ lib.eye(rows, k, dtype=a.dtype), lib.eye(k, columns, dtype=a.dtype) @ Vh
    return U * U, S, Vh * Vh, (U * _row(S)) @ Vh


def _torch_svd_parts(lib, a, **options):
    U, S, V = lib.svd(a, **options)
    k = S.shape[-1]
    U, V = U @ lib.eye(U.shape[-1], k, dtype=a.dtype), V @ lib.eye(V.shape[-1], k, dtype=a.dtype)
    return U * U, S, V * V


def _eigh_parts(lib, a, UPLO="L"):
    values, vectors = lib.linalg.eigh(_sym(a), UPLO=UPLO)
    return values, vectors * vectors


def _eigh_reconstruct(lib, a):
    values, vectors = lib.linalg.eigh(_sym(a))
    return (vectors * _row(values)) @ vectors.mT


def _rank_deficient(rng):
    u, v = rng.uniform(-1, 1, (4, 1)), rng.uniform(-1, 1, (1, 3))
    return [u @ v + rng.uniform(-1, 1, (4, 1)) @ rng.uniform(-1, 1, (1, 3))]


def _zero_row(rng):
    x = rng.uniform(-2, 2, (3, 4))
    x[1] = 0
    return [x]


def _negative_det(rng):
    a = rng.uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
    a[0, 0] *= -1
    return [a]


def _linalg_error(call):
    """Both libraries must raise their LinAlgError (a RuntimeError subclass) for ``call``."""

    class LinAlgRaised(Exception):
        pass

    def check(lib):
        try:
            call(lib)
        except lib.linalg.LinAlgError as error:
            assert isinstance(error, RuntimeError)
            raise LinAlgRaised(str(error)) from None

    check.raised = LinAlgRaised
    return check


_INF = float("inf")

CASES = [
    # vector norms
    Case("vector_norm_default", lambda lib, a: lib.linalg.vector_norm(a), [(3, 4)]),
    Case("vector_norm_0d", lambda lib, a: lib.linalg.vector_norm(a), [()]),
    Case("vector_norm_l1_dim", lambda lib, a: lib.linalg.vector_norm(a, 1, dim=-1), [(3, 4)]),
    Case("vector_norm_inf", lambda lib, a: lib.linalg.vector_norm(a, _INF, dim=0), [(3, 4)]),
    Case(
        "vector_norm_neg_inf",
        lambda lib, a: lib.linalg.vector_norm(a, -_INF, dim=(0, 2)),
        [(2, 3, 2)],
    ),
    Case("vector_norm_zero_ord", lambda lib, a: lib.linalg.vector_norm(a, 0, dim=1), [(3, 4)]),
    Case(
        "vector_norm_p3_keepdim",
        lambda lib, a: lib.linalg.vector_norm(a, 3, dim=1, keepdim=True),
        [(3, 4)],
    ),
    Case(
        "vector_norm_p_half",
        lambda lib, a: lib.linalg.vector_norm(a, 0.5, dim=-1),
        [(2, 4)],
        domain=(0.5, 2.0),
    ),
    Case(
        "vector_norm_p1_5",
        lambda lib, a: lib.linalg.vector_norm(a, 1.5),
        [(2, 3)],
        domain=(0.5, 2.0),
    ),
    Case(
        "vector_norm_neg_p",
        lambda lib, a: lib.linalg.vector_norm(a, -2, dim=1),
        [(2, 3)],
        domain=(0.5, 2.0),
    ),
    Case(
        "vector_norm_dim_list", lambda lib, a: lib.linalg.vector_norm(a, dim=[-1, 0]), [(2, 3, 2)]
    ),
    Case(
        "vector_norm_dtype",
        lambda lib, a: lib.linalg.vector_norm(a.float(), dtype=lib.float64),
        [(4,)],
        atol=1e-6,
        rtol=1e-6,
        grad=False,
    ),
    Case(
        "vector_norm_zero_row",
        lambda lib, a: lib.linalg.vector_norm(a, dim=1),
        inputs=_zero_row,
        gradgrad=False,
    ),
    # matrix norms
    Case("matrix_norm_fro", lambda lib, a: lib.linalg.matrix_norm(a), [(2, 3, 4)]),
    Case("matrix_norm_nuc", lambda lib, a: lib.linalg.matrix_norm(a, "nuc"), [(2, 3, 4)]),
    Case("matrix_norm_2", lambda lib, a: lib.linalg.matrix_norm(a, 2), [(3, 4)]),
    Case(
        "matrix_norm_neg2", lambda lib, a: lib.linalg.matrix_norm(a, -2, keepdim=True), [(2, 3, 3)]
    ),
    Case("matrix_norm_1", lambda lib, a: lib.linalg.matrix_norm(a, 1), [(2, 3, 4)]),
    Case("matrix_norm_neg1", lambda lib, a: lib.linalg.matrix_norm(a, -1), [(3, 4)]),
    Case(
        "matrix_norm_inf", lambda lib, a: lib.linalg.matrix_norm(a, _INF, keepdim=True), [(2, 3, 4)]
    ),
    Case("matrix_norm_neg_inf", lambda lib, a: lib.linalg.matrix_norm(a, -_INF), [(3, 4)]),
    Case(
        "matrix_norm_dims", lambda lib, a: lib.linalg.matrix_norm(a, "nuc", dim=(0, 2)), [(3, 2, 4)]
    ),
    Case(
        "matrix_norm_dims_keepdim",
        lambda lib, a: lib.linalg.matrix_norm(a, 1, dim=(2, 0), keepdim=True),
        [(3, 2, 4)],
    ),
    Case("linalg_norm_flat", lambda lib, a: lib.linalg.norm(a), [(2, 3, 2)]),
    Case("linalg_norm_vector_ord", lambda lib, a: lib.linalg.norm(a, 3), [(5,)]),
    Case("linalg_norm_matrix_ord", lambda lib, a: lib.linalg.norm(a, "nuc"), [(3, 4)]),
    Case("linalg_norm_dim_int", lambda lib, a: lib.linalg.norm(a, dim=1), [(3, 4)]),
    Case("linalg_norm_dim_pair", lambda lib, a: lib.linalg.norm(a, _INF, dim=(0, 1)), [(3, 4)]),
    Case("torch_norm_default", lambda lib, a: lib.norm(a), [(3, 4)]),
    Case("torch_norm_p1_dim", lambda lib, a: lib.norm(a, p=1, dim=0, keepdim=True), [(3, 4)]),
    Case("torch_norm_p3_dims", lambda lib, a: lib.norm(a, p=3, dim=(0, 1)), [(3, 2, 2)]),
    Case("torch_norm_fro_dim", lambda lib, a: lib.norm(a, "fro", dim=(1, 2)), [(2, 3, 2)]),
    Case("torch_norm_nuc", lambda lib, a: lib.norm(a, "nuc"), [(3, 4)]),
    Case("tensor_norm_method", lambda lib, a: a.norm(2, -1), [(3, 4)]),
    Case("vecdot", lambda lib, a, b: lib.linalg.vecdot(a, b), [(2, 3), (3,)]),
    # inverse, determinant, solve
    Case("inv", lambda lib, a: lib.linalg.inv(a), inputs=_conditioned((3, 3))),
    Case("inv_batched", lambda lib, a: lib.linalg.inv(a), inputs=_conditioned((2, 3, 3))),
    Case("inverse", lambda lib, a: lib.inverse(a), inputs=_conditioned((2, 2))),
    Case("inverse_method", lambda lib, a: a.inverse(), inputs=_conditioned((2, 2, 2))),
    Case("inv_empty", lambda lib, a: lib.linalg.inv(a), [(0, 0)], grad=False),
    Case("det", lambda lib, a: lib.linalg.det(a), inputs=_conditioned((3, 3))),
    Case("det_batched", lambda lib, a: lib.det(a), inputs=_conditioned((2, 2, 3, 3))),
    Case("det_method", lambda lib, a: a.det(), [(2, 2)]),
    Case("det_1x1", lambda lib, a: lib.linalg.det(a), [(3, 1, 1)]),
    Case("slogdet", lambda lib, a: lib.linalg.slogdet(a), inputs=_negative_det),
    Case("slogdet_torch", lambda lib, a: lib.slogdet(a), inputs=_conditioned((3, 3))),
    Case("slogdet_method_fields", lambda lib, a: a.slogdet().logabsdet, inputs=_negative_det),
    Case("logdet", lambda lib, a: lib.logdet(a), inputs=_conditioned((2, 3, 3))),
    Case("logdet_negative_is_nan", lambda lib, a: lib.logdet(a), inputs=_negative_det, grad=False),
    Case("logdet_method", lambda lib, a: _spd(lib, a).logdet(), [(3, 3)]),
    Case(
        "solve_matrix",
        lambda lib, a, b: lib.linalg.solve(a, b),
        inputs=_conditioned((3, 3), (3, 2)),
    ),
    Case(
        "solve_vector", lambda lib, a, b: lib.linalg.solve(a, b), inputs=_conditioned((3, 3), (3,))
    ),
    Case(
        "solve_batched_vector",
        lambda lib, a, b: lib.linalg.solve(a, b),
        inputs=_conditioned((2, 3, 3), (2, 3)),
    ),
    Case(
        "solve_broadcast",
        lambda lib, a, b: lib.linalg.solve(a, b),
        inputs=_conditioned((2, 1, 2, 2), (3, 2, 2)),
    ),
    Case(
        "solve_vector_broadcast",
        lambda lib, a, b: lib.linalg.solve(a, b),
        inputs=_conditioned((2, 3, 3), (3,)),
    ),
    Case(
        "solve_right",
        lambda lib, a, b: lib.linalg.solve(a, b, left=False),
        inputs=_conditioned((3, 3), (2, 3)),
    ),
    Case(
        "solve_triangular_upper",
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=True),
        inputs=_conditioned((3, 3), (3, 2)),
    ),
    Case(
        "solve_triangular_lower_right",
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False),
        inputs=_conditioned((2, 3, 3), (2, 3)),
    ),
    Case(
        "solve_triangular_unit",
        lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
        inputs=_conditioned((3, 3), (3, 1)),
    ),
    # cholesky
    Case("cholesky", lambda lib, a: lib.linalg.cholesky(_spd(lib, a)), [(3, 3)]),
    Case("cholesky_upper", lambda lib, a: lib.linalg.cholesky(_spd(lib, a), upper=True), [(3, 3)]),
    Case("cholesky_batched", lambda lib, a: lib.linalg.cholesky(_spd(lib, a)), [(2, 3, 3)]),
    Case("cholesky_torch", lambda lib, a: lib.cholesky(_spd(lib, a)), [(2, 2)]),
    Case("cholesky_torch_upper", lambda lib, a: _spd(lib, a).cholesky(upper=True), [(2, 2, 2)]),
    # qr
    Case("qr_square", lambda lib, a: lib.linalg.qr(a), [(3, 3)]),
    Case("qr_tall", lambda lib, a: lib.linalg.qr(a), [(4, 3)]),
    Case("qr_wide", lambda lib, a: lib.linalg.qr(a), [(2, 4)]),
    Case("qr_batched", lambda lib, a: lib.linalg.qr(a), [(2, 3, 2)]),
    Case("qr_complete_square", lambda lib, a: lib.linalg.qr(a, mode="complete"), [(3, 3)]),
    Case("qr_complete_wide", lambda lib, a: lib.linalg.qr(a, mode="complete"), [(2, 3)]),
    Case(
        "qr_complete_tall", lambda lib, a: lib.linalg.qr(a, mode="complete"), [(4, 2)], grad=False
    ),
    Case("qr_r_only", lambda lib, a: lib.linalg.qr(a, mode="r"), [(4, 3)], grad=False),
    Case("qr_torch", lambda lib, a: lib.qr(a), [(4, 2)]),
    Case("qr_torch_complete", lambda lib, a: lib.qr(a, some=False), [(3, 3)]),
    # svd (vectors only up to sign)
    Case("svd_tall", lambda lib, a: _svd_parts(lib, a), [(3, 2)]),
    Case("svd_wide", lambda lib, a: _svd_parts(lib, a), [(2, 3)]),
    Case("svd_square_batched", lambda lib, a: _svd_parts(lib, a), [(2, 2, 2)]),
    Case("svd_full_matrices", lambda lib, a: _svd_parts(lib, a, True), [(3, 2)]),
    Case("svd_full_matrices_wide", lambda lib, a: _svd_parts(lib, a, True), [(2, 3)]),
    Case("svd_values_only_used", lambda lib, a: lib.linalg.svd(a)[1], [(3, 2)]),
    Case("svdvals", lambda lib, a: lib.linalg.svdvals(a), [(2, 3, 4)]),
    Case("svd_torch", lambda lib, a: _torch_svd_parts(lib, a), [(3, 2)]),
    Case("svd_torch_full", lambda lib, a: _torch_svd_parts(lib, a, some=False), [(3, 2)]),
    Case("svd_torch_no_uv", lambda lib, a: lib.svd(a, compute_uv=False), [(3, 2)]),
    # eigh
    Case("eigh", lambda lib, a: _eigh_parts(lib, a), [(3, 3)]),
    Case("eigh_upper_batched", lambda lib, a: _eigh_parts(lib, a, "U"), [(2, 3, 3)]),
    Case("eigh_reconstruct", lambda lib, a: _eigh_reconstruct(lib, a), [(3, 3)]),
    Case("eigh_values_only_used", lambda lib, a: lib.linalg.eigh(_sym(a)).eigenvalues, [(3, 3)]),
    Case("eigvalsh", lambda lib, a: lib.linalg.eigvalsh(_sym(a)), [(2, 3, 3)]),
    Case(
        "eigvalsh_upper",
        lambda lib, a: lib.linalg.eigvalsh(a, UPLO="U"),
        [(3, 3)],
        gradgrad=False,
        grad=False,
    ),
    # pseudo-inverse, powers, rank, lstsq, exp
    Case("pinv_tall", lambda lib, a: lib.linalg.pinv(a), [(4, 3)]),
    Case("pinv_wide_batched", lambda lib, a: lib.linalg.pinv(a), [(2, 2, 3)]),
    Case("pinv_hermitian", lambda lib, a: lib.linalg.pinv(_sym(a), hermitian=True), [(3, 3)]),
    Case(
        "pinv_rank_deficient", lambda lib, a: lib.linalg.pinv(a), inputs=_rank_deficient, grad=False
    ),
    Case("pinverse", lambda lib, a: lib.pinverse(a), [(3, 2)]),
    Case("pinverse_method", lambda lib, a: a.pinverse(), [(2, 3)]),
    Case("matrix_power_3", lambda lib, a: lib.linalg.matrix_power(a, 3), [(3, 3)]),
    Case(
        "matrix_power_batched_5",
        lambda lib, a: lib.matrix_power(a, 5),
        [(2, 2, 2)],
        domain=(-1.0, 1.0),
    ),
    Case("matrix_power_1", lambda lib, a: lib.matrix_power(a, 1), [(2, 2)]),
    Case("matrix_power_0", lambda lib, a: lib.linalg.matrix_power(a, 0), [(2, 3, 3)]),
    Case("matrix_power_negative", lambda lib, a: a.matrix_power(-2), inputs=_conditioned((3, 3))),
    Case(
        "matrix_power_int",
        lambda lib, a: lib.linalg.matrix_power(a, 3),
        grad=False,
        float32=False,
        inputs=lambda rng: [rng.integers(-3, 3, (2, 2))],
    ),
    Case("matrix_rank_full", lambda lib, a: lib.linalg.matrix_rank(a), [(2, 3, 4)], grad=False),
    Case(
        "matrix_rank_deficient",
        lambda lib, a: lib.linalg.matrix_rank(a),
        inputs=_rank_deficient,
        grad=False,
    ),
    Case(
        "matrix_rank_hermitian",
        lambda lib, a: lib.linalg.matrix_rank(a @ a.mT, hermitian=True),
        [(3, 1)],
        grad=False,
    ),
    Case(
        "matrix_rank_atol",
        lambda lib, a: lib.linalg.matrix_rank(a, atol=1.0, rtol=0.0),
        [(3, 3)],
        grad=False,
    ),
    Case("matrix_exp", lambda lib, a: lib.linalg.matrix_exp(a), [(2, 2)]),
    Case("matrix_exp_scaled", lambda lib, a: lib.matrix_exp(a * 3), [(2, 2)]),
    Case("lstsq_solution", lambda lib, a, b: lib.linalg.lstsq(a, b).solution, [(4, 2), (4, 1)]),
    Case(
        "lstsq_all_fields",
        lambda lib, a, b: tuple(lib.linalg.lstsq(a, b)),
        [(4, 3), (4, 2)],
        grad=False,
        float32=False,
    ),
    Case(
        "lstsq_gelsd",
        lambda lib, a, b: tuple(lib.linalg.lstsq(a, b, driver="gelsd")),
        [(4, 3), (4, 2)],
        grad=False,
        float32=False,
    ),
    Case(
        "lstsq_batched_vector",
        lambda lib, a, b: lib.linalg.lstsq(a, b).solution,
        [(2, 3, 2), (2, 3)],
    ),
]

ERRORS = [
    ErrorCase("inv_not_square", lambda lib: lib.linalg.inv(lib.ones(2, 3))),
    ErrorCase("inv_1d", lambda lib: lib.linalg.inv(lib.ones(3))),
    ErrorCase("inv_int", lambda lib: lib.linalg.inv(lib.ones(2, 2, dtype=lib.int64))),
    ErrorCase("inv_singular", _linalg_error(lambda lib: lib.linalg.inv(lib.zeros(2, 2)))),
    ErrorCase("inverse_singular_batch", _linalg_error(lambda lib: lib.inverse(lib.zeros(3, 2, 2)))),
    ErrorCase("cholesky_not_pd", _linalg_error(lambda lib: lib.linalg.cholesky(-lib.eye(2)))),
    ErrorCase("cholesky_torch_not_pd", _linalg_error(lambda lib: lib.cholesky(-lib.eye(3)))),
    ErrorCase("cholesky_not_square", lambda lib: lib.linalg.cholesky(lib.ones(2, 3))),
    ErrorCase("det_not_square", lambda lib: lib.linalg.det(lib.ones(2, 3))),
    ErrorCase("slogdet_1d", lambda lib: lib.linalg.slogdet(lib.ones(3))),
    ErrorCase("solve_incompatible", lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(3))),
    ErrorCase(
        "solve_dtype", lambda lib: lib.linalg.solve(lib.eye(2), lib.ones(2, dtype=lib.float64))
    ),
    ErrorCase(
        "solve_batch_mismatch", lambda lib: lib.linalg.solve(lib.ones(3, 2, 2), lib.ones(4, 2, 1))
    ),
    ErrorCase(
        "solve_singular", _linalg_error(lambda lib: lib.linalg.solve(lib.zeros(2, 2), lib.ones(2)))
    ),
    ErrorCase(
        "solve_triangular_vector",
        lambda lib: lib.linalg.solve_triangular(lib.eye(2), lib.ones(2), upper=True),
    ),
    ErrorCase("qr_bad_mode", lambda lib: lib.linalg.qr(lib.ones(2, 2), mode="x")),
    ErrorCase("qr_1d", lambda lib: lib.linalg.qr(lib.ones(2))),
    ErrorCase(
        "qr_r_backward",
        lambda lib: lib.linalg.qr(lib.ones(3, 2, requires_grad=True), mode="r")[1].sum().backward(),
    ),
    ErrorCase("svd_int", lambda lib: lib.linalg.svd(lib.ones(2, 2, dtype=lib.int64))),
    ErrorCase("svd_1d", lambda lib: lib.linalg.svd(lib.ones(2))),
    ErrorCase("eigh_bad_uplo", lambda lib: lib.linalg.eigh(lib.eye(2), UPLO="X")),
    ErrorCase("eigh_int", lambda lib: lib.linalg.eigh(lib.ones(2, 2, dtype=lib.int64))),
    ErrorCase("eigh_not_square", lambda lib: lib.linalg.eigvalsh(lib.ones(2, 3))),
    ErrorCase("vector_norm_int", lambda lib: lib.linalg.vector_norm(lib.ones(2, dtype=lib.int64))),
    ErrorCase("vector_norm_str_ord", lambda lib: lib.linalg.vector_norm(lib.ones(2), "fro")),
    ErrorCase(
        "vector_norm_inf_empty", lambda lib: lib.linalg.vector_norm(lib.ones(0, 2), float("inf"))
    ),
    ErrorCase("matrix_norm_1d", lambda lib: lib.linalg.matrix_norm(lib.ones(2))),
    ErrorCase("matrix_norm_bad_ord", lambda lib: lib.linalg.matrix_norm(lib.ones(2, 2), ord=3)),
    ErrorCase("matrix_norm_bad_dim", lambda lib: lib.linalg.matrix_norm(lib.ones(2, 2), dim=0)),
    ErrorCase("linalg_norm_3d_ord", lambda lib: lib.linalg.norm(lib.ones(2, 2, 2), ord=2)),
    ErrorCase("torch_norm_int", lambda lib: lib.norm(lib.ones(2, 2, dtype=lib.int64))),
    ErrorCase("pinv_1d", lambda lib: lib.linalg.pinv(lib.ones(2))),
    ErrorCase("matrix_rank_1d", lambda lib: lib.linalg.matrix_rank(lib.ones(2))),
    ErrorCase("matrix_power_not_square", lambda lib: lib.linalg.matrix_power(lib.ones(2, 3), 2)),
    ErrorCase(
        "matrix_power_singular_negative",
        _linalg_error(lambda lib: lib.linalg.matrix_power(lib.zeros(2, 2), -1)),
    ),
]
