"""What a recording watches for Python changes that a replay would not make again: what the
names the call reaches hold (``_identity``), the random streams outside ember it can draw
from, and the hooks of its modules. A change is a graph break, so the call runs eagerly.
"""

from __future__ import annotations

import collections
import itertools
import sys
import types

from ember._backend import array_digest, is_array, outside_random_streams
from ember._compile.reach import (
    _CONTAINERS,
    _LARGEST_COMPARED,
    _MODULE_STATE,
    _NESTING,
    _SCALARS,
    _label,
    _ours,
    _plain,
    _users_module,
)
from ember._tensor import Tensor
from ember.nn.modules.module import Module
from ember.ops.random import Generator

_COLLECTIONS = (tuple, list, dict, set, frozenset, collections.deque)
# compared by identity alone: a layer's state and a Python module's names are read apart
# (``_bindings``), and ember's generators move in the draws that a replay makes again
_UNWATCHED = (Module, Generator, types.ModuleType)


class Watch:
    """The readings of one recording (``_bindings``): before the call, around each call
    that a replay runs whole and that may change Python state (an optimizer's or a
    scheduler's ``step()``: their own changes the replay makes again; not ``zero_grad()``
    or clipping, which change gradients alone) and after the call. A change between two readings
    was made by the call's own Python code, which a replay skips: a graph break. The random
    streams outside ember, which no call replayed whole draws from, are read before and
    after the call alone."""

    def __init__(self, modules, args, kwargs, reached):
        self.modules = modules
        # the arguments' labels and values; a new call with other values is another key
        self.arguments = [(f"argument {i}", value) for i, value in enumerate(args)]
        self.arguments += [(f"argument {key}", value) for key, value in kwargs.items()]
        # where the globals and closure variables that the code names live, and the names
        # it looked for there and did not find
        self.places = _places(reached.found, reached.cell_names)
        self.absent, self.cell_names = reached.absent, reached.cell_names
        self.reading, named = self.read()
        self.streams = outside_random_streams(named)
        self.broke = 0  # the breaks it made: a change of the call's own

    def read(self) -> tuple:
        """A reading (``_bindings``) of the places the walk found."""
        return _bindings(self.modules, self.places, self.arguments)

    def compare(self, tape, last=False) -> None:
        """A break on ``tape`` where something changed since the last reading; ``last``,
        after the call: also where the call made a name the walk did not find (a new
        global, a closure cell filled), and with the random streams read again."""
        if tape.breaks:  # the call runs eagerly anyway
            return
        reading, named = self.read()
        _reassigned_break(tape, self.reading, reading)
        if last:
            _made_break(tape, self.absent, self.cell_names)
            _drawn_break(tape, self.streams, outside_random_streams(named))
        self.broke = len(tape.breaks)

    def read_again(self, tape) -> None:
        """A new reading, after a call that a replay runs whole."""
        if not tape.breaks:
            self.reading = self.read()[0]


def _bindings(modules, places, arguments) -> tuple:
    """What each name the call can reach holds: (bindings, their labels and values).

    The bindings are each module's parameters, buffers, submodules and other attributes,
    the globals and closure variables at ``places`` (``_places``) and the call's
    ``arguments`` ((label, value) pairs), as ``_identity`` reads them, with a label for
    each; the (label, value) pairs are for ``outside_random_streams``."""
    state = {}
    named = [(("argument", label), label, value) for label, value in arguments]
    for module in modules:
        label = type(module).__name__
        for registry in ("_parameters", "_buffers", "_modules"):
            for key, value in getattr(module, registry).items():
                state[id(module), registry, key] = (
                    f"{label}.{key}", _identity(value, _NESTING, [_LARGEST_COMPARED]))
        named += [((id(module), "", key), f"{label}.{key}", value)
                  for key, value in module.__dict__.items() if key not in _MODULE_STATE]
    named += [((id(namespace), "", key), label, _value_at(namespace, key))
              for namespace, key, label in places]
    for place, label, value in named:
        state[place] = (label, _identity(value, _NESTING, [_LARGEST_COMPARED]))
    return state, [(label, value) for _, label, value in named]


def _places(found, cell_names) -> list:
    """(namespace, name, label) of each global and closure variable (a cell, name None)
    that the code names (``found`` by ``Reached``), outside ember's own tables
    and caches, which are no user's state."""
    return [(namespace, key, _label(namespace, key, cell_names))
            for namespace, key, _ in found if not _ours(namespace)]


_GONE = object()  # what ``_value_at`` reads of a name deleted or a cell emptied


def _value_at(namespace, key):
    """The value of global ``key`` in ``namespace``, or of the cell ``namespace``."""
    if key is not None:
        return namespace.get(key, _GONE)
    try:
        return namespace.cell_contents
    except ValueError:  # an empty cell
        return _GONE


