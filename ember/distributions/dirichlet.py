"""The Dirichlet distribution over the probability simplex."""

from __future__ import annotations

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions._sampling import _sample_dirichlet
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import _as_size

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    r"""The Dirichlet distribution with concentration α over the K-simplex (vectors of K
    nonnegative entries summing to 1).

    .. math::

        \log p(x) = \sum_i (α_i - 1) \log x_i + \log Γ(α_0) - \sum_i \log Γ(α_i),
        \quad α_0 = \sum_i α_i

    ``rsample`` is reparameterized, with PyTorch's implicit gradient (see
    ``ember.distributions._sampling.Dirichlet``).

    Args:
        concentration: α > 0, of shape ``batch_shape + (K,)``.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is ``concentration``'s shape less its last dim; ``event_shape`` is
        (K,).

    Example::

        >>> Dirichlet(ember.tensor([1.0, 1.0, 1.0])).log_prob(ember.tensor([0.2, 0.3, 0.5]))
        tensor(0.6931)
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = _as_size(batch_shape)
        new.concentration = self.concentration.expand(tuple(batch_shape)
                                                      + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return _sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (ops.xlogy(self.concentration - 1.0, value).sum(-1)
                + ops.lgamma(self.concentration.sum(-1))
                - ops.lgamma(self.concentration).sum(-1))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        """(α - 1)⁺ normalized; where every α_i < 1 the density is highest at the vertices,
        and the mode is the first of them, as PyTorch's."""
        excess = (self.concentration - 1).clamp(min=0.0)
        mode = excess / excess.sum(-1, True)
        below_one = (self.concentration < 1).all(-1, keepdim=True)
        first_vertex = ops.zeros_like(mode)
        first_vertex[..., 0] = 1
        return ops.where(below_one, first_vertex, mode)

    @property
    def variance(self) -> Tensor:
        total = self.concentration.sum(-1, True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def entropy(self) -> Tensor:
        """log B(α) + (α_0 - K) ψ(α_0) - Σ_i (α_i - 1) ψ(α_i)."""
        k = self.concentration.size(-1)
        total = self.concentration.sum(-1)
        return (ops.lgamma(self.concentration).sum(-1) - ops.lgamma(total)
                - (k - total) * ops.digamma(total)
                - ((self.concentration - 1.0) * ops.digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x) -> Tensor:
        return x.lgamma().sum(-1) - ops.lgamma(x.sum(-1))
