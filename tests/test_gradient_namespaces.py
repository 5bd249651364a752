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


@pytest.mark.parametrize("shape", [(4, 3), (1, 700), (700, 1), (512, 65), (3, 1000)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_sum_rows_is_the_sum_over_the_first_axis(shape, dtype):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x[0, 0] = np.nan if shape[1] > 1 else x[0, 0]
    expected = x.astype(np.float64).sum(axis=0)
    for namespace, value in ((ArrayMath, x), (TensorMath, ember.tensor(x))):
        result = namespace.sum_rows(value)
        result = result.numpy() if namespace is TensorMath else result
        assert result.shape == shape[1:] and result.dtype == dtype
        # float16 sums in float16 (as NumPy's and PyTorch's do on the host)
        tolerance = 1e-3 if dtype == np.float16 else 1e-5
        np.testing.assert_allclose(result, expected, rtol=tolerance, atol=tolerance * shape[0])
