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


class CudaGradScaler(GradScaler):
    """``torch.cuda.amp.GradScaler``: ``GradScaler("cuda", ...)``, disabled without CUDA."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _warn("torch.cuda.amp.GradScaler(args...)", "torch.amp.GradScaler('cuda', args...)")
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )


class CpuGradScaler(GradScaler):
    """``torch.cpu.amp.GradScaler``: ``GradScaler("cpu", ...)``."""

    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        _warn("torch.cpu.amp.GradScaler(args...)", "torch.amp.GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


def cuda_custom_fwd(fwd=None, *, cast_inputs=None):
    """``torch.cuda.amp.custom_fwd``: ``amp.custom_fwd(device_type="cuda")``."""
    _warn("torch.cuda.amp.custom_fwd(args...)", "torch.amp.custom_fwd(args..., device_type='cuda')")
    return autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def cuda_custom_bwd(bwd):
    """``torch.cuda.amp.custom_bwd``: ``amp.custom_bwd(device_type="cuda")``."""
    _warn("torch.cuda.amp.custom_bwd(args...)", "torch.amp.custom_bwd(args..., device_type='cuda')")
    return autocast_mode.custom_bwd(bwd, device_type="cuda")
