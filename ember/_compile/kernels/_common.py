"""What the fused kernels share: the record of a family, the bind of an optimizer's step,
the check that arrays suit a loop, NumPy's pairwise summation and a row's maximum."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

from ember._backend import ndarray, xp
from ember.optim.optimizer import Optimizer

FLOAT32 = xp.dtype(xp.float32)
# numba's C-contiguous array layouts of 1 to 4 dims: kernels declared for each take an
# array as it is (a reshape in Python costs a small array as much as its arithmetic), and
# numba refuses (TypeError) any other layout, dtype or library's array
C_LAYOUTS = ("::1", ":, ::1", ":, :, ::1", ":, :, :, ::1")
_OPTIMIZER_STEP = Optimizer.step.__wrapped__  # what a compiled call records (``_tape``)


class Fused(NamedTuple):
    """One family of fused kernels.

    ``build(numba)`` compiles its kernel (or a tuple of them). ``binds(step, role)`` is,
    for the ``role`` of a program's ``step`` that it takes, the function that makes what
    the program's name for it becomes from the compiled kernel (None for a step it does
    not take). The roles (``fusion.offer``): "forward" or "backward" of an op replayed
    whole or of a call, "lowered forward" or "lowered backward" of an op replayed through
    ``Op.lower``.
    """

    kind: str
    build: Callable
    binds: Callable


def optimizer_step(step, optimizer_class, update_group):
    """The bind of an optimizer family for ``step`` (``bound_step``) whose program's
    ``callN`` becomes ``Optimizer._step`` with each group's update through
    ``update_group(optimizer, kernel, params, grads, states, group)``."""
    return bound_step(step, optimizer_class, functools.partial(_each_group, update_group))


def _each_group(update_group, optimizer, kernel) -> None:
    optimizer._step(None, functools.partial(update_group, optimizer, kernel))


def bound_step(step, optimizer_class, run):
    """The bind of an optimizer family for ``step``, where it is ``optimizer.step()`` of an
    ``optimizer_class`` (``stepped_optimizer``): the program's ``callN`` becomes
    ``run(optimizer, kernel)``; where an LR scheduler wraps the step, it first does what
    the wrapper does besides stepping, marking the optimizer stepped. None for any other
    step."""
    found = stepped_optimizer(step, optimizer_class)
    if found is None:
        return None
    optimizer, scheduled = found
    if scheduled:
        return lambda kernel: functools.partial(
            _marked_step, optimizer, functools.partial(run, optimizer, kernel))
    return lambda kernel: functools.partial(run, optimizer, kernel)


def stepped_optimizer(step, optimizer_class):
    """(optimizer, scheduled) where ``step`` is ``optimizer.step()`` (no closure) of an
    ``optimizer_class`` that keeps that class's update, called as it is or through the
    wrapper an LR scheduler puts around it (``scheduled``: ``_track_optimizer_step``);
    None for any other step."""
    if step.kind != "call" or step.op.keywords:
        return None
    function, arguments = step.op.func, step.op.args
    reference = getattr(function, "scheduled_optimizer", None)
    if reference is not None and not arguments and \
            getattr(function.__wrapped__, "__wrapped__", None) is _OPTIMIZER_STEP:
        optimizer, closure = reference(), ()
    elif function is _OPTIMIZER_STEP:
        optimizer, *closure = arguments
    else:
        return None
    if not isinstance(optimizer, optimizer_class) or any(closure) or \
            type(optimizer)._update_group is not optimizer_class._update_group:
        return None
    return optimizer, reference is not None


def _marked_step(optimizer, step) -> None:
    optimizer._opt_called = True  # as the scheduler's wrapper (``_track_optimizer_step``)
    step()


def contiguous_float32(*arrays) -> bool:
    """Whether these are C-contiguous float32 NumPy arrays (what the loops take).

    A plain loop: it runs once per parameter in an optimizer's step, where a generator
    under ``all`` costs several times as much."""
    for a in arrays:
        if type(a) is not ndarray or a.dtype != FLOAT32 or not a.flags.c_contiguous:
            return False
    return True


@functools.cache
def pairwise_sum(numba):
    """NumPy's pairwise sum of a contiguous float32 array (``pairwise_sum`` in its ufunc
    loops): plain under 8 elements, eight running sums up to 128, halves (a multiple of 8
    first) above.

    numba inlines it into the loop that calls it (a row's sum, one call per row, costs as
    much as the row's arithmetic otherwise); only a row of over 128 calls the halving.
    """

    @numba.njit("float32(float32[::1])", nogil=True, inline="always")
    def block(a):
        n = a.shape[0]
        if n < 8:
            total = numba.float32(0.0)
            for i in range(n):
                total += a[i]
            return total
        r0, r1, r2, r3, r4, r5, r6, r7 = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]
        i, stop = 8, n - n % 8
        while i < stop:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            total += a[i]
            i += 1
        return total

    @numba.njit("float32(float32[::1])", nogil=True)
    def halves(a):
        n = a.shape[0]
        if n <= 128:
            return block(a)
        half = n // 2
        half -= half % 8
        return halves(a[:half]) + halves(a[half:])

    @numba.njit("float32(float32[::1])", nogil=True, inline="always")
    def pairwise(a):
        return block(a) if a.shape[0] <= 128 else halves(a)

    return pairwise


@functools.cache
def row_maximum(numba):
    """The maximum of a contiguous float32 row, inlined where it is called: exact in any
    order, so in eight running maxima (a loop that vectorizes); the row's first NaN where
    it holds one, as a loop that stops at it."""

    @numba.njit("float32(float32[::1])", nogil=True, inline="always")
    def row_max(row):
        width = row.shape[0]
        stop = width - width % 8
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = row[0]
        nan = False
        for j in range(0, stop, 8):
            a0, a1, a2, a3 = row[j], row[j + 1], row[j + 2], row[j + 3]
            a4, a5, a6, a7 = row[j + 4], row[j + 5], row[j + 6], row[j + 7]
            t0, t1 = a0 if a0 > t0 else t0, a1 if a1 > t1 else t1
            t2, t3 = a2 if a2 > t2 else t2, a3 if a3 > t3 else t3
            t4, t5 = a4 if a4 > t4 else t4, a5 if a5 > t5 else t5
            t6, t7 = a6 if a6 > t6 else t6, a7 if a7 > t7 else t7
            nan |= (a0 != a0) | (a1 != a1) | (a2 != a2) | (a3 != a3) | (a4 != a4) | \
                (a5 != a5) | (a6 != a6) | (a7 != a7)
        top = t0
        for t in (t1, t2, t3, t4, t5, t6, t7):
            top = t if t > top else top
        for j in range(stop, width):
            nan |= row[j] != row[j]
            top = row[j] if row[j] > top else top
        if nan or top != top:
            for j in range(width):
                if row[j] != row[j]:
                    return row[j]
        return top

    return row_max
