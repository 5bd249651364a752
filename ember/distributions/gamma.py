"""The gamma distribution."""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions._sampling import _regularized_gamma, _standard_gamma
from ember.distributions.distribution import _expand_parameters
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import broadcast_all

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    r"""The gamma distribution with shape α (``concentration``) and rate β, on [0, ∞).

    .. math::

        \log p(x) = α \log β + (α - 1) \log x - βx - \log Γ(α)

    ``rsample`` is reparameterized: a Gamma(α, 1) draw divided by β, whose gradient with
    respect to α is the implicit one (see ``ember.distributions._sampling``).

    Args:
        concentration: α > 0 (a number or a tensor).
        rate: β > 0, the inverse of the scale (a number or a tensor).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``concentration`` and ``rate``;
        ``event_shape`` is ().

    Example::

        >>> Gamma(2.0, 1.0).log_prob(ember.tensor(1.0))
        tensor(-1.)
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """(α - 1) / β, or 0 where α < 1."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        if isinstance(concentration, Number) and isinstance(rate, Number):
            batch_shape = Size()
        else:
            batch_shape = self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Gamma, batch_shape, _instance,
                                  ("concentration", "rate"))

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        # the division may round a draw just above 0 down to it, outside the support
        value.detach().clamp_(min=finfo(value.dtype).tiny)
        return value

    def log_prob(self, value: Tensor) -> Tensor:
        value = ops.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (ops.xlogy(self.concentration, self.rate)
                + ops.xlogy(self.concentration - 1, value)
                - self.rate * value - ops.lgamma(self.concentration))

    def entropy(self) -> Tensor:
        """α - log β + log Γ(α) + (1 - α) ψ(α)."""
        return (self.concentration - self.rate.log() + ops.lgamma(self.concentration)
                + (1.0 - self.concentration) * ops.digamma(self.concentration))

    def cdf(self, value: Tensor) -> Tensor:
        """P(α, βx), the regularized lower incomplete gamma function."""
        if self._validate_args:
            self._validate_sample(value)
        return _regularized_gamma(self.concentration, self.rate * value)

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y) -> Tensor:
        return ops.lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()
