"""``out=`` on every public function that takes it, compared with PyTorch.

The table below has one case per public ember function whose signature has ``out``
(found by introspection: a function missing from the table fails ``test_table_covers``).
A case is ``fn(lib, inputs, **out)``, run unchanged on torch and on ember; ``inputs`` draws
its NumPy arrays from a generator seeded with the case's name. Each case is run with an
``out`` of the result's shape and dtype, an empty one (resized), one of another shape (resized
with PyTorch's warning), one of a dtype the result may not be cast to, and one requiring grad
beside inputs requiring grad; both libraries must agree on the outcome.
"""

from __future__ import annotations

import inspect
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import ember
import ember.linalg
from ember.ops import _out

torch.set_num_threads(1)


def _floats(*shapes, low=0.2, high=0.9):
    return lambda rng: [rng.uniform(low, high, size=shape) for shape in shapes]


def _with(*parts):
    """Inputs made of several generators' arrays, in order."""
    return lambda rng: [array for part in parts for array in part(rng)]


def _ints(*shapes, low=1, high=9):
    return lambda rng: [rng.integers(low, high, size=shape) for shape in shapes]


def _index(shape, high):
    return lambda rng: [rng.integers(0, high, size=shape)]


def _spd(rng):
    a = rng.uniform(-1, 1, size=(3, 3))
    return [a @ a.T + 3 * np.eye(3)]


def _sorted(rng):
    return [np.sort(rng.uniform(0, 1, size=6)), rng.uniform(0, 1, size=(2, 3))]


_ONE_MATRIX = _floats((3, 4))


@dataclass
class OutCase:
    """``fn(lib, inputs, **out)`` on ``inputs(rng)``; ``random`` compares shapes and dtypes."""

    fn: Callable
    inputs: Callable = _ONE_MATRIX
    random: bool = False


def _unary(name, shift=0.0):
    return OutCase(lambda lib, x, **out: getattr(lib, name)(x[0] + shift, **out))


def _binary(name):
    return OutCase(lambda lib, x, **out: getattr(lib, name)(x[0], x[1], **out),
                   _floats((3, 4), (4,)))


def _integer_binary(name):
    return OutCase(lambda lib, x, **out: getattr(lib, name)(x[0], x[1], **out),
                   _ints((3, 4), (4,), low=1, high=6))


UNARY = [
    "abs", "absolute", "acos", "arccos", "angle", "asin", "arcsin", "atan", "arctan", "asinh",
    "arcsinh", "atanh", "arctanh", "ceil", "cos", "cosh", "digamma", "erf", "erfc", "erfinv",
    "exp", "exp2", "expm1", "fix", "floor", "frac", "i0", "isneginf", "isposinf", "lgamma",
    "log", "log10", "log1p", "log2", "logical_not", "logit", "nan_to_num", "reciprocal",
    "round", "rsqrt", "sgn", "sigmoid", "sign", "signbit", "sin", "sinc", "sinh", "sqrt", "tan",
    "tanh", "trunc",
]
BINARY = [
    "add", "arctan2", "atan2", "copysign", "div", "divide", "eq", "float_power",
    "floor_divide", "fmax", "fmin", "fmod", "ge", "greater", "greater_equal", "gt",
    "heaviside", "hypot", "le", "less", "less_equal", "logaddexp", "logaddexp2",
    "logical_and", "logical_or", "logical_xor", "lt", "maximum", "minimum", "mul", "multiply",
    "ne", "nextafter", "not_equal", "pow", "remainder", "sub", "subtract", "true_divide", "xlogy",
]
INTEGER_BINARY = [
    "bitwise_and", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "gcd", "lcm",
]

