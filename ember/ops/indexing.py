"""Indexing: ``x[index]``, ``x[index] = value``, gathers, scatters, masks and diagonals.

Every read is one ``Index`` op over a *key* and every write one ``IndexPut`` op over the
same key; each is the other's backward, so gradients of any order flow through them.
A key is ``(basic, advanced)``: ``basic`` (ints, slices, None, then Ellipsis) is applied
first and gives a view, ``advanced`` (slices and int arrays, or None) then indexes that
view as NumPy does. Splitting the two reproduces PyTorch's placement of advanced result
dims: ints select before the tensor indices are looked at.
"""

from __future__ import annotations

import math
from functools import partial
from string import ascii_letters

from ember import _tape
from ember._autocast import FLOAT32, autocasts
from ember._backend import (
    add_at,
    asarray,
    cuda as _cuda,
    device_index,
    is_writable,
    scatter_at,
    to_device,
    xp,
)
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops._array_math import ArrayMath
from ember.ops._function import (
    Op,
    _legacy,
    as_tensor_operand,
    broadcast_shape,
    checked_scalar,
    inplace,
    snapshot,
    wrap_dim,
)
from ember.ops._index_key import read as _read, write as _write
from ember.ops.shape import expand, reshape

__all__ = [
    "argwhere",
    "diag",
    "diag_embed",
    "diagonal",
    "gather",
    "getitem",
    "index_add",
    "index_copy",
    "index_fill",
    "index_put",
    "index_select",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "nonzero",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "setitem",
    "take",
    "take_along_dim",
    "trace",
    "tril",
    "triu",
]

_INDEX_KINDS = "iub"


# ---------------------------------------------------------------- keys


def _target_shape(shape, key) -> tuple:
    """The shape ``_read`` gives for an array of ``shape``, without touching data."""
    basic, advanced = key
    if advanced is not None:  # host stand-ins of the index arrays, which may be on a GPU
        advanced = tuple(
            item if isinstance(item, slice) or type(item) is xp.ndarray
            else xp.broadcast_to(xp.zeros((), xp.intp), item.shape)
            for item in advanced
        )
    return _read(xp.broadcast_to(xp.zeros((), xp.int8), shape), (basic, advanced)).shape


def _treat_as_tuple(index: list) -> bool:
    # PyTorch's legacy rule: a short list holding sequences, slices, None, ... or
    # tensors is a tuple of indices, not one index.
    if len(index) >= 32:
        return False
    return any(
        isinstance(item, (Tensor, list, tuple, slice)) or item is None or item is Ellipsis
        for item in index
    )


def _index_array(item):
    """An int or bool array (or a Python int) from a tensor, list or array index."""
    if isinstance(item, Tensor):
        array = item._data
    else:
        array = asarray(item)
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(xp.int64)
        elif array.dtype.kind == "f":
            array = array.astype(xp.int64)  # PyTorch truncates float lists too
    if array.dtype.kind not in _INDEX_KINDS:
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if array.ndim == 0 and array.dtype.kind in "iu" and array.dtype != xp.uint8:
        if isinstance(item, Tensor):  # PyTorch reads it as an int: a compiled call cannot
            _tape.graph_break("indexing with a 0-d integer tensor reads its value into Python")
        return int(array)
    return array


def _normalize(item):
    if isinstance(item, xp.generic):
        # PyTorch takes NumPy integer scalars as ints but refuses its bool and float scalars.
        if item.dtype.kind in "iu":
            return int(item)
        raise IndexError(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
            f"valid indices (got numpy.{type(item).__name__})"
        )
    if isinstance(item, range):
        item = list(item)  # PyTorch reads a range as the sequence of its integers
    if isinstance(item, (Tensor, list)) or hasattr(item, "__array__"):
        return _index_array(item)
    if item is None or item is Ellipsis or isinstance(item, (slice, bool)):
        return item
    if hasattr(item, "__index__"):
        return int(item.__index__())
    if isinstance(item, str):
        raise TypeError(f"string indices are not supported (got {item!r})")
    raise IndexError(
        "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
        f"valid indices (got {type(item).__name__})"
    )


def _consumed(item) -> int:
    if isinstance(item, (int, slice)) and not isinstance(item, bool):
        return 1
    if hasattr(item, "dtype"):
        return item.ndim if item.dtype.kind == "b" or item.dtype == xp.uint8 else 1
    return 0


def _checked(array, size: int, dim: int):
    array = array.astype(xp.int64, copy=False)
    if array.size:
        bad = array[(array < -size) | (array >= size)]
        if bad.size:
            raise IndexError(
                f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {dim} "
                f"with size {size}"
            )
    return xp.where(array < 0, array + size, array)


