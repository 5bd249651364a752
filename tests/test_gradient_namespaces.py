"""The two namespaces a gradient formula runs on offer the same functions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from ember.ops._array_math import ArrayMath
from ember.ops._tensor_math import TensorMath


def _names(namespace) -> set:
    return {name for name in vars(namespace) if not name.startswith("_")}


def test_array_and_tensor_math_offer_the_same_names():
    assert _names(ArrayMath) == _names(TensorMath)


def test_the_namespaces_are_not_empty():
    assert {"saved", "where", "sum", "reshape", "matmul"} <= _names(ArrayMath)


SPECIAL = [np.nan, -np.inf, -2.5, -0.0, 0.0, 1e-45, 3.0, np.inf]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_a_gradient_times_above_zero_is_the_gradient_times_the_bool_mask(dtype):
    # every pairing of special values, repeated to a size that gets the float mask
    pairs = list(itertools.product(SPECIAL, SPECIAL)) * 20
    y, grad = (np.array(v, dtype) for v in zip(*pairs))
    mask = ArrayMath.above_zero(y)
    assert mask.dtype == (y.dtype if dtype != np.float16 else np.bool_)
    assert ArrayMath.above_zero(y[:10]).dtype == np.bool_  # small: the bool mask
    with np.errstate(invalid="ignore"):  # inf times 0
        expected, product = grad * (y > 0), grad * mask
    bits = f"u{y.itemsize}"
    np.testing.assert_array_equal(product.view(bits), expected.view(bits))
    tensor_mask = TensorMath.above_zero(ember.tensor(y))
    np.testing.assert_array_equal(tensor_mask.numpy(), y > 0)
