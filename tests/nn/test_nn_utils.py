"""``nn.utils`` against PyTorch: gradient clipping (total norm and clipped gradients for
several norm types) and the parameter/vector conversions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3, 4), (4,), (2, 2, 3), ()]


def _parameters(lib, scale=1.0, dtype=np.float64):
    """Parameters with fixed gradients (the last one has none)."""
    parameters = []
    for index, shape in enumerate(SHAPES + [(2,)]):
        parameter = lib.nn.Parameter(lib.tensor(np.full(shape, 0.5, dtype=dtype)))
        if index < len(SHAPES):
            grad = np.random.default_rng(index).standard_normal(shape) * scale
            parameter.grad = lib.tensor(grad.astype(dtype))
        parameters.append(parameter)
    return parameters


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch_parameters, ember_parameters = _parameters(torch), _parameters(ember)
    expected = torch.nn.utils.clip_grad_norm_(torch_parameters, max_norm, norm_type)
    actual = ember.nn.utils.clip_grad_norm_(ember_parameters, max_norm, norm_type)
    assert actual.shape == () and actual.dtype == ember.float64
    np.testing.assert_allclose(actual.item(), expected.item(), rtol=1e-12)
    for t, e in zip(torch_parameters, ember_parameters):
        if t.grad is None:
            assert e.grad is None
        else:
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_single_tensor_and_module():
    weight = ember.nn.Parameter(ember.ones(3))
    weight.grad = ember.tensor([3.0, 0.0, 4.0])
    total = ember.nn.utils.clip_grad_norm_(weight, 1.0)
    assert total.item() == 5.0
    np.testing.assert_allclose(weight.grad.numpy(), [0.6, 0.0, 0.8], rtol=1e-6)

    ember.manual_seed(0)
    model = ember.nn.Linear(3, 2)
    model(ember.randn(4, 3)).pow(2).sum().backward()
    ember.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    norm = ember.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    assert norm.item() == pytest.approx(0.1, rel=1e-4)


def test_clip_grad_norm_empty():
    assert ember.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        ember.nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_error_if_nonfinite(bad):
    for lib in (torch, ember):
        parameter = lib.nn.Parameter(lib.ones(2))
        parameter.grad = lib.tensor([1.0, bad])
        with pytest.raises(RuntimeError, match="non-finite"):
            lib.nn.utils.clip_grad_norm_([parameter], 1.0, error_if_nonfinite=True)
        total = lib.nn.utils.clip_grad_norm_([parameter], 1.0)
        assert not math.isfinite(total.item())


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    torch_parameters, ember_parameters = _parameters(torch, 3.0), _parameters(ember, 3.0)
    torch_grads = [p.grad for p in torch_parameters if p.grad is not None]
    ember_grads = [p.grad for p in ember_parameters if p.grad is not None]
    expected = torch.nn.utils.get_total_norm(torch_grads, 2.5)
    actual = ember.nn.utils.get_total_norm(ember_grads, 2.5)
    np.testing.assert_allclose(actual.item(), expected.item(), rtol=1e-12)
    torch.nn.utils.clip_grads_with_norm_(torch_parameters, 2.0, expected)
    ember.nn.utils.clip_grads_with_norm_(ember_parameters, 2.0, actual)
    for t, e in zip(torch_grads, ember_grads):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def test_clip_grad_norm_float32():
    torch_parameters = _parameters(torch, dtype=np.float32)
    ember_parameters = _parameters(ember, dtype=np.float32)
    expected = torch.nn.utils.clip_grad_norm_(torch_parameters, 0.3)
    actual = ember.nn.utils.clip_grad_norm_(ember_parameters, 0.3)
    assert actual.dtype == ember.float32
    np.testing.assert_allclose(actual.item(), expected.item(), rtol=1e-6)
    for t, e in zip(torch_parameters, ember_parameters):
        if t.grad is not None:
            assert e.grad.dtype == ember.float32
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-5)


def test_clip_grad_value_matches_torch():
    torch_parameters, ember_parameters = _parameters(torch), _parameters(ember)
    torch.nn.utils.clip_grad_value_(torch_parameters, 0.4)
    assert ember.nn.utils.clip_grad_value_(ember_parameters, 0.4) is None
    for t, e in zip(torch_parameters, ember_parameters):
        if t.grad is not None:
            np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_clipping_records_no_graph():
    parameter = ember.nn.Parameter(ember.ones(2))
    parameter.grad = ember.tensor([3.0, 4.0], requires_grad=True) * 1
    ember.nn.utils.clip_grad_norm_([parameter], 1.0)
    total = ember.nn.utils.get_total_norm([parameter.grad])
    assert total.grad_fn is None


def test_parameters_to_vector_round_trip():
    model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.Linear(4, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    for t, e in zip(reference.parameters(), model.parameters()):
        e.data = ember.tensor(t.detach().numpy().copy())
    vector = ember.nn.utils.parameters_to_vector(model.parameters())
    expected = torch.nn.utils.parameters_to_vector(reference.parameters())
    assert vector.shape == (26,) and vector.requires_grad
    np.testing.assert_array_equal(vector.detach().numpy(), expected.detach().numpy())

    ember.nn.utils.vector_to_parameters(ember.arange(26.0), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(26.0), reference.parameters())
    for t, e in zip(reference.parameters(), model.parameters()):
        assert tuple(e.shape) == tuple(t.shape) and isinstance(e, ember.nn.Parameter)
        np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


def test_vector_to_parameters_rejects_non_tensors():
    with pytest.raises(TypeError, match="expected torch.Tensor, but got"):
        ember.nn.utils.vector_to_parameters([1.0, 2.0], [ember.nn.Parameter(ember.ones(2))])


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, 0.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_plain_gradients_on_their_arrays_equals_the_op_path(norm_type, dtype,
                                                                     monkeypatch):
    from ember.nn.utils import clip_grad

    def clip(parameters):
        return ember.nn.utils.clip_grad_norm_(parameters, 0.7, norm_type)

    fast, slow = _parameters(ember, 2.0, dtype), _parameters(ember, 2.0, dtype)
    fast.append(ember.nn.Parameter(ember.ones(0, dtype=ember.float32)))  # an empty gradient
    fast[-1].grad = ember.zeros(0, dtype=fast[0].dtype)
    slow.append(ember.nn.Parameter(ember.ones(0, dtype=ember.float32)))
    slow[-1].grad = ember.zeros(0, dtype=slow[0].dtype)
    versions = [p.grad._version for p in fast if p.grad is not None]
    with monkeypatch.context() as patch:  # no op per tensor on this path
        patch.setattr(clip_grad, "vector_norm", None)
        fast_total = clip(fast)
    monkeypatch.setattr(clip_grad, "_plain", lambda tensors, dtype: False)
    slow_total = clip(slow)
    np.testing.assert_array_equal(fast_total.numpy(), slow_total.numpy())
    assert fast_total.dtype == slow_total.dtype
    for f, s in zip(fast, slow):
        if f.grad is not None:
            assert f.grad.dtype == s.grad.dtype
            np.testing.assert_array_equal(f.grad.numpy(), s.grad.numpy())
    # each clipped gradient changed in place, as ``mul_`` counts it
    assert [p.grad._version for p in fast if p.grad is not None] == [v + 1 for v in versions]


def test_clipping_gradients_of_two_dtypes_matches_torch():
    for lib in (torch, ember):
        first = lib.nn.Parameter(lib.ones(3))
        second = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
        first.grad = lib.tensor([3.0, 0.0, 4.0], dtype=lib.float32)
        second.grad = lib.tensor([1.0, -2.0], dtype=lib.float64)
        total = lib.nn.utils.clip_grad_norm_([first, second], 1.0)
        if lib is torch:
            expected = (total.item(), first.grad.numpy(), second.grad.numpy())
    assert total.item() == pytest.approx(expected[0], rel=1e-6)
    np.testing.assert_allclose(first.grad.numpy(), expected[1], rtol=1e-6)
    np.testing.assert_allclose(second.grad.numpy(), expected[2], rtol=1e-12)
