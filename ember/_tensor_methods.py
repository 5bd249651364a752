"""The tensor methods that are an ``ember.ops`` function with ``self`` first.

``x.exp()`` is ``ember.exp(x)``, ``x.add_(y)`` is the in-place form of ``ember.add``,
``x + y`` is ``ember.add(x, y)``. Listing them here keeps ``_tensor.py`` about the
tensor's own state.
"""

from __future__ import annotations

import functools
import types
import warnings

from ember import _dtype as dtypes, _tape, autograd, ops
from ember._backend import xp
from ember._device import array_index, device as _device_cls
from ember._dtype import dtype as _dtype_cls, to_dtype
from ember._memory_format import preserve_format as _preserve_format
from ember._tensor import Size, Tensor
from ember.autograd.engine import run_backward
from ember.ops import sparse
from ember.ops._function import inplace, snapshot

# Methods that call the ops function of the same name with self first.
FORWARDED = """
abs absolute acos arccos acosh arccosh add addcdiv addcmul addmm all allclose amax amin aminmax
angle any argmax argmin argsort argwhere asin arcsin asinh arcsinh atan arctan atan2 arctan2 atanh
arctanh baddbmm bernoulli bincount bitwise_and bitwise_not bitwise_or bitwise_xor bmm
broadcast_to ceil cholesky chunk clamp clamp_max clamp_min clip clone contiguous copysign
cos cosh count_nonzero cross cummax cummin cumprod cumsum deg2rad diag diag_embed diagonal diff
digamma dist div divide dot dsplit eq equal erf erfc erfinv exp exp2 expand_as expm1 fix flatten
fliplr flipud float_power floor floor_divide fmax fmin fmod frac gather gcd ge greater
greater_equal gt heaviside histc hsplit hypot i0 index_add index_copy index_fill
index_put index_select inner inverse isclose isfinite isinf isnan isneginf isposinf isreal
kthvalue lcm ldexp le lerp less less_equal lgamma log log10 log1p log2 logaddexp logaddexp2
logcumsumexp logdet logical_and logical_not logical_or logical_xor logit logsumexp lt masked_fill
masked_scatter masked_select matmul matrix_exp matrix_power max maximum mean median min minimum
mm mode moveaxis movedim msort mul multinomial multiply mv mvlgamma nan_to_num nanmean nanmedian
nanquantile nansum narrow ne neg negative nextafter nonzero norm not_equal outer pinverse
positive pow prod quantile rad2deg reciprocal relu remainder renorm repeat_interleave
roll rot90 round rsqrt scatter scatter_add scatter_reduce select sgn sigmoid sign signbit sin
sinc sinh slogdet softmax log_softmax sort split sqrt square squeeze std sub subtract sum
sum_to_size swapaxes swapdims t take take_along_dim tan tanh tensor_split topk trace transpose
tril triu true_divide trunc unbind unflatten unique unique_consecutive unsqueeze var vdot view_as
vsplit where xlogy det bitwise_left_shift bitwise_right_shift unfold ravel narrow_copy
addmv addr addbmm ger kron cov corrcoef qr svd
split_with_sizes
""".split()

# Methods ``name_`` that write ``name(self, ...)`` back into self.
INPLACE = """
abs acos acosh add addcdiv addcmul asin asinh atan atan2 atanh bitwise_and bitwise_not bitwise_or
bitwise_xor ceil clamp clamp_max clamp_min clip copysign cos cosh cumsum cumprod deg2rad digamma
div divide eq erf erfc erfinv exp exp2 expm1 fix float_power floor floor_divide fmod frac ge gt
greater greater_equal less less_equal not_equal hypot absolute arcsin arccos arctan arctan2
arcsinh arccosh arctanh sgn i0 negative
bitwise_left_shift bitwise_right_shift gcd lcm nextafter mvlgamma heaviside ldexp addmm addmv
addbmm baddbmm addr index_add index_copy index_fill index_put le lerp lgamma log log10 log1p
log2 logical_and
logical_not logical_or logical_xor logit lt masked_fill masked_scatter mul multiply nan_to_num ne
neg negative pow rad2deg reciprocal relu remainder renorm round rsqrt scatter scatter_add
scatter_reduce sigmoid sign sin sinc sinh sqrt square sub subtract tan tanh
tril triu true_divide trunc xlogy
""".split()

