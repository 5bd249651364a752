"""Hooks: where they are kept, the handle that removes one, and whether any exist.

A hook lives in a dict (handle id -> hook) on its owner, a tensor or a graph node, made
on the first registration (``add_hook``). The engine takes its fastest walk only while no
live owner still holds a hook; ``hooks_registered`` answers that.
"""

from __future__ import annotations

import itertools
import threading
import weakref

from ember._tape import graph_break

# The dicts a hook can live in: on a tensor, ``_hooks`` and ``_post_accumulate_hooks``; on a
# node, ``_hooks`` (after it runs), ``_prehooks`` (before), ``_tensor_hooks`` (the hooks of
# its output tensors, by output number) and ``_retained`` (outputs that retain their grad).
REGISTRIES = ("_hooks", "_post_accumulate_hooks", "_prehooks", "_tensor_hooks", "_retained")


class RemovableHandle:
    """Returned by ``register_hook`` and its kin; ``remove()`` takes the hook out again."""

    _ids = itertools.count()  # next() on a count is one C call, atomic under the GIL

    def __init__(self, registry: dict):
        self._registry = weakref.ref(registry) if hasattr(registry, "__weakref__") else None
        self._strong = registry if self._registry is None else None
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        registry = self._strong if self._registry is None else self._registry()
        if registry is not None:
            registry.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def add_hook(owner, registry: str, hook, output_nr: int | None = None) -> RemovableHandle:
    """Keep ``hook`` in ``owner``'s dict named ``registry`` (under ``output_nr``, if given)."""
    graph_break("a hook registered inside the compiled call")
    hooks = getattr(owner, registry)
    if hooks is None:
        hooks = {}
        setattr(owner, registry, hooks)
    if output_nr is not None:
        hooks = hooks.setdefault(output_nr, {})
    note_hooked(owner)
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


# Every owner that was given a hook. One set for all threads (a hook on a shared model may be
# met by any thread's backward); the lock keeps one thread's registration from changing the
# set while another lists it. Keyed by id: a WeakSet compares a tensor registered twice
# with ``==``, which is elementwise for tensors.
_hooked = weakref.WeakValueDictionary()
_hooked_lock = threading.Lock()


def note_hooked(owner) -> None:
    with _hooked_lock:
        _hooked[id(owner)] = owner


def hooks_registered() -> bool:
    """Whether some live tensor or node still holds a hook."""
    if not _hooked:
        return False
    with _hooked_lock:
        owners = list(_hooked.values())
    return any(getattr(owner, name, None) for owner in owners for name in REGISTRIES)
