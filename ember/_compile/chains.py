"""Steps replayed as one: attention's softmax of a masked, scaled product.

``softmax(masked_fill(scores * s, mask, -inf), dim=-1)`` (or ``scores / s``) is three
passes over the scores forward and three backward, and the two arrays between them are
read by the next step only. A program finds such chains (``find``) and writes each as one
step forward and one backward. Its own functions (``Chain.forward``, ``Chain.backward``)
run the three ops' kernels one after the other, which is eager's arithmetic; the fused
kernels of ``kernels/softmax.py`` do the same arithmetic in a loop per layout, once numba
has compiled them.
"""

from __future__ import annotations

from ember._compile.kernels._common import FLOAT32
from ember._compile.kernels.masking import _shared
from ember._compile.tape import Slot, slots_read
from ember.ops._array_math import ArrayMath
from ember.ops.elementwise.arithmetic import Div, Mul
from ember.ops.indexing import MaskedFill
from ember.ops.softmax import Softmax


class Chain:
    """One chain: the scale step (None without one), the masked_fill step and the softmax
    step, by number; ``lowered`` is the scale's lowered form (``Op.lower``)."""

    kind = "softmax chain"  # what ``kernels.fusable`` sees in place of a step's kind

    def __init__(self, scale, fill, softmax, steps, lowered):
        self.scale, self.fill, self.softmax = scale, fill, softmax
        scale_step = steps[scale] if scale is not None else None
        self.divides = scale_step is not None and scale_step.op is Div
        self.factor = scale_step.args[1] if scale_step is not None else None
        self.source = scale_step.args[0] if scale_step is not None else steps[fill].args[0]
        _, self.value, self.mask = steps[fill].args
        self.dim = steps[softmax].args[1]
        self.lowered = lowered

    @property
    def folded(self) -> tuple:
        """The step numbers the chain's softmax step stands for besides its own."""
        return (self.fill,) if self.scale is None else (self.scale, self.fill)

    def forward(self, ctx, x, mask):
        """The three ops' forwards, one after the other, as eagerly; what the softmax's
        backward needs is saved on ``ctx``, and the mask as masked_fill keeps it."""
        if self.lowered is not None:
            x = self.lowered.forward(x, self.factor)
        fill = _Fill()
        x = MaskedFill.forward(fill, x, self.value, mask)
        ctx.fill_mask = fill.mask
        return Softmax.forward(ctx, x, self.dim)

    def backward(self, ctx, grad):
        """The three ops' array backwards, newest first: the gradient of the chain's input."""
        (grad,) = Softmax.backward_arrays(ctx, grad)[:1]
        fill = _Fill()
        fill.mask = ctx.fill_mask
        (grad,) = MaskedFill.gradients(ArrayMath, fill, grad)[:1]
        if self.lowered is not None:
            (grad,) = self.lowered.backward(grad, *[None] * len(self.lowered.saves))[:1]
        return grad


class _Fill:
    """masked_fill's ctx: the mask it keeps, and that only the filled input has a gradient."""

    needs_input_grad = (True, False, False)


def find(steps, outputs, lower) -> dict:
    """Softmax step number -> its ``Chain``, for each chain in ``steps`` whose arrays between
    steps nothing else reads (nor the region returns). ``lower(number, step)`` gives a
    step's lowered form, as the program records it."""
    readers = {}
    for number, step in enumerate(steps):
        for slot in slots_read(step):  # a backward() of a slot reads it too
            readers.setdefault(slot.index, []).append(number)
    returned = {slot.index for slot in outputs}

    def only_reader(slot, number) -> bool:
        return readers.get(slot.index) == [number] and slot.index not in returned

    producer = {slot.index: number for number, step in enumerate(steps) for slot in step.outputs}
    chains = {}
    for number, step in enumerate(steps):
        if step.kind != "op" or step.op is not Softmax or not _last_float32_rows(*step.args):
            continue
        fill = producer.get(step.args[0].index)
        if fill is None or not _a_masked_fill(steps[fill], step) or \
                not only_reader(step.args[0], number):
            continue
        scale = producer.get(steps[fill].args[0].index)
        lowered = None
        if scale is not None and _a_scale(steps[scale]) and \
                only_reader(steps[fill].args[0], fill):
            lowered = lower(scale, steps[scale])
        if lowered is None:
            scale = None
        chains[number] = Chain(scale, fill, number, steps, lowered)
    return chains


def _last_float32_rows(x, dim) -> bool:
    return x.dtype == FLOAT32 and len(x.shape) >= 1 and dim == len(x.shape) - 1


def _a_masked_fill(step, softmax) -> bool:
    """Whether ``step`` fills its float32 input by a shared bool mask with a number (no
    gradient for the mask or the value), and has the softmax's need of a gradient."""
    if step.kind != "op" or step.op is not MaskedFill:
        return False
    x, value, mask = step.args
    return isinstance(x, Slot) and isinstance(mask, Slot) and type(value) in (int, float) \
        and x.dtype == FLOAT32 and tuple(x.shape) == tuple(softmax.args[0].shape) \
        and _shared(x.shape, mask) and (step.node is None) == (softmax.node is None) \
        and tuple(step.needs[1:]) in ((), (False, False))


def _a_scale(step) -> bool:
    """Whether ``step`` multiplies or divides a float32 array by a Python number."""
    if step.kind != "op" or step.op not in (Mul, Div):
        return False
    x, factor = step.args
    return isinstance(x, Slot) and type(factor) is float and x.dtype == FLOAT32 \
        and tuple(step.needs[1:]) in ((), (False,))
