"""Activation layers against PyTorch: outputs and gradients (``check_layer``), reprs,
in-place semantics, the implicit softmax dim, PReLU parameters and RReLU randomness."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

RNG = np.random.default_rng(7)
X = RNG.uniform(-4, 4, size=(2, 3, 4))
X_2D = RNG.uniform(-4, 4, size=(4, 6))

LAYERS = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", ()), ("LeakyReLU", (0.2,)), ("ELU", ()),
    ("ELU", (0.5,)), ("SELU", ()), ("CELU", (0.7,)), ("GELU", ()), ("GELU", ("tanh",)),
    ("SiLU", ()), ("Mish", ()), ("Sigmoid", ()), ("Tanh", ()), ("Softplus", ()),
    ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("Hardtanh", ()), ("Hardtanh", (-2.0, 3.0)),
    ("Hardsigmoid", ()), ("Hardswish", ()), ("Threshold", (0.5, -1.0)), ("LogSigmoid", ()),
    ("Tanhshrink", ()), ("Softshrink", ()), ("Softshrink", (1.5,)), ("Hardshrink", ()),
    ("Hardshrink", (2.0,)), ("GLU", ()), ("GLU", (1,)), ("Softmax", (1,)), ("Softmax", (-1,)),
    ("LogSoftmax", (2,)), ("Softmin", (0,)), ("Softmax2d", ()), ("PReLU", ()),
    ("PReLU", (3, 0.1)), ("RReLU", ()), ("RReLU", (0.2, 0.4)),
]  # fmt: skip


@pytest.mark.parametrize("name, args", LAYERS, ids=lambda v: str(v))
def test_layer_matches_torch(name, args):
    inputs = [X_2D] if name == "GLU" and args == (1,) else [X]
    check_layer(lambda lib: getattr(lib.nn, name)(*args), inputs, train=name != "RReLU")


INPLACE_LAYERS = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.1,)), ("ELU", (1.0,)), ("SELU", ()),
    ("CELU", (1.0,)), ("SiLU", ()), ("Mish", ()), ("Hardtanh", (-1.0, 1.0)),
    ("Hardsigmoid", ()), ("Hardswish", ()), ("Threshold", (0.1, 2.0)), ("RReLU", ()),
]  # fmt: skip


@pytest.mark.parametrize("name, args", INPLACE_LAYERS, ids=lambda v: str(v))
def test_inplace_layer_matches_torch(name, args):
    def run(module, x):
        y = x * 1
        result = module(y)
        assert result is y
        return result

    check_layer(lambda lib: getattr(lib.nn, name)(*args, inplace=True), [X], call=run, train=False)


def test_inplace_bumps_version_and_records_node():
    x = ember.randn(3, requires_grad=True) * 1
    version = x._version
    y = ember.nn.functional.elu(x, inplace=True)
    assert y is x and x._version == version + 1
    assert type(x.grad_fn).__name__ == "EluBackward0"


def test_inplace_on_leaf_raises():
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        ember.nn.functional.leaky_relu_(leaf)


def test_inplace_without_grad_writes_storage():
    x = ember.tensor([-1.0, 2.0])
    ember.nn.functional.hardtanh_(x, -0.5, 0.5)
    assert x.tolist() == [-0.5, 0.5]


REPRS = [
    ("ReLU", ()), ("ReLU", (True,)), ("LeakyReLU", (0.2,)), ("LeakyReLU", (0.2, True)),
    ("PReLU", ()), ("PReLU", (3, 0.1)), ("ELU", ()), ("ELU", (0.5, True)), ("SELU", (True,)),
    ("CELU", (2.0,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", (True,)), ("Mish", ()),
    ("Sigmoid", ()), ("Softplus", (2, 10)), ("Hardtanh", (-2.0, 3.0, True)), ("ReLU6", ()),
    ("ReLU6", (True,)), ("Hardsigmoid", (True,)), ("Hardswish", (True,)), ("Softmax", ()),
    ("Softmax", (1,)), ("LogSoftmax", (-1,)), ("Softmin", (0,)), ("Softmax2d", ()),
    ("Threshold", (0.1, 20)), ("Threshold", (0.1, 20, True)), ("GLU", ()), ("GLU", (1,)),
    ("LogSigmoid", ()), ("Tanhshrink", ()), ("Softshrink", (1,)), ("Hardshrink", (0.3,)),
    ("RReLU", ()), ("RReLU", (0.1, 0.3, True)), ("Softsign", ()), ("Tanh", ()),
]  # fmt: skip


@pytest.mark.parametrize("name, args", REPRS, ids=lambda v: str(v))
def test_repr_matches_torch(name, args):
    assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_leaky_relu_repr_text():
    assert repr(ember.nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


@pytest.mark.parametrize(
    "shape, dim", [((4,), 0), ((2, 3), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1), ((), 0)]
)
def test_softmax_implicit_dim(shape, dim):
    ember.manual_seed(7)
    x = ember.randn(shape)
    for module, function in (
        (ember.nn.Softmax(), ember.softmax),
        (ember.nn.LogSoftmax(), ember.log_softmax),
    ):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            result = module(x)
        np.testing.assert_allclose(result.numpy(), function(x, dim).numpy())


def test_softmax_explicit_dim_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.nn.Softmax(dim=1)(ember.randn(2, 3))


def test_prelu_parameters():
    layer = ember.nn.PReLU(4, init=0.3)
    assert layer.weight.shape == (4,) and layer.weight.requires_grad
    assert np.all(layer.weight.detach().numpy() == np.float32(0.3))
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    layer(ember.randn(2, 4, 3)).sum().backward()
    assert layer.weight.grad.shape == (4,)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        layer(ember.randn(2, 3))


def test_rrelu_training_is_random_within_bounds():
    ember.manual_seed(7)
    layer = ember.nn.RReLU(0.1, 0.3)
    x = -ember.ones(1000)
    slopes = -layer(x).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.01
    positive = ember.ones(5)
    assert layer(positive).tolist() == [1.0] * 5
    layer.eval()
    np.testing.assert_allclose(layer(x).numpy(), -0.2)


def test_rrelu_training_gradient_is_the_slope():
    x = (-ember.ones(6)).requires_grad_()
    y = ember.nn.functional.rrelu(x, 0.1, 0.3, training=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y / x).detach().numpy())


def test_integer_inputs_like_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        x = lib.tensor([-2, 0, 3])
        assert F.hardtanh(x).tolist() == [-1, 0, 1]
        assert F.relu6(x).tolist() == [0, 0, 3]
        assert F.threshold(x, 1, 5).tolist() == [5, 5, 3]
        assert F.hardtanh(x).dtype == lib.int64


def test_stable_tails():
    F = ember.nn.functional
    x = ember.tensor([-1000.0, 1000.0], dtype=ember.float64)
    assert F.logsigmoid(x).tolist() == [-1000.0, 0.0]
    assert F.softplus(x).tolist() == [0.0, 1000.0]
    assert F.silu(x).tolist() == [-0.0, 1000.0]
    np.testing.assert_allclose(F.mish(x).numpy(), [0.0, 1000.0])


def test_gelu_matches_torch_float32():
    x = np.linspace(-6, 6, 101, dtype=np.float32)
    for approximate in ("none", "tanh"):
        expected = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate)
        actual = ember.nn.functional.gelu(ember.tensor(x), approximate=approximate)
        assert actual.dtype == ember.float32
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), atol=1e-6)
