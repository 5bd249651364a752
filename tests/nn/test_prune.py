"""``nn.utils.prune`` against PyTorch: the ``_orig``/``_mask`` form, masks of the L1, Ln,
custom and global methods for the same weights, iterative pruning through
``PruningContainer``, ``remove``, state dicts, outputs and gradients, random pruning by its
properties, and the errors."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import copy_state
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


def prune_of(lib):
    return importlib.import_module(f"{lib.__name__}.nn.utils.prune")


def twins(make, seed: int):
    """The module ``make(lib)`` on both libraries, float64, with distinct random weights (no
    ties in any ranking) drawn from ``seed`` and copied from PyTorch into ember."""
    rng = np.random.default_rng(seed)
    torch_module = make(torch).double()
    with torch.no_grad():
        for parameter in torch_module.parameters():
            values = rng.permutation(parameter.numel()) + rng.uniform(0.1, 0.9)
            signs = rng.choice([-1.0, 1.0], parameter.numel())
            parameter.copy_(torch.tensor(values * signs / parameter.numel()).view_as(parameter))
    ember_module = make(ember).double()
    copy_state(torch_module, ember_module)
    return torch_module, ember_module


def assert_same_state(torch_module, ember_module):
    """Same state-dict keys in the same order, same values, same parameter and buffer names."""
    torch_state, ember_state = torch_module.state_dict(), ember_module.state_dict()
    assert list(ember_state) == list(torch_state)
    for key, value in torch_state.items():
        np.testing.assert_array_equal(ember_state[key].numpy(), value.numpy(), err_msg=key)
        assert ember_state[key].dtype.itemsize == value.dtype.itemsize, key
    assert [n for n, _ in ember_module.named_parameters()] == \
        [n for n, _ in torch_module.named_parameters()]
    assert [n for n, _ in ember_module.named_buffers()] == \
        [n for n, _ in torch_module.named_buffers()]


def assert_same_call(torch_module, ember_module, input_shape, seed: int):
    """Outputs, and the gradients of a random cotangent with respect to the input and every
    parameter (``weight_orig`` among them), equal PyTorch's."""
    rng = np.random.default_rng(seed)
    array = rng.standard_normal(input_shape)
    torch_input = torch.tensor(array, requires_grad=True)
    ember_input = ember.tensor(array, requires_grad=True)
    torch_output, ember_output = torch_module(torch_input), ember_module(ember_input)
    np.testing.assert_allclose(ember_output.detach().numpy(), torch_output.detach().numpy(),
                               rtol=1e-12, atol=1e-12)
    cotangent = rng.standard_normal(tuple(torch_output.shape))
    torch_wrt = [torch_input] + list(torch_module.parameters())
    ember_wrt = [ember_input] + list(ember_module.parameters())
    torch_grads = torch.autograd.grad(torch_output, torch_wrt, torch.tensor(cotangent))
    ember_grads = ember.autograd.grad(ember_output, ember_wrt, ember.tensor(cotangent))
    for torch_grad, ember_grad in zip(torch_grads, ember_grads):
        np.testing.assert_allclose(ember_grad.numpy(), torch_grad.numpy(), rtol=1e-12,
                                   atol=1e-12)


def linear(lib):
    return lib.nn.Linear(5, 4)


def conv(lib):
    return lib.nn.Conv2d(3, 4, 2)


# ---------------------------------------------------------------- one method at a time
@pytest.mark.parametrize("amount", [0, 7, 20, 0.35, 1.0])
def test_l1_unstructured_matches_pytorch(amount):
    torch_module, ember_module = twins(linear, seed=1)
    assert prune_of(ember).l1_unstructured(ember_module, "weight", amount) is ember_module
    prune_of(torch).l1_unstructured(torch_module, "weight", amount)
    assert_same_state(torch_module, ember_module)
    assert ember_module.weight_mask.dtype == ember.float64
    assert not ember_module.weight_mask.requires_grad
    assert type(ember_module.weight_orig) is ember.nn.Parameter
    assert type(ember_module.weight) is ember.Tensor and "weight" not in ember_module._parameters
    np.testing.assert_array_equal(ember_module.weight.detach().numpy(),
                                  torch_module.weight.detach().numpy())
    assert_same_call(torch_module, ember_module, (3, 5), seed=2)
    prune = prune_of(ember)
    hooks = list(ember_module._forward_pre_hooks.values())
    assert len(hooks) == 1 and type(hooks[0]) is prune.L1Unstructured
    assert hooks[0]._tensor_name == "weight" and hooks[0].amount == amount
    assert prune.is_pruned(ember_module) and prune.is_pruned(ember.nn.Sequential(ember_module))


