"""``nn.utils.parametrize`` against PyTorch: registration (one original, several originals,
chains, buffers), the generated class, ``state_dict`` keys and loading, assignment through
``right_inverse``, removal, ``cached()``, transfer, copies, and the errors."""

from __future__ import annotations

import copy
import importlib
import pickle

import numpy as np
import pytest
import torch

import ember
from tests.nn.parametrize_oracle import check_states, make_pair, train_and_compare
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)


# ---------------------------------------------------------------- parametrizations
def symmetric(lib):
    """``X ↦ triu(X) + triu(X, 1)ᵀ``: a symmetric matrix; its own right inverse on one."""

    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    return Symmetric()


def scaled(lib, factor=2.0):
    """``X ↦ factor · X``, inverse ``X / factor``."""

    class Scaled(lib.nn.Module):
        def forward(self, X):
            return X * factor

        def right_inverse(self, X):
            return X / factor

    return Scaled()


def tanh_only(lib):
    """``X ↦ tanh(X)``, no right inverse."""

    class Tanh(lib.nn.Module):
        def forward(self, X):
            return lib.tanh(X)

    return Tanh()


def sum_of_two(lib):
    """Two originals, ``(A, B) ↦ A + B·B``; ``right_inverse(X) = (X - 1, ones)``."""

    class SumOfTwo(lib.nn.Module):
        def forward(self, A, B):
            return A + B * B

        def right_inverse(self, X):
            return X - 1.0, lib.ones_like(X)

    return SumOfTwo()


def counting(lib, counter):
    """``X ↦ X + 0`` that counts its calls in ``counter[0]``."""

    class Counting(lib.nn.Module):
        def forward(self, X):
            counter[0] += 1
            return X + 0.0

    return Counting()


def linear(lib):
    return lib.nn.Linear(4, 4)


# ---------------------------------------------------------------- registration and training
REGISTRATIONS = {
    "symmetric": [symmetric],
    "tanh": [tanh_only],
    "two originals": [sum_of_two],
    "chain": [symmetric, scaled, tanh_only],
    "chain after two originals": [sum_of_two, scaled],
}


@pytest.mark.parametrize("name", list(REGISTRATIONS))
def test_registration_and_training_match_torch(name):
    torch_module, ember_module = make_pair(linear, seed=1)
    for parametrization in REGISTRATIONS[name]:
        torch.nn.utils.parametrize.register_parametrization(
            torch_module, "weight", parametrization(torch))
        ember.nn.utils.parametrize.register_parametrization(
            ember_module, "weight", parametrization(ember))
    assert type(ember_module).__name__ == "ParametrizedLinear"
    assert isinstance(ember_module, ember.nn.Linear)
    assert len(ember_module.parametrizations.weight) == len(REGISTRATIONS[name])
    check_states(torch_module, ember_module)
    np.testing.assert_allclose(ember_module.weight.detach().numpy(),
                               torch_module.weight.detach().numpy(), atol=1e-12)
    train_and_compare(torch_module, ember_module, (3, 4), seed=2)


def test_conv2d_registration_and_training_match_torch():
    torch_module, ember_module = make_pair(lambda lib: lib.nn.Conv2d(2, 3, 3, padding=1), seed=3)
    torch.nn.utils.parametrize.register_parametrization(torch_module, "weight", symmetric(torch))
    ember.nn.utils.parametrize.register_parametrization(ember_module, "weight", symmetric(ember))
    torch.nn.utils.parametrize.register_parametrization(torch_module, "bias", scaled(torch, 3.0))
    ember.nn.utils.parametrize.register_parametrization(ember_module, "bias", scaled(ember, 3.0))
    check_states(torch_module, ember_module)
    train_and_compare(torch_module, ember_module, (2, 2, 5, 5), seed=4)


