"""The shape and reduction ops write each derivative once, run on NumPy's arrays for a plain
backward and on ember's ops for a recorded one (``create_graph=True``): the two must agree,
on small gradients and on those large enough for ``ArrayMath.broadcast_to`` to make a view.
"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops._array_math import ArrayMath
from ember.ops._tensor_math import TensorMath

LARGE = (300, 300)  # past the size where ArrayMath.broadcast_to stops filling a new array

# (name, function of one float64 tensor, its shape)
CASES = [
    ("sum", lambda x: x.sum(), (3, 4)),
    ("sum_large", lambda x: x.sum(), LARGE),
    ("sum_dims_keepdim", lambda x: x.sum((0, 1), keepdim=True), (3, 4)),
    ("mean_dim", lambda x: x.mean(1), (3, 4)),
    ("mean_large", lambda x: x.mean(0), LARGE),
    ("max", lambda x: x.max(), (3, 4)),
    ("min_ties", lambda x: ember.cat([x, x]).min(), (3, 4)),
    ("amax_ties_keepdim", lambda x: ember.cat([x, x], 1).amax(1, keepdim=True), (3, 4)),
    ("amin_dims", lambda x: x.amin((0, 1)), (2, 3, 4)),
    ("select", lambda x: x.select(1, 2), (3, 4)),
    ("select_to_0d", lambda x: x.reshape(-1).select(0, 3), (3, 4)),
    ("narrow", lambda x: x.narrow(0, 1, 2), (3, 4)),
    ("split", lambda x: x.split(3, 1)[1], (3, 4)),
    ("views", lambda x: x.t().unsqueeze(0).squeeze(0).reshape(-1).view(4, 3), (3, 4)),
    ("squeeze_dims", lambda x: x.squeeze((0, 2)), (1, 4, 1)),
    ("permute", lambda x: x.reshape(2, 2, 3).permute(2, 0, 1), (3, 4)),
    ("transpose", lambda x: x.transpose(0, 2), (2, 3, 4)),
    ("expand", lambda x: x.narrow(1, 0, 1).expand(2, 3, 5), (3, 4)),
]


@pytest.mark.parametrize("name, function, shape", CASES, ids=[case[0] for case in CASES])
def test_plain_and_recorded_backward_agree(name, function, shape):
    rng = np.random.default_rng(len(name))
    array = rng.standard_normal(shape)
    cotangent = rng.standard_normal(tuple(function(ember.tensor(array)).shape))
    results = []
    for recorded in (False, True):
        leaf = ember.tensor(array, requires_grad=True)
        # a cotangent that requires grad makes every recorded gradient a node of the graph
        seed = ember.tensor(cotangent, requires_grad=recorded)
        (grad,) = ember.autograd.grad(function(leaf), leaf, seed, create_graph=recorded)
        assert grad.requires_grad == recorded
        results.append(grad.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=0, err_msg=name)


@pytest.mark.parametrize("shape", [(3, 4), LARGE])
def test_array_broadcast_to_is_numpys(shape):
    row = np.arange(shape[1], dtype=np.float32)
    result = ArrayMath.broadcast_to(row, shape)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, np.broadcast_to(row, shape))


def test_pad_is_numpys_zero_pad_on_both_namespaces():
    array = np.arange(6.0).reshape(2, 3)
    widths = ((1, 0), (2, 3))
    expected = np.pad(array, widths)
    np.testing.assert_array_equal(ArrayMath.pad(array, widths), expected)
    np.testing.assert_array_equal(TensorMath.pad(ember.tensor(array), widths).numpy(), expected)
