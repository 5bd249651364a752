"""Making tensors: from data, filled with a constant, or as ranges.

Random creation and sampling live in ``ember.ops.random``.
"""

from __future__ import annotations

import warnings

from ember import _tape
from ember._backend import (
    asarray as _array,
    cast,
    device_index,
    is_array,
    library,
    ndarray,
    on_device,
    to_device,
    xp,
)
from ember._device import array_index
from ember._dtype import (
    bool_,
    check_python_int,
    checked_int,
    from_numpy_dtype,
    get_default_dtype,
    int64,
    promote_types,
    to_dtype,
)
from ember._memory_format import contiguous_format, in_format, is_in_format, preserve_format
from ember._tensor import Tensor

__all__ = [
    "tensor",
    "as_tensor",
    "asarray",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "empty_strided",
    "arange",
    "range",
    "linspace",
    "logspace",
    "eye",
    "scalar_tensor",
    "tril_indices",
    "triu_indices",
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]

def _target(array, device) -> int | None:
    """Where a new tensor goes: ``device``; else where ``array`` is, if on a GPU; else the
    default device."""
    here = device_index(array)
    return here if device is None and here is not None else array_index(device)


def _finish(array, dtype, requires_grad, device) -> Tensor:
    if dtype is not None:
        array = array.astype(to_dtype(dtype).numpy, copy=False)
    array = to_device(array, _target(array, device))
    result = _tape.made(Tensor._make(array))
    if requires_grad:
        result.requires_grad_(True)
    return result


def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, int) and not hasattr(s, "__index__"):
            raise TypeError(f"size must be a tuple of ints, but got {type(s).__name__}")
        if int(s) < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {int(s)}: {list(size)}"
            )
    return tuple(int(s) for s in size)


def _ragged_message(data, depth: int = 0) -> str | None:
    if not isinstance(data, (list, tuple)) or not data:
        return None
    lengths = {len(item) if isinstance(item, (list, tuple)) else -1 for item in data}
    if len(lengths) > 1:
        sequence = [item for item in data if isinstance(item, (list, tuple))]
        if len(sequence) < len(data) and sequence:
            return f"expected sequence of length {len(sequence[0])} at dim {depth + 1} (got scalar)"
        first = len(data[0])
        other = next(len(item) for item in data if len(item) != first)
        return f"expected sequence of length {first} at dim {depth + 1} (got {other})"
    for item in data:
        message = _ragged_message(item, depth + 1)
        if message:
            return message
    return None


def _unwrap(data, leaves: set):
    """``data`` with tensors replaced by arrays; ``leaves`` collects the dtype of each tensor,
    array and NumPy scalar met, and the type of each Python scalar."""
    if isinstance(data, (list, tuple)):
        return [_unwrap(item, leaves) for item in data]
    if isinstance(data, Tensor):
        _tape.graph_break("a tensor made from another tensor's values (torch.tensor(t))")
        data = data._data
    elif is_array(data) and not isinstance(data, xp.generic):  # it may change in place
        _tape.graph_break("a tensor made from an array's values (torch.tensor(array)), "
                          "which can change between calls")
    leaves.add(data.dtype if isinstance(data, (ndarray, xp.generic)) else type(data))
    if type(data) is int and not _INT64_MIN <= data <= _INT64_MAX:
        leaves.add(_HugeInt)
    return data


class _HugeInt:
    """Marks, among the leaves of ``tensor``'s data, a Python int that int64 cannot hold."""


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _huge_ints(data, dtype, leaves):
    """Data holding an int beyond int64, as floats: PyTorch's ValueError for integer tensors."""
    if dtype is not None:
        integral = to_dtype(dtype).numpy.kind in "iu"
    else:
        integral = float not in leaves and not any(not isinstance(leaf, type) for leaf in leaves)
    if integral:
        raise ValueError("Overflow when unpacking long long")
    return _array(data).astype(xp.float64)


def _promoted_leaves(leaves: set):
    """PyTorch's inferred dtype for a sequence holding tensors, arrays or NumPy scalars: their
    dtypes and the Python scalars' (default float, int64, bool) promoted together."""
    python = {bool: bool_, int: int64, float: get_default_dtype()}
    result = None
    for leaf in leaves:
        found = python.get(leaf) if isinstance(leaf, type) else from_numpy_dtype(leaf)
        if found is not None:
            result = found if result is None else promote_types(result, found)
    return result


