"""Adam's and AdamW's update of a float32 parameter in one loop."""

from __future__ import annotations

import functools
import math

from ember._backend import xp
from ember._compile.kernels._common import Fused, contiguous_float32
from ember.optim.adam import Adam
from ember.optim.optimizer import Optimizer, _increment, _to_float

_OPTIMIZER_STEP = Optimizer.step.__wrapped__  # what a compiled call records (``_tape``)


def _adam_binds(step, role):
    if role == "forward" and step.kind == "call" and step.op.func is _OPTIMIZER_STEP and \
            not step.op.keywords:
        optimizer, *closure = step.op.args
        if isinstance(optimizer, Adam) and not any(closure) and \
                type(optimizer)._update_group is Adam._update_group:
            return functools.partial(_adam_step, optimizer)
    return None


def _adam_step(optimizer, kernel):
    """The compiled program's ``optimizer.step()``: ``Optimizer._step`` with each group's
    update through the fused kernel."""
    return functools.partial(optimizer._step, None,
                             functools.partial(_adam_update_group, optimizer, kernel))


def _adam_update_group(optimizer, kernel, params, grads, states, group) -> None:
    """``Adam._update_group`` a parameter at a time through the fused kernel: per element
    the arithmetic of ``adam._decayed`` and ``adam._adam_step``, in float32 with their
    Python numbers rounded to float32 as NumPy rounds them. A group or a parameter the
    kernel does not take (amsgrad, another dtype or device, a strided array) goes as
    eagerly."""
    if group["amsgrad"]:
        return Adam._update_group(optimizer, params, grads, states, group)
    lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
    beta1, beta2 = (_to_float(beta) for beta in group["betas"])
    decay = 0 if weight_decay == 0 else 1 if group["decoupled_weight_decay"] else 2
    factor = 1 - lr * weight_decay if decay == 1 else weight_decay
    weight = 1 - beta1
    constants = (decay, xp.float32(factor), abs(weight) < 0.5, xp.float32(weight),
                 xp.float32(1 - weight), xp.float32(beta2), xp.float32(1 - beta2))
    eps, last_step, per_step = xp.float32(eps), None, None
    for param, grad, state in zip(params, grads, states):
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        if not _takes(param, grad, exp_avg, exp_avg_sq):
            optimizer._update(param, grad, state, group)
            continue
        step = _increment(state["step"])
        if step != last_step:  # the group's parameters usually share their step count
            last_step = step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            per_step = (xp.float32(bias_correction2_sqrt), eps,
                        xp.float32(-(lr / (1 - beta1**step))))
        kernel(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
               *constants, *per_step)


def _takes(param, grad, exp_avg, exp_avg_sq) -> bool:
    """Whether the kernel takes these: float32 NumPy arrays of one shape, contiguous."""
    return contiguous_float32(param, grad, exp_avg, exp_avg_sq) and \
        param.shape == grad.shape == exp_avg.shape == exp_avg_sq.shape


def _adam_kernel(numba):
    """Adam's update of one float32 parameter in one loop (see ``_adam_update_group``)."""
    signature = ("void(float32[::1], float32[::1], float32[::1], float32[::1], int64, float32, "
                 "boolean, float32, float32, float32, float32, float32, float32, float32)")

    @numba.njit(signature, nogil=True, error_model="numpy")
    def adam(param, grad, exp_avg, exp_avg_sq, decay, factor, small_weight, weight,
             one_minus_weight, beta2, one_minus_beta2, bias_correction2_sqrt, eps,
             negative_step_size):
        for i in range(param.shape[0]):
            p, g = param[i], grad[i]
            if decay == 1:  # decoupled: the parameter shrinks first
                p = p * factor
            elif decay == 2:  # L2: the gradient gains weight_decay * param
                g = p * factor + g
            m = exp_avg[i]
            if small_weight:  # PyTorch's lerp_: m + w (g - m), or g - (1 - w) (g - m)
                m = m + (g - m) * weight
            else:
                m = g - (g - m) * one_minus_weight
            v = exp_avg_sq[i] * beta2 + (g * one_minus_beta2) * g
            denominator = math.sqrt(v) / bias_correction2_sqrt + eps
            exp_avg[i], exp_avg_sq[i] = m, v
            param[i] = p + (m * negative_step_size) / denominator

    return adam


ADAM = Fused("adam", _adam_kernel, _adam_binds)
