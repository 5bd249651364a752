"""The multivariate normal distribution, parameterized through a Cholesky factor."""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Size, Tensor
from ember._toplevel_views import cholesky_inverse
from ember.distributions import constraints
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _as_size, _standard_normal, lazy_property
from ember.linalg import cholesky, solve_triangular

__all__ = ["MultivariateNormal"]


def _batch_mv(matrix: Tensor, vector: Tensor) -> Tensor:
    """Matrix-vector products over broadcast batch dims."""
    return ops.matmul(matrix, vector.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(scale_tril: Tensor, x: Tensor) -> Tensor:
    """xᵀ (L Lᵀ)⁻¹ x = ‖L⁻¹ x‖², by a triangular solve over broadcast batch dims."""
    whitened = solve_triangular(scale_tril, x.unsqueeze(-1), upper=False).squeeze(-1)
    return whitened.pow(2).sum(-1)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The Cholesky factor L of P⁻¹, without inverting P.

    With J the reversal permutation, the Cholesky factor of J P J gives P = U Uᵀ with
    U = J L_f J upper triangular (``flip`` of L_f). Then P⁻¹ = U⁻ᵀ U⁻¹, and U⁻ᵀ is lower
    triangular with a positive diagonal: it is L, one triangular solve away.
    """
    flipped_factor = cholesky(ops.flip(precision, (-2, -1)))
    upper_transposed = ops.flip(flipped_factor, (-2, -1)).mT
    identity = ops.eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return solve_triangular(upper_transposed, identity, upper=False)


class MultivariateNormal(Distribution):
    r"""The multivariate normal distribution N(μ, Σ) over vectors of length k.

    Σ is given by exactly one of ``covariance_matrix``, ``precision_matrix`` (Σ⁻¹) or
    ``scale_tril`` (its lower Cholesky factor L, Σ = L Lᵀ, the cheapest: the others are
    factored first).

    .. math::

        \log p(x) = -\tfrac12 \left(k \log 2π + (x - μ)^T Σ^{-1} (x - μ)\right)
                    - \sum_i \log L_{ii}

    Args:
        loc: the mean μ, of shape ``(..., k)``.
        covariance_matrix: Σ, positive definite, of shape ``(..., k, k)``.
        precision_matrix: Σ⁻¹, positive definite.
        scale_tril: L, lower triangular with a positive diagonal.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` broadcasts ``loc.shape[:-1]`` with the matrix's batch dims;
        ``event_shape`` is ``(k,)``.

    Example::

        >>> m = MultivariateNormal(ember.zeros(2), ember.eye(2))
        >>> m.log_prob(ember.zeros(2))
        tensor(-1.8379)
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, covariance_matrix=None, precision_matrix=None,
                 scale_tril=None, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(name, matrix) for name, matrix in (("covariance_matrix", covariance_matrix),
                                                     ("precision_matrix", precision_matrix),
                                                     ("scale_tril", scale_tril))
                 if matrix is not None]
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        name, matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch_shape = ops.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = _as_size(batch_shape)
        loc_shape = tuple(batch_shape) + tuple(self.event_shape)
        matrix_shape = loc_shape + tuple(self.event_shape)
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape) * 2

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        factor = self._unbroadcasted_scale_tril
        return ops.matmul(factor, factor.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        return cholesky_inverse(self._unbroadcasted_scale_tril).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """The diagonal of Σ: the squared row norms of L."""
        marginal = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return marginal.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()) -> Tensor:
        """μ + L ε, ε standard normal."""
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        difference = value - self.loc
        mahalanobis = _batch_mahalanobis(self._unbroadcasted_scale_tril, difference)
        half_log_det = self._half_log_det()
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + mahalanobis) - half_log_det

    def entropy(self) -> Tensor:
        """½ k (1 + log 2π) + ½ log det Σ."""
        half_log_det = self._half_log_det()
        entropy = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + half_log_det
        if len(self._batch_shape) == 0:
            return entropy
        return entropy.expand(tuple(self._batch_shape))

    def _half_log_det(self) -> Tensor:
        """½ log det Σ = Σ_i log L_ii."""
        diagonal = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1)
        return diagonal.log().sum(-1)
