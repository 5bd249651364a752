"""Fused kernels for compiled programs, through numba where it is installed.

NumPy runs one pass over an array per operation. Three kernels of a training step take
many: the exact GELU of a float32 array (about thirty: its erf is a rational function
evaluated in float64), layer norm over rows (about twelve forward, fifteen backward) and
Adam's update (about twelve); softmax over rows takes five around its ``exp``; and NumPy's
``add.at``, an embedding's gradient, is slow per row. numba compiles the same arithmetic
into loops (``docs/compile.md`` has the measurements, and says why other kernels stay with
NumPy).

A fused kernel does the same float32 and float64 operations in the same order as the NumPy
kernels it replaces, so a replay stays bit for bit the eager result. numba compiles in a
background thread, started when a recording that can use a fused kernel is done, so that
a recording does not wait for it: until the kernel is ready the program runs NumPy's
kernels; then its name in the program's namespace is bound to the fused one.

Optional: ``pip install "ember[compile]"`` installs numba. Without it nothing changes.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import threading
import time

from ember._backend import ndarray, xp
from ember.nn._functional.activation import Gelu
from ember.nn._functional.normalization import NativeLayerNorm
from ember.nn._functional.sparse import Embedding
from ember.ops._array_math import ArrayMath
from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q
from ember.ops.softmax import Softmax
from ember.optim.adam import Adam
from ember.optim.optimizer import Optimizer, _increment, _to_float

enabled = True  # False: programs written from now on keep NumPy's kernels (A/B runs)
failure = None  # why numba could not compile the kernels, where it could not
seconds = None  # how long the background compilation took, once it ended

_lock = threading.Lock()
_kernels = {}  # kind ("gelu", "adam") -> the compiled numba function, once ready
_requested = []  # the kinds some program asked for, in order
_waiting = []  # (kind, namespace, name, bind): program names to bind once a kernel is ready
_thread = None  # the background compilation, while it runs
_available = None  # whether numba is installed, found once
_FLOAT32 = xp.dtype(xp.float32)
_SCALE = xp.float32(math.sqrt(0.5))  # x / sqrt 2 is rounded to float32, as in eager


def offer(namespace, name, step, role="forward") -> str:
    """Bind ``namespace[name]``, the ``role`` ("forward" or "backward") of ``step`` in a
    program, to a fused kernel, now or once compiled.

    Returns a note for the printed program ("" when ``step`` has no fused kernel here).
    """
    global _available
    kind, bind = _fusable(step, role) if enabled else (None, None)
    if kind is None:
        return ""
    if _available is None:
        _available = importlib.util.find_spec("numba") is not None
    if not _available or failure is not None:
        return ""
    with _lock:
        kernel = _kernels.get(kind)
        if kernel is None:
            _waiting.append((kind, namespace, name, bind))
            if kind not in _requested:
                _requested.append(kind)
            return "fused by numba once compiled"
    namespace[name] = bind(kernel)
    return "fused by numba"


def _fusable(step, role):
    """(kind, bind) where ``step`` has a fused kernel: ``bind(kernel)`` is what the
    program's name for the step's ``role`` becomes. (None, None) elsewhere."""
    if step.kind == "op" and step.op is NativeLayerNorm and _last_dim(*step.args):
        return "layer_norm", _layer_norm_forward if role == "forward" else _layer_norm_backward
    if step.kind == "op" and step.op is Embedding and role == "backward" and \
            _plain_lookup(*step.args):
        return "embedding", _embedding_backward
    if step.kind == "op" and step.op is Softmax and _last_rows(*step.args):
        return "softmax", _softmax_forward if role == "forward" else _softmax_backward
    if role != "forward":
        return None, None
    if step.kind == "op" and step.op is Gelu:
        x, approximate = step.args
        if approximate == "none" and x.dtype == _FLOAT32:
            return "gelu", _gelu_forward
    if step.kind == "call" and step.op.func is _OPTIMIZER_STEP and not step.op.keywords:
        optimizer, *closure = step.op.args
        if isinstance(optimizer, Adam) and not any(closure) and \
                type(optimizer)._update_group is Adam._update_group:
            return "adam", functools.partial(_adam_step, optimizer)
    return None, None


_OPTIMIZER_STEP = Optimizer.step.__wrapped__  # what a compiled call records (``_tape``)


def start() -> None:
    """Start compiling the kernels asked for in the background, unless that runs already.

    A recording calls it when it is done, so that numba's import does not compete with
    the rest of the recording for the interpreter.
    """
    with _lock:
        if failure is None and any(kind not in _kernels for kind in _requested):
            _start()


def wait(timeout: float | None = None) -> bool:
    """Wait for the background compilation (starting it where it has not started);
    whether every kernel asked for is ready."""
    start()
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return bool(_requested) and all(kind in _kernels for kind in _requested)


def _forget_in_child() -> None:
    """After ``fork`` (a DataLoader worker): a fresh lock, no thread, nothing waiting. The
    parent's thread does not exist in the child, and may have held the lock."""
    global _lock, _thread
    _lock, _thread = threading.Lock(), None
    _waiting.clear()
    _requested[:] = list(_kernels)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _start() -> None:
    """Start the compiling thread unless it runs (called holding ``_lock``)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_compile_requested, name="ember-fusion")
        _thread.start()


def _compile_requested() -> None:
    """Compile each kind asked for, then bind the names waiting for it, until none is left."""
    global _thread, failure, seconds
    while True:
        with _lock:
            pending = [kind for kind in _requested if kind not in _kernels]
            if not pending or failure is not None:
                _thread = None
                return
        start = time.perf_counter()
        try:
            import numba

            kernel = _BUILDERS[pending[0]](numba)
        except Exception as error:  # numba's import or LLVM failed: NumPy's kernels stay
            with _lock:
                failure = f"{type(error).__name__}: {error}"
                _waiting.clear()
            continue
        finally:
            seconds = (seconds or 0.0) + time.perf_counter() - start
        with _lock:
            _kernels[pending[0]] = kernel
            ready = [entry for entry in _waiting if entry[0] == pending[0]]
            _waiting[:] = [entry for entry in _waiting if entry[0] != pending[0]]
        for _, namespace, name, bind in ready:
            namespace[name] = bind(kernel)


# ---------------------------------------------------------------- GELU


def _gelu_forward(kernel):
    """The lowered GELU's forward (``Gelu.exact``) through the fused kernel."""

    def forward(x, approximate):
        if type(x) is not ndarray or x.dtype != _FLOAT32 or not x.flags.c_contiguous:
            return Gelu.exact(x)
        y, twice_cdf = xp.empty_like(x), xp.empty_like(x)
        kernel(x.reshape(-1), _SCALE, y.reshape(-1), twice_cdf.reshape(-1))
        return y, twice_cdf

    return forward


