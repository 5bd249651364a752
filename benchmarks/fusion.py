"""Kernel fusion on the CPU: do numexpr or numba beat plain NumPy on ember's elementwise chains?

    python -m benchmarks.fusion [--sizes tiny small large] [--repeats 7] [--min-time 0.02]

Each chain that ember's training steps run is timed in up to five forms on float32 arrays:

- NumPy, written as ember's kernels write it: one ufunc call per step, each step a new
  temporary (or an ``out=`` buffer where ember uses one), reductions by NumPy;
- ``numexpr.evaluate`` at 1 and at 2 threads: every evaluate call is one pass over memory
  that fuses its expression; reductions stay NumPy's;
- numba, serial and over 2 threads: ``@vectorize`` ufuncs for the pointwise chains,
  ``@njit(fastmath=False, error_model="numpy")`` loops for the row-wise and in-place ones,
  the threaded form with ``target="parallel"`` or ``prange`` (``NUMBA_THREADING_LAYER``
  picks its thread pool). Compiled before timing; the compile times (build and first
  call) are a table of their own.

The chains: GELU forward (tanh and exact), GELU backward (tanh), bias add + GELU (tanh),
softmax with a causal mask, layer norm forward, and one Adam update in place. The small
size is the ``gpt`` benchmark workload's (batch 16, 32 positions, width 64, MLP 256, 4
heads: softmax rows are its attention scores, 16 x 4 x 32 x 32), the large one 64 x 256
positions of width 384 (softmax on as many elements, still in rows of 32); Adam updates a
64 x 256 and a 384 x 1536 parameter. The tiny size (16 elements) shows the cost of a call.

A time is the least over ``--repeats`` repeats of ``timeit``, each repeat calling enough
times for ``--min-time`` seconds; cells give microseconds per call and, in brackets, that
time over NumPy's (below 1 is faster). Every variant's result is checked against NumPy's
with ``assert_allclose(rtol=1e-5, atol=1e-6)``; a cell marked ``!`` failed it (a note
below the table gives the largest errors). Import times come from ``python -X importtime``
in fresh processes, after NumPy is loaded. numexpr and numba are imported only when
installed; a missing one is a "not installed" column.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import math
import os
import platform
import subprocess
import sys
import time
import timeit
from collections.abc import Callable

import numpy as np

from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q, _erf_array

SHAPES = {
    "tiny": {"hidden": (2, 8), "attention": (1, 1, 4, 4), "model": (2, 8), "parameter": (2, 8)},
    "small": {"hidden": (16, 32, 256), "attention": (16, 4, 32, 32),
              "model": (16, 32, 64), "parameter": (64, 256)},
    "large": {"hidden": (64, 256, 1536), "attention": (64, 96, 32, 32),
              "model": (64, 256, 384), "parameter": (384, 1536)},
}

# GELU's constants, and each one as float32: numexpr and numba compute in float64 wherever
# a float literal appears, where NumPy keeps a Python float weak (float32 stays float32).
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715
F32 = {"half": np.float32(0.5), "one": np.float32(1.0), "k": np.float32(SQRT_2_OVER_PI),
       "c": np.float32(CUBIC), "c3": np.float32(3 * CUBIC), "root_half": np.float32(0.5**0.5)}
HALF, ONE, K, C, C3, ROOT_HALF = F32.values()
NEG_INF = np.float32(-np.inf)
LAYER_NORM_EPS = 1e-5

# Adam at step 10, its bias corrections as Python floats (as ember's optimizer computes them)
LR, BETA1, BETA2, ADAM_EPS, STEP = 1e-3, 0.9, 0.999, 1e-8, 10
STEP_SIZE = LR / (1 - BETA1**STEP)
BIAS_CORRECTION2_SQRT = (1 - BETA2**STEP) ** 0.5
ADAM_F32 = {"w1": np.float32(1 - BETA1), "beta2": np.float32(BETA2),
            "w2": np.float32(1 - BETA2), "step_size": np.float32(STEP_SIZE),
            "bc2": np.float32(BIAS_CORRECTION2_SQRT), "eps": np.float32(ADAM_EPS)}


# ---------------------------------------------------------------- inputs


def _pointwise_inputs(shape, rng):
    x = rng.standard_normal(shape, dtype=np.float32)
    return {"x": x, "grad": rng.standard_normal(shape, dtype=np.float32),
            "bias": rng.standard_normal(shape[-1], dtype=np.float32)}


def _attention_inputs(shape, rng):
    positions = shape[-1]
    causal = np.tril(np.ones((positions, positions), dtype=np.float32))
    return {"scores": rng.standard_normal(shape, dtype=np.float32), "masked": causal == 0}


def _layer_norm_inputs(shape, rng):
    width = shape[-1]
    return {"x": rng.standard_normal(shape, dtype=np.float32),
            "weight": 1 + 0.1 * rng.standard_normal(width, dtype=np.float32),
            "bias": 0.1 * rng.standard_normal(width, dtype=np.float32)}


def _adam_inputs(shape, rng):
    return {"param": rng.standard_normal(shape, dtype=np.float32),
            "grad": rng.standard_normal(shape, dtype=np.float32),
            "exp_avg": 0.1 * rng.standard_normal(shape, dtype=np.float32),
            "exp_avg_sq": 0.01 * rng.random(shape, dtype=np.float32)}


# ---------------------------------------------------------------- NumPy, as ember writes it


def _gelu_tanh_numpy(x):
    inner = SQRT_2_OVER_PI * (x + CUBIC * x * x * x)
    return 0.5 * x * (1 + np.tanh(inner))


def _gelu_erf_numpy(a):
    x = a["x"]
    twice_cdf = _erf_array(x, math.sqrt(0.5)).astype(x.dtype, copy=False)
    twice_cdf += 1
    y = x * 0.5
    y *= twice_cdf
    return y


def _gelu_backward_numpy(a):
    grad, x = a["grad"], a["x"]
    t = np.tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x))
    slope = SQRT_2_OVER_PI * (1 + 3 * CUBIC * x * x)
    return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * slope)


def _softmax_numpy(a):
    masked = a["scores"].copy()  # masked_fill
    np.copyto(masked, NEG_INF, where=a["masked"])
    y = np.subtract(masked, np.maximum.reduce(masked, axis=-1, keepdims=True))
    np.exp(y, out=y)
    y /= np.add.reduce(y, axis=-1, keepdims=True)
    return y


def _layer_norm_numpy(a):
    x = a["x"]
    mean = x.sum(axis=-1, keepdims=True) / x.shape[-1]
    normalized = x - mean
    square = normalized * normalized
    variance = square.sum(axis=-1, keepdims=True) / x.shape[-1]
    normalized *= 1 / np.sqrt(variance + LAYER_NORM_EPS)
    y = np.multiply(normalized, a["weight"], out=square)
    y += a["bias"]
    return y


def _adam_numpy(a):
    """ember's ``_adam_step`` and the parameter update, in its order of rounding."""
    grad, exp_avg, exp_avg_sq = a["grad"], a["exp_avg"], a["exp_avg_sq"]
    scratch = np.subtract(grad, exp_avg)
    scratch *= 1 - BETA1
    exp_avg += scratch
    exp_avg_sq *= BETA2
    np.multiply(grad, 1 - BETA2, out=scratch)
    scratch *= grad
    exp_avg_sq += scratch
    denominator = np.sqrt(exp_avg_sq, out=scratch)
    denominator /= BIAS_CORRECTION2_SQRT
    denominator += ADAM_EPS
    update = exp_avg * -STEP_SIZE
    update /= denominator
    a["param"] += update
    return a["param"], exp_avg, exp_avg_sq


