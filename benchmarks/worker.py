"""One measurement in a fresh process:
``python -m benchmarks.worker LIB WORKLOAD THREADS REPEATS [eager|compiled|reduce-overhead]``
(``reduce-overhead``: compiled with ``mode="reduce-overhead"``).

Prints one JSON line: the seconds of each repetition, the import time, the peak RSS and the
training steps one repetition covers. Compiled, the first run (which compiles) is timed on
its own as ``first``, ember.compile's own time for its recordings comes as ``recording``
(and that of the fused kernels it compiles in the background, waited for, as ``fusion``),
and the reasons of any graph break ember.compile met as ``breaks``; a failure prints
``error`` instead and exits with status 1.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback


def _numpy_nand():
    from benchmarks.workloads import make_numpy_nand

    return make_numpy_nand()


def _numpy_op_overhead():
    from benchmarks.workloads import make_numpy_op_overhead

    return make_numpy_op_overhead()


def _bare_op_overhead():
    from benchmarks.bare_autograd import make_op_overhead

    return make_op_overhead()


# Floors measured beside the frameworks: the NAND loop and op_overhead's step written by
# hand in NumPy, and op_overhead on a bare pure-Python autograd.
BASELINES = {"numpy": _numpy_nand, "numpy_ops": _numpy_op_overhead, "bare": _bare_op_overhead}


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(library: str, workload: str, threads: int, repeats: int, mode: str) -> dict:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    start = time.perf_counter()
    if library in BASELINES:
        module = None
    else:
        module = importlib.import_module(library)
        importlib.import_module(f"{library}.nn")
    import_seconds = time.perf_counter() - start
    if module is not None:
        module.set_num_threads(threads)
    from benchmarks import workloads

    if library in BASELINES:
        (run, units), steps = BASELINES[library](), None
    else:
        make = workloads.WORKLOADS[workload]
        if mode == "reduce-overhead":
            run, units, steps = make(module, compiled=True, mode=mode)
        else:
            run, units, steps = make(module, compiled=mode == "compiled")
    result = {}
    if mode != "eager":
        result["first"] = _timed(run)
        if library == "ember":  # fused kernels compile in the background: not timed
            from ember._compile import fusion

            if fusion.wait() or fusion.failure:
                result["fusion"] = fusion.seconds
    else:
        run()  # warm-up
    times = [_timed(run) for _ in range(repeats)]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ember.compile's graph breaks: a call that breaks runs eagerly, which the times hide
    step = workloads.compiled_step(run) if mode != "eager" else None
    breaks = getattr(step, "breaks", None)
    if breaks:
        result["breaks"] = sorted({reason for reason, _ in breaks})
    # ember.compile times its own recordings: more exact than the first run less the median
    # where that difference is below the runs' own spread (a 4000-step NAND run)
    recordings = getattr(step, "_cache", {}).values()
    if any(hasattr(entry, "seconds") for entry in recordings):
        result["recording"] = sum(getattr(entry, "seconds", 0.0) for entry in recordings)
    return {"times": times, "import": import_seconds, "peak_mib": peak_kib / 1024,
            "units": units, "steps": steps, **result}


def main() -> None:
    library, workload = sys.argv[1], sys.argv[2]
    threads, repeats = int(sys.argv[3]), int(sys.argv[4])
    mode = sys.argv[5] if len(sys.argv) > 5 else "eager"
    if mode not in ("eager", "compiled", "reduce-overhead"):
        sys.exit(f"the mode is eager, compiled or reduce-overhead, not {mode!r}")
    try:
        print(json.dumps(measure(library, workload, threads, repeats, mode)))
    except Exception as error:
        traceback.print_exc()
        # a compiler's message can run to pages: its opening words name the failure
        message = " ".join(str(error).split())[:200]
        print(json.dumps({"error": f"{type(error).__name__}: {message}"}))
        sys.exit(1)


if __name__ == "__main__":
    main()
