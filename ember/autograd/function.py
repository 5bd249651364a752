"""``Function``: one recorded operation, its forward beside its backward.

Calling ``SomeFunction.apply(*args)`` runs ``forward`` and, when grad mode is on
and an input requires grad, leaves a node on each output: an instance of
``SomeFunctionBackward`` that is also the ``ctx`` both methods receive. The node
remembers its inputs' nodes (``next_functions``), what ``forward`` saved, and the
shapes and dtypes the engine needs to hand each input a gradient of its own shape.

ember's own operations subclass ``Function`` too, through ``ember.ops._function.Op``,
whose ``forward`` sees arrays rather than tensors.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import traceback
import warnings
import weakref

from ember import _tape
from ember._backend import (
    array_types as _array_types,
    asarray as _asarray,
    bfloat16 as _BFLOAT16,
    ignoring_float_errors,
    ndarray as _ndarray,
    xp,
)
from ember._hooks import add_hook
from ember._tensor import Tensor
from ember.autograd import grad_mode
from ember.autograd.anomaly_mode import anomaly_state

# Node numbers: ``next()`` on an itertools.count is one C call, atomic under the GIL, so
# threads making nodes at once still get distinct, increasing numbers.
_sequence = itertools.count()


class _ThreadState(threading.local):
    """Autograd's bookkeeping that belongs to one thread (set up afresh in each thread)."""

    def __init__(self):
        # Optimizer steps this thread has taken. A node remembers the count when backward
        # ran through it; meeting that node again after a later step of the same thread
        # means a graph was kept alive into the next step (a memory leak). Other threads'
        # optimizers do not count: their steps say nothing about this thread's graphs.
        self.optimizer_steps = 0
        # ``autograd.graph.saved_tensors_hooks``: the (pack, unpack) pairs in force, innermost
        # last (only it applies), and the message of a ``disable_saved_tensors_hooks`` block.
        self.saved_hooks = []
        self.saved_hooks_disabled = None


thread_state = _ThreadState()


class _HooksAnywhere:
    """How many saved-tensor hook pairs all threads have in force: with none, saving costs
    one read of ``count`` more than it did before the hooks existed."""

    __slots__ = ("count", "lock")

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()


saved_hooks_anywhere = _HooksAnywhere()


def count_optimizer_step() -> None:
    """Note that this thread's optimizer took a step (every ``Optimizer.step`` calls this)."""
    thread_state.optimizer_steps += 1


# The lines of user code that were already warned about keeping a graph alive: the warning
# is given once per line, not once per process, so a second leak elsewhere is reported too.
_leak_warned_at: set = set()
LEAK_MESSAGE = (
    "A tensor that still carries its autograd graph from an earlier optimizer step is being "
    "used again (for example `total_loss += loss`). Its graph, and the memory it holds, grows "
    "with every step. Use `loss.item()` for a number, or `loss.detach()` for a tensor."
)

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


class SavedTensor:
    """An output of a node saved by that node, kept as its array.

    Saving the output tensor itself would make a reference cycle (node, output, its
    ``grad_fn``), so the node keeps the array and rebuilds an equivalent tensor on unpacking.
    """

    __slots__ = ("_data", "_output_nr", "_version_counter")

    def __init__(self, tensor):
        self._data, self._output_nr = tensor._data, tensor._output_nr
        self._version_counter = tensor._version_counter

    def unpack(self, owner):
        tensor = Tensor._make(self._data, True)
        tensor.grad_fn, tensor._output_nr = owner, self._output_nr
        tensor._version_counter = self._version_counter
        return tensor