@pytest.mark.parametrize("n", [1, 2, 3.5, 0.5, math.inf, -math.inf])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_matches_pytorch(n, dim):
    torch_module, ember_module = twins(conv, seed=3)
    amount = 2 if dim != 1 else 0.34
    prune_of(torch).ln_structured(torch_module, "weight", amount, n, dim)
    prune_of(ember).ln_structured(ember_module, "weight", amount, n, dim)
    assert_same_state(torch_module, ember_module)
    assert_same_call(torch_module, ember_module, (2, 3, 4, 4), seed=4)


@pytest.mark.parametrize("dim", [0, 1])
def test_ln_structured_frobenius_of_a_matrix(dim):
    torch_module, ember_module = twins(linear, seed=24)
    prune_of(torch).ln_structured(torch_module, "weight", 0.5, "fro", dim)
    prune_of(ember).ln_structured(ember_module, "weight", 0.5, "fro", dim)
    assert_same_state(torch_module, ember_module)


def test_importance_scores_rank_the_entries():
    torch_module, ember_module = twins(conv, seed=5)
    scores = np.random.default_rng(6).permutation(np.arange(48.0)).reshape(4, 3, 2, 2)
    prune_of(torch).l1_unstructured(torch_module, "weight", 10,
                                    importance_scores=torch.tensor(scores))
    prune_of(ember).l1_unstructured(ember_module, "weight", 10,
                                    importance_scores=ember.tensor(scores))
    assert_same_state(torch_module, ember_module)
    prune_of(torch).ln_structured(torch_module, "weight", 1, 2, 0,
                                  importance_scores=torch.tensor(scores))
    prune_of(ember).ln_structured(ember_module, "weight", 1, 2, 0,
                                  importance_scores=ember.tensor(scores))
    assert_same_state(torch_module, ember_module)


def test_custom_from_mask_and_identity():
    torch_module, ember_module = twins(linear, seed=7)
    mask = np.random.default_rng(8).integers(0, 2, (4, 5)).astype(bool)
    prune_of(torch).custom_from_mask(torch_module, "weight", torch.tensor(mask))
    prune_of(ember).custom_from_mask(ember_module, "weight", ember.tensor(mask))
    prune_of(torch).identity(torch_module, "bias")
    prune_of(ember).identity(ember_module, "bias")
    assert_same_state(torch_module, ember_module)
    assert ember_module.bias_mask.dtype == ember.float64 and bool(ember_module.bias_mask.all())
    assert_same_call(torch_module, ember_module, (2, 5), seed=9)


def test_prune_method_multiplies_a_tensor_by_its_mask():
    values = np.random.default_rng(10).permutation(np.arange(1.0, 13.0)) - 6.5
    for importance in (None, np.arange(12.0)[::-1].copy()):
        results = []
        for lib in (torch, ember):
            scores = None if importance is None else lib.tensor(importance)
            method = prune_of(lib).L1Unstructured(0.5)
            results.append(method.prune(lib.tensor(values), importance_scores=scores).numpy())
        np.testing.assert_array_equal(results[1], results[0])


# ---------------------------------------------------------------- iterative and global pruning
def test_iterative_pruning_combines_the_masks_in_a_container():
    torch_module, ember_module = twins(conv, seed=11)
    steps = [
        ("l1_unstructured", ("weight", 9)),
        ("ln_structured", ("weight", 1, 1, 0)),
        ("l1_unstructured", ("weight", 0.4)),
        ("ln_structured", ("weight", 0.5, 2, 1)),
        ("custom_from_mask", ("weight", None)),
    ]
    mask = np.random.default_rng(12).integers(0, 2, (4, 3, 2, 2)).astype(bool)
    for count, (function, args) in enumerate(steps, start=1):
        for lib, module in ((torch, torch_module), (ember, ember_module)):
            call_args = args if args[1] is not None else (args[0], lib.tensor(mask))
            getattr(prune_of(lib), function)(module, *call_args)
        assert_same_state(torch_module, ember_module)
        hooks = list(ember_module._forward_pre_hooks.values())
        assert len(hooks) == 1
        if count > 1:
            assert type(hooks[0]) is prune_of(ember).PruningContainer and len(hooks[0]) == count
            assert hooks[0]._tensor_name == "weight"
            assert [type(m).__name__ for m in hooks[0]] == \
                [type(m).__name__ for m in list(torch_module._forward_pre_hooks.values())[0]]
    assert_same_call(torch_module, ember_module, (2, 3, 5, 5), seed=13)


