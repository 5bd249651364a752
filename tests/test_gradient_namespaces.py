"""The two namespaces a gradient formula runs on offer the same functions."""

from __future__ import annotations

from ember.ops._array_math import ArrayMath
from ember.ops._tensor_math import TensorMath


def _names(namespace) -> set:
    return {name for name in vars(namespace) if not name.startswith("_")}


def test_array_and_tensor_math_offer_the_same_names():
    assert _names(ArrayMath) == _names(TensorMath)


def test_the_namespaces_are_not_empty():
    assert {"saved", "where", "sum", "reshape", "matmul"} <= _names(ArrayMath)