# Operators: (dunder, ops function, operand order); "r" reflects, "i" is in place.
OPERATORS = [
    ("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
    ("floordiv", "floor_divide"), ("mod", "remainder"), ("pow", "pow"), ("matmul", "matmul"),
    ("and", "bitwise_and"), ("or", "bitwise_or"), ("xor", "bitwise_xor"),
    ("lshift", "bitwise_left_shift"), ("rshift", "bitwise_right_shift"),
]
COMPARISONS = [("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")]
UNARY = [("neg", "neg"), ("abs", "abs"), ("invert", "bitwise_not"), ("pos", "positive")]
# Methods whose in-place form is not built from the out-of-place op.
SPECIAL_INPLACE = ["fill_", "zero_", "copy_", "uniform_", "normal_", "random_", "bernoulli_",
                   "exponential_", "geometric_", "cauchy_", "log_normal_"]


def _missing(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"ember does not implement Tensor.{name} yet")

    method._ember_missing = True
    return method


def _forwarded(function):
    if isinstance(function, types.FunctionType):
        return function  # a plain function binds as a method itself: one call frame fewer
    @functools.wraps(function)
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    return method


def _reflected(function):
    def method(self, other):
        return function(other, self)

    return method


def _reflected_division(reciprocal, mul):
    # PyTorch computes ``number / x`` as ``x.reciprocal() * number``: its rounding, and a
    # graph that keeps x's reciprocal rather than x itself.
    def __rtruediv__(self, other):
        return mul(reciprocal(self), other)

    return __rtruediv__


def _inplace(function, name):
    def method(self, *args, **kwargs):
        return inplace(self, function(snapshot(self), *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place form of ``{function.__name__}``: the result is written into self."
    return method


def install(cls) -> None:
    def find(name):
        # The plain op, not its out= wrapper (ops._out): methods take no out=, as in PyTorch.
        return ops._out.without_out(getattr(ops, name, None))

    for name in FORWARDED:
        if name in cls.__dict__:
            continue
        function = find(name)
        setattr(cls, name, _forwarded(function) if function else _missing(name))
    for name in INPLACE:
        function = find(name)
        method = name + "_"
        setattr(cls, method, _inplace(function, method) if function else _missing(method))
    cls.polygamma, cls.polygamma_ = _polygamma, _polygamma_
    for name, value in vars(OwnForms).items():
        if not name.startswith("__"):
            setattr(cls, name, value)
    for name, dtype in CASTS.items():
        setattr(cls, name, _cast(name, dtype))
    for name in INPLACE_VIEWS:
        function = find(name)
        if function:
            setattr(cls, name + "_", _inplace_view(function, name + "_"))
    for name in SPECIAL_INPLACE:
        function = find(name)
        setattr(cls, name, _forwarded(function) if function else _missing(name))
    for dunder, name in OPERATORS:
        function = find(name)
        if function is None:
            for form in ("", "r", "i"):
                setattr(cls, f"__{form}{dunder}__", _missing(f"__{form}{dunder}__"))
            continue
        setattr(cls, f"__{dunder}__", _forwarded(function))
        setattr(cls, f"__r{dunder}__", _reflected(function))
        setattr(cls, f"__i{dunder}__", _inplace(function, f"__i{dunder}__"))
    cls.__rtruediv__ = _reflected_division(find("reciprocal"), find("mul"))
    for dunder, name in COMPARISONS:
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))
    for dunder, name in UNARY:
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))
    for dunder, name in (("getitem", "getitem"), ("setitem", "setitem")):
        function = find(name)
        setattr(cls, f"__{dunder}__", _forwarded(function) if function else _missing(dunder))


def _polygamma(self, n):
    """``x.polygamma(n)`` is ``ember.polygamma(n, x)``: the order comes first in the function."""
    return ops.polygamma(n, self)


def _polygamma_(self, n):
    return inplace(self, _polygamma(snapshot(self), n), "polygamma_")


def _inplace_view(function, name):
    """``squeeze_``, ``t_`` ...: self becomes the reshaped view (PyTorch changes metadata)."""

    def method(self, *args, **kwargs):
        result = function(self, *args, **kwargs)
        self._data = result._data
        if result.grad_fn is not None:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        return self

    method.__name__ = name
    return method


# ``x.float()`` is ``x.to(ember.float32)``, and so on.
CASTS = {
    "float": dtypes.float32, "double": dtypes.float64, "half": dtypes.float16,
    "bfloat16": dtypes.bfloat16, "long": dtypes.int64, "int": dtypes.int32,
    "short": dtypes.int16, "char": dtypes.int8, "byte": dtypes.uint8, "bool": dtypes.bool_,
}


