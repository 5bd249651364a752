"""The distributions beyond the first few (Gamma, Beta, Dirichlet, the discrete counts, the
heavy tails, the relaxed and transformed ones, the low-rank normal and the mixture)
against ``torch.distributions``: every density, distribution function, quantile, entropy
and moment PyTorch computes for them, with their gradients (a random cotangent pulled
back to the parameters, then finite differences), over parameters of broadcast batch
shapes, in float64.

Each case builds the same distribution on both libraries from the same arrays
(``tests/oracle.py``). Validation is on (PyTorch's default), so a value outside the
support would raise rather than compare.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.distribution_inputs import D, between, indices, inputs, positive, real, unit
from tests.oracle import Case, check_case

torch.set_num_threads(1)


# ---------------------------------------------------------------- inputs


def simplex(*shape):
    def draw(rng):
        weights = rng.uniform(0.2, 1.0, shape)
        return weights / weights.sum(-1, keepdims=True)

    return draw


def normalized(value):
    """``value`` divided by its sum: a point of the simplex that finite differences, which
    nudge one entry of ``value``, do not push off it."""
    return value / value.sum(-1, keepdim=True)


def fixed(lib, *values):
    """A parameter that is not an input of the case (no gradient is compared for it)."""
    return lib.tensor(values, dtype=lib.float64)


# ---------------------------------------------------------------- one distribution at a time

# name -> (make(lib, *parameters), parameter draws, a draw of values in the support,
#          the queries PyTorch answers for it)
CONTINUOUS = ("log_prob", "entropy", "mean", "mode", "variance", "stddev")
WITH_CDF = CONTINUOUS + ("cdf", "icdf")
FAMILIES = {
    "gamma": (lambda lib, a, b: D(lib).Gamma(a, b), [positive(2, 1), positive(3)],
              between(0.1, 3.0, 2, 3), CONTINUOUS),
    "gamma_numbers": (lambda lib: D(lib).Gamma(2.5, 1.5), [], between(0.1, 3.0, 5),
                      CONTINUOUS),
    "chi2": (lambda lib, k: D(lib).Chi2(k), [between(1.0, 4.0, 2, 1)], between(0.1, 5.0, 2, 3),
             CONTINUOUS),
    "beta": (lambda lib, a, b: D(lib).Beta(a, b), [positive(2, 1), positive(3)],
             unit(2, 3), CONTINUOUS),
    "beta_numbers": (lambda lib: D(lib).Beta(1.5, 2.5), [], unit(5), CONTINUOUS),
    "dirichlet": (lambda lib, a: D(lib).Dirichlet(a), [positive(2, 3)], positive(2, 3),
                  CONTINUOUS),
    "student_t": (lambda lib, df, loc, scale: D(lib).StudentT(df, loc, scale),
                  [between(2.5, 6.0, 2, 1), real(3), positive(2, 3)], real(2, 3), CONTINUOUS),
    "cauchy": (lambda lib, loc, scale: D(lib).Cauchy(loc, scale), [real(2, 1), positive(3)],
               real(2, 3), WITH_CDF),
    "half_normal": (lambda lib, scale: D(lib).HalfNormal(scale), [positive(2, 1)],
                    between(0.1, 3.0, 2, 3), WITH_CDF),
    "half_cauchy": (lambda lib, scale: D(lib).HalfCauchy(scale), [positive(2, 1)],
                    between(0.1, 3.0, 2, 3), WITH_CDF),
    "gumbel": (lambda lib, loc, scale: D(lib).Gumbel(loc, scale), [real(2, 1), positive(3)],
               real(2, 3), WITH_CDF),
    "weibull": (lambda lib, scale, k: D(lib).Weibull(scale, k), [positive(2, 1), positive(3)],
                between(0.1, 3.0, 2, 3), WITH_CDF),
    "pareto": (lambda lib, scale, alpha: D(lib).Pareto(scale, alpha),
               [between(0.2, 0.9, 2, 1), between(2.5, 4.0, 3)], between(1.0, 3.0, 2, 3),
               WITH_CDF),
    "fisher_snedecor": (lambda lib, d1, d2: D(lib).FisherSnedecor(d1, d2),
                        [between(2.5, 6.0, 2, 1), between(4.5, 8.0, 3)],
                        between(0.1, 3.0, 2, 3), ("log_prob", "mean", "mode", "variance",
                                                  "stddev")),
    "inverse_gamma": (lambda lib, a, b: D(lib).InverseGamma(a, b),
                      [between(2.5, 4.0, 2, 1), positive(3)], between(0.1, 3.0, 2, 3),
                      CONTINUOUS),
    "kumaraswamy": (lambda lib, a, b: D(lib).Kumaraswamy(a, b), [positive(2, 1), positive(3)],
                    unit(2, 3), ("log_prob", "entropy", "mean", "variance", "stddev", "cdf",
                                    "icdf")),
    "continuous_bernoulli": (lambda lib, p: D(lib).ContinuousBernoulli(p), [unit(2, 1)],
                             unit(2, 3), ("log_prob", "entropy", "mean", "variance", "stddev",
                                             "cdf", "icdf")),
    "continuous_bernoulli_logits": (
        lambda lib, logits: D(lib).ContinuousBernoulli(logits=logits), [real(2, 1)], unit(2, 3),
        ("log_prob", "entropy", "mean", "variance", "cdf", "icdf")),
    "von_mises": (lambda lib, loc, k: D(lib).VonMises(loc, k),
                  [real(2, 1), between(0.5, 6.0, 3)], real(2, 3),
                  ("log_prob", "mean", "mode", "variance")),
    "logistic_normal": (lambda lib, loc, scale: D(lib).LogisticNormal(loc, scale),
                        [real(2, 2), positive(2, 2)], positive(2, 3), ("log_prob",)),
    "relaxed_bernoulli": (lambda lib, t, p: D(lib).RelaxedBernoulli(t, probs=p),
                          [between(0.3, 2.0, 2, 1), unit(3)], unit(2, 3), ("log_prob",)),
    "relaxed_bernoulli_logits": (lambda lib, t, logits: D(lib).RelaxedBernoulli(t, logits=logits),
                                 [between(0.3, 2.0), real(3)], unit(2, 3), ("log_prob",)),
    "relaxed_one_hot": (lambda lib, t, p: D(lib).RelaxedOneHotCategorical(t, probs=p),
                        [between(0.3, 2.0), simplex(2, 3)], positive(2, 3), ("log_prob",)),
    "relaxed_one_hot_logits": (
        lambda lib, t, logits: D(lib).RelaxedOneHotCategorical(t, logits=logits),
        [between(0.3, 2.0), real(2, 3)], positive(2, 3), ("log_prob",)),
}

# the families whose values are probability vectors: drawn positive, normalized in the case
ON_SIMPLEX = {"dirichlet", "logistic_normal", "relaxed_one_hot", "relaxed_one_hot_logits"}

QUERIES = {
    "log_prob": lambda d, value: d.log_prob(value),
    "cdf": lambda d, value: d.cdf(value),
    "entropy": lambda d, value: d.entropy(),
    "mean": lambda d, value: d.mean,
    "mode": lambda d, value: d.mode,
    "variance": lambda d, value: d.variance,
    "stddev": lambda d, value: d.stddev,
}


def _family_case(family: str, query: str) -> Case:
    make, parameters, values, _ = FAMILIES[family]
    ask = QUERIES[query]

    def fn(lib, *xs):
        value = normalized(xs[-1]) if family in ON_SIMPLEX else xs[-1]
        return ask(make(lib, *xs[:-1]), value)

    # numbers make float32 parameters (the default dtype): results to float32's precision,
    # too coarse for finite differences
    return Case(f"{family}_{query}", fn, inputs=inputs(*parameters, values),
                grad=bool(parameters), gradgrad=False, rtol=1e-7 if parameters else 1e-6,
                atol=1e-10 if parameters else 1e-6)


def _icdf_case(family: str) -> Case:
    make, parameters, _, _ = FAMILIES[family]
    return Case(f"{family}_icdf", lambda lib, *xs: make(lib, *xs[:-1]).icdf(xs[-1]),
                inputs=inputs(*parameters, unit(2, 3)), gradgrad=False)


SCALAR_CASES = (
    [_family_case(family, query) for family, (*_, queries) in FAMILIES.items()
     for query in queries if query != "icdf"]
    + [_icdf_case(family) for family, (*_, queries) in FAMILIES.items() if "icdf" in queries]
    + [
        # P(α, βx): PyTorch's igamma is good to about 1e-9, and has no gradient in α
        Case("gamma_cdf", lambda lib, b, x: D(lib).Gamma(fixed(lib, 0.7, 1.5, 3.0, 9.0), b)
             .cdf(x), inputs=inputs(positive(2, 1), between(0.05, 8.0, 2, 4)),
             atol=1e-8, gradgrad=False),
        Case("inverse_gamma_cdf", lambda lib, b, x: D(lib).InverseGamma(
            fixed(lib, 0.7, 1.5, 3.0), b).cdf(x),
             inputs=inputs(positive(3), between(0.1, 4.0, 2, 3)), atol=1e-8, gradgrad=False),
        Case("fisher_snedecor_few_degrees", lambda lib, d: (
            D(lib).FisherSnedecor(fixed(lib, 1.0, 2.0, 3.0, 5.0), d).mean,
            D(lib).FisherSnedecor(fixed(lib, 1.0, 2.0, 3.0, 5.0), d).mode,
            D(lib).FisherSnedecor(d, fixed(lib, 1.5, 2.0, 4.0, 6.0)).variance,
            D(lib).FisherSnedecor(d, fixed(lib, 1.5, 2.0, 4.0, 6.0)).mean),
             inputs=inputs(between(1.0, 6.0, 4))),
        Case("chi2_cdf", lambda lib, x: D(lib).Chi2(fixed(lib, 1.0, 2.5, 7.0)).cdf(x),
             inputs=inputs(between(0.05, 9.0, 2, 3)), atol=1e-8, gradgrad=False),
        # the densities twice differentiable: second derivatives of lgamma and digamma
        Case("gamma_log_prob_gradgrad", lambda lib, a, b, x: D(lib).Gamma(a, b).log_prob(x),
             inputs=inputs(positive(3), positive(3), positive(3))),
        Case("beta_log_prob_gradgrad", lambda lib, a, b, x: D(lib).Beta(a, b).log_prob(x),
             inputs=inputs(positive(3), positive(3), unit(3))),
        # ν ≤ 1: no mean; 1 < ν ≤ 2: an infinite variance
        Case("student_t_few_degrees",
             lambda lib, loc: (D(lib).StudentT(fixed(lib, 0.5, 1.0, 1.5, 2.0, 3.0), loc).mean,
                               D(lib).StudentT(fixed(lib, 0.5, 1.0, 1.5, 2.0, 3.0), loc).variance),
             inputs=inputs(real(5))),
        # the Taylor expansions about λ = ½ (PyTorch's lims): values there, and their
        # gradient, which the exact formulas would make NaN
        Case("continuous_bernoulli_near_half",
             lambda lib, p, x: (D(lib).ContinuousBernoulli(p).log_prob(x),
                                D(lib).ContinuousBernoulli(p).mean,
                                D(lib).ContinuousBernoulli(p).variance,
                                D(lib).ContinuousBernoulli(p).entropy(),
                                D(lib).ContinuousBernoulli(p).cdf(x),
                                D(lib).ContinuousBernoulli(p).icdf(x)),
             inputs=inputs(between(0.4995, 0.5005, 4), unit(4)), gradgrad=False),
        Case("dirichlet_modes_below_one",
             lambda lib, a: D(lib).Dirichlet(a).mode,
             inputs=lambda rng: [np.array([[0.5, 0.3, 0.9], [2.0, 3.0, 0.5], [1.5, 0.5, 0.7]])],
             grad=False),
        Case("kumaraswamy_moments_numbers",
             lambda lib: (D(lib).Kumaraswamy(2.0, 5.0).mean, D(lib).Kumaraswamy(2.0, 5.0).entropy(),
                          D(lib).Kumaraswamy(2.0, 5.0).variance), rtol=1e-6),
    ]
)


@pytest.mark.parametrize("case", SCALAR_CASES, ids=lambda case: case.name)
def test_continuous_distribution_matches_torch(case):
    check_case(case)


def test_kumaraswamy_mode_is_the_density_maximum():
    """PyTorch 2.13's Kumaraswamy.mode is NaN for a, b > 1 (see the docstring), so the mode
    is checked against the density itself: nothing on a fine grid scores higher."""
    import ember

    a = ember.tensor([2.0, 3.0, 1.5, 0.5], dtype=ember.float64)
    b = ember.tensor([5.0, 1.5, 1.5, 2.0], dtype=ember.float64)
    distribution = ember.distributions.Kumaraswamy(a, b)
    mode = distribution.mode.numpy()
    assert np.isnan(mode[3])  # a < 1: unbounded at 0
    grid = ember.tensor(np.linspace(1e-4, 1 - 1e-4, 20001)[:, None].repeat(4, 1))
    best = grid.numpy()[distribution.log_prob(grid).numpy().argmax(0), range(4)]
    np.testing.assert_allclose(mode[:3], best[:3], atol=1e-4)


# ---------------------------------------------------------------- counts


def _binomial(lib, p, use_logits, count=5.0):
    return (D(lib).Binomial(count, logits=p) if use_logits else D(lib).Binomial(count, p))


def _negative_binomial(lib, r, p, use_logits):
    return (D(lib).NegativeBinomial(r, logits=p) if use_logits
            else D(lib).NegativeBinomial(r, probs=p))


DISCRETE_CASES = [
    Case("poisson", lambda lib, rate, k: (D(lib).Poisson(rate).log_prob(k.to(rate.dtype)),
                                          D(lib).Poisson(rate).mean, D(lib).Poisson(rate).mode,
                                          D(lib).Poisson(rate).variance),
         inputs=inputs(between(0.5, 6.0, 2, 1), indices(9, 2, 3)), gradgrad=False),
    Case("poisson_zero_rate", lambda lib, rate, k: D(lib).Poisson(rate).log_prob(k),
         inputs=lambda rng: [np.array([0.0, 0.0, 2.0]), np.array([0.0, 1.0, 0.0])], grad=False),
    Case("geometric_counts", lambda lib, p, k: D(lib).Geometric(p).log_prob(k.to(p.dtype)),
         inputs=inputs(unit(2, 1), indices(7, 2, 3)), gradgrad=False),
    Case("geometric_moments", lambda lib, p: (D(lib).Geometric(p).entropy(),
                                              D(lib).Geometric(p).mean,
                                              D(lib).Geometric(p).variance,
                                              D(lib).Geometric(p).mode),
         inputs=inputs(unit(4)), gradgrad=False),
    Case("geometric_logits", lambda lib, logits, k: (
        D(lib).Geometric(logits=logits).log_prob(k.to(logits.dtype)),
        D(lib).Geometric(logits=logits).probs, D(lib).Geometric(logits=logits).entropy()),
         inputs=inputs(real(4), indices(5, 4)), gradgrad=False),
    # a certain success: it happens at once (log 1 = 0), the entropy is PyTorch's clamped one
    Case("geometric_certain", lambda lib, p, k: (D(lib).Geometric(p).log_prob(k),
                                                 D(lib).Geometric(p).entropy()),
         inputs=lambda rng: [np.array([1.0, 0.5]), np.array([0.0, 3.0])], grad=False),
    Case("multinomial", lambda lib, p, x: (D(lib).Multinomial(6, p).log_prob(x.to(p.dtype)),
                                           D(lib).Multinomial(6, p).mean,
                                           D(lib).Multinomial(6, p).variance,
                                           D(lib).Multinomial(6, p).entropy()),
         inputs=lambda rng: [rng.uniform(0.2, 1.0, (2, 3)),
                             np.array([[1, 2, 3], [6, 0, 0]])], gradgrad=False),
    Case("multinomial_logits", lambda lib, logits, x: (
        D(lib).Multinomial(6, logits=logits).log_prob(x.to(logits.dtype)),
        D(lib).Multinomial(3, logits=logits).entropy()),
         inputs=lambda rng: [rng.uniform(-2.0, 2.0, (4,)), np.array([[0, 2, 3, 1], [0, 0, 1, 0]])],
         gradgrad=False),
    Case("multinomial_zero_probability",
         lambda lib, p, x: D(lib).Multinomial(3, logits=p.log()).log_prob(x),
         inputs=lambda rng: [np.array([0.0, 0.5, 0.5]), np.array([0.0, 1.0, 2.0])], grad=False),
]
for _use_logits, _draw in ((False, unit(2, 1)), (True, real(2, 1))):
    _kind = "logits" if _use_logits else "probs"
    DISCRETE_CASES += [
        Case(f"binomial_{_kind}", lambda lib, p, k, u=_use_logits: (
            _binomial(lib, p, u).log_prob(k.to(p.dtype)), _binomial(lib, p, u).mean,
            _binomial(lib, p, u).variance, _binomial(lib, p, u).mode,
            _binomial(lib, p, u).entropy(), _binomial(lib, p, u).probs,
            _binomial(lib, p, u).logits),
             inputs=inputs(_draw, indices(6, 2, 3)), gradgrad=False),
        Case(f"negative_binomial_{_kind}", lambda lib, r, p, k, u=_use_logits: (
            _negative_binomial(lib, r, p, u).log_prob(k.to(p.dtype)),
            _negative_binomial(lib, r, p, u).mean, _negative_binomial(lib, r, p, u).variance,
            _negative_binomial(lib, r, p, u).mode),
             inputs=inputs(between(0.5, 4.0, 3), _draw, indices(8, 2, 3)), gradgrad=False),
    ]
DISCRETE_CASES += [
    Case("binomial_count_tensor", lambda lib, p, k: D(lib).Binomial(
        lib.tensor([[2.0], [5.0], [9.0]], dtype=p.dtype), p).log_prob(k.to(p.dtype)),
         inputs=inputs(unit(4), indices(3, 3, 4))),
    Case("binomial_enumerate_support",
         lambda lib, p: D(lib).Binomial(4, p).enumerate_support(), inputs=inputs(unit(3)),
         grad=False),
    Case("binomial_extremes", lambda lib, p, k: D(lib).Binomial(3, p).log_prob(k),
         inputs=lambda rng: [np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 3.0, 1.0, 2.0])],
         grad=False),
    # r = k = 0: the certain outcome of no trials
    Case("negative_binomial_no_trials", lambda lib, r, k: D(lib).NegativeBinomial(
        r, fixed(lib, 0.3, 0.3)).log_prob(k), inputs=lambda rng: [np.array([0.0, 0.0]),
                                                                  np.array([0.0, 2.0])],
         grad=False),
]


@pytest.mark.parametrize("case", DISCRETE_CASES, ids=lambda case: case.name)
def test_discrete_distribution_matches_torch(case):
    check_case(case)


# ---------------------------------------------------------------- vectors and mixtures


def _low_rank(lib, loc, factor, diagonal):
    return D(lib).LowRankMultivariateNormal(loc, factor, diagonal)


LOW_RANK_QUERIES = {
    "log_prob": lambda d, x: d.log_prob(x),
    "entropy": lambda d, x: d.entropy(),
    "moments": lambda d, x: (d.mean, d.mode, d.variance, d.stddev),
    "matrices": lambda d, x: (d.scale_tril, d.covariance_matrix, d.precision_matrix),
}


def _mixture(lib, logits, loc, scale):
    return D(lib).MixtureSameFamily(D(lib).Categorical(logits=logits),
                                    D(lib).Normal(loc, scale))


def _vector_mixture(lib, logits, loc, scale):
    component = D(lib).Independent(D(lib).Normal(loc, scale), 1)
    return D(lib).MixtureSameFamily(D(lib).Categorical(logits=logits), component)


VECTOR_CASES = [
    Case(f"low_rank_{query}",
         lambda lib, loc, w, d, x, ask=ask: ask(_low_rank(lib, loc, w, d), x),
         inputs=inputs(real(2, 1, 3), real(2, 3, 2), positive(3), real(2, 1, 3)),
         gradgrad=False)
    for query, ask in LOW_RANK_QUERIES.items() if query != "matrices"
] + [
    Case("low_rank_matrices", lambda lib, loc, w, d: LOW_RANK_QUERIES["matrices"](
        _low_rank(lib, loc, w, d), None), inputs=inputs(real(3), real(3, 2), positive(3)),
         gradgrad=False),
    Case("low_rank_unbatched", lambda lib, loc, w, d, x: (
        _low_rank(lib, loc, w, d).log_prob(x), _low_rank(lib, loc, w, d).entropy()),
         inputs=inputs(real(3), real(3, 1), positive(3), real(3)), gradgrad=False),
    Case("mixture", lambda lib, logits, loc, scale, x: (
        _mixture(lib, logits, loc, scale).log_prob(x), _mixture(lib, logits, loc, scale).cdf(x),
        _mixture(lib, logits, loc, scale).mean, _mixture(lib, logits, loc, scale).variance),
         inputs=inputs(real(3), real(2, 3), positive(2, 3), real(2, 2)), gradgrad=False),
    Case("mixture_broadcast_mixing", lambda lib, logits, loc, scale, x: (
        _mixture(lib, logits, loc, scale).log_prob(x), _mixture(lib, logits, loc, scale).mean,
        _mixture(lib, logits, loc, scale).variance),
         inputs=inputs(real(1, 3), real(2, 3), positive(3), real(2, 2)), gradgrad=False),
    Case("mixture_of_vectors", lambda lib, logits, loc, scale, x: (
        _vector_mixture(lib, logits, loc, scale).log_prob(x),
        _vector_mixture(lib, logits, loc, scale).mean,
        _vector_mixture(lib, logits, loc, scale).variance),
         inputs=inputs(real(2, 3), real(2, 3, 2), positive(3, 2), real(2, 2, 2)), gradgrad=False),
]


def _spd(lib, matrix):
    """A symmetric positive-definite matrix from a free one, so that gradients reach it."""
    identity = lib.eye(matrix.shape[-1], dtype=matrix.dtype)
    return matrix @ matrix.mT + identity


def _wishart(lib, df, matrix, kind="covariance_matrix"):
    if kind == "scale_tril":
        # tril(): finite differences also nudge the upper triangle, which must not count
        return D(lib).Wishart(df, scale_tril=matrix.tril() + 2 * lib.eye(3, dtype=matrix.dtype))
    return D(lib).Wishart(df, **{kind: _spd(lib, matrix)})


WISHART_QUERIES = {
    "log_prob": lambda d, x: d.log_prob(x),
    "entropy": lambda d, x: d.entropy(),
    "moments": lambda d, x: (d.mean, d.mode, d.variance),
}
VECTOR_CASES += [
    Case(f"wishart_{query}",
         lambda lib, df, m, x, ask=ask: ask(_wishart(lib, df, m), _spd(lib, x)),
         inputs=inputs(between(4.5, 6.0, 2), real(2, 3, 3), real(3, 3)), gradgrad=False)
    for query, ask in WISHART_QUERIES.items()
] + [
    Case(f"wishart_{kind}", lambda lib, df, m, x, kind=kind: (
        _wishart(lib, df, m, kind).log_prob(_spd(lib, x)), _wishart(lib, df, m, kind).entropy(),
        _wishart(lib, df, m, kind).mean),
         inputs=inputs(between(2.5, 6.0), real(3, 3), real(2, 3, 3)), gradgrad=False)
    for kind in ("precision_matrix", "scale_tril")
] + [
    # a point of the support from a free vector: the correlation Cholesky transform
    Case("lkj_cholesky_log_prob", lambda lib, eta, x: D(lib).LKJCholesky(4, eta).log_prob(
        D(lib).transforms.CorrCholeskyTransform()(x)),
         inputs=inputs(between(0.3, 3.0, 2, 1), real(3, 6)), gradgrad=False),
    Case("lkj_cholesky_of_two", lambda lib, x: D(lib).LKJCholesky(2, 1.5).log_prob(
        D(lib).transforms.CorrCholeskyTransform()(x)), inputs=inputs(real(3, 1)), rtol=1e-6,
         atol=1e-6),
]


@pytest.mark.parametrize("case", VECTOR_CASES, ids=lambda case: case.name)
def test_vector_distribution_matches_torch(case):
    check_case(case)
