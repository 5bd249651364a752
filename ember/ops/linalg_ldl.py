"""``linalg.ldl_factor(_ex)`` and ``linalg.ldl_solve``: the Bunch-Kaufman factorization of a
symmetric matrix, ``A = P L D L^T P^T``, as LAPACK's ``sytrf`` leaves it (lower triangle).

``D`` is block diagonal with 1x1 and 2x2 blocks. ``LD`` holds ``D`` on the diagonal (and,
for a 2x2 block, the entry below it) and the multipliers of ``L`` below; ``pivots`` are
1-based int32, positive for a 1x1 block (the row interchanged with) and negative, twice,
for a 2x2 block. NumPy has no ``sytrf``, so this is LAPACK's ``sytf2`` written over the
batch: every matrix keeps its own column, since a 2x2 block moves it on by two. Only the
lower triangle of ``A`` is read. As in PyTorch, neither is differentiable. Real dtypes
only (``hermitian`` changes nothing for them).
"""

from __future__ import annotations

import math

from ember import return_types
from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape
from ember.ops.linalg import LinAlgError, _check_matrix
from ember.ops.linalg_lu import first_failure
from ember.ops.matmul import _scalar_name

__all__: list = []

# Bunch and Kaufman's threshold, (1 + sqrt(17)) / 8: it bounds the growth of the entries.
_ALPHA = (1 + math.sqrt(17)) / 8


def _swap_in_block(W, first, second, start, items, index):
    """Swap rows and columns ``first`` and ``second`` of each matrix, inside its trailing
    block (rows and columns from ``start`` on) only, as ``sytf2`` does."""
    order = xp.broadcast_to(index, W.shape[:2]).copy()
    order[items, first], order[items, second] = second, first
    swapped = W[items[:, None, None], order[:, :, None], order[:, None, :]]
    inside = index[None, :] >= start[:, None]
    return xp.where(inside[:, :, None] & inside[:, None, :], swapped, W)


def _choose_pivots(W, k, items, index):
    """``sytf2``'s choice for each matrix at its column ``k``: ``(zero, kp, two)``, whether
    the column is zero, the row to bring to the diagonal, and whether the block is 2x2."""
    size = W.shape[-1]
    diagonal = xp.abs(W[items, k, k])
    below = index[None, :] > k[:, None]
    column = xp.where(below, xp.abs(W[items, :, k]), -1)  # -1: never the largest
    imax = xp.argmax(column, axis=1)
    colmax = xp.where(k < size - 1, column[items, imax], 0)
    zero = (xp.maximum(diagonal, colmax) == 0) | xp.isnan(diagonal)
    others = (index[None, :] >= k[:, None]) & (index[None, :] != imax[:, None])
    rowmax = xp.max(xp.where(others, xp.abs(W[items, imax, :]), 0), axis=1)
    keep = diagonal >= _ALPHA * colmax
    safe_rowmax = xp.where(rowmax == 0, 1, rowmax)
    keep |= diagonal >= _ALPHA * colmax * (colmax / safe_rowmax)
    swap_one = ~keep & (xp.abs(W[items, imax, imax]) >= _ALPHA * rowmax)
    two = ~zero & ~keep & ~swap_one
    kp = xp.where(zero | keep, k, imax)
    return zero, kp, two


def ldl_arrays(A):
    """``(LD, pivots, info)`` of each symmetric matrix of ``A`` (its lower triangle)."""
    batch, size = A.shape[:-2], A.shape[-1]
    count = math.prod(batch)
    lower = xp.tril(A).reshape((count, size, size))
    W = lower + xp.swapaxes(xp.tril(lower, -1), -1, -2)
    items, index = xp.arange(count, like=A), xp.arange(size, like=A)
    pivots = xp.zeros((count, size), dtype=xp.int32, like=A)
    info = xp.zeros(count, dtype=xp.int32, like=A)
    k = xp.zeros(count, dtype=xp.int64, like=A)
    while bool((k < size).any()):
        active = k < size
        here = xp.minimum(k, size - 1)
        zero, kp, two = _choose_pivots(W, here, items, index)
        zero, two = zero & active, two & active
        info = xp.where(zero & (info == 0), here + 1, info).astype(xp.int32)
        last = here + two  # the block's last column: the one interchanged with kp
        W = _swap_in_block(W, xp.where(active, last, 0), xp.where(active, kp, 0), here, items,
                           index)
        one = active & ~zero & ~two
        after = index[None, :] > last[:, None]
        # A 1x1 block: x = the column below, L's column is x / d, the rest loses x x^T / d.
        d = xp.where(one, W[items, here, here], 1)
        x = xp.where(one[:, None] & after, W[items, :, here], 0)
        multipliers = x / d[:, None]
        # A 2x2 block [[a, b], [b, c]]: LAPACK's own formula for the two columns of L.
        second = xp.minimum(here + 1, size - 1)
        b = xp.where(two, W[items, second, here], 1)
        a_over, c_over = W[items, here, here] / b, W[items, second, second] / b
        scale = xp.where(two, 1 / (a_over * c_over - 1) / b, 0)
        x1 = xp.where(two[:, None] & after, W[items, :, here], 0)
        x2 = xp.where(two[:, None] & after, W[items, :, second], 0)
        w1 = scale[:, None] * (c_over[:, None] * x1 - x2)
        w2 = scale[:, None] * (a_over[:, None] * x2 - x1)
        W = W - x[:, :, None] * multipliers[:, None, :]
        W = W - x1[:, :, None] * w1[:, None, :] - x2[:, :, None] * w2[:, None, :]
        W[items, :, here] = xp.where(one[:, None] & after, multipliers, W[items, :, here])
        W[items, :, here] = xp.where(two[:, None] & after, w1, W[items, :, here])
        W[items, :, second] = xp.where(two[:, None] & after, w2, W[items, :, second])
        code = xp.where(two, -(kp + 1), kp + 1).astype(xp.int32)
        pivots[items, here] = xp.where(active, code, pivots[items, here])
        pivots[items, second] = xp.where(two, code, pivots[items, second])
        k = k + xp.where(two, 2, 1)
    LD = xp.tril(W).reshape(A.shape)
    return LD, pivots.reshape(batch + (size,)), info.reshape(batch)


