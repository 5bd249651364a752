"""Histograms: ``histogram`` of a tensor's values and ``histogramdd`` of its rows' points.

Both follow PyTorch's CPU kernel, so values on an edge land in the same bin: equal-width
edges are ``linspace`` computed from both ends, an element's bin is found by division and
then corrected against the edges around it, the last bin includes its right edge, and
elements outside the edges (and NaN) are left out. Counts and weighted sums are in the
input's dtype. Neither is differentiable.
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

from ember._backend import add_at, device_index, to_device, xp
from ember._tensor import Tensor
from ember.ops._function import _legacy

__all__ = ["histogram", "histogramdd"]


class HistogramResult(NamedTuple):
    """``torch.return_types.histogram``: the counts and the ``bins + 1`` edges."""

    hist: Tensor
    bin_edges: Tensor


class HistogramddResult(NamedTuple):
    """``torch.return_types.histogramdd``: the counts and one tensor of edges per dimension."""

    hist: Tensor
    bin_edges: tuple


HistogramResult.__name__ = HistogramResult.__qualname__ = "histogram"
HistogramddResult.__name__ = HistogramddResult.__qualname__ = "histogramdd"

# The C++ type names PyTorch's histogram errors print.
_C_TYPE_NAMES = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
                 "float64": "double",
                 "int64": "long int", "int32": "int", "int16": "short int",
                 "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """Counts of ``input``'s values in bins: ``bins`` equal-width bins (an int) over
    ``range`` (default: the values' min and max), or the bins between the edges of a 1-D
    tensor ``bins``.

    Args:
        input: a floating-point tensor of any shape (its values are counted).
        bins: the number of equal-width bins, or their edges (increasing, ``input``'s dtype).
        range: ``(min, max)`` of the equal-width bins; values outside are left out.
        weight: a tensor with ``input``'s dtype and number of elements: each value adds
            its weight instead of 1.
        density: divide the counts by their total and by the bin widths.

    Returns:
        ``(hist, bin_edges)``, a named tuple like ``torch.return_types.histogram``.

    Example::

        >>> ember.histogram(ember.tensor([1., 2., 1.]), bins=4, range=(0., 3.))
        histogram(hist=tensor([0., 2., 1., 0.]), bin_edges=tensor([0.0000, 0.7500, ...]))
    """
    if isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram(): range cannot be given when bins is a tensor of edges")
        bins = [bins]
    elif not isinstance(bins, int) or isinstance(bins, bool):
        raise TypeError(
            f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}"
        )
    weight = weight.reshape(-1) if isinstance(weight, Tensor) else weight
    counts, edges = _histogramdd(input.reshape(-1, 1), bins, range, weight, density,
                                 "torch.histogram()")
    return HistogramResult(counts, edges[0])


def histogramdd(input: Tensor, bins=10, *, range=None, weight=None, density: bool = False):
    """A D-dimensional histogram of the points in ``input``'s rows (its last dimension is D).

    Args:
        input: a floating-point tensor of shape (..., D).
        bins: an int (bins per dimension), D ints, or D 1-D tensors of edges.
        range: ``[min_0, max_0, ..., min_D-1, max_D-1]`` for equal-width bins.
        weight: weights of shape ``input.shape[:-1]``.
        density: divide the counts by their total and by the bins' volumes.

    Returns:
        ``(hist, bin_edges)``, a named tuple like ``torch.return_types.histogramdd``, with
        ``hist`` of shape (bins_0, ..., bins_D-1) and a tuple of D edge tensors.
    """
    if isinstance(bins, Tensor):
        bins = [bins]
    counts, edges = _histogramdd(input, bins, range, weight, density, "torch.histogram()")
    return HistogramddResult(counts, tuple(edges))


def _histogramdd(input, bins, range, weight, density, bins_op):
    """The counts and the list of edge tensors; ``bins_op`` names the op in a bins error."""
    data = input._data
    if data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_legacy(input.dtype)}'")
    if data.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    points = data.reshape(-1, data.shape[-1])
    dimensions = points.shape[1]
    weights = _checked_weight(input, weight)
    if isinstance(bins, int):
        bins = [bins] * dimensions
    bins = list(bins)
    if range is not None and any(isinstance(item, Tensor) for item in bins):
        raise TypeError("histogramdd(): range cannot be given when bins are tensors of edges")
    if len(bins) != dimensions and not any(isinstance(item, Tensor) for item in bins):
        raise RuntimeError(
            "histogramdd: The size of bins must be equal to the innermost dimension of the input."
        )
    if len(bins) != dimensions:
        raise RuntimeError(
            f"torch.histogramdd: expected {dimensions} sequences of bin edges for a "
            f"{dimensions}-dimensional histogram but got {len(bins)}"
        )
    bounds = _bounds(points, range)
    edges, positions, inside = [], [], xp.ones(points.shape[0], dtype=bool, like=points)
    for dimension, spec in enumerate(bins):
        column = points[:, dimension]
        if isinstance(spec, Tensor):
            dimension_edges = _given_edges(input, spec, dimension, bins_op)
            position = _bin_by_search(column, dimension_edges)
        else:
            dimension_edges = _equal_edges(spec, *bounds[dimension], data.dtype, dimension,
                                           bins_op)  # on the host: CuPy has no longdouble
            dimension_edges = to_device(dimension_edges, device_index(points))
            position = _bin_by_division(column, dimension_edges)
        inside &= (column >= dimension_edges[0]) & (column <= dimension_edges[-1])
        edges.append(dimension_edges)
        positions.append(position)
    counts = _count(positions, inside, weights, [len(e) - 1 for e in edges], data.dtype)
    if density:
        counts = _density(counts, edges)
    return Tensor._make(counts), [Tensor._make(e) for e in edges]


def _checked_weight(input, weight):
    if weight is None:
        return None
    if weight.dtype != input.dtype:
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
            f"should have the same dtype, but got input({_C_TYPE_NAMES[input.dtype.name]}), "
            f"and weight({_C_TYPE_NAMES[weight.dtype.name]})"
        )
    if tuple(weight.shape) != tuple(input.shape[:-1]):
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided it should have the same shape as "
            "the input tensor excluding its innermost dimension, but got input with shape "
            f"{list(input.shape)} and weight with shape {list(weight.shape)}"
        )
    return weight._data.reshape(-1)


def _bounds(points, range) -> list:
    """Each dimension's (leftmost, rightmost) edge, widened when the two are equal."""
    dimensions = points.shape[1]
    if range is not None:
        range = [float(value) for value in range]
        if len(range) != 2 * dimensions:
            raise RuntimeError(
                f"torch.histogramdd: for a {dimensions}-dimensional histogram range should "
                f"have {2 * dimensions} elements, but got {len(range)}"
            )
        pairs = [(range[2 * d], range[2 * d + 1]) for d in builtins.range(dimensions)]
    elif points.shape[0] == 0:
        pairs = [(0.0, 1.0)] * dimensions
    else:
        lows, highs = points.min(axis=0), points.max(axis=0)
        pairs = [(float(lows[d]), float(highs[d])) for d in builtins.range(dimensions)]
    bounds = []
    for dimension, (low, high) in enumerate(pairs):
        if not (xp.isfinite(low) and xp.isfinite(high)):
            raise RuntimeError(
                f"torch.histogramdd: dimension {dimension}'s range [{low:g}, {high:g}] is not "
                "finite"
            )
        if low > high:
            raise RuntimeError(
                f"torch.histogramdd: min should not exceed max, but got min {low:g} max "
                f"{high:g} for dimension {dimension}"
            )
        bounds.append((low - 0.5, high + 0.5) if low == high else (low, high))
    return bounds


def _equal_edges(count, low, high, dtype, dimension, bins_op):
    """``count + 1`` edges by PyTorch's linspace: from the left end up to halfway, then from
    the right end, so both ends are exact. PyTorch's kernel fuses each multiply-add (one
    rounding), so they are computed here in a wider type and rounded once."""
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise RuntimeError(
            f"{bins_op}: bins must be > 0, but got {count} for dimension {dimension}"
        )
    start, end = dtype.type(low), dtype.type(high)
    step = (end - start) / dtype.type(count)
    wide = xp.float64 if dtype.itemsize < 8 else xp.longdouble
    index = xp.arange(count + 1)
    from_start = wide(start) + wide(step) * index.astype(wide)
    from_end = wide(end) - wide(step) * (count - index).astype(wide)
    return xp.where(index < (count + 1) // 2, from_start, from_end).astype(dtype)


def _given_edges(input, edges: Tensor, dimension: int, bins_op):
    if edges.dtype != input.dtype:
        raise RuntimeError(
            "torch.histogramdd: input tensor and bins tensors should have the same dtype, but "
            f"got input with dtype {_C_TYPE_NAMES[input.dtype.name]} and bins for dimension "
            f"{dimension} with dtype {_C_TYPE_NAMES[edges.dtype.name]}"
        )
    if edges.ndim != 1:
        raise RuntimeError(
            "torch.histogramdd: bins tensor should have one dimension, but got "
            f"{edges.ndim} dimensions in the bins tensor for dimension {dimension}"
        )
    if edges.numel() < 2:
        raise RuntimeError(
            f"{bins_op}: bins must be > 0, but got {edges.numel() - 1} for dimension {dimension}"
        )
    array = edges._data
    # PyTorch counts into undefined bins here; ember says what is wrong instead.
    if not (array[1:] >= array[:-1]).all():
        raise RuntimeError(
            f"torch.histogramdd: bin edges must be increasing, but got {edges.tolist()} for "
            f"dimension {dimension}"
        )
    return array.copy()


def _bin_by_search(column, edges):
    return xp.searchsorted(edges, column, side="right") - 1


def _bin_by_division(column, edges):
    """The bin by division, then PyTorch's correction: the last edge at or below the value
    among the one before and the two after the divided guess."""
    count = len(edges) - 1
    with xp.errstate(invalid="ignore"):
        guess = (column - edges[0]) * column.dtype.type(count) / (edges[-1] - edges[0])
        guess = xp.nan_to_num(guess, nan=0.0, posinf=count, neginf=0.0)
    guess = xp.clip(guess, 0, count).astype(xp.int64)
    window_low = xp.maximum(guess - 1, 0)
    window_high = xp.minimum(guess + 2, count + 1)
    found = xp.clip(xp.searchsorted(edges, column, side="right"), window_low, window_high)
    return found - 1


def _count(positions, inside, weights, bin_counts, dtype):
    flat = xp.zeros(int(xp.prod(bin_counts)), dtype=dtype, like=inside)
    # The last bin includes its right edge.
    kept = [xp.minimum(position[inside], count - 1)
            for position, count in zip(positions, bin_counts)]
    index = xp.ravel_multi_index(kept, bin_counts) if kept[0].size else kept[0]
    if weights is None:
        flat += xp.bincount(index, minlength=flat.size).astype(dtype)
    else:
        add_at(flat, index, weights[inside])
    return flat.reshape(bin_counts)


def _density(counts, edges):
    with xp.errstate(invalid="ignore", divide="ignore"):  # no counts: NaN, as in PyTorch
        counts = counts / counts.sum()
        for dimension, dimension_edges in enumerate(edges):
            shape = [1] * counts.ndim
            shape[dimension] = -1
            counts = counts / xp.diff(dimension_edges).reshape(shape)
    return counts
