"""Linear algebra: norms, inverses, determinants, solves and the matrix decompositions.

The ``torch.*`` spellings (``det``, ``inverse``, ``svd`` ...) are this module's public
surface; ``ember.linalg`` (``ember/linalg.py``) exposes the ``torch.linalg`` spellings,
which are the private ``_linalg_*`` functions here.

Each decomposition's backward is PyTorch's published formula (FunctionsManual.cpp:
``cholesky_backward``, ``linalg_qr_backward``, ``svd_backward``, ``linalg_eig_backward``,
``pinv_backward``), written with ember's matmul and solve so that it can be
differentiated again. Real dtypes only.
"""

from __future__ import annotations

import math

from ember import return_types
from ember._autocast import FLOAT32, LOWER_PRECISION, NATIVE, autocasts
from ember._backend import asarray, xp
from ember._dtype import bfloat16
from ember._tensor import Tensor
from ember.ops._function import Op, broadcast_shape, wrap_dim, wrap_dims
from ember.ops.matmul import _scalar_name, _squeeze, _unsqueeze, matmul

__all__ = [
    "cholesky",
    "det",
    "inverse",
    "logdet",
    "matrix_exp",
    "matrix_power",
    "norm",
    "pinverse",
    "qr",
    "slogdet",
    "svd",
]


class LinAlgError(RuntimeError):
    """A matrix without the property the operation needs (singular, not positive-definite)."""


# ---------------------------------------------------------------- helpers


def _check_matrix(op: str, A: Tensor, square: bool = True, floating: bool = True) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if floating and not A.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {_scalar_name(A)}"
        )
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )


def _refuse_bfloat16(A: Tensor, kernel: str = "", low_precision: str = "") -> None:
    """PyTorch's error for a bfloat16 input where its CPU linear algebra has no such kernel."""
    if A.dtype is not bfloat16:
        return
    if low_precision:
        raise RuntimeError(f"{low_precision}: Low precision dtypes not supported. Got BFloat16")
    if kernel:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'BFloat16'")
    raise RuntimeError("This function doesn't handle types other than float and double")


def _constant(array) -> Tensor:
    return Tensor._make(asarray(array).copy())


def _eye(size: int, like: Tensor) -> Tensor:
    return Tensor._make(xp.eye(size, dtype=like._data.dtype, like=like._data))


def _tril(A: Tensor, diagonal: int = 0) -> Tensor:
    rows, columns = A.shape[-2], A.shape[-1]
    return A * Tensor._make(xp.tri(rows, columns, diagonal, dtype=A._data.dtype, like=A._data))


def _triu(A: Tensor, diagonal: int = 0) -> Tensor:
    return A - _tril(A, diagonal - 1)


def _diag_embed(values: Tensor) -> Tensor:
    return _unsqueeze(values, -1) * _eye(values.shape[-1], values)


def _columns(count: int, total: int, like: Tensor) -> Tensor:
    """The ``(total, count)`` matrix that keeps the first ``count`` columns: ``X @ it``."""
    return Tensor._make(xp.eye(total, count, dtype=like._data.dtype, like=like._data))


def _batch_failure(op: str, arrays, check, message: str) -> LinAlgError:
    """Name the first failing matrix of a batch the way PyTorch does."""
    batch = arrays.reshape((-1,) + arrays.shape[-2:])
    for index, matrix in enumerate(batch):
        detail = check(matrix)
        if detail is not None:
            prefix = f"(Batch element {index}): " if arrays.ndim > 2 else ""
            return LinAlgError(f"{op}: {prefix}{message.format(detail)}")
    return LinAlgError(f"{op}: {message.format('?')}")


def _singular_detail(matrix):
    try:
        xp.linalg.inv(matrix)
    except xp.linalg.LinAlgError:
        return "?"
    return None


def _cholesky_detail(matrix):
    for order in range(1, matrix.shape[-1] + 1):
        try:
            xp.linalg.cholesky(matrix[:order, :order])
        except xp.linalg.LinAlgError:
            return order
    return None


def _is_absent(grad: Tensor) -> bool:
    """The engine hands a zero tensor for an output that received no gradient."""
    return grad.grad_fn is None and not grad._requires_grad and not grad._data.any()


# ---------------------------------------------------------------- norms


