"""What the elementwise modules share: operands, PyTorch's promotion, and refusals.

``_promoted`` checks that the operands broadcast (PyTorch's RuntimeError) and promotes them
as PyTorch does, a Python scalar never upcasting a tensor; ``float_math`` turns integer and
bool operands into the default float dtype. The rest are the "not implemented for" error of
a kernel that refuses a dtype, the backward of an op that PyTorch does not differentiate,
the zero gradient of a piecewise-constant op, and the factories of the public functions
that only apply their op (``exp(input, *, out=None)`` is ``Exp.apply(input)``).
"""

from __future__ import annotations

from ember._backend import array_types
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
_NUMBERS = (float, int)  # not bool: ``x * True`` promotes as a bool


def _promoted(op: str, *values, float_math: bool = False) -> list:
    """Check that the arrays broadcast, then promote; ``float_math`` makes ints float."""
    if len(values) == 2:
        a, b = values
        if (
            type(a) in array_types
            and type(b) in array_types
            and a.dtype is b.dtype
            and a.shape == b.shape
            and (a.dtype.kind == "f" or not float_math)
        ):
            return values  # the common case: nothing to broadcast, promote or convert
        # a float tensor and a Python number (``x * 2.0``): the number takes the tensor's
        # dtype as below, and a scalar broadcasts
        if type(a) in array_types and type(b) in _NUMBERS and a.dtype.kind == "f":
            return [a, _number_as(b, a.dtype, float_math)]
        if type(b) in array_types and type(a) in _NUMBERS and b.dtype.kind == "f":
            return [_number_as(a, b.dtype, float_math), b]
    broadcast_shape(op, *(value.shape for value in values if type(value) in array_types))
    if not float_math:
        return promote(*values)
    # a Python int keeps its value in float math: it never wraps to an integer tensor's dtype
    values = [float(value) if type(value) is int else value for value in values]
    return [float_input(value) for value in promote(*values)]


def _number_as(number, dtype, float_math: bool = False):
    """A Python number beside a float tensor of ``dtype``, as ``promote`` makes it: a
    scalar of that dtype (float math first makes an int a float, keeping its value)."""
    return dtype.type(float(number) if float_math else number)


def _unsupported(kernel: str, array) -> NotImplementedError:
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_legacy(dtype_of(array))}'")


def _zeros(grad: Tensor) -> Tensor:
    return zeros_like(grad)


def _not_implemented_backward(name: str):
    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{name}' is not implemented.")

    return staticmethod(backward)


def _unary_function(name: str, op, doc: str):
    """The public ``name(input, *, out=None)``, ``op`` applied to ``input``.

    ``out`` is served where ``ember.ops`` binds the function (``ember/ops/_out.py``).
    """

    def function(input: Tensor, *, out=None) -> Tensor:
        return op.apply(input)

    return _named(function, name, op, doc)


def _binary_function(name: str, op, doc: str, *, scalars: bool = False):
    """The public ``name(input, other, *, out=None)``, ``op`` applied to both.

    With ``scalars``, either operand may be a Python number, as in PyTorch's function.
    """
    if scalars:
        def function(input, other, *, out=None) -> Tensor:
            return op.apply(_operand(input, name), _operand(other, name))
    else:
        def function(input: Tensor, other: Tensor, *, out=None) -> Tensor:
            return op.apply(input, other)

    return _named(function, name, op, doc)


def _named(function, name: str, op, doc: str):
    """``function`` under its public name, documented, in the module that defines ``op``."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    function.__module__ = op.__module__
    return function
