"""Every optimizer against PyTorch: 100-step trajectories, state dicts, groups and errors.

Each run starts from the same float64 weights, minimizes the same small non-linear loss with
gradients from each framework's own autograd, and must follow PyTorch's trajectory to 1e-6.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.optim

torch.set_num_threads(1)

STEPS = 100


def _initial_arrays(seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4))]


def _loss(lib, params):
    """A quadratic bowl plus a tanh coupling of the three tensors (bounded below)."""
    weight, bias, scale = params
    return (
        ((weight - 0.5) ** 2).sum()
        + (lib.tanh(weight * scale + bias) * 1.5).sum()
        + 0.5 * (bias**2).sum()
        + 0.1 * (scale**4).sum()
    )


def _make_params(lib, arrays):
    return [lib.tensor(array.copy(), requires_grad=True) for array in arrays]


def _flat(params) -> np.ndarray:
    return np.concatenate([np.array(p.detach().numpy()).ravel() for p in params])


def _train(lib, optimizer, params, steps, maximize=False) -> list:
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = _loss(lib, params)
        (-loss if maximize else loss).backward()
        optimizer.step()
        trajectory.append(_flat(params))
    return trajectory


# (optimizer name, keyword arguments); lr values are chosen so that 100 steps move far.
CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True, "maximize": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.02}),
    ("NAdam", {"lr": 0.02, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.05}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    (
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
    ),
    ("Adagrad", {"lr": 0.1, "eps": 1e-6, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.01}),
    ("Adadelta", {"lr": 2.0, "maximize": True}),
]
CONFIG_IDS = [
    f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for name, kw in CONFIGS
]


def _pair(name, kwargs, arrays=None):
    arrays = _initial_arrays() if arrays is None else arrays
    torch_params, ember_params = _make_params(torch, arrays), _make_params(ember, arrays)
    torch_optimizer = getattr(torch.optim, name)(torch_params, **kwargs)
    ember_optimizer = getattr(ember.optim, name)(ember_params, **kwargs)
    return (torch_optimizer, torch_params), (ember_optimizer, ember_params)


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_trajectory_and_state_dict_round_trip(name, kwargs):
    """100 steps agree with PyTorch; a copy resumed from the state dict at step 50 agrees too."""
    maximize = kwargs.get("maximize", False)
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(name, kwargs)
    expected = _train(torch, torch_optimizer, torch_params, STEPS, maximize)
    actual = _train(ember, ember_optimizer, ember_params, STEPS // 2, maximize)
    saved = copy.deepcopy(ember_optimizer.state_dict())
    resumed_params = _make_params(ember, [p.detach().numpy() for p in ember_params])
    actual += _train(ember, ember_optimizer, ember_params, STEPS - STEPS // 2, maximize)

    assert np.abs(expected[-1] - expected[0]).max() > 1e-2, "the run should move the weights"
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=0, atol=1e-6)
    assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict())
    assert repr(ember_optimizer) == repr(torch_optimizer)

    resumed = getattr(ember.optim, name)(resumed_params, lr=123.0)  # overwritten by the load
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == ember_optimizer.param_groups[0]["lr"]
    second_half = _train(ember, resumed, resumed_params, STEPS - STEPS // 2, maximize)
    np.testing.assert_array_equal(np.array(second_half), np.array(actual[STEPS // 2 :]))


def assert_state_dicts_match(ember_state, torch_state, atol=1e-6):
    """Same groups, same state keys in the same order, each value of torch's shape, dtype
    and (within ``atol``) value."""
    assert ember_state["param_groups"] == torch_state["param_groups"]
    assert ember_state["state"].keys() == torch_state["state"].keys()
    for index, torch_values in torch_state["state"].items():
        ember_values = ember_state["state"][index]
        assert list(ember_values) == list(torch_values)
        for key, value in torch_values.items():
            ours = ember_values[key]
            assert isinstance(ours, ember.Tensor), key
            assert tuple(ours.shape) == tuple(value.shape), key
            assert str(ours.dtype).split(".")[1] == str(value.dtype).split(".")[1], key
            np.testing.assert_allclose(ours.numpy(), value.numpy(), rtol=0, atol=atol)


@pytest.mark.parametrize("name, kwargs", [CONFIGS[2], CONFIGS[8], CONFIGS[21]])
def test_torch_state_dict_loads_into_ember(name, kwargs):
    """A state dict saved by PyTorch (converted to ember tensors) resumes the same run."""
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(name, kwargs)
    _train(torch, torch_optimizer, torch_params, 30)
    saved = torch_optimizer.state_dict()
    converted = {
        "state": {
            index: {key: ember.tensor(value.numpy().copy()) for key, value in values.items()}
            for index, values in saved["state"].items()
        },
        "param_groups": saved["param_groups"],
    }
    ember_params = _make_params(ember, [p.detach().numpy() for p in torch_params])
    ember_optimizer = getattr(ember.optim, name)(ember_params, **kwargs)
    ember_optimizer.load_state_dict(converted)
    expected = _train(torch, torch_optimizer, torch_params, 20)
    actual = _train(ember, ember_optimizer, ember_params, 20)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=0, atol=1e-6)


def test_parameter_groups_with_their_own_hyperparameters():
    arrays = _initial_arrays(2)
    runs = []
    for lib in (torch, ember):
        params = _make_params(lib, arrays)
        optimizer = lib.optim.Adam(
            [{"params": params[:2]}, {"params": params[2:], "lr": 0.2, "amsgrad": True}],
            lr=0.03,
        )
        assert optimizer.param_groups[1]["betas"] == (0.9, 0.999)
        assert optimizer.param_groups[1]["lr"] == 0.2 and optimizer.param_groups[0]["lr"] == 0.03
        runs.append(_train(lib, optimizer, params, 40))
    np.testing.assert_allclose(np.array(runs[1]), np.array(runs[0]), rtol=0, atol=1e-6)


def test_add_param_group_and_generator_params():
    arrays = _initial_arrays(3)
    runs = []
    for lib in (torch, ember):
        params = _make_params(lib, arrays)
        optimizer = lib.optim.SGD((p for p in params[:2]), lr=0.05, momentum=0.9)
        optimizer.add_param_group({"params": params[2], "lr": 0.01})
        assert optimizer.param_groups[1]["momentum"] == 0.9
        assert isinstance(optimizer.param_groups[1]["params"], list)
        runs.append(_train(lib, optimizer, params, 30))
    np.testing.assert_allclose(np.array(runs[1]), np.array(runs[0]), rtol=0, atol=1e-6)


def test_named_parameters_are_accepted():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.SGD([("weight", params[0]), ("bias", params[1])], lr=0.1)
    assert optimizer.param_groups[0]["param_names"] == ["weight", "bias"]
    assert optimizer.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_parameters_without_grad_are_skipped():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.Adam(params, lr=0.1)
    (params[0] ** 2).sum().backward()
    before = [p.detach().numpy().copy() for p in params]
    optimizer.step()
    assert not np.array_equal(params[0].detach().numpy(), before[0])
    np.testing.assert_array_equal(params[1].detach().numpy(), before[1])
    assert list(optimizer.state_dict()["state"]) == [0]


_MORE = [("ASGD", {}), ("Rprop", {}), ("Adafactor", {}), ("Muon", {})]


@pytest.mark.parametrize("name, kwargs", CONFIGS + _MORE,
                         ids=CONFIG_IDS + [name for name, _ in _MORE])
def test_a_step_builds_no_graph_even_from_gradients_that_carry_one(name, kwargs):
    # grad mode on, and gradients from backward(create_graph=True), which require grad: a
    # step that did its arithmetic on tensors rather than arrays would record a graph here
    arrays = [a for a in _initial_arrays() if a.ndim == 2]  # Muon takes matrices only
    params = _make_params(ember, arrays)
    optimizer = getattr(ember.optim, name)(params, **kwargs)
    for _ in range(2):
        optimizer.zero_grad()
        sum((p ** 3).sum() for p in params).backward(create_graph=True)
        assert all(p.grad.requires_grad for p in params)
        optimizer.step()
    for param in params:
        assert param.is_leaf and param.grad_fn is None and param.requires_grad
    for state in optimizer.state.values():
        for value in state.values():
            assert not isinstance(value, ember.Tensor) or (
                value.grad_fn is None and not value.requires_grad), name


def test_sgd_without_momentum_keeps_no_state():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.SGD(params, lr=0.1)
    _train(ember, optimizer, params, 2)
    assert optimizer.state_dict()["state"] == {}


def test_adagrad_state_exists_before_the_first_step():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.Adagrad(params, initial_accumulator_value=0.5)
    state = optimizer.state_dict()["state"]
    assert sorted(state) == [0, 1, 2] and float(state[0]["step"]) == 0.0
    np.testing.assert_array_equal(state[2]["sum"].numpy(), np.full((3, 4), 0.5))


def test_zero_grad():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.SGD(params, lr=0.1)
    _loss(ember, params).backward()
    grad = params[0].grad
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad is grad and not grad.numpy().any()
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_with_closure_returns_its_loss_and_enables_grad():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.SGD(params, lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = _loss(ember, params)
        loss.backward()
        return loss

    with ember.no_grad():
        loss = optimizer.step(closure)
    assert float(loss) == pytest.approx(float(_loss(torch, _make_params(torch, _initial_arrays()))))
    assert all(p.grad is not None for p in params)


def test_step_bumps_the_parameter_version_and_records_no_graph():
    params = _make_params(ember, _initial_arrays())
    optimizer = ember.optim.Adam(params)
    _loss(ember, params).backward()
    version = params[0]._version
    optimizer.step()
    assert params[0]._version > version
    assert all(p.is_leaf and p.requires_grad for p in params)
    assert optimizer.state[params[0]]["exp_avg"].grad_fn is None


def test_every_step_is_counted_for_the_leak_warning():
    from ember.autograd.function import thread_state

    params = _make_params(ember, _initial_arrays())
    before = thread_state.optimizer_steps
    _train(ember, ember.optim.SGD(params, lr=0.01), params, 3)
    assert thread_state.optimizer_steps == before + 3
    _train_lbfgs(ember, ember.optim.LBFGS(params, max_iter=3), params, 2)
    assert thread_state.optimizer_steps == before + 5


def test_tensor_learning_rate():
    arrays = _initial_arrays()
    runs = []
    for lib in (torch, ember):
        params = _make_params(lib, arrays)
        optimizer = lib.optim.SGD(params, lr=lib.tensor(0.05), momentum=0.9)
        runs.append(_train(lib, optimizer, params, 20))
    np.testing.assert_allclose(np.array(runs[1]), np.array(runs[0]), rtol=0, atol=1e-6)


# ---------------------------------------------------------------- L-BFGS

LBFGS_CONFIGS = [
    {"lr": 0.5, "max_iter": 5, "history_size": 3},
    {"lr": 1, "max_iter": 4, "history_size": 10, "line_search_fn": "strong_wolfe"},
    {"lr": 1, "max_iter": 20, "tolerance_grad": 1e-5, "tolerance_change": 1e-7},
]


def _train_lbfgs(lib, optimizer, params, steps) -> tuple:
    losses, trajectory = [], []

    def closure():
        optimizer.zero_grad()
        loss = _loss(lib, params)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(float(optimizer.step(closure)))
        trajectory.append(_flat(params))
    return losses, trajectory


@pytest.mark.parametrize("kwargs", LBFGS_CONFIGS, ids=lambda kw: str(kw))
def test_lbfgs_matches_torch(kwargs):
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair("LBFGS", kwargs)
    expected_losses, expected = _train_lbfgs(torch, torch_optimizer, torch_params, 8)
    actual_losses, actual = _train_lbfgs(ember, ember_optimizer, ember_params, 8)
    assert expected_losses[-1] < expected_losses[0] - 1.0
    np.testing.assert_allclose(actual_losses, expected_losses, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=0, atol=1e-6)
    torch_state = torch_optimizer.state_dict()["state"][0]
    ember_state = ember_optimizer.state_dict()["state"][0]
    assert set(ember_state) == set(torch_state)
    for key in ("func_evals", "n_iter"):
        assert ember_state[key] == torch_state[key]
    assert len(ember_state["old_dirs"]) == len(torch_state["old_dirs"])


def test_lbfgs_state_dict_round_trip():
    kwargs = LBFGS_CONFIGS[1]
    params = _make_params(ember, _initial_arrays(4))
    optimizer = ember.optim.LBFGS(params, **kwargs)
    _, uninterrupted = _train_lbfgs(ember, optimizer, params, 6)

    params = _make_params(ember, _initial_arrays(4))
    optimizer = ember.optim.LBFGS(params, **kwargs)
    _, first = _train_lbfgs(ember, optimizer, params, 3)
    saved = copy.deepcopy(optimizer.state_dict())
    params = _make_params(ember, [p.detach().numpy() for p in params])
    optimizer = ember.optim.LBFGS(params, **kwargs)
    optimizer.load_state_dict(saved)
    _, second = _train_lbfgs(ember, optimizer, params, 3)
    np.testing.assert_array_equal(np.array(first + second), np.array(uninterrupted))


# ---------------------------------------------------------------- errors, like PyTorch's


def _leaf(lib):
    return lib.tensor([1.0, 2.0], requires_grad=True)


ERRORS = {
    "empty": lambda lib: lib.optim.SGD([], lr=0.1),
    "tensor_as_params": lambda lib: lib.optim.SGD(_leaf(lib), lr=0.1),
    "not_a_tensor": lambda lib: lib.optim.Adam([_leaf(lib), 3.0]),
    "non_leaf": lambda lib: lib.optim.SGD([_leaf(lib) * 2], lr=0.1),
    "two_groups": lambda lib: _two_groups(lib),
    "group_not_dict": lambda lib: lib.optim.SGD([_leaf(lib)]).add_param_group([_leaf(lib)]),
    "group_as_set": lambda lib: lib.optim.SGD([_leaf(lib)]).add_param_group({"params": {1}}),
    "nesterov_no_momentum": lambda lib: lib.optim.SGD([_leaf(lib)], lr=0.1, nesterov=True),
    "nesterov_dampening": lambda lib: lib.optim.SGD(
        [_leaf(lib)], momentum=0.9, dampening=0.1, nesterov=True
    ),
    "sgd_lr": lambda lib: lib.optim.SGD([_leaf(lib)], lr=-0.1),
    "sgd_momentum": lambda lib: lib.optim.SGD([_leaf(lib)], momentum=-0.5),
    "sgd_weight_decay": lambda lib: lib.optim.SGD([_leaf(lib)], weight_decay=-1.0),
    "adam_lr": lambda lib: lib.optim.Adam([_leaf(lib)], lr=-1.0),
    "adam_eps": lambda lib: lib.optim.Adam([_leaf(lib)], eps=-1.0),
    "adam_beta0": lambda lib: lib.optim.Adam([_leaf(lib)], betas=(1.0, 0.9)),
    "adam_beta1": lambda lib: lib.optim.Adam([_leaf(lib)], betas=(0.9, -0.1)),
    "adam_int_beta": lambda lib: lib.optim.Adam([_leaf(lib)], betas=(0, 0.9)),
    "adamw_weight_decay": lambda lib: lib.optim.AdamW([_leaf(lib)], weight_decay=-0.1),
    "adamax_beta": lambda lib: lib.optim.Adamax([_leaf(lib)], betas=(0.9, 1.5)),
    "nadam_momentum_decay": lambda lib: lib.optim.NAdam([_leaf(lib)], momentum_decay=-1.0),
    "radam_eps": lambda lib: lib.optim.RAdam([_leaf(lib)], eps=-1.0),
    "rmsprop_alpha": lambda lib: lib.optim.RMSprop([_leaf(lib)], alpha=-0.1),
    "rmsprop_momentum": lambda lib: lib.optim.RMSprop([_leaf(lib)], momentum=-0.1),
    "adagrad_lr_decay": lambda lib: lib.optim.Adagrad([_leaf(lib)], lr_decay=-0.1),
    "adagrad_initial": lambda lib: lib.optim.Adagrad([_leaf(lib)], initial_accumulator_value=-1),
    "adadelta_rho": lambda lib: lib.optim.Adadelta([_leaf(lib)], rho=1.5),
    "lbfgs_groups": lambda lib: lib.optim.LBFGS(
        [{"params": [_leaf(lib)]}, {"params": [_leaf(lib)]}]
    ),
    "lbfgs_line_search": lambda lib: _lbfgs_bad_line_search(lib),
    "load_group_count": lambda lib: _load(
        lib, lambda sd: sd["param_groups"].append({"params": []})
    ),
    "load_group_size": lambda lib: _load(lib, lambda sd: sd["param_groups"][0]["params"].append(9)),
}


def _two_groups(lib):
    shared = _leaf(lib)
    return lib.optim.SGD([{"params": [shared]}, {"params": [_leaf(lib), shared]}], lr=0.1)


def _lbfgs_bad_line_search(lib):
    param = _leaf(lib)
    optimizer = lib.optim.LBFGS([param], line_search_fn="wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)


def _load(lib, corrupt):
    optimizer = lib.optim.SGD([_leaf(lib)], lr=0.1)
    saved = copy.deepcopy(optimizer.state_dict())
    corrupt(saved)
    optimizer.load_state_dict(saved)


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        ERRORS[name](torch)
    with pytest.raises(Exception) as actual:
        ERRORS[name](ember)
    assert actual.type is expected.type
    assert str(actual.value) == str(expected.value)


def test_duplicate_parameters_warn():
    param = _leaf(ember)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ember.optim.SGD([param, param], lr=0.1)
    assert any("duplicate parameters" in str(w.message) for w in caught)


@pytest.mark.parametrize("name", ["Adam", "NAdam", "RMSprop"])
def test_float32_parameters_stay_float32(name):
    arrays = [array.astype(np.float32) for array in _initial_arrays(5)]
    (torch_optimizer, torch_params), (ember_optimizer, ember_params) = _pair(
        name, {"lr": 0.01}, arrays
    )
    expected = _train(torch, torch_optimizer, torch_params, 20)
    actual = _train(ember, ember_optimizer, ember_params, 20)
    assert all(p.dtype == ember.float32 for p in ember_params)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=0, atol=1e-5)
    assert_state_dicts_match(ember_optimizer.state_dict(), torch_optimizer.state_dict())


def test_a_changed_learning_rate_takes_effect_at_the_next_step():
    import ember

    weight = ember.nn.Parameter(ember.tensor([1.0]))
    optimizer = ember.optim.SGD([weight], lr=0.5)
    for lr, expected in ((0.5, 0.5), (0.25, 0.25), (0.1, 0.15)):
        optimizer.param_groups[0]["lr"] = lr
        weight.grad = ember.tensor([1.0])
        optimizer.step()
        assert abs(weight.item() - expected) < 1e-6
    rate = ember.tensor(0.1)
    optimizer.param_groups[0]["lr"] = rate
    for expected in (0.05, -0.45):
        weight.grad = ember.tensor([1.0])
        optimizer.step()
        assert abs(weight.item() - expected) < 1e-6
        rate.fill_(0.5)  # in place: the next step must read the new value


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_over_a_group_at_once_follows_pytorch(name):
    """Groups, a parameter that skips steps, and a state_dict round trip mid-way."""
    import ember

    rng = np.random.default_rng(5)
    shapes = [(4, 3), (3,), (2, 2), (5,)]
    values = [rng.standard_normal(shape) for shape in shapes]
    grads = [[rng.standard_normal(shape) for shape in shapes] for _ in range(12)]
    results = {}
    for lib in (torch, ember):
        params = [lib.nn.Parameter(lib.tensor(v)) for v in values]
        groups = [{"params": params[:3]}, {"params": params[3:], "lr": 0.05}]
        optimizer = getattr(lib.optim, name)(groups, lr=0.01, weight_decay=0.1)
        for step, step_grads in enumerate(grads):
            for index, (param, grad) in enumerate(zip(params, step_grads)):
                skip = index == 1 and step in (3, 4)
                param.grad = None if skip else lib.tensor(grad)
            optimizer.step()
            if step == 6:
                state = optimizer.state_dict()
                optimizer = getattr(lib.optim, name)(groups, lr=0.01, weight_decay=0.1)
                optimizer.load_state_dict(state)
        results[lib] = [p.detach().numpy().copy() for p in params]
    for expected, actual in zip(results[torch], results[ember]):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("count", [0.0, 7.0, 2.0**24 - 1, 2.0**24, 2.0**24 + 2, 2.0**53, np.inf])
def test_the_step_count_increments_as_the_arrays_own_plus_one(dtype, count):
    from ember.optim.optimizer import _increment

    step = ember.tensor(np.asarray(count, dtype))
    expected = np.asarray(count, dtype)
    expected += 1  # float32 stops counting at 2**24, as PyTorch's float32 step does
    assert _increment(step) == expected.item()
    assert step.dtype == ember.tensor(expected).dtype and step.item() == expected.item()
