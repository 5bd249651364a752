"""``ember.save`` and ``ember.load``: checkpoints that can never run code.

``save`` writes a safetensors file by default: the object's tensors (and NumPy arrays)
are the file's tensors, and its structure — nested dicts, lists and tuples of tensors,
numbers, strings, bools and None — is JSON in the file's metadata. ``save(...,
format="torch")`` writes the zip archive ``torch.save`` writes, which
``torch.load(f, weights_only=True)`` reads. Saving to a path is atomic (a fsynced
temporary, then a rename), so an interrupted save leaves the previous checkpoint whole.

A CUDA tensor is saved from a copy on the host. ember's format records no device, so
its tensors load on the CPU unless ``map_location`` says otherwise; a ``torch.save``
archive records each storage's device (``'cuda:0'``), and ``load`` puts tensors back
there, as PyTorch does.

``load`` tells the formats apart by their content. A safetensors file has every header
rule checked before any data is read; a ``torch.save`` archive is read with an unpickler
that builds only what PyTorch's ``weights_only=True`` loader builds (see
``add_safe_globals``), so no file can execute anything. The formats themselves live in
``ember/_serialization/``.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle

from ember._backend import cuda_library, device_count, to_device
from ember._device import array_index, device
from ember._serialization import (
    atomic,
    safetensors_format,
    structure,
    weights_only as _weights_only,
)
from ember._serialization.common import Corrupt
from ember._tensor import Tensor

__all__ = [
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "load",
    "safe_globals",
    "save",
]

_FORMATS = ("safetensors", "torch")
_PROTOCOLS = (b"\x02", b"\x03", b"\x04", b"\x05")
_TEXT_MODE = "ember.load: the file object must be opened in binary mode ('rb')"
_CUDA_UNAVAILABLE = (
    "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
    "False. If you are running on a CPU-only machine, please use torch.load with "
    "map_location=torch.device('cpu') to map your storages to the CPU."
)


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def save(
    obj,
    f,
    pickle_module=None,
    pickle_protocol=None,
    _use_new_zipfile_serialization=True,
    *,
    format: str = "safetensors",
) -> None:
    """Write ``obj`` to ``f`` (a path or a binary file object) as a checkpoint.

    Saving to a path replaces the file atomically: a save that is interrupted (the
    process killed, the disk full) leaves the previous file as it was. A file object is
    written in place, with no such guarantee.

    Args:
        obj: tensors, NumPy arrays, numbers, strings, bools, None, and dicts
            (``OrderedDict`` included), lists and tuples of them — e.g.
            ``model.state_dict()``, ``optimizer.state_dict()`` or a dict of both.
        f: a path (str or os.PathLike) or a writable binary file object.
        format: ``"safetensors"`` (the default: a file no loader can run code from) or
            ``"torch"``: the zip archive ``torch.save`` writes, for
            ``torch.load(f, weights_only=True)``. Tensors sharing memory share a storage
            in it. PyTorch reads NumPy arrays in it only once they are allowlisted.

    Example::

        >>> ember.save({"model": model.state_dict(), "epoch": 3}, "checkpoint.safetensors")
        >>> ember.save(model.state_dict(), "model.pt", format="torch")
    """
    is_path = isinstance(f, (str, os.PathLike))
    if not is_path and not callable(getattr(f, "write", None)):
        raise TypeError(
            f"ember.save: f must be a path (str or os.PathLike) or a writable binary file "
            f"object, got {type(f).__name__}"
        )
    write = _writer(obj, format, _use_new_zipfile_serialization)
    if is_path:
        atomic.write_atomically(os.fspath(f), write)
    else:
        write(f)


def _writer(obj, format: str, use_zip: bool):
    """Encode ``obj`` now (so a refusal leaves no file) and return what writes it."""
    if format not in _FORMATS:
        raise ValueError(f"ember.save: format must be one of {_FORMATS}, got {format!r:.40}")
    if format == "torch":
        if not use_zip:
            raise ValueError(
                "ember.save: format='torch' writes only the zip archive of PyTorch >= 1.6; "
                "_use_new_zipfile_serialization=False (the legacy format) is not supported"
            )
        # PyTorch's zip format loads on first use: it and zipfile stay out of `import ember`
        from ember._serialization import torch_format

        prepared = torch_format.prepare(obj)
        return lambda handle: torch_format.write(handle, prepared)
    encoder = structure.Encoder()
    metadata = {structure.FORMAT_KEY: encoder.encode_document(obj)}
    header, arrays = safetensors_format.layout(encoder.arrays, metadata)
    return lambda handle: safetensors_format.write(handle, header, arrays)


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **kwargs):
    """Read a checkpoint: ember's, a plain safetensors file, or a ``torch.save`` archive.

    Nothing in the file is executed. A ``torch.save`` archive is unpickled the way
    PyTorch's ``weights_only=True`` loader does it: tensors, parameters, dicts,
    ``OrderedDict``s, lists, tuples, numbers, strings, None and dtypes are built; any other
    global raises ``pickle.UnpicklingError`` with PyTorch's message, unless allowlisted
    with ``ember.serialization.add_safe_globals``. A plain pickle, a truncated, corrupted
    or foreign file raises a RuntimeError naming the file and what is wrong with it.

    Args:
        f: a path (str or os.PathLike) or a readable binary file object.
        map_location: as in PyTorch: None (each tensor where the file says it was saved:
            the CPU for ember's format), a device or its name (``'cpu'``, ``'cuda'``,
            ``'cuda:0'``), a dict mapping location names (``'cuda:0'``) to those, or a
            callable ``(tensor, location)`` returning a tensor or None. CUDA targets raise
            PyTorch's error where CUDA is not available.
        weights_only: True (or None) is the only mode there is. False raises: it asks
            for arbitrary objects to be unpickled, which can run any code the file
            names, and ember never does that.
        mmap: accepted for compatibility; tensors are read into memory.
    """
    if pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    if weights_only is not None and not weights_only:
        raise RuntimeError(
            "ember.load: weights_only=False is not supported: it would unpickle arbitrary "
            "objects, and unpickling can run any code the file names. ember only loads what "
            "PyTorch's weights_only=True loader builds (tensors, containers, numbers, "
            "strings); allow other classes with ember.serialization.add_safe_globals, and "
            "load with weights_only=True (the default)."
        )
    relocate = _relocator(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            return _load_from(handle, size, os.fspath(f), relocate, whole_file=True)
    if not callable(getattr(f, "read", None)):
        raise TypeError(
            f"ember.load: f must be a path (str or os.PathLike) or a readable binary "
            f"file object, got {type(f).__name__}"
        )
    if isinstance(f, io.TextIOBase):
        raise TypeError(_TEXT_MODE)
    handle, size = _sized(f)
    return _load_from(handle, size, str(getattr(f, "name", "the file object")), relocate, False)


def _sized(f) -> tuple:
    """The stream and how many bytes remain in it; a stream that cannot seek is read whole."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if f.seekable():
            here = f.tell()
            end = f.seek(0, os.SEEK_END)
            f.seek(here)
            return f, end - here
    data = f.read()
    return io.BytesIO(data), len(data)


