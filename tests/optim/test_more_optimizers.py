"""ASGD, Rprop, Adafactor and Muon against PyTorch: step by step, state dicts and errors.

Each run starts from the same float64 weights in two parameter groups, minimizes the same
small non-linear loss with gradients from each framework's own autograd, and compares every
parameter with PyTorch's after every step.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember
import ember.optim
from tests.optim.test_optimizers import assert_state_dicts_match

torch.set_num_threads(1)

STEPS = 12

# Two groups: the first of 2-D and 3-D weights, the second of a 1-D and a 0-D one, so that
# Adafactor's factored and unfactored second moments both run. Muon takes only 2-D weights.
SHAPES = [[(3, 4), (2, 3, 4)], [(4,), ()]]
MUON_SHAPES = [[(3, 4), (6, 2)], [(4, 4)]]


def _initial_arrays(shapes, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape) for shape in group] for group in shapes]


def _make_params(lib, arrays):
    return [[lib.tensor(array.copy(), requires_grad=True) for array in group] for group in arrays]


def _loss(lib, groups):
    """A quadratic bowl plus a tanh coupling of every tensor (bounded below)."""
    total = 0
    for index, param in enumerate(p for group in groups for p in group):
        total = total + ((param - 0.3 * index) ** 2).sum() + lib.tanh(param * 1.7).sum()
    return total


def _optimizer(lib, name, params, kwargs, group_kwargs):
    groups = [{"params": params[0]}, {"params": params[1], **group_kwargs}]
    return getattr(lib.optim, name)(groups, **kwargs)


def _step(lib, optimizer, params, maximize):
    optimizer.zero_grad()
    loss = _loss(lib, params)
    (-loss if maximize else loss).backward()
    optimizer.step()


def _arrays(params) -> list:
    return [np.array(p.detach().numpy()) for group in params for p in group]


def _assert_close(actual, expected, atol, step):
    for index, (ours, theirs) in enumerate(zip(actual, expected)):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol,
                                   err_msg=f"parameter {index} after step {step}")


# (optimizer, keyword arguments, the second group's own arguments, tolerance). ember runs
# PyTorch's single-tensor arithmetic whatever ``foreach`` says; PyTorch's foreach ASGD
# recomputes eta in float32 tensor arithmetic, hence the looser tolerance of that case.
CONFIGS = [
    ("ASGD", {}, {}, 1e-12),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 4}, {"lr": 0.02}, 1e-12),
    ("ASGD", {"lr": 0.05, "t0": 0, "weight_decay": 0.1, "maximize": True, "foreach": True},
     {"lambd": 0.1, "t0": 6}, 1e-6),
    ("ASGD", {"lr": 0.03, "differentiable": False, "foreach": False}, {"alpha": 1.0}, 1e-12),
    ("Rprop", {}, {}, 1e-12),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.08)},
     {"lr": 0.2, "etas": (0.7, 1.1)}, 1e-12),
    ("Rprop", {"lr": 0.1, "maximize": True, "foreach": True}, {"step_sizes": (0.01, 0.05)},
     1e-12),
    ("Adafactor", {}, {}, 1e-10),
    ("Adafactor", {"lr": 0.1, "beta2_decay": -0.5, "d": 1.5, "weight_decay": 0.05},
     {"lr": 0.2, "eps": (1e-3, 1e-2)}, 1e-10),
    ("Adafactor", {"lr": 0.05, "eps": (1e-30, 0.5), "maximize": True, "foreach": True},
     {"d": 3.0, "weight_decay": 0.5}, 1e-10),
    ("Muon", {}, {}, 1e-9),
    ("Muon", {"lr": 0.05, "momentum": 0.8, "nesterov": False, "weight_decay": 0.2},
     {"ns_steps": 3, "adjust_lr_fn": "match_rms_adamw"}, 1e-9),
    ("Muon", {"lr": 0.02, "ns_coefficients": (2.0, -1.5, 0.5), "adjust_lr_fn": "original",
              "eps": 1e-3}, {"momentum": 0.3, "ns_steps": 7}, 1e-9),
]
CONFIG_IDS = [f"{name}-{index}" for index, (name, *_rest) in enumerate(CONFIGS)]


def _pair(name, kwargs, group_kwargs, seed=0):
    shapes = MUON_SHAPES if name == "Muon" else SHAPES
    arrays = _initial_arrays(shapes, seed)
    torch_params, ember_params = _make_params(torch, arrays), _make_params(ember, arrays)
    return (
        (_optimizer(torch, name, torch_params, kwargs, group_kwargs), torch_params),
        (_optimizer(ember, name, ember_params, kwargs, group_kwargs), ember_params),
    )


@pytest.mark.parametrize("name, kwargs, group_kwargs, atol", CONFIGS, ids=CONFIG_IDS)
def test_every_step_matches_torch(name, kwargs, group_kwargs, atol):
    maximize = kwargs.get("maximize", False)
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(
        name, kwargs, group_kwargs
    )
    start = _arrays(torch_params)
    for step in range(STEPS):
        _step(torch, torch_optimizer, torch_params, maximize)
        _step(ember, ember_optimizer, ember_params, maximize)
        _assert_close(_arrays(ember_params), _arrays(torch_params), atol, step)
    moved = max(np.abs(a - b).max() for a, b in zip(_arrays(torch_params), start))
    assert moved > 1e-2, "the run should move the weights"
    assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict(), atol)
    assert repr(ember_optimizer) == repr(torch_optimizer)


def _resumed_run(lib, name, kwargs, group_kwargs):
    """Five steps, then a fresh optimizer loaded from the state dict takes four more."""
    arrays = _initial_arrays(MUON_SHAPES if name == "Muon" else SHAPES, 1)
    params = _make_params(lib, arrays)
    optimizer = _optimizer(lib, name, params, kwargs, group_kwargs)
    for _ in range(5):
        _step(lib, optimizer, params, False)
    saved = copy.deepcopy(optimizer.state_dict())
    resumed_params = _make_params(lib, [[p.detach().numpy() for p in g] for g in params])
    resumed = _optimizer(lib, name, resumed_params, {"lr": 123.0}, {})  # overwritten by the load
    resumed.load_state_dict(saved)
    assert resumed.param_groups[1]["lr"] == optimizer.param_groups[1]["lr"]
    for _ in range(4):
        _step(lib, optimizer, params, False)
        _step(lib, resumed, resumed_params, False)
    return resumed, resumed_params, params


@pytest.mark.parametrize("name, kwargs, group_kwargs, atol",
                         [CONFIGS[1], CONFIGS[5], CONFIGS[8], CONFIGS[11]], ids=str)
def test_load_state_dict_resumes_the_run_as_torch(name, kwargs, group_kwargs, atol):
    """A fresh optimizer loaded with a state dict continues as PyTorch's does.

    The load casts floating state to the parameter's dtype except ``step`` (PyTorch's rule),
    so ASGD's float32 ``eta`` and ``mu`` become float64 and the resumed run parts from the
    uninterrupted one by float32 rounding, in both frameworks.
    """
    ours, our_params, our_uninterrupted = _resumed_run(ember, name, kwargs, group_kwargs)
    theirs, their_params, _unused = _resumed_run(torch, name, kwargs, group_kwargs)
    _assert_close(_arrays(our_params), _arrays(their_params), atol, "resumed")
    assert_state_dicts_match(ours.state_dict(), theirs.state_dict(), atol)
    _assert_close(_arrays(our_params), _arrays(our_uninterrupted), 1e-6, "uninterrupted")


def test_asgd_loads_an_old_state_dict_with_numbers_for_eta_and_mu():
    """Older PyTorch saved ``step``, ``eta`` and ``mu`` as numbers; they load as tensors."""
    runs = []
    for lib in (torch, ember):
        params = _make_params(lib, _initial_arrays(SHAPES, 4))
        optimizer = _optimizer(lib, "ASGD", params, {"lr": 0.05, "t0": 2}, {})
        for _ in range(4):
            _step(lib, optimizer, params, False)
        saved = copy.deepcopy(optimizer.state_dict())
        for values in saved["state"].values():
            for key in ("step", "eta", "mu"):
                values[key] = values[key].item()
        optimizer.load_state_dict(saved)
        for _ in range(3):
            _step(lib, optimizer, params, False)
        runs.append((optimizer, params))
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = runs
    _assert_close(_arrays(ember_params), _arrays(torch_params), 1e-12, "after the load")
    assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict(), 1e-12)


def test_a_scheduler_drives_asgd_as_in_torch():
    """ExponentialLR changes the lr that ASGD's eta is recomputed from at every step."""
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(
        "ASGD", {"lr": 0.05, "lambd": 0.05}, {"lr": 0.1}
    )
    torch_scheduler = torch.optim.lr_scheduler.ExponentialLR(torch_optimizer, gamma=0.7)
    ember_scheduler = ember.optim.lr_scheduler.ExponentialLR(ember_optimizer, gamma=0.7)
    for step in range(6):
        _step(torch, torch_optimizer, torch_params, False)
        _step(ember, ember_optimizer, ember_params, False)
        torch_scheduler.step()
        ember_scheduler.step()
        _assert_close(_arrays(ember_params), _arrays(torch_params), 1e-12, step)
    assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict(), 1e-12)


