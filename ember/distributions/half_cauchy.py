"""The half-Cauchy distribution: |X| for X Cauchy about 0."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.cauchy import Cauchy
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import AbsTransform

__all__ = ["HalfCauchy"]


class HalfCauchy(TransformedDistribution):
    r"""The half-Cauchy distribution with scale γ: |X| for X ~ Cauchy(0, γ), on [0, ∞);
    a common prior on scale parameters.

    .. math::

        \log p(x) = \log 2 - \log π - \log γ - \log(1 + (x / γ)^2) \quad (x ≥ 0)

    Args:
        scale: γ > 0 (a number or a tensor).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of ``scale``; ``event_shape`` is ().

    Example::

        >>> HalfCauchy(1.0).cdf(ember.tensor(1.0))
        tensor(0.5000)
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        base_dist = Cauchy(0, scale, validate_args=False)
        super().__init__(base_dist, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(HalfCauchy, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        """Infinite."""
        return ops.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype,
                        device=self.scale.device)

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.scale)

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def log_prob(self, value) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = ops.as_tensor(value, dtype=self.base_dist.scale.dtype,
                              device=self.base_dist.scale.device)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return ops.where(value >= 0, log_prob, -math.inf)

    def cdf(self, value: Tensor) -> Tensor:
        """2 atan(x / γ) / π."""
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob: Tensor) -> Tensor:
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self) -> Tensor:
        """The Cauchy's entropy less log 2."""
        return self.base_dist.entropy() - math.log(2)
