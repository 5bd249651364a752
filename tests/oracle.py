"""The oracle: run one op case on PyTorch and on ember and compare everything.

A case is a lambda taking the library (``torch`` or ``ember``) and the input tensors;
it runs unchanged on both. ``check_case`` compares forward values and dtypes,
gradients of a random cotangent for every float input, then runs ember's
``gradcheck`` (and ``gradgradcheck``) and a float32 forward pass.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

import ember
from tests import devices

torch.set_num_threads(1)


@dataclass
class Case:
    """One op case: ``fn(lib, *inputs)`` with inputs drawn from ``shapes`` over ``domain``.

    ``inputs`` may instead be a function ``rng -> list of NumPy arrays`` for inputs that
    need a special form (integer indices, positive-definite matrices ...); only float
    arrays require grad.
    """

    name: str
    fn: Callable
    shapes: list = field(default_factory=list)
    domain: tuple = (-2.0, 2.0)
    inputs: Callable | None = None
    grad: bool = True
    gradgrad: bool = True
    float32: bool = True
    atol: float = 1e-10
    rtol: float = 1e-7
    check_dtype: bool = True


@dataclass
class ErrorCase:
    """``fn(lib)`` must raise in PyTorch and raise the same exception class in ember."""

    name: str
    fn: Callable


def _seed(name: str) -> int:
    return zlib.crc32(name.encode())


def make_arrays(case: Case) -> list:
    rng = np.random.default_rng(_seed(case.name))
    if case.inputs is not None:
        return [np.asarray(a) for a in case.inputs(rng)]
    low, high = case.domain
    return [rng.uniform(low, high, size=shape).astype(np.float64) for shape in case.shapes]


def _tensors(lib, arrays, requires_grad: bool, dtype=None):
    out = []
    for array in arrays:
        is_float = array.dtype.kind == "f"
        data = array.astype(dtype) if (dtype is not None and is_float) else array
        t = lib.tensor(data.copy(), device=devices.DEVICE if lib is ember else None)
        if requires_grad and is_float:
            t.requires_grad_(True)
        out.append(t)
    return out


def _flatten(result) -> list:
    if isinstance(result, (tuple, list)):
        items = []
        for item in result:
            items.extend(_flatten(item))
        return items
    return [result]


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy(force=True)
    if isinstance(value, ember.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _dtype_name(value) -> str:
    return str(value.dtype).split(".")[-1]


def assert_close(actual, expected, atol, rtol, what: str) -> None:
    actual, expected = _to_numpy(actual), _to_numpy(expected)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != torch's {expected.shape}"
    )
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True,
                                   err_msg=what)


def check_case(case: Case) -> None:
    arrays = make_arrays(case)
    torch_inputs = _tensors(torch, arrays, case.grad)
    ember_inputs = _tensors(ember, arrays, case.grad)
    expected = _flatten(case.fn(torch, *torch_inputs))
    with ember.device(devices.DEVICE):
        actual = _flatten(case.fn(ember, *ember_inputs))
        _check_outputs(case, actual, expected, torch_inputs, ember_inputs, arrays)


def _check_outputs(case, actual, expected, torch_inputs, ember_inputs, arrays) -> None:
    assert len(actual) == len(expected), (
        f"{case.name}: {len(actual)} outputs, torch has {len(expected)}"
    )
    for index, (a, e) in enumerate(zip(actual, expected)):
        if isinstance(e, torch.Tensor):
            assert isinstance(a, ember.Tensor), f"{case.name}: output {index} is {type(a)}"
            if case.check_dtype:
                assert _dtype_name(a) == _dtype_name(e), (
                    f"{case.name}: dtype {a.dtype} != {e.dtype}"
                )
        if isinstance(a, ember.Tensor):
            assert a.device.type == devices.DEVICE, f"{case.name}: output {index} on {a.device}"
        assert_close(a, e, case.atol, case.rtol, f"{case.name} forward output {index}")

    if case.grad:
        _check_gradients(case, torch_inputs, ember_inputs, expected, actual)
    if case.float32:
        t32 = _flatten(case.fn(torch, *_tensors(torch, arrays, False, np.float32)))
        e32 = _flatten(case.fn(ember, *_tensors(ember, arrays, False, np.float32)))
        for index, (a, e) in enumerate(zip(e32, t32)):
            if isinstance(e, torch.Tensor) and case.check_dtype:
                assert _dtype_name(a) == _dtype_name(e), (
                    f"{case.name} float32: dtype {a.dtype} != {e.dtype}"
                )
            assert_close(a, e, 1e-4, 1e-4, f"{case.name} float32 output {index}")


def _check_gradients(case, torch_inputs, ember_inputs, expected, actual) -> None:
    rng = np.random.default_rng(_seed(case.name) + 1)
    differentiable = [
        i for i, e in enumerate(expected)
        if isinstance(e, torch.Tensor) and e.requires_grad and e.dtype.is_floating_point
    ]
    wrt = [i for i, t in enumerate(torch_inputs) if t.requires_grad]
    if not differentiable or not wrt:
        return
    cotangents = [rng.standard_normal(expected[i].shape) for i in differentiable]
    torch_grads = torch.autograd.grad(
        [expected[i] for i in differentiable],
        [torch_inputs[i] for i in wrt],
        [torch.tensor(c, dtype=expected[i].dtype) for c, i in zip(cotangents, differentiable)],
        allow_unused=True,
    )
    for i in differentiable:
        assert actual[i].requires_grad, f"{case.name}: output {i} does not require grad"
    ember_grads = ember.autograd.grad(
        [actual[i] for i in differentiable],
        [ember_inputs[i] for i in wrt],
        [ember.tensor(c, dtype=actual[i].dtype) for c, i in zip(cotangents, differentiable)],
        allow_unused=True,
    )
    for position, (a, e) in enumerate(zip(ember_grads, torch_grads)):
        shape = tuple(torch_inputs[wrt[position]].shape)
        e = np.zeros(shape) if e is None else e
        a = np.zeros(shape) if a is None else a
        assert_close(a, e, max(case.atol, 1e-9), max(case.rtol, 1e-6),
                     f"{case.name} grad of input {wrt[position]}")

    def function(*xs):
        outputs = _flatten(case.fn(ember, *xs))
        return tuple(outputs[i] for i in differentiable)

    fresh = _tensors(ember, [t.detach().numpy() for t in torch_inputs], True)
    assert ember.autograd.gradcheck(function, tuple(fresh), eps=1e-6, atol=1e-5, rtol=1e-3)
    if case.gradgrad:
        assert ember.autograd.gradgradcheck(function, tuple(fresh), eps=1e-6, atol=1e-5, rtol=1e-3)


def check_error(case: ErrorCase) -> None:
    with pytest.raises(Exception) as torch_error:
        case.fn(torch)
    with pytest.raises(Exception) as ember_error, ember.device(devices.DEVICE):
        # reading the results raises what a GPU checked without waiting, as CUDA does
        [_to_numpy(result) for result in _flatten(case.fn(ember))]
    expected = type(torch_error.value)
    assert isinstance(ember_error.value, expected), (
        f"{case.name}: ember raised {type(ember_error.value).__name__}({ember_error.value}), "
        f"torch raised {expected.__name__}"
    )
