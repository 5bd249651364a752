"""``ember.distributions`` behaving as ``torch.distributions`` beyond the numbers: argument
validation and its errors, ``repr``, constraints, ``expand``, ``enumerate_support``, the KL
dispatch of ``register_kl``, transforms, PyTorch's module paths, and two training scripts
(REINFORCE and a VAE) giving PyTorch's loss and gradients from the same draws.

Most tests run a check unchanged on both libraries (``on_both``).
"""

from __future__ import annotations

import importlib
import pkgutil
import types
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


def on_both(check):
    """One test that runs ``check(library)`` on PyTorch, then on ember."""

    def test():
        for library in (torch, ember):
            try:
                check(library)
            except BaseException as error:
                error.add_note(f"(while running on {library.__name__})")
                raise

    test.__name__, test.__doc__ = check.__name__, check.__doc__
    return test


def _same_text(ember_text: str, torch_text: str) -> None:
    assert ember_text.replace("ember.", "torch.") == torch_text


def D(lib):
    return lib.distributions


# ---------------------------------------------------------------- validation


def _t(lib, *values):
    return lib.tensor(values, dtype=lib.float64)


ERROR_CASES = [
    ErrorCase("normal_negative_scale", lambda lib: D(lib).Normal(_t(lib, 0.0, 1.0),
                                                                 _t(lib, 1.0, -1.0))),
    ErrorCase("normal_nan_loc", lambda lib: D(lib).Normal(_t(lib, float("nan")), 1.0)),
    ErrorCase("normal_string", lambda lib: D(lib).Normal("a", 1.0)),
    ErrorCase("laplace_zero_scale", lambda lib: D(lib).Laplace(0.0, 0.0)),
    ErrorCase("exponential_negative_rate", lambda lib: D(lib).Exponential(_t(lib, -1.0))),
    ErrorCase("uniform_low_above_high", lambda lib: D(lib).Uniform(_t(lib, 0.0, 1.0),
                                                                   _t(lib, 1.0, 0.5))),
    ErrorCase("uniform_empty", lambda lib: D(lib).Uniform(0.0, 0.0)),
    ErrorCase("bernoulli_neither", lambda lib: D(lib).Bernoulli()),
    ErrorCase("bernoulli_both", lambda lib: D(lib).Bernoulli(0.3, 0.1)),
    ErrorCase("bernoulli_probability_above_one", lambda lib: D(lib).Bernoulli(_t(lib, 1.5))),
    ErrorCase("categorical_neither", lambda lib: D(lib).Categorical()),
    ErrorCase("categorical_scalar_probs", lambda lib: D(lib).Categorical(lib.tensor(0.3))),
    ErrorCase("categorical_scalar_logits",
              lambda lib: D(lib).Categorical(logits=lib.tensor(0.3))),
    ErrorCase("categorical_negative", lambda lib: D(lib).Categorical(_t(lib, 0.3, -0.1))),
    ErrorCase("categorical_nan_logits",
              lambda lib: D(lib).Categorical(logits=_t(lib, 0.3, float("nan")))),
    ErrorCase("one_hot_negative", lambda lib: D(lib).OneHotCategorical(_t(lib, 0.3, -0.1))),
    ErrorCase("mvn_no_matrix", lambda lib: D(lib).MultivariateNormal(lib.zeros(2))),
    ErrorCase("mvn_two_matrices",
              lambda lib: D(lib).MultivariateNormal(lib.zeros(2), lib.eye(2),
                                                    scale_tril=lib.eye(2))),
    ErrorCase("mvn_scalar_loc", lambda lib: D(lib).MultivariateNormal(lib.tensor(0.0),
                                                                      lib.eye(2))),
    ErrorCase("mvn_vector_matrix", lambda lib: D(lib).MultivariateNormal(lib.zeros(3),
                                                                         lib.ones(3))),
    ErrorCase("mvn_not_positive_definite",
              lambda lib: D(lib).MultivariateNormal(lib.zeros(2),
                                                    lib.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ErrorCase("mvn_not_symmetric",
              lambda lib: D(lib).MultivariateNormal(lib.zeros(2),
                                                    lib.tensor([[1.0, 0.5], [0.0, 1.0]]))),
    ErrorCase("mvn_upper_scale_tril",
              lambda lib: D(lib).MultivariateNormal(
                  lib.zeros(2), scale_tril=lib.tensor([[1.0, 0.5], [0.0, 1.0]]))),
    ErrorCase("mvn_negative_diagonal",
              lambda lib: D(lib).MultivariateNormal(lib.zeros(2), scale_tril=-lib.eye(2))),
    ErrorCase("independent_too_many_dims",
              lambda lib: D(lib).Independent(D(lib).Normal(lib.zeros(3), 1.0), 2)),
    # values outside the support, of the wrong shape, or not tensors
    ErrorCase("log_prob_of_a_number", lambda lib: D(lib).Normal(0.0, 1.0).log_prob(1.0)),
    ErrorCase("log_prob_nan", lambda lib: D(lib).Normal(0.0, 1.0).log_prob(_t(lib, float("nan")))),
    ErrorCase("log_prob_not_broadcastable",
              lambda lib: D(lib).Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2))),
    ErrorCase("log_prob_event_shape",
              lambda lib: D(lib).MultivariateNormal(lib.zeros(3), lib.eye(3))
              .log_prob(lib.zeros(2))),
    ErrorCase("exponential_negative_value",
              lambda lib: D(lib).Exponential(_t(lib, 1.0, 2.0)).log_prob(_t(lib, -1.0, 2.0))),
    ErrorCase("exponential_cdf_negative",
              lambda lib: D(lib).Exponential(_t(lib, 1.0)).cdf(_t(lib, -1.0))),
    ErrorCase("uniform_above_high",
              lambda lib: D(lib).Uniform(0.0, 1.0).log_prob(lib.tensor(1.5))),
    ErrorCase("bernoulli_non_binary",
              lambda lib: D(lib).Bernoulli(0.3).log_prob(lib.tensor(0.5))),
    ErrorCase("categorical_out_of_range",
              lambda lib: D(lib).Categorical(lib.ones(3)).log_prob(lib.tensor(3))),
    ErrorCase("categorical_fractional",
              lambda lib: D(lib).Categorical(lib.ones(3)).log_prob(lib.tensor(1.5))),
    ErrorCase("one_hot_two_ones",
              lambda lib: D(lib).OneHotCategorical(lib.ones(3)).log_prob(_t(lib, 1, 1, 0))),
    ErrorCase("log_normal_zero", lambda lib: D(lib).LogNormal(0.0, 1.0).log_prob(_t(lib, 0.0))),
    ErrorCase("log_normal_negative_scale", lambda lib: D(lib).LogNormal(0.0, -1.0)),
    ErrorCase("squashed_outside", lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), D(lib).TanhTransform()).log_prob(_t(lib, 1.5))),
    ErrorCase("transformed_not_a_transform",
              lambda lib: D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0), 3)),
    ErrorCase("transformed_list_of_others",
              lambda lib: D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0), [3])),
    ErrorCase("transformed_base_too_small", lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), D(lib).IndependentTransform(D(lib).ExpTransform(), 1))),
    ErrorCase("transform_cache_size", lambda lib: D(lib).ExpTransform(cache_size=2)),
    ErrorCase("independent_transform_too_few_dims",
              lambda lib: D(lib).IndependentTransform(D(lib).ExpTransform(), 1)(lib.tensor(1.0))),
    ErrorCase("set_default_validate_args", lambda lib: D(lib).Distribution
              .set_default_validate_args(3)),
    ErrorCase("expand_mismatch", lambda lib: D(lib).Normal(lib.zeros(3), 1.0).expand((2, 4))),
    ErrorCase("sample_shape_not_a_sequence",
              lambda lib: D(lib).Normal(lib.zeros(3), 1.0).sample(4)),
    ErrorCase("kl_unknown_pair", lambda lib: D(lib).kl_divergence(
        D(lib).Normal(0.0, 1.0), D(lib).Categorical(lib.ones(3)))),
    ErrorCase("kl_bernoulli_normal", lambda lib: D(lib).kl_divergence(
        D(lib).Bernoulli(0.3), D(lib).Normal(0.0, 1.0))),
    ErrorCase("kl_mvn_event_shapes", lambda lib: D(lib).kl_divergence(
        D(lib).MultivariateNormal(lib.zeros(2), lib.eye(2)),
        D(lib).MultivariateNormal(lib.zeros(3), lib.eye(3)))),
    ErrorCase("kl_independent_dims", lambda lib: D(lib).kl_divergence(
        D(lib).Independent(D(lib).Normal(lib.zeros(2, 3), 1.0), 1),
        D(lib).Independent(D(lib).Normal(lib.zeros(2, 3), 1.0), 2))),
    ErrorCase("register_kl_not_a_type", lambda lib: D(lib).register_kl(3, D(lib).Normal)),
    ErrorCase("enumerate_normal", lambda lib: D(lib).Normal(0.0, 1.0).enumerate_support()),
    ErrorCase("enumerate_cartesian", lambda lib: D(lib).Independent(
        D(lib).Bernoulli(lib.ones(2, 3) / 2), 1).enumerate_support()),
    ErrorCase("transformed_mean", lambda lib: D(lib).TransformedDistribution(
        D(lib).Normal(0.0, 1.0), D(lib).TanhTransform()).mean),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.name)
