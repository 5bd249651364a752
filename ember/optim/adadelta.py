"""Adadelta: steps in the units of the parameters, from running averages of steps and grads."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import xp
from ember._tensor import Tensor
from ember.optim.optimizer import (
    Optimizer,
    _addcmul_,
    _check_lr,
    _check_not_negative,
    _increment,
    _new_state,
    _with_weight_decay,
)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: the step is the gradient scaled by RMS(past steps) / RMS(past gradients).

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`::

        v_t = rho v_{t-1} + (1 - rho) g_t^2
        dx_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t = rho u_{t-1} + (1 - rho) dx_t^2
        theta_t = theta_{t-1} - lr dx_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: coefficient that scales the step (default: 1.0).
        rho: coefficient of the running averages (default: 0.9).
        eps: added inside the square roots for numerical stability (default: 1e-6).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``square_avg``, ``acc_delta``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_not_negative(epsilon=eps, weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "capturable": capturable,
            "foreach": foreach,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        return _new_state(param, "square_avg", "acc_delta")

    def _update(self, param, grad, state, group) -> None:
        rho, eps = group["rho"], group["eps"]
        _increment(state["step"])
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        _addcmul_(square_avg, grad, grad, 1 - rho)
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        _addcmul_(acc_delta, delta, delta, 1 - rho)
        param += -group["lr"] * delta
