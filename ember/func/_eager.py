"""The two ``torch.func`` names that exist for graph capture and wrapped tensors, neither of
which eager ember has: ``functionalize`` and ``debug_unwrap``."""

from __future__ import annotations

import functools

__all__ = ["debug_unwrap", "functionalize"]

_REMOVE = ("mutations", "mutations_and_views")


def functionalize(func, *, remove: str = "mutations"):
    """``func`` with its mutations removed, for tracing: in eager mode, ``func`` itself.

    PyTorch's functionalization rewrites in-place and view ops as out-of-place ones while
    keeping what the caller sees (the outputs, and the mutations of the inputs, which are
    copied back). ember runs eagerly and traces nothing, so the function returned calls
    ``func`` and gives exactly that.

    Args:
        func: the function.
        remove: ``"mutations"`` or ``"mutations_and_views"``.

    Example::

        >>> ember.func.functionalize(lambda x: x.clone().add_(1))(ember.zeros(2))
        tensor([1., 1.])
    """
    if remove not in _REMOVE:
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for "
            f"remove={remove}. Valid options are:\n     remove='mutations': all inplace and "
            "out= operators will be removed from the program, and replaced with their "
            "out-of-place equivalents.\n     remove='mutations_and_views': In addition to the "
            "above, all aliasing operators {view} will be replaced with their non-aliasing "
            "counterparts, {view}_copy.\n"
        )

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def debug_unwrap(tensor, *, recurse: bool = True):
    """The tensor under functorch's wrappers: ember's transforms wrap nothing, so ``tensor``."""
    return tensor
