"""One measurement in a fresh process: ``python -m benchmarks.worker LIB WORKLOAD THREADS REPEATS``.

Prints one JSON line: the seconds of each repetition, the import time and the peak RSS.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time


def _numpy_nand():
    from benchmarks.workloads import make_numpy_nand

    return make_numpy_nand()


def _bare_op_overhead():
    from benchmarks.bare_autograd import make_op_overhead

    return make_op_overhead()


# Floors measured beside the frameworks: the NAND loop written by hand in NumPy, and
# op_overhead on a bare pure-Python autograd.
BASELINES = {"numpy": _numpy_nand, "bare": _bare_op_overhead}


def main() -> None:
    library, workload = sys.argv[1], sys.argv[2]
    threads, repeats = int(sys.argv[3]), int(sys.argv[4])
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
        run, units = BASELINES[library]()
    else:
        run, units = workloads.WORKLOADS[workload](module)
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"times": times, "import": import_seconds, "peak_mib": peak_kib / 1024,
                      "units": units}))


if __name__ == "__main__":
    main()
