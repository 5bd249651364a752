"""An embedding's gradient, NumPy's ``add.at`` of rows, in one loop."""

from __future__ import annotations

from ember._backend import ndarray, xp
from ember._compile.kernels._common import FLOAT32, Fused, contiguous_float32
from ember.nn._functional.sparse import Embedding
from ember.ops._array_math import ArrayMath


def _embedding_binds(step, role):
    if role == "backward" and step.kind == "op" and step.op is Embedding and \
            _plain_lookup(*step.args):
        return _embedding_backward
    return None


def _plain_lookup(weight, indices, padding_idx, scale_grad_by_freq) -> bool:
    """Whether an embedding's gradient is a plain scatter-add of float32 rows."""
    return (weight.dtype == FLOAT32 and len(weight.shape) == 2 and padding_idx is None
            and not scale_grad_by_freq)


def _embedding_backward(kernel):
    """``Embedding.gradients`` on arrays through the fused scatter-add."""

    def backward(ctx, grad):
        indices = ctx.indices  # padding_idx and scale_grad_by_freq: checked when bound
        if not (contiguous_float32(grad) and type(indices) is ndarray
                and indices.dtype.kind == "i"):
            return Embedding.gradients(ArrayMath, ctx, grad)
        flat = indices.reshape(-1).astype(xp.int64, copy=False)
        width = grad.shape[-1]
        grad_weight = xp.zeros((ctx.rows, width), xp.float32)
        if not kernel(grad.reshape(flat.size, width), flat, grad_weight):
            return Embedding.gradients(ArrayMath, ctx, grad)  # an index out of range
        return grad_weight, None, None, None

    return backward


def _embedding_kernel(numba):
    """NumPy's ``add.at`` of rows: each row of ``grad`` added to its index's row of ``out``
    in index order, so repeated indices sum as they do there. False, with nothing written,
    when an index is out of range."""

    @numba.njit("boolean(float32[:, ::1], int64[::1], float32[:, ::1])", nogil=True)
    def embedding_backward(grad, indices, out):
        rows = out.shape[0]
        for i in range(indices.shape[0]):
            if indices[i] < -rows or indices[i] >= rows:
                return False
        for i in range(indices.shape[0]):
            row = indices[i] if indices[i] >= 0 else indices[i] + rows
            for j in range(grad.shape[1]):
                out[row, j] += grad[i, j]
        return True

    return embedding_backward


EMBEDDING = Fused("embedding", _embedding_kernel, _embedding_binds)
