"""An unpickler that can only build what PyTorch's ``weights_only=True`` loader builds.

The pickle in a ``torch.save`` archive may name any global and call it. This unpickler
looks every global up in a fixed table of stand-ins (``allowed``, given by the caller) or
in the user's allowlist (``add_safe_globals``), and otherwise refuses it with PyTorch's
message, before anything is called. Only the opcodes PyTorch's loader knows run; calls
(REDUCE), object creation (NEWOBJ) and state updates (BUILD) go only to allowlisted
objects, appends only to lists and item assignment only to dicts, so no file can run code.
"""

from __future__ import annotations

import pickle
from collections import Counter, OrderedDict

from ember._serialization.common import Corrupt

# Modules never loaded, even when the user allowlists something from them (as PyTorch).
_BLOCKED_MODULES = ("sys", "os", "posix", "nt")
# Builtins that run code or reach outside the file: refused even when allowlisted (PyTorch
# would call them), since no checkpoint needs them.
_NEVER_ALLOWED = frozenset(
    f"builtins.{name}"
    for name in [
        "exec",
        "eval",
        "compile",
        "__import__",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "globals",
        "locals",
        "vars",
        "breakpoint",
        "input",
        "exit",
        "quit",
        "help",
        "memoryview",
    ]
)
_OLD_MODULE_NAMES = {"__builtin__": "builtins", "copy_reg": "copyreg", "Queue": "queue"}
_OPCODES = [
    "GLOBAL",
    "NEWOBJ",
    "REDUCE",
    "BUILD",
    "APPEND",
    "APPENDS",
    "SETITEM",
    "SETITEMS",
    "MARK",
    "TUPLE",
    "TUPLE1",
    "TUPLE2",
    "TUPLE3",
    "NONE",
    "NEWFALSE",
    "NEWTRUE",
    "EMPTY_TUPLE",
    "EMPTY_LIST",
    "EMPTY_DICT",
    "EMPTY_SET",
    "BININT",
    "BININT1",
    "BININT2",
    "BINFLOAT",
    "BINUNICODE",
    "SHORT_BINSTRING",
    "BINPERSID",
    "BINGET",
    "LONG_BINGET",
    "BINPUT",
    "LONG_BINPUT",
    "LONG1",
    "PROTO",
    "STOP",
]

_safe_globals: list = []


# ---------------------------------------------------------------------------------------
# The user's allowlist
# ---------------------------------------------------------------------------------------


def add_safe_globals(safe_globals: list) -> None:
    for entry in safe_globals:
        if entry not in _safe_globals:
            _safe_globals.append(entry)


def remove_safe_globals(safe_globals: list) -> None:
    _safe_globals[:] = [entry for entry in _safe_globals if entry not in safe_globals]


def get_safe_globals() -> list:
    return list(_safe_globals)


def clear_safe_globals() -> None:
    _safe_globals.clear()