CASES = {name: _unary(name) for name in UNARY}
CASES.update({name: _binary(name) for name in BINARY})
CASES.update({name: _integer_binary(name) for name in INTEGER_BINARY})
CASES.update({
    "acosh": _unary("acosh", 1.0),
    "arccosh": _unary("arccosh", 1.0),
    "bitwise_not": OutCase(lambda lib, x, **out: lib.bitwise_not(x[0], **out), _ints((3, 4))),
    "ldexp": OutCase(lambda lib, x, **out: lib.ldexp(x[0], x[1], **out),
                     _with(_floats((3, 4)), _ints((4,)))),
    "mvlgamma": OutCase(lambda lib, x, **out: lib.mvlgamma(x[0] + 2, 2, **out)),
    "polygamma": OutCase(lambda lib, x, **out: lib.polygamma(1, x[0], **out)),
    "addcdiv": OutCase(lambda lib, x, **out: lib.addcdiv(x[0], x[1], x[2], value=0.5, **out),
                       _floats((3, 4), (3, 4), (4,))),
    "addcmul": OutCase(lambda lib, x, **out: lib.addcmul(x[0], x[1], x[2], value=0.5, **out),
                       _floats((3, 4), (3, 4), (4,))),
    "lerp": OutCase(lambda lib, x, **out: lib.lerp(x[0], x[1], 0.3, **out), _floats((3, 4), (4,))),
    "clamp": OutCase(lambda lib, x, **out: lib.clamp(x[0], 0.3, 0.6, **out)),
    "clip": OutCase(lambda lib, x, **out: lib.clip(x[0], 0.3, 0.6, **out)),
    # products
    "addbmm": OutCase(lambda lib, x, **out: lib.addbmm(x[0], x[1], x[2], **out),
                      _floats((3, 4), (2, 3, 5), (2, 5, 4))),
    "addmm": OutCase(lambda lib, x, **out: lib.addmm(x[0], x[1], x[2], **out),
                     _floats((3, 4), (3, 5), (5, 4))),
    "addmv": OutCase(lambda lib, x, **out: lib.addmv(x[0], x[1], x[2], **out),
                     _floats((3,), (3, 4), (4,))),
    "addr": OutCase(lambda lib, x, **out: lib.addr(x[0], x[1], x[2], **out),
                    _floats((3, 4), (3,), (4,))),
    "baddbmm": OutCase(lambda lib, x, **out: lib.baddbmm(x[0], x[1], x[2], **out),
                       _floats((2, 3, 4), (2, 3, 5), (2, 5, 4))),
    "bmm": OutCase(lambda lib, x, **out: lib.bmm(x[0], x[1], **out), _floats((2, 3, 5), (2, 5, 4))),
    "mm": OutCase(lambda lib, x, **out: lib.mm(x[0], x[1], **out), _floats((3, 5), (5, 4))),
    "mv": OutCase(lambda lib, x, **out: lib.mv(x[0], x[1], **out), _floats((3, 4), (4,))),
    "matmul": OutCase(lambda lib, x, **out: lib.matmul(x[0], x[1], **out),
                      _floats((2, 3, 5), (5, 4))),
    "dot": OutCase(lambda lib, x, **out: lib.dot(x[0], x[1], **out), _floats((4,), (4,))),
    "vdot": OutCase(lambda lib, x, **out: lib.vdot(x[0], x[1], **out), _floats((4,), (4,))),
    "inner": OutCase(lambda lib, x, **out: lib.inner(x[0], x[1], **out), _floats((3, 4), (2, 4))),
    "outer": OutCase(lambda lib, x, **out: lib.outer(x[0], x[1], **out), _floats((3,), (4,))),
    "ger": OutCase(lambda lib, x, **out: lib.ger(x[0], x[1], **out), _floats((3,), (4,))),
    "kron": OutCase(lambda lib, x, **out: lib.kron(x[0], x[1], **out), _floats((2, 3), (2, 2))),
    "tensordot": OutCase(lambda lib, x, **out: lib.tensordot(x[0], x[1], dims=1, **out),
                         _floats((3, 4), (4, 5))),
    "chain_matmul": OutCase(lambda lib, x, **out: lib.chain_matmul(x[0], x[1], x[2], **out),
                            _floats((3, 4), (4, 5), (5, 2))),
    "cross": OutCase(lambda lib, x, **out: lib.cross(x[0], x[1], dim=1, **out),
                     _floats((4, 3), (4, 3))),
    # linear algebra in the main namespace
    "cholesky": OutCase(lambda lib, x, **out: lib.cholesky(x[0], **out), _spd),
    "inverse": OutCase(lambda lib, x, **out: lib.inverse(x[0], **out), _spd),
    "qr": OutCase(lambda lib, x, **out: lib.qr(x[0], **out), _floats((4, 3))),
    "svd": OutCase(lambda lib, x, **out: lib.svd(x[0], **out), _spd),
    "norm": OutCase(lambda lib, x, **out: lib.norm(x[0], **out)),
    # reductions and sorting
    "max": OutCase(lambda lib, x, **out: lib.max(x[0], 1, **out)),
    "min": OutCase(lambda lib, x, **out: lib.min(x[0], 1, **out)),
    "median": OutCase(lambda lib, x, **out: lib.median(x[0], 1, **out)),
    "nanmedian": OutCase(lambda lib, x, **out: lib.nanmedian(x[0], 1, **out)),
    "mode": OutCase(lambda lib, x, **out: lib.mode(x[0], 1, **out), _ints((3, 4), high=3)),
    "kthvalue": OutCase(lambda lib, x, **out: lib.kthvalue(x[0], 2, 1, **out)),
    "topk": OutCase(lambda lib, x, **out: lib.topk(x[0], 2, **out)),
    "sort": OutCase(lambda lib, x, **out: lib.sort(x[0], **out)),
    "cummax": OutCase(lambda lib, x, **out: lib.cummax(x[0], 1, **out)),
    "cummin": OutCase(lambda lib, x, **out: lib.cummin(x[0], 1, **out)),
    "histc": OutCase(lambda lib, x, **out: lib.histc(x[0], bins=5, min=0, max=1, **out)),
    # indexing
    "gather": OutCase(lambda lib, x, **out: lib.gather(x[0], 1, x[1], **out),
                      _with(_floats((3, 4)), _index((3, 2), 4))),
    "index_add": OutCase(lambda lib, x, **out: lib.index_add(x[0], 0, x[2], x[1], **out),
                         _with(_floats((3, 4), (2, 4)), lambda rng: [np.array([2, 0])])),
    "index_copy": OutCase(lambda lib, x, **out: lib.index_copy(x[0], 0, x[2], x[1], **out),
                          _with(_floats((3, 4), (2, 4)), lambda rng: [np.array([2, 0])])),
    "index_select": OutCase(lambda lib, x, **out: lib.index_select(x[0], 0, x[1], **out),
                            _with(_floats((3, 4)), _index((5,), 3))),
    "masked_select": OutCase(lambda lib, x, **out: lib.masked_select(x[0], x[0] > 0.5, **out)),
    "nonzero": OutCase(lambda lib, x, **out: lib.nonzero(x[0] > 0.5, **out)),
    "scatter": OutCase(lambda lib, x, **out: lib.scatter(x[0], 1, x[2], x[1], **out),
                       _with(_floats((3, 4), (3, 4)), lambda rng: [np.array([[0, 2]] * 3)])),
    "scatter_reduce": OutCase(
        lambda lib, x, **out: lib.scatter_reduce(x[0], 1, x[2], x[1], "sum", **out),
        _with(_floats((3, 4), (3, 4)), _index((3, 3), 4)),
    ),
    "take_along_dim": OutCase(lambda lib, x, **out: lib.take_along_dim(x[0], x[1], 1, **out),
                              _with(_floats((3, 4)), _index((3, 2), 4))),
    "diag": OutCase(lambda lib, x, **out: lib.diag(x[0], **out)),
    "tril": OutCase(lambda lib, x, **out: lib.tril(x[0], **out)),
    "triu": OutCase(lambda lib, x, **out: lib.triu(x[0], 1, **out)),
    "searchsorted": OutCase(lambda lib, x, **out: lib.searchsorted(x[0], x[1], **out), _sorted),
    "bucketize": OutCase(lambda lib, x, **out: lib.bucketize(x[1], x[0], **out), _sorted),
    # factories: the result takes out's dtype
    "arange": OutCase(lambda lib, x, **out: lib.arange(1, 6, **out)),
    "empty": OutCase(lambda lib, x, **out: lib.empty(2, 3, **out), random=True),
    "eye": OutCase(lambda lib, x, **out: lib.eye(3, **out)),
    "full": OutCase(lambda lib, x, **out: lib.full((2, 3), 1.5, **out)),
    "linspace": OutCase(lambda lib, x, **out: lib.linspace(0, 3, 5, **out)),
    "logspace": OutCase(lambda lib, x, **out: lib.logspace(0, 1, 5, **out)),
    "ones": OutCase(lambda lib, x, **out: lib.ones(2, 3, **out)),
    "zeros": OutCase(lambda lib, x, **out: lib.zeros((2, 3), **out)),
    # random draws: ember's stream differs from PyTorch's, so only shapes and dtypes compare
    "bernoulli": OutCase(lambda lib, x, **out: lib.bernoulli(x[0], **out), random=True),
    "multinomial": OutCase(lambda lib, x, **out: lib.multinomial(x[0], 2, **out), random=True),
    "normal": OutCase(lambda lib, x, **out: lib.normal(0.0, 1.0, (2, 3), **out), random=True),
    "rand": OutCase(lambda lib, x, **out: lib.rand(2, 3, **out), random=True),
    "randn": OutCase(lambda lib, x, **out: lib.randn(2, 3, **out), random=True),
    "randint": OutCase(lambda lib, x, **out: lib.randint(0, 5, (2, 3), **out), random=True),
    "range": OutCase(lambda lib, x, **out: lib.range(1, 4, **out)),
    "randperm": OutCase(lambda lib, x, **out: lib.randperm(5, **out), random=True),
})