def _from_data(data, dtype=None):
    """An array from nested data, with PyTorch's dtype inference (or ``dtype`` when given)."""
    if isinstance(data, Tensor):
        return data._data
    if is_array(data):
        if not isinstance(data, xp.generic):  # a NumPy scalar cannot change; an array can
            _tape.graph_break("a tensor made from an array's values (torch.tensor(array)), "
                              "which can change between calls")
        array = _array(data)
        from_numpy_dtype(array.dtype)
        return array
    leaves = set()
    if isinstance(data, (list, tuple)):
        message = _ragged_message(data)
        if message:
            raise ValueError(message)
        data = _unwrap(data, leaves)
    if _HugeInt in leaves or (type(data) is int and not _INT64_MIN <= data <= _INT64_MAX):
        data = _huge_ints(data, dtype, leaves)
    try:
        array = _array(data)
    except (ValueError, TypeError) as error:
        raise TypeError(
            f"tensor(): could not convert data of type {type(data).__name__}: {error}"
        ) from None
    if dtype is None and any(not isinstance(leaf, type) for leaf in leaves):
        return array.astype(_promoted_leaves(leaves).numpy)
    if dtype is not None and array.dtype.kind in "biuf":
        return array
    if array.dtype.kind == "f":
        return array.astype(get_default_dtype().numpy)
    if array.dtype.kind in "iu" and not is_array(data):
        return array.astype(int64.numpy)
    if array.dtype.kind == "O" or array.dtype.kind in "USc":
        raise TypeError(f"tensor(): could not infer a dtype for {type(data).__name__} data")
    return array


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, scalars, arrays or tensors).

    Python floats become the default dtype (float32), ints become int64, bools bool;
    NumPy arrays keep their dtype.

    Example::

        >>> ember.tensor([[0., 0.]], requires_grad=True)
        tensor([[0., 0.]], requires_grad=True)
    """
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_(True), "
            "rather than "
            "torch.tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
    array = _from_data(data, dtype)
    if dtype is None:
        return _finish(array.copy(), None, requires_grad, device)
    target = to_dtype(dtype).numpy
    if target.kind in "iu" and not isinstance(data, Tensor) and not is_array(data):
        _check_fits(array, target)
    return _finish(cast(array, target), None, requires_grad, device)


def _check_fits(array, target) -> None:
    """PyTorch's checked conversion of Python numbers to an integer dtype.

    An int takes the dtype's range (an unsigned one also negatives down to ``-max``, which
    wrap); a float must lie within it as it is, so NaN, ``127.5`` for int8 and ``-1.0`` for
    uint8 are refused.
    """
    if array.size == 0 or array.dtype.kind == "b":
        return
    info = xp.iinfo(target)
    if array.dtype.kind == "f":
        low = info.min if target.kind == "i" else 0
        fits = bool(((array >= low) & (array <= info.max)).all())  # NaN is outside
    else:
        low = info.min if target.kind == "i" else -int(info.max)
        fits = low <= int(array.min()) and int(array.max()) <= info.max
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {target.name} without overflow")


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a tensor or array of the right dtype."""
    if isinstance(data, Tensor):
        return data if dtype is None or to_dtype(dtype) is data.dtype else data.to(dtype)
    if isinstance(data, ndarray):
        _tape.graph_break("a tensor over a NumPy array's values (as_tensor)")
        return _finish(data, dtype, False, device)
    return _finish(_from_data(data, dtype), dtype, False, device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False) -> Tensor:
    result = tensor(obj, dtype=dtype) if copy else as_tensor(obj, dtype=dtype, device=device)
    return result.requires_grad_(requires_grad) if requires_grad else result


