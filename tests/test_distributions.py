"""``ember.distributions`` against ``torch.distributions``: the values of every density,
distribution function, quantile, entropy and moment, and of ``kl_divergence`` for every
registered pair, with their gradients (a random cotangent pulled back to the parameters,
then finite differences), over parameters of broadcast batch shapes, in float64.

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


def lower_cholesky(*shape):
    """Lower-triangular matrices with diagonals in [0.5, 1.5]."""

    def draw(rng):
        n = shape[-1]
        matrix = np.tril(rng.uniform(-1.0, 1.0, shape), -1)
        return matrix + np.eye(n) * rng.uniform(0.5, 1.5, shape[:-1])[..., None]

    return draw


# ---------------------------------------------------------------- one distribution at a time


# name -> (make(lib, *parameters), parameter draws, a draw of values in the support)
FAMILIES = {
    "normal": (lambda lib, loc, scale: D(lib).Normal(loc, scale),
               [real(3, 1), positive(4)], real(2, 3, 4)),
    "normal_numbers": (lambda lib: D(lib).Normal(0.5, 2.0), [], real(5)),
    "laplace": (lambda lib, loc, scale: D(lib).Laplace(loc, scale),
                [real(3, 1), positive(4)], real(2, 3, 4)),
    "exponential": (lambda lib, rate: D(lib).Exponential(rate), [positive(3, 1)],
                    between(0.1, 3.0, 2, 3, 4)),
    "uniform": (lambda lib, low, high: D(lib).Uniform(low, high),
                [between(-2.0, -1.0, 3, 1), between(1.0, 2.0, 4)], between(-0.9, 0.9, 2, 3, 4)),
    "log_normal": (lambda lib, loc, scale: D(lib).LogNormal(loc, scale),
                   [real(3, 1), positive(4)], between(0.1, 3.0, 2, 3, 4)),
}

QUERIES = {
    "log_prob": lambda d, value: d.log_prob(value),
    "cdf": lambda d, value: d.cdf(value),
    "entropy": lambda d, value: d.entropy(),
    "mean": lambda d, value: d.mean,
    "mode": lambda d, value: d.mode,
    "variance": lambda d, value: d.variance,
    "stddev": lambda d, value: d.stddev,
    "perplexity": lambda d, value: d.perplexity(),
}


def _family_case(family: str, query: str) -> Case:
    make, parameters, values = FAMILIES[family]
    ask = QUERIES[query]

    def fn(lib, *xs):
        return ask(make(lib, *xs[:-1]), xs[-1])

    return Case(f"{family}_{query}", fn, inputs=inputs(*parameters, values))


def _icdf_case(family: str) -> Case:
    make, parameters, _ = FAMILIES[family]
    return Case(f"{family}_icdf", lambda lib, *xs: make(lib, *xs[:-1]).icdf(xs[-1]),
                inputs=inputs(*parameters, unit(2, 3, 4)))


SCALAR_CASES = (
    [_family_case(family, query) for family in FAMILIES for query in QUERIES
     if (family, query) != ("uniform", "mode")]
    + [_icdf_case(family) for family in ("normal", "laplace", "exponential", "uniform",
                                         "log_normal")]
    # every point is a mode of the uniform distribution: NaN, with no gradient to compare
    + [Case("uniform_mode", lambda lib, low, high: lib.distributions.Uniform(low, high).mode,
            inputs=inputs(between(-2.0, -1.0, 3, 1), between(1.0, 2.0, 4)), grad=False)]
)


@pytest.mark.parametrize("case", SCALAR_CASES, ids=lambda case: case.name)
def test_continuous_distribution_matches_torch(case):
    check_case(case)


def _bernoulli(lib, parameter, use_logits):
    return D(lib).Bernoulli(logits=parameter) if use_logits else D(lib).Bernoulli(parameter)


def _categorical(lib, parameter, use_logits, name="Categorical"):
    make = getattr(D(lib), name)
    return make(logits=parameter) if use_logits else make(probs=parameter)


def _one_hot(lib, index, classes, like):
    return lib.nn.functional.one_hot(index, classes).to(like.dtype)


DISCRETE_CASES = []
for _use_logits, _draw in ((False, unit(3, 1)), (True, real(3, 1))):
    _kind = "logits" if _use_logits else "probs"
    DISCRETE_CASES += [
        Case(f"bernoulli_{_kind}_log_prob",
             lambda lib, p, x, u=_use_logits: _bernoulli(lib, p, u).log_prob(x.to(p.dtype)),
             inputs=inputs(_draw, indices(2, 2, 3, 4))),
        Case(f"bernoulli_{_kind}_entropy",
             lambda lib, p, u=_use_logits: _bernoulli(lib, p, u).entropy(), inputs=inputs(_draw)),
        Case(f"bernoulli_{_kind}_moments",
             lambda lib, p, u=_use_logits: (_bernoulli(lib, p, u).mean,
                                            _bernoulli(lib, p, u).variance,
                                            _bernoulli(lib, p, u).stddev),
             inputs=inputs(_draw)),
        Case(f"bernoulli_{_kind}_parameters",
             lambda lib, p, u=_use_logits: (_bernoulli(lib, p, u).probs,
                                            _bernoulli(lib, p, u).logits),
             inputs=inputs(_draw)),
    ]
for _use_logits, _draw in ((False, positive(3, 4)), (True, real(3, 4))):
    _kind = "logits" if _use_logits else "probs"
    DISCRETE_CASES += [
        Case(f"categorical_{_kind}_log_prob",
             lambda lib, p, x, u=_use_logits: _categorical(lib, p, u).log_prob(x),
             inputs=inputs(_draw, indices(4, 2, 3))),
        Case(f"categorical_{_kind}_log_prob_broadcast",
             lambda lib, p, x, u=_use_logits: _categorical(lib, p, u).log_prob(x),
             inputs=inputs(_draw, indices(4, 5, 1))),
        Case(f"categorical_{_kind}_entropy_and_parameters",
             lambda lib, p, u=_use_logits: (_categorical(lib, p, u).entropy(),
                                            _categorical(lib, p, u).probs,
                                            _categorical(lib, p, u).logits,
                                            _categorical(lib, p, u).perplexity()),
             inputs=inputs(_draw)),
        Case(f"categorical_{_kind}_moments",
             lambda lib, p, u=_use_logits: (_categorical(lib, p, u).mode,
                                            _categorical(lib, p, u).mean,
                                            _categorical(lib, p, u).variance),
             inputs=inputs(_draw), grad=False),
        Case(f"one_hot_categorical_{_kind}_log_prob",
             lambda lib, p, x, u=_use_logits: _categorical(lib, p, u, "OneHotCategorical")
             .log_prob(_one_hot(lib, x, 4, p)),
             inputs=inputs(_draw, indices(4, 2, 3))),
        Case(f"one_hot_categorical_{_kind}_entropy_and_moments",
             lambda lib, p, u=_use_logits: (
                 _categorical(lib, p, u, "OneHotCategorical").entropy(),
                 _categorical(lib, p, u, "OneHotCategorical").mean,
                 _categorical(lib, p, u, "OneHotCategorical").variance),
             inputs=inputs(_draw)),
        Case(f"one_hot_categorical_{_kind}_mode",
             lambda lib, p, u=_use_logits: _categorical(lib, p, u, "OneHotCategorical").mode,
             inputs=inputs(_draw), grad=False),
    ]
DISCRETE_CASES += [
    Case("bernoulli_mode", lambda lib, p: D(lib).Bernoulli(p).mode,
         inputs=lambda rng: [np.array([0.2, 0.5, 0.7, 0.0, 1.0])], grad=False),
    # a zero probability: 0 log 0 counts as 0 in the entropy, and its class is impossible
    Case("categorical_zero_probability",
         lambda lib, p, x: (D(lib).Categorical(p).entropy(), D(lib).Categorical(p).log_prob(x)),
         inputs=lambda rng: [np.array([[0.0, 0.3, 0.7], [0.5, 0.5, 0.0]]), np.array([0, 2])],
         grad=False),
    # the extremes of the Bernoulli's probabilities: log 0 is clamped, not infinite
    Case("bernoulli_certain", lambda lib, p, x: (D(lib).Bernoulli(p).log_prob(x),
                                                 D(lib).Bernoulli(p).entropy(),
                                                 D(lib).Bernoulli(p).logits),
         inputs=lambda rng: [np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0, 0.0])],
         grad=False),
]


@pytest.mark.parametrize("case", DISCRETE_CASES, ids=lambda case: case.name)
def test_discrete_distribution_matches_torch(case):
    check_case(case)


# ---------------------------------------------------------------- vectors


def _mvn(lib, loc, matrix, kind):
    if kind == "scale_tril":
        # tril(): finite differences also nudge the upper triangle, which must not count
        return D(lib).MultivariateNormal(loc, scale_tril=matrix.tril())
    # a symmetric positive-definite matrix from a free one, so that gradients reach it
    identity = lib.eye(matrix.shape[-1], dtype=matrix.dtype)
    spd = matrix @ matrix.mT + identity
    return D(lib).MultivariateNormal(loc, **{kind: spd})


MVN_QUERIES = {
    "log_prob": lambda d, x: d.log_prob(x),
    "entropy": lambda d, x: d.entropy(),
    "moments": lambda d, x: (d.mean, d.mode, d.variance, d.stddev),
    "matrices": lambda d, x: (d.scale_tril, d.covariance_matrix, d.precision_matrix),
}
MVN_CASES = []
for _kind in ("scale_tril", "covariance_matrix", "precision_matrix"):
    _matrix = lower_cholesky(5, 3, 3) if _kind == "scale_tril" else real(5, 3, 3)
    for _query, _ask in MVN_QUERIES.items():
        MVN_CASES.append(Case(
            f"multivariate_normal_{_kind}_{_query}",
            lambda lib, loc, m, x, k=_kind, ask=_ask: ask(_mvn(lib, loc, m, k), x),
            inputs=inputs(real(4, 1, 3), _matrix, real(2, 1, 5, 3)), gradgrad=False,
        ))
MVN_CASES += [
    Case("multivariate_normal_unbatched",
         lambda lib, loc, m, x: (_mvn(lib, loc, m, "scale_tril").log_prob(x),
                                 _mvn(lib, loc, m, "scale_tril").entropy()),
         inputs=inputs(real(2), lower_cholesky(2, 2), real(2))),
    Case("independent_normal",
         lambda lib, loc, scale, x: (D(lib).Independent(D(lib).Normal(loc, scale), 1)
                                     .log_prob(x),
                                     D(lib).Independent(D(lib).Normal(loc, scale), 2)
                                     .log_prob(x),
                                     D(lib).Independent(D(lib).Normal(loc, scale), 1)
                                     .entropy(),
                                     D(lib).Independent(D(lib).Normal(loc, scale), 1).mean,
                                     D(lib).Independent(D(lib).Normal(loc, scale), 1)
                                     .variance),
         inputs=inputs(real(3, 1), positive(4), real(2, 3, 4))),
    Case("independent_of_multivariate_normal",
         lambda lib, loc, m, x: D(lib).Independent(_mvn(lib, loc, m, "scale_tril"), 1)
         .log_prob(x),
         inputs=inputs(real(4, 3), lower_cholesky(3, 3), real(2, 4, 3)), gradgrad=False),
]


@pytest.mark.parametrize("case", MVN_CASES, ids=lambda case: case.name)
def test_multivariate_distribution_matches_torch(case):
    check_case(case)


# ---------------------------------------------------------------- transforms


def T(lib):
    return lib.distributions.transforms


TRANSFORMS = {
    "exp": (lambda lib: T(lib).ExpTransform(), real(2, 3)),
    "tanh": (lambda lib: T(lib).TanhTransform(), real(2, 3)),
    "sigmoid": (lambda lib: T(lib).SigmoidTransform(), real(2, 3)),
    "softplus": (lambda lib: T(lib).SoftplusTransform(), real(2, 3)),
    "power": (lambda lib: T(lib).PowerTransform(2.5), positive(2, 3)),
    "affine": (lambda lib: T(lib).AffineTransform(0.5, -2.0), real(2, 3)),
    "affine_vector": (lambda lib: T(lib).AffineTransform(
        lib.tensor([0.5, 1.0, -1.0], dtype=lib.float64),
        lib.tensor([2.0, -0.5, 3.0], dtype=lib.float64), event_dim=1), real(2, 3)),
    "compose": (lambda lib: T(lib).ComposeTransform(
        [T(lib).AffineTransform(0.1, 0.5), T(lib).TanhTransform(),
         T(lib).AffineTransform(1.0, 2.0)]), real(2, 3)),
    "independent": (lambda lib: T(lib).IndependentTransform(T(lib).SigmoidTransform(), 1),
                    real(2, 3)),
    "inverse_of_exp": (lambda lib: T(lib).ExpTransform().inv, positive(2, 3)),
}

TRANSFORM_CASES = [
    Case(f"transform_{name}",
         lambda lib, x, make=make: (make(lib)(x), make(lib).inv(make(lib)(x)),
                                    make(lib).log_abs_det_jacobian(x, make(lib)(x))),
         inputs=inputs(draw))
    for name, (make, draw) in TRANSFORMS.items()
]


def _squashed(lib, loc, scale):
    """Soft actor-critic's policy: a Gaussian squashed by tanh, then scaled."""
    return D(lib).TransformedDistribution(
        D(lib).Normal(loc, scale),
        [T(lib).TanhTransform(), T(lib).AffineTransform(0.5, 2.0)])


