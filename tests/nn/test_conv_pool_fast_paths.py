"""The fast paths of convolution (batch-last im2col) and max pooling (whole tiles) against
PyTorch: values, indices, gradients of a random cotangent in float64 and float32, gradcheck
and gradgradcheck, plus the edge cases each path must hand back to the general one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, check_case

torch.set_num_threads(1)


def F(lib):
    return lib.nn.functional


def _channels_last(lib, x):
    """``x`` with NHWC memory but NCHW shape (a non-contiguous view)."""
    return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


# ---------------------------------------------------------------- oracle cases

CONV_CASES = [
    Case(
        "fast_conv2d_like_cnn_digits",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1),
        [(3, 2, 5, 4), (3, 2, 3, 3), (3,)],
    ),
    Case(
        "fast_conv2d_many_outputs",  # col2im by shifted adds rather than a flipped kernel
        lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1),
        [(2, 1, 5, 5), (4, 1, 3, 3), (4,)],
    ),
    Case(
        "fast_conv2d_wide_rows_take_the_general_path",
        lambda lib, x, w: F(lib).conv2d(x, w, padding=(0, 1)),
        [(2, 1, 2, 17), (2, 1, 1, 3)],
    ),
    Case(
        "fast_conv2d_groups_dilation_padding",
        lambda lib, x, w: F(lib).conv2d(x, w, padding=(2, 1), dilation=(2, 1), groups=2),
        [(2, 4, 6, 5), (4, 2, 3, 2)],
    ),
    Case(
        "fast_conv2d_batch_of_one_no_padding",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b),
        [(1, 3, 4, 4), (2, 3, 2, 2), (2,)],
    ),
    Case(
        "fast_conv2d_same_even_kernel",
        lambda lib, x, w: F(lib).conv2d(x, w, padding="same"),
        [(2, 1, 5, 5), (2, 1, 4, 2)],
    ),
    Case(
        "fast_conv2d_row_stride",
        lambda lib, x, w: F(lib).conv2d(x, w, stride=(2, 1), padding=1),
        [(2, 2, 5, 4), (2, 2, 3, 3)],
    ),
    Case(
        "fast_conv2d_strided_big_batch",
        lambda lib, x, w, b: F(lib).conv2d(x, w, b, stride=2, padding=1),
        [(16, 1, 3, 4), (2, 1, 3, 3), (2,)],
    ),
    Case(
        "fast_conv2d_column_stride_dilation_big_batch",
        lambda lib, x, w: F(lib).conv2d(x, w, stride=(1, 2), dilation=2, padding=(1, 2)),
        [(16, 1, 4, 3), (1, 1, 2, 2)],
    ),
    Case(
        "fast_conv2d_padding_past_kernel",
        lambda lib, x, w: F(lib).conv2d(x, w, padding=(1, 3)),
        [(2, 2, 3, 3), (3, 2, 1, 3)],
    ),
    Case(
        "fast_conv2d_channels_last_input",
        lambda lib, x, w: F(lib).conv2d(_channels_last(lib, x), w, padding=1),
        [(2, 3, 4, 3), (2, 3, 3, 3)],
    ),
    Case(
        "fast_conv1d_groups_dilation",
        lambda lib, x, w, b: F(lib).conv1d(x, w, b, padding=2, dilation=2, groups=2),
        [(2, 4, 7), (4, 2, 3), (4,)],
    ),
    Case(
        "fast_conv3d_padding",
        lambda lib, x, w: F(lib).conv3d(x, w, padding=1),
        [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)],
    ),
    Case(
        "fast_conv_transpose2d_unit_stride",
        lambda lib, x, w, b: F(lib).conv_transpose2d(x, w, b, padding=1),
        [(2, 3, 3, 4), (3, 2, 3, 3), (2,)],
    ),
    Case(
        "fast_conv_transpose2d_dilation_output_padding",
        lambda lib, x, w: F(lib).conv_transpose2d(x, w, padding=1, output_padding=1, dilation=2),
        [(2, 2, 3, 3), (2, 2, 2, 3)],
    ),
    Case(
        "fast_conv_transpose2d_strided_big_batch",
        lambda lib, x, w: F(lib).conv_transpose2d(x, w, stride=2, padding=1, output_padding=1),
        [(16, 1, 2, 2), (1, 2, 3, 3)],
    ),
    Case(
        "fast_conv_transpose1d_groups",
        lambda lib, x, w: F(lib).conv_transpose1d(x, w, groups=2),
        [(2, 4, 5), (4, 1, 3)],
    ),
]


def _ties(shape):
    """Small integers as floats: most windows hold ties."""
    return lambda rng: [rng.integers(-2, 3, size=shape).astype(np.float64)]


POOL_CASES = [
    Case("fast_max_pool2d_crops_odd_width", lambda lib, x: F(lib).max_pool2d(x, 2), [(2, 3, 6, 5)]),
    Case(
        "fast_max_pool2d_tall_tiles_crop_rows",
        lambda lib, x: F(lib).max_pool2d(x, (3, 2)),
        [(1, 2, 7, 6)],
    ),
    Case(
        "fast_max_pool2d_flat_tiles",
        lambda lib, x: F(lib).max_pool2d(x, (1, 3), stride=(1, 3)),
        [(2, 2, 3, 7)],
    ),
    Case(
        "fast_max_pool2d_return_indices",
        lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True),
        [(2, 2, 5, 4)],
    ),
    Case(
        "fast_max_pool2d_ceil_mode_divisible",
        lambda lib, x: F(lib).max_pool2d(x, 2, ceil_mode=True, return_indices=True),
        [(1, 2, 4, 6)],
    ),
    Case(
        "fast_max_pool2d_ceil_mode_partial_tile",
        lambda lib, x: F(lib).max_pool2d(x, 2, ceil_mode=True, return_indices=True),
        [(1, 2, 5, 5)],
    ),
    Case("fast_max_pool2d_unbatched", lambda lib, x: F(lib).max_pool2d(x, 2), [(3, 4, 4)]),
    Case("fast_max_pool2d_batch_of_one", lambda lib, x: F(lib).max_pool2d(x, 2), [(1, 1, 4, 4)]),
    Case(
        "fast_max_pool2d_channels_last_input",
        lambda lib, x: F(lib).max_pool2d(_channels_last(lib, x), 2, return_indices=True),
        [(2, 3, 4, 5)],
    ),
    Case(
        "fast_max_pool2d_transposed_input",
        lambda lib, x: F(lib).max_pool2d(x.transpose(2, 3), (2, 3)),
        [(2, 2, 7, 4)],
    ),
    Case(
        "fast_max_pool1d_return_indices",
        lambda lib, x: F(lib).max_pool1d(x, 3, return_indices=True),
        [(2, 3, 10)],
    ),
    Case(
        "fast_max_pool2d_layer",
        lambda lib, x: lib.nn.MaxPool2d(2)(x),
        [(2, 2, 4, 4)],
    ),
]


@pytest.mark.parametrize("case", CONV_CASES + POOL_CASES, ids=lambda c: c.name)
def test_fast_path_matches_torch(case):
    check_case(case)


# ---------------------------------------------------------------- float32 gradients


def _compare(fn, arrays, dtype, atol, rtol, seed=0):
    """Outputs, and ``.backward()`` gradients of a random cotangent, of ``fn`` on both."""
    results = {}
    for lib in (torch, ember):
        inputs = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        outputs = fn(lib, *inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        rng = np.random.default_rng(seed)
        cotangent = lib.tensor(rng.standard_normal(tuple(outputs[0].shape)).astype(dtype))
        (outputs[0] * cotangent).sum().backward()
        results[lib] = [o.detach().numpy() for o in outputs] + [t.grad.numpy() for t in inputs]
    for actual, expected in zip(results[ember], results[torch]):
        assert actual.dtype == expected.dtype
        np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True)
    return results


@pytest.mark.parametrize("case", CONV_CASES + POOL_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_backward_matches_torch(case, dtype):
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(-2, 2, size=shape) for shape in case.shapes]
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    _compare(case.fn, arrays, dtype, tolerance, tolerance)


def test_cnn_digits_shapes_match_torch():
    """The benchmark's two convolutions and pools, at its batch size."""

    def network(lib, x, w1, b1, w2, b2):
        h = F(lib).max_pool2d(F(lib).relu(F(lib).conv2d(x, w1, b1, padding=1)), 2)
        return F(lib).max_pool2d(F(lib).relu(F(lib).conv2d(h, w2, b2, padding=1)), 2)

    rng = np.random.default_rng(3)
    shapes = [(64, 1, 8, 8), (16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,)]
    arrays = [rng.standard_normal(shape) * 0.5 for shape in shapes]
    _compare(network, arrays, np.float32, 1e-4, 1e-4)
    _compare(network, arrays, np.float64, 1e-10, 1e-8)


