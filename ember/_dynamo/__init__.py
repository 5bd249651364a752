"""``ember._dynamo``: the names PyTorch scripts reach under ``torch._dynamo`` for the compiler.

``config.recompile_limit``, ``reset()``, ``explain``, ``disable`` and ``is_compiling``
are ``ember.compiler``'s; ``exc.Unsupported`` is the error a ``fullgraph=True`` break raises.
"""

from __future__ import annotations

from ember._dynamo import exc
from ember.compiler import config, disable, explain, is_compiling, reset

__all__ = ["config", "disable", "exc", "explain", "is_compiling", "reset"]