def _linalg(name, inputs=_spd, *rest):
    return OutCase(lambda lib, x, **out: getattr(lib.linalg, name)(*x, *rest, **out), inputs)


CASES.update({
    "linalg.cholesky": _linalg("cholesky"),
    "linalg.det": _linalg("det"),
    "linalg.eigh": _linalg("eigh"),
    "linalg.eigvalsh": _linalg("eigvalsh"),
    "linalg.inv": _linalg("inv"),
    "linalg.matmul": _linalg("matmul", _floats((3, 4), (4, 2))),
    "linalg.matrix_norm": _linalg("matrix_norm"),
    "linalg.matrix_rank": _linalg("matrix_rank"),
    "linalg.multi_dot": OutCase(lambda lib, x, **out: lib.linalg.multi_dot(x, **out),
                                _floats((3, 4), (4, 5), (5, 2))),
    "linalg.norm": _linalg("norm"),
    "linalg.pinv": _linalg("pinv", _floats((4, 3))),
    "linalg.qr": _linalg("qr", _floats((4, 3))),
    "linalg.slogdet": _linalg("slogdet"),
    "linalg.solve": _linalg("solve", _with(_spd, _floats((3, 2)))),
    "linalg.solve_triangular": OutCase(
        lambda lib, x, **out: lib.linalg.solve_triangular(x[0], x[1], upper=False, **out),
        _with(_spd, _floats((3, 2))),
    ),
    "linalg.svd": _linalg("svd"),
    "linalg.svdvals": _linalg("svdvals"),
    "linalg.vecdot": _linalg("vecdot", _floats((3, 4), (3, 4))),
    "linalg.vector_norm": _linalg("vector_norm", _floats((3, 4))),
    "linalg.cholesky_ex": _linalg("cholesky_ex"),
    "linalg.cond": _linalg("cond"),
    "linalg.householder_product": _linalg("householder_product", _floats((4, 3), (2,))),
    "linalg.inv_ex": _linalg("inv_ex"),
    "linalg.ldl_factor": _linalg("ldl_factor"),
    "linalg.ldl_factor_ex": _linalg("ldl_factor_ex"),
    "linalg.ldl_solve": OutCase(lambda lib, x, **out: lib.linalg.ldl_solve(
        *lib.linalg.ldl_factor(x[0]), x[1], **out), _with(_spd, _floats((3, 2)))),
    "linalg.lu": _linalg("lu", _floats((3, 4))),
    "linalg.lu_factor": _linalg("lu_factor"),
    "linalg.lu_factor_ex": _linalg("lu_factor_ex"),
    "linalg.lu_solve": OutCase(lambda lib, x, **out: lib.linalg.lu_solve(
        *lib.linalg.lu_factor(x[0]), x[1], **out), _with(_spd, _floats((3, 2)))),
    "linalg.solve_ex": _linalg("solve_ex", _with(_spd, _floats((3, 2)))),
    "linalg.tensorinv": _linalg("tensorinv", _floats((4, 2, 2)), 1),
    "linalg.tensorsolve": _linalg("tensorsolve", _floats((2, 3, 6), (2, 3))),
    "geqrf": OutCase(lambda lib, x, **out: lib.geqrf(x[0], **out), _floats((4, 3))),
    "orgqr": OutCase(lambda lib, x, **out: lib.orgqr(x[0], x[1], **out), _floats((4, 3), (2,))),
    "ormqr": OutCase(lambda lib, x, **out: lib.ormqr(x[0], x[1], x[2], **out),
                     _floats((4, 3), (3,), (4, 2))),
    "lu_solve": OutCase(lambda lib, x, **out: lib.lu_solve(x[1], *lib.linalg.lu_factor(x[0]),
                                                            **out), _with(_spd, _floats((3, 2)))),
    "lu_unpack": OutCase(lambda lib, x, **out: lib.lu_unpack(*lib.linalg.lu_factor(x[0]),
                                                             **out), _spd),
})


