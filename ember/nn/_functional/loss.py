"""Loss functions (the modules in ``nn.modules.loss`` are thin shells over these).

Three losses are fused ops with a hand-written backward: ``mse_loss`` (one node instead of
three), ``nll_loss`` (a gather whose gradient is a constant scatter; ``cross_entropy`` is
``log_softmax`` + ``nll_loss``, both stable) and ``binary_cross_entropy`` (its logs are
clamped at -100, where a composed gradient would be infinite). Every other loss is
composed from ember ops, as PyTorch composes it, and so is differentiable twice.

``reduction`` is 'mean' (the default), 'sum' or 'none'; the deprecated ``size_average``
and ``reduce`` flags still choose it when given, with PyTorch's warning.
"""

from __future__ import annotations

import math
import warnings
from functools import partial
from math import prod

from ember._autocast import FLOAT32, autocasts
from ember._backend import asarray, defer_check, ndarray, xp
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn._functional.activation import logsigmoid
from ember.ops._function import (
    Check,
    Lowered,
    Op,
    _legacy,
    broadcast_shape,
    lowerable,
    promote,
)
from ember.ops.creation import ones_like
from ember.ops.elementwise import clamp_min, exp, log, minimum, where, xlogy
from ember.ops.softmax import log_softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
]  # fmt: skip

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------- reduction helpers


def _legacy_reduction(size_average, reduce) -> str:
    """The reduction named by the deprecated flags (both default to True), with the warning."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(
        f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
        "instead.",
        stacklevel=3,
    )
    return reduction


def _reduction(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_broadcast(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean) -> Tensor:
    """PyTorch 2.13's elementwise ``weight`` option of l1/mse/huber; ``mean`` is the mean rule."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return mean(loss)


# ---------------------------------------------------------------- regression


@autocasts(FLOAT32)
def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """mean(|input - target|) (or sum, or elementwise with ``reduction='none'``).

    ``weight`` (same shape as input) scales each term; 'mean' then divides by its sum.
    """
    _warn_broadcast(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, weight, input, reduction, lambda w: w.sum() / weight.sum())
    return _reduce(loss, reduction)