def test_bad_input_raises_torchs_exception(case):
    check_error(case)


def _messages(make):
    texts = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as error:
            make(lib)
        texts.append(str(error.value))
    return texts


@pytest.mark.parametrize("make", [
    lambda lib: D(lib).Normal(_t(lib, 0.0, 1.0), _t(lib, 1.0, -1.0)),
    lambda lib: D(lib).Uniform(0.0, 0.0),
    lambda lib: D(lib).Categorical(_t(lib, 0.3, -0.1)),
    lambda lib: D(lib).MultivariateNormal(lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    lambda lib: D(lib).Exponential(_t(lib, 1.0, 2.0)).log_prob(_t(lib, -1.0, 2.0)),
    lambda lib: D(lib).Normal(lib.zeros(3), 1.0).log_prob(lib.zeros(2)),
    lambda lib: D(lib).Normal(0.0, 1.0).log_prob(1.0),
    lambda lib: D(lib).Bernoulli(),
    lambda lib: D(lib).MultivariateNormal(lib.zeros(2)),
    lambda lib: D(lib).Independent(D(lib).Normal(lib.zeros(3), 1.0), 2),
    lambda lib: D(lib).kl_divergence(D(lib).Normal(0.0, 1.0), D(lib).Categorical(lib.ones(3))),
    lambda lib: D(lib).Categorical(lib.ones(3)).log_prob(lib.tensor(3)),
])
def test_error_messages_are_torchs(make):
    torch_text, ember_text = _messages(make)
    _same_text(ember_text, torch_text)


@on_both
def test_validation_can_be_turned_off(lib):
    scale = lib.tensor([1.0, -1.0])
    D(lib).Normal(0.0, scale, validate_args=False)  # no error
    # log λ - λx at x = -1, outside the support
    assert D(lib).Exponential(1.0, validate_args=False).log_prob(lib.tensor(-1.0)).item() == 1.0
    try:
        D(lib).Distribution.set_default_validate_args(False)
        D(lib).Normal(0.0, scale)
        D(lib).Normal(0.0, 1.0).log_prob(lib.tensor(float("nan")))
        with pytest.raises(ValueError):
            D(lib).Normal(0.0, scale, validate_args=True)
    finally:
        D(lib).Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D(lib).Normal(0.0, scale)


@on_both
def test_distribution_base_class(lib):
    base = D(lib).Distribution(validate_args=False)
    assert base.batch_shape == () and base.event_shape == ()
    assert base.has_rsample is False and base.has_enumerate_support is False
    for name in ("mean", "variance", "support", "arg_constraints"):
        with pytest.raises(NotImplementedError):
            getattr(base, name)
    for call in (base.sample, base.rsample, base.entropy, base.perplexity,
                 lambda: base.expand((2,)), lambda: base.log_prob(lib.zeros(1)),
                 lambda: base.cdf(lib.zeros(1)), lambda: base.icdf(lib.zeros(1))):
        with pytest.raises(NotImplementedError):
            call()
    with pytest.raises(NotImplementedError, match="does not implement mode"):
        base.mode
    with pytest.warns(UserWarning, match="does not define `arg_constraints`"):
        D(lib).Distribution()


@on_both
def test_sample_n_is_deprecated(lib):
    with pytest.warns(FutureWarning, match=r"sample\(\(n,\)\)"):
        drawn = D(lib).Normal(lib.zeros(2), 1.0).sample_n(3)
    assert tuple(drawn.shape) == (3, 2)


@on_both
def test_perplexity_and_stddev(lib):
    d = D(lib).Categorical(lib.tensor([0.5, 0.5]))
    assert abs(d.perplexity().item() - 2.0) < 1e-6
    assert abs(D(lib).Exponential(lib.tensor(4.0)).stddev.item() - 0.25) < 1e-7


# ---------------------------------------------------------------- repr, shapes, attributes


def _reprs(lib):
    z, one = lib.zeros(2, 3), lib.ones(2, 3)
    b = D(lib).Bernoulli(lib.tensor([0.2, 0.5]))
    b_with_logits = D(lib).Bernoulli(lib.tensor([0.2, 0.5]))
    b_with_logits.logits  # computed, then kept: repr shows it too
    return [
        D(lib).Normal(z, one), D(lib).Normal(0.0, 2.0), D(lib).Normal(lib.zeros(1), 1.0),
        D(lib).Laplace(0.0, 1.0), D(lib).Exponential(lib.ones(2)), D(lib).Uniform(0.0, 1.0),
        b, b_with_logits, D(lib).Bernoulli(logits=lib.zeros(3)),
        D(lib).Categorical(lib.ones(3)), D(lib).Categorical(logits=lib.ones(2, 3)),
        D(lib).OneHotCategorical(lib.ones(3)), D(lib).Independent(D(lib).Normal(z, one), 1),
        D(lib).MultivariateNormal(lib.zeros(2), lib.eye(2)),
        D(lib).MultivariateNormal(lib.zeros(2), scale_tril=lib.eye(2)),
        D(lib).MultivariateNormal(lib.zeros(2), precision_matrix=lib.eye(2)),
        D(lib).LogNormal(0.0, 1.0),
        D(lib).TransformedDistribution(D(lib).Normal(0.0, 1.0), D(lib).TanhTransform()),
        D(lib).Normal(z, one).expand((4, 2, 3)),
    ]


def test_repr_is_torchs():
    for ours, theirs in zip(_reprs(ember), _reprs(torch)):
        _same_text(repr(ours), repr(theirs))


CLASSES = ["Normal", "Laplace", "Exponential", "Uniform", "Bernoulli", "Categorical",
           "OneHotCategorical", "OneHotCategoricalStraightThrough", "MultivariateNormal",
           "LogNormal"]


@pytest.mark.parametrize("name", CLASSES)
def test_class_attributes_are_torchs(name):
    ours, theirs = getattr(ember.distributions, name), getattr(torch.distributions, name)
    assert ours.has_rsample == theirs.has_rsample
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]
    if not isinstance(theirs.__dict__.get("arg_constraints"), property):
        assert repr(ours.arg_constraints) == repr(theirs.arg_constraints)
    if not isinstance(theirs.support, property):
        assert repr(ours.support) == repr(theirs.support)
        assert ours.support.is_discrete == theirs.support.is_discrete
        assert ours.support.event_dim == theirs.support.event_dim