def from_numpy(array) -> Tensor:
    """A tensor that shares memory with the NumPy array ``array``."""
    if not isinstance(array, ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    from_numpy_dtype(array.dtype)
    _tape.graph_break("a tensor over a NumPy array's values (from_numpy)")
    return Tensor._make(array)


def _filled(fill, size, dtype, device, requires_grad, default=None, memory_format=None,
            like=None) -> Tensor:
    target = to_dtype(dtype) if dtype is not None else (default or get_default_dtype())
    if type(fill) is int:
        fill = _int_fill(fill, target.numpy)
    if like is not None and memory_format is preserve_format:
        array = xp.full_like(like, fill, dtype=target.numpy, order="K")  # keeps a dense layout
    else:
        index = _target(like, device) if like is not None else array_index(device)
        with on_device(index):
            array = library(index).full(_size(size), fill, dtype=target.numpy)
        if memory_format is not None and not is_in_format(array, memory_format):
            array = in_format(array, memory_format)
    return _finish(array, None, requires_grad, device)


def _int_fill(fill: int, numpy_dtype):
    """A Python int fill value as PyTorch converts it: it must fit an integer dtype."""
    check_python_int(fill)
    if numpy_dtype.kind in "iu":
        return checked_int(fill, numpy_dtype)
    return bool(fill) if numpy_dtype.kind == "b" else fill


_NOT_GIVEN = object()


def _size_of(op: str, sizes: tuple, size=_NOT_GIVEN) -> tuple:
    """The size from ``op(2, 3)``, ``op((2, 3))`` or ``op(size=(2, 3))``, checked as PyTorch
    does."""
    if size is not _NOT_GIVEN:
        if sizes:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                f"{op}(): argument 'size' must be tuple of ints, not {type(size).__name__}"
            )
        return tuple(size)
    if not sizes:
        raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
    return sizes


