"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import xp
from ember._tensor import Tensor
from ember.optim.adam import _check_adam_arguments
from ember.optim.optimizer import (
    Optimizer,
    _addcdiv_,
    _addcmul_,
    _check_not_negative,
    _decay_coupled_or_not,
    _increment,
    _lerp_,
    _new_state,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam: Adam whose first moment looks one step ahead (Nesterov), with momentum decay.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1})` (plus :math:`\lambda\theta_{t-1}`,
    or :math:`\theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda)` when decoupled)::

        mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} = beta1 (1 - 0.5 * 0.96^((t+1) psi))
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        d_t = sqrt(v_t / (1 - beta2^t)) + eps
        theta_t = theta_{t-1} - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g_t / d_t
                              - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m_t / d_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate :math:`\gamma` (default: 2e-3).
        betas: coefficients of the running averages (default: (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: weight decay :math:`\lambda` (default: 0).
        momentum_decay: momentum decay :math:`\psi` (default: 4e-3).
        decoupled_weight_decay: decay the weights directly, as AdamW (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach, capturable, differentiable: accepted for PyTorch compatibility; ignored.

    State: ``step``, ``mu_product`` (0-d tensors), ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        _check_not_negative(momentum_decay=momentum_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        return _new_state(param, "exp_avg", "exp_avg_sq", mu_product=1.0)

    def _update(self, param, grad, state, group) -> None:
        lr, momentum_decay = group["lr"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        step = _increment(state["step"])
        bias_correction2 = 1 - beta2**step
        grad = _decay_coupled_or_not(param, grad, group)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        # The product lives in a float32 tensor (as in PyTorch), so it is rounded each step.
        state["mu_product"]._data *= mu
        mu_product = state["mu_product"]._data.item()
        mu_product_next = mu_product * mu_next

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        _addcmul_(exp_avg_sq, grad, grad, 1 - beta2)
        denominator = xp.sqrt(exp_avg_sq / bias_correction2) + group["eps"]
        _addcdiv_(param, grad, denominator, -lr * (1.0 - mu) / (1.0 - mu_product))
        _addcdiv_(param, exp_avg, denominator, (-lr * mu_next) / (1.0 - mu_product_next))
