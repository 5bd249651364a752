"""Pooling layers against PyTorch: outputs, indices, gradients (ties, overlaps), reprs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

POOL_CONFIGS = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 5)),
    ("MaxPool2d", (3,), dict(stride=1, padding=1), (2, 2, 5, 5)),
    (
        "MaxPool2d",
        ((3, 2),),
        dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True),
        (1, 2, 7, 6),
    ),
    ("MaxPool2d", (2,), dict(return_indices=True, ceil_mode=True), (3, 5, 5)),  # unbatched
    ("MaxPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), (2, 3, 8)),
    ("MaxPool1d", (2,), dict(dilation=2, return_indices=True), (3, 7)),
    ("AvgPool2d", (2,), {}, (2, 3, 6, 5)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 6, 7)),
    ("AvgPool2d", ((3, 2),), dict(stride=1, padding=1, count_include_pad=False), (1, 2, 4, 5)),
    ("AvgPool2d", (2,), dict(stride=1, divisor_override=3), (2, 4, 4)),  # unbatched
    (
        "AvgPool1d",
        (3,),
        dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        (2, 3, 8),
    ),
    ("AvgPool1d", (4,), {}, (3, 9)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 4, 4)),
    ("AdaptiveAvgPool2d", ((None, 6),), {}, (2, 5, 4)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", (4,), dict(return_indices=True), (2, 3, 3)),
    ("AdaptiveMaxPool1d", (3,), dict(return_indices=True), (2, 3, 8)),
    ("LPPool2d", (2, 2), {}, (1, 2, 4, 5)),
    ("LPPool2d", (1.5, (3, 2)), dict(stride=1, ceil_mode=True), (1, 2, 4, 5)),
    ("LPPool1d", (3, 2), dict(stride=1), (2, 3, 6)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, shape",
    POOL_CONFIGS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL_CONFIGS)],
)
def test_pool_layer_matches_torch(name, args, kwargs, shape):
    data = np.random.default_rng(1).standard_normal(shape)
    if name.startswith("LPPool"):
        data = np.abs(data) + 0.5  # fractional powers of negatives are NaN on both sides
    check_layer(lambda lib: getattr(lib.nn, name)(*args, **kwargs), [data])


def _pool_gradients(function, data):
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        output = function(lib, x)
        values = output[0] if isinstance(output, tuple) else output
        cotangent = lib.tensor(np.arange(1.0, 1.0 + values.numel()).reshape(tuple(values.shape)))
        (grad,) = lib.autograd.grad(values, x, cotangent)
        indices = output[1].numpy() if isinstance(output, tuple) else None
        grads.append((values.detach().numpy(), indices, grad.numpy()))
    return grads


TIE_DATA = np.array(
    [
        [
            [
                [1.0, 1.0, 1.0, 0.0],
                [1.0, 1.0, 2.0, 2.0],
                [0.0, 2.0, 2.0, 1.0],
                [-np.inf, -np.inf, 1.0, 1.0],
            ]
        ]
    ]
)


@pytest.mark.parametrize(
    "function",
    [
        lambda lib, x: lib.nn.functional.max_pool2d(x, 2, 1, return_indices=True),
        lambda lib, x: lib.nn.functional.max_pool2d(x, 3, 1, padding=1, return_indices=True),
        lambda lib, x: lib.nn.functional.max_pool2d(
            x, 2, 2, padding=1, dilation=1, return_indices=True
        ),
        lambda lib, x: lib.nn.functional.max_pool2d(
            x, 2, 1, dilation=2, ceil_mode=True, return_indices=True
        ),
        lambda lib, x: lib.nn.functional.adaptive_max_pool2d(x, 3, return_indices=True),
        lambda lib, x: lib.nn.functional.max_pool1d(x[0], 3, 1, padding=1, return_indices=True),
    ],
)
def test_max_pool_ties_go_to_the_first_and_overlaps_accumulate(function):
    (t_values, t_indices, t_grad), (e_values, e_indices, e_grad) = _pool_gradients(
        function, TIE_DATA
    )
    np.testing.assert_array_equal(e_values, t_values)
    np.testing.assert_array_equal(e_indices, t_indices)
    np.testing.assert_array_equal(e_grad, t_grad)


def test_max_pool_nan_propagates_like_torch():
    data = np.array([[[[1.0, np.nan, 2.0, np.nan], [0.0, 1.0, np.nan, 3.0]]]])

    def function(lib, x):
        return lib.nn.functional.max_pool2d(x, (1, 4), return_indices=True)

    (t_values, t_indices, t_grad), (e_values, e_indices, e_grad) = _pool_gradients(function, data)
    np.testing.assert_array_equal(e_values, t_values)
    np.testing.assert_array_equal(e_indices, t_indices)
    np.testing.assert_array_equal(e_grad, t_grad)


def test_pool_node_names_match_torch():
    x = ember.randn(1, 1, 4, 4, requires_grad=True)
    F = ember.nn.functional
    assert F.max_pool2d(x, 2).grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert F.avg_pool2d(x, 2).grad_fn.name() == "AvgPool2DBackward0"
    assert F.adaptive_max_pool2d(x, 2).grad_fn.name() == "AdaptiveMaxPool2DBackward0"
    assert F.max_pool1d(x[0], 2).grad_fn.name() == "SqueezeBackward1"


def test_avg_pool_double_backward_matches_torch():
    data = np.random.default_rng(1).standard_normal((1, 2, 5, 4))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = lib.nn.functional.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True)
        (grad,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad((grad * grad * x).sum(), x)
        results.append(second.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "function",
    [
        lambda F, x: F.max_pool2d(x, 3, 1, padding=1),  # overlapping windows
        lambda F, x: F.adaptive_max_pool2d(x, (3, 2)),
    ],
)
def test_max_pool_double_backward_matches_torch(function):
    """The recorded backward (create_graph=True): positions that win twice add up."""
    data = np.random.default_rng(2).standard_normal((1, 2, 5, 4))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = function(lib.nn.functional, x)
        (grad,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad((grad * grad * x).sum(), x)
        results.append((grad.detach().numpy(), second.numpy()))
    for actual, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


REPRS = [
    "MaxPool2d(3)",
    "MaxPool2d((3, 2), 1, 1, 2, True, True)",
    "MaxPool1d(3, stride=2)",
    "AvgPool2d(3)",
    "AvgPool2d(3, divisor_override=2)",
    "AvgPool1d(3)",
    "AvgPool1d(3, 2, 1)",
    "AdaptiveAvgPool2d(3)",
    "AdaptiveAvgPool2d((3, None))",
    "AdaptiveAvgPool1d(3)",
    "AdaptiveMaxPool2d((3, None))",
    "AdaptiveMaxPool1d(2)",
    "LPPool2d(2, 3)",
    "LPPool1d(1.5, 3, stride=2)",
]


@pytest.mark.parametrize("text", REPRS)
def test_repr_matches_torch(text):
    assert repr(eval("ember.nn." + text)) == repr(eval("torch.nn." + text))


def test_attributes_match_torch():
    for text in ("MaxPool2d(3)", "AvgPool1d(3)", "AvgPool2d(2, padding=1)"):
        mine, theirs = eval("ember.nn." + text), eval("torch.nn." + text)
        for name in ("kernel_size", "stride", "padding", "ceil_mode"):
            assert getattr(mine, name) == getattr(theirs, name)


@pytest.mark.parametrize(
    "make, shape",
    [
        ("MaxPool2d(2)", (4, 4)),
        ("MaxPool2d(3, padding=2)", (1, 1, 6, 6)),
        ("MaxPool2d(5)", (1, 1, 4, 4)),
        ("AvgPool2d(5)", (1, 1, 4, 4)),
        ("AdaptiveAvgPool2d(2)", (4, 4)),
        ("AdaptiveMaxPool2d(2)", (4, 4)),
    ],
)
def test_input_errors_match_torch(make, shape):
    with pytest.raises(Exception) as expected:
        eval("torch.nn." + make)(torch.ones(shape))
    with pytest.raises(type(expected.value)) as actual:
        eval("ember.nn." + make)(ember.ones(shape))
    assert str(actual.value) == str(expected.value)
