"""Memory formats as PyTorch has them: the same values, laid out with the same strides."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

CASES = {
    "contiguous(channels_last)": lambda lib, x: x.contiguous(memory_format=lib.channels_last),
    "to(channels_last)": lambda lib, x: x.to(memory_format=lib.channels_last),
    "to(float64, channels_last)": lambda lib, x: x.to(lib.float64, memory_format=lib.channels_last),
    "back to contiguous": lambda lib, x: x.contiguous(memory_format=lib.channels_last).contiguous(),
    "clone keeps the layout": lambda lib, x: x.to(memory_format=lib.channels_last).clone(),
    "clone(contiguous_format)": lambda lib, x: x.to(memory_format=lib.channels_last).clone(
        memory_format=lib.contiguous_format
    ),
    "clone of a transpose": lambda lib, x: x.transpose(0, 1).clone(),
    "empty_like keeps the layout": lambda lib, x: lib.empty_like(
        x.to(memory_format=lib.channels_last)
    ).fill_(1),
    "zeros_like(contiguous_format)": lambda lib, x: lib.zeros_like(
        x.to(memory_format=lib.channels_last), memory_format=lib.contiguous_format
    ),
    "ones_like(channels_last)": lambda lib, x: lib.ones_like(x, memory_format=lib.channels_last),
    "empty(channels_last)": lambda lib, x: lib.empty(
        2, 3, 4, 5, memory_format=lib.channels_last
    ).fill_(2),
    "5-d channels_last_3d": lambda lib, x: x.reshape(2, 3, 2, 2, 5).contiguous(
        memory_format=lib.channels_last_3d
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layout_and_values_match_pytorch(name):
    values = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    expected = CASES[name](torch, torch.tensor(values))
    actual = CASES[name](ember, ember.tensor(values))
    assert actual.stride() == expected.stride()
    for fmt in ("contiguous_format", "channels_last"):
        if expected.dim() == 4:
            assert actual.is_contiguous(memory_format=getattr(ember, fmt)) == (
                expected.is_contiguous(memory_format=getattr(torch, fmt))
            )
    np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def test_random_like_draws_the_same_numbers_in_any_layout():
    x = ember.zeros(2, 3, 4, 5)
    ember.manual_seed(7)
    plain = ember.randn_like(x)
    ember.manual_seed(7)
    laid_out = ember.randn_like(x.to(memory_format=ember.channels_last))
    assert laid_out.stride() == (60, 1, 15, 3)
    np.testing.assert_array_equal(plain.numpy(), laid_out.numpy())


def test_random_like_takes_a_generator():
    x = ember.zeros(3, 4)
    first = ember.rand_like(x, generator=ember.Generator().manual_seed(1))
    second = ember.rand_like(x, generator=ember.Generator().manual_seed(1))
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert ember.randint_like(x, 10, generator=ember.Generator().manual_seed(1)).shape == (3, 4)


def test_gradient_flows_through_a_change_of_layout():
    values = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    cotangent = np.random.default_rng(5).standard_normal((2, 3, 4, 5))
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(values, requires_grad=True)
        y = (x.contiguous(memory_format=lib.channels_last) * 3).sum(dim=1)
        y.backward(lib.tensor(cotangent.sum(axis=1)))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5, 6)])
def test_channels_last_needs_a_4d_tensor(shape):
    for lib in (torch, ember):
        with pytest.raises(RuntimeError,
                           match="required rank 4 tensor to use channels_last format"):
            lib.zeros(shape).contiguous(memory_format=lib.channels_last)


@pytest.mark.parametrize("memory_format", [None, "contiguous_format", "preserve_format",
                                           "channels_last"])
def test_clone_never_shares_the_inputs_memory(memory_format):
    """A clone is a copy whatever the layout asked for, the input's own included."""
    fmt = memory_format and getattr(ember, memory_format)
    x = ember.ones(2, 3, 4, 5)
    if memory_format == "channels_last":
        x = x.contiguous(memory_format=ember.channels_last)
    y = x.clone(memory_format=fmt)
    y.fill_(5.0)
    assert x.sum().item() == 120.0
