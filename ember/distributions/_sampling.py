"""The draws ``ember.ops.random`` does not make, for the distributions that need them:
standard gamma variates (``Gamma``, ``Chi2``, ``StudentT``, ``Dirichlet``, ``Beta`` …) and
binomial counts, from ember's generator, so that ``ember.manual_seed`` governs them.

A gamma or Dirichlet draw is a reparameterized sample. Its gradient with respect to the
concentration is the implicit reparameterization gradient (Figurnov, Mohamed & Mnih,
2018, "Implicit Reparameterization Gradients"): for a draw x of cumulative distribution
function F(x; α),

.. math::

    \\frac{dx}{dα} = -\\frac{∂F(x; α) / ∂α}{p(x; α)},

the change of x that keeps F(x; α), the noise behind the draw, fixed. Both derivatives
of the regularized incomplete gamma and beta functions are computed to about machine
precision, by their series and continued fractions carried forward with their
derivatives (PyTorch approximates them to about 1e-3).
"""

from __future__ import annotations

from ember._backend import device_index, float_info, on_device, xp
from ember._tensor import Tensor
from ember.autograd import is_grad_enabled
from ember.ops._function import Op
from ember.ops._special import _lgamma_array, _polygamma_array
from ember.ops.random import _stream

__all__ = []

_EPSILON = 2.0**-52  # float64's spacing at 1: where a series or fraction has converged
_MAX_TERMS = 200_000  # more than a concentration of 1e9 needs


def _digamma(x):
    return _polygamma_array(0, x)


# ---------------------------------------------------------------- iterations to convergence


def _until_converged(step, state: list, converged) -> list:
    """Apply ``step(k, state)`` for k = 1, 2 … to the entries of ``state`` (arrays of one
    length) that ``converged(state)`` has not yet marked, each entry left as it stood
    when marked. The entries still iterating shrink as they converge, so a batch costs
    what its slowest entry needs, on that entry alone."""
    final = [value.copy() for value in state]
    active = xp.arange(state[0].shape[0], like=state[0])  # on the arrays' device
    k = 1
    while active.size and k < _MAX_TERMS:
        state = step(k, state)
        done = converged(state)
        if done.any():
            for whole, value in zip(final, state):
                whole[active[done]] = value[done]
            active, state = active[~done], [value[~done] for value in state]
        k += 1
    for whole, value in zip(final, state):
        whole[active] = value
    return final


# ---------------------------------------------------------------- dx/dα for x ~ Gamma(α, 1)


def _gamma_series_step(k, state):
    """One term of P(α, x) = f(x) Σ_n c_n, c_n = x^{n+1} / (α (α+1) … (α+n)), with
    T = Σ_n c_n H_n, H_n = Σ_{j≤n} 1/(α+j), for ∂/∂α Σ c_n = -T."""
    alpha, x, term, harmonic, total, weighted, increment = state
    term = term * x / (alpha + k)
    harmonic = harmonic + 1 / (alpha + k)
    increment = term * harmonic
    return [alpha, x, term, harmonic, total + term, weighted + increment, increment]


def _gamma_series_converged(state):
    _, _, term, _, total, weighted, increment = state
    return (term <= _EPSILON * total) & (increment <= _EPSILON * weighted)


def _gamma_fraction_step(k, state):
    """One convergent of the continued fraction of Q(α, x) = f(x) x K, with
    K = 1/(x+1-α- 1(1-α)/(x+3-α- 2(2-α)/(x+5-α- …))), and of ∂K/∂α alongside: the
    recurrences A_k = b_k A_{k-1} + a_k A_{k-2} (and B_k) differentiated term by term,
    rescaled by B_k each step so nothing overflows."""
    (alpha, x, numerator_before, numerator, numerator_before_d, numerator_d,
     denominator_before, denominator_before_d, denominator_d, value, derivative, *_) = state
    if k == 1:
        a_k, a_k_d = 1.0, 0.0
    else:
        a_k, a_k_d = -(k - 1) * (k - 1 - alpha), k - 1
    b_k = x + 2 * k - 1 - alpha  # db_k/dα = -1
    new_numerator = b_k * numerator + a_k * numerator_before
    new_numerator_d = (-numerator + b_k * numerator_d + a_k_d * numerator_before
                       + a_k * numerator_before_d)
    new_denominator = b_k + a_k * denominator_before  # B_{k-1} is 1 after rescaling
    new_denominator_d = (-1 + b_k * denominator_d + a_k_d * denominator_before
                         + a_k * denominator_before_d)
    scale = 1 / new_denominator
    numerator_before, numerator = numerator * scale, new_numerator * scale
    numerator_before_d, numerator_d = numerator_d * scale, new_numerator_d * scale
    denominator_before, denominator_before_d = scale, denominator_d * scale
    denominator_d = new_denominator_d * scale
    new_value = numerator
    new_derivative = numerator_d - numerator * denominator_d
    return [alpha, x, numerator_before, numerator, numerator_before_d, numerator_d,
            denominator_before, denominator_before_d, denominator_d, new_value, new_derivative,
            new_value - value, new_derivative - derivative]


