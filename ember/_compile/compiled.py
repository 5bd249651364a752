"""A compiled callable: its recordings, the guards that choose one, and the fallbacks.

The first call with a given signature runs eagerly under a ``Tape`` and becomes a
``Recording`` (a ``Program`` plus the guards it holds under); later calls whose signature
and guards match replay it. The signature, checked on every call, is the cache key: per
tensor argument its shape, dtype, ``requires_grad`` and contiguity, the value of every
other argument, grad mode, autocast, anomaly mode, the default dtype and each module's
``training`` flag. The guards of a recording, one generated expression, check what the
key does not: that the modules still hold the same parameters, buffers and scalar
attributes, and that captured tensors kept their shape, dtype and ``requires_grad``.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import os
import sys
import sysconfig
import time
import types
import warnings
import weakref

from ember import _autocast, _hooks, _tape
from ember._backend import outside_random_streams
from ember._compile import fusion
from ember._compile.program import Program
from ember._compile.tape import Tape, Unsupported
from ember._dtype import get_default_dtype
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state
from ember.nn.modules.container import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from ember.nn.modules.module import Module


class config:
    """``torch._dynamo.config``'s knobs that ember reads."""

    recompile_limit = 8  # recordings of one compiled function before it stays eager
    cache_size_limit = 8  # PyTorch's older name for the same limit


_EAGER = "eager"  # a cache entry: this signature broke the graph, so it runs eagerly
_SCALARS = (bool, int, float, str, type(None))
_CONTAINERS = (tuple, list, dict)
# objects whose attributes a guard does not compare: code, classes, modules, tensors
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.MethodType,
           types.BuiltinFunctionType, Module, Tensor)
_MODULE_STATE = frozenset(vars(Module()))  # a module's own bookkeeping, guarded apart
_LARGEST_COMPARED = 10_000  # values in a container a guard compares (see ``_plain``)
_CONTAINER_LAYERS = (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict)
# where the standard library and installed packages live (see ``_users_module``)
_LIBRARY_PATHS = tuple({os.path.abspath(path) for key, path in sysconfig.get_paths().items()
                        if key in ("stdlib", "platstdlib", "purelib", "platlib")})
_TEXT_COMPARED = 2000  # longer contents are compared with ``==`` (see ``_contents_test``)
_PLAIN_NEW = (object.__new__, types.SimpleNamespace.__new__)  # makes an object of no arguments
_NESTING = 3  # objects in objects whose attributes a guard compares (see ``_simple``)
_every_compiled = weakref.WeakSet()  # for ``reset``


class _Hooked:
    """A cache entry: this signature broke the graph only because these modules had
    hooks, so it runs eagerly while one of them still has any, and records again after."""

    def __init__(self, modules):
        self.modules = modules

    def holds(self) -> bool:
        return any(_has_hooks(module) for module in self.modules)


