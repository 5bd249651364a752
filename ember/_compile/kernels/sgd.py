"""Plain SGD's update of a float32 parameter (no momentum, no weight decay) in one loop."""

from __future__ import annotations

import functools

from ember._backend import xp
from ember._compile.kernels._common import C_LAYOUTS, Fused, bound_step
from ember._tensor import Tensor
from ember.autograd.function import count_optimizer_step
from ember.optim.optimizer import _add_scaled_
from ember.optim.sgd import SGD


def _sgd_binds(step, role):
    return bound_step(step, SGD, _sgd_step) if role == "forward" else None


def _sgd_step(optimizer, kernel) -> None:
    """``optimizer.step()`` where every group is plain SGD with a float learning rate (no
    momentum, weight decay or ``maximize``): the kernel per parameter that has a dense
    gradient, and what ``Optimizer._step`` does around it (each stepped parameter's
    version, the thread's step count; a sparse gradient's dense equivalent). Such a group
    keeps no state. Any other group sends the whole step through ``Optimizer._step``, each
    group through ``_sgd_update_group``.

    It reads no more than the update needs: in nand's compiled step, ``Optimizer._step``'s
    general walk around the four kernels took about three times as long as the kernels
    (``docs/benchmarks.md``, the eighteenth session)."""
    groups = optimizer.param_groups
    for group in groups:
        if group["momentum"] != 0 or group["weight_decay"] != 0 or group["maximize"] or \
                type(group["lr"]) is not float:
            optimizer._step(None, functools.partial(_sgd_update_group, optimizer, kernel))
            return
    for group in groups:
        alpha = -group["lr"]
        scale = xp.float32(alpha)
        for param in group["params"]:
            grad = param._grad
            if grad is None:
                continue
            array = param._data
            grad = grad._data if type(grad) is Tensor else optimizer._sparse_grad(
                grad, optimizer._options(group))
            try:  # as in ``_sgd_update_group``
                if not kernel(array, grad, scale):
                    _add_scaled_(array, grad, alpha)
            except TypeError:
                _add_scaled_(array, grad, alpha)
            param._version_counter[0] += 1
    count_optimizer_step()


def _sgd_update_group(optimizer, kernel, params, grads, states, group) -> None:
    """``SGD._update_group`` through the fused kernel: ``param += -lr * grad`` per element,
    as ``_add_scaled_`` computes it (the Python number rounded to float32, as NumPy rounds
    one that meets a float32 array, then a float32 product and a float32 sum). A group with
    momentum or weight decay goes as eagerly, and so does a parameter the kernel does not
    take: numba refuses (TypeError) any but C-contiguous float32 NumPy arrays of 1 to 4
    dims, which is cheaper than testing each parameter first, and the kernel itself says
    no (False) to a gradient of another shape."""
    if group["weight_decay"] != 0 or group["momentum"] != 0:
        return SGD._update_group(optimizer, params, grads, states, group)
    alpha = -group["lr"]
    scale = xp.float32(alpha)
    for param, grad in zip(params, grads):
        try:
            if kernel(param, grad, scale):
                continue
        except TypeError:
            pass
        _add_scaled_(param, grad, alpha)


def _sgd_kernel(numba):
    """``param += alpha * grad`` over one float32 parameter of 1 to 4 dims, C-contiguous,
    where ``grad`` has its shape (True); False, changing nothing, where it has another."""
    signatures = [f"boolean(float32[{dims}], float32[{dims}], float32)" for dims in C_LAYOUTS]

    @numba.njit(signatures, nogil=True, error_model="numpy")
    def sgd(param, grad, alpha):
        if param.shape != grad.shape:
            return False
        flat_param, flat_grad = param.reshape(-1), grad.reshape(-1)  # views: C-contiguous
        for i in range(flat_param.shape[0]):
            flat_param[i] = flat_param[i] + alpha * flat_grad[i]
        return True

    return sgd


SGD_UPDATE = Fused("sgd", _sgd_kernel, _sgd_binds)
