"""``ember.cpu``: the CPU device module; ``ember.cpu.amp`` is PyTorch's deprecated autocast."""

from ember.cpu import amp

__all__ = ["amp"]
