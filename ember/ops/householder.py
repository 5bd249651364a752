"""Householder reflections, as LAPACK stores them: ``geqrf``, ``linalg.householder_product``
(``orgqr``) and ``ormqr``.

``geqrf`` leaves ``R`` on and above the diagonal of its result and, below it, the vectors
``v_i`` of the reflections ``H_i = I - tau_i v_i v_i^T`` (``v_i`` has zeros above position
``i`` and a 1 there, implied), so that ``A = H_1 H_2 ... H_k R``. NumPy's ``qr(mode="raw")``
is that very LAPACK call. The products of reflections are composed of ember's matmuls,
one reflection at a time, so they are differentiable (twice and more) in the vectors,
the scales and the other operand. Real dtypes only.
"""

from __future__ import annotations

from ember import return_types
from ember._autocast import FLOAT32, autocasts
from ember._backend import xp
from ember._tensor import Tensor
from ember.ops import _out
from ember.ops._function import Op
from ember.ops.linalg import _tril
from ember.ops.matmul import _scalar_name, _unsqueeze, matmul
from ember.ops.shape import narrow

__all__ = ["geqrf", "orgqr", "ormqr"]


def _reflectors(A: Tensor) -> Tensor:
    """The columns ``v_i``: ``A`` below the diagonal, 1 on it, 0 above."""
    rows, columns = A.shape[-2], A.shape[-1]
    identity = xp.eye(rows, columns, dtype=A._data.dtype, like=A._data)
    return _tril(A, -1) + Tensor._make(identity)


def _reflect(X: Tensor, v: Tensor, scale: Tensor, left: bool) -> Tensor:
    """``H X`` (``X H`` when not ``left``) for ``H = I - scale v v^T``, ``v`` a column."""
    if left:
        return X - matmul(scale * v, matmul(v.mT, X))
    return X - matmul(matmul(X, v), (scale * v).mT)


def _apply_reflections(A: Tensor, tau: Tensor, X: Tensor, left: bool, forward: bool) -> Tensor:
    """``X`` times the reflections of ``A`` and ``tau``, ``H_1`` applied first when
    ``forward``, ``H_k`` first otherwise."""
    count = tau.shape[-1]
    if count == 0:
        return X.clone()
    vectors = _reflectors(A)
    order = range(count) if forward else reversed(range(count))
    for i in order:
        v = narrow(vectors, -1, i, 1)
        scale = _unsqueeze(narrow(tau, -1, i, 1), -1)
        X = _reflect(X, v, scale, left)
    return X


def _check_kernel(kernel: str, *tensors) -> None:
    for tensor in tensors:
        if not tensor.dtype.is_floating_point or tensor.dtype.itemsize < 4:
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_scalar_name(tensor)}'")


