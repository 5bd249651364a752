"""The torch.* top-level spellings scripts use, compared with PyTorch 2.13.

Each case is written as a script would write it (``torch.conv2d(x, w, b, 1, 1)``) and
runs unchanged on both libraries through the oracle: values, dtypes, gradients of a
random cotangent, and ember's finite-difference gradcheck.
"""

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, check_case

torch.set_num_threads(1)


def _indices(high, shape):
    return lambda rng: [rng.integers(0, high, size=shape)]


FUNCTIONAL_CASES = [
    Case("conv1d", lambda lib, x, w, b: lib.conv1d(x, w, b, 2, 1), [(2, 3, 7), (4, 3, 3), (4,)]),
    Case("conv2d", lambda lib, x, w: lib.conv2d(x, w, None, 1, 1, 1, 1), [(1, 2, 5, 5), (3, 2, 3, 3)]),
    Case("conv3d", lambda lib, x, w: lib.conv3d(x, w, stride=2), [(1, 2, 4, 4, 4), (2, 2, 2, 2, 2)]),
    Case("conv_transpose1d", lambda lib, x, w: lib.conv_transpose1d(x, w, None, 2, 1, 1),
         [(1, 3, 5), (3, 2, 3)]),
    Case("conv_transpose2d", lambda lib, x, w, b: lib.conv_transpose2d(x, w, b, 2),
         [(1, 2, 3, 3), (2, 3, 2, 2), (3,)]),
    Case("conv_transpose3d", lambda lib, x, w: lib.conv_transpose3d(x, w),
         [(1, 2, 2, 2, 2), (2, 1, 2, 2, 2)]),
    Case("layer_norm", lambda lib, x, w, b: lib.layer_norm(x, [4], w, b, 1e-5, True),
         [(3, 4), (4,), (4,)]),
    Case("group_norm", lambda lib, x, w, b: lib.group_norm(x, 2, w, b, 1e-5, True),
         [(2, 4, 3), (4,), (4,)]),
    Case("rms_norm", lambda lib, x, w: lib.rms_norm(x, [3], w), [(2, 3), (3,)]),
    Case("batch_norm", lambda lib, x, w, b: lib.batch_norm(
        x, w, b, None, None, True, 0.1, 1e-5, True), [(4, 3), (3,), (3,)]),
    Case("instance_norm", lambda lib, x, w, b: lib.instance_norm(
        x, w, b, None, None, True, 0.1, 1e-5, True), [(2, 3, 5), (3,), (3,)]),
    Case("dropout_eval", lambda lib, x: lib.dropout(x, 0.5, False), [(3, 4)]),
    Case("alpha_dropout_eval", lambda lib, x: lib.alpha_dropout(x, 0.5, False), [(3, 4)]),
    Case("feature_alpha_dropout_eval", lambda lib, x: lib.feature_alpha_dropout(x, 0.2, False),
         [(2, 3, 4)]),
    Case("embedding", lambda lib, w, i: lib.embedding(w, i),
         inputs=lambda rng: [rng.standard_normal((5, 3)), rng.integers(0, 5, (2, 4))]),
    Case("pixel_shuffle", lambda lib, x: lib.pixel_shuffle(x, 2), [(1, 8, 2, 3)]),
    Case("pixel_unshuffle", lambda lib, x: lib.pixel_unshuffle(x, 2), [(1, 2, 4, 6)]),
    Case("channel_shuffle", lambda lib, x: lib.channel_shuffle(x, 3), [(2, 6, 2, 2)]),
    Case("constant_pad_nd", lambda lib, x: lib.constant_pad_nd(x, [1, 2, 0, 1], 0.5), [(2, 3, 4)]),
    Case("prelu", lambda lib, x, w: lib.prelu(x, w), [(2, 3, 4), (3,)]),
    Case("celu", lambda lib, x: lib.celu(x, 0.7), [(3, 4)]),
    Case("selu", lambda lib, x: lib.selu(x), [(3, 4)]),
    Case("threshold", lambda lib, x: lib.threshold(x, 0.3, -2.0), [(3, 4)], gradgrad=False),
    Case("hardshrink", lambda lib, x: lib.hardshrink(x, 0.4), [(3, 4)], gradgrad=False),
    Case("cosine_similarity", lambda lib, a, b: lib.cosine_similarity(a, b, 0), [(4, 3), (4, 3)]),
    Case("pairwise_distance", lambda lib, a, b: lib.pairwise_distance(a, b, 3.0, 1e-6, True),
         [(4, 3), (4, 3)]),
    Case("pdist", lambda lib, x: lib.pdist(x, 2.0), [(4, 3)]),
    Case("kl_div", lambda lib, x, t: lib.kl_div(x, t, 1, log_target=True), [(3, 4), (3, 4)]),
    Case("kl_div_sum", lambda lib, x, t: lib.kl_div(x, t.abs() + 0.1, 2), [(3, 4), (3, 4)]),
    Case("bilinear", lambda lib, a, b, w, c: lib.bilinear(a, b, w, c),
         [(3, 2), (3, 4), (5, 2, 4), (5,)]),
    Case("binary_cross_entropy_with_logits", lambda lib, x, t:
         lib.binary_cross_entropy_with_logits(x, t.sigmoid(), lib.linspace(
             0.5, 1.5, 4, dtype=x.dtype), lib.linspace(1.0, 2.0, 4, dtype=x.dtype), 2),
         [(3, 4), (3, 4)]),
    Case("margin_ranking_loss", lambda lib, a, b, t: lib.margin_ranking_loss(
        a, b, t.sign(), 0.2, 0), [(5,), (5,), (5,)], gradgrad=False),
    Case("cosine_embedding_loss", lambda lib, a, b, t: lib.cosine_embedding_loss(
        a, b, t.sign(), 0.1, 1), [(4, 3), (4, 3), (4,)], gradgrad=False),
    Case("hinge_embedding_loss", lambda lib, x, t: lib.hinge_embedding_loss(x, t.sign(), 1.5, 2),
         [(5,), (5,)], gradgrad=False),
    Case("triplet_margin_loss", lambda lib, a, p, n: lib.triplet_margin_loss(
        a, p, n, 1.0, 2.0, 1e-6, True, 1), [(4, 3), (4, 3), (4, 3)], gradgrad=False),
    Case("poisson_nll_loss", lambda lib, x, t: lib.poisson_nll_loss(
        x, t.abs(), True, True, 1e-8, 1), [(3, 4), (3, 4)]),
    Case("max_pool1d", lambda lib, x: lib.max_pool1d(x, 2), [(2, 3, 6)], gradgrad=False),
    Case("max_pool1d_stride", lambda lib, x: lib.max_pool1d(x, [3], [2], [1]), [(2, 3, 7)],
         gradgrad=False),
    Case("max_pool2d", lambda lib, x: lib.max_pool2d(x, 2, 1, 0, 1, True), [(1, 2, 5, 5)],
         gradgrad=False),
    Case("avg_pool1d", lambda lib, x: lib.avg_pool1d(x, 3, 2, 1, False, False), [(2, 3, 7)]),
    Case("adaptive_avg_pool1d", lambda lib, x: lib.adaptive_avg_pool1d(x, 3), [(2, 3, 7)]),
    Case("adaptive_max_pool1d", lambda lib, x: lib.adaptive_max_pool1d(x, [3]), [(2, 3, 7)],
         gradgrad=False),
]


