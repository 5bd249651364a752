"""Pinning a batch: each tensor copied into page-locked host memory (``Tensor.pin_memory``).

A copy from pinned memory to a GPU can run while the host goes on, which is what
``batch.to("cuda", non_blocking=True)`` asks for. Only done where CUDA is available; a
tensor reports ``is_pinned()`` True only when it really lies in pinned memory.
"""

from __future__ import annotations

import collections.abc

from ember._tensor import Tensor


def pin_memory(data):
    """``data`` with every tensor in it pinned: dicts, named tuples, tuples and lists are
    walked; an object with a ``pin_memory()`` method (a custom batch) is asked to pin
    itself, as in PyTorch; anything else is left as it is."""
    if isinstance(data, Tensor):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        pinned = {key: pin_memory(value) for key, value in data.items()}
        try:
            return type(data)(pinned)
        except TypeError:  # a mapping that cannot be built from a dict
            return pinned
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(pin_memory(item) for item in data))
    if isinstance(data, tuple):
        return tuple(pin_memory(item) for item in data)
    if isinstance(data, collections.abc.Sequence):
        items = [pin_memory(item) for item in data]
        try:
            return type(data)(items)
        except TypeError:
            return items
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    return data
