"""The LU family: ``linalg.lu_factor(_ex)``, ``linalg.lu``, ``linalg.lu_solve``, ``lu_unpack``
and the deprecated ``torch.lu`` / ``torch.lu_solve``.

NumPy has no LU, so ``lu_arrays`` is LAPACK's ``getrf`` written over the batch: partial
pivoting (the largest magnitude in the column, the first of equals, as ``idamax``),
``pivots`` 1-based int32 row interchanges applied in order, and ``info`` the 1-based index
of the first zero on U's diagonal. A Python loop runs over the columns, never over the
matrices of a batch. ``lu_solve_arrays`` is ``getrs``: it divides by a zero pivot, so a
singular matrix gives infinities and NaNs where LAPACK's do.

The gradient of ``A = P L U`` (``lu_backward``) is derived from ``dA = P (dL U + L dU)``:
with ``X = L^-1 P^T dA U^-1``, ``dL = L tril(X, -1)`` and ``dU = triu(X) U``, so for a
square ``A`` ``gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T``; a wide or tall ``A``
adds the block of ``U`` or ``L`` past the square. It is written with ember's triangular
solves, so it can be differentiated again. Real dtypes only.
"""

from __future__ import annotations

import math
import warnings

from ember import return_types
from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._tensor import Tensor
from ember.ops import _out
from ember.ops._function import Op
from ember.ops.linalg import (
    _check_matrix,
    _columns,
    _constant,
    _linalg_solve_triangular,
    _tril,
    _triu,
)
from ember.ops.matmul import _scalar_name, matmul
from ember.ops.shape import cat, narrow

__all__ = ["lu", "lu_solve", "lu_unpack"]


# ---------------------------------------------------------------- arrays


def lu_arrays(A):
    """LAPACK's ``getrf`` of each matrix of ``A`` (``(*, m, n)``): ``(LU, pivots, info)``."""
    batch, (m, n) = A.shape[:-2], A.shape[-2:]
    count, k = math.prod(batch), min(m, n)
    LU = A.reshape((count, m, n)).copy()
    items = xp.arange(count, like=A)
    pivots = xp.zeros((count, k), dtype=xp.int32, like=A)
    info = xp.zeros(count, dtype=xp.int32, like=A)
    for j in range(k):
        rows = j + xp.argmax(xp.abs(LU[:, j:, j]), axis=1)
        pivots[:, j] = rows + 1
        top = LU[:, j].copy()
        LU[:, j] = LU[items, rows]
        LU[items, rows] = top
        pivot = LU[:, j, j]
        zero = pivot == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(xp.int32)
        # A zero pivot heads a zero column: LAPACK leaves it unscaled, and so does this.
        LU[:, j + 1:, j] /= xp.where(zero, 1, pivot)[:, None]
        LU[:, j + 1:, j + 1:] -= LU[:, j + 1:, j:j + 1] * LU[:, j:j + 1, j + 1:]
    return LU.reshape(batch + (m, n)), pivots.reshape(batch + (k,)), info.reshape(batch)


def row_order(pivots, size: int):
    """The rows of ``A`` in the order of ``L U`` (``P^T A = A[order]``), per matrix."""
    batch, k = pivots.shape[:-1], pivots.shape[-1]
    count = math.prod(batch)
    swaps = pivots.reshape((count, k)).astype(xp.int64) - 1
    order = xp.tile(xp.arange(size, like=pivots), (count, 1))
    items = xp.arange(count, like=pivots)
    for j in range(k):
        rows = swaps[:, j]
        top = order[:, j].copy()
        order[:, j] = order[items, rows]
        order[items, rows] = top
    return order.reshape(batch + (size,))


def permutation_arrays(pivots, size: int, dtype):
    """The permutation matrix ``P`` of ``A = P L U`` from LAPACK's row interchanges."""
    order = row_order(pivots, size)
    batch = order.shape[:-1]
    count = math.prod(batch)
    P = xp.zeros((count, size, size), dtype=dtype, like=pivots)
    columns = xp.arange(size, like=pivots)[None, :]
    P[xp.arange(count, like=pivots)[:, None], order.reshape((count, size)), columns] = 1
    return P.reshape(batch + (size, size))


