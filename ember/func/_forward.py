"""The forward-mode transforms — ``jvp``, ``linearize``, ``jacfwd`` — and ``hessian``.

ember has no forward-mode AD; these run through reverse mode and give the same numbers.
A Jacobian-vector product is the double-vjp trick: ``u -> J^T u`` is linear in the
cotangent ``u``, so differentiating ``<J^T u, v>`` with respect to ``u`` gives ``J v``
(one backward that records itself, then one more). ``jacfwd`` is ``jacrev``'s
computation, one vector-Jacobian product per output element.
"""

from __future__ import annotations

import functools

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.func import _tree
from ember.func._level import Level, lift_arguments, lift_tree, split_aux
from ember.func._reverse import assemble, jacobian_blocks, jacrev
from ember.func._vmap import check_randomness, random_mode
from ember.ops.creation import zeros_like

__all__ = ["hessian", "jacfwd", "jvp", "linearize"]


def _flat_outputs(output, api: str) -> tuple:
    leaves, spec = _tree.flatten(output)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(
                f"{api}: expected f(*primals) to return only tensors, got unsupported type "
                f"{type(leaf)}"
            )
    return leaves, spec


class _Pullback:
    """``u -> J^T u`` of ``func``'s outputs, recorded so that it can be differentiated in ``u``.

    ``push(tangents)`` is then ``J v``: the gradient of ``<J^T u, v>`` with respect to ``u``.
    """

    def __init__(self, level: Level, outputs: list, lifted: list):
        self.level, self.outputs, self.lifted = level, outputs, lifted
        self.differentiable = [
            output.is_floating_point() and output.requires_grad for output in outputs
        ]
        self.cotangents = [
            level.lift(zeros_like(output))
            for output, used in zip(outputs, self.differentiable)
            if used
        ]
        # The value of u never enters J v (the map is linear), so zeros are as good as any.
        self.pulled = level.gradients(
            [output for output, used in zip(outputs, self.differentiable) if used],
            self.cotangents,
            lifted,
            create_graph=True,
        )

    def push(self, tangents: list, create_graph: bool) -> list:
        seeds = [tangent.to(primal.dtype) for tangent, primal in zip(tangents, self.lifted)]
        pushed = iter(self.level.gradients(self.pulled, seeds, self.cotangents, create_graph))
        return [
            next(pushed) if used else zeros_like(output)
            for output, used in zip(self.outputs, self.differentiable)
        ]


def _check_tangents(primals: list, tangents: list, api: str) -> None:
    for tangent in tangents:
        if not isinstance(tangent, Tensor):
            raise RuntimeError(
                f"{api}: Expected tangents to only contain Tensors, got {type(tangent)}"
            )
    for primal, tangent in zip(primals, tangents):
        if tangent.shape != primal.shape:
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                "original Tensor, this is not supported. Tensor is of size "
                f"{list(primal.shape)} while the given forward gradient is of size "
                f"{list(tangent.shape)}."
            )


