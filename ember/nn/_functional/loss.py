"""Loss functions (the modules in ``nn.modules.loss`` are thin shells over these)."""

from __future__ import annotations

import warnings

from ember._tensor import Tensor

__all__ = ["mse_loss"]


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """mean((input - target)²).

    Warns, as PyTorch does, when the shapes differ and broadcasting decides the result.
    """
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=2,
        )
    difference = input - target
    return _reduce(difference * difference, reduction)
