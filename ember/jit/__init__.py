"""``ember.jit``: the TorchScript annotations that keep their meaning in eager mode.

ember has no TorchScript compiler, so ``script`` and ``trace`` refuse with a clear error
instead of returning the function unchanged and pretending it was compiled. The markers
that only tell the compiler what to skip or keep (``ignore``, ``unused``, ``export``),
``is_scripting()``/``is_tracing()`` (both False in eager code) and the ``Final`` type
hint are pass-throughs, exactly what they do in PyTorch's eager mode.
"""

from typing import Final

__all__ = ["Final", "export", "ignore", "is_scripting", "is_tracing", "script", "trace",
           "unused"]


def _no_torchscript(name: str):
    raise RuntimeError(
        f"ember.jit.{name}: ember has no TorchScript compiler; run the module or function "
        f"eagerly instead of calling torch.jit.{name} on it"
    )


def script(obj=None, *args, **kwargs):
    """Refuses: ember cannot compile to TorchScript."""
    _no_torchscript("script")


def trace(func=None, *args, **kwargs):
    """Refuses: ember cannot trace to TorchScript."""
    _no_torchscript("trace")


def ignore(drop=False, **kwargs):
    """Mark a function for the compiler to leave in Python: in eager mode, the function itself.

    Usable bare (``@ignore``) or called (``@ignore(drop=True)``), as in PyTorch.
    """
    if callable(drop):
        return drop
    return lambda function: function


def unused(function):
    """Mark a method the compiler should replace by a raise: in eager mode, unchanged."""
    return function


def export(function):
    """Mark a method the compiler should compile: in eager mode, unchanged."""
    return function


def is_scripting() -> bool:
    """False: ember code always runs eagerly, never inside TorchScript."""
    return False


def is_tracing() -> bool:
    """False: ember never traces."""
    return False
