"""Sparse COO (and CSR) tensors as graph-network code uses them, against PyTorch."""

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:Sparse (invariant checks|CSR tensor support)")


def _graph(rng, nodes: int = 7, edges: int = 16):
    """Random edges (with repeats) of a graph, as int64 (2, edges)."""
    return rng.integers(0, nodes, size=(2, edges)).astype(np.int64)


def _pair(rng, shape=(4, 5), edges=9, requires_grad=False):
    index = rng.integers(0, min(shape), size=(2, edges)).astype(np.int64)
    index[1] = rng.integers(0, shape[1], size=edges)
    values = rng.standard_normal(edges)
    made = []
    for library in (ember, torch):
        made.append(library.sparse_coo_tensor(library.tensor(index), library.tensor(values),
                                              shape, requires_grad=requires_grad))
    return made


def _close(mine, theirs, tolerance=1e-10):
    mine = mine.to_dense() if mine.is_sparse else mine
    theirs = theirs.to_dense() if theirs.is_sparse else theirs
    np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(),
                               rtol=tolerance, atol=tolerance)


def _message(library, function):
    with pytest.raises(Exception) as caught:
        function(library)
    return type(caught.value), str(caught.value)


# ---------------------------------------------------------------- a user's GCN


def _normalized_adjacency(library, index, nodes):
    """D^-1/2 (A + I) D^-1/2 as a sparse tensor, built the way GCN scripts build it."""
    loops = np.arange(nodes)
    full = np.concatenate([index, np.stack([loops, loops])], axis=1)
    ones = library.ones(full.shape[1], dtype=library.float64)
    adjacency = library.sparse_coo_tensor(library.tensor(full), ones, (nodes, nodes)).coalesce()
    degree = library.sparse.sum(adjacency, 1).to_dense()
    scale = degree.pow(-0.5)
    rows, columns = adjacency.indices()
    values = adjacency.values() * scale[rows] * scale[columns]
    return library.sparse_coo_tensor(adjacency.indices(), values, (nodes, nodes))


def test_two_layer_gcn_forward_and_backward_match_torch():
    rng = np.random.default_rng(0)
    nodes, features, hidden, classes = 7, 5, 6, 3
    index = _graph(rng, nodes)
    x = rng.standard_normal((nodes, features))
    weights = [rng.standard_normal((features, hidden)), rng.standard_normal((hidden, classes))]
    labels = rng.integers(0, classes, nodes)
    results = []
    for library in (ember, torch):
        adjacency = _normalized_adjacency(library, index, nodes)
        w1, w2 = (library.tensor(w, requires_grad=True) for w in weights)
        inputs = library.tensor(x, requires_grad=True)
        hidden_state = library.relu(library.sparse.mm(adjacency, inputs @ w1))
        logits = library.spmm(adjacency, hidden_state @ w2)
        loss = library.nn.functional.cross_entropy(logits, library.tensor(labels))
        loss.backward()
        results.append((logits, w1.grad, w2.grad, inputs.grad))
    for mine, theirs in zip(*results):
        _close(mine, theirs)


def test_gradient_of_sparse_leaf_is_sparse_on_coalesced_entries():
    rng = np.random.default_rng(1)
    (mine, theirs) = _pair(rng, requires_grad=True)
    dense = rng.standard_normal((5, 3))
    cotangent = rng.standard_normal((4, 3))
    for library, sparse in ((ember, mine), (torch, theirs)):
        other = library.tensor(dense, requires_grad=True)
        (library.sparse.mm(sparse, other) * library.tensor(cotangent)).sum().backward()
    assert mine.grad.is_sparse and mine.grad.layout is ember.sparse_coo
    assert mine.grad.is_coalesced() == theirs.grad.is_coalesced()
    np.testing.assert_array_equal(mine.grad._indices().numpy(), theirs.grad._indices().numpy())
    _close(mine.grad, theirs.grad)