def _instances(lib):
    return [
        D(lib).Uniform(lib.zeros(2), lib.ones(2)), D(lib).Categorical(lib.ones(2, 3)),
        D(lib).Independent(D(lib).Normal(lib.zeros(2, 3), 1.0), 1),
        D(lib).Independent(D(lib).Bernoulli(lib.ones(2, 3) / 2), 0),
        D(lib).TransformedDistribution(D(lib).Normal(lib.zeros(3), 1.0),
                                       D(lib).SigmoidTransform()),
        D(lib).TransformedDistribution(
            D(lib).Normal(lib.zeros(2, 3), 1.0),
            D(lib).IndependentTransform(D(lib).ExpTransform(), 1)),
    ]


def test_instance_supports_are_torchs():
    for ours, theirs in zip(_instances(ember), _instances(torch)):
        _same_text(repr(ours.support), repr(theirs.support))
        _same_text(repr(ours.arg_constraints), repr(theirs.arg_constraints))
        assert ours.has_rsample == theirs.has_rsample
        assert ours.has_enumerate_support == theirs.has_enumerate_support
        assert ours.batch_shape == tuple(theirs.batch_shape)
        assert ours.event_shape == tuple(theirs.event_shape)


@on_both
def test_lazy_parameters(lib):
    probs = lib.tensor([0.2, 0.5], requires_grad=True)
    d = D(lib).Bernoulli(probs)
    assert "logits" not in d.__dict__
    with lib.no_grad():
        logits = d.logits  # computed with gradients on, so still attached to probs
    assert logits.requires_grad and "logits" in d.__dict__ and d.logits is logits
    assert isinstance(type(d).__dict__["logits"], D(lib).utils.lazy_property)
    assert isinstance(type(d).logits, property)  # read on the class: also a property
    mvn = D(lib).MultivariateNormal(lib.zeros(2), scale_tril=lib.eye(2))
    assert "covariance_matrix" not in mvn.__dict__
    mvn.covariance_matrix
    assert "covariance_matrix" in mvn.__dict__


