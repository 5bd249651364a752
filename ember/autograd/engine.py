"""The backward walk: from the outputs' nodes to the leaves, without recursion.

1. Count, for every node reachable from the roots, how many edges lead into it.
2. Start from the roots with their seed gradients. A node runs once every node
   that feeds it has run; among the ready ones, the most recently created runs
   first (as in PyTorch), which keeps hooks in a predictable order.
3. A node's ``backward`` returns one gradient per input; the engine sums each back
   to its input's shape and dtype (broadcasting is undone here, once, not in each
   op) and adds it into the buffer of the node that made that input.
4. ``AccumulateGrad`` nodes add their gradient into the leaf's ``.grad``.

That is ``_walk``, the general walk. A plain ``backward()`` — no graph to record, no
hook on any live node or tensor, no anomaly mode — takes ``_walk_arrays`` instead: the
same steps on NumPy arrays, without the counting pass of step 1 (see its docstring).
"""

from __future__ import annotations

import heapq
import sys
import threading
import warnings
from heapq import heappop, heappush

from ember._backend import ignoring_float_errors
from ember._backend import ndarray as _ndarray
from ember._dtype import from_numpy_dtype
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state, forward_trace
from ember.autograd.function import _load_tensor_class, _tensor_class, hooks_registered
from ember.autograd.function import thread_state as _steps


class _ThreadState(threading.local):
    """The engine's state that belongs to the thread running a backward pass."""

    def __init__(self):
        # Per backward pass under way in this thread (they can nest), innermost last: the
        # functions queued (``queue_callback``) to call when it ends.
        self.callbacks = []
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


def run_backward(roots, seeds, retain_graph, create_graph, targets=None, accumulate=True):
    state = thread_state
    passes = state.callbacks
    callbacks = []
    passes.append(callbacks)
    try:
        if (create_graph or targets is not None or anomaly_state.enabled
                or state.record_gradient_norms or hooks_registered()):
            result = _walk(roots, seeds, retain_graph, create_graph, targets, accumulate)
        else:
            result = _walk_arrays(roots, seeds, retain_graph)
        while callbacks:
            callbacks.pop(0)()
        return result
    finally:
        passes.pop()


def _walk(roots, seeds, retain_graph, create_graph, targets, accumulate):
    """Backpropagate ``seeds`` from ``roots`` (pairs of node and output number).

    ``targets`` (pairs of node and output number) restricts the walk to the part of the
    graph that leads to them; their incoming gradients are returned in order.
    With ``accumulate`` False, no leaf's ``.grad`` is touched.
    """
    dependencies = _count_dependencies([node for node, _ in roots])
    needed = _needed_nodes(roots, dependencies, targets) if targets is not None else None
    captured = {}
    capture_at = {}
    for index, target in enumerate(targets or ()):
        capture_at.setdefault(target[0], []).append((index, target[1]))

    buffers = {}
    for (node, output_nr), seed in zip(roots, seeds):
        _add_to_buffer(buffers, node, output_nr, seed)
    ready = []
    steps = _steps.optimizer_steps
    record_norms = thread_state.record_gradient_norms
    for node, _ in roots:
        if dependencies.get(node, 0) == 0 and node in buffers:
            heapq.heappush(ready, (-node._sequence_nr, id(node), node))
            dependencies[node] = -1  # queued

    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            _, _, node = heapq.heappop(ready)
            grads = buffers.pop(node, None)
            if grads is not None and (needed is None or node in needed):
                if node._pre_hooks or node._retained or node._prehooks or (
                    node._is_accumulator and node.variable._hooks
                ):
                    grads = _apply_pre_hooks(node, grads, create_graph)
                if record_norms:
                    _record_norm(node, grads)
                if capture_at:
                    for index, output_nr in capture_at.get(node, ()):
                        captured[index] = grads[output_nr]
                if node._is_accumulator:
                    if accumulate and (targets is None or node in capture_at):
                        _accumulate(node, grads[0], create_graph)
                elif needed is None or _feeds_needed(node, needed):
                    _run_node(node, grads, buffers, create_graph)
                    node._executed_at = steps
                    if not retain_graph:
                        node._release()
            for *_, next_node, _ in node._input_meta:
                if next_node is None:
                    continue
                left = dependencies[next_node] - 1
                dependencies[next_node] = left
                if left == 0:
                    heapq.heappush(ready, (-next_node._sequence_nr, id(next_node), next_node))
    return [captured.get(index) for index in range(len(targets or ()))]


