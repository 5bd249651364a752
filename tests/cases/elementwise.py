"""Cases for elementwise math: unary and binary float math, rounding, clamping, extrema,
special functions, integer division, bitwise and logical ops, and their dtype rules."""

import numpy as np

from tests.oracle import Case, ErrorCase


def ints(*arrays):
    """Fixed integer inputs (no gradient) for dtype-rule cases."""
    return lambda rng: [np.asarray(a, dtype=np.int64) for a in arrays]


def floats(*arrays):
    return lambda rng: [np.asarray(a, dtype=np.float64) for a in arrays]


def away_from_integers(shape, low, high):
    """Uniform values on (low, high) at least 0.1 from any integer (poles, jumps)."""

    def make(rng):
        values = rng.uniform(low, high, size=shape)
        values = np.floor(values) + 0.1 + 0.8 * (values - np.floor(values))
        return [values]

    return make


def grads_of(fn):
    """A case whose outputs are the gradients of ``fn``: checks ties without gradcheck."""

    def case(lib, *inputs):
        leaves = [x.detach().requires_grad_(True) for x in inputs]
        return lib.autograd.grad(fn(lib, *leaves).sum(), leaves, allow_unused=True)

    return case


UNARY = [
    # name, function, domain
    ("abs", lambda lib, a: lib.abs(a), (-2, 2)),
    ("absolute_method", lambda lib, a: a.absolute(), (-2, 2)),
    ("abs_operator", lambda lib, a: abs(a), (-2, 2)),
    ("sign", lambda lib, a: lib.sign(a), (-2, 2)),
    ("sgn", lambda lib, a: a.sgn() + a, (-2, 2)),  # torch's zero grad is a ZeroTensor
    ("exp2", lambda lib, a: lib.exp2(a), (-2, 2)),
    ("expm1", lambda lib, a: lib.expm1(a), (-2, 2)),
    ("log2", lambda lib, a: lib.log2(a), (0.2, 3)),
    ("log10", lambda lib, a: a.log10(), (0.2, 3)),
    ("log1p", lambda lib, a: lib.log1p(a), (-0.5, 2)),
    ("sqrt", lambda lib, a: lib.sqrt(a), (0.2, 3)),
    ("rsqrt", lambda lib, a: lib.rsqrt(a), (0.2, 3)),
    ("square", lambda lib, a: lib.square(a), (-2, 2)),
    ("reciprocal", lambda lib, a: lib.reciprocal(a), (0.5, 2)),
    ("sin", lambda lib, a: lib.sin(a), (-3, 3)),
    ("cos", lambda lib, a: a.cos(), (-3, 3)),
    ("tan", lambda lib, a: lib.tan(a), (-1.2, 1.2)),
    ("asin", lambda lib, a: lib.asin(a), (-0.9, 0.9)),
    ("arcsin", lambda lib, a: lib.arcsin(a), (-0.9, 0.9)),
    ("acos", lambda lib, a: lib.acos(a), (-0.9, 0.9)),
    ("arccos", lambda lib, a: a.arccos(), (-0.9, 0.9)),
    ("atan", lambda lib, a: lib.atan(a), (-3, 3)),
    ("arctan", lambda lib, a: lib.arctan(a), (-3, 3)),
    ("sinh", lambda lib, a: lib.sinh(a), (-2, 2)),
    ("cosh", lambda lib, a: lib.cosh(a), (-2, 2)),
    ("asinh", lambda lib, a: lib.asinh(a), (-3, 3)),
    ("arcsinh", lambda lib, a: lib.arcsinh(a), (-3, 3)),
    ("acosh", lambda lib, a: lib.acosh(a), (1.2, 3)),
    ("arccosh", lambda lib, a: lib.arccosh(a), (1.2, 3)),
    ("atanh", lambda lib, a: lib.atanh(a), (-0.9, 0.9)),
    ("arctanh", lambda lib, a: a.arctanh(), (-0.9, 0.9)),
    ("erf", lambda lib, a: lib.erf(a), (-3, 3)),
    ("erfc", lambda lib, a: lib.erfc(a), (-3, 5)),
    ("erfinv", lambda lib, a: lib.erfinv(a), (-0.95, 0.95)),
    ("sinc", lambda lib, a: lib.sinc(a), (-3, 3)),
    ("deg2rad", lambda lib, a: lib.deg2rad(a), (-200, 200)),
    ("rad2deg", lambda lib, a: lib.rad2deg(a), (-3, 3)),
    ("logit", lambda lib, a: lib.logit(a), (0.1, 0.9)),
    ("lgamma", lambda lib, a: lib.lgamma(a), (0.1, 6)),
    ("digamma", lambda lib, a: lib.digamma(a), (0.2, 6)),
    ("polygamma1", lambda lib, a: lib.polygamma(1, a), (0.2, 6)),
    ("polygamma3", lambda lib, a: lib.polygamma(3, a), (0.5, 6)),
    ("i0", lambda lib, a: lib.i0(a), (-4, 4)),
    ("sigmoid_wide", lambda lib, a: lib.sigmoid(a), (-30, 30)),
    ("relu_method", lambda lib, a: a.relu(), (-2, 2)),
    ("floor", lambda lib, a: lib.floor(a), (-3, 3)),
    ("ceil", lambda lib, a: lib.ceil(a), (-3, 3)),
    ("round", lambda lib, a: lib.round(a), (-3, 3)),
    ("trunc", lambda lib, a: lib.trunc(a), (-3, 3)),
    ("fix", lambda lib, a: lib.fix(a), (-3, 3)),
    ("frac", lambda lib, a: lib.frac(a), (-3, 3)),
    ("neg_method", lambda lib, a: a.neg(), (-2, 2)),
    ("positive", lambda lib, a: +a * 1.0, (-2, 2)),
]

