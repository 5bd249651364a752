"""Loss functions (the modules in ``nn.modules.loss`` are thin shells over these)."""

from __future__ import annotations

import warnings

from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape, promote

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
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    broadcast_shape("mse_loss", input.shape, target.shape)
    return MseLoss.apply(input, target, reduction)


class MseLoss(Op):
    """(input - target)², reduced; one node (``MseLossBackward0``) instead of three."""

    @staticmethod
    def forward(ctx, input, target, reduction):
        input, target = promote(input, target)
        ctx.save_for_backward(input, target)
        ctx.reduction = reduction
        difference = input - target
        squared = difference * difference
        if reduction == "mean":
            ctx.count = squared.size
            return xp.mean(squared)
        return xp.sum(squared) if reduction == "sum" else squared

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        scale = 2.0 / ctx.count if ctx.reduction == "mean" else 2.0
        grad_input = (input - target) * (grad * scale)
        needs = ctx.needs_input_grad
        return (grad_input if needs[0] else None, -grad_input if needs[1] else None, None)
