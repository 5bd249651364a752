"""Fused kernels in compiled programs, through numba where it is installed.

NumPy runs one pass over an array per operation, and a few kernels of a training step take
many (``ember/_compile/kernels/`` has them, one module per family of ops, and
``docs/compile.md`` the measurements). numba compiles the same arithmetic into loops that
do the same float32 and float64 operations in the same order, so a replay stays bit for
bit the eager result.

This module binds them into programs. What a program asks for while it is written is held,
keyed weakly by the program (``deferring``, ``hold``), until its compiled function has
replayed ``hot`` times (tiered, as a JIT compiles a hot loop): then ``release`` asks
numba, which compiles in a background thread, so that neither a recording nor the caller
waits for it. Until the kernel is ready the program runs NumPy's kernels; then its name in
the program's namespace is bound to the fused one. A program that never turns hot asks for
nothing, and what it held goes with it.

It also compiles, in the same thread, a function of one program's own (``request``):
``mode="reduce-overhead"``'s small programs, ``small.py``.

Optional: ``pip install "ember[compile]"`` installs numba. Without it nothing changes.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import sys
import threading
import time
import weakref

from ember._compile import kernels

enabled = True  # False: programs written from now on keep NumPy's kernels (A/B runs)
# The replays of a compiled function after which its programs' fused kernels compile. A
# function's recordings come in its first calls (the first batch, an epoch's last, the
# first evaluation): numba's import beside them starved them and the replays between them
# (docs/compile.md), and a short run never replays enough to win back the compilation.
# Until then what a program asked for waits on it. 0: at the end of the first recording.
hot = 64
failure = None  # why numba could not compile the kernels, where it could not
program_failures = []  # why a program's own function (``request``) could not be compiled
seconds = None  # how long the background compilation took, once it ended

_lock = threading.Lock()
_kernels = {}  # kind ("gelu", "adam") -> the compiled numba function, once ready
_requested = []  # the kinds some program asked for, in order
_waiting = []  # (kind, ready): what to do with a kernel once it is compiled
_builders = {}  # kind -> build(numba), for kinds of one program (``request``)
_deferred = threading.local()  # ``entries``: where the program being written collects
_held = weakref.WeakKeyDictionary()  # program -> what it asked for, until ``release``
_thread = None  # the background compilation, while it runs
_available = None  # whether numba is installed, found once


def offer(namespace, name, step, role="forward") -> str:
    """Bind ``namespace[name]``, the ``role`` of ``step`` in a program, to a fused kernel,
    now or once compiled. The role is "forward" or "backward" for an op replayed whole (or
    a call), "lowered forward" or "lowered backward" for one replayed through its
    ``Op.lower`` form, whose functions take other arguments.

    Returns a note for the printed program ("" when ``step`` has no fused kernel here).
    """
    kind, bind = kernels.fusable(step, role) if enabled else (None, None)
    if kind is None or not usable():
        return ""
    with _lock:
        kernel = _kernels.get(kind)
    if kernel is not None:
        namespace[name] = bind(kernel)
        return "fused by numba"
    _ask(kind, lambda compiled: namespace.__setitem__(name, bind(compiled)))
    return "fused by numba once compiled"


def request(kind, build, ready) -> None:
    """Compile ``build(numba)`` in the background as ``kind`` (a name of its own: one
    program's function, ``small.py``), then call ``ready`` with it. Nothing happens where
    numba is missing, failed, or ``enabled`` is False."""
    if enabled and usable():
        _ask(kind, ready, build)


def _ask(kind, ready, build=None) -> None:
    """Ask for ``kind``: into the list of the program being written, where ``deferring``
    collects, else at once."""
    entries = getattr(_deferred, "entries", None)
    if entries is None:
        _register([(kind, ready, build)])
    else:
        entries.append((kind, ready, build))


def _register(entries) -> None:
    """Ask numba for each (kind, ready, build) of ``entries``; one compiled already is
    bound at once."""
    compiled = []
    with _lock:
        for kind, ready, build in entries:
            kernel = _kernels.get(kind)
            if kernel is not None:
                compiled.append((ready, kernel))
                continue
            if build is not None:
                _builders[kind] = build
            _waiting.append((kind, ready))
            if kind not in _requested:
                _requested.append(kind)
    for ready, kernel in compiled:
        ready(kernel)


@contextlib.contextmanager
def deferring():
    """Collect what ``offer`` and ``request`` ask for meanwhile, in this thread (a program
    being written), in the list this yields, rather than ask numba: ``hold`` keeps it on
    the program until ``release``."""
    outer, entries = getattr(_deferred, "entries", None), []
    _deferred.entries = entries
    try:
        yield entries
    finally:
        _deferred.entries = outer


def hold(program, entries) -> None:
    """Keep what ``program`` asked for (``deferring``'s list) until ``release``, or until
    the program is gone."""
    if entries:
        with _lock:
            _held[program] = entries


def release(programs) -> None:
    """Ask numba for what ``programs`` hold (their function turned hot), once each."""
    with _lock:
        entries = [entry for program in programs for entry in _held.pop(program, ())]
    if entries:
        _register(entries)


def usable() -> bool:
    """Whether numba is installed (found once) and has not failed."""
    global _available
    if _available is None:
        _available = importlib.util.find_spec("numba") is not None
    return _available and failure is None


def start() -> None:
    """Start compiling the kernels asked for in the background, unless that runs already.

    A compiled function calls it when it turns ``hot`` (after ``release``), and after each
    later recording.
    """
    with _lock:
        if failure is None and any(kind not in _kernels for kind in _requested):
            _start()


def wait(timeout: float | None = None) -> bool:
    """Wait for the background compilation of what every living program asked for, hot
    or not (starting it where it has not started); whether every kernel asked for is
    ready."""
    gc.collect()  # a dead program still in a reference cycle asks for nothing
    with _lock:
        living = list(_held)
    release(living)
    start()
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return bool(_requested) and all(kind in _kernels for kind in _requested)


def _forget_in_child() -> None:
    """After ``fork`` (a DataLoader worker): a fresh lock, no thread, nothing waiting. The
    parent's thread does not exist in the child, and may have held the lock."""
    global _lock, _thread
    _lock, _thread = threading.Lock(), None
    _waiting.clear()
    _builders.clear()
    _requested[:] = list(_kernels)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _start() -> None:
    """Start the compiling thread unless it runs (called holding ``_lock``)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_compile_requested, name="ember-fusion")
        _thread.start()


def _import_numba():
    """numba, imported without its coloured error messages where ember is the first to
    import it. Those wrap and restore ``sys.stdout`` and ``sys.stderr`` (colorama's
    ``init``/``deinit``, for each message numba formats, even for errors it catches
    itself). Done in this thread, that would race with the user's threads: a
    ``redirect_stderr`` (or pytest's capture) made meanwhile was undone. The variable
    numba reads once, at import, is set only for the import."""
    if "numba" in sys.modules:
        return sys.modules["numba"]
    name = "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"
    before = os.environ.get(name)
    os.environ[name] = "1"
    try:
        import numba
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
    return numba


def _compile_requested() -> None:
    """Compile each kind asked for, then bind the names waiting for it, until none is left."""
    global _thread, failure, seconds
    while True:
        with _lock:
            pending = [kind for kind in _requested if kind not in _kernels]
            if not pending or failure is not None:
                _thread = None
                return
            kind = pending[0]
            own = _builders.pop(kind, None)  # one program's function (``request``)
        start = time.perf_counter()
        try:
            numba = _import_numba()
            kernel = (own or kernels.BUILDERS[kind])(numba)
        except Exception as error:  # numba's import or LLVM failed: NumPy's kernels stay
            with _lock:
                if own is None:
                    failure = f"{type(error).__name__}: {error}"
                    _waiting.clear()
                else:  # that program alone runs as written
                    _kernels[kind] = None
                    program_failures.append(f"{kind}: {type(error).__name__}: {error}")
                    _waiting[:] = [entry for entry in _waiting if entry[0] != kind]
            continue
        finally:
            seconds = (seconds or 0.0) + time.perf_counter() - start
        with _lock:
            _kernels[kind] = kernel
            ready = [entry for entry in _waiting if entry[0] == kind]
            _waiting[:] = [entry for entry in _waiting if entry[0] != kind]
        for _, done in ready:
            done(kernel)