@pytest.mark.parametrize("amount", [13, 0.45])
def test_global_unstructured_ranks_all_tensors_together(amount):
    modules = {lib: [] for lib in (torch, ember)}
    for seed, make in ((14, linear), (15, conv)):
        pair = twins(make, seed)
        modules[torch].append(pair[0])
        modules[ember].append(pair[1])
    for step in range(2):
        for lib in (torch, ember):
            first, second = modules[lib]
            parameters = [(first, "weight"), (second, "weight"), (first, "bias")]
            result = prune_of(lib).global_unstructured(
                parameters, prune_of(lib).L1Unstructured, amount=amount)
            assert result is None
        for torch_module, ember_module in zip(modules[torch], modules[ember]):
            assert_same_state(torch_module, ember_module)
        hook = list(modules[ember][0]._forward_pre_hooks.values())[0]
        expected = "CustomFromMask" if step == 0 else "PruningContainer"
        assert type(hook).__name__ == expected


def test_global_unstructured_with_importance_scores():
    results = []
    for lib in (torch, ember):
        first, second = (lib.nn.Linear(3, 2).double(), lib.nn.Linear(2, 2).double())
        rng = np.random.default_rng(16)  # the same scores for both libraries
        scores = {(first, "weight"): lib.tensor(rng.permutation(6.0 * np.arange(1, 7))
                                                .reshape(2, 3)),
                  (second, "weight"): lib.tensor(rng.permutation(np.arange(1.5, 5.5))
                                                 .reshape(2, 2))}
        prune_of(lib).global_unstructured([(first, "weight"), (second, "weight")],
                                          prune_of(lib).L1Unstructured, importance_scores=scores,
                                          amount=5)
        results.append([first.weight_mask.numpy(), second.weight_mask.numpy()])
    for ember_mask, torch_mask in zip(results[1], results[0]):
        np.testing.assert_array_equal(ember_mask, torch_mask)


# ---------------------------------------------------------------- random pruning
def test_random_unstructured_prunes_the_amount_reproducibly():
    module = ember.nn.Linear(20, 10)
    ember.manual_seed(3)
    prune_of(ember).random_unstructured(module, "weight", 0.3)
    first_mask = module.weight_mask.numpy().copy()
    assert int((first_mask == 0).sum()) == 60
    np.testing.assert_array_equal((module.weight == 0).numpy(), first_mask == 0)
    prune_of(ember).random_unstructured(module, "weight", 0.25)  # a quarter of the 140 left
    second_mask = module.weight_mask.numpy()
    assert int((second_mask == 0).sum()) == 60 + 35
    assert np.all(second_mask[first_mask == 0] == 0)
    again = ember.nn.Linear(20, 10)
    ember.manual_seed(3)
    prune_of(ember).random_unstructured(again, "weight", 0.3)
    np.testing.assert_array_equal(again.weight_mask.numpy(), first_mask)
    other = ember.nn.Linear(20, 10)
    ember.manual_seed(4)
    prune_of(ember).random_unstructured(other, "weight", 0.3)
    assert not np.array_equal(other.weight_mask.numpy(), first_mask)


def test_random_unstructured_picks_every_entry_alike():
    ember.manual_seed(0)
    counts = np.zeros(10)
    for _ in range(300):
        module = ember.nn.Linear(10, 1, bias=False)
        prune_of(ember).random_unstructured(module, "weight", 3)
        counts += module.weight_mask.numpy()[0] == 0
    # each entry is pruned with probability 0.3: 90 of 300, standard deviation about 8
    assert counts.sum() == 900 and counts.min() > 55 and counts.max() < 125


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels_reproducibly(dim):
    module = ember.nn.Conv2d(6, 8, 2)
    ember.manual_seed(5)
    prune_of(ember).random_structured(module, "weight", 0.5, dim)
    mask = module.weight_mask.numpy()
    other_dims = tuple(d for d in range(4) if d != dim % 4)
    channels = mask.sum(axis=other_dims)
    channel_size = mask.size // mask.shape[dim]
    assert sorted(set(channels.tolist())) == [0.0, float(channel_size)]
    assert int((channels == 0).sum()) == round(0.5 * mask.shape[dim])
    again = ember.nn.Conv2d(6, 8, 2)
    ember.manual_seed(5)
    prune_of(ember).random_structured(again, "weight", 0.5, dim)
    np.testing.assert_array_equal(again.weight_mask.numpy(), mask)


