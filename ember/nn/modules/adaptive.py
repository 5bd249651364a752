"""``AdaptiveLogSoftmaxWithLoss``: the adaptive softmax of Grave et al. (2016), for
vocabularies too large for one softmax over all classes."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

from ember._tensor import Tensor
from ember.nn.modules.container import ModuleList, Sequential
from ember.nn.modules.linear import Linear
from ember.nn.modules.module import Module
from ember.ops.shape import cat

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """log p(class | x) from a small head softmax and one softmax per cluster of rarer classes.

    The classes are split by ``cutoffs`` into a shortlist [0, c0) and clusters [c_i, c_i+1).
    The head scores the shortlist's classes and one entry per cluster; a class in cluster
    i gets log p = head_logprob[c0 + i] + log_softmax(tail_i(x))[class - c_i], where
    ``tail_i`` projects x to in_features // div_value^(i+1) dims and then to the cluster's
    classes, so rarer clusters cost less.

    Args:
        in_features: the size of each input sample.
        n_classes: the number of classes.
        cutoffs: increasing class indices in [1, n_classes - 1] that split the classes.
        div_value: how much narrower each cluster's projection is than the last (default 4).
        head_bias: give the head a bias (default False).

    Shape:
        input (N, in_features) or (in_features,); target (N,) or () of class indices.

    Returns:
        ``forward``: the named tuple ``(output, loss)``: each sample's log-probability of its
        target (N,), and the mean negative log-likelihood.

    Example::

        >>> asm = nn.AdaptiveLogSoftmaxWithLoss(16, 100, [10, 50])
        >>> output, loss = asm(ember.randn(4, 16), ember.tensor([1, 20, 60, 99]))
        >>> output.shape, loss.shape
        (ember.Size([4]), ember.Size([]))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError(
                "cutoffs should be a sequence of unique, positive integers sorted in an "
                "increasing order, where each value is between 1 and n_classes-1"
            )
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        options = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **options)
        self.tail = ModuleList()
        for index in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (index + 1)))
            size = self.cutoffs[index + 1] - self.cutoffs[index]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **options),
                                        Linear(hidden, size, bias=False, **options)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for projection, output in self.tail:
            projection.reset_parameters()
            output.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """The log-probability of each target and the mean negative log-likelihood."""
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError(
                    "Input and target should have the same size in the batch dimension."
                )
            if input_.ndim != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {_size(input_)}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {_size(input_)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)

        # Each sample's entry of the head: its class in the shortlist, else its cluster's.
        head_index = target.clone().long()
        cluster_part = input.new_zeros(target.shape[0])
        found = int(((target >= 0) & (target < self.shortlist_size)).sum())
        for index in range(self.n_clusters):
            low, high = self.cutoffs[index], self.cutoffs[index + 1]
            rows = ((target >= low) & (target < high)).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            found += rows.numel()
            head_index[rows] = self.shortlist_size + index
            within = (target.index_select(0, rows) - low).unsqueeze(1)
            logprob = self.tail[index](input.index_select(0, rows)).log_softmax(1)
            cluster_part = cluster_part.index_add(0, rows, logprob.gather(1, within).squeeze(1))
        if found != target.shape[0]:
            raise RuntimeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{target.min().item()}, {target.max().item()}] were found. "
            )
        if target.is_floating_point():
            raise RuntimeError("gather(): Expected dtype int32/int64 for index")
        head_logprob = self.head(input).log_softmax(1)
        output = cluster_part + head_logprob.gather(1, head_index.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """log p of every class (N, n_classes), from the head's scores ``head_output``."""
        head_logprob = head_output.log_softmax(1)
        pieces = [head_logprob[:, : self.shortlist_size]]
        for index, projection in enumerate(self.tail):
            cluster = self.shortlist_size + index
            pieces.append(projection(input).log_softmax(1)
                          + head_logprob[:, cluster : cluster + 1])
        return cat(pieces, 1)

    def log_prob(self, input: Tensor) -> Tensor:
        """log p(class | x) for every class.

        Shape:
            input (N, in_features) → (N, n_classes).
        """
        _check_matrix(input)
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each sample, as ``log_prob(input).argmax(1)`` but cheaper:
        a sample whose best head entry is a shortlist class needs no cluster (no cluster
        class can score above its cluster's head entry).

        Shape:
            input (N, in_features) → (N,), int64.
        """
        _check_matrix(input)
        head_output = self.head(input)
        output = head_output.argmax(1)
        rows = (output >= self.shortlist_size).nonzero().squeeze(1)
        if rows.numel():
            full = self._get_full_log_prob(input.index_select(0, rows),
                                           head_output.index_select(0, rows))
            output[rows] = full.argmax(1)
        return output


def _size(tensor: Tensor) -> str:
    return f"torch.Size({list(tensor.shape)})"


def _check_matrix(input: Tensor) -> None:
    if input.ndim < 2:  # PyTorch's softmax over dim 1 says so
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if input.ndim > 2:
        raise RuntimeError(
            f"AdaptiveLogSoftmaxWithLoss expects a 2D input (N, in_features), got {input.ndim}D"
        )
