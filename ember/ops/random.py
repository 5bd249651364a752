"""Random numbers: generators, random tensors and in-place random fills.

Every draw comes from a ``Generator``, whose state is a ``BitStream`` (NumPy's PCG64,
in ``ember._backend``): the numbers differ from PyTorch's bit for bit, while the API,
dtypes, shapes, argument checks and distributions match. Numbers are drawn on the device
of the result, from that device's generator: a CUDA generator is CuPy's XORWOW
(``CudaBitStream``), seeded by ``ember.cuda.manual_seed``. A sample is not a smooth
function of its parameters, so, as in PyTorch, gradients through a draw are zero.
"""

from __future__ import annotations

import contextlib
import operator
from functools import partial

from ember import _tape
from ember._backend import (
    BitStream,
    CudaBitStream,
    asarray,
    device_index,
    float_info,
    fresh_seed,
    int_info,
    on_device,
    to_device,
    xp,
)
from ember._device import array_index, device as _device_cls, of_index
from ember._dtype import bool_, get_default_dtype, int64, to_dtype
from ember._memory_format import in_format, is_in_format, preserve_format
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.ops import reduction
from ember.ops._function import (
    Op,
    _legacy,
    broadcast_shape,
    check_leaf_inplace,
    checked_scalar,
    inplace,
    snapshot,
)
from ember.ops.creation import zeros_like

__all__ = [
    "Generator",
    "bernoulli",
    "bernoulli_",
    "cauchy_",
    "default_generator",
    "exponential_",
    "fill_",
    "fork_rng",
    "geometric_",
    "get_rng_state",
    "initial_seed",
    "log_normal_",
    "manual_seed",
    "multinomial",
    "normal",
    "normal_",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "random_",
    "randperm",
    "seed",
    "set_rng_state",
    "uniform_",
    "zero_",
]


# ---------------------------------------------------------------- generators


class Generator:
    """A source of random numbers with its own state, as ``torch.Generator``.

    Example::

        >>> g = ember.Generator().manual_seed(0)
        >>> a = ember.rand(3, generator=g)
        >>> ember.equal(a, ember.rand(3, generator=g.manual_seed(0)))
        True
    """

    def __init__(self, device="cpu"):
        self._index = array_index(device)  # raises where the device is missing
        self.device = of_index(self._index)
        self._stream = BitStream() if self._index is None else CudaBitStream(self._index)

    # A compiled call replays these whole, where they ran: its draws after them see the
    # state they leave, as eagerly.
    @_tape.replayed()
    def manual_seed(self, seed) -> Generator:
        """Reset the state from ``seed`` (an int in [-2**63, 2**64)); returns this generator."""
        self._stream.seed(_check_seed(seed))
        return self

    @_tape.replayed()
    def seed(self) -> int:
        """Reseed from the operating system's entropy and return the new seed."""
        value = fresh_seed()
        self._stream.seed(value)
        return value

    def initial_seed(self) -> int:
        return self._stream.initial_seed

    def get_state(self) -> Tensor:
        """The state as a ``uint8`` tensor, to hand back to ``set_state``."""
        return Tensor._make(xp.frombuffer(self._stream.get_state(), dtype=xp.uint8).copy())

    @_tape.replayed()
    def set_state(self, new_state: Tensor) -> Generator:
        if not isinstance(new_state, Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state.dtype is not to_dtype("uint8"):
            raise TypeError("RNG state must be a torch.ByteTensor")
        try:
            self._stream.set_state(new_state._data.tobytes())
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise RuntimeError(
                f"set_state: the {new_state.numel()} bytes given are not a state that "
                "ember.Generator.get_state() produced"
            ) from None
        return self

    def __repr__(self) -> str:
        return f"<ember.Generator object at {hex(id(self))}>"


def _check_seed(seed) -> int:
    if isinstance(seed, Tensor):
        seed = seed.item()
    try:
        value = operator.index(seed)
    except TypeError:
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}") from None
    if not -(2**63) <= value < 2**64:
        raise ValueError(
            f"Overflow when unpacking long long: seed {value} is outside [-2**63, 2**64)"
        )
    return value % 2**64


default_generator = Generator()
default_generator.seed()  # PyTorch too starts each process from a fresh seed
_cuda_generators: dict = {}
_cuda_seed = [None]  # what manual_seed last gave every device (None: each GPU draws fresh)


def cuda_generator(index: int) -> Generator:
    """GPU ``index``'s default generator (``ember.cuda.manual_seed`` seeds it)."""
    generator = _cuda_generators.get(index)
    if generator is None:
        generator = _cuda_generators[index] = Generator.__new__(Generator)
        generator.device, generator._index = _device_cls("cuda", index), index
        generator._stream = CudaBitStream(index)
        generator._stream.seed(fresh_seed() if _cuda_seed[0] is None else _cuda_seed[0])
    return generator


