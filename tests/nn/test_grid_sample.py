"""F.grid_sample and F.affine_grid against PyTorch, in float64.

Every mode × padding × align_corners combination (4-D: bilinear, nearest, bicubic; 5-D:
trilinear and nearest) is compared on grids that mix random points with the awkward
ones: the image's edges (±1), pixel centres, half-pixel points (rounding ties for
nearest), the reflection breaks (±3) and points far outside. Forward values, dtypes and
shapes, the gradients of a random cotangent for the input and the grid, finite-difference
gradchecks, second derivatives, and the errors of bad input.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests import devices
from tests.oracle import ErrorCase, check_error

torch.set_num_threads(1)

MODES_2D = ("bilinear", "nearest", "bicubic")
MODES_3D = ("bilinear", "nearest")
PADDINGS = ("zeros", "border", "reflection")
COMBINATIONS = (
    [(2, mode, padding, align) for mode in MODES_2D for padding in PADDINGS
     for align in (False, True)]
    + [(3, mode, padding, align) for mode in MODES_3D for padding in PADDINGS
       for align in (False, True)]
)
# (input shape, output spatial size) per number of spatial dims
SHAPES = {2: ((2, 3, 4, 5), (6, 7)), 3: ((2, 2, 3, 4, 5), (3, 4, 5))}


def _awkward_grid(rng, dims: int, sizes: tuple, out: tuple, align: bool, batch: int):
    """Grid coordinates: half random in [-2.5, 2.5], half drawn from the special points of
    the image's sizes (edges, pixel centres and their midpoints, reflection breaks)."""
    special = [-7.3, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.1]
    for size in sizes:
        for i in np.arange(0, size, 0.5):  # pixel centres and the points halfway between
            special.append(2 * i / (size - 1) - 1 if align and size > 1 else (2 * i + 1) / size - 1)
    grid = rng.uniform(-2.5, 2.5, (batch, *out, dims))
    chosen = rng.random(grid.shape) < 0.5
    grid[chosen] = rng.choice(np.array(special), int(chosen.sum()))
    return grid


def _sample(lib, x, grid, mode, padding, align):
    return lib.nn.functional.grid_sample(x, grid, mode=mode, padding_mode=padding,
                                         align_corners=align)


def _pair(array, requires_grad=True):
    """The same float64 values as a torch tensor and an ember tensor."""
    first = torch.tensor(array, requires_grad=requires_grad)
    second = ember.tensor(array, requires_grad=requires_grad, device=devices.DEVICE)
    return first, second


def _tensor(lib, array):
    return lib.tensor(array, device=devices.DEVICE) if lib is ember else lib.tensor(array)


def _numpy(tensor):
    return tensor.detach().cpu().numpy()


@pytest.mark.parametrize("dims, mode, padding, align", COMBINATIONS,
                         ids=[f"{d}d-{m}-{p}-{'align' if a else 'noalign'}"
                              for d, m, p, a in COMBINATIONS])
def test_values_and_gradients_match_torch(dims, mode, padding, align):
    rng = np.random.default_rng(100 + COMBINATIONS.index((dims, mode, padding, align)))
    shape, out = SHAPES[dims]
    x = rng.standard_normal(shape)
    grid = _awkward_grid(rng, dims, shape[2:], out, align, shape[0])
    tx, ex = _pair(x)
    tg, eg = _pair(grid)
    expected = _sample(torch, tx, tg, mode, padding, align)
    with ember.device(devices.DEVICE):
        actual = _sample(ember, ex, eg, mode, padding, align)
    assert actual.dtype == ember.float64 and tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_numpy(actual), _numpy(expected), rtol=1e-10, atol=1e-12)
    assert actual.grad_fn.name() == expected.grad_fn.name()  # GridSampler2DBackward0 ...
    cotangent = rng.standard_normal(tuple(expected.shape))
    torch_grads = torch.autograd.grad(expected, (tx, tg), torch.tensor(cotangent))
    ember_grads = ember.autograd.grad(actual, (ex, eg),
                                      ember.tensor(cotangent, device=devices.DEVICE))
    for name, a, e in zip(("input", "grid"), ember_grads, torch_grads):
        np.testing.assert_allclose(_numpy(a), _numpy(e), rtol=1e-9, atol=1e-10,
                                   err_msg=f"gradient of {name}")
    if mode == "nearest":
        assert not np.any(_numpy(ember_grads[1]))
    else:
        assert np.any(_numpy(ember_grads[1]))


@pytest.mark.parametrize("dims, mode, padding, align", COMBINATIONS,
                         ids=[f"{d}d-{m}-{p}-{'align' if a else 'noalign'}"
                              for d, m, p, a in COMBINATIONS])