def _parse_index(shape, index, data, holes=None) -> tuple:
    """PyTorch's reading of ``index`` for a tensor of ``shape``, as a ``(basic, advanced)`` key
    whose index arrays lie on the device of the array ``data``.

    Given a list ``holes``, an integer tensor's array stays in the key as it is, unchecked:
    ``holes`` gets ``(its place in advanced, the size it indexes, its dim, the tensor)``,
    and ``_filled`` checks and places it (in the op's forward: a compiled call replays it).
    """
    if isinstance(index, list) and _treat_as_tuple(index):
        index = tuple(index)
    elif not isinstance(index, tuple):
        index = (index,)
    origins = [item if isinstance(item, Tensor) else None for item in index] \
        if holes is not None else [None] * len(index)
    items = [_normalize(item) for item in index]
    ndim = len(shape)
    consumed = sum(_consumed(item) for item in items)
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, advanced = [], {}
    dim = view_dim = 0  # position in the input, position in the basic view
    for item, origin in zip(items, origins):
        if item is Ellipsis:
            # PyTorch lets a second ellipsis through; it can only cover what is left.
            skipped = min(ndim - consumed, ndim - dim)
            basic.extend([slice(None)] * skipped)
            dim, view_dim = dim + skipped, view_dim + skipped
        elif item is None:
            basic.append(None)
            view_dim += 1
        elif isinstance(item, bool) or (hasattr(item, "dtype") and item.ndim == 0):
            basic.append(None)  # a scalar mask adds a dim of size 1 or 0
            advanced[view_dim] = xp.zeros(1 if bool(item) else 0, xp.int64, like=data)
            view_dim += 1
        elif isinstance(item, int):
            size = shape[dim]
            if not -size <= item < size:
                raise IndexError(
                    f"index {item} is out of bounds for dimension {dim} with size {size}"
                )
            basic.append(item)
            dim += 1
        elif isinstance(item, slice):
            if item.step is not None and int(item.step) <= 0:
                raise ValueError("step must be greater than zero")
            basic.append(item)
            dim, view_dim = dim + 1, view_dim + 1
        elif item.dtype.kind == "b" or item.dtype == xp.uint8:
            span = item.ndim
            for offset, coordinates in enumerate(_mask_coordinates(item, shape, dim)):
                advanced[view_dim + offset] = coordinates
            basic.extend([slice(None)] * span)
            dim, view_dim = dim + span, view_dim + span
        else:
            advanced[view_dim] = _integer_index(item, origin, shape[dim], dim, view_dim, data,
                                                holes)
            basic.append(slice(None))
            dim, view_dim = dim + 1, view_dim + 1
    basic.append(Ellipsis)  # keeps a full integer selection a 0-d view, not a scalar
    if not advanced:
        return tuple(basic), None
    _check_broadcast(list(advanced.values()))
    advanced = _on_device(advanced, data, holes)
    last = max(advanced)
    return tuple(basic), tuple(advanced.get(d, slice(None)) for d in range(last + 1))


def _integer_index(array, origin, size: int, dim: int, place: int, data, holes):
    """What an integer index ``array`` (from the tensor ``origin``, or None) puts in the
    key: checked (``_checked``); or, while a compiled call records (``holes`` a list), left
    as it is for ``_filled`` to check in the op, noted in ``holes``."""
    if holes is None:
        return _checked(array, size, dim)
    if origin is None:  # from Python values (a list): a constant of the recording
        return _tape.derived(_checked(array, size, dim))
    if device_index(origin._data) == device_index(data):
        holes.append((place, size, dim, origin))
        return array
    return _checked(array, size, dim)  # moved to ``data``'s device: a replay cannot follow


def _on_device(advanced: dict, data, holes) -> dict:
    """The index arrays on the device of ``data``: a list or a CPU tensor indexes a CUDA
    tensor as in PyTorch (an array in ``holes`` moves where ``_filled`` places it)."""
    device = device_index(data)
    if device is not None:
        filled = {place for place, *_ in holes or ()}
        return {d: array if d in filled else to_device(array, device)
                for d, array in advanced.items()}
    if _cuda.in_use and any(device_index(array) is not None for array in advanced.values()):
        raise RuntimeError("indices should be either on cpu or on the same device as the "
                           "indexed tensor (cpu)")
    return advanced


def _filled(key, holes, device, *arrays):
    """``key`` with each integer index array checked (``_checked``) and put in its place
    (``holes`` of ``_parse_index``, without the tensors), on ``device``."""
    basic, advanced = key
    advanced = list(advanced)
    for (place, size, dim), array in zip(holes, arrays):
        array = _checked(array, size, dim)
        advanced[place] = array if device is None else to_device(array, device)
    return basic, tuple(advanced)


def _keyed(key, holes, data) -> tuple:
    """The arguments after ``x`` of an ``Index`` or ``IndexPut`` whose key has ``holes``:
    the key as a function of the index arrays (``_filled``), and the index tensors."""
    places = tuple((place, size, dim) for place, size, dim, _ in holes)
    return partial(_filled, key, places, device_index(data)), [t for *_, t in holes]


def _mask_coordinates(mask, shape, dim) -> list:
    """The coordinates a boolean ``mask`` selects, one int64 array per dim it spans from ``dim``;
    PyTorch's IndexError where its shape differs from the indexed tensor's."""
    span = mask.ndim
    if tuple(mask.shape) != tuple(shape[dim : dim + span]):
        for offset in range(span):
            if mask.shape[offset] != shape[dim + offset]:
                raise IndexError(
                    f"The shape of the mask {list(mask.shape)} at index {offset} does "
                    f"not match the shape of the indexed tensor {list(shape)} at index "
                    f"{dim + offset}"
                )
    return [coordinates.astype(xp.int64) for coordinates in xp.nonzero(mask)]


def _check_broadcast(arrays) -> None:
    try:
        xp.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(list(a.shape)) for a in arrays)
        raise IndexError(
            f"shape mismatch: indexing tensors could not be broadcast together with shapes {shapes}"
        ) from None


def _dim_key(ndim: int, dim: int, index_array) -> tuple:
    """The key of ``x.index_select(dim, index)``."""
    return (Ellipsis,), (slice(None),) * dim + (index_array,)


def _along_key(index_array, dim: int) -> tuple:
    """The key of ``x.gather(dim, index)``: ``index`` along ``dim``, positions elsewhere."""
    ndim = index_array.ndim
    parts = []
    for d, size in enumerate(index_array.shape):
        if d == dim:
            parts.append(index_array)
        else:
            positions = xp.arange(size, like=index_array)
            parts.append(positions.reshape([size if i == d else 1 for i in range(ndim)]))
    return (Ellipsis,), tuple(parts)


