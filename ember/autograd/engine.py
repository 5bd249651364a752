"""The backward walk: from the outputs' nodes to the leaves, without recursion.

1. Start from the roots with their seed gradients. A node is queued when its first
   gradient arrives, and the queue runs the most recently created node first. Every node
   that feeds a node was created after it, so by the time a node runs, all of its
   gradient has arrived: no pass is needed to count edges first.
2. A node's backward returns one gradient per input; the engine sums each back to its
   input's shape and dtype (broadcasting is undone here, once, not in each op) and adds
   it into the buffer of the node that made that input.
3. ``AccumulateGrad`` nodes add their gradient into the leaf's ``.grad``.

Gradients travel in one of two forms, the walk's one parameter. A plain ``backward()``
(nothing to record, no hook on any live node or tensor, no anomaly mode, no targets)
keeps them as arrays: each node runs its backward on arrays, and nothing is wrapped in
a tensor until it reaches a leaf. Otherwise they travel as tensors, so that hooks see
tensors and ``create_graph=True`` can record the backward pass itself.
"""

from __future__ import annotations

import sys
import threading
import warnings
from heapq import heappop, heappush

from ember._backend import asarray, ignoring_float_errors, ndarray, xp
from ember._dtype import from_numpy_dtype
from ember._hooks import hooks_registered
from ember._tape import graph_break
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state, forward_trace
from ember.autograd.function import thread_state as autograd_thread


class _ThreadState(threading.local):
    """The engine's state that belongs to the thread running a backward pass."""

    def __init__(self):
        # Per backward pass under way in this thread (they can nest), innermost last: the
        # functions queued (``queue_callback``) to call when it ends.
        self.callbacks = []
        # Per backward pass under way, innermost last: whether it computes the gradients of
        # chosen tensors only (``grad()``, ``backward(inputs=...)``).
        self.targeted = []
        # When True (``ember.viz.recording_gradients()``), each node keeps the norm of the
        # gradient that reached it in ``node.metadata["grad_norm"]``, for the graph picture.
        self.record_gradient_norms = False


thread_state = _ThreadState()


def queue_callback(callback) -> None:
    """Call ``callback()`` once the backward pass that this thread is running has finished.

    Hooks use this to act on the complete set of gradients (DistributedDataParallel's
    final gradient reduction does).
    """
    passes = thread_state.callbacks
    if not passes:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    passes[-1].append(callback)


def is_checkpoint_valid() -> bool:
    """Whether the backward pass this thread runs may start a pass of its own that
    accumulates into ``.grad`` (a reentrant checkpoint's): not one that computes chosen
    tensors' gradients only. PyTorch's ``torch.autograd._is_checkpoint_valid``."""
    return not (thread_state.targeted and thread_state.targeted[-1])


def run_backward(roots, seeds, retain_graph, create_graph, targets=None, accumulate=True):
    """Backpropagate ``seeds`` (tensors) from ``roots`` (pairs of node and output number).

    ``targets`` (pairs of node and output number) restricts the walk to the part of the
    graph that leads to them; the gradients arriving there are returned in order. With
    ``accumulate`` False, no leaf's ``.grad`` is touched.
    """
    graph_break("backward() inside the compiled call")
    state = thread_state
    callbacks = []
    state.callbacks.append(callbacks)
    state.targeted.append(targets is not None)
    try:
        arrays = not (
            create_graph
            or targets is not None
            or anomaly_state.enabled
            or state.record_gradient_norms
            or hooks_registered()
        )
        walk = _Walk(retain_graph, create_graph, targets, accumulate, arrays)
        result = walk.run(roots, seeds)
        while callbacks:
            callbacks.pop(0)()
        return result
    finally:
        state.callbacks.pop()
        state.targeted.pop()


