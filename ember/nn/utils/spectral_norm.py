"""Spectral normalization by a forward pre-hook: the legacy ``nn.utils.spectral_norm``.

``w = w_orig / σ(w_orig)``, with σ the largest singular value of the weight seen as a matrix
(``dim`` first, the other dims flattened), estimated by power iteration. The module keeps
``<name>_orig`` as its parameter and the singular vectors ``<name>_u``, ``<name>_v`` as
buffers; a forward pre-hook writes the normalized weight as a plain attribute before each
call, running ``n_power_iterations`` steps first in training mode.

As PyTorch's, it also registers a state-dict hook that writes its format's version into the
state dict's metadata (``_metadata[path]["spectral_norm"]["<name>.version"] = 1``) and a
load pre-hook that converts a checkpoint of version 0 (``<name>``, ``<name>_orig`` and
``<name>_u``, without ``<name>_v``) by solving for the ``v`` that gives its ``σ``.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn._functional.distance import normalize
from ember.nn.modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ember.nn.modules.module import Module
from ember.nn.parameter import Parameter
from ember.ops.linalg import pinverse
from ember.ops.matmul import dot, mv

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]


class SpectralNorm:
    """The forward pre-hook of ``spectral_norm``: recomputes ``<name>`` from
    ``<name>_orig``, ``<name>_u`` and ``<name>_v`` before each call."""

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        matrix = weight
        if self.dim != 0:
            others = [d for d in range(matrix.dim()) if d != self.dim]
            matrix = matrix.permute(self.dim, *others)
        return matrix.reshape(matrix.size(0), -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        matrix = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    # In place: the buffers carry the estimate from one call to the next.
                    v = normalize(mv(matrix.t(), u), dim=0, eps=self.eps, out=v)
                    u = normalize(mv(matrix, v), dim=0, eps=self.eps, out=u)
                # Copies, so that the next call's in-place update leaves this graph alone.
                u = u.clone()
                v = v.clone()
        sigma = dot(u, mv(matrix, v))
        return weight / sigma

    def _solve_v_and_rescale(self, matrix: Tensor, u: Tensor, target_sigma: Tensor) -> Tensor:
        """A ``v`` with ``u = normalize(W v)`` and ``uᵀ W v = target_sigma``: the least-squares
        solution of ``W v = u`` (through ``pinverse``, for a ``W`` of deficient rank),
        rescaled."""
        v = mv(pinverse(matrix.t().mm(matrix)), mv(matrix.t(), u))
        return v.mul_(target_sigma / dot(u, mv(matrix, v)))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> SpectralNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(
                    f"Cannot register two spectral_norm hooks on the same parameter {name}"
                )
        hook = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            matrix = hook.reshape_weight_to_matrix(weight)
            height, width = matrix.size()
            u = normalize(weight.new_empty(height).normal_(0, 1), dim=0, eps=hook.eps)
            v = normalize(weight.new_empty(width).normal_(0, 1), dim=0, eps=hook.eps)
        delattr(module, hook.name)
        module.register_parameter(hook.name + "_orig", weight)
        # Code that reads ``module.weight`` (an initializer) still finds it, as a plain
        # attribute: a Parameter assigned here would be registered as one.
        setattr(module, hook.name, weight.data)
        module.register_buffer(hook.name + "_u", u)
        module.register_buffer(hook.name + "_v", v)
        module.register_forward_pre_hook(hook)
        module._register_state_dict_hook(SpectralNormStateDictHook(hook))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(hook))
        return hook


class SpectralNormLoadStateDictPreHook:
    """The load pre-hook of ``spectral_norm``: converts a checkpoint saved before version 1.

    Such a checkpoint holds ``<name>_orig``, ``<name>_u`` and the normalized ``<name>`` but
    no ``<name>_v``. With ``σ`` the mean of ``<name>_orig / <name>``, it finds the ``v``
    for which ``u = normalize(W v)`` and ``uᵀ W v = σ``, and replaces ``<name>`` by it.
    """

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys,
                 unexpected_keys, error_msgs) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        # keys of the current format without metadata (a state dict put together by hand,
        # or saved by a format that drops it): taken as current
        if version is None and weight_key not in state_dict and all(
                weight_key + suffix in state_dict for suffix in ("_orig", "_u", "_v")):
            return
        absent = [weight_key + suffix for suffix in ("_orig", "", "_u")
                  if weight_key + suffix not in state_dict]
        if absent:
            if strict:
                missing_keys.extend(absent)
            return
        with no_grad():
            weight_orig = state_dict[weight_key + "_orig"]
            weight = state_dict.pop(weight_key)
            sigma = (weight_orig / weight).mean()
            matrix = fn.reshape_weight_to_matrix(weight_orig)
            u = state_dict[weight_key + "_u"]
            state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(matrix, u, sigma)


class SpectralNormStateDictHook:
    """The state-dict hook of ``spectral_norm``: records the version of its keys' format in
    the module's metadata, ``local_metadata["spectral_norm"]["<name>.version"]``."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module: Module, state_dict, prefix, local_metadata) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm before each call (the legacy form; see
    also ``nn.utils.parametrizations.spectral_norm``).

    ``w = w_orig / σ``, ``σ = uᵀ W v``, where ``W`` is the weight as a matrix (``dim`` first,
    the rest flattened) and ``u``, ``v`` approximate its leading singular vectors: in training
    mode each call first runs ``n_power_iterations`` steps of
    ``v ← normalize(Wᵀ u)``, ``u ← normalize(W v)``, updating the buffers ``<name>_u`` and
    ``<name>_v``; in eval mode they are used as they are. They start random.

    Args:
        module (Module): the module holding the weight.
        name (str): the parameter to normalize. Default: ``"weight"``.
        n_power_iterations (int): power iterations per training call. Default: ``1``.
        eps (float): the floor of the norms in ``normalize``. Default: ``1e-12``.
        dim (int, optional): the dim of output channels: ``1`` for ``ConvTranspose*``,
            otherwise ``0`` when ``None``.

    Returns:
        Module: ``module``, with ``<name>_orig``, ``<name>_u``, ``<name>_v`` and the hook.

    Example::

        >>> m = nn.utils.spectral_norm(nn.Linear(20, 40))
        >>> m.weight_u.size()
        ember.Size([40])
    """
    if dim is None:
        if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)):
            dim = 1
        else:
            dim = 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``module.<name>`` becomes a plain ``Parameter`` holding the
    normalized weight (computed with the current ``u``, ``v``, without a power iteration).

    Args:
        module (Module): the module holding the weight.
        name (str): the normalized parameter. Default: ``"weight"``.

    Returns:
        Module: ``module``.

    Raises:
        ValueError: ``module.<name>`` has no spectral norm.
    """
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            break
    else:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    # PyTorch 2.13 leaves the load pre-hook behind (it looks for it unwrapped), and then
    # cannot load the module's own state dict; ember takes both hooks out.
    for hooks, kind in ((module._state_dict_hooks, SpectralNormStateDictHook),
                        (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for key, hook in list(hooks.items()):
            hook = getattr(hook, "hook", hook)  # a load pre-hook is kept wrapped
            if isinstance(hook, kind) and hook.fn.name == name:
                del hooks[key]
                break
