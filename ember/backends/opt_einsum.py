"""``ember.backends.opt_einsum``: answered as PyTorch does when opt_einsum is not installed.

``ember.einsum`` contracts without the opt_einsum package, so it is never "available".
``set_flags`` and ``flags`` refuse to enable it, with PyTorch's ValueError; a plain
assignment (``opt_einsum.enabled = True``) is stored without a check, as in PyTorch.
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["enabled", "flags", "get_opt_einsum", "is_available", "set_flags", "strategy"]

enabled = False
strategy = None


def is_available() -> bool:
    """False: ember's einsum does not use the opt_einsum package."""
    return False


def get_opt_einsum() -> None:
    """None: the opt_einsum package is not used."""
    return


def _check_enabled(value) -> None:
    if value:
        raise ValueError(
            f"opt_einsum is not available, so setting `enabled` to {value} will not reap the "
            "benefits of calculating an optimal path for einsum. torch.einsum will fall back "
            "to contracting from left to right. To enable this optimal path calculation, "
            "please install opt-einsum."
        )


def _check_strategy(value) -> None:
    raise ValueError(
        f"opt_einsum is not available, so setting `strategy` to {value} will not be "
        "meaningful. torch.einsum will bypass path calculation and simply contract from left "
        "to right. Please install opt_einsum or unset `strategy`."
    )


def set_flags(_enabled=None, _strategy=None) -> tuple:
    """Set ``enabled``/``strategy``; returns the previous ``(enabled, strategy)``."""
    global enabled
    previous = (enabled, None)
    if _enabled is not None:
        _check_enabled(_enabled)
        enabled = bool(_enabled)
    if _strategy is not None:
        _check_strategy(_strategy)
    return previous


@contextmanager
def flags(enabled=None, strategy=None):
    """Set the flags for a ``with`` block."""
    previous = set_flags(enabled, strategy)
    try:
        yield
    finally:
        set_flags(*previous)

