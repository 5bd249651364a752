"""A compiled callable: its recordings, the guards that choose one, and the fallbacks.

The first call with a given signature runs eagerly under a ``Tape`` and becomes a
``Recording`` (a ``Program`` plus the guards it holds under); later calls whose signature
and guards match replay it. The signature, checked on every call, is the cache key: per
tensor argument its shape, dtype, ``requires_grad`` and contiguity, the value of every
other argument, grad mode, autocast, anomaly mode, the default dtype and each module's
``training`` flag. The guards of a recording, one generated expression, check what the
key does not: that the modules still hold the same parameters, buffers and scalar
attributes, and that captured tensors kept their shape, dtype and ``requires_grad``
(``guards.py``). While recording, ``watch.py`` reads what the call reaches (``reach.py``)
to break where the call's own Python changed it.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import sys
import time
import types
import warnings
import weakref

from ember import _autocast, _tape
from ember._compile import fusion, stance
from ember._compile.guards import (
    _compile_guards,
    _contents,
    _fast_check,
    _guards,
    _simple,
    failed_guard,
)
from ember._compile.program import Program
from ember._compile.reach import (
    _CONTAINERS,
    _NESTING,
    _OPAQUE,
    _SCALARS,
    Reached,
    _captured_tensors,
    _with_argument_modules,
    forward_owner,
)
from ember._compile.tape import Tape, Unsupported
from ember._compile.watch import Watch, _has_hooks, _hooks_break
from ember._dtype import get_default_dtype
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state
from ember.nn.modules.module import Module, state_changes
from ember.nn.parameter import is_lazy


class config:
    """``torch._dynamo.config``'s knobs that ember reads."""

    recompile_limit = 8  # recordings of one compiled function before it stays eager
    cache_size_limit = 8  # PyTorch's older name for the same limit


_EAGER = "eager"  # a cache entry: this signature broke the graph, so it runs eagerly
_PLAIN_NEW = (object.__new__, types.SimpleNamespace.__new__)  # makes an object of no arguments
_every_compiled = weakref.WeakSet()  # for ``reset``
# what a compiled function learns from its calls, which a copy of it starts without
_RECORDED = frozenset({"_cache", "_settling", "_last", "_last_key", "latest", "breaks",
                       "replays", "_recordings", "_warned", "_ran_eagerly"})


class _Hooked:
    """A cache entry: this signature broke the graph only because these modules had
    hooks, so it runs eagerly while one of them still has any, and records again after."""

    def __init__(self, modules):
        self.modules = modules

    def holds(self) -> bool:
        return any(_has_hooks(module) for module in self.modules)


