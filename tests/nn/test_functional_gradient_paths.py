"""Each derivative of ``nn.functional``'s own ops runs on two namespaces: NumPy's for a plain
backward, ember's ops when the backward is recorded (``create_graph=True``). Both must give
the same gradient, for every option that changes the formula."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F

_INDICES = np.array([[1, 2, 1], [0, 1, 3]])
_CLASSES = np.array([2, 0, 4, 4])


def _nll(reduction, **options):
    return lambda x: F.nll_loss(F.log_softmax(x, 1), ember.tensor(_CLASSES), reduction=reduction,
                                **options)


def _embedding(**options):
    return lambda weight: F.embedding(ember.tensor(_INDICES), weight, **options)


# (name, function of float64 tensors, the inputs' shapes, their domain)
CASES = [
    ("threshold", lambda x: F.threshold(x, 0.3, -2.0), [(3, 4)], None),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5), [(3, 4)], None),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [(3, 4)], None),
    ("elu", lambda x: F.elu(x, 0.5), [(3, 4)], None),
    ("selu", F.selu, [(3, 4)], None),
    ("celu", lambda x: F.celu(x, 0.4), [(3, 4)], None),
    ("gelu", F.gelu, [(3, 4)], None),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [(3, 4)], None),
    ("silu", F.silu, [(3, 4)], None),
    ("mish", lambda x: F.mish(x * 15), [(3, 4)], None),
    ("softplus", lambda x: F.softplus(x, beta=2, threshold=3), [(3, 4)], None),
    ("logsigmoid", lambda x: F.logsigmoid(x * 10), [(3, 4)], None),
    ("hardsigmoid", lambda x: F.hardsigmoid(x * 4), [(3, 4)], None),
    ("hardswish", lambda x: F.hardswish(x * 4), [(3, 4)], None),
    ("softshrink", F.softshrink, [(3, 4)], None),
    ("hardshrink", F.hardshrink, [(3, 4)], None),
    ("mse_mean", F.mse_loss, [(3, 4), (3, 4)], None),
    ("mse_sum", lambda x, t: F.mse_loss(x, t, reduction="sum"), [(3, 4), (3, 4)], None),
    ("mse_none", lambda x, t: F.mse_loss(x, t, reduction="none"), [(3, 4), (3, 4)], None),
    ("bce_mean", F.binary_cross_entropy, [(3, 4), (3, 4)], (0.05, 0.95)),
    ("bce_weight_none", lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="none"),
     [(3, 4), (3, 4), (4,)], (0.05, 0.95)),
    ("bce_weight_sum", lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="sum"),
     [(3, 4), (3, 4), (4,)], (0.05, 0.95)),
    ("nll_mean", _nll("mean"), [(4, 5)], None),
    ("nll_sum_weight", lambda x, w: _nll("sum", weight=w)(x), [(4, 5), (5,)], (0.5, 2)),
    ("nll_none_ignore", _nll("none", ignore_index=4), [(4, 5)], None),
    ("nll_2d", lambda x: F.nll_loss(x, ember.zeros(2, 3, 4, dtype=ember.int64)),
     [(2, 5, 3, 4)], None),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], None),
    ("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
     [(4, 3, 2), (3,), (3,)], None),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)], None),
    ("instance_norm", F.instance_norm, [(2, 3, 4)], None),
    ("linear", F.linear, [(4, 3), (2, 3), (2,)], None),
    ("linear_batched", F.linear, [(2, 4, 3), (2, 3), (2,)], None),
    ("linear_vector", F.linear, [(3,), (2, 3), (2,)], None),
    ("embedding", _embedding(), [(4, 3)], None),
    ("embedding_padding", _embedding(padding_idx=1), [(4, 3)], None),
    ("embedding_frequency", _embedding(scale_grad_by_freq=True), [(4, 3)], None),
    ("embedding_both", _embedding(padding_idx=0, scale_grad_by_freq=True), [(4, 3)], None),
]


def _gradients(function, arrays, cotangent, create_graph: bool) -> list:
    leaves = [ember.tensor(array, requires_grad=True) for array in arrays]
    grads = ember.autograd.grad(function(*leaves), leaves, ember.tensor(cotangent),
                                create_graph=create_graph, allow_unused=True)
    return [None if g is None else g.detach().numpy() for g in grads]


@pytest.mark.parametrize("name, function, shapes, domain", CASES, ids=[c[0] for c in CASES])
def test_plain_and_recorded_backward_agree(name, function, shapes, domain):
    rng = np.random.default_rng(sum(map(ord, name)))
    low, high = domain or (-2, 2)
    arrays = [rng.uniform(low, high, shape) for shape in shapes]
    cotangent = rng.standard_normal(tuple(function(*map(ember.tensor, arrays)).shape))
    plain = _gradients(function, arrays, cotangent, create_graph=False)
    recorded = _gradients(function, arrays, cotangent, create_graph=True)
    for position, (a, b) in enumerate(zip(plain, recorded)):
        assert (a is None) == (b is None), f"{name}: input {position}"
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"{name}: {position}")
