"""What the checkpoint formats share: the corruption signal and reading into an array."""

from __future__ import annotations


class Corrupt(Exception):
    """A problem with the file, turned into load's RuntimeError once the file is named."""


def fill(handle, view: memoryview) -> int:
    """Read into ``view`` until it is full or the stream ends; return the bytes read."""
    readinto = getattr(handle, "readinto", None)
    filled = 0
    while filled < len(view):
        if readinto is not None:
            count = readinto(view[filled:])
        else:
            chunk = handle.read(len(view) - filled)
            count = len(chunk)
            view[filled : filled + count] = chunk
        if not count:
            break
        filled += count
    return filled
