"""Sparse tensors: COO (and CSR for products), built on ember's dense ops.

The design, in four points:

1. A sparse tensor is a ``Tensor`` subclass (``SparseTensor`` for ``sparse_coo``,
   ``SparseCsrTensor`` for ``sparse_csr``) holding an int64 index array (``(sparse_dim,
   nnz)``, outside autograd) and a dense ember tensor of values (``(nnz, *dense_shape)``).
   It has no ``_data``: the subclass turns that attribute into a property that raises
   PyTorch's NotImplementedError naming the op and the layout. So a sparse tensor handed to
   any dense op fails loudly at the moment ``Op.apply`` unwraps it, and dense tensors pay
   nothing (their ``_data`` is still the plain slot; ``Op.apply`` is unchanged).
2. Every sparse operation is a composition of differentiable dense ops on the values:
   ``index_select`` gathers rows, ``index_add`` sums segments (coalescing, products,
   reductions, softmax). Gradients therefore reach whatever the values came from, and
   backward formulas can be differentiated again, with no new primitive.
3. A sparse *leaf* that requires grad (or a dense weight whose gradient must come back
   sparse: ``nn.Embedding(sparse=True)``) is reached through a proxy: a dense leaf tensor
   of values whose ``AccumulateGrad`` node points at a ``_GradientSink`` instead of a
   tensor. The engine adds the values' gradient into the sink as it would into any leaf;
   the sink turns it into a sparse ``.grad`` on its owner (coalesced indices for a sparse
   leaf, as ``torch.sparse.mm`` gives; one row per lookup for an embedding). The engine
   is unchanged.
4. Ember checks index bounds on construction (PyTorch only does under
   ``check_invariants=True``), since an out-of-range index would be a silent wrong answer.
"""

from __future__ import annotations

import sys
import weakref

from ember._backend import asarray, xp
from ember._dtype import dtype as _dtype_cls
from ember._dtype import to_dtype
from ember._tensor import Size, Tensor
from ember.autograd import grad_mode
from ember.autograd.function import AccumulateGrad
from ember.ops import creation, elementwise, indexing
from ember.ops import shape as shape_ops

__all__ = [
    "sparse_coo",
    "sparse_coo_tensor",
    "sparse_csr",
    "sparse_csr_tensor",
    "spmm",
    "strided",
]


