"""``MixtureSameFamily``: a mixture of distributions of one family."""

from __future__ import annotations

from ember import ops
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _as_size
from ember.ops.softmax import log_softmax

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    r"""A mixture of K components of one family: a ``Categorical`` chooses the component,
    and the component's rightmost batch dim (of size K) holds the K distributions.

    .. math::

        p(x) = \sum_k π_k \, p_k(x)

    Example (a Gaussian mixture of 5 components in 2 dimensions)::

        >>> mix = Categorical(ember.ones(5))
        >>> comp = Independent(Normal(ember.randn(5, 2), ember.rand(5, 2)), 1)
        >>> gmm = MixtureSameFamily(mix, comp)

    Args:
        mixture_distribution: a ``Categorical`` over the K components, whose batch shape
            broadcasts with the components' less their last batch dim.
        component_distribution: any distribution whose last batch dim has size K.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the components' batch shape less its last dim; ``event_shape``
        is theirs.
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args=None):
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        if not isinstance(self._mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of "
                             "torch.distributions.Categorical")
        if not isinstance(self._component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of "
                             "torch.distributions.Distribution")
        mixture_batch = self._mixture_distribution.batch_shape
        component_batch = self._component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mixture_batch), reversed(component_batch)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mixture_batch}) is not "
                                 "compatible with `component_distribution.batch_shape`"
                                 f"({component_batch})")
        mixture_components = self._mixture_distribution.logits.shape[-1]
        component_count = self._component_distribution.batch_shape[-1]
        if mixture_components != component_count:
            raise ValueError(f"`mixture_distribution component` ({mixture_components}) does "
                             "not equal `component_distribution.batch_shape[-1]` "
                             f"({component_count})")
        self._num_component = mixture_components
        event_shape = self._component_distribution.event_shape
        self._event_ndims = len(event_shape)
        super().__init__(component_batch, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        batch_shape = _as_size(batch_shape)
        component_shape = tuple(batch_shape) + (self._num_component,)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(component_shape)
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        event_shape = new._component_distribution.event_shape
        Distribution.__init__(new, batch_shape, event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    @property
    def mean(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        return (probs * self.component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        """The law of total variance: E[Var(X | k)] + Var(E[X | k])."""
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        dim = -1 - self._event_ndims
        mean_conditional_variance = (probs * self.component_distribution.variance).sum(dim)
        spread = (self.component_distribution.mean - self._pad(self.mean)).pow(2.0)
        return mean_conditional_variance + (probs * spread).sum(dim)

    def cdf(self, x: Tensor) -> Tensor:
        """Σ_k π_k F_k(x)."""
        x = self._pad(x)
        cdf_x = self.component_distribution.cdf(x)
        return (cdf_x * self.mixture_distribution.probs).sum(dim=-1)

    def log_prob(self, x: Tensor) -> Tensor:
        """log Σ_k exp(log π_k + log p_k(x)), by logsumexp."""
        if self._validate_args:
            self._validate_sample(x)
        x = self._pad(x)
        log_prob_x = self.component_distribution.log_prob(x)
        log_mix_prob = log_softmax(self.mixture_distribution.logits, dim=-1)
        return ops.logsumexp(log_prob_x + log_mix_prob, dim=-1)

    def sample(self, sample_shape=Size()) -> Tensor:
        """A component index per draw, then that component's draw of every component's."""
        with no_grad():
            sample_shape = _as_size(sample_shape)
            gather_dim = len(sample_shape) + len(self.batch_shape)
            event_shape = tuple(self.event_shape)
            mix_sample = self.mixture_distribution.sample(sample_shape)
            mix_shape = tuple(mix_sample.shape)
            component_samples = self.component_distribution.sample(sample_shape)
            index = mix_sample.reshape(mix_shape + (1,) * (len(event_shape) + 1))
            index = index.repeat((1,) * len(mix_shape) + (1,) + event_shape)
            samples = ops.gather(component_samples, gather_dim, index)
            return samples.squeeze(gather_dim)

    def _pad(self, x: Tensor) -> Tensor:
        """x with a dim for the components, before its event dims."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x: Tensor) -> Tensor:
        """The mixture's probabilities shaped to broadcast with the components' values:
        ones for missing batch dims and for the event dims."""
        distribution_batch_ndims = len(self.batch_shape)
        categorical_batch_ndims = len(self.mixture_distribution.batch_shape)
        pad_ndims = 0 if categorical_batch_ndims == 1 else (distribution_batch_ndims
                                                              - categorical_batch_ndims)
        shape = tuple(x.shape)
        return x.reshape(shape[:-1] + (1,) * pad_ndims + shape[-1:]
                         + (1,) * self._event_ndims)

    def __repr__(self) -> str:
        inner = f"\n  {self.mixture_distribution},\n  {self.component_distribution}"
        return f"MixtureSameFamily({inner})"
