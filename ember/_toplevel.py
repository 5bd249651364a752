"""The ``torch.X`` spellings of functional forms that live in ``ember.nn.functional``.

PyTorch exposes its ATen kernels at the top level as well as in ``torch.nn.functional``,
and the two spellings do not always share a signature: the top-level form takes
``reduction`` as an integer (0 none, 1 mean, 2 sum), ``dropout(input, p, train)`` has
no defaults, ``embedding`` takes the weight first, and ``layer_norm`` accepts a
``cudnn_enable`` flag. Each function here keeps the top-level signature and calls the
functional form, so gradients and errors are ember's usual ones.
"""

from ember._tensor import Tensor
from ember.nn import functional as F

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_max_pool1d",
    "alpha_dropout",
    "alpha_dropout_",
    "avg_pool1d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "channel_shuffle",
    "constant_pad_nd",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "ctc_loss",
    "cosine_embedding_loss",
    "cosine_similarity",
    "dropout",
    "dropout_",
    "embedding",
    "feature_alpha_dropout",
    "feature_alpha_dropout_",
    "grid_sampler",
    "grid_sampler_2d",
    "grid_sampler_3d",
    "group_norm",
    "hardshrink",
    "hinge_embedding_loss",
    "instance_norm",
    "kl_div",
    "layer_norm",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
]

# ATen's ``at::Reduction`` enumeration, which the top-level losses take.
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction_name(reduction, op_name: str) -> str:
    """Map ATen's integer reduction to the functional form's string."""
    if isinstance(reduction, bool) or reduction not in _REDUCTIONS:
        raise ValueError(
            f"{op_name}(): reduction must be 0 (none), 1 (mean) or 2 (sum) at the "
            f"torch.* top level, got {reduction!r}"
        )
    return _REDUCTIONS[reduction]


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """``torch.conv1d``: see ``ember.nn.functional.conv1d``."""
    return F.conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """``torch.conv2d``: see ``ember.nn.functional.conv2d``."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """``torch.conv3d``: see ``ember.nn.functional.conv3d``."""
    return F.conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """``torch.conv_transpose1d``: see ``ember.nn.functional.conv_transpose1d``."""
    return F.conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """``torch.conv_transpose2d``: see ``ember.nn.functional.conv_transpose2d``."""
    return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
) -> Tensor:
    """``torch.conv_transpose3d``: see ``ember.nn.functional.conv_transpose3d``."""
    return F.conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                              dilation)


def layer_norm(
    input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True
) -> Tensor:
    """``torch.layer_norm``; ``cudnn_enable`` is accepted and ignored (no cuDNN)."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    """``torch.group_norm``; ``cudnn_enabled`` is accepted and ignored (no cuDNN)."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None) -> Tensor:
    """``torch.rms_norm``: see ``ember.nn.functional.rms_norm``."""
    return F.rms_norm(input, normalized_shape, weight, eps)


def batch_norm(
    input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled
) -> Tensor:
    """``torch.batch_norm``: every argument is required, weight and bias come first."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                        eps)


def instance_norm(
    input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
    cudnn_enabled,
) -> Tensor:
    """``torch.instance_norm``: every argument is required, weight and bias come first."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def dropout(input, p, train) -> Tensor:
    """``torch.dropout(input, p, train)``: no defaults, unlike ``F.dropout``."""
    return F.dropout(input, p, train)


