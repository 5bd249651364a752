"""Fractional max pooling against PyTorch. PyTorch's window starts come from
``_random_samples``: given the same samples, values, indices and gradients must be
PyTorch's, in float64, float32, float16 and bfloat16. Without them ember draws the samples
with ``ember.rand`` (NumPy's generator, not PyTorch's): those outputs are checked by their
properties and by reproducibility under ``ember.manual_seed``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.oracle import Case, ErrorCase, check_case, check_error

torch.set_num_threads(1)


def _samples(lib, like, shape, seed):
    """Fixed numbers in [0, 1) of ``like``'s dtype: the samples both libraries are given."""
    return lib.tensor(np.random.default_rng(seed).random(shape), dtype=like.dtype)


def _pool2d(lib, x, kernel, samples_shape, seed=0, **options):
    samples = _samples(lib, x, samples_shape, seed)
    return lib.nn.functional.fractional_max_pool2d(x, kernel, _random_samples=samples, **options)


def _pool3d(lib, x, kernel, samples_shape, seed=0, **options):
    samples = _samples(lib, x, samples_shape, seed)
    return lib.nn.functional.fractional_max_pool3d(x, kernel, _random_samples=samples, **options)


CASES = [
    Case("frac2d_int_size", lambda lib, x: _pool2d(lib, x, 2, (2, 2, 2), output_size=3),
         [(2, 2, 7, 8)]),
    Case("frac2d_largest_size_indices", lambda lib, x: _pool2d(
        lib, x, (2, 3), (1, 2, 2), 1, output_size=(8, 8), return_indices=True), [(1, 2, 9, 10)]),
    Case("frac2d_ratio", lambda lib, x: _pool2d(
        lib, x, 3, (1, 2, 2), 2, output_ratio=(0.5, 0.7)), [(1, 2, 11, 13)]),
    Case("frac2d_unbatched", lambda lib, x: _pool2d(
        lib, x, 2, (1, 3, 2), 3, output_size=(3, 5), return_indices=True), [(3, 7, 8)]),
    Case("frac2d_more_samples_than_batch", lambda lib, x: _pool2d(
        lib, x, 2, (4, 2, 2), 4, output_size=(2, 3)), [(2, 2, 5, 6)]),
    Case("frac2d_one_window", lambda lib, x: _pool2d(lib, x, 3, (1, 1, 2), 5, output_size=1),
         [(1, 1, 4, 5)]),
    Case("frac2d_kernel_one", lambda lib, x: _pool2d(lib, x, 1, (1, 2, 2), 6, output_size=(5, 4)),
         [(1, 2, 7, 6)]),
    Case("frac3d_int_size", lambda lib, x: _pool3d(
        lib, x, 2, (2, 1, 3), output_size=(3, 4, 4), return_indices=True), [(2, 1, 5, 6, 6)]),
    Case("frac3d_tuple_kernel", lambda lib, x: _pool3d(
        lib, x, (1, 2, 3), (1, 2, 3), 1, output_size=3), [(1, 2, 5, 6, 7)]),
    Case("frac3d_ratio", lambda lib, x: _pool3d(
        lib, x, 2, (1, 1, 3), 2, output_ratio=(0.5, 0.5, 0.6)), [(1, 1, 6, 7, 8)]),
    Case("frac3d_unbatched", lambda lib, x: _pool3d(
        lib, x, 2, (1, 2, 3), 3, output_size=(2, 3, 2), return_indices=True), [(2, 4, 5, 5)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_values_indices_and_gradients_match_torch(case):
    check_case(case)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_window_starts_round_as_torchs_in_each_float_dtype(dtype):
    """The starts are computed in the input's dtype, each step rounded to it."""
    rng = np.random.default_rng(5)
    for trial in range(24):
        count = 2 + trial % 2
        spare = count - 2  # the 3-D kernel wants one element to spare
        size = rng.integers(4, 30 if count == 2 else 12, count)
        kernel = tuple(int(k) for k in rng.integers(1, 4, count))
        out = tuple(int(rng.integers(1, n - k + 2 - spare)) for n, k in zip(size, kernel))
        x = rng.standard_normal((2, 2, *size))
        samples = rng.random((2, 2, count))
        results = []
        for lib in (torch, ember):
            function = getattr(lib.nn.functional, f"fractional_max_pool{count}d")
            to = getattr(lib, dtype)
            values, indices = function(lib.tensor(x).to(to), kernel, out, return_indices=True,
                                       _random_samples=lib.tensor(samples).to(to))
            assert str(values.dtype).endswith(dtype)
            results.append((values.float().numpy(), indices.numpy()))
        (expected_values, expected_indices), (values, indices) = results
        np.testing.assert_array_equal(indices, expected_indices, err_msg=f"{size} {kernel} {out}")
        np.testing.assert_array_equal(values, expected_values)


def test_ties_nan_and_infinity_pick_what_torch_picks():
    """First of equal maxima, the last NaN of a window, the first of an all -inf window; the
    gradient goes to the position picked."""
    rng = np.random.default_rng(6)
    x = np.round(rng.standard_normal((2, 2, 6, 7)))
    x[0, 0, 1, 1] = x[0, 0, 2, 3] = x[1, 1, 4, 4] = np.nan
    x[1, 0] = -np.inf
    samples = rng.random((2, 2, 2))
    cotangent = rng.standard_normal((2, 2, 3, 4))
    results = []
    for lib in (torch, ember):
        tensor = lib.tensor(x, requires_grad=True)
        values, indices = lib.nn.functional.fractional_max_pool2d(
            tensor, 3, (3, 4), return_indices=True, _random_samples=lib.tensor(samples))
        values.backward(lib.tensor(cotangent))
        results.append([values.detach().numpy(), indices.numpy(), tensor.grad.numpy()])
    for actual, expected in zip(results[1], results[0]):
        np.testing.assert_array_equal(actual, expected)


def test_node_names_and_empty_shapes_match_torch():
    rng = np.random.default_rng(7)
    for shape, out in [((0, 3, 9, 10), 3), ((2, 3, 9, 10), (0, 4))]:
        results = []
        for lib in (torch, ember):
            x = lib.tensor(rng.standard_normal(shape), requires_grad=True)
            values, indices = lib.nn.functional.fractional_max_pool2d(
                x, 2, out, return_indices=True,
                _random_samples=lib.rand(max(shape[0], 1), 3, 2, dtype=x.dtype))
            results.append((tuple(values.shape), tuple(indices.shape), values.grad_fn.name()))
        assert results[0] == results[1] == (results[0][0], results[0][0],
                                            "FractionalMaxPool2DBackward0")
    x = ember.randn(1, 2, 5, 5, 5, requires_grad=True)
    values = ember.nn.functional.fractional_max_pool3d(x, 2, 2)
    assert values.grad_fn.name() == "FractionalMaxPool3DBackward0"


def test_with_indices_forms_and_a_number_as_output_ratio():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 8, 9))
    samples = rng.random((1, 2, 2))
    expected = torch.nn.functional.fractional_max_pool2d_with_indices(
        torch.tensor(x), 2, output_ratio=(0.5, 0.5), _random_samples=torch.tensor(samples))
    # PyTorch 2.13's 2-D functional form refuses the number it documents; ember takes it
    actual = ember.nn.functional.fractional_max_pool2d_with_indices(
        ember.tensor(x), 2, output_ratio=0.5, _random_samples=ember.tensor(samples))
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a.numpy(), e.numpy())
    x3 = rng.standard_normal((1, 2, 6, 7, 8))
    samples3 = rng.random((1, 2, 3))
    expected = torch.nn.functional.fractional_max_pool3d_with_indices(
        torch.tensor(x3), 2, output_ratio=0.5, _random_samples=torch.tensor(samples3))
    actual = ember.nn.functional.fractional_max_pool3d_with_indices(
        ember.tensor(x3), 2, output_ratio=0.5, _random_samples=ember.tensor(samples3))
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a.numpy(), e.numpy())