class Recording:
    """One program and the guards it is valid under."""

    def __init__(self, program, guards, spec, aliased=frozenset()):
        self.program, self.guards, self.spec = program, guards, spec
        # the positions of outputs that eager returned as a new tensor over an argument's
        # or a parameter's storage (``p.detach()``, ``p.data``), not as that tensor itself
        self.aliased = aliased
        self.recorded = 0.0  # the seconds from the call's start to its recording's end
        self.captured = [s.tensor for s in program.sources if s.kind == "captured"]
        self.inputs = [s.position for s in program.sources if s.kind == "input"]
        # the call's tensors, in order, are the program's first sources (the usual call)
        self.inputs_in_order = self.inputs == list(range(len(self.inputs)))
        self.check = _compile_guards(guards)
        self.fast = None  # the key and the guards in one test, where ``_fast_check`` can write it
        # what the call returns when that is no tensor or one new tensor (a step's loss)
        self.bare = spec == [("leaf", None)] or (
            spec == [None] and program.outputs[0].kind == "step")

    @property
    def seconds(self) -> float:
        """The recording's time, with that of the tests compiled when first needed."""
        deferred = [self.check] + (self.fast.deferred if self.fast is not None else [])
        return self.recorded + sum(test.seconds for test in deferred)

    def replay(self, tensors):
        program = self.program
        if self.inputs_in_order and len(tensors) == len(self.inputs):
            sources = tensors + self.captured
        else:
            sources = [tensors[i] for i in self.inputs] + self.captured
        arrays, contexts = program.run(sources)
        if self.bare:  # nothing to rebuild: ``None``, or the one tensor the step made
            if not arrays:
                return None
            output = Tensor._make(arrays[0])
            if program.grad_outputs and grad_mode.state.enabled:
                program.connect([output], contexts, sources)
            return output
        outputs, aliased = [], self.aliased
        for position, (slot, array) in enumerate(zip(program.outputs, arrays)):
            if slot.kind in ("input", "captured"):  # returned as it came, as eagerly
                source = sources[program.sources.index(slot)]
                outputs.append(source.detach() if position in aliased else source)
            else:  # a constant is copied: the caller may change what it gets in place
                outputs.append(Tensor._make(array.copy() if slot.kind == "constant" else array))
        if program.grad_outputs and grad_mode.state.enabled:
            program.connect(outputs, contexts, sources)
        # one tensor returned twice is one tensor again; an alias is new each time (keyed by
        # its position, as a negative number: slot indices are not)
        first = {}
        values = [first.setdefault(-1 - position if position in aliased else slot.index, tensor)
                  for position, (slot, tensor) in enumerate(zip(program.outputs, outputs))]
        return _unflatten(self.spec, iter(values))


