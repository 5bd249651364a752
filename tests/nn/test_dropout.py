"""Dropout: masks are random (ember's generator, not PyTorch's), so these tests check the
statistics, the mask's structure, that the gradient uses the forward's mask, eval-mode
identity, reproducibility under ``manual_seed``, and errors and reprs against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
import ember.nn.functional as F


def test_dropout_scales_kept_entries_and_keeps_the_mean():
    ember.manual_seed(0)
    x = ember.ones(200, 100)
    y = F.dropout(x, 0.3).numpy()
    values = np.unique(y)
    assert len(values) == 2 and values[0] == 0 and np.isclose(values[1], 1 / 0.7)
    assert abs((y == 0).mean() - 0.3) < 0.01
    assert abs(y.mean() - 1.0) < 0.02


def _seeded(function, x, seed=7):
    ember.manual_seed(seed)
    return function(x)


@pytest.mark.parametrize("function", [
    lambda x: F.dropout(x, 0.4),
    lambda x: F.dropout1d(x, 0.5),
    lambda x: F.alpha_dropout(x, 0.4, True),
    lambda x: F.feature_alpha_dropout(x, 0.3, True),
])
def test_gradient_uses_the_forward_mask(function):
    x = ember.randn(6, 5, dtype=ember.float64, requires_grad=True)
    y = _seeded(function, x)
    # With one seed the layer is affine in x: y = x * factor + shift, one mask throughout.
    shift = _seeded(function, ember.zeros(6, 5, dtype=ember.float64))
    factor = _seeded(function, ember.ones(6, 5, dtype=ember.float64)) - shift
    np.testing.assert_allclose(y.detach().numpy(), (x.detach() * factor + shift).numpy(),
                               atol=1e-12)
    cotangent = ember.randn(6, 5, dtype=ember.float64)
    (grad,) = ember.autograd.grad(y, x, cotangent)
    np.testing.assert_allclose(grad.numpy(), (cotangent * factor).numpy(), atol=1e-12)
    assert ember.autograd.gradgradcheck(lambda x: _seeded(function, x), (x,))


def test_mask_is_reproducible_with_manual_seed():
    ember.manual_seed(3)
    first = F.dropout(ember.ones(50), 0.5)
    ember.manual_seed(3)
    second = F.dropout(ember.ones(50), 0.5)
    assert ember.equal(first, second)
    assert not ember.equal(first, F.dropout(ember.ones(50), 0.5))


def test_eval_mode_and_p_zero_are_the_identity():
    x = ember.randn(3, 4)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    layer = nn.Dropout(0.5).eval()
    assert ember.equal(layer(x), x)
    for cls, shape in ((nn.Dropout1d, (2, 3, 2)), (nn.Dropout2d, (2, 3, 2, 2)),
                       (nn.Dropout3d, (2, 3, 2, 2, 2)), (nn.AlphaDropout, (2, 3)),
                       (nn.FeatureAlphaDropout, (2, 3, 2))):
        assert ember.equal(cls(0.5).eval()(ember.ones(*shape)), ember.ones(*shape))
    assert ember.equal(F.alpha_dropout(x, 0.5), x)  # training defaults to False there


def test_p_one_gives_zeros_and_keeps_nan():
    y = F.dropout(ember.tensor([1.0, -2.0, float("nan")]), 1.0)
    expected = torch.nn.functional.dropout(torch.tensor([1.0, -2.0, float("nan")]), 1.0)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())


@pytest.mark.parametrize("function,shape,batched", [
    (lambda x: F.dropout1d(x, 0.5), (8, 6, 5), True),
    (lambda x: F.dropout1d(x, 0.5), (16, 5), False),
    (lambda x: F.dropout2d(x, 0.5), (8, 6, 3, 2), True),
    (lambda x: F.dropout3d(x, 0.5), (4, 6, 2, 2, 2), True),
    (lambda x: F.dropout3d(x, 0.5), (16, 2, 2, 2), False),
    (lambda x: F.feature_alpha_dropout(x, 0.5, True), (8, 6, 5), True),
])
def test_channel_dropout_drops_whole_channels(function, shape, batched):
    ember.manual_seed(4)
    y = function(ember.ones(*shape)).numpy()
    channels = y.reshape(-1, int(np.prod(shape[2 if batched else 1:])))
    assert np.all(channels == channels[:, :1])  # one value per channel
    assert len(np.unique(channels[:, 0])) == 2  # some kept, some dropped


def test_alpha_dropout_keeps_mean_and_variance():
    ember.manual_seed(5)
    x = ember.randn(400, 250)
    y = F.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.var() - 1.0) < 0.03
    expected = torch.nn.functional.alpha_dropout(torch.ones(1000) * 3, 0.2, True).unique()
    actual = F.alpha_dropout(ember.ones(1000) * 3, 0.2, True).unique()
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-6)


def test_inplace_writes_into_the_input():
    ember.manual_seed(6)
    x = ember.ones(4, 5)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    z = ember.ones(3, 4)
    layer = nn.Dropout1d(0.5, inplace=True)
    assert layer(z) is z and np.all(z.numpy() == z.numpy()[:, :1])
    leaf = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        F.dropout(leaf, 0.5, inplace=True)
    base = ember.ones(3, requires_grad=True)
    a = base * 1
    F.dropout(a, 0.5, inplace=True).sum().backward()
    assert set(np.unique(base.grad.numpy())) <= {0.0, 2.0}


def test_reprs_match_torch():
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                 "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.25, True)) == repr(getattr(torch.nn, name)(0.25, True))
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


@pytest.mark.parametrize("function", [
    lambda lib: lib.nn.functional.dropout(lib.ones(3), 1.5),
    lambda lib: lib.nn.functional.dropout(lib.ones(3), -0.1),
    lambda lib: lib.nn.Dropout(1.5),
    lambda lib: lib.nn.Dropout2d(-1),
    lambda lib: lib.nn.functional.alpha_dropout(lib.ones(3), 2.0),
    lambda lib: lib.nn.functional.dropout1d(lib.ones(2, 3, 4, 5)),
    lambda lib: lib.nn.functional.dropout(lib.ones(3, dtype=lib.int64), 0.5),
    lambda lib: lib.nn.functional.alpha_dropout(lib.ones(3, dtype=lib.int64), 0.5, True),
])
def test_errors_match_torch(function):
    with pytest.raises(Exception) as expected:
        function(torch)
    with pytest.raises(type(expected.value)) as actual:
        function(ember)
    if "probability" in str(expected.value):
        assert str(actual.value) == str(expected.value)


def test_dropout2d_warns_on_3d_input():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(ember.ones(2, 3, 4), 0.5)
    assert math.isclose(nn.Dropout(0.1).p, 0.1)
