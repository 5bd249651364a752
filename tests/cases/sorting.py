"""Cases for sorting and selection: sort, topk, order statistics, cummax, unique, counts.

Gradients are checked on inputs with distinct values (finite differences break ties);
inputs with ties or NaN check the forward only. Where PyTorch's choice among tied
elements is an accident of its selection algorithm (topk, kthvalue, median with a dim),
the tie cases compare values only.
"""

import numpy as np

from tests.oracle import Case, ErrorCase

NAN, INF = float("nan"), float("inf")


def _ties(shape, low=-2, high=3):
    return lambda rng: [rng.integers(low, high, shape).astype(np.float64)]


def _ints(shape, low=-3, high=4):
    return lambda rng: [rng.integers(low, high, shape)]


def _with_nan(shape, fraction=0.3):
    def make(rng):
        values = rng.uniform(-2, 2, shape)
        values[rng.uniform(size=shape) < fraction] = np.nan
        return [values]

    return make


def _fixed(*arrays):
    return lambda rng: [np.asarray(a) for a in arrays]


def _sorted_rows(shape):
    return lambda rng: [np.sort(rng.integers(-4, 5, shape).astype(np.float64), axis=-1)]


SORT = [
    Case("sort_default", lambda lib, a: lib.sort(a), [(3, 5)]),
    Case("sort_dim0_descending", lambda lib, a: lib.sort(a, 0, descending=True), [(4, 3)]),
    Case("sort_negative_dim", lambda lib, a: lib.sort(a, dim=-2), [(2, 3, 4)]),
    Case(
        "sort_stable_keyword",
        lambda lib, a: lib.sort(a, stable=True, dim=1, descending=True),
        [(3, 4)],
    ),
    Case("sort_method", lambda lib, a: a.sort(0, True), [(5, 2)]),
    Case("sort_0d", lambda lib, a: lib.sort(a), [()]),
    Case("sort_0d_dim0", lambda lib, a: lib.sort(a, 0, descending=True), [()]),
    Case("sort_empty", lambda lib, a: lib.sort(a, 1), [(0, 3)], grad=False),
    Case("sort_empty_dim", lambda lib, a: lib.sort(a, 0), [(0, 3)], grad=False),
    Case("sort_ties", lambda lib, a: lib.sort(a, 1), inputs=_ties((3, 8)), grad=False),
    Case(
        "sort_ties_descending",
        lambda lib, a: lib.sort(a, descending=True),
        inputs=_ties((3, 8)),
        grad=False,
    ),
    Case(
        "sort_ties_long",
        lambda lib, a: lib.sort(a, descending=True, stable=True),
        inputs=_ties((40,)),
        grad=False,
    ),
    Case("sort_nan", lambda lib, a: lib.sort(a), inputs=_with_nan((2, 8)), grad=False),
    Case(
        "sort_nan_descending",
        lambda lib, a: lib.sort(a, 0, True),
        inputs=_fixed([NAN, 1.0, INF, -INF, NAN, 0.0, -0.0, 1.0]),
        grad=False,
    ),
    Case("sort_int", lambda lib, a: lib.sort(a, descending=True), inputs=_ints((3, 6))),
    Case("sort_bool", lambda lib, a: lib.sort(a > 0), inputs=_ties((7,))),
    Case(
        "sort_bool_descending", lambda lib, a: lib.sort(a > 0, descending=True), inputs=_ties((7,))
    ),
    Case(
        "sort_uint8",
        lambda lib, a: lib.sort(a, descending=True),
        inputs=lambda rng: [rng.integers(0, 255, (9,)).astype(np.uint8)],
    ),
    Case("sort_then_math", lambda lib, a: (lib.sort(a, 0).values * a).sum(1), [(4, 3)]),
    Case("argsort", lambda lib, a: lib.argsort(a), [(3, 4)]),
    Case(
        "argsort_descending_dim0",
        lambda lib, a: lib.argsort(a, 0, descending=True),
        inputs=_ties((6, 2)),
        grad=False,
    ),
    Case(
        "argsort_stable",
        lambda lib, a: a.argsort(stable=True, dim=-1),
        inputs=_ties((2, 9)),
        grad=False,
    ),
    Case("argsort_0d", lambda lib, a: lib.argsort(a), [()]),
    Case("msort", lambda lib, a: lib.msort(a), [(4, 3)]),
    Case("msort_method_1d", lambda lib, a: a.msort(), [(5,)]),
    Case("msort_0d", lambda lib, a: lib.msort(a), [()]),
]

