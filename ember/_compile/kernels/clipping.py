"""``clip_grad_norm_``'s 2-norm of each float32 gradient in one call, with NumPy's sums."""

from __future__ import annotations

import functools
import inspect
import math

from ember._backend import ndarray, xp
from ember._compile.kernels._common import Fused, pairwise_sum
from ember._dtype import float32
from ember._tensor import Tensor
from ember.nn.utils.clip_grad import (
    _as_list,
    _check_finite,
    _plain,
    clip_grad_norm_,
    clip_grads_with_norm_,
)
from ember.ops.linalg import LinalgVectorNorm

_CLIP_GRAD_NORM = clip_grad_norm_.__wrapped__  # what a compiled call records (``_tape``)


def _clip_binds(step, role):
    if role == "forward" and step.kind == "call" and step.op.func is _CLIP_GRAD_NORM:
        call = inspect.signature(_CLIP_GRAD_NORM).bind(*step.op.args, **step.op.keywords)
        call.apply_defaults()
        arguments = call.arguments
        if float(arguments["norm_type"]) == 2.0 and all(
                p.dtype is float32 for p in _as_list(arguments["parameters"])):
            return functools.partial(_clip_call, step.op)
    return None


def _clip_call(call, kernel):
    """The compiled program's ``clip_grad_norm_(...)`` call, its norms through the kernel."""
    return functools.partial(_clip_grad_norm, kernel, *call.args, **call.keywords)


def _clip_grad_norm(kernel, parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """``clip_grad_norm_``: each gradient's norm ``sqrt(sum(g * g))`` from the kernel, the
    rest as eagerly (the total norm of the norms, the check, the scaling). Gradients that
    are not all plain contiguous float32 arrays, or another norm, go as eagerly."""
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if float(norm_type) != 2.0 or not grads or not _plain(grads, float32) or not all(
            type(g._data) is ndarray and g._data.flags.c_contiguous for g in grads):
        return _CLIP_GRAD_NORM(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
    arrays = [g._data for g in grads]
    norms = xp.empty(len(arrays), xp.float32)
    scratch = xp.empty(max(a.size for a in arrays), xp.float32)
    for index, array in enumerate(arrays):
        norms[index] = kernel(array.ravel(), scratch)
    total = Tensor._make(LinalgVectorNorm.compute(norms, 2.0, (0,), False))
    if error_if_nonfinite:
        _check_finite(total, 2.0)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def _norm_kernel(numba):
    """``sqrt(sum(a * a))`` of a contiguous float32 array, as ``LinalgVectorNorm.compute``
    makes it: the squares rounded to float32 (into ``scratch``), then NumPy's pairwise sum."""
    row_sum = pairwise_sum(numba)

    @numba.njit("float32(float32[::1], float32[::1])", nogil=True)
    def norm(a, scratch):
        squares = scratch[: a.shape[0]]
        for i in range(a.shape[0]):
            squares[i] = a[i] * a[i]
        return math.sqrt(row_sum(squares))

    return norm


CLIP = Fused("clip", _norm_kernel, _clip_binds)
