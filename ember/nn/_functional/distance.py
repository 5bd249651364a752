"""Distances and similarities: ``normalize``, ``cosine_similarity``, ``pairwise_distance``
and ``pdist``, composed from ember ops as PyTorch composes them (so they differentiate
twice; at a zero distance the gradient is zero, as PyTorch's).
"""

from __future__ import annotations

from ember._dtype import int64, result_type
from ember._tensor import Tensor
from ember.ops._function import _legacy, wrap_dim
from ember.ops.creation import tensor
from ember.ops.shape import broadcast_tensors

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``.

    Example::

        >>> F.normalize(ember.tensor([[3., 4.]]))
        tensor([[0.6000, 0.8000]])
    """
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{_legacy(input.dtype)}"
        )
    denominator = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denominator
    if out is not None:
        return out.copy_(result)
    return result


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ x1 x2 / (max(‖x1‖₂, eps) · max(‖x2‖₂, eps)) along ``dim``, after broadcasting.

    Each input is divided by its norm before the product, which keeps the result in [-1, 1].
    As in PyTorch, the clamp at ``eps`` changes the value but not the gradient path.
    """
    common = result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError(
            f"expected common dtype to be floating point, yet common dtype is {_legacy(common)}"
        )
    x1 = x1 if x1.dtype.is_floating_point else x1.to(common)
    x2 = x2 if x2.dtype.is_floating_point else x2.to(common)
    x1, x2 = broadcast_tensors(x1, x2)
    dim = wrap_dim(dim, x1.ndim, "cosine_similarity")

    def unit(x):
        norm = x.norm(2, dim, keepdim=True)
        clamped = norm + (norm.detach().clamp_min(eps) - norm.detach())
        return x / clamped

    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 - x2 + eps‖_p over the last dim of the broadcast inputs."""
    rank = max(x1.ndim, x2.ndim)
    difference = x1 - x2 + eps
    if rank == 0:
        return difference.norm(p)
    return difference.norm(p, rank - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """‖x_i - x_j‖_p for every pair of rows i < j, in row-major order.

    Shape:
        input (N, M) → (N (N - 1) / 2,).
    """
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"pdist only supports floating-point dtypes, got: {_legacy(input.dtype)}"
        )
    rows = input.shape[0]
    first = [i for i in range(rows) for _ in range(i + 1, rows)]
    second = [j for i in range(rows) for j in range(i + 1, rows)]
    device = input.device
    difference = (input.index_select(0, tensor(first, dtype=int64, device=device))
                  - input.index_select(0, tensor(second, dtype=int64, device=device)))
    return difference.norm(p, 1)
