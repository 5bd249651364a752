"""The geometric distribution: failures before the first success."""

from __future__ import annotations

from numbers import Number

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.distribution import Distribution, _expand_parameters
from ember.distributions.utils import (
    _exactly_one_of,
    broadcast_all,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)
from ember.nn.functional import binary_cross_entropy_with_logits

__all__ = ["Geometric"]


class Geometric(Distribution):
    r"""The geometric distribution: the number of failures k = 0, 1, … before the first
    success, in independent trials that each succeed with probability p.

    .. math::

        \log p(k) = k \log(1 - p) + \log p

    Args:
        probs: the probability of success, in (0, 1] (exactly one of ``probs`` and
            ``logits``).
        logits: the log-odds of success.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of the parameter; ``event_shape`` is ().

    Example::

        >>> Geometric(ember.tensor([0.5])).log_prob(ember.tensor([2.0]))
        tensor([-2.0794])
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        _exactly_one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
        else:
            (self.logits,) = broadcast_all(logits)
        given = probs if probs is not None else logits
        batch_shape = Size() if isinstance(given, Number) else self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)
        if self._validate_args and probs is not None:
            # the unit interval allows p = 0, which never succeeds: no distribution
            positive = self.probs > 0
            if not bool(positive.all()):
                raise ValueError(
                    f"Expected parameter probs ({type(self.probs).__name__} of shape "
                    f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but "
                    f"found invalid values:\n{self.probs.detach()[~positive]}"
                )

    @property
    def _param(self) -> Tensor:
        return self.__dict__["probs"] if "probs" in self.__dict__ else self.__dict__["logits"]

    def expand(self, batch_shape, _instance=None):
        return _expand_parameters(self, Geometric, batch_shape, _instance, ("probs", "logits"))

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return ops.zeros_like(self.probs)

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    def sample(self, sample_shape=Size()) -> Tensor:
        """⌊log U / log(1 - p)⌋, U uniform on (0, 1): the inverse of the distribution
        function."""
        shape = tuple(self._extended_shape(sample_shape))
        tiny = finfo(self.probs.dtype).tiny
        with no_grad():
            u = ops.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
            u = u.clamp(min=tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # 0 log(1 - p) at p = 1 is 0: the certain success happens at once
        probs = ops.where((probs == 1) & (value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        """(-p log p - (1 - p) log(1 - p)) / p."""
        cross_entropy = binary_cross_entropy_with_logits(self.logits, self.probs,
                                                         reduction="none")
        return cross_entropy / self.probs