# ---------------------------------------------------------------- hook, remove, state dicts
def test_the_hook_recomputes_the_weight_from_orig_and_mask():
    torch_module, ember_module = twins(linear, seed=17)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        prune_of(lib).l1_unstructured(module, "weight", 8)
        with lib.no_grad():
            module.weight_orig.mul_(-2.0)
    assert_same_call(torch_module, ember_module, (3, 5), seed=18)
    np.testing.assert_array_equal(ember_module.weight.detach().numpy(),
                                  torch_module.weight.detach().numpy())


def test_remove_makes_the_pruning_permanent():
    torch_module, ember_module = twins(conv, seed=19)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        prune = prune_of(lib)
        prune.l1_unstructured(module, "weight", 0.3)
        prune.ln_structured(module, "weight", 1, 2, 0)
        prune.random_unstructured(module, "bias", 0)
        assert prune.remove(module, "weight") is module
    assert_same_state(torch_module, ember_module)
    assert type(ember_module.weight) is ember.nn.Parameter
    assert prune_of(ember).is_pruned(ember_module)
    prune_of(torch).remove(torch_module, "bias")
    prune_of(ember).remove(ember_module, "bias")
    assert not prune_of(ember).is_pruned(ember_module) and not ember_module._forward_pre_hooks
    assert_same_state(torch_module, ember_module)
    assert_same_call(torch_module, ember_module, (1, 3, 4, 4), seed=20)


def test_a_pruned_state_dict_loads_into_a_pruned_module():
    torch_module, _ = twins(linear, seed=21)
    prune_of(torch).l1_unstructured(torch_module, "weight", 6)
    ember_module = linear(ember).double()
    prune_of(ember).random_unstructured(ember_module, "weight", 11)
    state = {key: ember.tensor(value.numpy()) for key, value in torch_module.state_dict().items()}
    assert str(ember_module.load_state_dict(state)) == "<All keys matched successfully>"
    assert_same_state(torch_module, ember_module)
    assert_same_call(torch_module, ember_module, (2, 5), seed=22)
    plain = linear(ember).double()
    result = plain.load_state_dict(state, strict=False)
    expected = linear(torch).double().load_state_dict(torch_module.state_dict(), strict=False)
    assert result.missing_keys == expected.missing_keys
    assert result.unexpected_keys == expected.unexpected_keys


def test_gradcheck_through_a_pruned_layer():
    module = linear(ember).double()
    prune_of(ember).l1_unstructured(module, "weight", 0.5)
    rng = np.random.default_rng(23)
    x = ember.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    assert ember.autograd.gradcheck(module, (x,))
    # the mask ranks distinct values, which a finite difference does not reorder
    t = ember.tensor(rng.permutation(np.arange(1.0, 13.0)) - 6.25, requires_grad=True)
    method = prune_of(ember).L1Unstructured(5)
    assert ember.autograd.gradcheck(method.prune, (t,))
    assert ember.autograd.gradgradcheck(method.prune, (t,))


def test_prune_is_reachable_as_in_pytorch():
    import ember.nn.utils.prune as imported

    assert ember.nn.utils.prune is imported
    assert issubclass(imported.PruningContainer, imported.BasePruningMethod)
    imports = {"ABC", "Iterable", "abstractmethod", "numbers", "torch"}
    public = {name for name in dir(prune_of(torch)) if not name.startswith("_")} - imports
    assert public == set(imported.__all__)
    assert all(hasattr(imported, name) for name in public)


# ---------------------------------------------------------------- errors
def _with_name(lib, name):
    method = prune_of(lib).L1Unstructured(0.5)
    method._tensor_name = name
    return method


def _structured_without_dim(lib):
    class Rows(prune_of(lib).BasePruningMethod):
        PRUNING_TYPE = "structured"

        def compute_mask(self, t, default_mask):
            return default_mask

    container = prune_of(lib).PruningContainer(_with_name(lib, "w"))
    method = Rows()
    method._tensor_name = "w"
    container.add_pruning_method(method)
    return container.compute_mask(lib.ones(3, 4), lib.ones(3, 4))


