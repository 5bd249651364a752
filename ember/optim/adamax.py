"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import xp
from ember._tensor import Tensor
from ember.optim.adam import _check_adam_arguments
from ember.optim.optimizer import (
    Optimizer,
    _addcdiv_,
    _increment,
    _lerp_,
    _new_state,
    _with_weight_decay,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax: Adam scaled by an exponentially weighted infinity norm of the gradients.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        u_t = max(beta2 u_{t-1}, |g_t| + eps)
        theta_t = theta_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 2e-3).
        betas: coefficients of the running average and the infinity norm (default: (0.9, 0.999)).
        eps: added to the norm for numerical stability (default: 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, differentiable, capturable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``exp_avg``, ``exp_inf``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        return _new_state(param, "exp_avg", "exp_inf")

    def _update(self, param, grad, state, group) -> None:
        beta1, beta2 = group["betas"]
        step = _increment(state["step"])
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.abs(grad) + group["eps"], out=exp_inf)
        _addcdiv_(param, exp_avg, exp_inf, -group["lr"] / (1 - beta1**step))
