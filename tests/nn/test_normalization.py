"""Normalization layers against PyTorch: outputs and gradients in train and eval mode,
running statistics after several steps, state dicts, reprs and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests import devices
from tests.nn.layer_oracle import check_layer, copy_state


def _x(rng, *shape):
    return rng.standard_normal(shape) * 2 + 0.5


BATCH_NORMS = [
    (lambda lib: lib.nn.BatchNorm1d(3), (4, 3)),
    (lambda lib: lib.nn.BatchNorm1d(3, momentum=0.3), (2, 3, 4)),
    (lambda lib: lib.nn.BatchNorm1d(3, momentum=None), (5, 3)),
    (lambda lib: lib.nn.BatchNorm1d(3, affine=False, eps=1e-3), (4, 3, 2)),
    (lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False), (4, 3)),
    (lambda lib: lib.nn.BatchNorm1d(3, bias=False), (4, 3)),
    (lambda lib: lib.nn.BatchNorm2d(2), (2, 2, 3, 2)),
    (lambda lib: lib.nn.BatchNorm3d(2, momentum=None), (2, 2, 2, 1, 2)),
]


def _perturb(torch_module, ember_module):
    """Give both the same non-trivial affine parameters and running statistics."""
    with torch.no_grad():
        for name, tensor in torch_module.named_parameters():
            tensor.copy_(torch.linspace(0.5, 1.5, tensor.numel()).reshape(tensor.shape))
    copy_state(torch_module, ember_module)


@pytest.mark.parametrize("make,shape", BATCH_NORMS)
def test_batch_norm_train_steps_match_torch(make, shape):
    rng = np.random.default_rng(0)
    torch_module, ember_module = check_layer(make, [_x(rng, *shape)], train=True)
    _perturb(torch_module, ember_module)
    for step in range(3):
        x = _x(rng, *shape)
        expected = torch_module(torch.tensor(x))
        actual = ember_module(ember.tensor(x, device=devices.DEVICE))
        np.testing.assert_allclose(actual.detach().cpu().numpy(), expected.detach().numpy(),
                                   atol=1e-9, rtol=1e-7)
    expected_state, actual_state = torch_module.state_dict(), ember_module.state_dict()
    assert list(actual_state) == list(expected_state)
    for key, value in expected_state.items():
        assert str(actual_state[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1], key
        np.testing.assert_allclose(actual_state[key].cpu().numpy(), value.numpy(), rtol=1e-9,
                                   err_msg=key)
    # eval mode normalizes with the running statistics (or the batch's when not tracked)
    check_layer(lambda lib: _loaded(lib, make, torch_module), [_x(rng, *shape)], train=False)


def _loaded(lib, make, torch_module):
    module = make(lib)
    if lib is torch:
        module.load_state_dict(torch_module.state_dict())
    return module


def test_batch_norm_buffers_and_repr():
    for lib in (torch, ember):
        layer = lib.nn.BatchNorm1d(4)
        assert layer.num_batches_tracked.dtype == lib.int64
        assert layer.running_var.tolist() == [1.0] * 4
    assert repr(ember.nn.BatchNorm1d(4)) == repr(torch.nn.BatchNorm1d(4))
    for make in (lambda lib: lib.nn.BatchNorm2d(3, momentum=None, affine=False),
                 lambda lib: lib.nn.BatchNorm3d(2, eps=1e-3, track_running_stats=False),
                 lambda lib: lib.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)):
        assert repr(make(ember)) == repr(make(torch))
        assert list(make(ember).state_dict()) == list(make(torch).state_dict())
    layer = ember.nn.BatchNorm1d(2)
    layer(ember.randn(4, 2))
    layer.reset_running_stats()
    assert layer.num_batches_tracked.item() == 0 and layer.running_mean.tolist() == [0.0, 0.0]


def test_batch_norm_running_stats_update_in_place_and_without_graph():
    ember.manual_seed(0)
    layer = ember.nn.BatchNorm1d(3)
    mean = layer.running_mean
    x = ember.randn(5, 3, requires_grad=True)
    layer(x).sum().backward()
    assert layer.running_mean is mean and not mean.requires_grad and mean.grad_fn is None
    np.testing.assert_allclose(mean.numpy(), 0.1 * x.detach().numpy().mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(),
                               0.9 + 0.1 * x.detach().numpy().var(0, ddof=1), rtol=1e-5)


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.nn.InstanceNorm1d(3), (2, 3, 4)),
    (lambda lib: lib.nn.InstanceNorm1d(3, affine=True), (3, 4)),
    (lambda lib: lib.nn.InstanceNorm2d(2, affine=True, track_running_stats=True), (2, 2, 2, 3)),
    (lambda lib: lib.nn.InstanceNorm3d(2), (2, 2, 1, 2, 2)),
])
def test_instance_norm_matches_torch(make, shape):
    rng = np.random.default_rng(0)
    torch_module, ember_module = check_layer(make, [_x(rng, *shape)], train=True)
    for key, value in torch_module.state_dict().items():
        np.testing.assert_allclose(ember_module.state_dict()[key].cpu().numpy(), value.numpy(),
                                   rtol=1e-9, err_msg=key)
    check_layer(make, [_x(rng, *shape)], train=False)


@pytest.mark.parametrize("make,shape", [
    (lambda lib: lib.nn.LayerNorm(4), (2, 3, 4)),
    (lambda lib: lib.nn.LayerNorm([3, 4], eps=1e-3), (2, 3, 4)),
    (lambda lib: lib.nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    (lambda lib: lib.nn.LayerNorm(4, bias=False), (3, 4)),
    (lambda lib: lib.nn.GroupNorm(2, 4), (2, 4, 3)),
    (lambda lib: lib.nn.GroupNorm(3, 3, affine=False), (2, 3, 2, 2)),
    (lambda lib: lib.nn.GroupNorm(1, 2, bias=False), (3, 2)),
    (lambda lib: lib.nn.RMSNorm(4), (2, 3, 4)),
    (lambda lib: lib.nn.RMSNorm([2, 3], eps=1e-4, elementwise_affine=False), (2, 2, 3)),
    (lambda lib: lib.nn.LocalResponseNorm(3), (2, 5, 3)),
    (lambda lib: lib.nn.LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0), (1, 3, 2, 2)),
])
def test_normalization_layers_match_torch(make, shape):
    rng = np.random.default_rng(0)
    torch_module, ember_module = check_layer(make, [_x(rng, *shape)])
    with torch.no_grad():
        for tensor in torch_module.parameters():
            tensor.copy_(torch.linspace(0.5, 1.5, tensor.numel()).reshape(tensor.shape))
    check_layer(lambda lib: _loaded(lib, make, torch_module), [_x(rng, *shape)])
    assert repr(ember_module) == repr(torch_module)
    assert list(ember_module.state_dict()) == list(torch_module.state_dict())


def test_default_initialization():
    layer = ember.nn.LayerNorm((2, 3))
    assert layer.weight.shape == (2, 3) and layer.weight.tolist() == [[1.0] * 3] * 2
    assert layer.bias.tolist() == [[0.0] * 3] * 2
    group = ember.nn.GroupNorm(2, 4)
    assert group.weight.tolist() == [1.0] * 4 and group.bias.tolist() == [0.0] * 4
    assert ember.nn.BatchNorm2d(3).weight.requires_grad


def test_layer_norm_double_backward_through_module():
    ember.manual_seed(0)
    x = ember.randn(2, 4, dtype=ember.float64, requires_grad=True)
    layer = ember.nn.LayerNorm(4).double()
    assert ember.autograd.gradgradcheck(lambda x: layer(x), (x,))
    batch = ember.nn.BatchNorm1d(4).double()
    assert ember.autograd.gradgradcheck(lambda x: batch(x), (ember.randn(
        3, 4, dtype=ember.float64, requires_grad=True),))


def _raises_like_torch(function):
    with pytest.raises(Exception) as expected:
        function(torch)
    with pytest.raises(type(expected.value)) as actual:
        function(ember)
    return str(expected.value), str(actual.value)


@pytest.mark.parametrize("function", [
    lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(2, 3, 4, 5)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(1, 3)),
    lambda lib: lib.nn.BatchNorm1d(3)(lib.ones(4, 2)),
    lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4)),
    lambda lib: lib.nn.BatchNorm3d(3)(lib.ones(2, 3, 4, 4)),
    lambda lib: lib.nn.GroupNorm(3, 4),
    lambda lib: lib.nn.GroupNorm(2, 4)(lib.ones(2, 6, 3)),
    lambda lib: lib.nn.LayerNorm(3)(lib.ones(2, 4)),
    lambda lib: lib.nn.InstanceNorm1d(3, affine=True)(lib.ones(2, 4, 5)),
    lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)),
    lambda lib: lib.nn.InstanceNorm2d(3)(lib.ones(3, 3)),
])
def test_layer_errors_match_torch(function):
    expected, actual = _raises_like_torch(function)
    if "expected" in expected and "D input" in expected or "one value" in expected:
        assert actual == expected


def test_batch_norm_messages():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        ember.nn.BatchNorm1d(3)(ember.ones(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        ember.nn.BatchNorm2d(3)(ember.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        ember.nn.BatchNorm1d(3).eval()(ember.ones(2, 4))
