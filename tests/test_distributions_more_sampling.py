"""Sampling from the distributions of ``test_distributions_more.py``: shapes, dtypes and graph
membership as PyTorch's; the draws' distribution (moments against PyTorch's, and a
Kolmogorov–Smirnov bound against PyTorch's distribution function); reproducibility under
``ember.manual_seed``; and reparameterized samples whose gradients are PyTorch's at the same
noise, including the implicit gradients of gamma and Dirichlet draws, checked against
``torch._standard_gamma_grad``/``torch._dirichlet_grad`` (PyTorch's approximations, good to
about 1e-3) and against high-precision values from mpmath (to about 1e-12).

ember's random numbers come from NumPy's PCG64, so draws are compared by their
properties, never value for value.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

import ember
from tests.distribution_samplers import both as _both

torch.set_num_threads(1)


# ---------------------------------------------------------------- statistics

DRAWS = 20000


def _moments_within_bounds(samples, mean, variance, what):
    """The sample mean within 5 standard errors of ``mean``; the sample variance within
    12% of ``variance`` (about 5 standard errors for the tails drawn here)."""
    mean, variance = np.asarray(mean), np.asarray(variance)
    standard_error = np.sqrt(variance / samples.shape[0])
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * standard_error + 1e-12), what
    assert np.all(np.abs(samples.var(0) - variance) < 0.12 * variance + 1e-12), what


@pytest.mark.parametrize("name", [
    "gamma", "gamma_small", "chi2", "beta", "dirichlet", "poisson", "binomial", "binomial_counts",
    "multinomial", "geometric", "negative_binomial", "student_t", "half_normal", "gumbel",
    "weibull", "pareto", "continuous_bernoulli", "kumaraswamy", "low_rank", "mixture",
    "wishart", "fisher_snedecor", "inverse_gamma"])
def test_sample_moments(name):
    (torch_dist, _), (ember_dist, _) = _both(name)
    ember.manual_seed(2024)
    for method in ("sample", "rsample") if ember_dist.has_rsample else ("sample",):
        samples = getattr(ember_dist, method)((DRAWS,)).detach().numpy()
        # PyTorch's moments, so that a wrong ember formula cannot hide a wrong sampler
        _moments_within_bounds(samples, torch_dist.mean.numpy(), torch_dist.variance.numpy(),
                               f"{name} {method}")


def test_lkj_correlations_are_lkj_distributed():
    """Under LKJ(η) every off-diagonal correlation of C = L Lᵀ has mean 0 and variance
    1 / (2η + d - 1) (its marginal is a Beta(η - 1 + d/2, η - 1 + d/2) on [-1, 1]); the
    rows of L have unit norm."""
    (_, _), (dist, (eta,)) = _both("lkj_cholesky")
    ember.manual_seed(8)
    factors = dist.sample((DRAWS,)).numpy()
    np.testing.assert_allclose(np.linalg.norm(factors, axis=-1), 1.0, atol=1e-12)
    correlations = factors @ np.swapaxes(factors, -1, -2)
    variance = 1 / (2 * eta.numpy() + 4 - 1)
    for row in range(1, 4):
        for column in range(row):
            entry = correlations[..., row, column]
            _moments_within_bounds(entry, np.zeros(2), variance, (row, column))


def test_low_rank_sample_covariance():
    (torch_dist, _), (ember_dist, _) = _both("low_rank")
    ember.manual_seed(5)
    samples = ember_dist.rsample((DRAWS,)).detach().numpy()[:, 0]
    covariance = torch_dist.covariance_matrix[0].numpy()
    np.testing.assert_allclose(np.cov(samples.T), covariance, atol=0.1)


@pytest.mark.parametrize("name", ["gamma", "gamma_small", "chi2", "inverse_gamma", "cauchy",
                                  "half_normal",
                                  "half_cauchy", "gumbel", "weibull", "pareto", "kumaraswamy",
                                  "continuous_bernoulli", "mixture"])
def test_samples_follow_torchs_distribution_function(name):
    """Kolmogorov–Smirnov: the largest gap between the draws' empirical distribution
    function and PyTorch's cdf stays under the 0.1% critical value, 1.95 / √n."""
    (torch_dist, _), (ember_dist, _) = _both(name)
    ember.manual_seed(11)
    n = 4000
    samples = ember_dist.sample((n,)).numpy()
    probabilities = np.sort(torch_dist.cdf(torch.tensor(samples)).numpy(), axis=0)
    probabilities = probabilities.reshape(n, -1)
    below = np.arange(1, n + 1)[:, None] / n
    above = np.arange(0, n)[:, None] / n
    gap = np.maximum(below - probabilities, probabilities - above).max(0)
    assert np.all(gap < 1.95 / math.sqrt(n)), gap