def dropout_(input, p, train) -> Tensor:
    """In-place ``torch.dropout``."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p, train) -> Tensor:
    """``torch.alpha_dropout(input, p, train)``."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train) -> Tensor:
    """In-place ``torch.alpha_dropout``."""
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input, p, train) -> Tensor:
    """``torch.feature_alpha_dropout(input, p, train)``."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input, p, train) -> Tensor:
    """In-place ``torch.feature_alpha_dropout``."""
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """``torch.embedding(weight, indices, ...)``: the weight comes first.

    ATen spells "no padding index" as -1, so a negative ``padding_idx`` means none here
    (``F.embedding`` counts negative indices from the end instead).
    """
    padding = None if padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq,
                       sparse=sparse)


def pixel_shuffle(input, upscale_factor) -> Tensor:
    """``torch.pixel_shuffle``: see ``ember.nn.functional.pixel_shuffle``."""
    return F.pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor) -> Tensor:
    """``torch.pixel_unshuffle``: see ``ember.nn.functional.pixel_unshuffle``."""
    return F.pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups) -> Tensor:
    """``torch.channel_shuffle``: see ``ember.nn.functional.channel_shuffle``."""
    return F.channel_shuffle(input, groups)


def constant_pad_nd(input, pad, value=0) -> Tensor:
    """``torch.constant_pad_nd``: ``F.pad`` in constant mode."""
    return F.pad(input, list(pad), mode="constant", value=value)


def prelu(input, weight) -> Tensor:
    """``torch.prelu``: see ``ember.nn.functional.prelu``."""
    return F.prelu(input, weight)


def celu(input, alpha=1.0) -> Tensor:
    """``torch.celu``: see ``ember.nn.functional.celu``."""
    return F.celu(input, alpha)


def celu_(input, alpha=1.0) -> Tensor:
    """In-place ``torch.celu``."""
    return F.celu(input, alpha, inplace=True)


def selu(input) -> Tensor:
    """``torch.selu``: see ``ember.nn.functional.selu``."""
    return F.selu(input)


def selu_(input) -> Tensor:
    """In-place ``torch.selu``."""
    return F.selu(input, inplace=True)


def rrelu(input, lower=0.125, upper=1.0 / 3.0, training=False, generator=None) -> Tensor:
    """``torch.rrelu``: see ``ember.nn.functional.rrelu`` (``generator`` must be None)."""
    _no_generator(generator, "rrelu")
    return F.rrelu(input, lower, upper, training)


def rrelu_(input, lower=0.125, upper=1.0 / 3.0, training=False, generator=None) -> Tensor:
    """In-place ``torch.rrelu``."""
    _no_generator(generator, "rrelu_")
    return F.rrelu(input, lower, upper, training, inplace=True)


def _no_generator(generator, op_name: str) -> None:
    if generator is not None:
        raise NotImplementedError(
            f"{op_name}(): ember's rrelu draws from the default generator; pass "
            "generator=None (or seed with ember.manual_seed)"
        )


def threshold(input, threshold, value) -> Tensor:
    """``torch.threshold``: see ``ember.nn.functional.threshold``."""
    return F.threshold(input, threshold, value)


def threshold_(input, threshold, value) -> Tensor:
    """In-place ``torch.threshold``."""
    return F.threshold(input, threshold, value, inplace=True)


def hardshrink(input, lambd=0.5) -> Tensor:
    """``torch.hardshrink``: see ``ember.nn.functional.hardshrink``."""
    return F.hardshrink(input, lambd)


def cosine_similarity(x1, x2, dim=1, eps=1e-08) -> Tensor:
    """``torch.cosine_similarity``: see ``ember.nn.functional.cosine_similarity``."""
    return F.cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-06, keepdim=False) -> Tensor:
    """``torch.pairwise_distance``: see ``ember.nn.functional.pairwise_distance``."""
    return F.pairwise_distance(x1, x2, p, eps, keepdim)


def pdist(input, p=2.0) -> Tensor:
    """``torch.pdist``: see ``ember.nn.functional.pdist``."""
    return F.pdist(input, p)


def bilinear(input1, input2, weight, bias=None) -> Tensor:
    """``torch.bilinear``: see ``ember.nn.functional.bilinear``."""
    return F.bilinear(input1, input2, weight, bias)


def kl_div(input, target, reduction=1, *, log_target=False) -> Tensor:
    """``torch.kl_div``: reduction 1 is the mean over every element (not ``batchmean``)."""
    name = _reduction_name(reduction, "kl_div")
    if name == "mean":
        # F.kl_div warns that "mean" is not "batchmean"; torch.kl_div does not.
        return F.kl_div(input, target, reduction="none", log_target=log_target).mean()
    return F.kl_div(input, target, reduction=name, log_target=log_target)


def binary_cross_entropy_with_logits(
    input, target, weight=None, pos_weight=None, reduction=1
) -> Tensor:
    """``torch.binary_cross_entropy_with_logits``: ``pos_weight`` before ``reduction``."""
    name = _reduction_name(reduction, "binary_cross_entropy_with_logits")
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=name,
                                              pos_weight=pos_weight)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1) -> Tensor:
    """``torch.margin_ranking_loss`` with ATen's integer reduction."""
    name = _reduction_name(reduction, "margin_ranking_loss")
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=name)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1) -> Tensor:
    """``torch.cosine_embedding_loss`` with ATen's integer reduction."""
    name = _reduction_name(reduction, "cosine_embedding_loss")
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=name)


