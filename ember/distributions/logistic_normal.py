"""The logistic-normal distribution over the probability simplex."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.normal import Normal
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import StickBreakingTransform

__all__ = ["LogisticNormal"]


class LogisticNormal(TransformedDistribution):
    r"""The logistic-normal distribution over the K-simplex: a vector of K - 1 independent
    normals N(loc, scale²) mapped onto the simplex by ``StickBreakingTransform``.

    .. math::

        X \sim \mathcal{N}(μ, \mathrm{diag}(σ^2)), \quad
        Y = \text{stick-breaking}(X) \in Δ^{K-1}

    Args:
        loc: the means μ, of shape ``batch_shape + (K - 1,)`` (a number for K = 2).
        scale: the standard deviations σ > 0, of the same shape.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the parameters' shape less its last dim; ``event_shape`` is
        (K,), one more than the parameters' last dim.

    Example::

        >>> LogisticNormal(ember.zeros(2), ember.ones(2)).sample().sum()
        tensor(1.)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base_dist = Normal(loc, scale, validate_args=validate_args)
        if not base_dist.batch_shape:
            base_dist = base_dist.expand([1])
        super().__init__(base_dist, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LogisticNormal, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def loc(self) -> Tensor:
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.base_dist.scale