def jvp(func, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False):
    """``func``'s output at ``primals`` and its Jacobian-vector product ``J v`` there.

    Computed by reverse mode (the double-vjp trick): the same numbers as PyTorch's forward
    mode, at the cost of two backward passes. ``strict`` is accepted and unused, as in
    PyTorch.

    Args:
        func: takes the primals, returns a tensor or a pytree of tensors.
        primals: a tuple of floating-point tensors (or pytrees of them): ``func(*primals)``.
        tangents: the vector ``v``, with the primals' structure and shapes.
        has_aux: ``func`` returns ``(output, aux)``.

    Returns:
        ``(output, jvp_out)`` with ``jvp_out`` shaped like the output, and aux third with
        ``has_aux``.

    Example::

        >>> x = ember.tensor([1., 2.])
        >>> ember.func.jvp(lambda x: x ** 2, (x,), (ember.ones(2),))
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(
            f"{api}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals)."
        )
    primal_leaves, primal_spec = _tree.flatten(primals)
    tangent_leaves, tangent_spec = _tree.flatten(tangents)
    if primal_spec != tangent_spec:
        raise RuntimeError(
            f"{api}: Expected primals and tangents to have the same python structure. For "
            "example, if primals is a tuple of 3 tensors, tangents also must be. Got primals "
            f"with structure {primal_spec!r} and tangents with structure {tangent_spec!r}"
        )
    if not primal_leaves:
        raise RuntimeError(f"{api}: Expected primals to contain at least one Tensor.")
    for primal in primal_leaves:
        if not isinstance(primal, Tensor):
            raise RuntimeError(
                f"{api}: Expected primals to only contain Tensors, got {type(primal)}"
            )
    _check_tangents(primal_leaves, tangent_leaves, api)

    level = Level()
    with grad_mode.enable_grad():
        arguments, lifted, _ = lift_tree(level, primals, floating_only=True)
        output, aux = split_aux(func(*arguments), has_aux, api)
        outputs, output_spec = _flat_outputs(output, api)
        level.watch(outputs)
        keep = level.keep or (
            level.grad_enabled and any(tangent.requires_grad for tangent in tangent_leaves)
        )
        pushed = _Pullback(level, outputs, lifted).push(tangent_leaves, create_graph=keep)
    results = (
        level.release(output, keep),
        level.release(_tree.unflatten(pushed, output_spec), keep),
    )
    return results + (level.release(aux, keep),) if has_aux else results


def linearize(func, *primals):
    """``func``'s output at ``primals`` and a function computing ``J v`` there, for many ``v``.

    ``jvp_fn(*tangents)`` takes tangents structured like ``primals``. The pullback is
    recorded once; each call is then one backward pass (the double-vjp trick).

    Returns:
        ``(output, jvp_fn)``.

    Example::

        >>> output, jvp_fn = ember.func.linearize(ember.sin, ember.tensor([0.0]))
        >>> jvp_fn(ember.tensor([2.0]))
        tensor([2.])
    """
    level = Level()
    with grad_mode.enable_grad():
        arguments, lifted, primal_spec = lift_tree(level, primals, floating_only=True)
        output = func(*arguments)
        outputs, output_spec = _flat_outputs(output, "linearize(f, *primals)")
        level.watch(outputs)
        pullback = _Pullback(level, outputs, lifted)

    def jvp_fn(*tangents):
        tangent_leaves, tangent_spec = _tree.flatten(tangents)
        if tangent_spec != primal_spec:
            raise RuntimeError(
                f"Expected the tangents {tangent_spec!r} to have the same argspec as the "
                f"primals {primal_spec!r}"
            )
        for index, (tangent, primal) in enumerate(zip(tangent_leaves, lifted)):
            if not isinstance(tangent, Tensor) or tangent.shape != primal.shape:
                shape = tangent.shape if isinstance(tangent, Tensor) else type(tangent)
                raise RuntimeError(
                    f"tangent:{index} with shape {shape} in flattened pytree doesn't match the "
                    f"shape {primal.shape} of the corresponding primal."
                )
        keep = level.keep or (
            grad_mode.is_grad_enabled() and any(t.requires_grad for t in tangent_leaves)
        )
        with grad_mode.enable_grad():
            pushed = pullback.push(tangent_leaves, create_graph=keep)
        return level.release(_tree.unflatten(pushed, output_spec), keep)

    return level.release(output), jvp_fn


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` with respect to ``args[argnums]``, with ``jacrev``'s layout.

    PyTorch computes it column by column in forward mode; ember computes the same numbers
    row by row in reverse mode. ``func`` runs once, so ``randomness`` only decides whether
    drawing from the default generator inside ``func`` raises (``"error"``, PyTorch's
    default) or is allowed (``"same"``, ``"different"``: every column sees the one draw).

    Args:
        func: returns a tensor or a pytree of tensors.
        argnums: an int or a tuple of ints; the arguments must be floating-point tensors.
        has_aux: ``func`` returns ``(output, aux)``; returns ``(jacobian, aux)``.

    Example::

        >>> ember.func.jacfwd(lambda x: x.sum() * x)(ember.tensor([1., 2.]))
        tensor([[4., 1.],
                [2., 5.]])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        check_randomness(randomness)
        api = "jvp(f, primals, tangents)"
        level = Level()
        with random_mode(randomness), grad_mode.enable_grad():
            arguments, lifted, input_spec = lift_arguments(level, args, argnums, True)
            output, aux = split_aux(func(*arguments, **kwargs), has_aux, api)
            outputs, output_spec = _flat_outputs(output, api)
            level.watch(outputs)
            blocks = jacobian_blocks(level, outputs, lifted, by_input=False)
        jacobian = level.release(assemble(blocks, output_spec, input_spec))
        return (jacobian, level.release(aux)) if has_aux else jacobian

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of a scalar ``func``: ``jacfwd(jacrev(func, argnums), argnums)``.

    ``H[i][j]`` has shape ``output.shape + args[i].shape + args[j].shape``.

    Example::

        >>> ember.func.hessian(lambda x: (x ** 3).sum())(ember.tensor([1., 2.]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)