def test_values_gradient_of_sparse_mm_matches_finite_differences():
    rng = np.random.default_rng(2)
    index = _graph(rng, 5, 8)
    dense = ember.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    values = ember.tensor(rng.standard_normal(8), requires_grad=True)

    def product(values, dense):
        return ember.sparse.mm(ember.sparse_coo_tensor(ember.tensor(index), values, (5, 5)),
                               dense)

    assert ember.autograd.gradcheck(product, (values, dense))
    assert ember.autograd.gradgradcheck(product, (values, dense))


def test_sparse_gradient_accumulates_over_two_backward_passes():
    rng = np.random.default_rng(3)
    mine, theirs = _pair(rng, requires_grad=True)
    dense = rng.standard_normal((5, 2))
    for library, sparse in ((ember, mine), (torch, theirs)):
        for _ in range(2):
            library.sparse.mm(sparse, library.tensor(dense)).pow(2).sum().backward()
    _close(mine.grad, theirs.grad)


# ---------------------------------------------------------------- construction and access


def test_coalesce_sums_repeats_and_sorts_indices():
    rng = np.random.default_rng(4)
    mine, theirs = _pair(rng, edges=15)
    assert not mine.is_coalesced()
    mine_c, theirs_c = mine.coalesce(), theirs.coalesce()
    assert mine_c.is_coalesced()
    np.testing.assert_array_equal(mine_c.indices().numpy(), theirs_c.indices().numpy())
    _close(mine_c.values(), theirs_c.values())
    _close(mine.to_dense(), theirs.to_dense())
    assert (mine.sparse_dim(), mine.dense_dim(), mine._nnz()) == (2, 0, 15)


@pytest.mark.parametrize("accessor", ["indices", "values"])
def test_uncoalesced_access_raises_torchs_error(accessor):
    rng = np.random.default_rng(5)
    mine, theirs = _pair(rng)
    expected = _message(torch, lambda _: getattr(theirs, accessor)())
    assert _message(ember, lambda _: getattr(mine, accessor)()) == expected


def test_repr_matches_torch():
    rng = np.random.default_rng(6)
    mine, theirs = _pair(rng, shape=(3, 4), edges=4)
    for make in (lambda s: s, lambda s: s.coalesce(), lambda s: s.double()):
        assert repr(make(mine)) == repr(make(theirs)).replace("torch.", "ember.")
    mine_leaf, theirs_leaf = _pair(rng, shape=(3, 4), edges=3, requires_grad=True)
    assert repr(mine_leaf) == repr(theirs_leaf).replace("torch.", "ember.")
    assert repr(ember.zeros(2, 3).to_sparse()) == repr(
        torch.zeros(2, 3).to_sparse()).replace("torch.", "ember.")
    rows = [[0., 1.], [2., 0.]]
    assert repr(ember.tensor(rows).to_sparse(1)) == repr(
        torch.tensor(rows).to_sparse(1)).replace("torch.", "ember.")


@pytest.mark.parametrize("sparse_dim", [None, 1, 2])
def test_to_sparse_round_trips_and_keeps_the_gradient(sparse_dim):
    rng = np.random.default_rng(7)
    array = rng.standard_normal((4, 3)) * (rng.random((4, 3)) < 0.4)
    cotangent = rng.standard_normal((4, 3))
    results = []
    for library in (ember, torch):
        dense = library.tensor(array, requires_grad=True)
        sparse = dense.to_sparse() if sparse_dim is None else dense.to_sparse(sparse_dim)
        (sparse.to_dense() * library.tensor(cotangent)).sum().backward()
        results.append((sparse.coalesce().indices(), sparse.to_dense(), dense.grad))
    for mine, theirs in zip(*results):
        _close(mine, theirs)


