"""Sorting and selection: sort, topk, order statistics, cumulative extrema, unique, counts.

Every op here that returns elements of its input (sort, topk, kthvalue, median, mode,
cummax, ...) works the same way: the public function finds the indices with NumPy, then
one primitive takes the values at those indices along a dim. Its backward scatters the
gradient back to the selected places, adding where an index repeats (cummax), so the
whole family shares one gradient and is differentiable any number of times.

Order conventions follow PyTorch on the CPU: sorting is stable, NaN sorts as the largest
value, and where PyTorch's choice among tied elements is an accident of its selection
algorithm (topk, kthvalue, median with a dim) ember takes the first in stable order.
"""

from __future__ import annotations

from ember import return_types
from ember._backend import add_at, asarray, bfloat16, is_floating, xp
from ember._tensor import Tensor
from ember.ops._function import NonDifferentiable, Op, _legacy, open_grid, wrap_dim

__all__ = [
    "argsort",
    "bincount",
    "bucketize",
    "cummax",
    "cummin",
    "histc",
    "kthvalue",
    "median",
    "mode",
    "msort",
    "nanmedian",
    "searchsorted",
    "sort",
    "topk",
    "unique",
    "unique_consecutive",
]


# ---------------------------------------------------------------- the selecting primitive


def _along(indices, dim: int) -> tuple:
    """An index tuple that addresses ``indices[...]`` along ``dim`` and the rest in place."""
    mesh = open_grid(indices.shape, indices)
    mesh[dim] = indices
    return tuple(mesh)


def _take(x, indices, dim: int):
    if x.ndim == 0:
        return x.copy()
    return x[_along(indices, dim)]


class Gather(Op):
    """``x`` taken at ``indices`` along ``dim`` (keeping the dim)."""

    @staticmethod
    def forward(ctx, x, indices, dim):
        ctx.shape, ctx.indices, ctx.dim = x.shape, indices, dim
        return _take(x, indices, dim)

    @staticmethod
    def backward(ctx, grad):
        return ScatterAdd.apply(grad, ctx.indices, ctx.dim, ctx.shape), None, None


class ScatterAdd(Op):
    """Zeros of ``shape`` with ``source`` added at ``indices`` along ``dim``."""

    @staticmethod
    def forward(ctx, source, indices, dim, shape):
        ctx.indices, ctx.dim = indices, dim
        if len(shape) == 0:
            return source.copy()
        result = xp.zeros(shape, dtype=source.dtype, like=source)
        add_at(result, _along(indices, dim), source)
        return result

    @staticmethod
    def backward(ctx, grad):
        return Gather.apply(grad, ctx.indices, ctx.dim), None, None, None


class _Select(Op):
    """Values of ``x`` at ``indices`` (shaped as the kept-dim result) along ``dim``.

    Subclasses only give the node its PyTorch name (``SortBackward0``, ``TopkBackward0``...).
    """

    @staticmethod
    def forward(ctx, x, indices, dim, keepdim):
        ctx.shape, ctx.indices, ctx.dim, ctx.keepdim = x.shape, indices, dim, keepdim
        values = _take(x, indices, dim)
        return values if keepdim or values.ndim == 0 else xp.squeeze(values, dim)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim and len(ctx.shape) > 0:
            grad = grad.unsqueeze(ctx.dim)
        return ScatterAdd.apply(grad, ctx.indices, ctx.dim, ctx.shape), None, None, None


class Sort(_Select):
    pass


class StableSort(_Select):
    node_name = "SortBackward1"


class Topk(_Select):
    pass


class Kthvalue(_Select):
    pass


class MedianDim(_Select):
    node_name = "MedianBackward1"


class NanmedianDim(_Select):
    node_name = "NanmedianBackward1"


class Mode(_Select):
    pass


class Cummax(_Select):
    pass


class Cummin(_Select):
    pass


# ---------------------------------------------------------------- orders


def _isnan(data):
    return xp.isnan(data) if is_floating(data.dtype) else xp.zeros_like(data, dtype=bool)


def _sortable(data):
    """``data``, or for bfloat16 its exact float32 widening: how ml_dtypes' bfloat16 orders
    NaN differs between its releases, NumPy's float32 order (NaN last) does not."""
    return data.astype(xp.float32) if data.dtype is bfloat16 else data


