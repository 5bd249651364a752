"""``nn.utils.parametrizations`` (``weight_norm``, ``spectral_norm``, ``orthogonal``) and the
legacy hooks ``nn.utils.weight_norm`` / ``spectral_norm`` against PyTorch, in float64, on
``Linear`` and convolution layers: the state after registration, a few SGD steps (outputs and
every parameter's gradient from a random cotangent), removal, and the errors.

The power iteration starts from random vectors and the orthogonal base of a non-square weight
is completed with random columns, in both libraries; those buffers are copied from PyTorch
into ember before the runs are compared, and checked by their properties on their own.
"""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
import torch

import ember
from ember.nn.utils.weight_norm import WeightNorm
from tests.nn.parametrize_oracle import check_states, make_pair, train_and_compare
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)

LAYERS = {
    "linear": (lambda lib: lib.nn.Linear(5, 4), (3, 5)),
    "conv2d": (lambda lib: lib.nn.Conv2d(3, 4, 3, padding=1), (2, 3, 5, 5)),
}


def _parametrized_pair(layer, parametrize, seed, random_keys=()):
    make, input_shape = LAYERS[layer]
    torch_module, ember_module = make_pair(make, seed=seed)
    parametrize(torch, torch_module)
    parametrize(ember, ember_module)
    check_states(torch_module, ember_module, random_keys=random_keys)
    return torch_module, ember_module, input_shape


# ---------------------------------------------------------------- weight_norm
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("dim", [0, 1, None, -1, -2])
def test_weight_norm_matches_torch(layer, dim):
    def parametrize(lib, module):
        lib.nn.utils.parametrizations.weight_norm(module, dim=dim)

    torch_module, ember_module, input_shape = _parametrized_pair(layer, parametrize, seed=1)
    assert list(ember_module.state_dict()) == [
        "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    # the weight is unchanged by the registration
    np.testing.assert_allclose(ember_module.weight.detach().numpy(),
                               torch_module.weight.detach().numpy(), atol=1e-12)
    train_and_compare(torch_module, ember_module, input_shape, seed=2)


def test_weight_norm_gradcheck():
    module = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(3, 4).double())
    parametrization = module.parametrizations.weight[0]
    rng = np.random.default_rng(3)
    g = ember.tensor(rng.uniform(0.5, 2.0, (4, 1)), requires_grad=True)
    v = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(parametrization, (g, v))


# ---------------------------------------------------------------- spectral_norm
SPECTRAL_LAYERS = {
    "linear": (lambda lib: lib.nn.Linear(5, 4), (3, 5)),
    "conv2d": (lambda lib: lib.nn.Conv2d(3, 4, 3, padding=1), (2, 3, 5, 5)),
    "conv_transpose2d": (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3), (2, 3, 4, 4)),
}


@pytest.mark.parametrize("layer", list(SPECTRAL_LAYERS))
@pytest.mark.parametrize("iterations, dim", [(1, None), (3, None), (2, 1)])
def test_spectral_norm_matches_torch(layer, iterations, dim):
    make, input_shape = SPECTRAL_LAYERS[layer]
    torch_module, ember_module = make_pair(make, seed=4)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrizations.spectral_norm(module, n_power_iterations=iterations,
                                                    dim=dim)
    random_keys = ["parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    assert list(ember_module.state_dict()) == [
        "bias", "parametrizations.weight.original"] + random_keys
    check_states(torch_module, ember_module, random_keys=random_keys)
    train_and_compare(torch_module, ember_module, input_shape, seed=5)
    # eval mode: no power iteration, so the buffers stay as they are
    torch_module.eval()
    ember_module.eval()
    before = {key: value.clone() for key, value in ember_module.state_dict().items()}
    train_and_compare(torch_module, ember_module, input_shape, seed=6, lr=0.0)
    for key, value in ember_module.state_dict().items():
        assert ember.equal(value, before[key]), key


def test_spectral_norm_of_a_vector_matches_torch():
    torch_module, ember_module = make_pair(lambda lib: lib.nn.Linear(5, 4), seed=7)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrizations.spectral_norm(module, name="bias")
    # a 1-d tensor is divided by its norm: no buffers
    check_states(torch_module, ember_module)
    train_and_compare(torch_module, ember_module, (3, 5), seed=8)