def test_construction_errors_match_torch():
    index = [[0, 1, 1], [2, 0, 2]]
    cases = [
        lambda lib: lib.sparse_coo_tensor(lib.tensor(index), lib.tensor([1., 2.]), (2, 3)),
        lambda lib: lib.sparse_coo_tensor(lib.tensor([[0, -1, 1], [2, 0, 2]]),
                                          lib.tensor([1., 2., 3.])),
        lambda lib: lib.sparse_coo_tensor(lib.tensor(index), lib.tensor([1., 2., 3.]), (2, 3, 4)),
        lambda lib: lib.sparse_coo_tensor(lib.tensor(index), lib.tensor([1., 2., 3.]), (2, 2),
                                          check_invariants=True),
        lambda lib: lib.zeros(2, 3).to_sparse(3),
        lambda lib: lib.zeros(2, 3).indices(),
        lambda lib: lib.zeros(2, 3).coalesce(),
    ]
    for case in cases:
        assert _message(ember, case) == _message(torch, case)


def test_inferred_size_dtype_and_shape_attributes():
    for library in (ember, torch):
        sparse = library.sparse_coo_tensor([[0, 3], [1, 0]], [1, 2])
        assert list(sparse.shape) == [4, 2] and list(sparse.size()) == [4, 2]
        assert sparse.size(-1) == 2 and sparse.dtype is library.int64 and len(sparse) == 4
        cast = library.sparse_coo_tensor([[0, 3], [1, 0]], [1, 2], dtype=library.float64)
        assert cast.dtype is library.float64 and cast.float().dtype is library.float32
        assert cast.to(library.float32).is_sparse and cast.layout is library.sparse_coo
        assert library.sparse_coo_tensor([[0, 1]], [1.0, 2.0]).dtype is library.float32
        assert library.ones(2).layout is library.strided and not library.ones(2).is_sparse


# ---------------------------------------------------------------- operations


def test_elementwise_operations_match_torch():
    rng = np.random.default_rng(8)
    (mine, theirs), (mine2, theirs2) = _pair(rng), _pair(rng)
    operations = [
        lambda a, b: a * 2.5, lambda a, b: 3 * a, lambda a, b: a / 4, lambda a, b: -a,
        lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a.t(), lambda a, b: a.transpose(0, 1),
        lambda a, b: a.coalesce().t().coalesce(), lambda a, b: a * b,
    ]
    for operation in operations:
        _close(operation(mine, mine2), operation(theirs, theirs2))
        assert operation(mine, mine2).is_sparse


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
def test_sparse_sum_matches_torch(dim):
    rng = np.random.default_rng(9)
    mine, theirs = _pair(rng, requires_grad=True)
    results = []
    for library, sparse in ((ember, mine), (torch, theirs)):
        total = library.sparse.sum(sparse) if dim is None else library.sparse.sum(sparse, dim)
        results.append(total)
        total = total.to_dense() if total.is_sparse else total
        (total * library.tensor(rng.standard_normal(tuple(total.shape)), dtype=total.dtype)
         ).sum().backward()
    assert results[0].is_sparse == results[1].is_sparse
    _close(*results)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_softmax_over_specified_entries_matches_torch(name, dim):
    rng = np.random.default_rng(10)
    index = _graph(rng, 5, 12)
    values = rng.standard_normal(12)
    cotangent = rng.standard_normal(12)
    results = []
    for library in (ember, torch):
        leaf = library.tensor(values, requires_grad=True)
        sparse = library.sparse_coo_tensor(library.tensor(index), leaf, (5, 5))
        result = getattr(library.sparse, name)(sparse, dim)
        result = result.coalesce()
        (result.values() * library.tensor(cotangent[: result._nnz()])).sum().backward()
        results.append((result.indices(), result.values(), leaf.grad))
    for mine, theirs in zip(*results):
        _close(mine, theirs)


