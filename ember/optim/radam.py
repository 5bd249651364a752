"""RAdam: Adam with a rectified adaptive learning rate."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import xp
from ember._tensor import Tensor
from ember.optim.adam import _check_adam_arguments
from ember.optim.optimizer import (
    Optimizer,
    _addcmul_,
    _decay_coupled_or_not,
    _increment,
    _lerp_,
    _new_state,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam: Adam that falls back to momentum SGD while the variance estimate is unreliable.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1})` (plus weight decay, coupled or
    decoupled as in :class:`NAdam`)::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t,   v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            l_t = sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
            theta_t = theta_{t-1} - lr m_t / (1 - beta1^t) * l_t * r_t
        else:
            theta_t = theta_{t-1} - lr m_t / (1 - beta1^t)

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-3).
        betas: coefficients of the running averages (default: (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: weight decay (default: 0).
        decoupled_weight_decay: decay the weights directly, as AdamW (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "decoupled_weight_decay": decoupled_weight_decay,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        return _new_state(param, "exp_avg", "exp_avg_sq")

    def _update(self, param, grad, state, group) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        step = _increment(state["step"])
        grad = _decay_coupled_or_not(param, grad, group)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        _addcmul_(exp_avg_sq, grad, grad, 1 - beta2)

        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive_lr = (bias_correction2**0.5) / (xp.sqrt(exp_avg_sq) + group["eps"])
            param -= corrected_exp_avg * lr * adaptive_lr * rect
        else:
            param -= corrected_exp_avg * lr