@autocasts(FLOAT32)
def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """mean((input - target)²).

    Warns, as PyTorch does, when the shapes differ and broadcasting decides the result.
    ``weight`` (same shape as input) scales each term; 'mean' then divides by its sum.
    """
    _warn_broadcast(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    broadcast_shape("mse_loss", input.shape, target.shape)
    if weight is not None:
        loss = (input - target) ** 2
        return _weighted(loss, weight, input, reduction, lambda w: w.sum() / weight.sum())
    return MseLoss.apply(input, target, reduction)


class MseLoss(Op):
    """(input - target)², reduced; one node (``MseLossBackward0``) instead of three."""

    @staticmethod
    def forward(ctx, input, target, reduction):
        input, target = promote(input, target)
        ctx.save_for_backward(input, target)
        result = MseLoss.compute(input, target, reduction)
        ctx.reduction = reduction
        ctx.count = input.size if input.shape == target.shape else \
            prod(xp.broadcast_shapes(input.shape, target.shape))
        return result

    @staticmethod
    def compute(input, target, reduction):
        difference = input - target
        squared = difference * difference
        if reduction == "mean":
            total = squared.sum()  # xp.mean costs several times this on small arrays
            return xp.true_divide(total, squared.size, dtype=total.dtype)
        return xp.sum(squared) if reduction == "sum" else squared

    @staticmethod
    def gradients(xp, ctx, grad):
        input, target = xp.saved(ctx)
        return MseLoss.chain(grad, input, target, ctx.reduction, ctx.count,
                             ctx.needs_input_grad)

    @staticmethod
    def _scale(reduction, count) -> float:
        """The factor of ``grad * (input - target)`` in the input's gradient: 2, over the
        count for a mean (``chain``'s, and its written form's)."""
        return 2.0 / count if reduction == "mean" else 2.0

    @staticmethod
    def chain(grad, input, target, reduction, count, needs):
        grad_input = (input - target) * (grad * MseLoss._scale(reduction, count))
        return (grad_input if needs[0] else None, -grad_input if needs[1] else None, None)

    @classmethod
    def lower(cls, needs, out, input, target, reduction):
        if not lowerable(input, target) or (input.shape, input.dtype) != (target.shape,
                                                                          target.dtype):
            return None  # promotion or broadcasting: the forward's own
        count = prod(input.shape)
        scale = cls._scale(reduction, count)

        def written_forward(out, input, target, _):
            lines = [f"{out} = {input} - {target}", f"{out} = {out} * {out}"]
            if reduction == "mean":
                return lines + [f"{out} = {out}.sum()",
                                f"{out} = xp.true_divide({out}, {count}, dtype={out}.dtype)"]
            return lines + [f"{out} = xp.sum({out})"] if reduction == "sum" else lines

        def written_backward(results, grad, input, target):
            grad_input, grad_target = results[:2]
            product = f"({input} - {target}) * ({grad} * {scale!r})"
            if grad_input is None:
                return [f"{grad_target} = -({product})"]
            return [f"{grad_input} = {product}"] + (
                [f"{grad_target} = -{grad_input}"] if grad_target else [])

        return Lowered(cls.compute, (0, 1), lambda grad, input, target: cls.chain(
            grad, input, target, reduction, count, needs), written_forward=written_forward,
            written_backward=written_backward)


@autocasts(FLOAT32)
def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta, for d = input - target.

    ``beta=0`` is the L1 loss.
    """
    _warn_broadcast(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    difference = input - target
    distance = difference.abs()
    if beta == 0:
        return _reduce(distance, reduction)
    loss = where(distance < beta, (0.5 / beta) * difference * difference, distance - 0.5 * beta)
    return _reduce(loss, reduction)


@autocasts(FLOAT32)
def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """0.5 d² where |d| < delta, else delta (|d| - 0.5 delta), for d = input - target.

    ``weight`` (same shape as input) scales each term before the plain mean or sum.
    """
    _warn_broadcast(input, target)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    difference = input - target
    distance = difference.abs()
    loss = where(distance < delta, 0.5 * difference * difference, delta * (distance - 0.5 * delta))
    if weight is not None:
        return _weighted(loss, weight, input, reduction, lambda w: w.mean())
    return _reduce(loss, reduction)


# ---------------------------------------------------------------- classification


_BCE_EPSILON = 9.999999960041972e-13  # PyTorch's 1e-12 is a float32 constant, even for doubles


class BinaryCrossEntropy(Op):
    """-w [t log x + (1 - t) log(1 - x)], each log clamped at -100 as in PyTorch.

    Hand-written because the composed gradient would be infinite at x = 0 or 1; PyTorch's
    is (x - t) / max(x (1 - x), 1e-12). The target gets -logit(x) (unclamped, as PyTorch).
    """

    @staticmethod
    def forward(ctx, x, t, weight, reduction):
        for name, values in (("input", x), ("target", t)):
            if not _within_unit_interval(values):
                raise RuntimeError(f"all elements of {name} should be between 0 and 1")
        x, t = promote(x, t)
        loss = (t - 1) * xp.maximum(xp.log1p(-x), -100) - t * xp.maximum(xp.log(x), -100)
        if weight is not None:
            loss = loss * weight.astype(loss.dtype, copy=False)
        ctx.reduction, ctx.count = reduction, loss.size
        ctx.save_for_backward(x, t, weight)
        if reduction == "mean":
            return asarray(xp.mean(loss) if loss.size else xp.nan, dtype=loss.dtype)
        return xp.sum(loss) if reduction == "sum" else loss

    @staticmethod
    def gradients(xp, ctx, grad):
        # weight has the target's shape (expanded), so a 0-d weight never meets a 1-d grad
        x, t, weight = xp.saved(ctx)
        if ctx.reduction == "mean":
            grad = grad / ctx.count
        if weight is not None:
            grad = grad * weight
        needs = ctx.needs_input_grad
        grad_x = grad_t = None
        if needs[0]:
            grad_x = grad * (x - t) / xp.clip(x * (1 - x), _BCE_EPSILON, None)
        if needs[1]:
            grad_t = grad * (xp.log(1 - x) - xp.log(x))
        return grad_x, grad_t, None, None


def _within_unit_interval(values) -> bool:
    """Whether every element is in [0, 1]: NaN is not, as PyTorch's check says."""
    return bool(((values >= 0) & (values <= 1)).all())


@autocasts(FLOAT32)
def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-w [t log x + (1 - t) log(1 - x)] for probabilities x in [0, 1] (logs clamped at -100).

    Shape: input (*), target (*) of the same shape, weight broadcastable to it.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    if target.dtype is not input.dtype:
        raise RuntimeError(
            f"Found dtype {_legacy(target.dtype)} but expected {_legacy(input.dtype)}"
        )
    if weight is not None:
        weight = weight.expand(broadcast_shape("binary_cross_entropy", target.shape, weight.shape))
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


@autocasts(FLOAT32)
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """binary_cross_entropy(σ(x), t) computed stably: (1 - t) x - (1 + (p - 1) t) log σ(x).

    ``pos_weight`` (p, broadcast along the last dim) weighs the positive term; ``weight``
    scales each element.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    log_weight = 1 if pos_weight is None else (pos_weight - 1) * target + 1
    loss = (1 - target) * input - log_weight * logsigmoid(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class NllLoss(Op):
    """-w[t] x[n, t[n], ...] per element: a gather, whose gradient is a constant scatter.

    The gradient ``grad * coefficient`` (coefficient = -w[t] / total at the target class)
    is linear in ``grad``, so it is differentiable again.
    """

    @staticmethod
    def forward(ctx, x, target, weight, reduction, ignore_index):
        batched = x.ndim > 1
        x2 = x if batched else x[None]
        target2 = (target if batched else target.reshape(1)).astype(xp.int64, copy=False)
        on_host = type(x) is ndarray
        safe, ignored, unchecked = (_host_targets if on_host else _device_targets)(
            target2, x2.shape[1], ignore_index
        )
        # weights None stands for all ones (no class weight, no ignored target)
        weights = None
        if weight is not None or ignored is not None:
            weights = weight[safe] if weight is not None else xp.ones(safe.shape, x.dtype, like=x)
            if ignored is not None:
                weights = xp.where(ignored, 0, weights)
            weights = weights.astype(x.dtype, copy=False)
        rows = xp.arange(safe.shape[0], like=x) if x2.ndim == 2 else None
        if rows is not None:
            picked = x2[rows, safe]
        else:
            picked = xp.take_along_axis(x2, safe[:, None], axis=1)[:, 0]
        if unchecked is not None:  # out-of-range targets, until the deferred check raises
            picked = xp.where(unchecked, xp.nan, picked)
        losses = -picked if weights is None else -picked * weights
        one = x.dtype.type(1)
        scale = one if weights is None else weights
        if reduction == "none":
            result = losses if batched else losses.reshape(())
        elif reduction == "sum":
            result = losses.sum()  # the method skips NumPy's wrapper
        else:
            total = x.dtype.type(safe.size) if weights is None else weights.sum()
            result = losses.sum() / total
            # no counted target: the loss is 0/0 = nan, but PyTorch's gradient is zero
            if on_host or weights is None:
                scale = scale / total if total else scale
            else:  # a GPU's total stays there
                scale = scale / xp.where(total == 0, one, total)
        ctx.reduction, ctx.batched = reduction, batched
        coefficient = xp.zeros_like(x2)
        if rows is not None:
            coefficient[rows, safe] = -scale
        else:
            values = -scale if weights is None else -scale[:, None]
            xp.put_along_axis(coefficient, safe[:, None], values, axis=1)
        ctx.save_for_backward(coefficient.reshape(x.shape))
        return asarray(result, dtype=x.dtype)

    @staticmethod
    def gradients(xp, ctx, grad):
        (coefficient,) = xp.saved(ctx)
        if ctx.reduction == "none" and ctx.batched:
            grad = xp.expand_dims(grad, 1)
        return grad * coefficient, None, None, None, None


def _out_of_range(target, classes: int, ignore_index: int):
    return (target != ignore_index) & ((target < 0) | (target >= classes))


def _host_targets(target, classes: int, ignore_index: int) -> tuple:
    """The targets made safe to index with (ignored ones as 0), where they are ignored
    (None when none is) and where they are out of range, unchecked (None: here they are
    checked, and an out-of-range target raises PyTorch's IndexError)."""
    if (
        target.size
        and 0 <= target.min()
        and target.max() < classes
        and not 0 <= ignore_index < classes
    ):
        return target, None, None  # every target in range and none ignored, at a glance
    out_of_range = _out_of_range(target, classes, ignore_index)
    if out_of_range.any():
        raise _out_of_bounds(target, out_of_range)
    ignored = target == ignore_index
    return (xp.where(ignored, 0, target), ignored, None) if ignored.any() \
        else (target, None, None)


def _out_of_bounds(target, out_of_range) -> IndexError:
    return IndexError(f"Target {int(target[out_of_range][0])} is out of bounds.")


def _device_targets(target, classes: int, ignore_index: int) -> tuple:
    """``_host_targets`` on a GPU, which asks nothing of the values: a check that raised
    would wait for the device, so it is deferred to the next read of values
    (``defer_check``), and the out-of-range places come back for the loss to mark."""
    ignored = target == ignore_index
    out_of_range = _out_of_range(target, classes, ignore_index)
    defer_check(out_of_range.any(), partial(_out_of_bounds, target, out_of_range))
    return xp.where(ignored | out_of_range, 0, target), ignored, out_of_range


class NllLoss2D(NllLoss):
    """``NllLoss`` of a 4-D input, under PyTorch's node name for it."""


def _check_nll(input: Tensor, target: Tensor, weight: Tensor | None) -> None:
    if input.ndim < 1:
        raise RuntimeError(f"Expected 1 or more dimensions (got {input.ndim})")
    target_batch = target.shape[0] if target.ndim else 0
    if input.ndim != 1 and input.shape[0] != target_batch:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
            f"({target_batch})."
        )
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input.ndim > 2:
        expected = [input.shape[0], *input.shape[2:]]
        if list(target.shape) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_legacy(target.dtype)}"
        )
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"nll_loss_out_frame\" not implemented for '{_legacy(input.dtype)}'"
        )
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if weight is not None and (weight.ndim != 1 or weight.numel() != classes):
        raise RuntimeError(
            f"weight tensor should be defined either for all {classes} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)}"
        )


