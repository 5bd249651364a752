"""Full backward hooks: identity Functions around a module's inputs and outputs.

The identity on the outputs sees ``grad_output``; the identity on the inputs sees
``grad_input`` and then calls the hooks, whose result may replace ``grad_input``.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd.function import Function


class BackwardHookFunction(Function):
    @staticmethod
    def forward(ctx, state, *tensors):
        ctx.state = state
        return tensors if len(tensors) != 1 else tensors[0]

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + ctx.state.receive(grads)


class _HookState:
    def __init__(self, module, input_count: int):
        self.module, self.input_count = module, input_count
        self.grad_output = None

    def receive(self, grads):
        if self.grad_output is None:
            self.grad_output = grads
            return grads
        grad_input = grads
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = tuple(result)
        return grad_input


def attach(module) -> None:
    """Wrap ``module.forward`` so that its tensors pass through the hook Functions."""
    forward = module.forward

    def hooked_forward(*args, **kwargs):
        if not module._backward_hooks:
            return forward(*args, **kwargs)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        state = _HookState(module, len(positions))
        args = list(args)
        if positions:
            wrapped = BackwardHookFunction.apply(state, *(args[i] for i in positions))
            wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
            for i, tensor in zip(positions, wrapped):
                args[i] = tensor
        output = forward(*args, **kwargs)
        if isinstance(output, Tensor) and output.requires_grad:
            output = BackwardHookFunction.apply(state, output)
        return output

    object.__setattr__(module, "forward", hooked_forward)
