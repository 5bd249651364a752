"""Adafactor: Adam-like steps with a factored (row times column) second moment."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import float_info, xp
from ember._tensor import Tensor
from ember.optim.optimizer import Optimizer, _add_scaled_, _increment, _lerp_, _step_tensor

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer and Stern, 2018), in PyTorch's form: no first moment.

    Per parameter at step ``t``, with :math:`g_t` its gradient::

        beta2_t = 1 - t^beta2_decay;  rho_t = min(lr, 1 / sqrt(t))
        alpha_t = max(eps2, RMS(theta_{t-1})) rho_t
        theta_{t-1} *= 1 - lr weight_decay
        2-D and more (the last two dimensions factored, the others batch dimensions):
            R_t = beta2_t R_{t-1} + (1 - beta2_t) mean(g_t^2, last dim)
            C_t = beta2_t C_{t-1} + (1 - beta2_t) mean(g_t^2, next-to-last dim)
            v_t = R_t C_t / max(mean(R_t), eps1)
        0-D and 1-D:
            v_t = beta2_t v_{t-1} + (1 - beta2_t) g_t^2
        u_t = g_t / sqrt(max(v_t, eps1^2))
        theta_t = theta_{t-1} - alpha_t / max(1, RMS(u_t) / d) u_t

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate, the most a relative step may be (default: 1e-2).
        beta2_decay: the decay rate of beta2 (default: -0.8).
        eps: (eps1, eps2): eps1 bounds the second moment from below (None: the machine
            epsilon of the parameter's dtype), eps2 the parameter's RMS (default: (None, 1e-3)).
        d: the clipping threshold of the update's RMS (default: 1.0).
        weight_decay: decoupled weight decay coefficient (default: 0.0).
        maximize: maximize the objective instead of minimizing it (default: False).
        foreach: accepted for PyTorch compatibility; ignored.

    State: ``step``, and ``row_var`` and ``col_var`` (factored, for two dimensions or more:
    the gradient's shape with a 1 in the last, resp. next-to-last, place) or ``variance``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {
            "lr": lr,
            "beta2_decay": beta2_decay,
            "eps": eps,
            "d": d,
            "weight_decay": weight_decay,
            "foreach": foreach,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = {"step": _step_tensor()}
        if param.dim() > 1:
            array = param._data
            row_shape, col_shape = (*array.shape[:-1], 1), (*array.shape[:-2], 1, array.shape[-1])
            state["row_var"] = Tensor._make(xp.zeros(row_shape, array.dtype, like=array))
            state["col_var"] = Tensor._make(xp.zeros(col_shape, array.dtype, like=array))
        else:
            state["variance"] = Tensor._make(xp.zeros_like(param._data))
        return state

    def _update_group(self, params, grads, states, group) -> None:
        if not params:
            return
        eps1 = group["eps"][0]
        if eps1 is None:
            # PyTorch takes the epsilon of the group's first stepped parameter for them all.
            eps1 = float(float_info(params[0].dtype).eps)
        for param, grad, state in zip(params, grads, states):
            self._update_one(param, grad, state, group, eps1)

    @staticmethod
    def _update_one(param, grad, state, group, eps1: float) -> None:
        """One Adafactor step of ``param`` (an array) along ``grad``, in place."""
        lr = group["lr"]
        step = _increment(state["step"])
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / step**0.5)
        alpha = max(group["eps"][1], _norm(param) / param.size**0.5) * rho
        if group["weight_decay"] != 0:
            param *= 1 - lr * group["weight_decay"]
        if grad.ndim > 1:
            squared = grad * grad
            row_var, col_var = state["row_var"]._data, state["col_var"]._data
            _lerp_(row_var, squared.mean(axis=-1, keepdims=True), one_minus_beta2)
            _lerp_(col_var, squared.mean(axis=-2, keepdims=True), one_minus_beta2)
            estimate = row_var @ col_var
            estimate /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]._data
            _lerp_(variance, grad * grad, one_minus_beta2)
            estimate = variance.copy()
        update = 1 / xp.sqrt(xp.maximum(estimate, eps1 * eps1))
        update *= grad
        denom = max(1.0, _norm(update) / (update.size**0.5 * group["d"]))
        _add_scaled_(param, update, -alpha / denom)


def _norm(array) -> float:
    """The 2-norm of an array's elements, as a Python float."""
    return float(xp.linalg.norm(array.reshape(-1)))