@pytest.mark.parametrize("name, kwargs, group_kwargs, atol", [CONFIGS[2]], ids=["ASGD"])
def test_asgd_under_a_float64_default_keeps_eta_and_mu_in_float64(name, kwargs, group_kwargs,
                                                                    atol):
    """Under a float64 default, ``step``, ``eta`` and ``mu`` are float64 and never rounded."""
    torch_default, ember_default = torch.get_default_dtype(), ember.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    ember.set_default_dtype(ember.float64)
    try:
        (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(
            name, kwargs, group_kwargs
        )
        for step in range(6):
            _step(torch, torch_optimizer, torch_params, True)
            _step(ember, ember_optimizer, ember_params, True)
            _assert_close(_arrays(ember_params), _arrays(torch_params), 1e-12, step)
        assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict(),
                                  1e-15)
    finally:
        torch.set_default_dtype(torch_default)
        ember.set_default_dtype(ember_default)


def test_float32_parameters_and_state_stay_float32():
    rng = np.random.default_rng(3)
    array = rng.standard_normal((3, 4)).astype(np.float32)
    for name in ("ASGD", "Rprop", "Adafactor", "Muon"):
        torch_param = torch.tensor(array, requires_grad=True)
        ember_param = ember.tensor(array, requires_grad=True)
        results = []
        for lib, param in ((torch, torch_param), (ember, ember_param)):
            optimizer = getattr(lib.optim, name)([param], lr=0.05)
            for _ in range(3):
                optimizer.zero_grad()
                (lib.tanh(param * 2.0) ** 2).sum().backward()
                optimizer.step()
            state = optimizer.state_dict()["state"][0]
            results.append((param, {key: str(value.dtype) for key, value in state.items()}))
        (theirs, their_dtypes), (ours, our_dtypes) = results
        assert ours.dtype == ember.float32, name
        assert {k: v.split(".")[1] for k, v in our_dtypes.items()} == {
            k: v.split(".")[1] for k, v in their_dtypes.items()
        }, name
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=0,
                                   atol=1e-5, err_msg=name)