def _walk_arrays(roots, seeds, retain_graph) -> list:
    """``_walk`` for the common case, on arrays: a plain ``backward()`` with no hook anywhere.

    Nothing records the backward pass, so each node's ``backward_arrays`` (where it has
    one) works on the arrays directly, and no gradient is wrapped in a tensor until it
    reaches a leaf's ``.grad``. No dependency count is needed either: every node that
    feeds a node was created after it, so running the queued nodes newest first (by
    sequence number) runs each one after all of its gradient has arrived. Leaves, whose
    accumulation no hook observes here, are added into ``.grad`` at the end.
    """
    buffers = {}  # node -> its output gradients so far, one slot per output
    ready, leaves = [], []  # ready: (-sequence number, node), a heap; sequence numbers are unique
    for (node, output_nr), seed in zip(roots, seeds):
        _queue(buffers, ready, leaves, node, output_nr, seed._data)
    steps = _steps.optimizer_steps
    with grad_mode.set_grad_enabled(False), ignoring_float_errors():
        while ready:
            node = heappop(ready)[1]
            grads = buffers.pop(node)
            fast = node._backward_arrays
            if fast is None or len(grads) > 1:
                results = _backward_arrays(node, grads)
            else:
                results = fast(node, grads[0])
                if type(results) is not tuple:
                    results = (results,)
                if len(results) != node._num_args:
                    _check_count(node, results)
            for position, shape, dtype, next_node, output_nr in node._input_meta:
                if next_node is None:
                    continue
                grad = results[position]
                if grad is None:
                    continue
                if type(grad) is not _ndarray:
                    grad = grad._data if hasattr(grad, "_data") else _xp().asarray(grad)
                if grad.shape != shape:
                    grad = _sum_to_shape_array(grad, shape, node, position)
                if grad.dtype != dtype:
                    grad = grad.astype(dtype)
                slots = buffers.get(next_node)  # _queue, written out: this runs once per edge
                if slots is None:
                    slots = buffers[next_node] = [None] * len(next_node._output_meta)
                    slots[output_nr] = grad
                    if next_node._is_accumulator:
                        leaves.append(next_node)
                    else:
                        heappush(ready, (-next_node._sequence_nr, next_node))
                elif slots[output_nr] is None:
                    slots[output_nr] = grad
                else:
                    slots[output_nr] = slots[output_nr] + grad
            node._executed_at = steps
            if node._saved and not retain_graph:
                node._release()
        results = grad = grads = None  # let go of the last gradients: leaves may take them over
        for leaf in leaves:
            _accumulate_array(leaf.variable, buffers.pop(leaf)[0])
    return []


def _queue(buffers, ready, leaves, node, output_nr, grad) -> None:
    """Add ``grad`` into ``node``'s buffer; a node's first gradient queues it."""
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * (len(node._output_meta) or 1)
        if node._is_accumulator:
            leaves.append(node)
        else:
            heappush(ready, (-node._sequence_nr, node))
    slots[output_nr] = grad if slots[output_nr] is None else slots[output_nr] + grad


def _backward_arrays(node, grads) -> tuple:
    """One gradient (or None) per argument of ``node``'s forward, from array ``grads``."""
    for grad in grads:
        if grad is None:
            grads = [
                _xp().zeros(meta[0], meta[1]) if g is None and meta is not None else g
                for g, meta in zip(grads, node._output_meta)
            ]
            break
    fast = node._backward_arrays
    if fast is not None:
        results = fast(node, *grads)
    else:  # a backward written with tensors only (custom Functions, a few ops)
        make = (_tensor_class[0] or _load_tensor_class())._make
        results = node._forward_cls.backward(node, *[None if g is None else make(g) for g in grads])
    if type(results) is not tuple:
        results = (results,)
    _check_count(node, results)
    return results