class LinalgVectorNorm(Op):
    cuda_autocast_float32 = True

    @staticmethod
    def forward(ctx, x, ord, dims, keepdim):
        result = LinalgVectorNorm.compute(x, ord, dims, keepdim)
        ctx.ord, ctx.dims, ctx.keepdim = ord, dims, keepdim
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def compute(x, ord, dims, keepdim):
        """The ``ord``-norm of ``x`` over ``dims``, an array of ``x``'s dtype."""
        if ord == 2:
            result = xp.sqrt((x * x).sum(axis=dims, keepdims=keepdim))
        elif ord == 0:
            result = (x != 0).sum(axis=dims, keepdims=keepdim).astype(x.dtype)
        elif ord == math.inf:
            result = xp.abs(x).max(axis=dims, keepdims=keepdim)
        elif ord == -math.inf:
            result = xp.abs(x).min(axis=dims, keepdims=keepdim)
        elif ord == 1:
            result = xp.abs(x).sum(axis=dims, keepdims=keepdim)
        else:
            result = (xp.abs(x) ** ord).sum(axis=dims, keepdims=keepdim) ** (1.0 / ord)
        return asarray(result, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, norm = ctx.saved_tensors
        p = ctx.ord
        if p == 0:
            return None, None, None, None
        if not ctx.keepdim:
            kept = tuple(1 if d in ctx.dims else s for d, s in enumerate(x.shape))
            grad, norm = grad.reshape(kept), norm.reshape(kept)
        sign = _constant(xp.sign(x._data))
        if p == 1:
            return grad * sign, None, None, None
        if math.isinf(p):
            # The gradient is shared evenly among the entries that attain the max (min).
            magnitude = xp.abs(x._data)
            mask = (magnitude == norm._data) | xp.isnan(magnitude)
            share = mask / xp.sum(mask, axis=ctx.dims, keepdims=True)
            return grad * sign * _constant(share.astype(x._data.dtype)), None, None, None
        dtype = x._data.dtype
        magnitude = x * sign
        zero_norm = _constant((norm._data == 0).astype(dtype))
        safe_norm = norm + zero_norm  # 0/0 is taken as a zero gradient, as in PyTorch
        if p < 1:
            zero_x = _constant((x._data == 0).astype(dtype))
            scaled = sign * (magnitude + zero_x) ** (p - 1) * (1 - zero_x)
            return scaled * grad * safe_norm ** (1 - p) * (1 - zero_norm), None, None, None
        if p < 2:
            scaled = sign * magnitude ** (p - 1)
        elif p == 2:
            scaled = x
        else:
            scaled = x * magnitude ** (p - 2)
        return scaled * (grad / safe_norm ** (p - 1) * (1 - zero_norm)), None, None, None


def _linalg_vector_norm(
    x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None
) -> Tensor:
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' must be Number, not str")
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(x)}"
        )
    if isinstance(dim, list):
        dim = tuple(dim)
    dims = (
        wrap_dims(dim, x.ndim, "linalg.vector_norm")
        if dim not in (None, ())
        else tuple(range(x.ndim))
    )
    ord = float(ord)
    if ord < 0 or math.isinf(ord):
        reduced = [x.shape[d] for d in dims] if x.ndim else [1]
        if x.numel() == 0 and (0 in reduced or not dims):
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {_order_name(ord)} norm on an empty "
                "tensor because the operation does not have an identity"
            )
    return LinalgVectorNorm.apply(x, ord, dims, keepdim)


def _order_name(ord: float) -> str:
    if math.isinf(ord):
        return "inf" if ord > 0 else "-inf"
    return f"{ord:g}"


