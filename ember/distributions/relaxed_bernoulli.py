"""The relaxed (Concrete) Bernoulli distribution, and its logit."""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import SigmoidTransform
from ember.distributions.utils import (
    _exactly_one_of,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["LogitRelaxedBernoulli", "RelaxedBernoulli"]


class LogitRelaxedBernoulli(Distribution):
    r"""The logit of a ``RelaxedBernoulli`` draw (Maddison, Mnih & Teh, 2017, "The
    Concrete Distribution"): (L + logit(p)) / λ with L logistic noise, over the reals.

    .. math::

        \log p(y) = \log λ + u - 2 \log(1 + e^{u}), \quad u = \mathrm{logit}(p) - λy

    Args:
        temperature: λ > 0, the relaxation (a number or a tensor).
        probs: the probability of 1 (exactly one of ``probs`` and ``logits``).
        logits: its log-odds.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of the parameter; ``event_shape`` is ().
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self.temperature = temperature
        _exactly_one_of(probs, logits)
        if probs is not None:
            is_scalar = isinstance(probs, Number)
            (self.probs,) = broadcast_all(probs)
        else:
            is_scalar = isinstance(logits, Number)
            (self.logits,) = broadcast_all(logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = Size() if is_scalar else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_parameters(self, LogitRelaxedBernoulli, batch_shape, _instance,
                                 ("probs", "logits"))
        new.temperature = self.temperature
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def rsample(self, sample_shape=Size()) -> Tensor:
        """(logit(u) + logit(p)) / λ, u uniform, both kept off 0 and 1."""
        shape = tuple(self._extended_shape(sample_shape))
        probs = clamp_probs(self.probs.expand(shape))
        uniforms = clamp_probs(ops.rand(shape, dtype=probs.dtype, device=probs.device))
        return (uniforms.log() - (-uniforms).log1p() + probs.log()
                - (-probs).log1p()) / self.temperature

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        difference = logits - value.mul(self.temperature)
        return self.temperature.log() + difference - 2 * difference.exp().log1p()


class RelaxedBernoulli(TransformedDistribution):
    r"""The relaxed Bernoulli (binary Concrete) distribution on (0, 1): the sigmoid of a
    ``LogitRelaxedBernoulli`` draw, a reparameterizable stand-in for a coin flip that
    approaches Bernoulli(p) as the temperature λ goes to 0.

    Args:
        temperature: λ > 0 (a number or a tensor).
        probs: the probability of 1 (exactly one of ``probs`` and ``logits``).
        logits: its log-odds.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of the parameter; ``event_shape`` is ().

    Example::

        >>> m = RelaxedBernoulli(ember.tensor(0.5), probs=ember.tensor([0.3]))
        >>> m.rsample().shape
        ember.Size([1])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base_dist, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs
