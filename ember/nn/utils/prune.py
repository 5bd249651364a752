"""``ember.nn.utils.prune``: zero out parts of a module's tensors, through a mask.

Pruning the tensor ``name`` of a module moves the parameter to ``<name>_orig``, registers
the mask as the buffer ``<name>_mask`` and makes ``<name>`` a plain attribute,
``<name>_orig * <name>_mask``, that a forward pre-hook (the pruning method itself)
recomputes before every call; the gradient therefore reaches ``<name>_orig`` only where
the mask is one. Pruning the same tensor again puts the methods in a ``PruningContainer``,
which applies the new one to what the old mask kept. ``remove`` makes the pruning
permanent: ``<name>`` becomes a parameter again, holding the pruned values.

Example::

    >>> layer = nn.Linear(3, 4)
    >>> prune.l1_unstructured(layer, "weight", amount=0.5)
    >>> sorted(layer.state_dict())
    ['bias', 'weight_mask', 'weight_orig']
    >>> int((layer.weight == 0).sum())
    6
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.utils.convert_parameters import parameters_to_vector
from ember.ops.creation import ones, ones_like, zeros
from ember.ops.random import rand, rand_like

__all__ = [
    "BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
    "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
    "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
    "random_structured", "random_unstructured", "remove",
]  # fmt: skip


class BasePruningMethod(ABC):
    """The base of the pruning methods: a subclass defines ``compute_mask`` (and sets
    ``PRUNING_TYPE``: ``"unstructured"``, ``"structured"`` with a ``dim``, or ``"global"``),
    and ``apply(module, name, ...)`` prunes a module's tensor with it.

    An applied method is the module's forward pre-hook: ``method(module, inputs)`` sets
    ``module.<name>`` to ``<name>_orig * <name>_mask``.
    """

    _tensor_name: str

    def __call__(self, module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t``: ``default_mask`` (the mask so far) with more entries zeroed."""

    def apply_mask(self, module) -> Tensor:
        """``<name>_orig * <name>_mask`` of ``module``: the pruned tensor."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune the tensor ``name`` of ``module`` with ``cls(*args, **kwargs)``, after any
        pruning it had already (see the module docstring); returns the method (a
        ``PruningContainer`` where there was one before).

        Args:
            module (Module): the module holding the tensor.
            name (str): the parameter's name.
            importance_scores (Tensor, optional): the values the mask is computed from, of the
                parameter's shape. Default: the parameter's (pruned) values.
        """
        method = cls(*args, **kwargs)
        method._tensor_name = name
        earlier = [(key, hook) for key, hook in module._forward_pre_hooks.items()
                   if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
        if len(earlier) > 1:
            raise AssertionError(
                f"Avoid adding multiple pruning hooks to the same tensor {name} of module "
                f"{module}. Use a PruningContainer.")
        current = getattr(module, name)
        if importance_scores is not None and importance_scores.shape != current.shape:
            raise AssertionError(
                f"importance_scores should have the same shape as parameter {name} of "
                f"{module}, got {importance_scores.shape} vs {current.shape}")
        if earlier:
            key, old = earlier[0]
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            method = container
            default_mask = getattr(module, name + "_mask").detach().clone()
        else:
            module.register_parameter(name + "_orig", current)
            del module._parameters[name]
            default_mask = ones_like(current)
        scores = current if importance_scores is None else importance_scores
        try:
            with no_grad():
                mask = method.compute_mask(scores.detach(), default_mask=default_mask)
        except Exception:
            if not earlier:  # put the parameter back as it was
                module.register_parameter(name, module._parameters.pop(name + "_orig"))
            elif container is old:  # the old container loses the method it just gained
                container._pruning_methods = container._pruning_methods[:-1]
            raise
        if earlier:  # the container (or the grown old one) takes the old method's place
            del module._forward_pre_hooks[key]
        module.register_buffer(name + "_mask", mask)
        setattr(module, name, method.apply_mask(module))
        module.register_forward_pre_hook(method)
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask this method computes for it (from ``importance_scores``,
        where given), without touching any module."""
        if importance_scores is not None and importance_scores.shape != t.shape:
            raise AssertionError("importance_scores should have the same shape as tensor t")
        scores = t if importance_scores is None else importance_scores
        default_mask = ones_like(t) if default_mask is None else default_mask
        with no_grad():
            mask = self.compute_mask(scores.detach(), default_mask=default_mask)
        return t * mask

    def remove(self, module) -> None:
        """Make the pruning of ``module`` permanent: ``<name>`` becomes a parameter holding
        ``<name>_orig * <name>_mask``, and the ``_orig`` parameter and ``_mask`` buffer go."""
        name = self._tensor_name
        pruned = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = pruned.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied, one after another, to one tensor.

    ``compute_mask`` applies the latest method to what the mask so far keeps: all the
    remaining entries for an unstructured method, the remaining channels along its ``dim``
    for a structured one, the whole tensor for a global one.

    Args:
        *args: a pruning method, an iterable of them, or several; all must prune the
            tensor of the same name.
    """

    def __init__(self, *args):
        self._pruning_methods: tuple = ()
        if len(args) == 1 and not isinstance(args[0], Iterable):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
            return
        methods = list(args[0]) if len(args) == 1 else list(args)
        if methods:
            self._tensor_name = methods[0]._tensor_name
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        """Append ``method``, which must prune the tensor this container prunes."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(
                "Can only add pruning methods acting on the parameter named "
                f"'{self._tensor_name}' to PruningContainer. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, index):
        return self._pruning_methods[index]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the latest method's mask written over the part it keeps."""
        method = self._pruning_methods[-1]
        mask = default_mask.to(dtype=t.dtype).clone()
        kind = method.PRUNING_TYPE
        if kind == "unstructured":
            part = default_mask == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(
                    'Pruning methods of PRUNING_TYPE "structured" need to have the attribute '
                    "`dim` defined.")
            dims = t.ndim
            dim = method.dim + dims if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {dims}")
            kept = default_mask.sum(dim=[d for d in range(dims) if d != dim]) != 0
            part = [slice(None)] * dims
            part[dim] = kept
            part = tuple(part)
        elif kind == "global":
            part = (slice(None),) * t.ndim
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        partial = method.compute_mask(t[part], default_mask=default_mask[part])
        mask[part] = partial.to(dtype=mask.dtype)
        return mask


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (to give a tensor the ``_orig``/``_mask`` form)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module, name: str):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen uniformly at random (from ember's generator).

    Args:
        amount (int or float): how many entries, or (a float in [0, 1]) which fraction of
            them, rounded to the nearest integer.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count(self.amount, t.numel())
        return _zero_entries(default_mask, rand_like(t), count)

    @classmethod
    def apply(cls, module, name: str, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value.

    Args:
        amount (int or float): how many entries, or (a float in [0, 1]) which fraction of
            them, rounded to the nearest integer.
    """

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _count(self.amount, t.numel())
        return _zero_entries(default_mask, -t.abs(), count)

    @classmethod
    def apply(cls, module, name: str, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen uniformly at random.

    Args:
        amount (int or float): how many channels, or which fraction of them.
        dim (int): the dim whose slices are the channels. Default: -1.
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1):
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        channels = _channels(t, self.dim)
        count = _count(self.amount, channels)
        if count == 0:
            return default_mask
        pruned = rand(channels, device=t.device).topk(count).indices
        return _keep_channels(t, default_mask, self.dim, pruned, False)

    @classmethod
    def apply(cls, module, name: str, amount, dim: int = -1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm.

    ``‖t[..., c, ...]‖_n`` over every dim but ``dim`` ranks the channels; the largest
    ``channels - amount`` of them are kept.

    Args:
        amount (int or float): how many channels, or which fraction of them.
        n (int, float, inf, -inf, 'fro', 'nuc'): the norm, as ``ember.norm``'s ``p``.
        dim (int): the dim whose slices are the channels. Default: -1.
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1):
        _check_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        channels = _channels(t, self.dim)
        count = _count(self.amount, channels)
        dim = self.dim % t.ndim
        norms = t.norm(p=self.n, dim=[d for d in range(t.ndim) if d != dim])
        kept = norms.topk(channels - count, largest=True).indices
        if count == 0:
            return default_mask
        return _keep_channels(t, default_mask, dim, kept, True)

    @classmethod
    def apply(cls, module, name: str, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given ``mask`` (of the tensor's shape) is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor):
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match "
                                 f"self.mask shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name: str, mask: Tensor):
        return super().apply(module, name, mask=mask)


# ---------------------------------------------------------------- the functions
def identity(module, name: str):
    """Give ``module.<name>`` the pruned form with a mask of ones; returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name: str, amount):
    """Zero ``amount`` random entries of ``module.<name>`` (see ``RandomUnstructured``);
    returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name: str, amount, importance_scores=None):
    """Zero the ``amount`` entries of ``module.<name>`` of smallest absolute value (of
    ``importance_scores``, where given; see ``L1Unstructured``); returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name: str, amount, dim: int):
    """Zero ``amount`` random channels of ``module.<name>`` along ``dim`` (see
    ``RandomStructured``); returns ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name: str, amount, n, dim: int, importance_scores=None):
    """Zero the ``amount`` channels of ``module.<name>`` along ``dim`` of smallest
    ``n``-norm (see ``LnStructured``); returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune several tensors as one: ``pruning_method(**kwargs)`` (an unstructured method,
    such as ``L1Unstructured`` with ``amount``) runs on all their entries together, and
    each tensor gets its part of the mask (through ``custom_from_mask``).

    Args:
        parameters (Iterable of (Module, str)): the tensors, as ``(module, name)`` pairs.
        pruning_method (type): a ``BasePruningMethod`` subclass of PRUNING_TYPE
            ``"unstructured"``.
        importance_scores (dict, optional): ``(module, name) -> tensor`` of the scores to
            rank a tensor's entries by. Default: the tensors' values.
        **kwargs: the method's arguments (``amount`` ...).
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    parameters = list(parameters)
    with no_grad():
        scores = parameters_to_vector([
            importance_scores.get((module, name), getattr(module, name)).detach()
            for module, name in parameters])
        default_mask = parameters_to_vector([
            getattr(module, name + "_mask") if hasattr(module, name + "_mask")
            else ones_like(getattr(module, name)) for module, name in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
            f"{pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer(method)
    with no_grad():
        mask = container.compute_mask(scores, default_mask)
    start = 0
    for module, name in parameters:
        tensor = getattr(module, name)
        count = tensor.numel()
        custom_from_mask(module, name, mask=mask[start:start + count].view_as(tensor))
        start += count


def custom_from_mask(module, name: str, mask: Tensor):
    """Zero ``module.<name>`` where ``mask`` is zero (see ``CustomFromMask``); returns
    ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent: it becomes a parameter again, holding
    the pruned values, and ``<name>_orig``, ``<name>_mask`` and the hook go; returns
    ``module``.

    Raises:
        ValueError: ``module.<name>`` is not pruned.
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(
        f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module) -> bool:
    """Whether ``module`` or one of its submodules has a tensor pruned."""
    return any(isinstance(hook, BasePruningMethod)
               for _, submodule in module.named_modules()
               for hook in submodule._forward_pre_hooks.values())


# ---------------------------------------------------------------- helpers
def _check_amount(amount) -> None:
    """``amount`` is a count (an int >= 0) or a fraction (a float in [0, 1])."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    integral = isinstance(amount, numbers.Integral)
    if (integral and amount < 0) or (not integral and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(
            f"amount={amount} should either be a float in the range [0, 1] or a non-negative "
            "integer")


def _count(amount, size: int) -> int:
    """How many of ``size`` entries or channels ``amount`` prunes (a count must fit)."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(
                f"amount={amount} should be smaller than the number of parameters to "
                f"prune={size}")
        return amount
    return round(amount * size)


def _channels(t: Tensor, dim: int) -> int:
    """The number of channels of ``t`` along ``dim``, which structured pruning needs."""
    if t.ndim <= 1:
        raise ValueError(
            "Structured pruning can only be applied to multidimensional tensors. Found tensor "
            f"of shape {t.shape} with {t.ndim} dims")
    if dim >= t.ndim:
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
    return t.shape[dim]


def _zero_entries(default_mask: Tensor, priority: Tensor, count: int) -> Tensor:
    """``default_mask`` with the ``count`` entries of highest ``priority`` zeroed."""
    mask = default_mask.reshape(-1).clone()
    if count != 0:
        mask[priority.reshape(-1).topk(count).indices] = 0
    return mask.view_as(default_mask)


def _keep_channels(t: Tensor, default_mask: Tensor, dim: int, channels: Tensor,
                   keep: bool) -> Tensor:
    """``default_mask`` (as ``t``'s dtype) zeroed along ``dim`` outside ``channels`` (with
    ``keep``) or on them (without)."""
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    chosen = (zeros if keep else ones)(t.shape[dim], dtype=t.dtype, device=t.device)
    chosen[channels] = 1.0 if keep else 0.0
    return chosen.view(shape) * default_mask.to(dtype=t.dtype)
