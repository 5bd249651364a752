"""Sparse tensors: COO (and CSR for products), built on ember's dense ops.

This module holds the tensors, their construction and printing; the operations are in
``_sparse_math.py`` (whose ``install()`` makes them the tensors' methods), the sparse
gradients in ``_sparse_grad.py``, the public functions in ``ember.sparse``. The design, in
four points:

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
   backward formulas can be differentiated again, with no new primitive. A sparse tensor
   made from values that require grad is not a leaf; its ``grad_fn`` is their node.
3. A sparse *leaf* that requires grad (or a dense weight whose gradient must come back
   sparse: ``nn.Embedding(sparse=True)``) is reached through a proxy: a dense leaf tensor
   of values whose ``AccumulateGrad`` node points at a ``_GradientSink`` instead of a
   tensor. The engine adds the values' gradient into the sink as it would into any leaf;
   the sink turns it into a sparse ``.grad`` on its owner (coalesced indices for a sparse
   leaf, as ``torch.sparse.mm`` gives; one row per lookup for an embedding; dense for
   ``torch.mm``, through a dense stand-in, as PyTorch's). The engine is unchanged.
4. Ember checks index bounds on construction (PyTorch only does under
   ``check_invariants=True``), since an out-of-range index would be a silent wrong answer.
"""

from __future__ import annotations

import sys

from ember._backend import asarray, xp
from ember._device import check_device
from ember._dtype import dtype as _dtype_cls, get_default_dtype, to_dtype
from ember._tensor import Size, Tensor
from ember._tensor_str import _body, _options, tensor_repr
from ember.autograd import grad_mode
from ember.ops import creation, indexing, shape as shape_ops
from ember.ops._function import wrap_dim

__all__ = [
    "sparse_coo",
    "sparse_coo_tensor",
    "sparse_csr",
    "sparse_csr_tensor",
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
    Its operations (coalesce, to_dense, arithmetic, products, transpose, sum) and its
    ``requires_grad`` setter are installed by ``_sparse_math.install()``: they are made of
    the modules that import this one.
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
        return self._sizes[wrap_dim(dim, len(self._sizes))]

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

    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None,
                  dense_dim=None) -> SparseTensor:
        if layout is sparse_csr:
            return self.to_sparse_csr()
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError(
                "to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                "!=self.sparse_dim() is not supported"
            )
        return self

    def to_sparse_csr(self, dense_dim=None) -> SparseCsrTensor:
        """The CSR form of a 2-D COO matrix (its coalesced entries, row by row)."""
        if self.ndim != 2 or self.dense_dim():
            raise RuntimeError(
                f"to_sparse_csr: expected a 2-D sparse matrix, got size {list(self.shape)} "
                f"with {self.dense_dim()} dense dimensions"
            )
        coalesced = self.coalesce()
        return _like(coalesced, coalesced._index_array, coalesced._value_tensor, True,
                     SparseCsrTensor)

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

    # ------------------------------------------------------------ shape
    def t(self) -> SparseTensor:
        if self.sparse_dim() > 2 or self.dense_dim():
            raise RuntimeError(
                "t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions"
            )
        return self.transpose(0, 1) if self.ndim == 2 else self


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

    def mm(self, other):
        return self._coo().mm(other)

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
    if values.grad_fn is None and values._requires_grad and grad_mode.state.enabled:
        # Values shared with a sparse leaf (its proxy): this tensor is derived, not a leaf.
        values = shape_ops.view_as(values, values)
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


def _concatenated(first: SparseTensor, second: SparseTensor) -> SparseTensor:
    """The entries of both (uncoalesced), with ``first``'s size and dtype."""
    index = xp.concatenate([first._index_array, second._index_array], axis=1)
    values = shape_ops.cat([first._value_tensor, second._value_tensor.to(first.dtype)])
    return _like(first, index, values, False)


def _unique_positions(index, sizes):
    """(sorted unique index columns, first position of each, inverse)."""
    sparse_sizes = tuple(sizes[: index.shape[0]])
    linear = xp.ravel_multi_index(tuple(index), sparse_sizes) if index.shape[0] else (
        xp.zeros(index.shape[1], xp.int64))
    keys, first, inverse = xp.unique(linear, return_index=True, return_inverse=True)
    unique = xp.stack(xp.unravel_index(keys, sparse_sizes)).astype(xp.int64).reshape(
        len(sparse_sizes), -1)
    return unique, first.astype(xp.int64), inverse.reshape(-1).astype(xp.int64)


def _as_array(data, what: str):
    if isinstance(data, SparseTensor):
        raise TypeError(f"sparse_coo_tensor(): {what} must be a dense tensor")
    return data._data if isinstance(data, Tensor) else asarray(data)


def _as_values(values, dtype) -> Tensor:
    if not isinstance(values, Tensor):
        values = creation.tensor(values)  # Python floats become the default dtype
    if dtype is not None and to_dtype(dtype) is not values.dtype:
        values = values.to(to_dtype(dtype))
    return values.detach() if values.requires_grad and not grad_mode.state.enabled else values


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
    check_device(device)
    index = _as_array(indices, "indices")
    if index.dtype.kind not in "iuf":
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


# ---------------------------------------------------------------- printing


def _sparse_repr(tensor: SparseTensor, *index_parts) -> str:
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