@autocasts(FLOAT32)
def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-weight[t] · input[n, t] for class indices t: the negative log likelihood.

    Args:
        input: log-probabilities, (N, C), (C,) or (N, C, d1, d2, ...).
        target: class indices (int64), (N,), () or (N, d1, d2, ...).
        weight: a weight per class, (C,).
        ignore_index: targets with this value contribute nothing (not to the mean's
            denominator either).
        reduction: 'mean' divides by the sum of the weights of the non-ignored targets.
    """
    reduction = _reduction(size_average, reduce, reduction)
    _check_nll(input, target, weight)
    op = NllLoss2D if input.ndim == 4 else NllLoss
    return op.apply(input, target, weight, reduction, ignore_index)


@autocasts(FLOAT32)
def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """nll_loss(log_softmax(input, class dim), target): softmax cross entropy from logits.

    ``target`` holds class indices (int64, input's shape without the class dim) or class
    probabilities (float, input's shape). ``label_smoothing`` ε mixes the target with the
    uniform distribution: (1 - ε) · loss + ε · mean over classes of -log p.

    Shape: input (N, C), (C,) or (N, C, d1, ...); class dim is 1 (0 for 1-D input).
    """
    reduction = _reduction(size_average, reduce, reduction)
    if input.shape == target.shape:
        if not target.dtype.is_floating_point:
            raise RuntimeError(
                "Expected floating point type for target with class probabilities, got "
                f"{_legacy(target.dtype)}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    class_dim = 0 if input.ndim == 1 else 1
    _check_nll(input, target, weight)
    log_probabilities = log_softmax(input, class_dim)
    op = NllLoss2D if input.ndim == 4 else NllLoss  # nll_loss without checking again
    loss = op.apply(log_probabilities, target, weight, reduction, ignore_index)
    if label_smoothing == 0.0:
        return loss
    return (1 - label_smoothing) * loss + _smoothing_term(
        log_probabilities, target, weight, reduction, ignore_index, class_dim
    ) * (label_smoothing / input.shape[class_dim])


def _class_view(weight: Tensor, ndim: int) -> Tensor:
    """A (C,) weight shaped to broadcast along dim 1 of an ``ndim``-dim input."""
    if ndim <= 1:
        return weight
    return weight.reshape([1, weight.shape[0]] + [1] * (ndim - 2))


def _smoothing_term(log_probabilities, target, weight, reduction, ignore_index, class_dim):
    """Σ over classes of -w_c log p_c per element, zero where ignored, reduced as PyTorch."""
    terms = (
        log_probabilities
        if weight is None
        else log_probabilities * _class_view(weight, log_probabilities.ndim)
    )
    ignored = target == ignore_index
    smooth = where(ignored, 0.0, -terms.sum(class_dim))
    if reduction == "none":
        return smooth
    if reduction == "sum":
        return smooth.sum()
    kept = target._data[~ignored._data]
    if weight is None:
        return smooth.sum() / float(kept.size)
    return smooth.sum() / weight[Tensor._make(kept)].sum()


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    if weight is not None and (weight.ndim != 1 or weight.numel() != classes):
        raise RuntimeError(
            f"cross_entropy: weight tensor should be defined either for all {classes} classes "
            f"or no classes but got weight tensor of shape: {list(weight.shape)}"
        )
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing:g}")
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    products = log_softmax(input, class_dim) * target
    if weight is not None:
        products = products * _class_view(weight, input.ndim)
    if reduction == "none":
        return -products.sum(class_dim)
    total = -products.sum()
    if reduction == "sum":
        return total
    if input.numel() == 0:
        return total * math.nan
    return total / (input.numel() // classes)


@autocasts(FLOAT32)
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """target · (log target - input), pointwise; ``input`` holds log-probabilities.

    ``log_target=True`` takes ``target`` as log-probabilities too. 'batchmean' divides the
    sum by the batch size (the KL divergence's definition); 'mean' divides by every
    element and warns, as PyTorch does.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.",
            stacklevel=2,
        )
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


@autocasts(FLOAT32)
def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """exp(input) - target · input (log_input), or input - target · log(input + eps).

    ``full`` adds the Stirling term t log t - t + 0.5 log(2π t) where target > 1.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        stirling = target * log(target) - target + 0.5 * log(2 * math.pi * target)
        loss = loss + where(target <= 1, 0.0, stirling)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """0.5 (log var + (input - target)² / var) (+ 0.5 log 2π if ``full``).

    ``var`` is the input's shape, or one dim short of it, or 1 in a single dim (one variance
    shared along it), or a float. It is clamped below at ``eps`` without stopping its
    gradient, as PyTorch does.
    """
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    else:  # an op, so that a compiled call checks each call's variances
        Check.values(_refuse_negative_variance, var)
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif (
            input.ndim == var.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _refuse_negative_variance(var) -> None:
    if (var < 0).any():
        raise ValueError("var has negative entry/entries")


# ---------------------------------------------------------------- margins and embeddings


@autocasts(FLOAT32)
def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1.

    Shape: input1, input2 (N, D) with target (N,), or (D,) with a 0-d target.
    """
    reduction = _reduction(size_average, reduce, reduction)
    target_dim = target.ndim
    if target_dim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = 2 if target_dim == 1 else 1
    if input1.ndim != expected or input2.ndim != expected:
        raise RuntimeError(
            f"{target_dim}D target tensor expects {expected}D input tensors, but found inputs "
            f"with sizes {list(input1.shape)} and {list(input2.shape)}."
        )
    product = (input1 * input2).sum(target_dim)
    square1 = (input1 * input1).sum(target_dim) + 1e-12
    square2 = (input2 * input2).sum(target_dim) + 1e-12
    cosine = product / (square1 * square2).sqrt()
    loss = where(target == 1, 1 - cosine, 0.0) + where(
        target == -1, clamp_min(cosine - margin, 0), 0.0
    )
    return _reduce(loss, reduction)


@autocasts(FLOAT32)
def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin)."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} "
        )
    return _reduce(clamp_min(-target * (input1 - input2) + margin, 0), reduction)


