"""``Tensor``: an array, and the record of how it was made.

A tensor holds an ``xp`` array (``_data``), whether it ``requires_grad``, and, when an
operation made it while grad mode was on, that operation's node (``grad_fn``).
Almost every method is a one-line call into ``ember.ops``; what lives here is the
tensor's own state: attributes, conversions, autograd bookkeeping and printing.
"""

from __future__ import annotations

import weakref

from ember import _backend
from ember._backend import asarray, bfloat16 as _numpy_bfloat16, xp
from ember._device import array_index, device as _device_cls, of_index
from ember._dtype import _BY_NUMPY, dtype as _dtype_cls, from_numpy_dtype, to_dtype
from ember._hooks import add_hook, note_hooked
from ember._memory_format import contiguous_format as _contiguous_format, is_in_format
from ember._tape import anywhere as _recording_anywhere, grad_cleared, grad_read, graph_break
from ember._tensor_str import tensor_repr

_new = object.__new__


class Size(tuple):
    """The shape of a tensor: a tuple of ints that also knows its ``numel``."""

    def numel(self) -> int:
        count = 1
        for size in self:
            count *= size
        return count

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def __getitem__(self, index):
        result = tuple.__getitem__(self, index)
        return Size(result) if isinstance(index, slice) else result


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    Example::

        >>> x = ember.tensor([[1., 2.]], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([[2., 4.]])
    """

    __slots__ = (
        "_data",
        "_requires_grad",
        "_grad",
        "grad_fn",
        "_output_nr",
        "_version_counter",
        "_base",
        "_hooks",
        "_accumulator",
        "_post_accumulate_hooks",
        "__weakref__",
        "__dict__",
    )
    __array_priority__ = 1000  # NumPy defers to ember's reflected operators

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, device=None, dtype=None):
        """Legacy constructor: ``Tensor(data)`` or ``Tensor(*sizes)``, float32 by default."""
        index = array_index(device)
        if len(args) == 1 and not isinstance(args[0], int):
            source = args[0]
            array = source._data.copy() if isinstance(source, Tensor) else asarray(source)
            if not isinstance(source, Tensor):
                array = array.astype(to_dtype(dtype or "float32").numpy)
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            # Tensor() is an empty 1-D tensor, as in PyTorch; sizes get zeros, never garbage.
            array = xp.zeros(tuple(sizes) if args else (0,),
                             dtype=to_dtype(dtype or "float32").numpy)
        _init(self, _backend.to_device(array, index), False)

    @classmethod
    def _make(cls, array, requires_grad: bool = False) -> Tensor:
        tensor = _new(cls)
        tensor._data = array
        tensor._requires_grad = requires_grad
        tensor._grad = None
        tensor.grad_fn = None
        tensor._output_nr = 0
        tensor._version_counter = [0]
        tensor._base = None
        tensor._hooks = None
        tensor._accumulator = None
        tensor._post_accumulate_hooks = None
        return tensor

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, "size")]

    @property
    def dtype(self) -> _dtype_cls:
        numpy_dtype = self._data.dtype
        return _BY_NUMPY.get(numpy_dtype) or from_numpy_dtype(numpy_dtype)

    @property
    def device(self) -> _device_cls:
        return of_index(_backend.device_index(self._data))

    @property
    def is_cuda(self) -> bool:
        return _backend.device_index(self._data) is not None

    def get_device(self) -> int:
        """The GPU's number for a CUDA tensor, -1 for a CPU tensor."""
        index = _backend.device_index(self._data)
        return -1 if index is None else index

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self, memory_format=_contiguous_format) -> bool:
        return is_in_format(self._data, memory_format)

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim, "stride")]

    def storage_offset(self) -> int:
        """Elements between the start of the storage (the base's data) and this tensor's first."""
        if self._base is None:
            return 0
        start = _backend.address(self._data)
        return (start - _backend.address(self._base._data)) // self._data.itemsize

    def data_ptr(self) -> int:
        return self._data.__array_interface__["data"][0]

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    # ------------------------------------------------------------ autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach()."
                )
            return
        if value and not self.dtype.is_floating_point:
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients "
                f"(got {self.dtype})"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by backward passes (None until the first)."""
        if _recording_anywhere.count:  # a compiled call follows it after a backward() only
            grad_read(self)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is None:  # a step of a compiled call (``Tape.grad_cleared``)
            if _recording_anywhere.count:
                grad_cleared(self)
        elif value is not self._grad:  # ``p.grad *= 2`` assigns it back
            graph_break("assigning .grad inside the compiled call")
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def data(self) -> Tensor:
        """The same storage, detached from the graph (assigning replaces the storage)."""
        tensor = Tensor._make(self._data)
        tensor._version_counter = self._version_counter
        return tensor

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else _backend.asarray(value)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return bool(node is not None and node._retained and self._output_nr in node._retained)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        node = self.grad_fn
        if node is None:
            return
        graph_break("retain_grad() inside the compiled call")
        if node._retained is None:
            node._retained = {}
        note_hooked(node)
        node._retained[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return add_hook(self.grad_fn, "_tensor_hooks", hook, self._output_nr)
        return add_hook(self, "_hooks", hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` on a leaf after its ``.grad`` has been accumulated."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "post accumulate grad hooks cannot be registered on non-leaf tensors"
            )
        return add_hook(self, "_post_accumulate_hooks", hook)

    def detach(self) -> Tensor:
        """A new tensor on the same storage, outside the graph."""
        tensor = Tensor._make(self._data)
        tensor._version_counter = self._version_counter
        return tensor

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def _alias(self) -> Tensor:
        """A new tensor object over the same array, sharing the version counter."""
        tensor = Tensor._make(self._data)
        tensor._version_counter = self._version_counter
        tensor._base = self
        return tensor

    # ------------------------------------------------------------ conversions
    def item(self):
        graph_break("Tensor.item() reads a value into Python")
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        _backend.raise_deferred()
        return self._data.reshape(()).item()

    def tolist(self):
        graph_break("Tensor.tolist() reads a value into Python")
        _backend.raise_deferred()
        return self._data.tolist()

    def numpy(self, *, force: bool = False):
        graph_break("Tensor.numpy() reads a value into Python")
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        if self._data.dtype is _numpy_bfloat16:  # NumPy has no bfloat16, so neither has torch
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self._host(force)

    def __array__(self, dtype=None, copy=None):
        graph_break("Tensor.__array__() reads a value into Python")
        if self._data.dtype is _numpy_bfloat16:
            raise TypeError("Got unsupported ScalarType BFloat16")
        array = self._host(False)
        return array if dtype is None else array.astype(dtype, copy=False)

    def _host(self, copy: bool):
        """The NumPy array of a CPU tensor; a CUDA tensor's values copied when ``copy``."""
        index = _backend.device_index(self._data)
        if index is None:
            return self._data
        if not copy:
            raise TypeError(
                f"can't convert cuda:{index} device type tensor to numpy. Use Tensor.cpu() to "
                "copy the tensor to host memory first."
            )
        return _backend.to_host(self._data)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        graph_break("Tensor.__bool__() reads a value into Python")
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size
                else "Boolean value of Tensor with no values is ambiguous"
            )
        _backend.raise_deferred()
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    __hash__ = object.__hash__  # identity, as in PyTorch; no Python frame per dict lookup

    def __repr__(self) -> str:
        graph_break("printing a tensor reads its values into Python")
        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        # Lets multiprocessing hand tensors between processes; ember.save never pickles.
        return (_rebuild, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        copied = type(self).__new__(type(self))
        _init(copied, self._data.copy(), self._requires_grad)
        if self.grad is not None:
            copied.grad = self.grad.__deepcopy__(memo)
        for key, value in self.__dict__.items():
            copied.__dict__[key] = value
        memo[id(self)] = copied
        return copied

    def pin_memory(self, device=None) -> Tensor:
        """A copy in page-locked host memory, from which ``.to("cuda", non_blocking=True)``
        can copy while the host goes on. Needs CUDA, as in PyTorch."""
        if _backend.device_index(self._data) is not None:
            raise RuntimeError(f"cannot pin '{self.device}' memory: only dense CPU tensors can "
                               "be pinned")
        if self.is_pinned():
            return self
        return Tensor._make(_backend.pinned_copy(self._data), self._requires_grad)

    def is_pinned(self, device=None) -> bool:
        return _backend.is_pinned(self._data)

    def cpu(self, memory_format=None) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
        if device is None or isinstance(device, int):
            device = _device_cls("cuda", device)
        return self.to(device, non_blocking=non_blocking)


def _init(tensor: Tensor, array, requires_grad: bool) -> None:
    tensor._data = array
    tensor._requires_grad = requires_grad
    tensor._grad = None
    tensor.grad_fn = None
    tensor._output_nr = 0
    tensor._version_counter = [0]
    tensor._base = None
    tensor._hooks = None
    tensor._accumulator = None
    tensor._post_accumulate_hooks = None


def _rebuild(array, requires_grad):
    return Tensor._make(array, requires_grad)


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not low <= dim <= high:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return dim % max(ndim, 1)
