"""Every learning-rate scheduler against PyTorch's: the lr (and momentum) sequence over 60 steps."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch

import ember
import ember.optim

STEPS = 60


def _optimizer(lib, kind: str = "SGD"):
    """Two parameter groups with different rates, so per-group handling is exercised."""
    first = lib.zeros(2, requires_grad=True)
    second = lib.zeros(3, requires_grad=True)
    groups = [{"params": [first]}, {"params": [second], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1, betas=(0.9, 0.999))
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _snapshot(optimizer, scheduler) -> list:
    rows = []
    for group in optimizer.param_groups:
        rows.append(
            (group["lr"], group.get("momentum"), group.get("betas"), group.get("initial_lr"))
        )
    return [rows, list(scheduler.get_last_lr())]


def _run(lib, make, kind, steps=STEPS, metrics=None) -> list:
    optimizer = _optimizer(lib, kind)
    scheduler = make(lib.optim.lr_scheduler, optimizer)
    history = [_snapshot(optimizer, scheduler)]
    for index in range(steps):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[index])
        history.append(_snapshot(optimizer, scheduler))
    return history


def _assert_close(actual, expected, path="") -> None:
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected)):
            _assert_close(a, e, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15), path
    else:
        assert actual == expected, path


SCHEDULERS = {
    "LambdaLR": (lambda S, opt: S.LambdaLR(opt, lambda epoch: 0.95**epoch), "SGD"),
    "LambdaLR_per_group": (
        lambda S, opt: S.LambdaLR(opt, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
        "SGD",
    ),
    "MultiplicativeLR": (lambda S, opt: S.MultiplicativeLR(opt, lambda epoch: 0.97), "SGD"),
    "StepLR": (lambda S, opt: S.StepLR(opt, step_size=7, gamma=0.5), "SGD"),
    "MultiStepLR": (lambda S, opt: S.MultiStepLR(opt, [5, 12, 12, 30], gamma=0.3), "SGD"),
    "ConstantLR": (lambda S, opt: S.ConstantLR(opt, factor=0.25, total_iters=8), "SGD"),
    "LinearLR": (
        lambda S, opt: S.LinearLR(opt, start_factor=0.1, end_factor=0.9, total_iters=20),
        "SGD",
    ),
    "ExponentialLR": (lambda S, opt: S.ExponentialLR(opt, gamma=0.93), "SGD"),
    "CosineAnnealingLR": (lambda S, opt: S.CosineAnnealingLR(opt, T_max=15, eta_min=1e-3), "SGD"),
    "CosineAnnealingWarmRestarts": (
        lambda S, opt: S.CosineAnnealingWarmRestarts(opt, T_0=7, T_mult=2, eta_min=0.01),
        "SGD",
    ),
    "CosineAnnealingWarmRestarts_mult1": (
        lambda S, opt: S.CosineAnnealingWarmRestarts(opt, T_0=9),
        "SGD",
    ),
    "CyclicLR_triangular": (
        lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=5, step_size_down=8),
        "SGD",
    ),
    "CyclicLR_triangular2": (
        lambda S, opt: S.CyclicLR(opt, [0.01, 0.02], 0.1, step_size_up=6, mode="triangular2"),
        "SGD",
    ),
    "CyclicLR_exp_range_adam": (
        lambda S, opt: S.CyclicLR(
            opt, 0.001, 0.01, step_size_up=4, mode="exp_range", gamma=0.97, base_momentum=0.85
        ),
        "Adam",
    ),
    "CyclicLR_no_momentum": (
        lambda S, opt: S.CyclicLR(opt, 0.01, 0.1, step_size_up=5, cycle_momentum=False),
        "SGD",
    ),
    "CyclicLR_custom_scale": (
        lambda S, opt: S.CyclicLR(
            opt, 0.01, 0.1, step_size_up=5, scale_fn=lambda x: 0.5**x, scale_mode="iterations"
        ),
        "SGD",
    ),
    "OneCycleLR_cos": (lambda S, opt: S.OneCycleLR(opt, max_lr=0.5, total_steps=STEPS), "SGD"),
    "OneCycleLR_linear_three_phase_adam": (
        lambda S, opt: S.OneCycleLR(
            opt,
            max_lr=[0.5, 0.2],
            epochs=6,
            steps_per_epoch=11,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
        ),
        "Adam",
    ),
    "OneCycleLR_no_momentum": (
        lambda S, opt: S.OneCycleLR(
            opt, max_lr=0.3, total_steps=STEPS, cycle_momentum=False, div_factor=10.0
        ),
        "SGD",
    ),
    "PolynomialLR": (lambda S, opt: S.PolynomialLR(opt, total_iters=40, power=2.0), "SGD"),
    "SequentialLR": (
        lambda S, opt: S.SequentialLR(
            opt,
            [
                S.LinearLR(opt, start_factor=0.1, total_iters=10),
                S.ExponentialLR(opt, gamma=0.9),
                S.CosineAnnealingLR(opt, T_max=10),
            ],
            milestones=[10, 30],
        ),
        "SGD",
    ),
    "ChainedScheduler": (
        lambda S, opt: S.ChainedScheduler(
            [S.ConstantLR(opt, factor=0.5, total_iters=5), S.ExponentialLR(opt, gamma=0.95)]
        ),
        "SGD",
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedule_matches_torch(name):
    make, kind = SCHEDULERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither side may warn in the documented call order
        expected = _run(torch, make, kind)
        actual = _run(ember, make, kind)
    _assert_close(actual, expected)


# A metric that improves, plateaus, gets worse, then improves again.
METRICS = [10 - 0.5 * i for i in range(10)] + [5.0] * 15 + [5.0 + 0.1 * i for i in range(15)]
METRICS += [4.0 - 0.2 * i for i in range(20)]

PLATEAU = {
    "min_rel": lambda S, opt: S.ReduceLROnPlateau(opt, patience=3),
    "min_abs_cooldown": lambda S, opt: S.ReduceLROnPlateau(
        opt, factor=0.5, patience=2, threshold=0.3, threshold_mode="abs", cooldown=4
    ),
    "max_rel_min_lr": lambda S, opt: S.ReduceLROnPlateau(
        opt, mode="max", factor=0.3, patience=1, min_lr=[0.01, 0.002]
    ),
    "max_abs_eps": lambda S, opt: S.ReduceLROnPlateau(
        opt, mode="max", factor=0.9, patience=0, threshold_mode="abs", eps=0.006
    ),
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    expected = _run(torch, PLATEAU[name], "SGD", metrics=METRICS)
    actual = _run(ember, PLATEAU[name], "SGD", metrics=METRICS)
    _assert_close(actual, expected)


def test_reduce_lr_on_plateau_accepts_a_tensor_metric():
    optimizer = _optimizer(ember)
    scheduler = ember.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
    scheduler.step(ember.tensor(1.0))
    scheduler.step(ember.tensor(2.0))
    assert scheduler.get_last_lr() == pytest.approx([0.01, 0.005])


@pytest.mark.parametrize(
    "name", ["CosineAnnealingLR", "CyclicLR_exp_range_adam", "SequentialLR", "LambdaLR"]
)
def test_scheduler_state_dict_round_trip(name):
    make, kind = SCHEDULERS[name]
    optimizer = _optimizer(ember, kind)
    scheduler = make(ember.optim.lr_scheduler, optimizer)
    for _ in range(25):
        optimizer.step()
        scheduler.step()
    saved = copy.deepcopy(scheduler.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    assert "optimizer" not in saved
    expected = []
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        expected.append(scheduler.get_last_lr())

    optimizer = _optimizer(ember, kind)
    scheduler = make(ember.optim.lr_scheduler, optimizer)
    scheduler.load_state_dict(saved)
    optimizer.load_state_dict(saved_optimizer)
    actual = []
    for _ in range(20):
        optimizer.step()
        scheduler.step()
        actual.append(scheduler.get_last_lr())
    _assert_close(actual, expected)


def test_step_with_explicit_epoch_uses_the_closed_form():
    for make in (
        lambda S, opt: S.StepLR(opt, step_size=4, gamma=0.5),
        lambda S, opt: S.CosineAnnealingLR(opt, T_max=10),
        lambda S, opt: S.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2),
    ):
        results = []
        for lib in (torch, ember):
            optimizer = _optimizer(lib)
            scheduler = make(lib.optim.lr_scheduler, optimizer)
            lrs = []
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for epoch in (3, 9, 4.5, 17, 0):
                    optimizer.step()
                    scheduler.step(epoch)
                    lrs.append(scheduler.get_last_lr())
            results.append(lrs)
        _assert_close(results[1], results[0])


def test_initial_lr_and_resuming():
    optimizer = _optimizer(ember)
    scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    assert [g["initial_lr"] for g in optimizer.param_groups] == [0.1, 0.05]
    assert scheduler.last_epoch == 0 and scheduler.base_lrs == [0.1, 0.05]
    fresh = _optimizer(ember)
    with pytest.raises(KeyError, match="initial_lr"):
        ember.optim.lr_scheduler.StepLR(fresh, step_size=2, last_epoch=3)


def test_warns_when_scheduler_steps_before_optimizer():
    optimizer = _optimizer(ember)
    scheduler = ember.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        scheduler.get_lr()


SCHEDULER_ERRORS = {
    "not_an_optimizer": lambda lib, opt: lib.optim.lr_scheduler.StepLR(object(), 2),
    "constant_factor": lambda lib, opt: lib.optim.lr_scheduler.ConstantLR(opt, factor=1.5),
    "linear_start": lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, start_factor=0),
    "linear_end": lambda lib, opt: lib.optim.lr_scheduler.LinearLR(opt, end_factor=2),
    "lambda_count": lambda lib, opt: lib.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0]),
    "multiplicative_callable": lambda lib, opt: lib.optim.lr_scheduler.MultiplicativeLR(opt, 0.9),
    "warm_restarts_T_0": lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=0
    ),
    "warm_restarts_T_mult": lambda lib, opt: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=2, T_mult=0
    ),
    "cyclic_mode": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0, mode="x"),
    "cyclic_momentum": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(
        lib.optim.Adagrad([lib.zeros(1, requires_grad=True)]), 0.1, 1.0
    ),
    "cyclic_length": lambda lib, opt: lib.optim.lr_scheduler.CyclicLR(opt, [0.1], 1.0),
    "one_cycle_steps": lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(opt, 1.0),
    "one_cycle_pct": lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(
        opt, 1.0, total_steps=10, pct_start=1.5
    ),
    "one_cycle_anneal": lambda lib, opt: lib.optim.lr_scheduler.OneCycleLR(
        opt, 1.0, total_steps=10, anneal_strategy="exp"
    ),
    "one_cycle_overrun": lambda lib, opt: _overrun(lib, opt),
    "plateau_factor": lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0),
    "plateau_mode": lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="avg"),
    "plateau_threshold_mode": lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(
        opt, threshold_mode="pct"
    ),
    "plateau_min_lrs": lambda lib, opt: lib.optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1]),
    "sequential_milestones": lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(
        opt, [lib.optim.lr_scheduler.StepLR(opt, 2)], milestones=[3]
    ),
    "sequential_plateau": lambda lib, opt: lib.optim.lr_scheduler.SequentialLR(
        opt, [lib.optim.lr_scheduler.ReduceLROnPlateau(opt)], milestones=[]
    ),
    "chained_empty": lambda lib, opt: lib.optim.lr_scheduler.ChainedScheduler([]),
}


def _overrun(lib, optimizer):
    scheduler = lib.optim.lr_scheduler.OneCycleLR(optimizer, 1.0, total_steps=3)
    for _ in range(4):
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("name", list(SCHEDULER_ERRORS))
def test_scheduler_errors_match_torch(name):
    with pytest.raises(Exception) as expected:
        SCHEDULER_ERRORS[name](torch, _optimizer(torch))
    with pytest.raises(Exception) as actual:
        SCHEDULER_ERRORS[name](ember, _optimizer(ember))
    assert actual.type is expected.type
    assert str(actual.value) == str(expected.value)


def test_cosine_annealing_follows_the_closed_form_within_the_first_period():
    optimizer = _optimizer(ember)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=12, eta_min=0.01)
    for epoch in range(1, 13):
        optimizer.step()
        scheduler.step()
        expected = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * epoch / 12)) / 2
        assert scheduler.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)
