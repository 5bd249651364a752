"""Small ``torch.*`` functions scripts reach for: in-place aliases, predicates, windows,
and the process-wide settings PyTorch keeps (default device, matmul precision, warnings).

Everything here is composed from ember's ops, so gradients come from them.
"""

import itertools
import math
import warnings

import ember
from ember import _device
from ember._backend import xp
from ember._tensor import Tensor
from ember.autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled

# Every ``torch.X_`` whose ``Tensor.X_`` ember has: ``torch.abs_(t)`` is ``t.abs_()``.
_INPLACE_METHODS = [
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp2_",
    "exp_", "expm1_", "fix_", "floor_", "frac_", "gcd_", "i0_", "index_put_", "lcm_", "ldexp_",
    "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_",
    "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_",
    "square_", "tan_", "tanh_", "trunc_", "xlogy_",
]


def _inplace_alias(name: str):
    def method_call(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    method_call.__name__ = method_call.__qualname__ = name
    method_call.__doc__ = f"``torch.{name}(input, ...)``: the same as ``input.{name}(...)``."
    return method_call


_INPLACE_ALIASES = {name: _inplace_alias(name) for name in _INPLACE_METHODS}

__all__ = [
    "adjoint", "bartlett_window", "blackman_window", "combinations", "cumulative_trapezoid",
    "detach", "diagflat", "fill", "frexp", "from_dlpack", "frombuffer",
    "get_default_device", "get_deterministic_debug_mode", "get_device",
    "get_float32_matmul_precision", "get_num_interop_threads", "hamming_window",
    "hann_window", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_conj",
    "is_deterministic_algorithms_warn_only_enabled", "is_inference", "is_neg",
    "is_nonzero", "is_same_size", "is_signed", "is_warn_always_enabled", "kaiser_window",
    "put", "set_default_device", "set_deterministic_debug_mode",
    "set_float32_matmul_precision", "set_num_interop_threads", "set_warn_always",
]
__all__.extend(_INPLACE_METHODS)


def detach(input: Tensor) -> Tensor:
    """``torch.detach``: ``input.detach()``, a view that records no gradient."""
    return input.detach()


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape and dtype holding ``value`` everywhere.

    A 0-d tensor ``value`` receives the gradient (the sum of the output's).
    """
    if not isinstance(value, Tensor):
        return ember.full_like(input, value)
    if value.dim() != 0:
        raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value.dim()} dimensions.")
    return value.to(input.dtype).expand(input.shape).clone()


def is_nonzero(input: Tensor) -> bool:
    """Whether a one-element tensor's value is non-zero; refuses any other size."""
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether the two tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype can hold negative numbers."""
    return input.dtype.is_signed


def is_inference(input: Tensor) -> bool:
    """False: ember's inference mode makes ordinary tensors, never inference tensors."""
    return False


def is_conj(input: Tensor) -> bool:
    """False: ember has no complex dtypes, so no tensor carries a lazy conjugation."""
    return False


def is_neg(input: Tensor) -> bool:
    """False: ember never marks a tensor with a lazy negation."""
    return False


def get_device(input: Tensor) -> int:
    """-1, PyTorch's device index for a CPU tensor (ember has no other device)."""
    return -1


def adjoint(input: Tensor) -> Tensor:
    """The last two dims swapped (the conjugate is a no-op without complex dtypes)."""
    if input.dim() < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.dim()}-D tensor.")
    return input.transpose(-2, -1)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with the flattened ``input`` on diagonal ``offset``."""
    return ember.diag(input.flatten(), offset)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """Every length-``r`` combination of a 1-D tensor's elements, one per row."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return ember.empty(0, dtype=input.dtype)
    pick = itertools.combinations_with_replacement if with_replacement else (
        itertools.combinations)
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return ember.empty(0, r, dtype=input.dtype)
    index = ember.tensor(rows, dtype=ember.int64)
    return input[index.flatten()].reshape(len(rows), r)


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent``, 0.5 <= |m| < 1.

    The exponent is int32, as in PyTorch; like PyTorch, no gradient flows through it.
    """
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    values = input.detach()
    if values.dtype == ember.bfloat16:
        # float32 shares bfloat16's exponent range, so its frexp is exact for bfloat16.
        values = values.float()
    mantissa, exponent = xp.frexp(values._data)  # on the tensor's device
    return ember.return_types.frexp(
        ember.Tensor._make(mantissa).to(input.dtype),
        ember.Tensor._make(exponent.astype("int32")))


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral of ``y`` along ``dim`` (one element shorter)."""
    if x is not None and dx is not None:
        raise TypeError("cumulative_trapezoid() received an invalid combination of "
                        "arguments: pass either x or dx, not both")
    length = y.shape[dim]
    pairs = (y.narrow(dim, 1, max(length - 1, 0)) + y.narrow(dim, 0, max(length - 1, 0)))
    if isinstance(x, Tensor):
        if x.dim() == 1:
            shape = [1] * y.dim()
            shape[dim] = x.shape[0]
            x = x.reshape(shape)
        spacing = x.narrow(dim, 1, max(length - 1, 0)) - x.narrow(dim, 0, max(length - 1, 0))
    else:
        spacing = 1 if x is None and dx is None else (x if dx is None else dx)
    return ember.cumsum(pairs * spacing / 2, dim)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written at flat indices ``index``."""
    flat = input.flatten()
    flat_index = index.flatten()
    flat_index = ember.where(flat_index < 0, flat_index + flat.shape[0], flat_index)
    placed = flat.index_put((flat_index,), source.flatten(), accumulate)
    return placed.reshape(input.shape)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D tensor read from an object exposing the buffer protocol.

    PyTorch shares the buffer's memory; ember copies it, so later writes to the buffer
    are not seen by the tensor.
    """
    numpy_dtype = ember.empty(0, dtype=dtype).numpy().dtype
    array = xp.frombuffer(buffer, dtype=numpy_dtype, count=count, offset=offset)
    return ember.tensor(array.copy(), dtype=dtype, requires_grad=requires_grad)


def from_dlpack(external) -> Tensor:
    """A tensor from any object implementing DLPack (``__dlpack__``) on the CPU.

    The data is copied: ember tensors own their arrays.
    """
    return ember.tensor(xp.from_dlpack(external).copy())


# ---------------------------------------------------------------- window functions


def _window_positions(name, window_length, periodic, dtype):
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    dtype = dtype if dtype is not None else ember.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: "
                           f"TensorOptions(dtype={dtype})")
    span = window_length if periodic else window_length - 1
    positions = ember.arange(window_length, dtype=ember.float64)
    return positions, span, dtype


