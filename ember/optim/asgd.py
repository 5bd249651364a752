"""ASGD: stochastic gradient descent with a running average of the iterates."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import asarray, xp
from ember._tensor import Tensor
from ember.optim.optimizer import (
    Optimizer,
    _add_scaled_,
    _check_lr,
    _check_not_negative,
    _increment,
    _new_state,
    _scalar_dtype,
    _step_tensor,
    _with_weight_decay,
)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak and Juditsky, 1992).

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda_{wd}\theta_{t-1}`::

        theta_t = theta_{t-1} (1 - lambd eta_{t-1}) - eta_{t-1} g_t
        ax_t = ax_{t-1} + mu_{t-1} (theta_t - ax_{t-1})  (a copy of theta_t while mu is 1)
        eta_t = lr / (1 + lambd lr t)^alpha
        mu_t = 1 / max(1, t - t0)

    ``ax`` (the average, from step ``t0`` on) is what the algorithm returns in theory; as in
    PyTorch it is kept in the state and the parameters themselves follow the plain iterates.

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-2).
        lambd: decay term (default: 1e-4).
        alpha: power for the update of eta (default: 0.75).
        t0: the step at which averaging starts (default: 1e6).
        weight_decay: L2 penalty (default: 0).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, differentiable, capturable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``eta``, ``mu`` (0-d tensors of the step's dtype) and ``ax``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_not_negative(weight_decay=weight_decay)
        defaults = {
            "lr": lr,
            "lambd": lambd,
            "alpha": alpha,
            "t0": t0,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "capturable": capturable,
        }
        super().__init__(params, defaults)

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        # State saved by an older PyTorch holds eta and mu as Python numbers.
        for param_state in self.state.values():
            for key in ("eta", "mu"):
                if key in param_state and not isinstance(param_state[key], Tensor):
                    param_state[key] = _step_tensor(float(param_state[key]))

    def _init_state(self, param, group):
        return _new_state(param, "ax", eta=group["lr"], mu=1.0)

    def _update(self, param, grad, state, group) -> None:
        lr, lambd = group["lr"], group["lambd"]
        step = _increment(state["step"])
        grad = _with_weight_decay(param, grad, group["weight_decay"])
        # eta and mu are read back from their (possibly float32) state tensors, as PyTorch does.
        eta = state["eta"]._data.item()
        param *= 1 - lambd * eta
        _add_scaled_(param, grad, -eta)
        ax = state["ax"]._data
        mu = state["mu"]._data.item()
        if mu != 1:
            ax += (param - ax) * mu
        else:
            xp.copyto(ax, param)
        # PyTorch makes each new value a tensor of the default dtype before copying it in, so
        # it is rounded to float32 under a float32 default even where eta and mu are float64
        # (as after a load_state_dict, which casts them to the parameter's dtype).
        state["eta"]._data[...] = _scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"]._data[...] = _scalar(1 / max(1, step - group["t0"]))


def _scalar(value: float):
    """``value`` as a 0-d array of the dtype ``torch.as_tensor(value)`` would give it."""
    return asarray(value, dtype=_scalar_dtype())