def _fraction_converged(state, derivatives: int):
    """The value changed by less than an ulp, and each of its last ``derivatives``
    derivatives by less than an ulp of the larger of it and the value."""
    values, changes = state[-2 * derivatives - 2: -derivatives - 1], state[-derivatives - 1:]
    value, value_change = values[0], changes[0]
    done = xp.abs(value_change) <= _EPSILON * xp.abs(value)
    for derivative, change in zip(values[1:], changes[1:]):
        scale = xp.maximum(xp.abs(derivative), xp.abs(value))
        done &= xp.abs(change) <= _EPSILON * scale
    return done


def _gamma_sample_derivative(alpha, x):
    """dx/dα for draws x of Gamma(α, 1), float64 arrays of one shape.

    With f the density, P = f Σ c_n below x = α + 1 (the series converges fast there),
    so dx/dα = -∂P/∂α / f = T - (log x - ψ(α)) Σ c_n; above it Q = 1 - P = f x K, so
    dx/dα = ∂Q/∂α / f = x ((log x - ψ(α)) K + ∂K/∂α).
    """
    shape = alpha.shape
    alpha, x = alpha.reshape(-1), x.reshape(-1)
    result = xp.empty_like(alpha)
    lower = x < alpha + 1
    a, y = alpha[lower], x[lower]
    if a.size:
        first = y / a
        _, _, _, _, total, weighted, _ = _until_converged(
            _gamma_series_step, [a, y, first, 1 / a, first, first / a, first / a],
            _gamma_series_converged)
        result[lower] = weighted - (xp.log(y) - _digamma(a)) * total
    upper = ~lower
    a, y = alpha[upper], x[upper]
    if a.size:
        one, zero = xp.ones_like(a), xp.zeros_like(a)
        state = [a, y, one, zero, zero, zero, zero, zero, zero, zero, zero, one, one]
        state = _until_converged(_gamma_fraction_step, state,
                                 lambda s: _fraction_converged(s, 1))
        fraction, fraction_d = state[9], state[10]
        result[upper] = y * ((xp.log(y) - _digamma(a)) * fraction + fraction_d)
    return result.reshape(shape)


def _regularized_gamma_array(alpha, x):
    """P(α, x) = γ(α, x) / Γ(α), by the same series (x < α + 1) and continued fraction
    (above) as ``_gamma_sample_derivative``: P = e^{-x} x^{α-1} / Γ(α) Σ c_n, and
    1 - P = e^{-x} x^α / Γ(α) K. 0 at x = 0, 1 at x = ∞, NaN below 0."""
    shape = alpha.shape
    alpha, x = alpha.reshape(-1), x.reshape(-1)
    result = xp.full_like(alpha, xp.nan)
    result[(x == 0) & (alpha > 0)] = 0.0
    result[(x == xp.inf) & (alpha > 0)] = 1.0
    inside = (x > 0) & (x < xp.inf) & (alpha > 0)
    lower = inside & (x < alpha + 1)
    a, y = alpha[lower], x[lower]
    if a.size:
        first = y / a
        _, _, _, _, total, _, _ = _until_converged(
            _gamma_series_step, [a, y, first, 1 / a, first, first / a, first / a],
            _gamma_series_converged)
        result[lower] = xp.exp((a - 1) * xp.log(y) - y - _lgamma_array(a)) * total
    upper = inside & ~lower
    a, y = alpha[upper], x[upper]
    if a.size:
        one, zero = xp.ones_like(a), xp.zeros_like(a)
        state = [a, y, one, zero, zero, zero, zero, zero, zero, zero, zero, one, one]
        state = _until_converged(_gamma_fraction_step, state,
                                 lambda s: _fraction_converged(s, 1))
        result[upper] = 1 - xp.exp(a * xp.log(y) - y - _lgamma_array(a)) * state[9]
    return result.reshape(shape)


