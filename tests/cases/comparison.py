"""Cases for comparisons and tests: eq/lt/..., isclose, equal, isnan/isinf, isin, count_nonzero.

Results are bool (or int64 counts, or Python bools) and carry no gradient. Inputs are drawn
from a few integers so that equality actually occurs.
"""

import numpy as np

from tests.oracle import Case, ErrorCase

NAN, INF = float("nan"), float("inf")
SPECIAL = [0.0, -0.0, 1.0, -1.5, NAN, INF, -INF, 1e-300]


def _ties(*shapes, low=-2, high=3):
    return lambda rng: [rng.integers(low, high, shape).astype(np.float64) for shape in shapes]


def _fixed(*arrays):
    return lambda rng: [np.asarray(a) for a in arrays]


def _binary(name, function):
    return [
        Case(f"{name}_broadcast", function, inputs=_ties((3, 4), (4,))),
        Case(f"{name}_broadcast_both", function, inputs=_ties((2, 1, 3), (4, 1))),
        Case(f"{name}_0d", function, inputs=_ties((), (2, 3))),
        Case(f"{name}_empty", function, inputs=_ties((0, 3), (3,))),
        Case(f"{name}_special", function, inputs=_fixed(SPECIAL, SPECIAL[::-1])),
    ]


BINARY = (
    _binary("eq", lambda lib, a, b: lib.eq(a, b))
    + _binary("ne", lambda lib, a, b: lib.ne(a, b))
    + _binary("lt", lambda lib, a, b: lib.lt(a, b))
    + _binary("le", lambda lib, a, b: a <= b)
    + _binary("gt", lambda lib, a, b: a > b)
    + _binary("ge", lambda lib, a, b: lib.ge(a, b))
)

COMPARISONS = BINARY + [
    Case("eq_scalar", lambda lib, a: lib.eq(a, 1), inputs=_ties((2, 5))),
    Case("lt_float_scalar", lambda lib, a: a < 0.5, inputs=_ties((2, 5))),
    Case("gt_reflected_scalar", lambda lib, a: 1 < a, inputs=_ties((6,))),
    Case("ne_nan_scalar", lambda lib, a: a != NAN, inputs=_ties((4,))),
    Case("eq_int_tensor_float_scalar", lambda lib, a: lib.eq(a, 1.5), inputs=_fixed([1, 2, 3])),
    Case("lt_int_tensor_float_scalar", lambda lib, a: a < 2.5, inputs=_fixed([1, 2, 3])),
    Case(
        "ge_int_float_tensors",
        lambda lib, a, b: lib.ge(a, b),
        inputs=lambda rng: [rng.integers(-2, 3, (3, 4)), rng.uniform(-2, 2, (4,))],
    ),
    Case("eq_bool", lambda lib, a, b: lib.eq(a > 0, b > 0), inputs=_ties((5,), (5,))),
    Case(
        "lt_bool_int",
        lambda lib, a: lib.lt(a > 0, lib.tensor([1, 0, 2, -1, 1])),
        inputs=_ties((5,)),
    ),
    Case(
        "eq_int8_uint8",
        lambda lib, a, b: lib.eq(a, b),
        inputs=lambda rng: [
            rng.integers(0, 3, 6).astype(np.int8),
            rng.integers(0, 3, 6).astype(np.uint8),
        ],
    ),
    Case("greater_alias", lambda lib, a, b: lib.greater(a, b), inputs=_ties((3, 4), (4,))),
    Case(
        "greater_equal_alias", lambda lib, a, b: lib.greater_equal(a, b), inputs=_ties((3, 4), (4,))
    ),
    Case("less_alias", lambda lib, a, b: lib.less(a, b), inputs=_ties((3, 4), (4,))),
    Case("less_equal_alias", lambda lib, a, b: lib.less_equal(a, b), inputs=_ties((3, 4), (4,))),
    Case("not_equal_alias", lambda lib, a, b: lib.not_equal(a, b), inputs=_ties((3, 4), (4,))),
    Case(
        "comparison_methods",
        lambda lib, a, b: (
            a.eq(b),
            a.ne(b),
            a.lt(b),
            a.le(b),
            a.gt(b),
            a.ge(b),
            a.greater(b),
            a.greater_equal(b),
            a.less(b),
            a.less_equal(b),
            a.not_equal(b),
        ),
        inputs=_ties((3, 4), (3, 1)),
    ),
    Case(
        "comparison_inplace",
        lambda lib, a, b: a.detach().clone().lt_(b.detach()),
        inputs=_ties((3, 4), (4,)),
    ),
    Case("comparison_requires_grad", lambda lib, a: (a > 0).requires_grad, [(3,)]),
]

