"""The binomial distribution: successes in a number of independent trials."""

from __future__ import annotations

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions._sampling import _binomial
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.utils import (
    _exactly_one_of,
    broadcast_all,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["Binomial"]


def _count_and_parameter(distribution, total_count, probs, logits) -> None:
    """Set ``total_count`` and ``probs`` or ``logits`` (exactly one), broadcast together and
    of the parameter's dtype, and ``_param``, the one given (``Binomial``,
    ``NegativeBinomial``)."""
    _exactly_one_of(probs, logits)
    name, parameter = ("probs", probs) if probs is not None else ("logits", logits)
    total_count, parameter = broadcast_all(total_count, parameter)
    distribution.total_count = total_count.type_as(parameter)
    setattr(distribution, name, parameter)
    distribution._param = parameter


class Binomial(Distribution):
    r"""The binomial distribution: the number of successes in ``total_count`` independent
    trials that each succeed with probability p (``probs``, or ``logits`` log(p/(1-p))).

    .. math::

        \log p(k) = \log\binom{n}{k} + k \,\mathrm{logit}(p) - n \log(1 + e^{\mathrm{logit}(p)})

    computed from the logits, so it stays finite for p near 0 or 1.

    Args:
        total_count: the number of trials n ≥ 0 (a number or a tensor, broadcast with the
            probabilities).
        probs: the probability of success (exactly one of ``probs`` and ``logits``).
        logits: the log-odds of success.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``total_count`` and the probabilities;
        ``event_shape`` is (). Samples are counts in the probabilities' dtype.

    Example::

        >>> Binomial(10, ember.tensor([0.5])).mean
        tensor([5.])
    """

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval,
                       "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        _count_and_parameter(self, total_count, probs, logits)
        super().__init__(self._param.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = _expand_parameters(self, Binomial, batch_shape, _instance,
                                 ("total_count", "probs", "logits"))
        new._param = new.probs if "probs" in self.__dict__ else new.logits
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        """⌊(n + 1) p⌋, at most n."""
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            return _binomial(self.total_count.expand(shape), self.probs.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n = self.total_count
        log_choose = ops.lgamma(n + 1) - ops.lgamma(value + 1) - ops.lgamma(n - value + 1)
        # n log(1 + e^logit), written out: softplus's linear tail above 20 is off by e^-20
        log_normalizer = n * (self.logits.clamp(min=0) + ops.log1p(ops.exp(-self.logits.abs())))
        return log_choose + value * self.logits - log_normalizer

    def _homogeneous_count(self, what: str) -> int:
        count = int(self.total_count.max())
        if not self.total_count.min() == count:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return count

    def entropy(self) -> Tensor:
        """-Σ_k p(k) log p(k), over the support (one total count for the whole batch)."""
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(ops.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        count = self._homogeneous_count("enumerate_support")
        values = ops.arange(1 + count, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
