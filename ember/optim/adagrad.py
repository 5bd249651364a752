"""Adagrad: per-coordinate steps shrinking with the accumulated squared gradients."""

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
    _step_tensor,
    _with_weight_decay,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step is divided by the root of its summed squared gradients.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`::

        lr_t = lr / (1 + (t - 1) eta)
        s_t = s_{t-1} + g_t^2               (s_0 = initial_accumulator_value)
        theta_t = theta_{t-1} - lr_t g_t / (sqrt(s_t) + eps)

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-2).
        lr_decay: learning rate decay :math:`\eta` (default: 0).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        initial_accumulator_value: starting value of the sums (default: 0).
        eps: added to the denominator for numerical stability (default: 1e-10).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``sum``; created at construction for every parameter, as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        _check_lr(lr)
        _check_not_negative(
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            epsilon=eps,
        )
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = self._init_state(param, group)

    def _init_state(self, param, group):
        # Always the constructor's value, even for a group that sets its own (as PyTorch).
        initial = self.defaults["initial_accumulator_value"]
        return {"step": _step_tensor(), "sum": Tensor._make(xp.full_like(param._data, initial))}

    _takes_sparse_gradients = True
    _sparse_weight_decay_error = "weight_decay option is not compatible with sparse gradients"

    def _update(self, param, grad, state, group) -> None:
        step = _increment(state["step"])
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = state["sum"]._data
        _addcmul_(state_sum, grad, grad, 1)
        _addcdiv_(param, grad, xp.sqrt(state_sum) + group["eps"], -clr)