CASES = [Case(f"ew_{name}", fn, [(2, 3)], domain=domain) for name, fn, domain in UNARY]

CASES += [
    # ----------------------------------------------------------- shapes and scalars
    Case("ew_exp2_0d", lambda lib, a: lib.exp2(a), [()]),
    # gradcheck cannot perturb an empty input: forward only
    Case("ew_erf_empty", lambda lib, a: lib.erf(a), [(0, 3)], grad=False),
    Case("ew_add_empty_broadcast", lambda lib, a, b: a + b, [(0, 3), (3,)], grad=False),
    Case("ew_scalar_keeps_float32", lambda lib, a: (a * 2.5 + 1) / 3 - 0.5, [(4,)]),
    Case("ew_rsub_scalar", lambda lib, a: 2.0 - a, [(3,)]),
    Case(
        "ew_0d_tensor_no_upcast",
        lambda lib, a, b: (a.float() * b, a.float() + b.long()),
        [(3,), ()],
        grad=False,
    ),
    Case("ew_round_decimals", lambda lib, a: lib.round(a, decimals=2), [(2, 3)], domain=(-5, 5)),
    Case(
        "ew_round_negative_decimals",
        lambda lib, a: a.round(decimals=-1),
        [(2, 3)],
        domain=(-500, 500),
    ),
    Case(
        "ew_round_half_even",
        lambda lib, a: lib.round(a),
        inputs=floats([0.5, 1.5, 2.5, -0.5, -2.5, 3.49]),
        grad=False,
    ),
    Case(
        "ew_erf_tails",
        lambda lib, a: (lib.erf(a), lib.erfc(a)),
        inputs=floats([-30.0, -6.0, -1.0, 0.0, 0.3, 0.9, 1.3, 3.0, 6.0, 27.0, 30.0]),
        grad=False,
    ),
    Case(
        "ew_erfinv_edges",
        lambda lib, a: lib.erfinv(a),
        inputs=floats([-1.0, 1.0, 1.5, 0.0, 0.999999, -0.9999999999, 1e-300]),
        grad=False,
    ),
    Case(
        "ew_lgamma_negative", lambda lib, a: lib.lgamma(a), inputs=away_from_integers((2, 3), -6, 0)
    ),
    Case(
        "ew_lgamma_poles",
        lambda lib, a: lib.lgamma(a),
        inputs=floats([0.0, -1.0, -2.0, 1.0, 2.0, 1e-8, 200.5]),
        grad=False,
    ),
    Case(
        "ew_digamma_negative",
        lambda lib, a: lib.digamma(a),
        inputs=away_from_integers((2, 3), -6, 0),
    ),
    Case(
        "ew_digamma_poles",
        lambda lib, a: lib.digamma(a),
        inputs=floats([0.0, -1.0, -3.0, 1.0, 40.0]),
        grad=False,
    ),
    Case(
        "ew_polygamma2_negative",
        lambda lib, a: lib.polygamma(2, a),
        inputs=away_from_integers((5,), -3, 0),
    ),
    Case("ew_i0_large", lambda lib, a: lib.i0(a), [(5,)], domain=(-40, 40), rtol=1e-12),
    # PyTorch's sinc gradient is a constant 0 at 0, so its second derivative there is wrong
    Case(
        "ew_sinc_zero", lambda lib, a: lib.sinc(a), inputs=floats([0.0, 1.0, -0.5]), gradgrad=False
    ),
    Case("ew_logit_eps", lambda lib, a: lib.logit(a, eps=0.2), [(2, 3)], domain=(0.0, 1.0)),
    Case(
        "ew_nan_to_num",
        lambda lib, a: lib.nan_to_num(a),
        inputs=floats([np.nan, np.inf, -np.inf, 1.5, -2.0]),
    ),
    Case(
        "ew_nan_to_num_values",
        lambda lib, a: a.nan_to_num(nan=1.0, posinf=5.0, neginf=-5.0),
        inputs=floats([np.nan, np.inf, -np.inf, 1.5, -2.0]),
    ),
    Case(
        "ew_sign_special",
        lambda lib, a: (lib.sign(a), lib.signbit(a)),
        inputs=floats([np.nan, -0.0, 0.0, -3.0, np.inf]),
        grad=False,
    ),
    Case(
        "ew_abs_grad_at_zero",
        lambda lib, a: lib.abs(a),
        inputs=floats([0.0, -1.5, 2.0]),
        gradgrad=False,
    ),
    # ----------------------------------------------------------- dtype rules with integers
    Case(
        "ew_int_float_math",
        lambda lib, a: (
            lib.exp(a),
            lib.sqrt(a),
            lib.sin(a),
            lib.erf(a),
            lib.reciprocal(a),
            lib.log1p(a),
            lib.lgamma(a),
        ),
        inputs=ints([1, 2, 3, 7]),
    ),
    Case(
        "ew_int_keeps_dtype",
        lambda lib, a: (
            lib.abs(a),
            lib.sign(a),
            lib.floor(a),
            lib.ceil(a),
            lib.round(a),
            lib.trunc(a),
            lib.square(a),
            -a,
        ),
        inputs=ints([-3, 0, 2, 5]),
    ),
    Case(
        "ew_bool_ops",
        lambda lib, a: (lib.sign(a > 0), lib.square(a > 0), ~(a > 0), lib.clamp(a > 0, 0, 1)),
        inputs=ints([-3, 0, 2, 5]),
    ),
    Case(
        "ew_int_true_division",
        lambda lib, a, b: (a / b, lib.true_divide(a, 2)),
        inputs=ints([7, -7, 3], [2, 2, -4]),
    ),
    Case(
        "ew_int_plus_float_scalar",
        lambda lib, a: (a + 2.5, a * 2, a - True * 0, 1.5 * a),
        inputs=ints([1, 2, 3]),
    ),
    Case("ew_int_tensor_times_float_tensor", lambda lib, a, b: a * b, [(3,), (3,)]),
    Case(
        "ew_int_clamp_float_bound",
        lambda lib, a: (a.clamp(0.5), a.clamp(0, 2)),
        inputs=ints([-3, 0, 2, 5]),
    ),
    Case(
        "ew_int_maximum",
        lambda lib, a, b: (lib.maximum(a, b), lib.fmin(a, b)),
        inputs=ints([1, 5, -2], [3, 2, -2]),
    ),
    Case(
        "ew_int_float_power",
        lambda lib, a: (lib.float_power(a, 2), lib.float_power(2, a)),
        inputs=ints([1, 2, 3]),
    ),
    Case(
        "ew_int_atan2_copysign_xlogy",
        lambda lib, a, b: (lib.atan2(a, b), lib.copysign(a, b), lib.xlogy(a, b)),
        inputs=ints([1, -2, 0], [3, -1, 2]),
    ),
    Case("ew_int_ldexp", lambda lib, a, b: lib.ldexp(a, b), inputs=ints([1, -3, 5], [2, -1, 0])),
    Case(
        "ew_float_ldexp",
        lambda lib, a, b: lib.ldexp(a, b),
        # PyTorch's ldexp gradient is 0 for negative integer exponents (2 ** -k in integers)
        inputs=lambda rng: [rng.uniform(-2, 2, size=(2, 3)), np.array([1, 0, 3])],
    ),
    # ----------------------------------------------------------- integer division
    Case(
        "ew_remainder_int",
        lambda lib, a, b: (a % b, lib.remainder(a, -3), 5 % b),
        inputs=ints([7, -7, 7, -7, 0], [3, 3, -3, -3, 2]),
    ),
    Case(
        "ew_fmod_int",
        lambda lib, a, b: (lib.fmod(a, b), a.fmod(2)),
        inputs=ints([7, -7, 7, -7, 0], [3, 3, -3, -3, 2]),
    ),
    Case(
        "ew_floor_divide_int",
        lambda lib, a, b: (a // b, lib.floor_divide(a, 2), 9 // b),
        inputs=ints([7, -7, 7, -7, 0], [3, 3, -3, -3, 2]),
    ),
    Case(
        "ew_div_rounding_int",
        lambda lib, a, b: (
            lib.div(a, b, rounding_mode="trunc"),
            lib.div(a, b, rounding_mode="floor"),
        ),
        inputs=ints([7, -7, 7, -7, 0], [3, 3, -3, -3, 2]),
    ),
    Case(
        "ew_div_rounding_float",
        lambda lib, a, b: (lib.div(a, b, rounding_mode="trunc"), a.div(b, rounding_mode="floor")),
        [(2, 3), (3,)],
        domain=(-3, 3),
    ),
    Case(
        "ew_floor_divide_float",
        lambda lib, a, b: (a // b, a // 0.7, lib.floor_divide(a, -0.3)),
        [(2, 3), (3,)],
        domain=(-3, 3),
        grad=False,
    ),
    Case("ew_remainder_float", lambda lib, a, b: a % b, [(2, 3), (3,)], domain=(0.4, 3)),
    Case(
        "ew_remainder_float_signs",
        lambda lib, a, b: (a % b, lib.fmod(a, b)),
        inputs=lambda rng: [rng.uniform(-3, 3, (2, 4)), np.array([0.7, -0.7, 1.3, -1.9])],
    ),
    Case(
        "ew_remainder_scalar",
        lambda lib, a: (a % 0.7, lib.remainder(a, -1.1)),
        [(2, 3)],
        domain=(-3, 3),
    ),
    Case("ew_rmod_scalar", lambda lib, a: 5.0 % a, [(4,)], domain=(0.5, 2), grad=False),
    Case("ew_fmod_float", lambda lib, a, b: lib.fmod(a, b), [(3, 1), (1, 4)], domain=(0.4, 3)),
    # ----------------------------------------------------------- binary float math
    Case("ew_atan2", lambda lib, a, b: lib.atan2(a, b), [(2, 3), (3,)]),
    Case("ew_arctan2_method", lambda lib, a, b: a.arctan2(b), [(3,), (2, 1)]),
    Case("ew_hypot", lambda lib, a, b: lib.hypot(a, b), [(2, 3), (2, 1)]),
    Case("ew_xlogy", lambda lib, a, b: lib.xlogy(a, b), [(2, 3), (3,)], domain=(0.2, 2)),
    Case(
        "ew_xlogy_zeros",
        lambda lib, a, b: lib.xlogy(a, b),
        inputs=floats([0.0, 0.0, 2.0, 1.5], [0.0, 2.0, 3.0, np.nan]),
        grad=False,
    ),
    Case(
        "ew_xlogy_scalars",
        lambda lib, a: (lib.xlogy(2.0, a), lib.xlogy(a, 3)),
        [(3,)],
        domain=(0.2, 2),
    ),
    Case("ew_logaddexp", lambda lib, a, b: lib.logaddexp(a, b), [(2, 3), (3,)], domain=(-5, 5)),
    Case("ew_logaddexp2", lambda lib, a, b: lib.logaddexp2(a, b), [(2, 3), (2, 1)], domain=(-5, 5)),
    Case(
        "ew_logaddexp_large",
        lambda lib, a, b: lib.logaddexp(a, b),
        inputs=floats([1000.0, -1000.0, -np.inf], [999.0, -1001.0, 0.0]),
        grad=False,
    ),
    Case("ew_copysign", lambda lib, a, b: lib.copysign(a, b), [(2, 3), (3,)]),
    Case("ew_copysign_scalar", lambda lib, a: lib.copysign(a, -1.0), [(4,)]),
    Case(
        "ew_float_power", lambda lib, a, b: lib.float_power(a, b), [(2, 3), (3,)], domain=(0.5, 2)
    ),
    Case(
        "ew_float_power_scalar",
        lambda lib, a: (lib.float_power(a, 3), lib.float_power(2, a)),
        [(4,)],
    ),
    Case(
        "ew_heaviside",
        lambda lib, a: lib.heaviside(a, lib.tensor([0.5, 2.0, 3.0], dtype=a.dtype)),
        inputs=floats([[0.0, -1.0, 2.0], [0.0, 0.0, -0.0]]),
        grad=False,
    ),
    Case(
        "ew_heaviside_int",
        lambda lib, a: lib.heaviside(a, lib.tensor(7)),
        inputs=ints([0, -1, 2]),
        grad=False,
    ),
    # ----------------------------------------------------------- clamping and extrema
    Case("ew_clamp_scalars", lambda lib, a: lib.clamp(a, -0.5, 0.7), [(2, 3)]),
    Case("ew_clamp_min_only", lambda lib, a: (a.clamp(min=0.2), lib.clamp_min(a, -0.3)), [(2, 3)]),
    Case("ew_clamp_max_only", lambda lib, a: (a.clamp(max=0.2), lib.clamp_max(a, 0.3)), [(2, 3)]),
    Case("ew_clip", lambda lib, a: lib.clip(a, -1, 1), [(5,)]),
    Case(
        "ew_clamp_tensors",
        lambda lib, a, lo, hi: lib.clamp(a, lo, hi),
        [(2, 3), (3,), (2, 1)],
        domain=(-2, 2),
    ),
    Case(
        "ew_clamp_tensor_min",
        lambda lib, a, lo: (lib.clamp(a, min=lo), lib.clamp_min(a, lo)),
        [(2, 3), (3,)],
    ),
    Case("ew_clamp_tensor_max", lambda lib, a, hi: lib.clamp_max(a, hi), [(2, 3), (2, 1)]),
    Case(
        "ew_clamp_min_above_max",
        lambda lib, a, lo, hi: lib.clamp(a, lo + 2.5, hi - 2.5),
        [(2, 3), (3,), (3,)],
    ),
    Case("ew_clamp_empty", lambda lib, a: lib.clamp(a, 0, 1), [(0,)], grad=False),
    Case(
        "ew_clamp_nan",
        lambda lib, a: lib.clamp(a, 0.0, 0.5),
        inputs=floats([np.nan, 1.0, -1.0]),
        grad=False,
    ),
    Case(
        "ew_clamp_tie_grads",
        grads_of(lambda lib, a: lib.clamp(a, 0.0, 1.0)),
        inputs=floats([0.0, 1.0, 0.5, 2.0, -1.0]),
        grad=False,
    ),
    Case(
        "ew_clamp_tensor_tie_grads",
        grads_of(lambda lib, a, lo, hi: lib.clamp(a, lo, hi)),
        inputs=floats(
            [0.0, 1.0, 0.5, 2.0, 0.5], [0.0, 0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0, 0.0]
        ),
        grad=False,
    ),
    Case("ew_maximum", lambda lib, a, b: lib.maximum(a, b), [(2, 3), (3,)]),
    Case("ew_minimum", lambda lib, a, b: lib.minimum(a, b), [(3, 1), (1, 4)]),
    Case("ew_fmax", lambda lib, a, b: lib.fmax(a, b), [(2, 3), (3,)]),
    Case("ew_fmin", lambda lib, a, b: lib.fmin(a, b), [(2, 3), (2, 1)]),
    Case(
        "ew_extrema_nan",
        lambda lib, a, b: (lib.maximum(a, b), lib.minimum(a, b), lib.fmax(a, b), lib.fmin(a, b)),
        inputs=floats([np.nan, 1.0, np.nan, 2.0], [1.0, np.nan, np.nan, 3.0]),
        grad=False,
    ),
    Case(
        "ew_maximum_tie_grads",
        grads_of(lambda lib, a, b: lib.maximum(a, b) * 2 + lib.minimum(a, b)),
        inputs=floats([1.0, 2.0, 3.0], [1.0, 3.0, 1.0]),
        grad=False,
    ),
    Case(
        "ew_fmax_tie_grads",
        grads_of(lambda lib, a, b: lib.fmax(a, b) * 2 + lib.fmin(a, b)),
        inputs=floats([1.0, 2.0, 3.0, np.nan], [1.0, 3.0, 1.0, 2.0]),
        grad=False,
    ),
    Case("ew_maximum_0d", lambda lib, a, b: lib.maximum(a, b), [(), (4,)]),
    # ----------------------------------------------------------- lerp, addcmul, addcdiv, where
    Case("ew_lerp_scalar", lambda lib, a, b: (lib.lerp(a, b, 0.3), a.lerp(b, 0.8)), [(2, 3), (3,)]),
    Case(
        "ew_lerp_tensor",
        lambda lib, a, b, w: lib.lerp(a, b, w),
        [(2, 3), (3,), (2, 1)],
        domain=(-1, 1.5),
    ),
    Case(
        "ew_addcmul", lambda lib, a, b, c: lib.addcmul(a, b, c, value=0.5), [(2, 3), (3,), (2, 1)]
    ),
    Case(
        "ew_addcmul_int",
        lambda lib, a: (lib.addcmul(a, a, a, value=2), lib.addcmul(a, a, a, value=0.5)),
        inputs=ints([3, -2, 0]),
    ),
    Case(
        "ew_addcdiv",
        lambda lib, a, b, c: a.addcdiv(b, c, value=-2),
        [(2, 3), (3,), (2, 1)],
        domain=(0.5, 2),
    ),
    Case("ew_where_broadcast", lambda lib, c, a, b: lib.where(c > 0, a, b), [(2, 1), (3,), (2, 3)]),
    Case(
        "ew_where_scalars",
        lambda lib, c: (lib.where(c > 0, c, 0.0), lib.where(c > 0, 1.0, 0)),
        [(4,)],
    ),
    Case(
        "ew_mvlgamma",
        lambda lib, a: (lib.mvlgamma(a, 1), lib.mvlgamma(a, 3)),
        [(2, 3)],
        domain=(1.2, 4),
    ),
    Case("ew_mvlgamma_int", lambda lib, a: lib.mvlgamma(a, 2), inputs=ints([2, 3])),
    Case("ew_angle", lambda lib, a: lib.angle(a) + a, inputs=floats([1.5, -2.0, 0.7, -0.5])),
    Case(
        "ew_angle_special",
        lambda lib, a: a.angle(),
        inputs=floats([0.0, -0.0, np.nan, -1.0]),
        grad=False,
    ),
    Case("ew_angle_int", lambda lib, a: lib.angle(a), inputs=ints([3, -1, 0])),
    Case(
        "ew_nextafter",
        lambda lib, a, b: (lib.nextafter(a, b) - a) * 1e15,
        [(2, 3), (3,)],
        grad=False,
        float32=False,
    ),
    Case(
        "ew_gcd_lcm",
        lambda lib, a, b: (lib.gcd(a, b), lib.lcm(a, b), a.gcd(b), a.lcm(b)),
        inputs=ints([12, -18, 0, 7], [8, 12, 5, 0]),
    ),
    # ----------------------------------------------------------- bitwise and logical
    Case(
        "ew_bitwise",
        lambda lib, a, b: (
            a & b,
            a | b,
            a ^ b,
            ~a,
            lib.bitwise_and(a, 6),
            lib.bitwise_or(a, b),
            lib.bitwise_xor(a, b),
            lib.bitwise_not(a),
        ),
        inputs=ints([12, -7, 0, 5], [10, 3, -1, 5]),
    ),
    Case(
        "ew_bitwise_bool",
        lambda lib, a, b: (
            (a > 0) & (b > 0),
            (a > 0) | (b > 0),
            (a > 0) ^ (b > 0),
            ~(a > 0),
            (a > 0) ^ 1,
        ),
        inputs=ints([12, -7, 0, 5], [10, 3, -1, 5]),
    ),
    Case(
        "ew_shifts",
        lambda lib, a, b: (
            a << b,
            a >> b,
            a << 2,
            a >> 1,
            lib.bitwise_left_shift(a, 3),
            lib.bitwise_right_shift(a, b),
        ),
        inputs=ints([12, -7, 1, -5, 3], [1, 2, 70, -1, 64]),
    ),
    Case("ew_shifts_int32", lambda lib, a: (a.int() << 40, a.int() >> 40), inputs=ints([12, -7])),
    Case(
        "ew_logical",
        lambda lib, a, b: (
            lib.logical_and(a, b),
            lib.logical_or(a, b),
            lib.logical_xor(a, b),
            lib.logical_not(a),
            a.logical_not(),
        ),
        inputs=lambda rng: [np.array([0.0, 1.5, -2.0, 0.0]), np.array([[0, 1, 0, 3]])],
        grad=False,
    ),
]


ERRORS = [
    ErrorCase("ew_bad_broadcast_mul", lambda lib: lib.ones(2, 3) * lib.ones(2)),
    ErrorCase("ew_bad_broadcast_atan2", lambda lib: lib.atan2(lib.ones(2, 3), lib.ones(4, 1))),
    ErrorCase("ew_bad_broadcast_maximum", lambda lib: lib.maximum(lib.ones(3), lib.ones(4))),
    ErrorCase("ew_bad_broadcast_remainder", lambda lib: lib.ones(3) % lib.ones(2)),
    ErrorCase(
        "ew_bad_broadcast_where", lambda lib: lib.where(lib.ones(2, 3) > 0, lib.ones(4), 0.0)
    ),
    ErrorCase("ew_bad_broadcast_lerp", lambda lib: lib.lerp(lib.ones(3), lib.ones(3), lib.ones(2))),
    ErrorCase("ew_bad_broadcast_clamp", lambda lib: lib.clamp(lib.ones(3), lib.zeros(2))),
    ErrorCase(
        "ew_bad_broadcast_addcmul", lambda lib: lib.addcmul(lib.ones(2), lib.ones(3), lib.ones(1))
    ),
    ErrorCase("ew_bad_broadcast_logical", lambda lib: lib.logical_and(lib.ones(2), lib.ones(3))),
    ErrorCase("ew_bad_broadcast_bitwise", lambda lib: lib.tensor([1, 2]) & lib.tensor([1, 2, 3])),
    ErrorCase("ew_sub_bools", lambda lib: lib.tensor([True]) - lib.tensor([False])),
    ErrorCase("ew_sub_bool_float", lambda lib: lib.tensor([True]) - lib.ones(1)),
    ErrorCase("ew_rsub_bool_scalar", lambda lib: True - lib.ones(1)),
    ErrorCase("ew_neg_bool", lambda lib: -lib.tensor([True])),
    ErrorCase("ew_positive_bool", lambda lib: +lib.tensor([True])),
    ErrorCase("ew_abs_bool", lambda lib: lib.abs(lib.tensor([True]))),
    ErrorCase("ew_floor_bool", lambda lib: lib.floor(lib.tensor([True]))),
    ErrorCase("ew_frac_int", lambda lib: lib.frac(lib.tensor([1]))),
    ErrorCase("ew_round_decimals_int", lambda lib: lib.round(lib.tensor([1]), decimals=1)),
    ErrorCase("ew_hypot_int", lambda lib: lib.hypot(lib.tensor([1]), lib.tensor([2]))),
    ErrorCase("ew_logaddexp_int", lambda lib: lib.logaddexp(lib.tensor([1]), lib.tensor([2]))),
    ErrorCase("ew_bitwise_and_float", lambda lib: lib.ones(2) & lib.ones(2)),
    ErrorCase("ew_bitwise_not_float", lambda lib: lib.bitwise_not(lib.ones(2))),
    ErrorCase("ew_shift_float", lambda lib: lib.ones(2) << 1),
    ErrorCase("ew_remainder_int_zero", lambda lib: lib.tensor([3, 4]) % 0),
    ErrorCase("ew_floor_divide_int_zero", lambda lib: lib.tensor([3, 4]) // lib.tensor([1, 0])),
    ErrorCase(
        "ew_div_trunc_int_zero", lambda lib: lib.div(lib.tensor([3]), 0, rounding_mode="trunc")
    ),
    ErrorCase(
        "ew_div_bad_rounding_mode", lambda lib: lib.div(lib.ones(2), 2, rounding_mode="nearest")
    ),
    ErrorCase("ew_remainder_bool", lambda lib: lib.tensor([True]) % lib.tensor([True])),
    ErrorCase("ew_clamp_mixed_bounds", lambda lib: lib.clamp(lib.ones(2), -0.5, lib.ones(2))),
    ErrorCase("ew_clamp_no_bounds", lambda lib: lib.clamp(lib.ones(2))),
    ErrorCase("ew_lerp_end_dtype", lambda lib: lib.lerp(lib.ones(2), lib.ones(2).double(), 0.5)),
    ErrorCase(
        "ew_lerp_weight_dtype", lambda lib: lib.lerp(lib.ones(2), lib.ones(2), lib.ones(2).double())
    ),
    ErrorCase("ew_lerp_int", lambda lib: lib.lerp(lib.tensor([1]), lib.tensor([2]), 0.5)),
    ErrorCase("ew_where_float_condition", lambda lib: lib.where(lib.ones(2), 1.0, 0.0)),
    ErrorCase(
        "ew_addcdiv_ints",
        lambda lib: lib.addcdiv(lib.ones(2), lib.tensor([1, 2]), lib.tensor([1, 2])),
    ),
    ErrorCase("ew_heaviside_dtypes", lambda lib: lib.heaviside(lib.tensor([1]), lib.tensor(0.5))),
    ErrorCase("ew_pow_int_negative", lambda lib: lib.tensor([2, 3]) ** -1),
    ErrorCase("ew_polygamma_negative_n", lambda lib: lib.polygamma(-1, lib.ones(2))),
    ErrorCase(
        "ew_add_float_alpha_ints", lambda lib: lib.add(lib.tensor([1]), lib.tensor([2]), alpha=0.5)
    ),
    ErrorCase("ew_gcd_float", lambda lib: lib.gcd(lib.ones(2), lib.ones(2))),
    ErrorCase("ew_nextafter_int", lambda lib: lib.nextafter(lib.tensor([1]), lib.tensor([2]))),
    ErrorCase(
        "ew_floor_divide_backward",
        lambda lib: (lib.ones(2, requires_grad=True) // 2).sum().backward(),
    ),
    ErrorCase(
        "ew_heaviside_backward",
        lambda lib: lib.heaviside(lib.ones(2, requires_grad=True), lib.ones(2)).sum().backward(),
    ),
]