# ---------------------------------------------------------------- the two primitives


class Index(Op):
    """``x[key]``; a view when the key is basic.

    The key may be a function of index arrays that follow it: the forward builds it from
    them and checks them (``_keyed``), so that a compiled call does it on each call's
    indices.
    """

    view_of = 0

    @staticmethod
    def forward(ctx, x, key, *indices):
        if indices:
            key = key(*indices)
        ctx.shape, ctx.key = x.shape, key
        return _read(x, key)

    @staticmethod
    def gradients(xp, ctx, grad):
        # scattered into zeros: an entry read twice (``x[[0, 0]]``) gets both gradients
        return (xp.add_at_zeros(ctx.shape, ctx.key, grad),) + (None,) * (ctx._num_args - 1)


class IndexPut(Op):
    """A copy of ``x`` with ``x[key] = value`` (or ``+= value`` with ``accumulate``); the
    key may be a function of index arrays that follow, as ``Index``'s."""

    @staticmethod
    def forward(ctx, x, value, key, accumulate, *indices):
        if indices:
            key = key(*indices)
        ctx.key, ctx.accumulate = key, accumulate
        out = x.copy()
        _write(out, key, value, accumulate)
        return out

    @staticmethod
    def gradients(xp, ctx, grad):
        needs = ctx.needs_input_grad
        grad_x = grad_value = None
        if needs[0]:
            grad_x = grad if ctx.accumulate else xp.set_at(grad, ctx.key, 0)
        if needs[1]:
            grad_value = xp.get_at(grad, ctx.key)  # the engine sums over broadcast dims
        return (grad_x, grad_value) + (None,) * (ctx._num_args - 2)


# PyTorch's node names for the same two primitives, by the function that makes them.
class Select(Index):
    """``x[i]`` with an int ``i``."""


class Slice(Index):
    """``x[start:stop:step]``."""


class Unsqueeze(Index):
    """``x[None]``."""


class Alias(Index):
    """``x[...]``."""


class IndexSelect(Index):
    """``index_select``."""


class Gather(Index):
    """``gather`` and ``take_along_dim``."""


class Take(Index):
    """``take``."""


class MaskedSelect(Index):
    """``masked_select``."""


class IndexAdd(IndexPut):
    """``index_add``."""


class IndexCopy(IndexPut):
    """``index_copy``."""


class IndexFill(IndexPut):
    """``index_fill``."""


class Scatter(IndexPut):
    """``scatter``."""


class ScatterAdd(IndexPut):
    """``scatter_add``."""


class MaskedScatter(Op):
    """``masked_scatter``: a copy of ``x`` with the first entries of ``source`` written, in
    order, where ``mask`` (of ``x``'s shape) is True. The mask is an input, read afresh on
    each call, so a compiled replay follows a mask with another count of True."""

    @staticmethod
    def forward(ctx, x, source, mask):
        key = _mask_key(mask)
        count = key[1][0].size
        flat = source.reshape(-1)
        if flat.size < count:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        ctx.key, ctx.count, ctx.source_shape = key, count, source.shape
        return ArrayMath.set_at(x, key, flat[:count])

    @staticmethod
    def gradients(xp, ctx, grad):
        needs = ctx.needs_input_grad
        grad_x = grad_source = None
        if needs[0]:
            grad_x = xp.set_at(grad, ctx.key, 0)
        if needs[1]:  # the values written, then zeros for the entries of source left over
            written = xp.get_at(grad, ctx.key)
            size = math.prod(ctx.source_shape)
            grad_source = xp.reshape(xp.pad(written, ((0, size - ctx.count),)),
                                     ctx.source_shape)
        return grad_x, grad_source, None


class MaskedFill(Op):
    """``x`` with ``value`` where ``mask`` is True: one pass, no coordinates of the mask.

    ``mask`` and ``x`` broadcast to the result's shape; a 0-d tensor ``value`` receives
    the sum of the gradient over the filled positions.
    """

    @staticmethod
    def forward(ctx, x, value, mask):
        if mask.shape != x.shape:
            mask = xp.broadcast_to(mask, xp.broadcast_shapes(x.shape, mask.shape))
        ctx.mask = mask
        out = xp.empty(mask.shape, x.dtype, like=x)
        xp.copyto(out, x)
        xp.copyto(out, value, casting="unsafe", where=mask)
        return out

    @staticmethod
    def gradients(xp, ctx, grad):
        needs, mask = ctx.needs_input_grad, ctx.mask
        return (
            xp.masked_fill(grad, mask, 0) if needs[0] else None,
            xp.sum(grad, where=mask) if needs[1] else None,
            None,
        )


def _reader(key):
    basic, advanced = key
    if advanced is not None:
        return Index
    if any(isinstance(item, slice) and item != slice(None) for item in basic):
        return Slice
    if any(isinstance(item, int) for item in basic):
        return Select
    return Unsqueeze if any(item is None for item in basic) else Alias


# ---------------------------------------------------------------- x[index], x[index] = v


_BOUNDS = (int, type(None))