TOPK = [
    Case("topk_default", lambda lib, a: lib.topk(a, 2), [(3, 5)]),
    Case("topk_smallest_dim0", lambda lib, a: lib.topk(a, 3, 0, largest=False), [(5, 2)]),
    Case("topk_negative_dim", lambda lib, a: lib.topk(a, 1, dim=-2), [(2, 4, 3)]),
    Case("topk_method", lambda lib, a: a.topk(2, largest=True, sorted=True), [(6,)]),
    Case("topk_k0", lambda lib, a: lib.topk(a, 0), [(2, 3)], gradgrad=False),
    Case("topk_k_all", lambda lib, a: lib.topk(a, 4, largest=False), [(2, 4)]),
    Case("topk_0d", lambda lib, a: lib.topk(a, 1), [()]),
    Case("topk_empty_rows", lambda lib, a: lib.topk(a, 2, 1), [(0, 3)], grad=False),
    Case(
        "topk_unsorted_values",
        lambda lib, a: lib.topk(a, 3, sorted=False).values.sort().values,
        [(2, 6)],
    ),
    Case(
        "topk_ties_values", lambda lib, a: lib.topk(a, 3).values, inputs=_ties((3, 8)), grad=False
    ),
    Case(
        "topk_ties_smallest_values",
        lambda lib, a: lib.topk(a, 4, largest=False).values,
        inputs=_ties((8,)),
        grad=False,
    ),
    Case(
        "topk_nan_values",
        lambda lib, a: lib.topk(a, 3).values,
        inputs=_fixed([1.0, NAN, 3.0, -INF, 2.0]),
        grad=False,
    ),
    Case("topk_int", lambda lib, a: lib.topk(a, 2).values, inputs=_ints((3, 5))),
]