def test_random_windows_come_from_ember_rand_under_the_seed():
    rng = np.random.default_rng(9)
    x = ember.tensor(rng.standard_normal((3, 2, 12, 11)))
    ember.manual_seed(3)
    values, indices = ember.nn.functional.fractional_max_pool2d(x, 3, output_ratio=(0.5, 0.5),
                                                                return_indices=True)
    ember.manual_seed(3)
    samples = ember.rand(3, 2, 2, dtype=x.dtype)
    expected = ember.nn.functional.fractional_max_pool2d(x, 3, (6, 5), return_indices=True,
                                                         _random_samples=samples)
    np.testing.assert_array_equal(indices.numpy(), expected[1].numpy())
    np.testing.assert_array_equal(values.numpy(), expected[0].numpy())
    # each value is the input at its index, and the windows move with the draw
    flat = x.numpy().reshape(3, 2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, indices.numpy().reshape(3, 2, -1), 2),
                                  values.numpy().reshape(3, 2, -1))
    draws = {ember.nn.functional.fractional_max_pool2d(x, 3, (6, 5), return_indices=True)[1]
             .numpy().tobytes() for _ in range(5)}
    assert len(draws) > 1
    # unbatched: one row of samples
    volume = x[0].reshape(2, 4, 3, 11)
    ember.manual_seed(4)
    single = ember.nn.functional.fractional_max_pool3d(volume, 2, (2, 1, 3))
    ember.manual_seed(4)
    again = ember.nn.functional.fractional_max_pool3d(
        volume, 2, (2, 1, 3), _random_samples=ember.rand(1, 2, 3, dtype=x.dtype))
    np.testing.assert_array_equal(single.numpy(), again.numpy())


