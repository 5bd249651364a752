"""The multivariate normal distribution with a low-rank plus diagonal covariance."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Size, Tensor
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.multivariate_normal import _batch_mahalanobis, _batch_mv
from ember.distributions.utils import _as_size, _standard_normal, lazy_property
from ember.linalg import cholesky, solve_triangular

__all__ = ["LowRankMultivariateNormal"]


def _batch_capacitance_tril(factor: Tensor, diagonal: Tensor) -> Tensor:
    """The Cholesky factor of the capacitance matrix I + Wᵀ D⁻¹ W (m × m for a rank-m W),
    through which Σ⁻¹ and log det Σ are computed (the Woodbury identity and the matrix
    determinant lemma) at O(n m²) instead of O(n³)."""
    m = factor.size(-1)
    scaled = factor.mT / diagonal.unsqueeze(-2)
    capacitance = ops.matmul(scaled, factor)
    identity = ops.eye(m, dtype=factor.dtype, device=factor.device)
    return cholesky(capacitance + identity)


def _batch_lowrank_logdet(factor, diagonal, capacitance_tril) -> Tensor:
    """log det(W Wᵀ + D) = log det(I + Wᵀ D⁻¹ W) + log det D."""
    return (2 * capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
            + diagonal.log().sum(-1))


def _batch_lowrank_mahalanobis(factor, diagonal, x, capacitance_tril) -> Tensor:
    """xᵀ (W Wᵀ + D)⁻¹ x = xᵀ D⁻¹ x - ‖L⁻¹ Wᵀ D⁻¹ x‖², L the capacitance's factor."""
    scaled_factor = factor.mT / diagonal.unsqueeze(-2)
    projected = _batch_mv(scaled_factor, x)
    return (x.pow(2) / diagonal).sum(-1) - _batch_mahalanobis(capacitance_tril, projected)


class LowRankMultivariateNormal(Distribution):
    r"""The multivariate normal distribution N(μ, Σ) with Σ = W Wᵀ + D: a rank-m factor W
    (``cov_factor``, n × m) and a positive diagonal D (``cov_diag``), as in factor analysis.

    .. math::

        \log p(x) = -\tfrac12 \left(n \log 2π + \log\det Σ + (x - μ)^T Σ^{-1} (x - μ)\right)

    with Σ⁻¹ and det Σ reached through the m × m capacitance matrix I + Wᵀ D⁻¹ W, at
    O(n m²) cost instead of O(n³).

    Args:
        loc: the mean μ, of shape ``batch_shape + (n,)``.
        cov_factor: W, of shape ``batch_shape + (n, m)``.
        cov_diag: the diagonal of D > 0, of shape ``batch_shape + (n,)``.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` is the broadcast batch shape of the three; ``event_shape`` is (n,).

    Example::

        >>> m = LowRankMultivariateNormal(ember.zeros(2), ember.tensor([[1.0], [0.0]]),
        ...                               ember.ones(2))
        >>> m.variance
        tensor([2., 1.])
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, cov_factor: Tensor, cov_diag: Tensor, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = loc.shape[-1:]
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if cov_factor.shape[-2:-1] != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m")
        if cov_diag.shape[-1:] != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            loc_, self.cov_factor, cov_diag_ = ops.broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except RuntimeError as error:
            raise ValueError(f"Incompatible batch shapes: loc {loc.shape}, cov_factor "
                             f"{cov_factor.shape}, cov_diag {cov_diag.shape}") from error
        self.loc = loc_[..., 0]
        self.cov_diag = cov_diag_[..., 0]
        batch_shape = self.loc.shape[:-1]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _batch_capacitance_tril(cov_factor, cov_diag)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = _as_size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new.cov_diag = self.cov_diag.expand(loc_shape)
        new.cov_factor = self.cov_factor.expand(loc_shape + tuple(self.cov_factor.shape[-1:]))
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @lazy_property
    def variance(self) -> Tensor:
        """The diagonal of Σ: the squared row norms of W plus D."""
        marginal = (self._unbroadcasted_cov_factor.pow(2).sum(-1)
                    + self._unbroadcasted_cov_diag)
        return marginal.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self) -> Tensor:
        """The Cholesky factor of Σ, as D^{1/2} chol(I + D^{-1/2} W Wᵀ D^{-1/2}), whose
        matrix is well conditioned however small D is."""
        root = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        whitened = self._unbroadcasted_cov_factor / root
        inner = ops.matmul(whitened, whitened.mT)
        n = self._event_shape[0]
        inner = inner + ops.eye(n, dtype=inner.dtype, device=inner.device)
        return (root * cholesky(inner)).expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_cov_factor
        covariance = (ops.matmul(factor, factor.mT)
                      + ops.diag_embed(self._unbroadcasted_cov_diag))
        return covariance.expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        """Σ⁻¹ = D⁻¹ - AᵀA, A = L⁻¹ Wᵀ D⁻¹ (the Woodbury identity)."""
        scaled = self._unbroadcasted_cov_factor.mT / self._unbroadcasted_cov_diag.unsqueeze(-2)
        a = solve_triangular(self._capacitance_tril, scaled, upper=False)
        precision = ops.diag_embed(self._unbroadcasted_cov_diag.reciprocal()) - ops.matmul(
            a.mT, a)
        return precision.expand(self._matrix_shape())

    def rsample(self, sample_shape=Size()) -> Tensor:
        """μ + W ε_W + D^{1/2} ε_D, with m and n standard normals."""
        shape = tuple(self._extended_shape(sample_shape))
        factor_shape = shape[:-1] + tuple(self.cov_factor.shape[-1:])
        eps_factor = _standard_normal(factor_shape, dtype=self.loc.dtype, device=self.loc.device)
        eps_diag = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_factor)
                + self._unbroadcasted_cov_diag.sqrt() * eps_diag)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        difference = value - self.loc
        mahalanobis = _batch_lowrank_mahalanobis(self._unbroadcasted_cov_factor,
                                                 self._unbroadcasted_cov_diag, difference,
                                                 self._capacitance_tril)
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_factor,
                                        self._unbroadcasted_cov_diag, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + mahalanobis)

    def entropy(self) -> Tensor:
        """½ n (1 + log 2π) + ½ log det Σ."""
        log_det = _batch_lowrank_logdet(self._unbroadcasted_cov_factor,
                                        self._unbroadcasted_cov_diag, self._capacitance_tril)
        entropy = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        if len(self._batch_shape) == 0:
            return entropy
        return entropy.expand(tuple(self._batch_shape))
