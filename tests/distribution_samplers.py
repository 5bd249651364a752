"""The distributions the sampling tests draw from, each built on PyTorch and on ember from
the same parameter arrays: name -> (make(lib, *parameters), parameter arrays)."""

from __future__ import annotations

import numpy as np
import torch

import ember


def tensor_of(lib, array, requires_grad=False, dtype=None):
    dtype = dtype or lib.float64
    return lib.tensor(np.asarray(array), dtype=dtype, requires_grad=requires_grad)


def _spd(rng, n):
    factor = rng.uniform(-1.0, 1.0, (n, n))
    return factor @ factor.T + np.eye(n)


def _first(rng):
    """The distributions of ``test_distributions.py``."""
    p = rng.uniform(0.1, 0.9, (3,))
    weights = rng.uniform(0.5, 2.0, (2, 4))
    return {
        "normal": (lambda lib, a, b: lib.distributions.Normal(a, b),
                   [rng.uniform(-1, 1, (3,)), rng.uniform(0.5, 2, (2, 1))]),
        "laplace": (lambda lib, a, b: lib.distributions.Laplace(a, b),
                    [rng.uniform(-1, 1, (3,)), rng.uniform(0.5, 2, (2, 1))]),
        "exponential": (lambda lib, a: lib.distributions.Exponential(a),
                        [rng.uniform(0.5, 2, (2, 3))]),
        "uniform": (lambda lib, a, b: lib.distributions.Uniform(a, b),
                    [rng.uniform(-2, -1, (3,)), rng.uniform(1, 2, (2, 1))]),
        "bernoulli": (lambda lib, a: lib.distributions.Bernoulli(a), [p]),
        "bernoulli_logits": (lambda lib, a: lib.distributions.Bernoulli(logits=a),
                             [rng.uniform(-2, 2, (2, 3))]),
        "categorical": (lambda lib, a: lib.distributions.Categorical(a), [weights]),
        "categorical_logits": (lambda lib, a: lib.distributions.Categorical(logits=a),
                               [rng.uniform(-2, 2, (4,))]),
        "one_hot_categorical": (lambda lib, a: lib.distributions.OneHotCategorical(a),
                                [weights]),
        "straight_through": (
            lambda lib, a: lib.distributions.OneHotCategoricalStraightThrough(a), [weights]),
        "multivariate_normal": (
            lambda lib, a, b: lib.distributions.MultivariateNormal(a, covariance_matrix=b),
            [rng.uniform(-1, 1, (2, 3)), _spd(rng, 3)]),
        "independent": (
            lambda lib, a, b: lib.distributions.Independent(lib.distributions.Normal(a, b), 1),
            [rng.uniform(-1, 1, (2, 3)), rng.uniform(0.5, 2, (3,))]),
        "log_normal": (lambda lib, a, b: lib.distributions.LogNormal(a, b),
                       [rng.uniform(-1, 1, (3,)), rng.uniform(0.2, 1, (3,))]),
        "squashed": (lambda lib, a, b: lib.distributions.TransformedDistribution(
            lib.distributions.Normal(a, b), [lib.distributions.TanhTransform()]),
            [rng.uniform(-1, 1, (3,)), rng.uniform(0.2, 1, (3,))]),
    }


