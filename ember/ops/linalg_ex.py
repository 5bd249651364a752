"""``linalg``'s checked variants and compositions: ``inv_ex``, ``solve_ex``, ``cholesky_ex``
(an ``info`` tensor in place of an error), ``cond``, ``tensorinv``, ``tensorsolve``,
``vander`` and ``diagonal``.

An ``_ex`` function runs LAPACK's kernel through NumPy; only when NumPy reports a singular
(or not positive-definite) matrix does it redo the batch the way LAPACK leaves such a
matrix, to find each ``info`` and the values PyTorch returns beside it: ``getrf`` and
``getrs`` (``linalg_lu.py``, dividing by the zero pivot), or Cholesky column by column,
stopping at the first non-positive pivot, which it stores (``potf2``). Their gradients
are those of ``inv``, ``solve`` and ``cholesky``. Real dtypes only.
"""

from __future__ import annotations

import math

from ember import return_types
from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape
from ember.ops.creation import ones, zeros
from ember.ops.elementwise import where
from ember.ops.indexing import diagonal as _diagonal
from ember.ops.linalg import (
    LinalgCholeskyEx,
    LinAlgError,
    LinalgInvEx,
    _check_matrix,
    _linalg_matrix_norm,
    _linalg_solve,
    _linalg_svdvals,
    _refuse_bfloat16,
    _solve_matrices,
)
from ember.ops.linalg_lu import first_failure, lu_arrays, lu_solve_arrays
from ember.ops.matmul import _scalar_name, _squeeze, _unsqueeze, matmul
from ember.ops.reduction import cumprod
from ember.ops.shape import cat, movedim, select

__all__: list = []


def _info_prefix(info, index: int) -> str:
    return f"(Batch element {index}): " if info.ndim > 0 else ""


# ---------------------------------------------------------------- inverse


def _inverse_arrays(A):
    """``(inverse, info)``: NumPy's inverse, or LAPACK's ``getrf`` + ``getrs`` of the identity
    when a matrix is singular (infinities and NaNs where it divides by a zero pivot)."""
    try:
        return xp.linalg.inv(A), xp.zeros(A.shape[:-2], dtype=xp.int32, like=A)
    except xp.linalg.LinAlgError:
        LU, pivots, info = lu_arrays(A)
        identity = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A.dtype, like=A), A.shape)
        return lu_solve_arrays(LU, pivots, identity.copy()), info


class LinalgInvExInfo(Op):
    node_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A):
        inverse, info = _inverse_arrays(A)
        ctx.save_for_backward(inverse)
        return inverse, info

    @staticmethod
    def backward(ctx, grad, grad_info):
        return LinalgInvEx.backward(ctx, grad)


def _singular_inverse(op: str, info: Tensor) -> None:
    failure = first_failure(info._data)
    if failure is not None:
        index, order = failure
        raise LinAlgError(
            f"{op}: {_info_prefix(info, index)}The diagonal element {order} is zero, the "
            "inversion could not be completed because the input matrix is singular."
        )


def _inverse_with_info(A: Tensor, op: str = "linalg.inv_ex"):
    _check_matrix(op, A)
    _refuse_bfloat16(A, low_precision=op)
    return LinalgInvExInfo.apply(A)


@autocasts(FLOAT32)
def _linalg_inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """``(inverse, info)``: ``A^-1`` and, per matrix, 0 or the 1-based index of the zero
    pivot that makes it singular (its inverse then holds infinities and NaNs).

    Args:
        A (Tensor): ``(*, n, n)``, float32 or float64.
        check_errors (bool): raise ``LinAlgError`` for a singular matrix, as ``inv`` does.

    Shape:
        ``inverse`` is ``(*, n, n)``, ``info`` ``(*)`` int32.

    Example:
        >>> inverse, info = ember.linalg.inv_ex(A)
    """
    inverse, info = _inverse_with_info(A)
    if check_errors:
        _singular_inverse("linalg.inv_ex", info)
    return return_types.linalg_inv_ex(inverse, info)


# ---------------------------------------------------------------- solve


