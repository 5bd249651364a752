"""The Cauchy (Lorentz) distribution."""

from __future__ import annotations

import math
from numbers import Number

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.utils import broadcast_all

__all__ = ["Cauchy"]


class Cauchy(Distribution):
    r"""The Cauchy distribution with location (median) x₀ and scale γ: the ratio of two
    independent standard normals, with no mean and an infinite variance.

    .. math::

        \log p(x) = -\log π - \log γ - \log\left(1 + \left(\frac{x - x_0}{γ}\right)^2\right)

    Args:
        loc: the median x₀ (a number or a tensor).
        scale: the half width at half maximum γ > 0.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``; ``event_shape``
        is ().

    Example::

        >>> Cauchy(0.0, 1.0).cdf(ember.tensor(1.0))
        tensor(0.7500)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, Number) and isinstance(scale, Number):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Cauchy, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self) -> Tensor:
        """Undefined: NaN."""
        return ops.full(tuple(self._extended_shape()), math.nan, dtype=self.loc.dtype,
                        device=self.loc.device)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """Infinite."""
        return ops.full(tuple(self._extended_shape()), math.inf, dtype=self.loc.dtype,
                        device=self.loc.device)

    def rsample(self, sample_shape=Size()) -> Tensor:
        """x₀ + γ ε, ε a standard Cauchy draw."""
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            eps = ops.empty(shape, dtype=self.loc.dtype, device=self.loc.device).cauchy_()
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (-math.log(math.pi) - self.scale.log()
                - ops.log1p(((value - self.loc) / self.scale) ** 2))

    def cdf(self, value: Tensor) -> Tensor:
        """½ + atan((x - x₀) / γ) / π."""
        if self._validate_args:
            self._validate_sample(value)
        return ops.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        """x₀ + γ tan(π (p - ½))."""
        return ops.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self) -> Tensor:
        """log 4π + log γ."""
        return math.log(4 * math.pi) + self.scale.log()