def _window(name, window_length, periodic, dtype, requires_grad, shape_of):
    positions, span, dtype = _window_positions(name, window_length, periodic, dtype)
    if window_length <= 1:
        values = ember.ones(window_length, dtype=ember.float64)
    else:
        values = shape_of(positions, span)
    return values.to(dtype).requires_grad_(requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi n / N)``; ``N`` is the length when periodic, else length - 1."""
    return _window("hann_window", window_length, periodic, dtype, requires_grad,
                   lambda n, span: 0.5 - 0.5 * ember.cos(2 * math.pi * n / span))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi n / N)``."""
    return _window("hamming_window", window_length, periodic, dtype, requires_grad,
                   lambda n, span: alpha - beta * ember.cos(2 * math.pi * n / span))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)``."""
    def shape_of(n, span):
        angle = 2 * math.pi * n / span
        return 0.42 - 0.5 * ember.cos(angle) + 0.08 * ember.cos(2 * angle)

    return _window("blackman_window", window_length, periodic, dtype, requires_grad,
                   shape_of)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False) -> Tensor:
    """The triangle ``1 - |2 n / N - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad,
                   lambda n, span: 1 - ember.abs(2 * n / span - 1))


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None,
                  requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2 n / N - 1)^2)) / I0(beta)``."""
    def shape_of(n, span):
        ratio = 2 * n / span - 1
        argument = beta * ember.sqrt(ember.clamp(1 - ratio * ratio, min=0))
        return ember.i0(argument) / ember.i0(ember.tensor(float(beta), dtype=ember.float64))

    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, shape_of)


# ---------------------------------------------------------------- process-wide settings

_settings = {
    "float32_matmul_precision": "highest",
    "num_interop_threads": 1,
    "warn_always": False,
    "deterministic_debug_mode": 0,
}
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def get_default_device() -> "ember.device":
    """The device new tensors go to when a factory names none (this thread's)."""
    return _device.state.default


def set_default_device(device) -> None:
    """Make ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:0"``; None for the CPU) where this
    thread's factories put new tensors."""
    if device is None:
        _device.state.default = _device.cpu
        return
    target = ember.device(device)
    _device.array_index(target)  # raises where the device cannot be used
    if target.type == "cuda" and target.index is None:
        target = ember.device("cuda", _device.state.current_gpu)
    _device.state.default = target


def get_float32_matmul_precision() -> str:
    """The stored matmul precision, ``"highest"`` by default."""
    return _settings["float32_matmul_precision"]


def set_float32_matmul_precision(precision: str) -> None:
    """Store ``"highest"``, ``"high"`` or ``"medium"``, as PyTorch does.

    It has no effect on ember's results: float32 products are always computed in full
    float32 precision (there are no TF32 or bfloat16 fast paths to enable).
    """
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the "
                      "currentsetFloat32MatmulPrecision call has no effect.", UserWarning,
                      stacklevel=2)
        return
    _settings["float32_matmul_precision"] = precision


def get_num_interop_threads() -> int:
    """The stored inter-op thread count; ember runs ops one after another."""
    return _settings["num_interop_threads"]


def set_num_interop_threads(num: int) -> None:
    """Store an inter-op thread count (ember has no inter-op pool to size)."""
    if isinstance(num, bool) or not isinstance(num, int) or num <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _settings["num_interop_threads"] = num


def is_warn_always_enabled() -> bool:
    """Whether warn-once warnings are to be issued every time."""
    return _settings["warn_always"]


def set_warn_always(b: bool) -> None:
    """Store the warn-always flag."""
    _settings["warn_always"] = bool(b)


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """Whether ``use_deterministic_algorithms(..., warn_only=True)`` was last set."""
    return ember._determinism.warn_only


def get_deterministic_debug_mode() -> int:
    """0 (default), 1 (warn) or 2 (error), from the deterministic-algorithms setting."""
    if not ember.are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


def set_deterministic_debug_mode(debug_mode) -> None:
    """Set the deterministic-algorithms mode by number or by name, as PyTorch does."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if isinstance(debug_mode, bool) or not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    ember.use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


globals().update(_INPLACE_ALIASES)