class PackedTensor:
    """A saved tensor that went through the thread's saved-tensor hooks: what ``pack_hook``
    returned, and the saved tensor's place in the graph, which the value that ``unpack_hook``
    hands back takes on. The tensor itself is not kept (that is the point: a hook may keep
    the value elsewhere, or nowhere, as checkpointing does)."""

    __slots__ = ("_packed", "_unpack_hook", "_shape", "_requires_grad", "_edge", "_output_nr",
                 "_own_output")

    def __init__(self, tensor, packed, unpack_hook, owner):
        self._packed, self._unpack_hook = packed, unpack_hook
        self._shape, self._requires_grad = tensor._data.shape, tensor._requires_grad
        self._output_nr, grad_fn = tensor._output_nr, tensor.grad_fn
        # An output of the owner itself would make a cycle (owner, this, owner): it is
        # reconnected to the owner that unpacks it, as ``SavedTensor`` does.
        self._own_output = grad_fn is owner
        if grad_fn is None and tensor._requires_grad:
            grad_fn = grad_accumulator(tensor)  # a leaf: its gradient's destination
        self._edge = None if self._own_output else grad_fn

    def unpack(self, owner):
        value = self._unpack_hook(self._packed)
        if not isinstance(value, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but "
                            f"got result of type {type(value).__name__}")
        if value._data.shape != self._shape:
            raise RuntimeError(
                f"{owner.name()}: the unpack_hook of a saved tensor of shape "
                f"{list(self._shape)} returned a tensor of shape {list(value._data.shape)}")
        tensor = Tensor._make(value._data, self._requires_grad)
        tensor._version_counter = value._version_counter
        edge = owner if self._own_output else self._edge
        if type(edge) is AccumulateGrad:
            tensor._accumulator = weakref.ref(edge)
        elif edge is not None:
            tensor.grad_fn, tensor._output_nr = edge, self._output_nr
        return tensor


_UNVERSIONED = ([0], 0)  # the version check of a saved None: always passes


def _raise_modified_tensor(tensor, version: int):
    """The error for a saved ``tensor`` changed in place since it was saved at ``version``."""
    where = ""
    if tensor.grad_fn is not None:
        where = f", which is output {tensor._output_nr} of {tensor.grad_fn.name()},"
    _raise_modified(tensor.dtype, list(tensor.shape), where, tensor._version_counter[0], version)


def _raise_modified(dtype, shape, where: str, now: int, version: int):
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{dtype} {shape}]{where} is at version {now}; "
        f"expected version {version} instead. Hint: the backtrace further above "
        "shows the operation that failed to compute its gradient. The variable in "
        "question was changed in there or anywhere later. Good luck!"
    )


