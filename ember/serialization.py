"""``ember.save`` and ``ember.load``: checkpoints that can never run code.

The file is a safetensors file (the ``safetensors`` package). Its tensors are the
tensors of the object; the object's structure — nested dicts, lists and tuples of
tensors, numbers, strings, bools and None — is JSON in the file's metadata, with each
tensor replaced by a reference to its key. Loading parses JSON and copies arrays;
nothing is unpickled, so a file cannot execute anything.

A plain ``.safetensors`` file written by any tool (PyTorch's included) loads as a dict
of tensors, ready for ``model.load_state_dict``.
"""

from __future__ import annotations

import json
import math
import os
import struct

from ember._tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_KEY = "ember.structure"
_FORMAT_VERSION = 1
_DTYPE_CODES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
    "F16": "float16", "F32": "float32", "F64": "float64",
}


class _Encoder:
    """Turns an object into JSON-able structure plus a dict of named arrays."""

    def __init__(self):
        self.arrays: dict = {}
        self._names: dict = {}

    def encode(self, value, path: str):
        if isinstance(value, Tensor):
            return self._tensor(value)
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{path}.{k}") for k, v in value.items()}
            return {"__dict__": [[self._key(k, path), self.encode(v, f"{path}[{k!r}]")] for k, v in value.items()]}
        from ember._dtype import dtype as dtype_cls

        if isinstance(value, dtype_cls):
            return {"__dtype__": value.name}
        raise TypeError(
            f"ember.save: cannot store {type(value).__name__} at {path or 'the top level'}; "
            "checkpoints hold tensors, numbers, strings, bools, None and dicts, lists and "
            "tuples of them (ember never pickles arbitrary objects)"
        )

    def _key(self, key, path):
        if isinstance(key, (str, int, float, bool)) or key is None:
            return key
        raise TypeError(f"ember.save: dict key {key!r} at {path} must be a str, int, float or bool")

    def _tensor(self, tensor: Tensor) -> dict:
        name = self._names.get(id(tensor))
        if name is None:
            name = f"t{len(self._names)}"
            self._names[id(tensor)] = name
            self.arrays[name] = tensor._data
        reference = {"__tensor__": name}
        if tensor.requires_grad:
            reference["requires_grad"] = True
        from ember.nn.parameter import Parameter

        if isinstance(tensor, Parameter):
            reference["parameter"] = True
        return reference


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object) as a safetensors file.

    Args:
        obj: tensors, numbers, strings, bools, None, and dicts, lists and tuples of them —
            e.g. ``model.state_dict()``, ``optimizer.state_dict()`` or a dict of both.
        f: a path (str or os.PathLike) or a writable binary file object.

    Example::

        >>> ember.save({"model": model.state_dict(), "epoch": 3}, "checkpoint.safetensors")
    """
    from safetensors.numpy import save as save_bytes

    encoder = _Encoder()
    structure = encoder.encode(obj, "")
    arrays = {name: _contiguous(array) for name, array in encoder.arrays.items()}
    metadata = {_FORMAT_KEY: json.dumps({"version": _FORMAT_VERSION, "object": structure})}
    payload = save_bytes(arrays, metadata=metadata)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as handle:
            handle.write(payload)
    else:
        f.write(payload)


def _contiguous(array):
    from ember._backend import xp

    # Not ascontiguousarray: it turns a 0-d array (num_batches_tracked, step) into shape (1,).
    return xp.require(array, requirements="C")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **kwargs):
    """Read an object written by ``ember.save``, or a plain safetensors file as a dict.

    Nothing in the file is executed: a pickle (such as a default ``torch.save`` file),
    a truncated, corrupted or foreign file raises a clear error.
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            data = handle.read()
        source = os.fspath(f)
    else:
        data = f.read()
        source = getattr(f, "name", "the file object")
    header = _parse_header(data, source)
    arrays = _read_arrays(data, header, source)
    metadata = header.get("__metadata__") or {}
    if _FORMAT_KEY not in metadata:
        return {name: Tensor._make(array) for name, array in arrays.items()}
    try:
        document = json.loads(metadata[_FORMAT_KEY])
        return _decode(document["object"], arrays)
    except (ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"ember.load: {source}: the structure in the metadata is corrupted ({error})") from None


def _parse_header(data: bytes, source: str) -> dict:
    if data[:2] == b"PK" or data[:1] == b"\x80":
        raise RuntimeError(
            f"ember.load: {source} is a pickle-based file (such as torch.save writes by "
            "default). ember never unpickles, because unpickling can run arbitrary code. "
            "Save the tensors as safetensors (safetensors.torch.save_file) and load that."
        )
    if len(data) < 8:
        raise RuntimeError(f"ember.load: {source} is too short to be a safetensors file ({len(data)} bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > len(data) - 8:
        raise RuntimeError(
            f"ember.load: {source} is truncated or not a safetensors file: the header claims "
            f"{length} bytes but only {len(data) - 8} follow"
        )
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RuntimeError(f"ember.load: {source} is not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise RuntimeError(f"ember.load: {source} is not a safetensors file (unexpected header)")
    return header


def _read_arrays(data: bytes, header: dict, source: str) -> dict:
    from ember._backend import xp

    length = struct.unpack("<Q", data[:8])[0]
    body = memoryview(data)[8 + length :]
    arrays = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _DTYPE_CODES[entry["dtype"]]
            start, end = entry["data_offsets"]
            shape = tuple(int(s) for s in entry["shape"])
        except (KeyError, TypeError, ValueError):
            raise RuntimeError(
                f"ember.load: {source}: tensor {name!r} has an unsupported or malformed entry {entry!r}"
            ) from None
        if not 0 <= start <= end <= len(body):
            raise RuntimeError(f"ember.load: {source} is truncated: tensor {name!r} lies past the end of the file")
        raw = xp.frombuffer(body[start:end], dtype=dtype)
        count = math.prod(shape)
        if raw.size != count:
            raise RuntimeError(
                f"ember.load: {source}: tensor {name!r} has {raw.size} elements, its shape {list(shape)} needs {count}"
            )
        arrays[name] = raw.reshape(shape).copy()
    return arrays


def _decode(node, arrays):
    if isinstance(node, list):
        return [_decode(item, arrays) for item in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node:
        tensor = Tensor._make(arrays[node["__tensor__"]])
        if node.get("parameter"):
            from ember.nn.parameter import Parameter

            return Parameter(tensor, node.get("requires_grad", False))
        return tensor.requires_grad_() if node.get("requires_grad") else tensor
    if "__tuple__" in node:
        return tuple(_decode(item, arrays) for item in node["__tuple__"])
    if "__float__" in node:
        return float(node["__float__"])
    if "__dict__" in node:
        return {key: _decode(value, arrays) for key, value in node["__dict__"]}
    if "__dtype__" in node:
        from ember._dtype import to_dtype

        return to_dtype(node["__dtype__"])
    return {key: _decode(value, arrays) for key, value in node.items()}

