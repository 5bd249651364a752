"""Run under mpirun: every collective, every op and dtype, checked on every rank."""

from __future__ import annotations

import numpy as np

import ember
import ember.distributed as dist
from ember.distributed import ReduceOp
from tests.distributed import run_rank

DTYPES = [ember.float32, ember.float64, ember.int32, ember.int64, ember.uint8]


def values(rank: int, dtype):
    return ember.tensor(np.arange(6).reshape(2, 3) + rank + 1, dtype=dtype)


def main() -> None:
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    everyone = [np.arange(6).reshape(2, 3) + r + 1 for r in range(world)]
    expected = {
        ReduceOp.SUM: sum(everyone),
        ReduceOp.PRODUCT: np.prod(everyone, axis=0),
        ReduceOp.MIN: np.min(everyone, axis=0),
        ReduceOp.MAX: np.max(everyone, axis=0),
        ReduceOp.AVG: sum(everyone) / world,
    }
    for dtype in DTYPES:
        for op, result in expected.items():
            if op is ReduceOp.AVG and not dtype.is_floating_point:
                continue
            tensor = values(rank, dtype)
            dist.all_reduce(tensor, op=op)
            np.testing.assert_allclose(tensor.numpy(), result.astype(dtype.numpy),
                                       err_msg=f"{op} {dtype}")
            assert tensor.dtype == dtype
        tensor = values(rank, dtype) if rank == 1 % world else ember.zeros(2, 3, dtype=dtype)
        dist.broadcast(tensor, src=1 % world)
        np.testing.assert_array_equal(tensor.numpy(), everyone[1 % world].astype(dtype.numpy))
        gathered = [ember.zeros(2, 3, dtype=dtype) for _ in range(world)]
        dist.all_gather(gathered, values(rank, dtype))
        for r in range(world):
            np.testing.assert_array_equal(gathered[r].numpy(), everyone[r].astype(dtype.numpy))
        output = ember.zeros(2 * world, 3, dtype=dtype)
        dist.all_gather_into_tensor(output, values(rank, dtype))
        np.testing.assert_array_equal(output.numpy(), np.concatenate(everyone).astype(dtype.numpy))
        pieces = [ember.tensor(np.full((2,), r + rank), dtype=dtype) for r in range(world)]
        mine = ember.zeros(2, dtype=dtype)
        dist.reduce_scatter(mine, pieces, op=ReduceOp.SUM)
        want = sum(np.full((2,), rank + r) for r in range(world))
        np.testing.assert_array_equal(mine.numpy(), want.astype(dtype.numpy))
        flat = ember.tensor(np.arange(2 * world) + rank, dtype=dtype)
        part = ember.zeros(2, dtype=dtype)
        dist.reduce_scatter_tensor(part, flat)
        want = sum(np.arange(2 * world) + r for r in range(world))[2 * rank : 2 * rank + 2]
        np.testing.assert_array_equal(part.numpy(), want.astype(dtype.numpy))
        collected = [ember.zeros(2, 3, dtype=dtype) for _ in range(world)] if rank == 0 else None
        dist.gather(values(rank, dtype), collected, dst=0)
        if rank == 0:
            for r in range(world):
                np.testing.assert_array_equal(collected[r].numpy(), everyone[r].astype(dtype.numpy))
        received = ember.zeros(2, 3, dtype=dtype)
        sources = [values(r, dtype) for r in range(world)] if rank == 0 else None
        dist.scatter(received, sources, src=0)
        np.testing.assert_array_equal(received.numpy(), everyone[rank].astype(dtype.numpy))
        reduced = values(rank, dtype)
        dist.reduce(reduced, dst=0, op=ReduceOp.MAX)
        if rank == 0:
            np.testing.assert_array_equal(reduced.numpy(),
                                          expected[ReduceOp.MAX].astype(dtype.numpy))
    dist.barrier()
    # a shape mismatch raises on every rank instead of reducing garbage
    try:
        dist.all_reduce(ember.ones(2 + rank))
    except RuntimeError as error:
        assert "same shapes and dtypes" in str(error)
    else:
        raise AssertionError("mismatched shapes were not detected")
    objects = [None] * world
    dist.all_gather_object(objects, {"rank": rank})
    assert objects == [{"rank": r} for r in range(world)]
    print(f"rank {rank}: collectives OK", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    run_rank(main)
