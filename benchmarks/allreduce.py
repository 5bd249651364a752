"""All-reduce throughput, ember.distributed against raw mpi4py on NumPy arrays.

    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        mpirun -np 2 python -m benchmarks.allreduce

Rank 0 prints, per buffer size (float32), the median MB/s of each and their ratio.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from mpi4py import MPI

import ember
import ember.distributed as dist

SIZES_MB = (1, 4, 16, 64, 256)


def median_seconds(functions, repeats: int) -> list:
    """Median time of each function, their repetitions interleaved so that noise hits all."""
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, samples in zip(functions, times):
            MPI.COMM_WORLD.Barrier()
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return [statistics.median(samples) for samples in times]


def main() -> None:
    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    lines = ["| buffer | mpi4py Allreduce | ember all_reduce | ember / mpi4py |", "| --- | --- | --- | --- |"]
    for megabytes in SIZES_MB:
        count = megabytes * 1024 * 1024 // 4
        raw = np.ones(count, dtype=np.float32)
        tensor = ember.ones(count)
        repeats = 40 if megabytes <= 16 else 10
        raw_time, ember_time = median_seconds(
            [lambda: comm.Allreduce(MPI.IN_PLACE, raw, op=MPI.SUM), lambda: dist.all_reduce(tensor)],
            repeats,
        )
        raw_rate, ember_rate = megabytes / raw_time, megabytes / ember_time
        lines.append(f"| {megabytes} MB | {raw_rate:,.0f} MB/s | {ember_rate:,.0f} MB/s | "
                     f"{ember_rate / raw_rate:.2f} |")
    if comm.Get_rank() == 0:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
