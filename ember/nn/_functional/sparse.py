"""Lookup tables: ``embedding``, ``embedding_bag`` and ``one_hot``.

``embedding`` is one primitive (``EmbeddingBackward0``): the forward gathers rows, the
backward scatter-adds the gradient rows into a zero table (repeated indices accumulate),
skipping ``padding_idx`` and dividing by the index counts with ``scale_grad_by_freq``.
That scatter is written once over an array namespace (``add_at_zeros``): NumPy's
``add.at`` for a plain backward, ember's accumulating ``index_put`` (differentiable again)
for a recorded one. With
``sparse=True`` the looked-up rows are a proxy leaf whose gradient becomes the weight's sparse
COO ``.grad``, one row per lookup, as PyTorch's (``ember/ops/sparse.py``).
"""

from __future__ import annotations

from ember import _tape
from ember._backend import xp
from ember._dtype import int64
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops import _sparse_grad
from ember.ops._array_math import ArrayMath
from ember.ops._function import NonDifferentiable, Op, _legacy
from ember.ops.creation import zeros

__all__ = ["embedding", "embedding_bag", "one_hot"]


class Embedding(Op):
    """``weight[indices]``; the gradient is a scatter-add of rows."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        _check_range(indices, weight.shape[0])  # here, so that a compiled replay checks too
        ctx.indices, ctx.rows = indices, weight.shape[0]
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return xp.take(weight, indices, axis=0)

    @staticmethod
    def gradients(xp, ctx, grad):
        flat, factor = _lookups(ctx)
        rows = xp.reshape(grad, (flat.size, grad.shape[-1]))
        if factor is not None:
            rows = rows * xp.asarray(factor, dtype=rows.dtype)
        return xp.add_at_zeros((ctx.rows, grad.shape[-1]), ((), (flat,)), rows), None, None, None


def _lookups(ctx) -> tuple:
    """The flat indices looked up, and the factor of each lookup's gradient as a column (None
    where all are 1): 0 at ``padding_idx``, 1 / its count with ``scale_grad_by_freq``."""
    flat = ctx.indices.reshape(-1).astype(xp.int64)
    if not ctx.scale_grad_by_freq and ctx.padding_idx is None:
        return flat, None
    factor = xp.ones(flat.size, like=flat)
    if ctx.scale_grad_by_freq:
        factor = factor / xp.bincount(flat, minlength=ctx.rows)[flat]
    if ctx.padding_idx is not None:
        factor = factor * (flat != ctx.padding_idx)
    return flat, factor[:, None]


def _check_indices(input: Tensor, op: str) -> None:
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got torch.{_legacy(input.dtype)}Tensor instead (while "
            f"checking arguments for {op})"
        )


def _check_range(indices, rows: int) -> None:
    # On a GPU this waits for the device (PyTorch's CUDA kernels assert there instead), so
    # that a bad index raises PyTorch's IndexError rather than reading another row.
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError("index out of range in self")


def _padding_index(padding_idx, rows: int, message: str):
    if padding_idx is None:
        return None
    if padding_idx > 0 and padding_idx >= rows or padding_idx < 0 and padding_idx < -rows:
        raise AssertionError(message)
    return padding_idx + rows if padding_idx < 0 else padding_idx


def _renorm(weight: Tensor, indices, max_norm: float, norm_type: float) -> None:
    """Rescale, in place and outside any graph, the used rows whose norm exceeds max_norm."""
    _tape.graph_break("embedding's max_norm rescales the weight in place, outside the graph")
    used = xp.unique(indices.reshape(-1))
    if not used.size:
        return
    rows = weight._data[used]
    norms = xp.linalg.norm(rows, ord=norm_type, axis=1)
    large = norms > max_norm
    if large.any():
        scale = max_norm / (norms[large] + 1e-7)
        weight._data[used[large]] = rows[large] * scale[:, None].astype(rows.dtype)
        weight._version_counter[0] += 1


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` at the integer ``input``: ``weight[input]``.

    Args:
        padding_idx: this row gets no gradient.
        max_norm: rows looked up whose ``norm_type``-norm exceeds it are rescaled, in
            place, to that norm first.
        scale_grad_by_freq: divide each row's gradient by the count of its index in input.
        sparse: the gradient of ``weight`` is a sparse COO tensor holding one row per lookup
            (``padding_idx`` lookups left out); ``scale_grad_by_freq`` is then refused.

    Shape:
        input (*) of int64 or int32, weight (num_embeddings, embedding_dim)
        → (*, embedding_dim).

    Example::

        >>> F.embedding(ember.tensor([2, 0]), ember.arange(6.).reshape(3, 2))
        tensor([[4., 5.],
                [0., 1.]])
    """
    rows = weight.shape[0] if weight.ndim else 0
    padding_idx = _padding_index(padding_idx, rows, "Padding_idx must be within num_embeddings")
    _check_indices(input, "embedding")
    if weight.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    indices = input._data
    if max_norm is not None:
        _check_range(indices, rows)
        _renorm(weight, indices, max_norm, norm_type)
    if sparse and weight.requires_grad and grad_mode.state.enabled:
        _check_range(indices, rows)
        flat = indices.reshape(-1).astype(xp.int64)
        gradient = _sparse_grad.embedding_gradient(flat, weight, padding_idx, scale_grad_by_freq)
        rows = _sparse_grad.sparse_rows(weight, flat, gradient)
        return rows.reshape(tuple(input.shape) + (weight.shape[1],))
    return Embedding.apply(weight, input, padding_idx, scale_grad_by_freq)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor of shape ``(*tensor.shape, num_classes)`` with a 1 at each index.

    ``num_classes=-1`` uses ``tensor.max() + 1``.

    Example::

        >>> F.one_hot(ember.tensor([0, 2]))
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    if tensor.dtype is not int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    values = tensor._data
    if values.size == 0 and num_classes <= 0:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    if num_classes == -1:
        _tape.graph_break("one_hot() without num_classes: the largest value decides the shape")
        num_classes = int(values.max()) + 1  # a negative value is refused below
    # a compiled call checks and encodes each call's values
    return NonDifferentiable.found(_one_hot, tensor, num_classes=num_classes)


