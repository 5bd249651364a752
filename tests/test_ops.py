"""Every op case of ``tests/cases/*.py`` against PyTorch (see ``tests/oracle.py``)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
import torch

import ember
from tests import cases
from tests.oracle import check_case, check_error

_modules = [importlib.import_module(f"tests.cases.{m.name}")
            for m in pkgutil.iter_modules(cases.__path__)]
CASES = [case for module in _modules for case in getattr(module, "CASES", [])]
ERRORS = [case for module in _modules for case in getattr(module, "ERRORS", [])]


def test_case_names_are_unique():
    names = [case.name for case in CASES + ERRORS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
def test_bad_input_raises_like_torch(case):
    check_error(case)


@pytest.mark.parametrize("shapes", [
    [(2, 3), (3, 4)], [(2, 3, 1), (5, 3, 4)], [(2, 3), (2, 4), (5, 3)], [(4, 3), (2, 1, 5)],
    [(3,), (1, 2, 1), (4, 1, 2)],
])
def test_a_broadcast_error_names_the_clash_torch_names(shapes):
    with pytest.raises(RuntimeError) as expected:
        torch.broadcast_tensors(*[torch.ones(shape) for shape in shapes])
    with pytest.raises(RuntimeError) as got:
        ember.broadcast_tensors(*[ember.ones(shape) for shape in shapes])
    assert str(got.value).split(": ", 1)[1] == str(expected.value)
