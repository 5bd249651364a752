"""Autocast's per-thread state and the one wrapper that applies its casting policies.

The public surface is ``ember.amp`` (``autocast``, ``is_autocast_enabled`` ...); this module
sits low in the tree so that the ops can declare their policy where they are defined::

    @autocasts(LOWER_PRECISION)
    def mm(input, mat2): ...

A policy, as in PyTorch's CPU autocast, is one of:

- ``LOWER_PRECISION``: floating tensor arguments (float64 excepted) are cast to the
  autocast dtype (``ember.bfloat16`` or ``ember.float16``): matmuls, convolutions, linear,
  prelu, attention.
- ``FLOAT32``: floating tensor arguments (float64 excepted) are cast to ``float32``: the
  losses, ``cdist``, ``prod``, the decompositions and solvers of ``linalg``, reflection and
  replication padding, and the other ops that lose too much in a narrow type.
- ``NATIVE``: nothing is cast. For a function that is one kernel in PyTorch, outside both
  lists, but that ember composes from listed ones (``matrix_exp`` from products): its
  inner products must not be cast either.

Ember's dtype checks happen in the public functions, before any ``Op`` runs (``mm`` of a
bfloat16 and a float32 matrix must not reach them), so the policy wraps those functions
rather than ``Op.apply``. The function runs with autocast off, as PyTorch runs an
autocast kernel with its dispatch key excluded, so the ops it is built from are not cast a
second time. The casts are recorded ops (``ToCopyBackward0``): gradients flow back to the
float32 leaves in float32.
"""

from __future__ import annotations

import functools
import threading

from ember import _dtype
from ember._tensor import Tensor

LOWER_PRECISION = "lower_precision"
FLOAT32 = "float32"
NATIVE = "native"


class _State(threading.local):
    # A threading.local: a thread started inside ``autocast`` starts with autocast off,
    # as in PyTorch. ``target`` is the one value the hot path reads.
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": None}  # None: the device's default
        self.cache_enabled = True
        self.target = None  # the CPU autocast dtype while CPU autocast is on, else None


state = _State()
# How many threads have CPU autocast on: with none, the wrappers skip the thread-local
# read (a global read costs a fraction of it). A thread that dies inside ``autocast`` only
# leaves the wrappers reading ``state`` again.
_threads_on = 0
_count_lock = threading.Lock()


def _refresh() -> None:
    global _threads_on
    was_on = state.target is not None
    state.target = autocast_dtype("cpu") if state.enabled["cpu"] else None
    now_on = state.target is not None
    if was_on != now_on:
        with _count_lock:
            _threads_on += 1 if now_on else -1


def autocast_dtype(device_type: str):
    """The dtype autocast casts to on ``device_type`` (PyTorch's defaults when unset)."""
    chosen = state.dtype[device_type]
    if chosen is not None:
        return chosen
    if device_type == "cuda":
        return _dtype.float16
    return getattr(_dtype, "bfloat16", _dtype.float16)


def set_enabled(device_type: str, enabled: bool) -> None:
    state.enabled[device_type] = bool(enabled)
    _refresh()


def set_dtype(device_type: str, dtype) -> None:
    state.dtype[device_type] = dtype
    _refresh()


def autocasts(policy: str):
    """Decorate a public function with its autocast policy (``LOWER_PRECISION``, ``FLOAT32``
    or ``NATIVE``).

    With autocast off in every thread the wrapper adds one global read and one call.
    """

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if not _threads_on:
                return function(*args, **kwargs)
            saved = state.target
            if saved is None or kwargs.get("out") is not None or kwargs.get("dtype") is not None:
                return function(*args, **kwargs)  # PyTorch: out= or dtype= opts out
            if policy != NATIVE:
                target = _float32() if policy == FLOAT32 else saved
                args = tuple([_cast(arg, target) for arg in args])
                kwargs = {name: _cast(value, target) for name, value in kwargs.items()}
            state.target = None
            try:
                return function(*args, **kwargs)
            finally:
                state.target = saved

        wrapper.autocast_policy = policy
        return wrapper

    return decorate


def _float32():
    return _dtype.float32


def _cast(value, target):
    """``value`` cast to ``target`` if it is an eligible tensor (floating, not float64)."""
    if isinstance(value, Tensor):
        dtype = value.dtype
        if dtype.is_floating_point and dtype.name != "float64" and dtype is not target:
            from ember.ops.copy import to_dtype  # the ops import this module (@autocasts)

            return to_dtype(value, target)
        return value
    if type(value) in (list, tuple):
        return type(value)([_cast(item, target) for item in value])
    return value
