"""Bring the whole job down when one rank dies of an uncaught exception.

A rank that ends with an uncaught exception would otherwise sit in ``MPI_Finalize``
(which waits for every rank) while the others wait for it in their next collective: the
job hangs. ``init_process_group`` installs ``abort_on_uncaught`` as ``sys.excepthook``; it
prints the traceback with every line prefixed by the rank (``[rank1]: ``, as torchrun
labels its workers' output) and calls ``MPI_Abort``, which makes ``mpirun`` end every rank.

Only the main thread's uncaught exceptions reach ``sys.excepthook``: an exception the
program catches never aborts, and one that ends another thread leaves the process running,
as it would without MPI (``threading.excepthook`` is left alone).
"""

from __future__ import annotations

import os
import sys
import traceback


class _Hook:
    comm = None  # the communicator to abort; None while no group is initialized
    previous = None  # the sys.excepthook that was in place when the hook was installed


_hook = _Hook()


def install(comm) -> None:
    """Make an uncaught exception in the main thread abort every rank of ``comm``."""
    _hook.comm = comm
    if sys.excepthook is not abort_on_uncaught:
        _hook.previous = sys.excepthook
        sys.excepthook = abort_on_uncaught


def uninstall() -> None:
    """Put back the ``sys.excepthook`` that ``install`` found."""
    _hook.comm = None
    # Someone may have chained their own hook onto ours since: then ours stays in their
    # chain, but with no communicator it only hands over to the previous hook.
    if sys.excepthook is abort_on_uncaught:
        sys.excepthook = _hook.previous
        _hook.previous = None


def abort_on_uncaught(exc_type, exc, tb) -> None:
    """``sys.excepthook``: show the exception as this rank's, then abort the MPI job."""
    comm, previous = _hook.comm, _hook.previous or sys.__excepthook__
    if comm is None:
        previous(exc_type, exc, tb)
        return
    rank, size = comm.Get_rank(), comm.Get_size()
    try:
        if previous is not sys.__excepthook__:
            previous(exc_type, exc, tb)  # the user's own hook; the default's text is below
        else:
            print_with_rank(rank, traceback.format_exception(exc_type, exc, tb))
        what = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        print_with_rank(
            rank,
            [
                f"ember.distributed: rank {rank} (of {size}) ended with an uncaught exception "
                f"({what}); aborting the job (MPI_Abort) so that the other ranks do not wait for "
                "it forever\n"
            ],
        )
    finally:
        _flush()
        comm.Abort(1)
        os._exit(1)  # Abort does not return; this is only in case an MPI library lets it


def print_with_rank(rank: int, chunks: list) -> None:
    """Print text to stderr with each line prefixed by ``[rank<rank>]: ``."""
    lines = "".join(chunks).splitlines()
    sys.stderr.write("".join(f"[rank{rank}]: {line}\n" for line in lines))


def _flush() -> None:
    # MPI_Abort kills the process without Python's cleanup, which would lose buffered text.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
