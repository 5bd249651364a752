"""Cases for matrix products: matmul over every rank pairing, einsum, tensordot, cdist ..."""

import numpy as np

import ember.linalg  # noqa: F401  (binds ember.linalg until ember/__init__ imports it)
from tests.oracle import Case, ErrorCase


def _coincident(rng):
    x1 = rng.uniform(-2, 2, (3, 2))
    x2 = rng.uniform(-2, 2, (4, 2))
    x2[1] = x1[0]
    return [x1, x2]


def _with_nan(rng):
    input = rng.uniform(-2, 2, (2, 3))
    input[0, 1] = np.nan
    return [input, rng.uniform(-2, 2, (2, 4)), rng.uniform(-2, 2, (4, 3))]


CASES = [
    # matmul over rank pairings
    Case("matmul_1d_1d", lambda lib, a, b: lib.matmul(a, b), [(4,), (4,)]),
    Case("matmul_2d_1d", lambda lib, a, b: lib.matmul(a, b), [(3, 4), (4,)]),
    Case("matmul_1d_2d", lambda lib, a, b: lib.matmul(a, b), [(3,), (3, 4)]),
    Case("matmul_2d_2d", lambda lib, a, b: a @ b, [(2, 3), (3, 4)]),
    Case("matmul_3d_2d", lambda lib, a, b: a @ b, [(2, 2, 3), (3, 4)]),
    # one product over the rows of the first: contiguous, of 4 dims, strided (not folded)
    Case("matmul_4d_2d", lambda lib, a, b: a @ b, [(2, 3, 2, 3), (3, 4)]),
    Case("matmul_3d_2d_strided", lambda lib, a, b: a.transpose(0, 1) @ b, [(2, 3, 4), (4, 5)]),
    Case("matmul_3d_2d_of_a_view", lambda lib, a, b: a @ b.t(), [(2, 3, 4), (5, 4)]),
    Case("matmul_2d_3d", lambda lib, a, b: a @ b, [(2, 3), (2, 3, 2)]),
    Case("matmul_1d_3d", lambda lib, a, b: lib.matmul(a, b), [(3,), (2, 3, 2)]),
    Case("matmul_3d_1d", lambda lib, a, b: lib.matmul(a, b), [(2, 3, 4), (4,)]),
    Case("matmul_3d_3d", lambda lib, a, b: lib.matmul(a, b), [(2, 2, 3), (2, 3, 2)]),
    Case("matmul_batch_broadcast", lambda lib, a, b: lib.matmul(a, b), [(2, 1, 2, 3), (3, 3, 2)]),
    Case("matmul_empty_inner", lambda lib, a, b: lib.matmul(a, b), [(2, 0), (0, 3)], grad=False),
    Case("matmul_empty_batch", lambda lib, a, b: lib.matmul(a, b), [(0, 2, 3), (3, 2)], grad=False),
    Case(
        "matmul_int",
        lambda lib, a, b: lib.matmul(a, b),
        grad=False,
        float32=False,
        inputs=lambda rng: [rng.integers(-5, 5, (2, 3)), rng.integers(-5, 5, (3,))],
    ),
    Case("matmul_method", lambda lib, a, b: a.matmul(b), [(2, 3), (3,)]),
    Case("mm", lambda lib, a, b: lib.mm(a, b), [(3, 2), (2, 4)]),
    Case("mm_method", lambda lib, a, b: a.mm(b), [(1, 3), (3, 1)]),
    Case("bmm", lambda lib, a, b: lib.bmm(a, b), [(2, 2, 3), (2, 3, 2)]),
    Case("mv", lambda lib, a, b: lib.mv(a, b), [(3, 4), (4,)]),
    Case("dot", lambda lib, a, b: lib.dot(a, b), [(5,), (5,)]),
    Case("dot_method", lambda lib, a, b: a.dot(b), [(3,), (3,)]),
    Case("vdot", lambda lib, a, b: lib.vdot(a, b), [(4,), (4,)]),
    Case("outer", lambda lib, a, b: lib.outer(a, b), [(3,), (4,)]),
    Case("ger", lambda lib, a, b: lib.ger(a, b), [(2,), (3,)]),
    Case("inner_1d", lambda lib, a, b: lib.inner(a, b), [(4,), (4,)]),
    Case("inner_nd", lambda lib, a, b: lib.inner(a, b), [(2, 3), (2, 2, 3)]),
    Case("inner_0d", lambda lib, a, b: lib.inner(a, b), [(), (2, 3)]),
    # add-and-multiply forms
    Case("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), [(2, 4), (2, 3), (3, 4)]),
    Case(
        "addmm_broadcast_scaled",
        lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0),
        [(4,), (2, 3), (3, 4)],
    ),
    Case("addmm_beta0", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0), [(2, 3), (2, 4), (4, 3)]),
    Case(
        "addmm_beta0_nan_ignored",
        lambda lib, c, a, b: lib.addmm(c, a, b, beta=0),
        inputs=_with_nan,
        grad=False,
    ),
    Case("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, alpha=-1.5), [(3,), (3, 4), (4,)]),
    Case(
        "addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, beta=2), [(2, 2), (3, 2, 3), (3, 3, 2)]
    ),
    Case("baddbmm", lambda lib, c, a, b: lib.baddbmm(c, a, b), [(1, 2), (2, 2, 3), (2, 3, 2)]),
    Case("addr", lambda lib, c, a, b: lib.addr(c, a, b, beta=3), [(3, 2), (3,), (2,)]),
    # einsum
    Case("einsum_matmul", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    Case("einsum_implicit", lambda lib, a, b: lib.einsum("ij,jk", a, b), [(2, 3), (3, 4)]),
    Case(
        "einsum_list_operands",
        lambda lib, a, b: lib.einsum("bij,bjk->bik", [a, b]),
        [(2, 2, 3), (2, 3, 2)],
    ),
    Case(
        "einsum_ellipsis_broadcast",
        lambda lib, a, b: lib.einsum("...ij,...jk", a, b),
        [(2, 1, 2, 3), (3, 3, 2)],
    ),
    Case(
        "einsum_size1_broadcast", lambda lib, a, b: lib.einsum("ij,ij->i", a, b), [(3, 4), (1, 4)]
    ),
    Case("einsum_sum_only_here", lambda lib, a, b: lib.einsum("ij,i->i", a, b), [(3, 4), (3,)]),
    Case("einsum_reduce_all", lambda lib, a: lib.einsum("ij->", a), [(3, 4)]),
    Case("einsum_transpose", lambda lib, a: lib.einsum("ijk->kji", a), [(2, 3, 4)]),
    Case("einsum_outer", lambda lib, a, b: lib.einsum("i,j->ij", a, b), [(3,), (4,)]),
    Case("einsum_diagonal", lambda lib, a: lib.einsum("ii->i", a), [(3, 3)]),
    Case("einsum_trace", lambda lib, a: lib.einsum("ii", a), [(4, 4)]),
    Case(
        "einsum_batch_diagonal",
        lambda lib, a, b: lib.einsum("bii,bj->bij", a, b),
        [(2, 3, 3), (2, 2)],
    ),
    Case(
        "einsum_bilinear",
        lambda lib, a, w, b: lib.einsum("bn,anm,bm->ba", a, w, b),
        [(2, 3), (2, 3, 2), (2, 2)],
    ),
    Case(
        "einsum_sublist",
        lambda lib, a, b: lib.einsum(a, [0, 1], b, [1, 2], [0, 2]),
        [(2, 3), (3, 2)],
    ),
    Case("einsum_uppercase", lambda lib, a, b: lib.einsum("Ab,bC->AC", a, b), [(2, 3), (3, 2)]),
    # tensordot, kron, cross, cdist
    Case("tensordot_int", lambda lib, a, b: lib.tensordot(a, b), [(2, 3, 4), (3, 4, 2)]),
    Case(
        "tensordot_lists",
        lambda lib, a, b: lib.tensordot(a, b, dims=([0, 2], [2, 0])),
        [(2, 3, 4), (4, 3, 2)],
    ),
    Case("tensordot_zero", lambda lib, a, b: lib.tensordot(a, b, dims=0), [(2, 3), (3,)]),
    Case("kron_1d", lambda lib, a, b: lib.kron(a, b), [(2,), (3,)]),
    Case("kron_2d", lambda lib, a, b: lib.kron(a, b), [(2, 3), (2, 2)]),
    Case("kron_mixed_rank", lambda lib, a, b: lib.kron(a, b), [(2,), (2, 3)]),
    Case("cross_dim", lambda lib, a, b: lib.cross(a, b, dim=0), [(3, 2), (3, 2)]),
    Case("cross_method", lambda lib, a, b: a.cross(b, dim=-1), [(2, 3), (2, 3)]),
    Case("cross_default_dim", lambda lib, a, b: lib.cross(a, b), [(2, 3), (2, 3)]),
    Case(
        "linalg_cross_broadcast", lambda lib, a, b: lib.linalg.cross(a, b), [(2, 1, 3), (1, 4, 3)]
    ),
    Case("cdist_p2", lambda lib, a, b: lib.cdist(a, b), [(3, 2), (4, 2)]),
    Case("cdist_p1", lambda lib, a, b: lib.cdist(a, b, p=1), [(3, 2), (4, 2)]),
    Case("cdist_pinf", lambda lib, a, b: lib.cdist(a, b, p=float("inf")), [(3, 2), (4, 2)]),
    Case("cdist_p3", lambda lib, a, b: lib.cdist(a, b, p=3), [(3, 2), (2, 2)]),
    Case("cdist_batch_broadcast", lambda lib, a, b: lib.cdist(a, b), [(2, 1, 3, 2), (3, 2, 2)]),
    Case(
        "cdist_coincident_p2", lambda lib, a, b: lib.cdist(a, b), inputs=_coincident, gradgrad=False
    ),
    Case("chain_matmul", lambda lib, a, b, c: lib.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)]),
    Case(
        "multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), [(2, 3), (3, 4), (4, 2)]
    ),
    Case(
        "multi_dot_vector_ends",
        lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]),
        [(3,), (3, 4), (4,)],
    ),
    Case("multi_dot_first_vector", lambda lib, a, b: lib.linalg.multi_dot([a, b]), [(3,), (3, 4)]),
    Case("linalg_matmul", lambda lib, a, b: lib.linalg.matmul(a, b), [(2, 3), (3,)]),
]

