"""Writing a file whole or not at all: a fsynced temporary beside it, then a rename."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat


def write_atomically(path: str, write) -> None:
    """Call ``write(handle)`` on a temporary beside ``path``, then rename it over ``path``."""
    if os.path.islink(path):
        path = os.path.realpath(path)  # replace the file the link points at, not the link
    if os.path.isdir(path):
        raise RuntimeError(f"ember.save: {path} is a directory; expected the path of a file")
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        # The rename would succeed, but writing in place (as PyTorch does) would not.
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    temporary, descriptor = _create_temporary(path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _fsync_directory(parent or os.curdir)


def _create_temporary(path: str) -> tuple:
    """A new hidden file beside ``path``, created with the permissions a plain open() gives."""
    parent, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = os.path.join(parent, f".{name[:200]}.{secrets.token_hex(6)}.tmp")
        try:
            descriptor = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:
            continue
    with contextlib.suppress(OSError):
        # Overwriting a checkpoint keeps its permissions, as writing in place would.
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
    return temporary, descriptor


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; Windows cannot open a directory, some filesystems refuse."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
