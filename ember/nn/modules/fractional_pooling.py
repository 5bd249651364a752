"""The fractional max pooling layers (``F.fractional_max_pool2d/3d``), at PyTorch's path
``nn.modules.pooling``."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn.modules.module import Module

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


def _repeat(value, count: int):
    return None if value is None else tuple(value) if isinstance(value, (list, tuple)) \
        else (value,) * count


class _FractionalMaxPoolNd(Module):
    count = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples: Tensor | None = None) -> None:
        super().__init__()
        self.kernel_size = _repeat(kernel_size, self.count)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _repeat(output_size, self.count)
        self.output_ratio = _repeat(output_ratio, self.count)
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        function = F.fractional_max_pool2d if self.count == 2 else F.fractional_max_pool3d
        return function(input, self.kernel_size, self.output_size, self.output_ratio,
                        self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Max pooling over kh × kw windows whose starts are spread pseudo-randomly, to any
    output size (``F.fractional_max_pool2d``).

    Args:
        kernel_size: the window, an int or (kh, kw).
        output_size: (oH, oW), or an int for both; or
        output_ratio: the output's size as a fraction of the input's, in (0, 1).
        return_indices: also return the flat index of each maximum.
        _random_samples: (N, C, 2) numbers in [0, 1) that place the windows (a buffer);
            drawn afresh on each call when not given.

    Shape:
        (N, C, H, W) or (C, H, W) → (N, C, oH, oW) or (C, oH, oW).

    Example::

        >>> pool = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5))
        >>> pool(ember.randn(20, 16, 50, 32)).shape
        ember.Size([20, 16, 25, 16])
    """

    count = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """``FractionalMaxPool2d`` over three spatial dims: (N, C, T, H, W) or (C, T, H, W) →
    (N, C, oT, oH, oW), with (N, C, 3) ``_random_samples``.

    Example::

        >>> pool = nn.FractionalMaxPool3d(2, output_size=(3, 4, 5))
        >>> pool(ember.randn(2, 3, 8, 9, 10)).shape
        ember.Size([2, 3, 3, 4, 5])
    """

    count = 3