class _Walk:
    """One backward pass: the gradient buffers, the queue, and what the caller asked for."""

    def __init__(self, retain_graph, create_graph, targets, accumulate, arrays):
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.accumulate, self.arrays = accumulate, arrays
        self.buffers = {}  # node -> its output gradients so far, one slot per output
        self.ready = []  # a heap of (-sequence number, node); sequence numbers are unique
        self.targets = targets
        self.captured = {}  # index of a target -> the gradient that reached it
        self.capture_at = {}  # node -> [(index of a target, output number)]
        for index, (node, output_nr) in enumerate(targets or ()):
            self.capture_at.setdefault(node, []).append((index, output_nr))
        self.needed = None  # with targets: the nodes from which one can be reached

    def run(self, roots, seeds) -> list:
        if self.targets is not None:
            self.needed = _nodes_leading_to(roots, self.targets)
        for (node, output_nr), seed in zip(roots, seeds):
            _queue(self.buffers, self.ready, node, output_nr, seed._data if self.arrays else seed)
        with grad_mode.set_grad_enabled(self.create_graph), ignoring_float_errors():
            self._walk()
        return [self.captured.get(index) for index in range(len(self.targets or ()))]

    def _walk(self) -> None:
        buffers, ready, arrays = self.buffers, self.ready, self.arrays
        retain_graph = self.retain_graph
        steps = autograd_thread.optimizer_steps
        leaves = []  # the array form's leaves, with their gradient buffers: see below
        while ready:
            node = heappop(ready)[1]
            grads = buffers.pop(node)
            if not arrays:
                results = self._run_on_tensors(node, grads)
                if results is None:
                    continue
            elif node._is_accumulator:
                leaves.append((node.variable, grads))
                continue
            else:
                results = _backward_on_arrays(node, grads)
            for position, shape, dtype, next_node, output_nr in node._input_meta:
                grad = results[position]
                if next_node is None or grad is None:
                    continue
                if not arrays:
                    grad = _conform(grad, shape, dtype, node, position)
                elif type(grad) is not ndarray or grad.shape != shape or grad.dtype != dtype:
                    grad = _conform_array(grad, shape, dtype, node, position)
                _queue(buffers, ready, next_node, output_nr, grad)
            node._executed_at = steps
            if node._saved and not retain_graph:
                node._release()
        # Leaves last, once the walk has let go of its gradients, so that a leaf whose
        # ``.grad`` is empty can take over an array that nothing else holds.
        results = grad = grads = None
        for variable, slots in leaves:
            _accumulate_array(variable, slots.pop())

    def _run_on_tensors(self, node, grads):
        """A node's run in the tensor form, with what comes before it: the hooks, the gradient
        norm for the graph picture, the capture of a target's gradient, a leaf's accumulation.
        None when nothing flows on from the node."""
        needed = self.needed
        if needed is not None and node not in needed:
            return None
        grads = _apply_pre_hooks(node, grads, self.create_graph)
        if thread_state.record_gradient_norms:
            _record_norm(node, grads)
        for index, output_nr in self.capture_at.get(node, ()):
            self.captured[index] = grads[output_nr]
        if node._is_accumulator:
            if self.accumulate and (self.targets is None or node in self.capture_at):
                _accumulate(node, grads[0], self.create_graph)
            return None
        if needed is not None and not _feeds(node, needed):
            return None
        return _backward_on_tensors(node, grads)


def _queue(buffers, ready, node, output_nr, grad) -> None:
    """Add ``grad`` into ``node``'s buffer; a node's first gradient queues it."""
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * (len(node._output_meta) or 1)
        heappush(ready, (-node._sequence_nr, node))
    slots[output_nr] = grad if slots[output_nr] is None else slots[output_nr] + grad


# ---------------------------------------------------------------- running a node

# While a profile records, ember.profiler wraps ``_backward_on_arrays``, ``_backward_on_tensors``,
# ``_accumulate_array`` and ``_accumulate``: the walk must keep calling them as module globals.


def _backward_on_arrays(node, grads) -> tuple:
    """One gradient (or None) per argument of ``node``'s forward, from array ``grads``."""
    if len(grads) > 1:
        grads = _materialize(node, grads, _zeros_array)
    backward = node._backward_arrays
    if backward is not None:
        results = backward(node, grads[0]) if len(grads) == 1 else backward(node, *grads)
    else:  # a backward written with tensors only (custom Functions, a few ops)
        tensors = [None if g is None else Tensor._make(g) for g in grads]
        results = node._forward_cls.backward(node, *tensors)
    if type(results) is tuple and len(results) == node._num_args:
        return results
    return _checked(node, results)