def test_modules_match_torch_with_samples_and_their_state():
    rng = np.random.default_rng(10)
    samples2, samples3 = rng.random((2, 3, 2)), rng.random((2, 3, 3))
    x2, x3 = rng.standard_normal((2, 3, 10, 9)), rng.standard_normal((2, 3, 7, 8, 9))
    makers = [
        (lambda lib: lib.nn.FractionalMaxPool2d(
            3, output_size=(5, 4), _random_samples=lib.tensor(samples2)), x2),
        (lambda lib: lib.nn.FractionalMaxPool2d(
            (2, 3), output_ratio=0.5, return_indices=True, _random_samples=lib.tensor(samples2)),
         x2),
        (lambda lib: lib.nn.FractionalMaxPool3d(
            2, output_ratio=(0.5, 0.5, 0.6), return_indices=True,
            _random_samples=lib.tensor(samples3)), x3),
    ]
    for make, x in makers:
        torch_layer, ember_layer = make(torch), make(ember)
        assert repr(ember_layer) == repr(torch_layer)
        for name in ("kernel_size", "output_size", "output_ratio", "return_indices"):
            assert getattr(ember_layer, name) == getattr(torch_layer, name), name
        assert list(ember_layer.state_dict()) == list(torch_layer.state_dict())
        expected = torch_layer(torch.tensor(x, requires_grad=True))
        actual = ember_layer(ember.tensor(x, requires_grad=True))
        if not isinstance(expected, tuple):
            expected, actual = (expected,), (actual,)
        for a, e in zip(actual, expected):
            np.testing.assert_array_equal(a.detach().numpy(), e.detach().numpy())
    layer = ember.nn.FractionalMaxPool2d(2, output_size=3)
    assert list(layer.state_dict()) == [] and layer._random_samples is None
    assert ember.nn.modules.pooling.FractionalMaxPool3d is ember.nn.FractionalMaxPool3d


def test_autocast_runs_it_in_float32_as_torch():
    rng = np.random.default_rng(11)
    x, samples = rng.standard_normal((1, 2, 7, 7)), rng.random((1, 2, 2))
    results = []
    for lib in (torch, ember):
        with lib.autocast("cpu", dtype=lib.bfloat16):
            values = lib.nn.functional.fractional_max_pool2d(
                lib.tensor(x, dtype=lib.bfloat16), 2, 3,
                _random_samples=lib.tensor(samples, dtype=lib.bfloat16))
        results.append((str(values.dtype).split(".")[-1], values.float().numpy()))
    assert results[0][0] == results[1][0] == "float32"
    np.testing.assert_array_equal(results[1][1], results[0][1])


def _x(lib, *shape, dtype=None):
    return lib.ones(*shape, dtype=dtype or lib.float64)


def _s(lib, *shape, dtype=None):
    return lib.full(shape, 0.5, dtype=dtype or lib.float64)


