"""Batch normalization whose statistics are those of the batch of every rank together.

``sync_batch_norm`` is ``SyncBatchNorm``'s training step across processes: each rank holds
a part of the global batch, and the per-channel mean and variance are sums over all ranks.
It is composed of differentiable ops and one primitive of its own, ``AllReduceSum``: the
sum over ranks is linear, and its derivative is the same sum of the ranks' gradients, so
autograd gives every rank its part of the global batch's gradient (the two sums the
backward needs are all-reduced there) and the step differentiates twice like any
composition. The variance is taken around the global mean (two passes, two all-reduces)
rather than from a sum of squares, which loses digits when the mean is large.

The collectives come from ``ember.distributed``, a layer above ``nn``, imported when one
runs (as ``DistributedDataParallel`` does).
"""

from __future__ import annotations

from ember._dtype import float64
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn._functional.normalization import _channel_view
from ember.ops._function import Op
from ember.ops.creation import tensor
from ember.ops.shape import cat

__all__: list = []  # private: SyncBatchNorm's forward


class AllReduceSum(Op):
    """y = Σ_ranks x: every rank gets the sum of the ranks' ``x`` (``x`` itself on one process).

    Every rank's output depends on every rank's input, so the gradient of ``x`` is the sum
    over ranks of the gradients of ``y``: the same all-reduce, run on them.
    """

    replayable = False
    replayable_reason = "an all-reduce across processes must run on every call"

    @staticmethod
    def forward(ctx, x):
        return _all_reduced(x)

    @staticmethod
    def backward(ctx, grad):
        # A recorded backward (create_graph=True) records the all-reduce, to differentiate again.
        return AllReduceSum.apply(grad)

    @staticmethod
    def backward_arrays(ctx, grad):
        return _all_reduced(grad)


def _all_reduced(array):
    """A contiguous copy of ``array``, summed over the ranks of the default group."""
    from ember import distributed

    total = Tensor._make(array.copy())
    if distributed.is_initialized() and distributed.get_world_size() > 1:
        distributed.all_reduce(total)
    return total._data


def sync_batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                    weight: Tensor | None, bias: Tensor | None, momentum: float,
                    eps: float) -> Tensor:
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, per channel (dim 1), with E and
    Var over every rank's batch (biased variance); the running statistics, when given, move
    towards the global mean and unbiased variance with ``momentum``.

    Shape:
        input (N_rank, C, *), where each rank may have its own N_rank → same shape.
    """
    view = _channel_view(input, running_mean, running_var, weight, bias)
    if eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    channels = view[0]
    dims = (0,) + tuple(range(2, input.ndim))
    # The count rides with the sums: float64 keeps it exact, and the sums accurate.
    local_count = tensor([input.numel() // max(channels, 1)], dtype=float64, device=input.device)
    sums = AllReduceSum.apply(cat([input.sum(dims, dtype=float64), local_count]))
    count = int(sums[channels].item())
    if count <= 1:
        raise ValueError(
            "Expected more than 1 value per channel when training, got "
            f"{count} over all ranks (input size {list(input.shape)} on this rank)"
        )
    mean = (sums[:channels] / count).to(input.dtype)
    centered = input - mean.reshape(view)
    squares = AllReduceSum.apply(centered.square().sum(dims, dtype=float64))
    variance = (squares / count).to(input.dtype)
    output = centered * (variance + eps).rsqrt().reshape(view)
    if weight is not None:
        output = output * weight.reshape(view)
    if bias is not None:
        output = output + bias.reshape(view)
    if running_mean is not None:
        with no_grad():
            running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
            unbiased = variance * (count / (count - 1))
            running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    return output
