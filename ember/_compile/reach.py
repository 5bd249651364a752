"""What a compiled call can reach: the globals and closure variables its code names, the
functions it reaches through them, the modules it is or names and their own classes'
methods, the tensors they hold; and which of those values are plain data.

The recording reads these before and after the call (``watch.py``) and the guards check
them on each later call (``guards.py``).
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import types

from ember._tensor import Tensor
from ember.autograd.function import Function
from ember.nn.modules.module import Module

_SCALARS = (bool, int, float, str, type(None))
_CONTAINERS = (tuple, list, dict)
# objects whose attributes a guard does not compare: code, classes, modules, tensors
_OPAQUE = (type, types.ModuleType, types.FunctionType, types.MethodType,
           types.BuiltinFunctionType, Module, Tensor)
_MODULE_STATE = frozenset(vars(Module()))  # a module's own bookkeeping, guarded apart
_LARGEST_COMPARED = 10_000  # values in a container a guard compares (see ``_plain``)
# where the standard library and installed packages live (see ``_users_module``)
_LIBRARY_PATHS = tuple({os.path.abspath(path) for key, path in sysconfig.get_paths().items()
                        if key in ("stdlib", "platstdlib", "purelib", "platlib")})
_NESTING = 3  # objects in objects whose attributes a guard compares (see ``_simple``)


def _code_names(code) -> set:
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= _code_names(constant)
    return names


class Reached:
    """What a call reaches, in one walk: ``found``, (namespace, name, value) for the
    globals the function names and its closure cells (the cell as namespace, None as name;
    ``cell_names`` has each cell's variable name by the cell's id), and those of the Python
    functions it reaches through them (a ``compute_loss`` helper) or through the modules it
    is or names (their classes' ``forward`` and helpers); ``walked``, each Python function
    whose code was read.

    A recording walks once before the call: the function first, which finds the modules it
    names (``modules``), then the modules that the call reaches besides (``add``: those it
    gets as arguments). The captured tensors, the watch's first reading and the guards share
    that walk. A call that changed what the walk found breaks (``Watch.compare``), and so
    does one that made a name the walk looked for and did not find (``absent``: a global
    that the call assigns for the first time, a closure cell it fills), so the guards may be
    written from it."""

    def __init__(self, function, modules=()):
        self.function = function
        self.found, self.cell_names, self.walked = [], {}, []
        # (namespace, name) of each name the code names that a namespace of the user's
        # did not hold (most are attributes' and builtins' names), and (cell, None) of
        # each empty closure cell
        self.absent = []
        self._seen = set()  # the ids of the functions, objects and classes followed
        pending = [function]
        for owner in (function, getattr(function, "__self__", None)):
            if isinstance(owner, Module):
                pending += _methods(owner)
        attributes = _attributes_read(function, self.absent)
        self.found += attributes
        for _, _, value in attributes:
            if isinstance(value, Module):
                pending += _methods(value)
        self._follow(pending)
        self.add(modules)

    def modules(self) -> list:
        """The modules the call reaches by itself: a bound module's, and those it names,
        with their submodules, each once."""
        roots = []
        owner = getattr(self.function, "__self__", None)
        if isinstance(owner, Module):
            roots.append(owner)
        if isinstance(self.function, Module):
            roots.append(self.function)
        roots += [value for _, _, value in self.found if isinstance(value, Module)]
        seen = {}
        for root in roots:
            for module in root.modules():
                seen.setdefault(id(module), module)
        return list(seen.values())

    def add(self, modules) -> None:
        """Walk on from ``modules``' own methods and the helpers they hold (a custom
        Function, ``self.rotary``), where the walk has not been."""
        pending = _after_init(_own_functions(modules))
        for module in modules:
            for value in _held(module):
                pending += _code_behind(value, self._seen)
        self._follow(pending)

    def _follow(self, pending) -> None:
        found, seen = self.found, self._seen
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
            self.walked.append(target)
            namespace, names = target.__globals__, sorted(_code_names(code))
            values = _looked_up(namespace, names, self.absent)
            for name, cell in zip(code.co_freevars, target.__closure__ or ()):
                self.cell_names[id(cell)] = name
                try:
                    values.append((cell, None, cell.cell_contents))
                except ValueError:  # an empty cell
                    self.absent.append((cell, None))
            while values:
                entry = values.pop(0)
                found.append(entry)
                value = entry[2]
                if isinstance(value, types.ModuleType) and _users_module(value) and \
                        id(value) not in seen:  # ``config.LR``, ``utils.helper``: as globals
                    seen.add(id(value))
                    values += _looked_up(vars(value), names, self.absent)
                else:
                    pending += _code_behind(value, seen)


def _looked_up(namespace, names, absent) -> list:
    """(namespace, name, value) of each of ``names`` that ``namespace`` holds; the others
    join ``absent`` where the namespace is the user's (ember's own tables do not change)."""
    found, missing = [], []
    for name in names:
        if name in namespace:
            found.append((namespace, name, namespace[name]))
        else:
            missing.append(name)
    if missing and not _ours(namespace):
        absent += [(namespace, name) for name in missing]
    return found


def _code_behind(value, seen) -> list:
    """The functions that calling ``value`` or its methods runs, for a value a compiled
    call names: a function, a module's or a custom ``Function``'s methods, a user's helper
    object's (``scaler.apply(x)``) or class's (``Ops.scale(x)``), and those of the
    functions and helpers in a tuple, list or dict (``ACTIVATIONS["gelu"]``) or that a
    layer or a helper holds and its methods name (``self.rotary``), ``_NESTING`` deep.
    ``seen`` holds the ids of the objects, classes and containers already followed."""
    found, pending = [], [(value, 0)]
    while pending:
        value, depth = pending.pop()
        if type(value) in _SCALARS:
            continue
        if isinstance(value, (types.FunctionType, functools.partial)):
            found.append(value)
        elif isinstance(value, Module):
            found += _methods(value)
            if id(value) not in seen:  # the helpers its layers hold (``self.rotary``)
                seen.add(id(value))
                pending += [(item, depth + 1) for module in value.modules()
                            for item in _held(module)]
        elif _custom_function(value) and id(value) not in seen:
            seen.add(id(value))
            found += _function_methods(value)
        elif isinstance(value, type) and _users_class(value) and id(value) not in seen:
            seen.add(id(value))  # a class of helpers (``Ops.scale(x)``, static or class methods)
            found += _users_methods(value)
        elif _users_object(value) and id(value) not in seen:
            seen.add(id(value))
            if id(type(value)) not in seen:
                seen.add(id(type(value)))
                found += _after_init(_users_methods(type(value)))
            if depth < _NESTING:  # the helpers it holds (``self.inner.apply(x)``)
                pending += [(item, depth + 1) for item in _held(value)]
        elif type(value) in _CONTAINERS and depth < _NESTING and id(value) not in seen \
                and len(value) <= _LARGEST_COMPARED:
            seen.add(id(value))
            items = value.values() if type(value) is dict else value
            pending += [(item, depth + 1) for item in items]
    return found


def _held(owner) -> list:
    """The attribute values of a module (its own state apart) or of a helper object that
    may hold code to follow (functions, helpers and the containers of them), of those
    attributes that the methods of its own classes name (all where they call ``getattr``):
    a logger or a dataset that a layer keeps and its code never reads adds no guard."""
    attributes = getattr(owner, "__dict__", None)
    if type(attributes) is not dict:
        return []
    named = set()
    for function in _after_init(_own_functions([owner])):
        named |= _code_names(function.__code__)
    return [value for key, value in attributes.items()
            if (key in named or "getattr" in named) and key not in _MODULE_STATE
            and type(value) not in _SCALARS and not isinstance(value, (Tensor, Module))]


def _label(namespace, key, cell_names) -> str:
    """How a message names a global (its name) or a closure cell (its variable's name,
    from ``Reached.cell_names``)."""
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


def _users_class(klass) -> bool:
    """Whether ``klass`` is defined in the user's own code (``_users_module``, or the
    script or notebook that runs as ``__main__``)."""
    name = getattr(klass, "__module__", None)
    if name == "__main__":
        return True
    module = sys.modules.get(name) if isinstance(name, str) else None
    return module is not None and _users_module(module)


def _users_object(value) -> bool:
    """Whether ``value`` is an instance of a user's class other than a module's, a custom
    ``Function``'s or a tensor's (which are followed or read apart)."""
    return not isinstance(value, _OPAQUE) and _users_class(type(value))


def _attributes_read(method, absent) -> list:
    """(its ``__dict__``, name, value) for the attributes that a method of a plain object
    names (a trainer's ``self.model``, ``self.scale``), as for a global; the names it does
    not hold join ``absent``."""
    owner = getattr(method, "__self__", None)
    code = getattr(getattr(method, "__func__", None), "__code__", None)
    if code is None or isinstance(owner, _OPAQUE) or type(getattr(owner, "__dict__", None)) \
            is not dict:
        return []
    return _looked_up(vars(owner), sorted(_code_names(code)), absent)


def _names_read(function, modules, walked) -> set:
    """The names that the compiled function, the functions it reaches (``walked``, from
    ``Reached.walked``: helpers, the methods of its helper objects) and the methods of
    its modules' own classes (other than ``__init__``, which ran before) name: the
    attributes that its code may read."""
    functions = [getattr(function, "__func__", function)] + list(walked)
    functions += _own_functions(modules)
    names = set()
    for item in _after_init(functions):
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
    ember but ``__init__``: a user's ``forward`` and its helpers, whose globals a replay
    depends on too."""
    return _after_init(_own_functions(module.modules()))


def _after_init(functions) -> list:
    """``functions`` but the ``__init__`` of an object that exists already: it ran before
    the call, and what it names (a logger's class) is no business of a replay's."""
    return [function for function in functions
            if getattr(function, "__name__", None) != "__init__"]


def _own_functions(modules) -> list:
    """The functions that the classes of ``modules`` define outside ember, each class once
    (a model's many blocks share theirs)."""
    return _class_functions(_own_classes(modules))


def _class_functions(classes) -> list:
    """The functions that ``classes`` define: methods, static and class methods, and what
    reading a property runs."""
    found = []
    for klass in classes:
        for value in vars(klass).values():
            value = getattr(value, "__func__", value)  # a static or class method
            value = getattr(value, "fget", value)  # a property: what reading it runs
            if isinstance(value, types.FunctionType):
                found.append(value)
    return found


def _custom_function(value) -> bool:
    """Whether ``value`` is a custom ``autograd.Function``: a replay runs its ops as its
    forward ran them when recorded, so what that forward reads is guarded too."""
    return isinstance(value, type) and issubclass(value, Function) and _outside_ember(value)


def _users_methods(klass) -> list:
    """The functions that ``klass`` and its bases of the user's own code define."""
    return _class_functions([k for k in klass.__mro__ if _users_class(k)])


def _function_methods(function) -> list:
    """The methods of a custom ``Function`` and of its bases outside ember."""
    return _class_functions([klass for klass in function.__mro__ if _outside_ember(klass)])


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


def forward_owner(function):
    """The module whose own ``forward`` ``function`` is (``Module.compile()`` compiles it),
    or None: that module's hooks run around the compiled call, not in it."""
    owner = getattr(function, "__self__", None)
    if isinstance(owner, Module) and getattr(function, "__name__", None) == "forward":
        return owner
    return None


def modules_of(function) -> list:
    """The modules a compiled function can reach: a bound module's, and those it names."""
    return Reached(function).modules()


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


def _captured_tensors(modules, reached) -> dict:
    """The tensors that the call can read without taking them as arguments: the modules'
    parameters, buffers and tensor attributes, and the tensors among the globals and
    closure variables it reaches (``reached``, a ``Reached``)."""
    captured = {}
    for module in modules:
        for value in module.__dict__.values():
            if isinstance(value, Tensor):
                captured[id(value)] = value
        for registry in (module._parameters, module._buffers):
            for value in registry.values():
                if value is not None:
                    captured[id(value)] = value
    for _, _, value in reached.found:
        if isinstance(value, Tensor):
            captured[id(value)] = value
    return captured


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