# ---------------------------------------------------------------- numexpr

GELU_TANH = "half * {z} * (1 + tanh(k * ({z} + c * {z} * {z} * {z})))"


def _horner(coefficients, s):
    text = repr(coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):
        text = f"({text}) * {s} + {coefficient!r}"
    return text


# ember's float32 erf, the rational x P(x^2) / Q(x^2) in float64; with x clipped to +-4
# (where erf is 1 in float32) in place of ember's clip of x^2 to 16 and of the result to 1.
ERF_OF_U = f"u * ({_horner(_ERF_SINGLE_P, 'u * u')}) / ({_horner(_ERF_SINGLE_Q, 'u * u')})"


def _gelu_erf_numexpr(ne, a):
    x = a["x"]
    clipped = ne.evaluate("where(x * r > 4, 4, where(x * r < -4, -4, x * r))",
                          local_dict={"x": x, "r": ROOT_HALF})
    out = np.empty_like(x)
    return ne.evaluate(f"half * x * (1 + {ERF_OF_U})", local_dict={"x": x, "u": clipped,
                       "half": HALF}, out=out, casting="unsafe")


def _gelu_backward_numexpr(ne, a):
    # tanh once, in a pass of its own: in one expression numexpr would compute it twice
    x = a["x"]
    t = ne.evaluate("tanh(k * (x + c * x * x * x))", local_dict=dict(F32, x=x))
    return ne.evaluate("grad * (half * (1 + t) + half * x * (1 - t * t) * (k * (1 + c3 * x * x)))",
                       local_dict=dict(F32, x=x, t=t, grad=a["grad"]))