def test_spectral_norm_start_is_random_but_reproducible():
    rng = np.random.default_rng(9)
    # singular values 5, 1, 0.5, 0.1: the 15 starting iterations converge to the first one
    left, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    right, _ = np.linalg.qr(rng.standard_normal((5, 4)))
    weight = left @ np.diag([5.0, 1.0, 0.5, 0.1]) @ right.T

    def registered(seed):
        ember.manual_seed(seed)
        module = ember.nn.Linear(5, 4).double()
        with ember.no_grad():
            module.weight.copy_(ember.tensor(weight))
        ember.nn.utils.parametrizations.spectral_norm(module)
        return module

    first, again, other = registered(0), registered(0), registered(1)
    buffers = first.parametrizations.weight[0]
    assert ember.equal(buffers._u, again.parametrizations.weight[0]._u)
    assert ember.equal(buffers._v, again.parametrizations.weight[0]._v)
    assert not ember.equal(buffers._v, other.parametrizations.weight[0]._v)
    assert buffers._u.shape == (4,) and buffers._v.shape == (5,)
    assert buffers._u.dtype == ember.float64
    np.testing.assert_allclose(ember.linalg.vector_norm(buffers._u).item(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ember.linalg.vector_norm(buffers._v).item(), 1.0, rtol=1e-12)
    # the normalized weight has spectral norm 1
    singular = np.linalg.svd(first.weight.detach().numpy(), compute_uv=False)
    np.testing.assert_allclose(singular[0], 1.0, rtol=1e-6)


def test_spectral_norm_gradcheck():
    module = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(4, 3).double())
    module.eval()  # in training each call moves the buffers, so the map is not a function
    parametrization = module.parametrizations.weight[0]
    X = ember.tensor(np.random.default_rng(10).standard_normal((3, 4)), requires_grad=True)
    assert ember.autograd.gradcheck(parametrization, (X,))


# ---------------------------------------------------------------- orthogonal
ORTHOGONAL_LAYERS = {
    "square": (lambda lib: lib.nn.Linear(4, 4), (3, 4)),
    "tall": (lambda lib: lib.nn.Linear(3, 5), (2, 3)),
    "wide": (lambda lib: lib.nn.Linear(5, 3), (2, 5)),
    "conv2d batch": (lambda lib: lib.nn.Conv2d(2, 3, 3, padding=1), (2, 2, 4, 4)),
}


@pytest.mark.parametrize("layer", list(ORTHOGONAL_LAYERS))
@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder", None])
def test_orthogonal_matches_torch(layer, orthogonal_map):
    make, input_shape = ORTHOGONAL_LAYERS[layer]
    torch_module, ember_module = make_pair(make, seed=11)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrizations.orthogonal(module, orthogonal_map=orthogonal_map)
    square = layer in ("square", "conv2d batch")
    # a square weight's base is its own orthogonalization; a non-square one is completed with
    # random columns, whose part of the base is copied from PyTorch
    random_keys = [] if square else ["parametrizations.weight.0.base"]
    assert list(ember_module.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0.base"]
    # the parametrized weight starts as the orthogonalized weight, in both cases
    np.testing.assert_allclose(ember_module.weight.detach().numpy(),
                               torch_module.weight.detach().numpy(), atol=1e-10)
    check_states(torch_module, ember_module, random_keys=random_keys)
    train_and_compare(torch_module, ember_module, input_shape, seed=12)
    weight = ember_module.weight.detach().numpy()
    matrices = weight if weight.shape[-2] >= weight.shape[-1] else np.swapaxes(weight, -1, -2)
    gram = np.swapaxes(matrices, -1, -2) @ matrices
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(gram.shape[-1]), gram.shape),
                               atol=1e-10)


@pytest.mark.parametrize("layer", ["square", "tall", "wide"])
def test_orthogonal_householder_without_trivialization_matches_torch(layer):
    make, input_shape = ORTHOGONAL_LAYERS[layer]
    torch_module, ember_module = make_pair(make, seed=13)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrizations.orthogonal(module, orthogonal_map="householder",
                                                 use_trivialization=False)
    assert list(ember_module.state_dict()) == ["bias", "parametrizations.weight.original"]
    check_states(torch_module, ember_module)
    train_and_compare(torch_module, ember_module, input_shape, seed=14)
    # assigning an orthogonal matrix stores its QR form, which gives it back
    rng = np.random.default_rng(15)
    shape = tuple(torch_module.weight.shape)
    Q, _ = np.linalg.qr(rng.standard_normal((max(shape), min(shape))))
    Q = Q if shape[0] >= shape[1] else Q.T
    torch_module.weight = torch.tensor(Q)
    ember_module.weight = ember.tensor(Q)
    check_states(torch_module, ember_module)
    np.testing.assert_allclose(ember_module.weight.detach().numpy(), Q, atol=1e-10)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_assignment_resets_the_base(orthogonal_map):
    torch_module, ember_module = make_pair(ORTHOGONAL_LAYERS["square"][0], seed=16)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrizations.orthogonal(module, orthogonal_map=orthogonal_map)
    value = np.random.default_rng(17).standard_normal((4, 4))
    torch_module.weight = torch.tensor(value)
    ember_module.weight = ember.tensor(value)
    check_states(torch_module, ember_module)
    train_and_compare(torch_module, ember_module, (3, 4), seed=18)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_gradcheck(orthogonal_map):
    module = ember.nn.utils.parametrizations.orthogonal(ember.nn.Linear(3, 5).double(),
                                                        orthogonal_map=orthogonal_map)
    parametrization = module.parametrizations.weight[0]
    X = np.random.default_rng(19).standard_normal((5, 3)) * 0.5
    # Householder reads the signs of the columns from the diagonal's integer part, which a
    # finite difference at exactly ±1 would cross
    np.fill_diagonal(X, -1.5)
    assert ember.autograd.gradcheck(parametrization, (ember.tensor(X, requires_grad=True),))