def _one_hot(values, num_classes: int):
    """``one_hot``'s array: 1 where the last axis is the value (checked first)."""
    if values.size and values.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if values.size and values.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    classes = xp.arange(num_classes, like=values)
    return (values[..., None] == classes).astype(xp.int64)


# ---------------------------------------------------------------- embedding_bag


class EmbeddingBag(Op):
    """Each bag's sum, mean or maximum of ``weight``'s rows at ``indices``; which entries
    go to which bag is worked out from the index and offset arrays inside the op, so that a
    compiled replay follows each call's. The gradient is a scatter-add of rows, as
    ``Embedding``'s (for 'max', of each bag's maximal entry per column)."""

    @staticmethod
    def forward(ctx, weight, indices, offsets, per_sample_weights, mode, padding_idx,
                include_last_offset, scale_grad_by_freq):
        rows, width = weight.shape
        _check_range(indices, rows)
        kept, looked, bag, count, entries = _used_entries(indices, offsets, include_last_offset,
                                                          padding_idx)
        ctx.looked, ctx.bag, ctx.mode = looked, bag, mode
        ctx.kept, ctx.entries = kept, entries
        # each lookup's count among them, its gradient's divisor with scale_grad_by_freq
        ctx.frequency = xp.bincount(looked, minlength=rows)[looked][:, None] \
            if scale_grad_by_freq else None
        ctx.save_for_backward(weight, per_sample_weights)
        vectors = xp.take(weight, looked, axis=0)
        if per_sample_weights is not None:
            vectors *= per_sample_weights.reshape(-1)[kept][:, None]
        if mode == "max":
            return _bag_maxima(ctx, vectors, xp.bincount(bag, minlength=count))
        total = ArrayMath.add_at_zeros((count, width), ((), (bag,)), vectors)
        if mode == "sum":
            return total
        ctx.sizes = _mean_divisors(bag, count, weight.dtype)
        return total / ctx.sizes

    @staticmethod
    def gradients(xp, ctx, grad):
        weight, per_sample_weights = xp.saved(ctx)
        needs = ctx.needs_input_grad
        grad_weight = grad_samples = None
        if needs[0] and ctx.mode == "max":
            bags, columns = _winning_cells(ctx.winners, ctx.bag.size)
            key = ((), (ctx.looked[ctx.winners[bags, columns]], columns))
            grad_weight = xp.add_at_zeros(weight.shape, key, xp.get_at(grad, ((), (bags, columns))))
        elif needs[0]:
            if ctx.mode == "mean":
                grad = grad / xp.asarray(ctx.sizes, dtype=grad.dtype)
            lookups = xp.get_at(grad, ((), (ctx.bag,)))
            if per_sample_weights is not None:
                samples = xp.reshape(per_sample_weights, (-1,))
                lookups = lookups * xp.expand_dims(xp.get_at(samples, ((), (ctx.kept,))), 1)
            if ctx.frequency is not None:
                lookups = lookups / xp.asarray(ctx.frequency, dtype=lookups.dtype)
            grad_weight = xp.add_at_zeros(weight.shape, ((), (ctx.looked,)), lookups)
        if needs[3]:  # 'sum' only: each entry's weight scales its whole row
            products = xp.get_at(grad, ((), (ctx.bag,))) * xp.get_at(weight, ((), (ctx.looked,)))
            entries = xp.add_at_zeros((ctx.entries,), ((), (ctx.kept,)),
                                      xp.sum(products, axis=1))
            grad_samples = xp.reshape(entries, per_sample_weights.shape)
        return grad_weight, None, None, grad_samples, None, None, None, None


