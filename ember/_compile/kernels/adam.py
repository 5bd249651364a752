"""Adam's and AdamW's update of a float32 parameter in one loop."""

from __future__ import annotations

import math

from ember._backend import xp
from ember._compile.kernels._common import Fused, contiguous_float32, optimizer_step
from ember.optim.adam import Adam
from ember.optim.optimizer import _increment, _to_float


def _adam_binds(step, role):
    return optimizer_step(step, Adam, _adam_update_group) if role == "forward" else None


def _adam_update_group(optimizer, kernel, params, grads, states, group) -> None:
    """``Adam._update_group`` a parameter at a time through the fused kernel: per element
    the arithmetic of ``adam._decayed`` and ``adam._adam_step``, in float32 with their
    Python numbers rounded to float32 as NumPy rounds them. A group or a parameter the
    kernel does not take (amsgrad, another dtype or device, a strided array) goes as
    eagerly. The kernel's ten numbers come in one float32 array, in the order the kernel
    unpacks them, each rounded as NumPy rounds a Python number that meets a float32 array:
    numba checks the type of each argument of a call, and one array is cheaper than ten."""
    if group["amsgrad"]:
        return Adam._update_group(optimizer, params, grads, states, group)
    lr, weight_decay = group["lr"], group["weight_decay"]
    beta1, beta2 = (_to_float(beta) for beta in group["betas"])
    decay = 0 if weight_decay == 0 else 1 if group["decoupled_weight_decay"] else 2  # 1: AdamW
    weight = 1 - beta1
    constants = xp.array([decay, 1 - lr * weight_decay if decay == 1 else weight_decay,
                          abs(weight) < 0.5, weight, 1 - weight, beta2, 1 - beta2,
                          0, group["eps"], 0], xp.float32)
    last_step = None
    for param, grad, state in zip(params, grads, states):
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        if not _takes(param, grad, exp_avg, exp_avg_sq):
            optimizer._update(param, grad, state, group)
            continue
        step = _increment(state["step"])
        if step != last_step:  # the group's parameters usually share their step count
            last_step = step
            constants[7] = (1 - beta2**step) ** 0.5  # bias_correction2_sqrt
            constants[9] = -(lr / (1 - beta1**step))  # negative_step_size
        kernel(param.ravel(), grad.ravel(), exp_avg.ravel(), exp_avg_sq.ravel(), constants)


def _takes(param, grad, exp_avg, exp_avg_sq) -> bool:
    """Whether the kernel takes these: float32 NumPy arrays of one shape, contiguous."""
    return contiguous_float32(param, grad, exp_avg, exp_avg_sq) and \
        param.shape == grad.shape == exp_avg.shape == exp_avg_sq.shape


def _adam_kernel(numba):
    """Adam's update of one float32 parameter in one loop (see ``_adam_update_group``)."""

    @numba.njit("void(float32[::1], float32[::1], float32[::1], float32[::1], float32[::1])",
                nogil=True, error_model="numpy")
    def adam(param, grad, exp_avg, exp_avg_sq, constants):
        decay, factor, small_weight, weight, one_minus_weight, beta2, one_minus_beta2, \
            bias_correction2_sqrt, eps, negative_step_size = constants
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
