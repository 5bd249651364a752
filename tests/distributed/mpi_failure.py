"""Run under mpirun -np 2: what happens to the job when one rank fails (``test_mpi.py``).

``python mpi_failure.py CASE``, where CASE is one of:

- ``raise``: rank 1 raises at step 3, uncaught, while rank 0 goes on into its all-reduce.
  The job must end at once, not hang.
- ``user-hook``: the same, with a ``sys.excepthook`` of the program's own installed before
  ``init_process_group``: it must still be called.
- ``mismatch``: the ranks pass different shapes to one all-reduce; rank 0 catches the
  error and goes on to its next all-reduce, rank 1 does not. The job must end at once.
- ``caught``: rank 1 raises and catches at step 3; both ranks finish, leave the group
  (which puts the original ``sys.excepthook`` back) and exit 0.

No timeout is given to ``init_process_group``: the 30-minute default must not be what
ends a job here.
"""

from __future__ import annotations

import sys

import ember
import ember.distributed as dist

STEPS = 6
FAILING_STEP = 3


def user_hook(exc_type, exc, tb) -> None:
    print(f"user hook saw {exc_type.__name__}: {exc}", file=sys.stderr, flush=True)


def train(rank: int, catch: bool) -> None:
    """All-reduce once per step; rank 1 meets a bad batch at ``FAILING_STEP``."""
    for step in range(STEPS):
        try:
            if rank == 1 and step == FAILING_STEP:
                raise ValueError(f"bad batch at step {step}")
        except ValueError:
            if not catch:
                raise
        tensor = ember.ones(3)
        dist.all_reduce(tensor)
        assert tensor.tolist() == [2.0] * 3, tensor.tolist()


def mismatch(rank: int) -> None:
    """Rank 1 lets the mismatch error end it; rank 0 catches it and carries on."""
    try:
        dist.all_reduce(ember.ones(3 + rank))
    except RuntimeError:
        if rank == 1:
            raise
    dist.all_reduce(ember.ones(3))


def main(case: str) -> None:
    original_hook = sys.excepthook
    if case == "user-hook":
        sys.excepthook = original_hook = user_hook
    dist.init_process_group("mpi")
    assert sys.excepthook is not original_hook, "init_process_group installed no hook"
    rank = dist.get_rank()
    if case == "mismatch":
        mismatch(rank)
    else:
        train(rank, catch=case == "caught")
    dist.barrier()
    dist.destroy_process_group()
    assert sys.excepthook is original_hook, "destroy_process_group left its hook installed"
    print(f"rank {rank}: {case} OK", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
