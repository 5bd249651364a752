"""Image layout layers against PyTorch: Upsample, Unfold/Fold, PixelShuffle, and F.pad."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer

LAYER_CONFIGS = [
    ("Upsample", (), dict(scale_factor=2), (2, 3, 3, 2)),
    ("Upsample", (), dict(size=(5, 3)), (1, 2, 3, 4)),
    ("Upsample", (), dict(scale_factor=1.5, mode="bilinear"), (2, 2, 3, 4)),
    ("Upsample", (), dict(size=4, mode="bilinear", align_corners=True), (1, 2, 3, 3)),
    ("Upsample", (), dict(scale_factor=(2, 0.5), mode="bicubic"), (1, 1, 3, 4)),
    ("Upsample", (), dict(scale_factor=2, mode="linear"), (2, 2, 4)),
    ("Upsample", (), dict(size=7, mode="linear", align_corners=True), (2, 2, 4)),
    (
        "Upsample",
        (),
        dict(scale_factor=0.6, mode="nearest-exact", recompute_scale_factor=True),
        (1, 2, 5, 5),
    ),
    ("Upsample", (), dict(size=(2, 3), mode="area"), (1, 2, 5, 7)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 2, 2)),
    ("UpsamplingBilinear2d", (), dict(size=(5, 4)), (1, 2, 3, 3)),
    ("Unfold", ((2, 3),), dict(dilation=(1, 2), padding=1, stride=(2, 1)), (2, 3, 5, 6)),
    ("Unfold", (2,), {}, (2, 3, 4)),
    ("Fold", ((4, 5), 2), {}, (2, 8, 12)),
    ("Fold", ((5, 4), (3, 2)), dict(padding=1, stride=2, dilation=(1, 2)), (12, 6)),
    ("PixelShuffle", (2,), {}, (2, 8, 2, 3)),
    ("PixelShuffle", (3,), {}, (2, 1, 9, 2, 2)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, shape",
    LAYER_CONFIGS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CONFIGS)],
)
def test_layer_matches_torch(name, args, kwargs, shape):
    x = np.random.default_rng(2).standard_normal(shape)
    check_layer(lambda lib: getattr(lib.nn, name)(*args, **kwargs), [x])


def test_fold_inverts_unfold_up_to_overlap_counts():
    x = ember.tensor(np.random.default_rng(2).standard_normal((1, 2, 5, 5)))
    columns = ember.nn.functional.unfold(x, 3, padding=1)
    back = ember.nn.functional.fold(columns, (5, 5), 3, padding=1)
    counts = ember.nn.functional.fold(
        ember.nn.functional.unfold(ember.ones(1, 2, 5, 5), 3, padding=1), (5, 5), 3, padding=1
    )
    np.testing.assert_allclose((back / counts).numpy(), x.numpy(), rtol=1e-12)


def test_unfold_and_fold_are_adjoint_and_twice_differentiable():
    rng = np.random.default_rng(2)
    x = ember.tensor(rng.standard_normal((1, 1, 3, 4)), requires_grad=True)

    def function(t):
        return ember.nn.functional.unfold(t, 2, stride=(1, 2), padding=1)

    assert ember.autograd.gradgradcheck(function, (x,))
    columns = ember.tensor(rng.standard_normal((1, 4, 12)), requires_grad=True)
    assert ember.autograd.gradgradcheck(
        lambda c: ember.nn.functional.fold(c, (3, 4), 2, stride=(1, 2), padding=1), (columns,)
    )


def test_node_names_match_torch():
    x = ember.randn(1, 1, 4, 4, requires_grad=True)
    assert ember.nn.functional.unfold(x, 2).grad_fn.name() == "Im2ColBackward0"
    assert (
        ember.nn.functional.fold(ember.randn(1, 4, 9, requires_grad=True), 4, 2).grad_fn.name()
        == "Col2ImBackward0"
    )


def test_pad_is_reexported():
    from ember.nn._functional import vision
    from ember.ops.shape import pad

    assert ember.nn.functional.pad is pad
    assert "pad" in vision.__all__


REPRS = [
    "Upsample(scale_factor=2)",
    "Upsample(size=3, mode='bilinear')",
    "Upsample(scale_factor=(2, 3), mode='bicubic', align_corners=True)",
    "UpsamplingNearest2d(size=4)",
    "UpsamplingBilinear2d(scale_factor=2)",
    "PixelShuffle(2)",
    "PixelUnshuffle(3)",
]


@pytest.mark.parametrize("text", REPRS)
def test_repr_matches_torch(text):
    assert repr(eval("ember.nn." + text)) == repr(eval("torch.nn." + text))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=3, scale_factor=2),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=(2, 2)),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), scale_factor=(2, 2)),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=3, mode="bilinear"),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=3, align_corners=True),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), size=3, mode="nearest-x"),
        lambda lib: lib.nn.functional.interpolate(lib.ones(1, 1, 4), scale_factor=0.1),
        lambda lib: lib.nn.functional.fold(lib.ones(2, 27, 24), (7, 7), 3),
        lambda lib: lib.nn.functional.fold(lib.ones(2, 26, 25), (7, 7), 3),
        lambda lib: lib.nn.functional.unfold(lib.ones(1, 1, 4, 4), 5),
        lambda lib: lib.nn.functional.pixel_shuffle(lib.ones(2, 6, 3, 3), 2),
    ],
)
def test_errors_match_torch_messages(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as actual:
        call(ember)
    assert str(actual.value) == str(expected.value)
