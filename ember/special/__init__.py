"""``ember.special``: PyTorch's ``torch.special`` namespace.

Most entries are ember's existing ops under their ``special`` names (``expit`` is
``sigmoid``, ``gammaln`` is ``lgamma``, ``multigammaln`` is ``mvlgamma``). The rest are
composed from differentiable ops, so their gradients come from autograd. Functions that
ember does not implement yet (Bessel functions of the second kind, orthogonal
polynomials, incomplete gamma, Hurwitz zeta) raise ``NotImplementedError`` naming
themselves rather than being absent.
"""

import math

import ember
from ember._tensor import Tensor
from ember.ops import (
    digamma,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    i0,
    log1p,
    log_softmax,
    logit,
    logsumexp,
    polygamma,
    round,
    sinc,
    softmax,
    xlogy,
)
from ember.ops.elementwise import _I1

psi = digamma
expit = ember.sigmoid
gammaln = ember.lgamma
multigammaln = ember.mvlgamma

# Above this |x|, e^|x| overflows float64, so the scaled Bessel functions switch to their
# asymptotic expansions instead of multiplying an infinity by zero.
_SCALED_BESSEL_CUTOFF = 700.0
# Below this x, Phi(x) underflows float64; log_ndtr switches to its asymptotic series.
_LOG_NDTR_CUTOFF = -20.0

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
    "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit",
    "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc",
    "softmax", "xlog1py", "xlogy",
]


def _as_float(input) -> Tensor:
    if not isinstance(input, Tensor):
        input = ember.tensor(input)
    if not input.dtype.is_floating_point:
        input = input.to(ember.get_default_dtype())
    return input


