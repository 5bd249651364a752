"""The tape: what one eager call of a compiled function did, as a flat list of steps.

Every array the call touched is a ``Slot``: a tensor argument (``input``), a tensor that
existed before the call and is read afresh on every replay (``captured``: parameters,
buffers, a module's tensor attributes), a tensor that a creation function made from
Python values (``constant``), or what a step produced (``step``). A ``Step`` is one
kernel call: an op's ``forward`` on arrays, a random draw, or an in-place write.

Anything the tape cannot see clearly is a graph break, and the call stays eager: a
tensor of unknown origin, an array argument it cannot follow, a value read into Python.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import NamedTuple

from ember._backend import bfloat16, ndarray, xp
from ember._hooks import hooks_registered
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Unsupported(RuntimeError):
    """A graph break under ``fullgraph=True`` (PyTorch's ``torch._dynamo.exc.Unsupported``)."""


class Slot:
    """One array of the program: where it comes from, and its shape and dtype."""

    __slots__ = ("index", "kind", "tensor", "shape", "dtype", "position", "requires_grad",
                 "on_host")

    def __init__(self, index, kind, source, keep=False, position=None):
        self.index, self.kind, self.position = index, kind, position
        self.tensor = source if keep else None
        self.shape, self.dtype = source._data.shape, source._data.dtype
        self.on_host = type(source._data) is ndarray  # a NumPy array, not CuPy's
        self.requires_grad = source._requires_grad

    @property
    def name(self) -> str:
        return f"v{self.index}"


class Step:
    """One kernel call. ``args`` holds, per argument of the kernel, a ``Slot`` or a
    constant; ``node`` is the node class whose backward runs on replay (None: no graph).
    A custom ``Function`` is a step of its own (kind ``function``, its ``op`` a
    ``FunctionCall``) after the steps of its forward: it computes nothing, it makes the ctx
    that the class's ``backward`` gets."""

    __slots__ = ("kind", "op", "args", "outputs", "node", "needs", "as_array", "where",
                 "handed")

    def __init__(self, kind, op, args, outputs, where, node=None, needs=(), as_array=(),
                 handed=()):
        self.kind, self.op, self.args, self.outputs, self.where = kind, op, args, outputs, where
        self.node, self.needs, self.as_array = node, needs, as_array
        self.handed = handed  # captured buffers' arrays it gets as they are (and may write)

    @property
    def name(self) -> str:
        if self.kind == "op":
            return self.op.__name__
        if self.kind == "function":
            return self.op.function.__name__
        return self.op.func.__qualname__ if self.kind == "call" else self.kind


class FunctionCall(NamedTuple):
    """What a replay needs of a custom ``Function``'s ctx: the class, the attributes its
    forward gave the ctx (numbers, shapes, flags: never a tensor), and the slots of what it
    saved for backward (None where it saved None)."""

    function: type
    attributes: dict
    saved: tuple


# What ember itself keeps on a node: the graph around it, what it saved and the outputs it
# marked, which a replay makes anew or needs no more (``FunctionCall.attributes`` holds the
# rest: the user's, and the node's ``needs_input_grad``, argument count, outputs' shapes
# and ``materialize_grads``).
_GRAPH_ATTRIBUTES = frozenset({"_input_meta", "_sequence_nr", "_saved", "_saved_data",
                               "_saved_versions", "_trace", "to_save", "_released",
                               "_executed_at", "_tensor_hooks", "_retained", "_hooks",
                               "_prehooks", "_metadata", "_non_differentiable", "_dirty"})


class Tape:
    """Filled by ``ember._tape`` reports while the call runs eagerly."""

    def __init__(self, inputs, captured, fullgraph: bool):
        self.slots, self.steps, self.breaks = [], [], []
        self.fullgraph = fullgraph
        self.by_tensor = {}  # id(tensor) -> Slot, for the tensors this call has met
        self.by_array = {}  # id(array) -> Slot: aliases made without an op (detach, .data)
        self.alive = []  # everything keyed by id() above, kept so that ids stay unique
        self.captured = captured  # id(tensor) -> tensor, for the tensors that existed before
        self.captured_arrays = {id(t._data): key for key, t in captured.items()}
        self.made_here = set()  # ids of tensors that creation functions made during the call
        self.fixed = set()  # ids of arrays that follow from shapes and constants (``derived``)
        # id(array) -> (array, node), for the arrays recorded nodes saved for backward
        self.saved = {}
        # ids of tensors met before an in-place change through a view of their memory, which
        # no slot holds the present value of (``view_write``)
        self.stale = set()
        self.gathered = set()  # ids of views that read a gather from their base (``rebind``)
        self.producers = {}  # slot index -> the step that made it
        # indices of slots whose array in the program may be laid out otherwise than the
        # eager tensor that reads it (a gathered view, a copied constant): where eager's
        # view op copies, the program's might not (``op``)
        self.laid_out_anew = set()
        self.versions = {}  # id(tensor) -> version when first met, for captured and inputs
        self.storage = {}  # id(tensor) -> its array when met: a replaced one is a break
        self.pending = None  # an in-place write under way (``write``, then ``wrote``)
        self.handed_over = set()  # ids of captured arrays an op gets as they are (to write)
        self.muted = 0  # inside a call replayed whole (``call``), nothing is recorded
        self.explained = set()  # ids of version counters that recorded calls may move
        self.watch = None  # what the recording reads around each call replayed whole (Watch)
        # id(leaf) -> its slot, for the leaves whose ``.grad`` a backward() in the call set
        self.grad_leaves = {}
        for position, tensor in enumerate(inputs):
            self._new_slot("input", tensor, position)

    # ------------------------------------------------------------ reports from ember
    def graph_break(self, reason: str) -> None:
        if self.muted:
            return
        where = user_line()
        self.breaks.append((reason, where))
        if self.fullgraph:
            raise Unsupported(f"ember.compile(fullgraph=True): {reason} (at {where})")

    def made(self, tensor) -> None:
        if self.muted:
            return
        if tensor._requires_grad:
            self.graph_break("a tensor that requires grad was created inside the compiled call")
        self.made_here.add(id(tensor))
        self.alive.append(tensor)

    def derived(self, array, sources) -> None:
        """``array`` follows from shapes and ``sources`` alone: a constant of the program
        where every source is one (a tensor made in the call, or an array so derived)."""
        if self.muted:
            return
        for source in sources:
            if id(source) not in self.made_here and id(source) not in self.fixed:
                return
        self.fixed.add(id(array))
        self.alive.append(array)

    def op(self, cls, args, arrays, outputs, node, result) -> None:
        if self.muted:
            return
        if not cls.replayable:
            self.graph_break(f"{cls.__name__}: {cls.replayable_reason}")
            return
        step_args, handed = [], []
        for position, (arg, array) in enumerate(zip(args, arrays)):
            if isinstance(arg, Tensor):
                slot = self.slot_of(arg)
                if slot is None:
                    return
                step_args.append(slot)
            elif position not in cls.shape_constants and not self._constant_ok(cls, array,
                                                                               handed):
                return
            else:
                step_args.append(array)
        if node is not None:
            self.saved.update((id(a), (a, node)) for a in node._saved_data if a is not None)
        results = result if type(result) is tuple else (result,)
        as_array = tuple(type(r) is not ndarray for r in results)
        needs = node.needs_input_grad if node is not None else ()
        step = Step("op", cls, tuple(step_args), [], user_line(), node and type(node), needs,
                    as_array, tuple(handed))
        if node is None and all(a.kind == "constant" for a in step_args if isinstance(a, Slot)) \
                and not handed:
            # Constant folding: an op on constants alone (a causal mask built from ``ones``)
            # gives the same value on every replay, so its result is a constant too.
            for tensor in outputs:
                self.made_here.add(id(tensor))
                self.alive.append(tensor)
            return
        anew = self.laid_out_anew and any(isinstance(a, Slot) and a.index in self.laid_out_anew
                                          for a in step_args)
        if anew and cls.views_by_layout and outputs[0]._base is None:
            # eager copied; the program, on another layout, might make a view
            self.graph_break(f"{cls.__name__}: a copy of a value that the program holds in "
                             "another memory layout than eager (after an in-place change "
                             "through a view)")
            return
        self._add(step, outputs)
        if anew:  # NumPy lays a result out as its inputs are (a transposed one transposed)
            self.laid_out_anew.update(slot.index for slot in step.outputs)

    def snapshot(self, copy, tensor) -> None:
        """``copy`` holds a copy of ``tensor``'s present value (before an in-place op)."""
        slot = None if self.muted else self.slot_of(tensor)
        if slot is not None:
            self._add(Step("snapshot", None, (slot,), [], user_line()), (copy,))

    def draw(self, tensor, redraw, inputs=()) -> None:
        """``tensor`` holds fresh random numbers; ``redraw(*arrays)`` draws the next ones
        alike, given the arrays of the tensors ``inputs`` (a draw's probabilities)."""
        if self.muted:
            return
        slots = []
        for value in inputs:
            slot = self.slot_of(value)
            if slot is None:
                return
            slots.append(slot)
        self.made_here.discard(id(tensor))
        self._add(Step("draw", redraw, tuple(slots), [], user_line()), (tensor,))

    def write(self, target, result) -> None:
        """``target``'s storage is about to be overwritten with ``result`` (``inplace``);
        ``wrote(target)`` follows once it has been."""
        self.pending = None
        if self.muted:
            return
        slot = self.by_tensor.get(id(target))
        if slot is None and id(target) in self.made_here and id(result) in self.made_here:
            return  # a constant still being built of constants: steps see its final value
        if slot is None:
            slot = self.slot_of(target)
            if slot is None:
                return
        value = self.slot_of(result)
        if value is None:
            return
        if slot.kind == "input" or (slot.kind == "captured" and target._requires_grad
                                    and not self._update(target)):
            self.graph_break("an in-place change to an input or a parameter of the compiled call")
        elif self._saved_over(target._data):
            self.graph_break("an in-place change to a value that was saved for backward")
        elif target._base is not None and not self._view_in_program(target, slot):
            self.graph_break("an in-place change to a view of an argument, a parameter or a "
                             "constant, or to a view that an in-place change gathered anew")
        else:  # under no_grad the target keeps its graph: its gradient flows back there
            if slot.kind == "constant":  # the program writes a copy of what it held until now
                slot.tensor = Tensor._make(target._data.copy())
                self._outdate(target._data, [t for t in self.alive
                                             if isinstance(t, Tensor) and t is not target])
            detached = not grad_mode.state.enabled
            self.pending = Step("write", target._version_counter, (slot, value), [],
                                user_line(), needs=(detached, not detached))

    def _update(self, parameter) -> bool:
        """Whether an in-place change of ``parameter`` (a leaf) is an update written by hand:
        under no_grad, after a ``backward()`` in the call (``p -= lr * p.grad``, an EMA of
        the weights). During the forward, such a change breaks."""
        return not grad_mode.state.enabled and parameter.grad_fn is None and \
            any(step.kind == "backward" for step in self.steps)

    def wrote(self, target) -> None:
        if self.pending is not None:
            step, self.pending = self.pending, None
            self._add(step, (target,))
            if step.args[0].kind == "constant" and not target._data.flags.c_contiguous:
                self.laid_out_anew.add(step.outputs[0].index)  # the program wrote a C copy
            if self.gathered:  # a gathered view (``rebind``) is no view of it in the program
                self._outdate(target._data, [t for t in self.alive if id(t) in self.gathered])

    def view_write(self, target, base) -> None:
        """``target``, a view of ``base``, is about to be changed in place: eager makes
        ``base`` an ``index_put`` of its old value and the new one, its ops recorded as any
        (``_inplace_on_view``), then ``rebind``s ``base`` and ``target`` to them. That
        needs ``base`` to be an intermediate or a constant that no node saved."""
        if self.muted:
            return
        slot = self.slot_of(base)
        if slot is None:
            return
        if slot.kind not in ("step", "constant"):
            self.graph_break("an in-place change through a view of an input, a parameter "
                             "or a buffer of the compiled call")
        elif self._saved_over(base._data):
            self.graph_break("an in-place change through a view of a value that was saved "
                             "for backward")
        elif slot.kind == "constant":  # as in ``write``: the program's array stays as it is
            slot.tensor = Tensor._make(base._data.copy())

    def rebind(self, tensor, value, written=None) -> None:
        """``tensor`` reads ``value``'s slot from now on. After an in-place change through
        a view (``written``, the view's array), its base reads the ``index_put`` that made
        its new value, and every other tensor over the memory written holds a value that
        no slot has: reading one breaks. Without ``written``, ``tensor`` is a view that now
        reads a gather from its base (the view written, or one used after it)."""
        slot = None if self.muted else self.by_tensor.get(id(value))
        if slot is None:
            return
        if written is not None:
            self._outdate(written, [t for t in self.alive if isinstance(t, Tensor)])
        self.stale.discard(id(tensor))
        self._know(tensor, slot)
        self.by_array[id(tensor._data)] = slot
        if written is None:
            self.gathered.add(id(tensor))
        if tensor._data.strides != value._data.strides:
            self.laid_out_anew.add(slot.index)

    def _view_in_program(self, target, slot) -> bool:
        """Whether the view ``target`` (at ``slot``) is a view of its base's slot in the
        program too, made from it by view ops alone, the base an intermediate: a write into
        it then reaches the base there as it does in eager (an in-place change without a
        gradient, which eager writes into the memory)."""
        base = self.by_tensor.get(id(target._base))
        while slot is not base:
            step = self.producers.get(slot.index)
            if step is None or step.kind != "op" or step.op.view_of is None:
                return False
            slot = step.args[step.op.view_of]
        return base.kind == "step"

    def _saved_over(self, array) -> bool:
        """Whether a recorded node saved ``array`` or a view of its memory for backward
        (where eager's backward would raise, as the write moves their version), and has
        not released it: a ``backward()`` in the call without ``retain_graph`` frees what
        the nodes it ran saved, and a later backward through them raises eagerly too."""
        return any(not node._released and (key == id(array) or _over(saved, array))
                   for key, (saved, node) in self.saved.items())

    def _outdate(self, array, tensors) -> None:
        """Those of ``tensors`` over ``array``'s memory read no slot any more (``stale``),
        nor are constants any more."""
        for tensor in tensors:
            key = id(tensor)
            if (key in self.by_tensor or key in self.made_here) and _over(tensor._data, array):
                self.by_tensor.pop(key, None)
                self.made_here.discard(key)
                self.by_array.pop(id(tensor._data), None)
                self.stale.add(key)
                self.gathered.discard(key)

    def call(self, function, args, kwargs, changes=(), python_state=True):
        """``function(*args, **kwargs)`` runs whole on every replay (an optimizer's step,
        ``zero_grad``, gradient clipping): its own work is not recorded, and the tensors in
        ``changes`` may change in place or get new gradients. Its tensor arguments must be
        ones that existed before the call (parameters), which a replay reads afresh. What
        else it changes (``python_state``), the watch reads before and after it."""
        if self.muted:
            return function(*args, **kwargs)
        for value in _tensors_in(list(args) + list(kwargs.values())):
            if id(value) not in self.captured:
                self.graph_break(f"{function.__qualname__} of a tensor made in the call")
                return function(*args, **kwargs)
        step = Step("call", functools.partial(function, *args, **kwargs), (), [], user_line())
        self.explained.update(id(t._version_counter) for t in changes)
        watch = self.watch if python_state else None
        if watch is not None:  # what the call's own code changed up to here
            watch.compare(self)
        self.muted += 1
        try:
            result = function(*args, **kwargs)
        finally:
            self.muted -= 1
        if watch is not None:  # what this call changes, a replay changes again
            watch.read_again(self)
        # A tensor it returns (clip_grad_norm_'s total norm) is a value of the step.
        self._add(step, (result,) if isinstance(result, Tensor) else ())
        return result

    def mark(self) -> tuple:
        """Where the tape stands: (steps, slots) so far (``function``)."""
        return len(self.steps), len(self.slots)

    def function(self, mark, function, ctx, args, outputs, saved) -> None:
        """A custom ``Function`` ran with gradients: its forward's ops, recorded since
        ``mark`` without a graph (under no_grad), made ``outputs``, and ``ctx`` is their
        ``grad_fn``. Recorded as a ``function`` step, whose backward is the class's own,
        run on each replay with a ctx made like this one. A break where a replay could not
        do what eager did: a ctx that holds a tensor outside ``save_for_backward`` (it
        would keep the recording's), an in-place Function (``mark_dirty``), an output that
        its forward did not compute with ember's ops (an input returned as it is), or a graph
        recorded inside the forward (``enable_grad``)."""
        if self.muted:
            return
        name = f"the custom autograd.Function {function.__name__}"
        steps, slots = mark
        attributes = {key: value for key, value in vars(ctx).items()
                      if key not in _GRAPH_ATTRIBUTES}
        if ctx._dirty:
            self.graph_break(f"{name} changes an input in place (mark_dirty)")
            return
        if any(_holds_tensor(value) for value in attributes.values()):
            self.graph_break(f"{name} keeps a tensor on its ctx outside save_for_backward")
            return
        for step in self.steps[steps:]:
            if step.node is not None:
                self.graph_break(f"{name} records a graph inside its forward")
                return
        output_slots = []
        for output in outputs:
            slot = self.by_tensor.get(id(output)) if isinstance(output, Tensor) else None
            if slot is None or slot.index < slots or slot.kind != "step" or \
                    slot in output_slots:
                self.graph_break(f"{name} returns a value its forward did not compute with "
                                 "ember's ops")
                return
            output_slots.append(slot)
        saved_slots = []
        for tensor in saved:
            slot = None if tensor is None else self.slot_of(tensor)
            if tensor is not None and slot is None:
                return  # ``slot_of`` said why
            saved_slots.append(slot)
        step_args = []
        for arg in args:
            if isinstance(arg, Tensor):
                slot = self.slot_of(arg)
                if slot is None:
                    return
                step_args.append(slot)
            elif _holds_tensor(arg):
                self.graph_break(f"{name}: a tensor inside a non-tensor argument")
                return
            else:
                step_args.append(arg)
        self.saved.update((id(t._data), (t._data, ctx)) for t in saved if t is not None)
        for output, slot in zip(outputs, output_slots):
            slot.requires_grad = output._requires_grad
        call = FunctionCall(function, attributes, tuple(saved_slots))
        self.steps.append(Step("function", call, tuple(step_args), output_slots, user_line(),
                               type(ctx), ctx.needs_input_grad))

    def backward(self, outputs, grad_tensors, create_graph) -> bool:
        """``backward()`` of ``outputs`` inside the call: recorded as a step that runs the
        gradient program and accumulates into the leaves. False after a graph break."""
        if self.muted:
            return True
        if create_graph or hooks_registered() or anomaly_state.enabled:
            self.graph_break("backward() with create_graph, hooks or anomaly mode")
            return False
        seeds = grad_tensors if isinstance(grad_tensors, (tuple, list)) else (grad_tensors,)
        pairs = []
        for index, output in enumerate(outputs):
            root = self.by_tensor.get(id(output))
            seed = seeds[index] if index < len(seeds) else None
            seed_slot = None if seed is None else self.slot_of(seed)
            if root is None or root.kind != "step" or (seed is not None and seed_slot is None):
                self.graph_break("backward() of a tensor the compiled call did not make")
                return False
            pairs.append((root, seed_slot))
        flows = gradient_flow(self.steps, [root for root, _ in pairs])
        for slot in self.slots:
            if slot.index in flows and slot.kind in ("input", "captured"):
                if slot.tensor.grad_fn is not None:
                    self.graph_break("backward() inside the compiled call into a graph made "
                                     "outside it")
                    return False
        self.steps.append(Step("backward", None, tuple(pairs), [], user_line()))
        self.grad_leaves.update((id(slot.tensor), slot) for slot in self.slots
                                if slot.index in flows and slot.kind in ("input", "captured"))
        return True

    def grad_read(self, tensor) -> None:
        """``tensor.grad`` is read: after a ``backward()`` in the call that gave ``tensor``
        (a leaf) its gradient, a grad step, whose slot is the ``.grad``'s array as the
        program leaves it at that point (``p.grad.clamp_(-1, 1)``, ``p.grad *= scale``).
        A replay changes it in place as eagerly. Any other read breaks: what ``.grad`` held
        before the call is no value of the program."""
        if self.muted:
            return
        grad, leaf = tensor._grad, self.grad_leaves.get(id(tensor))
        if leaf is None or type(grad) is not Tensor:
            self.graph_break("reading .grad inside the compiled call, other than a leaf's "
                             "after a backward() in it")
        elif id(grad) not in self.by_tensor:
            self._add(Step("grad", None, (leaf,), [], user_line()), (grad,))

    def grad_cleared(self, tensor) -> None:
        """``tensor.grad = None`` of a leaf the call got or captured (``w.grad = None``
        after an update written by hand): a clear step, which a replay repeats. Of any
        other tensor, it breaks."""
        if self.muted:
            return
        slot = next((s for s in self.slots if s.kind in ("input", "captured")
                     and s.tensor is tensor), None)  # (after a write, it reads a step's slot)
        if slot is None or tensor.grad_fn is not None:
            self.graph_break("assigning .grad inside the compiled call, other than None to a "
                             "leaf's")
            return
        self.steps.append(Step("clear", None, (slot,), [], user_line()))

    # ------------------------------------------------------------ slots
    def slot_of(self, tensor) -> Slot | None:
        """The slot a tensor argument reads, or None after a graph break."""
        slot = self.by_tensor.get(id(tensor))
        if slot is not None:
            if tensor._data is not self.storage[id(tensor)]:
                self.graph_break("a tensor's storage was replaced (.data =) inside the call")
                return None
            return slot
        if tensor._data.dtype is bfloat16:
            self.graph_break("bfloat16 tensors are not recorded")
            return None
        key = id(tensor)
        if key in self.captured:
            return self._new_slot("captured", tensor)
        if key in self.made_here:
            if tensor._requires_grad:
                self.graph_break("a leaf that requires grad was made inside the compiled call")
                return None
            return self._new_slot("constant", tensor)
        slot = self.by_array.get(id(tensor._data))
        if slot is not None:
            if tensor._requires_grad and tensor.grad_fn is None:
                self.graph_break("a leaf that requires grad was made inside the compiled call")
                return None
            self._know(tensor, slot)
            return slot
        if key in self.stale:
            self.graph_break("a view read after an in-place change to its memory through "
                             "another view")
            return None
        owner = self.captured.get(self.captured_arrays.get(id(tensor._data)))
        if owner is not None and owner._data is tensor._data and id(owner) not in self.by_tensor:
            # a new tensor over the array of a parameter or buffer that the call has not
            # read yet (``p.detach()``, ``p.data``, a ``state_dict()`` value): that source
            if tensor._requires_grad and tensor.grad_fn is None:
                self.graph_break("a leaf that requires grad was made inside the compiled call")
                return None
            slot = self._new_slot("captured", owner)
            self._know(tensor, slot)
            return slot
        self.graph_break(
            f"a {tuple(tensor.shape)} tensor that the call did not get as an argument, find on "
            "a module or make with an ember op"
        )
        return None

    def _new_slot(self, kind, tensor, position=None) -> Slot:
        slot = Slot(len(self.slots), kind, tensor, True, position)
        self.slots.append(slot)
        self._know(tensor, slot)
        self.by_array[id(tensor._data)] = slot
        if kind != "constant":
            self.versions[id(tensor)] = (tensor, tensor._version_counter[0])
        return slot

    def _know(self, tensor, slot) -> None:
        self.by_tensor[id(tensor)] = slot
        self.storage[id(tensor)] = tensor._data
        self.alive.append(tensor)

    def _add(self, step, outputs) -> None:
        self.steps.append(step)
        for tensor in outputs:
            slot = Slot(len(self.slots), "step", tensor)
            self.slots.append(slot)
            self.producers[slot.index] = step
            self._know(tensor, slot)
            self.by_array[id(tensor._data)] = slot
            self.alive.append(tensor._data)
            step.outputs.append(slot)

    def _constant_ok(self, cls, value, handed) -> bool:
        """A non-tensor argument is replayed as it is: it must not hold a tensor, nor an
        array other than a constant one (``derived``: an index made from shapes) or a
        captured buffer's own (BatchNorm's running statistics), which joins ``handed``."""
        if _tensors_in(value):
            self.graph_break(f"{cls.__name__}: a tensor inside a non-tensor argument")
            return False
        for array in arrays_in(value):
            if id(array) in self.fixed:
                continue
            slot = self.by_array.get(id(array))
            owner = self.captured.get(self.captured_arrays.get(id(array)))
            if slot is None and owner is not None:
                slot = self._new_slot("captured", owner)
            if slot is not None and slot.kind == "captured":
                self.handed_over.add(id(array))
                handed.append(array)
            if slot is None or slot.kind != "captured":
                self.graph_break(f"{cls.__name__}: an array argument (an index or mask "
                                 "computed from values) that a replay could not follow")
                return False
        return True

    def changed_sources(self) -> list:
        """The inputs and captured tensors whose version moved without a recorded write."""
        written = {id(step.op) for step in self.steps if step.kind == "write"} | self.explained
        written.update(id(slot.tensor._version_counter) for slot in self.slots
                       if slot.kind == "captured" and slot.tensor is not None
                       and id(slot.tensor._data) in self.handed_over)
        return [tensor for tensor, version in self.versions.values()
                if tensor._version_counter[0] != version
                and id(tensor._version_counter) not in written]

    def release(self) -> None:
        self.by_tensor = self.by_array = self.captured = None
        self.alive, self.storage = [], {}


def _over(one, other) -> bool:
    """Whether two arrays may share memory: views of one array, their bounds overlapping."""
    return _owner(one) is _owner(other) and xp.may_share_memory(one, other)


def _owner(array):
    """The object that owns ``array``'s memory, at the end of its ``base`` chain."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def arrays_in(value) -> list:
    """The arrays in a non-tensor argument, however deep in tuples and lists."""
    if type(value) is ndarray:
        return [value]
    if type(value) in (tuple, list):
        return [array for item in value for array in arrays_in(item)]
    return []


def _holds_tensor(value) -> bool:
    """Whether ``value`` is a tensor or an array, or holds one in its tuples, lists, sets
    and dicts, however deep."""
    if isinstance(value, (Tensor, ndarray)):
        return True
    if type(value) is dict:
        value = value.values()
    elif type(value) not in (tuple, list, set, frozenset):
        return False
    return any(_holds_tensor(item) for item in value)


def _tensors_in(value) -> list:
    if type(value) in (tuple, list):
        return [t for item in value for t in _tensors_in(item)]
    return [value] if isinstance(value, Tensor) else []


def gradient_flow(steps, seeds) -> set:
    """Indices of the slots a gradient reaches from the ``seeds`` slots, walking back."""
    flows = {s.index for s in seeds}
    for step in reversed(steps):
        if step.node is None and step.kind not in ("write", "snapshot"):
            continue
        if not any(s.index in flows for s in step.outputs):
            continue
        if step.kind in ("write", "snapshot"):
            flows.add(receiver(step).index)
            continue
        for arg, need in zip(step.args, step.needs):
            if need and isinstance(arg, Slot):
                flows.add(arg.index)
    return flows


def receiver(step) -> Slot:
    """The slot that the gradient of what a write or a snapshot made goes to: the value
    written, or the target as it was before a write under no_grad (which, as eagerly,
    leaves the target's graph as it was); the source of a snapshot."""
    if step.kind == "write" and step.needs[0]:
        return step.args[0]
    return step.args[-1]


def slots_read(step) -> list:
    """The slots ``step`` reads: its slot arguments, or a ``backward()``'s roots and seeds;
    a custom ``Function``'s, and what it saved."""
    if step.kind == "backward":
        return [slot for pair in step.args for slot in pair if slot is not None]
    read = [a for a in step.args if isinstance(a, Slot)]
    if step.kind == "function":
        read += [slot for slot in step.op.saved if slot is not None]
    return read


def user_line() -> str:
    """``file:line`` of the innermost frame outside ember: the user's code that was running."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "<ember>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"
