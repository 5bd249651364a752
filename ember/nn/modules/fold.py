"""``Fold`` and ``Unfold`` at PyTorch's path; they are defined with the convolutions."""

from ember.nn.modules.conv import Fold, Unfold

__all__ = ["Fold", "Unfold"]
