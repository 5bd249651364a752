"""Connectionist temporal classification (Graves et al., 2006): ``ctc_loss``.

The loss of one sequence is -log p(l | x), summed over every alignment of the target ``l``
to the input frames. With l' the target with a blank before, between and after its labels
(length L = 2S + 1) and y_t(k) = exp(log_probs[t, k]), the forward variables

    α_0(0) = y_0(blank),  α_0(1) = y_0(l'_1),
    α_t(s) = y_t(l'_s) · (α_{t-1}(s) + α_{t-1}(s-1) + [l'_s ≠ blank, l'_s ≠ l'_{s-2}] α_{t-1}(s-2))

give p(l | x) = α_{T-1}(L-1) + α_{T-1}(L-2). They are kept in log space and computed for the
whole batch and every target position at once, one time step per iteration (the
recursion runs along time only). The backward variables β run the same recursion from each
sequence's last frame; α_t(s) β_t(s) / y_t(l'_s) summed over the s where l'_s = k is
p(l | x) times the posterior of emitting k at t.

The gradient is PyTorch's: ∂loss/∂log_probs[t, k] = y_t(k) - Σ_{s: l'_s = k} α_t(s) β_t(s) /
(y_t(k) p(l | x)) on each sequence's frames, 0 after them. It is the derivative with respect
to log_probs for log-probabilities that come out of ``log_softmax`` (the y_t(k) term is what
the softmax's normalization gives back, so it is the gradient of the logits too), which is
how CTC is used; for unnormalized inputs it differs from a finite difference, as PyTorch's
does. Like PyTorch's, the gradient is not itself differentiable.
"""

from __future__ import annotations

import math

from ember._autocast import FLOAT32, NATIVE, autocasts
from ember._backend import xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.ops._function import Op, _legacy
from ember.ops.creation import tensor as _tensor
from ember.ops.elementwise import clamp_min, where

__all__ = ["ctc_loss"]

_ARGUMENTS = "(while checking arguments for ctc_loss_allocate_outputs)"


class CtcLoss(Op):
    """The negative log-likelihood of each sequence (N,), from log-probabilities (T, N, C),
    int64 targets (N, S) padded or (ΣS,) concatenated, and int64 lengths (N,)."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        _check_values(log_probs, targets, input_lengths, target_lengths)
        labels = _extended_labels(targets, target_lengths, blank, log_probs.shape[2])
        emitted = xp.take_along_axis(log_probs, labels[None], axis=2)  # (T, N, L)
        skip = _skips(labels)
        alpha = _alpha(emitted, skip)
        likelihood = _log_likelihood(alpha, input_lengths, target_lengths)
        ctx.save_for_backward(log_probs)
        ctx.labels, ctx.emitted, ctx.skip, ctx.alpha = labels, emitted, skip, alpha
        ctx.lengths, ctx.target_lengths = input_lengths, target_lengths
        ctx.zero_infinity, ctx.loss = zero_infinity, -likelihood
        return -likelihood

    @staticmethod
    def backward_arrays(ctx, grad):
        (log_probs,) = ctx.saved_arrays
        return (_gradient(grad, log_probs, ctx),) + (None,) * 5

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        return (CtcLossBackward.apply(grad, log_probs, ctx),) + (None,) * 5


class CtcLossBackward(Op):
    """``CtcLoss``'s gradient as an op of its own, for a recorded backward: as in PyTorch, it
    has no derivative."""

    @staticmethod
    def forward(ctx, grad, log_probs, forward_ctx):
        return _gradient(grad, log_probs, forward_ctx)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented")


# ---------------------------------------------------------------- the recursions


def _check_values(log_probs, targets, input_lengths, target_lengths) -> None:
    """PyTorch's checks of the lengths against the shapes (they need the values)."""
    frames, batch, classes = log_probs.shape
    checks = (
        ("input_lengths", input_lengths, input_lengths < 0, "at least 0"),
        ("input_lengths", input_lengths, input_lengths > frames, f"at most {frames}"),
        ("target_lengths", target_lengths, target_lengths < 0, "at least 0"),
    )
    for name, lengths, wrong, bound in checks:
        if wrong.any():
            value = int(lengths[wrong.argmax()])
            raise RuntimeError(
                f"Expected {name} to have value {bound}, but got value {value} {_ARGUMENTS}"
            )
    if targets.ndim == 1:
        total = int(target_lengths.sum())
        if targets.shape[0] != total:
            raise RuntimeError(
                f"Expected tensor to have size {total} at dimension 0, but got size "
                f"{targets.shape[0]} for argument #2 'targets' {_ARGUMENTS}"
            )
        return
    if targets.shape[0] != batch:
        raise RuntimeError(
            f"Expected tensor to have size {batch} at dimension 0, but got size "
            f"{targets.shape[0]} for argument #2 'targets' {_ARGUMENTS}"
        )
    longest = int(target_lengths.max())
    if targets.shape[1] < longest:
        raise RuntimeError(
            f"Expected tensor to have size at least {longest} at dimension 1, but got size "
            f"{targets.shape[1]} for argument #2 'targets' {_ARGUMENTS}"
        )