@pytest.mark.parametrize("case", FUNCTIONAL_CASES, ids=lambda case: case.name)
def test_functional_forms_at_top_level_match_torch(case):
    check_case(case)


def test_embedding_padding_index_gets_no_gradient_like_torch():
    rng = np.random.default_rng(3)
    weight, indices = rng.standard_normal((5, 3)), rng.integers(0, 5, (2, 6))
    indices[0, 0] = 1
    cotangent = rng.standard_normal((2, 6, 3))
    grads = []
    for lib in (torch, ember):
        w = lib.tensor(weight.copy(), requires_grad=True)
        lib.embedding(w, lib.tensor(indices), 1).backward(lib.tensor(cotangent))
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
    assert not grads[1][1].any()


def test_dropout_has_no_defaults_and_train_false_is_identity():
    with pytest.raises(TypeError):
        ember.dropout(ember.ones(3), 0.5)
    with pytest.raises(TypeError):
        torch.dropout(torch.ones(3), 0.5)
    kept = ember.dropout(ember.ones(1000), 0.5, True)
    assert set(np.unique(kept.numpy()).tolist()) <= {0.0, 2.0}


def test_integer_reduction_out_of_range_is_refused():
    x = ember.zeros(3)
    with pytest.raises(ValueError, match="hinge_embedding_loss.*reduction must be 0"):
        ember.hinge_embedding_loss(x, x, 1.0, "mean")


def test_channel_shuffle_refuses_indivisible_channels_like_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="divisible by groups"):
            lib.channel_shuffle(lib.zeros(1, 5, 2), 2)


def test_inplace_toplevel_forms_modify_their_argument():
    rng = np.random.default_rng(7)
    data = rng.uniform(0.1, 0.9, size=(3, 4))
    for name, args in [("abs_", ()), ("exp_", ()), ("sigmoid_", ()), ("clamp_", (0.3, 0.6)),
                       ("sqrt_", ()), ("tanh_", ()), ("log1p_", ()), ("round_", ()),
                       ("celu_", (0.5,)), ("selu_", ()), ("threshold_", (0.5, 0.0)),
                       ("dropout_", (0.3, False))]:
        expected, actual = torch.tensor(data.copy()), ember.tensor(data.copy())
        returned = getattr(ember, name)(actual, *args)
        getattr(torch, name)(expected, *args)
        assert returned is actual, name
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-12, err_msg=name)


def test_every_tensor_inplace_method_torch_has_at_top_level_is_there():
    missing = [name for name in dir(torch) if name.endswith("_") and not name.startswith("_")
               and hasattr(ember.Tensor, name) and not hasattr(ember, name)]
    assert missing == []


def test_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.layer_norm(ember.ones(2, 3), [3])