def _more(rng):
    """Those of ``test_distributions_more.py``."""
    D = "distributions"

    def dist(name):
        return lambda lib, *xs: getattr(getattr(lib, D), name)(*xs)

    weights = rng.uniform(0.5, 2.0, (2, 3))
    return {
        "gamma": (dist("Gamma"), [rng.uniform(0.5, 3, (3,)), rng.uniform(0.5, 2, (2, 1))]),
        "gamma_small": (dist("Gamma"), [rng.uniform(0.05, 0.3, (3,)), rng.uniform(0.5, 2, (3,))]),
        "chi2": (dist("Chi2"), [rng.uniform(1, 6, (3,))]),
        "beta": (dist("Beta"), [rng.uniform(0.5, 3, (3,)), rng.uniform(0.5, 3, (2, 1))]),
        "dirichlet": (dist("Dirichlet"), [rng.uniform(0.5, 3, (2, 3))]),
        "poisson": (dist("Poisson"), [rng.uniform(0.5, 8, (2, 3))]),
        "binomial": (lambda lib, p: lib.distributions.Binomial(7, p),
                     [rng.uniform(0.1, 0.9, (3,))]),
        "binomial_counts": (lambda lib, n, p: lib.distributions.Binomial(n, p),
                            [np.array([[3.0], [10.0]]), rng.uniform(0.1, 0.9, (3,))]),
        "multinomial": (lambda lib, p: lib.distributions.Multinomial(9, p), [weights]),
        "geometric": (dist("Geometric"), [rng.uniform(0.2, 0.9, (3,))]),
        "negative_binomial": (dist("NegativeBinomial"),
                              [rng.uniform(1, 5, (3,)), rng.uniform(0.2, 0.7, (3,))]),
        "student_t": (dist("StudentT"), [rng.uniform(5, 9, (3,)), rng.uniform(-1, 1, (3,)),
                                         rng.uniform(0.5, 2, (2, 1))]),
        "cauchy": (dist("Cauchy"), [rng.uniform(-1, 1, (3,)), rng.uniform(0.5, 2, (2, 1))]),
        "half_normal": (dist("HalfNormal"), [rng.uniform(0.5, 2, (2, 3))]),
        "half_cauchy": (dist("HalfCauchy"), [rng.uniform(0.5, 2, (3,))]),
        "gumbel": (dist("Gumbel"), [rng.uniform(-1, 1, (3,)), rng.uniform(0.5, 2, (2, 1))]),
        "weibull": (dist("Weibull"), [rng.uniform(0.5, 2, (3,)), rng.uniform(1, 3, (2, 1))]),
        "pareto": (dist("Pareto"), [rng.uniform(0.5, 2, (3,)), rng.uniform(4.5, 6, (3,))]),
        "logistic_normal": (dist("LogisticNormal"), [rng.uniform(-1, 1, (2, 2)),
                                                     rng.uniform(0.3, 1, (2,))]),
        "relaxed_bernoulli": (lambda lib, t, p: lib.distributions.RelaxedBernoulli(t, probs=p),
                              [np.array(0.7), rng.uniform(0.2, 0.8, (3,))]),
        "relaxed_one_hot": (
            lambda lib, t, p: lib.distributions.RelaxedOneHotCategorical(t, logits=p),
            [np.array(0.6), rng.uniform(-1, 1, (2, 3))]),
        "continuous_bernoulli": (dist("ContinuousBernoulli"), [rng.uniform(0.1, 0.9, (3,))]),
        "kumaraswamy": (dist("Kumaraswamy"),
                        [rng.uniform(0.5, 3, (3,)), rng.uniform(0.5, 3, (3,))]),
        "von_mises": (dist("VonMises"), [rng.uniform(-3, 3, (3,)), np.array([0.05, 1.0, 8.0])]),
        "low_rank": (dist("LowRankMultivariateNormal"),
                     [rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (3, 2)),
                      rng.uniform(0.5, 1.5, (3,))]),
        "fisher_snedecor": (dist("FisherSnedecor"), [rng.uniform(3, 6, (3,)),
                                                     rng.uniform(12, 16, (2, 1))]),
        "inverse_gamma": (dist("InverseGamma"), [rng.uniform(5, 8, (3,)),
                                                 rng.uniform(0.5, 2, (2, 1))]),
        "wishart": (dist("Wishart"), [rng.uniform(4, 7, (2,)), _spd(rng, 3)]),
        "lkj_cholesky": (lambda lib, eta: lib.distributions.LKJCholesky(4, eta),
                         [np.array([0.5, 3.0])]),
        "mixture": (lambda lib, logits, loc, scale: lib.distributions.MixtureSameFamily(
            lib.distributions.Categorical(logits=logits), lib.distributions.Normal(loc, scale)),
                    [rng.uniform(-1, 1, (2, 3)), rng.uniform(-3, 3, (2, 3)),
                     rng.uniform(0.3, 1, (3,))]),
    }


def makers(rng) -> dict:
    return {**_first(rng), **_more(rng)}


FIRST = list(_first(np.random.default_rng(0)))
MORE = list(_more(np.random.default_rng(0)))


def both(name, seed=0, requires_grad=False, dtype=None):
    """``[(torch's distribution, its parameters), (ember's, its parameters)]``."""
    rng = np.random.default_rng(seed)
    make, arrays = makers(rng)[name]
    made = []
    for lib in (torch, ember):
        params = [tensor_of(lib, a, requires_grad, dtype and getattr(lib, dtype))
                  for a in arrays]
        made.append((make(lib, *params), params))
    return made
