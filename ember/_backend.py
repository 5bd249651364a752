"""The one module that knows which array libraries run ember: NumPy, and CuPy for CUDA.

Everything else reaches arrays through ``xp``, NumPy's namespace. A CuPy array answers it
too: NumPy hands its ufuncs and array functions to CuPy through the dispatch protocols
(``__array_ufunc__``, ``__array_function__``), so ``xp.exp(a)`` runs on the device that
holds ``a``. What has no array argument to dispatch on (making an array from a shape or
from host data, drawing random numbers, copying between devices) goes through the
device functions below. This module also holds the random state and the BLAS threads.
"""

from __future__ import annotations

import json
import random as pyrandom
import zlib
from functools import partial

import ml_dtypes
import numpy

xp = numpy
ndarray = numpy.ndarray
# The array types of the libraries in use (CuPy's joins when a CUDA array is first made):
# ``type(value) in array_types`` tells an op's array argument from a scalar.
array_types = {numpy.ndarray}
generic = numpy.generic
errstate = numpy.errstate
int_info = numpy.iinfo
# NumPy has no bfloat16; ml_dtypes (the library JAX uses) registers one as a NumPy dtype.
# Its ``kind`` is "V", so code that asks "is this floating?" must also accept it.
bfloat16 = numpy.dtype(ml_dtypes.bfloat16)
float_info = ml_dtypes.finfo  # NumPy's finfo for NumPy's floats, and bfloat16's too
int_info = numpy.iinfo


def _float_error_switch():
    """``off()``, which silences NumPy's floating-point warnings and returns a token, and
    ``restore(token)``, which brings back what was set before.

    NumPy keeps its error state in a context variable; setting it to a prepared "ignore
    everything" value costs a fraction of building an ``errstate`` each call.
    """
    try:
        from numpy._core._ufunc_config import _extobj_contextvar
    except ImportError:  # another NumPy layout: the public, slower switch

        def restore(old_settings):
            numpy.seterr(**old_settings)

        return partial(numpy.seterr, all="ignore"), restore
    with numpy.errstate(all="ignore"):
        ignore = _extobj_contextvar.get()
    return partial(_extobj_contextvar.set, ignore), _extobj_contextvar.reset


float_errors_off, float_errors_restore = _float_error_switch()


class ignoring_float_errors:
    """Floating-point warnings off inside the block (NaN and inf propagate as values)."""

    def __enter__(self):
        self._token = float_errors_off()

    def __exit__(self, *exc_info):
        float_errors_restore(self._token)


def _keep_free_heap(pad: int) -> None:
    """Ask glibc's malloc to keep ``pad`` bytes of freed heap for reuse (``M_TOP_PAD``).

    Each step of training allocates and frees arrays of the same sizes. By default glibc
    hands freed memory at the top of the heap back to the system, and the next array of
    that size faults its pages in again (about 2.5 µs per 4 KiB page on the machines ember
    is measured on: most of a small convolution's step). Keeping a bounded pad of 16 MiB
    removes that cost for small and mid-sized models. ``EMBER_MALLOC_TOP_PAD=0`` (bytes)
    turns it off; other C libraries are left alone.
    """
    import ctypes
    import sys

    if pad <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(-2, pad)  # -2 is M_TOP_PAD in glibc's malloc.h


def _heap_pad_setting() -> int:
    import os

    value = os.environ.get("EMBER_MALLOC_TOP_PAD", str(16 << 20))
    try:
        return int(value)
    except ValueError:
        import warnings

        warnings.warn(f"EMBER_MALLOC_TOP_PAD={value!r} is not a whole number of bytes; ignored")
        return 16 << 20


_keep_free_heap(_heap_pad_setting())


def asarray(value, dtype=None):
    """An array from anything array-like (0-d results of ``xp`` ops included); a CUDA
    array stays on its device."""
    if cuda.in_use and isinstance(value, cuda.library.ndarray):
        return value if dtype is None else value.astype(dtype, copy=False)
    return numpy.asarray(value, dtype=dtype)


def is_floating(numpy_dtype) -> bool:
    """Whether a NumPy dtype is floating, bfloat16 (whose ``kind`` is "V") included."""
    return numpy_dtype.kind == "f" or numpy_dtype is bfloat16