# ---------------------------------------------------------------- expand, enumerate_support


def _expansions(lib):
    z = lib.tensor([0.1, -0.2, 0.3], dtype=lib.float64)
    probs = lib.tensor([[0.2, 0.3, 0.5]], dtype=lib.float64)
    bernoulli = D(lib).Bernoulli(lib.tensor([0.2, 0.4, 0.7], dtype=lib.float64))
    bernoulli.logits
    return [
        (D(lib).Normal(z, 1.0), (2, 3)),
        (D(lib).Laplace(z, 2.0), (4, 3)),
        (D(lib).Exponential(z.abs()), (2, 3)),
        (D(lib).Uniform(z - 1, z + 1), (2, 3)),
        (bernoulli, (2, 3)),
        (D(lib).Categorical(probs), (4,)),
        (D(lib).Categorical(logits=probs), (2, 4)),
        (D(lib).OneHotCategorical(probs), (4,)),
        (D(lib).Independent(D(lib).Normal(z, 1.0), 1), (5,)),
        (D(lib).MultivariateNormal(z, scale_tril=lib.eye(3, dtype=lib.float64)), (2,)),
        (D(lib).LogNormal(z, 1.0), (2, 3)),
        (D(lib).TransformedDistribution(D(lib).Normal(z, 1.0), D(lib).TanhTransform()), (2, 3)),
    ]