class Recording:
    """One program and the guards it is valid under."""

    def __init__(self, program, guards, spec, seconds):
        self.program, self.guards, self.spec, self.seconds = program, guards, spec, seconds
        self.captured = [s.tensor for s in program.sources if s.kind == "captured"]
        self.inputs = [s.position for s in program.sources if s.kind == "input"]
        # the call's tensors, in order, are the program's first sources (the usual call)
        self.inputs_in_order = self.inputs == list(range(len(self.inputs)))
        self.check = _compile_guards(guards)
        self.fast = None  # the key and the guards in one test, where ``_fast_check`` can write it
        # what the call returns when that is no tensor or one new tensor (a step's loss)
        self.bare = spec == [("leaf", None)] or (
            spec == [None] and program.outputs[0].kind == "step")

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
        outputs = []
        for slot, array in zip(program.outputs, arrays):
            if slot.kind in ("input", "captured"):  # returned as it came, as eagerly
                outputs.append(sources[program.sources.index(slot)])
            else:  # a constant is copied: the caller may change what it gets in place
                outputs.append(Tensor._make(array.copy() if slot.kind == "constant" else array))
        if program.grad_outputs and grad_mode.state.enabled:
            program.connect(outputs, contexts, sources)
        first = {}
        values = [first.setdefault(slot.index, tensor)
                  for slot, tensor in zip(program.outputs, outputs)]
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
        self._last = None  # the recording the latest replay ran, tested first on each call
        self.breaks = []  # (reason, file:line) of every graph break met
        self.replays = 0
        self.latest = None  # the latest Recording, for ``code`` and ``explain``
        self.__wrapped__ = function
        _every_compiled.add(self)

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        if _tape.current() is not None:  # inside another recording: part of that one
            return self._function(*args, **kwargs)
        last = self._last
        if last is not None and not kwargs and last.fast(args):  # the usual call: again
            self.replays += 1
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
        if entry is not None and entry.check():
            self.replays += 1
            if entry.fast is not None:
                self._last = entry
            return entry.replay(tensors)
        if self._recordings >= config.recompile_limit:
            self._warn_limit(key, entry)
            return self._function(*args, **kwargs)
        return self._record(key, args, kwargs, tensors)

    def _record(self, key, args, kwargs, tensors):
        self._recordings += 1
        start = time.perf_counter()
        self._modules = modules_of(self._function)  # a global may name another module now
        key = (key[0], tuple([m.training for m in self._modules])) + key[2:]
        # and those the call gets as arguments (``train_step(model, batch)``), whose
        # identity and training flags the key holds
        modules = _with_argument_modules(self._modules, (args, kwargs))
        captured = _captured_tensors(self._function, modules)
        tape = Tape(tensors, captured, self._fullgraph)
        hooked = _hooks_break(tape, modules)
        before = _bindings(self._function, modules)
        _tape.start(tape)
        try:
            result = self._function(*args, **kwargs)
        finally:
            _tape.stop()
        after = _bindings(self._function, modules)
        _reassigned_break(tape, before[0], after[0])
        _drawn_break(tape, before[1], after[1])
        self._last_key = key
        recording = self._finish(tape, result, start, modules)
        if recording is not None:
            recording.fast = _fast_check(key, tensors, self._modules, recording.guards)
        elif hooked and len(tape.breaks) == len(hooked):  # the hooks alone broke it
            recording = _Hooked(hooked)
        else:
            recording = _EAGER
        tape.release()
        self._cache[key] = recording
        fusion.start()  # the fused kernels the program asked for, in the background
        return result

    def _finish(self, tape, result, start, modules):
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
        program = Program(tape, outputs, self._small)
        guards = _guards(self._function, modules, program)
        recording = Recording(program, guards, spec, time.perf_counter() - start)
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

    def reset(self) -> None:
        self._cache.clear()
        self._recordings, self._warned, self.latest, self._last = 0, False, None, None
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


def _code_names(code) -> set:
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _code_names(constant)
    return names


def _globals_and_cells(function, modules=(), cell_names=None):
    """(namespace, name, value) for the globals the function names and its closure cells
    (the cell as namespace, None as name; ``cell_names``, where given, gets each cell's
    variable name by the cell's id), and those of the Python functions it reaches through
    them (a ``compute_loss`` helper) or through the modules it is or names, or ``modules``
    (their classes' ``forward`` and helpers)."""
    found, seen, pending = [], set(), [function] + _own_functions(modules)
    for owner in (function, getattr(function, "__self__", None)):
        if isinstance(owner, Module):
            pending += _methods(owner)
    found += _attributes_read(function)
    for _, _, value in found:
        if isinstance(value, Module):
            pending += _methods(value)
    while pending:
        item = pending.pop()
        if isinstance(item, functools.partial):  # its keywords, read as globals are
            found += [(item.keywords, key, value) for key, value in item.keywords.items()]
            pending.append(item.func)
            continue
        target = getattr(item, "__func__", item)
        code = getattr(target, "__code__", None)
        if code is None or id(target) in seen:
            continue
        seen.add(id(target))
        namespace, names = target.__globals__, sorted(_code_names(code))
        values = [(namespace, name, namespace[name]) for name in names if name in namespace]
        for name, cell in zip(code.co_freevars, target.__closure__ or ()):
            if cell_names is not None:
                cell_names[id(cell)] = name
            try:
                values.append((cell, None, cell.cell_contents))
            except ValueError:  # an empty cell
                continue
        while values:
            entry = values.pop(0)
            found.append(entry)
            value = entry[2]
            if isinstance(value, (types.FunctionType, functools.partial)):
                pending.append(value)
            elif isinstance(value, Module):
                pending += _methods(value)
            elif isinstance(value, types.ModuleType) and _users_module(value) and \
                    id(value) not in seen:  # ``config.LR``, ``utils.helper``: as globals
                seen.add(id(value))
                table = vars(value)
                values += [(table, name, table[name]) for name in names if name in table]
    return found


