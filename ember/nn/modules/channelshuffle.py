"""``ChannelShuffle``: the layer form of ``F.channel_shuffle`` (ShuffleNet's channel mix)."""

from __future__ import annotations

from ember._tensor import Tensor
from ember.nn import functional as F
from ember.nn.modules.module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Split the C channels into ``groups`` groups of k and interleave them: channel
    i·k + j moves to j·groups + i.

    Args:
        groups: how many groups; C must be divisible by it.

    Shape: (N, C, *) → (N, C, *).

    Example::

        >>> nn.ChannelShuffle(2)(ember.arange(4.).reshape(1, 4, 1))[0, :, 0]
        tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
