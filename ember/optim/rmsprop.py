"""RMSprop: steps scaled by a running root mean square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import xp
from ember._tensor import Tensor
from ember.optim.optimizer import (
    Optimizer,
    _addcdiv_,
    _addcmul_,
    _check_lr,
    _check_not_negative,
    _increment,
    _lerp_,
    _new_state,
    _with_weight_decay,
    _zeros_like,
)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of its recent values.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`::

        v_t = alpha v_{t-1} + (1 - alpha) g_t^2
        centered:  a_t = alpha a_{t-1} + (1 - alpha) g_t;  s_t = sqrt(v_t - a_t^2) + eps
        otherwise: s_t = sqrt(v_t) + eps
        momentum > 0: b_t = mu b_{t-1} + g_t / s_t;  theta_t = theta_{t-1} - lr b_t
        otherwise:    theta_t = theta_{t-1} - lr g_t / s_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-2).
        alpha: smoothing constant (default: 0.99).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        momentum: momentum factor :math:`\mu` (default: 0).
        centered: normalize by an estimate of the gradient's variance (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        capturable, foreach, differentiable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0), ``grad_avg``
    (centered).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_not_negative(epsilon=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = _new_state(param, "square_avg")
        if group["momentum"] > 0:
            state["momentum_buffer"] = _zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = _zeros_like(param)
        return state

    def _update(self, param, grad, state, group) -> None:
        alpha = group["alpha"]
        _increment(state["step"])
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        _addcmul_(square_avg, grad, grad, 1 - alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            _lerp_(grad_avg, grad, 1 - alpha)
            average = xp.sqrt(square_avg + -1 * grad_avg * grad_avg)
        else:
            average = xp.sqrt(square_avg)
        average += group["eps"]
        if group["momentum"] > 0:
            buffer = state["momentum_buffer"]._data
            buffer *= group["momentum"]
            _addcdiv_(buffer, grad, average)
            param += -group["lr"] * buffer
        else:
            _addcdiv_(param, grad, average, -group["lr"])