def _reduction(name, *rest, **options):
    return OutCase(lambda lib, x, **out: getattr(lib, name)(x[0], *rest, **options, **out))


def _joining(name):
    return OutCase(lambda lib, x, **out: getattr(lib, name)([x[0], x[1]], **out),
                   _floats((3, 4), (3, 4)))


# Functions whose ember signature had no out= while PyTorch's has one (_out.GAINS_OUT).
CASES.update({name: _reduction(name, 1) for name in [
    "amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax", "logcumsumexp",
    "logsumexp", "mean", "nanmean", "nansum", "prod", "softmax", "std", "sum", "var",
]})
CASES.update({name: _joining(name) for name in [
    "cat", "column_stack", "concat", "concatenate", "dstack", "hstack", "row_stack", "stack",
    "vstack",
]})
CASES.update({name: _unary(name) for name in ["deg2rad", "neg", "negative", "rad2deg", "square"]})
CASES.update({
    "all": OutCase(lambda lib, x, **out: lib.all(x[0] > 0.5, 1, **out)),
    "any": OutCase(lambda lib, x, **out: lib.any(x[0] > 0.5, 1, **out)),
    "aminmax": _reduction("aminmax", dim=1),
    "clamp_max": _reduction("clamp_max", 0.5),
    "clamp_min": _reduction("clamp_min", 0.5),
    "diff": _reduction("diff"),
    "isin": OutCase(lambda lib, x, **out: lib.isin(x[0], x[0][0], **out)),
    "matrix_power": OutCase(lambda lib, x, **out: lib.matrix_power(x[0], 2, **out), _spd),
    "nanquantile": _reduction("nanquantile", 0.5, 1),
    "narrow_copy": _reduction("narrow_copy", 0, 1, 2),
    "quantile": _reduction("quantile", 0.5, 1),
    "renorm": _reduction("renorm", 2, 0, 1.0),
    "scatter_add": OutCase(lambda lib, x, **out: lib.scatter_add(x[0], 1, x[2], x[1], **out),
                           _with(_floats((3, 4), (3, 4)), _index((3, 3), 4))),
    "slogdet": OutCase(lambda lib, x, **out: lib.slogdet(x[0], **out), _spd),
    "take": OutCase(lambda lib, x, **out: lib.take(x[0], x[1], **out),
                    _with(_floats((3, 4)), _index((5,), 12))),
    "where": OutCase(lambda lib, x, **out: lib.where(x[0] > 0.5, x[0], x[1], **out),
                     _floats((3, 4), (4,))),
    "linalg.cross": _linalg("cross", _floats((4, 3), (4, 3))),
    "linalg.lstsq": _linalg("lstsq", _with(_spd, _floats((3, 2)))),
    "linalg.matrix_power": _linalg("matrix_power", _spd, 2),
})