def _cast(name: str, dtype):
    def method(self):
        return self.to(dtype)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self.to({dtype})``."
    return method


INPLACE_VIEWS = ["squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims", "as_strided"]


# Methods over functions that ``ember.ops`` does not export: the top-level compositions of
# layer 8 (``x.put_(...)``, ``x.diagflat()``), which this layer cannot import, and the
# factorizations of ``ops/linalg_lu.py`` and ``ops/householder.py``. ``ember/__init__.py``
# hands them down (``install_above``).
ABOVE = """
adjoint as_strided cholesky_inverse cholesky_solve conj conj_physical diagflat diagonal_scatter
frexp geqrf hardshrink histogram index_reduce is_conj is_inference is_neg is_nonzero
is_same_size is_signed lu lu_solve orgqr ormqr prelu put resolve_conj resolve_neg
select_scatter slice_scatter unsafe_chunk unsafe_split unsafe_split_with_sizes
""".split()
ABOVE_INPLACE = ["index_reduce", "put"]


def install_above(cls, namespace: dict) -> None:
    """Attach the ``ABOVE`` methods from ``namespace``, the ``ember`` package's."""
    for name in ABOVE:
        setattr(cls, name, _forwarded(namespace[name]))
    for name in ABOVE_INPLACE:
        setattr(cls, name + "_", _inplace(namespace[name], name + "_"))


def missing_methods(cls) -> list:
    """Names in the tables above that no ops function backs yet (a test keeps this empty)."""
    return sorted(
        name for name in dir(cls) if getattr(getattr(cls, name, None), "_ember_missing", False)
    )


_NOT_GIVEN = object()  # tells ``new_zeros(size=...)`` from no size at all


