"""The margin losses over class scores (``multi_margin_loss``, ``multilabel_margin_loss``) and
the triplet loss with any distance (``triplet_margin_with_distance_loss``); the other losses
are in ``loss.py``.

All three are compositions of ember ops, so they differentiate to any order. The hinge is
``relu``, whose gradient at 0 is 0: PyTorch's kernels add no gradient where a margin is
met exactly.
"""

from __future__ import annotations

from ember import _tape
from ember._autocast import FLOAT32, autocasts
from ember._backend import device_index, to_device, to_host, xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.autograd.grad_mode import is_grad_enabled
from ember.nn._functional.distance import pairwise_distance
from ember.nn._functional.loss import _reduce, _reduction
from ember.ops._function import _legacy
from ember.ops.elementwise import clamp_min, minimum, relu

__all__ = ["multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"]


def _check_scores(input: Tensor) -> tuple:
    """(N, C) of the scores ``input``: (N, C), (C,) or a 0-d score (N = 1)."""
    if not ((input.ndim <= 1 and input.numel() > 0) or (input.ndim == 2 and input.shape[1] > 0)):
        raise RuntimeError(
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )
    return (input.shape[0], input.shape[1]) if input.ndim == 2 else (1, input.numel())


def _check_floating(input: Tensor, kernel: str) -> None:
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(input.dtype)}\'')


def _check_dtype(expected, tensor: Tensor) -> None:
    if tensor.dtype != expected:
        raise RuntimeError(
            f"expected scalar type {_legacy(expected)} but found {_legacy(tensor.dtype)}"
        )


def _host_targets(target: Tensor):
    """The class indices on the host: their values choose the loss's terms."""
    return to_host(target._data).astype(xp.int64, copy=False)


def _constant(array, like: Tensor) -> Tensor:
    """A host array as a constant tensor of ``like``'s dtype, on its device."""
    data = to_device(array.astype(like._data.dtype), device_index(like._data))
    return _tape.made(Tensor._make(data))


