"""The Gumbel (type-I extreme value) distribution."""

from __future__ import annotations

import math

from ember import ops
from ember._dtype import finfo
from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import AffineTransform, ExpTransform
from ember.distributions.uniform import Uniform
from ember.distributions.utils import broadcast_all, euler_constant

__all__ = ["Gumbel"]


class Gumbel(TransformedDistribution):
    r"""The Gumbel distribution with location μ and scale β: the law of the maximum of many
    independent draws, and of μ - β log(-log U) for U uniform (the Gumbel-max trick).

    .. math::

        \log p(x) = -\log β - z - e^{-z}, \quad z = \frac{x - μ}{β}

    Args:
        loc: μ (a number or a tensor).
        scale: β > 0.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``; ``event_shape``
        is ().

    Example::

        >>> Gumbel(0.0, 1.0).log_prob(ember.tensor(0.0))
        tensor(-1.)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        info = finfo(self.loc.dtype)
        # U kept inside (0, 1), so that both logarithms stay finite
        base_dist = Uniform(ops.full_like(self.loc, info.tiny),
                            ops.full_like(self.loc, 1 - info.eps), validate_args=validate_args)
        transforms = [ExpTransform().inv, AffineTransform(loc=0, scale=-ops.ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(loc=self.loc, scale=-self.scale)]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gumbel, _instance)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * euler_constant

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def entropy(self) -> Tensor:
        """log β + 1 + γ."""
        return self.scale.log() + (1 + euler_constant)
