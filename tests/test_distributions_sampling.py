"""Sampling from ``ember.distributions``: shapes, dtypes and graph membership as PyTorch's;
the draws' distribution (moments and a Kolmogorov–Smirnov bound against PyTorch's own
distribution function); reproducibility under ``ember.manual_seed``; and reparameterized
samples whose gradients are those of PyTorch's reparameterization at the same noise.

ember's random numbers come from NumPy's PCG64, so draws are compared by their
properties, never value for value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
from tests.distribution_samplers import FIRST, MORE, both as _both

torch.set_num_threads(1)

SAMPLE_SHAPES = [(), (5,), (2, 3), "size"]
# every distribution of both tables: the generic tests below run on all of them
NAMES = FIRST + MORE


def _sample_shape(lib, shape):
    return lib.Size([4]) if shape == "size" else shape


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sample_shapes_and_dtypes_match_torch(name, dtype):
    (torch_dist, _), (ember_dist, _) = _both(name, dtype=dtype)
    assert tuple(ember_dist.batch_shape) == tuple(torch_dist.batch_shape)
    assert tuple(ember_dist.event_shape) == tuple(torch_dist.event_shape)
    assert ember_dist.has_rsample == torch_dist.has_rsample
    for shape in SAMPLE_SHAPES:
        methods = ["sample"] + (["rsample"] if torch_dist.has_rsample else [])
        for method in methods:
            expected = getattr(torch_dist, method)(_sample_shape(torch, shape))
            actual = getattr(ember_dist, method)(_sample_shape(ember, shape))
            assert isinstance(actual, ember.Tensor)
            assert tuple(actual.shape) == tuple(expected.shape), (method, shape)
            assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
            # every draw lies in the support (which validation would otherwise reject)
            assert bool(ember_dist.support.check(actual.detach()).all())


@pytest.mark.parametrize("name", NAMES)
def test_only_rsample_joins_the_graph(name):
    (torch_dist, _), (ember_dist, _) = _both(name, requires_grad=True)
    drawn = ember_dist.sample((3,))
    assert not drawn.requires_grad and drawn.grad_fn is None
    assert torch_dist.sample((3,)).requires_grad is False
    if torch_dist.has_rsample:
        assert ember_dist.rsample((3,)).requires_grad
        assert torch_dist.rsample((3,)).requires_grad
    else:
        with pytest.raises(NotImplementedError):
            torch_dist.rsample()
        with pytest.raises(NotImplementedError):
            ember_dist.rsample()


@pytest.mark.parametrize("name", NAMES)
def test_manual_seed_reproduces_draws(name):
    (_, _), (dist, _) = _both(name)
    ember.manual_seed(1234)
    first = dist.sample((6,))
    np.random.seed(99)  # NumPy's global state plays no part
    ember.manual_seed(1234)
    again = dist.sample((6,))
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    if dist.has_rsample:
        ember.manual_seed(7)
        first = dist.rsample((6,)).detach()
        ember.manual_seed(7)
        np.testing.assert_array_equal(first.numpy(), dist.rsample((6,)).detach().numpy())
    ember.manual_seed(1235)
    other = dist.sample((50,))
    ember.manual_seed(1234)
    assert not np.array_equal(other.numpy(), dist.sample((50,)).numpy())


# ---------------------------------------------------------------- statistics

DRAWS = 20000


def _moments_within_bounds(samples, mean, variance, what):
    """The sample mean within 5 standard errors of ``mean``; the sample variance within
    12% of ``variance`` (about 5 standard errors for the heaviest tails drawn here)."""
    samples = samples.numpy()
    mean, variance = np.asarray(mean), np.asarray(variance)
    standard_error = np.sqrt(variance / samples.shape[0])
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * standard_error + 1e-12), what
    assert np.all(np.abs(samples.var(0) - variance) < 0.12 * variance + 1e-12), what


@pytest.mark.parametrize("name", ["normal", "laplace", "exponential", "uniform", "bernoulli",
                                  "bernoulli_logits", "one_hot_categorical", "independent",
                                  "log_normal", "multivariate_normal"])
def test_sample_moments(name):
    (torch_dist, _), (ember_dist, _) = _both(name)
    ember.manual_seed(2024)
    for method in ("sample", "rsample") if ember_dist.has_rsample else ("sample",):
        samples = getattr(ember_dist, method)((DRAWS,)).detach()
        # PyTorch's moments, so that a wrong ember formula cannot hide a wrong sampler
        _moments_within_bounds(samples, torch_dist.mean.detach(),
                               torch_dist.variance.detach(), f"{name} {method}")


@pytest.mark.parametrize("name", ["normal", "laplace", "exponential", "uniform", "log_normal",
                                  "squashed"])
def test_samples_follow_torchs_distribution_function(name):
    """Kolmogorov–Smirnov: the largest gap between the draws' empirical distribution
    function and PyTorch's cdf stays under the 0.1% critical value, 1.95 / √n."""
    (torch_dist, _), (ember_dist, _) = _both(name)
    ember.manual_seed(11)
    n = 4000
    samples = ember_dist.sample((n,)).numpy()
    if name == "squashed":  # PyTorch's TransformedDistribution.cdf needs a monotone chain
        samples = np.arctanh(samples)
        torch_dist = torch_dist.base_dist
    probabilities = np.sort(torch_dist.cdf(torch.tensor(samples)).numpy(), axis=0)
    probabilities = probabilities.reshape(n, -1)
    below = np.arange(1, n + 1)[:, None] / n
    above = np.arange(0, n)[:, None] / n
    gap = np.maximum(below - probabilities, probabilities - above).max(0)
    assert np.all(gap < 1.95 / math.sqrt(n)), gap


