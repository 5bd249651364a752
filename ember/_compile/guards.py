"""The guards of a recording: generated Python expressions that tell whether a later call
may replay it (the same parameters, buffers, scalar attributes, globals, classes' methods
and captured tensors' shapes), and ``_fast_check``, the key and the guards in one test.
"""

from __future__ import annotations

import copy
import math
import time
import types

from ember import _autocast, _hooks
from ember._compile.reach import (
    _CONTAINERS,
    _LARGEST_COMPARED,
    _MODULE_STATE,
    _NESTING,
    _OPAQUE,
    _SCALARS,
    _ember_layer,
    _label,
    _names_read,
    _ours,
    _outside_ember,
    _own_classes,
    _plain,
    forward_owner,
)
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
from ember.nn.modules.module import Module, _Registry, state_changes

_CONTAINER_LAYERS = (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict)
_TEXT_COMPARED = 2000  # longer contents are compared with ``==`` (see ``_contents_test``)
_ITEMS_GUARDED = 32  # items of a container of objects guarded one by one (``_items_guarded``)
# What a guard raises when what it reads is gone (an attribute deleted, an emptied closure
# cell): the guard fails, as for a changed value.
_UNREADABLE = (LookupError, AttributeError, ValueError)
_REGISTRIES = ("_parameters", "_buffers", "_modules", "_forward_pre_hooks", "_forward_hooks",
               "_backward_pre_hooks", "_backward_hooks")


class _ModuleState(tuple):
    """A guard (expression, objects, meaning) on a module's own state: its attributes that
    only an assignment changes, its parameters, buffers, submodules and hooks. Every such
    change moves ``state_changes`` (``ember/nn/modules/module.py``), so ``_fast_check``
    tests these guards again only after it moved."""


def _counted(module) -> bool:
    """Whether every change to ``module``'s state moves ``state_changes``: its class keeps
    ``Module``'s ``__setattr__`` and ``__delattr__``, and its registries count changes."""
    kind, attributes = type(module), module.__dict__
    return kind.__setattr__ is Module.__setattr__ and kind.__delattr__ is Module.__delattr__ \
        and all(type(attributes.get(name)) is _Registry for name in _REGISTRIES)


def _value_guards(read, value, objects, name, label, contents=True, named=(), typed=True,
                  depth=_NESTING):
    """Guards that ``read``, an expression over ``objects``, still gives ``value``: the same
    number (of the same type, with ``typed``: ``2`` and ``2.0`` make other dtypes) or an
    equal string; else the same object, and with ``contents`` what it holds
    (``_contents_guards``)."""
    if type(value) in _SCALARS:
        test = _number_test(read, value, name) if typed else f"{read} == {name}"
        return [(test, {**objects, name: value, "copysign": math.copysign}, f"{label} changed")]
    guards = [(f"{read} is {name}", {**objects, name: value}, f"{label} was replaced")]
    if contents:
        guards += _contents_guards(read, value, objects, name, label, named, depth)
    return guards


def _contents_guards(read, value, objects, name, label, named, depth) -> list:
    """Guards on what ``value`` holds:
    - of a class, the settings its body holds that code names (``Config.SCALE``);
    - of plain data (``_plain``: a list or dict), its contents;
    - of a list or dict of objects (``_items_guarded``), each item, ``depth`` deep; of a
      longer one, which objects it holds;
    - of a tensor, the attributes a user set on it that code names;
    - of a plain object (an ``argparse.Namespace``, a config object, objects of such data
      in it), its attributes, and the data attributes of its class that code names
      (``named``, see ``_class_guards``);
    - of any other object, ``depth`` deep at most, the attributes that code names (a
      config object that also holds a function), and of one of ember's, its plain state
      where code calls a method that reads it (``_reads_own_state``)."""
    if isinstance(value, type):
        return [guard for key, data in _class_data(value, named)
                for guard in _value_guards(f"getattr({read}, {key!r}, None)", data, objects,
                                           f"{name}_{key}", f"{label}.{key}")]
    if _frozen(value):  # a tuple of numbers: the same object holds the same numbers
        return []
    if type(value) in _CONTAINERS and _plain(value):
        return [_contents_test(read, value, objects, name, f"what {label} holds changed")]
    if type(value) in (list, dict) and len(value) > _ITEMS_GUARDED:  # items by identity
        return [(f"_identities({read}) == {name}_items", {
            **objects, "_identities": _identities, f"{name}_items": _identities(value)},
            f"an item of {label} was replaced, added or removed")]
    if depth > 0 and _items_guarded(value):
        guards = [(f"len({read}) == {len(value)}", objects, f"{label} changed length")]
        items = value.items() if type(value) is dict else enumerate(value)
        for index, (key, item) in enumerate(items):
            # a key gone raises, and the guard fails (``_UNREADABLE``)
            guards += _value_guards(f"{read}[{key!r}]", item, objects, f"{name}_{index}",
                                    f"{label}[{key!r}]", named=named, depth=depth - 1)
        return guards
    if depth > 0 and isinstance(value, Tensor):
        return _named_guards(read, value, objects, name, label, named, depth)
    if _simple(value):
        if _plain(vars(value)) or not vars(value):  # one dict to compare
            guards = [_contents_test(f"{read}.__dict__", vars(value), objects, name,
                                     f"an attribute of {label} changed")]
        else:  # objects in it: compared as far down as ``_simple`` goes
            guards = [_contents_test(f"_contents({read})", _contents(value),
                                     {**objects, "_contents": _contents}, name,
                                     f"an attribute of {label}, or of an object in it, changed")]
        return guards + _class_guards(read, value, objects, name, label, named)
    if depth > 0 and type(getattr(value, "__dict__", None)) is dict and not isinstance(
            value, _OPAQUE):
        guards = _named_guards(read, value, objects, name, label, named, depth)
        guards += _class_guards(read, value, objects, name, label, named)
        if _reads_own_state(value, named):
            guards.append(_contents_test(f"_plain_part({read})", _plain_part(value),
                                         {**objects, "_plain_part": _plain_part}, name,
                                         f"the state of {label} changed"))
        return guards
    return []