def test_expand_is_torchs():
    for (ours, shape), (theirs, _) in zip(_expansions(ember), _expansions(torch)):
        expanded, reference = ours.expand(shape), theirs.expand(shape)
        assert type(expanded) is type(ours)
        assert expanded.batch_shape == tuple(reference.batch_shape)
        assert expanded.event_shape == tuple(reference.event_shape)
        assert sorted(expanded.__dict__) == sorted(reference.__dict__), type(ours).__name__
        assert expanded._validate_args == reference._validate_args
        _same_text(repr(expanded), repr(reference))
        value = reference.sample()
        np.testing.assert_allclose(
            expanded.log_prob(ember.tensor(value.numpy())).numpy(),
            reference.log_prob(value).numpy(), rtol=1e-12)
        for name in ("mean", "variance"):
            try:
                expected = getattr(reference, name)
            except NotImplementedError:
                continue
            np.testing.assert_allclose(getattr(expanded, name).numpy(), expected.numpy(),
                                       rtol=1e-12)


def _enumerations(lib):
    probs = lib.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    return [D(lib).Bernoulli(lib.tensor([[0.2, 0.5]], dtype=lib.float64)),
            D(lib).Categorical(probs), D(lib).OneHotCategorical(probs),
            D(lib).Independent(D(lib).Bernoulli(lib.ones(2, 3) / 2), 0)]


def test_enumerate_support_is_torchs():
    for ours, theirs in zip(_enumerations(ember), _enumerations(torch)):
        for expand in (True, False):
            actual, expected = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
            np.testing.assert_array_equal(actual.numpy(), expected.numpy())
        values = theirs.enumerate_support()
        np.testing.assert_allclose(ours.log_prob(ember.tensor(values.numpy())).numpy(),
                                   theirs.log_prob(values).numpy(), rtol=1e-6)


# ---------------------------------------------------------------- constraints and utils

CONSTRAINT_VALUES = [
    [0.0, 1.0, -1.5, 0.5, 2.0, float("nan"), float("inf")],
    [[0.2, 0.8], [0.5, 0.6], [1.0, 0.0], [-0.1, 1.1]],
    [[[1.0, 0.0], [0.5, 2.0]], [[1.0, 0.5], [0.5, 1.0]], [[-1.0, 0.0], [0.0, 1.0]],
     [[1.0, 2.0], [2.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.6, 0.0], [0.8, 0.6]],
     [[1.0, 0.0], [0.6, 0.8]]],
    [3.0, 0.0, 1.0, 2.5, -2.0],
]


def _constraints(lib):
    c = lib.distributions.constraints
    return [c.real, c.positive, c.nonnegative, c.unit_interval, c.interval(-1.0, 0.5),
            c.half_open_interval(0.0, 1.0), c.greater_than(0.5), c.greater_than_eq(0.5),
            c.less_than(0.5), c.boolean, c.nonnegative_integer, c.positive_integer,
            c.integer_interval(0, 2), c.simplex, c.real_vector, c.independent(c.positive, 1),
            c.one_hot, c.lower_triangular, c.lower_cholesky, c.positive_definite,
            c.positive_semidefinite, c.symmetric, c.square, c.corr_cholesky,
            c.multinomial(1), c.cat([c.positive, c.real], dim=-1, lengths=[1, 1]),
            c.stack([c.positive, c.unit_interval], dim=-1)]


def test_constraints_are_torchs():
    for ours, theirs in zip(_constraints(ember), _constraints(torch)):
        assert repr(ours) == repr(theirs)
        assert ours.is_discrete == theirs.is_discrete
        assert ours.event_dim == theirs.event_dim, repr(theirs)
        checked = 0
        for values in CONSTRAINT_VALUES:
            array = np.array(values)
            if array.ndim < theirs.event_dim or (theirs.event_dim == 2 and array.ndim != 3):
                continue
            expected = theirs.check(torch.tensor(array))
            actual = ours.check(ember.tensor(array))
            np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=repr(ours))
            checked += 1
        assert checked > 0