def _identity(value, depth, budget):
    """What a binding holds, for telling whether the call changed it, ``depth`` levels of
    containers and objects down and ``budget[0]`` values at most:
    - a number or string by type and value (a float by its ``repr``, where a NaN equals
      itself);
    - a tuple, list or dict of plain data by identity and ``repr`` (``stats["steps"] += 1``);
    - a NumPy array by identity and contents (``array_digest``);
    - another tuple, list, dict, set or deque by identity, length and what its items hold
      (an object in a list whose attribute changes);
    - a tensor by identity and the attributes a user set on it (ember's own are slots);
    - a generator by its place in its code and its locals, another iterator by what its
      ``__reduce__`` says (the position of a list's iterator, ``itertools.count``'s next
      number); one that says nothing is ``_Unread``, which no reading equals;
    - a function by identity and its attributes (``helper.calls += 1``), a class of the
      user's by identity and the data in its body (``Counter.total += 1``);
    - any other object with a ``__dict__``, the user's, a library's or ember's (an
      optimizer's ``param_groups``, a dataset's ``epoch``), by identity and attributes;
    - a module, a random generator of ember's or an object without attributes by
      identity alone."""
    kind = type(value)
    if kind in _SCALARS:
        return repr(value) if kind is float else (kind, value)
    if isinstance(value, Tensor) and not value.__dict__:  # the common case, first
        return id(value)
    budget[0] -= 1
    if kind in _CONTAINERS and _plain(value):
        return id(value), repr(value)
    if is_array(value):
        return id(value), array_digest(value)
    if depth <= 0 or budget[0] <= 0 or isinstance(value, _UNWATCHED):
        return (id(value), len(value)) if isinstance(value, _COLLECTIONS) else id(value)
    depth -= 1
    if isinstance(value, dict):
        return id(value), len(value), tuple([
            (_identity(key, 0, budget), _identity(item, depth, budget))
            for key, item in itertools.islice(value.items(), budget[0])])
    if isinstance(value, _COLLECTIONS):
        return id(value), len(value), tuple([
            _identity(item, depth, budget) for item in itertools.islice(value, budget[0])])
    if isinstance(value, types.GeneratorType):
        frame = value.gi_frame  # None once it has finished
        return id(value), frame and (frame.f_lasti, _attributes(frame.f_locals, depth, budget))
    if isinstance(value, type):
        return id(value), _attributes(_class_body(value), depth, budget)
    if hasattr(kind, "__next__"):
        try:
            return id(value), _made_for_reading(value.__reduce__(), depth, budget)
        except Exception:  # an iterator that cannot say where it stands
            return id(value), _Unread()
    attributes = getattr(value, "__dict__", None)  # a tensor's is not empty here
    if type(attributes) is dict:
        return id(value), _attributes(attributes, depth, budget,
                                      kind.__module__.startswith("ember."))
    return id(value)


def _made_for_reading(value, depth, budget):
    """What ``_identity`` reads of what ``__reduce__`` returns: tuples made anew for each
    reading by their items, without their identities, and what they hold as usual."""
    if type(value) is tuple:
        return tuple([_made_for_reading(item, depth, budget) for item in value])
    return _identity(value, depth, budget)


def _attributes(attributes, depth, budget, embers=False) -> tuple:
    """What ``_identity`` reads of an object's or a class's attributes: of an object of
    one of ember's own classes (``embers``), those that a user may set (an optimizer's
    ``param_groups``, a new ``count``), not the private ones that its methods keep."""
    if len(attributes) > budget[0]:
        return len(attributes)
    return tuple([(key, _identity(item, depth, budget)) for key, item in attributes.items()
                  if not (embers and key.startswith("_"))])


def _class_body(klass) -> dict:
    """The data in the body of a class of the user's (settings, counters), as attributes:
    none for a class of ember's, the standard library's or a package's."""
    if not _users_module(sys.modules.get(klass.__module__)):
        return {}
    return {key: value for key, value in vars(klass).items()
            if not key.startswith("__") and (type(value) in _SCALARS or isinstance(
                value, _COLLECTIONS) or is_array(value))}


class _Unread:
    """What ``_identity`` takes an iterator to hold whose position it cannot read (a file,
    a socket): equal to nothing, so that a recording that reaches one breaks."""

    def __eq__(self, other) -> bool:
        return False

    __hash__ = None


def _unread(reading) -> bool:
    """Whether a reading of ``_identity`` holds an ``_Unread``."""
    if isinstance(reading, _Unread):
        return True
    return type(reading) is tuple and any(_unread(item) for item in reading)


def _reassigned_break(tape, before: dict, after: dict) -> None:
    """A break where the call bound a module's attribute, buffer or parameter, or a global
    or closure variable, to another value (``self.avg = self.avg * 0.9 + ...``, ``count
    += 1``) or changed what it holds (``_identity``): Python's own work, which a replay
    would not do again."""
    for place in before.keys() | after.keys():
        if before.get(place) != after.get(place):
            label, reading = before.get(place) or after.get(place)
            if _unread(reading):
                tape.graph_break(f"{label} holds an iterator or file whose position ember "
                                 "cannot read, which the call may move and a replay would not")
            else:
                tape.graph_break(f"{label} was assigned or changed inside the compiled call")
            return


def _made_break(tape, absent, cell_names) -> None:
    """A break where the call made a name that the walk before it looked for and did not
    find (``Reached.absent``): a global or an attribute assigned for the first time, an
    empty closure cell filled. What the code reaches through it the walk never saw."""
    if tape.breaks:
        return
    for namespace, key in absent:
        if _value_at(namespace, key) is not _GONE:
            tape.graph_break(f"{_label(namespace, key, cell_names)} was assigned or changed "
                             "inside the compiled call")
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
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or module._backward_pre_hooks)
