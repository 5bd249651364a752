"""Muon: momentum whose update is orthogonalized by Newton-Schulz iterations (2-D weights)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ember._backend import bfloat16, xp
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _add_scaled_, _lerp_, _zeros_like

__all__ = ["Muon"]

# Keller Jordan's coefficients of the quintic iteration, and PyTorch's defaults.
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


class Muon(Optimizer):
    r"""Muon: SGD with momentum on hidden-layer matrices, the update orthogonalized.

    Per 2-D parameter, with :math:`g_t` its gradient::

        B_t = mu B_{t-1} + (1 - mu) g_t              (the momentum buffer, a running mean)
        nesterov: U_t = g_t + mu (B_t - g_t);  otherwise U_t = B_t
        O_t = NS(U_t)  (ns_steps Newton-Schulz iterations with coefficients (a, b, c))
        theta_t = theta_{t-1} (1 - lr weight_decay) - AdjustLR(lr, shape) O_t

    ``NS`` runs in bfloat16, as PyTorch's does: ``X = U / max(|U|_F, eps)`` (transposed
    when it has more rows than columns), then ``A = X X^T; X = a X + (b A + c A A) X``.
    ``AdjustLR`` scales ``lr`` for an ``A x B`` matrix by ``sqrt(max(1, A / B))``
    (``"original"``, the default) or ``0.2 sqrt(max(A, B))`` (``"match_rms_adamw"``).
    Other parameters (biases, embeddings) belong with another optimizer such as AdamW.

    Args:
        params: the 2-D parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-3).
        weight_decay: decoupled weight decay coefficient (default: 0.1).
        momentum: momentum factor (default: 0.95).
        nesterov: use Nesterov momentum (default: True).
        ns_coefficients: (a, b, c) of the Newton-Schulz polynomial
            (default: (3.4445, -4.7750, 2.0315)).
        eps: bounds the Frobenius norm the update is divided by (default: 1e-7).
        ns_steps: the number of Newton-Schulz iterations, under 100 (default: 5).
        adjust_lr_fn: ``None``, ``"original"`` or ``"match_rms_adamw"`` (default: None).

    State: ``momentum_buffer``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
        eps: float = EPS,
        ns_steps: int = DEFAULT_NS_STEPS,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {
            "lr": lr,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "nesterov": nesterov,
            "ns_coefficients": ns_coefficients,
            "eps": eps,
            "ns_steps": ns_steps,
            "adjust_lr_fn": adjust_lr_fn,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                if param.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: torch.Size({list(param.shape)})"
                    )

    def _init_state(self, param, group):
        return {"momentum_buffer": _zeros_like(param)}

    def _update(self, param, grad, state, group) -> None:
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        momentum, lr = group["momentum"], group["lr"]
        buffer = state["momentum_buffer"]._data
        _lerp_(buffer, grad, 1 - momentum)
        if group["nesterov"]:
            update = grad.copy()
            _lerp_(update, buffer, momentum)
        else:
            update = buffer
        orthogonal = _newton_schulz(
            update, group["ns_coefficients"], group["ns_steps"], group["eps"]
        )
        param *= 1 - lr * group["weight_decay"]
        _add_scaled_(param, orthogonal.astype(param.dtype), -_adjust_lr(lr, group, param.shape))


def _adjust_lr(lr: float, group: dict, shape: tuple) -> float:
    """``lr`` scaled so that the orthogonalized update of an ``A x B`` matrix has a steady RMS."""
    rows, columns = shape[:2]
    name = group["adjust_lr_fn"]
    if name is None or name == "original":
        ratio = math.sqrt(max(1, rows / columns))
    elif name == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, columns))
    else:
        ratio = 1.0
    return lr * ratio


def _bfloat16(array):
    """``array`` rounded to bfloat16 (to nearest, ties to even), held in float32."""
    return array.astype(bfloat16).astype(xp.float32)


def _newton_schulz(matrix, coefficients, steps: int, eps: float):
    """The orthogonalized ``matrix`` (bfloat16 values in float32), PyTorch's quintic iteration.

    Each bfloat16 operation of PyTorch's is done in float32 (its accumulation precision) and
    rounded to bfloat16 once, where PyTorch's CPU kernels round.
    """
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if matrix.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    result = _bfloat16(matrix)
    tall = matrix.shape[0] > matrix.shape[1]
    if tall:
        result = result.T
    norm = _bfloat16(xp.sqrt(xp.sum(result * result, dtype=xp.float32)))
    result = _bfloat16(result / xp.maximum(norm, _bfloat16(xp.float32(eps))))
    for _ in range(steps):
        gram = _bfloat16(result @ result.T)
        gram_update = _bfloat16(b * gram + c * (gram @ gram))
        result = _bfloat16(a * result + gram_update @ result)
    return result.T if tall else result