class BackwardNode:
    """A node of the graph: PyTorch's ``grad_fn``, and the ``ctx`` of its ``Function``."""

    _forward_cls: type = None
    _backward_arrays = None  # the Function's ``backward_arrays``, when it defines one
    _is_accumulator = False
    _executed_at = -1  # the optimizer step count when backward last ran through this node

    # Defaults shared by every node until one sets its own (most nodes never do), so that
    # making a node costs one attribute, not sixteen.
    needs_input_grad = ()
    _saved = ()
    _released = False
    # The hook registries (``ember/_hooks.py``), each made on its first registration.
    _tensor_hooks = None  # output_nr -> {handle id: hook} of the output tensors' hooks
    _retained = None  # output_nr -> weakref of an output tensor that retains its grad
    _hooks = None  # handle id -> hook, run after the node (``register_hook``)
    _prehooks = None  # handle id -> hook, run before the node (``register_prehook``)
    # Per tensor input: (position in args, shape, NumPy dtype, the node its gradient goes
    # to or None, that node's output number). ``next_functions`` is read from it.
    _input_meta = ()
    _num_args = 0
    _output_meta = ()  # (shape, NumPy dtype) of each output
    _non_differentiable = ()
    _dirty = ()
    materialize_grads = True
    _trace = None

    # Set when the node is connected into the graph: later nodes run first in backward.
    _sequence_nr = -1

    @property
    def next_functions(self) -> tuple:
        """Per tensor input, the (node, output number) its gradient goes to, or (None, 0)."""
        return tuple([(meta[3], meta[4]) for meta in self._input_meta])

    @property
    def metadata(self) -> dict:
        found = self.__dict__.get("_metadata")
        if found is None:
            found = self.__dict__["_metadata"] = {}
        return found

    @metadata.setter
    def metadata(self, value: dict) -> None:
        self.__dict__["_metadata"] = value

    # -- the ctx contract
    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    # What was saved is kept three ways, filled in together by ``keep_saved``: ``_saved``
    # has per value None, the tensor, or (for an output of this very node, which would make
    # a reference cycle) a SavedTensor; ``_saved_data`` has their arrays, and
    # ``_saved_versions`` a pair (version counter, version when saved) for each.
    _saved_data = ()
    _saved_versions = ()

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(FREED_MESSAGE)
        self._check_versions()
        return tuple(
            saved.unpack(self) if type(saved) in _UNPACKED else saved for saved in self._saved
        )

    @property
    def saved_arrays(self) -> tuple:
        """``saved_tensors`` as their arrays, with the same checks, for ``backward_arrays``."""
        if self._released:
            raise RuntimeError(FREED_MESSAGE)
        for counter, version in self._saved_versions:
            if counter[0] != version:
                self._check_versions()
        # Empty when saved-tensor hooks packed the values (or nothing was saved).
        return self._saved_data or self._unpacked_arrays()

    _widened = False  # a bfloat16 op's node whose backward computes in float32

    def _unpacked_arrays(self) -> tuple:
        """``saved_arrays`` of a node whose saved values went through saved-tensor hooks."""
        arrays = [None if saved is None else saved._data for saved in self.saved_tensors]
        if self._widened:
            arrays = [a.astype(_FLOAT32) if a is not None and a.dtype is _BFLOAT16 else a
                      for a in arrays]
        return tuple(arrays)

    def _check_versions(self) -> None:
        """PyTorch's error when a saved value was changed in place after it was saved."""
        for saved, (counter, version) in zip(self._saved, self._saved_versions):
            if counter[0] == version:
                continue
            if type(saved) is SavedTensor:
                where = f", which is output {saved._output_nr} of {self.name()},"
                _raise_modified("", list(saved._data.shape), where, counter[0], version)
            _raise_modified_tensor(saved, version)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    # -- what a person sees
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def register_hook(self, hook):
        """``hook(grad_inputs, grad_outputs)`` runs after this node computes its gradients."""
        return add_hook(self, "_hooks", hook)

    def register_prehook(self, hook):
        """``hook(grad_outputs)`` runs before this node; it may return replacement gradients."""
        return add_hook(self, "_prehooks", hook)

    def _release(self) -> None:
        if self._saved:
            self._saved = self._saved_data = self._saved_versions = ()
            self._released = True

    def _run_backward(self, grads: tuple) -> tuple:
        fast = self._backward_arrays
        if fast is not None and not grad_mode.state.enabled:
            # Nothing will differentiate these gradients: compute them on arrays directly.
            arrays = [None if g is None else g._data for g in grads]
            with ignoring_float_errors():
                results = fast(self, *arrays)
            make = Tensor._make
            if not isinstance(results, tuple):
                results = (results,)
            return tuple(None if r is None else make(_as_array(r)) for r in results)
        return self._forward_cls.backward(self, *grads)


class AccumulateGrad(BackwardNode):
    """The node at a leaf that requires grad: it adds incoming gradients into ``.grad``."""

    _is_accumulator = True

    def __init__(self, variable):
        self._sequence_nr = next(_sequence)
        self.variable = variable
        self._output_meta = ((variable._data.shape, variable._data.dtype),)

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class FunctionMeta(type):
    """Gives each ``Function`` its node class, named ``<Name>Backward`` as in PyTorch."""

    def __init__(cls, name, bases, attributes):
        super().__init__(name, bases, attributes)
        node_name = attributes.get("node_name") or f"{name}Backward{cls._node_suffix}"
        body = {"_forward_cls": cls}
        on_arrays = cls._backward_on_arrays()
        if on_arrays is not None:
            body["_backward_arrays"] = staticmethod(on_arrays)
        cls._backward_cls = type(node_name, (BackwardNode,), body)