class CompiledFunction:
    """What ``ember.compile(function)`` returns: call it as the function."""

    def __init__(self, function, fullgraph: bool = False, modules=(), mode=None):
        self._function = function
        self._fullgraph = fullgraph
        self._small = mode == "reduce-overhead"  # small programs through numba (small.py)
        self._modules = list(modules)
        self._cache = {}
        self._recordings = 0
        self._warned = False
        self._last_key = None
        self._last = None  # the recording the latest call replayed or made, tested first
        self._settling = set()  # keys recorded once more after a change to Python state
        self.breaks = []  # (reason, file:line) of every graph break met
        self.replays = 0
        self.latest = None  # the latest Recording, for ``code`` and ``explain``
        self._ran_eagerly = False  # its first call, under ``set_stance("eager_then_compile")``
        self.__wrapped__ = function
        _every_compiled.add(self)
        # whether numba is installed, found once a process (a search of sys.path, 0.3 ms)
        # as the compiler is set up rather than inside the first recording
        fusion.usable()

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        # inside another recording (part of that one), or ``set_stance("force_eager")``
        if _tape.current() is not None or stance.current.eager:
            return self._function(*args, **kwargs)
        last = self._last
        if last is not None and not kwargs and last.fast(args):  # the usual call: again
            self.replays += 1
            if self.replays == fusion.hot:
                self._fuse()
            return last.replay(list(args))
        tensors = []
        key = (_signature(args, kwargs, tensors), tuple([m.training for m in self._modules]),
               grad_mode.state.enabled, _autocast.state.target, _autocast.state.cuda_target,
               anomaly_state.enabled, get_default_dtype())
        entry = self._cache.get(key)
        if type(entry) is _Hooked:
            if entry.holds():
                return self._function(*args, **kwargs)
            entry = None  # the hooks are gone: record again
        if entry is _EAGER:
            return self._function(*args, **kwargs)
        # the recording's own quick test first, compiled already where ``check`` is
        # compiled on first use (an epoch's smaller last batch alternates two recordings)
        if entry is not None and ((entry.fast is not None and not kwargs and entry.fast(args))
                                  or entry.check()):
            self.replays += 1
            if self.replays == fusion.hot:
                self._fuse()
            if entry.fast is not None:
                self._last = entry
            return entry.replay(tensors)
        if self._recordings >= config.recompile_limit:
            self._warn_limit(key, entry)
            return self._function(*args, **kwargs)
        if stance.current.name != "default" and self._eager_instead(key, entry):
            return self._function(*args, **kwargs)
        return self._record(key, args, kwargs, tensors)

    def _eager_instead(self, key, entry) -> bool:
        """Under ``set_stance``: whether a call that no recording fits runs eagerly rather
        than record (or, with ``"fail_on_recompile"``, raises)."""
        name = stance.current.name
        if name in ("eager_then_compile", "aot_eager_then_compile"):
            first = not self._ran_eagerly
            self._ran_eagerly = True
            return first and not self._recordings
        if not self._recordings:  # a first recording is no recompile
            return False
        if name == "fail_on_recompile":
            raise RuntimeError(f"Detected recompile when torch.compile stance is "
                               f"'fail_on_recompile' ({_name(self._function)}: "
                               f"{_why_not(self._last_key, key, entry)})")
        return name == "eager_on_recompile"

    def _record(self, key, args, kwargs, tensors):
        self._recordings += 1
        start, changes = time.perf_counter(), state_changes[0]
        reached = Reached(self._function)
        self._modules = reached.modules()  # a global may name another module now
        key = (key[0], tuple([m.training for m in self._modules])) + key[2:]
        # and those the call gets as arguments (``train_step(model, batch)``), whose
        # identity and training flags the key holds
        modules = _with_argument_modules(self._modules, (args, kwargs))
        reached.add(modules)
        captured = _captured_tensors(modules, reached)
        if any(is_lazy(value) for value in captured.values()):
            # a lazy layer's first call gives its tensors their shapes: eager, recorded next time
            self._recordings -= 1
            return self._function(*args, **kwargs)
        tape = Tape(tensors, captured, self._fullgraph)
        outside = forward_owner(self._function)  # its hooks run around the call
        hooked = _hooks_break(tape, [m for m in modules if m is not outside])
        tape.watch = Watch(modules, args, kwargs, reached)
        _tape.start(tape)
        try:
            result = self._function(*args, **kwargs)
        finally:
            _tape.stop()
        tape.watch.compare(tape, last=True)
        self._last_key = key
        recording = self._finish(tape, result, modules, reached)
        if recording is not None:
            recording.fast = _fast_check(key, tensors, self._modules, recording.guards,
                                         changes)
            recording.recorded = time.perf_counter() - start
            if recording.fast is not None:
                self._last = recording  # the next call tests it first, as after a replay
        elif hooked and len(tape.breaks) == len(hooked):  # the hooks alone broke it
            recording = _Hooked(hooked)
        elif tape.watch.broke == len(tape.breaks) and key not in self._settling:
            # only a change to Python state broke it, which may be a first call's setup
            # (``if self.mask is None: self.mask = ...``): the next call records again
            self._settling.add(key)
            recording = None
        else:
            recording = _EAGER
        tape.release()
        if recording is not None:
            self._cache[key] = recording
        if self.replays >= fusion.hot:  # a hot function's new program: fused at once
            self._fuse()
        return result

    def _fuse(self) -> None:
        """The function is hot: numba compiles, in the background, the fused kernels that
        its programs asked for."""
        fusion.release([entry.program for entry in self._cache.values()
                        if type(entry) is Recording])
        fusion.start()

    def _finish(self, tape, result, modules, reached):
        out_tensors, spec = [], []
        _flatten(result, out_tensors, spec)
        for tensor in out_tensors:
            if tape.by_tensor.get(id(tensor)) is None:
                tape.slot_of(tensor)
        if _holds_hidden_tensors(spec):
            tape.breaks.append(("the result holds tensors in an object that a replay could "
                                "not build anew", "<call>"))
        for tensor in tape.changed_sources():
            tape.breaks.append(("an input, parameter or buffer was changed in place without "
                                f"an ember op (a {tuple(tensor.shape)} tensor)", "<call>"))
        self.breaks += tape.breaks
        if tape.breaks:
            if self._fullgraph:
                reason, where = tape.breaks[0]
                raise Unsupported(f"ember.compile(fullgraph=True): {reason} (at {where})")
            return None
        outputs = [tape.by_tensor[id(t)] for t in out_tensors]
        aliased = frozenset(position for position, (slot, tensor) in enumerate(
            zip(outputs, out_tensors)) if slot.kind in ("input", "captured")
            and tensor is not slot.tensor)
        with fusion.deferring() as requests:  # held on the program until the function is hot
            program = Program(tape, outputs, self._small)
        fusion.hold(program, requests)
        guards = _guards(self._function, modules, program, reached)
        recording = Recording(program, guards, spec, aliased)
        self.latest = recording
        if "output_code" in os.environ.get("EMBER_LOGS", ""):
            print(program.code, file=sys.stderr)
        return recording

    def _warn_limit(self, key, entry) -> None:
        if self._warned:
            return
        self._warned = True
        reason = _why_not(self._last_key, key, entry)
        warnings.warn(
            f"ember.compile hit config.recompile_limit ({config.recompile_limit}) for "
            f"{_name(self._function)}: it now runs eagerly. Last reason: {reason}.",
            stacklevel=3,
        )

    @property
    def code(self) -> str:
        """The latest recording's forward and backward programs, as Python source."""
        if self.latest is None:
            return "# nothing recorded yet: call the compiled function first\n"
        return self.latest.program.code

    def __deepcopy__(self, memo):
        """A copy of the function (a deep-copied module's forward, its modules) with no
        recordings: they are a cache, and they hold the original's tensors and objects."""
        copied = object.__new__(CompiledFunction)
        memo[id(self)] = copied
        for name, value in self.__dict__.items():
            if name not in _RECORDED:
                copied.__dict__[name] = copy.deepcopy(value, memo)
        copied._cache, copied._settling = {}, set()
        copied.reset()
        _every_compiled.add(copied)
        return copied

    def reset(self) -> None:
        self._cache.clear()
        self._settling.clear()
        self._recordings, self._warned, self.latest, self._last = 0, False, None, None
        self._last_key, self._ran_eagerly = None, False
        self.breaks, self.replays = [], 0


