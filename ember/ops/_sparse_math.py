"""The operations on sparse tensors, composed of ember's differentiable dense ops.

Every result's values come from ``index_select`` (gathering rows), ``index_add`` (summing
segments) and elementwise ops on the input's values, so gradients flow to whatever the
values came from and can be differentiated again. See ``ember/ops/sparse.py`` for the design.
``install()`` makes them the sparse tensors' methods.
"""

from __future__ import annotations

from ember._backend import xp
from ember._dtype import to_dtype
from ember._tensor import Size, Tensor
from ember.ops import _sparse_grad, creation, elementwise, indexing
from ember.ops._function import _legacy, broadcast_shape, wrap_dim
from ember.ops.matmul import matmul as dense_matmul, mm as dense_mm
from ember.ops.softmax import log_softmax as dense_log_softmax, softmax as dense_softmax
from ember.ops.sparse import (
    SparseCsrTensor,
    SparseTensor,
    _concatenated,
    _like,
    _make_sparse,
    _unique_positions,
    _unsupported,
)


def _segment_sum(values: Tensor, segments, count: int) -> Tensor:
    """Row ``s`` of the result is the sum of the rows of ``values`` whose segment is ``s``."""
    table = creation.zeros((count,) + tuple(values.shape[1:]), dtype=values.dtype)
    return indexing.index_add(table, 0, Tensor._make(segments), values)


def coalesce(tensor: SparseTensor) -> SparseTensor:
    """Sum the values of repeated indices and sort the indices (lexicographically)."""
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


def to_dense(tensor: SparseTensor, dtype=None, *, masked_grad=None) -> Tensor:
    if dtype is not None:
        raise RuntimeError("dtype argument is not supported by sparse_to_dense")
    sparse_dim = tensor.sparse_dim()
    count = Size(tensor._sizes[:sparse_dim]).numel()
    flat = _segment_sum(tensor._value_tensor, _linear_rows(tensor), count)
    return flat.reshape(tensor._sizes)


def scalar(other, op: str, tensor):
    if isinstance(other, Tensor) and not isinstance(other, SparseTensor) and other.ndim == 0:
        return other
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return other
    raise NotImplementedError(_unsupported(f"{op} with {type(other).__name__}", tensor))


def scaled(tensor: SparseTensor, factor, op: str) -> SparseTensor:
    factor = scalar(factor, op, tensor)
    return _like(tensor, tensor._index_array, tensor._value_tensor * factor, tensor._coalesced)


def multiply(tensor: SparseTensor, other) -> SparseTensor:
    """``sparse * other``: a scalar, a dense tensor (broadcast to the sparse shape, read at
    the entries) or a sparse tensor (the entries both hold)."""
    if isinstance(other, SparseTensor):
        return _intersection_product(tensor, other)
    if not isinstance(other, Tensor) or not other.ndim:
        return scaled(tensor, other, "mul")
    if broadcast_shape("mul", tensor.shape, other.shape) != tuple(tensor.shape):
        raise NotImplementedError(_unsupported("mul that grows a sparse tensor", tensor))
    sparse_dim = tensor.sparse_dim()
    rows = other.expand(tuple(tensor.shape)).reshape((-1,) + tuple(tensor.shape[sparse_dim:]))
    picked = indexing.index_select(rows, 0, Tensor._make(_linear_rows(tensor)))
    return _like(tensor, tensor._index_array, tensor._value_tensor * picked, tensor._coalesced)


def _intersection_product(tensor: SparseTensor, other: SparseTensor) -> SparseTensor:
    if tensor._sizes != other._sizes or tensor.sparse_dim() != other.sparse_dim():
        raise RuntimeError(
            f"mul: expected sizes of 'self' and 'other' to match, but {list(tensor._sizes)} != "
            f"{list(other._sizes)}"
        )
    first, second = coalesce(tensor), coalesce(other)
    _, mine, theirs = xp.intersect1d(_linear_rows(first), _linear_rows(second),
                                     assume_unique=True, return_indices=True)
    values = indexing.index_select(first._value_tensor, 0, Tensor._make(mine.astype(xp.int64)))
    others = indexing.index_select(second._value_tensor, 0, Tensor._make(theirs.astype(xp.int64)))
    return _like(first, first._index_array[:, mine], values * others, True)


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
    dim0, dim1 = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
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
            f"expected scalar type {_legacy(sparse.dtype)} but found "
            f"{_legacy(dense.dtype)}"
        )


def mm(sparse: SparseTensor, dense: Tensor) -> Tensor:
    """``sparse @ dense`` for a 2-D COO matrix: each entry scales a row of ``dense``."""
    _check_matrix_product("mm", sparse, dense)
    rows, columns = sparse._index_array
    gathered = indexing.index_select(dense, 0, Tensor._make(columns))
    contributions = gathered * sparse._value_tensor.unsqueeze(1)
    return _segment_sum(contributions, rows, sparse.shape[0])