def _softmax_numexpr(ne, a):
    masked = ne.evaluate("where(masked, ninf, scores)", local_dict=dict(a, ninf=NEG_INF))
    peak = np.maximum.reduce(masked, axis=-1, keepdims=True)
    y = ne.evaluate("exp(masked - peak)", local_dict={"masked": masked, "peak": peak})
    total = np.add.reduce(y, axis=-1, keepdims=True)
    return ne.evaluate("y / total", local_dict={"y": y, "total": total}, out=y)


def _layer_norm_numexpr(ne, a):
    x = a["x"]
    mean = x.sum(axis=-1, keepdims=True) / x.shape[-1]
    square = ne.evaluate("(x - mean) * (x - mean)", local_dict={"x": x, "mean": mean})
    variance = square.sum(axis=-1, keepdims=True) / x.shape[-1]
    rstd = 1 / np.sqrt(variance + LAYER_NORM_EPS)
    return ne.evaluate("(x - mean) * rstd * weight + bias", local_dict=dict(
        a, mean=mean, rstd=rstd), out=square)


def _adam_numexpr(ne, a):
    names = dict(a, **ADAM_F32)
    ne.evaluate("exp_avg + (grad - exp_avg) * w1", local_dict=names, out=a["exp_avg"])
    ne.evaluate("exp_avg_sq * beta2 + grad * w2 * grad", local_dict=names, out=a["exp_avg_sq"])
    ne.evaluate("param + exp_avg * (-step_size) / (sqrt(exp_avg_sq) / bc2 + eps)",
                local_dict=names, out=a["param"])
    return a["param"], a["exp_avg"], a["exp_avg_sq"]


# ---------------------------------------------------------------- numba
# Scalar bodies for @vectorize, and loop factories that bind ``prange`` (a plain range
# when compiled without parallel=True), so that one source gives both forms.


def _gelu_tanh_scalar(x):
    return HALF * x * (ONE + math.tanh(K * (x + C * x * x * x)))


def _gelu_erf_scalar(x):
    return HALF * x * (ONE + math.erf(x * ROOT_HALF))


def _gelu_backward_scalar(grad, x):
    t = math.tanh(K * (x + C * x * x * x))
    slope = K * (ONE + C3 * x * x)
    return grad * (HALF * (ONE + t) + HALF * x * (ONE - t * t) * slope)


def _bias_gelu_scalar(x, bias):
    z = x + bias
    return HALF * z * (ONE + math.tanh(K * (z + C * z * z * z)))


def _softmax_loop(prange):
    def softmax(scores, masked, out):
        """Rows of ``scores`` (rows, T) against the (T, T) mask, row r being query r % T."""
        positions = masked.shape[0]
        for row in prange(scores.shape[0]):
            query = row % positions
            peak = NEG_INF
            for key in range(positions):
                if not masked[query, key] and scores[row, key] > peak:
                    peak = scores[row, key]
            total = np.float32(0.0)
            for key in range(positions):
                value = np.float32(0.0)
                if not masked[query, key]:
                    value = math.exp(scores[row, key] - peak)
                out[row, key] = value
                total += value
            for key in range(positions):
                out[row, key] /= total

    return softmax


def _layer_norm_loop(prange):
    def layer_norm(x, weight, bias, out):
        """Rows of ``x`` (rows, width), the statistics accumulated in float64."""
        width = x.shape[1]
        for row in prange(x.shape[0]):
            total = 0.0
            for j in range(width):
                total += x[row, j]
            mean = total / width
            square = 0.0
            for j in range(width):
                square += (x[row, j] - mean) ** 2
            rstd = 1.0 / math.sqrt(square / width + LAYER_NORM_EPS)
            for j in range(width):
                out[row, j] = (x[row, j] - mean) * rstd * weight[j] + bias[j]

    return layer_norm


