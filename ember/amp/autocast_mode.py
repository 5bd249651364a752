"""``autocast``: run the listed ops in a lower-precision dtype, as PyTorch's autocast does.

Which functions autocast, and to what, is declared where each is defined (see
``ember/_autocast.py``); this module holds the public switches.
"""

from __future__ import annotations

import functools
import warnings

from ember import _autocast, _backend
from ember._dtype import float16

__all__ = [
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_enabled",
    "set_autocast_dtype",
    "set_autocast_enabled",
]

_DEVICES = ("cpu", "cuda")


def _supported_dtypes() -> tuple:
    from ember import _dtype

    bfloat16 = getattr(_dtype, "bfloat16", None)
    return (float16,) if bfloat16 is None else (bfloat16, float16)


def _check_device_type(device_type) -> str:
    if not isinstance(device_type, str):
        raise ValueError(  # noqa: TRY004  (PyTorch raises ValueError here)
            f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
        )
    if device_type not in _DEVICES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """Whether ``autocast(device_type)`` is supported: ``"cpu"`` and (disabled) ``"cuda"``."""
    return device_type in _DEVICES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (``"cuda"`` when omitted)."""
    return _autocast.state.enabled[_check_device_type(device_type or "cuda")]


def get_autocast_dtype(device_type: str):
    """The dtype autocast casts to on ``device_type``: ``bfloat16`` on the CPU by default."""
    return _autocast.autocast_dtype(_check_device_type(device_type))


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` in this thread (one argument: CUDA's)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _autocast.set_enabled(_check_device_type(device_type), enabled)


def set_autocast_dtype(device_type: str, dtype) -> None:
    """Set the dtype autocast casts to on ``device_type`` in this thread."""
    _autocast.set_dtype(_check_device_type(device_type), dtype)


def is_autocast_cache_enabled() -> bool:
    """Whether autocast would cache the casts of leaf tensors (ember recasts each time)."""
    return _autocast.state.cache_enabled


class autocast:
    """Run the listed ops in ``dtype`` inside a ``with`` block or a decorated function.

    On the CPU, matmuls, convolutions, ``linear``, ``prelu`` and attention run in ``dtype``
    (``ember.bfloat16`` by default, or ``ember.float16``); losses, ``cdist`` and ``prod``
    run in float32; every other op runs in the dtype of its inputs. Only floating tensors
    other than float64 are cast. The casts are recorded, so gradients reach float32 leaves
    in float32. The state belongs to the thread. ``autocast("cuda")`` does the same for
    calls on CUDA tensors with PyTorch's CUDA lists, in float16 (CuPy has no bfloat16);
    without CUDA it warns and does nothing, as in PyTorch.

    Args:
        device_type: ``"cpu"`` or ``"cuda"``.
        dtype: the lower-precision dtype; the device's default when None.
        enabled: False turns autocast off inside the block.
        cache_enabled: accepted for compatibility; ember recasts each time.

    Example::

        with ember.autocast("cpu", dtype=ember.bfloat16):
            output = model(input)           # linear layers compute in bfloat16
            loss = F.mse_loss(output, target)   # the loss in float32
        loss.backward()
    """

    def __init__(
        self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None
    ):
        self.device = _check_device_type(device_type)
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = (
            is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        )
        if enabled and self.device == "cuda" and _backend.cuda_library() is None:
            warnings.warn(
                "CUDA is not available or torch_xla is imported. Disabling autocast.",
                stacklevel=2,
            )
            enabled = False
        elif enabled and self.device == "cuda" and self.fast_dtype is not float16:
            # CuPy has no bfloat16, so ember.cuda.is_bf16_supported() is False.
            warnings.warn(
                "In CUDA autocast, but the target dtype is not supported. Disabling autocast.\n"
                "CUDA Autocast only supports dtypes of torch.float16 currently.",
                stacklevel=2,
            )
            enabled = False
        elif enabled and self.device == "cpu" and self.fast_dtype not in _supported_dtypes():
            names = ", ".join(f"torch.{dtype.name}" for dtype in _supported_dtypes())
            warnings.warn(
                "In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                f"CPU Autocast only supports dtypes of {names} currently.",
                stacklevel=2,
            )
            enabled = False
        self._enabled = enabled

    def __enter__(self):
        state = _autocast.state
        self.prev_cache_enabled = state.cache_enabled
        self.prev = state.enabled[self.device]
        self.prev_fastdtype = state.dtype[self.device]
        state.dtype[self.device] = self.fast_dtype
        state.cache_enabled = self._cache_enabled
        _autocast.set_enabled(self.device, self._enabled)
        return self

    def __exit__(self, *exc_info):
        state = _autocast.state
        state.dtype[self.device] = self.prev_fastdtype
        state.cache_enabled = self.prev_cache_enabled
        _autocast.set_enabled(self.device, self.prev)
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                "Did you mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n"
                "        output = model(input)"
            )

        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorated


def custom_fwd(fwd=None, *, device_type: str, cast_inputs=None):
    """Decorate a custom ``Function.forward`` so that it runs under a known autocast state.

    With ``cast_inputs``, inside an autocast region the floating tensor inputs are cast to
    it and ``forward`` runs with autocast off; otherwise ``forward`` sees the current state.
    """
    if not isinstance(device_type, str):
        raise ValueError(  # noqa: TRY004  (PyTorch raises ValueError here)
            f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
        )
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_context = is_autocast_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if not autocast_context:
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            args = tuple([_autocast._cast(arg, cast_inputs) for arg in args])
            kwargs = {name: _autocast._cast(value, cast_inputs) for name, value in kwargs.items()}
            return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str):
    """Decorate a custom ``Function.backward`` to run under the autocast state of its forward."""
    if not isinstance(device_type, str):
        raise ValueError(  # noqa: TRY004  (PyTorch raises ValueError here)
            f"Expected `device_type` of type `str`, got: `{type(device_type)}`"
        )
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(
            device_type=device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype
        ):
            return bwd(*args, **kwargs)

    return decorate_bwd
