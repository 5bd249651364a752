"""What the pickle of a ``torch.save`` archive may name, and ember's code for each.

PyTorch's ``weights_only`` loader allows a fixed set of globals: the tensor and parameter
rebuild functions of ``torch._utils``, storage types (``torch.FloatStorage`` …), dtypes,
``torch.Size``, ``torch.device``, ``OrderedDict``, ``Counter``, ``set``, ``complex``,
``bytearray`` and ``_codecs.encode`` (bytes). ember maps each name to a stand-in of its
own that checks its arguments, and names the ones it cannot rebuild with the reason.
"""

from __future__ import annotations

import codecs
from collections import Counter, OrderedDict

from ember._backend import xp
from ember._device import device
from ember._dtype import _BY_NAME, dtype as dtype_class
from ember._serialization.common import Corrupt
from ember._serialization.torch_pickle import STORAGE_TYPES
from ember._tensor import Size, Tensor
from ember.nn.parameter import Parameter

_MISSING_DTYPES = [
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


class StorageType:
    """What a ``torch.FloatStorage``-style global stands for: the dtype of its elements."""

    def __init__(self, name: str, dtype_name: str):
        self.name = name
        self.dtype = xp.dtype(dtype_name)


class Storage:
    def __init__(self, array, location: str):
        self.array = array
        self.location = location


class Rebuilder:
    """The stand-ins one load's pickle may call, by the names PyTorch's pickles give them."""

    def __init__(self, relocate):
        self.relocate = relocate

    def allowed(self) -> dict:
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
            "torch._utils._rebuild_tensor": self.rebuild_tensor,
            "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
            "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
            "torch._utils._rebuild_parameter": _rebuild_parameter,
            "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
            "torch._tensor._rebuild_from_type_v2": self.rebuild_from_type_v2,
            "torch.storage.UntypedStorage": StorageType("UntypedStorage", "uint8"),
        }
        for name, dtype in _BY_NAME.items():
            if dtype.name == name:
                allowed[f"torch.{name}"] = dtype
        for dtype_name, storage_name in STORAGE_TYPES.items():
            allowed[f"torch.{storage_name}"] = StorageType(storage_name, dtype_name)
        return allowed

    def rebuild_tensor(self, storage, storage_offset, size, stride):
        return self.rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)

    def rebuild_tensor_v2(
        self, storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
    ):
        if metadata:
            raise Corrupt(f"a tensor carries metadata {metadata!r:.80} that ember cannot apply")
        if not isinstance(storage, Storage):
            raise Corrupt(f"a tensor is rebuilt from {type(storage).__name__}, not a storage")
        array = view(storage.array, storage_offset, size, stride)
        tensor = self.relocate(Tensor._make(array), storage.location)
        if type(requires_grad) is not bool:
            raise Corrupt(f"a tensor's requires_grad is {requires_grad!r:.40}, not a bool")
        return tensor.requires_grad_() if requires_grad else tensor

    def rebuild_tensor_v3(
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
        if not isinstance(storage, Storage) or not isinstance(dtype, dtype_class):
            raise Corrupt("a tensor is rebuilt from something that is not a storage and dtype")
        target = dtype.numpy
        if storage.array.dtype != target:
            flat = storage.array
            if flat.nbytes % target.itemsize:
                raise Corrupt(f"a storage of {flat.nbytes} bytes cannot hold {dtype} elements")
            storage = Storage(flat.view(target), storage.location)
        return self.rebuild_tensor_v2(
            storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata
        )

    def rebuild_from_type_v2(self, function, new_type, args, state):
        if new_type not in (_TENSOR_TYPE, Parameter) or state or type(args) is not tuple:
            raise Corrupt(
                "the checkpoint holds a tensor subclass or a tensor with Python attributes, "
                "which ember cannot rebuild"
            )
        if function not in (self.rebuild_tensor_v2, self.rebuild_tensor, _rebuild_parameter):
            raise Corrupt(f"a tensor is rebuilt by {function!r:.60}, which ember does not allow")
        return function(*args)


_TENSOR_TYPE = object()  # torch.Tensor: only a marker for _rebuild_from_type_v2, never built


def unsupported() -> dict:
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


def view(flat, storage_offset, size, stride):
    """The tensor's elements as a view of its storage, after checking they lie inside it."""
    if not (
        is_count(storage_offset)
        and isinstance(size, tuple | list)
        and isinstance(stride, tuple | list)
        and len(size) == len(stride) <= 64
        and all(map(is_count, size))
        and all(map(is_count, stride))
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


def is_count(value) -> bool:
    return type(value) is int and value >= 0


def _rebuild_parameter(data, requires_grad, backward_hooks=None):
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
