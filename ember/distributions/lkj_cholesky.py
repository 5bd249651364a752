"""The LKJ distribution over Cholesky factors of correlation matrices."""

from __future__ import annotations

import math

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember.autograd import no_grad
from ember.distributions import constraints
from ember.distributions.beta import Beta
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _as_size, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    r"""The LKJ distribution (Lewandowski, Kurowicka & Joe, 2009) over the lower Cholesky
    factors L of ``dim`` × ``dim`` correlation matrices C = L Lᵀ, with density
    proportional to det(C)^{η - 1}: uniform over correlation matrices for η = 1, favouring
    the identity for η > 1.

    .. math::

        \log p(L) = \sum_{i=2}^{d} (d - i + 2(η - 1)) \log L_{ii} - \log Z(η, d)

    Samples are drawn by the onion method: row k (from 0) is a uniform direction of its k
    entries below the diagonal, scaled by the square root of a Beta(k/2, η + (d - 1 - k)/2)
    draw, and completed to unit norm by its diagonal entry. (PyTorch 2.13 draws row k's
    from Beta(k - ½, …), which is the same only for k = 1: its samples of d ≥ 3 are not
    LKJ-distributed, their off-diagonal correlations unequally spread. These are, each
    of variance 1 / (2η + d - 1).)

    Args:
        dim: the size d ≥ 2 of the matrices.
        concentration: η > 0 (a number or a tensor; default 1).
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the shape of ``concentration``; ``event_shape`` is (d, d).

    Example::

        >>> LKJCholesky(3, 0.5).sample().shape
        ember.Size([3, 3])
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError("Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # the onion method's Beta(k/2, η + (d - 1 - k)/2) for row k ≥ 1 (row 0 is (1, 0, …))
        marginal = self.concentration + 0.5 * (self.dim - 2)
        options = {"dtype": self.concentration.dtype, "device": self.concentration.device}
        offset = ops.cat([ops.zeros(1, **options), ops.arange(self.dim - 1, **options)])
        beta_concentration1 = 0.5 * offset + 0.5
        beta_concentration0 = marginal.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_concentration1, beta_concentration0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = _as_size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=Size()) -> Tensor:
        """The onion method, with each row's direction a normalized Gaussian vector; the
        first row is (1, 0, …)."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            gaussian = ops.randn(tuple(self._extended_shape(sample_shape)), dtype=y.dtype,
                                 device=y.device).tril(-1)
            direction = gaussian / gaussian.norm(dim=-1, keepdim=True)
            # the first row has no entries below the diagonal: 0/0, set to 0
            direction = ops.cat([ops.zeros_like(direction[..., :1, :]), direction[..., 1:, :]],
                                -2)
            w = y.sqrt() * direction
            diagonal = (1 - (w**2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + ops.diag_embed(diagonal)

    def log_prob(self, value: Tensor) -> Tensor:
        """Σ_i (d - i + 2(η - 1)) log L_ii over rows 2 … d, less the log of the normalizer
        Z = π^{(d-1)/2} Γ_{d-1}(η + (d-2)/2) / Γ(η + (d-1)/2)^{d-1}."""
        if self._validate_args:
            self._validate_sample(value)
        diagonal = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = ops.arange(2, self.dim + 1, dtype=value.dtype, device=value.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diagonal.log()).sum(-1)
        dim_less_one = self.dim - 1
        alpha = self.concentration + 0.5 * dim_less_one
        denominator = ops.lgamma(alpha) * dim_less_one
        numerator = ops.mvlgamma(alpha - 0.5, dim_less_one)
        normalizer = 0.5 * dim_less_one * math.log(math.pi) + numerator - denominator
        return unnormalized - normalizer