def test_von_mises_circular_moments():
    """E cos(X - μ) = I₁(κ) / I₀(κ) = 1 - PyTorch's circular variance, E sin(X - μ) = 0,
    and every draw an angle in [-π, π)."""
    (torch_dist, _), (ember_dist, _) = _both("von_mises")
    ember.manual_seed(3)
    samples = ember_dist.sample((DRAWS,)).numpy()
    assert samples.min() >= -math.pi and samples.max() < math.pi
    shifted = samples - torch_dist.loc.numpy()
    assert np.all(np.abs(np.cos(shifted).mean(0) - (1 - torch_dist.variance.numpy())) < 0.015)
    assert np.all(np.abs(np.sin(shifted).mean(0)) < 0.015)


def test_relaxed_distributions_statistics():
    """The logit of a relaxed Bernoulli draw is logistic, of mean logit(p)/λ and variance
    π²/3λ²; log-ratios of a relaxed one-hot draw have mean (logit_i - logit_j)/λ."""
    (_, _), (bernoulli, (temperature, probs)) = _both("relaxed_bernoulli")
    ember.manual_seed(7)
    y = bernoulli.rsample((DRAWS,)).detach().numpy()
    logits = np.log(y) - np.log1p(-y)
    t, p = temperature.numpy(), probs.numpy()
    _moments_within_bounds(logits, np.log(p / (1 - p)) / t, np.full(3, math.pi**2 / (3 * t**2)),
                           "relaxed bernoulli")
    (_, _), (one_hot, (temperature, category_logits)) = _both("relaxed_one_hot")
    y = one_hot.rsample((DRAWS,)).detach().numpy()
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-12)
    ratios = np.log(y[..., 1:]) - np.log(y[..., :1])
    expected = (category_logits.numpy()[..., 1:] - category_logits.numpy()[..., :1])
    expected = expected / temperature.numpy()
    # Gumbel differences: variance π²/3 each, over λ²
    _moments_within_bounds(ratios, expected,
                           np.full(expected.shape, math.pi**2 / 3 / temperature.numpy()**2),
                           "relaxed one-hot")


def test_discrete_draws_are_in_range():
    ember.manual_seed(9)
    counts = ember.distributions.Multinomial(9, ember.tensor([[0.2, 0.0, 0.8]])).sample((500,))
    assert np.all(counts.numpy().sum(-1) == 9) and np.all(counts.numpy()[..., 1] == 0)
    binomial = ember.distributions.Binomial(ember.tensor([0.0, 4.0, 4.0]),
                                            ember.tensor([0.5, 0.0, 1.0])).sample((200,))
    assert np.all(binomial.numpy() == [0.0, 0.0, 4.0])
    dirichlet = ember.distributions.Dirichlet(ember.tensor([0.01, 0.02, 0.01],
                                                           dtype=ember.float64)).sample((200,))
    np.testing.assert_allclose(dirichlet.numpy().sum(-1), 1.0, atol=1e-12)
    assert np.all(dirichlet.numpy() > 0)  # tiny concentrations: no 0/0
    gamma = ember.distributions.Gamma(ember.tensor([0.005]), 1.0).rsample((200,))
    assert np.all(gamma.numpy() >= np.finfo(np.float32).tiny)


