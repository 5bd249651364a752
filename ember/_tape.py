"""What the lower layers tell an ``ember.compile`` recording in progress, and how cheaply.

While a thread records (the first call of a compiled function), ember's own code reports
to that thread's tape: each op that ran (``Op.apply``), each tensor a creation function
made, each random draw and in-place write, and everything that cannot be replayed (a
*graph break*: reading a tensor's value in Python, a hook, a custom ``Function``). The
tape itself lives in ``ember._compile``; this module only holds the thread's current tape,
so that ``_tensor`` and the ops, which sit below the compiler, can reach it.

``anywhere.count`` is the number of threads recording now: code on a hot path tests it
(one attribute read) before asking for its own thread's tape.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator


class _Anywhere:
    __slots__ = ("count", "lock")

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()


anywhere = _Anywhere()


class _ThreadState(threading.local):
    def __init__(self):
        self.tape = None  # the recording this thread is making, if any


thread_state = _ThreadState()


def current():
    """This thread's tape, or None when it is not recording."""
    return thread_state.tape if anywhere.count else None


def start(tape) -> None:
    """Make ``tape`` this thread's recording (recordings do not nest)."""
    with anywhere.lock:
        anywhere.count += 1
    thread_state.tape = tape


def stop() -> None:
    thread_state.tape = None
    with anywhere.lock:
        anywhere.count -= 1


def graph_break(reason: str) -> None:
    """Tell this thread's recording, if any, that what runs now cannot be replayed."""
    tape = current()
    if tape is not None:
        tape.graph_break(reason)


def grad_read(tensor) -> None:
    """Tell this thread's recording, if any, that ``tensor.grad`` is read."""
    tape = current()
    if tape is not None:
        tape.grad_read(tensor)


def grad_cleared(tensor) -> None:
    """Tell this thread's recording, if any, that ``tensor.grad = None`` runs."""
    tape = current()
    if tape is not None:
        tape.grad_cleared(tensor)


def made(tensor):
    """Tell this thread's recording that ``tensor`` is a new constant (a creation function
    made it from Python values), not a value of unknown origin; returns ``tensor``."""
    tape = current()
    if tape is not None:
        tape.made(tensor)
    return tensor


def derived(array, *sources):
    """Tell this thread's recording that ``array`` (an op's index, an interpolation's
    weights) follows from shapes and ``sources`` alone, tensors or arrays: where each
    source is a constant of the recording (``made``, or ``derived`` from constants), so is
    ``array``, and a replay may hand it to its op again as it is. Returns ``array``."""
    tape = current()
    if tape is not None:
        tape.derived(array, sources)
    return array


def replayed(changes=None, python_state=True):
    """A function or method that a compiled call replays whole (an optimizer's ``step``,
    ``zero_grad``, gradient clipping): while recording, its own work is not recorded step
    by step. ``changes(*args)`` names the tensors it may change in place. With
    ``python_state`` False it changes nothing else (``zero_grad``, clipping: gradients
    alone), so the recording need not read the Python state around it (``Watch``)."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            tape = current()
            if tape is None:
                return function(*args, **kwargs)
            # An iterator (``model.parameters()``) is read once: the replays need a list.
            args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
            touched = changes(*args) if changes is not None else ()
            return tape.call(function, args, kwargs, touched, python_state)

        run.replayed_whole = True
        return run

    return decorate


@contextlib.contextmanager
def muted():
    """Nothing this thread does inside is recorded (the eager engine under a recorded
    ``backward()``)."""
    tape = current()
    if tape is None:
        yield
        return
    tape.muted += 1
    try:
        yield
    finally:
        tape.muted -= 1