def _named_guards(read, value, objects, name, label, named, depth) -> list:
    """Guards on the attributes of ``value`` that code names, ``depth`` deep."""
    return [guard for key, item in vars(value).items() if key in named
            for guard in _value_guards(f"{read}.__dict__.get({key!r})", item, objects,
                                       f"{name}_{key}", f"{label}.{key}", named=named,
                                       depth=depth - 1)]


def _reads_own_state(value, named) -> bool:
    """Whether code names a method of ``value``, an object of one of ember's classes, that
    a replay does not run whole (``scheduler.get_last_lr()``): what it returns comes from
    the object's state, private attributes included."""
    if not type(value).__module__.startswith("ember."):
        return False
    return any(callable(getattr(type(value), key, None)) and not getattr(
        getattr(type(value), key), "replayed_whole", False) for key in named
        if not key.startswith("__") and key not in vars(value))


def _plain_part(value) -> dict:
    """The attributes of ``value`` that are plain data, for ``_reads_own_state``."""
    return {key: item for key, item in vars(value).items()
            if type(item) in _SCALARS or _plain(item)}


def _frozen(value) -> bool:
    """Whether ``value`` is a tuple of numbers, strings and such tuples, which no one can
    change in place."""
    return type(value) is tuple and all(type(item) in _SCALARS or _frozen(item)
                                        for item in value)


def _items_guarded(value) -> bool:
    """Whether ``_value_guards`` guards the items of ``value`` one by one: a tuple, list or
    dict of up to ``_ITEMS_GUARDED`` items, not all plain data (a config object in a list,
    an optimizer's parameter groups), a dict's keys numbers or strings."""
    if type(value) not in _CONTAINERS or len(value) > _ITEMS_GUARDED:
        return False
    return type(value) is not dict or all(type(key) in (int, str) for key in value)


