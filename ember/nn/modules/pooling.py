"""Pooling layers, and the resampling layers ``Upsample`` and ``PixelShuffle``."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn.modules.fractional_pooling import (  # noqa: F401  (PyTorch's path for them)
    FractionalMaxPool2d,
    FractionalMaxPool3d,
)
from ember.nn.modules.module import Module

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
]  # fmt: skip


def _single(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


class _MaxPoolNd(Module):
    _function = None  # the functional form, F.max_pool1d or F.max_pool2d

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return self._function(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """y[n, c, t] = max of the ``-inf``-padded window at t·s - p.

    Shape: (N, C, L) or (C, L) → (N, C, ⌊(L + 2p - d·(k - 1) - 1) / s⌋ + 1).
    """

    _function = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """y[n, c, i, j] = max of the ``-inf``-padded window at (i·s - p, j·s - p).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out),
    H_out = ⌊(H + 2p - d·(k - 1) - 1) / s⌋ + 1 (⌈·⌉ with ``ceil_mode``).

    Example::

        >>> nn.MaxPool2d(2)(ember.ones(1, 1, 4, 4)).shape
        ember.Size([1, 1, 2, 2])
    """

    _function = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """y[n, c, t, i, j] = max of the ``-inf``-padded window at (t·s - p, i·s - p, j·s - p).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out),
    D_out = ⌊(D + 2p - d·(k - 1) - 1) / s⌋ + 1 (⌈·⌉ with ``ceil_mode``).

    Example::

        >>> nn.MaxPool3d(2)(ember.ones(1, 1, 4, 4, 4)).shape
        ember.Size([1, 1, 2, 2, 2])
    """

    _function = staticmethod(F.max_pool3d)


class _MaxUnpoolNd(Module):
    _function = None  # the functional form, F.max_unpool1d ...
    _count = 0  # its number of spatial dims

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self._count)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self._count)
        self.padding = _ntuple(padding, self._count)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return self._function(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _ntuple(value, count: int) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * count


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``: each value back at its index, zeros elsewhere.

    Shape: (N, C, L_in) or (C, L_in) → (N, C, L), L = (L_in - 1)·s - 2p + k or
    ``output_size``.
    """

    _function, _count = staticmethod(F.max_unpool1d), 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d``: each value back at its index, zeros elsewhere.

    Shape: (N, C, H_in, W_in) or (C, H_in, W_in) → (N, C, H, W),
    H = (H_in - 1)·s - 2p + k or ``output_size``.

    Example::

        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> unpool(*pool(ember.randn(1, 1, 4, 4))).shape
        ember.Size([1, 1, 4, 4])
    """

    _function, _count = staticmethod(F.max_unpool2d), 2


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d``: each value back at its index, zeros elsewhere.

    Shape: (N, C, D_in, H_in, W_in) or (C, D_in, H_in, W_in) → (N, C, D, H, W),
    D = (D_in - 1)·s - 2p + k or ``output_size``.
    """

    _function, _count = staticmethod(F.max_unpool3d), 3


class _AvgPoolNd(Module):
    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """y[n, c, t] = mean of the zero-padded window at t·s - p.

    Shape: (N, C, L) or (C, L) → (N, C, ⌊(L + 2p - k) / s⌋ + 1).
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ):
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class _DivisorAvgPoolNd(_AvgPoolNd):
    _function = None  # the functional form, F.avg_pool2d or F.avg_pool3d

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return self._function(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_DivisorAvgPoolNd):
    """y[n, c, i, j] = (1 / divisor) Σ of the zero-padded window at (i·s - p, j·s - p).

    The divisor counts the window (padding included unless ``count_include_pad=False``),
    or is ``divisor_override``. Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out).
    """

    _function = staticmethod(F.avg_pool2d)


class AvgPool3d(_DivisorAvgPoolNd):
    """y[n, c, t, i, j] = (1 / divisor) Σ of the zero-padded window at (t·s - p, i·s - p, j·s - p).

    The divisor counts the window (padding included unless ``count_include_pad=False``),
    or is ``divisor_override``. Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out,
    W_out), D_out = ⌊(D + 2p - k) / s⌋ + 1.
    """

    _function = staticmethod(F.avg_pool3d)


class _LPPoolNd(Module):
    _function = None  # the functional form, F.lp_pool1d or F.lp_pool2d

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False):
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        norm_type = float(self.norm_type)
        return self._function(input, norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """y = (Σ_window x^p)^(1/p). Shape: (N, C, L) or (C, L) → (N, C, L_out)."""

    _function = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """y = (Σ_window x^p)^(1/p). Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out)."""

    _function = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """y = (Σ_window x^p)^(1/p). Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out,
    W_out)."""

    _function = staticmethod(F.lp_pool3d)


class _AdaptivePool(Module):
    _function = None  # the functional form, F.adaptive_avg_pool1d ...

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return self._function(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Average over windows [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉). Shape: (N, C, L) → (N, C, O)."""

    _function = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Average pooling to a fixed ``output_size`` (``None`` keeps that dim).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size).
    """

    _function = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """Average pooling to a fixed ``output_size`` (``None`` keeps that dim).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size).
    """

    _function = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return self._function(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Maximum over windows [⌊i·L/O⌋, ⌈(i + 1)·L/O⌉). Shape: (N, C, L) → (N, C, O)."""

    _function = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size`` (``None`` keeps that dim).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size).
    """

    _function = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size`` (``None`` keeps that dim).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size).
    """

    _function = staticmethod(F.adaptive_max_pool3d)


class Upsample(Module):
    """Resize by ``scale_factor`` or to ``size`` with ``F.interpolate``'s ``mode``.

    Shape: (N, C, *spatial) → (N, C, *size), size_d = ⌊spatial_d · scale_factor_d⌋.
    """

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for 4-D input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` for 4-D input."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
