"""``ember.compiler``: PyTorch's ``torch.compiler`` for ``ember.compile``.

``reset()`` forgets every recording, ``disable`` marks a function never to record (called
inside a recording it is a graph break, so that call runs eagerly), ``is_compiling()`` says
whether this thread is recording, and ``explain`` reports what a compiled call recorded.
"""

from __future__ import annotations

import functools

from ember import _tape
from ember._compile import compile, config, is_compiling
from ember._compile.compiled import reset
from ember._compile.explain import ExplainOutput, explain

__all__ = ["ExplainOutput", "compile", "config", "disable", "explain", "is_compiling", "reset"]


def disable(fn=None, recursive: bool = True, *, reason: str | None = None):
    """Run ``fn`` eagerly, never recorded; usable bare or called, as a decorator."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)

    @functools.wraps(fn)
    def run_eagerly(*args, **kwargs):
        _tape.graph_break(f"{getattr(fn, '__qualname__', fn)} is marked "
                          f"ember.compiler.disable{': ' + reason if reason else ''}")
        return fn(*args, **kwargs)

    run_eagerly._ember_compile_disabled = True
    return run_eagerly