# ---------------------------------------------------------------- max pooling edge cases


@pytest.mark.parametrize("kernel", [2, (3, 2), (2, 1)])
def test_max_pool_ties_pick_the_first_like_torch(kernel):
    rng = np.random.default_rng(11)
    data = rng.integers(-1, 2, size=(2, 3, 6, 7)).astype(np.float64)
    data[0, 0] = 0.0  # all-equal windows
    results = _compare(
        lambda lib, x: F(lib).max_pool2d(x, kernel, return_indices=True),
        [data],
        np.float64,
        0,
        0,
    )
    np.testing.assert_array_equal(results[ember][1], results[torch][1])


@pytest.mark.parametrize("where", [(0, 0), (1, 1), (0, 1)])
def test_max_pool_nan_propagates_like_torch(where):
    data = np.random.default_rng(5).standard_normal((2, 2, 4, 6))
    data[0, 1, where[0], where[1]] = np.nan
    data[1, 0, 2:4, 2:4] = np.nan  # a window of NaN only: the last one wins
    data[1, 1, 0, 3] = np.nan
    data[1, 1, 1, 2] = np.nan
    for dtype in (np.float64, np.float32):
        results = _compare(
            lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True), [data], dtype, 0, 0
        )
        np.testing.assert_array_equal(results[ember][1], results[torch][1])


