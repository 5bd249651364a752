"""``ember.accelerator``: PyTorch's device-generic accelerator API, answered by ``ember.cuda``.

With CuPy and a GPU the accelerator is CUDA and every call goes to ``ember.cuda``; without
them the queries answer as CPU-only PyTorch does (``is_available()`` is False,
``current_accelerator()`` is None, ``device_count()`` is 0) and every call that needs a
device raises PyTorch's RuntimeError.
"""

from __future__ import annotations

import warnings

from ember import _backend, cuda
from ember._device import device as _device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "current_stream",
    "device_count",
    "device_index",
    "empty_cache",
    "get_memory_info",
    "is_available",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "memory_stats",
    "reset_accumulated_memory_stats",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "set_stream",
    "synchronize",
]


def _cuda():
    """``ember.cuda``, or PyTorch's RuntimeError where there is no accelerator."""
    if not cuda.is_available():
        raise RuntimeError(_backend.NO_ACCELERATOR)
    return cuda


def is_available() -> bool:
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False):
    """``device('cuda')`` where CUDA is available, else None."""
    return _device("cuda") if cuda.is_available() else None


def current_device_index() -> int:
    return _cuda().current_device()


def set_device_index(device, /) -> None:
    _cuda().set_device(device)


def current_device_idx() -> int:
    """Deprecated spelling of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """Deprecated spelling of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def synchronize(device=None, /) -> None:
    _cuda().synchronize(device)


def current_stream(device=None, /):
    return _cuda().current_stream(device)


def set_stream(stream) -> None:
    """Make ``stream`` current (``with stream:`` for a block is the portable form)."""
    _cuda()
    stream.__enter__()


def _forward(name: str):
    def call(*args, **kwargs):
        return getattr(_cuda(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``ember.cuda.{name}`` where CUDA is available; raises without it."
    return call


empty_cache = _forward("empty_cache")
memory_allocated = _forward("memory_allocated")
max_memory_allocated = _forward("max_memory_allocated")
memory_reserved = _forward("memory_reserved")
max_memory_reserved = _forward("max_memory_reserved")
reset_peak_memory_stats = reset_accumulated_memory_stats = _forward("reset_peak_memory_stats")


def memory_stats(device=None) -> dict:
    """The counts PyTorch's ``memory_stats`` names most often, from ``ember.cuda``."""
    gpu = _cuda()
    return {"allocated_bytes.all.current": gpu.memory_allocated(device),
            "allocated_bytes.all.peak": gpu.max_memory_allocated(device),
            "reserved_bytes.all.current": gpu.memory_reserved(device),
            "reserved_bytes.all.peak": gpu.max_memory_reserved(device)}


def get_memory_info(device=None) -> tuple:
    """Free and total bytes of the GPU, as the driver reports them."""
    properties = _cuda().get_device_properties(device)
    total = int(properties["totalGlobalMem"])
    return total - cuda.memory_reserved(device), total


class device_index:
    """Context manager selecting an accelerator device for the block (None: no change)."""

    def __init__(self, device, /) -> None:
        self.index = device

    def __enter__(self) -> None:
        if self.index is not None:
            self.previous = current_device_index()
            set_device_index(self.index)

    def __exit__(self, *exc_info) -> None:
        if self.index is not None:
            set_device_index(self.previous)
