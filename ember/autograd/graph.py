"""``ember.autograd.graph``: hooks on what the graph saves, and on the gradients it computes.

Autograd saves some tensors in the forward pass for the backward pass: ``x * y`` saves ``x``
and ``y``, ``x.exp()`` its result. Inside ``saved_tensors_hooks(pack_hook, unpack_hook)``,
each tensor saved is handed to ``pack_hook`` and only what it returns is kept; the backward
pass gets the tensor back from ``unpack_hook``. That is how values are moved off a device
(``save_on_cpu``), compressed, or dropped and recomputed (the non-reentrant
``ember.utils.checkpoint``).

The hooks belong to the thread and apply where the tensor is saved: the hooks in force
then are the ones the backward pass calls, whenever it runs. Only the innermost pair
applies. The bookkeeping lives in ``function.py`` (``keep_saved``, ``PackedTensor``),
where a node keeps what it saved; with no hooks in force anywhere, saving costs one read
of a counter more.
"""

from __future__ import annotations

from ember._backend import cuda_library
from ember._tensor import Tensor
from ember.autograd import engine
from ember.autograd.function import (
    BackwardNode,
    saved_hooks_anywhere,
    thread_state as _thread_state,
)

__all__ = [
    "saved_tensors_hooks",
    "save_on_cpu",
    "disable_saved_tensors_hooks",
    "register_multi_grad_hook",
    "Node",
    "increment_version",
]

# The class of every ``grad_fn`` (and of ``AccumulateGrad``), so that
# ``isinstance(t.grad_fn, ember.autograd.graph.Node)`` holds as in PyTorch.
Node = BackwardNode


class saved_tensors_hooks:
    """Context manager: pass the tensors autograd saves through ``pack_hook`` and back
    through ``unpack_hook``.

    ``pack_hook(tensor)`` runs (under ``no_grad``) each time an operation recorded inside the
    block saves a tensor for its backward pass; it may return any object and must not change
    ``tensor`` in place. ``unpack_hook(packed)`` runs each time the backward pass (or
    ``ctx.saved_tensors``) reads that value, and must return a tensor of the saved tensor's
    shape. The hooks belong to the thread; nested blocks replace the outer hooks for their
    duration.

    Args:
        pack_hook: called with each saved tensor; returns what is kept.
        unpack_hook: called with what ``pack_hook`` returned; returns the tensor.

    Example::

        >>> def pack(x):
        ...     return x.to(ember.float16)      # keep half the bytes
        >>> def unpack(x):
        ...     return x.to(ember.float32)
        >>> with ember.autograd.graph.saved_tensors_hooks(pack, unpack):
        ...     y = (a * b).sum()               # a and b are saved as float16 copies
        >>> y.backward()
    """

    def __init__(self, pack_hook, unpack_hook):
        if not callable(pack_hook) or not callable(unpack_hook):
            raise TypeError(
                "saved_tensors_hooks(): pack_hook and unpack_hook must be callables, got "
                f"{type(pack_hook).__name__} and {type(unpack_hook).__name__}"
            )
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        state = _thread_state
        if state.saved_hooks_disabled is not None:
            raise RuntimeError(state.saved_hooks_disabled)
        state.saved_hooks.append((self.pack_hook, self.unpack_hook))
        with saved_hooks_anywhere.lock:
            saved_hooks_anywhere.count += 1
        return self

    def __exit__(self, *exc_info):
        _thread_state.saved_hooks.pop()
        with saved_hooks_anywhere.lock:
            saved_hooks_anywhere.count -= 1
        return False