def test_sparse_products_and_addmm_match_torch():
    rng = np.random.default_rng(11)
    mine, theirs = _pair(rng)
    dense, vector, bias = (rng.standard_normal(shape) for shape in ((5, 3), (5,), (4, 3)))
    for operation in (
        lambda lib, s: lib.mm(s, lib.tensor(dense)),
        lambda lib, s: lib.matmul(s, lib.tensor(dense)),
        lambda lib, s: s @ lib.tensor(dense),
        lambda lib, s: s @ lib.tensor(vector),
        lambda lib, s: lib.sparse.addmm(lib.tensor(bias), s, lib.tensor(dense), beta=0.5,
                                        alpha=2.0),
    ):
        _close(operation(ember, mine), operation(torch, theirs))


def test_products_with_a_dense_operand_match_torch_with_gradients():
    rng = np.random.default_rng(20)
    (mine, theirs), (mine_leaf, theirs_leaf) = _pair(rng), _pair(rng, requires_grad=True)
    full, row, left = (rng.standard_normal(shape) for shape in ((4, 5), (5,), (3, 4)))
    results = []
    for library, sparse, leaf in ((ember, mine, mine_leaf), (torch, theirs, theirs_leaf)):
        dense = [library.tensor(array, requires_grad=True) for array in (full, left)]
        # PyTorch cannot backpropagate into a dense factor that broadcasts: row has no grad.
        outputs = [sparse * library.tensor(row), sparse * dense[0], library.mm(dense[1], sparse),
                   library.matmul(dense[1], leaf), library.matmul(dense[1][0], sparse)]
        total = sum((output.to_dense() if output.is_sparse else output).pow(2).sum()
                    for output in outputs)
        total.backward()
        results.append(outputs + [grad.grad for grad in dense] + [leaf.grad])
    assert results[0][0].is_sparse and results[0][1].is_sparse
    for ours, theirs_result in zip(*results):
        _close(ours, theirs_result)


def test_product_errors_match_torch():
    rng = np.random.default_rng(12)
    mine, theirs = _pair(rng)
    for shape, dtype in (((4, 2), "float64"), ((5, 2), "float32")):

        def product(library, shape=shape, dtype=dtype):
            sparse = mine if library is ember else theirs
            return library.sparse.mm(sparse, library.ones(shape, dtype=getattr(library, dtype)))

        assert _message(ember, product) == _message(torch, product)


def test_dense_ops_refuse_sparse_tensors_naming_op_and_layout():
    rng = np.random.default_rng(13)
    mine, _ = _pair(rng)
    for operation in (ember.sigmoid, lambda s: s.exp(), lambda s: ember.ones(4, 5) + s,
                      lambda s: s.view(5, 4), lambda s: ember.nn.functional.linear(s, s)):
        kind, text = _message(ember, lambda _, operation=operation: operation(mine))
        assert kind is NotImplementedError
        assert "SparseCPU" in text and "layout=ember.sparse_coo" in text
    kind, text = _message(ember, lambda _: ember.sigmoid(mine))
    assert "'Sigmoid'" in text
    assert _message(ember, lambda _: mine + ember.ones(4, 5)) == _message(
        torch, lambda _: torch.ones(4, 5).to_sparse() + torch.ones(4, 5))


def test_csr_tensor_products_and_conversions_match_torch():
    rng = np.random.default_rng(14)
    array = rng.standard_normal((4, 5)) * (rng.random((4, 5)) < 0.5)
    dense = rng.standard_normal((5, 2))
    results = []
    for library in (ember, torch):
        csr = library.tensor(array).to_sparse_csr()
        rebuilt = library.sparse_csr_tensor(csr.crow_indices(), csr.col_indices(), csr.values(),
                                            (4, 5))
        assert csr.layout is library.sparse_csr and not csr.is_sparse
        from_coo = library.tensor(array).to_sparse().to_sparse_csr()
        results.append((csr.crow_indices(), csr.col_indices(), csr.values(), rebuilt.to_dense(),
                        csr @ library.tensor(dense), csr.to_sparse().to_dense(),
                        from_coo.crow_indices(), from_coo.col_indices(), from_coo.values()))
    for mine, theirs in zip(*results):
        _close(mine, theirs)
    kind, text = _message(ember, lambda _: ember.tensor(array).to_sparse_csr().indices())
    assert kind is NotImplementedError and "layout=ember.sparse_csr" in text


