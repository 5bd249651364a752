"""The zip archives ``torch.save`` writes (PyTorch >= 1.6), read and written without torch.

An archive holds ``<name>/data.pkl`` (the object, pickled with protocol 2; each tensor a
call of ``torch._utils._rebuild_tensor_v2`` on a persistent id ``('storage', type, key,
location, numel)``), ``<name>/data/<key>`` (each storage's raw bytes), ``byteorder``,
``version`` and a few small records. Reading checks the archive first (stored members only,
so a declared size is the size on disk; safe, unique names; every member inside the file),
then unpickles with ``weights_only.RestrictedUnpickler``, whose only callables are the
stand-ins below. Tensors over one storage load as NumPy views of one buffer, so they share
memory as in PyTorch.
"""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from collections import Counter, OrderedDict

from ember._backend import xp
from ember._device import device
from ember._dtype import _BY_NAME
from ember._dtype import dtype as dtype_class
from ember._serialization.common import Corrupt, fill
from ember._serialization.torch_pickle import STORAGE_TYPES, TorchPickler
from ember._serialization.weights_only import RestrictedUnpickler
from ember._tensor import Size, Tensor

_ALIGNMENT = 64
_LOCAL_HEADER = 30
_ZIP64_EXTRA = 20
_SMALL_RECORD_LIMIT = 1 << 16
_MISSING_DTYPES = [
    "bfloat16",
    "complex32",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "chalf",
    "uint16",
    "uint32",
    "uint64",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "quint2x4",
]
_MISSING_STORAGES = {
    "BFloat16Storage": "bfloat16",
    "ComplexFloatStorage": "complex64",
    "ComplexDoubleStorage": "complex128",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
}
_MISSING_REBUILDS = {
    "_rebuild_qtensor": "quantized tensors",
    "_rebuild_sparse_tensor": "sparse tensors",
    "_rebuild_meta_tensor_no_storage": "tensors on the meta device",
    "_rebuild_nested_tensor": "nested tensors",
    "_rebuild_wrapper_subclass": "tensor subclasses",
    "_rebuild_device_tensor_from_numpy": "tensors of other devices",
    "_rebuild_device_tensor_from_cpu_tensor": "tensors of other devices",
}


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


def prepare(obj) -> tuple:
    """The pickle and the storages of ``obj``; every refusal happens here, before writing."""
    pickler = TorchPickler()
    return pickler.dumps(obj), pickler.storages


def write(handle, prepared: tuple) -> None:
    """Write the archive as ``torch.save`` does: stored records, storages 64-byte aligned."""
    pickled, storages = prepared
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        _write_record(archive, "archive/data.pkl", pickled)
        _write_record(archive, "archive/.format_version", b"1")
        _write_record(archive, "archive/.storage_alignment", str(_ALIGNMENT).encode())
        _write_record(archive, "archive/byteorder", b"little")
        for storage in storages:
            array = storage.array
            little = xp.require(array, dtype=array.dtype.newbyteorder("<"), requirements="C")
            _write_record(archive, f"archive/data/{storage.key}", memoryview(little).cast("B"))
        _write_record(archive, "archive/version", b"3\n")


def _write_record(archive: zipfile.ZipFile, name: str, data) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(data)
    zip64 = info.file_size * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule
    header = _LOCAL_HEADER + len(name.encode()) + 4 + (_ZIP64_EXTRA if zip64 else 0)
    padding = -(archive.fp.tell() + header) % _ALIGNMENT
    # An extra field of padding, as torch.save writes, so each record starts aligned.
    info.extra = b"FB" + struct.pack("<H", padding) + b"Z" * padding
    with archive.open(info, "w", force_zip64=zip64) as stream:
        stream.write(data)


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