@on_both
def test_dependent_constraints(lib):
    c = lib.distributions.constraints
    assert c.is_dependent(c.dependent) and not c.is_dependent(c.real)
    assert c.is_dependent(D(lib).Categorical.support)
    with pytest.raises(ValueError, match="Cannot determine validity"):
        c.dependent.check(lib.ones(2))
    with pytest.raises(NotImplementedError):
        c.dependent.is_discrete
    known = c.dependent(is_discrete=True, event_dim=1)
    assert known.is_discrete is True and known.event_dim == 1
    assert D(lib).Categorical.support.is_discrete is True
    with pytest.raises(ValueError, match="Expected value.dim"):
        c.independent(c.real, 2).check(lib.zeros(3))


def _utilities(lib):
    u = lib.distributions.utils
    logits = lib.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype=lib.float64)
    probs = lib.tensor([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]], dtype=lib.float64)
    loc, scale = u.broadcast_all(lib.zeros(3, dtype=lib.float64), 2.0)
    (single,) = u.broadcast_all(1.5)
    return [u.logits_to_probs(logits), u.logits_to_probs(logits, is_binary=True),
            u.probs_to_logits(probs), u.probs_to_logits(probs, is_binary=True),
            u.clamp_probs(probs), u.clamp_probs(probs.float()), loc, scale, single]


def test_utils_are_torchs():
    for ours, theirs in zip(_utilities(ember), _utilities(torch)):
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert ember.distributions.utils.euler_constant == torch.distributions.utils.euler_constant


# ---------------------------------------------------------------- KL dispatch


@on_both
def test_register_kl_dispatches_to_the_most_specific_pair(lib):
    Normal, kl = D(lib).Normal, D(lib).kl

    class Narrow(Normal):
        pass

    class Narrower(Narrow):
        pass

    p, q = Narrower(0.0, 1.0), Narrower(1.0, 1.0)
    builtin = kl.kl_divergence(p, q)  # the Normal pair's formula, for subclasses too
    assert abs(builtin.item() - 0.5) < 1e-6

    @kl.register_kl(Narrow, Normal)
    def narrow_normal(p, q):
        return lib.tensor(1.0)

    assert kl.kl_divergence(p, q).item() == 1.0  # the cache was cleared on registration

    @kl.register_kl(Narrow, Narrow)
    def narrow_narrow(p, q):
        return lib.tensor(2.0)

    assert kl.kl_divergence(p, q).item() == 2.0
    assert kl.kl_divergence(p, Normal(0.0, 1.0)).item() == 1.0
    assert abs(kl.kl_divergence(Normal(0.0, 1.0), q).item() - 0.5) < 1e-6

    @kl.register_kl(Normal, Narrower)
    def normal_narrower(p, q):
        return lib.tensor(3.0)

    # (Narrow, Narrow) is more specific on p, (Normal, Narrower) on q: p wins, with a warning
    with pytest.warns(RuntimeWarning, match=r"Ambiguous kl_divergence\(Narrower, Narrower\)"):
        assert kl.kl_divergence(p, q).item() == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert kl.kl_divergence(p, q).item() == 2.0  # the choice is cached: no second warning
    for key in [(Narrow, Normal), (Narrow, Narrow), (Normal, Narrower)]:
        del kl._KL_REGISTRY[key]
    kl._KL_MEMOIZE.clear()


@on_both
def test_kl_of_the_one_hot_straight_through_uses_the_one_hot_pair(lib):
    probs = lib.tensor([0.2, 0.3, 0.5])
    p = D(lib).OneHotCategoricalStraightThrough(probs)
    q = D(lib).OneHotCategorical(logits=lib.zeros(3))
    expected = (probs * (probs / (1 / 3)).log()).sum()
    assert abs(D(lib).kl_divergence(p, q).item() - expected.item()) < 1e-6


# ---------------------------------------------------------------- transforms


def _transforms(lib):
    T = lib.distributions.transforms
    affine = T.AffineTransform(1.0, -2.0)
    return [T.ExpTransform(), T.TanhTransform(), T.SigmoidTransform(), T.SoftplusTransform(),
            T.AbsTransform(), T.PowerTransform(2.0), affine, affine.inv,
            T.AffineTransform(0.0, lib.ones(3), event_dim=1),
            T.ComposeTransform([T.ExpTransform(), affine]),
            T.IndependentTransform(T.ExpTransform(), 1), T.identity_transform]