class OwnForms:
    """Methods with argument forms of their own: ``view(2, 3)`` or ``view((2, 3))``, the many
    forms of ``to``, ``backward``'s fast start, the ``new_*`` factories and the layouts.
    ``install`` copies them onto ``Tensor``."""

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves it depends on."""
        if gradient is None and inputs is None and not create_graph and self.grad_fn is not None \
                and not _tape.anywhere.count:
            data = self._data
            if data.size == 1:  # the usual ``loss.backward()``: seeded with a one, nothing to check
                seed = Tensor._make(xp.ones(data.shape, data.dtype, like=data))
                run_backward([(self.grad_fn, self._output_nr)], [seed], bool(retain_graph), False)
                return
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)


    # ------------------------------------------------------------ dtype and device
    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        target_device, target_dtype, non_blocking, copy, memory_format = parse_to(args, kwargs)
        if memory_format is None:
            memory_format = _preserve_format
        result = self
        if target_device is not None:
            result = ops.to_device(self, array_index(target_device), non_blocking)
        if target_dtype is not None and to_dtype(target_dtype) is not self.dtype:
            result = ops.to_dtype(result, to_dtype(target_dtype))
        if memory_format is not _preserve_format:
            result = ops.contiguous(result, memory_format)
        return result.clone() if copy and result is self else result

    def type(self, dtype=None):
        if dtype is None:
            return f"torch.{_LEGACY_TYPE_NAMES.get(self.dtype.name, 'FloatTensor')}"
        return self.to(to_dtype(dtype))


    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def reshape_as(self, other: Tensor) -> Tensor:
        return ops.reshape(self, other.shape)

    # ------------------------------------------------------------ views with varargs
    def view(self, *shape) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], _dtype_cls):
            raise NotImplementedError("view(dtype) is not supported by ember; use .to(dtype)")
        return ops.view(self, _sizes(shape))

    def reshape(self, *shape) -> Tensor:
        return ops.reshape(self, _sizes(shape))

    def permute(self, *dims) -> Tensor:
        return ops.permute(self, _sizes(dims))

    def expand(self, *sizes) -> Tensor:
        return ops.expand(self, _sizes(sizes))

    def repeat(self, *sizes) -> Tensor:
        return ops.repeat(self, _sizes(sizes))

    def tile(self, *dims) -> Tensor:
        return ops.tile(self, _sizes(dims))

    def flip(self, *dims) -> Tensor:
        return ops.flip(self, _sizes(dims))

    @property
    def T(self) -> Tensor:
        return ops.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mT is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return ops.transpose(self, -2, -1)

    @property
    def mH(self) -> Tensor:
        """``mT``: the conjugate is the tensor itself without complex dtypes."""
        if self._data.ndim < 2:
            raise RuntimeError(
                "tensor.mH is only supported on matrices or batches of matrices. "
                f"Got {self._data.ndim}-D tensor."
            )
        return ops.transpose(self, -2, -1)

    @property
    def H(self) -> Tensor:
        """The transpose of a matrix (the conjugate is the tensor itself)."""
        if self._data.ndim == 0:
            warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
                          UserWarning, stacklevel=2)
            return self
        if self._data.ndim != 2:
            hint = " For batches of matrices, consider using tensor.mH" \
                if self._data.ndim > 2 else ""
            raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). "
                               f"Got {self._data.ndim}-D tensor.{hint}")
        return ops.transpose(self, 0, 1)

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is."""
        return self._output_nr

    @property
    def is_cpu(self) -> bool:
        return self.device.type == "cpu"

    def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
        """Write ``fill_value`` on the main diagonal, in place: ``self[i, i, ...] = value``.

        All dims must be equal beyond 2-D. With ``wrap``, a tall matrix's diagonal starts
        again every ``columns + 1`` rows, as NumPy's ``fill_diagonal``."""
        if self._data.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self._data.ndim > 2 and len(set(self._data.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        rows, columns = self._data.shape[0], self._data.shape[1]
        length = min(self._data.shape)
        if wrap and self._data.ndim == 2 and rows > columns:
            positions = xp.arange(0, rows * columns, columns + 1)
            index = (positions // columns, positions % columns)
        else:
            index = (xp.arange(length),) * self._data.ndim
        index = tuple(ops.tensor(i, device=self.device) for i in index)
        return self.index_put_(index, ops.tensor(fill_value, dtype=self.dtype,
                                                 device=self.device))

    def apply_(self, callable) -> Tensor:
        """Replace each element ``x`` by the Python number ``callable(x)``, in place (CPU)."""
        _python_elementwise("apply_", self)
        values = [callable(value) for value in self._data.reshape(-1).tolist()]
        return self.copy_(ops.tensor(values, dtype=self.dtype).reshape(self.shape))

    def map_(self, tensor, callable) -> Tensor:
        """``self[i] = callable(self[i], tensor[i])`` for each element, ``tensor``
        broadcast to self, in place (CPU)."""
        _python_elementwise("map_", self)
        other = ops.broadcast_to(tensor, self.shape)._data.reshape(-1).tolist()
        values = [callable(a, b) for a, b in zip(self._data.reshape(-1).tolist(), other)]
        return self.copy_(ops.tensor(values, dtype=self.dtype).reshape(self.shape))

    def new(self, *args, device=None) -> Tensor:
        """The legacy constructor, of x's dtype: ``x.new(2, 3)`` or ``x.new(x.shape)``
        (uninitialized), ``x.new(data)`` from a sequence or a tensor, ``x.new()`` empty."""
        device = device or self.device
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype is not self.dtype:
                raise TypeError(f"expected {self.dtype} (got {args[0].dtype})")
            return args[0].to(device)
        if len(args) == 1 and not isinstance(args[0], (int, Size)):  # data, a tuple too
            if not hasattr(args[0], "__len__"):
                raise TypeError(
                    f"new(): data must be a sequence (got {type(args[0]).__name__})")
            return ops.tensor(args[0], dtype=self.dtype, device=device)
        return ops.empty(_sizes(args) if args else (0,), dtype=self.dtype, device=device)

    # ------------------------------------------------------------ new tensors like this one
    # PyTorch's keywords (``size=``, ``layout=``, ``pin_memory=``) are accepted by name too.
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False, layout=None,
                   pin_memory=False) -> Tensor:
        return ops.tensor(data, dtype=dtype or self.dtype, device=_like(self, device),
                           requires_grad=requires_grad)

    def new_zeros(self, *sizes, size=_NOT_GIVEN, dtype=None, device=None, requires_grad=False,
                  layout=None, pin_memory=False) -> Tensor:
        shape = _new_size("new_zeros", sizes, size)
        return ops.zeros(shape, dtype=dtype or self.dtype, device=_like(self, device),
                          requires_grad=requires_grad)

    def new_ones(self, *sizes, size=_NOT_GIVEN, dtype=None, device=None, requires_grad=False,
                 layout=None, pin_memory=False) -> Tensor:
        shape = _new_size("new_ones", sizes, size)
        return ops.ones(shape, dtype=dtype or self.dtype, device=_like(self, device),
                         requires_grad=requires_grad)

    def new_empty(self, *sizes, size=_NOT_GIVEN, dtype=None, device=None, requires_grad=False,
                  layout=None, pin_memory=False) -> Tensor:
        shape = _new_size("new_empty", sizes, size)
        return ops.empty(shape, dtype=dtype or self.dtype, device=_like(self, device),
                          requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False,
                 layout=None, pin_memory=False) -> Tensor:
        return ops.full(size, fill_value, dtype=dtype or self.dtype, device=_like(self, device),
                         requires_grad=requires_grad)

    def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False,
                          layout=None, pin_memory=False) -> Tensor:
        return ops.empty_strided(size, stride, dtype=dtype or self.dtype,
                                  device=_like(self, device), requires_grad=requires_grad)

    # ------------------------------------------------------------ layouts (ember/ops/sparse.py)
    is_sparse = is_sparse_csr = False

    @property
    def layout(self):
        return sparse.strided

    def to_sparse(self, sparse_dim: int | None = None, *, layout=None, blocksize=None,
                  dense_dim=None) -> Tensor:
        """The COO form of this tensor: its nonzero entries (slices past ``sparse_dim``)."""
        if layout is sparse.sparse_csr:
            return sparse.to_sparse_csr(self)
        return sparse.to_sparse(self, sparse_dim)

    def to_sparse_coo(self) -> Tensor:
        return sparse.to_sparse(self)

    def to_sparse_csr(self, dense_dim=None) -> Tensor:
        return sparse.to_sparse_csr(self)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        return self if dtype is None else self.to(dtype)

    def sparse_dim(self) -> int:
        return 0

    def dense_dim(self) -> int:
        return self.ndim

    def _sparse_only(self, name: str, layout: str = "sparse coordinate tensor"):
        raise RuntimeError(f"{name} expected {layout} layout but got Strided")

    def indices(self):
        self._sparse_only("indices")

    def values(self):
        self._sparse_only("values", "sparse tensor")

    def coalesce(self):
        self._sparse_only("coalesce")

    def is_coalesced(self):
        self._sparse_only("is_coalesced")

    def crow_indices(self):
        self._sparse_only("crow_indices", "sparse row compressed tensor")

    def col_indices(self):
        self._sparse_only("col_indices", "sparse row compressed tensor")


def parse_to(args: tuple, kwargs: dict) -> tuple:
    """PyTorch's forms of ``to``'s arguments, a tensor's and a module's, as ``(device, dtype,
    non_blocking, copy, memory_format)``: ``to(device=None, dtype=None, non_blocking=False,
    copy=False, memory_format=None)``, ``to(dtype, non_blocking, copy)`` and
    ``to(other_tensor, non_blocking, copy)`` (its device and dtype). A string that names a
    dtype is one; any other string, an int or a ``device`` is a device."""
    kwargs = dict(kwargs)
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    flags = [kwargs.pop("non_blocking", False), kwargs.pop("copy", False)]
    memory_format = kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    given = 0  # positional flags: non_blocking, then copy
    for arg in args:
        if isinstance(arg, bool):
            if given == len(flags):
                raise TypeError(
                    "to() received an invalid combination of arguments - got "
                    f"({', '.join(type(value).__name__ for value in args)})"
                )
            flags[given] = arg
            given += 1
        elif isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, _dtype_cls):
            dtype = arg
        elif isinstance(arg, (str, _device_cls, int)) and not (
            isinstance(arg, str) and arg.removeprefix("torch.").removeprefix("ember.")
            in ("float32", "float64", "float16", "int64", "int32", "bool")
        ):
            device = arg
        elif arg is not None:
            dtype = to_dtype(arg)
    return device, dtype, flags[0], flags[1], memory_format


def _like(tensor: Tensor, device):
    """The device of a ``new_*`` tensor: ``device``, or ``tensor``'s when None."""
    return tensor.device if device is None else device


def _python_elementwise(name: str, tensor: Tensor) -> None:
    """What ``apply_`` and ``map_`` refuse, as PyTorch: a tensor that requires grad."""
    if tensor.requires_grad:
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                           f"var.detach().{name}() instead.")


def _sizes(args) -> tuple:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` (and a Size or list)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _new_size(op: str, sizes: tuple, size) -> tuple:
    """``new_zeros(2, 3)``, ``new_zeros((2, 3))`` or ``new_zeros(size=(2, 3))``, checked."""
    if size is _NOT_GIVEN:
        if not sizes:
            raise TypeError(f'{op}() missing 1 required positional arguments: "size"')
        return _sizes(sizes)
    if sizes:
        raise TypeError(f"{op}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return tuple(size)



_LEGACY_TYPE_NAMES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}