def i1(input: Tensor, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 1."""
    return _I1.apply(_as_float(input))


def _scaled_bessel(input, bessel, asymptotic) -> Tensor:
    """``bessel(x) * exp(-|x|)``, with ``asymptotic(|x|)`` where ``e^|x|`` would overflow."""
    input = _as_float(input)
    magnitude = input.abs()
    moderate = magnitude <= _SCALED_BESSEL_CUTOFF
    inside = ember.where(moderate, input, ember.zeros_like(input))
    outside = ember.where(moderate, ember.full_like(input, 2 * _SCALED_BESSEL_CUTOFF),
                          magnitude)
    direct = bessel(inside) * ember.exp(-inside.abs())
    return ember.where(moderate, direct, asymptotic(outside, input))


def _bessel_tail(order_squared_times_four: float):
    """``e^-x I_v(x)`` for large x:
    ``(1 - (mu-1)/(8x) + (mu-1)(mu-9)/(2!(8x)^2)) / sqrt(2 pi x)``."""
    mu = order_squared_times_four

    def tail(magnitude, input):
        inverse = 1.0 / (8.0 * magnitude)
        series = 1 - (mu - 1) * inverse + (mu - 1) * (mu - 9) * inverse * inverse / 2
        return series / ember.sqrt(2 * math.pi * magnitude)

    return tail


def i0e(input: Tensor, *, out=None) -> Tensor:
    """The exponentially scaled ``I0``: ``i0(x) * exp(-|x|)``, finite for every x."""
    return _scaled_bessel(input, i0, _bessel_tail(0.0))


def i1e(input: Tensor, *, out=None) -> Tensor:
    """The exponentially scaled ``I1``: ``i1(x) * exp(-|x|)``, finite for every x."""
    tail = _bessel_tail(4.0)
    return _scaled_bessel(input, i1, lambda m, x: ember.sign(x) * tail(m, x))


def ndtr(input: Tensor, *, out=None) -> Tensor:
    """The standard normal CDF ``Phi(x) = erfc(-x / sqrt 2) / 2``."""
    input = _as_float(input)
    return 0.5 * erfc(-input / math.sqrt(2.0))


def ndtri(input: Tensor, *, out=None) -> Tensor:
    """The inverse of ``ndtr``: ``sqrt 2 * erfinv(2 p - 1)``."""
    input = _as_float(input)
    return math.sqrt(2.0) * erfinv(2 * input - 1)


def log_ndtr(input: Tensor, *, out=None) -> Tensor:
    """``log Phi(x)``, accurate in the far left tail where ``Phi`` underflows."""
    input = _as_float(input)
    tail = input < _LOG_NDTR_CUTOFF
    moderate_x = ember.where(tail, ember.zeros_like(input), input)
    tail_x = ember.where(tail, input, ember.full_like(input, _LOG_NDTR_CUTOFF))
    # Right of 0, Phi is 1 - Phi(-x): log1p keeps the tiny deficit that log(Phi) rounds off.
    moderate = ember.where(moderate_x > 0, ember.log1p(-ndtr(-moderate_x)),
                           ember.log(ndtr(moderate_x)))
    # log Phi(x) = -x^2/2 - log(-x) - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - 15/x^6 ...)
    inverse_square = 1.0 / (tail_x * tail_x)
    series = 1 - inverse_square * (1 - inverse_square * (3 - 15 * inverse_square))
    asymptotic = (-tail_x * tail_x / 2 - ember.log(-tail_x) - 0.5 * math.log(2 * math.pi)
                  + ember.log(series))
    return ember.where(tail, asymptotic, moderate)


def erfcx(input: Tensor, *, out=None) -> Tensor:
    """The scaled complementary error function ``exp(x^2) erfc(x)``."""
    input = _as_float(input)
    large = input > 25.0
    small_x = ember.where(large, ember.zeros_like(input), input)
    large_x = ember.where(large, input, ember.full_like(input, 26.0))
    direct = ember.exp(small_x * small_x) * erfc(small_x)
    # erfc(x) e^{x^2} ~ (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)) / (x sqrt(pi)) for large x
    inverse_square = 1.0 / (large_x * large_x)
    series = 1 - inverse_square * (0.5 - inverse_square * (0.75 - 1.875 * inverse_square))
    return ember.where(large, series / (large_x * math.sqrt(math.pi)), direct)


def entr(input: Tensor, *, out=None) -> Tensor:
    """The elementwise entropy ``-x log x``: 0 at 0 and ``-inf`` for negative x."""
    input = _as_float(input)
    positive = input > 0
    safe = ember.where(positive, input, ember.ones_like(input))
    outside = ember.where(input == 0, ember.zeros_like(input),
                          ember.full_like(input, -math.inf))
    outside = ember.where(ember.isnan(input), input, outside)
    return ember.where(positive, -safe * ember.log(safe), outside)


def xlog1py(input, other, *, out=None) -> Tensor:
    """``input * log1p(other)``, with 0 wherever ``input`` is 0 (unless ``other`` is NaN)."""
    if not isinstance(input, Tensor):
        input = ember.tensor(input, dtype=other.dtype)
    if not isinstance(other, Tensor):
        other = ember.tensor(other, dtype=input.dtype)
    product = input * log1p(other)
    zero = (input == 0) & ~ember.isnan(other)
    return ember.where(zero, ember.zeros_like(product), product)


def _words(text: str) -> list:
    return text.split()


def _not_implemented(name: str):
    def missing(*args, **kwargs):
        raise NotImplementedError(
            f"ember.special.{name} is not implemented in ember yet (torch.special.{name} "
            "has no ember counterpart)"
        )

    missing.__name__ = missing.__qualname__ = name
    missing.__doc__ = "Not implemented in ember: calling it raises NotImplementedError."
    return missing


_MISSING = _words(
    "airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t "
    "chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w gammainc "
    "gammaincc hermite_polynomial_h hermite_polynomial_he laguerre_polynomial_l "
    "legendre_polynomial_p modified_bessel_k0 "
    "modified_bessel_k1 scaled_modified_bessel_k0 scaled_modified_bessel_k1 "
    "shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u "
    "shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w spherical_bessel_j0 "
    "zeta"
)
globals().update({name: _not_implemented(name) for name in _MISSING})


def modified_bessel_i0(input: Tensor, *, out=None) -> Tensor:
    """``I0``, the same function as ``i0``."""
    return i0(_as_float(input))


def modified_bessel_i1(input: Tensor, *, out=None) -> Tensor:
    """``I1``, the same function as ``i1``."""
    return i1(input)
