"""Memory formats: the order in which a tensor's elements lie in memory.

``ember.contiguous_format`` is row-major; ``channels_last`` keeps a 4-d ``(N, C, H, W)``
tensor in ``N, H, W, C`` order (``channels_last_3d`` does the same for 5-d tensors);
``preserve_format`` keeps the layout of the tensor a new one is made from. Values never
depend on the format, only ``stride()`` does: ember's kernels run on any layout.
"""

from __future__ import annotations

from ember._backend import xp


class memory_format:
    """One of ``ember.contiguous_format``, ``preserve_format``, ``channels_last``,
    ``channels_last_3d``."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return self.name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

# The order of the dimensions in memory, outermost first, for the formats that fix one.
_ORDER = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def _order(array, fmt: memory_format, op: str) -> tuple:
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return tuple(range(array.ndim))
    if not isinstance(fmt, memory_format):
        raise TypeError(
            f"{op}(): memory_format must be ember.memory_format, not {type(fmt).__name__}"
        )
    ndim, order = _ORDER[fmt]
    if array.ndim != ndim:
        raise RuntimeError(f"required rank {ndim} tensor to use {fmt.name} format")
    return order


def is_in_format(array, fmt: memory_format | None) -> bool:
    """Whether the array's strides are those of ``fmt``; dimensions of size 1 may have any."""
    if fmt is contiguous_format or fmt is None or fmt is preserve_format:
        return array.flags.c_contiguous  # NumPy's flag also lets size-1 dimensions be
    expected = array.itemsize
    for dim in reversed(_order(array, fmt, "is_contiguous")):
        if array.shape[dim] != 1:
            if array.strides[dim] != expected:
                return False
            expected *= array.shape[dim]
    return True


def in_format(array, fmt: memory_format | None):
    """A copy of ``array`` whose elements lie in ``fmt``'s order (its shape is unchanged)."""
    order = _order(array, fmt, "contiguous")
    inverse = tuple(order.index(dim) for dim in range(len(order)))
    # a copy even when the layout is already ``fmt``'s (``clone`` relies on it)
    return xp.array(array.transpose(order), order="C", copy=True, like=array).transpose(inverse)
