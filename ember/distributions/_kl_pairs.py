"""The KL formulas for the distributions beyond ``kl.py``'s first ones: every pair
PyTorch registers among the distributions ember has, registered with ``register_kl`` on
import (``ember.distributions`` imports this module).

Most are E_p[log p(X)] - E_p[log q(X)], with the first term -H(p) and the second
written from q's log-density and p's moments (E X, E X², E log X …). Where p has mass
outside q's support the divergence is infinite.
"""

from __future__ import annotations

import math

from ember import ops
from ember._tensor import Tensor
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.beta import Beta
from ember.distributions.binomial import Binomial
from ember.distributions.cauchy import Cauchy
from ember.distributions.continuous_bernoulli import ContinuousBernoulli
from ember.distributions.dirichlet import Dirichlet
from ember.distributions.exponential import Exponential
from ember.distributions.gamma import Gamma
from ember.distributions.geometric import Geometric
from ember.distributions.gumbel import Gumbel
from ember.distributions.half_normal import HalfNormal
from ember.distributions.kl import _kl_normal_normal, register_kl
from ember.distributions.laplace import Laplace
from ember.distributions.lowrank_multivariate_normal import (
    LowRankMultivariateNormal,
    _batch_lowrank_logdet,
    _batch_lowrank_mahalanobis,
)
from ember.distributions.multivariate_normal import MultivariateNormal, _batch_mahalanobis
from ember.distributions.normal import Normal
from ember.distributions.pareto import Pareto
from ember.distributions.poisson import Poisson
from ember.distributions.uniform import Uniform
from ember.distributions.utils import euler_constant
from ember.linalg import solve_triangular

__all__ = []

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _infinite_like(tensor: Tensor) -> Tensor:
    return ops.full_like(tensor, math.inf)


def _log_beta(a: Tensor, b: Tensor) -> Tensor:
    return ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(a + b)


def _x_log_x(x: Tensor) -> Tensor:
    """x log x, 0 at 0."""
    return ops.xlogy(x, x)


def _trace_of_square(x: Tensor) -> Tensor:
    """tr(X Xᵀ) = ‖X‖²_F, over the last two dims."""
    return x.pow(2).sum((-2, -1))