def _extended_labels(targets, target_lengths, blank: int, classes: int):
    """l' for each sequence (N, 2·S_max + 1): blanks at even positions, the labels at odd
    ones (blank past a sequence's own length)."""
    longest = int(target_lengths.max())
    position = xp.arange(longest, like=targets)
    used = position < target_lengths[:, None]
    if targets.ndim == 1:  # concatenated: sequence n starts after the lengths before it
        starts = xp.cumsum(target_lengths) - target_lengths
        padded = targets[xp.where(used, starts[:, None] + position, 0)]
    else:
        padded = targets[:, :longest]
    padded = xp.where(used, padded, blank)
    outside = (padded < 0) | (padded >= classes)
    if outside.any():  # PyTorch reads out of bounds here; say what is wrong instead
        raise RuntimeError(
            f"ctc_loss: target labels must be in [0, {classes}), but got "
            f"{int(padded[outside][0])}"
        )
    labels = xp.full((len(target_lengths), 2 * longest + 1), blank, xp.int64, like=targets)
    labels[:, 1::2] = padded
    return labels


def _skips(labels):
    """Where α may come from two positions back: a label unlike the label before it."""
    skip = xp.zeros(labels.shape, bool, like=labels)
    skip[:, 3::2] = labels[:, 3::2] != labels[:, 1:-2:2]
    return skip


def _log_add(a, b, c):
    """log(e^a + e^b + e^c), exact where all three are -inf."""
    peak = xp.maximum(xp.maximum(a, b), c)
    peak = xp.where(peak == -xp.inf, 0, peak)
    return peak + xp.log(xp.exp(a - peak) + xp.exp(b - peak) + xp.exp(c - peak))


def _shifted(values, by: int):
    """``values`` (N, L) moved ``by`` positions along L (right if positive), -inf filled."""
    out = xp.full_like(values, -xp.inf)
    if by > 0:
        out[:, by:] = values[:, :-by]
    else:
        out[:, :by] = values[:, -by:]
    return out


def _alpha(emitted, skip):
    """log α (T, N, L) from the log-probabilities of the extended labels (T, N, L)."""
    alpha = xp.full_like(emitted, -xp.inf)
    alpha[0, :, :2] = emitted[0, :, :2]
    for t in range(1, emitted.shape[0]):
        previous = alpha[t - 1]
        two = xp.where(skip, _shifted(previous, 2), -xp.inf)
        alpha[t] = emitted[t] + _log_add(previous, _shifted(previous, 1), two)
    return alpha


def _log_likelihood(alpha, input_lengths, target_lengths):
    """log p(l | x) per sequence: α at its last frame, at l''s last blank and last label."""
    batch = xp.arange(alpha.shape[1], like=input_lengths)
    final = alpha[xp.maximum(input_lengths - 1, 0), batch]  # (N, L)
    end = 2 * target_lengths
    at_end = final[batch, end]
    before = xp.where(target_lengths > 0, final[batch, xp.maximum(end - 1, 0)], -xp.inf)
    likelihood = xp.logaddexp(at_end, before)
    # No frame: only the empty target is possible, with probability 1.
    empty = xp.where(target_lengths == 0, 0.0, -xp.inf).astype(alpha.dtype)
    return xp.where(input_lengths == 0, empty, likelihood)


def _beta(emitted, skip, input_lengths, target_lengths):
    """log β (T, N, L): each sequence's recursion starts at its own last frame."""
    frames, batch, length = emitted.shape
    last = input_lengths - 1
    position = xp.arange(length, like=target_lengths)
    end = 2 * target_lengths[:, None]
    finals = (position == end) | ((position == end - 1) & (end > 0))
    skip_ahead = xp.zeros_like(skip)
    skip_ahead[:, :-2] = skip[:, 2:]
    beta = xp.full_like(emitted, -xp.inf)
    current = beta[0]
    for t in range(frames - 1, -1, -1):
        two = xp.where(skip_ahead, _shifted(current, -2), -xp.inf)
        recursed = emitted[t] + _log_add(current, _shifted(current, -1), two)
        starting = xp.where(finals, emitted[t], -xp.inf)
        current = xp.where((t == last)[:, None], starting,
                           xp.where((t < last)[:, None], recursed, -xp.inf))
        beta[t] = current
    return beta


