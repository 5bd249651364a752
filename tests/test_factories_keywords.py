"""Factories and ``Tensor.new_*`` take their arguments by every name PyTorch accepts.

Each case is one call written as a script would write it, run on PyTorch and on ember;
shape, dtype and (where the factory is not random or uninitialized) values must agree.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

# name -> (call, whether its values are deterministic)
CASES = {
    "zeros(size=)": (lambda lib, t: lib.zeros(size=(2, 3)), True),
    "zeros(size=list)": (lambda lib, t: lib.zeros(size=[2, 3]), True),
    "zeros(size=Size)": (lambda lib, t: lib.zeros(size=t.shape), True),
    "zeros(size=, dtype=)": (lambda lib, t: lib.zeros(size=(2,), dtype=lib.int64), True),
    "ones(size=)": (lambda lib, t: lib.ones(size=(2,)), True),
    "empty(size=)": (lambda lib, t: lib.empty(size=(2, 3)), False),
    "empty(size=, pin_memory=)": (lambda lib, t: lib.empty(size=(2,), pin_memory=False), False),
    "full(size=, fill_value=)": (lambda lib, t: lib.full(size=(2,), fill_value=3.0), True),
    "full(int fill)": (lambda lib, t: lib.full((2,), 3), True),
    "rand(size=)": (lambda lib, t: lib.rand(size=(2, 3)), False),
    "randn(size=)": (lambda lib, t: lib.randn(size=(2, 3)), False),
    "randint(high=, size=)": (lambda lib, t: lib.randint(high=5, size=(3,)), False),
    "randint(low=, high=, size=)": (lambda lib, t: lib.randint(low=1, high=5, size=(3,)), False),
    "arange(end=)": (lambda lib, t: lib.arange(end=5), True),
    "arange(start=, end=, step=)": (lambda lib, t: lib.arange(start=1, end=6, step=2), True),
    "linspace(start=, end=, steps=)": (lambda lib, t: lib.linspace(start=0, end=1, steps=5), True),
    "logspace(..., base=)": (
        lambda lib, t: lib.logspace(start=0, end=2, steps=3, base=2.0), True),
    "eye(n=, m=)": (lambda lib, t: lib.eye(n=3, m=2), True),
    "tensor(data=)": (lambda lib, t: lib.tensor(data=[1.0, 2.0]), True),
    "as_tensor(data=)": (lambda lib, t: lib.as_tensor(data=[1.0, 2.0]), True),
    "scalar_tensor(s=)": (lambda lib, t: lib.scalar_tensor(s=2.0), True),
    "zeros_like(input=)": (lambda lib, t: lib.zeros_like(input=t), True),
    "ones_like(input=, pin_memory=)": (
        lambda lib, t: lib.ones_like(input=t, pin_memory=False), True),
    "empty_like(input=)": (lambda lib, t: lib.empty_like(input=t), False),
    "full_like(input=, fill_value=)": (lambda lib, t: lib.full_like(input=t, fill_value=2.0), True),
    "rand_like(input=)": (lambda lib, t: lib.rand_like(input=t), False),
    "randn_like(input=)": (lambda lib, t: lib.randn_like(input=t), False),
    "randint_like(input=, low=, high=)": (
        lambda lib, t: lib.randint_like(input=t, low=1, high=5), False),
    "empty_strided(size=, stride=)": (
        lambda lib, t: lib.empty_strided(size=(2, 3), stride=(3, 1)), False),
    "empty_strided(transposed)": (lambda lib, t: lib.empty_strided((2, 3), (1, 2)), False),
    "range(start=, end=, step=)": (lambda lib, t: lib.range(start=0, end=3, step=1), True),
    "new_zeros(size=)": (lambda lib, t: t.new_zeros(size=(2,)), True),
    "new_zeros(varargs)": (lambda lib, t: t.new_zeros(2, 3), True),
    "new_zeros(list)": (lambda lib, t: t.new_zeros([2, 3]), True),
    "new_ones(size=, dtype=)": (lambda lib, t: t.new_ones(size=(2,), dtype=lib.int32), True),
    "new_empty(size=)": (lambda lib, t: t.new_empty(size=(2,)), False),
    "new_full(size=, fill_value=)": (lambda lib, t: t.new_full(size=(2,), fill_value=4.0), True),
    "new_full(fill_value= first)": (lambda lib, t: t.new_full(fill_value=1, size=(2,)), True),
    "new_tensor(data=)": (lambda lib, t: t.new_tensor(data=[1, 2]), True),
    "new_empty_strided(size=, stride=)": (
        lambda lib, t: t.new_empty_strided(size=(2, 3), stride=(3, 1)), False),
    "new_zeros(layout=, pin_memory=)": (
        lambda lib, t: t.new_zeros((2,), layout=None, pin_memory=False), True),
}


def _run(library, call):
    base = library.ones(2, 3, dtype=library.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch.range is deprecated
        return call(library, base)


def _disagreement(call, deterministic: bool) -> str | None:
    """How ember's answer differs from PyTorch's, or None when they agree."""
    expected = _run(torch, call)
    try:
        result = _run(ember, call)
    except (TypeError, AttributeError, RuntimeError) as error:  # a refused name or argument
        return f"{type(error).__name__}: {error}"
    described = [(tuple(t.shape), str(t.dtype).split(".")[-1], t.stride())
                 for t in (expected, result)]
    if described[0] != described[1]:
        return f"torch {described[0]}, ember {described[1]}"
    if deterministic and not np.array_equal(expected.numpy(), result.numpy()):
        return f"values: torch {expected.tolist()}, ember {result.tolist()}"
    return None


def test_factory_keywords_match_pytorch():
    disagreements = {name: _disagreement(*case) for name, case in CASES.items()}
    assert {name: text for name, text in disagreements.items() if text} == {}


ERROR_CASES = {
    "zeros(2, size=)": lambda lib, t: lib.zeros(2, size=(3,)),
    "zeros()": lambda lib, t: lib.zeros(),
    "zeros(size=int)": lambda lib, t: lib.zeros(size=3),
    "ones(size=None)": lambda lib, t: lib.ones(size=None),
    "new_zeros()": lambda lib, t: t.new_zeros(),
    "new_ones(2, size=)": lambda lib, t: t.new_ones(2, size=(3,)),
    "new_empty(size=int)": lambda lib, t: t.new_empty(size=3),
}


def _message(library, call) -> str:
    try:
        _run(library, call)
    except TypeError as error:
        return str(error)
    return "no TypeError"


def test_bad_size_arguments_raise_pytorchs_type_error():
    messages = {name: (_message(torch, call), _message(ember, call))
                for name, call in ERROR_CASES.items()}
    assert {name: pair for name, pair in messages.items() if pair[0] != pair[1]} == {}


def test_empty_strided_needs_one_stride_per_dimension():
    for library in (torch, ember):
        with pytest.raises(RuntimeError, match=re.escape(
                "dimensionality of sizes (2) must match dimensionality of strides (1)")):
            library.empty_strided((2, 3), (1,))


FACTORIES = ["zeros", "ones", "empty", "full", "rand", "randn", "randint", "arange", "linspace",
             "logspace", "eye", "tensor", "zeros_like", "ones_like", "empty_like", "full_like",
             "empty_strided", "randperm", "range", "tril_indices", "triu_indices"]
NEW_METHODS = ["new_zeros", "new_ones", "new_empty", "new_full", "new_tensor",
               "new_empty_strided"]


def _documented_names(function, name: str) -> list:
    """The argument names in the signature line of PyTorch's docstring for ``function``."""
    match = re.search(rf"^\s*{name}\((.*?)\)\s*->", function.__doc__, re.MULTILINE | re.DOTALL)
    names = [part.split("=")[0].strip().lstrip("*") for part in match.group(1).split(",")]
    return [name for name in names if name.isidentifier()]


def _not_accepted(name: str) -> list:
    torch_namespace, ember_namespace = (
        (torch.Tensor, ember.Tensor) if name.startswith("new_") else (torch, ember)
    )
    documented = _documented_names(getattr(torch_namespace, name), name)
    assert documented, name
    try:
        parameters = inspect.signature(getattr(ember_namespace, name)).parameters
    except AttributeError:
        return ["(no such function)"]
    return [argument for argument in documented if argument not in parameters]


def test_every_documented_argument_name_is_accepted():
    missing = {name: _not_accepted(name) for name in FACTORIES + NEW_METHODS}
    assert {name: names for name, names in missing.items() if names} == {}
