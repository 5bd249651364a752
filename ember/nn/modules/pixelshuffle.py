"""``PixelShuffle`` and ``PixelUnshuffle`` at PyTorch's path; they are defined with the pools."""

from ember.nn.modules.pooling import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
