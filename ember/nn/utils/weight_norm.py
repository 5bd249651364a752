"""Weight normalization by a forward pre-hook: the legacy ``nn.utils.weight_norm``.

``w = g · v / ‖v‖``, with the norm taken over every dim but ``dim``. The module's weight is
replaced by two parameters, ``<name>_g`` and ``<name>_v``, and a forward pre-hook writes the
recomputed weight back as a plain attribute before each call. PyTorch deprecates this form
in favour of ``nn.utils.parametrizations.weight_norm``, and so does ember, with the same
``FutureWarning``. ``_norm_except_dim`` and ``_weight_norm`` are shared with that form.
"""

from __future__ import annotations

import warnings

from ember._tensor import Tensor
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter

__all__ = ["WeightNorm", "remove_weight_norm", "weight_norm"]


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of ``v`` over every dim but ``dim``, shaped to broadcast against ``v`` (size
    1 in every other dim). ``dim=-1`` means the norm of the whole tensor, a 0-d tensor, as in
    PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return v.norm()
    if dim < 0:
        dim += v.ndim
    rows = v.movedim(dim, 0).reshape(v.shape[dim], -1).norm(2, 1)
    shape = [1] * v.ndim
    shape[dim] = v.shape[dim]
    return rows.reshape(shape)


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``v · g / ‖v‖`` with ``_norm_except_dim`` (PyTorch's ``_weight_norm``)."""
    return v * (g / _norm_except_dim(v, dim))


class WeightNorm:
    """The forward pre-hook of ``weight_norm``: recomputes ``<name>`` from ``<name>_g`` and
    ``<name>_v`` before each call."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int) -> WeightNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two weight_norm hooks on the same parameter {name}"
                )
        if dim is None:
            dim = -1
        hook = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, hook.compute_weight(module))
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g · v / ‖v‖`` (deprecated; use
    ``nn.utils.parametrizations.weight_norm``).

    ``w = g · v / ‖v‖``, the norm over every dim but ``dim`` (over the whole tensor when
    ``dim`` is ``None``). The parameter is replaced by ``<name>_g`` (the norms, size 1 in every
    dim but ``dim``) and ``<name>_v`` (the direction, ``w``'s shape), and a forward pre-hook
    recomputes ``module.<name>`` from them before each call.

    Args:
        module (Module): the module holding the weight.
        name (str): the parameter to normalize. Default: ``"weight"``.
        dim (int, optional): the dim whose slices get a norm each; ``None`` for one norm.
            Default: ``0``.

    Returns:
        Module: ``module``, with the hook registered.

    Example::

        >>> m = nn.utils.weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.weight_g.size()
        ember.Size([40, 1])
        >>> m.weight_v.size()
        ember.Size([40, 20])
    """
    warnings.warn(
        "`torch.nn.utils.weight_norm` is deprecated in favor of "
        "`torch.nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``module.<name>`` becomes a plain ``Parameter`` again, holding
    the current normalized weight.

    Args:
        module (Module): the module holding the weight.
        name (str): the normalized parameter. Default: ``"weight"``.

    Returns:
        Module: ``module``.

    Raises:
        ValueError: ``module.<name>`` has no weight norm.
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
