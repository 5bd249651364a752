"""Student's t distribution."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.chi2 import Chi2
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _as_size, _standard_normal, broadcast_all

__all__ = ["StudentT"]


class StudentT(Distribution):
    r"""Student's t distribution with ``df`` degrees of freedom ν, location μ and scale σ:
    the heavy-tailed law of μ + σ Z / √(V / ν), Z standard normal, V ~ χ²(ν).

    .. math::

        \log p(x) = -\frac{ν + 1}{2} \log\left(1 + \frac{y^2}{ν}\right) - \log σ
                    - \tfrac12 \log(νπ) - \log Γ(\tfrac{ν}{2}) + \log Γ(\tfrac{ν + 1}{2}),
        \quad y = \frac{x - μ}{σ}

    ``rsample`` is reparameterized (through the chi-squared draw's implicit gradient).

    Args:
        df: ν > 0 (a number or a tensor).
        loc: μ (default 0).
        scale: σ > 0 (default 1).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of the three parameters; ``event_shape`` is ().

    Example::

        >>> StudentT(ember.tensor([3.0])).log_prob(ember.tensor([0.0]))
        tensor([-1.0017])
    """

    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self) -> Tensor:
        """μ, undefined (NaN) for ν ≤ 1."""
        return ops.where(self.df <= 1, math.nan, self.loc)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """σ² ν / (ν - 2) for ν > 2, ∞ for 1 < ν ≤ 2, undefined (NaN) for ν ≤ 1."""
        # ν > 2 only, so that ν = 2 divides by nothing (nor does its gradient)
        above_two = ops.where(self.df > 2, self.df, 3.0)
        finite = self.scale.pow(2) * above_two / (above_two - 2)
        variance = ops.where(self.df > 2, finite, math.inf)
        return ops.where(self.df <= 1, math.nan, variance)

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        super().__init__(self.df.size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = _as_size(batch_shape)
        new.df = self.df.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=Size()) -> Tensor:
        """μ + σ Z / √(V / ν)."""
        shape = self._extended_shape(sample_shape)
        z = _standard_normal(shape, dtype=self.df.dtype, device=self.df.device)
        v = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * z * ops.rsqrt(v / self.df)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        normalizer = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
                      + ops.lgamma(0.5 * self.df) - ops.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * ops.log1p(y**2.0 / self.df) - normalizer

    def entropy(self) -> Tensor:
        """log σ + (ν + 1)/2 (ψ((ν + 1)/2) - ψ(ν/2)) + ½ log ν + log B(ν/2, ½)."""
        log_beta = (ops.lgamma(0.5 * self.df) + math.lgamma(0.5)
                    - ops.lgamma(0.5 * (self.df + 1)))
        return (self.scale.log()
                + 0.5 * (self.df + 1)
                * (ops.digamma(0.5 * (self.df + 1)) - ops.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + log_beta)
