"""``ember.utils.hooks``: ``RemovableHandle``, as ``torch.utils.hooks`` has it."""

from ember._hooks import RemovableHandle

__all__ = ["RemovableHandle"]