ORDER_STATISTICS = [
    Case("kthvalue_default", lambda lib, a: lib.kthvalue(a, 2), [(3, 5)]),
    Case("kthvalue_dim0_keepdim", lambda lib, a: lib.kthvalue(a, 3, 0, keepdim=True), [(4, 3)]),
    Case("kthvalue_negative_dim", lambda lib, a: lib.kthvalue(a, 1, dim=-2), [(2, 3, 2)]),
    Case("kthvalue_method_last", lambda lib, a: a.kthvalue(4), [(2, 4)]),
    Case("kthvalue_0d", lambda lib, a: lib.kthvalue(a, 1), [()]),
    Case("kthvalue_0d_keepdim", lambda lib, a: lib.kthvalue(a, 1, 0, True), [()]),
    Case(
        "kthvalue_ties_values",
        lambda lib, a: lib.kthvalue(a, 4).values,
        inputs=_ties((3, 8)),
        grad=False,
    ),
    Case(
        "kthvalue_nan",
        lambda lib, a: lib.kthvalue(a, 5),
        inputs=_fixed([1.0, NAN, 3.0, -INF, 2.0]),
        grad=False,
    ),
    Case("median_all_odd", lambda lib, a: lib.median(a), [(3, 3)]),
    Case("median_all_even", lambda lib, a: lib.median(a), [(2, 3)]),
    Case("median_all_0d", lambda lib, a: lib.median(a), [()]),
    Case("median_all_empty", lambda lib, a: lib.median(a), [(0,)], grad=False),
    Case("median_all_ties_gradient", lambda lib, a: lib.median(a.expand(2, 3)), [(3,)]),
    Case("median_all_ties", lambda lib, a: lib.median(a), inputs=_ties((9,)), grad=False),
    Case("median_all_nan", lambda lib, a: lib.median(a), inputs=_with_nan((6,)), grad=False),
    Case("median_all_int", lambda lib, a: lib.median(a), inputs=_ints((4,))),
    Case("median_dim", lambda lib, a: lib.median(a, 1), [(3, 4)]),
    Case("median_dim_keepdim", lambda lib, a: lib.median(a, 0, keepdim=True), [(5, 2)]),
    Case("median_negative_dim_method", lambda lib, a: a.median(-1), [(2, 2, 3)]),
    Case("median_dim_0d", lambda lib, a: lib.median(a, 0), [()]),
    Case("median_dim_empty_rows", lambda lib, a: lib.median(a, 1), [(0, 3)], grad=False),
    Case(
        "median_dim_ties_values",
        lambda lib, a: lib.median(a, 1).values,
        inputs=_ties((3, 6)),
        grad=False,
    ),
    Case(
        "median_dim_nan",
        lambda lib, a: lib.median(a, 1),
        inputs=_fixed([[1.0, NAN, 3.0, NAN], [4.0, 2.0, 0.0, 1.0]]),
        grad=False,
    ),
    Case("nanmedian_all", lambda lib, a: lib.nanmedian(a), [(2, 3)]),
    Case("nanmedian_all_with_nan", lambda lib, a: lib.nanmedian(a), inputs=_with_nan((8,))),
    Case(
        "nanmedian_all_nan_only",
        lambda lib, a: lib.nanmedian(a),
        inputs=_fixed([NAN, NAN]),
        grad=False,
    ),
    Case("nanmedian_dim", lambda lib, a: lib.nanmedian(a, 1), [(3, 4)]),
    Case(
        "nanmedian_dim_with_nan",
        lambda lib, a: lib.nanmedian(a, 1, True),
        inputs=_fixed([[NAN, NAN, 1.0], [NAN, NAN, NAN], [3.0, NAN, -1.0]]),
        grad=False,
    ),
    Case("nanmedian_method", lambda lib, a: a.nanmedian(0), [(5, 2)]),
    Case("mode_distinct", lambda lib, a: lib.mode(a), [(3, 4)]),
    Case("mode_dim0_keepdim", lambda lib, a: lib.mode(a, 0, keepdim=True), [(4, 3)]),
    Case("mode_negative_dim_method", lambda lib, a: a.mode(-2), [(2, 3, 2)]),
    Case("mode_0d", lambda lib, a: lib.mode(a), [()]),
    Case("mode_ties", lambda lib, a: lib.mode(a, 1), inputs=_ties((4, 8)), grad=False),
    Case(
        "mode_equal_counts",
        lambda lib, a: lib.mode(a),
        inputs=_fixed([2.0, 1.0, 2.0, 1.0, 3.0]),
        grad=False,
    ),
    Case(
        "mode_nan",
        lambda lib, a: lib.mode(a),
        inputs=_fixed([3.0, 1.0, 2.0, 1.0, 3.0, NAN, 2.0, NAN]),
        grad=False,
    ),
    Case("mode_int", lambda lib, a: lib.mode(a, 0), inputs=_ints((7, 2), 0, 3)),
    Case("mode_bool", lambda lib, a: lib.mode(a > 0), inputs=_ties((6,))),
    Case("mode_empty_rows", lambda lib, a: lib.mode(a, 1), [(0, 3)], grad=False),
]

CUMULATIVE = [
    Case("cummax", lambda lib, a: lib.cummax(a, 0), [(6,)]),
    Case("cummax_dim1", lambda lib, a: lib.cummax(a, 1), [(3, 5)]),
    Case("cummax_negative_dim_method", lambda lib, a: a.cummax(-2), [(2, 4, 2)]),
    Case("cummin", lambda lib, a: lib.cummin(a, -1), [(3, 5)]),
    Case("cummin_dim0", lambda lib, a: lib.cummin(a, dim=0), [(5, 3)]),
    Case("cummax_0d", lambda lib, a: lib.cummax(a, 0), [()]),
    Case("cummin_empty", lambda lib, a: lib.cummin(a, 0), [(0, 2)], grad=False),
    Case("cummax_ties", lambda lib, a: lib.cummax(a, 1), inputs=_ties((3, 8)), grad=False),
    Case("cummin_ties", lambda lib, a: lib.cummin(a, 1), inputs=_ties((3, 8)), grad=False),
    Case(
        "cummax_nan",
        lambda lib, a: lib.cummax(a, 0),
        inputs=_fixed([1.0, NAN, 3.0, NAN, 5.0]),
        grad=False,
    ),
    Case(
        "cummin_nan",
        lambda lib, a: lib.cummin(a, 0),
        inputs=_fixed([1.0, -1.0, NAN, -3.0, NAN]),
        grad=False,
    ),
    Case("cummax_int", lambda lib, a: lib.cummax(a, 0), inputs=_ints((8,))),
    Case("cummin_bool", lambda lib, a: lib.cummin(a > 0, 0), inputs=_ties((6,))),
]

