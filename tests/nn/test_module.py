"""Module semantics against PyTorch: registration, traversal, state dicts, hooks, printing."""

from __future__ import annotations

import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn


def _nets(lib):
    class SimpleNet(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = lib.nn.Linear(2, 3)
            self.layer2 = lib.nn.Linear(3, 1)
            self.sigmoid = lib.nn.Sigmoid()
            self.register_buffer("steps", lib.zeros(()))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return self.sigmoid(self.layer2(self.sigmoid(self.layer1(x))))

    return SimpleNet


def test_registration_and_traversal_match_torch():
    torch_net, ember_net = _nets(torch)(), _nets(ember)()
    assert ([n for n, _ in ember_net.named_parameters()]
            == [n for n, _ in torch_net.named_parameters()])
    assert [n for n, _ in ember_net.named_buffers()] == [n for n, _ in torch_net.named_buffers()]
    assert [n for n, _ in ember_net.named_children()] == [n for n, _ in torch_net.named_children()]
    assert [n for n, _ in ember_net.named_modules()] == [n for n, _ in torch_net.named_modules()]
    assert list(ember_net.state_dict()) == list(torch_net.state_dict())
    assert ember_net.get_submodule("layer2") is ember_net.layer2
    assert ember_net.get_parameter("layer1.bias") is ember_net.layer1.bias
    assert len(list(ember_net.parameters(recurse=False))) == 0


def test_shared_parameters_are_listed_once():
    for lib in (torch, ember):
        layer = lib.nn.Linear(2, 2)
        model = lib.nn.Sequential(layer, layer)
        assert len(list(model.parameters())) == 2
        assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
        assert len(list(model.named_parameters(remove_duplicate=False))) == 4


def test_registration_errors_match_torch():
    for lib in (torch, ember):
        module = lib.nn.Module()
        with pytest.raises(KeyError):
            module.register_parameter("a.b", None)
        with pytest.raises(TypeError):
            module.register_buffer("x", 3)
        module.weight = lib.nn.Parameter(lib.ones(2))
        with pytest.raises(TypeError):
            module.weight = lib.ones(2)
        with pytest.raises(AttributeError):
            module.missing


def test_assignment_replaces_and_deletes():
    model = nn.Module()
    model.layer = nn.Linear(1, 1)
    model.layer = nn.Sigmoid()
    assert isinstance(model.layer, nn.Sigmoid) and len(list(model.parameters())) == 0
    del model.layer
    assert not hasattr(model, "layer")
    model.register_buffer("b", ember.ones(1))
    model.b = ember.zeros(1)
    assert model.b.item() == 0.0 and "b" in model.state_dict()


def test_state_dict_round_trip_and_strict_errors():
    source, target = _nets(ember)(), _nets(ember)()
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    state = source.state_dict()
    state["extra"] = ember.ones(1)
    del state["layer1.bias"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "layer1.bias"'):
        target.load_state_dict(state)
    result = target.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layer1.bias"] and result.unexpected_keys == ["extra"]
    wrong = source.state_dict()
    wrong["layer1.weight"] = ember.ones(4, 2)
    with pytest.raises(RuntimeError, match="size mismatch for layer1.weight"):
        target.load_state_dict(wrong)


def test_state_dict_loads_across_frameworks():
    torch_net, ember_net = _nets(torch)(), _nets(ember)()
    ember_net.load_state_dict({k: ember.tensor(v.numpy())
                               for k, v in torch_net.state_dict().items()})
    x = np.array([[0.0, 1.0], [1.0, 0.5]], dtype=np.float32)
    with ember.no_grad():
        np.testing.assert_allclose(ember_net(ember.tensor(x)).numpy(),
                                   torch_net(torch.tensor(x)).detach().numpy(), rtol=1e-6)


def test_train_eval_zero_grad_requires_grad_apply():
    model = _nets(ember)()
    assert model.training and model.layer1.training
    model.eval()
    assert not model.training and not model.layer1.training
    model.train()
    model(ember.ones(1, 2)).sum().backward()
    assert model.layer1.weight.grad is not None
    model.zero_grad()
    assert model.layer1.weight.grad is None
    model(ember.ones(1, 2)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert model.layer1.weight.grad.abs().sum().item() == 0.0
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "SimpleNet" and seen.count("Linear") == 2


def test_to_dtype_keeps_parameter_objects():
    model = nn.Linear(2, 2)
    weight = model.weight
    model.double()
    assert model.weight is weight and model.weight.dtype == ember.float64
    assert model(ember.ones(1, 2, dtype=ember.float64)).dtype == ember.float64
    model.to(ember.float32)
    assert model.weight.dtype == ember.float32


def test_forward_hooks_and_pre_hooks():
    for lib in (torch, ember):
        layer = lib.nn.Linear(2, 2)
        calls = []
        pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
        post = layer.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
        out = layer(lib.ones(3, 2))
        assert calls == [out.shape]
        expected = layer.bias.detach() + 1
        assert np.allclose(out.detach().numpy(), expected.numpy())
        pre.remove()
        post.remove()
        layer(lib.ones(1, 2))
        assert len(calls) == 1


def test_full_backward_hook_sees_gradients():
    for lib in (torch, ember):
        layer = lib.nn.Linear(2, 1)
        seen = {}

        def hook(module, grad_input, grad_output):
            seen["in"] = grad_input[0].shape
            seen["out"] = grad_output[0].shape

        layer.register_full_backward_hook(hook)
        x = lib.ones(3, 2, requires_grad=True)
        layer(x).sum().backward()
        assert tuple(seen["in"]) == (3, 2) and tuple(seen["out"]) == (3, 1)


def _hook_calls(lib, make_args, returned=None):
    """What a full backward hook on a module of (tensor, number, tensor) -> two tensors, with
    a parameter, sees
    (the shape of each grad_input and grad_output, None for None), and the inputs' grads
    and the warnings after a backward of the first output only."""

    class Two(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.ones(2))

        def forward(self, a, scale, b):
            return a * scale * self.weight + b, a - b

    module, seen = Two(), []

    def shapes(grads):
        return [None if g is None else tuple(g.shape) for g in grads]

    def hook(module, grad_input, grad_output):
        seen.append((shapes(grad_input), shapes(grad_output)))
        return returned(grad_input) if returned else None

    module.register_full_backward_hook(hook)
    a, b = make_args(lib)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, _ = module(a, 2.0, b)
        first.sum().backward()
    grads = [None if t.grad is None else t.grad.numpy().tolist() for t in (a, b)]
    return seen, grads, [str(w.message)[:60] for w in caught if "hook" in str(w.message)]


FULL_BACKWARD_HOOK_CASES = {
    "first_requires_grad": lambda lib: (lib.ones(2, requires_grad=True), lib.ones(2)),
    "second_requires_grad": lambda lib: (lib.ones(2), lib.ones(2, requires_grad=True)),
    "none_requires_grad": lambda lib: (lib.ones(2), lib.ones(2)),
}


@pytest.mark.parametrize("case", list(FULL_BACKWARD_HOOK_CASES))
def test_full_backward_hook_arguments_match_torch(case):
    """One grad_input per positional argument (None for a number, and for every argument
    when no input requires grad: then the hook fires from the outputs, with a warning);
    None in grad_output for an output the loss did not use."""
    make = FULL_BACKWARD_HOOK_CASES[case]
    assert _hook_calls(ember, make) == _hook_calls(torch, make)


def test_full_backward_hook_results_replace_grad_input_as_in_torch():
    def halve(grad_input):
        return tuple(None if g is None else g * 0.5 for g in grad_input)

    make = FULL_BACKWARD_HOOK_CASES["first_requires_grad"]
    assert _hook_calls(ember, make, halve) == _hook_calls(torch, make, halve)
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="invalid number of grad_input, got 1, but "
                                               "expected 3"):
            _hook_calls(lib, make, lambda grad_input: grad_input[:1])
        with pytest.raises(RuntimeError, match="no input requires gradient should always "
                                               "return None"):
            _hook_calls(lib, FULL_BACKWARD_HOOK_CASES["none_requires_grad"],
                        lambda grad_input: (lib.zeros(2), None, None))


def test_repr_matches_torch():
    assert repr(_nets(ember)()) == repr(_nets(torch)())
    assert repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU())) == repr(
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    )


def test_sequential_and_containers():
    model = nn.Sequential(OrderedDict([("first", nn.Linear(2, 3)), ("act", nn.Sigmoid())]))
    assert isinstance(model[0], nn.Linear) and model.first is model[0] and len(model) == 2
    assert isinstance(model[-1], nn.Sigmoid) and len(model[:1]) == 1
    model.append(nn.Linear(3, 1))
    assert model(ember.ones(4, 2)).shape == (4, 1)
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    layers.append(nn.Linear(1, 1))
    assert len(layers) == 4 and len(list(layers.parameters())) == 8
    table = nn.ModuleDict({"a": nn.Linear(1, 1)})
    table["b"] = nn.Linear(1, 1)
    assert list(table.keys()) == ["a", "b"]
    params = nn.ParameterList([nn.Parameter(ember.ones(2)), ember.zeros(3)])
    assert isinstance(params[1], nn.Parameter) and len(list(params.parameters())) == 2
    pdict = nn.ParameterDict({"w": nn.Parameter(ember.ones(1))})
    assert "w" in pdict and [n for n, _ in pdict.named_parameters()] == ["w"]


def test_layer_error_names_the_module_path_and_shapes():
    model = _nets(ember)()
    with pytest.raises(RuntimeError) as error:
        model(ember.ones(4, 5))
    text = str(error.value)
    assert "SimpleNet.layer1" in text and "(Linear)" in text and "4x5" in text


def test_deepcopy_and_pickle():
    model = _nets(ember)()
    clone = copy.deepcopy(model)
    assert clone.layer1.weight is not model.layer1.weight
    np.testing.assert_array_equal(clone.layer1.weight.detach().numpy(),
                                  model.layer1.weight.detach().numpy())
    restored = pickle.loads(pickle.dumps(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid())))
    assert isinstance(restored[0].weight, nn.Parameter) and restored[0].weight.requires_grad


def test_parameter_semantics():
    for lib in (torch, ember):
        data = lib.ones(2)
        p = lib.nn.Parameter(data)
        assert p.requires_grad and p.is_leaf and isinstance(p, lib.Tensor)
        assert repr(p).startswith("Parameter containing:")
        frozen = lib.nn.Parameter(lib.ones(2), requires_grad=False)
        assert not frozen.requires_grad
