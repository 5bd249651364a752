"""A stand-in for CuPy that runs on the CPU, so that ember's CUDA paths are tested here.

It is installed as ember's CUDA library by ``python -m pytest --device fake-cuda``. Its
arrays hold NumPy arrays but are not NumPy arrays, and they refuse what CuPy refuses, so
that code which works on them has no hidden dependence on NumPy:

- an implicit conversion to NumPy (``numpy.asarray(a)``, ``numpy.array(a)``) raises
  CuPy's ``TypeError``; ``a.get()`` is the explicit copy to the host, and it is counted;
- a NumPy array among a ufunc's or an array function's arguments raises ``TypeError``,
  as in CuPy (NumPy scalars and Python numbers are accepted);
- a NumPy function that CuPy does not have (by the module path its ``__array_function__``
  maps from) raises NumPy's "no implementation found", and an ``ndarray`` attribute that
  ``cupy.ndarray`` lacks raises ``AttributeError``; ``cupy_names.txt`` lists CuPy's names;
- reductions and indexing give 0-d arrays, never NumPy scalars;
- a ufunc method CuPy lacks (``reduce``, ``accumulate``, ``reduceat``; ``at`` but for
  ``add``, ``maximum``, ``minimum``) raises, as CuPy's documentation lists them.

What it cannot show: CuPy's own numerics, kernels, streams and memory. ``cupy_names.txt``
was made from the ``cupy-cuda12x`` 14.2.0 wheel (``import cupy`` works without a GPU) by
listing ``dir()`` of ``cupy``, ``cupy.linalg``, ``cupy.fft``, ``cupy.random``,
``cupy.lib``, ``cupy.lib.stride_tricks`` and ``cupy.ndarray``.
"""

from __future__ import annotations

import contextlib
import functools
import pathlib
import types

import numpy

_NAMES = pathlib.Path(__file__).with_name("cupy_names.txt")


def _load_names() -> tuple[set, set]:
    functions, methods = set(), set()
    for line in _NAMES.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        where, name = line.split()
        (methods.add(name) if where == "ndarray" else functions.add((where, name)))
    return functions, methods


_FUNCTIONS, _METHODS = _load_names()


# The ufunc methods CuPy has, by its documentation ("Universal functions", Methods):
# reduce, accumulate and reduceat not at all, outer for every ufunc, at for three.
_UFUNC_METHODS = {"outer": frozenset(name for name in dir(numpy)
                                     if isinstance(getattr(numpy, name), numpy.ufunc)),
                  "at": frozenset(("add", "maximum", "minimum"))}


class Transfers:
    """How many copies crossed between host and device since the last ``reset``."""

    to_host = 0
    to_device = 0

    @classmethod
    def reset(cls) -> None:
        cls.to_host = cls.to_device = 0


def _refuse_host_array(value, where: str):
    raise TypeError(f"Unsupported type {type(value)} (fake CuPy, {where})")


def _unwrap(value, where: str):
    if isinstance(value, ndarray):
        return value._array
    if isinstance(value, numpy.ndarray):
        _refuse_host_array(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item, where) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item, where) for key, item in value.items()}
    return value


def _wrap(value):
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return ndarray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(item) for item in value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