def _public_functions_with_out() -> set:
    found = set()
    for prefix, namespace in (("", ember), ("linalg.", ember.linalg)):
        for name in namespace.__all__ if prefix else dir(namespace):
            if name.startswith("_"):
                continue
            function = getattr(namespace, name, None)
            if callable(function) and not isinstance(function, type) and _out.has_out(function):
                found.add(prefix + name)
    return found


def test_table_covers_every_public_function_with_out():
    assert _public_functions_with_out() - set(CASES) == set()
    assert set(CASES) - _public_functions_with_out() == set()


def _tensors(lib, arrays, requires_grad=False):
    tensors = []
    for array in arrays:
        tensor = lib.tensor(np.array(array))
        if requires_grad and array.dtype.kind == "f":
            tensor.requires_grad_(True)
        tensors.append(tensor)
    return tensors


def _arrays(name):
    return [np.asarray(array) for array in CASES[name].inputs(np.random.default_rng(
        zlib.crc32(name.encode())))]


def _parts(result) -> tuple:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def _outs(lib, like, make) -> object:
    """An out for each part of ``like`` (the result without out), made by ``make``."""
    outs = tuple(make(lib, part) for part in _parts(like))
    return outs if isinstance(like, (tuple, list)) else outs[0]


def _dtype_name(tensor) -> str:
    return str(tensor.dtype).split(".")[-1]


