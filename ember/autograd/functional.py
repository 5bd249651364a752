"""Jacobians, Hessians and their products, as ``torch.autograd.functional``.

Everything is built on reverse mode (``ember.autograd.grad``): a Jacobian is one
vector-Jacobian product per output element, a Jacobian-vector product is the
"double-vjp trick" (the vjp is linear in its cotangent ``u``, so differentiating
``u -> J^T u`` with respect to ``u`` along ``v`` gives ``J v``), and a Hessian is the
Jacobian of the gradient. Inputs and outputs keep their structure: a tuple of inputs
gives a tuple of results, a single tensor a single tensor.
"""

from __future__ import annotations

from ember._backend import xp
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd._differentiate import grad
from ember.ops.creation import ones_like, zeros, zeros_like
from ember.ops.shape import stack

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


# ---------------------------------------------------------------- structure helpers


def _as_tuple(value, argument: str, function: str) -> tuple:
    """(whether ``value`` was a tuple, ``value`` as a tuple of tensors)."""

    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for index, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {index}" if is_tuple else f"the given {argument}"
            raise TypeError(
                f"The {argument} given to {function} must be either a Tensor or a tuple of "
                f"Tensors but {where} has type {type(item)}."
            )
    return is_tuple, items


def _unpack(result, is_tuple):
    """Undo ``_as_tuple``: ``is_tuple`` is a flag, or (outer, inner) flags for nested tuples."""
    if isinstance(is_tuple, tuple):
        outer, inner = is_tuple
        if not inner:
            result = tuple(item[0] for item in result)
        return result if outer else result[0]
    return result if is_tuple else result[0]


def _prepare(inputs: tuple, create_graph: bool, need_graph: bool) -> tuple:
    """Fresh tensor objects to differentiate with respect to.

    With ``create_graph`` an input that requires grad stays connected (through a view), so
    the result can be differentiated with respect to the caller's tensors.
    """
    prepared = []
    for tensor in inputs:
        if create_graph and tensor.requires_grad:
            prepared.append(tensor.view_as(tensor))
        else:
            prepared.append(tensor.detach().requires_grad_(need_graph))
    return tuple(prepared)


def _finish(tensors, create_graph: bool):
    """Detach results (nested tuples too) unless the caller asked for a graph."""
    if create_graph:
        return tensors
    return tuple(
        _finish(item, False) if isinstance(item, tuple) else item.detach() for item in tensors
    )


def _check_v(v: tuple, reference: tuple, is_reference_tuple: bool) -> None:
    if len(v) != len(reference):
        if is_reference_tuple:
            raise RuntimeError(
                f"v is a tuple of invalid length: should be {len(reference)} but got {len(v)}."
            )
        raise RuntimeError("The given v should contain a single Tensor.")
    for index, (item, other) in enumerate(zip(v, reference)):
        if item.shape != other.shape:
            prefix = f"Entry {index} in " if is_reference_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {other.shape} but got {item.shape}."
            )


def _vector(
    v, reference: tuple, is_reference_tuple: bool, create_graph: bool, function: str, what: str
) -> tuple:
    """``v`` as a checked tuple; ``None`` only where ``reference`` is one single-element tensor."""
    if v is None:
        if len(reference) != 1 or reference[0].numel() != 1:
            raise RuntimeError(
                f"The vector v can only be None if the {what} is a single Tensor with a single "
                "element."
            )

        return (ones_like(reference[0]),)
    _, v = _as_tuple(v, "v", function)
    v = _prepare(v, create_graph, need_graph=False)
    _check_v(v, reference, is_reference_tuple)
    return v


def _check_outputs_require_grad(outputs: tuple, strict: bool) -> None:
    if not strict:
        return
    for index, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(
                f"Output {index} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when running "
                "in strict mode."
            )


def _grad(
    outputs: tuple, inputs: tuple, grad_outputs, create_graph: bool, retain_graph=None
) -> tuple:
    """``autograd.grad`` that skips outputs outside the graph and returns None for unused inputs."""

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [
        (output, seed)
        for output, seed in zip(outputs, grad_outputs)
        if output is not None and output.requires_grad
    ]
    if not pairs:
        return (None,) * len(inputs)
    return grad(
        [output for output, _ in pairs],
        inputs,
        [seed for _, seed in pairs],
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )


_STRICT_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is not "
    "allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
    "grad_outputs when using the double backward trick to compute forward mode "
    "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. This "
    "is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} "
    "in the grad_jacobian. This is not allowed in strict mode as it prevents "
    "from using the double backward trick to replace forward mode AD.",
}


def _zeros_for_unused(
    grads: tuple, references: tuple, strict: bool, create_graph: bool, stage: str
) -> tuple:
    """Replace missing gradients by zeros (their true value), or raise in strict mode."""

    filled = []
    for index, (value, reference) in enumerate(zip(grads, references)):
        if value is None:
            if strict:
                raise RuntimeError(_STRICT_MESSAGES[stage].format(i=index))
            value = zeros_like(reference)
        elif strict and create_graph and not value.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {index}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        filled.append(value)
    return tuple(filled)


