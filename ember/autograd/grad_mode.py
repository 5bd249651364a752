"""Whether operations record the graph: ``no_grad``, ``enable_grad`` and friends.

The modes belong to the thread, as in PyTorch: ``with no_grad():`` in one thread leaves
every other thread recording, and a new thread starts with grad mode on and inference mode
off whatever mode the thread that started it was in.
"""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    # No __slots__: a slot would be one value shared by every thread; a threading.local's
    # instance attributes are kept per thread, and __init__ runs once in each thread.
    def __init__(self):
        self.enabled = True
        self.inference = False


state = _State()


class _Recording:
    """Whether grad mode is on in every thread, kept with the count of threads where it is off.

    Reading a threading.local costs several plain attribute reads, and ``Op.apply`` asks for
    the mode on every op: while no thread has turned grad mode off, ``everywhere`` answers
    for all of them. Each change of a thread's mode goes through ``_set_enabled``, under the
    lock, so ``everywhere`` is never True while some thread has it off (a thread that ends
    with grad mode off leaves it False, which only costs the ops the threading.local read).
    """

    __slots__ = ("everywhere", "lock", "threads_off")

    def __init__(self):
        self.everywhere = True
        self.threads_off = 0
        self.lock = threading.Lock()


recording = _Recording()


def _set_enabled(mode: bool, current: bool) -> None:
    """Set this thread's grad mode, whose value is ``current`` now, to ``mode``."""
    if mode == current:
        return
    with recording.lock:
        state.enabled = mode
        recording.threads_off += -1 if mode else 1
        recording.everywhere = recording.threads_off == 0


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _GradModeContext:
    """A context manager that is also a decorator, restoring the previous mode on exit."""

    _mode = True

    def __new__(cls, function=None):
        # ``@no_grad`` without parentheses decorates the function directly.
        instance = super().__new__(cls)
        if callable(function):
            return instance.__call__(function)
        return instance

    def __enter__(self):
        self._previous = previous = state.enabled
        _set_enabled(self._mode, previous)
        return self

    def __exit__(self, *exc_info):
        _set_enabled(self._previous, state.enabled)  # read: a call inside may have changed it
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)

        return decorated

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Operations inside record no graph; results never require grad.

    Example::

        with ember.no_grad():
            y = model(x)          # y.requires_grad is False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Turn recording back on inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set recording on or off; works as a function, a context manager or a decorator."""

    def __new__(cls, mode: bool):
        return object.__new__(cls)

    def __init__(self, mode: bool):
        self._previous = previous = state.enabled
        self._mode = bool(mode)
        _set_enabled(self._mode, previous)

    def __enter__(self):
        return self

    def __call__(self, function):
        _set_enabled(self._previous, state.enabled)
        mode = self._mode

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)

        return decorated

    def clone(self):
        return set_grad_enabled(self._mode)


class inference_mode(_GradModeContext):
    """Like ``no_grad``; ember keeps no extra bookkeeping that inference mode could skip."""

    def __new__(cls, mode=True):
        instance = object.__new__(cls)
        if callable(mode):
            instance.__init__(True)
            return instance.__call__(mode)
        return instance

    def __init__(self, mode: bool = True):
        self._mode = not mode
        self._inference = mode

    def __enter__(self):
        self._previous_inference = state.inference
        state.inference = self._inference
        return super().__enter__()

    def __exit__(self, *exc_info):
        state.inference = self._previous_inference
        return super().__exit__(*exc_info)

    def __call__(self, function):
        mode = self._inference

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with inference_mode(mode):
                return function(*args, **kwargs)

        return decorated
