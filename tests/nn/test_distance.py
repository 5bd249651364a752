"""normalize, cosine_similarity, pairwise_distance and pdist against PyTorch (values,
gradients, gradcheck, gradgradcheck), their modules, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer
from tests.oracle import Case, ErrorCase, check_case, check_error


def F(lib):
    return lib.nn.functional


CASES = [
    Case("nn_normalize", lambda lib, x: F(lib).normalize(x), [(3, 4)]),
    Case("nn_normalize_p1_dim", lambda lib, x: F(lib).normalize(x, p=1.0, dim=-1), [(2, 3, 2)]),
    Case("nn_normalize_1d", lambda lib, x: F(lib).normalize(x, dim=0), [(5,)]),
    Case("nn_normalize_zero_row",
         lambda lib, x: F(lib).normalize(x * lib.tensor([[1.0], [0.0]], dtype=x.dtype)),
         [(2, 3)]),
    Case("nn_cosine_similarity", lambda lib, a, b: F(lib).cosine_similarity(a, b),
         [(3, 4), (3, 4)]),
    Case("nn_cosine_similarity_broadcast",
         lambda lib, a, b: F(lib).cosine_similarity(a, b, dim=-1), [(2, 1, 3), (4, 3)]),
    Case("nn_cosine_similarity_dim0", lambda lib, a, b: F(lib).cosine_similarity(a, b, 0),
         [(4,), (4,)]),
    # Below eps the norm is clamped in value only: PyTorch's gradient is not the true one
    # there (no gradcheck); test_clamped_norm_gradient_matches_torch compares it.
    Case("nn_cosine_similarity_small_eps",
         lambda lib, a, b: F(lib).cosine_similarity(a * 1e-3, b, eps=0.01), [(2, 3), (2, 3)],
         grad=False),
    Case("nn_pairwise_distance", lambda lib, a, b: F(lib).pairwise_distance(a, b),
         [(3, 4), (3, 4)]),
    Case("nn_pairwise_distance_p1_keepdim",
         lambda lib, a, b: F(lib).pairwise_distance(a, b, p=1.0, keepdim=True),
         [(3, 4), (4,)]),
    Case("nn_pairwise_distance_inf", lambda lib, a, b: F(lib).pairwise_distance(a, b, p=3.0),
         [(2, 5), (2, 5)]),
    Case("nn_pairwise_distance_1d", lambda lib, a, b: F(lib).pairwise_distance(a, b),
         [(4,), (4,)]),
    Case("nn_pairwise_distance_0d", lambda lib, a, b: F(lib).pairwise_distance(a, b),
         [(), ()]),
    Case("nn_pdist", lambda lib, x: F(lib).pdist(x), [(4, 3)], gradgrad=False),
    Case("nn_pdist_p1", lambda lib, x: F(lib).pdist(x, p=1.0), [(3, 2)], gradgrad=False),
    Case("nn_pdist_one_row", lambda lib, x: F(lib).pdist(x), [(1, 3)], gradgrad=False),
]

ERRORS = [
    ErrorCase("nn_cosine_err_shape",
              lambda lib: F(lib).cosine_similarity(lib.ones(2, 3), lib.ones(2, 4))),
    ErrorCase("nn_cosine_err_dim",
              lambda lib: F(lib).cosine_similarity(lib.ones(2, 3), lib.ones(2, 3), dim=2)),
    ErrorCase("nn_cosine_err_int",
              lambda lib: F(lib).cosine_similarity(lib.ones(2, 3, dtype=lib.int64),
                                                   lib.ones(2, 3, dtype=lib.int64))),
    ErrorCase("nn_pairwise_err_shape",
              lambda lib: F(lib).pairwise_distance(lib.ones(2, 3), lib.ones(2, 4))),
    ErrorCase("nn_normalize_err_int",
              lambda lib: F(lib).normalize(lib.ones(2, 3, dtype=lib.int64))),
    ErrorCase("nn_pdist_err_3d", lambda lib: F(lib).pdist(lib.ones(2, 3, 4))),
    ErrorCase("nn_pdist_err_negative_p", lambda lib: F(lib).pdist(lib.ones(2, 3), p=-1)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_functional_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c.name)
def test_bad_input_raises_like_torch(case):
    check_error(case)


def test_clamped_norm_gradient_matches_torch():
    rng = np.random.default_rng(3)
    a, b, cotangent = rng.standard_normal((2, 3)) * 1e-3, rng.standard_normal((2, 3)), [1.0, -2.0]
    grads = []
    for lib in (torch, ember):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        output = lib.nn.functional.cosine_similarity(x, y, eps=0.01)
        grads.append([g.numpy() for g in lib.autograd.grad(output, (x, y), lib.tensor(cotangent))])
    for expected, actual in zip(*grads):
        np.testing.assert_allclose(actual, expected, rtol=1e-10)


def test_integer_inputs_give_float_distances():
    a, b = [[1, 2, 3], [4, 5, 6]], [[0, 2, 1], [4, 4, 4]]
    expected = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b))
    actual = ember.nn.functional.pairwise_distance(ember.tensor(a), ember.tensor(b))
    assert actual.dtype == ember.float32
    np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-6)
    mixed = ember.nn.functional.cosine_similarity(ember.tensor(a),
                                                  ember.tensor(b, dtype=ember.float64))
    expected = torch.nn.functional.cosine_similarity(torch.tensor(a),
                                                     torch.tensor(b, dtype=torch.float64))
    assert mixed.dtype == ember.float64
    np.testing.assert_allclose(mixed.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.CosineSimilarity(),
    lambda lib: lib.nn.CosineSimilarity(dim=0, eps=1e-6),
    lambda lib: lib.nn.PairwiseDistance(),
    lambda lib: lib.nn.PairwiseDistance(p=1.0, eps=1e-3, keepdim=True),
])
def test_modules_match_torch(make):
    rng = np.random.default_rng(2)
    torch_module, ember_module = check_layer(make, [rng.standard_normal((3, 4)),
                                                    rng.standard_normal((3, 4))])
    assert repr(ember_module) == repr(torch_module)