def lu_solve_arrays(LU, pivots, B, adjoint: bool = False):
    """LAPACK's ``getrs``: ``A^-1 B`` (``A^-T B`` when ``adjoint``) from ``A``'s LU, the
    batches of ``LU``, ``pivots`` and ``B`` already equal."""
    size = LU.shape[-1]
    order = row_order(pivots, size)
    if adjoint:  # A^T = U^T L^T P^T
        X = B.copy()
        for j in range(size):
            X[..., j, :] /= LU[..., j, j:j + 1]
            X[..., j + 1:, :] -= xp.swapaxes(LU[..., j:j + 1, j + 1:], -1, -2) * X[..., j:j + 1, :]
        for j in reversed(range(size)):
            X[..., :j, :] -= xp.swapaxes(LU[..., j:j + 1, :j], -1, -2) * X[..., j:j + 1, :]
        result = xp.empty_like(X)
        xp.put_along_axis(result, order[..., None], X, axis=-2)
        return result
    X = xp.take_along_axis(B, order[..., None], axis=-2)
    for j in range(size):
        X[..., j + 1:, :] -= LU[..., j + 1:, j:j + 1] * X[..., j:j + 1, :]
    for j in reversed(range(size)):
        X[..., j, :] /= LU[..., j, j:j + 1]
        X[..., :j, :] -= LU[..., :j, j:j + 1] * X[..., j:j + 1, :]
    return X


def first_failure(info) -> tuple[int, int] | None:
    """``(batch index, info)`` of the first matrix whose ``info`` is not zero, or None."""
    flat = info.reshape(-1)
    failed = xp.flatnonzero(flat)
    if failed.size == 0:
        return None
    index = int(failed[0])
    return index, int(flat[index])


# ---------------------------------------------------------------- gradient


def _upper_inverse_transposed(M: Tensor, U: Tensor) -> Tensor:
    """``M U^-T``."""
    return _linalg_solve_triangular(U.mT, M, upper=False, left=False)


def _unit_lower_inverse_transposed(L: Tensor, M: Tensor) -> Tensor:
    """``L^-T M`` for a unit lower-triangular ``L``."""
    return _linalg_solve_triangular(L.mT, M, upper=True, unitriangular=True)


def lu_backward(P: Tensor, L: Tensor, U: Tensor, grad_L: Tensor, grad_U: Tensor) -> Tensor:
    """The gradient of ``A = P L U`` from those of ``L`` (``m x k``) and ``U`` (``k x n``)."""
    m, n = L.shape[-2], U.shape[-1]
    if m == n:
        M = _tril(matmul(L.mT, grad_L), -1) + _triu(matmul(grad_U, U.mT))
        inner = _upper_inverse_transposed(_unit_lower_inverse_transposed(L, M), U)
        return matmul(P, inner)
    if m < n:
        # U = [U1 U2] with U1 square: U2 = L^-1 P^T A2 adds its own term.
        U1, U2 = narrow(U, -1, 0, m), narrow(U, -1, m, n - m)
        grad_U1, grad_U2 = narrow(grad_U, -1, 0, m), narrow(grad_U, -1, m, n - m)
        M = _tril(matmul(L.mT, grad_L) - matmul(grad_U2, U2.mT), -1)
        M = M + _triu(matmul(grad_U1, U1.mT))
        joined = cat([_upper_inverse_transposed(M, U1), grad_U2], -1)
        return matmul(P, _unit_lower_inverse_transposed(L, joined))
    # L = [L1; L2] with L1 square: L2 = P^T A2 U^-1 adds its own term.
    L1, L2 = narrow(L, -2, 0, n), narrow(L, -2, n, m - n)
    grad_L1, grad_L2 = narrow(grad_L, -2, 0, n), narrow(grad_L, -2, n, m - n)
    M = _tril(matmul(L1.mT, grad_L1), -1)
    M = M + _triu(matmul(grad_U, U.mT) - matmul(L2.mT, grad_L2))
    joined = cat([_unit_lower_inverse_transposed(L1, M), grad_L2], -2)
    return matmul(P, _upper_inverse_transposed(joined, U))


def _split(LU: Tensor) -> tuple[Tensor, Tensor]:
    """The strictly lower part of ``LU``'s first ``k`` columns (``m x k``) and the upper
    part of its first ``k`` rows (``k x n``), ``k = min(m, n)``."""
    k = min(LU.shape[-2], LU.shape[-1])
    return _tril(narrow(LU, -1, 0, k), -1), _triu(narrow(LU, -2, 0, k))