def _identities(container) -> tuple:
    """Which objects a list holds, or a dict as keys and values, in order."""
    if type(container) is dict:
        return tuple(map(id, container)), tuple(map(id, container.values()))
    return tuple(map(id, container))


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
    in a model's class body), which code reads through an instance or the class. Not a
    descriptor (a ``staticmethod``, a ``classmethod``): reading it gives another object."""
    found, seen = [], set()
    for owner in klass.__mro__:  # the first class to define a name is the one Python reads
        table = vars(owner)
        if not _outside_ember(owner):  # its names hide those of the bases after it
            seen.update(table)
            continue
        for key, value in table.items():
            if key in seen:
                continue
            seen.add(key)
            if not key.startswith("__") and (named is None or key in named) and (
                    type(value) in _SCALARS or _plain(value) or _simple(value)) and \
                    not hasattr(type(value), "__get__"):
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


def _guards(function, modules, program, reached) -> list:
    """(Python expression, objects it names, what it checks) for each guard, of the globals
    and closure variables among them from the walk ``reached`` (a ``Reached``)."""
    guards = []
    cell_names = reached.cell_names
    named = _names_read(function, modules, reached.walked)
    outside = forward_owner(function)  # its hooks run around the call, and may change
    for number, module in enumerate(modules):
        guards += _module_guards(f"M{number}", module, named, hooks=module is not outside)
    guards += _method_guards(modules)
    for number, (namespace, key, value) in enumerate(reached.found):
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


def _module_guards(name, module, named, hooks=True) -> list:
    """The guards on ``module``'s own state (with ``hooks``, that it has none), and on its
    class's data that code names.

    Its attributes are read from its ``__dict__``, which the guards hold: a module's class
    defines ``__getattr__``, so reading one as ``M0._parameters`` is a lookup several times
    as long. The first guard says that it is still the same dict. Where ``_counted``, the
    guards on what only an assignment or a registration changes are ``_ModuleState``."""
    label, state = type(module).__name__, f"{name}d"
    objects = {name: module, state: module.__dict__}
    # a method set on the module (``model.forward = ...``), or another class
    guards = [(f"type({name}) is {name}_class and {name}.__dict__ is {state} and "
               f"len({state}) == {len(vars(module))}", {**objects, f"{name}_class": type(module)},
               f"{label} got a new attribute or another class")]
    if hooks:
        guards.append((f"not ({state}['_forward_hooks'] or {state}['_forward_pre_hooks'] or "
                       f"{state}['_backward_hooks'] or {state}['_backward_pre_hooks'])",
                       objects, f"{label} got hooks"))
    for registry in ("_parameters", "_buffers"):
        for key, value in getattr(module, registry).items():
            guards.append((f"{state}[{registry!r}].get({key!r}) is {name}_{key}",
                           {**objects, f"{name}_{key}": value}, f"{label}.{key} was replaced"))
    guards += _structure_guards(state, module, label, objects)
    # ember's layers: ember's code reads their attributes, and their numbers the same
    # whatever their type; a user's, where its code reads attributes by a name made at run
    # time (getattr), too
    ember_layer = _ember_layer(module)
    every = ember_layer or "getattr" in named
    held = []  # guards on what an attribute holds, which changes without an assignment
    for key, value in module.__dict__.items():
        if key not in _MODULE_STATE and (every or key in named):
            found = _value_guards(f"{state}.get({key!r})", value, objects, f"{name}_{key}",
                                  f"{label}.{key}", named=named, typed=not ember_layer)
            if type(value) in _SCALARS or _frozen(value):
                guards += found
            else:
                held += found
    if _counted(module):
        guards = [_ModuleState(guard) for guard in guards]
    return guards + held + _class_guards(name, module, {name: module}, name, label,
                                         None if "getattr" in named else named)


def _structure_guards(state, module, label, objects) -> list:
    """Guards that ``module`` holds the same submodules, and as many parameters and buffers
    (a layer appended to a ``ModuleList``, a ``Sequential``'s item replaced, a parameter
    registered later, each of which a loop in the forward would meet). Not for ember's
    layers without submodules other than containers, whose code never looks. ``state``
    names the module's ``__dict__`` among ``objects``."""
    children = module._modules
    if not children and _ember_layer(module) and not isinstance(module, _CONTAINER_LAYERS):
        return []
    checks = [f"len({state}['_parameters']) == {len(module._parameters)}",
              f"len({state}['_buffers']) == {len(module._buffers)}"]
    objects = dict(objects)
    if children:  # the names and modules, compared as a dict in C (modules by identity)
        checks.append(f"{state}['_modules'] == {state}_children")
        objects[f"{state}_children"] = dict(children)
    else:
        checks.append(f"not {state}['_modules']")
    return [(" and ".join(checks), objects, f"{label}'s submodules, parameters or buffers "
             "changed")]


def _method_guards(modules) -> list:
    """Guards that the classes of ``modules`` defined outside ember hold the same methods
    (``Net.forward = patched`` after the recording): each class's functions, static and
    class methods and properties, and how many names it holds. ember's classes are taken
    as constant, as its modules' tables are."""
    guards = []
    for number, klass in enumerate(_own_classes(modules)):
        # the class's ``__dict__``, a read-only view of its table that shows every later
        # change, is held: each ``klass.__dict__`` makes a new view
        name, table = f"C{number}", vars(klass)
        code = {key: value for key, value in table.items()
                if isinstance(value, (types.FunctionType, staticmethod, classmethod, property))}
        # not counting ``__slotnames__``, which ``copy`` and ``pickle`` (``copyreg``) store
        # on a class the first time they copy one of its objects (``copy.deepcopy(model)``)
        count = len(table) - ("__slotnames__" in table)
        checks = [f"len({name}) - ('__slotnames__' in {name}) == {count}"] + [
            f"{name}.get({key!r}) is {name}_{index}" for index, key in enumerate(code)]
        objects = {name: table} | {f"{name}_{index}": value
                                   for index, value in enumerate(code.values())}
        guards.append((" and ".join(checks), objects,
                       f"a method of {klass.__name__} was replaced or added"))
    return guards