# ---------------------------------------------------------------- the signature


def _signature(args, kwargs, tensors) -> tuple:
    """The cache key of a call's arguments; their tensors, in order, go to ``tensors``."""
    key = []
    if not kwargs:  # the common call: positional tensors only
        for arg in args:
            if type(arg) is not Tensor and not isinstance(arg, Tensor):
                break
            data = arg._data
            key.append((data.shape, data.dtype, arg._requires_grad, data.flags.c_contiguous,
                        arg.grad_fn is None, type(data)))  # the array's type: its device
            tensors.append(arg)
        else:
            return tuple(key)
        key.clear()
        tensors.clear()
    _flatten((args, kwargs), tensors, [], key)
    return tuple(key)


def _flatten(value, tensors, spec, key=None) -> None:
    """Tensors of a nested value in order; ``spec`` rebuilds it; ``key`` describes it."""
    kind = type(value)
    if isinstance(value, Tensor):
        if key is not None:
            data = value._data
            key.append((data.shape, data.dtype, value._requires_grad, data.flags.c_contiguous,
                        value.grad_fn is None, type(data)))
        spec.append(None)
        tensors.append(value)
    elif kind in (tuple, list) or (isinstance(value, tuple) and hasattr(value, "_fields")):
        inner = []
        if key is not None:
            key.append((kind, len(value)))
        for item in value:
            _flatten(item, tensors, inner, key)
        spec.append((kind, inner))
    elif kind is dict:
        inner = []
        if key is not None:
            key.append((dict, tuple(value)))
        for item in value.values():
            _flatten(item, tensors, inner, key)
        spec.append((dict, list(value), inner))
    elif _tensor_record(value):  # a dataclass or namespace of tensors: a model's output
        names, inner = list(vars(value)), []
        if key is not None:
            key.append((kind, tuple(names)))
        for item in vars(value).values():
            _flatten(item, tensors, inner, key)
        spec.append(("object", kind, names, inner))
    else:
        if key is not None:
            if isinstance(value, Module):  # which one, and its and its children's modes
                key.append((kind, id(value), tuple([m.training for m in value.modules()])))
            elif kind in _SCALARS:  # a number by type and value (a zero with its sign)
                key.append((kind, value) if kind is not float or value != 0 else
                           (kind, value, math.copysign(1.0, value)))
            elif _simple(value):  # an object of plain data: which one, and what it holds
                key.append((kind, id(value), repr(_contents(value))))
            else:
                key.append((kind, id(value)))
        spec.append(("leaf", value))


