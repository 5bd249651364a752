"""``F.linear`` with a bias of another shape than ``(out_features,)``: what PyTorch accepts
(a bias that broadcasts to the output) gives its values; what it refuses raises its error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

SHAPES = [  # (input, bias) with a weight of (3, 5)
    ((2, 5), (4,)), ((2, 5), (3, 3)), ((2, 5), (2, 2, 3)), ((2, 2, 5), (2, 1, 4)),
    ((2, 2, 5), (2, 1, 1, 3)), ((2, 5), (2, 1)), ((2, 5), (1,)), ((2, 5), ()),
    ((2, 2, 5), (2, 1, 3)), ((2, 5), (2, 3)),
]


@pytest.mark.parametrize("input_shape, bias_shape", SHAPES)
def test_linear_bias_shape_as_torch(input_shape, bias_shape):
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal(s) for s in (input_shape, (3, 5), bias_shape))
    outcomes = []
    for library in (torch, ember):
        try:
            out = library.nn.functional.linear(library.tensor(x), library.tensor(w),
                                               library.tensor(b))
            outcomes.append(out.numpy())
        except RuntimeError as error:
            # ember names the op before a broadcast clash, as its other broadcast errors do
            outcomes.append(str(error).removeprefix("linear: "))
    expected, actual = outcomes
    if isinstance(expected, str):
        assert actual == expected
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-12)
