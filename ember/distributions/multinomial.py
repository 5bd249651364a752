"""The multinomial distribution: the counts of each class in a number of draws."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.binomial import Binomial
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _as_size, broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    r"""The multinomial distribution: how many of ``total_count`` independent draws from a
    ``Categorical(probs)`` (or ``logits``) land in each of the K classes.

    .. math::

        \log p(x) = \log n! - \sum_i \log x_i! + \sum_i x_i \log p_i

    ``log_prob`` does not need ``total_count`` (it reads n off the counts), so a
    ``Multinomial()`` of the default count scores counts of any total.

    Args:
        total_count: the number of draws n, one int for the whole batch.
        probs: event probabilities, of shape ``batch_shape + (K,)`` (normalized as by
            ``Categorical``; exactly one of ``probs`` and ``logits``).
        logits: event log-probabilities (unnormalized).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the parameter's shape less its last dim; ``event_shape`` is
        (K,). Samples are counts in the parameter's dtype.

    Example::

        >>> Multinomial(4, ember.tensor([0.5, 0.5])).log_prob(ember.tensor([2.0, 2.0]))
        tensor(-0.9808)
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _as_size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        new._binomial = self._binomial.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()) -> Tensor:
        """``total_count`` class draws per sample, counted per class."""
        sample_shape = _as_size(sample_shape)
        draws = self._categorical.sample(Size((self.total_count,)) + sample_shape)
        # the draws' dim to the end, for a scatter of ones into the class counts
        draws = draws.permute(*range(1, draws.dim()), 0)
        counts = ops.zeros(tuple(self._extended_shape(sample_shape)), dtype=draws.dtype,
                           device=draws.device)
        counts.scatter_add_(-1, draws, ops.ones_like(draws))
        return counts.type_as(self.probs)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # a class of probability 0 that was not drawn adds 0 log 0 = 0, not NaN
        logits = ops.where((value == 0) & (logits == -math.inf), 0.0, logits)
        log_factorial_n = ops.lgamma(value.sum(-1) + 1)
        log_factorial_xs = ops.lgamma(value + 1).sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        """n H(Categorical) - log n! + Σ_i E[log x_i!], with x_i ~ Binomial(n, p_i)."""
        n = ops.tensor(self.total_count)
        categorical_entropy = self._categorical.entropy()
        counts = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = ops.exp(self._binomial.log_prob(counts))
        expected_log_factorials = (binomial_probs * ops.lgamma(counts + 1)).sum([0, -1])
        return n * categorical_entropy - ops.lgamma(n + 1) + expected_log_factorials