def _gelu_kernel(numba):
    """``Gelu.exact`` on float32 in one loop: ``_erf_single``'s rational in float64 (the
    same Horner steps), rounded and clipped to float32, then ``1 + erf`` and ``x / 2 * it``
    in float32."""
    single, double = numba.float32, numba.float64
    p0, p1, p2, p3, p4, p5, p6 = _ERF_SINGLE_P
    q0, q1, q2, q3, q4, q5 = _ERF_SINGLE_Q

    @numba.njit("void(float32[::1], float32, float32[::1], float32[::1])", nogil=True,
                error_model="numpy")
    def gelu(x, scale, y, twice_cdf):
        one, half = single(1.0), single(0.5)
        for i in range(x.shape[0]):
            value = x[i]
            a = double(value * scale)
            s = a * a
            if s > 16.0:  # NaN stays NaN, as under NumPy's minimum
                s = 16.0
            numerator = ((((((s * p6 + p5) * s + p4) * s + p3) * s + p2) * s + p1) * s + p0) * a
            denominator = ((((s * q5 + q4) * s + q3) * s + q2) * s + q1) * s + q0
            erf = single(numerator / denominator)
            if erf > one:
                erf = one
            if erf < -one:
                erf = -one
            cdf = erf + one
            twice_cdf[i] = cdf
            y[i] = (value * half) * cdf

    return gelu


