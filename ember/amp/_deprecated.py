"""The deprecated ``torch.cuda.amp`` and ``torch.cpu.amp`` spellings, with PyTorch's warnings."""

from __future__ import annotations

import warnings

from ember._dtype import float16
from ember.amp import autocast_mode
from ember.amp.grad_scaler import GradScaler


def _warn(old: str, new: str) -> None:
    warnings.warn(
        f"`{old}` is deprecated. Please use `{new}` instead.", FutureWarning, stacklevel=3
    )


class CudaAutocast(autocast_mode.autocast):
    """``torch.cuda.amp.autocast``: ``autocast("cuda", ...)``, which without CUDA does nothing."""

    def __init__(self, enabled: bool = True, dtype=float16, cache_enabled: bool = True):
        _warn("torch.cuda.amp.autocast(args...)", "torch.amp.autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class CpuAutocast(autocast_mode.autocast):
    """``torch.cpu.amp.autocast``: ``autocast("cpu", ...)``."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True):
        _warn("torch.cpu.amp.autocast(args...)", "torch.amp.autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


def _deprecated_grad_scaler(device: str) -> type:
    """``torch.<device>.amp.GradScaler``: ``GradScaler("<device>", ...)``, with the warning."""

    class DeprecatedGradScaler(GradScaler):
        def __init__(
            self,
            init_scale: float = 2.0**16,
            growth_factor: float = 2.0,
            backoff_factor: float = 0.5,
            growth_interval: int = 2000,
            enabled: bool = True,
        ) -> None:
            _warn(f"torch.{device}.amp.GradScaler(args...)",
                  f"torch.amp.GradScaler('{device}', args...)")
            super().__init__(
                device, init_scale, growth_factor, backoff_factor, growth_interval, enabled
            )

    # Named as the module attribute it becomes, so that pickle finds the class.
    name = f"{device.capitalize()}GradScaler"
    DeprecatedGradScaler.__name__ = DeprecatedGradScaler.__qualname__ = name
    DeprecatedGradScaler.__doc__ = _deprecated_grad_scaler.__doc__.replace("<device>", device)
    return DeprecatedGradScaler


CudaGradScaler = _deprecated_grad_scaler("cuda")  # disabled without CUDA
CpuGradScaler = _deprecated_grad_scaler("cpu")


def cuda_custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd``: ``amp.custom_fwd(device_type="cuda")``."""
    _warn("torch.cuda.amp.custom_fwd(args...)", "torch.amp.custom_fwd(args..., device_type='cuda')")
    return autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def cuda_custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd``: ``amp.custom_bwd(device_type="cuda")``."""
    _warn("torch.cuda.amp.custom_bwd(args...)", "torch.amp.custom_bwd(args..., device_type='cuda')")
    return autocast_mode.custom_bwd(bwd, device_type="cuda")
