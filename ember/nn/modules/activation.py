"""Activation layers: each a two-line shell over its ``nn.functional`` form."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn.modules.module import Module

__all__ = ["Sigmoid", "Tanh", "ReLU"]


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e⁻ˣ), elementwise. Shape: any → same."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x), elementwise. Shape: any → same."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class ReLU(Module):
    """max(x, 0), elementwise. Shape: any → same."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
