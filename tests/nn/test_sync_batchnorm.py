"""SyncBatchNorm against PyTorch: on one process it is BatchNorm (outputs, gradients, running
statistics), ``convert_sync_batchnorm`` keeps every tensor and flag, bad inputs raise what
PyTorch raises; the arithmetic of the distributed step checked in one process, and on 2 and
3 MPI ranks against one process with the whole batch."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import ember
from ember.nn._functional.sync_batch_norm import sync_batch_norm
from tests import devices
from tests.distributed.test_mpi import mpirun
from tests.nn.layer_oracle import check_layer, copy_state

torch.set_num_threads(1)


def _x(rng, *shape):
    return rng.standard_normal(shape) * 2 + 0.5


SYNC_BATCH_NORMS = [
    (lambda lib: lib.nn.SyncBatchNorm(3), (4, 3)),
    (lambda lib: lib.nn.SyncBatchNorm(3, momentum=0.3), (2, 3, 4)),
    (lambda lib: lib.nn.SyncBatchNorm(2, momentum=None), (3, 2, 2, 3)),
    (lambda lib: lib.nn.SyncBatchNorm(2, affine=False, eps=1e-3), (2, 2, 2, 1, 3)),
    (lambda lib: lib.nn.SyncBatchNorm(3, track_running_stats=False), (4, 3, 2)),
    (lambda lib: lib.nn.SyncBatchNorm(3, bias=False), (4, 3)),
    # any rank from 2 up, where BatchNorm1d/2d/3d each take their own
    (lambda lib: lib.nn.SyncBatchNorm(2), (2, 2, 1, 2, 2, 2)),
]


def _same_state(torch_module, ember_module, rtol: float = 1e-9) -> None:
    expected, actual = torch_module.state_dict(), ember_module.state_dict()
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert str(actual[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1], key
        np.testing.assert_allclose(actual[key].cpu().numpy(), value.numpy(), rtol=rtol,
                                   atol=rtol * 1e-3, err_msg=key)


@pytest.mark.parametrize("make,shape", SYNC_BATCH_NORMS)
def test_one_process_matches_torch_in_training_and_eval(make, shape):
    rng = np.random.default_rng(0)
    torch_module, ember_module = check_layer(make, [_x(rng, *shape)], train=True)
    with torch.no_grad():
        for tensor in torch_module.parameters():
            tensor.copy_(torch.linspace(0.5, 1.5, tensor.numel()).reshape(tensor.shape))
    copy_state(torch_module, ember_module)
    for _ in range(3):
        x = _x(rng, *shape)
        expected = torch_module(torch.tensor(x))
        actual = ember_module(ember.tensor(x, device=devices.DEVICE))
        np.testing.assert_allclose(actual.detach().cpu().numpy(), expected.detach().numpy(),
                                   atol=1e-9, rtol=1e-7)
    _same_state(torch_module, ember_module)

    def loaded(lib):
        module = make(lib)
        if lib is torch:
            module.load_state_dict(torch_module.state_dict())
        return module

    check_layer(loaded, [_x(rng, *shape)], train=False)


def test_one_process_float32_and_dtypes():
    rng = np.random.default_rng(1)
    x = _x(rng, 5, 3, 4).astype(np.float32)
    torch_module, ember_module = torch.nn.SyncBatchNorm(3), ember.nn.SyncBatchNorm(3)
    expected = torch_module(torch.tensor(x))
    actual = ember_module(ember.tensor(x))
    assert actual.dtype == ember.float32
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), atol=1e-5)
    assert ember_module.running_var.dtype == ember.float32
    _same_state(torch_module, ember_module, rtol=1e-5)


def test_constructor_signature_repr_and_process_group():
    for name in ("__init__", "convert_sync_batchnorm"):
        expected, actual = (
            [(p.name, p.kind, p.default)
             for p in inspect.signature(getattr(lib.nn.SyncBatchNorm, name)).parameters.values()]
            for lib in (torch, ember)
        )
        assert actual == expected, name
    for lib in (torch, ember):
        layer = lib.nn.SyncBatchNorm(4, momentum=None, affine=False, process_group="group")
        assert layer.process_group == "group"
        assert layer.num_batches_tracked.dtype == lib.int64
    assert repr(ember.nn.SyncBatchNorm(4, eps=1e-3, bias=False)) == repr(
        torch.nn.SyncBatchNorm(4, eps=1e-3, bias=False))
    assert ember.nn.modules.batchnorm.SyncBatchNorm is ember.nn.SyncBatchNorm


def _raises_like_torch(function):
    with pytest.raises(Exception) as expected:
        function(torch)
    with pytest.raises(type(expected.value)) as actual:
        function(ember)
    return str(expected.value), str(actual.value)


@pytest.mark.parametrize("function", [
    lambda lib: lib.nn.SyncBatchNorm(3)(lib.ones(3)),
    lambda lib: lib.nn.SyncBatchNorm(0)(lib.ones(4, 0, 3)),
    lambda lib: lib.nn.SyncBatchNorm(3)(lib.ones(1, 3)),
    lambda lib: lib.nn.SyncBatchNorm(3)(lib.ones(2, 4)),
    lambda lib: lib.nn.SyncBatchNorm(3).eval()(lib.ones(2, 4, 5)),
    lambda lib: lib.nn.SyncBatchNorm(3)(lib.ones(2, 3, dtype=lib.float64)),
    lambda lib: lib.nn.SyncBatchNorm(3)(lib.ones(2, 3, dtype=lib.int64)),
    lambda lib: lib.nn.SyncBatchNorm.convert_sync_batchnorm(5),
])
def test_errors_match_torch(function):
    expected, actual = _raises_like_torch(function)
    if "channels should be non-zero" in expected or "2D input" in expected:
        assert actual == expected


def _model(lib):
    inner = lib.nn.Sequential(lib.nn.BatchNorm1d(4, momentum=None, affine=False),
                              lib.nn.InstanceNorm1d(4), lib.nn.BatchNorm3d(4, eps=1e-3))
    model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 1), lib.nn.BatchNorm2d(4, bias=False),
                              inner, lib.nn.SyncBatchNorm(4, track_running_stats=False))
    model[1].eval()
    return model.double()


def test_convert_sync_batchnorm_keeps_tensors_flags_and_keys():
    rng = np.random.default_rng(2)
    torch.manual_seed(0)
    torch_model, ember_model = _model(torch), _model(ember)
    with torch.no_grad():
        for tensor in torch_model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(tensor.shape))))
            else:
                tensor.fill_(5)
    copy_state(torch_model, ember_model)
    before = {name: module for name, module in ember_model.named_modules()}
    tensors = dict(ember_model.state_dict(keep_vars=True))
    converted = ember.nn.SyncBatchNorm.convert_sync_batchnorm(ember_model, process_group="pg")
    expected = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch_model, process_group="pg")
    assert repr(converted) == repr(expected)
    assert converted is ember_model  # a container is changed in place, as in PyTorch
    for (name, module), (_, twin) in zip(converted.named_modules(), expected.named_modules()):
        assert type(module).__name__ == type(twin).__name__, name
        assert module.training == twin.training, name
        if isinstance(twin, torch.nn.SyncBatchNorm):
            assert module is not before[name] and module.process_group == "pg"
        else:
            assert module is before[name]
    # the same tensor objects under the same keys
    assert list(converted.state_dict()) == list(expected.state_dict()) == list(tensors)
    for key, value in converted.state_dict(keep_vars=True).items():
        assert value is tensors[key], key
    assert converted[1].bias is None and converted[2][0].weight is None
    x = rng.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(converted[:2](ember.tensor(x)).detach().numpy(),
                               expected[:2](torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_convert_a_bare_layer_and_subclasses():
    layer = ember.nn.BatchNorm1d(3).double()
    layer.running_mean.fill_(2.0)
    converted = ember.nn.SyncBatchNorm.convert_sync_batchnorm(layer)
    assert type(converted) is ember.nn.SyncBatchNorm and converted is not layer
    assert converted.weight is layer.weight and converted.running_mean is layer.running_mean
    assert converted.running_mean.dtype == ember.float64
    again = ember.nn.SyncBatchNorm.convert_sync_batchnorm(converted)
    assert type(again) is ember.nn.SyncBatchNorm and again is not converted

    class Mine(ember.nn.SyncBatchNorm):
        pass

    assert type(Mine.convert_sync_batchnorm(ember.nn.BatchNorm2d(2))) is Mine
    linear = ember.nn.Linear(2, 2)
    assert ember.nn.SyncBatchNorm.convert_sync_batchnorm(linear) is linear


def test_state_dicts_move_between_batchnorm_and_syncbatchnorm():
    rng = np.random.default_rng(3)
    source = ember.nn.BatchNorm2d(3)
    source(ember.tensor(_x(rng, 4, 3, 2, 2), dtype=ember.float32))
    target = ember.nn.SyncBatchNorm(3)
    target.load_state_dict(source.state_dict())
    back = ember.nn.BatchNorm2d(3)
    back.load_state_dict(target.state_dict())
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[key].numpy(), value.numpy())
    assert int(back.num_batches_tracked) == 1


@pytest.mark.parametrize("shape,momentum", [((6, 3), 0.1), ((4, 2, 3, 2), 0.3), ((3, 2, 5), 0.5)])
def test_distributed_step_arithmetic_matches_torch_batch_norm(shape, momentum):
    """The composed step SyncBatchNorm runs across ranks, here on one process (a sum over one
    rank): values, gradients of a random cotangent, running statistics, and gradcheck."""
    rng = np.random.default_rng(4)
    x, weight, bias = _x(rng, *shape) * 3, rng.uniform(0.5, 1.5, shape[1]), _x(rng, shape[1])
    cotangent = rng.standard_normal(shape)
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    ember_inputs = [ember.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    torch_running = [torch.tensor(rng.standard_normal(shape[1])),
                     torch.tensor(rng.uniform(1, 2, shape[1]))]
    ember_running = [ember.tensor(t.numpy().copy()) for t in torch_running]
    expected = torch.nn.functional.batch_norm(torch_inputs[0], *torch_running, *torch_inputs[1:],
                                              True, momentum, 1e-5)
    actual = sync_batch_norm(ember_inputs[0], *ember_running, *ember_inputs[1:], momentum, 1e-5)
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    for a, e in zip(ember_running, torch_running):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-12, atol=1e-14)
    torch_grads = torch.autograd.grad(expected, torch_inputs, torch.tensor(cotangent))
    ember_grads = ember.autograd.grad(actual, ember_inputs, ember.tensor(cotangent))
    for a, e in zip(ember_grads, torch_grads):
        np.testing.assert_allclose(a.numpy(), e.numpy(), atol=1e-11)

    def step(x, weight, bias):
        return sync_batch_norm(x, None, None, weight, bias, momentum, 1e-5)

    assert ember.autograd.gradcheck(step, tuple(ember_inputs))
    assert ember.autograd.gradgradcheck(step, tuple(ember_inputs))


def test_distributed_step_refuses_what_batch_norm_refuses():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        sync_batch_norm(ember.ones(1, 3), None, None, None, None, 0.1, 1e-5)
    with pytest.raises(RuntimeError, match="weight should contain 3 elements not 2"):
        sync_batch_norm(ember.ones(4, 3), None, None, ember.ones(2), None, 0.1, 1e-5)
    with pytest.raises(ValueError, match="eps must be positive"):
        sync_batch_norm(ember.ones(4, 3), None, None, None, None, 0.1, 0.0)


@pytest.mark.parametrize("processes", [2, 3])
def test_ranks_with_shares_of_a_batch_match_one_process_with_all_of_it(processes):
    result = mpirun("mpi_sync_batchnorm.py", processes)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("sync batchnorm OK") == processes