def _backward_on_tensors(node, grads) -> tuple:
    grads = tuple(_materialize(node, grads, _zeros_tensor))
    results = _checked(node, node._run_backward(grads))
    if node._hooks:
        for hook in list(node._hooks.values()):
            hook(results, grads)
    return results


def _materialize(node, grads, zeros) -> list:
    """``grads`` with zeros for the outputs that received no gradient, on the device of
    those that did (unless the node's ``ctx.set_materialize_grads(False)`` asked for None)."""
    if not node.materialize_grads or all(g is not None for g in grads):
        return grads
    given = next((g for g in grads if g is not None), None)
    return [
        zeros(meta, given) if g is None and meta is not None else g
        for g, meta in zip(grads, node._output_meta)
    ]


def _zeros_array(meta, like):
    shape, dtype = meta
    return xp.zeros(shape, dtype, like=like)


def _zeros_tensor(meta, like):
    return Tensor._make(_zeros_array(meta, None if like is None else like._data))


def _checked(node, results) -> tuple:
    """``results`` as a tuple of one gradient per forward argument (extra Nones allowed)."""
    if type(results) is not tuple:
        results = (results,)
    expected = node._num_args
    if len(results) != expected and (
        len(results) < expected or any(r is not None for r in results[expected:])
    ):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {expected}, got {len(results)})"
        )
    return results


def _conform_array(grad, shape, dtype, node, position):
    """An array gradient brought to its input's shape and dtype."""
    if type(grad) is not ndarray:
        grad = grad._data if isinstance(grad, Tensor) else asarray(grad)
    if grad.shape != shape:
        grad = _sum_to_shape(grad, shape, node, position, arrays=True)
    if grad.dtype != dtype:
        grad = grad.astype(dtype)
    return grad


def _conform(grad, shape, dtype, node, position):
    """A tensor gradient brought to its input's shape and dtype (and checked, in anomaly mode)."""
    if not isinstance(grad, Tensor):
        grad = Tensor._make(grad)
    data = grad._data
    if data.shape != shape:
        grad = _sum_to_shape(grad, shape, node, position, arrays=False)
        data = grad._data
    if data.dtype != dtype:
        grad = grad.to(from_numpy_dtype(dtype))
    if anomaly_state.enabled and anomaly_state.check_nan:
        _check_anomaly(node, grad, position)
    return grad


def _sum_to_shape(grad, shape, node, position, arrays: bool):
    """Undo broadcasting: sum ``grad`` over the dimensions that ``shape`` broadcast along."""
    lead, dims = _broadcast_dims(grad.shape, shape, node, position)
    if dims:
        grad = grad.sum(axis=dims, keepdims=True) if arrays else grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape) if lead else grad


def _broadcast_dims(grad_shape, shape, node, position) -> tuple:
    """How many leading dims a gradient of ``grad_shape`` has beyond ``shape``, and every
    dim to sum over to bring it back; PyTorch's error when ``shape`` cannot broadcast to it."""
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(size != 1 and size != grad_shape[lead + i] for i, size in enumerate(shape)):
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {position} - got "
            f"{list(grad_shape)} but expected shape compatible with {list(shape)}"
        )
    dims = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad_shape[lead + i] != 1
    )
    return lead, dims


# ---------------------------------------------------------------- leaves


def _accumulate_array(variable, grad, held: int = 0, replace: bool = False) -> None:
    """Add ``grad`` into ``variable.grad``; ``held`` counts the caller's own references to
    it (a compiled program's local variable) beyond the argument. With ``replace``,
    ``.grad`` becomes ``grad`` (None for None) whatever it held: a compiled program's
    ``zero_grad()`` folded into the accumulation that follows it."""
    if grad is None:
        if replace:
            variable.grad = None
        return
    if replace or variable.grad is None:
        # ``.grad`` takes over the array when nothing else holds it or its memory, as
        # PyTorch's AccumulateGrad steals a buffer whose use count is one; otherwise it gets
        # a copy, since the same array may be another input's gradient or a saved value.
        # A copy per parameter per step was measured to slow a small CNN's step noticeably.
        owned = grad.base is None and sys.getrefcount(grad) <= _ALONE + held
        variable.grad = Tensor._make(grad if owned else grad.copy())
    elif variable.grad.requires_grad:
        variable.grad = variable.grad + Tensor._make(grad)
    else:
        variable.grad._data += grad


