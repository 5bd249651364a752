"""Cases for reductions, cumulative scans and the softmax family (``ember/ops/reduction.py``).

Every name starts with ``reduce_`` so that ``-k reduce_`` runs this family alone.
Ties, zeros and extreme logits come from ``inputs`` functions: ties that only one element
of a pair can win are not differentiable, so those cases skip the second-order check
(or all gradient checks where finite differences cannot agree with any convention).
"""

import numpy as np

from tests.oracle import Case, ErrorCase

INF = float("inf")


def _ties(rng):
    """A (3, 4) input whose overall max and min are each shared by exactly two elements."""
    x = rng.uniform(-1.0, 1.0, size=(3, 4))
    x[0, 1] = x[2, 3] = 1.5
    x[1, 0] = x[2, 2] = -1.5
    return [x]


def _row_ties(rng):
    x = rng.uniform(-1.0, 1.0, size=(3, 4))
    x[0, 0] = x[0, 2] = 2.0
    x[1, 3] = x[1, 1] = -2.0
    x[2] = [-1.5, 1.9, 1.9, -1.5]
    return [x]


def _one_zero(rng):
    x = rng.uniform(0.5, 1.5, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    x[0, 2] = 0.0
    x[2, 0] = 0.0
    return [x]


def _two_zeros(rng):
    x = rng.uniform(0.5, 1.5, size=(3, 4))
    x[1, 0] = x[1, 3] = 0.0  # a row with two zeros
    x[0, 1] = 0.0  # and one with a single zero
    return [x]


def _logits(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 4))
    x[0] = [1000.0, -1000.0, 999.0, 0.0]
    x[1, 2] = -1000.0
    x[2, 0] = 1000.0
    return [x]


def _with_nan(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 4))
    x[0, 1] = x[2, 3] = np.nan
    return [x]


def _minus_inf_row(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 4))
    x[1] = -INF
    x[2, 0] = -INF
    return [x]


def _zero_row(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 4))
    x[1] = 0.0
    return [x]


def _ints(rng):
    return [rng.integers(-3, 4, size=(3, 4))]


def _bools(rng):
    return [rng.integers(0, 2, size=(3, 4)).astype(bool)]


def _distinct(shape):
    """Distinct values (no accidental ties, so finite differences agree everywhere)."""

    def make(rng):
        count = int(np.prod(shape))
        return [(rng.permutation(count) * 0.37 - 2.0 + rng.uniform(0, 0.1, count)).reshape(shape)]

    return make