def _check_count(node, results: tuple) -> None:
    """A backward returns one gradient per forward argument (extra Nones are allowed)."""
    expected = node._num_args
    if len(results) != expected and (
        len(results) < expected or any(r is not None for r in results[expected:])
    ):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {expected}, got {len(results)})"
        )


def _accumulate_array(variable, grad) -> None:
    if grad is None:
        return
    if variable.grad is None:
        # The array becomes ``.grad`` itself when nothing else refers to it or to its memory
        # (PyTorch steals such a buffer too); otherwise ``.grad`` gets a copy of its own, as
        # the same array may also be another input's gradient or a saved value.
        alone = grad.base is None and sys.getrefcount(grad) <= _ALONE
        variable.grad = _make_tensor(grad if alone else grad.copy())
    elif variable.grad.requires_grad:
        variable.grad = variable.grad + _make_tensor(grad)
    else:
        variable.grad._data += grad


def _references_seen_by_a_callee(array) -> int:
    return sys.getrefcount(array)


# The reference count ``_accumulate_array`` sees for an array that only its caller passed
# (the count differs between Python versions, so it is measured rather than assumed).
_ALONE = _references_seen_by_a_callee(_ndarray((0,)))


def _sum_to_shape_array(grad, shape, node, position):
    """``_sum_to_shape`` on an array."""
    lead, dims = _broadcast_dims(grad.shape, shape, node, position)
    if dims:
        grad = grad.sum(axis=dims, keepdims=True)
    return grad.reshape(shape) if lead else grad


def _count_dependencies(start_nodes) -> dict:
    dependencies = {}
    seen = set(start_nodes)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for *_, next_node, _ in node._input_meta:
            if next_node is None:
                continue
            dependencies[next_node] = dependencies.get(next_node, 0) + 1
            if next_node not in seen:
                seen.add(next_node)
                stack.append(next_node)
    for node in seen:
        dependencies.setdefault(node, 0)
    return dependencies


def _needed_nodes(roots, dependencies, targets) -> set:
    """Nodes from which some target can be reached (the rest of the graph is skipped)."""
    order, remaining = [], dict(dependencies)
    stack = [node for node, _ in roots if remaining[node] == 0]
    seen = set(stack)
    while stack:
        node = stack.pop()
        order.append(node)
        for next_node, _ in node.next_functions:
            if next_node is None:
                continue
            remaining[next_node] -= 1
            if remaining[next_node] == 0 and next_node not in seen:
                seen.add(next_node)
                stack.append(next_node)
    needed = {node for node, _ in targets}
    for node in reversed(order):
        if any(n in needed for n, _ in node.next_functions if n is not None):
            needed.add(node)
    return needed


def _feeds_needed(node, needed) -> bool:
    return any(n in needed for n, _ in node.next_functions if n is not None)


def _add_to_buffer(buffers, node, output_nr, grad) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * max(1, len(node._output_meta))
    slots[output_nr] = grad if slots[output_nr] is None else slots[output_nr] + grad


def _apply_pre_hooks(node, grads, create_graph):
    if node._pre_hooks:
        for output_nr, hooks in node._pre_hooks.items():
            grad = grads[output_nr]
            if grad is None:
                continue
            for hook in list(hooks.values()):
                result = hook(grad)
                if result is not None:
                    grad = result
            grads[output_nr] = grad
    if node._retained:
        for output_nr, reference in node._retained.items():
            tensor, grad = reference(), grads[output_nr]
            if tensor is None or grad is None:
                continue
            grad = grad if create_graph else grad.detach()
            tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad
    if node._prehooks:
        for hook in list(node._prehooks.values()):
            result = hook(tuple(grads))
            if result is not None:
                grads = list(result)
    if node._is_accumulator and node.variable._hooks:
        grad = grads[0]
        for hook in list(node.variable._hooks.values()):
            result = hook(grad)
            if result is not None:
                grad = result
        grads[0] = grad
    return grads


