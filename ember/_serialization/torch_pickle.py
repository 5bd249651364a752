"""Writing the pickle of a ``torch.save`` archive, with only globals PyTorch's loader allows.

The pickle is written opcode by opcode (protocol 2, as ``torch.save``) rather than with
``pickle.Pickler``, so that nothing outside this list can end up in a file: tensors and
parameters (``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` over a
``torch.FloatStorage``-style persistent id), dicts, ``OrderedDict``s, lists, tuples, str,
int, float, bool, None, bytes, dtypes, ``torch.Size``, devices and NumPy arrays.
"""

from __future__ import annotations

import pickle
import struct
from collections import OrderedDict

from ember._backend import address, device_index, to_host, xp
from ember._device import device
from ember._dtype import dtype as dtype_class
from ember._serialization.structure import describe_refusal, is_plain_array
from ember._tensor import Size, Tensor

STORAGE_TYPES = {
    "float64": "DoubleStorage",
    "float32": "FloatStorage",
    "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}


class Storage:
    """One storage of the archive: a C-contiguous 1-D host array, written to ``data/<key>``,
    and the device it came from (``'cpu'``, ``'cuda:0'``), which the file records."""

    def __init__(self, key: str, array, location: str = "cpu"):
        self.key = key
        self.array = array
        self.location = location


class TorchPickler:
    """Writes ``obj`` as a protocol-2 pickle; collects the storages its tensors refer to."""

    def __init__(self):
        self.storages: list = []
        self._out: list = []
        self._storage_keys: dict = {}
        self._memo: dict = {}
        self._keep: list = []  # the objects memoised by id stay alive until the end

    def dumps(self, obj) -> bytes:
        self._out = [pickle.PROTO + b"\x02"]
        self._save(obj, "", set())
        self._out.append(pickle.STOP)
        return b"".join(self._out)

    # ---- values ----------------------------------------------------------------------

    def _save(self, value, path: str, open_containers: set) -> None:
        write = self._out.append
        if value is None:
            write(pickle.NONE)
        elif value is True or value is False:
            write(pickle.NEWTRUE if value else pickle.NEWFALSE)
        elif isinstance(value, Tensor):
            self._tensor(value)
        elif isinstance(value, int):
            self._int(int(value))
        elif isinstance(value, float):
            write(pickle.BINFLOAT + struct.pack(">d", float(value)))
        elif isinstance(value, str):
            encoded = str(value).encode("utf-8", "surrogatepass")
            write(pickle.BINUNICODE + struct.pack("<I", len(encoded)) + encoded)
        elif isinstance(value, bytes):
            self._bytes(bytes(value))
        elif isinstance(value, dtype_class):
            self._global("torch", value.name)
        elif isinstance(value, device):
            self._call("torch", "device", (str(value),), path, open_containers)
        elif isinstance(value, (list, tuple, dict)) or is_plain_array(value):
            self._container(value, path, open_containers)
        else:
            raise TypeError(describe_refusal(value, path))

    def _container(self, value, path: str, open_containers: set) -> None:
        if id(value) in open_containers:
            raise ValueError(f"ember.save: the object contains itself at {path}")
        open_containers.add(id(value))
        if isinstance(value, (list, tuple)):
            self._sequence(value, path, open_containers)
        elif isinstance(value, dict):
            self._dict(value, path, open_containers)
        else:
            self._array(value, path, open_containers)
        open_containers.discard(id(value))

    def _int(self, value: int) -> None:
        if 0 <= value < 256:
            self._out.append(pickle.BININT1 + bytes([value]))
        elif 0 <= value < 65536:
            self._out.append(pickle.BININT2 + struct.pack("<H", value))
        elif -(2**31) <= value < 2**31:
            self._out.append(pickle.BININT + struct.pack("<i", value))
        else:
            encoded = pickle.encode_long(value)
            if len(encoded) > 255:
                raise OverflowError(f"ember.save: the int {value:.3e} is too large to store")
            self._out.append(pickle.LONG1 + bytes([len(encoded)]) + encoded)

    def _bytes(self, value: bytes) -> None:
        # Protocol 2 has no bytes opcode: bytes are _codecs.encode(text, "latin1").
        self._global("_codecs", "encode")
        self._save(value.decode("latin1"), "", set())
        self._save("latin1", "", set())
        self._out.append(pickle.TUPLE2 + pickle.REDUCE)

    def _sequence(self, value, path: str, open_containers: set) -> None:
        if isinstance(value, Size):
            self._global("torch", "Size")
            self._sequence(tuple(value), path, open_containers)
            self._out.append(pickle.TUPLE1 + pickle.REDUCE)
            return
        if isinstance(value, tuple) and not value:
            self._out.append(pickle.EMPTY_TUPLE)
            return
        if isinstance(value, list):
            self._out.append(pickle.EMPTY_LIST)
            if not value:
                return
        self._out.append(pickle.MARK)
        for index, item in enumerate(value):
            self._save(item, f"{path}[{index}]", open_containers)
        self._out.append(pickle.APPENDS if isinstance(value, list) else pickle.TUPLE)

    def _dict(self, value: dict, path: str, open_containers: set) -> None:
        if type(value) is OrderedDict:
            self._global("collections", "OrderedDict")
            self._out.append(pickle.EMPTY_TUPLE + pickle.REDUCE)
        else:
            self._out.append(pickle.EMPTY_DICT)
        self._items(value, path, open_containers)
        metadata = getattr(value, "_metadata", None)
        if type(value) is OrderedDict and isinstance(metadata, dict):
            # a state dict's versions, set on the loaded OrderedDict as pickle does
            self._out.append(pickle.EMPTY_DICT)
            self._save("_metadata", path, open_containers)
            self._container(metadata, f"{path}._metadata", open_containers)
            self._out.append(pickle.SETITEM + pickle.BUILD)

    def _items(self, value: dict, path: str, open_containers: set) -> None:
        if not value:
            return
        self._out.append(pickle.MARK)
        for key, item in value.items():
            if not (key is None or isinstance(key, (str, int, float, bool))):
                raise TypeError(
                    f"ember.save: dict key {key!r:.60} at {path} must be a str, int, float or bool"
                )
            self._save(key, path, open_containers)
            self._save(
                item,
                f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]",
                open_containers,
            )
        self._out.append(pickle.SETITEMS)

    def _global(self, module: str, name: str) -> None:
        self._out.append(pickle.GLOBAL + f"{module}\n{name}\n".encode())

    def _call(self, module: str, name: str, args: tuple, path: str, open_containers) -> None:
        self._global(module, name)
        self._sequence(args, path, open_containers)
        self._out.append(pickle.REDUCE)

    # ---- NumPy arrays, as NumPy pickles them -----------------------------------------

    def _array(self, array, path: str, open_containers: set) -> None:
        function, args, state = array.__reduce__()
        self._callable(function)
        self._out.append(pickle.MARK)
        self._callable(args[0])
        self._save(args[1], path, open_containers)
        self._save(args[2], path, open_containers)
        self._out.append(pickle.TUPLE + pickle.REDUCE)
        version, shape, dtype, fortran, data = state
        self._out.append(pickle.MARK)
        for item in (version, shape):
            self._save(item, path, open_containers)
        self._dtype(dtype)
        self._save(fortran, path, open_containers)
        self._save(data, path, open_containers)
        self._out.append(pickle.TUPLE + pickle.BUILD)

    def _dtype(self, dtype) -> None:
        function, args, state = dtype.__reduce__()
        self._callable(function)
        self._sequence(args, "", set())
        self._out.append(pickle.REDUCE)
        self._sequence(state, "", set())
        self._out.append(pickle.BUILD)

    def _callable(self, function) -> None:
        self._global(function.__module__, function.__name__)

    # ---- tensors -------------------------------------------------------------------

    def _tensor(self, tensor: Tensor) -> None:
        index = self._memo.get(id(tensor))
        if index is not None:
            self._out.append(pickle.LONG_BINGET + struct.pack("<I", index))
            return
        from ember.nn.parameter import Parameter

        is_parameter = isinstance(tensor, Parameter)
        if is_parameter:
            self._global("torch._utils", "_rebuild_parameter")
            self._out.append(pickle.MARK)
        self._global("torch._utils", "_rebuild_tensor_v2")
        storage, offset, strides = self._storage(tensor)
        self._out.append(pickle.MARK + pickle.MARK)
        self._save("storage", "", set())
        self._global("torch", STORAGE_TYPES[storage.array.dtype.name])
        for item in (storage.key, storage.location, storage.array.size):
            self._save(item, "", set())
        self._out.append(pickle.TUPLE + pickle.BINPERSID)
        for item in (offset, tuple(tensor.shape), strides):
            self._save(item, "", set())
        self._save(tensor.requires_grad and not is_parameter, "", set())
        self._global("collections", "OrderedDict")
        self._out.append(pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.TUPLE + pickle.REDUCE)
        if is_parameter:
            self._save(tensor.requires_grad, "", set())
            self._global("collections", "OrderedDict")
            self._out.append(pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.TUPLE + pickle.REDUCE)
        self._memo[id(tensor)] = len(self._memo)
        self._keep.append(tensor)
        self._out.append(pickle.LONG_BINPUT + struct.pack("<I", self._memo[id(tensor)]))

    def _storage(self, tensor: Tensor) -> tuple:
        """The storage a tensor views, its offset into it and its strides, in elements.

        Tensors over one NumPy buffer (views of one base, or tensors loaded from one
        storage) share one storage in the file, as in PyTorch. A CUDA tensor is written from
        a host copy of its own (views of one GPU buffer are not joined), recorded as on
        ``cuda:<n>``, as ``torch.save`` records it.
        """
        array = tensor._data
        if array.dtype.name not in STORAGE_TYPES:
            raise TypeError(f"ember.save: tensor of dtype {array.dtype} cannot be stored")
        index = device_index(array)
        location = "cpu" if index is None else f"cuda:{index}"
        if index is not None:
            array = to_host(array)
        root = _root(array)
        placement = _place(array, root)
        if placement is None:
            root = xp.ascontiguousarray(array)
            placement = (0, tuple(stride // array.itemsize for stride in root.strides))
        owner = (id(root), array.dtype.str)
        storage = self._storage_keys.get(owner)
        if storage is None:
            flat = root.reshape(-1).view(array.dtype) if root is not array else root.reshape(-1)
            storage = Storage(str(len(self.storages)), flat, location)
            self._storage_keys[owner] = storage
            self.storages.append(storage)
            self._keep.append(root)
        return storage, placement[0], placement[1]


def _root(array):
    """The array that owns ``array``'s memory (through as_strided's wrapper, too)."""
    root = array
    while True:
        parent = root.base
        if not isinstance(parent, xp.ndarray):
            parent = getattr(parent, "base", None)
        if not isinstance(parent, xp.ndarray):
            return root
        root = parent


def _place(array, root):
    """``(offset, strides)`` of ``array`` inside the contiguous ``root``, in elements, or None."""
    itemsize = array.itemsize
    if not root.flags.c_contiguous or root.nbytes % itemsize:
        return None
    start = address(array) - address(root)
    strides = array.strides
    if start < 0 or start % itemsize or any(s < 0 or s % itemsize for s in strides):
        return None
    offset = start // itemsize
    strides = tuple(s // itemsize for s in strides)
    if array.size:
        last = offset + sum((n - 1) * s for n, s in zip(array.shape, strides))
        if last >= root.nbytes // itemsize:
            return None
    elif offset > root.nbytes // itemsize:
        return None
    return offset, strides
