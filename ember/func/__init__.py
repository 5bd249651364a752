"""``ember.func``: PyTorch's composable function transforms (``torch.func``).

``grad``, ``vjp``, ``jacrev``, ``hessian``, ``jvp``, ``jacfwd`` and ``vmap`` turn a function
of tensors into another function, and compose: ``grad(grad(f))``, ``jacrev(jacrev(f))``,
``vmap(grad(loss), in_dims=(None, 0, 0))`` for per-sample gradients. ``functional_call``
and ``stack_module_state`` make a model a function of its weights.

Two differences on purpose, both with PyTorch's values: the forward-mode transforms
(``jvp``, ``jacfwd``, ``linearize``) run through reverse mode, and ``vmap`` calls the
function once per example and stacks the results instead of batching its ops.
"""

from ember.func._eager import debug_unwrap, functionalize
from ember.func._forward import hessian, jacfwd, jvp, linearize
from ember.func._module_state import (
    functional_call,
    replace_all_batch_norm_modules_,
    stack_module_state,
)
from ember.func._reverse import grad, grad_and_value, jacrev, vjp
from ember.func._vmap import vmap

__all__ = [
    "debug_unwrap",
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]