UNIQUE = [
    Case("unique_flat", lambda lib, a: lib.unique(a), inputs=_ties((3, 5)), grad=False),
    Case(
        "unique_inverse_counts",
        lambda lib, a: lib.unique(a, return_inverse=True, return_counts=True),
        inputs=_ties((2, 6)),
        grad=False,
    ),
    Case(
        "unique_inverse_only",
        lambda lib, a: lib.unique(a, sorted=False, return_inverse=True),
        inputs=_ints((7,)),
        grad=False,
    ),
    Case(
        "unique_counts_only",
        lambda lib, a: a.unique(return_counts=True),
        inputs=_ints((7,)),
        grad=False,
    ),
    Case(
        "unique_dim0",
        lambda lib, a: lib.unique(a, dim=0, return_inverse=True, return_counts=True),
        inputs=_fixed([[1, 2], [1, 2], [0, 5], [1, 0]]),
        grad=False,
    ),
    Case(
        "unique_dim1",
        lambda lib, a: lib.unique(a, dim=1, return_inverse=True),
        inputs=_ties((2, 6), 0, 2),
        grad=False,
    ),
    Case(
        "unique_negative_dim",
        lambda lib, a: lib.unique(a, dim=-1),
        inputs=_ties((2, 2, 5), 0, 2),
        grad=False,
    ),
    Case(
        "unique_nan",
        lambda lib, a: lib.unique(a, return_counts=True, return_inverse=True),
        inputs=_fixed([3.0, 1.0, NAN, 1.0, NAN, 2.0]),
        grad=False,
    ),
    Case(
        "unique_0d",
        lambda lib, a: lib.unique(a, return_inverse=True, return_counts=True),
        [()],
        grad=False,
    ),
    Case(
        "unique_empty",
        lambda lib, a: lib.unique(a, return_inverse=True, return_counts=True),
        [(0, 2)],
        grad=False,
    ),
    Case(
        "unique_empty_dim",
        lambda lib, a: lib.unique(a, dim=0, return_inverse=True, return_counts=True),
        [(0, 2)],
        grad=False,
    ),
    Case(
        "unique_bool",
        lambda lib, a: lib.unique(a > 0, return_counts=True),
        inputs=_ties((7,)),
        grad=False,
    ),
    Case(
        "unique_consecutive",
        lambda lib, a: lib.unique_consecutive(a),
        inputs=_fixed([1, 1, 2, 2, 3, 1, 1]),
        grad=False,
    ),
    Case(
        "unique_consecutive_inverse_counts",
        lambda lib, a: lib.unique_consecutive(a, return_inverse=True, return_counts=True),
        inputs=_ties((2, 6), 0, 2),
        grad=False,
    ),
    Case(
        "unique_consecutive_dim0",
        lambda lib, a: lib.unique_consecutive(a, dim=0, return_counts=True),
        inputs=_fixed([[1, 1], [1, 1], [2, 3], [1, 1]]),
        grad=False,
    ),
    Case(
        "unique_consecutive_dim1_method",
        lambda lib, a: a.unique_consecutive(return_inverse=True, dim=1),
        inputs=_fixed([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]),
        grad=False,
    ),
    Case(
        "unique_consecutive_nan",
        lambda lib, a: lib.unique_consecutive(a, return_counts=True),
        inputs=_fixed([NAN, NAN, 1.0, 1.0]),
        grad=False,
    ),
    Case(
        "unique_consecutive_empty",
        lambda lib, a: lib.unique_consecutive(a, return_counts=True),
        [(0,)],
        grad=False,
    ),
]