def _solve_arrays(A, B, adjoint: bool):
    """``(X, info)`` of ``op(A) X = B`` (``op(A) = A^T`` when ``adjoint``), batches equal;
    ``info`` from ``A``'s own LU, as LAPACK's."""
    try:
        solution = xp.linalg.solve(xp.swapaxes(A, -1, -2) if adjoint else A, B)
        return solution, xp.zeros(A.shape[:-2], dtype=xp.int32, like=A)
    except xp.linalg.LinAlgError:
        LU, pivots, info = lu_arrays(A)
        return lu_solve_arrays(LU, pivots, B.copy(), adjoint), info


class LinalgSolveExInfo(Op):
    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, adjoint, own_batch):
        solution, info = _solve_arrays(A, B, adjoint)
        # A was broadcast against B: its info is that of the matrices it had.
        extra = info.ndim - len(own_batch)
        keep = tuple(slice(0, 1) if size == 1 else slice(None) for size in own_batch)
        ctx.adjoint = adjoint
        ctx.save_for_backward(A, solution)
        return solution, info[(0,) * extra + keep].copy()

    @staticmethod
    def backward(ctx, grad, grad_info):
        A, solution = ctx.saved_tensors
        # op(A) X = B: gB = op(A)^-T g, and gA = -gB X^T (transposed when op is A^T).
        grad_B = _solve_matrices(A if ctx.adjoint else A.mT, grad)
        grad_A = None
        if ctx.needs_input_grad[0]:
            grad_A = -matmul(solution, grad_B.mT) if ctx.adjoint else -matmul(grad_B, solution.mT)
        return grad_A, grad_B if ctx.needs_input_grad[1] else None, None, None


def _check_solve(A: Tensor, B: Tensor) -> None:
    _check_matrix("linalg.solve", A)
    _refuse_bfloat16(A, "lu_cpu")
    if A.dtype is not B.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_scalar_name(A)} and B of type {_scalar_name(B)} instead"
        )


def _solve_with_info(A: Tensor, B: Tensor, adjoint: bool):
    """``op(A) X = B`` for matrices ``B``, batches broadcast."""
    size = A.shape[-1]
    if B.ndim < 2 or B.shape[-2] != size:
        rows, columns = (B.shape[-2], B.shape[-1]) if B.ndim >= 2 else (B.shape[-1], 1)
        equation = "XA = B" if adjoint else "AX = B"
        shown = (columns, rows) if adjoint else (rows, columns)
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation {equation} "
            f"({size}x{size} and {shown[0]}x{shown[1]})"
        )
    batch = broadcast_shape("linalg.solve", tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    own = tuple(A.shape[:-2])
    A = A.expand(batch + (size, size))
    B = B.expand(batch + tuple(B.shape[-2:]))
    return LinalgSolveExInfo.apply(A, B, adjoint, own)


def _linalg_solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False,
                     out=None):
    """``(result, info)``: the solution of ``A X = B`` (``X A = B`` with ``left=False``) and,
    per matrix ``A``, 0 or the 1-based index of the zero pivot that makes it singular.

    ``B`` may be a batch of vectors (``(*, n)``); batches broadcast, and ``info`` has
    ``A``'s batch shape. Differentiable in ``A`` and ``B``, as ``linalg.solve``.

    Example:
        >>> X, info = ember.linalg.solve_ex(A, B)
    """
    _check_solve(A, B)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector and not left:
        raise RuntimeError(
            "linalg.solve: Vector broadcasting of the left hand side is not supported for "
            "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)"
        )
    if vector:
        solution, info = _solve_with_info(A, _unsqueeze(B, -1), False)
        solution = _squeeze(solution, -1)
    elif left:
        solution, info = _solve_with_info(A, B, False)
    else:
        solution, info = _solve_with_info(A, B.mT, True)
        solution = solution.mT
    if check_errors:
        failure = first_failure(info._data)
        if failure is not None:
            raise LinAlgError(
                f"torch.linalg.solve_ex: {_info_prefix(info, failure[0])}The solver failed "
                "because the input matrix is singular."
            )
    return return_types.linalg_solve_ex(solution, info)