def _swap_rows(B, first, second, where_, items):
    rows_first, rows_second = B[items, first].copy(), B[items, second].copy()
    B[items, first] = xp.where(where_[:, None], rows_second, rows_first)
    B[items, second] = xp.where(where_[:, None], rows_first, B[items, second])


def ldl_solve_arrays(LD, pivots, B):
    """LAPACK's ``sytrs`` (lower): ``A^-1 B`` from ``ldl_arrays``' factors, batches equal."""
    batch, size = LD.shape[:-2], LD.shape[-1]
    count = math.prod(batch)
    LD = LD.reshape((count, size, size))
    pivots = pivots.reshape((count, size)).astype(xp.int64)
    X = B.reshape((count,) + B.shape[-2:]).copy()
    items, index = xp.arange(count, like=LD), xp.arange(size, like=LD)
    # L D y = P^T b, one block at a time from the top.
    k = xp.zeros(count, dtype=xp.int64, like=LD)
    while bool((k < size).any()):
        active = k < size
        here = xp.minimum(k, size - 1)
        code = pivots[items, here]
        two = active & (code < 0)
        one = active & ~two
        second = xp.minimum(here + 1, size - 1)
        _swap_rows(X, xp.where(two, second, here), xp.abs(code) - 1, active, items)
        after = index[None, :] > (here + two)[:, None]
        x1, x2 = X[items, here], X[items, second]
        l1 = xp.where(after, LD[items, :, here], 0)
        l2 = xp.where(after & two[:, None], LD[items, :, second], 0)
        X -= xp.where(active[:, None, None], l1[:, :, None] * x1[:, None, :], 0)
        X -= l2[:, :, None] * x2[:, None, :]
        d = xp.where(one, LD[items, here, here], 1)
        b = xp.where(two, LD[items, second, here], 1)
        a_over, c_over = LD[items, here, here] / b, LD[items, second, second] / b
        denominator = xp.where(two, a_over * c_over - 1, 1)
        y1, y2 = x1 / b[:, None], x2 / b[:, None]
        first_value = (c_over[:, None] * y1 - y2) / denominator[:, None]
        second_value = (a_over[:, None] * y2 - y1) / denominator[:, None]
        X[items, here] = xp.where(one[:, None], x1 / d[:, None], X[items, here])
        X[items, here] = xp.where(two[:, None], first_value, X[items, here])
        X[items, second] = xp.where(two[:, None], second_value, X[items, second])
        k = k + xp.where(two, 2, 1)
    # L^T P^T x = y, one block at a time from the bottom.
    k = xp.full(count, size - 1, dtype=xp.int64, like=LD)
    while bool((k >= 0).any()):
        active = k >= 0
        here = xp.maximum(k, 0)
        code = pivots[items, here]
        two = active & (code < 0)
        previous = xp.maximum(here - 1, 0)
        after = (index[None, :] > here[:, None]) & active[:, None]
        l1 = xp.where(after, LD[items, :, here], 0)
        l0 = xp.where(after & two[:, None], LD[items, :, previous], 0)
        X[items, here] -= xp.einsum("bi,bij->bj", l1, X)
        X[items, previous] -= xp.einsum("bi,bij->bj", l0, X)
        _swap_rows(X, here, xp.abs(code) - 1, active, items)
        k = k - xp.where(two, 2, 1)
    return X.reshape(B.shape)