CASES = [
    # ---------------------------------------------------------------- sum, mean
    Case("reduce_sum_dim_negative", lambda lib, a: a.sum(-1), [(2, 3, 4)]),
    Case("reduce_sum_tuple_keepdim", lambda lib, a: lib.sum(a, (0, 2), keepdim=True), [(2, 3, 4)]),
    Case("reduce_sum_list_dims", lambda lib, a: lib.sum(a, [-1, 0]), [(2, 3, 4)]),
    Case("reduce_sum_0d", lambda lib, a: a.sum(), [()]),
    Case("reduce_sum_0d_dim", lambda lib, a: a.sum(0, keepdim=True), [()]),
    Case("reduce_sum_empty", lambda lib, a: a.sum(0), [(0, 3)], grad=False),
    Case("reduce_sum_empty_all", lambda lib, a: a.sum(), [(2, 0)], grad=False),
    Case("reduce_sum_int", lambda lib, a: a.sum(1), inputs=_ints),
    Case("reduce_sum_bool", lambda lib, a: a.sum(), inputs=_bools),
    Case(
        "reduce_sum_dtype",
        lambda lib, a: lib.sum(a, 0, dtype=lib.float32),
        [(3, 4)],
        atol=1e-6,
        rtol=1e-6,
        grad=False,
    ),
    Case("reduce_sum_int_dtype", lambda lib, a: lib.sum(a, dtype=lib.float64), inputs=_ints),
    Case("reduce_mean_tuple", lambda lib, a: a.mean((0, -1), keepdim=True), [(2, 3, 4)]),
    Case("reduce_mean_all", lambda lib, a: lib.mean(a), [(3, 4)]),
    Case("reduce_mean_0d", lambda lib, a: a.mean(), [()]),
    Case("reduce_mean_empty", lambda lib, a: a.mean(1), [(3, 0)], grad=False),
    Case("reduce_mean_int_dtype", lambda lib, a: a.mean(0, dtype=lib.float64), inputs=_ints),
    Case("reduce_nansum", lambda lib, a: lib.nansum(a, 1), inputs=_with_nan),
    Case("reduce_nansum_all", lambda lib, a: a.nansum(), inputs=_with_nan),
    Case("reduce_nansum_int", lambda lib, a: lib.nansum(a), inputs=_ints),
    Case("reduce_nanmean", lambda lib, a: lib.nanmean(a, 1, keepdim=True), inputs=_with_nan),
    Case("reduce_nanmean_all", lambda lib, a: a.nanmean(), inputs=_with_nan),
    Case("reduce_nanmean_plain", lambda lib, a: lib.nanmean(a, (0, 1)), [(2, 3)]),
    # ---------------------------------------------------------------- prod
    Case("reduce_prod_all", lambda lib, a: a.prod(), [(3, 4)], domain=(0.5, 1.5)),
    Case("reduce_prod_dim", lambda lib, a: lib.prod(a, 1), [(2, 3, 4)]),
    Case("reduce_prod_dim_keepdim", lambda lib, a: lib.prod(a, -3, keepdim=True), [(2, 3, 4)]),
    Case("reduce_prod_0d", lambda lib, a: a.prod(), [()]),
    Case("reduce_prod_0d_dim", lambda lib, a: a.prod(0), [()]),
    Case("reduce_prod_empty", lambda lib, a: a.prod(1), [(3, 0)], grad=False),
    Case(
        "reduce_prod_one_zero_all",
        lambda lib, a: a.prod(),
        inputs=lambda rng: [np.array([[1.5, 0.0, -0.7], [0.8, 1.2, 0.9]])],
    ),
    Case("reduce_prod_zeros_all", lambda lib, a: a.prod(), inputs=_one_zero),
    Case("reduce_prod_one_zero_dim", lambda lib, a: a.prod(1), inputs=_one_zero),
    Case("reduce_prod_two_zeros_dim", lambda lib, a: a.prod(-1), inputs=_two_zeros),
    Case("reduce_prod_two_zeros_dim0", lambda lib, a: a.prod(0, keepdim=True), inputs=_two_zeros),
    Case("reduce_prod_int", lambda lib, a: a.prod(0), inputs=_ints),
    Case("reduce_prod_bool", lambda lib, a: a.prod(), inputs=_bools),
    Case("reduce_prod_dtype", lambda lib, a: lib.prod(a, 1, dtype=lib.float64), inputs=_ints),
    # ---------------------------------------------------------------- max, min, amax, amin
    Case("reduce_max_all", lambda lib, a: a.max(), inputs=_distinct((3, 4))),
    Case("reduce_min_all", lambda lib, a: lib.min(a), inputs=_distinct((3, 4))),
    Case("reduce_max_all_ties", lambda lib, a: a.max(), inputs=_ties, gradgrad=False),
    Case("reduce_min_all_ties", lambda lib, a: a.min(), inputs=_ties, gradgrad=False),
    Case("reduce_max_expanded_ties", lambda lib, a: a.expand(3, 4).max(), inputs=_distinct((4,))),
    Case("reduce_max_0d", lambda lib, a: a.max(), [()]),
    Case("reduce_max_dim", lambda lib, a: lib.max(a, 1), inputs=_distinct((2, 3, 4))),
    Case(
        "reduce_max_dim_keepdim",
        lambda lib, a: a.max(dim=-1, keepdim=True),
        inputs=_distinct((3, 4)),
    ),
    Case("reduce_min_dim", lambda lib, a: lib.min(a, 0), inputs=_distinct((3, 4))),
    Case("reduce_min_dim_keepdim", lambda lib, a: lib.min(a, -2, True), inputs=_distinct((3, 4))),
    Case("reduce_max_dim_ties", lambda lib, a: lib.max(a, 1), inputs=_row_ties, grad=False),
    Case("reduce_min_dim_ties", lambda lib, a: lib.min(a, 1), inputs=_row_ties, grad=False),
    Case(
        "reduce_max_dim_expanded_ties",
        lambda lib, a: a.reshape(1, 4).expand(3, 4).max(0),
        inputs=_distinct((4,)),
    ),
    Case("reduce_max_dim_0d", lambda lib, a: lib.max(a, 0), [()]),
    Case("reduce_max_dim_empty_other", lambda lib, a: lib.max(a, 1), [(0, 3)], grad=False),
    Case(
        "reduce_max_values_field", lambda lib, a: lib.max(a, 1).values * 2, inputs=_distinct((3, 4))
    ),
    Case(
        "reduce_min_indices_field", lambda lib, a: lib.min(a, dim=1).indices, [(3, 4)], grad=False
    ),
    Case("reduce_max_int", lambda lib, a: lib.max(a, 1), inputs=_ints),
    Case("reduce_max_bool", lambda lib, a: a.max(), inputs=_bools),
    Case("reduce_max_nan", lambda lib, a: lib.max(a, 1), inputs=_with_nan, grad=False),
    Case("reduce_max_all_nan", lambda lib, a: a.max(), inputs=_with_nan, grad=False),
    Case("reduce_max_other", lambda lib, a, b: lib.max(a, b), [(3, 4), (4,)]),
    Case("reduce_min_other", lambda lib, a, b: lib.min(a, other=b), [(3, 4), (3, 1)]),
    Case("reduce_amax_all", lambda lib, a: lib.amax(a), inputs=_distinct((3, 4))),
    Case("reduce_amax_dim", lambda lib, a: lib.amax(a, 1), inputs=_distinct((2, 3, 4))),
    Case(
        "reduce_amax_tuple_keepdim",
        lambda lib, a: a.amax((0, -1), keepdim=True),
        inputs=_distinct((2, 3, 4)),
    ),
    Case("reduce_amin_tuple", lambda lib, a: lib.amin(a, (1, 2)), inputs=_distinct((2, 3, 4))),
    Case("reduce_amax_ties", lambda lib, a: lib.amax(a, 1), inputs=_row_ties, gradgrad=False),
    Case("reduce_amin_ties", lambda lib, a: a.amin(-1, True), inputs=_row_ties, gradgrad=False),
    Case("reduce_amax_all_ties", lambda lib, a: lib.amax(a), inputs=_ties, gradgrad=False),
    Case(
        "reduce_amax_expanded_ties",
        lambda lib, a: a.expand(2, 3, 4).amax((0, 2)),
        inputs=_distinct((3, 4)),
    ),
    Case("reduce_amax_0d", lambda lib, a: lib.amax(a, 0), [()]),
    Case("reduce_amax_empty_other", lambda lib, a: lib.amax(a, 1), [(0, 3)], grad=False),
    Case("reduce_amin_int", lambda lib, a: a.amin(0), inputs=_ints),
    Case("reduce_aminmax_all", lambda lib, a: lib.aminmax(a), inputs=_distinct((3, 4))),
    Case("reduce_aminmax_dim", lambda lib, a: lib.aminmax(a, dim=1), inputs=_distinct((2, 3, 4))),
    Case(
        "reduce_aminmax_dim_keepdim",
        lambda lib, a: a.aminmax(dim=-1, keepdim=True),
        inputs=_distinct((3, 4)),
    ),
    Case(
        "reduce_aminmax_ties",
        lambda lib, a: lib.aminmax(a, dim=1),
        inputs=_row_ties,
        gradgrad=False,
    ),
    Case("reduce_aminmax_int", lambda lib, a: lib.aminmax(a), inputs=_ints),
    # ---------------------------------------------------------------- argmax, argmin
    Case("reduce_argmax_flat", lambda lib, a: lib.argmax(a), [(3, 4)], grad=False),
    Case(
        "reduce_argmax_flat_keepdim",
        lambda lib, a: lib.argmax(a, keepdim=True),
        [(3, 4)],
        grad=False,
    ),
    Case("reduce_argmax_dim", lambda lib, a: a.argmax(1), [(2, 3, 4)], grad=False),
    Case(
        "reduce_argmin_dim_keepdim",
        lambda lib, a: lib.argmin(a, -1, keepdim=True),
        [(3, 4)],
        grad=False,
    ),
    Case("reduce_argmax_ties", lambda lib, a: lib.argmax(a, 1), inputs=_row_ties, grad=False),
    Case("reduce_argmin_ties_flat", lambda lib, a: lib.argmin(a), inputs=_ties, grad=False),
    Case("reduce_argmax_0d", lambda lib, a: lib.argmax(a, 0), [()], grad=False),
    Case("reduce_argmax_int", lambda lib, a: lib.argmax(a, 0), inputs=_ints, grad=False),
    Case("reduce_argmax_nan", lambda lib, a: lib.argmin(a, 1), inputs=_with_nan, grad=False),
    # ---------------------------------------------------------------- var, std
    Case("reduce_var_all", lambda lib, a: a.var(), [(3, 4)]),
    Case("reduce_var_dim", lambda lib, a: lib.var(a, 1), [(2, 3, 4)]),
    Case(
        "reduce_var_correction",
        lambda lib, a: lib.var(a, (0, 2), correction=0, keepdim=True),
        [(2, 3, 4)],
    ),
    Case("reduce_var_correction_2", lambda lib, a: lib.var(a, -1, correction=2), [(3, 4)]),
    Case("reduce_var_unbiased_false", lambda lib, a: lib.var(a, 0, False), [(3, 4)]),
    Case("reduce_var_unbiased_positional", lambda lib, a: lib.var(a, False), [(3, 4)]),
    Case("reduce_var_single", lambda lib, a: lib.var(a, 1), [(3, 1)], grad=False),
    Case("reduce_var_too_few", lambda lib, a: lib.var(a, correction=5), [(2, 2)], grad=False),
    Case("reduce_var_empty", lambda lib, a: a.var(0), [(0, 3)], grad=False),
    Case("reduce_std_all", lambda lib, a: a.std(), [(3, 4)]),
    Case("reduce_std_dim_keepdim", lambda lib, a: lib.std(a, 1, keepdim=True), [(2, 3, 4)]),
    Case("reduce_std_correction", lambda lib, a: lib.std(a, (0, 1), correction=0), [(2, 3, 4)]),
    Case(
        "reduce_std_constant_row", lambda lib, a: lib.std(a.expand(2, 3), 0), [(3,)], gradgrad=False
    ),
    Case("reduce_var_mean", lambda lib, a: lib.var_mean(a, 1), [(3, 4)]),
    Case("reduce_var_mean_all", lambda lib, a: lib.var_mean(a, correction=0), [(3, 4)]),
    Case("reduce_std_mean", lambda lib, a: lib.std_mean(a, -1, keepdim=True), [(3, 4)]),
    Case("reduce_std_mean_unbiased", lambda lib, a: lib.std_mean(a, 0, False), [(3, 4)]),
    # ---------------------------------------------------------------- norm, dist
    Case("reduce_norm_default", lambda lib, a: a.norm(), [(3, 4)]),
    Case("reduce_norm_fro_dims", lambda lib, a: lib.norm(a, "fro", (0, 1)), [(2, 3, 4)]),
    Case("reduce_norm_p1", lambda lib, a: lib.norm(a, 1, 1), [(3, 4)]),
    Case("reduce_norm_p3_keepdim", lambda lib, a: lib.norm(a, 3, -1, keepdim=True), [(3, 4)]),
    Case("reduce_norm_p1_5", lambda lib, a: lib.norm(a, 1.5, 0), [(3, 4)]),
    Case("reduce_norm_p0_5", lambda lib, a: lib.norm(a, 0.5), [(3, 4)]),
    Case("reduce_norm_p2_tuple", lambda lib, a: lib.norm(a, 2, (0, 1, 2)), [(2, 3, 4)]),
    Case("reduce_norm_inf", lambda lib, a: lib.norm(a, INF, 1), inputs=_distinct((3, 4))),
    Case("reduce_norm_neg_inf", lambda lib, a: lib.norm(a, -INF), inputs=_distinct((3, 4))),
    Case(
        "reduce_norm_inf_ties", lambda lib, a: lib.norm(a, INF, 1), inputs=_row_ties, gradgrad=False
    ),
    Case("reduce_norm_p0", lambda lib, a: lib.norm(a, 0, 1), [(3, 4)]),
    Case(
        "reduce_norm_zero_row_p2",
        lambda lib, a: lib.norm(a, dim=1),
        inputs=_zero_row,
        gradgrad=False,
    ),
    Case(
        "reduce_norm_zero_row_p3",
        lambda lib, a: lib.norm(a, 3, 1),
        inputs=_zero_row,
        gradgrad=False,
    ),
    Case(
        "reduce_norm_zero_row_p1",
        lambda lib, a: lib.norm(a, 1, 1),
        inputs=_zero_row,
        gradgrad=False,
    ),
    Case("reduce_norm_0d", lambda lib, a: lib.norm(a), [()], domain=(0.5, 2.0)),
    Case("reduce_norm_empty", lambda lib, a: lib.norm(a), [(0, 3)], grad=False),
    Case("reduce_norm_nuc", lambda lib, a: lib.norm(a, "nuc"), [(3, 4)]),
    Case("reduce_norm_fro_keepdim", lambda lib, a: a.norm("fro", (0, 1), keepdim=True), [(3, 4)]),
    Case("reduce_norm_dtype", lambda lib, a: lib.norm(a, dtype=lib.float64), [(3, 4)]),
    Case("reduce_dist", lambda lib, a, b: lib.dist(a, b), [(3, 4), (4,)]),
    Case("reduce_dist_p1", lambda lib, a, b: a.dist(b, 1), [(3, 4), (3, 4)]),
    Case("reduce_dist_inf", lambda lib, a, b: lib.dist(a, b, INF), [(3, 4), (3, 1)]),
    # ---------------------------------------------------------------- cumulative
    Case("reduce_cumsum", lambda lib, a: a.cumsum(1), [(2, 3, 4)]),
    Case("reduce_cumsum_negative", lambda lib, a: lib.cumsum(a, -3), [(2, 3, 4)]),
    Case("reduce_cumsum_0d", lambda lib, a: lib.cumsum(a, 0), [()]),
    Case("reduce_cumsum_empty", lambda lib, a: lib.cumsum(a, 1), [(0, 3)], grad=False),
    Case("reduce_cumsum_int", lambda lib, a: lib.cumsum(a, 0), inputs=_ints),
    Case("reduce_cumsum_bool", lambda lib, a: lib.cumsum(a, 1), inputs=_bools),
    Case("reduce_cumsum_dtype", lambda lib, a: lib.cumsum(a, 1, dtype=lib.float64), inputs=_ints),
    Case("reduce_cumprod", lambda lib, a: a.cumprod(1), [(2, 3, 4)]),
    Case("reduce_cumprod_dim0", lambda lib, a: lib.cumprod(a, 0), [(4, 3)]),
    Case("reduce_cumprod_one_zero", lambda lib, a: lib.cumprod(a, 1), inputs=_one_zero),
    Case("reduce_cumprod_two_zeros", lambda lib, a: lib.cumprod(a, -1), inputs=_two_zeros),
    Case("reduce_cumprod_zeros_dim0", lambda lib, a: lib.cumprod(a, 0), inputs=_two_zeros),
    Case("reduce_cumprod_0d", lambda lib, a: lib.cumprod(a, -1), [()]),
    Case("reduce_cumprod_int", lambda lib, a: lib.cumprod(a, 1), inputs=_ints),
    Case("reduce_logcumsumexp", lambda lib, a: lib.logcumsumexp(a, 1), [(2, 3, 4)]),
    Case("reduce_logcumsumexp_dim0", lambda lib, a: a.logcumsumexp(-2), [(4, 3)]),
    Case(
        "reduce_logcumsumexp_large",
        lambda lib, a: lib.logcumsumexp(a, 1),
        inputs=_logits,
        gradgrad=False,
    ),
    Case("reduce_logcumsumexp_0d", lambda lib, a: lib.logcumsumexp(a, 0), [()]),
    # ---------------------------------------------------------------- all, any
    Case("reduce_all", lambda lib, a: lib.all(a), inputs=_bools, grad=False),
    Case("reduce_all_dim", lambda lib, a: a.all(1), inputs=_bools, grad=False),
    Case(
        "reduce_any_tuple_keepdim",
        lambda lib, a: lib.any(a, (0, 1), keepdim=True),
        inputs=_bools,
        grad=False,
    ),
    Case("reduce_any_float", lambda lib, a: lib.any(a > 1.0, 0), [(3, 4)], grad=False),
    Case("reduce_all_int", lambda lib, a: lib.all(a, -1), inputs=_ints, grad=False),
    Case("reduce_all_float", lambda lib, a: a.all(), [(3, 4)], grad=False),
    Case(
        "reduce_any_uint8",
        lambda lib, a: lib.any(a, 1),
        inputs=lambda rng: [rng.integers(0, 3, size=(3, 4)).astype(np.uint8)],
        grad=False,
    ),
    Case("reduce_all_empty", lambda lib, a: lib.all(a, 0), [(0, 3)], grad=False),
    Case("reduce_any_0d", lambda lib, a: lib.any(a), [()], grad=False),
    # ---------------------------------------------------------------- softmax family
    Case("reduce_softmax", lambda lib, a: lib.softmax(a, 1), [(2, 3, 4)]),
    Case("reduce_softmax_dim0", lambda lib, a: a.softmax(0), [(3, 4)]),
    Case("reduce_softmax_large", lambda lib, a: lib.softmax(a, -1), inputs=_logits),
    Case("reduce_softmax_large_dim0", lambda lib, a: lib.softmax(a, 0), inputs=_logits),
    Case("reduce_softmax_0d", lambda lib, a: lib.softmax(a, 0), [()]),
    Case("reduce_softmax_empty", lambda lib, a: lib.softmax(a, 1), [(0, 3)], grad=False),
    Case("reduce_softmax_dtype", lambda lib, a: lib.softmax(a, 1, dtype=lib.float64), [(3, 4)]),
    Case(
        "reduce_softmax_int_dtype",
        lambda lib, a: lib.softmax(a, 0, dtype=lib.float64),
        inputs=_ints,
    ),
    Case("reduce_log_softmax", lambda lib, a: lib.log_softmax(a, 1), [(2, 3, 4)]),
    Case("reduce_log_softmax_large", lambda lib, a: lib.log_softmax(a, -1), inputs=_logits),
    Case("reduce_log_softmax_large_dim0", lambda lib, a: a.log_softmax(0), inputs=_logits),
    Case("reduce_log_softmax_0d", lambda lib, a: lib.log_softmax(a, -1), [()]),
    Case("reduce_log_softmax_dtype", lambda lib, a: lib.log_softmax(a, 0, lib.float64), [(3, 4)]),
    Case("reduce_logsumexp", lambda lib, a: lib.logsumexp(a, 1), [(2, 3, 4)]),
    Case(
        "reduce_logsumexp_tuple_keepdim",
        lambda lib, a: a.logsumexp((0, -1), keepdim=True),
        [(2, 3, 4)],
    ),
    Case("reduce_logsumexp_large", lambda lib, a: lib.logsumexp(a, 1), inputs=_logits),
    Case("reduce_logsumexp_large_dim0", lambda lib, a: lib.logsumexp(a, 0), inputs=_logits),
    Case(
        "reduce_logsumexp_minus_inf",
        lambda lib, a: lib.logsumexp(a, 1),
        inputs=_minus_inf_row,
        grad=False,
    ),
    Case("reduce_logsumexp_0d", lambda lib, a: lib.logsumexp(a, 0), [()]),
    Case("reduce_logsumexp_empty", lambda lib, a: lib.logsumexp(a, 0), [(0, 3)], grad=False),
    Case("reduce_logsumexp_int", lambda lib, a: lib.logsumexp(a, 1), inputs=_ints),
    # ---------------------------------------------------------------- quantile
    Case("reduce_quantile_all", lambda lib, a: lib.quantile(a, 0.3), inputs=_distinct((3, 4))),
    Case(
        "reduce_quantile_dim", lambda lib, a: lib.quantile(a, 0.75, 1), inputs=_distinct((2, 3, 4))
    ),
    Case(
        "reduce_quantile_q_tensor",
        lambda lib, a: lib.quantile(
            a, lib.tensor([0.0, 0.25, 0.875, 1.0], dtype=a.dtype), -1, keepdim=True
        ),
        inputs=_distinct((3, 5)),
    ),
    Case(
        "reduce_quantile_q_tensor_flat",
        lambda lib, a: a.quantile(lib.tensor([0.125, 0.5], dtype=a.dtype), keepdim=True),
        inputs=_distinct((3, 4)),
    ),
    Case(
        "reduce_quantile_lower",
        lambda lib, a: lib.quantile(a, 0.4, 0, interpolation="lower"),
        inputs=_distinct((5, 3)),
    ),
    Case(
        "reduce_quantile_higher",
        lambda lib, a: lib.quantile(a, 0.4, 0, interpolation="higher"),
        inputs=_distinct((5, 3)),
    ),
    Case(
        "reduce_quantile_midpoint",
        lambda lib, a: lib.quantile(
            a, lib.tensor([0.375, 0.5], dtype=a.dtype), 1, interpolation="midpoint"
        ),
        inputs=_distinct((3, 4)),
    ),
    Case(
        "reduce_quantile_nearest",
        lambda lib, a: lib.quantile(
            a, lib.tensor([0.125, 0.375, 0.5, 0.625], dtype=a.dtype), 1, interpolation="nearest"
        ),
        inputs=_distinct((2, 5)),
    ),
    Case(
        "reduce_quantile_nan", lambda lib, a: lib.quantile(a, 0.5, 1), inputs=_with_nan, grad=False
    ),
    Case(
        "reduce_nanquantile",
        lambda lib, a: lib.nanquantile(a, 0.5, 1),
        inputs=_with_nan,
        grad=False,
    ),
    Case(
        "reduce_nanquantile_grad",
        lambda lib, a: lib.nanquantile(a, 0.6, 0),
        inputs=_distinct((4, 3)),
    ),
    Case(
        "reduce_nanquantile_all_nan",
        lambda lib, a: lib.nanquantile(a, 0.5, 1),
        inputs=lambda rng: [np.array([[np.nan, np.nan], [1.0, 2.0]])],
        grad=False,
    ),
    Case("reduce_quantile_0d", lambda lib, a: lib.quantile(a, 0.5), [()]),
]