TRANSFORM_CASES += [
    Case("transformed_squashed_gaussian",
         lambda lib, loc, scale, x: _squashed(lib, loc, scale).log_prob(x),
         inputs=inputs(real(3, 1), positive(4), between(-1.4, 2.4, 2, 3, 4))),
    Case("transformed_decreasing_cdf_icdf",
         lambda lib, loc, scale, x, p: (
             D(lib).TransformedDistribution(D(lib).Normal(loc, scale),
                                            T(lib).AffineTransform(1.0, -3.0)).cdf(x),
             D(lib).TransformedDistribution(D(lib).Normal(loc, scale),
                                            T(lib).AffineTransform(1.0, -3.0)).icdf(p)),
         inputs=inputs(real(3), positive(3), real(2, 3), unit(2, 3))),
    Case("transformed_event_dims",
         lambda lib, loc, scale, x: D(lib).TransformedDistribution(
             D(lib).Normal(loc, scale),
             T(lib).IndependentTransform(T(lib).SigmoidTransform(), 1)).log_prob(x),
         inputs=inputs(real(4, 3), positive(4, 3), unit(2, 4, 3))),
    Case("transformed_affine_vector",
         lambda lib, loc, scale, x: D(lib).TransformedDistribution(
             D(lib).Normal(loc, scale),
             T(lib).AffineTransform(lib.ones(3, dtype=lib.float64) * 2, 3.0, event_dim=1))
         .log_prob(x),
         inputs=inputs(real(4, 3), positive(4, 3), real(2, 4, 3))),
]


