"""Loss layers against PyTorch (``check_layer``), legacy flags, warnings, PyTorch's error
texts, and the stability and speed of cross entropy."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

RNG = np.random.default_rng(11)
A, B = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
PROBABILITIES = RNG.uniform(0.05, 0.95, size=(4, 3))
BINARY = RNG.integers(0, 2, size=(4, 3)).astype(np.float64)
SIGNS = RNG.choice([-1.0, 1.0], size=4)
LOGITS = RNG.standard_normal((5, 4)) * 2
CLASSES = np.array([0, 3, 1, -100, 2])
SPATIAL_LOGITS = RNG.standard_normal((2, 4, 3, 2))
SPATIAL_CLASSES = RNG.integers(0, 4, size=(2, 3, 2))


def _weight(lib):
    return lib.tensor([0.5, 1.0, 2.0, 1.5], dtype=lib.float64)


LOSSES = [
    ("L1Loss", lambda lib: lib.nn.L1Loss(), [A, B]),
    ("L1Loss_sum", lambda lib: lib.nn.L1Loss(reduction="sum"), [A, B]),
    ("MSELoss_none", lambda lib: lib.nn.MSELoss(reduction="none"), [A, B]),
    ("SmoothL1Loss", lambda lib: lib.nn.SmoothL1Loss(beta=0.5), [A, B]),
    ("HuberLoss", lambda lib: lib.nn.HuberLoss(delta=0.8), [A, B]),
    ("BCELoss", lambda lib: lib.nn.BCELoss(), [PROBABILITIES, BINARY]),
    (
        "BCELoss_weight",
        lambda lib: lib.nn.BCELoss(weight=lib.tensor([1.0, 2.0, 0.5])),
        [PROBABILITIES, BINARY],
    ),
    (
        "BCEWithLogitsLoss",
        lambda lib: lib.nn.BCEWithLogitsLoss(pos_weight=lib.tensor([2.0, 0.5, 1.0])),
        [A, BINARY],
    ),
    ("CrossEntropyLoss", lambda lib: lib.nn.CrossEntropyLoss(), [LOGITS, CLASSES]),
    (
        "CrossEntropyLoss_weight",
        lambda lib: lib.nn.CrossEntropyLoss(weight=_weight(lib), label_smoothing=0.1),
        [LOGITS, CLASSES],
    ),
    (
        "CrossEntropyLoss_spatial",
        lambda lib: lib.nn.CrossEntropyLoss(ignore_index=1),
        [SPATIAL_LOGITS, SPATIAL_CLASSES],
    ),
    (
        "NLLLoss",
        lambda lib: lib.nn.NLLLoss(weight=_weight(lib), reduction="sum"),
        [LOGITS, CLASSES],
    ),
    ("KLDivLoss", lambda lib: lib.nn.KLDivLoss(reduction="batchmean"), [A, PROBABILITIES]),
    ("KLDivLoss_log", lambda lib: lib.nn.KLDivLoss(reduction="sum", log_target=True), [A, B]),
    ("PoissonNLLLoss", lambda lib: lib.nn.PoissonNLLLoss(), [A, PROBABILITIES * 3]),
    ("GaussianNLLLoss", lambda lib: lib.nn.GaussianNLLLoss(full=True), [A, B, PROBABILITIES]),
    ("CosineEmbeddingLoss", lambda lib: lib.nn.CosineEmbeddingLoss(0.2), [A, B, SIGNS]),
    ("MarginRankingLoss", lambda lib: lib.nn.MarginRankingLoss(0.5), [A[:, 0], B[:, 0], SIGNS]),
    ("HingeEmbeddingLoss", lambda lib: lib.nn.HingeEmbeddingLoss(), [A[:, 0], SIGNS]),
    ("TripletMarginLoss", lambda lib: lib.nn.TripletMarginLoss(swap=True), [A, B, B[::-1]]),
    ("SoftMarginLoss", lambda lib: lib.nn.SoftMarginLoss(), [A[:, 0], SIGNS]),
    (
        "MultiLabelSoftMarginLoss",
        lambda lib: lib.nn.MultiLabelSoftMarginLoss(weight=lib.tensor([1.0, 0.5, 2.0])),
        [A, BINARY],
    ),
]


@pytest.mark.parametrize("name, make, inputs", LOSSES, ids=[entry[0] for entry in LOSSES])
def test_loss_layer_matches_torch(name, make, inputs):
    if name == "SoftMarginLoss":  # PyTorch has no gradient for its target
        check_layer(make, inputs, call=lambda module, x, y: module(x, y.detach()))
    else:
        check_layer(make, inputs)


def test_legacy_flags_choose_the_reduction_and_warn():
    cases = [((None, False), "none"), ((False, None), "sum"), ((True, True), "mean")]
    for (size_average, reduce), expected in cases:
        with pytest.warns(UserWarning, match="size_average and reduce args"):
            layer = ember.nn.L1Loss(size_average=size_average, reduce=reduce)
        assert layer.reduction == expected
    with pytest.warns(UserWarning, match="reduction='sum'"):
        value = ember.nn.functional.l1_loss(ember.ones(3), ember.zeros(3), size_average=False)
    assert value.item() == 3.0


@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"])
def test_broadcast_warning(name):
    with pytest.warns(UserWarning, match="Using a target size"):
        getattr(ember.nn.functional, name)(ember.ones(3, 1), ember.ones(3))


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="batchmean"):
        ember.nn.functional.kl_div(ember.zeros(2), ember.ones(2) / 2)


MESSAGES = [
    lambda F, lib: F.cross_entropy(lib.zeros(3, 4), lib.tensor([1.0, 2.0, 3.0])),
    lambda F, lib: F.cross_entropy(lib.zeros(3, 4), lib.tensor([1, 2])),
    lambda F, lib: F.cross_entropy(lib.zeros(3, 4), lib.tensor([1, 2, 4])),
    lambda F, lib: F.nll_loss(lib.zeros(3, 4), lib.tensor([1, 2, 3]), weight=lib.ones(3)),
    lambda F, lib: F.cross_entropy(lib.zeros(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)),
    lambda F, lib: F.nll_loss(lib.zeros(2, 3), lib.zeros(2, 1, dtype=lib.int64)),
    lambda F, lib: F.cross_entropy(lib.zeros(3, 4), lib.ones(3, 4), ignore_index=1),
    lambda F, lib: F.cross_entropy(lib.zeros(3, 4), lib.tensor([1, 2, 3]), label_smoothing=2.0),
    lambda F, lib: F.binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
    lambda F, lib: F.binary_cross_entropy_with_logits(lib.ones(3), lib.ones(3, 1)),
    lambda F, lib: F.smooth_l1_loss(lib.ones(3), lib.ones(3), beta=-1.0),
    lambda F, lib: F.cosine_embedding_loss(lib.ones(3), lib.ones(3), lib.ones(1)),
    lambda F, lib: F.triplet_margin_loss(lib.ones(2, 3), lib.ones(3), lib.ones(2, 3)),
    lambda F, lib: F.gaussian_nll_loss(lib.ones(3, 2), lib.ones(3, 2), lib.ones(3, 4)),
    lambda F, lib: F.l1_loss(lib.ones(3), lib.ones(3), reduction="average"),
]


@pytest.mark.parametrize("call", MESSAGES, ids=range(len(MESSAGES)))
def test_error_message_matches_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch.nn.functional, torch)
    with pytest.raises(type(expected.value)) as actual:
        call(ember.nn.functional, ember)
    assert str(actual.value) == str(expected.value).replace("torch.Size", "ember.Size")


def test_cross_entropy_ignored_targets_and_empty_batches_give_nan():
    F = ember.nn.functional
    logits = ember.zeros(2, 3, requires_grad=True)
    loss = F.cross_entropy(logits, ember.tensor([-100, -100]))
    loss.backward()
    assert np.isnan(loss.item()) and not logits.grad.numpy().any()  # PyTorch's zero gradient
    assert (
        F.cross_entropy(ember.zeros(2, 3), ember.tensor([-100, -100]), reduction="sum").item()
        == 0.0
    )
    assert np.isnan(F.cross_entropy(ember.zeros(0, 3), ember.zeros(0, dtype=ember.int64)).item())


def test_cross_entropy_is_stable_for_huge_logits():
    logits = ember.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], requires_grad=True)
    loss = ember.nn.functional.cross_entropy(logits, ember.tensor([1, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)


def test_cross_entropy_graph_is_two_nodes():
    logits = ember.randn(4, 3, requires_grad=True)
    loss = ember.nn.functional.cross_entropy(logits, ember.tensor([0, 1, 2, 1]))
    assert type(loss.grad_fn).__name__ == "NllLossBackward0"
    assert type(loss.grad_fn.next_functions[0][0]).__name__ == "LogSoftmaxBackward0"
    spatial = ember.nn.functional.cross_entropy(
        ember.randn(2, 3, 2, 2, requires_grad=True), ember.zeros(2, 2, 2, dtype=ember.int64)
    )
    assert type(spatial.grad_fn).__name__ == "NllLoss2DBackward0"


def test_cross_entropy_is_fast():
    logits = ember.randn(512, 1000, requires_grad=True)
    target = ember.randint(0, 1000, (512,))
    start = time.perf_counter()
    ember.nn.functional.cross_entropy(logits, target).backward()
    assert time.perf_counter() - start < 1.0


def test_bce_gradient_at_the_edges_is_finite_like_torch():
    grads = []
    for lib in (torch, ember):
        x = lib.tensor([0.0, 1.0, 0.0], dtype=lib.float64, requires_grad=True)
        loss = lib.nn.functional.binary_cross_entropy(
            x, lib.tensor([1.0, 0.0, 0.0], dtype=lib.float64)
        )
        loss.backward()
        grads.append(x.grad.numpy())
        assert loss.item() == pytest.approx(200.0 / 3)
    np.testing.assert_allclose(grads[1], grads[0])


def test_mse_loss_weight_requires_same_shape():
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        ember.nn.functional.mse_loss(ember.ones(3), ember.ones(3), weight=ember.ones(2))


def test_loss_modules_register_weights_as_buffers():
    layer = ember.nn.CrossEntropyLoss(weight=ember.ones(3))
    assert list(layer.state_dict()) == ["weight"]
    assert list(ember.nn.CrossEntropyLoss().state_dict()) == []
    logits = ember.nn.BCEWithLogitsLoss(pos_weight=ember.ones(2))
    assert list(logits.state_dict()) == ["pos_weight"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert repr(ember.nn.NLLLoss()) == "NLLLoss()"