def _replace_grad(variable, grad, held: int = 0) -> None:
    """``_accumulate_array(variable, grad, held, replace=True)`` for a tensor whose ``.grad``
    is Tensor's own property, written past it: a compiled replay's accumulation after a
    folded ``zero_grad()``. The property's setter only tells a recording that ``.grad`` was
    assigned, and no recording runs while a program replays (skipping it took the NAND
    step's four accumulations from 5.2 to 3.6 µs)."""
    if grad is None:
        variable._grad = None
        return
    owned = grad.base is None and sys.getrefcount(grad) <= _ALONE + held  # as above
    variable._grad = Tensor._make(grad if owned else grad.copy())


def _references_seen_by_a_callee(array) -> int:
    return sys.getrefcount(array)


# The reference count ``_accumulate_array`` sees for an array that only its caller passed
# (it differs between Python versions, so it is measured rather than assumed).
_ALONE = _references_seen_by_a_callee(ndarray((0,)))


def _accumulate(node, grad, create_graph) -> None:
    variable = node.variable
    if grad is None:
        return
    if variable.grad is None:
        # A copy of its own: the gradient may also flow to other inputs or be hooked.
        variable.grad = grad if create_graph else Tensor._make(grad._data.copy())
    elif create_graph or variable.grad.requires_grad:
        variable.grad = variable.grad + grad
    else:
        variable.grad._data += grad._data
    if variable._post_accumulate_hooks:
        for hook in list(variable._post_accumulate_hooks.values()):
            hook(variable)


# ---------------------------------------------------------------- hooks, targets, anomalies


def _apply_pre_hooks(node, grads, create_graph) -> list:
    """What hooks see before ``node`` runs: its outputs' tensor hooks, the outputs that
    retain their grad, the node's own pre-hooks, and at a leaf the leaf's hooks."""
    if node._tensor_hooks:
        for output_nr, hooks in node._tensor_hooks.items():
            grads[output_nr] = _run_tensor_hooks(hooks, grads[output_nr])
    if node._retained:
        _retain(node, grads, create_graph)
    if node._prehooks:
        for hook in list(node._prehooks.values()):
            result = hook(tuple(grads))
            if result is not None:
                grads = list(result)
    if node._is_accumulator and node.variable._hooks:
        grads[0] = _run_tensor_hooks(node.variable._hooks, grads[0])
    return grads


def _run_tensor_hooks(hooks: dict, grad):
    if grad is None:
        return None
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _retain(node, grads, create_graph) -> None:
    for output_nr, reference in node._retained.items():
        tensor, grad = reference(), grads[output_nr]
        if tensor is None or grad is None:
            continue
        grad = grad if create_graph else grad.detach()
        tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad


def _nodes_leading_to(roots, targets) -> set:
    """The nodes reachable from ``roots`` from which some target can be reached."""
    reachable, stack = set(), [node for node, _ in roots]
    while stack:
        node = stack.pop()
        if node in reachable:
            continue
        reachable.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions if next_node is not None)
    needed = {node for node, _ in targets}
    # Edges lead from newer nodes to older ones, so oldest first decides each node's
    # inputs before the node itself.
    for node in sorted(reachable, key=lambda n: n._sequence_nr):
        if _feeds(node, needed):
            needed.add(node)
    return needed


def _feeds(node, needed) -> bool:
    return any(n in needed for n, _ in node.next_functions if n is not None)


def _record_norm(node, grads) -> None:
    total = sum(float(xp.sum(xp.square(g._data, dtype=xp.float64))) for g in grads if g is not None)
    node.metadata["grad_norm"] = total**0.5


def _check_anomaly(node, grad, position) -> None:
    """PyTorch's anomaly check: a NaN gradient (infinities are legal) raises, after a warning
    that shows the forward call that made ``node``."""
    data = grad._data
    if data.dtype.kind != "f" or not xp.isnan(data).any():
        return
    if node._trace:
        where = "Traceback of forward call that caused the error:\n" + forward_trace(node._trace)
    else:
        where = (
            "No forward pass information available. Enable detect anomaly during forward "
            "pass for more information."
        )
    warnings.warn(f"Error detected in {node.name()}. {where}", UserWarning, stacklevel=2)
    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {position}th output.")
