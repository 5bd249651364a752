"""``Module``: the base of every layer and model.

A module registers what is assigned to it: a ``Parameter`` into ``_parameters``, a
``Module`` into ``_modules``, a registered buffer into ``_buffers``. Everything else
(``parameters()``, ``state_dict()``, ``to()``, ``train()``) walks those three dicts.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from ember import _tape
from ember._device import check_device, device as _device_cls
from ember._dtype import bfloat16, float16, float32, float64
from ember._hooks import RemovableHandle
from ember._tensor import Tensor
from ember._tensor_methods import parse_to
from ember.autograd import grad_mode
from ember.nn.modules._backward_hooks import attach
from ember.nn.parameter import Buffer, Parameter
from ember.ops.creation import empty_like


class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")

    __str__ = __repr__


class _CallStack(threading.local):
    """The modules whose ``__call__`` is running in this thread, outermost first."""

    def __init__(self):
        self.modules = []


_calling = _CallStack()  # per thread: another thread's calls are no part of this one's path

# How many times the state of any module changed: an attribute set or deleted, a parameter,
# buffer, submodule or hook registered or removed, ``train()``/``eval()``. A compiled call
# checks its modules' guards again only after this moves (``ember/_compile/guards.py``).
# Writing a module's ``__dict__`` directly is not counted.
state_changes = [0]


class _Registry(OrderedDict):
    """A module's parameters, buffers, submodules or hooks: an ``OrderedDict`` that counts
    each change to it in ``state_changes``."""

    __slots__ = ()

    def __setitem__(self, key, value) -> None:
        state_changes[0] += 1
        OrderedDict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        state_changes[0] += 1
        OrderedDict.__delitem__(self, key)

    def pop(self, *args):
        state_changes[0] += 1
        return OrderedDict.pop(self, *args)

    def popitem(self, last: bool = True):
        state_changes[0] += 1
        return OrderedDict.popitem(self, last)

    def setdefault(self, key, default=None):
        state_changes[0] += 1
        return OrderedDict.setdefault(self, key, default)

    def clear(self) -> None:
        state_changes[0] += 1
        OrderedDict.clear(self)

    def update(self, *args, **kwargs) -> None:
        state_changes[0] += 1
        OrderedDict.update(self, *args, **kwargs)

    def move_to_end(self, key, last: bool = True) -> None:
        state_changes[0] += 1
        OrderedDict.move_to_end(self, key, last)

    def __ior__(self, other):
        self.update(other)
        return self


def set_quietly(module, name: str, value) -> None:
    """Set an attribute of ``module`` without ``Module.__setattr__``'s registration (an
    internal flag), still counting the change."""
    state_changes[0] += 1
    object.__setattr__(module, name, value)


class Module:
    """Base class for all neural network modules.

    Subclasses assign parameters and submodules in ``__init__`` and define ``forward``::

        class SimpleNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer1 = nn.Linear(2, 3)
                self.layer2 = nn.Linear(3, 1)

            def forward(self, x):
                return ember.sigmoid(self.layer2(ember.sigmoid(self.layer1(x))))
    """

    training: bool
    # The format of this class's own state-dict entries, written to ``state_dict()._metadata``
    # and read back by ``_load_from_state_dict`` overrides that migrate older checkpoints.
    _version = 1
    # Whether ``__init__`` passes its arguments on to the next class in the MRO (a mixin).
    call_super_init: bool = False
    _compiler = None  # ``ember.compile``, handed down by the compiler at import (``compile``)

    def __init__(self, *args, **kwargs) -> None:
        if not self.call_super_init and kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                            f"argument '{next(iter(kwargs))}'")
        if not self.call_super_init and args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        setter = object.__setattr__
        setter(self, "training", True)
        setter(self, "_parameters", _Registry())
        setter(self, "_buffers", _Registry())
        setter(self, "_non_persistent_buffers_set", set())
        setter(self, "_modules", _Registry())
        setter(self, "_forward_pre_hooks", _Registry())
        setter(self, "_forward_hooks", _Registry())
        setter(self, "_forward_hooks_with_kwargs", set())
        setter(self, "_forward_pre_hooks_with_kwargs", set())
        setter(self, "_backward_pre_hooks", _Registry())
        setter(self, "_backward_hooks", _Registry())
        # The state-dict hooks change no call, so ``ember.compile`` need not count them.
        setter(self, "_state_dict_pre_hooks", OrderedDict())
        setter(self, "_state_dict_hooks", OrderedDict())
        setter(self, "_load_state_dict_pre_hooks", OrderedDict())
        setter(self, "_load_state_dict_post_hooks", OrderedDict())
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        state_changes[0] += 1
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif self.__dict__.get("_modules") is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            self._modules[name] = value
        elif isinstance(value, Buffer):
            self._forget(name, keep="_buffers")
            self.register_buffer(name, value, value.persistent)
        elif self.__dict__.get("_buffers") is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(torch.Tensor or None expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str = "") -> None:
        """Drop ``name`` from the registries but ``keep``, where a new value of its kind
        replaces it in place (so ``state_dict()`` keeps its order)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self.__dict__.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str):
        # Reached for every parameter, buffer and submodule read (``self.weight``), so the
        # three registries are tried one after another rather than in a loop.
        attributes = self.__dict__
        values = attributes.get("_parameters")
        if values is not None and name in values:
            return values[name]
        values = attributes.get("_buffers")
        if values is not None and name in values:
            return values[name]
        values = attributes.get("_modules")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        state_changes[0] += 1
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (``None`` registers an absent parameter)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                "created explicitly. To express '"
                f"{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (e.g. running statistics)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child called ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------ traversal
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(value))
                yield (module_prefix + ("." if module_prefix else "") + name, value)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names (``layer1.weight``); shared ones are listed once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and all below it, depth first, with dotted names."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [
                (name + ("." if name else "") + child_name, child)
                for child_name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is this module)."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return module._buffers[name]

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target`` (``"net.0"``), replacing the submodule
        there, in its place; its parent must exist.

        Args:
            target (str): the dotted path of the submodule to set.
            module (Module): the module to put there.
            strict (bool): refuse to add a submodule where none is. Default: ``False``.

        Raises:
            ValueError: ``target`` is empty, or ``module`` is not a Module.
            AttributeError: a parent on the path is missing, ``target`` names an attribute
                that is not a Module, or (with ``strict``) nothing.
        """
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    # ------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every submodule (dropout, batch norm...)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        state_changes[0] += 1
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    @_tape.replayed(changes=lambda self, *_: list(self.parameters()), python_state=False)
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default, as PyTorch 2)."""
        for parameter in self.parameters():
            if parameter.grad is None:
                continue
            if set_to_none:
                parameter.grad = None
            else:
                parameter.grad = parameter.grad.detach()
                parameter.grad._data[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn`` on every submodule (children first) and on this module."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------ dtype and device
    def _apply(self, convert, recurse: bool = True) -> Module:
        """Convert every parameter and buffer (only this module's without ``recurse``) with
        ``convert``. A parameter, and its gradient, keep their identity (PyTorch's
        ``param.data = convert(param)``), so an optimizer made before ``to`` or ``cuda``
        still holds them; buffers are replaced."""
        with grad_mode.no_grad():
            for module in self.modules() if recurse else (self,):
                for parameter in module._parameters.values():
                    if parameter is None:
                        continue
                    parameter._data = convert(parameter)._data
                    if parameter.grad is not None:
                        parameter.grad._data = convert(parameter.grad)._data
                for name, buffer in module._buffers.items():
                    if buffer is not None:
                        module._buffers[name] = convert(buffer)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move and/or cast the parameters and buffers, in place: ``to(device)``,
        ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its device and dtype), each with
        ``non_blocking=`` and ``memory_format=`` (for 4-D and 5-D tensors).

        Only floating-point tensors change dtype; every tensor changes device.
        """
        device, dtype, non_blocking, _, memory_format = parse_to(args, kwargs)
        if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
            raise TypeError(
                "nn.Module.to only accepts floating point or complex dtypes, but got desired "
                f"dtype={dtype}"
            )
        if device is not None:
            check_device(device)  # raises before any tensor has moved

        def convert(tensor):
            target = dtype if dtype is not None and tensor.is_floating_point() else None
            if memory_format is not None and tensor.ndim in (4, 5):
                return tensor.to(device, target, non_blocking=non_blocking,
                                 memory_format=memory_format)
            return tensor.to(device, target, non_blocking=non_blocking)

        return self._apply(convert)

    def float(self) -> Module:
        return self.to(float32)

    def double(self) -> Module:
        return self.to(float64)

    def half(self) -> Module:
        return self.to(float16)

    def bfloat16(self) -> Module:
        return self.to(bfloat16)

    def type(self, dst_type) -> Module:
        return self.to(dst_type)

    def cpu(self) -> Module:
        """Move every parameter and buffer to the CPU, in place."""
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        """Move every parameter and buffer to a CUDA GPU (the current one by default), in
        place."""
        if device is None or isinstance(device, int):
            device = _device_cls("cuda", device)
        return self.to(device)

    def share_memory(self) -> Module:
        return self

    def to_empty(self, *, device, recurse: bool = True) -> Module:
        """Give every parameter and buffer new, uninitialized storage of the same shape and
        dtype on ``device`` (ember fills it with zeros), keeping the parameters' identity:
        for a model built on one device and filled in on another.

        Args:
            device (str or device): where the new storage lives.
            recurse (bool): the submodules' tensors too. Default: ``True``.

        Returns:
            Module: ``self``.
        """
        if device is not None:
            check_device(device)
        return self._apply(lambda tensor: empty_like(tensor, device=device), recurse=recurse)

    def compile(self, *args, **kwargs) -> None:
        """Compile this module in place (PyTorch's ``Module.compile``): its ``forward``
        becomes ``ember.compile(forward, *args, **kwargs)``. Unlike ``ember.compile(module)``,
        which returns an ``OptimizedModule`` around it, the module keeps its type, its
        attributes and its ``state_dict()`` keys. Its hooks run around the compiled
        forward, eagerly. Compiling again starts from the forward it had before."""
        forward = self.forward
        forward = getattr(forward, "_compiled_from", forward)  # compiled before
        compiled = Module._compiler(forward, *args, **kwargs)
        if compiled is not forward:
            compiled._compiled_from = forward
        set_quietly(self, "forward", compiled)

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:
            calling = _calling.modules
            calling.append(self)
            try:
                return self.forward(*args, **kwargs)
            except Exception as error:
                _annotate(error, self)
                raise
            finally:
                calling.pop()
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        calling = _calling.modules
        calling.append(self)
        try:
            output = self.forward(*args, **kwargs)
        except Exception as error:
            _annotate(error, self)
            raise
        finally:
            calling.pop()
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # PyTorch's names for the call behind ``__call__``, which code calls to skip a compiled
    # forward; ember's ``Module.compile`` replaces ``forward`` instead, so all are one.
    _call_impl = __call__
    _wrapped_call_impl = __call__

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; it may return replacement args."""
        return _register(self._forward_pre_hooks, hook, prepend, with_kwargs,
                         self._forward_pre_hooks_with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output."""
        return _register(self._forward_hooks, hook, prepend, with_kwargs,
                         self._forward_hooks_with_kwargs)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients of the inputs exist.

        ember calls it with the gradient of the module's output as ``grad_output`` and of its
        tensor inputs as ``grad_input`` (a tuple, ``None`` where an input needs no grad).
        """
        handle = _register(self._backward_hooks, hook, prepend, False, None)
        self._install_backward_hooks()
        return handle

    register_backward_hook = register_full_backward_hook

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients of the module's outputs
        exist, before those of its inputs are computed; it may return a tuple of as many
        gradients, which replaces ``grad_output`` (``None`` for an output that is no tensor).

        Args:
            hook (Callable): ``hook(module, grad_output) -> tuple or None``.
            prepend (bool): run it before the hooks already registered. Default: ``False``.

        Returns:
            RemovableHandle: ``remove()`` takes the hook out again.
        """
        handle = _register(self._backward_pre_hooks, hook, prepend, False, None)
        self._install_backward_hooks()
        return handle

    def _install_backward_hooks(self) -> None:
        if not getattr(self, "_backward_hook_installed", False):
            set_quietly(self, "_backward_hook_installed", True)
            attach(self)

    # ------------------------------------------------------------ state dict
    # ``state_dict()`` and ``load_state_dict()`` walk the tree by calling each module's own
    # ``state_dict`` and ``_load_from_state_dict``, so a layer that overrides them (to rename
    # the keys of an older checkpoint, say) takes part as in PyTorch.
    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer, by dotted name.

        Its ``_metadata`` attribute maps each module's dotted path (``""`` for this one) to
        ``{"version": cls._version}``, which ``load_state_dict`` hands back to the module.

        Args:
            destination (dict, optional): a dict to fill and return instead of a new one.
            prefix (str): put before every key. Default: ``""``.
            keep_vars (bool): the tensors themselves rather than detached ones.
                Default: ``False``.

        Returns:
            OrderedDict: name -> tensor (and ``<path>._extra_state`` where a module has any).
        """
        if args:
            warnings.warn(
                "Positional args are being deprecated, use kwargs instead. Refer to "
                "https://pytorch.org/docs/main/generated/torch.nn.Module.html"
                "#torch.nn.Module.state_dict for details.", FutureWarning, stacklevel=2)
            destination = args[0] if destination is None else destination
            prefix = args[1] if len(args) > 1 and prefix == "" else prefix
            keep_vars = args[2] if len(args) > 2 and keep_vars is False else keep_vars
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:  # ``_register_state_dict_hook``'s may replace it
                destination = result
        return destination

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        """Write this module's own state (not its submodules') into ``destination``."""
        for name, parameter in self._parameters.items():
            if parameter is not None:
                destination[prefix + name] = parameter if keep_vars else parameter.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module and below.

        Each module's ``_load_from_state_dict`` reads the keys under its prefix, given its
        entry of ``state_dict._metadata`` (``{}`` where there is none).

        Args:
            state_dict (dict): name -> tensor, as ``state_dict()`` makes it.
            strict (bool): raise if keys are missing or unexpected. Default: ``True``.
            assign (bool): put the given tensors in the module (as parameters where a
                parameter was) instead of copying into the existing ones. Default: ``False``.

        Returns:
            NamedTuple: ``(missing_keys, unexpected_keys)``.

        Raises:
            RuntimeError: listing every problem: a shape mismatch, a value that is no
                tensor, and with ``strict`` the missing and unexpected keys.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # the hooks may change this copy, not the caller's
        if metadata is not None:
            state_dict._metadata = metadata
        _load_tree(self, state_dict, "", metadata, assign, (missing, unexpected, errors))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        return _IncompatibleKeys(missing, unexpected)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Load this module's own state (not its submodules') from the keys of
        ``state_dict`` that start with ``prefix``, appending to the three lists; the load
        pre-hooks run first. ``local_metadata`` is this module's entry of
        ``state_dict._metadata``: ``local_metadata.get("version")`` tells an override which
        ``_version`` of the class saved the checkpoint."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        own = [(name, value) for name, value in self._parameters.items() if value is not None]
        own += [(name, value) for name, value in self._buffers.items()
                if value is not None and name not in self._non_persistent_buffers_set]
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, target in own:
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            error = self._load_one(name, key, target, state_dict[key], assign)
            if error is not None:
                error_msgs.append(error)
        extra_key = prefix + _EXTRA_STATE
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if not strict:
            return
        names = {name for name, _ in own}
        for key in state_dict:
            if not key.startswith(prefix) or key == extra_key:
                continue
            head, dot, _ = key[len(prefix):].partition(".")
            # a dotted key belongs to a submodule, which checks it in turn
            if (head not in self._modules) if dot else (head not in names):
                unexpected_keys.append(key)

    def _load_one(self, name: str, key: str, target: Tensor, source, assign: bool):
        """Copy (or with ``assign``, put) ``source`` into this module's tensor ``name``; the
        error text if it cannot be."""
        if not isinstance(source, Tensor):
            return (f'While copying the parameter named "{key}", expected torch.Tensor or '
                    f"Tensor-like object from checkpoint but received {type(source)}")
        if target.ndim == 0 and source.ndim == 1:  # a checkpoint from before 0-d tensors
            source = source[0]
        if tuple(source.shape) != tuple(target.shape):
            return (f"size mismatch for {key}: copying a param with shape {_size(source)} from "
                    f"checkpoint, the shape in current model is {_size(target)}.")
        try:
            with grad_mode.no_grad():
                if not assign:
                    target.copy_(source)
                elif name in self._parameters:  # replaced in its place, keeping the key order
                    if not isinstance(source, Parameter):
                        source = Parameter(source, target.requires_grad)
                    else:
                        source.requires_grad_(target.requires_grad)
                    self._parameters[name] = source
                else:
                    self._buffers[name] = source
        except Exception as error:
            return (f'While copying the parameter named "{key}", whose dimensions in the model '
                    f"are {_size(target)} and whose dimensions in the checkpoint are "
                    f"{_size(source)}, an exception occurred : {error.args}.")
        return None

    # ------------------------------------------------------------ extra state and state hooks
    def get_extra_state(self):
        """The state a module keeps beside its tensors (any picklable object), saved under
        ``<prefix>_extra_state``. Override it, and ``set_extra_state``, to have some."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    def set_extra_state(self, state) -> None:
        """Restore what ``get_extra_state`` returned (called by ``load_state_dict``)."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    def register_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, prefix, keep_vars)`` runs as ``state_dict()`` starts on this module."""
        return _register(self._state_dict_pre_hooks, hook, False, False, None)

    def register_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` runs once this module and its
        submodules are in ``state_dict``; it may change it in place, and must return None."""
        hook._from_public_api = True
        return _register(self._state_dict_hooks, hook, False, False, None)

    def _register_state_dict_hook(self, hook) -> RemovableHandle:
        """The older post-hook: like ``register_state_dict_post_hook``'s, but what it returns
        (if not None) becomes the state dict."""
        if getattr(hook, "_from_public_api", False):
            raise RuntimeError(
                "Cannot register the same function as the state dict post hook that was "
                "previously registered via register_state_dict_post_hook")
        return _register(self._state_dict_hooks, hook, False, False, None)

    def register_load_state_dict_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` runs before this module loads its keys; it may rename
        or convert them in ``state_dict`` (a copy of the caller's)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module: bool = False):
        """As ``register_load_state_dict_pre_hook``, with the module as first argument only
        when ``with_module``."""
        return _register(self._load_state_dict_pre_hooks,
                         _WrappedHook(hook, self if with_module else None), False, False, None)

    def register_load_state_dict_post_hook(self, hook) -> RemovableHandle:
        """``hook(module, incompatible_keys)`` runs once this module and its submodules are
        loaded; it may add to or clear ``incompatible_keys.missing_keys`` and
        ``.unexpected_keys`` in place, which ``strict`` then sees, and must return None."""
        return _register(self._load_state_dict_post_hooks, hook, False, False, None)

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not self._modules and len(lines) <= 1:
            return f"{self._get_name()}({lines[0] if lines else ''})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        names = list(object.__dir__(self))
        for registry in ("_parameters", "_buffers", "_modules"):
            names.extend(self.__dict__.get(registry, {}))
        return sorted(set(names))

    def __setstate__(self, state) -> None:
        self.__dict__.update(state)


def _register(registry, hook, prepend, with_kwargs, kwargs_set) -> RemovableHandle:
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    if prepend:
        registry.move_to_end(handle.id, last=False)
    if with_kwargs:
        kwargs_set.add(handle.id)
    return handle


def _size(tensor) -> str:
    return f"torch.Size({list(tensor.shape)})"


_EXTRA_STATE = "_extra_state"  # the key of ``get_extra_state()`` after a module's prefix


def _load_tree(module, state_dict, prefix, metadata, assign, incompatible) -> None:
    """Load ``module`` and, depth first, its submodules, each given the keys under its own
    prefix; then ``module``'s load post-hooks. ``incompatible`` holds the lists of missing
    keys, unexpected keys and errors that every module appends to."""
    missing, unexpected, errors = incompatible
    local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
    if assign:
        local_metadata["assign_to_params_buffers"] = assign
    module._load_from_state_dict(state_dict, prefix, local_metadata, True, missing, unexpected,
                                 errors)
    for name, child in module._modules.items():
        if child is not None:
            child_prefix = prefix + name + "."
            child_state = {key: value for key, value in state_dict.items()
                           if key.startswith(child_prefix)}
            _load_tree(child, child_state, child_prefix, metadata, assign, incompatible)
    keys = _IncompatibleKeys(missing, unexpected)
    for hook in module._load_state_dict_post_hooks.values():
        if hook(module, keys) is not None:
            raise AssertionError(
                "Hooks registered with ``register_load_state_dict_post_hook`` are not expected "
                "to return new values, if incompatible_keys need to be modified, it should be "
                "done inplace.")


class _WrappedHook:
    """A load pre-hook, called with its module first where it was registered ``with_module``
    (held weakly, so the hook keeps no module alive)."""

    def __init__(self, hook, module=None):
        self.hook = hook
        self.with_module = module is not None
        self.module = weakref.ref(module) if module is not None else None

    def __call__(self, *args):
        if not self.with_module:
            return self.hook(*args)
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, *args)

    def __getstate__(self) -> dict:
        # A copy of the module (``copy.deepcopy``) gets a hook on the copy, not the original.
        return {"hook": self.hook, "module": self.module() if self.with_module else None}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["hook"], state["module"])


def _annotate(error: Exception, module: Module) -> None:
    """Name the failing layer's path (``SimpleNet.layer2 (Linear)``) in the error, once."""
    if getattr(error, "_ember_path", None) is None:
        try:
            error._ember_path = [module]
        except AttributeError:
            return
    else:
        error._ember_path.append(module)
    if len(_calling.modules) > 1:
        return  # an enclosing module adds the rest of the path
    chain = list(reversed(error._ember_path))
    names = [type(chain[0]).__name__]
    for parent, child in zip(chain, chain[1:]):
        names.append(next((n for n, m in parent._modules.items() if m is child),
                          type(child).__name__))
    if len(chain) > 1 and error.args and isinstance(error.args[0], str):
        where = ".".join(names)
        message = f"{error.args[0]}\n(raised in module {where} ({type(chain[-1]).__name__}))"
        error.args = (message,) + error.args[1:]
