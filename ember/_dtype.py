"""dtypes as PyTorch names them, and PyTorch's type-promotion rules."""

from __future__ import annotations

from ember._backend import bfloat16 as _numpy_bfloat16, float_info, xp


class dtype:
    """A tensor element type: ``ember.float32``, ``ember.int64``, ``ember.bool`` ..."""

    __slots__ = ("name", "numpy", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, numpy_type, category: int):
        self.name = name
        self.numpy = xp.dtype(numpy_type)
        self.is_floating_point = category == 2
        self.is_signed = name != "uint8" and name != "bool"
        self.itemsize = self.numpy.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating

    @property
    def is_complex(self) -> bool:
        return False

    def to_real(self) -> dtype:
        return self

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):
        return (_from_name, (self.name,))


bool_ = dtype("bool", xp.bool_, 0)
uint8 = dtype("uint8", xp.uint8, 1)
int8 = dtype("int8", xp.int8, 1)
int16 = dtype("int16", xp.int16, 1)
int32 = dtype("int32", xp.int32, 1)
int64 = dtype("int64", xp.int64, 1)
float16 = dtype("float16", xp.float16, 2)
float32 = dtype("float32", xp.float32, 2)
float64 = dtype("float64", xp.float64, 2)
bfloat16 = dtype("bfloat16", _numpy_bfloat16, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NUMPY = {d.numpy: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(
    float=float32, double=float64, half=float16, long=int64, int=int32, short=int16
)

class _Defaults:
    """The process-wide default floating dtype (``set_default_dtype``), as in PyTorch."""

    float_dtype = float32


_defaults = _Defaults()


def _from_name(name: str) -> dtype:
    return _BY_NAME[name]


def get_default_dtype() -> dtype:
    return _defaults.float_dtype


def set_default_dtype(d: dtype) -> None:
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _defaults.float_dtype = d


def from_numpy_dtype(numpy_dtype) -> dtype:
    """The ember dtype of a NumPy dtype; a clear TypeError for types ember lacks."""
    found = _BY_NUMPY.get(xp.dtype(numpy_dtype))
    if found is None:
        raise TypeError(
            f"can't convert array of dtype {numpy_dtype}: ember supports bool, uint8, "
            "int8, int16, int32, int64, float16, bfloat16, float32 and float64"
        )
    return found


def to_dtype(value) -> dtype:
    """Accept an ember dtype, a Python type (float, int, bool) or a dtype name."""
    if isinstance(value, dtype):
        return value
    if value is float:
        return get_default_dtype()
    if value is int:
        return int64
    if value is bool:
        return bool_
    if isinstance(value, str):
        name = value.removeprefix("torch.").removeprefix("ember.")
        if name in _BY_NAME:
            return _BY_NAME[name]
        raise TypeError(f"invalid dtype string {value!r}; expected one of {sorted(_BY_NAME)}")
    try:
        return from_numpy_dtype(value)
    except TypeError:
        raise TypeError(f"expected an ember dtype, got {value!r}") from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, as ``torch.promote_types``."""
    if a is b:
        return a
    if a._category != b._category:
        high, low = (a, b) if a._category > b._category else (b, a)
        if high._category == 2 or low._category == 0:
            return high
    if a is bfloat16 or b is bfloat16:  # neither float16 nor bfloat16 holds the other
        other = b if a is bfloat16 else a
        return float32 if other is float16 else other
    return _BY_NUMPY[xp.promote_types(a.numpy, b.numpy)]


def _scalar_dtype(value) -> dtype:
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return int64
    if isinstance(value, float):
        return get_default_dtype()
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def _combine(higher, lower):
    """PyTorch's combine_categories: a higher-priority operand wins unless outranked in kind."""
    if higher is None:
        return lower
    if lower is None or higher.is_floating_point:
        return higher
    if higher is bool_ or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """PyTorch's result type: dimensioned tensors outrank 0-d tensors outrank Python scalars.

    A lower-priority operand changes the result only when it is of a higher kind
    (bool < integer < floating), so ``float32 tensor + 0-d float64 tensor`` is float32.
    """
    dimensioned = zero_dim = scalar = None
    for operand in operands:
        operand_dtype = getattr(operand, "dtype", None)
        if operand_dtype is not None and not isinstance(operand_dtype, dtype):
            operand_dtype = from_numpy_dtype(operand_dtype)  # an array inside a forward
        if operand_dtype is not None:
            if operand.ndim:
                dimensioned = (operand_dtype if dimensioned is None
                               else promote_types(dimensioned, operand_dtype))
            else:
                zero_dim = (operand_dtype if zero_dim is None
                            else promote_types(zero_dim, operand_dtype))
        else:
            found = _scalar_dtype(operand)
            scalar = found if scalar is None else promote_types(scalar, found)
    return _combine(dimensioned, _combine(zero_dim, scalar))


_INT64_MIN, _UINT64_END = -(1 << 63), 1 << 64


def check_python_int(value: int) -> None:
    """PyTorch's OverflowError for a Python int that neither int64 nor uint64 can hold."""
    if value < _INT64_MIN:
        raise OverflowError("can't convert negative int to unsigned")
    if value >= _UINT64_END:
        raise OverflowError("int too big to convert")


def wrap_int(value: int, numpy_dtype) -> int:
    """``value`` as a C cast to an integer dtype gives it: modulo ``2 ** bits``."""
    bits = numpy_dtype.itemsize * 8
    value &= (1 << bits) - 1
    if numpy_dtype.kind == "i" and value >> (bits - 1):
        value -= 1 << bits
    return value


def checked_int(value: int, numpy_dtype) -> int:
    """``value`` wrapped to an integer dtype, or PyTorch's RuntimeError where it overflows.

    As PyTorch's ``checked_convert``: a signed dtype takes its own range; an unsigned one
    also takes negatives down to ``-max`` (they wrap, as ``fill_(-1)`` gives 255 in uint8).
    """
    check_python_int(value)
    info = xp.iinfo(numpy_dtype)
    low = info.min if numpy_dtype.kind == "i" else -int(info.max)
    if not low <= value <= info.max:
        raise RuntimeError(
            f"value cannot be converted to type {_C_TYPES[numpy_dtype.name]} without overflow"
        )
    return wrap_int(value, numpy_dtype)


# The C type names in PyTorch's message: int32 is plain ``int`` there.
_C_TYPES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
            "int64": "int64_t"}


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo`` (``bits``, ``eps``, ``max``...)."""

    def __init__(self, type=None):
        type = get_default_dtype() if type is None else to_dtype(type)
        if not type.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. "
                            f"Use torch.iinfo to handle '{type}'")
        info = float_info(type.numpy)
        self.dtype, self.bits = type.name, info.bits
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # exact, as PyTorch's

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo`` (``bits``, ``min``, ``max``)."""

    def __init__(self, type):
        type = to_dtype(type)
        if type.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. "
                            f"Use torch.finfo to handle '{type}'")
        info = xp.iinfo(xp.uint8 if type is bool_ else type.numpy)
        self.dtype, self.bits = type.name, info.bits
        self.min, self.max = int(info.min), int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def can_cast(from_: dtype, to: dtype) -> bool:
    """Whether PyTorch's casting rules allow ``from_`` → ``to`` (never to a lower kind)."""
    return from_._category <= to._category
