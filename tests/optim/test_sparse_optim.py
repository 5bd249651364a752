"""Optimizers on sparse gradients (``nn.Embedding(sparse=True)``), against PyTorch."""

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)


def _message(library, function):
    with pytest.raises(Exception) as caught:
        function(library)
    return type(caught.value), str(caught.value)


def _train(library, optimizer_name, weight, batches, **options):
    table = library.nn.Embedding(*weight.shape, sparse=True, dtype=library.float64)
    with library.no_grad():
        table.weight.copy_(library.tensor(weight))
    optimizer = getattr(library.optim, optimizer_name)(table.parameters(), **options)
    for batch, target in batches:
        optimizer.zero_grad()
        output = table(library.tensor(batch)).sum(1)
        ((output - library.tensor(target)) ** 2).mean().backward()
        assert table.weight.grad.is_sparse
        optimizer.step()
    return table.weight


@pytest.mark.parametrize("optimizer_name, options", [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}),
    ("SparseAdam", {"lr": 0.05}),
    ("SparseAdam", {"lr": 0.05, "betas": (0.8, 0.99), "maximize": True}),
])
def test_sparse_embedding_training_matches_torch(optimizer_name, options):
    rng = np.random.default_rng(16)
    weight = rng.standard_normal((8, 3))
    batches = [(rng.integers(0, 8, 5), rng.standard_normal(5)) for _ in range(4)]
    mine = _train(ember, optimizer_name, weight, batches, **options)
    theirs = _train(torch, optimizer_name, weight, batches, **options)
    np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-9,
                               atol=1e-9)


def test_sparse_gradient_refusals_match_torch():
    rng = np.random.default_rng(17)
    weight = rng.standard_normal((5, 2))
    batches = [(rng.integers(0, 5, 3), rng.standard_normal(3))]
    for name, options in (("SGD", {"lr": 0.1, "weight_decay": 0.1}), ("SparseAdam", {"eps": -1})):

        def training(library, name=name, options=options):
            _train(library, name, weight, batches, **options)

        assert _message(ember, training) == _message(torch, training)

    def dense_into_sparse_adam(library):
        layer = library.nn.Linear(2, 2)
        layer(library.ones(1, 2)).sum().backward()
        library.optim.SparseAdam(layer.parameters()).step()

    assert _message(ember, dense_into_sparse_adam) == _message(torch, dense_into_sparse_adam)

    def frequency_scaled(library):
        table = library.nn.Embedding(4, 2, sparse=True, scale_grad_by_freq=True)
        table(library.tensor([1, 1])).sum().backward()

    assert _message(ember, frequency_scaled) == _message(torch, frequency_scaled)


def test_sparse_adam_resumes_from_its_state_dict_as_torch_does():
    rng = np.random.default_rng(22)
    weight = rng.standard_normal((6, 2))
    batches = [rng.integers(0, 6, 4) for _ in range(4)]
    results = []
    for library in (ember, torch):
        table = library.nn.Embedding(6, 2, sparse=True, dtype=library.float64)
        with library.no_grad():
            table.weight.copy_(library.tensor(weight))
        optimizer = library.optim.SparseAdam(table.parameters(), lr=0.1)
        for index, batch in enumerate(batches):
            if index == 2:
                state = optimizer.state_dict()
                optimizer = library.optim.SparseAdam(table.parameters(), lr=0.1)
                optimizer.load_state_dict(state)
            optimizer.zero_grad()
            table(library.tensor(batch)).pow(2).sum().backward()
            optimizer.step()
        assert type(optimizer.state[table.weight]["step"]) is int
        results.append(table.weight.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-9)


OPTIMIZERS = ["Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "SGD"]


def _two_sparse_steps(lib, name, **options):
    """Two steps of ``name`` on an embedding's sparse gradient: the weights, or the error."""
    embedding = lib.nn.Embedding(5, 2, sparse=True)
    with lib.no_grad():
        embedding.weight.copy_(lib.arange(10.0).reshape(5, 2))
    optimizer = getattr(lib.optim, name)(embedding.parameters(), lr=0.1, **options)
    embedding(lib.tensor([1, 2, 1])).pow(2).sum().backward()
    try:
        optimizer.step()
        optimizer.step()
    except RuntimeError as error:
        return str(error)
    optimizer.zero_grad(set_to_none=False)
    grad = embedding.weight.grad
    return embedding.weight.detach().numpy(), grad.is_sparse, grad._nnz(), tuple(grad.shape)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_each_optimizer_takes_or_refuses_a_sparse_gradient_as_pytorch(name, weight_decay):
    expected = _two_sparse_steps(torch, name, weight_decay=weight_decay)
    actual = _two_sparse_steps(ember, name, weight_decay=weight_decay)
    if isinstance(expected, str):
        assert actual == expected
    else:
        np.testing.assert_allclose(actual[0], expected[0], rtol=1e-6)
        assert actual[1:] == expected[1:]  # zero_grad(set_to_none=False): no entries left