def test_the_original_is_the_parameter_the_optimizer_already_holds():
    for lib in (torch, ember):
        module = lib.nn.Linear(3, 3).double()
        weight = module.weight
        optimizer = lib.optim.SGD(module.parameters(), lr=0.5)
        lib.nn.utils.parametrize.register_parametrization(module, "weight", scaled(lib, 2.0))
        original = module.parametrizations.weight.original
        assert original is weight
        # right_inverse wrote weight / 2 into it, in place
        before = original.detach().clone()
        rng = np.random.default_rng(5)
        cotangent = lib.tensor(rng.standard_normal((4, 3)))
        module(lib.ones(4, 3, dtype=lib.float64)).backward(cotangent)
        optimizer.step()
        assert not lib.equal(original.detach(), before)


def test_gradcheck_through_a_chain():
    module = ember.nn.Linear(3, 3).double()
    for parametrization in (symmetric, scaled, tanh_only):
        ember.nn.utils.parametrize.register_parametrization(module, "weight",
                                                            parametrization(ember))
    chain = module.parametrizations.weight
    rng = np.random.default_rng(6)
    X = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)

    def parametrized(original):
        value = chain[0](original)
        for index in range(1, len(chain)):
            value = chain[index](value)
        return value

    assert ember.autograd.gradcheck(parametrized, (X,))


def test_a_buffer_can_be_parametrized():
    def make(lib):
        module = lib.nn.Module()
        module.register_buffer("table", lib.arange(9.0).reshape(3, 3))
        module.register_buffer("kept", lib.ones(2), persistent=False)
        return module

    modules = {}
    for lib in (torch, ember):
        module = make(lib).double()
        lib.nn.utils.parametrize.register_parametrization(module, "table", symmetric(lib))
        modules[lib.__name__] = module
        assert [name for name, _ in module.named_buffers()] == [
            "kept", "parametrizations.table.original"]
        assert list(module.parameters()) == []
        assert not module.table.requires_grad
    check_states(modules["torch"], modules["ember"])
    np.testing.assert_allclose(modules["ember"].table.numpy(), modules["torch"].table.numpy())


# ---------------------------------------------------------------- state dicts
def test_load_state_dict_into_a_parametrized_module():
    torch_module, _ = make_pair(linear, seed=7)
    torch.nn.utils.parametrize.register_parametrization(torch_module, "weight", sum_of_two(torch))
    torch.nn.utils.parametrize.register_parametrization(torch_module, "bias", scaled(torch))
    ember_module = linear(ember).double()
    ember.nn.utils.parametrize.register_parametrization(ember_module, "weight", sum_of_two(ember))
    ember.nn.utils.parametrize.register_parametrization(ember_module, "bias", scaled(ember))
    state = {key: ember.tensor(value.numpy().copy())
             for key, value in torch_module.state_dict().items()}
    assert list(state) == ["parametrizations.weight.original0",
                           "parametrizations.weight.original1",
                           "parametrizations.bias.original"]
    result = ember_module.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    check_states(torch_module, ember_module)
    x = np.random.default_rng(8).standard_normal((2, 4))
    np.testing.assert_allclose(ember_module(ember.tensor(x)).detach().numpy(),
                               torch_module(torch.tensor(x)).detach().numpy(), atol=1e-12)
    with pytest.raises(RuntimeError):
        ember_module.load_state_dict({"weight": ember.zeros(4, 4)})
    with pytest.raises(RuntimeError):
        torch_module.load_state_dict({"weight": torch.zeros(4, 4)})


# ---------------------------------------------------------------- assignment
@pytest.mark.parametrize("name", ["symmetric", "two originals", "chain after two originals"])
def test_assignment_goes_through_right_inverse(name):
    torch_module, ember_module = make_pair(linear, seed=9)
    for parametrization in REGISTRATIONS[name]:
        torch.nn.utils.parametrize.register_parametrization(
            torch_module, "weight", parametrization(torch))
        ember.nn.utils.parametrize.register_parametrization(
            ember_module, "weight", parametrization(ember))
    value = np.random.default_rng(10).standard_normal((4, 4))
    value = value + value.T
    torch_module.weight = torch.tensor(value)
    ember_module.weight = ember.tensor(value)
    check_states(torch_module, ember_module)
    np.testing.assert_allclose(ember_module.weight.detach().numpy(), value, atol=1e-12)


