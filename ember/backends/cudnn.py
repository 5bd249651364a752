"""``ember.backends.cudnn``: cuDNN switches with PyTorch's defaults, stored (ember has no cuDNN)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

__all__ = ["flags", "is_available", "set_flags", "version"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10

_FLAG_NAMES = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")


def is_available() -> bool:
    """False: ember has no cuDNN."""
    return False


def version() -> None:
    """None, as PyTorch answers without cuDNN."""
    return


def set_flags(_enabled=None, _benchmark=None, _benchmark_limit=None, _deterministic=None,
              _allow_tf32=None) -> tuple:
    """Set the given flags; returns the previous values, in ``_FLAG_NAMES`` order."""
    module = sys.modules[__name__]
    previous = tuple(getattr(module, name) for name in _FLAG_NAMES)
    new_values = (_enabled, _benchmark, _benchmark_limit, _deterministic, _allow_tf32)
    for name, value in zip(_FLAG_NAMES, new_values):
        if value is not None:
            setattr(module, name, value)
    return previous


@contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True):
    """Set the flags for a ``with`` block (PyTorch's defaults: ``enabled=False`` here too)."""
    previous = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*previous)