def _numpy(tensor):
    return tensor.detach().numpy()


def _run(lib, name, make, requires_grad=False):
    """The outcome of ``name`` with the out ``make`` builds: values, or the error raised."""
    case = CASES[name]
    arrays = _arrays(name)
    like = case.fn(lib, _tensors(lib, arrays))
    out = _outs(lib, like, make)
    inputs = _tensors(lib, arrays, requires_grad)
    versions = [part._version for part in _parts(out)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            returned = case.fn(lib, inputs, out=out)
        except (RuntimeError, TypeError, ValueError, NotImplementedError) as error:
            return {"error": type(error).__name__, "message": str(error).split("\n")[0]}
    parts = _parts(out)
    # The start of each resize warning: its class and first words are what PyTorch promises.
    resized = [(w.category, str(w.message)[:48]) for w in caught if "resized" in str(w.message)]
    return {
        "same object": all(a is b for a, b in zip(_parts(returned), parts))
        and len(_parts(returned)) == len(parts),
        "bumped": [part._version > version for part, version in zip(parts, versions)],
        "shapes": [tuple(part.shape) for part in parts],
        "dtypes": [_dtype_name(part) for part in parts],
        "values": None if case.random else [_numpy(part) for part in parts],
        "warnings": resized,
    }


def _compare(name, make, requires_grad=False):
    expected = _run(torch, name, make, requires_grad)
    actual = _run(ember, name, make, requires_grad)
    expected_values, actual_values = expected.pop("values", None), actual.pop("values", None)
    # PyTorch's empty() and kron() leave out's version alone; ember counts every write.
    if "bumped" in expected:
        assert all(a or not e for a, e in zip(actual.pop("bumped"), expected.pop("bumped")))
    assert actual == expected
    if expected_values is not None:
        for got, want in zip(actual_values, expected_values):
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10, err_msg=name)
    return expected


def _same_shape(lib, part):
    return lib.zeros(tuple(part.shape), dtype=part.dtype)


def _empty(lib, part):
    return lib.zeros(0, dtype=part.dtype)


def _other_shape(lib, part):
    return lib.zeros(part.numel() + 1, dtype=part.dtype)


def _wrong_dtype(lib, part):
    """A dtype the result cannot be cast to: ints for floats, bool for ints (bool casts to all)."""
    if part.dtype.is_floating_point:
        dtype = lib.int64
    elif part.dtype == lib.bool:
        dtype = lib.float64
    else:
        dtype = lib.bool
    return lib.zeros(tuple(part.shape), dtype=dtype)


def _requiring_grad(lib, part):
    return lib.zeros(tuple(part.shape), dtype=part.dtype,
                     requires_grad=part.dtype.is_floating_point)


NAMES = sorted(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_out_of_the_result_shape_is_written_and_returned(name):
    outcome = _compare(name, _same_shape)
    assert outcome["same object"]


@pytest.mark.parametrize("name", NAMES)
def test_empty_out_is_resized(name):
    _compare(name, _empty)


@pytest.mark.parametrize("name", NAMES)
def test_out_of_another_shape_is_resized_with_a_warning(name):
    _compare(name, _other_shape)


@pytest.mark.parametrize("name", NAMES)
def test_out_of_a_dtype_the_result_cannot_take(name):
    _compare(name, _wrong_dtype)


@pytest.mark.parametrize("name", NAMES)
def test_out_requiring_grad(name):
    _compare(name, _requiring_grad, requires_grad=True)


def _view_outcome(lib, name):
    """Each out a row of a zero base twice its size: what the bases hold after the call."""
    case = CASES[name]
    arrays = _arrays(name)
    like = case.fn(lib, _tensors(lib, arrays))
    bases = [lib.zeros((2, *part.shape), dtype=part.dtype) for part in _parts(like)]
    views = [base[1] for base in bases]
    versions = [base._version for base in bases]
    out = tuple(views) if isinstance(like, (tuple, list)) else views[0]
    case.fn(lib, _tensors(lib, arrays), out=out)
    for base, view, version in zip(bases, views, versions):
        # PyTorch's empty() and kron() leave the version alone; an empty view shares nothing
        if lib is ember and view.numel() > 0:
            assert base._version > version, f"{name}: the base's version did not move"
        np.testing.assert_array_equal(_numpy(base[1]), _numpy(view), err_msg=name)
        np.testing.assert_array_equal(_numpy(base[0]), 0, err_msg=name)
    return [_numpy(base) for base in bases]


@pytest.mark.parametrize("name", NAMES)
def test_out_that_is_a_view_writes_through_to_its_base(name):
    expected, actual = _view_outcome(torch, name), _view_outcome(ember, name)
    if not CASES[name].random:
        for got, want in zip(actual, expected):
            np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10, err_msg=name)