# ---------------------------------------------------------------- products


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        func: takes the input tensors, returns a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of tensors.
        v: one tensor per output, shaped like it (optional for a single-element output).
        create_graph: make the results differentiable.
        strict: raise when an input does not influence the outputs (else: zeros).

    Returns:
        ``(func_output, vjp)``, ``vjp`` structured like ``inputs``.

    Example::

        >>> x = ember.tensor([1., 2.])
        >>> ember.autograd.functional.vjp(lambda x: x ** 2, x, ember.ones(2))[1]
        tensor([2., 4.])
    """

    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "vjp"
        )
        _check_outputs_require_grad(outputs, strict)
        v = _vector(
            v, outputs, is_outputs_tuple, create_graph, "vjp", "user-provided function returns"
        )
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        grads = _grad(outputs, inputs, v, create_graph)
        result = _zeros_for_unused(grads, inputs, strict, create_graph, "back")
    return (
        _unpack(_finish(outputs, create_graph), is_outputs_tuple),
        _unpack(_finish(result, create_graph), is_inputs_tuple),
    )


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (double-vjp trick).

    Args:
        v: one tensor per input, shaped like it (optional for a single-element input).

    Returns:
        ``(func_output, jvp)``, ``jvp`` structured like the outputs.

    Example::

        >>> x = ember.tensor([1., 2.])
        >>> ember.autograd.functional.jvp(lambda x: x ** 2, x, ember.ones(2))[1]
        tensor([2., 4.])
    """

    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vector(
            v, inputs, is_inputs_tuple, create_graph, "jvp", "input to the user-provided function"
        )
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "jvp"
        )
        _check_outputs_require_grad(outputs, strict)
        # u -> J^T u is linear, so the value of u never enters J v; zeros are safe.
        cotangents = tuple(zeros_like(output).requires_grad_(True) for output in outputs)
        grad_inputs = _grad(outputs, inputs, cotangents, create_graph=True)
        if strict:
            for index, value in enumerate(grad_inputs):
                if value is None or not value.requires_grad:
                    raise RuntimeError(
                        f"The gradient with respect to input {index} is independent of the "
                        "inputs of the user-provided function. This is not allowed in strict mode."
                    )
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        grads = _grad(grad_inputs, cotangents, v, create_graph)
        result = _zeros_for_unused(grads, outputs, strict, create_graph, "back_trick")
    return (
        _unpack(_finish(outputs, create_graph), is_outputs_tuple),
        _unpack(_finish(result, create_graph), is_outputs_tuple),
    )


# ---------------------------------------------------------------- full matrices


def _stack_rows(rows: list, shape: tuple):
    """The rows (each shaped like the input) stacked and reshaped to ``shape``, differentiably."""

    return stack(rows).reshape(shape)