def _order(data, dim: int, descending: bool = False):
    """Stable argsort along ``dim``; NaN is the largest value, ties keep their input order."""
    if data.ndim == 0:
        return xp.zeros((), dtype=xp.int64, like=data)
    data = _sortable(data)
    if not descending:
        return xp.argsort(data, axis=dim, kind="stable")
    # Sorting the reversed input and reversing the result puts ties back in input order.
    order = xp.argsort(xp.flip(data, axis=dim), axis=dim, kind="stable")
    return data.shape[dim] - 1 - xp.flip(order, axis=dim)


def _first(order, count: int, dim: int):
    return order if order.ndim == 0 else xp.take(order, xp.arange(count, like=order), axis=dim)


def _top(data, count: int, dim: int, largest: bool):
    return _first(_order(data, dim, descending=largest), count, dim)


def _size(input: Tensor, dim: int) -> int:
    return input.shape[dim] if input.ndim else 1


def _check_nonempty(op: str, input: Tensor, dim: int) -> None:
    if input.ndim and input.shape[dim] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {dim} to have non-zero size.")


def _check_not_bool(op: str, input: Tensor) -> None:
    if input.dtype.name == "bool":
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for 'Bool'")


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *, out=None):
    """The values of ``input`` sorted along ``dim``, and their original indices.

    Sorting is stable (ties keep their input order) whatever ``stable`` says, as PyTorch's
    CPU sort is; NaN sorts as the largest value.

    Returns:
        ``(values, indices)``: ``values = input.gather(dim, indices)``.

    Example::

        >>> values, indices = ember.sort(ember.tensor([3., 1., 2.]))
        >>> values, indices
        (tensor([1., 2., 3.]), tensor([1, 2, 0]))
    """
    dim = wrap_dim(dim, input.ndim, "sort")
    indices = NonDifferentiable.found(_order, input, dim=dim, descending=descending)
    values = (StableSort if stable else Sort).apply(input, indices, dim, True)
    return return_types.sort(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    dim = wrap_dim(dim, input.ndim, "argsort")
    return NonDifferentiable.found(_order, input, dim=dim, descending=descending)


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim: ``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(
    input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out=None
):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices.

    NaN counts as larger than every number. The values always come back sorted; with
    ``sorted=False`` PyTorch leaves them in an unspecified order.

    Shape:
        ``input.shape`` with ``dim`` of size ``k``.
    """
    dim = wrap_dim(dim, input.ndim, "topk")
    if input.dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    if not 0 <= k <= _size(input, dim):
        raise RuntimeError(
            f"selected index k out of range: topk(k={k}) of a tensor of shape "
            f"{list(input.shape)} along dim {dim}"
        )
    indices = NonDifferentiable.found(_top, input, count=k, dim=dim, largest=largest)
    return return_types.topk(Topk.apply(input, indices, dim, True), indices)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None):
    """The ``k``-th smallest value along ``dim`` (``k`` from 1) and its index."""
    dim = wrap_dim(dim, input.ndim, "kthvalue")
    _check_not_bool("kthvalue", input)
    if not 1 <= k <= _size(input, dim):
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {dim}: k={k}, "
            f"shape {list(input.shape)}"
        )
    indices = NonDifferentiable.found(_kth, input, k=k, dim=dim)
    return _selection(return_types.kthvalue, Kthvalue, input, indices, dim, keepdim)


def _kth(data, k: int, dim: int):
    """The index of the ``k``-th smallest value along ``dim`` (kept as size 1)."""
    indices = _order(data, dim)
    return xp.take(indices, [k - 1], axis=dim) if indices.ndim else indices


def _selection(result_type, op, input, indices: Tensor, dim, keepdim):
    values = op.apply(input, indices, dim, keepdim)
    if not keepdim and indices.ndim:
        indices = indices.squeeze(dim)
    return result_type(values, indices)


def _median_indices(data, dim: int, ignore_nan: bool):
    """Index of the lower median along ``dim`` (kept as size 1), NaN-aware."""
    order = _order(data, dim)
    if data.ndim == 0:
        return order
    valid = xp.sum(~_isnan(data), axis=dim, keepdims=True)
    if ignore_nan:
        position = xp.maximum(valid - 1, 0) // 2
    else:
        # A slice holding NaN has median NaN: its first NaN, just after the numbers.
        position = xp.where(valid < data.shape[dim], valid, (data.shape[dim] - 1) // 2)
    return xp.take_along_axis(order, position, axis=dim)


class Median(Op):
    """The lower median of all elements; its gradient is shared by the elements equal to it."""

    @staticmethod
    def forward(ctx, x, ignore_nan):
        flat = x.reshape(-1)
        if flat.size == 0:
            return xp.full((), xp.nan, dtype=x.dtype, like=x)
        value = flat[_median_indices(flat, 0, ignore_nan)[0]]
        ctx.mask = (x == value) | (_isnan(x) & _isnan(value))  # a NaN median: the NaNs
        return asarray(value)

    @staticmethod
    def backward(ctx, grad):
        mask = Tensor._make(ctx.mask)
        return grad * mask / mask.sum(), None


class Nanmedian(Median):
    pass


def _median(input, dim, keepdim, ignore_nan):
    name = "nanmedian" if ignore_nan else "median"
    _check_not_bool(name, input)
    if dim is None:
        return (Nanmedian if ignore_nan else Median).apply(input, ignore_nan)
    dim = wrap_dim(dim, input.ndim, name)
    _check_nonempty(name, input, dim)
    indices = NonDifferentiable.found(_median_indices, input, dim=dim, ignore_nan=ignore_nan)
    result_type = return_types.nanmedian if ignore_nan else return_types.median
    return _selection(
        result_type, NanmedianDim if ignore_nan else MedianDim, input, indices, dim, keepdim
    )


def median(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out=None):
    """The lower median: the ``(n - 1) // 2``-th smallest value; NaN if any element is NaN.

    Without ``dim``: a 0-d tensor over all elements. With ``dim``: ``(values, indices)``
    along that dim.
    """
    return _median(input, dim, keepdim, ignore_nan=False)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out=None):
    """``median`` ignoring NaN: NaN only where every element of the slice is NaN."""
    return _median(input, dim, keepdim, ignore_nan=True)


def _mode_indices(data, dim: int):
    """Index of the smallest most frequent value of each slice (its last occurrence)."""
    if data.ndim == 0:
        return xp.zeros((), dtype=xp.int64, like=data)
    rows = xp.moveaxis(data, dim, -1)
    length = rows.shape[-1]
    rows = rows.reshape(-1, length)
    chosen = xp.empty(rows.shape[0], dtype=xp.int64, like=data)
    for number, row in enumerate(_sortable(rows)):
        order = xp.argsort(row, kind="stable")
        ordered = row[order]
        starts = xp.flatnonzero(_runs(ordered))
        ends = xp.append(starts[1:], length)
        chosen[number] = order[ends[xp.argmax(ends - starts)] - 1]
    shape = list(data.shape)
    shape[dim] = 1
    return xp.moveaxis(chosen.reshape(shape[:dim] + shape[dim + 1 :] + [1]), -1, dim)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out=None):
    """The most frequent value along ``dim`` (the smallest on a tie) and an index of it."""
    dim = wrap_dim(dim, input.ndim, "mode")
    _check_nonempty("mode", input, dim)
    indices = NonDifferentiable.found(_mode_indices, input, dim=dim)
    return _selection(return_types.mode, Mode, input, indices, dim, keepdim)


def _cumulative_indices(data, dim: int, better):
    """Index of the running extremum along ``dim``; a later tie or a NaN takes over."""
    if data.ndim == 0:
        return xp.zeros((), dtype=xp.int64, like=data)
    moved = xp.moveaxis(data, dim, 0)
    indices = xp.empty(moved.shape, dtype=xp.int64, like=data)
    if moved.shape[0] == 0:
        return xp.moveaxis(indices, 0, dim)
    best, best_index = moved[0], xp.zeros(moved.shape[1:], dtype=xp.int64, like=data)
    for step in range(moved.shape[0]):
        current = moved[step]
        take = _isnan(current) | (~_isnan(best) & better(current, best))
        best = xp.where(take, current, best)
        best_index = xp.where(take, step, best_index)
        indices[step] = best_index
    return xp.moveaxis(indices, 0, dim)


def cummax(input: Tensor, dim: int, *, out=None):
    """``values[i] = max(input[:i + 1])`` along ``dim``, and the index of each maximum."""
    dim = wrap_dim(dim, input.ndim, "cummax")
    indices = NonDifferentiable.found(_cumulative_indices, input, dim=dim, better=xp.greater_equal)
    return return_types.cummax(Cummax.apply(input, indices, dim, True), indices)


def cummin(input: Tensor, dim: int, *, out=None):
    """``values[i] = min(input[:i + 1])`` along ``dim``, and the index of each minimum."""
    dim = wrap_dim(dim, input.ndim, "cummin")
    indices = NonDifferentiable.found(_cumulative_indices, input, dim=dim, better=xp.less_equal)
    return return_types.cummin(Cummin.apply(input, indices, dim, True), indices)


# ---------------------------------------------------------------- unique


def _rows(data, dim, op: str):
    """``data`` as one row per entry along ``dim`` (``dim=None``: one element per row)."""
    if dim is None:
        return data.reshape(-1, 1)
    if data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    dim = wrap_dim(dim, data.ndim, op)
    if any(size == 0 for axis, size in enumerate(data.shape) if axis != dim):
        raise RuntimeError(
            f"{op}: There are 0 sized dimensions, and they aren't selected, so unique cannot "
            f"be applied (shape {list(data.shape)}, dim {dim})"
        )
    moved = xp.moveaxis(data, dim, 0)
    return moved.reshape(moved.shape[0], int(xp.prod(moved.shape[1:])))


def _runs(rows):
    """Where each run of equal consecutive rows (or elements) starts (NaN equals nothing)."""
    if rows.shape[0] == 0:
        return xp.zeros(0, dtype=bool, like=rows)
    changed = rows[1:] != rows[:-1]
    if changed.ndim > 1:
        changed = xp.any(changed, axis=1)
    return xp.concatenate([xp.ones(1, dtype=bool, like=rows), changed])


def _unique_result(data, dim, rows, order, return_inverse, return_counts):
    ordered = rows[order]
    starts = _runs(ordered)
    run_of = xp.cumsum(starts) - 1
    inverse = xp.empty(rows.shape[0], dtype=xp.int64, like=rows)
    inverse[order] = run_of
    counts = xp.diff(xp.append(xp.flatnonzero(starts), rows.shape[0]))
    kept = ordered[starts]
    if dim is None:
        values, inverse = kept.reshape(-1), inverse.reshape(data.shape)
    else:
        dim = wrap_dim(dim, data.ndim)
        moved_shape = (kept.shape[0],) + tuple(xp.delete(data.shape, dim))
        values = xp.moveaxis(kept.reshape(moved_shape), 0, dim)
    result = [Tensor._make(xp.ascontiguousarray(values, like=values))]
    if return_inverse:
        result.append(Tensor._make(inverse))
    if return_counts:
        result.append(Tensor._make(counts.astype(xp.int64)))
    return result[0] if len(result) == 1 else tuple(result)


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
):
    """The distinct elements (or slices along ``dim``) of ``input``, in ascending order.

    Args:
        return_inverse: also return, for each element (slice), the index of its value in
            the result, so that ``result[inverse]`` rebuilds ``input``.
        return_counts: also return how often each distinct value occurs.

    NaN values are all distinct, as in PyTorch. The result is sorted even when
    ``sorted=False`` (PyTorch's CPU kernel also sorts).
    """
    data = input._data
    rows = _rows(data, dim, "unique")
    keys = _sortable(rows)
    if rows.shape[1] == 1:
        order = xp.argsort(keys[:, 0], kind="stable")
    elif rows.shape[1] == 0:
        order = xp.arange(rows.shape[0], like=rows)
    else:
        # lexsort takes its primary key last: column 0 of each row decides first.
        order = xp.lexsort(keys.T[::-1])
    return _unique_result(data, dim, rows, order, return_inverse, return_counts)


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
):
    """``input`` with each run of equal consecutive elements (slices) collapsed to one."""
    data = input._data
    rows = _rows(data, dim, "unique_consecutive")
    order = xp.arange(rows.shape[0], like=rows)
    return _unique_result(data, dim, rows, order, return_inverse, return_counts)


# ---------------------------------------------------------------- counting and bucketing


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value ``0..max(input)`` occurs in the 1-d non-negative ``input``.

    With ``weights``, ``result[v]`` is the sum of the weights of the elements equal to ``v``
    (float32 for float32 weights, else float64). The result has at least ``minlength`` bins.
    Not differentiable.
    """
    data = input._data
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_legacy(input.dtype)}'")
    if data.ndim != 1 or (data.size and data.min() < 0):
        raise RuntimeError(
            f"bincount only supports 1-d non-negative integral inputs; got shape "
            f"{list(input.shape)}" + (f" with minimum {data.min()}" if data.size else "")
        )
    if minlength < 0:
        raise RuntimeError(f"minlength should be >= 0, got {minlength}")
    if weights is None:
        return Tensor._make(xp.bincount(data, minlength=minlength).astype(xp.int64))
    weight_data = weights._data
    if weight_data.ndim != 1 or weight_data.shape[0] != data.shape[0]:
        raise RuntimeError(
            f"weights should be 1-d and have the same length as input; got weights of shape "
            f"{list(weights.shape)} for input of shape {list(input.shape)}"
        )
    result_dtype = xp.float32 if weight_data.dtype == xp.float32 else xp.float64
    counts = xp.bincount(data, weights=weight_data.astype(xp.float64), minlength=minlength)
    return Tensor._make(counts.astype(result_dtype))


def _side(right: bool, side: str | None) -> str:
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(
            f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
        )
    if side == "left" and right:
        raise RuntimeError(
            "torch.searchsorted(): side and right can't be set to opposites, got side of left "
            "while right was True"
        )
    return side


def searchsorted(
    sorted_sequence: Tensor,
    input,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    out=None,
    sorter=None,
) -> Tensor:
    """Where each value of ``input`` would be inserted to keep ``sorted_sequence`` sorted.

    ``side='left'`` gives the first such position (``sequence[i-1] < v <= sequence[i]``),
    ``side='right'`` (or ``right=True``) the last. A 1-d ``sorted_sequence`` serves every
    value; an N-d one must share ``input``'s leading dims, each last-dim row serving the
    matching row of ``input``. ``sorter`` holds the indices that sort each row.
    """
    side = _side(right, side)
    boundaries = sorted_sequence._data
    values = input._data if isinstance(input, Tensor) else xp.asarray(input, like=boundaries)
    if boundaries.ndim == 0:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
            "dimension"
        )
    if sorter is not None and tuple(sorter.shape) != boundaries.shape:
        raise RuntimeError(
            f"torch.searchsorted(): boundary and sorter must have the same size, but got "
            f"boundary tensor {list(boundaries.shape)} and got sorter tensor "
            f"{list(sorter.shape)}"
        )
    if boundaries.ndim > 1 and (values.ndim == 0 or boundaries.shape[:-1] != values.shape[:-1]):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(boundaries.shape)} and input value tensor "
            f"{list(values.shape)}"
        )
    sorters = () if sorter is None else (sorter,)
    options = {"side": side, "dtype": xp.int32 if out_int32 else xp.int64}
    if not isinstance(input, Tensor):  # a number or a list searched for: a result of no op
        return Tensor._make(_searched(boundaries, values, *[t._data for t in sorters],
                                      **options))
    # an op while a compiled call records: each replay's values searched
    return NonDifferentiable.found(_searched, sorted_sequence, input, *sorters, **options)