def _linalg_matrix_norm(
    A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None
) -> Tensor:
    if A.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
        )
    if not isinstance(dim, (tuple, list)):
        raise TypeError(
            f"linalg_matrix_norm(): argument 'dim' must be tuple of ints, not {type(dim).__name__}"
        )
    dims = tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(
            f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}"
        )
    rows, columns = (wrap_dim(d, A.ndim, "linalg.matrix_norm") for d in dims)
    if rows == columns:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({rows}, {columns})")
    if dtype is not None:
        A = A.to(dtype)
    if ord in ("fro", "nuc") or ord in (1, -1, 2, -2, math.inf, -math.inf):
        pass
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord in ("nuc", 2, -2):  # the norms of singular values
        _refuse_bfloat16(A, low_precision="linalg.matrix_norm")
    if ord == "fro":
        return _linalg_vector_norm(A, 2, (rows, columns), keepdim)
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.matrix_norm: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A)}"
        )
    order = [d for d in range(A.ndim) if d not in (rows, columns)] + [rows, columns]
    moved = A.permute(*order)
    if ord in ("nuc", 2, -2):
        values = _linalg_svdvals(moved)
        if ord == "nuc":
            result = values.sum(-1)
        else:
            # Singular values come sorted, largest first: pick the first or the last.
            pick = xp.zeros(values.shape[-1], dtype=values._data.dtype, like=values._data)
            pick[0 if ord == 2 else -1] = 1
            result = (values * Tensor._make(pick)).sum(-1)
    else:
        largest = ord > 0
        if abs(ord) == 1:
            sums = _linalg_vector_norm(moved, 1, -2)
        else:
            sums = _linalg_vector_norm(moved, 1, -1)
        result = _linalg_vector_norm(sums, math.inf if largest else -math.inf, -1)
    if keepdim:
        shape = list(A.shape)
        shape[rows] = shape[columns] = 1
        result = result.reshape(tuple(shape))
    return result


def _linalg_norm(
    A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None
) -> Tensor:
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return _linalg_matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord}")
        return _linalg_vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return _linalg_vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim not in (1, 2):
        raise RuntimeError(
            "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
            f"Got {A.ndim}D."
        )
    if A.ndim == 1:
        return _linalg_vector_norm(A, ord, None, keepdim, dtype=dtype)
    return _linalg_matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """``torch.norm``: the vector p-norm over ``dim`` (all dims by default), or 'fro'/'nuc'.

    ``p='fro'`` and numeric ``p`` take the vector norm of the entries over ``dim``;
    ``p='nuc'`` takes the nuclear norm of the matrices in the last two dims (or ``dim``).
    """
    if isinstance(dim, int):
        dim = (dim,)
    if p == "nuc":
        return _linalg_matrix_norm(
            input, "nuc", (-2, -1) if dim is None else dim, keepdim, dtype=dtype
        )
    if p == "fro":
        if dim is not None and len(dim) > 2:
            raise RuntimeError(
                f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
            )
        p = 2
    if p is None:
        p = 2
    if isinstance(p, str):
        return _linalg_matrix_norm(input, p, (-2, -1) if dim is None else dim, keepdim)
    return _linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------- inverse, determinant, solve


class LinalgInvEx(Op):
    @staticmethod
    def forward(ctx, A):
        try:
            inverse = xp.linalg.inv(A)
        except xp.linalg.LinAlgError:
            raise _batch_failure(
                "linalg.inv",
                A,
                _singular_detail,
                "The diagonal element {} is zero, the inversion could not be completed because "
                "the input matrix is singular.",
            ) from None
        ctx.save_for_backward(inverse)
        return inverse

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        transposed = inverse.mT
        return (-matmul(transposed, matmul(grad, transposed)),)


class LinalgDet(Op):
    @staticmethod
    def forward(ctx, A):
        determinant = asarray(xp.linalg.det(A), dtype=A.dtype)
        ctx.save_for_backward(A, determinant)
        return determinant

    @staticmethod
    def backward(ctx, grad):
        # d det(A) = det(A) tr(A^-1 dA); the gradient is det(A) A^-T (A must be invertible).
        A, determinant = ctx.saved_tensors
        scale = _unsqueeze(_unsqueeze(grad * determinant, -1), -1)
        return (scale * _linalg_inv(A).mT,)


class LinalgSlogdet(Op):
    @staticmethod
    def forward(ctx, A):
        sign, logabsdet = xp.linalg.slogdet(A)
        sign, logabsdet = asarray(sign, dtype=A.dtype), asarray(logabsdet, dtype=A.dtype)
        ctx.save_for_backward(A)
        return sign, logabsdet

    @staticmethod
    def backward(ctx, grad_sign, grad_logabsdet):
        (A,) = ctx.saved_tensors
        scale = _unsqueeze(_unsqueeze(grad_logabsdet, -1), -1)
        return (scale * _linalg_inv(A).mT,)


