"""``backward`` and ``grad``: the two ways to start a backward pass, with their checks."""

from __future__ import annotations

from ember import _tape
from ember._backend import asarray, device_index, to_device, xp
from ember._tensor import Tensor
from ember.autograd.engine import run_backward
from ember.autograd.function import grad_accumulator


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    if isinstance(value, Tensor):
        return (value,)
    return tuple(value)


def _roots_and_seeds(outputs, grad_outputs, api: str):
    grad_outputs = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"{api}: got {len(grad_outputs)} tensors in grad_outputs but {len(outputs)} outputs"
        )
    roots, seeds = [], []
    for index, (output, seed) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(output, Tensor):
            raise TypeError(f"{api}: expected a Tensor output, got {type(output).__name__}")
        if not output.requires_grad:
            raise RuntimeError(
                f"element {index} of tensors does not require grad and does not have a grad_fn"
            )
        if seed is None:
            if output.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            seed = Tensor._make(xp.ones_like(output._data))
        elif not isinstance(seed, Tensor):
            data = asarray(seed, output._data.dtype)
            seed = Tensor._make(to_device(data, device_index(output._data)))
        if seed._data.shape != output._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{index}] has a shape of {seed.shape} and "
                f"output[{index}] has a shape of {output.shape}."
            )
        roots.append(_edge_of(output))
        seeds.append(seed)
    return roots, seeds


def _edge_of(tensor):
    if tensor.grad_fn is not None:
        return (tensor.grad_fn, tensor._output_nr)
    return (grad_accumulator(tensor), 0)


def backward(
    tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None
) -> None:
    """Compute the gradient of ``tensors`` and accumulate it into the leaves' ``.grad``.

    Args:
        tensors: the outputs to differentiate (a scalar needs no ``grad_tensors``).
        grad_tensors: the vector ``v`` of the vector-Jacobian product, one per output.
        retain_graph: keep the saved tensors for another backward (default: ``create_graph``).
        create_graph: record the backward pass itself, for higher-order gradients.
        inputs: accumulate only into these tensors.
    """
    outputs = _as_tuple(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots, seeds = _roots_and_seeds(outputs, grad_tensors, "backward")
    if inputs is None:
        tape = _tape.current()
        if tape is not None and tape.backward(outputs, grad_tensors, create_graph):
            with _tape.muted():  # a step of its own: the engine's work is not recorded
                run_backward(roots, seeds, retain_graph, create_graph)
            return
        run_backward(roots, seeds, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    if not inputs:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    targets = [_edge_of(t) for t in inputs]
    grads = run_backward(roots, seeds, retain_graph, create_graph, targets=targets)
    for tensor, value in zip(inputs, grads):
        if tensor.grad_fn is not None and value is not None:
            value = value if create_graph else value.detach()
            tensor.grad = value if tensor.grad is None else tensor.grad + value


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated.

    Example::

        >>> x = ember.tensor(3.0, requires_grad=True)
        >>> (dy,) = ember.autograd.grad(x ** 3, x, create_graph=True)
        >>> ember.autograd.grad(dy, x)      # d2/dx2 x**3 = 6x
        (tensor(18.),)
    """
    outputs = _as_tuple(outputs)
    inputs_tuple = _as_tuple(inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    for index, tensor in enumerate(inputs_tuple):
        if not tensor.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots, seeds = _roots_and_seeds(outputs, grad_outputs, "grad")
    targets = [_edge_of(t) for t in inputs_tuple]
    grads = run_backward(
        roots, seeds, retain_graph, create_graph, targets=targets, accumulate=False
    )
    result = []
    for tensor, value in zip(inputs_tuple, grads):
        if value is None:
            if materialize_grads:
                value = Tensor._make(xp.zeros_like(tensor._data))
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        elif not create_graph:
            value = value.detach()
        result.append(value)
    return tuple(result)
