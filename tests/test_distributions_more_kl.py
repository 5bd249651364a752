"""``kl_divergence`` for every pair PyTorch registers among the distributions of
``test_distributions_more.py``, the transforms they are built from (stick-breaking,
softmax, Cholesky factors, concatenation, stacking, reshaping, distribution functions),
and the ``biject_to``/``transform_to`` registries, against PyTorch in float64: values and
gradients (a random cotangent, then finite differences) through ``tests/oracle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, check_case

torch.set_num_threads(1)


def real(*shape):
    return lambda rng: rng.uniform(-2.0, 2.0, shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def unit(*shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


def between(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


def inputs(*specs):
    return lambda rng: [spec(rng) for spec in specs]


def D(lib):
    return lib.distributions


def T(lib):
    return lib.distributions.transforms


# ---------------------------------------------------------------- KL divergence

# name -> (make(lib, *parameters), parameter draws of shape (2, 1) or (3,), broadcasting to
# a batch of (2, 3)): p and q are drawn independently from these
FAMILIES = {
    "bernoulli": (lambda lib, p: D(lib).Bernoulli(p), [unit(2, 1)]),
    "beta": (lambda lib, a, b: D(lib).Beta(a, b), [positive(2, 1), positive(3)]),
    "binomial": (lambda lib, p: D(lib).Binomial(5, p), [unit(2, 3)]),
    "cauchy": (lambda lib, loc, scale: D(lib).Cauchy(loc, scale), [real(2, 1), positive(3)]),
    "continuous_bernoulli": (lambda lib, p: D(lib).ContinuousBernoulli(p), [unit(2, 1)]),
    "dirichlet": (lambda lib, a: D(lib).Dirichlet(a), [positive(2, 1, 3)]),
    "exponential": (lambda lib, rate: D(lib).Exponential(rate), [positive(2, 1)]),
    "gamma": (lambda lib, a, b: D(lib).Gamma(a, b), [positive(2, 1), positive(3)]),
    "geometric": (lambda lib, p: D(lib).Geometric(p), [unit(2, 1)]),
    "gumbel": (lambda lib, loc, scale: D(lib).Gumbel(loc, scale), [real(2, 1), positive(3)]),
    "half_normal": (lambda lib, scale: D(lib).HalfNormal(scale), [positive(2, 1)]),
    "laplace": (lambda lib, loc, scale: D(lib).Laplace(loc, scale), [real(2, 1), positive(3)]),
    "normal": (lambda lib, loc, scale: D(lib).Normal(loc, scale), [real(2, 1), positive(3)]),
    "pareto": (lambda lib, scale, alpha: D(lib).Pareto(scale, alpha),
               [between(0.5, 1.5, 2, 1), between(2.5, 4.0, 3)]),
    "poisson": (lambda lib, rate: D(lib).Poisson(rate), [positive(2, 1)]),
    "uniform": (lambda lib, low, high: D(lib).Uniform(low, high),
                [between(-2.0, -1.0, 2, 1), between(1.0, 2.0, 3)]),
    "uniform_inside_unit": (lambda lib, low, high: D(lib).Uniform(low, high),
                            [between(0.05, 0.4, 2, 1), between(0.6, 0.95, 3)]),
    "uniform_positive": (lambda lib, low, high: D(lib).Uniform(low, high),
                         [between(1.6, 2.0, 2, 1), between(2.5, 3.5, 3)]),
    "uniform_wide": (lambda lib, low, high: D(lib).Uniform(low, high),
                     [between(-3.0, -0.5, 2, 1), between(1.5, 3.0, 3)]),
}

# the pairs with a finite divergence (for these draws); q's family listed second
FINITE = [
    ("bernoulli", "poisson"), ("beta", "beta"), ("beta", "continuous_bernoulli"),
    ("beta", "exponential"), ("beta", "gamma"), ("beta", "normal"), ("beta", "uniform_wide"),
    ("binomial", "binomial"), ("cauchy", "cauchy"),
    ("continuous_bernoulli", "continuous_bernoulli"), ("continuous_bernoulli", "exponential"),
    ("continuous_bernoulli", "normal"), ("continuous_bernoulli", "uniform_wide"),
    ("dirichlet", "dirichlet"), ("exponential", "gamma"), ("exponential", "gumbel"),
    ("gamma", "exponential"), ("gamma", "gamma"), ("gamma", "gumbel"), ("gamma", "normal"),
    ("geometric", "geometric"), ("gumbel", "gumbel"), ("gumbel", "normal"),
    ("half_normal", "half_normal"), ("normal", "gumbel"), ("pareto", "exponential"),
    ("pareto", "gamma"), ("pareto", "normal"), ("poisson", "poisson"),
    ("uniform_inside_unit", "beta"), ("uniform_inside_unit", "continuous_bernoulli"),
    ("uniform_positive", "gamma"), ("uniform", "gumbel"), ("uniform_positive", "pareto"),
]

# p's support reaches outside q's: infinite everywhere
INFINITE = [
    ("beta", "pareto"), ("continuous_bernoulli", "pareto"), ("exponential", "beta"),
    ("exponential", "continuous_bernoulli"), ("exponential", "pareto"), ("gamma", "beta"),
    ("gamma", "continuous_bernoulli"), ("gamma", "pareto"), ("gamma", "uniform"),
    ("gumbel", "beta"), ("gumbel", "continuous_bernoulli"), ("gumbel", "exponential"),
    ("gumbel", "gamma"), ("gumbel", "pareto"), ("gumbel", "uniform"), ("laplace", "beta"),
    ("laplace", "continuous_bernoulli"), ("laplace", "gamma"), ("laplace", "pareto"),
    ("normal", "beta"), ("normal", "continuous_bernoulli"), ("normal", "gamma"),
    ("normal", "pareto"), ("pareto", "beta"), ("pareto", "continuous_bernoulli"),
    ("pareto", "uniform"), ("poisson", "bernoulli"), ("poisson", "binomial"),
]


def _pair_case(p_name: str, q_name: str, grad: bool) -> Case:
    make_p, specs_p = FAMILIES[p_name]
    make_q, specs_q = FAMILIES[q_name]
    split = len(specs_p)

    def fn(lib, *xs):
        return D(lib).kl_divergence(make_p(lib, *xs[:split]), make_q(lib, *xs[split:]))

    return Case(f"kl_{p_name}_{q_name}", fn, inputs=inputs(*specs_p, *specs_q), grad=grad,
                gradgrad=False)


def _fixed(lib, *values):
    return lib.tensor(values, dtype=lib.float64)


KL_CASES = (
    [_pair_case(p, q, grad=True) for p, q in FINITE]
    + [_pair_case(p, q, grad=False) for p, q in INFINITE]
    + [
        # where the supports part: a lower bound above p's, q with fewer trials, a Pareto
        # with no mean or variance, a rate or probability of 0 ...
        Case("kl_pareto_pareto", lambda lib, a, b: D(lib).kl_divergence(
            D(lib).Pareto(_fixed(lib, 1.0, 2.0, 1.0), a), D(lib).Pareto(_fixed(lib, 1.5, 1.0, 0.5),
                                                                        b)),
             inputs=inputs(positive(3), positive(3)), gradgrad=False),
        Case("kl_binomial_fewer_trials", lambda lib, p, q: D(lib).kl_divergence(
            D(lib).Binomial(_fixed(lib, 5.0, 7.0), p), D(lib).Binomial(_fixed(lib, 5.0, 5.0), q)),
             inputs=inputs(unit(2), unit(2)), grad=False),
        Case("kl_pareto_without_moments", lambda lib, m, q_rate, q_loc, q_scale: (
            D(lib).kl_divergence(D(lib).Pareto(m, _fixed(lib, 0.5, 1.5, 3.0)),
                                 D(lib).Exponential(q_rate)),
            D(lib).kl_divergence(D(lib).Pareto(m, _fixed(lib, 0.5, 1.5, 3.0)),
                                 D(lib).Gamma(q_rate, q_rate)),
            D(lib).kl_divergence(D(lib).Pareto(m, _fixed(lib, 1.5, 2.0, 3.0)),
                                 D(lib).Normal(q_loc, q_scale))),
             inputs=inputs(positive(3), positive(3), real(3), positive(3)), grad=False),
        Case("kl_bernoulli_poisson_extremes", lambda lib, p, rate: D(lib).kl_divergence(
            D(lib).Bernoulli(p), D(lib).Poisson(rate)),
             inputs=lambda rng: [np.array([0.0, 1.0, 0.3, 0.0]), np.array([1.0, 1.0, 0.0, 0.0])],
             grad=False),
        Case("kl_poisson_zero_rates", lambda lib, p, q: D(lib).kl_divergence(
            D(lib).Poisson(p), D(lib).Poisson(q)),
             inputs=lambda rng: [np.array([0.0, 1.0]), np.array([1.0, 0.0])], grad=False),
        Case("kl_geometric_certain", lambda lib, p, q: D(lib).kl_divergence(
            D(lib).Geometric(p), D(lib).Geometric(q)),
             inputs=lambda rng: [np.array([1.0, 0.5]), np.array([0.5, 1.0])], grad=False),
        # supports that do not cover p's: infinite (and PyTorch's boundary conventions)
        Case("kl_uniform_covers", lambda lib, low, high: (
            D(lib).kl_divergence(D(lib).Beta(_fixed(lib, 2.0, 2.0, 2.0), 3.0),
                                 D(lib).Uniform(low, high)),
            D(lib).kl_divergence(D(lib).ContinuousBernoulli(_fixed(lib, 0.3, 0.3, 0.3)),
                                 D(lib).Uniform(low, high)),
            D(lib).kl_divergence(D(lib).Uniform(low + 1.0, high + 1.0),
                                 D(lib).Gamma(_fixed(lib, 2.0, 2.0, 2.0), 1.0)),
            D(lib).kl_divergence(D(lib).Uniform(low + 1.0, high + 1.0),
                                 D(lib).Pareto(1.0, _fixed(lib, 2.0, 2.0, 2.0)))),
             inputs=lambda rng: [np.array([0.0, -1.0, 0.1]), np.array([1.0, 1.0, 1.9])],
             grad=False),
        Case("kl_uniform_inside_unit", lambda lib, low, high: (
            D(lib).kl_divergence(D(lib).Uniform(low, high),
                                 D(lib).ContinuousBernoulli(_fixed(lib, 0.3, 0.3, 0.3))),
            D(lib).kl_divergence(D(lib).Uniform(low, high),
                                 D(lib).Beta(_fixed(lib, 2.0, 2.0, 2.0), 3.0))),
             inputs=lambda rng: [np.array([0.0, 0.2, -0.1]), np.array([0.5, 1.0, 0.9])],
             grad=False),
    ]
)


def _low_rank(lib, loc, factor, diagonal):
    return D(lib).LowRankMultivariateNormal(loc, factor, diagonal)


def _mvn(lib, loc, matrix):
    return D(lib).MultivariateNormal(loc, scale_tril=matrix.tril())


def _lower_cholesky(*shape):
    def draw(rng):
        n = shape[-1]
        matrix = np.tril(rng.uniform(-1.0, 1.0, shape), -1)
        return matrix + np.eye(n) * rng.uniform(0.5, 1.5, shape[:-1])[..., None]

    return draw


KL_CASES += [
    Case("kl_low_rank_low_rank", lambda lib, a, w, d, b, v, e: D(lib).kl_divergence(
        _low_rank(lib, a, w, d), _low_rank(lib, b, v, e)),
         inputs=inputs(real(2, 3), real(3, 2), positive(3), real(3), real(2, 3, 1), positive(2, 3)),
         gradgrad=False),
    Case("kl_normal_low_rank", lambda lib, a, m, b, v, e: D(lib).kl_divergence(
        _mvn(lib, a, m), _low_rank(lib, b, v, e)),
         inputs=inputs(real(2, 3), _lower_cholesky(3, 3), real(3), real(2, 3, 2), positive(3)),
         gradgrad=False),
    Case("kl_low_rank_normal", lambda lib, a, w, d, b, m: D(lib).kl_divergence(
        _low_rank(lib, a, w, d), _mvn(lib, b, m)),
         inputs=inputs(real(3), real(2, 3, 2), positive(3), real(2, 3), _lower_cholesky(3, 3)),
         gradgrad=False),
]


@pytest.mark.parametrize("case", KL_CASES, ids=lambda case: case.name)
def test_kl_divergence_matches_torch(case):
    check_case(case)


def test_every_registered_pair_is_torchs():
    ours = {(p.__name__, q.__name__) for p, q in ember.distributions.kl._KL_REGISTRY}
    theirs = {(p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY}
    assert ours == theirs


@pytest.mark.parametrize("which", ["LowRank-LowRank", "Normal-LowRank", "LowRank-Normal"])
def test_kl_of_differing_event_shapes_raises(which):
    for lib in (torch, ember):
        low_rank = D(lib).LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(3))
        other_low_rank = D(lib).LowRankMultivariateNormal(lib.zeros(2), lib.ones(2, 1),
                                                          lib.ones(2))
        normal = D(lib).MultivariateNormal(lib.zeros(2), lib.eye(2))
        p, q = {"LowRank-LowRank": (low_rank, other_low_rank), "Normal-LowRank": (normal, low_rank),
                "LowRank-Normal": (low_rank, normal)}[which]
        with pytest.raises(ValueError, match="different event shapes"):
            D(lib).kl_divergence(p, q)


def test_binomial_kl_with_more_trials_in_q_raises():
    for lib in (torch, ember):
        p = D(lib).Binomial(lib.tensor([5.0, 3.0]), lib.tensor([0.3, 0.4]))
        q = D(lib).Binomial(lib.tensor([5.0, 5.0]), lib.tensor([0.5, 0.5]))
        with pytest.raises(NotImplementedError):
            D(lib).kl_divergence(p, q)


# ---------------------------------------------------------------- transforms


def normalized(value):
    return value / value.sum(-1, keepdim=True)


TRANSFORMS = {
    "stick_breaking": (lambda lib: T(lib).StickBreakingTransform(), real(2, 3)),
    "corr_cholesky": (lambda lib: T(lib).CorrCholeskyTransform(), real(2, 6)),
    "reshape": (lambda lib: T(lib).ReshapeTransform((2, 3), (3, 2)), real(4, 2, 3)),
    "cat": (lambda lib: T(lib).CatTransform([T(lib).ExpTransform(), T(lib).SigmoidTransform(),
                                             T(lib).identity_transform], dim=1,
                                            lengths=[2, 1, 2]), real(3, 5)),
    "cat_of_vectors": (lambda lib: T(lib).CatTransform(
        [T(lib).IndependentTransform(T(lib).ExpTransform(), 1), T(lib).TanhTransform()],
        dim=-1, lengths=[2, 3]), real(3, 5)),
    "cat_along_a_batch_dim": (lambda lib: T(lib).CatTransform(
        [T(lib).IndependentTransform(T(lib).ExpTransform(), 1), T(lib).SigmoidTransform()],
        dim=0, lengths=[2, 1]), real(3, 4)),
    "stack": (lambda lib: T(lib).StackTransform([T(lib).ExpTransform(),
                                                 T(lib).AffineTransform(1.0, 2.0)], dim=1),
              real(3, 2)),
    "cumulative_distribution": (lambda lib: T(lib).CumulativeDistributionTransform(
        D(lib).Normal(lib.tensor([0.5, -1.0], dtype=lib.float64),
                      lib.tensor([1.0, 2.0], dtype=lib.float64))), real(3, 2)),
}

TRANSFORM_CASES = [
    Case(f"transform_{name}",
         lambda lib, x, make=make: (make(lib)(x), make(lib).inv(make(lib)(x)),
                                    make(lib).log_abs_det_jacobian(x, make(lib)(x))),
         inputs=inputs(draw), gradgrad=False)
    for name, (make, draw) in TRANSFORMS.items()
] + [
    # not bijective: forward and "inverse" only
    Case("transform_softmax", lambda lib, x: (T(lib).SoftmaxTransform()(x),
                                              T(lib).SoftmaxTransform().inv(normalized(x.exp()))),
         inputs=inputs(real(2, 3))),
    Case("transform_lower_cholesky", lambda lib, x: (
        T(lib).LowerCholeskyTransform()(x),
        T(lib).LowerCholeskyTransform().inv(T(lib).LowerCholeskyTransform()(x))),
         inputs=inputs(real(2, 3, 3))),
    Case("transform_positive_definite", lambda lib, x: (
        T(lib).PositiveDefiniteTransform()(x),
        T(lib).PositiveDefiniteTransform().inv(T(lib).PositiveDefiniteTransform()(x))),
         inputs=inputs(real(2, 3, 3)), gradgrad=False),
    Case("stick_breaking_inverse", lambda lib, y: (
        T(lib).StickBreakingTransform().inv(normalized(y)),
        T(lib).StickBreakingTransform().inv.log_abs_det_jacobian(
            normalized(y), T(lib).StickBreakingTransform().inv(normalized(y)))),
         inputs=inputs(positive(2, 4)), gradgrad=False),
    Case("tril_vectors", lambda lib, x, m: (
        D(lib).utils.vec_to_tril_matrix(x), D(lib).utils.vec_to_tril_matrix(x, -1),
        D(lib).utils.tril_matrix_to_vec(m), D(lib).utils.tril_matrix_to_vec(m, -1)),
         inputs=inputs(real(2, 6), real(2, 3, 3))),
]


@pytest.mark.parametrize("case", TRANSFORM_CASES, ids=lambda case: case.name)
def test_transforms_match_torch(case):
    check_case(case)


def _all_transforms(lib):
    return [make(lib) for make, _ in TRANSFORMS.values()] + [
        T(lib).SoftmaxTransform(), T(lib).LowerCholeskyTransform(),
        T(lib).PositiveDefiniteTransform()]


@pytest.mark.parametrize("index", range(len(TRANSFORMS) + 3))
def test_transform_attributes_are_torchs(index):
    ours, theirs = _all_transforms(ember)[index], _all_transforms(torch)[index]
    assert repr(ours) == repr(theirs)
    assert repr(ours.domain) == repr(theirs.domain)
    assert repr(ours.codomain) == repr(theirs.codomain)
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    assert ours.bijective == theirs.bijective
    assert repr(ours.inv) == repr(theirs.inv) and ours.inv.inv is ours
    try:
        expected_sign = theirs.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.sign
    else:
        assert ours.sign == expected_sign
    for shape in [(4, 3, 5), (2, 6), (4, 2, 3), (3, 2), (2, 3, 3), (3, 4), (1, 5)]:
        for method in ("forward_shape", "inverse_shape"):
            try:
                expected = tuple(getattr(theirs, method)(torch.Size(shape)))
            except ValueError:
                with pytest.raises(ValueError):
                    getattr(ours, method)(shape)
            else:
                assert tuple(getattr(ours, method)(shape)) == expected, (method, shape)
    assert ours == _all_transforms(ember)[index] or not theirs == _all_transforms(torch)[index]


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_transform_errors(lib):
    with pytest.raises(ValueError):
        T(lib).ReshapeTransform((2, 3), (4,))
    with pytest.raises(AssertionError):
        T(lib).CatTransform([T(lib).ExpTransform()], dim=0, lengths=[2])(lib.zeros(3))
    with pytest.raises(AssertionError):
        T(lib).StackTransform([T(lib).ExpTransform()], dim=0)(lib.zeros(3))
    with pytest.raises(ValueError):
        T(lib).CorrCholeskyTransform().forward_shape((4,))
    with pytest.raises(ValueError):
        D(lib).utils.vec_to_tril_matrix(lib.zeros(5))
    with pytest.raises(ValueError):
        D(lib).utils.tril_matrix_to_vec(lib.zeros(3, 3), 3)


def test_corr_cholesky_is_a_correlation_factor():
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.uniform(-3.0, 3.0, (5, 10)))
    factor = ember.distributions.transforms.CorrCholeskyTransform()(x)
    assert ember.distributions.constraints.corr_cholesky.check(factor).all()
    correlation = (factor @ factor.mT).numpy()
    np.testing.assert_allclose(np.diagonal(correlation, axis1=-2, axis2=-1), 1.0, atol=1e-12)


# ---------------------------------------------------------------- biject_to, transform_to


def _constraints(lib):
    c = lib.distributions.constraints
    return [c.real, c.positive, c.nonnegative, c.greater_than(2.0), c.greater_than_eq(-1.0),
            c.less_than(3.0), c.unit_interval, c.interval(-1.0, 2.0),
            c.half_open_interval(0.0, 1.0), c.simplex, c.real_vector,
            c.independent(c.positive, 2), c.lower_cholesky, c.positive_definite,
            c.positive_semidefinite, c.corr_cholesky, c.cat([c.positive, c.real], 0, [2, 3]),
            c.stack([c.positive, c.real], 1), c.boolean, c.nonnegative_integer]


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("index", range(len(_constraints(torch))))
def test_constraint_registries_are_torchs(registry, index):
    ours_constraint, theirs_constraint = _constraints(ember)[index], _constraints(torch)[index]
    ours_registry = getattr(ember.distributions, registry)
    theirs_registry = getattr(torch.distributions, registry)
    try:
        theirs = theirs_registry(theirs_constraint)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours_registry(ours_constraint)
        return
    ours = ours_registry(ours_constraint)
    assert repr(ours) == repr(theirs)
    # the transform maps onto the constraint: its values satisfy it
    domain = theirs.domain
    shape = {0: (2, 5), 1: (2, 6), 2: (2, 3, 3)}[domain.event_dim]
    if repr(theirs_constraint).startswith("Stack"):
        shape = (4, 2)
    if repr(theirs_constraint).startswith("Cat"):
        shape = (5, 2)
    x = np.random.default_rng(index).uniform(-2.0, 2.0, shape)
    expected = theirs(torch.tensor(x))
    actual = ours(ember.tensor(x))
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    assert bool(ours_constraint.check(actual).all())


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_registering_a_constraint(lib):
    constraints, transforms = lib.distributions.constraints, lib.distributions.transforms
    registry = lib.distributions.constraint_registry.ConstraintRegistry()

    class Odd(constraints.Constraint):
        pass

    registry.register(Odd, lambda constraint: transforms.ExpTransform())
    assert isinstance(registry(Odd()), transforms.ExpTransform)

    @registry.register(constraints.positive)
    def _factory(constraint):
        return transforms.AbsTransform()

    assert isinstance(registry(constraints.greater_than(3.0)), transforms.AbsTransform)
    with pytest.raises(TypeError):
        registry.register(3, _factory)
    with pytest.raises(NotImplementedError):
        registry(constraints.simplex)
