"""``nn.utils.parametrize``: a tensor of a module computed from other tensors on each access.

``register_parametrization(module, "weight", P)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (the same ``Parameter`` object, so an optimizer
made before still trains it) and gives the module a class of its own, a subclass named
``Parametrized<Class>`` whose ``weight`` property returns ``P(original)``. When ``P`` has a
``right_inverse``, the originals are ``right_inverse(weight)`` (one tensor, or
``original0``, ``original1`` … for a sequence), and assigning ``module.weight = value``
stores ``right_inverse(value)`` in them. Several parametrizations on one tensor chain:
``weight = P2(P1(original))``.

``state_dict()`` keys are PyTorch's (``parametrizations.weight.original``), since the
originals are ordinary parameters (or buffers) of a ``ParametrizationList`` submodule.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from contextlib import contextmanager

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.container import ModuleDict, ModuleList
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "transfer_parametrizations_and_params",
    "type_before_parametrizations",
]  # fmt: skip


class _CacheState(threading.local):
    """How many ``cached()`` blocks this thread is inside, and the tensors they computed.

    A ``with`` block's state belongs to the thread (PyTorch keeps it in module globals)."""

    def __init__(self):
        self.depth = 0
        self.tensors = {}


_cache = _CacheState()


@contextmanager
def cached():
    """Compute each parametrized tensor once inside the block, not on every access.

    Useful when a parametrized weight is read many times in one forward (a recurrent layer)
    or is expensive (``orthogonal``). The cache is emptied when the outermost block exits.

    Example::

        >>> with parametrize.cached():
        ...     output = model(inputs)
    """
    _cache.depth += 1
    try:
        yield
    finally:
        _cache.depth -= 1
        if not _cache.depth:
            _cache.tensors = {}


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_storage(original: Tensor, value: Tensor) -> None:
    """``original`` takes ``value``'s storage, shape and dtype in place (PyTorch's ``set_``),
    so whoever holds ``original`` (an optimizer) sees the new value."""
    original.data = value


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor of a module, and the tensors they start from.

    ``forward()`` computes the parametrized tensor: the first parametrization is applied to
    ``original`` (or to ``original0``, ``original1`` … when the ``right_inverse`` chain gave a
    sequence), each next one to the result of the one before. Built by
    ``register_parametrization``; not meant to be made by hand.

    Args:
        modules (sequence of Module): the parametrizations, applied in order.
        original (Parameter or Tensor): the tensor being parametrized. When the
            parametrizations' ``right_inverse`` give one tensor, ``original`` takes its value
            in place and is registered as ``original``.
        unsafe (bool): skip the checks that the parametrized tensor keeps the dtype and shape.
    """

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = original.shape, original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(
                "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                f"Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if original.dtype != new.dtype:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the dtype.\n"
                    f"original.dtype: {original.dtype}\n"
                    f"right_inverse(original).dtype: {new.dtype}"
                )
            if original.device != new.device:
                raise ValueError(
                    "When `right_inverse` outputs one tensor, it may not change the device.\n"
                    f"original.device: {original.device}\n"
                    f"right_inverse(original).device: {new.device}"
                )
            with no_grad():
                _set_storage(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for index, original_i in enumerate(new):
                if not isinstance(original_i, Tensor):
                    raise ValueError(
                        "'right_inverse' must return a Tensor or a Sequence of tensors "
                        f"(list, tuple...). Got element {index} of the sequence with type "
                        f"{type(original_i).__name__}."
                    )
                if isinstance(original, Parameter):
                    original_i = Parameter(original_i, original.requires_grad)
                original_i.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{index}", original_i)
        if not self.unsafe:
            # The parametrized tensor must be able to stand where the original stood.
            value = self()
            if not isinstance(value, Tensor):
                raise ValueError(
                    f"A parametrization must return a tensor. Got {type(value).__name__}."
                )
            if value.dtype != original_dtype:
                raise ValueError(
                    "Registering a parametrization may not change the dtype of the tensor, "
                    "unless `unsafe` flag is enabled.\n"
                    f"unparametrized dtype: {original_dtype}\n"
                    f"parametrized dtype: {value.dtype}"
                )
            if value.shape != original_shape:
                raise ValueError(
                    "Registering a parametrization may not change the shape of the tensor, "
                    "unless `unsafe` flag is enabled.\n"
                    f"unparametrized shape: {original_shape}\n"
                    f"parametrized shape: {value.shape}"
                )

    def right_inverse(self, value: Tensor) -> None:
        """Store in the originals the tensors whose parametrization is ``value``: each
        parametrization's ``right_inverse``, last one first, written into the originals in
        place (no graph is recorded).

        Args:
            value (Tensor): what the parametrized tensor should be.
        """
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(module).__name__} does not implement "
                        "right_inverse."
                    )
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(
                        f"`right_inverse` should return a tensor. Got {type(value).__name__}"
                    )
                if value.dtype != self.original.dtype:
                    raise ValueError(
                        f"The tensor returned by `right_inverse` has dtype {value.dtype} "
                        f"while `original` has dtype {self.original.dtype}"
                    )
                _set_storage(self.original, value)
                return
            if not isinstance(value, Sequence):
                raise ValueError(
                    "'right_inverse' must return a sequence of tensors. "
                    f"Got {type(value).__name__}."
                )
            if len(value) != self.ntensors:
                raise ValueError(
                    "'right_inverse' must return a sequence of tensors of length "
                    f"{self.ntensors}. Got a sequence of length {len(value)}."
                )
            for index, tensor in enumerate(value):
                original_i = getattr(self, f"original{index}")
                if not isinstance(tensor, Tensor):
                    raise ValueError(
                        f"`right_inverse` must return a sequence of tensors. "
                        f"Got element {index} of type {type(tensor).__name__}"
                    )
                if original_i.dtype != tensor.dtype:
                    raise ValueError(
                        f"Tensor {index} returned by `right_inverse` has dtype {tensor.dtype} "
                        f"while `original{index}` has dtype {original_i.dtype}"
                    )
                _set_storage(original_i, tensor)

    def forward(self) -> Tensor:
        if self.is_tensor:
            value = self[0](self.original)
        else:
            value = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for index in range(1, len(self)):
            value = self[index](value)
        return value


# ---------------------------------------------------------------- the module's own class
def _default_deepcopy(self, memo):
    # The parametrized class forbids pickling, on which ``copy.deepcopy`` would otherwise fall
    # back; a copy is its ``__dict__`` copied deeply (the class, and its properties, are shared).
    replica = memo.get(id(self))
    if replica is not None:
        return replica
    replica = self.__new__(self.__class__)
    memo[id(self)] = replica
    object.__setattr__(replica, "__dict__", copy.deepcopy(self.__dict__, memo))
    return replica


def _refuse_pickling(self):
    raise RuntimeError(
        "Serialization of parametrized modules is only supported through state_dict(). See:\n"
        "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
        "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training"
    )


def _inject_new_class(module: Module) -> None:
    """Give ``module`` a class of its own, ``Parametrized<Class>``, to hold its properties."""
    cls = module.__class__
    namespace = {"__getstate__": _refuse_pickling}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _default_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Make ``module.<tensor_name>`` the parametrized tensor: reading it runs the
    parametrizations (once per ``cached()`` block), assigning it runs ``right_inverse``."""

    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if not _cache.depth:
            return parametrization()
        key = (id(self), tensor_name)
        tensor = _cache.tensors.get(key)
        if tensor is None:
            tensor = parametrization()
            _cache.tensors[key] = tensor
        return tensor

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


