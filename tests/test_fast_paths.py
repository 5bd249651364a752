"""The fast kernels against PyTorch: float32 erf and GELU, masked_fill, the softmax family,
layer norm, cross entropy, indexing and Adam, each on its array backward (no graph built).

Values are compared in float32 and float64, gradients through a random cotangent, and the
edge values (infinities, NaN, large magnitudes, empty and 0-d tensors) are covered.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops._special import _erf_array

torch.set_num_threads(1)
# Switching oneDNN off (see _run) sets its TF32 flag too, which warns on a CPU-only build.
pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN")

DTYPES = [np.float32, np.float64]
EDGES = [0.0, -0.0, 1e-40, -1e-30, 1e-8, 0.5, -0.84375, 1.25, -2.857, 3.92, 3.99, 4.0, 4.5, -6.0,
         27.0, 1e30, -3e38, np.inf, -np.inf, np.nan]  # fmt: skip


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place between two float32 arrays (NaN with NaN is 0)."""
    signed = np.int32 if a.dtype == np.float32 else np.int64
    a, b = a.view(signed).astype(np.int64), b.view(signed).astype(np.int64)
    a = np.where(a < 0, np.iinfo(signed).min - a, a)  # order the negative floats too
    b = np.where(b < 0, np.iinfo(signed).min - b, b)
    return np.abs(a - b)


def _run(lib, fn, arrays, cotangent_seed=1):
    """fn(*tensors) and the gradients of <fn, random cotangent> for every float input."""
    if lib is torch:
        # PyTorch hands some float32 kernels (GELU among them) to oneDNN, whose code depends
        # on the machine's instruction set: on AVX-512 its GELU of +inf is NaN and of 3e38 is
        # inf, on AVX2 they are inf and 3e38. ATen's own kernels are the same everywhere.
        with torch.backends.mkldnn.flags(enabled=False):
            return _run_library(lib, fn, arrays, cotangent_seed)
    return _run_library(lib, fn, arrays, cotangent_seed)


def _run_library(lib, fn, arrays, cotangent_seed):
    tensors = [lib.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(lib, *tensors)
    rng = np.random.default_rng(cotangent_seed)
    cotangent = rng.standard_normal(tuple(out.shape)).astype(out.detach().numpy().dtype)
    out.backward(lib.tensor(cotangent))
    grads = [t.grad.numpy() if t.grad is not None else None for t in tensors if t.requires_grad]
    return out.detach().numpy(), grads


def _check(fn, arrays, rtol, atol=0.0):
    expected, expected_grads = _run(torch, fn, arrays)
    actual, actual_grads = _run(ember, fn, arrays)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    for a, e in zip(actual_grads, expected_grads):
        assert (a is None) == (e is None)
        if a is not None:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------- erf and GELU


def test_erf_float32_within_one_ulp_of_torch_on_a_dense_grid():
    grid = np.concatenate(
        [
            np.linspace(-6, 6, 400_001, dtype=np.float32),
            np.geomspace(1e-40, 10, 20_000).astype(np.float32),
            -np.geomspace(1e-40, 10, 20_000).astype(np.float32),
            np.array(EDGES, np.float32),
        ]
    )
    actual = ember.erf(ember.tensor(grid)).numpy()
    expected = torch.erf(torch.tensor(grid)).numpy()
    assert actual.dtype == np.float32
    finite = ~np.isnan(expected)
    assert np.isnan(actual[~finite]).all()
    assert _ulps(actual[finite], expected[finite]).max() <= 1
    assert np.signbit(actual[grid == 0]).tolist() == np.signbit(grid[grid == 0]).tolist()


def test_erf_float64_stays_within_two_ulps_of_torch():
    grid = np.concatenate([np.linspace(-7, 7, 100_001), np.geomspace(1e-300, 30, 5000)])
    actual = ember.erf(ember.tensor(grid)).numpy()
    expected = torch.erf(torch.tensor(grid)).numpy()
    assert _ulps(actual, expected).max() <= 2


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((0, 3), np.float32),
        np.float32(0.7),
        np.arange(12, dtype=np.float32).reshape(3, 4).T,
    ],
    ids=["empty", "0-d", "transposed"],
)
def test_erf_float32_layouts(array):
    array = np.asarray(array)
    actual = _erf_array(array)
    expected = torch.erf(torch.tensor(array)).numpy()
    assert actual.shape == array.shape
    assert _ulps(actual.reshape(-1), expected.reshape(-1)).max(initial=0) <= 1


