"""``ember.save`` and ``ember.load``: checkpoints that can never run code.

The file is a safetensors file. Its tensors are the tensors of the object; the object's
structure — nested dicts, lists and tuples of tensors, numbers, strings, bools and None —
is JSON in the file's metadata, with each tensor replaced by a reference to its key.
Loading parses JSON and reads arrays; nothing is unpickled, so a file cannot execute
anything.

Saving to a path is atomic: the file is written beside the target under a hidden
temporary name (``.<name>.<random>.tmp``), flushed and fsynced, then renamed over the
target, so a writer that is killed or fails mid-save leaves the previous checkpoint whole.
Tensors are streamed to the file one at a time, and loading reads each tensor straight
into its own array, so neither needs a second copy of the checkpoint in memory.

A plain ``.safetensors`` file written by any tool (PyTorch's included) loads as a dict
of tensors, ready for ``model.load_state_dict``. Every header is checked against the
format's rules before any tensor data is read (see ``_check_header``).
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import secrets
import stat
import struct

from ember._device import check_device, device
from ember._tensor import Tensor

__all__ = ["load", "save"]

_FORMAT_KEY = "ember.structure"
_FORMAT_VERSION = 1
# The safetensors library refuses larger headers too; real ones are a few MB at most.
_HEADER_LIMIT = 100_000_000
_DTYPE_CODES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
}
_CODE_OF_DTYPE = {name: code for code, name in _DTYPE_CODES.items()}
_FOREIGN_DTYPES = {
    "BF16": "bfloat16",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "C64": "complex64",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E8M0": "float8_e8m0fnu",
    "F6_E2M3": "float6_e2m3",
    "F6_E3M2": "float6_e3m2",
    "F4": "float4",
}
_PROTOCOLS = (b"\x02", b"\x03", b"\x04", b"\x05")
_TENSOR_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}
_TEXT_MODE = "ember.load: the file object must be opened in binary mode ('rb')"
_CUDA_UNAVAILABLE = (
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
    "False. If you are running on a CPU-only machine, please use torch.load with "
    "map_location=torch.device('cpu') to map your storages to the CPU."
)


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
            return {
                "__dict__": [
                    [self._key(k, path), self.encode(v, f"{path}[{k!r}]")] for k, v in value.items()
                ]
            }
        from ember._dtype import dtype as dtype_cls

        if isinstance(value, dtype_cls):
            return {"__dtype__": value.name}
        raise TypeError(
            f"ember.save: cannot store {type(value).__name__} at {path or 'the top level'}; "
            "checkpoints hold tensors, numbers, strings, bools, None and dicts, lists and "
            "tuples of them (ember never pickles arbitrary objects)"
        )

    def _key(self, key, path):
        if isinstance(key, float):
            return self.encode(key, path)  # inf and nan keys need the same escape as values
        if isinstance(key, (str, int, bool)) or key is None:
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


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def save(
    obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True
) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object) as a safetensors file.

    Saving to a path replaces the file atomically: a save that is interrupted (the
    process killed, the disk full) leaves the previous file as it was. A file object is
    written in place, with no such guarantee.

    Args:
        obj: tensors, numbers, strings, bools, None, and dicts, lists and tuples of them —
            e.g. ``model.state_dict()``, ``optimizer.state_dict()`` or a dict of both.
        f: a path (str or os.PathLike) or a writable binary file object.

    Example::

        >>> ember.save({"model": model.state_dict(), "epoch": 3}, "checkpoint.safetensors")
    """
    is_path = isinstance(f, (str, os.PathLike))
    if not is_path and not callable(getattr(f, "write", None)):
        raise TypeError(
            f"ember.save: f must be a path (str or os.PathLike) or a writable binary file "
            f"object, got {type(f).__name__}"
        )
    encoder = _Encoder()
    structure = encoder.encode(obj, "")
    # allow_nan=False: the loader refuses NaN, so one that slipped through must fail here.
    document = {"version": _FORMAT_VERSION, "object": structure}
    metadata = {_FORMAT_KEY: json.dumps(document, allow_nan=False)}
    header, arrays = _layout(encoder.arrays, metadata)
    if is_path:
        _write_atomically(os.fspath(f), header, arrays)
    else:
        _write(f, header, arrays)


