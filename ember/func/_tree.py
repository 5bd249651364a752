"""Pytrees: nested tuples, lists and dicts, taken apart into their leaves and put back.

A ``Spec`` records the containers (their types, and a dict's keys in order); everything
that is not a tuple, list or dict is a leaf. Two specs compare equal when the structures
are the same, and print as PyTorch's messages draw them: ``(*, {'k': [*]})``.
"""

from __future__ import annotations


class Spec:
    """The shape of a pytree: ``kind`` is None for a leaf, else the container's type."""

    __slots__ = ("children", "keys", "kind")

    def __init__(self, kind=None, keys=(), children=()):
        self.kind, self.keys, self.children = kind, tuple(keys), tuple(children)

    @property
    def is_leaf(self) -> bool:
        return self.kind is None

    @property
    def leaf_count(self) -> int:
        return 1 if self.kind is None else sum(child.leaf_count for child in self.children)

    def __eq__(self, other) -> bool:
        return isinstance(other, Spec) and (self.kind, self.keys, self.children) == (
            other.kind,
            other.keys,
            other.children,
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.keys, self.children))

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        if issubclass(self.kind, dict):
            inner = ", ".join(f"{key!r}: {child!r}" for key, child in zip(self.keys, self.children))
            return "{" + inner + "}"
        inner = ", ".join(repr(child) for child in self.children)
        if issubclass(self.kind, list):
            return f"[{inner}]"
        return f"({inner},)" if len(self.children) == 1 else f"({inner})"


def _node_kind(value):
    if isinstance(value, (tuple, list, dict)):
        return type(value)
    return None


def _children(value) -> tuple:
    """(keys, children) of a container."""
    if isinstance(value, dict):
        return tuple(value.keys()), tuple(value.values())
    return (), tuple(value)


def flatten(value) -> tuple:
    """(the leaves in order, the ``Spec`` that ``unflatten`` rebuilds them with)."""
    leaves = []

    def visit(item) -> Spec:
        kind = _node_kind(item)
        if kind is None:
            leaves.append(item)
            return Spec()
        keys, children = _children(item)
        return Spec(kind, keys, [visit(child) for child in children])

    return leaves, visit(value)


def unflatten(leaves, spec: Spec):
    """The pytree of structure ``spec`` holding ``leaves`` in order."""
    iterator = iter(leaves)

    def build(node: Spec):
        if node.kind is None:
            return next(iterator)
        children = [build(child) for child in node.children]
        if issubclass(node.kind, dict):
            return node.kind(zip(node.keys, children))
        if issubclass(node.kind, tuple) and hasattr(node.kind, "_fields"):  # a namedtuple
            return node.kind(*children)
        return node.kind(children)

    return build(spec)


def broadcast_prefix(prefix, spec: Spec):
    """The leaves of ``prefix`` repeated over the leaves of a tree of structure ``spec``.

    ``prefix`` has the tree's structure down to some depth; each of its leaves stands for
    the whole subtree below it. Returns None where the structures disagree.
    """
    found = []

    def visit(item, node: Spec) -> bool:
        kind = _node_kind(item)
        if kind is None:
            found.extend([item] * node.leaf_count)
            return True
        if kind is not node.kind:
            return False
        keys, children = _children(item)
        if len(children) != len(node.children):
            return False
        if issubclass(kind, dict):
            if set(keys) != set(node.keys):
                return False
            children = [item[key] for key in node.keys]
        return all(visit(child, inner) for child, inner in zip(children, node.children))

    return found if visit(prefix, spec) else None
