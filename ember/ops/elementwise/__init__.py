"""Elementwise arithmetic and math, with PyTorch's type promotion (being split by seam)."""

from ember.ops.elementwise.unary import *  # noqa: F403
from ember.ops.elementwise.unary import _I1, __all__  # noqa: F401
