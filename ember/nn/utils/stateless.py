"""``nn.utils.stateless``: run a module with other tensors in place of its parameters.

``functional_call(module, {"weight": w}, x)`` is ``module(x)`` computed with ``w`` as
``module.weight``: during the call the module's registries hold the given tensors, and
the originals are put back afterwards, even when the call raises. Gradients therefore
reach the given tensors, never the module's own parameters, which is what the function
transforms of ``ember.func`` (``grad``, ``vmap`` …) need to treat a model as a function
of its weights.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ember._tensor import Tensor

if TYPE_CHECKING:  # nn.modules imports nn.utils (its rnn helpers): no import at load time
    from ember.nn.modules.module import Module

__all__ = ["functional_call"]

_MISSING = object()  # marks an attribute that did not exist before the call


def functional_call(
    module: Module,
    parameters_and_buffers: dict,
    args=None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """``module(*args, **kwargs)`` with ``parameters_and_buffers`` in place of its own state.

    Deprecated in PyTorch 2.0 in favour of ``torch.func.functional_call`` (a drop-in
    replacement): this spelling warns with a ``FutureWarning`` and then does the same.

    Args:
        module: the module to call.
        parameters_and_buffers: dotted names (``"layer1.weight"``) to the tensors to use.
        args: the positional arguments; a value that is not a tuple is the only argument.
        kwargs: the keyword arguments.
        tie_weights: a tensor given for one of several tied names (a parameter shared by
            two submodules) replaces it under all of them.
        strict: raise unless exactly the module's parameters and buffers are given.

    Returns:
        What the module returns.

    Example::

        >>> layer = ember.nn.Linear(2, 1)
        >>> weights = {"weight": ember.ones(1, 2), "bias": ember.zeros(1)}
        >>> functional_call(layer, weights, ember.tensor([1.0, 2.0]))
        tensor([3.])
    """
    warnings.warn(
        "`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will "
        "be removed in a future version of PyTorch. Please use `torch.func.functional_call` "
        "instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return call_with(module, parameters_and_buffers, args, kwargs, tie_weights, strict)


def call_with(module: Module, values: dict, args, kwargs, tie_weights: bool, strict: bool):
    """The call behind both spellings of ``functional_call``."""
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, values, tie_weights, strict):
        return module(*args, **(kwargs or {}))


# ---------------------------------------------------------------- the swap


def _state_names(module: Module) -> dict:
    """Every dotted name of a parameter or buffer, shared ones under each of their names,
    to the tensor it names."""
    names = dict(module.named_parameters(remove_duplicate=False))
    names.update(module.named_buffers(remove_duplicate=False))
    return names


def _with_tied_names(module: Module, values: dict, state: dict) -> dict:
    """``values`` plus, for each given name of a tied tensor, its other names."""
    by_tensor = {}
    for name, tensor in state.items():
        by_tensor.setdefault(id(tensor), []).append(name)
    expanded = dict(values)
    for names in by_tensor.values():
        given = [name for name in names if name in values]
        if len(names) < 2 or not given:
            continue
        if any(values[name] is not values[given[0]] for name in given):
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(given)}, which are "
                "tied. Consider using tie_weights=False"
            )
        for name in names:
            expanded.setdefault(name, values[given[0]])
    return expanded


def _check_strict(module: Module, names, state: dict) -> None:
    unexpected = sorted(set(names) - set(state))
    missing = sorted(set(state) - set(names))
    if not unexpected and not missing:
        return
    lines = [f"Error(s) in reparametrizing for {type(module).__name__}:"]
    if unexpected:
        lines.append("Unexpected key(s): " + ", ".join(repr(key) for key in unexpected) + ".")
    if missing:
        lines.append("Missing key(s): " + ", ".join(repr(key) for key in missing) + ".")
    raise RuntimeError("\n\t".join(lines))


def _owner(module: Module, name: str) -> tuple:
    """(the submodule that holds the dotted ``name``, the attribute's own name)."""
    *path, attribute = name.split(".")
    owner = module
    for part in path:
        child = owner._modules.get(part)
        if child is None:
            raise AttributeError(f"{type(owner).__name__} has no attribute `{part}`")
        owner = child
    return owner, attribute


def _swap(owner: Module, attribute: str, value):
    """Put ``value`` in ``owner``'s slot ``attribute``; return what was there (or _MISSING)."""
    if value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value!r} is not an instance of torch.Tensor")
    for registry in (owner._parameters, owner._buffers):
        if attribute in registry:
            old = registry[attribute]
            # Straight into the registry: a plain tensor may not be assigned as a parameter
            # through ``setattr``, and the registry is what ``module.weight`` reads.
            registry[attribute] = value
            return old
    if attribute in owner._modules:
        raise TypeError(
            f"attribute `{attribute}`: {owner._modules[attribute]!r} is not an instance of "
            "torch.Tensor"
        )
    if attribute in owner.__dict__:
        old = owner.__dict__[attribute]
        if not isinstance(old, Tensor):
            raise TypeError(f"attribute `{attribute}`: {old!r} is not an instance of torch.Tensor")
    elif hasattr(type(owner), attribute):
        # A class attribute such as the property of a parametrized tensor: setting it would
        # run the property's setter and overwrite the original in place.
        raise NotImplementedError(
            f"functional_call: `{attribute}` of {type(owner).__name__} is computed by its "
            "class (a parametrization); pass its original, e.g. "
            f"'parametrizations.{attribute}.original'"
        )
    else:
        old = _MISSING
    object.__setattr__(owner, attribute, value)
    return old


def _restore(owner: Module, attribute: str, old) -> object:
    """Put ``old`` back; return the value the slot held at the end of the call."""
    for registry in (owner._parameters, owner._buffers):
        if attribute in registry:
            current = registry[attribute]
            registry[attribute] = old
            return current
    current = owner.__dict__.get(attribute)
    if old is _MISSING:
        owner.__dict__.pop(attribute, None)
    else:
        object.__setattr__(owner, attribute, old)
    return current


@contextmanager
def _reparametrized(module: Module, values: dict, tie_weights: bool, strict: bool):
    """Within the block, ``module`` holds ``values`` in place of its parameters and buffers.

    A slot the module reassigned during the block (``self.count = self.count + 1``) has its
    final tensor written back into ``values``, as PyTorch does.
    """
    state = _state_names(module)
    given = _with_tied_names(module, values, state) if tie_weights else dict(values)
    if strict:
        _check_strict(module, given, state)
    swapped = []
    try:
        for name, value in given.items():
            owner, attribute = _owner(module, name)
            swapped.append((name, owner, attribute, _swap(owner, attribute, value)))
        yield
    finally:
        for name, owner, attribute, old in reversed(swapped):
            current = _restore(owner, attribute, old)
            if name in values and current is not given[name]:
                values[name] = current
