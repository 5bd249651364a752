"""ember's own checkpoint format: a safetensors file, every header rule checked on load.

A file is an 8-byte little-endian header length, a JSON header naming each tensor's
dtype, shape and byte range, then the tensors' bytes tiling the data exactly. Saving
streams each tensor to the file; loading reads each straight into its own array.
"""

from __future__ import annotations

import json
import math
import struct

from ember._backend import xp
from ember._serialization.common import Corrupt, fill
from ember._serialization.structure import parse_json

# The safetensors library refuses larger headers too; real ones are a few MB at most.
HEADER_LIMIT = 100_000_000
_DTYPE_CODES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "F16": "float16",
    "BF16": "bfloat16",
    "F32": "float32",
    "F64": "float64",
}
_CODE_OF_DTYPE = {name: code for code, name in _DTYPE_CODES.items()}
_FOREIGN_DTYPES = {
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
_TENSOR_ENTRY_KEYS = {"dtype", "shape", "data_offsets"}


class NotSafetensors(Exception):
    """The file is not a safetensors file; ``prefix`` is its first bytes, to tell what it is."""

    def __init__(self, prefix: bytes, length: int | None):
        super().__init__()
        self.prefix = prefix
        self.length = length


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def layout(named_arrays: dict, metadata: dict) -> tuple:
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


def write(handle, header: bytes, arrays: list) -> None:
    """Write the header, then each array's bytes, without gathering them into one buffer."""
    handle.write(header)
    for array in arrays:
        # A copy only for a non-contiguous or big-endian array, one at a time.
        little = xp.require(array, dtype=array.dtype.newbyteorder("<"), requirements="C")
        handle.write(memoryview(little.reshape(-1).view(xp.uint8)))  # bfloat16 has no buffer code


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def read_file(handle, size: int, whole_file: bool) -> tuple:
    """The file's arrays by name and its metadata; raises NotSafetensors or Corrupt."""
    header_length, header = _read_header(handle, size)
    entries, data_length = _check_header(header)
    available = size - 8 - header_length
    _check_size(entries, data_length, available, whole_file)
    return _read_arrays(handle, entries), header.get("__metadata__") or {}


def _read_header(handle, size: int) -> tuple:
    prefix = handle.read(8)
    if not isinstance(prefix, (bytes, bytearray)):
        raise TypeError("ember.load: the file object must be opened in binary mode ('rb')")
    if len(prefix) < 8:
        raise NotSafetensors(prefix, None)
    (length,) = struct.unpack("<Q", prefix)
    if 2 <= length <= min(HEADER_LIMIT, size - 8):
        first = handle.read(1)
        if first == b"{":
            raw = first + _read_exactly(handle, length - 1)
            return length, parse_json(_decode_utf8(raw), "header")
    raise NotSafetensors(prefix, length)


def explain(error: NotSafetensors, size: int) -> Corrupt:
    """Why a file that is neither safetensors nor a zip archive cannot be loaded."""
    prefix, length = error.prefix, error.length
    if length is None:
        return Corrupt(f"the file is too short to be a safetensors file ({len(prefix)} bytes)")
    if length > size - 8:
        return Corrupt(
            f"the file is truncated or not a safetensors file: the header claims {length} "
            f"bytes but only {size - 8} follow"
        )
    if length > HEADER_LIMIT:
        return Corrupt(
            f"the header claims {length} bytes, more than the safetensors limit of "
            f"{HEADER_LIMIT:,} bytes"
        )
    return Corrupt("this is not a safetensors file (its header is not JSON)")


def _read_exactly(handle, count: int) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise Corrupt(f"the file is truncated inside its header ({len(data)} of {count} bytes)")
    return data


def _decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Corrupt(
            f"the header is not valid UTF-8 ({error.reason} at byte {error.start})"
        ) from None


def _check_header(header: dict) -> tuple:
    """Every rule of the format, checked before any data is read.

    Returns the tensor entries ``(name, dtype, shape, begin, end)`` in file order, and
    the length of the data section they must tile exactly.
    """
    metadata = header.get("__metadata__")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise Corrupt("__metadata__ in the header must map strings to strings")
    entries = [
        _check_entry(name, entry) for name, entry in header.items() if name != "__metadata__"
    ]
    entries.sort(key=lambda entry: (entry[3], entry[4]))
    end = 0
    for name, _, _, begin, stop in entries:
        if begin != end:
            problem = "overlaps the tensor before it" if begin < end else "leaves a gap before it"
            raise Corrupt(
                f"tensor {name!r} starts at byte {begin} of the data, where the tensor before "
                f"it ends at {end}: it {problem} (tensors must tile the data exactly)"
            )
        end = stop
    return entries, end


def _check_entry(name: str, entry) -> tuple:
    if not isinstance(entry, dict) or set(entry) != _TENSOR_ENTRY_KEYS:
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise Corrupt(
            f"tensor {name!r} must have exactly dtype, shape and data_offsets, has {found}"
        )
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if isinstance(code, str) and code in _FOREIGN_DTYPES:
        raise Corrupt(
            f"tensor {name!r} has dtype {code} ({_FOREIGN_DTYPES[code]}), which ember does "
            "not support"
        )
    if not isinstance(code, str) or code not in _DTYPE_CODES:
        raise Corrupt(
            f"tensor {name!r} has unknown dtype {code!r}; expected one of {sorted(_DTYPE_CODES)}"
        )
    if not isinstance(shape, list) or not all(_is_count(size) for size in shape):
        raise Corrupt(
            f"tensor {name!r} has shape {shape!r:.80}; expected a list of non-negative integers"
        )
    # NumPy's own limits: 64 dimensions, and a size in bytes that fits an int64 (even with
    # a zero among the dimensions).
    if len(shape) > 64 or math.prod(max(size, 1) for size in shape) * _itemsize(code) >= 2**63:
        raise Corrupt(f"tensor {name!r} has shape {shape!r:.80}, larger than any array can be")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))):
        raise Corrupt(
            f"tensor {name!r} has data_offsets {offsets!r}; expected [begin, end], two "
            "non-negative integers"
        )
    begin, end = offsets
    if begin > end:
        raise Corrupt(
            f"tensor {name!r} has data_offsets [{begin}, {end}], which end before they begin"
        )
    needed = math.prod(shape) * _itemsize(code)
    if end - begin != needed:
        raise Corrupt(
            f"tensor {name!r} has data_offsets [{begin}, {end}], but its shape {shape} of "
            f"{code} needs {needed} bytes"
        )
    return name, _DTYPE_CODES[code], tuple(shape), begin, end


def _is_count(value) -> bool:
    return type(value) is int and value >= 0


def _itemsize(code: str) -> int:
    return xp.dtype(_DTYPE_CODES[code]).itemsize


def _check_size(entries: list, data_length: int, available: int, whole_file: bool) -> None:
    if available < data_length:
        name, _, _, _, end = next(entry for entry in entries if entry[4] > available)
        raise Corrupt(
            f"the file is truncated: tensor {name!r} ends at byte {end} of the data, which "
            f"has only {available} bytes"
        )
    if whole_file and available > data_length:
        raise Corrupt(
            f"the file has {available - data_length} bytes after its last tensor that the "
            "header does not account for (a damaged or foreign file)"
        )


def _read_arrays(handle, entries: list) -> dict:
    """Read each tensor into a new array, in file order (the entries tile the data)."""
    arrays = {}
    for name, dtype, shape, begin, end in entries:
        array = xp.empty(shape, dtype=dtype)
        filled = fill(handle, memoryview(array.reshape(-1).view(xp.uint8)))
        if filled != end - begin:
            raise Corrupt(
                f"the file is truncated inside tensor {name!r} ({filled} of {end - begin} bytes)"
            )
        arrays[name] = array
    return arrays