def test_float32_matches_torch(dims, mode, padding, align):
    rng = np.random.default_rng(200 + COMBINATIONS.index((dims, mode, padding, align)))
    shape, out = SHAPES[dims]
    x = rng.standard_normal(shape).astype(np.float32)
    grid = rng.uniform(-1.4, 1.4, (shape[0], *out, dims)).astype(np.float32)
    expected = _sample(torch, torch.tensor(x), torch.tensor(grid), mode, padding, align)
    actual = _sample(ember, ember.tensor(x, device=devices.DEVICE),
                     ember.tensor(grid, device=devices.DEVICE), mode, padding, align)
    assert actual.dtype == ember.float32
    np.testing.assert_allclose(_numpy(actual), _numpy(expected), rtol=1e-4, atol=1e-5)


def test_points_reading_one_pixel_accumulate_their_gradients():
    # Every output point reads the same taps: the input's gradient is their sum, not the
    # last one written.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 3, 4))
    grid = np.tile(np.array([0.13, -0.41]), (1, 5, 6, 1))
    for mode in MODES_2D:
        tx, ex = _pair(x)
        tg, eg = _pair(grid)
        cotangent = rng.standard_normal((1, 2, 5, 6))
        expected = torch.autograd.grad(_sample(torch, tx, tg, mode, "zeros", False), tx,
                                       torch.tensor(cotangent))[0]
        actual = ember.autograd.grad(_sample(ember, ex, eg, mode, "zeros", False), ex,
                                     ember.tensor(cotangent, device=devices.DEVICE))[0]
        np.testing.assert_allclose(_numpy(actual), _numpy(expected), rtol=1e-10, atol=1e-12)
        if mode != "bicubic":  # every tap lies inside, and the weights sum to 1
            assert abs(_numpy(actual).sum() - cotangent.sum()) < 1e-9


@pytest.mark.parametrize("dims, mode", [(2, "bilinear"), (2, "bicubic"), (3, "bilinear")])
@pytest.mark.parametrize("padding", PADDINGS)
def test_second_derivatives_match_torch(dims, mode, padding):
    rng = np.random.default_rng(4)
    shape = (1, 2, 3, 4) if dims == 2 else (1, 2, 2, 3, 4)
    x = rng.standard_normal(shape)
    grid = rng.uniform(-1.3, 1.3, (1, 2, 3, dims) if dims == 2 else (1, 2, 2, 2, dims))
    tx, ex = _pair(x)
    tg, eg = _pair(grid)
    out_shape = (1, 2) + grid.shape[1:-1]
    cotangent = rng.standard_normal(out_shape)
    second = [rng.standard_normal(x.shape), rng.standard_normal(grid.shape)]
    results = []
    for lib, xs, gs in ((torch, tx, tg), (ember, ex, eg)):
        y = _sample(lib, xs, gs, mode, padding, False)
        grads = lib.autograd.grad(y, (xs, gs), _tensor(lib, cotangent), create_graph=True)
        total = sum((g * _tensor(lib, c)).sum() for g, c in zip(grads, second))
        results.append(lib.autograd.grad(total, (xs, gs), allow_unused=True))
    for name, e, a in zip(("input", "grid"), *results):
        e = np.zeros(x.shape if name == "input" else grid.shape) if e is None else _numpy(e)
        a = np.zeros(e.shape) if a is None else _numpy(a)
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10, err_msg=f"second, {name}")


@pytest.mark.parametrize("dims, mode", [(2, "bilinear"), (2, "bicubic"), (3, "bilinear"),
                                        (2, "nearest")])
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("align", [False, True])
def test_gradcheck(dims, mode, padding, align):
    rng = np.random.default_rng(5)
    shape = (1, 2, 3, 3) if dims == 2 else (1, 1, 2, 3, 3)
    x = ember.tensor(rng.standard_normal(shape), requires_grad=True)
    grid_shape = (1, 2, 2, dims) if dims == 2 else (1, 2, 1, 2, dims)
    grid = ember.tensor(rng.uniform(-1.4, 1.4, grid_shape), requires_grad=mode != "nearest")

    def function(x, grid):
        return ember.nn.functional.grid_sample(x, grid, mode, padding, align)

    assert ember.autograd.gradcheck(function, (x, grid))
    if mode != "nearest":
        assert ember.autograd.gradgradcheck(function, (x, grid))