ERRORS = [
    ErrorCase("no_size", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2)),
    ErrorCase("no_size3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 4, 4, 4), 2)),
    ErrorCase("height", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 6, 7), 2, (6, 6), _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("width", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 6, 7), 2, (5, 7), _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("time3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 6, 7, 8), 2, (5, 5, 6), _random_samples=_s(lib, 1, 1, 3))),
    ErrorCase("width3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 6, 7, 8), 2, (4, 5, 7), _random_samples=_s(lib, 1, 1, 3))),
    ErrorCase("height3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 6, 7, 8), (2, 3, 2), (4, 5, 6), _random_samples=_s(lib, 1, 1, 3))),
    ErrorCase("rank", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 1, 4, 4), 2, 2, _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("rank3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 4, 4, 4), 2, 2, _random_samples=_s(lib, 1, 1, 3))),
    ErrorCase("no_channels", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 2, 0, 9, 10), 2, 3)),
    ErrorCase("empty_height", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 0, 4), 2, 4, _random_samples=_s(lib, 1, 2, 2))),
    ErrorCase("samples_rank", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, 2, _random_samples=_s(lib, 1, 1, 2, 1))),
    ErrorCase("samples_dtype", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, 2, _random_samples=_s(lib, 1, 1, 2, dtype=lib.float32))),
    ErrorCase("samples_batch", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 2, 1, 4, 4), 2, 2, _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("samples_channels", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, 2, _random_samples=_s(lib, 1, 2, 2))),
    ErrorCase("samples_columns", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 6, 7, 8), 2, 2, _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("kernel_three", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), (2, 2, 2), 2)),
    ErrorCase("size_three", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, (2, 2, 2))),
    ErrorCase("kernel_two_3d", lambda lib: lib.nn.functional.fractional_max_pool3d(
        _x(lib, 1, 1, 6, 7, 8), (2, 2), 2)),
    ErrorCase("float_kernel", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2.0, 2)),
    ErrorCase("float_size", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, 2.0)),
    ErrorCase("negative_size", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, -1, _random_samples=_s(lib, 1, 1, 2))),
    ErrorCase("ratio_three", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4), 2, output_ratio=(0.5, 0.5, 0.5))),
    ErrorCase("integers", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4, dtype=lib.int32), 2, 2,
        _random_samples=_s(lib, 1, 1, 2, dtype=lib.int32))),
    ErrorCase("integers_drawn", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 1, 1, 4, 4, dtype=lib.int64), 2, 2)),
    ErrorCase("two_dims", lambda lib: lib.nn.functional.fractional_max_pool2d(
        _x(lib, 4, 4), 2, 2)),
    ErrorCase("module_no_size", lambda lib: lib.nn.FractionalMaxPool2d(2)),
    ErrorCase("module_both", lambda lib: lib.nn.FractionalMaxPool3d(2, 3, 0.5)),
    ErrorCase("module_ratio_one", lambda lib: lib.nn.FractionalMaxPool2d(2, output_ratio=1.0)),
    ErrorCase("module_ratio_zero", lambda lib: lib.nn.FractionalMaxPool3d(2, output_ratio=0)),
    ErrorCase("module_ratio_pair", lambda lib: lib.nn.FractionalMaxPool2d(
        2, output_ratio=(0.5, 1.2))),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_torch(case):
    check_error(case)


def test_error_messages():
    F = ember.nn.functional
    with pytest.raises(RuntimeError, match="pool height 2 too large relative to input height 6"):
        F.fractional_max_pool2d(ember.ones(1, 1, 6, 7), 2, (6, 6))
    with pytest.raises(RuntimeError, match="Expect _random_samples.size.2. equals to 3; got 2"):
        F.fractional_max_pool3d(ember.ones(1, 1, 6, 7, 8), 2, 2,
                                _random_samples=ember.full((1, 1, 2), 0.5))
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1 .got 1.0."):
        ember.nn.FractionalMaxPool2d(2, output_ratio=1.0)
    # PyTorch reads outside its windows for a kernel of 0 (and returns -inf); ember refuses
    with pytest.raises(RuntimeError, match="kernel_size must be greater than zero"):
        F.fractional_max_pool2d(ember.ones(1, 1, 4, 4), 0, 2)