# ---------------------------------------------------------------- dx/da, dx/db for Beta(a, b)


def _beta_fraction_step(k, state):
    """One convergent of the continued fraction K of I_x(a, b) = x^a (1-x)^b K / (a B(a, b)),
    K = 1/(1+ d_1/(1+ d_2/(1+ …))) with d_{2m+1} = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and
    d_{2m} = m(b-m)x / ((a+2m-1)(a+2m)), and of ∂K/∂a, ∂K/∂b alongside (rescaled as in
    ``_gamma_fraction_step``)."""
    (x, a, b, numerator_before, numerator, denominator_before,
     numerator_before_a, numerator_a, numerator_before_b, numerator_b,
     denominator_before_a, denominator_a, denominator_before_b, denominator_b,
     value, value_a, value_b, *_) = state
    if k == 1:
        d, d_a, d_b = 1.0, 0.0, 0.0
    elif k % 2 == 0:  # d_{2m+1}, m = (k - 2) / 2
        m = (k - 2) // 2
        d = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d_a = d * (1 / (a + m) + 1 / (a + b + m) - 1 / (a + 2 * m) - 1 / (a + 2 * m + 1))
        d_b = d / (a + b + m)
    else:  # d_{2m}, m = (k - 1) / 2; ∂/∂b written out, as b - m may be 0
        m = (k - 1) // 2
        denominator_m = (a + 2 * m - 1) * (a + 2 * m)
        d = m * (b - m) * x / denominator_m
        d_a = -d * (1 / (a + 2 * m - 1) + 1 / (a + 2 * m))
        d_b = m * x / denominator_m
    new_numerator = numerator + d * numerator_before
    new_denominator = 1 + d * denominator_before
    new_numerator_a = numerator_a + d_a * numerator_before + d * numerator_before_a
    new_numerator_b = numerator_b + d_b * numerator_before + d * numerator_before_b
    new_denominator_a = denominator_a + d_a * denominator_before + d * denominator_before_a
    new_denominator_b = denominator_b + d_b * denominator_before + d * denominator_before_b
    scale = 1 / new_denominator
    numerator_before, numerator = numerator * scale, new_numerator * scale
    denominator_before = scale
    numerator_before_a, numerator_a = numerator_a * scale, new_numerator_a * scale
    numerator_before_b, numerator_b = numerator_b * scale, new_numerator_b * scale
    denominator_before_a, denominator_a = denominator_a * scale, new_denominator_a * scale
    denominator_before_b, denominator_b = denominator_b * scale, new_denominator_b * scale
    new_value = numerator
    new_value_a = numerator_a - numerator * denominator_a
    new_value_b = numerator_b - numerator * denominator_b
    return [x, a, b, numerator_before, numerator, denominator_before,
            numerator_before_a, numerator_a, numerator_before_b, numerator_b,
            denominator_before_a, denominator_a, denominator_before_b, denominator_b,
            new_value, new_value_a, new_value_b,
            new_value - value, new_value_a - value_a, new_value_b - value_b]


def _beta_below_mode(x, a, b) -> tuple:
    """(dx/da, dx/db) where the fraction converges fast, x < (a + 1) / (a + b + 2):
    -∂I/∂a / f = -(x (1-x) / a) (K (log x - 1/a - ψ(a) + ψ(a+b)) + ∂K/∂a), and alike
    for b with log(1-x) - ψ(b) + ψ(a+b)."""
    one, zero = xp.ones_like(x), xp.zeros_like(x)
    state = [x, a, b, one, zero, zero] + [zero.copy() for _ in range(8)]
    state += [zero, zero, zero, one, one, one]
    state = _until_converged(_beta_fraction_step, state, lambda s: _fraction_converged(s, 2))
    fraction, fraction_a, fraction_b = state[14:17]
    digamma_sum = _digamma(a + b)
    common = x * (1 - x) / a
    along_a = fraction * (xp.log(x) - 1 / a - _digamma(a) + digamma_sum) + fraction_a
    along_b = fraction * (xp.log1p(-x) - _digamma(b) + digamma_sum) + fraction_b
    return -common * along_a, -common * along_b


