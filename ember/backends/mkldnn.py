"""``ember.backends.mkldnn``: oneDNN (MKL-DNN) flags, stored for scripts that set them.

ember's kernels are NumPy's, so oneDNN is never used: ``is_available()`` is False and
``enabled`` (True by default, as in PyTorch) changes nothing that ember computes.
"""

from contextlib import contextmanager

enabled = True
deterministic = False


def is_available() -> bool:
    """False: ember is not built with oneDNN."""
    return False


def set_flags(_enabled=None, _deterministic=None):
    """Set the flags that are given; return the previous ``(enabled, deterministic)``."""
    global enabled, deterministic
    previous = (enabled, deterministic)
    if _enabled is not None:
        enabled = _enabled
    if _deterministic is not None:
        deterministic = _deterministic
    return previous


@contextmanager
def flags(enabled=False, deterministic=False):
    """Set the flags for a ``with`` block and restore them after it."""
    previous = set_flags(enabled, deterministic)
    try:
        yield
    finally:
        set_flags(*previous)