# ---------------------------------------------------------------- the public functions
def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` be ``parametrization`` applied to stored originals.

    The first registration on a tensor moves it to
    ``module.parametrizations[tensor_name].original`` (the same ``Parameter`` object, holding
    ``parametrization.right_inverse(tensor)`` when that is defined) — or to ``original0``,
    ``original1`` … when ``right_inverse`` returns a sequence, which ``forward`` then takes as
    its arguments. A later registration on the same tensor chains after the earlier ones:
    ``tensor = P2(P1(original))``. Reading ``module.<tensor_name>`` computes
    ``parametrization(original)``; assigning it stores ``right_inverse(value)``.

    Args:
        module (Module): the module whose tensor is parametrized.
        tensor_name (str): the name of a parameter, a buffer, or an already parametrized
            tensor of ``module``.
        parametrization (Module): ``forward`` maps the originals to the tensor; an optional
            ``right_inverse`` maps a tensor to originals that give it back.
        unsafe (bool): allow the parametrization to change the tensor's dtype or shape (it is
            then not checked). Default: ``False``.

    Returns:
        Module: ``module``, whose class is now ``Parametrized<Class>``.

    Raises:
        ValueError: ``module`` has no parameter, buffer or parametrized tensor named
            ``tensor_name``, or (without ``unsafe``) the parametrization changes the tensor's
            dtype or shape, or ``right_inverse`` gives the wrong dtype or shape.

    Example::

        >>> class Symmetric(nn.Module):
        ...     def forward(self, X):
        ...         return X.triu() + X.triu(1).mT
        >>> layer = nn.Linear(3, 3)
        >>> parametrize.register_parametrization(layer, "weight", Symmetric())
        >>> ember.equal(layer.weight, layer.weight.T)
        True
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            value = parametrization(current)
            _check_chained(tensor_name, current, value)
            if hasattr(parametrization, "right_inverse"):
                inverse = parametrization.right_inverse(value)
                _check_chained_inverse(tensor_name, current, inverse)
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        module.parametrizations[tensor_name] = parametrizations
        _inject_property(module, tensor_name)
    else:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
            f"with name '{tensor_name}'"
        )
    return module


def _check_chained(tensor_name: str, current: Tensor, value) -> None:
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(value).__name__}.")
    if value.dtype != current.dtype:
        raise ValueError(
            "Registering a parametrization may not change the dtype of the tensor, unless "
            "the `unsafe` flag is enabled.\n"
            f"module.{tensor_name}.dtype: {current.dtype}\n"
            f"parametrization(module.{tensor_name}).dtype: {value.dtype}"
        )
    if value.shape != current.shape:
        raise ValueError(
            "Registering a parametrization may not change the shape of the tensor, unless "
            "the `unsafe` flag is enabled.\n"
            f"module.{tensor_name}.shape: {current.shape}\n"
            f"parametrization(module.{tensor_name}).shape: {value.shape}"
        )


def _check_chained_inverse(tensor_name: str, current: Tensor, inverse) -> None:
    if not isinstance(inverse, Tensor):
        raise ValueError(
            f"parametrization.right_inverse must return a tensor. Got: {type(inverse).__name__}"
        )
    if inverse.dtype != current.dtype:
        raise ValueError(
            "The tensor returned by parametrization.right_inverse must have the same dtype "
            f"as module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
            f"module.{tensor_name}.dtype: {current.dtype}\n"
            f"returned dtype: {inverse.dtype}"
        )
    if inverse.shape != current.shape:
        raise ValueError(
            "The tensor returned by parametrization.right_inverse must have the same shape "
            f"as module.{tensor_name}, unless the `unsafe` flag is enabled.\n"
            f"module.{tensor_name}.shape: {current.shape}\n"
            f"returned shape: {inverse.shape}"
        )


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization on ``tensor_name`` (on any tensor when
    ``tensor_name`` is ``None``).

    Args:
        module (Module): the module to ask.
        tensor_name (str, optional): the tensor to ask about.

    Returns:
        bool: ``True`` when a parametrization is registered there.
    """
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Remove the parametrizations on ``module.<tensor_name>``, leaving a plain tensor.

    With ``leave_parametrized=True`` the tensor keeps its current parametrized value (written
    into the original ``Parameter`` object, or a new ``Parameter`` when there were several
    originals); with ``False`` it goes back to ``original``. When no parametrization is left
    the module gets its own class back.

    Args:
        module (Module): the parametrized module.
        tensor_name (str): the tensor whose parametrizations are removed.
        leave_parametrized (bool): keep the parametrized value. Default: ``True``.

    Returns:
        Module: ``module``.

    Raises:
        ValueError: ``tensor_name`` is not parametrized, or ``leave_parametrized=False`` for a
            tensor parametrized by a sequence of originals.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
                _set_storage(original, value)
    elif leave_parametrized:
        # Not under no_grad: whether the originals required grad decides the kind of tensor.
        value = getattr(module, tensor_name)
        if value.requires_grad:
            original = Parameter(value.detach(), value.requires_grad)
        else:
            original = value.detach()
    else:
        raise ValueError(
            "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
            "parametrized in terms of a sequence of tensors."
        )
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The class of ``module`` as it was before any parametrization (``Linear`` for a
    ``ParametrizedLinear``)."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Register ``from_module``'s parametrizations on ``to_module`` too, sharing the originals.

    A tensor that ``to_module`` lacks is first created there as a ``Parameter`` with
    ``from_module``'s parametrized value. Then each parametrization object of
    ``from_module`` is registered on ``to_module`` and ``to_module``'s originals are made
    the very ``Parameter`` objects of ``from_module``.

    Args:
        from_module (Module): the parametrized module.
        to_module (Module): the module that receives the parametrizations.
        tensor_name (str, optional): transfer only this tensor's. Default: all of them.

    Returns:
        Module: ``to_module``.
    """
    if not is_parametrized(from_module):
        return to_module
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name)))
        source = from_module.parametrizations[name]
        for parametrization in source:
            register_parametrization(to_module, name, parametrization)
        target = to_module.parametrizations[name]
        if hasattr(source, "original"):
            target.original = source.original
        else:
            index = 0
            while hasattr(source, f"original{index}"):
                setattr(target, f"original{index}", getattr(source, f"original{index}"))
                index += 1
    return to_module
