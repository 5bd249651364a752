"""The negative binomial distribution: successes before a number of failures."""

from __future__ import annotations

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.binomial import _count_and_parameter
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.gamma import Gamma
from ember.distributions.utils import (
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)
from ember.nn.functional import logsigmoid

__all__ = ["NegativeBinomial"]


class NegativeBinomial(Distribution):
    r"""The negative binomial distribution: the number of successes k = 0, 1, … before
    ``total_count`` failures, in independent trials of success probability p.

    .. math::

        \log p(k) = \log Γ(r + k) - \log Γ(r) - \log k! + r \log(1 - p) + k \log p

    with r = ``total_count``, which may be any positive real: a Poisson whose rate is
    drawn from Gamma(r, (1 - p) / p), which is how it is sampled.

    Args:
        total_count: r ≥ 0 (a number or a tensor).
        probs: the probability of success, in [0, 1) (exactly one of ``probs`` and
            ``logits``).
        logits: the log-odds of success.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``total_count`` and the parameter;
        ``event_shape`` is ().

    Example::

        >>> NegativeBinomial(3.0, ember.tensor([0.5])).mean
        tensor([3.])
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        _count_and_parameter(self, total_count, probs, logits)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_parameters(self, NegativeBinomial, batch_shape, _instance,
                                 ("total_count", "probs", "logits"))
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @property
    def mean(self) -> Tensor:
        return self.total_count * ops.exp(self.logits)

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / ops.sigmoid(-self.logits)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    @lazy_property
    def _gamma(self) -> Gamma:
        """The rate of the Poisson mixture: Gamma(r, (1 - p) / p)."""
        return Gamma(concentration=self.total_count, rate=ops.exp(-self.logits),
                     validate_args=False)

    def sample(self, sample_shape=Size()) -> Tensor:
        with no_grad():
            rate = self._gamma.sample(sample_shape=sample_shape)
            return ops.poisson(rate)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        unnormalized = (self.total_count * logsigmoid(-self.logits)
                        + value * logsigmoid(self.logits))
        normalization = (-ops.lgamma(self.total_count + value) + ops.lgamma(1.0 + value)
                         + ops.lgamma(self.total_count))
        # r = k = 0 is the certain outcome of no trials: log p = 0, where Γ(0) is infinite
        normalization = normalization.masked_fill(self.total_count + value == 0.0, 0.0)
        return unnormalized - normalization