# ---------------------------------------------------------------- implicit reparameterization


def _reference_gamma_derivative(alpha, x):
    """dx/dα = -(∂P(α, x)/∂α) / p(x), to 30 digits."""
    mpmath.mp.dps = 30
    derivative = mpmath.diff(lambda a: mpmath.gammainc(a, 0, x, regularized=True), alpha)
    density = mpmath.exp((alpha - 1) * mpmath.log(x) - x - mpmath.loggamma(alpha))
    return float(-derivative / density)


def _reference_beta_derivative(x, a, b):
    """dx/da of Beta(a, b) draws at fixed b, to 30 digits."""
    mpmath.mp.dps = 30
    derivative = mpmath.diff(lambda t: mpmath.betainc(t, b, 0, x, regularized=True), a)
    density = mpmath.exp((a - 1) * mpmath.log(x) + (b - 1) * mpmath.log(1 - x)
                         - mpmath.log(mpmath.beta(a, b)))
    return float(-derivative / density)


def test_standard_gamma_derivative_is_exact_and_torchs():
    """Across the regimes (series below α + 1, continued fraction above, tiny and large α,
    draws far in either tail) the derivative matches high-precision values to 1e-12, and
    PyTorch's approximation to its own accuracy."""
    rng = np.random.default_rng(0)
    alpha = np.concatenate([[0.01, 0.1, 0.5, 1.0, 3.0, 50.0, 1000.0, 0.8, 5.0, 2.0],
                            np.exp(rng.uniform(np.log(0.05), np.log(100.0), 200))])
    x = np.concatenate([[1e-30, 0.01, 0.3, 1.0, 5.0, 45.0, 990.0, 3.0, 1.0, 25.0],
                        np.maximum(rng.standard_gamma(alpha[10:]), 1e-300)])
    from ember.distributions._sampling import _standard_gamma_grad

    ours = _standard_gamma_grad(ember.tensor(alpha), ember.tensor(x)).numpy()
    for index in range(0, len(alpha), 9):
        expected = _reference_gamma_derivative(alpha[index], x[index])
        np.testing.assert_allclose(ours[index], expected, rtol=1e-12)
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)


def test_dirichlet_derivative_is_exact_and_torchs():
    rng = np.random.default_rng(1)
    a = np.concatenate([[2.0, 0.5, 0.1, 50.0, 3.0, 200.0, 0.02],
                        np.exp(rng.uniform(np.log(0.05), np.log(50.0), 200))])
    b = np.concatenate([[3.0, 0.5, 5.0, 50.0, 0.2, 100.0, 1.0],
                        np.exp(rng.uniform(np.log(0.05), np.log(50.0), 200))])
    x = np.concatenate([[0.3, 0.9, 0.01, 0.5, 0.999, 0.7, 1e-30],
                        np.clip(rng.beta(a[7:], b[7:]), 1e-300, 1 - 1e-15)])
    from ember.distributions._sampling import _dirichlet_grad

    ours = _dirichlet_grad(ember.tensor(x), ember.tensor(a), ember.tensor(a + b)).numpy()
    for index in range(0, len(a), 11):
        expected = _reference_beta_derivative(x[index], a[index], b[index]) / (1 - x[index])
        np.testing.assert_allclose(ours[index], expected, rtol=1e-11)
    theirs = torch._dirichlet_grad(torch.tensor(x), torch.tensor(a), torch.tensor(a + b)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=3e-3)


def _cotangent(shape, seed=4):
    return np.random.default_rng(seed).standard_normal(tuple(shape))