def _check_householder(op: str, A: Tensor, tau: Tensor) -> None:
    if A.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(
            f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    if tau.ndim == 0 or A.shape[-1] < tau.shape[-1]:
        raise RuntimeError(f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(
            f"{op}: Expected tau to have one dimension less than input, but got tau.ndim equal "
            f"to {tau.ndim} and input.ndim is equal to {A.ndim}"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{list(tau.shape[:-1])}"
        )
    if tau.dtype is not A.dtype:
        raise RuntimeError(
            f"{op}: tau dtype {_scalar_name(tau)} does not match input dtype {_scalar_name(A)}"
        )
    _check_kernel("orgqr_cpu", A)


@autocasts(FLOAT32)
def _linalg_householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first ``n`` columns of ``H_1 H_2 ... H_k``, ``H_i = I - tau_i v_i v_i^T``, with
    ``v_i`` the ``i``-th column of ``A`` below the diagonal and 1 on it (LAPACK's
    ``orgqr``): with ``geqrf``'s output, the ``Q`` of ``A = QR``.

    Args:
        A (Tensor): ``(*, m, n)``, ``m >= n``; only its part below the diagonal is read.
        tau (Tensor): ``(*, k)``, ``k <= n``, the reflections' scales.

    Shape:
        ``(*, m, n)``.

    Example:
        >>> a, tau = ember.geqrf(A)
        >>> Q = ember.linalg.householder_product(a, tau)
    """
    _check_householder("torch.linalg.householder_product", A, tau)
    rows, columns = A.shape[-2], A.shape[-1]
    identity = Tensor._make(xp.eye(rows, columns, dtype=A._data.dtype, like=A._data))
    start = identity.expand(tuple(A.shape[:-2]) + (rows, columns))
    return _apply_reflections(A, tau, start, left=True, forward=False)


@autocasts(FLOAT32)
def orgqr(input: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """``torch.orgqr``: ``linalg.householder_product``."""
    return _linalg_householder_product(input, tau)


class Geqrf(Op):
    @staticmethod
    def forward(ctx, A):
        packed, tau = xp.linalg.qr(A, mode="raw")
        return xp.ascontiguousarray(xp.swapaxes(packed, -1, -2)), tau

    @staticmethod
    def backward(ctx, grad_a, grad_tau):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


@autocasts(FLOAT32)
def geqrf(input: Tensor, *, out=None):
    """LAPACK's ``geqrf``: ``(a, tau)`` with ``R`` on and above the diagonal of ``a`` and the
    Householder vectors below it, ``A = H_1 ... H_k R`` (``k = min(m, n)``). Not
    differentiable, as in PyTorch; ``linalg.qr`` is.

    Example:
        >>> a, tau = ember.geqrf(A)
        >>> Q = ember.linalg.householder_product(a, tau)  # the Q of A = QR
    """
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    _check_kernel("geqrf_cpu", input)
    return return_types.geqrf(*Geqrf.apply(input))


def _check_ormqr(A: Tensor, tau: Tensor, other: Tensor, left: bool) -> None:
    op = "torch.ormqr"
    if A.ndim < 2:
        raise RuntimeError(f"{op}: input must have at least 2 dimensions.")
    if other.ndim < 2:
        raise RuntimeError(f"{op}: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if other.shape[side] != A.shape[-2]:
        raise RuntimeError(f"{op}: other.shape[{side}] must be equal to input.shape[-2]")
    if tau.ndim == 0 or tau.shape[-1] != min(other.shape[side], A.shape[-1]):
        raise RuntimeError(
            f"{op}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])"
        )
    if tau.ndim != A.ndim - 1:
        raise RuntimeError(
            f"{op}: Expected tau to have one dimension less than input, but got tau.ndim equal "
            f"to {tau.ndim} and input.ndim is equal to {A.ndim}"
        )
    if other.ndim != A.ndim:
        raise RuntimeError(
            f"{op}: Expected other to have the same number of dimensions as input, but got "
            f"other.ndim equal to {other.ndim} and input.ndim is equal to {A.ndim}"
        )
    for name, tensor in (("tau", tau), ("other", other)):
        batch = tuple(tensor.shape[:-1] if tensor is tau else tensor.shape[:-2])
        if batch != tuple(A.shape[:-2]):
            raise RuntimeError(
                f"{op}: Expected batch dimensions of {name} to be equal to input.shape[:-2], "
                f"but got {list(batch)}"
            )
    for name, tensor in (("tau", tau), ("other", other)):
        if tensor.dtype is not A.dtype:
            raise RuntimeError(
                f"{op}: Expected input and {name} to have the same dtype, but input has dtype"
                f"{_scalar_name(A)} and {name} has dtype {_scalar_name(tensor)}"
            )
    _check_kernel("ormqr_cpu", A)


@autocasts(FLOAT32)
def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True,
          transpose: bool = False, *, out=None) -> Tensor:
    """``op(Q) C`` (``C op(Q)`` with ``left=False``), ``Q = H_1 ... H_k`` the product of
    ``geqrf``'s reflections (``input``, ``input2`` = tau) and ``op(Q)`` = ``Q^T`` when
    ``transpose``; ``C`` is ``input3``. Differentiable in all three.

    Example:
        >>> a, tau = ember.geqrf(A)
        >>> QtB = ember.ormqr(a, tau, B, transpose=True)  # Q^T B without forming Q
    """
    _check_ormqr(input, input2, input3, left)
    # Q C applies H_k first; Q^T C and C Q apply H_1 first; C Q^T applies H_k first.
    forward = left == transpose
    return _apply_reflections(input, input2, input3, left, forward)


# out= is honoured by wrapping the public bindings once, as ``ember.ops`` does for its families.
_out.install(globals(), __all__)
