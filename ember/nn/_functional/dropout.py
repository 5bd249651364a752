"""Dropout: elementwise, channel-wise (``dropout1d/2d/3d``) and alpha dropout.

Each is the input times a constant random mask (``input * mask``, then ``+ b`` for alpha
dropout), composed as PyTorch composes them on the CPU, so the gradient is the same mask
and differentiates again. Masks are drawn from ember's default generator, so
``ember.manual_seed`` makes them reproducible; the draws differ from PyTorch's.
"""

from __future__ import annotations

import math
import warnings

from ember._tensor import Tensor
from ember.ops._function import _legacy, inplace as _write_inplace, snapshot
from ember.ops.random import rand

__all__ = [
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
]  # fmt: skip

# selu_alpha * selu_scale: SELU saturates at minus this, the value alpha dropout drops to.
_ALPHA = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, p: float, feature: bool) -> Tensor:
    """1 where an element (or, with ``feature``, a whole channel) is kept, else 0."""
    if feature:
        if input.ndim < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(input.shape)
    return (rand(shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool,
             alpha: bool, name: str) -> Tensor:
    if p == 0 or not training or input.numel() == 0:
        return input
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"result type Float can't be cast to the desired output type {_legacy(input.dtype)}"
        )

    def compute(x):
        if p == 1:
            return x * x.new_zeros(())
        keep = _keep_mask(x, p, feature)
        if not alpha:
            return x * (keep * (1.0 / (1.0 - p)))
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        shift = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
        return x * (keep * a) + shift

    if inplace:
        return _write_inplace(input, compute(snapshot(input)), name)
    return compute(input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    Identity when not ``training``. ``p=1`` gives zeros.

    Example::

        >>> ember.manual_seed(0)
        >>> F.dropout(ember.ones(4), 0.5)  # each entry is 0 or 2
    """
    _check_p(p)
    return _dropout(input, p, training, inplace, False, False, "dropout_")


def _channel_dropout(input, p, training, inplace, batched: bool, name) -> Tensor:
    """Channel-wise dropout; an unbatched input is run as a batch of one."""
    if batched or p == 0 or not training or input.numel() == 0:
        return _dropout(input, p, training, inplace, True, False, name)
    if not inplace:
        return _dropout(input.unsqueeze(0), p, training, False, True, False, name).squeeze(0)
    result = _dropout(snapshot(input).unsqueeze(0), p, training, False, True, False, name)
    return _write_inplace(input, result.squeeze(0), name)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``: input (N, C, L) or (C, L)."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    return _channel_dropout(input, p, training, inplace, input.ndim == 3, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``: input (N, C, H, W) or (N, C, L).

    A 3-D input is read as (N, C, L), with PyTorch's warning.
    """
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret "
            "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
            "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _dropout(input, p, training, inplace, True, False, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p``: input (N, C, D, H, W) or (C, D, H, W)."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, input.ndim == 5, "dropout3d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's self-normalization: dropped entries become -α' and the
    result is affinely rescaled to keep zero mean and unit variance.
    """
    _check_p(p)
    return _dropout(input, p, training, inplace, False, True, "alpha_dropout_")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (dim 1)."""
    _check_p(p)
    return _dropout(input, p, training, inplace, True, True, "feature_alpha_dropout_")