def _label(namespace, key, cell_names) -> str:
    """How a message names a global (its name) or a closure cell (its variable's name,
    from ``_globals_and_cells``'s ``cell_names``)."""
    if key is not None:
        return key
    name = cell_names.get(id(namespace))
    return "a closure variable" if name is None else f"the closure variable {name}"


def _users_module(module) -> bool:
    """Whether ``module`` is the user's own code (a project's ``config`` or ``utils``),
    whose names a program may bind again, rather than ember, the standard library or an
    installed package, whose tables ember takes as constant."""
    path = getattr(module, "__file__", None)
    if path is None or module.__name__.split(".")[0] == "ember":
        return False
    return not os.path.abspath(path).startswith(_LIBRARY_PATHS)


def _attributes_read(method) -> list:
    """(its ``__dict__``, name, value) for the attributes that a method of a plain object
    names (a trainer's ``self.model``, ``self.scale``), as for a global."""
    owner = getattr(method, "__self__", None)
    code = getattr(getattr(method, "__func__", None), "__code__", None)
    if code is None or isinstance(owner, _OPAQUE) or type(getattr(owner, "__dict__", None)) \
            is not dict:
        return []
    names, attributes = _code_names(code), vars(owner)
    return [(attributes, name, attributes[name]) for name in sorted(names) if name in attributes]


def _names_read(function, modules, reached) -> set:
    """The names that the compiled function, the functions it reaches (``reached``, from
    ``_globals_and_cells``) and the methods of its modules' own classes (other than
    ``__init__``, which ran before) name: the attributes that its code may read."""
    functions = [getattr(function, "__func__", function)]
    functions += [value for _, _, value in reached if isinstance(value, types.FunctionType)]
    functions += [f for f in _own_functions(modules) if f.__name__ != "__init__"]
    names = set()
    for item in functions:
        code = getattr(item, "__code__", None)
        if code is not None:
            names |= _code_names(code)
    return names


def _ember_layer(module) -> bool:
    """Whether a class of ember's other than ``Module`` makes up ``module``'s type: ember's
    code reads its attributes, all of which are guarded."""
    return any(k.__module__.startswith("ember.") and k is not Module
               for k in type(module).__mro__)


def _methods(module) -> list:
    """The functions that the classes of ``module`` and its submodules define outside
    ember: a user's ``forward`` and its helpers, whose globals a replay depends on too."""
    return _own_functions(module.modules())


def _own_functions(modules) -> list:
    """The functions that the classes of ``modules`` define outside ember, each class once
    (a model's many blocks share theirs)."""
    found = []
    for klass in _own_classes(modules):
        for value in vars(klass).values():
            value = getattr(value, "__func__", value)  # a static or class method
            value = getattr(value, "fget", value)  # a property: what reading it runs
            if isinstance(value, types.FunctionType):
                found.append(value)
    return found


def _own_classes(modules) -> list:
    """The classes of ``modules`` and their bases defined outside ember, each once."""
    classes = {}
    for module in modules:
        for klass in type(module).__mro__:
            if _outside_ember(klass):
                classes.setdefault(klass, None)
    return list(classes)


def _outside_ember(klass) -> bool:
    """Whether ``klass`` is the user's (or a library's), neither ember's nor a builtin."""
    return klass.__module__.split(".")[0] not in ("ember", "builtins")


def modules_of(function) -> list:
    """The modules a compiled function can reach: a bound module's, and those it names."""
    roots = []
    owner = getattr(function, "__self__", None)
    if isinstance(owner, Module):
        roots.append(owner)
    if isinstance(function, Module):
        roots.append(function)
    for _, _, value in _globals_and_cells(function):
        if isinstance(value, Module):
            roots.append(value)
    seen = {}
    for root in roots:
        for module in root.modules():
            seen.setdefault(id(module), module)
    return list(seen.values())