def read(handle, size: int, relocate):
    """The object in the archive; raises Corrupt, or UnpicklingError for a refused pickle."""
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as error:
        raise Corrupt(
            "PytorchStreamReader failed reading zip archive: failed finding central directory "
            f"(the archive is truncated or damaged: {error})"
        ) from None
    with archive:
        members, prefix = _check_members(archive, size)
        reader = _Reader(archive, members, prefix, relocate)
        return reader.load()


def _check_members(archive: zipfile.ZipFile, size: int) -> tuple:
    """The members by name, and the folder they share; refuses anything unsafe or odd."""
    infos = archive.infolist()
    members = {}
    for info in infos:
        name = info.filename
        if name in members:
            raise Corrupt(f"the archive has two members named {name!r}")
        parts = name.split("/")
        if name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in parts):
            raise Corrupt(f"the archive has a member with an unsafe name {name!r:.100}")
        if info.compress_type != zipfile.ZIP_STORED:
            raise Corrupt(
                f"member {name!r} is compressed (method {info.compress_type}); torch.save "
                "stores members uncompressed, and ember refuses compressed ones so that no "
                "declared size can be larger than the file"
            )
        if info.file_size != info.compress_size or info.header_offset + info.file_size > size:
            raise Corrupt(
                f"member {name!r} declares {info.file_size} bytes, more than the archive of "
                f"{size} bytes holds (a damaged or hostile archive)"
            )
        members[name] = info
    folders = {name.split("/")[0] for name in members}
    if len(folders) != 1 or f"{next(iter(folders))}/data.pkl" not in members:
        raise Corrupt(
            "this zip archive is not a torch.save checkpoint: expected one top-level folder "
            f"holding data.pkl, found {sorted(members)[:5]}"
        )
    return members, next(iter(folders))


class _StorageType:
    """What a ``torch.FloatStorage``-style global stands for: the dtype of its elements."""

    def __init__(self, name: str, dtype_name: str):
        self.name = name
        self.dtype = xp.dtype(dtype_name)


class _Storage:
    def __init__(self, array, location: str):
        self.array = array
        self.location = location


