"""Indexing with Python ranges, lists (nested, or a tuple of them), NumPy integer and bool
arrays and NumPy scalars, read and assigned, as PyTorch indexes; gradients for reading."""

from __future__ import annotations

import warnings

import numpy as np
import torch

import ember

torch.set_num_threads(1)

SHAPE = (4, 5, 3)


def _keys(rng) -> dict:
    """Each index as a script writes it; the masks are drawn once from ``rng``."""
    mask = rng.random(SHAPE[:2]) > 0.5
    return {
        "range": range(1, 3),
        "range with step": range(0, 4, 2),
        "empty range": range(0),
        "range in a tuple": (range(1, 3), 0),
        "slice then range": (slice(None), range(2, 5)),
        "None then range": (None, range(2)),
        "tuple of lists": ([0, 2], [1, 3]),
        "tuple of three lists": ([0, 2], [1, 3], [0, 2]),
        "nested list": [[0, 1], [2, 3]],
        "nested list, 3 levels": [[[0, 1]], [[2, 3]]],
        "list of one list": [[0, 2]],
        "list with a negative": [-1, 0],
        "list of bools": [True, False, True, False],
        "numpy int64 array": np.array([0, 3]),
        "numpy int32 array": np.array([0, 3], dtype=np.int32),
        "numpy 2-d int array": np.array([[0, 1], [3, 2]]),
        "numpy empty int array": np.array([], dtype=np.int64),
        "numpy int arrays in a tuple": (np.array([0, 1]), np.array([2, 4])),
        "list and numpy array": ([0, 1], np.array([1, 2])),
        "ellipsis and numpy array": (Ellipsis, np.array([0, 2])),
        "numpy int64 scalar": np.int64(2),
        "numpy int32 scalar": np.int32(-1),
        "numpy uint8 scalar": np.uint8(1),
        "numpy 0-d int array": np.array(1),
        "numpy bool array": np.array([True, False, True, False]),
        "numpy 2-d bool array": mask,
        "numpy 0-d bool array": np.array(True),
    }


def _read(library, data, key, cotangent_rng):
    x = library.tensor(data, requires_grad=True)
    y = x[key]
    cotangent = cotangent_rng.normal(size=tuple(y.shape))
    (y * library.tensor(cotangent)).sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def _write(library, data, key, values_rng):
    x = library.tensor(data)
    x[key] = library.tensor(values_rng.normal(size=tuple(x[key].shape)))
    return x.numpy()


def _outcome(function, library, *args):
    with warnings.catch_warnings():
        # PyTorch warns about nested-list and uint8 indices; ember need not.
        warnings.simplefilter("ignore", UserWarning)
        try:
            return function(library, *args)
        except (IndexError, TypeError, ValueError, RuntimeError) as error:
            return f"{type(error).__name__}: {error}"


def _differ(expected, result) -> bool:
    if isinstance(expected, str) or isinstance(result, str):
        return expected != result
    expected = expected if isinstance(expected, tuple) else (expected,)
    result = result if isinstance(result, tuple) else (result,)
    return any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(expected, result))


def _disagreements(function) -> dict:
    rng = np.random.default_rng(0)
    data = rng.normal(size=SHAPE)
    found = {}
    for name, key in _keys(rng).items():
        seed = int(rng.integers(1 << 30))
        expected = _outcome(function, torch, data, key, np.random.default_rng(seed))
        result = _outcome(function, ember, data, key, np.random.default_rng(seed))
        if _differ(expected, result):
            found[name] = (expected, result)
    return found


def test_reading_and_its_gradient_match_pytorch():
    assert _disagreements(_read) == {}


def test_assignment_matches_pytorch():
    assert _disagreements(_write) == {}


def test_numpy_bool_and_float_scalars_are_refused_as_in_pytorch():
    refused = {"bool_": np.bool_(True), "bool_ False": np.bool_(False),
               "bool_ in a tuple": (0, np.bool_(True)), "float64": np.float64(1.0),
               "float32": np.float32(0.0)}
    for name, key in refused.items():
        expected = _outcome(lambda library, key: library.zeros(*SHAPE)[key], torch, key)
        result = _outcome(lambda library, key: library.zeros(*SHAPE)[key], ember, key)
        assert isinstance(expected, str) and expected.startswith("IndexError"), name
        assert result == expected, name
        expected = _outcome(_assign_one, torch, key)
        assert _outcome(_assign_one, ember, key) == expected, name


def _assign_one(library, key):
    library.zeros(*SHAPE)[key] = 1.0


def test_basic_indexing_names_its_node_as_pytorch():
    """A lone slice is PyTorch's ``SliceBackward0`` even where it takes everything, a
    tuple of whole slices an ``AliasBackward0``."""
    keys = [slice(None), slice(1, 3), slice(None, None, 2), slice(-2, None), (slice(None),),
            (slice(None), slice(None)), (Ellipsis, slice(None)), Ellipsis, (slice(None), None),
            None, 0, (0, slice(None)), (slice(None), 0), (slice(1, 3), slice(None))]
    for key in keys:
        names = [type(lib.ones(3, 2, requires_grad=True)[key].grad_fn).__name__
                 for lib in (torch, ember)]
        assert names[0] == names[1], (key, names)