# ---------------------------------------------------------------- pairs of one family


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    """log B(a_q, b_q) - log B(a_p, b_p) + (a_p - a_q) ψ(a_p) + (b_p - b_q) ψ(b_p)
    + (a_q - a_p + b_q - b_p) ψ(a_p + b_p)."""
    a_p, b_p, a_q, b_q = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    total_p = a_p + b_p
    return (_log_beta(a_q, b_q) - _log_beta(a_p, b_p)
            + (a_p - a_q) * ops.digamma(a_p) + (b_p - b_q) * ops.digamma(b_p)
            + (a_q - a_p + b_q - b_p) * ops.digamma(total_p))


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    """n (p log(p/q) + (1-p) log((1-p)/(1-q))) for one total count n; ∞ where q has fewer
    trials than p."""
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError(
            "KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p()
                          - (-q.probs).log1p())
    return ops.where(p.total_count > q.total_count, math.inf, kl)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    """log(((γ_p + γ_q)² + (x_p - x_q)²) / (4 γ_p γ_q)) (Chyzak & Nielsen, 2019)."""
    return (((p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)).log()
            - (4 * p.scale * q.scale).log())


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    """E[x] (logit_p - logit_q) + log(1 - λ_p) + log C_p - log(1 - λ_q) - log C_q."""
    return (p.mean * (p.logits - q.logits) + ops.log1p(-p.probs) + p._cont_bern_log_norm()
            - ops.log1p(-q.probs) - q._cont_bern_log_norm())


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    """log Γ(α_0) - log Γ(β_0) - Σ (log Γ(α_i) - log Γ(β_i)) + Σ (α_i - β_i)(ψ(α_i) - ψ(α_0))."""
    total_p, total_q = p.concentration.sum(-1), q.concentration.sum(-1)
    log_normalizers = (ops.lgamma(total_p) - ops.lgamma(total_q)
                       - (ops.lgamma(p.concentration) - ops.lgamma(q.concentration)).sum(-1))
    expected_logs = ops.digamma(p.concentration) - ops.digamma(total_p).unsqueeze(-1)
    return log_normalizers + ((p.concentration - q.concentration) * expected_logs).sum(-1)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    """α_q log(β_p / β_q) + log Γ(α_q) - log Γ(α_p) + (α_p - α_q) ψ(α_p)
    + (β_q - β_p) α_p / β_p."""
    return (q.concentration * (p.rate / q.rate).log()
            + ops.lgamma(q.concentration) - ops.lgamma(p.concentration)
            + (p.concentration - q.concentration) * ops.digamma(p.concentration)
            + (q.rate - p.rate) * (p.concentration / p.rate))


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    """-H(p) - E[k] log(1 - q) - log q, E[k] = 1/p - 1."""
    return -p.entropy() - ops.log1p(-q.probs) / p.probs - q.logits


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    """log(β_q / β_p) + (μ_p - μ_q) / β_q + γ β_p / β_q
    + exp((μ_q - μ_p) / β_q + log Γ(1 + β_p / β_q)) - 1 - γ."""
    scale_ratio = p.scale / q.scale
    q_shift, p_shift = q.loc / q.scale, p.loc / q.scale
    return (-scale_ratio.log() - q_shift + p_shift + scale_ratio * euler_constant
            + ops.exp(q_shift + ops.lgamma(1 + scale_ratio) - p_shift)
            - (1 + euler_constant))


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    """α_q log(m_p / m_q) - log(α_q / α_p) + α_q / α_p - 1, ∞ where m_p < m_q."""
    alpha_ratio = q.alpha / p.alpha
    result = (q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1)
    return ops.where(p.scale < q.scale, math.inf, result)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    """λ_p (log λ_p - log λ_q) - (λ_p - λ_q)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


# ---------------------------------------------------------------- low-rank normals


def _check_event_shapes(p, q, which: str) -> None:
    if p.event_shape != q.event_shape:
        raise ValueError(f"KL-divergence between two {which} with different event shapes "
                         "cannot be computed")


def _woodbury_factor(q) -> Tensor:
    """A = L⁻¹ Wᵀ D⁻¹ for q's low-rank covariance, so that Σ_q⁻¹ = D⁻¹ - AᵀA."""
    scaled = q._unbroadcasted_cov_factor.mT / q._unbroadcasted_cov_diag.unsqueeze(-2)
    return solve_triangular(q._capacitance_tril, scaled, upper=False)


def _lowrank_half_log_det(q) -> Tensor:
    return 0.5 * _batch_lowrank_logdet(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag,
                                       q._capacitance_tril)