COUNTING = [
    Case("bincount", lambda lib, a: lib.bincount(a), inputs=_ints((12,), 0, 6)),
    Case(
        "bincount_method_minlength",
        lambda lib, a: a.bincount(minlength=10),
        inputs=_ints((5,), 0, 4),
    ),
    Case(
        "bincount_weights",
        lambda lib, a, w: lib.bincount(a, w),
        inputs=lambda rng: [rng.integers(0, 5, 8), rng.uniform(-1, 1, 8)],
        grad=False,
    ),
    Case(
        "bincount_int_weights",
        lambda lib, a, w: lib.bincount(a, weights=w, minlength=7),
        inputs=lambda rng: [rng.integers(0, 5, 8), rng.integers(-3, 3, 8)],
    ),
    Case(
        "bincount_empty",
        lambda lib, a: lib.bincount(a, minlength=3),
        inputs=_fixed(np.zeros(0, dtype=np.int64)),
    ),
    Case(
        "bincount_uint8",
        lambda lib, a: lib.bincount(a),
        inputs=_fixed(np.array([0, 3, 3, 1], dtype=np.uint8)),
    ),
    Case(
        "searchsorted",
        lambda lib, s, v: lib.searchsorted(s, v),
        inputs=lambda rng: [
            np.sort(rng.integers(-3, 4, 8)).astype(float),
            rng.integers(-4, 5, (2, 5)).astype(float),
        ],
        grad=False,
    ),
    Case(
        "searchsorted_right",
        lambda lib, s, v: lib.searchsorted(s, v, right=True),
        inputs=lambda rng: [
            np.sort(rng.integers(-3, 4, 8)).astype(float),
            rng.integers(-4, 5, (7,)).astype(float),
        ],
        grad=False,
    ),
    Case(
        "searchsorted_side_int32",
        lambda lib, s, v: lib.searchsorted(s, v, side="right", out_int32=True),
        inputs=lambda rng: [np.sort(rng.integers(-3, 4, 6)), rng.integers(-4, 5, (4,))],
    ),
    Case(
        "searchsorted_rows",
        lambda lib, s, v: lib.searchsorted(s, v, side="left"),
        inputs=lambda rng: [
            np.sort(rng.integers(-4, 5, (2, 3, 5)), -1).astype(float),
            rng.integers(-4, 5, (2, 3, 4)).astype(float),
        ],
        grad=False,
    ),
    Case(
        "searchsorted_scalar",
        lambda lib, s: lib.searchsorted(s, 0.5),
        [(6,)],
        inputs=lambda rng: [np.sort(rng.uniform(-1, 1, 6))],
        grad=False,
    ),
    Case(
        "searchsorted_sorter",
        lambda lib, s, v: lib.searchsorted(s, v, sorter=lib.argsort(s)),
        inputs=lambda rng: [rng.permutation(6).astype(float), rng.uniform(-1, 6, (5,))],
        grad=False,
    ),
    Case(
        "searchsorted_mixed_dtypes",
        lambda lib, s, v: lib.searchsorted(s, v),
        inputs=lambda rng: [np.arange(5), rng.uniform(-1, 5, (6,))],
        grad=False,
    ),
    Case(
        "bucketize",
        lambda lib, v, b: lib.bucketize(v, b),
        inputs=lambda rng: [
            rng.integers(-4, 5, (3, 4)).astype(float),
            np.array([-2.0, 0.0, 1.0, 3.0]),
        ],
        grad=False,
    ),
    Case(
        "bucketize_right",
        lambda lib, v, b: lib.bucketize(v, b, right=True),
        inputs=lambda rng: [
            rng.integers(-4, 5, (3, 4)).astype(float),
            np.array([-2.0, 0.0, 1.0, 3.0]),
        ],
        grad=False,
    ),
    Case(
        "bucketize_scalar_int32",
        lambda lib, b: lib.bucketize(2, b, out_int32=True),
        inputs=_fixed([1, 2, 3]),
    ),
    Case("histc_default_range", lambda lib, a: lib.histc(a, bins=5), [(20,)], grad=False),
    Case("histc_range", lambda lib, a: lib.histc(a, bins=4, min=-1, max=1), [(4, 5)], grad=False),
    Case(
        "histc_edges",
        lambda lib, a: lib.histc(a, bins=4, min=0, max=3),
        inputs=_fixed([0.0, 3.0, 1.5, -0.1, 3.1, NAN, 0.75, 2.25]),
        grad=False,
    ),
    Case("histc_constant", lambda lib, a: a.histc(bins=4), inputs=_fixed([1.0, 1.0]), grad=False),
    Case("histc_empty", lambda lib, a: lib.histc(a, bins=3), [(0,)], grad=False),
    Case("histc_default_bins", lambda lib, a: lib.histc(a), [(24,)], grad=False),
]

CASES = SORT + TOPK + ORDER_STATISTICS + CUMULATIVE + UNIQUE + COUNTING