# ---------------------------------------------------------------- layer norm


def _last_dim(x, weight, bias, dims, view, eps, running) -> bool:
    """Whether ``layer_norm`` of ``x`` (a slot) normalizes float32 rows over the last dim,
    with a weight and a bias: the case the fused kernels take."""
    return (x.dtype == _FLOAT32 and len(x.shape) >= 2 and dims == (len(x.shape) - 1,)
            and running is None and view == x.shape[-1:]
            and all(getattr(p, "dtype", None) == _FLOAT32 and tuple(p.shape) == view
                    for p in (weight, bias)))


def _rows(*arrays) -> bool:
    return all(type(a) is ndarray and a.dtype == _FLOAT32 and a.flags.c_contiguous
               for a in arrays)


def _layer_norm_forward(kernels):
    """``_Normalize.forward`` of rows through the fused kernel: the same result, and the
    same saved values, which the op's own backward can take."""

    def forward(ctx, x, weight, bias, dims, view, eps, running):
        if not _rows(x, weight, bias):
            return NativeLayerNorm.forward(ctx, x, weight, bias, dims, view, eps, running)
        width = x.shape[-1]
        rows = x.size // width if width else 0
        y, normalized = xp.empty_like(x), xp.empty_like(x)
        statistics = x.shape[:-1] + (1,)
        mean, rstd = xp.empty(statistics, xp.float32), xp.empty(statistics, xp.float32)
        kernels[0](x.reshape(rows, width), weight, bias, xp.float32(eps),
                   y.reshape(rows, width), normalized.reshape(rows, width),
                   mean.reshape(-1), rstd.reshape(-1), xp.empty(width, xp.float32))
        ctx.dims, ctx.view, ctx.eps, ctx.bias_shape = dims, view, eps, bias.shape
        ctx.save_for_backward(x, weight, mean, rstd, normalized)
        return y

    return forward


def _layer_norm_backward(kernels):
    """``_Normalize.backward_arrays`` of rows through the fused kernel."""

    def backward(ctx, grad):
        x, weight, mean, rstd, normalized = ctx.saved_arrays
        if normalized is None or not _rows(grad, normalized, weight, rstd) or \
                grad.shape != normalized.shape:
            return NativeLayerNorm.backward_arrays(ctx, grad)
        width = x.shape[-1]
        rows = x.size // width if width else 0
        needs = ctx.needs_input_grad
        grad_x = xp.empty_like(x) if needs[0] else None
        grad_weight = xp.empty(width, xp.float32) if needs[1] else None
        grad_bias = xp.empty(width, xp.float32) if needs[2] else None
        none = xp.empty(0, xp.float32)
        kernels[1](grad.reshape(rows, width), normalized.reshape(rows, width), weight,
                   rstd.reshape(-1),
                   none.reshape(0, 0) if grad_x is None else grad_x.reshape(rows, width),
                   none if grad_weight is None else grad_weight,
                   none if grad_bias is None else grad_bias,
                   xp.empty(width, xp.float32), xp.empty(width, xp.float32))
        return grad_x, grad_weight, grad_bias, None, None, None, None

    return backward