@_tape.replayed()  # a compiled call replays it whole (as ``Generator.manual_seed``)
def manual_seed(seed) -> Generator:
    """Seed the random numbers of every device, as PyTorch does: the default generator
    (the global stream), which it returns, and each GPU's, made or yet to be made."""
    generator = default_generator.manual_seed(int(seed) if isinstance(seed, float) else seed)
    _seed_cuda(generator.initial_seed())
    return generator


@_tape.replayed()
def seed() -> int:
    """Seed every device's random numbers non-deterministically and return the seed."""
    value = default_generator.seed()
    _seed_cuda(value)
    return value


def _seed_cuda(value: int) -> None:
    _cuda_seed[0] = value
    for generator in _cuda_generators.values():
        generator._stream.seed(value)


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state as a ``uint8`` tensor."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(
    devices=None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str = "cuda",
):
    """Restore the default generator's state on exit: draws inside leave no trace outside.

    Only the CPU's: a CUDA generator's state (CuPy's XORWOW) cannot be read back.
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def _check_generator(generator, op: str) -> None:
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"{op}(): argument 'generator' must be torch.Generator, not {type(generator).__name__}"
        )


def _stream(generator, op: str, index: int | None = None):
    """What draws numbers on device ``index`` (None: the host): ``generator``, else that
    device's default generator. A NumPy ``Generator`` or a CuPy one; CuPy's has no
    ``permutation``, ``lognormal`` or ``standard_cauchy``."""
    if generator is None:
        if index is None:
            return default_generator._stream.random
        return cuda_generator(index)._stream.random
    _check_generator(generator, op)
    if generator._index != index:
        wanted = "cpu" if index is None else "cuda"
        if wanted == generator.device.type:
            raise RuntimeError(f"Expected a generator on cuda:{index} but found one on "
                               f"{generator.device}")
        raise RuntimeError(f"Expected a '{wanted}' device type for generator but found "
                           f"'{generator.device.type}'")
    return generator._stream.random


# ---------------------------------------------------------------- shared checks


def _shape(size, op: str) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for item in size:
        if isinstance(item, Tensor) and item.numel() == 1 and not item.is_floating_point():
            continue
        if isinstance(item, bool) or not hasattr(item, "__index__"):
            raise TypeError(
                f"{op}(): argument 'size' must be tuple of ints, not {type(item).__name__}"
            )
    shape = tuple(operator.index(item) for item in size)
    for item in shape:
        if item < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {item}: {list(shape)}"
            )
    return shape


def _size_argument(size, op: str) -> tuple:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    return _shape((tuple(size),), op)


def _integer(value, name: str, op: str) -> int:
    if isinstance(value, Tensor) and not value.is_floating_point() and value.numel() == 1:
        return int(value.item())
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")
    return operator.index(value)


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def _text(value) -> str:
    """A number the way PyTorch's messages print it (2, not 2.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _require_float(dtype, kernel: str) -> None:
    if not dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(dtype)}'")


def _target(device, out) -> int | None:
    """The array index a new tensor is drawn on: ``device``'s, else ``out``'s, else the
    default device's (which raises for a device ember cannot use)."""
    if device is None and out is not None:
        return device_index(out._data)
    return array_index(device)


def _finish(array, dtype, requires_grad, out=None) -> Tensor:
    result = Tensor._make(array.astype(dtype.numpy, copy=False))
    if requires_grad:
        result.requires_grad_(True)
    if out is not None:
        out._data = result._data
        out._version_counter[0] += 1
        return out
    return result


def _creation_dtype(dtype, out=None):
    if dtype is not None:
        return to_dtype(dtype)
    return out.dtype if out is not None else get_default_dtype()


# ---------------------------------------------------------------- raw draws (arrays)


def _uniform(stream, shape, numpy_dtype, low=0.0, high=1.0):
    """Uniform on [low, high), drawn at the precision of ``numpy_dtype``."""
    precision = xp.float64 if numpy_dtype == xp.float64 else xp.float32
    unit = stream.random(shape, dtype=precision)
    if numpy_dtype == xp.float16:
        # float32 values just under 1 round up to 1.0 in half precision.
        unit = xp.minimum(unit, xp.float32(xp.nextafter(xp.float16(1), xp.float16(0))))
    if low == 0.0 and high == 1.0:
        return unit.astype(numpy_dtype)
    return (low + (high - low) * unit.astype(xp.float64)).astype(numpy_dtype)


def _standard_normal(stream, shape, numpy_dtype):
    precision = xp.float64 if numpy_dtype == xp.float64 else xp.float32
    return stream.standard_normal(shape, dtype=precision)


_C_TYPE_NAMES = {
    "bool": "bool",
    "uint8": "unsigned char",
    "int8": "signed char",
    "int16": "short",
    "int32": "int",
    "int64": "long int",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "float32": "float",
    "float64": "double",
}
_MANTISSA_BITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _integer_bounds(dtype) -> tuple:
    """The inclusive range of integers ``dtype`` holds exactly."""
    if dtype is bool_:
        return 0, 1
    if dtype.is_floating_point:
        digits = _MANTISSA_BITS[dtype.name]
        return -(2**digits), 2**digits
    info = int_info(dtype.numpy)
    return int(info.min), int(info.max)