def zeros(*sizes, size=_NOT_GIVEN, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size (float32 unless ``dtype`` says otherwise).

    The size is given as ``zeros(2, 3)``, ``zeros((2, 3))`` or ``zeros(size=(2, 3))``.
    """
    return _filled(0, _size_of("zeros", sizes, size), dtype, device, requires_grad)


def ones(*sizes, size=_NOT_GIVEN, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size (given as for ``zeros``)."""
    return _filled(1, _size_of("ones", sizes, size), dtype, device, requires_grad)


def empty(*sizes, size=_NOT_GIVEN, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False, memory_format=contiguous_format,
          pin_memory: bool = False) -> Tensor:
    """An uninitialized tensor (ember fills it with zeros, so it is never garbage)."""
    return _filled(0, _size_of("empty", sizes, size), dtype, device, requires_grad,
                   memory_format=memory_format)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialized (zero-filled) tensor of ``size`` whose ``stride()`` is ``stride``."""
    shape, strides = _size(tuple(size)), tuple(int(step) for step in stride)
    if len(shape) != len(strides):
        raise RuntimeError(
            f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
            f"({len(strides)})"
        )
    target = to_dtype(dtype) if dtype is not None else get_default_dtype()
    extent = 0 if 0 in shape else 1 + sum((n - 1) * step for n, step in zip(shape, strides))
    storage = xp.zeros(extent, dtype=target.numpy)
    itemsize = storage.itemsize
    array = xp.lib.stride_tricks.as_strided(
        storage, shape, tuple(step * itemsize for step in strides)
    )
    return _finish(array, None, requires_grad, device)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``; its dtype is inferred from the value as PyTorch does."""
    shape = (size,) if isinstance(size, int) else tuple(size)
    if dtype is None:
        fill_value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
        default = (bool_ if isinstance(fill_value, bool)
                   else int64 if isinstance(fill_value, int) else None)
        return _filled(fill_value, shape, None, device, requires_grad, default)
    return _filled(fill_value, shape, dtype, device, requires_grad)


def _like(input: Tensor, fill, dtype, device, requires_grad, memory_format) -> Tensor:
    return _filled(fill, input.shape, dtype or input.dtype, device, requires_grad,
                   memory_format=memory_format, like=input._data)


_LIKE_ARGS = """

    Args:
        input: the tensor whose shape the result takes, and its dtype unless ``dtype`` is
            given.
        dtype: the result's dtype.
        requires_grad: whether autograd records operations on the result.
        memory_format: the result's layout; ``preserve_format`` keeps ``input``'s (dense).
        layout, device, pin_memory: PyTorch's; only the strided layout on the CPU exists.
"""


def _filled_like(name: str, fill, summary: str):
    """The ``*_like`` function ``name``, with PyTorch's signature: ``input``'s shape, ``fill``."""

    def like(input: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
             memory_format=preserve_format, pin_memory: bool = False) -> Tensor:
        return _like(input, fill, dtype, device, requires_grad, memory_format)

    like.__name__ = like.__qualname__ = name
    like.__doc__ = summary + _LIKE_ARGS
    return like


zeros_like = _filled_like("zeros_like", 0, "A tensor of zeros the shape of ``input``.")
ones_like = _filled_like("ones_like", 1, "A tensor of ones the shape of ``input``.")
empty_like = _filled_like(
    "empty_like", 0,
    "An uninitialized tensor the shape of ``input`` (ember fills it with zeros, so it is "
    "never garbage).",
)


def full_like(input: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=preserve_format,
              pin_memory: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` the shape of ``input``; the other arguments are
    ``zeros_like``'s."""
    return _like(input, fill_value, dtype, device, requires_grad, memory_format)


def scalar_tensor(s, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s`` (float32 unless ``dtype`` says otherwise)."""
    return _filled(s, (), dtype, device, requires_grad)


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 unless any is a float."""
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            "arange(): upper bound and larger bound inconsistent with step sign"
        )
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = get_default_dtype() if is_float else int64
    target = to_dtype(dtype)
    count = max(0, int(xp.ceil((end - start) / step)))
    array = (start + step * xp.arange(count, dtype=xp.float64)).astype(target.numpy)
    if target.numpy.kind in "iu" and all(isinstance(v, int) for v in (start, end, step)):
        array = xp.arange(start, start + count * step, step, dtype=target.numpy)[:count]
    return _finish(array, None, requires_grad, device)


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Deprecated in PyTorch: like ``arange`` but includes ``end``; float by default."""
    if end is None:
        start, end = 0, start
    count = int((end - start) // step) + 1
    array = start + step * xp.arange(count, dtype=xp.float64)
    return _finish(array, dtype or get_default_dtype(), requires_grad, device)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    array = xp.linspace(_number(start), _number(end), int(steps))
    return _finish(array, dtype or get_default_dtype(), requires_grad, device)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """``base`` raised to ``steps`` values evenly spaced from ``start`` to ``end``."""
    array = xp.logspace(_number(start), _number(end), int(steps), base=base)
    return _finish(array, dtype or get_default_dtype(), requires_grad, device)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """A 2-D tensor with ones on the diagonal."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"eye(): n and m must be non-negative, got n={n}, m={m}")
    array = xp.eye(n, n if m is None else m)
    return _finish(array, dtype or get_default_dtype(), requires_grad, device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) coordinates of the lower triangle (diagonal ``offset`` and below) of a
    ``row`` x ``col`` matrix, row by row."""
    array = xp.stack(xp.tril_indices(int(row), int(offset), int(col)))
    return _finish(array.reshape(2, -1), dtype or int64, False, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """The (2, N) coordinates of the upper triangle (diagonal ``offset`` and above) of a
    ``row`` x ``col`` matrix, row by row."""
    array = xp.stack(xp.triu_indices(int(row), int(offset), int(col)))
    return _finish(array.reshape(2, -1), dtype or int64, False, device)


class _LegacyTensorType(type):
    """``ember.FloatTensor`` and friends: calling one is the legacy constructor
    ``Tensor(data)`` / ``Tensor(*sizes)`` with its dtype; ``isinstance`` checks the dtype."""

    def __call__(cls, *args, device=None):
        return Tensor(*args, device=device, dtype=cls.dtype)

    def __instancecheck__(cls, value) -> bool:
        return isinstance(value, Tensor) and value.dtype.name == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_type(name: str, dtype: str):
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": __name__})


FloatTensor = _legacy_type("FloatTensor", "float32")
DoubleTensor = _legacy_type("DoubleTensor", "float64")
HalfTensor = _legacy_type("HalfTensor", "float16")
LongTensor = _legacy_type("LongTensor", "int64")
IntTensor = _legacy_type("IntTensor", "int32")
ShortTensor = _legacy_type("ShortTensor", "int16")
CharTensor = _legacy_type("CharTensor", "int8")
ByteTensor = _legacy_type("ByteTensor", "uint8")
BoolTensor = _legacy_type("BoolTensor", "bool")