def cast(array, numpy_dtype):
    """``array.astype(numpy_dtype)``, converting to bfloat16 as PyTorch's CPU does.

    PyTorch converts other types to bfloat16 through float32 (so a float64 is rounded
    twice) and writes a NaN as 0x7FC0, except its vectorized conversion from float32,
    which writes 0xFFFF (a NaN with its sign bit set, which ``signbit`` sees); ml_dtypes
    rounds once and keeps a NaN's sign.
    """
    if numpy_dtype is not bfloat16 or array.dtype is bfloat16:
        return array.astype(numpy_dtype)
    wide = array if array.dtype == numpy.float32 else array.astype(numpy.float32)
    result = wide.astype(bfloat16)
    if wide.dtype.kind == "f":
        nan = numpy.isnan(wide)
        if nan.any():
            result.view(numpy.uint16)[nan] = 0xFFFF if wide is array else 0x7FC0
    return result


def is_array(value) -> bool:
    return isinstance(value, (numpy.ndarray, numpy.generic)) or (
        cuda.in_use and isinstance(value, cuda.library.ndarray)
    )


def add_at(target, index, values) -> None:
    """Accumulating scatter: repeated indices add up instead of overwriting."""
    numpy.add.at(target, index, values)


def scatter_at(ufunc, target, index, values) -> None:
    """``ufunc.at(target, index, values)``: values at a repeated index combine. CuPy has
    ``at`` for add, maximum and minimum only; another ufunc's scatter into a GPU array
    combines on the host, a round trip that only a multiplying scatter pays."""
    if type(target) is numpy.ndarray or ufunc.__name__ in ("add", "maximum", "minimum"):
        ufunc.at(target, index, values)
        return
    host = to_host(target)
    keys = tuple(to_host(key) if is_array(key) else key for key in index) \
        if type(index) is tuple else to_host(index)
    ufunc.at(host, keys, to_host(values) if is_array(values) else values)
    target[...] = to_device(host, device_index(target))


# Reductions by ufunc name: CuPy's ufuncs have no ``reduce``, its arrays have these methods.
_REDUCTIONS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min"}


def reduce(ufunc, array, axis, keepdims: bool = True):
    """``ufunc.reduce(array, axis=axis, keepdims=keepdims)``, NumPy's direct form on the
    host; a GPU array's own reduction method (CuPy's ufuncs have no ``reduce``)."""
    if type(array) is numpy.ndarray:
        if ufunc in _EXACT and _short_rows(array, axis):
            return _across_rows(ufunc, array, keepdims)
        return ufunc.reduce(array, axis=axis, keepdims=keepdims)
    return getattr(array, _REDUCTIONS[ufunc.__name__])(axis=axis, keepdims=keepdims)


# Reductions whose value does not depend on the order they meet the elements in.
_EXACT = (numpy.maximum, numpy.minimum)


def _short_rows(array, axis) -> bool:
    """Many rows of at most 64 along the last axis: NumPy reduces each row on its own, some
    times at 3 ns an element (the maximum over a 32-wide attention row), where a copy with
    the rows as columns, reduced across, costs under 1 ns."""
    return array.ndim >= 2 and axis in (-1, array.ndim - 1) and 2 <= array.shape[-1] <= 64 \
        and array.size >= 64 * array.shape[-1]


def _across_rows(ufunc, array, keepdims: bool):
    """``ufunc.reduce`` over the last axis, computed across a transposed copy."""
    columns = numpy.ascontiguousarray(array.reshape(-1, array.shape[-1]).T)
    result = ufunc.reduce(columns, axis=0)
    return result.reshape(array.shape[:-1] + ((1,) if keepdims else ()))


# ---------------------------------------------------------------- devices


class _Cuda:
    """CuPy, loaded on first use. ``library`` stays None where CuPy is missing or sees no
    GPU. ``in_use`` turns on when the first CUDA array is made; until then no op pays for
    comparing its inputs' devices."""

    library = None
    loaded = False
    in_use = False
    error = "ember has no CUDA backend here: it needs CuPy (pip install \"ember[cuda]\") and a GPU"


cuda = _Cuda()
NO_ACCELERATOR = "Cannot access accelerator device when none is available."  # PyTorch's


def cuda_library():
    """CuPy where it is installed and sees a GPU, else None."""
    if not cuda.loaded:
        cuda.loaded = True
        try:
            import cupy
        except ImportError:
            return None
        try:
            available = cupy.is_available()
        except Exception as error:  # a broken driver install: say so when CUDA is asked for
            cuda.error += f" ({error})"
            available = False
        cuda.library = cupy if available else None
    return cuda.library


def use_cuda_library(module) -> None:
    """Run CUDA tensors on ``module`` in CuPy's place (the test suite's CPU stand-in)."""
    cuda.library, cuda.loaded = module, True