# ---------------------------------------------------------------- ops


class LinalgLuFactorEx(Op):
    @staticmethod
    def forward(ctx, A):
        LU, pivots, info = lu_arrays(A)
        ctx.save_for_backward(LU, pivots)
        return LU, pivots, info

    @staticmethod
    def backward(ctx, grad_LU, grad_pivots, grad_info):
        LU, pivots = ctx.saved_tensors
        P = _constant(permutation_arrays(pivots._data, LU.shape[-2], LU._data.dtype))
        lower, U = _split(LU)
        L = lower + _columns(lower.shape[-1], lower.shape[-2], lower)
        return (lu_backward(P, L, U, *_split(grad_LU)),)


class LinalgLu(Op):
    @staticmethod
    def forward(ctx, A):
        LU, pivots, _ = lu_arrays(A)
        m, n = A.shape[-2], A.shape[-1]
        k = min(m, n)
        P = permutation_arrays(pivots, m, A.dtype)
        L = xp.tril(LU[..., :, :k], -1) + xp.eye(m, k, dtype=A.dtype, like=A)
        U = xp.triu(LU[..., :k, :])
        ctx.save_for_backward(P, L, U)
        return P, L, U

    @staticmethod
    def backward(ctx, grad_P, grad_L, grad_U):
        P, L, U = ctx.saved_tensors
        return (lu_backward(P.detach(), L, U, grad_L, grad_U),)


class LuUnpack(Op):
    @staticmethod
    def forward(ctx, LU, pivots, unpack_data, unpack_pivots):
        m, n = LU.shape[-2], LU.shape[-1]
        k = min(m, n)
        empty = xp.zeros((0,), dtype=LU.dtype, like=LU)
        P = permutation_arrays(pivots, m, LU.dtype) if unpack_pivots else empty
        if not unpack_data:
            ctx.unpacked = False
            return P, empty.copy(), empty.copy()
        ctx.unpacked, ctx.shape = True, (m, n)
        L = xp.tril(LU[..., :, :k], -1) + xp.eye(m, k, dtype=LU.dtype, like=LU)
        return P, L, xp.triu(LU[..., :k, :])

    @staticmethod
    def backward(ctx, grad_P, grad_L, grad_U):
        if not ctx.unpacked:
            return None, None, None, None
        m, n = ctx.shape
        # Each entry of LU lands in one of L (below the diagonal) and U (on and above it).
        lower, upper = _tril(grad_L, -1), _triu(grad_U)
        if m >= n:
            upper = matmul(_columns(n, m, upper), upper)
        else:
            lower = matmul(lower, _columns(m, n, lower).mT)
        return lower + upper, None, None, None


# ---------------------------------------------------------------- checks


_SINGULAR = (
    "U[{0},{0}] is zero and using it on lu_solve would result in a division by zero. If you "
    "still want to perform the factorization, consider calling linalg.lu(A, pivot) or "
    "linalg.lu_factor_ex(A, pivot)"
)


def _check_lu_input(op: str, A: Tensor, pivot: bool) -> None:
    if A.ndim < 2:
        raise RuntimeError(
            f"{op}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead"
        )
    if not A.dtype.is_floating_point or A.dtype.itemsize < 4:
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{_scalar_name(A)}'")
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")


def _raise_singular(op: str, info: Tensor) -> None:
    failure = first_failure(info._data)
    if failure is None:
        return
    index, order = failure
    prefix = f"(Batch element {index}): " if info.ndim > 0 else ""
    raise RuntimeError(f"{op}: {prefix}{_SINGULAR.format(order)}")


# ---------------------------------------------------------------- public


def _linalg_lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False,
                         out=None):
    """``(LU, pivots, info)`` of ``A = P L U`` with partial pivoting; ``info`` marks a
    singular ``U`` (the 1-based index of its first zero pivot) instead of raising."""
    _check_lu_input("torch.lu_factor", A, pivot)
    LU, pivots, info = LinalgLuFactorEx.apply(A)
    if check_errors:
        _raise_singular("torch.linalg.lu_factor_ex", info)
    return return_types.linalg_lu_factor_ex(LU, pivots, info)


