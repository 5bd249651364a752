"""The relaxed one-hot categorical (Concrete / Gumbel-softmax) distribution, and its log."""

from __future__ import annotations

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.transformed_distribution import TransformedDistribution
from ember.distributions.transforms import ExpTransform
from ember.distributions.utils import _as_size, broadcast_all, clamp_probs

__all__ = ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"]


class ExpRelaxedCategorical(Distribution):
    r"""The log of a ``RelaxedOneHotCategorical`` draw (Maddison, Mnih & Teh, 2017):
    y = log softmax((logits + G) / λ), G standard Gumbel noise, over vectors of K reals.

    .. math::

        \log p(y) = \log Γ(K) + (K - 1) \log λ + \sum_i s_i - K \log\sum_i e^{s_i},
        \quad s = \text{logits} - λy

    computed with each s_i less their logsumexp.

    Args:
        temperature: λ > 0, the relaxation (a tensor).
        probs: event probabilities, of shape ``batch_shape + (K,)`` (exactly one of
            ``probs`` and ``logits``).
        logits: event log-probabilities (unnormalized).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the parameter's shape less its last dim; ``event_shape`` is (K,).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        batch_shape = _as_size(batch_shape)
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        uniforms = clamp_probs(ops.rand(shape, dtype=self.logits.dtype,
                                        device=self.logits.device))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        k = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = (ops.full_like(self.temperature, float(k)).lgamma()
                     - self.temperature.log().mul(-(k - 1)))
        score = logits - value.mul(self.temperature)
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    r"""The relaxed one-hot categorical (Concrete, Gumbel-softmax) distribution over the
    simplex: softmax((logits + G) / λ), G standard Gumbel noise; a reparameterizable
    stand-in for a one-hot draw that approaches ``OneHotCategorical`` as λ goes to 0.

    Args:
        temperature: λ > 0 (a tensor).
        probs: event probabilities, of shape ``batch_shape + (K,)`` (exactly one of
            ``probs`` and ``logits``).
        logits: event log-probabilities (unnormalized).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the parameter's shape less its last dim; ``event_shape`` is (K,).

    Example::

        >>> m = RelaxedOneHotCategorical(ember.tensor(0.5), probs=ember.tensor([0.2, 0.8]))
        >>> m.rsample().sum()
        tensor(1.)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base_dist = ExpRelaxedCategorical(temperature, probs, logits,
                                          validate_args=validate_args)
        super().__init__(base_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs
