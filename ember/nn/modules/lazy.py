"""``LazyModuleMixin``: a layer whose parameter shapes come from its first input.

A lazy layer (``LazyLinear``, ``LazyConv2d`` ...) is built with ``UninitializedParameter``
and ``UninitializedBuffer`` stand-ins. A forward pre-hook calls ``initialize_parameters``
on the first call, which materializes them from the input's shape and runs
``reset_parameters``; the hook then removes itself and the module becomes its
``cls_to_become`` (``Linear`` ...), so it is from then on indistinguishable from a layer
built with the sizes given. Loading a state dict into a lazy layer materializes the tensors
the checkpoint holds, with the checkpoint's shapes.
"""

from __future__ import annotations

from ember.autograd.grad_mode import no_grad
from ember.nn.parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """The mixin of the lazy layers, placed before the regular class:
    ``class LazyLinear(LazyModuleMixin, Linear)``.

    A subclass sets ``cls_to_become`` and defines ``initialize_parameters(*args, **kwargs)``,
    which receives the arguments of the first call and materializes each uninitialized
    tensor; its ``reset_parameters`` skips the work while any tensor is uninitialized.

    Example::

        >>> layer = nn.LazyLinear(10)
        >>> layer
        LazyLinear(in_features=0, out_features=10, bias=True)
        >>> layer(ember.ones(4, 3)).shape
        ember.Size([4, 10])
        >>> layer
        Linear(in_features=3, out_features=10, bias=True)
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def has_uninitialized_params(self) -> bool:
        """Whether one of this module's own parameters or buffers still has no shape."""
        tensors = list(self._parameters.values()) + list(self._buffers.values())
        return any(is_lazy(tensor) for tensor in tensors)

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize the uninitialized tensors from the first call's arguments."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        """The forward pre-hook of the first call: materialize, then become the regular class."""
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        # By id in the module's own dicts: a deep copy's handles still point at the original's.
        module._forward_pre_hooks.pop(module._initialize_hook.id, None)
        module._forward_pre_hooks_with_kwargs.discard(module._initialize_hook.id)
        module._load_state_dict_pre_hooks.pop(module._load_hook.id, None)
        del module._initialize_hook
        del module._load_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs) -> None:
        """The load pre-hook: give each uninitialized tensor the shape of its checkpoint entry,
        which the load then copies in."""
        tensors = list(self._parameters.items()) + list(self._buffers.items())
        for name, tensor in tensors:
            source = state_dict.get(prefix + name)
            if source is not None and is_lazy(tensor) and not is_lazy(source):
                with no_grad():
                    tensor.materialize(source.shape)

    def _load_one(self, name, key, target, source, assign):
        # An uninitialized tensor still uninitialized here was given another one: nothing to copy.
        if is_lazy(target):
            return None
        return super()._load_one(name, key, target, source, assign)

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        # An uninitialized tensor is saved as itself: it has no storage to detach.
        super()._save_to_state_dict(destination, prefix, True)
        if keep_vars:
            return
        for name in list(self._parameters) + list(self._buffers):
            key = prefix + name
            if key in destination and not is_lazy(destination[key]):
                destination[key] = destination[key].detach()
