"""``vmap``: a function of one example mapped over a batch dimension.

PyTorch runs ``func`` once on "batched tensors" whose ops apply batching rules. ember has
no batching rules: it calls ``func`` once per index along the mapped dimensions, on
``select`` views of the inputs, and stacks the results. The values, shapes, dtypes and
gradients are the same; there is no speed-up, and what PyTorch refuses inside vmap
because a batched tensor cannot do it (``.item()``, branching on a tensor's value) works
here, one example at a time.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager

from ember._tensor import Tensor
from ember.func import _tree
from ember.ops.comparison import equal
from ember.ops.creation import zeros
from ember.ops.random import get_rng_state, set_rng_state
from ember.ops.shape import stack

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


def check_randomness(randomness) -> None:
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )


@contextmanager
def random_mode(randomness: str):
    """Within the block, call the yielded function before each example.

    ``"same"`` rewinds the default generator before each example, so every example draws
    the same numbers; ``"different"`` lets them draw in turn; ``"error"`` raises at the end
    of the block if anything drew from the default generator (a draw from a ``Generator``
    object of the caller's own is not seen).
    """
    if randomness == "different":
        yield lambda: None
        return
    state = get_rng_state()
    if randomness == "same":
        yield lambda: set_rng_state(state)
        return
    yield lambda: None
    if not equal(get_rng_state(), state):
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either use "
            "the 'same' or 'different' randomness flags on vmap or perform the randomness "
            "operation out of vmap"
        )


def _name(func) -> str:
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return getattr(func, "__name__", None) or repr(func)


def _mapped_inputs(name: str, in_dims, args: tuple) -> tuple:
    """(the leaves of ``args``, the dim mapped in each or None, ``args``'s structure,
    the batch size)."""
    where = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
    if not args:
        raise ValueError(
            f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you "
            "are trying to vmap over a function with no inputs. The latter is unsupported."
        )
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(
            f"{where}: expected `in_dims` to be int or a (potentially nested) tuple matching "
            f"the structure of inputs, got: {type(in_dims)}."
        )
    leaves, spec = _tree.flatten(args)
    dims = _tree.broadcast_prefix(in_dims, spec)
    if dims is None:
        raise ValueError(
            f"{where}: in_dims is not compatible with the structure of `inputs`. in_dims has "
            f"structure {_tree.flatten(in_dims)[1]!r} but inputs has structure {spec!r}."
        )
    sizes, normalized = [], []
    for leaf, dim in zip(leaves, dims):
        if dim is not None and not isinstance(dim, int):
            raise ValueError(
                f"{where}: Got in_dim={dim} for an input but in_dim must be either an integer "
                "dimension or None."
            )
        if dim is not None and not isinstance(leaf, Tensor):
            raise ValueError(
                f"{where}: Got in_dim={dim} for an input but the input is of type "
                f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use None as "
                "the respective in_dim"
            )
        if dim is not None:
            rank = leaf.dim()
            if not -rank <= dim < rank:
                raise ValueError(
                    f"{where}: Got in_dim={dim} for some input, but that input is a Tensor of "
                    f"dimensionality {rank} so expected in_dim to satisfy -{rank} <= in_dim < "
                    f"{rank}."
                )
            dim %= rank
            sizes.append(leaf.shape[dim])
        normalized.append(dim)
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) > 1:
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    return leaves, normalized, spec, sizes[0]


def _example(leaves: list, dims: list, index):
    """The leaves of example ``index``; with ``index=None``, zeros shaped like one example."""
    found = []
    for leaf, dim in zip(leaves, dims):
        if dim is None:
            found.append(leaf)
        elif index is None:
            shape = leaf.shape[:dim] + leaf.shape[dim + 1 :]
            found.append(zeros(shape, dtype=leaf.dtype, device=leaf.device))
        else:
            found.append(leaf.select(dim, index))
    return found


def _out_dims(name: str, out_dims, spec):
    """The out dim of each output leaf."""
    dims_leaves, dims_spec = _tree.flatten(out_dims)
    if not all(dim is None or isinstance(dim, int) for dim in dims_leaves):
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims!r}): `out_dims` must be an int, None or a "
            "python collection of ints representing where in the outputs the vmapped "
            "dimension should appear."
        )
    dims = _tree.broadcast_prefix(out_dims, spec)
    if dims is None and isinstance(out_dims, tuple) and len(out_dims) == 1:
        dims = _tree.broadcast_prefix(out_dims[0], spec)
    if dims is None:
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims!r})(<inputs>): out_dims is not compatible "
            f"with the structure of `outputs`. out_dims has structure {dims_spec!r} but "
            f"outputs has structure {spec!r}."
        )
    return dims


def _root(tensor: Tensor) -> Tensor:
    return tensor if tensor._base is None else tensor._base


def _varies(values: list, mapped: set) -> bool:
    """Whether an output depends on the batch: a view of a mapped input, or unequal values
    in two examples (an output that depends on the batch but is equal across it is missed,
    where PyTorch's batched tensors know)."""
    first = values[0]
    if any(id(_root(value)) in mapped for value in values):
        return True
    return any(
        value is not first and not (value.shape == first.shape and equal(value, first))
        for value in values[1:]
    )


def _combine(name: str, values: list, dim, size: int, mapped: set):
    """One output leaf from its value in each example (a single example run on zeros
    when the batch is empty)."""
    if dim is None:
        if isinstance(values[0], Tensor) and size and _varies(values, mapped):
            raise ValueError(
                f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None"
            )
        return values[0]
    for value in values:
        if not isinstance(value, Tensor):
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                f"{type(value)}. Did you mean to set out_dims= to None for output?"
            )
    stacked = stack(values, dim)
    return stacked.narrow(dim, 0, 0) if size == 0 else stacked


def _stack_outputs(name: str, out_dims, results: list, size: int, mapped: set):
    flat = [_tree.flatten(result) for result in results]
    spec = flat[0][1]
    for _, other in flat[1:]:
        if other != spec:
            raise RuntimeError(
                f"vmap({name}, ...): `{name}` returned outputs of different structures for "
                f"different examples: {spec!r} and {other!r}"
            )
    dims = _out_dims(name, out_dims, spec)
    combined = [
        _combine(name, [leaves[position] for leaves, _ in flat], dim, size, mapped)
        for position, dim in enumerate(dims)
    ]
    return _tree.unflatten(combined, spec)


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs: ``vmap(f)(x)[i] = f(x[i])``.

    ember runs ``func`` once per index and stacks the results (PyTorch batches the ops
    instead): same values and gradients, no speed-up. Nested ``vmap`` and ``vmap`` of
    ``grad`` (per-sample gradients) work. Keyword arguments are passed unmapped.

    Args:
        func: takes tensors (or pytrees of them), returns a tensor or a pytree of tensors.
        in_dims: the mapped dim of each input: an int for all, or a tuple with one entry per
            positional argument, each an int, None (not mapped) or a pytree matching that
            argument.
        out_dims: where the mapped dim goes in each output (an int, or a pytree matching
            the outputs); None returns an output that does not vary over the batch as is.
        randomness: ``"error"`` raises if ``func`` drew from the default generator (checked
            after the loop), ``"different"`` lets each example draw its own numbers,
            ``"same"`` gives every example the same numbers (the generator is rewound before
            each).
        chunk_size: checked, otherwise changes nothing (ember maps one example at a time).

    Returns:
        A function taking ``func``'s arguments, with the mapped dims added.

    Example::

        >>> x, y = ember.randn(4, 3), ember.randn(4, 3)
        >>> ember.vmap(ember.dot)(x, y).shape
        ember.Size([4])
    """
    check_randomness(randomness)
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        name = _name(func)
        leaves, dims, spec, size = _mapped_inputs(name, in_dims, args)
        results = []
        with random_mode(randomness) as before_each:
            for index in range(size) if size else [None]:
                before_each()
                example = _tree.unflatten(_example(leaves, dims, index), spec)
                results.append(func(*example, **kwargs))
        mapped = {id(_root(leaf)) for leaf, dim in zip(leaves, dims) if dim is not None}
        return _stack_outputs(name, out_dims, results, size, mapped)

    return wrapper