# ---------------------------------------------------------------- removal
@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_a_single_original(leave_parametrized):
    torch_module, ember_module = make_pair(linear, seed=11)
    held = {}
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        parametrize = lib.nn.utils.parametrize
        parametrize.register_parametrization(module, "weight", symmetric(lib))
        parametrize.register_parametrization(module, "weight", scaled(lib, 3.0))
        parametrize.register_parametrization(module, "bias", scaled(lib, 2.0))
        held[lib.__name__] = module.parametrizations.weight.original
        parametrize.remove_parametrizations(module, "weight", leave_parametrized)
        assert module.weight is held[lib.__name__]  # the same Parameter object, refilled
        assert isinstance(module.weight, lib.nn.Parameter)
        assert parametrize.is_parametrized(module) and not parametrize.is_parametrized(
            module, "weight")
        assert type(module).__name__ == "ParametrizedLinear"
        parametrize.remove_parametrizations(module, "bias", leave_parametrized)
        assert type(module) is lib.nn.Linear
        assert not parametrize.is_parametrized(module)
        assert not hasattr(module, "parametrizations")
        assert [name for name, _ in module.named_parameters()] == ["weight", "bias"]
    check_states(torch_module, ember_module)
    train_and_compare(torch_module, ember_module, (3, 4), seed=12)


def test_remove_several_originals_leaves_a_new_parameter():
    torch_module, ember_module = make_pair(linear, seed=13)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        parametrize = lib.nn.utils.parametrize
        parametrize.register_parametrization(module, "weight", sum_of_two(lib))
        rng = np.random.default_rng(14)
        with lib.no_grad():
            module.parametrizations.weight.original1.copy_(
                lib.tensor(rng.standard_normal((4, 4))))
        parametrize.remove_parametrizations(module, "weight")
        assert isinstance(module.weight, lib.nn.Parameter) and module.weight.requires_grad
        assert module.weight.grad_fn is None
    check_states(torch_module, ember_module)


def test_type_before_parametrizations():
    for lib in (torch, ember):
        parametrize = lib.nn.utils.parametrize
        module = lib.nn.Linear(3, 3)
        assert parametrize.type_before_parametrizations(module) is lib.nn.Linear
        parametrize.register_parametrization(module, "weight", symmetric(lib))
        assert type(module) is not lib.nn.Linear
        assert parametrize.type_before_parametrizations(module) is lib.nn.Linear
        assert type(module).__mro__[1] is lib.nn.Linear
        assert isinstance(module.parametrizations, lib.nn.ModuleDict)
        assert isinstance(module.parametrizations.weight, parametrize.ParametrizationList)
        # a second parametrized module gets a class of its own
        other = parametrize.register_parametrization(lib.nn.Linear(3, 3), "bias", scaled(lib))
        assert type(other) is not type(module) and not hasattr(type(other), "weight")


def test_is_parametrized():
    for lib in (torch, ember):
        parametrize = lib.nn.utils.parametrize
        module = lib.nn.Linear(3, 3)
        assert not parametrize.is_parametrized(module)
        assert not parametrize.is_parametrized(module, "weight")
        parametrize.register_parametrization(module, "weight", symmetric(lib))
        assert parametrize.is_parametrized(module)
        assert parametrize.is_parametrized(module, "weight")
        assert not parametrize.is_parametrized(module, "bias")


# ---------------------------------------------------------------- caching
def test_cached_computes_each_tensor_once_per_block():
    counts = {}
    for lib in (torch, ember):
        counter = [0]
        parametrize = lib.nn.utils.parametrize
        module = lib.nn.Linear(3, 3)
        parametrize.register_parametrization(module, "weight", counting(lib, counter))
        after_registration = counter[0]
        module.weight, module.weight
        outside = counter[0] - after_registration
        with parametrize.cached():
            first = module.weight
            assert module.weight is first
            with parametrize.cached():
                assert module.weight is first
            assert module.weight is first  # the inner block's exit keeps the outer cache
        inside = counter[0] - after_registration - outside
        module.weight
        counts[lib.__name__] = (after_registration, outside, inside, counter[0])
    assert counts["ember"] == counts["torch"]
    assert counts["ember"][1:3] == (2, 1)


