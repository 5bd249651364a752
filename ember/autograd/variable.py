"""``Variable``: PyTorch's pre-0.4 wrapper, kept so old scripts run.

Variables and tensors were merged long ago: ``Variable(t)`` returns a tensor sharing
``t``'s storage, outside the graph, and every tensor is an instance of ``Variable``.
"""

from __future__ import annotations

import operator
import warnings

from ember._tensor import Tensor

__all__ = ["Variable", "VariableMeta"]

_VOLATILE_REMOVED = (
    "volatile was removed and now has no effect. Use `with torch.no_grad():` instead."
)


class VariableMeta(type):
    """Makes ``isinstance(tensor, Variable)`` true for every tensor, as in PyTorch."""

    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """``Variable(data=None, requires_grad=False, volatile=False, _grad_fn=None, name=None)``.

    Returns ``data`` detached (same storage, no ``grad_fn``) with ``requires_grad`` set;
    ``Variable()`` is an empty float tensor. ``volatile=True`` only warns, as in PyTorch.

    Example::

        >>> w = Variable(ember.zeros(3), requires_grad=True)
        >>> w.is_leaf, w.requires_grad
        (True, True)
    """

    def __new__(cls, data=None, requires_grad=False, volatile=False, _grad_fn=None,
                name=None) -> Tensor:
        requires_grad = bool(operator.index(requires_grad))
        if operator.index(volatile):
            warnings.warn(_VOLATILE_REMOVED, UserWarning, stacklevel=2)
        if data is None:
            from ember.ops.creation import empty

            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        result = data.detach()
        if requires_grad:
            result.requires_grad_(True)
        if name is not None:
            result.name = name
        return result
