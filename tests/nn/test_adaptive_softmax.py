"""AdaptiveLogSoftmaxWithLoss against PyTorch, with PyTorch's weights copied in: the
``(output, loss)`` of ``forward`` with its gradients, ``log_prob``, ``predict``, the layout of
the layer, and the errors of bad cutoffs, targets and inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer, copy_state

torch.set_num_threads(1)

warnings.filterwarnings("ignore", "Initializing zero-element tensors is a no-op")

LAYERS = [
    (8, 10, [3, 6], 2.0, False),
    (8, 10, [3, 6], 4.0, True),  # the last cluster's projection has no dims: 8 // 16 = 0
    (6, 20, [2, 5, 12], 2.0, True),
    (5, 4, [1], 4.0, False),
]


def _make(arguments):
    return lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(*arguments)


def _targets(rng, n_classes: int, batch: int):
    """Class indices covering every class, in a shuffled order (and then random ones)."""
    targets = np.concatenate([np.arange(n_classes), rng.integers(0, n_classes, batch)])
    return rng.permutation(targets)[:batch]


@pytest.mark.parametrize("arguments", LAYERS)
def test_forward_output_loss_and_gradients_match_torch(arguments):
    rng = np.random.default_rng(0)
    in_features, n_classes = arguments[:2]
    batch = n_classes + 3
    x = rng.standard_normal((batch, in_features))
    target = _targets(rng, n_classes, batch)
    check_layer(_make(arguments), [x, target])
    # one sample at a time: a 0-d target and a 1-D input
    check_layer(_make(arguments), [x[2], np.array(target[2])])


def test_forward_returns_pytorchs_named_tuple():
    rng = np.random.default_rng(1)
    torch_layer, ember_layer = _make(LAYERS[0])(torch).double(), _make(LAYERS[0])(ember).double()
    copy_state(torch_layer, ember_layer)
    x, target = rng.standard_normal((4, 8)), np.array([0, 4, 9, 2])
    expected = torch_layer(torch.tensor(x), torch.tensor(target))
    actual = ember_layer(ember.tensor(x), ember.tensor(target))
    assert type(actual).__name__ == "_ASMoutput" and actual._fields == ("output", "loss")
    assert actual.output.grad_fn.name() == expected.output.grad_fn.name() == "AddBackward0"
    assert actual.loss.grad_fn.name() == expected.loss.grad_fn.name() == "MeanBackward0"
    output, loss = actual
    np.testing.assert_allclose(loss.item(), expected.loss.item(), rtol=1e-12)
    np.testing.assert_allclose(output.detach().numpy(), expected.output.detach().numpy(),
                               rtol=1e-12)
    # an int32 target works as in PyTorch; the caller's target is left unchanged
    target32 = ember.tensor(target, dtype=ember.int32)
    np.testing.assert_allclose(ember_layer(ember.tensor(x), target32).loss.item(),
                               expected.loss.item(), rtol=1e-12)
    np.testing.assert_array_equal(target32.numpy(), target)
    # an empty batch: an empty output and a NaN loss
    empty = ember_layer(ember.zeros(0, 8, dtype=ember.float64), ember.zeros(0, dtype=ember.int64))
    assert tuple(empty.output.shape) == (0,) and np.isnan(empty.loss.item())


def test_gradcheck_of_output_and_loss():
    rng = np.random.default_rng(2)
    layer = ember.nn.AdaptiveLogSoftmaxWithLoss(3, 7, [2, 4], div_value=2.0, head_bias=True)
    layer = layer.double()
    target = ember.tensor([0, 3, 6, 5, 2])
    x = ember.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    names = ["head.weight", "tail.0.0.weight", "tail.0.1.weight"]
    weights = tuple(layer.get_parameter(name) for name in names)

    def function(x, *parameters):
        return ember.func.functional_call(layer, dict(zip(names, parameters)), (x, target))

    assert ember.autograd.gradcheck(function, (x, *weights))
    assert ember.autograd.gradgradcheck(function, (x, weights[0]))


@pytest.mark.parametrize("arguments", LAYERS)
def test_log_prob_and_predict_match_torch(arguments):
    rng = np.random.default_rng(3)
    in_features, n_classes = arguments[:2]
    x = rng.standard_normal((12, in_features)) * 3
    torch_layer, ember_layer = check_layer(_make(arguments), [x],
                                           call=lambda module, x: module.log_prob(x))
    log_prob = ember_layer.log_prob(ember.tensor(x))
    np.testing.assert_allclose(log_prob.exp().sum(1).detach().numpy(), 1.0, rtol=1e-12)
    expected = torch_layer.predict(torch.tensor(x))
    actual = ember_layer.predict(ember.tensor(x))
    assert actual.dtype == ember.int64
    np.testing.assert_array_equal(actual.numpy(), expected.numpy())
    np.testing.assert_array_equal(actual.numpy(), log_prob.argmax(1).numpy())


@pytest.mark.parametrize("head", ["shortlist", "clusters", "mixed"])
def test_predict_takes_each_of_its_paths(head):
    """Biases on the head that make its best entry the shortlist, a cluster, or either."""
    rng = np.random.default_rng(4)
    make = _make((6, 20, [4, 10], 2.0, True))
    torch_layer, ember_layer = make(torch).double(), make(ember).double()
    with torch.no_grad():
        bias = torch_layer.head.bias
        bias.zero_()
        if head == "shortlist":
            bias[:4] = 20.0
        elif head == "clusters":
            bias[4:] = 20.0
        else:
            bias[5] = 2.0
    copy_state(torch_layer, ember_layer)
    x = rng.standard_normal((30, 6)) * 2
    head_best = torch_layer.head(torch.tensor(x)).argmax(1)
    if head == "mixed":
        assert (head_best < 4).any() and (head_best >= 4).any()
    expected = torch_layer.predict(torch.tensor(x))
    np.testing.assert_array_equal(ember_layer.predict(ember.tensor(x)).numpy(), expected.numpy())


def test_layout_repr_state_dict_and_reset():
    torch.manual_seed(0)
    for arguments in LAYERS:
        torch_layer, ember_layer = _make(arguments)(torch), _make(arguments)(ember)
        assert repr(ember_layer) == repr(torch_layer)
        for name in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias",
                     "shortlist_size", "n_clusters", "head_size"):
            assert getattr(ember_layer, name) == getattr(torch_layer, name), name
        expected = {k: tuple(v.shape) for k, v in torch_layer.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in ember_layer.state_dict().items()} == expected
    layer = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], head_bias=True)
    before = [p.detach().clone() for p in layer.parameters()]
    layer.reset_parameters()
    changed = [not np.array_equal(a.numpy(), p.detach().numpy())
               for a, p in zip(before, layer.parameters()) if a.numel()]
    assert all(changed)
    assert ember.nn.modules.adaptive.AdaptiveLogSoftmaxWithLoss is (
        ember.nn.AdaptiveLogSoftmaxWithLoss)
    layer = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, (3, 6), dtype=ember.float64)
    assert layer.head.weight.dtype == ember.float64 and layer.cutoffs == [3, 6, 10]


def _raises_like_torch(function):
    torch.manual_seed(0)
    with pytest.raises(Exception) as expected:
        function(torch)
    with pytest.raises(type(expected.value)) as actual:
        function(ember)
    return str(expected.value), str(actual.value)


def _layer(lib):
    return lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0)


@pytest.mark.parametrize("function", [
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [0, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 3]),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, []),
    lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3.0, 5]),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([0, 4, 10, 2])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([0, 4, -1, 2])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([0, 4, 2])),
    lambda lib: _layer(lib)(lib.randn(8), lib.tensor([4])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor(4)),
    lambda lib: _layer(lib)(lib.randn(4, 2, 8), lib.tensor([0, 1, 2, 3])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([[0, 1, 2, 3]])),
    lambda lib: _layer(lib)(lib.randn(4, 5), lib.tensor([0, 4, 9, 2])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([0, 1, 2, 3.0])),
    lambda lib: _layer(lib)(lib.randn(4, 8), lib.tensor([0, 1, 2, 7.0])),
    lambda lib: _layer(lib)(lib.randn(4, 8, dtype=lib.float64), lib.tensor([0, 1, 2, 3])),
    lambda lib: _layer(lib).log_prob(lib.randn(8)),
    lambda lib: _layer(lib).log_prob(lib.randn(4, 2, 8)),
    lambda lib: _layer(lib).predict(lib.randn(8)),
])
def test_errors_match_torch(function):
    expected, actual = _raises_like_torch(function)
    if "cutoffs" in expected or "target" in expected.lower():
        assert actual == expected