class LinalgSolveEx(Op):
    @staticmethod
    def forward(ctx, A, B):
        try:
            solution = xp.linalg.solve(A, B)
        except xp.linalg.LinAlgError:
            raise LinAlgError(
                "torch.linalg.solve: The solver failed because the input matrix is singular."
            ) from None
        ctx.save_for_backward(A, solution)
        return solution

    @staticmethod
    def backward(ctx, grad):
        A, solution = ctx.saved_tensors
        grad_B = _solve_matrices(A.mT, grad)
        grad_A = -matmul(grad_B, solution.mT) if ctx.needs_input_grad[0] else None
        return grad_A, grad_B if ctx.needs_input_grad[1] else None


@autocasts(FLOAT32)
def _linalg_inv(A: Tensor, *, out=None) -> Tensor:
    _check_matrix("linalg.inv", A)
    _refuse_bfloat16(A, low_precision="linalg.inv")
    return LinalgInvEx.apply(A)


def _linalg_det(A: Tensor, *, out=None) -> Tensor:
    _check_matrix("linalg.det", A)
    _refuse_bfloat16(A, "lu_cpu")
    return LinalgDet.apply(A)


def _linalg_slogdet(A: Tensor, *, out=None):
    _check_matrix("linalg.slogdet", A)
    _refuse_bfloat16(A, low_precision="linalg.slogdet")
    return return_types.slogdet(*LinalgSlogdet.apply(A))


@autocasts(FLOAT32)
def _linalg_solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    _check_matrix("linalg.solve", A)
    _refuse_bfloat16(A, "lu_cpu")
    if A.dtype is not B.dtype:
        raise RuntimeError(
            "linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{_scalar_name(A)} and B of type {_scalar_name(B)} instead"
        )
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if not left:
        if vector:
            raise RuntimeError(
                "linalg.solve: Vector broadcasting of the left hand side is not supported for "
                "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)"
            )
        return _linalg_solve(A.mT, B.mT).mT
    if vector:
        return _squeeze(_solve_matrices(A, _unsqueeze(B, -1)), -1)
    return _solve_matrices(A, B)


def _solve_matrices(A: Tensor, B: Tensor) -> Tensor:
    """``A^-1 B`` for a batch of matrices ``B`` (never read as vectors); batches broadcast."""
    if B.ndim < 2 or B.shape[-2] != A.shape[-1]:
        columns = B.shape[-1] if B.ndim >= 2 else 1
        rows = B.shape[-2] if B.ndim >= 2 else B.shape[-1]
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({A.shape[-2]}x{A.shape[-1]} and {rows}x{columns})"
        )
    batch = broadcast_shape("linalg.solve", tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    A = A.expand(batch + tuple(A.shape[-2:]))
    B = B.expand(batch + tuple(B.shape[-2:]))
    return LinalgSolveEx.apply(A, B)


def _linalg_solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None
) -> Tensor:
    """Solve with the triangle of ``A`` only; the gradient of ``A`` is triangular too."""
    _check_matrix("linalg.solve_triangular", A)
    _refuse_bfloat16(A, "triangular_solve_cpu")
    if B.ndim < 2:
        raise RuntimeError(
            "linalg.solve_triangular: The input tensor B must have at least 2 dimensions."
        )
    size = A.shape[-1]
    keep = 1 if unitriangular else 0
    triangle = _triu(A, keep) if upper else _tril(A, -keep)
    if unitriangular:
        triangle = triangle + _eye(size, A)
    if not left:
        return _solve_matrices(triangle.mT, B.mT).mT
    return _solve_matrices(triangle, B)


def det(input: Tensor) -> Tensor:
    """The determinant of each square matrix in the last two dims."""
    return _linalg_det(input)


def logdet(input: Tensor) -> Tensor:
    """``log(det(A))``: NaN for a negative determinant, ``-inf`` for zero."""
    _refuse_bfloat16(input, low_precision="logdet")
    sign, logabsdet = _linalg_slogdet(input)
    return logabsdet + _constant(xp.log(sign._data))


def slogdet(input: Tensor):
    """``(sign, log|det|)`` of each square matrix, as a named tuple."""
    return _linalg_slogdet(input)


