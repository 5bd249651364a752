"""The batch dim moved to the end and back (``Moves``) for the convolutions' batch-last
kernels, in one loop each.

A move is a transposition of ``(N, rest)`` to ``(rest, N)`` or back. NumPy's blocked copies
(``_to_batch_last``, ``_to_batch_first``) read or write across rows of the whole batch; the
loops read a band of rows and write each output row's part of it contiguously: 50 -> 24 us
for cnn_digits' first convolution's output (64 × 16 × 8 × 8 float32). A copy, so the
numbers are the same.
"""

from __future__ import annotations

import functools

from ember._backend import ndarray, xp
from ember._compile.kernels._common import Fused
from ember.nn._functional._conv_kernels import NUMPY_MOVES, Moves
from ember.nn._functional.conv import Convolution

_DTYPES = (xp.dtype(xp.float32), xp.dtype(xp.float64))


def _moves_binds(step, role):
    """A convolution replayed whole: its forward, and its array backward, with the loops'
    moves."""
    if step.kind != "op" or step.op is not Convolution:
        return None
    if role == "forward":
        return lambda kernels: functools.partial(Convolution.forward, moves=_moves(kernels))
    if role == "backward":
        return lambda kernels: functools.partial(Convolution.backward_arrays,
                                                 moves=_moves(kernels))
    return None


def _moves(kernels) -> Moves:
    """``Moves`` through the loops, for contiguous float NumPy arrays; NumPy's for others."""
    short, tall = kernels  # for a few rows of many elements, and for many short rows

    def to_last(x):
        if _takes(x):
            batch = x.shape[0]
            moved = xp.empty(x.shape[1:] + (batch,), x.dtype)
            short(x.reshape(batch, -1), moved.reshape(-1, batch))
            return moved
        return NUMPY_MOVES.to_last(x)

    def to_first(y):
        if _takes(y):
            batch = y.shape[-1]
            moved = xp.empty((batch,) + y.shape[:-1], y.dtype)
            tall(y.reshape(-1, batch), moved.reshape(batch, -1))
            return moved
        return NUMPY_MOVES.to_first(y)

    return Moves(to_last, to_first)


def _takes(array) -> bool:
    """Whether the loops take ``array``: a C-contiguous float NumPy array, not empty."""
    return type(array) is ndarray and array.dtype in _DTYPES and array.flags.c_contiguous \
        and array.size > 0


def _moves_kernels(numba):
    """``out = a.T`` for a C-contiguous 2-d ``a``, in bands of ``rows`` rows of ``a``: each
    column of a band is a contiguous run of ``out``. Bands of 8 rows suit a short ``a``
    (the batch first: 64 rows), bands of 16 a tall one (the batch last: 64 columns), as
    measured for cnn_digits' shapes; the rows past the last band go one at a time."""
    signatures = [f"void({dtype}[:, ::1], {dtype}[:, ::1])" for dtype in ("float32", "float64")]

    def transpose(rows):
        @numba.njit(signatures, nogil=True)
        def kernel(a, out):
            height, width = a.shape
            start = 0
            while start + rows <= height:
                for j in range(width):
                    for k in range(rows):
                        out[j, start + k] = a[start + k, j]
                start += rows
            for i in range(start, height):
                for j in range(width):
                    out[j, i] = a[i, j]

        return kernel

    return transpose(8), transpose(16)


MOVES = Fused("moves", _moves_kernels, _moves_binds)