def _leaf(lib, shape=(2, 2)):
    return [lib.zeros(shape, requires_grad=True)]


BAD_HYPERPARAMETERS = [
    ("ASGD", {"lr": -0.1}),
    ("ASGD", {"weight_decay": -1.0}),
    ("Rprop", {"lr": -1.0}),
    ("Rprop", {"etas": (1.5, 2.0)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("Rprop", {"etas": (0.5, 1.0)}),
    ("Adafactor", {"lr": -1.0}),
    ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1.0, 1e-3)}),
    ("Adafactor", {"eps": (None, -1e-3)}),
    ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"weight_decay": -0.1}),
    ("Muon", {"lr": -1.0}),
    ("Muon", {"momentum": -0.5}),
    ("Muon", {"weight_decay": -0.5}),
    ("Muon", {"adjust_lr_fn": "sqrt"}),
]


def _error(function):
    with pytest.raises(Exception) as caught:
        function()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("name, kwargs", BAD_HYPERPARAMETERS, ids=str)
def test_bad_hyperparameters_raise_torchs_errors(name, kwargs):
    def build(lib):
        return lambda: getattr(lib.optim, name)(_leaf(lib), **kwargs)

    assert _error(build(ember)) == _error(build(torch))


def test_tensor_lr_of_more_than_one_element_is_refused():
    for name in ("ASGD", "Rprop", "Adafactor", "Muon"):
        def build(lib, name=name):
            return lambda: getattr(lib.optim, name)(_leaf(lib), lr=lib.tensor([0.1, 0.2]))

        assert _error(build(ember)) == _error(build(torch)), name


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), ()], ids=str)
def test_muon_refuses_parameters_that_are_not_matrices(shape):
    def build(lib):
        return lambda: lib.optim.Muon(_leaf(lib, shape))

    assert _error(build(ember)) == _error(build(torch))


@pytest.mark.parametrize("kwargs", [{"ns_steps": 100}, {"ns_coefficients": (1.0, 2.0)}],
                         ids=str)
def test_muon_newton_schulz_settings_are_refused_at_the_step(kwargs):
    def run(lib):
        def steps():
            params = _leaf(lib)
            optimizer = lib.optim.Muon(params, **kwargs)
            (params[0] * 2.0).sum().backward()
            optimizer.step()

        return steps

    assert _error(run(ember)) == _error(run(torch))


@pytest.mark.parametrize("name", ["ASGD", "Rprop", "Adafactor", "Muon"])
def test_sparse_gradients_are_refused(name):
    def run(lib):
        def steps():
            table = lib.nn.Embedding(5, 3, sparse=True)
            optimizer = getattr(lib.optim, name)(table.parameters())
            table(lib.tensor([0, 2])).sum().backward()
            optimizer.step()

        return steps

    assert _error(run(ember)) == _error(run(torch))