def _layer_norm_kernels(numba):
    """``_Normalize``'s forward and array backward over rows, in one loop each.

    A row's sum is NumPy's pairwise summation of a contiguous float32 row (eight running
    sums in blocks of 128, halves above), so a mean is NumPy's to the bit; a column's sum
    over rows (the weight's and bias's gradients) is NumPy's running sum in row order.
    ``tests/test_compile_fusion.py`` holds both to NumPy's sums at many lengths.
    """
    single = numba.float32
    row_sum = _pairwise_sum(numba)

    @numba.njit("void(float32[:, ::1], float32[::1], float32[::1], float32, float32[:, ::1], "
                "float32[:, ::1], float32[::1], float32[::1], float32[::1])", nogil=True,
                error_model="numpy")
    def forward(x, weight, bias, eps, y, normalized, mean, rstd, square):
        rows, width = x.shape
        count, one = single(width), single(1.0)
        for r in range(rows):
            average = row_sum(x[r]) / count
            for j in range(width):
                centered = x[r, j] - average
                normalized[r, j] = centered
                square[j] = centered * centered
            scale = one / single(math.sqrt(row_sum(square) / count + eps))
            mean[r], rstd[r] = average, scale
            for j in range(width):
                value = normalized[r, j] * scale
                normalized[r, j] = value
                y[r, j] = value * weight[j] + bias[j]

    return forward, _layer_norm_backward_kernel(numba, row_sum)


def _layer_norm_backward_kernel(numba, row_sum):
    """``_Normalize.backward_arrays`` over rows (see ``_layer_norm_kernels``)."""
    single = numba.float32

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[::1], float32[::1], "
                "float32[:, ::1], float32[::1], float32[::1], float32[::1], float32[::1])",
                nogil=True, error_model="numpy")
    def backward(grad, normalized, weight, rstd, grad_x, grad_weight, grad_bias, g, product):
        rows, width = grad.shape
        count = single(width)
        if grad_weight.shape[0]:  # the column sums of grad * normalized, in row order
            for j in range(width):
                grad_weight[j] = grad[0, j] * normalized[0, j] if rows else 0.0
            for r in range(1, rows):
                for j in range(width):
                    grad_weight[j] += grad[r, j] * normalized[r, j]
        if grad_bias.shape[0]:
            for j in range(width):
                grad_bias[j] = grad[0, j] if rows else 0.0
            for r in range(1, rows):
                for j in range(width):
                    grad_bias[j] += grad[r, j]
        if grad_x.shape[0]:
            # rstd (g - mean(g) - normalized mean(g normalized)), g = grad weight
            for r in range(rows):
                for j in range(width):
                    g[j] = grad[r, j] * weight[j]
                    product[j] = g[j] * normalized[r, j]
                mean_product = row_sum(product) / count
                mean_g = row_sum(g) / count
                for j in range(width):
                    grad_x[r, j] = ((g[j] - mean_g) - normalized[r, j] * mean_product) * rstd[r]

    return backward


@functools.cache
def _pairwise_sum(numba):
    """NumPy's pairwise sum of a contiguous float32 array (``pairwise_sum`` in its ufunc
    loops): plain under 8 elements, eight running sums up to 128, halves (a multiple of 8
    first) above."""

    @numba.njit("float32(float32[::1])", nogil=True)
    def pairwise(a):
        n = a.shape[0]
        if n < 8:
            total = numba.float32(0.0)
            for i in range(n):
                total += a[i]
            return total
        if n <= 128:
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
        half = n // 2
        half -= half % 8
        return pairwise(a[:half]) + pairwise(a[half:])

    return pairwise


# ---------------------------------------------------------------- softmax


def _last_rows(x, dim) -> bool:
    """Whether ``softmax`` of ``x`` (a slot) runs over the last dim of float32 rows."""
    return x.dtype == _FLOAT32 and len(x.shape) >= 1 and dim in (-1, len(x.shape) - 1)