def _lowrank_mahalanobis(q, difference) -> Tensor:
    return _batch_lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag,
                                      difference, q._capacitance_tril)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrankmultivariatenormal_lowrankmultivariatenormal(p, q):
    """½ (tr(Σ_q⁻¹ Σ_p) + (μ_q - μ_p)ᵀ Σ_q⁻¹ (μ_q - μ_p) - n) + ½ log det Σ_q - ½ log det Σ_p,
    with tr(Σ_q⁻¹ Σ_p) = Σ D_p / D_q + ‖D_q^{-1/2} W_p‖² - ‖A D_p^{1/2}‖² - ‖A W_p‖²."""
    _check_event_shapes(p, q, "Low Rank Multivariate Normals")
    half_log_det_ratio = _lowrank_half_log_det(q) - _lowrank_half_log_det(p)
    mahalanobis = _lowrank_mahalanobis(q, q.loc - p.loc)
    a = _woodbury_factor(q)
    p_factor, p_diag = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    q_diag = q._unbroadcasted_cov_diag
    trace = ((p_diag / q_diag).sum(-1)
             + _trace_of_square(p_factor * q_diag.rsqrt().unsqueeze(-1))
             - _trace_of_square(a * p_diag.sqrt().unsqueeze(-2))
             - _trace_of_square(ops.matmul(a, p_factor)))
    return half_log_det_ratio + 0.5 * (trace + mahalanobis - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_multivariatenormal_lowrankmultivariatenormal(p, q):
    """As the low-rank pair, with Σ_p = L_p L_pᵀ:
    tr(Σ_q⁻¹ Σ_p) = ‖D_q^{-1/2} L_p‖² - ‖A L_p‖²."""
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    half_log_det_ratio = _lowrank_half_log_det(q) - p._half_log_det()
    mahalanobis = _lowrank_mahalanobis(q, q.loc - p.loc)
    a = _woodbury_factor(q)
    p_factor = p._unbroadcasted_scale_tril
    trace = (_trace_of_square(p_factor * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1))
             - _trace_of_square(ops.matmul(a, p_factor)))
    return half_log_det_ratio + 0.5 * (trace + mahalanobis - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrankmultivariatenormal_multivariatenormal(p, q):
    """As the full pair, with Σ_p = W_p W_pᵀ + D_p:
    tr(Σ_q⁻¹ Σ_p) = ‖L_q⁻¹ W_p‖² + ‖L_q⁻¹ D_p^{1/2}‖²."""
    _check_event_shapes(p, q, "(Low Rank) Multivariate Normals")
    half_log_det_ratio = q._half_log_det() - _lowrank_half_log_det(p)
    q_factor = q._unbroadcasted_scale_tril
    mahalanobis = _batch_mahalanobis(q_factor, q.loc - p.loc)
    p_factor, p_diag = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    n, m = p.event_shape[0], p_factor.shape[-1]
    batch = tuple(ops.broadcast_shapes(tuple(q_factor.shape[:-2]), tuple(p_factor.shape[:-2]),
                                       tuple(p_diag.shape[:-1])))
    q_factor = q_factor.expand(batch + (n, n))
    solved_factor = solve_triangular(q_factor, p_factor.expand(batch + (n, m)), upper=False)
    solved_diag = solve_triangular(q_factor, ops.diag_embed(p_diag.sqrt()).expand(batch + (n, n)),
                                   upper=False)
    trace = _trace_of_square(solved_factor) + _trace_of_square(solved_diag)
    return half_log_det_ratio + 0.5 * (trace + mahalanobis - n)


# ---------------------------------------------------------------- across families


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    """(1 - π) log(1 - π) + π log π - π log λ + λ (NaN at π = λ = 0, as PyTorch's)."""
    return _x_log_x(1 - p.probs) + _x_log_x(p.probs) - p.probs * q.rate.log() + q.rate


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() - p.mean * q.logits - ops.log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    """-H(p) - α log β + log Γ(α) - (α - 1) E log x + β E x, E log x = ψ(a) - ψ(a + b)."""
    expected_log = ops.digamma(p.concentration1) - ops.digamma(p.concentration1
                                                              + p.concentration0)
    return (-p.entropy() - q.concentration * q.rate.log() + ops.lgamma(q.concentration)
            - (q.concentration - 1) * expected_log + q.rate * p.mean)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    """-H(p) + log σ + ½ log 2π + (Var X + (E X - μ)²) / 2σ²."""
    second_moment = p.variance + (p.mean - q.loc).pow(2)
    return -p.entropy() + q.scale.log() + _HALF_LOG_2PI + second_moment / (2 * q.scale.pow(2))


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    """-H(p) + log(high - low), ∞ unless [0, 1] ⊆ [low, high]."""
    result = -p.entropy() + (q.high - q.low).log()
    return ops.where((q.low > 0) | (q.high < 1), math.inf, result)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    second_moment = p.variance + (p.mean - q.loc).pow(2)
    return -p.entropy() + q.scale.log() + _HALF_LOG_2PI + second_moment / (2 * q.scale.pow(2))


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    """-H(p) + log(high - low), ∞ unless low < 0 and high > 1 (PyTorch's bounds: strict,
    so [0, 1] itself counts as not covering)."""
    result = -p.entropy() + (q.high - q.low).log()
    return ops.where((q.low >= 0) | (q.high <= 1), math.inf, result)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    """-α log(β/λ) + β/λ + log Γ(α) + (α - 1) γ - 1."""
    ratio = q.rate / p.rate
    return (-q.concentration * ratio.log() + ratio + ops.lgamma(q.concentration)
            + q.concentration * euler_constant - (1 + euler_constant))


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    """log(λβ) - 1 + 1/(λβ) - μ/β + e^{μ/β} λβ / (λβ + 1), from E e^{-X/β} = λβ / (λβ + 1)."""
    scale_rate = p.rate * q.scale
    shift = q.loc / q.scale
    return (scale_rate.log() - 1 - shift + ops.exp(shift) * scale_rate / (scale_rate + 1)
            + scale_rate.reciprocal())


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    """-H(p) + log σ + (E X - μ)/σ + e^{μ/σ} (1 + 1/(βσ))^{-α}."""
    rate_scale = p.rate * q.scale
    shift = q.loc / q.scale
    negative_entropy = ((p.concentration - 1) * ops.digamma(p.concentration)
                        - ops.lgamma(p.concentration) - p.concentration)
    cross = rate_scale.log() + p.concentration / rate_scale
    tail = ops.exp(shift) * (1 + rate_scale.reciprocal()).pow(-p.concentration) - shift
    return negative_entropy + cross + tail


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    """-H(p) + ½ log 2πσ² + E[(X - μ)²] / 2σ², E X² = α(α + 1) / β²."""
    variance = q.scale.pow(2)
    rate_squared = p.rate.pow(2)
    log_terms = (0.5 * (rate_squared * variance * 2 * math.pi).log() - p.concentration
                 - ops.lgamma(p.concentration))
    second_moment = (0.5 * (p.concentration.pow(2) + p.concentration) / rate_squared
                     - q.loc * p.concentration / p.rate + 0.5 * q.loc.pow(2))
    return (log_terms + (p.concentration - 1) * ops.digamma(p.concentration)
            + second_moment / variance)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    """-H(p) + log σ + ½ log 2π + (π²β²/6 + (μ_p + γβ - μ_q)²) / 2σ²."""
    ratio = p.scale / q.scale
    log_term = (ratio / math.sqrt(2 * math.pi)).log()
    spread = (math.pi * ratio * 0.5).pow(2) / 3
    shift = ((p.loc + p.scale * euler_constant - q.loc) / q.scale).pow(2) * 0.5
    return -log_term + spread + shift - (euler_constant + 1)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    """-H(p) + log β + (μ_p - μ_q)/β + exp(-(μ_p - μ_q)/β + σ²/2β²)."""
    mean_ratio = p.loc / q.scale
    variance_ratio = (p.scale / q.scale).pow(2)
    shift = q.loc / q.scale
    return (-0.5 * variance_ratio.log() + mean_ratio - shift
            + ops.exp(-mean_ratio + 0.5 * variance_ratio + shift)
            - 0.5 * (1 + math.log(2 * math.pi)))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    """log(α / (m λ)) - 1/α + α m λ / (α - 1) - 1, ∞ for α ≤ 1 (no mean)."""
    scale_rate = p.scale * q.rate
    result = ((p.alpha / scale_rate).log() - p.alpha.reciprocal()
              + p.alpha * scale_rate / (p.alpha - 1) - 1)
    return ops.where(p.alpha <= 1, math.inf, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    """-H(p) - α_q log β + log Γ(α_q) - (α_q - 1) E log X + β E X, with
    E log X = log m + 1/α; ∞ for α ≤ 1."""
    expected_log = p.scale.log() + p.alpha.reciprocal()
    result = (p.alpha.log() - expected_log + ops.lgamma(q.concentration)
              - q.concentration * q.rate.log() + (1 - q.concentration) * expected_log
              + q.rate * p.alpha * p.scale / (p.alpha - 1) - 1)
    return ops.where(p.alpha <= 1, math.inf, result)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    """-H(p) + log σ + ½ log 2π + (Var X + (E X - μ)²) / 2σ²; ∞ for α ≤ 2."""
    twice_variance = 2 * q.scale.pow(2)
    common = p.scale / (p.alpha - 1)
    log_term = (math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
    variance = p.alpha * common.pow(2) / (p.alpha - 2)
    shift = (p.alpha * common - q.loc).pow(2)
    result = log_term - p.alpha.reciprocal() + (variance + shift) / twice_variance - 1
    return ops.where(p.alpha <= 2, math.inf, result)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    """-log(high - low) + log B(a, b) - (a - 1) E log X - (b - 1) E log(1 - X), the
    expectations over the interval; ∞ unless it lies in [0, 1]."""
    width = p.high - p.low
    expected_log = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    expected_log_complement = (_x_log_x(1 - p.low) - _x_log_x(1 - p.high) - width) / width
    result = (_log_beta(q.concentration1, q.concentration0) - width.log()
              - (q.concentration1 - 1) * expected_log
              - (q.concentration0 - 1) * expected_log_complement)
    return ops.where((p.low < 0) | (p.high > 1), math.inf, result)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    """-log(high - low) - E X logit λ - log(1 - λ) - log C(λ); ∞ unless the interval lies
    strictly inside (0, 1)."""
    result = (-(p.high - p.low).log() - p.mean * q.logits - ops.log1p(-q.probs)
              - q._cont_bern_log_norm())
    return ops.where((p.high >= 1) | (p.low <= 0), math.inf, result)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    """-log(high - low) + log Γ(α) - α log β - (α - 1) E log X + β E X; ∞ where low < 0."""
    width = p.high - p.low
    expected_log = (_x_log_x(p.high) - _x_log_x(p.low)) / width - 1
    result = (ops.lgamma(q.concentration) - q.concentration * q.rate.log()
              + (1 - q.concentration) * expected_log
              + q.rate * (p.high + p.low) / 2 - width.log())
    return ops.where(p.low < 0, math.inf, result)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    """log(β / (high - low)) + (E X - μ)/β + β (e^{-(high-μ)/β} - e^{-(low-μ)/β}) / (high - low)."""
    common = q.scale / (p.high - p.low)
    high_shift = (p.high - q.loc) / q.scale
    low_shift = (p.low - q.loc) / q.scale
    return (common.log() + 0.5 * (high_shift + low_shift)
            - common * (ops.exp(-high_shift) - ops.exp(-low_shift)))


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    """-log(high - low) - log(α m^α) + (α + 1) E log X; ∞ where low < m."""
    width = p.high - p.low
    expected_log = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    result = expected_log * (q.alpha + 1) - (q.alpha * q.scale.pow(q.alpha) * width).log()
    return ops.where(p.low < q.scale, math.inf, result)


# ---------------------------------------------------------------- infinite: supports that differ


@register_kl(Beta, Pareto)
@register_kl(ContinuousBernoulli, Pareto)
def _kl_unit_interval_infinity(p, q):
    return _infinite_like(p.mean)


@register_kl(Exponential, Beta)
@register_kl(Exponential, ContinuousBernoulli)
@register_kl(Exponential, Pareto)
def _kl_exponential_infinity(p, q):
    return _infinite_like(p.rate)


@register_kl(Gamma, Beta)
@register_kl(Gamma, ContinuousBernoulli)
@register_kl(Gamma, Pareto)
@register_kl(Gamma, Uniform)
def _kl_gamma_infinity(p, q):
    return _infinite_like(p.concentration)


@register_kl(Gumbel, Beta)
@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
@register_kl(Laplace, Beta)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Pareto)
@register_kl(Normal, Beta)
@register_kl(Normal, ContinuousBernoulli)
@register_kl(Normal, Gamma)
@register_kl(Normal, Pareto)
def _kl_real_line_infinity(p, q):
    return _infinite_like(p.loc)


@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_pareto_infinity(p, q):
    return _infinite_like(p.scale)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _infinite_like(p.rate)
