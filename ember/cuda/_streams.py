"""CUDA streams and events, as ``torch.cuda.Stream`` and ``torch.cuda.Event``, over CuPy's.

Without CUDA, making one raises (as in PyTorch); ``current_stream()`` and ``stream(None)``
are usable anywhere, so scripts that wrap work in ``with torch.cuda.stream(s):`` run.
"""

from __future__ import annotations

import contextlib

from ember import _backend, _device


def _cuda(index=None):
    index = _device.state.current_gpu if index is None else index
    return _backend.library(index).cuda


class Stream:
    """A queue of GPU work; ``with stream:`` or ``ember.cuda.stream(s)`` makes it current."""

    def __init__(self, device=None, priority: int = 0):
        self._stream = _cuda().Stream(non_blocking=True)

    def synchronize(self) -> None:
        self._stream.synchronize()

    def query(self) -> bool:
        return self._stream.done

    def wait_event(self, event) -> None:
        self._stream.wait_event(event._event)

    def wait_stream(self, stream) -> None:
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def __enter__(self):
        self._stream.__enter__()
        return self

    def __exit__(self, *exc_info):
        return self._stream.__exit__(*exc_info)


class Event:
    """A marker in a stream: ``record``, ``synchronize``, and ``elapsed_time`` in ms."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False):
        self._event = _cuda().Event(block=blocking, disable_timing=not enable_timing,
                                    interprocess=interprocess)

    def record(self, stream=None) -> None:
        self._event.record(None if stream is None else stream._stream)

    def synchronize(self) -> None:
        self._event.synchronize()

    def query(self) -> bool:
        return self._event.done

    def wait(self, stream=None) -> None:
        (stream or current_stream())._stream.wait_event(self._event)

    def elapsed_time(self, end_event) -> float:
        """Milliseconds from this event to ``end_event`` (both recorded, with timing)."""
        return _cuda().get_elapsed_time(self._event, end_event._event)


class _Current(Stream):
    def __init__(self, stream):
        self._stream = stream


def current_stream(device=None) -> Stream:
    return _Current(_cuda().get_current_stream())


def default_stream(device=None) -> Stream:
    return _Current(_cuda().Stream.null)


@contextlib.contextmanager
def stream(stream):
    """``with ember.cuda.stream(s):`` queues the block's work on ``s`` (None: no change)."""
    if stream is None:
        yield
        return
    with stream:
        yield
