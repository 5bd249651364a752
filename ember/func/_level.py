"""What the differentiating transforms share: one ``Level`` per call, and ``argnums``.

PyTorch's functorch wraps each transform's inputs in tensors of a new "level", so that
``grad(f)(x)`` differentiates only what ``f`` did to its own ``x`` and its result carries
no graph unless the caller's tensors took part. ember reaches the same results with its
ordinary reverse mode: a ``Level`` gives ``func`` fresh leaves (``x.detach()`` requiring
grad), or, for a tensor that is already part of a graph the caller is recording, a view
of it that stays connected. After ``func`` has run, a walk of the output's graph tells
whether it reached any tensor from outside the level (an input that required grad, a
weight the function closed over, the fresh leaf of an enclosing transform): only then is
the derivative itself recorded (``create_graph=True``), which is what makes
``grad(grad(f))`` and ``jacrev(jacrev(f))`` work, and only then do results keep a graph.
"""

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd._differentiate import grad as autograd_grad
from ember.func import _tree
from ember.ops.creation import zeros_like


class Level:
    """One call of a transform: the leaves it made, and whether results keep a graph."""

    def __init__(self):
        self.grad_enabled = grad_mode.is_grad_enabled()
        self.leaves = []  # what func received, in order; differentiated with respect to
        self._own = set()  # ids of the fresh leaves this level made (kept alive in leaves)
        self.keep = False  # set by ``watch``: the outputs reached outside the level

    def lift(self, tensor: Tensor) -> Tensor:
        """The tensor ``func`` gets in place of ``tensor``."""
        if self.grad_enabled and tensor.requires_grad:
            inner = tensor.view_as(tensor)
        else:
            inner = tensor.detach().requires_grad_(True)
            self._own.add(id(inner))
        self.leaves.append(inner)
        return inner

    def reaches_outside(self, tensor) -> bool:
        """Whether ``tensor``'s graph reaches a leaf this level did not make."""
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            return False
        if tensor.grad_fn is None:
            return id(tensor) not in self._own
        pending, seen = [tensor.grad_fn], {id(tensor.grad_fn)}
        while pending:
            node = pending.pop()
            if node._is_accumulator:
                if id(node.variable) not in self._own:
                    return True
                continue
            for next_node, _ in node.next_functions:
                if next_node is not None and id(next_node) not in seen:
                    seen.add(id(next_node))
                    pending.append(next_node)
        return False

    def watch(self, tensors) -> None:
        """Decide from ``func``'s outputs whether derivatives must be recorded."""
        self.keep = self.grad_enabled and any(self.reaches_outside(t) for t in tensors)

    def release(self, tree, keep=None):
        """``tree`` with each tensor detached unless it depends on something outside (and
        ``keep``, by default whether the outputs did)."""
        keep = self.keep if keep is None else keep
        leaves, spec = _tree.flatten(tree)
        released = [
            item.detach()
            if isinstance(item, Tensor) and not (keep and self.reaches_outside(item))
            else item
            for item in leaves
        ]
        return _tree.unflatten(released, spec)

    def gradients(self, outputs, seeds, inputs, create_graph=None) -> list:
        """d(sum of seeds * outputs)/d inputs, zeros where an input took no part."""
        if create_graph is None:
            create_graph = self.keep
        pairs = [(out, seed) for out, seed in zip(outputs, seeds) if out.requires_grad]
        found = [None] * len(inputs)
        if pairs:
            with grad_mode.enable_grad():
                found = autograd_grad(
                    [out for out, _ in pairs],
                    inputs,
                    [seed for _, seed in pairs],
                    retain_graph=True,
                    create_graph=create_graph,
                    allow_unused=True,
                )
        return [zeros_like(x) if g is None else g for g, x in zip(found, inputs)]


# ---------------------------------------------------------------- argnums


def positions(argnums, count: int) -> tuple:
    """The positional indices that ``argnums`` names among ``count`` arguments."""
    if isinstance(argnums, int):
        requested = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        for item in argnums:
            if not isinstance(item, int):
                raise RuntimeError(f"argnum must be int, got: {type(item)}")
        requested = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for item in requested:
        if not -count <= item < count:
            raise RuntimeError(f"Got argnum={item}, but only {count} positional inputs")
    normalized = tuple(item % count for item in requested)
    if len(set(normalized)) != len(normalized):
        raise RuntimeError(f"argnums elements must be unique, got {normalized}")
    return normalized


def lift_tree(level: Level, tree, floating_only: bool = False) -> tuple:
    """(``tree`` with its tensors lifted, the lifted leaves, the tree's structure)."""
    leaves, spec = _tree.flatten(tree)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(leaf)}")
        if floating_only and not leaf.is_floating_point():
            raise ValueError(
                f"Expected primal to be floating point or complex, but got: {leaf.dtype}"
            )
    lifted = [level.lift(leaf) for leaf in leaves]
    return _tree.unflatten(lifted, spec), lifted, spec


def lift_arguments(level: Level, args: tuple, argnums, floating_only: bool = False) -> tuple:
    """(the arguments ``func`` gets, the lifted leaves, the structure of the result).

    The structure is that of ``args[argnums]`` (a tuple of them for a tuple ``argnums``),
    the shape in which gradients and Jacobians come back.
    """
    chosen = positions(argnums, len(args))
    selected = tuple(args[index] for index in chosen)
    tree, lifted, spec = lift_tree(
        level, selected if isinstance(argnums, tuple) else selected[0], floating_only
    )
    arguments = list(args)
    for index, value in zip(chosen, tree if isinstance(argnums, tuple) else (tree,)):
        arguments[index] = value
    return tuple(arguments), lifted, spec


def split_aux(output, has_aux: bool, api: str):
    """(output, aux) from what ``func`` returned; aux must hold only tensors."""
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(
            f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True"
        )
    output, aux = output
    for leaf in _tree.flatten(aux)[0]:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return output, aux