def _adam_loop(prange):
    w1, beta2, w2 = ADAM_F32["w1"], ADAM_F32["beta2"], ADAM_F32["w2"]
    negative_step, bc2, eps = -ADAM_F32["step_size"], ADAM_F32["bc2"], ADAM_F32["eps"]

    def adam(param, grad, exp_avg, exp_avg_sq):
        p, g = param.reshape(param.size), grad.reshape(grad.size)
        m, v = exp_avg.reshape(exp_avg.size), exp_avg_sq.reshape(exp_avg_sq.size)
        for i in prange(p.size):
            m[i] += (g[i] - m[i]) * w1
            v[i] = v[i] * beta2 + g[i] * w2 * g[i]
            p[i] += m[i] * negative_step / (math.sqrt(v[i]) / bc2 + eps)

    return adam


UNARY, BINARY = "float32(float32)", "float32(float32, float32)"
NUMBA_KERNELS = {
    "gelu_tanh": (UNARY, _gelu_tanh_scalar), "gelu_erf": (UNARY, _gelu_erf_scalar),
    "gelu_backward": (BINARY, _gelu_backward_scalar), "bias_gelu": (BINARY, _bias_gelu_scalar),
    "softmax": (None, _softmax_loop), "layer_norm": (None, _layer_norm_loop),
    "adam": (None, _adam_loop),
}


def _compile_numba(numba, name, parallel):
    signature, source = NUMBA_KERNELS[name]
    if signature is not None:
        target = "parallel" if parallel else "cpu"
        return numba.vectorize([signature], target=target)(source)
    # NumPy's error model (x / 0 is inf, as in ember) spares each division a zero check,
    # which would keep LLVM from vectorizing the loop; @vectorize has it already.
    return numba.njit(fastmath=False, error_model="numpy", parallel=parallel)(
        source(numba.prange))


def _softmax_numba(kernel, a):
    scores = a["scores"]
    out = np.empty_like(scores)
    rows = (-1, scores.shape[-1])
    kernel(scores.reshape(rows), a["masked"], out.reshape(rows))
    return out


def _layer_norm_numba(kernel, a):
    x = a["x"]
    out = np.empty_like(x)
    rows = (-1, x.shape[-1])
    kernel(x.reshape(rows), a["weight"], a["bias"], out.reshape(rows))
    return out


def _adam_numba(kernel, a):
    kernel(a["param"], a["grad"], a["exp_avg"], a["exp_avg_sq"])
    return a["param"], a["exp_avg"], a["exp_avg_sq"]


# ---------------------------------------------------------------- the chains


@dataclasses.dataclass
class Chain:
    name: str
    shape: str  # the key into SHAPES
    inputs: Callable
    numpy: Callable  # (inputs) -> result
    numexpr: Callable | str  # (numexpr, inputs) -> result, or why there is none
    numba: str  # the key into NUMBA_KERNELS
    call_numba: Callable  # (kernel, inputs) -> result


CHAINS = [
    Chain("GELU tanh", "hidden", _pointwise_inputs, lambda a: _gelu_tanh_numpy(a["x"]),
          lambda ne, a: ne.evaluate(GELU_TANH.format(z="x"), local_dict=dict(F32, x=a["x"])),
          "gelu_tanh", lambda kernel, a: kernel(a["x"])),
    Chain("GELU exact (erf)", "hidden", _pointwise_inputs, _gelu_erf_numpy,
          _gelu_erf_numexpr, "gelu_erf", lambda kernel, a: kernel(a["x"])),
    Chain("GELU backward (tanh)", "hidden", _pointwise_inputs, _gelu_backward_numpy,
          _gelu_backward_numexpr, "gelu_backward",
          lambda kernel, a: kernel(a["grad"], a["x"])),
    Chain("bias add + GELU tanh", "hidden", _pointwise_inputs,
          lambda a: _gelu_tanh_numpy(a["x"] + a["bias"]),
          lambda ne, a: ne.evaluate(GELU_TANH.format(z="(x + bias)"),
                                    local_dict=dict(F32, x=a["x"], bias=a["bias"])),
          "bias_gelu", lambda kernel, a: kernel(a["x"], a["bias"])),
    Chain("causal softmax", "attention", _attention_inputs, _softmax_numpy, _softmax_numexpr,
          "softmax", _softmax_numba),
    Chain("layer norm", "model", _layer_norm_inputs, _layer_norm_numpy, _layer_norm_numexpr,
          "layer_norm", _layer_norm_numba),
    Chain("Adam update", "parameter", _adam_inputs, _adam_numpy, _adam_numexpr, "adam",
          _adam_numba),
]


