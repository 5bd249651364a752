"""``x[index] = value`` and views: storage sharing, gradients, version counters, leaf rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember


def _both(array, requires_grad=False):
    return (
        torch.tensor(array, requires_grad=requires_grad),
        ember.tensor(array, requires_grad=requires_grad),
    )


def _numpy(tensor):
    return tensor.detach().numpy()


# ---------------------------------------------------------------- views see the writes


def test_setitem_returns_none():
    x = ember.zeros(3)
    assert x.__setitem__(0, 1.0) is None


def test_write_is_seen_through_basic_views():
    x = ember.zeros(3, 4)
    row, column, strided = x[1], x[:, 2], x[::2, 1::2]
    x[1, 2] = 5.0
    x[2, 3] = 7.0
    assert row[2].item() == 5.0 and column[1].item() == 5.0
    assert strided[1, 1].item() == 7.0
    assert row._version == x._version == column._version == 2


def test_write_into_view_reaches_base():
    x = ember.zeros(3, 4)
    row = x[1]
    row[[0, 3]] = ember.tensor([1.0, 2.0])
    row[1:3] = 9.0
    np.testing.assert_array_equal(_numpy(x)[1], [1.0, 9.0, 9.0, 2.0])
    assert x._version == 2


def test_write_into_diagonal_view_reaches_base():
    x = ember.zeros(3, 3)
    x.diagonal()[1] = 4.0
    x.diagonal(1)[...] = ember.tensor([1.0, 2.0])
    expected = torch.zeros(3, 3)
    expected.diagonal()[1] = 4.0
    expected.diagonal(1)[...] = torch.tensor([1.0, 2.0])
    np.testing.assert_array_equal(_numpy(x), expected.numpy())


def test_basic_index_shares_storage_advanced_copies():
    x = ember.arange(6.0).reshape(2, 3)
    assert np.shares_memory(x[1]._data, x._data)
    assert np.shares_memory(x[..., None, 1:]._data, x._data)
    assert np.shares_memory(x[0, 0]._data, x._data)
    assert not np.shares_memory(x[[1]]._data, x._data)
    assert not np.shares_memory(x[x > 2]._data, x._data)


def test_value_cast_to_input_dtype():
    x = ember.zeros(3, dtype=ember.int64)
    x[0] = 2.7
    x[1:] = ember.tensor([3.9, -1.5])
    expected = torch.zeros(3, dtype=torch.int64)
    expected[0] = 2.7
    expected[1:] = torch.tensor([3.9, -1.5])
    np.testing.assert_array_equal(_numpy(x), expected.numpy())
    assert x.dtype == ember.int64


def test_repeated_positions_keep_the_last_value():
    x = ember.zeros(3)
    x[[1, 1, 1]] = ember.tensor([1.0, 2.0, 3.0])
    assert x[1].item() == 3.0


# ---------------------------------------------------------------- gradients against torch

INDICES = [
    pytest.param(1, (4,), id="int"),
    pytest.param((slice(None), slice(1, 3)), (5, 2), id="slice"),
    pytest.param([1, 1, 3], (3, 4), id="repeated_list"),
    pytest.param([2, 2, 0, 2], (), id="repeated_list_scalar_value"),
    pytest.param(([0, 0, 2], [1, 1, 3]), (3,), id="repeated_pairs"),
    pytest.param((slice(None), [3, 0, 3]), (1, 3), id="repeated_columns_broadcast"),
    pytest.param("mask", (1,), id="mask"),
    pytest.param((Ellipsis, None, 2), (5, 1), id="ellipsis_none"),
]


def _resolve(index, lib, x):
    return x > 0 if isinstance(index, str) else index


@pytest.mark.parametrize("index, value_shape", INDICES)
def test_setitem_gradient_matches_torch(index, value_shape):
    rng = np.random.default_rng(0)
    x_array = rng.standard_normal((5, 4))
    v_array = rng.standard_normal(value_shape)
    w_array = rng.standard_normal((5, 4))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(x_array, requires_grad=True)
        v = lib.tensor(v_array, requires_grad=True)
        y = x * 1
        y[_resolve(index, lib, x)] = v
        (y * lib.tensor(w_array)).sum().backward()
        results.append((_numpy(y), _numpy(x.grad), _numpy(v.grad)))
    for expected, actual in zip(results[0], results[1]):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_overlapping_setitems_gradient_matches_torch():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((6,), (3,), (3,), (6,))]
    results = []
    for lib in (torch, ember):
        x, a, b = (lib.tensor(array, requires_grad=True) for array in arrays[:3])
        y = x * 1
        y[0:3] = a
        y[[1, 2, 2]] = b * 2
        y[4] = a[0]
        (y * lib.tensor(arrays[3])).sum().backward()
        results.append([_numpy(t) for t in (y, x.grad, a.grad, b.grad)])
    for expected, actual in zip(*results):
        np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_value_requiring_grad_into_plain_tensor():
    results = []
    for lib in (torch, ember):
        v = lib.tensor([1.5, -2.0], dtype=lib.float64, requires_grad=True)
        y = lib.zeros(4, dtype=lib.float64)
        y[[3, 0]] = v * v
        assert y.requires_grad and not y.is_leaf
        (y * lib.arange(1.0, 5.0, dtype=lib.float64)).sum().backward()
        results.append(_numpy(v.grad))
    np.testing.assert_allclose(results[1], results[0])


def test_setitem_node_is_differentiable_twice():
    x = ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64, requires_grad=True)
    v = ember.tensor([0.5, -1.0], dtype=ember.float64, requires_grad=True)

    def function(x, v):
        y = x * x
        y[[0, 2]] = v * v
        return y

    assert ember.autograd.gradcheck(function, (x, v))
    assert ember.autograd.gradgradcheck(function, (x, v))


# ---------------------------------------------------------------- version counter and leaves


def _modified_message(lib, under_no_grad: bool) -> str:
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.exp()  # saves its output
    if under_no_grad:
        with lib.no_grad():
            y[0] = 0.0
    else:
        y[0] = 0.0
    with pytest.raises(RuntimeError) as error:
        y.sum().backward()
    return str(error.value)


@pytest.mark.parametrize("under_no_grad", [False, True])
def test_version_bump_invalidates_saved_tensor(under_no_grad):
    torch_message = _modified_message(torch, under_no_grad)
    ember_message = _modified_message(ember, under_no_grad)
    assert "modified by an inplace operation" in torch_message
    assert "modified by an inplace operation" in ember_message


def test_version_counter_bumps_once_per_write():
    x = ember.zeros(4)
    view = x[1:]
    before = x._version
    x[0] = 1.0
    view[[0, 1]] = 2.0
    with ember.no_grad():
        x[x > 1] = 3.0
    assert x._version == view._version == before + 3


@pytest.mark.parametrize("index", [0, slice(1, None), [0, 2], "mask"])
def test_leaf_requiring_grad_raises_like_torch(index):
    messages = []
    for lib in (torch, ember):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError) as error:
            x[_resolve(index, lib, x)] = 2.0
        messages.append(str(error.value))
    assert messages[1] == messages[0]


def test_leaf_requiring_grad_with_tensor_value_raises():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[[0, 1]] = ember.zeros(2)


def test_no_grad_write_on_leaf_parameter():
    for lib in (torch, ember):
        weight = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        version = weight._version
        with lib.no_grad():
            weight[1] = 10.0
            weight[[0, 2]] = lib.tensor([-1.0, -3.0])
        assert weight.is_leaf and weight.requires_grad and weight.grad_fn is None
        assert weight._version == version + 2
        np.testing.assert_array_equal(_numpy(weight), [-1.0, 10.0, -3.0])
        (weight * weight).sum().backward()
        np.testing.assert_array_equal(_numpy(weight.grad), [-2.0, 20.0, -6.0])


def test_scatter_with_reduce_has_no_derivative():
    for lib in (torch, ember):
        x = lib.ones(3, requires_grad=True)
        y = (x * 1).scatter(0, lib.tensor([0, 0]), lib.ones(2), reduce="add")
        with pytest.raises(RuntimeError, match="not implemented"):
            y.sum().backward()


def test_inplace_index_ops_write_into_self():
    x = ember.zeros(3)
    view = x[:]
    result = x.index_add_(0, ember.tensor([0, 0, 2]), ember.ones(3))
    assert result is x
    np.testing.assert_array_equal(_numpy(view), [2.0, 0.0, 1.0])
    x.masked_fill_(x > 1, -1.0)
    np.testing.assert_array_equal(_numpy(x), [-1.0, 0.0, 1.0])
