"""nn.init against PyTorch's formulas: gains, bounds, moments, structure, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn


@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
     ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)],
)
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param)
    )


def test_calculate_gain_rejects_unknown():
    for lib in (torch, ember):
        with pytest.raises(ValueError):
            lib.nn.init.calculate_gain("swish")


def _std(tensor):
    return float(np.std(tensor.detach().numpy()))


@pytest.mark.parametrize("shape", [(256, 128), (64, 32, 3, 3)])
def test_xavier_and_kaiming_bounds_and_spread(shape):
    ember.manual_seed(0)
    fan_in = shape[1] * (math.prod(shape[2:]) if len(shape) > 2 else 1)
    fan_out = shape[0] * (math.prod(shape[2:]) if len(shape) > 2 else 1)
    w = ember.empty(*shape)
    bound = math.sqrt(6 / (fan_in + fan_out))
    nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= bound
    assert _std(w) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    nn.init.xavier_normal_(w, gain=2.0)
    assert _std(w) == pytest.approx(2 * math.sqrt(2 / (fan_in + fan_out)), rel=0.05)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = math.sqrt(6 / ((1 + 5) * fan_in))
    assert np.abs(w.numpy()).max() <= bound
    assert _std(w) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert _std(w) == pytest.approx(math.sqrt(2 / fan_out), rel=0.05)


def test_uniform_normal_constant_fills():
    w = ember.empty(1000)
    nn.init.uniform_(w, -0.5, 2.0)
    assert w.min().item() >= -0.5 and w.max().item() <= 2.0
    nn.init.normal_(w, 3.0, 0.1)
    assert float(w.mean()) == pytest.approx(3.0, abs=0.02)
    nn.init.constant_(w, 0.25)
    assert set(w.tolist()) == {0.25}
    nn.init.zeros_(w)
    assert w.abs().sum().item() == 0
    nn.init.ones_(w)
    assert w.sum().item() == 1000


def test_trunc_normal_stays_in_bounds():
    w = ember.empty(5000)
    nn.init.trunc_normal_(w, mean=0.0, std=1.0, a=-0.5, b=1.0)
    values = w.numpy()
    assert values.min() >= -0.5 and values.max() <= 1.0 and values.std() > 0.2


def test_eye_dirac_orthogonal_structure_matches_torch():
    for shape in [(3, 5), (5, 3)]:
        e, t = ember.empty(*shape), torch.empty(*shape)
        np.testing.assert_array_equal(nn.init.eye_(e).numpy(), torch.nn.init.eye_(t).numpy())
    e, t = ember.empty(4, 2, 3, 3), torch.empty(4, 2, 3, 3)
    np.testing.assert_array_equal(nn.init.dirac_(e, groups=2).numpy(),
                                  torch.nn.init.dirac_(t, groups=2).numpy())
    for shape in [(6, 4), (4, 6), (8, 2, 2)]:
        w = nn.init.orthogonal_(ember.empty(*shape), gain=1.5).numpy().reshape(shape[0], -1)
        small = w @ w.T if shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(small, 2.25 * np.eye(small.shape[0]), atol=1e-5)


def test_init_errors_match_torch():
    for lib in (torch, ember):
        with pytest.raises(ValueError):
            lib.nn.init.xavier_uniform_(lib.empty(3))
        with pytest.raises(ValueError):
            lib.nn.init.eye_(lib.empty(2, 2, 2))
        with pytest.raises(ValueError):
            lib.nn.init.kaiming_uniform_(lib.empty(3, 3), mode="fan_middle")


def test_init_runs_without_recording_and_keeps_parameters():
    layer = nn.Linear(4, 3)
    weight = layer.weight
    nn.init.xavier_uniform_(layer.weight)
    assert layer.weight is weight and layer.weight.requires_grad and layer.weight.grad_fn is None
    bound = 1 / math.sqrt(4)
    assert np.abs(nn.Linear(4, 3).bias.detach().numpy()).max() <= bound