# ---------------------------------------------------------------- measuring


def calls_per_repeat(timer, min_time: float) -> int:
    """How many calls of ``timer``'s function take at least ``min_time`` seconds."""
    number, elapsed = 1, timer.timeit(1)
    while elapsed < min_time:
        number = max(2 * number, math.ceil(1.2 * number * min_time / max(elapsed, 1e-9)))
        elapsed = timer.timeit(number)
    return number


def best_seconds(variants, repeats: int, min_time: float) -> list:
    """Seconds per call of each ``(setup, call)``: the least over ``repeats`` repeats of at
    least ``min_time`` each. The repeats go round the variants in turn, so that a burst of
    load from other processes falls on all of them alike."""
    timers = [timeit.Timer(call) for _, call in variants]
    numbers = []
    for (setup, _), timer in zip(variants, timers):
        setup()
        numbers.append(calls_per_repeat(timer, min_time))
    best = [math.inf] * len(variants)
    for _ in range(repeats):
        for index, ((setup, _), timer, number) in enumerate(zip(variants, timers, numbers)):
            setup()
            best[index] = min(best[index], timer.timeit(number) / number)
    return best


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


def _largest_error(results, reference) -> float:
    return max(float(np.abs(got - want).max()) for got, want in zip(results, reference))


def mismatch(result, expected, reference: Callable) -> str | None:
    """None when ``result`` equals ``expected`` within float32 tolerance, else the errors,
    beside both results' errors from ``reference()``, the chain in float64."""
    results, expectations = _as_tuple(result), _as_tuple(expected)
    for got, want in zip(results, expectations):
        if got.dtype != want.dtype:
            return f"dtype {got.dtype}, NumPy's {want.dtype}"
        try:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        except AssertionError:
            error = np.abs(got.astype(np.float64) - want)
            relative = error / np.maximum(np.abs(want), 1e-30)
            exact = _as_tuple(reference())
            return (f"max abs error {error.max():.2e}, max rel error {relative.max():.2e}; "
                    f"from float64, this variant's largest error is "
                    f"{_largest_error(results, exact):.2e} and NumPy's float32 one "
                    f"{_largest_error(expectations, exact):.2e}")
    return None


def _fresh(inputs, dtype=None):
    """Copies of the inputs, floating ones cast to ``dtype`` when given."""
    return {name: value.astype(dtype) if dtype and value.dtype.kind == "f" else value.copy()
            for name, value in inputs.items()}


def optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


@dataclasses.dataclass
class Column:
    label: str
    setup: Callable  # run before the column's timings (numexpr's thread count)
    runner: Callable | str  # (chain) -> a callable of the inputs or why there is none


def columns_of(numexpr, numba, kernels) -> list:
    columns = []
    for threads in (1, 2):
        def runner(chain):
            if isinstance(chain.numexpr, str):
                return chain.numexpr
            return functools.partial(chain.numexpr, numexpr)

        label = f"numexpr {threads} thread{'s' * (threads > 1)}"
        if numexpr is None:
            columns.append(Column(label, lambda: None, "not installed"))
        else:
            columns.append(Column(label, functools.partial(numexpr.set_num_threads, threads),
                                  runner))
    for parallel in (False, True):
        def runner(chain, parallel=parallel):
            return functools.partial(chain.call_numba, kernels[chain.numba, parallel])

        label = "numba 2 threads" if parallel else "numba"
        columns.append(Column(label, lambda: None, runner if numba else "not installed"))
    return columns


def measure_chain(chain, size, columns, args, notes):
    """The row of one chain at one size: NumPy's time, then each column's cell."""
    inputs = chain.inputs(SHAPES[size][chain.shape], np.random.default_rng(0))
    expected = chain.numpy(_fresh(inputs))
    timed, marks = [(lambda: None, chain.numpy)], {}  # marks: column label -> "" or " !"
    for column in columns:
        run = column.runner if isinstance(column.runner, str) else column.runner(chain)
        if isinstance(run, str):
            continue
        column.setup()
        problem = mismatch(run(_fresh(inputs)), expected,
                           lambda: chain.numpy(_fresh(inputs, np.float64)))
        if problem:
            notes.append(f"{chain.name}, {size}, {column.label}: {problem}")
        marks[column.label] = " !" if problem else ""
        timed.append((column.setup, run))
    # each variant works on its own copy: Adam's update is in place
    seconds = best_seconds([(setup, functools.partial(run, _fresh(inputs)))
                            for setup, run in timed], args.repeats, args.min_time)
    elements = math.prod(SHAPES[size][chain.shape])
    cells = [chain.name, size, f"{elements:,}", f"{seconds[0] * 1e6:,.0f}"]
    others = iter(seconds[1:])
    for column in columns:
        if column.label not in marks:
            runner = column.runner
            cells.append(runner if isinstance(runner, str) else runner(chain))
            continue
        per_call = next(others)
        ratio = per_call / seconds[0]
        cells.append(f"{per_call * 1e6:,.0f} ({ratio:.2f}){marks[column.label]}")
    return cells