def _integers(stream, shape, dtype, low: int, high: int | None, op: str):
    """Integers uniform on [low, high) (``high`` None: up to the dtype's largest), as ``dtype``."""
    if high is not None and low >= high:
        raise RuntimeError(
            f"{op} expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    smallest, largest = _integer_bounds(dtype)
    if not dtype.is_floating_point:
        if not smallest <= low <= largest:
            raise RuntimeError(f"from is out of bounds for {_C_TYPE_NAMES[dtype.name]}")
        if high is not None and not smallest <= high - 1 <= largest:
            raise RuntimeError(f"to - 1 is out of bounds for {_C_TYPE_NAMES[dtype.name]}")
    last = largest if high is None else high - 1
    values = stream.integers(low, last, size=shape, dtype=xp.int64, endpoint=True)
    return values.astype(dtype.numpy)


# ---------------------------------------------------------------- gradients through draws


class _Draw(Op):
    """``forward(values, *parameters)`` returns the drawn ``values``; parameters get zeros."""

    replayable = False
    replayable_reason = "its values were drawn or filled in before the op (an in-place draw)"

    @staticmethod
    def forward(ctx, values, *parameters):
        return values

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad[1:]
        return (None,) + tuple(zeros_like(grad) if need else None for need in needs)


class _Redrawn(_Draw):
    replayable = True  # its values reach it as the tensor of a draw step (``_drawn``)


class Normal1(_Redrawn):
    node_name = "NormalBackward1"


class Normal2(_Redrawn):
    node_name = "NormalBackward2"


class Normal3(_Redrawn):
    node_name = "NormalBackward3"


class Bernoulli(_Redrawn):
    pass


class Poisson(_Redrawn):
    pass


class BernoulliProbability(_Redrawn):
    node_name = "NotImplemented"

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::bernoulli is not implemented")


class Uniform(_Draw):
    pass


class Normal(_Draw):
    pass


class Random(_Draw):
    node_name = "RandomBackward2"


class BernoulliFill(_Draw):
    node_name = "BernoulliBackward2"


class Exponential(_Draw):
    pass


class Geometric(_Draw):
    pass


class Cauchy(_Draw):
    pass


class LogNormal(_Draw):
    pass


class Zero(_Draw):
    replayable = True  # its values follow from the shape alone (``zero_``)


class Fill(_Draw):
    node_name = "FillBackward2"
    replayable = True  # its values follow from the shape and the number (``fill_``)


class FillTensor(Op):
    """``fill_`` with a 0-d tensor: the old values get zeros, the value the sum of the gradient."""

    node_name = "FillBackward3"
    replayable = False
    replayable_reason = "an in-place fill"

    @staticmethod
    def forward(ctx, values, old, value):
        return values

    @staticmethod
    def backward(ctx, grad):
        needs = ctx.needs_input_grad
        total = reduction.sum(grad) if needs[2] else None
        return None, zeros_like(grad) if needs[1] else None, total


def _drawn(node, values, *parameters, redraw=None) -> Tensor:
    """Wrap ``values``; record ``node`` when a parameter tensor requires grad. ``redraw``,
    where given, draws the next values alike from the parameters' arrays: a compiled call's
    recording replays the draw (and ``node`` gets the values as a tensor, the draw's)."""
    tape = _tape.current() if redraw is not None else None
    if tape is not None:
        values = Tensor._make(values)
        tape.draw(values, redraw, [p for p in parameters if isinstance(p, Tensor)])
    if grad_mode.state.enabled and any(
        isinstance(p, Tensor) and p._requires_grad for p in parameters
    ):
        return node.apply(values, *parameters)
    return values if tape is not None else Tensor._make(values)


def _overwrite(input: Tensor, values, node, op: str, *parameters, constant=False,
               drawn=None) -> Tensor:
    """Write ``values`` into ``input``'s storage (views see it); the old values get zero grad.
    ``constant``: values that follow from the shape and numbers alone (zeros, a number),
    which a compiled call's recording takes as a constant. ``drawn``: (kernel, generator,
    device index, and the tensors whose arrays the kernel reads after the shape and dtype)
    of a draw that a replay makes again (``_drawn_on_tape``), where no gradient is
    recorded; other draws break a recording."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    check_leaf_inplace(input)
    values = asarray(values, input._data.dtype)
    if constant:
        _tape.derived(values)
    tracked = grad_mode.state.enabled and (
        input._requires_grad or any(isinstance(p, Tensor) and p._requires_grad for p in parameters)
    )
    if tracked:
        result = node.apply(values, snapshot(input), *parameters)
    elif constant:
        result = _tape.made(Tensor._make(values))
    elif drawn is not None:
        kernel, generator, index, *inputs = drawn
        result = _drawn_on_tape(Tensor._make(values), None, kernel, generator, index,
                                values.shape, values.dtype, inputs)
    else:
        result = Tensor._make(values)
    return inplace(input, result, op)


# ---------------------------------------------------------------- creation


def rand(
    *sizes,
    size=None,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A tensor of samples from the uniform distribution on [0, 1).

    Example::

        >>> ember.rand(2, 3).shape
        ember.Size([2, 3])
    """
    shape = _sizes(sizes, size, "rand")
    target = _creation_dtype(dtype, out)
    _require_float(target, "check_uniform_bounds")
    index = _target(device, out)
    with on_device(index):
        values = _uniform(_stream(generator, "rand", index), shape, target.numpy)
    return _drawn_on_tape(_finish(values, target, requires_grad, out), out,
                          _uniform, generator, index, shape, target.numpy)


def _sizes(sizes: tuple, size, op: str) -> tuple:
    if size is not None:
        if sizes:
            raise TypeError(f"{op}() got multiple values for argument 'size'")
        sizes = (size,)
    if not sizes:
        raise TypeError(f"{op}() missing 1 required positional argument: 'size'")
    return _shape(sizes, op)


def randn(
    *sizes,
    size=None,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A tensor of samples from the standard normal distribution N(0, 1)."""
    shape = _sizes(sizes, size, "randn")
    target = _creation_dtype(dtype, out)
    _require_float(target, "normal_kernel_cpu")
    index = _target(device, out)
    with on_device(index):
        values = _standard_normal(_stream(generator, "randn", index), shape, target.numpy)
    return _drawn_on_tape(_finish(values, target, requires_grad, out), out,
                          _standard_normal, generator, index, shape, target.numpy)


def _drawn_on_tape(result, out, kernel, generator, index, shape, numpy_dtype,
                   inputs=()) -> Tensor:
    """Tell a compiled call being recorded how to draw ``result``'s numbers again, from the
    same generator, on each replay: ``kernel(stream, shape, numpy_dtype, *arrays)``, given
    the arrays of the tensors ``inputs`` (other draws are graph breaks)."""
    tape = _tape.current()
    if tape is not None and out is None and not result._requires_grad:
        def alike(stream, *arrays):
            return kernel(stream, shape, numpy_dtype, *arrays).astype(numpy_dtype, copy=False)

        tape.draw(result, _redrawing(alike, generator, index), inputs)
    return result


def _redrawing(kernel, generator, index):
    """``redraw(*arrays)``: ``kernel(stream, *arrays)`` on the generator's stream as it
    stands then, on the device ``index``: a compiled call's replay of a draw."""
    def redraw(*arrays):
        with on_device(index):
            return kernel(_stream(generator, "", index), *arrays)

    return redraw


def randint(
    low=0,
    high=None,
    size=None,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise.

    Example::

        >>> ember.randint(3, 10, (2, 2)).dtype
        ember.int64
    """
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if size is None:
        raise TypeError("randint() missing required argument 'size' (a tuple of ints)")
    shape = _size_argument(size, "randint")
    low, high = _integer(low, "low", "randint"), _integer(high, "high", "randint")
    target = to_dtype(dtype) if dtype is not None else (out.dtype if out is not None else int64)
    index = _target(device, out)
    with on_device(index):
        values = _integers(_stream(generator, "randint", index), shape, target, low, high,
                           "random_")
    return _drawn_on_tape(_finish(values, target, requires_grad, out), out,
                          partial(_integers_kernel, target, low, high), generator, index,
                          shape, target.numpy)


def _integers_kernel(dtype, low: int, high: int, stream, shape, numpy_dtype):
    """``randint``'s draw as ``_drawn_on_tape`` calls a kernel."""
    return _integers(stream, shape, dtype, low, high, "random_")


def randperm(
    n: int,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """A random permutation of the integers 0 .. n-1 (int64 unless ``dtype`` says otherwise)."""
    n = _integer(n, "n", "randperm")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    target = to_dtype(dtype) if dtype is not None else int64
    largest = _integer_bounds(target)[1]
    if target.is_floating_point and n > largest + 1:
        raise RuntimeError(f"n cannot be greater than {largest + 1} for {_legacy(target)} type.")
    if not target.is_floating_point and n - 1 > largest:
        raise RuntimeError(f"value cannot be converted to type {target.name}_t without overflow")
    index = _target(device, out)
    draw = partial(_permutation, on_gpu=index is not None)
    with on_device(index):
        values = draw(_stream(generator, "randperm", index), (n,), None)
    return _drawn_on_tape(_finish(values, target, requires_grad, out), out, draw, generator,
                          index, (n,), target.numpy)


def _permutation(stream, shape, numpy_dtype, on_gpu):
    """randperm's draw: a permutation of ``range(shape[0])`` (int64). CuPy's Generator has
    no ``permutation``: the order that sorts uniform draws is one."""
    (n,) = shape
    return xp.argsort(stream.random(n)) if on_gpu else stream.permutation(n)


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from N(mean, std**2), in PyTorch's four forms.

    ``normal(mean_tensor, std_tensor)`` broadcasts the two; ``normal(mean_tensor, std=1.0)``
    and ``normal(mean, std_tensor)`` take the tensor's shape; ``normal(mean, std, size)``
    with two numbers needs ``size``. Gradients to ``mean`` and ``std`` are zero, as in
    PyTorch (use ``mean + std * randn(...)`` for a reparameterized sample).

    Example::

        >>> ember.normal(ember.zeros(2, 1), ember.ones(3)).shape
        ember.Size([2, 3])
    """
    _check_generator(generator, "normal")  # before the other arguments, as PyTorch
    mean_is_tensor, std_is_tensor = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mean_is_tensor or std_is_tensor):
        if size is None:
            raise TypeError("normal() with a float mean and std needs a 'size' (tuple of ints)")
        shape = _size_argument(size, "normal")
        std = float(std)
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_text(std)}")
        target = _creation_dtype(dtype, out)
        _require_float(target, "normal_kernel_cpu")
        index = _target(device, out)
        draw = partial(_scaled_normal, mean=float(mean), std=std)
        with on_device(index):
            values = draw(_stream(generator, "normal", index), shape, target.numpy)
        return _drawn_on_tape(_finish(values, target, requires_grad, out), out, draw,
                              generator, index, shape, target.numpy)
    if size is not None:
        raise TypeError("normal(): 'size' is only accepted when mean and std are both numbers")
    reference = mean if mean_is_tensor else std
    _require_float(reference.dtype, "normal_kernel_cpu")
    if not std_is_tensor and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_text(std)}")
    if mean_is_tensor and std_is_tensor:
        shape, node = broadcast_shape("normal", mean.shape, std.shape), Normal3
    else:
        shape, node = reference.shape, Normal1 if mean_is_tensor else Normal2
    # the number among mean and std, None for a tensor, whose array the draw gets
    numbers = (None if mean_is_tensor else mean, None if std_is_tensor else std)
    draw = partial(_normal_about, numbers, shape, reference._data.dtype)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    index = device_index(reference._data)
    with on_device(index):
        values = draw(_stream(generator, "normal", index), *[t._data for t in tensors])
    if out is not None:
        return _finish(_drawn(node, values, *tensors)._data, out.dtype, False, out)
    # a compiled call's replay draws again about the mean and std it then has
    return _drawn(node, values, *tensors, redraw=_redrawing(draw, generator, index))


def _normal_about(numbers, shape, numpy_dtype, stream, *arrays):
    """``normal``'s draw about tensors: N(mean, std**2) in ``numpy_dtype``, the mean and
    std from ``numbers`` ((mean, std), None for each that is the next of ``arrays``)."""
    given = iter(arrays)
    mean, std = (next(given) if number is None else number for number in numbers)
    # A host round trip on a GPU, as PyTorch's check of std also is.
    if numbers[1] is None and std.size and bool((std < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    draws = _standard_normal(stream, shape, numpy_dtype)
    return asarray(mean + std * draws, numpy_dtype)


def rand_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=preserve_format) -> Tensor:
    """Uniform [0, 1) samples with the shape (and by default the dtype) of ``input``."""
    return _like(rand, (), input, generator, dtype, device, requires_grad, memory_format)


def randn_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=preserve_format) -> Tensor:
    """N(0, 1) samples with the shape (and by default the dtype) of ``input``."""
    return _like(randn, (), input, generator, dtype, device, requires_grad, memory_format)


def randint_like(input: Tensor, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad: bool = False,
                 memory_format=preserve_format) -> Tensor:
    """Integers uniform on [low, high) with the shape and dtype of ``input``;
    ``randint_like(input, high)`` starts at 0."""
    if high is None:
        low, high = 0, low
    bounds = (low, high)
    return _like(randint, bounds, input, generator, dtype, device, requires_grad, memory_format)


def _like(draw, leading, input, generator, dtype, device, requires_grad, memory_format):
    """``draw(*leading, input's shape, ...)`` in ``input``'s dtype unless ``dtype`` says
    otherwise, laid out as ``memory_format`` asks.

    The samples are drawn in row-major order whatever the layout, so a layout never
    changes which number lands at which index.
    """
    if device is None:
        device = input.device  # PyTorch's *_like draw where the input lives
    result = draw(*leading, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                  device=device, requires_grad=requires_grad)
    if memory_format is preserve_format:
        if input._data.flags.c_contiguous or result.device != input.device:
            return result
        array = xp.empty_like(input._data, dtype=result._data.dtype, order="K")
        array[...] = result._data
    elif is_in_format(result._data, memory_format):
        return result
    else:
        array = in_format(result._data, memory_format)
    result._data = array
    return result


# ---------------------------------------------------------------- sampling from tensors


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator=None, out=None
) -> Tensor:
    """Category indices drawn with probabilities proportional to the rows of ``input``.

    Args:
        input: weights of shape (categories,) or (rows, categories); non-negative,
            finite, with a positive sum per row.
        num_samples: draws per row; at most ``categories`` without replacement.
        replacement: whether a category may be drawn more than once.

    Shape:
        Output: (num_samples,) or (rows, num_samples), int64.
    """
    if not isinstance(num_samples, int) or isinstance(num_samples, bool):
        raise TypeError(
            f"multinomial(): argument 'num_samples' (position 2) must be int, not "
            f"{type(num_samples).__name__}"
        )
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "multinomial only supports floating-point dtypes for input, got: "
            f"{_legacy(input.dtype)}"
        )
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    shape = input.shape[:-1] + (num_samples,)
    draw = partial(_sampled, num_samples=num_samples, replacement=replacement)
    index = device_index(input._data)
    with on_device(index):
        indices = draw(_stream(generator, "multinomial", index), shape, None, input._data)
    # a compiled call's replay draws again from the weights it then has
    return _drawn_on_tape(_finish(indices, int64, False, out), out, draw, generator, index,
                          shape, xp.int64, [input])


def _sampled(stream, shape, numpy_dtype, input, num_samples: int, replacement: bool):
    """``multinomial``'s draw from the weights ``input``: int64 indices of ``shape``."""
    weights = input.reshape(-1, input.shape[-1]).astype(xp.float64)
    # The checks read a flag to the host: on a GPU, a round trip each.
    if weights.size and not (xp.isfinite(weights) & (weights >= 0)).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    totals = weights.sum(axis=1)
    if (totals <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    indices = _categories(stream, weights, totals, num_samples, replacement)
    return indices.astype(xp.int64).reshape(shape)


def _categories(stream, weights, totals, num_samples: int, replacement: bool):
    """``num_samples`` category indices per row of ``weights`` (rows, categories)."""
    rows, categories = weights.shape
    if replacement:
        cumulative = xp.cumsum(weights / totals[:, None], axis=1)
        draws = stream.random((rows, num_samples))
        indices = xp.zeros((rows, num_samples), dtype=xp.int64, like=weights)
        for row in range(rows):
            indices[row] = xp.searchsorted(cumulative[row], draws[row], side="right")
        # A draw past the rounded total belongs to the last category of positive weight.
        last_positive = categories - 1 - xp.argmax(weights[:, ::-1] > 0, axis=1)
        return xp.minimum(indices, last_positive[:, None])
    # Exponential race (PyTorch's method): the k smallest E_i / w_i are a draw of k
    # categories without replacement; zero weights come last.
    with xp.errstate(divide="ignore"):
        keys = stream.exponential(size=weights.shape) / weights
    return xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 draws: each element is 1 with probability ``input`` (or ``p`` where given).

    The result has ``input``'s dtype and shape; its gradient to ``input`` is zero.
    """
    index = device_index(input._data)
    stream = _stream(generator, "bernoulli", index)
    if p is not None:
        p = float(_number(p))
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_text(p)}")
        draw = partial(_bernoulli_alike, p=p)
        with on_device(index):
            values = draw(stream, input._data)
        return _drawn(BernoulliProbability, values, input,
                      redraw=_redrawing(draw, generator, index))
    _require_float(input.dtype, "bernoulli_tensor_cpu_p_")
    with on_device(index):
        values = _bernoulli_of_each(stream, input._data)
    if out is not None:
        return _finish(_drawn(Bernoulli, values, input)._data, out.dtype, False, out)
    # a compiled call's replay draws again from its own probabilities
    return _drawn(Bernoulli, values, input,
                  redraw=_redrawing(_bernoulli_of_each, generator, index))


def _check_probabilities(probabilities, op: str) -> None:
    """PyTorch's error where an array of probabilities has one outside [0, 1] (or NaN)."""
    if not ((probabilities >= 0) & (probabilities <= 1)).all():  # on a GPU, a round trip
        raise RuntimeError(
            f"Expected p_in >= 0 && p_in <= 1 to be true, but got false.  ({op}: every "
            "probability must lie in [0, 1])"
        )


def _bernoulli_alike(stream, input, p):
    """``bernoulli(input, p)``'s draw: 1 with probability ``p``, in ``input``'s shape and
    dtype."""
    return asarray(_bernoulli_of(stream, input.shape, None, p), input.dtype)


def _bernoulli_of_each(stream, probabilities):
    """1 with probability ``probabilities`` each, in their dtype, once they are checked."""
    _check_probabilities(probabilities, "bernoulli")
    return asarray(stream.random(probabilities.shape) < probabilities, probabilities.dtype)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Counts drawn from Poisson(rate) for each rate in ``input`` (same dtype and shape)."""
    _require_float(input.dtype, "poisson_cpu")
    index = device_index(input._data)
    with on_device(index):
        values = _counts(_stream(generator, "poisson", index), input._data)
    # a compiled call's replay draws again at the rates it then has
    return _drawn(Poisson, values, input, redraw=_redrawing(_counts, generator, index))


def _counts(stream, rates):
    """``poisson``'s draw: a count for each rate, in the rates' dtype."""
    if (rates < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    return asarray(stream.poisson(rates.astype(xp.float64)), rates.dtype)


# ---------------------------------------------------------------- in-place fills


def _from_keyword(value, keywords: dict, op: str):
    """``from`` is a Python keyword: accept ``**{'from': x}`` as PyTorch's bindings do."""
    if "from" in keywords:
        value = keywords.pop("from")
    if keywords:
        raise TypeError(f"{op}() got an unexpected keyword argument '{next(iter(keywords))}'")
    return value


def _fill_drawn(input: Tensor, draw, node, op: str, generator) -> Tensor:
    """Fill ``input`` in place with ``draw(stream, shape, numpy_dtype)``: numbers from
    ``generator`` (else the default one) on ``input``'s device, which a compiled call's
    replay draws again (``_overwrite``'s ``drawn``)."""
    index = device_index(input._data)
    with on_device(index):
        values = draw(_stream(generator, op, index), input.shape, input._data.dtype)
    return _overwrite(input, values, node, op, drawn=(draw, generator, index))


def _on_gpu(input: Tensor) -> bool:
    return device_index(input._data) is not None


def uniform_(
    input: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None, **keywords
) -> Tensor:
    """Fill ``input`` in place with samples from the uniform distribution on [from, to)."""
    low = float(_number(_from_keyword(from_, keywords, "uniform_")))
    high = float(_number(to))
    _require_float(input.dtype, "check_uniform_bounds")
    largest = float(float_info(input._data.dtype).max)
    name = _C_TYPE_NAMES[input.dtype.name]
    if abs(low) > largest:
        raise RuntimeError(f"from is out of bounds for {name}")
    if abs(high) > largest:
        raise RuntimeError(f"to is out of bounds for {name}")
    if low > high:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={_text(low)} > "
            f"to={_text(high)}"
        )
    if high - low > largest:
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{_legacy(input.dtype)}>::max(), "
            f"but found to={high:g} and from={low:g} which result in to-from to exceed the limit"
        )
    return _fill_drawn(input, partial(_uniform, low=low, high=high), Uniform, "uniform_",
                       generator)


def normal_(input: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill ``input`` in place with samples from N(mean, std**2)."""
    mean, std = float(_number(mean)), float(_number(std))
    _require_float(input.dtype, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_text(std)}")
    return _fill_drawn(input, partial(_scaled_normal, mean=mean, std=std), Normal, "normal_",
                       generator)


def _scaled_normal(stream, shape, numpy_dtype, mean, std):
    """``normal_``'s and ``normal(mean, std, size)``'s draw: N(mean, std**2) at the
    precision of ``numpy_dtype``."""
    return mean + std * _standard_normal(stream, shape, numpy_dtype)


_UNSET = object()


def random_(input: Tensor, from_=_UNSET, to=_UNSET, *, generator=None, **keywords) -> Tensor:
    """Fill ``input`` in place with integers uniform on [from, to).

    ``random_(to)`` draws from [0, to); ``random_(from, None)`` up to the dtype's largest
    value; ``random_()`` from [0, largest], where a float's largest is 2**mantissa bits.
    """
    from_ = _from_keyword(from_, keywords, "random_")
    if from_ is _UNSET:
        low, high = 0, None
    elif to is _UNSET:
        low, high = 0, from_
    else:
        low, high = from_, to
    low = _integer(low, "from", "random_")
    high = None if high is None else _integer(high, "to", "random_")
    return _fill_drawn(input, partial(_integers_kernel, input.dtype, low, high), Random,
                       "random_", generator)


def bernoulli_(input: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill ``input`` in place with 0/1 draws that are 1 with probability ``p``
    (a number, or a tensor broadcastable to ``input``)."""
    index = device_index(input._data)
    stream = _stream(generator, "bernoulli_", index)
    if isinstance(p, Tensor):
        if (
            p.ndim > input.ndim
            or broadcast_shape("bernoulli_", p.shape, input.shape) != input.shape
        ):
            raise RuntimeError(
                f"bernoulli_: probabilities of shape {list(p.shape)} can't be expanded to the "
                f"tensor's shape {list(input.shape)}"
            )
        draw, inputs = partial(_bernoulli_broadcast, index=index), (p,)
    else:
        p = float(p)
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_text(p)}")
        draw, inputs = partial(_bernoulli_of, p=p), ()  # stochastic depth's mask
    with on_device(index):
        values = draw(stream, input.shape, None, *[t._data for t in inputs])
    # a replay draws again (from the probabilities it then has)
    return _overwrite(input, values, BernoulliFill, "bernoulli_",
                      drawn=(draw, generator, index, *inputs))


def _bernoulli_broadcast(stream, shape, numpy_dtype, probabilities, index):
    """``bernoulli_``'s draw from a tensor of ``probabilities`` broadcast to ``shape``
    (moved to the device ``index`` of the tensor filled): checked, then 1 with each
    probability."""
    probabilities = to_device(probabilities, index)
    _check_probabilities(probabilities, "bernoulli_")
    return stream.random(shape) < probabilities


def _bernoulli_of(stream, shape, numpy_dtype, p):
    """``bernoulli_``'s draw for a number ``p``: True with probability ``p``."""
    return stream.random(shape) < p


def exponential_(input: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill ``input`` in place with samples of density ``lambd * exp(-lambd * x)``."""
    lambd = float(_number(lambd))
    _require_continuous(input, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_text(lambd)}")
    return _fill_drawn(input, partial(_exponential, scale=1.0 / lambd), Exponential,
                       "exponential_", generator)


def _exponential(stream, shape, numpy_dtype, scale):
    """``exponential_``'s draw, with mean ``scale`` (float64)."""
    return stream.exponential(scale, size=shape)


def geometric_(input: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill ``input`` in place with the number of Bernoulli(p) trials up to the first success
    (values 1, 2, ...: P(k) = (1 - p)**(k - 1) * p)."""
    p = float(_number(p))
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_text(p)}")
    return _fill_drawn(input, partial(_geometric, p=p), Geometric, "geometric_", generator)


def _geometric(stream, shape, numpy_dtype, p):
    """``geometric_``'s draw: trials up to the first success of probability ``p``."""
    return stream.geometric(p, size=shape)


def cauchy_(input: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill ``input`` in place with Cauchy samples: density 1 / (pi sigma (1 + ((x - median)
    / sigma)**2))."""
    median, sigma = float(_number(median)), float(_number(sigma))
    _require_continuous(input, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_text(sigma)}")
    draw = partial(_cauchy, median=median, sigma=sigma, on_gpu=_on_gpu(input))
    return _fill_drawn(input, draw, Cauchy, "cauchy_", generator)


def _cauchy(stream, shape, numpy_dtype, median, sigma, on_gpu):
    """``cauchy_``'s draw (float64). CuPy's Generator has no ``standard_cauchy``: the
    inverse of Cauchy's CDF, as PyTorch's kernel."""
    if on_gpu:
        draws = xp.tan(xp.pi * (stream.random(shape) - 0.5))
    else:
        draws = stream.standard_cauchy(size=shape)
    return median + sigma * draws


def log_normal_(input: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill ``input`` in place with exp(N(mean, std**2)) samples."""
    mean, std = float(_number(mean)), float(_number(std))
    _require_float(input.dtype, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_text(std)}")
    draw = partial(_log_normal, mean=mean, std=std, on_gpu=_on_gpu(input))
    return _fill_drawn(input, draw, LogNormal, "log_normal_", generator)


def _log_normal(stream, shape, numpy_dtype, mean, std, on_gpu):
    """``log_normal_``'s draw (float64); CuPy's Generator has no ``lognormal``."""
    if on_gpu:
        return xp.exp(mean + std * stream.standard_normal(shape))
    return stream.lognormal(mean, std, size=shape)


def _require_continuous(input: Tensor, distribution: str) -> None:
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"{distribution} distribution is a continuous probability distribution. dtype must "
            f"be a floating point but you specified {_legacy(input.dtype)}"
        )


def fill_(input: Tensor, value) -> Tensor:
    """Set every element of ``input`` to ``value`` (a number or a 0-d tensor), in place.

    The old values get a zero gradient; a 0-d ``value`` that requires grad gets the sum
    of the gradient.
    """
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                "fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        target = input._data
        fill = to_device(value._data, device_index(target))  # a 0-d CPU value may fill a GPU's
        values = xp.full(input.shape, fill, dtype=target.dtype, like=target)
        if grad_mode.state.enabled and value._requires_grad:
            return _overwrite(input, values, FillTensor, "fill_", value)
        return _overwrite(input, values, Fill, "fill_")
    is_number = isinstance(value, (bool, int, float))
    if not is_number and not (hasattr(value, "dtype") and getattr(value, "ndim", None) == 0):
        raise TypeError(
            f"fill_(): argument 'value' must be a Number or a 0-d Tensor, not "
            f"{type(value).__name__}"
        )
    value = checked_scalar(value, input)
    values = xp.full(input.shape, value, dtype=input._data.dtype, like=input._data)
    return _overwrite(input, values, Fill, "fill_", constant=True)


def zero_(input: Tensor) -> Tensor:
    """Set every element of ``input`` to zero, in place."""
    values = xp.zeros(input.shape, dtype=input._data.dtype, like=input._data)
    return _overwrite(input, values, Zero, "zero_", constant=True)