class Device:
    """``cupy.cuda.Device``: the one fake GPU, number 0."""

    def __init__(self, device=None):
        self.id = 0 if device is None else int(getattr(device, "id", device))
        if self.id != 0:
            raise RuntimeError(f"fake CuPy has one device, not {self.id}")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def use(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return self.id


class ndarray:  # noqa: N801 -- CuPy's name
    """A device array: a NumPy array that NumPy itself may not see."""

    __slots__ = ("_array",)
    __hash__ = None

    def __init__(self, array):
        if not isinstance(array, numpy.ndarray):
            raise TypeError(f"fake CuPy wraps NumPy arrays, not {type(array)}")
        self._array = array

    # what CuPy refuses
    def __array__(self, *args, **kwargs):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}.{method}"
        if method != "__call__" and ufunc.__name__ not in _UFUNC_METHODS.get(method, ()):
            return NotImplemented  # NumPy then raises, as it does for CuPy's arrays
        inputs = _unwrap(inputs, where)
        outs = kwargs.get("out")
        if outs is not None:
            kwargs["out"] = _unwrap(outs, where)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if outs is not None:
            return outs[0] if len(outs) == 1 else outs
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        path = func.__module__ or "numpy"
        if (path, func.__name__) not in _FUNCTIONS:
            return NotImplemented  # NumPy then raises "no implementation found"
        where = f"{path}.{func.__name__}"
        out = kwargs.get("out")
        result = func(*_unwrap(args, where), **_unwrap(kwargs, where))
        return out if out is not None else _wrap(result)

    # the explicit copy to the host, and CuPy's attributes
    def get(self, stream=None, order="C", out=None, blocking=True):
        Transfers.to_host += 1
        return self._array.copy()

    @property
    def device(self) -> Device:
        return Device(0)

    @property
    def flags(self):
        """CuPy's flags: no ``writeable``, which NumPy's have."""
        flags = self._array.flags
        return types.SimpleNamespace(c_contiguous=flags.c_contiguous,
                                     f_contiguous=flags.f_contiguous, owndata=flags.owndata)

    @property
    def data(self):
        """CuPy's memory pointer: its ``ptr`` is the first element's address."""
        return types.SimpleNamespace(ptr=self._array.__array_interface__["data"][0])

    def __getattr__(self, name):
        if name not in _METHODS:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}' (fake CuPy)")
        value = getattr(self._array, name)
        if not callable(value):
            return _wrap(value) if isinstance(value, numpy.ndarray) else value
        where = f"ndarray.{name}"

        @functools.wraps(value)
        def method(*args, **kwargs):
            out = kwargs.get("out")
            result = value(*_unwrap(args, where), **_unwrap(kwargs, where))
            if result is self._array:  # astype(same, copy=False) and friends: the array itself
                return self
            return out if out is not None else _wrap(result)

        return method

    def item(self):
        Transfers.to_host += 1
        return self._array.item()

    def tolist(self):
        Transfers.to_host += 1
        return self._array.tolist()

    def __getitem__(self, key):
        return _wrap(self._array[_unwrap(key, "ndarray.__getitem__")])

    def __setitem__(self, key, value):
        if isinstance(value, numpy.ndarray):  # CuPy copies a host array up
            Transfers.to_device += 1
        else:
            value = _unwrap(value, "ndarray.__setitem__")
        self._array[_unwrap(key, "ndarray.__setitem__")] = value

    def __len__(self) -> int:
        return len(self._array)

    def __iter__(self):
        return (ndarray(numpy.asarray(item)) for item in self._array)

    def _scalar(self):
        Transfers.to_host += 1
        return self._array

    def __bool__(self):
        return bool(self._scalar())

    def __float__(self):
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def __repr__(self) -> str:
        return repr(self._array)

    def __copy__(self):
        return ndarray(self._array.copy())

    def __deepcopy__(self, memo):
        return ndarray(self._array.copy())

    def __reduce__(self):
        return (_from_host, (self._array.copy(),))


def _from_host(array):
    return ndarray(array)