def hinge_embedding_loss(input, target, margin=1.0, reduction=1) -> Tensor:
    """``torch.hinge_embedding_loss`` with ATen's integer reduction."""
    name = _reduction_name(reduction, "hinge_embedding_loss")
    return F.hinge_embedding_loss(input, target, margin, reduction=name)


def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False, reduction=1
) -> Tensor:
    """``torch.triplet_margin_loss`` with ATen's integer reduction."""
    name = _reduction_name(reduction, "triplet_margin_loss")
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=name)


def poisson_nll_loss(input, target, log_input, full, eps, reduction) -> Tensor:
    """``torch.poisson_nll_loss``: every argument is required, reduction an integer."""
    name = _reduction_name(reduction, "poisson_nll_loss")
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=name)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``torch.max_pool1d``: the values only (an empty ``stride`` means the kernel size)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``torch.max_pool2d``: the values only (an empty ``stride`` means the kernel size)."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """``torch.max_pool3d``: the values only (an empty ``stride`` means the kernel size)."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False) -> Tensor:
    """``torch.ctc_loss`` with ATen's integer reduction: 1 the mean, 2 the sum, any other
    (0 by default, as PyTorch's binding has it) each sequence's loss."""
    name = {1: "mean", 2: "sum"}.get(reduction, "none")
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, name,
                      zero_infinity)


def avg_pool1d(
    input, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """``torch.avg_pool1d`` (an empty ``stride`` means the kernel size)."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                        count_include_pad)


def _stride(stride):
    # ATen's default stride is the empty list, which means "the kernel size".
    if isinstance(stride, (list, tuple)) and len(stride) == 0:
        return None
    return stride


def adaptive_avg_pool1d(input, output_size) -> Tensor:
    """``torch.adaptive_avg_pool1d``: see ``ember.nn.functional.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):
    """``torch.adaptive_max_pool1d``: always the pair ``(values, indices)``."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# ATen's integer codes for grid_sample's interpolation and padding modes.
_SAMPLER_MODES = ("bilinear", "nearest", "bicubic")
_SAMPLER_PADDINGS = ("zeros", "border", "reflection")


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners) -> Tensor:
    """``torch.grid_sampler``: ``F.grid_sample`` with ATen's integer codes, interpolation 0
    bilinear, 1 nearest, 2 bicubic, and padding 0 zeros, 1 border, 2 reflection."""
    for code, names, what in ((interpolation_mode, _SAMPLER_MODES, "interpolation_mode"),
                              (padding_mode, _SAMPLER_PADDINGS, "padding_mode")):
        if isinstance(code, bool) or code not in range(len(names)):
            raise RuntimeError(f"grid_sampler(): {what} must be 0, 1 or 2, got {code!r}")
    return F.grid_sample(input, grid, _SAMPLER_MODES[interpolation_mode],
                         _SAMPLER_PADDINGS[padding_mode], bool(align_corners))


def _grid_sampler_dims(dims: int, input, grid) -> None:
    if input.dim() != dims + 2 or grid.dim() != dims + 2:
        raise RuntimeError(
            f"grid_sampler(): expected {dims + 2}D input and grid with same number of "
            f"dimensions, but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )


def grid_sampler_2d(input, grid, interpolation_mode, padding_mode, align_corners) -> Tensor:
    """``torch.grid_sampler_2d``: ``grid_sampler`` on 4-D input only."""
    _grid_sampler_dims(2, input, grid)
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input, grid, interpolation_mode, padding_mode, align_corners) -> Tensor:
    """``torch.grid_sampler_3d``: ``grid_sampler`` on 5-D input only."""
    _grid_sampler_dims(3, input, grid)
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)