@pytest.mark.parametrize("name", ["gamma", "gamma_small", "chi2"])
def test_gamma_rsample_gradient_is_the_implicit_one(name):
    """x = g / β for a Gamma(α, 1) draw g: dx/dα = (dg/dα) / β, dx/dβ = -x / β."""
    (_, torch_params), (dist, params) = _both(name, seed=3, requires_grad=True)
    ember.manual_seed(9)
    sample = dist.rsample((5,))
    cotangent = _cotangent(sample.shape)
    grads = ember.autograd.grad(sample, params, ember.tensor(cotangent))
    x = torch.tensor(sample.detach().numpy())
    if name == "chi2":
        concentration, rate = torch_params[0].detach() / 2, torch.tensor(0.5, dtype=torch.float64)
    else:
        concentration, rate = (p.detach() for p in torch_params)
    concentration, rate = torch.broadcast_tensors(concentration.expand(x.shape),
                                                  rate.expand(x.shape))
    standard = x * rate
    along_alpha = torch._standard_gamma_grad(concentration, standard) / rate * cotangent
    expected_alpha = along_alpha.numpy().sum(0)
    if name == "chi2":
        np.testing.assert_allclose(grads[0].numpy(), expected_alpha / 2, rtol=3e-3)
        return
    expected_alpha = expected_alpha.reshape(-1, *params[0].shape).sum(0)
    np.testing.assert_allclose(grads[0].numpy(), expected_alpha, rtol=3e-3)
    along_rate = (-x / rate * cotangent).numpy().sum(0)
    along_rate = along_rate.sum(tuple(range(along_rate.ndim - params[1].ndim)))
    along_rate = along_rate.sum(tuple(i for i, n in enumerate(params[1].shape) if n == 1),
                                keepdims=True)
    np.testing.assert_allclose(grads[1].numpy(), along_rate, rtol=1e-10)


def test_dirichlet_and_beta_rsample_gradients_are_torchs():
    """dx_j/dα_i = (δ_ij - x_j) c_i, c_i = torch._dirichlet_grad(x, α, α_0) at the same x;
    Beta's draws are a Dirichlet(a, b)'s first entries."""
    (_, (torch_alpha,)), (dist, (alpha,)) = _both("dirichlet", seed=3, requires_grad=True)
    ember.manual_seed(1)
    sample = dist.rsample((4,))
    cotangent = _cotangent(sample.shape)
    (ours,) = ember.autograd.grad(sample, [alpha], ember.tensor(cotangent))
    x = torch.tensor(sample.detach().numpy())
    concentration = torch_alpha.detach().expand(x.shape)
    scale = torch._dirichlet_grad(x, concentration, concentration.sum(-1, True).expand(x.shape))
    g = torch.tensor(cotangent)
    expected = (scale * (g - (g * x).sum(-1, True))).sum(0)
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=5e-3, atol=1e-6)

    (_, (torch_a, torch_b)), (beta, (a, b)) = _both("beta", seed=3, requires_grad=True)
    sample = beta.rsample((4,))
    cotangent = _cotangent(sample.shape, seed=5)
    ours = ember.autograd.grad(sample, [a, b], ember.tensor(cotangent))
    x = torch.tensor(sample.detach().numpy())
    a_full, b_full = torch.broadcast_tensors(torch_a.detach().expand(x.shape),
                                             torch_b.detach().expand(x.shape))
    total = a_full + b_full
    # x = the first entry: dx/da = c_0 (1 - x), dx/db = -x c_1 at 1 - x
    along_a = torch._dirichlet_grad(x, a_full, total) * (1 - x)
    along_b = -x * torch._dirichlet_grad(1 - x, b_full, total)
    g = torch.tensor(cotangent)
    np.testing.assert_allclose(ours[0].numpy(), (g * along_a).sum((0, 1)).numpy(), rtol=5e-3)
    np.testing.assert_allclose(ours[1].numpy(), (g * along_b).sum((0, 2)).numpy()[:, None],
                               rtol=5e-3)


