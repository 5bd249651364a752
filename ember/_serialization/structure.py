"""The object around the tensors in ember's safetensors checkpoints, as JSON.

Tensors become ``{"__tensor__": name}`` references into the file's tensors (NumPy arrays
``{"__ndarray__": name}``), tuples ``{"__tuple__": [...]}``, dicts with keys other than
plain strings ``{"__dict__": [[key, value], ...]}``, non-finite floats ``{"__float__":
"inf"}``, dtypes ``{"__dtype__": "float32"}`` and a state dict with its ``_metadata`` (the
versions of its modules' formats) ``{"__state_dict__": {...}, "__metadata__": {...}}``, which
loads as an ``OrderedDict`` with that attribute. Decoding accepts only these forms.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict

from ember._backend import to_host, xp
from ember._dtype import _BY_NAME, dtype as dtype_cls
from ember._serialization.common import Corrupt
from ember._tensor import Tensor
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter

FORMAT_KEY = "ember.structure"
FORMAT_VERSION = 1


def describe_refusal(value, path: str) -> str:
    """save's message for an object no checkpoint can hold."""
    where = path or "the top level"
    if isinstance(value, Module):
        return (
            f"ember.save: cannot store the module {type(value).__name__} at {where}; save its "
            "state_dict() instead (model.state_dict()) and load it into a new model with "
            "load_state_dict (ember never pickles arbitrary objects)"
        )
    return (
        f"ember.save: cannot store {type(value).__name__} at {where}; checkpoints hold "
        "tensors, NumPy arrays, numbers, strings, bools, None and dicts, lists and tuples of "
        "them (ember never pickles arbitrary objects)"
    )


def is_plain_array(value) -> bool:
    """A NumPy array of a dtype a checkpoint can hold (no objects, no structured records)."""
    return type(value) is xp.ndarray and value.dtype.kind in "biuf" and not value.dtype.fields


