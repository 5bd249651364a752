"""Gradient clipping: rescale the gradients of a set of parameters in place.

``clip_grad_norm_`` = ``get_total_norm`` of the gradients, then ``clip_grads_with_norm_``.
All run without recording a graph. ``foreach`` is accepted for PyTorch compatibility;
ember has one (NumPy) implementation, so it changes nothing.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

from ember import _tape
from ember._backend import device_index, xp
from ember._dtype import float32, float64
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.linalg import vector_norm
from ember.ops.creation import tensor
from ember.ops.elementwise import clamp
from ember.ops.linalg import LinalgVectorNorm
from ember.ops.shape import stack

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]  # fmt: skip


def _as_list(tensors) -> list:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """‖(‖t₁‖, ‖t₂‖, ...)‖: the p-norm of all the tensors seen as one vector.

    Args:
        tensors: a tensor or an iterable of tensors.
        norm_type: p of the p-norm; ``float('inf')`` (or ``'inf'``) for the max-norm.
        error_if_nonfinite: raise a RuntimeError if the total norm is nan or ±inf.

    Returns:
        A 0-d tensor (0.0 when there are no tensors).
    """
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    if (_plain(tensors, tensors[0].dtype) and norm_type >= 0 and not math.isinf(norm_type)
            and _tape.current() is None):  # a recording sees ops, not this
        # the same kernel as below on the arrays, without an op call per tensor
        norms = [LinalgVectorNorm.compute(t._data, norm_type, tuple(range(t.ndim)), False)
                 for t in tensors]
        total = Tensor._make(LinalgVectorNorm.compute(xp.stack(norms), norm_type, (0,), False))
    else:
        with no_grad():
            norms = [vector_norm(t, norm_type) for t in tensors]
            total = vector_norm(stack(norms), norm_type)
    if error_if_nonfinite:
        _check_finite(total, norm_type)
    return total


def _check_finite(total: Tensor, norm_type: float) -> None:
    """``error_if_nonfinite``'s error, where the total norm is nan or ±inf."""
    if not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )


@_tape.replayed(python_state=False)  # a compiled call replays it whole
def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """grad ← grad · min(max_norm / (total_norm + 1e-6), 1) for every parameter with a grad."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        coefficient = clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        if _plain(grads, coefficient.dtype) and coefficient.ndim == 0:
            # ``mul_`` on the arrays, which round as it does (one dtype throughout)
            for grad in grads:
                grad._data *= coefficient._data
                grad._version_counter[0] += 1
            return
        for grad in grads:
            grad.mul_(coefficient)


def _plain(tensors, dtype) -> bool:
    """Dense float32 or float64 tensors of ``dtype`` on one device, with no graph: their
    arrays may be worked on directly."""
    if dtype not in (float32, float64) or any(type(t) is not Tensor for t in tensors):
        return False  # a sparse tensor's array is not its values
    device = device_index(tensors[0]._data)
    return all(t.dtype is dtype and t.grad_fn is None and not t._requires_grad
               and device_index(t._data) == device for t in tensors)


@_tape.replayed(python_state=False)  # a compiled call replays it whole
def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients by min(1, max_norm / (total_norm + 1e-6)), in place.

    The total norm is the ``norm_type``-norm of all the gradients seen as one vector.

    Args:
        parameters: a tensor or an iterable of tensors whose ``.grad`` is clipped.
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm (``float('inf')`` for the max-norm), default 2.
        error_if_nonfinite: raise instead of scaling when the total norm is nan or ±inf.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example::

        >>> loss.backward()
        >>> nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> optimizer.step()
    """
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = _as_list(parameters)
    if is_generator and not parameters:
        warnings.warn(
            "`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=2
        )
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@_tape.replayed(python_state=False)  # a compiled call replays it whole
def clip_grad_value_(
    parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient elementwise into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for parameter in _as_list(parameters):
            if parameter.grad is not None:
                parameter.grad.clamp_(min=-clip_value, max=clip_value)
