"""Special-function kernels: erf, erfc, erfinv, lgamma, polygamma, I1 (float64; erf also float32).

NumPy has none of these and SciPy is not a runtime dependency, so they are written here
from published approximations (cited beside each). The ops in ``elementwise/`` call them
and cast the results back to their inputs' dtypes.
"""

from __future__ import annotations

import math

from ember._backend import asarray, xp

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
# erf and erfc: the rational approximations of Sun's FDLIBM s_erf.c (error < 1 ulp),
# on |x| < 0.84375, [0.84375, 1.25), [1.25, 1/0.35) and [1/0.35, 28).
_ERX = 8.45062911510467529297e-01
_ERF_PP = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
)
_ERF_QQ = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)
_ERF_PA = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_ERF_QA = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)
_ERF_RA = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_ERF_SA = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
_ERF_RB = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_ERF_SB = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)


def _polynomial(coefficients, x, out=None):
    """``c0 + c1 x + c2 x^2 + ...`` by Horner's rule (at least two coefficients)."""
    result = xp.multiply(x, coefficients[-1], out=out)
    result += coefficients[-2]
    for c in reversed(coefficients[:-2]):
        result *= x
        result += c
    return result


def _erf_small(a):
    """erf(a) for 0 <= a < 0.84375."""
    z = a * a
    return a * (1 + _polynomial(_ERF_PP, z) / _polynomial(_ERF_QQ, z))


def _erf_middle(a):
    """erf(a) - erx for 0.84375 <= a < 1.25."""
    s = a - 1
    return _polynomial(_ERF_PA, s) / _polynomial(_ERF_QA, s)


def _erfc_tail(a):
    """erfc(a) for a >= 1.25 (0 from 28 on)."""
    inverse = 1 / (a * a)
    near = a < 1 / 0.35
    ratio = xp.empty_like(a)
    ratio[near] = _polynomial(_ERF_RA, inverse[near]) / _polynomial(_ERF_SA, inverse[near])
    far = ~near
    ratio[far] = _polynomial(_ERF_RB, inverse[far]) / _polynomial(_ERF_SB, inverse[far])
    # a rounded to 32 significant bits, so that a_hi**2 is exact
    a_hi = (a.view(xp.uint64) & xp.uint64(0xFFFFFFFF00000000)).view(xp.float64)
    tail = xp.exp(-a_hi * a_hi - 0.5625) * xp.exp((a_hi - a) * (a_hi + a) + ratio) / a
    tail[a >= 28] = 0.0
    return tail


def _erf_regions(x):
    """|x| and boolean masks of the three regions, each evaluated only where it applies."""
    a = xp.abs(x)
    small = a < 0.84375
    middle = (a >= 0.84375) & (a < 1.25)
    large = a >= 1.25  # NaN falls in none of them
    return a, small, middle, large


# erf for float32 and float16: erf(x) = x P(x^2) / Q(x^2), a (6, 5) rational fitted on
# |x| <= 4 for a relative error under 2.1e-9 (Lawson's iteration against mpmath), evaluated in
# float64 so that the float32 result is within 1 ulp of the correctly rounded one. Beyond 4,
# x^2 is held at 16 and the result clipped to +-1 (erf rounds to +-1 in float32 from 3.92).
_ERF_SINGLE_P = (
    1.1283791693783727,
    0.18520313367519864,
    0.05431690189421069,
    0.0038496081997079776,
    0.00037960883487256087,
    4.684778936002638e-06,
    -1.3202232711090554e-08,
)
_ERF_SINGLE_Q = (
    1.0,
    0.49746541759696306,
    0.11395838168487342,
    0.015462083094165056,
    0.0013075691423270349,
    6.311059136498192e-05,
)


# Elements per float64 scratch buffer: small buffers reused across chunks stay in cache and
# spare the page faults that fresh full-size temporaries cost.
_ERF_CHUNK = 16384


def _erf_single(x, scale=1.0):
    """erf(scale x) of a float32 or float16 array, as float32, a chunk at a time in float64.

    ``scale x`` is rounded to x's dtype first, as PyTorch's GELU rounds ``x / sqrt 2``.
    """
    flat = x.reshape(-1)
    result = xp.empty(flat.shape, xp.float32, like=flat)
    size = min(flat.size, _ERF_CHUNK)
    if size == 0:
        return result.reshape(x.shape)
    scratch = xp.empty((3, size), like=flat)
    scaled = xp.empty(size, x.dtype, like=flat) if scale != 1.0 else None
    for start in range(0, flat.size, size):
        part = flat[start : start + size]
        count = part.size
        if scaled is not None:
            part = xp.multiply(part, scale, out=scaled[:count])
        square, numerator, denominator = scratch[:, :count]
        xp.multiply(part, part, out=square, dtype=xp.float64)  # exact
        xp.minimum(square, 16.0, out=square)  # NaN stays NaN
        _polynomial(_ERF_SINGLE_P, square, out=numerator)
        numerator *= part
        _polynomial(_ERF_SINGLE_Q, square, out=denominator)
        xp.divide(numerator, denominator, out=result[start : start + count], casting="same_kind")
    xp.clip(result, -1.0, 1.0, out=result)
    return result.reshape(x.shape)


