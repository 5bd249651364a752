"""Embedding, EmbeddingBag and one_hot against PyTorch: lookups, gradients (accumulation
over repeated indices, padding_idx, scale_grad_by_freq), max_norm renormalization,
from_pretrained, reprs and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from tests.nn.layer_oracle import check_layer
from tests.oracle import Case, ErrorCase, check_case, check_error


def F(lib):
    return lib.nn.functional


def _table_and_indices(rows, columns, index_shape, dtype=np.int64):
    def make(rng):
        return [rng.standard_normal((rows, columns)),
                rng.integers(0, rows, size=index_shape).astype(dtype)]
    return make


CASES = [
    Case("nn_embedding", lambda lib, w, i: F(lib).embedding(i, w),
         inputs=_table_and_indices(5, 3, (2, 4))),
    Case("nn_embedding_repeated", lambda lib, w, i: F(lib).embedding(i, w),
         inputs=lambda rng: [rng.standard_normal((4, 2)), np.array([1, 1, 3, 1, 0])]),
    Case("nn_embedding_int32", lambda lib, w, i: F(lib).embedding(i, w),
         inputs=_table_and_indices(4, 2, (3,), np.int32)),
    Case("nn_embedding_0d_index", lambda lib, w, i: F(lib).embedding(i, w),
         inputs=lambda rng: [rng.standard_normal((4, 2)), np.array(2)]),
    Case("nn_embedding_empty", lambda lib, w, i: F(lib).embedding(i, w),
         inputs=lambda rng: [rng.standard_normal((4, 2)), np.zeros((0, 2), dtype=np.int64)]),
    # padding_idx and scale_grad_by_freq change the gradient on purpose (no gradcheck):
    # their gradients are compared with PyTorch's in test_gradient_options_match_torch.
    Case("nn_embedding_padding", lambda lib, w, i: F(lib).embedding(i, w, padding_idx=1),
         grad=False,
         inputs=lambda rng: [rng.standard_normal((4, 3)), np.array([[1, 2, 1], [0, 1, 3]])]),
    Case("nn_embedding_padding_negative",
         lambda lib, w, i: F(lib).embedding(i, w, padding_idx=-1), grad=False,
         inputs=lambda rng: [rng.standard_normal((4, 3)), np.array([3, 2, 3, 0])]),
    Case("nn_embedding_scale_grad",
         lambda lib, w, i: F(lib).embedding(i, w, scale_grad_by_freq=True), grad=False,
         inputs=lambda rng: [rng.standard_normal((4, 2)), np.array([[1, 1, 2], [1, 0, 2]])]),
    Case("nn_embedding_bag_sum",
         lambda lib, w, i: F(lib).embedding_bag(i, w, lib.tensor([0, 2, 2]), mode="sum"),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([1, 3, 3, 4, 0])]),
    Case("nn_embedding_bag_mean_2d", lambda lib, w, i: F(lib).embedding_bag(i, w),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([[1, 3, 3], [4, 0, 1]])]),
    Case("nn_embedding_bag_max",
         lambda lib, w, i: F(lib).embedding_bag(i, w, lib.tensor([0, 3]), mode="max"),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([1, 3, 2, 4, 0])]),
    Case("nn_embedding_bag_weights_padding",
         lambda lib, w, i, s: F(lib).embedding_bag(i, w, lib.tensor([0, 1, 5]), mode="sum",
                                                   per_sample_weights=s, padding_idx=3,
                                                   include_last_offset=True),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([1, 3, 2, 4, 0]),
                             rng.standard_normal(5)]),
    Case("nn_embedding_bag_max_empty_bag_padding",
         lambda lib, w, i: F(lib).embedding_bag(i, w, lib.tensor([0, 2, 2, 4, 7]), mode="max",
                                                padding_idx=4, include_last_offset=True),
         inputs=lambda rng: [rng.standard_normal((5, 3)), np.array([1, 3, 4, 4, 0, 1, 2])]),
    Case("nn_embedding_bag_mean_padding_2d",
         lambda lib, w, i: F(lib).embedding_bag(i, w, padding_idx=1),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([[1, 3, 1], [1, 1, 1]])]),
    Case("nn_embedding_bag_sum_weights_2d",
         lambda lib, w, i, s: F(lib).embedding_bag(i, w, mode="sum", per_sample_weights=s),
         inputs=lambda rng: [rng.standard_normal((5, 2)), np.array([[1, 3, 3], [4, 0, 1]]),
                             rng.standard_normal((2, 3))]),
    Case("nn_one_hot", lambda lib, i: F(lib).one_hot(i), grad=False,
         inputs=lambda rng: [np.array([[0, 3], [1, 1]])]),
    Case("nn_one_hot_classes", lambda lib, i: F(lib).one_hot(i, 5), grad=False,
         inputs=lambda rng: [np.array(2)]),
    Case("nn_one_hot_empty", lambda lib, i: F(lib).one_hot(i, 3), grad=False,
         inputs=lambda rng: [np.zeros((0, 2), dtype=np.int64)]),
]

ERRORS = [
    ErrorCase("nn_embedding_err_range",
              lambda lib: F(lib).embedding(lib.tensor([5]), lib.ones(5, 3))),
    ErrorCase("nn_embedding_err_negative",
              lambda lib: F(lib).embedding(lib.tensor([-1]), lib.ones(5, 3))),
    ErrorCase("nn_embedding_err_float_index",
              lambda lib: F(lib).embedding(lib.tensor([1.0]), lib.ones(5, 3))),
    ErrorCase("nn_embedding_err_weight_1d",
              lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(5))),
    ErrorCase("nn_embedding_err_padding",
              lambda lib: F(lib).embedding(lib.tensor([1]), lib.ones(5, 3), padding_idx=5)),
    ErrorCase("nn_embedding_err_module_padding", lambda lib: lib.nn.Embedding(5, 3, -6)),
    ErrorCase("nn_embedding_err_pretrained_1d",
              lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(3))),
    ErrorCase("nn_embedding_bag_err_mode",
              lambda lib: F(lib).embedding_bag(lib.tensor([[1]]), lib.ones(3, 2), mode="min")),
    ErrorCase("nn_embedding_bag_err_offsets",
              lambda lib: F(lib).embedding_bag(lib.tensor([1, 2]), lib.ones(3, 2))),
    ErrorCase("nn_embedding_bag_err_weights_mode",
              lambda lib: F(lib).embedding_bag(lib.tensor([[1]]), lib.ones(3, 2),
                                               per_sample_weights=lib.ones(1, 1))),
    ErrorCase("nn_one_hot_err_negative", lambda lib: F(lib).one_hot(lib.tensor([-1, 2]))),
    ErrorCase("nn_one_hot_err_small", lambda lib: F(lib).one_hot(lib.tensor([1, 3]), 3)),
    ErrorCase("nn_one_hot_err_float", lambda lib: F(lib).one_hot(lib.tensor([1.0]))),
    ErrorCase("nn_one_hot_err_int32",
              lambda lib: F(lib).one_hot(lib.tensor([1], dtype=lib.int32))),
    ErrorCase("nn_one_hot_err_empty",
              lambda lib: F(lib).one_hot(lib.tensor([], dtype=lib.int64))),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_functional_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
def test_bad_input_raises_like_torch(case):
    check_error(case)


def test_out_of_range_message():
    with pytest.raises(IndexError, match="index out of range in self"):
        ember.nn.functional.embedding(ember.tensor([7]), ember.ones(5, 3))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Embedding(6, 3),
    lambda lib: lib.nn.Embedding(6, 3, padding_idx=2),
    lambda lib: lib.nn.Embedding(6, 3, scale_grad_by_freq=True),
    lambda lib: lib.nn.Embedding(6, 3, padding_idx=-1, scale_grad_by_freq=True),
    lambda lib: lib.nn.EmbeddingBag(6, 3, mode="sum"),
])
def test_layers_match_torch(make):
    indices = np.array([[2, 0, 2], [5, 2, 1]])
    torch_module, ember_module = check_layer(make, [indices])
    assert repr(ember_module) == repr(torch_module)
    assert list(ember_module.state_dict()) == list(torch_module.state_dict())


@pytest.mark.parametrize("options", [
    {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
    {"padding_idx": 0, "scale_grad_by_freq": True},
])
def test_gradient_options_match_torch(options):
    rng = np.random.default_rng(1)
    weight, indices = rng.standard_normal((4, 3)), np.array([[1, 2, 1], [0, 1, 3]])
    cotangent = rng.standard_normal((2, 3, 3))
    grads = []
    for lib in (torch, ember):
        table = lib.tensor(weight, requires_grad=True)
        output = lib.nn.functional.embedding(lib.tensor(indices), table, **options)
        (grad,) = lib.autograd.grad(output, table, lib.tensor(cotangent))
        grads.append(grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)


def test_sparse_flag_is_accepted_and_printed():
    layer = nn.Embedding(6, 3, sparse=True)
    assert repr(layer) == repr(torch.nn.Embedding(6, 3, sparse=True))
    layer(ember.tensor([1, 1])).sum().backward()
    assert layer.weight.grad.is_sparse
    assert layer.weight.grad.to_dense()[1].tolist() == [2.0, 2.0, 2.0]


def test_padding_row_is_zero_and_gets_no_gradient():
    layer = nn.Embedding(5, 3, padding_idx=1)
    assert layer.weight[1].tolist() == [0.0, 0.0, 0.0]
    assert layer.weight.abs().sum().item() > 0
    layer(ember.tensor([[1, 1, 2], [1, 3, 3]])).sum().backward()
    grad = layer.weight.grad.numpy()
    assert np.all(grad[1] == 0) and np.all(grad[3] == 2) and np.all(grad[2] == 1)


def test_max_norm_renormalizes_rows_in_place_like_torch():
    weight = np.random.default_rng(0).standard_normal((6, 3)) * 2
    indices = [[0, 2, 2], [5, 1, 0]]
    results = []
    for lib in (torch, ember):
        table = lib.tensor(weight.copy(), requires_grad=True)
        output = lib.nn.functional.embedding(lib.tensor(indices), table, max_norm=1.5,
                                             norm_type=1.0)
        output.sum().backward()
        results.append((output.detach().numpy(), table.detach().numpy(), table.grad.numpy()))
    for expected, actual in zip(results[0], results[1]):
        np.testing.assert_allclose(actual, expected, rtol=1e-12)
    assert np.all(results[1][1][3] == weight[3])  # rows not looked up are untouched
    layer = nn.Embedding(4, 2, max_norm=1.0)
    layer(ember.tensor([0, 1, 2, 3]))
    assert np.all(np.linalg.norm(layer.weight.detach().numpy(), axis=1) <= 1.0 + 1e-6)


def test_from_pretrained():
    table = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    layer = nn.Embedding.from_pretrained(table)
    assert not layer.weight.requires_grad and layer.weight.tolist() == table.tolist()
    assert layer(ember.tensor([2])).tolist() == [[5.0, 6.0]]
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert trainable.weight.requires_grad and trainable.padding_idx == 0
    assert trainable.weight[0].tolist() == [1.0, 2.0]  # kept as given, as in PyTorch
    trainable(ember.tensor([0, 1])).sum().backward()
    assert trainable.weight.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    assert repr(trainable) == repr(torch.nn.Embedding.from_pretrained(torch.ones(3, 2),
                                                                      padding_idx=0))
    bag = nn.EmbeddingBag.from_pretrained(table, mode="max")
    assert not bag.weight.requires_grad
    assert bag(ember.tensor([[0, 2]])).tolist() == [[5.0, 6.0]]


def test_default_initialization_is_standard_normal():
    ember.manual_seed(0)
    weight = nn.Embedding(400, 50).weight.detach().numpy()
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1.0) < 0.02


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scales_by_each_index_frequency_as_documented(mode):
    """``scale_grad_by_freq`` divides each row's gradient by how often its index occurs in
    the batch, as ``embedding`` does and PyTorch documents. PyTorch 2.13's CPU kernel for
    ``embedding_bag`` divides some rows by another index's count (one bag of
    [0, 0, 1, 2, 2, 2, 2, 3] gives row gradients 1, 0.5, 4, 0.25 for a gradient of ones),
    so the reference here is PyTorch's ``embedding`` of the same lookups."""
    rng = np.random.default_rng(11)
    table = rng.standard_normal((6, 3))
    tokens = np.array([0, 0, 1, 2, 2, 2, 2, 3, 5, 5])
    starts = np.array([0, 3, 8])
    bag_of = np.searchsorted(starts, np.arange(tokens.size), side="right") - 1
    cotangent = rng.standard_normal((3, 3))
    sizes = np.bincount(bag_of)[:, None] if mode == "mean" else np.ones((3, 1))
    weight = torch.tensor(table, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(tokens), weight, scale_grad_by_freq=True).backward(
        torch.tensor((cotangent / sizes)[bag_of]))
    bag_weight = ember.tensor(table, requires_grad=True)
    ember.nn.functional.embedding_bag(ember.tensor(tokens), bag_weight, ember.tensor(starts),
                                      mode=mode, scale_grad_by_freq=True).backward(
        ember.tensor(cotangent))
    np.testing.assert_allclose(bag_weight.grad.numpy(), weight.grad.numpy(), rtol=1e-12)