class Function(metaclass=FunctionMeta):
    """Base class of differentiable operations, with PyTorch's contract.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``
    as static methods and are called through ``apply``. ``backward`` returns one
    gradient per argument of ``forward`` (``None`` for arguments that need none);
    it runs under ``no_grad`` unless the backward pass was asked to
    ``create_graph``, so writing it with ember operations makes it differentiable.

    Example::

        class Exp(ember.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):
                (y,) = ctx.saved_tensors
                return grad * y

        y = Exp.apply(x)
    """

    _node_suffix = ""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement the backward function for custom autograd.Function."
        )

    vjp = backward

    @classmethod
    def _backward_on_arrays(cls):
        """The backward that the engine may run on arrays: a ``backward_arrays`` that the
        class defines or inherits, unless a class nearer in its lineage defines ``backward``."""
        for klass in cls.__mro__:
            if "backward_arrays" in vars(klass):
                return cls.backward_arrays
            if "backward" in vars(klass):
                return None
        return None

    @classmethod
    def apply(cls, *args, **kwargs):
        # An ``ember.compile`` recording sees the forward's ops, then the Function itself
        # (``Tape.function``): a replay runs those ops and this class's ``backward``.
        tape = _tape.current()
        if tape is not None and kwargs:
            tape.graph_break(f"a custom autograd.Function ({cls.__name__}) called with "
                             "keyword arguments")
            tape = None  # the call runs eagerly: nothing more of it to record
        mark = tape.mark() if tape is not None else None
        node = cls._backward_cls()
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        node.needs_input_grad = needs
        record = grad_mode.state.enabled and any(needs)
        with grad_mode.no_grad():
            if "setup_context" in _overridden(cls):
                output = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, output)
            else:
                output = cls.forward(node, *args, **kwargs)
        to_save = node.__dict__.pop("to_save", ())
        if not record:
            return output
        outputs = output if isinstance(output, tuple) else (output,)
        inputs = [a for a in args if isinstance(a, Tensor)]
        wrapped = []
        for item in outputs:
            returned_input = isinstance(item, Tensor) and any(item is i for i in inputs)
            if returned_input and not any(item is d for d in node._dirty):
                item = item._alias()
            wrapped.append(item)
        connect(node, args, wrapped)
        if to_save:
            keep_saved(node, to_save)
        if tape is not None:
            tape.function(mark, cls, node, args, wrapped, to_save)
        return tuple(wrapped) if isinstance(output, tuple) else wrapped[0]


def _overridden(cls) -> set:
    return {name for klass in cls.__mro__ if klass is not Function for name in vars(klass)}


def connect(node: BackwardNode, args, outputs) -> None:
    """Record ``node`` as the creator of ``outputs`` and link it to its inputs' nodes.

    Per tensor argument, ``node._input_meta`` keeps (its position among the arguments, its
    shape, its dtype, the node its gradient goes to or None, that node's output number);
    ``next_functions`` is read from it. Each output that can carry a gradient (a floating
    dtype, not marked non-differentiable) gets ``node`` as its ``grad_fn``.
    """
    needs, inputs = [], []
    for position, arg in enumerate(args):
        if isinstance(arg, Tensor):
            data, required = arg._data, arg._requires_grad
            next_node, output_nr = edge_of(arg) if required else _NO_EDGE
            inputs.append((position, data.shape, data.dtype, next_node, output_nr))
            needs.append(required)
        else:
            needs.append(False)
    node.needs_input_grad, node._input_meta, node._num_args = tuple(needs), tuple(inputs), len(args)
    node._sequence_nr = next(_sequence)
    excluded = node._non_differentiable or node._dirty
    meta = []
    for output_nr, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            meta.append(None)
            continue
        dtype = out._data.dtype
        meta.append((out._data.shape, dtype))
        if (dtype.kind == "f" or dtype is _BFLOAT16) and not (excluded and _excluded(node, out)):
            out._requires_grad, out.grad_fn, out._output_nr = True, node, output_nr
    node._output_meta = tuple(meta)
    if anomaly_state.enabled:
        node._trace = traceback.format_stack()[:-3]


_NO_EDGE = (None, 0)


def edge_of(tensor) -> tuple:
    """The (node, output number) that the gradient of ``tensor`` (which requires grad) goes
    to; warns when that node ran backward before this thread's last optimizer step."""
    node = tensor.grad_fn
    if node is None:
        return grad_accumulator(tensor), 0
    if node._executed_at >= 0:
        check_leak(node)
    return node, tensor._output_nr


def check_leak(node: BackwardNode) -> None:
    """Warn when ``node``, which already ran backward, did so before an optimizer step that
    this thread has taken since: a graph from an earlier step is being kept alive."""
    if node._executed_at < thread_state.optimizer_steps:
        _warn_leak()