def _plain_slice(index: slice) -> bool:
    """Whether ``index`` has Python ints (or None) for bounds and a positive step."""
    step = index.step
    return type(index.start) in _BOUNDS and type(index.stop) in _BOUNDS and (
        step is None or (type(step) is int and step > 0))


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]`` with PyTorch's rules: ints, slices, None, ``...``, int/bool tensors.

    Basic indexing (ints, slices, None, ``...``) returns a view sharing ``input``'s
    storage; tensor, list and mask indices gather a copy. Repeated indices accumulate
    their gradients.

    Example::

        >>> x = ember.arange(6.).reshape(2, 3)
        >>> x[:, [2, 0]]
        tensor([[2., 0.],
                [5., 3.]])
    """
    if type(index) is slice and _plain_slice(index) and input._data.ndim:
        # ``x[a:b]``, the commonest index: ``_parse_index``'s key without its walk. As in
        # PyTorch, a lone slice is a ``Slice`` even where it takes everything (``x[:]``).
        return Slice.apply(input, ((index, Ellipsis), None))
    # While a compiled call records, integer tensors are checked and placed in the op,
    # which a replay runs on each call's indices; eagerly the key is made here, at once.
    holes = [] if _tape.current() is not None else None
    key = _parse_index(input.shape, index, input._data, holes)
    if holes:
        function, tensors = _keyed(key, holes, input._data)
        return Index.apply(input, function, *tensors)
    return _reader(key).apply(input, key)


def _setitem_value(input: Tensor, key, value):
    """``value`` ready to be written at ``key``: checked, cast, leading 1-dims dropped."""
    target = _target_shape(input.shape, key)
    if not isinstance(value, Tensor):
        if type(value) is int and not -(2**63) <= value < 2**63:
            raise ValueError("Overflow when unpacking long long")  # PyTorch reads an int64
        value = as_tensor_operand(value, "setitem")
        if not isinstance(value, Tensor):
            return checked_scalar(value, input)
    if value.dtype is not input.dtype:
        if key[1] is not None:
            raise RuntimeError(
                "Index put requires the source and destination dtypes match, got "
                f"{_legacy(input.dtype)} for the destination and {_legacy(value.dtype)} for "
                "the source."
            )
        value = value.to(input.dtype)
    shape = tuple(value.shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    if shape != tuple(value.shape):
        value = value.reshape(shape)
    try:
        if broadcast_shape("setitem", shape, target) != tuple(target):
            raise RuntimeError
    except RuntimeError:
        if key[1] is not None:
            raise RuntimeError(
                f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast "
                f"to indexing result of shape {list(target)}"
            ) from None
        raise RuntimeError(_expand_message(shape, target)) from None
    return value


def _expand_message(shape, target) -> str:
    padded = (1,) * (len(target) - len(shape)) + tuple(shape)
    dim = next((i for i in range(len(target)) if padded[i] not in (1, target[i])), len(target) - 1)
    return (
        f"The expanded size of the tensor ({target[dim] if target else 1}) must match the "
        f"existing size ({padded[dim] if padded else 1}) at non-singleton dimension {dim}.  "
        f"Target sizes: {list(target)}.  Tensor sizes: {list(shape)}"
    )


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value`` in place; ``value`` is a number or a broadcastable tensor.

    Gradients flow to ``value`` (summed over broadcast and repeated positions) and to
    the untouched positions of ``input``; overwritten positions receive zero.
    """
    taped = _tape.current() is not None
    holes = [] if taped else None
    key = _parse_index(input.shape, index, input._data, holes)
    value = _setitem_value(input, key, value)
    recording = grad_mode.state.enabled and (
        input._requires_grad or (isinstance(value, Tensor) and value._requires_grad)
    )
    if recording and key[1] is None and input._requires_grad and input.grad_fn is None:
        # PyTorch writes a basic index through a view of the leaf, and says so.
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place "
            "operation."
        )
    if not recording and not is_writable(input._data):
        raise RuntimeError(
            "setitem: unsupported operation: the tensor is a broadcast (expanded) view whose "
            "elements share memory; call .clone() before writing to it."
        )
    if recording or taped:  # an op, written back in place: a compiled call replays it
        function, tensors = _keyed(key, holes, input._data) if holes else (key, ())
        result = IndexPut.apply(snapshot(input), value, function, False, *tensors)
        inplace(input, result, "setitem")
        return
    _write(input._data, key, value._data if isinstance(value, Tensor) else value, False)
    input._version_counter[0] += 1
    return


# ---------------------------------------------------------------- dim-wise gathers and writes


def _check_index_dtype(index: Tensor, op: str, allow_int32: bool = True) -> None:
    kinds = ("int64", "int32") if allow_int32 else ("int64",)
    if index.dtype.name not in kinds:
        expected = "int32 or int64" if allow_int32 else "int64"
        raise RuntimeError(f"{op}(): Expected dtype {expected} for index")


def _vector_index(input: Tensor, dim: int, index: Tensor, op: str):
    """The checked int64 array of a 0-d or 1-d ``index`` into ``input``'s ``dim``.

    As in PyTorch, only ``index_fill`` accepts negative indices.
    """
    _check_vector(index, op)
    size = input.shape[dim] if input.ndim else 1
    # a constant index (the sizes alone made it) gives a constant array
    return _tape.derived(_vector_values(op, dim, size, index._data), index)