def library(index: int | None):
    """The array library of a device: NumPy for the host (``None``), CuPy for GPU ``index``."""
    if index is None:
        return numpy
    if cuda_library() is None:
        raise RuntimeError(cuda.error)
    cuda.in_use = True
    array_types.add(cuda.library.ndarray)
    return cuda.library


def on_device(index: int | None):
    """A ``with`` block that makes GPU ``index`` current (nothing for the host)."""
    if index is None:
        return _nothing
    return library(index).cuda.Device(index)


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


_nothing = _Nothing()


def device_index(array) -> int | None:
    """None for a host array, the GPU's number for a CUDA array."""
    if type(array) is numpy.ndarray or not cuda.in_use:
        return None
    if isinstance(array, cuda.library.ndarray):
        return array.device.id
    return None


def to_device(array, index: int | None, non_blocking: bool = False):
    """``array`` on the host (``index`` None) or on GPU ``index``: itself if it is there,
    else a copy."""
    here = device_index(array)
    if here == index:
        return array
    if index is None:
        raise_deferred()
        return array.get(blocking=not non_blocking)
    if here is not None:  # from another GPU: through the host, which any pair of GPUs allows
        array = array.get()
    with on_device(index):
        return library(index).asarray(array, blocking=not non_blocking)


def is_writable(array) -> bool:
    """Whether an array may be written into. NumPy keeps a flag (a broadcast view has it
    off); CuPy keeps none, so there a view with a zero stride over a dimension longer than
    one counts as read-only, as PyTorch refuses to write into an expanded tensor."""
    if isinstance(array, numpy.ndarray):
        return array.flags.writeable
    return all(step or size < 2 for step, size in zip(array.strides, array.shape))


def address(array) -> int:
    """The address of an array's first element, in host or device memory."""
    if isinstance(array, numpy.ndarray):
        return array.__array_interface__["data"][0]
    return array.data.ptr


def pinned_copy(array):
    """A copy of a host array in page-locked memory, from which a copy to the GPU can run
    while the host goes on (``non_blocking=True``). Raises without CUDA, as PyTorch does."""
    if cuda_library() is None:
        raise RuntimeError(NO_ACCELERATOR)
    cuda.in_use = True
    pinned = cuda.library.cuda.alloc_pinned_memory(array.nbytes)
    copy = numpy.ndarray(array.shape, array.dtype, buffer=pinned)
    copy[...] = array
    return copy


def is_pinned(array) -> bool:
    """Whether a host array lies in page-locked memory (``pinned_copy`` made it)."""
    return cuda.in_use and isinstance(array.base, cuda.library.cuda.PinnedMemoryPointer)


def to_host(array):
    """A NumPy array of ``array``'s values (itself if it is one)."""
    if device_index(array) is None:
        return array
    raise_deferred()
    return array.get()


# ---------------------------------------------------------------- checks a GPU defers
# A check of values on a GPU (an out-of-range class index) would wait for the device if it
# raised at once. CUDA's kernels assert on the device instead, and the error surfaces at the
# next synchronization; ember keeps each check's flag on the device and raises at the next
# read of values into Python (``to_host``, ``Tensor.item`` ...), all flags in one copy.
_deferred: list = []


def defer_check(failed, error) -> None:
    """Raise ``error()`` at the next read of values if the 0-d device array ``failed`` is
    true."""
    _deferred.append((failed, error))
    if len(_deferred) >= 256:  # a program that never reads a value still gets its errors
        raise_deferred()


def raise_deferred() -> None:
    if not _deferred:
        return
    pending = _deferred[:]
    _deferred.clear()
    flags = numpy.stack([failed for failed, _ in pending]).get()
    for flag, (_, error) in zip(flags, pending):
        if flag:
            raise error()


def nccl():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), behind ``ember.distributed``'s ``nccl``
    backend; raises where CUDA or NCCL is missing."""
    library(0)
    module = getattr(cuda.library.cuda, "nccl", None)
    if module is None:
        try:
            from cupy.cuda import nccl as module
        except ImportError:
            module = None
    if module is None or not getattr(module, "available", False):
        raise RuntimeError("ember.distributed's 'nccl' backend needs NCCL for CuPy: "
                           "pip install nvidia-nccl-cu12 (or -cu13)")
    return module


def current_stream_pointer() -> int:
    """The address of the current CUDA stream, which NCCL's calls queue on."""
    return cuda.library.cuda.get_current_stream().ptr


def device_count() -> int:
    return 0 if cuda_library() is None else cuda.library.cuda.runtime.getDeviceCount()


# ---------------------------------------------------------------- random state


