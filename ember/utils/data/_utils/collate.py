"""``default_collate``: a list of samples becomes one batch, structure preserved."""

from __future__ import annotations

import collections.abc

from ember._backend import generic, ndarray
from ember._dtype import float64
from ember._tensor import Tensor
from ember.ops.creation import as_tensor, tensor
from ember.ops.shape import stack

__all__ = ["default_collate", "default_convert"]


def default_collate(batch):
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``.

    Tensors and NumPy arrays are stacked along a new first dim; Python floats become a
    float64 tensor, ints an int64 tensor, bools a bool tensor; strings stay a list;
    dicts, named tuples, tuples and lists are collated field by field (tuples come back
    as lists, as in PyTorch).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, ndarray):
        if elem.dtype.kind in "USO":
            raise TypeError(
                "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                f"lists; found {elem.dtype}"
            )
        return stack([as_tensor(b) for b in batch], 0)
    if isinstance(elem, generic):
        return tensor([b.item() for b in batch], dtype=as_tensor(elem).dtype)
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, (bool, int)):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return transposed
        try:
            return type(elem)(transposed)
        except TypeError:
            return transposed
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem)}"
    )


def default_convert(data):
    """Convert NumPy arrays in ``data`` to tensors, leaving everything else (no batching)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, ndarray) and data.dtype.kind not in "USO":
        return as_tensor(data)
    if isinstance(data, generic):
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
