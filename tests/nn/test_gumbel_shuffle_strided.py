"""F.gumbel_softmax (by its properties, and against PyTorch given the same Gumbel noise),
nn.ChannelShuffle, and the Tensor.as_strided method, against PyTorch in float64."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests import devices
from tests.nn.layer_oracle import check_layer
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


# ---------------------------------------------------------------- gumbel_softmax


def _noise_and_sample(logits: np.ndarray, seed: int, **kwargs):
    """The exponential draws gumbel_softmax makes after ``manual_seed(seed)``, and its
    sample (on ``logits`` requiring grad)."""
    ember.manual_seed(seed)
    noise = ember.empty_like(ember.tensor(logits, device=devices.DEVICE)).exponential_()
    ember.manual_seed(seed)
    x = ember.tensor(logits, requires_grad=True, device=devices.DEVICE)
    return noise.cpu().numpy(), x, ember.nn.functional.gumbel_softmax(x, **kwargs)


@pytest.mark.parametrize("tau", [1.0, 0.3])
@pytest.mark.parametrize("dim", [-1, 0])
def test_soft_sample_is_torchs_formula_on_the_same_noise(tau, dim):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4, 6))
    noise, x, sample = _noise_and_sample(logits, 11, tau=tau, dim=dim)
    assert np.all(noise > 0)
    logits_t = torch.tensor(logits, requires_grad=True)
    expected = torch.softmax((logits_t - torch.tensor(noise).log()) / tau, dim)
    assert sample.dtype == ember.float64 and tuple(sample.shape) == (4, 6)
    np.testing.assert_allclose(sample.detach().cpu().numpy(), expected.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sample.sum(dim).detach().cpu().numpy(), 1.0, rtol=1e-12)
    cotangent = rng.standard_normal((4, 6))
    expected_grad = torch.autograd.grad(expected, logits_t, torch.tensor(cotangent))[0]
    actual_grad = ember.autograd.grad(sample, x, ember.tensor(cotangent,
                                                              device=devices.DEVICE))[0]
    np.testing.assert_allclose(actual_grad.cpu().numpy(), expected_grad.numpy(), rtol=1e-10,
                               atol=1e-12)


def test_hard_sample_is_one_hot_with_the_soft_gradient():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((5, 4))
    noise, x, sample = _noise_and_sample(logits, 12, tau=0.5, hard=True)
    values = sample.detach().cpu().numpy()
    assert set(np.unique(values)) <= {0.0, 1.0}
    np.testing.assert_array_equal(values.sum(-1), 1.0)
    logits_t = torch.tensor(logits, requires_grad=True)
    soft = torch.softmax((logits_t - torch.tensor(noise).log()) / 0.5, -1)
    np.testing.assert_array_equal(values.argmax(-1), soft.argmax(-1).numpy())
    # the straight-through estimator: the one-hot's gradient is the soft sample's
    cotangent = rng.standard_normal((5, 4))
    expected_grad = torch.autograd.grad(soft, logits_t, torch.tensor(cotangent))[0]
    actual_grad = ember.autograd.grad(sample, x, ember.tensor(cotangent,
                                                              device=devices.DEVICE))[0]
    np.testing.assert_allclose(actual_grad.cpu().numpy(), expected_grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    assert np.any(actual_grad.cpu().numpy())


def test_samples_are_reproducible_under_a_seed():
    logits = ember.tensor(np.random.default_rng(3).standard_normal((3, 5)))
    draws = []
    for seed in (5, 5, 6):
        ember.manual_seed(seed)
        draws.append(ember.nn.functional.gumbel_softmax(logits).numpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.allclose(draws[0], draws[2])


def test_hard_samples_follow_the_softmax_of_the_logits():
    # The Gumbel-max trick: argmax(logits + g) is a draw of Categorical(softmax(logits)).
    ember.manual_seed(7)
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    count = 40000
    batch = ember.tensor(np.tile(logits, (count, 1)), dtype=ember.float32)
    samples = ember.nn.functional.gumbel_softmax(batch, tau=2.0, hard=True).numpy()
    assert samples.dtype == np.float32
    frequencies = samples.mean(0)
    # five standard errors (about 0.0125 at p = 0.5)
    assert np.all(np.abs(frequencies - np.exp(logits)) < 5 * np.sqrt(0.25 / count))


def test_eps_is_deprecated_as_in_torch():
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
            lib.nn.functional.gumbel_softmax(lib.zeros(2, 3), eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.functional.gumbel_softmax(ember.zeros(2, 3))


def test_integer_logits_raise_like_torch():
    check_error(ErrorCase("gumbel of int64", lambda lib: lib.nn.functional.gumbel_softmax(
        lib.zeros(2, 3, dtype=lib.int64))))


# ---------------------------------------------------------------- ChannelShuffle


@pytest.mark.parametrize("groups, shape", [(3, (2, 6, 3, 2)), (2, (2, 4, 5)), (1, (1, 3, 2)),
                                           (4, (1, 8, 2, 1, 2))])
def test_channel_shuffle_layer_matches_torch(groups, shape):
    x = np.random.default_rng(4).standard_normal(shape)
    torch_layer, ember_layer = check_layer(lambda lib: lib.nn.ChannelShuffle(groups), [x])
    assert repr(ember_layer) == repr(torch_layer) == f"ChannelShuffle(groups={groups})"
    ember_out = ember.nn.functional.channel_shuffle(ember.tensor(x), groups)
    np.testing.assert_array_equal(ember_out.numpy(),
                                  torch.nn.functional.channel_shuffle(torch.tensor(x),
                                                                      groups).numpy())


@pytest.mark.parametrize("case", [
    ErrorCase("indivisible", lambda lib: lib.nn.ChannelShuffle(4)(lib.zeros(1, 6, 2))),
    ErrorCase("2-d input", lambda lib: lib.nn.ChannelShuffle(2)(lib.zeros(2, 4))),
    ErrorCase("zero groups", lambda lib: lib.nn.ChannelShuffle(0)(lib.zeros(1, 4, 2))),
], ids=lambda case: case.name)
def test_channel_shuffle_errors_match_torch(case):
    check_error(case)


# ---------------------------------------------------------------- Tensor.as_strided

STRIDED = [((2, 2), (1, 2), None), ((3, 2), (4, 1), 2), ((2, 3), (0, 1), 5), ((4,), (3,), 0),
           ((2, 2, 2), (6, 1, 2), 1)]


@pytest.mark.parametrize("size, stride, offset", STRIDED, ids=[str(s) for s in STRIDED])
def test_as_strided_method_matches_torch(size, stride, offset):
    rng = np.random.default_rng(5)
    values = rng.standard_normal(12)
    results = []
    for lib in (torch, ember):
        x = lib.tensor(values, requires_grad=True)
        strided = x.reshape(3, 4).as_strided(size, stride, offset)
        cotangent = lib.tensor(np.random.default_rng(6).standard_normal(size))
        grad = lib.autograd.grad(strided, x, cotangent)[0]  # overlapping reads add up
        results.append((strided.detach().numpy(), grad.numpy()))
    (expected, expected_grad), (actual, actual_grad) = results
    np.testing.assert_array_equal(actual, expected)
    np.testing.assert_allclose(actual_grad, expected_grad, rtol=1e-12)


def test_as_strided_method_keeps_a_views_storage_offset():
    values = np.arange(12.0)
    expected = torch.tensor(values)[2:].as_strided((2, 3), (3, 1))
    actual = ember.tensor(values)[2:].as_strided((2, 3), (3, 1))
    np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_as_strided_method_refuses_a_non_contiguous_input():
    # PyTorch reads the storage under a transposed view; ember reads a contiguous one only.
    with pytest.raises(RuntimeError, match="contiguous"):
        ember.zeros(3, 4).t().as_strided((2, 2), (1, 2))


@pytest.mark.parametrize("case", [
    ErrorCase("lengths differ", lambda lib: lib.zeros(3, 4).as_strided((2, 2), (1, 2, 3))),
    ErrorCase("past the end", lambda lib: lib.zeros(3, 4).as_strided((2, 2), (1, 2), 20)),
], ids=lambda case: case.name)
def test_as_strided_method_errors_match_torch(case):
    check_error(case)
