"""Flatten parameters into one vector and back (for second-order methods, line searches)."""

from __future__ import annotations

from collections.abc import Iterable

from ember._tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """cat([p.view(-1) for p in parameters]): one 1-D tensor, differentiable.

    Example::

        >>> vector = nn.utils.parameters_to_vector(model.parameters())
    """
    from ember.ops.shape import cat

    return cat([parameter.reshape(-1) for parameter in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' data (each reshaped to fit)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for parameter in parameters:
        count = parameter.numel()
        parameter.data = vec[pointer : pointer + count].view_as(parameter).data
        pointer += count
