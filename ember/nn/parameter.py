"""``Parameter`` and ``Buffer``: tensors that a ``Module`` registers when they are assigned;
``UninitializedParameter`` and ``UninitializedBuffer``: their stand-ins in a lazy module until
its first call gives them a shape."""

from __future__ import annotations

from ember._tensor import Size, Tensor, _init
from ember.ops.creation import empty
from ember.ops.sparse import _calling_op

__all__ = [
    "Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter",
    "UninitializedTensorMixin", "is_lazy",
]  # fmt: skip


class Parameter(Tensor):
    """A tensor that is a module's learnable weight; it requires grad by default.

    Assigning a ``Parameter`` to a module attribute registers it, so it appears in
    ``module.parameters()`` and ``module.state_dict()``. It shares storage with ``data``.

    Example::

        >>> self.weight = nn.Parameter(ember.randn(3, 2))
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        parameter = object.__new__(cls)
        _init(parameter, data._data, False)
        parameter._version_counter = data._version_counter
        parameter.requires_grad = requires_grad
        return parameter

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._make(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(Tensor._make(array), requires_grad)


class Buffer(Tensor):
    """A tensor that a module registers as a buffer when assigned (``persistent`` or not)."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        buffer = object.__new__(cls)
        _init(buffer, data._data, data.requires_grad)
        buffer.persistent = persistent
        return buffer

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass


# ---------------------------------------------------------------- uninitialized tensors
# The array slot of every tensor. An uninitialized tensor hides it behind a property that
# raises (so any op handed one fails as it unwraps it, as a sparse tensor does) and keeps
# there an empty array that only carries the dtype and device it will be made with.
_slot = Tensor._data

_USED = (
    "Attempted to use an uninitialized parameter in {}. This error happens when you are using "
    "a `LazyModule` or explicitly manipulating `torch.nn.parameter.UninitializedParameter` "
    "objects. When using LazyModules Call `forward` with a dummy batch to initialize the "
    "parameters before calling torch functions"
)


class UninitializedTensorMixin:
    """What ``UninitializedParameter`` and ``UninitializedBuffer`` share: a dtype, a device and
    ``requires_grad`` but no shape or values until ``materialize(shape)``, which gives them
    storage and turns them into ``cls_to_become`` in place (so a module or an optimizer that
    holds one holds the real tensor afterwards).

    Any op given one raises ValueError; ``shape`` raises RuntimeError. ``dtype``, ``device``,
    ``requires_grad``, ``size()`` (``[0]``), ``data`` and ``to(...)`` (the empty placeholder,
    cast or moved: what ``Module.to`` and ``Module.double`` use) work.
    """

    __slots__ = ()
    cls_to_become: type = Tensor

    @property
    def _data(self):
        raise ValueError(_USED.format(_calling_op()))

    @_data.setter
    def _data(self, array) -> None:
        _slot.__set__(self, array)

    def _placeholder(self) -> Tensor:
        return Tensor._make(_slot.__get__(self))

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give this tensor storage of ``shape`` (left uninitialized: ember fills it with zeros)
        on ``device`` with ``dtype`` (by default its own), and make it a ``cls_to_become``.

        Args:
            shape (tuple of int): the shape of the new tensor.
            device (device, optional): its device. Default: this tensor's.
            dtype (dtype, optional): its dtype. Default: this tensor's.
        """
        placeholder = self._placeholder()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        array = empty(shape, device=device or placeholder.device,
                      dtype=dtype or placeholder.dtype)._data
        _slot.__set__(self, array)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes.")

    def size(self, dim=None):
        shape = _slot.__get__(self).shape
        return Size(shape) if dim is None else Size(shape)[dim]

    @property
    def ndim(self) -> int:
        return 1  # the empty placeholder's, as in PyTorch

    @property
    def dtype(self):
        return self._placeholder().dtype

    @property
    def device(self):
        return self._placeholder().device

    @property
    def is_cuda(self) -> bool:
        return self._placeholder().is_cuda

    def get_device(self) -> int:
        return self._placeholder().get_device()

    @property
    def data(self) -> Tensor:
        return self._placeholder()

    @data.setter
    def data(self, value: Tensor) -> None:
        _slot.__set__(self, value._data)

    # What would read ``shape`` or ``requires_grad`` before the storage, and so raise another
    # error than PyTorch's, raises the use error at once.
    def requires_grad_(self, requires_grad: bool = True):
        raise ValueError(_USED.format("requires_grad_"))

    def __getitem__(self, index):
        raise ValueError(_USED.format("__getitem__"))

    def __setitem__(self, index, value):
        raise ValueError(_USED.format("__setitem__"))

    def numpy(self, *, force: bool = False):
        raise ValueError(_USED.format("numpy"))

    def to(self, *args, **kwargs) -> Tensor:
        """The empty placeholder, cast or moved: a plain tensor for a parameter (which
        ``Module._apply`` reads the storage of), a new uninitialized buffer for a buffer."""
        result = self._placeholder().to(*args, **kwargs)
        if not isinstance(self, Buffer):
            return result
        if result._data is _slot.__get__(self):
            return self
        return _remake(type(self), self.requires_grad, result._data, self.__dict__)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = _remake(type(self), self.requires_grad, _slot.__get__(self).copy(),
                                     self.__dict__)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return (_remake, (type(self), self.requires_grad, _slot.__get__(self), self.__dict__))


def _remake(cls, requires_grad: bool, array, attributes: dict):
    """A new uninitialized tensor of ``cls`` over the placeholder ``array``."""
    tensor = object.__new__(cls)
    _init(tensor, array, False)
    tensor._requires_grad = requires_grad
    tensor.__dict__.update(attributes)
    return tensor


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter with no shape yet: a lazy module's weight until its first call.

    Args:
        requires_grad (bool): as ``Parameter``'s. Default: ``True``.
        device (device, optional), dtype (dtype, optional): those of the parameter to be made.

    Example::

        >>> weight = nn.UninitializedParameter()
        >>> weight.materialize((3, 2))
        >>> type(weight).__name__, weight.shape
        ('Parameter', ember.Size([3, 2]))
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer with no shape yet (a lazy batch norm's running statistics); assigned to a
    module, it registers as a buffer, ``persistent`` or not. ``materialize`` makes it a
    plain ``Tensor``.

    Args:
        requires_grad (bool): Default: ``False``.
        device (device, optional), dtype (dtype, optional): those of the tensor to be made.
        persistent (bool): whether ``state_dict()`` includes it. Default: ``True``.
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        buffer = _remake(cls, False, empty(0, device=device, dtype=dtype)._data, {})
        buffer.requires_grad = requires_grad
        buffer.persistent = persistent
        return buffer

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True):
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialized parameter or buffer (still waiting for a shape)."""
    return isinstance(param, UninitializedTensorMixin)
