"""Tests of ``ember.distributed``: the ``mpi_*.py`` programs run under mpirun (``test_mpi.py``)."""

import os
import sys
import traceback


def run_rank(main) -> None:
    """Run this rank's ``main``. On an error, print it and end the process with status 1 at
    once, so that mpirun stops the job instead of leaving the other ranks in a collective."""
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)