# ---------------------------------------------------------------- cholesky


def _cholesky_arrays(A):
    """``(L, info)``: NumPy's Cholesky factor, or, when a matrix is not positive-definite,
    LAPACK's: the columns before the failing pivot factored, that pivot stored as it was
    found, the rest of the lower triangle as given."""
    try:
        return xp.linalg.cholesky(A), xp.zeros(A.shape[:-2], dtype=xp.int32, like=A)
    except xp.linalg.LinAlgError:
        pass
    batch, size = A.shape[:-2], A.shape[-1]
    count = math.prod(batch)
    L = xp.tril(A).reshape((count, size, size)).copy()
    info = xp.zeros(count, dtype=xp.int32, like=A)
    active = xp.ones(count, dtype=bool, like=A)
    for j in range(size):
        pivot = L[:, j, j] - (L[:, j, :j] * L[:, j, :j]).sum(-1)
        good = pivot > 0  # False for NaN too
        info = xp.where(active & ~good, j + 1, info).astype(xp.int32)
        L[:, j, j] = xp.where(active, xp.where(good, xp.sqrt(xp.abs(pivot)), pivot), L[:, j, j])
        active = active & good
        column = L[:, j + 1:, j] - (L[:, j + 1:, :j] @ L[:, j, :j, None])[..., 0]
        L[:, j + 1:, j] = xp.where(active[:, None], column / L[:, j, j, None], L[:, j + 1:, j])
    return L.reshape(A.shape), info.reshape(batch)


class LinalgCholeskyExInfo(Op):
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper):
        lower, info = _cholesky_arrays(A)
        ctx.upper = upper
        result = xp.swapaxes(lower, -1, -2).copy() if upper else lower
        ctx.save_for_backward(result)
        return result, info

    @staticmethod
    def backward(ctx, grad, grad_info):
        return LinalgCholeskyEx.backward(ctx, grad)[:2]


@autocasts(FLOAT32)
def _linalg_cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False,
                        out=None):
    """``(L, info)``: the Cholesky factor (``A = L L^T``; ``U = L^T`` with ``upper=True``) and,
    per matrix, 0 or the order of the first leading minor that is not positive-definite.

    Example:
        >>> L, info = ember.linalg.cholesky_ex(A)
    """
    _check_matrix("linalg.cholesky_ex", A)
    _refuse_bfloat16(A, "cholesky_cpu")
    factor, info = LinalgCholeskyExInfo.apply(A, upper)
    if check_errors:
        failure = first_failure(info._data)
        if failure is not None:
            index, order = failure
            raise LinAlgError(
                f"linalg.cholesky_ex: {_info_prefix(info, index)}The factorization could not be "
                "completed because the input is not positive-definite (the leading minor of "
                f"order {order} is not positive-definite)."
            )
    return return_types.linalg_cholesky_ex(factor, info)


# ---------------------------------------------------------------- compositions


_COND_ORDERS = (2, -2, 1, -1, math.inf, -math.inf, "fro", "nuc")


def _order_text(p) -> str:
    if isinstance(p, str):
        return p
    return ("inf" if p > 0 else "-inf") if math.isinf(p) else str(int(p))