def _operator(ufunc, reflected: bool = False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


for _name, _ufunc in [
    ("add", numpy.add), ("sub", numpy.subtract), ("mul", numpy.multiply),
    ("truediv", numpy.true_divide), ("floordiv", numpy.floor_divide),
    ("mod", numpy.remainder), ("pow", numpy.power), ("matmul", numpy.matmul),
    ("and", numpy.bitwise_and), ("or", numpy.bitwise_or), ("xor", numpy.bitwise_xor),
    ("lshift", numpy.left_shift), ("rshift", numpy.right_shift),
]:
    setattr(ndarray, f"__{_name}__", _operator(_ufunc))
    setattr(ndarray, f"__r{_name}__", _operator(_ufunc, reflected=True))

    def _inplace(self, other, _ufunc=_ufunc):
        _ufunc(self, other, out=self)
        return self

    setattr(ndarray, f"__i{_name}__", _inplace)
for _name, _ufunc in [("lt", numpy.less), ("le", numpy.less_equal), ("gt", numpy.greater),
                      ("ge", numpy.greater_equal), ("eq", numpy.equal),
                      ("ne", numpy.not_equal)]:
    setattr(ndarray, f"__{_name}__", _operator(_ufunc))
ndarray.__neg__ = lambda self: numpy.negative(self)
ndarray.__pos__ = lambda self: numpy.positive(self)
ndarray.__abs__ = lambda self: numpy.absolute(self)
ndarray.__invert__ = lambda self: numpy.invert(self)


def _creator(function, where: str):
    @functools.wraps(function)
    def create(*args, **kwargs):
        kwargs.pop("blocking", None)  # cupy.asarray's: a host copy may run asynchronously
        if any(isinstance(a, numpy.ndarray) for a in args):
            Transfers.to_device += 1  # cupy.asarray(host_array) copies it up
            args = tuple(a.copy() if isinstance(a, numpy.ndarray) else a for a in args)
        else:
            args = _unwrap(args, where)
        return _wrap(function(*args, **_unwrap(kwargs, where)))

    return create


def _as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided``: a view of a device array."""
    return ndarray(numpy.lib.stride_tricks.as_strided(x._array, shape, strides))


class _Generator:
    """``cupy.random.Generator`` over NumPy's, with only the methods CuPy 14.2's has."""

    METHODS = frozenset((
        "beta", "binomial", "chisquare", "dirichlet", "exponential", "f", "gamma", "geometric",
        "hypergeometric", "integers", "logseries", "poisson", "power", "random",
        "standard_exponential", "standard_gamma", "standard_normal", "uniform",
    ))

    def __init__(self, bit_generator):
        self._numpy = numpy.random.Generator(numpy.random.PCG64(bit_generator.seed))

    def __getattr__(self, name):
        if name not in self.METHODS:
            raise AttributeError(f"'cupy.random.Generator' object has no attribute '{name}'")
        method = getattr(self._numpy, name)
        where = f"Generator.{name}"
        return lambda *args, **kwargs: _wrap(numpy.asarray(
            method(*_unwrap(args, where), **_unwrap(kwargs, where))))


class _XORWOW:
    def __init__(self, seed=None):
        self.seed = seed


class PinnedMemoryPointer(bytearray):
    """``cupy.cuda.PinnedMemoryPointer``: host memory that a NumPy array can lie in."""


class Stream:
    """``cupy.cuda.Stream``: work on the CPU is done when it is queued."""

    null = None
    done = True
    ptr = 0

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False):
        pass

    def synchronize(self) -> None:
        pass

    def wait_event(self, event) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


Stream.null = Stream(null=True)


class Event:
    """``cupy.cuda.Event``: recorded at once."""

    done = True

    def __init__(self, block: bool = False, disable_timing: bool = False,
                 interprocess: bool = False):
        self.timing = not disable_timing

    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass


def _elapsed_time(start: Event, end: Event) -> float:
    if not (start.timing and end.timing):
        raise RuntimeError("cudaErrorInvalidResourceHandle: an event made without timing")
    return 0.0


class NcclCommunicator:
    """``cupy.cuda.nccl.NcclCommunicator`` of a one-rank job, which records its calls (a
    collective over one rank leaves the buffer as it is)."""

    calls: list = []

    def __init__(self, ndev: int, commId, rank: int):
        if ndev != 1 or rank != 0:
            raise RuntimeError("fake NCCL runs one rank only")

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):  # noqa: N802
        self.calls.append(("allReduce", sendbuf == recvbuf, count, datatype, op))

    def bcast(self, buff, count, datatype, root, stream):
        self.calls.append(("bcast", count, datatype, root))

    def destroy(self):
        pass


def _nccl() -> types.SimpleNamespace:
    names = ["NCCL_INT8", "NCCL_UINT8", "NCCL_INT32", "NCCL_INT64", "NCCL_FLOAT16",
             "NCCL_FLOAT32", "NCCL_FLOAT64", "NCCL_SUM", "NCCL_PROD", "NCCL_MAX", "NCCL_MIN"]
    return types.SimpleNamespace(available=True, get_unique_id=lambda: (0,) * 128,
                                 NcclCommunicator=NcclCommunicator,
                                 **{name: code for code, name in enumerate(names)})


class _MemoryPool:
    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


_POOL = _MemoryPool()


def _module() -> types.ModuleType:
    module = types.ModuleType("fake_cupy", __doc__)
    module.ndarray = ndarray
    module.Transfers = Transfers
    module.is_available = lambda: True
    module.get_array_module = lambda *arrays: (
        module if any(isinstance(a, ndarray) for a in arrays) else numpy
    )
    module.asnumpy = lambda a, stream=None, blocking=True: (
        a.get() if isinstance(a, ndarray) else numpy.asarray(a)
    )
    module.get_default_memory_pool = lambda: _POOL
    module.cuda = types.SimpleNamespace(
        Device=Device,
        runtime=types.SimpleNamespace(
            getDeviceCount=lambda: 1,
            getDeviceProperties=lambda index: {"name": b"Fake CuPy GPU",
                                               "totalGlobalMem": 1 << 30},
        ),
        get_current_stream=lambda: Stream.null,
        Stream=Stream,
        Event=Event,
        get_elapsed_time=_elapsed_time,
        nccl=_nccl(),
        set_allocator=lambda allocator=None: None,
        alloc_pinned_memory=lambda size: PinnedMemoryPointer(max(size, 1)),
        PinnedMemoryPointer=PinnedMemoryPointer,
    )
    module.random = types.SimpleNamespace(Generator=_Generator, XORWOW=_XORWOW)
    for where, name in _FUNCTIONS:
        if where != "numpy" or not hasattr(numpy, name) or hasattr(module, name):
            continue
        value = getattr(numpy, name)
        if isinstance(value, numpy.ufunc) or not callable(value) or isinstance(value, type):
            setattr(module, name, value)  # ufuncs and dtypes dispatch through ndarray
        else:
            setattr(module, name, _creator(value, f"cupy.{name}"))
    for name in ("linalg", "fft"):
        setattr(module, name, getattr(numpy, name))
    module.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
        as_strided=_as_strided, sliding_window_view=_creator(
            numpy.lib.stride_tricks.sliding_window_view, "cupy.lib.stride_tricks")))
    return module


fake_cupy = _module()


@contextlib.contextmanager
def counting_transfers():
    """``with counting_transfers() as transfers:`` counts the copies made inside."""
    Transfers.reset()
    yield Transfers