def test_max_pool_infinities_and_signed_zeros_like_torch():
    data = np.array(
        [[[[-np.inf, -np.inf, 0.0, -0.0], [-np.inf, -np.inf, -0.0, 0.0]],
          [[-0.0, 0.0, np.inf, 1.0], [0.0, -0.0, 2.0, np.inf]]]]
    )  # fmt: skip
    for lib_data in (data, data.astype(np.float32)):
        expected = torch.nn.functional.max_pool2d(torch.tensor(lib_data), 2, return_indices=True)
        actual = ember.nn.functional.max_pool2d(ember.tensor(lib_data), 2, return_indices=True)
        np.testing.assert_array_equal(actual[0].numpy(), expected[0].numpy())
        np.testing.assert_array_equal(
            np.signbit(actual[0].numpy()), np.signbit(expected[0].numpy())
        )
        np.testing.assert_array_equal(actual[1].numpy(), expected[1].numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_max_pool_integers_like_torch(dtype):
    data = np.random.default_rng(2).integers(0, 5, size=(2, 3, 5, 6)).astype(dtype)
    expected = torch.nn.functional.max_pool2d(torch.tensor(data), 2, return_indices=True)
    actual = ember.nn.functional.max_pool2d(ember.tensor(data), 2, return_indices=True)
    assert str(actual[0].dtype).split(".")[-1] == str(expected[0].dtype).split(".")[-1]
    np.testing.assert_array_equal(actual[0].numpy(), expected[0].numpy())
    np.testing.assert_array_equal(actual[1].numpy(), expected[1].numpy())


def test_max_pool_empty_batch_like_torch():
    data = np.zeros((0, 2, 4, 4))
    expected = torch.nn.functional.max_pool2d(torch.tensor(data), 2)
    actual = ember.nn.functional.max_pool2d(ember.tensor(data), 2)
    assert tuple(actual.shape) == tuple(expected.shape)


def test_max_pool_double_backward_like_torch():
    data = np.random.default_rng(9).standard_normal((2, 2, 5, 4))
    grads = {}
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = F(lib).max_pool2d(x, 2)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (g * g * lib.tensor(data)).sum().backward()
        grads[lib] = (g.detach().numpy(), x.grad.numpy())
    for actual, expected in zip(grads[ember], grads[torch]):
        np.testing.assert_allclose(actual, expected, atol=1e-12)


# ---------------------------------------------------------------- convolution edge cases


def _twin_layers(make):
    """The layer built on both libraries, ember's holding PyTorch's float64 weights."""
    torch.manual_seed(0)
    theirs = make(torch).double()
    mine = make(ember).double()
    mine.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    )
    return {torch: theirs, ember: mine}


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda lib: lib.nn.Conv2d(4, 6, 3, padding=1, groups=2), (3, 4, 5, 4)),
        (lambda lib: lib.nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), (16, 2, 5, 4)),
        (lambda lib: lib.nn.ConvTranspose2d(3, 2, 3, padding=1), (2, 3, 4, 4)),
    ],
)
def test_conv_double_backward_like_torch(make, shape):
    """A gradient penalty: second derivatives reach the weights and the input."""
    data = np.random.default_rng(4).standard_normal(shape)
    layers, results = _twin_layers(make), {}
    for lib, layer in layers.items():
        x = lib.tensor(data, requires_grad=True)
        y = layer(x)
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (g * g).sum().backward()
        results[lib] = [x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    for actual, expected in zip(results[ember], results[torch]):
        np.testing.assert_allclose(actual, expected, atol=1e-9, rtol=1e-7)


def test_conv_backward_twice_with_retained_graph_like_torch():
    """The kept im2col is used once; a second backward recomputes it."""
    data = np.random.default_rng(8).standard_normal((3, 2, 5, 5))
    layers, grads = _twin_layers(lambda lib: lib.nn.Conv2d(2, 3, 3, padding=1)), {}
    for lib, conv in layers.items():
        y = conv(lib.tensor(data)).sum()
        y.backward(retain_graph=True)
        y.backward()
        grads[lib] = conv.weight.grad.numpy()
    np.testing.assert_allclose(grads[ember], grads[torch], atol=1e-10)


def test_conv_sees_in_place_change_of_its_input_like_torch():
    for lib in (torch, ember):
        x = lib.ones(2, 1, 4, 4)
        w = lib.ones(1, 1, 3, 3, requires_grad=True)
        y = F(lib).conv2d(x, w, padding=1)
        x.add_(1.0)
        with pytest.raises(RuntimeError):
            y.sum().backward()


@pytest.mark.parametrize("shape", [(16, 8, 8, 64), (32, 4, 4, 64), (24, 3, 3, 64),
                                   (16, 8, 8, 5), (3, 5, 5, 64)])
def test_batch_first_copy_is_the_transposition(shape):
    """``_to_batch_first``, in two steps through blocks where they pay, or direct."""
    from ember.nn._functional._conv_kernels import _to_batch_first

    y = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    found = _to_batch_first(y)
    assert found.flags.c_contiguous
    np.testing.assert_array_equal(found, np.moveaxis(y, -1, 0))


@pytest.mark.parametrize("groups, m, n, k", [(1, 32, 144, 1024), (1, 256, 2304, 196),
                                             (2, 8, 18, 64), (1, 16, 9, 4096), (3, 4, 27, 5)])
def test_weight_product_is_the_transposed_product(groups, m, n, k):
    """``_times_transposed(a, b)`` is ``a @ bᵀ`` per group, whichever order it multiplies in:
    the same sums along ``k``, bit for bit with some of OpenBLAS's kernels and not others
    (its Haswell kernels group them otherwise), so to float32's rounding of each sum."""
    from ember.nn._functional._conv_kernels import _times_transposed

    rng = np.random.default_rng(8)
    a = rng.standard_normal((groups, m, k)).astype(np.float32)
    b = rng.standard_normal((groups, n, k)).astype(np.float32)
    found = _times_transposed(a, b)
    assert found.shape == (groups, m, n)
    expected = np.stack([a[g].astype(np.float64) @ b[g].T for g in range(groups)])
    scale = np.stack([np.abs(a[g]).astype(np.float64) @ np.abs(b[g]).T for g in range(groups)])
    assert (np.abs(found - expected) <= 1e-6 * scale).all()  # k roundings of 6e-8 at most
