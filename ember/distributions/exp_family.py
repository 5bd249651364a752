"""``ExponentialFamily``: distributions whose density is p(x; θ) = exp(⟨t(x), θ⟩ − F(θ) + k(x)).

θ are the natural parameters, t(x) the sufficient statistic, F the log-normalizer and
k(x) the carrier measure. Knowing F alone gives the entropy and the KL divergence
between two members of one family, through F's gradient (the mean of t(X)), as a
Bregman divergence.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd import grad
from ember.distributions.distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""The base class of exponential families.

    A subclass gives ``_natural_params`` (the tuple θ), ``_log_normalizer(*θ)`` (F, written
    with differentiable ops) and ``_mean_carrier_measure`` (E[k(X)]). Then

    .. math::

        H = -E[k(X)] + F(θ) - ⟨θ, ∇F(θ)⟩,

    which is the entropy this class computes (the gradient through autograd). The result
    does not carry gradients back to the parameters; subclasses that know a closed form
    override ``entropy``.
    """

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self) -> Tensor:
        result = -self._mean_carrier_measure
        natural = [theta.detach().requires_grad_() for theta in self._natural_params]
        log_normalizer = self._log_normalizer(*natural)
        gradients = grad(log_normalizer.sum(), natural, create_graph=True)
        result = result + log_normalizer
        for theta, gradient in zip(natural, gradients):
            inner = (theta * gradient).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
            result = result - inner
        return result