def inverse(input: Tensor, *, out=None) -> Tensor:
    """The inverse of each square matrix; a singular one raises ``LinAlgError``."""
    return _linalg_inv(input)


# ---------------------------------------------------------------- decompositions


class LinalgCholeskyEx(Op):
    @staticmethod
    def forward(ctx, A, upper, op):
        try:
            lower = xp.linalg.cholesky(A)
        except xp.linalg.LinAlgError:
            raise _batch_failure(
                op,
                A,
                _cholesky_detail,
                "The factorization could not be completed because the input is not "
                "positive-definite (the leading minor of order {} is not positive-definite).",
            ) from None
        ctx.upper = upper
        result = xp.swapaxes(lower, -1, -2).copy() if upper else lower
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (factor,) = ctx.saved_tensors
        lower, grad = (factor.mT, grad.mT) if ctx.upper else (factor, grad)
        # gA = L^-H Phi(L^H gL) L^-1 with Phi(X) = (tril(X) + tril(X, -1)^H) / 2
        product = _tril(matmul(lower.mT, grad))
        symmetric = 0.5 * (product + _tril(product, -1).mT)
        left = _solve_matrices(lower.mT, symmetric)
        return _solve_matrices(lower.mT, left.mT).mT, None, None


@autocasts(FLOAT32)
def _linalg_cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    _check_matrix("linalg.cholesky", A)
    _refuse_bfloat16(A, "cholesky_cpu")
    return LinalgCholeskyEx.apply(A, upper, "linalg.cholesky")


@autocasts(FLOAT32)
def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """The Cholesky factor ``L`` (``A = L L^T``), or ``U = L^T`` with ``upper=True``."""
    _check_matrix("cholesky", input)
    _refuse_bfloat16(input, "cholesky_cpu")
    return LinalgCholeskyEx.apply(input, upper, "cholesky")


class LinalgQr(Op):
    @staticmethod
    def forward(ctx, A, mode):
        ctx.mode = mode
        if mode == "r":
            R = xp.linalg.qr(A, mode="r")
            return xp.zeros((0,), dtype=A.dtype, like=A), asarray(R, dtype=A.dtype)
        Q, R = xp.linalg.qr(A, mode=mode)
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, grad_Q, grad_R):
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        Q, R = ctx.saved_tensors
        rows, columns = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and rows > columns:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        M = matmul(grad_R, R.mT) - matmul(Q.mT, grad_Q)
        if rows >= columns:
            # gA = (Q syminvadj(triu(M)) + gQ) R^-H, with syminvadj(X) = X + X^H - diag(X)
            upper = _triu(M)
            b = matmul(Q, upper + upper.mT - _diag_embed((upper * _eye(columns, M)).sum(-1)))
            b = b + grad_Q
            return _solve_matrices(R, b.mT).mT, None
        # Wide: gA = [Q trilImInvAdjSkew(-M) R1^-H, 0] + Q gR, with R1 the leading square.
        skew = _tril(M.mT - M)
        leading = matmul(R, _columns(rows, columns, R))
        result = _solve_matrices(leading, matmul(Q, skew).mT).mT
        return matmul(result, _columns(rows, columns, R).mT) + matmul(Q, grad_R), None


@autocasts(FLOAT32)
def _linalg_qr(A: Tensor, mode: str = "reduced", *, out=None):
    if A.ndim < 2:
        raise RuntimeError("linalg.qr: The input tensor A must have at least 2 dimensions.")
    _refuse_bfloat16(A, "geqrf_cpu")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.qr: Expected a floating point or complex tensor as input. "
            f"Got {_scalar_name(A)}"
        )
    return return_types.qr(*LinalgQr.apply(A, mode))


def qr(input: Tensor, some: bool = True, *, out=None):
    """``torch.qr``: ``(Q, R)`` with ``A = Q R``; ``some=False`` gives the complete ``Q``."""
    return _linalg_qr(input, "reduced" if some else "complete")


