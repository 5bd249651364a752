"""``ember.backends.cuda``: CUDA build facts and matmul switches (stored; ember has no CUDA)."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """False: ember is not built with CUDA support."""
    return False


class cuBLASModule:
    """The ``matmul`` switches, with PyTorch's defaults; an unknown name is an AttributeError."""

    _defaults = MappingProxyType({
        "allow_tf32": False,
        "allow_fp16_reduced_precision_reduction": True,
        "allow_bf16_reduced_precision_reduction": True,
    })

    def __init__(self) -> None:
        object.__setattr__(self, "_values", dict(self._defaults))

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute {name}") from None

    def __setattr__(self, name: str, value) -> None:
        if name not in self._defaults:
            raise AttributeError(f"Unknown attribute {name}")
        self._values[name] = value


matmul = cuBLASModule()
