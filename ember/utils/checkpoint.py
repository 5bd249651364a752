"""``ember.utils.checkpoint``: activation checkpointing, trading compute for memory.

``checkpoint(function, *args)`` runs ``function`` without keeping the tensors its backward
pass needs (the activations); the backward pass runs ``function`` again to get them back,
with the random state of the first run when ``preserve_rng_state`` (dropout draws the same
mask), and backpropagates through what it recomputed. The two variants are PyTorch's:

- ``use_reentrant=False`` records the graph as usual but keeps none of its saved tensors:
  ``autograd.graph.saved_tensors_hooks`` hand each one a placeholder, and the backward
  pass's first need of one reruns the function to fill them all (stopping once the last
  is filled). Gradients flow through the graph of the first run, so ``autograd.grad``,
  inputs that require no grad, keyword arguments and nested checkpoints all work.
- ``use_reentrant=True`` runs the function under ``no_grad`` inside a custom ``Function``
  that saves only its inputs; that Function's backward reruns the function with grad
  recording and starts a backward pass of its own through the result. It needs an input
  that requires grad, and refuses ``autograd.grad`` and ``backward(inputs=...)``.

Only the CPU generator's state is preserved: a CUDA generator's (CuPy's) cannot be read
back, so random draws on CUDA tensors differ in the recomputation.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
import weakref

from ember._tensor import Tensor
from ember.amp import autocast, get_autocast_dtype, is_autocast_enabled
from ember.autograd import Function, backward, enable_grad, no_grad
from ember.autograd.engine import is_checkpoint_valid
from ember.autograd.graph import saved_tensors_hooks
from ember.nn import Sequential
from ember.random import fork_rng, get_rng_state, set_rng_state

__all__ = [
    "checkpoint",
    "checkpoint_sequential",
    "CheckpointError",
    "CheckpointFunction",
    "check_backward_validity",
    "detach_variable",
    "noop_context_fn",
    "set_checkpoint_early_stop",
]

_REENTRANT_WARNING = (
    "the use_reentrant parameter should be passed explicitly. {when} use_reentrant=False "
    "is recommended, but if you need to preserve the current default behavior, you can "
    "pass use_reentrant=True. Refer to docs for more details on the differences between "
    "the two variants."
)

_REENTRANT_GRAD_MESSAGE = (
    "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() or passing "
    "an `inputs` parameter to .backward(). To resolve this error, you can either set "
    "use_reentrant=False, or call .backward() without passing the `inputs` argument."
)


class CheckpointError(RuntimeError):
    """The recomputation of a non-reentrant checkpoint did not save what the first run saved."""


def noop_context_fn():
    """The default ``context_fn``: no context around the forward run or the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """``inputs`` with each tensor detached, keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    return tuple(_detached(item) for item in inputs)


def _detached(item):
    if not isinstance(item, Tensor):
        return item
    return item.detach().requires_grad_(item.requires_grad)


def check_backward_validity(inputs) -> None:
    """Warn when no tensor among ``inputs`` requires grad: a reentrant checkpoint then
    gives no gradients at all."""
    if not any(isinstance(item, Tensor) and item.requires_grad for item in inputs):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


class _EarlyStop(threading.local):
    def __init__(self):
        self.enabled = None  # None: each checkpoint's own ``early_stop`` decides


_early_stop = _EarlyStop()


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Within the block, whether a non-reentrant checkpoint's recomputation stops once it
    has recomputed every tensor the backward pass needs (overriding ``early_stop``)."""
    previous = _early_stop.enabled
    _early_stop.enabled = enable
    try:
        yield
    finally:
        _early_stop.enabled = previous


# ---------------------------------------------------------------- the recomputation's state


class _Replay:
    """The state a recomputation restores: the CPU generator's and autocast's."""

    def __init__(self, preserve_rng_state: bool):
        self.rng_state = get_rng_state() if preserve_rng_state else None
        self.autocast = {device: (is_autocast_enabled(device), get_autocast_dtype(device))
                         for device in ("cpu", "cuda")}

    @contextlib.contextmanager
    def restored(self):
        """Run the block with grad recording, the random state and autocast of the first
        run, and leave the random state as it was found."""
        with contextlib.ExitStack() as stack:
            stack.enter_context(fork_rng(enabled=self.rng_state is not None))
            if self.rng_state is not None:
                set_rng_state(self.rng_state)
            for device, (enabled, dtype) in self.autocast.items():
                stack.enter_context(autocast(device, dtype=dtype, enabled=enabled))
            stack.enter_context(enable_grad())
            yield


