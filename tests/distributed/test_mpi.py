"""Launch the MPI programs beside this file with ``mpirun`` and check every rank's verdict.

Open MPI refuses to run as root unless told; CI runs as root, so the launcher (here, not
the library) sets the two allow-run-as-root variables.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def mpirun(script: str, processes: int, *args: str,
           timeout: float = 240) -> subprocess.CompletedProcess:
    """Run ``script`` on ``processes`` ranks; a job still running after ``timeout`` seconds
    is stopped, ranks included, and fails the test."""
    assert shutil.which("mpirun"), (
        "Open MPI's mpirun is missing: apt-get install openmpi-bin libopenmpi-dev"
    )
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")
    command = ["mpirun", "-np", str(processes), "--oversubscribe", sys.executable,
               str(HERE / script), *args]
    # A session of its own, so that a hung job can be ended whole: killing mpirun alone
    # would leave its ranks spinning in a collective.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env, cwd=ROOT, start_new_session=True) as job:
        try:
            stdout, stderr = job.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stdout, stderr = _stop(job)
            pytest.fail(f"mpirun {script} {' '.join(args)} still running after {timeout} s:\n"
                        f"{stdout}{stderr}")
    return subprocess.CompletedProcess(command, job.returncode, stdout, stderr)


def _stop(job: subprocess.Popen) -> tuple:
    """End a hung job: mpirun passes SIGTERM on to its ranks; SIGKILL if that is not enough."""
    try:
        os.killpg(job.pid, signal.SIGTERM)
        return job.communicate(timeout=10)
    except ProcessLookupError:
        return job.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        return job.communicate(timeout=10)


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


@pytest.mark.parametrize("case", ["raise", "user-hook", "mismatch"])
def test_uncaught_exception_on_one_rank_ends_the_job(case):
    result = mpirun("mpi_failure.py", 2, case, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "OK" not in result.stdout, output
    expected = "ValueError: bad batch at step 3"
    if case == "mismatch":
        expected = "RuntimeError: ember.distributed.all_reduce: the ranks disagree"
    assert f"rank 1 (of 2) ended with an uncaught exception ({expected}" in output, output
    if case == "user-hook":  # the program's own hook prints the exception, not ember
        assert "user hook saw ValueError: bad batch at step 3" in output, output
    else:  # the traceback, each line marked with the rank
        assert "[rank1]: Traceback (most recent call last):" in output, output
        assert f"[rank1]: {expected}" in output, output


def test_caught_exception_does_not_abort_and_destroy_removes_the_hook():
    result = mpirun("mpi_failure.py", 2, "caught", timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("caught OK") == 2, result.stdout + result.stderr