class Encoder:
    """Turns an object into JSON-able structure plus a dict of named arrays."""

    def __init__(self):
        self.arrays: dict = {}
        self._names: dict = {}

    def encode_document(self, obj) -> str:
        # allow_nan=False: the loader refuses NaN, so one that slipped through must fail here.
        document = {"version": FORMAT_VERSION, "object": self.encode(obj, "")}
        return json.dumps(document, allow_nan=False)

    def encode(self, value, path: str):
        if isinstance(value, Tensor):
            return self._tensor(value)
        if value is None or isinstance(value, (bool, str, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, dict) and isinstance(getattr(value, "_metadata", None), dict):
            return {"__state_dict__": self.encode(dict(value), path),
                    "__metadata__": self.encode(dict(value._metadata), f"{path}._metadata")}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{path}.{k}") for k, v in value.items()}
            return {
                "__dict__": [
                    [self._key(k, path), self.encode(v, f"{path}[{k!r}]")] for k, v in value.items()
                ]
            }
        if is_plain_array(value):
            return {"__ndarray__": self._name(value, value)}
        if isinstance(value, dtype_cls):
            return {"__dtype__": value.name}
        raise TypeError(describe_refusal(value, path))

    def _key(self, key, path):
        if isinstance(key, float):
            return self.encode(key, path)  # inf and nan keys need the same escape as values
        if isinstance(key, (str, int, bool)) or key is None:
            return key
        raise TypeError(f"ember.save: dict key {key!r} at {path} must be a str, int, float or bool")

    def _name(self, owner, array) -> str:
        name = self._names.get(id(owner))
        if name is None:
            name = f"t{len(self._names)}"
            self._names[id(owner)] = name
            self.arrays[name] = array
        return name

    def _tensor(self, tensor: Tensor) -> dict:
        # A CUDA tensor is written from a host copy: the file is the one its CPU copy makes.
        reference = {"__tensor__": self._name(tensor, to_host(tensor._data))}
        if tensor.requires_grad:
            reference["requires_grad"] = True
        if isinstance(tensor, Parameter):
            reference["parameter"] = True
        return reference


def parse_json(text: str, what: str):
    """Strict JSON: no duplicate keys, no NaN or Infinity, no unbounded nesting."""
    try:
        return json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except RecursionError:
        raise Corrupt(f"the {what} is nested deeper than Python's recursion limit") from None
    except ValueError as error:
        raise Corrupt(f"the {what} is not valid JSON ({error})") from None


def _refuse_duplicates(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {duplicate!r} appears more than once")
    return result


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def decode_structure(text: str, arrays: dict, relocate, source: str):
    """Rebuild the saved object from the metadata's JSON and the file's arrays."""
    try:
        document = parse_json(text, "structure in the metadata")
        if not isinstance(document, dict) or set(document) != {"version", "object"}:
            raise Corrupt("the structure in the metadata must be an object with version and object")
        if document["version"] != FORMAT_VERSION:
            raise Corrupt(
                f"the structure has format version {document['version']!r}; this ember reads "
                f"version {FORMAT_VERSION}"
            )
        decoder = _Decoder(arrays, relocate)
        result = decoder.decode(document["object"])
        unused = sorted(set(arrays) - decoder.used)
        if unused:
            raise Corrupt(f"the header has tensors the structure never refers to: {unused[:5]}")
        return result
    except RecursionError:
        error = Corrupt(
            "the structure in the metadata is nested deeper than Python's recursion limit"
        )
    except Corrupt as corrupt:
        error = corrupt
    raise RuntimeError(f"ember.load: {source}: {error}") from None


class _Decoder:
    """Rebuilds the saved object from its JSON structure; only known forms are accepted."""

    def __init__(self, arrays: dict, relocate):
        self.arrays = arrays
        self.relocate = relocate
        self.used: set = set()
        self.objects: dict = {}

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict):
            return node  # None, bool, int, float or str: what json itself produces
        keys = set(node)
        if "__tensor__" in keys and keys <= {"__tensor__", "requires_grad", "parameter"}:
            return self._tensor(node)
        if keys == {"__ndarray__"}:
            array = self._shared(node["__ndarray__"], lambda name: self.arrays[name])
            if isinstance(array, Tensor):
                raise Corrupt(
                    f"the structure uses {node['__ndarray__']!r} as a tensor and an array"
                )
            return array
        if keys == {"__tuple__"} and isinstance(node["__tuple__"], list):
            return tuple(self.decode(item) for item in node["__tuple__"])
        if keys == {"__float__"} and node["__float__"] in ("inf", "-inf", "nan"):
            return float(node["__float__"])
        if keys == {"__dict__"} and isinstance(node["__dict__"], list):
            return dict(self._item(pair) for pair in node["__dict__"])
        if keys == {"__dtype__"}:
            return self._dtype(node["__dtype__"])
        if keys == {"__state_dict__", "__metadata__"}:
            return self._state_dict(node)
        if any(key.startswith("__") for key in keys):
            raise Corrupt(f"the structure has an unknown entry with keys {sorted(keys)[:5]}")
        return {key: self.decode(value) for key, value in node.items()}

    def _item(self, pair) -> tuple:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise Corrupt(f"a dict item in the structure is {pair!r:.60}, expected [key, value]")
        key, value = pair
        if isinstance(key, dict) and set(key) == {"__float__"}:
            key = self.decode(key)
        if not (key is None or isinstance(key, (str, int, float, bool))):
            raise Corrupt(f"a dict key in the structure is {key!r:.60}, expected a str or number")
        return key, self.decode(value)

    def _state_dict(self, node: dict) -> OrderedDict:
        items, metadata = self.decode(node["__state_dict__"]), self.decode(node["__metadata__"])
        if not (isinstance(items, dict) and isinstance(metadata, dict)):
            raise Corrupt("a state dict in the structure must hold a dict and its metadata")
        state_dict = OrderedDict(items)
        state_dict._metadata = OrderedDict(metadata)
        return state_dict

    def _dtype(self, name):
        if not isinstance(name, str) or name not in _BY_NAME:
            raise Corrupt(f"the structure names an unknown dtype {name!r:.60}")
        return _BY_NAME[name]

    def _shared(self, name, build):
        """One object per saved name, so a tensor saved twice loads as one, as in PyTorch."""
        if not isinstance(name, str) or name not in self.arrays:
            raise Corrupt(f"the structure refers to tensor {name!r:.60}, which the header lacks")
        self.used.add(name)
        if name not in self.objects:
            self.objects[name] = build(name)
        return self.objects[name]

    def _tensor(self, node: dict) -> Tensor:
        name = node["__tensor__"]
        flags = {key: node.get(key, False) for key in ("requires_grad", "parameter")}
        if not all(isinstance(flag, bool) for flag in flags.values()):
            raise Corrupt(f"tensor {name!r:.60}'s flags in the structure must be true or false")
        tensor = self._shared(name, lambda name: self._restore(name, flags))
        if not isinstance(tensor, Tensor):
            raise Corrupt(f"the structure uses {name!r:.60} as a tensor and an array")
        return tensor

    def _restore(self, name: str, flags: dict) -> Tensor:
        tensor = self.relocate(Tensor._make(self.arrays[name]))
        if flags["requires_grad"] and not tensor.is_floating_point():
            raise Corrupt(f"tensor {name!r} of dtype {tensor.dtype} cannot require grad")
        if flags["parameter"]:
            return Parameter(tensor, flags["requires_grad"])
        return tensor.requires_grad_() if flags["requires_grad"] else tensor