@pytest.mark.parametrize("case", TRANSFORM_CASES, ids=lambda case: case.name)
def test_transforms_match_torch(case):
    check_case(case)


# ---------------------------------------------------------------- KL divergence


def _pair(name, make_p, make_q, specs, grad=True):
    return Case(f"kl_{name}",
                lambda lib, *xs: D(lib).kl_divergence(make_p(lib, *xs), make_q(lib, *xs)),
                inputs=inputs(*specs), grad=grad, gradgrad=False)


def _normal(lib, first, second):
    return D(lib).Normal(first, second)


KL_CASES = [
    _pair("normal_normal", lambda lib, a, b, c, d: D(lib).Normal(a, b),
          lambda lib, a, b, c, d: D(lib).Normal(c, d),
          [real(3, 1), positive(4), real(4), positive(3, 1)]),
    _pair("laplace_laplace", lambda lib, a, b, c, d: D(lib).Laplace(a, b),
          lambda lib, a, b, c, d: D(lib).Laplace(c, d),
          [real(3, 1), positive(4), real(4), positive(3, 1)]),
    _pair("exponential_exponential", lambda lib, a, b: D(lib).Exponential(a),
          lambda lib, a, b: D(lib).Exponential(b), [positive(3, 1), positive(4)]),
    _pair("uniform_uniform", lambda lib, a, b, c, d: D(lib).Uniform(a, b),
          lambda lib, a, b, c, d: D(lib).Uniform(c, d),
          [between(-1.0, -0.5, 3, 1), between(0.5, 1.0, 4),
           between(-3.0, -1.5, 4), between(1.5, 3.0, 3, 1)]),
    _pair("uniform_uniform_not_covered", lambda lib, a, b, c, d: D(lib).Uniform(a, b),
          lambda lib, a, b, c, d: D(lib).Uniform(c, d),
          [between(-2.0, -0.5, 6), between(0.5, 2.0, 6),
           between(-2.0, -0.5, 6), between(0.5, 2.0, 6)], grad=False),
    # (PyTorch's formula indexes with unexpanded masks: its parameters must share a shape)
    _pair("bernoulli_bernoulli", lambda lib, a, b: D(lib).Bernoulli(a),
          lambda lib, a, b: D(lib).Bernoulli(logits=b), [unit(3, 4), real(3, 4)]),
    _pair("bernoulli_extremes", lambda lib, a, b: D(lib).Bernoulli(a),
          lambda lib, a, b: D(lib).Bernoulli(b),
          [lambda rng: np.array([0.0, 1.0, 0.3, 0.3, 0.0, 1.0]),
           lambda rng: np.array([0.5, 0.5, 0.0, 1.0, 0.0, 1.0])], grad=False),
    _pair("categorical_categorical", lambda lib, a, b: D(lib).Categorical(a),
          lambda lib, a, b: D(lib).Categorical(logits=b), [positive(3, 1, 4), real(5, 4)]),
    _pair("categorical_zeros", lambda lib, a, b: D(lib).Categorical(a),
          lambda lib, a, b: D(lib).Categorical(b),
          [lambda rng: np.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]]),
           lambda rng: np.array([[0.3, 0.0, 0.7], [0.2, 0.3, 0.5]])], grad=False),
    _pair("one_hot_categorical", lambda lib, a, b: D(lib).OneHotCategorical(a),
          lambda lib, a, b: D(lib).OneHotCategorical(logits=b), [positive(3, 4), real(3, 4)]),
    _pair("independent_independent",
          lambda lib, a, b, c, d: D(lib).Independent(D(lib).Normal(a, b), 1),
          lambda lib, a, b, c, d: D(lib).Independent(D(lib).Normal(c, d), 1),
          [real(3, 4), positive(4), real(4), positive(3, 4)]),
    _pair("multivariate_normal",
          lambda lib, a, b, c, d: _mvn(lib, a, b, "scale_tril"),
          lambda lib, a, b, c, d: _mvn(lib, c, d, "covariance_matrix"),
          [real(4, 1, 3), lower_cholesky(5, 3, 3), real(3), real(3, 3)]),
    _pair("log_normal_log_normal", lambda lib, a, b, c, d: D(lib).LogNormal(a, b),
          lambda lib, a, b, c, d: D(lib).LogNormal(c, d),
          [real(3, 1), positive(4), real(4), positive(3, 1)]),
    # across families
    _pair("exponential_normal", lambda lib, a, b, c: D(lib).Exponential(a),
          lambda lib, a, b, c: D(lib).Normal(b, c), [positive(3, 1), real(4), positive(4)]),
    _pair("laplace_normal", lambda lib, a, b, c, d: D(lib).Laplace(a, b),
          lambda lib, a, b, c, d: D(lib).Normal(c, d),
          [real(3, 1), positive(4), real(4), positive(3, 1)]),
    _pair("normal_laplace", lambda lib, a, b, c, d: D(lib).Normal(a, b),
          lambda lib, a, b, c, d: D(lib).Laplace(c, d),
          [real(3, 1), positive(4), real(4), positive(3, 1)]),
    _pair("uniform_exponential", lambda lib, a, b, c: D(lib).Uniform(a, b),
          lambda lib, a, b, c: D(lib).Exponential(c),
          [between(0.1, 1.0, 3, 1), between(1.5, 3.0, 4), positive(4)]),
    _pair("uniform_exponential_below_zero", lambda lib, a, b, c: D(lib).Uniform(a, b),
          lambda lib, a, b, c: D(lib).Exponential(c),
          [between(-1.0, 1.0, 6), between(1.5, 3.0, 6), positive(6)], grad=False),
    _pair("uniform_normal", lambda lib, a, b, c, d: D(lib).Uniform(a, b),
          lambda lib, a, b, c, d: D(lib).Normal(c, d),
          [between(-2.0, -1.0, 3, 1), between(1.0, 2.0, 4), real(4), positive(3, 1)]),
] + [
    # an unbounded support against a bounded one: infinite
    _pair(f"{p_name}_{q_name}_infinite", make_p, make_q,
          [real(3), positive(3), between(-2.0, -1.0, 3), between(1.0, 2.0, 3)], grad=False)
    for p_name, make_p in (
        ("normal", lambda lib, a, b, c, d: D(lib).Normal(a, b)),
        ("laplace", lambda lib, a, b, c, d: D(lib).Laplace(a, b)),
        ("exponential", lambda lib, a, b, c, d: D(lib).Exponential(b)),
    )
    for q_name, make_q in (
        ("uniform", lambda lib, a, b, c, d: D(lib).Uniform(c, d)),
        ("exponential", lambda lib, a, b, c, d: D(lib).Exponential(d)),
    )
    if (p_name, q_name) != ("exponential", "exponential")
]