def test_empty_batches_channels_and_outputs_match_torch():
    for x_shape, grid_shape in [((0, 2, 3, 4), (0, 3, 2, 2)), ((1, 2, 3, 4), (1, 0, 2, 2)),
                                ((1, 0, 3, 4), (1, 3, 2, 2)), ((0, 1, 2, 2, 2), (0, 1, 1, 1, 3))]:
        rng = np.random.default_rng(6)
        tx, ex = _pair(rng.standard_normal(x_shape))
        tg, eg = _pair(rng.uniform(-1, 1, grid_shape))
        expected = _sample(torch, tx, tg, "bilinear", "zeros", False)
        actual = _sample(ember, ex, eg, "bilinear", "zeros", False)
        assert tuple(actual.shape) == tuple(expected.shape)
        actual.sum().backward()
        assert tuple(ex.grad.shape) == x_shape and tuple(eg.grad.shape) == grid_shape


def test_align_corners_none_warns_and_means_false():
    rng = np.random.default_rng(7)
    x, grid = rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1, 1, (1, 2, 2, 2))
    for lib in (torch, ember):
        with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
            default = lib.nn.functional.grid_sample(lib.tensor(x), lib.tensor(grid))
        explicit = lib.nn.functional.grid_sample(lib.tensor(x), lib.tensor(grid),
                                                 align_corners=False)
        np.testing.assert_array_equal(_numpy(default), _numpy(explicit))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a given align_corners does not warn
        ember.nn.functional.grid_sample(ember.tensor(x), ember.tensor(grid), align_corners=True)


def test_identity_affine_grid_reads_the_image_back():
    rng = np.random.default_rng(8)
    x = ember.tensor(rng.standard_normal((2, 3, 4, 5)))
    theta = ember.tensor(np.tile(np.eye(2, 3), (2, 1, 1)))
    for align in (False, True):
        grid = ember.nn.functional.affine_grid(theta, (2, 3, 4, 5), align_corners=align)
        for mode in MODES_2D:
            back = ember.nn.functional.grid_sample(x, grid, mode, align_corners=align)
            np.testing.assert_allclose(back.numpy(), x.numpy(), rtol=1e-12, atol=1e-12)


def test_top_level_grid_sampler_takes_atens_codes():
    rng = np.random.default_rng(9)
    x, grid = rng.standard_normal((1, 2, 3, 4)), rng.uniform(-1.5, 1.5, (1, 2, 3, 2))
    for mode in range(3):
        for padding in range(3):
            expected = torch.grid_sampler(torch.tensor(x), torch.tensor(grid), mode, padding,
                                          True)
            actual = ember.grid_sampler(ember.tensor(x), ember.tensor(grid), mode, padding,
                                        True)
            np.testing.assert_allclose(_numpy(actual), _numpy(expected), rtol=1e-10,
                                       atol=1e-12)
    x3, grid3 = rng.standard_normal((1, 1, 2, 3, 2)), rng.uniform(-1, 1, (1, 2, 1, 1, 3))
    np.testing.assert_allclose(
        _numpy(ember.grid_sampler_3d(ember.tensor(x3), ember.tensor(grid3), 0, 1, False)),
        _numpy(torch.grid_sampler_3d(torch.tensor(x3), torch.tensor(grid3), 0, 1, False)),
        rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        _numpy(ember.grid_sampler_2d(ember.tensor(x), ember.tensor(grid), 1, 2, False)),
        _numpy(torch.grid_sampler_2d(torch.tensor(x), torch.tensor(grid), 1, 2, False)))


def _grid_sample_case(x_shape, grid_shape, x_dtype="float64", grid_dtype="float64", **kw):
    def fn(lib):
        x = lib.zeros(x_shape, dtype=getattr(lib, x_dtype))
        grid = lib.zeros(grid_shape, dtype=getattr(lib, grid_dtype))
        return lib.nn.functional.grid_sample(x, grid, align_corners=False, **kw)

    return fn


GRID_SAMPLE_ERRORS = [
    ErrorCase("mode", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 2), mode="cubic")),
    ErrorCase("padding", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 2), padding_mode="edge")),
    ErrorCase("batch", _grid_sample_case((1, 1, 2, 2), (2, 1, 1, 2))),
    ErrorCase("last dim", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 3))),
    ErrorCase("grid dims", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 1, 2))),
    ErrorCase("3-d input", _grid_sample_case((1, 2, 3), (1, 2, 1))),
    ErrorCase("6-d input", _grid_sample_case((1, 1, 2, 2, 2, 2), (1, 1, 1, 1, 1, 4))),
    ErrorCase("empty spatial", _grid_sample_case((1, 1, 0, 2), (1, 1, 1, 2))),
    ErrorCase("bicubic 5-d", _grid_sample_case((1, 1, 2, 2, 2), (1, 1, 1, 1, 3),
                                                mode="bicubic")),
    ErrorCase("integer input", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 2), "int64", "int64")),
    ErrorCase("integer volume", _grid_sample_case((1, 1, 2, 2, 2), (1, 1, 1, 1, 3), "int64")),
    ErrorCase("dtypes differ", _grid_sample_case((1, 1, 2, 2), (1, 1, 1, 2), "float64",
                                                  "float32")),
    ErrorCase("grid_sampler_2d on a volume", lambda lib: lib.grid_sampler_2d(
        lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 1, 1, 1, 3), 0, 0, False)),
    ErrorCase("grid_sampler_3d on an image", lambda lib: lib.grid_sampler_3d(
        lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), 0, 0, False)),
]