class _Reader:
    """One archive being loaded: its storages, read once each, and the rebuild stand-ins."""

    def __init__(self, archive, members: dict, prefix: str, relocate):
        self.archive = archive
        self.members = members
        self.prefix = prefix
        self.relocate = relocate
        self.storages: dict = {}
        self.big_endian = self._byteorder() == "big"

    def load(self):
        pickled = self._read(self.members[f"{self.prefix}/data.pkl"])
        unpickler = RestrictedUnpickler(
            io.BytesIO(pickled), self._allowed(), _unsupported(), self._storage
        )
        return unpickler.load()

    def _byteorder(self) -> str:
        info = self.members.get(f"{self.prefix}/byteorder")
        if info is None:
            return "little"
        if info.file_size > _SMALL_RECORD_LIMIT:
            raise Corrupt(f"the byteorder record has {info.file_size} bytes")
        order = self._read(info).decode("ascii", "replace")
        if order not in ("little", "big"):
            raise Corrupt(f"the byteorder record says {order!r:.40}; expected 'little' or 'big'")
        return order

    def _read(self, info) -> bytes:
        buffer = bytearray(info.file_size)
        self._fill(info, memoryview(buffer))
        return bytes(buffer)

    def _fill(self, info, view: memoryview) -> None:
        try:
            with self.archive.open(info) as stream:
                filled = fill(stream, view)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, struct.error) as error:
            raise Corrupt(f"member {info.filename!r} cannot be read: {error}") from None
        if filled != len(view):
            raise Corrupt(f"member {info.filename!r} is truncated ({filled} of {len(view)} bytes)")

    # ---- persistent ids ---------------------------------------------------------------

    def _storage(self, pid: tuple) -> _Storage:
        if len(pid) != 5:
            raise Corrupt(f"a storage reference has {len(pid)} fields; expected 5")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise Corrupt(f"a storage reference names type {storage_type!r:.60}, not a storage")
        if not (isinstance(key, str) and isinstance(location, str) and _is_count(numel)):
            raise Corrupt(f"a storage reference is malformed: {pid[2:]!r:.80}")
        storage = self.storages.get(key)
        if storage is None:
            storage = _Storage(self._storage_array(key, storage_type, numel), location)
            self.storages[key] = storage
        elif storage.array.dtype != storage_type.dtype or storage.array.size != numel:
            raise Corrupt(f"storage {key!r} is referred to with two different types or sizes")
        return storage

    def _storage_array(self, key: str, storage_type: _StorageType, numel: int):
        info = self.members.get(f"{self.prefix}/data/{key}")
        if info is None:
            raise Corrupt(
                f"a tensor refers to storage {key!r}, but the archive has no record "
                f"{self.prefix}/data/{key}"
            )
        dtype = storage_type.dtype
        if info.file_size != numel * dtype.itemsize:
            raise Corrupt(
                f"storage {key!r} declares {numel} elements of {dtype} "
                f"({numel * dtype.itemsize} bytes), but its record holds {info.file_size} bytes"
            )
        raw = xp.empty(info.file_size, dtype=xp.uint8)
        self._fill(info, memoryview(raw))
        if dtype == xp.bool_:
            return raw != 0  # any nonzero byte is true, as in PyTorch
        if self.big_endian and dtype.itemsize > 1:
            return raw.view(dtype.newbyteorder(">")).astype(dtype)
        return raw.view(dtype)

    # ---- the stand-ins the pickle may name --------------------------------------------

    def _allowed(self) -> dict:
        from ember.nn.parameter import Parameter

        allowed = {
            "collections.OrderedDict": OrderedDict,
            "collections.Counter": Counter,
            "torch.nn.parameter.Parameter": Parameter,
            "torch.Size": Size,
            "torch.Tensor": _TENSOR_TYPE,
            "torch.device": _device,
            "_codecs.encode": _encode,
            "builtins.bytearray": _bytearray,
            "builtins.set": set,
            "builtins.complex": complex,
            "torch._utils._rebuild_tensor": self._rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self._rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": self._rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": _rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
            "torch._tensor._rebuild_from_type_v2": self._rebuild_from_type_v2,
            "torch.storage.UntypedStorage": _StorageType("UntypedStorage", "uint8"),
        }
        for name, dtype in _BY_NAME.items():
            if dtype.name == name:
                allowed[f"torch.{name}"] = dtype
        for dtype_name, storage_name in STORAGE_TYPES.items():
            allowed[f"torch.{storage_name}"] = _StorageType(storage_name, dtype_name)
        return allowed

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)

    def _rebuild_tensor_v2(
        self, storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
    ):
        if metadata:
            raise Corrupt(f"a tensor carries metadata {metadata!r:.80} that ember cannot apply")
        if not isinstance(storage, _Storage):
            raise Corrupt(f"a tensor is rebuilt from {type(storage).__name__}, not a storage")
        array = _view(storage.array, storage_offset, size, stride)
        tensor = self.relocate(Tensor._make(array), storage.location)
        if type(requires_grad) is not bool:
            raise Corrupt(f"a tensor's requires_grad is {requires_grad!r:.40}, not a bool")
        return tensor.requires_grad_() if requires_grad else tensor

    def _rebuild_tensor_v3(
        self,
        storage,
        storage_offset,
        size,
        stride,
        requires_grad,
        backward_hooks,
        dtype,
        metadata=None,
    ):
        if not isinstance(storage, _Storage) or not isinstance(dtype, dtype_class):
            raise Corrupt("a tensor is rebuilt from something that is not a storage and dtype")
        target = dtype.numpy
        if storage.array.dtype != target:
            flat = storage.array
            if flat.nbytes % target.itemsize:
                raise Corrupt(f"a storage of {flat.nbytes} bytes cannot hold {dtype} elements")
            storage = _Storage(flat.view(target), storage.location)
        return self._rebuild_tensor_v2(
            storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata
        )

    def _rebuild_from_type_v2(self, function, new_type, args, state):
        from ember.nn.parameter import Parameter

        if new_type not in (_TENSOR_TYPE, Parameter) or state or type(args) is not tuple:
            raise Corrupt(
                "the checkpoint holds a tensor subclass or a tensor with Python attributes, "
                "which ember cannot rebuild"
            )
        if function not in (self._rebuild_tensor_v2, self._rebuild_tensor, _rebuild_parameter):
            raise Corrupt(f"a tensor is rebuilt by {function!r:.60}, which ember does not allow")
        return function(*args)