def matmul(left, right) -> Tensor:
    """``left @ right`` with one operand sparse (``torch.mm``, ``torch.matmul``, ``@``).

    Unlike ``sparse.mm``, PyTorch gives a sparse leaf a *dense* gradient here (every
    position, not only its entries): such a leaf goes through a dense stand-in.
    """
    if isinstance(left, SparseTensor) and isinstance(right, SparseTensor):
        raise NotImplementedError(_unsupported("matmul of two sparse tensors", left))
    if isinstance(right, SparseTensor):
        return _dense_times_sparse(left, right)
    sparse = left._coo() if isinstance(left, SparseCsrTensor) else left
    if _is_grad_leaf(left) and isinstance(right, Tensor):
        _check_matrix_product("mm", sparse, right if right.ndim == 2 else right.unsqueeze(1))
        return dense_matmul(_sparse_grad.dense_stand_in(left), right)
    if isinstance(right, Tensor) and right.ndim == 1:
        return mm(sparse, right.unsqueeze(1)).squeeze(1)
    return mm(sparse, right)


def _dense_times_sparse(dense, sparse: SparseTensor) -> Tensor:
    """``dense @ sparse`` as ``(sparse.T @ dense.T).T``."""
    if not isinstance(dense, Tensor):
        raise NotImplementedError(_unsupported(f"matmul with {type(dense).__name__}", sparse))
    coo = sparse._coo() if isinstance(sparse, SparseCsrTensor) else sparse
    if _is_grad_leaf(sparse):
        _check_matrix_product("mm", coo.t(), dense.t() if dense.ndim == 2 else dense.unsqueeze(1))
        return dense_matmul(dense, _sparse_grad.dense_stand_in(sparse))
    if dense.ndim == 1:
        return matmul(coo.t(), dense)
    return matmul(coo.t(), dense.t()).t()


def _is_grad_leaf(tensor) -> bool:
    return isinstance(tensor, SparseTensor) and tensor.requires_grad and tensor.grad_fn is None


def spmm(input: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: the product of a sparse matrix and a dense one (``sparse.mm``)."""
    if not isinstance(input, SparseTensor):
        return dense_mm(input, mat2)
    return mm(input._coo() if isinstance(input, SparseCsrTensor) else input, mat2)


def reduce_sum(tensor: SparseTensor, dim=None, dtype=None):
    """``ember.sparse.sum``: all entries, or along ``dim`` (sparse unless no sparse dim is left)."""
    values = tensor._value_tensor if dtype is None else tensor._value_tensor.to(to_dtype(dtype))
    if dim is None:
        return values.sum()
    dims = {wrap_dim(d, tensor.ndim) for d in ((dim,) if isinstance(dim, int) else dim)}
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
    dim = wrap_dim(dim, tensor.ndim)
    tensor = coalesce(tensor if dtype is None else tensor.to(to_dtype(dtype)))
    values, sparse_dim = tensor._value_tensor, tensor.sparse_dim()
    if dim >= sparse_dim:
        dense_dim = dim - sparse_dim + 1
        result = (dense_log_softmax if log else dense_softmax)(values, dense_dim)
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


# ---------------------------------------------------------------- the methods


def _divide(tensor: SparseTensor, other) -> SparseTensor:
    if isinstance(other, SparseTensor):
        raise NotImplementedError(_unsupported("div", tensor))
    return scaled(tensor, 1 / scalar(other, "div", tensor), "div")


def _negative(tensor: SparseTensor) -> SparseTensor:
    return scaled(tensor, -1, "neg")


def _subtract(tensor: SparseTensor, other) -> SparseTensor:
    return add(tensor, -other if isinstance(other, SparseTensor) else other)


def _sum(tensor: SparseTensor, dim=None, keepdim: bool = False, dtype=None):
    if keepdim:
        raise NotImplementedError(_unsupported("sum(keepdim=True)", tensor))
    return reduce_sum(tensor, dim, dtype)


_METHODS = {
    "coalesce": coalesce, "to_dense": to_dense, "transpose": transpose, "sum": _sum,
    "__mul__": multiply, "__rmul__": multiply, "mul": multiply,
    "__truediv__": _divide, "div": _divide, "__neg__": _negative, "neg": _negative,
    "__add__": add, "add": add, "__sub__": _subtract, "sub": _subtract,
    "__matmul__": matmul, "matmul": matmul, "mm": mm,
}


def install() -> None:
    """Make the functions above ``SparseTensor``'s methods (self first), once both exist."""
    for name, function in _METHODS.items():
        setattr(SparseTensor, name, function)
    SparseTensor.requires_grad = property(Tensor.requires_grad.fget,
                                          _sparse_grad.set_requires_grad)
