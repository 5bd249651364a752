"""Launch the MPI programs beside this file with ``mpirun`` and check every rank's verdict.

Open MPI refuses to run as root unless told; CI runs as root, so the launcher (here, not
the library) sets the two allow-run-as-root variables.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def mpirun(script: str, processes: int, timeout: float = 240) -> subprocess.CompletedProcess:
    assert shutil.which("mpirun"), "Open MPI's mpirun is missing: apt-get install openmpi-bin libopenmpi-dev"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    command = ["mpirun", "-np", str(processes), "--oversubscribe", sys.executable, str(HERE / script)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("processes", [2, 3])
def test_collectives_for_every_op_and_dtype(processes):
    result = mpirun("mpi_collectives.py", processes)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("collectives OK") == processes


@pytest.mark.parametrize("processes", [2, 3])
def test_mismatched_shape_dtype_op_or_collective_raises_on_every_rank(processes):
    result = mpirun("mpi_mismatch.py", processes)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("mismatch OK") == processes


def test_ddp_matches_single_process_for_sgd_and_adam():
    result = mpirun("mpi_ddp.py", 2)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ddp OK") == 2


def test_missing_rank_times_out_instead_of_hanging():
    start = time.monotonic()
    result = mpirun("mpi_timeout.py", 2, timeout=60)
    assert result.returncode != 0 and "no timeout" not in result.stdout
    assert "all_reduce timed out after 2 s on rank 0" in result.stdout + result.stderr
    assert time.monotonic() - start < 15  # bounded: the job stops well before rank 1 wakes
