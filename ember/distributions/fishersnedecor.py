"""The Fisher–Snedecor (F) distribution."""

from __future__ import annotations

import math
from numbers import Number

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.gamma import Gamma
from ember.distributions.utils import _as_size, broadcast_all

__all__ = ["FisherSnedecor"]


class FisherSnedecor(Distribution):
    r"""The F distribution with d₁ (``df1``) and d₂ (``df2``) degrees of freedom: the ratio
    (U₁/d₁) / (U₂/d₂) of two independent chi-squared variables, on (0, ∞).

    .. math::

        \log p(x) = \log\frac{Γ(\frac{d_1 + d_2}{2})}{Γ(\frac{d_1}{2}) Γ(\frac{d_2}{2})}
                    + \tfrac{d_1}{2} \log\tfrac{d_1}{d_2} + (\tfrac{d_1}{2} - 1) \log x
                    - \tfrac{d_1 + d_2}{2} \log\left(1 + \tfrac{d_1}{d_2} x\right)

    ``rsample`` is reparameterized through the two gamma draws' implicit gradients.

    Args:
        df1: d₁ > 0 (a number or a tensor).
        df2: d₂ > 0.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of the parameters; ``event_shape`` is ().

    Example::

        >>> FisherSnedecor(ember.tensor([2.0]), ember.tensor([6.0])).mean
        tensor([1.5000])
    """

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        if isinstance(df1, Number) and isinstance(df2, Number):
            batch_shape = Size()
        else:
            batch_shape = self.df1.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(FisherSnedecor, _instance)
        batch_shape = _as_size(batch_shape)
        new.df1 = self.df1.expand(batch_shape)
        new.df2 = self.df2.expand(batch_shape)
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        """d₂ / (d₂ - 2), undefined (NaN) for d₂ ≤ 2."""
        df2 = ops.where(self.df2 <= 2, math.nan, self.df2)
        return df2 / (df2 - 2)

    @property
    def mode(self) -> Tensor:
        """(d₁ - 2)/d₁ · d₂/(d₂ + 2), undefined (NaN) for d₁ ≤ 2."""
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return ops.where(self.df1 <= 2, math.nan, mode)

    @property
    def variance(self) -> Tensor:
        """2 d₂² (d₁ + d₂ - 2) / (d₁ (d₂ - 2)² (d₂ - 4)), undefined (NaN) for d₂ ≤ 4."""
        df2 = ops.where(self.df2 <= 4, math.nan, self.df2)
        return (2 * df2.pow(2) * (self.df1 + df2 - 2)
                / (self.df1 * (df2 - 2).pow(2) * (df2 - 4)))

    def rsample(self, sample_shape=Size()) -> Tensor:
        """(U₁/d₁) / (U₂/d₂), from Gamma(d/2, d) draws (= χ²(d)/d), kept above 0."""
        shape = tuple(self._extended_shape(sample_shape))
        tiny = finfo(self.df1.dtype).tiny
        numerator = self._gamma1.rsample(sample_shape).view(shape)
        denominator = self._gamma2.rsample(sample_shape).view(shape).clamp(min=tiny)
        return (numerator / denominator).clamp(min=tiny)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        half1, half2 = self.df1 * 0.5, self.df2 * 0.5
        ratio = self.df1 / self.df2
        normalizer = ops.lgamma(half1 + half2) - ops.lgamma(half1) - ops.lgamma(half2)
        return (normalizer + half1 * ratio.log() + (half1 - 1) * ops.log(value)
                - (half1 + half2) * ops.log1p(ratio * value))
