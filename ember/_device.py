"""``ember.device``: ember computes on the CPU; the GPU backend is still to come."""

from __future__ import annotations


class device:
    """Where a tensor lives: ``ember.device('cpu')``. Only the CPU is available today."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string like 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if name not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(
                "Expected one of cpu, cuda, mps, meta device type at start of device string: "
                f"{type}"
            )
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


cpu = device("cpu")


def check_device(target) -> None:
    """Accept ``None`` and the CPU; anything else raises: no GPU backend exists yet."""
    if target is None:
        return
    if isinstance(target, int):
        target = device("cuda", target)
    name = device(target).type
    if name != "cpu":
        raise RuntimeError(
            f"ember has no {name.upper()} backend yet: tensors live on the CPU. Use "
            "device='cpu' (ember.cuda.is_available() is False)."
        )