@pytest.mark.parametrize("index", range(len(_transforms(torch))))
def test_transform_attributes_are_torchs(index):
    ours, theirs = _transforms(ember)[index], _transforms(torch)[index]
    assert repr(ours) == repr(theirs)
    assert repr(ours.domain) == repr(theirs.domain)
    assert repr(ours.codomain) == repr(theirs.codomain)
    assert ours.bijective == theirs.bijective
    assert repr(ours.inv) == repr(theirs.inv)
    assert ours.inv.inv is ours and theirs.inv.inv is theirs
    try:
        expected_sign = theirs.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.sign
    else:
        np.testing.assert_array_equal(np.asarray(ours.sign), np.asarray(expected_sign))
    try:
        expected_dim = theirs.event_dim
    except ValueError:
        with pytest.raises(ValueError):
            ours.event_dim
    else:
        assert ours.event_dim == expected_dim
    assert (ours == _transforms(ember)[index]) == (theirs == _transforms(torch)[index])


@on_both
def test_transform_cache(lib):
    T = lib.distributions.transforms
    x = lib.tensor([0.5, 30.0], dtype=lib.float64)
    cached = T.TanhTransform(cache_size=1)
    y = cached(x)
    assert cached(x) is y and cached.inv(y) is x  # exact even where tanh rounds to 1
    plain = T.TanhTransform()
    assert lib.isinf(plain.inv(plain(x))).any()
    assert T.ExpTransform().with_cache(1)._cache_size == 1
    assert T.ComposeTransform([T.ExpTransform()], cache_size=1).parts[0]._cache_size == 1
    squashed = D(lib).TransformedDistribution(D(lib).Normal(lib.zeros(2, dtype=lib.float64),
                                                            10.0), [cached])
    sample = squashed.rsample((3,))
    assert lib.isfinite(squashed.log_prob(sample)).all()


# ---------------------------------------------------------------- module paths


def test_every_name_is_at_pytorchs_module_path():
    """For each name a ``torch.distributions.*`` file defines that ember has,
    ``ember.distributions.<file>`` has it too, as the same object."""
    package = torch.distributions
    checked, missing = 0, []
    for info in pkgutil.iter_modules(package.__path__):
        torch_module = importlib.import_module(f"torch.distributions.{info.name}")
        for name in dir(torch_module):
            value = getattr(torch_module, name)
            if (name.startswith("_") or isinstance(value, types.ModuleType)
                    or getattr(value, "__module__", None) != torch_module.__name__):
                continue
            public = getattr(ember.distributions, name, None)
            if public is None or isinstance(public, types.ModuleType):
                continue
            try:
                found = getattr(importlib.import_module(f"ember.distributions.{info.name}"),
                                name)
            except (ImportError, AttributeError):
                found = None
            checked += 1
            if found is not public:
                missing.append(f"ember.distributions.{info.name}.{name}")
    assert checked >= 20 and missing == []


def test_public_names_are_torchs():
    ours = set(ember.distributions.__all__)
    assert ours <= set(torch.distributions.__all__)
    assert {"Normal", "Categorical", "MultivariateNormal", "kl_divergence"} <= ours
    for name in ember.distributions.constraints.__all__:
        assert name in torch.distributions.constraints.__all__
    for name in ember.distributions.transforms.__all__:
        assert name in torch.distributions.transforms.__all__


