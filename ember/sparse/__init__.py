"""``ember.sparse``: operations on sparse COO tensors (``torch.sparse``).

The tensors themselves, and how they meet autograd, are described in ``ember/ops/sparse.py``.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.ops import _sparse_math as _sparse
from ember.ops.matmul import mm as dense_mm
from ember.ops.sparse import SparseTensor

__all__ = ["addmm", "log_softmax", "mm", "softmax", "sum"]


def _sparse_input(op: str, input) -> SparseTensor:
    if not isinstance(input, SparseTensor):
        raise RuntimeError(  # noqa: TRY004  (PyTorch's class)
            f"torch.sparse.{op}: expected a sparse COO tensor as input, got a dense tensor "
            f"of size {list(input.shape)}"
            if isinstance(input, Tensor) else
            f"torch.sparse.{op}: expected a sparse COO tensor, got {type(input).__name__}"
        )
    return input._coo() if input.is_sparse_csr else input


def mm(mat1, mat2) -> Tensor:
    """The product of a sparse ``(n, m)`` matrix and a dense ``(m, p)`` one: ``(n, p)``, dense.

    Both operands get gradients; that of a sparse leaf is sparse, on its coalesced entries.

    Example::

        >>> adjacency = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1., 1.], (2, 2))
        >>> ember.sparse.mm(adjacency, ember.tensor([[1.], [2.]]))
        tensor([[2.],
                [1.]])
    """
    if isinstance(mat1, SparseTensor):
        return _sparse.mm(_sparse_input("mm", mat1), mat2)
    return dense_mm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with ``mat1`` sparse and ``mat`` dense."""
    product = mm(_sparse_input("addmm", mat1), mat2)
    return mat * beta + product * alpha


def sum(input, dim=None, dtype=None):
    """The sum of a sparse tensor's entries: a dense scalar, or over ``dim`` (int or tuple).

    Summing over some of the sparse dims gives a sparse tensor, coalesced; summing over all
    of them gives a dense one.
    """
    return _sparse.reduce_sum(_sparse_input("sum", input), dim, dtype)


def softmax(input, dim: int, *, dtype=None) -> SparseTensor:
    """Softmax along ``dim`` over the specified entries only: an unspecified entry counts as
    ``-inf`` (not as zero), so the result has the input's (coalesced) pattern."""
    return _sparse.softmax(_sparse_input("softmax", input), dim, dtype)


def log_softmax(input, dim: int, *, dtype=None) -> SparseTensor:
    """``log(softmax(input, dim))`` over the specified entries, computed stably."""
    return _sparse.softmax(_sparse_input("log_softmax", input), dim, dtype, log=True)
