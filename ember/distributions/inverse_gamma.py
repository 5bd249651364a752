"""The inverse gamma distribution."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.gamma import Gamma
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import PowerTransform

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    r"""The inverse gamma distribution: 1/X for X ~ Gamma(α, β), on (0, ∞); the conjugate
    prior of a normal's variance.

    .. math::

        \log p(x) = α \log β - \log Γ(α) - (α + 1) \log x - β / x

    Args:
        concentration: α > 0 (a number or a tensor).
        rate: β > 0, the scale of x.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of the parameters; ``event_shape`` is ().

    Example::

        >>> InverseGamma(ember.tensor([3.0]), ember.tensor([2.0])).mean
        tensor([1.])
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None):
        base_dist = Gamma(concentration, rate, validate_args=validate_args)
        negative_one = -ops.ones_like(base_dist.rate)
        super().__init__(base_dist, PowerTransform(negative_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(InverseGamma, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def concentration(self) -> Tensor:
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        """β / (α - 1), infinite for α ≤ 1."""
        result = self.rate / (self.concentration - 1)
        return ops.where(self.concentration > 1, result, math.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        """β² / ((α - 1)² (α - 2)), infinite for α ≤ 2."""
        result = self.rate.pow(2) / ((self.concentration - 1).pow(2) * (self.concentration - 2))
        return ops.where(self.concentration > 2, result, math.inf)

    def entropy(self) -> Tensor:
        """α + log β + log Γ(α) - (1 + α) ψ(α)."""
        return (self.concentration + self.rate.log() + ops.lgamma(self.concentration)
                - (1 + self.concentration) * ops.digamma(self.concentration))
