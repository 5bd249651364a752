"""``ember.cuda``: PyTorch's CUDA calls, answered by CuPy where it sees a GPU.

Without CuPy or a GPU, ``is_available()`` is False, ``device_count()`` is 0, the seeding,
``synchronize`` and ``empty_cache`` calls that scripts make unconditionally do nothing,
and the calls that need a device raise ``RuntimeError`` saying what is missing.
The array library comes from ``ember._backend``; this package never imports CuPy.

``ember.cuda.amp`` is deprecated in PyTorch, as here.
"""

from __future__ import annotations

from ember import _backend, _device
from ember.cuda import amp
from ember.cuda._memory import (
    empty_cache,
    max_memory_allocated,
    max_memory_reserved,
    memory_allocated,
    memory_reserved,
    reset_peak_memory_stats,
)
from ember.cuda._streams import Event, Stream, current_stream, default_stream, stream
from ember.ops.random import cuda_generator

__all__ = [
    "Event", "Stream", "amp", "current_device", "current_stream", "default_stream",
    "device_count", "empty_cache", "get_device_name", "get_device_properties",
    "get_rng_state", "initial_seed", "is_available", "is_bf16_supported",
    "is_initialized", "manual_seed", "manual_seed_all", "max_memory_allocated",
    "max_memory_reserved", "memory_allocated", "memory_reserved",
    "reset_peak_memory_stats", "seed", "set_device", "set_rng_state", "stream",
    "synchronize",
]


def is_available() -> bool:
    return _backend.cuda_library() is not None


def is_initialized() -> bool:
    return _backend.cuda.in_use


def device_count() -> int:
    return _backend.device_count()


def _index(device=None) -> int:
    """The GPU number of a device argument (the current GPU for None)."""
    if isinstance(device, int) and not isinstance(device, bool):
        device = _device.device("cuda", device)
    index = _device.array_index(device if device is not None else "cuda")
    if index is None:
        raise ValueError(f"Expected a cuda device, but got: {device}")
    return index


def current_device() -> int:
    return _index()


def set_device(device) -> None:
    """Make ``device`` this thread's current GPU (a negative number does nothing, as in
    PyTorch)."""
    if isinstance(device, int) and device < 0:
        return
    _device.state.current_gpu = _index(device)


def get_device_properties(device=None):
    index = _index(device)
    return _backend.library(index).cuda.runtime.getDeviceProperties(index)


def get_device_name(device=None) -> str:
    name = get_device_properties(device)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work; nothing to wait for without CUDA."""
    if is_available():
        index = _index(device)
        _backend.library(index).cuda.Device(index).synchronize()


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator (harmless without CUDA, so seeding scripts run)."""
    cuda_generator(_device.state.current_gpu).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator."""
    for index in range(max(device_count(), 1)):
        cuda_generator(index).manual_seed(seed)


def seed() -> None:
    cuda_generator(_device.state.current_gpu).seed()


def initial_seed() -> int:
    return cuda_generator(_device.state.current_gpu).initial_seed()


def get_rng_state(device="cuda"):
    return cuda_generator(_index(device)).get_state()


def set_rng_state(new_state, device="cuda") -> None:
    cuda_generator(_index(device)).set_state(new_state)


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: CuPy has no bfloat16 dtype (NumPy's comes from ml_dtypes, which CuPy lacks)."""
    return False