ERRORS = [
    ErrorCase("amount_string", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.Linear(3, 4), "weight", "a")),
    ErrorCase("amount_negative", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.Linear(3, 4), "weight", -1)),
    ErrorCase("amount_above_one", lambda lib: prune_of(lib).random_unstructured(
        lib.nn.Linear(3, 4), "weight", 1.5)),
    ErrorCase("amount_too_many", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.Linear(3, 4), "weight", 13)),
    ErrorCase("amount_too_many_channels", lambda lib: prune_of(lib).ln_structured(
        lib.nn.Linear(3, 4), "weight", 5, 2, 0)),
    ErrorCase("structured_on_a_vector", lambda lib: prune_of(lib).ln_structured(
        lib.nn.Linear(3, 4), "bias", 1, 2, 0)),
    ErrorCase("structured_dim_too_large", lambda lib: prune_of(lib).random_structured(
        lib.nn.Linear(3, 4), "weight", 1, 2)),
    ErrorCase("structured_dim_too_small", lambda lib: prune_of(lib).ln_structured(
        lib.nn.Linear(3, 4), "weight", 1, 2, -3)),
    ErrorCase("frobenius_over_three_dims", lambda lib: prune_of(lib).ln_structured(
        lib.nn.Conv2d(3, 4, 2), "weight", 1, "fro", 0)),
    ErrorCase("no_such_tensor", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.Linear(3, 4), "nothere", 1)),
    ErrorCase("importance_shape", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.Linear(3, 4), "weight", 1, importance_scores=lib.ones(3))),
    ErrorCase("custom_mask_shape", lambda lib: prune_of(lib).custom_from_mask(
        lib.nn.Linear(3, 4), "weight", lib.ones(3))),
    ErrorCase("prune_a_buffer", lambda lib: prune_of(lib).l1_unstructured(
        lib.nn.BatchNorm1d(3), "running_mean", 1)),
    ErrorCase("remove_unpruned", lambda lib: prune_of(lib).remove(lib.nn.Linear(3, 4), "weight")),
    ErrorCase("global_not_iterable", lambda lib: prune_of(lib).global_unstructured(
        5, prune_of(lib).L1Unstructured, amount=2)),
    ErrorCase("global_scores_not_dict", lambda lib: prune_of(lib).global_unstructured(
        [(lib.nn.Linear(3, 4), "weight")], prune_of(lib).L1Unstructured, importance_scores=[1],
        amount=2)),
    ErrorCase("global_structured_method", lambda lib: prune_of(lib).global_unstructured(
        [(lib.nn.Linear(3, 4), "weight")], prune_of(lib).RandomStructured, amount=2, dim=0)),
    ErrorCase("container_of_a_number", lambda lib: prune_of(lib).PruningContainer(5)),
    ErrorCase("container_add_a_number", lambda lib: prune_of(lib).PruningContainer(
        _with_name(lib, "w")).add_pruning_method(5)),
    ErrorCase("container_other_tensor", lambda lib: prune_of(lib).PruningContainer(
        _with_name(lib, "w")).add_pruning_method(_with_name(lib, "v"))),
    ErrorCase("container_structured_without_dim", _structured_without_dim),
    ErrorCase("abstract_base", lambda lib: prune_of(lib).BasePruningMethod()),
    ErrorCase("apply_mask_unapplied", lambda lib: prune_of(lib).L1Unstructured(0.3).apply_mask(
        lib.nn.Linear(2, 2))),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_pytorch(case):
    check_error(case)


def test_a_failed_prune_leaves_the_module_as_it_was():
    module = ember.nn.Linear(3, 4)
    with pytest.raises(ValueError):
        prune_of(ember).l1_unstructured(module, "weight", 13)
    # the parameter is registered again, after ``bias``, as PyTorch does
    assert list(module.state_dict()) == ["bias", "weight"] and not module._forward_pre_hooks
    prune_of(ember).l1_unstructured(module, "weight", 2)
    with pytest.raises(ValueError):
        prune_of(ember).l1_unstructured(module, "weight", 11)
    # PyTorch loses the first method's hook here; ember keeps it
    hooks = list(module._forward_pre_hooks.values())
    assert len(hooks) == 1 and type(hooks[0]).__name__ == "L1Unstructured"
    assert int((module.weight_mask == 0).sum()) == 2