def _used_entries(indices, offsets, include_last_offset: bool, padding_idx) -> tuple:
    """(the positions of the entries that count, their indices as int64, their bags, the
    number of bags, the number of entries): entries past the last bag and those equal to
    ``padding_idx`` are left out."""
    flat, bag, count = _bag_arrays(indices, offsets, include_last_offset)
    kept = xp.flatnonzero((bag < count) & (flat != (-1 if padding_idx is None else
                                                   padding_idx)))
    return kept, flat[kept].astype(xp.int64), bag[kept], count, flat.size


def _mean_divisors(bag, count: int, dtype):
    """Each bag's number of entries, as a column: 1 for an empty bag, whose mean is 0."""
    return xp.maximum(xp.bincount(bag, minlength=count), 1).astype(dtype)[:, None]


def _bag_maxima(ctx, vectors, sizes):
    """Each bag's maximum per column (0 for an empty bag); ``ctx.winners`` keeps, per bag
    and column, the first entry that holds it (the number of entries where none does)."""
    count, width = sizes.size, vectors.shape[1]
    maxima = xp.full((count, width), -xp.inf, dtype=vectors.dtype, like=vectors)
    xp.maximum.at(maxima, ctx.bag, vectors)
    maxima[sizes == 0] = 0
    reached = maxima[ctx.bag]
    holds = (vectors == reached) | (xp.isnan(vectors) & xp.isnan(reached))
    entries = xp.arange(ctx.bag.size, like=ctx.bag)[:, None]
    ctx.winners = xp.full((count, width), ctx.bag.size, dtype=xp.int64, like=ctx.bag)
    xp.minimum.at(ctx.winners, ctx.bag, xp.where(holds, entries, ctx.bag.size))
    return maxima


def _winning_cells(winners, entries: int) -> tuple:
    """The (bag, column) pairs that some entry won."""
    return xp.nonzero(winners < entries)


def _check_bags(input: Tensor, offsets) -> None:
    """The errors PyTorch raises for the shapes of ``input`` and ``offsets``."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        return
    if input.ndim != 1:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")


def _bag_arrays(indices, offsets, include_last_offset: bool) -> tuple:
    """The flat indices, the bag of each, and the number of bags."""
    if indices.ndim == 2:
        count, length = indices.shape
        return indices.reshape(-1), xp.repeat(xp.arange(count, like=indices), length), count
    starts = offsets.astype(xp.int64)
    if starts.size and starts[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(starts[0])}"
        )
    count = starts.size - 1 if include_last_offset else starts.size
    positions = xp.arange(indices.shape[0], like=starts)
    return indices, xp.searchsorted(starts, positions, side="right") - 1, count


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """The sum, mean or max of the embeddings of each bag of indices, without building
    the intermediate (N, embedding_dim) result for the user.

    Bags are the rows of a 2-D ``input``, or the slices of a 1-D ``input`` starting at
    ``offsets``. Entries equal to ``padding_idx`` are left out (and not counted by 'mean');
    an empty bag gives zeros. ``per_sample_weights`` scales each entry ('sum' only). With
    ``sparse=True`` the weight's gradient is a sparse COO tensor, one row per entry used.

    Shape:
        input (B, L) or (N,) with offsets (B,) → (B, embedding_dim).
    """
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
            f"then it must have the same shape as the input ({input.shape})"
        )
    if weight.ndim != 2:
        raise ValueError(
            f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}"
        )
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    _check_indices(input, "embedding_bag")
    _check_bags(input, offsets)
    rows = weight.shape[0]
    padding_idx = _padding_index(padding_idx, rows, "padding_idx must be within num_embeddings")
    if max_norm is not None:
        _check_range(input._data, rows)
        _renorm(weight, input._data, max_norm, norm_type)
    if sparse and weight.requires_grad and grad_mode.state.enabled:
        return _sparse_bags(input, weight, offsets, mode, per_sample_weights,
                            include_last_offset, padding_idx, scale_grad_by_freq)
    return EmbeddingBag.apply(weight, input, offsets, per_sample_weights, mode, padding_idx,
                              include_last_offset, scale_grad_by_freq)


def _sparse_bags(input, weight, offsets, mode, per_sample_weights, include_last_offset,
                 padding_idx, scale_grad_by_freq) -> Tensor:
    """``embedding_bag`` with ``sparse=True``: the rows looked up are a proxy leaf whose
    gradient becomes the weight's sparse ``.grad`` (mode 'sum' or 'mean')."""
    _check_range(input._data, weight.shape[0])
    kept, flat, bag, count, _ = _used_entries(
        input._data, None if offsets is None else offsets._data, include_last_offset,
        padding_idx)
    gradient = _sparse_grad.embedding_gradient(flat, weight, None, scale_grad_by_freq)
    vectors = _sparse_grad.sparse_rows(weight, flat, gradient)
    if per_sample_weights is not None:
        weights = per_sample_weights.reshape(-1)[Tensor._make(kept)]
        vectors = vectors * weights.unsqueeze(1)
    total = zeros(count, weight.shape[1], dtype=weight.dtype, device=weight.device).index_add(
        0, Tensor._make(bag), vectors
    )
    if mode == "sum":
        return total
    return total / Tensor._make(_mean_divisors(bag, count, weight._data.dtype))
