"""Fused kernels for compiled programs, through numba where it is installed.

NumPy runs one pass over an array per operation. The exact GELU of a float32 array costs
about thirty of them: its erf is a rational function evaluated in float64. numba compiles
the same arithmetic into one loop, about 7x faster on the gpt workload's activations
(``docs/compile.md`` has the measurements, and says why other kernels stay with NumPy).

The fused kernel does the same float32 and float64 operations in the same order as the
op's NumPy kernels, so a replay stays bit for bit the eager result. numba compiles in a
background thread, started by the first program that can use a fused kernel, so that a
recording does not wait for it: until the kernel is ready the program runs NumPy's
kernels; then its name in the program's namespace is bound to the fused one.

Optional: ``pip install "ember[compile]"`` installs numba. Without it nothing changes.
"""

from __future__ import annotations

import importlib.util
import math
import threading
import time

from ember._backend import ndarray, xp
from ember.nn._functional.activation import Gelu
from ember.ops._special import _ERF_SINGLE_P, _ERF_SINGLE_Q

enabled = True  # False: programs written from now on keep NumPy's kernels (A/B runs)
failure = None  # why numba could not compile the kernels, where it could not
seconds = None  # how long the background compilation took, once it ended

_lock = threading.Lock()
_kernels = {}  # name -> the compiled numba function, once ready
_waiting = []  # (namespace, name): program kernels to rebind once the fused one is ready
_thread = None
_available = None  # whether numba is installed, found once
_FLOAT32 = xp.dtype(xp.float32)
_SCALE = xp.float32(math.sqrt(0.5))  # x / sqrt 2 is rounded to float32, as in eager


def offer(namespace, name, step) -> str:
    """Bind ``namespace[name]`` to a fused kernel for ``step``, now or once compiled.

    Returns a note for the printed program ("" when ``step`` has no fused kernel here).
    """
    global _available
    if not enabled or step.op is not Gelu or step.args[1] != "none" or \
            step.args[0].dtype != _FLOAT32:
        return ""
    if _available is None:
        _available = importlib.util.find_spec("numba") is not None
    if not _available or failure is not None:
        return ""
    with _lock:
        kernel = _kernels.get("gelu")
        if kernel is None:
            _waiting.append((namespace, name))
            _start()
            return "fused by numba once compiled"
    namespace[name] = _gelu_forward(kernel)
    return "fused by numba"


def wait(timeout: float | None = None) -> bool:
    """Wait for the background compilation; whether the fused kernels are ready."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
    return "gelu" in _kernels


def _start() -> None:
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_compile_all, name="ember-fusion")
        _thread.start()


def _compile_all() -> None:
    global failure, seconds
    start = time.perf_counter()
    try:
        import numba

        kernel = _gelu_kernel(numba)
    except Exception as error:  # numba's import or LLVM failed: NumPy's kernels stay
        failure = f"{type(error).__name__}: {error}"
        with _lock:
            _waiting.clear()
        return
    finally:
        seconds = time.perf_counter() - start
    with _lock:
        _kernels["gelu"] = kernel
        waiting = list(_waiting)
        _waiting.clear()
    for namespace, name in waiting:
        namespace[name] = _gelu_forward(kernel)


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