class save_on_cpu(saved_tensors_hooks):
    """Context manager: keep the tensors autograd saves in host memory, and move each back
    to its device when the backward pass needs it.

    A saved CPU tensor is kept as it is; with ``pin_memory`` every saved tensor is copied
    into page-locked memory (a plain copy where CUDA is missing, as in PyTorch), from which
    it is copied back without blocking.

    Args:
        pin_memory: copy into page-locked memory.
        device_type: the accelerator the tensors come from (``"cuda"``).

    Example::

        >>> with ember.autograd.graph.save_on_cpu(pin_memory=True):
        ...     loss = model(batch).sum()       # activations wait in host memory
        >>> loss.backward()
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        pin = pin_memory and device_type == "cuda" and cuda_library() is not None

        def pack_to_cpu(tensor):
            if not pin_memory:
                return tensor.device, tensor.cpu()
            packed = tensor.detach().cpu()
            if tensor.device.type == "cpu":  # ``cpu()`` copied nothing: a copy of its own
                packed = packed.clone()
            return tensor.device, packed.pin_memory() if pin else packed

        def unpack_from_cpu(packed):
            device, tensor = packed
            return tensor.to(device, non_blocking=pin_memory)

        super().__init__(pack_to_cpu, unpack_from_cpu)


class disable_saved_tensors_hooks:
    """Context manager: refuse saved-tensor hooks inside the block.

    Entering ``saved_tensors_hooks`` inside it, or entering it while hooks are in force,
    raises ``RuntimeError(error_message)``. For a feature that cannot work with them.

    Args:
        error_message: the message of the error.

    Example::

        >>> with ember.autograd.graph.disable_saved_tensors_hooks("not with this feature"):
        ...     with ember.autograd.graph.saved_tensors_hooks(pack, unpack):  # raises
        ...         pass
    """

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        state = _thread_state
        if state.saved_hooks:
            raise RuntimeError(self.error_message)
        self.previous = state.saved_hooks_disabled
        state.saved_hooks_disabled = self.error_message
        return self

    def __exit__(self, *exc_info):
        _thread_state.saved_hooks_disabled = self.previous
        return False


def increment_version(tensor) -> None:
    """Count an in-place change that autograd did not see (one made through ``.data`` or
    another library), so that a saved ``tensor`` is reported as modified."""
    for item in (tensor,) if isinstance(tensor, Tensor) else tensor:
        item._version_counter[0] += 1


# ---------------------------------------------------------------- multi-grad hooks


class _MultiHandle:
    """What ``register_multi_grad_hook`` returns: ``remove()`` takes out every hook."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


class _MultiGradHook:
    """The gradients of several tensors, gathered per backward pass.

    With ``mode="all"``, ``fn`` gets them all (None for a tensor that got none) once every
    tensor's gradient has arrived, or at the end of the pass for those that got none. With
    ``mode="any"``, ``fn`` gets the first gradient to arrive in each pass.
    """

    def __init__(self, count: int, fn, mode: str):
        self.count, self.fn, self.mode = count, fn, mode
        # Per pass under way (the list of its final callbacks identifies it): the gradients
        # so far ("all"), or nothing ("any": the pass has had its call).
        self.passes = {}

    def hook(self, index: int):
        def on_grad(grad):
            callbacks = engine.thread_state.callbacks[-1]
            key = id(callbacks)
            if self.mode == "any":
                if key not in self.passes:
                    self.passes[key] = None
                    engine.queue_callback(lambda: self.passes.pop(key, None))
                    self.fn(grad)
                return None
            gathered = self.passes.get(key)
            if gathered is None:
                gathered = self.passes[key] = [[None] * self.count, 0]
                engine.queue_callback(lambda: self._finish(key))
            grads = gathered[0]
            if grads[index] is None:
                gathered[1] += 1
            grads[index] = grad
            if gathered[1] == self.count:
                self._finish(key)
            return None

        return on_grad

    def _finish(self, key) -> None:
        gathered = self.passes.pop(key, None)
        if gathered is not None:
            self.fn(tuple(gathered[0]))


def register_multi_grad_hook(tensors, fn, *, mode: str = "all") -> _MultiHandle:
    """Call ``fn`` once per backward pass with the gradients of several ``tensors``.

    With ``mode="all"``, ``fn(grads)`` gets one gradient per tensor (None for those the pass
    does not reach), once all of them have been computed. With ``mode="any"``, ``fn(grad)``
    gets the first gradient computed among them. ``fn`` returns None: it observes, it does
    not replace.

    Unlike PyTorch, which knows before the pass which tensors it will reach, ember calls an
    ``"all"`` hook whose tensors are not all reached at the end of the pass.

    Args:
        tensors: the tensors, each requiring grad.
        fn: the function to call.
        mode: ``"all"`` or ``"any"``.

    Returns:
        A handle whose ``remove()`` unregisters the hook.

    Example::

        >>> handle = ember.autograd.graph.register_multi_grad_hook(
        ...     (a, b), lambda grads: print([g.shape for g in grads]))
        >>> (a * b).sum().backward()
        [ember.Size([2]), ember.Size([2])]
    """
    supported = ("all", "any")
    if mode not in supported:
        raise ValueError(f"Expects mode to be one of {supported} but got {mode}")
    tensors = tuple(tensors)
    for tensor in tensors:
        if not tensor.requires_grad:  # PyTorch's own check, an assertion there
            raise AssertionError("Expected gradient function to be set")
    gatherer = _MultiGradHook(len(tensors), fn, mode)
    return _MultiHandle(tensor.register_hook(gatherer.hook(index))
                        for index, tensor in enumerate(tensors))