def _record_norm(node, grads) -> None:
    from ember._backend import xp

    total = sum(float(xp.sum(xp.square(g._data, dtype=xp.float64))) for g in grads if g is not None)
    node.metadata["grad_norm"] = total**0.5


def _accumulate(node, grad, create_graph) -> None:
    variable = node.variable
    if grad is None:
        return
    if variable.grad is None:
        # A copy of its own: the gradient may also flow to other inputs or be hooked.
        variable.grad = grad if create_graph else _make_tensor(grad._data.copy())
    elif create_graph or variable.grad.requires_grad:
        variable.grad = variable.grad + grad
    else:
        variable.grad._data += grad._data
    if variable._post_accumulate_hooks:
        for hook in list(variable._post_accumulate_hooks.values()):
            hook(variable)


def _xp():
    from ember._backend import xp

    return xp


def _make_tensor(array):
    return (_tensor_class[0] or _load_tensor_class())._make(array)


def _run_node(node, grads, buffers, create_graph) -> None:
    Tensor = _tensor_class[0] or _load_tensor_class()
    for grad in grads:
        if grad is None:
            from ember.ops.creation import zeros

            grads = [
                zeros(meta[0], dtype=from_numpy_dtype(meta[1])) if g is None and meta is not None else g
                for g, meta in zip(grads, node._output_meta)
            ]
            break
    results = node._run_backward(tuple(grads))
    if not isinstance(results, tuple):
        results = (results,)
    _check_count(node, results)
    if node._hooks:
        for hook in list(node._hooks.values()):
            hook(results, tuple(grads))
    for position, shape, dtype, next_node, output_nr in node._input_meta:
        grad = results[position]
        if grad is None or next_node is None:
            continue
        if not isinstance(grad, Tensor):
            grad = Tensor._make(grad)
        data = grad._data
        if data.shape != shape:
            grad = _sum_to_shape(grad, shape, node, position)
            data = grad._data
        if data.dtype != dtype:
            grad = grad.to(from_numpy_dtype(dtype))
        if anomaly_state.enabled and anomaly_state.check_nan:
            _check_anomaly(node, grad, position)
        _add_to_buffer(buffers, next_node, output_nr, grad)


def _sum_to_shape(grad, shape, node, position):
    """Undo broadcasting: sum ``grad`` over the dimensions that ``shape`` broadcast along."""
    lead, dims = _broadcast_dims(grad.shape, shape, node, position)
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape) if lead else grad


def _broadcast_dims(grad_shape, shape, node, position) -> tuple:
    """How many leading dims a gradient of ``grad_shape`` has beyond ``shape``, and every
    dim to sum over to bring it back; PyTorch's error when ``shape`` cannot broadcast to it."""
    lead = len(grad_shape) - len(shape)
    if lead < 0 or any(
        size != 1 and size != grad_shape[lead + i] for i, size in enumerate(shape)
    ):
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {position} - got "
            f"{list(grad_shape)} but expected shape compatible with {list(shape)}"
        )
    dims = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad_shape[lead + i] != 1
    )
    return lead, dims


def _check_anomaly(node, grad, position) -> None:
    """PyTorch's anomaly check: a NaN gradient (infinities are legal) raises, after a warning
    that shows the forward call that made ``node``."""
    from ember._backend import xp

    data = grad._data
    if data.dtype.kind != "f" or not xp.isnan(data).any():
        return
    if node._trace:
        where = "Traceback of forward call that caused the error:\n" + forward_trace(node._trace)
    else:
        where = ("No forward pass information available. Enable detect anomaly during forward "
                 "pass for more information.")
    warnings.warn(f"Error detected in {node.name()}. {where}", UserWarning, stacklevel=2)
    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {position}th output.")
