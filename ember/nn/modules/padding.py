"""Padding layers: thin shells over ``ember.nn.functional.pad``.

``ConstantPad{1,2,3}d``, ``ZeroPad{1,2,3}d``, ``ReflectionPad{1,2,3}d``,
``ReplicationPad{1,2,3}d`` and ``CircularPad{1,2,3}d`` pad the last 1, 2 or 3 dims.
An int ``padding`` pads every side by that much; a tuple is
``(left, right[, top, bottom[, front, back]])``.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn.modules.module import Module
from ember.ops.shape import pad

__all__ = [
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]  # fmt: skip


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        self.padding = tuple(padding)
        if len(self.padding) != 2 * self.dims:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of "
                f"{2 * self.dims} ints, got {padding}"
            )

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``. Shape: (*, W) → (*, W + left + right)."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with ``value``. Shape: (*, H, W) → (*, H + t + b, W + l + r)."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with ``value``. Shape: (*, D, H, W) → padded (*, D', H', W')."""

    dims = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pads the last dim with zeros. Shape: (*, W) → (*, W + left + right)."""

    dims = 1


class ZeroPad2d(_ZeroPadNd):
    """Pads the last 2 dims with zeros. Shape: (*, H, W) → (*, H + top + bottom, W + l + r)."""

    dims = 2


class ZeroPad3d(_ZeroPadNd):
    """Pads the last 3 dims with zeros. Shape: (*, D, H, W) → padded (*, D', H', W')."""

    dims = 3


class ReflectionPad1d(_PadNd):
    """Pads the last dim with its mirror image: [1, 2, 3] → [2, 1, 2, 3, 2]."""

    mode, dims = "reflect", 1


class ReflectionPad2d(_PadNd):
    """Pads the last 2 dims with their mirror image (edge not repeated)."""

    mode, dims = "reflect", 2


class ReflectionPad3d(_PadNd):
    """Pads the last 3 dims with their mirror image (edge not repeated)."""

    mode, dims = "reflect", 3


class ReplicationPad1d(_PadNd):
    """Pads the last dim by repeating its edge values: [1, 2, 3] → [1, 1, 2, 3, 3]."""

    mode, dims = "replicate", 1


class ReplicationPad2d(_PadNd):
    """Pads the last 2 dims by repeating their edge values."""

    mode, dims = "replicate", 2


class ReplicationPad3d(_PadNd):
    """Pads the last 3 dims by repeating their edge values."""

    mode, dims = "replicate", 3


class CircularPad1d(_PadNd):
    """Pads the last dim by wrapping around: [1, 2, 3] → [3, 1, 2, 3, 1]."""

    mode, dims = "circular", 1


class CircularPad2d(_PadNd):
    """Pads the last 2 dims by wrapping around."""

    mode, dims = "circular", 2


class CircularPad3d(_PadNd):
    """Pads the last 3 dims by wrapping around."""

    mode, dims = "circular", 3