# ---------------------------------------------------------------- transfer and copies
def test_transfer_parametrizations_and_params():
    torch_source, ember_source = make_pair(linear, seed=15)
    torch_target, ember_target = make_pair(linear, seed=16)
    for lib, source, target in ((torch, torch_source, torch_target),
                                (ember, ember_source, ember_target)):
        parametrize = lib.nn.utils.parametrize
        parametrize.register_parametrization(source, "weight", sum_of_two(lib))
        parametrize.register_parametrization(source, "weight", scaled(lib))
        parametrize.transfer_parametrizations_and_params(source, target)
        assert parametrize.is_parametrized(target, "weight")
        assert len(target.parametrizations.weight) == 2
        for index in range(2):
            assert (getattr(target.parametrizations.weight, f"original{index}")
                    is getattr(source.parametrizations.weight, f"original{index}"))
    check_states(torch_target, ember_target)
    np.testing.assert_allclose(ember_target.weight.detach().numpy(),
                               torch_target.weight.detach().numpy(), atol=1e-12)


def test_transfer_creates_a_missing_tensor():
    for lib in (torch, ember):
        parametrize = lib.nn.utils.parametrize
        source = lib.nn.Linear(3, 3)
        parametrize.register_parametrization(source, "weight", scaled(lib))
        target = lib.nn.Identity()
        parametrize.transfer_parametrizations_and_params(source, target, "weight")
        assert target.parametrizations.weight.original is source.parametrizations.weight.original
        assert lib.equal(target.weight, source.weight)


def test_deepcopy_is_independent_and_pickling_is_refused():
    for lib in (torch, ember):
        parametrize = lib.nn.utils.parametrize
        module = lib.nn.Linear(3, 3).double()
        parametrize.register_parametrization(module, "weight", scaled(lib))
        replica = copy.deepcopy(module)
        assert type(replica) is type(module)
        assert replica.parametrizations.weight.original is not (
            module.parametrizations.weight.original)
        assert lib.equal(replica.weight, module.weight)
        with lib.no_grad():
            replica.parametrizations.weight.original.add_(1.0)
        assert not lib.equal(replica.weight, module.weight)
        with pytest.raises(RuntimeError):
            pickle.dumps(module)
        parametrize.remove_parametrizations(module, "weight")
        pickle.dumps(module)


# ---------------------------------------------------------------- where the names live
# PyTorch's legacy spectral_norm also registers a state-dict hook and a load pre-hook for
# checkpoints of before 2019; ember's Module has no such hooks, so neither class exists.
LEFT_OUT = {"spectral_norm": {"SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook"}}


@pytest.mark.parametrize("path", ["parametrize", "parametrizations", "weight_norm",
                                  "spectral_norm"])
def test_public_names_at_pytorchs_paths(path):
    torch_module = importlib.import_module(f"torch.nn.utils.{path}")
    ember_module = importlib.import_module(f"ember.nn.utils.{path}")
    expected = set(torch_module.__all__) - LEFT_OUT.get(path, set())
    assert expected <= set(ember_module.__all__)
    for name in expected:
        assert callable(getattr(ember_module, name)), name
    for name in ("weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"):
        assert getattr(ember.nn.utils, name) is getattr(
            importlib.import_module(f"ember.nn.utils.{name.removeprefix('remove_')}"), name)
    assert ember.nn.utils.parametrize.register_parametrization is (
        importlib.import_module("ember.nn.utils.parametrize").register_parametrization)


# ---------------------------------------------------------------- errors
def _registered(lib, *parametrizations, unsafe=False, module=None):
    module = lib.nn.Linear(3, 4).double() if module is None else module
    for parametrization in parametrizations:
        lib.nn.utils.parametrize.register_parametrization(module, "weight", parametrization(lib),
                                                          unsafe=unsafe)
    return module


def _to_float32(lib):
    class ToFloat32(lib.nn.Module):
        def forward(self, X):
            return X.float()

    return ToFloat32()


def _first_row(lib):
    class FirstRow(lib.nn.Module):
        def forward(self, X):
            return X[0]

    return FirstRow()