@pytest.mark.parametrize("case", KL_CASES, ids=lambda case: case.name)
def test_kl_divergence_matches_torch(case):
    check_case(case)


def _bregman(lib, p, q):
    return lib.distributions.kl._kl_expfamily_expfamily(p, q)


def _fixed(lib, *values):
    return lib.tensor(values, dtype=lib.float64)


EXPONENTIAL_FAMILY_CASES = [
    # the Bregman-divergence formula that an exponential family without a KL of its own
    # falls back to, and the entropy from the log-normalizer: both through autograd. No
    # gradient reaches p's parameters (its natural parameters are detached), so p is fixed.
    Case("bregman_normal",
         lambda lib, c, d: _bregman(lib, D(lib).Normal(_fixed(lib, 0.3, -1.0, 2.0),
                                                       _fixed(lib, 0.7, 1.2, 2.0)),
                                    D(lib).Normal(c, d)),
         inputs=inputs(real(3), positive(3)), gradgrad=False),
    Case("bregman_bernoulli",
         lambda lib, b: _bregman(lib, D(lib).Bernoulli(_fixed(lib, 0.1, 0.5, 0.6, 0.9)),
                                 D(lib).Bernoulli(b)),
         inputs=inputs(unit(4)), gradgrad=False),
    Case("bregman_exponential",
         lambda lib, b: _bregman(lib, D(lib).Exponential(_fixed(lib, 0.5, 1.0, 1.5, 3.0)),
                                 D(lib).Exponential(b)),
         inputs=inputs(positive(4)), gradgrad=False),
    Case("exponential_family_entropy",
         lambda lib, a, b, c, d: (
             D(lib).ExponentialFamily.entropy(D(lib).Normal(a, b)),
             D(lib).ExponentialFamily.entropy(D(lib).Bernoulli(c)),
             D(lib).ExponentialFamily.entropy(D(lib).Exponential(d))),
         inputs=inputs(real(3), positive(3), unit(3), positive(3)), grad=False),
]


@pytest.mark.parametrize("case", EXPONENTIAL_FAMILY_CASES, ids=lambda case: case.name)
def test_exponential_family_formulas_match_torch(case):
    check_case(case)