ERRORS = [
    ErrorCase("reduce_bad_dim_amax", lambda lib: lib.ones(2, 3).amax(2)),
    ErrorCase("reduce_bad_dim_max", lambda lib: lib.max(lib.ones(2, 3), -3)),
    ErrorCase("reduce_bad_dim_softmax", lambda lib: lib.softmax(lib.ones(2, 3), 2)),
    ErrorCase("reduce_bad_dim_cumsum", lambda lib: lib.cumsum(lib.ones(2, 3), 5)),
    ErrorCase("reduce_bad_dim_var", lambda lib: lib.var(lib.ones(2, 3), (0, 4))),
    ErrorCase("reduce_repeated_dim", lambda lib: lib.ones(2, 3).sum((0, -2))),
    ErrorCase("reduce_mean_int", lambda lib: lib.tensor([1, 2, 3]).mean()),
    ErrorCase("reduce_nanmean_int", lambda lib: lib.nanmean(lib.tensor([1, 2, 3]))),
    ErrorCase("reduce_max_empty", lambda lib: lib.max(lib.zeros(0))),
    ErrorCase("reduce_max_empty_dim", lambda lib: lib.max(lib.zeros(0, 2), 0)),
    ErrorCase("reduce_min_empty", lambda lib: lib.zeros(2, 0).min()),
    ErrorCase("reduce_amax_empty", lambda lib: lib.amax(lib.zeros(0, 2))),
    ErrorCase("reduce_amin_empty_dim", lambda lib: lib.amin(lib.zeros(0, 2), 0)),
    ErrorCase("reduce_argmax_empty", lambda lib: lib.argmax(lib.zeros(0))),
    ErrorCase("reduce_argmax_bool", lambda lib: lib.argmax(lib.tensor([True, False]))),
    ErrorCase("reduce_aminmax_empty", lambda lib: lib.aminmax(lib.zeros(0))),
    ErrorCase("reduce_aminmax_empty_dim", lambda lib: lib.aminmax(lib.zeros(0, 3), dim=0)),
    ErrorCase("reduce_max_keepdim_without_dim", lambda lib: lib.max(lib.ones(2), keepdim=True)),
    ErrorCase("reduce_prod_tuple_dim", lambda lib: lib.prod(lib.ones(2, 3), (0, 1))),
    ErrorCase("reduce_var_int", lambda lib: lib.var(lib.tensor([1, 2, 3]))),
    ErrorCase("reduce_std_int", lambda lib: lib.tensor([1, 2, 3]).std()),
    ErrorCase("reduce_norm_int", lambda lib: lib.norm(lib.tensor([1, 2]))),
    ErrorCase("reduce_norm_inf_empty", lambda lib: lib.norm(lib.zeros(0), INF)),
    ErrorCase("reduce_softmax_int", lambda lib: lib.softmax(lib.tensor([1, 2]), 0)),
    ErrorCase("reduce_softmax_no_dim", lambda lib: lib.softmax(lib.ones(3))),
    ErrorCase("reduce_softmax_dim_none", lambda lib: lib.softmax(lib.ones(3), None)),
    ErrorCase("reduce_log_softmax_int", lambda lib: lib.log_softmax(lib.tensor([1, 2]), 0)),
    ErrorCase("reduce_logsumexp_no_dim", lambda lib: lib.logsumexp(lib.ones(3))),
    ErrorCase("reduce_logcumsumexp_int", lambda lib: lib.logcumsumexp(lib.tensor([1, 2]), 0)),
    ErrorCase("reduce_cumsum_no_dim", lambda lib: lib.cumsum(lib.ones(3))),
    ErrorCase("reduce_quantile_q_range", lambda lib: lib.quantile(lib.ones(3), 1.5)),
    ErrorCase(
        "reduce_quantile_q_negative", lambda lib: lib.quantile(lib.ones(3), lib.tensor([0.5, -0.1]))
    ),
    ErrorCase("reduce_quantile_int", lambda lib: lib.quantile(lib.tensor([1, 2, 3]), 0.5)),
    ErrorCase("reduce_quantile_empty", lambda lib: lib.quantile(lib.zeros(0), 0.5)),
    ErrorCase(
        "reduce_quantile_q_dtype",
        lambda lib: lib.quantile(lib.ones(3), lib.tensor([0.5], dtype=lib.float64)),
    ),
    ErrorCase(
        "reduce_quantile_bad_mode",
        lambda lib: lib.quantile(lib.ones(3), 0.5, interpolation="cubic"),
    ),
]
