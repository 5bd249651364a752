"""Reading and writing an array at an index key, the form ``ops/indexing.py`` parses to.

A key is ``(basic, advanced)``: ``basic`` (ints, slices, None, then Ellipsis) is applied
first and gives a view, ``advanced`` (slices and int arrays, or None) then indexes that
view as NumPy does. The indexing ops and the gradient namespace ``ArrayMath`` both use
these two functions, so they live below both.
"""

from __future__ import annotations

from ember._backend import add_at


def read(array, key):
    """``array[key]``: a view when the key is basic, a copy otherwise."""
    basic, advanced = key
    view = array[basic]
    return view if advanced is None else view[advanced]


def write(array, key, value, accumulate: bool) -> None:
    """``array[key] = value`` in place, or ``+= value`` with ``accumulate`` (repeats add up)."""
    basic, advanced = key
    view = array[basic]
    if advanced is None:
        if accumulate:
            view += value
        else:
            view[...] = value
    elif accumulate:
        add_at(view, advanced, value)
    else:
        view[advanced] = value