ERRORS = [
    ErrorCase("matmul_0d", lambda lib: lib.matmul(lib.ones(()), lib.ones(2, 2))),
    ErrorCase("matmul_shape_mismatch", lambda lib: lib.ones(2, 3) @ lib.ones(4, 5)),
    ErrorCase("matmul_batch_mismatch", lambda lib: lib.ones(2, 3, 4) @ lib.ones(5, 4, 2)),
    ErrorCase("matmul_1d_size", lambda lib: lib.matmul(lib.ones(3), lib.ones(4))),
    ErrorCase(
        "matmul_dtype_mismatch", lambda lib: lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64)
    ),
    ErrorCase(
        "mm_bool",
        lambda lib: lib.mm(lib.ones(2, 2, dtype=lib.bool), lib.ones(2, 2, dtype=lib.bool)),
    ),
    ErrorCase("mm_not_matrix", lambda lib: lib.mm(lib.ones(3), lib.ones(3, 4))),
    ErrorCase("bmm_batch_mismatch", lambda lib: lib.bmm(lib.ones(2, 2, 3), lib.ones(3, 3, 4))),
    ErrorCase("bmm_not_3d", lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(2, 3, 4))),
    ErrorCase("mv_size", lambda lib: lib.mv(lib.ones(2, 3), lib.ones(4))),
    ErrorCase("dot_size", lambda lib: lib.dot(lib.ones(2), lib.ones(3))),
    ErrorCase("dot_2d", lambda lib: lib.dot(lib.ones(2, 2), lib.ones(2, 2))),
    ErrorCase("dot_dtype", lambda lib: lib.dot(lib.ones(2), lib.ones(2, dtype=lib.float64))),
    ErrorCase("outer_2d", lambda lib: lib.outer(lib.ones(2, 2), lib.ones(3))),
    ErrorCase("inner_mismatch", lambda lib: lib.inner(lib.ones(2, 3), lib.ones(4, 2))),
    ErrorCase(
        "addmm_bad_input", lambda lib: lib.addmm(lib.ones(4), lib.ones(2, 3), lib.ones(3, 3))
    ),
    ErrorCase("einsum_too_few", lambda lib: lib.einsum("ij,jk->ik", lib.ones(2, 3))),
    ErrorCase("einsum_rank", lambda lib: lib.einsum("ijk->ik", lib.ones(2, 3))),
    ErrorCase("einsum_size", lambda lib: lib.einsum("ij,jk", lib.ones(2, 3), lib.ones(4, 3))),
    ErrorCase("einsum_bad_output", lambda lib: lib.einsum("ij->k", lib.ones(2, 3))),
    ErrorCase(
        "tensordot_mismatch",
        lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(4, 3), dims=([1], [0])),
    ),
    ErrorCase(
        "tensordot_negative", lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(3), dims=-1)
    ),
    ErrorCase("cross_no_size_3", lambda lib: lib.cross(lib.ones(2, 4), lib.ones(2, 4))),
    ErrorCase("linalg_cross_size", lambda lib: lib.linalg.cross(lib.ones(3, 2), lib.ones(3, 2))),
    ErrorCase("linalg_cross_ndim", lambda lib: lib.linalg.cross(lib.ones(2, 3), lib.ones(3))),
    ErrorCase("cdist_1d", lambda lib: lib.cdist(lib.ones(3), lib.ones(4, 2))),
    ErrorCase("cdist_columns", lambda lib: lib.cdist(lib.ones(3, 2), lib.ones(4, 3))),
    ErrorCase("cdist_negative_p", lambda lib: lib.cdist(lib.ones(3, 2), lib.ones(4, 2), p=-1)),
    ErrorCase("multi_dot_one", lambda lib: lib.linalg.multi_dot([lib.ones(3)])),
    ErrorCase(
        "multi_dot_mismatch", lambda lib: lib.linalg.multi_dot([lib.ones(2, 3), lib.ones(4, 2)])
    ),
]