class layout:
    """The memory layout of a tensor: ``ember.strided``, ``ember.sparse_coo`` or ``sparse_csr``."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


strided, sparse_coo, sparse_csr = layout("strided"), layout("sparse_coo"), layout("sparse_csr")


def _calling_op() -> str:
    """The op that asked a sparse tensor for its dense storage (an ``Op`` class, or a function)."""
    frame = sys._getframe(2)
    owner = frame.f_locals.get("cls") if frame.f_code.co_name == "apply" else None
    return owner.__name__ if isinstance(owner, type) else frame.f_code.co_name


class SparseTensor(Tensor):
    """A COO sparse tensor: ``indices`` (sparse_dim, nnz) and ``values`` (nnz, *dense_shape).

    Made by ``ember.sparse_coo_tensor`` or ``dense.to_sparse()``; see the module docstring.
    """

    __slots__ = ("_coalesced", "_index_array", "_sizes", "_value_tensor")
    _layout = sparse_coo
    _backend_name = "SparseCPU"

    @property
    def _data(self):
        raise NotImplementedError(
            f"Could not run '{_calling_op()}' with arguments from the '{self._backend_name}' "
            f"backend: ember's dense operations do not take a tensor with layout={self._layout}"
            " (call .to_dense() first, or use an ember.sparse function)"
        )

    # ------------------------------------------------------------ attributes
    @property
    def layout(self) -> layout:
        return self._layout

    @property
    def is_sparse(self) -> bool:
        return self._layout is sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        return self._layout is sparse_csr

    @property
    def shape(self) -> Size:
        return Size(self._sizes)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._sizes)
        return self._sizes[_wrap(dim, len(self._sizes))]

    @property
    def dtype(self) -> _dtype_cls:
        return self._value_tensor.dtype

    @property
    def ndim(self) -> int:
        return len(self._sizes)

    def dim(self) -> int:
        return len(self._sizes)

    def numel(self) -> int:
        return Size(self._sizes).numel()

    def __len__(self) -> int:
        return self._sizes[0]

    def is_floating_point(self) -> bool:
        return self._value_tensor.is_floating_point()

    def sparse_dim(self) -> int:
        return self._index_array.shape[0]

    def dense_dim(self) -> int:
        return len(self._sizes) - self._index_array.shape[0]

    def _nnz(self) -> int:
        return self._index_array.shape[1]

    def is_coalesced(self) -> bool:
        return self._coalesced

    # ------------------------------------------------------------ autograd
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            Tensor.requires_grad.fset(self, value)
            return
        if value and not self.is_floating_point():
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(got {self.dtype})"
            )
        values = self._value_tensor.detach()
        if value:
            values = _proxy(values, self, _coalesced_gradient(self))
        self._value_tensor, self._requires_grad = values, bool(value)

    def detach(self) -> SparseTensor:
        return _like(self, self._index_array, self._value_tensor.detach(), self._coalesced)

    # ------------------------------------------------------------ conversions
    def _indices(self) -> Tensor:
        return Tensor._make(self._index_array)

    def _values(self) -> Tensor:
        return self._value_tensor.detach()

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first"
            )
        return Tensor._make(self._index_array)

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first"
            )
        return shape_ops.view_as(self._value_tensor, self._value_tensor)

    def coalesce(self) -> SparseTensor:
        """Sum the values of repeated indices and sort the indices (lexicographically)."""
        return coalesce(self)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_to_dense")
        return to_dense(self)

    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None,
                  dense_dim=None) -> SparseTensor:
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(
                "to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                "!=self.sparse_dim() is not supported"
            )
        return self

    def to(self, *args, **kwargs) -> SparseTensor:
        values = self._value_tensor.to(*args, **kwargs)
        if values is self._value_tensor:
            return self
        return _like(self, self._index_array, values, self._coalesced)

    def clone(self, *, memory_format=None) -> SparseTensor:
        return _like(self, self._index_array.copy(), self._value_tensor.clone(), self._coalesced)

    def __repr__(self) -> str:
        return _sparse_repr(self, ("indices", self._index_array))

    def __deepcopy__(self, memo):
        copied = _like(self, self._index_array.copy(), self._value_tensor.detach().clone(),
                       self._coalesced)
        memo[id(self)] = copied
        return copied

    # ------------------------------------------------------------ arithmetic
    def __mul__(self, other):
        return _scaled(self, other, "mul")

    __rmul__ = mul = __mul__

    def __truediv__(self, other):
        if isinstance(other, SparseTensor):
            raise NotImplementedError(_unsupported("div", self))
        return _scaled(self, 1 / _scalar(other, "div", self), "div")

    div = __truediv__

    def __neg__(self):
        return _scaled(self, -1, "neg")

    neg = __neg__

    def __add__(self, other):
        return add(self, other)

    add = __add__

    def __sub__(self, other):
        return add(self, -other if isinstance(other, SparseTensor) else other)

    sub = __sub__

    def __matmul__(self, other):
        return matmul(self, other)

    matmul = __matmul__

    def mm(self, other):
        return mm(self, other)

    def t(self) -> SparseTensor:
        if self.sparse_dim() > 2 or self.dense_dim():
            raise RuntimeError(
                "t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions"
            )
        return self.transpose(0, 1) if self.ndim == 2 else self

    def transpose(self, dim0: int, dim1: int) -> SparseTensor:
        return transpose(self, dim0, dim1)

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        from ember.sparse import sum as sparse_sum

        if keepdim:
            raise NotImplementedError(_unsupported("sum(keepdim=True)", self))
        return sparse_sum(self, dim, dtype=dtype)


class SparseCsrTensor(SparseTensor):
    """A CSR matrix: ``crow_indices`` (rows + 1), ``col_indices`` and ``values`` (nnz).

    Kept as its sorted COO twin; products and ``to_dense`` go through the COO code.
    """

    __slots__ = ()
    _layout = sparse_csr
    _backend_name = "SparseCsrCPU"

    def crow_indices(self) -> Tensor:
        counts = xp.bincount(self._index_array[0], minlength=self._sizes[0])
        return Tensor._make(xp.concatenate([[0], xp.cumsum(counts)]).astype(xp.int64))

    def col_indices(self) -> Tensor:
        return Tensor._make(self._index_array[1])

    def values(self) -> Tensor:
        return shape_ops.view_as(self._value_tensor, self._value_tensor)

    def to_sparse(self, sparse_dim: int | None = None, **kwargs) -> SparseTensor:
        return _like(self, self._index_array, self._value_tensor, True, SparseTensor)

    def to_sparse_csr(self, dense_dim=None) -> SparseCsrTensor:
        return self

    def __repr__(self) -> str:
        return _sparse_repr(self, ("crow_indices", self.crow_indices()._data),
                            ("col_indices", self._index_array[1]))

    def _coo(self) -> SparseTensor:
        return _like(self, self._index_array, self._value_tensor, True, SparseTensor)

    def __matmul__(self, other):
        return matmul(self._coo(), other)

    matmul = __matmul__

    def mm(self, other):
        return mm(self._coo(), other)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        return self._coo().to_dense(dtype)


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(_unsupported(name, self))

    method.__name__ = name
    return method


for _name in ("indices", "_indices", "coalesce", "is_coalesced", "t", "transpose", "sum",
              "__mul__", "__rmul__", "mul", "__truediv__", "div", "__neg__", "neg", "__add__",
              "add", "__sub__", "sub", "clone"):
    setattr(SparseCsrTensor, _name, _refuse(_name))


def _unsupported(op: str, tensor) -> str:
    return (f"Could not run '{op}' with arguments from the '{tensor._backend_name}' backend: "
            f"ember does not implement it for layout={tensor._layout}")


# ---------------------------------------------------------------- construction


def _make_sparse(indices, values: Tensor, sizes, coalesced: bool, cls=SparseTensor):
    tensor = object.__new__(cls)
    tensor._index_array, tensor._value_tensor = indices, values
    tensor._sizes, tensor._coalesced = tuple(int(size) for size in sizes), bool(coalesced)
    tensor._requires_grad = values._requires_grad
    tensor.grad, tensor.grad_fn, tensor._output_nr = None, values.grad_fn, 0
    tensor._version_counter, tensor._base, tensor._hooks = [0], None, None
    tensor._accumulator = tensor._post_accumulate_hooks = None
    return tensor


def _like(source, indices, values, coalesced, cls=None):
    return _make_sparse(indices, values, source._sizes, coalesced, cls or type(source))


def _as_array(data, what: str):
    if isinstance(data, SparseTensor):
        raise TypeError(f"sparse_coo_tensor(): {what} must be a dense tensor")
    return data._data if isinstance(data, Tensor) else asarray(data)


def _as_values(values, dtype) -> Tensor:
    if not isinstance(values, Tensor):
        values = Tensor._make(asarray(values))
    if dtype is not None and to_dtype(dtype) is not values.dtype:
        values = values.to(to_dtype(dtype))
    if values.requires_grad and grad_mode.state.enabled:
        return shape_ops.view_as(values, values)  # the sparse tensor is not a leaf
    return values.detach() if values.requires_grad else values


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None,
                      requires_grad: bool = False, check_invariants=None,
                      is_coalesced=None) -> SparseTensor:
    """A COO sparse tensor with ``values[k]`` at position ``indices[:, k]``; repeats add up.

    Args:
        indices: int (sparse_dim, nnz).
        values: (nnz, *dense_shape).
        size: the full shape; inferred as ``indices.max(1) + 1`` followed by the dense shape.
        is_coalesced: promise that the indices are sorted and unique.

    Example::

        >>> ember.sparse_coo_tensor([[0, 1], [2, 0]], [3., 4.], (2, 3)).to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 0.]])
    """
    from ember._device import check_device

    check_device(device)
    index = _as_array(indices, "indices")
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"indices must be an int64 tensor, got {index.dtype}")
    values = _as_values(values, dtype)
    if index.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(index.shape)}")
    index = index.astype(xp.int64, copy=False)
    if index.shape[1] != (values.shape[0] if values.ndim else 1):
        raise RuntimeError(
            f"indices and values must have same nnz, but got nnz from indices: "
            f"{index.shape[1]}, nnz from values: {values.shape[0] if values.ndim else 1}"
        )
    sizes = _check_sizes(index, values, size)
    result = _make_sparse(index, values, sizes, bool(is_coalesced) or index.shape[1] <= 1)
    if requires_grad:
        result.requires_grad_(True)
    return result


def _check_sizes(index, values: Tensor, size) -> tuple:
    sparse_dim, dense_shape = index.shape[0], tuple(values.shape[1:])
    for dim in range(sparse_dim):
        if index.shape[1] and index[dim].min() < 0:
            raise RuntimeError(f"found negative index {int(index[dim].min())} for dim {dim}")
    if size is None:
        return tuple(int(row.max()) + 1 if row.size else 0 for row in index) + dense_shape
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + len(dense_shape):
        raise RuntimeError(
            f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
            f"sparse_dim = {sparse_dim}, dense_dim = {len(dense_shape)}"
        )
    if size[sparse_dim:] != dense_shape:
        raise RuntimeError(
            f"values has incorrect size, expected {list(size[sparse_dim:])}, got "
            f"{list(dense_shape)}"
        )
    for dim in range(sparse_dim):
        if index.shape[1] and index[dim].max() >= size[dim]:
            raise RuntimeError(
                f"size is inconsistent with indices: for dim {dim}, size is {size[dim]} but "
                f"found index {int(index[dim].max())}"
            )
    return size


def sparse_csr_tensor(crow_indices, col_indices, values, size=None, *, dtype=None,
                      device=None, requires_grad: bool = False,
                      check_invariants=None) -> SparseCsrTensor:
    """A CSR matrix: row ``i`` holds ``values[crow[i]:crow[i+1]]`` at ``col_indices`` there."""
    crow, columns = _as_array(crow_indices, "crow_indices"), _as_array(col_indices, "col_indices")
    if crow.ndim != 1 or columns.ndim != 1 or crow.size == 0 or crow[0] != 0 or (
        xp.diff(crow) < 0
    ).any() or crow[-1] != columns.size:
        raise RuntimeError(
            "sparse_csr_tensor: crow_indices must be 1-D, start at 0, never decrease and end "
            f"at nnz ({columns.size}); got {crow.tolist()}"
        )
    rows = xp.repeat(xp.arange(crow.size - 1), xp.diff(crow))
    index = xp.stack([rows, columns.astype(xp.int64)])
    values = _as_values(values, dtype)
    if size is None:
        size = (crow.size - 1, int(columns.max()) + 1 if columns.size else 0)
    sizes = _check_sizes(index, values, size)
    result = _make_sparse(index, values, sizes, True, SparseCsrTensor)
    if requires_grad:
        raise NotImplementedError(_unsupported("sparse_csr_tensor(requires_grad=True)", result))
    return result


def to_sparse(dense: Tensor, sparse_dim: int | None = None) -> SparseTensor:
    """The COO form of a dense tensor: every entry (or dense slice) that is not all zeros."""
    ndim = dense.ndim
    sparse_dim = ndim if sparse_dim is None else sparse_dim
    if not 0 <= sparse_dim <= ndim:
        raise RuntimeError(
            f"dense_to_sparse: sparse_dim argument must be in [0,{ndim}] range, but "
            f"{sparse_dim} is given"
        )
    array = dense._data
    head = array.reshape(array.shape[:sparse_dim] + (-1,))
    index = xp.stack(xp.nonzero((head != 0).any(axis=-1))).astype(xp.int64)
    index = index.reshape(sparse_dim, -1)
    flat = dense.reshape((-1,) + tuple(dense.shape[sparse_dim:]))
    linear = xp.ravel_multi_index(tuple(index), array.shape[:sparse_dim]) if sparse_dim else (
        xp.zeros(index.shape[1], xp.int64))
    values = indexing.index_select(flat, 0, Tensor._make(linear.astype(xp.int64)))
    return _make_sparse(index, values, dense.shape, True)


def to_sparse_csr(dense: Tensor) -> SparseCsrTensor:
    if dense.ndim != 2:
        raise RuntimeError(f"to_sparse_csr: expected a 2-D tensor, got {dense.ndim}-D")
    coo = to_sparse(dense)
    return _like(coo, coo._index_array, coo._value_tensor, True, SparseCsrTensor)


# ---------------------------------------------------------------- autograd for sparse leaves


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
        if owner is None:
            return
        owner.grad = value if isinstance(value, SparseTensor) else self._to_sparse(value)


class _Accumulating:
    """What the engine sees as an existing ``.grad``: adding to it accumulates, sparse."""

    requires_grad = True

    def __init__(self, sink: _GradientSink):
        self._sink = sink

    def __add__(self, values_grad: Tensor):
        existing, new = self._sink._owner().grad, self._sink._to_sparse(values_grad)
        if not isinstance(existing, SparseTensor):
            return existing + new.to_dense()
        return _concatenated(existing, new)


def _proxy(values: Tensor, owner, to_sparse) -> Tensor:
    """A dense leaf over ``values`` whose gradient goes to ``owner.grad`` as a sparse tensor."""
    proxy = Tensor._make(values._data, True)
    node = AccumulateGrad(_GradientSink(values._data, owner, to_sparse))
    proxy._accumulator = weakref.ref(node)
    proxy.__dict__["_sink_node"] = node  # the weak reference alone would let it go
    return proxy


def _coalesced_gradient(leaf: SparseTensor):
    """Per-entry value gradients -> the gradient of ``leaf`` on its coalesced pattern."""
    index, sizes = leaf._index_array, leaf._sizes

    def convert(values_grad: Tensor) -> SparseTensor:
        unique, first, _ = _unique_positions(index, sizes)
        kept = indexing.index_select(values_grad.detach(), 0, Tensor._make(first))
        # Sorted and unique, yet flagged uncoalesced, as PyTorch's gradient is.
        return _make_sparse(unique, kept, sizes, False)

    return convert


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
    return _proxy(rows, weight, to_sparse)


# ---------------------------------------------------------------- the operations


def _wrap(dim: int, ndim: int) -> int:
    from ember.ops._function import wrap_dim

    return wrap_dim(dim, ndim)


def _unique_positions(index, sizes):
    """(sorted unique index columns or None when already so, first position of each, inverse)."""
    sparse_sizes = tuple(sizes[: index.shape[0]])
    linear = xp.ravel_multi_index(tuple(index), sparse_sizes) if index.shape[0] else (
        xp.zeros(index.shape[1], xp.int64))
    keys, first, inverse = xp.unique(linear, return_index=True, return_inverse=True)
    unique = xp.stack(xp.unravel_index(keys, sparse_sizes)).astype(xp.int64).reshape(
        len(sparse_sizes), -1)
    return unique, first.astype(xp.int64), inverse.reshape(-1).astype(xp.int64)


def _segment_sum(values: Tensor, segments, count: int) -> Tensor:
    """Row ``s`` of the result is the sum of the rows of ``values`` whose segment is ``s``."""
    table = creation.zeros((count,) + tuple(values.shape[1:]), dtype=values.dtype)
    return indexing.index_add(table, 0, Tensor._make(segments), values)


def coalesce(tensor: SparseTensor) -> SparseTensor:
    if tensor._coalesced:
        return tensor
    unique, _, inverse = _unique_positions(tensor._index_array, tensor._sizes)
    values = _segment_sum(tensor._value_tensor, inverse, unique.shape[1])
    return _like(tensor, unique, values, True)


def _linear_rows(tensor: SparseTensor):
    index = tensor._index_array
    if not index.shape[0]:
        return xp.zeros(index.shape[1], xp.int64)
    return xp.ravel_multi_index(tuple(index), tensor._sizes[: index.shape[0]]).astype(xp.int64)


def to_dense(tensor: SparseTensor) -> Tensor:
    sparse_dim = tensor.sparse_dim()
    count = Size(tensor._sizes[:sparse_dim]).numel()
    flat = _segment_sum(tensor._value_tensor, _linear_rows(tensor), count)
    return flat.reshape(tensor._sizes)


def _scalar(other, op: str, tensor):
    if isinstance(other, Tensor) and not isinstance(other, SparseTensor) and other.ndim == 0:
        return other
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return other
    raise NotImplementedError(_unsupported(f"{op} with {type(other).__name__}", tensor))


def _scaled(tensor: SparseTensor, factor, op: str) -> SparseTensor:
    factor = _scalar(factor, op, tensor)
    return _like(tensor, tensor._index_array, tensor._value_tensor * factor, tensor._coalesced)


def _concatenated(first: SparseTensor, second: SparseTensor) -> SparseTensor:
    index = xp.concatenate([first._index_array, second._index_array], axis=1)
    values = shape_ops.cat([first._value_tensor, second._value_tensor.to(first.dtype)])
    return _like(first, index, values, False)


def add(tensor: SparseTensor, other, *, alpha=1) -> SparseTensor:
    """``sparse + sparse``: the entries of both, coalesced."""
    if not isinstance(other, SparseTensor):
        if isinstance(other, Tensor):
            raise RuntimeError(  # noqa: TRY004  (PyTorch's class)
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
            )
        raise NotImplementedError(_unsupported(f"add with {type(other).__name__}", tensor))
    if tensor._sizes != other._sizes:
        raise RuntimeError(
            f"add: expected sizes of 'self' and 'other' to match, but {list(tensor._sizes)} != "
            f"{list(other._sizes)}"
        )
    if other._layout is not tensor._layout or tensor.sparse_dim() != other.sparse_dim():
        raise NotImplementedError(_unsupported("add of different sparse layouts", tensor))
    return coalesce(_concatenated(tensor, other if alpha == 1 else other * alpha))


def transpose(tensor: SparseTensor, dim0: int, dim1: int) -> SparseTensor:
    ndim, sparse_dim = tensor.ndim, tensor.sparse_dim()
    dim0, dim1 = _wrap(dim0, ndim), _wrap(dim1, ndim)
    if dim0 >= sparse_dim or dim1 >= sparse_dim:
        raise RuntimeError(
            "transpose(): sparse ember tensors can only swap two sparse dimensions "
            f"(sparse_dim={sparse_dim}), got {dim0} and {dim1}"
        )
    order = list(range(sparse_dim))
    order[dim0], order[dim1] = dim1, dim0
    sizes = list(tensor._sizes)
    sizes[dim0], sizes[dim1] = sizes[dim1], sizes[dim0]
    result = _make_sparse(tensor._index_array[order], tensor._value_tensor, sizes,
                          dim0 == dim1 and tensor._coalesced)
    return result


def _check_matrix_product(op: str, sparse: SparseTensor, dense) -> None:
    if not isinstance(dense, Tensor) or isinstance(dense, SparseTensor):
        raise NotImplementedError(_unsupported(f"{op} of two sparse tensors", sparse))
    if sparse.ndim != 2 or sparse.dense_dim():
        raise RuntimeError(
            f"{op}: expected a 2-D sparse matrix, got size {list(sparse.shape)}"
        )
    if dense.ndim != 2:
        raise RuntimeError(f"addmm: matrices expected, got {dense.ndim}D tensor")
    if dense.shape[0] != sparse.shape[1]:
        raise RuntimeError(
            f"addmm: Argument #3 (dense): Expected dim 0 size {sparse.shape[1]}, got "
            f"{dense.shape[0]}"
        )
    if dense.dtype is not sparse.dtype:
        raise RuntimeError(
            f"expected scalar type {_legacy_name(sparse.dtype)} but found "
            f"{_legacy_name(dense.dtype)}"
        )


def _legacy_name(dtype) -> str:
    from ember.ops._function import _legacy

    return _legacy(dtype)


def mm(sparse: SparseTensor, dense: Tensor) -> Tensor:
    """``sparse @ dense`` for a 2-D COO matrix: each entry scales a row of ``dense``."""
    _check_matrix_product("mm", sparse, dense)
    rows, columns = sparse._index_array
    gathered = indexing.index_select(dense, 0, Tensor._make(columns))
    contributions = gathered * sparse._value_tensor.unsqueeze(1)
    return _segment_sum(contributions, rows, sparse.shape[0])


def matmul(sparse: SparseTensor, other) -> Tensor:
    """``sparse @ other``: a matrix product; a 1-D ``other`` is taken as a column."""
    if isinstance(other, Tensor) and not isinstance(other, SparseTensor) and other.ndim == 1:
        return mm(sparse, other.unsqueeze(1)).squeeze(1)
    if isinstance(other, Tensor) and not isinstance(other, SparseTensor) and sparse.requires_grad \
            and sparse.grad_fn is None:
        raise NotImplementedError(
            "matmul(sparse, dense) for a sparse leaf that requires grad: PyTorch gives it a "
            "dense gradient, which ember does not build; use ember.sparse.mm, whose "
            "gradient is sparse (the same values on the sparse tensor's entries)"
        )
    return mm(sparse, other)


def spmm(input: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: the product of a sparse matrix and a dense one (``sparse.mm``)."""
    if not isinstance(input, SparseTensor):
        from ember.ops.matmul import mm as dense_mm

        return dense_mm(input, mat2)
    return mm(input._coo() if isinstance(input, SparseCsrTensor) else input, mat2)


