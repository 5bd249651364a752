"""``kl_divergence(p, q)``: KL(p ‖ q) = E_p[log p(X) − log q(X)], by registered formula.

Formulas are registered per pair of distribution classes with ``register_kl``. A pair
with no formula of its own takes the most specific registered pair of base classes
(``Normal`` against ``ExponentialFamily`` before ``Distribution`` against it); where two
candidates are each more specific on one side, the one more specific on ``p`` wins, with
a RuntimeWarning naming the pair to register. The choice is cached per pair of types.
"""

from __future__ import annotations

import math
import warnings
from functools import total_ordering

from ember import ops
from ember._tensor import Tensor
from ember.autograd import grad
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.exponential import Exponential
from ember.distributions.independent import Independent
from ember.distributions.laplace import Laplace
from ember.distributions.multivariate_normal import MultivariateNormal, _batch_mahalanobis
from ember.distributions.normal import Normal
from ember.distributions.one_hot_categorical import OneHotCategorical
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.uniform import Uniform
from ember.distributions.utils import _sum_rightmost
from ember.linalg import solve_triangular
from ember.nn.functional import softplus

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict = {}  # (type_p, type_q) -> formula, as registered
_KL_MEMOIZE: dict = {}  # (type(p), type(q)) -> the formula dispatch chose for them


def register_kl(type_p: type, type_q: type):
    """A decorator registering a KL formula for a pair of distribution classes.

    Example::

        @register_kl(Normal, Normal)
        def kl_normal_normal(p, q):
            ...

    Where subclasses make the lookup ambiguous, register the pair that settles it::

        register_kl(DerivedP, DerivedQ)(kl_version1)

    Args:
        type_p: a subclass of ``Distribution``.
        type_q: a subclass of ``Distribution``.
    """
    for name, given in (("type_p", type_p), ("type_q", type_q)):
        if not isinstance(given, type):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {given}")

    def decorator(formula):
        _KL_REGISTRY[type_p, type_q] = formula
        _KL_MEMOIZE.clear()  # a new entry may be more specific than a cached choice
        return formula

    return decorator


@total_ordering
class _Match:
    """A registered pair of types, ordered so that the more specific pair is smaller:
    compared side by side, the first side on which they differ decides."""

    __slots__ = ["types"]

    def __init__(self, *types):
        self.types = types

    def __eq__(self, other):
        return self.types == other.types

    def __le__(self, other):
        for mine, theirs in zip(self.types, other.types):
            if not issubclass(mine, theirs):
                return False
            if mine is not theirs:
                break
        return True


def _dispatch_kl(type_p: type, type_q: type):
    """The formula of the most specific registered pair that (type_p, type_q) belongs to,
    or NotImplemented."""
    matches = [(super_p, super_q) for super_p, super_q in _KL_REGISTRY
               if issubclass(type_p, super_p) and issubclass(type_q, super_q)]
    if not matches:
        return NotImplemented
    # the most specific on p first, and on q first; they should agree
    left_p, left_q = min(_Match(*match) for match in matches).types
    right_q, right_p = min(_Match(*reversed(match)) for match in matches).types
    left, right = _KL_REGISTRY[left_p, left_q], _KL_REGISTRY[right_p, right_q]
    if left is not right:
        warnings.warn(
            f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
            f"Please register_kl({left_p.__name__}, {right_q.__name__})",
            RuntimeWarning,
            stacklevel=3,
        )
    return left


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    r"""KL(p ‖ q), one per batch entry.

    .. math::

        KL(p \,\|\, q) = \int p(x) \log\frac{p(x)}{q(x)} \,dx

    Args:
        p: a distribution.
        q: a distribution of the same batch and event shapes (or broadcastable ones).

    Returns:
        A tensor of shape ``batch_shape``.

    Raises:
        NotImplementedError: when no formula is registered for the types of ``p`` and
        ``q`` nor any of their base classes.

    Example::

        >>> kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0))
        tensor(0.5000)
    """
    key = (type(p), type(q))
    try:
        formula = _KL_MEMOIZE[key]
    except KeyError:
        formula = _dispatch_kl(*key)
        _KL_MEMOIZE[key] = formula
    if formula is NotImplemented:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
            f"{type(q).__name__}"
        )
    return formula(p, q)


