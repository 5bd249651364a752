"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import asarray
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _add_scaled_

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent: :math:`\theta_t = \theta_{t-1} - \gamma g_t`.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`
    (:math:`-\nabla f` under ``maximize``)::

        b_t = g_t                                  (first step)
        b_t = mu * b_{t-1} + (1 - dampening) * g_t (later steps)
        g_t = g_t + mu * b_t  if nesterov  else  b_t
        theta_t = theta_{t-1} - lr * g_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate :math:`\gamma` (default: 1e-3).
        momentum: momentum factor :math:`\mu` (default: 0).
        dampening: dampening of the momentum (default: 0).
        weight_decay: L2 penalty :math:`\lambda` (default: 0).
        nesterov: use Nesterov momentum (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, differentiable, fused: accepted for PyTorch compatibility; ignored.

    A sparse gradient (``nn.Embedding(sparse=True)``) is taken as its dense equivalent, which
    is PyTorch's arithmetic; as in PyTorch it refuses ``weight_decay``. The momentum buffer
    is then dense (PyTorch's is sparse, with the same values once summed).

    State: ``momentum_buffer`` (only when ``momentum != 0``).

    Example::

        >>> optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float | Tensor = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    _takes_sparse_gradients = True
    _sparse_weight_decay_error = (
        "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
    )

    def _update_group(self, params, grads, states, group) -> None:
        if group["weight_decay"] != 0 or group["momentum"] != 0:
            return super()._update_group(params, grads, states, group)
        alpha = -group["lr"]  # plain SGD keeps no state: only the update itself
        for param, grad in zip(params, grads):
            _add_scaled_(param, grad, alpha)

    def _update(self, param, grad, state, group) -> None:
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum != 0:
            if state.get("momentum_buffer") is None:
                buffer = asarray(grad).copy()  # an array even for a 0-d NumPy scalar
                state["momentum_buffer"] = Tensor._make(buffer)
            else:
                buffer = state["momentum_buffer"]._data
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        _add_scaled_(param, grad, -group["lr"])
