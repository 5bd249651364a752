"""``ember.cuda``: the calls PyTorch scripts make, answered truthfully for a CPU-only ember.

``ember.cuda.amp`` is deprecated in PyTorch, as here.
"""

from __future__ import annotations

from ember.cuda import amp


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    """Harmless without a GPU backend, so seeding scripts run unchanged."""


def manual_seed_all(seed: int) -> None:
    """Harmless without a GPU backend, so seeding scripts run unchanged."""


def synchronize(device=None) -> None:
    """Nothing to wait for: ember computes synchronously on the CPU."""


def empty_cache() -> None:
    """Nothing cached without a GPU backend."""


def current_device() -> int:
    raise RuntimeError("ember has no CUDA backend yet: ember.cuda.is_available() is False")


def is_bf16_supported() -> bool:
    return False