def _load_from(handle, size: int, source: str, relocate, whole_file: bool):
    start = handle.tell()
    try:
        arrays, metadata = safetensors_format.read_file(handle, size, whole_file)
    except safetensors_format.NotSafetensors as not_safetensors:
        prefix = not_safetensors.prefix
        if prefix[:4] == b"PK\x03\x04":  # a zip archive, as torch.save writes
            handle.seek(start)
            return _load_archive(handle, size, source, relocate)
        if prefix[:1] == b"\x80" and prefix[1:2] in _PROTOCOLS:
            error = Corrupt(
                "this is a plain pickle (or PyTorch's legacy pre-1.6 format), not a "
                "checkpoint ember reads. ember never unpickles arbitrary objects, because "
                "unpickling can run arbitrary code. Save it again with torch.save (a zip "
                "archive, read with weights_only=True) or as safetensors."
            )
        else:
            error = safetensors_format.explain(not_safetensors, size)
        raise RuntimeError(f"ember.load: {source}: {error}") from None
    except Corrupt as error:
        raise RuntimeError(f"ember.load: {source}: {error}") from None
    if structure.FORMAT_KEY not in metadata:
        return {name: relocate(Tensor._make(array)) for name, array in arrays.items()}
    return structure.decode_structure(metadata[structure.FORMAT_KEY], arrays, relocate, source)


def _load_archive(handle, size: int, source: str, relocate):
    from ember._serialization import torch_format  # loaded on first use, as in ``_writer``

    try:
        return torch_format.read(handle, size, relocate)
    except pickle.UnpicklingError as error:
        message = _weights_only.refused_message(str(error))
    except Corrupt as error:
        raise RuntimeError(f"ember.load: {source}: {error}") from None
    except (
        IndexError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        EOFError,
        UnicodeDecodeError,
        OverflowError,
        RecursionError,
    ) as error:
        message = _weights_only.refused_message(
            f"the pickle in {source} is malformed ({type(error).__name__}: {error})"
        )
    raise pickle.UnpicklingError(message) from None


