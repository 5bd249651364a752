"""Rprop: resilient backpropagation, steps that grow or shrink with the gradient's sign."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import asarray, xp
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _check_lr, _increment, _new_state

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop: each weight moves by its own step size in the direction of its gradient's sign.

    Per parameter, with ``s`` the product of this gradient and the previous one::

        s > 0: step_size *= etaplus          (same sign again: accelerate)
        s < 0: step_size *= etaminus; g = 0  (sign flipped: slow down, skip this move)
        step_size = clamp(step_size, step_size_min, step_size_max)
        theta_t = theta_{t-1} - sign(g) step_size;  prev = g

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate, the initial step size (default: 1e-2).
        etas: (etaminus, etaplus), the factors that shrink and grow a step size
            (default: (0.5, 1.2)).
        step_sizes: the least and the greatest step size allowed (default: (1e-6, 50)).
        maximize: maximize the objective instead of minimizing it (default: False).
        capturable, foreach, differentiable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``prev`` (the last gradient taken) and ``step_size``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {
            "lr": lr,
            "etas": etas,
            "step_sizes": step_sizes,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = _new_state(param, "prev")
        state["step_size"] = Tensor._make(xp.full_like(param._data, group["lr"]))
        return state

    def _update(self, param, grad, state, group) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        _increment(state["step"])
        prev, step_size = state["prev"]._data, state["step_size"]._data
        # Into arrays of their own: a 0-d parameter's arithmetic would give NumPy scalars.
        sign = xp.empty_like(prev)
        xp.sign(xp.multiply(grad, prev, out=sign), out=sign)
        flipped = sign < 0
        # A NaN product keeps its NaN factor, as in PyTorch, so the step size shows it.
        factor = sign.copy()
        factor[sign > 0] = etaplus
        factor[flipped] = etaminus
        factor[sign == 0] = 1
        step_size *= factor
        xp.clip(step_size, step_size_min, step_size_max, out=step_size)
        grad = asarray(grad).copy()
        grad[flipped] = 0
        param -= xp.sign(grad) * step_size
        xp.copyto(prev, grad)
