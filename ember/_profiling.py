"""The profile recording now, for the code below ``ember.profiler`` that labels its own calls.

``ember.profiler`` records ops, backward nodes and compiled calls by wrapping their entry
points while a profile records (so that nothing is checked on an op call otherwise). An
optimizer's ``step`` cannot be wrapped that way, since an LR scheduler keeps the function
it found at its creation; ``recorded`` labels it here instead, at the cost of one slot read
per call: ``state.recorder`` is None unless a profile records.
"""

from __future__ import annotations

import functools


class _State:
    __slots__ = ("recorder",)

    def __init__(self):
        self.recorder = None  # ember.profiler's recorder while a profile records


state = _State()


def recorded(label):
    """A function that a profile in progress records as a range named ``label(*args)``
    (``Optimizer.step#SGD.step``). A call made inside a range of the same name (a
    subclass's ``step`` calling ``super().step()``) opens none of its own."""

    def decorate(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            recorder = state.recorder
            if recorder is None:
                return function(*args, **kwargs)
            record = recorder.begin_once(label(*args))
            try:
                return function(*args, **kwargs)
            finally:
                recorder.end(record)

        return run

    return decorate