def user_allowed_globals() -> dict:
    """The allowlist by the name a pickle gives: ``module.qualname``, or the name given."""
    allowed = {}
    for entry in _safe_globals:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError(
                    "Expected tuple of length 2 (global, str of callable full path), but got "
                    f"tuple of length: {len(entry)}"
                )
            if type(entry[1]) is not str:
                raise TypeError(
                    "Expected second item in tuple to be str of callable full path, but got: "
                    f"{type(entry[1])}"
                )
            allowed[entry[1]] = entry[0]
        else:
            allowed[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return allowed


def refused_message(message: str) -> str:
    """PyTorch's "Weights only load failed" text, saying why weights_only=False cannot help."""
    preface = (
        "Weights only load failed. ember loads only what PyTorch's weights_only=True loader "
        "accepts (weights_only=False is not supported): it never unpickles arbitrary objects, "
        "because unpickling can run any code in the file."
    )
    if "was not an allowed global by default" in message:
        return (
            f"{preface} Allowlist a global only if you trust the source of the checkpoint."
            f"\n\tWeightsUnpickler error: {message}"
        )
    return f"{preface}\n\n{message}"


# ---------------------------------------------------------------------------------------
# The unpickler
# ---------------------------------------------------------------------------------------


class _Opcodes(dict):
    def __missing__(self, code):
        raise pickle.UnpicklingError(f"Unsupported operand {code}")


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickles ``file`` building only ``allowed`` stand-ins and allowlisted user globals.

    ``unsupported`` maps names PyTorch allows but ember cannot rebuild to why not;
    ``storage`` is called with each persistent id ``('storage', type, key, location, numel)``.
    """

    def __init__(self, file, allowed: dict, unsupported: dict, storage):
        super().__init__(file, encoding="ASCII")
        self._allowed = allowed
        self._unsupported = unsupported
        self._storage = storage
        self._user = user_allowed_globals()
        self._callable_ids = {id(value) for value in (*allowed.values(), *self._user.values())}

    def find_class(self, module: str, name: str):
        module = _OLD_MODULE_NAMES.get(module, module)
        full_name = f"{module}.{name}"
        if module in _BLOCKED_MODULES:
            raise pickle.UnpicklingError(
                f"Trying to load unsupported GLOBAL {full_name} whose module {module} is blocked."
            )
        if full_name in self._allowed:
            return self._allowed[full_name]
        if full_name in self._user and full_name in _NEVER_ALLOWED:
            raise pickle.UnpicklingError(
                f"Trying to load GLOBAL {full_name}, which ember never calls, even when "
                "allowlisted: it runs code or reaches outside the checkpoint."
            )
        if full_name in self._user:
            return self._user[full_name]
        if full_name in self._unsupported:
            raise Corrupt(f"the checkpoint holds {full_name}: {self._unsupported[full_name]}")
        full_name = full_name.removeprefix("builtins.")
        raise pickle.UnpicklingError(
            f"Unsupported global: GLOBAL {full_name} was not an allowed global by default. "
            f"Please use `torch.serialization.add_safe_globals([{full_name}])` or the "
            f"`torch.serialization.safe_globals([{full_name}])` context manager to allowlist "
            "this global if you trust this class/function."
        )

    def persistent_load(self, pid):
        if type(pid) is not tuple or not pid or pid[0] not in ("storage", b"storage"):
            raise pickle.UnpicklingError(
                f"Only persistent_load of storage is allowed, but got {pid!r:.80}"
            )
        return self._storage(pid)

    def _is_allowed(self, value) -> bool:
        return id(value) in self._callable_ids

    def _reduce(self):
        args = self.stack.pop()
        function = self.stack[-1]
        if not self._is_allowed(function):
            raise pickle.UnpicklingError(
                f"Trying to call reduce for unrecognized function {function!r:.80}"
            )
        if type(args) is not tuple:
            raise pickle.UnpicklingError(f"REDUCE needs a tuple of arguments, got {type(args)}")
        self.stack[-1] = function(*args)

    def _new_object(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        if not (isinstance(cls, type) and self._is_allowed(cls) and type(args) is tuple):
            raise pickle.UnpicklingError(
                "Can only create new object for nn.Parameter or classes allowlisted via "
                f"`add_safe_globals` but got {cls!r:.80}"
            )
        self.append(cls.__new__(cls, *args))

    def _build(self):
        state = self.stack.pop()
        instance = self.stack[-1]
        kind = type(instance)
        if kind is OrderedDict and type(state) is dict:
            instance.__dict__.update(state)
        elif kind in self._user.values():
            _set_state(instance, state)
        else:
            raise pickle.UnpicklingError(
                "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
                f"`add_safe_globals`, but got {kind}"
            )

    def _append(self):
        item = self.stack.pop()
        self._target(list, "append to lists").append(item)

    def _appends(self):
        items = self.pop_mark()
        self._target(list, "extend lists").extend(items)

    def _setitem(self):
        value = self.stack.pop()
        key = self.stack.pop()
        self._target((dict, OrderedDict, Counter), "SETITEM for dict")[key] = value

    def _setitems(self):
        items = self.pop_mark()
        target = self._target((dict, OrderedDict, Counter), "SETITEMS for dict")
        if len(items) % 2:
            raise pickle.UnpicklingError("SETITEMS needs keys and values in pairs")
        for index in range(0, len(items), 2):
            target[items[index]] = items[index + 1]

    def _target(self, kinds, what: str):
        target = self.stack[-1]
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if type(target) not in kinds:
            raise pickle.UnpicklingError(f"Can only {what}, but got {type(target)}")
        return target

    dispatch = _Opcodes(
        {
            getattr(pickle, name)[0]: pickle._Unpickler.dispatch[getattr(pickle, name)[0]]
            for name in _OPCODES
        }
    )
    dispatch.update(
        {
            pickle.REDUCE[0]: _reduce,
            pickle.NEWOBJ[0]: _new_object,
            pickle.BUILD[0]: _build,
            pickle.APPEND[0]: _append,
            pickle.APPENDS[0]: _appends,
            pickle.SETITEM[0]: _setitem,
            pickle.SETITEMS[0]: _setitems,
        }
    )


def _set_state(instance, state) -> None:
    """What pickle's BUILD does, for an instance of a class the user allowlisted."""
    if hasattr(instance, "__setstate__"):
        instance.__setstate__(state)
        return
    slot_state = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slot_state = state
    if state:
        instance.__dict__.update(state)
    if slot_state:
        for name, value in slot_state.items():
            setattr(instance, name, value)