def _infinite_like(tensor: Tensor) -> Tensor:
    return ops.full_like(tensor, math.inf)


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------- pairs of one family


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    """p log(p/q) + (1-p) log((1-p)/(1-q)), from the logits (log p = -softplus(-logit));
    ∞ where p puts mass on an outcome q excludes, 0 for the terms p gives no mass."""
    ones = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    ones = ops.where(q.probs == 0, math.inf, ones)
    ones = ops.where(p.probs == 0, 0.0, ones)
    zeros = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    zeros = ops.where(q.probs == 1, math.inf, zeros)
    zeros = ops.where(p.probs == 1, 0.0, zeros)
    return ones + zeros


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    """Σ_i p_i (log p_i - log q_i), with 0 log 0 = 0 and ∞ where only q_i is 0."""
    terms = p.probs * (p.logits - q.logits)
    terms = ops.where((q.probs == 0).expand_as(terms), math.inf, terms)
    terms = ops.where((p.probs == 0).expand_as(terms), 0.0, terms)
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    """r - 1 - log r, r = λ_q / λ_p."""
    rate_ratio = q.rate / p.rate
    return rate_ratio - 1 - rate_ratio.log()


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    result = kl_divergence(p.base_dist, q.base_dist)
    return _sum_rightmost(result, p.reinterpreted_batch_ndims)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    """log(b_q / b_p) + |μ_p - μ_q| / b_q + (b_p / b_q) exp(-|μ_p - μ_q| / b_p) - 1."""
    scale_ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return (-scale_ratio.log() + distance / q.scale
            + scale_ratio * ops.exp(-distance / p.scale) - 1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(p, q):
    r"""½ (tr(Σ_q⁻¹ Σ_p) + (μ_q - μ_p)ᵀ Σ_q⁻¹ (μ_q - μ_p) - k) + log det L_q - log det L_p,
    with tr(Σ_q⁻¹ Σ_p) = ‖L_q⁻¹ L_p‖²_F."""
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            "cannot be computed"
        )
    p_factor, q_factor = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_log_det_ratio = q._half_log_det() - p._half_log_det()
    n = p.event_shape[0]
    batch = tuple(ops.broadcast_shapes(tuple(q_factor.shape[:-2]), tuple(p_factor.shape[:-2])))
    solved = solve_triangular(q_factor.expand(batch + (n, n)), p_factor.expand(batch + (n, n)),
                              upper=False)
    trace = solved.pow(2).sum((-2, -1))
    mahalanobis = _batch_mahalanobis(q_factor, q.loc - p.loc)
    return half_log_det_ratio + 0.5 * (trace + mahalanobis - n)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    """½ (r + ((μ_p - μ_q) / σ_q)² - 1 - log r), r = (σ_p / σ_q)²."""
    variance_ratio = (p.scale / q.scale).pow(2)
    shift = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (variance_ratio + shift - 1 - variance_ratio.log())


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    """KL of the bases, when both apply the same transforms (KL is invariant under a
    common bijection)."""
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    """log((high_q - low_q) / (high_p - low_p)) where [low_p, high_p] ⊆ [low_q, high_q],
    else ∞."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return ops.where(outside, math.inf, result)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    """The Bregman divergence of the log-normalizer F between the natural parameters:
    F(θ_q) - F(θ_p) - ⟨θ_q - θ_p, ∇F(θ_p)⟩ (one family only)."""
    if type(p) is not type(q):
        raise NotImplementedError(
            "The cross KL-divergence between different exponential families cannot be "
            "computed using Bregman divergences"
        )
    p_natural = [theta.detach().requires_grad_() for theta in p._natural_params]
    q_natural = q._natural_params
    p_log_normalizer = p._log_normalizer(*p_natural)
    gradients = grad(p_log_normalizer.sum(), p_natural, create_graph=True)
    result = q._log_normalizer(*q_natural) - p_log_normalizer
    for p_theta, q_theta, gradient in zip(p_natural, q_natural, gradients):
        result = result - _sum_rightmost((q_theta - p_theta) * gradient, len(q.event_shape))
    return result


# ---------------------------------------------------------------- pairs across families
# Where p has mass outside q's support, KL is infinite.


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    """log(λσ) + ½ log 2π - 1 + E[(X - μ)²] / (2σ²), E[(X - μ)²] = 1/λ² + (1/λ - μ)²."""
    mean = p.rate.reciprocal()
    second_moment = mean.pow(2) + (mean - q.loc).pow(2)
    return ((p.rate * q.scale).log() + _HALF_LOG_2PI - 1
            + second_moment / (2 * q.scale.pow(2)))


@register_kl(Exponential, Uniform)
def _kl_exponential_infinity(p, q):
    return _infinite_like(p.rate)


@register_kl(Laplace, Exponential)
@register_kl(Laplace, Uniform)
def _kl_laplace_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Normal, Exponential)
@register_kl(Normal, Uniform)
def _kl_normal_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    """log(σ / 2b) + ½ log 2π - 1 + (2b² + (μ_p - μ_q)²) / (2σ²)."""
    second_moment = 2 * p.scale.pow(2) + (p.loc - q.loc).pow(2)
    return ((q.scale / (2 * p.scale)).log() + _HALF_LOG_2PI - 1
            + second_moment / (2 * q.scale.pow(2)))


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    """log(2b / σ) - ½ log 2π - ½ + E|X - μ_q| / b, with, for d = μ_p - μ_q,
    E|X - μ_q| = σ √(2/π) exp(-d² / 2σ²) + d erf(d / σ√2)."""
    d = p.loc - q.loc
    folded_mean = (p.scale * math.sqrt(2 / math.pi) * ops.exp(-d.pow(2) / (2 * p.scale.pow(2)))
                   + d * ops.erf(d / (p.scale * math.sqrt(2))))
    return ((2 * q.scale / p.scale).log() - _HALF_LOG_2PI - 0.5 + folded_mean / q.scale)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    """λ (low + high) / 2 - log((high - low) λ), or ∞ where low < 0."""
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return ops.where(p.low < 0, math.inf, result)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    """log(σ / (high - low)) + ½ log 2π + E[(X - μ)²] / (2σ²), over X uniform:
    E[(X - μ)²] = (low² + low·high + high²) / 3 - μ (low + high) + μ²."""
    low, high = p.low, p.high
    second_moment = ((low.pow(2) + low * high + high.pow(2)) / 3 - q.loc * (low + high)
                     + q.loc.pow(2))
    return ((q.scale / (high - low)).log() + _HALF_LOG_2PI
            + second_moment / (2 * q.scale.pow(2)))
