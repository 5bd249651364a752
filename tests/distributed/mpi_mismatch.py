"""Run under mpirun: ranks that disagree raise a clear error on every rank, then carry on.

The last rank differs from the others in one way per case. Each case is one that a
reduction would otherwise get silently wrong: the same byte count in another dtype or
shape, or another reduce op that MPI runs as the same sum.
"""

from __future__ import annotations

import numpy as np

import ember
import ember.distributed as dist
from ember.distributed import ReduceOp
from tests.distributed import run_rank


def cases(odd: bool) -> dict:
    """Each case's call on this rank: ``odd`` is True on the rank that differs."""
    return {
        "shape": lambda: dist.all_reduce(ember.ones(3, 2) if odd else ember.ones(2, 3)),
        "length": lambda: dist.all_reduce(ember.ones(7 if odd else 6)),
        "dtype": lambda: dist.all_reduce(
            ember.ones(6, dtype=ember.int32 if odd else ember.float32)
        ),
        "op": lambda: dist.all_reduce(ember.ones(6), op=ReduceOp.AVG if odd else ReduceOp.SUM),
        "collective": lambda: (dist.broadcast(ember.ones(6)) if odd
                               else dist.all_reduce(ember.ones(6))),
        "reduce op": lambda: dist.reduce(ember.ones(6), op=ReduceOp.MAX if odd else ReduceOp.MIN),
        "broadcast shape": lambda: dist.broadcast(ember.ones(5 if odd else 4)),
    }


# What each case's message must name, besides the ranks.
EXPECTED = {
    "shape": ["shape (2, 3)", "shape (3, 2)"],
    "length": ["shape (6,)", "shape (7,)"],
    "dtype": ["float32 tensor", "int32 tensor"],
    "op": ["ReduceOp.SUM", "ReduceOp.AVG"],
    "collective": ["all_reduce of", "broadcast of"],
    "reduce op": ["ReduceOp.MIN", "ReduceOp.MAX"],
    "broadcast shape": ["shape (4,)", "shape (5,)"],
}


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    last = world - 1
    others = "rank 0" if last == 1 else "ranks " + ", ".join(str(other) for other in range(last))
    for name, call in cases(odd=rank == last).items():
        try:
            call()
        except RuntimeError as error:
            message = str(error)
            common = [f"{others}: ", f"rank {last}: ", "same shapes and dtypes"]
            for part in EXPECTED[name] + common:
                assert part in message, f"{name}: {part!r} missing from {message!r}"
        else:
            raise AssertionError(f"{name}: the mismatch was not detected on rank {rank}")
        # every rank raised at the same point, so the group is still in step
        tensor = ember.full((2, 3), float(rank))
        dist.all_reduce(tensor)
        np.testing.assert_array_equal(tensor.numpy(), np.full((2, 3), sum(range(world))))
    print(f"rank {rank}: mismatch OK", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    run_rank(main)