def _with_argument_modules(modules, arguments) -> list:
    """``modules`` and the modules among ``arguments`` (in tuples, lists and dicts too),
    with their submodules, each once."""
    found, pending = {id(m): m for m in modules}, [arguments]
    while pending:
        value = pending.pop()
        if isinstance(value, Module):
            for module in value.modules():
                found.setdefault(id(module), module)
        elif type(value) in (tuple, list):
            pending.extend(value)
        elif type(value) is dict:
            pending.extend(value.values())
    return list(found.values())


def _captured_tensors(function, modules) -> dict:
    captured = {}
    for module in modules:
        for value in module.__dict__.values():
            if isinstance(value, Tensor):
                captured[id(value)] = value
        for registry in (module._parameters, module._buffers):
            for value in registry.values():
                if value is not None:
                    captured[id(value)] = value
    for _, _, value in _globals_and_cells(function, modules):
        if isinstance(value, Tensor):
            captured[id(value)] = value
    return captured


def _bindings(function, modules) -> tuple:
    """What each name the call can reach holds, and the random streams outside ember it
    can draw from, read in one walk before and after the call: (bindings, streams).

    The bindings are each module's parameters, buffers, submodules and other attributes,
    and the globals and closure variables the code names (``_identity``), with a label
    for each; the streams, ``outside_random_streams`` of those values."""
    state, named = {}, []
    for module in modules:
        label = type(module).__name__
        for registry in ("_parameters", "_buffers", "_modules"):
            for key, value in getattr(module, registry).items():
                state[id(module), registry, key] = (f"{label}.{key}", id(value))
        named += [((id(module), "", key), f"{label}.{key}", value)
                  for key, value in module.__dict__.items() if key not in _MODULE_STATE]
    cell_names = {}
    for namespace, key, value in _globals_and_cells(function, modules, cell_names):
        if not _ours(namespace):  # ember's own tables and caches are no user's state
            named.append(((id(namespace), "", key), _label(namespace, key, cell_names), value))
    for place, label, value in named:
        state[place] = (label, _identity(value))
    return state, outside_random_streams([(label, value) for _, label, value in named])