def test_categorical_frequencies_and_support():
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    dist = ember.distributions.Categorical(ember.tensor(probs))
    ember.manual_seed(5)
    samples = dist.sample((DRAWS,)).numpy()
    assert samples.dtype == np.int64 and samples.shape == (DRAWS, 2)
    for row in range(2):
        frequencies = np.bincount(samples[:, row], minlength=4) / DRAWS
        bound = 5 * np.sqrt(probs[row] * (1 - probs[row]) / DRAWS) + 1e-12
        assert np.all(np.abs(frequencies - probs[row]) <= bound)
    assert not np.any(samples[:, 0] == 1)  # a zero probability is never drawn


def test_one_hot_samples_are_one_hot():
    dist = ember.distributions.OneHotCategorical(logits=ember.tensor([[0.5, -1.0, 2.0]]))
    ember.manual_seed(3)
    samples = dist.sample((500,)).numpy()
    assert np.all((samples == 0) | (samples == 1)) and np.all(samples.sum(-1) == 1)


def test_bernoulli_certain_probabilities():
    dist = ember.distributions.Bernoulli(ember.tensor([0.0, 1.0]))
    samples = dist.sample((200,)).numpy()
    assert np.all(samples[:, 0] == 0) and np.all(samples[:, 1] == 1)


def test_squashed_samples_stay_inside_the_interval():
    (_, _), (dist, _) = _both("squashed")
    ember.manual_seed(8)
    samples = dist.rsample((2000,)).detach().numpy()
    assert np.all(np.abs(samples) <= 1)


# ---------------------------------------------------------------- reparameterization


def _noise_and_torch_sample(name, sample, torch_params):
    """The parameter-free noise behind an ember sample, and PyTorch's reparameterized
    sample built from the same noise (PyTorch's formulas, on torch's parameters)."""
    x = torch.tensor(sample.detach().numpy())
    if name in ("normal", "laplace", "log_normal", "independent", "squashed"):
        loc, scale = torch_params
        inner = {"log_normal": torch.log, "squashed": torch.atanh}.get(name, lambda v: v)(x)
        noise = ((inner - loc) / scale).detach()
        outer = {"log_normal": torch.exp, "squashed": torch.tanh}.get(name, lambda v: v)
        return outer(loc + noise * scale)
    if name == "exponential":
        (rate,) = torch_params
        noise = (x * rate).detach()
        return noise / rate
    if name == "uniform":
        low, high = torch_params
        noise = ((x - low) / (high - low)).detach()
        return low + noise * (high - low)
    if name == "multivariate_normal":
        loc, covariance = torch_params
        factor = torch.linalg.cholesky(covariance)
        noise = torch.linalg.solve_triangular(factor, (x - loc).unsqueeze(-1),
                                              upper=False).squeeze(-1).detach()
        return loc + (factor @ noise.unsqueeze(-1)).squeeze(-1)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["normal", "laplace", "exponential", "uniform",
                                  "multivariate_normal", "independent", "log_normal",
                                  "squashed"])
def test_rsample_gradients_are_torchs_reparameterization(name):
    (_, torch_params), (ember_dist, ember_params) = _both(name, seed=3, requires_grad=True)
    ember.manual_seed(9)
    sample = ember_dist.rsample((4,))
    expected = _noise_and_torch_sample(name, sample, torch_params)
    np.testing.assert_allclose(sample.detach().numpy(), expected.detach().numpy(),
                               rtol=1e-9, atol=1e-9)
    cotangent = np.random.default_rng(4).standard_normal(tuple(sample.shape))
    ember_grads = ember.autograd.grad(sample, ember_params, ember.tensor(cotangent))
    torch_grads = torch.autograd.grad(expected, torch_params, torch.tensor(cotangent))
    for ours, theirs in zip(ember_grads, torch_grads):
        assert np.abs(theirs.numpy()).max() > 0
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7, atol=1e-9)


def test_straight_through_gradient_is_that_of_the_probabilities():
    (torch_dist, torch_params), (ember_dist, ember_params) = _both(
        "straight_through", requires_grad=True)
    ember.manual_seed(2)
    sample = ember_dist.rsample((3,))
    assert np.all(sample.detach().numpy().sum(-1) == 1)
    cotangent = np.random.default_rng(6).standard_normal(tuple(sample.shape))
    (ours,) = ember.autograd.grad(sample, ember_params, ember.tensor(cotangent))
    (theirs,) = torch.autograd.grad(torch_dist.probs.expand(sample.shape), torch_params,
                                    torch.tensor(cotangent))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9, atol=1e-12)