def test_reachable_as_torch_distributions_is():
    import subprocess
    import sys

    code = ("import ember\n"
            "assert ember.distributions.Normal is ember.distributions.normal.Normal\n"
            "from ember.distributions import Categorical, kl_divergence\n"
            "from ember.distributions.multivariate_normal import MultivariateNormal\n"
            "import ember.distributions.constraints as c\n"
            "print(c.positive)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GreaterThan(lower_bound=0.0)"


# ---------------------------------------------------------------- training scripts


def _policy_loss(lib, weights, states, actions, returns, mean_weights, log_std, continuous):
    """REINFORCE: -E[log π(a|s) · G], for a discrete and a Gaussian policy."""
    logits = states @ weights
    policy = D(lib).Categorical(logits=logits)
    loss = -(policy.log_prob(actions) * returns).mean() - 0.01 * policy.entropy().mean()
    gaussian = D(lib).Independent(D(lib).Normal(states @ mean_weights, log_std.exp()), 1)
    return loss - (gaussian.log_prob(continuous) * returns).mean()


def test_reinforce_loss_and_gradients_are_torchs():
    rng = np.random.default_rng(17)
    arrays = {"weights": rng.standard_normal((4, 3)), "mean_weights": rng.standard_normal((4, 2)),
              "log_std": rng.uniform(-0.5, 0.5, (2,))}
    states, returns = rng.standard_normal((16, 4)), rng.standard_normal(16)
    # actions drawn by PyTorch's policy, replayed through ember's
    torch.manual_seed(0)
    torch_params = {k: torch.tensor(v, requires_grad=True) for k, v in arrays.items()}
    with torch.no_grad():
        logits = torch.tensor(states) @ torch_params["weights"]
        actions = torch.distributions.Categorical(logits=logits).sample()
        continuous = torch.distributions.Normal(torch.tensor(states) @ torch_params["mean_weights"],
                                                torch_params["log_std"].exp()).sample()
    torch_loss = _policy_loss(torch, torch_params["weights"], torch.tensor(states), actions,
                              torch.tensor(returns), torch_params["mean_weights"],
                              torch_params["log_std"], continuous)
    torch_loss.backward()
    ember_params = {k: ember.tensor(v, requires_grad=True) for k, v in arrays.items()}
    ember_loss = _policy_loss(ember, ember_params["weights"], ember.tensor(states),
                              ember.tensor(actions.numpy()), ember.tensor(returns),
                              ember_params["mean_weights"], ember_params["log_std"],
                              ember.tensor(continuous.numpy()))
    ember_loss.backward()
    np.testing.assert_allclose(ember_loss.item(), torch_loss.item(), rtol=1e-12)
    for name in arrays:
        np.testing.assert_allclose(ember_params[name].grad.numpy(),
                                   torch_params[name].grad.numpy(), rtol=1e-9, atol=1e-12)


def _vae_loss(lib, encoder, decoder, images, noise):
    """A VAE's negative ELBO: reparameterized latent, Bernoulli decoder, KL to N(0, I)."""
    hidden = images @ encoder
    mean, log_variance = hidden.chunk(2, dim=-1)
    std = (0.5 * log_variance).exp()
    posterior = D(lib).Normal(mean, std)
    latent = mean + std * noise  # what posterior.rsample() computes, with shared noise
    prior = D(lib).Normal(lib.zeros_like(mean), lib.ones_like(std))
    likelihood = D(lib).Independent(D(lib).Bernoulli(logits=latent @ decoder), 1)
    kl = D(lib).kl_divergence(posterior, prior).sum(-1)
    monte_carlo_kl = (posterior.log_prob(latent) - prior.log_prob(latent)).sum(-1)
    return (-likelihood.log_prob(images) + kl).mean() + 0.1 * monte_carlo_kl.mean()


def test_vae_loss_and_gradients_are_torchs():
    rng = np.random.default_rng(23)
    encoder, decoder = rng.standard_normal((6, 4)) * 0.5, rng.standard_normal((2, 6)) * 0.5
    images = (rng.uniform(size=(8, 6)) < 0.4).astype(np.float64)
    noise = torch.randn(8, 2, dtype=torch.float64).numpy()  # PyTorch's own draw
    results = []
    for lib in (torch, ember):
        weights = [lib.tensor(encoder, requires_grad=True), lib.tensor(decoder, requires_grad=True)]
        loss = _vae_loss(lib, *weights, lib.tensor(images), lib.tensor(noise))
        grads = lib.autograd.grad(loss, weights)
        results.append((loss.item(), [g.numpy() for g in grads]))
    (torch_loss, torch_grads), (ember_loss, ember_grads) = results
    np.testing.assert_allclose(ember_loss, torch_loss, rtol=1e-12)
    for ours, theirs in zip(ember_grads, torch_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_vae_trains_with_rsample():
    """A few Adam steps on the reparameterized ELBO lower the loss (ember's own draws)."""
    ember.manual_seed(0)
    rng = np.random.default_rng(29)
    images = ember.tensor((rng.uniform(size=(32, 6)) < 0.3).astype(np.float32))
    encoder = ember.nn.Linear(6, 4)
    decoder = ember.nn.Linear(2, 6)
    optimizer = ember.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=0.05)

    def loss():
        mean, log_variance = encoder(images).chunk(2, dim=-1)
        posterior = ember.distributions.Normal(mean, (0.5 * log_variance).exp())
        latent = posterior.rsample()
        likelihood = ember.distributions.Bernoulli(logits=decoder(latent))
        prior = ember.distributions.Normal(0.0, 1.0)
        kl = ember.distributions.kl_divergence(posterior, prior.expand(posterior.batch_shape))
        return (-likelihood.log_prob(images).sum(-1) + kl.sum(-1)).mean()

    first = loss()
    for _ in range(60):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
    assert encoder.weight.grad is not None and loss().item() < first.item() - 0.5