def _check_vector(index: Tensor, op: str) -> None:
    """``_vector_index``'s checks of the index's type and shape."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype.name not in ("int64", "int32"):
        if op == "index_select":
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        raise RuntimeError(
            f"{op}_(): Expected dtype int32/int64 for index but got: {_legacy(index.dtype)}"
        )
    if index.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")


def _vector_values(op: str, dim: int, size: int, array):
    """``_vector_index``'s array from the index's: its values checked, negative ones (which
    only ``index_fill`` takes) counted from the end."""
    array = array.reshape(-1).astype(xp.int64)
    low = -size if op == "index_fill" else 0
    bad = array[(array < low) | (array >= size)]
    if bad.size:
        if op in ("index_select", "index_add"):
            raise IndexError("index out of range in self")
        prefix = "index_copy_(): " if op == "index_copy" else ""
        raise IndexError(
            f"{prefix}index {int(bad[0])} is out of bounds for dimension {dim} with size {size}"
        )
    return xp.where(array < 0, array + size, array)


def _selection_key(ndim: int, dim: int, size: int, index):
    """``index_select``'s key from its index array, checked: made in the op's forward, so
    that a compiled call replays it."""
    return _dim_key(ndim, dim, _vector_values("index_select", dim, size, index))


def _as_1d(input: Tensor):
    return reshape(input, (1,)) if input.ndim == 0 else input


def _restore(result: Tensor, like: Tensor) -> Tensor:
    return reshape(result, ()) if like.ndim == 0 and result.ndim == 1 else result


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The entries of ``input`` at positions ``index`` along ``dim``.

    Shape: ``index`` is 1-D of length ``n``; the result is ``input``'s shape with ``dim``
    replaced by ``n``.
    """
    dim = wrap_dim(dim, input.ndim, "index_select")
    _check_vector(index, "index_select")
    if input.ndim == 0:
        key = partial(_selection_key, 1, 0, 1)
        return _restore(IndexSelect.apply(_as_1d(input), key, index), input)
    return IndexSelect.apply(input, partial(_selection_key, input.ndim, dim, input.shape[dim]),
                             index)


def _dim_source(input: Tensor, dim: int, array, source: Tensor, op: str) -> None:
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"{op}_(): self ({_legacy(input.dtype)}) and source ({_legacy(source.dtype)}) must "
            "have the same scalar type"
        )
    source_count = source.shape[dim] if source.ndim else 1
    if op == "index_copy" and source_count != array.size:
        raise IndexError(
            f"index_copy_(): Number of indices ({array.size}) should be equal to "
            f"source.size(dim) ({source_count})"
        )
    expected = list(input.shape)
    if expected:
        expected[dim] = array.size
    if source.ndim and list(source.shape) != expected or (not source.ndim and array.size != 1):
        raise RuntimeError(
            f"{op}_(): Source/destination tensor must have same slice shapes. Destination "
            f"slice shape: {list(input.shape)} at dimension {dim} and source slice shape: "
            f"{list(source.shape)} at dimension {dim}."
        )


def index_add(
    input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1, out=None
) -> Tensor:
    """``input`` with ``alpha * source`` added at ``index`` along ``dim``; repeats add up."""
    dim = wrap_dim(dim, input.ndim, "index_add")
    array = _vector_index(input, dim, index, "index_add")
    _dim_source(input, dim, array, source, "index_add")
    value = source if alpha == 1 else source * alpha
    if input.ndim == 0:
        return _restore(
            IndexAdd.apply(_as_1d(input), _as_1d(value), _dim_key(1, 0, array), True), input
        )
    return IndexAdd.apply(input, value, _dim_key(input.ndim, dim, array), True)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out=None) -> Tensor:
    """``input`` with the slices ``source`` written at positions ``index`` along ``dim``."""
    dim = wrap_dim(dim, input.ndim, "index_copy")
    array = _vector_index(input, dim, index, "index_copy")
    _dim_source(input, dim, array, source, "index_copy")
    if input.ndim == 0:
        return _restore(
            IndexCopy.apply(_as_1d(input), _as_1d(source), _dim_key(1, 0, array), False), input
        )
    return IndexCopy.apply(input, source, _dim_key(input.ndim, dim, array), False)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with the scalar ``value`` written at positions ``index`` along ``dim``."""
    dim = wrap_dim(dim, input.ndim, "index_fill")
    array = _vector_index(input, dim, index, "index_fill")
    value = checked_scalar(_scalar_value(value, "index_fill_"), input)
    if input.ndim == 0:
        return _restore(IndexFill.apply(_as_1d(input), value, _dim_key(1, 0, array), False), input)
    return IndexFill.apply(input, value, _dim_key(input.ndim, dim, array), False)


def _scalar_value(value, op: str):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"{op} only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)."
            )
        return value
    return as_tensor_operand(value, op)


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``, repeats add)."""
    for position, item in enumerate(indices):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"expected Tensor as element {position} in argument 1, but got "
                f"{type(item).__name__}"
            )
    if values.dtype is not input.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{_legacy(input.dtype)} for the destination and {_legacy(values.dtype)} for the "
            "source."
        )
    holes = [] if _tape.current() is not None else None  # as in ``setitem``
    key = _parse_index(input.shape, tuple(indices), input._data, holes)
    values = _setitem_value(input, key, values)
    function, tensors = _keyed(key, holes, input._data) if holes else (key, ())
    return IndexPut.apply(input, values, function, bool(accumulate), *tensors)


def _check_along(input: Tensor, dim: int, index: Tensor, op: str, source=None,
                 values: bool = True) -> None:
    """PyTorch's checks of a gather's or scatter's ``index``: its type and shape, then (with
    ``values``; else the keyed op's forward does it, ``_along_checked``) its values."""
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(index).__name__}")
    _check_index_dtype(index, op, allow_int32=op == "gather")
    if index.ndim != input.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > input.shape[d]:
            raise RuntimeError(
                f"Size does not match at dimension {d} expected index {list(index.shape)} to be "
                f"no larger than self {list(input.shape)} apart from dimension {dim}"
            )
        if source is not None and index.shape[d] > source.shape[d]:
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self "
                f"{list(input.shape)} apart from dimension {dim} and to be no larger size than "
                f"src {list(source.shape)}"
            )
    if values:
        _in_bounds(index._data, input.shape[dim] if input.ndim else 1, dim)


def _in_bounds(array, size: int, dim: int) -> None:
    if array.size:
        bad = array[(array < 0) | (array >= size)]
        if bad.size:
            raise RuntimeError(
                f"index {int(bad.reshape(-1)[0])} is out of bounds for dimension {dim} with "
                f"size {size}"
            )