@autocasts(FLOAT32)
def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (summed where y is neither)."""
    reduction = _reduction(size_average, reduce, reduction)
    margin_term = where(target != 1, clamp_min(margin - input, 0), 0.0)
    self_term = where(target != -1, input, 0.0)
    return _reduce(margin_term + self_term, reduction)


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    return (x1 - x2 + eps).norm(p, dim=-1)


@autocasts(FLOAT32)
def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)), d the p-norm distance of (x1 - x2 + eps) on dim -1.

    ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            "The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and "
            f"negative {negative.ndim}D inputs"
        )
    distance_positive = _pairwise_distance(anchor, positive, p, eps)
    distance_negative = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        distance_negative = minimum(
            distance_negative, _pairwise_distance(positive, negative, p, eps)
        )
    return _reduce(clamp_min(margin + distance_positive - distance_negative, 0), reduction)


@autocasts(FLOAT32)
def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """log(1 + exp(-y x)), computed as -log σ(y x)."""
    reduction = _reduction(size_average, reduce, reduction)
    shape = broadcast_shape("soft_margin_loss", input.shape, target.shape)
    if shape != tuple(input.shape):
        raise RuntimeError(
            f"output with shape {list(input.shape)} doesn't match the broadcast shape {list(shape)}"
        )
    return _reduce(-logsigmoid(input * target), reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-mean over classes of [y log σ(x) + (1 - y) log σ(-x)] (times ``weight``).

    Shape: input (N, C) or (C,), target the same → (N,) for 'none'.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)