CLOSENESS = [
    Case("isclose_default", lambda lib, a, b: lib.isclose(a, a + b * 1e-6), [(3, 4), (3, 4)]),
    Case(
        "isclose_rtol_atol", lambda lib, a, b: lib.isclose(a, b, rtol=0.1, atol=0.2), [(3, 4), (4,)]
    ),
    Case(
        "isclose_zero_tolerance",
        lambda lib, a, b: lib.isclose(a, b, rtol=0, atol=0),
        inputs=_ties((6,), (6,)),
    ),
    Case(
        "isclose_special",
        lambda lib, a, b: lib.isclose(a, b),
        inputs=_fixed([NAN, INF, -INF, INF, 1.0, NAN, 0.0], [NAN, INF, INF, 1e38, 1.0, 1.0, -0.0]),
    ),
    Case(
        "isclose_equal_nan",
        lambda lib, a, b: lib.isclose(a, b, equal_nan=True),
        inputs=_fixed([NAN, INF, -INF, 1.0, NAN], [NAN, INF, INF, NAN, 1.0]),
    ),
    Case(
        "isclose_int",
        lambda lib, a, b: lib.isclose(a, b, atol=1),
        inputs=lambda rng: [rng.integers(-3, 4, 6), rng.integers(-3, 4, 6)],
    ),
    Case("isclose_bool", lambda lib, a, b: lib.isclose(a > 0, b > 0), inputs=_ties((5,), (5,))),
    Case("isclose_method_0d", lambda lib, a, b: a.isclose(b, rtol=0.5), [(), (3,)]),
    Case("allclose_true", lambda lib, a: lib.allclose(a, a + 1e-9), [(3, 4)]),
    Case("allclose_false", lambda lib, a, b: lib.allclose(a, b), [(3,), (3,)]),
    Case(
        "allclose_broadcast_method",
        lambda lib, a: a.allclose(a[:1].expand(2, 3)),
        inputs=_fixed([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]),
    ),
    Case(
        "allclose_nan",
        lambda lib, a: (lib.allclose(a, a), lib.allclose(a, a, equal_nan=True)),
        inputs=_fixed([1.0, NAN]),
    ),
    Case("equal_true", lambda lib, a: lib.equal(a, a.clone()), [(2, 3)]),
    Case("equal_false", lambda lib, a, b: lib.equal(a, b), inputs=_ties((4,), (4,))),
    Case("equal_shapes_differ", lambda lib, a: lib.equal(a, a.reshape(1, 6)), [(2, 3)]),
    Case("equal_nan", lambda lib, a: a.equal(a), inputs=_fixed([1.0, NAN])),
    Case(
        "equal_dtypes_differ",
        lambda lib, a: lib.equal(a, lib.tensor([1, 2])),
        inputs=_fixed([1.0, 2.0]),
    ),
    Case("equal_empty", lambda lib, a: lib.equal(a, a), [(0, 2)]),
]

