"""What the elementwise modules share: operands, PyTorch's promotion, and refusals.

``_promoted`` checks that the operands broadcast (PyTorch's RuntimeError) and promotes them
as PyTorch does, a Python scalar never upcasting a tensor; ``float_math`` turns integer and
bool operands into the default float dtype. The rest are the "not implemented for" error of
a kernel that refuses a dtype, the backward of an op that PyTorch does not differentiate,
and the zero gradient of a piecewise-constant op.
"""

from __future__ import annotations

from ember._backend import ndarray
from ember._tensor import Tensor
from ember.ops._function import (
    _legacy,
    as_tensor_operand,
    broadcast_shape,
    dtype_of,
    float_input,
    promote,
)
from ember.ops.creation import zeros_like

_operand = as_tensor_operand


def _promoted(op: str, *values, float_math: bool = False) -> list:
    """Check that the arrays broadcast, then promote; ``float_math`` makes ints float."""
    if len(values) == 2:
        a, b = values
        if (
            type(a) is ndarray
            and type(b) is ndarray
            and a.dtype is b.dtype
            and a.shape == b.shape
            and (a.dtype.kind == "f" or not float_math)
        ):
            return values  # the common case: nothing to broadcast, promote or convert
    broadcast_shape(op, *(value.shape for value in values if type(value) is ndarray))
    if not float_math:
        return promote(*values)
    # a Python int keeps its value in float math: it never wraps to an integer tensor's dtype
    values = [float(value) if type(value) is int else value for value in values]
    return [float_input(value) for value in promote(*values)]


def _unsupported(kernel: str, array) -> NotImplementedError:
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(dtype_of(array))}'")


def _zeros(grad: Tensor) -> Tensor:
    return zeros_like(grad)


def _not_implemented_backward(name: str):
    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{name}' is not implemented.")

    return staticmethod(backward)
