"""Full backward hooks: identity Functions around a module's inputs and outputs.

The identity on the outputs sees ``grad_output`` and calls the backward pre-hooks, whose
result may replace it; the identity on the inputs sees ``grad_input`` and then calls the
hooks, whose result may replace ``grad_input``. As in PyTorch, ``grad_output`` has one entry
per output and ``grad_input`` one per positional argument: None for one that is not a
tensor, and for every argument when none of the tensors requires grad. Then the hooks are
called from the outputs' side, with a warning, and may return nothing else.
"""

from __future__ import annotations

import warnings

from ember._tensor import Tensor
from ember.autograd.function import Function

_NO_INPUT_WARNING = (
    "Full backward hook is firing when gradients are computed with respect to module "
    "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
    "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
    "details."
)


class BackwardHookFunction(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        ctx.set_materialize_grads(False)  # an output the loss does not use: None, as in PyTorch
        return tensors if len(tensors) != 1 else tensors[0]

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + ctx.state.receive(grads)


class _HookState:
    """One call's hooks: ``positions`` are those of the tensor arguments that went through
    the inputs' identity (None when none requires grad), ``count`` the positional ones."""

    def __init__(self, module, count: int, positions):
        self.module, self.count, self.positions = module, count, positions
        self.grad_output = None
        # the places of the tensors among the outputs, and how many outputs there are
        self.output_places, self.output_count = (0,), 1

    def receive(self, grads):
        if self.grad_output is None:  # the outputs' identity: the first to run
            grad_output = [None] * self.output_count
            for place, grad in zip(self.output_places, grads):
                grad_output[place] = grad
            self.grad_output = self._pre_hooks(tuple(grad_output))
            if self.positions is None:
                self._without_inputs()
            return tuple(self.grad_output[place] for place in self.output_places)
        grad_input = [None] * self.count
        for position, grad in zip(self.positions, grads):
            grad_input[position] = grad
        grad_input = tuple(grad_input)
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is None:
                continue
            result = tuple(result)
            if len(result) != self.count:
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got "
                    f"{len(result)}, but expected {self.count}"
                )
            grad_input = result
        return tuple(grad_input[position] for position in self.positions)

    def _pre_hooks(self, grad_output: tuple) -> tuple:
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is None:
                continue
            result = tuple(result)
            if len(result) != len(grad_output):
                raise RuntimeError(
                    f"Backward pre hook returned an invalid number of grad_output, got "
                    f"{len(result)}, but expected {len(grad_output)}"
                )
            grad_output = result
        return grad_output

    def _without_inputs(self) -> None:
        warnings.warn(_NO_INPUT_WARNING, UserWarning, stacklevel=2)
        grad_input = (None,) * self.count
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None and any(item is not None for item in tuple(result)):
                raise RuntimeError(
                    "Backward hook for Modules where no input requires gradient should "
                    "always return None or None for all gradients."
                )


def attach(module) -> None:
    """Wrap ``module.forward`` so that its tensors pass through the hook Functions."""
    forward = module.forward

    def hooked_forward(*args, **kwargs):
        if not (module._backward_hooks or module._backward_pre_hooks):
            return forward(*args, **kwargs)
        args = list(args)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not any(args[i].requires_grad for i in positions):
            positions = None
        state = _HookState(module, len(args), positions)
        if positions:
            wrapped = BackwardHookFunction.apply(state, *(args[i] for i in positions))
            for i, tensor in zip(positions, _as_tuple(wrapped)):
                args[i] = tensor
        output = forward(*args, **kwargs)
        return _through_outputs(state, output)

    object.__setattr__(module, "forward", hooked_forward)  # the caller counted the change


def _through_outputs(state, output):
    """``output`` (a tensor, or a tuple or list holding tensors) with its tensors passed
    through the outputs' identity, where one of them requires grad."""
    items = output if isinstance(output, (tuple, list)) else (output,)
    places = [i for i, item in enumerate(items) if isinstance(item, Tensor)]
    if not any(items[i].requires_grad for i in places):
        return output
    state.output_places, state.output_count = places, len(items)
    wrapped = _as_tuple(BackwardHookFunction.apply(state, *(items[i] for i in places)))
    if isinstance(output, Tensor):
        return wrapped[0]
    items = list(items)
    for i, tensor in zip(places, wrapped):
        items[i] = tensor
    return type(output)(items) if type(output) in (tuple, list) else tuple(items)


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)