TESTS = [
    Case("isnan", lambda lib, a: lib.isnan(a), inputs=_fixed(SPECIAL)),
    Case("isinf", lambda lib, a: a.isinf(), inputs=_fixed(SPECIAL)),
    Case("isfinite", lambda lib, a: lib.isfinite(a), inputs=_fixed(SPECIAL)),
    Case("isposinf", lambda lib, a: lib.isposinf(a), inputs=_fixed(SPECIAL)),
    Case("isneginf", lambda lib, a: a.isneginf(), inputs=_fixed(SPECIAL)),
    Case("isreal", lambda lib, a: lib.isreal(a), inputs=_fixed(SPECIAL)),
    Case("tests_0d", lambda lib, a: (lib.isnan(a), lib.isinf(a), lib.isfinite(a)), [()]),
    Case("tests_empty", lambda lib, a: (lib.isnan(a), lib.isposinf(a), lib.isreal(a)), [(0, 3)]),
    Case(
        "tests_int",
        lambda lib, a: (
            lib.isnan(a),
            lib.isinf(a),
            lib.isfinite(a),
            lib.isposinf(a),
            lib.isneginf(a),
            a.isreal(),
        ),
        inputs=_fixed([1, -2, 0]),
    ),
    Case("tests_bool", lambda lib, a: (lib.isnan(a > 0), lib.isfinite(a > 0)), inputs=_ties((4,))),
    Case("tests_float32_special", lambda lib, a: lib.isinf(a * 1e300), inputs=_fixed([1.0, 2.0])),
    Case("isin", lambda lib, a, b: lib.isin(a, b), inputs=_ties((3, 4), (3,))),
    Case("isin_invert", lambda lib, a, b: lib.isin(a, b, invert=True), inputs=_ties((6,), (2, 2))),
    Case("isin_scalar_test", lambda lib, a: lib.isin(a, 1), inputs=_ties((5,))),
    Case("isin_scalar_element", lambda lib, b: lib.isin(1, b), inputs=_ties((5,))),
    Case("isin_int_float", lambda lib, a, b: lib.isin(a, b), inputs=_fixed([1, 2, 3], [2.0, 2.5])),
    Case("isin_nan", lambda lib, a, b: lib.isin(a, b), inputs=_fixed([1.0, NAN], [NAN, 1.0])),
    Case("isin_empty", lambda lib, a, b: lib.isin(a, b), [(3,), (0,)]),
    Case(
        "count_nonzero", lambda lib, a: lib.count_nonzero(a), inputs=_ties((3, 4), low=-1, high=2)
    ),
    Case(
        "count_nonzero_dim",
        lambda lib, a: a.count_nonzero(dim=-1),
        inputs=_ties((3, 4), low=-1, high=2),
    ),
    Case(
        "count_nonzero_dims",
        lambda lib, a: lib.count_nonzero(a, dim=(0, 2)),
        inputs=_ties((2, 3, 4), low=-1, high=2),
    ),
    Case("count_nonzero_0d", lambda lib, a: lib.count_nonzero(a), [()]),
    Case("count_nonzero_empty", lambda lib, a: lib.count_nonzero(a, 0), [(0, 3)]),
    Case(
        "count_nonzero_nan_bool",
        lambda lib, a: (lib.count_nonzero(a), lib.count_nonzero(a > 0)),
        inputs=_fixed([NAN, 0.0, -0.0, 1.0]),
    ),
]

CASES = COMPARISONS + CLOSENESS + TESTS

ERRORS = [
    ErrorCase("eq_bad_broadcast", lambda lib: lib.eq(lib.ones(2, 3), lib.ones(4))),
    ErrorCase("lt_operator_bad_broadcast", lambda lib: lib.ones(2, 3) < lib.ones(2, 1, 2)),
    ErrorCase("ge_scalar_first", lambda lib: lib.ge(2, lib.ones(2))),
    ErrorCase("greater_bad_broadcast", lambda lib: lib.greater(lib.ones(3), lib.ones(2))),
    ErrorCase(
        "isclose_dtypes_differ",
        lambda lib: lib.isclose(lib.ones(2), lib.ones(2, dtype=lib.float64)),
    ),
    ErrorCase("isclose_negative_rtol", lambda lib: lib.isclose(lib.ones(2), lib.ones(2), rtol=-1)),
    ErrorCase("isclose_negative_atol", lambda lib: lib.isclose(lib.ones(2), lib.ones(2), atol=-1)),
    ErrorCase("allclose_bad_broadcast", lambda lib: lib.allclose(lib.ones(2), lib.ones(3))),
    ErrorCase("isin_two_scalars", lambda lib: lib.isin(1, 2)),
    ErrorCase(
        "count_nonzero_repeated_dims", lambda lib: lib.count_nonzero(lib.ones(2, 2), dim=(0, 0))
    ),
    ErrorCase("count_nonzero_bad_dim", lambda lib: lib.count_nonzero(lib.ones(2, 2), dim=2)),
    ErrorCase("isnan_not_tensor", lambda lib: lib.isnan(1.0)),
]