def _gradient(grad, log_probs, ctx):
    """PyTorch's gradient of the losses (see the module's docstring), times ``grad`` (N,)."""
    frames, batch, classes = log_probs.shape
    beta = _beta(ctx.emitted, ctx.skip, ctx.lengths, ctx.target_lengths)
    occupancy = ctx.alpha + beta
    peak = occupancy.max(axis=2, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0)
    # Σ over the positions of each class: one bincount over (t, n, class) cells.
    cell = xp.arange(frames * batch, like=ctx.labels).reshape(frames, batch, 1) * classes
    sums = xp.bincount((cell + ctx.labels[None]).reshape(-1),
                       weights=xp.exp(occupancy - peak).reshape(-1), minlength=log_probs.size)
    per_class = xp.log(sums.reshape(log_probs.shape).astype(log_probs.dtype)) + peak
    result = xp.exp(log_probs) - xp.exp(per_class + ctx.loss[None, :, None] - log_probs)
    keep = xp.arange(frames, like=ctx.lengths)[:, None] < ctx.lengths[None, :]
    if ctx.zero_infinity:
        keep = keep & ~xp.isinf(ctx.loss)[None, :]
    result = xp.where(keep[:, :, None], result, 0) * grad[None, :, None]
    return result.astype(log_probs.dtype)


# ---------------------------------------------------------------- the public function


def _lengths(value, name: str, batch: int, device) -> Tensor:
    """``input_lengths`` or ``target_lengths`` as an int64 tensor (N,), checked."""
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point:
            raise RuntimeError(f"{name} must be integral")
        lengths = value.reshape(-1)  # PyTorch reads any shape as its list of values
        if lengths.shape[0] != batch:
            raise RuntimeError(f"{name} must be of size batch_size")
        return lengths.long()
    for position, item in enumerate(value):
        if not isinstance(item, int) and not (hasattr(item, "__index__") and
                                              not isinstance(item, Tensor)):
            raise TypeError(
                f"ctc_loss(): argument '{name}' must be tuple of ints, but found element of "
                f"type {type(item).__name__} at pos {position}"
            )
    if len(value) != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    return _tensor([int(item) for item in value], dtype=int64, device=device)


@autocasts(FLOAT32, cuda=NATIVE)
def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss: -log p(targets | log_probs), summed over every alignment of each target
    sequence to its input frames (see the module's docstring for the recursion).

    Args:
        log_probs: log-probabilities of the classes at each frame (``log_softmax`` output).
        targets: class indices, padded (N, S) or the sequences concatenated (ΣS,); none may
            be ``blank``.
        input_lengths: the frames of each sequence (N,), a tensor or a sequence of ints,
            each at most T.
        target_lengths: the labels of each target (N,), a tensor or a sequence of ints.
        blank: the blank class.
        reduction: 'mean' (each loss divided by its target length, then averaged over the
            batch), 'sum' or 'none'.
        zero_infinity: give impossible alignments (infinite losses) a loss and gradient of 0.

    Shape:
        log_probs (T, N, C) or (T, C); the result is a scalar, or (N,) (() unbatched) with
        ``reduction='none'``.

    Returns:
        The loss, in ``log_probs``' dtype (float32 or float64).

    Example::

        >>> log_probs = ember.randn(50, 4, 20).log_softmax(2).requires_grad_()
        >>> targets = ember.randint(1, 20, (4, 10))
        >>> loss = F.ctc_loss(log_probs, targets, (50,) * 4, (10, 8, 9, 10))
        >>> loss.backward()
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if isinstance(input_lengths, Tensor) != isinstance(target_lengths, Tensor) or not all(
        isinstance(lengths, (Tensor, list, tuple)) for lengths in (input_lengths, target_lengths)
    ):
        raise TypeError(
            "ctc_loss(): input_lengths and target_lengths must both be tensors or both be "
            f"sequences of ints, not {type(input_lengths).__name__} and "
            f"{type(target_lengths).__name__}"
        )
    if isinstance(blank, bool) or not isinstance(blank, int):
        raise TypeError(
            f"ctc_loss(): argument 'blank' must be int, not {type(blank).__name__}"
        )
    if log_probs.dtype.name not in ("float32", "float64"):
        raise NotImplementedError(
            f"\"ctc_loss_cpu\" not implemented for '{_legacy(log_probs.dtype)}'"
        )
    unbatched = log_probs.ndim != 3
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    if log_probs.ndim != 3:
        raise RuntimeError(
            f"Expected 3-dimensional tensor, but got {log_probs.ndim}-dimensional tensor for "
            f"argument #1 'log_probs' {_ARGUMENTS}"
        )
    if log_probs.numel() == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    batch, classes = log_probs.shape[1], log_probs.shape[2]
    input_lengths = _lengths(input_lengths, "input_lengths", batch, log_probs.device)
    target_lengths = _lengths(target_lengths, "target_lengths", batch, log_probs.device)
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    if targets.ndim not in (1, 2):
        raise RuntimeError(
            f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for "
            f"argument #2 'targets' {_ARGUMENTS}"
        )
    losses = CtcLoss.apply(
        log_probs, targets.long(), input_lengths, target_lengths, blank, bool(zero_infinity)
    )
    if zero_infinity:
        losses = where(losses == math.inf, 0.0, losses)
    if reduction == "mean":
        return (losses / clamp_min(target_lengths, 1)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses
