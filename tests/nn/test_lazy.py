"""The lazy layers and ``UninitializedParameter``/``UninitializedBuffer`` against PyTorch:
the module before and after its first call (repr, class, shapes, state dict), outputs and
gradients once materialized, the initialization's distribution, loading a state dict into
a lazy layer, an optimizer made before the first call, copies, ``ember.compile``, and the
errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)

# name -> (the lazy layer, an input shape, the class it becomes)
LAYERS = {
    "linear": (lambda lib: lib.nn.LazyLinear(4), (3, 5), "Linear"),
    "linear_nobias_3d": (lambda lib: lib.nn.LazyLinear(2, bias=False), (2, 3, 6), "Linear"),
    "conv1d": (lambda lib: lib.nn.LazyConv1d(4, 3, padding=1), (2, 3, 7), "Conv1d"),
    "conv1d_unbatched": (lambda lib: lib.nn.LazyConv1d(2, 2), (3, 6), "Conv1d"),
    "conv2d_groups": (lambda lib: lib.nn.LazyConv2d(4, 3, stride=2, groups=2, bias=False),
                      (2, 4, 7, 7), "Conv2d"),
    "conv3d": (lambda lib: lib.nn.LazyConv3d(2, 2, padding_mode="reflect", padding=1),
               (1, 2, 3, 4, 4), "Conv3d"),
    "conv_transpose1d": (lambda lib: lib.nn.LazyConvTranspose1d(3, 3, stride=2,
                                                                output_padding=1),
                         (2, 2, 5), "ConvTranspose1d"),
    "conv_transpose2d": (lambda lib: lib.nn.LazyConvTranspose2d(4, 2, groups=2, dilation=2),
                         (1, 2, 4, 5), "ConvTranspose2d"),
    "conv_transpose3d": (lambda lib: lib.nn.LazyConvTranspose3d(2, 2), (1, 3, 3, 3, 2),
                         "ConvTranspose3d"),
    "batchnorm1d": (lambda lib: lib.nn.LazyBatchNorm1d(), (6, 3), "BatchNorm1d"),
    "batchnorm2d_no_affine": (lambda lib: lib.nn.LazyBatchNorm2d(affine=False, momentum=None),
                              (4, 3, 2, 2), "BatchNorm2d"),
    "batchnorm3d_untracked": (lambda lib: lib.nn.LazyBatchNorm3d(track_running_stats=False),
                              (2, 2, 2, 3, 2), "BatchNorm3d"),
    "instancenorm1d": (lambda lib: lib.nn.LazyInstanceNorm1d(), (2, 3, 5), "InstanceNorm1d"),
    "instancenorm2d_plain": (lambda lib: lib.nn.LazyInstanceNorm2d(affine=False,
                                                                   track_running_stats=False),
                             (2, 3, 4, 4), "InstanceNorm2d"),
    "instancenorm3d_nobias": (lambda lib: lib.nn.LazyInstanceNorm3d(bias=False),
                              (1, 2, 3, 3, 3), "InstanceNorm3d"),
}


def _kinds(module) -> list:
    """Each parameter and buffer, by name, with the name of its class."""
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    return [(name, type(tensor).__name__) for name, tensor in tensors]


@pytest.mark.parametrize("name", list(LAYERS))
def test_first_call_materializes_and_changes_the_class(name):
    make, shape, becomes = LAYERS[name]
    modules = {lib: make(lib) for lib in (torch, ember)}
    assert repr(modules[ember]) == repr(modules[torch])
    assert _kinds(modules[ember]) == _kinds(modules[torch])
    assert modules[ember].has_uninitialized_params() == modules[torch].has_uninitialized_params()
    state = modules[ember].state_dict()
    assert list(state) == list(modules[torch].state_dict())
    assert [ember.nn.parameter.is_lazy(value) for value in state.values()] == \
        [torch.nn.parameter.is_lazy(value) for value in modules[torch].state_dict().values()]
    array = np.random.default_rng(0).standard_normal(shape)
    for lib, module in modules.items():
        module(lib.tensor(array, dtype=lib.float32))
    assert type(modules[ember]).__name__ == becomes == type(modules[torch]).__name__
    assert type(modules[ember]) is getattr(ember.nn, becomes)
    assert repr(modules[ember]) == repr(modules[torch])
    assert _kinds(modules[ember]) == _kinds(modules[torch])
    assert not any(ember.nn.parameter.is_lazy(value) for value in modules[ember].state_dict()
                   .values())
    assert not modules[ember]._forward_pre_hooks and not modules[ember]._load_state_dict_pre_hooks
    assert not hasattr(modules[ember], "_initialize_hook")
    torch_state, ember_state = modules[torch].state_dict(), modules[ember].state_dict()
    assert list(ember_state) == list(torch_state)
    for key, value in torch_state.items():
        assert tuple(ember_state[key].shape) == tuple(value.shape), key
        assert str(ember_state[key].dtype).split(".")[1] == str(value.dtype).split(".")[1], key


@pytest.mark.parametrize("name", list(LAYERS))
def test_materialized_layer_matches_pytorch(name):
    """Outputs and gradients (random cotangent) once materialized, PyTorch's weights copied."""
    make, shape, _ = LAYERS[name]

    def materialized(lib):
        module = make(lib)
        module(lib.zeros(shape))
        return module

    check_layer(materialized, [np.random.default_rng(1).standard_normal(shape)])


def test_gradcheck_through_a_materialized_layer():
    layer = ember.nn.LazyConv1d(2, 2, dtype=ember.float64)
    x = ember.tensor(np.random.default_rng(2).standard_normal((2, 3, 4)), requires_grad=True)
    layer(x)
    assert ember.autograd.gradcheck(layer, (x,))
    assert ember.autograd.gradcheck(lambda w: ember.nn.functional.conv1d(x, w, layer.bias),
                                    (layer.weight,))


def test_reset_parameters_draws_linears_initialization():
    """U(-1/√fan_in, 1/√fan_in) for weight and bias, drawn at the first call from ember's
    generator, so reproducible under ``manual_seed``."""
    ember.manual_seed(7)
    layer = ember.nn.LazyLinear(400)
    layer(ember.zeros(2, 50))
    bound = 1 / np.sqrt(50)
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert weight.shape == (400, 50) and bias.shape == (400,)
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    assert np.abs(weight).max() > 0.99 * bound
    assert abs(weight.mean()) < 0.05 * bound
    assert abs(weight.var() / (bound**2 / 3) - 1) < 0.05
    assert abs(bias.var() / (bound**2 / 3) - 1) < 0.3
    ember.manual_seed(7)
    again = ember.nn.LazyLinear(400)
    again(ember.ones(1, 50))
    np.testing.assert_array_equal(again.weight.detach().numpy(), weight)


def test_reset_parameters_gives_convolutions_their_fan_in():
    ember.manual_seed(8)
    layer = ember.nn.LazyConv2d(64, 3)
    layer(ember.zeros(1, 8, 4, 4))
    bound = 1 / np.sqrt(8 * 9)
    weight = layer.weight.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.99 * bound
    assert abs(weight.var() / (bound**2 / 3) - 1) < 0.05


def test_norm_layers_start_from_pytorchs_values():
    array = np.random.default_rng(3).standard_normal((5, 4, 3))
    states = []
    for lib in (torch, ember):
        layer = lib.nn.LazyBatchNorm1d(dtype=lib.float64)
        layer(lib.tensor(array))
        states.append({key: value.detach().numpy() for key, value in layer.state_dict().items()})
    for key, value in states[0].items():
        np.testing.assert_allclose(states[1][key], value, rtol=1e-12, atol=1e-15, err_msg=key)


# ---------------------------------------------------------------- state dicts
def test_loading_a_state_dict_materializes_a_lazy_layer():
    rng = np.random.default_rng(4)
    source = torch.nn.Conv2d(3, 4, 2).double()
    state = {key: ember.tensor(value.numpy()) for key, value in source.state_dict().items()}
    layer = ember.nn.LazyConv2d(4, 2, dtype=ember.float64)
    twin = torch.nn.LazyConv2d(4, 2, dtype=torch.float64)
    assert str(layer.load_state_dict(state)) == str(twin.load_state_dict(source.state_dict()))
    assert type(layer) is ember.nn.LazyConv2d and type(layer.weight) is ember.nn.Parameter
    assert repr(layer) == repr(twin) and not layer.has_uninitialized_params()
    array = rng.standard_normal((2, 3, 5, 5))
    output = layer(ember.tensor(array))
    twin(torch.tensor(array))
    # ``in_channels`` stays 0: the load, not the call, gave the weight its shape
    assert type(layer) is ember.nn.Conv2d and repr(layer) == repr(twin)
    np.testing.assert_allclose(output.detach().numpy(), source(torch.tensor(array)).detach()
                               .numpy(), rtol=1e-12, atol=1e-12)


def test_partial_and_lazy_state_dicts():
    results = []
    for lib in (torch, ember):
        source = lib.nn.Linear(3, 2)
        layer = lib.nn.LazyLinear(2)
        partial = layer.load_state_dict({"weight": source.weight.detach()}, strict=False)
        kinds = _kinds(layer)
        lazy = lib.nn.LazyLinear(2)
        whole = lazy.load_state_dict(lib.nn.LazyLinear(2).state_dict())
        results.append((partial.missing_keys, partial.unexpected_keys, kinds, str(whole),
                        _kinds(lazy), type(layer).__name__))
    assert results[1] == results[0]


def test_state_dict_of_a_lazy_layer_holds_the_uninitialized_tensors():
    layer = ember.nn.LazyBatchNorm2d()
    state = layer.state_dict()
    assert state["weight"] is layer.weight and state["running_mean"] is layer.running_mean
    assert type(state["num_batches_tracked"]) is ember.Tensor
    assert state["num_batches_tracked"] is not layer.num_batches_tracked  # detached
    assert layer.state_dict(keep_vars=True)["num_batches_tracked"] is layer.num_batches_tracked


# ---------------------------------------------------------------- around the first call
def test_an_optimizer_made_before_the_first_call_trains_the_materialized_parameters():
    rng = np.random.default_rng(5)
    inputs = [rng.standard_normal((4, 3)) for _ in range(3)]
    cotangents = [rng.standard_normal((4, 2)) for _ in range(3)]
    modules, optimizers = {}, {}
    for lib in (torch, ember):
        modules[lib] = lib.nn.LazyLinear(2, dtype=lib.float64)
        optimizers[lib] = lib.optim.Adam(modules[lib].parameters(), lr=0.1)
        modules[lib](lib.tensor(inputs[0]))  # materializes the parameters the optimizer holds
    with ember.no_grad():  # PyTorch's initial weights, into the same objects
        for theirs, ours in zip(modules[torch].parameters(), modules[ember].parameters()):
            ours.copy_(ember.tensor(theirs.detach().numpy()))
    for array, cotangent in zip(inputs, cotangents):
        for lib in (torch, ember):
            output = modules[lib](lib.tensor(array))
            optimizers[lib].zero_grad()
            output.backward(lib.tensor(cotangent))
            optimizers[lib].step()
    for theirs, ours in zip(modules[torch].parameters(), modules[ember].parameters()):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert optimizers[ember].param_groups[0]["params"][0] is modules[ember].weight


def test_dtype_and_device_moves_before_the_first_call():
    for lib in (torch, ember):
        layer = lib.nn.LazyBatchNorm1d().double()
        assert [tensor.dtype for tensor in layer.state_dict().values()] == \
            [lib.float64] * 4 + [lib.int64]
        assert _kinds(layer)[0] == ("weight", "UninitializedParameter")
        layer(lib.ones(2, 3, dtype=lib.float64))
        assert layer.weight.dtype == lib.float64 and layer.running_var.dtype == lib.float64
        layer = lib.nn.LazyLinear(3).to("cpu", lib.float64)
        layer(lib.ones(1, 2, dtype=lib.float64))
        assert layer.weight.dtype == lib.float64 and layer.weight.shape == (3, 2)


def test_a_deep_copy_materializes_on_its_own():
    for lib in (torch, ember):
        layer = lib.nn.LazyConv1d(2, 2)
        twin = copy.deepcopy(layer)
        twin(lib.zeros(1, 5, 4))
        assert type(twin).__name__ == "Conv1d" and twin.weight.shape == (2, 5, 2)
        assert type(layer).__name__ == "LazyConv1d" and layer.has_uninitialized_params()
        layer(lib.zeros(1, 3, 4))
        assert layer.weight.shape == (2, 3, 2)


def test_compiled_model_with_lazy_layers_materializes_then_replays():
    def build():
        return ember.nn.Sequential(ember.nn.LazyLinear(6), ember.nn.ReLU(),
                                   ember.nn.LazyBatchNorm1d(), ember.nn.LazyLinear(2))

    rng = np.random.default_rng(6)
    inputs = [ember.tensor(rng.standard_normal((4, 3)), dtype=ember.float32) for _ in range(4)]
    cotangents = [ember.tensor(rng.standard_normal((4, 2)), dtype=ember.float32)
                  for _ in range(4)]
    eager, twin = build(), build()
    compiled = ember.compile(twin)
    results = []
    for model, call in ((eager, eager), (twin, compiled)):
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1)
        outputs = []
        for index, (x, cotangent) in enumerate(zip(inputs, cotangents)):
            ember.manual_seed(index)  # the first call draws the initial weights
            output = call(x)
            optimizer.zero_grad()
            output.backward(cotangent)
            optimizer.step()
            outputs.append(output.detach().numpy())
        results.append(outputs)
    for expected, got in zip(*results):
        np.testing.assert_array_equal(got, expected)
    state = compiled.__dict__["_compiled"]
    assert state.breaks == [] and state.replays == 2
    assert [type(m).__name__ for m in twin] == ["Linear", "ReLU", "BatchNorm1d", "Linear"]


def test_uninitialized_tensors_themselves():
    for lib in (torch, ember):
        parameter = lib.nn.UninitializedParameter(dtype=lib.float64)
        assert repr(parameter) == "<UninitializedParameter>" and parameter.requires_grad
        assert parameter.dtype == lib.float64 and parameter.device.type == "cpu"
        assert isinstance(parameter, lib.nn.Parameter)
        assert tuple(parameter.size()) == (0,) and parameter.is_leaf
        assert lib.nn.UninitializedParameter.cls_to_become is lib.nn.Parameter
        parameter.materialize((2, 3))
        assert type(parameter) is lib.nn.Parameter and parameter.shape == (2, 3)
        assert parameter.dtype == lib.float64 and parameter.requires_grad
        buffer = lib.nn.UninitializedBuffer()
        assert not buffer.requires_grad and isinstance(buffer, lib.nn.Buffer)
        module = lib.nn.Module()
        module.kept = lib.nn.UninitializedBuffer(persistent=False)
        assert list(module._buffers) == ["kept"] and "kept" not in module.state_dict()
        buffer.materialize((4,), dtype=lib.float64)
        assert type(buffer) is lib.Tensor and buffer.dtype == lib.float64
        assert lib.nn.parameter.is_lazy(lib.nn.UninitializedBuffer())
        single = lib.nn.UninitializedParameter(requires_grad=False)
        single.materialize(3)
        assert single.shape == (3,) and not single.requires_grad
        assert not lib.nn.parameter.is_lazy(lib.zeros(1))


def test_lazy_classes_live_at_pytorchs_paths():
    import ember.nn.modules.batchnorm as batchnorm
    import ember.nn.modules.conv as conv
    import ember.nn.modules.instancenorm as instancenorm
    import ember.nn.modules.lazy as lazy
    import ember.nn.modules.linear as linear

    assert linear.LazyLinear is ember.nn.LazyLinear and conv.LazyConv3d is ember.nn.LazyConv3d
    assert batchnorm.LazyBatchNorm2d is ember.nn.LazyBatchNorm2d
    assert instancenorm.LazyInstanceNorm1d.__module__ == "ember.nn.modules.instancenorm"
    assert issubclass(ember.nn.LazyConvTranspose2d, lazy.LazyModuleMixin)
    assert ember.nn.LazyConvTranspose2d.cls_to_become is ember.nn.ConvTranspose2d


# ---------------------------------------------------------------- errors
class _Unfinished:
    """A lazy module whose ``initialize_parameters`` materializes nothing (or is missing)."""

    @staticmethod
    def make(lib, define: bool):
        class Unfinished(lib.nn.modules.lazy.LazyModuleMixin, lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.weight = lib.nn.UninitializedParameter()

            def forward(self, x):
                return x

        if define:
            Unfinished.initialize_parameters = lambda self, x: None
        return Unfinished()


ERRORS = [
    ErrorCase("add", lambda lib: lib.nn.UninitializedParameter() + 1),
    ErrorCase("sum", lambda lib: lib.nn.UninitializedParameter().sum()),
    ErrorCase("linear", lambda lib: lib.nn.functional.linear(
        lib.ones(2, 3), lib.nn.UninitializedParameter())),
    ErrorCase("index", lambda lib: lib.nn.UninitializedParameter()[0]),
    ErrorCase("detach", lambda lib: lib.nn.UninitializedBuffer().detach()),
    ErrorCase("dim", lambda lib: lib.nn.UninitializedParameter().dim()),
    ErrorCase("numpy", lambda lib: lib.nn.UninitializedBuffer().numpy()),
    ErrorCase("shape", lambda lib: lib.nn.UninitializedParameter().shape),
    ErrorCase("requires_grad_", lambda lib: lib.nn.LazyLinear(3).requires_grad_(False)),
    ErrorCase("materialize_twice", lambda lib: [p.materialize((2,)) for p in
                                                [lib.nn.UninitializedParameter()] * 2]),
    ErrorCase("load_lazy_into_regular", lambda lib: lib.nn.Linear(2, 3).load_state_dict(
        lib.nn.LazyLinear(3).state_dict())),
    ErrorCase("conv_rank", lambda lib: lib.nn.LazyConv2d(4, 3)(lib.ones(3, 5))),
    ErrorCase("conv_groups", lambda lib: lib.nn.LazyConv2d(4, 3, groups=2)(lib.ones(1, 3, 5, 5))),
    ErrorCase("transpose_padding_mode", lambda lib: lib.nn.LazyConvTranspose2d(
        4, 3, padding_mode="reflect")),
    ErrorCase("batchnorm_rank", lambda lib: lib.nn.LazyBatchNorm2d()(lib.ones(2, 3, 4))),
    ErrorCase("linear_width", lambda lib: (lambda layer: (layer(lib.ones(2, 3)),
                                                          layer(lib.ones(2, 4))))(
        lib.nn.LazyLinear(2))),
    ErrorCase("not_implemented", lambda lib: _Unfinished.make(lib, False)(lib.ones(1))),
    ErrorCase("not_fully_initialized", lambda lib: _Unfinished.make(lib, True)(lib.ones(1))),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_pytorch(case):
    check_error(case)
