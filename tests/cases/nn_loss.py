"""Oracle cases for the ``nn.functional`` losses (values, gradients, gradcheck, float32).

Class weights are built inside the lambdas (PyTorch gives no gradient for them) in the
input's dtype; integer targets come from ``inputs=`` so that they do not require grad.
"""

from tests.oracle import Case, ErrorCase


def F(lib):
    return lib.nn.functional


def _classes(shape, classes, ignore=None):
    """Logits of ``shape`` and int64 targets for (N, C, d...) logits; ``ignore`` sets some."""

    def make(rng):
        target_shape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
        target = rng.integers(0, classes, size=target_shape)
        if ignore is not None and target.ndim:
            target.flat[::3] = ignore
        return [rng.standard_normal(shape) * 2, target]

    return make


def _weight(lib, like, values):
    return lib.tensor(values, dtype=like.dtype)


def _probabilities(rng, shape, dim=1):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=dim, keepdims=True)


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


CASES = [
    # regression
    Case("nn_loss_l1", lambda lib, a, b: F(lib).l1_loss(a, b), [(3, 4), (3, 4)]),
    Case(
        "nn_loss_l1_sum", lambda lib, a, b: F(lib).l1_loss(a, b, reduction="sum"), [(2, 3), (2, 3)]
    ),
    Case(
        "nn_loss_l1_none",
        lambda lib, a, b: F(lib).l1_loss(a, b, reduction="none"),
        [(2, 3), (2, 3)],
    ),
    Case(
        "nn_loss_l1_weight",
        lambda lib, a, b, w: F(lib).l1_loss(a, b, weight=w),
        [(2, 3), (2, 3), (2, 3)],
        domain=(0.1, 2),
    ),
    Case(
        "nn_loss_mse_weight_sum",
        lambda lib, a, b, w: F(lib).mse_loss(a, b, reduction="sum", weight=w),
        [(2, 3), (2, 3), (2, 3)],
    ),
    Case(
        "nn_loss_mse_legacy",
        lambda lib, a, b: F(lib).mse_loss(a, b, size_average=False),
        [(2, 3), (2, 3)],
    ),
    Case("nn_loss_smooth_l1", lambda lib, a, b: F(lib).smooth_l1_loss(a, b), [(3, 4), (3, 4)]),
    Case(
        "nn_loss_smooth_l1_beta",
        lambda lib, a, b: F(lib).smooth_l1_loss(a, b, beta=0.5, reduction="none"),
        [(3, 4), (3, 4)],
    ),
    Case(
        "nn_loss_smooth_l1_beta0",
        lambda lib, a, b: F(lib).smooth_l1_loss(a, b, beta=0.0, reduction="sum"),
        [(5,), (5,)],
    ),
    Case("nn_loss_huber", lambda lib, a, b: F(lib).huber_loss(a, b), [(3, 4), (3, 4)]),
    Case(
        "nn_loss_huber_delta",
        lambda lib, a, b: F(lib).huber_loss(a, b, reduction="none", delta=0.7),
        [(3, 4), (3, 4)],
    ),
    Case(
        "nn_loss_huber_weight",
        lambda lib, a, b, w: F(lib).huber_loss(a, b, delta=1.5, weight=w),
        [(2, 3), (2, 3), (2, 3)],
    ),
    # binary classification
    Case(
        "nn_loss_bce",
        lambda lib, a, b: F(lib).binary_cross_entropy(a, b),
        [(3, 4), (3, 4)],
        domain=(0.05, 0.95),
    ),
    Case(
        "nn_loss_bce_weight",
        lambda lib, a, b: F(lib).binary_cross_entropy(
            a, b, weight=_weight(lib, a, [0.5, 1.0, 2.0]), reduction="none"
        ),
        [(2, 3), (2, 3)],
        domain=(0.05, 0.95),
    ),
    Case(
        "nn_loss_bce_sum",
        lambda lib, a, b: F(lib).binary_cross_entropy(a, b, reduction="sum"),
        [(5,), (5,)],
        domain=(0.05, 0.95),
    ),
    Case(
        "nn_loss_bce_edges",
        lambda lib: F(lib).binary_cross_entropy(
            lib.tensor([0.0, 1.0, 0.0, 1.0]), lib.tensor([1.0, 0.0, 0.0, 1.0]), reduction="none"
        ),
    ),
    Case(
        "nn_loss_bce_logits",
        lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a, b),
        [(3, 4), (3, 4)],
        domain=(-3, 3),
    ),
    Case(
        "nn_loss_bce_logits_weights",
        lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(
            a,
            b,
            weight=_weight(lib, a, [0.5, 1.0, 2.0, 1.5]),
            pos_weight=_weight(lib, a, [3.0, 0.5, 1.0, 2.0]),
            reduction="none",
        ),
        [(3, 4), (3, 4)],
        domain=(-2, 2),
    ),
    Case(
        "nn_loss_bce_logits_large",
        lambda lib, a, b: F(lib).binary_cross_entropy_with_logits(a * 300, b, reduction="sum"),
        [(6,), (6,)],
        domain=(-1, 1),
    ),
    # multi-class
    Case("nn_loss_ce", lambda lib, x, t: F(lib).cross_entropy(x, t), inputs=_classes((4, 5), 5)),
    Case(
        "nn_loss_ce_sum",
        lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="sum"),
        inputs=_classes((4, 3), 3),
    ),
    Case(
        "nn_loss_ce_none",
        lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
        inputs=_classes((4, 3), 3),
    ),
    Case(
        "nn_loss_ce_unbatched",
        lambda lib, x, t: F(lib).cross_entropy(x, t),
        inputs=_classes((5,), 5),
    ),
    Case(
        "nn_loss_ce_unbatched_none",
        lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
        inputs=_classes((5,), 5),
    ),
    Case(
        "nn_loss_ce_weight",
        lambda lib, x, t: F(lib).cross_entropy(x, t, weight=_weight(lib, x, [0.2, 1.0, 3.0])),
        inputs=_classes((5, 3), 3),
    ),
    Case(
        "nn_loss_ce_ignore",
        lambda lib, x, t: F(lib).cross_entropy(x, t, ignore_index=-100),
        inputs=_classes((6, 3), 3, ignore=-100),
    ),
    Case(
        "nn_loss_ce_ignore_class",
        lambda lib, x, t: F(lib).cross_entropy(
            x, t, weight=_weight(lib, x, [0.5, 2.0, 1.0]), ignore_index=1
        ),
        inputs=_classes((6, 3), 3),
    ),
    Case(
        "nn_loss_ce_ignore_none",
        lambda lib, x, t: F(lib).cross_entropy(x, t, ignore_index=7, reduction="none"),
        inputs=_classes((6, 3), 3, ignore=7),
    ),
    Case(
        "nn_loss_ce_3d", lambda lib, x, t: F(lib).cross_entropy(x, t), inputs=_classes((2, 3, 4), 3)
    ),
    Case(
        "nn_loss_ce_4d_weight",
        lambda lib, x, t: F(lib).cross_entropy(x, t, weight=_weight(lib, x, [1.0, 2.0, 0.5])),
        inputs=_classes((2, 3, 2, 2), 3),
    ),
    Case(
        "nn_loss_ce_5d_none",
        lambda lib, x, t: F(lib).cross_entropy(x, t, reduction="none"),
        inputs=_classes((1, 3, 2, 2, 2), 3),
    ),
    Case(
        "nn_loss_ce_smoothing",
        lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.1),
        inputs=_classes((4, 5), 5),
    ),
    Case(
        "nn_loss_ce_smoothing_weight_ignore",
        lambda lib, x, t: F(lib).cross_entropy(
            x, t, weight=_weight(lib, x, [0.3, 1.0, 2.0]), label_smoothing=0.2
        ),
        inputs=_classes((6, 3), 3, ignore=-100),
    ),
    Case(
        "nn_loss_ce_smoothing_3d_none",
        lambda lib, x, t: F(lib).cross_entropy(
            x, t, label_smoothing=0.3, ignore_index=0, reduction="none"
        ),
        inputs=_classes((2, 3, 3), 3),
    ),
    Case(
        "nn_loss_ce_smoothing_sum",
        lambda lib, x, t: F(lib).cross_entropy(x, t, label_smoothing=0.25, reduction="sum"),
        inputs=_classes((2, 3, 2), 3, ignore=-100),
    ),
    Case(
        "nn_loss_ce_unbatched_smoothing_weight",
        lambda lib, x, t: F(lib).cross_entropy(
            x, t, weight=_weight(lib, x, [1.0, 2.0, 0.5, 1.0, 3.0]), label_smoothing=0.2
        ),
        inputs=_classes((5,), 5),
    ),
    Case(
        "nn_loss_poisson_full_0d",
        lambda lib, x, t: F(lib).poisson_nll_loss(x, t, full=True),
        [(), ()],
        domain=(1.2, 3),
    ),
    Case(
        "nn_loss_ce_probabilities",
        lambda lib, x, p: F(lib).cross_entropy(x, p),
        inputs=lambda rng: [rng.standard_normal((3, 4)), _probabilities(rng, (3, 4))],
    ),
    Case(
        "nn_loss_ce_probabilities_weight_smoothing",
        lambda lib, x, p: F(lib).cross_entropy(
            x, p, weight=_weight(lib, x, [1.0, 0.5, 2.0]), label_smoothing=0.1
        ),
        inputs=lambda rng: [rng.standard_normal((2, 3, 2)), _probabilities(rng, (2, 3, 2))],
    ),
    Case(
        "nn_loss_ce_probabilities_none",
        lambda lib, x, p: F(lib).cross_entropy(x, p, reduction="none"),
        inputs=lambda rng: [rng.standard_normal((4,)), _probabilities(rng, (4,), 0)],
    ),
    Case(
        "nn_loss_ce_large_logits",
        lambda lib, x, t: F(lib).cross_entropy(x * 1000, t, reduction="none"),
        inputs=_classes((3, 4), 4),
    ),
    Case(
        "nn_loss_ce_all_ignored",
        lambda lib, x: F(lib).cross_entropy(x, lib.tensor([-100, -100])),
        [(2, 3)],
        grad=False,
    ),
    Case(
        "nn_loss_ce_empty",
        lambda lib, x: F(lib).cross_entropy(x, lib.zeros(0, dtype=lib.int64)),
        [(0, 3)],
        grad=False,
    ),
    Case("nn_loss_nll", lambda lib, x, t: F(lib).nll_loss(x, t), inputs=_classes((4, 5), 5)),
    Case(
        "nn_loss_nll_weight_ignore",
        lambda lib, x, t: F(lib).nll_loss(
            x, t, weight=_weight(lib, x, [0.5, 1.5, 2.5, 1.0]), ignore_index=2
        ),
        inputs=_classes((6, 4), 4),
    ),
    Case(
        "nn_loss_nll_none_3d",
        lambda lib, x, t: F(lib).nll_loss(x, t, reduction="none"),
        inputs=_classes((2, 3, 3), 3),
    ),
    Case(
        "nn_loss_nll_sum_4d",
        lambda lib, x, t: F(lib).nll_loss(x, t, reduction="sum"),
        inputs=_classes((2, 3, 2, 2), 3),
    ),
    Case(
        "nn_loss_nll_unbatched", lambda lib, x, t: F(lib).nll_loss(x, t), inputs=_classes((4,), 4)
    ),
    Case(
        "nn_loss_nll_legacy",
        lambda lib, x, t: F(lib).nll_loss(x, t, size_average=False),
        inputs=_classes((3, 4), 4),
    ),
    # divergences and likelihoods
    Case(
        "nn_loss_kl_div",
        lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean"),
        inputs=lambda rng: [rng.standard_normal((3, 4)), _probabilities(rng, (3, 4))],
    ),
    Case(
        "nn_loss_kl_div_zero_target",
        lambda lib, x: F(lib).kl_div(
            x, lib.tensor([[0.0, 0.5, 0.5]], dtype=x.dtype), reduction="sum"
        ),
        [(2, 3)],
    ),
    Case(
        "nn_loss_kl_div_mean",
        lambda lib, x, t: F(lib).kl_div(x, t),
        [(2, 3), (2, 3)],
        domain=(0.1, 1),
    ),
    Case(
        "nn_loss_kl_div_log_target",
        lambda lib, x, t: F(lib).kl_div(x, t, reduction="none", log_target=True),
        [(2, 3), (2, 3)],
    ),
    Case(
        "nn_loss_kl_div_batchmean_0d",
        lambda lib, x, t: F(lib).kl_div(x, t, reduction="batchmean", log_target=True),
        [(), ()],
    ),
    Case(
        "nn_loss_poisson",
        lambda lib, x, t: F(lib).poisson_nll_loss(x, t),
        [(3, 4), (3, 4)],
        domain=(0.1, 3),
    ),
    Case(
        "nn_loss_poisson_full",
        lambda lib, x, t: F(lib).poisson_nll_loss(
            x, t, log_input=False, full=True, reduction="none"
        ),
        [(3, 4), (3, 4)],
        domain=(0.1, 3),
    ),
    Case(
        "nn_loss_gaussian",
        lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v),
        [(3, 4), (3, 4), (3, 4)],
        domain=(0.1, 2),
    ),
    Case(
        "nn_loss_gaussian_short_var",
        lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, full=True, reduction="sum"),
        [(3, 4), (3, 4), (3,)],
        domain=(0.1, 2),
    ),
    Case(
        "nn_loss_gaussian_one_var",
        lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v, reduction="none"),
        [(3, 4), (3, 4), (3, 1)],
        domain=(0.1, 2),
    ),
    Case(
        "nn_loss_gaussian_clamped",
        lambda lib, x, t, v: F(lib).gaussian_nll_loss(x, t, v * 0, eps=0.5),
        [(4,), (4,), (4,)],
    ),
    Case(
        "nn_loss_gaussian_float_var",
        lambda lib, x, t: F(lib).gaussian_nll_loss(x, t, 0.7),
        [(4,), (4,)],
    ),
    # margins and embeddings
    Case(
        "nn_loss_cosine_embedding",
        lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, margin=0.1),
        inputs=lambda rng: [
            rng.standard_normal((4, 3)),
            rng.standard_normal((4, 3)),
            _signs(rng, (4,)),
        ],
    ),
    Case(
        "nn_loss_cosine_embedding_1d",
        lambda lib, a, b, y: F(lib).cosine_embedding_loss(a, b, y, reduction="none"),
        inputs=lambda rng: [rng.standard_normal(3), rng.standard_normal(3), _signs(rng, ())],
    ),
    Case(
        "nn_loss_margin_ranking",
        lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, margin=0.3),
        inputs=lambda rng: [rng.standard_normal(5), rng.standard_normal(5), _signs(rng, 5)],
    ),
    Case(
        "nn_loss_margin_ranking_none",
        lambda lib, a, b, y: F(lib).margin_ranking_loss(a, b, y, reduction="none"),
        inputs=lambda rng: [
            rng.standard_normal((2, 3)),
            rng.standard_normal((2, 3)),
            _signs(rng, (2, 3)),
        ],
    ),
    Case(
        "nn_loss_hinge_embedding",
        lambda lib, x, y: F(lib).hinge_embedding_loss(x, y, margin=1.5),
        inputs=lambda rng: [rng.standard_normal((3, 4)), _signs(rng, (3, 4))],
    ),
    Case(
        "nn_loss_hinge_embedding_none",
        lambda lib, x, y: F(lib).hinge_embedding_loss(x, y, reduction="none"),
        inputs=lambda rng: [rng.standard_normal(6), _signs(rng, 6)],
    ),
    Case(
        "nn_loss_triplet",
        lambda lib, a, p, n: F(lib).triplet_margin_loss(a, p, n),
        [(4, 3), (4, 3), (4, 3)],
    ),
    Case(
        "nn_loss_triplet_p1_swap",
        lambda lib, a, p, n: F(lib).triplet_margin_loss(
            a, p, n, margin=2.0, p=1, swap=True, reduction="none"
        ),
        [(4, 3), (4, 3), (4, 3)],
    ),
    Case(
        "nn_loss_triplet_1d",
        lambda lib, a, p, n: F(lib).triplet_margin_loss(a, p, n),
        [(3,), (3,), (3,)],
    ),
    Case(
        "nn_loss_soft_margin",
        lambda lib, x, y: F(lib).soft_margin_loss(x, y.to(x.dtype)),
        inputs=lambda rng: [rng.standard_normal((3, 4)), _signs(rng, (3, 4)).astype(int)],
    ),
    Case(
        "nn_loss_soft_margin_none",
        lambda lib, x, y: F(lib).soft_margin_loss(x * 100, y.to(x.dtype), reduction="none"),
        inputs=lambda rng: [rng.standard_normal(5), _signs(rng, 5).astype(int)],
    ),
    Case(
        "nn_loss_multilabel_soft_margin",
        lambda lib, x, y: F(lib).multilabel_soft_margin_loss(x, y),
        inputs=lambda rng: [rng.standard_normal((3, 4)), rng.integers(0, 2, (3, 4)) * 1.0],
    ),
    Case(
        "nn_loss_multilabel_soft_margin_weight",
        lambda lib, x, y, w: F(lib).multilabel_soft_margin_loss(x, y, weight=w, reduction="none"),
        inputs=lambda rng: [
            rng.standard_normal((3, 4)),
            rng.integers(0, 2, (3, 4)) * 1.0,
            rng.uniform(0.5, 2, 4),
        ],
    ),
]