def _searched(boundaries, values, sorter=None, *, side, dtype):
    """``searchsorted`` of arrays: ``sorter`` sorts each row of ``boundaries`` first."""
    if sorter is not None:
        boundaries = xp.take_along_axis(boundaries, sorter, axis=-1)
    if boundaries.ndim == 1:
        return asarray(xp.searchsorted(boundaries, values, side=side), dtype)
    rows = boundaries.reshape(-1, boundaries.shape[-1])
    queries = values.reshape(-1, values.shape[-1])
    result = xp.empty(queries.shape, dtype=dtype, like=queries)
    for number in range(rows.shape[0]):
        result[number] = xp.searchsorted(rows[number], queries[number], side=side)
    return result.reshape(values.shape)


def bucketize(
    input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False, out=None
) -> Tensor:
    """The bucket of each value of ``input`` among the 1-d sorted ``boundaries``.

    ``right=False``: ``boundaries[i-1] < v <= boundaries[i]``; ``right=True``:
    ``boundaries[i-1] <= v < boundaries[i]``. The result is ``searchsorted`` with
    ``right`` meaning the same side.
    """
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0, *, out=None) -> Tensor:
    """A histogram of ``input`` in ``bins`` equal-width bins over ``[min, max]``.

    ``min == max`` uses the data's own range (widened by 1 each side when the data are
    constant). Elements outside the range, and NaN, are left out; an element equal to
    ``max`` falls in the last bin. The counts have ``input``'s dtype. Not differentiable.
    """
    data = input._data
    if not is_floating(data.dtype):
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_legacy(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    low, high = data.dtype.type(min), data.dtype.type(max)
    if low == high and data.size:
        low, high = data.min(), data.max()
    if not (xp.isfinite(low) and xp.isfinite(high)):
        raise RuntimeError(f"torch.histc: range of [{low}, {high}] is not finite")
    if low == high:
        low, high = low - 1, high + 1
    if low > high:
        raise RuntimeError(f"torch.histc: max must be larger than min (got min {min}, max {max})")
    inside = data[(data >= low) & (data <= high)]
    # PyTorch's arithmetic, in the input's dtype: floor((v - low) * bins / (high - low)).
    position = ((inside - low) * data.dtype.type(bins) / (high - low)).astype(xp.int64)
    position = xp.minimum(position, bins - 1)
    counts = xp.bincount(position, minlength=bins)
    return Tensor._make(counts.astype(data.dtype))