# ---------------------------------------------------------------- sparse embeddings


def _embedding_gradients(library, weight, batches, padding_idx=None):
    table = library.nn.Embedding(*weight.shape, sparse=True, padding_idx=padding_idx,
                                 dtype=library.float64)
    with library.no_grad():
        table.weight.copy_(library.tensor(weight))
    for batch in batches:
        table(library.tensor(batch)).pow(2).sum().backward()
    return table.weight.grad


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_sparse_gradient_matches_torch(padding_idx):
    rng = np.random.default_rng(15)
    weight = rng.standard_normal((6, 3))
    batches = [rng.integers(0, 6, (2, 4)), rng.integers(0, 6, 3)]
    mine = _embedding_gradients(ember, weight, batches[:1], padding_idx)
    theirs = _embedding_gradients(torch, weight, batches[:1], padding_idx)
    assert mine.is_sparse and mine._nnz() == theirs._nnz()
    np.testing.assert_array_equal(mine._indices().numpy(), theirs._indices().numpy())
    _close(mine._values(), theirs._values())
    # Accumulated over two passes: PyTorch merges some repeated rows, so compare the sums.
    mine = _embedding_gradients(ember, weight, batches, padding_idx)
    theirs = _embedding_gradients(torch, weight, batches, padding_idx)
    assert mine.is_sparse
    _close(mine, theirs)


# ---------------------------------------------------------------- gradients of sparse leaves


def test_mm_gives_a_sparse_leaf_a_dense_gradient_as_torch_does():
    rng = np.random.default_rng(18)
    mine, theirs = _pair(rng, requires_grad=True)
    dense, vector = rng.standard_normal((5, 3)), rng.standard_normal(5)
    for library, sparse in ((ember, mine), (torch, theirs)):
        library.mm(sparse, library.tensor(dense)).pow(2).sum().backward()
        (sparse @ library.tensor(vector)).sum().backward()
        library.sparse.mm(sparse, library.tensor(dense)).sum().backward()
    assert not mine.grad.is_sparse and not theirs.grad.is_sparse
    _close(mine.grad, theirs.grad)


def test_sparse_gradient_under_a_hook_matches_torch():
    rng = np.random.default_rng(19)
    mine, theirs = _pair(rng, requires_grad=True)
    dense = rng.standard_normal((5, 2))
    results = []
    for library, sparse in ((ember, mine), (torch, theirs)):
        other = library.tensor(dense, requires_grad=True)
        other.register_hook(lambda grad: grad * 2)
        for _ in range(2):
            library.sparse.mm(sparse, other).pow(2).sum().backward()
        results.append((sparse.grad, other.grad))
    assert mine.grad.is_sparse
    for ours, theirs_grad in zip(*results):
        _close(ours, theirs_grad)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_sparse_gradient_matches_torch(mode):
    rng = np.random.default_rng(21)
    weight = rng.standard_normal((6, 2))
    entries, offsets = rng.integers(0, 6, 7), np.array([0, 2, 2, 5])
    gradients = []
    for library in (ember, torch):
        bags = library.nn.EmbeddingBag(6, 2, mode=mode, sparse=True, padding_idx=2,
                                       dtype=library.float64)
        with library.no_grad():
            bags.weight.copy_(library.tensor(weight))
        bags(library.tensor(entries), library.tensor(offsets)).pow(2).sum().backward()
        gradients.append(bags.weight.grad)
    mine, theirs = gradients
    assert mine.is_sparse and mine._nnz() == theirs._nnz()
    np.testing.assert_array_equal(mine._indices().numpy(), theirs._indices().numpy())
    _close(mine._values(), theirs._values())
