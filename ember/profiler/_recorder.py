"""What a profile records, and where ember tells it.

A ``Recorder`` keeps, per thread, every range in the order it opened: its name, its
category, its start and end on ``perf_counter_ns``, the range it opened inside, and the
input shapes where asked for. Ranges come from five places:

- ``Op.apply`` and ``Function.apply``: each op's forward, under ATen's name for it where
  ember's op is one of ATen's (``aten::mul``, ``aten::addmm``), else its own name;
- the backward engine: each node's run, as PyTorch names it
  (``autograd::engine::evaluate_function: MulBackward0`` around ``MulBackward0``);
- a compiled call's replay (``CompiledFunction``);
- an optimizer's ``step`` and ``zero_grad`` (``Optimizer.step#SGD.step``), which label
  themselves through ``ember._profiling``;
- ``record_function`` and the profiler's own ``ProfilerStep#N``.

The first three are wrapped only while a profile records (``install`` and ``uninstall``):
when nothing profiles, an op call runs exactly the code it runs without this package.
"""

from __future__ import annotations

import functools
import re
import threading
from contextlib import ContextDecorator
from time import perf_counter_ns, time_ns

from ember import _profiling
from ember._compile.compiled import Recording
from ember.autograd import engine
from ember.autograd.function import Function
from ember.ops._function import Op

CPU_OP, USER_ANNOTATION = "cpu_op", "user_annotation"  # the Chrome trace's categories
EVALUATE = "autograd::engine::evaluate_function: "
ACCUMULATE_GRAD = "torch::autograd::AccumulateGrad"
COMPILED_FUNCTION = "CompiledFunction"


class Range:
    """One range of one thread: ``end`` is None while it is open."""

    __slots__ = ("name", "category", "start", "end", "parent", "shapes", "sequence_nr")

    def __init__(self, name, category, start, parent, shapes, sequence_nr):
        self.name, self.category, self.start, self.end = name, category, start, None
        self.parent, self.shapes, self.sequence_nr = parent, shapes, sequence_nr


class _Thread:
    """A thread's ranges, in the order they opened, and those open now (innermost last)."""

    def __init__(self):
        self.id = threading.get_native_id()
        self.ranges, self.open = [], []


class Recorder:
    """Every range that ember's code opens while this recorder is ``_profiling.state``'s."""

    def __init__(self, record_shapes: bool = False):
        self.record_shapes = record_shapes
        self.threads = []  # a _Thread per thread that recorded anything
        self._local = threading.local()
        self._lock = threading.Lock()
        self.start, self.wall = perf_counter_ns(), time_ns()  # one moment on both clocks
        self.stop = None

    def _thread(self) -> _Thread:
        try:
            return self._local.thread
        except AttributeError:
            thread = self._local.thread = _Thread()
            with self._lock:
                self.threads.append(thread)
            return thread

    def begin(self, name: str, category: str = CPU_OP, shapes=None, sequence_nr: int = -1):
        """Open a range on this thread, inside the range it opened last and has not closed."""
        thread = self._thread()
        opened = thread.open
        record = Range(name, category, perf_counter_ns(), opened[-1] if opened else None,
                       shapes, sequence_nr)
        thread.ranges.append(record)
        opened.append(record)
        return record

    def begin_once(self, name: str):
        """``begin(name)`` as a user annotation, or None inside an open range of that name."""
        opened = self._thread().open
        if opened and opened[-1].name == name:
            return None
        return self.begin(name, USER_ANNOTATION)

    def end(self, record) -> None:
        """Close ``record``, and any range still open inside it (one an exception left)."""
        if record is None:
            return
        now = perf_counter_ns()
        opened = self._thread().open
        if opened and opened[-1] is record:
            opened.pop()
        elif any(inner is record for inner in opened):
            while True:
                inner = opened.pop()
                if inner is record:
                    break
                if inner.end is None:
                    inner.end = now
        if record.end is None:  # or a range another thread opened: it closes all the same
            record.end = now


# ---------------------------------------------------------------- ATen's names for ember's ops