def test_erf_float16_matches_rounding_the_float64_value():
    rng = np.random.default_rng(5)
    array = rng.standard_normal(5000).astype(np.float16)
    actual = ember.erf(ember.tensor(array)).numpy()
    reference = _erf_array(array.astype(np.float64)).astype(np.float16)
    assert actual.dtype == np.float16
    assert (
        _ulps(actual.view(np.float16).astype(np.float32), reference.astype(np.float32)).max() <= 1
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_values_and_gradients(dtype):
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-8, 8, 300), [0.0, -0.0, 1e-30, 50.0, -50.0, 5.0]])
    # ATen's float32 GELU has its own erf, a few ulp from torch.erf; x (1 + erf) cancels in
    # the negative tail, where an ulp of erf is an absolute 6e-8 |x|. On a grid of 2 million
    # points over [-8, 8], no value or gradient was further than this from ATen's.
    rtol, atol = (5e-7, 5e-7) if dtype == np.float32 else (1e-13, 1e-16)
    _check(lambda lib, a: lib.nn.functional.gelu(a), [x.astype(dtype)], rtol, atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_of_infinities_and_nan(dtype):
    x = np.array([np.inf, -np.inf, np.nan, 1.0], dtype)
    _check(lambda lib, a: lib.nn.functional.gelu(a), [x], 5e-7)


@pytest.mark.parametrize("shape", [(), (0, 4)])
def test_gelu_0d_and_empty(shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(np.float32)
    # test_gelu_values_and_gradients' float32 tolerance: near x = -0.75, where GELU's slope
    # crosses zero, Φ(x) + x φ(x) cancels; at this x torch's float32 slope is 18 ulp from
    # the exact one and ember's 10, 7e-7 apart relatively.
    _check(lambda lib, a: lib.nn.functional.gelu(a), [np.asarray(x)], 5e-7, atol=5e-7)


# ---------------------------------------------------------------- masked_fill and softmax


def _mask(lib, shape, seed=3):
    return lib.tensor(np.random.default_rng(seed).random(shape) < 0.4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_then_softmax_with_minus_infinity(dtype):
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((2, 3, 5, 5)).astype(dtype)

    def fn(lib, a):
        future = lib.triu(lib.ones(5, 5, dtype=lib.bool), diagonal=1)
        return lib.nn.functional.softmax(a.masked_fill(future, float("-inf")), dim=-1)

    _check(fn, [scores], 1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_fill_value_tensor_and_broadcast_input_gradients(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 4)).astype(dtype)
    value = np.asarray(rng.standard_normal(()), dtype)
    _check(lambda lib, a, v: a.masked_fill(_mask(lib, (3, 4)), v) * 2, [x, value], 1e-12)


def test_masked_fill_zeroes_a_nan_cotangent_where_filled():
    for lib in (torch, ember):
        x = lib.ones(4, requires_grad=True)
        mask = lib.tensor([True, False, True, False])
        x.masked_fill(mask, 0.0).backward(lib.tensor([np.nan, 1.0, np.inf, 2.0]))
        assert x.grad.tolist() == [0.0, 1.0, 0.0, 2.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(dtype, name):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 6)).astype(dtype) * 30
    x[0, 0] = -np.inf  # a row of -inf gives NaN, as PyTorch
    x[1, 1, 2] = -np.inf
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    for dim in (-1, 1, 0):
        _check(lambda lib, a, d=dim: getattr(lib.nn.functional, name)(a, d), [x], rtol, atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(8, 16, 10), (300, 3), (2, 4, 16, 32)])
def test_softmax_family_over_many_short_rows(dtype, name, shape):
    # many rows of at most 64: the row maximum is taken across a transposed copy
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(dtype) * 30
    x.reshape(-1, shape[-1])[0] = -np.inf
    x.reshape(-1, shape[-1])[1, 1] = np.nan
    x.reshape(-1, shape[-1])[2, -1] = np.inf
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    _check(lambda lib, a: getattr(lib.nn.functional, name)(a, -1), [x], rtol, atol=1e-6)


@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum])
@pytest.mark.parametrize("shape", [(64, 2), (100, 64), (3, 40, 7), (64, 65), (10, 5)])
@pytest.mark.parametrize("keepdims", [True, False])
def test_backend_extrema_over_short_rows_equal_numpys(ufunc, shape, keepdims):
    from ember import _backend

    rng = np.random.default_rng(7)
    for x in (rng.standard_normal(shape).astype(np.float32),
              rng.integers(-9, 9, shape), np.where(rng.random(shape) < 0.1, np.nan,
                                                   rng.standard_normal(shape))):
        expected = ufunc.reduce(x, axis=-1, keepdims=keepdims)
        actual = _backend.reduce(ufunc, x, x.ndim - 1, keepdims)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(), (0, 3)])
def test_softmax_family_0d_and_empty(name, shape):
    rng = np.random.default_rng(5)
    x = np.asarray(rng.standard_normal(shape))
    _check(lambda lib, a: getattr(lib.nn.functional, name)(a, -1), [x], 1e-12)


# ---------------------------------------------------------------- layer norm, cross entropy


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(dtype, affine):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 3, 8)) * 3 + 1).astype(dtype)
    weight = rng.standard_normal(8).astype(dtype)
    bias = rng.standard_normal(8).astype(dtype)

    def fn(lib, a, w, b):
        w = None if affine == "none" else w
        b = b if affine == "both" else None
        return lib.nn.functional.layer_norm(a, (8,), w, b, 1e-5)

    rtol = 2e-5 if dtype == np.float32 else 1e-10
    _check(fn, [x, weight, bias], rtol, atol=rtol)


