"""The categorical distribution over the classes {0, …, K − 1}."""

from __future__ import annotations

import math

from ember import ops
from ember._dtype import finfo, int64
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import (
    _as_size,
    _exactly_one_of,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["Categorical"]


class Categorical(Distribution):
    r"""The categorical distribution: class i with probability p_i, the last dim of
    ``probs`` (or ``logits``) indexing the K classes.

    ``probs`` need only be nonnegative with a positive sum: they are divided by their sum.
    ``logits`` are unnormalized log-probabilities: they are shifted by their logsumexp, so
    that ``logits`` reads back as the log-probabilities.

    .. math::

        \log p(i) = \text{logits}_i - \log\sum_j e^{\text{logits}_j}

    Args:
        probs: event probabilities, of shape ``batch_shape + (K,)``.
        logits: event log-probabilities (unnormalized), of the same shape.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the parameter's shape less its last dim; ``event_shape`` is ().
        Samples are int64 class indices.

    Example::

        >>> m = Categorical(ember.tensor([0.25, 0.25, 0.5]))
        >>> m.log_prob(ember.tensor(2))
        tensor(-0.6931)
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _exactly_one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.size()[-1]
        batch_shape = self._param.size()[:-1] if self._param.ndimension() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = _as_size(batch_shape)
        param_shape = tuple(batch_shape) + (self._num_events,)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(param_shape))
                new._param = getattr(new, name)
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> Size:
        return self._param.size()

    @property
    def mean(self) -> Tensor:
        """Undefined (the classes are labels, not numbers): NaN."""
        return ops.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype,
                        device=self.probs.device)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    @property
    def variance(self) -> Tensor:
        """Undefined, as the mean: NaN."""
        return ops.full(tuple(self._extended_shape()), math.nan, dtype=self.probs.dtype,
                        device=self.probs.device)

    def sample(self, sample_shape=Size()) -> Tensor:
        sample_shape = _as_size(sample_shape)
        flat_probs = self.probs.reshape(-1, self._num_events)
        flat_samples = ops.multinomial(flat_probs, sample_shape.numel(), True).T
        return flat_samples.reshape(tuple(self._extended_shape(sample_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        value, log_pmf = ops.broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self) -> Tensor:
        """-Σ p_i log p_i, with log 0 read as the dtype's lowest finite number (so a zero
        probability adds 0, not NaN)."""
        lowest = finfo(self.logits.dtype).min
        logits = self.logits.clamp(min=lowest)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        values = ops.arange(self._num_events, dtype=int64, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
