"""The reverse-mode transforms: ``grad``, ``grad_and_value``, ``vjp`` and ``jacrev``.

Each runs ``func`` once on the tensors a ``Level`` lifts (see ``_level.py``) and pulls
cotangents back through ember's ordinary autograd: ``grad`` one seed of 1, ``vjp`` the
caller's cotangents, ``jacrev`` the unit vectors, one output element at a time.
"""

from __future__ import annotations

import functools

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.func import _tree
from ember.func._level import Level, lift_arguments, lift_tree, split_aux
from ember.ops.creation import ones_like, zeros
from ember.ops.shape import cat, stack

__all__ = ["grad", "grad_and_value", "jacrev", "vjp"]


def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``grad`` that also returns the value: ``(df/dx, f(x))``, or ``((df/dx), (f(x), aux))``.

    Args and Returns as ``grad``, with the function's value (and aux) beside the gradient.

    Example::

        >>> gradient, value = grad_and_value(lambda x: (x ** 2).sum())(ember.tensor([1., 2.]))
        >>> gradient, value
        (tensor([2., 4.]), tensor(5.))
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "grad_and_value(f)(*args)"
        level = Level()
        with grad_mode.enable_grad():
            arguments, lifted, spec = lift_arguments(level, args, argnums)
            output, aux = split_aux(func(*arguments, **kwargs), has_aux, api)
            if not isinstance(output, Tensor):
                raise RuntimeError(
                    f"{api}: Expected f(*args) to return a Tensor, got {type(output)}"
                )
            if output.dim() != 0:
                raise RuntimeError(
                    f"{api}: Expected f(*args) to return a scalar Tensor, got tensor with "
                    f"{output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?"
                )
            level.watch([output])
            gradients = level.gradients([output], [ones_like(output)], lifted)
        gradient = level.release(_tree.unflatten(gradients, spec))
        value = level.release(output)
        if has_aux:
            return gradient, (value, level.release(aux))
        return gradient, value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """The gradient of a scalar function: ``grad(f)(x) = df/dx``.

    ``grad(f)`` is a function taking ``f``'s arguments. Transforms compose: ``grad(grad(f))``
    is the second derivative, ``vmap(grad(f))`` per-sample gradients. The result carries a
    graph only where the caller's own tensors (an input requiring grad, a weight ``f``
    closes over) took part, as PyTorch's levels give.

    Args:
        func: returns a 0-d tensor (or ``(tensor, aux)`` with ``has_aux``).
        argnums: the positional argument to differentiate with respect to, or a tuple of them.
            An argument may be a pytree (tuple, list, dict) of tensors.
        has_aux: ``func`` returns ``(output, aux)``; aux is returned beside the gradient.

    Returns:
        A function returning the gradient, shaped like ``args[argnums]`` (a tuple for a tuple
        ``argnums``), and ``(gradient, aux)`` with ``has_aux``.

    Example::

        >>> ember.func.grad(lambda x: x.sin())(ember.tensor(0.0))
        tensor(1.)
        >>> ember.func.grad(ember.func.grad(lambda x: x ** 3))(ember.tensor(2.0))
        tensor(12.)
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        gradient, value = grad_and_value(func, argnums, has_aux)(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def _check_cotangents(cotangents, spec, outputs) -> list:
    leaves, given = _tree.flatten(cotangents)
    if given != spec:
        raise RuntimeError(
            "Expected pytree structure of cotangents to be the same as pytree structure of "
            f"outputs to the function. cotangents: {given!r}, primal output: {spec!r}"
        )
    seeds = []
    for index, (seed, output) in enumerate(zip(leaves, outputs)):
        if not isinstance(seed, Tensor):
            raise TypeError(
                f"gradients can be either Tensors or None, but got {type(seed).__name__}"
            )
        if seed.shape != output.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{index}] has a shape of {seed.shape} and "
                f"output[{index}] has a shape of {output.shape}."
            )
        seeds.append(seed.to(output.dtype))
    return seeds


def _flat_tensors(output, api: str) -> tuple:
    leaves, spec = _tree.flatten(output)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(
                f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(leaf)}"
            )
    return leaves, spec


def vjp(func, *primals, has_aux: bool = False):
    """``func``'s output at ``primals`` and the function pulling cotangents back through it.

    ``vjp_fn(cotangents)`` returns ``cotangents^T J``: one gradient per primal (a tuple,
    each shaped like its primal), for cotangents shaped like the output (same pytree).
    It can be called many times.

    Args:
        func: takes the primals, returns a tensor or a pytree of tensors.
        primals: tensors, or pytrees of tensors.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, vjp_fn)``, or ``(output, vjp_fn, aux)`` with ``has_aux``.

    Example::

        >>> output, vjp_fn = ember.func.vjp(lambda x: x ** 2, ember.tensor([1., 2.]))
        >>> vjp_fn(ember.ones(2))
        (tensor([2., 4.]),)
    """
    api = "vjp(f, *primals)"
    level = Level()
    with grad_mode.enable_grad():
        arguments, lifted, spec = lift_tree(level, primals)
        output, aux = split_aux(func(*arguments), has_aux, api)
        outputs, output_spec = _flat_tensors(output, api)
        level.watch(outputs)

    def vjp_fn(cotangents, *, retain_graph: bool = True, create_graph=None):
        seeds = _check_cotangents(cotangents, output_spec, outputs)
        if create_graph is None:
            # Derivatives are recorded where the caller's graph continues: through the
            # primals' outer dependencies, or through cotangents that require grad.
            create_graph = level.keep or (
                grad_mode.is_grad_enabled() and any(seed.requires_grad for seed in seeds)
            )
        gradients = level.gradients(outputs, seeds, lifted, create_graph)
        return level.release(_tree.unflatten(gradients, spec), keep=create_graph)

    released = level.release(output)
    if has_aux:
        return released, vjp_fn, level.release(aux)
    return released, vjp_fn


def _rows(level: Level, outputs: list, lifted: list) -> list:
    """Per output element, in order: its gradient with respect to each lifted input."""
    rows = []
    for output in outputs:
        count = output.numel()
        for element in range(count):
            basis = zeros(count, dtype=output.dtype, device=output.device)
            basis[element] = 1
            rows.append(level.gradients([output], [basis.reshape(output.shape)], lifted))
    return rows


def jacobian_blocks(level: Level, outputs: list, lifted: list, by_input: bool) -> list:
    """Per output, per lifted input: the block ``d output / d input``, of shape
    ``output.shape + input.shape``, one vector-Jacobian product per output element.

    The blocks are cut from one tensor per input (``by_input``, the way PyTorch's reverse
    mode makes them) or per output (its forward mode), so that which blocks carry a graph
    is as in PyTorch: all pieces of a tensor do if any of its rows does.
    """
    rows = _rows(level, outputs, lifted)
    counts = [output.numel() for output in outputs]
    blocks = []
    if by_input:
        columns = [
            stack([row[index] for row in rows])
            if rows
            else zeros((0,) + tensor.shape, dtype=tensor.dtype, device=tensor.device)
            for index, tensor in enumerate(lifted)
        ]
        start = 0
        for output, count in zip(outputs, counts):
            blocks.append(
                [
                    column[start : start + count].reshape(output.shape + tensor.shape)
                    for column, tensor in zip(columns, lifted)
                ]
            )
            start += count
        return blocks
    sizes = [tensor.numel() for tensor in lifted]
    one_dtype = len({tensor.dtype for tensor in lifted}) == 1
    start = 0
    for output, count in zip(outputs, counts):
        own, start = rows[start : start + count], start + count
        pieces = [
            stack([row[index] for row in own]).reshape(count, size)
            if count
            else zeros((0, size), dtype=tensor.dtype, device=tensor.device)
            for index, (size, tensor) in enumerate(zip(sizes, lifted))
        ]
        if one_dtype:  # one matrix per output, as forward mode computes it
            pieces = cat(pieces, dim=1).split(sizes, dim=1)
        blocks.append(
            [piece.reshape(output.shape + tensor.shape) for piece, tensor in zip(pieces, lifted)]
        )
    return blocks


def _check_floating(outputs: list) -> None:
    for output in outputs:
        if not output.is_floating_point():
            raise RuntimeError(
                "vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                f"Tensor with dtype {output.dtype}"
            )


def assemble(blocks: list, output_spec, input_spec):
    """The Jacobian's pytree: the output's structure, each leaf the input's structure."""
    return _tree.unflatten([_tree.unflatten(row, input_spec) for row in blocks], output_spec)


