"""``Parameter`` and ``Buffer``: tensors that a ``Module`` registers when they are assigned."""

from __future__ import annotations

from ember._tensor import Tensor, _init
from ember.ops.creation import empty


class Parameter(Tensor):
    """A tensor that is a module's learnable weight; it requires grad by default.

    Assigning a ``Parameter`` to a module attribute registers it, so it appears in
    ``module.parameters()`` and ``module.state_dict()``. It shares storage with ``data``.

    Example::

        >>> self.weight = nn.Parameter(ember.randn(3, 2))
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        parameter = object.__new__(cls)
        _init(parameter, data._data, False)
        parameter._version_counter = data._version_counter
        parameter.requires_grad = requires_grad
        return parameter

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(Tensor._make(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self.requires_grad))


def _rebuild_parameter(array, requires_grad):
    return Parameter(Tensor._make(array), requires_grad)


class Buffer(Tensor):
    """A tensor that a module registers as a buffer when assigned (``persistent`` or not)."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        buffer = object.__new__(cls)
        _init(buffer, data._data, data.requires_grad)
        buffer.persistent = persistent
        return buffer

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        pass
