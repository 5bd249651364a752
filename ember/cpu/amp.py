"""``ember.cpu.amp``: PyTorch's deprecated spelling of ``ember.amp`` for the CPU (it warns)."""

from ember.amp._deprecated import CpuAutocast as autocast, CpuGradScaler as GradScaler

__all__ = ["GradScaler", "autocast"]