def _along_checked(dim: int, size: int, index):
    """The key of a gather or scatter along ``dim`` (of ``size``) from its ``index`` array,
    checked (``_in_bounds``): made in the op's forward, so a compiled call replays it."""
    _in_bounds(index, size, dim)
    return _along_key(index.astype(xp.int64), dim)


def _along(input: Tensor, dim: int, index: Tensor) -> tuple:
    """The key function and the index of a gather or scatter of ``input`` along ``dim``
    (a 0-d ``input`` and ``index`` read as 1-d)."""
    if input.ndim == 0:
        return partial(_along_checked, 0, 1), _as_1d(index)
    return partial(_along_checked, dim, input.shape[dim]), index


def gather(
    input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None
) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` for ``dim == 1`` (and likewise).

    Shape: ``index`` has ``input``'s number of dims; ``out`` has ``index``'s shape.
    """
    dim = wrap_dim(dim, input.ndim, "gather")
    _check_along(input, dim, index, "gather", values=False)
    key, index = _along(input, dim, index)
    if input.ndim == 0:
        return _restore(Gather.apply(_as_1d(input), key, index), input)
    return Gather.apply(input, key, index)


def _scatter_source(src: Tensor, index: Tensor):
    """``src`` trimmed to ``index``'s shape (only that corner of it is scattered)."""
    if tuple(src.shape) == tuple(index.shape):
        return src
    return getitem(src, tuple(slice(0, size) for size in index.shape))


def _scatter_args(input, dim, index, src, op, values: bool = True):
    dim = wrap_dim(dim, input.ndim, op)
    source = src if isinstance(src, Tensor) else None
    _check_along(input, dim, index, op, source, values)
    if source is not None and source.dtype is not input.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
    return dim


class ScatterWithReduce(Op):
    """The deprecated ``scatter(..., reduce=)``: PyTorch gives it no derivative."""

    node_name = "NotImplemented"

    @staticmethod
    def forward(ctx, x, value, key, reduce):
        out = x.copy()
        view = out[key[0]]
        scatter_at(xp.add if reduce == "add" else xp.multiply, view, key[1], value)
        return out

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::scatter is not implemented")


def scatter(
    input: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None, out=None
) -> Tensor:
    """``input`` with ``src`` (or the scalar ``value``) written at ``index`` along ``dim``.

    ``out[i][index[i][j]] = src[i][j]`` for ``dim == 1``. ``reduce='add'`` or
    ``'multiply'`` combines instead of overwriting (not differentiable, as in PyTorch).
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    dim = _scatter_args(input, dim, index, src, "scatter", values=reduce is not None)
    src = (
        _scatter_source(src, index)
        if isinstance(src, Tensor)
        else as_tensor_operand(src, "scatter")
    )
    if input.ndim == 0:
        src = _as_1d(src) if isinstance(src, Tensor) else src
        return _restore(_scatter(_as_1d(input), 0, _as_1d(index), src, reduce), input)
    return _scatter(input, dim, index, src, reduce)


def _scatter(input, dim, index, src, reduce):
    if reduce is None:  # its values checked in the op
        key, index = _along(input, dim, index)
        return Scatter.apply(input, src, key, False, index)
    key = _along_key(index._data.astype(xp.int64), dim)
    if reduce not in ("add", "multiply"):
        raise RuntimeError(f"reduce argument must be either add or multiply. Got {reduce}")
    return ScatterWithReduce.apply(input, src, key, reduce)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim``; repeated positions add up."""
    dim = _scatter_args(input, dim, index, src, "scatter_add", values=False)
    src = _scatter_source(src, index)
    key, index = _along(input, dim, index)
    if input.ndim == 0:
        return _restore(ScatterAdd.apply(_as_1d(input), _as_1d(src), key, True, index), input)
    return ScatterAdd.apply(input, src, key, True, index)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -xp.inf if reduce == "amax" else xp.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Op):
    @staticmethod
    def forward(ctx, x, src, key, reduce, include_self):
        ctx.key, ctx.reduce, ctx.include_self = key, reduce, include_self
        hit = xp.zeros(x.shape, bool, like=x)
        hit[key[1]] = True
        out = x.copy()
        if not include_self:
            out[hit] = _identity(reduce, x.dtype)
        ufunc = {
            "sum": xp.add,
            "mean": xp.add,
            "prod": xp.multiply,
            "amax": xp.maximum,
            "amin": xp.minimum,
        }[reduce]
        scatter_at(ufunc, out, key[1], src)
        ctx.hit = hit
        if reduce == "mean":
            count = (xp.ones if include_self else xp.zeros)(x.shape, x.dtype, like=x)
            add_at(count, key[1], 1)
            count[count == 0] = 1
            out = out // count if x.dtype.kind in "iub" else out / count
            ctx.count = count
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, src, out = ctx.saved_tensors
        key, reduce, hit = ctx.key, ctx.reduce, Tensor._make(ctx.hit)
        if reduce == "mean":
            grad = grad / Tensor._make(ctx.count)
        if reduce in ("sum", "mean"):
            grad_x = grad if ctx.include_self else masked_fill(grad, hit, 0)
            return grad_x, Index.apply(grad, key), None, None, None
        if reduce == "prod":
            return _prod_backward(ctx, grad, x, src, out) + (None, None, None)
        x_is, src_is = x._data == out._data, src._data == _read(out._data, key)
        if not ctx.include_self:
            x_is = x_is & ~ctx.hit
        count = x_is.astype(grad._data.dtype)
        add_at(count, key[1], src_is)
        share = grad / Tensor._make(count)  # ties share the gradient equally
        grad_x = share * Tensor._make(x_is.astype(share._data.dtype))
        grad_src = Index.apply(share, key) * Tensor._make(src_is.astype(share._data.dtype))
        return grad_x, grad_src, None, None, None


def _prod_backward(ctx, grad, x, src, out):
    from ember.ops.elementwise import where

    key, include_self = ctx.key, ctx.include_self
    x_zero = Tensor._make(x._data == 0)
    safe_x = where(x_zero, 1.0, x)
    grad_x = grad * ScatterReduce.apply(safe_x, src, key, "prod", include_self) / safe_x
    if not include_self:
        grad_x = masked_fill(grad_x, Tensor._make(ctx.hit), 0)
    src_zero = src._data == 0
    zeros_per_slot = xp.zeros(x.shape, xp.int64, like=src_zero)
    add_at(zeros_per_slot, key[1], src_zero)
    single = Tensor._make(src_zero & (_read(zeros_per_slot, key) == 1))
    # A lone zero in a product: its gradient is the product of the others, not out / 0.
    without = ScatterReduce.apply(x, where(single, 1.0, src), key, "prod", include_self)
    grad_src = where(
        single,
        Index.apply(grad * without, key),
        Index.apply(grad * out, key) / where(Tensor._make(src_zero), 1.0, src),
    )
    return grad_x, grad_src


def scatter_reduce(
    input: Tensor,
    dim: int,
    index: Tensor,
    src: Tensor,
    reduce: str,
    *,
    include_self: bool = True,
    out=None,
) -> Tensor:
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with ``sum``, ``prod``,
    ``mean``, ``amax`` or ``amin``; ``include_self=False`` ignores ``input``'s own values
    at the positions that receive something.
    """
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch accepts both
    if reduce not in _REDUCTIONS:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    dim = _scatter_args(input, dim, index, src, "scatter_reduce")
    src = _scatter_source(src, index)
    if input.ndim == 0:
        key = _along_key(_as_1d(index)._data, 0)
        result = ScatterReduce.apply(_as_1d(input), _as_1d(src), key, reduce, include_self)
        return _restore(result, input)
    key = _along_key(index._data.astype(xp.int64), dim)
    return ScatterReduce.apply(input, src, key, reduce, include_self)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at positions ``index``; the result has ``index``'s shape."""
    if index.dtype.name != "int64":
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {_legacy(index.dtype)}"
        )
    return Take.apply(reshape(input, (-1,)), partial(_take_key, input.numel()), index)


def _take_key(count: int, index):
    """``take``'s key from its index array, checked: made in the op's forward, so that a
    compiled call replays it."""
    array = index.astype(xp.int64)
    bad = array[(array < -count) | (array >= count)]
    if bad.size:
        raise IndexError(
            f"out of range: tried to access index {int(bad.reshape(-1)[0])} on a tensor of "
            f"{count} elements."
        )
    return (Ellipsis,), (xp.where(array < 0, array + count, array),)


def take_along_dim(input: Tensor, indices: Tensor, dim=None, *, out=None) -> Tensor:
    """``gather`` along ``dim`` after broadcasting ``input`` and ``indices`` over the other dims;
    with ``dim=None`` both are flattened first."""
    if dim is None:
        return gather(reshape(input, (-1,)), 0, reshape(indices, (-1,)))
    if input.ndim != indices.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {input.ndim} dimensions for input, and {indices.ndim} "
            "dimensions for indices"
        )
    dim = wrap_dim(dim, input.ndim, "take_along_dim")
    shape_input, shape_indices = list(input.shape), list(indices.shape)
    shape_input[dim] = shape_indices[dim] = 1
    common = list(broadcast_shape("take_along_dim", shape_input, shape_indices))
    common_input, common_indices = common.copy(), common.copy()
    common_input[dim], common_indices[dim] = input.shape[dim], indices.shape[dim]
    return gather(expand(input, tuple(common_input)), dim, expand(indices, tuple(common_indices)))


# ---------------------------------------------------------------- masks


def _mask_key(mask_array) -> tuple:
    return (Ellipsis,), tuple(c.astype(xp.int64) for c in xp.nonzero(mask_array))


def _check_mask(mask, op: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.dtype.name != "bool":
        raise RuntimeError(
            f"{op} only supports boolean masks, but got mask with dtype {_mask_name(mask)}"
        )


def _mask_name(mask: Tensor) -> str:
    return {"int64": "long int", "int32": "int", "uint8": "unsigned char"}.get(
        mask.dtype.name, mask.dtype.name
    )


def _broadcast_input(input: Tensor, mask: Tensor, op: str):
    """``input`` and ``mask`` expanded to the shape they broadcast to."""
    shape = broadcast_shape(op, input.shape, mask.shape)
    return tuple(t if tuple(t.shape) == shape else expand(t, shape) for t in (input, mask))


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` where ``mask`` is True (``mask`` broadcasts).

    ``value`` is a number or a 0-d tensor; a 0-d tensor receives the sum of the
    gradient over the filled positions.
    """
    _check_mask(mask, "masked_fill_")
    value = checked_scalar(_scalar_value(value, "masked_fill_"), input)
    broadcast_shape("masked_fill", input.shape, mask.shape)
    return MaskedFill.apply(input, value, mask)


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """The 1-D tensor of ``input``'s entries where ``mask`` is True (both broadcast)."""
    _check_mask(mask, "masked_select")
    shape = broadcast_shape("masked_select", input.shape, mask.shape)
    if tuple(input.shape) != shape:
        input = expand(input, shape)
    return MaskedSelect.apply(input, _mask_key(xp.broadcast_to(mask._data, shape)))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with consecutive entries of ``source`` written where ``mask`` is True."""
    _check_mask(mask, "masked_scatter_")
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"masked_scatter_: expected self and source to have same dtypes but got "
            f"{_legacy(input.dtype)} and {_legacy(source.dtype)}"
        )
    if input.ndim == mask.ndim == 0:  # one element: as a 1-D one, whose mask has coordinates
        return reshape(masked_scatter(reshape(input, (1,)), reshape(mask, (1,)), source), ())
    input, mask = _broadcast_input(input, mask, "masked_scatter")
    return MaskedScatter.apply(input, source, mask)


def nonzero(input: Tensor, *, out=None, as_tuple: bool = False):
    """The int64 coordinates of ``input``'s nonzero entries, one row per entry.

    With ``as_tuple=True``, one 1-D tensor per dim (a 0-d input counts as 1-D).
    """
    data = input._data
    if as_tuple:
        coordinates = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(Tensor._make(c.astype(xp.int64)) for c in coordinates)
    if data.ndim == 0:
        return Tensor._make(xp.zeros((int(bool(data)), 0), xp.int64, like=data))
    return Tensor._make(xp.argwhere(data).astype(xp.int64))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: one row of coordinates per nonzero entry."""
    return nonzero(input)