def _softmax_forward(kernels):
    """``Softmax.forward`` over rows: the shift by each row's maximum in one loop, NumPy's
    ``exp`` (numba's would round differently), then the division by each row's sum in one
    loop."""

    def forward(ctx, x, dim):
        if not _rows(x) or x.size == 0:
            return Softmax.forward(ctx, x, dim)
        width = x.shape[-1]
        y = xp.empty_like(x)
        rows = y.reshape(x.size // width, width)
        kernels[0](x.reshape(rows.shape), rows)
        xp.exp(y, out=y)
        kernels[1](rows)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    return forward


def _softmax_backward(kernels):
    """``Softmax.backward_arrays`` over rows in one loop."""

    def backward(ctx, grad):
        (y,) = ctx.saved_arrays
        if not _rows(grad, y) or grad.shape != y.shape or y.size == 0:
            return Softmax.backward_arrays(ctx, grad)
        width = y.shape[-1]
        result = xp.empty_like(y)
        shape = (y.size // width, width)
        kernels[2](grad.reshape(shape), y.reshape(shape), result.reshape(shape),
                   xp.empty(width, xp.float32))
        return result, None

    return backward


def _softmax_kernels(numba):
    """``Softmax``'s shift, its normalization and its array backward over rows. The row's
    maximum is exact in any order (a NaN anywhere makes it NaN, as NumPy's); its sums are
    NumPy's pairwise ones (``_pairwise_sum``)."""
    row_sum = _pairwise_sum(numba)

    @numba.njit("void(float32[:, ::1], float32[:, ::1])", nogil=True)
    def shift(x, y):
        for r in range(x.shape[0]):
            top = x[r, 0]
            for j in range(1, x.shape[1]):
                value = x[r, j]
                if value > top or value != value:
                    top = value
                if top != top:
                    break
            for j in range(x.shape[1]):
                y[r, j] = x[r, j] - top

    @numba.njit("void(float32[:, ::1])", nogil=True, error_model="numpy")
    def normalize(y):
        for r in range(y.shape[0]):
            total = row_sum(y[r])
            for j in range(y.shape[1]):
                y[r, j] = y[r, j] / total

    @numba.njit("void(float32[:, ::1], float32[:, ::1], float32[:, ::1], float32[::1])",
                nogil=True)
    def backward(grad, y, result, product):
        for r in range(y.shape[0]):
            for j in range(y.shape[1]):
                product[j] = grad[r, j] * y[r, j]
            total = row_sum(product)
            for j in range(y.shape[1]):
                result[r, j] = (grad[r, j] - total) * y[r, j]

    return shift, normalize, backward


# ---------------------------------------------------------------- embedding


def _plain_lookup(weight, indices, padding_idx, scale_grad_by_freq) -> bool:
    """Whether an embedding's gradient is a plain scatter-add of float32 rows."""
    return (weight.dtype == _FLOAT32 and len(weight.shape) == 2 and padding_idx is None
            and not scale_grad_by_freq)


def _embedding_backward(kernel):
    """``Embedding.gradients`` on arrays through the fused scatter-add."""

    def backward(ctx, grad):
        indices = ctx.indices
        if not (_rows(grad) and type(indices) is ndarray and indices.dtype.kind == "i"
                and ctx.padding_idx is None and not ctx.scale_grad_by_freq):
            return Embedding.gradients(ArrayMath, ctx, grad)
        flat = indices.reshape(-1).astype(xp.int64, copy=False)
        width = grad.shape[-1]
        grad_weight = xp.zeros((ctx.rows, width), xp.float32)
        if not kernel(grad.reshape(flat.size, width), flat, grad_weight):
            return Embedding.gradients(ArrayMath, ctx, grad)  # an index out of range
        return grad_weight, None, None, None

    return backward


def _embedding_kernel(numba):
    """NumPy's ``add.at`` of rows: each row of ``grad`` added to its index's row of ``out``
    in index order, so repeated indices sum as they do there. False, with nothing written,
    when an index is out of range."""

    @numba.njit("boolean(float32[:, ::1], int64[::1], float32[:, ::1])", nogil=True)
    def embedding_backward(grad, indices, out):
        rows = out.shape[0]
        for i in range(indices.shape[0]):
            if indices[i] < -rows or indices[i] >= rows:
                return False
        for i in range(indices.shape[0]):
            row = indices[i] if indices[i] >= 0 else indices[i] + rows
            for j in range(grad.shape[1]):
                out[row, j] += grad[i, j]
        return True

    return embedding_backward


# ---------------------------------------------------------------- Adam


def _adam_step(optimizer, kernel):
    """The compiled program's ``optimizer.step()``: ``Optimizer._step`` with each group's
    update through the fused kernel."""
    return functools.partial(optimizer._step, None,
                             functools.partial(_adam_update_group, optimizer, kernel))


def _adam_update_group(optimizer, kernel, params, grads, states, group) -> None:
    """``Adam._update_group`` a parameter at a time through the fused kernel: per element
    the arithmetic of ``adam._decayed`` and ``adam._adam_step``, in float32 with their
    Python numbers rounded to float32 as NumPy rounds them. A group or a parameter the
    kernel does not take (amsgrad, another dtype or device, a strided array) goes as
    eagerly."""
    if group["amsgrad"]:
        return Adam._update_group(optimizer, params, grads, states, group)
    lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
    beta1, beta2 = (_to_float(beta) for beta in group["betas"])
    decay = 0 if weight_decay == 0 else 1 if group["decoupled_weight_decay"] else 2
    factor = 1 - lr * weight_decay if decay == 1 else weight_decay
    weight = 1 - beta1
    constants = (decay, xp.float32(factor), abs(weight) < 0.5, xp.float32(weight),
                 xp.float32(1 - weight), xp.float32(beta2), xp.float32(1 - beta2))
    eps, last_step, per_step = xp.float32(eps), None, None
    for param, grad, state in zip(params, grads, states):
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        if not _takes(param, grad, exp_avg, exp_avg_sq):
            optimizer._update(param, grad, state, group)
            continue
        step = _increment(state["step"])
        if step != last_step:  # the group's parameters usually share their step count
            last_step = step
            bias_correction2_sqrt = (1 - beta2**step) ** 0.5
            per_step = (xp.float32(bias_correction2_sqrt), eps,
                        xp.float32(-(lr / (1 - beta1**step))))
        kernel(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
               *constants, *per_step)


def _takes(param, grad, exp_avg, exp_avg_sq) -> bool:
    """Whether the kernel takes these: float32 NumPy arrays of one shape, contiguous."""
    return (type(param) is ndarray and type(grad) is ndarray
            and param.dtype == _FLOAT32 and grad.dtype == _FLOAT32
            and exp_avg.dtype == _FLOAT32 and exp_avg_sq.dtype == _FLOAT32
            and param.flags.c_contiguous and grad.flags.c_contiguous
            and exp_avg.flags.c_contiguous and exp_avg_sq.flags.c_contiguous
            and param.shape == grad.shape == exp_avg.shape == exp_avg_sq.shape)


def _adam_kernel(numba):
    """Adam's update of one float32 parameter in one loop (see ``_adam_update_group``)."""
    signature = ("void(float32[::1], float32[::1], float32[::1], float32[::1], int64, float32, "
                 "boolean, float32, float32, float32, float32, float32, float32, float32)")

    @numba.njit(signature, nogil=True, error_model="numpy")
    def adam(param, grad, exp_avg, exp_avg_sq, decay, factor, small_weight, weight,
             one_minus_weight, beta2, one_minus_beta2, bias_correction2_sqrt, eps,
             negative_step_size):
        for i in range(param.shape[0]):
            p, g = param[i], grad[i]
            if decay == 1:  # decoupled: the parameter shrinks first
                p = p * factor
            elif decay == 2:  # L2: the gradient gains weight_decay * param
                g = p * factor + g
            m = exp_avg[i]
            if small_weight:  # PyTorch's lerp_: m + w (g - m), or g - (1 - w) (g - m)
                m = m + (g - m) * weight
            else:
                m = g - (g - m) * one_minus_weight
            v = exp_avg_sq[i] * beta2 + (g * one_minus_beta2) * g
            denominator = math.sqrt(v) / bias_correction2_sqrt + eps
            exp_avg[i], exp_avg_sq[i] = m, v
            param[i] = p + (m * negative_step_size) / denominator

    return adam


_BUILDERS = {"gelu": _gelu_kernel, "layer_norm": _layer_norm_kernels,
             "softmax": _softmax_kernels, "embedding": _embedding_kernel, "adam": _adam_kernel}
