"""``ember.compiler``: PyTorch's ``torch.compiler`` for ``ember.compile``.

``reset()`` forgets every recording, ``disable`` marks a function never to record (called
inside a recording it is a graph break, so that call runs eagerly), ``is_compiling()`` says
whether this thread is recording, ``explain`` reports what a compiled call recorded, and
``set_stance`` switches every compiled function to eager, or keeps it from recording
again, for a while. ``allow_in_graph`` and ``assume_constant_result`` return their function
as it is (a recording follows the ops of any Python it runs), and
``cudagraph_mark_step_begin`` does nothing (ember's ``reduce-overhead`` mode keeps no CUDA
graph).
"""

from __future__ import annotations

import functools

from ember import _tape
from ember._compile import compile, config, is_compiling
from ember._compile.compiled import reset
from ember._compile.explain import ExplainOutput, explain
from ember._compile.stance import set_stance

__all__ = ["ExplainOutput", "allow_in_graph", "assume_constant_result",
           "cudagraph_mark_step_begin", "compile", "config", "disable", "explain",
           "is_compiling", "is_dynamo_compiling", "is_exporting", "reset", "set_stance"]

is_dynamo_compiling = is_compiling  # PyTorch's name for the same question


def is_exporting() -> bool:
    """Whether ``torch.export`` is tracing this call: never, in ember (it has no export)."""
    return False


def allow_in_graph(fn):
    """``fn`` as it is: a recording follows the ops of whatever Python it runs."""
    return fn


def assume_constant_result(fn):
    """``fn`` as it is: a recording keeps the Python values it read, and guards them where
    it can see them (``docs/compile.md``)."""
    return fn


def cudagraph_mark_step_begin() -> None:
    """Nothing to do: ember's ``mode="reduce-overhead"`` keeps no CUDA graph whose
    outputs a new step would overwrite."""


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
