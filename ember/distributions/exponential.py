"""The exponential distribution."""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import _expand_parameters
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import broadcast_all

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    r"""The exponential distribution with rate λ, on [0, ∞).

    .. math::

        \log p(x) = \log λ - λx

    Args:
        rate: λ > 0 (a number or a tensor), the inverse of the mean.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of ``rate``; ``event_shape`` is ().

    Example::

        >>> Exponential(2.0).log_prob(ember.tensor(1.0))
        tensor(-1.3069)
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.rate)

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Exponential, batch_shape, _instance, ("rate",))

    def rsample(self, sample_shape=Size()) -> Tensor:
        """E / λ with E a standard exponential draw."""
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            draw = ops.empty(shape, dtype=self.rate.dtype, device=self.rate.device)
            draw = draw.exponential_()
        return draw / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Tensor) -> Tensor:
        """1 - exp(-λx)."""
        if self._validate_args:
            self._validate_sample(value)
        return 1 - ops.exp(-self.rate * value)

    def icdf(self, value: Tensor) -> Tensor:
        """-log(1 - p) / λ."""
        return -ops.log1p(-value) / self.rate

    def entropy(self) -> Tensor:
        """1 - log λ."""
        return 1.0 - self.rate.log()

    @property
    def _natural_params(self) -> tuple:
        return (-self.rate,)

    def _log_normalizer(self, x) -> Tensor:
        return -(-x).log()