class LinalgLdlFactorEx(Op):
    @staticmethod
    def forward(ctx, A):
        return ldl_arrays(A)

    @staticmethod
    def backward(ctx, grad_LD, grad_pivots, grad_info):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


class LinalgLdlSolve(Op):
    @staticmethod
    def forward(ctx, LD, pivots, B):
        return ldl_solve_arrays(LD, pivots, B)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


def _check_ldl(A: Tensor) -> None:
    op = "torch.linalg.ldl_factor_ex"
    _check_matrix(op, A, floating=False)
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {_scalar_name(A)}"
        )
    if A.dtype.itemsize < 4:
        raise NotImplementedError(
            f"\"ldl_factor_kernel_cpu\" not implemented for '{_scalar_name(A)}'"
        )


def _raise_singular(op: str, info: Tensor) -> None:
    failure = first_failure(info._data)
    if failure is not None:
        index, order = failure
        prefix = f"(Batch element {index}): " if info.ndim > 0 else ""
        raise LinAlgError(
            f"{op}: {prefix}The factorization could not be completed because the block "
            f"diagonal matrix D is singular: its entry {order} is zero."
        )


def _linalg_ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False,
                          out=None):
    """``(LD, pivots, info)`` of ``A = P L D L^T P^T`` (Bunch-Kaufman, LAPACK's ``sytrf``):
    ``info`` is 0, or the 1-based index of a zero block of ``D`` (the factorization is
    complete but ``D`` singular).

    Args:
        A (Tensor): ``(*, n, n)`` symmetric (its lower triangle is read), float32 or float64.
        hermitian (bool): the same as symmetric for real matrices.
        check_errors (bool): raise ``LinAlgError`` where ``info`` is not 0.

    Shape:
        ``LD`` is ``(*, n, n)``, ``pivots`` ``(*, n)`` int32, ``info`` ``(*)`` int32.

    Example:
        >>> LD, pivots, info = ember.linalg.ldl_factor_ex(A)
        >>> X = ember.linalg.ldl_solve(LD, pivots, B)
    """
    _check_ldl(A)
    LD, pivots, info = LinalgLdlFactorEx.apply(A)
    if check_errors:
        _raise_singular("torch.linalg.ldl_factor_ex", info)
    return return_types.linalg_ldl_factor_ex(LD, pivots, info)


def _linalg_ldl_factor(A: Tensor, *, hermitian: bool = False, out=None):
    """``(LD, pivots)`` of ``A = P L D L^T P^T``; a singular ``D`` raises ``LinAlgError``
    (``ldl_factor_ex`` reports it instead). See ``ldl_factor_ex``."""
    _check_ldl(A)
    LD, pivots, info = LinalgLdlFactorEx.apply(A)
    _raise_singular("torch.linalg.ldl_factor", info)
    return return_types.linalg_ldl_factor(LD, pivots)


def _linalg_ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False,
                      out=None) -> Tensor:
    """Solve ``A X = B`` given ``ldl_factor(A)`` (LAPACK's ``sytrs``); batches broadcast.

    Example:
        >>> X = ember.linalg.ldl_solve(*ember.linalg.ldl_factor(A), B)
    """
    op = "torch.linalg.ldl_solve"
    if LD.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    _check_matrix(op, LD, floating=False)
    size = LD.shape[-1]
    if B.ndim < 2 or B.shape[-2] != size:
        shown = f"{B.shape[-2]} by {B.shape[-1]}" if B.ndim >= 2 else f"{B.shape[-1]} by 1"
        raise RuntimeError(
            f"Incompatible matrix sizes for {op}: each A matrix is {size} by {size} but each b "
            f"matrix is {shown}"
        )
    if tuple(pivots.shape) != tuple(LD.shape[:-1]):
        raise RuntimeError(
            f"{op}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots "
            f"with shape {list(pivots.shape)} instead"
        )
    if pivots.dtype.name not in ("int32", "int64"):
        raise RuntimeError(f"{op}: Expected pivots to be integers. Got {_scalar_name(pivots)}")
    if B.dtype is not LD.dtype:
        raise RuntimeError(
            f"Expected b and A to have the same dtype, but found b of type {_scalar_name(B)} "
            f"and A of type {_scalar_name(LD)} instead."
        )
    if not LD.dtype.is_floating_point or LD.dtype.itemsize < 4:
        raise NotImplementedError(f"\"ldl_solve_cpu\" not implemented for '{_scalar_name(LD)}'")
    batch = broadcast_shape(op, tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    LD = LD.expand(batch + (size, size))
    pivots = pivots.expand(batch + (size,))
    return LinalgLdlSolve.apply(LD, pivots, B.expand(batch + tuple(B.shape[-2:])))