def keep_saved(node: BackwardNode, tensors, arrays=None) -> None:
    """Keep ``tensors`` (tensors or None) as what ``node`` saved for backward. ``arrays``,
    where given, is what an op's forward saved, from which ``tensors`` were made."""
    if saved_hooks_anywhere.count and _keep_packed(node, tensors, arrays):
        return
    slots, data, versions = [], [], []
    for tensor in tensors:
        if tensor is None:
            slots.append(None)
            data.append(None)
            versions.append(_UNVERSIONED)
            continue
        counter = tensor._version_counter
        slots.append(SavedTensor(tensor) if tensor.grad_fn is node else tensor)
        data.append(tensor._data)
        versions.append((counter, counter[0]))
    node._saved, node._saved_data, node._saved_versions = tuple(slots), tuple(data), tuple(versions)


PACK_INPLACE_MESSAGE = (
    "A saved tensor pack hook is modifying its input in place. Tensors provided as input to "
    "pack hook cannot be modified by in-place operations as this can lead to unexpected "
    "side-effects. Please open an issue if you need to perform in-place operations on the "
    "input to a pack hook."
)


def _keep_packed(node: BackwardNode, tensors, arrays) -> bool:
    """``keep_saved`` through this thread's innermost saved-tensor hooks, if it has any.

    As in PyTorch, ``pack_hook`` runs under ``no_grad`` on each saved tensor and may not
    change it in place; the value that comes back unpacked is not version-checked. A number
    that an op saved (a promoted Python scalar) is kept as it is: PyTorch saves scalars as
    scalars, which its hooks never see.
    """
    hooks = thread_state.saved_hooks
    if not hooks:
        return False  # the hooks in force are another thread's
    _tape.graph_break("saved-tensor hooks are in force (saved_tensors_hooks, checkpoint)")
    pack_hook, unpack_hook = hooks[-1]
    slots = []
    for index, tensor in enumerate(tensors):
        if tensor is None or (arrays is not None and type(arrays[index]) not in _array_types):
            slots.append(tensor)
            continue
        version = tensor._version_counter[0]
        with grad_mode.no_grad():
            packed = pack_hook(tensor)
        if tensor._version_counter[0] != version:
            raise RuntimeError(PACK_INPLACE_MESSAGE)
        slots.append(PackedTensor(tensor, packed, unpack_hook, node))
    node._saved, node._saved_data, node._saved_versions = tuple(slots), (), ()
    return True


def _excluded(node: BackwardNode, out) -> bool:
    """Whether ``out`` was marked non-differentiable; a dirty leaf that requires grad raises."""
    if any(out is t for t in node._non_differentiable):
        return True
    if any(out is d for d in node._dirty) and out.is_leaf and out.requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    return False


def grad_accumulator(tensor) -> AccumulateGrad:
    """The ``AccumulateGrad`` node of a leaf: one per leaf, for as long as a graph holds it."""
    node = tensor._accumulator() if tensor._accumulator is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(node)
    return node


def _as_array(value):
    return value if type(value) is _ndarray else _asarray(value)


_UNPACKED = (SavedTensor, PackedTensor)  # the forms of a saved value that ``unpack`` rebuilds
_FLOAT32 = xp.dtype(xp.float32)


def _in_package(frame, package: str) -> bool:
    return os.path.abspath(frame.f_code.co_filename).startswith(package)


def _warn_leak() -> None:
    """Warn about a kept graph, once per line of user code that keeps one."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame = sys._getframe(1)
    while frame.f_back is not None and _in_package(frame, package):
        frame = frame.f_back
    where = (frame.f_code.co_filename, frame.f_lineno)
    if where in _leak_warned_at:
        return
    _leak_warned_at.add(where)
    warnings.warn_explicit(LEAK_MESSAGE, UserWarning, where[0], where[1],
                           module=frame.f_globals.get("__name__"), registry={})


class once_differentiable:
    """Decorator for a ``backward`` that cannot itself be differentiated (accepted for parity)."""

    def __new__(cls, function):
        return function
