"""All-reduce throughput, ember.distributed against raw mpi4py on NumPy arrays.

    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        mpirun -np 2 python -m benchmarks.allreduce

Rank 0 prints, per buffer size (float32), the median MB/s of each and the median of the
paired ratios. The two run alternately (ember first in every other pair) after a barrier,
so that load from other processes on a busy machine hits both alike; a pair's ratio
compares calls made moments apart, which keeps slow drifts in load out of the ratio.
"""

from __future__ import annotations

import functools
import statistics
import time

import numpy as np
from mpi4py import MPI

import ember
import ember.distributed as dist

# buffer size in MB -> timed pairs: ~20 s in all on a 2-core machine
REPEATS = {1: 400, 4: 200, 16: 60, 64: 20, 256: 10}
WARMUP = 2


def paired_seconds(first, second, repeats: int) -> tuple:
    """Seconds per call of ``first`` and ``second``, timed in alternating pairs."""
    comm = MPI.COMM_WORLD
    times = ([], [])
    for repeat in range(WARMUP + repeats):
        order = (0, 1) if repeat % 2 else (1, 0)
        for index in order:
            function = (first, second)[index]
            comm.Barrier()
            start = time.perf_counter()
            function()
            elapsed = time.perf_counter() - start
            if repeat >= WARMUP:
                times[index].append(elapsed)
    return times


def main() -> None:
    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    lines = [
        "| buffer | mpi4py Allreduce | ember all_reduce | ember / mpi4py |",
        "| --- | --- | --- | --- |",
    ]
    for megabytes, repeats in REPEATS.items():
        count = megabytes * 1024 * 1024 // 4
        raw = np.ones(count, dtype=np.float32)
        tensor = ember.ones(count)
        raw_times, ember_times = paired_seconds(
            functools.partial(comm.Allreduce, MPI.IN_PLACE, raw, op=MPI.SUM),
            functools.partial(dist.all_reduce, tensor),
            repeats,
        )
        ratio = statistics.median(r / e for r, e in zip(raw_times, ember_times))
        raw_rate = megabytes / statistics.median(raw_times)
        ember_rate = megabytes / statistics.median(ember_times)
        lines.append(
            f"| {megabytes} MB | {raw_rate:,.0f} MB/s | {ember_rate:,.0f} MB/s | {ratio:.2f} |"
        )
    if comm.Get_rank() == 0:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
