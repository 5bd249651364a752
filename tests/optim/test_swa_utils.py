"""``optim.swa_utils`` against PyTorch's: averaged weights and buffers, BatchNorm statistics
recomputed by ``update_bn``, SWALR's learning rates, state dicts and errors.

The models are built in both libraries and given the same float64 weights, so every number
can be compared with PyTorch's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.optim.swa_utils

import ember
import ember.optim.swa_utils

torch.set_num_threads(1)


def _swa(lib):
    return lib.optim.swa_utils


def _model(lib):
    return lib.nn.Sequential(
        lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Tanh(), lib.nn.Linear(4, 2)
    ).double()


def _twin_models(rng):
    """A torch model and an ember model holding the same random weights."""
    source = _model(torch)
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.copy_(torch.tensor(rng.standard_normal(tuple(parameter.shape))))
    twin = _model(ember)
    twin.load_state_dict({key: ember.tensor(value.numpy().copy())
                          for key, value in source.state_dict().items()})
    return source, twin


def _assert_state_dicts_equal(actual: dict, expected: dict) -> None:
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert str(actual[key].dtype).split(".")[-1] == str(value.dtype).split(".")[-1], key
        np.testing.assert_allclose(actual[key].numpy(), value.numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=key)


AVERAGES = {
    "swa_default": lambda swa: {},
    "swa_avg_fn": lambda swa: {"avg_fn": swa.get_swa_avg_fn()},
    "ema_avg_fn": lambda swa: {"avg_fn": swa.get_ema_avg_fn(0.9)},
    "ema_multi_avg_fn": lambda swa: {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.75)},
    "swa_multi_avg_fn": lambda swa: {"multi_avg_fn": swa.get_swa_multi_avg_fn()},
    "custom_avg_fn": lambda swa: {"avg_fn": lambda averaged, current, count:
                                  averaged * 0.3 + current * 0.7 + count * 1e-3},
}


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("average", list(AVERAGES))
def test_averaged_model_follows_torch_over_several_updates(average, use_buffers):
    rng = np.random.default_rng(11)
    source, twin = _twin_models(rng)
    # PyTorch's SWA over a list refuses integer buffers (its addcdiv_ does): ember too.
    refuses = average == "swa_multi_avg_fn" and use_buffers
    averaged = {lib: _swa(lib).AveragedModel(model, use_buffers=use_buffers,
                                             **AVERAGES[average](_swa(lib)))
                for lib, model in ((torch, source), (ember, twin))}
    for step in range(5):
        batch = rng.standard_normal((6, 3))
        shifts = [rng.standard_normal(tuple(p.shape)) for p in source.parameters()]
        errors = []
        for lib, model in ((torch, source), (ember, twin)):
            with lib.no_grad():
                for parameter, shift in zip(model.parameters(), shifts):
                    parameter.add_(lib.tensor(shift))
            model(lib.tensor(batch))  # training mode: the BatchNorm statistics move
            try:
                averaged[lib].update_parameters(model)
            except RuntimeError as error:
                errors.append(error)
        if refuses and step > 0:
            assert len(errors) == 2
            return
        assert errors == []
        _assert_state_dicts_equal(averaged[ember].state_dict(), averaged[torch].state_dict())
        assert averaged[ember].n_averaged.item() == step + 1
    assert not refuses
    probe = rng.standard_normal((4, 3))
    averaged[torch].eval(), averaged[ember].eval()
    np.testing.assert_allclose(averaged[ember](ember.tensor(probe)).detach().numpy(),
                               averaged[torch](torch.tensor(probe)).detach().numpy(), rtol=1e-12)


def test_averaged_model_is_a_copy_with_torchs_state_dict_keys():
    rng = np.random.default_rng(12)
    source, twin = _twin_models(rng)
    expected = torch.optim.swa_utils.AveragedModel(source)
    actual = ember.optim.swa_utils.AveragedModel(twin)
    assert list(actual.state_dict()) == list(expected.state_dict())
    assert actual.state_dict()["n_averaged"].dtype is ember.int64
    assert actual.n_averaged.item() == 0
    assert isinstance(actual.module, ember.nn.Sequential)
    assert actual.module[0].weight is not twin[0].weight
    np.testing.assert_array_equal(actual.module[0].weight.detach().numpy(),
                                  twin[0].weight.detach().numpy())
    assert repr(actual) == repr(expected)
    # forward passes through to the copy, with gradients reaching its parameters
    probe = rng.standard_normal((5, 3))
    out = actual(ember.tensor(probe))
    np.testing.assert_allclose(out.detach().numpy(),
                               expected(torch.tensor(probe)).detach().numpy(), rtol=1e-12)
    cotangent = rng.standard_normal((5, 2))
    out.backward(ember.tensor(cotangent))
    expected(torch.tensor(probe)).backward(torch.tensor(cotangent))
    np.testing.assert_allclose(actual.module[3].weight.grad.numpy(),
                               expected.module[3].weight.grad.numpy(), rtol=1e-10)
    assert twin[3].weight.grad is None


def test_averaged_model_on_a_device_and_its_state_dict_loads_back():
    rng = np.random.default_rng(13)
    _, twin = _twin_models(rng)
    averaged = ember.optim.swa_utils.AveragedModel(twin, device="cpu")
    averaged.update_parameters(twin)
    with ember.no_grad():
        for parameter in twin.parameters():
            parameter.mul_(3.0)
    averaged.update_parameters(twin)
    restored = ember.optim.swa_utils.AveragedModel(_model(ember))
    restored.load_state_dict(averaged.state_dict())
    assert restored.n_averaged.item() == 2
    expected = twin[0].weight.detach().numpy() * (1 + 1 / 3) / 2
    np.testing.assert_allclose(restored.module[0].weight.detach().numpy(), expected, rtol=1e-12)


def test_averaged_model_refuses_two_averaging_functions_like_torch():
    for lib in (torch, ember):
        swa = _swa(lib)
        with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
            swa.AveragedModel(lib.nn.Linear(2, 2), avg_fn=swa.get_swa_avg_fn(),
                              multi_avg_fn=swa.get_swa_multi_avg_fn())


def _loader(lib, batches, as_pairs):
    if as_pairs:
        return [(lib.tensor(batch), lib.tensor(batch[:, 0])) for batch in batches]
    return [lib.tensor(batch) for batch in batches]


@pytest.mark.parametrize("as_pairs", [False, True])
def test_update_bn_recomputes_running_statistics_like_torch(as_pairs):
    rng = np.random.default_rng(14)
    source, twin = _twin_models(rng)
    batches = [rng.normal(1.5, 2.0, size=(size, 3)) for size in (7, 4, 9)]
    for lib, model in ((torch, source), (ember, twin)):
        model[1].momentum = 0.3
        model.eval()
        _swa(lib).update_bn(_loader(lib, batches, as_pairs), model, device="cpu")
        assert model.training is False
        assert model[1].momentum == 0.3
    _assert_state_dicts_equal(twin.state_dict(), source.state_dict())
    assert twin[1].num_batches_tracked.item() == 3
    # the statistics are the cumulative mean over the batches, not a momentum average
    hidden = twin[0](ember.tensor(np.concatenate(batches))).detach().numpy()
    np.testing.assert_allclose(twin[1].running_mean.numpy(),
                               np.mean([twin[0](ember.tensor(b)).detach().numpy().mean(0)
                                        for b in batches], axis=0), rtol=1e-12)
    assert not np.allclose(twin[1].running_mean.numpy(), hidden.mean(0))


def test_update_bn_on_an_averaged_model_in_training_mode_like_torch():
    rng = np.random.default_rng(15)
    source, twin = _twin_models(rng)
    batches = [rng.standard_normal((6, 3)) for _ in range(4)]
    averaged = {}
    for lib, model in ((torch, source), (ember, twin)):
        averaged[lib] = _swa(lib).AveragedModel(model)
        averaged[lib].update_parameters(model)
        with lib.no_grad():
            for parameter in model.parameters():
                parameter.mul_(0.5)
        averaged[lib].update_parameters(model)
        _swa(lib).update_bn(_loader(lib, batches, False), averaged[lib])
        assert averaged[lib].training is True
    _assert_state_dicts_equal(averaged[ember].state_dict(), averaged[torch].state_dict())


def test_update_bn_leaves_a_model_without_batch_norm_alone():
    rng = np.random.default_rng(16)
    model = ember.nn.Linear(3, 2).double()
    before = {key: value.numpy().copy() for key, value in model.state_dict().items()}
    model.eval()
    visited = []

    def loader():
        visited.append(True)
        yield ember.tensor(rng.standard_normal((2, 3)))

    ember.optim.swa_utils.update_bn(loader(), model)
    assert visited == [] and model.training is False
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])


def _optimizer(lib):
    first, second = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    return lib.optim.SGD([{"params": [first]}, {"params": [second], "lr": 0.3}], lr=0.8,
                         momentum=0.9)


def _learning_rates(lib, steps, make, before=None):
    optimizer = _optimizer(lib)
    history = []
    earlier = before(lib, optimizer) if before is not None else None
    scheduler = None
    for epoch in range(steps):
        optimizer.step()
        if earlier is not None and epoch < 3:
            earlier.step()
        elif scheduler is None:
            scheduler = make(_swa(lib), optimizer)
        else:
            scheduler.step()
        history.append([group["lr"] for group in optimizer.param_groups])
        if scheduler is not None:
            history.append(list(scheduler.get_last_lr()))
    return history, optimizer


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3, 10])
@pytest.mark.parametrize("swa_lr", [0.05, [0.05, 0.2]])
def test_swalr_rates_match_torch(strategy, anneal_epochs, swa_lr):
    def make(swa, optimizer):
        return swa.SWALR(optimizer, swa_lr, anneal_epochs=anneal_epochs,
                         anneal_strategy=strategy)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, torch_optimizer = _learning_rates(torch, 16, make)
        actual, ember_optimizer = _learning_rates(ember, 16, make)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=1e-12, atol=1e-15)
    assert [group["swa_lr"] for group in ember_optimizer.param_groups] == \
        [group["swa_lr"] for group in torch_optimizer.param_groups]
    final = swa_lr if isinstance(swa_lr, list) else [swa_lr, swa_lr]
    assert actual[-1] == pytest.approx(final, rel=1e-12)


def test_swalr_after_another_scheduler_matches_torch():
    def before(lib, optimizer):
        return lib.optim.lr_scheduler.MultiplicativeLR(optimizer, lambda epoch: 0.7)

    def make(swa, optimizer):
        return swa.SWALR(optimizer, swa_lr=0.1, anneal_epochs=4)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, _ = _learning_rates(torch, 12, make, before)
        actual, _ = _learning_rates(ember, 12, make, before)
    np.testing.assert_allclose(np.array(actual), np.array(expected), rtol=1e-12, atol=1e-15)


def test_swalr_state_dict_matches_torch_and_restores_the_strategy():
    schedulers = {}
    for lib in (torch, ember):
        optimizer = _optimizer(lib)
        scheduler = _swa(lib).SWALR(optimizer, 0.05, anneal_epochs=3, anneal_strategy="linear")
        optimizer.step()
        scheduler.step()
        schedulers[lib] = scheduler
    state = schedulers[ember].state_dict()
    assert sorted(state) == sorted(schedulers[torch].state_dict())
    assert state["_anneal_strategy"] == "linear" and "anneal_func" not in state
    other = ember.optim.swa_utils.SWALR(_optimizer(ember), 0.05)
    assert other.anneal_func(0.5) == pytest.approx(0.5)
    other.load_state_dict(state)
    assert other.anneal_func(0.25) == 0.25 and other.anneal_epochs == 3
    assert other.last_epoch == 1


def test_swalr_get_lr_outside_step_warns_like_torch():
    for lib in (torch, ember):
        scheduler = _swa(lib).SWALR(_optimizer(lib), 0.05)
        with pytest.warns(UserWarning, match="get_last_lr"):
            scheduler.get_lr()


@pytest.mark.parametrize("arguments, error", [
    ({"swa_lr": 0.1, "anneal_strategy": "exp"}, ValueError),
    ({"swa_lr": [0.1]}, ValueError),
    ({"swa_lr": [0.1, 0.2, 0.3]}, ValueError),
    ({"swa_lr": 0.1, "anneal_epochs": -1}, ValueError),
    ({"swa_lr": 0.1, "anneal_epochs": 2.5}, ValueError),
    ({"swa_lr": 0.1, "last_epoch": 3}, KeyError),
])
def test_swalr_refuses_bad_arguments_like_torch(arguments, error):
    for lib in (torch, ember):
        with pytest.raises(error) as raised:
            _swa(lib).SWALR(_optimizer(lib), **arguments)
        if lib is torch:
            message = str(raised.value)
        else:
            assert str(raised.value) == message


def test_swalr_needs_an_optimizer_like_torch():
    for lib in (torch, ember):
        with pytest.raises(AttributeError):
            _swa(lib).SWALR(lib.ones(2), 0.1)