def test_layer_norm_over_two_dims_and_0d_statistics():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4))
    weight, bias = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _check(
        lambda lib, a, w, b: lib.nn.functional.layer_norm(a, (3, 4), w, b), [x, weight, bias], 1e-10
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options",
    [{}, {"reduction": "sum"}, {"reduction": "none"}, {"ignore_index": 2},
     {"weight": True}, {"weight": True, "ignore_index": -100, "ignored": True},
     {"ignored": True}],
)  # fmt: skip
def test_cross_entropy(dtype, options):
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((16, 5)) * 4).astype(dtype)
    target = rng.integers(0, 5, 16)
    if options.get("ignored"):
        target[[1, 7]] = -100
    weight = rng.uniform(0.5, 2, 5).astype(dtype)
    keywords = {k: v for k, v in options.items() if k in ("reduction", "ignore_index")}

    def fn(lib, a):
        w = lib.tensor(weight) if options.get("weight") else None
        return lib.nn.functional.cross_entropy(a, lib.tensor(target), weight=w, **keywords)

    rtol = 1e-5 if dtype == np.float32 else 1e-12
    _check(fn, [logits], rtol, atol=1e-7)


def test_cross_entropy_spatial_and_all_ignored():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 3, 4, 5))
    target = rng.integers(0, 3, (2, 4, 5))
    _check(lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(target)), [logits], 1e-12)
    ignored = np.full(4, -100)
    _check(lambda lib, a: lib.nn.functional.cross_entropy(a, lib.tensor(ignored)) * 1,
           [rng.standard_normal((4, 3))], 1e-12)  # fmt: skip


@pytest.mark.parametrize("target", [[0, 5], [-1, 0], [0, -100]])
def test_cross_entropy_out_of_range_target_raises(target):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((2, 5))
    torch_error = ember_error = None
    for lib in (torch, ember):
        try:
            lib.nn.functional.cross_entropy(lib.tensor(logits), lib.tensor(target), ignore_index=3)
        except Exception as error:  # noqa: BLE001
            if lib is torch:
                torch_error = error
            else:
                ember_error = error
    assert (torch_error is None) == (ember_error is None)
    if ember_error is not None:
        assert isinstance(ember_error, IndexError)


# ---------------------------------------------------------------- indexing


@pytest.mark.parametrize(
    "fn",
    [
        lambda lib, a: a[lib.tensor([0, 2, 0, 0])] * 1,
        lambda lib, a: a[1:, ::2] * 1,
        lambda lib, a: a.index_select(1, lib.tensor([3, 3, 0])),
        lambda lib, a: a.gather(1, lib.tensor([[0, 0], [1, 3], [2, 2]])),
        lambda lib, a: a.index_put(
            (lib.tensor([0, 0]),), lib.ones(4, dtype=a.dtype), accumulate=True
        ),
        lambda lib, a: a.scatter(0, lib.tensor([[2, 0, 1, 0]]), 0.5),
    ],
    ids=["repeated", "slice", "index_select", "gather", "index_put", "scatter"],
)
def test_indexing_gradients(fn):
    rng = np.random.default_rng(5)
    _check(fn, [rng.standard_normal((3, 4))], 1e-12)


def test_index_put_value_gradient():
    rng = np.random.default_rng(5)
    x, values = rng.standard_normal((3, 4)), rng.standard_normal(4)
    _check(lambda lib, a, v: a.index_put((lib.tensor([2, 0]),), v) * 3, [x, values], 1e-12)


# ---------------------------------------------------------------- Adam


@pytest.mark.parametrize(
    "name, options, dtype",
    [
        ("Adam", {"lr": 0.05, "betas": (0.3, 0.9)}, np.float64),  # lerp's other branch
        ("Adam", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, np.float64),
        ("Adam", {"lr": 0.05, "maximize": True}, np.float64),
        ("AdamW", {"lr": 0.05, "amsgrad": True, "betas": (0.2, 0.5)}, np.float64),
        ("AdamW", {"lr": 0.01}, np.float32),
    ],
)
def test_adam_trajectories(name, options, dtype):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((3, 4)).astype(dtype), np.asarray(dtype(0.7))]  # one 0-d
    trajectories = []
    for lib in (torch, ember):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
        optimizer = getattr(lib.optim, name)(params, **options)
        path = []
        for _ in range(50):
            optimizer.zero_grad()
            loss = ((params[0] - 0.5) ** 2).sum() + (lib.tanh(params[0] * params[1])).sum()
            (-loss if options.get("maximize") else loss).backward()
            optimizer.step()
            path.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        trajectories.append(np.array(path))
    np.testing.assert_allclose(trajectories[1], trajectories[0], rtol=1e-6, atol=1e-6)
