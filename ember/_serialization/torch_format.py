"""The zip archives ``torch.save`` writes (PyTorch >= 1.6), read and written without torch.

An archive holds ``<name>/data.pkl`` (the object, pickled with protocol 2; each tensor a
call of ``torch._utils._rebuild_tensor_v2`` on a persistent id ``('storage', type, key,
location, numel)``), ``<name>/data/<key>`` (each storage's raw bytes), ``byteorder``,
``version`` and a few small records. Reading checks the archive first (stored members only,
so a declared size is the size on disk; safe, unique names; every member inside the file),
then unpickles with ``weights_only.RestrictedUnpickler``, whose only callables are the
stand-ins of ``torch_globals``. Tensors over one storage load as NumPy views of one buffer,
so they share memory as in PyTorch.
"""

from __future__ import annotations

import io
import struct
import zipfile

from ember._backend import xp
from ember._serialization.common import Corrupt, fill
from ember._serialization.torch_globals import (
    Rebuilder,
    Storage,
    StorageType,
    is_count,
    unsupported,
)
from ember._serialization.torch_pickle import TorchPickler
from ember._serialization.weights_only import RestrictedUnpickler

_ALIGNMENT = 64
_LOCAL_HEADER = 30
_ZIP64_EXTRA = 20
_SMALL_RECORD_LIMIT = 1 << 16


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
            raw = memoryview(little.reshape(-1).view(xp.uint8))  # bfloat16 has no buffer code
            _write_record(archive, f"archive/data/{storage.key}", raw)
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


class _Reader:
    """One archive being loaded: its pickle, and its storages, each read once."""

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
            io.BytesIO(pickled), Rebuilder(self.relocate).allowed(), unsupported(), self._storage
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

    def _storage(self, pid: tuple) -> Storage:
        if len(pid) != 5:
            raise Corrupt(f"a storage reference has {len(pid)} fields; expected 5")
        _, storage_type, key, location, numel = pid
        if not isinstance(storage_type, StorageType):
            raise Corrupt(f"a storage reference names type {storage_type!r:.60}, not a storage")
        if not (isinstance(key, str) and isinstance(location, str) and is_count(numel)):
            raise Corrupt(f"a storage reference is malformed: {pid[2:]!r:.80}")
        storage = self.storages.get(key)
        if storage is None:
            storage = Storage(self._storage_array(key, storage_type, numel), location)
            self.storages[key] = storage
        elif storage.array.dtype != storage_type.dtype or storage.array.size != numel:
            raise Corrupt(f"storage {key!r} is referred to with two different types or sizes")
        return storage

    def _storage_array(self, key: str, storage_type: StorageType, numel: int):
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