_TENSOR_TYPE = object()  # torch.Tensor: only a marker for _rebuild_from_type_v2, never built


def _unsupported() -> dict:
    """Globals PyTorch's loader allows but ember cannot rebuild, with the reason."""
    reasons = {}
    for name in _MISSING_DTYPES:
        reasons[f"torch.{name}"] = f"the dtype torch.{name}, which ember does not support"
    for name, dtype_name in _MISSING_STORAGES.items():
        reasons[f"torch.{name}"] = (
            f"tensors of dtype torch.{dtype_name} ({name}), which ember does not support"
        )
    for name, what in _MISSING_REBUILDS.items():
        reasons[f"torch._utils.{name}"] = f"{what}, which ember does not support"
    reasons["torch.serialization._get_layout"] = "sparse tensors, which ember does not support"
    return reasons


def _view(flat, storage_offset, size, stride):
    """The tensor's elements as a view of its storage, after checking they lie inside it."""
    if not (
        _is_count(storage_offset)
        and isinstance(size, tuple | list)
        and isinstance(stride, tuple | list)
        and len(size) == len(stride) <= 64
        and all(map(_is_count, size))
        and all(map(_is_count, stride))
    ):
        raise Corrupt(
            f"a tensor has offset {storage_offset!r:.30}, size {size!r:.60} and stride "
            f"{stride!r:.60}; expected non-negative integers, one stride per dimension"
        )
    elements = 1
    for count in size:
        elements *= count
    extent = storage_offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1
    if (elements and extent > flat.size) or storage_offset > flat.size:
        raise Corrupt(
            f"a tensor of size {tuple(size)} and stride {tuple(stride)} at offset "
            f"{storage_offset} reaches past the end of its storage of {flat.size} elements"
        )
    if elements and elements * flat.itemsize >= 2**63:
        raise Corrupt(f"a tensor of size {tuple(size)} is larger than any array can be")
    byte_strides = tuple(s * flat.itemsize for s in stride)
    # A view whose .base is the storage, so saving it again finds the storage it shares.
    return xp.ndarray(tuple(size), flat.dtype, flat, storage_offset * flat.itemsize, byte_strides)


def _is_count(value) -> bool:
    return type(value) is int and value >= 0


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
    from ember.nn.parameter import Parameter

    if not isinstance(data, Tensor) or type(requires_grad) is not bool:
        raise Corrupt("a parameter is rebuilt from something other than a tensor and a bool")
    return Parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise Corrupt("a parameter carries Python attributes, which ember cannot rebuild")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _device(*args):
    if not args or not all(isinstance(arg, str | int) for arg in args):
        raise Corrupt(f"a device is described by {args!r:.60}")
    return device(*args)


def _encode(text, encoding="utf-8"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "ascii"):
        raise Corrupt("bytes are encoded in a way ember does not read")
    return codecs.encode(text, encoding)


def _bytearray(*args):
    if args and not (isinstance(args[0], (str, bytes)) and len(args) <= 2):
        raise Corrupt(f"a bytearray is built from {type(args[0]).__name__}, not bytes")
    return bytearray(_encode(*args)) if args and isinstance(args[0], str) else bytearray(*args)