# ---------------------------------------------------------------------------------------
# What weights_only loading may build beyond tensors and containers
# ---------------------------------------------------------------------------------------


def add_safe_globals(safe_globals: list) -> None:
    """Allow the classes and functions in ``safe_globals`` in ``torch.save`` archives.

    An allowlisted class is rebuilt only as PyTorch's ``weights_only`` loader does it:
    ``cls.__new__`` (or a call, where the pickle asks for one), then ``__setstate__`` or
    an update of its ``__dict__``. Allow only what you trust the file's author with.

    Args:
        safe_globals: classes and functions, or ``(object, "module.name")`` pairs where
            the pickle names the object differently.

    Example::

        >>> ember.serialization.add_safe_globals([MyConfig])
    """
    _weights_only.add_safe_globals(safe_globals)


def get_safe_globals() -> list:
    """The classes and functions ``add_safe_globals`` has allowed."""
    return _weights_only.get_safe_globals()


def clear_safe_globals() -> None:
    """Forget every class and function ``add_safe_globals`` allowed."""
    _weights_only.clear_safe_globals()


class safe_globals:
    """Allow ``safe_globals`` (as ``add_safe_globals``) inside a ``with`` block only.

    Example::

        >>> with ember.serialization.safe_globals([MyConfig]):
        ...     checkpoint = ember.load("checkpoint.pt")
    """

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        _weights_only.add_safe_globals(self.safe_globals)

    def __exit__(self, *exception):
        _weights_only.remove_safe_globals(self.safe_globals)


# ---------------------------------------------------------------------------------------
# map_location
# ---------------------------------------------------------------------------------------


def _relocator(map_location):
    """``relocate(tensor, location)``: PyTorch's map_location over a tensor read onto the
    host. Each tensor moves on its own, so views of one saved storage that go to a GPU
    load as separate tensors there."""
    if map_location is None:
        return _stay
    if callable(map_location):
        return lambda tensor, location="cpu": _call_map_location(map_location, tensor, location)
    if isinstance(map_location, dict):
        if not all(isinstance(key, str) for key in map_location):
            raise TypeError("ember.load: map_location's keys must be location names such as 'cpu'")
        targets = {key: _relocator(value) for key, value in map_location.items()}
        return lambda tensor, location="cpu": targets.get(location, _stay)(tensor, location)
    if not isinstance(map_location, (str, device)):
        raise TypeError(
            "ember.load: map_location must be None, a device or its name, a dict mapping "
            f"location names to those, or a callable; got {type(map_location).__name__}"
        )
    try:
        target = device(map_location)
    except ValueError:
        raise RuntimeError(f"Invalid device string: '{map_location}'") from None
    if target.type == "cpu":
        return lambda tensor, location="cpu": tensor
    # As in PyTorch, the target is refused only when a tensor is actually loaded.
    return lambda tensor, location="cpu": _moved(tensor, target)


def _stay(tensor: Tensor, location: str = "cpu") -> Tensor:
    """Put a tensor back where the file says it was."""
    if location == "cpu" or location.startswith("cpu:"):
        return tensor
    try:
        target = device(location)
    except (RuntimeError, ValueError):
        raise RuntimeError(
            f"ember.load: a tensor was saved on unknown device {location!r}"
        ) from None
    return _moved(tensor, target)


def _moved(tensor: Tensor, target: device) -> Tensor:
    """``tensor`` (read onto the host) on ``target``, with PyTorch's errors where the device
    is missing."""
    if target.type == "cuda":
        if cuda_library() is None:
            raise RuntimeError(_CUDA_UNAVAILABLE)
        count = device_count()
        if target.index is not None and target.index >= count:
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {target.index} but "
                f"torch.cuda.device_count() is {count}. Please use torch.load with "
                "map_location to map your storages to an existing device."
            )
    return Tensor._make(to_device(tensor._data, array_index(target)))


def _call_map_location(function, tensor: Tensor, location: str) -> Tensor:
    result = function(tensor, location)
    if result is None:
        return _stay(tensor, location)
    if not isinstance(result, Tensor):
        raise TypeError(
            f"ember.load: map_location returned {type(result).__name__}; expected a tensor or None"
        )
    return result