# ember's op -> ATen's, where neither the op's name nor its node's name gives ATen's
_ATEN_NAMES = {
    "ToCopy": "_to_copy", "ToDevice": "_to_copy", "I1": "special_i1",
    "GridSampler2D": "grid_sampler_2d", "GridSampler3D": "grid_sampler_3d",
    "LeftShift": "bitwise_left_shift", "RightShift": "bitwise_right_shift",
    "CtcLossBackward": "_ctc_loss_backward", "ScatterWithReduce": "scatter",
    "BernoulliProbability": "bernoulli", "MaxPool2D": "max_pool2d", "MaxPool3D": "max_pool3d",
    "StandardGamma": "_standard_gamma", "StandardGammaGrad": "_standard_gamma_grad",
    "Dirichlet": "_sample_dirichlet", "DirichletGrad": "_dirichlet_grad",
    "RegularizedGamma": "igamma",
}
# ember's ops that stand for no ATen op: their events keep ember's name
EMBER_ONLY = frozenset({"AllReduceSum", "Check", "NonDifferentiable", "PowerZero",
                        "RegularizedGammaInput"})
_NODE_NAME = re.compile(r"(\w+?)Backward\d*")
_names: dict = {}


def op_name(cls) -> str:
    """The name of ``cls``'s events: ``aten::`` and ATen's name for an op of ATen's, whose
    node PyTorch names after it (``DivBackward2`` for ``div`` with a rounding mode); else
    the class's own name (a custom ``Function``'s, as in PyTorch)."""
    name = _names.get(cls)
    if name is None:
        name = _names[cls] = _op_name(cls)
    return name


def _op_name(cls) -> str:
    own = cls.__name__
    if not issubclass(cls, Op) or own in EMBER_ONLY:
        return own
    if own in _ATEN_NAMES:
        return "aten::" + _ATEN_NAMES[own]
    found = _NODE_NAME.fullmatch(cls._backward_cls.__name__)
    base = found.group(1) if found else own
    words = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", re.sub(r"(?<=[a-z])(?=[A-Z])", "_", base))
    return "aten::" + words.lower()


def _shapes(values) -> list:
    """Each value's shape as a list ([] for anything without one), as PyTorch's
    ``input_shapes`` gives them."""
    return [list(shape) if isinstance(shape := getattr(value, "shape", None), tuple) else []
            for value in values]


# ---------------------------------------------------------------- the wrapped entry points


def _timed_op(apply):
    """``Op.apply`` (or ``Function.apply``) with each call recorded as its op's range."""

    def timed(cls, *args, **kwargs):
        recorder = _profiling.state.recorder
        if recorder is None:  # the profile stopped while this thread was on its way here
            return apply(cls, *args, **kwargs)
        record = recorder.begin(op_name(cls), CPU_OP,
                                _shapes(args) if recorder.record_shapes else None)
        try:
            result = apply(cls, *args, **kwargs)
        finally:
            recorder.end(record)
        output = result[0] if type(result) is tuple and result else result
        node = getattr(output, "grad_fn", None)
        if node is not None and getattr(node, "_forward_cls", None) is cls:
            record.sequence_nr = node._sequence_nr  # links the forward to its node's run
        return result

    return timed


def _timed_node(run):
    """The engine's run of one node, recorded as PyTorch's two nested ranges."""

    @functools.wraps(run)
    def timed(node, grads):
        recorder = _profiling.state.recorder
        if recorder is None:
            return run(node, grads)
        name = node.name()
        outer = recorder.begin(EVALUATE + name, CPU_OP, None, node._sequence_nr)
        inner = recorder.begin(name, CPU_OP, _shapes(grads) if recorder.record_shapes else None,
                               node._sequence_nr)
        try:
            return run(node, grads)
        finally:
            recorder.end(inner)
            recorder.end(outer)

    return timed