def _beta_sample_derivatives(x, a, b) -> tuple:
    """(dx/da, dx/db) for draws x of Beta(a, b), float64 arrays of one shape. Above
    (a + 1) / (a + b + 2) through the mirror image: 1 - x is a draw of Beta(b, a)."""
    shape = x.shape
    x, a, b = x.reshape(-1), a.reshape(-1), b.reshape(-1)
    along_a, along_b = xp.empty_like(x), xp.empty_like(x)
    direct = x < (a + 1) / (a + b + 2)
    if direct.any():
        along_a[direct], along_b[direct] = _beta_below_mode(x[direct], a[direct], b[direct])
    mirrored = ~direct
    if mirrored.any():
        mirror_b, mirror_a = _beta_below_mode(1 - x[mirrored], b[mirrored], a[mirrored])
        along_a[mirrored], along_b[mirrored] = -mirror_a, -mirror_b
    return along_a.reshape(shape), along_b.reshape(shape)


# ---------------------------------------------------------------- ops


def _float64(array):
    return array.astype(xp.float64)


def _generator(op: str, array):
    """The default generator's stream on ``array``'s device."""
    return _stream(None, op, device_index(array))


class StandardGamma(Op):
    """``_standard_gamma(α)``: a draw of Gamma(α, 1) per entry, kept at or above the dtype's
    smallest normal number (as PyTorch's ``Gamma.rsample``); its gradient is the implicit
    one, ``grad · dx/dα``."""

    replayable = False
    replayable_reason = "its values are random draws"

    @staticmethod
    def forward(ctx, concentration):
        valid = concentration > 0
        with on_device(device_index(concentration)):
            stream = _generator("_standard_gamma", concentration)
            draws = stream.standard_gamma(_float64(xp.where(valid, concentration, 1)))
        draws = xp.where(valid, draws, xp.nan).astype(concentration.dtype)
        sample = xp.maximum(draws, float_info(concentration.dtype).tiny)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad):
        concentration, sample = ctx.saved_tensors
        return (grad * StandardGammaGrad.apply(concentration, sample),)


class StandardGammaGrad(Op):
    """``_standard_gamma_grad(α, x)``: dx/dα of Gamma(α, 1) draws x (not differentiable)."""

    @staticmethod
    def forward(ctx, concentration, sample):
        concentration, sample = xp.broadcast_arrays(concentration, sample)
        derivative = _gamma_sample_derivative(_float64(concentration), _float64(sample))
        return derivative.astype(sample.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


class Dirichlet(Op):
    """A Dirichlet(α) draw per row of α (the last dim): gamma draws normalized to sum to 1.

    The gradient is PyTorch's (Jankowiak & Obermeyer, 2018): x_i's marginal is
    Beta(α_i, α_0 - α_i), whose implicit gradient d_i = dx_i/dα_i moves x_i, and the other
    entries give way in proportion to their size, dx_j/dα_i = (δ_ij - x_j) d_i / (1 - x_i).
    """

    node_name = "_DirichletBackward"
    replayable = False
    replayable_reason = "its values are random draws"

    @staticmethod
    def forward(ctx, concentration):
        alpha = _float64(concentration)
        with on_device(device_index(concentration)):
            stream = _generator("_sample_dirichlet", concentration)
            # Gamma(α) = Gamma(α + 1) · U^{1/α}, in logarithms: a concentration well below 1
            # draws numbers that underflow, and their normalized ratios must not
            log_draws = (xp.log(stream.standard_gamma(alpha + 1))
                         + xp.log(stream.random(alpha.shape)) / alpha)
        log_draws = log_draws - log_draws.max(-1, keepdims=True)
        draws = xp.exp(log_draws)
        sample = draws / draws.sum(-1, keepdims=True)
        info = float_info(concentration.dtype)
        sample = xp.clip(sample.astype(concentration.dtype), info.tiny, 1 - info.eps)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad):
        concentration, sample = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand_as(concentration)
        scale = DirichletGrad.apply(sample, concentration, total)
        return (scale * (grad - (grad * sample).sum(-1, keepdim=True)),)


