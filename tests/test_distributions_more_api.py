"""The distributions of ``test_distributions_more.py`` behaving as PyTorch's beyond the
numbers: argument validation and its exception classes, ``repr``, class attributes and
supports, ``expand``, ``enumerate_support``, PyTorch's module paths, and ``import ember``
left as it was.

Most checks run unchanged on both libraries.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


def D(lib):
    return lib.distributions


def _t(lib, *values):
    return lib.tensor(values, dtype=lib.float64)


def _mixture(lib, logits, loc):
    return D(lib).MixtureSameFamily(D(lib).Categorical(logits=logits),
                                    D(lib).Normal(loc, 1.0))


ERROR_CASES = [
    # parameters outside their constraints
    ErrorCase("gamma_negative_concentration", lambda lib: D(lib).Gamma(_t(lib, -1.0), 1.0)),
    ErrorCase("gamma_zero_rate", lambda lib: D(lib).Gamma(1.0, 0.0)),
    ErrorCase("chi2_negative", lambda lib: D(lib).Chi2(_t(lib, -2.0))),
    ErrorCase("beta_zero", lambda lib: D(lib).Beta(_t(lib, 0.0), _t(lib, 1.0))),
    ErrorCase("beta_numbers_negative", lambda lib: D(lib).Beta(1.0, -1.0)),
    ErrorCase("dirichlet_scalar", lambda lib: D(lib).Dirichlet(lib.tensor(1.0))),
    ErrorCase("dirichlet_negative", lambda lib: D(lib).Dirichlet(_t(lib, 1.0, -1.0))),
    ErrorCase("poisson_negative", lambda lib: D(lib).Poisson(_t(lib, -0.5))),
    ErrorCase("binomial_neither", lambda lib: D(lib).Binomial(3)),
    ErrorCase("binomial_both", lambda lib: D(lib).Binomial(3, 0.3, 0.1)),
    ErrorCase("binomial_negative_count", lambda lib: D(lib).Binomial(-1, _t(lib, 0.3))),
    ErrorCase("binomial_fractional_count", lambda lib: D(lib).Binomial(2.5, _t(lib, 0.3))),
    ErrorCase("binomial_probability_above_one", lambda lib: D(lib).Binomial(2, _t(lib, 1.3))),
    ErrorCase("multinomial_tensor_count",
              lambda lib: D(lib).Multinomial(lib.tensor(3), _t(lib, 0.5, 0.5))),
    ErrorCase("multinomial_neither", lambda lib: D(lib).Multinomial(3)),
    ErrorCase("multinomial_negative", lambda lib: D(lib).Multinomial(3, _t(lib, 0.5, -0.5))),
    ErrorCase("geometric_zero", lambda lib: D(lib).Geometric(_t(lib, 0.0, 0.5))),
    ErrorCase("geometric_both", lambda lib: D(lib).Geometric(0.5, 0.1)),
    ErrorCase("negative_binomial_certain", lambda lib: D(lib).NegativeBinomial(2.0, _t(lib, 1.0))),
    ErrorCase("negative_binomial_negative_count",
              lambda lib: D(lib).NegativeBinomial(_t(lib, -1.0), _t(lib, 0.5))),
    ErrorCase("student_t_negative_df", lambda lib: D(lib).StudentT(_t(lib, -1.0))),
    ErrorCase("cauchy_zero_scale", lambda lib: D(lib).Cauchy(0.0, _t(lib, 0.0))),
    ErrorCase("half_normal_negative", lambda lib: D(lib).HalfNormal(_t(lib, -1.0))),
    ErrorCase("half_cauchy_negative", lambda lib: D(lib).HalfCauchy(_t(lib, -1.0))),
    ErrorCase("gumbel_zero_scale", lambda lib: D(lib).Gumbel(0.0, _t(lib, 0.0))),
    ErrorCase("weibull_negative", lambda lib: D(lib).Weibull(1.0, _t(lib, -1.0))),
    ErrorCase("pareto_negative", lambda lib: D(lib).Pareto(1.0, _t(lib, -1.0))),
    ErrorCase("kumaraswamy_zero", lambda lib: D(lib).Kumaraswamy(_t(lib, 0.0), 1.0)),
    ErrorCase("logistic_normal_negative", lambda lib: D(lib).LogisticNormal(lib.zeros(2),
                                                                            _t(lib, 1.0, -1.0))),
    ErrorCase("relaxed_bernoulli_neither", lambda lib: D(lib).RelaxedBernoulli(_t(lib, 0.5))),
    ErrorCase("relaxed_one_hot_negative", lambda lib: D(lib).RelaxedOneHotCategorical(
        _t(lib, 0.5), _t(lib, 0.5, -0.5))),
    ErrorCase("continuous_bernoulli_validated",
              lambda lib: D(lib).ContinuousBernoulli(_t(lib, 1.5), validate_args=True)),
    ErrorCase("continuous_bernoulli_neither", lambda lib: D(lib).ContinuousBernoulli()),
    ErrorCase("von_mises_negative", lambda lib: D(lib).VonMises(0.0, _t(lib, -1.0))),
    ErrorCase("low_rank_scalar_loc", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.tensor(0.0), lib.ones(1, 1), lib.ones(1))),
    ErrorCase("low_rank_vector_factor", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.zeros(3), lib.ones(3), lib.ones(3))),
    ErrorCase("low_rank_factor_rows", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.zeros(3), lib.ones(2, 1), lib.ones(3))),
    ErrorCase("low_rank_diagonal_length", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.zeros(3), lib.ones(3, 1), lib.ones(2))),
    ErrorCase("low_rank_batches", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.zeros(2, 3), lib.ones(4, 3, 1), lib.ones(3))),
    ErrorCase("mixture_not_categorical", lambda lib: D(lib).MixtureSameFamily(
        D(lib).Normal(0.0, 1.0), D(lib).Normal(lib.zeros(2), 1.0))),
    ErrorCase("mixture_not_a_distribution", lambda lib: D(lib).MixtureSameFamily(
        D(lib).Categorical(lib.ones(2)), lib.zeros(2))),
    ErrorCase("mixture_batches", lambda lib: _mixture(lib, lib.zeros(3, 2), lib.zeros(4, 2))),
    ErrorCase("mixture_component_count", lambda lib: _mixture(lib, lib.zeros(3), lib.zeros(2))),
    ErrorCase("wishart_small_df", lambda lib: D(lib).Wishart(2.0, lib.eye(3))),
    ErrorCase("wishart_no_matrix", lambda lib: D(lib).Wishart(4.0)),
    ErrorCase("wishart_two_matrices", lambda lib: D(lib).Wishart(4.0, lib.eye(3),
                                                                 scale_tril=lib.eye(3))),
    ErrorCase("wishart_vector", lambda lib: D(lib).Wishart(4.0, lib.ones(3))),
    ErrorCase("wishart_not_positive_definite", lambda lib: D(lib).Wishart(
        4.0, lib.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ErrorCase("fisher_snedecor_negative", lambda lib: D(lib).FisherSnedecor(_t(lib, -1.0), 2.0)),
    ErrorCase("inverse_gamma_zero", lambda lib: D(lib).InverseGamma(_t(lib, 0.0), 2.0)),
    ErrorCase("inverse_gamma_negative_value", lambda lib: D(lib).InverseGamma(
        _t(lib, 2.0), 2.0).log_prob(_t(lib, -1.0))),
    ErrorCase("lkj_dim_one", lambda lib: D(lib).LKJCholesky(1, 1.0)),
    ErrorCase("lkj_negative", lambda lib: D(lib).LKJCholesky(3, _t(lib, -1.0))),
    # values outside the support, or of the wrong shape
    ErrorCase("wishart_value_not_positive_definite", lambda lib: D(lib).Wishart(
        4.0, lib.eye(2)).log_prob(lib.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    ErrorCase("lkj_value_rows", lambda lib: D(lib).LKJCholesky(2, 1.0).log_prob(
        lib.tensor([[1.0, 0.0], [0.5, 0.5]]))),
    ErrorCase("gamma_negative_value",
              lambda lib: D(lib).Gamma(_t(lib, 1.0), 1.0).log_prob(_t(lib, -1.0))),
    ErrorCase("gamma_cdf_negative",
              lambda lib: D(lib).Gamma(_t(lib, 1.0), 1.0).cdf(_t(lib, -1.0))),
    ErrorCase("beta_above_one", lambda lib: D(lib).Beta(1.0, 1.0).log_prob(lib.tensor(1.5))),
    ErrorCase("dirichlet_not_simplex",
              lambda lib: D(lib).Dirichlet(lib.ones(3)).log_prob(_t(lib, 0.5, 0.5, 0.5))),
    ErrorCase("dirichlet_event_shape",
              lambda lib: D(lib).Dirichlet(lib.ones(3)).log_prob(_t(lib, 0.5, 0.5))),
    ErrorCase("poisson_fractional",
              lambda lib: D(lib).Poisson(_t(lib, 1.0)).log_prob(_t(lib, 0.5))),
    ErrorCase("binomial_too_many", lambda lib: D(lib).Binomial(3, _t(lib, 0.5))
              .log_prob(_t(lib, 4.0))),
    ErrorCase("multinomial_too_many", lambda lib: D(lib).Multinomial(3, _t(lib, 0.5, 0.5))
              .log_prob(_t(lib, 2.0, 2.0))),
    ErrorCase("geometric_negative", lambda lib: D(lib).Geometric(_t(lib, 0.5))
              .log_prob(_t(lib, -1.0))),
    ErrorCase("negative_binomial_fractional", lambda lib: D(lib).NegativeBinomial(
        2.0, _t(lib, 0.5)).log_prob(_t(lib, 1.5))),
    ErrorCase("half_normal_negative_value",
              lambda lib: D(lib).HalfNormal(_t(lib, 1.0)).log_prob(_t(lib, -1.0))),
    ErrorCase("half_cauchy_negative_value",
              lambda lib: D(lib).HalfCauchy(_t(lib, 1.0)).log_prob(_t(lib, -1.0))),
    ErrorCase("pareto_below_scale",
              lambda lib: D(lib).Pareto(_t(lib, 1.0), 2.0).log_prob(_t(lib, 0.5))),
    ErrorCase("continuous_bernoulli_above_one",
              lambda lib: D(lib).ContinuousBernoulli(_t(lib, 0.3)).log_prob(_t(lib, 1.5))),
    ErrorCase("kumaraswamy_above_one",
              lambda lib: D(lib).Kumaraswamy(_t(lib, 2.0), 2.0).log_prob(_t(lib, 1.5))),
    ErrorCase("logistic_normal_not_simplex", lambda lib: D(lib).LogisticNormal(
        lib.zeros(2), 1.0).log_prob(_t(lib, 0.5, 0.5, 0.5))),
    ErrorCase("student_t_nan", lambda lib: D(lib).StudentT(_t(lib, 3.0)).log_prob(
        _t(lib, float("nan")))),
    ErrorCase("low_rank_event_shape", lambda lib: D(lib).LowRankMultivariateNormal(
        lib.zeros(3), lib.ones(3, 1), lib.ones(3)).log_prob(lib.zeros(2))),
    ErrorCase("mixture_value_shape",
              lambda lib: _mixture(lib, lib.zeros(2), lib.zeros(3, 2)).log_prob(lib.zeros(2))),
    # what PyTorch does not compute
    ErrorCase("binomial_inhomogeneous_entropy",
              lambda lib: D(lib).Binomial(_t(lib, 3.0, 4.0), _t(lib, 0.5, 0.5)).entropy()),
    ErrorCase("binomial_inhomogeneous_support", lambda lib: D(lib).Binomial(
        _t(lib, 3.0, 4.0), _t(lib, 0.5, 0.5)).enumerate_support()),
    ErrorCase("gamma_icdf", lambda lib: D(lib).Gamma(_t(lib, 1.0), 1.0).icdf(_t(lib, 0.5))),
    ErrorCase("von_mises_rsample", lambda lib: D(lib).VonMises(0.0, 1.0).rsample()),
    ErrorCase("poisson_rsample", lambda lib: D(lib).Poisson(_t(lib, 1.0)).rsample()),
    ErrorCase("mixture_rsample", lambda lib: _mixture(lib, lib.zeros(2), lib.zeros(2)).rsample()),
    ErrorCase("standard_gamma_second_derivative", lambda lib: _second_derivative(lib)),
]


def _second_derivative(lib):
    concentration = _t(lib, 2.0).requires_grad_()
    sample = D(lib).Gamma(concentration, 1.0).rsample()
    (first,) = lib.autograd.grad(sample.sum(), [concentration], create_graph=True)
    return lib.autograd.grad(first.sum(), [concentration])


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.name)
def test_bad_input_raises_torchs_exception(case):
    check_error(case)


def test_low_rank_negative_diagonal_fails_in_the_factorization():
    """PyTorch factors the capacitance matrix before it validates: a linear-algebra error
    (a RuntimeError), not the ValueError of validation."""
    for lib in (torch, ember):
        with pytest.raises(RuntimeError) as error:
            D(lib).LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), -lib.ones(3))
        assert "LinAlgError" in type(error.value).__name__


def test_gamma_cdf_has_no_gradient_in_the_concentration():
    for lib in (torch, ember):
        concentration = _t(lib, 2.0).requires_grad_()
        value = _t(lib, 1.0).requires_grad_()
        cdf = D(lib).Gamma(concentration, 1.0).cdf(value)
        with pytest.raises(NotImplementedError):
            lib.autograd.grad(cdf.sum(), [concentration], retain_graph=True)
        (along_value,) = lib.autograd.grad(cdf.sum(), [value])
        assert abs(along_value.item() - np.exp(-1.0)) < 1e-12  # the density of Gamma(2, 1)


def _messages(make):
    texts = []
    for lib in (torch, ember):
        with pytest.raises(Exception) as error:
            make(lib)
        texts.append(str(error.value).replace("ember.", "torch."))
    return texts


@pytest.mark.parametrize("make", [
    lambda lib: D(lib).Dirichlet(lib.tensor(1.0)),
    lambda lib: D(lib).Binomial(_t(lib, 3.0, 4.0), _t(lib, 0.5, 0.5)).entropy(),
    lambda lib: D(lib).Multinomial(lib.tensor(3), _t(lib, 0.5, 0.5)),
    lambda lib: D(lib).Geometric(_t(lib, 0.0, 0.5)),
    lambda lib: D(lib).ContinuousBernoulli(_t(lib, 1.5), validate_args=True),
    lambda lib: D(lib).LowRankMultivariateNormal(lib.zeros(3), lib.ones(2, 1), lib.ones(3)),
    lambda lib: D(lib).LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(2)),
    lambda lib: _mixture(lib, lib.zeros(3), lib.zeros(2)),
    lambda lib: D(lib).Gamma(_t(lib, -1.0), 1.0),
])
def test_error_messages_are_torchs(make):
    torch_text, ember_text = _messages(make)
    assert ember_text == torch_text


# ---------------------------------------------------------------- attributes and reprs

CLASSES = ["Gamma", "Chi2", "Beta", "Dirichlet", "Poisson", "Binomial", "Multinomial",
           "Geometric", "NegativeBinomial", "StudentT", "Cauchy", "HalfNormal", "HalfCauchy",
           "Gumbel", "Weibull", "Pareto", "LogisticNormal", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "ContinuousBernoulli", "Kumaraswamy", "VonMises",
           "LowRankMultivariateNormal", "MixtureSameFamily", "Wishart", "LKJCholesky",
           "FisherSnedecor", "InverseGamma"]


@pytest.mark.parametrize("name", CLASSES)
def test_class_attributes_are_torchs(name):
    ours, theirs = getattr(ember.distributions, name), getattr(torch.distributions, name)
    assert ours.has_enumerate_support == theirs.has_enumerate_support
    assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]
    assert ours.__module__.replace("ember.", "torch.") == theirs.__module__
    if not isinstance(theirs.__dict__.get("arg_constraints"), property):
        assert repr(ours.arg_constraints) == repr(theirs.arg_constraints)
    try:
        support = theirs.support
        support.is_discrete, support.event_dim
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.support.is_discrete
        return
    assert repr(ours.support) == repr(theirs.support)
    assert ours.support.is_discrete == theirs.support.is_discrete
    assert ours.support.event_dim == theirs.support.event_dim


def _instances(lib):
    z, one = lib.zeros(2, 3, dtype=lib.float64), lib.ones(2, 3, dtype=lib.float64)
    return [
        D(lib).Gamma(one, 2.0), D(lib).Gamma(2.0, 3.0), D(lib).Chi2(one), D(lib).Beta(one, one),
        D(lib).Beta(2.0, 3.0), D(lib).Dirichlet(one), D(lib).Poisson(one),
        D(lib).Binomial(5, one / 2), D(lib).Binomial(one * 4, logits=z),
        D(lib).Multinomial(5, one), D(lib).Geometric(one / 2), D(lib).Geometric(logits=z),
        D(lib).NegativeBinomial(one, one / 2), D(lib).StudentT(one), D(lib).StudentT(3.0),
        D(lib).Cauchy(z, one), D(lib).HalfNormal(one), D(lib).HalfCauchy(2.0),
        D(lib).Gumbel(z, one), D(lib).Gumbel(0.0, 1.0), D(lib).Weibull(one, one),
        D(lib).Pareto(one, 2.0), D(lib).LogisticNormal(z, one),
        D(lib).RelaxedBernoulli(lib.tensor(0.5), one / 2),
        D(lib).RelaxedOneHotCategorical(lib.tensor(0.5), one),
        D(lib).ContinuousBernoulli(one / 3), D(lib).ContinuousBernoulli(logits=z),
        D(lib).Kumaraswamy(one, one), D(lib).VonMises(z, one), D(lib).VonMises(0.0, 1.0),
        D(lib).LowRankMultivariateNormal(z, one.unsqueeze(-1), one),
        D(lib).MixtureSameFamily(D(lib).Categorical(one), D(lib).Normal(z, one)),
        D(lib).Wishart(one[:, 0] + 3, lib.eye(3, dtype=lib.float64)),
        D(lib).Wishart(lib.tensor(4.0, dtype=lib.float64),
                       precision_matrix=lib.eye(2, dtype=lib.float64)),
        D(lib).LKJCholesky(3, one[0]), D(lib).LKJCholesky(2),
        D(lib).FisherSnedecor(one * 3, one * 5), D(lib).InverseGamma(one * 3, 2.0),
    ]


def test_instances_are_torchs():
    for ours, theirs in zip(_instances(ember), _instances(torch), strict=True):
        name = type(theirs).__name__
        assert repr(ours).replace("ember.", "torch.") == repr(theirs), name
        assert repr(ours.support).replace("ember.", "torch.") == repr(theirs.support), name
        assert ours.batch_shape == tuple(theirs.batch_shape), name
        assert ours.event_shape == tuple(theirs.event_shape), name
        assert ours.has_rsample == theirs.has_rsample, name


def test_expand_is_torchs():
    for ours, theirs in zip(_instances(ember), _instances(torch), strict=True):
        name = type(theirs).__name__
        shape = (4,) + tuple(theirs.batch_shape)
        expected, actual = theirs.expand(torch.Size(shape)), ours.expand(ember.Size(shape))
        assert type(actual).__name__ == type(expected).__name__
        assert actual.batch_shape == tuple(expected.batch_shape), name
        assert actual.event_shape == tuple(expected.event_shape), name
        # the expanded distribution scores (and so is) the original, batch for batch
        value = theirs.sample()
        np.testing.assert_allclose(
            actual.log_prob(ember.tensor(value.numpy())).numpy(),
            expected.log_prob(value).numpy(), rtol=1e-6, atol=1e-6, err_msg=name)
        ember.manual_seed(0)
        assert tuple(actual.sample((2,)).shape) == tuple(expected.sample((2,)).shape), name
        for attribute in ("mean", "variance"):
            try:
                wanted = getattr(expected, attribute)
            except NotImplementedError:
                continue
            # (float32 where the parameters were numbers)
            np.testing.assert_allclose(getattr(actual, attribute).numpy(), wanted.numpy(),
                                       rtol=1e-6, err_msg=f"{name}.{attribute}")


def test_binomial_enumerate_support_is_torchs():
    for lib_pair in [(D(ember).Binomial(3, ember.tensor([[0.2, 0.5]], dtype=ember.float64)),
                      D(torch).Binomial(3, torch.tensor([[0.2, 0.5]], dtype=torch.float64)))]:
        ours, theirs = lib_pair
        assert ours.has_enumerate_support and theirs.has_enumerate_support
        for expand in (True, False):
            actual, expected = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
            np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_parameters_are_torchs():
    """The parameters a distribution exposes besides its arguments."""
    for lib in (torch, ember):
        assert D(lib).Chi2(_t(lib, 3.0)).df.item() == 3.0
        beta = D(lib).Beta(_t(lib, 2.0), _t(lib, 5.0))
        assert (beta.concentration1.item(), beta.concentration0.item()) == (2.0, 5.0)
        assert D(lib).Beta(2.0, 5.0).concentration1.dim() == 0
        relaxed = D(lib).RelaxedBernoulli(0.5, probs=0.3)
        assert relaxed.temperature == 0.5 and relaxed.batch_shape == ()
        student = D(lib).StudentT(_t(lib, 3.0, 4.0))
        assert student.loc.tolist() == [0.0, 0.0] and student.scale.tolist() == [1.0, 1.0]
        mixture = _mixture(lib, lib.zeros(2), lib.zeros(3, 2))
        assert type(mixture.mixture_distribution).__name__ == "Categorical"
        assert type(mixture.component_distribution).__name__ == "Normal"
        assert D(lib).LogisticNormal(0.0, 1.0).event_shape == (2,)
        assert D(lib).Weibull(_t(lib, 2.0), _t(lib, 4.0)).concentration_reciprocal.item() == 0.25


# ---------------------------------------------------------------- module paths

MODULES = {
    "gamma": "Gamma", "chi2": "Chi2", "beta": "Beta", "dirichlet": "Dirichlet",
    "poisson": "Poisson", "binomial": "Binomial", "multinomial": "Multinomial",
    "geometric": "Geometric", "negative_binomial": "NegativeBinomial", "studentT": "StudentT",
    "cauchy": "Cauchy", "half_normal": "HalfNormal", "half_cauchy": "HalfCauchy",
    "gumbel": "Gumbel", "weibull": "Weibull", "pareto": "Pareto",
    "logistic_normal": "LogisticNormal", "relaxed_bernoulli": "RelaxedBernoulli",
    "relaxed_categorical": "RelaxedOneHotCategorical",
    "continuous_bernoulli": "ContinuousBernoulli", "kumaraswamy": "Kumaraswamy",
    "von_mises": "VonMises", "lowrank_multivariate_normal": "LowRankMultivariateNormal",
    "mixture_same_family": "MixtureSameFamily", "constraint_registry": "biject_to",
    "wishart": "Wishart", "lkj_cholesky": "LKJCholesky", "fishersnedecor": "FisherSnedecor",
    "inverse_gamma": "InverseGamma",
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_names_are_at_pytorchs_module_paths(module):
    name = MODULES[module]
    assert getattr(importlib.import_module(f"torch.distributions.{module}"), name) is getattr(
        torch.distributions, name)
    ours = importlib.import_module(f"ember.distributions.{module}")
    assert getattr(ours, name) is getattr(ember.distributions, name)


def test_the_relaxed_bases_are_at_pytorchs_paths_only():
    from ember.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from ember.distributions.relaxed_categorical import ExpRelaxedCategorical

    assert isinstance(D(ember).RelaxedBernoulli(0.5, probs=0.3).base_dist, LogitRelaxedBernoulli)
    assert isinstance(D(ember).RelaxedOneHotCategorical(ember.tensor(0.5), ember.ones(3))
                      .base_dist, ExpRelaxedCategorical)
    assert not hasattr(D(torch), "ExpRelaxedCategorical")
    assert not hasattr(D(ember), "ExpRelaxedCategorical")
    assert set(ember.distributions.__all__) <= set(torch.distributions.__all__)


def test_import_ember_does_not_load_the_distributions():
    code = ("import sys, ember\n"
            "assert 'ember.distributions' not in sys.modules\n"
            "from ember.distributions import Gamma\n"
            "print(Gamma(2.0, 1.0).mean.item())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2.0"


def test_mixture_support_is_every_components():
    values = [[0.5, 1.5, -1.0, 2.5]]
    for lib in (torch, ember):
        mixture = D(lib).MixtureSameFamily(
            D(lib).Categorical(lib.ones(2)),
            D(lib).Uniform(lib.zeros(2), lib.tensor([1.0, 2.0])))
        support = mixture.support
        assert type(support).__name__ == "MixtureSameFamilyConstraint"
        assert support.check(lib.tensor(values)).tolist() == [[True, False, False, False]]
        vectors = D(lib).MixtureSameFamily(
            D(lib).Categorical(lib.ones(3, 2)),
            D(lib).Independent(D(lib).Uniform(lib.zeros(3, 2, 4), lib.ones(3, 2, 4)), 1))
        assert vectors.support.event_dim == 1
        checked = vectors.support.check(lib.full((5, 3, 4), 0.5))
        assert tuple(checked.shape) == (5, 3) and bool(checked.all())