def _linalg_lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """``(LU, pivots)`` of ``A = P L U``: ``L`` below the diagonal of ``LU`` (its unit
    diagonal implied), ``U`` on and above it; ``pivots`` are LAPACK's 1-based int32 row
    interchanges. A singular ``U`` raises; ``lu_factor_ex`` reports it instead.

    Args:
        A (Tensor): ``(*, m, n)``, float32 or float64.
        pivot (bool): only True (partial pivoting) is implemented, as in PyTorch's CPU.

    Shape:
        ``LU`` is ``(*, m, n)``, ``pivots`` ``(*, min(m, n))``.

    Example:
        >>> LU, pivots = ember.linalg.lu_factor(A)
        >>> X = ember.linalg.lu_solve(LU, pivots, B)
    """
    _check_lu_input("torch.lu_factor", A, pivot)
    LU, pivots, info = LinalgLuFactorEx.apply(A)
    _raise_singular("torch.linalg.lu_factor", info)
    return return_types.linalg_lu_factor(LU, pivots)


def _linalg_lu(A: Tensor, *, pivot: bool = True, out=None):
    """``(P, L, U)`` with ``A = P L U``: ``P`` a permutation, ``L`` unit lower triangular
    (``m x k``), ``U`` upper triangular (``k x n``), ``k = min(m, n)``.

    Args:
        A (Tensor): ``(*, m, n)``, float32 or float64; any shape, singular or not.
        pivot (bool): only True (partial pivoting) is implemented, as in PyTorch's CPU.

    Returns:
        ``P`` (not differentiable), ``L`` and ``U`` (differentiable).

    Example:
        >>> P, L, U = ember.linalg.lu(A)
        >>> ember.allclose(P @ L @ U, A)
        True
    """
    _check_lu_input("linalg.lu", A, pivot)
    P, L, U = LinalgLu.apply(A)
    return return_types.linalg_lu(P.detach(), L, U)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True, *, out=None):
    """``(P, L, U)`` out of ``lu_factor``'s ``(LU, pivots)``; an output not asked for is
    an empty tensor. Differentiable in ``LU_data``.

    Example:
        >>> P, L, U = ember.lu_unpack(*ember.linalg.lu_factor(A))
    """
    if LU_data.ndim < 2:
        raise RuntimeError(
            "torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
            f"{list(LU_data.shape)} instead"
        )
    if LU_pivots.dtype.name != "int32":
        raise RuntimeError(
            "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 "
            "dtype.\nNote: this function is intended to be used with the output produced by "
            "torch.linalg.lu_factor"
        )
    m = LU_data.shape[-2]
    if tuple(LU_pivots.shape[:-1]) != tuple(LU_data.shape[:-2]) or LU_pivots.ndim == 0:
        raise RuntimeError(
            "torch.lu_unpack: Expected LU_pivots to have the shape LU_data.shape[:-2] + "
            f"(min(m, n),), but got {list(LU_pivots.shape)} for LU_data of shape "
            f"{list(LU_data.shape)}"
        )
    data = LU_pivots._data
    if data.size and bool(((data < 1) | (data > m)).any()):
        raise RuntimeError(
            "pivots passed to lu_unpack must be between 1 and LU.size(-2) inclusive.Did you "
            "properly pass the result of lu_factor?"
        )
    P, L, U = LuUnpack.apply(LU_data, LU_pivots, unpack_data, unpack_pivots)
    return return_types.lu_unpack(P.detach(), L, U)


