"""``histogram`` and ``histogramdd`` against PyTorch: bins as a count or as edges, ``range``,
``weight``, ``density``, values on the edges, values outside the range, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)


def _cases(rng) -> dict:
    """Each case: a call taking the library, with its data drawn once from ``rng``."""
    values = rng.normal(size=300) * 3
    values32 = values.astype(np.float32)
    points = rng.normal(size=(60, 3))
    weights = rng.random(300)
    point_weights = rng.random(60)
    edges = np.array([-4.0, -1.0, 0.0, 0.5, 3.0])
    on_edges = np.concatenate([np.linspace(-2, 2, 9), [-2.0, 2.0, 2.0]])
    outside = np.array([-9.0, -2.0, -1.5, 0.0, 1.0, 2.0, 2.5, 9.0, np.nan, np.inf])

    def tensor(library, array):
        return library.tensor(array)

    return {
        "int bins, float64": lambda lib: lib.histogram(tensor(lib, values), bins=7),
        "int bins, float32": lambda lib: lib.histogram(tensor(lib, values32), 13),
        "default bins": lambda lib: lib.histogram(tensor(lib, values)),
        "one bin": lambda lib: lib.histogram(tensor(lib, values), 1),
        "range": lambda lib: lib.histogram(tensor(lib, values), 10, range=(-1.0, 2.0)),
        "values on the edges": lambda lib: lib.histogram(tensor(lib, on_edges), 8),
        "values on the edges, range": lambda lib: lib.histogram(
            tensor(lib, on_edges), 4, range=(-2.0, 2.0)),
        "outside the range, NaN and inf left out": lambda lib: lib.histogram(
            tensor(lib, outside), 4, range=(-2.0, 2.0)),
        "edges tensor": lambda lib: lib.histogram(tensor(lib, values), tensor(lib, edges)),
        "edges tensor, value on last edge": lambda lib: lib.histogram(
            tensor(lib, np.array([3.0, 3.0, -4.0, 0.5])), tensor(lib, edges)),
        "weight": lambda lib: lib.histogram(tensor(lib, values), 6, weight=tensor(lib, weights)),
        "weight, 2-d input": lambda lib: lib.histogram(
            tensor(lib, values.reshape(30, 10)), 5, weight=tensor(lib, weights.reshape(30, 10))),
        "density": lambda lib: lib.histogram(tensor(lib, values), 9, density=True),
        "density, edges and weight": lambda lib: lib.histogram(
            tensor(lib, values), tensor(lib, edges), weight=tensor(lib, weights), density=True),
        "constant input": lambda lib: lib.histogram(lib.full((5,), 2.0), 4),
        "empty input": lambda lib: lib.histogram(lib.zeros(0), 4),
        "empty input, density": lambda lib: lib.histogram(lib.zeros(0), 4, density=True),
        "equal range ends": lambda lib: lib.histogram(tensor(lib, values), 2, range=(1.0, 1.0)),
        "dd int bins": lambda lib: lib.histogramdd(tensor(lib, points), bins=4),
        "dd bins per dimension": lambda lib: lib.histogramdd(tensor(lib, points), [2, 3, 5]),
        "dd range, density": lambda lib: lib.histogramdd(
            tensor(lib, points), 3, range=[-1.0, 1.0, -2.0, 2.0, 0.0, 1.0], density=True),
        "dd edges and weight": lambda lib: lib.histogramdd(
            tensor(lib, points), [tensor(lib, edges)] * 3, weight=tensor(lib, point_weights)),
        "dd empty": lambda lib: lib.histogramdd(lib.zeros(0, 2), bins=2),
    }


def _arrays(result) -> list:
    edges = result.bin_edges
    edges = [edges] if isinstance(edges, (torch.Tensor, ember.Tensor)) else list(edges)
    return [tensor.numpy() for tensor in [result.hist, *edges]]


def _disagreement(call) -> str | None:
    expected, result = call(torch), call(ember)
    if type(result).__name__ != type(expected).__name__.split(".")[-1]:
        return f"returns {type(result).__name__}, not {type(expected).__name__}"
    if list(result._fields) != ["hist", "bin_edges"]:
        return f"fields {result._fields}"
    for want, got in zip(_arrays(expected), _arrays(result)):
        if want.dtype != got.dtype or want.shape != got.shape:
            return f"{got.dtype}{got.shape} instead of {want.dtype}{want.shape}"
        # Counts and edges follow PyTorch's arithmetic exactly; weighted sums may differ in
        # the order of their additions.
        if not np.allclose(got, want, rtol=1e-12, atol=0, equal_nan=True):
            return f"values: torch {want.tolist()}, ember {got.tolist()}"
    return None


def test_histogram_matches_pytorch():
    cases = _cases(np.random.default_rng(0))
    disagreements = {name: _disagreement(call) for name, call in cases.items()}
    assert {name: text for name, text in disagreements.items() if text} == {}


def test_counts_and_edges_are_exact_across_random_bins():
    rng = np.random.default_rng(1)
    for _ in range(40):
        dtype = rng.choice([np.float32, np.float64])
        values = (rng.normal(size=200) * rng.uniform(0.1, 100)).astype(dtype)
        bins = int(rng.integers(1, 60))
        expected = torch.histogram(torch.tensor(values), bins)
        # Values placed exactly on PyTorch's edges must land in PyTorch's bins.
        on_edges = np.concatenate([expected.bin_edges.numpy(), values[:20]])
        for data in (values, on_edges):
            want, got = torch.histogram(torch.tensor(data), bins), ember.histogram(
                ember.tensor(data), bins)
            np.testing.assert_array_equal(got.bin_edges.numpy(), want.bin_edges.numpy())
            np.testing.assert_array_equal(got.hist.numpy(), want.hist.numpy())


ERRORS = {
    "integer input": lambda lib, x: lib.histogram(x.long(), 3),
    "bins 0": lambda lib, x: lib.histogram(x, 0),
    "bins -1": lambda lib, x: lib.histogram(x, -1),
    "range min above max": lambda lib, x: lib.histogram(x, 3, range=(4.0, 1.0)),
    "range of one number": lambda lib, x: lib.histogram(x, 3, range=(1.0,)),
    "NaN input without range": lambda lib, x: lib.histogram(lib.tensor([1.0, float("nan")]), 2),
    "inf range": lambda lib, x: lib.histogram(x, 2, range=(0.0, float("inf"))),
    "weight of other size": lambda lib, x: lib.histogram(x, 3, weight=lib.ones(3)),
    "weight of other dtype": lambda lib, x: lib.histogram(
        x, 3, weight=lib.ones(9, dtype=lib.float64)),
    "edges of other dtype": lambda lib, x: lib.histogram(
        x, lib.tensor([0.0, 1.0], dtype=lib.float64)),
    "edges 2-d": lambda lib, x: lib.histogram(x, lib.tensor([[0.0, 1.0, 2.0]])),
    "one edge": lambda lib, x: lib.histogram(x, lib.tensor([0.0])),
    "dd 1-d input": lambda lib, x: lib.histogramdd(x, 2),
    "dd wrong number of bins": lambda lib, x: lib.histogramdd(x.reshape(3, 3), [2, 2]),
    "dd wrong number of edges": lambda lib, x: lib.histogramdd(
        x.reshape(3, 3), [lib.tensor([0.0, 1.0])]),
    "dd range of wrong length": lambda lib, x: lib.histogramdd(
        x.reshape(3, 3), 2, range=[0.0, 1.0]),
    "dd weight of wrong shape": lambda lib, x: lib.histogramdd(
        x.reshape(3, 3), 2, weight=lib.ones(3, 1)),
}


def _raised(library, call):
    data = library.tensor([1.0, 2.0, 1.0, 4.0, 2.5, 0.0, 5.0, -1.0, 6.0])
    try:
        call(library, data)
    except Exception as error:  # noqa: BLE001  (the class itself is what is compared)
        return type(error).__name__, str(error)
    return None


def test_bad_input_raises_pytorchs_errors():
    outcomes = {name: (_raised(torch, call), _raised(ember, call))
                for name, call in ERRORS.items()}
    assert {name: pair for name, pair in outcomes.items() if pair[0] != pair[1]} == {}


def test_decreasing_edges_are_refused():
    # PyTorch counts into undefined bins here; ember says what is wrong.
    with pytest.raises(RuntimeError, match="bin edges must be increasing"):
        ember.histogram(ember.tensor([1.0, 2.0]), ember.tensor([0.0, 3.0, 2.0]))
