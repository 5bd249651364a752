"""binary_cross_entropy checks that its input and target are in [0, 1], beside PyTorch.

NaN is outside, as are values below 0 or above 1 (infinities included); the input is
checked before the target. ``binary_cross_entropy_with_logits`` takes any logits and
checks nothing. Each row runs on both libraries: the same error (class and text), or the
same values and float64 gradients of a random cotangent.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

NAN, INF = float("nan"), float("inf")

ROWS = {
    "nan_input": ([0.5, NAN, 0.2], [0.0, 1.0, 0.5]),
    "negative_input": ([0.5, -0.1, 0.2], [0.0, 1.0, 0.5]),
    "input_above_one": ([0.5, 1.1, 0.2], [0.0, 1.0, 0.5]),
    "infinite_input": ([0.5, INF, 0.2], [0.0, 1.0, 0.5]),
    "negative_infinite_input": ([0.5, -INF, 0.2], [0.0, 1.0, 0.5]),
    "nan_target": ([0.5, 0.3, 0.2], [NAN, 1.0, 0.5]),
    "negative_target": ([0.5, 0.3, 0.2], [0.0, -1.0, 0.5]),
    "target_above_one": ([0.5, 0.3, 0.2], [0.0, 2.0, 0.5]),
    "both_nan": ([NAN, 0.3, 0.2], [NAN, 1.0, 0.5]),
    "edges": ([0.0, 1.0, -0.0], [0.0, 1.0, 0.5]),
    "inside": ([0.25, 0.5, 0.75], [0.1, 0.9, 0.5]),
}


def _bce(lib, input, target, form: str, reduction: str):
    if form == "module":
        return lib.nn.BCELoss(reduction=reduction)(input, target)
    if form == "logits":
        return lib.nn.functional.binary_cross_entropy_with_logits(
            input, target, reduction=reduction
        )
    return lib.nn.functional.binary_cross_entropy(input, target, reduction=reduction)


def _outcome(lib, values, target, form, reduction, cotangent):
    """(error class, text), or (loss, input gradient, target gradient) as arrays."""
    input = lib.tensor(values, dtype=lib.float64, requires_grad=True)
    target = lib.tensor(target, dtype=lib.float64, requires_grad=True)
    try:
        loss = _bce(lib, input, target, form, reduction)
    except (RuntimeError, ValueError) as error:
        return type(error).__name__, str(error)
    loss.backward(lib.tensor(cotangent if reduction == "none" else cotangent[0]))
    return tuple(t.detach().numpy() for t in (loss, input.grad, target.grad))


def _check(row: str, form: str, reduction: str) -> None:
    values, target = ROWS[row]
    rng = np.random.default_rng(zlib.crc32(row.encode()))
    cotangent = rng.standard_normal(len(values))
    expected = _outcome(torch, values, target, form, reduction, cotangent)
    actual = _outcome(ember, values, target, form, reduction, cotangent)
    where = f"{row}, {form}, reduction={reduction}"
    if isinstance(expected[0], str):
        assert actual == expected, where
        return
    assert not isinstance(actual[0], str), f"{where}: ember raised {actual}, PyTorch did not"
    for what, mine, theirs in zip(("loss", "input grad", "target grad"), actual, expected):
        np.testing.assert_allclose(
            mine, theirs, rtol=1e-10, atol=1e-12, err_msg=f"{where}: {what}"
        )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_checks_its_input_as_torch(reduction):
    for row in ROWS:
        for form in ("functional", "module", "logits"):
            _check(row, form, reduction)
