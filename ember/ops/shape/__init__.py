"""Reshaping and moving data (the module ``ops/shape.py`` on its way to a package)."""

from ember.ops.shape.padding import *  # noqa: F403
from ember.ops.shape.padding import __all__  # noqa: F401
