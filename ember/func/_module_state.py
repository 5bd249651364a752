"""Models as functions of their weights: ``functional_call``, ``stack_module_state`` and
``replace_all_batch_norm_modules_``."""

from __future__ import annotations

from ember.nn.modules.batchnorm import _BatchNorm
from ember.nn.modules.module import Module
from ember.nn.utils.stateless import call_with
from ember.ops.shape import stack

__all__ = ["functional_call", "replace_all_batch_norm_modules_", "stack_module_state"]


def functional_call(
    module: Module,
    parameter_and_buffer_dicts,
    args=None,
    kwargs: dict | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
):
    """``module(*args, **kwargs)`` computed with the given tensors as its parameters/buffers.

    The module's own tensors are put back afterwards, even if the call raises; gradients
    flow to the given tensors. A tensor the module reassigns during the call
    (``self.count = self.count + 1``) is written back into a single given dict, as in
    PyTorch; in-place updates (a batch norm's running statistics) land in the given tensors.

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: a dict of dotted names (``"0.weight"``) to tensors, or a
            tuple/list of such dicts, which must not share a key.
        args: the positional arguments; a value that is not a tuple is the only argument.
        kwargs: the keyword arguments.
        tie_weights: a tensor given under one name of a tied parameter (one object under
            several names) is used under all of them.
        strict: raise ``RuntimeError`` unless exactly the module's parameters and buffers
            are given.

    Returns:
        What the module returns.

    Example::

        >>> model = ember.nn.Linear(3, 1)
        >>> params = {name: p.detach() for name, p in model.named_parameters()}
        >>> loss = lambda params, x: functional_call(model, params, (x,)).sum()
        >>> ember.func.grad(loss)(params, ember.ones(3))["weight"]
        tensor([[1., 1., 1.]])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        if not all(isinstance(item, dict) for item in parameter_and_buffer_dicts):
            raise ValueError(
                "Expected all elements of parameter_and_buffer_dicts to be dictionaries"
            )
        seen, repeated, values = set(), set(), {}
        for item in parameter_and_buffer_dicts:
            repeated.update(seen.intersection(item))
            seen.update(item)
            values.update(item)
        if repeated:
            raise ValueError(
                f"{sorted(repeated)} appeared in multiple dictionaries; behavior of functional "
                "call is ambiguous"
            )
    else:
        raise ValueError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but "
            f"got {type(parameter_and_buffer_dicts)}"
        )
    return call_with(module, values, args, kwargs, tie_weights, strict)


def stack_module_state(models) -> tuple:
    """The parameters and buffers of same-class models, each stacked along a new dim 0.

    For model ensembling: ``vmap(lambda p, b, x: functional_call(base, (p, b), (x,)),
    in_dims=(0, 0, None))(params, buffers, x)`` runs every model on ``x`` at once. The
    stacked parameters are new leaves (requiring grad where the models' do), detached
    from the models.

    Args:
        models: a sequence of modules of one class, all in training or all in eval mode.

    Returns:
        ``(params, buffers)``: dicts from names to stacked tensors.

    Example::

        >>> models = [ember.nn.Linear(3, 2) for _ in range(4)]
        >>> params, buffers = ember.func.stack_module_state(models)
        >>> params["weight"].shape
        ember.Size([4, 2, 3])
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({model.training for model in models}) != 1:
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if len({type(model) for model in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(model.named_parameters()) for model in models]
    params = {}
    for name in all_params[0]:
        tensors = [found[name] for found in all_params]
        requires_grad = tensors[0].requires_grad
        if any(tensor.requires_grad != requires_grad for tensor in tensors):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        params[name] = stack(tensors).detach().requires_grad_(requires_grad)
    all_buffers = [dict(model.named_buffers()) for model in models]
    buffers = {
        name: stack([found[name] for found in all_buffers]).detach() for name in all_buffers[0]
    }
    return params, buffers


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """Stop every batch norm under ``root`` from tracking running statistics, in place.

    A batch norm in training mode updates its running mean and variance in place, which
    per-example transforms (``vmap``) cannot express in PyTorch; this sets
    ``running_mean``, ``running_var`` and ``num_batches_tracked`` to None and
    ``track_running_stats`` to False, so that the batch statistics are always used.

    Returns:
        ``root``.
    """
    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
