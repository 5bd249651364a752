"""The shape family's small helpers: size and dim arguments, index tuples, inferred shapes,
and the NumPy spellings (``axis=``, ``keepdims=``) that PyTorch's argument parser accepts."""

from __future__ import annotations

import functools

from ember.ops._function import wrap_dim


def _sizes(args) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all name the sizes ``(2, 3)``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    return tuple(int(size) for size in args)


def _along(dim: int, index) -> tuple:
    """An index tuple that applies ``index`` to dimension ``dim`` only."""
    return (slice(None),) * dim + (index,)


def _strict_dim(dim: int, ndim: int, op: str) -> int:
    """``wrap_dim``, except that a 0-d tensor has no dim 0 (PyTorch's ``wrap_scalar=False``)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, ndim, op)


def _dim_list(dims, ndim: int, op: str) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    wrapped = tuple(wrap_dim(d, ndim, op) for d in dims)
    for position, d in enumerate(wrapped):
        if d in wrapped[:position]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return wrapped


def _infer_shape(shape, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for size in shape:
        if size < -1:
            raise RuntimeError(f"invalid shape dimension {size}")
        if size != -1:
            known *= size
    if unknown:
        if known == 0:
            raise RuntimeError(
                f"cannot reshape tensor of {numel} elements into shape {list(shape)} because "
                "the unspecified dimension size -1 can be any value and is ambiguous"
            )
        if numel % known == 0:
            return shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known == numel:
        return shape
    raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")


def _numpy_names(function):
    """``function`` also taking NumPy's ``axis=`` and ``keepdims=``, as PyTorch's argument
    parser does for every ``dim``/``keepdim`` (``x.sum(axis=0)``)."""

    @functools.wraps(function)
    def accepting(*args, **kwargs):
        if "axis" in kwargs:
            kwargs["dim"] = kwargs.pop("axis")
        if "keepdims" in kwargs:
            kwargs["keepdim"] = kwargs.pop("keepdims")
        return function(*args, **kwargs)

    return accepting
