"""``ember.device``: where a tensor lives, the CPU or a CUDA GPU (through CuPy).

A device argument becomes an array-library index here: ``None`` for the host, the
GPU's number for CUDA. The current GPU (``ember.cuda.set_device``) and the default
device of new tensors (``ember.set_default_device``) belong to the thread, as in PyTorch.
"""

from __future__ import annotations

import threading

from ember import _backend


class device:  # noqa: N801 -- PyTorch's name
    """Where a tensor lives: ``ember.device('cpu')``, ``ember.device('cuda', 0)``,
    ``ember.device('cuda:0')``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device | int, index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if isinstance(type, int) and not isinstance(type, bool):  # the accelerator's number
            if _backend.cuda_library() is None:
                raise RuntimeError(_backend.NO_ACCELERATOR)
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string like 'cpu', got {type!r}")
        name, colon, number = type.partition(":")
        if name not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta device type at start of device string: "
                f"{type}"
            )
        if colon and not number.isdigit():
            raise RuntimeError(f"Invalid device string: '{type}'")
        self.type = name
        self.index = int(number) if number else index

    def __repr__(self) -> str:
        suffix = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{suffix})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> device:
        """``with ember.device("cuda"):`` makes this the thread's default device inside."""
        array_index(self)
        self_and_before = getattr(state, "stack", None) or []
        state.stack = self_and_before + [state.default]
        state.default = self
        return self

    def __exit__(self, *exc_info) -> None:
        state.default = state.stack.pop()


cpu = device("cpu")


class _State(threading.local):
    current_gpu = 0  # ember.cuda.set_device
    default = cpu  # ember.set_default_device


state = _State()


def array_index(target) -> int | None:
    """The array library's index for a device argument: ``None`` for the CPU, the GPU's
    number for CUDA (the current GPU when it names none). ``None`` as the argument means
    the default device. MPS, meta and CUDA without CuPy and a GPU raise."""
    if target is None:
        target = state.default
    if type(target) is device and target.type == "cpu":
        return None
    target = device(target)
    if target.type == "cpu":
        return None
    if target.type != "cuda":
        raise RuntimeError(f"ember has no {target.type.upper()} backend: tensors live on the "
                           "CPU or on CUDA GPUs")
    index = state.current_gpu if target.index is None else target.index
    _backend.library(index)  # raises where CuPy or a GPU is missing
    count = _backend.device_count()
    if not 0 <= index < count:
        raise RuntimeError(
            f"CUDA error: invalid device ordinal (cuda:{index}; {count} device(s) present)"
        )
    return index


def of_index(index: int | None) -> device:
    """The device of an array-library index."""
    if index is None:
        return cpu
    found = _CUDA.get(index)
    return found if found is not None else _CUDA.setdefault(index, device("cuda", index))


_CUDA: dict = {}


def mixed_devices(indices, where: str = "") -> RuntimeError:
    """PyTorch's error for tensors found on several devices (``indices``: array indices,
    None for the CPU), GPUs named first; ``where`` names the op."""
    found = set(indices)
    names = [f"cuda:{index}" for index in sorted(i for i in found if i is not None)]
    names += ["cpu"] if None in found else []
    return RuntimeError(
        "Expected all tensors to be on the same device, but found at least two devices, "
        f"{names[0]} and {names[1]}!" + (f" (in {where})" if where else "")
    )


def check_device(target) -> None:
    """Raise, in PyTorch's words, unless ``target`` is None or a device ember can use."""
    if target is not None:
        array_index(target)