def _timed_accumulation(accumulate):
    """The engine's ``AccumulateGrad`` of one leaf (its gradient is the second argument)."""

    @functools.wraps(accumulate)
    def timed(*args, **kwargs):
        recorder = _profiling.state.recorder
        if recorder is None:
            return accumulate(*args, **kwargs)
        outer = recorder.begin(EVALUATE + ACCUMULATE_GRAD)
        inner = recorder.begin(ACCUMULATE_GRAD, CPU_OP,
                               _shapes(args[1:2]) if recorder.record_shapes else None)
        try:
            return accumulate(*args, **kwargs)
        finally:
            recorder.end(inner)
            recorder.end(outer)

    return timed


def _timed_replay(replay):
    """A compiled call's replay, recorded as one ``CompiledFunction`` range (its backward
    is the ``CompiledFunctionBackward`` node)."""

    @functools.wraps(replay)
    def timed(recording, tensors):
        recorder = _profiling.state.recorder
        if recorder is None:
            return replay(recording, tensors)
        record = recorder.begin(COMPILED_FUNCTION)
        try:
            return replay(recording, tensors)
        finally:
            recorder.end(record)

    return timed


# (owner, attribute, wrap): the wrap of the owner's attribute as it is when a profile starts.
# The engine looks its node runs up as module globals on each call, so wrapping those
# there reaches every backward pass.
_ENTRY_POINTS = (
    (Op, "apply", lambda found: classmethod(_timed_op(found.__func__))),
    (Function, "apply", lambda found: classmethod(_timed_op(found.__func__))),
    (engine, "_backward_on_arrays", _timed_node),
    (engine, "_backward_on_tensors", _timed_node),
    (engine, "_accumulate_array", _timed_accumulation),
    (engine, "_accumulate", _timed_accumulation),
    (Recording, "replay", _timed_replay),
)
_originals: list = []  # what install() replaced, to put back
_active: list = []  # the recorders of the profiles recording now, the newest last
_install_lock = threading.Lock()


def _attribute(owner, name):
    return owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)


def install(recorder: Recorder) -> None:
    """Make ``recorder`` the one that records (a profile started inside another takes
    over until it stops, as in PyTorch) and wrap the entry points if nothing did yet."""
    with _install_lock:
        if not _active:
            for owner, name, wrap in _ENTRY_POINTS:
                found = _attribute(owner, name)
                _originals.append((owner, name, found))
                setattr(owner, name, wrap(found))
        _active.append(recorder)
        _profiling.state.recorder = recorder


def uninstall(recorder: Recorder) -> None:
    """Stop ``recorder``; the entry points are put back once no profile records."""
    with _install_lock:
        if recorder not in _active:
            return
        _active.remove(recorder)
        recorder.stop = perf_counter_ns()
        _profiling.state.recorder = _active[-1] if _active else None
        if not _active:
            while _originals:
                owner, name, found = _originals.pop()
                setattr(owner, name, found)


def recording() -> bool:
    """Whether a profile records now."""
    return _profiling.state.recorder is not None


# ---------------------------------------------------------------- record_function


class record_function(ContextDecorator):
    """A named range of the profile that records now: a context manager or a decorator.

    Outside a profile it does nothing. Ranges nest: one opened inside another is its
    child in ``events()``, and its time is part of the outer one's total.

    Args:
        name: the range's name in the events, the table and the trace.
        args: a string kept with the range (PyTorch passes it on to its trace).

    Example::

        >>> with ember.profiler.profile() as prof:
        ...     with ember.profiler.record_function("forward"):
        ...         loss = model(x).sum()
        >>> [e.key for e in prof.key_averages()][:1]
        ['forward']
    """

    def __init__(self, name: str, args: str | None = None):
        self.name, self.args = name, args
        self._opened = []  # (recorder, range) per entry not yet left: entries may nest

    def __enter__(self):
        recorder = _profiling.state.recorder
        self._opened.append((recorder, recorder.begin(self.name, USER_ANNOTATION)
                             if recorder is not None else None))
        return self

    def __exit__(self, *exception) -> bool:
        recorder, record = self._opened.pop()
        if recorder is not None:
            recorder.end(record)
        return False

    def __call__(self, function):
        # each call opens its own range (a recursive or threaded function enters it again)
        @functools.wraps(function)
        def ranged(*args, **kwargs):
            with record_function(self.name, self.args):
                return function(*args, **kwargs)

        return ranged