def _check_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, left: bool) -> None:
    if LU.ndim < 2:
        raise RuntimeError(
            "torch.linalg.lu_solve: The input tensor A must have at least 2 dimensions."
        )
    if B.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    _check_matrix("torch.linalg.lu_solve", LU, floating=False)
    size = LU.shape[-1]
    if not LU.dtype.is_floating_point or LU.dtype.itemsize < 4:
        raise NotImplementedError(f"\"lu_solve_cpu\" not implemented for '{_scalar_name(LU)}'")
    if LU.dtype is not B.dtype:
        raise RuntimeError(
            "linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
            f"{_scalar_name(LU)} and B of type {_scalar_name(B)} instead"
        )
    rows = B.shape[-2] if left else B.shape[-1]
    if rows != size:
        equation = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"linalg.lu_solve: Incompatible shapes of A and B for the equation {equation} "
            f"({size}x{size} and {B.shape[-2]}x{B.shape[-1]})"
        )
    if pivots.dtype.name != "int32":
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if pivots.ndim == 0 or pivots.shape[-1] != size:
        raise RuntimeError(
            "linalg.lu_solve: Number of pivots per batch should be same as the dimension of "
            "the matrix"
        )
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(
            "linalg.lu_solve: Expected LU.shape[:-1] and pivots.shape to be the same, but got "
            f"pivots with shape {list(pivots.shape)} instead"
        )
    data = pivots._data
    if data.size and bool((data > size).any()):
        raise RuntimeError(
            "Pivots given to lu_solve must all be smaller or equal to LU.size(-2). Did you "
            "properly pass the result of lu_factor?"
        )
    if data.size and bool((data < 1).any()):
        raise RuntimeError(
            "Pivots given to lu_solve must all be greater or equal to 1. Did you properly pass "
            "the result of lu_factor?"
        )


def _linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
                     adjoint: bool = False, out=None) -> Tensor:
    """Solve ``A X = B`` given ``lu_factor(A)``: ``X = U^-1 L^-1 P^T B``.

    ``adjoint=True`` solves ``A^T X = B``, ``left=False`` solves ``X A = B`` (or
    ``X A^T = B``). Batches of ``LU`` and ``B`` broadcast. Composed of triangular solves, so
    it is differentiable in ``LU`` and ``B`` (any number of times).

    Args:
        LU (Tensor): ``(*, n, n)``, from ``lu_factor``.
        pivots (Tensor): ``(*, n)`` int32, from ``lu_factor``.
        B (Tensor): ``(*, n, k)`` (``(*, k, n)`` with ``left=False``).

    Example:
        >>> LU, pivots = ember.linalg.lu_factor(A)
        >>> X = ember.linalg.lu_solve(LU, pivots, B)
    """
    _check_lu_solve(LU, pivots, B, left)
    if not left:
        return _linalg_lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
    P = _constant(permutation_arrays(pivots._data, LU.shape[-1], LU._data.dtype))
    if not adjoint:
        lower = _linalg_solve_triangular(LU, matmul(P.mT, B), upper=False, unitriangular=True)
        return _linalg_solve_triangular(LU, lower, upper=True)
    # A^T = U^T L^T P^T: solve with U^T (lower), then with L^T (unit upper), then permute.
    upper = _linalg_solve_triangular(LU.mT, B, upper=False)
    return matmul(P, _linalg_solve_triangular(LU.mT, upper, upper=True, unitriangular=True))


_LU_WARNING = (
    "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and "
    "will be removed in a future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\n"
    "should be replaced with\nLU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
    "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
    "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots)"
)
_LU_SOLVE_WARNING = (
    "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a "
    "future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.\n"
    "X = torch.lu_solve(B, LU, pivots)\nshould be replaced with\n"
    "X = torch.linalg.lu_solve(LU, pivots, B)"
)


@autocasts(FLOAT32)
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False):
    """Deprecated ``torch.lu``: ``(LU, pivots)`` as ``linalg.lu_factor`` gives them (never
    raising for a singular matrix), and ``info`` too with ``get_infos=True``. ember's takes
    no ``out`` (PyTorch's copies into any dtype it is given).

    Example:
        >>> LU, pivots = ember.lu(A)  # warns: use ember.linalg.lu_factor
    """
    warnings.warn(_LU_WARNING, UserWarning, stacklevel=2)
    _check_lu_input("torch.lu_factor", A, pivot)
    LU, pivots, info = LinalgLuFactorEx.apply(A)
    if get_infos:
        return return_types._lu_with_info(LU, pivots, info)
    return LU, pivots


@autocasts(FLOAT32)
def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out=None) -> Tensor:
    """Deprecated ``torch.lu_solve(B, LU, pivots)``: ``linalg.lu_solve(LU, pivots, B)``.

    Example:
        >>> X = ember.lu_solve(B, *ember.linalg.lu_factor(A))  # warns
    """
    warnings.warn(_LU_SOLVE_WARNING, UserWarning, stacklevel=2)
    return _linalg_lu_solve(LU_data, LU_pivots, b)



# out= is honoured by wrapping the public bindings once, as ``ember.ops`` does for its families.
_out.install(globals(), __all__)
