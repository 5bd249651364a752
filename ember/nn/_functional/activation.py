"""Activation functions."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.ops.elementwise import relu as _relu, sigmoid as _sigmoid, tanh as _tanh

__all__ = ["sigmoid", "tanh", "relu"]


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e⁻ˣ)."""
    return _sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """tanh(x)."""
    return _tanh(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu_() if inplace else _relu(input)
