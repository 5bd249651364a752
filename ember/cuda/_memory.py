"""GPU memory counts, from CuPy's memory pool (zero where no GPU was used).

PyTorch counts the bytes its caching allocator hands out (``memory_allocated``)
and holds (``memory_reserved``); CuPy's pool has the same two numbers
(``used_bytes``, ``total_bytes``). The pool reports no peak of its own, so
``reset_peak_memory_stats`` puts a counting allocator in front of it: from then on
every allocation updates the peak.
"""

from __future__ import annotations

from ember import _backend


class _Peak:
    allocated = 0
    reserved = 0
    counting = False  # whether the counting allocator is in place


_peak = _Peak()


def _pool():
    if not _backend.cuda.in_use:
        return None
    return _backend.cuda.library.get_default_memory_pool()


def _note_peak() -> tuple[int, int]:
    pool = _pool()
    if pool is None:
        return 0, 0
    used, held = pool.used_bytes(), pool.total_bytes()
    _peak.allocated = max(_peak.allocated, used)
    _peak.reserved = max(_peak.reserved, held)
    return used, held


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory that tensors hold now."""
    return _note_peak()[0]


def memory_reserved(device=None) -> int:
    """Bytes of GPU memory that the allocator holds (in use or cached for reuse)."""
    return _note_peak()[1]


def max_memory_allocated(device=None) -> int:
    _note_peak()
    return _peak.allocated


def max_memory_reserved(device=None) -> int:
    _note_peak()
    return _peak.reserved


def reset_peak_memory_stats(device=None) -> None:
    """Start the peaks again from the current counts, and count every allocation from now."""
    _peak.allocated, _peak.reserved = 0, 0
    pool = _pool()
    if pool is None:
        return
    if not _peak.counting:
        _backend.cuda.library.cuda.set_allocator(_counting(pool))
        _peak.counting = True
    _note_peak()


def _counting(pool):
    def malloc(size: int):
        memory = pool.malloc(size)
        used = pool.used_bytes()
        if used > _peak.allocated:
            _peak.allocated = used
        return memory

    return malloc


def empty_cache() -> None:
    """Hand the allocator's cached, unused blocks back to the driver."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()