def reduce_sum(tensor: SparseTensor, dim=None, dtype=None):
    """``ember.sparse.sum``: all entries, or along ``dim`` (sparse unless no sparse dim is left)."""
    values = tensor._value_tensor if dtype is None else tensor._value_tensor.to(to_dtype(dtype))
    if dim is None:
        return values.sum()
    dims = {_wrap(d, tensor.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
    sparse_dim = tensor.sparse_dim()
    dense_dims = sorted(d - sparse_dim + 1 for d in dims if d >= sparse_dim)
    if dense_dims:
        values = values.sum(dim=tuple(dense_dims))
    kept = [d for d in range(sparse_dim) if d not in dims]
    if not kept:
        return values.sum(0)
    sizes = [tensor._sizes[d] for d in kept] + [
        size for d, size in enumerate(tensor._sizes) if d >= sparse_dim and d not in dims]
    partial = _make_sparse(tensor._index_array[kept], values, sizes, False)
    return coalesce(partial)


def softmax(tensor: SparseTensor, dim: int, dtype=None, *, log: bool = False) -> SparseTensor:
    """Softmax along ``dim`` over the specified entries only (unspecified ones are -inf)."""
    dim = _wrap(dim, tensor.ndim)
    tensor = coalesce(tensor if dtype is None else tensor.to(to_dtype(dtype)))
    values, sparse_dim = tensor._value_tensor, tensor.sparse_dim()
    if dim >= sparse_dim:
        dense_dim = dim - sparse_dim + 1
        result = (reduction_log_softmax if log else reduction_softmax)(values, dense_dim)
        return _like(tensor, tensor._index_array, result, True)
    others = [d for d in range(sparse_dim) if d != dim]
    index = tensor._index_array[others]
    group_sizes = [tensor._sizes[d] for d in others]
    groups = xp.ravel_multi_index(tuple(index), group_sizes) if others else xp.zeros(
        index.shape[1], xp.int64)
    keys, groups = xp.unique(groups, return_inverse=True)
    groups = Tensor._make(groups.reshape(-1).astype(xp.int64))
    peaks = xp.full((keys.size,) + tuple(values.shape[1:]), -xp.inf, values._data.dtype)
    xp.maximum.at(peaks, groups._data, values._data)
    shifted = values - Tensor._make(peaks[groups._data])
    exponentials = elementwise.exp(shifted)
    totals = indexing.index_select(_segment_sum(exponentials, groups._data, keys.size), 0, groups)
    result = shifted - elementwise.log(totals) if log else exponentials / totals
    return _like(tensor, tensor._index_array, result, True)


def reduction_softmax(values: Tensor, dim: int) -> Tensor:
    from ember.ops.softmax import softmax as dense_softmax

    return dense_softmax(values, dim)


def reduction_log_softmax(values: Tensor, dim: int) -> Tensor:
    from ember.ops.softmax import log_softmax as dense_log_softmax

    return dense_log_softmax(values, dim)


# ---------------------------------------------------------------- printing


def _sparse_repr(tensor: SparseTensor, *index_parts) -> str:
    from ember._dtype import get_default_dtype
    from ember._tensor_str import _body, _options, tensor_repr

    parts = []
    for label, array in index_parts:
        parts.append(f"{label}=" + _nested(tensor_repr(Tensor._make(array)), 7 + len(label) + 1))
    values = tensor._value_tensor.detach()._data
    if values.size == 0:
        values_text = f"tensor([], size={tuple(values.shape)})"
    else:
        values_text = _nested(f"tensor({_body(values)})", 7 + len("values="))
    parts.append("values=" + values_text)
    suffixes = [f"size={tuple(tensor._sizes)}", f"nnz={tensor._nnz()}"]
    if tensor.dtype.name not in ("int64", "bool") and tensor.dtype is not get_default_dtype():
        suffixes.append(f"dtype=ember.{tensor.dtype.name}")
    suffixes.append(f"layout={tensor._layout}")
    if tensor.grad_fn is not None:
        suffixes.append(f"grad_fn=<{tensor.grad_fn.name()}>")
    elif tensor.requires_grad:
        suffixes.append("requires_grad=True")
    # PyTorch's line filling: COO starts its suffixes on a new line, CSR after the values.
    text = "tensor(" + ",\n       ".join(parts)
    line = len(text) - text.rfind("\n") + 1
    force_newline = tensor._layout is sparse_coo
    for suffix in suffixes:
        if force_newline or line + len(suffix) + 2 > _options["linewidth"]:
            text, line, force_newline = text + ",\n       " + suffix, 7 + len(suffix), False
        else:
            text, line = text + ", " + suffix, line + len(suffix) + 2
    return text + ")"


def _nested(text: str, indent: int) -> str:
    return text.replace("\n", "\n" + " " * indent)

