"""The Kumaraswamy distribution on (0, 1)."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Tensor
from ember.distributions import constraints
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import AffineTransform, PowerTransform
from ember.distributions.uniform import Uniform
from ember.distributions.utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy"]


def _moments(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[X^n] = b B(1 + n/a, b)."""
    order = 1 + n / a
    return b * ops.exp(ops.lgamma(order) + ops.lgamma(b) - ops.lgamma(order + b))


class Kumaraswamy(TransformedDistribution):
    r"""The Kumaraswamy distribution with concentrations a (``concentration1``) and b
    (``concentration0``): a beta-like law on (0, 1) whose distribution function has a
    closed form, so that it is sampled (and reparameterized) by inversion,
    x = (1 - U^{1/b})^{1/a}.

    .. math::

        \log p(x) = \log a + \log b + (a - 1) \log x + (b - 1) \log(1 - x^a)

    Args:
        concentration1: a > 0 (a number or a tensor).
        concentration0: b > 0.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of the concentrations; ``event_shape`` is ().

    Example::

        >>> Kumaraswamy(1.0, 1.0).mean
        tensor(0.5000)
    """

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base_dist = Uniform(ops.full_like(self.concentration0, 0),
                            ops.full_like(self.concentration0, 1), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base_dist, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Kumaraswamy, _instance)
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        return super().expand(batch_shape, _instance=new)

    @property
    def mean(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        """((a - 1) / (ab - 1))^{1/a} where a, b ≥ 1, else NaN (the density is unbounded).

        PyTorch 2.13's formula gives NaN for a, b > 1 as well; this one gives the mode.
        """
        a, b = self.concentration1, self.concentration0
        log_mode = ((a - 1).log() - (a * b - 1).log()) / a
        unimodal = (a >= 1) & (b >= 1)
        return ops.where(unimodal, log_mode, math.nan).exp()

    @property
    def variance(self) -> Tensor:
        return (_moments(self.concentration1, self.concentration0, 2)
                - self.mean.pow(2))

    def entropy(self) -> Tensor:
        """(1 - 1/b) + (1 - 1/a) H_b - log(ab), H_b = ψ(b + 1) + γ the harmonic number."""
        a, b = self.concentration1, self.concentration0
        harmonic = ops.digamma(b + 1) + euler_constant
        return (1 - b.reciprocal()) + (1 - a.reciprocal()) * harmonic - (a * b).log()
