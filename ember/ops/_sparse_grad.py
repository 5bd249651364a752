"""Gradients that arrive sparse: sparse leaves and ``nn.Embedding(sparse=True)``.

The engine knows only dense gradients flowing into leaves. A proxy (a dense leaf tensor)
stands in the graph for the values of a sparse leaf, or for the rows an embedding looked
up; its ``AccumulateGrad`` node points at a ``_GradientSink``, which the engine treats as
the leaf (it reads and writes ``.grad`` and adds into it) and which turns each gradient
it receives into the owner's ``.grad``: sparse, in PyTorch's form.
"""

from __future__ import annotations

import weakref

from ember._backend import xp
from ember._tensor import Tensor
from ember.autograd.function import AccumulateGrad
from ember.ops import indexing
from ember.ops.sparse import SparseTensor, _concatenated, _make_sparse, _unique_positions


class _GradientSink:
    """Stands for a leaf in the engine: a values gradient becomes ``owner.grad``, sparse."""

    __slots__ = ("_data", "_hooks", "_owner", "_post_accumulate_hooks", "_to_sparse")

    def __init__(self, values, owner, to_sparse):
        self._data, self._owner, self._to_sparse = values, weakref.ref(owner), to_sparse
        self._hooks = self._post_accumulate_hooks = None

    @property
    def grad(self):
        owner = self._owner()
        return None if owner is None or owner.grad is None else _Accumulating(self)

    @grad.setter
    def grad(self, value) -> None:
        owner = self._owner()
        if owner is not None and value is not _ACCUMULATED:
            owner.grad = self._to_sparse(value)


_ACCUMULATED = object()  # what ``_Accumulating + gradient`` gives: the owner is updated already


class _Accumulating:
    """What the engine sees as an existing ``.grad``: adding to it accumulates into the owner's."""

    requires_grad = True

    def __init__(self, sink: _GradientSink):
        self._sink = sink

    def __add__(self, values_grad: Tensor):
        owner = self._sink._owner()
        existing, new = owner.grad, self._sink._to_sparse(values_grad)
        if isinstance(existing, SparseTensor) and isinstance(new, SparseTensor):
            owner.grad = _concatenated(existing, new)
        else:
            owner.grad = existing.to_dense() + new.to_dense()
        return _ACCUMULATED


def proxy(values: Tensor, owner, to_sparse) -> Tensor:
    """A dense leaf over ``values``; ``to_sparse`` makes its gradient into ``owner.grad``."""
    proxy = Tensor._make(values._data, True)
    node = AccumulateGrad(_GradientSink(values._data, owner, to_sparse))
    proxy._accumulator = weakref.ref(node)
    proxy.__dict__["_sink_node"] = node  # the weak reference alone would let it go
    return proxy


def set_requires_grad(tensor: SparseTensor, value: bool) -> None:
    """The setter of ``SparseTensor.requires_grad``: a leaf's values become a proxy leaf."""
    if tensor.grad_fn is not None:
        Tensor.requires_grad.fset(tensor, value)
        return
    if value and not tensor.is_floating_point():
        raise RuntimeError(
            "only Tensors of floating point and complex dtype can require gradients "
            f"(got {tensor.dtype})"
        )
    values = tensor._value_tensor.detach()
    if value:
        values = proxy(values, tensor, coalesced_gradient(tensor))
    tensor._value_tensor, tensor._requires_grad = values, bool(value)


def coalesced_gradient(leaf: SparseTensor):
    """Per-entry value gradients -> the gradient of ``leaf`` on its coalesced pattern."""
    index, sizes = leaf._index_array, leaf._sizes

    def convert(values_grad: Tensor) -> SparseTensor:
        unique, first, _ = _unique_positions(index, sizes)
        kept = indexing.index_select(values_grad.detach(), 0, Tensor._make(first))
        # Sorted and unique, yet flagged uncoalesced, as PyTorch's gradient is.
        return _make_sparse(unique, kept, sizes, False)

    return convert


def dense_stand_in(leaf: SparseTensor) -> Tensor:
    """A dense leaf equal to ``leaf``, whose (dense) gradient becomes ``leaf.grad``."""
    dense = leaf.detach().to_dense()
    return proxy(dense, leaf, lambda gradient: gradient.detach())


def embedding_gradient(flat_indices, weight: Tensor, padding_idx, scale_grad_by_freq: bool):
    """For ``embedding(sparse=True)``: lookup-row gradients -> weight's sparse ``.grad``."""
    keep = xp.flatnonzero(flat_indices != (-1 if padding_idx is None else padding_idx))
    index = flat_indices[keep].astype(xp.int64)[None, :]

    def convert(values_grad: Tensor) -> SparseTensor:
        if scale_grad_by_freq:
            raise RuntimeError(
                "embedding_backward: scale_grad_by_freq not supported with sparse gradients"
            )
        rows = indexing.index_select(values_grad.detach(), 0, Tensor._make(keep))
        return _make_sparse(index, rows, weight.shape, False)

    return convert


def sparse_rows(weight: Tensor, flat_indices, to_sparse) -> Tensor:
    """``weight[flat_indices]`` as a proxy leaf whose gradient becomes ``weight.grad``."""
    rows = Tensor._make(xp.take(weight._data, flat_indices, axis=0))
    return proxy(rows, weight, to_sparse)