def _not_a_tensor(lib):
    class NotATensor(lib.nn.Module):
        def forward(self, X):
            return 3

    return NotATensor()


def _bad_inverse(result):
    def make(lib):
        class BadInverse(lib.nn.Module):
            def forward(self, X):
                return X

            def right_inverse(self, X):
                return result(lib, X)

        return BadInverse()

    return make


def _first_of_several(lib):
    """Two originals for a matrix, three for anything else."""

    class FirstOfSeveral(lib.nn.Module):
        def forward(self, *originals):
            return originals[0]

        def right_inverse(self, X):
            return (X, X) if X.ndim == 2 else (X, X, X)

    return FirstOfSeveral()


def _assign(module, name, value):
    setattr(module, name, value)
    return module


def _leave_unparametrized(lib):
    module = _registered(lib, sum_of_two)
    return lib.nn.utils.parametrize.remove_parametrizations(module, "weight", False)


ERRORS = [
    ErrorCase("not a tensor of the module", lambda lib: lib.nn.utils.parametrize
              .register_parametrization(lib.nn.Linear(3, 4), "foo", scaled(lib))),
    ErrorCase("changes the dtype", lambda lib: _registered(lib, _to_float32)),
    ErrorCase("changes the shape", lambda lib: _registered(lib, _first_row)),
    ErrorCase("returns no tensor", lambda lib: _registered(lib, _not_a_tensor)),
    ErrorCase("chained change of shape",
              lambda lib: _registered(lib, _first_row, module=_registered(
                  lib, _first_row, unsafe=True))),
    ErrorCase("chained change of dtype",
              lambda lib: _registered(lib, _to_float32, module=_registered(lib, scaled))),
    ErrorCase("chained no tensor",
              lambda lib: _registered(lib, _not_a_tensor, module=_registered(lib, scaled))),
    ErrorCase("chained inverse changes the shape", lambda lib: _registered(
        lib, _bad_inverse(lambda lib, X: X[0]), module=_registered(lib, scaled))),
    ErrorCase("inverse changes the dtype",
              lambda lib: _registered(lib, _bad_inverse(lambda lib, X: X.float()))),
    ErrorCase("inverse returns no tensor",
              lambda lib: _registered(lib, _bad_inverse(lambda lib, X: 3))),
    ErrorCase("inverse sequence of non-tensors",
              lambda lib: _registered(lib, _bad_inverse(lambda lib, X: (X, 3)))),
    ErrorCase("remove what is not parametrized", lambda lib: lib.nn.utils.parametrize
              .remove_parametrizations(_registered(lib, scaled), "bias")),
    ErrorCase("remove from a plain module", lambda lib: lib.nn.utils.parametrize
              .remove_parametrizations(lib.nn.Linear(2, 2), "weight")),
    ErrorCase("leave several originals unparametrized", _leave_unparametrized),
    ErrorCase("assign without right_inverse",
              lambda lib: _assign(_registered(lib, tanh_only), "weight", lib.zeros(4, 3))),
    ErrorCase("assign a wrong dtype",
              lambda lib: _assign(_registered(lib, scaled), "weight", lib.zeros(4, 3))),
    ErrorCase("assign a wrong number of originals", lambda lib: _assign(
        _registered(lib, _first_of_several), "weight", lib.zeros(3, dtype=lib.float64))),
    ErrorCase("assign a parameter over the property", lambda lib: _assign(
        _registered(lib, scaled), "weight", lib.nn.Parameter(lib.zeros(4, 3)))),
    ErrorCase("empty ParametrizationList",
              lambda lib: lib.nn.utils.parametrize.ParametrizationList([], lib.zeros(2))),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_torch(case):
    check_error(case)


def test_bad_registrations_leave_the_module_alone():
    for lib in (torch, ember):
        module = lib.nn.Linear(3, 4).double()
        with pytest.raises(ValueError):
            lib.nn.utils.parametrize.register_parametrization(module, "weight", _first_row(lib))
        assert type(module) is lib.nn.Linear
        assert [name for name, _ in module.named_parameters()] == ["weight", "bias"]
