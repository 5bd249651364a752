"""How the distribution tests draw their parameters and values: each helper returns a
function of a NumPy generator, so that a case draws its arrays from its own seed."""

from __future__ import annotations


def real(*shape):
    return lambda rng: rng.uniform(-2.0, 2.0, shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def unit(*shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


def between(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape)


def indices(high, *shape):
    """Integers in [0, high): class indices, counts."""
    return lambda rng: rng.integers(0, high, shape)


def inputs(*specs):
    return lambda rng: [spec(rng) for spec in specs]


def D(lib):
    return lib.distributions