# ---------------------------------------------------------------- triangles and diagonals


class Tril(Op):
    @staticmethod
    def forward(ctx, x, diagonal):
        ctx.diagonal = diagonal
        return xp.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Tril.apply(grad, ctx.diagonal), None


class Triu(Op):
    @staticmethod
    def forward(ctx, x, diagonal):
        ctx.diagonal = diagonal
        return xp.triu(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Triu.apply(grad, ctx.diagonal), None


def _check_matrix(input: Tensor, op: str) -> None:
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle of the last two dims: entries with ``col - row <= diagonal``."""
    _check_matrix(input, "tril")
    return Tril.apply(input, int(diagonal))


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle of the last two dims: entries with ``col - row >= diagonal``."""
    _check_matrix(input, "triu")
    return Triu.apply(input, int(diagonal))


def _diagonal_view(array, offset: int, dim1: int, dim2: int):
    """A writable view of the diagonal, moved to the last dim. NumPy's ``diagonal`` is
    read-only; a one-operand einsum without a sum is a writable view in NumPy and CuPy."""
    shape = array.shape
    if offset >= 0:
        length = max(0, min(shape[dim1], shape[dim2] - offset))
        first1, first2 = 0, min(offset, shape[dim2])
    else:
        length = max(0, min(shape[dim1] + offset, shape[dim2]))
        first1, first2 = min(-offset, shape[dim1]), 0
    corner = [slice(None)] * array.ndim
    corner[dim1], corner[dim2] = slice(first1, first1 + length), slice(first2, first2 + length)
    letters = list(ascii_letters[: array.ndim])
    letters[dim2] = letters[dim1]
    rest = "".join(letter for d, letter in enumerate(letters) if d not in (dim1, dim2))
    return xp.einsum(f"{''.join(letters)}->{rest}{letters[dim1]}", array[tuple(corner)])


class Diagonal(Op):
    view_of = 0

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.args = x.shape, (offset, dim1, dim2)
        return _diagonal_view(x, offset, dim1, dim2)

    @staticmethod
    def backward(ctx, grad):
        return DiagEmbed.apply(grad, ctx.shape, *ctx.args), None, None, None


class DiagEmbed(Op):
    """Zeros of ``shape`` with ``x`` on the diagonal ``(offset, dim1, dim2)``."""

    @staticmethod
    def forward(ctx, x, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = xp.zeros(shape, x.dtype, like=x)
        _diagonal_view(out, offset, dim1, dim2)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None


class DiagonalCopy(Diagonal):
    node_name = "DiagonalBackward0_copy"
    view_of = None

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        return Diagonal.forward(ctx, x, offset, dim1, dim2).copy()


def _diagonal_dims(ndim: int, dim1: int, dim2: int, op: str) -> tuple:
    dim1, dim2 = wrap_dim(dim1, ndim, op), wrap_dim(dim2, ndim, op)
    if dim1 == dim2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return dim1, dim2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``input[..., i, i + offset]`` of dims ``(dim1, dim2)``, as the last dim.

    A view: writing to it writes into ``input``.
    """
    dim1, dim2 = _diagonal_dims(input.ndim, dim1, dim2, "diagonal")
    return Diagonal.apply(input, int(offset), dim1, dim2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose ``(dim1, dim2)`` diagonal ``offset`` holds ``input``'s last dim, zeros
    elsewhere; the result has one more dim than ``input``."""
    ndim = input.ndim + 1
    dim1, dim2 = _diagonal_dims(ndim, dim1, dim2, "diag_embed")
    size = (input.shape[-1] if input.ndim else 1) + abs(int(offset))
    rest = iter(input.shape[:-1])
    shape = tuple(size if d in (dim1, dim2) else next(rest) for d in range(ndim))
    return DiagEmbed.apply(input, shape, int(offset), dim1, dim2)


def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """A 1-D ``input`` placed on diagonal ``diagonal`` of a square matrix, or the diagonal
    of a 2-D ``input`` as a new 1-D tensor."""
    if input.ndim == 1:
        size = input.shape[0] + abs(int(diagonal))
        return DiagEmbed.apply(input, (size, size), int(diagonal), 0, 1)
    if input.ndim == 2:
        return DiagonalCopy.apply(input, int(diagonal), 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


class Trace(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        dtype = xp.int64 if x.dtype.kind in "iub" else x.dtype
        return asarray(xp.trace(x, dtype=dtype))

    @staticmethod
    def backward(ctx, grad):
        length = min(ctx.shape)
        return (DiagEmbed.apply(grad.expand(length), ctx.shape, 0, 0, 1),)


@autocasts(FLOAT32)
def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D ``input``; integers sum to int64."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return Trace.apply(input)
