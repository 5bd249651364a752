"""The continuous Bernoulli distribution on [0, 1]."""

from __future__ import annotations

import math
from numbers import Number

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import _expand_parameters
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import (
    _exactly_one_of,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)
from ember.nn.functional import binary_cross_entropy_with_logits

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    r"""The continuous Bernoulli distribution (Loaiza-Ganem & Cunningham, 2019): the
    Bernoulli likelihood λ^x (1 - λ)^{1-x} made a density on [0, 1] by its normalizer C(λ),
    for data in [0, 1] (pixel intensities) that a Bernoulli would score wrongly.

    .. math::

        \log p(x) = x \log λ + (1 - x) \log(1 - λ) + \log C(λ), \quad
        C(λ) = \frac{2 \,\mathrm{atanh}(1 - 2λ)}{1 - 2λ}

    C, the mean and the variance lose their precision near λ = ½, where they tend to 2,
    ½ and 1/12: inside ``lims`` they are their Taylor expansions about ½.

    Args:
        probs: λ in [0, 1] (exactly one of ``probs`` and ``logits``).
        logits: log(λ / (1 - λ)).
        lims: the interval about ½ where the expansions are used.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of the parameter; ``event_shape`` is ().

    Example::

        >>> ContinuousBernoulli(ember.tensor([0.5])).log_prob(ember.tensor([0.3]))
        tensor([0.])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _exactly_one_of(probs, logits)
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
            # λ = 0 or 1 would make C infinite; a validated λ is clamped off them
            if validate_args is not None and not bool(
                    self.arg_constraints["probs"].check(self.probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_parameters(self, ContinuousBernoulli, batch_shape, _instance,
                                 ("probs", "logits"))
        new._lims = self._lims
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def _outside_unstable_region(self) -> Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        """λ outside ``lims``, else ``lims[0]``: a stand-in at which the exact formulas are
        computed without NaNs, and then not used."""
        return ops.where(self._outside_unstable_region(), self.probs,
                         self._lims[0] * ops.ones_like(self.probs))

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(λ) = log|log(1 - λ) - log λ| - log|1 - 2λ|; about ½,
        log 2 + (4/3 + 104/45 x) x with x = (λ - ½)²."""
        cut = self._cut_probs()
        below_half = ops.where(cut <= 0.5, cut, ops.zeros_like(cut))
        above_half = ops.where(cut >= 0.5, cut, ops.ones_like(cut))
        log_norm = (ops.log(ops.abs(ops.log1p(-cut) - ops.log(cut)))
                    - ops.where(cut <= 0.5, ops.log1p(-2.0 * below_half),
                                ops.log(2.0 * above_half - 1.0)))
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return ops.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        """λ / (2λ - 1) + 1 / (2 atanh(1 - 2λ)); about ½, ½ + (1/3 + 16/45 x²) x, x = λ - ½."""
        cut = self._cut_probs()
        exact = cut / (2.0 * cut - 1.0) + 1.0 / (ops.log1p(-cut) - ops.log(cut))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return ops.where(self._outside_unstable_region(), exact, taylor)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    @property
    def variance(self) -> Tensor:
        """λ(λ - 1) / (1 - 2λ)² + 1 / (2 atanh(1 - 2λ))²; about ½,
        1/12 - (1/15 - 128/945 x) x, x = (λ - ½)²."""
        cut = self._cut_probs()
        exact = (cut * (cut - 1.0) / (1.0 - 2.0 * cut).pow(2)
                 + 1.0 / (ops.log1p(-cut) - ops.log(cut)).pow(2))
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return ops.where(self._outside_unstable_region(), exact, taylor)

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        u = ops.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        with no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape=Size()) -> Tensor:
        """The inverse distribution function at a uniform draw."""
        shape = tuple(self._extended_shape(sample_shape))
        u = ops.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return (-binary_cross_entropy_with_logits(logits, value, reduction="none")
                + self._cont_bern_log_norm())

    def cdf(self, value: Tensor) -> Tensor:
        """(λ^x (1 - λ)^{1-x} + λ - 1) / (2λ - 1), x about ½; 0 below 0 and 1 above 1."""
        if self._validate_args:
            self._validate_sample(value)
        cut = self._cut_probs()
        exact = ((cut.pow(value) * (1.0 - cut).pow(1.0 - value) + cut - 1.0)
                 / (2.0 * cut - 1.0))
        unbounded = ops.where(self._outside_unstable_region(), exact, value)
        return ops.where(value <= 0.0, ops.zeros_like(value),
                         ops.where(value >= 1.0, ops.ones_like(value), unbounded))

    def icdf(self, value: Tensor) -> Tensor:
        """log1p(p (2λ - 1) - λ) - log1p(-λ), over log λ - log1p(-λ); p about ½."""
        cut = self._cut_probs()
        exact = ((ops.log1p(-cut + value * (2.0 * cut - 1.0)) - ops.log1p(-cut))
                 / (ops.log(cut) - ops.log1p(-cut)))
        return ops.where(self._outside_unstable_region(), exact, value)

    def entropy(self) -> Tensor:
        """E[x] (log(1 - λ) - log λ) - log C(λ) - log(1 - λ)."""
        log_probs0 = ops.log1p(-self.probs)
        log_probs1 = ops.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x) -> Tensor:
        """log((e^η - 1) / η) of the natural parameter η; about 0, its series."""
        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = ops.where(outside, x, (self._lims[0] - 0.5) * ops.ones_like(x))
        log_norm = ops.log(ops.abs(ops.exp(cut) - 1.0)) - ops.log(ops.abs(cut))
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return ops.where(outside, log_norm, taylor)