def _layout(named_arrays: dict, metadata: dict) -> tuple:
    """The file's first bytes (length and header) and its arrays in the order they follow."""
    # Widest items first, as the safetensors library does, so every tensor stays aligned.
    names = sorted(named_arrays, key=lambda name: -named_arrays[name].dtype.itemsize)
    header: dict = {"__metadata__": metadata}
    offset = 0
    for name in names:
        array = named_arrays[name]
        code = _CODE_OF_DTYPE.get(array.dtype.name)
        if code is None:
            raise TypeError(f"ember.save: tensor of dtype {array.dtype} cannot be stored")
        end = offset + array.nbytes
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, end]}
        offset = end
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, [named_arrays[name] for name in names]


def _write(handle, header: bytes, arrays: list) -> None:
    """Write the header, then each array's bytes, without gathering them into one buffer."""
    from ember._backend import xp

    handle.write(header)
    for array in arrays:
        # A copy only for a non-contiguous or big-endian array, one at a time.
        little = xp.require(array, dtype=array.dtype.newbyteorder("<"), requirements="C")
        handle.write(memoryview(little.reshape(-1)).cast("B"))


def _write_atomically(path: str, header: bytes, arrays: list) -> None:
    if os.path.islink(path):
        path = os.path.realpath(path)  # replace the file the link points at, not the link
    if os.path.isdir(path):
        raise RuntimeError(f"ember.save: {path} is a directory; expected the path of a file")
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        # The rename would succeed, but writing in place (as PyTorch does) would not.
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    temporary, descriptor = _create_temporary(path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            _write(handle, header, arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(parent or os.curdir)


def _create_temporary(path: str) -> tuple:
    """A new hidden file beside ``path``, created with the permissions a plain open() gives."""
    parent, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(parent, f".{name[:200]}.{secrets.token_hex(6)}.tmp")
        try:
            descriptor = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:
            continue
    with contextlib.suppress(OSError):
        # Overwriting a checkpoint keeps its permissions, as writing in place would.
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
    return temporary, descriptor


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; Windows cannot open a directory, some filesystems refuse."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **kwargs):
    """Read an object written by ``ember.save``, or a plain safetensors file as a dict.

    Nothing in the file is executed: a pickle (such as a default ``torch.save`` file),
    a truncated, corrupted or foreign file raises a RuntimeError naming the file and
    what is wrong with it. Every tensor is read straight into its own array.

    Args:
        f: a path (str or os.PathLike) or a readable binary file object.
        map_location: as in PyTorch: None, ``'cpu'`` or a cpu ``device``, a dict mapping
            location names (``'cpu'``) to those, or a callable ``(tensor, 'cpu')`` returning
            a tensor or None. CUDA targets raise, as PyTorch does without CUDA.
        weights_only, mmap: accepted for compatibility; ember never unpickles anyway.
    """
    relocate = _relocator(map_location)
    if isinstance(f, (str, os.PathLike)):
        source = os.fspath(f)
        with open(f, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            arrays, metadata = _read_file(handle, size, source, whole_file=True)
    else:
        if not callable(getattr(f, "read", None)):
            raise TypeError(
                f"ember.load: f must be a path (str or os.PathLike) or a readable binary "
                f"file object, got {type(f).__name__}"
            )
        if isinstance(f, io.TextIOBase):
            raise TypeError(_TEXT_MODE)
        source = str(getattr(f, "name", "the file object"))
        handle, size = _sized(f)
        arrays, metadata = _read_file(handle, size, source, whole_file=False)
    if _FORMAT_KEY not in metadata:
        return {name: relocate(Tensor._make(array)) for name, array in arrays.items()}
    return _decode_structure(metadata[_FORMAT_KEY], arrays, relocate, source)


def _sized(f) -> tuple:
    """The stream and how many bytes remain in it; a stream that cannot seek is read whole."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if f.seekable():
            here = f.tell()
            end = f.seek(0, os.SEEK_END)
            f.seek(here)
            return f, end - here
    data = f.read()
    return io.BytesIO(data), len(data)


class _Corrupt(Exception):
    """A problem with the file, turned into load's RuntimeError once the file is named."""


def _read_file(handle, size: int, source: str, whole_file: bool) -> tuple:
    try:
        header_length, header = _read_header(handle, size)
        entries, data_length = _check_header(header)
        available = size - 8 - header_length
        _check_size(entries, data_length, available, whole_file)
        return _read_arrays(handle, entries), header.get("__metadata__") or {}
    except _Corrupt as error:
        raise RuntimeError(f"ember.load: {source}: {error}") from None


def _read_header(handle, size: int) -> tuple:
    """Find out what the file is; return the safetensors header, or say what it is instead."""
    prefix = handle.read(8)
    if not isinstance(prefix, (bytes, bytearray)):
        raise TypeError(_TEXT_MODE)
    if len(prefix) == 8:
        (length,) = struct.unpack("<Q", prefix)
        if 2 <= length <= min(_HEADER_LIMIT, size - 8):
            first = handle.read(1)
            if first == b"{":
                raw = first + _read_exactly(handle, length - 1)
                return length, _parse_json(_decode_utf8(raw), "header")
    # Not a safetensors header. A zip archive is torch.save's format; pickles of protocol 2
    # and later open with 0x80 and the protocol number.
    if prefix[:4] == b"PK\x03\x04" or (prefix[:1] == b"\x80" and prefix[1:2] in _PROTOCOLS):
        raise _Corrupt(
            "this is a pickle-based file (such as torch.save writes by default). ember never "
            "unpickles, because unpickling can run arbitrary code. Save the tensors as "
            "safetensors (safetensors.torch.save_file) and load that."
        )
    if len(prefix) < 8:
        raise _Corrupt(f"the file is too short to be a safetensors file ({len(prefix)} bytes)")
    if length > size - 8:
        raise _Corrupt(
            f"the file is truncated or not a safetensors file: the header claims {length} "
            f"bytes but only {size - 8} follow"
        )
    if length > _HEADER_LIMIT:
        raise _Corrupt(
            f"the header claims {length} bytes, more than the safetensors limit of "
            f"{_HEADER_LIMIT:,} bytes"
        )
    raise _Corrupt("this is not a safetensors file (its header is not JSON)")


def _read_exactly(handle, count: int) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise _Corrupt(f"the file is truncated inside its header ({len(data)} of {count} bytes)")
    return data


def _parse_json(text: str, what: str):
    """Strict JSON: no duplicate keys, no NaN or Infinity, no unbounded nesting."""
    try:
        return json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except RecursionError:
        raise _Corrupt(f"the {what} is nested deeper than Python's recursion limit") from None
    except ValueError as error:
        raise _Corrupt(f"the {what} is not valid JSON ({error})") from None


def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Corrupt(
            f"the header is not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None


def _refuse_duplicates(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {duplicate!r} appears more than once")
    return result


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _check_header(header: dict) -> tuple:
    """Every rule of the format, checked before any data is read.

    Returns the tensor entries ``(name, dtype, shape, begin, end)`` in file order, and
    the length of the data section they must tile exactly.
    """
    metadata = header.get("__metadata__")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise _Corrupt("__metadata__ in the header must map strings to strings")
    entries = [
        _check_entry(name, entry) for name, entry in header.items() if name != "__metadata__"
    ]
    entries.sort(key=lambda entry: (entry[3], entry[4]))
    end = 0
    for name, _, _, begin, stop in entries:
        if begin != end:
            problem = "overlaps the tensor before it" if begin < end else "leaves a gap before it"
            raise _Corrupt(
                f"tensor {name!r} starts at byte {begin} of the data, where the tensor before "
                f"it ends at {end}: it {problem} (tensors must tile the data exactly)"
            )
        end = stop
    return entries, end


def _check_entry(name: str, entry) -> tuple:
    if not isinstance(entry, dict) or set(entry) != _TENSOR_ENTRY_KEYS:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise _Corrupt(
            f"tensor {name!r} must have exactly dtype, shape and data_offsets, has {found}"
        )
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if isinstance(code, str) and code in _FOREIGN_DTYPES:
        raise _Corrupt(
            f"tensor {name!r} has dtype {code} ({_FOREIGN_DTYPES[code]}), which ember does "
            "not support"
        )
    if not isinstance(code, str) or code not in _DTYPE_CODES:
        raise _Corrupt(
            f"tensor {name!r} has unknown dtype {code!r}; expected one of {sorted(_DTYPE_CODES)}"
        )
    if not isinstance(shape, list) or not all(_is_count(size) for size in shape):
        raise _Corrupt(
            f"tensor {name!r} has shape {shape!r:.80}; expected a list of non-negative integers"
        )
    # NumPy's own limits: 64 dimensions, and a size in bytes that fits an int64 (even with
    # a zero among the dimensions).
    if len(shape) > 64 or math.prod(max(size, 1) for size in shape) * _itemsize(code) >= 2**63:
        raise _Corrupt(f"tensor {name!r} has shape {shape!r:.80}, larger than any array can be")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise _Corrupt(
            f"tensor {name!r} has data_offsets {offsets!r}; expected [begin, end], two "
            "non-negative integers"
        )
    begin, end = offsets
    if begin > end:
        raise _Corrupt(
            f"tensor {name!r} has data_offsets [{begin}, {end}], which end before they begin"
        )
    needed = math.prod(shape) * _itemsize(code)
    if end - begin != needed:
        raise _Corrupt(
            f"tensor {name!r} has data_offsets [{begin}, {end}], but its shape {shape} of "
            f"{code} needs {needed} bytes"
        )
    return name, _DTYPE_CODES[code], tuple(shape), begin, end


def _is_count(value) -> bool:
    return type(value) is int and value >= 0


def _itemsize(code: str) -> int:
    from ember._backend import xp

    return xp.dtype(_DTYPE_CODES[code]).itemsize


def _check_size(entries: list, data_length: int, available: int, whole_file: bool) -> None:
    if available < data_length:
        name, _, _, _, end = next(entry for entry in entries if entry[4] > available)
        raise _Corrupt(
            f"the file is truncated: tensor {name!r} ends at byte {end} of the data, which "
            f"has only {available} bytes"
        )
    if whole_file and available > data_length:
        raise _Corrupt(
            f"the file has {available - data_length} bytes after its last tensor that the "
            "header does not account for (a damaged or foreign file)"
        )


def _read_arrays(handle, entries: list) -> dict:
    """Read each tensor into a new array, in file order (the entries tile the data)."""
    from ember._backend import xp

    arrays = {}
    for name, dtype, shape, begin, end in entries:
        array = xp.empty(shape, dtype=dtype)
        view = memoryview(array.reshape(-1)).cast("B")
        filled = _fill(handle, view)
        if filled != end - begin:
            raise _Corrupt(
                f"the file is truncated inside tensor {name!r} ({filled} of {end - begin} bytes)"
            )
        arrays[name] = array
    return arrays


def _fill(handle, view: memoryview) -> int:
    readinto = getattr(handle, "readinto", None)
    filled = 0
    while filled < len(view):
        if readinto is not None:
            count = readinto(view[filled:])
        else:
            chunk = handle.read(len(view) - filled)
            count = len(chunk)
            view[filled : filled + count] = chunk
        if not count:
            break
        filled += count
    return filled


# ---------------------------------------------------------------------------------------
# The structure around the tensors, and map_location
# ---------------------------------------------------------------------------------------


def _decode_structure(text: str, arrays: dict, relocate, source: str):
    try:
        document = _parse_json(text, "structure in the metadata")
        if not isinstance(document, dict) or set(document) != {"version", "object"}:
            raise _Corrupt(
                "the structure in the metadata must be an object with version and object"
            )
        if document["version"] != _FORMAT_VERSION:
            raise _Corrupt(
                f"the structure has format version {document['version']!r}; this ember reads "
                f"version {_FORMAT_VERSION}"
            )
        decoder = _Decoder(arrays, relocate)
        result = decoder.decode(document["object"])
        unused = sorted(set(arrays) - decoder.used)
        if unused:
            raise _Corrupt(f"the header has tensors the structure never refers to: {unused[:5]}")
        return result
    except RecursionError:
        error = _Corrupt(
            "the structure in the metadata is nested deeper than Python's recursion limit"
        )
    except _Corrupt as corrupt:
        error = corrupt
    raise RuntimeError(f"ember.load: {source}: {error}") from None


class _Decoder:
    """Rebuilds the saved object from its JSON structure; only known forms are accepted."""

    def __init__(self, arrays: dict, relocate):
        self.arrays = arrays
        self.relocate = relocate
        self.used: set = set()
        self.tensors: dict = {}

    def decode(self, node):
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict):
            return node  # None, bool, int, float or str: what json itself produces
        keys = set(node)
        if "__tensor__" in keys and keys <= {"__tensor__", "requires_grad", "parameter"}:
            return self._tensor(node)
        if keys == {"__tuple__"} and isinstance(node["__tuple__"], list):
            return tuple(self.decode(item) for item in node["__tuple__"])
        if keys == {"__float__"} and node["__float__"] in ("inf", "-inf", "nan"):
            return float(node["__float__"])
        if keys == {"__dict__"} and isinstance(node["__dict__"], list):
            return dict(self._item(pair) for pair in node["__dict__"])
        if keys == {"__dtype__"}:
            return self._dtype(node["__dtype__"])
        if any(key.startswith("__") for key in keys):
            raise _Corrupt(f"the structure has an unknown entry with keys {sorted(keys)[:5]}")
        return {key: self.decode(value) for key, value in node.items()}

    def _item(self, pair) -> tuple:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise _Corrupt(f"a dict item in the structure is {pair!r:.60}, expected [key, value]")
        key, value = pair
        if isinstance(key, dict) and set(key) == {"__float__"}:
            key = self.decode(key)
        if not (key is None or isinstance(key, (str, int, float, bool))):
            raise _Corrupt(f"a dict key in the structure is {key!r:.60}, expected a str or number")
        return key, self.decode(value)

    def _dtype(self, name):
        from ember._dtype import _BY_NAME

        if not isinstance(name, str) or name not in _BY_NAME:
            raise _Corrupt(f"the structure names an unknown dtype {name!r:.60}")
        return _BY_NAME[name]

    def _tensor(self, node: dict) -> Tensor:
        name = node["__tensor__"]
        if not isinstance(name, str) or name not in self.arrays:
            raise _Corrupt(f"the structure refers to tensor {name!r:.60}, which the header lacks")
        flags = {key: node.get(key, False) for key in ("requires_grad", "parameter")}
        if not all(isinstance(flag, bool) for flag in flags.values()):
            raise _Corrupt(f"tensor {name!r}'s flags in the structure must be true or false")
        self.used.add(name)
        # One object per saved tensor, so a tensor saved twice loads as one, as in PyTorch.
        if name not in self.tensors:
            self.tensors[name] = self._restore(name, flags)
        return self.tensors[name]

    def _restore(self, name: str, flags: dict) -> Tensor:
        tensor = self.relocate(Tensor._make(self.arrays[name]))
        if flags["requires_grad"] and not tensor.is_floating_point():
            raise _Corrupt(f"tensor {name!r} of dtype {tensor.dtype} cannot require grad")
        if flags["parameter"]:
            from ember.nn.parameter import Parameter

            return Parameter(tensor, flags["requires_grad"])
        return tensor.requires_grad_() if flags["requires_grad"] else tensor


def _relocator(map_location):
    """What to do with each tensor loaded: PyTorch's map_location, where only the CPU exists."""
    if map_location is None:
        return _unchanged
    if callable(map_location):
        return lambda tensor: _call_map_location(map_location, tensor)
    if isinstance(map_location, dict):
        if not all(isinstance(key, str) for key in map_location):
            raise TypeError("ember.load: map_location's keys must be location names such as 'cpu'")
        target = map_location.get("cpu")
        return _unchanged if target is None else _relocator(target)
    if not isinstance(map_location, (str, device)):
        raise TypeError(
            "ember.load: map_location must be None, a device or its name, a dict mapping "
            f"location names to those, or a callable; got {type(map_location).__name__}"
        )
    try:
        target = device(map_location)
    except ValueError:
        raise RuntimeError(f"Invalid device string: '{map_location}'") from None
    if target.type == "cpu":
        return _unchanged
    # As in PyTorch, the target is refused only when a tensor is actually loaded.
    return lambda tensor: _refuse_device(target)


def _unchanged(tensor: Tensor) -> Tensor:
    return tensor


def _refuse_device(target: device):
    if target.type == "cuda":
        raise RuntimeError(_CUDA_UNAVAILABLE)
    check_device(target)


def _call_map_location(function, tensor: Tensor) -> Tensor:
    result = function(tensor, "cpu")
    if result is None:
        return tensor
    if not isinstance(result, Tensor):
        raise TypeError(
            f"ember.load: map_location returned {type(result).__name__}; expected a tensor or None"
        )
    return result
