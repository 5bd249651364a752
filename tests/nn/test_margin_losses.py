"""multi_margin_loss, multilabel_margin_loss and triplet_margin_with_distance_loss (and their
layers) against PyTorch, in float64: values and dtypes for every reduction, the gradient of
a random cotangent, gradcheck, and the exceptions of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests import devices
from tests.nn.layer_oracle import check_layer
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)

REDUCTIONS = ("mean", "sum", "none")


def _tensors(lib, arrays, differentiable):
    """``arrays`` as tensors of ``lib``; the floats listed in ``differentiable`` need grads."""
    out = []
    for index, array in enumerate(arrays):
        tensor = (lib.tensor(array, device=devices.DEVICE) if lib is ember
                  else lib.tensor(array))
        if index in differentiable:
            tensor.requires_grad_(True)
        out.append(tensor)
    return out


def _compare(function, arrays, differentiable=(0,), seed=0, gradcheck=True):
    """``function(F, *tensors)`` on both libraries: values, dtypes, shapes, and the
    gradients of a random cotangent for the inputs in ``differentiable``."""
    torch_inputs = _tensors(torch, arrays, differentiable)
    ember_inputs = _tensors(ember, arrays, differentiable)
    expected = function(torch.nn.functional, *torch_inputs)
    with ember.device(devices.DEVICE):
        actual = function(ember.nn.functional, *ember_inputs)
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    assert tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(actual.detach().cpu().numpy(), expected.detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    cotangent = np.random.default_rng(seed).standard_normal(tuple(expected.shape))
    wrt = list(differentiable)
    torch_grads = torch.autograd.grad(expected, [torch_inputs[i] for i in wrt],
                                      torch.tensor(cotangent))
    ember_grads = ember.autograd.grad(actual, [ember_inputs[i] for i in wrt],
                                      ember.tensor(cotangent, device=devices.DEVICE))
    for index, a, e in zip(wrt, ember_grads, torch_grads):
        np.testing.assert_allclose(a.cpu().numpy(), e.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"gradient of input {index}")
    if gradcheck:
        fresh = _tensors(ember, arrays, differentiable)
        assert ember.autograd.gradcheck(
            lambda *xs: function(ember.nn.functional, *_replace(fresh, wrt, xs)),
            tuple(fresh[i] for i in wrt))
    return expected, actual


def _replace(tensors, positions, values):
    tensors = list(tensors)
    for position, value in zip(positions, values):
        tensors[position] = value
    return tensors


# ---------------------------------------------------------------- multi_margin_loss


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss_matches_torch(reduction, p, weighted):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 5))
    target = rng.integers(0, 5, 6)
    weight = rng.uniform(0.5, 2.0, 5)

    def loss(F, x, target, weight):
        return F.multi_margin_loss(x, target, p=p, margin=0.8,
                                   weight=weight if weighted else None, reduction=reduction)

    _compare(loss, [x, target, weight], seed=p)


@pytest.mark.parametrize("x, target", [
    (np.array([0.3, -1.2, 0.5, 0.9]), np.array(2)),
    (np.array([0.3, -1.2, 0.5, 0.9]), np.array([1])),
    (np.array(0.7), np.array(0)),
    (np.array([[0.3, 2.2, -0.1]]), np.array([1])),
], ids=["1-d, 0-d target", "1-d, 1-d target", "0-d", "one row"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_single_samples_match_torch(x, target, reduction):
    _compare(lambda F, x, t: F.multi_margin_loss(x, t, p=2, reduction=reduction), [x, target])


def test_multi_margin_loss_margin_met_exactly_has_no_gradient():
    # x_y - x_i == margin: the hinge is 0 with a zero gradient, as PyTorch's kernel gives.
    x = np.array([[2.0, 1.0, 0.5], [0.0, 1.0, 0.0]])
    _compare(lambda F, x, t: F.multi_margin_loss(x, t), [x, np.array([0, 1])], gradcheck=False)


def test_multi_margin_loss_empty_batch():
    x, target = ember.zeros(0, 4, requires_grad=True), ember.zeros(0, dtype=ember.int64)
    assert tuple(ember.nn.functional.multi_margin_loss(x, target, reduction="none").shape) == (0,)
    total = ember.nn.functional.multi_margin_loss(x, target, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert tuple(x.grad.shape) == (0, 4)


def test_multi_margin_loss_legacy_flags_warn_like_torch():
    rng = np.random.default_rng(2)
    x, target = rng.standard_normal((3, 4)), rng.integers(0, 4, 3)
    results = []
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            results.append(lib.nn.functional.multi_margin_loss(
                lib.tensor(x), lib.tensor(target), size_average=False).numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, dict(p=2, margin=0.5), dict(reduction="none")])
def test_multi_margin_loss_layer_matches_torch(kwargs):
    rng = np.random.default_rng(3)
    x, target = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    check_layer(lambda lib: lib.nn.MultiMarginLoss(**kwargs), [x, target])
    weight = np.array([0.5, 2.0, 1.5])
    torch_layer, ember_layer = check_layer(
        lambda lib: lib.nn.MultiMarginLoss(weight=lib.tensor(weight), **kwargs), [x, target])
    assert list(ember_layer.state_dict()) == list(torch_layer.state_dict()) == ["weight"]
    assert repr(ember_layer) == repr(torch_layer) == "MultiMarginLoss()"


# ---------------------------------------------------------------- multilabel_margin_loss

MULTILABEL_TARGETS = np.array([
    [0, 3, -1, 1],  # classes 0 and 3; the 1 after the -1 is ignored
    [2, -1, 0, 0],
    [-1, 1, 2, 3],  # no class at all
    [1, 1, -1, 2],  # class 1 listed twice counts twice
    [3, 2, 1, 0],  # every class: no term
])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction):
    x = np.random.default_rng(4).standard_normal((5, 4))
    _compare(lambda F, x, t: F.multilabel_margin_loss(x, t, reduction=reduction),
             [x, MULTILABEL_TARGETS])


@pytest.mark.parametrize("x, target", [
    (np.array([0.3, -1.2, 0.5, 0.9]), np.array([3, 1, -1, 0])),
    (np.array(0.7), np.array(0)),
    (np.array(0.7), np.array([-1])),
], ids=["1-d", "0-d", "0-d, no class"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_single_samples_match_torch(x, target, reduction):
    _compare(lambda F, x, t: F.multilabel_margin_loss(x, t, reduction=reduction), [x, target])


def test_multilabel_margin_loss_wide_rows_match_torch():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 30))
    target = np.full((7, 30), -1)
    for row in range(7):
        chosen = rng.choice(30, size=row * 4, replace=False)
        target[row, :len(chosen)] = chosen
    _compare(lambda F, x, t: F.multilabel_margin_loss(x, t, reduction="none"), [x, target])


def test_multilabel_margin_loss_layer_matches_torch():
    x = np.random.default_rng(6).standard_normal((5, 4))
    for reduction in REDUCTIONS:
        check_layer(lambda lib: lib.nn.MultiLabelMarginLoss(reduction=reduction),
                    [x, MULTILABEL_TARGETS])


# ---------------------------------------------------------------- triplet with a distance


def _l1_distance(first, second):
    return (first - second).abs().sum(-1)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("distance", [None, _l1_distance], ids=["pairwise", "l1"])
def test_triplet_margin_with_distance_loss_matches_torch(reduction, swap, distance):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((6, 3)) for _ in range(3)]

    def loss(F, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=distance, margin=1.5, swap=swap,
            reduction=reduction)

    _compare(loss, arrays, differentiable=(0, 1, 2))


def test_triplet_margin_with_distance_loss_on_vectors_matches_torch():
    rng = np.random.default_rng(8)
    arrays = [rng.standard_normal(4) for _ in range(3)]
    _compare(lambda F, a, p, n: F.triplet_margin_with_distance_loss(a, p, n, reduction="none"),
             arrays, differentiable=(0, 1, 2))


def test_triplet_margin_with_distance_loss_layer_matches_torch():
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((5, 3)) for _ in range(3)]
    torch_layer, ember_layer = check_layer(
        lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=0.7, swap=True), arrays)
    assert repr(ember_layer) == repr(torch_layer)  # the default distance is a submodule
    assert isinstance(ember_layer.distance_function, ember.nn.PairwiseDistance)

    def cosine_distance(lib):
        return lambda a, b: 1 - lib.nn.functional.cosine_similarity(a, b)

    check_layer(lambda lib: lib.nn.TripletMarginWithDistanceLoss(
        distance_function=cosine_distance(lib), reduction="sum"), arrays)


# ---------------------------------------------------------------- errors


def _x(lib, *shape, dtype="float64"):
    return lib.zeros(shape, dtype=getattr(lib, dtype))


def _t(lib, values, dtype="int64"):
    return lib.tensor(values, dtype=getattr(lib, dtype))


ERRORS = [
    ErrorCase("multi p=3", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), p=3)),
    ErrorCase("multi 2-d weight", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), weight=_x(lib, 1, 3))),
    ErrorCase("multi reduction", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), reduction="average")),
    ErrorCase("multi target size", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1, 2]))),
    ErrorCase("multi 2-d target", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [[0, 1]]))),
    ErrorCase("multi weight size", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), weight=_x(lib, 2))),
    ErrorCase("multi target too large", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 3]))),
    ErrorCase("multi negative target", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [-1, 0]))),
    ErrorCase("multi float target", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1], "float32"))),
    ErrorCase("multi int32 target", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1], "int32"))),
    ErrorCase("multi integer input", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3, dtype="int64"), _t(lib, [0, 1]))),
    ErrorCase("multi weight dtype", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), weight=_x(lib, 3, dtype="float32"))),
    ErrorCase("multi 3-d input", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3, 4), _t(lib, [0, 1]))),
    ErrorCase("multi no classes", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 0), _t(lib, [0, 1]))),
    ErrorCase("multi weight requires grad", lambda lib: lib.nn.functional.multi_margin_loss(
        _x(lib, 2, 3), _t(lib, [0, 1]), weight=_x(lib, 3).requires_grad_())),
    ErrorCase("MultiMarginLoss p=3", lambda lib: lib.nn.MultiMarginLoss(p=3)),
    ErrorCase("MultiMarginLoss 2-d weight", lambda lib: lib.nn.MultiMarginLoss(
        weight=_x(lib, 2, 2))),
    ErrorCase("multilabel target rows", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 3, 4), _t(lib, [[0, 1, 2, 3]] * 2))),
    ErrorCase("multilabel target columns", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 2, 4), _t(lib, [[0, 1, 2]] * 2))),
    ErrorCase("multilabel 2-d target for 1-d", lambda lib: lib.nn.functional.
              multilabel_margin_loss(_x(lib, 2), _t(lib, [[0, 1]]))),
    ErrorCase("multilabel too large", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 1, 3), _t(lib, [[0, 3, -1]]))),
    ErrorCase("multilabel below -1", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 1, 3), _t(lib, [[0, -2, -1]]))),
    ErrorCase("multilabel out of range after -1", lambda lib: lib.nn.functional.
              multilabel_margin_loss(_x(lib, 1, 3), _t(lib, [[0, -1, 9]]))),
    ErrorCase("multilabel int32 target", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 1, 3), _t(lib, [[0, -1, 1]], "int32"))),
    ErrorCase("multilabel integer input", lambda lib: lib.nn.functional.
              multilabel_margin_loss(_x(lib, 1, 3, dtype="int64"), _t(lib, [[0, -1, 1]]))),
    ErrorCase("multilabel 3-d input", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 1, 2, 3), _t(lib, [[[0, 1, 2]] * 2]))),
    ErrorCase("multilabel reduction", lambda lib: lib.nn.functional.multilabel_margin_loss(
        _x(lib, 1, 3), _t(lib, [[0, -1, 1]]), reduction="mine")),
    ErrorCase("triplet margin 0", lambda lib: lib.nn.functional.
              triplet_margin_with_distance_loss(_x(lib, 2, 3), _x(lib, 2, 3), _x(lib, 2, 3),
                                                margin=0)),
    ErrorCase("triplet dims", lambda lib: lib.nn.functional.triplet_margin_with_distance_loss(
        _x(lib, 2, 3), _x(lib, 2, 3), _x(lib, 3))),
    ErrorCase("triplet reduction", lambda lib: lib.nn.functional.
              triplet_margin_with_distance_loss(_x(lib, 2, 3), _x(lib, 2, 3), _x(lib, 2, 3),
                                                reduction="avg")),
    ErrorCase("triplet positional margin", lambda lib: lib.nn.functional.
              triplet_margin_with_distance_loss(_x(lib, 2, 3), _x(lib, 2, 3), _x(lib, 2, 3),
                                                1.0)),
    ErrorCase("TripletMarginWithDistanceLoss margin", lambda lib: lib.nn.
              TripletMarginWithDistanceLoss(margin=-1.0)),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c.name for c in ERRORS])
def test_errors_match_torch(case):
    check_error(case)
