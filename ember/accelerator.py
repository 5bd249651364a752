"""``ember.accelerator``: PyTorch's device-generic accelerator API, answered for the CPU.

ember computes on the CPU only, so there is no accelerator: the queries answer as CPU-only
PyTorch does (``is_available()`` is False, ``current_accelerator()`` is None,
``device_count()`` is 0) and every call that needs a device raises PyTorch's RuntimeError.
"""

from __future__ import annotations

import warnings

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

_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


def _unavailable(*args, **kwargs):
    raise RuntimeError(_NO_ACCELERATOR)


def is_available() -> bool:
    """False: ember has no accelerator."""
    return False


def device_count() -> int:
    """0: ember has no accelerator."""
    return 0


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator (``check_available`` cannot change that)."""
    return


def current_device_index() -> int:
    """Raises: there is no accelerator device to index."""
    _unavailable()


def set_device_index(device, /) -> None:
    """Raises: there is no accelerator device to select."""
    _unavailable()


def current_device_idx() -> int:
    """Deprecated spelling of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """Deprecated spelling of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


def synchronize(device=None, /) -> None:
    """Raises: there is no accelerator to wait for (CPU work is already synchronous)."""
    _unavailable()


def current_stream(device=None, /):
    """Raises: there is no accelerator stream."""
    _unavailable()


def set_stream(stream) -> None:
    """Raises: there is no accelerator stream."""
    _unavailable()


empty_cache = get_memory_info = memory_stats = memory_allocated = _unavailable
max_memory_allocated = memory_reserved = max_memory_reserved = _unavailable
reset_accumulated_memory_stats = reset_peak_memory_stats = _unavailable


class device_index:
    """Context manager selecting an accelerator device; only ``None`` (no change) works."""

    def __init__(self, device, /) -> None:
        self.index = device

    def __enter__(self) -> None:
        if self.index is not None:
            _unavailable()

    def __exit__(self, *exc_info) -> None:
        return None