def _torch_reparameterized(name, x, params):
    """PyTorch's reparameterized sample at the noise behind the ember sample ``x``: the noise
    recovered from x (detached), pushed through PyTorch's own distribution or formula."""
    D = torch.distributions
    if name == "cauchy":
        loc, scale = params
        return loc + ((x - loc) / scale).detach() * scale
    if name in ("half_normal", "half_cauchy"):
        (scale,) = params
        return (x / scale).detach() * scale
    if name == "gumbel":
        loc, scale = params
        u = torch.exp(-torch.exp(-(x - loc) / scale)).detach()
        return D.Gumbel(loc, scale).icdf(u)
    if name == "weibull":
        scale, k = params
        exponential = ((x / scale) ** k).detach()
        return scale * exponential ** (1 / k)
    if name == "pareto":
        scale, alpha = params
        exponential = (alpha * torch.log(x / scale)).detach()
        return scale * torch.exp(exponential / alpha)
    if name == "kumaraswamy":
        a, b = params
        u = ((1 - x**a) ** b).detach()
        return (1 - u ** (1 / b)) ** (1 / a)
    if name == "continuous_bernoulli":
        (probs,) = params
        dist = D.ContinuousBernoulli(probs)
        return dist.icdf(dist.cdf(x).detach())
    if name == "logistic_normal":
        loc, scale = params
        normal = (D.StickBreakingTransform().inv(x) - loc) / scale
        return D.StickBreakingTransform()(loc + normal.detach() * scale)
    if name == "relaxed_bernoulli":
        temperature, probs = params
        logistic = (torch.logit(x) * temperature - torch.logit(probs)).detach()
        return torch.sigmoid((logistic + torch.logit(probs)) / temperature)
    if name == "relaxed_one_hot":
        temperature, logits = params
        gumbel = (x.log() * temperature - logits).detach()  # up to a constant per row
        return torch.softmax((logits + gumbel) / temperature, -1)
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["cauchy", "half_normal", "half_cauchy", "gumbel", "weibull",
                                  "pareto", "kumaraswamy", "continuous_bernoulli",
                                  "logistic_normal", "relaxed_bernoulli", "relaxed_one_hot"])
def test_rsample_gradients_are_torchs_reparameterization(name):
    (_, torch_params), (dist, params) = _both(name, seed=3, requires_grad=True)
    ember.manual_seed(9)
    sample = dist.rsample((4,))
    expected = _torch_reparameterized(name, torch.tensor(sample.detach().numpy()), torch_params)
    np.testing.assert_allclose(sample.detach().numpy(), expected.detach().numpy(), rtol=1e-9,
                               atol=1e-9)
    cotangent = _cotangent(sample.shape)
    ours = ember.autograd.grad(sample, params, ember.tensor(cotangent))
    theirs = torch.autograd.grad(expected, torch_params, torch.tensor(cotangent))
    for mine, reference in zip(ours, theirs):
        assert np.abs(reference.numpy()).max() > 0
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-6, atol=1e-9)


def test_student_t_rsample_gradients():
    """x = μ + σ y: dx/dμ = 1 and dx/dσ = (x - μ)/σ exactly; ν's gradient goes through the
    chi-squared draw's implicit gradient (checked above), and reaches ν."""
    (_, _), (dist, (df, loc, scale)) = _both("student_t", seed=3, requires_grad=True)
    ember.manual_seed(9)
    sample = dist.rsample((4,))
    cotangent = _cotangent(sample.shape)
    grads = ember.autograd.grad(sample, [df, loc, scale], ember.tensor(cotangent))
    x = sample.detach().numpy()
    np.testing.assert_allclose(grads[1].numpy(), cotangent.sum((0, 1)), rtol=1e-10)
    along_scale = (cotangent * (x - loc.detach().numpy()) / scale.detach().numpy()).sum((0, 2))
    np.testing.assert_allclose(grads[2].numpy()[:, 0], along_scale, rtol=1e-10)
    assert np.all(np.isfinite(grads[0].numpy())) and np.abs(grads[0].numpy()).max() > 0
