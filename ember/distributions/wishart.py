"""The Wishart distribution over positive-definite matrices."""

from __future__ import annotations

import math
import warnings
from numbers import Number

from ember import ops
from ember._dtype import finfo
from ember._tensor import Size, Tensor
from ember._toplevel_views import cholesky_inverse
from ember.distributions import constraints
from ember.distributions.chi2 import Chi2
from ember.distributions.distribution import Distribution
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.multivariate_normal import _precision_to_scale_tril
from ember.distributions.utils import _as_size, _standard_normal, lazy_property
from ember.linalg import cholesky, solve_triangular

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


def _multi_digamma(a: Tensor, p: int) -> Tensor:
    """ψ_p(a) = Σ_{i<p} ψ(a - i/2), the derivative of log Γ_p."""
    halves = ops.arange(p, dtype=a.dtype, device=a.device) / 2
    return ops.digamma(a.unsqueeze(-1) - halves).sum(-1)


class Wishart(ExponentialFamily):
    r"""The Wishart distribution W(ν, Σ) over p × p positive-definite matrices: the law of
    Σ_i x_i x_iᵀ for ν independent x_i ~ N(0, Σ) (ν real, > p - 1).

    .. math::

        \log p(X) = \tfrac{ν - p - 1}{2} \log\det X - \tfrac12 \mathrm{tr}(Σ^{-1} X)
                    - \tfrac{νp}{2} \log 2 - \tfrac{ν}{2} \log\det Σ - \log Γ_p(\tfrac{ν}{2})

    ``rsample`` is reparameterized by the Bartlett decomposition X = L A Aᵀ Lᵀ, with A
    lower triangular, A_ii = √χ²(ν - i) (through the chi-squared draws' implicit gradient)
    and standard normals below the diagonal.

    Args:
        df: ν > p - 1 (a number or a tensor).
        covariance_matrix: Σ, positive definite (exactly one of the three matrices).
        precision_matrix: Σ⁻¹.
        scale_tril: L, Σ's lower Cholesky factor.
        validate_args: see ``Distribution``.

    Shape:
        ``batch_shape`` broadcasts the matrix's batch dims with ``df``'s shape;
        ``event_shape`` is (p, p).

    Example::

        >>> Wishart(ember.tensor(4.0), ember.eye(2)).mean
        tensor([[4., 0.],
                [0., 4.]])
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [(name, matrix) for name, matrix in (("covariance_matrix", covariance_matrix),
                                                     ("precision_matrix", precision_matrix),
                                                     ("scale_tril", scale_tril))
                 if matrix is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        name, matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = Size(matrix.shape[:-2])
            self.df = ops.tensor(df, dtype=matrix.dtype, device=matrix.device)
        else:
            batch_shape = Size(ops.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = Size(matrix.shape[-2:])
        p = event_shape[-1]
        if bool(self.df.le(p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if bool(self.df.lt(p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", stacklevel=2)
        setattr(self, name, matrix.expand(tuple(batch_shape) + tuple(event_shape)))
        self.arg_constraints["df"] = constraints.greater_than(p - 1)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        # the diagonal of the Bartlett factor: √χ²(ν - i), i = 0 … p - 1
        degrees = self.df.unsqueeze(-1) - ops.arange(p, dtype=self._unbroadcasted_scale_tril
                                                     .dtype, device=self.df.device)
        self._dist_chi2 = Chi2(df=degrees.expand(tuple(batch_shape) + (-1,)))

    @lazy_property
    def arg_constraints(self) -> dict:
        """Each matrix's constraint; ``df``'s, greater than p - 1, is set per instance."""
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky}

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = _as_size(batch_shape)
        matrix_shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(matrix_shape)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))
        new.arg_constraints = dict(self.arg_constraints)
        new._dist_chi2 = self._dist_chi2.expand(tuple(batch_shape) + (self.event_shape[-1],))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

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

    def _df_as_matrix(self) -> Tensor:
        return self.df.view(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        """ν Σ."""
        return self._df_as_matrix() * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """(ν - p - 1) Σ, undefined (NaN) for ν ≤ p + 1."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = ops.where(factor <= 0, math.nan, factor)
        return factor.view(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        """Var X_ij = ν (Σ_ij² + Σ_ii Σ_jj)."""
        covariance = self.covariance_matrix
        diagonal = covariance.diagonal(dim1=-2, dim2=-1)
        outer = diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2)
        return self._df_as_matrix() * (covariance.pow(2) + outer)

    def _bartlett_sampling(self, sample_shape=Size()) -> Tensor:
        diagonal = self._dist_chi2.rsample(sample_shape).sqrt()
        diagonal = diagonal.clamp(min=finfo(diagonal.dtype).eps)
        shape = tuple(self._extended_shape(sample_shape))
        below = _standard_normal(shape, dtype=diagonal.dtype, device=diagonal.device).tril(-1)
        factor = ops.matmul(self._unbroadcasted_scale_tril, below + ops.diag_embed(diagonal))
        return ops.matmul(factor, factor.mT)

    def rsample(self, sample_shape=Size(), max_try_correction=None) -> Tensor:
        """A Bartlett draw; the draws that are singular in floating point (likely for ν
        close to p - 1) are drawn again, up to ``max_try_correction`` times (3 by default,
        1 outside ``validate_args``), with a warning for those that stay singular."""
        if max_try_correction is None:
            max_try_correction = 3 if self._validate_args else 1
        sample_shape = _as_size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        if not self._validate_args:
            return sample
        singular = ~self.support.check(sample.detach())
        if not bool(singular.any()):
            return sample
        flat = sample.reshape((-1,) + tuple(self._event_shape))
        flat_singular = singular.reshape(-1)
        for _ in range(max_try_correction):
            again = self._bartlett_sampling(sample_shape).reshape(flat.shape)
            flat = ops.where(flat_singular.view(-1, 1, 1), again, flat)
            flat_singular = ~self.support.check(flat.detach())
            if not bool(flat_singular.any()):
                break
        else:
            warnings.warn(f"Singular samples occurred even after {max_try_correction} "
                          "tries to correct them.", stacklevel=2)
        return flat.reshape(sample.shape)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        half_log_det_covariance = self._unbroadcasted_scale_tril.diagonal(
            dim1=-2, dim2=-1).log().sum(-1)
        log_det_value = 2 * cholesky(value).diagonal(dim1=-2, dim2=-1).log().sum(-1)
        # tr(Σ⁻¹ X) = tr(L⁻¹ (L⁻¹ X)ᵀ), X symmetric
        shape = tuple(ops.broadcast_shapes(tuple(value.shape),
                                           tuple(self._unbroadcasted_scale_tril.shape)))
        factor = self._unbroadcasted_scale_tril.expand(shape)
        solved = solve_triangular(factor, value.expand(shape), upper=False)
        trace = solve_triangular(factor, solved.mT, upper=False).diagonal(
            dim1=-2, dim2=-1).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det_covariance)
                - ops.mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * log_det_value - trace / 2)

    def entropy(self) -> Tensor:
        """(p + 1)/2 log det Σ + p(p + 1)/2 log 2 + log Γ_p(ν/2) - (ν - p - 1)/2 ψ_p(ν/2)
        + νp/2."""
        nu = self.df
        p = self._event_shape[-1]
        half_log_det_covariance = self._unbroadcasted_scale_tril.diagonal(
            dim1=-2, dim2=-1).log().sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det_covariance)
                + ops.mvlgamma(nu / 2, p) - (nu - p - 1) / 2 * _multi_digamma(nu / 2, p)
                + nu * p / 2)

    @property
    def _natural_params(self) -> tuple:
        """(-Σ⁻¹ / 2, (ν - p - 1) / 2)."""
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y) -> Tensor:
        """(y + (p+1)/2)(p log 2 - log det(-2x)) + log Γ_p(y + (p+1)/2), in the natural
        parameters x = -Σ⁻¹/2 and y = (ν - p - 1)/2."""
        p = self._event_shape[-1]
        half_df = y + (p + 1) / 2
        log_det = 2 * cholesky(-2 * x).diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return half_df * (p * _LOG_2 - log_det) + ops.mvlgamma(half_df, p)