def compile_numba(numba):
    """Every kernel compiled serial and parallel: {(name, parallel): kernel}, and the rows of
    the compile-time table (build and first call on the small inputs, in seconds)."""
    start = time.perf_counter()
    numba.njit(lambda: 0)()
    rows = [["(JIT start-up: a trivial function)", f"{time.perf_counter() - start:.2f}", ""]]
    kernels = {}
    for chain in CHAINS:
        inputs = chain.inputs(SHAPES["small"][chain.shape], np.random.default_rng(0))
        row = [chain.name]
        for parallel in (False, True):
            start = time.perf_counter()
            kernel = kernels[chain.numba, parallel] = _compile_numba(numba, chain.numba, parallel)
            chain.call_numba(kernel, _fresh(inputs))
            row.append(f"{time.perf_counter() - start:.2f}")
        rows.append(row)
    return kernels, rows


def import_milliseconds(module: str, runs: int = 5) -> float | None:
    """``import module`` after ``import numpy`` in a fresh process: the least cumulative
    time that ``-X importtime`` reports over ``runs`` processes."""
    best = None
    command = [sys.executable, "-X", "importtime", "-c", f"import numpy; import {module}"]
    for _ in range(runs):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            return None
        for line in result.stderr.splitlines():
            fields = line.split("|")
            if len(fields) == 3 and fields[2].strip() == module:
                milliseconds = int(fields[1]) / 1000
                best = milliseconds if best is None else min(best, milliseconds)
    return best


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def environment(numexpr, numba) -> str:
    parts = [f"Python {platform.python_version()}", f"NumPy {np.__version__}",
             f"{os.cpu_count()} CPUs", f"load average {os.getloadavg()[0]:.2f}"]
    if numexpr:
        parts.append(f"numexpr {numexpr.__version__} (VML: {numexpr.use_vml})")
    if numba:
        parts.append(f"numba {numba.__version__} (SVML: {numba.config.USING_SVML}, "
                     f"{numba.get_num_threads()} threads, layer {_threading_layer(numba)})")
    return ", ".join(parts)


def _threading_layer(numba) -> str:
    try:
        return numba.threading_layer()
    except ValueError:  # before the first parallel call
        return "not chosen yet"


NOTES = """
Notes: numexpr has no erf, so its exact-GELU cell runs ember's own float32 erf formula (a
rational function in float64) in two evaluate calls; numba's calls math.erf. NumPy's
exact GELU is ember's kernel. numexpr computes in float64 wherever a float literal
appears, so its constants are passed as float32 names.
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.02, help="seconds per repeat")
    args = parser.parse_args(argv)
    numexpr, numba = optional("numexpr"), optional("numba")
    kernels, compile_rows = compile_numba(numba) if numba else ({}, [])
    columns = columns_of(numexpr, numba, kernels)
    print(environment(numexpr, numba), "\n")
    notes, rows = [], []
    for size in args.sizes:
        for chain in CHAINS:
            rows.append(measure_chain(chain, size, columns, args, notes))
            print(f"  measured {chain.name}, {size}", file=sys.stderr)
    header = ["chain", "size", "elements", "NumPy µs"] + [column.label for column in columns]
    print("Microseconds per call (in brackets: over NumPy's time, below 1 is faster)\n")
    print(table(header, rows))
    for note in notes:
        print(f"\n! {note}")
    print(NOTES)
    if compile_rows:
        print("\nnumba compile time: build and first call, seconds\n")
        print(table(["kernel", "serial", "2 threads"], compile_rows))
    imports = [[module, "not installed" if ms is None else f"{ms:.0f}"]
               for module in ("numexpr", "numba")
               for ms in [import_milliseconds(module)]]
    print("\nImport time after NumPy, fresh process (-X importtime, best of 5), ms\n")
    print(table(["module", "ms"], imports))
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