def test_a_view_is_not_resized():
    base = ember.zeros(2, 3, dtype=ember.float64)
    with pytest.raises(RuntimeError, match=r"add\(\): out= is a view of shape \[3\].*\[4\]"):
        ember.add(ember.ones(4, dtype=ember.float64), 1, out=base[0])
    assert base.abs().sum().item() == 0


def test_a_graph_that_saved_out_sees_the_write():
    rng = np.random.default_rng(0)
    values = rng.uniform(size=3)
    messages = []
    for lib in (torch, ember):
        weight = lib.tensor(values, requires_grad=True)
        out = lib.zeros(3, dtype=lib.float64)
        loss = (out * weight).sum()  # saves out for weight's gradient
        lib.add(lib.tensor(values), 1, out=out)
        with pytest.raises(RuntimeError) as caught:
            loss.backward()
        messages.append(str(caught.value))
    assert all("modified by an inplace operation" in message for message in messages)


def test_out_requiring_grad_is_written_under_no_grad():
    rng = np.random.default_rng(1)
    values = rng.uniform(size=(2, 3))
    outcomes = []
    for lib in (torch, ember):
        out = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        with lib.no_grad():
            returned = lib.mul(lib.tensor(values, requires_grad=True), 2, out=out)
        assert returned is out
        outcomes.append((out.requires_grad, out.grad_fn is None, out.detach().numpy().copy()))
    assert outcomes[1][:2] == outcomes[0][:2]
    np.testing.assert_allclose(outcomes[1][2], outcomes[0][2])


def _outcome(call):
    try:
        result = call()
    except (RuntimeError, TypeError) as error:
        return type(error).__name__, str(error).split("\n")[0]
    return result


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, x: lib.add(x, 1, out=(lib.zeros(0, dtype=lib.float64),)),
        lambda lib, x: lib.sort(x, out=(lib.zeros(0, dtype=lib.float64),)),
    ],
    ids=["tensor op given a tuple", "tuple of the wrong length"],
)
def test_out_of_the_wrong_kind(call):
    values = np.random.default_rng(2).uniform(size=(3,))
    expected = _outcome(lambda: call(torch, torch.tensor(values)))
    actual = _outcome(lambda: call(ember, ember.tensor(values)))
    assert actual == expected


def test_out_that_is_not_a_tensor():
    # PyTorch reads out=3 as a Long tensor and fails at the cast; ember says what is wrong.
    with pytest.raises(TypeError, match=r"add\(\): argument 'out' must be Tensor, not int"):
        ember.add(ember.ones(2), 1, out=3)


def test_sort_takes_a_list_and_returns_the_same_tensors():
    values = np.random.default_rng(3).uniform(size=(5,))
    for lib in (torch, ember):
        outs = [lib.zeros(0, dtype=lib.float64), lib.zeros(0, dtype=lib.int64)]
        result = lib.sort(lib.tensor(values), out=outs)
        assert result[0] is outs[0] and result[1] is outs[1]
        assert result.values is outs[0]
        np.testing.assert_array_equal(outs[0].numpy(), np.sort(values))


def test_out_given_by_position_where_pytorch_allows_it():
    values = np.random.default_rng(4).uniform(size=(3, 4))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(values)
        norm_out, product_out = lib.zeros(0, dtype=lib.float64), lib.zeros(0, dtype=lib.float64)
        assert lib.norm(x, "fro", None, False, norm_out) is norm_out
        assert lib.tensordot(x, x.T, 1, product_out) is product_out
        results.append((norm_out.numpy(), product_out.numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_methods_and_operators_take_the_plain_op():
    assert ember.add is not _out.without_out(ember.add)
    assert ember.Tensor.add is _out.without_out(ember.add)
    assert ember.Tensor.__add__ is _out.without_out(ember.add)
    assert inspect.signature(ember.add) == inspect.signature(_out.without_out(ember.add))
    assert ember.ops.add is ember.add
