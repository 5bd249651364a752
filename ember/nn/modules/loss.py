"""Loss layers: thin shells over ``nn.functional``; ``reduction`` is 'mean', 'sum' or 'none'.

Constructor arguments and defaults are PyTorch's, including the deprecated ``size_average``
and ``reduce`` flags. Class weights are registered as buffers (``weight``, ``pos_weight``).
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn._functional.loss import _legacy_reduction
from ember.nn.modules.distance import PairwiseDistance
from ember.nn.modules.module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "PoissonNLLLoss",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
]  # fmt: skip


class _Loss(Module):
    """A loss layer: ``forward`` calls ``_function``, the loss's functional form, with the
    inputs, the attributes named in ``_options`` (by keyword) and ``reduction``."""

    _function = None
    _options: tuple = ()

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return self._loss(input, target)

    def _loss(self, *inputs: Tensor) -> Tensor:
        options = {name: getattr(self, name) for name in self._options}
        return self._function(*inputs, reduction=self.reduction, **options)


class _WeightedLoss(_Loss):
    _options = ("weight",)

    def __init__(
        self, weight: Tensor | None = None, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """mean(|input - target|). Shape: input (*), target (*) → scalar, or (*) for 'none'."""

    _function = staticmethod(F.l1_loss)


class MSELoss(_Loss):
    """mean((input - target)²) (or sum, or elementwise with ``reduction='none'``).

    Shape: input (*), target (*) of the same shape → scalar (or (*) for 'none').
    """

    _function = staticmethod(F.mse_loss)


class SmoothL1Loss(_Loss):
    """0.5 d² / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""

    _function, _options = staticmethod(F.smooth_l1_loss), ("beta",)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta


class HuberLoss(_Loss):
    """0.5 d² where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""

    _function, _options = staticmethod(F.huber_loss), ("delta",)

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        self.delta = delta


class BCELoss(_WeightedLoss):
    """-w [t log x + (1 - t) log(1 - x)] for probabilities x (logs clamped at -100)."""

    _function = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one stable expression; ``pos_weight`` per class."""

    _function = staticmethod(F.binary_cross_entropy_with_logits)
    _options = ("weight", "pos_weight")

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
        pos_weight: Tensor | None = None,
    ):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)


class NLLLoss(_WeightedLoss):
    """-weight[t] · input[n, t] for log-probabilities ``input`` and class indices ``t``.

    Shape: input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...).
    """

    _function, _options = staticmethod(F.nll_loss), ("weight", "ignore_index")

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross entropy from logits: nll_loss(log_softmax(input, 1), target).

    ``target`` holds class indices or class probabilities; see ``F.cross_entropy``.
    Shape: input (N, C), (C,) or (N, C, d1, ...).
    """

    _function = staticmethod(F.cross_entropy)
    _options = ("weight", "ignore_index", "label_smoothing")

    def __init__(
        self,
        weight: Tensor | None = None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing


class CTCLoss(_Loss):
    """-log p(target | log_probs) over every alignment of each target to its frames (CTC).

    Shape: log_probs (T, N, C) or (T, C); targets (N, S) padded or (ΣS,) concatenated;
    input_lengths, target_lengths (N,) → scalar, or (N,) for 'none'. See ``F.ctc_loss``.
    """

    _function, _options = staticmethod(F.ctc_loss), ("blank", "zero_infinity")

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(
        self, log_probs: Tensor, targets: Tensor, input_lengths, target_lengths
    ) -> Tensor:
        return self._loss(log_probs, targets, input_lengths, target_lengths)


class KLDivLoss(_Loss):
    """target · (log target - input) for log-probabilities ``input``; use 'batchmean'."""

    _function, _options = staticmethod(F.kl_div), ("log_target",)

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
    ):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target


class PoissonNLLLoss(_Loss):
    """exp(input) - target · input (``log_input``), else input - target · log(input + eps)."""

    _function, _options = staticmethod(F.poisson_nll_loss), ("log_input", "full", "eps")

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average=None,
        eps: float = 1e-8,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return self._loss(log_input, target)


class GaussianNLLLoss(_Loss):
    """0.5 (log var + (input - target)² / var), var clamped below at ``eps``."""

    _function, _options = staticmethod(F.gaussian_nll_loss), ("full", "eps")

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Tensor, var) -> Tensor:
        return self._loss(input, target, var)


class _PairMarginLoss(_Loss):
    """A loss of two inputs and a target of ±1 whose one option is ``margin``."""

    _options = ("margin",)

    def __init__(
        self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return self._loss(input1, input2, target)


class CosineEmbeddingLoss(_PairMarginLoss):
    """1 - cos(x1, x2) for y = 1, max(0, cos(x1, x2) - margin) for y = -1."""

    _function = staticmethod(F.cosine_embedding_loss)


class MarginRankingLoss(_PairMarginLoss):
    """max(0, -y (x1 - x2) + margin)."""

    _function = staticmethod(F.margin_ranking_loss)


class HingeEmbeddingLoss(_Loss):
    """x for y = 1, max(0, margin - x) for y = -1."""

    _function, _options = staticmethod(F.hinge_embedding_loss), ("margin",)

    def __init__(
        self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
    ):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class TripletMarginLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) with the p-norm distance d."""

    _function = staticmethod(F.triplet_margin_loss)
    _options = ("margin", "p", "eps", "swap")

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return self._loss(anchor, positive, negative)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-y x))."""

    _function = staticmethod(F.soft_margin_loss)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """-mean over classes of [y log σ(x) + (1 - y) log σ(-x)]."""

    _function = staticmethod(F.multilabel_soft_margin_loss)


class MultiMarginLoss(_WeightedLoss):
    """Σ_{i ≠ y} w_y · max(0, margin - x_y + x_i)^p / C, the multi-class hinge loss.

    Shape: input (N, C) or (C,), target (N,) or () int64 → scalar, or (N,) for 'none'.
    """

    _function = staticmethod(F.multi_margin_loss)
    _options = ("p", "margin", "weight")

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Tensor | None = None,
        size_average=None,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(weight, size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.ndim != 1:
            raise ValueError(
                "MultiMarginLoss: expected weight to be None or 1D tensor, got "
                f"{weight.ndim}D instead"
            )
        self.p, self.margin = p, margin


class MultiLabelMarginLoss(_Loss):
    """Σ_{j ∈ Y} Σ_{i ∉ Y} max(0, 1 - (x_j - x_i)) / C, for the target classes Y.

    Shape: input (N, C) or (C,), target int64 of the same shape (classes, then -1) → scalar,
    or (N,) for 'none'.
    """

    _function = staticmethod(F.multilabel_margin_loss)


class TripletMarginWithDistanceLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) for the distance ``distance_function`` (default
    ``PairwiseDistance()``, registered as a submodule).

    Shape: anchor, positive, negative (N, D) or (D,) → scalar, or (N,) for 'none'.
    """

    _function = staticmethod(F.triplet_margin_with_distance_loss)
    _options = ("distance_function", "margin", "swap")

    def __init__(
        self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
        reduction: str = "mean",
    ):
        super().__init__(None, None, reduction)
        if margin <= 0:
            raise ValueError(
                "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got "
                f"{margin} instead"
            )
        self.distance_function = (
            distance_function if distance_function is not None else PairwiseDistance()
        )
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return self._loss(anchor, positive, negative)
