"""A Python int meeting an integer tensor, beside PyTorch.

Arithmetic, bitwise and comparison operands wrap to the tensor's dtype (as a C cast does);
values that fill or bound a tensor (``fill_``, ``masked_fill``, ``where``, ``clamp``,
``alpha``, an integer ``pow`` exponent) must fit it, or PyTorch's RuntimeError; an int
that neither int64 nor uint64 holds is PyTorch's OverflowError everywhere. Each row runs
unchanged on both libraries, for every integer dtype and a range of values; the results
(values and dtype) or the errors (class and text) must be the same.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

DTYPES = ["uint8", "int8", "int16", "int32", "int64"]
VALUES = [
    1000, -1000, 300, 128, -128, -129, 255, 256, -256, 2**31 + 5, 2**40,
    2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64 + 3,
]  # fmt: skip


def _inplace(method: str):
    return lambda lib, t, v: getattr(t, method)(v)


def _set_first(tensor, value):
    tensor[0] = value
    return tensor


OPS = {
    "add": lambda lib, t, v: t + v,
    "radd": lambda lib, t, v: v + t,
    "sub": lambda lib, t, v: t - v,
    "rsub": lambda lib, t, v: v - t,
    "mul": lambda lib, t, v: t * v,
    "rmul": lambda lib, t, v: v * t,
    "floor_divide": lambda lib, t, v: t // v,
    "rfloor_divide": lambda lib, t, v: v // t,
    "remainder": lambda lib, t, v: t % v,
    "rremainder": lambda lib, t, v: v % t,
    "fmod": lambda lib, t, v: lib.fmod(t, v),
    "div_trunc": lambda lib, t, v: lib.div(t, v, rounding_mode="trunc"),
    "true_divide": lambda lib, t, v: t / v,
    "rtrue_divide": lambda lib, t, v: v / t,
    "bitwise_and": lambda lib, t, v: t & v,
    "bitwise_or": lambda lib, t, v: t | v,
    "bitwise_xor": lambda lib, t, v: t ^ v,
    "left_shift": lambda lib, t, v: t << v,
    "right_shift": lambda lib, t, v: t >> v,
    "eq": lambda lib, t, v: t == v,
    "ne": lambda lib, t, v: t != v,
    "lt": lambda lib, t, v: t < v,
    "le": lambda lib, t, v: t <= v,
    "gt": lambda lib, t, v: t > v,
    "ge": lambda lib, t, v: t >= v,
    "iadd": _inplace("__iadd__"),
    "isub": _inplace("__isub__"),
    "imul": _inplace("__imul__"),
    "ifloordiv": _inplace("__ifloordiv__"),
    "iand": _inplace("__iand__"),
    "add_": _inplace("add_"),
    "mul_": _inplace("mul_"),
    "pow": lambda lib, t, v: t**v,
    "rpow": lambda lib, t, v: v**t,
    "fill_": _inplace("fill_"),
    "masked_fill": lambda lib, t, v: t.masked_fill(t > 2, v),
    "masked_fill_": lambda lib, t, v: t.masked_fill_(t > 2, v),
    "index_fill": lambda lib, t, v: t.index_fill(0, lib.tensor([1]), v),
    "setitem": lambda lib, t, v: _set_first(t, v),
    "setitem_tensor_index": lambda lib, t, v: t.__setitem__(lib.tensor([0, 2]), v) or t,
    "float_tensor_setitem": lambda lib, t, v: _set_first(t.double(), v),
    "where_other": lambda lib, t, v: lib.where(t > 2, t, v),
    "where_input": lambda lib, t, v: lib.where(t > 2, v, t),
    "clamp_min": lambda lib, t, v: lib.clamp(t, min=v),
    "clamp_max": lambda lib, t, v: t.clamp(max=v),
    "add_alpha": lambda lib, t, v: lib.add(t, t, alpha=v),
    "sub_alpha": lambda lib, t, v: lib.sub(t, t, alpha=v),
    "addcmul_value": lambda lib, t, v: lib.addcmul(t, t, t, value=v),
    "float_tensor_add": lambda lib, t, v: t.double() + v,
    "full": lambda lib, t, v: lib.full((2,), v, dtype=t.dtype),
    "full_int64": lambda lib, t, v: lib.full((2,), v),
    "full_bool": lambda lib, t, v: lib.full((2,), v, dtype=lib.bool),
    "full_like": lambda lib, t, v: lib.full_like(t, v),
    "new_full": lambda lib, t, v: t.new_full((2,), v),
    "tensor": lambda lib, t, v: lib.tensor([1, v], dtype=t.dtype),
    "tensor_scalar": lambda lib, t, v: lib.tensor(v, dtype=t.dtype),
    "tensor_inferred": lambda lib, t, v: lib.tensor([v, 2]),
    "tensor_of_floats": lambda lib, t, v: lib.tensor([v / 4], dtype=t.dtype),
    "float_tensor_fill_": lambda lib, t, v: t.double().fill_(v),
}


def _outcome(lib, fn, dtype: str, value: int):
    """The result as (dtype name, values), or the error as (class name, message)."""
    tensor = lib.tensor([1, 3, 5], dtype=getattr(lib, dtype))
    try:
        result = fn(lib, tensor, value)
    except (RuntimeError, OverflowError, ValueError, TypeError) as error:
        return type(error).__name__, str(error)
    return str(result.dtype).split(".")[-1], result.tolist()


@pytest.mark.parametrize("name", list(OPS))
def test_python_int_meets_integer_tensor_as_in_torch(name):
    fn = OPS[name]
    for dtype in DTYPES:
        for value in VALUES:
            expected = _outcome(torch, fn, dtype, value)
            actual = _outcome(ember, fn, dtype, value)
            if expected[0].startswith("float"):
                assert actual[0] == expected[0], f"{name} {dtype} {value}: {actual} != {expected}"
                np.testing.assert_allclose(
                    actual[1], expected[1], rtol=1e-6, err_msg=f"{name} {dtype} {value}"
                )
            else:
                assert actual == expected, f"{name} {dtype} {value}"


def test_int8_times_1000_wraps():
    """The reported case: 1 * 1000 in int8 is -24, as a C cast of 1000 to int8 gives."""
    result = ember.tensor([1, 2], dtype=ember.int8) * 1000
    assert result.dtype is ember.int8
    assert result.tolist() == [-24, -48]
