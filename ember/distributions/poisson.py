"""The Poisson distribution over the counts 0, 1, 2 …"""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import _expand_parameters
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import broadcast_all

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    r"""The Poisson distribution with rate λ: the number of events of a process that has
    λ of them on average.

    .. math::

        \log p(k) = k \log λ - λ - \log k!

    Args:
        rate: λ ≥ 0 (a number or a tensor).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of ``rate``; ``event_shape`` is (). Samples are counts
        in ``rate``'s dtype.

    Example::

        >>> Poisson(ember.tensor([4.0])).log_prob(ember.tensor([2.0]))
        tensor([-2.2082])
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = Size() if isinstance(rate, Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Poisson, batch_shape, _instance, ("rate",))

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        with no_grad():
            return ops.poisson(self.rate.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return ops.xlogy(value, rate) - rate - ops.lgamma(value + 1)

    @property
    def _natural_params(self) -> tuple:
        return (self.rate.log(),)

    def _log_normalizer(self, x) -> Tensor:
        return x.exp()