@pytest.mark.parametrize("case", GRID_SAMPLE_ERRORS, ids=[c.name for c in GRID_SAMPLE_ERRORS])
def test_grid_sample_errors_match_torch(case):
    check_error(case)


# ---------------------------------------------------------------- affine_grid

AFFINE_SIZES = [(2, 3, 4, 5), (1, 1, 1, 3), (2, 1, 3, 1), (2, 3, 2, 3, 4), (1, 2, 1, 1, 2)]


@pytest.mark.parametrize("size", AFFINE_SIZES, ids=[str(s) for s in AFFINE_SIZES])
@pytest.mark.parametrize("align", [False, True])
def test_affine_grid_matches_torch(size, align):
    rng = np.random.default_rng(10 + AFFINE_SIZES.index(size))
    dims = len(size) - 2
    tt, et = _pair(rng.standard_normal((size[0], dims, dims + 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit sizes with align_corners warn in both
        expected = torch.nn.functional.affine_grid(tt, size, align)
        actual = ember.nn.functional.affine_grid(et, size, align)
    assert actual.dtype == ember.float64 and tuple(actual.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_numpy(actual), _numpy(expected), rtol=1e-12, atol=1e-14)
    cotangent = rng.standard_normal(tuple(expected.shape))
    expected_grad = torch.autograd.grad(expected, tt, torch.tensor(cotangent))[0]
    actual_grad = ember.autograd.grad(actual, et, ember.tensor(cotangent,
                                                                device=devices.DEVICE))[0]
    np.testing.assert_allclose(_numpy(actual_grad), _numpy(expected_grad), rtol=1e-10,
                               atol=1e-12)
    assert ember.autograd.gradcheck(
        lambda theta: ember.nn.functional.affine_grid(theta, size, align),
        (ember.tensor(rng.standard_normal((size[0], dims, dims + 1)), requires_grad=True),))
    single = ember.nn.functional.affine_grid(et.detach().float(), size, align)
    assert single.dtype == ember.float32
    np.testing.assert_allclose(
        _numpy(single), _numpy(torch.nn.functional.affine_grid(tt.detach().float(), size, align)),
        rtol=1e-5, atol=1e-6)


def test_affine_grid_warnings_match_torch():
    for lib in (torch, ember):
        theta = lib.zeros(1, 2, 3)
        with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
            lib.nn.functional.affine_grid(theta, (1, 1, 2, 2))
        with pytest.warns(UserWarning, match="unit-size grids when align_corners=True"):
            lib.nn.functional.affine_grid(theta, (1, 1, 1, 2), align_corners=True)


def _affine_case(theta_shape, size, dtype="float64"):
    return lambda lib: lib.nn.functional.affine_grid(
        lib.zeros(theta_shape, dtype=getattr(lib, dtype)), size, align_corners=False)


AFFINE_ERRORS = [
    ErrorCase("3-d size", _affine_case((1, 2, 3), (1, 1, 2))),
    ErrorCase("6-d size", _affine_case((1, 2, 3), (1, 1, 2, 2, 2, 2))),
    ErrorCase("2-d theta for a volume", _affine_case((1, 2, 3), (1, 1, 2, 2, 2))),
    ErrorCase("3x3 theta", _affine_case((1, 3, 3), (1, 1, 2, 2))),
    ErrorCase("unbatched theta", _affine_case((2, 3), (1, 1, 2, 2))),
    ErrorCase("integer theta", _affine_case((1, 2, 3), (1, 1, 2, 2), "int64")),
    ErrorCase("empty size", _affine_case((1, 2, 3), (1, 1, 0, 2))),
    ErrorCase("batch mismatch", _affine_case((2, 2, 3), (1, 1, 2, 2))),
]


@pytest.mark.parametrize("case", AFFINE_ERRORS, ids=[c.name for c in AFFINE_ERRORS])
def test_affine_grid_errors_match_torch(case):
    check_error(case)