def _logits(lib):
    return lib.zeros(3, 4)


ERRORS = [
    ErrorCase(
        "nn_loss_ce_float_target",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1.0, 2.0, 3.0])),
    ),
    ErrorCase(
        "nn_loss_ce_int32_target",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2, 3]).int()),
    ),
    ErrorCase(
        "nn_loss_ce_batch_mismatch",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2])),
    ),
    ErrorCase(
        "nn_loss_ce_out_of_range",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2, 4])),
    ),
    ErrorCase(
        "nn_loss_ce_negative_target",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, -1, 0])),
    ),
    ErrorCase(
        "nn_loss_ce_bad_weight",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2, 3]), weight=lib.ones(3)),
    ),
    ErrorCase(
        "nn_loss_ce_spatial_target",
        lambda lib: F(lib).cross_entropy(lib.zeros(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)),
    ),
    ErrorCase(
        "nn_loss_ce_4d_target",
        lambda lib: F(lib).cross_entropy(
            lib.zeros(2, 3, 4, 5), lib.zeros(2, 4, 4, dtype=lib.int64)
        ),
    ),
    ErrorCase(
        "nn_loss_ce_multi_target",
        lambda lib: F(lib).cross_entropy(lib.zeros(2, 3), lib.zeros(2, 1, dtype=lib.int64)),
    ),
    ErrorCase(
        "nn_loss_ce_int_probabilities",
        lambda lib: F(lib).cross_entropy(lib.tensor(1.0), lib.tensor(0)),
    ),
    ErrorCase(
        "nn_loss_ce_probabilities_ignore",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.ones(3, 4), ignore_index=1),
    ),
    ErrorCase(
        "nn_loss_ce_smoothing_range",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2, 3]), label_smoothing=1.5),
    ),
    ErrorCase(
        "nn_loss_ce_bad_reduction",
        lambda lib: F(lib).cross_entropy(_logits(lib), lib.tensor([1, 2, 3]), reduction="average"),
    ),
    ErrorCase(
        "nn_loss_ce_int_input",
        lambda lib: F(lib).cross_entropy(lib.ones(3, 4, dtype=lib.int64), lib.tensor([1, 2, 3])),
    ),
    ErrorCase(
        "nn_loss_nll_out_of_range", lambda lib: F(lib).nll_loss(_logits(lib), lib.tensor([0, 5, 1]))
    ),
    ErrorCase(
        "nn_loss_nll_float_target",
        lambda lib: F(lib).nll_loss(_logits(lib), lib.tensor([0.0, 1.0, 1.0])),
    ),
    ErrorCase(
        "nn_loss_bce_range",
        lambda lib: F(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
    ),
    ErrorCase(
        "nn_loss_bce_shape",
        lambda lib: F(lib).binary_cross_entropy(lib.ones(3) / 2, lib.ones(3, 1)),
    ),
    ErrorCase(
        "nn_loss_bce_int_target",
        lambda lib: F(lib).binary_cross_entropy(lib.ones(3) / 2, lib.ones(3, dtype=lib.int64)),
    ),
    ErrorCase(
        "nn_loss_bce_logits_shape",
        lambda lib: F(lib).binary_cross_entropy_with_logits(lib.ones(3), lib.ones(3, 1)),
    ),
    ErrorCase(
        "nn_loss_smooth_l1_negative_beta",
        lambda lib: F(lib).smooth_l1_loss(lib.ones(3), lib.ones(3), beta=-1.0),
    ),
    ErrorCase(
        "nn_loss_huber_zero_delta",
        lambda lib: F(lib).huber_loss(lib.ones(3), lib.ones(3), delta=0.0),
    ),
    ErrorCase(
        "nn_loss_l1_weight_shape",
        lambda lib: F(lib).l1_loss(lib.ones(3), lib.ones(3), weight=lib.ones(2)),
    ),
    ErrorCase(
        "nn_loss_l1_bad_reduction",
        lambda lib: F(lib).l1_loss(lib.ones(3), lib.ones(3), reduction="x"),
    ),
    ErrorCase(
        "nn_loss_kl_bad_reduction",
        lambda lib: F(lib).kl_div(lib.ones(3), lib.ones(3), reduction="x"),
    ),
    ErrorCase(
        "nn_loss_margin_ranking_dims",
        lambda lib: F(lib).margin_ranking_loss(lib.ones(3), lib.ones(3), lib.ones(3, 1)),
    ),
    ErrorCase(
        "nn_loss_cosine_1d_target_1d_inputs",
        lambda lib: F(lib).cosine_embedding_loss(lib.ones(3), lib.ones(3), lib.ones(1)),
    ),
    ErrorCase(
        "nn_loss_cosine_0d_target_2d_inputs",
        lambda lib: F(lib).cosine_embedding_loss(lib.ones(2, 3), lib.ones(2, 3), lib.tensor(1.0)),
    ),
    ErrorCase(
        "nn_loss_triplet_dims",
        lambda lib: F(lib).triplet_margin_loss(lib.ones(2, 3), lib.ones(3), lib.ones(2, 3)),
    ),
    ErrorCase(
        "nn_loss_triplet_margin",
        lambda lib: F(lib).triplet_margin_loss(
            lib.ones(2, 3), lib.ones(2, 3), lib.ones(2, 3), margin=0.0
        ),
    ),
    ErrorCase(
        "nn_loss_gaussian_var_shape",
        lambda lib: F(lib).gaussian_nll_loss(lib.ones(3, 2), lib.ones(3, 2), lib.ones(3, 4)),
    ),
    ErrorCase(
        "nn_loss_gaussian_negative_var",
        lambda lib: F(lib).gaussian_nll_loss(lib.ones(3, 2), lib.ones(3, 2), -lib.ones(3, 2)),
    ),
    ErrorCase(
        "nn_loss_soft_margin_broadcast",
        lambda lib: F(lib).soft_margin_loss(lib.ones(3), lib.ones(3, 1)),
    ),
]