class DirichletGrad(Op):
    """``_dirichlet_grad(x, α, total)``: (dx/dα of Beta(α, total - α) at x) / (1 - x), as
    PyTorch's function of that name (not differentiable)."""

    @staticmethod
    def forward(ctx, sample, concentration, total):
        sample, concentration, total = xp.broadcast_arrays(sample, concentration, total)
        x, alpha = _float64(sample), _float64(concentration)
        along_alpha, _ = _beta_sample_derivatives(x, alpha, _float64(total) - alpha)
        return (along_alpha / (1 - x)).astype(sample.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for '_dirichlet_grad' is not implemented.")


class RegularizedGamma(Op):
    """``gammainc(α, x)`` = P(α, x), the regularized lower incomplete gamma function,
    differentiable in x: dP/dx is Gamma(α, 1)'s density. (α comes in detached: see
    ``_regularized_gamma``.)"""

    @staticmethod
    def forward(ctx, concentration, value):
        concentration, value = xp.broadcast_arrays(concentration, value)
        ctx.save_for_backward(concentration, value)
        result = _regularized_gamma_array(_float64(concentration), _float64(value))
        return result.astype(xp.result_type(concentration, value))

    @staticmethod
    def backward(ctx, grad):
        concentration, value = ctx.saved_tensors
        density = ((concentration - 1) * value.log() - value - concentration.lgamma()).exp()
        return None, grad * density


class RegularizedGammaInput(Op):
    """Zeros of its input's shape, whose backward raises PyTorch's error for the derivative
    of P(α, x) in α, which PyTorch does not implement. Added to P, it raises only when
    that gradient is asked for (the engine does not visit it for x's alone)."""

    @staticmethod
    def forward(ctx, concentration):
        return xp.zeros_like(concentration)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")


class Binomial(Op):
    """``binomial(count, prob)``: successes in ``count`` trials of probability ``prob``."""

    replayable = False
    replayable_reason = "its values are random draws"

    @staticmethod
    def forward(ctx, count, probability):
        count, probability = xp.broadcast_arrays(count, probability)
        valid = (count >= 0) & (probability >= 0) & (probability <= 1)
        with on_device(device_index(count)):
            stream = _generator("binomial", count)
            draws = stream.binomial(xp.where(valid, count, 0).astype(xp.int64),
                                    _float64(xp.where(valid, probability, 0)))
        return xp.where(valid, draws, xp.nan).astype(probability.dtype)

    @staticmethod
    def backward(ctx, grad):
        return None, None


# ---------------------------------------------------------------- the functions


def _standard_gamma(concentration: Tensor) -> Tensor:
    """Gamma(concentration, 1) draws, reparameterized (``torch._standard_gamma``)."""
    return StandardGamma.apply(concentration)


def _standard_gamma_grad(concentration: Tensor, sample: Tensor) -> Tensor:
    """dx/dα of Gamma(α, 1) draws (``torch._standard_gamma_grad``)."""
    return StandardGammaGrad.apply(concentration, sample)


def _sample_dirichlet(concentration: Tensor) -> Tensor:
    """Dirichlet draws over the last dim, reparameterized."""
    return Dirichlet.apply(concentration)


def _dirichlet_grad(sample: Tensor, concentration: Tensor, total: Tensor) -> Tensor:
    """PyTorch's ``torch._dirichlet_grad``: see ``DirichletGrad``."""
    return DirichletGrad.apply(sample, concentration, total)


def _regularized_gamma(concentration: Tensor, value: Tensor) -> Tensor:
    """P(α, x), the regularized lower incomplete gamma function (``special.gammainc``)."""
    result = RegularizedGamma.apply(concentration.detach(), value)
    if concentration.requires_grad and is_grad_enabled():
        result = result + RegularizedGammaInput.apply(concentration)
    return result


def _binomial(count: Tensor, probability: Tensor) -> Tensor:
    """Binomial(count, probability) draws in ``probability``'s dtype (``torch.binomial``)."""
    return Binomial.apply(count, probability)