class BitStream:
    """A seeded stream of random numbers (the state behind ``ember.Generator``)."""

    def __init__(self, seed: int = 67280421310721):
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.initial_seed = int(seed)
        self.random = numpy.random.Generator(numpy.random.PCG64(self.initial_seed))

    def get_state(self) -> bytes:
        state = dict(self.random.bit_generator.state, initial_seed=self.initial_seed)
        return json.dumps(state).encode()

    def set_state(self, blob: bytes) -> None:
        state = json.loads(bytes(blob).decode())
        self.initial_seed = state.pop("initial_seed")
        self.random = numpy.random.Generator(numpy.random.PCG64())
        self.random.bit_generator.state = state


class CudaBitStream:
    """The seeded stream of a GPU (CuPy's XORWOW generator), made on its first draw so that
    seeding works, and costs nothing, where no GPU is present."""

    def __init__(self, index: int, seed: int = 67280421310721):
        self.index = index
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.initial_seed = int(seed)
        self._generator = None

    @property
    def random(self):
        if self._generator is None:
            random = library(self.index).random
            with on_device(self.index):
                self._generator = random.Generator(random.XORWOW(self.initial_seed % 2**64))
        return self._generator

    def get_state(self) -> bytes:
        raise RuntimeError(
            "the state of a CUDA generator (CuPy's XORWOW) cannot be read back; "
            "reseed it with ember.cuda.manual_seed instead"
        )

    set_state = get_state


def fresh_seed() -> int:
    """A non-deterministic seed drawn from the operating system."""
    return int(numpy.random.SeedSequence().entropy) % (2**63)


def seed_numpy_global(seed: int) -> None:
    """Seed NumPy's legacy global generator (data-loader workers do this)."""
    numpy.random.seed(seed % 2**32)


def outside_random_streams(named) -> dict:
    """What the random streams outside ember hold: Python's ``random`` module, NumPy's
    legacy global generator, and each ``random.Random``, NumPy ``Generator`` and
    ``RandomState`` among ``named`` ((label, value) pairs), as ``{key: (label, state)}``.
    Two readings are equal unless something drew from a stream (or reseeded it) between."""
    streams = {
        "random": ("Python's random module", pyrandom.getstate()),
        "numpy.random": ("numpy.random's global generator",
                         _frozen(numpy.random.get_state(False))),
    }
    for label, value in named:
        if isinstance(value, pyrandom.Random) and not isinstance(value, pyrandom.SystemRandom):
            streams[id(value)] = label, value.getstate()
        elif isinstance(value, numpy.random.Generator):
            streams[id(value)] = label, _frozen(value.bit_generator.state)
        elif isinstance(value, numpy.random.RandomState):
            streams[id(value)] = label, _frozen(value.get_state(False))
    return streams


_DIGESTED = 1 << 24  # bytes of an array that ``array_digest`` reads whole: 16 MiB


def array_digest(array) -> tuple:
    """What a NumPy or CUDA array holds, for telling whether something wrote into it
    between two readings: its shape, dtype, strides and a CRC-32 of its values; of an
    array over 16 MiB, the CRC of its first and last MiB."""
    host = to_host(array)  # a NumPy scalar too: it has a shape, strides and bytes
    if host.dtype.hasobject:  # the objects' identities, which is what it holds
        return host.shape, host.dtype.str, tuple(map(id, host.ravel().tolist()))
    flat = host.reshape(-1)
    if host.nbytes > _DIGESTED:
        width = (1 << 20) // max(host.itemsize, 1)
        flat = numpy.concatenate([flat[:width], flat[-width:]])
    return host.shape, host.dtype.str, host.strides, zlib.crc32(flat.tobytes())


def _frozen(state):
    """A generator's state (dicts of numbers and arrays) as a value that ``==`` compares."""
    if isinstance(state, dict):
        return tuple((key, _frozen(value)) for key, value in state.items())
    if isinstance(state, numpy.ndarray):
        return state.dtype.str, state.shape, state.tobytes()
    return state


# ---------------------------------------------------------------- threads


class _Threads:
    """The BLAS thread limit that ``set_num_threads`` set (and keeps alive), if any."""

    limit = None  # threadpoolctl's handle: the limit holds while it lives
    count: int | None = None


_threads = _Threads()


def set_num_threads(count: int) -> None:
    from threadpoolctl import threadpool_limits

    _threads.limit = threadpool_limits(limits=int(count), user_api="blas")
    _threads.count = int(count)


def get_num_threads() -> int:
    if _threads.count is not None:
        return _threads.count
    from threadpoolctl import threadpool_info

    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else 1