ERRORS = [
    ErrorCase("sort_bad_dim", lambda lib: lib.sort(lib.ones(2, 3), 2)),
    ErrorCase("sort_0d_bad_dim", lambda lib: lib.sort(lib.tensor(1.0), 1)),
    ErrorCase("argsort_bad_dim", lambda lib: lib.argsort(lib.ones(3), -2)),
    ErrorCase("topk_k_too_large", lambda lib: lib.topk(lib.ones(2, 3), 4)),
    ErrorCase("topk_k_negative", lambda lib: lib.topk(lib.ones(3), -1)),
    ErrorCase("topk_bad_dim", lambda lib: lib.topk(lib.ones(3), 1, dim=1)),
    ErrorCase("topk_bool", lambda lib: lib.topk(lib.ones(3) > 0, 1)),
    ErrorCase("kthvalue_k_zero", lambda lib: lib.kthvalue(lib.ones(3), 0)),
    ErrorCase("kthvalue_k_too_large", lambda lib: lib.kthvalue(lib.ones(2, 3), 4)),
    ErrorCase("kthvalue_bad_dim", lambda lib: lib.kthvalue(lib.ones(2, 3), 1, 2)),
    ErrorCase("kthvalue_bool", lambda lib: lib.kthvalue(lib.ones(3) > 0, 1)),
    ErrorCase("median_empty_dim", lambda lib: lib.median(lib.ones(0, 3), 0)),
    ErrorCase("median_bad_dim", lambda lib: lib.median(lib.ones(3), 1)),
    ErrorCase("median_bool", lambda lib: lib.median(lib.ones(3) > 0)),
    ErrorCase("nanmedian_empty_dim", lambda lib: lib.nanmedian(lib.ones(2, 0), 1)),
    ErrorCase("mode_empty_dim", lambda lib: lib.mode(lib.ones(0))),
    ErrorCase("mode_bad_dim", lambda lib: lib.mode(lib.ones(2, 2), -3)),
    ErrorCase("cummax_bad_dim", lambda lib: lib.cummax(lib.ones(3), 1)),
    ErrorCase("cummin_missing_dim", lambda lib: lib.cummin(lib.ones(3))),
    ErrorCase("unique_bad_dim", lambda lib: lib.unique(lib.ones(1, 2), dim=2)),
    ErrorCase("unique_0d_dim", lambda lib: lib.unique(lib.tensor(3.0), dim=0)),
    ErrorCase("unique_zero_sized_other_dim", lambda lib: lib.unique(lib.ones(0, 2), dim=1)),
    ErrorCase("bincount_negative", lambda lib: lib.bincount(lib.tensor([-1, 2]))),
    ErrorCase("bincount_2d", lambda lib: lib.bincount(lib.tensor([[1, 2]]))),
    ErrorCase("bincount_float", lambda lib: lib.bincount(lib.tensor([1.0, 2.0]))),
    ErrorCase("bincount_bool", lambda lib: lib.bincount(lib.tensor([True, False]))),
    ErrorCase(
        "bincount_weights_length",
        lambda lib: lib.bincount(lib.tensor([1, 2]), weights=lib.tensor([1.0])),
    ),
    ErrorCase(
        "bincount_negative_minlength", lambda lib: lib.bincount(lib.tensor([1, 2]), minlength=-1)
    ),
    ErrorCase(
        "searchsorted_mismatched_rows", lambda lib: lib.searchsorted(lib.ones(2, 2), lib.ones(1))
    ),
    ErrorCase(
        "searchsorted_bad_side",
        lambda lib: lib.searchsorted(lib.ones(2), lib.ones(1), side="middle"),
    ),
    ErrorCase(
        "searchsorted_opposite_side",
        lambda lib: lib.searchsorted(lib.ones(2), lib.ones(1), side="left", right=True),
    ),
    ErrorCase(
        "searchsorted_0d_boundaries", lambda lib: lib.searchsorted(lib.tensor(1.0), lib.ones(1))
    ),
    ErrorCase(
        "searchsorted_sorter_size",
        lambda lib: lib.searchsorted(lib.ones(2), lib.ones(1), sorter=lib.tensor([0])),
    ),
    ErrorCase("bucketize_2d_boundaries", lambda lib: lib.bucketize(lib.ones(2), lib.ones(1, 2))),
    ErrorCase("histc_int", lambda lib: lib.histc(lib.tensor([1, 2]))),
    ErrorCase("histc_min_above_max", lambda lib: lib.histc(lib.ones(2), min=3, max=1)),
    ErrorCase("histc_zero_bins", lambda lib: lib.histc(lib.ones(2), bins=0)),
    ErrorCase("histc_nan_range", lambda lib: lib.histc(lib.tensor([float("nan"), 1.0]))),
]
