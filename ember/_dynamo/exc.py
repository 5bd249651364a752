"""The error a graph break raises under ``fullgraph=True``."""

from ember._compile.tape import Unsupported

__all__ = ["Unsupported"]