def _holds_hidden_tensors(spec) -> bool:
    """Whether a result's ``spec`` keeps as it is an object that holds a tensor (a class
    with slots, or one made with arguments): a replay would return the recording's."""
    pending = list(spec)
    while pending:
        entry = pending.pop()
        if entry is None:
            continue
        if entry[0] == "leaf":
            value = entry[1]
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                items = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
            else:
                items = list(getattr(value, "__dict__", {}).values()) if not isinstance(
                    value, _OPAQUE) else []
            if any(isinstance(item, Tensor) for item in items):
                return True
        else:
            pending.extend(entry[-1])
    return False


def _tensor_record(value, depth=_NESTING) -> bool:
    """Whether ``value`` is an object (a dataclass, a namespace: a model's output) whose
    attributes hold a tensor, and otherwise numbers, strings, None, tuples, lists and
    dicts of those and of tensors, or, ``depth`` deep at most, such objects: one that
    ``_flatten`` takes apart and a replay builds anew, as it does a tuple."""
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is not dict or not attributes or isinstance(value, _OPAQUE) or \
            depth == 0 or type(value).__new__ not in _PLAIN_NEW:
        return False
    found = False
    for item in attributes.values():
        if isinstance(item, Tensor):
            found = True
        elif type(item) in _CONTAINERS:
            items = item.values() if type(item) is dict else item
            if not all(isinstance(i, Tensor) or type(i) in _SCALARS for i in items):
                return False
            found = found or any(isinstance(i, Tensor) for i in items)
        elif type(item) not in _SCALARS:
            if not _tensor_record(item, depth - 1):
                return False
            found = True
    return found


def _unflatten(spec, values):
    (only,) = spec
    return _build(only, values)


def _build(entry, values):
    if entry is None:
        return next(values)
    if entry[0] == "leaf":
        return entry[1]
    if entry[0] == "object":  # a new object each call, as eagerly
        _, kind, names, inner = entry
        built = kind.__new__(kind)  # as ``copy`` makes one: no ``__init__``
        for name, item in zip(names, inner):
            object.__setattr__(built, name, _build(item, values))
        return built
    if entry[0] is dict:
        return {name: _build(e, values) for name, e in zip(entry[1], entry[2])}
    kind, inner = entry
    items = [_build(e, values) for e in inner]
    if kind in (tuple, list):
        return kind(items)
    return kind(*items)  # a namedtuple


# ---------------------------------------------------------------- what the call can reach


def _why_not(last_key, key, entry) -> str:
    if entry is not None and entry is not _EAGER:
        return failed_guard(entry) or "guards failed"
    if last_key is None:
        return "the call signature changed"
    (old_args, old_modes, *old_state), (new_args, new_modes, *new_state) = last_key, key
    if old_modes != new_modes:
        return "a module's training flag changed (train()/eval())"
    if old_state != new_state:
        return "grad mode, autocast, anomaly mode or the default dtype changed"
    for index, (old, new) in enumerate(zip(old_args, new_args)):
        if old != new:
            return f"argument entry {index} changed from {old!r} to {new!r}"
    return f"the number of arguments changed ({len(old_args)} to {len(new_args)})"


def _name(function) -> str:
    return getattr(function, "__qualname__", None) or type(function).__name__


def reset() -> None:
    """Forget every recording of every compiled function (``torch.compiler.reset``)."""
    for compiled in list(_every_compiled):
        compiled.reset()