# ---------------------------------------------------------------- use_reentrant=True


class CheckpointFunction(Function):
    """The reentrant checkpoint: ``run_function(*args)`` under ``no_grad``, saving ``args``;
    its backward reruns it with grad recording and backpropagates through the rerun."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function, ctx.replay = run_function, _Replay(preserve_rng_state)
        ctx.inputs = [None if isinstance(arg, Tensor) else arg for arg in args]
        ctx.tensor_indices = [i for i, arg in enumerate(args) if isinstance(arg, Tensor)]
        ctx.save_for_backward(*[arg for arg in args if isinstance(arg, Tensor)])
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx, *grads):
        if not is_checkpoint_valid():
            raise RuntimeError(_REENTRANT_GRAD_MESSAGE)
        inputs = list(ctx.inputs)
        for index, tensor in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[index] = tensor
        detached = detach_variable(tuple(inputs))
        with ctx.replay.restored():
            outputs = ctx.run_function(*detached)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        pairs = [(output, grad) for output, grad in zip(outputs, grads)
                 if isinstance(output, Tensor) and output.requires_grad]
        if not pairs:
            raise RuntimeError(
                "none of output has requires_grad=True, this checkpoint() is not necessary")
        backward([output for output, _ in pairs], [grad for _, grad in pairs])
        return (None, None) + tuple(item.grad if isinstance(item, Tensor) else None
                                    for item in detached)


# ---------------------------------------------------------------- use_reentrant=False


class _Holder:
    """What a saved tensor leaves in the graph: empty until a recomputation fills it."""

    __slots__ = ("value", "__weakref__")

    def __init__(self):
        self.value = None


class _StopRecomputation(Exception):
    pass


class _Frame:
    """One non-reentrant checkpoint call: how to run ``function`` again, and a placeholder
    (``_Holder``) per tensor its first run saved, in the order it saved them.

    The graph keeps the placeholders; the frame keeps only weak references to them, so a
    node that has run its backward (and dropped what it saved) takes its placeholder and
    recomputed value with it.
    """

    def __init__(self, function, args, kwargs, preserve_rng_state, recompute_context,
                 determinism_check, early_stop):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.replay = _Replay(preserve_rng_state)
        self.recompute_context = recompute_context
        self.check = determinism_check == "default"
        self.early_stop = early_stop
        self.holders, self.metadata = [], []
        self.recomputed = 0  # the tensors the recomputation under way has saved so far
        self.mismatches = []

    def pack(self, tensor) -> _Holder:
        holder = _Holder()
        self.holders.append(weakref.ref(holder))
        self.metadata.append(_metadata(tensor))
        return holder

    def unpack(self, holder: _Holder):
        if holder.value is None:
            self._recompute()
        if holder.value is None:
            raise CheckpointError("torch.utils.checkpoint: the recomputation did not save the "
                                  "tensor the backward pass asks for.")
        return holder.value

    def _recompute(self) -> None:
        self.recomputed, self.mismatches = 0, []
        hooks = saved_tensors_hooks(self._pack_recomputed, _no_unpack)
        try:
            with self.replay.restored(), self.recompute_context, hooks:
                self.function(*self.args, **self.kwargs)
        except _StopRecomputation:
            pass
        if not self.check:
            return
        if self.recomputed != len(self.holders):
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved during the "
                "original forward and recomputation.\n"
                f"Number of tensors saved during forward: {len(self.holders)}\n"
                f"Number of tensors saved during recomputation: {self.recomputed}.")
        if self.mismatches:
            lines = "".join(
                f"tensor at position {index}:\nsaved metadata: {saved}\n"
                f"recomputed metadata: {recomputed}\n"
                for index, saved, recomputed in self.mismatches)
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors have "
                f"different metadata than during the forward pass.\n{lines}.")

    def _pack_recomputed(self, tensor):
        index = self.recomputed
        self.recomputed += 1
        if index >= len(self.holders):  # more than the first run saved
            if self.early_stop:
                raise _StopRecomputation
            return None
        if self.check and _metadata(tensor) != self.metadata[index]:
            self.mismatches.append((index, self.metadata[index], _metadata(tensor)))
        holder = self.holders[index]()
        if holder is not None and holder.value is None:
            holder.value = tensor.detach()
        if self.early_stop and index + 1 == len(self.holders):
            raise _StopRecomputation
        return None


def _metadata(tensor) -> dict:
    return {"shape": tensor.shape, "dtype": tensor.dtype, "device": tensor.device}


def _no_unpack(packed):
    raise CheckpointError("torch.utils.checkpoint: the graph of a recomputation cannot be "
                          "backpropagated through")


def _checkpoint_without_reentrant(function, preserve_rng_state, context_fn, determinism_check,
                                  early_stop, *args, **kwargs):
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    forward_context, recompute_context = context_fn()
    if _early_stop.enabled is not None:
        early_stop = _early_stop.enabled
    frame = _Frame(function, args, kwargs, preserve_rng_state, recompute_context,
                   determinism_check, early_stop)
    with forward_context, saved_tensors_hooks(frame.pack, frame.unpack):
        return function(*args, **kwargs)


# ---------------------------------------------------------------- the public functions


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False, early_stop: bool = True,
               **kwargs):
    """``function(*args, **kwargs)`` without keeping its activations: the backward pass
    recomputes them by running ``function`` again.

    Memory held for backward drops from every activation of ``function`` to its inputs
    (and, non-reentrant, the graph's bookkeeping); the price is a second forward run of
    ``function`` in the backward pass. See the module docstring for the two variants.

    Args:
        function: what to run; its random draws are repeated exactly (CPU generator).
        *args: its positional arguments.
        use_reentrant: which variant (see above). Required in spirit: omitting it warns
            and means True, as in PyTorch.
        context_fn: returns two context managers, entered around the first run and the
            recomputation (non-reentrant only).
        determinism_check: ``"default"`` checks that the recomputation saves tensors of the
            same number, shapes, dtypes and devices as the first run; ``"none"`` does not.
        debug: accepted for compatibility (non-reentrant only); ember's errors are the same.
        early_stop: stop the recomputation once it has recomputed every saved tensor.
        preserve_rng_state: keyword; restore the CPU random state for the recomputation
            (default True).
        **kwargs: keyword arguments for ``function`` (non-reentrant only).

    Returns:
        What ``function`` returns.

    Example::

        >>> hidden = checkpoint(block, x, use_reentrant=False)   # block's activations dropped
        >>> hidden.sum().backward()                              # block runs again here
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: " + _REENTRANT_WARNING.format(
                when="Starting in PyTorch 2.9, calling checkpoint without use_reentrant "
                     "will raise an exception."),
            stacklevel=2,
        )
        use_reentrant = True
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, preserve_rng_state, context_fn,
                                         determinism_check, early_stop, *args, **kwargs)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run ``functions`` in order on ``input``, checkpointing all but the last of
    ``segments`` equal runs of them.

    ``len(functions) // segments`` functions make a segment; the last segment takes the rest
    and runs without checkpointing, since its activations are needed at once.

    Args:
        functions: an ``nn.Sequential`` (its children) or a list of callables.
        segments: how many segments.
        input: the first function's input.
        use_reentrant: as for ``checkpoint`` (omitting it warns and means True).
        preserve_rng_state: keyword; as for ``checkpoint``.

    Returns:
        The last function's output.

    Example::

        >>> model = nn.Sequential(*[nn.Linear(64, 64) for _ in range(8)])
        >>> out = checkpoint_sequential(model, 4, x, use_reentrant=False)
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: " + _REENTRANT_WARNING.format(
                when="In version 2.9 we will raise an exception if use_reentrant is not "
                     "passed."),
            stacklevel=2,
        )
        use_reentrant = True
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_segment(functions, start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return _segment(functions, end + 1, len(functions) - 1)(input)


def _segment(functions, start: int, end: int):
    """The functions from ``start`` to ``end`` (both included), as one function."""

    def run(input):
        for index in range(start, end + 1):
            input = functions[index](input)
        return input

    return run
