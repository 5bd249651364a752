"""Autocast's per-thread state and the one wrapper that applies its casting policies.

The public surface is ``ember.amp`` (``autocast``, ``is_autocast_enabled`` ...); this module
sits low in the tree so that the ops can declare their policy where they are defined::

    @autocasts(LOWER_PRECISION)
    def mm(input, mat2): ...

A policy, as in PyTorch's autocast, is one of:

- ``LOWER_PRECISION``: floating tensor arguments (float64 excepted) are cast to the
  autocast dtype (``ember.bfloat16`` or ``ember.float16``): matmuls, convolutions, linear,
  prelu, attention.
- ``FLOAT32``: floating tensor arguments (float64 excepted) are cast to ``float32``: the
  losses, ``cdist``, ``prod``, the decompositions and solvers of ``linalg``, reflection and
  replication padding, and the other ops that lose too much in a narrow type.
- ``NATIVE``: nothing is cast. For a function that is one kernel in PyTorch, outside both
  lists, but that ember composes from listed ones (``matrix_exp`` from products): its
  inner products must not be cast either.
- ``BANNED`` (CUDA only): the call raises, as PyTorch's CUDA autocast refuses
  ``binary_cross_entropy``.

A call whose tensor arguments include a CUDA tensor follows CUDA autocast (its state and
its list: PyTorch's CUDA lists differ from the CPU's) and casts only CUDA tensors; any
other call follows CPU autocast. ``autocasts(policy, cuda=...)`` gives a function its CUDA
policy; without it the policy is ``CUDA_POLICIES``' entry for the function's name, else
the CPU's. CUDA autocast also runs in float32 a set of elementwise functions, reductions,
softmax and the norms, which are outside the CPU's lists: their ops declare
``cuda_autocast_float32`` and ``Op.apply`` casts them, so that no wrapper costs a call
where CUDA is unused.

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

from ember import _backend, _dtype
from ember._tensor import Tensor

LOWER_PRECISION = "lower_precision"
FLOAT32 = "float32"
NATIVE = "native"
BANNED = "banned"

# PyTorch's CUDA lists (aten/src/ATen/autocast_mode.cpp) where they differ from the CPU's,
# for the functions that declare a CPU policy: the decompositions, solvers, quantiles,
# trace and edge padding run natively on CUDA, tensordot and vecdot promote (native for
# one dtype), and binary_cross_entropy is refused.
CUDA_POLICIES = {
    name: NATIVE for name in (
        "_edge_pad", "_linalg_cholesky", "_linalg_eigh", "_linalg_eigvalsh", "_linalg_inv",
        "_linalg_lstsq", "_linalg_matrix_rank", "_linalg_qr", "_linalg_solve", "_linalg_svd",
        "_linalg_svdvals", "_linalg_vecdot", "cholesky", "cholesky_inverse", "cholesky_solve",
        "local_response_norm", "nanquantile", "pinverse", "quantile", "svd", "tensordot",
        "trace",
    )
}
CUDA_POLICIES["binary_cross_entropy"] = BANNED
_BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_"
    "logits\nor torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and "
    "BCEWithLogits are\nsafe to autocast."
)


class _State(threading.local):
    # A threading.local: a thread started inside ``autocast`` starts with autocast off,
    # as in PyTorch. ``target`` is the one value the hot path reads.
    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": None, "cuda": None}  # None: the device's default
        self.cache_enabled = True
        self.target = None  # the CPU autocast dtype while CPU autocast is on, else None
        self.cuda_target = None  # the CUDA autocast dtype while CUDA autocast is on


state = _State()
# How many threads have autocast on: with none, the wrappers skip the thread-local
# read (a global read costs a fraction of it). A thread that dies inside ``autocast`` only
# leaves the wrappers reading ``state`` again.
_threads_on = 0
_count_lock = threading.Lock()


def _refresh() -> None:
    global _threads_on
    was_on = state.target is not None or state.cuda_target is not None
    state.target = autocast_dtype("cpu") if state.enabled["cpu"] else None
    state.cuda_target = autocast_dtype("cuda") if state.enabled["cuda"] else None
    now_on = state.target is not None or state.cuda_target is not None
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


def autocasts(policy: str, cuda: str | None = None):
    """Decorate a public function with its autocast policy (``LOWER_PRECISION``, ``FLOAT32``
    or ``NATIVE``) and, where it differs, its CUDA policy (see ``CUDA_POLICIES``).

    With autocast off in every thread the wrapper adds one global read and one call.
    """

    def decorate(function):
        cuda_policy = cuda or CUDA_POLICIES.get(function.__name__, policy)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if not _threads_on:
                return function(*args, **kwargs)
            cpu_target, cuda_target = state.target, state.cuda_target
            if (cpu_target is None and cuda_target is None) or kwargs.get("out") is not None \
                    or kwargs.get("dtype") is not None:
                return function(*args, **kwargs)  # PyTorch: out= or dtype= opts out
            on_cuda = _backend.cuda.in_use and _has_cuda_tensor(args, kwargs)
            target = cuda_target if on_cuda else cpu_target
            if target is None:
                return function(*args, **kwargs)  # autocast is off for this call's device
            chosen = cuda_policy if on_cuda else policy
            if chosen == BANNED:
                raise RuntimeError(_BANNED_MESSAGE)
            if chosen != NATIVE:
                target = _float32() if chosen == FLOAT32 else target
                args = tuple([_cast(arg, target, on_cuda) for arg in args])
                kwargs = {name: _cast(value, target, on_cuda) for name, value in kwargs.items()}
            state.target = state.cuda_target = None
            try:
                return function(*args, **kwargs)
            finally:
                state.target, state.cuda_target = cpu_target, cuda_target

        wrapper.autocast_policy = policy
        wrapper.cuda_autocast_policy = cuda_policy
        return wrapper

    return decorate


def _has_cuda_tensor(args, kwargs) -> bool:
    for value in (*args, *kwargs.values()):
        if type(value) in (list, tuple):
            if _has_cuda_tensor(value, {}):
                return True
        elif isinstance(value, Tensor) and _backend.device_index(value._data) is not None:
            return True
    return False


def _float32():
    return _dtype.float32


def _cast(value, target, on_cuda: bool | None = None):
    """``value`` cast to ``target`` if it is an eligible tensor: floating, not float64, and
    on the call's device (``on_cuda``; None: any device)."""
    if isinstance(value, Tensor):
        dtype = value.dtype
        if on_cuda is not None and on_cuda != (_backend.device_index(value._data) is not None):
            return value
        if dtype.is_floating_point and dtype.name != "float64" and dtype is not target:
            from ember.ops.copy import to_dtype  # the ops import this module (@autocasts)

            return to_dtype(value, target)
        return value
    if type(value) in (list, tuple):
        return type(value)([_cast(item, target, on_cuda) for item in value])
    return value
