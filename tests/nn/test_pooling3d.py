"""3-D pooling and max unpooling (1-D to 3-D) against PyTorch 2.13 in float64: values,
indices, dtypes, gradients of random cotangents, gradchecks, ties and NaN, node names,
reprs and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer
from tests.oracle import Case, ErrorCase, check_case, check_error

torch.set_num_threads(1)

POOL3D_CONFIGS = [
    ("MaxPool3d", (2,), {}, (2, 3, 5, 6, 7)),
    ("MaxPool3d", (3,), dict(stride=1, padding=1), (1, 2, 4, 5, 3)),
    ("MaxPool3d", ((3, 2, 2),), dict(stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1),
                                     ceil_mode=True), (1, 2, 7, 6, 5)),
    ("MaxPool3d", (2,), dict(stride=2, dilation=2, ceil_mode=True, return_indices=True),
     (2, 2, 7, 5, 6)),
    ("MaxPool3d", (2,), dict(return_indices=True, ceil_mode=True), (3, 5, 5, 3)),  # unbatched
    ("AvgPool3d", (2,), {}, (2, 3, 5, 6, 7)),
    ("AvgPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True), (1, 2, 6, 7, 5)),
    ("AvgPool3d", ((3, 2, 3),), dict(stride=1, padding=(1, 1, 0), count_include_pad=False),
     (1, 2, 4, 5, 3)),
    ("AvgPool3d", (2,), dict(stride=1, divisor_override=3), (2, 4, 4, 3)),  # unbatched
    ("AvgPool3d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     (1, 1, 5, 4, 6)),
    ("AdaptiveAvgPool3d", ((3, 2, 4),), {}, (2, 3, 7, 5, 6)),
    ("AdaptiveAvgPool3d", (1,), {}, (2, 3, 4, 4, 3)),
    ("AdaptiveAvgPool3d", ((None, 4, 1),), {}, (2, 5, 4, 3)),  # unbatched
    ("AdaptiveAvgPool3d", ((5, 7, 2),), {}, (1, 2, 3, 4, 5)),  # output larger than input
    ("AdaptiveMaxPool3d", ((3, 2, 4),), {}, (2, 3, 7, 5, 6)),
    ("AdaptiveMaxPool3d", (2,), dict(return_indices=True), (2, 3, 5, 3)),  # unbatched
    ("AdaptiveMaxPool3d", ((None, 6, 3),), dict(return_indices=True), (1, 2, 3, 4, 5)),
    ("LPPool3d", (2, 2), {}, (1, 2, 4, 5, 4)),
    ("LPPool3d", (1.5, (3, 2, 2)), dict(stride=1, ceil_mode=True), (1, 2, 4, 5, 3)),
    ("LPPool3d", (3, 2), dict(stride=(1, 2, 1)), (2, 4, 3, 5)),  # unbatched
]


@pytest.mark.parametrize(
    "name, args, kwargs, shape",
    POOL3D_CONFIGS,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL3D_CONFIGS)],
)
def test_pool3d_layer_matches_torch(name, args, kwargs, shape):
    data = np.random.default_rng(1).standard_normal(shape)
    if name.startswith("LPPool"):
        data = np.abs(data) + 0.5  # fractional powers of negatives are NaN on both sides
    check_layer(lambda lib: getattr(lib.nn, name)(*args, **kwargs), [data])


def _functional(function):
    return lambda lib, x: function(lib.nn.functional, x)


# Small cases for the full oracle: values, float32, gradients and finite-difference checks.
FUNCTIONAL_CASES = [
    Case("max_pool3d", _functional(lambda F, x: F.max_pool3d(x, 2, 1, 1, 1, True)),
         [(1, 2, 3, 4, 3)]),
    Case("max_pool3d_with_indices", _functional(
        lambda F, x: F.max_pool3d_with_indices(x, (2, 3, 2), (1, 2, 1), (1, 1, 0), 2)),
        [(1, 1, 5, 5, 4)]),
    Case("avg_pool3d", _functional(lambda F, x: F.avg_pool3d(x, 3, 2, 1, True, False)),
         [(1, 2, 5, 4, 3)]),
    Case("avg_pool3d_divisor", _functional(
        lambda F, x: F.avg_pool3d(x, (2, 3, 2), 1, (1, 1, 0), False, True, 4)), [(2, 4, 3, 4)]),
    Case("adaptive_avg_pool3d", _functional(lambda F, x: F.adaptive_avg_pool3d(x, (2, 3, 2))),
         [(1, 2, 5, 4, 3)]),
    Case("adaptive_max_pool3d", _functional(
        lambda F, x: F.adaptive_max_pool3d_with_indices(x, (2, 3, 2))), [(1, 2, 5, 4, 3)]),
    Case("lp_pool3d", _functional(lambda F, x: F.lp_pool3d(x, 2.0, 2, 1)), [(1, 2, 3, 3, 4)],
         domain=(0.5, 2.0)),
]


@pytest.mark.parametrize("case", FUNCTIONAL_CASES, ids=lambda case: case.name)
def test_functional_pool3d_matches_torch(case):
    check_case(case)


def test_integer_inputs_match_torch():
    """Max pooling keeps integers; average pooling truncates the mean, as PyTorch."""
    data = np.random.default_rng(2).integers(-20, 20, (2, 2, 5, 4, 6))
    for function in (lambda F, x: F.max_pool3d(x, 2, 1, 1, return_indices=True),
                     lambda F, x: F.avg_pool3d(x, 3, 2, 1, True, False)):
        results = [function(lib.nn.functional, lib.tensor(data)) for lib in (torch, ember)]
        for expected, actual in zip(*(r if isinstance(r, tuple) else (r,) for r in results)):
            assert str(actual.dtype).split(".")[1] == str(expected.dtype).split(".")[1]
            np.testing.assert_array_equal(actual.numpy(), expected.numpy())


TIE_DATA = np.array([
    [[1.0, 1.0, 0.0], [1.0, 2.0, 2.0], [-np.inf, 0.0, 2.0]],
    [[1.0, 2.0, 2.0], [2.0, 2.0, 1.0], [0.0, -np.inf, -np.inf]],
    [[2.0, 0.0, 2.0], [np.nan, 1.0, 1.0], [1.0, 1.0, np.nan]],
]).reshape(1, 1, 3, 3, 3)


@pytest.mark.parametrize(
    "function",
    [
        lambda F, x: F.max_pool3d(x, 2, 1, return_indices=True),
        lambda F, x: F.max_pool3d(x, 3, 1, padding=1, return_indices=True),
        lambda F, x: F.max_pool3d(x, 2, 2, padding=1, return_indices=True),
        lambda F, x: F.max_pool3d(x, 2, 1, dilation=2, ceil_mode=True, return_indices=True),
        lambda F, x: F.adaptive_max_pool3d(x, 2, return_indices=True),
        lambda F, x: F.adaptive_max_pool3d(x[..., :2, :], (2, 1, 2), return_indices=True),
    ],
)
def test_max_pool3d_ties_nan_and_overlaps_like_torch(function):
    """Ties go to the first, NaN wins, overlapping windows add their gradients up."""
    results = []
    for lib in (torch, ember):
        x = lib.tensor(TIE_DATA, requires_grad=True)
        values, indices = function(lib.nn.functional, x)
        cotangent = np.arange(1.0, 1.0 + values.numel()).reshape(tuple(values.shape))
        (grad,) = lib.autograd.grad(values, x, lib.tensor(cotangent))
        results.append((values.detach().numpy(), indices.numpy(), grad.numpy()))
    for actual, expected in zip(results[1], results[0]):
        np.testing.assert_array_equal(actual, expected)


def test_pool3d_node_names_match_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        x = lib.ones(1, 1, 4, 4, 4, dtype=lib.float64, requires_grad=True)
        assert F.max_pool3d(x, 2).grad_fn.name() == "MaxPool3DWithIndicesBackward0"
        assert F.max_pool3d(x, 2, return_indices=True)[0].grad_fn.name() == \
            "MaxPool3DWithIndicesBackward0"
        assert F.avg_pool3d(x, 2).grad_fn.name() == "AvgPool3DBackward0"
        assert F.adaptive_max_pool3d(x, 2).grad_fn.name() == "AdaptiveMaxPool3DBackward0"
        values, indices = F.max_pool2d(x[0], 2, return_indices=True)
        assert F.max_unpool2d(values, indices, 2).grad_fn.name() == "MaxUnpool2DBackward0"
        values, indices = F.max_pool3d(x, 2, return_indices=True)
        assert F.max_unpool3d(values, indices, 2).grad_fn.name() == "MaxUnpool3DBackward0"
        pooled = F.avg_pool3d(x, 2)
        (grad,) = lib.autograd.grad((pooled * pooled).sum(), x, create_graph=True)
        assert grad.grad_fn.name() == "AvgPool3DBackwardBackward0"


@pytest.mark.parametrize(
    "function",
    [
        lambda F, x: F.avg_pool3d(x, 3, 2, padding=1, ceil_mode=True),
        lambda F, x: F.max_pool3d(x, 3, 1, padding=1),  # overlapping windows
        lambda F, x: F.adaptive_max_pool3d(x, (3, 2, 2)),
        lambda F, x: F.adaptive_avg_pool3d(x, (3, 2, 2)),
    ],
)
def test_pool3d_double_backward_matches_torch(function):
    data = np.random.default_rng(3).standard_normal((1, 2, 5, 4, 3))
    weights = np.random.default_rng(4).standard_normal((1, 2, 5, 4, 3))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = function(lib.nn.functional, x)
        (grad,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        (second,) = lib.autograd.grad((grad * grad * lib.tensor(weights)).sum(), x)
        results.append((grad.detach().numpy(), second.numpy()))
    for actual, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


REPRS = [
    "MaxPool3d(2)",
    "MaxPool3d((2, 1, 2), 1, 1, 2, True, True)",
    "AvgPool3d(3)",
    "AvgPool3d(3, 2, 1, True, False, 2)",
    "AdaptiveAvgPool3d(3)",
    "AdaptiveAvgPool3d((2, None, 3))",
    "AdaptiveMaxPool3d((2, None, 3), True)",
    "LPPool3d(2, 3)",
    "LPPool3d(1.5, (2, 2, 2), stride=1, ceil_mode=True)",
    "MaxUnpool1d(2)",
    "MaxUnpool2d((2, 3), 1, 1)",
    "MaxUnpool3d(2, (1, 2, 1))",
]


@pytest.mark.parametrize("text", REPRS)
def test_repr_and_attributes_match_torch(text):
    mine, theirs = eval("ember.nn." + text), eval("torch.nn." + text)
    assert repr(mine) == repr(theirs)
    public = {name for name in vars(theirs) if not name.startswith("_")}
    for name in public:
        assert getattr(mine, name) == getattr(theirs, name), name


def test_avg_pool3d_is_not_an_avg_pool2d():
    assert not isinstance(ember.nn.AvgPool3d(2), ember.nn.AvgPool2d)
    assert not isinstance(ember.nn.AvgPool2d(2), ember.nn.AvgPool3d)


def test_autocast_runs_3d_pooling_and_unpooling_in_float32_like_torch():
    data = np.random.default_rng(5).standard_normal((1, 2, 4, 4, 4))
    dtypes = []
    for lib in (torch, ember):
        F = lib.nn.functional
        x = lib.tensor(data, dtype=lib.bfloat16)
        values, indices = F.max_pool2d(x[0], 2, return_indices=True)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            results = [F.max_pool3d(x, 2), F.avg_pool3d(x.float(), 2), F.adaptive_avg_pool3d(x, 2),
                       F.adaptive_max_pool3d(x, 2), F.lp_pool3d(x, 2, 2),
                       F.max_unpool2d(values, indices, 2)]
        dtypes.append([str(r.dtype).split(".")[1] for r in results])
    assert dtypes[1] == dtypes[0] == ["float32"] * 6


def test_compiled_3d_pooling_matches_eager():
    """ember.compile replays the 3-D ops: values and gradients equal the eager ones."""
    rng = np.random.default_rng(6)

    def model(x):
        F = ember.nn.functional
        values, indices = F.max_pool3d(x, 2, 1, return_indices=True)
        unpooled = F.max_unpool3d(values, indices, 2, 1, output_size=x.shape[-3:])
        return (F.avg_pool3d(unpooled, 2, ceil_mode=True).sum()
                + F.adaptive_max_pool3d(x * x, (2, 1, 2)).sum())

    compiled = ember.compile(model)
    for _ in range(3):
        data = rng.standard_normal((2, 2, 4, 5, 3))
        results = []
        for function in (model, compiled):
            x = ember.tensor(data, requires_grad=True)
            loss = function(x)
            loss.backward()
            results.append((loss.item(), x.grad.numpy()))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


# ---------------------------------------------------------------- max unpooling


def _unpool_inputs(shape, spatial: int, out_area: int, seed: int):
    """Values of ``shape`` (``spatial`` dims last) and indices into planes of ``out_area``
    positions, distinct within each plane."""
    rng = np.random.default_rng(seed)
    planes, count = int(np.prod(shape[:-spatial])), int(np.prod(shape[-spatial:]))
    indices = np.stack([rng.permutation(out_area)[:count] for _ in range(planes)])
    return [rng.standard_normal(shape), indices.reshape(shape)]


UNPOOL_CASES = [
    Case("max_unpool1d", lambda lib, v, i: lib.nn.functional.max_unpool1d(v, i, 2),
         inputs=lambda rng: _unpool_inputs((2, 3, 4), 1, 8, 1)),
    Case("max_unpool1d_output_size", lambda lib, v, i: lib.nn.functional.max_unpool1d(
        v, i, 3, 2, 1, output_size=[2, 3, 8]),
        inputs=lambda rng: _unpool_inputs((2, 3, 4), 1, 8, 2)),
    Case("max_unpool2d", lambda lib, v, i: lib.nn.functional.max_unpool2d(v, i, 2),
         inputs=lambda rng: [rng.standard_normal((2, 2, 2, 3)),
                             np.stack([rng.permutation(24)[:6] for _ in range(4)]).reshape(
                                 2, 2, 2, 3)]),
    Case("max_unpool2d_output_size", lambda lib, v, i: lib.nn.functional.max_unpool2d(
        v, i, (3, 2), (2, 1), (1, 0), output_size=(5, 4)),
        inputs=lambda rng: [rng.standard_normal((1, 2, 3, 3)),
                            np.stack([rng.permutation(20)[:9] for _ in range(2)]).reshape(
                                1, 2, 3, 3)]),
    Case("max_unpool2d_unbatched", lambda lib, v, i: lib.nn.functional.max_unpool2d(
        v, i, 2, output_size=(3, 5)),
        inputs=lambda rng: [rng.standard_normal((2, 1, 2)),
                            np.stack([rng.permutation(15)[:2] for _ in range(2)]).reshape(
                                2, 1, 2)]),
    Case("max_unpool3d", lambda lib, v, i: lib.nn.functional.max_unpool3d(v, i, 2),
         inputs=lambda rng: [rng.standard_normal((1, 2, 2, 1, 2)),
                             np.stack([rng.permutation(16)[:4] for _ in range(2)]).reshape(
                                 1, 2, 2, 1, 2)]),
    Case("max_unpool3d_output_size", lambda lib, v, i: lib.nn.functional.max_unpool3d(
        v, i, 2, (1, 2, 2), 0, output_size=(1, 2, 3, 3, 5)),
        inputs=lambda rng: [rng.standard_normal((1, 2, 2, 1, 2)),
                            np.stack([rng.permutation(45)[:4] for _ in range(2)]).reshape(
                                1, 2, 2, 1, 2)]),
]


@pytest.mark.parametrize("case", UNPOOL_CASES, ids=lambda case: case.name)
def test_max_unpool_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize(
    "pool, unpool, shape",
    [
        (lambda F, x: F.max_pool1d(x, 3, 2, 1, return_indices=True),
         lambda F, v, i, x: F.max_unpool1d(v, i, 3, 2, 1, x.shape[-1:]), (2, 3, 9)),
        (lambda F, x: F.max_pool2d(x, 2, return_indices=True),
         lambda F, v, i, x: F.max_unpool2d(v, i, 2, output_size=x.shape), (2, 3, 5, 7)),
        (lambda F, x: F.max_pool2d(x, 3, 1, 1, return_indices=True),  # repeated indices
         lambda F, v, i, x: F.max_unpool2d(v, i, 3, 1, 1), (1, 2, 4, 5)),
        (lambda F, x: F.max_pool3d(x, (2, 3, 2), (2, 2, 1), (1, 1, 0), return_indices=True),
         lambda F, v, i, x: F.max_unpool3d(v, i, (2, 3, 2), (2, 2, 1), (1, 1, 0), x.shape[2:]),
         (2, 2, 5, 6, 4)),
        (lambda F, x: F.max_pool3d(x, 2, return_indices=True),  # unbatched
         lambda F, v, i, x: F.max_unpool3d(v, i, 2, output_size=x.shape[1:]), (3, 4, 5, 4)),
        (lambda F, x: F.max_pool3d(x, 2, 1, return_indices=True),  # repeated indices
         lambda F, v, i, x: F.max_unpool3d(v, i, 2, 1), (1, 2, 3, 4, 3)),
    ],
)
def test_max_pool_then_unpool_round_trip_matches_torch(pool, unpool, shape):
    data = np.random.default_rng(7).standard_normal(shape)
    results = []
    for lib in (torch, ember):
        F = lib.nn.functional
        x = lib.tensor(data, requires_grad=True)
        values, indices = pool(F, x)
        out = unpool(F, values, indices, x)
        cotangent = np.random.default_rng(8).standard_normal(tuple(out.shape))
        (grad,) = lib.autograd.grad(out, x, lib.tensor(cotangent))
        results.append((out.detach().numpy(), grad.numpy(), str(out.dtype).split(".")[1]))
    (t_out, t_grad, t_dtype), (e_out, e_grad, e_dtype) = results
    assert e_dtype == t_dtype
    np.testing.assert_array_equal(e_out, t_out)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1e-12)


@pytest.mark.parametrize(
    "name, kernel, shape, out_area, output_size",
    [
        ("MaxUnpool1d", 2, (2, 3, 4), 8, None),
        ("MaxUnpool2d", 2, (2, 2, 2, 3), 24, None),
        ("MaxUnpool2d", (2, 3), (2, 2, 2, 3), 35, (5, 7)),
        ("MaxUnpool3d", 2, (3, 2, 1, 2), 16, None),  # unbatched
    ],
)
def test_max_unpool_layer_matches_torch(name, kernel, shape, out_area, output_size):
    spatial = int(name[-2])
    inputs = _unpool_inputs(shape, spatial, out_area, 9)
    check_layer(lambda lib: getattr(lib.nn, name)(kernel), inputs,
                call=lambda module, v, i: module(v, i, output_size))


# ---------------------------------------------------------------- errors


def _x(lib, shape=(1, 2, 5, 6, 7), dtype=None):
    values = np.random.default_rng(10).standard_normal(shape)
    return lib.tensor(values, dtype=dtype or lib.float64)


def _pooled(lib, count=3, shape=None):
    """Values and indices of a max pooling by 2, of ``count`` spatial dims."""
    F = lib.nn.functional
    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[count]
    return pool(_x(lib, shape or (1, 2, 5, 6, 7)[: count + 2]), 2, return_indices=True)


def _unpool(lib, count, *args, values=None, indices=None, **kwargs):
    pooled_values, pooled_indices = _pooled(lib, count)
    F = lib.nn.functional
    unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[count]
    values = pooled_values if values is None else values(pooled_values)
    indices = pooled_indices if indices is None else indices(pooled_indices)
    return unpool(values, indices, *args, **kwargs)


ERRORS = [
    ErrorCase("max_kernel_pair", lambda lib: lib.nn.functional.max_pool3d(_x(lib), (2, 2))),
    ErrorCase("max_stride_pair", lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, (2, 2))),
    ErrorCase("max_padding_pair",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 2, (1, 1))),
    ErrorCase("max_dilation_pair",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 2, 0, (1, 1))),
    ErrorCase("max_kernel_zero", lambda lib: lib.nn.functional.max_pool3d(_x(lib), 0, 1)),
    ErrorCase("max_kernel_negative",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), (2, -2, 2), 1)),
    ErrorCase("max_stride_zero", lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 0)),
    ErrorCase("max_stride_negative",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, (1, 1, -1))),
    ErrorCase("max_padding_negative", lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 2, -1)),
    ErrorCase("max_padding_too_large",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 1, 2)),
    ErrorCase("max_padding_above_half_kernel",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 3, 1, (1, 2, 1), 2)),
    ErrorCase("max_dilation_zero",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib), 2, 1, 0, (1, 0, 1))),
    ErrorCase("max_output_too_small", lambda lib: lib.nn.functional.max_pool3d(_x(lib), (6, 2, 2))),
    ErrorCase("max_3d_input", lambda lib: lib.nn.functional.max_pool3d(_x(lib, (5, 6, 7)), 2)),
    ErrorCase("max_6d_input",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib, (1, 1, 2, 2, 2, 2)), 2)),
    ErrorCase("max_empty_channels",
              lambda lib: lib.nn.functional.max_pool3d(_x(lib, (2, 0, 3, 3, 3)), 2)),
    ErrorCase("max_bool", lambda lib: lib.nn.functional.max_pool3d(lib.ones(1, 1, 2, 2, 2).bool(),
                                                                   2)),
    ErrorCase("avg_kernel_pair", lambda lib: lib.nn.functional.avg_pool3d(_x(lib), (2, 2))),
    ErrorCase("avg_stride_pair", lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 2, (2, 2))),
    ErrorCase("avg_kernel_zero", lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 0, 1)),
    ErrorCase("avg_stride_negative",
              lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 2, (2, 2, -1))),
    ErrorCase("avg_padding_too_large", lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 2, 1, 2)),
    ErrorCase("avg_kernel_past_input", lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 9)),
    ErrorCase("avg_kernel_past_input_padded",
              lambda lib: lib.nn.functional.avg_pool3d(_x(lib), (6, 2, 2), padding=(2, 0, 0))),
    ErrorCase("avg_divisor_zero",
              lambda lib: lib.nn.functional.avg_pool3d(_x(lib), 2, divisor_override=0)),
    ErrorCase("avg_3d_input", lambda lib: lib.nn.functional.avg_pool3d(_x(lib, (5, 6, 7)), 2)),
    ErrorCase("avg_empty_channels",
              lambda lib: lib.nn.functional.avg_pool3d(_x(lib, (2, 0, 3, 3, 3)), 2)),
    ErrorCase("avg_half", lambda lib: lib.nn.functional.avg_pool3d(_x(lib, dtype=lib.half), 2)),
    ErrorCase("avg_bool",
              lambda lib: lib.nn.functional.avg_pool3d(lib.ones(1, 1, 2, 2, 2).bool(), 2)),
    ErrorCase("adaptive_avg_pair",
              lambda lib: lib.nn.functional.adaptive_avg_pool3d(_x(lib), (2, 2))),
    ErrorCase("adaptive_max_pair",
              lambda lib: lib.nn.functional.adaptive_max_pool3d(_x(lib), (2, 2))),
    ErrorCase("adaptive_avg_negative",
              lambda lib: lib.nn.functional.adaptive_avg_pool3d(_x(lib), (2, -1, 3))),
    ErrorCase("adaptive_max_negative",
              lambda lib: lib.nn.functional.adaptive_max_pool3d(_x(lib), (2, -1, 3))),
    ErrorCase("adaptive_avg_3d_input",
              lambda lib: lib.nn.functional.adaptive_avg_pool3d(_x(lib, (5, 6, 7)), 2)),
    ErrorCase("adaptive_max_3d_input",
              lambda lib: lib.nn.functional.adaptive_max_pool3d(_x(lib, (5, 6, 7)), 2)),
    ErrorCase("adaptive_avg_empty",
              lambda lib: lib.nn.functional.adaptive_avg_pool3d(_x(lib, (2, 0, 3, 3, 3)), 2)),
    ErrorCase("adaptive_max_long",
              lambda lib: lib.nn.functional.adaptive_max_pool3d(_x(lib).long(), 2)),
    ErrorCase("adaptive_avg_long",
              lambda lib: lib.nn.functional.adaptive_avg_pool3d(_x(lib).long(), 2)),
    ErrorCase("lp_kernel_pair", lambda lib: lib.nn.functional.lp_pool3d(_x(lib), 2, (2, 2))),
    ErrorCase("unpool_int32_indices", lambda lib: _unpool(lib, 2, 2, indices=lambda i: i.int())),
    ErrorCase("unpool3d_int32_indices",
              lambda lib: _unpool(lib, 3, 2, indices=lambda i: i.int())),
    ErrorCase("unpool_shape_mismatch",
              lambda lib: _unpool(lib, 2, 2, indices=lambda i: i[:, :, :1])),
    ErrorCase("unpool3d_shape_mismatch",
              lambda lib: _unpool(lib, 3, 2, indices=lambda i: i[:, :1])),
    ErrorCase("unpool_index_too_large", lambda lib: _unpool(lib, 2, 2, indices=lambda i: i + 100)),
    ErrorCase("unpool_index_negative", lambda lib: _unpool(lib, 2, 2, indices=lambda i: i - 100)),
    ErrorCase("unpool3d_index_too_large",
              lambda lib: _unpool(lib, 3, 2, indices=lambda i: i + 1000)),
    ErrorCase("unpool1d_index_too_large",
              lambda lib: _unpool(lib, 1, 2, indices=lambda i: i + 100)),
    ErrorCase("unpool_smaller_output", lambda lib: _unpool(lib, 2, 1, 1)),
    ErrorCase("unpool_output_size_length", lambda lib: _unpool(lib, 2, 2, output_size=(3, 5, 6))),
    ErrorCase("unpool_output_size_too_large", lambda lib: _unpool(lib, 2, 2, output_size=(6, 7))),
    ErrorCase("unpool_output_size_too_small", lambda lib: _unpool(lib, 2, 2, output_size=(3, 3))),
    ErrorCase("unpool1d_output_size", lambda lib: _unpool(lib, 1, 2, output_size=[8])),
    ErrorCase("unpool3d_output_size", lambda lib: _unpool(lib, 3, 2, output_size=(5, 6, 8))),
    ErrorCase("unpool_kernel_long", lambda lib: _unpool(lib, 2, (2, 2, 2))),
    ErrorCase("unpool_kernel_short", lambda lib: _unpool(lib, 2, (2,))),
    ErrorCase("unpool1d_kernel_pair", lambda lib: _unpool(lib, 1, (2, 2))),
    ErrorCase("unpool_stride_short", lambda lib: _unpool(lib, 2, 2, (2,))),
    ErrorCase("unpool_2d_input",
              lambda lib: _unpool(lib, 2, 2, values=lambda v: v[0, 0], indices=lambda i: i[0, 0])),
    ErrorCase("unpool3d_3d_input",
              lambda lib: _unpool(lib, 3, 2, values=lambda v: v[0, 0], indices=lambda i: i[0, 0])),
    ErrorCase("unpool_empty_channels", lambda lib: _unpool(
        lib, 2, 2, values=lambda v: v[:, :0], indices=lambda i: i[:, :0])),
    ErrorCase("unpool3d_stride_zero", lambda lib: _unpool(lib, 3, 2, (2, 2, 0))),
    ErrorCase("unpool_long_values", lambda lib: _unpool(lib, 2, 2, values=lambda v: v.long())),
    ErrorCase("unpool3d_bool_values", lambda lib: _unpool(lib, 3, 2, values=lambda v: v.bool())),
]


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.name)
def test_errors_match_torch(case):
    check_error(case)


MESSAGES_CHECKED = {
    "max_kernel_pair", "max_stride_pair", "max_dilation_pair", "max_kernel_zero",
    "max_kernel_negative", "max_stride_zero", "max_stride_negative", "max_padding_negative",
    "max_padding_too_large", "max_padding_above_half_kernel", "max_dilation_zero",
    "max_output_too_small", "max_3d_input", "max_empty_channels", "max_bool", "avg_kernel_pair",
    "avg_stride_pair", "avg_kernel_past_input", "avg_divisor_zero", "avg_empty_channels",
    "avg_half", "adaptive_avg_pair", "adaptive_max_pair", "adaptive_avg_negative",
    "adaptive_max_negative", "adaptive_avg_3d_input", "adaptive_max_3d_input",
    "adaptive_avg_long", "lp_kernel_pair", "unpool_int32_indices", "unpool3d_int32_indices",
    "unpool_shape_mismatch", "unpool_output_size_length",
    "unpool_output_size_too_large", "unpool_output_size_too_small", "unpool1d_output_size",
    "unpool_kernel_short", "unpool_2d_input", "unpool3d_3d_input", "unpool_empty_channels",
    "unpool3d_stride_zero", "unpool_long_values",
}


@pytest.mark.parametrize("case", [case for case in ERRORS if case.name in MESSAGES_CHECKED],
                         ids=lambda case: case.name)
def test_error_messages_match_torch(case):
    with pytest.raises(Exception) as expected:
        case.fn(torch)
    with pytest.raises(type(expected.value)) as actual:
        case.fn(ember)
    assert str(actual.value) == str(expected.value)


def test_invalid_unpool_index_is_named():
    with pytest.raises(RuntimeError, match=r"invalid max index: 1\d\d \(output volumes are of "
                                           r"size 4x6\)"):
        _unpool(ember, 2, 2, indices=lambda i: i + 100)