class LinalgSvd(Op):
    @staticmethod
    def forward(ctx, A, full_matrices):
        U, S, Vh = xp.linalg.svd(A, full_matrices=full_matrices)
        ctx.full_matrices = full_matrices
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, grad_U, grad_S, grad_Vh):
        U, S, Vh = ctx.saved_tensors
        rows, columns, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
        if ctx.full_matrices:
            # Only the first k singular vectors are determined by A.
            U, grad_U = (matmul(t, _columns(k, rows, t)) for t in (U, grad_U))
            Vh, grad_Vh = (matmul(_columns(k, columns, t).mT, t) for t in (Vh, grad_Vh))
        has_U, has_V = not _is_absent(grad_U), not _is_absent(grad_Vh)
        if not has_U and not has_V:
            return matmul(U * _unsqueeze(grad_S, -2), Vh), None
        S_row, S_column = _unsqueeze(S, -2), _unsqueeze(S, -1)
        squares = S * S
        E = _unsqueeze(squares, -2) - _unsqueeze(squares, -1) + _eye(k, S)
        gA = None
        if has_U:
            UhgU = matmul(U.mT, grad_U)
            gA = (UhgU - UhgU.mT) * S_row
        if has_V:
            VhgV = matmul(Vh, grad_Vh.mT)
            term = S_column * (VhgV - VhgV.mT)
            gA = term if gA is None else gA + term
        gA = gA / E + _diag_embed(grad_S)
        if rows > columns and has_U:
            gA = matmul(U, gA)
            gU_Sinv = grad_U / S_row
            gA = gA + gU_Sinv - matmul(U, matmul(U.mT, gU_Sinv))
            return matmul(gA, Vh), None
        if rows < columns and has_V:
            gA = matmul(gA, Vh)
            Sinv_gVh = grad_Vh / S_column
            gA = gA + Sinv_gVh - matmul(matmul(Sinv_gVh, Vh.mT), Vh)
            return matmul(U, gA), None
        return matmul(U, matmul(gA, Vh)), None


def _check_decomposable(op: str, A: Tensor) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if not A.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got {_scalar_name(A)}"
        )


@autocasts(FLOAT32)
def _linalg_svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    _check_decomposable("linalg.svd", A)
    _refuse_bfloat16(A, "linalg_svd_cpu")
    return return_types.linalg_svd(*LinalgSvd.apply(A, full_matrices))


@autocasts(FLOAT32)
def _linalg_svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    _check_decomposable("linalg.svd", A)
    _refuse_bfloat16(A, "linalg_svd_cpu")
    return LinalgSvd.apply(A, False)[1]


@autocasts(FLOAT32)
def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``A = U diag(S) V^T`` (note ``V``, not ``Vh``).

    ``some=False`` gives square ``U`` and ``V``; ``compute_uv=False`` fills them with zeros.
    """
    _check_decomposable("linalg.svd", input)
    _refuse_bfloat16(input, "linalg_svd_cpu")
    if not compute_uv:
        values = _linalg_svdvals(input)
        rows, columns = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        data = input._data
        U = Tensor._make(xp.zeros(batch + (rows, rows), dtype=data.dtype, like=data))
        V = Tensor._make(xp.zeros(batch + (columns, columns), dtype=data.dtype, like=data))
        return return_types.svd(U, values, V)
    U, S, Vh = LinalgSvd.apply(input, not some)
    return return_types.svd(U, S, Vh.mT)


class LinalgEigh(Op):
    @staticmethod
    def forward(ctx, A, UPLO):
        values, vectors = xp.linalg.eigh(A, UPLO=UPLO)
        ctx.save_for_backward(values, vectors)
        return values, vectors

    @staticmethod
    def backward(ctx, grad_values, grad_vectors):
        values, vectors = ctx.saved_tensors
        if _is_absent(grad_vectors):
            return matmul(vectors * _unsqueeze(grad_values, -2), vectors.mT), None
        size = values.shape[-1]
        VhgV = matmul(vectors.mT, grad_vectors)
        skew = 0.5 * (VhgV - VhgV.mT)
        E = _unsqueeze(values, -2) - _unsqueeze(values, -1) + _eye(size, values)
        inner = skew / E + _diag_embed(grad_values)
        return matmul(vectors, matmul(inner, vectors.mT)), None


def _check_uplo(UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def _check_eigh(A: Tensor) -> None:
    _check_matrix("linalg.eigh", A, floating=False)
    if not A.dtype.is_floating_point:
        raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for '{_scalar_name(A)}'")
    _refuse_bfloat16(A, "linalg_eigh_cpu")


@autocasts(FLOAT32)
def _linalg_eigh(A: Tensor, UPLO: str = "L", *, out=None):
    _check_uplo(UPLO)
    _check_eigh(A)
    return return_types.eigh(*LinalgEigh.apply(A, UPLO))


@autocasts(FLOAT32)
def _linalg_eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    _check_uplo(UPLO)
    _check_eigh(A)
    return LinalgEigh.apply(A, UPLO)[0]


# ---------------------------------------------------------------- pseudo-inverse and friends


def _tolerance(values, atol, rtol, rows: int, columns: int):
    """``max(atol, rtol * largest value)`` per matrix, with PyTorch's defaults (keepdims)."""
    atol = atol._data if isinstance(atol, Tensor) else atol
    rtol = rtol._data if isinstance(rtol, Tensor) else rtol
    if rtol is None:
        # A positive atol given alone switches the relative tolerance off.
        alone = atol is not None and bool(xp.all(asarray(atol) > 0))
        rtol = 0.0 if alone else xp.finfo(values.dtype).eps * max(rows, columns)
    atol = 0.0 if atol is None else atol
    largest = xp.max(values, axis=-1, initial=0.0)
    return xp.expand_dims(xp.maximum(atol, rtol * largest), -1)