@autocasts(FLOAT32)
def _linalg_cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """The condition number ``||A||_p ||A^-1||_p`` of each matrix.

    ``p`` None or 2: ``s_max / s_min`` of the singular values (any shape); -2: their
    inverse; 'nuc': ``sum(s) * sum(1 / s)``; 'fro', 1, -1, inf, -inf: the norms of ``A``
    and ``inv(A)``, with inf for a singular ``A`` (square ``A`` for all but 2 and -2).
    Differentiable where those are (PyTorch's own backward fails for the last four).

    Example:
        >>> ember.linalg.cond(ember.eye(3))
        tensor(1.)
    """
    if A.ndim < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    if not (p is None or p in _COND_ORDERS):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    batch = tuple(A.shape[:-2])
    if p is None or p in (2, -2):
        if A.numel() == 0:
            return zeros(batch, dtype=A.dtype, device=A.device)
        values = _linalg_svdvals(A)
        largest, smallest = select(values, -1, 0), select(values, -1, -1)
        return smallest / largest if p == -2 else largest / smallest
    _check_matrix(f"linalg.cond(ord={_order_text(p)})", A, floating=False)
    if A.numel() == 0:
        return zeros(batch, dtype=A.dtype, device=A.device)
    if p == "nuc":
        # A^-1 has the reciprocal singular values: no inverse is needed.
        values = _linalg_svdvals(A)
        return values.sum(-1) * (1 / values).sum(-1)
    inverse, info = _inverse_with_info(A, "linalg.inv")
    result = _linalg_matrix_norm(A, p) * _linalg_matrix_norm(inverse, p)
    return where(info > 0, math.inf, result)


@autocasts(FLOAT32)
def _linalg_tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """The tensor ``X`` with ``tensordot(X, A, ind)`` the identity: ``A`` read as a square
    matrix of ``prod(A.shape[:ind])`` rows, inverted, and shaped ``A.shape[ind:] +
    A.shape[:ind]``.

    Example:
        >>> A = ember.eye(4 * 6).reshape(4, 6, 8, 3)
        >>> ember.linalg.tensorinv(A, ind=2).shape
        ember.Size([8, 3, 4, 6])
    """
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    if ind > A.ndim:
        raise RuntimeError(f"ArrayRef: invalid slice, N = {ind}; size = {A.ndim}")
    shape = tuple(A.shape)
    rows, columns = math.prod(shape[:ind]), math.prod(shape[ind:])
    if rows != columns:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {columns} != {rows}"
        )
    inverse, info = _inverse_with_info(A.reshape(rows, rows), "linalg.inv")
    _singular_inverse("inv", info)
    return inverse.reshape(shape[ind:] + shape[:ind])


@autocasts(FLOAT32)
def _linalg_tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """The ``X`` with ``tensordot(A, X, X.ndim) = B``: ``A`` read as a square matrix of
    ``B.numel()`` rows (after moving ``dims`` of ``A`` to the end), solved against ``B``.

    Example:
        >>> A = ember.eye(6).reshape(2, 3, 6)
        >>> ember.linalg.tensorsolve(A, ember.ones(2, 3)).shape
        ember.Size([6])
    """
    if dims is not None:
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        A = movedim(A, dims, tuple(range(A.ndim - len(dims), A.ndim)))
    shape = tuple(A.shape)
    result_shape = shape[B.ndim:]
    rows, columns = math.prod(shape[:B.ndim]), math.prod(result_shape)
    if rows != columns:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {columns} != {rows}"
        )
    return _linalg_solve(A.reshape(rows, columns), B.reshape(-1)).reshape(result_shape)


def _linalg_vander(x: Tensor, N=None) -> Tensor:
    """The Vandermonde matrices of the vectors in ``x``'s last dim, in increasing powers:
    ``V[..., i, j] = x[..., i] ** j``, ``N`` columns (``x.shape[-1]`` by default).

    A cumulative product, so it is differentiable (integer inputs give int64).

    Example:
        >>> ember.linalg.vander(ember.tensor([1., 2., 3.]))
        tensor([[1., 1., 1.],
                [1., 2., 4.],
                [1., 3., 9.]])
    """
    if x.dtype.name in ("bool", "float16", "bfloat16"):
        raise RuntimeError(
            "linalg.vander supports floating point, complex, and integer tensors, but got "
            f"{_scalar_name(x)}"
        )
    if N is None:
        N = x.shape[-1] if x.ndim else 1
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    column = _unsqueeze(x, -1)
    powers = cumprod(column.expand(tuple(x.shape) + (N - 1,)), -1)
    first = ones(tuple(x.shape) + (1,), dtype=powers.dtype, device=x.device)
    return cat([first, powers], -1)


def _linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.diagonal`` with the matrix dims last by default: a view of each diagonal."""
    return _diagonal(A, offset, dim1, dim2)
