"""Adam: adaptive moment estimation."""

from __future__ import annotations

from collections.abc import Iterable

from ember._backend import device_index, xp
from ember._tensor import Tensor
from ember.optim.optimizer import (
    Optimizer,
    _check_lr,
    _check_not_negative,
    _increment,
    _new_state,
    _to_float,
    _zeros_like,
)

__all__ = ["Adam"]


def _check_adam_arguments(lr, betas, eps, weight_decay) -> None:
    _check_lr(lr)
    _check_not_negative(epsilon=eps)
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    _check_not_negative(weight_decay=weight_decay)


class Adam(Optimizer):
    r"""Adam: steps scaled by running estimates of the gradient's first and second moments.

    Per parameter, with :math:`g_t = \nabla f(\theta_{t-1})` (negated under ``maximize``)::

        g_t = g_t + lambda * theta_{t-1}        (weight decay, unless decoupled)
        theta_{t-1} = theta_{t-1} (1 - lr lambda) (decoupled weight decay: AdamW)
        m_t = beta1 m_{t-1} + (1 - beta1) g_t
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        vmax_t = max(vmax_{t-1}, v_t)  and use it for v_t (amsgrad)
        theta_t = theta_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t / (1 - beta2^t)) + eps)

    Args:
        params: the parameters (or parameter groups) to optimize.
        lr: learning rate (default: 1e-3).
        betas: coefficients of the running averages of the gradient and its square
            (default: (0.9, 0.999)).
        eps: added to the denominator for numerical stability (default: 1e-8).
        weight_decay: weight decay :math:`\lambda` (default: 0).
        amsgrad: use the AMSGrad variant (default: False).
        maximize: maximize the objective instead of minimizing it (default: False).
        decoupled_weight_decay: decay the weights directly, as AdamW (default: False).
        foreach, capturable, differentiable, fused: accepted for PyTorch compatibility;
            ignored.

    State: ``step`` (0-d tensor), ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq``
    under ``amsgrad``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_adam_arguments(lr, betas, eps, weight_decay)
        if not (
            (isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))
        ):
            raise ValueError(  # noqa: TRY004  (PyTorch raises ValueError)
                "betas must be either both floats or both Tensors"
            )
        for index, beta in enumerate(betas):
            if isinstance(beta, Tensor) and beta.numel() != 1:
                raise ValueError(f"Tensor betas[{index}] must be 1-element")
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _init_state(self, param, group):
        state = _new_state(param, "exp_avg", "exp_avg_sq")
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(param)
        return state

    _name_in_errors = "Adam"  # AdamW's error names Adam too, as PyTorch's does
    _sparse_advice = ", please consider SparseAdam instead"

    def _update(self, param, grad, state, group) -> None:
        step = _increment(state["step"])
        grad = _decayed(param, grad, group)
        max_exp_avg_sq = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
        param += _adam_step(grad, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                            max_exp_avg_sq, step, group)

    def _update_group(self, params, grads, states, group) -> None:
        """Adam is elementwise: parameters of one group that share a dtype and a step count
        go through one pass over their moments laid end to end (as PyTorch's ``foreach``),
        not one pass per parameter. Each element's arithmetic is unchanged."""
        moments = None
        if len(params) > 1 and not group["amsgrad"]:
            moments = _flat_moments(self, params, grads, states)
        if moments is None:
            return super()._update_group(params, grads, states, group)
        exp_avg, exp_avg_sq, bounds = moments
        for state in states:
            step = _increment(state["step"])
        flat = xp.concatenate([_decayed(param, grad, group).reshape(-1)
                               for param, grad in zip(params, grads)])
        update = _adam_step(flat, exp_avg, exp_avg_sq, None, step, group)
        for param, (start, stop) in zip(params, bounds):
            param += update[start:stop].reshape(param.shape)


def _decayed(param, grad, group):
    """The gradient with L2 weight decay added; decoupled decay shrinks ``param`` instead."""
    weight_decay = group["weight_decay"]
    if weight_decay == 0:
        return grad
    if group["decoupled_weight_decay"]:
        param *= 1 - group["lr"] * weight_decay
        return grad
    decayed = param * weight_decay
    decayed += grad
    return decayed


def _adam_step(grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step: float, group):
    """Update the moments in place; return the change to add to the parameter.

    Two scratch arrays in all; each step keeps the rounding order of PyTorch's lerp_,
    mul_, addcmul_ and addcdiv_.
    """
    lr, eps = group["lr"], group["eps"]
    beta1, beta2 = (_to_float(beta) for beta in group["betas"])
    scratch = xp.subtract(grad, exp_avg, out=xp.empty_like(exp_avg))  # an array if 0-d
    weight = 1 - beta1
    if abs(weight) < 0.5:
        scratch *= weight
        exp_avg += scratch
    else:
        scratch *= 1 - weight
        xp.subtract(grad, scratch, out=exp_avg)
    exp_avg_sq *= beta2
    xp.multiply(grad, 1 - beta2, out=scratch)
    scratch *= grad
    exp_avg_sq += scratch

    step_size = lr / (1 - beta1**step)
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    second_moment = exp_avg_sq
    if max_exp_avg_sq is not None:
        second_moment = max_exp_avg_sq
        xp.maximum(second_moment, exp_avg_sq, out=second_moment)
    denominator = xp.sqrt(second_moment, out=scratch)
    denominator /= bias_correction2_sqrt
    denominator += eps
    update = exp_avg * -step_size
    update /= denominator
    return update


def _flat_moments(optimizer, params, grads, states):
    """The group's moments as two flat arrays that the states' tensors are views of, and each
    parameter's (start, stop) in them; None when the parameters differ in dtype or step.

    Made on first use (copying the moments in) and kept while every state still views it;
    a ``load_state_dict`` that replaced the tensors makes it anew.
    """
    dtype, step = params[0].dtype, states[0]["step"]._data
    device = device_index(params[0])
    for param, grad, state in zip(params, grads, states):
        if param.dtype != dtype or grad.dtype != dtype or state["step"]._data != step:
            return None
        if device_index(param) != device:
            return None
    cache = optimizer.__dict__.setdefault("_flat_moments", {})
    key = tuple(id(state) for state in states)
    found = cache.get(key)
    if found is not None and all(
        state["exp_avg"]._data.base is found[0] and state["exp_avg_sq"]._data.base is found[1]
        for state in states
    ):
        return found
    bounds, start = [], 0
    for param in params:
        bounds.append((start, start + param.size))
        start += param.size
    like = params[0]
    exp_avg, exp_avg_sq = xp.empty(start, dtype, like=like), xp.empty(start, dtype, like=like)
    for state, (begin, end), param in zip(states, bounds, params):
        for name, flat in (("exp_avg", exp_avg), ("exp_avg_sq", exp_avg_sq)):
            view = flat[begin:end].reshape(param.shape)
            view[...] = state[name]._data
            state[name]._data = view
    for other in [other for other in cache if set(other) & set(key)]:
        del cache[other]  # layouts these states no longer view
    cache[key] = found = (exp_avg, exp_avg_sq, bounds)
    return found