class LinalgPinv(Op):
    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        rows, columns = A.shape[-2], A.shape[-1]
        if hermitian:
            values, vectors = xp.linalg.eigh(A)
            magnitude = xp.abs(values)
            tolerance = _tolerance(magnitude, atol, rtol, rows, columns)
            inverse_values = xp.where(
                magnitude > tolerance, 1 / xp.where(values == 0, 1, values), 0
            )
            result = xp.matmul(vectors * inverse_values[..., None, :], xp.swapaxes(vectors, -1, -2))
        else:
            U, S, Vh = xp.linalg.svd(A, full_matrices=False)
            tolerance = _tolerance(S, atol, rtol, rows, columns)
            inverse_values = xp.where(S > tolerance, 1 / xp.where(S == 0, 1, S), 0)
            result = xp.matmul(
                xp.swapaxes(Vh, -1, -2) * inverse_values[..., None, :], xp.swapaxes(U, -1, -2)
            )
        result = asarray(result, dtype=A.dtype)
        ctx.save_for_backward(A, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        A, pinv = ctx.saved_tensors
        rows, columns = A.shape[-2], A.shape[-1]
        pinv_h, grad_h = pinv.mT, grad.mT
        if rows <= columns:
            K = matmul(grad_h, pinv)
            K_pinv_h = matmul(K, pinv_h)
            gA = (
                -matmul(pinv, K).mT
                + K_pinv_h
                - matmul(matmul(A, pinv), K_pinv_h)
                + matmul(matmul(pinv_h, pinv), grad_h - matmul(K, A))
            )
        else:
            K = matmul(pinv, grad_h)
            pinv_h_K = matmul(pinv_h, K)
            gA = (
                -matmul(K, pinv).mT
                + matmul(matmul(grad_h - matmul(A, K), pinv), pinv_h)
                + pinv_h_K
                - matmul(matmul(pinv_h_K, pinv), A)
            )
        return gA, None, None, None


def _linalg_pinv(
    A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None, out=None
) -> Tensor:
    if A.ndim < 2 or not A.dtype.is_floating_point or A.dtype is bfloat16:
        raise RuntimeError(
            f"linalg.pinv({_scalar_name(A)}{{{list(A.shape)}}}): expected a tensor with 2 or more "
            "dimensions of float, double, cfloat or cdouble types"
        )
    if rcond is not None:
        rtol = rcond
    return LinalgPinv.apply(A, atol, rtol, hermitian)


@autocasts(FLOAT32)
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """The Moore-Penrose pseudo-inverse; singular values below ``rcond * max`` count as 0."""
    return _linalg_pinv(input, rtol=rcond)


@autocasts(FLOAT32)
def _linalg_matrix_rank(
    A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None
) -> Tensor:
    if A.ndim < 2:
        raise RuntimeError(
            "torch.linalg.matrix_rank: The input tensor input must have at least 2 dimensions."
        )
    _refuse_bfloat16(A, "linalg_svd_cpu" if atol is not None and tol is None else "")
    if tol is not None:
        atol, rtol = tol, 0.0
    data = A._data
    if hermitian:
        values = xp.abs(xp.linalg.eigvalsh(data))
    else:
        values = xp.linalg.svd(data, compute_uv=False)
    tolerance = _tolerance(values, atol, rtol, data.shape[-2], data.shape[-1])
    return Tensor._make(asarray(xp.sum(values > tolerance, axis=-1), dtype=xp.int64))


class PowerZero(Op):
    """``A^0``: the identity, connected to ``A`` with a zero gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, A):
        identity = xp.eye(A.shape[-1], dtype=A.dtype, like=A)
        return xp.broadcast_to(identity, A.shape).copy()

    @staticmethod
    def backward(ctx, grad):
        return (None,)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``A^n`` by repeated squaring; ``n = 0`` is the identity, ``n < 0`` powers ``inv(A)``."""
    _check_matrix("linalg.matrix_power", input, floating=False)
    if n == 0:
        return PowerZero.apply(input)
    if n < 0:
        _check_matrix("linalg.matrix_power", input)
        input, n = _linalg_inv(input), -n
    result, base = None, input
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    return result if result is not input else input * 1


@autocasts(NATIVE)
def matrix_exp(input: Tensor) -> Tensor:
    """``exp(A) = sum_k A^k / k!``, by scaling and squaring a Taylor polynomial.

    Composed of matmuls, so it is differentiable any number of times.
    """
    _check_matrix("linalg.matrix_exp", input)
    size = input.shape[-1]
    if size == 0 or input.numel() == 0:
        return input * 1
    # Scale so that the largest row-sum norm is at most 1/2, where degree 12 is exact
    # to double precision, then square the result back up.
    magnitude = float(xp.max(xp.sum(xp.abs(input._data), axis=-1)))
    squarings = math.ceil(math.log2(magnitude / 0.5)) if magnitude > 0.5 else 0
    scaled = input / (2.0**squarings) if squarings else input
    identity = _eye(size, input)
    result = identity
    for k in range(12, 0, -1):  # Horner form of the degree-12 Taylor polynomial
        result = identity + matmul(scaled, result) / k
    for _ in range(squarings):
        result = matmul(result, result)
    return result


@autocasts(FLOAT32)
def _linalg_lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    _check_decomposable("linalg.lstsq", A)
    _refuse_bfloat16(A)
    if A.dtype is not B.dtype:
        raise RuntimeError(
            "torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
            f"input's dtype {A.dtype} and other's dtype {B.dtype}"
        )
    vector = B.ndim == A.ndim - 1
    matrix_B = _unsqueeze(B, -1) if vector else B
    if matrix_B.shape[-2] != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    driver = driver or "gelsy"
    rows, columns = A.shape[-2], A.shape[-1]
    rtol = (
        rcond
        if rcond is not None and rcond > 0
        else xp.finfo(A._data.dtype).eps * max(rows, columns)
    )
    solution = matmul(_linalg_pinv(A, rtol=rtol), matrix_B)
    values = xp.linalg.svd(A._data, compute_uv=False)
    rank = xp.sum(values > rtol * values[..., :1], axis=-1).astype(xp.int64)
    dtype = A._data.dtype
    empty = xp.zeros((0,), dtype=dtype, like=A._data)
    residuals = _constant(empty)
    if rows > columns and driver != "gelsy" and bool(xp.all(rank == columns)):
        difference = matmul(A, solution) - matrix_B
        residuals = (difference * difference).sum(-2)
    rank_tensor = (
        _constant(rank)
        if driver in ("gelsy", "gelsd", "gelss")
        else _constant(xp.zeros((0,), dtype=xp.int64, like=A._data))
    )
    singular = _constant(values) if driver in ("gelsd", "gelss") else _constant(empty)
    if vector:
        solution = _squeeze(solution, -1)
    return return_types.lstsq(solution, residuals, rank_tensor, singular)


@autocasts(LOWER_PRECISION)
def _linalg_vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    return (x * y).sum(dim)


def _linalg_matrix_exp(A: Tensor) -> Tensor:
    return matrix_exp(A)