def _compile_guards(guards):
    """``check()``: whether every guard holds. Compiled when first called: a call that the
    quick test (``_fast_check``) lets through never needs it."""
    check = _Deferred(*_test_source("check", "", [], guards, {}))
    check.guards = guards
    return check


def _test_source(name, parameters, tests, guards, namespace, prologue="") -> tuple:
    """(name, source, namespace) of ``name(parameters)``: after ``prologue`` (lines that
    may return early), whether ``tests`` and then ``guards``' expressions all hold. The
    guards' objects join ``namespace``."""
    for _, objects, _ in guards:
        namespace.update(objects)
    tests = tests + [f"({expression})" for expression, _, _ in guards]
    body = " and\n            ".join(tests) or "True"
    source = (f"def {name}({parameters}):\n{prologue}    try:\n        return (\n"
              f"            {body}\n        )\n"
              "    except _UNREADABLE:  # what a guard reads is gone\n        return False\n")
    namespace["_UNREADABLE"] = _UNREADABLE
    return name, source, namespace


class _Deferred:
    """A generated test, compiled when first needed. Python's ``compile`` takes a quarter
    of a millisecond for a test of a few dozen guards, and a step that replays the same
    way each time calls only the quick test (``fast``): ``check`` and ``modules_hold``
    wait until a call needs them. ``seconds`` is the time their compilation took (0 until
    then), which ``Recording.seconds`` counts."""

    def __init__(self, name, source, namespace):
        self.name, self.source, self._namespace = name, source, namespace
        self._function = None
        self.seconds = 0.0

    def function(self):
        """The compiled test, compiled on the first request."""
        if self._function is None:
            start = time.perf_counter()
            exec(compile(self.source, f"<ember.compile {self.name}>", "exec"), self._namespace)
            self._function = self._namespace[self.name]
            self._function.source = self.source
            self.seconds = time.perf_counter() - start
        return self._function

    def __call__(self, *args):
        return (self._function or self.function())(*args)


def _fast_check(key, tensors, modules, guards, changes):
    """``fast(args)``: whether a call with the positional ``args`` has this ``key`` and
    passes ``guards``, in one generated test that reads the arguments, the modes and the
    guarded objects directly rather than building the key and looking it up. None where the
    key is not of tensors alone (``tensors``, the recorded call's). ``changes`` is where
    ``state_changes`` stood when the recorded call began: if no module changed since, the
    modules' guards, written from their state now, hold, and the key's training flags too.

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
    # The modules' training flags and ``_ModuleState`` guards: tested in ``modules_again``,
    # only after ``state_changes`` moved since they last held.
    again = []
    for number, (module, training) in enumerate(zip(modules, trainings)):
        namespace[f"module{number}"] = module
        (again if _counted(module) else tests).append(f"module{number}.training is {training}")
    enabled, target, cuda_target, anomaly, default = modes
    namespace.update(target=target, cuda_target=cuda_target, default=default)
    tests.append(f"grad_state.enabled is {enabled} and autocast.target is target and "
                 f"autocast.cuda_target is cuda_target and anomaly_state.enabled is {anomaly} "
                 "and get_default_dtype() is default")
    counted = [guard for guard in guards if type(guard) is _ModuleState]
    hold = None
    if again or counted:
        hold = _Deferred(*_test_source("modules_hold", "", again, counted, dict(namespace)))
        seen = [changes if changes == state_changes[0] else None]  # when they last held
        namespace.update(state_changes=state_changes, seen=seen,
                         modules_again=_held_since(hold, seen))
        tests.insert(len(arguments), "(state_changes[0] == seen[0] or modules_again())")
        guards = [guard for guard in guards if type(guard) is not _ModuleState]
    unpack = f"    {names}, = args\n" if arguments else ""
    prologue = f"    if len(args) != {len(arguments)}:\n        return False\n{unpack}"
    fast = _Deferred(*_test_source("fast", "args", tests, guards, namespace, prologue)).function()
    fast.deferred = [hold] if hold is not None else []
    return fast


def _held_since(hold, seen):
    """``modules_again()``: whether ``hold()``, the guards on modules' own state, holds; if
    so, ``seen`` keeps where ``state_changes`` stood before the test, so that the guards
    are not tested again until it moves (a change during the test moves it past that)."""

    def modules_again() -> bool:
        now = state_changes[0]
        if not hold():
            return False
        seen[0] = now
        return True

    return modules_again


def failed_guard(recording) -> str | None:
    """What the first failing guard of ``recording`` checks, or None when all hold."""
    for expression, objects, meaning in recording.guards:
        try:
            if not eval(expression, dict(objects)):
                return meaning
        except _UNREADABLE:
            return meaning
    return None