# ---------------------------------------------------------------- removal
@pytest.mark.parametrize("which", ["weight_norm", "spectral_norm", "orthogonal"])
def test_remove_leaves_the_parametrized_weight(which):
    torch_module, ember_module = make_pair(LAYERS["linear"][0], seed=20)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        getattr(lib.nn.utils.parametrizations, which)(module)
    check_states(torch_module, ember_module, random_keys=[
        key for key in torch_module.state_dict() if key.rpartition(".")[2] in ("_u", "_v",
                                                                              "base")])
    train_and_compare(torch_module, ember_module, (3, 5), seed=21)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.parametrize.remove_parametrizations(module, "weight")
        assert type(module) is lib.nn.Linear
        assert isinstance(module.weight, lib.nn.Parameter)
    check_states(torch_module, ember_module, atol=1e-9)
    assert list(ember_module.state_dict()) == ["bias", "weight"]


# ---------------------------------------------------------------- legacy weight_norm
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("dim", [0, 1, None])
def test_legacy_weight_norm_matches_torch(layer, dim):
    def parametrize(lib, module):
        with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
            lib.nn.utils.weight_norm(module, dim=dim)

    torch_module, ember_module, input_shape = _parametrized_pair(layer, parametrize, seed=22)
    assert list(ember_module.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert not isinstance(ember_module.weight, ember.nn.Parameter)
    train_and_compare(torch_module, ember_module, input_shape, seed=23)
    np.testing.assert_allclose(ember_module.weight.detach().numpy(),
                               torch_module.weight.detach().numpy(), atol=1e-10)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.remove_weight_norm(module)
        assert isinstance(module.weight, lib.nn.Parameter)
        assert not module._forward_pre_hooks
    check_states(torch_module, ember_module)
    assert list(ember_module.state_dict()) == ["bias", "weight"]


@pytest.mark.parametrize("dim, g_shape", [(0, (4, 1)), (1, (1, 3)), (None, ())])
def test_legacy_weight_norm_gradcheck(dim, g_shape):
    rng = np.random.default_rng(24)
    g = ember.tensor(rng.uniform(0.5, 2.0, g_shape), requires_grad=True)
    v = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    hook = WeightNorm("weight", dim)
    assert ember.autograd.gradcheck(
        lambda g, v: hook.compute_weight(types.SimpleNamespace(weight_g=g, weight_v=v)), (g, v))


# ---------------------------------------------------------------- legacy spectral_norm
@pytest.mark.parametrize("layer", list(SPECTRAL_LAYERS))
@pytest.mark.parametrize("iterations", [1, 3])
def test_legacy_spectral_norm_matches_torch(layer, iterations):
    make, input_shape = SPECTRAL_LAYERS[layer]
    torch_module, ember_module = make_pair(make, seed=25)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # PyTorch 2.13 does not warn here
            lib.nn.utils.spectral_norm(module, n_power_iterations=iterations)
        assert not isinstance(module.weight, lib.nn.Parameter)
    assert list(ember_module.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    check_states(torch_module, ember_module, random_keys=["weight_u", "weight_v"])
    train_and_compare(torch_module, ember_module, input_shape, seed=26)
    torch_module.eval()
    ember_module.eval()
    before = {key: value.clone() for key, value in ember_module.state_dict().items()}
    train_and_compare(torch_module, ember_module, input_shape, seed=27, lr=0.0)
    for key, value in ember_module.state_dict().items():
        assert ember.equal(value, before[key]), key
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        lib.nn.utils.remove_spectral_norm(module)
        assert isinstance(module.weight, lib.nn.Parameter)
        assert not module._forward_pre_hooks
    check_states(torch_module, ember_module)
    assert list(ember_module.state_dict()) == ["bias", "weight"]


def test_legacy_spectral_norm_start_is_random_but_reproducible():
    def registered(seed):
        ember.manual_seed(seed)
        return ember.nn.utils.spectral_norm(ember.nn.Linear(5, 4).double())

    first, again, other = registered(0), registered(0), registered(1)
    assert ember.equal(first.weight_u, again.weight_u)
    assert not ember.equal(first.weight_u, other.weight_u)
    assert first.weight_u.shape == (4,) and first.weight_v.shape == (5,)
    np.testing.assert_allclose(ember.linalg.vector_norm(first.weight_u).item(), 1.0,
                               rtol=1e-12)
    np.testing.assert_allclose(ember.linalg.vector_norm(first.weight_v).item(), 1.0,
                               rtol=1e-12)


@pytest.mark.parametrize("legacy", [False, True])
def test_spectral_norm_two_calls_before_one_backward(legacy):
    """Each training call updates u and v in place; the graph of an earlier call must keep
    the values it was computed with (PyTorch clones them)."""
    torch_module, ember_module = make_pair(LAYERS["linear"][0], seed=28)
    for lib, module in ((torch, torch_module), (ember, ember_module)):
        if legacy:
            lib.nn.utils.spectral_norm(module)
        else:
            lib.nn.utils.parametrizations.spectral_norm(module)
    random_keys = [key for key in torch_module.state_dict() if key[-2:] in ("_u", "_v")]
    check_states(torch_module, ember_module, random_keys=random_keys)

    def twice(module, x):
        return module(x) + module(x * 2.0)

    train_and_compare(torch_module, ember_module, (3, 5), seed=29, call=twice)


# ---------------------------------------------------------------- errors
def _legacy(function):
    def call(lib, *args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return getattr(lib.nn.utils, function)(*args, **kwargs)

    return call


def _orthogonal_assign(lib):
    module = lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    module.weight = lib.eye(3)


def _orthogonal_assign_shape(lib):
    module = lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 3))
    module.weight = lib.eye(4)


ERRORS = [
    ErrorCase("weight_norm no such tensor", lambda lib: lib.nn.utils.parametrizations
              .weight_norm(lib.nn.Linear(3, 4), name="foo")),
    ErrorCase("spectral_norm no such tensor", lambda lib: lib.nn.utils.parametrizations
              .spectral_norm(lib.nn.Linear(3, 4), name="foo")),
    ErrorCase("spectral_norm zero iterations", lambda lib: lib.nn.utils.parametrizations
              .spectral_norm(lib.nn.Linear(3, 4), n_power_iterations=0)),
    ErrorCase("spectral_norm dim out of range", lambda lib: lib.nn.utils.parametrizations
              .spectral_norm(lib.nn.Linear(3, 4), dim=2)),
    ErrorCase("orthogonal no such tensor", lambda lib: lib.nn.utils.parametrizations
              .orthogonal(lib.nn.Linear(3, 4), name="foo")),
    ErrorCase("orthogonal of a vector", lambda lib: lib.nn.utils.parametrizations
              .orthogonal(lib.nn.Linear(3, 4), name="bias")),
    ErrorCase("orthogonal unknown map", lambda lib: lib.nn.utils.parametrizations
              .orthogonal(lib.nn.Linear(3, 4), orthogonal_map="exp")),
    ErrorCase("orthogonal assign without trivialization", _orthogonal_assign),
    ErrorCase("orthogonal assign a wrong shape", _orthogonal_assign_shape),
    ErrorCase("legacy weight_norm no such parameter",
              lambda lib: _legacy("weight_norm")(lib, lib.nn.Linear(3, 4), name="foo")),
    ErrorCase("legacy weight_norm twice", lambda lib: _legacy("weight_norm")(
        lib, _legacy("weight_norm")(lib, lib.nn.Linear(3, 4)))),
    ErrorCase("legacy remove_weight_norm missing",
              lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(3, 4))),
    ErrorCase("legacy spectral_norm no such parameter",
              lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(3, 4), name="foo")),
    ErrorCase("legacy spectral_norm zero iterations", lambda lib: lib.nn.utils.spectral_norm(
        lib.nn.Linear(3, 4), n_power_iterations=0)),
    ErrorCase("legacy spectral_norm twice", lambda lib: lib.nn.utils.spectral_norm(
        lib.nn.utils.spectral_norm(lib.nn.Linear(3, 4)))),
    ErrorCase("legacy remove_spectral_norm missing",
              lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(3, 4))),
    ErrorCase("legacy remove_spectral_norm of a weight norm", lambda lib: lib.nn.utils
              .remove_spectral_norm(_legacy("weight_norm")(lib, lib.nn.Linear(3, 4)))),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_torch(case):
    check_error(case)