def check_chunk_size(chunk_size, api: str) -> None:
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"{api}: `chunk_size` should be greater than 0.")


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, by reverse mode.

    ``J[o][i]`` has shape ``o.shape + i.shape``: the result has the output's pytree
    structure, each leaf holding the structure of ``args[argnums]`` (a tuple for a tuple
    ``argnums``). One vector-Jacobian product per output element; ``chunk_size`` is
    checked and otherwise changes nothing (ember computes one row at a time).

    Args:
        func: returns a tensor or a pytree of floating-point tensors.
        argnums: an int or a tuple of ints.
        has_aux: ``func`` returns ``(output, aux)``; returns ``(jacobian, aux)``.

    Example::

        >>> ember.func.jacrev(lambda x: x ** 2)(ember.tensor([1., 2.]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    check_chunk_size(chunk_size, "jacrev")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        api = "vjp(f, *primals)"
        level = Level()
        with grad_mode.enable_grad():
            arguments, lifted, input_spec = lift_arguments(level, args, argnums)
            output, aux = split_aux(func(*arguments, **kwargs), has_aux, api)
            outputs, output_spec = _flat_tensors(output, api)
            _check_floating(outputs)
            level.watch(outputs)
            blocks = jacobian_blocks(level, outputs, lifted, by_input=True)
        jacobian = level.release(assemble(blocks, output_spec, input_spec))
        return (jacobian, level.release(aux)) if has_aux else jacobian

    return wrapper
