"""``Module.to``, ``.cuda()`` and ``.cpu()``: parameters and buffers move in place.

As in PyTorch, a parameter keeps its identity (``param.data = param.data.to(device)``), so
an optimizer built before the move still updates it, and its ``.grad`` moves with it.
Tests marked ``cuda`` run with ``python -m pytest --device fake-cuda`` (or on a GPU).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests import devices

nn = ember.nn
cuda = pytest.mark.cuda
no_cuda = pytest.mark.skipif(devices.CUDA, reason="this run has CUDA")


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _snapshot(model) -> dict:
    return {name: tensor.detach().cpu().numpy().copy()
            for name, tensor in model.state_dict().items()}


def _train_step(model, optimizer, device) -> None:
    inputs = ember.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=ember.float32,
                          device=device)
    optimizer.zero_grad()
    model(inputs).pow(2).sum().backward()
    optimizer.step()


@cuda
@pytest.mark.parametrize("move", ["cuda", "to", "to_device_object"])
def test_moving_to_cuda_keeps_parameters_and_values(move):
    model = _model()
    parameters = list(model.parameters())
    before = _snapshot(model)
    moved = {"cuda": lambda: model.cuda(), "to": lambda: model.to("cuda"),
             "to_device_object": lambda: model.to(ember.device("cuda", 0))}[move]()
    assert moved is model
    assert all(a is b for a, b in zip(model.parameters(), parameters))
    assert all(p.is_cuda for p in model.parameters())
    assert all(b.is_cuda for b in model.buffers())
    for name, value in _snapshot(model).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert model[1].num_batches_tracked.dtype == ember.int64  # only floats change dtype


@cuda
def test_an_optimizer_built_before_the_move_steps_the_moved_parameters():
    cpu_model, cuda_model = _model(), _model()
    cpu_step = ember.optim.Adam(cpu_model.parameters(), lr=0.1)
    cuda_step = ember.optim.Adam(cuda_model.parameters(), lr=0.1)
    cuda_model.cuda()
    for _ in range(2):
        _train_step(cpu_model, cpu_step, "cpu")
        _train_step(cuda_model, cuda_step, "cuda")
    assert all(p.is_cuda for group in cuda_step.param_groups for p in group["params"])
    expected, actual = _snapshot(cpu_model), _snapshot(cuda_model)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, rtol=1e-5, atol=1e-6, err_msg=name)


@cuda
def test_gradients_move_with_their_parameters():
    model = _model()
    model(ember.ones(2, 3)).sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    values = {name: g.numpy().copy() for name, g in grads.items()}
    model.cuda()
    for name, p in model.named_parameters():
        assert p.grad is grads[name] and p.grad.is_cuda, name
        np.testing.assert_array_equal(p.grad.cpu().numpy(), values[name], err_msg=name)
    model.cpu()
    assert all(not p.grad.is_cuda for p in model.parameters())
    assert all(p.grad is grads[name] for name, p in model.named_parameters())


@cuda
def test_to_with_a_dtype_and_a_tensor_moves_and_casts():
    model = _model()
    weight = model[0].weight
    model.to("cuda", ember.float64, non_blocking=True)
    assert model[0].weight is weight
    assert (weight.device.type, weight.dtype) == ("cuda", ember.float64)
    assert model[1].num_batches_tracked.dtype == ember.int64
    model.to(ember.zeros(1, dtype=ember.float32))  # a tensor: its device and dtype
    assert (weight.device.type, weight.dtype) == ("cpu", ember.float32)
    model.to(device="cuda", dtype=ember.float64).cpu()
    assert (weight.device.type, weight.dtype) == ("cpu", ember.float64)


@cuda
def test_a_moved_model_runs_on_the_device_and_back():
    model = _model().eval()
    inputs = ember.randn(4, 3)
    expected = model(inputs).detach().numpy()
    output = model.cuda()(inputs.cuda())
    assert output.is_cuda
    np.testing.assert_allclose(output.detach().cpu().numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(model.cpu()(inputs).detach().numpy(), expected, rtol=1e-6)


@no_cuda
def test_cuda_without_a_gpu_raises_runtime_error_like_torch():
    model = _model()
    weight = model[0].weight
    with pytest.raises(RuntimeError, match="no CUDA backend here"):
        model.cuda()
    with pytest.raises(RuntimeError, match="no CUDA backend here"):
        model.to("cuda")
    assert model[0].weight is weight and not weight.is_cuda


def test_cpu_moves_on_the_cpu_are_no_ops_that_keep_identity():
    model = _model()
    parameters, buffers = list(model.parameters()), list(model.buffers())
    arrays = [p._data for p in parameters]
    before = _snapshot(model)
    assert model.cpu() is model
    assert model.to("cpu") is model
    assert model.to(ember.device("cpu")) is model
    assert all(a is b for a, b in zip(model.parameters(), parameters))
    assert all(a is b for a, b in zip(model.buffers(), buffers))
    assert all(p._data is array for p, array in zip(parameters, arrays))  # no copy made
    for name, value in _snapshot(model).items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_to_accepts_torchs_argument_forms():
    model, reference = _model(), torch.nn.Linear(3, 4)
    for args, kwargs in [((ember.float64,), {}), (("cpu", ember.float32), {}),
                         ((), {"dtype": ember.float64}), ((), {"device": "cpu"}),
                         ((ember.zeros(1),), {}), ((ember.float32, True), {})]:
        assert model.to(*args, **kwargs) is model
    with pytest.raises(TypeError) as theirs:
        reference.to(torch.int64)
    with pytest.raises(TypeError, match="only accepts floating point or complex dtypes"):
        model.to(ember.int64)
    assert "only accepts floating point or complex dtypes" in str(theirs.value)
    assert model[0].weight.dtype == ember.float32


@cuda
def test_a_cpu_state_dict_loads_into_a_cuda_module():
    source, target = _model(), _model().cuda()
    with ember.no_grad():
        for p in source.parameters():
            p.add_(1.0)
    weight = target[0].weight
    target.load_state_dict(source.state_dict())
    assert target[0].weight is weight and weight.is_cuda
    expected = _snapshot(source)
    for name, value in _snapshot(target).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)