def _check_strategy(strategy: str, create_graph: bool, strict: bool, vectorize: bool) -> None:
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "torch.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either set '
                '`create_graph=False` or `strategy="reverse-mode"`.'
            )
        if strict:
            raise RuntimeError(
                'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"` '
                "are not supported together (yet). Please either set `strict=False` or "
                '`strategy="reverse-mode"`.'
            )
        if not vectorize:
            raise NotImplementedError(
                "Computing Jacobian using forward-AD or forward-over-reverse Hessian is only "
                "implemented for `vectorize=True`."
            )
    elif vectorize and strict:
        raise RuntimeError(
            "torch.autograd.functional.jacobian: `strict=True` and `vectorized=True` are not "
            "supported together. Please either set `strict=False` or `vectorize=False`."
        )


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs``: ``J[i][j]`` has shape ``out_i.shape + in_j.shape``.

    A single input and output give one tensor; a tuple on either side gives a tuple; tuples
    on both sides a tuple (per output) of tuples (per input). ``vectorize`` and
    ``strategy="forward-mode"`` are accepted for compatibility (with PyTorch's argument
    checks) and give the same values: ember always computes one vjp per output element.

    Example::

        >>> J = ember.autograd.functional.jacobian(lambda x: x ** 2, ember.tensor([1., 2.]))
        >>> J
        tensor([[2., 0.],
                [0., 4.]])
    """

    _check_strategy(strategy, create_graph, strict, vectorize)
    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        outputs = func(*inputs)
        is_outputs_tuple, outputs = _as_tuple(
            outputs, "outputs of the user-provided function", "jacobian"
        )
        _check_outputs_require_grad(outputs, strict)
        blocks = []
        for output_index, output in enumerate(outputs):
            rows = [[] for _ in inputs]
            count = output.numel()
            for element in range(count):
                # e_element as the cotangent picks one row of the Jacobian.
                basis = xp.zeros(count, dtype=output._data.dtype)
                basis[element] = 1
                seed = Tensor._make(basis.reshape(output.shape))
                grads = _grad((output,), inputs, (seed,), create_graph, retain_graph=True)
                for input_index, (value, tensor) in enumerate(zip(grads, inputs)):
                    if value is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {output_index} of the user-provided function is "
                                f"independent of input {input_index}. This is not allowed in "
                                "strict mode."
                            )
                        value = zeros_like(tensor)
                    elif strict and create_graph and not value.requires_grad:
                        raise RuntimeError(
                            "The jacobian of the user-provided function is independent of input "
                            f"{output_index}. This is not allowed in strict mode when "
                            "create_graph=True."
                        )
                    rows[input_index].append(value)
            blocks.append(
                tuple(
                    _stack_rows(rows[j], tuple(output.shape) + tuple(tensor.shape))
                    if count
                    else zeros(tuple(output.shape) + tuple(tensor.shape), dtype=tensor.dtype)
                    for j, tensor in enumerate(inputs)
                )
            )
    return _unpack(_finish(tuple(blocks), create_graph), (is_outputs_tuple, is_inputs_tuple))


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar ``func`` at ``inputs``: ``H[i][j]`` has shape
    ``in_i.shape + in_j.shape``; a single input gives one tensor.

    Example::

        >>> H = ember.autograd.functional.hessian(lambda x: (x ** 3).sum(), ember.tensor([1., 2.]))
        >>> H
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def single_output(*arguments):
        output = func(*arguments)
        is_tuple, items = _as_tuple(output, "outputs of the user-provided function", "hessian")
        _check_outputs_require_grad(items, strict)
        if is_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if output.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single "
                "element"
            )
        return output.reshape(())

    def gradient(*arguments):
        inner = jacobian(single_output, arguments, create_graph=True)
        if strict:
            for index, block in enumerate(inner):
                if not block.requires_grad:
                    raise RuntimeError(
                        "While computing the hessian, found that the jacobian of the "
                        f"user-provided function with respect to input {index} is independent "
                        "of the input. This is not allowed in strict mode. You should ensure "
                        "that your function is twice differentiable and that the jacobian "
                        "depends on the inputs (this would be violated by a linear function for "
                        "example)."
                    )
        return inner

    if outer_jacobian_strategy == "forward-mode":
        _check_strategy("forward-mode", create_graph, strict, vectorize)
    result = jacobian(
        gradient, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize
    )
    return _unpack(result, (is_inputs_tuple, is_inputs_tuple))


def _scalar_output(func, inputs: tuple, strict: bool, function: str):
    outputs = func(*inputs)
    is_outputs_tuple, outputs = _as_tuple(
        outputs, "outputs of the user-provided function", function
    )
    _check_outputs_require_grad(outputs, strict)
    if is_outputs_tuple:
        raise RuntimeError(f"The function given to {function} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {function} should contain a single "
            "element"
        )
    return outputs


def _check_jacobian(jacobian_values: tuple, strict: bool) -> None:
    if not strict:
        return
    for index, value in enumerate(jacobian_values):
        if value is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {index}. "
                "This is not allowed in strict mode."
            )
        if not value.requires_grad:
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided "
                f"function with respect to input {index} is independent of the input. This is "
                "not allowed in strict mode. You should ensure that your function is twice "
                "differentiable and that the jacobian depends on the inputs (this would be "
                "violated by a linear function for example)."
            )


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Hessian product ``v^T H`` of a scalar ``func`` at ``inputs``.

    Returns:
        ``(func_output, vhp)``, ``vhp`` structured like ``inputs``.
    """

    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vector(
            v, inputs, is_inputs_tuple, create_graph, "vhp", "input to the user-provided function"
        )
        outputs = _scalar_output(func, inputs, strict, "vhp")
        gradient = _grad(outputs, inputs, None, create_graph=True)
        _check_jacobian(gradient, strict)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        grads = _grad(gradient, inputs, v, create_graph)
        result = _zeros_for_unused(grads, inputs, strict, create_graph, "double_back")
    return (
        _unpack(_finish(outputs, create_graph), False),
        _unpack(_finish(result, create_graph), is_inputs_tuple),
    )


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Hessian-vector product ``H v`` of a scalar ``func`` at ``inputs`` (double-vjp trick;
    equal to ``vhp`` whenever the Hessian is symmetric).

    Returns:
        ``(func_output, hvp)``, ``hvp`` structured like ``inputs``.
    """

    with grad_mode.enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _prepare(inputs, create_graph, need_graph=True)
        v = _vector(
            v, inputs, is_inputs_tuple, create_graph, "hvp", "input to the user-provided function"
        )
        outputs = _scalar_output(func, inputs, strict, "hvp")
        gradient = _grad(outputs, inputs, None, create_graph=True)
        _check_jacobian(gradient, strict)
        cotangents = tuple(zeros_like(tensor).requires_grad_(True) for tensor in inputs)
        double_back = _grad(gradient, inputs, cotangents, create_graph=True)
    with grad_mode.set_grad_enabled(create_graph or grad_mode.is_grad_enabled()):
        grads = _grad(double_back, cotangents, v, create_graph)
        result = _zeros_for_unused(grads, inputs, strict, create_graph, "double_back_trick")
    return (
        _unpack(_finish(outputs, create_graph), False),
        _unpack(_finish(result, create_graph), is_inputs_tuple),
    )
