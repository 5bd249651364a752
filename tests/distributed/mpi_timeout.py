"""Run under mpirun -np 2: rank 1 never joins the collective; rank 0 must time out, not hang."""

from __future__ import annotations

import datetime
import os
import time

import ember
import ember.distributed as dist

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=2))
if dist.get_rank() == 0:
    dist.all_reduce(ember.ones(3))  # the watchdog aborts the job from here
    print("rank 0: no timeout", flush=True)
    os._exit(0)
time.sleep(20)
os._exit(0)
