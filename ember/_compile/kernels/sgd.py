"""Plain SGD's update of a float32 parameter (no momentum, no weight decay) in one loop."""

from __future__ import annotations

from ember._backend import xp
from ember._compile.kernels._common import C_LAYOUTS, Fused, optimizer_step
from ember.optim.optimizer import _add_scaled_
from ember.optim.sgd import SGD


def _sgd_binds(step, role):
    return optimizer_step(step, SGD, _sgd_update_group) if role == "forward" else None


def _sgd_update_group(optimizer, kernel, params, grads, states, group) -> None:
    """``SGD._update_group`` through the fused kernel: ``param += -lr * grad`` per element,
    as ``_add_scaled_`` computes it (the Python number rounded to float32, as NumPy rounds
    one that meets a float32 array, then a float32 product and a float32 sum). A group with
    momentum or weight decay goes as eagerly, and so does a parameter the kernel does not
    take: numba refuses (TypeError) any but contiguous float32 NumPy arrays, which is
    cheaper than testing each parameter first."""
    if group["weight_decay"] != 0 or group["momentum"] != 0:
        return SGD._update_group(optimizer, params, grads, states, group)
    alpha = -group["lr"]
    scale = xp.float32(alpha)
    for param, grad in zip(params, grads):
        if param.shape == grad.shape:
            try:
                kernel(param, grad, scale)
                continue
            except TypeError:
                pass
        _add_scaled_(param, grad, alpha)


def _sgd_kernel(numba):
    """``param += alpha * grad`` over one float32 parameter of 1 to 4 dims, C-contiguous
    (see ``_sgd_update_group``)."""
    signatures = [f"void(float32[{dims}], float32[{dims}], float32)" for dims in C_LAYOUTS]

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def sgd(param, grad, alpha):
        flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)  # views: C-contiguous
        for i in range(flat_param.shape[0]):
            flat_param[i] = flat_param[i] + alpha * flat_grad[i]

    return sgd


SGD_UPDATE = Fused("sgd", _sgd_kernel, _sgd_binds)