def _identity(value, depth=_NESTING):
    """What a binding holds, for telling whether the call changed it (a change a replay
    would not make): a number by value; a list or dict of plain data by identity and
    contents (``stats["steps"] += 1``, an ``append``), compared as its ``repr`` (where a
    NaN equals itself and ``1``, ``1.0`` and ``True`` differ); another list, dict or set by
    identity and length; a plain object of the user's or of a library (a
    ``SimpleNamespace``, a trainer's state) by identity and, ``depth`` objects deep, its
    attributes (``state.step += 1``); anything else, ember's own objects among them (an
    optimizer's state moves in its replayed ``step()``), by identity."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, (list, dict)) and _plain(value):
        return id(value), repr(value)
    if isinstance(value, (list, dict, set)):
        return id(value), len(value)
    attributes = getattr(value, "__dict__", None)
    if depth and type(attributes) is dict and len(attributes) <= _LARGEST_COMPARED and \
            not isinstance(value, _OPAQUE) and not _embers(value):
        return id(value), tuple([(key, _identity(item, depth - 1))
                                 for key, item in attributes.items()])
    return id(value)


def _embers(value) -> bool:
    """Whether ``value`` is an object of ember's classes or of a class derived from one
    (a user's optimizer or dataset)."""
    return any(klass.__module__.split(".")[0] == "ember" for klass in type(value).__mro__)


def _reassigned_break(tape, before: dict, after: dict) -> None:
    """A break where the call bound a module's attribute, buffer or parameter, or a global
    or closure variable, to another value (``self.avg = self.avg * 0.9 + ...``, ``count
    += 1``): a Python assignment, which a replay would not make again."""
    for place in before.keys() | after.keys():
        if before.get(place) != after.get(place):
            label = (before.get(place) or after.get(place))[0]
            tape.graph_break(f"{label} was assigned or changed inside the compiled call")
            return


def _drawn_break(tape, before: dict, after: dict) -> None:
    """A break where the call drew from a random stream outside ember (``random.random()
    < 0.5``, ``np.random.rand()``, ``rng.normal()``): a replay would reuse the numbers of
    the recording, a branch taken on one included. ember's own random ops replay."""
    for key, (label, state) in after.items():
        if before.get(key, (label, state))[1] != state:
            tape.graph_break(f"the call drew from {label}, whose numbers a replay would "
                             "repeat; draw with ember's random ops to compile it")
            return


def _hooks_break(tape, modules) -> list:
    """A break for each module with hooks, which a replay would skip; those modules."""
    hooked = [module for module in modules if _has_hooks(module)]
    for module in hooked:
        tape.graph_break(f"{type(module).__name__} has hooks, which a replay would skip")
    return hooked


def _has_hooks(module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)


# ---------------------------------------------------------------- guards


def _ours(namespace) -> bool:
    """Whether ``namespace`` is one of ember's modules, whose tables do not change."""
    return type(namespace) is dict and namespace.get("__name__", "").startswith("ember.")


def _plain(value) -> bool:
    """Whether ``value`` is a tuple, list or dict of Python numbers, strings and None
    (nested as deep as it likes, ``_LARGEST_COMPARED`` of them at most): data that a
    guard can compare with a copy, so that a replay sees a change to what it holds."""
    if type(value) not in _CONTAINERS:
        return False
    pending, count = [value], 0
    while pending:
        item = pending.pop()
        if type(item) in _SCALARS:
            continue
        if type(item) is dict:
            pending.extend(item.keys())
            pending.extend(item.values())
        elif type(item) in _CONTAINERS:
            pending.extend(item)
        else:
            return False
        count += len(item)
        if count > _LARGEST_COMPARED:
            return False
    return True


def _value_guards(read, value, objects, name, label, contents=True, named=(), typed=True,
                  depth=_NESTING):
    """Guards that ``read``, an expression over ``objects``, still gives ``value``: the same
    number (of the same type, with ``typed``: ``2`` and ``2.0`` make other dtypes) or an
    equal string; else the same object, and with ``contents`` the same contents where they
    are plain data (``_plain``): a list or dict, or an object's attributes (an
    ``argparse.Namespace``, a config object, objects of such data in it), and the data
    attributes of its class that code names (``named``, see ``_class_guards``). Of any
    other object, ``depth`` deep at most, the attributes that code names are guarded so
    (a config object that also holds a function)."""
    if type(value) in _SCALARS:
        test = _number_test(read, value, name) if typed else f"{read} == {name}"
        return [(test, {**objects, name: value, "copysign": math.copysign}, f"{label} changed")]
    guards = [(f"{read} is {name}", {**objects, name: value}, f"{label} was replaced")]
    if not contents:
        return guards
    if isinstance(value, type):  # a class: the settings it holds (``Config.SCALE``)
        for key, data in _class_data(value, named):
            guards += _value_guards(f"getattr({read}, {key!r}, None)", data, objects,
                                    f"{name}_{key}", f"{label}.{key}")
        return guards
    if type(value) in (list, dict) and _plain(value):
        guards.append(_contents_test(read, value, objects, name, f"what {label} holds changed"))
    elif _simple(value):
        if _plain(vars(value)) or not vars(value):  # one dict to compare
            guards.append(_contents_test(f"{read}.__dict__", vars(value), objects, name,
                                         f"an attribute of {label} changed"))
        else:  # objects in it: compared as far down as ``_simple`` goes
            guards.append(_contents_test(f"_contents({read})", _contents(value),
                                         {**objects, "_contents": _contents}, name,
                                         f"an attribute of {label}, or of an object in it, "
                                         "changed"))
        guards += _class_guards(read, value, objects, name, label, named)
    elif depth > 0 and type(getattr(value, "__dict__", None)) is dict and not isinstance(
            value, _OPAQUE):
        for key, item in vars(value).items():
            if key in named:
                guards += _value_guards(f"{read}.__dict__.get({key!r})", item, objects,
                                        f"{name}_{key}", f"{label}.{key}", named=named,
                                        depth=depth - 1)
        guards += _class_guards(read, value, objects, name, label, named)
    return guards


def _number_test(read, value, name) -> str:
    """A test that ``read`` gives ``value`` again, a number of the same type (a float
    with the same sign, where it is zero, and NaN for NaN), or an equal string or None."""
    if type(value) is bool or value is None:
        return f"{read} is {value}"
    if type(value) is float and value != value:
        return f"type({read}) is float and {read} != {read}"
    test = f"type({read}) is {type(value).__name__} and {read} == {name}"
    if type(value) is float and value == 0:
        test += f" and copysign(1.0, {read}) == {math.copysign(1.0, value)}"
    return test


def _contents_test(read, data, objects, name, meaning):
    """A guard that ``read`` gives what ``data`` holds: compared as text where that is
    short (numbers with their types: ``[2]`` is not ``[2.0]``), else with ``==``."""
    text = repr(data)
    if len(text) <= _TEXT_COMPARED:
        return f"repr({read}) == {name}_now", {**objects, f"{name}_now": text}, meaning
    return f"{read} == {name}_now", {**objects, f"{name}_now": copy.deepcopy(data)}, meaning


def _simple(value, depth=_NESTING) -> bool:
    """Whether ``value`` is a plain object whose attributes are plain data (``_plain``) or,
    ``depth`` objects deep at most, such objects (``config.optimizer.lr``)."""
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is not dict or isinstance(value, _OPAQUE):
        return False
    if not attributes or _plain(attributes):
        return True
    return depth > 0 and len(attributes) <= _LARGEST_COMPARED and all(
        type(item) in _SCALARS or _plain(item) or _simple(item, depth - 1)
        for item in attributes.values())


def _contents(value):
    """What a guard compares of a ``_simple`` object: its type and attributes, the objects
    among them taken apart the same way."""
    return type(value), {key: _contents(item) if type(item) not in _SCALARS and
                         type(item) not in _CONTAINERS else copy.deepcopy(item)
                         for key, item in vars(value).items()}


def _class_data(klass, named) -> list:
    """(name, value) for the names in ``named`` (every name, for None) that ``klass`` or a
    base of it outside ember defines as plain data: class-level settings (``scale = 0.5``
    in a model's class body), which code reads through an instance or the class."""
    found, seen = [], set()
    for owner in klass.__mro__:  # the first class to define a name is the one Python reads
        for key, value in vars(owner).items():
            if key in seen:
                continue
            seen.add(key)
            if _outside_ember(owner) and not key.startswith("__") and (
                    named is None or key in named) and (
                    type(value) in _SCALARS or _plain(value) or _simple(value)):
                found.append((key, value))
    return found


def _class_guards(read, value, objects, name, label, named) -> list:
    """Guards on the data attributes of ``value``'s class that code names (``_class_data``):
    read through ``type(...)``, so that a change to the class or a base records again, and
    absent from the object itself, where setting one would hide the class's."""
    guards = []
    for key, data in _class_data(type(value), named):
        if key in vars(value):
            continue  # the object's own, which ``value``'s own guards cover
        guards.append((f"{key!r} not in {read}.__dict__", objects,
                       f"{label}.{key} was set on the object"))
        guards += _value_guards(f"getattr(type({read}), {key!r}, None)", data, objects,
                                f"{name}_class_{key}", f"{label}.{key} (of its class)")
    return guards


def _guards(function, modules, program) -> list:
    """(Python expression, objects it names, what it checks) for each guard."""
    guards = []
    cell_names = {}
    reached = _globals_and_cells(function, modules, cell_names)
    named = _names_read(function, modules, reached)
    for number, module in enumerate(modules):
        name = f"M{number}"
        label = type(module).__name__
        guards.append((f"not ({name}._forward_hooks or {name}._forward_pre_hooks or "
                       f"{name}._backward_hooks)", {name: module}, f"{label} got hooks"))
        for registry in ("_parameters", "_buffers"):
            for key, value in getattr(module, registry).items():
                guards.append((f"{name}.{registry}.get({key!r}) is {name}_{key}",
                               {name: module, f"{name}_{key}": value},
                               f"{label}.{key} was replaced"))
        guards += _structure_guards(name, module, label)
        # a method set on the module (``model.forward = ...``), or another class
        guards.append((f"type({name}) is {name}_class and len({name}.__dict__) == "
                       f"{len(vars(module))}", {name: module, f"{name}_class": type(module)},
                       f"{label} got a new attribute or another class"))
        # ember's layers: ember's code reads their attributes, and their numbers the same
        # whatever their type; a user's, where its code reads attributes by a name made
        # at run time (getattr), too
        ember_layer = _ember_layer(module)
        every = ember_layer or "getattr" in named
        for key, value in module.__dict__.items():
            if key not in _MODULE_STATE and (every or key in named):
                guards += _value_guards(f"{name}.__dict__.get({key!r})", value, {name: module},
                                        f"{name}_{key}", f"{label}.{key}", named=named,
                                        typed=not ember_layer)
        guards += _class_guards(name, module, {name: module}, name, label,
                                None if "getattr" in named else named)
    guards += _method_guards(modules)
    for number, (namespace, key, value) in enumerate(reached):
        holder = f"G{number}"
        read = f"{holder}.cell_contents" if key is None else f"{holder}.get({key!r})"
        guards += _value_guards(read, value, {holder: namespace}, f"{holder}_value",
                                _label(namespace, key, cell_names),
                                contents=not _ours(namespace),
                                named=named)
    for slot in program.sources:
        if slot.kind != "captured":
            continue
        tensor, name = slot.tensor, f"T{slot.index}"
        data = tensor._data
        guards.append((f"{name}._requires_grad is {tensor._requires_grad} and "
                       f"{name}._data.shape == {data.shape!r} and "
                       f"{name}._data.dtype == {name}_dtype",
                       {name: tensor, f"{name}_dtype": data.dtype},
                       f"a captured {tuple(data.shape)} tensor changed shape, dtype or "
                       "requires_grad"))
    for number, optimizer in enumerate(program.zero_grads.values()):
        # a folded zero_grad() covers the parameters it had: the same groups, lists, lengths
        name, groups = f"O{number}", optimizer.param_groups
        checks = [f"len({name}.param_groups) == {len(groups)}"] + [
            f"{name}.param_groups[{i}]['params'] is {name}_{i} and len({name}_{i}) == "
            f"{len(group['params'])}" for i, group in enumerate(groups)]
        objects = {name: optimizer} | {f"{name}_{i}": group["params"]
                                       for i, group in enumerate(groups)}
        guards.append((" and ".join(checks), objects,
                       "the optimizer's parameter groups changed"))
    if any(step.kind == "backward" for step in program.steps):
        # recorded while no hook existed anywhere (``Tape.backward``); the program's
        # accumulation into the leaves runs none
        guards.append(("not (hooked.data and hooks_registered())",  # the set: one C test
                       {"hooked": _hooks._hooked, "hooks_registered": _hooks.hooks_registered},
                       "a tensor or a graph node got a hook"))
    for step in program.steps:  # arrays handed to an op as they are: a buffer's own
        for array in step.handed:
            owner, name = program.owner_of(array), f"A{id(array)}"
            guards.append((f"{name}_owner._data is {name}", {f"{name}_owner": owner, name: array},
                           "a buffer's storage was replaced"))
    return guards


def _structure_guards(name, module, label) -> list:
    """Guards that ``module`` holds the same submodules, and as many parameters and buffers
    (a layer appended to a ``ModuleList``, a ``Sequential``'s item replaced, a parameter
    registered later, each of which a loop in the forward would meet). Not for ember's
    layers without submodules other than containers, whose code never looks."""
    children = module._modules
    if not children and _ember_layer(module) and not isinstance(module, _CONTAINER_LAYERS):
        return []
    checks = [f"len({name}._parameters) == {len(module._parameters)}",
              f"len({name}._buffers) == {len(module._buffers)}"]
    objects = {name: module}
    if children:  # the names and modules, compared as a dict in C (modules by identity)
        checks.append(f"{name}._modules == {name}_children")
        objects[f"{name}_children"] = dict(children)
    else:
        checks.append(f"not {name}._modules")
    return [(" and ".join(checks), objects, f"{label}'s submodules, parameters or buffers "
             "changed")]


def _method_guards(modules) -> list:
    """Guards that the classes of ``modules`` defined outside ember hold the same methods
    (``Net.forward = patched`` after the recording): each class's functions, static and
    class methods and properties, and how many names it holds. ember's classes are taken
    as constant, as its modules' tables are."""
    guards = []
    for number, klass in enumerate(_own_classes(modules)):
        name, table = f"C{number}", vars(klass)
        code = {key: value for key, value in table.items()
                if isinstance(value, (types.FunctionType, staticmethod, classmethod, property))}
        checks = [f"len({name}.__dict__) == {len(table)}"] + [
            f"{name}.__dict__.get({key!r}) is {name}_{index}" for index, key in enumerate(code)]
        objects = {name: klass} | {f"{name}_{index}": value
                                   for index, value in enumerate(code.values())}
        guards.append((" and ".join(checks), objects,
                       f"a method of {klass.__name__} was replaced or added"))
    return guards


def _compile_guards(guards):
    check = _test_function("check", "", [], guards, {})
    check.guards = guards
    return check


def _test_function(name, parameters, tests, guards, namespace, prologue=""):
    """``name(parameters)``, generated: after ``prologue`` (lines that may return early),
    whether ``tests`` and then ``guards``' expressions all hold. The guards' objects join
    ``namespace``; the source stays on the function."""
    for _, objects, _ in guards:
        namespace.update(objects)
    tests = tests + [f"({expression})" for expression, _, _ in guards]
    body = " and\n        ".join(tests) or "True"
    source = f"def {name}({parameters}):\n{prologue}    return (\n        {body}\n    )\n"
    exec(compile(source, f"<ember.compile {name}>", "exec"), namespace)
    function = namespace[name]
    function.source = source
    return function


def _fast_check(key, tensors, modules, guards):
    """``fast(args)``: whether a call with the positional ``args`` has this ``key`` and
    passes ``guards``, in one generated test that reads the arguments, the modes and the
    guarded objects directly rather than building the key and looking it up. None where the
    key is not of tensors alone (``tensors``, the recorded call's).

    It may say no where the key would match (a dtype that is equal but not the same object,
    a contiguous array with other strides than the recorded call's, a Tensor subclass):
    the call then takes the general path. It never says yes where the key would not match.
    """
    arguments, trainings, *modes = key
    if not all(len(entry) == 6 and type(entry[0]) is tuple for entry in arguments):
        return None  # not one entry per tensor argument (``_signature``'s common call)
    namespace = {"Tensor": Tensor, "grad_state": grad_mode.state, "autocast": _autocast.state,
                 "anomaly_state": anomaly_state, "get_default_dtype": get_default_dtype}
    names = ", ".join(f"a{i}" for i in range(len(arguments)))
    tests = []
    for i, (shape, dtype, requires_grad, contiguous, leaf, array_type) in enumerate(arguments):
        if not contiguous:
            return None
        namespace[f"array{i}"], namespace[f"dtype{i}"] = array_type, dtype
        strides = tensors[i]._data.strides  # contiguous: the strides say so
        tests.append(f"type(a{i}) is Tensor and type(a{i}._data) is array{i} and "
                     f"a{i}._data.shape == {shape!r} and a{i}._data.dtype is dtype{i} and "
                     f"a{i}._data.strides == {strides!r} and "
                     f"a{i}._requires_grad is {requires_grad} and "
                     f"a{i}.grad_fn is {'' if leaf else 'not '}None")
    for number, (module, training) in enumerate(zip(modules, trainings)):
        namespace[f"module{number}"] = module
        tests.append(f"module{number}.training is {training}")
    enabled, target, cuda_target, anomaly, default = modes
    namespace.update(target=target, cuda_target=cuda_target, default=default)
    tests.append(f"grad_state.enabled is {enabled} and autocast.target is target and "
                 f"autocast.cuda_target is cuda_target and anomaly_state.enabled is {anomaly} "
                 "and get_default_dtype() is default")
    unpack = f"    {names}, = args\n" if arguments else ""
    prologue = f"    if len(args) != {len(arguments)}:\n        return False\n{unpack}"
    return _test_function("fast", "args", tests, guards, namespace, prologue)


def failed_guard(recording) -> str | None:
    """What the first failing guard of ``recording`` checks, or None when all hold."""
    for expression, objects, meaning in recording.guards:
        if not eval(expression, dict(objects)):
            return meaning
    return None


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
