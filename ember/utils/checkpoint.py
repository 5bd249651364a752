"""``ember.utils.checkpoint``: activation checkpointing's API, run without the saving.

PyTorch's ``checkpoint`` drops a segment's activations in the forward pass and recomputes
them in the backward pass, trading compute for memory. ember runs the segment once with
gradient recording, so gradients are the same but **no memory is saved**: scripts that
use checkpointing run unchanged, with the memory profile of the plain model. Since
nothing is recomputed, ``preserve_rng_state`` has nothing to preserve.
"""

import warnings

__all__ = ["checkpoint", "checkpoint_sequential"]

_REENTRANT_WARNING = (
    "the use_reentrant parameter should be passed explicitly. {when} use_reentrant=False "
    "is recommended, but if you need to preserve the current default behavior, you can "
    "pass use_reentrant=True. Refer to docs for more details on the differences between "
    "the two variants."
)


def _noop_context_fn():
    return None


def checkpoint(function, *args, use_reentrant=None, context_fn=_noop_context_fn,
               determinism_check="default", debug=False, early_stop=True, **kwargs):
    """``function(*args, **kwargs)``, with PyTorch's argument checks and warning.

    As in PyTorch, not passing ``use_reentrant`` warns and means True, and the reentrant
    variant takes no keyword arguments for ``function``. Gradients equal PyTorch's; the
    activations are kept, so no memory is saved (see the module docstring).
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: " + _REENTRANT_WARNING.format(
                when="Starting in PyTorch 2.9, calling checkpoint without use_reentrant "
                     "will raise an exception."),
            stacklevel=2,
        )
        use_reentrant = True
    kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant and (context_fn is not _noop_context_fn or debug is not False):
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    return function(*args, **kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (a list or ``nn.Sequential``) in order on ``input``.

    PyTorch checkpoints all but the last of ``segments`` chunks; ember runs them all
    directly, so the result and gradients are the same and no memory is saved.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: " + _REENTRANT_WARNING.format(
                when="In version 2.9 we will raise an exception if use_reentrant is not "
                     "passed."),
            stacklevel=2,
        )
    kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children"):
        functions = list(functions.children())
    for function in functions:
        input = function(input)
    return input
