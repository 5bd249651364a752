"""``ember._dynamo``: the names PyTorch scripts reach under ``torch._dynamo`` for the compiler.

``config.recompile_limit``, ``reset()``, ``explain``, ``disable``, ``is_compiling``,
``allow_in_graph`` and ``assume_constant_result`` are ``ember.compiler``'s;
``exc.Unsupported`` is the error a ``fullgraph=True`` break raises. ``graph_break()`` breaks
the graph where it is called (the call runs eagerly, as every break makes it), and the
shape marks (``mark_dynamic``, ``maybe_mark_dynamic``, ``mark_static``) are accepted and
change nothing: ember records each new shape again.
"""

from __future__ import annotations

from ember import _tape
from ember._dynamo import exc
from ember.compiler import (
    allow_in_graph,
    assume_constant_result,
    config,
    disable,
    explain,
    is_compiling,
    reset,
)

__all__ = ["allow_in_graph", "assume_constant_result", "config", "disable", "exc", "explain",
           "graph_break", "is_compiling", "mark_dynamic", "mark_static", "maybe_mark_dynamic",
           "reset"]


def graph_break(msg: str = "") -> None:
    """A graph break here: the call that runs it is not recorded, and runs eagerly."""
    _tape.graph_break("torch._dynamo.graph_break()" + (f": {msg}" if msg else ""))


def mark_dynamic(t, index, *, min=None, max=None, specialize_on=None) -> None:  # noqa: A002
    """Accepted: ember has no symbolic sizes, and records each new size of ``t`` again."""


def maybe_mark_dynamic(t, index) -> None:
    """Accepted, as ``mark_dynamic``."""


def mark_static(t, index=None) -> None:
    """Accepted: every size is static to ember."""