def _erf_array(x, scale=1.0):
    """erf(scale x): float32 and float16 as float32 (within 1 ulp), others as float64 by
    FDLIBM (within 1 ulp)."""
    if x.dtype == xp.float32 or x.dtype == xp.float16:
        return _erf_single(x, scale)
    if scale != 1.0:
        x = x * scale
    x = asarray(x).astype(xp.float64)  # a copy; ``asarray`` makes a NumPy scalar 0-d
    with xp.errstate(all="ignore"):
        a, small, middle, large = _erf_regions(x)
        value = asarray(a).copy()  # NaN stays NaN
        value[small] = _erf_small(a[small])
        value[middle] = _ERX + _erf_middle(a[middle])
        value[large] = 1 - _erfc_tail(a[large])
    return xp.copysign(value, x)


def _erfc_array(x):
    x = asarray(x).astype(xp.float64)
    with xp.errstate(all="ignore"):
        a, small, middle, large = _erf_regions(x)
        negative = x < 0
        value = x.copy()  # NaN stays NaN
        erf_small = _erf_small(a[small])
        value[small] = xp.where(negative[small], 1 + erf_small, 1 - erf_small)
        erf_middle = _erf_middle(a[middle])
        value[middle] = xp.where(negative[middle], 1 + _ERX + erf_middle, (1 - _ERX) - erf_middle)
        tail = _erfc_tail(a[large])
        value[large] = xp.where(negative[large], 2 - tail, tail)
    return value


def _erfinv_array(y):
    """Giles' single-precision approximation, then two Halley steps on erf (or erfc)."""
    y = asarray(y, xp.float64)
    a = xp.abs(y)
    with xp.errstate(all="ignore"):
        w = -xp.log((1 - a) * (1 + a))
        central = w - 2.5
        p_central = _polynomial(
            (
                1.50140941,
                0.246640727,
                -0.00417768164,
                -0.00125372503,
                0.00021858087,
                -4.39150654e-06,
                -3.5233877e-06,
                3.43273939e-07,
                2.81022636e-08,
            ),
            central,
        )
        tail = xp.sqrt(w) - 3
        p_tail = _polynomial(
            (
                2.83297682,
                1.00167406,
                0.00943887047,
                -0.0076224613,
                0.00573950773,
                -0.00367342844,
                0.00134934322,
                0.000100950558,
                -0.000200214257,
            ),
            tail,
        )
        t = xp.where(w < 5, p_central, p_tail) * a
        for _ in range(2):
            # residual erf(t) - a, through erfc where a is near 1 to keep its digits
            erf_t, erfc_t = _erf_array(t), _erfc_array(t)  # t >= 0 here
            residual = xp.where(a > 0.5, (1 - a) - erfc_t, erf_t - a)
            step = residual / (_TWO_OVER_SQRT_PI * xp.exp(-t * t))
            t = t - step / (1 + t * step)
    t = xp.where(a == 1, xp.inf, xp.where(a > 1, xp.nan, t))
    return xp.where(xp.isnan(y), y, xp.copysign(t, y))


# lgamma: Lanczos' approximation (g = 7, 9 terms), relative error about 1e-15.
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _sin_pi(x):
    """``sin(pi x)`` with the argument reduced first, so large ``x`` keeps its accuracy."""
    r = x - 2 * xp.round(x / 2)  # in [-1, 1]
    return xp.sin(math.pi * r)


def _lgamma_positive(x):
    """``log Gamma(x)`` for ``x >= 0.5``."""
    shifted = x - 1
    series = xp.full_like(x, _LANCZOS[0])
    for k, c in enumerate(_LANCZOS[1:], start=1):
        series = series + c / (shifted + k)
    t = shifted + 7.5
    return 0.5 * math.log(2 * math.pi) + (shifted + 0.5) * xp.log(t) - t + xp.log(series)


def _lgamma_array(x):
    x = asarray(x, xp.float64)
    with xp.errstate(all="ignore"):
        reflect = x < 0.5
        direct = _lgamma_positive(xp.where(reflect, 1.0, x))
        # Gamma(x) Gamma(1 - x) = pi / sin(pi x)
        mirrored = xp.log(math.pi / xp.abs(_sin_pi(x))) - _lgamma_positive(
            xp.where(reflect, 1 - x, 1.0)
        )
        result = xp.where(reflect, mirrored, direct)
    pole = (x <= 0) & (x == xp.floor(x))
    result = xp.where(pole | xp.isinf(x), xp.inf, result)
    return xp.where(xp.isnan(x), x, result)


