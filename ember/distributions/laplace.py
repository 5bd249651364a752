"""The Laplace (double exponential) distribution."""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.utils import broadcast_all

__all__ = ["Laplace"]


class Laplace(Distribution):
    r"""The Laplace distribution with location μ and scale b.

    .. math::

        \log p(x) = -\log(2b) - \frac{|x - μ|}{b}

    Args:
        loc: the mean μ (a number or a tensor).
        scale: the scale b > 0 (a number or a tensor).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast shape of ``loc`` and ``scale``; ``event_shape``
        is ().

    Example::

        >>> Laplace(0.0, 1.0).log_prob(ember.tensor(1.0))
        tensor(-1.6931)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2**0.5) * self.scale

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, Number) and isinstance(scale, Number):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Laplace, batch_shape, _instance, ("loc", "scale"))

    def rsample(self, sample_shape=Size()) -> Tensor:
        """μ - b sign(u) log(1 - |u|), u uniform on (-1, 1) (its lower end moved in by
        one epsilon, so that the logarithm stays finite)."""
        shape = tuple(self._extended_shape(sample_shape))
        eps = finfo(self.loc.dtype).eps
        with no_grad():
            u = ops.empty(shape, dtype=self.loc.dtype, device=self.loc.device)
            u = u.uniform_(eps - 1, 1)
        return self.loc - self.scale * u.sign() * ops.log1p(-u.abs())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        """½ - ½ sign(x - μ) (exp(-|x - μ| / b) - 1)."""
        if self._validate_args:
            self._validate_sample(value)
        distance = value - self.loc
        return 0.5 - 0.5 * distance.sign() * ops.expm1(-distance.abs() / self.scale)

    def icdf(self, value: Tensor) -> Tensor:
        """μ - b sign(p - ½) log(1 - 2|p - ½|)."""
        term = value - 0.5
        return self.loc - self.scale * term.sign() * ops.log1p(-2 * term.abs())

    def entropy(self) -> Tensor:
        """1 + log(2b)."""
        return 1 + (2 * self.scale).log()