@autocasts(FLOAT32)
def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss: for each sample with scores x and class y,

    loss = Σ_{i ≠ y} w_y · max(0, margin - x_y + x_i)^p / C.

    Args:
        input: the scores, (N, C) or (C,).
        target: the class of each sample, int64: (N,), or () or (1,) for one sample.
        p: 1 or 2.
        margin: how far the true class's score must exceed each other one.
        weight: (C,) a weight per class, applied by the sample's true class.
        reduction: 'mean' (over the samples), 'sum' or 'none'.

    Shape: → () or, with 'none', (N,) (for a 1-D input, the target's shape).

    Returns:
        The loss.

    Example::

        >>> F.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
        tensor(0.3250)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    samples, classes = _check_scores(input)
    if target.ndim > 1 or target.numel() != samples:
        raise RuntimeError(
            "multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{samples}], but got "
            f"{list(target.shape)}. Input has shape {list(input.shape)}."
        )
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(
            f"inconsistent weight size, expected {classes} but got {list(weight.shape)}"
        )
    _check_floating(input, "multi_margin_loss_cpu_kernel")
    if weight is not None:
        _check_dtype(input.dtype, weight)
        if weight.requires_grad and is_grad_enabled():
            raise RuntimeError(
                "The function 'multi_margin_loss' is not differentiable with respect to "
                "argument 'weight'. This input cannot have requires_grad True."
            )
    _check_dtype(int64, target)
    labels = _host_targets(target)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise RuntimeError("target out of range")
    scores = input.reshape(samples, classes)
    column = target.reshape(samples, 1)
    hinge = relu(margin - scores.gather(1, column) + scores)
    if p == 2:
        hinge = hinge * hinge
    others = xp.ones((samples, classes))
    others[xp.arange(samples), labels.reshape(samples)] = 0  # the true class has no term
    hinge = hinge * _constant(others, input)
    if weight is not None:
        hinge = hinge * weight.gather(0, column.reshape(samples)).unsqueeze(1)
    loss = hinge.sum(1) / classes
    if reduction == "none":
        return loss if input.ndim == 2 else loss.reshape(target.shape)
    return _reduce(loss, reduction)


def _target_sets(labels) -> tuple:
    """From targets (N, C) listing classes up to a first -1: which entries are listed, and
    which classes are targets (both (N, C))."""
    listed = xp.cumprod(labels >= 0, axis=1).astype(bool)
    targets = xp.zeros(labels.shape, dtype=bool)
    rows = xp.broadcast_to(xp.arange(labels.shape[0])[:, None], labels.shape)
    targets[rows[listed], labels[listed]] = True
    return listed, targets


@autocasts(FLOAT32)
def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """The multi-label hinge loss: for each sample with scores x and target classes Y,

    loss = Σ_{j ∈ Y} Σ_{i ∉ Y} max(0, 1 - (x_j - x_i)) / C.

    Args:
        input: the scores, (N, C) or (C,).
        target: int64 of the input's shape: each row lists the sample's classes, ended by
            the first -1 (what follows it is ignored); a class listed twice counts twice.
        reduction: 'mean' (over the samples), 'sum' or 'none'.

    Shape: → () or, with 'none', (N,) (() for a 1-D input).

    Returns:
        The loss.

    Example::

        >>> x = ember.tensor([[0.1, 0.2, 0.4, 0.8]])
        >>> F.multilabel_margin_loss(x, ember.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    reduction = _reduction(size_average, reduce, reduction)
    samples, classes = _check_scores(input)
    if input.ndim == 2:
        fits = target.ndim == 2 and tuple(target.shape) == (samples, classes)
    else:
        fits = target.ndim <= 1 and target.numel() == classes
    if not fits:
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: "
            f"{list(input.shape)}"
        )
    labels = _host_targets(target).reshape(samples, classes)
    if labels.size and (labels.min() < -1 or labels.max() >= classes):
        raise RuntimeError("argument #2 'target' is out of range")
    _check_dtype(int64, target)
    _check_floating(input, "multilabel_margin_loss_forward_out_frame")
    scores = input.reshape(samples, classes)
    listed, targets = _target_sets(labels)
    longest = int(listed.sum(1).max(initial=0))  # only the listed targets get a term
    chosen = xp.where(listed, labels, 0)[:, :longest]
    truth = scores.gather(1, _constant(chosen, target))  # (N, longest)
    hinge = relu(1 - truth.unsqueeze(2) + scores.unsqueeze(1))  # (N, longest, C)
    pairs = listed[:, :longest, None] & ~targets[:, None, :]  # a listed target, a non-target
    loss = (hinge * _constant(pairs, input)).sum((1, 2)) / classes
    if reduction == "none":
        return loss if input.ndim == 2 else loss.reshape(())
    return _reduce(loss, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin) for any distance ``d``.

    Args:
        anchor, positive, negative: tensors of one number of dims.
        distance_function: a function of two tensors giving their distances (default
            ``pairwise_distance``).
        margin: a positive margin.
        swap: use min(d(a, n), d(p, n)) as the negative distance.
        reduction: 'mean', 'sum' or 'none'.

    Shape: (N, D) or (D,) each → () or, with 'none', what the distance gives: (N,) or ().

    Returns:
        The loss.

    Example::

        >>> a = ember.zeros(2, 3)
        >>> F.triplet_margin_with_distance_loss(a, a + 1, a - 2)
        tensor(0.)
    """
    _reduction(None, None, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    distance = distance_function if distance_function is not None else pairwise_distance
    positive_distance = distance(anchor, positive)
    negative_distance = distance(anchor, negative)
    if swap:
        negative_distance = minimum(negative_distance, distance(positive, negative))
    return _reduce(clamp_min(margin + positive_distance - negative_distance, 0), reduction)