# Bernoulli numbers B2, B4, ... B20 for the asymptotic series of the polygamma functions.
_BERNOULLI = (
    1 / 6,
    -1 / 30,
    1 / 42,
    -1 / 30,
    5 / 66,
    -691 / 2730,
    7 / 6,
    -3617 / 510,
    43867 / 798,
    -174611 / 330,
)
_ASYMPTOTIC_FROM = 20.0


def _polygamma_positive(n, x):
    """``psi^(n)(x)`` by the recurrence up to ``x >= 20`` and the asymptotic series there."""
    x = x.copy()
    total = xp.zeros_like(x)
    sign = 1.0 if n % 2 else -1.0  # (-1)**(n + 1)
    factorial = math.factorial(n)
    while True:
        low = x < _ASYMPTOTIC_FROM
        if not low.any():
            break
        # psi^(n)(x) = psi^(n)(x + 1) - (-1)**n n! / x**(n + 1)
        term = xp.where(low, 1 / xp.where(low, x, 1.0) ** (n + 1), 0.0)
        total = total + (-1.0 if n == 0 else sign * factorial) * term
        x = xp.where(low, x + 1, x)
    inverse_square = 1 / (x * x)
    if n == 0:
        series = xp.zeros_like(x)
        power = inverse_square.copy()
        for k, b in enumerate(_BERNOULLI, start=1):
            series = series + b / (2 * k) * power
            power = power * inverse_square
        return total + xp.log(x) - 0.5 / x - series
    series = math.factorial(n - 1) / x**n + factorial / (2 * x ** (n + 1))
    power = x ** -(n + 2.0)
    for k, b in enumerate(_BERNOULLI, start=1):
        series = series + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * power
        power = power * inverse_square
    return total + sign * series


def _polygamma_array(n, x):
    x = asarray(x, xp.float64)
    with xp.errstate(all="ignore"):
        pole = (x <= 0) & (x == xp.floor(x))
        finite = xp.isfinite(x) & ~pole
        safe = xp.where(finite, x, 1.0)
        if n == 0:
            # psi(x) = psi(1 - x) - pi / tan(pi x) for x < 0
            negative = safe < 0
            reduced = safe - xp.round(safe)
            mirrored = _polygamma_positive(0, xp.where(negative, 1 - safe, 1.0)) - math.pi / xp.tan(
                math.pi * reduced
            )
            result = xp.where(
                negative, mirrored, _polygamma_positive(0, xp.where(negative, 1.0, safe))
            )
            edge = xp.where(x == 0, xp.where(xp.signbit(x), xp.inf, -xp.inf), xp.nan)
            result = xp.where(pole, edge, result)
            return xp.where(x == xp.inf, xp.inf, xp.where(x == -xp.inf, xp.nan, result))
        if n == 1:
            # psi'(x) + psi'(1 - x) = pi**2 / sin(pi x)**2 for x < 0
            negative = safe < 0
            mirrored = (math.pi / _sin_pi(safe)) ** 2 - _polygamma_positive(
                1, xp.where(negative, 1 - safe, 1.0)
            )
            result = xp.where(
                negative, mirrored, _polygamma_positive(1, xp.where(negative, 1.0, safe))
            )
        else:
            result = _polygamma_positive(n, safe)
        pole_value = xp.inf if n % 2 else -xp.inf
        result = xp.where(pole, pole_value, result)
        return xp.where(x == xp.inf, 0.0, xp.where(x == -xp.inf, xp.nan, result))


def _i1_array(x):
    """The modified Bessel function I1: its power series (all terms of one sign) for
    ``|x| <= 30``, the asymptotic expansion ``e^x / sqrt(2 pi x) * (1 - 3/(8x) ...)`` above."""
    x = asarray(x, xp.float64)
    a = xp.abs(x)
    with xp.errstate(all="ignore"):
        small = xp.minimum(a, 30.0)
        quarter_square = small * small / 4
        term = small / 2
        series = term.copy()
        for k in range(1, 100):
            term = term * quarter_square / (k * (k + 1))
            series = series + term
        large = xp.maximum(a, 30.0)
        expansion = xp.ones_like(large)
        coefficient = xp.ones_like(large)
        for k in range(1, 16):
            coefficient = coefficient * -(4.0 - (2 * k - 1) ** 2) / (k * 8 * large)
            expansion = expansion + coefficient
        asymptotic = xp.exp(large) / xp.sqrt(2 * math.pi * large) * expansion
        value = xp.where(a <= 30, series, asymptotic)
    return xp.where(xp.isnan(x), x, xp.copysign(value, x))
